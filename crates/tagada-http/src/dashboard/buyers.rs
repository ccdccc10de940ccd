//! Buyers: the list, and one buyer's page with their segment, the reason
//! behind their cadence, and their payment history.
//!
//! The segment is shown twice: the one the latest reminder was planned
//! under (`ReportStore::reminder_labels`), and the one the rules give today,
//! evaluated here as the planner does (`BuyerStats` over the buyer's
//! invoices, then the first matching `SegmentRule`), with the figures the
//! rules read. The planner reads at most a year of paid history and so do
//! the rules' 12-month figures, so the two agree; the planner's own pick
//! also honours a cadence override on the invoice, shown on its page.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tagada_core::ledger::{Invoice, InvoiceStatus, days_between};
use tagada_core::segment::{BuyerStats, MatchMode, SegmentRule, Segmenter};
use tagada_core::{BuyerId, Currency, InvoiceId, Money};
use tagada_store::{BuyerFilter, InvoiceFilter, TimelineSubject};

use super::{DashError, DashUser, buyer_label, ledger, local_time, render, svg, today};
use crate::HttpState;
use crate::api::visible_buyer;
use crate::charts::{Sparkline, sparkline};

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    search: Option<String>,
}

#[derive(Debug, Serialize)]
struct BuyerRow {
    id: i64,
    name: String,
    country: Option<String>,
    sales_rep: Option<String>,
    open_invoices: u32,
    outstanding: Vec<String>,
    segment: Option<String>,
    opted_out: bool,
    paused: bool,
}

/// The segment of each buyer's latest reminder (highest outbox id).
async fn latest_segments(state: &HttpState) -> Result<HashMap<BuyerId, String>, DashError> {
    let labels = state.store.reminder_labels().await?;
    if labels.is_empty() {
        return Ok(HashMap::new());
    }
    let buyer_of: HashMap<InvoiceId, BuyerId> = state
        .store
        .list_invoices(&InvoiceFilter::default())
        .await?
        .into_iter()
        .map(|i| (i.id, i.buyer_id))
        .collect();
    let mut latest: HashMap<BuyerId, (i64, String)> = HashMap::new();
    for l in labels {
        let (Some(seg), Some(b)) = (l.segment, buyer_of.get(&l.invoice_id)) else {
            continue;
        };
        let e = latest.entry(*b).or_insert((l.outbox_id.get(), seg.clone()));
        if l.outbox_id.get() >= e.0 {
            *e = (l.outbox_id.get(), seg);
        }
    }
    Ok(latest.into_iter().map(|(b, (_, s))| (b, s)).collect())
}

/// Per-currency sums as text, in currency order.
fn sums(amounts: impl IntoIterator<Item = Money>) -> Vec<String> {
    let mut by: std::collections::BTreeMap<&'static str, (Currency, i64)> = Default::default();
    for m in amounts {
        let e = by.entry(m.currency().code()).or_insert((m.currency(), 0));
        e.1 = e.1.saturating_add(m.minor());
    }
    by.into_values()
        .filter(|(_, v)| *v != 0)
        .map(|(c, v)| Money::from_minor(v, c).to_string())
        .collect()
}

