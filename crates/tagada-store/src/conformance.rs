//! The conformance suite: behaviour every storage backend must show.
//!
//! Each check is a `pub async fn` that takes a fresh, empty, migrated store
//! and panics (with a message naming what broke) when the backend misbehaves.
//! A backend's `tests/conformance.rs` expands one `#[tokio::test]` per check
//! with [`conformance_tests!`](crate::conformance_tests):
//!
//! ```ignore
//! async fn setup() -> Option<(MyStore, MyFixture)> { /* fresh migrated store */ }
//! tagada_store::conformance_tests!(setup);
//! ```
//!
//! `setup` returns `None` to skip (e.g. no database configured); the fixture
//! is torn down after the check (drop a schema, delete a file).
//!
//! The checks build every input by hand (phones from E.164 strings, money from
//! minor units, plans without the planner) so they only exercise the store.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use tagada_core::ledger::{Buyer, Invoice, InvoiceEvent, InvoiceStatus, NoteKind, PaymentMethod};
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::planner::{Plan, PlannedItem, PlannedMessage, RenderedMessage};
use tagada_core::segment::{History, HistorySum, TodayRange, WindowClass};
use tagada_core::{BuyerId, Currency, InvoiceId, Money, OutboxId, Phone};

mod auth;
mod inbox;
mod leads;
mod ledger_sync;
mod limits;
mod payments;
mod summary;
mod templates;
mod webhooks;
pub use auth::*;
pub use inbox::*;
pub use leads::*;
pub use ledger_sync::*;
pub use limits::*;
pub use payments::*;
pub use summary::*;
pub use templates::*;
pub use webhooks::*;

use crate::{
    AttemptOutcome, BuyerFilter, BuyerPatch, ClaimedMessage, CurrencyTotals, InvoiceFilter,
    InvoicePatch, InvoiceUpsert, LeaseToken, NewBuyer, NewInvoice, NewNote, NewPayment,
    OutboxFilter, RejectedRow, SnapshotScope, Store, StoreError, TimelineSubject, UpsertOutcome,
};

/// Cleans up after one check (drops a schema, removes a directory).
pub trait Fixture: Send + 'static {
    fn teardown(self) -> impl Future<Output = ()> + Send;
}

