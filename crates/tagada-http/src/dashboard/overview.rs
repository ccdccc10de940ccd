//! `GET /`: the overview. Outstanding (home currency and per currency),
//! DSO (countback) and its monthly trend, receivables by age, the
//! collection curve, the reminder funnel, and the messages planned for
//! today and tomorrow. A sales rep sees their own buyers' figures.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::Html;
use jiff::civil::Date;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tagada_app::planning::{Scope, build_plan};
use tagada_app::reports::parse_period;
use tagada_app::summary::summary_report;
use tagada_core::Money;
use tagada_core::ledger::Buyer;
use tagada_core::metrics::{BasisPoints, CURVE_DAYS, DayTenths};
use tagada_core::outbox::OutboxStatus;
use tagada_core::{BuyerId, InvoiceId};
use tagada_store::OutboxFilter;

use super::{DashError, DashUser, buyer_label, ledger, local_time, render, svg, today};
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

/// At most this many changes are folded into the summary by a view; more
/// (an import, an upgrade's first build) are left to `tagada serve`'s
/// worker, and the page says the figures do not count them yet.
const PAGE_FOLD_LIMIT: u64 = 20_000;

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

#[derive(Debug, Clone, Serialize)]
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
    /// When the planner last looked (the list is kept between views).
    planned_as_of: String,
    /// The day's first list is still being computed.
    planned_computing: bool,
    /// Changes not counted in the figures yet.
    unfolded: u64,
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
    // from the summary tables: a few thousand rows whatever the ledger's size
    let view = summary_report(
        state.store.as_ref(),
        planner,
        period,
        today,
        scope,
        Some(PAGE_FOLD_LIMIT),
    )
    .await?;
    let (report, curve, unfolded, version) = (view.report, view.curve, view.unfolded, view.version);
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
    let curve: Vec<Option<i64>> = curve.into_iter().map(|b| b.map(|b| b.0)).collect();
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
    let preview = ledger.preview.get(&state, today, version).await?;
    let visible: Vec<&PreviewRow> = preview
        .rows
        .iter()
        .filter(|r| user.who.sees(&r.buyer))
        .collect();
    let planned_total = visible.len();
    let planned: Vec<PlannedRow> = visible
        .into_iter()
        .take(PLANNED_SHOWN)
        .map(|r| r.row.clone())
        .collect();
    let planned_as_of = local_time(preview.computed_at, &planner.home_zone());
    let planned_computing = preview.computing;
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
        planned_as_of,
        planned_computing,
        unfolded,
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

/// The plan preview is recomputed at once when the last computation took
/// less than this; a longer one is redone in the background while views
/// show the last (a large ledger plans in seconds).
const PREVIEW_SYNC_BUDGET: std::time::Duration = std::time::Duration::from_millis(200);

/// How long a view waits for the day's first list before showing the page
/// without it (the list appears on a later view); not at all when the last
/// list took longer than [`PREVIEW_SYNC_BUDGET`].
const PREVIEW_FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A preview older than this is recomputed even if nothing was folded into
/// the summary since (time passing moves messages into business hours).
const PREVIEW_MAX_AGE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// One message of today or tomorrow, and whose it is.
#[derive(Debug, Clone)]
pub(crate) struct PreviewRow {
    row: PlannedRow,
    /// To show the row only to those who see the buyer.
    buyer: Buyer,
}

/// The messages of today and tomorrow for every buyer, by time.
#[derive(Debug)]
pub(crate) struct Preview {
    day: Date,
    /// The summary's version when it was computed: a later fold means the
    /// ledger changed.
    version: i64,
    computed_at: jiff::Timestamp,
    cost: std::time::Duration,
    rows: Vec<PreviewRow>,
    /// The first list of the day is still being computed.
    computing: bool,
}

#[derive(Debug, Default)]
struct PreviewSlot {
    current: Option<Arc<Preview>>,
    refreshing: bool,
}

/// The overview's list of today's and tomorrow's messages, kept between
/// page views: it runs the planner over the due invoices, which costs
/// seconds on a ledger of a million. A view uses the kept list while the
/// ledger has not changed (the summary's version) and it is under a
/// minute old; otherwise it is recomputed, at once when that is quick,
/// else in the background while views show the last one with its time.
#[derive(Debug, Clone, Default)]
pub struct PlanPreviewCache(Arc<Mutex<PreviewSlot>>);

