//! WhatsApp status webhooks into the ledger: Meta's own samples (rewritten
//! to point at our outbox rows) signed and unsigned, replays and shuffles
//! ending where in-order delivery ends, and the whole loop against the Meta
//! fake posting duplicated, reordered webhooks to a receiver in the test.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tagada_app::clock::{Clock, SimClock};
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_app::planning::plan_and_apply;
use tagada_app::webhooks::{IngestError, IngestReport, ingest_whatsapp};
use tagada_app::whatsapp::{Secret, WhatsAppChannel, WhatsAppConfig, outbox_from_callback};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::{CountryCode, Currency, Money, OutboxId, Phone};
use tagada_fakes::meta::{FakeTemplate, MetaFake, MetaFakeConfig, WebhookBehaviour};
use tagada_store::{
    AttemptOutcome, ImportStore, LedgerStore, Migrate, NewBuyer, NewInvoice, OutboxFilter,
    OutboxMessage, OutboxStore, Store, WHATSAPP, WebhookStore,
};
use tagada_store_sqlite::SqliteStore;
use tagada_whatsapp::webhook::sign;

const SECRET: &[u8] = b"test-app-secret";

/// Friday 4 December 2026, 10:30 in India: inside business hours.
fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

fn ist() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Asia/Kolkata").unwrap()
}

fn fixtures(name: &str) -> BTreeMap<String, Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/whatsapp/pywa-fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// One buyer and one overdue invoice each, planned: one pending message each.
async fn planned_store(buyers: usize) -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    for i in 0..buyers {
        let phone =
            Phone::parse(&format!("98{:08}", 30_000_000 + i), &CountryCode::india()).unwrap();
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
                amount: Money::from_minor(50_000_00 + i as i64 * 100, Currency::INR),
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
    let (_, applied) = plan_and_apply(&s, &PlannerConfig::default(), t0())
        .await
        .unwrap();
    assert_eq!(applied.messages_enqueued as usize, buyers);
    s
}

fn wamid_of(id: OutboxId) -> String {
    format!("wamid.T{}", id.get())
}

