//! The conformance suite against SQLite: every check twice, once on a fresh
//! database file (WAL, several connections, real write-lock contention) and
//! once on a private in-memory database.

use tagada_store::conformance::Fixture;
use tagada_store::{Migrate, SummaryOwner, SummaryStore};
use tagada_store_sqlite::SqliteStore;

/// Keeps the temporary directory holding the database file alive for one test.
struct TempDb(tempfile::TempDir);

impl Fixture for TempDb {
    async fn teardown(self) {
        drop(self.0);
    }
}

mod file {
    use super::*;

    async fn setup() -> Option<(SqliteStore, TempDb)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tagada.db");
        let store = SqliteStore::open(path.to_str().expect("utf-8 path"))
            .await
            .expect("open SQLite file");
        let ran = store.migrate().await.expect("migrate");
        assert!(ran > 0, "a fresh database runs the migrations");
        Some((store, TempDb(dir)))
    }

    tagada_store::conformance_tests!(setup);
}

mod memory {
    use super::*;

    async fn setup() -> Option<(SqliteStore, ())> {
        let store = SqliteStore::open_in_memory().await.expect("open in memory");
        store.migrate().await.expect("migrate");
        Some((store, ()))
    }

    tagada_store::conformance_tests!(setup);
}

/// How many migrations a fresh database applies.
fn migration_files() -> u32 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count() as u32
}

#[tokio::test]
async fn open_creates_the_file_and_accepts_urls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), migration_files());
    assert!(path.exists());
    store.close().await;

    let url = format!("sqlite://{}", path.display());
    let again = SqliteStore::open(&url).await.unwrap();
    assert_eq!(again.migrate().await.unwrap(), 0, "already migrated");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn memory_urls_share_one_database() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), migration_files());
    assert_eq!(
        store.migrate().await.unwrap(),
        0,
        "same database on every query"
    );
}

/// The invoice indexes and triggers as the schema holds them, by name
/// (definitions with runs of whitespace made one space).
async fn invoice_indexes(store: &SqliteStore) -> Vec<(String, String)> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master \
         WHERE type IN ('index', 'trigger') AND tbl_name = 'invoices' ORDER BY name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(name, sql)| {
            let sql = sql.unwrap_or_default();
            (name, sql.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect()
}

/// A bulk import sets aside two secondary invoice indexes and the
/// summary's insert trigger and puts them back exactly as the migrations
/// define them; a process that dies mid-import gets them back, and its
/// invoices marked for the summary, when the store is next migrated.
#[tokio::test]
async fn bulk_import_rebuilds_the_migrated_indexes() {
    use tagada_store::ImportStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.db");
    let path = path.to_str().unwrap();
    let store = SqliteStore::open(path).await.unwrap();
    store.migrate().await.unwrap();
    let migrated = invoice_indexes(&store).await;
    for name in [
        "invoices_unsettled_due",
        "invoices_buyer",
        "invoices_pay_token",
        "summary_invoice_insert",
    ] {
        assert!(
            migrated.iter().any(|(n, _)| n == name),
            "{name} in {migrated:?}"
        );
    }

    assert!(store.begin_bulk_import(10).await.unwrap());
    let during = invoice_indexes(&store).await;
    assert_eq!(
        during.len(),
        migrated.len() - 3,
        "set aside during the load: {during:?}"
    );
    assert!(
        during.iter().any(|(n, _)| n == "invoices_pay_token"),
        "the pay-token index (issued tokens only) stays: {during:?}"
    );
    store.end_bulk_import().await.unwrap();
    assert_eq!(invoice_indexes(&store).await, migrated, "built as migrated");
    let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(temp_store, 2, "connections keep temporary data in memory");

    // the process dies between begin and end, after storing an invoice,
    // with the summary started
    store.summary_reset("UTC", 1).await.unwrap();
    assert!(store.begin_bulk_import(10).await.unwrap());
    let id = tagada_store::conformance::store_one_invoice(&store, "INV-1").await;
    assert!(
        store.summary_pending(10).await.unwrap().is_empty(),
        "no trigger during the load"
    );
    store.close().await;
    let reopened = SqliteStore::open(path).await.unwrap();
    assert_eq!(reopened.migrate().await.unwrap(), 0);
    assert_eq!(
        invoice_indexes(&reopened).await,
        migrated,
        "built again by migrate"
    );
    assert_eq!(
        tagada_store::conformance::summary_pending_owners(&reopened).await,
        [SummaryOwner::Invoice(id)],
        "marked by migrate"
    );
}
