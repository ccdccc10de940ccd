//! Money: integer minor units with an ISO 4217 currency. Never a float.
//!
//! IMPLEMENTATION PENDING (helper): parsing and formatting below.

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency with its minor-unit exponent (INR 2, JPY 0, KWD 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub const INR: Currency = Currency(iso_currency::Currency::INR);
    pub const USD: Currency = Currency(iso_currency::Currency::USD);
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    pub const GBP: Currency = Currency(iso_currency::Currency::GBP);
    pub const AED: Currency = Currency(iso_currency::Currency::AED);
    pub const SAR: Currency = Currency(iso_currency::Currency::SAR);
    pub const JPY: Currency = Currency(iso_currency::Currency::JPY);
    pub const KWD: Currency = Currency(iso_currency::Currency::KWD);

    /// Looks up an ISO 4217 alphabetic code, case-insensitively.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let _ = code;
        todo!()
    }

    /// The three-letter code, e.g. `"INR"`.
    pub fn code(self) -> &'static str {
        todo!()
    }

    /// Number of minor-unit digits (2 for INR, 0 for JPY, 3 for KWD).
    pub fn exponent(self) -> u32 {
        todo!()
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::from_code(&s).map_err(serde::de::Error::custom)
    }
}

/// An exact amount: `minor` units of `currency` (paise for INR, cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency `{0}`")]
    UnknownCurrency(String),
    #[error("no amount given")]
    Empty,
    #[error("`{0}` is not an amount")]
    Invalid(String),
    #[error("`{input}` has more decimals than {currency} allows ({exponent})")]
    TooPrecise {
        input: String,
        currency: Currency,
        exponent: u32,
    },
    #[error("`{0}` names no currency and no default currency applies")]
    NoCurrency(String),
    #[error("`{input}` is in {found} but {expected} was expected")]
    CurrencyConflict {
        input: String,
        found: Currency,
        expected: Currency,
    },
    #[error("amount out of range")]
    Overflow,
    #[error("cannot combine {0} and {1}")]
    Mismatch(Currency, Currency),
}

impl Money {
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }
    pub const fn minor(self) -> i64 {
        self.minor
    }
    pub const fn currency(self) -> Currency {
        self.currency
    }
    pub const fn is_zero(self) -> bool {
        self.minor == 0
    }
    pub const fn is_positive(self) -> bool {
        self.minor > 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        let _ = other;
        todo!()
    }
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        let _ = other;
        todo!()
    }

    /// Parses human input exactly: `₹1,23,456.50`, `Rs. 1,23,456`, `INR 12345`,
    /// `$1,250.00`, `USD 1,250`, `1.234,50 €`, `12345`. A currency named in the
    /// input wins; otherwise `default` applies. `default` is also the expected
    /// currency: `CurrencyConflict` is NOT raised, callers compare themselves.
    pub fn parse(input: &str, default: Option<Currency>) -> Result<Money, MoneyError> {
        let _ = (input, default);
        todo!()
    }

    /// The plain decimal amount without symbol or grouping: `123456.50`, `1250`
    /// for JPY, `1.250` for KWD. Used in UPI links and API payloads.
    pub fn to_plain_string(self) -> String {
        todo!()
    }
}

/// Human formatting: INR with lakh/crore grouping (`₹1,23,45,678.00`), other
/// currencies in their usual style (`$1,250.00`, `€1,234.50`, `AED 1,250.00`,
/// `¥1,250`, `KWD 1.250`).
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}
