//! `GET /`: the overview. Outstanding (home currency and per currency),
//! DSO (countback) and its monthly trend, receivables by age, the
//! collection curve, the reminder funnel, and the messages planned for
//! today and tomorrow. A sales rep sees their own buyers' figures.

use std::collections::HashSet;

use axum::extract::{Query, State};
use axum::response::Html;
use jiff::civil::Date;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tagada_app::planning::{Scope, build_plan};
use tagada_app::reports::{load_facts, parse_period, report_from_facts};
use tagada_core::Money;
use tagada_core::metrics::{BasisPoints, CURVE_DAYS, DayTenths, collection_curve};
use tagada_core::outbox::OutboxStatus;
use tagada_store::OutboxFilter;

use super::{
    DashError, DashUser, buyer_label, ledger, local_time, render, svg, today, visible_buyers,
};
use crate::HttpState;
use crate::charts::{
    Ageing, Funnel, FunnelStage, LineChart, Series, ageing_bar, funnel_chart, line_chart,
};

/// The periods offered above the figures.
const PERIODS: [(&str, &str); 5] = [
    ("30d", "Last 30 days"),
    ("month", "This month"),
    ("last-month", "Last month"),
    ("90d", "Last 90 days"),
    ("ytd", "Financial year to date"),
];

/// The first messages of today and tomorrow listed on the overview; the
/// rest are counted (the plan page and `tagada plan` list them all).
const PLANNED_SHOWN: usize = 100;

#[derive(Debug, Deserialize)]
pub(crate) struct OverviewQuery {
    period: Option<String>,
}

#[derive(Debug, Serialize)]
struct PeriodLink {
    code: &'static str,
    label: &'static str,
    active: bool,
}

#[derive(Debug, Serialize)]
struct PlannedRow {
    when: String,
    day: &'static str,
    buyer_id: i64,
    buyer: String,
    invoices: Vec<String>,
    template: String,
    segment: String,
    /// `queued` (in the outbox) or `planned` (the planner would enqueue it).
    state: &'static str,
    escalate: bool,
}

#[derive(Debug, Serialize)]
struct OverviewView {
    period_from: String,
    period_to: String,
    periods: Vec<PeriodLink>,
    outstanding: String,
    outstanding_by_currency: Vec<String>,
    not_converted: Vec<String>,
    disputed: Option<String>,
    open_invoices: u64,
    overdue: String,
    dso: Option<String>,
    dso_simple: Option<String>,
    cei: Option<String>,
    collected: String,
    days_to_pay: Option<String>,
    /// The first [`PLANNED_SHOWN`] messages of today and tomorrow, by time.
    planned: Vec<PlannedRow>,
    /// How many there are in all.
    planned_total: usize,
}

/// Tenths of a day as "45.3 days".
fn days(t: i64) -> String {
    format!("{} days", DayTenths(t))
}

/// Basis points as "62.5%".
fn percent(bp: i64) -> String {
    BasisPoints(bp).to_string()
}

