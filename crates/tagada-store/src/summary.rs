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

/// An invoice row for the summary as both backends read it: id, buyer id,
/// number, amount (minor units), currency, invoice date and due date (ISO
/// text), status, paid at (µs), the buyer's sales rep.
pub type InvoiceInputRow = (
    i64,
    i64,
    String,
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
);

/// A message row for the summary: id, buyer id, status, delivery, template
/// key, send at and sent at (µs), the buyer's sales rep, whether it has a
/// live reminder row, whether an answer points at it.
pub type MessageInputRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<String>,
    bool,
    bool,
);

/// The rows a backend reads for [`SummaryStore::summary_inputs`], decoded
/// here once for both.
#[derive(Debug, Default)]
pub struct SummaryInputRows {
    pub invoices: Vec<InvoiceInputRow>,
    /// (invoice id, received at µs, amount minor, currency).
    pub payments: Vec<(i64, i64, i64, String)>,
    /// (invoice id, the earliest `sent_at` µs of a live reminder carrying it).
    pub first_reminders: Vec<(i64, i64)>,
    pub messages: Vec<MessageInputRow>,
    /// (outbox id, invoice id, invoice status, invoice paid at µs).
    pub links: Vec<(i64, i64, String, Option<i64>)>,
}

impl SummaryInputRows {
    pub fn decode(self) -> crate::Result<SummaryInputs> {
        use std::collections::HashMap;
        use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
        use tagada_core::{BuyerId, Currency, ledger::InvoiceStatus};

        let corrupt =
            |table: &'static str, message: String| crate::StoreError::Corrupt { table, message };
        let ts = |table: &'static str, v: i64| {
            Timestamp::from_microsecond(v).map_err(|e| corrupt(table, e.to_string()))
        };
        let currency = |table: &'static str, code: &str| {
            Currency::from_code(code).map_err(|e| corrupt(table, e.to_string()))
        };
        let date = |s: &str| {
            s.parse::<jiff::civil::Date>()
                .map_err(|e| corrupt("invoices", format!("date `{s}`: {e}")))
        };
        let mut paid: HashMap<i64, Vec<(Timestamp, Money)>> = HashMap::new();
        for (inv, at, amount, code) in self.payments {
            paid.entry(inv).or_default().push((
                ts("payments", at)?,
                Money::from_minor(amount, currency("payments", &code)?),
            ));
        }
        let firsts: HashMap<i64, i64> = self.first_reminders.into_iter().collect();
        let mut out = SummaryInputs::default();
        for (id, buyer_id, number, amount, code, invoice_date, due_date, status, paid_at, rep) in
            self.invoices
        {
            out.invoices.push(SummaryInvoiceInput {
                invoice: ReportInvoice {
                    id: InvoiceId::new(id),
                    buyer_id: BuyerId::new(buyer_id),
                    number,
                    amount: Money::from_minor(amount, currency("invoices", &code)?),
                    invoice_date: date(&invoice_date)?,
                    due_date: date(&due_date)?,
                    status: InvoiceStatus::ALL
                        .into_iter()
                        .find(|s| s.as_str() == status)
                        .ok_or_else(|| corrupt("invoices", format!("status `{status}`")))?,
                    paid_at: paid_at.map(|v| ts("invoices", v)).transpose()?,
                },
                sales_rep: rep,
                payments: paid.remove(&id).unwrap_or_default(),
                first_reminder_at: firsts.get(&id).map(|v| ts("outbox", *v)).transpose()?,
            });
        }
        let mut carried: HashMap<i64, Vec<InvoiceId>> = HashMap::new();
        let mut paid_at: HashMap<i64, Vec<(InvoiceId, Timestamp)>> = HashMap::new();
        for (outbox_id, invoice_id, status, at) in self.links {
            carried
                .entry(outbox_id)
                .or_default()
                .push(InvoiceId::new(invoice_id));
            if let Some(at) = at
                && status != InvoiceStatus::Cancelled.as_str()
            {
                paid_at
                    .entry(outbox_id)
                    .or_default()
                    .push((InvoiceId::new(invoice_id), ts("invoices", at)?));
            }
        }
        for (
            id,
            buyer_id,
            status,
            delivery,
            template_key,
            send_at,
            sent_at,
            rep,
            reminder,
            replied,
        ) in self.messages
        {
            out.messages.push(SummaryMessageInput {
                message: ReportMessage {
                    id: OutboxId::new(id),
                    buyer_id: BuyerId::new(buyer_id),
                    status: OutboxStatus::parse(&status)
                        .ok_or_else(|| corrupt("outbox", format!("status `{status}`")))?,
                    delivery: delivery
                        .map(|d| {
                            DeliveryStatus::parse(&d)
                                .ok_or_else(|| corrupt("outbox", format!("delivery `{d}`")))
                        })
                        .transpose()?,
                    template_key,
                    send_at: ts("outbox", send_at)?,
                    sent_at: sent_at.map(|v| ts("outbox", v)).transpose()?,
                    invoice_ids: carried.remove(&id).unwrap_or_default(),
                },
                sales_rep: rep,
                is_reminder: reminder,
                replied,
                invoices_paid_at: paid_at.remove(&id).unwrap_or_default(),
            });
        }
        Ok(out)
    }
}
