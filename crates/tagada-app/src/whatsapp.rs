//! The WhatsApp Cloud API channel: the `[whatsapp]` config section, and a
//! [`Channel`] that sends each reminder as its approved template through
//! `tagada-whatsapp`'s client, with the outbox id in
//! `biz_opaque_callback_data` and Meta's errors mapped to what the
//! dispatcher does next.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use jiff::SignedDuration;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tagada_core::planner::{MessageKind, RenderedButton};
use tagada_core::template::ReplyButton;
use tagada_whatsapp::send::{ButtonParam, Document, DocumentMessage, QuickReply, TextMessage};
use tagada_whatsapp::{BodyParam, Client, ClientConfig, ClientError, ErrorClass, TemplateMessage};

use crate::channel::{Channel, ChannelError, OutgoingMessage, SendReceipt};

/// A secret from config or the environment: never printed, never logged.
/// Prints as `***` when set and as an empty string when not.
#[derive(Clone, Default)]
pub struct Secret(Option<SecretString>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        let v: String = value.into();
        if v.is_empty() {
            Secret(None)
        } else {
            Secret(Some(SecretString::from(v)))
        }
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    pub fn expose(&self) -> Option<&str> {
        self.0.as_ref().map(|s| s.expose_secret())
    }

    pub fn to_secret_string(&self) -> Option<SecretString> {
        self.0.clone()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() { "***" } else { "<unset>" })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_set() { "***" } else { "" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        Ok(Secret::new(stringish(d)?))
    }
}

/// A string that the environment may have typed as a number or a boolean:
/// `TAGADA_WHATSAPP__PHONE_NUMBER_ID=106540352242922` arrives as an integer.
fn stringish<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stringish {
        S(String),
        U(u64),
        I(i64),
        B(bool),
    }
    Ok(match Stringish::deserialize(d)? {
        Stringish::S(s) => s,
        Stringish::U(u) => u.to_string(),
        Stringish::I(i) => i.to_string(),
        Stringish::B(b) => b.to_string(),
    })
}

/// `[whatsapp]`: the Cloud API account reminders are sent from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// Send through the Cloud API. Off: `send` and `run` print each message
    /// (the terminal channel) and record it as sent.
    pub enabled: bool,
    /// `https://graph.facebook.com`, or a proxy's or a fake's address.
    pub base_url: String,
    pub api_version: String,
    /// The sending number's id in the WhatsApp Manager (not the number).
    #[serde(deserialize_with = "stringish")]
    pub phone_number_id: String,
    /// The WhatsApp Business Account id (for the template list).
    #[serde(deserialize_with = "stringish")]
    pub waba_id: String,
    /// A system-user access token (`TAGADA_WHATSAPP__ACCESS_TOKEN`).
    pub access_token: Secret,
    /// The app secret that signs webhooks (`TAGADA_WHATSAPP__APP_SECRET`).
    pub app_secret: Secret,
    /// The token Meta echoes in the webhook subscription handshake.
    pub verify_token: Secret,
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    /// Messages per second from this sending number (Meta's default
    /// throughput is 80; up to 1,000 once Meta raises it). Per process: with
    /// several workers on one number, divide it between them.
    pub messages_per_second: u32,
    /// Seconds between two messages to one recipient (Meta's pair rate
    /// limit is about one per 6 s); 0 turns the spacing off.
    pub per_recipient_interval_secs: u64,
    /// The number's messaging limit: distinct buyers who may get a reminder
    /// in any 24 hours (Meta's tier: 250, 1000 or 2000, 10000, 100000; see
    /// WhatsApp Manager → Insights). 0: not enforced by tagada.
    pub messaging_limit: u32,
    /// Minutes between checks of the account's templates under `tagada
    /// serve` (their approval status, shown on the health page); Meta's
    /// status webhooks update it in between. 0: only `tagada templates check`.
    pub template_check_minutes: u32,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        WhatsAppConfig {
            enabled: false,
            base_url: "https://graph.facebook.com".into(),
            api_version: "v23.0".into(),
            phone_number_id: String::new(),
            waba_id: String::new(),
            access_token: Secret::default(),
            app_secret: Secret::default(),
            verify_token: Secret::default(),
            connect_timeout_secs: 5,
            timeout_secs: 20,
            messages_per_second: 80,
            per_recipient_interval_secs: 6,
            messaging_limit: 0,
            template_check_minutes: 60,
        }
    }
}

