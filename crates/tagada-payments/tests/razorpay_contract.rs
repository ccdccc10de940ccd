//! Razorpay against `contracts/razorpay/`: every signature vector verifies
//! over the named file's exact bytes (and fails once anything changes),
//! every webhook sample parses to the event it describes, and the create
//! body is the one the reconstructed request files show.

mod common;

use std::collections::BTreeMap;

use common::{contract, contract_json};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tagada_core::{Currency, Money};
use tagada_payments::razorpay::{
    self, NewRazorpayLink, parse_webhook, verify_payment_link_callback, verify_webhook,
};
use tagada_payments::{
    Gateway, GatewayEvent, GatewayEventKind, GatewayPayment, LinkRef, LinkStatus, SignatureError,
};

const RZ: &str = "razorpay";

fn inr(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("valid instant")
}

#[test]
fn every_webhook_vector_verifies_over_the_exact_file_bytes() {
    let vectors = contract_json(RZ, "signature_vectors.json");
    let list = vectors["webhook"].as_array().expect("webhook vectors");
    assert_eq!(list.len(), 3);
    for v in list {
        let file = v["body_file"].as_str().expect("body_file");
        let body = contract(RZ, file);
        assert_eq!(
            body.len() as u64,
            v["body_bytes"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            hex::encode(Sha256::digest(&body)),
            v["body_sha256"].as_str().unwrap(),
            "{file} is not byte-exact"
        );
        let secret = v["secret"].as_str().unwrap().as_bytes();
        let sig = v["signature_hex"].as_str().unwrap();
        assert_eq!(verify_webhook(secret, &body, Some(sig)), Ok(()), "{file}");
        assert_eq!(
            verify_webhook(secret, &body, Some(&sig.to_ascii_uppercase())),
            Ok(()),
            "{file}: upper-case hex"
        );
        assert_eq!(
            verify_webhook(secret, &body, Some(&format!(" {sig}\n"))),
            Ok(()),
            "{file}: surrounding whitespace"
        );
        assert_eq!(razorpay::signature(secret, &body), sig);

        // One byte changed anywhere: refused.
        for pos in [0, body.len() / 2, body.len() - 1] {
            let mut tampered = body.clone();
            tampered[pos] ^= 0x01;
            assert_eq!(
                verify_webhook(secret, &tampered, Some(sig)),
                Err(SignatureError::Mismatch),
                "{file}: byte {pos} changed"
            );
        }
        // Re-serialised JSON (same data, other bytes): refused.
        let reserialised =
            serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
        assert_eq!(
            verify_webhook(secret, &reserialised, Some(sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_webhook(b"another_secret", &body, Some(sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_webhook(secret, &body, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_webhook(secret, &body, Some("  ")),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify_webhook(secret, &body, Some("sha256=abc")),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_webhook(secret, &body, Some(&sig[..62])),
            Err(SignatureError::Malformed(_))
        ));
    }
}

#[test]
fn callback_and_checkout_vectors() {
    let vectors = contract_json(RZ, "signature_vectors.json");
    let cb = &vectors["payment_link_callback"][0];
    let fields: Vec<&str> = cb["message"].as_str().unwrap().split('|').collect();
    let secret = cb["secret"].as_str().unwrap().as_bytes();
    let sig = cb["signature_hex"].as_str().unwrap();
    assert_eq!(
        verify_payment_link_callback(secret, fields[0], fields[1], fields[2], fields[3], sig),
        Ok(())
    );
    assert_eq!(
        verify_payment_link_callback(secret, fields[0], fields[1], "cancelled", fields[3], sig),
        Err(SignatureError::Mismatch)
    );
    let co = &vectors["checkout_order_payment"][0];
    assert_eq!(
        razorpay::signature(
            co["secret"].as_str().unwrap().as_bytes(),
            co["message"].as_str().unwrap().as_bytes()
        ),
        co["signature_hex"].as_str().unwrap()
    );
}

fn parse(rel: &str) -> GatewayEvent {
    parse_webhook(&contract(RZ, rel), "evt-header-id").unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn paid(ev: &GatewayEvent) -> &GatewayPayment {
    match &ev.kind {
        GatewayEventKind::Paid(p) => p,
        other => panic!("{}: expected Paid, got {other:?}", ev.event_type),
    }
}

#[test]
fn payment_link_paid_samples() {
    let ev = parse("docs-samples/payment_link.paid.standard.json");
    assert_eq!(ev.gateway, Gateway::Razorpay);
    assert_eq!(ev.event_id, "evt-header-id");
    assert_eq!(ev.event_type, "payment_link.paid");
    assert_eq!(ev.occurred_at, at(1749618314));
    assert_eq!(
        paid(&ev),
        &GatewayPayment {
            payment_id: "pay_Qfldmt5StKZFCB".into(),
            amount: inr(1000),
            link: LinkRef {
                link_id: Some("plink_QflcnnZqCekuvL".into()),
                // The link's order id, prefixed; the order entity's bare
                // "QflczVVaNJciLq" is not used.
                order_id: Some("order_QflczVVaNJciLq".into()),
                reference_id: Some("23".into()),
                invoice_number: None,
            },
            method: Some("upi".into()),
            paid_at: at(1749618371),
            link_amount_paid: Some(inr(1000)),
        }
    );

    let ev = parse("docs-samples/payment_link.paid.upi.json");
    let p = paid(&ev);
    assert_eq!(p.payment_id, "pay_Qb2gYRc7dxedX8");
    assert_eq!(p.amount, inr(100));
    assert_eq!(p.link.link_id.as_deref(), Some("plink_Qb2gHrKr01Maky"));
    assert_eq!(p.link.order_id.as_deref(), Some("order_Qb2gOAUzSm5zpv"));
    assert_eq!(p.link.reference_id.as_deref(), Some("UPItest2"));
    assert_eq!(p.link.invoice_number, None, "notes hold only policy_name");
    assert_eq!(p.paid_at, at(1748586694));
    assert_eq!(p.link_amount_paid, Some(inr(100)));
}

#[test]
fn partially_paid_sample_in_dollars() {
    let ev = parse("reconstructed/payment_link.partially_paid.standard.json");
    assert_eq!(ev.event_type, "payment_link.partially_paid");
    assert_eq!(ev.occurred_at, at(1764633600));
    let usd = |m| Money::from_minor(m, Currency::USD);
    let p = paid(&ev);
    assert_eq!(p.payment_id, "pay_TestPayment0001");
    assert_eq!(p.amount, usd(100000));
    assert_eq!(p.method.as_deref(), Some("card"));
    assert_eq!(p.link_amount_paid, Some(usd(100000)));
    assert_eq!(
        p.link,
        LinkRef {
            link_id: Some("plink_TestAbCdEf0002".into()),
            order_id: Some("order_TestOrder00001".into()),
            reference_id: Some("INV-2025-0043".into()),
            invoice_number: None,
        }
    );
}

#[test]
fn invoice_number_comes_from_the_link_notes_or_the_payment_notes() {
    let mut body = contract_json(
        RZ,
        "reconstructed/payment_link.partially_paid.standard.json",
    );
    body["payload"]["payment_link"]["entity"]["notes"]["invoice_number"] =
        Value::from("INV-2025-0043");
    let ev = parse_webhook(&serde_json::to_vec(&body).unwrap(), "e1").unwrap();
    assert_eq!(
        paid(&ev).link.invoice_number.as_deref(),
        Some("INV-2025-0043")
    );

    // payment.captured carries no link: the payment's inherited notes and
    // order id point back at it.
    let mut body = contract_json(RZ, "docs-samples/payment.captured.upi.json");
    body["payload"]["payment"]["entity"]["notes"] = serde_json::json!({"invoice_number": "INV-7"});
    let ev = parse_webhook(&serde_json::to_vec(&body).unwrap(), "e2").unwrap();
    assert_eq!(paid(&ev).link.invoice_number.as_deref(), Some("INV-7"));
    assert_eq!(
        paid(&ev).link.order_id.as_deref(),
        Some("order_DESxiijbl9xjDB")
    );
}

#[test]
fn payment_captured_and_failed_samples() {
    let ev = parse("docs-samples/payment.captured.upi.json");
    assert_eq!(ev.event_type, "payment.captured");
    assert_eq!(ev.occurred_at, at(1567675356));
    assert_eq!(
        paid(&ev),
        &GatewayPayment {
            payment_id: "pay_DESyzxuld02Zul".into(),
            amount: inr(100),
            link: LinkRef {
                order_id: Some("order_DESxiijbl9xjDB".into()),
                ..LinkRef::default()
            },
            method: Some("upi".into()),
            paid_at: at(1567675356),
            link_amount_paid: None,
        }
    );

    let ev = parse("docs-samples/payment.failed.upi.json");
    assert_eq!(ev.event_type, "payment.failed");
    assert_eq!(
        ev.kind,
        GatewayEventKind::Failed {
            payment_id: Some("pay_DESyzxuld02Zul".into()),
            link: LinkRef {
                order_id: Some("order_DESxiijbl9xjDB".into()),
                ..LinkRef::default()
            },
            amount: Some(inr(100)),
            reason: "Payment failed".into(),
        }
    );
}

#[test]
fn closed_link_samples() {
    for (rel, link_id, order_id, reference, status) in [
        (
            "docs-samples/payment_link.cancelled.standard.json",
            "plink_QaIrRSjWiIuxAO",
            None,
            "NewTestPayment4",
            LinkStatus::Cancelled,
        ),
        (
            "docs-samples/payment_link.cancelled.upi.json",
            "plink_Qb2kkyr7V58HsP",
            None,
            "UPItest3",
            LinkStatus::Cancelled,
        ),
        (
            "docs-samples/payment_link.expired.standard.json",
            "plink_QaIlOGFf8KZNF8",
            None,
            "NewTestPayment",
            LinkStatus::Expired,
        ),
        (
            "docs-samples/payment_link.expired.upi.json",
            "plink_Qb2ftTb6oRGMmu",
            Some("order_Qb2g8aDXbi3yQd"),
            "UPItest1",
            LinkStatus::Expired,
        ),
    ] {
        let ev = parse(rel);
        assert_eq!(
            ev.kind,
            GatewayEventKind::LinkClosed {
                link: LinkRef {
                    link_id: Some(link_id.into()),
                    order_id: order_id.map(Into::into),
                    reference_id: Some(reference.into()),
                    invoice_number: None,
                },
                status,
            },
            "{rel}"
        );
    }
}

#[test]
fn authorized_and_unknown_events_are_ignored() {
    let ev = parse("sdk-python-mocks/fake_payment_authorized_webhook.json");
    assert_eq!(ev.event_type, "payment.authorized");
    assert_eq!(ev.occurred_at, at(1400826760));
    assert!(matches!(ev.kind, GatewayEventKind::Ignored { .. }));

    let body =
        br#"{"entity":"event","event":"refund.created","payload":{},"created_at":1700000000}"#;
    let ev = parse_webhook(body, "e").unwrap();
    assert!(matches!(ev.kind, GatewayEventKind::Ignored { .. }));
}

#[test]
fn unreadable_bodies_are_errors() {
    let ok = contract(RZ, "docs-samples/payment.captured.upi.json");
    assert!(parse_webhook(&ok, "").is_err(), "an event id is required");
    assert!(parse_webhook(b"not json", "e").is_err());
    assert!(parse_webhook(br#"{"created_at": 1}"#, "e").is_err());
    assert!(parse_webhook(br#"{"event":"payment.captured"}"#, "e").is_err());
    assert!(
        parse_webhook(
            br#"{"event":"payment.captured","created_at":1700000000,"payload":{}}"#,
            "e"
        )
        .is_err(),
        "a payment event without its payment"
    );
    let mut bad_currency = contract_json(RZ, "docs-samples/payment.captured.upi.json");
    bad_currency["payload"]["payment"]["entity"]["currency"] = Value::from("ZZZ");
    assert!(parse_webhook(&serde_json::to_vec(&bad_currency).unwrap(), "e").is_err());
}

/// The request files, rebuilt from a [`NewRazorpayLink`]: same JSON.
#[test]
fn create_bodies_match_the_reconstructed_requests() {
    let mut notes = BTreeMap::new();
    notes.insert("invoice_id".to_owned(), "inv_01HZX3EXAMPLE".to_owned());
    notes.insert("tenant_id".to_owned(), "ten_example".to_owned());
    let inr_link = NewRazorpayLink {
        amount: inr(11800000),
        reference_id: "INV-2025-0042".into(),
        description: "Invoice INV-2025-0042 from Example Exports Pvt Ltd".into(),
        customer_name: Some("Test Buyer Traders".into()),
        customer_contact: Some("+919000090000".into()),
        customer_email: Some("accounts@buyer.example.com".into()),
        accept_partial: false,
        first_min_partial_amount: None,
        expire_by: Some(at(1767225600)),
        notes,
        callback_url: Some("https://app.example.com/pay/return".into()),
    };
    assert_eq!(
        inr_link.request_body().unwrap(),
        contract_json(RZ, "reconstructed/create_payment_link.request.inr.json")
    );

    let usd = |m| Money::from_minor(m, Currency::USD);
    let mut usd_link = NewRazorpayLink::new(
        usd(250000),
        "INV-2025-0043",
        "Invoice INV-2025-0043 (export of services)",
    );
    usd_link.customer_name = Some("Example Buyer GmbH".into());
    usd_link.customer_email = Some("ap@buyer.example.org".into());
    usd_link.accept_partial = true;
    usd_link.first_min_partial_amount = Some(usd(50000));
    usd_link
        .notes
        .insert("invoice_id".into(), "inv_01HZX4EXAMPLE".into());
    assert_eq!(
        usd_link.request_body().unwrap(),
        contract_json(RZ, "reconstructed/create_payment_link.request.usd.json")
    );
}
