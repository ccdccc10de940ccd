//! `tagada run`: plan and send on a loop until Ctrl-C.

use std::process::ExitCode;

use jiff::SignedDuration;
use tagada_app::worker::{LoopReport, Worker};
use tokio_util::sync::CancellationToken;

use crate::ctx::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds between re-plans.
    #[arg(long, default_value_t = 600)]
    replan_every: i64,
    /// Only send; leave planning to another process.
    #[arg(long)]
    no_plan: bool,
    /// Name of this worker in leases and attempt records (default: host-pid).
    #[arg(long)]
    worker_id: Option<String>,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let channel = ctx.channel(store.as_ref()).await?;
    let worker = worker(
        ctx,
        store.as_ref(),
        channel.as_ref(),
        args.worker_id,
        args.replan_every,
        !args.no_plan,
    );
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping after the current step…");
        on_signal.cancel();
    });
    let report = worker.run(cancel).await;
    Ok(stopped(&report))
}

/// The loop `run` and `serve` drive.
pub(crate) fn worker<'a>(
    ctx: &'a Ctx,
    store: &'a dyn tagada_store::Store,
    channel: &'a dyn tagada_app::channel::Channel,
    worker_id: Option<String>,
    replan_every_secs: i64,
    plans: bool,
) -> Worker<'a> {
    Worker {
        store,
        channel,
        clock: ctx.clock.as_ref(),
        planner: &ctx.config.planner,
        dispatch: &ctx.config.app.dispatch,
        worker_id: worker_id.unwrap_or_else(|| format!("tagada-{}", std::process::id())),
        replan_every: SignedDuration::from_secs(replan_every_secs.max(1)),
        plans,
    }
}

/// Prints the loop's totals; exit code 4 when sending halted on refused credentials.
pub(crate) fn stopped(report: &LoopReport) -> ExitCode {
    println!(
        "stopped: {} plan(s), {} message(s) enqueued, {} sent, {} failed",
        report.plans, report.enqueued, report.dispatch.sent, report.dispatch.dead
    );
    if report.dispatch.halted.is_some() {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    }
}
