//! Reports: timelines and the collection summary.

use async_trait::async_trait;
use jiff::civil::Date;
use sqlx::PgConnection;
use tagada_core::InvoiceId;
use tagada_core::ledger::{InvoiceEvent, NoteKind, PaymentMethod};
use tagada_core::outbox::DeliveryStatus;
use tagada_core::{Currency, Money};
use tagada_store::{
    AttemptOutcome, CollectionSummary, CurrencyTotals, MessageEvent, ReportStore, Result,
    StoreError, TimelineEntry, TimelineSubject, inbox_timeline_text,
};

use crate::PostgresStore;
use crate::conv::{corrupt, currency, date_text, db, from_json, ts};
use crate::ledger::{event_label, fetch_buyer, fetch_invoice};

/// One SQL text per subject kind; both take the subject id as `$1`.
struct Query {
    invoice: &'static str,
    buyer: &'static str,
}

const IMPORTED: Query = Query {
    invoice: "SELECT id, created_at, number, source FROM invoices WHERE id = $1",
    buyer: "SELECT id, created_at, number, source FROM invoices WHERE buyer_id = $1",
};

const STATUS: Query = Query {
    invoice: "SELECT invoice_id, at, from_status, to_status, event::text FROM invoice_events \
              WHERE invoice_id = $1",
    buyer: "SELECT invoice_id, at, from_status, to_status, event::text FROM invoice_events \
            WHERE invoice_id IN (SELECT id FROM invoices WHERE buyer_id = $1)",
};

const REMINDERS: Query = Query {
    invoice: "SELECT invoice_id, step, cycle, scheduled_at, created_at, cancelled_at \
              FROM reminders WHERE invoice_id = $1",
    buyer: "SELECT invoice_id, step, cycle, scheduled_at, created_at, cancelled_at \
            FROM reminders WHERE invoice_id IN (SELECT id FROM invoices WHERE buyer_id = $1)",
};

const ATTEMPTS: Query = Query {
    invoice: "SELECT oi.invoice_id, a.attempt, a.at, a.worker, a.outcome::text FROM attempts a \
              JOIN outbox_invoices oi ON oi.outbox_id = a.outbox_id WHERE oi.invoice_id = $1",
    buyer: "SELECT (SELECT CASE WHEN count(*) = 1 THEN min(invoice_id) END \
                    FROM outbox_invoices WHERE outbox_id = a.outbox_id), \
                   a.attempt, a.at, a.worker, a.outcome::text \
            FROM attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.buyer_id = $1",
};

const MESSAGE_EVENTS: Query = Query {
    invoice: "SELECT oi.invoice_id, e.outbox_id, e.at, e.status, e.error_code, e.error \
              FROM message_events e JOIN outbox_invoices oi ON oi.outbox_id = e.outbox_id \
              WHERE oi.invoice_id = $1 ORDER BY e.id",
    buyer: "SELECT (SELECT CASE WHEN count(*) = 1 THEN min(invoice_id) END \
                    FROM outbox_invoices WHERE outbox_id = e.outbox_id), \
                   e.outbox_id, e.at, e.status, e.error_code, e.error \
            FROM message_events e JOIN outbox o ON o.id = e.outbox_id WHERE o.buyer_id = $1 \
            ORDER BY e.id",
};

const PAYMENTS: Query = Query {
    invoice: "SELECT invoice_id, received_at, amount_minor, currency, method, reference, flag \
              FROM payments WHERE invoice_id = $1",
    buyer: "SELECT invoice_id, received_at, amount_minor, currency, method, reference, flag \
            FROM payments WHERE buyer_id = $1 \
               OR invoice_id IN (SELECT id FROM invoices WHERE buyer_id = $1)",
};

const INBOX: Query = Query {
    invoice: "SELECT oi.invoice_id, i.sent_at, i.kind, i.text, i.payload, i.action FROM inbox i \
              JOIN outbox_invoices oi ON oi.outbox_id = i.outbox_id WHERE oi.invoice_id = $1",
    buyer: "SELECT (SELECT CASE WHEN count(*) = 1 THEN min(invoice_id) END \
                    FROM outbox_invoices WHERE outbox_id = i.outbox_id), \
                   i.sent_at, i.kind, i.text, i.payload, i.action \
            FROM inbox i WHERE i.buyer_id = $1",
};

const NOTES: Query = Query {
    invoice: "SELECT invoice_id, at, kind, author, text FROM notes WHERE invoice_id = $1",
    buyer: "SELECT invoice_id, at, kind, author, text FROM notes WHERE buyer_id = $1",
};

async fn rows<R>(conn: &mut PgConnection, q: &Query, subject: TimelineSubject) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let (sql, id) = match subject {
        TimelineSubject::Invoice(i) => (q.invoice, i.get()),
        TimelineSubject::Buyer(b) => (q.buyer, b.get()),
    };
    sqlx::query_as(sql)
        .bind(id)
        .fetch_all(conn)
        .await
        .map_err(db)
}