pub(crate) async fn page(
    State(state): State<HttpState>,
    user: DashUser,
    Query(q): Query<OverviewQuery>,
) -> Result<Html<String>, DashError> {
    let ledger = ledger(&state)?;
    let planner = &ledger.planner;
    let today = today(&state, ledger);
    let code = q.period.as_deref().unwrap_or("30d");
    let period = parse_period(code, today).map_err(DashError::BadRequest)?;
    let scope = (!user.who.sees_everything()).then_some(&user.who);
    // the ledger is read once for the report and the collection curve
    let (facts, messages) = load_facts(state.store.as_ref(), planner, scope).await?;
    let report = report_from_facts(&facts, &messages, planner, period, None)?;
    let c = &report.collection;
    let home = c.home_currency;
    let money = |v: i64| Money::from_minor(v, home).to_string();

    let dso_chart = line_chart(
        &LineChart {
            title: "DSO (countback), end of each month".into(),
            x_labels: report
                .dso_trend
                .points
                .iter()
                .map(|p| p.month.clone())
                .collect(),
            series: vec![Series {
                name: "DSO".into(),
                values: report
                    .dso_trend
                    .points
                    .iter()
                    .map(|p| p.dso.map(|d| d.0))
                    .collect(),
            }],
            y_extent: None,
        },
        days,
        |t| {
            if t % 10 == 0 {
                format!("{}d", t / 10)
            } else {
                format!("{}d", DayTenths(t))
            }
        },
    );
    let a = &c.ageing.home;
    let ageing_chart = ageing_bar(
        &Ageing::standard(
            format!("Receivables by age on {}", c.ageing.as_of),
            [
                a.not_due.minor(),
                a.days_1_30.minor(),
                a.days_31_60.minor(),
                a.days_61_90.minor(),
                a.over_90.minor(),
            ],
        ),
        money,
    );
    let curve: Vec<Option<i64>> = collection_curve(&facts, period, today, &planner.fx)
        .into_iter()
        .map(|b| b.map(|b| b.0))
        .collect();
    let curve_chart = line_chart(
        &LineChart {
            title: "Share of the amount due in the period collected, by days after due".into(),
            x_labels: CURVE_DAYS.iter().map(|d| format!("+{d}d")).collect(),
            series: vec![Series {
                name: "Collected".into(),
                values: curve,
            }],
            y_extent: Some((0, 10_000)),
        },
        percent,
        |bp| format!("{}%", bp / 100),
    );
    let funnel = funnel_chart(
        &Funnel {
            title: "Reminders planned in the period, and what came of them".into(),
            stages: c
                .funnel
                .stages
                .iter()
                .map(|s| FunnelStage {
                    label: s.stage.label().to_string(),
                    count: s.count,
                })
                .collect(),
        },
        |n| n.to_string(),
    );

    let overdue: i64 = [a.days_1_30, a.days_31_60, a.days_61_90, a.over_90]
        .iter()
        .map(|m| m.minor())
        .sum();
    let numbers: std::collections::HashMap<tagada_core::InvoiceId, &str> =
        facts.iter().map(|f| (f.id, f.number.as_str())).collect();
    let mut planned = planned_rows(&state, ledger, &user, today, &numbers).await?;
    let planned_total = planned.len();
    planned.truncate(PLANNED_SHOWN);
    let view = OverviewView {
        period_from: period.from.to_string(),
        period_to: period.to.to_string(),
        periods: PERIODS
            .iter()
            .map(|&(c, label)| PeriodLink {
                code: c,
                label,
                active: c == code,
            })
            .collect(),
        outstanding: c.outstanding.total.home.to_string(),
        outstanding_by_currency: c
            .outstanding
            .total
            .by_currency
            .iter()
            .chain(&c.outstanding.total.not_converted)
            .map(Money::to_string)
            .collect(),
        not_converted: c
            .not_converted
            .iter()
            .map(|c| c.code().to_string())
            .collect(),
        disputed: (!c.outstanding.disputed.home.is_zero())
            .then(|| c.outstanding.disputed.home.to_string()),
        open_invoices: c.outstanding.open_invoices,
        overdue: money(overdue),
        dso: c.dso_countback.map(|d| d.0).map(days),
        dso_simple: c.dso_simple.map(|d| d.0).map(days),
        cei: c.cei.index.map(|b| b.to_string()),
        collected: c.collected.home.to_string(),
        days_to_pay: c.days_to_pay.after_due.median.map(|d| days(d.0)),
        planned,
        planned_total,
    };
    render(
        "overview.html",
        minijinja::context! {
            nav => user.nav("overview"),
            page => Serde(view),
            dso_chart => svg(dso_chart),
            ageing_chart => svg(ageing_chart),
            curve_chart => svg(curve_chart),
            funnel_chart => svg(funnel),
        },
    )
}

