//! The reminder planner: a pure function from a ledger snapshot, the config
//! and `now` to a plan — what to send, to whom, when, and why not for every
//! invoice it leaves alone.
//!
//! For each invoice, in the buyer's local date: skip it with a reason, or
//! find the latest cadence step whose date has come (earlier unsent steps are
//! not sent — no catch-up spam — and a step whose date passed unsent is sent
//! at the next window — never dropped). The invoices left are grouped into
//! one message per buyer, timed at the first business-hours instant in the
//! buyer's zone and calendar, and rendered through the templates.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::cadence::PlannerConfig;
use crate::ledger::{Buyer, Invoice};
use crate::outbox::OutboxStatus;
use crate::{BuyerId, InvoiceId, Money, Phone};

mod engine;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// A reminder already recorded for an invoice (from an earlier plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRecord {
    pub invoice_id: InvoiceId,
    /// Index into the cadence's steps; indexes past the last step are repeats.
    pub step: u32,
    pub cycle: u32,
    /// Status of the outbox message carrying it.
    pub status: OutboxStatus,
    pub scheduled_at: Timestamp,
}

/// Everything the planner needs to know, loaded by the store in one go.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The buyers of every invoice below.
    pub buyers: Vec<Buyer>,
    /// Invoices to consider: every invoice not paid or cancelled whose first
    /// step could be due by the horizon (or every invoice, unscoped).
    pub invoices: Vec<Invoice>,
    /// Those buyers' other invoices of the last 12 months, summed by the
    /// store (their payment history and volume, for segments).
    #[serde(default)]
    pub history: crate::segment::History,
    /// Reminders already recorded for these invoices.
    pub reminders: Vec<ReminderRecord>,
    /// The last message queued or sent to each buyer (any invoice).
    pub last_message: Vec<(BuyerId, Timestamp)>,
    /// Open invoices further out than the horizon, not loaded (counted only).
    pub not_loaded_not_yet_due: u64,
}

/// One invoice inside a planned message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedItem {
    pub invoice_id: InvoiceId,
    pub invoice_number: String,
    pub step: u32,
    /// Step name (`due-3`, `due`, `overdue+7`, `repeat+28`...).
    pub step_name: String,
    pub offset_days: i32,
    pub cycle: u32,
    pub outstanding: Money,
    pub due_date: Date,
    pub days_overdue: i32,
}

/// A WhatsApp-ready rendering of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedMessage {
    /// The template key in config (`overdue`, `overdue_friendly`...).
    pub template_key: String,
    /// The approved WhatsApp template name and language code.
    pub whatsapp_name: String,
    pub language: String,
    /// Body parameters in the order the WhatsApp template expects.
    pub parameters: Vec<String>,
    /// The full text as the buyer will read it.
    pub body: String,
    /// A template (reminders), or a free-form reply inside the buyer's
    /// 24-hour window. Absent from the JSON of a template.
    #[serde(default, skip_serializing_if = "MessageKind::is_template")]
    pub kind: MessageKind,
    /// A template's document header (the invoice PDF), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_document: Option<RenderedDocument>,
    /// A template's button parameters, by Meta's button index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<RenderedButton>,
}

/// A rendered document header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedDocument {
    pub link: String,
    pub filename: String,
}

/// A rendered button parameter; `index` counts all of the template's
/// buttons from 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RenderedButton {
    /// The dynamic suffix of a URL button.
    Url { index: u8, suffix: String },
    /// A quick reply; its payload (`PAID:<outbox id>`) is made at send
    /// time, when the outbox id is known.
    QuickReply {
        index: u8,
        action: crate::template::ReplyButton,
    },
}

impl RenderedMessage {
    /// A free-form text reply (`body` is what is sent).
    pub fn text(key: &str, body: impl Into<String>, language: &str) -> RenderedMessage {
        RenderedMessage {
            template_key: key.to_string(),
            whatsapp_name: String::new(),
            language: language.to_string(),
            parameters: Vec::new(),
            body: body.into(),
            kind: MessageKind::Text,
            header_document: None,
            buttons: Vec::new(),
        }
    }

    /// A document reply (an invoice copy) with `caption` as its text.
    pub fn document(
        key: &str,
        url: impl Into<String>,
        filename: impl Into<String>,
        caption: impl Into<String>,
        language: &str,
    ) -> RenderedMessage {
        RenderedMessage {
            kind: MessageKind::Document {
                url: url.into(),
                filename: filename.into(),
            },
            ..RenderedMessage::text(key, caption, language)
        }
    }

    /// Whether this is a free-form reply, which may only go out while the
    /// buyer's 24-hour window is open.
    pub fn is_reply(&self) -> bool {
        !self.kind.is_template()
    }
}

/// What kind of WhatsApp message a [`RenderedMessage`] is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageKind {
    /// An approved template (the only kind allowed outside the window).
    #[default]
    Template,
    /// Free-form text.
    Text,
    /// A document by link, with the body as caption.
    Document { url: String, filename: String },
}

impl MessageKind {
    pub fn is_template(&self) -> bool {
        matches!(self, MessageKind::Template)
    }
}

/// One message to one buyer, covering one or more invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMessage {
    pub buyer_id: BuyerId,
    pub buyer_name: String,
    pub to: Phone,
    pub send_at: Timestamp,
    /// The buyer's IANA zone, in which `send_at` falls inside business hours.
    pub zone: String,
    pub segment: String,
    pub cadence: String,
    pub items: Vec<PlannedItem>,
    pub message: RenderedMessage,
    /// Alert the buyer's sales rep (large accounts, late steps).
    pub escalate: bool,
    pub sales_rep: Option<String>,
    /// Unique per (buyer, invoice steps): applying the same plan twice
    /// enqueues nothing new.
    pub dedupe_key: String,
    /// The outstanding amount it chases, in home-currency minor units
    /// (unconvertible currencies count as their own minor units): among
    /// messages due at the same time, the largest debt is sent first.
    #[serde(default)]
    pub priority: i64,
}

/// Why an invoice gets no reminder in this plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    Paid,
    Cancelled,
    Disputed,
    SnoozedUntil {
        until: Date,
    },
    Paused,
    BuyerPausedUntil {
        until: Date,
    },
    OptedOut,
    NoConsent,
    NoValidNumber,
    NotYetDue {
        next_step_on: Date,
    },
    CapReached,
    /// The latest due step is already scheduled or sent.
    AlreadyReminded {
        step: u32,
        status: OutboxStatus,
    },
    /// The cadence or template configured for it does not exist.
    ConfigError {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub invoice_id: InvoiceId,
    pub invoice_number: String,
    pub buyer_id: BuyerId,
    #[serde(flatten)]
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub now: Timestamp,
    pub messages: Vec<PlannedMessage>,
    pub skipped: Vec<Skipped>,
    pub not_loaded_not_yet_due: u64,
}

/// Plans reminders. Pure and deterministic: the same inputs give the same plan.
///
/// Messages are sorted by send time then buyer id; items inside a message
/// most overdue first (due date, then invoice id); skipped invoices by buyer
/// id then invoice id. Every invoice of the snapshot appears exactly once,
/// in a message or in `skipped`.
pub fn plan(snapshot: &Snapshot, config: &PlannerConfig, now: Timestamp) -> Plan {
    engine::run(snapshot, config, now)
}
