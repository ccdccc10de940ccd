//! The demo: a realistic sample exporter's ledger (buyers in India, the UAE,
//! the USA, Germany and the UK; invoices in INR, USD, EUR and GBP; punctual,
//! late and very late payers, a dispute, a promise to pay, an opt-out), run
//! for N simulated days against the real planner, store and dispatcher with a
//! simulated clock.
//!
//! Every message leaves through a [`DemoWhatsApp`]: `tagada demo` plugs in
//! the real WhatsApp client talking to a local fake of the Cloud API, whose
//! signed webhooks (delivery and read receipts, the buyers' replies) reach
//! tagada's own endpoint and are merged into the outbox and the inbox. The
//! sample buyers act by script: money arrives as a recorded payment (there
//! is no payment gateway), and what they say (a "Paid already" tap, a
//! promise, a dispute, STOP) goes through WhatsApp and is acted on by
//! [`process_inbox`], whose answers go out like any message.
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use tagada_core::cadence::PlannerConfig;
use tagada_core::clock::Clock;
use tagada_core::ledger::{InvoiceEvent, InvoiceStatus, NoteKind, PaymentMethod};
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::planner::{MessageKind, SkipReason};
use tagada_core::{BuyerId, CountryCode, Currency, InvoiceId, Money, OutboxId, Phone};
use tagada_store::{
    InboxEntry, NewBuyer, NewInvoice, NewNote, NewPayment, OutboxFilter, OutboxMessage, Store,
    StoreError,
};
use tagada_whatsapp::send::QuickReply;

use crate::channel::{Channel, ChannelError, OutgoingMessage, SendReceipt};
use crate::clock::SimClock;
use crate::dispatch::{DispatchConfig, dispatch_step};
use crate::inbound::{InboundConfig, process_inbox};
use crate::planning::{Scope, build_plan, plan_and_apply};

mod ledger;

pub use ledger::{DemoLedger, LedgerFigures};

/// Where the sample invoices' PDFs are said to live when the configuration
/// names no address: "Send invoice copy" is answered with a document link.
pub const DEMO_INVOICE_URL: &str = "https://invoices.example.com/{invoice}.pdf";

/// How long the demo waits for a phase's delivery receipts (they arrive
/// as webhooks within milliseconds) before printing what it has.
const RECEIPT_WAIT: Duration = Duration::from_secs(2);

/// How long after a reminder a buyer who answers does so.
const REPLY_AFTER: SignedDuration = SignedDuration::from_mins(20);

/// The lead sources of the demo: `tagada demo` plugs in the real IndiaMART
/// and TradeIndia clients talking to local fakes whose clocks follow the
/// simulation.
pub trait DemoLeads: Send + Sync {
    fn apis(&self) -> Vec<&dyn crate::leads::LeadApi>;
    /// The simulated clock was set to `now`.
    fn clock_set(&self, now: Timestamp);
}

/// The payment side of the demo: a paying buyer opens the invoice's pay
/// page and pays through the gateway link it offers. `tagada demo` plugs in
/// tagada's own pay pages and the Razorpay and Stripe fakes, whose signed
/// webhooks record the payments.
#[async_trait]
pub trait DemoPayments: Send + Sync {
    /// The buyer pays all `invoice` owes through its pay page; how (`Razorpay
    /// link, upi`), or `None` when the page offers no gateway.
    async fn pay_through_link(
        &self,
        invoice: &tagada_core::ledger::Invoice,
    ) -> anyhow::Result<Option<String>>;
    /// The simulated clock was set to `now`.
    fn clock_set(&self, now: Timestamp);
}

