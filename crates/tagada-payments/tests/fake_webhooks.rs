//! The fakes' webhooks, received by a real endpoint: correctly signed (our
//! verifiers accept them as they arrive), parsed to the right events, and
//! misbehaving on request: duplicated, held and released out of order,
//! retried after failures, replayed byte for byte.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::{Received, Receiver};
use secrecy::SecretString;
use tagada_core::{Currency, Money};
use tagada_fakes::gateway_hooks::HookBehaviour;
use tagada_fakes::razorpay::{RazorpayFake, RazorpayFakeConfig};
use tagada_fakes::stripe::{StripeFake, StripeFakeConfig};
use tagada_payments::razorpay::{self, NewRazorpayLink, RazorpayClient};
use tagada_payments::stripe::{self, DEFAULT_TOLERANCE, NewCheckoutSession, StripeClient};
use tagada_payments::{GatewayEvent, GatewayEventKind, LinkStatus, RemoteLink, SignatureError};

fn inr(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

async fn razorpay_with(rx: &Receiver, webhooks: HookBehaviour) -> (RazorpayFake, RazorpayClient) {
    let fake = RazorpayFake::start(RazorpayFakeConfig {
        webhook_url: Some(rx.url.clone()),
        webhooks,
        ..RazorpayFakeConfig::default()
    })
    .await
    .expect("fake starts");
    let cfg = fake.config();
    let client = RazorpayClient::new(
        &fake.base_url(),
        &cfg.key_id,
        SecretString::from(cfg.key_secret.clone()),
    );
    (fake, client)
}

async fn link(rzp: &RazorpayClient, reference: &str, amount: Money) -> RemoteLink {
    let mut req = NewRazorpayLink::new(amount, reference, format!("Invoice {reference}"));
    req.accept_partial = true;
    req.notes = BTreeMap::from([("invoice_number".to_owned(), reference.to_owned())]);
    rzp.create_link(&req).await.expect("link created")
}

/// Verifies a Razorpay delivery as the app will, then parses it.
fn razorpay_event(fake: &RazorpayFake, r: &Received) -> GatewayEvent {
    let secret = fake.config().webhook_secret.as_bytes();
    assert_eq!(r.header("content-type"), Some("application/json"));
    razorpay::verify_webhook(secret, &r.body, r.header("x-razorpay-signature"))
        .expect("signature verifies");
    let id = r.header("x-razorpay-event-id").expect("event id header");
    razorpay::parse_webhook(&r.body, id).expect("event parses")
}

fn paid_id(ev: &GatewayEvent) -> &str {
    match &ev.kind {
        GatewayEventKind::Paid(p) => &p.payment_id,
        other => panic!("{}: {other:?}", ev.event_type),
    }
}

#[tokio::test]
async fn razorpay_events_are_signed_shaped_and_parse() {
    let rx = Receiver::start().await;
    let (fake, rzp) = razorpay_with(&rx, HookBehaviour::default()).await;
    let a = link(&rzp, "INV-W1", inr(1_000_00)).await;

    let first = fake.pay(&a.id, Some(400_00), "upi").await.unwrap();
    let got = rx.received();
    assert_eq!(
        got.len(),
        2,
        "payment.captured, then payment_link.partially_paid"
    );
    let captured = razorpay_event(&fake, &got[0]);
    assert_eq!(captured.event_type, "payment.captured");
    let order_id = rzp.fetch_link(&a.id).await.unwrap().order_id;
    match &captured.kind {
        GatewayEventKind::Paid(p) => {
            assert_eq!(p.payment_id, first);
            assert_eq!(p.amount, inr(400_00));
            assert_eq!(p.link.order_id, order_id);
            assert_eq!(p.link.invoice_number.as_deref(), Some("INV-W1"));
            assert_eq!(p.link.link_id, None);
        }
        other => panic!("{other:?}"),
    }
    let partial = razorpay_event(&fake, &got[1]);
    assert_eq!(partial.event_type, "payment_link.partially_paid");
    assert_eq!(partial.occurred_at, fake.now());
    match &partial.kind {
        GatewayEventKind::Paid(p) => {
            assert_eq!(p.payment_id, first);
            assert_eq!(p.link.link_id.as_deref(), Some(a.id.as_str()));
            assert_eq!(p.link.reference_id.as_deref(), Some("INV-W1"));
            assert_eq!(p.link.order_id, order_id);
            assert_eq!(p.link_amount_paid, Some(inr(400_00)));
        }
        other => panic!("{other:?}"),
    }
    // Shaped like the documented samples, quirks included.
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["entity"], "event");
    assert_eq!(
        body["contains"],
        serde_json::json!(["payment_link", "order", "payment"])
    );
    let order_entity_id = body["payload"]["order"]["entity"]["id"].as_str().unwrap();
    assert!(!order_entity_id.starts_with("order_"));
    assert_eq!(
        Some(format!("order_{order_entity_id}")),
        order_id,
        "the order entity's id lacks the prefix the order_id fields have"
    );
    assert_eq!(body["payload"]["order"]["entity"]["status"], "attempted");
    assert!(
        body["payload"]["payment_link"]["entity"]
            .get("payments")
            .is_none()
    );

    let second = fake.pay(&a.id, None, "card").await.unwrap();
    let got = rx.received();
    let paid = razorpay_event(&fake, &got[3]);
    assert_eq!(paid.event_type, "payment_link.paid");
    assert_eq!(paid_id(&paid), second);
    match &paid.kind {
        GatewayEventKind::Paid(p) => assert_eq!(p.link_amount_paid, Some(inr(1_000_00))),
        other => panic!("{other:?}"),
    }

    let b = link(&rzp, "INV-W2", inr(500_00)).await;
    let failed_id = fake
        .fail_payment(&b.id, "Payment was declined by the bank")
        .await
        .unwrap();
    let failed = razorpay_event(&fake, rx.received().last().unwrap());
    assert_eq!(failed.event_type, "payment.failed");
    match failed.kind {
        GatewayEventKind::Failed {
            payment_id,
            amount,
            reason,
            link,
        } => {
            assert_eq!(payment_id.as_deref(), Some(failed_id.as_str()));
            assert_eq!(amount, Some(inr(500_00)));
            assert_eq!(reason, "Payment was declined by the bank");
            assert_eq!(link.invoice_number.as_deref(), Some("INV-W2"));
        }
        other => panic!("{other:?}"),
    }

    // Cancelling through the API: the event follows the answer.
    rzp.cancel_link(&b.id).await.unwrap();
    fake.flush_webhooks().await;
    let cancelled = razorpay_event(&fake, rx.received().last().unwrap());
    assert_eq!(
        cancelled.kind,
        GatewayEventKind::LinkClosed {
            link: tagada_payments::LinkRef {
                link_id: Some(b.id.clone()),
                order_id: rzp.fetch_link(&b.id).await.unwrap().order_id,
                reference_id: Some("INV-W2".into()),
                invoice_number: Some("INV-W2".into()),
            },
            status: LinkStatus::Cancelled,
        }
    );

    let c = link(&rzp, "INV-W3", inr(100_00)).await;
    fake.expire(&c.id).await.unwrap();
    let expired = razorpay_event(&fake, rx.received().last().unwrap());
    assert!(matches!(
        expired.kind,
        GatewayEventKind::LinkClosed {
            status: LinkStatus::Expired,
            ..
        }
    ));

    let got = rx.received();
    let deliveries = fake.deliveries();
    assert_eq!(deliveries.len(), got.len());
    let ids: HashSet<&str> = deliveries.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "one id per event");
    for (d, r) in deliveries.iter().zip(&got) {
        assert!(d.delivered());
        assert_eq!(d.attempts, 1);
        assert_eq!(d.body, r.body, "the log keeps the exact bytes");
        assert_eq!(d.header("x-razorpay-event-id"), Some(d.event_id.as_str()));
    }
}

