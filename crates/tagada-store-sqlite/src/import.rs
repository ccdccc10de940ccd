//! Invoice imports in batches, and rejected rows.
//!
//! A batch is one transaction. Every statement round trip goes through
//! sqlx's SQLite worker thread, so a batch issues as few as it can: one
//! `IN (...)` lookup per 512 numbers; buyers checked only when no stored
//! invoice already vouches for them, by count; new rows in multi-row
//! `INSERT`s under ids taken from `max(id)`; changed rows in multi-row
//! `WITH v AS (VALUES ...) UPDATE ... FROM v`. Re-importing an unchanged
//! file is the number lookups and nothing else.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use tagada_core::ledger::{Invoice, InvoiceStatus};
use tagada_core::{BuyerId, InvoiceId};
use tagada_store::{ImportStore, InvoiceUpsert, NewInvoice, RejectedRow, Result, StoreError};

use crate::SqliteStore;
use crate::conv::{
    IN_CHUNK, MAX_PARAMS, WRITE_ROWS, cache_write, date_text, db, micros, opt_date_text,
    opt_micros, push_in_list, ts,
};
use crate::ledger::{cancel_for_invoices, fetch_in};
use crate::rows::{InvoiceRow, invoice_cols, unsettled};

/// The invoice indexes a bulk import sets aside and builds again after
/// loading: name, how to drop it and its definition, exactly as the
/// migrations create them (`0001_initial.sql`, `0013_unsettled_due_or.sql`).
/// A test compares them with the migrated schema. Building each in one
/// sorted pass costs a fraction of keeping it up to date row by row: they
/// take rows in buyer and due-date order, not insertion order, so every
/// inserted row dirties pages all over them. (The pay-token index covers
/// issued tokens only, and an import issues none: it is left alone.)
pub(crate) const BULK_INDEXES: [(&str, &str, &str); 2] = [
    (
        "invoices_unsettled_due",
        "DROP INDEX IF EXISTS invoices_unsettled_due",
        concat!(
            "CREATE INDEX IF NOT EXISTS invoices_unsettled_due ON invoices (due_date) WHERE ",
            unsettled!()
        ),
    ),
    (
        "invoices_buyer",
        "DROP INDEX IF EXISTS invoices_buyer",
        "CREATE INDEX IF NOT EXISTS invoices_buyer ON invoices (buyer_id)",
    ),
];

/// The summary's trigger on new invoices (`0012_summary.sql`), which a bulk
/// import also sets aside: name, how to drop it and its definition. Marking
/// a million new invoices one trigger run at a time costs more than storing
/// them; [`restore_bulk_schema`] marks them in one statement instead, and
/// only when the summary has been started (before that, starting it marks
/// every invoice anyway).
pub(crate) const SUMMARY_INSERT_TRIGGER: (&str, &str, &str) = (
    "summary_invoice_insert",
    "DROP TRIGGER IF EXISTS summary_invoice_insert",
    "CREATE TRIGGER IF NOT EXISTS summary_invoice_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, NEW.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END",
);

/// Puts back what a bulk import set aside: the summary's insert trigger
/// (with a mark for every invoice the summary has not seen, when it has
/// been started) and whichever of [`BULK_INDEXES`] is missing. Reads the
/// schema first, so a store with everything in place takes no write lock.
pub(crate) async fn restore_bulk_schema(pool: &sqlx::SqlitePool) -> Result<()> {
    let present: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') \
         AND tbl_name = 'invoices'",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let has = |name: &str| present.iter().any(|(p,)| p == name);
    if !has(SUMMARY_INSERT_TRIGGER.0) {
        // One transaction: from the trigger on every new row is marked, and
        // every row before it lacks a basis (no mark, no fold) unless the
        // summary was started after it was stored, which marked it.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        sqlx::query(SUMMARY_INSERT_TRIGGER.2)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO summary_dirty (kind, id, mark) \
             SELECT 0, i.id, random() FROM invoices i \
             WHERE EXISTS (SELECT 1 FROM summary_meta) \
               AND NOT EXISTS (SELECT 1 FROM summary_bases b WHERE b.kind = 0 AND b.id = i.id) \
             ON CONFLICT (kind, id) DO NOTHING",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
    }
    let missing: Vec<&'static str> = BULK_INDEXES
        .iter()
        .filter(|(name, _, _)| !has(name))
        .map(|(_, _, create)| *create)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // The build sorts every key: in temporary files, so a large ledger is
    // not sorted in memory (the store's connections otherwise keep
    // temporary data in memory). SQLite changes this only outside a
    // transaction, so on one connection: set, build, set back.
    let mut conn = pool.acquire().await.map_err(db)?;
    let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    sqlx::query("PRAGMA temp_store = FILE")
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    // One transaction per index: the write lock is held for one build at a
    // time, so other writers waiting on it (busy timeout) get a turn between.
    let built = async {
        for sql in missing.iter().copied() {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
            sqlx::query(sql).execute(&mut *tx).await.map_err(db)?;
            tx.commit().await.map_err(db)?;
        }
        Ok::<_, StoreError>(())
    }
    .await;
    let reset = sqlx::query(match temp_store {
        1 => "PRAGMA temp_store = FILE",
        2 => "PRAGMA temp_store = MEMORY",
        _ => "PRAGMA temp_store = DEFAULT",
    })
    .execute(&mut *conn)
    .await
    .map_err(db);
    built?;
    reset?;
    Ok(())
}

