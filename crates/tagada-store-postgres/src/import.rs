//! Invoice imports in batches, and rejected rows.
//!
//! A batch is one transaction under the import advisory lock: one lookup of
//! every number (`= ANY($1)`), buyers looked up only when no stored invoice
//! already vouches for them, new rows in one `INSERT ... SELECT FROM
//! UNNEST(...)` per 10,000, changed rows in one `UPDATE ... FROM UNNEST`.
//! Re-importing an unchanged file is the lock and the number lookup.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::PgConnection;
use tagada_core::ledger::{Invoice, InvoiceStatus};
use tagada_core::{BuyerId, InvoiceId};
use tagada_store::{ImportStore, InvoiceUpsert, NewInvoice, RejectedRow, Result, StoreError};

use crate::conv::{BATCH_ROWS, date_text, db, micros, opt_date_text, opt_micros, ts};
use crate::ledger::{cancel_for_invoices, fetch_in};
use crate::rows::{InvoiceRow, invoice_cols};
use crate::{PostgresStore, lock, locks, reserve_ids};

/// The invoice indexes a bulk import sets aside and builds again after
/// loading: name, how to drop it and its definition, exactly as the
/// migrations create them (`0001_initial.sql`). A test compares them with
/// the migrated schema. One sorted build of each costs less than keeping it
/// up to date row by row: buyer ids and due dates arrive in no index's
/// order. (The pay-token index covers issued tokens only, and an import
/// issues none: it is left alone.)
pub(crate) const BULK_INDEXES: [(&str, &str, &str); 2] = [
    (
        "invoices_unsettled_due",
        "DROP INDEX IF EXISTS invoices_unsettled_due",
        "CREATE INDEX IF NOT EXISTS invoices_unsettled_due ON invoices (due_date)\n    \
         WHERE status IN ('pending', 'in_process', 'partially_paid', 'disputed')",
    ),
    (
        "invoices_buyer",
        "DROP INDEX IF EXISTS invoices_buyer",
        "CREATE INDEX IF NOT EXISTS invoices_buyer ON invoices (buyer_id)",
    ),
];

/// The invoices' foreign key to their buyer (`0001_initial.sql`), which a
/// bulk import also sets aside: name, how to drop it and its definition.
/// PostgreSQL checks a foreign key with a trigger that looks the buyer up
/// for every inserted row, about 3 s per million rows (against 2.3 s for
/// the rows and their unique numbers themselves); added back at the end, it
/// checks every row in one join. Meanwhile the import checks each batch's
/// buyers itself, under the import lock, and buyers are never deleted. It
/// goes back in two steps: enforced for new rows at once (`NOT VALID`),
/// then the stored rows checked (`VALIDATE`, which lets writers go on).
const BULK_FOREIGN_KEY: (&str, &str, &str, &str) = (
    "invoices_buyer_id_fkey",
    "ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_buyer_id_fkey",
    "ALTER TABLE invoices ADD CONSTRAINT invoices_buyer_id_fkey \
     FOREIGN KEY (buyer_id) REFERENCES buyers (id) NOT VALID",
    "ALTER TABLE invoices VALIDATE CONSTRAINT invoices_buyer_id_fkey",
);

/// The summary's trigger on new invoices (`0013_summary_insert_trigger.sql`),
/// which a bulk import also sets aside: running it for each of a million
/// new rows costs more than storing them. [`restore_bulk_schema`] marks the
/// loaded invoices in one statement instead, and only when the summary has
/// been started (before that, starting it marks every invoice anyway).
const DISABLE_SUMMARY_INSERT: &str = "ALTER TABLE invoices DISABLE TRIGGER summary_invoice_insert";

