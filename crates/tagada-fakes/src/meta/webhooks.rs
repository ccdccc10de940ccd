//! Webhooks the fake sends: message statuses after an accepted send, and
//! inbound buyer messages ([`super::MetaFake::reply_button`],
//! [`super::MetaFake::reply_text`]).
//!
//! Status webhooks go through one dispatcher task that POSTs them one after
//! the other, so with `reorder` off a message's statuses arrive in the order
//! sent, delivered, read. Inbound messages are POSTed by the caller's task.
//! A POST answered non-2xx (or not answered) is retried with exponential
//! backoff up to `max_attempts` times (Meta retries for days; the fake keeps
//! it short).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::errors::async_failure_text;
use super::{MetaFakeConfig, Shared, stopped, wa_id_of};

/// How the fake emits status webhooks.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookBehaviour {
    /// Delay from acceptance to `sent` (or `failed`).
    pub sent_after: Duration,
    /// Delay from `sent` to `delivered`.
    pub delivered_after: Duration,
    /// Delay from `delivered` to `read`.
    pub read_after: Duration,
    /// Probability that a webhook POST is sent a second time, identical.
    pub duplicate_rate: f64,
    /// Shuffle each message's statuses (so `read` may come before `sent`)
    /// and the statuses within a batch.
    pub reorder: bool,
    /// Share of accepted messages that fail asynchronously: one `failed`
    /// status with `errors: [{code: failure_code, ..}]` and nothing else.
    pub failure_rate: f64,
    /// Error code of asynchronous failures (e.g. 131026 undeliverable,
    /// 131049 ecosystem limit, 131050 marketing opt-out).
    pub failure_code: i64,
    /// Share of messages that stop at `delivered` (read receipts off).
    pub never_read_rate: f64,
    /// Most statuses in one POST; 1 = one status per POST.
    pub batch_max: usize,
    /// How long the dispatcher waits to fill a batch.
    pub batch_window: Duration,
    /// Attempts per webhook POST (at least 1).
    pub max_attempts: u32,
    /// First retry delay; doubles on each retry, capped at 30 s.
    pub retry_backoff: Duration,
}

impl Default for WebhookBehaviour {
    fn default() -> Self {
        WebhookBehaviour {
            sent_after: Duration::from_millis(5),
            delivered_after: Duration::from_millis(10),
            read_after: Duration::from_millis(10),
            duplicate_rate: 0.0,
            reorder: false,
            failure_rate: 0.0,
            failure_code: 131026,
            never_read_rate: 0.0,
            batch_max: 1,
            batch_window: Duration::from_millis(20),
            max_attempts: 4,
            retry_backoff: Duration::from_millis(50),
        }
    }
}

/// What a webhook POST carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// `value.statuses`.
    Statuses,
    /// `value.messages` (a buyer's reply).
    Inbound,
}

/// How a webhook POST ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered { http_status: u16 },
    /// Every attempt failed (or the fake shut down).
    GaveUp { last_error: String },
}

/// One webhook POST body and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub kind: WebhookKind,
    /// The raw body, exactly as signed and sent.
    pub body: String,
    /// The `X-Hub-Signature-256` header value.
    pub signature: String,
    pub attempts: u32,
    pub outcome: DeliveryOutcome,
    /// When the delivery ended.
    pub at: SystemTime,
}

impl WebhookDelivery {
    pub fn delivered(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Delivered { .. })
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// `sha256=<hex HMAC-SHA256(app_secret, body)>`, the `X-Hub-Signature-256`
/// header Meta sends.
pub fn signature_header(app_secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        // HMAC accepts keys of any length; this branch is unreachable.
        return String::from("sha256=");
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A status that is due, on its way to the dispatcher.
#[derive(Debug, Clone)]
pub(crate) struct StatusEvent {
    wamid: String,
    status: &'static str,
    recipient: String,
    biz_opaque_callback_data: Option<String>,
    /// Pricing / conversation category, lower case (`utility`, `service`).
    category: String,
    conversation_id: String,
    failure_code: i64,
    at: SystemTime,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn metadata(cfg: &MetaFakeConfig) -> Value {
    json!({
        "display_phone_number": cfg.display_phone_number,
        "phone_number_id": cfg.phone_number_id,
    })
}

fn envelope(cfg: &MetaFakeConfig, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": cfg.waba_id,
            "changes": [{ "value": value, "field": "messages" }],
        }],
    })
}