/// Starts computing the overview's plan preview (`tagada serve` calls it at
/// start), so that the day's first view finds the list ready rather than
/// waiting for the planner.
pub fn warm_overview(state: &HttpState) {
    let state = state.clone();
    tokio::spawn(async move {
        let Some(ledger) = state.ledger.as_ref() else {
            return;
        };
        let day = today(&state, ledger);
        let version = match state.store.summary_meta().await {
            Ok(m) => m.map_or(0, |m| m.version),
            Err(e) => {
                tracing::warn!(error = %e, "the plan preview was not computed ahead");
                return;
            }
        };
        if let Err(e) = ledger.preview.get(&state, day, version).await {
            tracing::warn!(error = ?e, "the plan preview was not computed ahead");
        }
    });
}

impl PlanPreviewCache {
    pub(crate) async fn get(
        &self,
        state: &HttpState,
        today: Date,
        version: i64,
    ) -> Result<Arc<Preview>, DashError> {
        let now = state.clock.now();
        {
            let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = slot.current.clone()
                && p.day == today
            {
                let fresh =
                    p.version == version && now.duration_since(p.computed_at) < PREVIEW_MAX_AGE;
                if fresh || slot.refreshing {
                    return Ok(p);
                }
                if p.cost > PREVIEW_SYNC_BUDGET {
                    slot.refreshing = true;
                    let (cache, state) = (self.clone(), state.clone());
                    tokio::spawn(async move {
                        let result = compute_preview(&state, today, version).await;
                        let mut slot = cache.0.lock().unwrap_or_else(|e| e.into_inner());
                        slot.refreshing = false;
                        match result {
                            Ok(p) => slot.current = Some(Arc::new(p)),
                            Err(e) => {
                                tracing::warn!(error = ?e, "the plan preview could not be computed")
                            }
                        }
                    });
                    return Ok(p);
                }
            }
        }
        // none yet for today (or a stale one that was quick to compute):
        // computed in a task that fills the slot, waited for a while; a large
        // ledger's first view says the list is coming
        // a list known to take longer than a view may (a large ledger, on a
        // new day) is not waited for at all
        let (started_elsewhere, wait) = {
            let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let busy = slot.refreshing;
            slot.refreshing = true;
            let slow = slot
                .current
                .as_ref()
                .is_some_and(|p| p.cost > PREVIEW_SYNC_BUDGET);
            let wait = if slow {
                std::time::Duration::ZERO
            } else {
                PREVIEW_FIRST_WAIT
            };
            (busy, wait)
        };
        if started_elsewhere {
            // another view started it: wait for it as long as this one would
            return Ok(self.wait_for(today, version, now, wait).await);
        }
        let task = {
            let (cache, state) = (self.clone(), state.clone());
            tokio::spawn(async move {
                let result = compute_preview(&state, today, version).await.map(Arc::new);
                let mut slot = cache.0.lock().unwrap_or_else(|e| e.into_inner());
                slot.refreshing = false;
                if let Ok(p) = &result {
                    slot.current = Some(p.clone());
                }
                result
            })
        };
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(DashError::Internal(format!("the plan preview failed: {e}"))),
            Err(_) => Ok(Arc::new(Preview::computing(today, version, now))),
        }
    }

    /// Today's list once the computation under way fills the slot, or a
    /// placeholder after `wait`.
    async fn wait_for(
        &self,
        today: Date,
        version: i64,
        now: jiff::Timestamp,
        wait: std::time::Duration,
    ) -> Arc<Preview> {
        let started = std::time::Instant::now();
        loop {
            {
                let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(p) = slot.current.clone()
                    && p.day == today
                {
                    return p;
                }
                if !slot.refreshing || started.elapsed() >= wait {
                    return Arc::new(Preview::computing(today, version, now));
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Preview {
    /// What a view shows while the day's first list is being computed.
    fn computing(day: Date, version: i64, now: jiff::Timestamp) -> Preview {
        Preview {
            day,
            version,
            computed_at: now,
            cost: PREVIEW_FIRST_WAIT,
            rows: Vec::new(),
            computing: true,
        }
    }
}

/// A buyer, read once per preview.
async fn buyer_of(
    state: &HttpState,
    buyers: &mut HashMap<BuyerId, Buyer>,
    id: BuyerId,
) -> Result<Buyer, DashError> {
    if let Some(b) = buyers.get(&id) {
        return Ok(b.clone());
    }
    let b = state.store.get_buyer(id).await?;
    buyers.insert(id, b.clone());
    Ok(b)
}

/// Messages whose send time falls today or tomorrow (seller's zone): those
/// queued in the outbox, and those the planner would enqueue now or at the
/// start of tomorrow (`build_plan`: nothing queued), once each, by time.
async fn compute_preview(
    state: &HttpState,
    today: Date,
    version: i64,
) -> Result<Preview, DashError> {
    let started = std::time::Instant::now();
    let ledger = ledger(state)?;
    let planner = &ledger.planner;
    let zone = planner.home_zone();
    let tomorrow = today.tomorrow().unwrap_or(today);
    let day_of = |t: jiff::Timestamp| t.to_zoned_datetime(zone.clone()).date();
    let label = |d: Date| if d == today { "today" } else { "tomorrow" };
    let now = state.clock.now();
    let mut buyers: HashMap<BuyerId, Buyer> = HashMap::new();
    let mut numbers: HashMap<InvoiceId, String> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rows: Vec<(jiff::Timestamp, PreviewRow)> = Vec::new();

    let queued: Vec<_> = state
        .store
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Pending, OutboxStatus::InFlight],
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|m| {
            let d = day_of(m.send_at);
            d == today || d == tomorrow
        })
        .collect();
    // the segment a queued reminder was planned under
    let segments: HashMap<tagada_core::OutboxId, String> = if queued.is_empty() {
        HashMap::new()
    } else {
        let ids: Vec<tagada_core::OutboxId> = queued.iter().map(|m| m.id).collect();
        state
            .store
            .reminder_labels_of(&ids)
            .await?
            .into_iter()
            .filter_map(|l| l.segment.map(|s| (l.outbox_id, s)))
            .collect()
    };
    for m in &queued {
        let b = buyer_of(state, &mut buyers, m.buyer_id).await?;
        seen.insert(m.dedupe_key.clone());
        let mut invoices = Vec::new();
        for id in &m.invoice_ids {
            let n = match numbers.get(id) {
                Some(n) => n.clone(),
                None => {
                    let n = state.store.get_invoice(*id).await?.number;
                    numbers.insert(*id, n.clone());
                    n
                }
            };
            invoices.push(n);
        }
        rows.push((
            m.send_at,
            PreviewRow {
                row: PlannedRow {
                    when: local_time(m.send_at, &zone),
                    day: label(day_of(m.send_at)),
                    buyer_id: b.id.get(),
                    buyer: buyer_label(&b),
                    invoices,
                    template: m.message.template_key.clone(),
                    segment: segments.get(&m.id).cloned().unwrap_or_default(),
                    state: "queued",
                    escalate: m.escalate,
                },
                buyer: b,
            },
        ));
    }

    let start_of_tomorrow = tomorrow
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned_datetime(zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    for at in [now, start_of_tomorrow.max(now)] {
        let plan = build_plan(state.store.as_ref(), planner, at, Scope::Due).await?;
        for m in plan.messages {
            let d = day_of(m.send_at);
            if (d != today && d != tomorrow) || !seen.insert(m.dedupe_key.clone()) {
                continue;
            }
            let b = buyer_of(state, &mut buyers, m.buyer_id).await?;
            rows.push((
                m.send_at,
                PreviewRow {
                    row: PlannedRow {
                        when: local_time(m.send_at, &zone),
                        day: label(d),
                        buyer_id: b.id.get(),
                        buyer: buyer_label(&b),
                        invoices: m.items.iter().map(|i| i.invoice_number.clone()).collect(),
                        template: m.message.template_key.clone(),
                        segment: m.segment.clone(),
                        state: "planned",
                        escalate: m.escalate,
                    },
                    buyer: b,
                },
            ));
        }
    }
    rows.sort_by_key(|(at, r)| (*at, r.row.buyer_id));
    Ok(Preview {
        day: today,
        version,
        computed_at: now,
        cost: started.elapsed(),
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        computing: false,
    })
}
