//! The Meta fake over real HTTP on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tagada_fakes::meta::{
    DeliveryOutcome, Fault, MetaFake, MetaFakeConfig, WebhookBehaviour, WebhookKind,
};

const BUYER: &str = "+91 98765 43210";
const BUYER_WA: &str = "919876543210";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn messages_url(fake: &MetaFake) -> String {
    format!(
        "{}/v23.0/{}/messages",
        fake.base_url(),
        fake.config().phone_number_id
    )
}

fn reminder(to: &str, biz: Option<&str>) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": "payment_reminder_overdue",
            "language": {"code": "en"},
            "components": [
                {"type": "header", "parameters": [
                    {"type": "document", "document": {"link": "https://files.example/INV-42.pdf", "filename": "INV-42.pdf"}}
                ]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Asha Traders"},
                    {"type": "text", "text": "INV-42"},
                    {"type": "currency", "currency": {"fallback_value": "₹12,500.00", "code": "INR", "amount_1000": 12_500_000}},
                    {"type": "date_time", "date_time": {"fallback_value": "5 March 2026"}}
                ]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "pl_7Hq2x9"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "PAID:42"}]}
            ]
        }
    });
    if let Some(b) = biz {
        body["biz_opaque_callback_data"] = json!(b);
    }
    body
}

async fn send(fake: &MetaFake, body: &Value) -> (StatusCode, Value) {
    let r = client()
        .post(messages_url(fake))
        .bearer_auth(&fake.config().access_token)
        .json(body)
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.expect("json body"))
}

fn assert_error(v: &Value, code: i64) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert_eq!(v["error"]["type"], "OAuthException", "{v}");
    assert!(v["error"]["fbtrace_id"].is_string(), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("(#{code})"))),
        "{v}"
    );
    assert_eq!(
        v["error"]["error_data"]["messaging_product"], "whatsapp",
        "{v}"
    );
    assert!(v["error"]["error_data"]["details"].is_string(), "{v}");
}

/// A webhook receiver on port 0 that records every POST; answers 500 to the
/// first `fail_first` requests.
#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    fail_first: Arc<AtomicUsize>,
    url: String,
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/webhooks/whatsapp",
            listener.local_addr().expect("addr")
        );
        let receiver = Receiver {
            seen: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            url,
        };
        let app = Router::new()
            .route("/webhooks/whatsapp", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    fn bodies(&self) -> Vec<(HeaderMap, Bytes)> {
        self.seen.lock().expect("lock").clone()
    }

    /// Every status in every body received so far, in arrival order.
    fn statuses(&self) -> Vec<Value> {
        self.bodies()
            .iter()
            .filter_map(|(_, b)| serde_json::from_slice::<Value>(b).ok())
            .flat_map(|v| {
                v["entry"][0]["changes"][0]["value"]["statuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Poll (up to 5 s) until `done` holds.
    async fn wait_for(&self, what: &str, done: impl Fn(&Receiver) -> bool) {
        for _ in 0..100 {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}; got {:?}", self.bodies());
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.seen.lock().expect("lock").push((headers, body));
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

fn verify_signature(secret: &str, headers: &HeaderMap, body: &[u8]) {
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .expect("signature header");
    let hex_sig = header.strip_prefix("sha256=").expect("sha256= prefix");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    mac.verify_slice(&hex::decode(hex_sig).expect("hex"))
        .expect("signature verifies");
}

async fn fake_with(cfg: MetaFakeConfig) -> MetaFake {
    MetaFake::start(cfg).await.expect("start fake")
}

#[tokio::test]
async fn bearer_token_is_checked() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let url = messages_url(&fake);
    let body = reminder(BUYER, None);

    let r = client().post(&url).json(&body).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], 190);

    let r = client()
        .post(&url)
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], 190);

    assert!(fake.accepted().is_empty());
    let (status, _) = send(&fake, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.requests(), 3);
    assert_eq!(fake.accepted().len(), 1);
}

#[tokio::test]
async fn unknown_phone_number_id_and_version_are_rejected() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let r = client()
        .post(format!("{}/v23.0/999/messages", fake.base_url()))
        .bearer_auth(&fake.config().access_token)
        .json(&reminder(BUYER, None))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], 100);
    assert_eq!(v["error"]["error_subcode"], 33);

    let r = client()
        .post(format!(
            "{}/latest/{}/messages",
            fake.base_url(),
            fake.config().phone_number_id
        ))
        .bearer_auth(&fake.config().access_token)
        .json(&reminder(BUYER, None))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(fake.accepted().is_empty());
}