/// Messages whose send time falls today or tomorrow (seller's zone): those
/// queued in the outbox, and those the planner would enqueue now or at the
/// start of tomorrow (`build_plan`, no side effects), once each, by time.
/// `numbers` names the invoices (the report's facts hold them all).
async fn planned_rows(
    state: &HttpState,
    ledger: &crate::LedgerHttp,
    user: &DashUser,
    today: Date,
    numbers: &std::collections::HashMap<tagada_core::InvoiceId, &str>,
) -> Result<Vec<PlannedRow>, DashError> {
    let planner = &ledger.planner;
    let zone = planner.home_zone();
    let tomorrow = today.tomorrow().unwrap_or(today);
    let buyers = visible_buyers(state, &user.who).await?;
    let day_of = |t: jiff::Timestamp| t.to_zoned_datetime(zone.clone()).date();
    let label = |d: Date| if d == today { "today" } else { "tomorrow" };
    let mut seen: HashSet<String> = HashSet::new();
    let mut rows: Vec<(jiff::Timestamp, PlannedRow)> = Vec::new();

    let queued = state
        .store
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Pending, OutboxStatus::InFlight],
            ..Default::default()
        })
        .await?;
    // the segment a queued reminder was planned under
    let segments: std::collections::HashMap<tagada_core::OutboxId, String> = state
        .store
        .reminder_labels()
        .await?
        .into_iter()
        .filter_map(|l| l.segment.map(|s| (l.outbox_id, s)))
        .collect();
    for m in &queued {
        let d = day_of(m.send_at);
        let Some(b) = buyers.get(&m.buyer_id) else {
            continue;
        };
        if d != today && d != tomorrow {
            continue;
        }
        seen.insert(m.dedupe_key.clone());
        let invoices = m
            .invoice_ids
            .iter()
            .map(|id| {
                numbers
                    .get(id)
                    .map_or_else(|| format!("I{}", id.get()), |n| (*n).to_string())
            })
            .collect();
        rows.push((
            m.send_at,
            PlannedRow {
                when: local_time(m.send_at, &zone),
                day: label(d),
                buyer_id: b.id.get(),
                buyer: buyer_label(b),
                invoices,
                template: m.message.template_key.clone(),
                segment: segments.get(&m.id).cloned().unwrap_or_default(),
                state: "queued",
                escalate: m.escalate,
            },
        ));
    }

    let now = state.clock.now();
    let start_of_tomorrow = tomorrow
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned_datetime(zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    for at in [now, start_of_tomorrow.max(now)] {
        let plan = build_plan(state.store.as_ref(), planner, at, Scope::Due).await?;
        for m in plan.messages {
            let d = day_of(m.send_at);
            let Some(b) = buyers.get(&m.buyer_id) else {
                continue;
            };
            if (d != today && d != tomorrow) || !seen.insert(m.dedupe_key.clone()) {
                continue;
            }
            rows.push((
                m.send_at,
                PlannedRow {
                    when: local_time(m.send_at, &zone),
                    day: label(d),
                    buyer_id: b.id.get(),
                    buyer: buyer_label(b),
                    invoices: m.items.iter().map(|i| i.invoice_number.clone()).collect(),
                    template: m.message.template_key.clone(),
                    segment: m.segment.clone(),
                    state: "planned",
                    escalate: m.escalate,
                },
            ));
        }
    }
    rows.sort_by_key(|(at, r)| (*at, r.buyer_id));
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use tagada_core::Currency;
    use tagada_core::cadence::FxConfig;
    use tagada_core::ledger::InvoiceStatus;
    use tagada_core::metrics::{InvoiceFacts, Period};
    use tagada_core::{BuyerId, InvoiceId};

    fn fact(id: i64, due: Date, amount: i64, payments: Vec<(Date, i64)>) -> InvoiceFacts {
        InvoiceFacts {
            id: InvoiceId::new(id),
            buyer_id: BuyerId::new(1),
            number: format!("INV-{id}"),
            amount: Money::from_minor(amount, Currency::INR),
            invoice_date: date(2026, 1, 1),
            due_date: due,
            status: InvoiceStatus::PartiallyPaid,
            payments: payments
                .into_iter()
                .map(|(d, m)| (d, Money::from_minor(m, Currency::INR)))
                .collect(),
            paid_on: None,
            first_reminder_on: None,
            country: None,
            sales_rep: None,
            segment: None,
        }
    }

    #[test]
    fn the_curve_counts_what_was_collected_by_each_day() {
        let period = Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap();
        let facts = vec![
            // half paid 5 days after due, the rest at +20
            fact(
                1,
                date(2026, 3, 1),
                1_000,
                vec![(date(2026, 3, 6), 500), (date(2026, 3, 21), 500)],
            ),
            // nothing paid
            fact(2, date(2026, 3, 10), 1_000, vec![]),
            // due outside the period
            fact(3, date(2026, 2, 1), 5_000, vec![]),
        ];
        let curve: Vec<Option<i64>> =
            collection_curve(&facts, period, date(2026, 4, 5), &FxConfig::default())
                .into_iter()
                .map(|b| b.map(|b| b.0))
                .collect();
        // +0: nothing; +7: 500 of 2000; +14: 500/2000; +30: invoice 2 is not
        // 30 days past due on 5 April (due 10 March: +26), so 1000/1000
        assert_eq!(
            curve,
            vec![
                Some(0),
                Some(2_500),
                Some(2_500),
                Some(10_000),
                None,
                None,
                None
            ]
        );
    }
}