fn entry(at: jiff::Timestamp, kind: &str, invoice: Option<i64>, text: String) -> TimelineEntry {
    TimelineEntry {
        at,
        kind: kind.to_string(),
        invoice_id: invoice.map(InvoiceId::new),
        text,
    }
}

/// One line for an attempt's outcome.
pub(crate) fn outcome_text(o: &AttemptOutcome) -> String {
    match o {
        AttemptOutcome::Sent {
            provider_id: Some(p),
        } => format!("sent ({p})"),
        AttemptOutcome::Sent { provider_id: None } => "sent".to_string(),
        AttemptOutcome::Retry { error, retry_at } => {
            format!("not accepted: {error}; retry at {retry_at}")
        }
        AttemptOutcome::Dead { error } => format!("gave up: {error}"),
        AttemptOutcome::NeedsReview { error } => format!("needs review: {error}"),
        AttemptOutcome::Cancelled { reason } => format!("cancelled: {reason}"),
    }
}

type InboxLine = (
    Option<i64>,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

type DeliveryLine = (Option<i64>, i64, i64, String, Option<i64>, Option<String>);

type PaymentLine = (
    Option<i64>,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
);

#[async_trait]
impl ReportStore for PostgresStore {
    async fn timeline(&self, subject: TimelineSubject) -> Result<Vec<TimelineEntry>> {
        let mut tx = self.snapshot().await?;
        match subject {
            TimelineSubject::Invoice(i) => {
                fetch_invoice(&mut tx, i.get())
                    .await?
                    .ok_or_else(|| StoreError::not_found("invoice", i))?;
            }
            TimelineSubject::Buyer(b) => {
                fetch_buyer(&mut tx, b.get())
                    .await?
                    .ok_or_else(|| StoreError::not_found("buyer", b))?;
            }
        }
        let mut out = Vec::new();

        let imported: Vec<(i64, i64, String, String)> = rows(&mut tx, &IMPORTED, subject).await?;
        for (id, at, number, source) in imported {
            out.push(entry(
                ts("invoices", at)?,
                "imported",
                Some(id),
                format!("invoice {number} added from {source}"),
            ));
        }

        let status: Vec<(i64, i64, String, String, String)> =
            rows(&mut tx, &STATUS, subject).await?;
        for (id, at, from, to, event) in status {
            let event: InvoiceEvent = from_json("invoice_events", &event)?;
            out.push(entry(
                ts("invoice_events", at)?,
                "status",
                Some(id),
                format!("{}: {from} → {to}", event_label(&event)),
            ));
        }

        let reminders: Vec<(i64, i64, i64, i64, i64, Option<i64>)> =
            rows(&mut tx, &REMINDERS, subject).await?;
        for (id, step, cycle, scheduled, created, cancelled) in reminders {
            let scheduled = ts("reminders", scheduled)?;
            out.push(entry(
                ts("reminders", created)?,
                "reminder_planned",
                Some(id),
                format!("reminder step {step} (cycle {cycle}) planned for {scheduled}"),
            ));
            if let Some(c) = cancelled {
                out.push(entry(
                    ts("reminders", c)?,
                    "reminder_cancelled",
                    Some(id),
                    format!("reminder step {step} (cycle {cycle}) cancelled"),
                ));
            }
        }

        let attempts: Vec<(Option<i64>, i64, i64, String, String)> =
            rows(&mut tx, &ATTEMPTS, subject).await?;
        for (id, attempt, at, worker, outcome) in attempts {
            let outcome: AttemptOutcome = from_json("attempts", &outcome)?;
            out.push(entry(
                ts("attempts", at)?,
                "attempt",
                id,
                format!("attempt {attempt} by {worker}: {}", outcome_text(&outcome)),
            ));
        }

        let events: Vec<DeliveryLine> = rows(&mut tx, &MESSAGE_EVENTS, subject).await?;
        for (id, outbox_id, at, status, code, error) in events {
            let status = DeliveryStatus::parse(&status)
                .ok_or_else(|| corrupt("message_events", format!("status `{status}`")))?;
            out.push(entry(
                ts("message_events", at)?,
                "delivery",
                id,
                format!(
                    "message {outbox_id} {}",
                    MessageEvent::describe(status, code, error.as_deref())
                ),
            ));
        }

        let payments: Vec<PaymentLine> = rows(&mut tx, &PAYMENTS, subject).await?;
        for (id, at, minor, code, method, reference, flag) in payments {
            let amount = Money::from_minor(minor, currency("payments", &code)?);
            let method = PaymentMethod::parse(&method)
                .map(|m| m.as_str())
                .unwrap_or("other");
            let mut text = format!("{amount} received by {method}");
            if let Some(r) = reference {
                text.push_str(&format!(" (ref {r})"));
            }
            if let Some(f) = flag {
                text.push_str(&format!(" — check: {f}"));
            }
            out.push(entry(ts("payments", at)?, "payment", id, text));
        }

        let inbox: Vec<InboxLine> = rows(&mut tx, &INBOX, subject).await?;
        for (id, at, kind, text, payload, action) in inbox {
            out.push(entry(
                ts("inbox", at)?,
                "reply",
                id,
                inbox_timeline_text(
                    &kind,
                    text.as_deref(),
                    payload.as_deref(),
                    action.as_deref(),
                ),
            ));
        }

        let notes: Vec<(Option<i64>, i64, String, Option<String>, String)> =
            rows(&mut tx, &NOTES, subject).await?;
        for (id, at, kind, author, text) in notes {
            let kind = NoteKind::parse(&kind).ok_or_else(|| corrupt("notes", kind.clone()))?;
            let mut line = match kind {
                NoteKind::Note => text,
                other => format!("{}: {text}", other.as_str()),
            };
            if let Some(a) = author {
                line.push_str(&format!(" ({a})"));
            }
            out.push(entry(ts("notes", at)?, "note", id, line));
        }
        tx.commit().await.map_err(db)?;

        // stable: at equal instants the order above (import first) stands
        out.sort_by_key(|e| e.at);
        Ok(out)
    }

    async fn ops_counts(&self) -> Result<tagada_store::OpsCounts> {
        let pairs = |rows: Vec<(String, i64)>| {
            rows.into_iter()
                .map(|(k, n)| (k, u64::try_from(n).unwrap_or(0)))
                .collect::<Vec<_>>()
        };
        let triples = |rows: Vec<(String, String, i64)>| {
            rows.into_iter()
                .map(|(a, b, n)| (a, b, u64::try_from(n).unwrap_or(0)))
                .collect::<Vec<_>>()
        };
        let outbox: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        let attempts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT coalesce(outcome->>'outcome', '?') AS o, coalesce(coalesce(split_part(outcome->>'error', ':', 1), ''), '') AS c, count(*) \
             FROM attempts GROUP BY o, c ORDER BY o, c",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let webhook_events: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT source, outcome, count(*) FROM webhook_events \
             GROUP BY source, outcome ORDER BY source, outcome",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let lag: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT CAST(avg(w.received_at - e.at) AS BIGINT), max(w.received_at - e.at) \
             FROM (SELECT webhook_event_id, at FROM message_events ORDER BY id DESC LIMIT 1000) e \
             JOIN webhook_events w ON w.id = e.webhook_event_id",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let sync_runs: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT source, outcome, count(*) FROM sync_runs \
             GROUP BY source, outcome ORDER BY source, outcome",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let last: Vec<(String, i64)> = sqlx::query_as(
            "SELECT source, max(finished_at) FROM sync_runs GROUP BY source ORDER BY source",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let payments: Vec<(String, i64)> =
            sqlx::query_as("SELECT method, count(*) FROM payments GROUP BY method ORDER BY method")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        let inbox_open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM inbox WHERE needs_attention AND resolved_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(tagada_store::OpsCounts {
            outbox: pairs(outbox),
            attempts: triples(attempts),
            webhook_events: triples(webhook_events),
            webhook_lag_micros: lag.and_then(|(a, m)| Some((a?, m?))),
            sync_runs: triples(sync_runs),
            sync_last_run: last
                .into_iter()
                .map(|(s, at)| Ok((s, ts("sync_runs", at)?)))
                .collect::<Result<_>>()?,
            payments: pairs(payments),
            inbox_open: u64::try_from(inbox_open).unwrap_or(0),
        })
    }

    async fn report_messages(&self) -> Result<Vec<tagada_store::ReportMessage>> {
        const T: &str = "outbox";
        let mut carried: std::collections::HashMap<i64, Vec<InvoiceId>> = Default::default();
        let links: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT outbox_id, invoice_id FROM outbox_invoices ORDER BY outbox_id, invoice_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        for (outbox_id, invoice_id) in links {
            carried
                .entry(outbox_id)
                .or_default()
                .push(InvoiceId::new(invoice_id));
        }
        type Row = (i64, i64, String, Option<String>, String, i64, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, buyer_id, status, delivery, message ->> 'template_key' AS template_key, \
             send_at, sent_at FROM outbox ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(
                |(id, buyer_id, status, delivery, template_key, send_at, sent_at)| {
                    Ok(tagada_store::ReportMessage {
                        id: tagada_core::OutboxId::new(id),
                        buyer_id: tagada_core::BuyerId::new(buyer_id),
                        status: crate::conv::outbox_status(&status)?,
                        delivery: delivery
                            .map(|d| {
                                DeliveryStatus::parse(&d)
                                    .ok_or_else(|| corrupt(T, format!("delivery `{d}`")))
                            })
                            .transpose()?,
                        template_key,
                        send_at: ts(T, send_at)?,
                        sent_at: crate::conv::opt_ts(T, sent_at)?,
                        invoice_ids: carried.remove(&id).unwrap_or_default(),
                    })
                },
            )
            .collect()
    }

    async fn report_invoices(&self) -> Result<Vec<tagada_store::ReportInvoice>> {
        const T: &str = "invoices";
        type Row = (
            i64,
            i64,
            String,
            i64,
            String,
            String,
            String,
            String,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, buyer_id, number, amount_minor, currency, invoice_date::text AS invoice_date, due_date::text AS due_date, status, paid_at \
             FROM invoices ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut currencies: std::collections::HashMap<String, Currency> = Default::default();
        rows.into_iter()
            .map(
                |(id, buyer_id, number, amount, code, invoice_date, due_date, status, paid_at)| {
                    let cur = match currencies.get(&code) {
                        Some(c) => *c,
                        None => {
                            let c = currency(T, &code)?;
                            currencies.insert(code, c);
                            c
                        }
                    };
                    Ok(tagada_store::ReportInvoice {
                        id: InvoiceId::new(id),
                        buyer_id: tagada_core::BuyerId::new(buyer_id),
                        number,
                        amount: Money::from_minor(amount, cur),
                        invoice_date: crate::conv::date(T, &invoice_date)?,
                        due_date: crate::conv::date(T, &due_date)?,
                        status: crate::conv::invoice_status(&status)?,
                        paid_at: crate::conv::opt_ts(T, paid_at)?,
                    })
                },
            )
            .collect()
    }

    async fn reminder_labels(&self) -> Result<Vec<tagada_store::ReminderLabel>> {
        let rows: Vec<(i64, i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT outbox_id, invoice_id, step_name, segment FROM reminders \
             WHERE status <> 'cancelled' ORDER BY outbox_id, invoice_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(labels(rows))
    }

    async fn reminder_labels_of(
        &self,
        outbox: &[tagada_core::OutboxId],
    ) -> Result<Vec<tagada_store::ReminderLabel>> {
        let ids: Vec<i64> = outbox.iter().map(|o| o.get()).collect();
        let rows: Vec<(i64, i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT outbox_id, invoice_id, step_name, segment FROM reminders \
             WHERE status <> 'cancelled' AND outbox_id = ANY($1) ORDER BY outbox_id, invoice_id",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(labels(rows))
    }

    async fn collection_summary(&self, today: Date) -> Result<CollectionSummary> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT currency, \
               count(*) FILTER (WHERE status IN ('pending', 'in_process', 'partially_paid')), \
               coalesce(sum(GREATEST(amount_minor - amount_paid_minor, 0)) \
                 FILTER (WHERE status IN ('pending', 'in_process', 'partially_paid')), 0)::bigint, \
               coalesce(sum(GREATEST(amount_minor - amount_paid_minor, 0)) \
                 FILTER (WHERE status IN ('pending', 'in_process', 'partially_paid') \
                         AND due_date < $1::date), 0)::bigint, \
               coalesce(sum(amount_paid_minor), 0)::bigint, \
               count(*) FILTER (WHERE status = 'paid') \
             FROM invoices GROUP BY currency ORDER BY currency",
        )
        .bind(date_text(today))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut by_currency: Vec<(Currency, CurrencyTotals)> = Vec::with_capacity(rows.len());
        for (code, open, outstanding, overdue, collected, paid) in rows {
            by_currency.push((
                currency("invoices", &code)?,
                CurrencyTotals {
                    invoices_open: u64::try_from(open).unwrap_or(0),
                    outstanding,
                    overdue,
                    collected,
                    invoices_paid: u64::try_from(paid).unwrap_or(0),
                },
            ));
        }
        let (sent, pending): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'sent'), \
                    count(*) FILTER (WHERE status IN ('pending', 'in_flight')) FROM outbox",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(CollectionSummary {
            by_currency,
            messages_sent: u64::try_from(sent).unwrap_or(0),
            messages_pending: u64::try_from(pending).unwrap_or(0),
        })
    }
}

/// Reminder label rows: (outbox id, invoice id, step name, segment).
fn labels(
    rows: Vec<(i64, i64, Option<String>, Option<String>)>,
) -> Vec<tagada_store::ReminderLabel> {
    rows.into_iter()
        .map(
            |(outbox_id, invoice_id, step_name, segment)| tagada_store::ReminderLabel {
                outbox_id: tagada_core::OutboxId::new(outbox_id),
                invoice_id: InvoiceId::new(invoice_id),
                step_name,
                segment,
            },
        )
        .collect()
}
