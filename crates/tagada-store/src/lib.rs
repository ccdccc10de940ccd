//! `tagada-store` owns the storage contract: traits sized to tagada's use
//! cases, the records that cross them, [`StoreError`], and the
//! [`conformance`] suite that every backend (SQLite, PostgreSQL) must pass.
//!
//! Every method is atomic inside the implementation: no transaction leaks
//! out. Backends live in their own crates and never depend on each other.

mod auth;
pub mod conformance;
mod history;
mod inbox;
pub mod leads;
mod ledger_sync;
mod payments;
mod records;
mod summary;
mod templates;
mod webhooks;

pub use auth::*;
pub use history::*;
pub use inbox::*;
pub use leads::*;
pub use ledger_sync::*;
pub use payments::*;
pub use records::*;
pub use summary::*;
pub use templates::*;
pub use webhooks::*;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use tagada_core::ledger::{Buyer, Invoice, InvoiceEvent, Note, Payment};
use tagada_core::planner::{Plan, Snapshot};
use tagada_core::{BuyerId, InvoiceId, OutboxId};

/// Errors every backend maps its failures into.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} `{key}` not found")]
    NotFound { what: &'static str, key: String },
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's lease on an outbox row expired or was taken over.
    #[error("lease on outbox message {0} lost")]
    LeaseLost(OutboxId),
    #[error("invalid: {0}")]
    Invalid(String),
    /// A stored value that no longer parses (corruption or a bad migration).
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Backend(Box::new(e))
    }
    pub fn not_found(what: &'static str, key: impl ToString) -> StoreError {
        StoreError::NotFound {
            what,
            key: key.to_string(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Buyers, invoices, payments and notes.
#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Creates a buyer, or updates the one with the same identity (external
    /// key, else WhatsApp number, else case-insensitive name). Returns its id
    /// and whether anything changed.
    async fn upsert_buyer(&self, buyer: &NewBuyer) -> Result<(BuyerId, UpsertOutcome)>;
    /// [`LedgerStore::upsert_buyer`] for many buyers, in order. Backends
    /// override it to use one transaction (imports create thousands).
    async fn upsert_buyers(&self, buyers: &[NewBuyer]) -> Result<Vec<(BuyerId, UpsertOutcome)>> {
        let mut out = Vec::with_capacity(buyers.len());
        for b in buyers {
            out.push(self.upsert_buyer(b).await?);
        }
        Ok(out)
    }
    async fn get_buyer(&self, id: BuyerId) -> Result<Buyer>;
    /// The buyers with these ids, in no particular order; unknown ids are
    /// left out.
    async fn get_buyers(&self, ids: &[BuyerId]) -> Result<Vec<Buyer>>;
    /// Finds a buyer by `B12` id, external key, E.164 number or exact name (case-insensitive).
    async fn find_buyer(&self, key: &str) -> Result<Option<Buyer>>;
    async fn list_buyers(&self, filter: &BuyerFilter) -> Result<Vec<Buyer>>;
    async fn update_buyer(&self, id: BuyerId, patch: &BuyerPatch, now: Timestamp) -> Result<Buyer>;

    async fn get_invoice(&self, id: InvoiceId) -> Result<Invoice>;
    /// The invoices with these ids, in no particular order; unknown ids are
    /// left out.
    async fn get_invoices(&self, ids: &[InvoiceId]) -> Result<Vec<Invoice>>;
    async fn find_invoice(&self, number: &str) -> Result<Option<Invoice>>;
    async fn list_invoices(&self, filter: &InvoiceFilter) -> Result<Vec<Invoice>>;
    /// Applies a state-machine event (core's `Invoice::apply`), saves the
    /// invoice, records `note` if given, and — when the invoice stops being
    /// remindable (paid, cancelled, disputed, snoozed, paused) — cancels every
    /// pending or failed outbox message that carries it, all in one transaction.
    async fn apply_invoice_event(
        &self,
        id: InvoiceId,
        event: &InvoiceEvent,
        note: Option<&NewNote>,
        now: Timestamp,
    ) -> Result<Invoice>;
    /// Pause / resume / cadence override on one invoice (cancels pending messages on pause).
    async fn update_invoice_flags(
        &self,
        id: InvoiceId,
        patch: &InvoicePatch,
        now: Timestamp,
    ) -> Result<Invoice>;

    /// Records a payment; when it names an invoice, moves the invoice on
    /// (partially paid / paid) and cancels its pending messages in the same
    /// transaction. Unknown invoice, other currency or overpayment: the
    /// payment is stored with a `flag`, never dropped.
    async fn record_payment(&self, payment: &NewPayment, now: Timestamp) -> Result<PaymentOutcome>;
    async fn list_payments(&self, invoice: Option<InvoiceId>) -> Result<Vec<Payment>>;

    async fn add_note(&self, note: &NewNote) -> Result<Note>;
    async fn list_notes(&self, buyer: BuyerId) -> Result<Vec<Note>>;
}

/// File imports: invoice upserts keyed by invoice number, and rejected rows.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Upserts a batch of invoices in one transaction. A row whose
    /// `source_hash` equals the stored one is `Unchanged` (so re-importing a
    /// file changes nothing, even after tagada moved the invoice on). A number
    /// that belongs to another buyer is `Rejected` with the reason.
    async fn upsert_invoices(
        &self,
        rows: &[NewInvoice],
        now: Timestamp,
    ) -> Result<Vec<InvoiceUpsert>>;
    async fn record_rejects(&self, rejects: &[RejectedRow]) -> Result<()>;
    async fn list_rejects(&self, source_file: Option<&str>) -> Result<Vec<RejectedRow>>;

    /// Readies the ledger for an import of about `incoming` invoices. When
    /// the invoices already stored are at most a quarter of those incoming, the
    /// backend may set aside the secondary invoice indexes (those that only
    /// serve reads, and the pay-token index whose random tokens never
    /// collide in practice) so that the rows go in without them; returns
    /// whether it did. Everything else stays enforced (numbers unique,
    /// buyers existing). Readers see the same data throughout, only slower.
    async fn begin_bulk_import(&self, incoming: u64) -> Result<bool>;
    /// Builds again, in one pass each, whatever [`ImportStore::begin_bulk_import`]
    /// set aside. Idempotent and safe to call without a begin; migrating
    /// the store does it too, so a process that died mid-import leaves no
    /// index missing after the next start.
    async fn end_bulk_import(&self) -> Result<()>;
}

/// Planning: the snapshot in, the plan out.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Loads what the planner needs. With `scope.horizon`, only invoices
    /// due by then are loaded in full (cost grows with the number due, not
    /// the number open); the rest are counted.
    async fn load_snapshot(&self, scope: &SnapshotScope) -> Result<Snapshot>;
    /// Writes reminders and outbox rows in one transaction. Reminder keys
    /// `(invoice, step, cycle)` and the message `dedupe_key` are unique:
    /// applying the same plan twice enqueues nothing new.
    async fn apply_plan(&self, plan: &Plan, now: Timestamp) -> Result<ApplyOutcome>;
}