#[tokio::test]
async fn a_valid_template_send_is_accepted_and_recorded() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let (status, v) = send(&fake, &reminder(BUYER, Some("outbox:17"))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["messaging_product"], "whatsapp");
    assert_eq!(v["contacts"][0]["input"], BUYER);
    assert_eq!(v["contacts"][0]["wa_id"], BUYER_WA);
    assert_eq!(v["messages"][0]["message_status"], "accepted");
    let wamid = v["messages"][0]["id"].as_str().expect("id").to_owned();
    assert!(wamid.starts_with("wamid."));

    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 1);
    let m = &accepted[0];
    assert_eq!(m.wamid, wamid);
    assert_eq!(m.to, BUYER_WA);
    assert_eq!(m.kind, "template");
    assert_eq!(m.template.as_deref(), Some("payment_reminder_overdue"));
    assert_eq!(m.language.as_deref(), Some("en"));
    assert_eq!(m.biz_opaque_callback_data.as_deref(), Some("outbox:17"));
    assert_eq!(m.body["template"]["name"], "payment_reminder_overdue");

    // A second send gets a different id.
    let (_, v2) = send(&fake, &reminder(BUYER, None)).await;
    assert_ne!(v2["messages"][0]["id"], json!(wamid));
}

#[tokio::test]
async fn wrong_parameter_count_is_132000() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let mut body = reminder(BUYER, None);
    body["template"]["components"][1]["parameters"]
        .as_array_mut()
        .expect("params")
        .pop();
    let (status, v) = send(&fake, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 132000);
    assert!(fake.accepted().is_empty());
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn unknown_or_unapproved_templates_are_132001() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let mut body = reminder(BUYER, None);
    body["template"]["name"] = json!("no_such_template");
    let (status, v) = send(&fake, &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&v, 132001);

    let mut body = reminder(BUYER, None);
    body["template"]["language"]["code"] = json!("fr");
    let (_, v) = send(&fake, &body).await;
    assert_error(&v, 132001);

    let mut body = reminder(BUYER, None);
    body["template"]["name"] = json!("payment_reminder_gentle");
    let (_, v) = send(&fake, &body).await;
    assert_error(&v, 132001);

    assert!(fake.set_template_status("payment_reminder_overdue", "en", "PAUSED"));
    let (_, v) = send(&fake, &reminder(BUYER, None)).await;
    assert_error(&v, 132015);
    assert!(fake.accepted().is_empty());
}

#[tokio::test]
async fn malformed_parameters_are_132012() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let mut body = reminder(BUYER, None);
    body["template"]["components"][1]["parameters"][2] =
        json!({"type": "currency", "currency": {"code": "INR", "amount_1000": 1}});
    let (status, v) = send(&fake, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 132012);
}

#[tokio::test]
async fn free_form_text_needs_the_customer_service_window() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let text = json!({
        "messaging_product": "whatsapp",
        "to": BUYER_WA,
        "type": "text",
        "text": {"body": "Thanks, we will send a copy."}
    });
    let (status, v) = send(&fake, &text).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 131047);

    fake.reply_text(BUYER, "Please send the invoice again")
        .await;
    let (status, v) = send(&fake, &text).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["messages"][0].get("message_status").is_none());
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].kind, "text");
    assert_eq!(accepted[0].template, None);

    fake.advance_clock(Duration::from_secs(25 * 3600));
    let (_, v) = send(&fake, &text).await;
    assert_error(&v, 131047);
}

