//! The metrics over a small fixed ledger, every figure worked out by hand in
//! the comment above its assertion, then properties over random ledgers.

use std::collections::BTreeMap;

use jiff::civil::{Date, date};
use proptest::prelude::*;

use super::*;
use crate::cadence::{FxConfig, FxRate};
use crate::ledger::InvoiceStatus as S;

// --- the fixture --------------------------------------------------------------

/// Home INR; 1 USD = 83.25 INR; no other rate.
fn fx() -> FxConfig {
    FxConfig {
        home_currency: Currency::INR,
        rates: BTreeMap::from([("USD".to_string(), FxRate::parse("83.25").unwrap())]),
    }
}

fn d(y: i16, m: i8, day: i8) -> Date {
    date(y, m, day)
}

/// Rupees (whole).
fn inr(rupees: i64) -> Money {
    Money::from_minor(rupees * 100, Currency::INR)
}

/// Paise.
fn paise(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

/// Cents.
fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

#[allow(clippy::too_many_arguments)]
fn invoice(
    id: i64,
    buyer: i64,
    amount: Money,
    invoice_date: Date,
    due_date: Date,
    status: InvoiceStatus,
    payments: Vec<(Date, Money)>,
    paid_on: Option<Date>,
    first_reminder_on: Option<Date>,
    rep: Option<&str>,
) -> InvoiceFacts {
    let inr = amount.currency() == Currency::INR;
    InvoiceFacts {
        id: InvoiceId::new(id),
        buyer_id: BuyerId::new(buyer),
        number: format!("INV-{id:03}"),
        amount,
        invoice_date,
        due_date,
        status,
        payments,
        paid_on,
        first_reminder_on,
        country: Some(if inr { "IN" } else { "US" }.to_string()),
        sales_rep: rep.map(str::to_string),
        segment: Some(if inr { "domestic" } else { "export" }.to_string()),
    }
}

/// Twelve invoices, Oct 2025 to Mar 2026, in INR and USD.
///
/// | id | cur | amount   | dated      | due        | status    | payments               | paid in full | 1st reminder | rep  |
/// |----|-----|----------|------------|------------|-----------|------------------------|--------------|--------------|------|
/// | 1  | INR | 10,000   | 2026-01-05 | 2026-02-04 | paid      | 02-10 10,000           | 02-10        | 02-05        | Asha |
/// | 2  | INR | 20,000   | 2026-01-10 | 2026-02-09 | paid      | 02-20 5,000; 03-12 15,000 | 03-12     | 02-10        | Asha |
/// | 3  | INR | 30,000   | 2026-01-20 | 2026-02-19 | part paid | 03-05 10,000           |              | 02-20        | Ravi |
/// | 4  | INR | 40,000   | 2025-12-01 | 2025-12-31 | disputed  |                        |              |              | Ravi |
/// | 5  | INR | 50,000   | 2026-03-10 | 2026-04-09 | pending   |                        |              |              | Asha |
/// | 6  | INR | 15,000   | 2026-02-02 | 2026-03-04 | paid      | 03-01 15,000           | 03-01        |              | Asha |
/// | 7  | INR | 25,000   | 2026-02-15 | 2026-03-17 | pending   |                        |              | 03-09        | Ravi |
/// | 8  | INR | 8,000    | 2025-10-20 | 2025-11-19 | pending   |                        |              |              | Ravi |
/// | 9  | USD | 1,000.00 | 2026-01-15 | 2026-02-14 | paid      | 03-20 1,000.00         | 03-20        | 02-17        |      |
/// | 10 | USD | 2,500.00 | 2026-02-20 | 2026-03-22 | part paid | 03-25 500.00           |              | 03-23        |      |
/// | 11 | USD | 1,200.10 | 2026-03-05 | 2026-04-04 | pending   |                        |              |              |      |
/// | 12 | INR | 12,000   | 2026-02-05 | 2026-03-07 | cancelled |                        |              |              | Asha |
fn ledger() -> Vec<InvoiceFacts> {
    let asha = Some("Asha");
    let ravi = Some("Ravi");
    vec![
        invoice(
            1,
            1,
            inr(10_000),
            d(2026, 1, 5),
            d(2026, 2, 4),
            S::Paid,
            vec![(d(2026, 2, 10), inr(10_000))],
            Some(d(2026, 2, 10)),
            Some(d(2026, 2, 5)),
            asha,
        ),
        invoice(
            2,
            2,
            inr(20_000),
            d(2026, 1, 10),
            d(2026, 2, 9),
            S::Paid,
            vec![(d(2026, 2, 20), inr(5_000)), (d(2026, 3, 12), inr(15_000))],
            Some(d(2026, 3, 12)),
            Some(d(2026, 2, 10)),
            asha,
        ),
        invoice(
            3,
            3,
            inr(30_000),
            d(2026, 1, 20),
            d(2026, 2, 19),
            S::PartiallyPaid,
            vec![(d(2026, 3, 5), inr(10_000))],
            None,
            Some(d(2026, 2, 20)),
            ravi,
        ),
        invoice(
            4,
            4,
            inr(40_000),
            d(2025, 12, 1),
            d(2025, 12, 31),
            S::Disputed,
            vec![],
            None,
            None,
            ravi,
        ),
        invoice(
            5,
            1,
            inr(50_000),
            d(2026, 3, 10),
            d(2026, 4, 9),
            S::Pending,
            vec![],
            None,
            None,
            asha,
        ),
        invoice(
            6,
            2,
            inr(15_000),
            d(2026, 2, 2),
            d(2026, 3, 4),
            S::Paid,
            vec![(d(2026, 3, 1), inr(15_000))],
            Some(d(2026, 3, 1)),
            None,
            asha,
        ),
        invoice(
            7,
            3,
            inr(25_000),
            d(2026, 2, 15),
            d(2026, 3, 17),
            S::Pending,
            vec![],
            None,
            Some(d(2026, 3, 9)),
            ravi,
        ),
        invoice(
            8,
            4,
            inr(8_000),
            d(2025, 10, 20),
            d(2025, 11, 19),
            S::Pending,
            vec![],
            None,
            None,
            ravi,
        ),
        invoice(
            9,
            5,
            usd(1_000_00),
            d(2026, 1, 15),
            d(2026, 2, 14),
            S::Paid,
            vec![(d(2026, 3, 20), usd(1_000_00))],
            Some(d(2026, 3, 20)),
            Some(d(2026, 2, 17)),
            None,
        ),
        invoice(
            10,
            5,
            usd(2_500_00),
            d(2026, 2, 20),
            d(2026, 3, 22),
            S::PartiallyPaid,
            vec![(d(2026, 3, 25), usd(500_00))],
            None,
            Some(d(2026, 3, 23)),
            None,
        ),
        invoice(
            11,
            6,
            usd(1_200_10),
            d(2026, 3, 5),
            d(2026, 4, 4),
            S::Pending,
            vec![],
            None,
            None,
            None,
        ),
        invoice(
            12,
            1,
            inr(12_000),
            d(2026, 2, 5),
            d(2026, 3, 7),
            S::Cancelled,
            vec![],
            None,
            None,
            asha,
        ),
    ]
}

struct Msg {
    id: i64,
    invoices: &'static [i64],
    template: &'static str,
    step: Option<&'static str>,
    rep: Option<&'static str>,
    planned: Date,
    sent: Option<Date>,
    delivered: bool,
    read: Option<bool>,
    replied: bool,
}

impl Msg {
    fn facts(self) -> MessageFacts {
        MessageFacts {
            id: self.id,
            invoice_ids: self.invoices.iter().map(|i| InvoiceId::new(*i)).collect(),
            template: self.template.to_string(),
            step: self.step.map(str::to_string),
            segment: None,
            sales_rep: self.rep.map(str::to_string),
            country: None,
            planned_on: self.planned,
            sent_on: self.sent,
            delivered: self.delivered,
            read: self.read,
            replied: self.replied,
        }
    }
}

/// Sixteen messages, Feb and Mar 2026.
///
/// | id | invoices | template       | step       | rep  | planned | sent  | delivered | read    | replied |
/// |----|----------|----------------|------------|------|---------|-------|-----------|---------|---------|
/// | 1  | 1        | overdue_gentle | overdue+1  | Asha | 02-05   | 02-05 | yes       | yes     |         |
/// | 2  | 2        | overdue_gentle | overdue+1  | Asha | 02-10   | 02-10 | yes       | yes     | yes     |
/// | 3  | 9        | overdue_gentle | overdue+1  |      | 02-15   | 02-17 | yes       | unknown |         |
/// | 4  | 3        | overdue_gentle | overdue+1  | Ravi | 02-20   | 02-20 | yes       | no      |         |
/// | 5  | 2        | overdue_firm   | overdue+30 | Asha | 03-11   | 03-11 | yes       | yes     | yes     |
/// | 6  | 9        | overdue_firm   | overdue+15 |      | 03-02   | 03-02 | yes       | unknown |         |
/// | 7  | 3        | overdue_firm   | overdue+15 | Ravi | 03-06   | 03-06 | yes       | yes     | yes     |
/// | 8  | 7        | overdue_gentle | overdue+1  | Ravi | 03-18   | 03-18 | yes       | no      |         |
/// | 9  | 7        | overdue_firm   | overdue+7  | Ravi | 03-24   | 03-24 |           | unknown |         |
/// | 10 | 10       | overdue_gentle | overdue+1  |      | 03-23   | 03-23 | yes       | yes     |         |
/// | 11 | 4        | overdue_firm   | overdue+60 | Ravi | 03-01   |       |           | unknown |         |
/// | 12 | 3, 7     | statement      | overdue+15 | Ravi | 03-09   | 03-09 | yes       | unknown | yes     |
/// | 13 | 6        | due_soon       | due-3      | Asha | 03-01   |       |           | unknown |         |
/// | 14 | 6        | thank_you      | (receipt)  | Asha | 03-01   | 03-01 | yes       | yes     |         |
/// | 15 | 9        | thank_you      | (receipt)  |      | 03-20   | 03-20 | yes       | unknown |         |
/// | 16 | 2        | overdue_firm   | overdue+21 | Asha | 03-02   | 03-02 | yes       | no      |         |
fn messages() -> Vec<MessageFacts> {
    let (asha, ravi) = (Some("Asha"), Some("Ravi"));
    let (gentle, firm) = ("overdue_gentle", "overdue_firm");
    let m = |id, invoices, template, step, rep, planned, sent, delivered, read, replied| Msg {
        id,
        invoices,
        template,
        step,
        rep,
        planned,
        sent,
        delivered,
        read,
        replied,
    };
    let on = |month, day| d(2026, month, day);
    let sent = |month, day| Some(d(2026, month, day));
    [
        m(
            1,
            &[1][..],
            gentle,
            Some("overdue+1"),
            asha,
            on(2, 5),
            sent(2, 5),
            true,
            Some(true),
            false,
        ),
        m(
            2,
            &[2],
            gentle,
            Some("overdue+1"),
            asha,
            on(2, 10),
            sent(2, 10),
            true,
            Some(true),
            true,
        ),
        m(
            3,
            &[9],
            gentle,
            Some("overdue+1"),
            None,
            on(2, 15),
            sent(2, 17),
            true,
            None,
            false,
        ),
        m(
            4,
            &[3],
            gentle,
            Some("overdue+1"),
            ravi,
            on(2, 20),
            sent(2, 20),
            true,
            Some(false),
            false,
        ),
        m(
            5,
            &[2],
            firm,
            Some("overdue+30"),
            asha,
            on(3, 11),
            sent(3, 11),
            true,
            Some(true),
            true,
        ),
        m(
            6,
            &[9],
            firm,
            Some("overdue+15"),
            None,
            on(3, 2),
            sent(3, 2),
            true,
            None,
            false,
        ),
        m(
            7,
            &[3],
            firm,
            Some("overdue+15"),
            ravi,
            on(3, 6),
            sent(3, 6),
            true,
            Some(true),
            true,
        ),
        m(
            8,
            &[7],
            gentle,
            Some("overdue+1"),
            ravi,
            on(3, 18),
            sent(3, 18),
            true,
            Some(false),
            false,
        ),
        m(
            9,
            &[7],
            firm,
            Some("overdue+7"),
            ravi,
            on(3, 24),
            sent(3, 24),
            false,
            None,
            false,
        ),
        m(
            10,
            &[10],
            gentle,
            Some("overdue+1"),
            None,
            on(3, 23),
            sent(3, 23),
            true,
            Some(true),
            false,
        ),
        m(
            11,
            &[4],
            firm,
            Some("overdue+60"),
            ravi,
            on(3, 1),
            None,
            false,
            None,
            false,
        ),
        m(
            12,
            &[3, 7],
            "statement",
            Some("overdue+15"),
            ravi,
            on(3, 9),
            sent(3, 9),
            true,
            None,
            true,
        ),
        m(
            13,
            &[6],
            "due_soon",
            Some("due-3"),
            asha,
            on(3, 1),
            None,
            false,
            None,
            false,
        ),
        m(
            14,
            &[6],
            "thank_you",
            None,
            asha,
            on(3, 1),
            sent(3, 1),
            true,
            Some(true),
            false,
        ),
        m(
            15,
            &[9],
            "thank_you",
            None,
            None,
            on(3, 20),
            sent(3, 20),
            true,
            None,
            false,
        ),
        m(
            16,
            &[2],
            firm,
            Some("overdue+21"),
            asha,
            on(3, 2),
            sent(3, 2),
            true,
            Some(false),
            false,
        ),
    ]
    .into_iter()
    .map(Msg::facts)
    .collect()
}

fn reminders() -> Vec<MessageFacts> {
    messages().into_iter().filter(|m| m.is_reminder()).collect()
}

fn march() -> Period {
    Period::new(d(2026, 3, 1), d(2026, 3, 31)).unwrap()
}

fn buckets(
    currency: Currency,
    not_due: i64,
    d1_30: i64,
    d31_60: i64,
    d61_90: i64,
    over_90: i64,
) -> AgeingBuckets {
    let m = |minor| Money::from_minor(minor, currency);
    AgeingBuckets {
        currency,
        not_due: m(not_due),
        days_1_30: m(d1_30),
        days_31_60: m(d31_60),
        days_61_90: m(d61_90),
        over_90: m(over_90),
        total: m(not_due + d1_30 + d31_60 + d61_90 + over_90),
    }
}

fn bp(v: i64) -> Option<BasisPoints> {
    Some(BasisPoints(v))
}

fn tenths(v: i64) -> Option<DayTenths> {
    Some(DayTenths(v))
}

// --- outstanding and ageing ---------------------------------------------------

#[test]
fn outstanding_at_the_end_of_march() {
    let out = outstanding(&ledger(), d(2026, 3, 31), &fx()).unwrap();
    // INR: #1 and #2 and #6 paid; #3 30,000 − 10,000 = 20,000; #4 40,000;
    // #5 50,000; #7 25,000; #8 8,000; #12 cancelled, not counted.
    // 20,000 + 40,000 + 50,000 + 25,000 + 8,000 = 1,43,000.
    // USD: #9 paid; #10 2,500 − 500 = 2,000.00; #11 1,200.10 → 3,200.10.
    assert_eq!(out.total.by_currency, vec![inr(143_000), usd(3_200_10)]);
    // 3,200.10 USD × 83.25 = 320,010 ¢ × 83.25 = 2,66,40,832.5 paise → half
    // away from zero → 2,66,40,833; + 1,43,00,000 paise = 4,09,40,833 paise.
    assert_eq!(out.total.home, paise(40_940_833));
    assert!(out.total.not_converted.is_empty());
    // Disputed: #4, 40,000 INR.
    assert_eq!(out.disputed.by_currency, vec![inr(40_000)]);
    assert_eq!(out.disputed.home, inr(40_000));
    // #3, #4, #5, #7, #8, #10, #11.
    assert_eq!(out.open_invoices, 7);
}

#[test]
fn ageing_at_the_end_of_march() {
    let ageing = ageing(&ledger(), d(2026, 3, 31), &fx()).unwrap();
    // Days past due on 2026-03-31:
    //   #3 due 02-19: 9 (to 02-28) + 31 = 40 → 31-60, 20,000
    //   #4 due 2025-12-31: 31 + 28 + 31 = 90 → 61-90, 40,000
    //   #5 due 04-09: −9 → not due, 50,000
    //   #7 due 03-17: 14 → 1-30, 25,000
    //   #8 due 2025-11-19: 11 + 31 + 31 + 28 + 31 = 132 → 90+, 8,000
    // INR: not due 50,000 | 1-30 25,000 | 31-60 20,000 | 61-90 40,000 | 90+ 8,000.
    //   #10 due 03-22: 9 → 1-30, 2,000.00 USD
    //   #11 due 04-04: −4 → not due, 1,200.10 USD
    // USD: not due 1,200.10 | 1-30 2,000.00.
    assert_eq!(
        ageing.by_currency,
        vec![
            buckets(
                Currency::INR,
                50_000_00,
                25_000_00,
                20_000_00,
                40_000_00,
                8_000_00
            ),
            buckets(Currency::USD, 1_200_10, 2_000_00, 0, 0, 0),
        ]
    );
    // Home, bucket by bucket:
    //   not due: 50,000 + 1,200.10 × 83.25 (= 99,908.325 → 99,908.33)
    //            = 1,49,908.33
    //   1-30:    25,000 + 2,000 × 83.25 (= 1,66,500) = 1,91,500
    //   31-60 20,000, 61-90 40,000, 90+ 8,000 (INR only).
    // Total 1,49,908.33 + 1,91,500 + 20,000 + 40,000 + 8,000 = 4,09,408.33,
    // the outstanding home total (only one bucket rounds).
    assert_eq!(
        ageing.home,
        buckets(
            Currency::INR,
            14_990_833,
            19_150_000,
            2_000_000,
            4_000_000,
            800_000
        )
    );
    assert_eq!(ageing.home.total, paise(40_940_833));
    assert!(ageing.not_converted.is_empty());
}

#[test]
fn ageing_at_a_past_date_uses_the_ledger_of_then() {
    let ageing = ageing(&ledger(), d(2026, 2, 28), &fx()).unwrap();
    // On 2026-02-28: #5 and #11 do not exist yet; #12 is cancelled.
    //   #1 paid in full 02-10 → nothing.
    //   #2 20,000 − 5,000 (02-20) = 15,000; due 02-09: 19 days → 1-30.
    //   #3 30,000 (its payment is 03-05, later); due 02-19: 9 → 1-30.
    //   #4 40,000; due 2025-12-31: 31 + 28 = 59 → 31-60.
    //   #6 15,000 (paid 03-01, later); due 03-04 → not due.
    //   #7 25,000; due 03-17 → not due.
    //   #8 8,000; due 2025-11-19: 11 + 31 + 31 + 28 = 101 → 90+.
    // INR: not due 15,000 + 25,000 = 40,000 | 1-30 15,000 + 30,000 = 45,000
    //      | 31-60 40,000 | 61-90 0 | 90+ 8,000. Total 1,33,000.
    //   #9 1,000.00 (paid 03-20, later); due 02-14: 14 → 1-30.
    //   #10 2,500.00 (paid in part 03-25, later); due 03-22 → not due.
    // USD: not due 2,500.00 | 1-30 1,000.00. Total 3,500.00.
    assert_eq!(
        ageing.by_currency,
        vec![
            buckets(Currency::INR, 40_000_00, 45_000_00, 40_000_00, 0, 8_000_00),
            buckets(Currency::USD, 2_500_00, 1_000_00, 0, 0, 0),
        ]
    );
    // Home: not due 40,000 + 2,500 × 83.25 (2,08,125) = 2,48,125;
    // 1-30 45,000 + 1,000 × 83.25 (83,250) = 1,28,250; 31-60 40,000; 90+ 8,000.
    // Total 4,24,375.
    assert_eq!(
        ageing.home,
        buckets(Currency::INR, 24_812_500, 12_825_000, 4_000_000, 0, 800_000)
    );
    let out = outstanding(&ledger(), d(2026, 2, 28), &fx()).unwrap();
    // 1,33,000 + 3,500 × 83.25 (2,91,375) = 4,24,375.
    assert_eq!(out.total.home, inr(424_375));
}

#[test]
fn a_currency_without_a_rate_is_reported_not_converted() {
    let mut invoices = ledger();
    invoices.push(invoice(
        13,
        7,
        Money::from_minor(900_00, Currency::EUR),
        d(2026, 3, 2),
        d(2026, 4, 1),
        S::Pending,
        vec![],
        None,
        None,
        None,
    ));
    let out = outstanding(&invoices, d(2026, 3, 31), &fx()).unwrap();
    // EUR sorts between INR and USD; its 900.00 is not in the home total.
    assert_eq!(
        out.total.by_currency,
        vec![
            Money::from_minor(900_00, Currency::EUR),
            inr(143_000),
            usd(3_200_10)
        ]
    );
    assert_eq!(out.total.home, paise(40_940_833));
    assert_eq!(
        out.total.not_converted,
        vec![Money::from_minor(900_00, Currency::EUR)]
    );
    let ageing = ageing(&invoices, d(2026, 3, 31), &fx()).unwrap();
    assert_eq!(ageing.not_converted, vec![Currency::EUR]);
    assert_eq!(ageing.by_currency[0].not_due.minor(), 900_00);
    assert_eq!(ageing.home.total, paise(40_940_833));
    let report = CollectionReport::build(&invoices, &messages(), march(), &fx()).unwrap();
    assert_eq!(report.not_converted, vec![Currency::EUR]);
    // Converting with the EUR rate too: 900 × 90.10 = 81,090 more.
    let mut with_eur = fx();
    with_eur
        .rates
        .insert("EUR".into(), FxRate::parse("90.10").unwrap());
    let out = outstanding(&invoices, d(2026, 3, 31), &with_eur).unwrap();
    assert_eq!(out.total.home, paise(40_940_833 + 8_109_000));
}

#[test]
fn a_payment_in_another_currency_is_refused() {
    let mut invoices = ledger();
    invoices[0].payments.push((d(2026, 2, 11), usd(1)));
    assert_eq!(
        outstanding(&invoices, d(2026, 3, 31), &fx()),
        Err(MetricsError::CurrencyMismatch {
            invoice: InvoiceId::new(1),
            invoice_currency: Currency::INR,
            payment_currency: Currency::USD,
        })
    );
}

#[test]
fn a_payment_counts_from_its_own_day() {
    let invoices = ledger();
    // #3: 30,000, 10,000 paid on 03-05 → 30,000 owed at the end of 03-04,
    // 20,000 at the end of 03-05.
    assert_eq!(invoices[2].owed_on(d(2026, 3, 4)), Some(30_000_00));
    assert_eq!(invoices[2].owed_on(d(2026, 3, 5)), Some(20_000_00));
    // #5 exists from its invoice date (03-10) on.
    assert_eq!(invoices[4].owed_on(d(2026, 3, 9)), None);
    assert_eq!(invoices[4].owed_on(d(2026, 3, 10)), Some(50_000_00));
    // #12 is cancelled: never a receivable.
    assert_eq!(invoices[11].owed_on(d(2026, 3, 10)), None);
    // On 02-20, #2's 5,000 is in: INR owed = #1 0 (paid 02-10), #2 15,000,
    // #3 30,000, #4 40,000, #6 15,000, #7 25,000, #8 8,000 = 1,33,000.
    let out = outstanding(&invoices, d(2026, 2, 20), &fx()).unwrap();
    assert_eq!(out.total.get(Currency::INR), inr(133_000));
    // A period starting on a payment's day collects it: #6's 15,000 (03-01)
    // and #3's 10,000 (03-05).
    let first_week = Period::new(d(2026, 3, 1), d(2026, 3, 5)).unwrap();
    let collected = collected(&invoices, first_week, &fx()).unwrap();
    assert_eq!(collected.by_currency, vec![inr(25_000)]);
}

#[test]
fn an_invoice_marked_paid_without_a_date_is_settled_at_its_last_payment() {
    let mut inv = ledger()[1].clone();
    inv.paid_on = None;
    // Paid, payments 02-20 and 03-12: settled on 03-12.
    assert_eq!(inv.settled_on(), Some(d(2026, 3, 12)));
    assert_eq!(inv.owed_on(d(2026, 3, 11)), Some(15_000_00));
    assert_eq!(inv.owed_on(d(2026, 3, 12)), Some(0));
    // Marked paid with no payment at all: owes nothing from its date.
    inv.payments.clear();
    assert_eq!(inv.owed_on(d(2026, 1, 10)), Some(0));
    assert_eq!(inv.owed_on(d(2026, 1, 9)), None);
}

// --- sales, collections, DSO, CEI ---------------------------------------------

#[test]
fn credit_sales_and_collections_of_march() {
    let sales = credit_sales(&ledger(), march(), &fx()).unwrap();
    // Dated in March: #5 50,000 INR, #11 1,200.10 USD (99,908.33 INR).
    assert_eq!(sales.by_currency, vec![inr(50_000), usd(1_200_10)]);
    assert_eq!(sales.home, paise(14_990_833));
    let collected = collected(&ledger(), march(), &fx()).unwrap();
    // INR: #6 15,000 (03-01) + #3 10,000 (03-05) + #2 15,000 (03-12) = 40,000.
    // USD: #9 1,000 (03-20) + #10 500 (03-25) = 1,500 → × 83.25 = 1,24,875.
    assert_eq!(collected.by_currency, vec![inr(40_000), usd(1_500_00)]);
    assert_eq!(collected.home, inr(164_875));
}

#[test]
fn simple_dso() {
    let invoices = ledger();
    // March: AR 4,09,40,833 paise / sales 1,49,90,833 paise × 31 days
    // = 1,26,91,65,823 / 1,49,90,833 = 84.6628 → 84.7.
    assert_eq!(dso_simple(&invoices, march(), &fx()).unwrap(), tenths(847));
    // February: AR 4,24,375 (see the past ageing); sales #6 15,000 + #7 25,000
    // + #10 2,500 USD (2,08,125) = 2,48,125 (#12 cancelled);
    // 4,24,375 / 2,48,125 × 28 = 47.889 → 47.9.
    let feb = Period::new(d(2026, 2, 1), d(2026, 2, 28)).unwrap();
    assert_eq!(dso_simple(&invoices, feb, &fx()).unwrap(), tenths(479));
    // No sales in the period: undefined.
    let quiet = Period::new(d(2025, 11, 1), d(2025, 11, 30)).unwrap();
    assert_eq!(dso_simple(&invoices, quiet, &fx()).unwrap(), None);
}

#[test]
fn countback_dso() {
    let invoices = ledger();
    // AR on 03-31: 4,09,40,833 paise.
    // March (31 days): sales 1,49,90,833 → left 2,59,50,000; 31 days.
    // February (28): sales 15,000 + 25,000 + 2,500 USD = 2,48,12,500 paise
    //   → left 11,37,500; 59 days.
    // January (31): sales 10,000 + 20,000 + 30,000 + 1,000 USD (83,250)
    //   = 1,43,25,000 paise ≥ 11,37,500: 11,37,500 / 1,43,25,000 × 31 = 2.4616.
    // 59 + 2.4616 = 61.4616 → 61.5.
    assert_eq!(
        dso_countback(&invoices, d(2026, 3, 31), &fx()).unwrap(),
        tenths(615)
    );
    // A partial last month counts its days. On 03-15, #2 (paid 03-12) and
    // #6 (03-01) owe nothing; INR: #3 20,000, #4 40,000, #5 50,000, #7 25,000,
    // #8 8,000 = 1,43,000; USD: #9 1,000 (paid 03-20, later) + #10 2,500
    // (paid in part 03-25, later) + #11 1,200.10 = 4,700.10 → × 83.25 =
    // 3,91,283.325 → 3,91,283.33. AR 5,34,283.33.
    // March 1-15 (15 days): sales 50,000 + 99,908.33 = 1,49,908.33
    //   → left 3,84,375.00; 15 days.
    // February (28): 2,48,125 → left 1,36,250; 43 days.
    // January (31): 1,43,250 ≥ 1,36,250: 1,36,250 / 1,43,250 × 31 = 29.4852.
    // 43 + 29.4852 = 72.4852 → 72.5.
    assert_eq!(
        dso_countback(&invoices, d(2026, 3, 15), &fx()).unwrap(),
        tenths(725)
    );
    // Nothing dated on or before: undefined.
    assert_eq!(
        dso_countback(&invoices, d(2025, 10, 19), &fx()).unwrap(),
        None
    );
    // Everything paid: zero.
    let paid: Vec<_> = invoices
        .iter()
        .filter(|i| i.id.get() == 1)
        .cloned()
        .collect();
    assert_eq!(
        dso_countback(&paid, d(2026, 3, 31), &fx()).unwrap(),
        tenths(0)
    );
}

#[test]
fn dso_trend_over_the_last_three_months() {
    let invoices = ledger();
    let trend = dso_trend(&invoices, d(2026, 3, 31), 3, &fx()).unwrap();
    // 2026-01-31: AR = every invoice dated by then, none paid yet:
    //   10,000 + 20,000 + 30,000 + 40,000 + 8,000 + 1,000 USD (83,250)
    //   = 1,91,250. January sales 1,43,250 → left 48,000, 31 days;
    //   December 40,000 (#4) → left 8,000, 62 days; November no sales → 92
    //   days; October 8,000 (#8) exactly exhausts it: + 31 → 123.0.
    // 2026-02-28: AR 4,24,375. February 2,48,125 → left 1,76,250, 28 days;
    //   January 1,43,250 → left 33,000, 59 days; December 40,000:
    //   33,000 / 40,000 × 31 = 25.575 → 84.575 → 84.6 (half away from zero).
    // 2026-03-31: 61.5 (see countback_dso).
    let expected = vec![
        DsoPoint {
            month: "2026-01".into(),
            end: d(2026, 1, 31),
            dso: tenths(1_230),
        },
        DsoPoint {
            month: "2026-02".into(),
            end: d(2026, 2, 28),
            dso: tenths(846),
        },
        DsoPoint {
            month: "2026-03".into(),
            end: d(2026, 3, 31),
            dso: tenths(615),
        },
    ];
    assert_eq!(trend.points, expected);
    // From mid-April, March is still the last month that has ended.
    let from_april = dso_trend(&invoices, d(2026, 4, 15), 3, &fx()).unwrap();
    assert_eq!(from_april.points, expected);
    // On 03-30 March has not ended: December to February. 2025-12-31: AR
    // 40,000 + 8,000; December 40,000 → left 8,000, 31 days; November none,
    // 61; October 8,000: + 31 → 92.0.
    let before = dso_trend(&invoices, d(2026, 3, 30), 3, &fx()).unwrap();
    let months: Vec<_> = before.points.iter().map(|p| p.month.as_str()).collect();
    assert_eq!(months, ["2025-12", "2026-01", "2026-02"]);
    assert_eq!(before.points[0].dso, tenths(920));
    assert!(
        dso_trend(&invoices, d(2026, 3, 31), 0, &fx())
            .unwrap()
            .points
            .is_empty()
    );
}

#[test]
fn collection_effectiveness_index_of_march() {
    let cei = cei(&ledger(), march(), &fx()).unwrap();
    // Beginning AR (end of 02-28): INR 1,33,000, USD 3,500.00 (the past ageing).
    assert_eq!(
        cei.beginning_ar.by_currency,
        vec![inr(133_000), usd(3_500_00)]
    );
    // Credit sales: INR 50,000, USD 1,200.10.
    assert_eq!(
        cei.credit_sales.by_currency,
        vec![inr(50_000), usd(1_200_10)]
    );
    // Ending AR (03-31): INR 1,43,000, USD 3,200.10.
    assert_eq!(cei.ending_ar.by_currency, vec![inr(143_000), usd(3_200_10)]);
    // Ending current AR (due 03-31 or later): #5 50,000 INR, #11 1,200.10 USD.
    assert_eq!(
        cei.ending_current_ar.by_currency,
        vec![inr(50_000), usd(1_200_10)]
    );
    // INR: num 1,33,000 + 50,000 − 1,43,000 = 40,000;
    //      den 1,33,000 + 50,000 − 50,000 = 1,33,000.
    // USD: num 3,500 + 1,200.10 − 3,200.10 = 1,500.00 → 1,24,875 INR;
    //      den 3,500 + 1,200.10 − 1,200.10 = 3,500.00 → 2,91,375 INR.
    // CEI = (40,000 + 1,24,875) / (1,33,000 + 2,91,375) = 1,64,875 / 4,24,375
    //     = 38.8513 % → 3,885 bp.
    assert_eq!(cei.index, bp(3_885));
    assert_eq!(cei.beginning_ar.home, inr(424_375));
    assert_eq!(cei.ending_ar.home, paise(40_940_833));
}

// --- days to pay and the funnel -----------------------------------------------

#[test]
fn days_to_pay_in_march() {
    let days = days_to_pay(&ledger(), march());
    // Paid in full in March: #6 03-01, #2 03-12, #9 03-20.
    // After due: #2 due 02-09 → 03-12 = 28 + 3 = 31; #6 due 03-04 → 03-01 = −3
    // (early); #9 due 02-14 → 03-20 = 28 + 6 = 34.
    // Average (31 − 3 + 34) / 3 = 62 / 3 = 20.67 → 20.7; median of
    // −3, 31, 34 → 31.0.
    assert_eq!(
        days.after_due,
        DayStats {
            count: 3,
            average: tenths(207),
            median: tenths(310),
        }
    );
    // After the first reminder (#6 had none): #2 02-10 → 03-12 = 28 + 2 = 30;
    // #9 02-17 → 03-20 = 28 + 3 = 31. Average 61 / 2 = 30.5; median of two:
    // (30 + 31) / 2 = 30.5.
    assert_eq!(
        days.after_first_reminder,
        DayStats {
            count: 2,
            average: tenths(305),
            median: tenths(305),
        }
    );
    // Nothing paid in December.
    let dec = Period::month_of(d(2025, 12, 15));
    assert_eq!(
        days_to_pay(&ledger(), dec).after_due,
        DayStats {
            count: 0,
            average: None,
            median: None
        }
    );
}

fn counts(f: &Funnel) -> Vec<u64> {
    Stage::ALL.iter().map(|s| f.count(*s)).collect()
}

#[test]
fn reminder_funnel_of_march() {
    let f = funnel(&reminders(), &ledger(), march());
    // Reminders planned in March: 5, 6, 7, 8, 9, 10, 11, 12, 13, 16 → 10
    // (14 and 15 are receipts).
    // Sent: all but 11 and 13 → 8.
    // Delivered: all sent but 9 → 7 (5, 6, 7, 8, 10, 12, 16).
    // Read state known: 5 yes, 7 yes, 8 no, 10 yes, 16 no, 12 unknown but
    //   replied (a reply proves the read) → 6 known, 4 read (5, 7, 10, 12);
    //   unknown: 6 → 1.
    // Replied: 5, 7, 12 → 3.
    // Paid within N days of sending (an invoice paid in full):
    //   5 → #2 03-11 → 03-12: 1 day; 16 → #2 03-02 → 03-12: 10 days;
    //   6 → #9 03-02 → 03-20: 18 days; the others' invoices are unpaid.
    //   7 days: 1; 14 days: 2; 30 days: 3.
    assert_eq!(counts(&f), vec![10, 8, 7, 4, 3, 1, 2, 3]);
    assert_eq!((f.read_known, f.read_unknown), (6, 1));
    // Unknown share: 1 / 7 = 14.2857 % → 1,429 bp.
    assert_eq!(f.read_unknown_share, bp(1_429));
    // (stage, base, of previous, of sent):
    //   planned   base 10, —, —
    //   sent      8 / 10 = 80.00 %,                     8 / 8 = 100 %
    //   delivered 7 / 8 = 87.50 %,                      87.50 %
    //   read      4 / 6 known = 66.67 % (66.666… rounds up), 4 / 8 = 50 %
    //   replied   3 / 4 read = 75.00 %,                 3 / 8 = 37.50 %
    //   paid 7    1 / 8 sent = 12.50 %,                 12.50 %
    //   paid 14   2 / 8 = 25.00 %,                      25.00 %
    //   paid 30   3 / 8 = 37.50 %,                      37.50 %
    let rates: Vec<_> = f
        .stages
        .iter()
        .map(|s| (s.stage, s.base, s.of_previous, s.of_sent))
        .collect();
    assert_eq!(
        rates,
        vec![
            (Stage::Planned, 10, None, None),
            (Stage::Sent, 10, bp(8_000), bp(10_000)),
            (Stage::Delivered, 8, bp(8_750), bp(8_750)),
            (Stage::Read, 6, bp(6_667), bp(5_000)),
            (Stage::Replied, 4, bp(7_500), bp(3_750)),
            (Stage::PaidWithin7Days, 8, bp(1_250), bp(1_250)),
            (Stage::PaidWithin14Days, 8, bp(2_500), bp(2_500)),
            (Stage::PaidWithin30Days, 8, bp(3_750), bp(3_750)),
        ]
    );
    // With the receipts: 14 and 15 are planned, sent, delivered; 14 read,
    // 15 unknown; each was sent the day its invoice was paid (0 days).
    let all = funnel(&messages(), &ledger(), march());
    assert_eq!(counts(&all), vec![12, 10, 9, 5, 3, 3, 4, 5]);
}

// --- breakdowns ---------------------------------------------------------------

fn row<'a>(rows: &'a [BreakdownRow], key: &str) -> &'a BreakdownRow {
    rows.iter().find(|r| r.key == key).unwrap()
}

