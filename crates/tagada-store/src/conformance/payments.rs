//! Checks of [`PaymentLinkStore`](crate::PaymentLinkStore) and of payments
//! reported before their invoice is known.

use std::collections::HashSet;

use jiff::civil::date;
use tagada_core::InvoiceId;
use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::outbox::OutboxStatus;

use super::{add_buyer, add_invoice, enqueue, inr, invoice, item, message, status_of, t, usd};
use crate::{
    NewPayment, NewPaymentLink, PaymentLinkFilter, PaymentLinkLookup, PaymentLinkUpdate, Store,
    WebhookOutcome,
};

/// Links are stored once per `(gateway, remote_id)`, found by any of their
/// keys, listed open or all, and their paid amount never moves back.
pub async fn payment_links_saved_found_updated<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("L-1", a.id, date(2026, 11, 1), inr(100_000)),
        t(0),
    )
    .await;
    let new = |remote: &str, reference: &str, amount| NewPaymentLink {
        invoice_id: inv.id,
        gateway: "razorpay".into(),
        remote_id: remote.into(),
        reference_id: reference.into(),
        url: format!("https://rzp.example/{remote}"),
        amount,
        status: "open".into(),
        order_id: None,
        expires_at: Some(t(10_000)),
    };
    assert_eq!(
        store.count_payment_links(inv.id, "razorpay").await.unwrap(),
        0
    );
    let first = store
        .save_payment_link(&new("plink_1", "L-1", inr(100_000)), t(10))
        .await
        .unwrap();
    assert_eq!(first.amount_paid, inr(0));
    assert!(first.is_open_at(t(20)));
    assert!(!first.is_open_at(t(10_000)));
    // saving again refreshes, never duplicates
    let again = store
        .save_payment_link(&new("plink_1", "L-1", inr(100_000)), t(11))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(
        store.count_payment_links(inv.id, "razorpay").await.unwrap(),
        1
    );
    let second = store
        .save_payment_link(&new("plink_2", "L-1-2", inr(60_000)), t(12))
        .await
        .unwrap();
    assert_eq!(
        store.count_payment_links(inv.id, "razorpay").await.unwrap(),
        2
    );
    assert_eq!(
        store.count_payment_links(inv.id, "stripe").await.unwrap(),
        0
    );

    let moved = store
        .update_payment_link(
            second.id,
            &PaymentLinkUpdate {
                status: Some("partially_paid".into()),
                amount_paid: Some(inr(20_000)),
                order_id: Some("order_9".into()),
            },
            t(20),
        )
        .await
        .unwrap();
    assert_eq!(moved.amount_paid, inr(20_000));
    assert_eq!(moved.order_id.as_deref(), Some("order_9"));
    // an older report (less paid, no order id) does not move it back
    let kept = store
        .update_payment_link(
            second.id,
            &PaymentLinkUpdate {
                status: None,
                amount_paid: Some(inr(10_000)),
                order_id: None,
            },
            t(21),
        )
        .await
        .unwrap();
    assert_eq!(kept.amount_paid, inr(20_000));
    assert_eq!(kept.status, "partially_paid");
    assert_eq!(kept.order_id.as_deref(), Some("order_9"));

    let find = |remote: Option<&str>, order: Option<&str>, reference: Option<&str>| {
        let lookup = PaymentLinkLookup {
            remote_id: remote.map(str::to_string),
            order_id: order.map(str::to_string),
            reference_id: reference.map(str::to_string),
        };
        let store = &store;
        async move { store.find_payment_link("razorpay", &lookup).await.unwrap() }
    };
    assert_eq!(
        find(Some("plink_1"), None, None).await.unwrap().id,
        first.id
    );
    assert_eq!(
        find(None, Some("order_9"), None).await.unwrap().id,
        second.id
    );
    assert_eq!(find(None, None, Some("L-1-2")).await.unwrap().id, second.id);
    assert_eq!(
        find(Some("plink_unknown"), Some("order_9"), None)
            .await
            .unwrap()
            .id,
        second.id
    );
    assert!(find(Some("plink_unknown"), None, None).await.is_none());
    assert!(
        store
            .find_payment_link(
                "stripe",
                &PaymentLinkLookup {
                    remote_id: Some("plink_1".into()),
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .is_none()
    );

    store
        .update_payment_link(
            first.id,
            &PaymentLinkUpdate {
                status: Some("cancelled".into()),
                ..Default::default()
            },
            t(30),
        )
        .await
        .unwrap();
    let open = store
        .list_payment_links(&PaymentLinkFilter {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        open.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let all = store
        .list_payment_links(&PaymentLinkFilter {
            invoice: Some(inv.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
}

/// A stored invoice has no pay token until one is asked for; then each
/// gets its own unguessable token, which never changes, and the token opens
/// it.
pub async fn pay_tokens_open_their_invoice<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let mut invoices = Vec::new();
    for n in 0..20 {
        let inv = add_invoice(
            &store,
            invoice(&format!("T-{n}"), a.id, date(2026, 11, 1), inr(1_000)),
            t(0),
        )
        .await;
        assert_eq!(inv.pay_token, None, "issued on first need, not when stored");
        invoices.push(inv);
    }
    assert!(store.pay_tokens(&[]).await.unwrap().is_empty());
    // the first few, asked for in disorder and twice, plus an unknown id
    let first: Vec<InvoiceId> = [3, 0, 3, 1].iter().map(|&i| invoices[i].id).collect();
    let mut asked = first.clone();
    asked.push(InvoiceId::new(i64::MAX));
    let issued = store.pay_tokens(&asked).await.unwrap();
    let mut expected: Vec<InvoiceId> = first.clone();
    expected.sort();
    expected.dedup();
    assert_eq!(
        issued.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        expected,
        "one token per known invoice, by id"
    );
    assert_eq!(
        store.get_invoice(invoices[2].id).await.unwrap().pay_token,
        None,
        "only those asked for"
    );
    // then all of them: the first ones keep theirs
    let all: Vec<InvoiceId> = invoices.iter().map(|i| i.id).collect();
    let tokens = store.pay_tokens(&all).await.unwrap();
    assert_eq!(tokens.len(), invoices.len());
    for (id, token) in &issued {
        assert!(
            tokens.contains(&(*id, token.clone())),
            "{id} kept its token"
        );
    }
    let mut seen = HashSet::new();
    for (inv, (id, token)) in invoices.iter().zip(&tokens) {
        assert_eq!(*id, inv.id);
        assert!(token.len() >= 32, "{token} is too short to be unguessable");
        assert!(!token.contains(&inv.number));
        assert!(seen.insert(token.clone()), "token {token} given twice");
        let found = store.find_invoice_by_pay_token(token).await.unwrap();
        assert_eq!(found.map(|i| i.id), Some(inv.id));
        assert_eq!(
            store.get_invoice(inv.id).await.unwrap().pay_token.as_ref(),
            Some(token)
        );
    }
    assert!(
        store
            .find_invoice_by_pay_token("0123456789abcdef0123456789abcdef")
            .await
            .unwrap()
            .is_none()
    );
}

/// Planners, pages and reminders running at once, each asking for the
/// tokens of overlapping invoices, all get the same token for an invoice:
/// it is issued once.
pub async fn pay_tokens_issued_once_under_concurrency<S: Store + 'static>(store: S) {
    const INVOICES: usize = 60;
    const CALLERS: usize = 6;
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let mut ids = Vec::new();
    for n in 0..INVOICES {
        let inv = add_invoice(
            &store,
            invoice(&format!("C-{n}"), a.id, date(2026, 11, 1), inr(1_000)),
            t(0),
        )
        .await;
        ids.push(inv.id);
    }
    let store = std::sync::Arc::new(store);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CALLERS {
        let store = std::sync::Arc::clone(&store);
        // each caller asks for a different, overlapping part, in its own order
        let mut mine: Vec<InvoiceId> = ids.iter().copied().skip(c * 5).step_by(1 + c % 3).collect();
        if c % 2 == 1 {
            mine.reverse();
        }
        tasks.spawn(async move { store.pay_tokens(&mine).await.expect("pay tokens") });
    }
    let mut issued: std::collections::HashMap<InvoiceId, String> = std::collections::HashMap::new();
    while let Some(got) = tasks.join_next().await {
        for (id, token) in got.expect("caller") {
            let first = issued.entry(id).or_insert_with(|| token.clone());
            assert_eq!(*first, token, "invoice {id} was given two tokens");
        }
    }
    for (id, token) in &issued {
        assert_eq!(
            store.get_invoice(*id).await.unwrap().pay_token.as_ref(),
            Some(token),
            "the token {id}'s callers got is the one stored"
        );
    }
    let distinct: HashSet<&String> = issued.values().collect();
    assert_eq!(distinct.len(), issued.len());
}

/// A gateway payment first reported without its invoice (a bare
/// `payment.captured`) is kept, flagged; the report that names the invoice
/// allocates that same payment, once.
pub async fn unallocated_payment_allocated_later<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("U-1", a.id, date(2026, 11, 1), usd(50_000)),
        t(0),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(5_000), "u")],
        t(1),
    )
    .await;
    let bare = NewPayment {
        invoice_number: None,
        invoice_id: None,
        buyer_id: None,
        amount: usd(50_000),
        received_at: t(100),
        method: PaymentMethod::Razorpay,
        reference: Some("pay_1".into()),
    };
    let kept = store.record_payment(&bare, t(101)).await.unwrap();
    assert!(!kept.duplicate);
    assert!(kept.payment.flag.is_some());
    assert_eq!(kept.invoice, None);
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::Pending);

    let named = NewPayment {
        invoice_id: Some(inv.id),
        ..bare.clone()
    };
    let allocated = store.record_payment(&named, t(102)).await.unwrap();
    assert!(!allocated.duplicate);
    assert_eq!(allocated.payment.id, kept.payment.id);
    assert_eq!(allocated.payment.flag, None);
    assert_eq!(allocated.payment.invoice_id, Some(inv.id));
    assert_eq!(allocated.cancelled_messages, 1);
    let after = store.get_invoice(inv.id).await.unwrap();
    assert_eq!(after.status, InvoiceStatus::Paid);
    assert_eq!(after.amount_paid, usd(50_000));
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::Cancelled);

    // reported again (both ways): nothing changes
    for p in [&bare, &named] {
        let again = store.record_payment(p, t(103)).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.payment.id, kept.payment.id);
    }
    assert_eq!(
        store.get_invoice(inv.id).await.unwrap().amount_paid,
        usd(50_000)
    );
    let listed = store.list_payments(None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].invoice_id, Some(inv.id));
}

