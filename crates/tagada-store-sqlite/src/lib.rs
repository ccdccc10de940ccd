//! `tagada-store-sqlite` owns tagada's SQLite backend: the schema and its
//! forward-only migrations (`migrations/`), the SQL behind every
//! `tagada-store` trait, and the mapping between rows and domain types.
//!
//! The database runs in WAL mode with a busy timeout, foreign keys on and
//! `synchronous = NORMAL`. Every write is one `BEGIN IMMEDIATE` transaction,
//! so SQLite's single writer is taken up front and never upgraded mid-way.
//! Instants are stored as INTEGER unix microseconds (UTC), civil dates as ISO
//! TEXT, money as INTEGER minor units beside a TEXT currency code.

mod auth;
mod bulk;
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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tagada_store::{Migrate, Result, StoreError};

use crate::conv::db;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Statements slower than this are logged, at `info`: building an index
/// after a large import takes longer and is expected to, so it should not
/// read as a warning on the terminal.
pub(crate) const SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// The settings of every connection to a database file beyond the typed
/// ones (WAL, `synchronous = NORMAL`, foreign keys): the pool's and a bulk
/// load's own (`bulk.rs`).
pub(crate) const FILE_PRAGMAS: [(&str, &str); 4] = [
    // 16 MiB of page cache per connection (allocated as used; up to 128 MiB
    // over the pool). A write by one connection empties the others' caches,
    // and pages come back cheaply from the OS cache: 64 MiB imported and
    // planned no faster, and let idle connections hold up to 512 MiB
    ("cache_size", "-16384"),
    ("temp_store", "memory"),
    // checkpoint every ~64 MiB of WAL instead of 4 MiB: an import batch
    // dirties thousands of index pages, and a page rewritten by several
    // batches is then copied to the database once per checkpoint
    ("wal_autocheckpoint", "16384"),
    ("journal_size_limit", "67108864"),
];

/// How long a connection waits for the write lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows sqlx's worker thread may queue ahead of the reader (sqlx's default
/// is 50). Each handoff between that thread and the async task costs a
/// wake-up; with room for a whole `IN (...)` answer the worker rarely waits.
/// Re-importing a million unchanged invoices reads a million rows back: the
/// store's share of it went from about 4.3 s to 3.2 s.
const ROW_BUFFER: usize = 1024;

/// The SQLite store. Cheap to clone (it is a connection pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// A bulk load's own connection (file stores only).
    bulk: std::sync::Arc<bulk::Bulk>,
}

impl SqliteStore {
    /// Opens (creating it on first use) the database at `url_or_path`: either
    /// a `sqlite:` URL or a file path (`:memory:` and `sqlite::memory:` give
    /// [`SqliteStore::open_in_memory`]). Call [`Migrate::migrate`] before use.
    pub async fn open(url_or_path: &str) -> Result<SqliteStore> {
        if matches!(
            url_or_path,
            ":memory:" | "sqlite::memory:" | "sqlite://:memory:"
        ) {
            return SqliteStore::open_in_memory().await;
        }
        let options = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path).map_err(db)?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .row_buffer_size(ROW_BUFFER)
            .log_slow_statements(log::LevelFilter::Info, SLOW_STATEMENT);
        let options = FILE_PRAGMAS
            .iter()
            .fold(options, |o, (name, value)| o.pragma(*name, *value));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        Ok(SqliteStore {
            pool,
            bulk: std::sync::Arc::new(bulk::Bulk::new(Some(options.get_filename().to_path_buf()))),
        })
    }

    /// A private in-memory database (tests, demos): one connection that
    /// lives as long as the store, so every query sees the same data.
    pub async fn open_in_memory() -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db)?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .row_buffer_size(ROW_BUFFER)
            .log_slow_statements(log::LevelFilter::Info, SLOW_STATEMENT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(SqliteStore {
            pool,
            bulk: std::sync::Arc::new(bulk::Bulk::new(None)),
        })
    }

    /// The underlying pool, for benchmarks and maintenance commands.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction holding SQLite's write lock from the start.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    /// Starts a read transaction (one consistent snapshot under WAL).
    async fn read(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin().await.map_err(db)
    }
}

async fn applied_migrations(pool: &SqlitePool) -> Result<i64> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    if exists == 0 {
        return Ok(0);
    }
    sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(db)
}

#[async_trait]
impl Migrate for SqliteStore {
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
