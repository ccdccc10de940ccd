//! `tagada sync`: pull leads from IndiaMART and TradeIndia into the ledger.

use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::SignedDuration;
use tagada_app::leads::{
    LeadApi, SyncOptions, SyncReport, SyncState, estimate, resume, start_backfill, sync_step,
};
use tagada_store::{INDIAMART, Store, TRADEINDIA};

use crate::ctx::Ctx;
use crate::output::{local, print_json, table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    Indiamart,
    Tradeindia,
    All,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which source (default: every enabled one).
    #[arg(long, value_enum, default_value = "all")]
    source: Source,
    /// Walk back this many days (at most 365) in the API's windows, waiting
    /// out its call budget between calls, until caught up.
    #[arg(long, value_name = "DAYS")]
    backfill: Option<u32>,
    /// Keep calling (waiting out the budget) until caught up with now.
    #[arg(long)]
    wait: bool,
    /// Show each source's state and its last runs; call nothing.
    #[arg(long)]
    status: bool,
    /// Lift the stop on a source after its credentials were fixed.
    #[arg(long, value_name = "SOURCE", value_enum)]
    resume: Option<Source>,
    #[arg(long)]
    json: bool,
}

fn apis(ctx: &Ctx, which: Source) -> anyhow::Result<Vec<Box<dyn LeadApi>>> {
    let app = &ctx.config.app;
    let mut out: Vec<Box<dyn LeadApi>> = Vec::new();
    let named = which != Source::All;
    if matches!(which, Source::Indiamart | Source::All) && (app.indiamart.enabled || named) {
        out.push(Box::new(
            app.indiamart
                .api()
                .map_err(anyhow::Error::msg)
                .context("[indiamart]")?,
        ));
    }
    if matches!(which, Source::Tradeindia | Source::All) && (app.tradeindia.enabled || named) {
        out.push(Box::new(
            app.tradeindia
                .api()
                .map_err(anyhow::Error::msg)
                .context("[tradeindia]")?,
        ));
    }
    Ok(out)
}

/// A source's sync options from the config.
pub fn options(ctx: &Ctx, source: &str) -> SyncOptions {
    let hours = match source {
        TRADEINDIA => ctx.config.app.tradeindia.first_sync_hours,
        _ => ctx.config.app.indiamart.first_sync_hours,
    };
    SyncOptions {
        first_sync: SignedDuration::from_hours(i64::from(hours.max(1))),
        ..SyncOptions::default()
    }
}

fn sources(which: Source) -> Vec<&'static str> {
    match which {
        Source::Indiamart => vec![INDIAMART],
        Source::Tradeindia => vec![TRADEINDIA],
        Source::All => vec![INDIAMART, TRADEINDIA],
    }
}

fn human(d: SignedDuration) -> String {
    let mins = d.as_secs().max(0) / 60;
    if mins >= 120 {
        format!("{}h{:02}", mins / 60, mins % 60)
    } else {
        format!("{mins} min")
    }
}

