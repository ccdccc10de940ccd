//! The funnel and days to pay, broken down by a dimension.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::funnel::{days_to_pay_of, funnel_of, paid_dates, paid_in};
use super::{DaysToPay, Funnel, InvoiceFacts, MessageFacts, Period, month_key};
use crate::InvoiceId;

/// What to break the figures down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The message's template key.
    Template,
    /// The message's cadence step.
    Step,
    Segment,
    /// The sales rep.
    Rep,
    Country,
    /// `YYYY-MM` of a message's `sent_on`, of an invoice's `paid_on`.
    Month,
}

/// The key of facts that have no value for the dimension.
pub const NONE_KEY: &str = "(none)";

/// The figures of one value of the dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakdownRow {
    /// The dimension's value, or `(none)`.
    pub key: String,
    /// [`super::funnel`] over the messages planned within the period with
    /// this key.
    pub funnel: Funnel,
    /// [`super::days_to_pay`] over the invoices paid within the period with
    /// this key.
    pub days_to_pay: DaysToPay,
}

/// The funnel and days to pay of `period` per value of `dimension`, one row
/// per key found on either side, sorted by key (byte order, so `(none)`
/// comes first).
///
/// Messages are keyed by their own template, step, segment, rep and
/// country, and by the month of `sent_on` (unsent ones under `(none)`).
/// Invoices are keyed by their own segment, rep and country and by the
/// month of `paid_on`; for the template and the step, by the last reminder
/// ([`MessageFacts::is_reminder`]) sent for them on or before `paid_on`
/// (last-touch attribution; ties go to the higher message id), under
/// `(none)` when none was. As with [`super::funnel`], every message given
/// counts in the funnels.
pub fn breakdown(
    invoices: &[InvoiceFacts],
    messages: &[MessageFacts],
    period: Period,
    dimension: Dimension,
) -> Vec<BreakdownRow> {
    type Row<'a> = (Vec<&'a MessageFacts>, Vec<&'a InvoiceFacts>);
    let mut rows: BTreeMap<String, Row<'_>> = BTreeMap::new();
    for m in messages.iter().filter(|m| period.contains(m.planned_on)) {
        let key = message_key(m, dimension);
        rows.entry(key).or_default().0.push(m);
    }

    let mut reminders: HashMap<InvoiceId, Vec<&MessageFacts>> = HashMap::new();
    if matches!(dimension, Dimension::Template | Dimension::Step) {
        for m in messages.iter().filter(|m| m.is_reminder()) {
            for id in &m.invoice_ids {
                reminders.entry(*id).or_default().push(m);
            }
        }
    }
    for inv in invoices.iter().filter(|i| paid_in(i, period)) {
        let key = match dimension {
            Dimension::Template | Dimension::Step => {
                let last_touch = reminders
                    .get(&inv.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.sent_on.map(|d| (d, m.id, *m)))
                    .filter(|(d, _, _)| inv.paid_on.is_some_and(|p| *d <= p))
                    .max_by_key(|(d, id, _)| (*d, *id))
                    .map(|(_, _, m)| m);
                last_touch.map_or_else(|| NONE_KEY.to_string(), |m| message_key(m, dimension))
            }
            Dimension::Segment => or_none(inv.segment.as_deref()),
            Dimension::Rep => or_none(inv.sales_rep.as_deref()),
            Dimension::Country => or_none(inv.country.as_deref()),
            Dimension::Month => inv.paid_on.map_or_else(|| NONE_KEY.to_string(), month_key),
        };
        rows.entry(key).or_default().1.push(inv);
    }

    let paid = paid_dates(invoices);
    rows.into_iter()
        .map(|(key, (msgs, invs))| BreakdownRow {
            key,
            funnel: funnel_of(msgs, &paid),
            days_to_pay: days_to_pay_of(invs),
        })
        .collect()
}

fn message_key(m: &MessageFacts, dimension: Dimension) -> String {
    match dimension {
        Dimension::Template => or_none(Some(&m.template)),
        Dimension::Step => or_none(m.step.as_deref()),
        Dimension::Segment => or_none(m.segment.as_deref()),
        Dimension::Rep => or_none(m.sales_rep.as_deref()),
        Dimension::Country => or_none(m.country.as_deref()),
        Dimension::Month => m.sent_on.map_or_else(|| NONE_KEY.to_string(), month_key),
    }
}

/// The value, or `(none)` when missing or blank.
fn or_none(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => NONE_KEY.to_string(),
    }
}
