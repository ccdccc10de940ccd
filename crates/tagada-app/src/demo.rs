//! The demo: a realistic sample exporter's ledger (buyers in India, the UAE,
//! the USA, Germany and the UK; invoices in INR, USD, EUR and GBP; punctual,
//! late and very late payers, a dispute, a promise to pay, an opt-out), run
//! for N simulated days against the real planner, store and dispatcher with a
//! simulated clock. Buyers react to reminders by script, so the output shows
//! what tagada sends each day and what it collects.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use tagada_core::cadence::PlannerConfig;
use tagada_core::clock::Clock;
use tagada_core::ledger::{InvoiceEvent, InvoiceStatus, NoteKind, PaymentMethod};
use tagada_core::planner::SkipReason;
use tagada_core::{BuyerId, CountryCode, Currency, InvoiceId, Money, Phone};
use tagada_store::{BuyerPatch, NewBuyer, NewInvoice, NewNote, NewPayment, Store, StoreError};

use crate::channel::{Channel, ChannelError, OutgoingMessage, SendReceipt};
use crate::clock::SimClock;
use crate::dispatch::{DispatchConfig, dispatch_step};
use crate::planning::{Scope, build_plan, plan_and_apply};

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub days: u32,
    /// First simulated day (local to the seller, Asia/Kolkata).
    pub start: Date,
    /// Print every message body, not just a line per message.
    pub verbose: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            days: 30,
            start: date(2026, 12, 1),
            verbose: false,
        }
    }
}

/// How a sample buyer behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Pays on the due date, reminders or not.
    Punctual,
    /// Pays `delay` days after the `nth` reminder about an invoice.
    AfterReminders { nth: u32, delay: i64 },
    /// Says "will pay on <due + days>" after the first overdue reminder, then does.
    Promises { days_after_due: i64 },
    /// Disputes the invoice when the first reminder arrives.
    Disputes,
    /// Replies STOP to the first reminder.
    OptsOut,
    /// Never pays within the demo.
    Silent,
}

struct SampleBuyer {
    key: &'static str,
    name: &'static str,
    company: &'static str,
    phone: &'static str,
    country: &'static str,
    language: &'static str,
    rep: &'static str,
    behaviour: Behaviour,
    /// (number suffix, currency, major amount, invoice date offset from start, credit days)
    invoices: &'static [(&'static str, &'static str, i64, i64, i64)],
    /// Paid invoices of the past year: (days before start invoiced, credit days, days paid late, major amount)
    history: &'static [(i64, i64, i64, i64)],
}

