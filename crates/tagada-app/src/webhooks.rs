//! WhatsApp webhooks into the ledger: check Meta's signature over the raw
//! body, read the events, merge each message status into its outbox row
//! (monotonic, recorded once under its key) and keep inbound messages for
//! later handling. The HTTP endpoint is a thin caller of [`ingest_whatsapp`].

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use tagada_core::outbox::DeliveryStatus;
use tagada_core::{CountryCode, OutboxId, Phone};
use tagada_store::{NewInbound, StatusOutcome, StatusUpdate, Store, StoreError};
use tagada_whatsapp::send::QuickReply;
use tagada_whatsapp::webhook::{
    self, Event, InboundKind, InboundMessage, PayloadError, SignatureError, StatusEvent, StatusKind,
};

use crate::whatsapp::outbox_from_callback;

/// What one webhook POST changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Statuses merged into an outbox row.
    pub applied: u32,
    /// Events already recorded (Meta retries and replays).
    pub duplicate: u32,
    /// Statuses for no message of ours (kept).
    pub unmatched: u32,
    /// Statuses of a kind this version does not apply (kept).
    pub ignored: u32,
    /// Inbound messages stored for the first time (handled by
    /// [`crate::inbound::process_inbox`]).
    pub inbound_new: u32,
    pub inbound_duplicate: u32,
    /// Other changes (template updates, quality...): not stored.
    pub other: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Refused: nothing was read or recorded (answer 401/403).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed but unreadable (answer 400: Meta would resend it unchanged).
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// Answer 5xx so that Meta retries; events recorded before the failure
    /// are duplicates on the retry.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies `signature_header` (`X-Hub-Signature-256`) over `body` with the
/// app secret, then applies every event in the body. Safe to call again
/// with the same body: every event is recorded once under its key.
pub async fn ingest_whatsapp(
    store: &dyn Store,
    app_secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<IngestReport, IngestError> {
    webhook::verify_signature(app_secret, signature_header, body)?;
    let events = webhook::parse(body)?;
    let raw = RawEvents::read(body);
    let mut report = IngestReport::default();
    // The statuses of one POST are applied in one transaction, in order;
    // inbound messages are stored after them, one by one.
    let mut updates = Vec::new();
    let mut messages = Vec::new();
    for event in events {
        match event {
            Event::Status(s) => {
                let key = s.key();
                let raw = raw.get(&key);
                match status_update(&s, key.clone(), raw.clone(), now) {
                    Some(update) => updates.push(update),
                    None => {
                        if store.record_ignored(&key, &raw, now).await? {
                            report.ignored += 1;
                        } else {
                            report.duplicate += 1;
                        }
                    }
                }
            }
            Event::Message(m) => messages.push(m),
            Event::Other { field, value } => {
                report.other += 1;
                if field == "message_template_status_update"
                    && let Some(status) = crate::templates::status_from_webhook(&value, now)
                {
                    tracing::info!(
                        template = %status.name,
                        language = %status.language,
                        status = %status.status,
                        "template status changed at Meta"
                    );
                    store.save_template_statuses(&[status]).await?;
                }
            }
        }
    }
    if !updates.is_empty() {
        let outcomes = store.apply_message_statuses(&updates, now).await?;
        for (update, outcome) in updates.iter().zip(outcomes) {
            match outcome {
                StatusOutcome::Applied { .. } => report.applied += 1,
                StatusOutcome::Duplicate => report.duplicate += 1,
                StatusOutcome::Unmatched => {
                    tracing::info!(wamid = %update.wamid, status = update.status.as_str(), "status for no message of ours");
                    report.unmatched += 1;
                }
            }
        }
    }
    for m in messages {
        let key = m.key();
        let raw = raw.get(&key);
        let inbound = new_inbound(&m, key, raw, now);
        if store.record_inbound(&inbound, now).await?.is_some() {
            report.inbound_new += 1;
        } else {
            report.inbound_duplicate += 1;
        }
    }
    Ok(report)
}

/// The store's view of an inbound message.
fn new_inbound(m: &InboundMessage, event_key: String, raw: String, now: Timestamp) -> NewInbound {
    let from = m
        .from
        .clone()
        .or_else(|| m.wa_id.clone())
        .unwrap_or_default();
    let phone = Phone::parse(
        &format!("+{}", from.trim_start_matches('+')),
        &CountryCode::india(),
    )
    .ok();
    let (kind, text, payload) = match &m.kind {
        InboundKind::Text { body } => ("text".to_string(), Some(body.clone()), None),
        InboundKind::Button { payload, text } => ("button".into(), text.clone(), payload.clone()),
        InboundKind::Interactive { id, title } => ("interactive".into(), title.clone(), id.clone()),
        InboundKind::Other { kind } => (kind.clone(), None, None),
    };
    let context_outbox = payload
        .as_deref()
        .and_then(QuickReply::parse)
        .and_then(|(_, id)| id)
        .map(OutboxId::new);
    NewInbound {
        event_key,
        raw,
        message_id: m.id.clone(),
        from,
        phone,
        wa_id: m.wa_id.clone(),
        profile_name: m.profile_name.clone(),
        // the buyer's clock can run ahead: the window never opens in the future
        sent_at: m.at.map_or(now, |t| t.min(now)),
        kind,
        text,
        payload,
        context_provider_id: m.context_id.clone(),
        context_outbox,
    }
}

/// The store's view of a status; `None` for kinds not applied (`Other`).
fn status_update(
    s: &StatusEvent,
    event_key: String,
    raw: String,
    now: Timestamp,
) -> Option<StatusUpdate> {
    let status = match &s.status {
        StatusKind::Sent => DeliveryStatus::Sent,
        StatusKind::Delivered => DeliveryStatus::Delivered,
        // voice messages: played implies read
        StatusKind::Read | StatusKind::Played => DeliveryStatus::Read,
        StatusKind::Failed => DeliveryStatus::Failed,
        StatusKind::Other(_) => return None,
    };
    let first = s.errors.first();
    let error = first.and_then(|e| match (&e.title, &e.details) {
        (Some(t), Some(d)) if t != d => Some(format!("{t} — {d}")),
        (Some(t), _) => Some(t.clone()),
        (None, d) => d.clone(),
    });
    Some(StatusUpdate {
        wamid: s.wamid.clone(),
        outbox_id: s
            .callback_data
            .as_deref()
            .and_then(outbox_from_callback)
            .map(OutboxId::new),
        status,
        at: s.at.unwrap_or(now),
        error_code: first.and_then(|e| e.code),
        error: error.or_else(|| (status == DeliveryStatus::Failed).then(|| "failed".into())),
        event_key,
        raw,
    })
}

/// Each status and message object of the body as received, by event key.
struct RawEvents {
    by_key: HashMap<String, String>,
    body: String,
}

impl RawEvents {
    fn read(body: &[u8]) -> RawEvents {
        let mut by_key = HashMap::new();
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let values = json["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| e["changes"].as_array().into_iter().flatten())
            .map(|c| &c["value"]);
        for value in values {
            for s in value["statuses"].as_array().into_iter().flatten() {
                if let (Some(id), Some(status)) = (s["id"].as_str(), s["status"].as_str()) {
                    by_key.insert(format!("status:{id}:{status}"), s.to_string());
                }
            }
            for m in value["messages"].as_array().into_iter().flatten() {
                if let Some(id) = m["id"].as_str() {
                    by_key.insert(format!("message:{id}"), m.to_string());
                }
            }
        }
        RawEvents {
            by_key,
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// The event's own JSON, else the whole body.
    fn get(&self, key: &str) -> String {
        self.by_key
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.body.clone())
    }
}
