//! Summary tables: marks, folds and sums (see `crate::summary`).

use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::metrics::{SummaryKind, SummaryQuery, SummaryRow};

use super::{
    add_buyer, add_invoice, claim_all, date, enqueue, inr, invoice, item, message, phone, t,
};
use crate::{AttemptOutcome, BuyerPatch, NewPayment, Store, SummaryChange, SummaryOwner};

/// Summary tables: the triggers mark what changed, a fold replaces a basis
/// only if nobody replaced it meanwhile, a mark renewed after it was read
/// stays, and the sums answer grouped reads.
pub async fn summary_marks_folds_and_sums<S: Store + 'static>(store: S) {
    assert_eq!(store.summary_meta().await.unwrap(), None, "never built");
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("S-1", a.id, date(2026, 11, 1), inr(100_000)),
        t(0),
    )
    .await;
    // a reset marks everything there is
    store.summary_reset("Asia/Kolkata", 1).await.unwrap();
    let meta = store.summary_meta().await.unwrap().expect("built");
    assert_eq!(
        (meta.zone.as_str(), meta.format, meta.pending),
        ("Asia/Kolkata", 1, 1)
    );
    let marks = store.summary_pending(10).await.unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].owner, SummaryOwner::Invoice(inv.id));

    let inputs = store.summary_inputs(&[inv.id], &[]).await.unwrap();
    assert_eq!(inputs.invoices.len(), 1);
    let i = &inputs.invoices[0];
    assert_eq!(
        (
            i.invoice.amount,
            i.invoice.due_date,
            i.invoice.status,
            i.sales_rep.clone()
        ),
        (
            inr(100_000),
            date(2026, 11, 1),
            InvoiceStatus::Pending,
            None
        )
    );
    assert!(i.payments.is_empty() && i.first_reminder_at.is_none());

    let row = |kind, rep: &str, k1, day, v0| SummaryRow {
        kind,
        rep: rep.to_string(),
        currency: "INR".into(),
        k1,
        k2: 0,
        day,
        values: [v0, 1, 0, 0, 0, 0, 0, 0, 0],
    };
    let change = |mark: i64, old: Option<&str>, new: Option<&str>| SummaryChange {
        owner: SummaryOwner::Invoice(inv.id),
        mark,
        old: old.map(str::to_string),
        new: new.map(str::to_string),
    };
    let rows = vec![
        row(SummaryKind::Sales, "", 7, 100, 500),
        row(SummaryKind::Sales, "=ravi", 7, 101, 250),
        row(SummaryKind::Sales, "=ravi", 8, 130, 40),
    ];
    assert!(
        store
            .summary_apply(&[change(marks[0].mark, None, Some("b1"))], &rows)
            .await
            .unwrap()
    );
    assert!(
        store.summary_pending(10).await.unwrap().is_empty(),
        "mark cleared"
    );
    assert_eq!(
        store
            .summary_bases(&[SummaryOwner::Invoice(inv.id)])
            .await
            .unwrap(),
        vec![(SummaryOwner::Invoice(inv.id), "b1".to_string())]
    );
    // a fold that read no basis, or another one, where there is one now,
    // writes nothing
    for (old, new) in [
        (None, Some("b2")),
        (Some("b0"), Some("b2")),
        (Some("b0"), None),
        (None, None),
    ] {
        assert!(
            !store
                .summary_apply(&[change(marks[0].mark, old, new)], &rows)
                .await
                .unwrap(),
            "{old:?} → {new:?}"
        );
    }
    assert_eq!(
        store
            .summary_bases(&[SummaryOwner::Invoice(inv.id)])
            .await
            .unwrap(),
        vec![(SummaryOwner::Invoice(inv.id), "b1".to_string())],
        "unchanged"
    );
    let q = |rep: Option<&str>, from: i64, to: i64, by_day: bool| SummaryQuery {
        kind: SummaryKind::Sales,
        from,
        to,
        rep: rep.map(str::to_string),
        by_day,
    };
    let answers = store
        .summary_sums(&[
            q(None, 0, 1_000, false),
            q(Some("=ravi"), 0, 1_000, false),
            q(None, 101, 200, true),
            q(None, 0, 99, false),
        ])
        .await
        .unwrap();
    let got: Vec<Vec<(i64, i64, i64, i64)>> = answers
        .iter()
        .map(|rows| {
            rows.iter()
                .map(|r| (r.k1, r.day, r.values[0], r.values[1]))
                .collect()
        })
        .collect();
    assert_eq!(
        got,
        vec![
            vec![(7, 0, 750, 2), (8, 0, 40, 1)],
            vec![(7, 0, 250, 1), (8, 0, 40, 1)],
            vec![(7, 101, 250, 1), (8, 130, 40, 1)],
            vec![],
        ],
        "grouped, by rep, by day, by range"
    );
    assert_eq!(answers[1][0].rep, "=ravi");
    assert_eq!(answers[0][0].kind, SummaryKind::Sales);

    // each kind of change marks its owners
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(5_000), "s")],
        t(1),
    )
    .await;
    let msg = SummaryOwner::Message(ids[0]);
    assert_eq!(
        marked(&store).await,
        vec![SummaryOwner::Invoice(inv.id), msg]
    );
    let inputs = store.summary_inputs(&[], &ids).await.unwrap();
    assert_eq!(inputs.messages.len(), 1);
    let m = &inputs.messages[0];
    assert!(m.is_reminder && !m.replied && m.invoices_paid_at.is_empty());
    assert_eq!(m.message.invoice_ids, vec![inv.id]);
    assert_eq!(m.message.template_key, "overdue");
    let labels = store.reminder_labels_of(&ids).await.unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(
        labels,
        store
            .reminder_labels()
            .await
            .unwrap()
            .into_iter()
            .filter(|l| l.outbox_id == ids[0])
            .collect::<Vec<_>>()
    );
    assert!(store.reminder_labels_of(&[]).await.unwrap().is_empty());
    clear(&store).await;

    // sending marks the message and the invoice (its first reminder)
    let claimed = claim_all(&store, t(6_000)).await;
    assert_eq!(claimed.len(), 1);
    store
        .complete(
            claimed[0].id,
            claimed[0].lease,
            &AttemptOutcome::Sent {
                provider_id: Some("wamid.s".into()),
            },
            t(6_001),
        )
        .await
        .unwrap();
    assert_eq!(
        marked(&store).await,
        vec![SummaryOwner::Invoice(inv.id), msg]
    );
    let first = store.summary_inputs(&[inv.id], &[]).await.unwrap();
    assert_eq!(first.invoices[0].first_reminder_at, Some(t(6_001)));
    // a fold holding a mark read before the next change keeps that change
    let stale = store.summary_pending(1_000).await.unwrap();
    clear(&store).await;

    // a payment in full marks the invoice and the message carrying it
    store
        .record_payment(
            &NewPayment {
                invoice_number: None,
                invoice_id: Some(inv.id),
                buyer_id: None,
                amount: inr(100_000),
                received_at: t(7_000),
                method: PaymentMethod::BankTransfer,
                reference: Some("UTR-S".into()),
            },
            t(7_001),
        )
        .await
        .unwrap();
    assert_eq!(
        marked(&store).await,
        vec![SummaryOwner::Invoice(inv.id), msg]
    );
    let paid = store.summary_inputs(&[inv.id], &ids).await.unwrap();
    assert_eq!(paid.invoices[0].payments, vec![(t(7_000), inr(100_000))]);
    assert_eq!(paid.invoices[0].invoice.status, InvoiceStatus::Paid);
    assert_eq!(paid.messages[0].invoices_paid_at.len(), 1);
    let renewed = store.summary_pending(1_000).await.unwrap();
    let old_mark = stale
        .iter()
        .find(|m| m.owner == SummaryOwner::Invoice(inv.id))
        .unwrap()
        .mark;
    let base = store
        .summary_bases(&[SummaryOwner::Invoice(inv.id)])
        .await
        .unwrap()
        .pop()
        .map(|(_, b)| b);
    assert!(
        store
            .summary_apply(
                &[SummaryChange {
                    owner: SummaryOwner::Invoice(inv.id),
                    mark: old_mark,
                    old: base.clone(),
                    new: base.clone(),
                }],
                &[],
            )
            .await
            .unwrap()
    );
    assert!(
        renewed
            .iter()
            .any(|m| m.owner == SummaryOwner::Invoice(inv.id) && m.mark != old_mark),
        "the payment renewed the mark"
    );
    assert!(
        marked(&store)
            .await
            .contains(&SummaryOwner::Invoice(inv.id)),
        "a mark renewed after it was read stays"
    );
    clear(&store).await;

    // a new sales rep takes the buyer's invoices and messages along
    store
        .update_buyer(
            a.id,
            &BuyerPatch {
                sales_rep: Some(Some("Ravi".into())),
                ..Default::default()
            },
            t(8_000),
        )
        .await
        .unwrap();
    assert_eq!(
        marked(&store).await,
        vec![SummaryOwner::Invoice(inv.id), msg]
    );
    let rep = store.summary_inputs(&[inv.id], &ids).await.unwrap();
    assert_eq!(rep.invoices[0].sales_rep.as_deref(), Some("Ravi"));
    assert_eq!(rep.messages[0].sales_rep.as_deref(), Some("Ravi"));
    clear(&store).await;

    // an answer to the message marks it
    let mut answer = super::inbox::inbound("wamid.answer", &phone(1), 8_999, "paid yesterday");
    answer.context_provider_id = Some("wamid.s".into());
    answer.context_outbox = Some(ids[0]);
    let e = store
        .record_inbound(&answer, t(9_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.outbox_id, Some(ids[0]));
    assert_eq!(marked(&store).await, vec![msg]);
    assert!(store.summary_inputs(&[], &ids).await.unwrap().messages[0].replied);

    let meta = store.summary_meta().await.unwrap().unwrap();
    assert_eq!(meta.pending, 1);
    assert!(meta.version > 1, "each fold bumps the version");
}

/// The owners marked, in order.
async fn marked<S: Store>(store: &S) -> Vec<SummaryOwner> {
    let mut owners: Vec<SummaryOwner> = store
        .summary_pending(1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.owner)
        .collect();
    owners.sort();
    owners
}

/// Folds every mark without changing any basis.
async fn clear<S: Store>(store: &S) {
    let marks = store.summary_pending(1_000).await.unwrap();
    let bases: std::collections::HashMap<SummaryOwner, String> = store
        .summary_bases(&marks.iter().map(|m| m.owner).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let changes: Vec<SummaryChange> = marks
        .iter()
        .map(|m| SummaryChange {
            owner: m.owner,
            mark: m.mark,
            old: bases.get(&m.owner).cloned(),
            new: bases.get(&m.owner).cloned(),
        })
        .collect();
    assert!(store.summary_apply(&changes, &[]).await.unwrap());
    assert!(store.summary_pending(1_000).await.unwrap().is_empty());
}
