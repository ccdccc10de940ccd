//! `tagada buyers ...`: list and act on buyers.

use std::process::ExitCode;

use tagada_app::actions;
use tagada_core::ledger::NoteKind;
use tagada_store::{BuyerFilter, BuyerPatch};

use super::parse_date;
use crate::ctx::Ctx;
use crate::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List buyers.
    List {
        /// Name or company contains this text.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        rep: Option<String>,
        /// Only buyers who opted out.
        #[arg(long)]
        opted_out: bool,
        #[arg(long, default_value_t = 200)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Stop reminders to a buyer (until a date, or until resumed).
    Pause {
        buyer: String,
        #[arg(long, value_parser = parse_date)]
        until: Option<jiff::civil::Date>,
    },
    /// Resume reminders to a paused buyer.
    Resume { buyer: String },
    /// Record that the buyer asked for no more messages.
    OptOut { buyer: String },
    /// Record that the buyer agreed to receive messages again.
    OptIn { buyer: String },
    /// Assign the buyer's sales rep.
    Assign { buyer: String, rep: String },
    /// Use a named cadence for all of this buyer's invoices (`--clear` for the segment's).
    Cadence {
        buyer: String,
        name: Option<String>,
        #[arg(long)]
        clear: bool,
    },
    /// Add an interaction note.
    Note {
        buyer: String,
        text: String,
        #[arg(long, default_value = "note")]
        kind: String,
        #[arg(long)]
        author: Option<String>,
    },
}

pub async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let s = store.as_ref();
    let now = ctx.clock.now();
    let (key, patch, what) = match cmd {
        Command::List {
            search,
            rep,
            opted_out,
            limit,
            json,
        } => {
            let filter = BuyerFilter {
                search,
                sales_rep: rep,
                opted_out: opted_out.then_some(true),
                limit: Some(limit),
            };
            let buyers = s.list_buyers(&filter).await?;
            if json {
                print_json(&buyers)?;
            } else {
                let mut t = table(&[
                    "id", "name", "company", "WhatsApp", "country", "rep", "state",
                ]);
                for b in &buyers {
                    let state = if b.opted_out_at.is_some() {
                        "opted out".to_string()
                    } else if b.paused {
                        "paused".to_string()
                    } else if let Some(d) = b.paused_until {
                        format!("paused until {d}")
                    } else {
                        String::new()
                    };
                    t.add_row(vec![
                        b.id.to_string(),
                        b.name.clone(),
                        b.company.clone().unwrap_or_default(),
                        b.whatsapp
                            .as_ref()
                            .map(|p| p.masked())
                            .unwrap_or_else(|| "—".into()),
                        b.country
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_default(),
                        b.sales_rep.clone().unwrap_or_default(),
                        state,
                    ]);
                }
                println!("{t}\n{} buyer(s)", buyers.len());
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Note {
            buyer,
            text,
            kind,
            author,
        } => {
            let kind = NoteKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("--kind: unknown kind `{kind}`"))?;
            let note = actions::buyer_note(s, &buyer, kind, &text, author.as_deref(), now).await?;
            println!("note {} added", note.id);
            return Ok(ExitCode::SUCCESS);
        }
        Command::Pause {
            buyer,
            until: Some(d),
        } => (
            buyer,
            BuyerPatch {
                paused_until: Some(Some(d)),
                ..Default::default()
            },
            format!("reminders paused until {d}"),
        ),
        Command::Pause { buyer, until: None } => (
            buyer,
            BuyerPatch {
                paused: Some(true),
                ..Default::default()
            },
            "reminders paused".to_string(),
        ),
        Command::Resume { buyer } => (
            buyer,
            BuyerPatch {
                paused: Some(false),
                paused_until: Some(None),
                ..Default::default()
            },
            "reminders resumed".to_string(),
        ),
        Command::OptOut { buyer } => (
            buyer,
            BuyerPatch {
                opted_out: Some(true),
                ..Default::default()
            },
            "opted out of reminders".to_string(),
        ),
        Command::OptIn { buyer } => (
            buyer,
            BuyerPatch {
                opted_out: Some(false),
                ..Default::default()
            },
            "opted in to reminders again".to_string(),
        ),
        Command::Assign { buyer, rep } => (
            buyer,
            BuyerPatch {
                sales_rep: Some(Some(rep.clone())),
                ..Default::default()
            },
            format!("sales rep set to {rep}"),
        ),
        Command::Cadence { buyer, name, clear } => {
            let name = if clear { None } else { name };
            if let Some(n) = &name {
                ctx.config
                    .planner
                    .cadence(n)
                    .ok_or_else(|| anyhow::anyhow!("no cadence `{n}` in the configuration"))?;
            }
            let what = format!(
                "cadence set to {}",
                name.as_deref().unwrap_or("the segment's")
            );
            (
                buyer,
                BuyerPatch {
                    cadence_override: Some(name),
                    ..Default::default()
                },
                what,
            )
        }
    };
    let b = actions::update_buyer(s, &key, &patch, &what, now).await?;
    println!("{} ({}): {what}", b.name, b.id);
    Ok(ExitCode::SUCCESS)
}
