//! Checks of [`WebhookStore`](crate::WebhookStore): statuses recorded once,
//! merged monotonically, unknown ones kept, unknown outcomes settled, and
//! the delivery history in timelines.

use jiff::SignedDuration;
use jiff::civil::date;
use tagada_core::OutboxId;
use tagada_core::ledger::{Buyer, Invoice};
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};

use super::{add_buyer, add_invoice, claim_all, enqueue, inr, invoice, item, message, t};
use crate::{
    AttemptOutcome, StatusOutcome, StatusUpdate, Store, TimelineSubject, WHATSAPP, WebhookOutcome,
};

fn status(wamid: &str, outbox: Option<OutboxId>, s: DeliveryStatus, at_secs: i64) -> StatusUpdate {
    let failed = s == DeliveryStatus::Failed;
    StatusUpdate {
        wamid: wamid.to_string(),
        outbox_id: outbox,
        status: s,
        at: t(at_secs),
        error_code: failed.then_some(131026),
        error: failed.then(|| "Message undeliverable".to_string()),
        event_key: format!("status:{wamid}:{}", s.as_str()),
        raw: format!(r#"{{"id":"{wamid}","status":"{}"}}"#, s.as_str()),
    }
}

/// A buyer with one invoice.
async fn ledger<S: Store>(store: &S, number: &str) -> (Buyer, Invoice) {
    let a = add_buyer(store, "Acme Traders", 1).await;
    let inv = add_invoice(
        store,
        invoice(number, a.id, date(2026, 11, 1), inr(10_000)),
        t(-100),
    )
    .await;
    (a, inv)
}

/// Enqueues one message per wamid and sends each (accepted, provider id =
/// its wamid). Returns the outbox ids in order.
async fn sent<S: Store>(store: &S, a: &Buyer, inv: &Invoice, wamids: &[&str]) -> Vec<OutboxId> {
    let msgs = wamids
        .iter()
        .enumerate()
        .map(|(i, w)| message(a, vec![item(inv, i as u32)], t(0), &format!("k-{w}")))
        .collect();
    let ids = enqueue(store, msgs, t(-50)).await;
    for c in claim_all(store, t(0)).await {
        let i = ids.iter().position(|id| *id == c.id).expect("claimed ours");
        store.mark_sending(c.id, c.lease, t(1)).await.unwrap();
        let outcome = AttemptOutcome::Sent {
            provider_id: Some(wamids[i].to_string()),
        };
        store.complete(c.id, c.lease, &outcome, t(2)).await.unwrap();
    }
    ids
}

async fn delivery<S: Store>(store: &S, id: OutboxId) -> Option<DeliveryStatus> {
    store.get_message(id).await.expect("get message").delivery
}

/// A replayed status (same key) changes nothing and is stored once.
pub async fn webhook_duplicate_changes_nothing<S: Store + 'static>(store: S) {
    let (a, inv) = ledger(&store, "W-1").await;
    let ids = sent(&store, &a, &inv, &["wamid.A"]).await;
    assert_eq!(
        delivery(&store, ids[0]).await,
        Some(DeliveryStatus::Accepted)
    );
    let d = status("wamid.A", Some(ids[0]), DeliveryStatus::Delivered, 10);
    assert_eq!(
        store.apply_message_status(&d, t(11)).await.unwrap(),
        StatusOutcome::Applied {
            outbox_id: ids[0],
            delivery: DeliveryStatus::Delivered
        }
    );
    let before = store.get_message(ids[0]).await.unwrap();
    for i in 0..3 {
        assert_eq!(
            store.apply_message_status(&d, t(20 + i)).await.unwrap(),
            StatusOutcome::Duplicate
        );
    }
    assert_eq!(store.get_message(ids[0]).await.unwrap(), before);
    assert_eq!(store.list_message_events(ids[0]).await.unwrap().len(), 1);
    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_key, "status:wamid.A:delivered");
    assert_eq!(events[0].outcome, WebhookOutcome::Applied);
    assert_eq!(events[0].outbox_id, Some(ids[0]));
    assert_eq!(events[0].received_at, t(11));
    let payload: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(payload["status"], "delivered");
}