/// The WhatsApp side of the demo: the channel every message leaves by, and
/// the sample buyers' phones. `tagada demo` plugs in the real WhatsApp
/// client talking to a local fake of the Cloud API, whose webhooks reach
/// tagada's HTTP endpoint.
#[async_trait]
pub trait DemoWhatsApp: Send + Sync {
    /// One line (or a few) saying where messages go, printed at the start.
    fn describe(&self) -> String;
    /// Reminders and answers are sent through it.
    fn channel(&self) -> &dyn Channel;
    /// The simulated clock was set to `now`: what the other side stamps
    /// (receipts, replies) follows it, so that a reply falls on the
    /// simulated day and opens the buyer's window then.
    fn clock_set(&self, now: Timestamp);
    /// The buyer at `from` taps a quick-reply button under our message
    /// `context` (its provider id). Returns once the reply was delivered to
    /// tagada's webhook.
    async fn tap_button(&self, from: &Phone, context: Option<&str>, payload: &str, title: &str);
    /// The buyer at `from` writes `text`. Returns once delivered.
    async fn write(&self, from: &Phone, text: &str);
    /// What went over the wire, as the other side counts it, for the summary.
    fn tally(&self) -> Option<String> {
        None
    }
}

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub days: u32,
    /// First simulated day (local to the seller, Asia/Kolkata).
    pub start: Date,
    /// Print every message body, not just a line per message.
    pub verbose: bool,
    /// How replies are acted on and answered (`[inbound]`).
    pub inbound: InboundConfig,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            days: 30,
            start: date(2026, 12, 1),
            verbose: false,
            inbound: InboundConfig {
                invoice_document_url: DEMO_INVOICE_URL.into(),
                ..InboundConfig::default()
            },
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
    /// Taps "Paid already" on the `nth` reminder; the money lands `delay` days later.
    ClaimsPaid { nth: u32, delay: i64 },
    /// Taps "Send invoice copy" on the first reminder it gets, pays `delay`
    /// days after the `nth` about an invoice.
    AsksForCopy { nth: u32, delay: i64 },
    /// Writes "will pay on <due + days>" after the first overdue reminder, then does.
    Promises { days_after_due: i64 },
    /// Writes that the goods arrived damaged when the first reminder arrives;
    /// the sales rep records the dispute.
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
        behaviour: Behaviour::ClaimsPaid { nth: 2, delay: 3 },
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
        behaviour: Behaviour::AsksForCopy { nth: 3, delay: 4 },
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

/// Loads the sample ledger into an empty store: the buyers, their paid
/// invoices of the past year and their open invoices. With a `ledger`
/// table, the open invoices are written into the table instead, as the
/// team keeps them there, for the first sync to read. Returns each buyer's
/// behaviour.
async fn seed(
    store: &dyn Store,
    start: Date,
    zone: &TimeZone,
    ledger: Option<&dyn DemoLedger>,
) -> Result<HashMap<BuyerId, Behaviour>, StoreError> {
    let mut behaviours = HashMap::new();
    let seeded_at = local_midnight(start, zone);
    let mut table_rows = Vec::new();
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
            if ledger.is_some() {
                table_rows.push(ledger::order_row(
                    &format!("INV-{suffix}"),
                    b,
                    invoice_date,
                    invoice_date.checked_add(credit.days()).expect("date"),
                    &money(cur, major),
                ));
                continue;
            }
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
    if let Some(l) = ledger {
        table_rows.sort();
        table_rows.push(ledger::unfinished_row(start));
        l.fill(&ledger::HEADER, &table_rows);
    }
    Ok(behaviours)
}

/// The channel the demo sends through: the [`DemoWhatsApp`]'s, noting which
/// messages it accepted so that each phase can print them.
#[derive(Debug)]
struct Recorder<'a> {
    inner: &'a dyn Channel,
    accepted: Mutex<Vec<OutboxId>>,
}

impl Recorder<'_> {
    fn take(&self) -> Vec<OutboxId> {
        std::mem::take(&mut *self.accepted.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Channel for Recorder<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn send(&self, m: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError> {
        let result = self.inner.send(m).await;
        if result.is_ok() {
            self.accepted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(m.outbox_id);
        }
        result
    }
}

/// Figures at the end of the demo.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DemoSummary {
    pub days: u32,
    /// Reminders (template messages) the channel accepted.
    pub reminders_sent: u32,
    /// Answers to the buyers' replies (acknowledgements, the STOP
    /// confirmation, invoice copies) the channel accepted.
    pub answers_sent: u32,
    /// Thank-yous for invoices paid in full (template `payment_received`).
    pub receipts_sent: u32,
    /// Of the messages sent, those whose receipts say delivered (or read)...
    pub delivered: u32,
    /// ...and read.
    pub read: u32,
    /// Replies the buyers sent back on WhatsApp, each acted on by the inbox.
    pub buyer_replies: u32,
    /// Leads synced from the marketplace, the buyers they created, and
    /// those they matched to buyers already in the ledger.
    pub leads: u32,
    pub lead_buyers_new: u32,
    pub lead_buyers_matched: u32,
    pub payments: u32,
    /// Per currency: (outstanding at start, collected, outstanding at end), minor units.
    pub by_currency: BTreeMap<String, (i64, i64, i64)>,
    pub invoices_paid: u32,
    pub invoices_open_at_end: u32,
    /// Why the open invoices got no reminder on the last day, counted by reason.
    pub not_reminded: BTreeMap<String, u32>,
    /// The ledger table's syncs, when the demo keeps its ledger in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerFigures>,
}

#[derive(Debug)]
enum Scheduled {
    Pay {
        invoice: InvoiceId,
    },
    /// A bank transfer lands and the accountant enters it in the ledger
    /// table's Amount Paid (the demo with its ledger in a table).
    EnteredPayment {
        invoice: InvoiceId,
    },
    /// The accountant works in the ledger table.
    Edit(ledger::PersonEdit),
}

/// What a sample buyer says back to a reminder.
#[derive(Debug)]
enum Said {
    Tap(QuickReply, &'static str),
    Write(String),
}

#[derive(Debug)]
struct BuyerReply {
    to: Phone,
    /// The reminder answered: its outbox id and provider id.
    outbox_id: OutboxId,
    provider_id: Option<String>,
    said: Said,
    /// The invoice the buyer disputes; the sales rep records it once the
    /// reply is in the inbox.
    disputes: Option<InvoiceId>,
}

/// The outside world of a demo run: WhatsApp always; the lead APIs, the
/// payment gateways and the ledger table when the caller provides them.
#[derive(Clone, Copy)]
pub struct DemoWorld<'a> {
    pub whatsapp: &'a dyn DemoWhatsApp,
    pub leads: Option<&'a dyn DemoLeads>,
    pub payments: Option<&'a dyn DemoPayments>,
    /// The open orders live in this table, not in the store: tagada syncs
    /// it once a simulated day.
    pub ledger: Option<&'a dyn DemoLedger>,
}

impl std::fmt::Debug for DemoWorld<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoWorld")
            .field("leads", &self.leads.is_some())
            .field("payments", &self.payments.is_some())
            .field("ledger", &self.ledger.is_some())
            .finish()
    }
}

