//! Collection metrics from the ledger: the store's rows become the facts
//! `tagada_core::metrics` computes from (dates in the seller's zone), for
//! `tagada report`, the JSON API and the dashboard, which all show the same
//! figures.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use serde::Serialize;
use tagada_core::cadence::PlannerConfig;
use tagada_core::metrics::{
    BreakdownRow, CollectionReport, Dimension, DsoTrend, InvoiceFacts, MessageFacts, MetricsError,
    Period, breakdown, dso_trend,
};
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::{BuyerId, InvoiceId};
use tagada_store::{BuyerFilter, InboxFilter, ReportMessage, Store, StoreError};

use crate::auth::Principal;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("{0}")]
    Invalid(String),
}

/// Parses a period: `30d` (the last 30 days to `today`), `month` (this
/// month so far), `last-month`, `2026-11`, `2026-10-01..2026-12-31`, `ytd`
/// (since 1 April, India's financial year, or 1 January with `ytd-jan`).
pub fn parse_period(input: &str, today: Date) -> Result<Period, String> {
    let s = input.trim().to_ascii_lowercase();
    let bad = || {
        format!(
            "period `{input}`: use 30d, month, last-month, YYYY-MM, YYYY-MM-DD..YYYY-MM-DD or ytd"
        )
    };
    if let Some(days) = s.strip_suffix('d')
        && let Ok(n) = days.parse::<u32>()
    {
        return Period::last_days(today, n).map_err(|e| e.to_string());
    }
    match s.as_str() {
        "month" => return Ok(Period::month_to_date(today)),
        "last-month" => {
            let last = today
                .first_of_month()
                .yesterday()
                .map_err(|e| e.to_string())?;
            return Ok(Period::month_of(last));
        }
        "ytd" | "ytd-jan" => {
            let from = if s == "ytd-jan" || today.month() >= 4 {
                jiff::civil::date(today.year(), if s == "ytd-jan" { 1 } else { 4 }, 1)
            } else {
                jiff::civil::date(today.year() - 1, 4, 1)
            };
            return Period::new(from, today).map_err(|e| e.to_string());
        }
        _ => {}
    }
    if let Some((a, b)) = s.split_once("..") {
        let from: Date = a.trim().parse().map_err(|_| bad())?;
        let to: Date = b.trim().parse().map_err(|_| bad())?;
        return Period::new(from, to).map_err(|e| e.to_string());
    }
    if s.len() == 7
        && let Ok(d) = format!("{s}-01").parse::<Date>()
    {
        return Ok(Period::month_of(d));
    }
    Err(bad())
}

/// Parses `--by`: template, step, segment, rep, country or month.
pub fn parse_dimension(input: &str) -> Result<Dimension, String> {
    Ok(match input.trim().to_ascii_lowercase().as_str() {
        "template" => Dimension::Template,
        "step" => Dimension::Step,
        "segment" => Dimension::Segment,
        "rep" | "sales_rep" | "sales-rep" => Dimension::Rep,
        "country" => Dimension::Country,
        "month" => Dimension::Month,
        other => {
            return Err(format!(
                "--by `{other}`: template, step, segment, rep, country or month"
            ));
        }
    })
}

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub collection: CollectionReport,
    /// DSO (countback) at the end of each of the last 6 months.
    pub dso_trend: DsoTrend,
    /// The funnel and days to pay per value of `by`, when asked.
    pub by: Option<Dimension>,
    pub breakdown: Vec<BreakdownRow>,
}