impl WhatsAppConfig {
    /// What is missing or wrong for sending, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.enabled {
            return out;
        }
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            out.push(format!(
                "whatsapp.base_url: `{}` is not an http(s) URL",
                self.base_url
            ));
        }
        if self.phone_number_id.trim().is_empty() {
            out.push("whatsapp.phone_number_id: not set".into());
        }
        if self.waba_id.trim().is_empty() {
            out.push("whatsapp.waba_id: not set".into());
        }
        if !self.access_token.is_set() {
            out.push("whatsapp.access_token: not set (use TAGADA_WHATSAPP__ACCESS_TOKEN)".into());
        }
        if !(1..=1000).contains(&self.messages_per_second) {
            out.push(format!(
                "whatsapp.messages_per_second: {} is outside 1-1000",
                self.messages_per_second
            ));
        }
        if self.timeout_secs == 0 || self.connect_timeout_secs == 0 {
            out.push("whatsapp.timeout_secs / connect_timeout_secs: must be at least 1".into());
        }
        out
    }

    /// The client for this account.
    pub fn client(&self) -> Result<Client, ClientError> {
        let token = self
            .access_token
            .to_secret_string()
            .ok_or_else(|| ClientError::Request("whatsapp.access_token is not set".into()))?;
        let mut cfg = ClientConfig::new(
            self.base_url.clone(),
            self.phone_number_id.clone(),
            self.waba_id.clone(),
            token,
        );
        cfg.api_version = self.api_version.clone();
        cfg.connect_timeout = Duration::from_secs(self.connect_timeout_secs);
        cfg.timeout = Duration::from_secs(self.timeout_secs);
        Client::new(cfg)
    }
}

/// The value reminders carry in `biz_opaque_callback_data`: status
/// webhooks bring it back, which ties them to the outbox row even when the
/// send's answer was lost.
pub fn callback_data(outbox_id: tagada_core::OutboxId) -> String {
    format!("outbox:{}", outbox_id.get())
}

/// Reads [`callback_data`] back.
pub fn outbox_from_callback(data: &str) -> Option<i64> {
    data.strip_prefix("outbox:")?.trim().parse().ok()
}

/// How fast one sending number may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Evenly spaced (no bursts), so Meta's per-second window never sees more.
    pub messages_per_second: u32,
    /// Least time between two messages to one recipient; zero = off.
    pub per_recipient: Duration,
}

impl SendLimits {
    /// No limit at all (benchmarks of our own throughput).
    pub const UNLIMITED: SendLimits = SendLimits {
        messages_per_second: 0,
        per_recipient: Duration::ZERO,
    };

    pub fn from_config(cfg: &WhatsAppConfig) -> SendLimits {
        SendLimits {
            messages_per_second: cfg.messages_per_second,
            per_recipient: Duration::from_secs(cfg.per_recipient_interval_secs),
        }
    }
}

type Limiter = governor::DefaultDirectRateLimiter;

/// Sends reminders as WhatsApp template messages, within the number's
/// throughput and the per-recipient spacing: a message that does not fit
/// yet waits for its slot (the dispatcher sends oldest first).
#[derive(Debug, Clone)]
pub struct WhatsAppChannel {
    client: Client,
    limits: SendLimits,
    limiter: Option<std::sync::Arc<Limiter>>,
    last_to: std::sync::Arc<std::sync::Mutex<HashMap<String, tokio::time::Instant>>>,
    recipients_per_day: Option<u32>,
}

impl WhatsAppChannel {
    /// A channel with Meta's default limits (80 messages/s, 6 s per recipient).
    pub fn new(client: Client) -> WhatsAppChannel {
        WhatsAppChannel::with_limits(client, SendLimits::from_config(&WhatsAppConfig::default()))
    }

    pub fn with_limits(client: Client, limits: SendLimits) -> WhatsAppChannel {
        let limiter = std::num::NonZeroU32::new(limits.messages_per_second).map(|n| {
            let quota = governor::Quota::per_second(n).allow_burst(std::num::NonZeroU32::MIN);
            std::sync::Arc::new(governor::RateLimiter::direct(quota))
        });
        WhatsAppChannel {
            client,
            limits,
            limiter,
            last_to: Default::default(),
            recipients_per_day: None,
        }
    }