fn status_json(ev: &StatusEvent) -> Value {
    let mut s = json!({
        "id": ev.wamid,
        "status": ev.status,
        "timestamp": unix(ev.at).to_string(),
        "recipient_id": ev.recipient,
    });
    if let Some(data) = &ev.biz_opaque_callback_data {
        s["biz_opaque_callback_data"] = json!(data);
    }
    if ev.status == "failed" {
        let (title, details) = async_failure_text(ev.failure_code);
        s["errors"] = json!([{
            "code": ev.failure_code,
            "title": title,
            "message": title,
            "error_data": { "details": details },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }]);
        return s;
    }
    let mut conversation = json!({
        "id": ev.conversation_id,
        "origin": { "type": ev.category },
    });
    if ev.status == "sent" {
        conversation["expiration_timestamp"] = json!((unix(ev.at) + 24 * 3600).to_string());
    }
    s["conversation"] = conversation;
    s["pricing"] = json!({
        "billable": true,
        "pricing_model": "CBP",
        "category": ev.category,
    });
    s
}

fn statuses_body(cfg: &MetaFakeConfig, batch: &[StatusEvent]) -> Value {
    envelope(
        cfg,
        json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(cfg),
            "statuses": batch.iter().map(status_json).collect::<Vec<_>>(),
        }),
    )
}

/// The body of a status webhook as the fake POSTs it, one status per
/// `(message, status)` pair (`sent`, `delivered`, `read` or `failed`), for
/// callers that drive a receiver directly (benchmarks, replay tests).
pub fn status_webhook_body(
    cfg: &MetaFakeConfig,
    statuses: &[(&super::AcceptedMessage, &'static str)],
    at: SystemTime,
) -> String {
    let batch: Vec<StatusEvent> = statuses
        .iter()
        .map(|(m, status)| StatusEvent {
            wamid: m.wamid.clone(),
            status,
            recipient: m.to.clone(),
            biz_opaque_callback_data: m.biz_opaque_callback_data.clone(),
            category: "utility".into(),
            conversation_id: format!("conv-{}", m.to),
            failure_code: cfg.webhooks.failure_code,
            at,
        })
        .collect();
    statuses_body(cfg, &batch).to_string()
}

/// Plan and start the status webhooks of one accepted message.
pub(crate) fn schedule_statuses(
    shared: &Arc<Shared>,
    wamid: String,
    recipient: String,
    biz_opaque_callback_data: Option<String>,
    category: String,
) {
    if shared.cfg.webhook_url.is_none() {
        return;
    }
    let b = &shared.cfg.webhooks;
    let (statuses, conversation_id) = {
        let mut st = shared.lock();
        let key = (recipient.clone(), category.clone());
        let conversation_id = match st.conversations.get(&key) {
            Some(id) => id.clone(),
            None => {
                let id = st.random_hex(32).to_ascii_lowercase();
                st.conversations.insert(key, id.clone());
                id
            }
        };
        let mut statuses: Vec<&'static str> = if st.chance(b.failure_rate) {
            vec!["failed"]
        } else if st.chance(b.never_read_rate) {
            vec!["sent", "delivered"]
        } else {
            vec!["sent", "delivered", "read"]
        };
        if b.reorder {
            statuses.shuffle(&mut st.rng);
        }
        (statuses, conversation_id)
    };
    let delays = [b.sent_after, b.delivered_after, b.read_after];
    let failure_code = b.failure_code;
    let tx = shared.status_events.clone();
    let shutdown = shared.shutdown.clone();
    let shared = shared.clone();
    tokio::spawn(async move {
        for (status, delay) in statuses.into_iter().zip(delays) {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stopped(shutdown.clone()) => return,
            }
            let event = StatusEvent {
                wamid: wamid.clone(),
                status,
                recipient: recipient.clone(),
                biz_opaque_callback_data: biz_opaque_callback_data.clone(),
                category: category.clone(),
                conversation_id: conversation_id.clone(),
                failure_code,
                at: shared.now(),
            };
            if tx.send(event).is_err() {
                return;
            }
        }
    });
}

