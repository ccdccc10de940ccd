//! Channel webhooks: statuses merged into the outbox, inbound messages kept.
//!
//! A batch of statuses (one webhook POST) is one transaction. Each status
//! reads its outbox row `FOR UPDATE`, so two statuses of one message merge
//! one after the other, then inserts the event under its key (`ON CONFLICT
//! DO NOTHING`): a replay finds the key taken and changes nothing (two
//! concurrent replays: the second waits for the first, then finds it
//! taken). Batches of several statuses take an advisory lock first, so two
//! of them never lock the same rows in opposite orders. The merge itself is
//! [`merge_status`], shared with the SQLite backend.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::PgConnection;
use tagada_core::OutboxId;
use tagada_core::outbox::DeliveryStatus;
use tagada_store::{
    DeliveryState, MessageEvent, Result, StatusOutcome, StatusUpdate, StoreError, WHATSAPP,
    WebhookEvent, WebhookOutcome, WebhookStore, merge_status,
};

use crate::PostgresStore;
use crate::conv::{corrupt, db, micros, opt_ts, outbox_status, ts};

fn delivery(table: &'static str, s: &str) -> Result<DeliveryStatus> {
    DeliveryStatus::parse(s).ok_or_else(|| corrupt(table, format!("delivery `{s}`")))
}

/// Inserts the event unless its key is known; its id when inserted.
pub(crate) async fn insert_event(
    conn: &mut PgConnection,
    key: &str,
    raw: &str,
    at: Timestamp,
    outcome: WebhookOutcome,
) -> Result<Option<i64>> {
    insert_event_from(WHATSAPP, conn, key, raw, at, outcome).await
}

/// Keeps an event of `source` once under its key: `None` when the key is
/// already known.
pub(crate) async fn insert_event_from(
    source: &str,
    conn: &mut PgConnection,
    key: &str,
    raw: &str,
    at: Timestamp,
    outcome: WebhookOutcome,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO webhook_events (source, event_key, received_at, payload, outcome) \
         VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (source, event_key) DO NOTHING RETURNING id",
    )
    .bind(source)
    .bind(key)
    .bind(micros(at))
    .bind(raw)
    .bind(outcome.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db)
}

/// The advisory lock key batches of statuses take turns on.
const STATUS_BATCH_LOCK: i64 = 0x7461_6761_6461_0001;

type StateRow = (i64, String, Option<String>, Option<String>, Option<i64>);

macro_rules! select_state {
    ($where:literal) => {
        concat!(
            "SELECT id, status, delivery, provider_id, lease_until FROM outbox WHERE ",
            $where
        )
    };
}

