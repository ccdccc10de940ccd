//! `tagada run`: plan and send on a loop until Ctrl-C.

use std::process::ExitCode;

use jiff::SignedDuration;
use tagada_app::worker::Worker;
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
    let channel = ctx.channel().await?;
    let worker_id = args
        .worker_id
        .unwrap_or_else(|| format!("tagada-{}", std::process::id()));
    let worker = Worker {
        store: store.as_ref(),
        channel: channel.as_ref(),
        clock: ctx.clock.as_ref(),
        planner: &ctx.config.planner,
        dispatch: &ctx.config.app.dispatch,
        worker_id,
        replan_every: SignedDuration::from_secs(args.replan_every.max(1)),
        plans: !args.no_plan,
    };
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping after the current step…");
        on_signal.cancel();
    });
    let report = worker.run(cancel).await;
    println!(
        "stopped: {} plan(s), {} message(s) enqueued, {} sent, {} failed",
        report.plans, report.enqueued, report.dispatch.sent, report.dispatch.dead
    );
    if report.dispatch.halted.is_some() {
        return Ok(ExitCode::from(4));
    }
    Ok(ExitCode::SUCCESS)
}
