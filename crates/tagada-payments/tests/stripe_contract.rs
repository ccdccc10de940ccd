//! Stripe against `contracts/stripe/`: the `Stripe-Signature` vectors
//! (valid, several `v1`, stale, signed for another timestamp), every event
//! sample parsed to what it says, and the create body byte-for-byte equal
//! to the reconstructed request.

mod common;

use std::collections::BTreeMap;

use common::{contract, contract_json};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tagada_core::{Currency, Money};
use tagada_payments::stripe::{
    DEFAULT_TOLERANCE, NewCheckoutSession, parse_webhook, signature_header, verify_webhook,
};
use tagada_payments::{
    Gateway, GatewayEvent, GatewayEventKind, GatewayPayment, LinkRef, LinkStatus, SignatureError,
};

const ST: &str = "stripe";

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).expect("valid instant")
}

#[test]
fn signature_vectors() {
    let file = contract_json(ST, "signature_vectors.json");
    let secret = file["secret"].as_str().unwrap();
    assert_eq!(
        file["default_tolerance_seconds"].as_i64(),
        Some(DEFAULT_TOLERANCE.as_secs())
    );
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 6);
    let (mut valid, mut stale, mut wrong_t) = (0, 0, 0);
    for v in vectors {
        let rel = v["body_file"].as_str().unwrap();
        let body = contract(ST, rel);
        if let Some(sha) = v["body_sha256"].as_str() {
            assert_eq!(
                hex::encode(Sha256::digest(&body)),
                sha,
                "{rel} not byte-exact"
            );
        }
        let t = v["timestamp"].as_i64().unwrap();
        let header = v["header"].as_str().unwrap();
        let expect = v["expect"].as_str().unwrap();
        let check =
            |now: i64| verify_webhook(secret, &body, Some(header), at(now), DEFAULT_TOLERANCE);
        if expect.starts_with("valid") {
            valid += 1;
            assert_eq!(check(t), Ok(()), "{rel}: {header}");
            assert_eq!(check(t + 300), Ok(()), "{rel}: 300 s old is still fine");
            assert_eq!(
                check(t - 600),
                Ok(()),
                "{rel}: future timestamps are not refused"
            );
            if let Some(v1) = v["v1"].as_str() {
                assert_eq!(signature_header(secret, t, &body), format!("t={t},v1={v1}"));
            }
            // Tampered body, other secret: refused.
            let mut tampered = body.clone();
            let mid = tampered.len() / 2;
            tampered[mid] ^= 0x20;
            assert_eq!(
                verify_webhook(secret, &tampered, Some(header), at(t), DEFAULT_TOLERANCE),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                verify_webhook("whsec_other", &body, Some(header), at(t), DEFAULT_TOLERANCE),
                Err(SignatureError::Mismatch)
            );
            // The key is the whole secret, prefix included.
            assert_eq!(
                verify_webhook(
                    secret.trim_start_matches("whsec_"),
                    &body,
                    Some(header),
                    at(t),
                    DEFAULT_TOLERANCE
                ),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                verify_webhook(secret, &body, None, at(t), DEFAULT_TOLERANCE),
                Err(SignatureError::Missing)
            );
        } else if expect.starts_with("reject as stale") {
            stale += 1;
            assert_eq!(check(t), Ok(()));
            assert_eq!(
                check(t + 301),
                Err(SignatureError::Stale {
                    age_secs: 301,
                    tolerance_secs: 300
                })
            );
            assert_eq!(
                verify_webhook(
                    secret,
                    &body,
                    Some(header),
                    at(t + 301),
                    SignedDuration::from_secs(600)
                ),
                Ok(()),
                "a wider tolerance accepts it"
            );
        } else if expect.starts_with("reject: signature was computed for a different timestamp") {
            wrong_t += 1;
            assert_eq!(check(t), Err(SignatureError::Mismatch));
        } else {
            panic!("unknown expectation: {expect}");
        }
    }
    assert_eq!((valid, stale, wrong_t), (4, 1, 1));
}