/// Where a number stands while walking the batch.
enum Known<'a> {
    /// Stored before this batch; `current` is loaded only when the row changed.
    Stored {
        id: i64,
        buyer_id: i64,
        hash: &'a str,
        current: Option<Box<Invoice>>,
    },
    /// Created by this batch: index into the insert list.
    New { index: usize },
}

/// An outcome waiting for the ids of rows still to be inserted.
enum Pending {
    Done(InvoiceUpsert),
    Created(usize),
    Updated(usize),
    Unchanged(usize),
}

/// Merges a changed source row into the stored invoice. The source's facts
/// (dates, amount, notes) win; money tagada recorded is never forgotten
/// (the larger amount paid stands); a status the source cannot know about
/// (tagada marked it paid, disputed or cancelled) stands unless the source
/// itself settles the invoice. A moved due date starts a new reminder cycle.
fn merge_invoice(cur: &Invoice, row: &NewInvoice, now: Timestamp) -> Invoice {
    use InvoiceStatus as S;
    let mut next = cur.clone();
    next.order_date = row.order_date;
    next.invoice_date = row.invoice_date;
    next.due_date = row.due_date;
    next.credit_days = row.credit_days;
    next.amount = row.amount;
    next.amount_paid = if row.amount_paid.currency() == cur.amount_paid.currency() {
        if row.amount_paid.minor() > cur.amount_paid.minor() {
            row.amount_paid
        } else {
            cur.amount_paid
        }
    } else {
        row.amount_paid
    };
    let paid = next.amount_paid.minor();
    next.status = if matches!(row.status, S::Paid | S::Cancelled | S::Disputed) {
        row.status
    } else if matches!(cur.status, S::Paid | S::Cancelled | S::Disputed) {
        cur.status
    } else if paid >= next.amount.minor() && next.amount.minor() > 0 {
        S::Paid
    } else if cur.status == S::InProcess || row.status == S::InProcess {
        S::InProcess
    } else if paid > 0 {
        S::PartiallyPaid
    } else {
        S::Pending
    };
    if next.status == S::Paid && next.paid_at.is_none() {
        next.paid_at = Some(now);
    }
    if next.due_date != cur.due_date && next.status.is_open() {
        next.reminder_cycle += 1;
    }
    next
}

fn validate(row: &NewInvoice) -> Option<String> {
    if row.number.trim().is_empty() {
        return Some("invoice number is empty".into());
    }
    if row.amount.currency() != row.amount_paid.currency() {
        return Some(format!(
            "amount is in {} but amount paid is in {}",
            row.amount.currency(),
            row.amount_paid.currency()
        ));
    }
    if row.amount.minor() < 0 || row.amount_paid.minor() < 0 {
        return Some("amounts must not be negative".into());
    }
    None
}

/// The text values a batch's rows repeat (dates, currency, status, source),
/// each made once: sqlx turns a bound `&str` into a new `String` in a new
/// `Arc`, while a bound `Arc<str>` only gains a reference. A batch holds a
/// few hundred distinct dates at most.
#[derive(Default)]
struct Shared<'a> {
    dates: HashMap<Date, Arc<str>>,
    texts: HashMap<&'a str, Arc<str>>,
}

impl<'a> Shared<'a> {
    fn date(&mut self, d: Date) -> Arc<str> {
        self.dates
            .entry(d)
            .or_insert_with(|| Arc::from(date_text(d)))
            .clone()
    }

