//! The dispatcher against a real SQLite store and a scripted channel: each
//! reminder reaches the buyer once, whatever the channel does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use tagada_app::channel::{Channel, ChannelError, OutgoingMessage, SendReceipt};
use tagada_app::clock::SimClock;
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::outbox::OutboxStatus;
use tagada_core::planner::{Plan, PlannedItem, PlannedMessage, RenderedMessage};
use tagada_core::{BuyerId, CountryCode, Currency, InvoiceId, Money, OutboxId, Phone};
use tagada_store::{
    LedgerStore, Migrate, NewBuyer, NewInvoice, NewPayment, OutboxFilter, OutboxStore, Store,
};
use tagada_store_sqlite::SqliteStore;

/// What the channel answers, in order; `Ok` once the script runs out.
#[derive(Debug, Default, Clone)]
struct Scripted {
    script: Arc<Mutex<VecDeque<ChannelError>>>,
    /// Messages the channel accepted: what reached buyers.
    accepted: Arc<Mutex<Vec<OutboxId>>>,
    calls: Arc<Mutex<u32>>,
    /// The messaging limit it reports.
    limit: Option<u32>,
}

impl Scripted {
    fn failing_with(errors: Vec<ChannelError>) -> Scripted {
        Scripted {
            script: Arc::new(Mutex::new(errors.into())),
            ..Default::default()
        }
    }
    fn accepted(&self) -> Vec<OutboxId> {
        self.accepted.lock().unwrap().clone()
    }
    fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }
}

#[async_trait]
impl Channel for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn recipients_per_day(&self) -> Option<u32> {
        self.limit
    }
    async fn send(&self, m: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(e) = self.script.lock().unwrap().pop_front() {
            return Err(e);
        }
        self.accepted.lock().unwrap().push(m.outbox_id);
        Ok(SendReceipt {
            provider_id: Some(format!("wamid.{}", m.outbox_id.get())),
        })
    }
}

fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

fn ist() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Kolkata").unwrap()
}

async fn store() -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    s
}

/// Adds `n` buyers with one overdue invoice each and enqueues one message
/// per buyer, due at `t0`.
async fn seed(store: &dyn Store, n: usize) -> Vec<InvoiceId> {
    seed_with(store, n, |_| 0).await
}

/// [`seed`] with the debt-based priority of buyer `i`'s message.
async fn seed_with(store: &dyn Store, n: usize, priority: impl Fn(usize) -> i64) -> Vec<InvoiceId> {
    let mut plan = Plan {
        now: t0(),
        messages: vec![],
        skipped: vec![],
        not_loaded_not_yet_due: 0,
    };
    let mut ids = vec![];
    for i in 0..n {
        let phone =
            Phone::parse(&format!("98{:08}", 10_000_000 + i), &CountryCode::india()).unwrap();
        let (buyer_id, _) = store
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: format!("Buyer {i}"),
                whatsapp: Some(phone.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let number = format!("INV-{i}");
        let out = store
            .upsert_invoices(
                &[NewInvoice {
                    number: number.clone(),
                    buyer_id,
                    order_date: None,
                    invoice_date: date(2026, 10, 1),
                    due_date: date(2026, 11, 1),
                    credit_days: Some(31),
                    amount: Money::from_minor(100_000_00, Currency::INR),
                    amount_paid: Money::zero(Currency::INR),
                    status: InvoiceStatus::Pending,
                    source: "test".into(),
                    source_hash: number.clone(),
                    notes: None,
                }],
                t0(),
            )
            .await
            .unwrap();
        let invoice_id = match out[0] {
            tagada_store::InvoiceUpsert::Created { id } => id,
            ref o => panic!("unexpected {o:?}"),
        };
        ids.push(invoice_id);
        let mut m = message(buyer_id, phone, invoice_id, &number);
        m.priority = priority(i);
        plan.messages.push(m);
    }
    let applied = store.apply_plan(&plan, t0()).await.unwrap();
    assert_eq!(applied.messages_enqueued as usize, n);
    ids
}

fn message(buyer_id: BuyerId, to: Phone, invoice_id: InvoiceId, number: &str) -> PlannedMessage {
    PlannedMessage {
        buyer_id,
        buyer_name: format!("Buyer {}", buyer_id.get()),
        to,
        send_at: t0(),
        zone: "Asia/Kolkata".into(),
        segment: "default".into(),
        cadence: "standard".into(),
        items: vec![PlannedItem {
            invoice_id,
            invoice_number: number.into(),
            step: 2,
            step_name: "overdue+7".into(),
            offset_days: 7,
            cycle: 0,
            outstanding: Money::from_minor(100_000_00, Currency::INR),
            due_date: date(2026, 11, 1),
            days_overdue: 33,
        }],
        message: RenderedMessage {
            template_key: "overdue".into(),
            whatsapp_name: "payment_overdue".into(),
            language: "en".into(),
            parameters: vec![format!("Buyer {}", buyer_id.get()), number.into()],
            body: format!("Invoice {number} is overdue."),
            kind: Default::default(),
            header_document: None,
            buttons: Vec::new(),
        },
        escalate: false,
        sales_rep: None,
        dedupe_key: format!("b{}:i{}.2.0", buyer_id.get(), invoice_id.get()),
        priority: 0,
    }
}

async fn statuses(store: &dyn Store) -> Vec<OutboxStatus> {
    store
        .list_messages(&OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.status)
        .collect()
}

#[tokio::test]
async fn a_message_is_sent_once_and_only_once() {
    let s = store().await;
    seed(&s, 3).await;
    let clock = SimClock::new(t0());
    let ch = Scripted::default();
    let cfg = DispatchConfig::default();
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!((r.claimed, r.sent), (3, 3));
    clock.advance(SignedDuration::from_hours(48));
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.claimed, 0);
    assert_eq!(ch.accepted().len(), 3);
    assert_eq!(statuses(&s).await, vec![OutboxStatus::Sent; 3]);
}