#[tokio::test]
async fn duplicates_carry_the_same_event_id_and_bytes() {
    let rx = Receiver::start().await;
    let behaviour = HookBehaviour {
        duplicate: true,
        ..HookBehaviour::default()
    };
    let (fake, rzp) = razorpay_with(&rx, behaviour).await;
    let a = link(&rzp, "INV-D", inr(1_000_00)).await;
    fake.pay(&a.id, None, "upi").await.unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 4);
    for pair in got.chunks(2) {
        assert_eq!(pair[0].body, pair[1].body);
        assert_eq!(
            pair[0].header("x-razorpay-event-id"),
            pair[1].header("x-razorpay-event-id")
        );
        assert_eq!(
            razorpay_event(&fake, &pair[0]),
            razorpay_event(&fake, &pair[1])
        );
    }
    let distinct: HashSet<_> = got
        .iter()
        .map(|r| r.header("x-razorpay-event-id").unwrap().to_owned())
        .collect();
    assert_eq!(distinct.len(), 2);
}

#[tokio::test]
async fn held_events_are_released_in_order_or_shuffled() {
    let rx = Receiver::start().await;
    let hold = HookBehaviour {
        hold: true,
        ..HookBehaviour::default()
    };
    let (fake, rzp) = razorpay_with(&rx, hold.clone()).await;
    let mut emitted = Vec::new();
    for n in 0..3 {
        let l = link(&rzp, &format!("INV-H{n}"), inr(100_00)).await;
        let pay = fake.pay(&l.id, None, "upi").await.unwrap();
        emitted.push((pay.clone(), "payment.captured".to_owned()));
        emitted.push((pay, "payment_link.paid".to_owned()));
    }
    assert!(rx.received().is_empty(), "nothing sent while held");
    assert_eq!(fake.held(), 6);
    assert_eq!(fake.release_held(Some(7)).await, 6);
    assert_eq!(fake.held(), 0);
    let arrived: Vec<(String, String)> = rx
        .received()
        .iter()
        .map(|r| {
            let ev = razorpay_event(&fake, r);
            (paid_id(&ev).to_owned(), ev.event_type)
        })
        .collect();
    assert_ne!(arrived, emitted, "shuffled");
    let mut a = arrived.clone();
    let mut e = emitted.clone();
    a.sort();
    e.sort();
    assert_eq!(a, e, "every event, once");

    // Released without a seed: in the order they were held.
    let l = link(&rzp, "INV-H9", inr(100_00)).await;
    let pay = fake.pay(&l.id, None, "upi").await.unwrap();
    assert_eq!(fake.release_held(None).await, 2);
    let got = rx.received();
    let types: Vec<String> = got[6..]
        .iter()
        .map(|r| razorpay_event(&fake, r).event_type)
        .collect();
    assert_eq!(types, ["payment.captured", "payment_link.paid"]);
    assert_eq!(paid_id(&razorpay_event(&fake, &got[7])), pay);
}

