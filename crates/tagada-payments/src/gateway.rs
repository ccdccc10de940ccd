//! What the payment gateways tell us, in one shape for both: the webhook
//! parsers and the link pollers turn Razorpay's and Stripe's payloads into
//! [`GatewayEvent`]s, and the application layer acts on those alone.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tagada_core::Money;

/// A payment gateway tagada creates links with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gateway {
    Razorpay,
    Stripe,
}

impl Gateway {
    pub fn as_str(self) -> &'static str {
        match self {
            Gateway::Razorpay => "razorpay",
            Gateway::Stripe => "stripe",
        }
    }
    pub fn parse(s: &str) -> Option<Gateway> {
        match s.trim().to_ascii_lowercase().as_str() {
            "razorpay" => Some(Gateway::Razorpay),
            "stripe" => Some(Gateway::Stripe),
            _ => None,
        }
    }
}

impl std::fmt::Display for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One webhook delivery (or one finding of a poll), verified and parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayEvent {
    pub gateway: Gateway,
    /// The delivery's unique id: Razorpay's `X-Razorpay-Event-Id` header
    /// (the same on every retry), Stripe's `evt_...` id. A poll makes up
    /// `poll:<payment id>`.
    pub event_id: String,
    /// The event type as the gateway names it (`payment_link.paid`,
    /// `checkout.session.completed`...).
    pub event_type: String,
    /// When the gateway says the event happened.
    pub occurred_at: Timestamp,
    pub kind: GatewayEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GatewayEventKind {
    /// Money was captured: record it.
    Paid(GatewayPayment),
    /// An attempt failed; the invoice does not change (a later capture may
    /// follow).
    Failed {
        payment_id: Option<String>,
        link: LinkRef,
        amount: Option<Money>,
        reason: String,
    },
    /// The link can no longer be paid.
    LinkClosed { link: LinkRef, status: LinkStatus },
    /// A known event that changes nothing (a delayed method still pending,
    /// an event type tagada does not act on). Kept, not applied.
    Ignored { reason: String },
}

/// How an event points back at the link tagada created, as far as the
/// payload tells. Any of the fields may be missing (a bare
/// `payment.captured` carries only the order id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRef {
    /// `plink_...` (Razorpay) or `cs_...` (Stripe Checkout Session).
    pub link_id: Option<String>,
    /// Razorpay's `order_...` of the link (payments carry it).
    pub order_id: Option<String>,
    /// Razorpay `reference_id` / Stripe `client_reference_id`: what
    /// tagada set when creating the link.
    pub reference_id: Option<String>,
    /// The invoice number from the link's `notes` / `metadata`
    /// (`invoice_number`), when present.
    pub invoice_number: Option<String>,
}

/// A captured payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayPayment {
    /// `pay_...` (Razorpay) or the PaymentIntent `pi_...` (Stripe; the
    /// session id when a session has no PaymentIntent). Unique per gateway:
    /// the same payment reported twice is recorded once.
    pub payment_id: String,
    pub amount: Money,
    pub link: LinkRef,
    /// `upi`, `card`, `netbanking`... as the gateway says.
    pub method: Option<String>,
    pub paid_at: Timestamp,
    /// The link's total paid so far, when the payload carries it.
    pub link_amount_paid: Option<Money>,
}

/// A link's state at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Open: can be paid (Razorpay `created` or the undocumented `active`,
    /// Stripe session `open`).
    Open,
    PartiallyPaid,
    Paid,
    Expired,
    Cancelled,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Open => "open",
            LinkStatus::PartiallyPaid => "partially_paid",
            LinkStatus::Paid => "paid",
            LinkStatus::Expired => "expired",
            LinkStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<LinkStatus> {
        Some(match s {
            "open" => LinkStatus::Open,
            "partially_paid" => LinkStatus::PartiallyPaid,
            "paid" => LinkStatus::Paid,
            "expired" => LinkStatus::Expired,
            "cancelled" => LinkStatus::Cancelled,
            _ => return None,
        })
    }
    /// Whether the buyer can still pay through it.
    pub fn is_open(self) -> bool {
        matches!(self, LinkStatus::Open | LinkStatus::PartiallyPaid)
    }
}

/// A webhook whose signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header missing")]
    Missing,
    #[error("signature header malformed: {0}")]
    Malformed(String),
    #[error("signature does not match the body")]
    Mismatch,
    /// Stripe: the signed timestamp is outside the tolerance.
    #[error(
        "signature timestamp {age_secs} s away from now, over the {tolerance_secs} s tolerance"
    )]
    Stale { age_secs: i64, tolerance_secs: i64 },
}

/// A verified body that is not a payload we understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{gateway} webhook: {message}")]
pub struct ParseError {
    pub gateway: Gateway,
    pub message: String,
}

/// A link as the gateway holds it (create, fetch, poll).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLink {
    pub gateway: Gateway,
    /// `plink_...` / `cs_...`.
    pub id: String,
    /// Where the buyer pays (`short_url` / session `url`).
    pub url: String,
    pub amount: Money,
    pub amount_paid: Money,
    pub status: LinkStatus,
    pub reference_id: Option<String>,
    pub order_id: Option<String>,
    pub expires_at: Option<Timestamp>,
    /// The captured payments the gateway lists for it (the poll's safety
    /// net records those a missed webhook did not).
    pub payments: Vec<GatewayPayment>,
}

/// Why a gateway call failed, classified for the caller.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Our credentials were refused (401): nothing will work until fixed.
    #[error("{gateway} refused the credentials: {message}")]
    Unauthorized { gateway: Gateway, message: String },
    /// The gateway refused the request itself (400/404...): do not retry
    /// as is. `code` is the gateway's error code (`BAD_REQUEST_ERROR`,
    /// `parameter_missing`...).
    #[error("{gateway} refused the request ({code}): {message}")]
    Rejected {
        gateway: Gateway,
        status: u16,
        code: String,
        message: String,
        /// The parameter named by the error, if any.
        field: Option<String>,
    },
    /// 429 / 5xx / network: worth trying again later.
    #[error("{gateway} unavailable: {message}")]
    Transient { gateway: Gateway, message: String },
    /// A 2xx answer we could not read.
    #[error("{gateway} answered something unreadable: {message}")]
    Malformed { gateway: Gateway, message: String },
}