#[test]
fn breakdown_by_template() {
    let rows = breakdown(&ledger(), &messages(), march(), Dimension::Template);
    let keys: Vec<_> = rows.iter().map(|r| r.key.as_str()).collect();
    // Sorted by key; "(none)" holds #6, paid with no reminder sent before.
    assert_eq!(
        keys,
        [
            "(none)",
            "due_soon",
            "overdue_firm",
            "overdue_gentle",
            "statement",
            "thank_you"
        ]
    );
    // overdue_firm, March: 5, 6, 7, 9, 11, 16 planned → 6; sent: not 11 → 5;
    // delivered: not 9 → 4 (5, 6, 7, 16); read: 5, 7 yes, 16 no, 6 unknown
    // → 2 of 3 known; replied 5, 7 → 2; paid: 5 in 1 day, 16 in 10, 6 in 18.
    let firm = row(&rows, "overdue_firm");
    assert_eq!(counts(&firm.funnel), vec![6, 5, 4, 2, 2, 1, 2, 3]);
    assert_eq!(firm.funnel.read_unknown, 1);
    // Read 2 / 3 known = 66.67 %; replied 2 / 2 read = 100 %.
    assert_eq!(
        firm.funnel.stage(Stage::Read).unwrap().of_previous,
        bp(6_667)
    );
    assert_eq!(
        firm.funnel.stage(Stage::Replied).unwrap().of_previous,
        bp(10_000)
    );
    // Last touch before payment: #2 (03-12) ← 5 (03-11, overdue_firm),
    // #9 (03-20) ← 6 (03-02, overdue_firm). After due 31 and 34: average
    // and median 32.5; after the first reminder 30 and 31: 30.5.
    assert_eq!(
        firm.days_to_pay,
        DaysToPay {
            after_due: DayStats {
                count: 2,
                average: tenths(325),
                median: tenths(325)
            },
            after_first_reminder: DayStats {
                count: 2,
                average: tenths(305),
                median: tenths(305)
            },
        }
    );
    // overdue_gentle: 8 (delivered, not read), 10 (read); none replied or paid.
    let gentle = row(&rows, "overdue_gentle");
    assert_eq!(counts(&gentle.funnel), vec![2, 2, 2, 1, 0, 0, 0, 0]);
    assert_eq!(gentle.days_to_pay.after_due.count, 0);
    // statement: 12, read inferred from its reply.
    assert_eq!(
        counts(&row(&rows, "statement").funnel),
        vec![1, 1, 1, 1, 1, 0, 0, 0]
    );
    // due_soon: 13, never sent.
    assert_eq!(
        counts(&row(&rows, "due_soon").funnel),
        vec![1, 0, 0, 0, 0, 0, 0, 0]
    );
    // thank_you: receipts sent on the payment day count as paid within 0 days.
    assert_eq!(
        counts(&row(&rows, "thank_you").funnel),
        vec![2, 2, 2, 1, 0, 2, 2, 2]
    );
    // (none): no message; #6 paid 3 days early, no reminder.
    let none = row(&rows, "(none)");
    assert_eq!(counts(&none.funnel), vec![0; 8]);
    assert_eq!(none.days_to_pay.after_due.average, tenths(-30));
    assert_eq!(none.days_to_pay.after_first_reminder.count, 0);
}

