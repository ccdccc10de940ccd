//! The WhatsApp channel end to end over real HTTP: ledger → planner (the
//! default config) → outbox → dispatcher → `tagada-whatsapp`'s client →
//! the fake Meta Graph server, whose own record of accepted messages is
//! what the assertions read.

use std::collections::BTreeMap;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use tagada_app::clock::SimClock;
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_app::planning::plan_and_apply;
use tagada_app::whatsapp::{Secret, WhatsAppChannel, WhatsAppConfig, outbox_from_callback};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::OutboxStatus;
use tagada_core::{CountryCode, Currency, Money, OutboxId, Phone};
use tagada_fakes::meta::{FakeTemplate, Fault, MetaFake, MetaFakeConfig};
use tagada_store::{
    ImportStore, LedgerStore, Migrate, NewBuyer, NewInvoice, OutboxFilter, OutboxStore, Store,
};
use tagada_store_sqlite::SqliteStore;

/// Friday 4 December 2026, 10:30 in India: inside business hours.
fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

fn ist() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Kolkata").unwrap()
}

/// The fake's template registry, as an account holding exactly the
/// templates tagada's config names would have: same names, languages,
/// categories and parameter counts.
fn registry(cfg: &PlannerConfig) -> Vec<FakeTemplate> {
    tagada_fakes::meta::account_from_listing(
        cfg.templates
            .iter()
            .map(tagada_app::templates::expected_template),
    )
}

async fn seeded_store(buyers: usize) -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    for i in 0..buyers {
        let phone =
            Phone::parse(&format!("98{:08}", 20_000_000 + i), &CountryCode::india()).unwrap();
        let (buyer_id, _) = s
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: format!("Buyer {i} Traders"),
                whatsapp: Some(phone),
                country: Some(CountryCode::india()),
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
    s
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
        ..Default::default()
    };
    assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
    WhatsAppChannel::from_config(&cfg).unwrap()
}

/// Runs dispatcher steps, moving the simulated clock past every back-off,
/// until nothing is left to send.
async fn drain(store: &dyn Store, channel: &WhatsAppChannel, clock: &SimClock) {
    let cfg = DispatchConfig::default();
    for _ in 0..200 {
        let step = dispatch_step(store, channel, clock, &cfg, "test-worker", &ist())
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
            clock.advance(SignedDuration::from_hours(6));
        }
    }
    panic!("the outbox did not drain");
}

#[tokio::test]
async fn every_reminder_reaches_the_fake_exactly_once_despite_transient_errors() {
    let planner = PlannerConfig::default();
    let store = seeded_store(40).await;
    let (plan, applied) = plan_and_apply(&store, &planner, t0()).await.unwrap();
    assert_eq!(plan.messages.len(), 40, "{:?}", plan.skipped);
    assert_eq!(applied.messages_enqueued, 40);

    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&planner),
        seed: 7,
        ..Default::default()
    })
    .await
    .unwrap();
    fake.set_transient_error_rate(0.2);
    let channel = channel_for(&fake);
    let clock = SimClock::new(t0());
    drain(&store, &channel, &clock).await;

    let rows = store.list_messages(&OutboxFilter::default()).await.unwrap();
    assert_eq!(rows.len(), 40);
    let accepted = fake.accepted();
    // The fake's own record: one accepted message per outbox id, never two.
    let mut per_outbox: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for a in &accepted {
        let id = a
            .biz_opaque_callback_data
            .as_deref()
            .and_then(outbox_from_callback)
            .expect("every reminder carries its outbox id");
        per_outbox.entry(id).or_default().push(a.wamid.clone());
    }
    for row in &rows {
        assert_eq!(row.status, OutboxStatus::Sent, "{row:?}");
        let wamids = per_outbox
            .get(&row.id.get())
            .unwrap_or_else(|| panic!("outbox {} never reached the fake", row.id.get()));
        assert_eq!(wamids.len(), 1, "outbox {} sent twice", row.id.get());
        assert_eq!(row.provider_id.as_deref(), Some(wamids[0].as_str()));
    }
    assert_eq!(accepted.len(), 40);
    assert!(
        fake.requests() > 40,
        "the fake should have refused some sends ({} requests)",
        fake.requests()
    );
    // What was sent is the template the planner chose, to the buyer.
    let first = &accepted[0];
    assert_eq!(first.kind, "template");
    assert!(first.to.starts_with("9198"));
    // Every reminder carries the four quick replies, each payload naming
    // its action and the reminder's outbox id.
    for a in &accepted {
        let id = a
            .biz_opaque_callback_data
            .as_deref()
            .and_then(outbox_from_callback)
            .unwrap();
        let payloads: Vec<&str> = a.body["template"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "button")
            .map(|c| c["parameters"][0]["payload"].as_str().unwrap())
            .collect();
        assert_eq!(
            payloads,
            [
                format!("PAID:{id}"),
                format!("COPY:{id}"),
                format!("CALL:{id}"),
                format!("STOP:{id}")
            ]
        );
    }
    fake.shutdown().await;
}

