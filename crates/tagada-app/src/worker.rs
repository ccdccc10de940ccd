//! The long-running loop behind `tagada run` (and later `serve`/`worker`):
//! re-plan on an interval, drain the outbox, stop cleanly when cancelled.

use jiff::{SignedDuration, Timestamp};
use tagada_core::cadence::PlannerConfig;
use tagada_core::clock::Clock;
use tagada_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::channel::Channel;
use crate::dispatch::{DispatchConfig, StepReport, dispatch_step};
use crate::planning::plan_and_apply;

/// What the loop needs.
#[derive(Debug)]
pub struct Worker<'a> {
    pub store: &'a dyn Store,
    pub channel: &'a dyn Channel,
    pub clock: &'a dyn Clock,
    pub planner: &'a PlannerConfig,
    pub dispatch: &'a DispatchConfig,
    /// Identifies this process in leases and attempt records.
    pub worker_id: String,
    /// How often to re-plan.
    pub replan_every: SignedDuration,
    /// Whether this worker plans (several workers can share one planner).
    pub plans: bool,
}

/// Totals since the loop started.
#[derive(Debug, Clone, Default)]
pub struct LoopReport {
    pub plans: u32,
    pub enqueued: u32,
    pub dispatch: StepReport,
}

/// Owners folded into the summary tables per pass (a second or two): a
/// build from scratch (the first start after an upgrade, millions of
/// owners) spreads over passes instead of holding up sending.
const FOLD_PER_PASS: u64 = 50_000;

impl Worker<'_> {
    /// Runs until `cancel` fires. A store error is logged and retried after
    /// the idle pause, so a brief database outage does not end the loop.
    pub async fn run(&self, cancel: CancellationToken) -> LoopReport {
        let mut report = LoopReport::default();
        let mut last_plan: Option<Timestamp> = None;
        let zone = self.planner.home_zone();
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let now = self.clock.now();
            let due = last_plan.is_none_or(|t| now.duration_since(t) >= self.replan_every);
            if self.plans && due {
                match plan_and_apply(self.store, self.planner, now).await {
                    Ok((plan, outcome)) => {
                        report.plans += 1;
                        report.enqueued += outcome.messages_enqueued;
                        tracing::info!(
                            planned = plan.messages.len(),
                            enqueued = outcome.messages_enqueued,
                            skipped = plan.skipped.len(),
                            "planned"
                        );
                        last_plan = Some(now);
                    }
                    Err(e) => tracing::error!(error = %e, "planning failed; will retry"),
                }
            }
            if self.plans {
                // the dashboard's figures: what changed since the last pass
                // folded into the summary tables, so a page view has little
                // left to fold
                let limit = Some(FOLD_PER_PASS);
                match crate::summary::refresh_summary(self.store, self.planner, limit).await {
                    Ok(r) if r.folded > 0 => {
                        tracing::debug!(folded = r.folded, rebuilt = r.rebuilt, "summary folded");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the summary could not be folded; will retry")
                    }
                }
            }
            let step = dispatch_step(
                self.store,
                self.channel,
                self.clock,
                self.dispatch,
                &self.worker_id,
                &zone,
            )
            .await;
            let idle = match step {
                Ok(s) => {
                    if s.claimed > 0 {
                        tracing::info!(
                            claimed = s.claimed,
                            sent = s.sent,
                            retried = s.retried,
                            dead = s.dead,
                            cancelled = s.cancelled,
                            "dispatched"
                        );
                    }
                    let empty = s.claimed == 0;
                    let halted = s.halted.clone();
                    report.dispatch.add(&s);
                    if let Some(reason) = halted {
                        tracing::error!(%reason, "sending halted: the channel refused our credentials");
                        break;
                    }
                    empty
                }
                Err(e) => {
                    log_store_error(&e);
                    true
                }
            };
            if idle {
                let pause = std::time::Duration::try_from(self.dispatch.idle_poll)
                    .unwrap_or(std::time::Duration::from_secs(5));
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
        report
    }
}

fn log_store_error(e: &StoreError) {
    tracing::error!(error = %e, "dispatch step failed; will retry");
}
