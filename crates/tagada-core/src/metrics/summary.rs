//! Summary tables: the collection figures kept as running sums, so that a
//! report over a ledger of millions of invoices and messages reads a few
//! thousand rows instead of every fact.
//!
//! Each invoice and each reminder *contributes* rows ([`SummaryBasis::rows`]):
//! signed amounts and counts under a small key (kind, sales rep, currency,
//! two kind-specific numbers, a day). The tables hold the sum of every
//! contribution per key. When an invoice or a message changes, its old
//! contribution is taken away and the new one added, so the sums always
//! equal what the facts give; [`SummaryReport`] turns them into the same
//! [`CollectionReport`] and collection curve as the facts-based formulas,
//! figure for figure (tests compare the two on generated ledgers).
//!
//! What an owner contributes depends only on its [`SummaryBasis`], a short
//! text the store keeps beside the sums, so the old contribution can be
//! computed again exactly when the owner changes.
//!
//! Days are numbered from 1970-01-01 ([`day_number`]) in the seller's zone,
//! like every date in the facts.
//!
//! What each kind holds (`k1`, `k2`, `day`: values):
//!
//! | kind | k1 | k2 | day | values |
//! | --- | --- | --- | --- | --- |
//! | [`SummaryKind::Owed`] | 1 if disputed | month of invoice date | change | owed, open count |
//! | [`SummaryKind::OwedByDue`] | due day | 0 | change, or [`ALL_DAYS`] | owed |
//! | [`SummaryKind::Sales`] | month of invoice date | 0 | invoice date | amount, count |
//! | [`SummaryKind::Collected`] | 0 | 0 | payment date | amount |
//! | [`SummaryKind::DaysToPay`] | 0 after due, 1 after first reminder | days | paid date | count |
//! | [`SummaryKind::Curve`] | 0 | 0 | due date | amount, collected by due + each of [`CURVE_DAYS`] |
//! | [`SummaryKind::Funnel`] | 0 | 0 | planned date | [`FunnelCounts`] |
//!
//! `Owed` rows are changes: an invoice adds what it owes on its invoice
//! date and takes away each reduction on the day it happens, so what is
//! owed at the end of a day is the sum of the changes up to it. `Owed` and
//! `OwedByDue` also carry the sum of all changes under [`ALL_DAYS`]: what is
//! owed up to a recent day is then that total less the few changes after
//! it, instead of the sum of every change since the ledger began.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::dso::{cei_from, countback_from, dso_simple_from, trend_month_ends};
use super::funnel::paid_dates;
use super::receivables::{Sums, ageing_from, convertible};
use super::report::not_converted_in;
use super::{
    AgeBucket, BasisPoints, CollectionReport, DayStats, DaysToPay, DsoPoint, DsoTrend, Funnel,
    FunnelCounts, InvoiceFacts, MessageFacts, MetricsError, Outstanding, PAID_WITHIN_DAYS, Period,
    month_key,
};
use crate::cadence::FxConfig;
use crate::ledger::{InvoiceStatus, days_between};
use crate::{Currency, InvoiceId, Money};

/// The format of [`SummaryBasis`] and of the rows it gives. A store built
/// with another format (or another zone) is rebuilt.
pub const SUMMARY_FORMAT: i32 = 1;

/// The `day` under which `Owed` and `OwedByDue` keep the sum of all their
/// changes.
pub const ALL_DAYS: i64 = i32::MAX as i64;

/// The values a summary row carries (the funnel needs nine).
pub const SUMMARY_VALUES: usize = 9;

/// The points of the collection curve: days after the due date.
pub const CURVE_DAYS: [i64; 7] = [0, 7, 14, 30, 45, 60, 90];

/// `day` as days since 1970-01-01.
pub fn day_number(day: Date) -> i64 {
    i64::from(days_between(jiff::civil::date(1970, 1, 1), day))
}

/// The date of a [`day_number`].
pub fn day_of_number(n: i64) -> Option<Date> {
    jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(n))
        .ok()
}

/// Months since year 0 (`year × 12 + month − 1`): `k1`/`k2` of the rows
/// keyed by the month of an invoice date.
pub fn month_number(day: Date) -> i64 {
    i64::from(day.year()) * 12 + i64::from(day.month()) - 1
}

/// A sales rep as the summary keys it: `""` for none, else `=` and the
/// name trimmed and lower-cased (ASCII), the way a rep's sign-in is
/// matched to their buyers.
pub fn rep_key(rep: Option<&str>) -> String {
    match rep {
        None => String::new(),
        Some(r) => format!("={}", r.trim().to_ascii_lowercase()),
    }
}

/// What a summary row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SummaryKind {
    Owed,
    OwedByDue,
    Sales,
    Collected,
    DaysToPay,
    Curve,
    Funnel,
}

impl SummaryKind {
    pub const ALL: [SummaryKind; 7] = [
        SummaryKind::Owed,
        SummaryKind::OwedByDue,
        SummaryKind::Sales,
        SummaryKind::Collected,
        SummaryKind::DaysToPay,
        SummaryKind::Curve,
        SummaryKind::Funnel,
    ];

    /// The stored code.
    pub fn code(self) -> i16 {
        match self {
            SummaryKind::Owed => 1,
            SummaryKind::OwedByDue => 2,
            SummaryKind::Sales => 3,
            SummaryKind::Collected => 4,
            SummaryKind::DaysToPay => 5,
            SummaryKind::Curve => 6,
            SummaryKind::Funnel => 7,
        }
    }

