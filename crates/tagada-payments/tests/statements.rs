//! Bank statements end to end: each sample file in
//! `tests/fixtures/statements/` is read, then matched against one small
//! ledger, and every credit's outcome is checked by line.
//!
//! The CSV samples are *modelled on* the net-banking exports of HDFC
//! (`hdfc.csv`), SBI (`sbi.csv`, tab separated as SBI's download is) and
//! ICICI (`icici.csv`) as publicly described; they were written for these
//! tests and could not be checked against real exports. `generic.csv` is a
//! made-up layout read through configured columns. All names, accounts and
//! references are invented.

use std::collections::HashSet;

use jiff::civil::date;
use proptest::prelude::*;
use tagada_core::ledger::{Buyer, Invoice, InvoiceStatus};
use tagada_core::{BuyerId, Currency, InvoiceId, Money};
use tagada_payments::statement::{
    CreditMatch, CsvColumns, MatchOutcome, Statement, StatementError, StatementFormat,
    StatementOptions, match_credits, read_statement,
};

const HDFC: &[u8] = include_bytes!("fixtures/statements/hdfc.csv");
const SBI: &[u8] = include_bytes!("fixtures/statements/sbi.csv");
const ICICI: &[u8] = include_bytes!("fixtures/statements/icici.csv");
const GENERIC: &[u8] = include_bytes!("fixtures/statements/generic.csv");
const CAMT: &[u8] = include_bytes!("fixtures/statements/camt053.xml");
const MT940: &[u8] = include_bytes!("fixtures/statements/mt940.sta");

fn inr(rupees: i64) -> Money {
    Money::from_minor(rupees * 100, Currency::INR)
}

fn buyer(id: i64, name: &str, company: Option<&str>) -> Buyer {
    let mut b = Buyer::new(BuyerId::new(id), name);
    b.company = company.map(str::to_string);
    b
}

fn invoice(id: i64, number: &str, buyer: i64, amount: Money) -> Invoice {
    Invoice {
        id: InvoiceId::new(id),
        number: number.to_string(),
        buyer_id: BuyerId::new(buyer),
        order_date: None,
        invoice_date: date(2026, 11, 1),
        due_date: date(2026, 12, 1),
        credit_days: Some(30),
        amount,
        amount_paid: Money::zero(amount.currency()),
        status: InvoiceStatus::Pending,
        snoozed_until: None,
        paused: false,
        cadence_override: None,
        paid_at: None,
        reminder_cycle: 0,
        pay_token: None,
    }
}

/// The seller's buyers and open invoices the statements are matched
/// against. `INV-0043` and `INV-12` are deliberately not open.
fn ledger() -> (Vec<Invoice>, Vec<Buyer>) {
    let buyers = vec![
        buyer(1, "Ravi Kumar", Some("Acme Traders Pvt Ltd")),
        buyer(2, "Kaveri Exports LLP", None),
        buyer(3, "Shree Ganesh & Co", None),
        buyer(4, "Raj Electricals", None),
        buyer(5, "Globex Inc", None),
        buyer(6, "Meena Iyer", Some("Nilgiri Foods Private Limited")),
    ];
    let mut part_paid = invoice(12, "INV-0100", 2, inr(19_999));
    part_paid.amount_paid = inr(10_000);
    part_paid.status = InvoiceStatus::PartiallyPaid;
    let mut paid = invoice(13, "INV-0044", 1, inr(2_000));
    paid.amount_paid = inr(2_000);
    paid.status = InvoiceStatus::Paid;
    let invoices = vec![
        invoice(1, "INV-0042", 1, inr(11_800)),
        invoice(3, "INV-1", 2, inr(5_000)),
        invoice(5, "INV-0050", 3, inr(25_000)),
        invoice(6, "INV-0051", 3, inr(25_000)),
        invoice(7, "INV-0060", 4, inr(1_00_000)),
        invoice(8, "INV-0070", 5, Money::from_minor(1_250_00, Currency::USD)),
        invoice(9, "INV-0080", 6, inr(47_200)),
        invoice(10, "INV-0090", 1, inr(3_000)),
        invoice(11, "INV-0091", 1, inr(4_500)),
        part_paid,
        paid,
        invoice(14, "GST/26-27/0007", 4, inr(18_000)),
    ];
    (invoices, buyers)
}

fn recorded() -> HashSet<String> {
    HashSet::from(["hdfcn52026120400001".to_string()])
}

