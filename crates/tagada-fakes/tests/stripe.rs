//! The Stripe fake over raw HTTP: the reconstructed form body as sent by
//! any client, auth, Stripe's error envelopes, idempotency, and session
//! objects shaped like the samples in `contracts/stripe/`.

use std::path::PathBuf;

use serde_json::Value;
use tagada_fakes::stripe::{StripeFake, StripeFakeConfig};

fn contract(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/stripe")
        .join(rel);
    std::fs::read(&path).unwrap()
}

fn contract_json(rel: &str) -> Value {
    serde_json::from_slice(&contract(rel)).unwrap()
}

async fn start() -> StripeFake {
    let fake = StripeFake::start(StripeFakeConfig::default())
        .await
        .unwrap();
    // The reconstructed request expires at 1764720000: 22 h after this.
    fake.set_clock(jiff::Timestamp::from_second(1_764_640_000).unwrap());
    fake
}

async fn post(fake: &StripeFake, path: &str, body: Vec<u8>, key: Option<&str>) -> (u16, Value) {
    post_with(fake, path, body, key, &[]).await.0
}

async fn post_with(
    fake: &StripeFake,
    path: &str,
    body: Vec<u8>,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> ((u16, Value), reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    ((status, resp.json().await.unwrap()), h)
}

fn key(fake: &StripeFake) -> String {
    fake.config().secret_key.clone()
}

#[tokio::test]
async fn the_reconstructed_request_creates_a_session_like_the_samples() {
    let fake = start().await;
    let body = contract("reconstructed/create_checkout_session.request.form.txt");
    let body = String::from_utf8(body)
        .unwrap()
        .trim_end()
        .as_bytes()
        .to_vec();
    let (status, s) = post(&fake, "/v1/checkout/sessions", body, Some(&key(&fake))).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["amount_total"], 120000);
    assert_eq!(s["currency"], "eur");
    assert_eq!(s["client_reference_id"], "INV-2025-0045");
    assert_eq!(s["customer_email"], "ap@buyer.example.org");
    assert_eq!(s["metadata"]["invoice_id"], "inv_01HZX6EXAMPLE");
    assert_eq!(
        s["success_url"],
        "https://app.example.com/pay/return?session_id={CHECKOUT_SESSION_ID}"
    );
    assert_eq!(s["expires_at"], 1_764_720_000);
    assert_eq!(s["payment_intent"], Value::Null, "made when the buyer pays");
    let id = s["id"].as_str().unwrap();
    assert_eq!(
        fake.payment_intent_metadata(id).unwrap()["invoice_id"],
        "inv_01HZX6EXAMPLE"
    );

    // Same fields as the sample's session object.
    let sample = contract_json("reconstructed/checkout.session.completed.json");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&s), keys(&sample["data"]["object"]));

    // Percent-encoded brackets read the same.
    let encoded = "mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd&line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=X&line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=500&line_items%5B0%5D%5Bquantity%5D=2&success_url=https%3A%2F%2Fx.example%2F";
    let (status, s) = post(
        &fake,
        "/v1/checkout/sessions",
        encoded.as_bytes().to_vec(),
        Some(&key(&fake)),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["amount_total"], 1000);
    assert_eq!(
        s["expires_at"].as_i64().unwrap() - s["created"].as_i64().unwrap(),
        24 * 3600,
        "24 h by default"
    );
}