    pub fn from_code(code: i16) -> Option<SummaryKind> {
        SummaryKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One row of the summary tables: values under a key. As a contribution,
/// what one owner adds; as a stored row, the sum of all contributions to
/// its key; as an answer to a [`SummaryQuery`], a sum over rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SummaryRow {
    pub kind: SummaryKind,
    /// [`rep_key`].
    pub rep: String,
    /// ISO 4217 code; empty for the funnel.
    pub currency: String,
    pub k1: i64,
    pub k2: i64,
    /// [`day_number`].
    pub day: i64,
    pub values: [i64; SUMMARY_VALUES],
}

impl SummaryRow {
    /// The key, for adding rows up.
    pub fn key(&self) -> SummaryKey {
        (
            self.kind,
            self.rep.clone(),
            self.currency.clone(),
            self.k1,
            self.k2,
            self.day,
        )
    }
}

/// (kind, rep, currency, k1, k2, day).
pub type SummaryKey = (SummaryKind, String, String, i64, i64, i64);

/// A read of the summary: the rows of one kind whose day lies in
/// `from..=to`, of one rep or of all, summed per (currency, k1, k2) and,
/// with `by_day`, per day. The answer's rows carry the asked rep (or `""`)
/// and day 0 unless `by_day`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SummaryQuery {
    pub kind: SummaryKind,
    pub from: i64,
    pub to: i64,
    /// [`rep_key`]; `None` for every rep.
    pub rep: Option<String>,
    pub by_day: bool,
}

impl SummaryQuery {
    /// A row of this read's answer: the asked kind and rep (`""` for
    /// every rep) with the summed `values` under (currency, k1, k2, day).
    pub fn answer(
        &self,
        currency: String,
        k1: i64,
        k2: i64,
        day: i64,
        values: [i64; SUMMARY_VALUES],
    ) -> SummaryRow {
        SummaryRow {
            kind: self.kind,
            rep: self.rep.clone().unwrap_or_default(),
            currency,
            k1,
            k2,
            day,
            values,
        }
    }
}

/// Rows summed per key: the tables a store keeps (held in memory, for tests
/// and for summing facts directly), or the net change a fold applies to
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary(BTreeMap<SummaryKey, [i64; SUMMARY_VALUES]>);

impl Summary {
    /// The summary of a set of facts, as a store that followed every change
    /// would hold it. `messages` are all messages: only reminders count.
    pub fn of_facts(invoices: &[InvoiceFacts], messages: &[MessageFacts]) -> Summary {
        let mut s = Summary::default();
        let paid = paid_dates(invoices);
        for f in invoices {
            let basis = SummaryBasis::of_invoice(f);
            s.add(&basis.rows(), 1);
        }
        for m in messages {
            let rep = rep_key(m.sales_rep.as_deref());
            if let Some(basis) = SummaryBasis::of_message(m, &rep, |id| paid.get(&id).copied()) {
                s.add(&basis.rows(), 1);
            }
        }
        s
    }

    /// Adds `rows` (`sign` 1) or takes them away (`sign` −1).
    pub fn add(&mut self, rows: &[SummaryRow], sign: i64) {
        for r in rows {
            let e = self.0.entry(r.key()).or_insert([0; SUMMARY_VALUES]);
            for (a, v) in e.iter_mut().zip(r.values) {
                *a += sign * v;
            }
        }
    }

    /// Every row whose values do not all cancel out, in key order.
    pub fn rows(&self) -> Vec<SummaryRow> {
        self.0
            .iter()
            .filter(|(_, v)| v.iter().any(|x| *x != 0))
            .map(|((kind, rep, currency, k1, k2, day), values)| SummaryRow {
                kind: *kind,
                rep: rep.clone(),
                currency: currency.clone(),
                k1: *k1,
                k2: *k2,
                day: *day,
                values: *values,
            })
            .collect()
    }
}

impl SummarySource for Summary {
    fn sums(&self, q: &SummaryQuery) -> Result<Vec<SummaryRow>, MetricsError> {
        let mut out: BTreeMap<(String, i64, i64, i64), [i64; SUMMARY_VALUES]> = BTreeMap::new();
        for ((kind, rep, currency, k1, k2, day), values) in &self.0 {
            if *kind != q.kind || *day < q.from || *day > q.to {
                continue;
            }
            if q.rep.as_ref().is_some_and(|r| r != rep) {
                continue;
            }
            let d = if q.by_day { *day } else { 0 };
            let e = out
                .entry((currency.clone(), *k1, *k2, d))
                .or_insert([0; SUMMARY_VALUES]);
            for (a, v) in e.iter_mut().zip(values) {
                *a += v;
            }
        }
        Ok(out
            .into_iter()
            .map(|((currency, k1, k2, day), values)| q.answer(currency, k1, k2, day, values))
            .collect())
    }
}

/// Where [`SummaryReport`] reads sums from.
pub trait SummarySource {
    fn sums(&self, q: &SummaryQuery) -> Result<Vec<SummaryRow>, MetricsError>;
}

/// Answers fetched ahead (a store is read asynchronously, the report is
/// computed after): [`SummaryReport::queries`] lists what to fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchedSums(pub HashMap<SummaryQuery, Vec<SummaryRow>>);

impl SummarySource for FetchedSums {
    fn sums(&self, q: &SummaryQuery) -> Result<Vec<SummaryRow>, MetricsError> {
        self.0
            .get(q)
            .cloned()
            .ok_or_else(|| MetricsError::MissingSums(format!("{q:?}")))
    }
}

/// What an owner's contribution depends on, and nothing else: kept by the
/// store beside the sums (as [`SummaryBasis::encode`]) so that the
/// contribution can be taken away exactly when the owner changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryBasis {
    Invoice(InvoiceBasis),
    /// A reminder that is not cancelled.
    Message {
        rep: String,
        planned_on: i64,
        counts: FunnelCounts,
    },
}

/// An invoice as far as the summary sees it (dates as [`day_number`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceBasis {
    pub rep: String,
    pub currency: Currency,
    pub amount: i64,
    pub invoice_date: Date,
    pub due_date: Date,
    pub status: InvoiceStatus,
    pub paid_on: Option<Date>,
    pub first_reminder_on: Option<Date>,
    /// Payments in the invoice's currency (one in another currency is left
    /// out), by date.
    pub payments: Vec<(Date, i64)>,
}