/// `GET /buyers?search=`.
pub(crate) async fn list(
    State(state): State<HttpState>,
    user: DashUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, DashError> {
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut buyers = state
        .store
        .list_buyers(&BuyerFilter {
            search: search.map(str::to_string),
            ..Default::default()
        })
        .await?;
    buyers.retain(|b| user.who.sees(b));
    let mut open: HashMap<BuyerId, Vec<Money>> = HashMap::new();
    for inv in state
        .store
        .list_invoices(&InvoiceFilter::default())
        .await?
        .into_iter()
        .filter(|i| i.status.is_open() || i.status == InvoiceStatus::Disputed)
    {
        open.entry(inv.buyer_id)
            .or_default()
            .push(inv.outstanding());
    }
    let segments = latest_segments(&state).await?;
    let rows: Vec<BuyerRow> = buyers
        .iter()
        .map(|b| {
            let owed = open.remove(&b.id).unwrap_or_default();
            BuyerRow {
                id: b.id.get(),
                name: buyer_label(b),
                country: b.country.as_ref().map(|c| c.as_str().to_string()),
                sales_rep: b.sales_rep.clone(),
                open_invoices: owed.len() as u32,
                outstanding: sums(owed),
                segment: segments.get(&b.id).cloned(),
                opted_out: b.opted_out_at.is_some(),
                paused: b.paused,
            }
        })
        .collect();
    render(
        "buyers.html",
        minijinja::context! {
            nav => user.nav("buyers"),
            page => minijinja::context! { rows => Serde(rows), search => search.unwrap_or_default() },
        },
    )
}

#[derive(Debug, Serialize)]
struct InvoiceLine {
    number: String,
    invoice_date: String,
    due_date: String,
    amount: String,
    paid: String,
    status: &'static str,
    paid_on: Option<String>,
    /// Days from due to paid (negative: early).
    days_late: Option<i32>,
}

#[derive(Debug, Serialize)]
struct PaymentLine {
    at: String,
    amount: String,
    method: &'static str,
    reference: Option<String>,
    invoice: Option<String>,
}

#[derive(Debug, Serialize)]
struct TimelineLine {
    at: String,
    kind: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct SegmentView {
    /// The rule that matches today, if any.
    name: Option<String>,
    cadence: Option<String>,
    tone: Option<String>,
    /// What the rule asks, in words.
    conditions: Vec<String>,
    /// The rules could not be evaluated (a broken rule).
    error: Option<String>,
    /// The cadence the buyer follows instead, when set on the buyer.
    cadence_override: Option<String>,
    /// The segment the latest reminder was planned under.
    last_reminder: Option<String>,
    /// The cadence's steps: "due-3: upcoming".
    steps: Vec<String>,
}

#[derive(Debug, Serialize)]
struct BuyerView {
    id: i64,
    name: String,
    company: Option<String>,
    whatsapp: Option<String>,
    email: Option<String>,
    country: Option<String>,
    time_zone: Option<String>,
    language: Option<String>,
    sales_rep: Option<String>,
    opted_out: Option<String>,
    paused: bool,
    paused_until: Option<String>,
    segment: SegmentView,
    stats: Vec<(String, String)>,
    outstanding: Vec<String>,
    invoices: Vec<InvoiceLine>,
    payments: Vec<PaymentLine>,
    timeline: Vec<TimelineLine>,
}

fn conditions(rule: &SegmentRule) -> Vec<String> {
    let mut triggers = Vec::new();
    if let Some(v) = rule.min_avg_days_late {
        triggers.push(format!("pays {v}+ days late on average"));
    }
    if let Some(v) = rule.min_share_paid_late_pct {
        triggers.push(format!("pays {v}%+ of invoices late"));
    }
    if let Some(v) = &rule.min_outstanding {
        triggers.push(format!("owes {v} or more"));
    }
    if let Some(v) = &rule.min_revenue_12m {
        triggers.push(format!("bought {v} or more in 12 months"));
    }
    if let Some(v) = rule.min_orders_12m {
        triggers.push(format!("{v}+ orders in 12 months"));
    }
    let mut out = Vec::new();
    match (triggers.len(), rule.match_mode) {
        (0, _) => out.push("everyone (no trigger)".to_string()),
        (1, _) => out.extend(triggers),
        (_, MatchMode::Any) => out.push(format!("any of: {}", triggers.join("; "))),
        (_, MatchMode::All) => out.push(format!("all of: {}", triggers.join("; "))),
    }
    if let Some(v) = rule.min_paid_invoices_12m {
        out.push(format!("and at least {v} invoices paid in 12 months"));
    }
    if let Some(v) = rule.max_orders_12m {
        out.push(format!("and at most {v} orders in 12 months"));
    }
    out
}

/// `GET /buyers/{id}` (`7` or `B7`).
pub(crate) async fn page(
    State(state): State<HttpState>,
    user: DashUser,
    Path(id): Path<String>,
) -> Result<Html<String>, DashError> {
    let ledger = ledger(&state)?;
    let planner = &ledger.planner;
    let home_zone = planner.home_zone();
    let id: i64 = id
        .trim_start_matches(['B', 'b'])
        .parse()
        .map_err(|_| DashError::NotFound(format!("no buyer `{id}`")))?;
    let buyer = visible_buyer(&state, &user.who, BuyerId::new(id)).await?;
    let invoices: Vec<Invoice> = state
        .store
        .list_invoices(&InvoiceFilter {
            buyer: Some(buyer.id),
            ..Default::default()
        })
        .await?;
    // the buyer's own zone for their dates, as the planner reads them
    let zone = buyer
        .time_zone
        .as_deref()
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .unwrap_or_else(|| home_zone.clone());
    let today = today(&state, ledger);
    let stats = BuyerStats::compute(&invoices, today, &zone, &planner.fx);
    let segmenter = Segmenter::new(&planner.segments, planner.fx.home_currency);
    let (rule, error) = match segmenter.choose(&stats) {
        Ok(r) => (r, None),
        Err(e) => (None, Some(e)),
    };
    let cadence_name = buyer
        .cadence_override
        .clone()
        .or_else(|| rule.map(|r| r.cadence.clone()));
    let steps = cadence_name
        .as_deref()
        .and_then(|c| planner.cadence(c))
        .map(|c| {
            let mut s: Vec<String> = c
                .steps
                .iter()
                .map(|st| {
                    let name = st.name.clone().unwrap_or_else(|| match st.offset_days {
                        0 => "due".to_string(),
                        d if d < 0 => format!("due{d}"),
                        d => format!("overdue+{d}"),
                    });
                    let esc = if st.escalate { ", alerts the rep" } else { "" };
                    format!("{name}: template `{}`{esc}", st.template)
                })
                .collect();
            if let Some(n) = c.repeat_every_days {
                s.push(format!(
                    "then every {n} days, at most {} reminders in all",
                    c.max_reminders
                ));
            }
            s
        })
        .unwrap_or_default();
    let segments = latest_segments(&state).await?;
    let segment = SegmentView {
        name: rule.map(|r| r.name.clone()),
        cadence: rule.map(|r| r.cadence.clone()),
        tone: rule.map(|r| r.tone.clone()),
        conditions: rule.map(conditions).unwrap_or_default(),
        error,
        cadence_override: buyer.cadence_override.clone(),
        last_reminder: segments.get(&buyer.id).cloned(),
        steps,
    };
    let stat_rows = vec![
        (
            "Invoices paid (12 months)".to_string(),
            stats.paid_invoices_12m.to_string(),
        ),
        (
            "Of those, paid late".to_string(),
            format!("{} ({}%)", stats.paid_late_12m, stats.share_paid_late_pct),
        ),
        (
            "Average days late".to_string(),
            stats.avg_days_late.to_string(),
        ),
        ("Outstanding".to_string(), stats.outstanding.to_string()),
        (
            "Bought (12 months)".to_string(),
            stats.revenue_12m.to_string(),
        ),
        (
            "Orders (12 months)".to_string(),
            stats.orders_12m.to_string(),
        ),
    ];
    let number_of: HashMap<InvoiceId, String> =
        invoices.iter().map(|i| (i.id, i.number.clone())).collect();
    let mut payments: Vec<_> = state
        .store
        .list_payments(None)
        .await?
        .into_iter()
        .filter(|p| p.buyer_id == Some(buyer.id))
        .collect();
    payments.sort_by_key(|p| std::cmp::Reverse(p.received_at));
    let timeline = state
        .store
        .timeline(TimelineSubject::Buyer(buyer.id))
        .await?;
    let mut lines: Vec<InvoiceLine> = invoices
        .iter()
        .map(|i| {
            let paid_on = i.paid_at.map(|t| t.to_zoned_datetime(zone.clone()).date());
            InvoiceLine {
                number: i.number.clone(),
                invoice_date: i.invoice_date.to_string(),
                due_date: i.due_date.to_string(),
                amount: i.amount.to_string(),
                paid: i.amount_paid.to_string(),
                status: i.status.as_str(),
                paid_on: paid_on.map(|d| d.to_string()),
                days_late: paid_on.map(|d| days_between(i.due_date, d)),
            }
        })
        .collect();
    lines.sort_by(|a, b| b.invoice_date.cmp(&a.invoice_date));
    // days late of the last paid invoices, oldest first
    let mut paid: Vec<(&String, i32)> = lines
        .iter()
        .filter_map(|l| l.days_late.map(|d| (&l.invoice_date, d)))
        .collect();
    paid.sort();
    let recent: Vec<Option<i64>> = paid
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|(_, d)| Some(i64::from(*d)))
        .collect();
    let trend = sparkline(
        &Sparkline {
            label: format!("Days late at payment, last {} paid invoices", recent.len()),
            values: recent,
        },
        |d| format!("{d} days"),
    );
    let view = BuyerView {
        id: buyer.id.get(),
        name: buyer.name.clone(),
        company: buyer.company.clone(),
        whatsapp: buyer.whatsapp.as_ref().map(|p| p.as_str().to_string()),
        email: buyer.email.clone(),
        country: buyer.country.as_ref().map(|c| c.as_str().to_string()),
        time_zone: buyer.time_zone.clone(),
        language: buyer.language.clone(),
        sales_rep: buyer.sales_rep.clone(),
        opted_out: buyer.opted_out_at.map(|t| local_time(t, &home_zone)),
        paused: buyer.paused,
        paused_until: buyer.paused_until.map(|d| d.to_string()),
        segment,
        stats: stat_rows,
        outstanding: sums(
            invoices
                .iter()
                .filter(|i| i.status.is_open() || i.status == InvoiceStatus::Disputed)
                .map(Invoice::outstanding),
        ),
        invoices: lines,
        payments: payments
            .iter()
            .map(|p| PaymentLine {
                at: local_time(p.received_at, &home_zone),
                amount: p.amount.to_string(),
                method: p.method.as_str(),
                reference: p.reference.clone(),
                invoice: p.invoice_id.and_then(|i| number_of.get(&i).cloned()),
            })
            .collect(),
        timeline: timeline
            .into_iter()
            .rev()
            .map(|e| TimelineLine {
                at: local_time(e.at, &home_zone),
                kind: e.kind,
                text: e.text,
            })
            .collect(),
    };
    render(
        "buyer.html",
        minijinja::context! {
            nav => user.nav("buyers"),
            page => Serde(view),
            title => buyer_label(&buyer),
            trend => svg(trend),
        },
    )
}