/// The outbox: claim under a lease, send, record, complete.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` messages whose `not_before <= now`, oldest first
    /// (by planned `send_at`, then the largest `priority`: the debt chased),
    /// in one short transaction: status `in_flight`, a fresh lease token,
    /// `lease_until = now + lease`. PostgreSQL uses `FOR UPDATE SKIP LOCKED`.
    /// In-flight rows whose lease expired are reclaimed if their send never
    /// started, and moved to `needs_review` if it did (never resent blindly).
    async fn claim(
        &self,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
        worker: &str,
    ) -> Result<Vec<ClaimedMessage>>;
    /// Marks that the send is about to start (after this, a lost lease means
    /// the outcome is unknown). Fails with `LeaseLost` if the lease is gone.
    async fn mark_sending(&self, id: OutboxId, lease: LeaseToken, now: Timestamp) -> Result<()>;
    /// [`mark_sending`](Self::mark_sending) for several claimed messages at
    /// once: returns those marked; the others' leases are gone (nothing
    /// may be sent for them).
    async fn mark_sending_many(
        &self,
        items: &[(OutboxId, LeaseToken)],
        now: Timestamp,
    ) -> Result<Vec<OutboxId>>;
    /// Records one attempt and moves the message on, only while holding the lease.
    async fn complete(
        &self,
        id: OutboxId,
        lease: LeaseToken,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> Result<()>;
    /// [`complete`](Self::complete) for several messages in one
    /// transaction: one flag per item, false when its lease was lost (or the
    /// row is gone) and nothing was written for it.
    async fn complete_many(
        &self,
        items: &[(OutboxId, LeaseToken, AttemptOutcome)],
        now: Timestamp,
    ) -> Result<Vec<bool>>;
    /// Hands a claimed message back unsent, due again at `not_before`, without
    /// counting an attempt (it was never tried: the messaging limit is full,
    /// or sending halted). Only before `mark_sending`; `LeaseLost` otherwise.
    async fn release(
        &self,
        id: OutboxId,
        lease: LeaseToken,
        not_before: Timestamp,
        reason: &str,
        now: Timestamp,
    ) -> Result<()>;
    /// How many distinct numbers got a template message (a reminder, not a
    /// reply) since `since`: sent, or possibly sent (`needs_review`, or in
    /// flight with its send started).
    async fn count_recipients_since(&self, since: Timestamp) -> Result<u64>;
    /// Whether `to` is among those numbers.
    async fn messaged_since(&self, to: &tagada_core::Phone, since: Timestamp) -> Result<bool>;
    async fn get_message(&self, id: OutboxId) -> Result<OutboxMessage>;
    async fn list_messages(&self, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>>;
    async fn list_attempts(&self, id: OutboxId) -> Result<Vec<Attempt>>;
    /// Counts by status (for `send` summaries and health).
    async fn outbox_counts(&self) -> Result<Vec<(tagada_core::outbox::OutboxStatus, u64)>>;
}

/// Reports over the ledger.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Everything that happened to an invoice or a buyer, oldest first.
    async fn timeline(&self, subject: TimelineSubject) -> Result<Vec<TimelineEntry>>;
    /// Outstanding, overdue and collected amounts per currency.
    async fn collection_summary(&self, today: jiff::civil::Date) -> Result<CollectionSummary>;
    /// Each live or sent reminder's step name and the buyer's segment when
    /// it was planned, per invoice it carries (cancelled ones left out).
    async fn reminder_labels(&self) -> Result<Vec<ReminderLabel>>;
    /// The same, for these outbox messages only.
    async fn reminder_labels_of(&self, outbox: &[OutboxId]) -> Result<Vec<ReminderLabel>>;
    /// Every invoice, with only what the metrics read, by id.
    async fn report_invoices(&self) -> Result<Vec<ReportInvoice>>;
    /// Every outbox message, with only what the metrics read, by id.
    async fn report_messages(&self) -> Result<Vec<ReportMessage>>;
    /// Counters and gauges for monitoring (`/metrics`), each one grouped
    /// query.
    async fn ops_counts(&self) -> Result<OpsCounts>;
}

