//! Checks of [`LedgerSyncStore`](crate::LedgerSyncStore).

use std::collections::BTreeMap;

use jiff::civil::date;

use super::{add_buyer, add_invoice, enqueue, inr, invoice, item, message, t};
use crate::{AttemptOutcome, LedgerRowState, LedgerRun, Store};

/// Row states are saved, replaced by key and read back per table; runs are
/// listed newest first; the facts name the last sent reminder and the next
/// waiting one of each invoice.
pub async fn ledger_rows_runs_and_facts<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("S-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(0),
    )
    .await;
    let other = add_invoice(
        &store,
        invoice("S-2", a.id, date(2026, 11, 1), inr(2_000)),
        t(0),
    )
    .await;

    let mut owned = BTreeMap::new();
    owned.insert("Payment Status".to_string(), "pending".to_string());
    let rows: Vec<LedgerRowState> = (0..2500)
        .map(|n| LedgerRowState {
            row_key: format!("k{n:05}"),
            invoice_id: (n == 0).then_some(inv.id),
            number: format!("N-{n}"),
            locator: (n + 2).to_string(),
            sheet_hash: format!("h{n}"),
            owned: owned.clone(),
            deleted_at: None,
        })
        .collect();
    store
        .save_ledger_rows("sheets:x/Ledger", &rows, t(1))
        .await
        .unwrap();
    let mut changed = rows[0].clone();
    changed.sheet_hash = "h-new".into();
    changed.deleted_at = Some(t(5));
    changed.owned.insert("Amount Paid".into(), "₹500".into());
    store
        .save_ledger_rows("sheets:x/Ledger", std::slice::from_ref(&changed), t(5))
        .await
        .unwrap();
    let back = store.ledger_rows("sheets:x/Ledger").await.unwrap();
    assert_eq!(back.len(), 2500);
    assert_eq!(back[0], changed);
    assert_eq!(back[1], rows[1]);
    assert!(store.ledger_rows("airtable:y/T").await.unwrap().is_empty());

    for (n, source) in ["sheets:x/Ledger", "airtable:y/T", "sheets:x/Ledger"]
        .iter()
        .enumerate()
    {
        let n = u32::try_from(n).unwrap();
        store
            .record_ledger_run(&LedgerRun {
                source: (*source).into(),
                started_at: t(i64::from(n) * 60),
                finished_at: t(i64::from(n) * 60 + 3),
                outcome: "synced".into(),
                rows_read: 10 + n,
                requests: 3,
                ..LedgerRun::default()
            })
            .await
            .unwrap();
    }
    let runs = store
        .list_ledger_runs(Some("sheets:x/Ledger"), 10)
        .await
        .unwrap();
    assert_eq!(
        runs.iter().map(|r| r.run.rows_read).collect::<Vec<_>>(),
        vec![12, 10]
    );
    assert_eq!(store.list_ledger_runs(None, 2).await.unwrap().len(), 2);

    // Facts: one reminder sent and delivered, one still waiting.
    enqueue(
        &store,
        vec![
            message(&a, vec![item(&inv, 0)], t(10), "f0"),
            message(&a, vec![item(&inv, 1), item(&other, 1)], t(5000), "f1"),
        ],
        t(0),
    )
    .await;
    let claimed = store
        .claim(t(20), 10, jiff::SignedDuration::from_secs(60), "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .complete(
            claimed[0].id,
            claimed[0].lease,
            &AttemptOutcome::Sent {
                provider_id: Some("wamid.f0".into()),
            },
            t(21),
        )
        .await
        .unwrap();
    // An answer to the buyer about the invoice, sent later, is no reminder.
    store
        .enqueue_reply(
            &crate::NewReply {
                buyer_id: a.id,
                to: super::phone(1),
                message: tagada_core::planner::RenderedMessage::text(
                    "ack",
                    "Thank you, noted.",
                    "en",
                ),
                dedupe_key: "reply:wamid.S1:ack".into(),
                invoice_ids: vec![inv.id],
                not_before: None,
            },
            t(30),
        )
        .await
        .unwrap()
        .unwrap();
    let answer = store
        .claim(t(31), 10, jiff::SignedDuration::from_secs(60), "w")
        .await
        .unwrap();
    assert_eq!(answer.len(), 1);
    store
        .complete(
            answer[0].id,
            answer[0].lease,
            &AttemptOutcome::Sent {
                provider_id: Some("wamid.ack".into()),
            },
            t(32),
        )
        .await
        .unwrap();
    let facts = store
        .sync_facts(&[(inv.id, a.id), (other.id, a.id)])
        .await
        .unwrap();
    let of = |id| facts.iter().find(|f| f.invoice_id == id).unwrap();
    assert_eq!(of(inv.id).last_sent_at, Some(t(21)));
    assert_eq!(of(inv.id).next_at, Some(t(5000)));
    assert_eq!(of(other.id).last_sent_at, None);
    assert_eq!(of(other.id).next_at, Some(t(5000)));
    assert_eq!(of(other.id).last_reply, None);
}
