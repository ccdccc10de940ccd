//! `GET /health`: is the machinery turning? The last sync of each lead
//! source and its state (blocked, stopped), the ledger table's last syncs, the outbox by status, send
//! attempts by outcome, webhook events and their lag, and the templates
//! the planner knows. The same figures as `/metrics`, for people.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::Html;
use minijinja::value::Serde;
use serde::Serialize;

use super::{DashError, DashUser, ledger, local_time, render, svg};
use crate::HttpState;
use crate::charts::{Bar, BarChart, bar_chart};

#[derive(Debug, Serialize)]
struct SourceRow {
    source: String,
    last_run: Option<String>,
    outcome: Option<String>,
    leads_new: Option<u32>,
    error: Option<String>,
    cursor: Option<String>,
    blocked_until: Option<String>,
    stopped: Option<String>,
    runs: Vec<(String, u64)>,
}

/// One sync of the ledger table (Google Sheet or Airtable).
#[derive(Debug, Serialize)]
struct LedgerRunRow {
    table: String,
    at: String,
    outcome: String,
    read: u32,
    rejected: u32,
    created: u32,
    updated: u32,
    deleted: u32,
    written: u32,
    conflicts: u32,
    requests: u32,
    error: Option<String>,
}

/// One WhatsApp template the configuration sends, with its status at Meta.
#[derive(Debug, Serialize)]
struct TemplateRow {
    name: String,
    language: String,
    /// The configuration's templates that send it (`overdue.en`).
    used_by: String,
    /// Meta's word (`APPROVED`, `PAUSED`...), `missing`, or `unknown`
    /// before the first check.
    status: String,
    category: Option<String>,
    detail: Option<String>,
    /// When, and from a check or a webhook.
    known: Option<String>,
}

#[derive(Debug, Serialize)]
struct Count {
    what: String,
    detail: String,
    count: u64,
}

