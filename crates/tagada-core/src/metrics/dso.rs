//! Days sales outstanding (simple and countback), its monthly trend, and the
//! collection effectiveness index.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::receivables::{Sums, Totals, convertible, money, owing, sales_sums, to_home};
use super::{
    BasisPoints, DayTenths, InvoiceFacts, MetricsError, Period, check_all, credit_sales, month_key,
    outstanding,
};
use crate::cadence::FxConfig;
use crate::ledger::{InvoiceStatus, days_between};

/// Simple (period-average) DSO in the home currency:
///
/// `DSO = AR at the end of the period / credit sales in the period × days
/// in the period`
///
/// with AR as in [`outstanding`] at `period.to` and credit sales as in
/// [`credit_sales`], both home-currency totals (currencies without a rate
/// left out of both). Rounded once to a tenth of a day, half away from
/// zero. `None` when there were no credit sales in the period (or it is
/// empty).
pub fn dso_simple(
    invoices: &[InvoiceFacts],
    period: Period,
    fx: &FxConfig,
) -> Result<Option<DayTenths>, MetricsError> {
    let ar = i128::from(outstanding(invoices, period.to, fx)?.total.home.minor());
    let sales = i128::from(credit_sales(invoices, period, fx)?.home.minor());
    dso_simple_from(ar, sales, period)
}

/// [`dso_simple`] from its two home-currency totals.
pub(super) fn dso_simple_from(
    ar: i128,
    sales: i128,
    period: Period,
) -> Result<Option<DayTenths>, MetricsError> {
    let days = i128::from(period.days());
    if sales <= 0 || days == 0 {
        return Ok(None);
    }
    // ar × days / sales, to tenths of a day, half away from zero.
    DayTenths::ratio(ar * days, sales)
        .map(Some)
        .ok_or(MetricsError::Overflow)
}

/// Countback DSO (the "exhaustion" method) in the home currency, at the end
/// of `end`:
///
/// Walk back over calendar months ending with `end` — first the days of
/// `end`'s month up to `end` (a partial month counts only those days), then
/// each earlier whole month — subtracting each month's credit sales from the
/// AR at `end` until it is exhausted. DSO is the days of the months fully
/// used plus, for the month where the AR runs out, `remaining AR / that
/// month's sales × its days`. Rounded once to a tenth of a day, half away
/// from zero.
///
/// Home amounts convert per currency *and month of invoice date*: the AR
/// left on the invoices of a month converts alongside that month's sales,
/// so the AR is always exhausted by the month of the oldest invoice still
/// owing (converting totals instead could leave a rounding crumb that walks
/// on into months without sales). The AR figure used may therefore differ
/// from [`outstanding`]'s home total by rounding. Currencies without a rate
/// are left out.
///
/// `Some(0)` when nothing is owed; `None` when no invoice (in a currency
/// that converts) is dated on or before `end`: there is nothing to count
/// back over.
pub fn dso_countback(
    invoices: &[InvoiceFacts],
    end: Date,
    fx: &FxConfig,
) -> Result<Option<DayTenths>, MetricsError> {
    check_all(invoices)?;
    let month_number = |d: Date| i64::from(d.year()) * 12 + i64::from(d.month());
    // Month index: 0 for `end`'s month, 1 for the month before...
    let mut sales: BTreeMap<i64, Sums> = BTreeMap::new();
    let mut ar: BTreeMap<i64, Sums> = BTreeMap::new();
    for inv in invoices {
        let currency = inv.amount.currency();
        if inv.status == InvoiceStatus::Cancelled
            || inv.invoice_date > end
            || !convertible(fx, currency)
        {
            continue;
        }
        let idx = month_number(end) - month_number(inv.invoice_date);
        sales
            .entry(idx)
            .or_default()
            .add(currency, i128::from(inv.amount.minor()));
        if let Some(owed) = inv.owed_on(end).filter(|o| *o > 0) {
            ar.entry(idx).or_default().add(currency, owed);
        }
    }
    countback_from(end, &sales, &ar, fx)
}

/// [`dso_countback`] from its aggregates, keyed by month index (0 for
/// `end`'s month, 1 for the month before...): the credit sales of each
/// month that has an invoice (in a currency that converts, dated on or
/// before `end`, not cancelled), and what those invoices owed at `end`.
pub(super) fn countback_from(
    end: Date,
    sales: &BTreeMap<i64, Sums>,
    ar: &BTreeMap<i64, Sums>,
    fx: &FxConfig,
) -> Result<Option<DayTenths>, MetricsError> {
    let Some(&oldest) = sales.keys().next_back() else {
        return Ok(None);
    };
    let home = |sums: Option<&Sums>| -> Result<i128, MetricsError> {
        match sums {
            Some(s) => Ok(i128::from(s.totals(fx)?.home.minor())),
            None => Ok(0),
        }
    };
    let mut remaining: i128 = 0;
    for sums in ar.values() {
        remaining += home(Some(sums))?;
    }
    if remaining <= 0 {
        return Ok(Some(DayTenths(0)));
    }
    let mut whole_days: i128 = 0;
    for idx in 0..=oldest {
        let days = if idx == 0 {
            i128::from(end.day())
        } else {
            let first = end
                .first_of_month()
                .checked_sub(jiff::Span::new().months(idx))
                .map_err(|_| MetricsError::DateOutOfRange)?;
            i128::from(first.days_in_month())
        };
        let month_sales = home(sales.get(&idx))?;
        if month_sales > 0 && month_sales >= remaining {
            // (whole_days × sales + remaining × days) / sales, to tenths of a
            // day, half away from zero.
            return DayTenths::ratio(whole_days * month_sales + remaining * days, month_sales)
                .map(Some)
                .ok_or(MetricsError::Overflow);
        }
        remaining -= month_sales;
        whole_days += days;
    }
    // Only reached when credit notes (negative amounts) leave a month's
    // sales below what its invoices still owe: every month is used up.
    let days = i64::try_from(whole_days).map_err(|_| MetricsError::Overflow)?;
    Ok(Some(DayTenths::days(days)))
}

