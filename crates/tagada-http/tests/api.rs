//! The JSON API over real HTTP: every route refuses a request without a
//! live token, a sales rep sees only their own buyers, actions change the
//! ledger, and the OpenAPI document is the one committed in
//! `docs/openapi.json` (`UPDATE_OPENAPI=1 cargo test -p tagada-http --test api`
//! rewrites it).

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;
use serde_json::{Value, json};
use tagada_app::auth::create_token;
use tagada_app::clock::SimClock;
use tagada_app::payments::{Gateways, PaymentsConfig};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::{CountryCode, Currency, Money, Phone};
use tagada_http::{HttpState, LedgerHttp};
use tagada_store::{
    AuthStore, ImportStore, LedgerStore, Migrate, NewBuyer, NewInvoice, Role, Store,
};
use tagada_store_sqlite::SqliteStore;

fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

struct Api {
    base: String,
    http: reqwest::Client,
    store: Arc<SqliteStore>,
    admin: String,
    accountant: String,
    meera: String,
    arjun: String,
}

async fn api() -> Api {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let store = Arc::new(store);
    for (i, (name, rep)) in [("Acme Traders", "Meera"), ("Globex Exports", "Arjun")]
        .iter()
        .enumerate()
    {
        let (buyer_id, _) = store
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: name.to_string(),
                whatsapp: Some(
                    Phone::parse(&format!("98{:08}", 50_000_000 + i), &CountryCode::india())
                        .unwrap(),
                ),
                country: Some(CountryCode::india()),
                sales_rep: Some(rep.to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
        store
            .upsert_invoices(
                &[NewInvoice {
                    number: format!("INV-{i}"),
                    buyer_id,
                    order_date: None,
                    invoice_date: date(2026, 10, 1),
                    due_date: date(2026, 11, 1),
                    credit_days: Some(31),
                    amount: Money::from_minor(1_00_000_00, Currency::INR),
                    amount_paid: Money::zero(Currency::INR),
                    status: InvoiceStatus::Pending,
                    source: "test".into(),
                    source_hash: format!("h{i}"),
                    notes: None,
                }],
                t0(),
            )
            .await
            .unwrap();
    }
    let s: &dyn Store = store.as_ref();
    let admin = create_token(s, "admin", Role::Admin, t0()).await.unwrap().0;
    let accountant = create_token(s, "accounts", Role::Accountant, t0())
        .await
        .unwrap()
        .0;
    let rep = |r: &str| Role::SalesRep { rep: r.into() };
    let meera = create_token(s, "meera", rep("Meera"), t0())
        .await
        .unwrap()
        .0;
    let arjun = create_token(s, "arjun", rep("Arjun"), t0())
        .await
        .unwrap()
        .0;
    let planner = PlannerConfig::default();
    let pay = PaymentsConfig::default();
    let state = HttpState {
        store: store.clone(),
        clock: Arc::new(SimClock::new(t0())),
        whatsapp: None,
        inbox: Arc::new(tokio::sync::Notify::new()),
        max_body_bytes: 1 << 20,
        indiamart_push: None,
        ledger: Some(LedgerHttp {
            gateways: Gateways::from_config(&pay),
            cfg: Arc::new(pay),
            planner: Arc::new(planner),
            home_country: CountryCode::india(),
            messaging_limit: 0,
            template_check_minutes: 60,
            preview: Default::default(),
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, tagada_http::router(state))
            .await
            .unwrap();
    });
    Api {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        store,
        admin,
        accountant,
        meera,
        arjun,
    }
}

impl Api {
    async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// Every (method, path) of the document, path parameters filled in.
fn documented_routes() -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(&tagada_http::api::openapi_json()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let filled = path.replace("{id}", "1").replace("{key}", "INV-0");
            out.push((method.clone(), filled));
        }
    }
    out
}

#[tokio::test]
async fn every_route_refuses_a_request_without_a_live_token() {
    let a = api().await;
    let routes = documented_routes();
    assert!(routes.len() >= 17, "{routes:?}");
    let revoked = {
        let (tok, made) = create_token(a.store.as_ref(), "old", Role::Admin, t0())
            .await
            .unwrap();
        a.store.revoke_api_token(made.id, t0()).await.unwrap();
        tok
    };
    for (method, path) in &routes {
        for token in [
            None,
            Some("tgd_not-a-real-token-0123456789abcdefghijkl"),
            Some(revoked.as_str()),
        ] {
            let (status, body) = match method.as_str() {
                "get" => a.get(token, path).await,
                _ => a.post(token, path, json!({})).await,
            };
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
        }
    }
    // with a live token the same routes exist (never 404 for the admin's own ledger)
    for (method, path) in &routes {
        if method == "get" {
            let (status, body) = a.get(Some(&a.admin), path).await;
            assert_eq!(status, 200, "{method} {path}: {body}");
        }
    }
}

