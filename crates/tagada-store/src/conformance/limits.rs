//! Checks of the sending order and the messaging limit's bookkeeping:
//! claims go oldest first, then largest debt; a message handed back unsent
//! counts no attempt; the recipients of the last 24 hours are counted.

use jiff::civil::date;
use tagada_core::outbox::OutboxStatus;
use tagada_core::planner::RenderedMessage;

use super::{add_buyer, add_invoice, claim_all, enqueue, inr, invoice, item, message, phone, t};
use crate::{AttemptOutcome, NewReply, Store, StoreError};

/// Oldest planned time first; at the same time, the largest debt; then id.
pub async fn claim_order_oldest_then_largest_debt<S: Store + 'static>(store: S) {
    let mut msgs = Vec::new();
    for (n, (send_at, priority)) in [(0, 100), (0, 900), (-10, 1), (0, 900)].iter().enumerate() {
        let b = add_buyer(&store, &format!("Buyer {n}"), n as u32 + 1).await;
        let inv = add_invoice(
            &store,
            invoice(&format!("P-{n}"), b.id, date(2026, 11, 1), inr(1_000)),
            t(-1_000),
        )
        .await;
        let mut m = message(&b, vec![item(&inv, 0)], t(*send_at), &format!("p{n}"));
        m.priority = *priority;
        msgs.push(m);
    }
    let ids = enqueue(&store, msgs, t(-500)).await;
    let order: Vec<_> = claim_all(&store, t(5)).await.iter().map(|c| c.id).collect();
    assert_eq!(order, vec![ids[2], ids[1], ids[3], ids[0]]);
}

/// `release` puts a claimed row back, due later, with no attempt counted;
/// never after its send started, never without the lease.
pub async fn release_hands_back_without_an_attempt<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("L-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(-1_000),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![
            message(&a, vec![item(&inv, 0)], t(0), "l0"),
            message(&a, vec![item(&inv, 1)], t(0), "l1"),
        ],
        t(-500),
    )
    .await;
    let claimed = claim_all(&store, t(1)).await;
    assert_eq!(claimed.len(), 2);
    let (c0, c1) = (&claimed[0], &claimed[1]);
    store.mark_sending(c1.id, c1.lease, t(2)).await.unwrap();
    assert!(
        matches!(
            store
                .release(c1.id, c1.lease, t(100), "too late", t(2))
                .await,
            Err(StoreError::LeaseLost(_))
        ),
        "a send that started is never handed back"
    );
    let sent = AttemptOutcome::Sent { provider_id: None };
    store.complete(c1.id, c1.lease, &sent, t(3)).await.unwrap();
    store
        .release(c0.id, c0.lease, t(100), "messaging limit reached", t(2))
        .await
        .unwrap();
    let row = store.get_message(c0.id).await.unwrap();
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!(row.attempts, 0);
    assert_eq!(row.not_before, t(100));
    assert_eq!(row.last_error.as_deref(), Some("messaging limit reached"));
    assert!(store.list_attempts(c0.id).await.unwrap().is_empty());
    assert!(matches!(
        store.release(c0.id, c0.lease, t(100), "again", t(3)).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(claim_all(&store, t(50)).await.is_empty());
    let again = claim_all(&store, t(100)).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempt), (ids[0], 1));
}

/// Distinct numbers that got a reminder (sent, or possibly sent) since an
/// instant; replies and unsent rows do not count.
pub async fn recipients_counted_over_24_hours<S: Store + 'static>(store: S) {
    let mut rows = Vec::new();
    for n in 0..4u32 {
        let b = add_buyer(&store, &format!("Buyer {n}"), n + 1).await;
        let inv = add_invoice(
            &store,
            invoice(&format!("R-{n}"), b.id, date(2026, 11, 1), inr(1_000)),
            t(-1_000),
        )
        .await;
        rows.push((b, inv));
    }
    let msgs = vec![
        message(&rows[0].0, vec![item(&rows[0].1, 0)], t(0), "r0"),
        message(&rows[0].0, vec![item(&rows[0].1, 1)], t(0), "r0b"),
        message(&rows[1].0, vec![item(&rows[1].1, 0)], t(0), "r1"),
        message(&rows[2].0, vec![item(&rows[2].1, 0)], t(9_999), "r2"),
    ];
    enqueue(&store, msgs, t(-500)).await;
    store
        .enqueue_reply(
            &NewReply {
                buyer_id: rows[3].0.id,
                to: phone(4),
                message: RenderedMessage::text("ack", "Thank you", "en"),
                dedupe_key: "reply:wamid.C:ack".into(),
                invoice_ids: vec![],
                not_before: None,
            },
            t(-1),
        )
        .await
        .unwrap();
    for c in claim_all(&store, t(10)).await {
        store.mark_sending(c.id, c.lease, t(11)).await.unwrap();
        let outcome = if c.to == phone(2) {
            AttemptOutcome::NeedsReview {
                error: "timeout".into(),
            }
        } else {
            AttemptOutcome::Sent {
                provider_id: Some(format!("wamid.{}", c.id.get())),
            }
        };
        store
            .complete(c.id, c.lease, &outcome, t(12))
            .await
            .unwrap();
    }
    assert_eq!(store.count_recipients_since(t(0)).await.unwrap(), 2);
    assert!(store.messaged_since(&phone(1), t(0)).await.unwrap());
    assert!(
        store.messaged_since(&phone(2), t(0)).await.unwrap(),
        "needs review counts"
    );
    assert!(
        !store.messaged_since(&phone(3), t(0)).await.unwrap(),
        "not sent yet"
    );
    assert!(
        !store.messaged_since(&phone(4), t(0)).await.unwrap(),
        "a reply"
    );
    assert_eq!(store.count_recipients_since(t(13)).await.unwrap(), 0);
    assert!(!store.messaged_since(&phone(1), t(13)).await.unwrap());
}

