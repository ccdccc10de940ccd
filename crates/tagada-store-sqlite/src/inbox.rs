//! Inbound messages and queued replies (see `tagada_store::inbox`).

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection};
use tagada_core::{BuyerId, OutboxId};
use tagada_store::{
    InboundHandling, InboxEntry, InboxFilter, InboxStore, NewInbound, NewReply, Result, StoreError,
    WebhookOutcome,
};

use crate::SqliteStore;
use crate::conv::{db, micros, opt_date, opt_date_text, opt_ts, to_json, ts};
use crate::webhooks::insert_event;

const SELECT_INBOX: &str = "SELECT i.id, i.message_id, i.buyer_id, b.name AS buyer_name, \
     b.sales_rep, i.from_phone, i.profile_name, i.sent_at, i.received_at, i.kind, i.text, \
     i.payload, i.outbox_id, i.intent, i.promise_date, i.action, i.needs_attention, \
     i.handled_at, i.resolved_at, i.resolved_by \
     FROM inbox i LEFT JOIN buyers b ON b.id = i.buyer_id";

#[derive(Debug, FromRow)]
struct InboxRow {
    id: i64,
    message_id: String,
    buyer_id: Option<i64>,
    buyer_name: Option<String>,
    sales_rep: Option<String>,
    from_phone: String,
    profile_name: Option<String>,
    sent_at: i64,
    received_at: i64,
    kind: String,
    text: Option<String>,
    payload: Option<String>,
    outbox_id: Option<i64>,
    intent: Option<String>,
    promise_date: Option<String>,
    action: Option<String>,
    needs_attention: bool,
    handled_at: Option<i64>,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
}

impl TryFrom<InboxRow> for InboxEntry {
    type Error = StoreError;
    fn try_from(r: InboxRow) -> Result<InboxEntry> {
        const T: &str = "inbox";
        let handling = match r.intent {
            Some(intent) => Some(InboundHandling {
                intent,
                promise_date: opt_date(T, r.promise_date.as_deref())?,
                action: r.action.unwrap_or_default(),
                needs_attention: r.needs_attention,
            }),
            None => None,
        };
        Ok(InboxEntry {
            id: r.id,
            message_id: r.message_id,
            buyer_id: r.buyer_id.map(BuyerId::new),
            buyer_name: r.buyer_name,
            sales_rep: r.sales_rep,
            from: r.from_phone,
            profile_name: r.profile_name,
            sent_at: ts(T, r.sent_at)?,
            received_at: ts(T, r.received_at)?,
            kind: r.kind,
            text: r.text,
            payload: r.payload,
            outbox_id: r.outbox_id.map(OutboxId::new),
            handling,
            handled_at: opt_ts(T, r.handled_at)?,
            resolved_at: opt_ts(T, r.resolved_at)?,
            resolved_by: r.resolved_by,
        })
    }
}

async fn fetch_entry(conn: &mut SqliteConnection, id: i64) -> Result<InboxEntry> {
    let row: Option<InboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_INBOX} WHERE i.id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.ok_or_else(|| StoreError::not_found("inbox entry", id))?
        .try_into()
}

/// The reminder a message answers: the payload's outbox id (when it went
/// to this buyer, if the buyer is known), else the row with the context's
/// provider id. Returns the row and its buyer.
async fn answered_message(
    conn: &mut SqliteConnection,
    m: &NewInbound,
    buyer: Option<i64>,
) -> Result<Option<(i64, i64)>> {
    if let Some(id) = m.context_outbox {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT id, buyer_id FROM outbox WHERE id = ?")
                .bind(id.get())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        if let Some(row) = row.filter(|(_, b)| buyer.is_none_or(|x| x == *b)) {
            return Ok(Some(row));
        }
    }
    if let Some(wamid) = &m.context_provider_id {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT id, buyer_id FROM outbox WHERE provider_id = ? ORDER BY id LIMIT 1",
        )
        .bind(wamid)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        return Ok(row.filter(|(_, b)| buyer.is_none_or(|x| x == *b)));
    }
    Ok(None)
}

