//! The bodies we POST to `/{version}/{phone-number-id}/messages`, built from
//! typed parts so that a malformed request cannot be written: a template
//! message with its header, body and button parameters; a free-form text
//! reply; a document message (an invoice copy inside the buyer's window).

use serde::Serialize;
use serde_json::{Value, json};

/// A document for a template's DOCUMENT header or a document message: by
/// public link, or by the id `upload_media` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Link { url: String, filename: String },
    Media { id: String, filename: String },
}

impl Document {
    fn to_json(&self) -> Value {
        match self {
            Document::Link { url, filename } => json!({ "link": url, "filename": filename }),
            Document::Media { id, filename } => json!({ "id": id, "filename": filename }),
        }
    }
}

/// A value for one `{{n}}` of a template's body, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyParam {
    Text(String),
    /// An amount: Meta localises it and falls back on `fallback` (our own
    /// formatting, e.g. `₹1,23,456.50`). `amount_1000` is the amount times
    /// 1,000 (₹1,23,456.50 → 123456500), exact for every ISO 4217 exponent
    /// up to 3.
    Currency {
        fallback: String,
        code: String,
        amount_1000: i64,
    },
    /// A date, shown as `fallback` (already formatted for the buyer).
    DateTime {
        fallback: String,
    },
}

impl BodyParam {
    /// An amount from integer minor units and the currency's exponent (2
    /// for INR, 0 for JPY, 3 for KWD). Meta's `amount_1000` is the amount
    /// times 1,000 and an int32 in its schema, so an amount it cannot carry
    /// exactly (above about ₹21 lakh, or an exponent above 3) is sent as its
    /// formatted text instead: the Cloud API shows `fallback` either way.
    pub fn currency(
        fallback: impl Into<String>,
        code: impl Into<String>,
        minor: i64,
        exponent: u32,
    ) -> BodyParam {
        let fallback = fallback.into();
        let amount_1000 = 3u32
            .checked_sub(exponent)
            .and_then(|e| 10i64.checked_pow(e))
            .and_then(|f| minor.checked_mul(f))
            .filter(|a| i32::try_from(*a).is_ok());
        match amount_1000 {
            Some(amount_1000) => BodyParam::Currency {
                fallback,
                code: code.into(),
                amount_1000,
            },
            None => BodyParam::Text(fallback),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            BodyParam::Text(text) => json!({ "type": "text", "text": text }),
            BodyParam::Currency {
                fallback,
                code,
                amount_1000,
            } => json!({
                "type": "currency",
                "currency": { "fallback_value": fallback, "code": code, "amount_1000": amount_1000 }
            }),
            BodyParam::DateTime { fallback } => json!({
                "type": "date_time",
                "date_time": { "fallback_value": fallback }
            }),
        }
    }
}

/// A button parameter. `index` is the button's position among ALL of the
/// template's buttons (URL and quick replies together), counted from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonParam {
    /// The dynamic suffix appended to a URL button's URL (the payment token).
    Url { index: u8, suffix: String },
    /// The payload Meta echoes back when the buyer taps this quick reply.
    QuickReply { index: u8, payload: String },
}

impl ButtonParam {
    fn to_json(&self) -> Value {
        match self {
            ButtonParam::Url { index, suffix } => json!({
                "type": "button",
                "sub_type": "url",
                "index": index.to_string(),
                "parameters": [{ "type": "text", "text": suffix }]
            }),
            ButtonParam::QuickReply { index, payload } => json!({
                "type": "button",
                "sub_type": "quick_reply",
                "index": index.to_string(),
                "parameters": [{ "type": "payload", "payload": payload }]
            }),
        }
    }
}