/// Channel webhooks: message statuses merged into the outbox, inbound
/// messages kept for later. Every event is stored once under its key
/// (`UNIQUE (source, event_key)`): a replayed webhook changes nothing.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// In one transaction: records the event (a known key returns
    /// `Duplicate` and changes nothing); finds the outbox row by the
    /// callback's outbox id, else by `provider_id = wamid` (none: the event
    /// is kept as `unmatched` and `Unmatched` returned, never an error);
    /// merges the status with [`merge_status`] (delivery only moves forward;
    /// an unknown outcome becomes `sent` with the wamid as provider id);
    /// and appends the row's delivery history ([`MessageEvent`]).
    async fn apply_message_status(
        &self,
        update: &StatusUpdate,
        received_at: Timestamp,
    ) -> Result<StatusOutcome> {
        let mut outcomes = self
            .apply_message_statuses(std::slice::from_ref(update), received_at)
            .await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::Invalid("a batch of one status gave no outcome".into()))
    }
    /// [`apply_message_status`](Self::apply_message_status) for every
    /// status of one webhook POST, in order, in one transaction (all or
    /// nothing): one outcome per update. A key repeated within the batch is
    /// a `Duplicate` the second time.
    async fn apply_message_statuses(
        &self,
        updates: &[StatusUpdate],
        received_at: Timestamp,
    ) -> Result<Vec<StatusOutcome>>;
    /// Stores an event that is kept but not applied (a status this version
    /// does not know). False when its key was already recorded.
    async fn record_ignored(&self, event_key: &str, raw: &str, at: Timestamp) -> Result<bool>;
    /// Stored events of `source`, oldest first.
    async fn list_webhook_events(&self, source: &str) -> Result<Vec<WebhookEvent>>;
    /// The statuses applied to one outbox row, in the order applied.
    async fn list_message_events(&self, id: OutboxId) -> Result<Vec<MessageEvent>>;
}

