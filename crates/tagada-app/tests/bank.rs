//! A bank statement into a real ledger: the sample HDFC-style export (sure
//! matches by invoice number and by buyer and amount, near misses, a
//! duplicate UTR, a UTR recorded before, unreadable rows) is matched and the
//! sure matches recorded; importing it again records nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::date;
use tagada_app::bank::import_statement;
use tagada_app::clock::SimClock;
use tagada_app::payments::{Gateways, PayContext, PaymentsConfig};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::{CountryCode, Currency, Money};
use tagada_payments::statement::{MatchOutcome, StatementOptions};
use tagada_store::{ImportStore, LedgerStore, Migrate, NewBuyer, NewInvoice, NewPayment};
use tagada_store_sqlite::SqliteStore;

const HDFC: &[u8] = include_bytes!("../../tagada-payments/tests/fixtures/statements/hdfc.csv");

fn t0() -> Timestamp {
    "2026-12-12T05:00:00Z".parse().unwrap()
}

fn inr(rupees: i64) -> Money {
    Money::from_minor(rupees * 100, Currency::INR)
}

/// The ledger the sample statement was written against.
async fn ledger() -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    let buyers = [
        ("Ravi Kumar", Some("Acme Traders Pvt Ltd")),
        ("Kaveri Exports LLP", None),
        ("Shree Ganesh & Co", None),
        ("Raj Electricals", None),
        ("Meena Iyer", Some("Nilgiri Foods Private Limited")),
    ];
    let mut ids = Vec::new();
    for (i, (name, company)) in buyers.iter().enumerate() {
        let (id, _) = s
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("b{i}")),
                name: name.to_string(),
                company: company.map(str::to_string),
                country: Some(CountryCode::india()),
                ..Default::default()
            })
            .await
            .unwrap();
        ids.push(id);
    }
    let rows: Vec<NewInvoice> = [
        ("INV-0042", 0, 11_800, 0),
        ("INV-1", 1, 5_000, 0),
        ("INV-0050", 2, 25_000, 0),
        ("INV-0060", 3, 1_00_000, 0),
        ("INV-0080", 4, 47_200, 0),
        ("INV-0090", 0, 3_000, 0),
        ("INV-0091", 0, 4_500, 0),
        ("INV-0100", 1, 19_999, 10_000),
    ]
    .iter()
    .map(|(number, buyer, amount, paid)| NewInvoice {
        number: number.to_string(),
        buyer_id: ids[*buyer],
        order_date: None,
        invoice_date: date(2026, 11, 1),
        due_date: date(2026, 12, 1),
        credit_days: Some(30),
        amount: inr(*amount),
        amount_paid: inr(*paid),
        status: if *paid > 0 {
            InvoiceStatus::PartiallyPaid
        } else {
            InvoiceStatus::Pending
        },
        source: "test".into(),
        source_hash: number.to_string(),
        notes: None,
    })
    .collect();
    s.upsert_invoices(&rows, t0()).await.unwrap();
    // a transfer recorded by hand before the statement came
    s.record_payment(
        &NewPayment {
            invoice_number: None,
            invoice_id: None,
            buyer_id: Some(ids[0]),
            amount: inr(3_000),
            received_at: t0(),
            method: PaymentMethod::BankTransfer,
            reference: Some("HDFCN52026120400001".into()),
        },
        t0(),
    )
    .await
    .unwrap();
    s
}

fn short(o: &MatchOutcome) -> String {
    match o {
        MatchOutcome::Reference { number, .. } => format!("ref {number}"),
        MatchOutcome::References { invoices } => format!(
            "refs {}",
            invoices
                .iter()
                .map(|i| i.number.as_str())
                .collect::<Vec<_>>()
                .join("+")
        ),
        MatchOutcome::BuyerAmount { number, .. } => format!("buyer {number}"),
        MatchOutcome::Suggestion { candidates } => format!(
            "check {}",
            candidates
                .iter()
                .map(|c| c.number.as_str())
                .collect::<Vec<_>>()
                .join("+")
        ),
        MatchOutcome::Unmatched => "unmatched".into(),
        MatchOutcome::Duplicate { .. } => "duplicate".into(),
    }
}

