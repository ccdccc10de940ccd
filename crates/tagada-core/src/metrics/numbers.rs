//! Exact ratios kept as integers: basis points and tenths of a day.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A percentage in basis points: 1 bp = 0.01 %, so `BasisPoints(1234)` is
/// 12.34 %. Serialized as the bare integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BasisPoints(pub i64);

impl BasisPoints {
    pub const HUNDRED_PERCENT: BasisPoints = BasisPoints(10_000);

    /// `num / den` as a percentage: `num × 10 000 / den` basis points,
    /// rounded half away from zero. `None` when `den` is 0 or the result
    /// does not fit.
    pub fn ratio(num: i128, den: i128) -> Option<BasisPoints> {
        let bp = div_round_half_away(num.checked_mul(10_000)?, den)?;
        i64::try_from(bp).ok().map(BasisPoints)
    }

    /// Counts as a percentage (same rounding as [`BasisPoints::ratio`]).
    pub fn of_counts(num: u64, den: u64) -> Option<BasisPoints> {
        BasisPoints::ratio(i128::from(num), i128::from(den))
    }
}

/// `12.34%`, `-0.05%`.
impl fmt::Display for BasisPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        f.pad(&format!("{sign}{}.{:02}%", abs / 100, abs % 100))
    }
}

/// A number of days in tenths: `DayTenths(453)` is 45.3 days. Serialized as
/// the bare integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DayTenths(pub i64);

impl DayTenths {
    /// Whole days.
    pub fn days(days: i64) -> DayTenths {
        DayTenths(days.saturating_mul(10))
    }

    /// `num / den` days: `num × 10 / den` tenths, rounded half away from
    /// zero. `None` when `den` is 0 or the result does not fit.
    pub fn ratio(num: i128, den: i128) -> Option<DayTenths> {
        let tenths = div_round_half_away(num.checked_mul(10)?, den)?;
        i64::try_from(tenths).ok().map(DayTenths)
    }
}

/// `45.3`, `-2.5`.
impl fmt::Display for DayTenths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        f.pad(&format!("{sign}{}.{}", abs / 10, abs % 10))
    }
}

/// `num / den` rounded to the nearest integer, halves away from zero; `None`
/// when `den` is 0 (or negating a bound overflows).
pub(super) fn div_round_half_away(num: i128, den: i128) -> Option<i128> {
    if den == 0 {
        return None;
    }
    let (num, den) = if den < 0 {
        (num.checked_neg()?, den.checked_neg()?)
    } else {
        (num, den)
    };
    let q = num / den;
    let r = num % den;
    // |r| ≥ den / 2  ⇔  2|r| ≥ den; |r| < den ≤ i128::MAX so 2|r| fits a u128.
    if r.unsigned_abs() * 2 >= den.unsigned_abs() {
        Some(q + num.signum())
    } else {
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round_half_away(5, 2), Some(3));
        assert_eq!(div_round_half_away(-5, 2), Some(-3));
        assert_eq!(div_round_half_away(5, -2), Some(-3));
        assert_eq!(div_round_half_away(7, 3), Some(2));
        assert_eq!(div_round_half_away(-7, 3), Some(-2));
        assert_eq!(div_round_half_away(8, 3), Some(3));
        assert_eq!(div_round_half_away(0, 3), Some(0));
        assert_eq!(div_round_half_away(1, 0), None);
        // 2/3 = 66.666… % → 66.67 %; 1/8 = 12.5 % exactly.
        assert_eq!(BasisPoints::of_counts(2, 3), Some(BasisPoints(6_667)));
        assert_eq!(BasisPoints::of_counts(1, 8), Some(BasisPoints(1_250)));
        assert_eq!(BasisPoints::of_counts(1, 0), None);
        // 62 / 3 = 20.666… days → 20.7; -5 / 2 = -2.5 days exactly.
        assert_eq!(DayTenths::ratio(62, 3), Some(DayTenths(207)));
        assert_eq!(DayTenths::ratio(-5, 2), Some(DayTenths(-25)));
        // -1/20 day = -0.05 → -0.1 (half away from zero).
        assert_eq!(DayTenths::ratio(-1, 20), Some(DayTenths(-1)));
    }

    #[test]
    fn display() {
        assert_eq!(BasisPoints(1_234).to_string(), "12.34%");
        assert_eq!(BasisPoints(5).to_string(), "0.05%");
        assert_eq!(BasisPoints(-5).to_string(), "-0.05%");
        assert_eq!(BasisPoints::HUNDRED_PERCENT.to_string(), "100.00%");
        assert_eq!(DayTenths(453).to_string(), "45.3");
        assert_eq!(DayTenths(-25).to_string(), "-2.5");
        assert_eq!(DayTenths(-1).to_string(), "-0.1");
        assert_eq!(DayTenths::days(7).to_string(), "7.0");
        assert_eq!(format!("{:>6}", DayTenths(5)), "   0.5");
    }
}
