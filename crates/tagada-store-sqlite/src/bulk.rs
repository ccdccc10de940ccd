//! A bulk load's own connection, which stores a batch of new invoices
//! without sqlx's worker thread.
//!
//! Through sqlx, every bound value of a multi-row `INSERT` is encoded into
//! an owned argument on the import's task, handed to the connection's
//! worker thread, bound there (SQLite copies it once more) and freed: for a
//! million invoices of 16 columns that chain costs more CPU than SQLite's
//! own work, and the import waits on it (see BENCHMARKS.md). During a bulk
//! load ([`ImportStore::begin_bulk_import`](tagada_store::ImportStore)),
//! the store keeps one extra connection to the same file, opened with the
//! same settings, and a batch whose rows are all new goes in through
//! prepared `INSERT`s of 32 rows each (a statement opens its cursors and
//! settles its constraints once per group, not once per row), bound from
//! the rows as they are, on the calling thread.
//!
//! Nothing about the outcome differs: the batch is one `BEGIN IMMEDIATE`
//! transaction; ids are taken from `max(id)` under that lock, as the
//! general path takes them; a row the general path would reject as invalid
//! is rejected here with the same reason. When anything else is in the way
//! (a number already stored or repeated in the batch, an unknown buyer),
//! SQLite refuses the row on the table's own constraints, the transaction
//! is rolled back and the batch goes through the general path, which
//! decides what each row is. After a few such batches a load stops trying.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql, TransactionBehavior};
use tagada_core::InvoiceId;
use tagada_store::{InvoiceUpsert, NewInvoice, Result, StoreError};

use crate::conv::{date_text, micros};
use crate::{BUSY_TIMEOUT, FILE_PRAGMAS};

/// Batches a bulk load sends back to the general path before it stops
/// trying the direct one: a file that keeps meeting stored numbers is an
/// update, and each try would cost its rows twice.
const MAX_MISSES: u32 = 3;

/// Date texts a bulk-load connection keeps for reuse (a few hundred
/// distinct dates are usual; a ledger spanning decades empties it now and
/// then).
const DATE_TEXTS: usize = 4096;

/// Rows stored by one multi-row `INSERT`: a statement opens its cursors,
/// settles its constraints and finishes once for the group rather than
/// once per row, and appends each row where the one before it went.
const GROUP: usize = 32;

/// Values bound per row: every column but the two timestamps, which all
/// rows share as `?1`.
const PER_ROW: usize = 14;

/// [`insert_sql`] for a whole group, written once.
static GROUP_INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(GROUP));

/// `INSERT INTO invoices ... VALUES (...), (...)` for `rows` rows: `?1` the
/// time, then row `r`'s values at `?(2 + r * PER_ROW)` onwards, in the
/// order [`Writer::insert`] binds them.
fn insert_sql(rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::from(
        "INSERT INTO invoices (id, number, buyer_id, order_date, invoice_date, due_date, \
         credit_days, amount_minor, amount_paid_minor, currency, status, source, source_hash, \
         notes, created_at, updated_at) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..PER_ROW {
            // writing to a String cannot fail
            let _ = write!(sql, "?{}, ", 2 + r * PER_ROW + c);
        }
        sql.push_str("?1, ?1)");
    }
    sql
}

/// The bulk-load connection of a file store, open between the begin and
/// the end of a bulk load.
#[derive(Debug)]
pub(crate) struct Bulk {
    /// The database file; `None` for an in-memory store, which has no
    /// second connection to open.
    file: Option<PathBuf>,
    writer: Mutex<Option<Writer>>,
}

#[derive(Debug)]
struct Writer {
    conn: Connection,
    /// Batches sent back to the general path so far.
    misses: u32,
    /// Invoices stored through this connection.
    stored: u64,
    /// Dates as stored (`2026-01-31`): a file has a few hundred distinct ones.
    dates: HashMap<Date, String, foldhash::fast::RandomState>,
}