#[test]
fn breakdown_by_rep() {
    let rows = breakdown(&ledger(), &reminders(), march(), Dimension::Rep);
    let keys: Vec<_> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["(none)", "Asha", "Ravi"]);
    // Asha: 5, 13, 16 planned; 5 and 16 sent and delivered; 5 read (16 not);
    // 5 replied; 5 paid in 1 day, 16 in 10.
    let asha = row(&rows, "Asha");
    assert_eq!(counts(&asha.funnel), vec![3, 2, 2, 1, 1, 1, 2, 2]);
    // Invoices of Asha paid in March: #2 (31 days after due, 30 after the
    // first reminder), #6 (−3, no reminder). Average (31 − 3) / 2 = 14.0,
    // median (−3 + 31) / 2 = 14.0; after the reminder: 30.0.
    assert_eq!(asha.days_to_pay.after_due.average, tenths(140));
    assert_eq!(asha.days_to_pay.after_due.median, tenths(140));
    assert_eq!(asha.days_to_pay.after_first_reminder.median, tenths(300));
    // Ravi: 7, 8, 9, 11, 12 planned → 5; sent 7, 8, 9, 12 → 4; delivered
    // 7, 8, 12 → 3; read 7 and 12 (reply) of 3 known → 2; replied 7, 12;
    // their invoices (#3, #4, #7) are unpaid.
    let ravi = row(&rows, "Ravi");
    assert_eq!(counts(&ravi.funnel), vec![5, 4, 3, 2, 2, 0, 0, 0]);
    // 4 / 5 = 80 %, 3 / 4 = 75 %, 2 / 3 = 66.67 %, 2 / 2 = 100 %; replied
    // of sent 2 / 4 = 50 %.
    let of_previous: Vec<_> = ravi.funnel.stages[1..5]
        .iter()
        .map(|s| s.of_previous)
        .collect();
    assert_eq!(
        of_previous,
        vec![bp(8_000), bp(7_500), bp(6_667), bp(10_000)]
    );
    assert_eq!(
        ravi.funnel.stage(Stage::Replied).unwrap().of_sent,
        bp(5_000)
    );
    assert_eq!(ravi.days_to_pay.after_due.count, 0);
    // (none): 6 (read unknown, #9 paid after 18 days) and 10 (read).
    let none = row(&rows, "(none)");
    assert_eq!(counts(&none.funnel), vec![2, 2, 2, 1, 0, 0, 0, 1]);
    assert_eq!(none.funnel.read_unknown_share, bp(5_000));
    // #9: 34 days after due, 31 after the first reminder.
    assert_eq!(none.days_to_pay.after_due.median, tenths(340));
    assert_eq!(none.days_to_pay.after_first_reminder.median, tenths(310));
    // The rows add up to the whole funnel.
    let whole = funnel(&reminders(), &ledger(), march());
    for stage in Stage::ALL {
        let sum: u64 = rows.iter().map(|r| r.funnel.count(stage)).sum();
        assert_eq!(sum, whole.count(stage), "{stage:?}");
    }
}