/// Countback DSO at one month end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsoPoint {
    /// `YYYY-MM`.
    pub month: String,
    /// The month's last day.
    pub end: Date,
    pub dso: Option<DayTenths>,
}

/// Countback DSO at the end of each of the last months, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsoTrend {
    pub points: Vec<DsoPoint>,
}

/// The last day of each of the `months` most recent months that have ended
/// on or before `as_of` (`as_of` itself when it is a month's last day),
/// oldest first: the points of [`dso_trend`].
pub(super) fn trend_month_ends(as_of: Date, months: u32) -> Result<Vec<Date>, MetricsError> {
    let latest = if as_of == as_of.last_of_month() {
        as_of
    } else {
        as_of
            .first_of_month()
            .yesterday()
            .map_err(|_| MetricsError::DateOutOfRange)?
    };
    (0..months)
        .rev()
        .map(|back| {
            latest
                .first_of_month()
                .checked_sub(jiff::Span::new().months(i64::from(back)))
                .map(|d| d.last_of_month())
                .map_err(|_| MetricsError::DateOutOfRange)
        })
        .collect()
}

/// [`dso_countback`] at the last day of each of the `months` most recent
/// months that have ended on or before `as_of` (`as_of` itself when it is a
/// month's last day), oldest first.
pub fn dso_trend(
    invoices: &[InvoiceFacts],
    as_of: Date,
    months: u32,
    fx: &FxConfig,
) -> Result<DsoTrend, MetricsError> {
    let mut points = Vec::new();
    for end in trend_month_ends(as_of, months)? {
        points.push(DsoPoint {
            month: month_key(end),
            end,
            dso: dso_countback(invoices, end, fx)?,
        });
    }
    Ok(DsoTrend { points })
}

/// The collection effectiveness index of a period and its components.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cei {
    pub period: Period,
    /// AR at the end of the day before the period.
    pub beginning_ar: Totals,
    /// Invoices dated within the period.
    pub credit_sales: Totals,
    /// AR at the end of the period.
    pub ending_ar: Totals,
    /// The part of `ending_ar` not yet due at the end of the period (due on
    /// `period.to` or later).
    pub ending_current_ar: Totals,
    /// The index in basis points (0 to 10 000 for consistent facts); `None`
    /// when the denominator is zero or negative: there was nothing to
    /// collect.
    pub index: Option<BasisPoints>,
}

/// Collection effectiveness index (CEI), the usual definition:
///
/// `CEI = (beginning AR + credit sales − ending total AR)
///      / (beginning AR + credit sales − ending current AR) × 100`
///
/// where "current" is what is not yet due at the end of the period. The
/// numerator is what was collected out of what could have been; the
/// denominator leaves out what was not yet due.
///
/// In the home currency, numerator and denominator are formed per currency
/// exactly, each converted once (rounded half away from zero), then added:
/// conversion preserves order, so a currency whose numerator lies between
/// 0 and its denominator keeps it there and the index stays within
/// 0..=100 %. The index is rounded once to a basis point, half away from
/// zero. Currencies without a rate are left out.
pub fn cei(invoices: &[InvoiceFacts], period: Period, fx: &FxConfig) -> Result<Cei, MetricsError> {
    check_all(invoices)?;
    let mut beginning = Sums::default();
    if let Ok(day_before) = period.from.yesterday() {
        for (inv, owed) in owing(invoices, day_before) {
            beginning.add(inv.amount.currency(), owed);
        }
    }
    let sales = sales_sums(invoices, period);
    let mut ending = Sums::default();
    let mut current = Sums::default();
    for (inv, owed) in owing(invoices, period.to) {
        ending.add(inv.amount.currency(), owed);
        if days_between(inv.due_date, period.to) <= 0 {
            current.add(inv.amount.currency(), owed);
        }
    }
    cei_from(period, &beginning, &sales, &ending, &current, fx)
}

/// [`cei`] from its four per-currency sums.
pub(super) fn cei_from(
    period: Period,
    beginning: &Sums,
    sales: &Sums,
    ending: &Sums,
    current: &Sums,
    fx: &FxConfig,
) -> Result<Cei, MetricsError> {
    let mut currencies: Vec<_> = beginning
        .currencies()
        .chain(sales.currencies())
        .chain(ending.currencies())
        .collect();
    currencies.sort_by_key(|c| c.code());
    currencies.dedup();
    let (mut num, mut den) = (0i128, 0i128);
    for currency in currencies {
        let base = beginning.get(currency) + sales.get(currency);
        let n = to_home(fx, money(base - ending.get(currency), currency)?)?;
        let d = to_home(fx, money(base - current.get(currency), currency)?)?;
        if let (Some(n), Some(d)) = (n, d) {
            num += i128::from(n.minor());
            den += i128::from(d.minor());
        }
    }
    let index = if den > 0 && period.days() > 0 {
        // num × 10 000 / den basis points, half away from zero.
        Some(BasisPoints::ratio(num, den).ok_or(MetricsError::Overflow)?)
    } else {
        None
    };
    Ok(Cei {
        period,
        beginning_ar: beginning.totals(fx)?,
        credit_sales: sales.totals(fx)?,
        ending_ar: ending.totals(fx)?,
        ending_current_ar: current.totals(fx)?,
        index,
    })
}