/// Delivery only moves forward, whatever order the statuses come in.
pub async fn webhook_status_is_monotonic<S: Store + 'static>(store: S) {
    let (a, inv) = ledger(&store, "W-2").await;
    let ids = sent(&store, &a, &inv, &["wamid.R", "wamid.D", "wamid.F"]).await;
    let (r, d, f) = (ids[0], ids[1], ids[2]);
    use DeliveryStatus as D;

    // read before sent, with no delivered at all: read (implies delivered)
    let apply = |w: &'static str, id, s, at| {
        let u = status(w, Some(id), s, at);
        let store = &store;
        async move { store.apply_message_status(&u, t(at + 1)).await.unwrap() }
    };
    apply("wamid.R", r, D::Read, 10).await;
    assert_eq!(
        apply("wamid.R", r, D::Sent, 5).await,
        StatusOutcome::Applied {
            outbox_id: r,
            delivery: D::Read
        },
        "a late sent after read changes nothing"
    );
    assert_eq!(delivery(&store, r).await, Some(D::Read));
    assert!(delivery(&store, r).await.unwrap().is_delivered());
    // failed after read does not regress and records no error on the row
    apply("wamid.R", r, D::Failed, 12).await;
    let row = store.get_message(r).await.unwrap();
    assert_eq!(row.delivery, Some(D::Read));
    assert_eq!(row.last_error, None);

    // delivered, then failed: still delivered; then read: read
    apply("wamid.D", d, D::Delivered, 10).await;
    apply("wamid.D", d, D::Failed, 11).await;
    assert_eq!(delivery(&store, d).await, Some(D::Delivered));
    apply("wamid.D", d, D::Read, 12).await;
    assert_eq!(delivery(&store, d).await, Some(D::Read));

    // sent, then failed: failed with the error on the row
    apply("wamid.F", f, D::Sent, 10).await;
    apply("wamid.F", f, D::Failed, 11).await;
    let row = store.get_message(f).await.unwrap();
    assert_eq!(row.delivery, Some(D::Failed));
    assert_eq!(
        row.status,
        OutboxStatus::Sent,
        "accepted, then undeliverable"
    );
    assert_eq!(
        row.last_error.as_deref(),
        Some("failed (131026): Message undeliverable")
    );

    // found by wamid alone (no callback data)
    let u = status("wamid.D", None, D::Sent, 13);
    assert_eq!(
        store.apply_message_status(&u, t(14)).await.unwrap(),
        StatusOutcome::Applied {
            outbox_id: d,
            delivery: D::Read
        }
    );

    // every applied status is in the row's history, with the merge result
    let history = store.list_message_events(f).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|e| (e.status, e.delivery))
            .collect::<Vec<_>>(),
        vec![(D::Sent, D::Sent), (D::Failed, D::Failed)]
    );
    assert_eq!(history[1].error_code, Some(131026));
    assert_eq!(history[1].error.as_deref(), Some("Message undeliverable"));
    assert_eq!(history[1].wamid, "wamid.F");
    assert_eq!(history[1].at, t(11));
    assert_eq!(store.list_message_events(r).await.unwrap().len(), 3);
}

/// A status for no message of ours is kept as `unmatched`, never an error.
pub async fn webhook_unknown_message_is_unmatched<S: Store + 'static>(store: S) {
    let (a, inv) = ledger(&store, "W-3").await;
    let ids = sent(&store, &a, &inv, &["wamid.K"]).await;
    let before = store.get_message(ids[0]).await.unwrap();
    let unknown = status("wamid.X", None, DeliveryStatus::Delivered, 10);
    assert_eq!(
        store.apply_message_status(&unknown, t(11)).await.unwrap(),
        StatusOutcome::Unmatched
    );
    // a callback naming an outbox row that does not exist, unknown wamid
    let stray = status(
        "wamid.Y",
        Some(OutboxId::new(999_999)),
        DeliveryStatus::Read,
        10,
    );
    assert_eq!(
        store.apply_message_status(&stray, t(12)).await.unwrap(),
        StatusOutcome::Unmatched
    );
    assert_eq!(
        store.apply_message_status(&unknown, t(13)).await.unwrap(),
        StatusOutcome::Duplicate
    );
    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.event_key.as_str(), e.outcome, e.outbox_id))
            .collect::<Vec<_>>(),
        vec![
            ("status:wamid.X:delivered", WebhookOutcome::Unmatched, None),
            ("status:wamid.Y:read", WebhookOutcome::Unmatched, None),
        ]
    );
    assert_eq!(store.get_message(ids[0]).await.unwrap(), before);
    assert!(store.list_message_events(ids[0]).await.unwrap().is_empty());
    assert!(
        store
            .list_webhook_events("razorpay")
            .await
            .unwrap()
            .is_empty()
    );
}