const SAMPLE: &[SampleBuyer] = &[
    SampleBuyer {
        key: "sharma-textiles",
        name: "Rajesh Sharma",
        company: "Sharma Textiles Pvt Ltd",
        phone: "+91 98765 43210",
        country: "IN",
        language: "hi",
        rep: "Neha",
        behaviour: Behaviour::Punctual,
        invoices: &[
            ("1001", "INR", 245_000, -20, 30),
            ("1017", "INR", 118_500, -5, 30),
        ],
        history: &[(200, 30, 0, 150_000), (120, 30, 2, 90_000)],
    },
    SampleBuyer {
        key: "nair-spices",
        name: "Priya Nair",
        company: "Nair Spices & Exports",
        phone: "098470 12345",
        country: "IN",
        language: "en",
        rep: "Neha",
        behaviour: Behaviour::AfterReminders { nth: 2, delay: 1 },
        invoices: &[("1002", "INR", 86_250, -40, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "punjab-agro",
        name: "Gurpreet Singh",
        company: "Punjab Agro Industries",
        phone: "+91-9815012345",
        country: "IN",
        language: "hi",
        rep: "Vikram",
        behaviour: Behaviour::AfterReminders { nth: 4, delay: 2 },
        invoices: &[
            ("1003", "INR", 475_000, -75, 45),
            ("1009", "INR", 132_000, -35, 30),
        ],
        history: &[
            (300, 30, 25, 200_000),
            (220, 30, 31, 180_000),
            (150, 30, 18, 99_000),
        ],
    },
    SampleBuyer {
        key: "mehta-engg",
        name: "Anil Mehta",
        company: "Mehta Engineering Works",
        phone: "9822012345",
        country: "IN",
        language: "en",
        rep: "Vikram",
        behaviour: Behaviour::Promises { days_after_due: 12 },
        invoices: &[("1004", "INR", 312_400, -32, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "deccan-pharma",
        name: "Kavita Reddy",
        company: "Deccan Pharma Distributors",
        phone: "+91 99490 12345",
        country: "IN",
        language: "en",
        rep: "Neha",
        behaviour: Behaviour::Disputes,
        invoices: &[("1005", "INR", 58_900, -28, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "patel-polymers",
        name: "Suresh Patel",
        company: "Patel Polymers",
        phone: "0091 9824012345",
        country: "IN",
        language: "en",
        rep: "Vikram",
        behaviour: Behaviour::AfterReminders { nth: 1, delay: 2 },
        invoices: &[
            ("1006", "INR", 64_000, -25, 21),
            ("1012", "INR", 41_500, -12, 21),
        ],
        history: &[
            (330, 21, 0, 52_000),
            (270, 21, 1, 47_000),
            (200, 21, 0, 61_000),
            (130, 21, 3, 39_000),
            (70, 21, 0, 58_000),
        ],
    },
    SampleBuyer {
        key: "jain-steel",
        name: "Deepak Jain",
        company: "Jain Steel Traders",
        phone: "call office",
        country: "IN",
        language: "en",
        rep: "Vikram",
        behaviour: Behaviour::Silent,
        invoices: &[("1007", "INR", 96_000, -50, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "al-mansoori",
        name: "Ahmed Al Mansoori",
        company: "Al Mansoori Trading LLC",
        phone: "+971 50 123 4567",
        country: "AE",
        language: "en",
        rep: "Farhan",
        behaviour: Behaviour::AfterReminders { nth: 2, delay: 3 },
        invoices: &[("2001", "USD", 18_750, -45, 45)],
        history: &[],
    },
    SampleBuyer {
        key: "gulf-textiles",
        name: "Fatima Khan",
        company: "Gulf Textiles FZE",
        phone: "+971 55 765 4321",
        country: "AE",
        language: "en",
        rep: "Farhan",
        behaviour: Behaviour::Punctual,
        invoices: &[("2002", "USD", 9_400, -10, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "miller-home",
        name: "John Miller",
        company: "Miller Home Goods Inc",
        phone: "+1 415 555 2671",
        country: "US",
        language: "en",
        rep: "Farhan",
        behaviour: Behaviour::AfterReminders { nth: 3, delay: 4 },
        invoices: &[
            ("3001", "USD", 42_000, -70, 60),
            ("3004", "USD", 27_500, -30, 60),
        ],
        history: &[(250, 60, 5, 38_000)],
    },
    SampleBuyer {
        key: "lakeside",
        name: "Sarah Johnson",
        company: "Lakeside Imports",
        phone: "+1 212 555 0147",
        country: "US",
        language: "en",
        rep: "Farhan",
        behaviour: Behaviour::OptsOut,
        invoices: &[("3002", "USD", 6_300, -35, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "weber-handel",
        name: "Klaus Weber",
        company: "Weber Handels GmbH",
        phone: "+49 1512 3456789",
        country: "DE",
        language: "en",
        rep: "Neha",
        behaviour: Behaviour::Punctual,
        invoices: &[("4001", "EUR", 15_800, -15, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "schmidt-textil",
        name: "Anna Schmidt",
        company: "Schmidt Textil KG",
        phone: "+49 1523 4567890",
        country: "DE",
        language: "en",
        rep: "Neha",
        behaviour: Behaviour::Silent,
        invoices: &[("4002", "EUR", 22_450, -60, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "brown-sons",
        name: "Oliver Brown",
        company: "Brown & Sons Ltd",
        phone: "+44 7400 654321",
        country: "GB",
        language: "en",
        rep: "Farhan",
        behaviour: Behaviour::AfterReminders { nth: 2, delay: 2 },
        invoices: &[("5001", "GBP", 7_900, -38, 30)],
        history: &[],
    },
    SampleBuyer {
        key: "wilson-crafts",
        name: "Emma Wilson",
        company: "Wilson Crafts",
        phone: "+44 7400 123456",
        country: "GB",
        language: "en",
        rep: "Farhan",
        behaviour: Behaviour::Promises { days_after_due: 9 },
        invoices: &[("5002", "USD", 11_200, -33, 30)],
        history: &[],
    },
];

/// Seller-local midnight of a civil date.
fn local_midnight(d: Date, zone: &TimeZone) -> Timestamp {
    d.to_zoned_datetime(zone.clone())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn money(currency: &str, major: i64) -> Money {
    let c = Currency::from_code(currency).expect("sample currency");
    Money::from_minor(major * 10i64.pow(c.exponent()), c)
}

/// Loads the sample ledger into an empty store. Returns buyer ids by key.
async fn seed(
    store: &dyn Store,
    start: Date,
    zone: &TimeZone,
) -> Result<HashMap<BuyerId, Behaviour>, StoreError> {
    let mut behaviours = HashMap::new();
    let seeded_at = local_midnight(start, zone);
    for b in SAMPLE {
        let country = CountryCode::parse(b.country).expect("sample country");
        let phone = Phone::parse(b.phone, &country).ok();
        let buyer = NewBuyer {
            external_key: Some(b.key.to_string()),
            name: b.name.to_string(),
            company: Some(b.company.to_string()),
            whatsapp: phone,
            phone_raw: Some(b.phone.to_string()),
            email: None,
            country: Some(country),
            time_zone: None,
            language: Some(b.language.to_string()),
            sales_rep: Some(b.rep.to_string()),
            consent: None,
            notes: None,
        };
        let (id, _) = store.upsert_buyer(&buyer).await?;
        behaviours.insert(id, b.behaviour);
        let mut rows = Vec::new();
        for &(suffix, cur, major, offset, credit) in b.invoices {
            let invoice_date = start.checked_add(offset.days()).expect("date");
            rows.push(NewInvoice {
                number: format!("INV-{suffix}"),
                buyer_id: id,
                order_date: Some(invoice_date.checked_sub(3.days()).expect("date")),
                invoice_date,
                due_date: invoice_date.checked_add(credit.days()).expect("date"),
                credit_days: Some(credit as i32),
                amount: money(cur, major),
                amount_paid: Money::zero(money(cur, 0).currency()),
                status: InvoiceStatus::Pending,
                source: "demo".into(),
                source_hash: format!("demo-{suffix}"),
                notes: None,
            });
        }
        let mut paid = Vec::new();
        for (i, &(ago, credit, late, major)) in b.history.iter().enumerate() {
            let invoice_date = start.checked_sub(ago.days()).expect("date");
            let due = invoice_date.checked_add(credit.days()).expect("date");
            let number = format!("OLD-{}-{}", b.key, i + 1);
            rows.push(NewInvoice {
                number: number.clone(),
                buyer_id: id,
                order_date: Some(invoice_date),
                invoice_date,
                due_date: due,
                credit_days: Some(credit as i32),
                amount: money("INR", major),
                amount_paid: Money::zero(Currency::INR),
                status: InvoiceStatus::Pending,
                source: "demo".into(),
                source_hash: number.clone(),
                notes: None,
            });
            paid.push((
                number,
                due.checked_add(late.days()).expect("date"),
                money("INR", major),
            ));
        }
        store.upsert_invoices(&rows, seeded_at).await?;
        for (number, on, amount) in paid {
            let at = local_midnight(on, zone)
                .checked_add(SignedDuration::from_hours(12))
                .expect("time");
            store
                .record_payment(
                    &NewPayment {
                        invoice_number: Some(number),
                        invoice_id: None,
                        buyer_id: Some(id),
                        amount,
                        received_at: at,
                        method: PaymentMethod::BankTransfer,
                        reference: None,
                    },
                    at,
                )
                .await?;
        }
    }
    Ok(behaviours)
}

/// A message that reached a (simulated) buyer.
#[derive(Debug, Clone)]
struct Delivered {
    at: Timestamp,
    outbox_id: tagada_core::OutboxId,
    to: Phone,
    buyer_name: String,
    template: String,
    language: String,
    body: String,
}

/// The demo's channel: it accepts every message and hands it to the script.
#[derive(Debug, Default, Clone)]
struct DemoChannel {
    inbox: Arc<Mutex<Vec<Delivered>>>,
    clock: Option<SimClock>,
}

#[async_trait]
impl Channel for DemoChannel {
    fn name(&self) -> &str {
        "demo"
    }
    async fn send(&self, m: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError> {
        let at = self
            .clock
            .as_ref()
            .map(|c| c.now())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        self.inbox.lock().expect("inbox").push(Delivered {
            at,
            outbox_id: m.outbox_id,
            to: m.to.clone(),
            buyer_name: m.buyer_name.to_string(),
            template: m.message.template_key.clone(),
            language: m.message.language.clone(),
            body: m.message.body.clone(),
        });
        Ok(SendReceipt {
            provider_id: Some(format!("demo-{}", m.outbox_id.get())),
        })
    }
}

/// Figures at the end of the demo.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DemoSummary {
    pub days: u32,
    pub messages_sent: u32,
    pub payments: u32,
    /// Per currency: (outstanding at start, collected, outstanding at end), minor units.
    pub by_currency: BTreeMap<String, (i64, i64, i64)>,
    pub invoices_paid: u32,
    pub invoices_open_at_end: u32,
    /// Why the open invoices got no reminder on the last day, counted by reason.
    pub not_reminded: BTreeMap<String, u32>,
}

#[derive(Debug)]
enum Scheduled {
    Pay { invoice: InvoiceId },
}

/// Runs the demo against `store` (which must be empty and migrated), writing
/// a day-by-day account to `out`.
pub async fn run_demo(
    store: &dyn Store,
    planner: &PlannerConfig,
    opts: &DemoOptions,
    out: &mut dyn Write,
) -> anyhow::Result<DemoSummary> {
    let zone = planner.home_zone();
    let clock = SimClock::new(local_midnight(opts.start, &zone));
    let channel = DemoChannel {
        inbox: Arc::default(),
        clock: Some(clock.clone()),
    };
    let dispatch = DispatchConfig::default();
    let behaviours = seed(store, opts.start, &zone).await?;

    let start_totals = totals(store).await?;
    writeln!(
        out,
        "tagada demo: {} buyers, {} simulated days from {} (clock simulated; nothing leaves this machine)\n",
        SAMPLE.len(),
        opts.days,
        opts.start
    )?;

    let mut reminders_seen: HashMap<InvoiceId, u32> = HashMap::new();
    let mut agenda: Vec<(Timestamp, Scheduled)> = Vec::new();
    // Punctual buyers pay on the due date.
    for inv in store.list_invoices(&Default::default()).await? {
        if inv.status.is_open() && behaviours.get(&inv.buyer_id) == Some(&Behaviour::Punctual) {
            let at = local_midnight(inv.due_date, &zone)
                .checked_add(SignedDuration::from_hours(11))
                .expect("time");
            agenda.push((at, Scheduled::Pay { invoice: inv.id }));
        }
    }
    let mut summary = DemoSummary {
        days: opts.days,
        ..Default::default()
    };
    let mut seen_messages = 0usize;

    for day in 0..opts.days {
        let today = opts.start.checked_add((day as i64).days())?;
        let day_start = local_midnight(today, &zone);
        let mut lines: Vec<(Timestamp, String)> = Vec::new();
        // Hourly ticks cover every buyer's business hours, whatever their zone.
        for hour in 0..24 {
            let now = day_start.checked_add(SignedDuration::from_hours(hour))?;
            clock.set(now);
            // People act first: payments and replies that are due by now.
            agenda.sort_by_key(|(t, _)| *t);
            while agenda.first().is_some_and(|(t, _)| *t <= now) {
                let (_, Scheduled::Pay { invoice }) = agenda.remove(0);
                let inv = store.get_invoice(invoice).await?;
                if !inv.status.is_open() && inv.status != InvoiceStatus::InProcess {
                    continue;
                }
                let outcome = store
                    .record_payment(
                        &NewPayment {
                            invoice_number: Some(inv.number.clone()),
                            invoice_id: Some(inv.id),
                            buyer_id: Some(inv.buyer_id),
                            amount: inv.outstanding(),
                            received_at: now,
                            method: if inv.currency() == Currency::INR {
                                PaymentMethod::Upi
                            } else {
                                PaymentMethod::BankTransfer
                            },
                            reference: Some(format!("DEMO-{}-{}", inv.number, day)),
                        },
                        now,
                    )
                    .await?;
                summary.payments += 1;
                let buyer = store.get_buyer(inv.buyer_id).await?;
                let mut line = format!(
                    "  ₹ paid      {:<28} {} {}",
                    buyer.company.as_deref().unwrap_or(&buyer.name),
                    inv.number,
                    inv.outstanding()
                );
                if outcome.cancelled_messages > 0 {
                    line.push_str(&format!(
                        " — {} pending reminder(s) cancelled",
                        outcome.cancelled_messages
                    ));
                }
                lines.push((now, line));
            }
            plan_and_apply(store, planner, now).await?;
            loop {
                let step = dispatch_step(store, &channel, &clock, &dispatch, "demo", &zone).await?;
                if step.claimed == 0 {
                    break;
                }
            }
            // Buyers read what arrived and react.
            let new: Vec<Delivered> =
                channel.inbox.lock().expect("inbox")[seen_messages..].to_vec();
            seen_messages += new.len();
            for d in new {
                summary.messages_sent += 1;
                let msg = store.get_message(d.outbox_id).await?;
                let buyer = store.get_buyer(msg.buyer_id).await?;
                let local = d.at.to_zoned_datetime(
                    TimeZone::get(buyer.zone_name("Asia/Kolkata")).unwrap_or(TimeZone::UTC),
                );
                let mut numbers = Vec::new();
                for id in &msg.invoice_ids {
                    let inv = store.get_invoice(*id).await?;
                    numbers.push(format!("{} ({})", inv.number, inv.outstanding()));
                }
                lines.push((
                    d.at,
                    format!(
                        "  ✉ {} {:<5} {:<28} {} [{} · {}]",
                        local.strftime("%H:%M"),
                        local
                            .time_zone()
                            .iana_name()
                            .map(short_zone)
                            .unwrap_or("UTC"),
                        buyer.company.as_deref().unwrap_or(&d.buyer_name),
                        numbers.join(", "),
                        d.template,
                        d.language
                    ),
                ));
                if opts.verbose {
                    lines.push((
                        d.at,
                        format!(
                            "      to {}: {}",
                            d.to.masked(),
                            d.body.replace('\n', "\n      ")
                        ),
                    ));
                }
                for id in &msg.invoice_ids {
                    let n = reminders_seen.entry(*id).or_insert(0);
                    *n += 1;
                    let reaction = react(
                        store,
                        &zone,
                        behaviours.get(&buyer.id).copied(),
                        *id,
                        *n,
                        d.at,
                        &mut agenda,
                    )
                    .await?;
                    if let Some(text) = reaction {
                        lines.push((
                            d.at,
                            format!(
                                "  ↩ reply     {:<28} {}",
                                buyer.company.as_deref().unwrap_or(&buyer.name),
                                text
                            ),
                        ));
                    }
                }
            }
        }
        if !lines.is_empty() {
            writeln!(
                out,
                "Day {:>2} · {}",
                day + 1,
                today.strftime("%a %d %b %Y")
            )?;
            lines.sort_by_key(|(t, _)| *t);
            for (_, l) in lines {
                writeln!(out, "{l}")?;
            }
        }
    }

    // The collection summary.
    let end_totals = totals(store).await?;
    for (cur, (open_start, _)) in &start_totals {
        let (open_end, _) = end_totals.get(cur).copied().unwrap_or((0, 0));
        let collected: i64 = store
            .list_payments(None)
            .await?
            .iter()
            .filter(|p| {
                p.amount.currency().code() == cur
                    && p.received_at >= local_midnight(opts.start, &zone)
            })
            .map(|p| p.amount.minor())
            .sum();
        summary
            .by_currency
            .insert(cur.clone(), (*open_start, collected, open_end));
    }
    for inv in store.list_invoices(&Default::default()).await? {
        if inv.status == InvoiceStatus::Paid
            && inv
                .paid_at
                .is_some_and(|t| t >= local_midnight(opts.start, &zone))
        {
            summary.invoices_paid += 1;
        }
        if inv.status.is_open() || inv.status == InvoiceStatus::Disputed {
            summary.invoices_open_at_end += 1;
        }
    }
    let last = clock.now();
    let plan = build_plan(store, planner, last, Scope::All).await?;
    for s in &plan.skipped {
        if matches!(s.reason, SkipReason::Paid | SkipReason::Cancelled) {
            continue;
        }
        *summary
            .not_reminded
            .entry(reason_label(&s.reason))
            .or_insert(0) += 1;
    }

    writeln!(out, "\nCollection summary after {} days", opts.days)?;
    writeln!(
        out,
        "  messages sent: {}   payments received: {}   invoices paid: {}   still open: {}",
        summary.messages_sent,
        summary.payments,
        summary.invoices_paid,
        summary.invoices_open_at_end
    )?;
    for (cur, (open_start, collected, open_end)) in &summary.by_currency {
        let c = Currency::from_code(cur)?;
        let pct = if *open_start > 0 {
            collected * 100 / open_start
        } else {
            0
        }; // floor of the percentage
        writeln!(
            out,
            "  {cur}: outstanding at start {}, collected {} ({pct}%), outstanding now {}",
            Money::from_minor(*open_start, c),
            Money::from_minor(*collected, c),
            Money::from_minor(*open_end, c)
        )?;
    }
    if !summary.not_reminded.is_empty() {
        writeln!(out, "  not reminded today, and why:")?;
        for (reason, n) in &summary.not_reminded {
            writeln!(out, "    {n:>3} × {reason}")?;
        }
    }
    Ok(summary)
}

fn short_zone(name: &str) -> &'static str {
    match name {
        "Asia/Kolkata" => "IST",
        "Asia/Dubai" => "GST",
        "America/New_York" => "ET",
        "Europe/Berlin" => "CET",
        "Europe/London" => "UK",
        _ => "",
    }
}

fn reason_label(r: &SkipReason) -> String {
    match r {
        SkipReason::Paid => "paid".into(),
        SkipReason::Cancelled => "cancelled".into(),
        SkipReason::Disputed => "disputed".into(),
        SkipReason::SnoozedUntil { .. } => "snoozed (promise to pay)".into(),
        SkipReason::Paused => "paused".into(),
        SkipReason::BuyerPausedUntil { .. } => "buyer paused".into(),
        SkipReason::OptedOut => "opted out".into(),
        SkipReason::NoConsent => "no consent".into(),
        SkipReason::NoValidNumber => "no valid WhatsApp number".into(),
        SkipReason::NotYetDue { .. } => "next reminder not due yet".into(),
        SkipReason::CapReached => "reminder cap reached".into(),
        SkipReason::AlreadyReminded { .. } => "already reminded for this step".into(),
        SkipReason::ConfigError { .. } => "configuration error".into(),
    }
}

/// The scripted buyer's reaction to reminder number `n` about `invoice`.
async fn react(
    store: &dyn Store,
    zone: &TimeZone,
    behaviour: Option<Behaviour>,
    invoice: InvoiceId,
    n: u32,
    at: Timestamp,
    agenda: &mut Vec<(Timestamp, Scheduled)>,
) -> Result<Option<String>, StoreError> {
    let inv = store.get_invoice(invoice).await?;
    let today = at.to_zoned_datetime(zone.clone()).date();
    match behaviour {
        Some(Behaviour::AfterReminders { nth, delay }) if n == nth => {
            let when = at
                .checked_add(SignedDuration::from_hours(24 * delay))
                .unwrap_or(at);
            agenda.push((when, Scheduled::Pay { invoice }));
            Ok(None)
        }
        Some(Behaviour::Promises { days_after_due })
            if inv.snoozed_until.is_none() && inv.days_overdue(today) > 0 =>
        {
            let on = inv
                .due_date
                .checked_add(days_after_due.days())
                .unwrap_or(inv.due_date)
                .max(today.checked_add(2.days()).unwrap_or(today));
            store
                .apply_invoice_event(
                    invoice,
                    &InvoiceEvent::Snoozed { until: on },
                    Some(&NewNote {
                        buyer_id: inv.buyer_id,
                        invoice_id: Some(invoice),
                        at,
                        kind: NoteKind::Promise,
                        author: None,
                        text: format!("buyer promised to pay on {on}"),
                    }),
                    at,
                )
                .await?;
            let when = local_midnight(on, zone)
                .checked_add(SignedDuration::from_hours(12))
                .unwrap_or(at);
            agenda.push((when, Scheduled::Pay { invoice }));
            Ok(Some(format!(
                "\"will pay on {}\" → {} snoozed until then",
                on.strftime("%d %b"),
                inv.number
            )))
        }
        Some(Behaviour::Disputes) if n == 1 => {
            store
                .apply_invoice_event(
                    invoice,
                    &InvoiceEvent::Disputed,
                    Some(&NewNote {
                        buyer_id: inv.buyer_id,
                        invoice_id: Some(invoice),
                        at,
                        kind: NoteKind::Reply,
                        author: None,
                        text: "buyer: 3 cartons arrived damaged, will not pay full amount".into(),
                    }),
                    at,
                )
                .await?;
            Ok(Some(format!(
                "\"3 cartons arrived damaged\" → {} disputed, reminders stop",
                inv.number
            )))
        }
        Some(Behaviour::OptsOut) if n == 1 => {
            store
                .update_buyer(
                    inv.buyer_id,
                    &BuyerPatch {
                        opted_out: Some(true),
                        ..Default::default()
                    },
                    at,
                )
                .await?;
            Ok(Some("\"STOP\" → opted out, no more reminders".into()))
        }
        _ => Ok(None),
    }
}

/// Outstanding (open, in process, partially paid, disputed) and count, per currency.
async fn totals(store: &dyn Store) -> Result<BTreeMap<String, (i64, u32)>, StoreError> {
    let mut t: BTreeMap<String, (i64, u32)> = BTreeMap::new();
    for inv in store.list_invoices(&Default::default()).await? {
        if inv.status.is_open() || inv.status == InvoiceStatus::Disputed {
            let e = t.entry(inv.currency().code().to_string()).or_default();
            e.0 += inv.outstanding().minor();
            e.1 += 1;
        }
    }
    Ok(t)
}