/// Gateway events are kept once per `(gateway, event id)`, apart from
/// WhatsApp's.
pub async fn gateway_events_kept_once<S: Store + 'static>(store: S) {
    assert!(!store.gateway_event_seen("razorpay", "evt_1").await.unwrap());
    assert!(
        store
            .record_gateway_event("razorpay", "evt_1", "{}", WebhookOutcome::Applied, t(1))
            .await
            .unwrap()
    );
    assert!(store.gateway_event_seen("razorpay", "evt_1").await.unwrap());
    assert!(!store.gateway_event_seen("stripe", "evt_1").await.unwrap());
    assert!(
        !store
            .record_gateway_event("razorpay", "evt_1", "{}", WebhookOutcome::Applied, t(2))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_gateway_event(
                "stripe",
                "evt_1",
                r#"{"a":1}"#,
                WebhookOutcome::Ignored,
                t(3)
            )
            .await
            .unwrap()
    );
    let kept = store.list_webhook_events("razorpay").await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].outcome, WebhookOutcome::Applied);
    assert!(
        store
            .list_webhook_events("whatsapp")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Monitoring's counts group what happened: outbox rows by status, attempts
/// by outcome and error class, webhook events, payments by method.
pub async fn ops_counts_group_what_happened<S: Store + 'static>(store: S) {
    use crate::AttemptOutcome;
    let empty = store.ops_counts().await.unwrap();
    assert!(
        empty.outbox.is_empty() && empty.attempts.is_empty(),
        "{empty:?}"
    );
    assert_eq!(empty.webhook_lag_micros, None);

    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("M-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(0),
    )
    .await;
    enqueue(
        &store,
        vec![
            message(&a, vec![item(&inv, 0)], t(1), "m0"),
            message(&a, vec![item(&inv, 1)], t(2), "m1"),
        ],
        t(0),
    )
    .await;
    let claimed = store
        .claim(t(10), 10, jiff::SignedDuration::from_secs(60), "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let outcomes = [
        AttemptOutcome::Sent {
            provider_id: Some("wamid.1".into()),
        },
        AttemptOutcome::Retry {
            error: "rate limited: 131056 pair rate limit".into(),
            retry_at: t(300),
        },
    ];
    for (c, o) in claimed.iter().zip(&outcomes) {
        store.complete(c.id, c.lease, o, t(11)).await.unwrap();
    }
    store
        .record_payment(
            &NewPayment {
                invoice_number: None,
                invoice_id: Some(inv.id),
                buyer_id: None,
                amount: inr(100),
                received_at: t(20),
                method: PaymentMethod::Upi,
                reference: Some("UTR-M1".into()),
            },
            t(20),
        )
        .await
        .unwrap();
    store
        .record_gateway_event("razorpay", "evt_m1", "{}", WebhookOutcome::Applied, t(21))
        .await
        .unwrap();
    let c = store.ops_counts().await.unwrap();
    let outbox: std::collections::BTreeMap<&str, u64> =
        c.outbox.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    // the sent one, and the retried one (pending again, then cancelled by
    // the part payment: it showed the old amount)
    assert_eq!(outbox.get("sent"), Some(&1), "{c:?}");
    assert_eq!(outbox.values().sum::<u64>(), 2, "{c:?}");
    assert!(
        c.attempts
            .contains(&("retry".to_string(), "rate limited".to_string(), 1)),
        "{c:?}"
    );
    assert!(
        c.attempts
            .iter()
            .any(|(o, class, n)| o == "sent" && class.is_empty() && *n == 1),
        "{c:?}"
    );
    assert_eq!(c.payments, vec![("upi".to_string(), 1)]);
    assert!(
        c.webhook_events
            .contains(&("razorpay".to_string(), "applied".to_string(), 1)),
        "{c:?}"
    );
    assert_eq!(c.inbox_open, 0);
}