impl Fixture for () {
    #[allow(clippy::manual_async_fn)]
    fn teardown(self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Expands one `#[tokio::test]` per conformance check. `$setup` is a path to
/// an `async fn() -> Option<(S, F)>` with `S: Store` and `F: Fixture`; it is
/// called once per test, so every check gets its own store.
#[macro_export]
macro_rules! conformance_tests {
    ($setup:path) => {
        $crate::conformance_tests!(@checks $setup;
            migrate_is_idempotent,
            buyer_upsert_identity,
            upsert_buyers_batch,
            upsert_buyers_batch_identity,
            upsert_buyers_matches_one_by_one,
            find_buyer_by_every_key,
            buyer_update_and_list,
            invoice_upsert_outcomes,
            invoice_upsert_large_batch,
            bulk_import_matches_normal_import,
            invoice_list_and_find,
            rejects_round_trip,
            invoice_events_cancel_pending_messages,
            invoice_event_refused_changes_nothing,
            invoice_flags_pause_cancels_messages,
            record_payment_partial_then_full,
            record_payment_duplicate_reference,
            record_payment_flags_odd_payments,
            snapshot_horizon_scope,
            snapshot_history_sums_the_ledger,
            apply_plan_is_idempotent,
            claim_respects_due_time_limit_and_order,
            lease_expiry_reclaims_or_reviews,
            complete_requires_current_lease,
            complete_outcomes_and_attempts,
            concurrent_claims_exactly_once,
            timeline_in_time_order,
            collection_summary_per_currency,
            webhook_duplicate_changes_nothing,
            webhook_status_is_monotonic,
            webhook_unknown_message_is_unmatched,
            webhook_settles_unknown_outcomes,
            webhook_inbound_recorded_once,
            webhook_statuses_in_timeline,
            webhook_batch_matches_one_by_one,
            inbound_recorded_once_and_matched,
            inbound_matched_by_wa_id_and_context,
            inbox_handling_filters_and_timeline,
            reply_queued_once_and_outlives_cancellations,
            claim_order_oldest_then_largest_debt,
            release_hands_back_without_an_attempt,
            recipients_counted_over_24_hours,
            wave_calls_match_the_single_ones,
            leads_recorded_once_and_matched,
            lead_source_budget_and_runs,
            payment_links_saved_found_updated,
            pay_tokens_open_their_invoice,
            pay_tokens_issued_once_under_concurrency,
            unallocated_payment_allocated_later,
            gateway_events_kept_once,
            api_tokens_live_until_revoked,
            users_and_sessions,
            ops_counts_group_what_happened,
            ledger_rows_runs_and_facts,
            template_statuses_newest_wins,
            report_invoices_match_the_ledger,
            report_messages_match_the_outbox,
            summary_marks_folds_and_sums,
        );
    };
    (@checks $setup:path; $($check:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                if let Some((store, fixture)) = $setup().await {
                    $crate::conformance::$check(store).await;
                    $crate::conformance::Fixture::teardown(fixture).await;
                }
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Inputs built by hand.

/// 2026-12-01T00:00:00Z, the suite's "now", plus `secs`.
fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_796_083_200 + secs).expect("valid timestamp")
}

fn phone(n: u32) -> Phone {
    Phone::try_from(format!("+9198{n:08}")).expect("E.164")
}

fn inr(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn buyer(name: &str, n: u32) -> NewBuyer {
    NewBuyer {
        name: name.to_string(),
        whatsapp: Some(phone(n)),
        ..NewBuyer::default()
    }
}

fn invoice(number: &str, buyer: BuyerId, due: Date, amount: Money) -> NewInvoice {
    NewInvoice {
        number: number.to_string(),
        buyer_id: buyer,
        order_date: None,
        invoice_date: due.checked_sub(jiff::Span::new().days(30)).expect("date"),
        due_date: due,
        credit_days: Some(30),
        amount,
        amount_paid: Money::zero(amount.currency()),
        status: InvoiceStatus::Pending,
        source: "import:test.csv".to_string(),
        source_hash: format!("hash-{number}"),
        notes: None,
    }
}

fn rendered(key: &str) -> RenderedMessage {
    RenderedMessage {
        template_key: key.to_string(),
        whatsapp_name: format!("tagada_{key}"),
        language: "en".to_string(),
        parameters: vec!["Acme".to_string(), "INV-1".to_string()],
        body: format!("Reminder ({key}): your invoice is due."),
        kind: Default::default(),
        header_document: Some(tagada_core::planner::RenderedDocument {
            link: "https://files.example.com/INV-1.pdf".to_string(),
            filename: "INV-1.pdf".to_string(),
        }),
        buttons: vec![
            tagada_core::planner::RenderedButton::Url {
                index: 0,
                suffix: "pl_INV1".to_string(),
            },
            tagada_core::planner::RenderedButton::QuickReply {
                index: 1,
                action: tagada_core::template::ReplyButton::PaidAlready,
            },
        ],
    }
}

fn item(inv: &Invoice, step: u32) -> PlannedItem {
    PlannedItem {
        invoice_id: inv.id,
        invoice_number: inv.number.clone(),
        step,
        step_name: format!("step{step}"),
        offset_days: 0,
        cycle: inv.reminder_cycle,
        outstanding: inv.outstanding(),
        due_date: inv.due_date,
        days_overdue: 0,
    }
}

fn message(
    buyer: &Buyer,
    items: Vec<PlannedItem>,
    send_at: Timestamp,
    dedupe_key: &str,
) -> PlannedMessage {
    PlannedMessage {
        buyer_id: buyer.id,
        buyer_name: buyer.name.clone(),
        to: buyer.whatsapp.clone().expect("buyer has a number"),
        send_at,
        zone: "Asia/Kolkata".to_string(),
        segment: "default".to_string(),
        cadence: "standard".to_string(),
        items,
        message: rendered("overdue"),
        escalate: false,
        sales_rep: None,
        dedupe_key: dedupe_key.to_string(),
        priority: 0,
    }
}

fn plan(now: Timestamp, messages: Vec<PlannedMessage>) -> Plan {
    Plan {
        now,
        messages,
        skipped: Vec::new(),
        not_loaded_not_yet_due: 0,
    }
}

async fn add_buyer<S: Store>(store: &S, name: &str, n: u32) -> Buyer {
    let (id, outcome) = store
        .upsert_buyer(&buyer(name, n))
        .await
        .expect("upsert buyer");
    assert_eq!(outcome, UpsertOutcome::Created, "new buyer {name}");
    store.get_buyer(id).await.expect("get buyer")
}

/// Stores one pending invoice, numbered `number`, for a new buyer, and
/// returns its id: for a backend's own tests of what an import leaves
/// behind (e.g. one interrupted half-way through a bulk load).
pub async fn store_one_invoice<S: Store>(store: &S, number: &str) -> InvoiceId {
    let buyer = add_buyer(store, &format!("Buyer of {number}"), 1).await;
    let stored = store
        .upsert_invoices(
            &[invoice(number, buyer.id, date(2026, 12, 1), inr(100_000))],
            t(0),
        )
        .await
        .expect("upsert invoice");
    match stored.as_slice() {
        [InvoiceUpsert::Created { id }] => *id,
        other => panic!("one invoice created: {other:?}"),
    }
}

/// The owners the summary has marked and not folded yet (the first ten):
/// for a backend's own tests of what a bulk load leaves marked.
pub async fn summary_pending_owners<S: Store>(store: &S) -> Vec<crate::SummaryOwner> {
    store
        .summary_pending(10)
        .await
        .expect("summary pending")
        .into_iter()
        .map(|m| m.owner)
        .collect()
}

async fn add_invoices<S: Store>(store: &S, rows: &[NewInvoice], now: Timestamp) -> Vec<Invoice> {
    let outcomes = store
        .upsert_invoices(rows, now)
        .await
        .expect("upsert invoices");
    let mut out = Vec::new();
    for (row, outcome) in rows.iter().zip(outcomes) {
        let InvoiceUpsert::Created { id } = outcome else {
            panic!("invoice {} not created: {outcome:?}", row.number);
        };
        out.push(store.get_invoice(id).await.expect("get invoice"));
    }
    out
}

async fn add_invoice<S: Store>(store: &S, row: NewInvoice, now: Timestamp) -> Invoice {
    add_invoices(store, &[row], now).await.remove(0)
}

/// Enqueues one message per (invoice, step) and returns the outbox ids in order.
async fn enqueue<S: Store>(
    store: &S,
    messages: Vec<PlannedMessage>,
    now: Timestamp,
) -> Vec<OutboxId> {
    let keys: Vec<String> = messages.iter().map(|m| m.dedupe_key.clone()).collect();
    let n = messages.len() as u32;
    let outcome = store
        .apply_plan(&plan(now, messages), now)
        .await
        .expect("apply plan");
    assert_eq!(outcome.messages_enqueued, n, "messages enqueued");
    let all = store
        .list_messages(&OutboxFilter::default())
        .await
        .expect("list messages");
    keys.iter()
        .map(|k| {
            all.iter()
                .find(|m| &m.dedupe_key == k)
                .unwrap_or_else(|| panic!("message {k} enqueued"))
                .id
        })
        .collect()
}

async fn status_of<S: Store>(store: &S, id: OutboxId) -> OutboxStatus {
    store.get_message(id).await.expect("get message").status
}

fn scope_all() -> SnapshotScope {
    SnapshotScope {
        horizon: None,
        history_since: date(2020, 1, 1),
        today: TodayRange::at(t(0)),
    }
}

/// Reminder statuses of one invoice as (step, cycle) → status.
async fn reminders_of<S: Store>(
    store: &S,
    inv: InvoiceId,
) -> BTreeMap<(u32, u32), Vec<OutboxStatus>> {
    let snap = store.load_snapshot(&scope_all()).await.expect("snapshot");
    let mut out: BTreeMap<(u32, u32), Vec<OutboxStatus>> = BTreeMap::new();
    for r in snap.reminders.iter().filter(|r| r.invoice_id == inv) {
        out.entry((r.step, r.cycle)).or_default().push(r.status);
    }
    out
}

async fn claim_all<S: Store>(store: &S, now: Timestamp) -> Vec<ClaimedMessage> {
    store
        .claim(now, 100, SignedDuration::from_secs(60), "w")
        .await
        .expect("claim")
}

fn lease_lost(r: Result<(), StoreError>) -> bool {
    matches!(r, Err(StoreError::LeaseLost(_)))
}

// ---------------------------------------------------------------------------
// Checks.

/// Migrating an up-to-date store runs nothing and keeps the data.
pub async fn migrate_is_idempotent<S: Store + 'static>(store: S) {
    assert_eq!(store.migrate().await.expect("second migrate"), 0);
    let b = add_buyer(&store, "Acme Traders", 1).await;
    assert_eq!(store.migrate().await.expect("third migrate"), 0);
    assert_eq!(store.get_buyer(b.id).await.expect("buyer survives"), b);
}

/// Buyers are found again by external key, then WhatsApp number, then
/// case-insensitive name; the outcome says whether anything changed.
pub async fn buyer_upsert_identity<S: Store + 'static>(store: S) {
    let acme = NewBuyer {
        external_key: Some("TALLY-1".into()),
        name: "Acme Traders".into(),
        whatsapp: Some(phone(1)),
        ..NewBuyer::default()
    };
    let (id1, o) = store.upsert_buyer(&acme).await.unwrap();
    assert_eq!(o, UpsertOutcome::Created);
    assert_eq!(
        store.upsert_buyer(&acme).await.unwrap(),
        (id1, UpsertOutcome::Unchanged)
    );

    // same key, new company and name: updated in place
    let acme2 = NewBuyer {
        company: Some("Acme Pvt Ltd".into()),
        name: "Acme Traders Pune".into(),
        ..acme.clone()
    };
    assert_eq!(
        store.upsert_buyer(&acme2).await.unwrap(),
        (id1, UpsertOutcome::Updated)
    );
    let got = store.get_buyer(id1).await.unwrap();
    assert_eq!(got.company.as_deref(), Some("Acme Pvt Ltd"));
    assert_eq!(got.name, "Acme Traders Pune");
    assert_eq!(got.external_key.as_deref(), Some("TALLY-1"));
    assert_eq!(got.whatsapp, Some(phone(1)));

    // a source that leaves a field out does not erase it
    let sparse = NewBuyer {
        external_key: Some("TALLY-1".into()),
        name: "Acme Traders Pune".into(),
        ..NewBuyer::default()
    };
    assert_eq!(
        store.upsert_buyer(&sparse).await.unwrap(),
        (id1, UpsertOutcome::Unchanged)
    );
    assert_eq!(
        store.get_buyer(id1).await.unwrap().company.as_deref(),
        Some("Acme Pvt Ltd")
    );

    // no key: the WhatsApp number identifies the buyer
    let by_phone = NewBuyer {
        name: "Acme Traders Pune".into(),
        whatsapp: Some(phone(1)),
        email: Some("accounts@acme.example".into()),
        ..NewBuyer::default()
    };
    assert_eq!(
        store.upsert_buyer(&by_phone).await.unwrap(),
        (id1, UpsertOutcome::Updated)
    );
    assert_eq!(
        store.get_buyer(id1).await.unwrap().email.as_deref(),
        Some("accounts@acme.example")
    );

    // no key, no number: the name, ignoring case and surrounding spaces
    let by_name = NewBuyer {
        name: "  ACME traders   PUNE ".into(),
        ..NewBuyer::default()
    };
    assert_eq!(
        store.upsert_buyer(&by_name).await.unwrap(),
        (id1, UpsertOutcome::Unchanged)
    );
    assert_eq!(
        store.get_buyer(id1).await.unwrap().name,
        "Acme Traders Pune"
    );

    // another external key is another buyer, even with the same name
    let other = NewBuyer {
        external_key: Some("TALLY-2".into()),
        name: "Acme Traders Pune".into(),
        whatsapp: Some(phone(2)),
        ..NewBuyer::default()
    };
    let (id2, o) = store.upsert_buyer(&other).await.unwrap();
    assert_eq!(o, UpsertOutcome::Created);
    assert_ne!(id1, id2);

    // a buyer first seen without a key gets it when a keyed row matches its number
    let (id3, o) = store.upsert_buyer(&buyer("Bharat Steel", 3)).await.unwrap();
    assert_eq!(o, UpsertOutcome::Created);
    let keyed = NewBuyer {
        external_key: Some("TALLY-3".into()),
        ..buyer("Bharat Steel", 3)
    };
    assert_eq!(
        store.upsert_buyer(&keyed).await.unwrap(),
        (id3, UpsertOutcome::Updated)
    );
    assert_eq!(
        store.find_buyer("TALLY-3").await.unwrap().map(|b| b.id),
        Some(id3)
    );

    // same name, different numbers: two buyers
    let (s1, o1) = store
        .upsert_buyer(&buyer("Sharma & Sons", 4))
        .await
        .unwrap();
    let (s2, o2) = store
        .upsert_buyer(&buyer("sharma & sons", 5))
        .await
        .unwrap();
    assert_eq!((o1, o2), (UpsertOutcome::Created, UpsertOutcome::Created));
    assert_ne!(s1, s2);

    let all = store.list_buyers(&BuyerFilter::default()).await.unwrap();
    assert_eq!(all.len(), 5, "buyers: {all:?}");
}

/// `upsert_buyers` applies the same identity rules row by row, in order:
/// a row may match a buyer created earlier in the same batch.
pub async fn upsert_buyers_batch<S: Store + 'static>(store: S) {
    let (existing, _) = store.upsert_buyer(&buyer("Acme Traders", 1)).await.unwrap();
    let rows = vec![
        buyer("Bharat Steel", 2),
        buyer("acme traders", 1),
        NewBuyer {
            company: Some("Bharat Steel Pvt Ltd".into()),
            ..buyer("Bharat Steel", 2)
        },
        NewBuyer {
            external_key: Some("K-3".into()),
            ..buyer("Chopra Metals", 3)
        },
        NewBuyer {
            external_key: Some("K-3".into()),
            ..buyer("Chopra Metals", 3)
        },
    ];
    let out = store.upsert_buyers(&rows).await.unwrap();
    let outcomes: Vec<UpsertOutcome> = out.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        outcomes,
        vec![
            UpsertOutcome::Created,
            UpsertOutcome::Unchanged,
            UpsertOutcome::Updated,
            UpsertOutcome::Created,
            UpsertOutcome::Unchanged,
        ]
    );
    assert_eq!(out[1].0, existing);
    assert_eq!(out[0].0, out[2].0);
    assert_eq!(out[3].0, out[4].0);
    assert_eq!(
        store.get_buyer(out[2].0).await.unwrap().company.as_deref(),
        Some("Bharat Steel Pvt Ltd")
    );
    assert_eq!(
        store
            .list_buyers(&BuyerFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(store.upsert_buyers(&[]).await.unwrap().is_empty());
}

/// One batch mixing stored, changed and new buyers: keys first, then
/// numbers, then names (lowest id first among several); a buyer the batch
/// creates is found again by later rows of the same batch, by any of its
/// keys, and merges them in as separate `upsert_buyer` calls would.
pub async fn upsert_buyers_batch_identity<S: Store + 'static>(store: S) {
    let keyed = |key: &str, name: &str, n: u32| NewBuyer {
        external_key: Some(key.into()),
        ..buyer(name, n)
    };
    let (e1, _) = store
        .upsert_buyer(&keyed("T-1", "Acme Traders", 1))
        .await
        .unwrap();
    let (e2, _) = store.upsert_buyer(&buyer("Bharat Steel", 2)).await.unwrap();
    let (e3, _) = store
        .upsert_buyer(&NewBuyer {
            name: "Chopra Metals".into(),
            ..NewBuyer::default()
        })
        .await
        .unwrap();
    let (e4, _) = store.upsert_buyer(&buyer("Dutta & Co", 4)).await.unwrap();
    let (g1, _) = store
        .upsert_buyer(&buyer("Gupta Hardware", 7))
        .await
        .unwrap();
    let (g2, o) = store
        .upsert_buyer(&buyer("Gupta Hardware", 8))
        .await
        .unwrap();
    assert_eq!(o, UpsertOutcome::Created, "same name, other number");
    assert!(g1 < g2);

    let rows = vec![
        // 0: stored, by key, nothing new
        keyed("T-1", "Acme Traders", 1),
        // 1: unknown key, stored keyless buyer with that number: it takes the key
        NewBuyer {
            name: "Bharat Steel Pvt".into(),
            ..keyed("T-2", "Bharat Steel", 2)
        },
        // 2: no key, no number: the name, ignoring case and spacing
        NewBuyer {
            name: "  CHOPRA   metals ".into(),
            email: Some("ap@chopra.example".into()),
            ..NewBuyer::default()
        },
        // 3: a stored name with another number: someone new
        buyer("Dutta & Co", 5),
        // 4: new key
        keyed("T-6", "Eastern Agro", 6),
        // 5: the same identity again, with more to say
        NewBuyer {
            company: Some("Eastern Agro LLP".into()),
            ..keyed("T-6", "Eastern Agro", 6)
        },
        // 6: the buyer created above, by number
        buyer("eastern agro", 6),
        // 7: the key row 1 gave a stored buyer
        NewBuyer {
            external_key: Some("T-2".into()),
            name: "Bharat Steel Pvt".into(),
            ..NewBuyer::default()
        },
        // 8: the buyer row 3 created, by number
        NewBuyer {
            email: Some("dutta@example.com".into()),
            ..buyer("Dutta & Co", 5)
        },
        // 9: stored, by key, changed
        NewBuyer {
            company: Some("Acme Pvt Ltd".into()),
            ..keyed("T-1", "Acme Traders", 1)
        },
        // 10: two stored buyers by name and no number: the older one
        NewBuyer {
            name: "GUPTA hardware".into(),
            email: Some("gupta@example.com".into()),
            ..NewBuyer::default()
        },
        // 11: a new key never takes over a buyer that has another key, by
        // number or by name
        keyed("T-9", "Acme Traders", 1),
    ];
    let out = store.upsert_buyers(&rows).await.unwrap();
    assert_eq!(out.len(), rows.len());
    let (n1, n2, n3) = (out[3].0, out[4].0, out[11].0);
    use UpsertOutcome::{Created, Unchanged, Updated};
    assert_eq!(
        out,
        vec![
            (e1, Unchanged),
            (e2, Updated),
            (e3, Updated),
            (n1, Created),
            (n2, Created),
            (n2, Updated),
            (n2, Unchanged),
            (e2, Unchanged),
            (n1, Updated),
            (e1, Updated),
            (g1, Updated),
            (n3, Created),
        ]
    );
    let ids: BTreeSet<BuyerId> = [e1, e2, e3, e4, g1, g2, n1, n2, n3].into();
    assert_eq!(ids.len(), 9, "three new buyers");
    assert!(
        n1 > g2 && n2 > n1 && n3 > n2,
        "new ids follow, in row order"
    );

    let get = |id| {
        let store = &store;
        async move { store.get_buyer(id).await.unwrap() }
    };
    let b = get(e2).await;
    assert_eq!(b.external_key.as_deref(), Some("T-2"));
    assert_eq!(b.name, "Bharat Steel Pvt");
    assert_eq!(b.whatsapp, Some(phone(2)));
    let b = get(e3).await;
    assert_eq!(b.name, "Chopra Metals", "same name, other spacing: kept");
    assert_eq!(b.email.as_deref(), Some("ap@chopra.example"));
    assert_eq!(get(e4).await.whatsapp, Some(phone(4)));
    let b = get(n1).await;
    assert_eq!(
        (b.name.as_str(), b.whatsapp, b.email.as_deref()),
        ("Dutta & Co", Some(phone(5)), Some("dutta@example.com"))
    );
    let b = get(n2).await;
    assert_eq!(
        (
            b.external_key.as_deref(),
            b.name.as_str(),
            b.company.as_deref()
        ),
        (Some("T-6"), "Eastern Agro", Some("Eastern Agro LLP"))
    );
    assert_eq!(get(e1).await.company.as_deref(), Some("Acme Pvt Ltd"));
    assert_eq!(get(e1).await.external_key.as_deref(), Some("T-1"));
    assert_eq!(get(n3).await.whatsapp, Some(phone(1)));
    assert_eq!(get(g1).await.email.as_deref(), Some("gupta@example.com"));
    assert_eq!(get(g2).await.email, None);
    assert_eq!(
        store.find_buyer("T-6").await.unwrap().map(|b| b.id),
        Some(n2)
    );
    assert_eq!(
        store
            .list_buyers(&BuyerFilter::default())
            .await
            .unwrap()
            .len(),
        9
    );

    // the same batch again changes nothing
    let again = store.upsert_buyers(&rows).await.unwrap();
    let expected: Vec<_> = out.iter().map(|(id, _)| (*id, Unchanged)).collect();
    assert_eq!(again, expected);

    // an instant finer than the backend keeps: a batch still answers as
    // one call per row does
    let fine = |name: &str, n: u32| NewBuyer {
        consent: Some(tagada_core::ledger::Consent {
            at: t(0) + SignedDuration::from_nanos(1_234),
            source: "import".into(),
        }),
        ..buyer(name, n)
    };
    let batch = store
        .upsert_buyers(&vec![fine("Hindustan Tools", 11); 3])
        .await
        .unwrap();
    let mut one_by_one = Vec::new();
    for _ in 0..3 {
        one_by_one.push(store.upsert_buyer(&fine("Indus Tools", 12)).await.unwrap());
    }
    assert!(batch.iter().all(|(id, _)| *id == batch[0].0));
    assert_eq!(
        batch.iter().map(|(_, o)| *o).collect::<Vec<_>>(),
        one_by_one.iter().map(|(_, o)| *o).collect::<Vec<_>>()
    );
    assert_eq!(
        store.get_buyer(batch[0].0).await.unwrap().consent,
        store.get_buyer(one_by_one[0].0).await.unwrap().consent
    );

    // a row without a name fails the whole batch, which then changes nothing
    let before = store.list_buyers(&BuyerFilter::default()).await.unwrap();
    let bad = vec![buyer("Fresh Buyer", 9), buyer("  ", 10)];
    assert!(matches!(
        store.upsert_buyers(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.list_buyers(&BuyerFilter::default()).await.unwrap(),
        before
    );
}

/// A tiny deterministic generator (xorshift64*), so the check below is
/// reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    }
}

/// Rows drawn from small pools of keys, numbers and names (so identities
/// collide often), in "universe" `u`: the same draws in another universe give
/// the same rows with other keys, numbers and names.
fn random_rows(seed: u64, count: usize, u: u32) -> Vec<NewBuyer> {
    const NAMES: [&str; 4] = ["Acme Traders", "Bharat Steel", "Chopra Metals", "Dutta Co"];
    let mut rng = Rng(seed);
    (0..count)
        .map(|_| {
            let key = (rng.below(10) < 5).then(|| format!("K{u}-{}", rng.below(5)));
            let whatsapp = (rng.below(10) < 6)
                .then(|| Phone::try_from(format!("+91{u}800000{}", rng.below(5))).expect("E.164"));
            let base = format!("{} #{u}", NAMES[rng.below(4) as usize]);
            let name = match rng.below(4) {
                0 => base.to_uppercase(),
                1 => format!("  {}  ", base.to_lowercase().replace(' ', "   ")),
                2 => format!("{base} Pvt"),
                _ => base,
            };
            let pick = |rng: &mut Rng, values: &[&str]| {
                let i = rng.below(values.len() as u64 + 1) as usize;
                values.get(i).map(|v| v.to_string())
            };
            NewBuyer {
                external_key: key,
                name,
                whatsapp,
                company: pick(&mut rng, &["Pvt Ltd", "LLP"]),
                email: pick(&mut rng, &["a@example.com"]),
                sales_rep: pick(&mut rng, &["ravi", "meena"]),
                consent: (rng.below(4) == 0).then(|| tagada_core::ledger::Consent {
                    at: t(rng.below(2) as i64),
                    source: "import".into(),
                }),
                ..NewBuyer::default()
            }
        })
        .collect()
}

/// The identity and merge rules over a plain list, in creation order (the
/// position stands for the id: backends hand out ascending ids).
#[derive(Default)]
struct BuyerModel {
    buyers: Vec<NewBuyer>,
}

impl BuyerModel {
    fn norm(name: &str) -> String {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    fn upsert(&mut self, nb: &NewBuyer) -> (usize, UpsertOutcome) {
        let name = nb.name.trim();
        let norm = Self::norm(name);
        let key = nb.external_key.as_deref();
        let free = |b: &NewBuyer| key.is_none() || b.external_key.is_none();
        let found = key
            .and_then(|k| {
                self.buyers
                    .iter()
                    .position(|b| b.external_key.as_deref() == Some(k))
            })
            .or_else(|| {
                nb.whatsapp.as_ref().and_then(|p| {
                    self.buyers
                        .iter()
                        .position(|b| b.whatsapp.as_ref() == Some(p) && free(b))
                })
            })
            .or_else(|| {
                self.buyers.iter().position(|b| {
                    Self::norm(&b.name) == norm
                        && free(b)
                        && (nb.whatsapp.is_none()
                            || b.whatsapp.is_none()
                            || b.whatsapp == nb.whatsapp)
                })
            });
        let Some(i) = found else {
            self.buyers.push(NewBuyer {
                name: name.to_string(),
                ..nb.clone()
            });
            return (self.buyers.len() - 1, UpsertOutcome::Created);
        };
        let b = &mut self.buyers[i];
        let before = b.clone();
        if Self::norm(&b.name) != norm {
            b.name = name.to_string();
        }
        macro_rules! given {
            ($($f:ident),*) => { $( if nb.$f.is_some() { b.$f.clone_from(&nb.$f); } )* };
        }
        given!(external_key, company, whatsapp, email, sales_rep, consent);
        let outcome = if *b == before {
            UpsertOutcome::Unchanged
        } else {
            UpsertOutcome::Updated
        };
        (i, outcome)
    }

    /// The buyers as [`BuyerView`]s, in creation order.
    fn views(&self) -> Vec<BuyerView> {
        self.buyers
            .iter()
            .map(|b| {
                (
                    b.external_key.clone(),
                    b.name.clone(),
                    b.whatsapp.clone(),
                    b.company.clone(),
                    b.email.clone(),
                    b.sales_rep.clone(),
                    b.consent.as_ref().map(|c| c.source.clone()),
                )
            })
            .collect()
    }
}

/// What the model knows of a buyer (a consent by its source only: a
/// backend may keep fewer digits of the instant).
type BuyerView = (
    Option<String>,
    String,
    Option<Phone>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn view(b: &Buyer) -> BuyerView {
    (
        b.external_key.clone(),
        b.name.clone(),
        b.whatsapp.clone(),
        b.company.clone(),
        b.email.clone(),
        b.sales_rep.clone(),
        b.consent.as_ref().map(|c| c.source.clone()),
    )
}

/// A buyer of universe `u` as universe 1 would hold it (ids aside).
fn in_universe_one(mut b: Buyer, u: u32) -> Buyer {
    b.name = b.name.replace(&format!("#{u}"), "#1");
    b.external_key = b.external_key.map(|k| k.replace(&format!("K{u}-"), "K1-"));
    b.whatsapp = b.whatsapp.map(|p| {
        Phone::try_from(p.as_str().replacen(&format!("+91{u}"), "+911", 1)).expect("E.164")
    });
    b
}

/// `upsert_buyers` gives exactly what one `upsert_buyer` per row gives (the
/// same outcomes, ids in the same places, the same buyers in the end), and
/// both follow the identity rules as a plain model of them states them.
/// Universe 1 takes each batch in one call, universe 2 row by row.
pub async fn upsert_buyers_matches_one_by_one<S: Store + 'static>(store: S) {
    /// The universe's buyers, by id: a buyer's position is its canonical id.
    async fn buyers_of<S: Store>(store: &S, u: u32) -> Vec<Buyer> {
        let mut all: Vec<Buyer> = store
            .list_buyers(&BuyerFilter::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|b| b.name.contains(&format!("#{u}")))
            .collect();
        all.sort_by_key(|b| b.id);
        all
    }
    let mut model = BuyerModel::default();
    for (round, seed) in [0x9e37_79b9_7f4a_7c15_u64, 42, 7_777_777, 123_456_789, 5]
        .into_iter()
        .enumerate()
    {
        let mut outcomes = Vec::new();
        for u in [1, 2] {
            let rows = random_rows(seed, 50, u);
            let out = if u == 1 {
                store.upsert_buyers(&rows).await.unwrap()
            } else {
                let mut out = Vec::new();
                for r in &rows {
                    out.push(store.upsert_buyer(r).await.unwrap());
                }
                out
            };
            let ids: Vec<BuyerId> = buyers_of(&store, u).await.iter().map(|b| b.id).collect();
            let canonical: Vec<(usize, UpsertOutcome)> = out
                .into_iter()
                .map(|(id, o)| (ids.iter().position(|x| *x == id).expect("listed"), o))
                .collect();
            outcomes.push(canonical);
        }
        assert_eq!(
            outcomes[0], outcomes[1],
            "round {round}: batch vs one by one"
        );
        let expected: Vec<(usize, UpsertOutcome)> = random_rows(seed, 50, 1)
            .iter()
            .map(|r| model.upsert(r))
            .collect();
        assert_eq!(
            outcomes[0], expected,
            "round {round}: outcomes vs the rules"
        );
        let ones = buyers_of(&store, 1).await;
        assert_eq!(
            ones.iter().map(view).collect::<Vec<_>>(),
            model.views(),
            "round {round}: buyers vs the rules"
        );
        let canon = |bs: Vec<Buyer>, u: u32| -> Vec<Buyer> {
            bs.into_iter()
                .enumerate()
                .map(|(i, b)| Buyer {
                    id: BuyerId::new(i as i64 + 1),
                    ..in_universe_one(b, u)
                })
                .collect()
        };
        assert_eq!(
            canon(ones, 1),
            canon(buyers_of(&store, 2).await, 2),
            "round {round}: buyers, batch vs one by one"
        );
    }
}

/// `find_buyer` accepts a `B12` id, an external key, an E.164 number (or the
/// WhatsApp id) and a case-insensitive exact name.
pub async fn find_buyer_by_every_key<S: Store + 'static>(store: S) {
    let nb = NewBuyer {
        external_key: Some("K-9".into()),
        ..buyer("Gupta Hardware", 9)
    };
    let (id, _) = store.upsert_buyer(&nb).await.unwrap();
    let (other, _) = store.upsert_buyer(&buyer("Other Buyer", 10)).await.unwrap();
    let found = |k: &'static str| {
        let store = &store;
        async move { store.find_buyer(k).await.unwrap().map(|b| b.id) }
    };
    assert_eq!(
        store
            .find_buyer(&id.to_string())
            .await
            .unwrap()
            .map(|b| b.id),
        Some(id)
    );
    assert_eq!(
        store
            .find_buyer(&other.to_string())
            .await
            .unwrap()
            .map(|b| b.id),
        Some(other)
    );
    assert_eq!(found("K-9").await, Some(id));
    assert_eq!(found("+919800000009").await, Some(id));
    assert_eq!(found("gupta hardware").await, Some(id));
    assert_eq!(found("  GUPTA HARDWARE ").await, Some(id));
    assert_eq!(found("Gupta").await, None);
    assert_eq!(found("nobody").await, None);
    assert_eq!(found("B987654").await, None);
    assert_eq!(found("+919899999999").await, None);

    store
        .update_buyer(
            id,
            &BuyerPatch {
                wa_id: Some(Some("919811112222".into())),
                ..BuyerPatch::default()
            },
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(found("919811112222").await, Some(id));
    assert_eq!(found("+919811112222").await, Some(id));
}

/// `update_buyer` applies only the fields it names; `list_buyers` filters.
pub async fn buyer_update_and_list<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let _c = store
        .upsert_buyer(&NewBuyer {
            company: Some("ACME Holdings".into()),
            ..buyer("Chopra Metals", 3)
        })
        .await
        .unwrap();

    let patched = store
        .update_buyer(
            a.id,
            &BuyerPatch {
                paused: Some(true),
                paused_until: Some(Some(date(2026, 12, 31))),
                sales_rep: Some(Some("ravi".into())),
                cadence_override: Some(Some("gentle".into())),
                time_zone: Some(Some("Asia/Dubai".into())),
                language: Some(Some("hi".into())),
                ..BuyerPatch::default()
            },
            t(0),
        )
        .await
        .unwrap();
    assert!(patched.paused);
    assert_eq!(patched.paused_until, Some(date(2026, 12, 31)));
    assert_eq!(patched.sales_rep.as_deref(), Some("ravi"));
    assert_eq!(patched.cadence_override.as_deref(), Some("gentle"));
    assert_eq!(patched.time_zone.as_deref(), Some("Asia/Dubai"));
    assert_eq!(patched.language.as_deref(), Some("hi"));
    assert_eq!(patched.name, a.name, "untouched fields stay");
    assert_eq!(store.get_buyer(a.id).await.unwrap(), patched);

    let cleared = store
        .update_buyer(
            a.id,
            &BuyerPatch {
                paused: Some(false),
                paused_until: Some(None),
                cadence_override: Some(None),
                ..BuyerPatch::default()
            },
            t(1),
        )
        .await
        .unwrap();
    assert!(!cleared.paused);
    assert_eq!(cleared.paused_until, None);
    assert_eq!(cleared.cadence_override, None);
    assert_eq!(cleared.sales_rep.as_deref(), Some("ravi"));

    let opted = store
        .update_buyer(
            b.id,
            &BuyerPatch {
                opted_out: Some(true),
                ..BuyerPatch::default()
            },
            t(2),
        )
        .await
        .unwrap();
    assert_eq!(opted.opted_out_at, Some(t(2)));

    let ids = |v: Vec<Buyer>| v.into_iter().map(|b| b.id).collect::<Vec<_>>();
    let search = BuyerFilter {
        search: Some("acme".into()),
        ..BuyerFilter::default()
    };
    let found = ids(store.list_buyers(&search).await.unwrap());
    assert_eq!(found.len(), 2, "name or company matches: {found:?}");
    assert!(found.contains(&a.id));
    let rep = BuyerFilter {
        sales_rep: Some("ravi".into()),
        ..BuyerFilter::default()
    };
    assert_eq!(ids(store.list_buyers(&rep).await.unwrap()), vec![a.id]);
    let opted_out = BuyerFilter {
        opted_out: Some(true),
        ..BuyerFilter::default()
    };
    assert_eq!(
        ids(store.list_buyers(&opted_out).await.unwrap()),
        vec![b.id]
    );
    let not_opted = BuyerFilter {
        opted_out: Some(false),
        ..BuyerFilter::default()
    };
    assert_eq!(store.list_buyers(&not_opted).await.unwrap().len(), 2);
    let limited = BuyerFilter {
        limit: Some(1),
        ..BuyerFilter::default()
    };
    assert_eq!(store.list_buyers(&limited).await.unwrap().len(), 1);

    let missing = store
        .update_buyer(BuyerId::new(999_999), &BuyerPatch::default(), t(3))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    assert!(matches!(
        store.get_buyer(BuyerId::new(999_999)).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Invoice upserts: created, unchanged on the same source hash (even after a
/// payment moved the invoice on), updated when the hash changes, rejected
/// when the number belongs to another buyer.
pub async fn invoice_upsert_outcomes<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let due = date(2026, 12, 10);
    let rows = vec![
        invoice("INV-1", a.id, due, inr(100_000)),
        invoice("INV-2", a.id, due, inr(50_000)),
    ];
    let created = store.upsert_invoices(&rows, t(0)).await.unwrap();
    let (id1, id2) = match created.as_slice() {
        [
            InvoiceUpsert::Created { id: x },
            InvoiceUpsert::Created { id: y },
        ] => (*x, *y),
        other => panic!("expected two Created, got {other:?}"),
    };
    let inv1 = store.get_invoice(id1).await.unwrap();
    assert_eq!(inv1.number, "INV-1");
    assert_eq!(inv1.buyer_id, a.id);
    assert_eq!(inv1.amount, inr(100_000));
    assert_eq!(inv1.amount_paid, inr(0));
    assert_eq!(inv1.status, InvoiceStatus::Pending);
    assert_eq!(inv1.due_date, due);
    assert_eq!(inv1.invoice_date, rows[0].invoice_date);
    assert_eq!(inv1.credit_days, Some(30));
    assert_eq!(inv1.reminder_cycle, 0);

    assert_eq!(
        store.upsert_invoices(&rows, t(10)).await.unwrap(),
        vec![
            InvoiceUpsert::Unchanged { id: id1 },
            InvoiceUpsert::Unchanged { id: id2 }
        ]
    );

    // tagada records a payment; re-importing the same row changes nothing
    store
        .record_payment(
            &NewPayment {
                invoice_number: Some("INV-1".into()),
                invoice_id: None,
                buyer_id: None,
                amount: inr(40_000),
                received_at: t(20),
                method: PaymentMethod::Upi,
                reference: Some("UTR-1".into()),
            },
            t(20),
        )
        .await
        .unwrap();
    assert_eq!(
        store.upsert_invoices(&rows[..1], t(30)).await.unwrap(),
        vec![InvoiceUpsert::Unchanged { id: id1 }]
    );
    let inv1 = store.get_invoice(id1).await.unwrap();
    assert_eq!(inv1.status, InvoiceStatus::PartiallyPaid);
    assert_eq!(inv1.amount_paid, inr(40_000));

    // a changed row updates the invoice but never forgets money tagada recorded
    let changed = NewInvoice {
        amount: inr(120_000),
        due_date: date(2026, 12, 20),
        source_hash: "hash-INV-1-v2".into(),
        notes: Some("revised".into()),
        ..rows[0].clone()
    };
    assert_eq!(
        store
            .upsert_invoices(std::slice::from_ref(&changed), t(40))
            .await
            .unwrap(),
        vec![InvoiceUpsert::Updated { id: id1 }]
    );
    let inv1 = store.get_invoice(id1).await.unwrap();
    assert_eq!(inv1.amount, inr(120_000));
    assert_eq!(inv1.due_date, date(2026, 12, 20));
    assert_eq!(inv1.amount_paid, inr(40_000));
    assert_eq!(inv1.status, InvoiceStatus::PartiallyPaid);
    assert_eq!(
        store.upsert_invoices(&[changed], t(50)).await.unwrap(),
        vec![InvoiceUpsert::Unchanged { id: id1 }]
    );

    // the number belongs to buyer A: a row for buyer B is rejected
    let stolen = NewInvoice {
        buyer_id: b.id,
        source_hash: "other".into(),
        ..rows[1].clone()
    };
    let out = store.upsert_invoices(&[stolen], t(60)).await.unwrap();
    assert!(
        matches!(out.as_slice(), [InvoiceUpsert::Rejected { .. }]),
        "{out:?}"
    );
    assert_eq!(store.get_invoice(id2).await.unwrap().buyer_id, a.id);
    assert_eq!(store.get_invoice(id2).await.unwrap().amount, inr(50_000));

    // one batch: a new number twice (created, then updated), an unknown buyer
    let first = invoice("INV-3", b.id, due, inr(10_000));
    let second = NewInvoice {
        amount: inr(11_000),
        source_hash: "hash-INV-3-v2".into(),
        ..first.clone()
    };
    let ghost = invoice("INV-4", BuyerId::new(987_654), due, inr(1));
    let out = store
        .upsert_invoices(&[first, second.clone(), ghost], t(70))
        .await
        .unwrap();
    let id3 = match out.as_slice() {
        [
            InvoiceUpsert::Created { id: x },
            InvoiceUpsert::Updated { id: y },
            InvoiceUpsert::Rejected { .. },
        ] if x == y => *x,
        other => panic!("unexpected outcomes {other:?}"),
    };
    assert_eq!(store.get_invoice(id3).await.unwrap().amount, inr(11_000));
    assert_eq!(
        store.upsert_invoices(&[second], t(80)).await.unwrap(),
        vec![InvoiceUpsert::Unchanged { id: id3 }]
    );
    assert!(store.find_invoice("INV-4").await.unwrap().is_none());
    assert!(store.upsert_invoices(&[], t(90)).await.unwrap().is_empty());
}

/// A batch of a few thousand rows goes in at once and comes back unchanged.
pub async fn invoice_upsert_large_batch<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let rows: Vec<NewInvoice> = (0..2_500)
        .map(|i| {
            let who = if i % 2 == 0 { a.id } else { b.id };
            let due = date(2026, 1, 1)
                .checked_add(jiff::Span::new().days(i % 400))
                .unwrap();
            invoice(&format!("BULK-{i:05}"), who, due, inr(1_000 + i))
        })
        .collect();
    let out = store.upsert_invoices(&rows, t(0)).await.unwrap();
    assert_eq!(out.len(), rows.len());
    let mut ids = HashSet::new();
    for (i, o) in out.iter().enumerate() {
        match o {
            InvoiceUpsert::Created { id } => assert!(ids.insert(*id), "duplicate id at row {i}"),
            other => panic!("row {i}: {other:?}"),
        }
    }
    let probe = store
        .find_invoice("BULK-01234")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(probe.amount, inr(2_234));
    assert_eq!(probe.buyer_id, a.id);
    assert_eq!(probe.due_date, rows[1234].due_date);
    let InvoiceUpsert::Created { id } = out[1234] else {
        unreachable!()
    };
    assert_eq!(probe.id, id);

    let again = store.upsert_invoices(&rows, t(10)).await.unwrap();
    assert!(
        again
            .iter()
            .zip(&out)
            .all(|(x, y)| matches!((x, y), (InvoiceUpsert::Unchanged { id: p }, InvoiceUpsert::Created { id: q }) if p == q)),
        "re-import is all unchanged"
    );
    let listed = store
        .list_invoices(&InvoiceFilter {
            buyer: Some(b.id),
            ..InvoiceFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1_250);
}

/// A bulk import (`begin_bulk_import` … `end_bulk_import`) stores, finds
/// and plans exactly what the same batches store without it; a ledger
/// holding more than a quarter of the incoming invoices is not loaded in
/// bulk (so re-importing a file never is); ending is
/// idempotent and harmless without a begin. Every invoice it stores is
/// marked for a summary that was started before it.
pub async fn bulk_import_matches_normal_import<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    store.end_bulk_import().await.expect("end without begin");
    store.summary_reset("UTC", 1).await.unwrap();
    let mut rows: Vec<NewInvoice> = (0..3_000)
        .map(|i| {
            let who = if i % 3 == 0 { a.id } else { b.id };
            let due = date(2026, 10, 1)
                .checked_add(jiff::Span::new().days(i % 200))
                .unwrap();
            let mut inv = invoice(&format!("BK-{i:05}"), who, due, inr(10_000 + i));
            if i % 5 == 0 {
                inv.status = InvoiceStatus::Paid;
                inv.amount_paid = inv.amount;
            }
            inv
        })
        .collect();
    // the second batch repeats a row of the first (unchanged), changes one
    // (updated), and names a buyer that does not exist (rejected)
    rows.push(rows[10].clone());
    let mut changed = rows[20].clone();
    changed.amount = inr(99_999);
    changed.source_hash = "hash-changed".into();
    rows.push(changed);
    let mut orphan = invoice(
        "BK-ORPHAN",
        BuyerId::new(999_999),
        date(2026, 10, 1),
        inr(1),
    );
    orphan.source_hash = "orphan".into();
    rows.push(orphan);

    let bulk = store.begin_bulk_import(rows.len() as u64).await.unwrap();
    let mut out = Vec::new();
    for batch in rows.chunks(1_000) {
        out.extend(store.upsert_invoices(batch, t(0)).await.unwrap());
    }
    store.end_bulk_import().await.unwrap();
    store.end_bulk_import().await.expect("ending twice");
    assert!(
        matches!(out[3_000], InvoiceUpsert::Unchanged { .. }),
        "{:?}",
        out[3_000]
    );
    assert!(
        matches!(out[3_001], InvoiceUpsert::Updated { .. }),
        "{:?}",
        out[3_001]
    );
    assert!(
        matches!(out[3_002], InvoiceUpsert::Rejected { .. }),
        "{:?}",
        out[3_002]
    );
    let created = out
        .iter()
        .filter(|o| matches!(o, InvoiceUpsert::Created { .. }))
        .count();
    assert_eq!(created, 3_000, "bulk {bulk}");
    let marked: HashSet<InvoiceId> = store
        .summary_pending(10_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m.owner {
            crate::SummaryOwner::Invoice(id) => Some(id),
            crate::SummaryOwner::Message(_) => None,
        })
        .collect();
    for o in &out[..3_000] {
        let InvoiceUpsert::Created { id } = o else {
            unreachable!()
        };
        assert!(marked.contains(id), "{id} marked for the summary");
    }

    // what the indexes serve: a buyer's invoices, the planning horizon, pay pages
    let of_a = store
        .list_invoices(&InvoiceFilter {
            buyer: Some(a.id),
            ..InvoiceFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(of_a.len(), 1_000);
    let scope = SnapshotScope {
        horizon: Some(date(2026, 10, 31)),
        history_since: date(2030, 1, 1),
        today: TodayRange::at(t(0)),
    };
    let snap = store.load_snapshot(&scope).await.unwrap();
    let due: BTreeSet<String> = snap.invoices.iter().map(|i| i.number.clone()).collect();
    let expected: BTreeSet<String> = (0..3_000)
        .filter(|i| i % 5 != 0 && i % 200 <= 30)
        .map(|i| format!("BK-{i:05}"))
        .collect();
    assert_eq!(
        due, expected,
        "open invoices due by the horizon after a bulk import"
    );
    let probe = store
        .find_invoice("BK-01234")
        .await
        .unwrap()
        .expect("found");
    assert!(
        of_a.iter().all(|i| i.pay_token.is_none()),
        "an import issues no pay token"
    );
    let ids: Vec<InvoiceId> = of_a.iter().map(|i| i.id).collect();
    let tokens = store.pay_tokens(&ids).await.unwrap();
    let distinct: HashSet<&String> = tokens.iter().map(|(_, t)| t).collect();
    assert_eq!(
        (tokens.len(), distinct.len()),
        (of_a.len(), of_a.len()),
        "every invoice gets its own pay token"
    );
    let token = store
        .pay_tokens(&[probe.id])
        .await
        .unwrap()
        .pop()
        .expect("a pay token")
        .1;
    let by_token = store
        .find_invoice_by_pay_token(&token)
        .await
        .unwrap()
        .expect("found by pay token");
    assert_eq!(by_token.id, probe.id);
    assert_eq!(
        store
            .find_invoice("BK-00020")
            .await
            .unwrap()
            .unwrap()
            .amount,
        inr(99_999)
    );

    // a re-import changes nothing; a ledger larger than the file is not bulk loaded
    let again = store.upsert_invoices(&rows[..3_000], t(5)).await.unwrap();
    assert!(
        again
            .iter()
            .enumerate()
            .all(|(i, o)| matches!(o, InvoiceUpsert::Unchanged { .. }) || i == 20),
        "re-import after a bulk import"
    );
    assert!(
        !store.begin_bulk_import(3_003).await.unwrap(),
        "3,000 stored invoices against 3,003 incoming"
    );
    store.end_bulk_import().await.unwrap();
}

/// `find_invoice` and `list_invoices` filters.
pub async fn invoice_list_and_find<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let mut paid = invoice("PAID-1", a.id, date(2026, 10, 1), inr(500));
    paid.status = InvoiceStatus::Paid;
    paid.amount_paid = inr(500);
    let invs = add_invoices(
        &store,
        &[
            invoice("A-OLD", a.id, date(2026, 11, 1), inr(100)),
            invoice("A-NEW", a.id, date(2027, 1, 1), inr(200)),
            invoice("B-OLD", b.id, date(2026, 11, 15), inr(300)),
            paid,
        ],
        t(0),
    )
    .await;
    assert_eq!(invs[3].status, InvoiceStatus::Paid);
    assert_eq!(
        store.find_invoice("A-NEW").await.unwrap(),
        Some(invs[1].clone())
    );
    assert_eq!(store.find_invoice("nope").await.unwrap(), None);
    assert!(matches!(
        store.get_invoice(InvoiceId::new(987_654)).await,
        Err(StoreError::NotFound { .. })
    ));

    let numbers = |v: Vec<Invoice>| {
        let mut n: Vec<String> = v.into_iter().map(|i| i.number).collect();
        n.sort();
        n
    };
    let by_buyer = InvoiceFilter {
        buyer: Some(a.id),
        ..InvoiceFilter::default()
    };
    assert_eq!(
        numbers(store.list_invoices(&by_buyer).await.unwrap()),
        ["A-NEW", "A-OLD", "PAID-1"]
    );
    let overdue = InvoiceFilter {
        overdue_on: Some(date(2026, 12, 1)),
        ..InvoiceFilter::default()
    };
    assert_eq!(
        numbers(store.list_invoices(&overdue).await.unwrap()),
        ["A-OLD", "B-OLD"]
    );
    let paid_only = InvoiceFilter {
        statuses: vec![InvoiceStatus::Paid],
        ..InvoiceFilter::default()
    };
    assert_eq!(
        numbers(store.list_invoices(&paid_only).await.unwrap()),
        ["PAID-1"]
    );
    let search = InvoiceFilter {
        search: Some("old".into()),
        ..InvoiceFilter::default()
    };
    assert_eq!(
        numbers(store.list_invoices(&search).await.unwrap()),
        ["A-OLD", "B-OLD"]
    );
    let limited = InvoiceFilter {
        limit: Some(2),
        ..InvoiceFilter::default()
    };
    assert_eq!(store.list_invoices(&limited).await.unwrap().len(), 2);
}

/// Rejected rows are stored and listed per file, in the order recorded.
pub async fn rejects_round_trip<S: Store + 'static>(store: S) {
    let rej = |file: &str, line: u64, column: Option<&str>| RejectedRow {
        source_file: file.to_string(),
        line,
        column: column.map(str::to_string),
        reason: format!("bad value on line {line}"),
        raw: format!("INV-{line},,₹1,00,000"),
        at: t(line as i64),
    };
    let a = vec![rej("a.csv", 7, Some("amount")), rej("a.csv", 3, None)];
    let b = vec![rej("b.csv", 2, Some("phone"))];
    store.record_rejects(&a).await.unwrap();
    store.record_rejects(&b).await.unwrap();
    store.record_rejects(&[]).await.unwrap();
    assert_eq!(store.list_rejects(Some("a.csv")).await.unwrap(), a);
    assert_eq!(store.list_rejects(Some("b.csv")).await.unwrap(), b);
    assert!(store.list_rejects(Some("c.csv")).await.unwrap().is_empty());
    let all = store.list_rejects(None).await.unwrap();
    assert_eq!(all, [a.clone(), b.clone()].concat());

    // Re-importing the same file rejects the same rows again: kept once,
    // also when one batch repeats a row; a new reason for a line is new.
    let mut again = a.clone();
    again.push(a[0].clone());
    let mut changed = rej("a.csv", 7, Some("amount"));
    changed.reason = "another problem".into();
    again.push(changed.clone());
    store.record_rejects(&again).await.unwrap();
    assert_eq!(
        store.list_rejects(Some("a.csv")).await.unwrap(),
        [a, vec![changed]].concat()
    );
    assert_eq!(store.list_rejects(None).await.unwrap().len(), 4);
}

/// Paid, disputed, cancelled, snoozed and claimed-paid invoices stop being
/// remindable: their pending messages and reminders are cancelled in the same
/// call; other invoices' messages and in-flight messages are left alone.
pub async fn invoice_events_cancel_pending_messages<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let due = date(2026, 11, 20);
    let events = [
        InvoiceEvent::MarkedPaid { at: t(100) },
        InvoiceEvent::Disputed,
        InvoiceEvent::Cancelled,
        InvoiceEvent::Snoozed {
            until: date(2026, 12, 15),
        },
        InvoiceEvent::PaymentClaimed {
            hold_until: date(2026, 12, 8),
        },
    ];
    let expected = [
        InvoiceStatus::Paid,
        InvoiceStatus::Disputed,
        InvoiceStatus::Cancelled,
        InvoiceStatus::Pending,
        InvoiceStatus::InProcess,
    ];
    let rows: Vec<NewInvoice> = (0..7)
        .map(|i| invoice(&format!("E-{i}"), a.id, due, inr(10_000)))
        .collect();
    let invs = add_invoices(&store, &rows, t(0)).await;
    let msgs: Vec<PlannedMessage> = invs
        .iter()
        .map(|inv| {
            message(
                &a,
                vec![item(inv, 0)],
                t(3_600),
                &format!("m-{}", inv.number),
            )
        })
        .collect();
    let ids = enqueue(&store, msgs, t(1)).await;

    // E-5's message is claimed before it gets paid: in-flight stays in-flight
    let claimed = store
        .claim(t(3_600), 1, SignedDuration::from_secs(300), "w1")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let in_flight = claimed[0].id;
    let (flight_idx, _) = ids
        .iter()
        .enumerate()
        .find(|(_, id)| **id == in_flight)
        .unwrap();
    assert_eq!(
        flight_idx, 0,
        "oldest (lowest id) first at equal send times"
    );

    // apply the five events to E-1..E-5; E-0 (in flight) gets paid too; E-6 untouched
    for (k, (event, status)) in events.iter().zip(expected).enumerate() {
        let inv = &invs[k + 1];
        let note = NewNote {
            buyer_id: a.id,
            invoice_id: Some(inv.id),
            at: t(200 + k as i64),
            kind: NoteKind::Note,
            author: Some("ops".into()),
            text: format!("event {k}"),
        };
        let after = store
            .apply_invoice_event(inv.id, event, Some(&note), t(200 + k as i64))
            .await
            .unwrap_or_else(|e| panic!("{event:?}: {e}"));
        assert_eq!(after.status, status, "{event:?}");
        assert_eq!(store.get_invoice(inv.id).await.unwrap(), after);
        assert_eq!(
            status_of(&store, ids[k + 1]).await,
            OutboxStatus::Cancelled,
            "{event:?}"
        );
        assert_eq!(
            reminders_of(&store, inv.id).await,
            BTreeMap::from([((0, 0), vec![OutboxStatus::Cancelled])]),
            "{event:?}"
        );
    }
    let snoozed = store.get_invoice(invs[4].id).await.unwrap();
    assert_eq!(snoozed.snoozed_until, Some(date(2026, 12, 15)));
    let claimed_paid = store.get_invoice(invs[5].id).await.unwrap();
    assert_eq!(claimed_paid.snoozed_until, Some(date(2026, 12, 8)));
    let marked = store.get_invoice(invs[1].id).await.unwrap();
    assert_eq!(marked.paid_at, Some(t(100)));

    let paid_in_flight = store
        .apply_invoice_event(
            invs[0].id,
            &InvoiceEvent::MarkedPaid { at: t(300) },
            None,
            t(300),
        )
        .await
        .unwrap();
    assert_eq!(paid_in_flight.status, InvoiceStatus::Paid);
    assert_eq!(status_of(&store, in_flight).await, OutboxStatus::InFlight);
    assert_eq!(status_of(&store, ids[6]).await, OutboxStatus::Pending);

    let notes = store.list_notes(a.id).await.unwrap();
    assert_eq!(notes.len(), 5);
    assert_eq!(notes[0].text, "event 0");
    assert_eq!(notes[0].invoice_id, Some(invs[1].id));
    assert_eq!(notes[0].author.as_deref(), Some("ops"));
    assert_eq!(notes[0].at, t(200));

    // a dispute resolved starts a new reminder cycle
    let resolved = store
        .apply_invoice_event(invs[2].id, &InvoiceEvent::DisputeResolved, None, t(400))
        .await
        .unwrap();
    assert_eq!(resolved.status, InvoiceStatus::Pending);
    assert_eq!(resolved.reminder_cycle, 1);
}

/// A transition the state machine refuses changes nothing and says why.
pub async fn invoice_event_refused_changes_nothing<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("X-1", a.id, date(2026, 11, 1), inr(100)),
        t(0),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(10), "x")],
        t(1),
    )
    .await;
    let err = store
        .apply_invoice_event(inv.id, &InvoiceEvent::DisputeResolved, None, t(2))
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(store.get_invoice(inv.id).await.unwrap(), inv);
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::Pending);
    let missing = store
        .apply_invoice_event(InvoiceId::new(987_654), &InvoiceEvent::Disputed, None, t(3))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