pub(crate) async fn page(
    State(state): State<HttpState>,
    user: DashUser,
) -> Result<Html<String>, DashError> {
    let ledger = ledger(&state)?;
    let zone = ledger.planner.home_zone();
    let now = state.clock.now();
    let ops = state.store.ops_counts().await?;
    let summary = state.store.summary_meta().await?;
    let mut sources: BTreeSet<String> = ops.sync_last_run.iter().map(|(s, _)| s.clone()).collect();
    sources.extend(ops.sync_runs.iter().map(|(s, _, _)| s.clone()));
    let mut source_rows = Vec::with_capacity(sources.len());
    for source in sources {
        let last = state
            .store
            .list_sync_runs(Some(&source), 1)
            .await?
            .into_iter()
            .next();
        let st = state.store.lead_source(&source).await?;
        source_rows.push(SourceRow {
            last_run: last.as_ref().map(|r| local_time(r.run.finished_at, &zone)),
            outcome: last.as_ref().map(|r| r.run.outcome.clone()),
            leads_new: last.as_ref().map(|r| r.run.leads_new),
            error: last.as_ref().and_then(|r| r.run.error.clone()),
            cursor: st.cursor.map(|t| local_time(t, &zone)),
            blocked_until: st
                .blocked_until
                .filter(|t| *t > now)
                .map(|t| local_time(t, &zone)),
            stopped: st.stopped_at.map(|t| {
                format!(
                    "{}: {}",
                    local_time(t, &zone),
                    st.stopped_reason.as_deref().unwrap_or("stopped")
                )
            }),
            runs: ops
                .sync_runs
                .iter()
                .filter(|(s, _, _)| *s == source)
                .map(|(_, o, n)| (o.clone(), *n))
                .collect(),
            source,
        });
    }
    let ledger_runs: Vec<LedgerRunRow> = state
        .store
        .list_ledger_runs(None, 10)
        .await?
        .into_iter()
        .map(|r| LedgerRunRow {
            table: r.run.source,
            at: local_time(r.run.finished_at, &zone),
            outcome: r.run.outcome,
            read: r.run.rows_read,
            rejected: r.run.rows_rejected,
            created: r.run.invoices_created,
            updated: r.run.invoices_updated,
            deleted: r.run.rows_deleted,
            written: r.run.rows_written,
            conflicts: r.run.conflicts,
            requests: r.run.requests,
            error: r.run.error,
        })
        .collect();
    let outbox = state.store.outbox_counts().await?;
    let outbox_chart = bar_chart(
        &BarChart {
            title: "Outbox messages by status".into(),
            bars: outbox
                .iter()
                .map(|(s, n)| Bar {
                    label: s.as_str().replace('_', " "),
                    value: i64::try_from(*n).unwrap_or(i64::MAX),
                })
                .collect(),
        },
        |n| n.to_string(),
        |n| n.to_string(),
    );
    let triples = |v: &[(String, String, u64)]| -> Vec<Count> {
        v.iter()
            .map(|(a, b, n)| Count {
                what: a.clone(),
                detail: b.clone(),
                count: *n,
            })
            .collect()
    };
    let lag = ops.webhook_lag_micros.map(|(avg, max)| {
        format!(
            "average {} ms, longest {} ms (last 1,000 delivery statuses)",
            avg / 1000,
            max / 1000
        )
    });
    // the number's messaging tier: distinct buyers reminded in 24 hours
    let since = now
        .saturating_sub(jiff::SignedDuration::from_hours(24))
        .unwrap_or(now);
    let recipients = state.store.count_recipients_since(since).await?;
    let tier = if ledger.messaging_limit > 0 {
        format!(
            "{recipients} of {} distinct buyers reminded in the last 24 hours ({}%)",
            ledger.messaging_limit,
            recipients * 100 / u64::from(ledger.messaging_limit)
        )
    } else {
        format!(
            "{recipients} distinct buyers reminded in the last 24 hours (no messaging limit set: [whatsapp] messaging_limit)"
        )
    };
    let mut sent: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for t in &ledger.planner.templates {
        sent.entry((t.whatsapp_name.clone(), t.whatsapp_language.clone()))
            .or_default()
            .push(format!("{}.{}", t.key, t.language));
    }
    let statuses = state.store.template_statuses().await?;
    let templates: Vec<TemplateRow> = sent
        .into_iter()
        .map(|((name, language), mut used_by)| {
            used_by.sort();
            used_by.dedup();
            let known = statuses
                .iter()
                .find(|s| s.name == name && s.language == language);
            TemplateRow {
                status: known.map_or_else(|| "unknown".into(), |s| s.status.clone()),
                category: known.and_then(|s| s.category.clone()),
                detail: known.and_then(|s| s.detail.clone()),
                known: known.map(|s| {
                    let by = if s.source == "webhook" {
                        "Meta's webhook"
                    } else {
                        "check"
                    };
                    format!("{} ({by})", local_time(s.updated_at, &zone))
                }),
                used_by: used_by.join(", "),
                name,
                language,
            }
        })
        .collect();
    let template_check_every = match ledger.template_check_minutes {
        0 => "never (template_check_minutes = 0)".to_string(),
        m => format!("{m} min"),
    };
    render(
        "health.html",
        minijinja::context! {
            nav => user.nav("health"),
            page => minijinja::context! {
                sources => Serde(source_rows),
                ledger_runs => Serde(ledger_runs),
                outbox => outbox.iter().map(|(s, n)| (s.as_str(), *n)).collect::<Vec<_>>(),
                attempts => Serde(triples(&ops.attempts)),
                webhooks => Serde(triples(&ops.webhook_events)),
                payments => ops.payments.clone(),
                lag,
                inbox_open => ops.inbox_open,
                summary => summary.as_ref().map(|m| minijinja::context! {
                    zone => m.zone.clone(),
                    pending => m.pending,
                }),
                tier,
                templates => Serde(templates),
                template_check_every,
                now => local_time(now, &zone),
            },
            outbox_chart => svg(outbox_chart),
        },
    )
}