/// A template configured with a document header, a URL button and two
/// quick replies goes out with each part where the approved template has
/// it (the fake checks the body against that template and refuses any
/// mismatch).
#[tokio::test]
async fn header_and_buttons_reach_the_fake_as_configured() {
    use tagada_core::template::{ButtonSpec, DocumentSpec, ReplyButton};
    let mut planner = PlannerConfig::default();
    for t in &mut planner.templates {
        t.header_document = Some(DocumentSpec {
            link: "https://files.example.com/{{ invoices[0].number }}.pdf".into(),
            filename: "{{ invoices[0].number }}.pdf".into(),
        });
        t.buttons = vec![
            ButtonSpec::Url {
                url_suffix: "invoices[0].number | lower".into(),
            },
            ButtonSpec::QuickReply(ReplyButton::PaidAlready),
            ButtonSpec::QuickReply(ReplyButton::StopReminders),
        ];
    }
    let store = seeded_store(3).await;
    let (plan, _) = plan_and_apply(&store, &planner, t0()).await.unwrap();
    assert_eq!(plan.messages.len(), 3);
    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&planner),
        ..Default::default()
    })
    .await
    .unwrap();
    let channel = channel_for(&fake);
    drain(&store, &channel, &SimClock::new(t0())).await;
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 3, "the fake refused a body");
    assert_eq!(fake.requests(), 3);
    for a in &accepted {
        let id = a
            .biz_opaque_callback_data
            .as_deref()
            .and_then(outbox_from_callback)
            .unwrap();
        let row = store.get_message(OutboxId::new(id)).await.unwrap();
        let number = &store.get_invoice(row.invoice_ids[0]).await.unwrap().number;
        let components = a.body["template"]["components"].as_array().unwrap();
        let header = components.iter().find(|c| c["type"] == "header").unwrap();
        assert_eq!(
            header["parameters"][0]["document"]["link"],
            format!("https://files.example.com/{number}.pdf")
        );
        let buttons: Vec<(&str, &str, String)> = components
            .iter()
            .filter(|c| c["type"] == "button")
            .map(|c| {
                let p = &c["parameters"][0];
                (
                    c["sub_type"].as_str().unwrap(),
                    c["index"].as_str().unwrap(),
                    p["text"]
                        .as_str()
                        .or(p["payload"].as_str())
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        assert_eq!(
            buttons,
            [
                ("url", "0", number.to_lowercase()),
                ("quick_reply", "1", format!("PAID:{id}")),
                ("quick_reply", "2", format!("STOP:{id}")),
            ]
        );
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_is_never_resent() {
    let planner = PlannerConfig::default();
    let store = seeded_store(3).await;
    plan_and_apply(&store, &planner, t0()).await.unwrap();
    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&planner),
        ..Default::default()
    })
    .await
    .unwrap();
    // The first send is accepted by Meta but the connection drops before
    // the answer: the outcome is unknown to us.
    fake.script([Fault::DropAfterRead]);
    let channel = channel_for(&fake);
    let clock = SimClock::new(t0());
    drain(&store, &channel, &clock).await;
    clock.advance(SignedDuration::from_hours(48));
    drain(&store, &channel, &clock).await;

    let rows = store.list_messages(&OutboxFilter::default()).await.unwrap();
    let review: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::NeedsReview)
        .collect();
    assert_eq!(review.len(), 1, "{rows:?}");
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == OutboxStatus::Sent)
            .count(),
        2
    );
    // Meta got three messages, one each: the ambiguous one was not resent.
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 3);
    let review_id = review[0].id.get();
    assert_eq!(
        accepted
            .iter()
            .filter(|a| a
                .biz_opaque_callback_data
                .as_deref()
                .and_then(outbox_from_callback)
                == Some(review_id))
            .count(),
        1
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_template_the_account_lacks_fails_without_retry() {
    let planner = PlannerConfig::default();
    let store = seeded_store(2).await;
    plan_and_apply(&store, &planner, t0()).await.unwrap();
    let fake = MetaFake::start(MetaFakeConfig {
        templates: vec![],
        ..Default::default()
    })
    .await
    .unwrap();
    let channel = channel_for(&fake);
    let clock = SimClock::new(t0());
    let step = dispatch_step(
        &store,
        &channel,
        &clock,
        &DispatchConfig::default(),
        "w",
        &ist(),
    )
    .await
    .unwrap();
    assert_eq!(step.sent, 0);
    assert!(fake.accepted().is_empty());
    let rows = store.list_messages(&OutboxFilter::default()).await.unwrap();
    for r in rows {
        assert_ne!(r.status, OutboxStatus::Sent);
        let err = r.last_error.unwrap_or_default();
        assert!(err.contains("132001"), "{err}");
    }
    fake.shutdown().await;
}

fn outgoing_template(planner: &PlannerConfig) -> tagada_core::planner::RenderedMessage {
    let t = &planner.templates[0];
    tagada_core::planner::RenderedMessage {
        template_key: t.key.clone(),
        whatsapp_name: t.whatsapp_name.clone(),
        language: t.whatsapp_language.clone(),
        parameters: (0..t.params.len()).map(|i| format!("p{i}")).collect(),
        body: "test".into(),
        kind: Default::default(),
        header_document: None,
        buttons: Vec::new(),
    }
}

/// Sends `n` messages (to `n` recipients, or all to one) through `channel`.
async fn send_many(
    channel: &WhatsAppChannel,
    message: &tagada_core::planner::RenderedMessage,
    n: usize,
    one_recipient: bool,
) -> Vec<Result<tagada_app::channel::SendReceipt, tagada_app::channel::ChannelError>> {
    use tagada_app::channel::{Channel, OutgoingMessage};
    let mut out = Vec::new();
    for i in 0..n {
        let k = if one_recipient { 0 } else { i };
        let to = Phone::parse(&format!("98{:08}", 30_000_000 + k), &CountryCode::india()).unwrap();
        out.push(
            channel
                .send(&OutgoingMessage {
                    outbox_id: tagada_core::OutboxId::new(i as i64 + 1),
                    to: &to,
                    buyer_name: "Buyer",
                    message,
                    attempt: 1,
                })
                .await,
        );
    }
    out
}

#[tokio::test]
async fn the_limiter_keeps_within_the_numbers_throughput() {
    let planner = PlannerConfig::default();
    let message = outgoing_template(&planner);
    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&planner),
        messages_per_second: Some(25),
        ..Default::default()
    })
    .await
    .unwrap();
    let limits = |per_second| tagada_app::whatsapp::SendLimits {
        messages_per_second: per_second,
        per_recipient: std::time::Duration::ZERO,
    };
    let cfg = WhatsAppConfig {
        base_url: fake.base_url(),
        phone_number_id: fake.config().phone_number_id.clone(),
        waba_id: fake.config().waba_id.clone(),
        access_token: Secret::new(fake.config().access_token.clone()),
        ..Default::default()
    };
    // Unlimited, the fake soon answers 130429: the check below can fail.
    let unlimited = WhatsAppChannel::with_limits(cfg.client().unwrap(), limits(0));
    let results = send_many(&unlimited, &message, 60, false).await;
    assert!(
        results.iter().any(|r| matches!(
            r,
            Err(tagada_app::channel::ChannelError::RateLimited { .. })
        )),
        "the fake should refuse an unlimited burst"
    );
    // Wait out the fake's one-second window, then send within its limit.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let limited = WhatsAppChannel::with_limits(cfg.client().unwrap(), limits(20));
    let results = send_many(&limited, &message, 40, false).await;
    let refused: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(refused.is_empty(), "{refused:?}");
    fake.shutdown().await;
}

