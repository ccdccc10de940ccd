//! The Razorpay client over real HTTP: against the fake (create, fetch,
//! partial and full payments, duplicates, cancel, expiry, errors) and
//! against the documented entities served as they are (every `notes` /
//! `payments` / `status` quirk).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use common::{contract, contract_json};
use secrecy::SecretString;
use serde_json::json;
use tagada_core::{Currency, Money};
use tagada_fakes::gateway_hooks::ApiFault;
use tagada_fakes::razorpay::{RazorpayFake, RazorpayFakeConfig};
use tagada_payments::razorpay::{NewRazorpayLink, RazorpayClient, is_duplicate_reference};
use tagada_payments::{Gateway, GatewayError, LinkStatus};

fn inr(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

async fn fake() -> RazorpayFake {
    RazorpayFake::start(RazorpayFakeConfig::default())
        .await
        .expect("fake starts")
}

fn client(fake: &RazorpayFake) -> RazorpayClient {
    let cfg = fake.config();
    RazorpayClient::new(
        &fake.base_url(),
        &cfg.key_id,
        SecretString::from(cfg.key_secret.clone()),
    )
}

fn invoice_link(reference: &str, amount: Money) -> NewRazorpayLink {
    let mut notes = BTreeMap::new();
    notes.insert("invoice_number".to_owned(), reference.to_owned());
    NewRazorpayLink {
        amount,
        reference_id: reference.into(),
        description: format!("Invoice {reference}"),
        customer_name: Some("Test Buyer Traders".into()),
        customer_contact: Some("+919000090000".into()),
        customer_email: Some("accounts@buyer.example.com".into()),
        accept_partial: true,
        first_min_partial_amount: None,
        expire_by: None,
        notes,
        callback_url: Some("https://app.example.com/pay/return".into()),
    }
}

#[tokio::test]
async fn create_fetch_pay_partially_then_in_full() {
    let fake = fake().await;
    let rzp = client(&fake);
    let mut req = invoice_link("INV-2025-0042", inr(1_18_000_00));
    req.first_min_partial_amount = Some(inr(10_000_00));
    req.expire_by = Some(fake.now() + jiff::SignedDuration::from_hours(24 * 30));
    let created = rzp.create_link(&req).await.expect("created");
    assert_eq!(created.gateway, Gateway::Razorpay);
    assert!(created.id.starts_with("plink_"), "{}", created.id);
    assert_eq!(created.status, LinkStatus::Open);
    assert_eq!(created.amount, inr(1_18_000_00));
    assert_eq!(created.amount_paid, inr(0));
    assert_eq!(created.reference_id.as_deref(), Some("INV-2025-0042"));
    assert_eq!(
        created.order_id, None,
        "the order comes with the first attempt"
    );
    assert_eq!(created.expires_at, req.expire_by);
    assert!(created.payments.is_empty());
    assert!(created.url.starts_with(&fake.base_url()), "{}", created.url);

    // What went over the wire.
    let sent = &fake.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/payment_links")
    );
    assert_eq!(sent.header("authorization"), Some("Basic ***"));
    assert!(
        sent.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert_eq!(sent.json(), req.request_body().unwrap());
    assert_eq!(sent.json()["notify"], json!({"sms": false, "email": false}));
    assert_eq!(sent.json()["reminder_enable"], json!(false));

    assert_eq!(rzp.fetch_link(&created.id).await.unwrap(), created);

    let first = fake
        .pay(&created.id, Some(50_000_00), "upi")
        .await
        .expect("partial payment");
    let after_first = rzp.fetch_link(&created.id).await.unwrap();
    assert_eq!(after_first.status, LinkStatus::PartiallyPaid);
    assert_eq!(after_first.amount_paid, inr(50_000_00));
    assert!(
        after_first
            .order_id
            .as_deref()
            .is_some_and(|o| o.starts_with("order_"))
    );
    assert_eq!(after_first.payments.len(), 1);
    let p = &after_first.payments[0];
    assert_eq!(p.payment_id, first);
    assert_eq!(p.amount, inr(50_000_00));
    assert_eq!(p.method.as_deref(), Some("upi"));
    assert_eq!(p.paid_at, fake.now());
    assert_eq!(p.link_amount_paid, Some(inr(50_000_00)));
    assert_eq!(p.link.link_id.as_deref(), Some(created.id.as_str()));
    assert_eq!(p.link.invoice_number.as_deref(), Some("INV-2025-0042"));
    assert_eq!(p.link.order_id, after_first.order_id);

    fake.advance_clock(Duration::from_secs(3600));
    let second = fake.pay(&created.id, None, "netbanking").await.unwrap();
    let paid = rzp.fetch_link(&created.id).await.unwrap();
    assert_eq!(paid.status, LinkStatus::Paid);
    assert_eq!(paid.amount_paid, inr(1_18_000_00));
    let ids: Vec<&str> = paid
        .payments
        .iter()
        .map(|p| p.payment_id.as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(paid.payments[1].amount, inr(68_000_00));
    assert_eq!(paid.payments[1].link_amount_paid, Some(inr(1_18_000_00)));
    assert_eq!(paid.order_id, after_first.order_id, "one order per link");

    assert!(
        fake.pay(&created.id, None, "upi").await.is_err(),
        "nothing left to pay"
    );
}

#[tokio::test]
async fn partial_rules_are_the_links() {
    let fake = fake().await;
    let rzp = client(&fake);
    let mut whole = invoice_link("INV-1", inr(1_000_00));
    whole.accept_partial = false;
    whole.first_min_partial_amount = None;
    let whole = rzp.create_link(&whole).await.unwrap();
    assert!(fake.pay(&whole.id, Some(100_00), "upi").await.is_err());

    let mut partial = invoice_link("INV-2", inr(50_000_00));
    partial.first_min_partial_amount = Some(inr(10_000_00));
    let partial = rzp.create_link(&partial).await.unwrap();
    assert!(
        fake.pay(&partial.id, Some(5_000_00), "upi").await.is_err(),
        "below the first minimum"
    );
    assert!(fake.pay(&partial.id, Some(10_000_00), "upi").await.is_ok());
    assert!(
        fake.pay(&partial.id, Some(1_00), "upi").await.is_ok(),
        "later parts may be small"
    );
    assert_eq!(
        rzp.fetch_link(&partial.id).await.unwrap().amount_paid,
        inr(10_001_00)
    );
}

#[tokio::test]
async fn a_reference_id_is_used_once_forever() {
    let fake = fake().await;
    let rzp = client(&fake);
    let first = rzp
        .create_link(&invoice_link("INV-2025-0050", inr(1_000_00)))
        .await
        .unwrap();
    let again = rzp
        .create_link(&invoice_link("INV-2025-0050", inr(2_000_00)))
        .await
        .unwrap_err();
    assert!(is_duplicate_reference(&again), "{again:?}");
    match &again {
        GatewayError::Rejected { status, code, .. } => {
            assert_eq!(*status, 400);
            assert_eq!(code, "BAD_REQUEST_ERROR");
        }
        other => panic!("{other:?}"),
    }
    rzp.cancel_link(&first.id).await.unwrap();
    let after_cancel = rzp
        .create_link(&invoice_link("INV-2025-0050", inr(1_000_00)))
        .await
        .unwrap_err();
    assert!(
        is_duplicate_reference(&after_cancel),
        "even a cancelled link keeps its reference"
    );
    let other = rzp
        .create_link(&invoice_link("INV-2025-0050-2", inr(1_000_00)))
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(fake.links().len(), 2);
    assert!(!is_duplicate_reference(&GatewayError::Transient {
        gateway: Gateway::Razorpay,
        message: "x".into()
    }));
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_never_echoed() {
    let fake = fake().await;
    let cfg = fake.config().clone();
    for (key_id, secret) in [
        (cfg.key_id.as_str(), "wrong-secret-value-123"),
        ("rzp_test_SomeoneElse01", cfg.key_secret.as_str()),
    ] {
        let rzp = RazorpayClient::new(&fake.base_url(), key_id, SecretString::from(secret));
        let err = rzp
            .create_link(&invoice_link("INV-9", inr(1_000_00)))
            .await
            .unwrap_err();
        match &err {
            GatewayError::Unauthorized { gateway, message } => {
                assert_eq!(*gateway, Gateway::Razorpay);
                assert_eq!(message, "The api key provided is invalid");
            }
            other => panic!("{other:?}"),
        }
        assert!(!err.to_string().contains(secret));
        assert!(!format!("{err:?}").contains(secret));
        assert!(!format!("{rzp:?}").contains(secret));
    }
    assert!(fake.links().is_empty());
}

#[tokio::test]
async fn cancel_only_what_nobody_paid() {
    let fake = fake().await;
    let rzp = client(&fake);
    let link = rzp
        .create_link(&invoice_link("INV-C1", inr(1_000_00)))
        .await
        .unwrap();
    let cancelled = rzp.cancel_link(&link.id).await.unwrap();
    assert_eq!(cancelled.status, LinkStatus::Cancelled);
    assert_eq!(
        rzp.fetch_link(&link.id).await.unwrap().status,
        LinkStatus::Cancelled
    );
    match rzp.cancel_link(&link.id).await.unwrap_err() {
        GatewayError::Rejected {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert_eq!(message, "cannot cancel or expire an expired link");
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.pay(&link.id, None, "upi").await.is_err());

    let part = rzp
        .create_link(&invoice_link("INV-C2", inr(50_000_00)))
        .await
        .unwrap();
    fake.pay(&part.id, Some(20_000_00), "card").await.unwrap();
    match rzp.cancel_link(&part.id).await.unwrap_err() {
        GatewayError::Rejected { message, .. } => {
            assert_eq!(
                message,
                "cannot cancel or expire an already paid/partially paid link"
            );
        }
        other => panic!("{other:?}"),
    }
    match rzp.fetch_link("plink_DoesNotExist00").await.unwrap_err() {
        GatewayError::Rejected {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert_eq!(message, "The id provided does not exist");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn expiry_is_checked_at_creation_and_happens_with_the_clock() {
    let fake = fake().await;
    let rzp = client(&fake);
    let mut soon = invoice_link("INV-E1", inr(1_000_00));
    soon.expire_by = Some(fake.now() + jiff::SignedDuration::from_mins(10));
    match rzp.create_link(&soon).await.unwrap_err() {
        GatewayError::Rejected { field, message, .. } => {
            assert_eq!(field.as_deref(), Some("expire_by"));
            assert_eq!(message, "timestamp must be atleast 15 minutes in future");
        }
        other => panic!("{other:?}"),
    }
    let mut late = invoice_link("INV-E2", inr(1_000_00));
    late.expire_by = Some(fake.now() + jiff::SignedDuration::from_hours(24 * 200));
    assert!(rzp.create_link(&late).await.is_err(), "over six months");

    let mut ok = invoice_link("INV-E3", inr(1_000_00));
    ok.expire_by = Some(fake.now() + jiff::SignedDuration::from_hours(2));
    let link = rzp.create_link(&ok).await.unwrap();
    fake.advance_clock(Duration::from_secs(3 * 3600));
    let expired = rzp.fetch_link(&link.id).await.unwrap();
    assert_eq!(expired.status, LinkStatus::Expired);
    assert!(!expired.status.is_open());
}

#[tokio::test]
async fn amounts_go_over_in_razorpays_units() {
    let fake = fake().await;
    let rzp = client(&fake);
    let jpy = Money::from_minor(5_000, Currency::JPY);
    let req = invoice_link("INV-JPY", jpy);
    let link = rzp.create_link(&req).await.unwrap();
    assert_eq!(
        fake.requests().last().unwrap().json()["amount"],
        json!(5000)
    );
    assert_eq!(rzp.fetch_link(&link.id).await.unwrap().amount, jpy);

    let kwd = Money::from_minor(1_250, Currency::KWD);
    let mut req = invoice_link("INV-KWD", kwd);
    assert_eq!(rzp.create_link(&req).await.unwrap().amount, kwd);

    let sent_before = fake.requests().len();
    req.reference_id = "INV-KWD-2".into();
    req.amount = Money::from_minor(1_255, Currency::KWD);
    let refused = rzp.create_link(&req).await.unwrap_err();
    assert!(refused.refused_before_sending());
    assert!(!refused.is_retryable());
    match refused {
        GatewayError::Rejected { status, field, .. } => {
            assert_eq!(status, 0, "refused before sending");
            assert_eq!(field.as_deref(), Some("amount"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.requests().len(), sent_before, "nothing was sent");
}

#[tokio::test]
async fn errors_are_classified() {
    let fake = fake().await;
    let rzp = client(&fake);
    let link = rzp
        .create_link(&invoice_link("INV-F", inr(1_000_00)))
        .await
        .unwrap();
    fake.script([
        ApiFault::Status(503),
        ApiFault::Status(429),
        ApiFault::Status(500),
        ApiFault::MalformedJson,
    ]);
    for _ in 0..3 {
        let e = rzp.fetch_link(&link.id).await.unwrap_err();
        assert!(matches!(e, GatewayError::Transient { .. }), "{e:?}");
        assert!(e.is_retryable() && !e.refused_before_sending());
    }
    let e = rzp.fetch_link(&link.id).await.unwrap_err();
    assert!(matches!(e, GatewayError::Malformed { .. }), "{e:?}");
    assert!(
        rzp.fetch_link(&link.id).await.is_ok(),
        "the faults are spent"
    );

    // Nothing listening: transient.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nowhere = RazorpayClient::new(
        &format!("http://127.0.0.1:{port}"),
        "rzp_test_x",
        SecretString::from("s3cr3t-value"),
    );
    let e = nowhere.fetch_link("plink_x").await.unwrap_err();
    assert!(matches!(e, GatewayError::Transient { .. }), "{e:?}");
    assert!(!e.to_string().contains("s3cr3t-value"));
}

/// Serves the documented entities as they are, by link id.
async fn sample_server() -> String {
    async fn entity(
        Path(id): Path<String>,
    ) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
        let body =
            match id.as_str() {
                "plink_Fo48rl281ENAg9" => {
                    contract("razorpay", "sdk-python-mocks/fake_payment_link.json")
                }
                "plink_Fo4oI0cXjpQIz3" => {
                    contract("razorpay", "sdk-python-mocks/cancel_payment_link.json")
                }
                "plink_edit" => contract("razorpay", "sdk-python-mocks/edit_payment_link.json"),
                "plink_ExjpAUN3gVHrUh" => {
                    contract("razorpay", "sdk-go-testdata/fake_paymentlink.json")
                }
                "plink_TestAbCdEf0001" => contract(
                    "razorpay",
                    "reconstructed/create_payment_link.response.created.json",
                ),
                "plink_Fo4EWsg3KmfWGW" => {
                    serde_json::to_vec(
                        &contract_json("razorpay", "sdk-python-mocks/payment_link_collection.json")
                            ["payment_links"][1],
                    )
                    .unwrap()
                }
                "plink_object_payments" => {
                    let mut v = contract_json(
                        "razorpay",
                        "reconstructed/create_payment_link.response.created.json",
                    );
                    v["payments"] = json!({});
                    serde_json::to_vec(&v).unwrap()
                }
                _ => {
                    return (
                        StatusCode::BAD_REQUEST,
                        [("content-type", "application/json")],
                        contract("razorpay", "sdk-python-mocks/bad_request_error.json"),
                    );
                }
            };
        (StatusCode::OK, [("content-type", "application/json")], body)
    }
    let app = Router::new().route("/v1/payment_links/{id}", get(entity));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test]
async fn fetch_reads_every_documented_entity() {
    let base = sample_server().await;
    let rzp = RazorpayClient::new(&base, "rzp_test_x", SecretString::from("s"));

    let paid = rzp.fetch_link("plink_Fo48rl281ENAg9").await.unwrap();
    assert_eq!(paid.status, LinkStatus::Paid);
    assert_eq!((paid.amount, paid.amount_paid), (inr(100), inr(100)));
    assert_eq!(paid.reference_id, None, "empty reference");
    assert_eq!(paid.order_id.as_deref(), Some("order_Fo491cL6NGAjkI"));
    assert_eq!(paid.expires_at, None, "expire_by 0");
    assert_eq!(paid.url, "https://rzp.io/i/XQiMe4w");
    assert_eq!(paid.payments.len(), 1);
    assert_eq!(paid.payments[0].payment_id, "pay_Fo49sHbQ78PCMI");
    assert_eq!(paid.payments[0].method.as_deref(), Some("upi"));
    assert_eq!(
        paid.payments[0].paid_at,
        jiff::Timestamp::from_second(1602522351).unwrap()
    );

    let cancelled = rzp.fetch_link("plink_Fo4oI0cXjpQIz3").await.unwrap();
    assert_eq!(cancelled.status, LinkStatus::Cancelled);
    assert!(cancelled.payments.is_empty(), "payments []");

    let edited = rzp.fetch_link("plink_edit").await.unwrap();
    assert_eq!(edited.reference_id.as_deref(), Some("TS35"));
    assert_eq!(
        edited.expires_at,
        Some(jiff::Timestamp::from_second(1653347540).unwrap())
    );

    let active = rzp.fetch_link("plink_ExjpAUN3gVHrUh").await.unwrap();
    assert_eq!(active.status, LinkStatus::Open, "unknown status `active`");
    assert_eq!(active.reference_id, None);

    let created = rzp.fetch_link("plink_TestAbCdEf0001").await.unwrap();
    assert_eq!(created.status, LinkStatus::Open);
    assert!(created.payments.is_empty(), "payments null");
    assert_eq!(created.amount, inr(11800000));
    assert_eq!(created.url, "https://rzp.io/rzp/TestAb1");

    let listed = rzp.fetch_link("plink_Fo4EWsg3KmfWGW").await.unwrap();
    assert_eq!(listed.status, LinkStatus::Cancelled, "notes []");

    let object = rzp.fetch_link("plink_object_payments").await.unwrap();
    assert!(object.payments.is_empty(), "payments {{}}");

    match rzp.fetch_link("plink_unknown").await.unwrap_err() {
        GatewayError::Rejected {
            code,
            message,
            field,
            ..
        } => {
            assert_eq!(code, "BAD_REQUEST_ERROR");
            assert_eq!(message, "The amount is invalid");
            assert_eq!(field.as_deref(), Some("amount"));
        }
        other => panic!("{other:?}"),
    }
}