/// A match in one short line: `ref INV-0042`, `refs INV-0090+INV-0091`,
/// `buyer INV-0080`, `suggest INV-1`, `unmatched`, `duplicate`.
fn short(m: &CreditMatch) -> (usize, String) {
    let text = match &m.outcome {
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
            "suggest {}",
            candidates
                .iter()
                .map(|c| c.number.as_str())
                .collect::<Vec<_>>()
                .join("+")
        ),
        MatchOutcome::Unmatched => "unmatched".to_string(),
        MatchOutcome::Duplicate { .. } => "duplicate".to_string(),
    };
    (m.line, text)
}

fn read(name: &str, bytes: &[u8]) -> Statement {
    read_statement(name, bytes, &StatementOptions::default()).unwrap()
}

fn matched(statement: &Statement) -> Vec<CreditMatch> {
    let (invoices, buyers) = ledger();
    match_credits(&statement.credits, &invoices, &buyers, &recorded())
}

fn shorts(matches: &[CreditMatch]) -> Vec<(usize, String)> {
    matches.iter().map(short).collect()
}

fn expect(list: &[(usize, &str)]) -> Vec<(usize, String)> {
    list.iter().map(|(l, s)| (*l, (*s).to_string())).collect()
}

fn rejects(statement: &Statement) -> Vec<(usize, &str)> {
    statement
        .rejects
        .iter()
        .map(|r| (r.line, r.field.as_str()))
        .collect()
}

fn why(matches: &[CreditMatch], line: usize) -> String {
    let m = matches.iter().find(|m| m.line == line).unwrap();
    match &m.outcome {
        MatchOutcome::Suggestion { candidates } => candidates
            .iter()
            .map(|c| format!("{}: {}", c.number, c.why))
            .collect::<Vec<_>>()
            .join(" | "),
        MatchOutcome::Duplicate { reason } => reason.clone(),
        other => panic!("line {line} is {other:?}"),
    }
}

#[test]
fn hdfc_export() {
    let s = read("hdfc.csv", HDFC);
    assert_eq!(s.format, StatementFormat::Csv);
    assert_eq!(s.account.as_deref(), Some("50100123456789"));
    assert_eq!(s.debits_skipped, 2);
    assert_eq!(rejects(&s), vec![(19, "Date"), (22, "Deposit Amt.")]);
    assert_eq!(
        s.rejects[0].reason,
        "`32/12/26` is not a date (expected a form like 05/12/26, 05-12-2026, 05 Dec 2026 or 2026-12-05)"
    );
    assert!(s.rejects[1].raw.contains("KAVERI EXPORTS-INV-0100"));

    let first = &s.credits[0];
    assert_eq!(first.line, 12);
    assert_eq!(first.booked_on, date(2026, 12, 1));
    assert_eq!(first.value_date, Some(date(2026, 12, 1)));
    assert_eq!(first.amount, inr(11_800));
    assert_eq!(
        first.narration,
        "NEFT CR-HDFC0000123-ACME TRADERS PVT LTD-INV-0042"
    );
    assert_eq!(first.bank_reference.as_deref(), Some("HDFCN52026120112345"));
    assert_eq!(first.counterparty, None);

    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[
            (12, "ref INV-0042"),
            (13, "ref INV-1"),
            (14, "suggest INV-1"),
            (15, "buyer INV-0080"),
            (17, "duplicate"),
            (18, "suggest INV-0060"),
            (20, "suggest INV-0100"),
            (21, "refs INV-0090+INV-0091"),
            (23, "duplicate"),
        ])
    );
    assert_eq!(
        why(&matches, 14),
        "INV-1: `INV-12` in the narration is one character off INV-1 (outstanding ₹0.00)"
    );
    assert_eq!(
        why(&matches, 17),
        "bank reference HDFCN52026120112345 is also on line 12"
    );
    assert_eq!(
        why(&matches, 18),
        "INV-0060: ₹99,500.00 is within 1% of the ₹1,00,000.00 outstanding on INV-0060 (Raj Electricals): short by ₹500.00"
    );
    assert_eq!(
        why(&matches, 20),
        "INV-0100: ₹9,999.00 is the outstanding of INV-0100 (Kaveri Exports LLP), but the remitter is not a known buyer"
    );
    assert_eq!(
        why(&matches, 23),
        "bank reference HDFCN52026120400001 is already recorded"
    );
    let MatchOutcome::BuyerAmount { buyer, invoice, .. } = &matches[3].outcome else {
        panic!("{:?}", matches[3]);
    };
    assert_eq!((*buyer, *invoice), (BuyerId::new(6), InvoiceId::new(9)));
}

