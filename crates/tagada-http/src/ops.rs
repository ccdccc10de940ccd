//! `GET /metrics`: Prometheus' text format, read from the store at each
//! scrape (so several processes report the same figures): the outbox by
//! status (the queue's depth), send attempts by outcome and error class,
//! webhook events by source and outcome and the lag of delivery statuses,
//! lead sync runs and their last time, payments by method, and the replies
//! waiting for a person. Like the API it needs a bearer token (Prometheus'
//! `authorization` setting), of an admin or an accountant.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tagada_store::OpsCounts;

use crate::HttpState;
use crate::api::{ApiError, Caller};

pub(crate) fn routes() -> Router<HttpState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(
    State(state): State<HttpState>,
    Caller(who): Caller,
) -> Result<Response, ApiError> {
    if !who.sees_everything() {
        return Err(ApiError::Forbidden(
            "the metrics cover every buyer: an admin's or an accountant's token".into(),
        ));
    }
    let counts = state.store.ops_counts().await?;
    let mut text = render(&counts);
    text.push_str(&render_summary(state.store.summary_meta().await?.as_ref()));
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// A label value as the text format wants it.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition of `c`.
pub fn render(c: &OpsCounts) -> String {
    let mut out = String::new();
    section(
        &mut out,
        "tagada_outbox_messages",
        "gauge",
        "Outbox messages by status (pending, in_flight and failed are the queue).",
        c.outbox
            .iter()
            .map(|(s, n)| (format!("status=\"{}\"", label(s)), n.to_string())),
    );
    section(
        &mut out,
        "tagada_send_attempts_total",
        "counter",
        "Send attempts by outcome and error class (empty for a send that went through).",
        c.attempts.iter().map(|(o, class, n)| {
            (
                format!("outcome=\"{}\",class=\"{}\"", label(o), label(class)),
                n.to_string(),
            )
        }),
    );
    section(
        &mut out,
        "tagada_webhook_events_total",
        "counter",
        "Webhook events kept, by source and outcome.",
        c.webhook_events.iter().map(|(s, o, n)| {
            (
                format!("source=\"{}\",outcome=\"{}\"", label(s), label(o)),
                n.to_string(),
            )
        }),
    );
    if let Some((avg, max)) = c.webhook_lag_micros {
        section(
            &mut out,
            "tagada_webhook_lag_seconds",
            "gauge",
            "From a delivery status's time to its arrival, over the last 1,000 statuses.",
            [
                ("stat=\"avg\"".to_string(), seconds(avg)),
                ("stat=\"max\"".to_string(), seconds(max)),
            ],
        );
    }
    section(
        &mut out,
        "tagada_sync_runs_total",
        "counter",
        "Lead sync runs by source and outcome.",
        c.sync_runs.iter().map(|(s, o, n)| {
            (
                format!("source=\"{}\",outcome=\"{}\"", label(s), label(o)),
                n.to_string(),
            )
        }),
    );
    section(
        &mut out,
        "tagada_sync_last_run_timestamp_seconds",
        "gauge",
        "When each lead source's last sync run finished (Unix time).",
        c.sync_last_run.iter().map(|(s, at)| {
            (
                format!("source=\"{}\"", label(s)),
                at.as_second().to_string(),
            )
        }),
    );
    section(
        &mut out,
        "tagada_payments_total",
        "counter",
        "Payments recorded, by method.",
        c.payments
            .iter()
            .map(|(m, n)| (format!("method=\"{}\"", label(m)), n.to_string())),
    );
    section(
        &mut out,
        "tagada_inbox_waiting",
        "gauge",
        "Buyers' replies waiting for a person.",
        [(String::new(), c.inbox_open.to_string())],
    );
    out
}

/// The summary tables' state: whether they are built, and the changes
/// not folded into them yet (the overview's figures leave those out).
pub fn render_summary(meta: Option<&tagada_store::SummaryMeta>) -> String {
    let mut out = String::new();
    section(
        &mut out,
        "tagada_summary_built",
        "gauge",
        "1 once the summary tables the overview reads have been built.",
        [(String::new(), u8::from(meta.is_some()).to_string())],
    );
    if let Some(m) = meta {
        section(
            &mut out,
            "tagada_summary_pending",
            "gauge",
            "Invoice and message changes not folded into the summary tables yet.",
            [(String::new(), m.pending.to_string())],
        );
    }
    out
}

fn section(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl IntoIterator<Item = (String, String)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// Microseconds as seconds with six decimals (exact: no float).
fn seconds(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let c = OpsCounts {
            outbox: vec![("pending".into(), 3), ("sent".into(), 10)],
            attempts: vec![
                ("sent".into(), String::new(), 10),
                ("retry".into(), "rate limited".into(), 2),
            ],
            webhook_events: vec![("whatsapp".into(), "applied".into(), 30)],
            webhook_lag_micros: Some((1_500_000, 4_000_001)),
            sync_runs: vec![("indiamart".into(), "ok".into(), 5)],
            sync_last_run: vec![("indiamart".into(), "2026-12-04T05:00:00Z".parse().unwrap())],
            payments: vec![("razorpay".into(), 2)],
            inbox_open: 1,
        };
        let text = render(&c);
        for line in [
            "# TYPE tagada_outbox_messages gauge",
            "tagada_outbox_messages{status=\"pending\"} 3",
            "tagada_send_attempts_total{outcome=\"retry\",class=\"rate limited\"} 2",
            "tagada_webhook_events_total{source=\"whatsapp\",outcome=\"applied\"} 30",
            "tagada_webhook_lag_seconds{stat=\"max\"} 4.000001",
            "tagada_sync_last_run_timestamp_seconds{source=\"indiamart\"} 1796360400",
            "tagada_payments_total{method=\"razorpay\"} 2",
            "tagada_inbox_waiting 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        let built = render_summary(Some(&tagada_store::SummaryMeta {
            zone: "Asia/Kolkata".into(),
            format: 1,
            version: 7,
            pending: 42,
        }));
        assert!(
            built.lines().any(|l| l == "tagada_summary_built 1"),
            "{built}"
        );
        assert!(
            built.lines().any(|l| l == "tagada_summary_pending 42"),
            "{built}"
        );
        let never = render_summary(None);
        assert!(
            never.lines().any(|l| l == "tagada_summary_built 0"),
            "{never}"
        );
        assert!(!never.contains("tagada_summary_pending"), "{never}");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(seconds(-1_000_500), "-1.000500");
    }
}
