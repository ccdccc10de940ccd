//! Money: integer minor units with an ISO 4217 currency. Never a float.
//!
//! # Parsing rules
//!
//! [`Money::parse`] reads what people and accounting exports write, exactly:
//!
//! - **Currency marks**, before or after the number, with or without a space:
//!   `₹`, `Rs`, `Rs.`, `$` (USD), `US$`, `A$`, `C$`, `S$`, `HK$`, `€`, `£`,
//!   `¥` (JPY), and any ISO 4217 code (`INR`, `AED`, `kwd`...). Two marks
//!   that disagree (`$500 EUR`) make the input invalid. A three-letter code
//!   that ISO 4217 does not know is [`MoneyError::UnknownCurrency`].
//! - **Sign**: a leading `-`, `+` or `−`; parentheses around the whole input
//!   (`(1,234.00)`, accounting style) mean negative; a trailing `Dr` (debit,
//!   positive) or `Cr` (credit, negative) as Tally prints balances. At most
//!   one sign mark. The Indian `/-` after an amount (`Rs. 500/-`) is ignored.
//! - **Separators** (`,` and `.`; spaces, no-break spaces and `'` are always
//!   grouping):
//!   1. both `,` and `.` appear: the last one is the decimal separator and
//!      must appear once;
//!   2. one of them appears several times: it is grouping (`1,23,456`,
//!      `1.234.567`);
//!   3. one of them appears once, followed by 1–2 digits: decimal separator
//!      (`12.5`, `1234,5`, `12,50`). No grouping style ends in a group of one
//!      or two digits, so this never misreads a grouped number;
//!   4. one of them appears once, followed by exactly 3 digits: the
//!      ambiguous case. When it is the currency's usual decimal mark
//!      ([`Currency::decimal_mark`]: `,` for the euro, `.` for the rupee,
//!      dollar, dinar...) it is read as decimal, otherwise as grouping. So
//!      `$1,250` is 1250 dollars, `€1.234` 1234 euros, `KWD 1.250` one dinar
//!      250 fils and `KWD 1,250` 1250 dinars, while `₹10.505`, `$1.250` and
//!      `1,234 €` fail as too precise instead of silently becoming a
//!      thousand times larger;
//!   5. one of them appears once, followed by 4 or more digits: decimal.
//!
//!   Grouping must be well formed: the first group has 1–3 digits, middle
//!   groups 2–3 (Indian lakh/crore groups have 2), the last group 3.
//! - **Precision**: more decimals than the currency allows are
//!   [`MoneyError::TooPrecise`], except trailing zeros (`¥1250.00`, as many
//!   exports print every currency with two decimals), which lose nothing;
//!   but never in the ambiguous case of rule 4 (`$1.250` is refused).
//! - **Range**: anything outside `i64` minor units is [`MoneyError::Overflow`].

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
    ///
    /// Codes without a minor-unit exponent (gold `XAU`, SDR `XDR`, test
    /// codes...) are not money a buyer can owe and are refused as unknown.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        match iso_currency::Currency::from_code(&upper) {
            Some(c) if c.exponent().is_some() => Ok(Currency(c)),
            _ => Err(MoneyError::UnknownCurrency(code.trim().to_string())),
        }
    }

    /// The three-letter code, e.g. `"INR"`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Number of minor-unit digits (2 for INR, 0 for JPY, 3 for KWD).
    pub fn exponent(self) -> u32 {
        // Every `Currency` is built by `from_code` or a constant above, both
        // of which only admit currencies that have an exponent.
        u32::from(self.0.exponent().unwrap_or(0))
    }

    /// The decimal mark people usually write with this currency: `,` for the
    /// euro and the currencies of countries that write `1.234,50`, `.`
    /// elsewhere. Only used to settle `1.234` against `1,234` when parsing.
    pub fn decimal_mark(self) -> char {
        use iso_currency::Currency as C;
        match self.0 {
            C::EUR
            | C::DKK
            | C::NOK
            | C::SEK
            | C::ISK
            | C::PLN
            | C::CZK
            | C::HUF
            | C::RON
            | C::BGN
            | C::RSD
            | C::TRY
            | C::RUB
            | C::UAH
            | C::BRL
            | C::ARS
            | C::CLP
            | C::COP
            | C::UYU
            | C::IDR
            | C::VND => ',',
            _ => '.',
        }
    }

    /// The symbol [`Money`]'s `Display` puts before the amount, when this
    /// currency has a widely read one of its own.
    pub fn symbol(self) -> Option<&'static str> {
        match self.0 {
            iso_currency::Currency::INR => Some("₹"),
            iso_currency::Currency::USD => Some("$"),
            iso_currency::Currency::EUR => Some("€"),
            iso_currency::Currency::GBP => Some("£"),
            iso_currency::Currency::JPY => Some("¥"),
            _ => None,
        }
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
    pub const fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Mismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Mismatch(self.currency, other.currency));
        }
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// Parses human input exactly: `₹1,23,456.50`, `Rs. 1,23,456`, `INR 12345`,
    /// `$1,250.00`, `USD 1,250`, `1.234,50 €`, `12345`. A currency named in the
    /// input wins; otherwise `default` applies. `default` is also the expected
    /// currency: `CurrencyConflict` is NOT raised, callers compare themselves.
    ///
    /// The separator, sign and precision rules are in the module docs.
    pub fn parse(input: &str, default: Option<Currency>) -> Result<Money, MoneyError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(MoneyError::Empty);
        }
        let invalid = || MoneyError::Invalid(trimmed.to_string());
        let whole_input = |e: MoneyError| match e {
            MoneyError::Invalid(_) => invalid(),
            other => other,
        };

        let mut marks = Marks::default();
        let mut body = trimmed;
        if let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
            marks.sign(Sign::Negative).map_err(|()| invalid())?;
            body = inner.trim();
        }

        // Every digit is one byte, so these are char boundaries.
        let Some(first_digit) = body.find(|c: char| c.is_ascii_digit()) else {
            // Only marks (`₹`, `-`, `Rs. /-`): nothing was written.
            // Words such as `abc` or `nil` are not marks: invalid, whatever
            // currency they might spell.
            scan_marks(body, Side::Prefix, &mut marks).map_err(|_| invalid())?;
            return Err(MoneyError::Empty);
        };
        let last_digit = body
            .rfind(|c: char| c.is_ascii_digit())
            .unwrap_or(first_digit);

        let leftover =
            scan_marks(&body[..first_digit], Side::Prefix, &mut marks).map_err(whole_input)?;
        let core_start = first_digit - leftover;
        scan_marks(&body[last_digit + 1..], Side::Suffix, &mut marks).map_err(whole_input)?;
        let core = &body[core_start..=last_digit];

        let currency = marks
            .currency
            .or(default)
            .ok_or_else(|| MoneyError::NoCurrency(trimmed.to_string()))?;
        let magnitude = parse_number(core, currency.exponent(), currency.decimal_mark()).map_err(
            |e| match e {
                NumberError::Invalid => invalid(),
                NumberError::TooPrecise => MoneyError::TooPrecise {
                    input: trimmed.to_string(),
                    currency,
                    exponent: currency.exponent(),
                },
                NumberError::Overflow => MoneyError::Overflow,
            },
        )?;
        let signed = match marks.sign {
            Some(Sign::Negative) => -i128::from(magnitude),
            _ => i128::from(magnitude),
        };
        let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, currency))
    }

    /// The plain decimal amount without symbol or grouping: `123456.50`, `1250`
    /// for JPY, `1.250` for KWD. Used in UPI links and API payloads.
    pub fn to_plain_string(self) -> String {
        let (int, frac) = self.split();
        let mut s = String::new();
        if self.minor < 0 {
            s.push('-');
        }
        s.push_str(&int.to_string());
        if let Some(frac) = frac {
            s.push('.');
            s.push_str(&frac);
        }
        s
    }

    /// The major units and the zero-padded minor digits (`None` for
    /// currencies without minor units), both of the absolute value.
    fn split(self) -> (u64, Option<String>) {
        let exponent = self.currency.exponent();
        let abs = self.minor.unsigned_abs();
        if exponent == 0 {
            return (abs, None);
        }
        let divisor = 10u64.pow(exponent);
        let frac = format!(
            "{:0width$}",
            abs % divisor,
            width = usize::try_from(exponent).unwrap_or(0)
        );
        (abs / divisor, Some(frac))
    }
}