/// Pausing an invoice cancels its pending messages; flags round-trip.
pub async fn invoice_flags_pause_cancels_messages<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("P-1", a.id, date(2026, 11, 1), inr(100)),
        t(0),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(10), "p")],
        t(1),
    )
    .await;
    let overridden = store
        .update_invoice_flags(
            inv.id,
            &InvoicePatch {
                paused: None,
                cadence_override: Some(Some("firm".into())),
            },
            t(2),
        )
        .await
        .unwrap();
    assert_eq!(overridden.cadence_override.as_deref(), Some("firm"));
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::Pending);
    let paused = store
        .update_invoice_flags(
            inv.id,
            &InvoicePatch {
                paused: Some(true),
                cadence_override: Some(None),
            },
            t(3),
        )
        .await
        .unwrap();
    assert!(paused.paused);
    assert_eq!(paused.cadence_override, None);
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::Cancelled);
    let resumed = store
        .update_invoice_flags(
            inv.id,
            &InvoicePatch {
                paused: Some(false),
                cadence_override: None,
            },
            t(4),
        )
        .await
        .unwrap();
    assert!(!resumed.paused);
    assert_eq!(store.get_invoice(inv.id).await.unwrap(), resumed);
}

/// A partial payment moves the invoice to partially paid; the rest moves it
/// to paid and cancels its pending messages in the same call.
pub async fn record_payment_partial_then_full<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("R-1", a.id, date(2026, 11, 1), inr(100_000)),
        t(0),
    )
    .await;
    // a second open invoice keeps the buyer (and so R-1's history) in snapshots
    add_invoice(
        &store,
        invoice("R-2", a.id, date(2026, 11, 2), inr(1_000)),
        t(0),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(5_000), "r")],
        t(1),
    )
    .await;
    let pay = |amount: Money, at: Timestamp, reference: &str| NewPayment {
        invoice_number: None,
        invoice_id: Some(inv.id),
        buyer_id: None,
        amount,
        received_at: at,
        method: PaymentMethod::BankTransfer,
        reference: Some(reference.to_string()),
    };
    let first = store
        .record_payment(&pay(inr(40_000), t(100), "UTR1"), t(110))
        .await
        .unwrap();
    assert!(!first.duplicate);
    // the queued reminder shows the old amount: cancelled, planned again
    assert_eq!(first.cancelled_messages, 1);
    assert_eq!(first.payment.flag, None);
    assert_eq!(first.payment.invoice_id, Some(inv.id));
    assert_eq!(first.payment.buyer_id, Some(a.id));
    assert_eq!(first.payment.amount, inr(40_000));
    assert_eq!(first.payment.received_at, t(100));
    assert_eq!(first.payment.method, PaymentMethod::BankTransfer);
    assert_eq!(first.payment.reference.as_deref(), Some("UTR1"));
    let after = first.invoice.clone().expect("invoice");
    assert_eq!(after.status, InvoiceStatus::PartiallyPaid);
    assert_eq!(after.amount_paid, inr(40_000));
    assert_eq!(after.paid_at, None);
    assert_eq!(store.get_invoice(inv.id).await.unwrap(), after);
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::Cancelled);
    // the same step can be queued again, with the new amount
    let again = enqueue(
        &store,
        vec![message(&a, vec![item(&after, 0)], t(5_000), "r2")],
        t(120),
    )
    .await;

    let second = store
        .record_payment(&pay(inr(60_000), t(200), "UTR2"), t(210))
        .await
        .unwrap();
    let after = second.invoice.clone().expect("invoice");
    assert_eq!(after.status, InvoiceStatus::Paid);
    assert_eq!(after.amount_paid, inr(100_000));
    assert_eq!(after.paid_at, Some(t(200)));
    assert_eq!(second.cancelled_messages, 1);
    assert_eq!(status_of(&store, again[0]).await, OutboxStatus::Cancelled);
    assert_eq!(
        reminders_of(&store, inv.id).await,
        BTreeMap::from([(
            (0, 0),
            vec![OutboxStatus::Cancelled, OutboxStatus::Cancelled]
        )])
    );

    let listed = store.list_payments(Some(inv.id)).await.unwrap();
    assert_eq!(listed, vec![first.payment, second.payment]);
}

