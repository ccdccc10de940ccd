//! Checks of [`InboxStore`](crate::InboxStore): inbound messages stored
//! once and matched to their buyer and reminder, the 24-hour window, the
//! inbox's filters, and replies that are queued once and outlive the
//! cancellations that stop reminders.

use jiff::civil::date;
use tagada_core::ledger::{InvoiceEvent, NoteKind};
use tagada_core::outbox::OutboxStatus;
use tagada_core::planner::RenderedMessage;
use tagada_core::{OutboxId, Phone};

use super::{add_buyer, add_invoice, claim_all, enqueue, inr, invoice, item, message, phone, t};
use crate::{
    AttemptOutcome, BuyerPatch, InboundHandling, InboxFilter, NewInbound, NewReply, Store,
    StoreError, TimelineSubject, WHATSAPP, WebhookOutcome,
};

pub(super) fn inbound(id: &str, from: &Phone, sent_secs: i64, text: &str) -> NewInbound {
    NewInbound {
        event_key: format!("message:{id}"),
        raw: format!(r#"{{"id":"{id}"}}"#),
        message_id: id.to_string(),
        from: from.as_str().trim_start_matches('+').to_string(),
        phone: Some(from.clone()),
        wa_id: Some(from.as_str().trim_start_matches('+').to_string()),
        profile_name: Some("Ravi".into()),
        sent_at: t(sent_secs),
        kind: "text".into(),
        text: Some(text.to_string()),
        payload: None,
        context_provider_id: None,
        context_outbox: None,
    }
}

/// Sends the messages (accepted with these wamids); their outbox ids.
async fn sent_reminders<S: Store>(
    store: &S,
    buyer: &tagada_core::ledger::Buyer,
    inv: &tagada_core::ledger::Invoice,
    wamids: &[&str],
) -> Vec<OutboxId> {
    let msgs = wamids
        .iter()
        .enumerate()
        .map(|(i, w)| message(buyer, vec![item(inv, i as u32)], t(0), &format!("k-{w}")))
        .collect();
    let ids = enqueue(store, msgs, t(-50)).await;
    for c in claim_all(store, t(0)).await {
        let i = ids.iter().position(|id| *id == c.id).expect("ours");
        store.mark_sending(c.id, c.lease, t(1)).await.unwrap();
        let outcome = AttemptOutcome::Sent {
            provider_id: Some(wamids[i].to_string()),
        };
        store.complete(c.id, c.lease, &outcome, t(2)).await.unwrap();
    }
    ids
}

/// Stored once under its key, matched by E.164, the window opened at the
/// buyer's send time and never moved back, the `wa_id` learnt.
pub async fn inbound_recorded_once_and_matched<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    store
        .update_buyer(
            a.id,
            &BuyerPatch {
                sales_rep: Some(Some("Meera".into())),
                ..BuyerPatch::default()
            },
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(store.last_inbound_at(a.id).await.unwrap(), None);
    let m = inbound("wamid.IN1", &phone(1), 100, "hello");
    let e = store
        .record_inbound(&m, t(105))
        .await
        .unwrap()
        .expect("new");
    assert_eq!(e.buyer_id, Some(a.id));
    assert_eq!(e.buyer_name.as_deref(), Some("Acme Traders"));
    assert_eq!(e.sales_rep.as_deref(), Some("Meera"));
    assert_eq!((e.sent_at, e.received_at), (t(100), t(105)));
    assert_eq!(e.text.as_deref(), Some("hello"));
    assert!(e.handling.is_none() && e.handled_at.is_none());
    assert_eq!(
        store.record_inbound(&m, t(200)).await.unwrap(),
        None,
        "replay"
    );
    assert_eq!(store.last_inbound_at(a.id).await.unwrap(), Some(t(100)));
    let b = store.get_buyer(a.id).await.unwrap();
    assert_eq!(b.wa_id.as_deref(), Some("919800000001"));

    // a late-delivered older message does not move the window back
    let older = inbound("wamid.IN0", &phone(1), 50, "earlier");
    store.record_inbound(&older, t(210)).await.unwrap().unwrap();
    assert_eq!(store.last_inbound_at(a.id).await.unwrap(), Some(t(100)));
    let newer = inbound("wamid.IN2", &phone(1), 300, "later");
    store.record_inbound(&newer, t(301)).await.unwrap().unwrap();
    assert_eq!(store.last_inbound_at(a.id).await.unwrap(), Some(t(300)));

    let events = store.list_webhook_events(WHATSAPP).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.outcome == WebhookOutcome::Received));
    assert!(matches!(
        store
            .last_inbound_at(tagada_core::BuyerId::new(999_999))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

/// A number that is not the buyer's E.164 is matched by the stored
/// `wa_id`, or by the reminder it answers; the payload's outbox id wins
/// over the context, but only when it went to that buyer; a stranger is
/// kept without a buyer.
pub async fn inbound_matched_by_wa_id_and_context<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Mills", 2).await;
    store
        .update_buyer(
            a.id,
            &BuyerPatch {
                wa_id: Some(Some("5491100000001".into())),
                ..BuyerPatch::default()
            },
            t(0),
        )
        .await
        .unwrap();
    let inv_a = add_invoice(
        &store,
        invoice("C-1", a.id, date(2026, 11, 1), inr(5_000_00)),
        t(-100),
    )
    .await;
    let inv_b = add_invoice(
        &store,
        invoice("C-2", b.id, date(2026, 11, 1), inr(7_000_00)),
        t(-100),
    )
    .await;
    let ids_a = sent_reminders(&store, &a, &inv_a, &["wamid.A1", "wamid.A2"]).await;
    let ids_b = sent_reminders(&store, &b, &inv_b, &["wamid.B1"]).await;

    let other = Phone::try_from("+5491100000001".to_string()).unwrap();
    let mut m = inbound("wamid.X1", &other, 10, "hola");
    let e = store.record_inbound(&m, t(11)).await.unwrap().unwrap();
    assert_eq!(e.buyer_id, Some(a.id), "by wa_id");
    assert_eq!(e.outbox_id, None);

    m = inbound("wamid.X2", &phone(1), 12, "Paid already");
    m.kind = "button".into();
    m.payload = Some(format!("PAID:{}", ids_a[1].get()));
    m.context_outbox = Some(ids_a[1]);
    m.context_provider_id = Some("wamid.A1".into());
    let e = store.record_inbound(&m, t(13)).await.unwrap().unwrap();
    assert_eq!(e.outbox_id, Some(ids_a[1]), "the payload's outbox id");
    assert_eq!(
        e.payload.as_deref(),
        Some(&*format!("PAID:{}", ids_a[1].get()))
    );

    m = inbound("wamid.X3", &phone(1), 14, "ok");
    m.context_outbox = Some(ids_b[0]);
    m.context_provider_id = Some("wamid.A1".into());
    let e = store.record_inbound(&m, t(15)).await.unwrap().unwrap();
    assert_eq!(e.buyer_id, Some(a.id));
    assert_eq!(e.outbox_id, Some(ids_a[0]), "B's message is not A's answer");

    // an unknown number answering B's message is B
    let unknown = Phone::try_from("+447700900123".to_string()).unwrap();
    m = inbound("wamid.X4", &unknown, 16, "thanks");
    m.context_provider_id = Some("wamid.B1".into());
    let e = store.record_inbound(&m, t(17)).await.unwrap().unwrap();
    assert_eq!((e.buyer_id, e.outbox_id), (Some(b.id), Some(ids_b[0])));
    assert_eq!(store.last_inbound_at(b.id).await.unwrap(), Some(t(16)));

    m = inbound("wamid.X5", &unknown, 18, "who is this?");
    m.wa_id = Some("447700900123".into());
    let e = store.record_inbound(&m, t(19)).await.unwrap().unwrap();
    assert_eq!(e.buyer_id, Some(b.id), "the wa_id learnt from X4");

    let stranger = Phone::try_from("+14155550100".to_string()).unwrap();
    let e = store
        .record_inbound(&inbound("wamid.X6", &stranger, 20, "hi"), t(21))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.buyer_id, e.buyer_name, e.outbox_id), (None, None, None));
    assert_eq!(e.from, "14155550100");
}