/// A template message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateMessage {
    /// E.164 digits, with or without the `+`.
    pub to: String,
    pub template: String,
    /// The template's language code as registered (`en`, `en_US`, `hi`).
    pub language: String,
    pub header_document: Option<Document>,
    pub body: Vec<BodyParam>,
    pub buttons: Vec<ButtonParam>,
    /// Echoed back in every status webhook for this message (we put the
    /// outbox id here: the Cloud API has no idempotency key).
    pub callback_data: Option<String>,
}

impl TemplateMessage {
    pub fn new(
        to: impl Into<String>,
        template: impl Into<String>,
        language: impl Into<String>,
    ) -> Self {
        TemplateMessage {
            to: to.into(),
            template: template.into(),
            language: language.into(),
            header_document: None,
            body: Vec::new(),
            buttons: Vec::new(),
            callback_data: None,
        }
    }

    /// The JSON body of the request.
    pub fn to_json(&self) -> Value {
        let mut components = Vec::new();
        if let Some(doc) = &self.header_document {
            components.push(json!({
                "type": "header",
                "parameters": [{ "type": "document", "document": doc.to_json() }]
            }));
        }
        if !self.body.is_empty() {
            components.push(json!({
                "type": "body",
                "parameters": self.body.iter().map(BodyParam::to_json).collect::<Vec<_>>()
            }));
        }
        components.extend(self.buttons.iter().map(ButtonParam::to_json));
        let mut template = json!({
            "name": self.template,
            "language": { "code": self.language },
        });
        if !components.is_empty() {
            template["components"] = Value::Array(components);
        }
        envelope(
            &self.to,
            "template",
            "template",
            template,
            &self.callback_data,
        )
    }
}

/// A free-form text message: only accepted inside the 24 hours after the
/// buyer last wrote to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    pub to: String,
    pub body: String,
    pub preview_url: bool,
    pub callback_data: Option<String>,
}

impl TextMessage {
    pub fn to_json(&self) -> Value {
        envelope(
            &self.to,
            "text",
            "text",
            json!({ "body": self.body, "preview_url": self.preview_url }),
            &self.callback_data,
        )
    }
}

/// A document message (the invoice copy a buyer asked for), in-window only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMessage {
    pub to: String,
    pub document: Document,
    pub caption: Option<String>,
    pub callback_data: Option<String>,
}

impl DocumentMessage {
    pub fn to_json(&self) -> Value {
        let mut doc = self.document.to_json();
        if let Some(c) = &self.caption {
            doc["caption"] = Value::String(c.clone());
        }
        envelope(&self.to, "document", "document", doc, &self.callback_data)
    }
}

fn envelope(to: &str, kind: &str, key: &str, inner: Value, callback: &Option<String>) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.trim_start_matches('+'),
        "type": kind,
    });
    body[key] = inner;
    if let Some(data) = callback {
        body["biz_opaque_callback_data"] = Value::String(data.clone());
    }
    body
}