/// What buyers write back, and the replies tagada queues for them.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// In one transaction: records the webhook event (a known key returns
    /// `None` and changes nothing); finds the buyer by E.164 number, else
    /// by stored `wa_id` (none: the entry is kept without a buyer); learns
    /// the buyer's `wa_id` when it was unknown; opens the buyer's 24-hour
    /// window (`last_inbound_at` moves forward only); finds the reminder
    /// answered (the payload's outbox id, else the context's provider id);
    /// and stores the entry, unhandled.
    async fn record_inbound(
        &self,
        message: &NewInbound,
        received_at: Timestamp,
    ) -> Result<Option<InboxEntry>>;
    /// Entries not handled yet (a crash between storing and handling),
    /// oldest first.
    async fn unhandled_inbound(&self, limit: u32) -> Result<Vec<InboxEntry>>;
    /// Records what was done. Handling an entry again overwrites it.
    async fn mark_inbound_handled(
        &self,
        id: i64,
        handling: &InboundHandling,
        now: Timestamp,
    ) -> Result<()>;
    /// Newest first.
    async fn list_inbox(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>>;
    async fn get_inbox_entry(&self, id: i64) -> Result<InboxEntry>;
    /// A person dealt with it.
    async fn resolve_inbox_entry(&self, id: i64, by: &str, now: Timestamp) -> Result<InboxEntry>;
    /// When the buyer last wrote to us (their 24-hour window opens then).
    async fn last_inbound_at(&self, buyer: BuyerId) -> Result<Option<Timestamp>>;
    /// Queues a free-form reply, due now. `None` when its `dedupe_key` is
    /// already queued.
    async fn enqueue_reply(&self, reply: &NewReply, now: Timestamp) -> Result<Option<OutboxId>>;
}

/// Leads from the marketplaces and each source's sync state.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Stores each lead once per `(source, external_id)`, in the same
    /// transaction as what it does to the ledger ([`LEADS_PER_TRANSACTION`]
    /// leads per transaction; module docs of [`leads`]): a new buyer (no consent) or an enriched one (empty fields
    /// filled, differing ones noted, never overwritten), and its notes. One
    /// outcome per lead, in order; a lead repeated in the batch is a
    /// `Duplicate` the second time.
    async fn record_leads(&self, leads: &[NewLead], now: Timestamp) -> Result<Vec<LeadOutcome>>;
    /// Newest first.
    async fn list_leads(&self, filter: &LeadFilter) -> Result<Vec<StoredLead>>;
    /// The source's state (all empty for a source never synced).
    async fn lead_source(&self, source: &str) -> Result<LeadSourceState>;
    /// Books a call to the source's API at `now` if the budget allows one:
    /// no call within `min_interval` of the last, none while blocked or
    /// stopped. Atomic: of two processes asking at once, one is granted.
    async fn reserve_call(
        &self,
        source: &str,
        now: Timestamp,
        min_interval: SignedDuration,
    ) -> Result<CallReservation>;
    async fn update_lead_source(
        &self,
        source: &str,
        patch: &LeadSourcePatch,
        now: Timestamp,
    ) -> Result<LeadSourceState>;
    async fn record_sync_run(&self, run: &NewSyncRun) -> Result<i64>;
    /// Newest first; all sources when `source` is `None`.
    async fn list_sync_runs(&self, source: Option<&str>, limit: u32) -> Result<Vec<SyncRun>>;
}

/// Schema management.
#[async_trait]
pub trait Migrate: Send + Sync {
    /// Applies pending forward-only migrations; returns how many ran.
    async fn migrate(&self) -> Result<u32>;
}

/// The whole store: what the application layer holds.
pub trait Store:
    LedgerStore
    + ImportStore
    + PlanStore
    + OutboxStore
    + ReportStore
    + WebhookStore
    + LeadStore
    + InboxStore
    + PaymentLinkStore
    + AuthStore
    + LedgerSyncStore
    + TemplateStatusStore
    + SummaryStore
    + Migrate
    + std::fmt::Debug
{
}

impl<T> Store for T where
    T: LedgerStore
        + ImportStore
        + PlanStore
        + OutboxStore
        + ReportStore
        + WebhookStore
        + LeadStore
        + InboxStore
        + PaymentLinkStore
        + AuthStore
        + LedgerSyncStore
        + TemplateStatusStore
        + SummaryStore
        + Migrate
        + std::fmt::Debug
{
}
