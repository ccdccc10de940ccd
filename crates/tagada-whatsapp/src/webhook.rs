//! Webhooks Meta sends us: the subscription handshake, the signature check
//! over the raw body, and the payload read into events (message statuses,
//! inbound messages, template updates).
//!
//! Parsing is lenient: every field Meta may leave out is optional, unknown
//! fields are ignored, and an unknown message or status type becomes an
//! `Other` event rather than an error, so that one new field from Meta does
//! not make a whole batch of receipts unreadable.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not `sha256=<64 hex digits>`")]
    Malformed,
    #[error("the X-Hub-Signature-256 signature does not match the body")]
    Mismatch,
}

/// Checks Meta's signature over the exact bytes received, in constant time.
pub fn verify_signature(
    app_secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_sig = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let given = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let expected = hmac_sha256(app_secret, body);
    if bool::from(expected.as_slice().ct_eq(&given)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value Meta would send for `body` (for fakes and tests).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(app_secret, body)))
}

fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The GET handshake: when `hub.mode` is `subscribe` and `hub.verify_token`
/// matches ours (compared in constant time), answer with `hub.challenge`.
pub fn verify_subscription<'a>(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
    expected_token: &str,
) -> Option<&'a str> {
    if mode != Some("subscribe") {
        return None;
    }
    let token = token?;
    if !bool::from(token.as_bytes().ct_eq(expected_token.as_bytes())) {
        return None;
    }
    challenge
}