#[tokio::test]
async fn a_payment_before_sending_cancels_the_message() {
    let s = store().await;
    let ids = seed(&s, 1).await;
    let inv = s.get_invoice(ids[0]).await.unwrap();
    let paid = s
        .record_payment(
            &NewPayment {
                invoice_number: Some(inv.number.clone()),
                invoice_id: Some(inv.id),
                buyer_id: Some(inv.buyer_id),
                amount: inv.outstanding(),
                received_at: t0(),
                method: PaymentMethod::Upi,
                reference: Some("UTR1".into()),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(paid.invoice.unwrap().status, InvoiceStatus::Paid);
    let ch = Scripted::default();
    let clock = SimClock::new(t0());
    dispatch_step(&s, &ch, &clock, &DispatchConfig::default(), "w1", &ist())
        .await
        .unwrap();
    assert_eq!(ch.calls(), 0, "nothing reached the channel");
    assert_eq!(statuses(&s).await, vec![OutboxStatus::Cancelled]);
}

#[tokio::test]
async fn an_invoice_paid_after_the_claim_is_caught_by_the_send_time_recheck() {
    let s = store().await;
    let ids = seed(&s, 1).await;
    let clock = SimClock::new(t0());
    // Claim by hand, then pay, then let the dispatcher run the claimed row.
    let claimed = s
        .claim(t0(), 10, SignedDuration::from_secs(1), "other")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let inv = s.get_invoice(ids[0]).await.unwrap();
    s.apply_invoice_event(
        inv.id,
        &tagada_core::ledger::InvoiceEvent::Disputed,
        None,
        t0(),
    )
    .await
    .unwrap();
    // The other worker's lease expires before it sent anything; ours reclaims.
    clock.advance(SignedDuration::from_secs(5));
    let ch = Scripted::default();
    dispatch_step(&s, &ch, &clock, &DispatchConfig::default(), "w1", &ist())
        .await
        .unwrap();
    assert_eq!(ch.calls(), 0);
    assert!(
        statuses(&s)
            .await
            .iter()
            .all(|st| *st == OutboxStatus::Cancelled)
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_backoff_and_reach_the_buyer_once() {
    let s = store().await;
    seed(&s, 1).await;
    let clock = SimClock::new(t0());
    let ch = Scripted::failing_with(vec![
        ChannelError::RateLimited {
            retry_after: None,
            detail: "131056".into(),
        },
        ChannelError::Transient {
            detail: "503".into(),
        },
    ]);
    let cfg = DispatchConfig::default();
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.retried, 1);
    // Not claimable again before its retry time.
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.claimed, 0);
    clock.advance(SignedDuration::from_secs(37)); // first backoff 30 s + at most 20% jitter
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.retried, 1);
    clock.advance(SignedDuration::from_secs(145));
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(ch.calls(), 3);
    assert_eq!(ch.accepted().len(), 1);
    let msg = &s.list_messages(&OutboxFilter::default()).await.unwrap()[0];
    assert_eq!(s.list_attempts(msg.id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_ambiguous_failure_is_never_resent() {
    let s = store().await;
    seed(&s, 1).await;
    let clock = SimClock::new(t0());
    let ch = Scripted::failing_with(vec![ChannelError::Ambiguous {
        detail: "timeout after write".into(),
    }]);
    let cfg = DispatchConfig::default();
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.needs_review, 1);
    clock.advance(SignedDuration::from_hours(72));
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.claimed, 0);
    assert_eq!(ch.calls(), 1);
    assert_eq!(statuses(&s).await, vec![OutboxStatus::NeedsReview]);
}

#[tokio::test]
async fn permanent_refusals_and_exhausted_retries_end_dead() {
    let s = store().await;
    seed(&s, 1).await;
    let clock = SimClock::new(t0());
    let ch = Scripted::failing_with(vec![ChannelError::Rejected {
        detail: "131026 not on WhatsApp".into(),
    }]);
    let cfg = DispatchConfig::default();
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.dead, 1);

    let s = store().await;
    seed(&s, 1).await;
    let cfg = DispatchConfig {
        max_attempts: 2,
        ..DispatchConfig::default()
    };
    let ch = Scripted::failing_with(vec![
        ChannelError::Transient {
            detail: "500".into()
        };
        5
    ]);
    dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    clock.advance(SignedDuration::from_hours(1));
    let r = dispatch_step(&s, &ch, &clock, &cfg, "w1", &ist())
        .await
        .unwrap();
    assert_eq!(r.dead, 1);
    assert_eq!(ch.accepted().len(), 0);
    assert_eq!(statuses(&s).await, vec![OutboxStatus::Dead]);
}

#[tokio::test]
async fn refused_credentials_halt_the_batch_untouched() {
    let s = store().await;
    seed(&s, 4).await;
    let clock = SimClock::new(t0());
    let ch = Scripted::failing_with(vec![ChannelError::Unauthorized {
        detail: "190 token expired".into(),
    }]);
    let r = dispatch_step(&s, &ch, &clock, &DispatchConfig::default(), "w1", &ist())
        .await
        .unwrap();
    assert!(r.halted.is_some());
    assert_eq!(ch.calls(), 1, "the rest of the batch was not attempted");
    assert_eq!(r.retried, 4);
    assert!(ch.accepted().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_deliver_each_message_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = Arc::new(SqliteStore::open(&url).await.unwrap());
    s.migrate().await.unwrap();
    seed(s.as_ref(), 60).await;
    let ch = Scripted::default();
    let mut tasks = vec![];
    for w in 0..4 {
        let s = s.clone();
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            let clock = SimClock::new(t0());
            let cfg = DispatchConfig {
                batch_size: 7,
                ..DispatchConfig::default()
            };
            loop {
                let r = dispatch_step(s.as_ref(), &ch, &clock, &cfg, &format!("w{w}"), &ist())
                    .await
                    .unwrap();
                if r.claimed == 0 {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut got = ch.accepted();
    got.sort();
    let n = got.len();
    got.dedup();
    assert_eq!(n, 60, "every message sent");
    assert_eq!(got.len(), 60, "none sent twice");
}

#[tokio::test]
async fn the_messaging_limit_holds_new_recipients_back_largest_debt_first() {
    let s = store().await;
    // buyer i owes i lakh: buyers 4 and 3 owe the most
    seed_with(&s, 5, |i| (i as i64 + 1) * 1_00_000_00).await;
    let channel = Scripted {
        limit: Some(2),
        ..Default::default()
    };
    let clock = SimClock::new(t0());
    let cfg = DispatchConfig::default();
    let step = dispatch_step(&s, &channel, &clock, &cfg, "w", &ist())
        .await
        .unwrap();
    assert_eq!((step.sent, step.deferred), (2, 3), "{step:?}");
    let sent_to = |ids: Vec<OutboxId>| {
        let s = &s;
        async move {
            let mut names = vec![];
            for id in ids {
                let m = s.get_message(id).await.unwrap();
                names.push(s.get_buyer(m.buyer_id).await.unwrap().name);
            }
            // sent concurrently within a step: compare as sets
            names.sort();
            names
        }
    };
    assert_eq!(
        sent_to(channel.accepted()).await,
        vec!["Buyer 3", "Buyer 4"],
        "largest debt first"
    );
    let waiting = s
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Pending],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(waiting.len(), 3);
    assert!(
        waiting
            .iter()
            .all(|m| m.attempts == 0 && m.not_before > t0())
    );
    assert!(
        waiting[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("messaging limit of 2")
    );

    // still full an hour later: nothing new goes out
    clock.advance(SignedDuration::from_hours(1));
    let step = dispatch_step(&s, &channel, &clock, &cfg, "w", &ist())
        .await
        .unwrap();
    assert_eq!((step.sent, step.deferred), (0, 3));

    // a day later the slots are free again: the next two by debt
    clock.advance(SignedDuration::from_hours(24));
    let step = dispatch_step(&s, &channel, &clock, &cfg, "w", &ist())
        .await
        .unwrap();
    assert_eq!((step.sent, step.deferred), (2, 1));
    assert_eq!(
        sent_to(channel.accepted()).await,
        vec!["Buyer 1", "Buyer 2", "Buyer 3", "Buyer 4"]
    );
    assert_eq!(channel.calls(), 4, "nothing was tried beyond the limit");
}

/// A channel that, while the first message of a batch is on the wire,
/// records a payment for another buyer's invoice, whose message is already
/// claimed in the same batch (it goes out in the next wave).
#[derive(Debug)]
struct PaysDuringSend {
    inner: Scripted,
    store: SqliteStore,
    invoices: Vec<InvoiceId>,
    /// Minor units paid into the other invoice (`None`: all of it).
    amount: Option<i64>,
    paid: Mutex<bool>,
}

#[async_trait]
impl Channel for PaysDuringSend {
    fn name(&self) -> &str {
        "pays-during-send"
    }
    async fn send(&self, m: &OutgoingMessage<'_>) -> Result<SendReceipt, ChannelError> {
        let first = !std::mem::replace(&mut *self.paid.lock().unwrap(), true);
        if first {
            let first_buyer = Phone::parse("9810000000", &CountryCode::india()).unwrap();
            let other = if *m.to == first_buyer {
                self.invoices[1]
            } else {
                self.invoices[0]
            };
            let inv = self.store.get_invoice(other).await.unwrap();
            let amount = self
                .amount
                .map(|a| Money::from_minor(a, Currency::INR))
                .unwrap_or(inv.outstanding());
            let out = self
                .store
                .record_payment(
                    &NewPayment {
                        invoice_number: None,
                        invoice_id: Some(other),
                        buyer_id: None,
                        amount,
                        received_at: t0(),
                        method: PaymentMethod::Razorpay,
                        reference: Some("pay_DuringSend01".into()),
                    },
                    t0(),
                )
                .await
                .unwrap();
            // claimed, so not pending: the payment itself cancels nothing
            assert_eq!(out.cancelled_messages, 0);
        }
        self.inner.send(m).await
    }
}

async fn pay_while_claimed(amount: Option<i64>) -> (PaysDuringSend, SqliteStore) {
    let s = store().await;
    let invoices = seed(&s, 2).await;
    let ch = PaysDuringSend {
        inner: Scripted::default(),
        store: s.clone(),
        invoices,
        amount,
        paid: Mutex::new(false),
    };
    let clock = SimClock::new(t0());
    let step = dispatch_step(&s, &ch, &clock, &DispatchConfig::default(), "w1", &ist())
        .await
        .unwrap();
    // both were claimed in one batch, before the payment
    assert_eq!(step.claimed, 2);
    (ch, s)
}

#[tokio::test]
async fn a_payment_while_the_reminder_is_claimed_stops_it_at_send_time() {
    let (ch, s) = pay_while_claimed(None).await;
    assert_eq!(
        ch.inner.calls(),
        1,
        "only the first message reached the channel"
    );
    let mut st = statuses(&s).await;
    st.sort_by_key(|s| s.as_str());
    assert_eq!(st, vec![OutboxStatus::Cancelled, OutboxStatus::Sent]);
}

#[tokio::test]
async fn a_part_payment_while_claimed_stops_the_old_amount_at_send_time() {
    let (ch, s) = pay_while_claimed(Some(30_000_00)).await;
    assert_eq!(ch.inner.calls(), 1);
    let messages = s.list_messages(&OutboxFilter::default()).await.unwrap();
    let cancelled: Vec<_> = messages
        .iter()
        .filter(|m| m.status == OutboxStatus::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 1);
    let why = cancelled[0].last_error.clone().unwrap_or_default();
    assert!(
        why.contains("a payment arrived since it was planned"),
        "{why}"
    );
    assert!(why.contains("₹70,000.00"), "{why}");
}
