//! The Stripe client over real HTTP against the fake: the form body Stripe
//! reads, create / retrieve / expire, buyer payments (card and delayed),
//! idempotency, currency units, validation and error classification.

mod common;

use std::collections::BTreeMap;

use common::contract;
use jiff::SignedDuration;
use secrecy::SecretString;
use serde_json::json;
use tagada_core::{Currency, Money};
use tagada_fakes::gateway_hooks::ApiFault;
use tagada_fakes::stripe::{StripeFake, StripeFakeConfig, decode_form};
use tagada_payments::stripe::{NewCheckoutSession, StripeClient};
use tagada_payments::{Gateway, GatewayError, LinkStatus};

async fn fake() -> StripeFake {
    StripeFake::start(StripeFakeConfig::default())
        .await
        .expect("fake starts")
}

fn client(fake: &StripeFake) -> StripeClient {
    StripeClient::new(
        &fake.base_url(),
        SecretString::from(fake.config().secret_key.clone()),
    )
}

fn session(fake: &StripeFake, reference: &str, amount: Money) -> NewCheckoutSession {
    let mut metadata = BTreeMap::new();
    metadata.insert("invoice_id".to_owned(), "inv_01HZX6EXAMPLE".to_owned());
    NewCheckoutSession {
        amount,
        product_name: format!("Invoice {reference}"),
        client_reference_id: reference.into(),
        metadata,
        customer_email: Some("ap@buyer.example.org".into()),
        success_url: "https://app.example.com/pay/return?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: Some("https://app.example.com/pay/cancel".into()),
        expires_at: Some(fake.now() + SignedDuration::from_hours(2)),
        idempotency_key: None,
    }
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

fn field_names(body: &[u8]) -> Vec<String> {
    decode_form(body)
        .expect("form body")
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test]
async fn create_retrieve_pay_and_expire() {
    let fake = fake().await;
    let stripe = client(&fake);
    let mut req = session(&fake, "INV-2025-0045", eur(120000));
    req.metadata
        .insert("invoice_number".into(), "INV-2025-0045".into());
    let created = stripe.create_checkout_session(&req).await.expect("created");
    assert_eq!(created.gateway, Gateway::Stripe);
    assert!(created.id.starts_with("cs_test_"), "{}", created.id);
    assert_eq!(created.status, LinkStatus::Open);
    assert_eq!(created.amount, eur(120000));
    assert_eq!(created.amount_paid, eur(0));
    assert_eq!(created.reference_id.as_deref(), Some("INV-2025-0045"));
    assert_eq!(created.expires_at, req.expires_at);
    assert!(created.url.starts_with(&fake.base_url()), "{}", created.url);
    assert!(created.payments.is_empty());

    let sent = &fake.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(sent.header("authorization"), Some("Bearer ***"));
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(sent.body_str(), req.form_body().unwrap());
    let stored = fake.session(&created.id).unwrap();
    assert_eq!(
        stored["metadata"],
        json!({"invoice_id": "inv_01HZX6EXAMPLE", "invoice_number": "INV-2025-0045"})
    );
    assert_eq!(
        fake.payment_intent_metadata(&created.id),
        Some(stored["metadata"].clone())
    );
    assert_eq!(
        fake.line_items(&created.id),
        [json!({"name": "Invoice INV-2025-0045", "unit_amount": 120000, "quantity": 1})]
    );

    assert_eq!(
        stripe.retrieve_checkout_session(&created.id).await.unwrap(),
        created
    );
    let pi = fake.pay(&created.id).await.unwrap();
    let paid = stripe.retrieve_checkout_session(&created.id).await.unwrap();
    assert_eq!(paid.status, LinkStatus::Paid);
    assert_eq!(paid.amount_paid, eur(120000));
    assert_eq!(paid.url, "", "a completed session has no url");
    assert_eq!(paid.payments.len(), 1);
    let p = &paid.payments[0];
    assert_eq!(p.payment_id, pi);
    assert!(pi.starts_with("pi_"));
    assert_eq!(p.amount, eur(120000));
    assert_eq!(p.link.link_id.as_deref(), Some(created.id.as_str()));
    assert_eq!(p.link.invoice_number.as_deref(), Some("INV-2025-0045"));

    match stripe
        .expire_checkout_session(&created.id)
        .await
        .unwrap_err()
    {
        GatewayError::Rejected { status, .. } => assert_eq!(status, 400),
        other => panic!("{other:?}"),
    }

    let other = stripe
        .create_checkout_session(&session(&fake, "INV-2025-0046", eur(5000)))
        .await
        .unwrap();
    let expired = stripe.expire_checkout_session(&other.id).await.unwrap();
    assert_eq!(expired.status, LinkStatus::Expired);
    assert_eq!(
        stripe
            .retrieve_checkout_session(&other.id)
            .await
            .unwrap()
            .status,
        LinkStatus::Expired
    );
    assert!(fake.pay(&other.id).await.is_err());
}

/// The fields we send are the reconstructed request's, in its order (plus
/// the optional `cancel_url`).
#[tokio::test]
async fn the_form_has_the_fields_stripe_reads() {
    let fake = fake().await;
    let stripe = client(&fake);
    stripe
        .create_checkout_session(&session(&fake, "INV-2025-0045", eur(120000)))
        .await
        .unwrap();
    let ours: Vec<String> = field_names(&fake.requests()[0].body)
        .into_iter()
        .filter(|k| k != "cancel_url")
        .collect();
    let theirs = field_names(&contract(
        "stripe",
        "reconstructed/create_checkout_session.request.form.txt",
    ));
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn a_completed_delayed_payment_is_not_paid_until_it_settles() {
    let fake = fake().await;
    let stripe = client(&fake);
    let usd = Money::from_minor(250000, Currency::USD);
    let a = stripe
        .create_checkout_session(&session(&fake, "INV-D1", usd))
        .await
        .unwrap();
    fake.pay_delayed(&a.id).await.unwrap();
    let pending = stripe.retrieve_checkout_session(&a.id).await.unwrap();
    assert_eq!(pending.status, LinkStatus::Open);
    assert!(pending.payments.is_empty());
    assert_eq!(pending.amount_paid, Money::zero(Currency::USD));
    assert!(fake.pay(&a.id).await.is_err(), "completed already");
    fake.settle(&a.id, true).await.unwrap();
    let settled = stripe.retrieve_checkout_session(&a.id).await.unwrap();
    assert_eq!(settled.status, LinkStatus::Paid);
    assert_eq!(settled.payments[0].amount, usd);
    assert_eq!(
        settled.payments[0].method.as_deref(),
        Some("us_bank_account")
    );
    assert!(fake.settle(&a.id, true).await.is_err(), "settled once");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_session() {
    let fake = fake().await;
    let stripe = client(&fake);
    let mut req = session(&fake, "INV-I1", eur(9900));
    req.idempotency_key = Some("tagada-link-INV-I1-1".into());
    let first = stripe.create_checkout_session(&req).await.unwrap();
    let again = stripe.create_checkout_session(&req).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.sessions().len(), 1);
    assert_eq!(
        fake.requests()[1].header("idempotency-key"),
        Some("tagada-link-INV-I1-1")
    );

    req.amount = eur(10000);
    match stripe.create_checkout_session(&req).await.unwrap_err() {
        GatewayError::Rejected { status, code, .. } => {
            assert_eq!(status, 400);
            assert_eq!(code, "idempotency_error");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.sessions().len(), 1);
}

#[tokio::test]
async fn amounts_go_over_in_stripes_units() {
    let fake = fake().await;
    let stripe = client(&fake);
    for (amount, unit_amount, currency) in [
        (Money::from_minor(5000, Currency::JPY), "5000", "jpy"),
        (Money::from_minor(1250, Currency::KWD), "1250", "kwd"),
        (
            Money::from_minor(5, Currency::from_code("ISK").unwrap()),
            "500",
            "isk",
        ),
        (
            Money::from_minor(1_18_000_00, Currency::INR),
            "11800000",
            "inr",
        ),
    ] {
        let created = stripe
            .create_checkout_session(&session(&fake, "INV-U", amount))
            .await
            .unwrap_or_else(|e| panic!("{amount}: {e}"));
        let sent = decode_form(&fake.requests().last().unwrap().body).unwrap();
        let get = |k: &str| sent.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("line_items[0][price_data][unit_amount]"),
            Some(unit_amount)
        );
        assert_eq!(get("line_items[0][price_data][currency]"), Some(currency));
        assert_eq!(created.amount, amount);
        assert_eq!(
            stripe
                .retrieve_checkout_session(&created.id)
                .await
                .unwrap()
                .amount,
            amount
        );
    }
    let before = fake.requests().len();
    let err = stripe
        .create_checkout_session(&session(
            &fake,
            "INV-U",
            Money::from_minor(1255, Currency::KWD),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected { status: 0, .. }),
        "{err:?}"
    );
    assert!(err.refused_before_sending());
    assert_eq!(fake.requests().len(), before, "nothing was sent");
}

#[tokio::test]
async fn the_fake_refuses_what_stripe_refuses() {
    let fake = fake().await;
    let stripe = client(&fake);
    for (hours, mins) in [(25, 0), (0, 10)] {
        let mut req = session(&fake, "INV-V", eur(1000));
        req.expires_at =
            Some(fake.now() + SignedDuration::from_hours(hours) + SignedDuration::from_mins(mins));
        match stripe.create_checkout_session(&req).await.unwrap_err() {
            GatewayError::Rejected { status, field, .. } => {
                assert_eq!(status, 400);
                assert_eq!(field.as_deref(), Some("expires_at"));
            }
            other => panic!("{other:?}"),
        }
    }
    let mut nameless = session(&fake, "INV-V", eur(1000));
    nameless.product_name = " ".into();
    match stripe.create_checkout_session(&nameless).await.unwrap_err() {
        GatewayError::Rejected { code, field, .. } => {
            assert_eq!(code, "parameter_missing");
            assert_eq!(
                field.as_deref(),
                Some("line_items[0][price_data][product_data][name]")
            );
        }
        other => panic!("{other:?}"),
    }
    let mut bad_url = session(&fake, "INV-V", eur(1000));
    bad_url.success_url = "app.example.com/return".into();
    match stripe.create_checkout_session(&bad_url).await.unwrap_err() {
        GatewayError::Rejected { field, .. } => assert_eq!(field.as_deref(), Some("success_url")),
        other => panic!("{other:?}"),
    }
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_quoted() {
    let fake = fake().await;
    let key = "sk_test_SomebodyElsesKey9876";
    let stripe = StripeClient::new(&fake.base_url(), SecretString::from(key));
    let err = stripe
        .create_checkout_session(&session(&fake, "INV-K", eur(1000)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GatewayError::Unauthorized {
                gateway: Gateway::Stripe,
                ..
            }
        ),
        "{err:?}"
    );
    let text = format!("{err} {err:?} {stripe:?}");
    assert!(!text.contains(key));
    assert!(!text.contains("9876"), "not even the key's tail: {text}");
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn errors_are_classified_and_the_version_is_pinned() {
    let fake = fake().await;
    let stripe = client(&fake).with_api_version("2026-06-24.dahlia");
    let s = stripe
        .create_checkout_session(&session(&fake, "INV-E", eur(1000)))
        .await
        .unwrap();
    assert_eq!(
        fake.requests()[0].header("stripe-version"),
        Some("2026-06-24.dahlia")
    );
    fake.script([
        ApiFault::Status(500),
        ApiFault::Status(429),
        ApiFault::MalformedJson,
    ]);
    for _ in 0..2 {
        let e = stripe.retrieve_checkout_session(&s.id).await.unwrap_err();
        assert!(matches!(e, GatewayError::Transient { .. }), "{e:?}");
    }
    let e = stripe.retrieve_checkout_session(&s.id).await.unwrap_err();
    assert!(matches!(e, GatewayError::Malformed { .. }), "{e:?}");
    match stripe
        .retrieve_checkout_session("cs_test_nothing")
        .await
        .unwrap_err()
    {
        GatewayError::Rejected {
            status,
            code,
            field,
            ..
        } => {
            assert_eq!(status, 404);
            assert_eq!(code, "resource_missing");
            assert_eq!(field.as_deref(), Some("session"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sessions_expire_with_the_clock() {
    let fake = fake().await;
    let stripe = client(&fake);
    let s = stripe
        .create_checkout_session(&session(&fake, "INV-T", eur(1000)))
        .await
        .unwrap();
    fake.advance_clock(std::time::Duration::from_secs(3 * 3600));
    assert_eq!(
        stripe
            .retrieve_checkout_session(&s.id)
            .await
            .unwrap()
            .status,
        LinkStatus::Expired
    );
}