#[test]
fn breakdown_by_month_and_step() {
    let q1 = Period::new(d(2026, 1, 1), d(2026, 3, 31)).unwrap();
    let rows = breakdown(&ledger(), &reminders(), q1, Dimension::Month);
    let keys: Vec<_> = rows.iter().map(|r| r.key.as_str()).collect();
    // Unsent reminders (11, 13) under "(none)"; sent ones by month sent;
    // invoices by month paid (#1 in February; #2, #6, #9 in March).
    assert_eq!(keys, ["(none)", "2026-02", "2026-03"]);
    assert_eq!(row(&rows, "(none)").funnel.count(Stage::Planned), 2);
    // February: reminders 1, 2, 3, 4; #1 paid 02-10, 6 days after due 02-04.
    let feb = row(&rows, "2026-02");
    assert_eq!(feb.funnel.count(Stage::Sent), 4);
    assert_eq!(feb.days_to_pay.after_due.median, tenths(60));
    assert_eq!(row(&rows, "2026-03").days_to_pay.after_due.count, 3);

    let steps = breakdown(&ledger(), &messages(), march(), Dimension::Step);
    let keys: Vec<_> = steps.iter().map(|r| r.key.as_str()).collect();
    // Receipts have no step; #6 (no reminder) joins them under "(none)".
    assert_eq!(
        keys,
        [
            "(none)",
            "due-3",
            "overdue+1",
            "overdue+15",
            "overdue+21",
            "overdue+30",
            "overdue+60",
            "overdue+7"
        ]
    );
    // #2's last touch is 5 (overdue+30), #9's is 6 (overdue+15).
    assert_eq!(row(&steps, "overdue+30").days_to_pay.after_due.count, 1);
    assert_eq!(row(&steps, "overdue+15").days_to_pay.after_due.count, 1);
    assert_eq!(row(&steps, "(none)").days_to_pay.after_due.count, 1);
}

