//! How fast invoices get paid, and what the messages do: the reminder
//! funnel from planned to paid.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{BasisPoints, DayTenths, InvoiceFacts, MessageFacts, Period};
use crate::InvoiceId;
use crate::ledger::{InvoiceStatus, days_between};

/// Count, mean and median of a set of day counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    pub count: u64,
    /// Sum / count, rounded to a tenth of a day, half away from zero.
    pub average: Option<DayTenths>,
    /// The middle value; with an even count, the mean of the two middle
    /// values (exact in tenths: a whole or a half day).
    pub median: Option<DayTenths>,
}

impl DayStats {
    /// The same figures from a histogram: how many values there are of each
    /// day count (zero counts ignored).
    pub fn of_histogram(histogram: &std::collections::BTreeMap<i64, u64>) -> DayStats {
        let n: u64 = histogram.values().sum();
        let sum: i128 = histogram
            .iter()
            .map(|(d, c)| i128::from(*d) * i128::from(*c))
            .sum();
        // the value at 0-based rank `k` of the sorted values
        let at = |k: u64| {
            let mut seen = 0u64;
            histogram.iter().find_map(|(d, c)| {
                seen += c;
                (seen > k).then_some(*d)
            })
        };
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => at(n / 2).map(DayTenths::days),
            _ => match (at(n / 2 - 1), at(n / 2)) {
                (Some(a), Some(b)) => DayTenths::ratio(i128::from(a) + i128::from(b), 2),
                _ => None,
            },
        };
        DayStats {
            count: n,
            average: DayTenths::ratio(sum, i128::from(n)),
            median,
        }
    }

    pub fn of(mut days: Vec<i32>) -> DayStats {
        days.sort_unstable();
        let n = days.len();
        let sum: i128 = days.iter().map(|d| i128::from(*d)).sum();
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(DayTenths::days(i64::from(days[n / 2]))),
            _ => DayTenths::ratio(i128::from(days[n / 2 - 1]) + i128::from(days[n / 2]), 2),
        };
        DayStats {
            count: n as u64,
            average: DayTenths::ratio(sum, n as i128),
            median,
        }
    }
}

/// How long invoices paid in full within a period took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaysToPay {
    /// `paid_on − due_date` in days; negative means paid early.
    pub after_due: DayStats,
    /// `paid_on − first_reminder_on`, over the invoices that had a
    /// reminder.
    pub after_first_reminder: DayStats,
}

/// Days to pay (the per-invoice "days beyond terms" of the invoices paid in
/// full with `paid_on` within `period`, cancelled ones excluded): mean and
/// median of `paid_on − due_date`, and of `paid_on − first_reminder_on`
/// where a reminder was sent.
pub fn days_to_pay(invoices: &[InvoiceFacts], period: Period) -> DaysToPay {
    days_to_pay_of(invoices.iter().filter(|i| paid_in(i, period)))
}

pub(super) fn paid_in(inv: &InvoiceFacts, period: Period) -> bool {
    inv.status != InvoiceStatus::Cancelled && inv.paid_on.is_some_and(|d| period.contains(d))
}

/// Days to pay over invoices already chosen (each with `paid_on`).
pub(super) fn days_to_pay_of<'a>(
    invoices: impl IntoIterator<Item = &'a InvoiceFacts>,
) -> DaysToPay {
    let mut after_due = Vec::new();
    let mut after_first_reminder = Vec::new();
    for inv in invoices {
        let Some(paid) = inv.paid_on else { continue };
        after_due.push(days_between(inv.due_date, paid));
        if let Some(first) = inv.first_reminder_on {
            after_first_reminder.push(days_between(first, paid));
        }
    }
    DaysToPay {
        after_due: DayStats::of(after_due),
        after_first_reminder: DayStats::of(after_first_reminder),
    }
}

/// The windows of the "paid within N days" stages.
pub const PAID_WITHIN_DAYS: [i32; 3] = [7, 14, 30];