    /// Keeps to a messaging limit of `n` distinct recipients per 24 hours
    /// (0: none).
    pub fn with_recipient_limit(mut self, n: u32) -> WhatsAppChannel {
        self.recipients_per_day = (n > 0).then_some(n);
        self
    }

    pub fn from_config(cfg: &WhatsAppConfig) -> Result<WhatsAppChannel, ClientError> {
        Ok(
            WhatsAppChannel::with_limits(cfg.client()?, SendLimits::from_config(cfg))
                .with_recipient_limit(cfg.messaging_limit),
        )
    }

    /// Waits until `to` may get another message and the number has a slot.
    async fn wait_for_slot(&self, to: &str) {
        if !self.limits.per_recipient.is_zero() {
            let wait = {
                let last = self.last_to.lock().unwrap_or_else(|p| p.into_inner());
                last.get(to).and_then(|t| {
                    (*t + self.limits.per_recipient)
                        .checked_duration_since(tokio::time::Instant::now())
                })
            };
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
            }
        }
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
    }

    fn note_sent(&self, to: &str) {
        if self.limits.per_recipient.is_zero() {
            return;
        }
        let now = tokio::time::Instant::now();
        let mut last = self.last_to.lock().unwrap_or_else(|p| p.into_inner());
        // Forget recipients whose spacing has passed, so the map stays small.
        if last.len() > 10_000 {
            let keep = self.limits.per_recipient;
            last.retain(|_, t| now.duration_since(*t) < keep);
        }
        last.insert(to.to_string(), now);
    }

    /// The request for one reminder: the template and language the planner
    /// chose, its parameters in order, the outbox id as callback data.
    pub fn template_for(m: &OutgoingMessage<'_>) -> TemplateMessage {
        let mut t = TemplateMessage::new(
            m.to.as_str(),
            m.message.whatsapp_name.clone(),
            m.message.language.clone(),
        );
        t.body = m
            .message
            .parameters
            .iter()
            .map(|p| BodyParam::Text(p.clone()))
            .collect();
        t.header_document = m.message.header_document.as_ref().map(|d| Document::Link {
            url: d.link.clone(),
            filename: d.filename.clone(),
        });
        t.buttons = m
            .message
            .buttons
            .iter()
            .map(|b| match b {
                RenderedButton::Url { index, suffix } => ButtonParam::Url {
                    index: *index,
                    suffix: suffix.clone(),
                },
                RenderedButton::QuickReply { index, action } => ButtonParam::QuickReply {
                    index: *index,
                    payload: quick_reply(*action).payload(m.outbox_id.get()),
                },
            })
            .collect();
        t.callback_data = Some(callback_data(m.outbox_id));
        t
    }
}

impl WhatsAppChannel {
    /// The request body for any outbox message: a template for reminders,
    /// text or a document for replies inside the buyer's window.
    pub fn request_for(m: &OutgoingMessage<'_>) -> serde_json::Value {
        let to = m.to.as_str().to_string();
        let callback_data = Some(callback_data(m.outbox_id));
        match &m.message.kind {
            MessageKind::Template => Self::template_for(m).to_json(),
            MessageKind::Text => TextMessage {
                to,
                body: m.message.body.clone(),
                preview_url: false,
                callback_data,
            }
            .to_json(),
            MessageKind::Document { url, filename } => DocumentMessage {
                to,
                document: Document::Link {
                    url: url.clone(),
                    filename: filename.clone(),
                },
                caption: (!m.message.body.is_empty()).then(|| m.message.body.clone()),
                callback_data,
            }
            .to_json(),
        }
    }
}

/// The client's quick reply for a template button (same payload codes).
fn quick_reply(action: ReplyButton) -> QuickReply {
    match action {
        ReplyButton::PaidAlready => QuickReply::PaidAlready,
        ReplyButton::SendInvoiceCopy => QuickReply::SendInvoiceCopy,
        ReplyButton::TalkToSomeone => QuickReply::TalkToSomeone,
        ReplyButton::StopReminders => QuickReply::StopReminders,
    }
}