#[tokio::test]
async fn one_recipient_is_spaced_by_the_pair_interval() {
    let planner = PlannerConfig::default();
    let message = outgoing_template(&planner);
    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&planner),
        pair_rate_limit: Some(std::time::Duration::from_millis(300)),
        ..Default::default()
    })
    .await
    .unwrap();
    let cfg = WhatsAppConfig {
        base_url: fake.base_url(),
        phone_number_id: fake.config().phone_number_id.clone(),
        waba_id: fake.config().waba_id.clone(),
        access_token: Secret::new(fake.config().access_token.clone()),
        ..Default::default()
    };
    let no_spacing = WhatsAppChannel::with_limits(
        cfg.client().unwrap(),
        tagada_app::whatsapp::SendLimits {
            messages_per_second: 0,
            per_recipient: std::time::Duration::ZERO,
        },
    );
    let results = send_many(&no_spacing, &message, 3, true).await;
    assert!(results.iter().any(|r| r.is_err()), "131056 without spacing");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let spaced = WhatsAppChannel::with_limits(
        cfg.client().unwrap(),
        tagada_app::whatsapp::SendLimits {
            messages_per_second: 0,
            per_recipient: std::time::Duration::from_millis(400),
        },
    );
    let results = send_many(&spaced, &message, 3, true).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    fake.shutdown().await;
}