/// The same reference (per method) is recorded once; the second call says
/// `duplicate` and changes nothing.
pub async fn record_payment_duplicate_reference<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("D-1", a.id, date(2026, 11, 1), inr(100_000)),
        t(0),
    )
    .await;
    let p = NewPayment {
        invoice_number: Some("D-1".into()),
        invoice_id: None,
        buyer_id: None,
        amount: inr(10_000),
        received_at: t(10),
        method: PaymentMethod::Razorpay,
        reference: Some("pay_ABC".into()),
    };
    let first = store.record_payment(&p, t(10)).await.unwrap();
    assert!(!first.duplicate);
    let again = store.record_payment(&p, t(20)).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.payment, first.payment);
    assert_eq!(again.cancelled_messages, 0);
    assert_eq!(
        store.get_invoice(inv.id).await.unwrap().amount_paid,
        inr(10_000)
    );
    assert_eq!(store.list_payments(Some(inv.id)).await.unwrap().len(), 1);

    // the reference is unique per method only
    let upi = NewPayment {
        method: PaymentMethod::Upi,
        ..p.clone()
    };
    assert!(!store.record_payment(&upi, t(30)).await.unwrap().duplicate);
    // payments without a reference are never duplicates
    let cash = NewPayment {
        method: PaymentMethod::Cash,
        reference: None,
        ..p
    };
    assert!(!store.record_payment(&cash, t(40)).await.unwrap().duplicate);
    assert!(!store.record_payment(&cash, t(50)).await.unwrap().duplicate);
    assert_eq!(
        store.get_invoice(inv.id).await.unwrap().amount_paid,
        inr(40_000)
    );
    assert_eq!(store.list_payments(None).await.unwrap().len(), 4);
}

