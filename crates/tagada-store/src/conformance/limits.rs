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
