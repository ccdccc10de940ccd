//! Amounts: outstanding receivables, their ageing, credit sales and
//! collections, per currency and in the home currency.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{InvoiceFacts, MetricsError, Period, check_all};
use crate::cadence::FxConfig;
use crate::ledger::{InvoiceStatus, days_between};
use crate::{Currency, Money};

/// An amount per currency and its home-currency equivalent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// One amount per currency, sorted by currency code; currencies whose
    /// total is zero are left out.
    pub by_currency: Vec<Money>,
    /// The sum of the currency totals that can be converted, each converted
    /// once with `FxConfig::to_home` (rounded half away from zero).
    pub home: Money,
    /// Currency totals without a rate to the home currency: not in `home`.
    pub not_converted: Vec<Money>,
}

impl Totals {
    /// The total in `currency` (zero when there is none).
    pub fn get(&self, currency: Currency) -> Money {
        self.by_currency
            .iter()
            .copied()
            .find(|m| m.currency() == currency)
            .unwrap_or(Money::zero(currency))
    }
}

/// Exact per-currency sums in minor units, keyed by currency code.
#[derive(Debug, Default)]
pub(super) struct Sums(BTreeMap<&'static str, (Currency, i128)>);

impl Sums {
    pub(super) fn add(&mut self, currency: Currency, minor: i128) {
        self.0.entry(currency.code()).or_insert((currency, 0)).1 += minor;
    }

    pub(super) fn get(&self, currency: Currency) -> i128 {
        self.0.get(currency.code()).map_or(0, |(_, v)| *v)
    }

    pub(super) fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        self.0.values().map(|(c, _)| *c)
    }

    pub(super) fn totals(&self, fx: &FxConfig) -> Result<Totals, MetricsError> {
        let mut by_currency = Vec::new();
        let mut not_converted = Vec::new();
        let mut home: i128 = 0;
        for &(currency, minor) in self.0.values() {
            if minor == 0 {
                continue;
            }
            let amount = money(minor, currency)?;
            by_currency.push(amount);
            match to_home(fx, amount)? {
                Some(h) => home += i128::from(h.minor()),
                None => not_converted.push(amount),
            }
        }
        Ok(Totals {
            by_currency,
            home: money(home, fx.home_currency)?,
            not_converted,
        })
    }
}

/// `minor` as money, or `Overflow` when it does not fit an `i64`.
pub(super) fn money(minor: i128, currency: Currency) -> Result<Money, MetricsError> {
    i64::try_from(minor)
        .map(|m| Money::from_minor(m, currency))
        .map_err(|_| MetricsError::Overflow)
}

/// Converts into the home currency: `Ok(None)` when no rate is configured
/// for the currency, `Overflow` when the result does not fit.
pub(super) fn to_home(fx: &FxConfig, amount: Money) -> Result<Option<Money>, MetricsError> {
    if !convertible(fx, amount.currency()) {
        return Ok(None);
    }
    fx.to_home(amount).map(Some).ok_or(MetricsError::Overflow)
}

pub(super) fn convertible(fx: &FxConfig, currency: Currency) -> bool {
    currency == fx.home_currency || fx.rates.contains_key(currency.code())
}

/// Receivables on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outstanding {
    pub as_of: Date,
    /// Everything owed at the end of `as_of`.
    pub total: Totals,
    /// The part of `total` owed on invoices now in dispute.
    pub disputed: Totals,
    /// Invoices owing something.
    pub open_invoices: u64,
}

/// What is owed at the end of `as_of`: for every invoice that exists then and
/// is not cancelled, its amount less the payments dated on or before
/// `as_of` (floored at zero; zero once paid in full), summed per currency
/// and converted per currency total.
pub fn outstanding(
    invoices: &[InvoiceFacts],
    as_of: Date,
    fx: &FxConfig,
) -> Result<Outstanding, MetricsError> {
    check_all(invoices)?;
    let mut total = Sums::default();
    let mut disputed = Sums::default();
    let mut open_invoices = 0;
    for (inv, owed) in owing(invoices, as_of) {
        let currency = inv.amount.currency();
        total.add(currency, owed);
        if inv.status == InvoiceStatus::Disputed {
            disputed.add(currency, owed);
        }
        open_invoices += 1;
    }
    Ok(Outstanding {
        as_of,
        total: total.totals(fx)?,
        disputed: disputed.totals(fx)?,
        open_invoices,
    })
}

/// The invoices owing something at the end of `day`, with what they owe.
pub(super) fn owing(
    invoices: &[InvoiceFacts],
    day: Date,
) -> impl Iterator<Item = (&InvoiceFacts, i128)> {
    invoices
        .iter()
        .filter_map(move |inv| inv.owed_on(day).filter(|o| *o > 0).map(|o| (inv, o)))
}

/// An ageing bucket: days past due on the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBucket {
    /// Due on the as-of date or later (0 or fewer days past due).
    NotDue,
    Days1To30,
    Days31To60,
    Days61To90,
    /// 91 days or more past due.
    Over90,
}

impl AgeBucket {
    pub const ALL: [AgeBucket; 5] = [
        AgeBucket::NotDue,
        AgeBucket::Days1To30,
        AgeBucket::Days31To60,
        AgeBucket::Days61To90,
        AgeBucket::Over90,
    ];

    /// The bucket of an invoice `days_past_due` days past its due date
    /// (as-of date − due date).
    pub fn of(days_past_due: i32) -> AgeBucket {
        match days_past_due {
            ..=0 => AgeBucket::NotDue,
            1..=30 => AgeBucket::Days1To30,
            31..=60 => AgeBucket::Days31To60,
            61..=90 => AgeBucket::Days61To90,
            _ => AgeBucket::Over90,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AgeBucket::NotDue => "not due",
            AgeBucket::Days1To30 => "1-30",
            AgeBucket::Days31To60 => "31-60",
            AgeBucket::Days61To90 => "61-90",
            AgeBucket::Over90 => "90+",
        }
    }

