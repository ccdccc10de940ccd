//! The conformance suite against PostgreSQL. Each test creates its own
//! schema (`t_<random>`) in the database named by `TAGADA_TEST_DATABASE_URL`,
//! points the store's `search_path` at it, and drops it afterwards, so the
//! tests run in parallel. Without the variable every test passes after
//! printing a skip notice; with it set but unreachable they fail.

use std::io::Write;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tagada_store::Migrate;
use tagada_store::conformance::Fixture;
use tagada_store_postgres::PostgresStore;

/// The schema one test runs in, dropped at teardown.
struct Schema {
    admin: PgPool,
    name: String,
}

impl Fixture for Schema {
    async fn teardown(self) {
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&self.admin)
            .await
        {
            eprintln!("could not drop schema {}: {e}", self.name);
        }
        self.admin.close().await;
    }
}

fn database_url() -> Option<String> {
    match std::env::var("TAGADA_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // written past the test harness's capture, once per run
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL conformance: TAGADA_TEST_DATABASE_URL not set"
                );
            });
            None
        }
    }
}

async fn setup() -> Option<(PostgresStore, Schema)> {
    let url = database_url()?;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("TAGADA_TEST_DATABASE_URL is set but unreachable: {e}"));
    // the name is generated here, from hex digits only
    let name = format!("t_{:016x}", rand::random::<u64>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&admin)
        .await
        .expect("create test schema");
    let options = PgConnectOptions::from_str(&url)
        .expect("valid TAGADA_TEST_DATABASE_URL")
        .options([("search_path", name.as_str())]);
    let store = PostgresStore::connect_with(options, 4)
        .await
        .expect("connect the store");
    let ran = store.migrate().await.expect("migrate");
    assert!(ran > 0, "a fresh schema runs the migrations");
    Some((store, Schema { admin, name }))
}

tagada_store::conformance_tests!(setup);

/// The invoice indexes of the test's schema: name and definition.
async fn invoice_indexes(store: &PostgresStore) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'invoices' ORDER BY indexname",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// The invoice table's constraints, as PostgreSQL writes them back.
async fn invoice_constraints(store: &PostgresStore) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'invoices'::regclass ORDER BY conname",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// Whether the summary's trigger on new invoices is enabled.
async fn summary_insert_trigger_on(store: &PostgresStore) -> bool {
    sqlx::query_scalar(
        "SELECT tgenabled <> 'D' FROM pg_trigger \
         WHERE tgrelid = 'invoices'::regclass AND tgname = 'summary_invoice_insert'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
}

/// A bulk import sets aside two secondary invoice indexes, the foreign key
/// to buyers and the summary's insert trigger and puts them back exactly as the migrations
/// define them; what was left set aside (the importing process died) is
/// put back by the next migrate, with the loaded invoices marked for the
/// summary.
#[tokio::test]
async fn bulk_import_rebuilds_the_migrated_indexes() {
    use tagada_store::{ImportStore, SummaryOwner, SummaryStore};
    let Some((store, schema)) = setup().await else {
        return;
    };
    let migrated = invoice_indexes(&store).await;
    let constraints = invoice_constraints(&store).await;
    assert!(
        constraints
            .iter()
            .any(|(n, _)| n == "invoices_buyer_id_fkey"),
        "{constraints:?}"
    );
    assert!(summary_insert_trigger_on(&store).await);
    assert!(store.begin_bulk_import(10).await.unwrap());
    assert_eq!(
        invoice_constraints(&store).await.len(),
        constraints.len() - 1,
        "the foreign key to buyers set aside"
    );
    let during = invoice_indexes(&store).await;
    assert_eq!(during.len(), migrated.len() - 2, "set aside: {during:?}");
    assert!(
        during
            .iter()
            .any(|i| format!("{i:?}").contains("invoices_pay_token")),
        "the pay-token index (issued tokens only) stays: {during:?}"
    );
    assert!(
        !summary_insert_trigger_on(&store).await,
        "trigger set aside"
    );
    store.end_bulk_import().await.unwrap();
    assert_eq!(invoice_indexes(&store).await, migrated, "built as migrated");
    assert_eq!(
        invoice_constraints(&store).await,
        constraints,
        "foreign key back"
    );
    assert!(summary_insert_trigger_on(&store).await, "trigger back");

    // the process dies between begin and end, after storing an invoice,
    // with the summary started
    store.summary_reset("UTC", 1).await.unwrap();
    assert!(store.begin_bulk_import(10).await.unwrap());
    let id = tagada_store::conformance::store_one_invoice(&store, "INV-1").await;
    assert!(
        store.summary_pending(10).await.unwrap().is_empty(),
        "no trigger during the load"
    );
    assert_eq!(store.migrate().await.unwrap(), 0);
    assert_eq!(
        invoice_indexes(&store).await,
        migrated,
        "built again by migrate"
    );
    assert_eq!(
        invoice_constraints(&store).await,
        constraints,
        "foreign key back after migrate"
    );
    assert!(summary_insert_trigger_on(&store).await, "trigger back");
    assert_eq!(
        tagada_store::conformance::summary_pending_owners(&store).await,
        [SummaryOwner::Invoice(id)],
        "marked by migrate"
    );
    schema.teardown().await;
}