fn parse(rel: &str) -> GatewayEvent {
    parse_webhook(&contract(ST, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn paid(ev: &GatewayEvent) -> &GatewayPayment {
    match &ev.kind {
        GatewayEventKind::Paid(p) => p,
        other => panic!("{}: expected Paid, got {other:?}", ev.event_type),
    }
}

#[test]
fn completed_card_payment() {
    let ev = parse("reconstructed/checkout.session.completed.json");
    assert_eq!(ev.gateway, Gateway::Stripe);
    assert_eq!(ev.event_id, "evt_1TestCheckoutCompleted01");
    assert_eq!(ev.event_type, "checkout.session.completed");
    assert_eq!(ev.occurred_at, at(1764633605));
    let eur = Money::from_minor(120000, Currency::EUR);
    assert_eq!(
        paid(&ev),
        &GatewayPayment {
            payment_id: "pi_3TestPaymentIntent0001".into(),
            amount: eur,
            link: LinkRef {
                link_id: Some("cs_test_a1TestSessionCompleted0001".into()),
                order_id: None,
                reference_id: Some("INV-2025-0045".into()),
                invoice_number: None,
            },
            method: Some("card".into()),
            paid_at: at(1764633605),
            link_amount_paid: Some(eur),
        }
    );
}

#[test]
fn completed_from_a_payment_link_carries_the_invoice_number_in_metadata() {
    let ev = parse("reconstructed/checkout.session.completed.from_payment_link.json");
    let p = paid(&ev);
    assert_eq!(p.payment_id, "pi_3TestPaymentIntent0002");
    assert_eq!(p.amount, Money::from_minor(250000, Currency::USD));
    assert_eq!(
        p.link.link_id.as_deref(),
        Some("cs_live_b1TestFromPaymentLink0001")
    );
    assert_eq!(p.link.reference_id, None);
    assert_eq!(p.link.invoice_number.as_deref(), Some("INV-2025-0043"));
}

#[test]
fn delayed_payment_is_ignored_until_it_succeeds_or_fails() {
    let ev = parse("reconstructed/checkout.session.completed.delayed_unpaid.json");
    assert_eq!(ev.event_id, "evt_1TestCheckoutCompleted03");
    assert_eq!(
        ev.kind,
        GatewayEventKind::Ignored {
            reason: "awaiting a delayed payment".into()
        }
    );

    let ev = parse("reconstructed/checkout.session.async_payment_succeeded.json");
    assert_eq!(ev.event_type, "checkout.session.async_payment_succeeded");
    assert_eq!(ev.occurred_at, at(1765065800));
    let p = paid(&ev);
    assert_eq!(p.payment_id, "pi_3TestPaymentIntent0003");
    assert_eq!(p.amount, Money::from_minor(250000, Currency::USD));
    assert_eq!(p.link.reference_id.as_deref(), Some("INV-2025-0046"));
    assert_eq!(p.method.as_deref(), Some("us_bank_account"));

    let mut failed = contract_json(
        ST,
        "reconstructed/checkout.session.async_payment_succeeded.json",
    );
    failed["type"] = json!("checkout.session.async_payment_failed");
    failed["data"]["object"]["payment_status"] = json!("unpaid");
    let ev = parse_webhook(&serde_json::to_vec(&failed).unwrap()).unwrap();
    match ev.kind {
        GatewayEventKind::Failed {
            payment_id,
            link,
            amount,
            ..
        } => {
            assert_eq!(payment_id.as_deref(), Some("pi_3TestPaymentIntent0003"));
            assert_eq!(
                link.link_id.as_deref(),
                Some("cs_test_a1TestDelayedMethod0001")
            );
            assert_eq!(amount, Some(Money::from_minor(250000, Currency::USD)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn expired_and_other_events() {
    let mut expired = contract_json(
        ST,
        "reconstructed/checkout.session.completed.delayed_unpaid.json",
    );
    expired["type"] = json!("checkout.session.expired");
    expired["data"]["object"]["status"] = json!("expired");
    let ev = parse_webhook(&serde_json::to_vec(&expired).unwrap()).unwrap();
    assert_eq!(
        ev.kind,
        GatewayEventKind::LinkClosed {
            link: LinkRef {
                link_id: Some("cs_test_a1TestDelayedMethod0001".into()),
                order_id: None,
                reference_id: Some("INV-2025-0046".into()),
                invoice_number: None,
            },
            status: LinkStatus::Expired,
        }
    );

    // stripe-mock's event fixture: a plan, nothing tagada acts on.
    let ev = parse("openapi-fixtures/event.json");
    assert_eq!(ev.event_type, "plan.created");
    assert!(matches!(ev.kind, GatewayEventKind::Ignored { .. }));
}

#[test]
fn every_fixture_field_is_tolerated() {
    // stripe-mock's full session object inside a completed event.
    let session = contract_json(ST, "openapi-fixtures/checkout.session.json");
    let event = |session: Value| {
        json!({
            "id": "evt_fixture", "object": "event", "created": 1764633605,
            "data": {"object": session}, "type": "checkout.session.completed",
        })
    };
    let ev = parse_webhook(&serde_json::to_vec(&event(session.clone())).unwrap()).unwrap();
    assert!(
        matches!(ev.kind, GatewayEventKind::Ignored { .. }),
        "unpaid"
    );

    let mut paid_session = session.clone();
    paid_session["payment_status"] = json!("paid");
    paid_session["amount_total"] = json!(5000);
    paid_session["currency"] = json!("jpy");
    let ev = parse_webhook(&serde_json::to_vec(&event(paid_session)).unwrap()).unwrap();
    let p = paid(&ev);
    assert_eq!(
        p.amount,
        Money::from_minor(5000, Currency::JPY),
        "zero-decimal"
    );
    assert_eq!(p.payment_id, "pi_1PgafyB7WZ01zgkWSjxsAJo3");

    // Paid without an amount (the fixture's nulls): an error, not a zero.
    let mut no_amount = session;
    no_amount["payment_status"] = json!("paid");
    assert!(parse_webhook(&serde_json::to_vec(&event(no_amount)).unwrap()).is_err());

    // A session is not an event.
    assert!(parse_webhook(&contract(ST, "openapi-fixtures/checkout.session.json")).is_err());
    assert!(parse_webhook(b"{").is_err());
}

#[test]
fn the_create_body_is_the_reconstructed_request() {
    let mut metadata = BTreeMap::new();
    metadata.insert("invoice_id".to_owned(), "inv_01HZX6EXAMPLE".to_owned());
    let req = NewCheckoutSession {
        amount: Money::from_minor(120000, Currency::EUR),
        product_name: "Invoice INV-2025-0045".into(),
        client_reference_id: "INV-2025-0045".into(),
        metadata,
        customer_email: Some("ap@buyer.example.org".into()),
        success_url: "https://app.example.com/pay/return?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: None,
        expires_at: Some(at(1764720000)),
        idempotency_key: None,
    };
    let expected = String::from_utf8(contract(
        ST,
        "reconstructed/create_checkout_session.request.form.txt",
    ))
    .unwrap();
    assert_eq!(req.form_body().unwrap(), expected.trim_end());
}