#[tokio::test]
async fn failed_deliveries_are_retried_then_given_up() {
    let rx = Receiver::start().await;
    let behaviour = HookBehaviour {
        max_attempts: 3,
        retry_backoff: Duration::from_millis(5),
        ..HookBehaviour::default()
    };
    let (fake, rzp) = razorpay_with(&rx, behaviour).await;
    let a = link(&rzp, "INV-R", inr(100_00)).await;
    rx.fail_next(2);
    fake.pay(&a.id, None, "upi").await.unwrap();
    let got = rx.received();
    assert_eq!(
        got.len(),
        4,
        "3 attempts of the first event, 1 of the second"
    );
    let first_id = got[0].header("x-razorpay-event-id").unwrap();
    assert!(
        got[..3]
            .iter()
            .all(|r| r.header("x-razorpay-event-id") == Some(first_id) && r.body == got[0].body)
    );
    let d = fake.deliveries();
    assert_eq!((d[0].attempts, d[0].status), (3, Some(200)));
    assert_eq!((d[1].attempts, d[1].status), (1, Some(200)));

    let b = link(&rzp, "INV-R2", inr(100_00)).await;
    rx.fail_next(100);
    fake.expire(&b.id).await.unwrap();
    let last = fake.deliveries().pop().unwrap();
    assert!(!last.delivered());
    assert_eq!((last.attempts, last.status), (3, Some(500)));
}

