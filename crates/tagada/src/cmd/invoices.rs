//! `tagada invoices ...`: list and act on invoices.

use std::process::ExitCode;

use tagada_app::actions;
use tagada_core::Money;
use tagada_core::ledger::{InvoiceStatus, NoteKind, PaymentMethod};
use tagada_store::InvoiceFilter;

use super::parse_date;
use crate::ctx::Ctx;
use crate::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List invoices.
    List {
        /// Only these statuses (pending, in_process, partially_paid, paid, disputed, cancelled).
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
        /// Only this buyer (name, number, key or id).
        #[arg(long)]
        buyer: Option<String>,
        /// Only open invoices past their due date.
        #[arg(long)]
        overdue: bool,
        /// Number contains this text.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Add an invoice for a buyer, or turn a lead into an order: the lead's
    /// buyer gets the invoice (`--from-lead indiamart:2900000001`).
    Add {
        number: String,
        /// e.g. "₹50,000" or "USD 1,250" (the import's default currency when none).
        #[arg(long)]
        amount: String,
        /// The buyer (name, number, key or id).
        #[arg(
            long,
            conflicts_with = "from_lead",
            required_unless_present = "from_lead"
        )]
        buyer: Option<String>,
        /// The lead this order came from (`<source>:<id>`, as its notes show it).
        #[arg(long)]
        from_lead: Option<String>,
        /// Invoice date (default: today).
        #[arg(long, value_parser = parse_date)]
        date: Option<jiff::civil::Date>,
        /// Due date (default: the date plus `--credit-days`).
        #[arg(long, value_parser = parse_date, conflicts_with = "credit_days")]
        due: Option<jiff::civil::Date>,
        /// Days of credit (default: the import's default credit days).
        #[arg(long)]
        credit_days: Option<i32>,
        #[arg(long, value_parser = parse_date)]
        order_date: Option<jiff::civil::Date>,
        #[arg(long)]
        json: bool,
    },
    /// Stop reminders for an invoice until resumed.
    Pause { invoice: String },
    /// Resume reminders for a paused invoice.
    Resume { invoice: String },
    /// No reminders until a date (a promise to pay).
    Snooze {
        invoice: String,
        #[arg(long, value_parser = parse_date)]
        until: jiff::civil::Date,
        /// Why (recorded as a note).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record a payment (default: the whole amount outstanding).
    MarkPaid {
        invoice: String,
        /// Amount received, e.g. "₹50,000" or "USD 1,250" (default: all that is outstanding).
        #[arg(long)]
        amount: Option<String>,
        /// upi, bank_transfer (neft/rtgs/imps), cheque, cash, razorpay, stripe, other.
        #[arg(long, default_value = "bank_transfer")]
        method: String,
        /// UTR, cheque number or gateway id.
        #[arg(long)]
        reference: Option<String>,
    },
    /// Mark an invoice disputed: reminders stop.
    Dispute {
        invoice: String,
        #[arg(long, default_value = "disputed by buyer")]
        reason: String,
    },
    /// Settle a dispute: the invoice is owed again and its cadence restarts.
    Resolve { invoice: String },
    /// Cancel an invoice (credit note, order cancelled).
    Cancel {
        invoice: String,
        #[arg(long, default_value = "cancelled")]
        reason: String,
    },
    /// Use a named cadence for this invoice (`--clear` for the segment's).
    Cadence {
        invoice: String,
        name: Option<String>,
        #[arg(long)]
        clear: bool,
    },
    /// Add an interaction note.
    Note {
        invoice: String,
        text: String,
        /// note, call, reply, promise.
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
    match cmd {
        Command::List {
            status,
            buyer,
            overdue,
            search,
            limit,
            json,
        } => {
            let mut statuses = Vec::new();
            for st in &status {
                statuses.push(
                    InvoiceStatus::parse(st)
                        .ok_or_else(|| anyhow::anyhow!("unknown status `{st}`"))?,
                );
            }
            let buyer = match buyer {
                Some(b) => Some(actions::find_buyer(s, &b).await?.id),
                None => None,
            };
            let today = now.to_zoned_datetime(ctx.config.planner.home_zone()).date();
            let filter = InvoiceFilter {
                buyer,
                statuses,
                overdue_on: overdue.then_some(today),
                search,
                limit: Some(limit),
            };
            let invoices = s.list_invoices(&filter).await?;
            if json {
                print_json(&invoices)?;
            } else {
                let mut t = table(&[
                    "invoice",
                    "buyer",
                    "due",
                    "days late",
                    "amount",
                    "outstanding",
                    "status",
                ]);
                for inv in &invoices {
                    let late = inv.days_overdue(today);
                    t.add_row(vec![
                        inv.number.clone(),
                        inv.buyer_id.to_string(),
                        inv.due_date.to_string(),
                        if late > 0 && inv.status.is_open() {
                            late.to_string()
                        } else {
                            String::new()
                        },
                        inv.amount.to_string(),
                        inv.outstanding().to_string(),
                        inv.status.to_string(),
                    ]);
                }
                println!("{t}\n{} invoice(s)", invoices.len());
            }
        }
        Command::Add {
            number,
            amount,
            buyer,
            from_lead,
            date,
            due,
            credit_days,
            order_date,
            json,
        } => {
            let import = &ctx.config.app.import;
            let amount = Money::parse(&amount, Some(import.default_currency))
                .map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
            let today = now.to_zoned_datetime(ctx.config.planner.home_zone()).date();
            let date = date.unwrap_or(today);
            let due = match due {
                Some(d) => d,
                None => date.checked_add(
                    jiff::Span::new()
                        .days(i64::from(credit_days.unwrap_or(import.default_credit_days))),
                )?,
            };
            let (buyer, source, notes) = match (&buyer, &from_lead) {
                (_, Some(key)) => {
                    let lead = actions::find_lead(s, key).await?;
                    let id = lead.buyer_id.ok_or_else(|| {
                        anyhow::anyhow!(
                            "lead {}:{} has no buyer ({}): add the buyer first",
                            lead.source,
                            lead.external_id,
                            lead.outcome
                        )
                    })?;
                    (
                        s.get_buyer(id).await?,
                        format!("lead:{}:{}", lead.source, lead.external_id),
                        Some(format!("from {} lead {}", lead.source, lead.external_id)),
                    )
                }
                (Some(key), None) => (actions::find_buyer(s, key).await?, "cli".to_string(), None),
                (None, None) => anyhow::bail!("give --buyer or --from-lead"),
            };
            let add = actions::AddInvoice {
                number,
                amount,
                invoice_date: date,
                due_date: due,
                order_date,
                notes,
            };
            let inv = actions::add_invoice(s, &buyer, &add, &source, now).await?;
            if json {
                print_json(&inv)?;
            } else {
                println!(
                    "{}: {} for {} ({}), due {}",
                    inv.number, inv.amount, buyer.name, buyer.id, inv.due_date
                );
            }
        }
        Command::Pause { invoice } => {
            let inv = actions::set_invoice_paused(s, &invoice, true, now).await?;
            println!("{}: reminders paused", inv.number);
        }
        Command::Resume { invoice } => {
            let inv = actions::set_invoice_paused(s, &invoice, false, now).await?;
            println!("{}: reminders resumed", inv.number);
        }
        Command::Snooze {
            invoice,
            until,
            reason,
        } => {
            let inv = actions::snooze(s, &invoice, until, reason.as_deref(), now).await?;
            println!("{}: snoozed until {until}", inv.number);
        }
        Command::MarkPaid {
            invoice,
            amount,
            method,
            reference,
        } => {
            let inv = actions::find_invoice(s, &invoice).await?;
            let amount = match amount {
                Some(a) => Some(
                    Money::parse(&a, Some(inv.currency()))
                        .map_err(|e| anyhow::anyhow!("--amount: {e}"))?,
                ),
                None => None,
            };
            let method = PaymentMethod::parse(&method)
                .ok_or_else(|| anyhow::anyhow!("--method: unknown method `{method}`"))?;
            let out = actions::mark_paid(s, &inv.number, amount, method, reference, now).await?;
            // as for any payment: the invoice's other links are cancelled, a thank-you queued
            let gateways = tagada_app::payments::Gateways::from_config(&ctx.config.app.payments);
            ctx.pay_context(s, &gateways).after_payment(&out).await?;
            if out.duplicate {
                println!("that payment reference was already recorded; nothing changed");
            } else if let Some(i) = &out.invoice {
                println!(
                    "{}: recorded {} — now {} (outstanding {}); {} pending reminder(s) cancelled",
                    i.number,
                    out.payment.amount,
                    i.status,
                    i.outstanding(),
                    out.cancelled_messages
                );
            }
            if let Some(flag) = &out.payment.flag {
                println!("flagged for review: {flag}");
            }
        }
        Command::Dispute { invoice, reason } => {
            let inv = actions::dispute(s, &invoice, &reason, now).await?;
            println!("{}: disputed; reminders stop", inv.number);
        }
        Command::Resolve { invoice } => {
            let inv = actions::resolve_dispute(s, &invoice, now).await?;
            println!("{}: dispute resolved; now {}", inv.number, inv.status);
        }
        Command::Cancel { invoice, reason } => {
            let inv = actions::cancel(s, &invoice, &reason, now).await?;
            println!("{}: cancelled", inv.number);
        }
        Command::Cadence {
            invoice,
            name,
            clear,
        } => {
            let name = if clear { None } else { name };
            if let Some(n) = &name {
                ctx.config
                    .planner
                    .cadence(n)
                    .ok_or_else(|| anyhow::anyhow!("no cadence `{n}` in the configuration"))?;
            }
            let inv = actions::set_invoice_cadence(s, &invoice, name.clone(), now).await?;
            println!(
                "{}: cadence {}",
                inv.number,
                name.as_deref().unwrap_or("from its segment")
            );
        }
        Command::Note {
            invoice,
            text,
            kind,
            author,
        } => {
            let kind = NoteKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("--kind: unknown kind `{kind}`"))?;
            let note =
                actions::invoice_note(s, &invoice, kind, &text, author.as_deref(), now).await?;
            println!("note {} added", note.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