/// Puts back what a bulk import set aside: the summary's insert trigger
/// (with a mark for every invoice the summary has not seen, when it has
/// been started), the foreign key to buyers (checking every invoice) and
/// whichever of [`BULK_INDEXES`] is missing, in one transaction under the
/// import lock. Reads the catalogue first, so a store
/// with everything in place locks nothing.
pub(crate) async fn restore_bulk_schema(pool: &sqlx::PgPool) -> Result<()> {
    let present: Vec<(String,)> = sqlx::query_as(
        "SELECT indexname::text FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'invoices'",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let trigger_off: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger \
         WHERE tgrelid = 'invoices'::regclass AND tgname = 'summary_invoice_insert' \
           AND tgenabled = 'D')",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let has_foreign_key: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint \
         WHERE conrelid = 'invoices'::regclass AND conname = $1)",
    )
    .bind(BULK_FOREIGN_KEY.0)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    if !trigger_off
        && has_foreign_key
        && BULK_INDEXES
            .iter()
            .all(|(name, _, _)| present.iter().any(|(p,)| p == name))
    {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(db)?;
    lock(&mut tx, locks::IMPORT).await?;
    if trigger_off {
        // Enabling locks out writers to invoices until the commit, so every
        // row stored before it is visible to the marking below and every
        // row after it is marked by the trigger.
        sqlx::query("ALTER TABLE invoices ENABLE TRIGGER summary_invoice_insert")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO summary_dirty (kind, id, mark) \
             SELECT 0, i.id, nextval('summary_mark_seq') FROM invoices i \
             WHERE EXISTS (SELECT 1 FROM summary_meta) \
               AND NOT EXISTS (SELECT 1 FROM summary_bases b WHERE b.kind = 0 AND b.id = i.id) \
             ON CONFLICT (kind, id) DO NOTHING",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    if !has_foreign_key {
        sqlx::query(BULK_FOREIGN_KEY.2)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    for (_, _, create) in BULK_INDEXES {
        sqlx::query(create).execute(&mut *tx).await.map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    if !has_foreign_key {
        // Should a stored invoice name no buyer, this fails and says so,
        // and the key stays enforced for new rows.
        sqlx::query(BULK_FOREIGN_KEY.3)
            .execute(pool)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Where a number stands while walking the batch.
enum Known {
    /// Stored before this batch; `current` is loaded only when the row changed.
    Stored {
        id: i64,
        buyer_id: i64,
        hash: String,
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

/// Inserts new invoices under ids taken beforehand from the identity
/// sequence, so nothing has to be matched up afterwards.
async fn insert_invoices(
    conn: &mut PgConnection,
    rows: &[&NewInvoice],
    ids: &[i64],
    now: Timestamp,
) -> Result<()> {
    for (chunk, ids) in rows.chunks(BATCH_ROWS).zip(ids.chunks(BATCH_ROWS)) {
        sqlx::query(
            "INSERT INTO invoices (id, number, buyer_id, order_date, invoice_date, due_date, \
             credit_days, amount_minor, amount_paid_minor, currency, status, source, source_hash, \
             notes, created_at, updated_at) \
             SELECT id, number, buyer_id, od::date, idt::date, dd::date, cd, am, ap, cur, st, \
                    src, h, nt, $14, $14 \
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
                         $6::text[], $7::int4[], $8::bigint[], $9::bigint[], $10::text[], \
                         $11::text[], $12::text[], $13::text[], $15::text[]) \
                  AS t(id, number, buyer_id, od, idt, dd, cd, am, ap, cur, st, src, h, nt)",
        )
        .bind(ids)
        .bind(
            chunk
                .iter()
                .map(|r| r.number.trim().to_string())
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|r| r.buyer_id.get()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| opt_date_text(r.order_date))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|r| date_text(r.invoice_date))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|r| date_text(r.due_date))
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|r| r.credit_days).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.amount.minor()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.amount_paid.minor())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|r| r.amount.currency().code())
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.source_hash.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(micros(now))
        .bind(chunk.iter().map(|r| r.notes.as_deref()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Writes merged invoices back, all in one statement per 10,000.
async fn update_invoices(
    conn: &mut PgConnection,
    updates: &[(Invoice, &NewInvoice)],
    now: Timestamp,
) -> Result<()> {
    for chunk in updates.chunks(BATCH_ROWS) {
        sqlx::query(
            "UPDATE invoices i SET order_date = u.od::date, invoice_date = u.idt::date, \
             due_date = u.dd::date, credit_days = u.cd, amount_minor = u.am, \
             amount_paid_minor = u.ap, currency = u.cur, status = u.st, paid_at = u.pa, \
             reminder_cycle = u.rc, source = u.src, source_hash = u.h, notes = u.nt, \
             updated_at = $15 \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int4[], \
                         $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::bigint[], \
                         $11::bigint[], $12::text[], $13::text[], $14::text[]) \
                  AS u(id, od, idt, dd, cd, am, ap, cur, st, pa, rc, src, h, nt) \
             WHERE i.id = u.id",
        )
        .bind(chunk.iter().map(|(i, _)| i.id.get()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|(i, _)| opt_date_text(i.order_date))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| date_text(i.invoice_date))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| date_text(i.due_date))
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|(i, _)| i.credit_days).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|(i, _)| i.amount.minor())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| i.amount_paid.minor())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| i.amount.currency().code())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| i.status.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| opt_micros(i.paid_at))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(i, _)| i64::from(i.reminder_cycle))
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, r)| r.source.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, r)| r.source_hash.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, r)| r.notes.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(micros(now))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

