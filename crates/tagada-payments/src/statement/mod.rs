//! Bank statements: reading the credits out of a statement file and matching
//! them to open invoices. Pure code over the bytes given: no IO, no clock.
//!
//! ```no_run
//! use std::collections::HashSet;
//! use tagada_payments::statement::{self, StatementOptions};
//!
//! let bytes = std::fs::read("december.csv")?;
//! let read = statement::read_statement("december.csv", &bytes, &StatementOptions::default())?;
//! for reject in &read.rejects {
//!     println!("line {}: {}: {}", reject.line, reject.field, reject.reason);
//! }
//! # let (invoices, buyers) = (Vec::new(), Vec::new());
//! let matches = statement::match_credits(&read.credits, &invoices, &buyers, &HashSet::new());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Three formats are read ([`StatementFormat`]); without a format in the
//! options it is told from the content: XML is camt.053, SWIFT tags
//! (`:20:`, `:61:`...) are MT940, anything else is tried as CSV.
//!
//! - **CSV** (`csv` module): net-banking exports, found by their header row
//!   among the first lines, with the preamble above and the summary below
//!   ignored. See the module for the layouts it knows and how rows are told
//!   apart.
//! - **camt.053** (`camt053` module): ISO 20022 `BkToCstmrStmt`, any version
//!   from `.001.02`; booked entries only.
//! - **MT940** (`mt940` module): SWIFT customer statements, with or without
//!   the `{1:}{2:}{4:` block wrapper.
//!
//! Only credits (money in) are kept: debits are counted and dropped. A row
//! or entry that cannot be read becomes a [`StatementReject`] naming its
//! line, field and reason, and the rest of the file still goes through; only
//! a file that cannot be read at all is a [`StatementError`].
//!
//! [`match_credits`] then pairs each credit with an invoice, or says why it
//! could not (see the `matching` module for the rules).

mod camt053;
mod csv;
mod matching;
mod mt940;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tagada_core::{Currency, Money};

pub use matching::{
    CreditMatch, MAX_AMOUNT_SUGGESTIONS, MatchOutcome, NamedInvoice, Suggested, invoice_numbers_in,
    match_credits,
};

/// The file formats a statement can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementFormat {
    /// A net-banking CSV (or tab/semicolon/pipe separated) export.
    Csv,
    /// ISO 20022 `camt.053` bank-to-customer statement (XML).
    Camt053,
    /// SWIFT MT940 customer statement message.
    Mt940,
}

impl StatementFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementFormat::Csv => "csv",
            StatementFormat::Camt053 => "camt053",
            StatementFormat::Mt940 => "mt940",
        }
    }

    /// Reads a format name as people type it: `csv`, `camt053`, `camt.053`,
    /// `camt`, `mt940`, `swift`.
    pub fn parse(s: &str) -> Option<StatementFormat> {
        let norm: String = s
            .trim()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        match norm.as_str() {
            "csv" | "tsv" | "txt" => Some(StatementFormat::Csv),
            "camt053" | "camt" | "xml" => Some(StatementFormat::Camt053),
            "mt940" | "swift" | "sta" => Some(StatementFormat::Mt940),
            _ => None,
        }
    }
}

impl std::fmt::Display for StatementFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StatementFormat::Csv => "CSV",
            StatementFormat::Camt053 => "camt.053",
            StatementFormat::Mt940 => "MT940",
        })
    }
}

