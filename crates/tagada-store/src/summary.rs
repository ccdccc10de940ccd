//! Summary tables: the collection figures kept as running sums (see
//! `tagada_core::metrics` for what they hold and how a report reads them).
//!
//! The store's part is bookkeeping. Triggers in the database mark every
//! invoice and message whose facts change (`summary_dirty`: the owner and a
//! fresh mark), whatever code path writes them. The application folds the
//! marks in: it reads the owners' facts ([`SummaryStore::summary_inputs`])
//! and the basis each one contributed last ([`SummaryStore::summary_bases`]),
//! and hands the store the new bases with the net change of the sums
//! ([`SummaryStore::summary_apply`]), which the store applies in one
//! transaction, only if no other process replaced those bases meanwhile,
//! clearing each mark only if it was not renewed since it was read.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tagada_core::metrics::{SummaryQuery, SummaryRow};
use tagada_core::{InvoiceId, Money, OutboxId};

use crate::{ReportInvoice, ReportMessage};

/// What a summary basis belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SummaryOwner {
    Invoice(InvoiceId),
    Message(OutboxId),
}

impl SummaryOwner {
    /// The stored (kind, id): kind 0 for invoices, 1 for messages.
    pub fn parts(self) -> (i16, i64) {
        match self {
            SummaryOwner::Invoice(id) => (0, id.get()),
            SummaryOwner::Message(id) => (1, id.get()),
        }
    }

    pub fn from_parts(kind: i16, id: i64) -> Option<SummaryOwner> {
        match kind {
            0 => Some(SummaryOwner::Invoice(InvoiceId::new(id))),
            1 => Some(SummaryOwner::Message(OutboxId::new(id))),
            _ => None,
        }
    }
}

/// An owner whose facts changed since its basis was last folded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryMark {
    pub owner: SummaryOwner,
    /// Renewed by each change: a mark is cleared only if still the same.
    pub mark: i64,
}

/// What the summary was built for: the zone its days are in and the
/// format of its bases. Either differing from what the application uses
/// means a rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryMeta {
    pub zone: String,
    pub format: i32,
    /// Bumped by each apply that changed something.
    pub version: i64,
    /// Owners marked and not yet folded in.
    pub pending: u64,
}

/// One owner's new basis, replacing the one the caller read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryChange {
    pub owner: SummaryOwner,
    /// The mark read with [`SummaryStore::summary_pending`].
    pub mark: i64,
    /// The basis read with [`SummaryStore::summary_bases`] (`None`: none).
    pub old: Option<String>,
    /// `None`: the owner contributes nothing now (gone, cancelled, not a
    /// reminder).
    pub new: Option<String>,
}

/// An invoice's facts for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryInvoiceInput {
    pub invoice: ReportInvoice,
    /// Its buyer's sales rep.
    pub sales_rep: Option<String>,
    /// Payments recorded against it: (received at, amount), oldest first.
    pub payments: Vec<(Timestamp, Money)>,
    /// When the first reminder carrying it was sent: the earliest `sent_at`
    /// of a message that is not cancelled and has a reminder row that is
    /// not cancelled.
    pub first_reminder_at: Option<Timestamp>,
}

/// A message's facts for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryMessageInput {
    pub message: ReportMessage,
    /// Its buyer's sales rep.
    pub sales_rep: Option<String>,
    /// It has a reminder row that is not cancelled.
    pub is_reminder: bool,
    /// The buyer answered it (an inbox row points at it).
    pub replied: bool,
    /// `paid_at` of each invoice it carries that has one and is not
    /// cancelled.
    pub invoices_paid_at: Vec<(InvoiceId, Timestamp)>,
}

/// The facts of a batch of owners; owners that no longer exist are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryInputs {
    pub invoices: Vec<SummaryInvoiceInput>,
    pub messages: Vec<SummaryMessageInput>,
}

#[async_trait::async_trait]
pub trait SummaryStore: Send + Sync {
    /// What the summary was built for; `None` if it never was.
    async fn summary_meta(&self) -> crate::Result<Option<SummaryMeta>>;
    /// Starts the summary over for `zone` and `format`: empties the sums and
    /// bases and marks every invoice and message.
    async fn summary_reset(&self, zone: &str, format: i32) -> crate::Result<()>;
    /// Up to `limit` marks, lowest owner first.
    async fn summary_pending(&self, limit: u32) -> crate::Result<Vec<SummaryMark>>;
    /// The facts of these invoices and messages.
    async fn summary_inputs(
        &self,
        invoices: &[InvoiceId],
        messages: &[OutboxId],
    ) -> crate::Result<SummaryInputs>;
    /// The stored bases of these owners (owners without one are absent).
    async fn summary_bases(
        &self,
        owners: &[SummaryOwner],
    ) -> crate::Result<Vec<(SummaryOwner, String)>>;
    /// In one transaction: replaces each owner's basis, provided it is still
    /// the `old` one; adds `rows` to the sums; clears each mark that is still
    /// the one given; bumps the version. If some basis was replaced by
    /// another process meanwhile, writes nothing and returns `false` (read
    /// again and retry).
    async fn summary_apply(
        &self,
        changes: &[SummaryChange],
        rows: &[SummaryRow],
    ) -> crate::Result<bool>;
    /// The answers to these reads, in order (see [`SummaryQuery`]).
    async fn summary_sums(&self, queries: &[SummaryQuery]) -> crate::Result<Vec<Vec<SummaryRow>>>;
}