/// Sends every planned message the way the dispatcher records it (accepted,
/// provider id `wamid.T<id>`), without a channel.
async fn sent_store(buyers: usize) -> (SqliteStore, Vec<OutboxId>) {
    let s = planned_store(buyers).await;
    let claimed = s
        .claim(t0(), 1000, SignedDuration::from_secs(60), "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), buyers);
    for c in &claimed {
        s.mark_sending(c.id, c.lease, t0()).await.unwrap();
        let outcome = AttemptOutcome::Sent {
            provider_id: Some(wamid_of(c.id)),
        };
        s.complete(c.id, c.lease, &outcome, t0()).await.unwrap();
    }
    let mut ids: Vec<OutboxId> = claimed.iter().map(|c| c.id).collect();
    ids.sort();
    (s, ids)
}

/// Points every status of a sample at one outbox row.
fn retarget(mut body: Value, id: OutboxId) -> Vec<u8> {
    for entry in body["entry"].as_array_mut().unwrap() {
        for change in entry["changes"].as_array_mut().unwrap() {
            for s in change["value"]["statuses"].as_array_mut().unwrap() {
                s["id"] = json!(wamid_of(id));
                s["biz_opaque_callback_data"] = json!(format!("outbox:{}", id.get()));
            }
        }
    }
    serde_json::to_vec(&body).unwrap()
}

async fn rows(store: &dyn Store) -> Vec<OutboxMessage> {
    store.list_messages(&OutboxFilter::default()).await.unwrap()
}

#[tokio::test]
async fn every_sample_is_applied_when_signed_and_refused_otherwise() {
    let samples = fixtures("message_status.json");
    let (store, ids) = sent_store(samples.len()).await;
    let expected = |label: &str| match label {
        "sent" | "with_tracker" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" | "played" | "group" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => panic!("a new sample `{other}`: say what it should do"),
    };
    for ((label, sample), id) in samples.into_iter().zip(ids.iter().copied()) {
        let body = retarget(sample, id);
        let before = rows(&store).await;
        let good = sign(SECRET, &body);
        let wrong = sign(b"another secret", &body);
        let mut tampered = body.clone();
        tampered.extend_from_slice(b" ");
        for (header, bytes) in [
            (None, &body),
            (Some(wrong.as_str()), &body),
            (Some("sha256=zz"), &body),
            (Some(good.as_str()), &tampered),
        ] {
            let err = ingest_whatsapp(&store, SECRET, header, bytes, t0())
                .await
                .expect_err(label.as_str());
            assert!(matches!(err, IngestError::Signature(_)), "{label}: {err}");
        }
        assert_eq!(
            rows(&store).await,
            before,
            "{label}: refused changes nothing"
        );

        let report = ingest_whatsapp(&store, SECRET, Some(&good), &body, t0())
            .await
            .unwrap();
        assert_eq!(
            report,
            IngestReport {
                applied: 1,
                ..Default::default()
            },
            "{label}"
        );
        let row = store.get_message(id).await.unwrap();
        assert_eq!(row.delivery, Some(expected(&label)), "{label}");
        if label == "failed" {
            let err = row.last_error.unwrap_or_default();
            assert!(err.starts_with("failed (130472): "), "{err}");
        }
        let again = ingest_whatsapp(&store, SECRET, Some(&good), &body, t0())
            .await
            .unwrap();
        assert_eq!(
            again,
            IngestReport {
                duplicate: 1,
                ..Default::default()
            },
            "{label} replayed"
        );
    }
    // only signed events were recorded, each once, with its own JSON
    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    assert_eq!(events.len(), ids.len());
    for e in &events {
        let raw: Value = serde_json::from_str(&e.payload).unwrap();
        assert!(e.event_key.ends_with(raw["status"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn inbound_samples_are_kept_once() {
    let store = planned_store(0).await;
    let mut new = 0;
    for (label, mut sample) in fixtures("message.json") {
        // the samples share message ids: one each here
        for entry in sample["entry"].as_array_mut().unwrap() {
            for change in entry["changes"].as_array_mut().unwrap() {
                let messages = change["value"]["messages"].as_array_mut();
                for (i, m) in messages.into_iter().flatten().enumerate() {
                    m["id"] = json!(format!("wamid.IN.{label}.{i}"));
                }
            }
        }
        let body = serde_json::to_vec(&sample).unwrap();
        assert!(matches!(
            ingest_whatsapp(&store, SECRET, None, &body, t0()).await,
            Err(IngestError::Signature(_))
        ));
        let sig = sign(SECRET, &body);
        let first = ingest_whatsapp(&store, SECRET, Some(&sig), &body, t0())
            .await
            .unwrap();
        assert!(first.inbound_new >= 1, "{label}: {first:?}");
        let again = ingest_whatsapp(&store, SECRET, Some(&sig), &body, t0())
            .await
            .unwrap();
        assert_eq!(again.inbound_new, 0, "{label}");
        assert_eq!(again.inbound_duplicate, first.inbound_new, "{label}");
        new += first.inbound_new as usize;
    }
    assert_eq!(
        store.list_webhook_events(WHATSAPP).await.unwrap().len(),
        new
    );
}

/// A small deterministic generator (xorshift64*) for shuffles.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// One signed single-status body.
fn status_body(id: OutboxId, status: &str, at: i64, with_callback: bool) -> (String, Vec<u8>) {
    let mut s = json!({
        "id": wamid_of(id),
        "status": status,
        "timestamp": at.to_string(),
        "recipient_id": "919830000000",
    });
    if with_callback {
        s["biz_opaque_callback_data"] = json!(format!("outbox:{}", id.get()));
    }
    if status == "failed" {
        s["errors"] = json!([{ "code": 131026, "title": "Message undeliverable" }]);
    }
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "1" },
            "statuses": [s],
        }}]}],
    });
    let body = serde_json::to_vec(&body).unwrap();
    (sign(SECRET, &body), body)
}

async fn deliveries(store: &dyn Store) -> Vec<(OutboxId, Option<DeliveryStatus>)> {
    rows(store)
        .await
        .into_iter()
        .map(|r| (r.id, r.delivery))
        .collect()
}