/// Which CSV columns hold what, by header text. Every field left `None` is
/// found from the header row by the usual names (see the `csv` module);
/// a name given here must appear in the header row (compared ignoring case,
/// spaces and punctuation) and wins over detection.
///
/// Amounts come either from separate `debit` and `credit` columns, or from
/// one `amount` column that is signed (negative = debit), carries a `Cr` /
/// `Dr` mark, or is qualified by a `cr_dr` column. Naming any of `debit`,
/// `credit` or `amount` turns off the detection of the other two. The
/// balance column is never read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvColumns {
    /// The booking (transaction) date.
    pub date: Option<String>,
    pub value_date: Option<String>,
    pub narration: Option<String>,
    /// UTR, cheque or reference number.
    pub reference: Option<String>,
    pub debit: Option<String>,
    pub credit: Option<String>,
    pub amount: Option<String>,
    /// `CR` / `DR` (or `C` / `D`, `Credit` / `Debit`) beside `amount`.
    pub cr_dr: Option<String>,
    /// The remitter's name, in the exports that have a column for it.
    pub counterparty: Option<String>,
    /// A column with each row's ISO 4217 code; without it every amount is in
    /// [`StatementOptions::default_currency`] unless the cell names another.
    pub currency: Option<String>,
    /// `strftime`-style formats (jiff's `%d`, `%m`, `%b`, `%y`, `%Y`...)
    /// tried in order on the date columns; empty = the day-first forms
    /// Indian banks write (`05/12/26`, `05/12/2026`, `05-12-2026`,
    /// `05 Dec 2026`, `5-Dec-26`, `2026-12-05`...).
    pub date_formats: Vec<String>,
}

/// How to read a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementOptions {
    /// `None`: told from the content.
    pub format: Option<StatementFormat>,
    /// CSV only.
    pub columns: CsvColumns,
    /// For CSV amounts that name no currency. camt.053 and MT940 always
    /// carry their currency.
    pub default_currency: Currency,
}

impl Default for StatementOptions {
    fn default() -> Self {
        StatementOptions {
            format: None,
            columns: CsvColumns::default(),
            default_currency: Currency::INR,
        }
    }
}

/// What a statement file held: its credits, how many debits were dropped,
/// and the rows that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub format: StatementFormat,
    /// The account number as the file gives it (CSV preamble, camt.053
    /// `Acct/Id`, MT940 `:25:`), when it does.
    pub account: Option<String>,
    /// In file order.
    pub credits: Vec<StatementCredit>,
    /// Debit rows (and reversals of credits) read and dropped.
    pub debits_skipped: usize,
    /// camt.053 entries not yet booked (`PDNG`, `INFO`...), dropped.
    pub pending_skipped: usize,
    pub rejects: Vec<StatementReject>,
}

/// Money that came into the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementCredit {
    /// 1-based line in the file (CSV, MT940: the `:61:` line), or the
    /// 1-based ordinal of the `Ntry` in a camt.053 file (the credits of one
    /// entry split by transaction share it).
    pub line: usize,
    pub booked_on: Date,
    pub value_date: Option<Date>,
    /// Always positive.
    pub amount: Money,
    /// Remittance information / description as the bank wrote it.
    pub narration: String,
    /// UTR, cheque number, `AcctSvcrRef` or MT940 bank reference: what
    /// makes this credit unique at the bank.
    pub bank_reference: Option<String>,
    /// The remitter's name, where the format carries it.
    pub counterparty: Option<String>,
}

/// A row or entry that could not be read; the rest of the file was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementReject {
    /// Same numbering as [`StatementCredit::line`].
    pub line: usize,
    /// The column header (CSV), element path (camt.053) or tag (MT940).
    pub field: String,
    pub reason: String,
    /// The row, entry or statement line as written.
    pub raw: String,
}

/// A file that could not be read at all. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: not a {format} statement: {reason}")]
    NotAStatement {
        file: String,
        format: StatementFormat,
        reason: String,
    },
    #[error(
        "{file}: no header row in the first {searched} lines (looked for a date column and a credit or amount column: Date, Txn Date, Narration, Deposit Amt., Credit, Amount...); it begins {first_lines:?}"
    )]
    NoHeader {
        file: String,
        searched: usize,
        first_lines: Vec<String>,
    },
    #[error("{file}: no header row has the configured column{} {}", if missing.len() == 1 { "" } else { "s" }, quoted(missing))]
    ColumnNotFound { file: String, missing: Vec<String> },
    #[error(
        "{file}: the header on line {line} has no {missing} column (it has {})",
        quoted(headers)
    )]
    MissingColumn {
        file: String,
        line: usize,
        missing: &'static str,
        headers: Vec<String>,
    },
    #[error("{file}: date format `{format}` cannot be used: {reason}")]
    BadDateFormat {
        file: String,
        format: String,
        reason: String,
    },
    #[error("{file}: broken XML at byte {position}: {message}")]
    Xml {
        file: String,
        position: u64,
        message: String,
    },
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a statement file. `file_name` is only used in messages.
pub fn read_statement(
    file_name: &str,
    bytes: &[u8],
    opts: &StatementOptions,
) -> Result<Statement, StatementError> {
    let text = decode_text(bytes);
    if text.trim().is_empty() {
        return Err(StatementError::Empty {
            file: file_name.to_string(),
        });
    }
    let format = opts.format.unwrap_or_else(|| detect_text(&text));
    match format {
        StatementFormat::Csv => csv::read(file_name, &text, opts),
        StatementFormat::Camt053 => camt053::read(file_name, &text),
        StatementFormat::Mt940 => mt940::read(file_name, &text),
    }
}