/// The buyer with this E.164 number, else with this WhatsApp id.
async fn sender(conn: &mut SqliteConnection, m: &NewInbound) -> Result<Option<i64>> {
    if let Some(p) = &m.phone {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM buyers WHERE whatsapp = ? ORDER BY id LIMIT 1")
                .bind(p.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        if id.is_some() {
            return Ok(id);
        }
    }
    let wa_id = m.wa_id.as_deref().unwrap_or(&m.from);
    sqlx::query_scalar("SELECT id FROM buyers WHERE wa_id = ? ORDER BY id LIMIT 1")
        .bind(wa_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)
}

#[async_trait]
impl InboxStore for SqliteStore {
    async fn record_inbound(
        &self,
        m: &NewInbound,
        received_at: Timestamp,
    ) -> Result<Option<InboxEntry>> {
        let mut tx = self.write().await?;
        let Some(event_id) = insert_event(
            &mut tx,
            &m.event_key,
            &m.raw,
            received_at,
            WebhookOutcome::Received,
        )
        .await?
        else {
            tx.commit().await.map_err(db)?;
            return Ok(None);
        };
        let mut buyer = sender(&mut tx, m).await?;
        let answered = answered_message(&mut tx, m, buyer).await?;
        if buyer.is_none() {
            buyer = answered.map(|(_, b)| b);
        }
        if let Some(b) = buyer {
            sqlx::query(
                "UPDATE buyers SET wa_id = coalesce(wa_id, ?), \
                 last_inbound_at = max(coalesce(last_inbound_at, 0), ?) WHERE id = ?",
            )
            .bind(m.wa_id.as_deref().unwrap_or(&m.from))
            .bind(micros(m.sent_at))
            .bind(b)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbox (webhook_event_id, message_id, buyer_id, from_phone, \
             profile_name, sent_at, received_at, kind, text, payload, outbox_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(event_id)
        .bind(&m.message_id)
        .bind(buyer)
        .bind(&m.from)
        .bind(&m.profile_name)
        .bind(micros(m.sent_at))
        .bind(micros(received_at))
        .bind(&m.kind)
        .bind(&m.text)
        .bind(&m.payload)
        .bind(answered.map(|(id, _)| id))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let entry = fetch_entry(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(entry))
    }

    async fn unhandled_inbound(&self, limit: u32) -> Result<Vec<InboxEntry>> {
        let rows: Vec<InboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_INBOX} WHERE i.handled_at IS NULL ORDER BY i.id LIMIT ?"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(InboxEntry::try_from).collect()
    }

    async fn mark_inbound_handled(
        &self,
        id: i64,
        h: &InboundHandling,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let n = sqlx::query(
            "UPDATE inbox SET intent = ?, promise_date = ?, action = ?, needs_attention = ?, \
             handled_at = ? WHERE id = ?",
        )
        .bind(&h.intent)
        .bind(opt_date_text(h.promise_date))
        .bind(&h.action)
        .bind(h.needs_attention)
        .bind(micros(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::not_found("inbox entry", id));
        }
        tx.commit().await.map_err(db)
    }

    async fn list_inbox(&self, f: &InboxFilter) -> Result<Vec<InboxEntry>> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(SELECT_INBOX);
        qb.push(" WHERE 1 = 1");
        if let Some(b) = f.buyer {
            qb.push(" AND i.buyer_id = ").push_bind(b.get());
        }
        if let Some(rep) = &f.sales_rep {
            qb.push(" AND b.sales_rep = ").push_bind(rep.clone());
        }
        if f.open_only {
            qb.push(" AND i.needs_attention = 1 AND i.resolved_at IS NULL");
        }
        qb.push(" ORDER BY i.id DESC");
        if let Some(l) = f.limit {
            qb.push(" LIMIT ").push_bind(i64::from(l));
        }
        let rows: Vec<InboxRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(InboxEntry::try_from).collect()
    }

    async fn get_inbox_entry(&self, id: i64) -> Result<InboxEntry> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_entry(&mut conn, id).await
    }

    async fn resolve_inbox_entry(&self, id: i64, by: &str, now: Timestamp) -> Result<InboxEntry> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE inbox SET resolved_at = coalesce(resolved_at, ?), \
             resolved_by = coalesce(resolved_by, ?) WHERE id = ?",
        )
        .bind(micros(now))
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let entry = fetch_entry(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(entry)
    }

    async fn last_inbound_at(&self, buyer: BuyerId) -> Result<Option<Timestamp>> {
        let row: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_inbound_at FROM buyers WHERE id = ?")
                .bind(buyer.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        let at = row.ok_or_else(|| StoreError::not_found("buyer", buyer))?;
        opt_ts("buyers", at)
    }

    async fn enqueue_reply(&self, r: &NewReply, now: Timestamp) -> Result<Option<OutboxId>> {
        if !tagada_store::is_unplanned_key(&r.dedupe_key) {
            return Err(StoreError::Invalid(format!(
                "a reply's dedupe key must start with `{}` (or `{}`): `{}`",
                tagada_store::REPLY_KEY_PREFIX,
                tagada_store::MANUAL_KEY_PREFIX,
                r.dedupe_key
            )));
        }
        let mut tx = self.write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO outbox (buyer_id, to_phone, dedupe_key, status, send_at, not_before, \
             message, escalate, created_at, updated_at) \
             VALUES (?, ?, ?, 'pending', ?, ?, ?, 0, ?, ?) \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(r.buyer_id.get())
        .bind(r.to.as_str())
        .bind(&r.dedupe_key)
        .bind(micros(r.not_before.unwrap_or(now)))
        .bind(micros(r.not_before.unwrap_or(now)))
        .bind(to_json(&r.message)?)
        .bind(micros(now))
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(id) = id {
            for inv in &r.invoice_ids {
                sqlx::query(
                    "INSERT INTO outbox_invoices (outbox_id, invoice_id) VALUES (?, ?) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(inv.get())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(id.map(OutboxId::new))
    }
}
