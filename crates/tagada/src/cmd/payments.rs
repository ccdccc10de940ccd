//! `tagada payments ...`: money received outside the gateways (cheque,
//! NEFT/RTGS/IMPS, a foreign remittance), bank statements, and the gateway
//! links tagada made.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tagada_app::actions;
use tagada_app::bank::{StatementReport, import_statement};
use tagada_app::payments::{Gateways, record_payment};
use tagada_core::ledger::PaymentMethod;
use tagada_core::{Currency, Money};
use tagada_payments::statement::{CsvColumns, MatchOutcome, StatementFormat, StatementOptions};
use tagada_store::{NewPayment, PaymentLinkFilter};

use super::parse_date;
use crate::ctx::Ctx;
use crate::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Record a payment received by cheque, NEFT/RTGS/IMPS, UPI to the
    /// seller's own account or a foreign remittance.
    Add {
        /// The invoice it pays (number or id); without one the payment is
        /// kept for the buyer, flagged to be allocated by hand.
        #[arg(long, required_unless_present = "buyer")]
        invoice: Option<String>,
        /// The buyer who paid, when no invoice is named.
        #[arg(long)]
        buyer: Option<String>,
        /// e.g. "₹50,000", "USD 1,250" (default: what the invoice owes).
        #[arg(long, required_unless_present = "invoice")]
        amount: Option<String>,
        /// neft, rtgs, imps, wire (a remittance), cheque, upi, cash, other.
        #[arg(long, default_value = "neft")]
        method: String,
        /// UTR, cheque number or the remittance's reference: recording the
        /// same one twice changes nothing.
        #[arg(long)]
        reference: Option<String>,
        /// When the money arrived (default: today).
        #[arg(long, value_parser = parse_date)]
        date: Option<jiff::civil::Date>,
        #[arg(long)]
        json: bool,
    },
    /// Payments recorded, newest last.
    List {
        /// Only this invoice's.
        #[arg(long)]
        invoice: Option<String>,
        /// Only those flagged for a person (unknown invoice, overpaid, other currency).
        #[arg(long)]
        flagged: bool,
        #[arg(long)]
        json: bool,
    },
    /// Import a bank statement: each credit is matched to an invoice by the
    /// invoice number in its narration, else by buyer and exact amount;
    /// near matches are suggested, the rest listed, nothing guessed.
    Import(ImportArgs),
    /// Ask the gateways about every open link (the safety net for missed webhooks).
    Poll {
        #[arg(long)]
        json: bool,
    },
    /// The gateway links tagada made.
    Links {
        #[arg(long)]
        invoice: Option<String>,
        /// Only links that can still be paid.
        #[arg(long)]
        open: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A CSV net-banking export, a camt.053 XML or an MT940 file.
    file: PathBuf,
    /// csv, camt053 or mt940 (default: told from the content).
    #[arg(long)]
    format: Option<String>,
    /// CSV header of the transaction date (default: found by its usual names).
    #[arg(long)]
    date_column: Option<String>,
    #[arg(long)]
    narration_column: Option<String>,
    #[arg(long)]
    reference_column: Option<String>,
    #[arg(long)]
    credit_column: Option<String>,
    #[arg(long)]
    debit_column: Option<String>,
    /// A signed amount column (with --cr-dr-column when the sign is apart).
    #[arg(long)]
    amount_column: Option<String>,
    #[arg(long)]
    cr_dr_column: Option<String>,
    /// Date formats of the CSV (strftime, e.g. "%d/%m/%y"), tried in order.
    #[arg(long)]
    date_format: Vec<String>,
    /// Currency of CSV amounts that name none.
    #[arg(long, default_value = "INR")]
    currency: String,
    /// Show what would be recorded; record nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

fn method_of(s: &str) -> anyhow::Result<PaymentMethod> {
    PaymentMethod::parse(s).ok_or_else(|| {
        anyhow::anyhow!(
            "--method: unknown method `{s}` (neft, rtgs, imps, wire, cheque, upi, cash, other)"
        )
    })
}

pub async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let s = store.as_ref();
    let gateways = Gateways::from_config(&ctx.config.app.payments);
    let pay = ctx.pay_context(s, &gateways);
    let now = ctx.clock.now();
    match cmd {
        Command::Add {
            invoice,
            buyer,
            amount,
            method,
            reference,
            date,
            json,
        } => {
            let method = method_of(&method)?;
            let invoice = match invoice {
                Some(key) => Some(actions::find_invoice(s, &key).await?),
                None => None,
            };
            let buyer = match (&buyer, &invoice) {
                (Some(key), _) => Some(actions::find_buyer(s, key).await?),
                (None, _) => None,
            };
            let default_currency = invoice
                .as_ref()
                .map(|i| i.currency())
                .unwrap_or(ctx.config.app.import.default_currency);
            let amount = match (&amount, &invoice) {
                (Some(a), _) => Money::parse(a, Some(default_currency))
                    .map_err(|e| anyhow::anyhow!("--amount: {e}"))?,
                (None, Some(inv)) => inv.outstanding(),
                (None, None) => anyhow::bail!("--amount is needed without --invoice"),
            };
            anyhow::ensure!(amount.is_positive(), "--amount: nothing to record");
            let zone = jiff::tz::TimeZone::get(ctx.config.planner.home_zone_name())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let received_at = match date {
                Some(d) => d.at(12, 0, 0, 0).to_zoned_datetime(zone)?.timestamp(),
                None => now,
            };
            let out = record_payment(
                &pay,
                &NewPayment {
                    invoice_number: invoice.as_ref().map(|i| i.number.clone()),
                    invoice_id: invoice.as_ref().map(|i| i.id),
                    buyer_id: buyer
                        .as_ref()
                        .map(|b| b.id)
                        .or(invoice.as_ref().map(|i| i.buyer_id)),
                    amount,
                    received_at,
                    method,
                    reference,
                },
            )
            .await?;
            if json {
                print_json(&out)?;
            } else if out.duplicate {
                println!(
                    "that reference was already recorded (payment {}); nothing changed",
                    out.payment.id
                );
            } else {
                match &out.invoice {
                    Some(i) => println!(
                        "{}: recorded {} ({}) — now {}, {} outstanding; {} queued reminder(s) cancelled",
                        i.number,
                        out.payment.amount,
                        method.as_str(),
                        i.status,
                        i.outstanding(),
                        out.cancelled_messages
                    ),
                    None => println!(
                        "recorded {} as payment {}",
                        out.payment.amount, out.payment.id
                    ),
                }
                if let Some(flag) = &out.payment.flag {
                    println!("flagged for review: {flag}");
                }
            }
        }
        Command::List {
            invoice,
            flagged,
            json,
        } => {
            let invoice = match invoice {
                Some(key) => Some(actions::find_invoice(s, &key).await?.id),
                None => None,
            };
            let mut payments = s.list_payments(invoice).await?;
            if flagged {
                payments.retain(|p| p.flag.is_some());
            }
            if json {
                print_json(&payments)?;
            } else {
                let mut t = table(&[
                    "id",
                    "received",
                    "amount",
                    "method",
                    "reference",
                    "invoice",
                    "flag",
                ]);
                for p in &payments {
                    let number = match p.invoice_id {
                        Some(id) => s
                            .get_invoice(id)
                            .await
                            .map(|i| i.number)
                            .unwrap_or_default(),
                        None => "—".into(),
                    };
                    t.add_row(vec![
                        p.id.to_string(),
                        crate::output::local(p.received_at, ctx.config.planner.home_zone_name()),
                        p.amount.to_string(),
                        p.method.as_str().to_string(),
                        p.reference.clone().unwrap_or_default(),
                        number,
                        p.flag.clone().unwrap_or_default(),
                    ]);
                }
                println!("{t}");
            }
        }
        Command::Import(args) => return import(args, &pay).await,
        Command::Poll { json } => {
            if gateways.razorpay.is_none() && gateways.stripe.is_none() {
                anyhow::bail!("no gateway is enabled ([payments.razorpay] or [payments.stripe])");
            }
            let report = pay.poll_open_links().await?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "{} open link(s) asked: {} payment(s) recorded, {} closed at the gateway, {} error(s)",
                    report.links, report.payments_recorded, report.closed, report.errors
                );
            }
            if report.errors > 0 {
                return Ok(ExitCode::from(4));
            }
        }
        Command::Links {
            invoice,
            open,
            json,
        } => {
            let invoice = match invoice {
                Some(key) => Some(actions::find_invoice(s, &key).await?.id),
                None => None,
            };
            let links = s
                .list_payment_links(&PaymentLinkFilter {
                    invoice,
                    open_only: open,
                    ..Default::default()
                })
                .await?;
            if json {
                print_json(&links)?;
            } else {
                let mut t = table(&[
                    "gateway", "link", "invoice", "amount", "paid", "status", "url",
                ]);
                for l in &links {
                    let number = s
                        .get_invoice(l.invoice_id)
                        .await
                        .map(|i| i.number)
                        .unwrap_or_default();
                    t.add_row(vec![
                        l.gateway.clone(),
                        l.remote_id.clone(),
                        number,
                        l.amount.to_string(),
                        l.amount_paid.to_string(),
                        l.status.clone(),
                        l.url.clone(),
                    ]);
                }
                println!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(
    args: ImportArgs,
    pay: &tagada_app::payments::PayContext<'_>,
) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let format = match &args.format {
        Some(f) => Some(
            StatementFormat::parse(f)
                .ok_or_else(|| anyhow::anyhow!("--format: `{f}` is not csv, camt053 or mt940"))?,
        ),
        None => None,
    };
    let opts = StatementOptions {
        format,
        columns: CsvColumns {
            date: args.date_column,
            narration: args.narration_column,
            reference: args.reference_column,
            credit: args.credit_column,
            debit: args.debit_column,
            amount: args.amount_column,
            cr_dr: args.cr_dr_column,
            date_formats: args.date_format,
            ..Default::default()
        },
        default_currency: Currency::from_code(&args.currency)
            .map_err(|e| anyhow::anyhow!("--currency: {e}"))?,
    };
    let name = args.file.display().to_string();
    let report = import_statement(pay, &name, &bytes, &opts, args.dry_run).await?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &StatementReport) {
    let mut t = table(&["line", "date", "amount", "outcome", "narration"]);
    for c in &r.credits {
        let outcome = match &c.outcome {
            MatchOutcome::Reference { number, .. } => {
                format!("paid {number} (number in narration)")
            }
            MatchOutcome::References { invoices } => format!(
                "paid {} (numbers in narration)",
                invoices
                    .iter()
                    .map(|i| i.number.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            MatchOutcome::BuyerAmount { number, .. } => {
                format!("paid {number} (buyer and exact amount)")
            }
            MatchOutcome::Suggestion { candidates } => format!(
                "check: {}",
                candidates
                    .iter()
                    .map(|s| format!("{}? {}", s.number, s.why))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            MatchOutcome::Unmatched => "unmatched".to_string(),
            MatchOutcome::Duplicate { reason } => format!("duplicate: {reason}"),
        };
        let flags: Vec<String> = c
            .recorded
            .iter()
            .filter_map(|p| p.flag.as_ref().map(|f| format!(" [flag: {f}]")))
            .collect();
        let narration: String = c.narration.chars().take(60).collect();
        t.add_row(vec![
            c.line.to_string(),
            c.booked_on.to_string(),
            c.amount.to_string(),
            format!("{outcome}{}", flags.join("")),
            narration,
        ]);
    }
    println!(
        "{} ({}{})",
        r.file,
        r.format,
        r.account
            .as_deref()
            .map(|a| format!(", account {a}"))
            .unwrap_or_default()
    );
    println!("{t}");
    let (matched, suggested, unmatched, duplicate) = r.tally();
    println!(
        "{} credit(s): {matched} matched{}, {suggested} to check, {unmatched} unmatched, {duplicate} duplicate(s); {} debit(s) and {} pending entr(ies) skipped",
        r.credits.len(),
        if r.dry_run {
            " (dry run: nothing recorded)"
        } else {
            " and recorded"
        },
        r.debits_skipped,
        r.pending_skipped
    );
    for rej in &r.rejects {
        println!(
            "{}:{}: {}: {} ({})",
            r.file, rej.line, rej.field, rej.reason, rej.raw
        );
    }
}