#[tokio::test]
async fn the_clock_can_be_set_to_a_simulated_time() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let text = json!({
        "messaging_product": "whatsapp",
        "to": BUYER_WA,
        "type": "text",
        "text": {"body": "Noted, thank you."}
    });
    let past = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000); // 2020
    let future = std::time::UNIX_EPOCH + Duration::from_secs(2_500_000_000); // 2049
    for to in [past, future] {
        fake.set_clock(to);
        fake.reply_text(BUYER, "will pay on 15th").await;
        let (status, v) = send(&fake, &text).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let at = fake.accepted().last().unwrap().at;
        let since = at.duration_since(to).expect("stamped with the set time");
        assert!(since < Duration::from_secs(60), "{since:?}");
    }
    // the window opened at the set time closes 24 h later by that clock
    fake.advance_clock(Duration::from_secs(25 * 3600));
    let (_, v) = send(&fake, &text).await;
    assert_error(&v, 131047);
}

#[tokio::test]
async fn uploaded_media_can_be_the_document_header() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let url = format!(
        "{}/v23.0/{}/media",
        fake.base_url(),
        fake.config().phone_number_id
    );
    let form = || {
        reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", "application/pdf")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"%PDF-1.4 fake invoice".to_vec())
                    .file_name("INV-42.pdf")
                    .mime_str("application/pdf")
                    .expect("mime"),
            )
    };
    let r = client()
        .post(&url)
        .multipart(form())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = client()
        .post(&url)
        .bearer_auth(&fake.config().access_token)
        .multipart(form())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.expect("json");
    let media_id = v["id"].as_str().expect("media id").to_owned();
    assert!(media_id.bytes().all(|b| b.is_ascii_digit()));
    let media = fake.uploaded_media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].filename.as_deref(), Some("INV-42.pdf"));
    assert_eq!(media[0].mime_type, "application/pdf");

    let mut body = reminder(BUYER, None);
    body["template"]["components"][0]["parameters"][0] =
        json!({"type": "document", "document": {"id": media_id, "filename": "INV-42.pdf"}});
    let (status, v) = send(&fake, &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");

    body["template"]["components"][0]["parameters"][0] =
        json!({"type": "document", "document": {"id": "1234"}});
    let (_, v) = send(&fake, &body).await;
    assert_error(&v, 131009);
    assert_eq!(fake.accepted().len(), 1);
}