#[tokio::test]
async fn errors_use_stripes_envelope() {
    let fake = start().await;
    let k = key(&fake);
    let (status, e) = post(
        &fake,
        "/v1/checkout/sessions",
        b"mode=payment&success_url=https%3A%2F%2Fx.example%2F".to_vec(),
        Some(&k),
    )
    .await;
    assert_eq!(status, 400);
    let sample = contract_json("reconstructed/error.parameter_missing.json");
    for f in ["type", "code", "message", "param", "doc_url"] {
        assert_eq!(e["error"][f], sample["error"][f], "{f}");
    }

    let (status, e) = post(
        &fake,
        "/v1/checkout/sessions",
        b"mode=payment&colour=red".to_vec(),
        Some(&k),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(e["error"]["code"], "parameter_unknown");
    assert_eq!(e["error"]["param"], "colour");

    let base = "mode=payment&line_items[0][price_data][currency]=usd&line_items[0][price_data][product_data][name]=X&line_items[0][quantity]=1&success_url=https%3A%2F%2Fx.example%2F";
    for (extra, param, code) in [
        (
            "&line_items[0][price_data][unit_amount]=12.50",
            "line_items[0][price_data][unit_amount]",
            Some("parameter_invalid_integer"),
        ),
        (
            "",
            "line_items[0][price_data][unit_amount]",
            Some("parameter_missing"),
        ),
        (
            "&line_items[0][price_data][unit_amount]=100&expires_at=1764640600",
            "expires_at",
            None,
        ),
    ] {
        let (status, e) = post(
            &fake,
            "/v1/checkout/sessions",
            format!("{base}{extra}").into_bytes(),
            Some(&k),
        )
        .await;
        assert_eq!(status, 400, "{extra}");
        assert_eq!(e["error"]["type"], "invalid_request_error");
        assert_eq!(e["error"]["param"], param, "{extra}");
        assert_eq!(e["error"]["code"].as_str(), code, "{extra}");
    }
    let kwd = base.replace("currency]=usd", "currency]=kwd");
    let (status, e) = post(
        &fake,
        "/v1/checkout/sessions",
        format!("{kwd}&line_items[0][price_data][unit_amount]=1255").into_bytes(),
        Some(&k),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"]["param"],
        "line_items[0][price_data][unit_amount]"
    );
    let upper = base.replace("currency]=usd", "currency]=USD");
    let (status, _) = post(
        &fake,
        "/v1/checkout/sessions",
        format!("{upper}&line_items[0][price_data][unit_amount]=100").into_bytes(),
        Some(&k),
    )
    .await;
    assert_eq!(status, 400, "currencies go in lower case");

    // JSON is not what v1 reads.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/checkout/sessions", fake.base_url()))
        .bearer_auth(&k)
        .json(&serde_json::json!({"mode": "payment"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);

    let (status, e) = post(
        &fake,
        "/v1/checkout/sessions/cs_test_x/expire",
        vec![],
        Some(&k),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(e["error"]["code"], "resource_missing");
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn keys_are_checked() {
    let fake = start().await;
    let (status, e) = post(&fake, "/v1/checkout/sessions", vec![], None).await;
    assert_eq!(status, 401);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You did not provide an API key.")
    );
    let (status, e) = post(
        &fake,
        "/v1/checkout/sessions",
        vec![],
        Some("sk_test_wrongkey1234"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        e["error"]["message"],
        "Invalid API Key provided: sk_test_****1234"
    );
    // Basic auth with the key as user name works too.
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/checkout/sessions", fake.base_url()))
        .basic_auth(key(&fake), Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list["object"], "list");
}

#[tokio::test]
async fn idempotent_requests_replay() {
    let fake = start().await;
    let k = key(&fake);
    let body = String::from_utf8(contract(
        "reconstructed/create_checkout_session.request.form.txt",
    ))
    .unwrap()
    .trim_end()
    .to_owned();
    let h = [("idempotency-key", "k-1")];
    let ((s1, a), _) = post_with(
        &fake,
        "/v1/checkout/sessions",
        body.clone().into_bytes(),
        Some(&k),
        &h,
    )
    .await;
    let ((s2, b), headers) = post_with(
        &fake,
        "/v1/checkout/sessions",
        body.clone().into_bytes(),
        Some(&k),
        &h,
    )
    .await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(a, b);
    assert_eq!(
        headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(fake.sessions().len(), 1);
    let ((s3, e), _) = post_with(
        &fake,
        "/v1/checkout/sessions",
        body.replace("120000", "120001").into_bytes(),
        Some(&k),
        &h,
    )
    .await;
    assert_eq!(s3, 400);
    assert_eq!(e["error"]["type"], "idempotency_error");
}
