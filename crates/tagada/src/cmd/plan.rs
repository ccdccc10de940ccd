//! `tagada plan`: what would be sent, to whom, when, and why not for every
//! other invoice. No side effects.

use std::process::ExitCode;

use tagada_app::planning::{Scope, build_plan, parse_at};
use tagada_core::planner::{Plan, SkipReason};

use crate::ctx::Ctx;
use crate::output::{local, print_json, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Plan as if it were this time: 2026-12-04, 2026-12-04T10:30 (home zone) or an RFC 3339 instant.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
    /// Load only invoices that can be due now (fast on very large ledgers);
    /// the rest are counted, not listed.
    #[arg(long)]
    due_only: bool,
    /// Also list paid and cancelled invoices among the "not reminded".
    #[arg(long)]
    all: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let zone = ctx.config.planner.home_zone();
    let now = match &args.at {
        Some(s) => parse_at(s, &zone).map_err(anyhow::Error::msg)?,
        None => ctx.clock.now(),
    };
    let store = ctx.store().await?;
    let scope = if args.due_only {
        Scope::Due
    } else {
        Scope::All
    };
    let plan = build_plan(store.as_ref(), &ctx.config.planner, now, scope).await?;
    if args.json {
        print_json(&plan)?;
    } else {
        // Name the buyers of the invoices listed as not reminded.
        let mut names = std::collections::HashMap::new();
        for s in plan
            .skipped
            .iter()
            .filter(|s| args.all || !is_settled(&s.reason))
        {
            if names.len() >= 500 {
                break;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = names.entry(s.buyer_id)
                && let Ok(b) = store.get_buyer(s.buyer_id).await
            {
                e.insert(b.company.unwrap_or(b.name));
            }
        }
        print_plan(&plan, args.all, &names);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reason_text(r: &SkipReason) -> String {
    match r {
        SkipReason::Paid => "paid".into(),
        SkipReason::Cancelled => "cancelled".into(),
        SkipReason::Disputed => "disputed".into(),
        SkipReason::SnoozedUntil { until } => format!("snoozed until {until}"),
        SkipReason::Paused => "paused".into(),
        SkipReason::BuyerPausedUntil { until } => format!("buyer paused until {until}"),
        SkipReason::OptedOut => "buyer opted out".into(),
        SkipReason::NoConsent => "no consent to message this buyer".into(),
        SkipReason::NoValidNumber => "no valid WhatsApp number".into(),
        SkipReason::NotYetDue { next_step_on } => {
            format!("not yet due (next reminder {next_step_on})")
        }
        SkipReason::CapReached => "reminder cap reached".into(),
        SkipReason::AlreadyReminded { step, status } => format!("step {step} already {status}"),
        SkipReason::ConfigError { message } => format!("configuration error: {message}"),
    }
}

fn is_settled(r: &SkipReason) -> bool {
    matches!(r, SkipReason::Paid | SkipReason::Cancelled)
}

pub fn print_plan(
    plan: &Plan,
    all: bool,
    names: &std::collections::HashMap<tagada_core::BuyerId, String>,
) {
    if plan.messages.is_empty() {
        println!("Nothing to send.");
    } else {
        let mut t = table(&[
            "send at (buyer's time)",
            "buyer",
            "to",
            "invoices",
            "step",
            "template",
            "rep alert",
        ]);
        for m in &plan.messages {
            let invoices: Vec<String> = m
                .items
                .iter()
                .map(|i| {
                    format!(
                        "{} {} ({}d)",
                        i.invoice_number, i.outstanding, i.days_overdue
                    )
                })
                .collect();
            let steps: Vec<&str> = m.items.iter().map(|i| i.step_name.as_str()).collect();
            t.add_row(vec![
                local(m.send_at, &m.zone),
                format!("{} [{}]", m.buyer_name, m.segment),
                m.to.masked(),
                invoices.join("\n"),
                steps.join(", "),
                format!("{} ({})", m.message.whatsapp_name, m.message.language),
                if m.escalate {
                    m.sales_rep.clone().unwrap_or_else(|| "yes".into())
                } else {
                    String::new()
                },
            ]);
        }
        println!("To send ({} message(s)):\n{t}", plan.messages.len());
    }
    let listed: Vec<_> = plan
        .skipped
        .iter()
        .filter(|s| all || !is_settled(&s.reason))
        .collect();
    if !listed.is_empty() {
        let mut t = table(&["invoice", "buyer", "why not"]);
        for s in &listed {
            let buyer = names
                .get(&s.buyer_id)
                .cloned()
                .unwrap_or_else(|| s.buyer_id.to_string());
            t.add_row(vec![
                s.invoice_number.clone(),
                buyer,
                reason_text(&s.reason),
            ]);
        }
        println!("\nNot reminded ({}):\n{t}", listed.len());
    }
    let hidden = plan.skipped.len() - listed.len();
    if hidden > 0 {
        println!("({hidden} paid or cancelled invoice(s) not listed; --all shows them)");
    }
    if plan.not_loaded_not_yet_due > 0 {
        println!(
            "({} more open invoice(s) are not yet due and were not loaded)",
            plan.not_loaded_not_yet_due
        );
    }
}