/// Runs the demo against `store` (which must be empty and migrated), on
/// `clock` (set to the first simulated day here), sending through
/// `world.whatsapp`, writing a day-by-day account to `out`.
pub async fn run_demo(
    store: &dyn Store,
    planner: &PlannerConfig,
    opts: &DemoOptions,
    clock: &SimClock,
    world: DemoWorld<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<DemoSummary> {
    let DemoWorld {
        whatsapp,
        leads,
        payments,
        ledger,
    } = world;
    let zone = planner.home_zone();
    let set_time = |t: Timestamp| {
        clock.set(t);
        whatsapp.clock_set(t);
        if let Some(l) = leads {
            l.clock_set(t);
        }
        if let Some(p) = payments {
            p.clock_set(t);
        }
        if let Some(l) = ledger {
            l.clock_set(t);
        }
    };
    let lead_sync = crate::leads::SyncOptions {
        first_sync: SignedDuration::from_hours(7 * 24),
        ..Default::default()
    };
    set_time(local_midnight(opts.start, &zone));
    let channel = Recorder {
        inner: whatsapp.channel(),
        accepted: Mutex::default(),
    };
    let sender = Sender {
        store,
        channel: &channel,
        clock,
        zone: &zone,
        dispatch: DispatchConfig::default(),
    };
    let behaviours = seed(store, opts.start, &zone, ledger).await?;
    writeln!(
        out,
        "tagada demo: {} buyers, {} simulated days from {} (the clock is simulated; nothing leaves this machine)",
        SAMPLE.len(),
        opts.days,
        opts.start
    )?;
    writeln!(out, "{}", whatsapp.describe())?;
    // the ledger table, with the figures of its syncs
    let mut table = ledger.map(|l| {
        (
            l,
            LedgerFigures {
                table: l.table().describe(),
                ..LedgerFigures::default()
            },
        )
    });
    if let Some((l, figures)) = table.as_mut() {
        writeln!(
            out,
            "{}\nThe open orders are in that table, not in tagada: the first sync reads them.",
            l.describe()
        )?;
        for line in ledger::sync(store, *l, figures, clock.now()).await? {
            writeln!(out, "{line}")?;
        }
    }
    writeln!(out)?;
    let start_totals = totals(store).await?;

    let mut reminders_seen: HashMap<InvoiceId, u32> = HashMap::new();
    let mut buyer_reminders: HashMap<BuyerId, u32> = HashMap::new();
    let mut agenda: Vec<(Timestamp, Scheduled)> = Vec::new();
    // Punctual buyers pay on the due date (by bank transfer, which the
    // accountant enters in the ledger table when the demo keeps one).
    for inv in store.list_invoices(&Default::default()).await? {
        if inv.status.is_open() && behaviours.get(&inv.buyer_id) == Some(&Behaviour::Punctual) {
            let at = local_midnight(inv.due_date, &zone)
                .checked_add(SignedDuration::from_hours(11))
                .expect("time");
            agenda.push((
                at,
                if ledger.is_some() {
                    Scheduled::EnteredPayment { invoice: inv.id }
                } else {
                    Scheduled::Pay { invoice: inv.id }
                },
            ));
        }
    }
    if ledger.is_some() {
        for (day, hour, edit) in ledger::EDITS {
            let at = local_midnight(opts.start.checked_add(i64::from(*day).days())?, &zone)
                .checked_add(SignedDuration::from_hours(*hour))?;
            agenda.push((at, Scheduled::Edit(edit.clone())));
        }
    }
    let mut summary = DemoSummary {
        days: opts.days,
        ..Default::default()
    };

    for day in 0..opts.days {
        let today = opts.start.checked_add((day as i64).days())?;
        let day_start = local_midnight(today, &zone);
        let mut lines: Vec<(Timestamp, String)> = Vec::new();
        // Hourly ticks cover every buyer's business hours, whatever their zone.
        for hour in 0..24 {
            let now = day_start.checked_add(SignedDuration::from_hours(hour))?;
            set_time(now);
            // Money that is due by now arrives first.
            agenda.sort_by_key(|(t, _)| *t);
            if hour == ledger::SYNC_HOUR
                && day > 0
                && let Some((l, figures)) = table.as_mut()
            {
                for line in ledger::sync(store, *l, figures, now).await? {
                    lines.push((now, line));
                }
            }
            while agenda.first().is_some_and(|(t, _)| *t <= now) {
                match agenda.remove(0).1 {
                    Scheduled::Pay { invoice } => {
                        if let Some(line) = pay(store, payments, invoice, now, day).await? {
                            lines.push((now, line));
                        }
                    }
                    Scheduled::EnteredPayment { invoice } => {
                        if let Some(l) = ledger
                            && let Some(line) = entered_payment(store, l, invoice).await?
                        {
                            lines.push((now, line));
                        }
                    }
                    Scheduled::Edit(edit) => {
                        if let Some(l) = ledger {
                            lines.push((now, person_edit(l, &edit, today)?));
                        }
                    }
                }
            }
            // New marketplace leads, within each API's call budget.
            for api in leads.map(|l| l.apis()).unwrap_or_default() {
                let (_, r) = crate::leads::sync_step(store, api, clock, &lead_sync).await?;
                if r.leads_new > 0
                    && let Some((l, figures)) = table.as_mut()
                    && let Some(tab) = l.leads_tab()
                {
                    let n = crate::ledger_sync::append_leads(
                        store,
                        tab,
                        &l.options().source,
                        &zone,
                        now,
                    )
                    .await?;
                    figures.leads_appended += u32::try_from(n).unwrap_or(u32::MAX);
                }
                if r.leads_new > 0 {
                    summary.leads += r.leads_new;
                    summary.lead_buyers_new += r.buyers_new;
                    summary.lead_buyers_matched += r.buyers_matched;
                    lines.push((
                        now,
                        format!(
                            "  + leads     {}: {} new lead(s): {} new buyer(s), {} matched to buyers in the ledger",
                            api.source(),
                            r.leads_new,
                            r.buyers_new,
                            r.buyers_matched
                        ),
                    ));
                }
            }
            plan_and_apply(store, planner, now).await?;
            // Send what is due; the receipts come back as webhooks; buyers
            // who answer do so a little later, on WhatsApp; the inbox acts on
            // that and its answers go out, and so on while anyone answers.
            let next_tick = now.checked_add(SignedDuration::from_hours(1))?;
            let mut at = now;
            let mut sent = sender.send_due().await?;
            while !sent.is_empty() {
                let mut replies = Vec::new();
                for msg in settle(store, &sent).await? {
                    lines.extend(message_lines(store, planner, &msg, opts.verbose).await?);
                    count_sent(&mut summary, &msg);
                    if msg.message.is_reply() {
                        continue;
                    }
                    let mut counts = Vec::new();
                    for id in &msg.invoice_ids {
                        let n = reminders_seen.entry(*id).or_insert(0);
                        *n += 1;
                        counts.push((*id, *n));
                    }
                    let to_buyer = buyer_reminders.entry(msg.buyer_id).or_insert(0);
                    *to_buyer += 1;
                    let seen = Seen {
                        per_invoice: &counts,
                        to_buyer: *to_buyer,
                    };
                    let behaviour = behaviours.get(&msg.buyer_id).copied();
                    if let Some(reply) =
                        react(store, &zone, behaviour, &msg, seen, &mut agenda).await?
                    {
                        replies.push(reply);
                    }
                }
                at = at.checked_add(REPLY_AFTER)?;
                if replies.is_empty() || at >= next_tick {
                    break;
                }
                set_time(at);
                let stored = replies_through_whatsapp(store, whatsapp, &replies).await?;
                let report = process_inbox(store, &opts.inbound, planner, at, 100).await?;
                summary.buyer_replies += report.handled;
                for id in stored {
                    let entry = store.get_inbox_entry(id).await?;
                    lines.push((at, reply_line(store, planner, &entry).await?));
                }
                // A person reads what needs one: the rep records the dispute.
                for r in &replies {
                    if let Some(invoice) = r.disputes {
                        lines.push((at, record_dispute(store, planner, invoice, at).await?));
                    }
                }
                sent = sender.send_due().await?;
            }
        }
        // what `tagada serve`'s worker does on each pass: the day's changes
        // folded into the summary tables the dashboard reads
        crate::summary::refresh_summary(store, planner, None).await?;
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

    // The last day's reminders reach the table too.
    if let Some((l, figures)) = table.as_mut() {
        let at = clock.now();
        writeln!(
            out,
            "Last sync · {}",
            at.to_zoned_datetime(zone.clone())
                .strftime("%a %d %b %Y %H:%M")
        )?;
        for line in ledger::sync(store, *l, figures, at).await? {
            writeln!(out, "{line}")?;
        }
        ledger::print_table(*l, out).await?;
    }
    summary.ledger = table.map(|(_, figures)| figures);

    // The collection summary.
    // every payment of the run, however it came (a gateway's webhook, a
    // recorded transfer, an amount a person entered in the ledger table)
    let received: Vec<_> = store
        .list_payments(None)
        .await?
        .into_iter()
        .filter(|p| p.received_at >= local_midnight(opts.start, &zone))
        .collect();
    summary.payments = u32::try_from(received.len()).unwrap_or(u32::MAX);
    let end_totals = totals(store).await?;
    for (cur, (open_start, _)) in &start_totals {
        let (open_end, _) = end_totals.get(cur).copied().unwrap_or((0, 0));
        let collected: i64 = received
            .iter()
            .filter(|p| p.amount.currency().code() == cur)
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
    let sent = store
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Sent],
            ..OutboxFilter::default()
        })
        .await?;
    for m in &sent {
        match m.delivery {
            Some(DeliveryStatus::Read) => {
                summary.delivered += 1;
                summary.read += 1;
            }
            Some(DeliveryStatus::Delivered) => summary.delivered += 1,
            _ => {}
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
        "  WhatsApp: {} reminders, {} thank-yous and {} answers sent, {} delivered, {} read; {} replies from buyers, each acted on",
        summary.reminders_sent,
        summary.receipts_sent,
        summary.answers_sent,
        summary.delivered,
        summary.read,
        summary.buyer_replies
    )?;
    if let Some(tally) = whatsapp.tally() {
        writeln!(out, "  {tally}")?;
    }
    if let Some(f) = &summary.ledger {
        writeln!(
            out,
            "  ledger table: {} syncs, {} invoices created from rows and {} updated, {} rows deleted, {} refused; {} cells written back; {} leads appended; {} API requests in all",
            f.syncs,
            f.invoices_created,
            f.invoices_updated,
            f.rows_deleted,
            f.rows_refused,
            f.cells_written,
            f.leads_appended,
            f.requests
        )?;
    }
    if let Some(l) = leads {
        let sources: Vec<&str> = l.apis().iter().map(|a| a.source()).collect();
        writeln!(
            out,
            "  leads: {} from {} ({} new buyers, no consent until they order; {} matched to buyers in the ledger)",
            summary.leads,
            sources.join(" and "),
            summary.lead_buyers_new,
            summary.lead_buyers_matched
        )?;
    }
    writeln!(
        out,
        "  payments received: {}   invoices paid: {}   still open: {}",
        summary.payments, summary.invoices_paid, summary.invoices_open_at_end
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

/// Runs the dispatcher until nothing more is due now.
struct Sender<'a> {
    store: &'a dyn Store,
    channel: &'a Recorder<'a>,
    clock: &'a SimClock,
    zone: &'a TimeZone,
    dispatch: DispatchConfig,
}

impl Sender<'_> {
    /// Sends what is due; returns the messages the channel accepted.
    async fn send_due(&self) -> anyhow::Result<Vec<OutboxMessage>> {
        loop {
            let step = dispatch_step(
                self.store,
                self.channel,
                self.clock,
                &self.dispatch,
                "demo",
                self.zone,
            )
            .await?;
            if let Some(why) = step.halted {
                anyhow::bail!("the demo's WhatsApp channel refused to send: {why}");
            }
            if step.claimed == 0 {
                break;
            }
        }
        let mut sent = Vec::new();
        for id in self.channel.take() {
            sent.push(self.store.get_message(id).await?);
        }
        Ok(sent)
    }
}

/// Waits (at most [`RECEIPT_WAIT`]) until every message in `sent` has its
/// final receipt (read, or failed); returns them as they are then.
async fn settle(
    store: &dyn Store,
    sent: &[OutboxMessage],
) -> Result<Vec<OutboxMessage>, StoreError> {
    let deadline = tokio::time::Instant::now() + RECEIPT_WAIT;
    let mut rows = Vec::with_capacity(sent.len());
    for m in sent {
        let mut row = store.get_message(m.id).await?;
        while !matches!(
            row.delivery,
            Some(DeliveryStatus::Read | DeliveryStatus::Failed)
        ) && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
            row = store.get_message(m.id).await?;
        }
        rows.push(row);
    }
    Ok(rows)
}