#[tokio::test]
async fn a_sales_rep_sees_only_their_own_buyers() {
    let a = api().await;
    let (_, buyers) = a.get(Some(&a.meera), "/api/buyers").await;
    let names: Vec<&str> = buyers
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Acme Traders"]);
    let (_, all) = a.get(Some(&a.accountant), "/api/buyers").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let globex = all
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "Globex Exports")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // another rep's buyer, invoice, payments and actions: as if they did not exist
    assert_eq!(
        a.get(Some(&a.meera), &format!("/api/buyers/{globex}"))
            .await
            .0,
        404
    );
    assert_eq!(a.get(Some(&a.meera), "/api/invoices/INV-1").await.0, 404);
    assert_eq!(
        a.get(Some(&a.meera), "/api/payments?invoice=INV-1").await.0,
        404
    );
    let (status, _) = a
        .post(
            Some(&a.meera),
            "/api/invoices/INV-1/mark-paid",
            json!({"method": "neft"}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, invoices) = a.get(Some(&a.meera), "/api/invoices").await;
    let numbers: Vec<&str> = invoices
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec!["INV-0"]);
    let (_, summary) = a.get(Some(&a.meera), "/api/summary").await;
    assert_eq!(
        summary["by_currency"][0]["outstanding"]["text"],
        "₹1,00,000.00"
    );
    // a reminder now, outside the cadence: once a day, and only her own
    let (status, r) = a
        .post(Some(&a.meera), "/api/invoices/INV-0/send-now", json!({}))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["queued"], true, "{r}");
    let (_, again) = a
        .post(Some(&a.meera), "/api/invoices/INV-0/send-now", json!({}))
        .await;
    assert_eq!(again["queued"], false, "{again}");
    assert_eq!(
        a.post(Some(&a.meera), "/api/invoices/INV-1/send-now", json!({}))
            .await
            .0,
        404
    );
    let (_, queued) = a.get(Some(&a.meera), "/api/reminders?status=pending").await;
    assert_eq!(queued.as_array().unwrap().len(), 1, "{queued}");
    assert_eq!(queued[0]["template"], "overdue");
    // her own: readable, and only admins and accountants reassign buyers
    let (status, own) = a.get(Some(&a.meera), "/api/invoices/INV-0").await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["buyer"]["sales_rep"], "Meera");
    let acme = own["buyer"]["id"].as_i64().unwrap();
    let (status, _) = a
        .post(
            Some(&a.meera),
            &format!("/api/buyers/{acme}/rep"),
            json!({"rep": "Meera"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, moved) = a
        .post(
            Some(&a.accountant),
            &format!("/api/buyers/{acme}/rep"),
            json!({"rep": "Arjun"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    // now Arjun's, not Meera's
    assert_eq!(a.get(Some(&a.meera), "/api/invoices/INV-0").await.0, 404);
    assert_eq!(a.get(Some(&a.arjun), "/api/invoices/INV-0").await.0, 200);
    let (_, arjuns) = a.get(Some(&a.arjun), "/api/buyers").await;
    assert_eq!(arjuns.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn actions_change_the_ledger() {
    let a = api().await;
    let (status, r) = a
        .post(
            Some(&a.accountant),
            "/api/invoices/INV-0/mark-paid",
            json!({"amount": "₹40,000", "method": "neft", "reference": "UTR77"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["invoice"]["status"], "partially_paid");
    assert_eq!(r["invoice"]["outstanding"]["minor"], 60_000_00);
    let (status, bad) = a
        .post(
            Some(&a.accountant),
            "/api/invoices/INV-0/mark-paid",
            json!({"amount": "forty", "method": "neft"}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"].as_str().unwrap().starts_with("amount"),
        "{bad}"
    );

    let (status, r) = a
        .post(
            Some(&a.meera),
            "/api/invoices/INV-0/snooze",
            json!({"until": "2026-12-15", "reason": "promised on call"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["invoice"]["snoozed_until"], "2026-12-15");
    let (status, n) = a
        .post(
            Some(&a.meera),
            "/api/invoices/INV-0/note",
            json!({"text": "spoke to accounts, cheque next week"}),
        )
        .await;
    assert_eq!(status, 200, "{n}");
    let (status, r) = a
        .post(
            Some(&a.admin),
            "/api/invoices/INV-1/dispute",
            json!({"reason": "short shipment"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["invoice"]["status"], "disputed");
    let (status, r) = a
        .post(Some(&a.admin), "/api/invoices/INV-1/pause", json!({}))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["invoice"]["paused"], true);

    let (_, detail) = a.get(Some(&a.meera), "/api/invoices/INV-0").await;
    let texts: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("cheque next week")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("snoozed until 2026-12-15")),
        "{texts:?}"
    );
    assert_eq!(detail["payments"][0]["reference"], "UTR77");
    assert!(detail["pay_page"].as_str().unwrap().contains("/pay/"));
    let (_, plan) = a.get(Some(&a.admin), "/api/plan").await;
    let reasons: Vec<&str> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"disputed"), "{plan}");
    assert!(reasons.contains(&"snoozed_until"), "{plan}");

    // a reminder now, outside the cadence: once a day
    let (status, r) = a
        .post(Some(&a.meera), "/api/invoices/INV-0/send-now", json!({}))
        .await;
    assert_eq!(status, 409, "snoozed until the 15th: {r}");
    let (status, r) = a
        .post(Some(&a.arjun), "/api/invoices/INV-1/send-now", json!({}))
        .await;
    assert_eq!(status, 409, "disputed: {r}");
    let (status, r) = a
        .post(Some(&a.admin), "/api/invoices/INV-1/resume", json!({}))
        .await;
    assert_eq!(status, 200, "{r}");

    // the figures: ₹40,000 collected of ₹2,00,000; a rep sees their own share
    let (status, m) = a
        .get(Some(&a.admin), "/api/metrics?period=2026-12&by=rep")
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["collected"]["home"]["minor"], 40_000_00, "{m}");
    assert_eq!(
        m["outstanding"]["total"]["home"]["minor"], 1_60_000_00,
        "{m}"
    );
    let (_, mine) = a.get(Some(&a.arjun), "/api/metrics?period=2026-12").await;
    assert_eq!(
        mine["outstanding"]["total"]["home"]["minor"], 1_00_000_00,
        "{mine}"
    );
    assert_eq!(
        a.get(Some(&a.admin), "/api/metrics?period=fortnight")
            .await
            .0,
        400
    );
}

#[test]
fn the_openapi_document_is_the_committed_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = tagada_http::api::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "docs/openapi.json is out of date: UPDATE_OPENAPI=1 cargo test -p tagada-http --test api"
    );
}