/// A status proves the channel accepted a message whose outcome we did not
/// know: a `needs_review` row with no provider id becomes `sent` with the
/// wamid. An in-flight row whose worker still holds the lease is left to
/// that worker (who completes it normally), its delivery kept.
pub async fn webhook_settles_unknown_outcomes<S: Store + 'static>(store: S) {
    let (a, inv) = ledger(&store, "W-4").await;
    let ids = enqueue(
        &store,
        vec![
            message(&a, vec![item(&inv, 0)], t(0), "rv"),
            message(&a, vec![item(&inv, 1)], t(0), "if"),
        ],
        t(-50),
    )
    .await;
    let lease = SignedDuration::from_secs(60);
    let first = store.claim(t(0), 1, lease, "w1").await.unwrap().remove(0);
    assert_eq!(first.id, ids[0]);
    store
        .mark_sending(first.id, first.lease, t(1))
        .await
        .unwrap();
    // the lease lapses after the send started: needs review
    let second = store.claim(t(61), 1, lease, "w2").await.unwrap().remove(0);
    assert_eq!(second.id, ids[1]);
    let review = store.get_message(ids[0]).await.unwrap();
    assert_eq!(review.status, OutboxStatus::NeedsReview);
    assert_eq!(review.provider_id, None);

    let u = status("wamid.RV", Some(ids[0]), DeliveryStatus::Sent, 70);
    assert_eq!(
        store.apply_message_status(&u, t(71)).await.unwrap(),
        StatusOutcome::Applied {
            outbox_id: ids[0],
            delivery: DeliveryStatus::Sent
        }
    );
    let settled = store.get_message(ids[0]).await.unwrap();
    assert_eq!(settled.status, OutboxStatus::Sent);
    assert_eq!(settled.provider_id.as_deref(), Some("wamid.RV"));
    assert_eq!(settled.delivery, Some(DeliveryStatus::Sent));
    assert!(settled.sent_at.is_some());
    // later statuses find it by wamid too
    let r = status("wamid.RV", None, DeliveryStatus::Read, 80);
    store.apply_message_status(&r, t(81)).await.unwrap();
    assert_eq!(delivery(&store, ids[0]).await, Some(DeliveryStatus::Read));
    // nothing more to send
    assert!(
        store
            .claim(t(100), 10, lease, "w3")
            .await
            .unwrap()
            .is_empty()
    );

    // in flight, lease held: delivery and wamid recorded, status left
    store
        .mark_sending(second.id, second.lease, t(62))
        .await
        .unwrap();
    let d = status("wamid.IF", Some(ids[1]), DeliveryStatus::Delivered, 63);
    store.apply_message_status(&d, t(64)).await.unwrap();
    let row = store.get_message(ids[1]).await.unwrap();
    assert_eq!(row.status, OutboxStatus::InFlight);
    assert_eq!(row.provider_id.as_deref(), Some("wamid.IF"));
    assert_eq!(row.delivery, Some(DeliveryStatus::Delivered));
    let outcome = AttemptOutcome::Sent {
        provider_id: Some("wamid.IF".into()),
    };
    store
        .complete(second.id, second.lease, &outcome, t(65))
        .await
        .expect("the worker still completes");
    let row = store.get_message(ids[1]).await.unwrap();
    assert_eq!(row.status, OutboxStatus::Sent);
    assert_eq!(row.delivery, Some(DeliveryStatus::Delivered), "kept");
    assert_eq!(store.list_attempts(ids[1]).await.unwrap().len(), 1);
}

/// Inbound messages and ignored events are stored once under their key.
pub async fn webhook_inbound_recorded_once<S: Store + 'static>(store: S) {
    let from = super::phone(77);
    let m = crate::NewInbound {
        event_key: "message:wamid.IN".into(),
        raw: r#"{"id":"wamid.IN"}"#.into(),
        message_id: "wamid.IN".into(),
        from: from.as_str().trim_start_matches('+').into(),
        phone: Some(from),
        wa_id: None,
        profile_name: None,
        sent_at: t(4),
        kind: "text".into(),
        text: Some("hi".into()),
        payload: None,
        context_provider_id: None,
        context_outbox: None,
    };
    assert!(store.record_inbound(&m, t(5)).await.unwrap().is_some());
    assert!(store.record_inbound(&m, t(6)).await.unwrap().is_none());
    assert!(
        store
            .record_ignored("status:wamid.Z:deleted", r#"{"id":"wamid.Z"}"#, t(7))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_ignored("status:wamid.Z:deleted", r#"{"id":"wamid.Z"}"#, t(8))
            .await
            .unwrap()
    );
    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.event_key.as_str(), e.outcome, e.received_at))
            .collect::<Vec<_>>(),
        vec![
            ("message:wamid.IN", WebhookOutcome::Received, t(5)),
            ("status:wamid.Z:deleted", WebhookOutcome::Ignored, t(7)),
        ]
    );
}