/// Meta's answer to an accepted send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// `wamid.…`: the id every status webhook for this message carries.
    pub wamid: String,
    /// The WhatsApp id Meta resolved the number to; it can differ from the
    /// number we sent (keep both to match replies).
    pub wa_id: Option<String>,
    /// `accepted`, or `held_for_quality_assessment` for some marketing sends.
    pub message_status: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SendResponse {
    #[serde(default)]
    pub contacts: Vec<SendContact>,
    #[serde(default)]
    pub messages: Vec<SendMessageId>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SendContact {
    #[serde(default)]
    pub wa_id: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SendMessageId {
    pub id: String,
    #[serde(default)]
    pub message_status: Option<String>,
}

/// Quick-reply payloads tagada puts on its reminder buttons, so a tap can
/// be acted on without reading the button's (translated) text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum QuickReply {
    PaidAlready,
    SendInvoiceCopy,
    TalkToSomeone,
    StopReminders,
}

impl QuickReply {
    pub const ALL: [QuickReply; 4] = [
        QuickReply::PaidAlready,
        QuickReply::SendInvoiceCopy,
        QuickReply::TalkToSomeone,
        QuickReply::StopReminders,
    ];

    /// The payload prefix; the outbox id follows after a `:`.
    pub fn code(self) -> &'static str {
        match self {
            QuickReply::PaidAlready => "PAID",
            QuickReply::SendInvoiceCopy => "COPY",
            QuickReply::TalkToSomeone => "CALL",
            QuickReply::StopReminders => "STOP",
        }
    }

    /// The payload for a reminder: `PAID:42` for outbox 42.
    pub fn payload(self, outbox_id: i64) -> String {
        format!("{}:{outbox_id}", self.code())
    }

    /// Reads a payload back: the action and the outbox id it was sent with.
    pub fn parse(payload: &str) -> Option<(QuickReply, Option<i64>)> {
        let (code, id) = match payload.split_once(':') {
            Some((c, id)) => (c, id.trim().parse().ok()),
            None => (payload, None),
        };
        let action = QuickReply::ALL
            .into_iter()
            .find(|q| q.code().eq_ignore_ascii_case(code.trim()))?;
        Some((action, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reminder() -> TemplateMessage {
        let mut m = TemplateMessage::new("+919812345678", "payment_reminder_overdue", "en");
        m.header_document = Some(Document::Link {
            url: "https://files.example/INV-1001.pdf".into(),
            filename: "INV-1001.pdf".into(),
        });
        m.body = vec![
            BodyParam::Text("Asha Traders".into()),
            BodyParam::Text("INV-1001".into()),
            BodyParam::currency("₹1,23,456.50", "INR", 12_345_650, 2),
            BodyParam::DateTime {
                fallback: "4 Dec 2026".into(),
            },
        ];
        m.buttons = vec![
            ButtonParam::Url {
                index: 0,
                suffix: "tok_abc".into(),
            },
            ButtonParam::QuickReply {
                index: 1,
                payload: QuickReply::PaidAlready.payload(42),
            },
        ];
        m.callback_data = Some("outbox:42".into());
        m
    }

    #[test]
    fn reminder_body_has_metas_shape() {
        let v = reminder().to_json();
        assert_eq!(v["to"], "919812345678", "no plus sign");
        assert_eq!(v["biz_opaque_callback_data"], "outbox:42");
        let comps = v["template"]["components"].as_array().unwrap();
        assert_eq!(
            comps[0]["parameters"][0]["document"]["filename"],
            "INV-1001.pdf"
        );
        assert_eq!(
            comps[1]["parameters"][2]["currency"]["amount_1000"],
            123_456_500
        );
        assert_eq!(comps[2]["index"], "0");
        assert_eq!(comps[3]["parameters"][0]["payload"], "PAID:42");
    }

    #[test]
    fn amount_1000_is_exact_for_every_exponent() {
        let a = |minor, exp| match BodyParam::currency("x", "X", minor, exp) {
            BodyParam::Currency { amount_1000, .. } => Some(amount_1000),
            _ => None,
        };
        assert_eq!(a(12_345_650, 2), Some(123_456_500)); // INR
        assert_eq!(a(5_000, 0), Some(5_000_000)); // JPY
        assert_eq!(a(1_234, 3), Some(1_234)); // KWD
        assert_eq!(a(1, 4), None);
        assert_eq!(a(i64::MAX, 2), None);
        // ₹50,00,000.00 does not fit Meta's int32: sent as text.
        assert_eq!(
            BodyParam::currency("₹50,00,000.00", "INR", 5_000_000_00, 2),
            BodyParam::Text("₹50,00,000.00".into())
        );
    }

    #[test]
    fn quick_reply_payloads_round_trip() {
        for q in QuickReply::ALL {
            assert_eq!(QuickReply::parse(&q.payload(7)), Some((q, Some(7))));
        }
        assert_eq!(
            QuickReply::parse("stop"),
            Some((QuickReply::StopReminders, None))
        );
        assert_eq!(QuickReply::parse("something else"), None);
    }
}