/// What the dispatcher does with a client error.
pub fn channel_error(e: &ClientError) -> ChannelError {
    let detail = e.to_string();
    match e.class() {
        Some(ErrorClass::RateLimited) => ChannelError::RateLimited {
            retry_after: e
                .code()
                .and_then(|c| ErrorClass::RateLimited.min_backoff(c))
                .and_then(|d| SignedDuration::try_from(d).ok()),
            detail,
        },
        Some(ErrorClass::Transient) => ChannelError::Transient { detail },
        Some(ErrorClass::Recipient | ErrorClass::BadRequest) => ChannelError::Rejected { detail },
        Some(ErrorClass::Template) => ChannelError::Template { detail },
        Some(ErrorClass::Unauthorized | ErrorClass::Account) => {
            ChannelError::Unauthorized { detail }
        }
        None => ChannelError::Ambiguous { detail },
    }
}

#[async_trait]
impl Channel for WhatsAppChannel {
    fn name(&self) -> &str {
        "whatsapp"
    }

    fn recipients_per_day(&self) -> Option<u32> {
        self.recipients_per_day
    }

    async fn send(&self, m: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError> {
        let body = Self::request_for(m);
        self.wait_for_slot(m.to.as_str()).await;
        match self.client.send_json(&body).await {
            Ok(accepted) => {
                self.note_sent(m.to.as_str());
                Ok(SendReceipt {
                    provider_id: Some(accepted.wamid),
                })
            }
            Err(e) => {
                let mapped = channel_error(&e);
                if matches!(mapped, ChannelError::Ambiguous { .. }) {
                    // It may have reached the buyer: space the next one too.
                    self.note_sent(m.to.as_str());
                }
                tracing::warn!(
                    outbox_id = m.outbox_id.get(),
                    to = %m.to.masked(),
                    template = %m.message.whatsapp_name,
                    error = %e,
                    "WhatsApp send failed"
                );
                Err(mapped)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("EAAG-very-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), Some("EAAG-very-secret"));
        assert!(!Secret::new("").is_set());
        let cfg = WhatsAppConfig {
            access_token: s,
            ..Default::default()
        };
        assert!(!format!("{cfg:?}").contains("very-secret"));
    }

    #[test]
    fn ids_typed_as_numbers_by_the_environment_are_read_as_text() {
        let cfg: WhatsAppConfig = serde_json::from_value(serde_json::json!({
            "phone_number_id": 106540352242922u64,
            "waba_id": "102290129340398",
            "access_token": 12345,
        }))
        .unwrap();
        assert_eq!(cfg.phone_number_id, "106540352242922");
        assert_eq!(cfg.waba_id, "102290129340398");
        assert_eq!(cfg.access_token.expose(), Some("12345"));
    }

    #[test]
    fn callback_data_round_trips() {
        let id = tagada_core::OutboxId::new(42);
        assert_eq!(outbox_from_callback(&callback_data(id)), Some(42));
        assert_eq!(outbox_from_callback("something else"), None);
    }

    #[test]
    fn problems_name_their_keys() {
        let cfg = WhatsAppConfig {
            enabled: true,
            ..Default::default()
        };
        let p = cfg.problems().join("\n");
        assert!(p.contains("whatsapp.phone_number_id"));
        assert!(p.contains("whatsapp.access_token"));
        assert!(WhatsAppConfig::default().problems().is_empty());
    }

    #[test]
    fn errors_map_to_dispatcher_actions() {
        let api = |code: i64, http: u16| ClientError::Api {
            class: tagada_whatsapp::classify(code, http),
            http_status: http,
            error: Box::new(tagada_whatsapp::GraphError {
                message: "x".into(),
                kind: None,
                code,
                error_subcode: None,
                error_user_title: None,
                error_user_msg: None,
                error_data: None,
                fbtrace_id: None,
            }),
        };
        assert!(matches!(
            channel_error(&api(131056, 400)),
            ChannelError::RateLimited {
                retry_after: Some(_),
                ..
            }
        ));
        assert!(matches!(
            channel_error(&api(131000, 500)),
            ChannelError::Transient { .. }
        ));
        assert!(matches!(
            channel_error(&api(131026, 400)),
            ChannelError::Rejected { .. }
        ));
        assert!(matches!(
            channel_error(&api(132001, 400)),
            ChannelError::Template { .. }
        ));
        assert!(matches!(
            channel_error(&api(190, 401)),
            ChannelError::Unauthorized { .. }
        ));
        assert!(matches!(
            channel_error(&ClientError::Ambiguous("reset".into())),
            ChannelError::Ambiguous { .. }
        ));
    }
}
