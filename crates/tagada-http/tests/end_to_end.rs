//! The whole WhatsApp loop over real HTTP: a ledger is planned and sent
//! through the real client to the fake Meta Graph server (which fails 20%
//! of sends), the fake posts signed status webhooks and buyer replies to
//! tagada's router, the inbox acts on the replies, and the replies' answers
//! go out inside each buyer's window. The fake's own record is what the
//! exactly-once assertions read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use tagada_app::clock::{Clock, SimClock};
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_app::inbound::{InboundConfig, process_inbox};
use tagada_app::planning::plan_and_apply;
use tagada_app::whatsapp::{Secret, WhatsAppChannel, WhatsAppConfig, outbox_from_callback};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::{CountryCode, Currency, Money, Phone};
use tagada_fakes::meta::{MetaFake, MetaFakeConfig, WebhookBehaviour};
use tagada_http::{HttpState, WhatsAppHooks};
use tagada_store::{
    ImportStore, InboxFilter, InboxStore, LedgerStore, Migrate, NewBuyer, NewInvoice, OutboxFilter,
    OutboxStore, ReportStore, Store, TimelineSubject, WHATSAPP, WebhookStore,
};
use tagada_store_sqlite::SqliteStore;
use tagada_whatsapp::send::QuickReply;

const VERIFY_TOKEN: &str = "e2e-verify-token";

/// Friday 4 December 2026, 10:30 in India: inside business hours.
fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

fn ist() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Kolkata").unwrap()
}

fn phone(i: usize) -> Phone {
    Phone::parse(&format!("98{:08}", 30_000_000 + i), &CountryCode::india()).unwrap()
}