/// Unknown invoice, other currency and overpayment: stored with a flag.
pub async fn record_payment_flags_odd_payments<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("F-1", a.id, date(2026, 11, 1), inr(100_000)),
        t(0),
    )
    .await;
    let base = NewPayment {
        invoice_number: None,
        invoice_id: None,
        buyer_id: None,
        amount: inr(5_000),
        received_at: t(10),
        method: PaymentMethod::Upi,
        reference: None,
    };

    let unknown = store
        .record_payment(
            &NewPayment {
                invoice_number: Some("NOPE-1".into()),
                buyer_id: Some(a.id),
                ..base.clone()
            },
            t(10),
        )
        .await
        .unwrap();
    assert!(unknown.payment.flag.is_some(), "unknown invoice is flagged");
    assert_eq!(unknown.invoice, None);
    assert_eq!(unknown.payment.invoice_id, None);
    assert_eq!(unknown.payment.buyer_id, Some(a.id));

    let dollars = store
        .record_payment(
            &NewPayment {
                invoice_id: Some(inv.id),
                amount: usd(1_000),
                ..base.clone()
            },
            t(20),
        )
        .await
        .unwrap();
    assert!(dollars.payment.flag.is_some(), "other currency is flagged");
    assert_eq!(dollars.payment.amount, usd(1_000));
    let still = store.get_invoice(inv.id).await.unwrap();
    assert_eq!(still.amount_paid, inr(0), "other currency does not count");
    assert_eq!(still.status, InvoiceStatus::Pending);

    let over = store
        .record_payment(
            &NewPayment {
                invoice_id: Some(inv.id),
                amount: inr(150_000),
                ..base.clone()
            },
            t(30),
        )
        .await
        .unwrap();
    assert!(over.payment.flag.is_some(), "overpayment is flagged");
    let paid = over.invoice.expect("invoice");
    assert_eq!(paid.status, InvoiceStatus::Paid);
    assert_eq!(paid.amount_paid, inr(150_000));

    let payments = store.list_payments(None).await.unwrap();
    assert_eq!(payments.len(), 3);
    assert!(payments.iter().all(|p| p.flag.is_some()));
    assert_eq!(store.list_payments(Some(inv.id)).await.unwrap().len(), 2);
}