impl InvoiceBasis {
    fn facts(&self) -> InvoiceFacts {
        InvoiceFacts {
            id: InvoiceId::new(0),
            buyer_id: crate::BuyerId::new(0),
            number: String::new(),
            amount: Money::from_minor(self.amount, self.currency),
            invoice_date: self.invoice_date,
            due_date: self.due_date,
            status: self.status,
            payments: self
                .payments
                .iter()
                .map(|(d, m)| (*d, Money::from_minor(*m, self.currency)))
                .collect(),
            paid_on: self.paid_on,
            first_reminder_on: self.first_reminder_on,
            country: None,
            sales_rep: None,
            segment: None,
        }
    }
}

impl SummaryBasis {
    pub fn of_invoice(f: &InvoiceFacts) -> SummaryBasis {
        let currency = f.amount.currency();
        SummaryBasis::Invoice(InvoiceBasis {
            rep: rep_key(f.sales_rep.as_deref()),
            currency,
            amount: f.amount.minor(),
            invoice_date: f.invoice_date,
            due_date: f.due_date,
            status: f.status,
            paid_on: f.paid_on,
            first_reminder_on: f.first_reminder_on,
            payments: f
                .payments
                .iter()
                .filter(|(_, m)| m.currency() == currency)
                .map(|(d, m)| (*d, m.minor()))
                .collect(),
        })
    }

    /// A message's basis: `None` unless it is a reminder (cancelled ones
    /// are not passed as facts). `rep` is its buyer's [`rep_key`];
    /// `paid_on` as for [`FunnelCounts::of`].
    pub fn of_message(
        m: &MessageFacts,
        rep: &str,
        paid_on: impl Fn(InvoiceId) -> Option<Date>,
    ) -> Option<SummaryBasis> {
        m.is_reminder().then(|| SummaryBasis::Message {
            rep: rep.to_string(),
            planned_on: day_number(m.planned_on),
            counts: FunnelCounts::of(m, paid_on),
        })
    }

    /// The rows this owner adds to the tables.
    pub fn rows(&self) -> Vec<SummaryRow> {
        match self {
            SummaryBasis::Invoice(b) => invoice_rows(b),
            SummaryBasis::Message {
                rep,
                planned_on,
                counts,
            } => {
                let c = counts;
                let v = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                vec![SummaryRow {
                    kind: SummaryKind::Funnel,
                    rep: rep.clone(),
                    currency: String::new(),
                    k1: 0,
                    k2: 0,
                    day: *planned_on,
                    values: [
                        v(c.planned),
                        v(c.sent),
                        v(c.delivered),
                        v(c.read_known),
                        v(c.read),
                        v(c.replied),
                        v(c.paid_within[0]),
                        v(c.paid_within[1]),
                        v(c.paid_within[2]),
                    ],
                }]
            }
        }
    }

    /// A short text that [`SummaryBasis::decode`] reads back.
    pub fn encode(&self) -> String {
        let day = |d: Date| day_number(d).to_string();
        let opt = |d: Option<Date>| d.map(day).unwrap_or_default();
        match self {
            SummaryBasis::Invoice(b) => {
                let payments: Vec<String> = b
                    .payments
                    .iter()
                    .map(|(d, m)| format!("{}:{m}", day(*d)))
                    .collect();
                format!(
                    "i|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                    b.currency.code(),
                    b.amount,
                    day(b.invoice_date),
                    day(b.due_date),
                    b.status.as_str(),
                    opt(b.paid_on),
                    opt(b.first_reminder_on),
                    payments.join(","),
                    b.rep
                )
            }
            SummaryBasis::Message {
                rep,
                planned_on,
                counts: c,
            } => format!(
                "m|{planned_on}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{rep}",
                c.planned,
                c.sent,
                c.delivered,
                c.read_known,
                c.read,
                c.replied,
                c.paid_within[0],
                c.paid_within[1],
                c.paid_within[2]
            ),
        }
    }

    pub fn decode(text: &str) -> Result<SummaryBasis, MetricsError> {
        let bad = || MetricsError::BadBasis(text.chars().take(80).collect());
        let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
        let date = |s: &str| num(s).and_then(|n| day_of_number(n).ok_or_else(bad));
        let opt_date = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                date(s).map(Some)
            }
        };
        if let Some(rest) = text.strip_prefix("i|") {
            // the rep comes last and may hold `|`
            let f: Vec<&str> = rest.splitn(9, '|').collect();
            let [
                currency,
                amount,
                invoice_date,
                due_date,
                status,
                paid_on,
                first,
                payments,
                rep,
            ] = f.as_slice()
            else {
                return Err(bad());
            };
            let payments = payments
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (d, m) = p.split_once(':').ok_or_else(bad)?;
                    Ok((date(d)?, num(m)?))
                })
                .collect::<Result<Vec<_>, MetricsError>>()?;
            return Ok(SummaryBasis::Invoice(InvoiceBasis {
                rep: (*rep).to_string(),
                currency: Currency::from_code(currency).map_err(|_| bad())?,
                amount: num(amount)?,
                invoice_date: date(invoice_date)?,
                due_date: date(due_date)?,
                status: InvoiceStatus::parse(status).ok_or_else(bad)?,
                paid_on: opt_date(paid_on)?,
                first_reminder_on: opt_date(first)?,
                payments,
            }));
        }
        if let Some(rest) = text.strip_prefix("m|") {
            let f: Vec<&str> = rest.splitn(11, '|').collect();
            if f.len() != 11 {
                return Err(bad());
            }
            let n = |i: usize| f[i].parse::<u64>().map_err(|_| bad());
            return Ok(SummaryBasis::Message {
                rep: f[10].to_string(),
                planned_on: num(f[0])?,
                counts: FunnelCounts {
                    planned: n(1)?,
                    sent: n(2)?,
                    delivered: n(3)?,
                    read_known: n(4)?,
                    read: n(5)?,
                    replied: n(6)?,
                    paid_within: [n(7)?, n(8)?, n(9)?],
                },
            });
        }
        Err(bad())
    }
}