#[test]
fn sbi_export() {
    let s = read("sbi.csv", SBI);
    assert_eq!(s.format, StatementFormat::Csv);
    assert_eq!(s.account.as_deref(), Some("00000031234567890"));
    assert_eq!(s.debits_skipped, 1);
    assert_eq!(rejects(&s), vec![(20, "Txn Date")]);
    assert_eq!(s.credits[0].booked_on, date(2026, 12, 1));
    assert_eq!(
        s.credits.iter().find(|c| c.line == 19).unwrap().amount,
        inr(1_04_000)
    );

    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[
            (13, "suggest INV-0042"),
            (14, "suggest INV-0050+INV-0051"),
            (15, "ref INV-0050"),
            (17, "buyer INV-0051"),
            (18, "suggest INV-0042"),
            (19, "suggest INV-0070"),
            (21, "ref GST/26-27/0007"),
        ])
    );
    assert_eq!(
        why(&matches, 13),
        "INV-0042: `INV 42` in the narration is INV-0042 but for leading zeros (outstanding ₹11,800.00, the amount paid); ₹11,800.00 is the outstanding of INV-0042 (Ravi Kumar), but the remitter is not a known buyer"
    );
    assert_eq!(
        why(&matches, 14),
        "INV-0050: Shree Ganesh & Co has 2 open invoices of exactly ₹25,000.00 | INV-0051: Shree Ganesh & Co has 2 open invoices of exactly ₹25,000.00"
    );
    assert!(
        why(&matches, 18)
            .starts_with("INV-0042: `INV-0043` in the narration is one character off INV-0042"),
        "{}",
        why(&matches, 18)
    );
    assert_eq!(
        why(&matches, 19),
        "INV-0070: the narration names INV-0070, but the credit is in INR and the invoice in USD"
    );
}

#[test]
fn icici_export() {
    let s = read("icici.csv", ICICI);
    assert_eq!(s.account, None);
    assert_eq!(s.debits_skipped, 1);
    assert_eq!(rejects(&s), vec![(11, "Deposit Amount (INR )")]);
    let c = s.credits.iter().find(|c| c.line == 10).unwrap();
    assert_eq!(c.booked_on, date(2026, 12, 5));
    assert_eq!(c.bank_reference, None);

    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[
            (5, "ref INV-0042"),
            (6, "duplicate"),
            (7, "ref INV-0042"),
            (9, "suggest INV-0042"),
            (10, "ref INV-0080"),
        ])
    );
    assert_eq!(
        why(&matches, 6),
        "same date, amount and narration as line 5, and no bank reference"
    );
    assert_eq!(
        why(&matches, 9),
        "INV-0042: `INV-042` in the narration is one character off INV-0042 (outstanding ₹0.00); `INV-042` in the narration is INV-0042 but for leading zeros (outstanding ₹0.00)"
    );
}

fn generic_columns() -> CsvColumns {
    CsvColumns {
        date: Some("Booking".into()),
        narration: Some("Details".into()),
        reference: Some("Bank Ref".into()),
        counterparty: Some("Payer".into()),
        amount: Some("Amt".into()),
        cr_dr: Some("D/C".into()),
        currency: Some("Ccy".into()),
        date_formats: vec!["%d.%m.%Y".into()],
        ..CsvColumns::default()
    }
}

#[test]
fn configured_columns() {
    let opts = StatementOptions {
        columns: generic_columns(),
        ..StatementOptions::default()
    };
    let s = read_statement("generic.csv", GENERIC, &opts).unwrap();
    assert_eq!(s.debits_skipped, 1);
    assert_eq!(rejects(&s), vec![(8, "Amt"), (9, "Booking")]);
    assert_eq!(
        s.rejects[1].reason,
        "`2026-12-10` is not a date in the configured forms (%d.%m.%Y)"
    );
    let amounts: Vec<(usize, Money)> = s.credits.iter().map(|c| (c.line, c.amount)).collect();
    assert_eq!(
        amounts,
        vec![
            (4, Money::from_minor(1_237_50, Currency::USD)),
            (5, Money::from_minor(1_250_00, Currency::USD)),
            (6, inr(47_200)),
        ]
    );
    assert_eq!(s.credits[0].counterparty.as_deref(), Some("GLOBEX INC"));

    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[
            (4, "suggest INV-0070"),
            (5, "ref INV-0070"),
            (6, "buyer INV-0080"),
        ])
    );
    assert_eq!(
        why(&matches, 4),
        "INV-0070: $1,237.50 is within 1% of the $1,250.00 outstanding on INV-0070 (Globex Inc): short by $12.50"
    );

    // Without the configuration the layout is not recognised.
    let err = read_statement("generic.csv", GENERIC, &StatementOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            StatementError::MissingColumn {
                line: 3,
                missing: "date",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("generic.csv: "), "{err}");
}