async fn seeded_store(buyers: usize) -> Arc<SqliteStore> {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    for i in 0..buyers {
        let (buyer_id, _) = s
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: format!("Buyer {i} Traders"),
                whatsapp: Some(phone(i)),
                country: Some(CountryCode::india()),
                sales_rep: Some(if i % 2 == 0 { "Meera" } else { "Arjun" }.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let number = format!("INV-{i:04}");
        s.upsert_invoices(
            &[NewInvoice {
                number: number.clone(),
                buyer_id,
                order_date: None,
                invoice_date: date(2026, 10, 1),
                due_date: date(2026, 11, 20),
                credit_days: Some(50),
                amount: Money::from_minor(1_25_000_00 + i as i64 * 100, Currency::INR),
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
    }
    Arc::new(s)
}

/// tagada's router on a loopback port; its webhook URL.
async fn serve(store: Arc<dyn Store>, clock: SimClock, app_secret: &str) -> String {
    let state = HttpState {
        store,
        clock: Arc::new(clock),
        whatsapp: Some(
            WhatsAppHooks::new(Secret::new(app_secret), Secret::new(VERIFY_TOKEN)).unwrap(),
        ),
        inbox: Arc::new(tokio::sync::Notify::new()),
        max_body_bytes: 1 << 20,
        indiamart_push: None,
        ledger: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, tagada_http::router(state))
            .await
            .unwrap();
    });
    format!("http://{addr}/webhooks/whatsapp")
}

fn channel_for(fake: &MetaFake) -> WhatsAppChannel {
    let cfg = WhatsAppConfig {
        enabled: true,
        base_url: fake.base_url(),
        phone_number_id: fake.config().phone_number_id.clone(),
        waba_id: fake.config().waba_id.clone(),
        access_token: Secret::new(fake.config().access_token.clone()),
        connect_timeout_secs: 2,
        timeout_secs: 5,
        // the buyers answer within seconds of a reminder: no spacing in the test
        per_recipient_interval_secs: 0,
        ..Default::default()
    };
    WhatsAppChannel::from_config(&cfg).unwrap()
}

/// Dispatcher steps until nothing is pending, moving the simulated clock
/// past back-offs (but never past a buyer's 24-hour window).
async fn drain(store: &dyn Store, channel: &WhatsAppChannel, clock: &SimClock) {
    let cfg = DispatchConfig::default();
    for _ in 0..200 {
        let step = dispatch_step(store, channel, clock, &cfg, "e2e", &ist())
            .await
            .unwrap();
        assert!(step.halted.is_none(), "halted: {:?}", step.halted);
        let open = store
            .list_messages(&OutboxFilter {
                statuses: vec![OutboxStatus::Pending, OutboxStatus::InFlight],
                ..Default::default()
            })
            .await
            .unwrap();
        if open.is_empty() {
            return;
        }
        if step.claimed == 0 {
            clock.advance(SignedDuration::from_mins(10));
        }
    }
    panic!("the outbox did not drain");
}

/// Polls until `done` holds (webhooks arrive asynchronously).
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_receipts_and_replies_round_trip() {
    const BUYERS: usize = 24;
    // buyers 0..6 answer, and a stranger
    const REPLIES: usize = 7;
    let planner = PlannerConfig::default();
    let store = seeded_store(BUYERS).await;
    let clock = SimClock::new(t0());
    let app_secret = MetaFakeConfig::default().app_secret;
    let webhook_url = serve(store.clone(), clock.clone(), &app_secret).await;
    let fake = MetaFake::start(MetaFakeConfig {
        templates: tagada_fakes::meta::account_from_listing(
            planner
                .templates
                .iter()
                .map(tagada_app::templates::expected_template),
        ),
        webhook_url: Some(webhook_url),
        webhooks: WebhookBehaviour {
            sent_after: Duration::from_millis(5),
            delivered_after: Duration::from_millis(5),
            read_after: Duration::from_millis(5),
            duplicate_rate: 0.3,
            reorder: true,
            never_read_rate: 0.0,
            failure_rate: 0.0,
            ..WebhookBehaviour::default()
        },
        ..MetaFakeConfig::default()
    })
    .await
    .unwrap();
    fake.set_transient_error_rate(0.2);
    // and at least one: with 24 sends, a 20% rate alone draws none about
    // once in 200 runs (the fake's draws are shared with its webhooks, whose
    // timing varies), and then the retry path would go untested
    fake.script([tagada_fakes::meta::Fault::ServerError]);
    let channel = channel_for(&fake);

    // plan and send: every reminder reaches the fake exactly once
    let (plan, applied) = plan_and_apply(store.as_ref(), &planner, clock.now())
        .await
        .unwrap();
    assert_eq!(plan.messages.len(), BUYERS);
    assert_eq!(applied.messages_enqueued as usize, BUYERS);
    drain(store.as_ref(), &channel, &clock).await;
    fake.set_transient_error_rate(0.0);
    let accepted = fake.accepted();
    let mut per_outbox: BTreeMap<i64, usize> = BTreeMap::new();
    for m in &accepted {
        let id = m
            .biz_opaque_callback_data
            .as_deref()
            .and_then(outbox_from_callback)
            .expect("callback data names the outbox row");
        *per_outbox.entry(id).or_default() += 1;
    }
    assert_eq!(per_outbox.len(), BUYERS, "{per_outbox:?}");
    assert!(per_outbox.values().all(|n| *n == 1), "{per_outbox:?}");
    assert!(
        fake.requests() > BUYERS,
        "the 20% error rate was exercised ({} requests)",
        fake.requests()
    );

    // signed status webhooks come back: every reminder read
    let sent = store.list_messages(&OutboxFilter::default()).await.unwrap();
    eventually("every reminder to be read", || async {
        let mut all = true;
        for m in &sent {
            let row = store.get_message(m.id).await.unwrap();
            all &= row.delivery == Some(DeliveryStatus::Read);
        }
        all
    })
    .await;
    for m in &sent {
        let row = store.get_message(m.id).await.unwrap();
        assert_eq!(row.status, OutboxStatus::Sent);
        let wamid = accepted
            .iter()
            .find(|a| {
                a.biz_opaque_callback_data.as_deref() == Some(&*format!("outbox:{}", m.id.get()))
            })
            .map(|a| a.wamid.clone());
        assert_eq!(row.provider_id, wamid);
    }

    // the buyers answer
    let by_buyer: BTreeMap<usize, (i64, String)> = (0..BUYERS)
        .map(|i| {
            let to = phone(i).as_str().trim_start_matches('+').to_string();
            let m = accepted
                .iter()
                .find(|a| a.to == to)
                .expect("sent to each buyer");
            let id = outbox_from_callback(m.biz_opaque_callback_data.as_deref().unwrap()).unwrap();
            (i, (id, m.wamid.clone()))
        })
        .collect();
    let from = |i: usize| phone(i).as_str().to_string();
    // Buttons tapped on the reminders as sent: the payloads come back as
    // tagada gave them (`PAID:<outbox id>`, `COPY:<outbox id>`).
    let (id0, wamid0) = &by_buyer[&0];
    let sent0 = accepted.iter().find(|a| &a.wamid == wamid0).unwrap();
    assert!(
        sent0
            .body
            .to_string()
            .contains(&QuickReply::PaidAlready.payload(*id0)),
        "{}",
        sent0.body
    );
    fake.tap_quick_reply(wamid0, 0).await.unwrap();
    fake.reply_text(&from(1), "Sir will pay on 15th, sorry for delay")
        .await;
    fake.reply_text(&from(2), "STOP").await;
    let (_, wamid3) = &by_buyer[&3];
    fake.tap_quick_reply(wamid3, 1).await.unwrap();
    // a button whose payload is not ours: read from its text
    fake.reply_button(&from(4), None, "Talk to someone", "Talk to someone")
        .await;
    fake.reply_text(&from(5), "Please share your bank details")
        .await;
    let stranger = Phone::parse("+447911123456", &CountryCode::india()).unwrap();
    fake.reply_text(stranger.as_str(), "hello?").await;

    eventually("every reply to be stored", || async {
        store
            .list_inbox(&InboxFilter::default())
            .await
            .unwrap()
            .len()
            == REPLIES
    })
    .await;
    let inbound_cfg = InboundConfig {
        invoice_document_url: "https://files.example.com/invoices/{invoice}.pdf".into(),
        ..InboundConfig::default()
    };
    let report = process_inbox(store.as_ref(), &inbound_cfg, &planner, clock.now(), 100)
        .await
        .unwrap();
    assert_eq!(report.handled as usize, REPLIES);
    assert_eq!(report.opted_out, 1);
    assert_eq!(report.promises, 1);
    // paid (check it), stop (know it), talk, free text, stranger
    assert_eq!(report.alerts, 5, "{report:?}");
    assert_eq!(
        process_inbox(store.as_ref(), &inbound_cfg, &planner, clock.now(), 100)
            .await
            .unwrap()
            .handled,
        0,
        "handled once"
    );

    // the ledger moved
    let inv = |i: usize| {
        let store = store.clone();
        async move {
            store
                .find_invoice(&format!("INV-{i:04}"))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let paid = inv(0).await;
    assert_eq!(paid.status, InvoiceStatus::InProcess);
    assert_eq!(paid.snoozed_until, Some(date(2026, 12, 7)), "held 3 days");
    let promised = inv(1).await;
    assert_eq!(promised.status, InvoiceStatus::Pending);
    assert_eq!(promised.snoozed_until, Some(date(2026, 12, 15)));
    let stopped = store.find_buyer(&from(2)).await.unwrap().unwrap();
    assert!(stopped.opted_out_at.is_some());
    let open: Vec<_> = store
        .list_inbox(&InboxFilter {
            open_only: true,
            ..InboxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 5);
    assert!(open.iter().any(|e| e.buyer_id.is_none()), "the stranger");
    let meera = store
        .list_inbox(&InboxFilter {
            open_only: true,
            sales_rep: Some("Meera".into()),
            ..InboxFilter::default()
        })
        .await
        .unwrap();
    // buyers 0, 2 and 4 are Meera's: paid, stop, talk
    assert_eq!(meera.len(), 3, "{meera:#?}");

    // the answers go out inside each buyer's window, once
    drain(store.as_ref(), &channel, &clock).await;
    let replies: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|a| a.kind != "template")
        .collect();
    let kinds: BTreeSet<(String, String)> = replies
        .iter()
        .map(|a| (a.to.clone(), a.kind.clone()))
        .collect();
    let to = |i: usize| phone(i).as_str().trim_start_matches('+').to_string();
    let expected: BTreeSet<(String, String)> = [
        (to(0), "text".to_string()),     // paid acknowledged
        (to(1), "text".to_string()),     // promise acknowledged
        (to(2), "text".to_string()),     // STOP confirmed
        (to(3), "document".to_string()), // the invoice copy
        (to(4), "text".to_string()),     // the rep will call
    ]
    .into();
    assert_eq!(kinds, expected);
    assert_eq!(replies.len(), 5, "one answer each");
    let doc = replies.iter().find(|a| a.kind == "document").unwrap();
    assert_eq!(
        doc.body["document"]["link"],
        "https://files.example.com/invoices/INV-0003.pdf"
    );
    let stop = replies.iter().find(|a| a.to == to(2)).unwrap();
    assert!(
        stop.body["text"]["body"]
            .as_str()
            .unwrap()
            .contains("not get any more payment reminders"),
        "{}",
        stop.body
    );

    // the timelines tell the story
    let timeline = store
        .timeline(TimelineSubject::Invoice(paid.id))
        .await
        .unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "imported",
        "reminder_planned",
        "attempt",
        "delivery",
        "reply",
        "status",
    ] {
        assert!(kinds.contains(&k), "no {k} in {timeline:#?}");
    }
    let lines: Vec<&str> = timeline.iter().map(|e| e.text.as_str()).collect();
    assert!(
        lines.iter().any(|l| l.ends_with(" delivered")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.ends_with(" read")), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tapped “Paid already”") && l.contains("in process")),
        "{lines:#?}"
    );

    // Meta's retries and duplicates changed nothing: every event stored once
    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    let keys: BTreeSet<&str> = events.iter().map(|e| e.event_key.as_str()).collect();
    assert_eq!(keys.len(), events.len());
    fake.shutdown().await;
}

#[tokio::test]
async fn the_webhook_authenticates_every_call() {
    let store = seeded_store(1).await;
    let url = serve(store.clone(), SimClock::new(t0()), "the-app-secret").await;
    let http = reqwest::Client::new();

    // the subscription handshake
    let get = |mode: &'static str, token: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.get(&url)
                .query(&[
                    ("hub.mode", mode),
                    ("hub.verify_token", token),
                    ("hub.challenge", "1158201444"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let ok = get("subscribe", VERIFY_TOKEN).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(get("subscribe", "wrong").await.status(), 403);
    assert_eq!(get("unsubscribe", VERIFY_TOKEN).await.status(), 403);

    // notifications: unsigned, badly signed, signed with another secret
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ravi"}, "wa_id": "919830000000"}],
            "messages": [{"from": "919830000000", "id": "wamid.E2E-IN-1",
                          "timestamp": "1796373000", "type": "text",
                          "text": {"body": "will pay next week"}}]
        }}]}]
    })
    .to_string()
    .into_bytes();
    let post = |sig: Option<String>| {
        let http = http.clone();
        let url = url.clone();
        let body = body.clone();
        async move {
            let mut req = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body);
            if let Some(s) = sig {
                req = req.header("x-hub-signature-256", s);
            }
            req.send().await.unwrap()
        }
    };
    assert_eq!(post(None).await.status(), 401);
    assert_eq!(post(Some("sha256=zz".into())).await.status(), 401);
    let other = tagada_whatsapp::webhook::sign(b"another-secret", &body);
    assert_eq!(post(Some(other)).await.status(), 401);
    assert!(
        store
            .list_webhook_events(WHATSAPP)
            .await
            .unwrap()
            .is_empty(),
        "nothing recorded from an unauthenticated call"
    );

    let good = tagada_whatsapp::webhook::sign(b"the-app-secret", &body);
    let first = post(Some(good.clone())).await;
    assert_eq!(first.status(), 200);
    let report: serde_json::Value = first.json().await.unwrap();
    assert_eq!(report["inbound_new"], 1, "{report}");
    let again: serde_json::Value = post(Some(good)).await.json().await.unwrap();
    assert_eq!(again["inbound_duplicate"], 1, "{again}");
    assert_eq!(store.list_webhook_events(WHATSAPP).await.unwrap().len(), 1);

    // signed but not a WhatsApp notification
    let junk = b"{\"object\":\"page\"}".to_vec();
    let resp = http
        .post(&url)
        .header(
            "x-hub-signature-256",
            tagada_whatsapp::webhook::sign(b"the-app-secret", &junk),
        )
        .body(junk)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let health = http
        .get(url.replace("/webhooks/whatsapp", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let h: serde_json::Value = health.json().await.unwrap();
    assert_eq!(h["database"], "ok");
}

#[test]
fn the_webhook_needs_both_secrets() {
    let err = WhatsAppHooks::new(Secret::new(""), Secret::new("t")).unwrap_err();
    assert!(err.contains("TAGADA_WHATSAPP__APP_SECRET"), "{err}");
    let err = WhatsAppHooks::new(Secret::new("s"), Secret::new("")).unwrap_err();
    assert!(err.contains("verify_token"), "{err}");
    assert!(WhatsAppHooks::new(Secret::new("s"), Secret::new("t")).is_ok());
}

/// IndiaMART's push: only the URL with the secret token is served (any
/// other token is a 404 and stores nothing); a lead pushed twice is stored
/// once and acknowledged both times; an unreadable body is a 400, recorded.
#[tokio::test]
async fn indiamart_push_needs_its_token_and_stores_each_lead_once() {
    use tagada_store::{INDIAMART, LeadFilter, LeadStore};
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    store.migrate().await.unwrap();
    let state = HttpState {
        store: store.clone(),
        clock: Arc::new(SimClock::new(t0())),
        whatsapp: None,
        inbox: Arc::new(tokio::sync::Notify::new()),
        max_body_bytes: 1 << 20,
        indiamart_push: Some(Secret::new("push-token-8c1f")),
        ledger: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, tagada_http::router(state))
            .await
            .unwrap();
    });
    let body = include_str!("../../../contracts/indiamart/push_payload.json");
    let http = reqwest::Client::new();
    let post = |token: &'static str, body: &'static str| {
        let http = http.clone();
        async move {
            http.post(format!("http://{addr}/webhooks/indiamart/{token}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let leads = || async {
        store
            .list_leads(&LeadFilter {
                source: Some(INDIAMART.into()),
                ..Default::default()
            })
            .await
            .unwrap()
    };
    assert_eq!(post("wrong-token", body).await.status(), 404);
    assert_eq!(post("push-token-8c1f0", body).await.status(), 404);
    assert!(leads().await.is_empty());
    for _ in 0..2 {
        let r = post("push-token-8c1f", body).await;
        assert_eq!(r.status(), 200);
        let ack: serde_json::Value = r.json().await.unwrap();
        assert_eq!(ack["CODE"], 200);
    }
    let stored = leads().await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].buyer_id.is_some());
    assert_eq!(post("push-token-8c1f", "<html>oops").await.status(), 400);
    let runs = store.list_sync_runs(Some(INDIAMART), 10).await.unwrap();
    assert_eq!(runs[0].run.outcome, "push_rejected");
    assert!(runs[0].run.error.as_deref().unwrap().contains("<html>oops"));
    assert_eq!(runs.iter().filter(|r| r.run.outcome == "push").count(), 2);
}