fn invoice_rows(b: &InvoiceBasis) -> Vec<SummaryRow> {
    // a cancelled invoice counts nowhere: every formula leaves it out
    if b.status == InvoiceStatus::Cancelled {
        return Vec::new();
    }
    let f = b.facts();
    let currency = b.currency.code().to_string();
    let row = |kind, k1, k2, day, values: &[i64]| {
        let mut v = [0i64; SUMMARY_VALUES];
        v[..values.len()].copy_from_slice(values);
        SummaryRow {
            kind,
            rep: b.rep.clone(),
            currency: currency.clone(),
            k1,
            k2,
            day,
            values: v,
        }
    };
    let mut rows = Vec::new();
    let month = month_number(b.invoice_date);
    let disputed = i64::from(b.status == InvoiceStatus::Disputed);
    let due = day_number(b.due_date);

    // what it owes changes on its invoice date, on each payment date and on
    // the day it is settled; nothing before its invoice date
    let mut days: Vec<Date> = std::iter::once(b.invoice_date)
        .chain(b.payments.iter().map(|(d, _)| *d))
        .chain(f.settled_on())
        .filter(|d| *d >= b.invoice_date)
        .collect();
    days.sort_unstable();
    days.dedup();
    let (mut owed_before, mut open_before) = (0i64, 0i64);
    for d in days {
        let owed = i64::try_from(f.owed_on(d).unwrap_or(0)).unwrap_or(i64::MAX);
        let open = i64::from(owed > 0);
        if owed != owed_before || open != open_before {
            let n = day_number(d);
            rows.push(row(
                SummaryKind::Owed,
                disputed,
                month,
                n,
                &[owed - owed_before, open - open_before],
            ));
            rows.push(row(
                SummaryKind::OwedByDue,
                due,
                0,
                n,
                &[owed - owed_before],
            ));
        }
        (owed_before, open_before) = (owed, open);
    }
    if owed_before != 0 || open_before != 0 {
        rows.push(row(
            SummaryKind::Owed,
            disputed,
            month,
            ALL_DAYS,
            &[owed_before, open_before],
        ));
        rows.push(row(
            SummaryKind::OwedByDue,
            due,
            0,
            ALL_DAYS,
            &[owed_before],
        ));
    }

    rows.push(row(
        SummaryKind::Sales,
        month,
        0,
        day_number(b.invoice_date),
        &[b.amount, 1],
    ));
    for (d, m) in &b.payments {
        rows.push(row(SummaryKind::Collected, 0, 0, day_number(*d), &[*m]));
    }
    if let Some(paid) = b.paid_on {
        let n = day_number(paid);
        rows.push(row(
            SummaryKind::DaysToPay,
            0,
            i64::from(days_between(b.due_date, paid)),
            n,
            &[1],
        ));
        if let Some(first) = b.first_reminder_on {
            rows.push(row(
                SummaryKind::DaysToPay,
                1,
                i64::from(days_between(first, paid)),
                n,
                &[1],
            ));
        }
    }
    let mut curve = vec![b.amount];
    for n in CURVE_DAYS {
        let collected = b
            .due_date
            .checked_add(jiff::Span::new().days(n))
            .ok()
            .map_or(0, |by| {
                let amount = i128::from(b.amount);
                let owed = f.owed_on(by).unwrap_or(amount);
                i64::try_from((amount - owed).clamp(0, amount.max(0))).unwrap_or(0)
            });
        curve.push(collected);
    }
    rows.push(row(SummaryKind::Curve, 0, 0, due, &curve));

    // one row per key
    let mut d = Summary::default();
    d.add(&rows, 1);
    d.rows()
}

/// The collection curve, in basis points: for each N of [`CURVE_DAYS`],
/// of the invoices due within `period` (cancelled ones left out) that had
/// been due at least N days by `today`, the share of their amount collected
/// by N days after their due date (what [`InvoiceFacts::owed_on`] says they
/// still owed then, taken from the amount). Each point is thus over the
/// invoices old enough for it; `None` when none is. Sums are exact per
/// currency; each currency's sums are converted to the home currency once
/// ([`FxConfig::to_home`], rounded half away from zero) and currencies
/// without a rate are left out; the share is rounded once, half away from
/// zero ([`BasisPoints::ratio`]).
pub fn collection_curve(
    facts: &[InvoiceFacts],
    period: Period,
    today: Date,
    fx: &FxConfig,
) -> Vec<Option<BasisPoints>> {
    CURVE_DAYS
        .iter()
        .map(|&n| {
            // currency → (due, collected by due + n)
            let mut sums: BTreeMap<&'static str, (Currency, i128, i128)> = BTreeMap::new();
            for f in facts {
                if f.status == InvoiceStatus::Cancelled || !period.contains(f.due_date) {
                    continue;
                }
                let Ok(by) = f.due_date.checked_add(jiff::Span::new().days(n)) else {
                    continue;
                };
                if by > today {
                    continue;
                }
                let amount = i128::from(f.amount.minor());
                let owed = f.owed_on(by).unwrap_or(amount);
                let c = f.amount.currency();
                let e = sums.entry(c.code()).or_insert((c, 0, 0));
                e.1 += amount;
                e.2 += (amount - owed).clamp(0, amount.max(0));
            }
            curve_point(sums.into_values(), fx)
        })
        .collect()
}

