//! Planning: the snapshot the planner reads, and applying its plan.

use std::collections::BTreeSet;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, QueryBuilder, Sqlite, SqliteConnection};
use tagada_core::BuyerId;
use tagada_core::InvoiceId;
use tagada_core::ledger::{Buyer, Invoice};
use tagada_core::planner::{Plan, PlannedMessage, ReminderRecord, Snapshot};
use tagada_core::segment::History;
use tagada_store::{
    ApplyOutcome, HistoryRow, PlanStore, Result, SnapshotScope, StoreError, decode_history,
    payments_since_micros, window_bounds,
};

use crate::SqliteStore;
use crate::conv::{IN_CHUNK, date_text, db, micros, outbox_status, push_in_list, to_json, ts};
use crate::ledger::fetch_in;
use crate::rows::{BuyerRow, InvoiceRow, buyer_cols, convert, invoice_cols, unsettled};

/// The invoices still owed, or owed but disputed, due by a date.
const DUE_BY: &str = concat!(
    "SELECT ",
    invoice_cols!(),
    " FROM invoices WHERE (",
    unsettled!(),
    ") AND due_date <= ?"
);

/// How many invoices still owed fall due after a date.
const DUE_AFTER: &str = concat!(
    "SELECT count(*) FROM invoices WHERE (",
    unsettled!(),
    ") AND due_date > ?"
);

/// Loads the invoices that still matter to the planner: owed, or owed but
/// disputed (so the plan can say why it skips them), due by the horizon;
/// without a horizon, every invoice.
/// With the partial index `invoices_unsettled_due` this is one range scan.
async fn load_due(conn: &mut SqliteConnection, scope: &SnapshotScope) -> Result<Vec<Invoice>> {
    let rows: Vec<InvoiceRow> = match scope.horizon {
        Some(h) => sqlx::query_as(DUE_BY)
            .bind(date_text(h))
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?,
        // Unscoped (`tagada plan`): every invoice, so each one the plan
        // leaves alone is listed with its reason, paid and cancelled too.
        None => sqlx::query_as(concat!("SELECT ", invoice_cols!(), " FROM invoices"))
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?,
    };
    convert(rows)
}

/// The history query's parameters, as the one row of `w`: the four bounds
/// of [`window_bounds`], `history_since`, the horizon, and the earliest
/// payment that counts ([`payments_since_micros`]).
const HISTORY_PARAMS: &str = "WITH w (in_after, in_through, out_through, out_after, since, horizon, \
     paid_since) AS (VALUES (?, ?, ?, ?, ?, ?, ?)) ";

/// A date column's window class (`in`, `out` or the date itself).
macro_rules! window_class {
    ($col:expr) => {
        concat!(
            "CASE WHEN ",
            $col,
            " > w.in_after AND ",
            $col,
            " <= w.in_through THEN 'in' WHEN ",
            $col,
            " <= w.out_through OR ",
            $col,
            " > w.out_after THEN 'out' ELSE ",
            $col,
            " END"
        )
    };
}

/// The loaded buyers' invoices that are not due by the horizon (nor
/// cancelled), dated on or after `history_since`: the rows [`load_due`]
/// does not read. The buyers' `IN` list follows.
macro_rules! history_rows {
    () => {
        concat!(
            " FROM w, invoices WHERE invoice_date >= w.since AND status <> 'cancelled' AND NOT ((",
            unsettled!(),
            ") AND due_date <= w.horizon) AND buyer_id IN "
        )
    };
}

/// Sums of those rows per buyer, currency and window classes, with the
/// group's payments that can fall in a 12-month window ([`HistoryRow`]).
const HISTORY: &str = concat!(
    "SELECT buyer_id, currency, ",
    window_class!("invoice_date"),
    ", ",
    window_class!("coalesce(order_date, invoice_date)"),
    ", count(*), sum(amount_minor), sum(status <> 'paid'), \
     sum(CASE WHEN status <> 'paid' THEN max(amount_minor - amount_paid_minor, 0) ELSE 0 END), \
     group_concat(CASE WHEN paid_at >= w.paid_since THEN due_date || ' ' || paid_at END, ',')",
    history_rows!()
);