/// Human formatting: INR with lakh/crore grouping (`₹1,23,45,678.00`), other
/// currencies in their usual style (`$1,250.00`, `€1,234.50`, `AED 1,250.00`,
/// `¥1,250`, `KWD 1.250`).
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (int, frac) = self.split();
        let digits = int.to_string();
        let indian = self.currency == Currency::INR;
        let mut s = String::with_capacity(digits.len() + 16);
        if self.minor < 0 {
            s.push('-');
        }
        match self.currency.symbol() {
            Some(sym) => s.push_str(sym),
            None => {
                s.push_str(self.currency.code());
                s.push(' ');
            }
        }
        push_grouped(&mut s, &digits, indian);
        if let Some(frac) = frac {
            s.push('.');
            s.push_str(&frac);
        }
        f.pad(&s)
    }
}

/// Appends `digits` with `,` every three digits, or, in the Indian style,
/// three for the last group and two for each group before it.
fn push_grouped(out: &mut String, digits: &str, indian: bool) {
    let len = digits.len();
    for (i, ch) in digits.chars().enumerate() {
        let remaining = len - i;
        if i > 0 {
            let boundary = if indian {
                remaining == 3 || (remaining > 3 && (remaining - 3).is_multiple_of(2))
            } else {
                remaining.is_multiple_of(3)
            };
            if boundary {
                out.push(',');
            }
        }
        out.push(ch);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Positive,
    Negative,
}

/// The currency and sign marks found around the number.
#[derive(Debug, Default)]
struct Marks {
    currency: Option<Currency>,
    sign: Option<Sign>,
}

impl Marks {
    fn sign(&mut self, sign: Sign) -> Result<(), ()> {
        if self.sign.is_some() {
            return Err(());
        }
        self.sign = Some(sign);
        Ok(())
    }

    fn currency(&mut self, currency: Currency) -> Result<(), ()> {
        match self.currency {
            Some(c) if c != currency => Err(()),
            _ => {
                self.currency = Some(currency);
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Prefix,
    Suffix,
}

const SPACES: [char; 4] = [' ', '\u{a0}', '\u{202f}', '\u{2009}'];

/// Reads currency and sign marks from the text before or after the number.
///
/// For a prefix, a lone `.` or `,` right before the digits belongs to the
/// number (`.50`); its length in bytes is returned so the caller can give it
/// back. Anything else unrecognised makes the whole input invalid.
fn scan_marks(text: &str, side: Side, marks: &mut Marks) -> Result<usize, MoneyError> {
    // The caller replaces this text with the whole input.
    let whole = || MoneyError::Invalid(text.trim().to_string());
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| SPACES.contains(&c) || c.is_whitespace());
        if rest.is_empty() {
            return Ok(0);
        }
        if side == Side::Prefix && (rest == "." || rest == ",") {
            return Ok(1);
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return Ok(0);
        };
        if c.is_ascii_alphabetic() {
            let run_len = rest
                .find(|ch: char| !ch.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let run = &rest[..run_len];
            let after = &rest[run_len..];
            let upper = run.to_ascii_uppercase();
            let (currency, consumed) = match upper.as_str() {
                "RS" => {
                    let dot = usize::from(after.starts_with('.'));
                    (Some(Currency::INR), run_len + dot)
                }
                "US" | "A" | "C" | "S" | "HK" if after.starts_with('$') => {
                    let code = match upper.as_str() {
                        "US" => "USD",
                        "A" => "AUD",
                        "C" => "CAD",
                        "S" => "SGD",
                        _ => "HKD",
                    };
                    (Some(Currency::from_code(code)?), run_len + 1)
                }
                "DR" | "CR" if side == Side::Suffix => {
                    let sign = if upper == "DR" {
                        Sign::Positive
                    } else {
                        Sign::Negative
                    };
                    marks.sign(sign).map_err(|()| whole())?;
                    (None, run_len)
                }
                _ if run_len == 3 => (Some(Currency::from_code(run)?), run_len),
                _ => return Err(whole()),
            };
            if let Some(currency) = currency {
                marks.currency(currency).map_err(|()| whole())?;
            }
            rest = &rest[consumed..];
            continue;
        }
        match c {
            '-' | '−' | '+' if side == Side::Prefix => {
                let sign = if c == '+' {
                    Sign::Positive
                } else {
                    Sign::Negative
                };
                marks.sign(sign).map_err(|()| whole())?;
            }
            '/' if side == Side::Suffix && chars.as_str().starts_with('-') => {
                // `/-`: the Indian "and no paise" mark.
                rest = &rest[2..];
                continue;
            }
            '₹' | '$' | '€' | '£' | '¥' => {
                let currency = match c {
                    '₹' => Currency::INR,
                    '$' => Currency::USD,
                    '€' => Currency::EUR,
                    '£' => Currency::GBP,
                    _ => Currency::JPY,
                };
                marks.currency(currency).map_err(|()| whole())?;
            }
            _ => return Err(whole()),
        }
        rest = chars.as_str();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberError {
    Invalid,
    TooPrecise,
    Overflow,
}

/// Parses the numeric core (digits and separators, no marks) into minor
/// units of a currency with `exponent` decimals, following the separator
/// rules in the module docs. `decimal_mark` is the currency's usual one.
fn parse_number(core: &str, exponent: u32, decimal_mark: char) -> Result<u64, NumberError> {
    let is_group_space = |c: char| SPACES.contains(&c) || c == '\'';
    if !core
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '.' || is_group_space(c))
    {
        return Err(NumberError::Invalid);
    }
    let commas = core.matches(',').count();
    let dots = core.matches('.').count();

    // Byte position of the decimal separator, if any.
    let decimal: Option<usize> = match (commas, dots) {
        (0, 0) => None,
        (_, 0) | (0, _) => {
            let (sep, count) = if dots == 0 {
                (',', commas)
            } else {
                ('.', dots)
            };
            if count > 1 {
                None
            } else {
                let pos = core.find(sep).ok_or(NumberError::Invalid)?;
                let after = &core[pos + 1..];
                if !after.bytes().all(|b| b.is_ascii_digit()) || after.is_empty() {
                    return Err(NumberError::Invalid);
                }
                match after.len() {
                    1 | 2 => Some(pos),
                    // Ambiguous: a decimal mark only makes sense with a
                    // three-decimal currency. Trailing zeros are not
                    // forgiven here (`$1.250` may be a European 1250).
                    3 if sep == decimal_mark && exponent < 3 => {
                        return Err(NumberError::TooPrecise);
                    }
                    3 if sep == decimal_mark => Some(pos),
                    3 if valid_grouping(core) => None,
                    3 => return Err(NumberError::Invalid),
                    _ => Some(pos),
                }
            }
        }
        _ => {
            let last_comma = core.rfind(',').ok_or(NumberError::Invalid)?;
            let last_dot = core.rfind('.').ok_or(NumberError::Invalid)?;
            let (pos, sep) = if last_comma > last_dot {
                (last_comma, ',')
            } else {
                (last_dot, '.')
            };
            if core.matches(sep).count() != 1 {
                return Err(NumberError::Invalid);
            }
            Some(pos)
        }
    };

    let (int_part, frac_part) = match decimal {
        Some(pos) => (&core[..pos], &core[pos + 1..]),
        None => (core, ""),
    };
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::Invalid);
    }
    let int_digits: String = if int_part.bytes().all(|b| b.is_ascii_digit()) {
        int_part.to_string()
    } else {
        if !valid_grouping(int_part) {
            return Err(NumberError::Invalid);
        }
        int_part.chars().filter(char::is_ascii_digit).collect()
    };
    if int_digits.is_empty() && frac_part.is_empty() {
        return Err(NumberError::Invalid);
    }

    let exp = usize::try_from(exponent).map_err(|_| NumberError::Overflow)?;
    let (kept, dropped) = frac_part.split_at(frac_part.len().min(exp));
    if dropped.bytes().any(|b| b != b'0') {
        return Err(NumberError::TooPrecise);
    }

    let mut value: u64 = 0;
    let digits = int_digits
        .bytes()
        .chain(kept.bytes())
        .chain(std::iter::repeat_n(b'0', exp - kept.len()));
    for b in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(NumberError::Overflow)?;
    }
    Ok(value)
}

/// Whether `int_part` is digits in well-formed groups: separated by `,`,
/// `.`, spaces or `'`, the first group 1–3 digits, middle groups 2–3, the
/// last group exactly 3.
fn valid_grouping(int_part: &str) -> bool {
    let groups: Vec<&str> = int_part
        .split(|c: char| c == ',' || c == '.' || c == '\'' || SPACES.contains(&c))
        .collect();
    if groups.len() < 2 {
        return false;
    }
    let last = groups.len() - 1;
    groups.iter().enumerate().all(|(i, g)| {
        let ok_len = if i == 0 {
            (1..=3).contains(&g.len())
        } else if i == last {
            g.len() == 3
        } else {
            (2..=3).contains(&g.len())
        };
        ok_len && g.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(minor: i64, c: Currency) -> Money {
        Money::from_minor(minor, c)
    }

    fn p(s: &str) -> Result<Money, MoneyError> {
        Money::parse(s, Some(Currency::INR))
    }

    #[test]
    fn currency_codes_and_exponents() {
        assert_eq!(Currency::from_code("inr").unwrap(), Currency::INR);
        assert_eq!(Currency::from_code(" USD ").unwrap(), Currency::USD);
        assert_eq!(Currency::INR.exponent(), 2);
        assert_eq!(Currency::USD.exponent(), 2);
        assert_eq!(Currency::JPY.exponent(), 0);
        assert_eq!(Currency::KWD.exponent(), 3);
        assert_eq!(Currency::KWD.code(), "KWD");
        assert_eq!(
            Currency::from_code("XAU"),
            Err(MoneyError::UnknownCurrency("XAU".into()))
        );
        assert_eq!(
            Currency::from_code("ZZZ"),
            Err(MoneyError::UnknownCurrency("ZZZ".into()))
        );
        assert!(Currency::from_code("").is_err());
        let json = serde_json::to_string(&Currency::AED).unwrap();
        assert_eq!(json, "\"AED\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"sar\"").unwrap(),
            Currency::SAR
        );
        assert!(serde_json::from_str::<Currency>("\"XAU\"").is_err());
    }

    #[test]
    fn parses_indian_forms() {
        assert_eq!(p("₹1,23,456.50"), Ok(m(12_345_650, Currency::INR)));
        assert_eq!(p("Rs. 1,23,456"), Ok(m(12_345_600, Currency::INR)));
        assert_eq!(p("Rs 500"), Ok(m(50_000, Currency::INR)));
        assert_eq!(p("Rs.500"), Ok(m(50_000, Currency::INR)));
        assert_eq!(p("rs 500/-"), Ok(m(50_000, Currency::INR)));
        assert_eq!(p("INR 12345"), Ok(m(1_234_500, Currency::INR)));
        assert_eq!(p("12345 INR"), Ok(m(1_234_500, Currency::INR)));
        assert_eq!(p("INR12345"), Ok(m(1_234_500, Currency::INR)));
        assert_eq!(p("₹ 1,23,45,678.00"), Ok(m(1_234_567_800, Currency::INR)));
        assert_eq!(p("12345.5"), Ok(m(1_234_550, Currency::INR)));
        assert_eq!(p(".50"), Ok(m(50, Currency::INR)));
    }

    #[test]
    fn parses_foreign_forms() {
        let none = |s: &str| Money::parse(s, None);
        assert_eq!(none("$1,250.00"), Ok(m(125_000, Currency::USD)));
        assert_eq!(none("USD 1,250"), Ok(m(125_000, Currency::USD)));
        assert_eq!(none("US$ 1,250"), Ok(m(125_000, Currency::USD)));
        assert_eq!(none("€1.234,50"), Ok(m(123_450, Currency::EUR)));
        assert_eq!(none("1.234,50 €"), Ok(m(123_450, Currency::EUR)));
        assert_eq!(none("1 234,50 EUR"), Ok(m(123_450, Currency::EUR)));
        assert_eq!(none("1\u{a0}234,50\u{a0}€"), Ok(m(123_450, Currency::EUR)));
        assert_eq!(none("£99.99"), Ok(m(9_999, Currency::GBP)));
        assert_eq!(none("AED 1,250.00"), Ok(m(125_000, Currency::AED)));
        assert_eq!(none("SAR 1,250.00"), Ok(m(125_000, Currency::SAR)));
        assert_eq!(none("¥1,250"), Ok(m(1_250, Currency::JPY)));
        assert_eq!(none("KWD 1.250"), Ok(m(1_250, Currency::KWD)));
        assert_eq!(none("kwd 1,234.567"), Ok(m(1_234_567, Currency::KWD)));
        assert_eq!(
            none("S$ 10"),
            Ok(m(1_000, Currency::from_code("SGD").unwrap()))
        );
        assert_eq!(
            none("CHF 1'234.50"),
            Ok(m(123_450, Currency::from_code("CHF").unwrap()))
        );
    }

    #[test]
    fn signs() {
        assert_eq!(p("-500"), Ok(m(-50_000, Currency::INR)));
        assert_eq!(p("-₹500"), Ok(m(-50_000, Currency::INR)));
        assert_eq!(p("₹-500"), Ok(m(-50_000, Currency::INR)));
        assert_eq!(p("+500"), Ok(m(50_000, Currency::INR)));
        assert_eq!(p("(1,234.00)"), Ok(m(-123_400, Currency::INR)));
        assert_eq!(p("1,18,000.00 Dr"), Ok(m(11_800_000, Currency::INR)));
        assert_eq!(p("2,000.00 Cr"), Ok(m(-200_000, Currency::INR)));
        assert_eq!(p("--500"), Err(MoneyError::Invalid("--500".into())));
        assert!(matches!(p("(-500)"), Err(MoneyError::Invalid(_))));
    }

    #[test]
    fn separator_rules() {
        // Rule 3: one separator followed by 1-2 digits is a decimal mark,
        // whatever the currency.
        assert_eq!(p("1234,5"), Ok(m(123_450, Currency::INR)));
        assert_eq!(p("12,50"), Ok(m(1_250, Currency::INR)));
        assert_eq!(
            Money::parse("12,50", Some(Currency::USD)),
            Ok(m(1_250, Currency::USD))
        );
        // Rule 4: three digits after a single separator.
        assert_eq!(
            Money::parse("1,250", Some(Currency::USD)),
            Ok(m(125_000, Currency::USD))
        );
        assert_eq!(Money::parse("1.234 €", None), Ok(m(123_400, Currency::EUR)));
        assert!(matches!(
            Money::parse("$1.250", None),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Money::parse("1,234 €", None),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert_eq!(Money::parse("1,234 $", None), Ok(m(123_400, Currency::USD)));
        assert_eq!(
            Money::parse("1.250", Some(Currency::KWD)),
            Ok(m(1_250, Currency::KWD))
        );
        assert_eq!(
            Money::parse("1,250", Some(Currency::KWD)),
            Ok(m(1_250_000, Currency::KWD))
        );
        // The usual decimal mark with three digits: too precise, not grouping.
        assert!(matches!(
            Money::parse("12345.678", Some(Currency::USD)),
            Err(MoneyError::TooPrecise { .. })
        ));
        // Grouping mark, but not a valid group before it.
        assert!(matches!(
            Money::parse("12345,678", Some(Currency::USD)),
            Err(MoneyError::Invalid(_))
        ));
        // Rule 2: repeated separators group.
        assert_eq!(
            Money::parse("1.234.567", Some(Currency::EUR)),
            Ok(m(123_456_700, Currency::EUR))
        );
        // Malformed grouping.
        assert!(matches!(p("1,2,3"), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("12,34,5678"), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("1,234.5.6"), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("1,234."), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("1 2"), Err(MoneyError::Invalid(_))));
    }

    #[test]
    fn precision() {
        let err = Money::parse("₹10.505", None).unwrap_err();
        assert_eq!(
            err,
            MoneyError::TooPrecise {
                input: "₹10.505".into(),
                currency: Currency::INR,
                exponent: 2
            }
        );
        assert!(matches!(
            Money::parse("¥12.5", None),
            Err(MoneyError::TooPrecise { exponent: 0, .. })
        ));
        assert!(matches!(
            Money::parse("KWD 1.2345", None),
            Err(MoneyError::TooPrecise { exponent: 3, .. })
        ));
        // Trailing zeros lose nothing.
        assert_eq!(Money::parse("¥1250.00", None), Ok(m(1_250, Currency::JPY)));
        assert_eq!(p("1,234.500"), Ok(m(123_450, Currency::INR)));
        assert!(matches!(p("10.500"), Err(MoneyError::TooPrecise { .. })));
    }

    #[test]
    fn errors() {
        assert_eq!(p(""), Err(MoneyError::Empty));
        assert_eq!(p("   "), Err(MoneyError::Empty));
        assert_eq!(p("₹"), Err(MoneyError::Empty));
        assert_eq!(p("-"), Err(MoneyError::Empty));
        assert!(matches!(p("abc"), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("12abc34"), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("500 rupees"), Err(MoneyError::Invalid(_))));
        assert!(matches!(p("1e5"), Err(MoneyError::Invalid(_))));
        assert_eq!(p("XYZ 100"), Err(MoneyError::UnknownCurrency("XYZ".into())));
        assert!(matches!(p("$500 EUR"), Err(MoneyError::Invalid(_))));
        assert_eq!(p("₹500 INR"), Ok(m(50_000, Currency::INR)));
        assert_eq!(
            Money::parse("500", None),
            Err(MoneyError::NoCurrency("500".into()))
        );
        assert_eq!(p("99999999999999999999"), Err(MoneyError::Overflow));
        assert_eq!(p("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(p("92233720368547758.07"), Ok(m(i64::MAX, Currency::INR)));
        assert_eq!(p("-92233720368547758.08"), Ok(m(i64::MIN, Currency::INR)));
    }

    #[test]
    fn arithmetic() {
        let a = m(1_000, Currency::INR);
        let b = m(250, Currency::INR);
        assert_eq!(a.checked_add(b), Ok(m(1_250, Currency::INR)));
        assert_eq!(a.checked_sub(b), Ok(m(750, Currency::INR)));
        assert_eq!(
            a.checked_add(m(1, Currency::USD)),
            Err(MoneyError::Mismatch(Currency::INR, Currency::USD))
        );
        assert_eq!(
            a.checked_sub(m(1, Currency::USD)),
            Err(MoneyError::Mismatch(Currency::INR, Currency::USD))
        );
        assert_eq!(
            m(i64::MAX, Currency::INR).checked_add(m(1, Currency::INR)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            m(i64::MIN, Currency::INR).checked_sub(m(1, Currency::INR)),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn display() {
        assert_eq!(
            m(1_234_567_800, Currency::INR).to_string(),
            "₹1,23,45,678.00"
        );
        assert_eq!(m(12_345_650, Currency::INR).to_string(), "₹1,23,456.50");
        assert_eq!(m(99_900, Currency::INR).to_string(), "₹999.00");
        assert_eq!(m(100_000, Currency::INR).to_string(), "₹1,000.00");
        assert_eq!(m(5, Currency::INR).to_string(), "₹0.05");
        assert_eq!(m(-50_000, Currency::INR).to_string(), "-₹500.00");
        assert_eq!(m(125_000, Currency::USD).to_string(), "$1,250.00");
        assert_eq!(m(123_450, Currency::EUR).to_string(), "€1,234.50");
        assert_eq!(m(123_450, Currency::GBP).to_string(), "£1,234.50");
        assert_eq!(m(1_250, Currency::JPY).to_string(), "¥1,250");
        assert_eq!(m(125_000, Currency::AED).to_string(), "AED 1,250.00");
        assert_eq!(m(1_250, Currency::KWD).to_string(), "KWD 1.250");
        assert_eq!(m(125_000, Currency::SAR).to_string(), "SAR 1,250.00");
        assert_eq!(
            m(123_456_789_000, Currency::USD).to_string(),
            "$1,234,567,890.00"
        );
        assert_eq!(format!("{:>10}", m(100, Currency::USD)), "     $1.00");
    }

    #[test]
    fn plain_string() {
        assert_eq!(m(12_345_650, Currency::INR).to_plain_string(), "123456.50");
        assert_eq!(m(1_250, Currency::JPY).to_plain_string(), "1250");
        assert_eq!(m(1_250, Currency::KWD).to_plain_string(), "1.250");
        assert_eq!(m(-50_000, Currency::INR).to_plain_string(), "-500.00");
        assert_eq!(m(7, Currency::USD).to_plain_string(), "0.07");
    }

    #[test]
    fn serde_roundtrip() {
        let money = m(12_345, Currency::KWD);
        let json = serde_json::to_string(&money).unwrap();
        assert_eq!(json, r#"{"minor":12345,"currency":"KWD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
    }

    const SUPPORTED: [Currency; 8] = [
        Currency::INR,
        Currency::USD,
        Currency::EUR,
        Currency::GBP,
        Currency::AED,
        Currency::SAR,
        Currency::JPY,
        Currency::KWD,
    ];

    proptest! {
        #[test]
        fn display_and_plain_parse_back(idx in 0usize..SUPPORTED.len(), minor in any::<i64>()) {
            let money = m(minor, SUPPORTED[idx]);
            prop_assert_eq!(Money::parse(&money.to_string(), None), Ok(money));
            prop_assert_eq!(
                Money::parse(&money.to_plain_string(), Some(money.currency())),
                Ok(money)
            );
        }

        #[test]
        fn small_amounts_parse_back(idx in 0usize..SUPPORTED.len(), minor in -10_000_000i64..10_000_000) {
            let money = m(minor, SUPPORTED[idx]);
            prop_assert_eq!(Money::parse(&money.to_string(), None), Ok(money));
            prop_assert_eq!(
                Money::parse(&money.to_plain_string(), Some(money.currency())),
                Ok(money)
            );
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = Money::parse(&s, Some(Currency::INR));
        }
    }
}