/// Merges one status inside the caller's transaction: the row is read
/// first (locked), then the event inserted under its key with its final outcome (a
/// known key: `Duplicate`, nothing written), then the row and its history.
async fn apply_one(
    conn: &mut PgConnection,
    update: &StatusUpdate,
    received_at: Timestamp,
) -> Result<StatusOutcome> {
    let mut row: Option<StateRow> = None;
    if let Some(id) = update.outbox_id {
        row = sqlx::query_as(select_state!("id = $1 FOR UPDATE"))
            .bind(id.get())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    }
    if row.is_none() {
        row = sqlx::query_as(select_state!(
            "provider_id = $1 ORDER BY id LIMIT 1 FOR UPDATE"
        ))
        .bind(&update.wamid)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    }
    let outcome = if row.is_some() {
        WebhookOutcome::Applied
    } else {
        WebhookOutcome::Unmatched
    };
    let outbox_id = row.as_ref().map(|r| r.0);
    let event_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_events (source, event_key, received_at, payload, outcome, outbox_id) \
         VALUES ($1, $2, $3, $4::jsonb, $5, $6) ON CONFLICT (source, event_key) DO NOTHING RETURNING id",
    )
    .bind(WHATSAPP)
    .bind(&update.event_key)
    .bind(micros(received_at))
    .bind(&update.raw)
    .bind(outcome.as_str())
    .bind(outbox_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(event_id) = event_id else {
        return Ok(StatusOutcome::Duplicate);
    };
    let Some((id, status, current, provider_id, lease_until)) = row else {
        return Ok(StatusOutcome::Unmatched);
    };
    let state = DeliveryState {
        status: outbox_status(&status)?,
        delivery: current
            .as_deref()
            .map(|d| delivery("outbox", d))
            .transpose()?,
        provider_id,
        lease_until: opt_ts("outbox", lease_until)?,
    };
    let change = merge_status(&state, update, received_at);
    sqlx::query(
        "UPDATE outbox SET status = $1, delivery = $2, provider_id = $3, \
         last_error = coalesce($4, last_error), \
         lease_token = CASE WHEN $5 THEN NULL ELSE lease_token END, \
         lease_until = CASE WHEN $6 THEN NULL ELSE lease_until END, \
         sending_started_at = CASE WHEN $7 THEN NULL ELSE sending_started_at END, \
         sent_at = CASE WHEN $8 THEN coalesce(sent_at, $9) ELSE sent_at END, \
         updated_at = $10 WHERE id = $11",
    )
    .bind(change.status.as_str())
    .bind(change.delivery.as_str())
    .bind(&change.provider_id)
    .bind(&change.last_error)
    .bind(change.settled)
    .bind(change.settled)
    .bind(change.settled)
    .bind(change.settled)
    .bind(micros(received_at))
    .bind(micros(received_at))
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO message_events (outbox_id, webhook_event_id, wamid, status, at, \
         error_code, error, delivery) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(event_id)
    .bind(&update.wamid)
    .bind(update.status.as_str())
    .bind(micros(update.at))
    .bind(update.error_code)
    .bind(&update.error)
    .bind(change.delivery.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(StatusOutcome::Applied {
        outbox_id: OutboxId::new(id),
        delivery: change.delivery,
    })
}

impl PostgresStore {
    async fn record_once(
        &self,
        key: &str,
        raw: &str,
        at: Timestamp,
        outcome: WebhookOutcome,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let id = insert_event(&mut tx, key, raw, at, outcome).await?;
        tx.commit().await.map_err(db)?;
        Ok(id.is_some())
    }
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn apply_message_statuses(
        &self,
        updates: &[StatusUpdate],
        received_at: Timestamp,
    ) -> Result<Vec<StatusOutcome>> {
        let mut tx = self.begin().await?;
        if updates.len() > 1 {
            // Two batches locking the same rows in different orders would
            // deadlock: batches of several statuses take turns.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(STATUS_BATCH_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        let mut outcomes = Vec::with_capacity(updates.len());
        for update in updates {
            outcomes.push(apply_one(&mut tx, update, received_at).await?);
        }
        tx.commit().await.map_err(db)?;
        Ok(outcomes)
    }

    async fn record_ignored(&self, event_key: &str, raw: &str, at: Timestamp) -> Result<bool> {
        self.record_once(event_key, raw, at, WebhookOutcome::Ignored)
            .await
    }

    async fn list_webhook_events(&self, source: &str) -> Result<Vec<WebhookEvent>> {
        let rows: Vec<(i64, String, String, i64, String, Option<i64>, String)> = sqlx::query_as(
            "SELECT id, source, event_key, received_at, outcome, outbox_id, payload::text \
             FROM webhook_events WHERE source = $1 ORDER BY id",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(
                |(id, source, event_key, received_at, outcome, outbox_id, payload)| {
                    Ok(WebhookEvent {
                        id,
                        source,
                        event_key,
                        received_at: ts("webhook_events", received_at)?,
                        outcome: WebhookOutcome::parse(&outcome).ok_or_else(|| {
                            corrupt("webhook_events", format!("outcome `{outcome}`"))
                        })?,
                        outbox_id: outbox_id.map(OutboxId::new),
                        payload,
                    })
                },
            )
            .collect()
    }

    async fn list_message_events(&self, id: OutboxId) -> Result<Vec<MessageEvent>> {
        let rows: Vec<(String, String, i64, Option<i64>, Option<String>, String)> = sqlx::query_as(
            "SELECT wamid, status, at, error_code, error, delivery FROM message_events \
                 WHERE outbox_id = $1 ORDER BY id",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(wamid, status, at, error_code, error, after)| {
                Ok(MessageEvent {
                    outbox_id: id,
                    wamid,
                    status: delivery("message_events", &status)?,
                    at: ts("message_events", at)?,
                    error_code,
                    error,
                    delivery: delivery("message_events", &after)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
    }
}