/// The facts of the ledger (or of a sales rep's buyers), dates in the
/// seller's zone.
pub async fn load_facts(
    store: &dyn Store,
    planner: &PlannerConfig,
    who: Option<&Principal>,
) -> Result<(Vec<InvoiceFacts>, Vec<MessageFacts>), ReportError> {
    let zone = planner.home_zone();
    let day = |t: jiff::Timestamp| t.to_zoned_datetime(zone.clone()).date();
    let buyers = store.list_buyers(&BuyerFilter::default()).await?;
    let visible: HashSet<BuyerId> = buyers
        .iter()
        .filter(|b| who.is_none_or(|p| p.sees(b)))
        .map(|b| b.id)
        .collect();
    let buyer_of: HashMap<BuyerId, &tagada_core::ledger::Buyer> =
        buyers.iter().map(|b| (b.id, b)).collect();
    // only the columns the metrics read: on a large ledger, moving rows out
    // of the store is most of the report's cost
    let invoices: Vec<_> = store
        .report_invoices()
        .await?
        .into_iter()
        .filter(|i| visible.contains(&i.buyer_id))
        .collect();
    let mut payments: HashMap<InvoiceId, Vec<(Date, tagada_core::Money)>> = HashMap::new();
    for p in store.list_payments(None).await? {
        if let Some(inv) = p.invoice_id {
            payments
                .entry(inv)
                .or_default()
                .push((day(p.received_at), p.amount));
        }
    }
    let labels: HashMap<tagada_core::OutboxId, (Option<String>, Option<String>)> = store
        .reminder_labels()
        .await?
        .into_iter()
        .map(|l| (l.outbox_id, (l.step_name, l.segment)))
        .collect();
    let mut latest_segment: HashMap<InvoiceId, String> = HashMap::new();
    let replied: HashSet<tagada_core::OutboxId> = store
        .list_inbox(&InboxFilter {
            open_only: false,
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter_map(|e| e.outbox_id)
        .collect();
    let messages_rows = store.report_messages().await?;
    let mut messages = Vec::with_capacity(messages_rows.len());
    let mut first_reminder: HashMap<InvoiceId, Date> = HashMap::new();
    for m in &messages_rows {
        if !visible.contains(&m.buyer_id) || m.status == OutboxStatus::Cancelled {
            continue;
        }
        let buyer = buyer_of.get(&m.buyer_id);
        // a message with a reminder row is a reminder, whether or not its
        // step's name was kept (rows planned before names were)
        let (step, segment) = match labels.get(&m.id) {
            Some((step, segment)) => (
                Some(step.clone().unwrap_or_else(|| "(unknown step)".into())),
                segment.clone(),
            ),
            None => (None, None),
        };
        let sent_on = m.sent_at.map(day);
        let is_reminder = step.is_some();
        if is_reminder && let Some(d) = sent_on {
            for inv in &m.invoice_ids {
                let e = first_reminder.entry(*inv).or_insert(d);
                *e = (*e).min(d);
            }
        }
        if let Some(seg) = &segment {
            for inv in &m.invoice_ids {
                latest_segment.insert(*inv, seg.clone());
            }
        }
        messages.push(message_facts(
            m,
            step,
            segment,
            buyer.and_then(|b| b.sales_rep.clone()),
            buyer.and_then(|b| b.country.as_ref().map(|c| c.as_str().to_string())),
            replied.contains(&m.id),
            &day,
        ));
    }
    let facts = invoices
        .iter()
        .map(|i| {
            let buyer = buyer_of.get(&i.buyer_id);
            InvoiceFacts {
                id: i.id,
                buyer_id: i.buyer_id,
                number: i.number.clone(),
                amount: i.amount,
                invoice_date: i.invoice_date,
                due_date: i.due_date,
                status: i.status,
                payments: payments.remove(&i.id).unwrap_or_default(),
                paid_on: i.paid_at.map(day),
                first_reminder_on: first_reminder.get(&i.id).copied(),
                country: buyer.and_then(|b| b.country.as_ref().map(|c| c.as_str().to_string())),
                sales_rep: buyer.and_then(|b| b.sales_rep.clone()),
                segment: latest_segment.get(&i.id).cloned(),
            }
        })
        .collect();
    Ok((facts, messages))
}

/// A message as the metrics see it (`step` is `None` for a message that is
/// not a reminder), dates in the seller's zone (`day`).
pub(crate) fn message_facts(
    m: &ReportMessage,
    step: Option<String>,
    segment: Option<String>,
    sales_rep: Option<String>,
    country: Option<String>,
    replied: bool,
    day: &dyn Fn(jiff::Timestamp) -> Date,
) -> MessageFacts {
    MessageFacts {
        id: m.id.get(),
        invoice_ids: m.invoice_ids.clone(),
        template: m.template_key.clone(),
        step,
        segment,
        sales_rep,
        country,
        planned_on: day(m.send_at),
        sent_on: m.sent_at.map(day),
        delivered: matches!(
            m.delivery,
            Some(DeliveryStatus::Delivered | DeliveryStatus::Read)
        ),
        // a phone with read receipts off never says "read": unknown
        read: match m.delivery {
            Some(DeliveryStatus::Read) => Some(true),
            Some(DeliveryStatus::Delivered) => None,
            _ => Some(false),
        },
        replied,
    }
}

/// The report for `period`, broken down `by` a dimension when asked.
pub async fn build_report(
    store: &dyn Store,
    planner: &PlannerConfig,
    period: Period,
    by: Option<Dimension>,
    who: Option<&Principal>,
) -> Result<Report, ReportError> {
    let (invoices, messages) = load_facts(store, planner, who).await?;
    report_from_facts(&invoices, &messages, planner, period, by)
}

/// The report for `period` over facts already loaded ([`load_facts`]): a
/// page that shows several reports, or other figures from the same facts,
/// reads the ledger once.
pub fn report_from_facts(
    invoices: &[InvoiceFacts],
    messages: &[MessageFacts],
    planner: &PlannerConfig,
    period: Period,
    by: Option<Dimension>,
) -> Result<Report, ReportError> {
    let collection = CollectionReport::build(invoices, messages, period, &planner.fx)?;
    let trend = dso_trend(invoices, period.to, 6, &planner.fx)?;
    let rows = match by {
        Some(d) => {
            // the funnels are about reminders: replies and receipts are left out
            let reminders: Vec<MessageFacts> = messages
                .iter()
                .filter(|m| m.is_reminder())
                .cloned()
                .collect();
            breakdown(invoices, &reminders, period, d)
        }
        None => Vec::new(),
    };
    Ok(Report {
        collection,
        dso_trend: trend,
        by,
        breakdown: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn periods_people_type() {
        let today = date(2026, 12, 4);
        assert_eq!(
            parse_period("30d", today).unwrap(),
            Period::last_days(today, 30).unwrap()
        );
        assert_eq!(
            parse_period("month", today).unwrap(),
            Period::new(date(2026, 12, 1), today).unwrap()
        );
        assert_eq!(
            parse_period("last-month", today).unwrap(),
            Period::new(date(2026, 11, 1), date(2026, 11, 30)).unwrap()
        );
        assert_eq!(
            parse_period("2026-10", today).unwrap(),
            Period::new(date(2026, 10, 1), date(2026, 10, 31)).unwrap()
        );
        assert_eq!(
            parse_period("2026-10-05..2026-11-04", today).unwrap(),
            Period::new(date(2026, 10, 5), date(2026, 11, 4)).unwrap()
        );
        assert_eq!(
            parse_period("ytd", today).unwrap(),
            Period::new(date(2026, 4, 1), today).unwrap()
        );
        assert_eq!(
            parse_period("ytd", date(2027, 2, 1)).unwrap().from,
            date(2026, 4, 1)
        );
        assert!(parse_period("fortnight", today).is_err());
        assert!(parse_dimension("rep").is_ok());
        assert!(parse_dimension("colour").is_err());
    }
}
