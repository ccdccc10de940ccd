//! Conversions between stored values and domain types, and error mapping.

use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::error::ErrorKind;
use sqlx::{Encode, QueryBuilder, Sqlite, Type};
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::OutboxStatus;
use tagada_core::{Currency, Phone};
use tagada_store::StoreError;

/// Bound parameters per statement stay well under SQLite's 32,766.
pub(crate) const MAX_PARAMS: usize = 30_000;
/// Keys per `IN (...)` list (a power of two: see [`push_in_list`]).
pub(crate) const IN_CHUNK: usize = 512;
/// Rows per multi-row `INSERT` or `UPDATE`. Every full chunk is the same
/// statement, prepared once per connection and then reused (sqlx caches
/// prepared statements by their text); see [`cache_write`].
pub(crate) const WRITE_ROWS: usize = 1000;

/// Pushes `(?, ?, ...)` binding `values` (at most [`IN_CHUNK`] of them),
/// padded to the next power of two by repeating the last value: `IN` lists
/// then come in ten lengths, so their statements are prepared once per
/// connection and reused. A repeated value selects nothing more.
pub(crate) fn push_in_list<T>(qb: &mut QueryBuilder<Sqlite>, values: &[T])
where
    T: Copy + for<'t> Encode<'t, Sqlite> + Type<Sqlite>,
{
    debug_assert!(!values.is_empty() && values.len() <= IN_CHUNK);
    let padded = values.len().next_power_of_two();
    let last = values[values.len() - 1];
    qb.push("(");
    let mut sep = qb.separated(", ");
    for v in values
        .iter()
        .copied()
        .chain(std::iter::repeat_n(last, padded - values.len()))
    {
        sep.push_bind(v);
    }
    qb.push(")");
}

/// Whether a multi-row write of `rows` rows keeps its prepared statement:
/// full chunks and single rows recur; other remainders are one-offs that
/// would only push reusable statements out of the cache.
pub(crate) fn cache_write(rows: usize) -> bool {
    rows == WRITE_ROWS || rows == 1
}

/// Maps a driver error: constraint violations become `Invalid`/`Conflict`.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        match d.kind() {
            ErrorKind::ForeignKeyViolation => {
                return StoreError::Invalid(format!("unknown buyer or invoice: {d}"));
            }
            ErrorKind::UniqueViolation => return StoreError::Conflict(d.to_string()),
            _ => {}
        }
    }
    StoreError::backend(e)
}

pub(crate) fn corrupt(table: &'static str, message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        message: message.to_string(),
    }
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn opt_micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(micros)
}

pub(crate) fn ts(table: &'static str, v: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(v).map_err(|e| corrupt(table, e))
}

pub(crate) fn opt_ts(table: &'static str, v: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    v.map(|v| ts(table, v)).transpose()
}

pub(crate) fn date_text(d: Date) -> String {
    d.to_string()
}

pub(crate) fn opt_date_text(d: Option<Date>) -> Option<String> {
    d.map(date_text)
}

pub(crate) fn date(table: &'static str, s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e| corrupt(table, format!("date `{s}`: {e}")))
}

pub(crate) fn opt_date(table: &'static str, s: Option<&str>) -> Result<Option<Date>, StoreError> {
    s.map(|s| date(table, s)).transpose()
}

pub(crate) fn currency(table: &'static str, code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).map_err(|e| corrupt(table, e))
}

pub(crate) fn phone(table: &'static str, s: String) -> Result<Phone, StoreError> {
    Phone::try_from(s).map_err(|e| corrupt(table, e))
}

pub(crate) fn invoice_status(s: &str) -> Result<InvoiceStatus, StoreError> {
    InvoiceStatus::ALL
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| corrupt("invoices", format!("status `{s}`")))
}

pub(crate) fn outbox_status(s: &str) -> Result<OutboxStatus, StoreError> {
    OutboxStatus::parse(s).ok_or_else(|| corrupt("outbox", format!("status `{s}`")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(table, e))
}

/// Lower-cased, trimmed, inner whitespace collapsed: how buyer names match.
pub(crate) fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `B12` / `b12` → 12.
pub(crate) fn parse_buyer_ref(key: &str) -> Option<i64> {
    let rest = key.strip_prefix('B').or_else(|| key.strip_prefix('b'))?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// The statuses that still owe money and may get reminders.
pub(crate) const OPEN_STATUSES: [InvoiceStatus; 3] = [
    InvoiceStatus::Pending,
    InvoiceStatus::InProcess,
    InvoiceStatus::PartiallyPaid,
];