#[test]
fn camt053_statement() {
    let s = read("camt053.xml", CAMT);
    assert_eq!(s.format, StatementFormat::Camt053);
    assert_eq!(s.account.as_deref(), Some("50100123456789"));
    assert_eq!(s.debits_skipped, 1);
    assert_eq!(s.pending_skipped, 1);
    assert_eq!(rejects(&s), vec![(6, "Ntry/Amt")]);
    assert_eq!(
        s.rejects[0].reason,
        "`12.345` has more decimals than INR allows (2)"
    );
    assert!(s.rejects[0].raw.contains("BADAMOUNT0001"));

    let split: Vec<(usize, Money, Option<&str>, Option<&str>)> = s
        .credits
        .iter()
        .filter(|c| c.line == 4)
        .map(|c| {
            (
                c.line,
                c.amount,
                c.bank_reference.as_deref(),
                c.counterparty.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        split,
        vec![
            (
                4,
                inr(25_000),
                Some("HDFCB52026120400077"),
                Some("Shree Ganesh & Co")
            ),
            (
                4,
                inr(5_500),
                Some("HDFCB52026120400077/2"),
                Some("Shree Ganesh & Co")
            ),
        ]
    );
    let split_day = s.credits.iter().find(|c| c.line == 4).unwrap();
    assert_eq!(split_day.booked_on, date(2026, 12, 4));
    let usd = s.credits.iter().find(|c| c.line == 7).unwrap();
    assert_eq!(usd.amount, Money::from_minor(1_250_00, Currency::USD));
    assert_eq!(usd.value_date, Some(date(2026, 12, 8)));
    assert_eq!(usd.narration, "INVOICE INV-0070 GLOBEX-PO-778");

    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[
            (1, "ref INV-0042"),
            (4, "ref INV-0050"),
            (4, "unmatched"),
            (5, "duplicate"),
            (7, "ref INV-0070"),
            (8, "suggest INV-0042"),
            (9, "duplicate"),
        ])
    );
    assert_eq!(
        why(&matches, 8),
        "INV-0042: the narration names INV-0042, but the credit is in USD and the invoice in INR"
    );
    assert_eq!(
        why(&matches, 9),
        "bank reference FT2634212345 is also on line 7"
    );
}

#[test]
fn mt940_statement() {
    let s = read("mt940.sta", MT940);
    assert_eq!(s.format, StatementFormat::Mt940);
    assert_eq!(s.account.as_deref(), Some("50100123456789"));
    // A debit and a reversal of a credit.
    assert_eq!(s.debits_skipped, 2);
    assert_eq!(rejects(&s), vec![(20, ":61:")]);
    assert!(s.rejects[0].raw.starts_with(":61:2612071207C1O,00"));

    let first = &s.credits[0];
    assert_eq!(first.booked_on, date(2026, 12, 1));
    assert_eq!(first.amount, inr(11_800));
    assert_eq!(
        first.narration,
        "NEFT-HDFCN52026120112345-ACME TRADERS PVT LTD- INV-0042 NEFT CREDIT"
    );
    assert_eq!(first.bank_reference.as_deref(), Some("HDFCN52026120112345"));
    // The reversal of a debit is money in.
    let reversal = s.credits.iter().find(|c| c.line == 12).unwrap();
    assert_eq!(reversal.amount, inr(1_500));

    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[
            (6, "ref INV-0042"),
            (12, "unmatched"),
            (14, "suggest INV-0100"),
            (16, "ref INV-1"),
            (18, "duplicate"),
            (24, "ref GST/26-27/0007"),
        ])
    );
}

#[test]
fn one_ledger_across_formats_agrees() {
    // The same NEFT credit read from three formats matches the same way.
    for (name, bytes) in [
        ("hdfc.csv", HDFC),
        ("camt053.xml", CAMT),
        ("mt940.sta", MT940),
    ] {
        let s = read(name, bytes);
        let m = matched(&s);
        assert_eq!(
            m[0].outcome,
            MatchOutcome::Reference {
                invoice: InvoiceId::new(1),
                number: "INV-0042".into()
            },
            "{name}"
        );
    }
}

