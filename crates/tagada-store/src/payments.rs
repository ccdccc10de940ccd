//! Payment links tagada created at the gateways, the pay-page tokens of
//! invoices, and the gateways' webhook events.
//!
//! Gateways and link statuses are kept as the strings `tagada-payments`
//! names them (`razorpay`, `stripe`; `open`, `partially_paid`, `paid`,
//! `expired`, `cancelled`): the store keeps them, it does not interpret them
//! beyond "open" ([`OPEN_LINK_STATUSES`]).

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tagada_core::ledger::Invoice;
use tagada_core::{InvoiceId, Money};

use crate::{Result, WebhookOutcome};

/// Link statuses a buyer can still pay through.
pub const OPEN_LINK_STATUSES: [&str; 2] = ["open", "partially_paid"];

/// A link just created at a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPaymentLink {
    pub invoice_id: InvoiceId,
    pub gateway: String,
    /// `plink_...` / `cs_...`.
    pub remote_id: String,
    /// What tagada sent as the link's reference (Razorpay keeps it unique
    /// forever, so a new amount gets a new suffix).
    pub reference_id: String,
    pub url: String,
    pub amount: Money,
    pub status: String,
    pub order_id: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLink {
    pub id: i64,
    pub invoice_id: InvoiceId,
    pub gateway: String,
    pub remote_id: String,
    pub reference_id: String,
    pub url: String,
    pub amount: Money,
    pub amount_paid: Money,
    pub status: String,
    pub order_id: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl PaymentLink {
    /// Whether a buyer can still pay through it at `now` (open, and not
    /// past its expiry).
    pub fn is_open_at(&self, now: Timestamp) -> bool {
        OPEN_LINK_STATUSES.contains(&self.status.as_str())
            && self.expires_at.is_none_or(|t| t > now)
    }
}

/// What a gateway told us about a link since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLinkUpdate {
    pub status: Option<String>,
    /// The link's total paid, as the gateway says (never moves back).
    pub amount_paid: Option<Money>,
    pub order_id: Option<String>,
}

/// Which links to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentLinkFilter {
    pub invoice: Option<InvoiceId>,
    pub gateway: Option<String>,
    /// Only links whose status is open ([`OPEN_LINK_STATUSES`]).
    pub open_only: bool,
    pub limit: Option<u32>,
}

/// How a gateway event points back at a link: the first key that finds a
/// stored link wins, in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentLinkLookup {
    pub remote_id: Option<String>,
    pub order_id: Option<String>,
    pub reference_id: Option<String>,
}

#[async_trait]
pub trait PaymentLinkStore: Send + Sync {
    /// Stores a link, or refreshes the one with the same `(gateway,
    /// remote_id)` (its url, status and order id).
    async fn save_payment_link(&self, link: &NewPaymentLink, now: Timestamp)
    -> Result<PaymentLink>;
    /// Newest first.
    async fn list_payment_links(&self, filter: &PaymentLinkFilter) -> Result<Vec<PaymentLink>>;
    async fn find_payment_link(
        &self,
        gateway: &str,
        lookup: &PaymentLinkLookup,
    ) -> Result<Option<PaymentLink>>;
    /// Applies what the gateway said; `amount_paid` only moves forward.
    async fn update_payment_link(
        &self,
        id: i64,
        update: &PaymentLinkUpdate,
        now: Timestamp,
    ) -> Result<PaymentLink>;
    /// How many links the invoice ever had at this gateway (the next
    /// reference suffix).
    async fn count_payment_links(&self, invoice: InvoiceId, gateway: &str) -> Result<u32>;
    /// The invoice whose pay page this token opens.
    async fn find_invoice_by_pay_token(&self, token: &str) -> Result<Option<Invoice>>;
    /// The pay token of each of `invoices` that exists, issuing one (128
    /// random bits, 32 hex digits) to each that has none yet, in one
    /// transaction. An invoice gets its token the first time a message or a
    /// page needs its link, not when it is stored, so a large import of
    /// settled history stores and indexes no tokens. Issued tokens never
    /// change. Order of the result: by invoice id.
    async fn pay_tokens(&self, invoices: &[InvoiceId]) -> Result<Vec<(InvoiceId, String)>>;
    /// Whether a gateway event was already handled (`source` = the gateway).
    async fn gateway_event_seen(&self, source: &str, event_key: &str) -> Result<bool>;
    /// Keeps a handled gateway event once; false when its key is known.
    async fn record_gateway_event(
        &self,
        source: &str,
        event_key: &str,
        raw: &str,
        outcome: WebhookOutcome,
        at: Timestamp,
    ) -> Result<bool>;
}