/// With a horizon, only unsettled invoices due by then are loaded, plus their
/// buyers' recent history; the others are counted. Reminders come with their
/// message's status, and each loaded buyer's last message.
pub async fn snapshot_horizon_scope<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let c = add_buyer(&store, "Chopra Metals", 3).await;
    let d = add_buyer(&store, "Dutta & Co", 4).await;
    let inv = |n: &str, who: &Buyer, issued: Date, due: Date, status: InvoiceStatus| NewInvoice {
        invoice_date: issued,
        status,
        amount_paid: if status == InvoiceStatus::Paid {
            inr(1_000)
        } else {
            inr(0)
        },
        ..invoice(n, who.id, due, inr(1_000))
    };
    use InvoiceStatus as St;
    let rows = vec![
        inv(
            "A1",
            &a,
            date(2026, 10, 20),
            date(2026, 11, 20),
            St::Pending,
        ), // due
        inv("A2", &a, date(2026, 12, 1), date(2027, 1, 15), St::Pending), // history
        inv("A3", &a, date(2026, 6, 1), date(2026, 7, 1), St::Paid),      // history
        inv("A4", &a, date(2024, 1, 1), date(2024, 2, 1), St::Paid),      // too old
        inv(
            "A5",
            &a,
            date(2026, 10, 25),
            date(2026, 11, 25),
            St::Disputed,
        ), // due (skipped by the planner)
        inv("A6", &a, date(2025, 1, 1), date(2027, 6, 1), St::Pending),   // counted
        inv("B1", &b, date(2026, 12, 1), date(2027, 2, 1), St::Pending),  // counted
        inv(
            "C1",
            &c,
            date(2026, 11, 5),
            date(2026, 12, 5),
            St::PartiallyPaid,
        ), // due on the horizon
        inv(
            "D1",
            &d,
            date(2026, 10, 1),
            date(2026, 11, 1),
            St::Cancelled,
        ), // settled
    ];
    let invs = add_invoices(&store, &rows, t(0)).await;
    let by_number = |n: &str| invs.iter().find(|i| i.number == n).unwrap().clone();
    let (a1, c1) = (by_number("A1"), by_number("C1"));

    let ids = enqueue(
        &store,
        vec![
            message(&a, vec![item(&a1, 0)], t(100), "a1-0"),
            message(&c, vec![item(&c1, 2)], t(7_200), "c1-2"),
        ],
        t(10),
    )
    .await;
    let claimed = store
        .claim(t(100), 10, SignedDuration::from_secs(60), "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .complete(
            ids[0],
            claimed[0].lease,
            &AttemptOutcome::Sent {
                provider_id: Some("wamid.A1".into()),
            },
            t(130),
        )
        .await
        .unwrap();

    let scope = SnapshotScope {
        horizon: Some(date(2026, 12, 5)),
        history_since: date(2025, 12, 1),
        today: TodayRange::at(t(4 * 86_400)),
    };
    let snap = store.load_snapshot(&scope).await.unwrap();
    let numbers: BTreeSet<&str> = snap.invoices.iter().map(|i| i.number.as_str()).collect();
    assert_eq!(numbers, BTreeSet::from(["A1", "A5", "C1"]));
    assert_eq!(snap.not_loaded_not_yet_due, 3, "A2, A6 and B1 are counted");
    // A2 and A3 are summed as Acme's history; A4 and A6 are too old
    assert_eq!(by_number("A3").paid_at, None);
    assert_eq!(
        snap.history,
        History {
            today: scope.today,
            sums: vec![HistorySum {
                buyer_id: a.id,
                currency: Currency::INR,
                invoice_date: WindowClass::In,
                order_date: WindowClass::In,
                invoices: 2,
                amount_minor: 2_000,
                open_invoices: 1,
                outstanding_minor: 1_000,
            }],
            // A3 was imported already paid: with no payment time known, it
            // counts in the sums only
            payments: Vec::new(),
        }
    );
    let buyers: BTreeSet<BuyerId> = snap.buyers.iter().map(|b| b.id).collect();
    assert_eq!(buyers, BTreeSet::from([a.id, c.id]));
    assert_eq!(snap.invoices.iter().find(|i| i.number == "A1"), Some(&a1));
    assert_eq!(snap.buyers.iter().find(|x| x.id == c.id), Some(&c));

    let mut reminders: Vec<_> = snap
        .reminders
        .iter()
        .map(|r| (r.invoice_id, r.step, r.cycle, r.status, r.scheduled_at))
        .collect();
    reminders.sort_by_key(|r| (r.0, r.1, r.2));
    assert_eq!(
        reminders,
        vec![
            (a1.id, 0, 0, OutboxStatus::Sent, t(100)),
            (c1.id, 2, 0, OutboxStatus::Pending, t(7_200)),
        ]
    );
    let mut last: Vec<_> = snap.last_message.clone();
    last.sort();
    assert_eq!(last, vec![(a.id, t(130)), (c.id, t(7_200))]);

    let full = store.load_snapshot(&scope_all()).await.unwrap();
    let numbers: BTreeSet<&str> = full.invoices.iter().map(|i| i.number.as_str()).collect();
    assert_eq!(
        numbers,
        BTreeSet::from(["A1", "A2", "A3", "A4", "A5", "A6", "B1", "C1", "D1"]),
        "no horizon: every invoice, settled ones too, so the plan can say why each is skipped"
    );
    assert_eq!(full.not_loaded_not_yet_due, 0);
    let buyers: BTreeSet<BuyerId> = full.buyers.iter().map(|b| b.id).collect();
    assert_eq!(buyers, BTreeSet::from([a.id, b.id, c.id, d.id]));
}

/// The history a snapshot sums in SQL gives each loaded buyer the segment
/// figures their invoices give, in any zone, with invoice, order and
/// payment dates on the edges of the 12-month window, several currencies
/// (one without a rate), partial payments, disputes and cancellations.
pub async fn snapshot_history_sums_the_ledger<S: Store + 'static>(store: S) {
    use tagada_core::cadence::FxConfig;
    use tagada_core::segment::{BuyerStats, StatsBuilder};

    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let c = add_buyer(&store, "Chopra Metals", 3).await;
    // 2026-12-04 22:00 UTC: already the 5th east of UTC+2, the 4th in New York
    let now = t(3 * 86_400 + 22 * 3_600);
    let scope = SnapshotScope {
        horizon: Some(date(2026, 12, 8)),
        history_since: date(2025, 12, 3),
        today: TodayRange::at(now),
    };
    let kwd = |minor: i64| Money::from_minor(minor, Currency::KWD);
    let aed = |minor: i64| Money::from_minor(minor, Currency::AED);
    use InvoiceStatus as St;
    // number, buyer, invoiced, due, amount, status, and when a paid one
    // was paid
    let spec = [
        (
            "A-DUE",
            &a,
            "2026-10-20",
            "2026-11-20",
            inr(500_000),
            St::Pending,
            "2026-12-01T00:00:00Z",
        ),
        (
            "A-NEW",
            &a,
            "2026-12-04",
            "2027-01-03",
            inr(250_000),
            St::Pending,
            "2026-12-01T00:00:00Z",
        ),
        (
            "A-EDGE",
            &a,
            "2025-12-04",
            "2026-01-03",
            inr(90_000),
            St::Paid,
            "2026-01-10T23:30:00Z",
        ),
        (
            "A-SINCE",
            &a,
            "2025-12-03",
            "2026-01-02",
            inr(70_000),
            St::Paid,
            "2026-01-02T18:45:00Z",
        ),
        (
            "A-USD",
            &a,
            "2026-06-01",
            "2026-12-20",
            usd(120_000),
            St::PartiallyPaid,
            "2026-12-01T00:00:00Z",
        ),
        (
            "A-GONE",
            &a,
            "2026-10-01",
            "2026-10-31",
            inr(40_000),
            St::Cancelled,
            "2026-12-01T00:00:00Z",
        ),
        (
            "A-DISP",
            &a,
            "2026-11-30",
            "2027-02-01",
            inr(33_000),
            St::Disputed,
            "2026-12-01T00:00:00Z",
        ),
        (
            "A-LATE",
            &a,
            "2026-01-10",
            "2026-02-09",
            inr(61_000),
            St::Paid,
            "2026-12-04T21:00:00Z",
        ),
        (
            "A-OLD",
            &a,
            "2025-06-01",
            "2025-07-01",
            inr(10_000),
            St::Paid,
            "2025-12-20T10:00:00Z",
        ),
        (
            "A-EARLY",
            &a,
            "2025-12-10",
            "2026-01-09",
            inr(20_000),
            St::Paid,
            "2025-12-01T12:00:00Z",
        ),
        (
            "A-JUST",
            &a,
            "2025-12-05",
            "2025-12-06",
            inr(15_000),
            St::Paid,
            "2025-12-05T20:00:00Z",
        ),
        (
            "B-DUE",
            &b,
            "2026-11-01",
            "2026-12-01",
            inr(80_000),
            St::InProcess,
            "2026-12-01T00:00:00Z",
        ),
        (
            "B-KWD",
            &b,
            "2026-09-01",
            "2026-12-31",
            kwd(1_500),
            St::Pending,
            "2026-12-01T00:00:00Z",
        ),
        (
            "B-AED",
            &b,
            "2026-12-05",
            "2027-01-04",
            aed(77_777),
            St::Pending,
            "2026-12-01T00:00:00Z",
        ),
        (
            "B-PAID",
            &b,
            "2026-03-03",
            "2026-04-02",
            aed(10_001),
            St::Paid,
            "2026-04-30T20:10:00Z",
        ),
        (
            "C-ONLY",
            &c,
            "2026-11-01",
            "2027-01-01",
            inr(1_000),
            St::Pending,
            "2026-12-01T00:00:00Z",
        ),
    ];
    for (number, who, issued, due, amount, status, paid_at) in spec {
        let mut r = NewInvoice {
            invoice_date: issued.parse().unwrap(),
            ..invoice(number, who.id, due.parse().unwrap(), amount)
        };
        match number {
            "A-NEW" => r.order_date = Some(date(2025, 12, 4)),
            "A-LATE" => r.order_date = Some(date(2025, 12, 5)),
            "A-USD" => r.amount_paid = usd(36_000),
            _ => {}
        }
        if status != St::Paid {
            r.status = status;
        }
        let stored = add_invoices(&store, &[r], t(0)).await;
        if status == St::Paid {
            let at: Timestamp = paid_at.parse().unwrap();
            let paid = store
                .record_payment(
                    &NewPayment {
                        invoice_number: None,
                        invoice_id: Some(stored[0].id),
                        buyer_id: None,
                        amount,
                        received_at: at,
                        method: PaymentMethod::BankTransfer,
                        reference: Some(format!("UTR-{number}")),
                    },
                    at,
                )
                .await
                .unwrap();
            assert_eq!(paid.invoice.unwrap().paid_at, Some(at), "{number}");
        }
    }

    let snap = store.load_snapshot(&scope).await.unwrap();
    let due: BTreeSet<&str> = snap.invoices.iter().map(|i| i.number.as_str()).collect();
    assert_eq!(due, BTreeSet::from(["A-DUE", "B-DUE"]));
    assert_eq!(snap.history.today, scope.today);
    assert!(
        snap.history.sums.iter().all(|s| s.buyer_id != c.id),
        "only the loaded buyers' history"
    );
    let all = store
        .list_invoices(&InvoiceFilter::default())
        .await
        .unwrap();
    let reference = History::summing(
        all.iter().filter(|i| {
            i.buyer_id != c.id
                && !due.contains(i.number.as_str())
                && i.invoice_date >= scope.history_since
        }),
        scope.today,
    );
    assert_eq!(
        snap.history.sums.len(),
        reference.sums.len(),
        "one row per buyer, currency and window classes: {:#?}",
        snap.history.sums
    );

    let fx = FxConfig::default();
    let zones = [
        "Asia/Kolkata",
        "America/New_York",
        "Pacific/Kiritimati",
        "Etc/GMT+12",
    ];
    let mut figures = BTreeSet::new();
    for who in [&a, &b] {
        let counted: Vec<&Invoice> = all
            .iter()
            .filter(|i| {
                i.buyer_id == who.id
                    && (due.contains(i.number.as_str()) || i.invoice_date >= scope.history_since)
            })
            .collect();
        for zone in zones {
            let tz = jiff::tz::TimeZone::get(zone).unwrap();
            let today = tz.to_datetime(now).date();
            let expected = BuyerStats::compute(counted.iter().copied(), today, &tz, &fx);
            let mut got = StatsBuilder::new(today, &tz);
            for i in snap.invoices.iter().filter(|i| i.buyer_id == who.id) {
                got.invoice(i);
            }
            for s in snap.history.sums.iter().filter(|s| s.buyer_id == who.id) {
                got.sum(s, &snap.history.today).unwrap();
            }
            for p in snap
                .history
                .payments
                .iter()
                .filter(|p| p.buyer_id == who.id)
            {
                got.payment(p.due_date, p.paid_at);
            }
            let got = got.finish(&fx);
            assert_eq!(got, expected, "{} in {zone} on {today}", who.name);
            figures.insert(format!("{expected:?}"));
        }
    }
    // the zones see different figures: the edges are exercised
    assert!(figures.len() >= 4, "{figures:#?}");
}