#[tokio::test]
async fn templates_are_listed_with_cursor_paging() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let token = fake.config().access_token.clone();
    let first = format!(
        "{}/v23.0/{}/message_templates?limit=5",
        fake.base_url(),
        fake.config().waba_id
    );
    let mut url = Some(first.clone());
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(u) = url.take() {
        let r = client()
            .get(&u)
            .bearer_auth(&token)
            .send()
            .await
            .expect("list");
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("json");
        let data = v["data"].as_array().expect("data");
        assert!(data.len() <= 5);
        for t in data {
            for key in ["name", "language", "status", "category", "id", "components"] {
                assert!(t.get(key).is_some(), "{key} missing in {t}");
            }
            seen.push((
                t["name"].as_str().expect("name").to_owned(),
                t["language"].as_str().expect("language").to_owned(),
            ));
        }
        assert!(v["paging"]["cursors"]["after"].is_string());
        url = v["paging"]["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 10, "paging does not end");
    }
    let total = tagada_fakes::meta::default_templates().len();
    assert_eq!(seen.len(), total);
    assert_eq!(pages, total.div_ceil(5));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total);

    let r = client()
        .get(format!(
            "{}/v23.0/{}/message_templates?status=PENDING",
            fake.base_url(),
            fake.config().waba_id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    assert!(v["paging"].get("next").is_none());

    let r = client().get(&first).send().await.expect("list");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn drop_after_read_accepts_but_never_answers() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    fake.script([Fault::DropAfterRead]);
    let result = client()
        .post(messages_url(&fake))
        .bearer_auth(&fake.config().access_token)
        .json(&reminder(BUYER, Some("outbox:1")))
        .send()
        .await;
    assert!(
        result.is_err(),
        "expected a connection error, got {result:?}"
    );
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].biz_opaque_callback_data.as_deref(),
        Some("outbox:1")
    );

    // The next request is served normally.
    let (status, _) = send(&fake, &reminder(BUYER, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.accepted().len(), 2);
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn drop_before_accept_records_nothing() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    fake.script([Fault::DropBeforeAccept]);
    let result = client()
        .post(messages_url(&fake))
        .bearer_auth(&fake.config().access_token)
        .json(&reminder(BUYER, None))
        .send()
        .await;
    assert!(result.is_err());
    assert!(fake.accepted().is_empty());
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn scripted_errors_come_in_order() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    fake.script([
        Fault::RateLimited,
        Fault::PairRateLimited,
        Fault::ServerError,
        Fault::ServiceUnavailable,
        Fault::Error {
            http: 400,
            code: 131026,
            subcode: None,
            message: "Message undeliverable".into(),
        },
        Fault::Slow(Duration::from_millis(20)),
    ]);
    let body = reminder(BUYER, None);
    let expected = [
        (StatusCode::BAD_REQUEST, 130429),
        (StatusCode::BAD_REQUEST, 131056),
        (StatusCode::INTERNAL_SERVER_ERROR, 131000),
        (StatusCode::SERVICE_UNAVAILABLE, 2),
        (StatusCode::BAD_REQUEST, 131026),
    ];
    for (http, code) in expected {
        let (status, v) = send(&fake, &body).await;
        assert_eq!(status, http);
        assert_error(&v, code);
    }
    let (status, _) = send(&fake, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.accepted().len(), 1);
    assert_eq!(fake.requests(), 6);
}

#[tokio::test]
async fn transient_error_rate_answers_retryable_errors() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    fake.set_transient_error_rate(1.0);
    for _ in 0..5 {
        let (_, v) = send(&fake, &reminder(BUYER, None)).await;
        let code = v["error"]["code"].as_i64().expect("code");
        assert!([130429, 131000, 2].contains(&code), "{v}");
    }
    fake.set_transient_error_rate(0.0);
    let (status, _) = send(&fake, &reminder(BUYER, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.accepted().len(), 1);
}

#[tokio::test]
async fn throughput_limit_is_130429() {
    let fake = fake_with(MetaFakeConfig {
        messages_per_second: Some(1),
        ..MetaFakeConfig::default()
    })
    .await;
    let mut limited = 0;
    for i in 0..6 {
        let (status, v) = send(&fake, &reminder(&format!("9198765432{i:02}"), None)).await;
        if status != StatusCode::OK {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_error(&v, 130429);
            limited += 1;
        }
    }
    assert!(limited > 0, "six sends within a second, none limited");
    assert_eq!(fake.accepted().len(), 6 - limited);
}