    fn text(&mut self, s: &'a str) -> Arc<str> {
        self.texts.entry(s).or_insert_with(|| Arc::from(s)).clone()
    }
}

/// Inserts new invoices with ids `first_id..`: the caller holds SQLite's
/// write lock, so no one else can take those ids, and nothing has to be read
/// back row by row.
async fn insert_invoices(
    conn: &mut SqliteConnection,
    rows: &[&NewInvoice],
    first_id: i64,
    now: Timestamp,
) -> Result<()> {
    let now = micros(now);
    let mut shared = Shared::default();
    for (k, chunk) in rows.chunks(WRITE_ROWS).enumerate() {
        let base = first_id + (k * WRITE_ROWS) as i64;
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO invoices (id, number, buyer_id, order_date, invoice_date, due_date, \
             credit_days, amount_minor, amount_paid_minor, currency, status, source, source_hash, \
             notes, created_at, updated_at) ",
        );
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, r)| {
            b.push_bind(base + i as i64)
                .push_bind(Arc::<str>::from(r.number.trim()))
                .push_bind(r.buyer_id.get())
                .push_bind(r.order_date.map(|d| shared.date(d)))
                .push_bind(shared.date(r.invoice_date))
                .push_bind(shared.date(r.due_date))
                .push_bind(r.credit_days)
                .push_bind(r.amount.minor())
                .push_bind(r.amount_paid.minor())
                .push_bind(shared.text(r.amount.currency().code()))
                .push_bind(shared.text(r.status.as_str()))
                .push_bind(shared.text(&r.source))
                .push_bind(Arc::<str>::from(r.source_hash.as_str()))
                .push_bind(r.notes.as_deref().map(Arc::<str>::from))
                .push_bind(now)
                .push_bind(now);
        });
        qb.build()
            .persistent(cache_write(chunk.len()))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Writes merged invoices back, [`WRITE_ROWS`] per statement.
async fn update_invoices(
    conn: &mut SqliteConnection,
    updates: &[(Invoice, &NewInvoice)],
    now: Timestamp,
) -> Result<()> {
    for chunk in updates.chunks(WRITE_ROWS) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "WITH v (id, order_date, invoice_date, due_date, credit_days, amount_minor, \
             amount_paid_minor, currency, status, paid_at, reminder_cycle, source, source_hash, \
             notes) AS (",
        );
        qb.push_values(chunk, |mut b, (inv, row)| {
            b.push_bind(inv.id.get())
                .push_bind(opt_date_text(inv.order_date))
                .push_bind(date_text(inv.invoice_date))
                .push_bind(date_text(inv.due_date))
                .push_bind(inv.credit_days)
                .push_bind(inv.amount.minor())
                .push_bind(inv.amount_paid.minor())
                .push_bind(inv.amount.currency().code())
                .push_bind(inv.status.as_str())
                .push_bind(opt_micros(inv.paid_at))
                .push_bind(i64::from(inv.reminder_cycle))
                .push_bind(row.source.clone())
                .push_bind(row.source_hash.clone())
                .push_bind(row.notes.clone());
        });
        qb.push(
            ") UPDATE invoices SET order_date = v.order_date, invoice_date = v.invoice_date, \
             due_date = v.due_date, credit_days = v.credit_days, amount_minor = v.amount_minor, \
             amount_paid_minor = v.amount_paid_minor, currency = v.currency, status = v.status, \
             paid_at = v.paid_at, reminder_cycle = v.reminder_cycle, source = v.source, \
             source_hash = v.source_hash, notes = v.notes, updated_at = ",
        );
        qb.push_bind(micros(now));
        qb.push(" FROM v WHERE invoices.id = v.id");
        qb.build()
            .persistent(cache_write(chunk.len()))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Which of `ids` (sorted, distinct) are buyers: a count per chunk, which