#[async_trait]
impl ImportStore for PostgresStore {
    async fn upsert_invoices(
        &self,
        rows: &[NewInvoice],
        now: Timestamp,
    ) -> Result<Vec<InvoiceUpsert>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        lock(&mut tx, locks::IMPORT).await?;

        // which numbers exist
        let mut numbers: Vec<&str> = rows.iter().map(|r| r.number.trim()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let found: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT id, number, buyer_id, source_hash FROM invoices WHERE number = ANY($1)",
        )
        .bind(&numbers)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut known: HashMap<String, Known> = HashMap::with_capacity(numbers.len());
        // a stored invoice's buyer exists (foreign key); look up only the others
        let mut known_buyers: HashSet<i64> = HashSet::with_capacity(numbers.len());
        for (id, number, buyer_id, hash) in found {
            known_buyers.insert(buyer_id);
            known.insert(
                number,
                Known::Stored {
                    id,
                    buyer_id,
                    hash,
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
        known_buyers.extend(
            fetch_in::<(i64,)>(&mut tx, "SELECT id FROM buyers WHERE", "id", &unproven, "")
                .await?
                .into_iter()
                .map(|(id,)| id),
        );
        // full rows only for stored invoices whose source row changed
        let mut changed: Vec<i64> = rows
            .iter()
            .filter_map(|r| match known.get(r.number.trim()) {
                Some(Known::Stored {
                    id, buyer_id, hash, ..
                }) if *buyer_id == r.buyer_id.get() && *hash != r.source_hash => Some(*id),
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
                        number.to_string(),
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
                    } else if *hash == row.source_hash {
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
                        hash.clone_from(&row.source_hash);
                        *current = Some(Box::new(next.clone()));
                        updates.insert(*id, (next, row));
                    }
                }
            }
        }

        let new_ids: Vec<i64> = if inserts.is_empty() {
            Vec::new()
        } else {
            let first = reserve_ids(&mut tx, "invoices", inserts.len()).await?;
            (first..).take(inserts.len()).collect()
        };
        insert_invoices(&mut tx, &inserts, &new_ids, now).await?;
        let mut updates: Vec<_> = updates.into_values().collect();
        updates.sort_by_key(|(inv, _)| inv.id);
        update_invoices(&mut tx, &updates, now).await?;
        to_cancel.sort_unstable();
        to_cancel.dedup();
        if !to_cancel.is_empty() {
            cancel_for_invoices(&mut tx, &to_cancel, "invoice changed on import", now).await?;
        }
        tx.commit().await.map_err(db)?;

        let id_of = |index: usize| InvoiceId::new(new_ids[index]);
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
        sqlx::query(
            "INSERT INTO rejects (source_file, line, column_name, reason, raw, at) \
             SELECT f, l, c, r, w, a FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                                  $6::bigint[]) WITH ORDINALITY AS t(f, l, c, r, w, a, n) \
             ORDER BY n ON CONFLICT DO NOTHING",
        )
        .bind(rejects.iter().map(|r| r.source_file.as_str()).collect::<Vec<_>>())
        .bind(
            rejects
                .iter()
                .map(|r| i64::try_from(r.line).unwrap_or(i64::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(rejects.iter().map(|r| r.column.as_deref()).collect::<Vec<_>>())
        .bind(rejects.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>())
        .bind(rejects.iter().map(|r| r.raw.as_str()).collect::<Vec<_>>())
        .bind(rejects.iter().map(|r| micros(r.at)).collect::<Vec<_>>())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn begin_bulk_import(&self, incoming: u64) -> Result<bool> {
        if incoming == 0 {
            return Ok(false);
        }
        let mut tx = self.begin().await?;
        lock(&mut tx, locks::IMPORT).await?;
        // Only into a ledger holding at most a quarter as many invoices as
        // the file: then rebuilding costs about what the file's own rows
        // cost to sort, and re-importing a file already loaded (all rows
        // unchanged, no index touched) never rebuilds anything. Counts at
        // most `incoming / 4 + 1` rows, whatever the ledger's size.
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM (SELECT 1 FROM invoices LIMIT $1) AS s")
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
            .chain([DISABLE_SUMMARY_INSERT, BULK_FOREIGN_KEY.1])
        {
            sqlx::query(drop).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn end_bulk_import(&self) -> Result<()> {
        restore_bulk_schema(&self.pool).await
    }

    async fn list_rejects(&self, source_file: Option<&str>) -> Result<Vec<RejectedRow>> {
        type Row = (String, i64, Option<String>, String, String, i64);
        let rows: Vec<Row> = match source_file {
            Some(f) => sqlx::query_as(
                "SELECT source_file, line, column_name, reason, raw, at FROM rejects \
                 WHERE source_file = $1 ORDER BY id",
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