/// Reads the buyers' history ([`HISTORY`]), [`IN_CHUNK`] buyers at a time.
async fn load_history(
    conn: &mut SqliteConnection,
    scope: &SnapshotScope,
    horizon: Date,
    buyer_ids: &[i64],
) -> Result<History> {
    let [b1, b2, b3, b4] = window_bounds(&scope.today);
    let since = date_text(scope.history_since);
    let horizon = date_text(horizon);
    let paid_since = payments_since_micros(&scope.today);
    let mut rows: Vec<HistoryRow> = Vec::new();
    for chunk in buyer_ids.chunks(IN_CHUNK) {
        let mut args = SqliteArguments::default();
        for text in [&b1, &b2, &b3, &b4, &since, &horizon] {
            args.add(text.as_str()).map_err(StoreError::Backend)?;
        }
        args.add(paid_since).map_err(StoreError::Backend)?;
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::with_arguments(HISTORY_PARAMS, args);
        qb.push(HISTORY);
        push_in_list(&mut qb, chunk);
        qb.push(" GROUP BY 1, 2, 3, 4");
        rows.extend(
            qb.build_query_as::<HistoryRow>()
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?,
        );
    }
    decode_history(scope.today, rows)
}

/// Whether any of the message's items has no live reminder yet.
async fn has_new_item(conn: &mut SqliteConnection, m: &PlannedMessage) -> Result<bool> {
    if m.items.is_empty() {
        return Ok(true);
    }
    for item in &m.items {
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM reminders WHERE invoice_id = ? AND step = ? AND cycle = ? \
             AND status <> 'cancelled'",
        )
        .bind(item.invoice_id.get())
        .bind(i64::from(item.step))
        .bind(i64::from(item.cycle))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if live.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[async_trait]
impl PlanStore for SqliteStore {
    async fn load_snapshot(&self, scope: &SnapshotScope) -> Result<Snapshot> {
        let mut tx = self.read().await?;
        let mut invoices = load_due(&mut tx, scope).await?;
        invoices.sort_by_key(|i| i.id);
        let buyer_ids: Vec<i64> = invoices
            .iter()
            .map(|i| i.buyer_id.get())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();

        let (history, not_loaded_not_yet_due) = match scope.horizon {
            Some(h) => {
                let history = load_history(&mut tx, scope, h, &buyer_ids).await?;
                let beyond: i64 = sqlx::query_scalar(DUE_AFTER)
                    .bind(date_text(h))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                (history, u64::try_from(beyond).unwrap_or(0))
            }
            // every invoice is loaded: nothing to sum
            None => (History::default(), 0),
        };

        let buyers: Vec<BuyerRow> = fetch_in(
            &mut tx,
            concat!("SELECT ", buyer_cols!(), " FROM buyers WHERE"),
            "id",
            &buyer_ids,
            "ORDER BY id",
        )
        .await?;
        let buyers: Vec<Buyer> = convert(buyers)?;

        let invoice_ids: Vec<i64> = invoices.iter().map(|i| i.id.get()).collect();
        let reminder_rows: Vec<(i64, i64, i64, String, i64)> = fetch_in(
            &mut tx,
            "SELECT r.invoice_id, r.step, r.cycle, \
             CASE WHEN r.status = 'cancelled' THEN 'cancelled' ELSE o.status END, \
             r.scheduled_at FROM reminders r JOIN outbox o ON o.id = r.outbox_id WHERE",
            "r.invoice_id",
            &invoice_ids,
            "",
        )
        .await?;
        let mut reminders = Vec::with_capacity(reminder_rows.len());
        for (invoice_id, step, cycle, status, scheduled_at) in reminder_rows {
            reminders.push(ReminderRecord {
                invoice_id: InvoiceId::new(invoice_id),
                step: u32::try_from(step).unwrap_or(0),
                cycle: u32::try_from(cycle).unwrap_or(0),
                status: outbox_status(&status)?,
                scheduled_at: ts("reminders", scheduled_at)?,
            });
        }
        reminders.sort_by_key(|r| (r.invoice_id, r.step, r.cycle, r.scheduled_at));

        let last_rows: Vec<(i64, i64)> = fetch_in(
            &mut tx,
            "SELECT buyer_id, max(coalesce(sent_at, send_at)) FROM outbox \
             WHERE status IN ('pending', 'in_flight', 'sent', 'failed', 'needs_review') AND",
            "buyer_id",
            &buyer_ids,
            "GROUP BY buyer_id",
        )
        .await?;
        let mut last_message = Vec::with_capacity(last_rows.len());
        for (b, at) in last_rows {
            last_message.push((BuyerId::new(b), ts("outbox", at)?));
        }
        last_message.sort();
        tx.commit().await.map_err(db)?;

        Ok(Snapshot {
            buyers,
            invoices,
            history,
            reminders,
            last_message,
            not_loaded_not_yet_due,
        })
    }

    async fn apply_plan(&self, plan: &Plan, now: Timestamp) -> Result<ApplyOutcome> {
        let mut out = ApplyOutcome::default();
        if plan.messages.is_empty() {
            return Ok(out);
        }
        let mut tx = self.write().await?;
        for m in &plan.messages {
            if !has_new_item(&mut tx, m).await? {
                out.already_enqueued += 1;
                continue;
            }
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO outbox (buyer_id, to_phone, dedupe_key, status, send_at, not_before, \
                 message, escalate, created_at, updated_at, priority) \
                 VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            )
            .bind(m.buyer_id.get())
            .bind(m.to.as_str())
            .bind(&m.dedupe_key)
            .bind(micros(m.send_at))
            .bind(micros(m.send_at))
            .bind(to_json(&m.message)?)
            .bind(m.escalate)
            .bind(micros(now))
            .bind(micros(now))
            .bind(m.priority)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some(id) = id else {
                out.already_enqueued += 1;
                continue;
            };
            out.messages_enqueued += 1;
            for item in &m.items {
                sqlx::query(
                    "INSERT INTO outbox_invoices (outbox_id, invoice_id) VALUES (?, ?) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(item.invoice_id.get())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                let created = sqlx::query(
                    "INSERT INTO reminders (invoice_id, step, cycle, outbox_id, status, \
                     scheduled_at, created_at, step_name, segment) \
                     VALUES (?, ?, ?, ?, 'scheduled', ?, ?, ?, ?) \
                     ON CONFLICT (invoice_id, step, cycle) WHERE status <> 'cancelled' \
                     DO NOTHING",
                )
                .bind(item.invoice_id.get())
                .bind(i64::from(item.step))
                .bind(i64::from(item.cycle))
                .bind(id)
                .bind(micros(m.send_at))
                .bind(micros(now))
                .bind(&item.step_name)
                .bind(&m.segment)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
                out.reminders_created += created as u32;
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use tagada_store::Migrate;

    use super::{DUE_AFTER, DUE_BY, HISTORY, HISTORY_PARAMS};
    use crate::SqliteStore;

    /// The due-invoice queries repeat the partial index's condition word
    /// for word, so SQLite reads them through the index, not the table.
    #[tokio::test]
    async fn due_invoices_are_read_through_the_partial_index() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        for sql in [DUE_BY, DUE_AFTER] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .bind("2026-12-01")
                    .fetch_all(&store.pool)
                    .await
                    .unwrap();
            assert!(
                plan.iter()
                    .any(|(.., d)| d.contains("invoices_unsettled_due")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// The history query reads the loaded buyers' rows through the buyer
    /// index, never the whole table.
    #[tokio::test]
    async fn history_is_read_through_the_buyer_index() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {HISTORY_PARAMS}{HISTORY}(?, ?) GROUP BY 1, 2, 3, 4");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(sql));
        for d in [
            "2025-12-05",
            "2026-12-03",
            "2025-12-03",
            "2026-12-05",
            "2025-12-03",
            "2026-12-08",
        ] {
            query = query.bind(d);
        }
        let plan = query
            .bind(0_i64)
            .bind(1_i64)
            .bind(2_i64)
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert!(
            plan.iter()
                .any(|(.., d)| d.starts_with("SEARCH invoices USING INDEX invoices_buyer")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|(.., d)| d.starts_with("SCAN invoices")),
            "{plan:?}"
        );
    }
}
