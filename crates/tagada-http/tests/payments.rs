//! Payments end to end over real HTTP: a reminder goes out through the fake
//! Cloud API with the invoice's pay page as its link; the buyer opens the
//! page and picks Razorpay (or Stripe), tagada makes the link at the fake
//! gateway, the buyer pays in part and then in full, and the gateway's
//! signed webhooks come back to tagada's router. The fakes' own records are
//! what the assertions read.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use tagada_app::clock::{Clock, SimClock};
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_app::payments::{Gateways, PaymentsConfig};
use tagada_app::planning::plan_and_apply;
use tagada_app::whatsapp::{Secret, WhatsAppChannel, WhatsAppConfig};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::outbox::OutboxStatus;
use tagada_core::{CountryCode, Currency, InvoiceId, Money, Phone};
use tagada_fakes::marketplace::FakeClock;
use tagada_fakes::meta::{MetaFake, MetaFakeConfig};
use tagada_fakes::{RazorpayFake, RazorpayFakeConfig, StripeFake, StripeFakeConfig};
use tagada_http::{HttpState, LedgerHttp};
use tagada_store::{
    ImportStore, LedgerStore, Migrate, NewBuyer, NewInvoice, OutboxFilter, OutboxStore,
    PaymentLinkFilter, PaymentLinkStore, WebhookStore,
};
use tagada_store_sqlite::SqliteStore;

/// Friday 4 December 2026, 10:30 in India: inside business hours.
fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

fn ist() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Kolkata").unwrap()
}