fn curve_point(
    sums: impl Iterator<Item = (Currency, i128, i128)>,
    fx: &FxConfig,
) -> Option<BasisPoints> {
    let mut due: i128 = 0;
    let mut collected: i128 = 0;
    for (currency, d, col) in sums {
        let home = |v: i128| {
            i64::try_from(v)
                .ok()
                .and_then(|v| fx.to_home(Money::from_minor(v, currency)))
                .map(|m| i128::from(m.minor()))
        };
        if let (Some(d), Some(col)) = (home(d), home(col)) {
            due += d;
            collected += col;
        }
    }
    BasisPoints::ratio(collected, due)
}

/// The report of a period (and its DSO trend and collection curve) from
/// summary tables: the same figures [`CollectionReport::build`],
/// [`super::dso_trend`] and [`collection_curve`] give from the facts.
#[derive(Debug, Clone, Copy)]
pub struct SummaryReport<'a> {
    pub period: Period,
    /// The day the collection curve is drawn on.
    pub today: Date,
    /// Months of DSO trend.
    pub trend_months: u32,
    /// [`rep_key`] of the rep whose buyers are counted; `None` for all.
    pub rep: Option<&'a str>,
}

/// What [`SummaryReport::compute`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryFigures {
    pub collection: CollectionReport,
    pub dso_trend: DsoTrend,
    pub curve: Vec<Option<BasisPoints>>,
}