/// is one row back instead of one per buyer; the ids themselves only for a
/// chunk where some are missing.
async fn existing_buyers(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT count(*) FROM buyers WHERE id IN ");
        push_in_list(&mut qb, chunk);
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        if n == chunk.len() as i64 {
            out.extend_from_slice(chunk);
        } else {
            let found: Vec<(i64,)> =
                fetch_in(&mut *conn, "SELECT id FROM buyers WHERE", "id", chunk, "").await?;
            out.extend(found.into_iter().map(|(id,)| id));
        }
    }
    Ok(out)
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn upsert_invoices(
        &self,
        rows: &[NewInvoice],
        now: Timestamp,
    ) -> Result<Vec<InvoiceUpsert>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(done) = self.bulk.insert_new(rows, now, validate)? {
            return Ok(done);
        }
        let mut tx = self.write().await?;

        // which numbers exist
        let mut numbers: Vec<&str> = rows.iter().map(|r| r.number.trim()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let found: Vec<(i64, String, i64, String)> = fetch_in(
            &mut tx,
            "SELECT id, number, buyer_id, source_hash FROM invoices WHERE",
            "number",
            &numbers,
            "",
        )
        .await?;
        // keyed by text borrowed from the rows and from `found`: nothing
        // copied per row
        let mut known: HashMap<&str, Known> = HashMap::with_capacity(numbers.len());
        // a stored invoice's buyer exists (foreign key); check only the others
        let mut known_buyers: HashSet<i64> = HashSet::with_capacity(numbers.len());
        for (id, number, buyer_id, hash) in &found {
            known_buyers.insert(*buyer_id);
            known.insert(
                number.as_str(),
                Known::Stored {
                    id: *id,
                    buyer_id: *buyer_id,
                    hash: hash.as_str(),
                    current: None,
                },
            );
        }
        let mut unproven: Vec<i64> = rows
            .iter()
            .map(|r| r.buyer_id.get())
            .filter(|id| !known_buyers.contains(id))
            .collect();
        unproven.sort_unstable();
        unproven.dedup();
        known_buyers.extend(existing_buyers(&mut tx, &unproven).await?);

        // full rows only for stored invoices whose source row changed
        let mut changed: Vec<i64> = rows
            .iter()
            .filter_map(|r| match known.get(r.number.trim()) {
                Some(Known::Stored {
                    id, buyer_id, hash, ..
                }) if *buyer_id == r.buyer_id.get() && *hash != r.source_hash.as_str() => Some(*id),
                _ => None,
            })
            .collect();
        changed.sort_unstable();
        changed.dedup();
        if !changed.is_empty() {
            let full: Vec<InvoiceRow> = fetch_in(
                &mut tx,
                concat!("SELECT ", invoice_cols!(), " FROM invoices WHERE"),
                "id",
                &changed,
                "",
            )
            .await?;
            for inv in full {
                let inv = Invoice::try_from(inv)?;
                if let Some(Known::Stored { current, .. }) = known.get_mut(inv.number.as_str()) {
                    *current = Some(Box::new(inv));
                }
            }
        }

        // walk the batch in order
        let mut inserts: Vec<&NewInvoice> = Vec::new();
        let mut updates: HashMap<i64, (Invoice, &NewInvoice)> = HashMap::new();
        let mut to_cancel: Vec<i64> = Vec::new();
        let mut pending: Vec<Pending> = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(reason) = validate(row) {
                pending.push(Pending::Done(InvoiceUpsert::Rejected { reason }));
                continue;
            }
            let number = row.number.trim();
            if !known_buyers.contains(&row.buyer_id.get()) {
                pending.push(Pending::Done(InvoiceUpsert::Rejected {
                    reason: format!("unknown buyer {}", row.buyer_id),
                }));
                continue;
            }
            match known.get_mut(number) {
                None => {
                    known.insert(
                        number,
                        Known::New {
                            index: inserts.len(),
                        },
                    );
                    pending.push(Pending::Created(inserts.len()));
                    inserts.push(row);
                }
                Some(Known::New { index }) => {
                    let first = inserts[*index];
                    if first.buyer_id != row.buyer_id {
                        pending.push(Pending::Done(InvoiceUpsert::Rejected {
                            reason: format!("invoice {number} belongs to buyer {}", first.buyer_id),
                        }));
                    } else if first.source_hash == row.source_hash {
                        pending.push(Pending::Unchanged(*index));
                    } else {
                        inserts[*index] = row;
                        pending.push(Pending::Updated(*index));
                    }
                }
                Some(Known::Stored {
                    id,
                    buyer_id,
                    hash,
                    current,
                }) => {
                    if *buyer_id != row.buyer_id.get() {
                        pending.push(Pending::Done(InvoiceUpsert::Rejected {
                            reason: format!(
                                "invoice {number} belongs to buyer {}",
                                BuyerId::new(*buyer_id)
                            ),
                        }));
                    } else if *hash == row.source_hash.as_str() {
                        pending.push(Pending::Done(InvoiceUpsert::Unchanged {
                            id: InvoiceId::new(*id),
                        }));
                    } else {
                        let cur = current.as_ref().ok_or_else(|| {
                            StoreError::Backend(format!("invoice {number} vanished").into())
                        })?;
                        let next = merge_invoice(cur, row, now);
                        if next.due_date != cur.due_date
                            || (cur.status.is_open() && !next.status.is_open())
                        {
                            to_cancel.push(*id);
                        }
                        pending.push(Pending::Done(InvoiceUpsert::Updated {
                            id: InvoiceId::new(*id),
                        }));
                        *hash = row.source_hash.as_str();
                        *current = Some(Box::new(next.clone()));
                        updates.insert(*id, (next, row));
                    }
                }
            }
        }

        let first_id: i64 = if inserts.is_empty() {
            0
        } else {
            sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM invoices")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?
        };
        insert_invoices(&mut tx, &inserts, first_id, now).await?;
        let mut updates: Vec<_> = updates.into_values().collect();
        updates.sort_by_key(|(inv, _)| inv.id);
        update_invoices(&mut tx, &updates, now).await?;
        to_cancel.sort_unstable();
        to_cancel.dedup();
        if !to_cancel.is_empty() {
            cancel_for_invoices(&mut tx, &to_cancel, "invoice changed on import", now).await?;
        }
        tx.commit().await.map_err(db)?;

        let id_of = |index: usize| InvoiceId::new(first_id + index as i64);
        Ok(pending
            .into_iter()
            .map(|p| match p {
                Pending::Done(o) => o,
                Pending::Created(i) => InvoiceUpsert::Created { id: id_of(i) },
                Pending::Updated(i) => InvoiceUpsert::Updated { id: id_of(i) },
                Pending::Unchanged(i) => InvoiceUpsert::Unchanged { id: id_of(i) },
            })
            .collect())
    }

    async fn record_rejects(&self, rejects: &[RejectedRow]) -> Result<()> {
        if rejects.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for chunk in rejects.chunks(MAX_PARAMS / 6) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO rejects (source_file, line, column_name, reason, raw, at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.source_file.as_str())
                    .push_bind(i64::try_from(r.line).unwrap_or(i64::MAX))
                    .push_bind(r.column.as_deref())
                    .push_bind(r.reason.as_str())
                    .push_bind(r.raw.as_str())
                    .push_bind(micros(r.at));
            });
            // The same row rejected by a re-import is kept once.
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn begin_bulk_import(&self, incoming: u64) -> Result<bool> {
        if incoming == 0 {
            return Ok(false);
        }
        let mut tx = self.write().await?;
        // Only into a ledger holding at most a quarter as many invoices as
        // the file: then rebuilding costs about what the file's own rows
        // cost to sort, and re-importing a file already loaded (all rows
        // unchanged, no index touched) never rebuilds anything. Counts at
        // most `incoming / 4 + 1` rows, whatever the ledger's size.
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM (SELECT 1 FROM invoices LIMIT ?)")
                .bind(i64::try_from(incoming / 4).unwrap_or(i64::MAX) + 1)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        if u64::try_from(stored).unwrap_or(u64::MAX) > incoming / 4 {
            return Ok(false);
        }
        for drop in BULK_INDEXES
            .iter()
            .map(|(_, drop, _)| *drop)
            .chain([SUMMARY_INSERT_TRIGGER.1])
        {
            sqlx::query(drop).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        self.bulk.open();
        Ok(true)
    }

    async fn end_bulk_import(&self) -> Result<()> {
        self.bulk.close();
        restore_bulk_schema(&self.pool).await
    }

    async fn list_rejects(&self, source_file: Option<&str>) -> Result<Vec<RejectedRow>> {
        type Row = (String, i64, Option<String>, String, String, i64);
        let rows: Vec<Row> = match source_file {
            Some(f) => sqlx::query_as(
                "SELECT source_file, line, column_name, reason, raw, at FROM rejects \
                 WHERE source_file = ? ORDER BY id",
            )
            .bind(f)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?,
            None => sqlx::query_as(
                "SELECT source_file, line, column_name, reason, raw, at FROM rejects ORDER BY id",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(db)?,
        };
        rows.into_iter()
            .map(|(source_file, line, column, reason, raw, at)| {
                Ok(RejectedRow {
                    source_file,
                    line: u64::try_from(line).unwrap_or(0),
                    column,
                    reason,
                    raw,
                    at: ts("rejects", at)?,
                })
            })
            .collect()
    }
}