/// Applying a plan writes reminders and messages once: the same plan again,
/// a known dedupe key, or a live reminder key enqueue nothing new; a
/// cancelled reminder does not block its key.
pub async fn apply_plan_is_idempotent<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let invs = add_invoices(
        &store,
        &[
            invoice("K-1", a.id, date(2026, 11, 1), inr(1_000)),
            invoice("K-2", a.id, date(2026, 11, 2), inr(2_000)),
        ],
        t(0),
    )
    .await;
    let (i1, i2) = (&invs[0], &invs[1]);
    let mut m1 = message(&a, vec![item(i1, 0)], t(600), "k1");
    m1.escalate = true;
    m1.sales_rep = Some("ravi".into());
    let m2 = message(&a, vec![item(i2, 0)], t(700), "k2");
    let p = plan(t(10), vec![m1.clone(), m2.clone()]);

    let first = store.apply_plan(&p, t(10)).await.unwrap();
    assert_eq!(
        (
            first.messages_enqueued,
            first.reminders_created,
            first.already_enqueued
        ),
        (2, 2, 0)
    );
    let msgs = store.list_messages(&OutboxFilter::default()).await.unwrap();
    assert_eq!(msgs.len(), 2);
    let stored = msgs.iter().find(|m| m.dedupe_key == "k1").unwrap();
    assert_eq!(stored.buyer_id, a.id);
    assert_eq!(stored.to, phone(1));
    assert_eq!(stored.status, OutboxStatus::Pending);
    assert_eq!(stored.delivery, None);
    assert_eq!(stored.send_at, t(600));
    assert_eq!(stored.not_before, t(600));
    assert_eq!(stored.attempts, 0);
    assert_eq!(stored.message, m1.message);
    assert_eq!(stored.invoice_ids, vec![i1.id]);
    assert!(stored.escalate);
    assert_eq!(stored.created_at, t(10));
    assert_eq!(stored.sent_at, None);
    assert_eq!(store.get_message(stored.id).await.unwrap(), *stored);

    let second = store.apply_plan(&p, t(20)).await.unwrap();
    assert_eq!(
        (
            second.messages_enqueued,
            second.reminders_created,
            second.already_enqueued
        ),
        (0, 0, 2)
    );

    // a known dedupe key with other content is not enqueued again
    let mut m3 = message(&a, vec![item(i2, 5)], t(900), "k1");
    m3.message = rendered("final");
    let third = store
        .apply_plan(&plan(t(30), vec![m3]), t(30))
        .await
        .unwrap();
    assert_eq!((third.messages_enqueued, third.already_enqueued), (0, 1));

    // a live reminder key under a new dedupe key: not duplicated
    let m4 = message(&a, vec![item(i1, 0)], t(900), "k4");
    let fourth = store
        .apply_plan(&plan(t(40), vec![m4]), t(40))
        .await
        .unwrap();
    assert_eq!(
        (
            fourth.messages_enqueued,
            fourth.reminders_created,
            fourth.already_enqueued
        ),
        (0, 0, 1)
    );
    assert_eq!(
        store
            .list_messages(&OutboxFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );

    // a message with one known and one new key goes out with the new reminder
    let m5 = message(&a, vec![item(i1, 0), item(i2, 1)], t(900), "k5");
    let fifth = store
        .apply_plan(&plan(t(50), vec![m5.clone(), m5]), t(50))
        .await
        .unwrap();
    assert_eq!(
        (
            fifth.messages_enqueued,
            fifth.reminders_created,
            fifth.already_enqueued
        ),
        (1, 1, 1)
    );
    assert_eq!(
        reminders_of(&store, i2.id)
            .await
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![(0, 0), (1, 0)]
    );

    // snoozing K-1 cancels k1 and k5 (which carries K-1) with their reminders;
    // the same keys can then be planned again
    store
        .apply_invoice_event(
            i1.id,
            &InvoiceEvent::Snoozed {
                until: date(2026, 12, 3),
            },
            None,
            t(60),
        )
        .await
        .unwrap();
    let k5 = store
        .list_messages(&OutboxFilter {
            invoice: Some(i2.id),
            statuses: vec![OutboxStatus::Cancelled],
            ..OutboxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(k5.len(), 1, "k5 carries K-1 and is cancelled");
    assert_eq!(k5[0].dedupe_key, "k5");
    assert_eq!(
        reminders_of(&store, i2.id).await,
        BTreeMap::from([
            ((0, 0), vec![OutboxStatus::Pending]),
            ((1, 0), vec![OutboxStatus::Cancelled]),
        ])
    );
    let m6 = message(&a, vec![item(i1, 0), item(i2, 1)], t(1_000), "k6");
    let sixth = store
        .apply_plan(&plan(t(70), vec![m6]), t(70))
        .await
        .unwrap();
    assert_eq!(
        (
            sixth.messages_enqueued,
            sixth.reminders_created,
            sixth.already_enqueued
        ),
        (1, 2, 0)
    );
    let mut r1 = reminders_of(&store, i1.id).await;
    for v in r1.values_mut() {
        v.sort_by_key(|s| s.as_str());
    }
    assert_eq!(
        r1,
        BTreeMap::from([((0, 0), vec![OutboxStatus::Cancelled, OutboxStatus::Pending])])
    );
    let counts: BTreeMap<&str, u64> = store
        .outbox_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    assert_eq!(counts.get("pending"), Some(&2));
    assert_eq!(counts.get("cancelled"), Some(&2));
}

/// Claims take due messages only, oldest first, up to the limit.
pub async fn claim_respects_due_time_limit_and_order<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("C-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(-10_000),
    )
    .await;
    let at = [-30, -10, -20, 60, 120];
    let msgs = at
        .iter()
        .enumerate()
        .map(|(k, s)| message(&a, vec![item(&inv, k as u32)], t(*s), &format!("c{k}")))
        .collect();
    let ids = enqueue(&store, msgs, t(-1_000)).await;
    let lease = SignedDuration::from_secs(300);

    let first = store.claim(t(0), 2, lease, "w1").await.unwrap();
    assert_eq!(
        first.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    let c = &first[0];
    assert_eq!(c.attempt, 1);
    assert_eq!(c.buyer, a);
    assert_eq!(c.invoices, vec![inv.clone()]);
    assert_eq!(c.to, phone(1));
    assert_eq!(c.message, rendered("overdue"));
    assert_eq!(c.send_at, t(-30));
    assert!(!c.escalate);
    assert_ne!(
        first[0].lease, first[1].lease,
        "each claim has its own lease"
    );
    assert_eq!(status_of(&store, ids[0]).await, OutboxStatus::InFlight);

    let second = store.claim(t(0), 10, lease, "w1").await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    assert!(store.claim(t(0), 10, lease, "w1").await.unwrap().is_empty());
    assert!(
        store
            .claim(t(59), 10, lease, "w1")
            .await
            .unwrap()
            .is_empty()
    );
    let later = store.claim(t(60), 10, lease, "w1").await.unwrap();
    assert_eq!(later.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[3]]);
    assert!(
        store
            .claim(t(119), 0, lease, "w1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status_of(&store, ids[4]).await, OutboxStatus::Pending);
}

/// An expired lease is reclaimed when the send never started, and moved to
/// `needs_review` (never resent) when it did.
pub async fn lease_expiry_reclaims_or_reviews<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("L-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(-100),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![
            message(&a, vec![item(&inv, 0)], t(0), "l0"),
            message(&a, vec![item(&inv, 1)], t(0), "l1"),
        ],
        t(-50),
    )
    .await;
    let lease = SignedDuration::from_secs(60);
    let claimed = store.claim(t(0), 10, lease, "w1").await.unwrap();
    assert_eq!(claimed.len(), 2);
    let (c0, c1) = (&claimed[0], &claimed[1]);
    assert_eq!((c0.id, c1.id), (ids[0], ids[1]));
    assert!(
        store
            .claim(t(30), 10, lease, "w2")
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    store.mark_sending(c1.id, c1.lease, t(1)).await.unwrap();
    assert!(lease_lost(
        store
            .mark_sending(c0.id, LeaseToken(c0.lease.0 ^ 1), t(1))
            .await
    ));

    let reclaimed = store.claim(t(61), 10, lease, "w2").await.unwrap();
    assert_eq!(
        reclaimed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c0.id]
    );
    assert_eq!(reclaimed[0].attempt, 1, "a lapsed claim is not an attempt");
    assert_ne!(reclaimed[0].lease, c0.lease);
    let reviewed = store.get_message(c1.id).await.unwrap();
    assert_eq!(reviewed.status, OutboxStatus::NeedsReview);
    assert_eq!(reviewed.attempts, 1);
    let attempts = store.list_attempts(c1.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].attempt, 1);
    assert_eq!(attempts[0].worker, "w1");
    assert!(matches!(
        attempts[0].outcome,
        AttemptOutcome::NeedsReview { .. }
    ));

    // the first worker's lease is gone
    let sent = AttemptOutcome::Sent { provider_id: None };
    assert!(lease_lost(
        store.complete(c0.id, c0.lease, &sent, t(62)).await
    ));
    assert!(lease_lost(store.mark_sending(c0.id, c0.lease, t(62)).await));
    assert!(lease_lost(
        store.complete(c1.id, c1.lease, &sent, t(62)).await
    ));
    store
        .complete(c0.id, reclaimed[0].lease, &sent, t(63))
        .await
        .unwrap();
    assert_eq!(status_of(&store, c0.id).await, OutboxStatus::Sent);
    assert!(
        store
            .claim(t(10_000), 10, lease, "w3")
            .await
            .unwrap()
            .is_empty()
    );
}

/// `complete` works only with the current lease; `Sent` records the
/// provider id and the time.
pub async fn complete_requires_current_lease<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("Q-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(-100),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(0), "q")],
        t(-50),
    )
    .await;
    let c = claim_all(&store, t(0)).await.remove(0);
    let sent = AttemptOutcome::Sent {
        provider_id: Some("wamid.HBgM".into()),
    };
    assert!(lease_lost(
        store
            .complete(c.id, LeaseToken(c.lease.0 ^ 1), &sent, t(5))
            .await
    ));
    assert_eq!(status_of(&store, c.id).await, OutboxStatus::InFlight);
    store.mark_sending(c.id, c.lease, t(4)).await.unwrap();
    store.complete(c.id, c.lease, &sent, t(5)).await.unwrap();
    let m = store.get_message(ids[0]).await.unwrap();
    assert_eq!(m.status, OutboxStatus::Sent);
    assert_eq!(m.sent_at, Some(t(5)));
    assert_eq!(m.provider_id.as_deref(), Some("wamid.HBgM"));
    assert_eq!(m.delivery, Some(DeliveryStatus::Accepted));
    assert_eq!(m.attempts, 1);
    assert!(lease_lost(store.complete(c.id, c.lease, &sent, t(6)).await));
    assert!(lease_lost(store.mark_sending(c.id, c.lease, t(6)).await));
    assert_eq!(store.list_attempts(c.id).await.unwrap().len(), 1);
    let missing = store
        .complete(OutboxId::new(987_654), c.lease, &sent, t(7))
        .await;
    assert!(
        matches!(
            missing,
            Err(StoreError::NotFound { .. } | StoreError::LeaseLost(_))
        ),
        "{missing:?}"
    );
}