fn inr(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

/// Everything one test runs against.
struct World {
    store: Arc<SqliteStore>,
    clock: SimClock,
    base: String,
    meta: MetaFake,
    channel: WhatsAppChannel,
    razorpay: RazorpayFake,
    stripe: StripeFake,
    http: reqwest::Client,
    planner: PlannerConfig,
}

async fn world() -> World {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    let clock = SimClock::new(t0());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");

    let razorpay = RazorpayFake::start(RazorpayFakeConfig {
        webhook_url: Some(format!("{base}/webhooks/razorpay")),
        clock: FakeClock::Frozen(t0()),
        ..Default::default()
    })
    .await
    .unwrap();
    let stripe = StripeFake::start(StripeFakeConfig {
        webhook_url: Some(format!("{base}/webhooks/stripe")),
        clock: FakeClock::Frozen(t0()),
        ..Default::default()
    })
    .await
    .unwrap();

    let mut planner = PlannerConfig::default();
    planner.seller.company = "Example Exports".into();
    planner.seller.payment_link_base_url = base.clone();
    let mut pay = PaymentsConfig::default();
    pay.upi.vpa = "example.exports@okhdfc".into();
    pay.razorpay.enabled = true;
    pay.razorpay.base_url = razorpay.base_url();
    pay.razorpay.key_id = razorpay.config().key_id.clone();
    pay.razorpay.key_secret = Secret::new(razorpay.config().key_secret.clone());
    pay.razorpay.webhook_secret = Secret::new(razorpay.config().webhook_secret.clone());
    pay.stripe.enabled = true;
    pay.stripe.base_url = stripe.base_url();
    pay.stripe.secret_key = Secret::new(stripe.config().secret_key.clone());
    pay.stripe.webhook_secret = Secret::new(stripe.config().webhook_secret.clone());
    pay.validate(&planner.seller.company).unwrap();

    let state = HttpState {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        whatsapp: None,
        inbox: Arc::new(tokio::sync::Notify::new()),
        max_body_bytes: 1 << 20,
        indiamart_push: None,
        ledger: Some(LedgerHttp {
            gateways: Gateways::from_config(&pay),
            cfg: Arc::new(pay),
            planner: Arc::new(planner.clone()),
            home_country: CountryCode::india(),
            messaging_limit: 0,
            template_check_minutes: 60,
            preview: Default::default(),
        }),
    };
    tokio::spawn(async move {
        axum::serve(listener, tagada_http::router(state))
            .await
            .unwrap();
    });

    let meta = MetaFake::start(MetaFakeConfig {
        templates: tagada_fakes::meta::account_from_listing(
            planner
                .templates
                .iter()
                .map(tagada_app::templates::expected_template),
        ),
        ..MetaFakeConfig::default()
    })
    .await
    .unwrap();
    let channel = WhatsAppChannel::from_config(&WhatsAppConfig {
        enabled: true,
        base_url: meta.base_url(),
        phone_number_id: meta.config().phone_number_id.clone(),
        waba_id: meta.config().waba_id.clone(),
        access_token: Secret::new(meta.config().access_token.clone()),
        per_recipient_interval_secs: 0,
        ..Default::default()
    })
    .unwrap();
    World {
        store,
        clock,
        base,
        meta,
        channel,
        razorpay,
        stripe,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        planner,
    }
}

impl World {
    /// The invoice's pay token, issued now if it has none yet.
    async fn token(&self, invoice: tagada_core::InvoiceId) -> String {
        use tagada_store::PaymentLinkStore;
        self.store.pay_tokens(&[invoice]).await.unwrap().remove(0).1
    }

    async fn add_invoice(
        &self,
        i: u32,
        country: &str,
        amount: Money,
        due: jiff::civil::Date,
    ) -> InvoiceId {
        let country = CountryCode::parse(country).unwrap();
        let (buyer_id, _) = self
            .store
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: format!("Buyer {i} Traders"),
                whatsapp: Some(
                    Phone::parse(&format!("+9198{:08}", 40_000_000 + i), &country).unwrap(),
                ),
                country: Some(country),
                ..Default::default()
            })
            .await
            .unwrap();
        let number = format!("INV-{i:04}");
        self.store
            .upsert_invoices(
                &[NewInvoice {
                    number: number.clone(),
                    buyer_id,
                    order_date: None,
                    invoice_date: date(2026, 11, 1),
                    due_date: due,
                    credit_days: None,
                    amount,
                    amount_paid: Money::zero(amount.currency()),
                    status: InvoiceStatus::Pending,
                    source: "test".into(),
                    source_hash: number.clone(),
                    notes: None,
                }],
                t0(),
            )
            .await
            .unwrap();
        self.store.find_invoice(&number).await.unwrap().unwrap().id
    }

    /// Moves tagada's clock and the gateways' together (Stripe signs with
    /// its time; tagada checks it against its own).
    fn set_time(&self, at: Timestamp) {
        self.clock.set(at);
        self.razorpay.set_clock(at);
        self.stripe.set_clock(at);
    }

    /// Plans, then sends until nothing is due now.
    async fn plan_and_send(&self) {
        plan_and_apply(self.store.as_ref(), &self.planner, self.clock.now())
            .await
            .unwrap();
        for _ in 0..20 {
            let r = dispatch_step(
                self.store.as_ref(),
                &self.channel,
                &self.clock,
                &DispatchConfig::default(),
                "test",
                &ist(),
            )
            .await
            .unwrap();
            if r.claimed == 0 {
                break;
            }
        }
    }

    /// Template names the fake Cloud API accepted, in order.
    fn templates_sent(&self) -> Vec<String> {
        self.meta
            .accepted()
            .into_iter()
            .filter_map(|m| m.template)
            .collect()
    }

    /// The pay page link of the last reminder that carried one.
    async fn last_pay_link(&self) -> String {
        let messages = self
            .store
            .list_messages(&OutboxFilter::default())
            .await
            .unwrap();
        messages
            .iter()
            .rev()
            .flat_map(|m| m.message.parameters.iter())
            .find(|p| p.starts_with(&format!("{}/pay/", self.base)))
            .cloned()
            .expect("a reminder with a pay link")
    }

    /// Opens the page's gateway button; where it sends the buyer.
    async fn choose(&self, page: &str, gateway: &str) -> String {
        let resp = self
            .http
            .post(format!("{page}/{gateway}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
        resp.headers()["location"].to_str().unwrap().to_string()
    }

    async fn page_text(&self, page: &str) -> String {
        let resp = self.http.get(page).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
        resp.text().await.unwrap()
    }

    async fn counts(&self, invoice: InvoiceId) -> (usize, usize, usize, Money) {
        let payments = self.store.list_payments(Some(invoice)).await.unwrap().len();
        let events = self
            .store
            .list_webhook_events("razorpay")
            .await
            .unwrap()
            .len()
            + self
                .store
                .list_webhook_events("stripe")
                .await
                .unwrap()
                .len();
        let thanks = self
            .store
            .list_messages(&OutboxFilter::default())
            .await
            .unwrap()
            .iter()
            .filter(|m| m.message.template_key == "payment_received")
            .count();
        let paid = self.store.get_invoice(invoice).await.unwrap().amount_paid;
        (payments, events, thanks, paid)
    }

    /// Posts a recorded delivery again, byte for byte, with its headers.
    async fn post_again(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
        let mut req = self.http.post(url).body(body.to_vec());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send().await.unwrap().status().as_u16()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_link_paid_in_part_then_in_full() {
    let w = world().await;
    let inv = w
        .add_invoice(1, "IN", inr(1_18_000_00), date(2026, 12, 7))
        .await;

    // three days before the due date: the first reminder, with the pay page
    w.plan_and_send().await;
    assert_eq!(w.templates_sent(), vec!["payment_upcoming"]);
    let page = w.last_pay_link().await;
    let token = page.rsplit('/').next().unwrap().to_string();
    assert!(token.len() >= 32 && !token.contains("INV"), "{token}");
    let html = w.page_text(&page).await;
    assert!(html.contains("₹1,18,000.00"), "{html}");
    assert!(
        html.contains(
            "upi://pay?pa=example.exports@okhdfc&amp;pn=Example%20Exports&amp;tr=INV-0001"
        )
    );
    assert!(html.contains(&format!("/pay/{token}/razorpay")));
    // a USD gateway is not offered for an INR invoice
    assert!(!html.contains(&format!("/pay/{token}/stripe")));
    let qr = w.http.get(format!("{page}/qr.png")).send().await.unwrap();
    assert_eq!(qr.headers()["content-type"], "image/png");
    assert_eq!(&qr.bytes().await.unwrap()[..4], b"\x89PNG");
    // a made-up token is a plain 404
    let missing = w
        .http
        .get(format!("{}/pay/{}", w.base, "0".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // the buyer picks Razorpay: one link, SMS/e-mail/reminders off
    let url = w.choose(&page, "razorpay").await;
    let links = w.razorpay.links();
    assert_eq!(links.len(), 1);
    let link = &links[0];
    assert_eq!(url, link.short_url);
    assert_eq!((link.amount, link.currency.as_str()), (1_18_000_00, "INR"));
    assert_eq!(link.reference_id, "INV-0001");
    assert!(link.accept_partial);
    assert!(!link.reminder_enable);
    assert_eq!(link.notify["sms"], false);
    assert_eq!(link.notify["email"], false);
    assert_eq!(link.notes["invoice_number"], "INV-0001");
    // opened again: the same link
    assert_eq!(w.choose(&page, "razorpay").await, url);
    assert_eq!(w.razorpay.links().len(), 1);

    // ₹40,000 paid: partially paid, the page asks for the rest
    w.razorpay
        .pay(&link.id, Some(40_000_00), "upi")
        .await
        .unwrap();
    let after = w.store.get_invoice(inv).await.unwrap();
    assert_eq!(after.status, InvoiceStatus::PartiallyPaid);
    assert_eq!(after.amount_paid, inr(40_000_00));
    assert!(w.page_text(&page).await.contains("₹78,000.00"));
    // the link still asks for exactly what is owed: reused
    assert_eq!(w.choose(&page, "razorpay").await, url);

    // due date: the reminder shows what is left
    w.set_time("2026-12-07T05:00:00Z".parse().unwrap());
    w.plan_and_send().await;
    assert_eq!(
        w.templates_sent(),
        vec!["payment_upcoming", "payment_due_today"]
    );
    let last = w.meta.accepted().pop().unwrap();
    assert!(
        last.body.to_string().contains("₹78,000.00"),
        "{}",
        last.body
    );

    // the rest, by card: paid, the thank-you goes out once
    w.razorpay.pay(&link.id, None, "card").await.unwrap();
    let after = w.store.get_invoice(inv).await.unwrap();
    assert_eq!(after.status, InvoiceStatus::Paid);
    assert_eq!(after.amount_paid, inr(1_18_000_00));
    let payments = w.store.list_payments(Some(inv)).await.unwrap();
    assert_eq!(payments.len(), 2);
    assert!(payments.iter().all(|p| {
        p.method == PaymentMethod::Razorpay
            && p.flag.is_none()
            && p.reference
                .as_deref()
                .is_some_and(|r| r.starts_with("pay_"))
    }));
    let stored = w
        .store
        .list_payment_links(&PaymentLinkFilter::default())
        .await
        .unwrap();
    assert_eq!(stored[0].status, "paid");
    assert_eq!(stored[0].amount_paid, inr(1_18_000_00));
    w.plan_and_send().await;
    assert!(w.page_text(&page).await.contains("Nothing is due"));

    // a week later: the next step of the cadence is never sent
    for day in [8, 14, 21, 28] {
        w.set_time(
            date(2026, 12, day)
                .at(10, 30, 0, 0)
                .to_zoned_datetime(ist())
                .unwrap()
                .timestamp(),
        );
        w.plan_and_send().await;
    }
    assert_eq!(
        w.templates_sent(),
        vec!["payment_upcoming", "payment_due_today", "payment_received"]
    );

    // every webhook again, twice, out of order: nothing changes
    let before = w.counts(inv).await;
    assert_eq!(before.0, 2);
    assert_eq!(before.2, 1);
    let deliveries = w.razorpay.deliveries();
    assert!(deliveries.len() >= 4, "{deliveries:?}");
    let url = format!("{}/webhooks/razorpay", w.base);
    let mut order: Vec<usize> = (0..deliveries.len()).rev().collect();
    order.extend((0..deliveries.len()).step_by(2));
    order.extend((0..deliveries.len()).skip(1).step_by(2));
    for i in order {
        let d = &deliveries[i];
        assert_eq!(w.post_again(&url, &d.headers, &d.body).await, 200);
    }
    assert_eq!(w.razorpay.redeliver_all().await, deliveries.len());
    w.plan_and_send().await;
    assert_eq!(w.counts(inv).await, before);
    assert_eq!(w.templates_sent().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_tampered_and_stale_webhooks_record_nothing() {
    let w = world().await;
    let paid = w
        .add_invoice(2, "IN", inr(50_000_00), date(2026, 12, 7))
        .await;
    let open = w
        .add_invoice(3, "IN", inr(50_000_00), date(2026, 12, 7))
        .await;
    let token2 = w.token(paid).await;
    let token3 = w.token(open).await;
    let page2 = format!("{}/pay/{token2}", w.base);
    let page3 = format!("{}/pay/{token3}", w.base);
    w.choose(&page2, "razorpay").await;
    w.choose(&page3, "razorpay").await;
    let links = w.razorpay.links();
    let (link2, link3) = (&links[0], &links[1]);
    let pay_id = w.razorpay.pay(&link2.id, None, "upi").await.unwrap();
    assert_eq!(
        w.store.get_invoice(paid).await.unwrap().status,
        InvoiceStatus::Paid
    );
    // a paid event for invoice 3, made from the real one for invoice 2
    let d = w
        .razorpay
        .deliveries()
        .into_iter()
        .find(|d| d.event_type == "payment_link.paid")
        .expect("the paid event");
    let forged = String::from_utf8(d.body.clone())
        .unwrap()
        .replace(&link2.id, &link3.id)
        .replace(&pay_id, "pay_Forged00000001")
        .into_bytes();
    let secret = w.razorpay.config().webhook_secret.clone();
    let headers = |signature: Option<String>| {
        let mut h = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "X-Razorpay-Event-Id".to_string(),
                "evt_forged_0001".to_string(),
            ),
        ];
        if let Some(s) = signature {
            h.push(("X-Razorpay-Signature".to_string(), s));
        }
        h
    };
    let good = headers(Some(tagada_payments::razorpay::signature(
        secret.as_bytes(),
        &forged,
    )));
    let mut tampered = forged.clone();
    let at = tampered.iter().position(|b| *b == b'5').unwrap();
    tampered[at] = b'6';
    let url = format!("{}/webhooks/razorpay", w.base);
    let before = w.counts(open).await;
    let events_before = w.store.list_webhook_events("razorpay").await.unwrap().len();
    assert_eq!(w.post_again(&url, &good, &tampered).await, 401);
    assert_eq!(w.post_again(&url, &headers(None), &forged).await, 401);
    let wrong = tagada_payments::razorpay::signature(b"not-the-secret", &forged);
    assert_eq!(
        w.post_again(&url, &headers(Some(wrong)), &forged).await,
        401
    );
    assert_eq!(
        w.store.list_webhook_events("razorpay").await.unwrap().len(),
        events_before
    );
    assert_eq!(w.counts(open).await, before);
    assert_eq!(
        w.store.get_invoice(open).await.unwrap().status,
        InvoiceStatus::Pending
    );
    // signed with the secret, the same bytes are taken: the refusals above
    // were the signature's doing
    assert_eq!(w.post_again(&url, &good, &forged).await, 200);
    assert_eq!(
        w.store.get_invoice(open).await.unwrap().status,
        InvoiceStatus::Paid
    );

    // Stripe: a correctly signed event, but signed 301 s ago, is refused
    let usd = w
        .add_invoice(
            4,
            "US",
            Money::from_minor(2_500_00, Currency::USD),
            date(2026, 12, 7),
        )
        .await;
    let token = w.token(usd).await;
    let stripe_page = format!("{}/pay/{token}", w.base);
    let html = w.page_text(&stripe_page).await;
    assert!(html.contains("$2,500.00"), "{html}");
    assert!(!html.contains("upi://"), "no UPI for a US buyer");
    let checkout = w.choose(&stripe_page, "stripe").await;
    let session = w.stripe.sessions().remove(0);
    assert_eq!(session["url"], checkout);
    assert_eq!(session["client_reference_id"], "INV-0004");
    assert_eq!(session["metadata"]["invoice_number"], "INV-0004");
    w.stripe.set_webhook_behaviour(tagada_fakes::HookBehaviour {
        hold: true,
        ..Default::default()
    });
    w.stripe.pay(session["id"].as_str().unwrap()).await.unwrap();
    w.stripe
        .set_webhook_behaviour(tagada_fakes::HookBehaviour::default());
    // tagada's clock moves on 301 s before the event arrives
    w.clock.advance(SignedDuration::from_secs(301));
    w.stripe.release_held(None).await;
    let refused = w.stripe.deliveries();
    assert!(refused.iter().all(|d| d.status == Some(401)), "{refused:?}");
    assert_eq!(
        w.store.get_invoice(usd).await.unwrap().status,
        InvoiceStatus::Pending
    );
    assert!(
        w.store
            .list_webhook_events("stripe")
            .await
            .unwrap()
            .is_empty()
    );
    // a replay of the same bytes is still stale
    w.set_time(w.clock.now());
    w.stripe.redeliver_all().await;
    let stale = w.stripe.deliveries();
    assert!(stale.iter().all(|d| d.status == Some(401)), "{stale:?}");
    assert!(
        w.store
            .list_webhook_events("stripe")
            .await
            .unwrap()
            .is_empty()
    );
    // signed now, the same event is recorded
    let fresh = tagada_payments::stripe::signature_header(
        &w.stripe.config().webhook_secret,
        w.clock.now().as_second(),
        &stale[0].body,
    );
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Stripe-Signature".to_string(), fresh),
    ];
    let url = format!("{}/webhooks/stripe", w.base);
    assert_eq!(w.post_again(&url, &headers, &stale[0].body).await, 200);
    let paid = w.store.get_invoice(usd).await.unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid);
    assert_eq!(paid.amount_paid, Money::from_minor(2_500_00, Currency::USD));
    let payments = w.store.list_payments(Some(usd)).await.unwrap();
    assert_eq!(payments[0].method, PaymentMethod::Stripe);
    assert!(payments[0].reference.as_deref().unwrap().starts_with("pi_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_changes_nothing_and_polling_finds_a_missed_payment() {
    let w = world().await;
    let inv = w
        .add_invoice(5, "IN", inr(20_000_00), date(2026, 12, 7))
        .await;
    w.plan_and_send().await;
    let page = w.last_pay_link().await;
    w.choose(&page, "razorpay").await;
    let link = w.razorpay.links().remove(0);
    w.razorpay
        .fail_payment(
            &link.id,
            "Payment was unsuccessful due to a temporary issue",
        )
        .await
        .unwrap();
    let after = w.store.get_invoice(inv).await.unwrap();
    assert_eq!(after.status, InvoiceStatus::Pending);
    let notes = w.store.list_notes(after.buyer_id).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.text.contains("failed") && n.text.contains("temporary issue")),
        "{notes:?}"
    );

    // the webhook of the capture is lost (the receiver is down)
    w.razorpay
        .set_webhook_behaviour(tagada_fakes::HookBehaviour {
            hold: true,
            ..Default::default()
        });
    w.razorpay.pay(&link.id, None, "upi").await.unwrap();
    assert_eq!(
        w.store.get_invoice(inv).await.unwrap().status,
        InvoiceStatus::Pending
    );
    let pay = PaymentsConfig {
        razorpay: tagada_app::payments::RazorpayConfig {
            enabled: true,
            base_url: w.razorpay.base_url(),
            key_id: w.razorpay.config().key_id.clone(),
            key_secret: Secret::new(w.razorpay.config().key_secret.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let gateways = Gateways::from_config(&pay);
    let ctx = tagada_app::payments::PayContext {
        store: w.store.as_ref(),
        gateways: &gateways,
        cfg: &pay,
        planner: &w.planner,
        clock: &w.clock,
        home_country: &CountryCode::india(),
    };
    let report = ctx.poll_open_links().await.unwrap();
    assert_eq!((report.links, report.payments_recorded), (1, 1));
    let paid = w.store.get_invoice(inv).await.unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid);
    // the late webhook then changes nothing
    w.razorpay
        .set_webhook_behaviour(tagada_fakes::HookBehaviour::default());
    w.razorpay.release_held(None).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(w.store.list_payments(Some(inv)).await.unwrap().len(), 1);
    assert_eq!(ctx.poll_open_links().await.unwrap().links, 0);
    // the amount owed changes by other means: the open link is cancelled and
    // a new one asks for the new amount, under a new reference
    let moving = w
        .add_invoice(7, "IN", inr(9_000_00), date(2026, 12, 7))
        .await;
    let token7 = w.token(moving).await;
    let page7 = format!("{}/pay/{token7}", w.base);
    let first_url = w.choose(&page7, "razorpay").await;
    tagada_app::payments::record_payment(
        &ctx,
        &tagada_store::NewPayment {
            invoice_number: Some("INV-0007".into()),
            invoice_id: None,
            buyer_id: None,
            amount: inr(4_000_00),
            received_at: w.clock.now(),
            method: PaymentMethod::Cheque,
            reference: Some("CHQ-004411".into()),
        },
    )
    .await
    .unwrap();
    let second_url = w.choose(&page7, "razorpay").await;
    assert_ne!(first_url, second_url);
    let links7: Vec<_> = w
        .razorpay
        .links()
        .into_iter()
        .filter(|l| l.reference_id.starts_with("INV-0007"))
        .collect();
    assert_eq!(links7.len(), 2);
    assert_eq!(
        (links7[0].reference_id.as_str(), links7[0].status.as_str()),
        ("INV-0007", "cancelled")
    );
    assert_eq!(
        (links7[1].reference_id.as_str(), links7[1].amount),
        ("INV-0007-2", 5_000_00)
    );

    // paid by other means: another open link is cancelled at the gateway
    let other = w
        .add_invoice(6, "IN", inr(5_000_00), date(2026, 12, 7))
        .await;
    let token = w.token(other).await;
    w.choose(&format!("{}/pay/{token}", w.base), "razorpay")
        .await;
    let open = w
        .razorpay
        .links()
        .into_iter()
        .find(|l| l.reference_id == "INV-0006")
        .unwrap();
    tagada_app::payments::record_payment(
        &ctx,
        &tagada_store::NewPayment {
            invoice_number: Some("INV-0006".into()),
            invoice_id: None,
            buyer_id: None,
            amount: inr(5_000_00),
            received_at: w.clock.now(),
            method: PaymentMethod::BankTransfer,
            reference: Some("UTR000123".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(w.razorpay.link(&open.id).unwrap().status, "cancelled");
    let stored = w
        .store
        .list_payment_links(&PaymentLinkFilter {
            invoice: Some(other),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored[0].status, "cancelled");
    let outbox = w
        .store
        .list_messages(&OutboxFilter::default())
        .await
        .unwrap();
    assert!(
        outbox
            .iter()
            .any(|m| m.message.template_key == "payment_received"
                && m.status == OutboxStatus::Pending)
    );
}
