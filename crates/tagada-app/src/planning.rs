//! Plan, then apply: load the snapshot the planner needs, run the pure
//! planner, and write the plan's reminders and outbox rows in one transaction.

use jiff::{SignedDuration, Timestamp, ToSpan};
use tagada_core::InvoiceId;
use tagada_core::cadence::PlannerConfig;
use tagada_core::planner::{self, Plan};
use tagada_core::segment::TodayRange;
use tagada_store::{ApplyOutcome, SnapshotScope, Store, StoreError};

/// How much of the ledger to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only invoices whose first step can be due by now (fast at any size);
    /// the rest are counted as "not yet due".
    Due,
    /// Every invoice, so each one not reminded is listed with its reason.
    All,
}

/// The snapshot scope for `now`: invoices due by today plus the longest
/// lead any cadence has (its most negative offset), with a day of margin for
/// buyers whose zone is ahead of UTC.
pub fn snapshot_scope(cfg: &PlannerConfig, now: Timestamp, scope: Scope) -> SnapshotScope {
    let today_utc = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let lead = cfg.max_lead_days().max(0) as i64 + 1;
    let horizon = today_utc.checked_add(lead.days()).unwrap_or(today_utc);
    let history_since = today_utc.checked_sub(366.days()).unwrap_or(today_utc);
    SnapshotScope {
        horizon: matches!(scope, Scope::Due).then_some(horizon),
        history_since,
        today: TodayRange::at(now),
    }
}

/// Builds the plan for `now`. Nothing is queued; the one write is the pay
/// token of each invoice the plan writes to a buyer about, issued the first
/// time it is planned (a message's text holds the link of its pay page),
/// after which the plan is made again with the links in.
pub async fn build_plan(
    store: &dyn Store,
    cfg: &PlannerConfig,
    now: Timestamp,
    scope: Scope,
) -> Result<Plan, StoreError> {
    let mut snapshot = store
        .load_snapshot(&snapshot_scope(cfg, now, scope))
        .await?;
    let plan = planner::plan(&snapshot, cfg, now);
    let messaged: std::collections::HashSet<InvoiceId> = plan
        .messages
        .iter()
        .flat_map(|m| m.items.iter().map(|i| i.invoice_id))
        .collect();
    let issued = crate::payments::issue_pay_tokens(
        store,
        snapshot
            .invoices
            .iter_mut()
            .filter(|i| messaged.contains(&i.id)),
    )
    .await?;
    if issued == 0 {
        return Ok(plan);
    }
    // The planner is deterministic: the same messages, now with their links.
    Ok(planner::plan(&snapshot, cfg, now))
}

/// Plans and applies: what `run` and `send` do each cycle.
pub async fn plan_and_apply(
    store: &dyn Store,
    cfg: &PlannerConfig,
    now: Timestamp,
) -> Result<(Plan, ApplyOutcome), StoreError> {
    let plan = build_plan(store, cfg, now, Scope::Due).await?;
    let outcome = store.apply_plan(&plan, now).await?;
    Ok((plan, outcome))
}

/// Parses `--at`: an RFC 3339 instant, a civil date-time in `zone`, or a date
/// (09:00 in `zone`).
pub fn parse_at(input: &str, zone: &jiff::tz::TimeZone) -> Result<Timestamp, String> {
    if let Ok(ts) = input.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = input.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned_datetime(zone.clone())
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    if let Ok(d) = input.parse::<jiff::civil::Date>() {
        return d
            .at(9, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "`{input}` is not a time: use 2026-12-04, 2026-12-04T10:30 or 2026-12-04T05:00:00Z"
    ))
}

/// Ten minutes: how often `run` re-plans by default.
pub const DEFAULT_REPLAN: SignedDuration = SignedDuration::from_secs(600);