/// Retry goes back to pending at `retry_at`; Dead, Cancelled and NeedsReview
/// are final; every attempt is recorded in order.
pub async fn complete_outcomes_and_attempts<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Bharat Steel", 2).await;
    let inv = add_invoice(
        &store,
        invoice("O-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(-100),
    )
    .await;
    let invb = add_invoice(
        &store,
        invoice("O-2", b.id, date(2026, 11, 1), inr(1_000)),
        t(-100),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![
            message(&a, vec![item(&inv, 0)], t(0), "o0"),
            message(&a, vec![item(&inv, 1)], t(1), "o1"),
            message(&b, vec![item(&invb, 0)], t(2), "o2"),
        ],
        t(-50),
    )
    .await;
    let lease = SignedDuration::from_secs(60);
    let claimed = store.claim(t(10), 10, lease, "w1").await.unwrap();
    assert_eq!(claimed.len(), 3);

    let retry = AttemptOutcome::Retry {
        error: "131056 pair rate limit".into(),
        retry_at: t(300),
    };
    store
        .complete(ids[0], claimed[0].lease, &retry, t(11))
        .await
        .unwrap();
    let m = store.get_message(ids[0]).await.unwrap();
    assert_eq!(m.status, OutboxStatus::Pending);
    assert_eq!(m.not_before, t(300));
    assert_eq!(m.send_at, t(0), "the planned time is kept");
    assert_eq!(m.attempts, 1);
    assert_eq!(m.last_error.as_deref(), Some("131056 pair rate limit"));

    let cancel = AttemptOutcome::Cancelled {
        reason: "invoice paid".into(),
    };
    store
        .complete(ids[1], claimed[1].lease, &cancel, t(12))
        .await
        .unwrap();
    assert_eq!(status_of(&store, ids[1]).await, OutboxStatus::Cancelled);
    assert_eq!(
        reminders_of(&store, inv.id).await.get(&(1, 0)),
        Some(&vec![OutboxStatus::Cancelled]),
        "a cancelled message cancels its reminders"
    );
    let review = AttemptOutcome::NeedsReview {
        error: "timeout after write".into(),
    };
    store
        .complete(ids[2], claimed[2].lease, &review, t(13))
        .await
        .unwrap();
    assert_eq!(status_of(&store, ids[2]).await, OutboxStatus::NeedsReview);

    assert!(
        store
            .claim(t(299), 10, lease, "w2")
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim(t(300), 10, lease, "w2").await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, ids[0]);
    assert_eq!(again[0].attempt, 2);
    let dead = AttemptOutcome::Dead {
        error: "131026 undeliverable".into(),
    };
    store
        .complete(ids[0], again[0].lease, &dead, t(301))
        .await
        .unwrap();
    let m = store.get_message(ids[0]).await.unwrap();
    assert_eq!(m.status, OutboxStatus::Dead);
    assert_eq!(m.attempts, 2);
    assert_eq!(m.last_error.as_deref(), Some("131026 undeliverable"));

    let attempts = store.list_attempts(ids[0]).await.unwrap();
    let summary: Vec<_> = attempts
        .iter()
        .map(|x| {
            (
                x.outbox_id,
                x.attempt,
                x.at,
                x.worker.as_str(),
                x.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (ids[0], 1, t(11), "w1", retry),
            (ids[0], 2, t(301), "w2", dead),
        ]
    );
    assert_eq!(
        store.list_attempts(ids[1]).await.unwrap()[0].outcome,
        cancel
    );

    let counts: BTreeMap<&str, u64> = store
        .outbox_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    assert_eq!(
        counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect::<Vec<_>>(),
        vec![("cancelled", 1), ("dead", 1), ("needs_review", 1)]
    );
    let ids_of = |v: Vec<crate::OutboxMessage>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let f = |statuses: Vec<OutboxStatus>, buyer: Option<BuyerId>, invoice: Option<InvoiceId>| {
        OutboxFilter {
            statuses,
            buyer,
            invoice,
            since: None,
            limit: None,
        }
    };
    assert_eq!(
        ids_of(
            store
                .list_messages(&f(vec![OutboxStatus::Dead], None, None))
                .await
                .unwrap()
        ),
        vec![ids[0]]
    );
    assert_eq!(
        ids_of(
            store
                .list_messages(&f(vec![], Some(b.id), None))
                .await
                .unwrap()
        ),
        vec![ids[2]]
    );
    assert_eq!(
        ids_of(
            store
                .list_messages(&f(vec![], None, Some(inv.id)))
                .await
                .unwrap()
        ),
        vec![ids[0], ids[1]]
    );
    let since = OutboxFilter {
        since: Some(t(-49)),
        ..OutboxFilter::default()
    };
    assert!(store.list_messages(&since).await.unwrap().is_empty());
    let limited = OutboxFilter {
        limit: Some(2),
        ..OutboxFilter::default()
    };
    assert_eq!(
        ids_of(store.list_messages(&limited).await.unwrap()),
        vec![ids[0], ids[1]]
    );
}

/// Many workers claiming at once never get the same message, and every
/// message is claimed (and completed) exactly once.
pub async fn concurrent_claims_exactly_once<S: Store + 'static>(store: S) {
    const MESSAGES: usize = 120;
    const WORKERS: usize = 8;
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("Z-1", a.id, date(2026, 11, 1), inr(1_000)),
        t(-100),
    )
    .await;
    let msgs = (0..MESSAGES)
        .map(|k| {
            message(
                &a,
                vec![item(&inv, k as u32)],
                t(-(k as i64)),
                &format!("z{k}"),
            )
        })
        .collect();
    let ids = enqueue(&store, msgs, t(-1_000)).await;
    let store = Arc::new(store);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim(t(0), 3, SignedDuration::from_secs(600), &worker)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    break;
                }
                for c in batch {
                    store
                        .mark_sending(c.id, c.lease, t(1))
                        .await
                        .expect("mark sending");
                    store
                        .complete(
                            c.id,
                            c.lease,
                            &AttemptOutcome::Sent { provider_id: None },
                            t(2),
                        )
                        .await
                        .expect("complete");
                    mine.push(c.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        });
    }
    let mut seen = Vec::new();
    while let Some(r) = tasks.join_next().await {
        seen.extend(r.expect("worker task"));
    }
    let unique: BTreeSet<OutboxId> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a message was claimed twice");
    assert_eq!(
        unique,
        ids.iter().copied().collect::<BTreeSet<_>>(),
        "every message claimed"
    );
    for id in ids {
        let attempts = store.list_attempts(id).await.unwrap();
        assert_eq!(attempts.len(), 1, "{id} attempted once");
        assert_eq!(
            store.get_message(id).await.unwrap().status,
            OutboxStatus::Sent
        );
    }
}

/// An invoice's timeline lists import, reminders, attempts, payments and
/// notes in time order; a buyer's adds their notes without an invoice.
pub async fn timeline_in_time_order<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let inv = add_invoice(
        &store,
        invoice("T-1", a.id, date(2026, 11, 1), inr(10_000)),
        t(0),
    )
    .await;
    let other = add_invoice(
        &store,
        invoice("T-2", a.id, date(2026, 11, 2), inr(5_000)),
        t(1),
    )
    .await;
    let ids = enqueue(
        &store,
        vec![message(&a, vec![item(&inv, 0)], t(100), "t0")],
        t(50),
    )
    .await;
    let c = store
        .claim(t(100), 1, SignedDuration::from_secs(60), "w1")
        .await
        .unwrap()
        .remove(0);
    let retry = AttemptOutcome::Retry {
        error: "throttled".into(),
        retry_at: t(400),
    };
    store
        .complete(ids[0], c.lease, &retry, t(110))
        .await
        .unwrap();
    store
        .add_note(&NewNote {
            buyer_id: a.id,
            invoice_id: Some(inv.id),
            at: t(200),
            kind: NoteKind::Promise,
            author: Some("ravi".into()),
            text: "will pay Friday".into(),
        })
        .await
        .unwrap();
    store
        .record_payment(
            &NewPayment {
                invoice_number: None,
                invoice_id: Some(inv.id),
                buyer_id: None,
                amount: inr(10_000),
                received_at: t(300),
                method: PaymentMethod::Upi,
                reference: Some("UPI-9".into()),
            },
            t(305),
        )
        .await
        .unwrap();
    let buyer_note = store
        .add_note(&NewNote {
            buyer_id: a.id,
            invoice_id: None,
            at: t(150),
            kind: NoteKind::Call,
            author: None,
            text: "called accounts".into(),
        })
        .await
        .unwrap();
    assert_eq!(buyer_note.kind, NoteKind::Call);
    assert_eq!(buyer_note.invoice_id, None);

    let tl = store
        .timeline(TimelineSubject::Invoice(inv.id))
        .await
        .unwrap();
    assert!(
        tl.windows(2).all(|w| w[0].at <= w[1].at),
        "time order: {tl:?}"
    );
    assert!(tl.iter().all(|e| e.invoice_id == Some(inv.id)), "{tl:?}");
    let kinds: Vec<&str> = tl.iter().map(|e| e.kind.as_str()).collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("timeline has no `{k}`: {kinds:?}"))
    };
    assert!(pos("imported") < pos("reminder_planned"));
    assert!(pos("reminder_planned") < pos("attempt"));
    assert!(pos("attempt") < pos("note"));
    assert!(pos("note") < pos("payment"));
    assert_eq!(tl[pos("imported")].at, t(0));
    assert_eq!(tl[pos("attempt")].at, t(110));
    assert_eq!(tl[pos("note")].at, t(200));
    assert_eq!(tl[pos("payment")].at, t(300));
    assert!(tl.iter().all(|e| !e.text.is_empty()));

    let btl = store.timeline(TimelineSubject::Buyer(a.id)).await.unwrap();
    assert!(
        btl.windows(2).all(|w| w[0].at <= w[1].at),
        "time order: {btl:?}"
    );
    assert!(
        btl.iter()
            .any(|e| e.text.contains("called accounts") && e.invoice_id.is_none())
    );
    assert!(
        btl.iter()
            .any(|e| e.kind == "imported" && e.invoice_id == Some(other.id))
    );
    assert!(btl.len() > tl.len());
}

/// Outstanding, overdue and collected amounts are summed per currency.
pub async fn collection_summary_per_currency<S: Store + 'static>(store: S) {
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let today = date(2026, 12, 1);
    let mut part = invoice("S-2", a.id, date(2026, 12, 20), inr(50_000));
    part.status = InvoiceStatus::PartiallyPaid;
    part.amount_paid = inr(20_000);
    let mut paid = invoice("S-3", a.id, date(2026, 10, 1), inr(30_000));
    paid.status = InvoiceStatus::Paid;
    paid.amount_paid = inr(30_000);
    let mut cancelled = invoice("S-5", a.id, date(2026, 10, 1), inr(999));
    cancelled.status = InvoiceStatus::Cancelled;
    let invs = add_invoices(
        &store,
        &[
            invoice("S-1", a.id, date(2026, 11, 15), inr(100_000)),
            part,
            paid,
            invoice("S-4", a.id, date(2026, 11, 30), usd(1_000)),
            cancelled,
        ],
        t(0),
    )
    .await;
    enqueue(
        &store,
        vec![message(&a, vec![item(&invs[0], 0)], t(10), "s")],
        t(1),
    )
    .await;

    let s = store.collection_summary(today).await.unwrap();
    let got: Vec<(&str, CurrencyTotals)> = s
        .by_currency
        .iter()
        .map(|(c, x)| (c.code(), x.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "INR",
                CurrencyTotals {
                    invoices_open: 2,
                    outstanding: 130_000,
                    overdue: 100_000,
                    collected: 50_000,
                    invoices_paid: 1,
                }
            ),
            (
                "USD",
                CurrencyTotals {
                    invoices_open: 1,
                    outstanding: 1_000,
                    overdue: 1_000,
                    collected: 0,
                    invoices_paid: 0,
                }
            ),
        ]
    );
    assert_eq!((s.messages_sent, s.messages_pending), (0, 1));
}

/// The metrics' narrow read of the invoices says what the full one says:
/// ids, buyers, numbers, amounts in their currencies, dates, statuses and
/// when each was paid, in id order.
pub async fn report_invoices_match_the_ledger<S: Store + 'static>(store: S) {
    assert!(store.report_invoices().await.unwrap().is_empty());
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let b = add_buyer(&store, "Globex Exports", 2).await;
    let open = add_invoice(
        &store,
        invoice("N-1", a.id, date(2026, 11, 1), inr(100_000)),
        t(0),
    )
    .await;
    let foreign = add_invoice(
        &store,
        invoice("N-2", b.id, date(2026, 12, 15), usd(2_500_00)),
        t(0),
    )
    .await;
    let paid = add_invoice(
        &store,
        invoice("N-3", b.id, date(2026, 10, 1), inr(5_000)),
        t(0),
    )
    .await;
    store
        .record_payment(
            &NewPayment {
                invoice_number: None,
                invoice_id: Some(paid.id),
                buyer_id: None,
                amount: inr(5_000),
                received_at: t(50),
                method: PaymentMethod::Upi,
                reference: Some("UTR-N3".into()),
            },
            t(60),
        )
        .await
        .unwrap();
    store
        .apply_invoice_event(foreign.id, &InvoiceEvent::Disputed, None, t(70))
        .await
        .unwrap();
    let narrow = store.report_invoices().await.unwrap();
    let full = store.list_invoices(&Default::default()).await.unwrap();
    assert_eq!(narrow.len(), 3);
    let mut ids: Vec<InvoiceId> = narrow.iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(
        ids,
        narrow.iter().map(|r| r.id).collect::<Vec<_>>(),
        "by id"
    );
    for r in &narrow {
        let f = full.iter().find(|f| f.id == r.id).unwrap();
        assert_eq!(
            (
                r.buyer_id,
                &r.number,
                r.amount,
                r.invoice_date,
                r.due_date,
                r.status,
                r.paid_at
            ),
            (
                f.buyer_id,
                &f.number,
                f.amount,
                f.invoice_date,
                f.due_date,
                f.status,
                f.paid_at
            ),
            "{}",
            f.number
        );
    }
    let of = |id: InvoiceId| narrow.iter().find(|r| r.id == id).unwrap();
    assert_eq!(of(open.id).status, InvoiceStatus::Pending);
    assert_eq!(of(foreign.id).amount, usd(2_500_00));
    assert_eq!(of(foreign.id).status, InvoiceStatus::Disputed);
    assert_eq!(of(paid.id).status, InvoiceStatus::Paid);
    assert!(of(paid.id).paid_at.is_some());
}

/// The metrics' narrow read of the outbox says what the full one says:
/// buyer, status, delivery, template, times and the invoices carried.
pub async fn report_messages_match_the_outbox<S: Store + 'static>(store: S) {
    assert!(store.report_messages().await.unwrap().is_empty());
    let a = add_buyer(&store, "Acme Traders", 1).await;
    let one = add_invoice(
        &store,
        invoice("M-1", a.id, date(2026, 11, 1), inr(10_000)),
        t(0),
    )
    .await;
    let two = add_invoice(
        &store,
        invoice("M-2", a.id, date(2026, 11, 5), inr(20_000)),
        t(0),
    )
    .await;
    enqueue(
        &store,
        vec![
            message(&a, vec![item(&one, 0), item(&two, 0)], t(10), "m0"),
            message(&a, vec![item(&two, 1)], t(90_000), "m1"),
        ],
        t(0),
    )
    .await;
    let claimed = store
        .claim(t(20), 10, SignedDuration::from_secs(60), "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .complete(
            claimed[0].id,
            claimed[0].lease,
            &AttemptOutcome::Sent {
                provider_id: Some("wamid.m0".into()),
            },
            t(21),
        )
        .await
        .unwrap();
    let narrow = store.report_messages().await.unwrap();
    let full = store.list_messages(&OutboxFilter::default()).await.unwrap();
    assert_eq!(narrow.len(), 2);
    assert!(narrow.windows(2).all(|w| w[0].id < w[1].id), "by id");
    for r in &narrow {
        let f = full.iter().find(|f| f.id == r.id).unwrap();
        let mut carried = f.invoice_ids.clone();
        carried.sort();
        assert_eq!(
            (
                r.buyer_id,
                r.status,
                r.delivery,
                &r.template_key,
                r.send_at,
                r.sent_at,
                &r.invoice_ids
            ),
            (
                f.buyer_id,
                f.status,
                f.delivery,
                &f.message.template_key,
                f.send_at,
                f.sent_at,
                &carried
            ),
            "outbox {}",
            f.id
        );
    }
    assert_eq!(narrow[0].invoice_ids.len(), 2, "the consolidated message");
    assert_eq!(narrow[0].status, OutboxStatus::Sent);
    assert_eq!(narrow[1].status, OutboxStatus::Pending);
}