fn count_sent(summary: &mut DemoSummary, msg: &OutboxMessage) {
    if msg.message.is_reply() {
        summary.answers_sent += 1;
    } else if msg.message.template_key == crate::payments::RECEIPT_TEMPLATE_KEY {
        summary.receipts_sent += 1;
    } else {
        summary.reminders_sent += 1;
    }
}

/// The buyer pays what `invoice` still owes: through its pay page's
/// gateway link when the demo has payments, else by a bank transfer
/// recorded directly.
async fn pay(
    store: &dyn Store,
    payments: Option<&dyn DemoPayments>,
    invoice: InvoiceId,
    now: Timestamp,
    day: u32,
) -> anyhow::Result<Option<String>> {
    let inv = store.get_invoice(invoice).await?;
    if !inv.status.is_open() {
        return Ok(None);
    }
    if let Some(p) = payments
        && let Some(how) = p.pay_through_link(&inv).await?
    {
        let after = store.get_invoice(invoice).await?;
        let buyer = store.get_buyer(inv.buyer_id).await?;
        return Ok(Some(format!(
            "  ₹ paid      {:<28} {} {} by {how}: now {}",
            buyer.company.as_deref().unwrap_or(&buyer.name),
            inv.number,
            inv.outstanding(),
            after.status
        )));
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
    Ok(Some(line))
}

/// A bank transfer for `invoice` lands and the accountant enters it in
/// the ledger table's Amount Paid; tagada records the payment at the next
/// sync.
async fn entered_payment(
    store: &dyn Store,
    ledger: &dyn DemoLedger,
    invoice: InvoiceId,
) -> anyhow::Result<Option<String>> {
    let inv = store.get_invoice(invoice).await?;
    if !inv.status.is_open() {
        return Ok(None);
    }
    ledger.edit(
        &inv.number,
        crate::ledger_sync::COL_PAID,
        &inv.amount.to_string(),
    );
    let buyer = store.get_buyer(inv.buyer_id).await?;
    Ok(Some(format!(
        "  ✎ table     {:<28} {} {} arrived by bank transfer: the accountant enters it in Amount Paid",
        buyer.company.as_deref().unwrap_or(&buyer.name),
        inv.number,
        inv.outstanding()
    )))
}

/// The accountant works in the ledger table.
fn person_edit(
    ledger: &dyn DemoLedger,
    edit: &ledger::PersonEdit,
    today: Date,
) -> anyhow::Result<String> {
    Ok(match *edit {
        ledger::PersonEdit::Set {
            number,
            column,
            value,
            why,
        } => {
            ledger.edit(number, column, value);
            format!("  ✎ table     the accountant sets {number} {column} to {value}: {why}")
        }
        ledger::PersonEdit::Add {
            number,
            buyer,
            currency,
            major,
            credit_days,
        } => {
            let b = SAMPLE
                .iter()
                .find(|b| b.key == buyer)
                .ok_or_else(|| anyhow::anyhow!("no sample buyer {buyer}"))?;
            let due = today.checked_add(credit_days.days())?;
            let amount = money(currency, major);
            let row = ledger::order_row(number, b, today, due, &amount);
            let cells: Vec<(&str, String)> = ledger::HEADER.iter().copied().zip(row).collect();
            ledger.add_row(&cells);
            format!(
                "  ✎ table     the accountant adds {number} for {}: {amount}, due {due}",
                b.company
            )
        }
        ledger::PersonEdit::Delete { number, why } => {
            ledger.delete_row(number);
            format!("  ✎ table     the accountant deletes the row of {number}: {why}")
        }
    })
}

/// `10:00 IST` in the buyer's zone.
fn buyer_time(at: Timestamp, zone_name: &str) -> String {
    let local = at.to_zoned_datetime(TimeZone::get(zone_name).unwrap_or(TimeZone::UTC));
    format!(
        "{} {:<5}",
        local.strftime("%H:%M"),
        local
            .time_zone()
            .iana_name()
            .map(short_zone)
            .unwrap_or("UTC")
    )
}

/// The receipt, WhatsApp style.
fn receipt(m: &OutboxMessage) -> String {
    match m.delivery {
        Some(DeliveryStatus::Read) => "✓✓ read".into(),
        Some(DeliveryStatus::Delivered) => "✓✓ delivered".into(),
        Some(DeliveryStatus::Sent) => "✓ sent".into(),
        Some(DeliveryStatus::Failed) => format!(
            "✗ failed: {}",
            m.last_error.as_deref().unwrap_or("no reason given")
        ),
        Some(DeliveryStatus::Accepted) | None => "· no receipt yet".into(),
    }
}

/// What an answer is, in a few words.
fn answer_label(key: &str) -> &str {
    match key {
        "paid" => "payment claim acknowledged",
        "promise" => "promise acknowledged",
        "stop" => "opt-out confirmed",
        "talk" => "the rep will call",
        "copy" => "invoice copy",
        other => other,
    }
}

/// A line for a sent message (and its body with `verbose`).
async fn message_lines(
    store: &dyn Store,
    planner: &PlannerConfig,
    msg: &OutboxMessage,
    verbose: bool,
) -> Result<Vec<(Timestamp, String)>, StoreError> {
    let buyer = store.get_buyer(msg.buyer_id).await?;
    let at = msg.sent_at.unwrap_or(msg.send_at);
    let company = buyer.company.as_deref().unwrap_or(&buyer.name);
    let mut numbers = Vec::new();
    for id in &msg.invoice_ids {
        let inv = store.get_invoice(*id).await?;
        numbers.push(if msg.message.is_reply() {
            inv.number.clone()
        } else {
            format!("{} ({})", inv.number, inv.outstanding())
        });
    }
    let when = buyer_time(at, buyer.zone_name(planner.home_zone_name()));
    let line = if msg.message.is_reply() {
        format!(
            "  ✉ {when} {company:<28} ↪ {}{} [{}]  {}",
            answer_label(&msg.message.template_key),
            if numbers.is_empty() {
                String::new()
            } else {
                format!(" ({})", numbers.join(", "))
            },
            match &msg.message.kind {
                MessageKind::Document { .. } => "document",
                _ => "text",
            },
            receipt(msg)
        )
    } else {
        format!(
            "  ✉ {when} {company:<28} {} [{} · {}]  {}",
            numbers.join(", "),
            msg.message.template_key,
            msg.message.language,
            receipt(msg)
        )
    };
    let mut lines = vec![(at, line)];
    if verbose {
        let body = match &msg.message.kind {
            MessageKind::Document { url, filename } => {
                format!("{filename} ({url}) “{}”", msg.message.body)
            }
            _ => msg.message.body.replace('\n', "\n      "),
        };
        lines.push((at, format!("      to {}: {body}", msg.to.masked())));
    }
    Ok(lines)
}

/// The line for a buyer's reply once the inbox handled it.
async fn reply_line(
    store: &dyn Store,
    planner: &PlannerConfig,
    entry: &InboxEntry,
) -> Result<String, StoreError> {
    let (company, zone, rep) = match entry.buyer_id {
        Some(id) => {
            let b = store.get_buyer(id).await?;
            (
                b.company.clone().unwrap_or_else(|| b.name.clone()),
                b.zone_name(planner.home_zone_name()).to_string(),
                b.sales_rep.clone(),
            )
        }
        None => (
            format!("+{}", entry.from.trim_start_matches('+')),
            planner.home_zone_name().to_string(),
            None,
        ),
    };
    let text = entry
        .text
        .as_deref()
        .or(entry.payload.as_deref())
        .unwrap_or("");
    let said = match entry.kind.as_str() {
        "button" | "interactive" => format!("tapped “{text}”"),
        _ => format!("“{text}”"),
    };
    let (action, alert) = match &entry.handling {
        Some(h) => (
            h.action.clone(),
            if h.needs_attention {
                format!(" · {} alerted", rep.as_deref().unwrap_or("a person"))
            } else {
                String::new()
            },
        ),
        None => ("not handled yet".into(), String::new()),
    };
    Ok(format!(
        "  ↩ {} {company:<28} {said} → {action}{alert}",
        buyer_time(entry.sent_at, &zone)
    ))
}

/// Sends each buyer's reply through WhatsApp and waits (bounded) until
/// tagada's webhook has stored them all; returns their inbox ids.
async fn replies_through_whatsapp(
    store: &dyn Store,
    whatsapp: &dyn DemoWhatsApp,
    replies: &[BuyerReply],
) -> anyhow::Result<Vec<i64>> {
    for r in replies {
        match &r.said {
            Said::Tap(button, title) => {
                whatsapp
                    .tap_button(
                        &r.to,
                        r.provider_id.as_deref(),
                        &button.payload(r.outbox_id.get()),
                        title,
                    )
                    .await;
            }
            Said::Write(text) => whatsapp.write(&r.to, text).await,
        }
    }
    let deadline = tokio::time::Instant::now() + RECEIPT_WAIT;
    loop {
        let waiting = store.unhandled_inbound(1000).await?;
        if waiting.len() >= replies.len() {
            return Ok(waiting.iter().map(|e| e.id).collect());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "{} of the buyers' {} replies reached tagada's webhook",
                waiting.len(),
                replies.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The sales rep reads the buyer's complaint and records the dispute.
async fn record_dispute(
    store: &dyn Store,
    planner: &PlannerConfig,
    invoice: InvoiceId,
    at: Timestamp,
) -> Result<String, StoreError> {
    let inv = store.get_invoice(invoice).await?;
    let buyer = store.get_buyer(inv.buyer_id).await?;
    let rep = buyer.sales_rep.clone().unwrap_or_else(|| "The rep".into());
    store
        .apply_invoice_event(
            invoice,
            &InvoiceEvent::Disputed,
            Some(&NewNote {
                buyer_id: inv.buyer_id,
                invoice_id: Some(invoice),
                at,
                kind: NoteKind::Note,
                author: Some(rep.clone()),
                text: "3 cartons arrived damaged; replacement or credit note to be agreed".into(),
            }),
            at,
        )
        .await?;
    Ok(format!(
        "  ⚑ {} {:<28} {rep} records {} as disputed: reminders stop",
        buyer_time(at, buyer.zone_name(planner.home_zone_name())),
        buyer.company.as_deref().unwrap_or(&buyer.name),
        inv.number
    ))
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

/// How many reminders a buyer has had, this one included.
#[derive(Debug, Clone, Copy)]
struct Seen<'a> {
    /// About each invoice of this reminder.
    per_invoice: &'a [(InvoiceId, u32)],
    /// In all.
    to_buyer: u32,
}

/// The scripted buyer's reaction to a reminder. Payments go on the agenda;
/// what the buyer says is returned, to be sent on WhatsApp.
async fn react(
    store: &dyn Store,
    zone: &TimeZone,
    behaviour: Option<Behaviour>,
    msg: &OutboxMessage,
    seen: Seen<'_>,
    agenda: &mut Vec<(Timestamp, Scheduled)>,
) -> Result<Option<BuyerReply>, StoreError> {
    let counts = seen.per_invoice;
    let at = msg.sent_at.unwrap_or(msg.send_at);
    let today = at.to_zoned_datetime(zone.clone()).date();
    let pay_after = |agenda: &mut Vec<(Timestamp, Scheduled)>, invoice, days: i64| {
        let when = at
            .checked_add(SignedDuration::from_hours(24 * days))
            .unwrap_or(at);
        agenda.push((when, Scheduled::Pay { invoice }));
    };
    let reply = |said: Said, disputes: Option<InvoiceId>| {
        Some(BuyerReply {
            to: msg.to.clone(),
            outbox_id: msg.id,
            provider_id: msg.provider_id.clone(),
            said,
            disputes,
        })
    };
    let first = counts.iter().find(|(_, n)| *n == 1).map(|(id, _)| *id);
    Ok(match behaviour {
        Some(Behaviour::AfterReminders { nth, delay }) => {
            for (id, n) in counts {
                if *n == nth {
                    pay_after(agenda, *id, delay);
                }
            }
            None
        }
        Some(Behaviour::ClaimsPaid { nth, delay }) => {
            let due: Vec<InvoiceId> = counts
                .iter()
                .filter(|(_, n)| *n == nth)
                .map(|(id, _)| *id)
                .collect();
            for id in &due {
                pay_after(agenda, *id, delay);
            }
            if due.is_empty() {
                None
            } else {
                reply(Said::Tap(QuickReply::PaidAlready, "Paid already"), None)
            }
        }
        Some(Behaviour::AsksForCopy { nth, delay }) => {
            for (id, n) in counts {
                if *n == nth {
                    pay_after(agenda, *id, delay);
                }
            }
            if seen.to_buyer == 1 {
                reply(
                    Said::Tap(QuickReply::SendInvoiceCopy, "Send invoice copy"),
                    None,
                )
            } else {
                None
            }
        }
        Some(Behaviour::Promises { days_after_due }) => {
            let mut promised = None;
            for (id, _) in counts {
                let inv = store.get_invoice(*id).await?;
                if inv.snoozed_until.is_some() || inv.days_overdue(today) <= 0 {
                    continue;
                }
                let on = *promised.get_or_insert_with(|| {
                    inv.due_date
                        .checked_add(days_after_due.days())
                        .unwrap_or(inv.due_date)
                        .max(today.checked_add(2.days()).unwrap_or(today))
                });
                let when = local_midnight(on, zone)
                    .checked_add(SignedDuration::from_hours(12))
                    .unwrap_or(at);
                agenda.push((when, Scheduled::Pay { invoice: *id }));
            }
            promised.and_then(|on: Date| {
                reply(
                    Said::Write(format!(
                        "Sorry for the delay, will pay on {}",
                        on.strftime("%-d %b")
                    )),
                    None,
                )
            })
        }
        Some(Behaviour::Disputes) => first.and_then(|id| {
            reply(
                Said::Write("3 cartons arrived damaged, we will not pay the full amount".into()),
                Some(id),
            )
        }),
        Some(Behaviour::OptsOut) if first.is_some() => reply(Said::Write("STOP".into()), None),
        _ => None,
    })
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