async fn status(store: &dyn Store, ctx: &Ctx, which: Source, json: bool) -> anyhow::Result<()> {
    let zone = ctx.config.planner.home_zone_name();
    let mut states = Vec::new();
    for s in sources(which) {
        states.push((
            store.lead_source(s).await?,
            store.list_sync_runs(Some(s), 10).await?,
        ));
    }
    if json {
        let v: Vec<_> = states
            .iter()
            .map(|(s, runs)| serde_json::json!({ "state": s, "runs": runs }))
            .collect();
        return print_json(&v);
    }
    let at = |t: Option<jiff::Timestamp>| t.map(|t| local(t, zone)).unwrap_or("-".into());
    for (s, runs) in &states {
        println!(
            "{}: cursor {}, last call {}{}{}",
            s.source,
            at(s.cursor),
            at(s.last_call_at),
            s.blocked_until
                .map(|b| format!(", blocked until {}", local(b, zone)))
                .unwrap_or_default(),
            s.stopped_reason
                .as_ref()
                .map(|r| format!(", STOPPED: {r}"))
                .unwrap_or_default(),
        );
        if runs.is_empty() {
            continue;
        }
        let mut t = table(&[
            "run", "started", "window", "outcome", "new", "dup", "buyers +", "matched", "skipped",
            "error",
        ]);
        for r in runs {
            let run = &r.run;
            t.add_row(vec![
                r.id.to_string(),
                local(run.started_at, zone),
                format!("{} → {}", at(run.window_start), at(run.window_end)),
                run.outcome.clone(),
                run.leads_new.to_string(),
                run.leads_duplicate.to_string(),
                run.buyers_new.to_string(),
                run.buyers_matched.to_string(),
                run.skipped.to_string(),
                run.error.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
    }
    Ok(())
}

fn summary(r: &SyncReport) -> String {
    let skipped: u32 = r.skipped.values().sum();
    let mut s = format!(
        "{}: {} call(s), {} new lead(s) ({} already in), {} new buyer(s), {} matched, {} skipped",
        r.source, r.calls, r.leads_new, r.leads_duplicate, r.buyers_new, r.buyers_matched, skipped
    );
    if skipped > 0 {
        let reasons: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
        s.push_str(&format!(" ({})", reasons.join("; ")));
    }
    s
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let now = ctx.clock.now();
    if let Some(which) = args.resume {
        for s in sources(which) {
            resume(store.as_ref(), s, now).await?;
            println!("{s}: resumed");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.status {
        status(store.as_ref(), ctx, args.source, args.json).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let apis = apis(ctx, args.source)?;
    if apis.is_empty() {
        anyhow::bail!(
            "no lead source is enabled: set [indiamart] or [tradeindia] enabled = true (or name one with --source)"
        );
    }
    let zone = ctx.config.planner.home_zone_name();
    let keep_going = args.wait || args.backfill.is_some();
    let mut reports = Vec::new();
    let mut alert = false;
    for api in &apis {
        let opts = options(ctx, api.source());
        if let Some(days) = args.backfill {
            let from = start_backfill(store.as_ref(), api.as_ref(), days, now).await?;
            eprintln!("{}: backfill from {}", api.source(), local(from, zone));
        }
        let mut total = SyncReport {
            source: api.source().to_string(),
            ..Default::default()
        };
        // Walking many windows: a bar of calls, with the time the budget
        // still needs.
        let bar = if keep_going && !args.json {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} call(s)")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(api.source().to_string());
        loop {
            let (state, report) =
                sync_step(store.as_ref(), api.as_ref(), ctx.clock.as_ref(), &opts).await?;
            total.add(&report);
            let behind = SignedDuration::from_secs(report.behind_secs);
            let (calls_left, time_left) = estimate(api.as_ref(), behind);
            match state {
                SyncState::Stopped { reason } => {
                    eprintln!("{}: STOPPED: {reason}", api.source());
                    alert = true;
                    break;
                }
                SyncState::Called => {
                    bar.set_length(u64::from(total.calls) + calls_left);
                    bar.set_position(u64::from(total.calls));
                    bar.set_message(format!(
                        "{}: {} new lead(s), {} behind, ~{} left",
                        api.source(),
                        total.leads_new,
                        human(behind),
                        human(time_left)
                    ));
                    if !args.json && !keep_going {
                        eprintln!(
                            "{}: {} new, {} already in{}; {} behind now, about {} call(s) and {} left",
                            api.source(),
                            report.leads_new,
                            report.leads_duplicate,
                            report
                                .error
                                .as_ref()
                                .map(|e| format!(" (failed, retried next call: {e})"))
                                .unwrap_or_default(),
                            human(behind),
                            calls_left,
                            human(time_left),
                        );
                    }
                    if !keep_going || calls_left == 0 {
                        break;
                    }
                }
                SyncState::Waiting { until } => {
                    if !keep_going || calls_left == 0 {
                        if report.calls == 0 && total.calls == 0 && !args.json {
                            eprintln!(
                                "{}: the call budget allows the next call at {}",
                                api.source(),
                                local(until, zone)
                            );
                        }
                        break;
                    }
                    let before = ctx.clock.now();
                    let wait = until.duration_since(before);
                    if let Ok(d) = std::time::Duration::try_from(wait) {
                        tokio::select! {
                            () = tokio::time::sleep(d) => {}
                            _ = tokio::signal::ctrl_c() => break,
                        }
                    }
                    if ctx.clock.now() <= before {
                        // A fixed clock (--now / TAGADA_NOW) never gets there.
                        break;
                    }
                }
            }
        }
        bar.finish_and_clear();
        reports.push(total);
    }
    if args.json {
        print_json(&reports)?;
    } else {
        for r in &reports {
            println!("{}", summary(r));
        }
    }
    Ok(if alert {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    })
}