/// Batches due statuses and POSTs them, one delivery at a time.
pub(crate) async fn dispatcher(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<StatusEvent>) {
    let stop = stopped(shared.shutdown.clone());
    tokio::pin!(stop);
    loop {
        let first = tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => ev,
                None => return,
            },
            () = &mut stop => return,
        };
        let b = &shared.cfg.webhooks;
        let mut batch = vec![first];
        if b.batch_max > 1 {
            let deadline = tokio::time::Instant::now() + b.batch_window;
            while batch.len() < b.batch_max {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(ev)) => batch.push(ev),
                    _ => break,
                }
            }
        }
        let duplicate = {
            let mut st = shared.lock();
            if b.reorder {
                batch.shuffle(&mut st.rng);
            }
            st.chance(b.duplicate_rate)
        };
        let body = statuses_body(&shared.cfg, &batch);
        deliver(&shared, WebhookKind::Statuses, &body).await;
        if duplicate {
            deliver(&shared, WebhookKind::Statuses, &body).await;
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// POST one signed body to the webhook URL, retrying, and log the outcome.
async fn deliver(shared: &Arc<Shared>, kind: WebhookKind, body: &Value) {
    let Some(url) = shared.cfg.webhook_url.as_deref() else {
        return;
    };
    let raw = body.to_string();
    let signature = signature_header(&shared.cfg.app_secret, raw.as_bytes());
    let b = &shared.cfg.webhooks;
    let max_attempts = b.max_attempts.max(1);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let send = shared
            .http
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("X-Hub-Signature-256", &signature)
            .body(raw.clone())
            .send();
        let result = tokio::select! {
            r = send => r,
            () = stopped(shared.shutdown.clone()) => break DeliveryOutcome::GaveUp {
                last_error: "the fake shut down".to_owned(),
            },
        };
        let last_error = match result {
            Ok(r) if r.status().is_success() => {
                break DeliveryOutcome::Delivered {
                    http_status: r.status().as_u16(),
                };
            }
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) => error_chain(&e),
        };
        if attempts >= max_attempts {
            break DeliveryOutcome::GaveUp { last_error };
        }
        tracing::debug!(attempts, %last_error, "meta fake: webhook delivery failed, retrying");
        let factor = 1u32 << (attempts - 1).min(10);
        let wait = b
            .retry_backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(30));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stopped(shared.shutdown.clone()) => break DeliveryOutcome::GaveUp { last_error },
        }
    };
    let mut st = shared.lock();
    let at = st.now();
    st.record_delivery(WebhookDelivery {
        kind,
        body: raw,
        signature,
        attempts,
        outcome,
        at,
    });
}

/// Open the window, build an inbound message and deliver it.
async fn inbound(shared: &Arc<Shared>, from: &str, message: impl FnOnce(String) -> Value) {
    let wa_id = wa_id_of(from).unwrap_or_else(|| from.to_owned());
    let (now, wamid) = {
        let mut st = shared.lock();
        let now = st.now();
        st.last_inbound.insert(wa_id.clone(), now);
        (now, st.new_wamid())
    };
    let mut msg = message(wamid);
    msg["from"] = json!(wa_id);
    msg["timestamp"] = json!(unix(now).to_string());
    let last4: String = wa_id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let cfg = &shared.cfg;
    let body = envelope(
        cfg,
        json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(cfg),
            "contacts": [{ "profile": { "name": format!("Buyer {last4}") }, "wa_id": wa_id }],
            "messages": [msg],
        }),
    );
    deliver(shared, WebhookKind::Inbound, &body).await;
}

pub(crate) async fn inbound_button(
    shared: &Arc<Shared>,
    from: &str,
    context_wamid: Option<&str>,
    payload: &str,
    text: &str,
) {
    let business = shared.cfg.display_phone_number.clone();
    inbound(shared, from, |wamid| {
        let mut m = json!({
            "id": wamid,
            "type": "button",
            "button": { "payload": payload, "text": text },
        });
        if let Some(ctx) = context_wamid {
            m["context"] = json!({ "from": business, "id": ctx });
        }
        m
    })
    .await;
}

pub(crate) async fn inbound_text(shared: &Arc<Shared>, from: &str, text: &str) {
    inbound(
        shared,
        from,
        |wamid| json!({ "id": wamid, "type": "text", "text": { "body": text } }),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
        assert_eq!(
            signature_header("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn status_shapes_follow_the_fixtures() {
        let ev = StatusEvent {
            wamid: "wamid.X".into(),
            status: "sent",
            recipient: "919876543210".into(),
            biz_opaque_callback_data: Some("outbox:7".into()),
            category: "utility".into(),
            conversation_id: "abc".into(),
            failure_code: 131026,
            at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        };
        let s = status_json(&ev);
        assert_eq!(s["timestamp"], "1700000000");
        assert_eq!(s["biz_opaque_callback_data"], "outbox:7");
        assert_eq!(s["conversation"]["expiration_timestamp"], "1700086400");
        assert_eq!(s["pricing"]["category"], "utility");
        let failed = status_json(&StatusEvent {
            status: "failed",
            ..ev
        });
        assert_eq!(failed["errors"][0]["code"], 131026);
        assert!(failed.get("pricing").is_none());
        assert!(failed["errors"][0]["error_data"]["details"].is_string());
    }
}