// ---- payload -------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookPayload {
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct MessagesValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<RawMessage>,
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Debug, Clone, Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    errors: Vec<RawError>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<RawErrorData>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawErrorData {
    #[serde(default)]
    details: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawMessage {
    id: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    context: Option<RawContext>,
    #[serde(default)]
    text: Option<RawText>,
    #[serde(default)]
    button: Option<RawButton>,
    #[serde(default)]
    interactive: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawContext {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawText {
    #[serde(default)]
    body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct RawButton {
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

// ---- events --------------------------------------------------------------

/// A message status Meta reports. Ordered by how far a message got.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusKind {
    Sent,
    Delivered,
    Read,
    /// Voice messages only.
    Played,
    Failed,
    /// A status this version does not know (kept, not applied).
    Other(String),
}

impl StatusKind {
    fn parse(s: &str) -> StatusKind {
        match s {
            "sent" => StatusKind::Sent,
            "delivered" => StatusKind::Delivered,
            "read" => StatusKind::Read,
            "played" => StatusKind::Played,
            "failed" => StatusKind::Failed,
            other => StatusKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            StatusKind::Sent => "sent",
            StatusKind::Delivered => "delivered",
            StatusKind::Read => "read",
            StatusKind::Played => "played",
            StatusKind::Failed => "failed",
            StatusKind::Other(s) => s,
        }
    }
}

/// An error attached to a `failed` status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub details: Option<String>,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let title = self.title.as_deref().unwrap_or("failed");
        match (self.code, &self.details) {
            (Some(c), Some(d)) => write!(f, "{title} ({c}): {d}"),
            (Some(c), None) => write!(f, "{title} ({c})"),
            (None, Some(d)) => write!(f, "{title}: {d}"),
            (None, None) => write!(f, "{title}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub wamid: String,
    pub status: StatusKind,
    pub at: Option<Timestamp>,
    pub recipient_id: Option<String>,
    /// What we put in `biz_opaque_callback_data` when sending.
    pub callback_data: Option<String>,
    pub errors: Vec<StatusError>,
    pub phone_number_id: Option<String>,
}

impl StatusEvent {
    /// Unique per (message, status): a replayed webhook has the same key.
    pub fn key(&self) -> String {
        format!("status:{}:{}", self.wamid, self.status.as_str())
    }
}

/// What a buyer sent us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundKind {
    Text {
        body: String,
    },
    /// A template quick-reply button (`type: "button"`).
    Button {
        payload: Option<String>,
        text: Option<String>,
    },
    /// An interactive button or list reply.
    Interactive {
        id: Option<String>,
        title: Option<String>,
    },
    /// Media, location, reaction, unsupported...: kept by type.
    Other {
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub id: String,
    /// The sender as Meta gives it (digits, no `+`).
    pub from: Option<String>,
    /// The sender's WhatsApp id from `contacts` (may differ from `from`'s
    /// formatting for some countries).
    pub wa_id: Option<String>,
    pub profile_name: Option<String>,
    pub at: Option<Timestamp>,
    /// The id of our message the buyer replied to or tapped a button on.
    pub context_id: Option<String>,
    pub kind: InboundKind,
    pub phone_number_id: Option<String>,
}

impl InboundMessage {
    pub fn key(&self) -> String {
        format!("message:{}", self.id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Status(StatusEvent),
    Message(InboundMessage),
    /// Any other change (`message_template_status_update`, quality,
    /// `user_preferences`...), kept by field name with its value.
    Other {
        field: String,
        value: serde_json::Value,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("the webhook body is not a WhatsApp Business Account notification: {0}")]
pub struct PayloadError(String);

/// Reads a verified body into events, in the order Meta listed them.
pub fn parse(body: &[u8]) -> Result<Vec<Event>, PayloadError> {
    let payload: WebhookPayload =
        serde_json::from_slice(body).map_err(|e| PayloadError(e.to_string()))?;
    if let Some(object) = &payload.object
        && object != "whatsapp_business_account"
    {
        return Err(PayloadError(format!("object is `{object}`")));
    }
    let mut events = Vec::new();
    for entry in payload.entry {
        for change in entry.changes {
            let field = change.field.unwrap_or_default();
            if field != "messages" {
                events.push(Event::Other {
                    field,
                    value: change.value,
                });
                continue;
            }
            let value: MessagesValue =
                serde_json::from_value(change.value).map_err(|e| PayloadError(e.to_string()))?;
            let phone_number_id = value.metadata.and_then(|m| m.phone_number_id);
            for s in value.statuses {
                events.push(Event::Status(StatusEvent {
                    wamid: s.id,
                    status: StatusKind::parse(&s.status),
                    at: s.timestamp.as_deref().and_then(unix_seconds),
                    recipient_id: s.recipient_id,
                    callback_data: s.biz_opaque_callback_data,
                    errors: s
                        .errors
                        .into_iter()
                        .map(|e| StatusError {
                            code: e.code,
                            title: e.title.or(e.message),
                            details: e.error_data.and_then(|d| d.details),
                        })
                        .collect(),
                    phone_number_id: phone_number_id.clone(),
                }));
            }
            for m in value.messages {
                let contact = value
                    .contacts
                    .iter()
                    .find(|c| c.wa_id.is_some() && c.wa_id == m.from)
                    .or_else(|| value.contacts.first());
                let kind = match m.kind.as_deref() {
                    Some("text") => InboundKind::Text {
                        body: m.text.map(|t| t.body).unwrap_or_default(),
                    },
                    Some("button") => InboundKind::Button {
                        payload: m.button.as_ref().and_then(|b| b.payload.clone()),
                        text: m.button.as_ref().and_then(|b| b.text.clone()),
                    },
                    Some("interactive") => {
                        let reply = m
                            .interactive
                            .as_ref()
                            .and_then(|i| i.get("button_reply").or_else(|| i.get("list_reply")));
                        let field = |k: &str| {
                            reply
                                .and_then(|r| r.get(k))
                                .and_then(|v| v.as_str())
                                .map(str::to_string)
                        };
                        InboundKind::Interactive {
                            id: field("id"),
                            title: field("title"),
                        }
                    }
                    other => InboundKind::Other {
                        kind: other.unwrap_or("unknown").to_string(),
                    },
                };
                events.push(Event::Message(InboundMessage {
                    id: m.id,
                    from: m.from,
                    wa_id: contact.and_then(|c| c.wa_id.clone()),
                    profile_name: contact
                        .and_then(|c| c.profile.as_ref())
                        .and_then(|p| p.name.clone()),
                    at: m.timestamp.as_deref().and_then(unix_seconds),
                    context_id: m.context.and_then(|c| c.id),
                    kind,
                    phone_number_id: phone_number_id.clone(),
                }));
            }
        }
    }
    Ok(events)
}

fn unix_seconds(s: &str) -> Option<Timestamp> {
    Timestamp::from_second(s.trim().parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tamper() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign(b"app-secret", body);
        assert_eq!(verify_signature(b"app-secret", Some(&header), body), Ok(()));
        assert_eq!(
            verify_signature(b"other-secret", Some(&header), body),
            Err(SignatureError::Mismatch)
        );
        let mut tampered = body.to_vec();
        tampered[3] ^= 1;
        assert_eq!(
            verify_signature(b"app-secret", Some(&header), &tampered),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(b"app-secret", None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(b"app-secret", Some("sha1=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(b"app-secret", Some("sha256=zz"), body),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style.
        assert_eq!(
            sign(b"key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn handshake() {
        let ok = verify_subscription(Some("subscribe"), Some("tok"), Some("123"), "tok");
        assert_eq!(ok, Some("123"));
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("bad"), Some("123"), "tok"),
            None
        );
        assert_eq!(
            verify_subscription(Some("unsubscribe"), Some("tok"), Some("123"), "tok"),
            None
        );
        assert_eq!(verify_subscription(None, None, Some("1"), "tok"), None);
    }

    #[test]
    fn rejects_other_objects() {
        assert!(parse(br#"{"object":"page","entry":[]}"#).is_err());
        assert!(parse(b"not json").is_err());
    }
}