/// A stage of the reminder funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Planned,
    Sent,
    Delivered,
    Read,
    Replied,
    #[serde(rename = "paid_within_7_days")]
    PaidWithin7Days,
    #[serde(rename = "paid_within_14_days")]
    PaidWithin14Days,
    #[serde(rename = "paid_within_30_days")]
    PaidWithin30Days,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Planned,
        Stage::Sent,
        Stage::Delivered,
        Stage::Read,
        Stage::Replied,
        Stage::PaidWithin7Days,
        Stage::PaidWithin14Days,
        Stage::PaidWithin30Days,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Sent => "sent",
            Stage::Delivered => "delivered",
            Stage::Read => "read",
            Stage::Replied => "replied",
            Stage::PaidWithin7Days => "paid within 7 days",
            Stage::PaidWithin14Days => "paid within 14 days",
            Stage::PaidWithin30Days => "paid within 30 days",
        }
    }
}

/// One stage: how many messages reached it, and the rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelStage {
    pub stage: Stage,
    pub count: u64,
    /// What `of_previous` divides by: the previous stage's count, except
    /// for `read` (the delivered messages whose read state is known) and the
    /// paid stages (sent: a payment does not need a reply, so they branch
    /// from sent).
    pub base: u64,
    /// `count / base`; `None` for `planned` and when `base` is 0.
    pub of_previous: Option<BasisPoints>,
    /// `count / sent`; `None` for `planned` and when nothing was sent.
    pub of_sent: Option<BasisPoints>,
}

/// The reminder funnel of a set of messages. Rates in basis points, each
/// `count × 10 000 / base` rounded half away from zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    /// The stages in order, planned first.
    pub stages: Vec<FunnelStage>,
    /// Delivered messages whose read state is known (read or not).
    pub read_known: u64,
    /// Delivered messages whose read state is unknown.
    pub read_unknown: u64,
    /// `read_unknown / delivered`.
    pub read_unknown_share: Option<BasisPoints>,
}

impl Funnel {
    pub fn stage(&self, stage: Stage) -> Option<&FunnelStage> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// The number of messages that reached `stage`.
    pub fn count(&self, stage: Stage) -> u64 {
        self.stage(stage).map_or(0, |s| s.count)
    }
}

/// The reminder funnel over the messages planned within `period`:
///
/// - **planned**: every such message;
/// - **sent**: with a `sent_on`;
/// - **delivered**: sent and delivered (a message read or replied to was
///   delivered, whatever its delivery flag says);
/// - **read**: delivered and read, counted only where the read state is
///   known; a reply proves the message was read, so a replied message is
///   known and read. The read rate is `read / delivered with a known read
///   state`; the share of delivered messages whose state is unknown is
///   given apart;
/// - **replied**: delivered and replied to;
/// - **paid within 7/14/30 days**: sent, and one of its invoices was paid in
///   full on `sent_on` or up to N days after (`0 ≤ paid_on − sent_on ≤ N`).
///   A message sent less than N days before the facts were loaded has had
///   less time: recent periods read low.
///
/// So planned ≥ sent ≥ delivered ≥ read ≥ replied, and
/// sent ≥ paid within 30 ≥ 14 ≥ 7 days. Every message given counts: pass
/// reminders only ([`MessageFacts::is_reminder`]) for a reminder funnel, as
/// [`super::CollectionReport`] does, since a receipt sent on the day of the
/// payment would count as paid within 0 days.
pub fn funnel(messages: &[MessageFacts], invoices: &[InvoiceFacts], period: Period) -> Funnel {
    let paid = paid_dates(invoices);
    funnel_of(
        messages.iter().filter(|m| period.contains(m.planned_on)),
        &paid,
    )
}

/// `paid_on` of every invoice paid in full and not cancelled.
pub(super) fn paid_dates(invoices: &[InvoiceFacts]) -> HashMap<InvoiceId, Date> {
    invoices
        .iter()
        .filter(|i| i.status != InvoiceStatus::Cancelled)
        .filter_map(|i| i.paid_on.map(|d| (i.id, d)))
        .collect()
}