impl SummaryReport<'_> {
    fn q(&self, kind: SummaryKind, from: i64, to: i64, by_day: bool) -> SummaryQuery {
        SummaryQuery {
            kind,
            from,
            to,
            rep: self.rep.map(str::to_string),
            by_day,
        }
    }

    /// The month ends of the DSO trend (see [`super::dso_trend`]).
    fn trend_ends(&self) -> Result<Vec<Date>, MetricsError> {
        trend_month_ends(self.period.to, self.trend_months)
    }

    /// The days at which what was owed is needed: the period's end, the
    /// day before it, and the trend's month ends.
    fn owed_days(&self) -> Result<Vec<i64>, MetricsError> {
        let mut days = vec![day_number(self.period.to)];
        if let Ok(d) = self.period.from.yesterday() {
            days.push(day_number(d));
        }
        days.extend(self.trend_ends()?.into_iter().map(day_number));
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }

    /// Every read [`SummaryReport::compute`] makes.
    pub fn queries(&self) -> Result<Vec<SummaryQuery>, MetricsError> {
        let p = self.period;
        let (from, to) = (day_number(p.from), day_number(p.to));
        let mut qs = vec![
            self.q(SummaryKind::Owed, ALL_DAYS, ALL_DAYS, false),
            self.q(SummaryKind::OwedByDue, ALL_DAYS, ALL_DAYS, false),
            self.q(SummaryKind::OwedByDue, to + 1, ALL_DAYS - 1, false),
            self.q(SummaryKind::Sales, i64::MIN, to, true),
            self.q(SummaryKind::Collected, from, to, false),
            self.q(SummaryKind::DaysToPay, from, to, false),
            self.q(SummaryKind::Curve, from, to, true),
            self.q(SummaryKind::Funnel, from, to, false),
        ];
        for d in self.owed_days()? {
            qs.push(self.q(SummaryKind::Owed, d + 1, ALL_DAYS - 1, false));
        }
        Ok(qs)
    }

    /// The figures, from the sums `src` gives.
    pub fn compute(
        &self,
        src: &dyn SummarySource,
        fx: &FxConfig,
    ) -> Result<SummaryFigures, MetricsError> {
        let p = self.period;
        let (from, to) = (day_number(p.from), day_number(p.to));
        let owed_all = src.sums(&self.q(SummaryKind::Owed, ALL_DAYS, ALL_DAYS, false))?;
        // what was owed at the end of `day`, per (currency, disputed, month)
        let owed_at = |day: i64| -> Result<Vec<SummaryRow>, MetricsError> {
            let after = src.sums(&self.q(SummaryKind::Owed, day + 1, ALL_DAYS - 1, false))?;
            Ok(minus(&owed_all, &after))
        };
        let currency =
            |code: &str| Currency::from_code(code).map_err(|_| MetricsError::BadBasis(code.into()));

        // outstanding at the end of the period
        let ending_rows = owed_at(to)?;
        let mut total = Sums::default();
        let mut disputed = Sums::default();
        let mut open_invoices = 0u64;
        for r in &ending_rows {
            let c = currency(&r.currency)?;
            total.add(c, i128::from(r.values[0]));
            if r.k1 == 1 {
                disputed.add(c, i128::from(r.values[0]));
            }
            open_invoices += u64::try_from(r.values[1]).unwrap_or(0);
        }
        let outstanding = Outstanding {
            as_of: p.to,
            total: total.totals(fx)?,
            disputed: disputed.totals(fx)?,
            open_invoices,
        };

        // ageing and the current (not yet due) part, by due date
        let by_due = minus(
            &src.sums(&self.q(SummaryKind::OwedByDue, ALL_DAYS, ALL_DAYS, false))?,
            &src.sums(&self.q(SummaryKind::OwedByDue, to + 1, ALL_DAYS - 1, false))?,
        );
        let mut ageing_rows: BTreeMap<&'static str, (Currency, [i128; 5])> = BTreeMap::new();
        let mut current = Sums::default();
        for r in &by_due {
            if r.values[0] == 0 {
                continue;
            }
            let c = currency(&r.currency)?;
            let past_due = to - r.k1;
            let bucket = AgeBucket::of(i32::try_from(past_due).unwrap_or(i32::MAX));
            ageing_rows.entry(c.code()).or_insert((c, [0; 5])).1[bucket.index()] +=
                i128::from(r.values[0]);
            if past_due <= 0 {
                current.add(c, i128::from(r.values[0]));
            }
        }
        let ageing = ageing_from(p.to, &ageing_rows, fx)?;

        // credit sales per day, for the period and the countback months (the
        // trend's month ends are never after the period's end)
        let trend_ends = self.trend_ends()?;
        let sales_days = src.sums(&self.q(SummaryKind::Sales, i64::MIN, to, true))?;
        let mut sales = Sums::default();
        for r in &sales_days {
            if (from..=to).contains(&r.day) {
                sales.add(currency(&r.currency)?, i128::from(r.values[0]));
            }
        }
        let credit_sales = sales.totals(fx)?;

        let mut collected = Sums::default();
        for r in src.sums(&self.q(SummaryKind::Collected, from, to, false))? {
            collected.add(currency(&r.currency)?, i128::from(r.values[0]));
        }
        let collected_totals = collected.totals(fx)?;

        let dso_simple = dso_simple_from(
            i128::from(outstanding.total.home.minor()),
            i128::from(credit_sales.home.minor()),
            p,
        )?;

        let countback = |end: Date, ar_rows: &[SummaryRow]| -> Result<_, MetricsError> {
            let end_month = month_number(end);
            let end_day = day_number(end);
            let mut sales: BTreeMap<i64, Sums> = BTreeMap::new();
            for r in sales_days
                .iter()
                .filter(|r| r.day <= end_day && r.values[1] != 0)
            {
                let c = currency(&r.currency)?;
                if convertible(fx, c) {
                    sales
                        .entry(end_month - r.k1)
                        .or_default()
                        .add(c, i128::from(r.values[0]));
                }
            }
            let mut ar: BTreeMap<i64, Sums> = BTreeMap::new();
            for r in ar_rows.iter().filter(|r| r.values[0] != 0) {
                let c = currency(&r.currency)?;
                if convertible(fx, c) {
                    ar.entry(end_month - r.k2)
                        .or_default()
                        .add(c, i128::from(r.values[0]));
                }
            }
            countback_from(end, &sales, &ar, fx)
        };
        let dso_countback = countback(p.to, &ending_rows)?;
        let mut points = Vec::new();
        for end in trend_ends {
            let rows = owed_at(day_number(end))?;
            points.push(DsoPoint {
                month: month_key(end),
                end,
                dso: countback(end, &rows)?,
            });
        }

        let mut beginning = Sums::default();
        if let Ok(d) = p.from.yesterday() {
            for r in owed_at(day_number(d))? {
                beginning.add(currency(&r.currency)?, i128::from(r.values[0]));
            }
        }
        let cei = cei_from(p, &beginning, &sales, &total, &current, fx)?;

        let mut after_due = BTreeMap::new();
        let mut after_first = BTreeMap::new();
        for r in src.sums(&self.q(SummaryKind::DaysToPay, from, to, false))? {
            let count = u64::try_from(r.values[0]).unwrap_or(0);
            if count == 0 {
                continue;
            }
            let h = if r.k1 == 0 {
                &mut after_due
            } else {
                &mut after_first
            };
            *h.entry(r.k2).or_insert(0) += count;
        }
        let days_to_pay = DaysToPay {
            after_due: DayStats::of_histogram(&after_due),
            after_first_reminder: DayStats::of_histogram(&after_first),
        };

        let mut counts = FunnelCounts::default();
        for r in src.sums(&self.q(SummaryKind::Funnel, from, to, false))? {
            let v = |i: usize| u64::try_from(r.values[i]).unwrap_or(0);
            counts.add(&FunnelCounts {
                planned: v(0),
                sent: v(1),
                delivered: v(2),
                read_known: v(3),
                read: v(4),
                replied: v(5),
                paid_within: [v(6), v(7), v(8)],
            });
        }
        debug_assert_eq!(PAID_WITHIN_DAYS.len(), 3);
        let funnel = Funnel::from_counts(&counts);

        let curve_rows = src.sums(&self.q(SummaryKind::Curve, from, to, true))?;
        let today = day_number(self.today);
        let mut curve = Vec::new();
        for (i, n) in CURVE_DAYS.iter().enumerate() {
            let mut sums: BTreeMap<&'static str, (Currency, i128, i128)> = BTreeMap::new();
            for r in curve_rows.iter().filter(|r| r.day + n <= today) {
                let c = currency(&r.currency)?;
                let e = sums.entry(c.code()).or_insert((c, 0, 0));
                e.1 += i128::from(r.values[0]);
                e.2 += i128::from(r.values[i + 1]);
            }
            curve.push(curve_point(sums.into_values(), fx));
        }

        let not_converted = not_converted_in(&[
            &credit_sales,
            &collected_totals,
            &outstanding.total,
            &cei.beginning_ar,
            &cei.ending_ar,
        ]);
        Ok(SummaryFigures {
            collection: CollectionReport {
                period: p,
                home_currency: fx.home_currency,
                outstanding,
                ageing,
                credit_sales,
                collected: collected_totals,
                dso_simple,
                dso_countback,
                cei,
                days_to_pay,
                funnel,
                not_converted,
            },
            dso_trend: DsoTrend { points },
            curve,
        })
    }
}