#[tokio::test]
async fn replayed_and_shuffled_statuses_end_like_in_order_once() {
    // what each message goes through, in Meta's order
    let scripts: [&[&str]; 6] = [
        &["sent", "delivered", "read"],
        &["sent", "delivered"],
        &["sent", "failed"],
        &["sent", "delivered", "read"],
        &["sent"],
        &["sent", "delivered", "failed"],
    ];
    let bodies = |ids: &[OutboxId]| {
        let mut out = Vec::new();
        for (i, (id, script)) in ids.iter().zip(scripts).enumerate() {
            for (k, status) in script.iter().enumerate() {
                // half the messages carry no callback data: found by wamid
                out.push(status_body(
                    *id,
                    status,
                    1_796_000_000 + k as i64,
                    i % 2 == 0,
                ));
            }
        }
        out
    };

    let (reference, ids) = sent_store(scripts.len()).await;
    for (sig, body) in bodies(&ids) {
        let r = ingest_whatsapp(&reference, SECRET, Some(&sig), &body, t0())
            .await
            .unwrap();
        assert_eq!(r.applied, 1);
    }
    let expected = deliveries(&reference).await;
    use DeliveryStatus as D;
    assert_eq!(
        expected.iter().map(|(_, d)| d.unwrap()).collect::<Vec<_>>(),
        vec![
            D::Read,
            D::Delivered,
            D::Failed,
            D::Read,
            D::Sent,
            D::Delivered
        ]
    );
    let distinct = reference.list_webhook_events(WHATSAPP).await.unwrap().len();

    for seed in [1_u64, 2, 3, 0x5eed, 0xdead_beef] {
        let (store, ids2) = sent_store(scripts.len()).await;
        assert_eq!(ids2, ids);
        let mut all = bodies(&ids);
        all.extend(bodies(&ids));
        Rng(seed).shuffle(&mut all);
        let mut total = IngestReport::default();
        for (sig, body) in &all {
            let r = ingest_whatsapp(&store, SECRET, Some(sig), body, t0())
                .await
                .unwrap();
            total.applied += r.applied;
            total.duplicate += r.duplicate;
        }
        assert_eq!(deliveries(&store).await, expected, "seed {seed}");
        assert_eq!(total.applied as usize, distinct, "seed {seed}");
        assert_eq!(total.duplicate as usize, distinct, "seed {seed}");
        assert_eq!(
            store.list_webhook_events(WHATSAPP).await.unwrap().len(),
            distinct
        );
        for id in &ids {
            let history = store.list_message_events(*id).await.unwrap();
            // the merged delivery never goes back once delivered
            let mut seen_delivered = false;
            for e in history {
                if seen_delivered {
                    assert!(e.delivery.is_delivered(), "seed {seed}: {e:?}");
                }
                seen_delivered |= e.delivery.is_delivered();
            }
        }
    }
}

// ---- end to end against the Meta fake ----------------------------------

/// The fake's template registry: the templates tagada's config names.
fn registry(cfg: &PlannerConfig) -> Vec<FakeTemplate> {
    tagada_fakes::meta::account_from_listing(
        cfg.templates
            .iter()
            .map(tagada_app::templates::expected_template),
    )
}

#[derive(Clone)]
struct Receiver {
    store: SqliteStore,
    secret: Arc<Vec<u8>>,
    clock: SimClock,
}