impl Bulk {
    pub(crate) fn new(file: Option<PathBuf>) -> Bulk {
        Bulk {
            file,
            writer: Mutex::new(None),
        }
    }

    /// Opens the connection for a bulk load that has just begun. A store
    /// that cannot open it loads through the general path, with a warning.
    pub(crate) fn open(&self) {
        let Some(file) = &self.file else { return };
        match open(file) {
            Ok(conn) => {
                *self.lock() = Some(Writer {
                    conn,
                    misses: 0,
                    stored: 0,
                    dates: HashMap::default(),
                });
            }
            Err(e) => tracing::warn!(
                error = %e,
                "bulk load: no second connection to the database; loading through the pool"
            ),
        }
    }

    /// Closes the connection at the end of a bulk load; how many invoices
    /// it stored (`None` when there was none).
    pub(crate) fn close(&self) -> Option<u64> {
        let writer = self.lock().take()?;
        tracing::debug!(
            stored = writer.stored,
            batches_through_pool = writer.misses,
            "bulk load: connection closed"
        );
        Some(writer.stored)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Writer>> {
        // a panic mid-batch rolled its transaction back with the connection's
        // drop or leaves it to the next BEGIN to fail: the guard itself is sound
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `rows` as new invoices in one transaction, when a bulk load
    /// is on and every row is new; `None` when the batch needs the general
    /// path (nothing written).
    pub(crate) fn insert_new(
        &self,
        rows: &[NewInvoice],
        now: Timestamp,
        invalid: impl Fn(&NewInvoice) -> Option<String>,
    ) -> Result<Option<Vec<InvoiceUpsert>>> {
        blocking(|| {
            let mut guard = self.lock();
            let Some(writer) = guard.as_mut() else {
                return Ok(None);
            };
            if writer.misses >= MAX_MISSES {
                return Ok(None);
            }
            let done = writer
                .insert(rows, now, invalid)
                .map_err(StoreError::backend)?;
            match &done {
                Some(outcomes) => {
                    writer.stored += outcomes
                        .iter()
                        .filter(|o| matches!(o, InvoiceUpsert::Created { .. }))
                        .count() as u64;
                }
                None => writer.misses += 1,
            }
            Ok(done)
        })
    }
}

impl Writer {
    fn insert(
        &mut self,
        rows: &[NewInvoice],
        now: Timestamp,
        invalid: impl Fn(&NewInvoice) -> Option<String>,
    ) -> rusqlite::Result<Option<Vec<InvoiceUpsert>>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let first_id: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM invoices", [], |r| {
                r.get(0)
            })?;
        let now = micros(now);
        let mut next_id = first_id;
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut valid = Vec::with_capacity(rows.len());
        for r in rows {
            match invalid(r) {
                Some(reason) => outcomes.push(InvoiceUpsert::Rejected { reason }),
                None => {
                    outcomes.push(InvoiceUpsert::Created {
                        id: InvoiceId::new(next_id),
                    });
                    valid.push((next_id, r));
                    next_id += 1;
                }
            }
        }
        {
            let mut whole = tx.prepare_cached(&GROUP_INSERT)?;
            let mut last;
            for group in valid.chunks(GROUP) {
                // emptied between groups, never while a group's dates are bound
                if self.dates.len() > DATE_TEXTS - 3 * GROUP {
                    self.dates.clear();
                }
                for (_, r) in group {
                    for d in [Some(r.invoice_date), Some(r.due_date), r.order_date]
                        .into_iter()
                        .flatten()
                    {
                        self.dates.entry(d).or_insert_with(|| date_text(d));
                    }
                }
                let date = |d: Date| self.dates[&d].as_str();
                let insert = if group.len() == GROUP {
                    &mut whole
                } else {
                    last = tx.prepare_cached(&insert_sql(group.len()))?;
                    &mut last
                };
                insert.raw_bind_parameter(1, now)?;
                for (i, (id, r)) in group.iter().enumerate() {
                    let at = 2 + i * PER_ROW;
                    let values: [&dyn ToSql; PER_ROW] = [
                        id,
                        &r.number.trim(),
                        &r.buyer_id.get(),
                        &r.order_date.map(date),
                        &date(r.invoice_date),
                        &date(r.due_date),
                        &r.credit_days,
                        &r.amount.minor(),
                        &r.amount_paid.minor(),
                        &r.amount.currency().code(),
                        &r.status.as_str(),
                        &r.source,
                        &r.source_hash,
                        &r.notes,
                    ];
                    for (c, value) in values.into_iter().enumerate() {
                        insert.raw_bind_parameter(at + c, value)?;
                    }
                }
                match insert.raw_execute() {
                    Ok(_) => {}
                    // a stored or repeated number, an unknown buyer: the
                    // general path decides (dropping `tx` rolls back)
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == ErrorCode::ConstraintViolation =>
                    {
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        tx.commit()?;
        Ok(Some(outcomes))
    }
}

/// Opens the file with the settings of the pool's connections (see
/// `SqliteStore::open`), so both paths write under the same rules: foreign
/// keys checked, the same durability, cache and checkpoint cadence.
fn open(file: &std::path::Path) -> std::result::Result<Connection, String> {
    let open = || {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        for (name, value) in FILE_PRAGMAS {
            conn.execute_batch(&format!("PRAGMA {name} = {value}"))?;
        }
        let foreign_keys: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
        let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        Ok::<_, rusqlite::Error>((conn, foreign_keys, journal))
    };
    let (conn, foreign_keys, journal) = open().map_err(|e| e.to_string())?;
    // the checks the general path relies on must hold here too
    if foreign_keys != 1 {
        return Err("foreign keys are off on the bulk-load connection".into());
    }
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(format!(
            "the database is in `{journal}` journal mode, not WAL"
        ));
    }
    Ok(conn)
}

/// Runs SQLite work on the calling thread. On a multi-threaded runtime the
/// thread is first handed over to blocking work, so the runtime moves its
/// other tasks elsewhere meanwhile; on a current-thread runtime (tests)
/// there is nowhere to move them, and a batch blocks it as briefly as a
/// lock would.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use tagada_core::ledger::InvoiceStatus;
    use tagada_core::{BuyerId, Currency, Money, Phone};
    use tagada_store::{ImportStore, InvoiceFilter, LedgerStore, Migrate, NewBuyer, NewInvoice};

    use super::*;
    use crate::SqliteStore;

    fn now() -> Timestamp {
        Timestamp::from_second(1_796_083_200).unwrap()
    }

    async fn file_store(dir: &tempfile::TempDir, name: &str) -> (SqliteStore, BuyerId) {
        let store = SqliteStore::open(dir.path().join(name).to_str().unwrap())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let (buyer, _) = store
            .upsert_buyer(&NewBuyer {
                name: "Acme Traders".into(),
                whatsapp: Some(Phone::try_from("+919800000001".to_string()).unwrap()),
                ..NewBuyer::default()
            })
            .await
            .unwrap();
        (store, buyer)
    }

    /// Rows with every optional column both set and not, several
    /// currencies and statuses, and untrimmed numbers.
    fn rows(buyer: BuyerId, from: usize, n: usize) -> Vec<NewInvoice> {
        (from..from + n)
            .map(|i| {
                let currency = [Currency::INR, Currency::USD, Currency::KWD][i % 3];
                let due = date(2026, 10, 1)
                    .checked_add(jiff::Span::new().days(i as i64 % 90))
                    .unwrap();
                let amount = Money::from_minor(10_000 + i as i64, currency);
                NewInvoice {
                    number: if i % 4 == 0 {
                        format!(" DX-{i:04} ")
                    } else {
                        format!("DX-{i:04}")
                    },
                    buyer_id: buyer,
                    order_date: (i % 2 == 0).then(|| date(2026, 9, 1)),
                    invoice_date: date(2026, 9, 2),
                    due_date: due,
                    credit_days: (i % 3 == 0).then_some(30),
                    amount,
                    amount_paid: if i % 5 == 0 {
                        amount
                    } else {
                        Money::zero(currency)
                    },
                    status: if i % 5 == 0 {
                        InvoiceStatus::Paid
                    } else {
                        InvoiceStatus::Pending
                    },
                    source: "import:direct.csv".into(),
                    source_hash: format!("hash-{i}"),
                    notes: (i % 7 == 0).then(|| format!("note {i}")),
                }
            })
            .collect()
    }

    fn stored_directly(store: &SqliteStore) -> Option<u64> {
        store.bulk.lock().as_ref().map(|w| w.stored)
    }

    async fn all(store: &SqliteStore) -> Vec<tagada_core::ledger::Invoice> {
        store
            .list_invoices(&InvoiceFilter::default())
            .await
            .unwrap()
    }

    async fn loads_new_rows_directly_as_the_pool_would() {
        let dir = tempfile::tempdir().unwrap();
        let (bulk, a) = file_store(&dir, "bulk.db").await;
        let (plain, b) = file_store(&dir, "plain.db").await;
        assert_eq!(a, b);
        let mut batch = rows(a, 0, 300);
        batch[17].amount_paid = Money::from_minor(-1, batch[17].amount.currency());

        assert!(bulk.begin_bulk_import(300).await.unwrap());
        let direct = bulk.upsert_invoices(&batch, now()).await.unwrap();
        assert_eq!(
            stored_directly(&bulk),
            Some(299),
            "one connection, 299 rows"
        );
        let pooled = plain.upsert_invoices(&batch, now()).await.unwrap();
        assert_eq!(
            direct, pooled,
            "the same outcomes, the invalid row rejected alike"
        );
        assert!(
            matches!(&direct[17], InvoiceUpsert::Rejected { reason } if reason.contains("negative"))
        );
        assert_eq!(all(&bulk).await, all(&plain).await, "the same rows stored");

        // a stored number in the batch (first in a whole group of rows,
        // another in the last, short one): rolled back, the pool decides
        let mut next = vec![batch[3].clone()];
        next.extend(rows(a, 300, 40));
        let mut changed = batch[4].clone();
        changed.source_hash = "changed".into();
        next.push(changed);
        let direct = bulk.upsert_invoices(&next, now()).await.unwrap();
        let pooled = plain.upsert_invoices(&next, now()).await.unwrap();
        assert_eq!(direct, pooled);
        assert!(matches!(direct[0], InvoiceUpsert::Unchanged { .. }));
        assert!(matches!(direct[41], InvoiceUpsert::Updated { .. }));
        assert_eq!(stored_directly(&bulk), Some(299), "nothing stored directly");

        // an unknown buyer, a number repeated within the batch
        let mut orphan = rows(a, 400, 2);
        orphan[1].buyer_id = BuyerId::new(999);
        // (repeated within one whole group of rows)
        let mut twice = rows(a, 500, 40);
        twice[20].number = twice[0].number.clone();
        for batch in [&orphan, &twice] {
            let direct = bulk.upsert_invoices(batch, now()).await.unwrap();
            let pooled = plain.upsert_invoices(batch, now()).await.unwrap();
            assert_eq!(&direct, &pooled);
        }
        assert!(
            matches!(&orphan_outcome(&bulk, &orphan).await, InvoiceUpsert::Rejected { reason } if reason.contains("unknown buyer"))
        );
        assert_eq!(all(&bulk).await, all(&plain).await);

        // after three batches sent back, the load stops trying
        let last = rows(a, 600, 5);
        bulk.upsert_invoices(&last, now()).await.unwrap();
        plain.upsert_invoices(&last, now()).await.unwrap();
        assert_eq!(stored_directly(&bulk), Some(299));
        assert_eq!(bulk.bulk.close(), Some(299));
        assert_eq!(bulk.bulk.close(), None, "closed once");
        bulk.end_bulk_import().await.unwrap();
        assert_eq!(all(&bulk).await, all(&plain).await);
    }

    /// The outcome of storing `rows`' rejected row again (it was rejected,
    /// so it is rejected again, by the pool after the load).
    async fn orphan_outcome(store: &SqliteStore, rows: &[NewInvoice]) -> InvoiceUpsert {
        store
            .upsert_invoices(&rows[1..], now())
            .await
            .unwrap()
            .remove(0)
    }

    #[tokio::test]
    async fn loads_new_rows_directly_on_a_current_thread_runtime() {
        loads_new_rows_directly_as_the_pool_would().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loads_new_rows_directly_on_a_multi_thread_runtime() {
        loads_new_rows_directly_as_the_pool_would().await;
    }

    /// More distinct dates than the connection keeps texts for, three new
    /// ones a row: the texts are let go between rows (never between a
    /// row's own dates), and every row is stored as the pool would.
    #[tokio::test]
    async fn more_distinct_dates_than_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (bulk, a) = file_store(&dir, "bulk.db").await;
        let (plain, _) = file_store(&dir, "plain.db").await;
        let batch: Vec<NewInvoice> = rows(a, 0, 2 * DATE_TEXTS)
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                // three dates never seen before in every row
                let day = |from: jiff::civil::Date| {
                    from.checked_add(jiff::Span::new().days(i as i64)).unwrap()
                };
                r.invoice_date = day(date(1900, 1, 1));
                r.order_date = Some(day(date(1940, 1, 1)));
                r.due_date = day(date(1980, 1, 1));
                r
            })
            .collect();
        assert!(bulk.begin_bulk_import(batch.len() as u64).await.unwrap());
        let direct = bulk.upsert_invoices(&batch, now()).await.unwrap();
        assert_eq!(stored_directly(&bulk), Some(batch.len() as u64));
        assert_eq!(direct, plain.upsert_invoices(&batch, now()).await.unwrap());
        bulk.end_bulk_import().await.unwrap();
        assert_eq!(all(&bulk).await, all(&plain).await);
    }

    #[tokio::test]
    async fn stores_without_a_file_and_after_the_load_use_the_pool() {
        let memory = SqliteStore::open_in_memory().await.unwrap();
        memory.migrate().await.unwrap();
        assert!(memory.begin_bulk_import(10).await.unwrap());
        assert_eq!(stored_directly(&memory), None);
        memory.end_bulk_import().await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let (store, a) = file_store(&dir, "after.db").await;
        assert!(store.begin_bulk_import(10).await.unwrap());
        let names: Vec<&str> = ["foreign_keys", "synchronous"]
            .into_iter()
            .chain(FILE_PRAGMAS.map(|(name, _)| name))
            .collect();
        let mut pooled = store.pool().acquire().await.unwrap();
        let mut theirs = Vec::new();
        for name in &names {
            let sql = format!("PRAGMA {name}");
            let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *pooled)
                .await
                .unwrap();
            theirs.push(value);
        }
        drop(pooled);
        {
            let guard = store.bulk.lock();
            let own = &guard.as_ref().expect("a bulk-load connection").conn;
            for (name, theirs) in names.iter().zip(theirs) {
                let ours: i64 = own
                    .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                    .unwrap();
                assert_eq!(ours, theirs, "PRAGMA {name}: the pool's setting");
            }
            let journal: String = own
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(journal, "wal");
        }
        store.upsert_invoices(&rows(a, 0, 3), now()).await.unwrap();
        assert_eq!(stored_directly(&store), Some(3));
        store.end_bulk_import().await.unwrap();
        assert_eq!(
            stored_directly(&store),
            None,
            "closed by the end of the load"
        );
        let out = store.upsert_invoices(&rows(a, 3, 3), now()).await.unwrap();
        assert!(
            out.iter()
                .all(|o| matches!(o, InvoiceUpsert::Created { .. }))
        );
        assert_eq!(all(&store).await.len(), 6);
    }
}