/// The format a statement file looks like: XML is camt.053, SWIFT tags at
/// the start of lines (`:20:`, `:25:`, `:60F:`, `:61:`) or a `{1:` block
/// header are MT940, anything else CSV. This is what [`read_statement`]
/// does when [`StatementOptions::format`] is `None`.
pub fn detect_format(bytes: &[u8]) -> StatementFormat {
    detect_text(&decode_text(bytes))
}

fn detect_text(text: &str) -> StatementFormat {
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with('<') {
        return StatementFormat::Camt053;
    }
    if start.starts_with("{1:") || start.starts_with("{4:") {
        return StatementFormat::Mt940;
    }
    let swift_tags = text
        .lines()
        .take(200)
        .filter(|l| {
            let l = l.trim_start();
            [":20:", ":25:", ":28C:", ":60F:", ":60M:", ":61:", ":62F:"]
                .iter()
                .any(|t| l.starts_with(t))
        })
        .count();
    if swift_tags >= 2 {
        StatementFormat::Mt940
    } else {
        StatementFormat::Csv
    }
}

/// The file's text: UTF-8 (a byte-order mark dropped), UTF-16 when it has a
/// UTF-16 byte-order mark (Excel's "Unicode text"), and Windows-1252 when it
/// is not valid UTF-8 (what older Windows tools write). Never fails: an odd
/// character is the worst outcome.
pub(crate) fn decode_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest);
    }
    let utf16 = |rest: &[u8], little: bool| -> String {
        let units = rest.chunks_exact(2).map(|p| {
            if little {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return Cow::Owned(utf16(rest, true));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return Cow::Owned(utf16(rest, false));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect()),
    }
}

/// One Windows-1252 byte as a character. 0x80–0x9F differ from Latin-1;
/// the five bytes 1252 leaves undefined map to U+FFFD.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{fffd}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{fffd}', 'Ž',
        '\u{fffd}', '\u{fffd}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ',
        '\u{fffd}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Reads an amount written by a machine for a machine (camt.053 `Amt`,
/// MT940 `:61:`): digits with at most one decimal mark (`.` in XML, `,` in
/// SWIFT), never grouping, never a sign.
///
/// The digits go through [`Money::parse`] for its exact arithmetic and
/// precision checks. A three-digit fraction is padded with one `0` first:
/// `Money::parse` would otherwise take `1.250` as grouping for currencies
/// written with a decimal comma (its rule 4), while here the mark is always
/// decimal. A trailing zero changes no value.
pub(crate) fn parse_machine_amount(
    text: &str,
    decimal_mark: char,
    currency: Currency,
) -> Result<Money, String> {
    let t = text.trim();
    let (int, frac) = match t.split_once(decimal_mark) {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) {
        return Err(format!("`{t}` is not an amount"));
    }
    let mut plain = String::with_capacity(t.len() + 2);
    plain.push_str(int);
    if !frac.is_empty() {
        plain.push('.');
        plain.push_str(frac);
        if frac.len() == 3 {
            plain.push('0');
        }
    }
    Money::parse(&plain, Some(currency)).map_err(|e| match e {
        tagada_core::MoneyError::TooPrecise { .. } => format!(
            "`{t}` has more decimals than {} allows ({})",
            currency,
            currency.exponent()
        ),
        other => format!("`{t}`: {other}"),
    })
}

/// Byte offsets where each line starts, to turn a byte position into a
/// 1-based line number.
#[derive(Debug)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_from_content() {
        let detect = |s: &str| detect_format(s.as_bytes());
        assert_eq!(
            detect("<?xml version=\"1.0\"?><Document/>"),
            StatementFormat::Camt053
        );
        assert_eq!(detect("\u{feff}\r\n  <Document>"), StatementFormat::Camt053);
        assert_eq!(
            detect_format(b"\xFF\xFE<\x00D\x00"),
            StatementFormat::Camt053
        );
        assert_eq!(
            detect("{1:F01BANKINBBAXXX0000000000}{2:O940}{4:\r\n:20:X\r\n-}"),
            StatementFormat::Mt940
        );
        assert_eq!(
            detect(":20:STMT\n:25:123\n:28C:1/1\n"),
            StatementFormat::Mt940
        );
        assert_eq!(
            detect("Date,Narration,Amount\n05/12/26,NEFT :20: odd,100\n"),
            StatementFormat::Csv
        );
    }

    #[test]
    fn format_names() {
        assert_eq!(
            StatementFormat::parse("camt.053"),
            Some(StatementFormat::Camt053)
        );
        assert_eq!(
            StatementFormat::parse("MT940"),
            Some(StatementFormat::Mt940)
        );
        assert_eq!(StatementFormat::parse(" CSV "), Some(StatementFormat::Csv));
        assert_eq!(StatementFormat::parse("pdf"), None);
        for f in [
            StatementFormat::Csv,
            StatementFormat::Camt053,
            StatementFormat::Mt940,
        ] {
            assert_eq!(StatementFormat::parse(f.as_str()), Some(f));
        }
    }

    #[test]
    fn text_decoding() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFDate"), "Date");
        assert_eq!(decode_text(b"\xFF\xFED\x00a\x00"), "Da");
        assert_eq!(decode_text(b"\xFE\xFF\x00D\x00a"), "Da");
        // Not UTF-8: Windows-1252 (0x92 is a right single quote, 0xE9 é).
        assert_eq!(decode_text(b"Ravi\x92s caf\xE9"), "Ravi’s café");
        assert_eq!(decode_text("₹ ok".as_bytes()), "₹ ok");
    }

    #[test]
    fn machine_amounts() {
        let inr = Currency::INR;
        let m = |minor, c| Ok(Money::from_minor(minor, c));
        assert_eq!(parse_machine_amount("1234.50", '.', inr), m(123_450, inr));
        assert_eq!(parse_machine_amount("1234,5", ',', inr), m(123_450, inr));
        assert_eq!(parse_machine_amount("1234,", ',', inr), m(123_400, inr));
        assert_eq!(parse_machine_amount("1234", '.', inr), m(123_400, inr));
        // A three-digit fraction is decimal, whatever the currency's habit.
        assert_eq!(
            parse_machine_amount("1.250", '.', Currency::EUR),
            m(125, Currency::EUR)
        );
        assert_eq!(
            parse_machine_amount("1.255", '.', Currency::EUR),
            Err("`1.255` has more decimals than EUR allows (2)".to_string())
        );
        assert_eq!(
            parse_machine_amount("1.250", '.', Currency::KWD),
            m(1_250, Currency::KWD)
        );
        assert_eq!(
            parse_machine_amount("1,250", ',', Currency::KWD),
            m(1_250, Currency::KWD)
        );
        assert_eq!(parse_machine_amount("10.500", '.', inr), m(1_050, inr));
        assert!(parse_machine_amount("1,234.50", '.', inr).is_err());
        assert!(parse_machine_amount("-5", '.', inr).is_err());
        assert!(parse_machine_amount("", '.', inr).is_err());
        assert!(parse_machine_amount(",5", ',', inr).is_err());
        assert!(parse_machine_amount("1.2.3", '.', inr).is_err());
        assert!(parse_machine_amount("99999999999999999999", '.', inr).is_err());
    }

    #[test]
    fn line_index() {
        let idx = LineIndex::new("a\nbc\r\n\nd");
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(1), 1);
        assert_eq!(idx.line_of(2), 2);
        assert_eq!(idx.line_of(6), 3);
        assert_eq!(idx.line_of(7), 4);
    }
}