/// What the HTTP endpoint will do: the raw body and header to the use case.
async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match ingest_whatsapp(&r.store, &r.secret, sig, &body, r.clock.now()).await {
        Ok(_) => StatusCode::OK,
        Err(IngestError::Signature(_)) => StatusCode::UNAUTHORIZED,
        Err(IngestError::Payload(_)) => StatusCode::BAD_REQUEST,
        Err(IngestError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fakes_duplicated_reordered_webhooks_end_read() {
    const N: usize = 12;
    let planner = PlannerConfig::default();
    let store = planned_store(N).await;
    let clock = SimClock::new(t0());
    let fake_secret = MetaFakeConfig::default().app_secret;
    let receiver = Receiver {
        store: store.clone(),
        secret: Arc::new(fake_secret.clone().into_bytes()),
        clock: clock.clone(),
    };
    let app = axum::Router::new()
        .route("/webhooks/whatsapp", axum::routing::post(receive))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&planner),
        webhook_url: Some(format!("http://{addr}/webhooks/whatsapp")),
        webhooks: WebhookBehaviour {
            duplicate_rate: 0.5,
            reorder: true,
            batch_max: 4,
            ..Default::default()
        },
        seed: 11,
        ..Default::default()
    })
    .await
    .unwrap();
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
    let channel = WhatsAppChannel::from_config(&cfg).unwrap();
    drain(&store, &channel, &clock).await;

    // wait (at most 10 s) for every receipt to arrive and be applied
    let mut settled = false;
    for _ in 0..200 {
        let all_read = rows(&store)
            .await
            .iter()
            .all(|r| r.delivery == Some(DeliveryStatus::Read));
        let deliveries = fake.webhook_deliveries();
        let all_delivered = !deliveries.is_empty() && deliveries.iter().all(|d| d.delivered());
        if all_read && all_delivered {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let final_rows = rows(&store).await;
    assert!(
        settled,
        "not settled: {:?} / {:?}",
        final_rows
            .iter()
            .map(|r| (r.id, r.status, r.delivery))
            .collect::<Vec<_>>(),
        fake.webhook_deliveries()
            .iter()
            .filter(|d| !d.delivered())
            .collect::<Vec<_>>()
    );

    let accepted = fake.accepted();
    assert_eq!(accepted.len(), N);
    for row in &final_rows {
        assert_eq!(row.status, OutboxStatus::Sent, "{row:?}");
        let mine: Vec<_> = accepted
            .iter()
            .filter(|a| {
                a.biz_opaque_callback_data
                    .as_deref()
                    .and_then(outbox_from_callback)
                    == Some(row.id.get())
            })
            .collect();
        assert_eq!(mine.len(), 1, "outbox {} sent once", row.id.get());
        assert_eq!(row.provider_id.as_deref(), Some(mine[0].wamid.as_str()));
        // sent, delivered and read, each applied once whatever came twice
        let mut statuses: Vec<_> = store
            .list_message_events(row.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.status)
            .collect();
        statuses.sort();
        assert_eq!(
            statuses,
            vec![
                DeliveryStatus::Sent,
                DeliveryStatus::Delivered,
                DeliveryStatus::Read
            ],
            "outbox {}",
            row.id.get()
        );
        assert_eq!(store.list_attempts(row.id).await.unwrap().len(), 1);
    }
    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    assert_eq!(events.len(), 3 * N, "each status recorded once");
    let posted_statuses: usize = fake
        .webhook_deliveries()
        .iter()
        .map(|d| {
            d.json()["entry"][0]["changes"][0]["value"]["statuses"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    assert!(
        posted_statuses > 3 * N,
        "the fake should have replayed some webhooks ({posted_statuses})"
    );
    fake.shutdown().await;
    server.abort();
}

/// Meta's template status webhooks (its own samples) keep the template's
/// status for the health page: an approval, then a rejection with Meta's
/// reason and recommendation; an unsigned one changes nothing.
#[tokio::test]
async fn template_status_webhooks_are_kept() {
    use tagada_store::TemplateStatusStore;
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    let samples = fixtures("template_status_update.json");
    let body = serde_json::to_vec(&samples["approved"]).unwrap();
    assert!(
        ingest_whatsapp(&s, SECRET, None, &body, t0())
            .await
            .is_err(),
        "unsigned"
    );
    assert!(s.template_statuses().await.unwrap().is_empty());
    let r = ingest_whatsapp(&s, SECRET, Some(&sign(SECRET, &body)), &body, t0())
        .await
        .unwrap();
    assert_eq!(r.other, 1);
    let rejected = serde_json::to_vec(&samples["rejected"]).unwrap();
    let later = t0() + SignedDuration::from_mins(5);
    ingest_whatsapp(&s, SECRET, Some(&sign(SECRET, &rejected)), &rejected, later)
        .await
        .unwrap();
    let all = s.template_statuses().await.unwrap();
    assert_eq!(all.len(), 2, "{all:#?}");
    let approved = &all[1];
    assert_eq!(
        (approved.name.as_str(), approved.language.as_str()),
        ("order_confirmation", "en_US")
    );
    assert_eq!(approved.status, "APPROVED");
    assert_eq!(approved.category.as_deref(), Some("UTILITY"));
    assert_eq!(approved.detail, None);
    assert_eq!(approved.source, "webhook");
    let refused = &all[0];
    assert_eq!(refused.name, "abandoned_cart");
    assert_eq!(refused.status, "REJECTED");
    assert_eq!(refused.updated_at, later);
    let detail = refused.detail.as_deref().unwrap();
    assert!(detail.starts_with("INVALID_FORMAT: "), "{detail}");
    assert!(
        detail.contains("parameters placed next to each other"),
        "{detail}"
    );
    assert!(detail.contains("Separate parameters"), "{detail}");
}
