//! Inbound messages: what buyers write back, the records that cross
//! [`InboxStore`](crate::InboxStore), and free-form replies queued in the
//! outbox.
//!
//! An inbound message is stored first (one transaction: its webhook event,
//! its inbox row, the buyer's 24-hour window) and handled after: the
//! application reads what it asks for, acts on the ledger with idempotent
//! calls, queues any reply, and marks the row handled. A row left
//! unhandled by a crash is handled again by the next sweep.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tagada_core::planner::RenderedMessage;
use tagada_core::{BuyerId, InvoiceId, OutboxId, Phone};

/// The prefix of every reply's `dedupe_key`; reminders never use it.
pub const REPLY_KEY_PREFIX: &str = "reply:";

/// The prefix of a reminder a person asked to send now (outside the
/// cadence): queued like a reply, but cancelled like a reminder when its
/// invoice stops being remindable.
pub const MANUAL_KEY_PREFIX: &str = "manual:";

/// Whether `enqueue_reply` takes this key.
pub fn is_unplanned_key(key: &str) -> bool {
    key.starts_with(REPLY_KEY_PREFIX) || key.starts_with(MANUAL_KEY_PREFIX)
}

/// How long a buyer's message keeps the free-form window open.
pub const CONVERSATION_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// A message a buyer sent, as read from the channel's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInbound {
    /// Unique per source (`message:<wamid>`): a replay changes nothing.
    pub event_key: String,
    /// The event as received (JSON).
    pub raw: String,
    /// The channel's id of the inbound message.
    pub message_id: String,
    /// The sender as the channel gives it (WhatsApp: digits, no `+`).
    pub from: String,
    /// `from` parsed to E.164, when it parses.
    pub phone: Option<Phone>,
    /// The sender's WhatsApp id (matched against the buyer's stored `wa_id`).
    pub wa_id: Option<String>,
    /// The name on the sender's WhatsApp profile.
    pub profile_name: Option<String>,
    /// When the buyer sent it.
    pub sent_at: Timestamp,
    /// `text`, `button`, `interactive`, or the channel's type for others.
    pub kind: String,
    /// The text, or the tapped button's title.
    pub text: Option<String>,
    /// A tapped button's payload.
    pub payload: Option<String>,
    /// The id of our message the buyer answered (WhatsApp `context.id`).
    pub context_provider_id: Option<String>,
    /// The outbox row a quick-reply payload names.
    pub context_outbox: Option<OutboxId>,
}

/// What tagada made of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundHandling {
    /// `paid_already`, `send_invoice_copy`, `talk_to_someone`, `stop`,
    /// `promise_to_pay`, `other`, `unknown_sender`.
    pub intent: String,
    /// The date a promise to pay names.
    pub promise_date: Option<Date>,
    /// What was done, in a sentence (shown on the timeline and in the inbox).
    pub action: String,
    /// A person (the buyer's sales rep) must look at it.
    pub needs_attention: bool,
}

/// One inbound message in the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEntry {
    pub id: i64,
    pub message_id: String,
    /// The buyer it came from; `None` when no buyer has this number.
    pub buyer_id: Option<BuyerId>,
    pub buyer_name: Option<String>,
    /// The buyer's sales rep (who is alerted).
    pub sales_rep: Option<String>,
    pub from: String,
    pub profile_name: Option<String>,
    pub sent_at: Timestamp,
    pub received_at: Timestamp,
    pub kind: String,
    pub text: Option<String>,
    pub payload: Option<String>,
    /// The reminder the buyer answered, when known.
    pub outbox_id: Option<OutboxId>,
    /// `None` until handled.
    pub handling: Option<InboundHandling>,
    pub handled_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
}

impl InboxEntry {
    /// Waiting for a person: handled as needing attention and not resolved.
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none() && self.handling.as_ref().is_some_and(|h| h.needs_attention)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFilter {
    pub buyer: Option<BuyerId>,
    /// Only the buyers of this sales rep.
    pub sales_rep: Option<String>,
    /// Only entries waiting for a person.
    pub open_only: bool,
    /// Newest first, at most this many.
    pub limit: Option<u32>,
}

/// A free-form reply to queue in the outbox. It is sent by the dispatcher
/// like a reminder (lease, attempts, never resent blindly) but only while
/// the buyer's 24-hour window is open, and it is not cancelled by an
/// opt-out or a payment (a STOP is confirmed to the buyer who sent it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReply {
    pub buyer_id: BuyerId,
    pub to: Phone,
    pub message: RenderedMessage,
    /// Unique: starts with [`REPLY_KEY_PREFIX`] and names the inbound
    /// message, so handling a message twice queues one reply (or with
    /// [`MANUAL_KEY_PREFIX`] for a reminder sent on request).
    pub dedupe_key: String,
    /// The invoices it is about (its timeline shows the reply).
    pub invoice_ids: Vec<InvoiceId>,
    /// Not before this instant (a receipt waits for the buyer's business
    /// hours); `None`: due now.
    #[serde(default)]
    pub not_before: Option<Timestamp>,
}

/// The timeline line of an inbound message: what the buyer sent, then what
/// tagada did (once handled).
pub fn inbox_timeline_text(
    kind: &str,
    text: Option<&str>,
    payload: Option<&str>,
    action: Option<&str>,
) -> String {
    let said = match (kind, text, payload) {
        ("button" | "interactive", Some(t), _) => format!("tapped “{t}”"),
        ("button" | "interactive", None, Some(p)) => format!("tapped {p}"),
        (_, Some(t), _) => format!("wrote “{t}”"),
        (k, None, _) => format!("sent a {k} message"),
    };
    match action {
        Some(a) => format!("buyer {said} → {a}"),
        None => format!("buyer {said}"),
    }
}
