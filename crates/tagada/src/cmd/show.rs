//! `tagada show INVOICE|BUYER`: details and the timeline.

use std::process::ExitCode;

use tagada_app::actions::{ActionError, find_buyer, find_invoice};
use tagada_store::TimelineSubject;

use crate::ctx::Ctx;
use crate::output::{local, print_json, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An invoice number or id (I12), or a buyer's name, number, key or id (B7).
    key: String,
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let home = ctx.config.planner.home_zone_name().to_string();
    match find_invoice(store.as_ref(), &args.key).await {
        Ok(inv) => {
            let buyer = store.get_buyer(inv.buyer_id).await?;
            let timeline = store.timeline(TimelineSubject::Invoice(inv.id)).await?;
            if args.json {
                print_json(
                    &serde_json::json!({ "invoice": inv, "buyer": buyer, "timeline": timeline }),
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Invoice {} ({})  buyer {} — {}",
                inv.number,
                inv.id,
                buyer.name,
                buyer.company.as_deref().unwrap_or("")
            );
            println!(
                "  amount {}   paid {}   outstanding {}   status {}",
                inv.amount,
                inv.amount_paid,
                inv.outstanding(),
                inv.status
            );
            println!(
                "  invoiced {}   due {}{}",
                inv.invoice_date,
                inv.due_date,
                snooze_text(&inv)
            );
            print_timeline(&timeline, buyer.zone_name(&home));
            return Ok(ExitCode::SUCCESS);
        }
        Err(ActionError::NoInvoice(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let buyer = find_buyer(store.as_ref(), &args.key).await?;
    let invoices = store
        .list_invoices(&tagada_store::InvoiceFilter {
            buyer: Some(buyer.id),
            ..Default::default()
        })
        .await?;
    let timeline = store.timeline(TimelineSubject::Buyer(buyer.id)).await?;
    if args.json {
        print_json(
            &serde_json::json!({ "buyer": buyer, "invoices": invoices, "timeline": timeline }),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Buyer {} ({})  {}",
        buyer.name,
        buyer.id,
        buyer.company.as_deref().unwrap_or("")
    );
    println!(
        "  WhatsApp {}   country {}   zone {}   rep {}",
        buyer
            .whatsapp
            .as_ref()
            .map(|p| p.as_str().to_string())
            .or(buyer.phone_raw.as_ref().map(|r| format!("invalid: {r}")))
            .unwrap_or_else(|| "none".into()),
        buyer.country.as_ref().map(|c| c.as_str()).unwrap_or("?"),
        buyer.zone_name(&home),
        buyer.sales_rep.as_deref().unwrap_or("none")
    );
    if buyer.opted_out_at.is_some() {
        println!("  OPTED OUT of reminders");
    }
    let mut t = table(&["invoice", "due", "amount", "outstanding", "status"]);
    for inv in &invoices {
        t.add_row(vec![
            inv.number.clone(),
            inv.due_date.to_string(),
            inv.amount.to_string(),
            inv.outstanding().to_string(),
            inv.status.to_string(),
        ]);
    }
    println!("{t}");
    print_timeline(&timeline, buyer.zone_name(&home));
    Ok(ExitCode::SUCCESS)
}

fn snooze_text(inv: &tagada_core::ledger::Invoice) -> String {
    let mut s = String::new();
    if let Some(d) = inv.snoozed_until {
        s.push_str(&format!("   snoozed until {d}"));
    }
    if inv.paused {
        s.push_str("   PAUSED");
    }
    s
}

fn print_timeline(entries: &[tagada_store::TimelineEntry], zone: &str) {
    if entries.is_empty() {
        return;
    }
    let mut t = table(&["when", "what", ""]);
    for e in entries {
        t.add_row(vec![local(e.at, zone), e.kind.clone(), e.text.clone()]);
    }
    println!("Timeline:\n{t}");
}