/// Invoice and buyer timelines show each applied status, with error codes.
pub async fn webhook_statuses_in_timeline<S: Store + 'static>(store: S) {
    let (a, inv) = ledger(&store, "W-5").await;
    let ids = sent(&store, &a, &inv, &["wamid.T1", "wamid.T2"]).await;
    for u in [
        status("wamid.T1", Some(ids[0]), DeliveryStatus::Delivered, 100),
        status("wamid.T1", Some(ids[0]), DeliveryStatus::Read, 200),
        status("wamid.T2", Some(ids[1]), DeliveryStatus::Failed, 150),
        status("wamid.NOPE", None, DeliveryStatus::Read, 160),
    ] {
        store.apply_message_status(&u, t(300)).await.unwrap();
    }
    let (m1, m2) = (ids[0].get(), ids[1].get());
    let expected = vec![
        (t(100), format!("message {m1} delivered")),
        (
            t(150),
            format!("message {m2} failed (131026): Message undeliverable"),
        ),
        (t(200), format!("message {m1} read")),
    ];
    for subject in [
        TimelineSubject::Invoice(inv.id),
        TimelineSubject::Buyer(a.id),
    ] {
        let timeline = store.timeline(subject).await.unwrap();
        let lines: Vec<_> = timeline
            .iter()
            .filter(|e| e.kind == "delivery")
            .map(|e| (e.at, e.text.clone()))
            .collect();
        assert_eq!(lines, expected, "{subject:?}");
        assert!(
            timeline
                .iter()
                .filter(|e| e.kind == "delivery")
                .all(|e| e.invoice_id == Some(inv.id))
        );
        assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at));
    }
}

/// One POST's statuses applied as a batch end exactly as applied one by
/// one: the same outcomes (a key repeated in the batch is a duplicate the
/// second time, a stranger is unmatched), rows, histories and events.
pub async fn webhook_batch_matches_one_by_one<S: Store + 'static>(store: S) {
    use DeliveryStatus as D;
    let (a, inv) = ledger(&store, "W-B1").await;
    let one = sent(&store, &a, &inv, &["wamid.1a", "wamid.1b"]).await;
    let inv2 = add_invoice(
        &store,
        invoice("W-B2", a.id, date(2026, 11, 1), inr(10_000)),
        t(-100),
    )
    .await;
    let batch = sent(&store, &a, &inv2, &["wamid.2a", "wamid.2b"]).await;
    // Per row: read first, then a late sent and a delivered, a replay
    // within the POST, a failure for the second row, and a stranger.
    let script = |w: [&str; 2], ids: &[OutboxId]| {
        vec![
            status(w[0], Some(ids[0]), D::Read, 30),
            status(w[0], None, D::Sent, 10),
            status(w[0], Some(ids[0]), D::Delivered, 20),
            status(w[0], Some(ids[0]), D::Read, 30),
            status(w[1], Some(ids[1]), D::Failed, 15),
            status(&format!("{}-stranger", w[0]), None, D::Delivered, 16),
        ]
    };
    let singles = script(["wamid.1a", "wamid.1b"], &one);
    let mut one_by_one = Vec::new();
    for u in &singles {
        one_by_one.push(store.apply_message_status(u, t(40)).await.unwrap());
    }
    let batched = store
        .apply_message_statuses(&script(["wamid.2a", "wamid.2b"], &batch), t(40))
        .await
        .unwrap();
    let shape = |outcomes: &[StatusOutcome], ids: &[OutboxId]| {
        outcomes
            .iter()
            .map(|o| match o {
                StatusOutcome::Applied {
                    outbox_id,
                    delivery,
                } => format!(
                    "applied row {} {}",
                    ids.iter().position(|i| i == outbox_id).unwrap(),
                    delivery.as_str()
                ),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&batched, &batch), shape(&one_by_one, &one));
    assert_eq!(
        shape(&batched, &batch),
        [
            "applied row 0 read",
            "applied row 0 read",
            "applied row 0 read",
            "Duplicate",
            "applied row 1 failed",
            "Unmatched",
        ]
    );
    for (x, y) in one.iter().zip(&batch) {
        let (mx, my) = (
            store.get_message(*x).await.unwrap(),
            store.get_message(*y).await.unwrap(),
        );
        assert_eq!(
            (mx.status, mx.delivery, &mx.last_error, mx.attempts),
            (my.status, my.delivery, &my.last_error, my.attempts)
        );
        let events = |id| {
            let store = &store;
            async move {
                store
                    .list_message_events(id)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.status, e.delivery, e.error_code))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(events(*x).await, events(*y).await);
    }
    let stored = store.list_webhook_events(WHATSAPP).await.unwrap();
    let outcomes = |prefix: &str| {
        stored
            .iter()
            .filter(|e| e.event_key.contains(prefix))
            .map(|e| (e.outcome, e.outbox_id.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(outcomes("wamid.2"), outcomes("wamid.1"));
    assert_eq!(outcomes("wamid.2").len(), 5, "{stored:?}");
    // The whole batch again: every status a duplicate.
    let again = store
        .apply_message_statuses(&script(["wamid.2a", "wamid.2b"], &batch), t(50))
        .await
        .unwrap();
    assert!(
        again.iter().all(|o| *o == StatusOutcome::Duplicate),
        "{again:?}"
    );
    assert!(
        store
            .apply_message_statuses(&[], t(60))
            .await
            .unwrap()
            .is_empty()
    );
}