#[tokio::test]
async fn past_deliveries_are_redelivered_byte_for_byte() {
    let rx = Receiver::start().await;
    let (fake, rzp) = razorpay_with(&rx, HookBehaviour::default()).await;
    let a = link(&rzp, "INV-X", inr(300_00)).await;
    fake.pay(&a.id, Some(100_00), "upi").await.unwrap();
    fake.pay(&a.id, None, "upi").await.unwrap();
    let n = rx.received().len();
    assert_eq!(n, 4);
    assert_eq!(fake.redeliver_all().await, 4);
    let got = rx.received();
    assert_eq!(got.len(), 8);
    for i in 0..n {
        assert_eq!(got[n + i].body, got[i].body);
        for h in ["x-razorpay-signature", "x-razorpay-event-id"] {
            assert_eq!(got[n + i].header(h), got[i].header(h), "{h}");
        }
        assert_eq!(
            razorpay_event(&fake, &got[n + i]),
            razorpay_event(&fake, &got[i])
        );
    }
    assert_eq!(fake.deliveries().len(), 8);
}

async fn stripe_with(rx: &Receiver) -> (StripeFake, StripeClient) {
    let fake = StripeFake::start(StripeFakeConfig {
        webhook_url: Some(rx.url.clone()),
        ..StripeFakeConfig::default()
    })
    .await
    .expect("fake starts");
    let client = StripeClient::new(
        &fake.base_url(),
        SecretString::from(fake.config().secret_key.clone()),
    );
    (fake, client)
}

async fn checkout(fake: &StripeFake, stripe: &StripeClient, reference: &str) -> RemoteLink {
    let req = NewCheckoutSession {
        amount: Money::from_minor(250000, Currency::USD),
        product_name: format!("Invoice {reference}"),
        client_reference_id: reference.into(),
        metadata: BTreeMap::from([("invoice_number".to_owned(), reference.to_owned())]),
        customer_email: Some("ap@buyer.example.org".into()),
        success_url: "https://app.example.com/pay/return".into(),
        cancel_url: None,
        expires_at: Some(fake.now() + jiff::SignedDuration::from_hours(23)),
        idempotency_key: None,
    };
    stripe.create_checkout_session(&req).await.expect("session")
}

fn stripe_event(fake: &StripeFake, r: &Received) -> Result<GatewayEvent, SignatureError> {
    stripe::verify_webhook(
        &fake.config().webhook_secret,
        &r.body,
        r.header("stripe-signature"),
        fake.now(),
        DEFAULT_TOLERANCE,
    )?;
    Ok(stripe::parse_webhook(&r.body).expect("event parses"))
}