#[test]
fn a_different_number_stops_an_amount_match() {
    let s = read_statement(
        "raj.csv",
        b"Date,Narration,Credit\n\
          01/12/26,RTGS-RAJ ELECTRICALS-GST/26-27/0008,\"18,000.00\"\n\
          02/12/26,RTGS-RAJ ELECTRICALS-DECEMBER,\"18,000.00\"\n",
        &StatementOptions::default(),
    )
    .unwrap();
    let matches = matched(&s);
    assert_eq!(
        shorts(&matches),
        expect(&[(2, "suggest GST/26-27/0007"), (3, "buyer GST/26-27/0007")])
    );
    assert_eq!(
        why(&matches, 2),
        "GST/26-27/0007: `GST/26-27/0008` in the narration is one character off GST/26-27/0007 (outstanding ₹18,000.00, the amount paid); the only open invoice of Raj Electricals for exactly ₹18,000.00, but the narration names another number"
    );
}

#[test]
fn paid_invoices_are_not_matched() {
    let s = read_statement(
        "paid.csv",
        b"Date,Narration,Credit\n01/12/26,NEFT-ACME-INV-0044,2000.00\n",
        &StatementOptions::default(),
    )
    .unwrap();
    let matches = matched(&s);
    // INV-0044 is paid; INV-0042 is one character off and named instead.
    assert_eq!(shorts(&matches), expect(&[(2, "suggest INV-0042")]));
}

#[test]
fn whole_file_failures_name_the_file() {
    let forced = StatementOptions {
        format: Some(StatementFormat::Mt940),
        ..StatementOptions::default()
    };
    let err = read_statement("hdfc.csv", HDFC, &forced).unwrap_err();
    assert!(
        matches!(err, StatementError::NotAStatement { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("hdfc.csv: not a MT940 statement")
    );

    let broken = String::from_utf8(CAMT.to_vec())
        .unwrap()
        .replace("</Acct>", "");
    let err = read_statement(
        "broken.xml",
        broken.as_bytes(),
        &StatementOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, StatementError::Xml { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("broken.xml: broken XML at byte ")
    );

    let err = read_statement("empty.csv", b"  \r\n", &StatementOptions::default()).unwrap_err();
    assert_eq!(
        err,
        StatementError::Empty {
            file: "empty.csv".into()
        }
    );
}

/// A fixture with a few bytes changed, inserted or cut.
fn mangled(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8);
    (edits, any::<prop::sample::Index>(), any::<bool>()).prop_map(move |(edits, cut, truncate)| {
        let mut bytes = base.to_vec();
        for (at, byte, kind) in edits {
            let i = at.index(bytes.len() + 1);
            match kind {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Damaged files give rejects or an error, never a panic, whichever
    /// reader is forced on them; and whatever is read can be matched.
    #[test]
    fn damaged_files_never_panic(
        bytes in prop_oneof![
            mangled(HDFC),
            mangled(SBI),
            mangled(ICICI),
            mangled(CAMT),
            mangled(MT940),
        ],
    ) {
        for format in [None, Some(StatementFormat::Csv), Some(StatementFormat::Camt053), Some(StatementFormat::Mt940)] {
            let opts = StatementOptions { format, ..StatementOptions::default() };
            if let Ok(s) = read_statement("x", &bytes, &opts) {
                prop_assert!(s.credits.iter().all(|c| c.amount.is_positive()));
                let m = matched(&s);
                prop_assert_eq!(m.len(), s.credits.len());
            }
        }
    }

    /// MT940 lines built from the pieces a `:61:` and `:86:` are made of,
    /// with non-ASCII letters among them.
    #[test]
    fn mt940_fragments_never_panic(
        lines in prop::collection::vec(
            (
                prop::sample::select(vec![":20:", ":25:", ":60F:", ":61:", ":86:", ":86:166?", ":61:2612051205C1,00NTRF", ":62F:", "", "{4:", "-}"]),
                "[0-9CDRNTFS,/?é€ ]{0,40}",
            ),
            0..12,
        ),
    ) {
        let mut text = String::from(":20:X\r\n:60F:C261204INR0,\r\n");
        for (tag, body) in &lines {
            text.push_str(&format!("{tag}{body}\r\n"));
        }
        let opts = StatementOptions { format: Some(StatementFormat::Mt940), ..StatementOptions::default() };
        let _ = read_statement("x.sta", text.as_bytes(), &opts);
    }
}