/// The wave calls: buyers and invoices read by id; `mark_sending_many`
/// marks only the rows whose lease is held; `complete_many` records each
/// outcome as `complete` would, skipping (false) a row whose lease is gone
/// and an id given twice, and cancels the reminders of cancelled ones.
pub async fn wave_calls_match_the_single_ones<S: Store + 'static>(store: S) {
    use jiff::SignedDuration;
    let mut buyers = Vec::new();
    let mut invoices = Vec::new();
    let mut msgs = Vec::new();
    for n in 0..4u32 {
        let b = add_buyer(&store, &format!("Wave Buyer {n}"), n + 1).await;
        let inv = add_invoice(
            &store,
            invoice(&format!("WV-{n}"), b.id, date(2026, 11, 1), inr(1_000)),
            t(-1_000),
        )
        .await;
        msgs.push(message(&b, vec![item(&inv, 0)], t(0), &format!("wv{n}")));
        buyers.push(b);
        invoices.push(inv);
    }
    let mut got = store
        .get_buyers(&[
            buyers[2].id,
            buyers[0].id,
            tagada_core::BuyerId::new(999_999),
        ])
        .await
        .unwrap();
    got.sort_by_key(|b| b.id);
    assert_eq!(got, vec![buyers[0].clone(), buyers[2].clone()]);
    let mut got = store
        .get_invoices(&[invoices[3].id, invoices[1].id])
        .await
        .unwrap();
    got.sort_by_key(|i| i.id);
    assert_eq!(got, vec![invoices[1].clone(), invoices[3].clone()]);
    assert!(store.get_buyers(&[]).await.unwrap().is_empty());

    let ids = enqueue(&store, msgs, t(-500)).await;
    let lease = SignedDuration::from_secs(60);
    let claimed = store.claim(t(1), 10, lease, "w1").await.unwrap();
    assert_eq!(claimed.len(), 4);
    let lease_of = |id| claimed.iter().find(|c| c.id == id).unwrap().lease;
    // Row 3 changes hands: handed back, then claimed by another worker.
    store
        .release(ids[3], lease_of(ids[3]), t(1), "test", t(1))
        .await
        .unwrap();
    let taken = store.claim(t(2), 10, lease, "w2").await.unwrap();
    assert_eq!(taken.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[3]]);
    let marks: Vec<_> = ids.iter().map(|id| (*id, lease_of(*id))).collect();
    let mut marked = store.mark_sending_many(&marks, t(2)).await.unwrap();
    marked.sort();
    assert_eq!(marked, ids[..3].to_vec());
    assert!(store.mark_sending_many(&[], t(2)).await.unwrap().is_empty());

    let sent = AttemptOutcome::Sent {
        provider_id: Some("wamid.W0".into()),
    };
    let cancel = AttemptOutcome::Cancelled {
        reason: "invoice paid".into(),
    };
    let retry = AttemptOutcome::Retry {
        error: "131000 something went wrong".into(),
        retry_at: t(900),
    };
    let done = store
        .complete_many(
            &[
                (ids[0], lease_of(ids[0]), sent.clone()),
                (ids[1], lease_of(ids[1]), cancel),
                (ids[2], lease_of(ids[2]), retry),
                (ids[3], lease_of(ids[3]), sent.clone()),
                (ids[0], lease_of(ids[0]), sent),
            ],
            t(3),
        )
        .await
        .unwrap();
    assert_eq!(done, vec![true, true, true, false, false]);
    let m0 = store.get_message(ids[0]).await.unwrap();
    assert_eq!(m0.status, OutboxStatus::Sent);
    assert_eq!(m0.provider_id.as_deref(), Some("wamid.W0"));
    assert_eq!(m0.attempts, 1);
    assert_eq!(m0.sent_at, Some(t(3)));
    assert_eq!(store.list_attempts(ids[0]).await.unwrap().len(), 1);
    assert_eq!(
        store.get_message(ids[1]).await.unwrap().status,
        OutboxStatus::Cancelled
    );
    let m2 = store.get_message(ids[2]).await.unwrap();
    assert_eq!(
        (m2.status, m2.not_before, m2.attempts),
        (OutboxStatus::Pending, t(900), 1)
    );
    assert_eq!(
        m2.last_error.as_deref(),
        Some("131000 something went wrong")
    );
    let m3 = store.get_message(ids[3]).await.unwrap();
    assert_eq!(
        (m3.status, m3.attempts),
        (OutboxStatus::InFlight, 0),
        "the other worker's row is untouched"
    );
    assert!(store.list_attempts(ids[3]).await.unwrap().is_empty());
    assert!(store.complete_many(&[], t(4)).await.unwrap().is_empty());
}