/// The funnel of messages already chosen.
pub(super) fn funnel_of<'a>(
    messages: impl IntoIterator<Item = &'a MessageFacts>,
    paid: &HashMap<InvoiceId, Date>,
) -> Funnel {
    let mut counts = FunnelCounts::default();
    for m in messages {
        counts.add(&FunnelCounts::of(m, |id| paid.get(&id).copied()));
    }
    Funnel::from_counts(&counts)
}

/// How many messages reached each stage of the funnel: what one message
/// adds ([`FunnelCounts::of`], 0 or 1 each) or a set of them, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelCounts {
    pub planned: u64,
    pub sent: u64,
    pub delivered: u64,
    /// Delivered with a known read state.
    pub read_known: u64,
    pub read: u64,
    pub replied: u64,
    /// Per [`PAID_WITHIN_DAYS`] window.
    pub paid_within: [u64; PAID_WITHIN_DAYS.len()],
}

impl FunnelCounts {
    /// The stages one message reached; `paid_on` gives the day an invoice
    /// it carries was paid in full (`None`: not paid, or cancelled).
    pub fn of(m: &MessageFacts, paid_on: impl Fn(InvoiceId) -> Option<Date>) -> FunnelCounts {
        let mut c = FunnelCounts {
            planned: 1,
            ..FunnelCounts::default()
        };
        let Some(sent_on) = m.sent_on else { return c };
        c.sent = 1;
        // Days from sending to the earliest payment in full of one of its
        // invoices on or after the day it was sent.
        let to_payment = m
            .invoice_ids
            .iter()
            .filter_map(|id| paid_on(*id))
            .map(|d| days_between(sent_on, d))
            .filter(|days| *days >= 0)
            .min();
        if let Some(days) = to_payment {
            for (count, window) in c.paid_within.iter_mut().zip(PAID_WITHIN_DAYS) {
                if days <= window {
                    *count = 1;
                }
            }
        }
        if !(m.delivered || m.read == Some(true) || m.replied) {
            return c;
        }
        c.delivered = 1;
        if m.read.is_some() || m.replied {
            c.read_known = 1;
        }
        if m.read == Some(true) || m.replied {
            c.read = 1;
        }
        if m.replied {
            c.replied = 1;
        }
        c
    }

    pub fn add(&mut self, other: &FunnelCounts) {
        self.planned += other.planned;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.read_known += other.read_known;
        self.read += other.read;
        self.replied += other.replied;
        for (a, b) in self.paid_within.iter_mut().zip(other.paid_within) {
            *a += b;
        }
    }
}

impl Funnel {
    /// The funnel's stages and rates from its counts.
    pub fn from_counts(c: &FunnelCounts) -> Funnel {
        let FunnelCounts {
            planned,
            sent,
            delivered,
            read_known,
            read,
            replied,
            paid_within,
        } = *c;
        let rate = BasisPoints::of_counts;
        let stage = |stage, count, base: u64| FunnelStage {
            stage,
            count,
            base,
            of_previous: rate(count, base),
            of_sent: rate(count, sent),
        };
        let mut stages = vec![
            FunnelStage {
                stage: Stage::Planned,
                count: planned,
                base: planned,
                of_previous: None,
                of_sent: None,
            },
            stage(Stage::Sent, sent, planned),
            stage(Stage::Delivered, delivered, sent),
            stage(Stage::Read, read, read_known),
            stage(Stage::Replied, replied, read),
        ];
        let paid_stages = [
            Stage::PaidWithin7Days,
            Stage::PaidWithin14Days,
            Stage::PaidWithin30Days,
        ];
        for (s, count) in paid_stages.into_iter().zip(paid_within) {
            stages.push(stage(s, count, sent));
        }
        let read_unknown = delivered.saturating_sub(read_known);
        Funnel {
            stages,
            read_known,
            read_unknown,
            read_unknown_share: rate(read_unknown, delivered),
        }
    }
}
