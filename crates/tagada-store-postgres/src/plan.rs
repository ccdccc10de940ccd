//! Planning: the snapshot the planner reads, and applying its plan.

use std::collections::BTreeSet;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::PgConnection;
use tagada_core::BuyerId;
use tagada_core::InvoiceId;
use tagada_core::ledger::{Buyer, Invoice};
use tagada_core::planner::{Plan, PlannedMessage, ReminderRecord, Snapshot};
use tagada_core::segment::History;
use tagada_store::{
    ApplyOutcome, HistoryRow, PlanStore, Result, SnapshotScope, decode_history,
    payments_since_micros, window_bounds,
};

use crate::conv::{date_text, db, micros, outbox_status, to_json, ts};
use crate::ledger::fetch_in;
use crate::rows::{BuyerRow, InvoiceRow, buyer_cols, convert, invoice_cols};
use crate::{PostgresStore, lock, locks};

/// Loads the invoices that still matter to the planner: owed, or owed but
/// disputed (so the plan can say why it skips them), due by the horizon;
/// without a horizon, every invoice.
/// With the `(status, due_date)` index this is one range scan per status.
async fn load_due(conn: &mut PgConnection, scope: &SnapshotScope) -> Result<Vec<Invoice>> {
    let rows: Vec<InvoiceRow> = match scope.horizon {
        Some(h) => sqlx::query_as(concat!(
            "SELECT ",
            invoice_cols!(),
            " FROM invoices WHERE status IN ('pending', 'in_process', 'partially_paid', \
             'disputed') AND due_date <= $1::date"
        ))
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

/// A date column's window class (`in`, `out` or the date itself) against
/// the four bounds of [`window_bounds`], bound as `$4` to `$7`.
macro_rules! window_class {
    ($col:expr) => {
        concat!(
            "CASE WHEN ",
            $col,
            " > $4::date AND ",
            $col,
            " <= $5::date THEN 'in' WHEN ",
            $col,
            " <= $6::date OR ",
            $col,
            " > $7::date THEN 'out' ELSE (",
            $col,
            ")::text END"
        )
    };
}

/// The loaded buyers' (`$1`) invoices that are not due by the horizon
/// (`$3`) nor cancelled, dated on or after `history_since` (`$2`): the rows
/// [`load_due`] does not read.
macro_rules! history_rows {
    () => {
        " FROM invoices WHERE buyer_id = ANY($1) AND invoice_date >= $2::date \
         AND status <> 'cancelled' AND NOT (status IN ('pending', 'in_process', \
         'partially_paid', 'disputed') AND due_date <= $3::date)"
    };
}

/// Sums of those rows per buyer, currency and window classes, with the
/// group's payments that can fall in a 12-month window (paid at or after
/// `$8`; [`HistoryRow`]).
const HISTORY: &str = concat!(
    "SELECT buyer_id, currency, ",
    window_class!("invoice_date"),
    ", ",
    window_class!("coalesce(order_date, invoice_date)"),
    ", count(*), sum(amount_minor)::bigint, count(*) FILTER (WHERE status <> 'paid'), \
     coalesce(sum(greatest(amount_minor - amount_paid_minor, 0)) \
     FILTER (WHERE status <> 'paid'), 0)::bigint, \
     string_agg(due_date::text || ' ' || paid_at::text, ',') FILTER (WHERE paid_at >= $8)",
    history_rows!(),
    " GROUP BY 1, 2, 3, 4"
);

/// Reads the buyers' history ([`HISTORY`]).
async fn load_history(
    conn: &mut PgConnection,
    scope: &SnapshotScope,
    horizon: Date,
    buyer_ids: &[i64],
) -> Result<History> {
    let mut query = sqlx::query_as::<_, HistoryRow>(HISTORY)
        .bind(buyer_ids)
        .bind(date_text(scope.history_since))
        .bind(date_text(horizon));
    for bound in window_bounds(&scope.today) {
        query = query.bind(bound);
    }
    let rows = query
        .bind(payments_since_micros(&scope.today))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    decode_history(scope.today, rows)
}

/// Whether any of the message's items has no live reminder yet.
async fn has_new_item(conn: &mut PgConnection, m: &PlannedMessage) -> Result<bool> {
    if m.items.is_empty() {
        return Ok(true);
    }
    let missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS k(i, s, c) \
         WHERE NOT EXISTS (SELECT 1 FROM reminders r WHERE r.invoice_id = k.i AND r.step = k.s \
                           AND r.cycle = k.c AND r.status <> 'cancelled')",
    )
    .bind(
        m.items
            .iter()
            .map(|i| i.invoice_id.get())
            .collect::<Vec<_>>(),
    )
    .bind(
        m.items
            .iter()
            .map(|i| i64::from(i.step))
            .collect::<Vec<_>>(),
    )
    .bind(
        m.items
            .iter()
            .map(|i| i64::from(i.cycle))
            .collect::<Vec<_>>(),
    )
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(missing > 0)
}

#[async_trait]
impl PlanStore for PostgresStore {
    async fn load_snapshot(&self, scope: &SnapshotScope) -> Result<Snapshot> {
        let mut tx = self.snapshot().await?;
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
                let beyond: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM invoices WHERE status IN ('pending', 'in_process', \
                     'partially_paid', 'disputed') AND due_date > $1::date",
                )
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
        let mut tx = self.begin().await?;
        lock(&mut tx, locks::PLAN).await?;
        for m in &plan.messages {
            if !has_new_item(&mut tx, m).await? {
                out.already_enqueued += 1;
                continue;
            }
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO outbox (buyer_id, to_phone, dedupe_key, status, send_at, not_before, \
                 message, escalate, created_at, updated_at, priority) \
                 VALUES ($1, $2, $3, 'pending', $4, $4, $5::jsonb, $6, $7, $7, $8) \
                 ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            )
            .bind(m.buyer_id.get())
            .bind(m.to.as_str())
            .bind(&m.dedupe_key)
            .bind(micros(m.send_at))
            .bind(to_json(&m.message)?)
            .bind(m.escalate)
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
            if m.items.is_empty() {
                continue;
            }
            let invoices: Vec<i64> = m.items.iter().map(|i| i.invoice_id.get()).collect();
            sqlx::query(
                "INSERT INTO outbox_invoices (outbox_id, invoice_id) \
                 SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(&invoices)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let created = sqlx::query(
                "INSERT INTO reminders (invoice_id, step, cycle, outbox_id, status, scheduled_at, \
                 created_at, step_name, segment) \
                 SELECT i, s, c, $4, 'scheduled', $5, $6, n, $8 \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $7::text[]) AS k(i, s, c, n) \
                 ON CONFLICT (invoice_id, step, cycle) WHERE status <> 'cancelled' DO NOTHING",
            )
            .bind(&invoices)
            .bind(
                m.items
                    .iter()
                    .map(|i| i64::from(i.step))
                    .collect::<Vec<_>>(),
            )
            .bind(
                m.items
                    .iter()
                    .map(|i| i64::from(i.cycle))
                    .collect::<Vec<_>>(),
            )
            .bind(id)
            .bind(micros(m.send_at))
            .bind(micros(now))
            .bind(
                m.items
                    .iter()
                    .map(|i| i.step_name.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(&m.segment)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            out.reminders_created += created as u32;
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }
}
