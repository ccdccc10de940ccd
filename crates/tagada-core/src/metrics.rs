//! Collection metrics: what is owed and how old it is, how fast buyers pay,
//! and how the reminders do. Pure formulas over plain facts the store loads
//! ([`InvoiceFacts`], [`MessageFacts`]); nothing here reads the clock: every
//! figure is "as of" a date or over a [`Period`] the caller passes.
//!
//! # Conventions
//!
//! - **Money** stays in integer minor units. Per-currency figures are exact
//!   sums. Home-currency figures convert each *currency total* once with
//!   [`FxConfig::to_home`] (exact, rounded half away from zero) and add the
//!   results; a currency without a rate is listed as not converted and left
//!   out of the home figure, never dropped silently.
//! - **Ratios** are integers: percentages in [`BasisPoints`] (0.01 %) and day
//!   counts in [`DayTenths`] (0.1 day), each computed from the exact integer
//!   quotient and rounded once, half away from zero.
//! - **Receivables** (AR) are the invoices that exist on the date (invoice
//!   date on or before it) and are not cancelled, disputed ones included (a
//!   dispute does not take an invoice off the books; [`Outstanding`] shows
//!   the disputed part separately). What an invoice owes on a date is its
//!   amount less the payments dated on or before that date, floored at zero,
//!   and zero from the day it was paid in full. So figures at a past date
//!   are what the ledger said then, except for statuses: a dispute or a
//!   cancellation is taken as it is now (the facts carry no date for them).
//! - **Periods** include both ends.
//!
//! [`FxConfig::to_home`]: crate::cadence::FxConfig::to_home

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::ledger::InvoiceStatus;
use crate::{BuyerId, Currency, InvoiceId, Money};

mod breakdown;
mod dso;
mod funnel;
mod numbers;
mod receivables;
mod report;
mod summary;
#[cfg(test)]
mod tests;

pub use breakdown::{BreakdownRow, Dimension, NONE_KEY, breakdown};
pub use dso::{Cei, DsoPoint, DsoTrend, cei, dso_countback, dso_simple, dso_trend};
pub use funnel::{
    DayStats, DaysToPay, Funnel, FunnelCounts, FunnelStage, PAID_WITHIN_DAYS, Stage, days_to_pay,
    funnel,
};
pub use numbers::{BasisPoints, DayTenths};
pub use receivables::{
    AgeBucket, Ageing, AgeingBuckets, Outstanding, Totals, ageing, collected, credit_sales,
    outstanding,
};
pub use report::CollectionReport;
pub use summary::{
    ALL_DAYS, CURVE_DAYS, FetchedSums, InvoiceBasis, SUMMARY_FORMAT, SUMMARY_VALUES, Summary,
    SummaryBasis, SummaryFigures, SummaryKey, SummaryKind, SummaryQuery, SummaryReport, SummaryRow,
    SummarySource, collection_curve, day_number, day_of_number, month_number, rep_key,
};

/// One invoice as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFacts {
    pub id: InvoiceId,
    pub buyer_id: BuyerId,
    pub number: String,
    pub amount: Money,
    pub invoice_date: Date,
    pub due_date: Date,
    pub status: InvoiceStatus,
    /// Payments received against it, (civil date in the seller's zone,
    /// amount), oldest first. Each in the invoice's currency.
    pub payments: Vec<(Date, Money)>,
    /// When it was paid in full (civil date), if it was.
    pub paid_on: Option<Date>,
    /// The first reminder actually sent for it (civil date), if any.
    pub first_reminder_on: Option<Date>,
    pub country: Option<String>,
    pub sales_rep: Option<String>,
    pub segment: Option<String>,
}

impl InvoiceFacts {
    /// The day from which the invoice owes nothing: `paid_on`, or for an
    /// invoice marked paid without that date, its last payment's date (its
    /// invoice date when it has no payment either).
    pub fn settled_on(&self) -> Option<Date> {
        if self.paid_on.is_some() || self.status != InvoiceStatus::Paid {
            return self.paid_on;
        }
        Some(
            self.payments
                .iter()
                .map(|(d, _)| *d)
                .max()
                .unwrap_or(self.invoice_date),
        )
    }