    pub(super) fn index(self) -> usize {
        match self {
            AgeBucket::NotDue => 0,
            AgeBucket::Days1To30 => 1,
            AgeBucket::Days31To60 => 2,
            AgeBucket::Days61To90 => 3,
            AgeBucket::Over90 => 4,
        }
    }
}

/// Amounts owed in one currency, by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeingBuckets {
    pub currency: Currency,
    pub not_due: Money,
    pub days_1_30: Money,
    pub days_31_60: Money,
    pub days_61_90: Money,
    pub over_90: Money,
    /// The sum of the five buckets.
    pub total: Money,
}

impl AgeingBuckets {
    pub fn get(&self, bucket: AgeBucket) -> Money {
        match bucket {
            AgeBucket::NotDue => self.not_due,
            AgeBucket::Days1To30 => self.days_1_30,
            AgeBucket::Days31To60 => self.days_31_60,
            AgeBucket::Days61To90 => self.days_61_90,
            AgeBucket::Over90 => self.over_90,
        }
    }

    fn new(currency: Currency, amounts: [i128; 5]) -> Result<AgeingBuckets, MetricsError> {
        let [a, b, c, d, e] = amounts;
        Ok(AgeingBuckets {
            currency,
            not_due: money(a, currency)?,
            days_1_30: money(b, currency)?,
            days_31_60: money(c, currency)?,
            days_61_90: money(d, currency)?,
            over_90: money(e, currency)?,
            total: money(amounts.iter().sum(), currency)?,
        })
    }
}

/// What is owed on a date, by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ageing {
    pub as_of: Date,
    /// One row per currency owing something, sorted by currency code; each
    /// row's total equals that currency's [`Outstanding`] total.
    pub by_currency: Vec<AgeingBuckets>,
    /// In the home currency: each currency's bucket converted on its own
    /// (rounded half away from zero), then added up. Its total can differ
    /// from [`Outstanding`]'s home total, which converts each currency's
    /// total once, by the rounding: at most 3 minor units per converted
    /// currency (half a unit for each of five buckets and the total).
    pub home: AgeingBuckets,
    /// Currencies without a rate, left out of `home`.
    pub not_converted: Vec<Currency>,
}

/// Ages what is owed at the end of `as_of` (same receivables as
/// [`outstanding`]) by days past due: `as_of − due_date`, where 0 or less is
/// not due yet. The usual accounts-receivable ageing schedule with 30-day
/// buckets.
pub fn ageing(
    invoices: &[InvoiceFacts],
    as_of: Date,
    fx: &FxConfig,
) -> Result<Ageing, MetricsError> {
    check_all(invoices)?;
    let mut rows: BTreeMap<&'static str, (Currency, [i128; 5])> = BTreeMap::new();
    for (inv, owed) in owing(invoices, as_of) {
        let currency = inv.amount.currency();
        let bucket = AgeBucket::of(days_between(inv.due_date, as_of));
        rows.entry(currency.code()).or_insert((currency, [0; 5])).1[bucket.index()] += owed;
    }
    ageing_from(as_of, &rows, fx)
}

/// The ageing schedule from the amounts owed per currency (by code) and
/// bucket ([`AgeBucket`] order): what [`ageing`] and the summary tables
/// share.
pub(super) fn ageing_from(
    as_of: Date,
    rows: &BTreeMap<&'static str, (Currency, [i128; 5])>,
    fx: &FxConfig,
) -> Result<Ageing, MetricsError> {
    let mut by_currency = Vec::new();
    let mut home = [0i128; 5];
    let mut not_converted = Vec::new();
    for &(currency, amounts) in rows.values() {
        let row = AgeingBuckets::new(currency, amounts)?;
        if convertible(fx, currency) {
            for bucket in AgeBucket::ALL {
                if let Some(h) = to_home(fx, row.get(bucket))? {
                    home[bucket.index()] += i128::from(h.minor());
                }
            }
        } else {
            not_converted.push(currency);
        }
        by_currency.push(row);
    }
    Ok(Ageing {
        as_of,
        by_currency,
        home: AgeingBuckets::new(fx.home_currency, home)?,
        not_converted,
    })
}

/// Credit sales: the amounts of the invoices dated within `period`,
/// cancelled ones excluded.
pub fn credit_sales(
    invoices: &[InvoiceFacts],
    period: Period,
    fx: &FxConfig,
) -> Result<Totals, MetricsError> {
    check_all(invoices)?;
    sales_sums(invoices, period).totals(fx)
}

pub(super) fn sales_sums(invoices: &[InvoiceFacts], period: Period) -> Sums {
    let mut sums = Sums::default();
    for inv in invoices {
        if inv.status != InvoiceStatus::Cancelled && period.contains(inv.invoice_date) {
            sums.add(inv.amount.currency(), i128::from(inv.amount.minor()));
        }
    }
    sums
}

/// Collections: the payments dated within `period` on invoices that are not
/// cancelled.
pub fn collected(
    invoices: &[InvoiceFacts],
    period: Period,
    fx: &FxConfig,
) -> Result<Totals, MetricsError> {
    check_all(invoices)?;
    let mut sums = Sums::default();
    for inv in invoices {
        if inv.status == InvoiceStatus::Cancelled {
            continue;
        }
        for (day, amount) in &inv.payments {
            if period.contains(*day) {
                sums.add(amount.currency(), i128::from(amount.minor()));
            }
        }
    }
    sums.totals(fx)
}
