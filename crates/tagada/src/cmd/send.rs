//! `tagada send`: plan, enqueue, and send what is due now through the
//! configured channel; `--dry-run` only shows the messages, writing nothing.

use std::process::ExitCode;

use tagada_app::channel::{Channel, OutgoingMessage, TerminalChannel};
use tagada_app::dispatch::{StepReport, dispatch_step};
use tagada_app::planning::{Scope, build_plan, plan_and_apply};

use crate::ctx::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the messages due now, fully rendered, without enqueuing or sending anything.
    #[arg(long)]
    dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let now = ctx.clock.now();
    let planner = &ctx.config.planner;
    if args.dry_run {
        let plan = build_plan(store.as_ref(), planner, now, Scope::Due).await?;
        let due: Vec<_> = plan.messages.iter().filter(|m| m.send_at <= now).collect();
        let later = plan.messages.len() - due.len();
        println!(
            "Dry run: {} message(s) due now, {later} later in the buyers' business hours; nothing is written.",
            due.len()
        );
        let terminal = TerminalChannel::stdout();
        for (i, m) in due.iter().enumerate() {
            let out = OutgoingMessage {
                outbox_id: tagada_core::OutboxId::new(-(i as i64) - 1),
                to: &m.to,
                buyer_name: &m.buyer_name,
                message: &m.message,
                attempt: 1,
            };
            terminal.send(&out).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (plan, applied) = plan_and_apply(store.as_ref(), planner, now).await?;
    let channel = ctx.channel(store.as_ref()).await?;
    let zone = planner.home_zone();
    let mut total = StepReport::default();
    loop {
        let step = dispatch_step(
            store.as_ref(),
            channel.as_ref(),
            ctx.clock.as_ref(),
            &ctx.config.app.dispatch,
            "cli-send",
            &zone,
        )
        .await?;
        total.add(&step);
        if step.claimed == 0 || step.halted.is_some() {
            break;
        }
    }
    if args.json {
        crate::output::print_json(
            &serde_json::json!({ "planned": plan.messages.len(), "applied": applied, "dispatch": total }),
        )?;
    } else {
        println!(
            "planned {} message(s), enqueued {} new; sent {}, retrying {}, failed {}, cancelled {}, needs review {}",
            plan.messages.len(),
            applied.messages_enqueued,
            total.sent,
            total.retried,
            total.dead,
            total.cancelled,
            total.needs_review
        );
    }
    if let Some(reason) = total.halted {
        eprintln!("sending halted: {reason}");
        return Ok(ExitCode::from(4));
    }
    Ok(ExitCode::SUCCESS)
}