#[tokio::test]
async fn stripe_events_are_signed_and_parse() {
    let rx = Receiver::start().await;
    let (fake, stripe) = stripe_with(&rx).await;
    let usd = Money::from_minor(250000, Currency::USD);

    let a = checkout(&fake, &stripe, "INV-S1").await;
    let pi = fake.pay(&a.id).await.unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert!(
        got[0]
            .header("stripe-signature")
            .is_some_and(|h| h.starts_with(&format!("t={},v1=", fake.now().as_second())))
    );
    let ev = stripe_event(&fake, &got[0]).unwrap();
    assert_eq!(ev.event_type, "checkout.session.completed");
    assert_eq!(ev.event_id, fake.deliveries()[0].event_id);
    assert!(ev.event_id.starts_with("evt_"));
    match &ev.kind {
        GatewayEventKind::Paid(p) => {
            assert_eq!(p.payment_id, pi);
            assert_eq!(p.amount, usd);
            assert_eq!(p.link.link_id.as_deref(), Some(a.id.as_str()));
            assert_eq!(p.link.reference_id.as_deref(), Some("INV-S1"));
            assert_eq!(p.link.invoice_number.as_deref(), Some("INV-S1"));
        }
        other => panic!("{other:?}"),
    }
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["object"], "event");
    assert_eq!(body["data"]["object"]["object"], "checkout.session");
    assert_eq!(body["data"]["object"]["payment_status"], "paid");

    // A delayed method: completed but unpaid, then settled either way.
    let b = checkout(&fake, &stripe, "INV-S2").await;
    fake.pay_delayed(&b.id).await.unwrap();
    fake.settle(&b.id, true).await.unwrap();
    let c = checkout(&fake, &stripe, "INV-S3").await;
    fake.pay_delayed(&c.id).await.unwrap();
    fake.settle(&c.id, false).await.unwrap();
    let kinds: Vec<(String, String)> = rx.received()[1..]
        .iter()
        .map(|r| {
            let ev = stripe_event(&fake, r).unwrap();
            let kind = match ev.kind {
                GatewayEventKind::Paid(p) => format!("paid {}", p.amount),
                GatewayEventKind::Ignored { reason } => format!("ignored: {reason}"),
                GatewayEventKind::Failed { reason, .. } => format!("failed: {reason}"),
                GatewayEventKind::LinkClosed { status, .. } => format!("closed {status:?}"),
            };
            (ev.event_type, kind)
        })
        .collect();
    let expected = [
        (
            "checkout.session.completed",
            "ignored: awaiting a delayed payment",
        ),
        ("checkout.session.async_payment_succeeded", "paid $2,500.00"),
        (
            "checkout.session.completed",
            "ignored: awaiting a delayed payment",
        ),
        (
            "checkout.session.async_payment_failed",
            "failed: the delayed payment failed",
        ),
    ];
    let kinds: Vec<(&str, &str)> = kinds
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(kinds, expected);

    // Expired through the API: the event follows the answer.
    let d = checkout(&fake, &stripe, "INV-S4").await;
    stripe.expire_checkout_session(&d.id).await.unwrap();
    fake.flush_webhooks().await;
    let last = rx.received().pop().unwrap();
    let ev = stripe_event(&fake, &last).unwrap();
    assert!(matches!(
        ev.kind,
        GatewayEventKind::LinkClosed {
            status: LinkStatus::Expired,
            ..
        }
    ));
    let body: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
    assert!(
        body["request"]["id"]
            .as_str()
            .is_some_and(|r| r.starts_with("req_"))
    );
}

#[tokio::test]
async fn replayed_stripe_events_go_stale_and_duplicates_share_ids() {
    let rx = Receiver::start().await;
    let (fake, stripe) = stripe_with(&rx).await;
    fake.set_webhook_behaviour(HookBehaviour {
        duplicate: true,
        ..HookBehaviour::default()
    });
    let a = checkout(&fake, &stripe, "INV-S5").await;
    fake.pay(&a.id).await.unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 2);
    let (e0, e1) = (
        stripe_event(&fake, &got[0]).unwrap(),
        stripe_event(&fake, &got[1]).unwrap(),
    );
    assert_eq!(e0, e1, "same event twice");

    // Ten minutes on, a byte-for-byte replay carries the old timestamp.
    fake.set_webhook_behaviour(HookBehaviour::default());
    fake.advance_clock(Duration::from_secs(600));
    assert_eq!(fake.redeliver_all().await, 2);
    let got = rx.received();
    assert_eq!(got.len(), 4);
    assert_eq!(got[2].body, got[0].body);
    assert_eq!(
        got[2].header("stripe-signature"),
        got[0].header("stripe-signature")
    );
    assert!(matches!(
        stripe_event(&fake, &got[2]),
        Err(SignatureError::Stale { age_secs: 600, .. })
    ));

    // A fresh event is signed with the fake's new time.
    let b = checkout(&fake, &stripe, "INV-S6").await;
    fake.pay(&b.id).await.unwrap();
    assert!(stripe_event(&fake, rx.received().last().unwrap()).is_ok());
}
