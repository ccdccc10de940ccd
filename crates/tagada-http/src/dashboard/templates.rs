//! `GET /templates`: how each message template and each cadence step does,
//! side by side (the report's funnel broken down by template and by step),
//! and the configured templates, cadences and segments.

use axum::extract::{Query, State};
use axum::response::Html;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tagada_app::reports::{load_facts, parse_period, report_from_facts};
use tagada_core::metrics::{BasisPoints, BreakdownRow, Dimension, Stage};

use super::{DashError, DashUser, ledger, render, svg, today};
use crate::HttpState;
use crate::charts::{Bar, BarChart, Sparkline, bar_chart, sparkline};

/// The stages a row's sparkline walks through.
const TRAIL: [Stage; 6] = [
    Stage::Sent,
    Stage::Delivered,
    Stage::Read,
    Stage::Replied,
    Stage::PaidWithin7Days,
    Stage::PaidWithin30Days,
];

#[derive(Debug, Deserialize)]
pub(crate) struct TemplatesQuery {
    period: Option<String>,
}

#[derive(Debug, Serialize)]
struct FunnelRow {
    key: String,
    planned: u64,
    sent: u64,
    delivered: Option<String>,
    read: Option<String>,
    replied: Option<String>,
    paid_7: Option<String>,
    paid_14: Option<String>,
    paid_30: Option<String>,
    median_days_to_pay: Option<String>,
    trail: minijinja::Value,
}

#[derive(Debug, Serialize)]
struct Side {
    title: &'static str,
    id: &'static str,
    rows: Vec<FunnelRow>,
    chart: minijinja::Value,
}

#[derive(Debug, Serialize)]
struct TemplateRow {
    key: String,
    language: String,
    whatsapp: String,
    category: String,
    body: String,
}

#[derive(Debug, Serialize)]
struct CadenceRow {
    name: String,
    steps: Vec<String>,
    repeat: Option<String>,
}

#[derive(Debug, Serialize)]
struct SegmentRow {
    name: String,
    cadence: String,
    tone: String,
}

fn of_sent(row: &BreakdownRow, stage: Stage) -> Option<String> {
    row.funnel
        .stage(stage)
        .and_then(|s| s.of_sent)
        .map(|b| b.to_string())
}

fn side(title: &'static str, id: &'static str, rows: &[BreakdownRow]) -> Side {
    let funnel_rows = rows
        .iter()
        .map(|r| {
            let trail = sparkline(
                &Sparkline {
                    label: format!(
                        "{}: sent, delivered, read, replied, paid in 7 and 30 days",
                        r.key
                    ),
                    values: TRAIL
                        .iter()
                        .map(|s| i64::try_from(r.funnel.count(*s)).ok())
                        .collect(),
                },
                |n| n.to_string(),
            );
            FunnelRow {
                key: r.key.clone(),
                planned: r.funnel.count(Stage::Planned),
                sent: r.funnel.count(Stage::Sent),
                delivered: of_sent(r, Stage::Delivered),
                read: r
                    .funnel
                    .stage(Stage::Read)
                    .and_then(|s| s.of_previous)
                    .map(|b| b.to_string()),
                replied: of_sent(r, Stage::Replied),
                paid_7: of_sent(r, Stage::PaidWithin7Days),
                paid_14: of_sent(r, Stage::PaidWithin14Days),
                paid_30: of_sent(r, Stage::PaidWithin30Days),
                median_days_to_pay: r
                    .days_to_pay
                    .after_first_reminder
                    .median
                    .map(|d| format!("{d} days")),
                trail: svg(trail),
            }
        })
        .collect();
    // bars: the share of sent messages followed by payment within 14 days
    let chart = bar_chart(
        &BarChart {
            title: format!("{title}: paid within 14 days, share of sent"),
            bars: rows
                .iter()
                .filter(|r| r.funnel.count(Stage::Sent) > 0)
                .map(|r| Bar {
                    label: r.key.clone(),
                    value: r
                        .funnel
                        .stage(Stage::PaidWithin14Days)
                        .and_then(|s| s.of_sent)
                        .map_or(0, |b| b.0),
                })
                .collect(),
        },
        |bp| BasisPoints(bp).to_string(),
        |bp| format!("{}%", bp / 100),
    );
    Side {
        title,
        id,
        rows: funnel_rows,
        chart: svg(chart),
    }
}

pub(crate) async fn page(
    State(state): State<HttpState>,
    user: DashUser,
    Query(q): Query<TemplatesQuery>,
) -> Result<Html<String>, DashError> {
    let ledger = ledger(&state)?;
    let planner = &ledger.planner;
    let today = today(&state, ledger);
    let code = q.period.as_deref().unwrap_or("90d");
    let period = parse_period(code, today).map_err(DashError::BadRequest)?;
    let scope = (!user.who.sees_everything()).then_some(&user.who);
    // both breakdowns from one read of the ledger
    let (facts, messages) = load_facts(state.store.as_ref(), planner, scope).await?;
    let by_template = report_from_facts(
        &facts,
        &messages,
        planner,
        period,
        Some(Dimension::Template),
    )?;
    let by_step = report_from_facts(&facts, &messages, planner, period, Some(Dimension::Step))?;
    let sides = vec![
        side("By template", "by-template", &by_template.breakdown),
        side("By cadence step", "by-step", &by_step.breakdown),
    ];
    let templates: Vec<TemplateRow> = planner
        .templates
        .iter()
        .map(|t| TemplateRow {
            key: t.key.clone(),
            language: t.language.clone(),
            whatsapp: format!("{} ({})", t.whatsapp_name, t.whatsapp_language),
            category: t.category.clone(),
            body: t.body.clone(),
        })
        .collect();
    let cadences: Vec<CadenceRow> = planner
        .cadences
        .iter()
        .map(|(name, c)| CadenceRow {
            name: name.clone(),
            steps: c
                .steps
                .iter()
                .map(|s| {
                    let when = match s.offset_days {
                        0 => "on the due date".to_string(),
                        d if d < 0 => format!("{} days before due", -d),
                        d => format!("{d} days after due"),
                    };
                    let name = s
                        .name
                        .as_deref()
                        .map(|n| format!("{n}: "))
                        .unwrap_or_default();
                    let esc = if s.escalate { ", alerts the rep" } else { "" };
                    format!("{name}{when}, `{}`{esc}", s.template)
                })
                .collect(),
            repeat: c
                .repeat_every_days
                .map(|n| format!("then every {n} days, at most {} reminders", c.max_reminders)),
        })
        .collect();
    let segments: Vec<SegmentRow> = planner
        .segments
        .iter()
        .map(|s| SegmentRow {
            name: s.name.clone(),
            cadence: s.cadence.clone(),
            tone: s.tone.clone(),
        })
        .collect();
    render(
        "templates.html",
        minijinja::context! {
            nav => user.nav("templates"),
            page => minijinja::context! {
                period_from => period.from.to_string(),
                period_to => period.to.to_string(),
                sides => Serde(sides),
                templates => Serde(templates),
                cadences => Serde(cadences),
                segments => Serde(segments),
            },
        },
    )
}
