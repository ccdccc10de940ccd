//! Records that cross the store boundary: inputs (`New*`, `*Patch`,
//! filters) and outputs that are not plain domain types.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tagada_core::ledger::{
    Buyer, Consent, Invoice, InvoiceStatus, NoteKind, Payment, PaymentMethod,
};
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::planner::RenderedMessage;
use tagada_core::segment::TodayRange;
use tagada_core::{BuyerId, CountryCode, InvoiceId, Money, OutboxId, Phone};

/// A buyer as a source describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBuyer {
    pub external_key: Option<String>,
    pub name: String,
    pub company: Option<String>,
    pub whatsapp: Option<Phone>,
    pub phone_raw: Option<String>,
    pub email: Option<String>,
    pub country: Option<CountryCode>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
    pub sales_rep: Option<String>,
    pub consent: Option<Consent>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertOutcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerFilter {
    /// Case-insensitive substring of name or company.
    pub search: Option<String>,
    pub sales_rep: Option<String>,
    pub opted_out: Option<bool>,
    pub limit: Option<u32>,
}

/// Changes to a buyer; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerPatch {
    pub paused: Option<bool>,
    /// `Some(None)` clears the pause date.
    pub paused_until: Option<Option<Date>>,
    pub opted_out: Option<bool>,
    pub sales_rep: Option<Option<String>>,
    pub cadence_override: Option<Option<String>>,
    pub whatsapp: Option<Option<Phone>>,
    pub wa_id: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub consent: Option<Option<Consent>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFilter {
    pub buyer: Option<BuyerId>,
    pub statuses: Vec<InvoiceStatus>,
    /// Only invoices with `due_date < overdue_on` and still open.
    pub overdue_on: Option<Date>,
    pub search: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePatch {
    pub paused: Option<bool>,
    pub cadence_override: Option<Option<String>>,
}

/// An invoice row from an import or a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvoice {
    pub number: String,
    pub buyer_id: BuyerId,
    pub order_date: Option<Date>,
    pub invoice_date: Date,
    pub due_date: Date,
    pub credit_days: Option<i32>,
    pub amount: Money,
    pub amount_paid: Money,
    pub status: InvoiceStatus,
    /// Where it came from (`import:tally.csv`, `cli`, `lead:indiamart:123`).
    pub source: String,
    /// Hash of the source row; equal hash on re-import means "no change".
    pub source_hash: String,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InvoiceUpsert {
    Created { id: InvoiceId },
    Updated { id: InvoiceId },
    Unchanged { id: InvoiceId },
    Rejected { reason: String },
}

/// A source row that could not be used, kept with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub source_file: String,
    /// 1-based line in the file (header is line 1 for CSV).
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    /// The row as read, fields joined for the rejects CSV.
    pub raw: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPayment {
    /// Invoice number, when the payer named one.
    pub invoice_number: Option<String>,
    pub invoice_id: Option<InvoiceId>,
    pub buyer_id: Option<BuyerId>,
    pub amount: Money,
    pub received_at: Timestamp,
    pub method: PaymentMethod,
    /// Gateway payment id / UTR / cheque number. Unique per method when set:
    /// recording the same reference twice returns the first payment.
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOutcome {
    pub payment: Payment,
    pub invoice: Option<Invoice>,
    /// Outbox messages cancelled because of this payment.
    pub cancelled_messages: u32,
    /// True when this reference had already been recorded (nothing changed).
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNote {
    pub buyer_id: BuyerId,
    pub invoice_id: Option<InvoiceId>,
    pub at: Timestamp,
    pub kind: NoteKind,
    pub author: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotScope {
    /// Load in full only open invoices with `due_date <= horizon`; `None` loads all.
    pub horizon: Option<Date>,
    /// Sum those buyers' other invoices dated on or after this (payment
    /// history) into [`Snapshot::history`](tagada_core::planner::Snapshot).
    pub history_since: Date,
    /// The local dates the plan's buyers can be on: the history's window
    /// classes hold for each of them.
    pub today: TodayRange,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    pub messages_enqueued: u32,
    pub reminders_created: u32,
    /// Messages of the plan that were already enqueued by an earlier apply.
    pub already_enqueued: u32,
}

/// Proof of holding a claim on an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseToken(pub i64);

/// A message claimed for sending, with the current state of its buyer and
/// invoices (read in the claim transaction) for the send-time re-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedMessage {
    pub id: OutboxId,
    pub lease: LeaseToken,
    /// 1 for the first try.
    pub attempt: u32,
    pub buyer: Buyer,
    pub invoices: Vec<Invoice>,
    pub to: Phone,
    pub message: RenderedMessage,
    pub escalate: bool,
    pub send_at: Timestamp,
}

/// What happened when the dispatcher tried a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Accepted by the channel (`provider_id`: the channel's message id).
    Sent { provider_id: Option<String> },
    /// Not accepted; try again at `retry_at`.
    Retry { error: String, retry_at: Timestamp },
    /// Permanent failure, or retries exhausted.
    Dead { error: String },
    /// Outcome unknown; wait for a status webhook or a person.
    NeedsReview { error: String },
    /// No longer wanted (found paid / opted out at send time).
    Cancelled { reason: String },
}

/// What completing a message with an [`AttemptOutcome`] writes to its row
/// (one rule for both backends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The row's status afterwards.
    pub status: tagada_core::outbox::OutboxStatus,
    /// Replaces the provider id when `Some`.
    pub provider_id: Option<String>,
    /// The row's `last_error` afterwards (kept as it was when sent).
    pub error: Option<String>,
    /// Replaces `not_before` when `Some` (a retry's time).
    pub not_before: Option<Timestamp>,
    /// Accepted by the channel: `sent_at` is set and delivery starts at
    /// `accepted`.
    pub sent: bool,
    /// Back to `pending`: no worker owns it any more.
    pub clear_worker: bool,
}

impl Completion {
    pub fn of(outcome: &AttemptOutcome) -> Completion {
        use tagada_core::outbox::OutboxStatus as S;
        let (status, provider_id, error, not_before) = match outcome {
            AttemptOutcome::Sent { provider_id } => (S::Sent, provider_id.clone(), None, None),
            AttemptOutcome::Retry { error, retry_at } => {
                (S::Pending, None, Some(error.clone()), Some(*retry_at))
            }
            AttemptOutcome::Dead { error } => (S::Dead, None, Some(error.clone()), None),
            AttemptOutcome::NeedsReview { error } => {
                (S::NeedsReview, None, Some(error.clone()), None)
            }
            AttemptOutcome::Cancelled { reason } => {
                (S::Cancelled, None, Some(reason.clone()), None)
            }
        };
        debug_assert!(S::InFlight.can_move_to(status));
        Completion {
            status,
            provider_id,
            error,
            not_before,
            sent: status == S::Sent,
            clear_worker: status == S::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: OutboxId,
    pub buyer_id: BuyerId,
    pub to: Phone,
    pub status: OutboxStatus,
    pub delivery: Option<DeliveryStatus>,
    pub send_at: Timestamp,
    pub not_before: Timestamp,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub message: RenderedMessage,
    pub invoice_ids: Vec<InvoiceId>,
    pub escalate: bool,
    pub dedupe_key: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxFilter {
    pub statuses: Vec<OutboxStatus>,
    pub buyer: Option<BuyerId>,
    pub invoice: Option<InvoiceId>,
    /// Messages created at or after this instant.
    pub since: Option<Timestamp>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub outbox_id: OutboxId,
    pub attempt: u32,
    pub at: Timestamp,
    pub worker: String,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineSubject {
    Invoice(InvoiceId),
    Buyer(BuyerId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    /// `imported`, `note`, `reminder_planned`, `attempt`, `delivery`, `payment`, `status`...
    pub kind: String,
    pub invoice_id: Option<InvoiceId>,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyTotals {
    pub invoices_open: u64,
    pub outstanding: i64,
    pub overdue: i64,
    pub collected: i64,
    pub invoices_paid: u64,
}

/// Totals per currency code (minor units).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionSummary {
    pub by_currency: Vec<(tagada_core::Currency, CurrencyTotals)>,
    pub messages_sent: u64,
    pub messages_pending: u64,
}

/// What a reminder was, for the metrics: its cadence step and the segment
/// its buyer was in (unknown for reminders planned before they were kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderLabel {
    pub outbox_id: OutboxId,
    pub invoice_id: InvoiceId,
    pub step_name: Option<String>,
    pub segment: Option<String>,
}

/// An invoice as the collection metrics read it: only the columns they use
/// ([`crate::ReportStore::report_invoices`]), so that reading a large ledger
/// moves as little as it can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInvoice {
    pub id: InvoiceId,
    pub buyer_id: BuyerId,
    pub number: String,
    pub amount: Money,
    pub invoice_date: Date,
    pub due_date: Date,
    pub status: InvoiceStatus,
    pub paid_at: Option<Timestamp>,
}

/// An outbox message as the collection metrics read it
/// ([`crate::ReportStore::report_messages`]): no rendered text, parameters
/// or phone number, only what the funnel counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMessage {
    pub id: OutboxId,
    pub buyer_id: BuyerId,
    pub status: OutboxStatus,
    pub delivery: Option<DeliveryStatus>,
    /// The rendered message's template key.
    pub template_key: String,
    pub send_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// The invoices it carries, ascending.
    pub invoice_ids: Vec<InvoiceId>,
}

/// What monitoring reads ([`crate::ReportStore::ops_counts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsCounts {
    /// Outbox rows by status.
    pub outbox: Vec<(String, u64)>,
    /// Send attempts by outcome (`sent`, `retry`, `dead`, `needs_review`,
    /// `cancelled`) and error class (the error's text before its first
    /// `:`: `rate limited`, `transient failure`, `rejected for this
    /// recipient`...; empty for a send that went through).
    pub attempts: Vec<(String, String, u64)>,
    /// Webhook events kept, by source and outcome.
    pub webhook_events: Vec<(String, String, u64)>,
    /// Over the last 1,000 delivery statuses: the average and the largest
    /// time from the channel's timestamp to its arrival, in microseconds.
    pub webhook_lag_micros: Option<(i64, i64)>,
    /// Lead sync runs by source and outcome, and each source's last run.
    pub sync_runs: Vec<(String, String, u64)>,
    pub sync_last_run: Vec<(String, Timestamp)>,
    /// Payments by method.
    pub payments: Vec<(String, u64)>,
    /// Inbox entries waiting for a person.
    pub inbox_open: u64,
}