/// `a − b`, row by row on (currency, k1, k2, day).
fn minus(a: &[SummaryRow], b: &[SummaryRow]) -> Vec<SummaryRow> {
    let mut out: BTreeMap<(String, i64, i64, i64), SummaryRow> = BTreeMap::new();
    for (rows, sign) in [(a, 1), (b, -1)] {
        for r in rows {
            let e = out
                .entry((r.currency.clone(), r.k1, r.k2, r.day))
                .or_insert_with(|| SummaryRow {
                    values: [0; SUMMARY_VALUES],
                    ..r.clone()
                });
            for (x, v) in e.values.iter_mut().zip(r.values) {
                *x += sign * v;
            }
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::dso_trend;
    use crate::{BuyerId, InvoiceId};
    use jiff::civil::date;
    use proptest::prelude::*;

    const REPS: [Option<&str>; 4] = [None, Some("Ravi"), Some(" ravi "), Some("Asha")];
    const CURRENCIES: [Currency; 3] = [Currency::INR, Currency::USD, Currency::JPY];

    fn day(n: i64) -> Date {
        date(2026, 1, 1)
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
    }

    type RawInvoice = (
        usize,
        i64,
        i64,
        i64,
        usize,
        Vec<(i64, i64)>,
        Option<i64>,
        Option<i64>,
        usize,
    );
    type RawMessage = (Vec<usize>, bool, i64, Option<i64>, bool, Option<bool>, bool);

    fn raw_invoice() -> impl Strategy<Value = RawInvoice> {
        (
            0..CURRENCIES.len(),
            -5_000i64..200_000,
            0i64..300,
            0i64..60,
            0..InvoiceStatus::ALL.len(),
            proptest::collection::vec((-5i64..150, 1i64..120_000), 0..3),
            proptest::option::of(-3i64..200),
            proptest::option::of(0i64..120),
            0..REPS.len(),
        )
    }

    fn raw_message() -> impl Strategy<Value = RawMessage> {
        (
            proptest::collection::vec(0usize..40, 1..3),
            any::<bool>(),
            0i64..330,
            proptest::option::of(0i64..10),
            any::<bool>(),
            proptest::option::of(any::<bool>()),
            any::<bool>(),
        )
    }

    fn build(
        raw: &[RawInvoice],
        raw_messages: &[RawMessage],
    ) -> (Vec<InvoiceFacts>, Vec<MessageFacts>) {
        let invoices: Vec<InvoiceFacts> = raw
            .iter()
            .enumerate()
            .map(
                |(i, (c, amount, inv, terms, status, payments, paid, first, rep))| {
                    let currency = CURRENCIES[*c];
                    let invoice_date = day(*inv);
                    InvoiceFacts {
                        id: InvoiceId::new(i as i64 + 1),
                        buyer_id: BuyerId::new(*rep as i64),
                        number: format!("INV-{i}"),
                        amount: Money::from_minor(*amount, currency),
                        invoice_date,
                        due_date: day(inv + terms),
                        status: InvoiceStatus::ALL[*status],
                        payments: payments
                            .iter()
                            .map(|(d, m)| (day(inv + d), Money::from_minor(*m, currency)))
                            .collect(),
                        paid_on: paid.map(|d| day(inv + d)),
                        first_reminder_on: first.map(|d| day(inv + d)),
                        country: None,
                        sales_rep: REPS[*rep].map(str::to_string),
                        segment: None,
                    }
                },
            )
            .collect();
        let messages = raw_messages
            .iter()
            .enumerate()
            .filter(|_| !invoices.is_empty())
            .map(
                |(i, (ids, reminder, planned, sent, delivered, read, replied))| {
                    // a message carries invoices of one buyer, so of one rep
                    let rep = invoices[ids[0] % invoices.len()].sales_rep.clone();
                    let ids: Vec<InvoiceId> = ids
                        .iter()
                        .map(|k| &invoices[k % invoices.len()])
                        .filter(|i| i.sales_rep == rep)
                        .map(|i| i.id)
                        .collect();
                    MessageFacts {
                        id: i as i64,
                        invoice_ids: ids,
                        template: "t".into(),
                        step: reminder.then(|| "overdue+7".to_string()),
                        segment: None,
                        sales_rep: rep,
                        country: None,
                        planned_on: day(*planned),
                        sent_on: sent.map(|s| day(planned + s)),
                        delivered: *delivered,
                        read: *read,
                        replied: *replied,
                    }
                },
            )
            .collect();
        (invoices, messages)
    }

    fn expected(
        invoices: &[InvoiceFacts],
        messages: &[MessageFacts],
        period: Period,
        today: Date,
        fx: &FxConfig,
    ) -> SummaryFigures {
        SummaryFigures {
            collection: CollectionReport::build(invoices, messages, period, fx).unwrap(),
            dso_trend: dso_trend(invoices, period.to, 6, fx).unwrap(),
            curve: collection_curve(invoices, period, today, fx),
        }
    }

    /// Reads through [`FetchedSums`], as a store-backed report does: only
    /// what `queries` lists is there.
    fn via_fetched(summary: &Summary, report: &SummaryReport<'_>, fx: &FxConfig) -> SummaryFigures {
        let mut fetched = FetchedSums::default();
        for q in report.queries().unwrap() {
            let rows = summary.sums(&q).unwrap();
            fetched.0.insert(q, rows);
        }
        report.compute(&fetched, fx).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn the_summary_gives_the_figures_the_facts_give(
            raw in proptest::collection::vec(raw_invoice(), 0..40),
            raw_messages in proptest::collection::vec(raw_message(), 0..40),
            from in 0i64..360,
            len in 0i64..120,
            later in 0i64..100,
        ) {
            let (invoices, messages) = build(&raw, &raw_messages);
            // a payment in another currency is refused by the facts' formulas
            prop_assume!(invoices.iter().all(|i| i.payments.iter().all(|(_, m)| m.currency() == i.amount.currency())));
            let fx = FxConfig::default();
            let period = Period::new(day(from), day(from + len)).unwrap();
            let today = day(from + len + later);
            let summary = Summary::of_facts(&invoices, &messages);

            let all = SummaryReport { period, today, trend_months: 6, rep: None };
            let want = expected(&invoices, &messages, period, today, &fx);
            prop_assert_eq!(&all.compute(&summary, &fx).unwrap(), &want);
            prop_assert_eq!(&via_fetched(&summary, &all, &fx), &want);

            // a rep's own buyers ("Ravi" and " ravi " are the same rep)
            let key = rep_key(Some("RAVI"));
            let theirs: Vec<InvoiceFacts> = invoices.iter().filter(|i| rep_key(i.sales_rep.as_deref()) == key).cloned().collect();
            let their_messages: Vec<MessageFacts> = messages.iter().filter(|m| rep_key(m.sales_rep.as_deref()) == key).cloned().collect();
            let one = SummaryReport { rep: Some(&key), ..all };
            prop_assert_eq!(one.compute(&summary, &fx).unwrap(), expected(&theirs, &their_messages, period, today, &fx));
        }

        #[test]
        fn taking_a_basis_away_and_adding_the_new_one_follows_every_change(
            before in proptest::collection::vec(raw_invoice(), 1..30),
            after in proptest::collection::vec(raw_invoice(), 1..30),
        ) {
            // the store's way: each owner's old rows out, its new rows in
            let n = before.len().min(after.len());
            let (old, _) = build(&before[..n], &[]);
            let (new, _) = build(&after[..n], &[]);
            let mut tables = Summary::default();
            for f in &old {
                let b = SummaryBasis::of_invoice(f);
                let text = b.encode();
                prop_assert_eq!(SummaryBasis::decode(&text).unwrap(), b.clone());
                tables.add(&b.rows(), 1);
            }
            let mut delta = Summary::default();
            for (o, f) in old.iter().zip(&new) {
                let gone = SummaryBasis::decode(&SummaryBasis::of_invoice(o).encode()).unwrap();
                delta.add(&gone.rows(), -1);
                delta.add(&SummaryBasis::of_invoice(f).rows(), 1);
            }
            tables.add(&delta.rows(), 1);
            prop_assert_eq!(tables.rows(), Summary::of_facts(&new, &[]).rows());
        }
    }

    #[test]
    fn a_message_basis_reads_back() {
        let b = SummaryBasis::Message {
            rep: "=a|b".into(),
            planned_on: 20_000,
            counts: FunnelCounts {
                planned: 1,
                sent: 1,
                delivered: 1,
                read_known: 0,
                read: 0,
                replied: 0,
                paid_within: [0, 1, 1],
            },
        };
        assert_eq!(SummaryBasis::decode(&b.encode()).unwrap(), b);
        assert!(SummaryBasis::decode("x|1").is_err());
        assert!(SummaryBasis::decode("i|INR|12").is_err());
    }

    #[test]
    fn a_paid_invoice_owes_from_its_date_to_its_payment() {
        let f = InvoiceFacts {
            id: InvoiceId::new(1),
            buyer_id: BuyerId::new(1),
            number: "INV-1".into(),
            amount: Money::from_minor(1_000, Currency::INR),
            invoice_date: date(2026, 3, 1),
            due_date: date(2026, 3, 31),
            status: InvoiceStatus::Paid,
            payments: vec![
                (date(2026, 3, 10), Money::from_minor(400, Currency::INR)),
                (date(2026, 4, 2), Money::from_minor(600, Currency::INR)),
            ],
            paid_on: Some(date(2026, 4, 2)),
            first_reminder_on: Some(date(2026, 3, 28)),
            country: None,
            sales_rep: Some("Ravi".into()),
            segment: None,
        };
        let rows = SummaryBasis::of_invoice(&f).rows();
        let owed: Vec<(i64, [i64; 2])> = rows
            .iter()
            .filter(|r| r.kind == SummaryKind::Owed)
            .map(|r| (r.day, [r.values[0], r.values[1]]))
            .collect();
        assert_eq!(
            owed,
            vec![
                (day_number(date(2026, 3, 1)), [1_000, 1]),
                (day_number(date(2026, 3, 10)), [-400, 0]),
                (day_number(date(2026, 4, 2)), [-600, -1]),
            ],
            "paid in full: nothing left under ALL_DAYS"
        );
        let days: Vec<(i64, i64)> = rows
            .iter()
            .filter(|r| r.kind == SummaryKind::DaysToPay)
            .map(|r| (r.k1, r.k2))
            .collect();
        assert_eq!(days, vec![(0, 2), (1, 5)]);
        assert!(rows.iter().all(|r| r.rep == "=ravi"));
    }

    fn curve_fact(id: i64, due: Date, amount: i64, payments: Vec<(Date, i64)>) -> InvoiceFacts {
        InvoiceFacts {
            id: InvoiceId::new(id),
            buyer_id: BuyerId::new(1),
            number: format!("INV-{id}"),
            amount: Money::from_minor(amount, Currency::INR),
            invoice_date: date(2026, 1, 1),
            due_date: due,
            status: InvoiceStatus::PartiallyPaid,
            payments: payments
                .into_iter()
                .map(|(d, m)| (d, Money::from_minor(m, Currency::INR)))
                .collect(),
            paid_on: None,
            first_reminder_on: None,
            country: None,
            sales_rep: None,
            segment: None,
        }
    }

    #[test]
    fn the_curve_counts_what_was_collected_by_each_day() {
        let period = Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap();
        let facts = vec![
            // half paid 5 days after due, the rest at +20
            curve_fact(
                1,
                date(2026, 3, 1),
                1_000,
                vec![(date(2026, 3, 6), 500), (date(2026, 3, 21), 500)],
            ),
            // nothing paid
            curve_fact(2, date(2026, 3, 10), 1_000, vec![]),
            // due outside the period
            curve_fact(3, date(2026, 2, 1), 5_000, vec![]),
        ];
        let curve: Vec<Option<i64>> =
            collection_curve(&facts, period, date(2026, 4, 5), &FxConfig::default())
                .into_iter()
                .map(|b| b.map(|b| b.0))
                .collect();
        // +0: nothing; +7: 500 of 2000; +14: 500/2000; +30: invoice 2 is not
        // 30 days past due on 5 April (due 10 March: +26), so 1000/1000
        assert_eq!(
            curve,
            vec![
                Some(0),
                Some(2_500),
                Some(2_500),
                Some(10_000),
                None,
                None,
                None
            ]
        );
    }
}