#[tokio::test]
async fn pair_rate_limit_is_131056() {
    let fake = fake_with(MetaFakeConfig {
        pair_rate_limit: Some(Duration::from_secs(60)),
        ..MetaFakeConfig::default()
    })
    .await;
    let (status, _) = send(&fake, &reminder(BUYER, None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = send(&fake, &reminder(BUYER_WA, None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 131056);
    let (status, _) = send(&fake, &reminder("919811122233", None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn status_webhooks_are_signed_ordered_and_carry_the_callback_data() {
    let receiver = Receiver::start(0).await;
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(receiver.url.clone()),
        ..MetaFakeConfig::default()
    })
    .await;
    let (_, v) = send(&fake, &reminder(BUYER, Some("outbox:99"))).await;
    let wamid = v["messages"][0]["id"].clone();
    receiver
        .wait_for("three statuses", |r| r.statuses().len() >= 3)
        .await;

    let secret = fake.config().app_secret.clone();
    for (headers, body) in receiver.bodies() {
        verify_signature(&secret, &headers, &body);
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["object"], "whatsapp_business_account");
        assert_eq!(v["entry"][0]["id"], json!(fake.config().waba_id));
        let change = &v["entry"][0]["changes"][0];
        assert_eq!(change["field"], "messages");
        assert_eq!(
            change["value"]["metadata"]["phone_number_id"],
            json!(fake.config().phone_number_id)
        );
        assert_eq!(change["value"]["messaging_product"], "whatsapp");
    }
    let statuses = receiver.statuses();
    let order: Vec<_> = statuses.iter().map(|s| s["status"].clone()).collect();
    assert_eq!(
        order,
        vec![json!("sent"), json!("delivered"), json!("read")]
    );
    for s in &statuses {
        assert_eq!(s["id"], wamid);
        assert_eq!(s["recipient_id"], BUYER_WA);
        assert_eq!(s["biz_opaque_callback_data"], "outbox:99");
        assert!(
            s["timestamp"]
                .as_str()
                .is_some_and(|t| t.parse::<u64>().is_ok())
        );
        assert_eq!(s["pricing"]["category"], "utility");
    }

    // The delivery log says the same.
    let deliveries = fake.webhook_deliveries();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| d.delivered() && d.attempts == 1));
}

#[tokio::test]
async fn webhook_posts_are_retried_until_the_receiver_accepts() {
    let receiver = Receiver::start(2).await;
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(receiver.url.clone()),
        webhooks: WebhookBehaviour {
            retry_backoff: Duration::from_millis(10),
            ..WebhookBehaviour::default()
        },
        ..MetaFakeConfig::default()
    })
    .await;
    fake.reply_text(BUYER, "hello").await;
    let deliveries = fake.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].kind, WebhookKind::Inbound);
    assert_eq!(deliveries[0].attempts, 3);
    assert_eq!(
        deliveries[0].outcome,
        DeliveryOutcome::Delivered { http_status: 200 }
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|(_, b)| b == &bodies[0].1));
}

#[tokio::test]
async fn an_unreachable_receiver_is_given_up_on() {
    // Bind and drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(format!("http://127.0.0.1:{port}/hook")),
        webhooks: WebhookBehaviour {
            max_attempts: 2,
            retry_backoff: Duration::from_millis(5),
            ..WebhookBehaviour::default()
        },
        ..MetaFakeConfig::default()
    })
    .await;
    fake.reply_text(BUYER, "hello").await;
    let deliveries = fake.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, 2);
    assert!(!deliveries[0].delivered());
}

