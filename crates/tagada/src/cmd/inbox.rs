//! `tagada inbox`: what buyers wrote back, and what is waiting for a person.

use std::process::ExitCode;

use tagada_app::actions;
use tagada_store::InboxFilter;

use crate::ctx::Ctx;
use crate::output::{local, print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List replies, newest first (by default only those waiting for a person).
    List {
        /// Every reply, handled or not.
        #[arg(long)]
        all: bool,
        /// Only the buyers of this sales rep.
        #[arg(long)]
        rep: Option<String>,
        /// Only this buyer (id, number, key or name).
        #[arg(long)]
        buyer: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Mark a reply as dealt with.
    Resolve {
        id: i64,
        /// Who dealt with it.
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

pub async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let zone = ctx.config.planner.home_zone_name();
    match cmd {
        Command::List {
            all,
            rep,
            buyer,
            limit,
            json,
        } => {
            let buyer = match buyer {
                Some(key) => Some(actions::find_buyer(store.as_ref(), &key).await?.id),
                None => None,
            };
            let entries = store
                .list_inbox(&InboxFilter {
                    buyer,
                    sales_rep: rep,
                    open_only: !all,
                    limit: Some(limit),
                })
                .await?;
            if json {
                print_json(&entries)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(&[
                "id",
                "received",
                "buyer",
                "rep",
                "said",
                "tagada did",
                "state",
            ]);
            for e in &entries {
                let said = e
                    .text
                    .clone()
                    .or_else(|| e.payload.clone())
                    .unwrap_or_else(|| format!("({})", e.kind));
                let state = if let Some(by) = &e.resolved_by {
                    format!("resolved by {by}")
                } else if e.is_open() {
                    "needs a person".into()
                } else if e.handling.is_none() {
                    "not handled yet".into()
                } else {
                    "handled".into()
                };
                t.add_row(vec![
                    e.id.to_string(),
                    local(e.sent_at, zone),
                    e.buyer_name
                        .clone()
                        .unwrap_or_else(|| format!("unknown +{}", e.from)),
                    e.sales_rep.clone().unwrap_or_default(),
                    said,
                    e.handling
                        .as_ref()
                        .map(|h| h.action.clone())
                        .unwrap_or_default(),
                    state,
                ]);
            }
            let what = if all {
                "reply(ies)"
            } else {
                "reply(ies) waiting for a person"
            };
            println!("{t}\n{} {what}", entries.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Resolve { id, by } => {
            let e = store.resolve_inbox_entry(id, &by, ctx.clock.now()).await?;
            println!(
                "reply {} from {} resolved by {}",
                e.id,
                e.buyer_name.as_deref().unwrap_or("an unknown sender"),
                e.resolved_by.as_deref().unwrap_or(&by)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