    /// What the invoice still owed at the end of `day`, in minor units of
    /// its currency; `None` when it was no receivable then (dated later, or
    /// cancelled). See the module docs for the rule.
    pub fn owed_on(&self, day: Date) -> Option<i128> {
        if self.status == InvoiceStatus::Cancelled || self.invoice_date > day {
            return None;
        }
        if self.settled_on().is_some_and(|s| s <= day) {
            return Some(0);
        }
        let paid: i128 = self
            .payments
            .iter()
            .filter(|(d, _)| *d <= day)
            .map(|(_, m)| i128::from(m.minor()))
            .sum();
        Some((i128::from(self.amount.minor()) - paid).max(0))
    }

    fn check(&self) -> Result<(), MetricsError> {
        let currency = self.amount.currency();
        match self.payments.iter().find(|(_, m)| m.currency() != currency) {
            Some((_, m)) => Err(MetricsError::CurrencyMismatch {
                invoice: self.id,
                invoice_currency: currency,
                payment_currency: m.currency(),
            }),
            None => Ok(()),
        }
    }
}

/// One outgoing WhatsApp message as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFacts {
    pub id: i64,
    /// The invoices it is about (several for a consolidated statement).
    pub invoice_ids: Vec<InvoiceId>,
    /// Template key, e.g. `overdue_firm`.
    pub template: String,
    /// Cadence step name, e.g. `overdue+7`; `None` for replies and receipts.
    pub step: Option<String>,
    pub segment: Option<String>,
    pub sales_rep: Option<String>,
    pub country: Option<String>,
    /// The day it was planned for.
    pub planned_on: Date,
    pub sent_on: Option<Date>,
    pub delivered: bool,
    /// `Some(true)` read, `Some(false)` known not read, `None` unknown (read
    /// receipts off, or too old to tell).
    pub read: Option<bool>,
    pub replied: bool,
}

impl MessageFacts {
    /// A reminder is a message sent for a cadence step (not a reply or a
    /// receipt).
    pub fn is_reminder(&self) -> bool {
        self.step.is_some()
    }
}

/// A span of civil days, both ends included.
///
/// The fields are public; a period whose `from` is after its `to` is empty:
/// it contains no day and [`Period::days`] is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    pub fn new(from: Date, to: Date) -> Result<Period, MetricsError> {
        if from > to {
            return Err(MetricsError::InvertedPeriod { from, to });
        }
        Ok(Period { from, to })
    }

    /// The `n` days ending with `to`: `last_days(d, 30)` is `d − 29 ..= d`.
    pub fn last_days(to: Date, n: u32) -> Result<Period, MetricsError> {
        let back = i64::from(n.checked_sub(1).ok_or(MetricsError::NoDays)?);
        let from = to
            .checked_sub(jiff::Span::new().days(back))
            .map_err(|_| MetricsError::DateOutOfRange)?;
        Ok(Period { from, to })
    }

    /// The whole calendar month holding `day`.
    pub fn month_of(day: Date) -> Period {
        Period {
            from: day.first_of_month(),
            to: day.last_of_month(),
        }
    }

    /// From the first of `day`'s month to `day`.
    pub fn month_to_date(day: Date) -> Period {
        Period {
            from: day.first_of_month(),
            to: day,
        }
    }

    /// Whether `day` falls within the period.
    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }

    /// Number of days, both ends counted (0 when empty).
    pub fn days(&self) -> i32 {
        if self.from > self.to {
            return 0;
        }
        crate::ledger::days_between(self.from, self.to) + 1
    }
}

/// `YYYY-MM` of a date, the key of the [`Dimension::Month`] breakdown and of
/// trend points.
pub fn month_key(day: Date) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("invoice {invoice} is in {invoice_currency} but has a payment in {payment_currency}")]
    CurrencyMismatch {
        invoice: InvoiceId,
        invoice_currency: Currency,
        payment_currency: Currency,
    },
    #[error("amount out of range")]
    Overflow,
    #[error("the period ends ({to}) before it starts ({from})")]
    InvertedPeriod { from: Date, to: Date },
    #[error("a period needs at least one day")]
    NoDays,
    #[error("date out of range")]
    DateOutOfRange,
    #[error("summary sums were not fetched: {0}")]
    MissingSums(String),
    #[error("unreadable summary basis or key `{0}`")]
    BadBasis(String),
}

/// Refuses facts the formulas cannot add up (a payment in another currency
/// than its invoice).
fn check_all(invoices: &[InvoiceFacts]) -> Result<(), MetricsError> {
    invoices.iter().try_for_each(InvoiceFacts::check)
}