#[tokio::test]
async fn button_replies_look_like_template_quick_replies() {
    let receiver = Receiver::start(0).await;
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(receiver.url.clone()),
        ..MetaFakeConfig::default()
    })
    .await;
    fake.reply_button(BUYER, Some("wamid.ABC"), "PAID:42", "Paid already")
        .await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let (headers, body) = &bodies[0];
    verify_signature(&fake.config().app_secret, headers, body);
    let v: Value = serde_json::from_slice(body).expect("json");
    let value = &v["entry"][0]["changes"][0]["value"];
    assert_eq!(value["contacts"][0]["wa_id"], BUYER_WA);
    assert!(value["contacts"][0]["profile"]["name"].is_string());
    let m = &value["messages"][0];
    assert_eq!(m["type"], "button");
    assert_eq!(m["from"], BUYER_WA);
    assert_eq!(m["button"]["payload"], "PAID:42");
    assert_eq!(m["button"]["text"], "Paid already");
    assert_eq!(m["context"]["id"], "wamid.ABC");
    assert_eq!(
        m["context"]["from"],
        json!(fake.config().display_phone_number)
    );
    assert!(m["id"].as_str().is_some_and(|id| id.starts_with("wamid.")));

    // A tap opens the window too.
    let (status, _) = send(
        &fake,
        &json!({"messaging_product": "whatsapp", "to": BUYER_WA, "type": "text", "text": {"body": "Thank you!"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Tapping a quick reply of a sent template echoes the payload the send gave
/// that button, with the template's label as text; a button the send gave
/// no payload comes back as its label; a URL button cannot be tapped here.
#[tokio::test]
async fn tapping_a_sent_quick_reply_echoes_its_payload() {
    let receiver = Receiver::start(0).await;
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(receiver.url.clone()),
        ..MetaFakeConfig::default()
    })
    .await;
    let (status, answer) = send(&fake, &reminder(BUYER, Some("outbox:42"))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_string();
    let inbound = |receiver: &Receiver| {
        receiver
            .bodies()
            .iter()
            .filter_map(|(_, b)| {
                let v: Value = serde_json::from_slice(b).ok()?;
                let m = v["entry"][0]["changes"][0]["value"]["messages"][0].clone();
                (m["type"] == "button").then_some(m)
            })
            .collect::<Vec<_>>()
    };
    fake.tap_quick_reply(&wamid, 1).await.unwrap();
    let m = inbound(&receiver).pop().expect("a button webhook");
    assert_eq!(m["button"]["payload"], "PAID:42");
    assert_eq!(m["button"]["text"], "Paid already");
    assert_eq!(m["context"]["id"], wamid.as_str());
    assert_eq!(m["from"], BUYER_WA);
    // Index 2 was sent without a payload: its label comes back.
    fake.tap_quick_reply(&wamid, 2).await.unwrap();
    let m = inbound(&receiver).pop().unwrap();
    assert_eq!(m["button"]["payload"], m["button"]["text"]);
    assert_eq!(m["button"]["text"], "Send invoice copy");
    assert!(
        fake.tap_quick_reply(&wamid, 0).await.is_err(),
        "a URL button"
    );
    assert!(fake.tap_quick_reply("wamid.unknown", 1).await.is_err());
}

#[tokio::test]
async fn asynchronous_failures_arrive_as_failed_statuses() {
    let receiver = Receiver::start(0).await;
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(receiver.url.clone()),
        webhooks: WebhookBehaviour {
            failure_rate: 1.0,
            ..WebhookBehaviour::default()
        },
        ..MetaFakeConfig::default()
    })
    .await;
    let (status, _) = send(&fake, &reminder(BUYER, Some("outbox:5"))).await;
    assert_eq!(status, StatusCode::OK);
    receiver
        .wait_for("a failed status", |r| !r.statuses().is_empty())
        .await;
    // Give a wrong extra status a chance to show up before checking.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let statuses = receiver.statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0]["status"], "failed");
    assert_eq!(statuses[0]["errors"][0]["code"], 131026);
    assert_eq!(statuses[0]["biz_opaque_callback_data"], "outbox:5");
}

#[tokio::test]
async fn duplicates_batches_and_reordering_keep_every_status() {
    let receiver = Receiver::start(0).await;
    let fake = fake_with(MetaFakeConfig {
        webhook_url: Some(receiver.url.clone()),
        webhooks: WebhookBehaviour {
            duplicate_rate: 1.0,
            reorder: true,
            batch_max: 10,
            batch_window: Duration::from_millis(50),
            ..WebhookBehaviour::default()
        },
        ..MetaFakeConfig::default()
    })
    .await;
    send(&fake, &reminder(BUYER, Some("a"))).await;
    send(&fake, &reminder("919811122233", Some("b"))).await;
    // Each status arrives twice: 2 messages x 3 statuses x 2.
    receiver
        .wait_for("twelve statuses", |r| r.statuses().len() >= 12)
        .await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len() % 2, 0);
    for pair in bodies.chunks(2) {
        assert_eq!(pair[0].1, pair[1].1, "a duplicate is the identical body");
    }
    let mut kinds: Vec<String> = receiver
        .statuses()
        .iter()
        .map(|s| format!("{}:{}", s["biz_opaque_callback_data"], s["status"]))
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 6);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let fake = fake_with(MetaFakeConfig::default()).await;
    let url = messages_url(&fake);
    fake.shutdown().await;
    let result = client()
        .post(url)
        .bearer_auth("fake-meta-access-token")
        .json(&reminder(BUYER, None))
        .send()
        .await;
    assert!(result.is_err());
}
