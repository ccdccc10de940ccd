//! The Razorpay fake over raw HTTP: what it refuses and how, compared with
//! the documented bodies in `contracts/razorpay/`.

use std::path::PathBuf;

use serde_json::{Value, json};
use tagada_fakes::razorpay::{RazorpayFake, RazorpayFakeConfig};

fn contract_json(rel: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/razorpay")
        .join(rel);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

struct Api {
    fake: RazorpayFake,
    http: reqwest::Client,
}

impl Api {
    async fn start(cfg: RazorpayFakeConfig) -> Api {
        Api {
            fake: RazorpayFake::start(cfg).await.unwrap(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let cfg = self.fake.config();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.fake.base_url()))
            .basic_auth(&cfg.key_id, Some(&cfg.key_secret));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn create(&self, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, "/v1/payment_links", Some(body))
            .await
    }
}

fn base(reference: &str) -> Value {
    json!({
        "amount": 100000,
        "currency": "INR",
        "reference_id": reference,
        "description": "Invoice",
        "notify": {"sms": false, "email": false},
        "reminder_enable": false,
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

#[tokio::test]
async fn created_links_look_like_the_documented_response() {
    let api = Api::start(RazorpayFakeConfig::default()).await;
    // Its `expire_by` (2026-01-01) is a month after the fake's default clock.
    let request = contract_json("reconstructed/create_payment_link.request.inr.json");
    let (status, created) = api.create(request).await;
    assert_eq!(status, 200, "{created}");
    let documented = contract_json("reconstructed/create_payment_link.response.created.json");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&created), keys(&documented));
    for k in [
        "amount",
        "amount_paid",
        "currency",
        "customer",
        "description",
        "expire_by",
        "notes",
        "payments",
        "reference_id",
        "status",
        "callback_url",
        "callback_method",
        "reminder_enable",
        "upi_link",
    ] {
        assert_eq!(created[k], documented[k], "{k}");
    }
    assert_eq!(
        created["notify"],
        json!({"email": false, "sms": false, "whatsapp": false})
    );
    assert_eq!(created["created_at"], json!(api.fake.now().as_second()));

    let (status, fetched) = api
        .send(
            reqwest::Method::GET,
            &format!("/v1/payment_links/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!((status, &fetched), (200, &created));
}

#[tokio::test]
async fn duplicate_references_and_bad_keys_get_the_documented_bodies() {
    let api = Api::start(RazorpayFakeConfig::default()).await;
    assert_eq!(api.create(base("R-1")).await.0, 200);
    let (status, body) = api.create(base("R-1")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        contract_json("reconstructed/error.duplicate_reference_id.json")
    );

    let resp = reqwest::Client::new()
        .get(format!("{}/v1/payment_links", api.fake.base_url()))
        .basic_auth(&api.fake.config().key_id, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        contract_json("reconstructed/error.invalid_api_key.json")
    );
    let no_auth = reqwest::Client::new()
        .get(format!("{}/v1/payment_links", api.fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(no_auth.status().as_u16(), 401);
    assert_eq!(
        api.fake.requests().last().unwrap().status,
        401,
        "refused requests are recorded too"
    );
}

#[tokio::test]
async fn create_validation() {
    let api = Api::start(RazorpayFakeConfig::default()).await;
    let now = api.fake.now().as_second();
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            with(base("V1"), "amount", Value::Null),
            "The amount field is required.",
            Some("amount"),
        ),
        (
            with(base("V2"), "amount", json!(-5)),
            "The amount is invalid",
            Some("amount"),
        ),
        (
            with(base("V3"), "amount", json!("100")),
            "The amount is invalid",
            Some("amount"),
        ),
        (
            with(base("V4"), "currency", json!("XYZ")),
            "Currency is not supported",
            Some("currency"),
        ),
        (
            with(
                with(base("V5"), "currency", json!("KWD")),
                "amount",
                json!(1255),
            ),
            "The amount is invalid",
            Some("amount"),
        ),
        (
            with(base("V6"), "colour", json!("red")),
            "wrong input fields sent.",
            Some("colour"),
        ),
        (
            with(base("V7"), "first_min_partial_amount", json!(100)),
            "first_min_partial_amount can be passed only when accept_partial is true",
            Some("first_min_partial_amount"),
        ),
        (
            with(base("V8"), "expire_by", json!(now + 600)),
            "timestamp must be atleast 15 minutes in future",
            Some("expire_by"),
        ),
        (
            with(base("V9"), "upi_link", json!(true)),
            "UPI Payment Links is not supported in Test Mode. Please experience the product in Live Mode.",
            Some("upi_link"),
        ),
        (
            base("A-reference-that-is-longer-than-forty-chars"),
            "The reference_id may not be greater than 40 characters.",
            Some("reference_id"),
        ),
        (
            with(base("V10"), "callback_url", json!("https://x.example/")),
            "The callback method field is required when callback url is present.",
            Some("callback_method"),
        ),
        (
            with(base("V11"), "notes", json!({"k": "x".repeat(256)})),
            "value: the length must not be greater than 255.",
            Some("notes"),
        ),
    ];
    for (body, description, field) in cases {
        let (status, answer) = api.create(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["code"], "BAD_REQUEST_ERROR");
        assert_eq!(answer["error"]["description"], description, "{body}");
        assert_eq!(answer["error"]["field"].as_str(), field, "{body}");
    }
    assert!(api.fake.links().is_empty());
    // A refused create does not use up its reference.
    assert_eq!(api.create(base("V1")).await.0, 200);
}

#[tokio::test]
async fn upi_links_are_live_mode_inr_and_whole() {
    let api = Api::start(RazorpayFakeConfig {
        key_id: "rzp_live_FakeKeyId000001".into(),
        ..RazorpayFakeConfig::default()
    })
    .await;
    let upi = with(base("U1"), "upi_link", json!(true));
    let (status, answer) = api
        .create(with(upi.clone(), "currency", json!("USD")))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["description"],
        "upi is currently supported only in indian currency"
    );
    let (status, answer) = api
        .create(with(upi.clone(), "accept_partial", json!(true)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["description"],
        "partial payment not supported in upi link"
    );
    let (status, created) = api.create(upi).await;
    assert_eq!(status, 200);
    assert_eq!(created["upi_link"], true);
}

#[tokio::test]
async fn list_filters_and_notes_quirks() {
    let api = Api::start(RazorpayFakeConfig::default()).await;
    let (_, a) = api.create(with(base("L1"), "notes", json!({}))).await;
    let (_, b) = api.create(base("L2")).await;
    assert_eq!(
        a["notes"],
        json!([]),
        "an empty object comes back as PHP's []"
    );
    assert_eq!(b["notes"], Value::Null, "no notes: null");
    let (status, all) = api
        .send(reqwest::Method::GET, "/v1/payment_links", None)
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = all["payment_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b["id"].as_str().unwrap(), a["id"].as_str().unwrap()]);
    let (_, one) = api
        .send(
            reqwest::Method::GET,
            "/v1/payment_links?reference_id=L1",
            None,
        )
        .await;
    assert_eq!(one["payment_links"].as_array().unwrap().len(), 1);
    assert_eq!(one["payment_links"][0]["id"], a["id"]);

    let pay = api
        .fake
        .pay(a["id"].as_str().unwrap(), None, "upi")
        .await
        .unwrap();
    let (_, by_payment) = api
        .send(
            reqwest::Method::GET,
            &format!("/v1/payment_links?payment_id={pay}"),
            None,
        )
        .await;
    assert_eq!(by_payment["payment_links"][0]["id"], a["id"]);
    assert_eq!(
        by_payment["payment_links"][0]["payments"][0]["payment_id"],
        json!(pay)
    );
    assert_eq!(by_payment["payment_links"][0]["status"], "paid");
}