/// Unhandled entries come back oldest first until handled; the open inbox
/// holds what needs a person, per rep, until resolved; the timeline shows
/// the reply with what was done.
pub async fn inbox_handling_filters_and_timeline<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Mills", 2).await;
    for (buyer, rep) in [(&a, "Meera"), (&b, "Arjun")] {
        store
            .update_buyer(
                buyer.id,
                &BuyerPatch {
                    sales_rep: Some(Some(rep.into())),
                    ..BuyerPatch::default()
                },
                t(0),
            )
            .await
            .unwrap();
    }
    let inv = add_invoice(
        &store,
        invoice("H-1", a.id, date(2026, 11, 1), inr(5_000_00)),
        t(-100),
    )
    .await;
    let ids = sent_reminders(&store, &a, &inv, &["wamid.H1"]).await;
    let mut first = inbound("wamid.H-IN1", &phone(1), 10, "will pay on 15th");
    first.context_provider_id = Some("wamid.H1".into());
    let e1 = store.record_inbound(&first, t(11)).await.unwrap().unwrap();
    let e2 = store
        .record_inbound(&inbound("wamid.H-IN2", &phone(2), 12, "call me"), t(13))
        .await
        .unwrap()
        .unwrap();
    let e3 = store
        .record_inbound(&inbound("wamid.H-IN3", &phone(1), 14, "who?"), t(15))
        .await
        .unwrap()
        .unwrap();
    let unhandled: Vec<i64> = store
        .unhandled_inbound(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(unhandled, vec![e1.id, e2.id, e3.id]);
    assert_eq!(store.unhandled_inbound(1).await.unwrap().len(), 1);

    let promise = InboundHandling {
        intent: "promise_to_pay".into(),
        promise_date: Some(date(2026, 12, 15)),
        action: "H-1 snoozed until 2026-12-15".into(),
        needs_attention: false,
    };
    store
        .mark_inbound_handled(e1.id, &promise, t(20))
        .await
        .unwrap();
    let call = InboundHandling {
        intent: "talk_to_someone".into(),
        promise_date: None,
        action: "call them".into(),
        needs_attention: true,
    };
    store
        .mark_inbound_handled(e2.id, &call, t(21))
        .await
        .unwrap();
    store
        .mark_inbound_handled(e3.id, &call, t(22))
        .await
        .unwrap();
    assert!(matches!(
        store.mark_inbound_handled(999_999, &call, t(22)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.unhandled_inbound(10).await.unwrap().is_empty());
    let e1 = store.get_inbox_entry(e1.id).await.unwrap();
    assert_eq!(e1.handling.as_ref(), Some(&promise));
    assert_eq!(e1.handled_at, Some(t(20)));
    assert!(!e1.is_open());

    let ids_of = |v: Vec<crate::InboxEntry>| v.iter().map(|e| e.id).collect::<Vec<_>>();
    let open = InboxFilter {
        open_only: true,
        ..InboxFilter::default()
    };
    assert_eq!(
        ids_of(store.list_inbox(&open).await.unwrap()),
        vec![e3.id, e2.id],
        "newest first"
    );
    let meera = InboxFilter {
        sales_rep: Some("Meera".into()),
        ..open.clone()
    };
    assert_eq!(ids_of(store.list_inbox(&meera).await.unwrap()), vec![e3.id]);
    let all_a = InboxFilter {
        buyer: Some(a.id),
        ..InboxFilter::default()
    };
    assert_eq!(
        ids_of(store.list_inbox(&all_a).await.unwrap()),
        vec![e3.id, e1.id]
    );
    let limited = InboxFilter {
        limit: Some(1),
        ..InboxFilter::default()
    };
    assert_eq!(
        ids_of(store.list_inbox(&limited).await.unwrap()),
        vec![e3.id]
    );

    let r = store
        .resolve_inbox_entry(e3.id, "Meera", t(30))
        .await
        .unwrap();
    assert_eq!(
        (r.resolved_at, r.resolved_by.as_deref()),
        (Some(t(30)), Some("Meera"))
    );
    let again = store
        .resolve_inbox_entry(e3.id, "someone else", t(40))
        .await
        .unwrap();
    assert_eq!(again.resolved_at, Some(t(30)), "first resolution kept");
    assert_eq!(ids_of(store.list_inbox(&open).await.unwrap()), vec![e2.id]);

    // the reply is on the invoice's timeline (it answers its reminder) and the buyer's
    for subject in [
        TimelineSubject::Invoice(inv.id),
        TimelineSubject::Buyer(a.id),
    ] {
        let replies: Vec<_> = store
            .timeline(subject)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "reply")
            .collect();
        let first = replies.first().expect("a reply line");
        assert_eq!(first.at, t(10));
        assert!(first.text.contains("will pay on 15th"), "{}", first.text);
        assert!(
            first.text.contains("H-1 snoozed until 2026-12-15"),
            "{}",
            first.text
        );
        assert_eq!(first.invoice_id, Some(inv.id), "{subject:?}");
    }
    let _ = ids;
}

/// A reply is queued once per key, due at once, claimed like any message,
/// and is not cancelled by an opt-out or a payment, which do cancel the
/// buyer's reminders.
pub async fn reply_queued_once_and_outlives_cancellations<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("R-1", a.id, date(2026, 11, 1), inr(5_000_00)),
        t(-100),
    )
    .await;
    let reminder = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(500), "k-rem")],
        t(-50),
    )
    .await[0];
    let reply = NewReply {
        buyer_id: a.id,
        to: phone(1),
        message: RenderedMessage::text("stop", "You will not get more reminders.", "en"),
        dedupe_key: "reply:wamid.R1:stop".into(),
        invoice_ids: vec![inv.id],
        not_before: None,
    };
    let id = store
        .enqueue_reply(&reply, t(10))
        .await
        .unwrap()
        .expect("queued");
    assert_eq!(store.enqueue_reply(&reply, t(11)).await.unwrap(), None);
    let bad = NewReply {
        dedupe_key: "k-sneaky".into(),
        ..reply.clone()
    };
    assert!(matches!(
        store.enqueue_reply(&bad, t(12)).await,
        Err(StoreError::Invalid(_))
    ));
    let row = store.get_message(id).await.unwrap();
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!((row.send_at, row.not_before), (t(10), t(10)));
    assert_eq!(row.message, reply.message);
    assert!(row.message.is_reply());
    assert_eq!(row.invoice_ids, vec![inv.id]);

    store
        .update_buyer(
            a.id,
            &BuyerPatch {
                opted_out: Some(true),
                ..BuyerPatch::default()
            },
            t(20),
        )
        .await
        .unwrap();
    store
        .apply_invoice_event(inv.id, &InvoiceEvent::Disputed, None, t(21))
        .await
        .unwrap();
    assert_eq!(
        store.get_message(reminder).await.unwrap().status,
        OutboxStatus::Cancelled
    );
    assert_eq!(
        store.get_message(id).await.unwrap().status,
        OutboxStatus::Pending
    );
    let claimed = claim_all(&store, t(30)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, id);
    assert!(claimed[0].message.is_reply());
    let _ = NoteKind::Reply;
}