// --- the report and periods -----------------------------------------------------

#[test]
fn collection_report_of_march() {
    let report = CollectionReport::build(&ledger(), &messages(), march(), &fx()).unwrap();
    assert_eq!(report.home_currency, Currency::INR);
    assert_eq!(report.outstanding.total.home, paise(40_940_833));
    assert_eq!(report.ageing.home.days_61_90, inr(40_000));
    assert_eq!(report.credit_sales.home, paise(14_990_833));
    assert_eq!(report.collected.home, inr(164_875));
    assert_eq!(report.dso_simple, tenths(847));
    assert_eq!(report.dso_countback, tenths(615));
    assert_eq!(report.cei.index, bp(3_885));
    assert_eq!(report.days_to_pay.after_due.average, tenths(207));
    // Reminders only: the receipts are left out.
    assert_eq!(counts(&report.funnel), vec![10, 8, 7, 4, 3, 1, 2, 3]);
    assert!(report.not_converted.is_empty());
    let json = serde_json::to_string(&report).unwrap();
    let back: CollectionReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert!(json.contains(r#""dso_countback":615"#), "{json}");
    assert!(json.contains(r#""stage":"paid_within_7_days""#), "{json}");
}

#[test]
fn periods() {
    let p = Period::last_days(d(2026, 3, 31), 30).unwrap();
    assert_eq!(
        p,
        Period {
            from: d(2026, 3, 2),
            to: d(2026, 3, 31)
        }
    );
    assert_eq!(p.days(), 30);
    assert_eq!(Period::last_days(d(2026, 3, 31), 1).unwrap().days(), 1);
    assert_eq!(
        Period::last_days(d(2026, 3, 31), 0),
        Err(MetricsError::NoDays)
    );
    assert_eq!(
        Period::new(d(2026, 3, 2), d(2026, 3, 1)),
        Err(MetricsError::InvertedPeriod {
            from: d(2026, 3, 2),
            to: d(2026, 3, 1)
        })
    );
    let feb = Period::month_of(d(2028, 2, 10));
    assert_eq!(
        (feb.from, feb.to, feb.days()),
        (d(2028, 2, 1), d(2028, 2, 29), 29)
    );
    let mtd = Period::month_to_date(d(2026, 3, 15));
    assert_eq!((mtd.from, mtd.days()), (d(2026, 3, 1), 15));
    assert!(mtd.contains(d(2026, 3, 1)) && mtd.contains(d(2026, 3, 15)));
    assert!(!mtd.contains(d(2026, 3, 16)));
    let inverted = Period {
        from: d(2026, 3, 2),
        to: d(2026, 3, 1),
    };
    assert_eq!(inverted.days(), 0);
    assert!(!inverted.contains(d(2026, 3, 1)));
    assert_eq!(dso_simple(&ledger(), inverted, &fx()).unwrap(), None);
    assert_eq!(month_key(d(2026, 3, 9)), "2026-03");
}

#[test]
fn age_buckets_edges() {
    let cases = [
        (-5, AgeBucket::NotDue),
        (0, AgeBucket::NotDue),
        (1, AgeBucket::Days1To30),
        (30, AgeBucket::Days1To30),
        (31, AgeBucket::Days31To60),
        (60, AgeBucket::Days31To60),
        (61, AgeBucket::Days61To90),
        (90, AgeBucket::Days61To90),
        (91, AgeBucket::Over90),
    ];
    for (days, bucket) in cases {
        assert_eq!(AgeBucket::of(days), bucket, "{days}");
    }
}

// --- properties -----------------------------------------------------------------

fn base_date() -> Date {
    d(2026, 1, 1)
}

fn plus(days: i64) -> Date {
    base_date()
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
}

prop_compose! {
    fn any_invoice(id: i64)(
        usd in any::<bool>(),
        amount in 1i64..5_000_000,
        dated in -120i64..120,
        terms in 0i64..60,
        status in prop::sample::select(InvoiceStatus::ALL.to_vec()),
        payments in prop::collection::vec((0i64..200, 1i64..3_000_000), 0..4),
        paid_after in prop::option::of(0i64..200),
        reminder_after in prop::option::of(0i64..90),
    ) -> InvoiceFacts {
        let currency = if usd { Currency::USD } else { Currency::INR };
        let invoice_date = plus(dated);
        let mut payments: Vec<(Date, Money)> = payments
            .into_iter()
            .map(|(after, minor)| (plus(dated + after), Money::from_minor(minor, currency)))
            .collect();
        payments.sort_by_key(|(d, _)| *d);
        InvoiceFacts {
            id: InvoiceId::new(id),
            buyer_id: BuyerId::new(id % 5),
            number: format!("P-{id}"),
            amount: Money::from_minor(amount, currency),
            invoice_date,
            due_date: plus(dated + terms),
            status,
            payments,
            paid_on: paid_after.map(|a| plus(dated + a)),
            first_reminder_on: reminder_after.map(|a| plus(dated + terms + a - 3)),
            country: None,
            sales_rep: None,
            segment: None,
        }
    }
}

fn any_ledger() -> impl Strategy<Value = Vec<InvoiceFacts>> {
    prop::collection::vec(any::<u8>(), 0..16).prop_flat_map(|seeds| {
        seeds
            .iter()
            .enumerate()
            .map(|(i, _)| any_invoice(i as i64 + 1))
            .collect::<Vec<_>>()
    })
}

prop_compose! {
    fn any_message(id: i64, invoices: i64)(
        ids in prop::collection::vec(1i64..=invoices.max(1), 1..3),
        reminder in any::<bool>(),
        planned in -30i64..150,
        sent_after in prop::option::of(0i64..5),
        delivered in any::<bool>(),
        read in prop::option::of(any::<bool>()),
        replied in any::<bool>(),
    ) -> MessageFacts {
        MessageFacts {
            id,
            invoice_ids: ids.into_iter().map(InvoiceId::new).collect(),
            template: if reminder { "overdue_firm" } else { "thank_you" }.to_string(),
            step: reminder.then(|| "overdue+7".to_string()),
            segment: None,
            sales_rep: None,
            country: None,
            planned_on: plus(planned),
            sent_on: sent_after.map(|a| plus(planned + a)),
            delivered,
            read,
            replied,
        }
    }
}

fn any_messages(invoices: i64) -> impl Strategy<Value = Vec<MessageFacts>> {
    prop::collection::vec(any::<u8>(), 0..24).prop_flat_map(move |seeds| {
        seeds
            .iter()
            .enumerate()
            .map(|(i, _)| any_message(i as i64 + 1, invoices))
            .collect::<Vec<_>>()
    })
}

fn any_period() -> impl Strategy<Value = Period> {
    (-150i64..250, 0i64..120).prop_map(|(from, len)| Period {
        from: plus(from),
        to: plus(from + len),
    })
}

proptest! {
    /// Per currency, the buckets add up to what is outstanding on the date;
    /// in the home currency they add up to within the rounding of converting
    /// five buckets instead of one total.
    #[test]
    fn ageing_buckets_sum_to_outstanding(invoices in any_ledger(), as_of in -150i64..300) {
        let as_of = plus(as_of);
        let out = outstanding(&invoices, as_of, &fx()).unwrap();
        let ageing = ageing(&invoices, as_of, &fx()).unwrap();
        let totals: Vec<Money> = ageing.by_currency.iter().map(|b| b.total).collect();
        prop_assert_eq!(&totals, &out.total.by_currency);
        for row in ageing.by_currency.iter().chain([&ageing.home]) {
            let sum: i64 = AgeBucket::ALL.iter().map(|b| row.get(*b).minor()).sum();
            prop_assert_eq!(sum, row.total.minor());
        }
        // The same total, from the facts directly.
        for currency in [Currency::INR, Currency::USD] {
            let direct: i128 = invoices
                .iter()
                .filter(|i| i.amount.currency() == currency)
                .filter_map(|i| i.owed_on(as_of))
                .sum();
            prop_assert_eq!(i128::from(out.total.get(currency).minor()), direct);
        }
        let gap = (ageing.home.total.minor() - out.total.home.minor()).abs();
        prop_assert!(gap <= 3, "home gap {}", gap);
    }

    /// planned ≥ sent ≥ delivered ≥ read ≥ replied; sent ≥ paid within 30
    /// ≥ 14 ≥ 7 days; known + unknown read states = delivered; every rate
    /// within 0..=100 %.
    #[test]
    fn funnel_counts_never_increase_along_the_stages(
        (invoices, messages) in any_ledger().prop_flat_map(|inv| {
            let n = inv.len() as i64;
            (Just(inv), any_messages(n))
        }),
        period in any_period(),
    ) {
        for f in [
            funnel(&messages, &invoices, period),
            funnel(&messages, &invoices, Period { from: plus(-400), to: plus(400) }),
        ] {
            let c = |s| f.count(s);
            prop_assert!(c(Stage::Planned) >= c(Stage::Sent));
            prop_assert!(c(Stage::Sent) >= c(Stage::Delivered));
            prop_assert!(c(Stage::Delivered) >= c(Stage::Read));
            prop_assert!(c(Stage::Read) >= c(Stage::Replied));
            prop_assert!(c(Stage::Sent) >= c(Stage::PaidWithin30Days));
            prop_assert!(c(Stage::PaidWithin30Days) >= c(Stage::PaidWithin14Days));
            prop_assert!(c(Stage::PaidWithin14Days) >= c(Stage::PaidWithin7Days));
            prop_assert_eq!(f.read_known + f.read_unknown, c(Stage::Delivered));
            prop_assert!(f.read_known >= c(Stage::Read));
            for s in &f.stages {
                for rate in [s.of_previous, s.of_sent].into_iter().flatten() {
                    prop_assert!((0..=10_000).contains(&rate.0), "{:?}", s);
                }
            }
        }
        // The breakdown rows add up to the funnel.
        let whole = funnel(&messages, &invoices, period);
        let rows = breakdown(&invoices, &messages, period, Dimension::Month);
        for stage in Stage::ALL {
            let sum: u64 = rows.iter().map(|r| r.funnel.count(stage)).sum();
            prop_assert_eq!(sum, whole.count(stage));
        }
    }

    /// With payments that only ever reduce what is owed, the ending AR is at
    /// most the beginning AR plus the period's sales, and at least the
    /// current part: the CEI lies within 0..=100 %.
    #[test]
    fn cei_stays_within_0_and_100_percent(invoices in any_ledger(), period in any_period()) {
        let cei = cei(&invoices, period, &fx()).unwrap();
        if let Some(index) = cei.index {
            prop_assert!((0..=10_000).contains(&index.0), "{:?}", cei);
        }
    }

    /// Countback DSO never walks further back than the oldest month with a
    /// sale: at most the days from the first of that month to the end.
    #[test]
    fn countback_dso_stays_within_the_sales_history(invoices in any_ledger(), end in -150i64..300) {
        let end = plus(end);
        let dso = dso_countback(&invoices, end, &fx()).unwrap();
        let oldest = invoices
            .iter()
            .filter(|i| i.status != InvoiceStatus::Cancelled && i.invoice_date <= end)
            .map(|i| i.invoice_date)
            .min();
        match (dso, oldest) {
            (None, None) => {}
            (Some(days), Some(oldest)) => {
                let span = crate::ledger::days_between(oldest.first_of_month(), end) + 1;
                prop_assert!(days.0 >= 0 && days.0 <= i64::from(span) * 10, "{} > {}", days, span);
            }
            (dso, oldest) => prop_assert!(false, "{:?} with oldest sale {:?}", dso, oldest),
        }
    }
}