#[tokio::test]
async fn a_statement_pays_what_it_names_and_lists_the_rest() {
    let store = ledger().await;
    let planner = PlannerConfig::default();
    let cfg = PaymentsConfig {
        thank_you: false,
        ..Default::default()
    };
    let gateways = Gateways::default();
    let clock = SimClock::new(t0());
    let ctx = PayContext {
        store: &store,
        gateways: &gateways,
        cfg: &cfg,
        planner: &planner,
        clock: &clock,
        home_country: &CountryCode::india(),
    };
    let opts = StatementOptions::default();

    // a dry run records nothing
    let dry = import_statement(&ctx, "hdfc.csv", HDFC, &opts, true)
        .await
        .unwrap();
    assert!(dry.credits.iter().all(|c| c.recorded.is_empty()));
    assert_eq!(store.list_payments(None).await.unwrap().len(), 1);

    let report = import_statement(&ctx, "hdfc.csv", HDFC, &opts, false)
        .await
        .unwrap();
    let outcomes: BTreeMap<usize, String> = report
        .credits
        .iter()
        .map(|c| (c.line, short(&c.outcome)))
        .collect();
    let expected: BTreeMap<usize, String> = [
        (12, "ref INV-0042"),
        (13, "ref INV-1"),
        (14, "check INV-1"),
        (15, "buyer INV-0080"),
        (17, "duplicate"),
        (18, "check INV-0060"),
        (20, "check INV-0100"),
        (21, "refs INV-0090+INV-0091"),
        (23, "duplicate"),
    ]
    .into_iter()
    .map(|(l, s)| (l, s.to_string()))
    .collect();
    assert_eq!(outcomes, expected);
    assert_eq!(dry.credits.len(), report.credits.len());
    // unreadable rows are named by line and field, and the rest went through
    let rejects: Vec<(usize, &str)> = report
        .rejects
        .iter()
        .map(|r| (r.line, r.field.as_str()))
        .collect();
    assert_eq!(rejects, vec![(19, "Date"), (22, "Deposit Amt.")]);
    assert_eq!(report.debits_skipped, 2);
    assert_eq!(report.tally(), (4, 3, 0, 2));

    // what was recorded, and only that
    let status = |n: &'static str| {
        let store = &store;
        async move { store.find_invoice(n).await.unwrap().unwrap() }
    };
    for n in ["INV-0042", "INV-1", "INV-0080", "INV-0090", "INV-0091"] {
        let inv = status(n).await;
        assert_eq!(inv.status, InvoiceStatus::Paid, "{n}");
        assert_eq!(inv.amount_paid, inv.amount, "{n}");
    }
    for n in ["INV-0050", "INV-0060"] {
        assert_eq!(status(n).await.status, InvoiceStatus::Pending, "{n}");
    }
    assert_eq!(status("INV-0100").await.amount_paid, inr(10_000));
    let refs: Vec<String> = store
        .list_payments(None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.reference)
        .collect();
    assert_eq!(
        refs,
        vec![
            "HDFCN52026120400001",
            "HDFCN52026120112345",
            "0000634512345678",
            "SBINN52026120455555",
            "HDFCN52026120899999 for INV-0090",
            "HDFCN52026120899999 for INV-0091",
        ]
    );
    // the money arrived on the statement's value date
    let first = &store.list_payments(None).await.unwrap()[1];
    assert_eq!(
        first.received_at,
        "2026-12-01T06:30:00Z".parse::<Timestamp>().unwrap()
    );

    // the same file again: every credit is a duplicate or stays a suggestion
    let again = import_statement(&ctx, "hdfc.csv", HDFC, &opts, false)
        .await
        .unwrap();
    assert!(
        again
            .credits
            .iter()
            .all(|c| c.recorded.iter().all(|p| p.duplicate)),
        "{again:?}"
    );
    assert_eq!(store.list_payments(None).await.unwrap().len(), 6);
}
