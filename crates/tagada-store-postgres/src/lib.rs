//! `tagada-store-postgres` owns tagada's PostgreSQL backend, the scale-out
//! path: the schema and its forward-only migrations (`migrations/`), the SQL
//! behind every `tagada-store` trait, and the mapping between rows and
//! domain types. Several `tagada worker` processes may share one database:
//! claims take rows with `FOR UPDATE SKIP LOCKED`, reminder and message keys
//! are unique indexes written with `ON CONFLICT DO NOTHING`, and batch work
//! binds arrays (`UNNEST`) instead of one round trip per row.
//!
//! Instants are BIGINT unix microseconds (UTC) as in the SQLite backend;
//! civil dates are DATE; money is BIGINT minor units beside a currency code.

mod auth;
mod conv;
mod identity;
mod import;
mod inbox;
mod leads;
mod ledger;
mod ledger_sync;
mod outbox;
mod payments;
mod plan;
mod report;
mod rows;
mod summary;
mod templates;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres, Transaction};
use tagada_store::{Migrate, Result, StoreError};

use crate::conv::db;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Keys for transaction-scoped advisory locks that serialise the few writes
/// whose identity rules are not a single unique index.
pub(crate) mod locks {
    /// Buyer upserts (identity by key, then number, then name).
    pub const BUYERS: i64 = 0x7467_6164_0001;
    /// Invoice imports (number lookup, then insert or update).
    pub const IMPORT: i64 = 0x7467_6164_0002;
    /// Plan application (live reminder check, then insert).
    pub const PLAN: i64 = 0x7467_6164_0003;
    /// Summary folds (one at a time: their batched updates would otherwise
    /// lock the same rows in different orders).
    pub const SUMMARY: i64 = 0x7467_6164_0004;
}

/// The PostgreSQL store. Cheap to clone (it is a connection pool).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`). Call
    /// [`Migrate::migrate`] before use.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        PostgresStore::connect_pooled(url, 10).await
    }

    /// Connects to `url` with at most `max_connections` pooled connections
    /// (`database.max_connections` in the config).
    pub async fn connect_pooled(url: &str, max_connections: u32) -> Result<PostgresStore> {
        let options = PgConnectOptions::from_str(url).map_err(db)?;
        PostgresStore::connect_with(options, max_connections).await
    }

    /// Connects with explicit options (e.g. a `search_path`) and pool size.
    /// Statements slower than a second are logged at `info` (building the
    /// indexes after a large import is expected to take longer).
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<PostgresStore> {
        let options = options.log_slow_statements(log::LevelFilter::Info, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(PostgresStore { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> PostgresStore {
        PostgresStore { pool }
    }

    /// The underlying pool, for benchmarks and maintenance commands.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db)
    }

    /// A read-only transaction over one snapshot of the database.
    async fn snapshot(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db)
    }
}

/// Takes a transaction-scoped advisory lock.
pub(crate) async fn lock(conn: &mut PgConnection, key: i64) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Takes `n` consecutive ids from `table`'s identity sequence in one call
/// and returns the first (`nextval` once per row costs a few microseconds
/// each: seconds over a million rows). Only for callers holding the advisory
/// lock every insert into `table` takes (`locks::IMPORT` for invoices,
/// `locks::BUYERS` for buyers): no one else draws from the sequence between
/// the `nextval` and the `setval`.
pub(crate) async fn reserve_ids(conn: &mut PgConnection, table: &str, n: usize) -> Result<i64> {
    let n = i64::try_from(n).map_err(|e| StoreError::Invalid(e.to_string()))?;
    sqlx::query_scalar(
        "SELECT setval(s, nextval(s) + $2 - 1) - $2 + 1 \
         FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) AS q",
    )
    .bind(table)
    .bind(n)
    .fetch_one(conn)
    .await
    .map_err(db)
}

async fn applied_migrations(pool: &PgPool) -> Result<i64> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if !exists {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(db)
}

#[async_trait]
impl Migrate for PostgresStore {
    async fn migrate(&self) -> Result<u32> {
        let before = applied_migrations(&self.pool).await?;
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        // an import that died in bulk mode left indexes to build and
        // invoices to mark for the summary
        import::restore_bulk_schema(&self.pool).await?;
        let after = applied_migrations(&self.pool).await?;
        Ok(u32::try_from(after - before).unwrap_or(0))
    }
}
