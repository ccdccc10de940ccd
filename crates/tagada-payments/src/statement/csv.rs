//! Net-banking CSV exports.
//!
//! Indian banks' exports put a preamble (bank, branch, account number,
//! period) above the table and a summary below it. The layouts known here
//! are *modelled on* the HDFC, SBI, ICICI, Axis and Kotak net-banking
//! exports as publicly described; no real export could be checked against,
//! and banks change their layouts, so detection is by column names rather
//! than by bank, and every column can be named in [`CsvColumns`].
//!
//! 1. **Delimiter**: `,`, tab, `;` or `|`, whichever gives the best header
//!    row.
//! 2. **Header**: the first of the top [`HEADER_SEARCH_ROWS`] rows that
//!    holds every configured column and, counting the known names (`Date`,
//!    `Txn Date`, `Value Dt`, `Narration`, `Description`, `Particulars`,
//!    `Chq./Ref.No.`, `Withdrawal Amt.`, `Deposit Amt.`, `Debit`, `Credit`,
//!    `Amount`, `Cr/Dr`, `Balance`...; compared without case, spaces or
//!    punctuation), at least three columns, among them a date and a credit
//!    or amount column. The account number is picked from the preamble
//!    (`Account No :`, `A/C No.`...).
//! 3. **Rows** after the header:
//!    - blank rows and separator rows (`*****`) are skipped;
//!    - a row whose date cell reads as a date is a transaction;
//!    - otherwise a row saying `Statement Summary`, `computer generated`,
//!      `end of statement`, `Generated on`... ends the table (everything
//!      after it is footer); one saying `Opening Balance`, `Closing
//!      Balance`, `Total`, `B/F`... is skipped; one with no amount is
//!      skipped as text; one with an amount but no readable date is
//!      rejected on its date.
//!    - a transaction's amounts decide its direction first: debits are
//!      counted and dropped without further checks; a credit whose amounts,
//!      dates or currency cannot be read is rejected, naming the column.
//!
//! Dates are read with jiff's `strptime` in the configured formats, or in
//! the day-first forms Indian banks write ([`DEFAULT_DATE_FORMATS`]); a time
//! of day after the date is ignored. Amounts go through
//! [`Money::parse`](tagada_core::Money::parse), so lakh grouping
//! (`1,23,456.50`), `₹`/`Rs.` and currency codes are read exactly.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::fmt::strtime;
use tagada_core::{Currency, Money};

use super::{
    CsvColumns, LineIndex, Statement, StatementCredit, StatementError, StatementFormat,
    StatementOptions, StatementReject,
};

/// How many rows from the top are searched for the header.
pub(crate) const HEADER_SEARCH_ROWS: usize = 40;

/// The date forms tried when none are configured, in order. Two-digit years
/// come first: jiff's `%Y` would also take `26` as the year 26.
pub(crate) const DEFAULT_DATE_FORMATS: &[&str] = &[
    "%d/%m/%y", "%d/%m/%Y", "%d-%m-%y", "%d-%m-%Y", "%d.%m.%y", "%d.%m.%Y", "%d %b %y", "%d %b %Y",
    "%d-%b-%y", "%d-%b-%Y", "%d/%b/%y", "%d/%b/%Y", "%d %B %Y", "%d-%B-%Y", "%Y-%m-%d", "%Y/%m/%d",
];

/// Years outside this range are typos (or a two-digit year read as 19xx),
/// not statement dates.
const YEARS: std::ops::RangeInclusive<i16> = 1990..=2199;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Date,
    ValueDate,
    Narration,
    Reference,
    Debit,
    Credit,
    Amount,
    CrDr,
    Counterparty,
    Currency,
    Balance,
}

/// Header text without case, spaces or punctuation: `Chq./Ref.No.` →
/// `chqrefno`, `Withdrawal Amount (INR )` → `withdrawalamountinr`.
fn normalize_header(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The role a (normalised) header usually names.
fn role_of(norm: &str) -> Option<Role> {
    Some(match norm {
        "date" | "txndate" | "transactiondate" | "trandate" | "txndt" | "trandt"
        | "postingdate" | "postdate" | "bookingdate" | "bookdate" | "transactiondt" => Role::Date,
        "valuedate" | "valuedt" | "valdate" | "valdt" => Role::ValueDate,
        "narration"
        | "description"
        | "particulars"
        | "remarks"
        | "transactionremarks"
        | "transactiondetails"
        | "transactiondescription"
        | "details"
        | "narrative" => Role::Narration,
        "chqrefno" | "refnochequeno" | "chequeno" | "chqno" | "refno" | "referenceno"
        | "referencenumber" | "chequenumber" | "chqnorefno" | "chequerefno" | "chqrefnumber"
        | "utr" | "utrno" | "utrnumber" | "transactionid" | "tranid" | "txnid" | "chqref" => {
            Role::Reference
        }
        "debit"
        | "debits"
        | "dr"
        | "debitamount"
        | "debitamt"
        | "debitinr"
        | "withdrawal"
        | "withdrawals"
        | "withdrawalamt"
        | "withdrawalamount"
        | "withdrawalamountinr"
        | "withdrawalinr"
        | "withdrawalsinr" => Role::Debit,
        "credit" | "credits" | "cr" | "creditamount" | "creditamt" | "creditinr" | "deposit"
        | "deposits" | "depositamt" | "depositamount" | "depositamountinr" | "depositinr"
        | "depositsinr" => Role::Credit,
        "amount" | "amountinr" | "amt" | "transactionamount" | "txnamount" | "tranamount"
        | "txnamt" => Role::Amount,
        "crdr" | "drcr" | "crdrindicator" | "drcrindicator" | "creditdebit" | "debitcredit"
        | "dc" | "cd" => Role::CrDr,
        "remittername" | "remitter" | "payername" | "beneficiaryname" | "counterparty"
        | "counterpartyname" | "partyname" => Role::Counterparty,
        "currency" | "ccy" | "curr" | "currencycode" => Role::Currency,
        "balance" | "closingbalance" | "balanceinr" | "runningbalance" | "bal"
        | "availablebalance" => Role::Balance,
        _ => return None,
    })
}

/// The configured headers, normalised, with the role each names.
fn configured(columns: &CsvColumns) -> Vec<(Role, String, String)> {
    [
        (Role::Date, &columns.date),
        (Role::ValueDate, &columns.value_date),
        (Role::Narration, &columns.narration),
        (Role::Reference, &columns.reference),
        (Role::Debit, &columns.debit),
        (Role::Credit, &columns.credit),
        (Role::Amount, &columns.amount),
        (Role::CrDr, &columns.cr_dr),
        (Role::Counterparty, &columns.counterparty),
        (Role::Currency, &columns.currency),
    ]
    .into_iter()
    .filter_map(|(role, header)| {
        header
            .as_ref()
            .map(|h| (role, normalize_header(h), h.trim().to_string()))
    })
    .collect()
}

#[derive(Debug, Clone)]
struct Row {
    line: usize,
    cells: Vec<String>,
}

impl Row {
    fn cell(&self, index: usize) -> &str {
        self.cells.get(index).map_or("", |c| c.trim())
    }

    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }

    fn raw(&self, delimiter: u8) -> String {
        let end = self
            .cells
            .iter()
            .rposition(|c| !c.trim().is_empty())
            .map_or(0, |i| i + 1);
        self.cells[..end].join(&char::from(delimiter).to_string())
    }
}

/// Splits `text` into rows with their 1-based starting lines (at most
/// `limit` rows).
fn rows(text: &str, delimiter: u8, index: &LineIndex, limit: usize) -> Vec<Row> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        if out.len() >= limit {
            break;
        }
        match reader.read_record(&mut record) {
            Ok(true) => {
                // `csv` puts a record's start just after the previous
                // record's `\r` (or before the blank lines it skips): step
                // over line ends to the record's first character.
                let mut start = record
                    .position()
                    .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
                while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
                    start += 1;
                }
                out.push(Row {
                    line: index.line_of(start),
                    cells: record.iter().map(str::to_string).collect(),
                });
            }
            // The input is a `&str`, so only the end of the data stops it.
            Ok(false) | Err(_) => break,
        }
    }
    out
}

/// Where the amounts are.
#[derive(Debug, Clone, Copy)]
enum Amounts {
    Split { debit: Option<usize>, credit: usize },
    Single { amount: usize, cr_dr: Option<usize> },
}

#[derive(Debug, Clone)]
struct Layout {
    headers: Vec<String>,
    header_line: usize,
    date: usize,
    value_date: Option<usize>,
    narration: Option<usize>,
    reference: Option<usize>,
    counterparty: Option<usize>,
    currency: Option<usize>,
    amounts: Amounts,
}

impl Layout {
    fn header(&self, index: usize) -> String {
        self.headers
            .get(index)
            .map_or_else(|| format!("column {}", index + 1), |h| h.trim().to_string())
    }

    fn amount_columns(&self) -> Vec<usize> {
        match self.amounts {
            Amounts::Split { debit, credit } => debit.into_iter().chain([credit]).collect(),
            Amounts::Single { amount, .. } => vec![amount],
        }
    }
}

/// What one row's cells say each column is.
#[derive(Debug)]
struct Assignment {
    roles: HashMap<Role, usize>,
    /// Configured headers this row lacks (as configured).
    missing: Vec<String>,
}

fn assign(cells: &[String], wanted: &[(Role, String, String)]) -> Assignment {
    let norms: Vec<String> = cells.iter().map(|c| normalize_header(c)).collect();
    let mut roles = HashMap::new();
    let mut missing = Vec::new();
    for (role, norm, as_written) in wanted {
        match norms.iter().position(|n| n == norm) {
            Some(i) => {
                roles.insert(*role, i);
            }
            None => missing.push(as_written.clone()),
        }
    }
    let amount_configured = wanted
        .iter()
        .any(|(r, _, _)| matches!(r, Role::Debit | Role::Credit | Role::Amount));
    let taken: Vec<usize> = roles.values().copied().collect();
    for (i, norm) in norms.iter().enumerate() {
        if taken.contains(&i) {
            continue;
        }
        let Some(role) = role_of(norm) else { continue };
        if amount_configured && matches!(role, Role::Debit | Role::Credit | Role::Amount) {
            continue;
        }
        roles.entry(role).or_insert(i);
    }
    Assignment { roles, missing }
}

impl Assignment {
    fn score(&self) -> usize {
        self.roles.len()
    }

    fn is_header(&self, configured: bool) -> bool {
        if !self.missing.is_empty() {
            return false;
        }
        let complete = self.roles.contains_key(&Role::Date)
            && (self.roles.contains_key(&Role::Credit) || self.roles.contains_key(&Role::Amount));
        (configured || self.score() >= 3) && complete
    }
}

/// The outcome of looking for a header with one delimiter.
#[derive(Debug)]
enum HeaderSearch {
    Found {
        index: usize,
        assignment: Assignment,
    },
    /// The nearest miss, to explain the failure.
    NotFound { best: Option<(usize, Assignment)> },
}

fn find_header(rows: &[Row], wanted: &[(Role, String, String)]) -> HeaderSearch {
    let configured = !wanted.is_empty();
    let mut best: Option<(usize, Assignment)> = None;
    for (i, row) in rows.iter().enumerate() {
        let a = assign(&row.cells, wanted);
        if a.is_header(configured) {
            return HeaderSearch::Found {
                index: i,
                assignment: a,
            };
        }
        let better = match &best {
            None => a.score() > 0,
            Some((_, b)) => {
                (a.missing.len(), std::cmp::Reverse(a.score()))
                    < (b.missing.len(), std::cmp::Reverse(b.score()))
            }
        };
        if better {
            best = Some((i, a));
        }
    }
    HeaderSearch::NotFound { best }
}

fn layout_from(
    file: &str,
    header: &Row,
    assignment: &Assignment,
) -> Result<Layout, StatementError> {
    let r = &assignment.roles;
    let missing = |what: &'static str| StatementError::MissingColumn {
        file: file.to_string(),
        line: header.line,
        missing: what,
        headers: header.cells.iter().map(|c| c.trim().to_string()).collect(),
    };
    let date = *r.get(&Role::Date).ok_or_else(|| missing("date"))?;
    let amounts = match (r.get(&Role::Credit), r.get(&Role::Amount)) {
        (Some(&credit), _) => Amounts::Split {
            debit: r.get(&Role::Debit).copied(),
            credit,
        },
        (None, Some(&amount)) => Amounts::Single {
            amount,
            cr_dr: r.get(&Role::CrDr).copied(),
        },
        (None, None) => return Err(missing("credit or amount")),
    };
    Ok(Layout {
        headers: header.cells.clone(),
        header_line: header.line,
        date,
        value_date: r.get(&Role::ValueDate).copied(),
        narration: r.get(&Role::Narration).copied(),
        reference: r.get(&Role::Reference).copied(),
        counterparty: r.get(&Role::Counterparty).copied(),
        currency: r.get(&Role::Currency).copied(),
        amounts,
    })
}

/// The date formats in use, checked once: each must write a date that it
/// reads back.
fn date_formats(file: &str, columns: &CsvColumns) -> Result<Vec<String>, StatementError> {
    if columns.date_formats.is_empty() {
        return Ok(DEFAULT_DATE_FORMATS
            .iter()
            .map(|s| (*s).to_string())
            .collect());
    }
    let probe = jiff::civil::date(2026, 12, 5);
    for format in &columns.date_formats {
        let bad = |reason: String| StatementError::BadDateFormat {
            file: file.to_string(),
            format: format.clone(),
            reason,
        };
        let written = strtime::format(format, probe).map_err(|e| bad(e.to_string()))?;
        let back = strtime::parse(format, &written)
            .and_then(|t| t.to_date())
            .map_err(|e| bad(e.to_string()))?;
        if back != probe {
            return Err(bad(format!(
                "5 December 2026 is written `{written}` and read back as {back}"
            )));
        }
    }
    Ok(columns.date_formats.clone())
}

/// Drops a time of day after the date: `05/12/2026 10:30:15`,
/// `2026-12-05T10:30:00`.
fn strip_time(s: &str) -> &str {
    if let Some(colon) = s.find(':')
        && let Some(cut) = s[..colon].rfind(|c: char| c == 'T' || c.is_whitespace())
    {
        return s[..cut].trim_end();
    }
    s
}

/// Reads a date in the first of `formats` that fits with a plausible year
/// (`32/12/26` also fits `%Y/%m/%d`, as the year 32).
pub(crate) fn parse_date(text: &str, formats: &[String]) -> Result<Date, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("no date given".to_string());
    }
    let short = strip_time(t);
    let mut implausible: Option<i16> = None;
    for candidate in [t, short] {
        for format in formats {
            if let Ok(date) = strtime::parse(format, candidate).and_then(|b| b.to_date()) {
                if YEARS.contains(&date.year()) {
                    return Ok(date);
                }
                implausible.get_or_insert(date.year());
            }
        }
        if candidate == short {
            break;
        }
    }
    if let Some(year) = implausible.filter(|y| *y >= 1900) {
        return Err(format!("`{t}`: the year {year} is out of range"));
    }
    let defaults = formats.len() == DEFAULT_DATE_FORMATS.len()
        && formats
            .iter()
            .zip(DEFAULT_DATE_FORMATS)
            .all(|(a, b)| a == b);
    if defaults {
        Err(format!(
            "`{t}` is not a date (expected a form like 05/12/26, 05-12-2026, 05 Dec 2026 or 2026-12-05)"
        ))
    } else {
        Err(format!(
            "`{t}` is not a date in the configured forms ({})",
            formats.join(", ")
        ))
    }
}

/// Whether the row reads as a summary line: opening or closing balance,
/// totals, balances brought or carried forward.
fn is_summary(row: &Row) -> bool {
    row.cells.iter().any(|c| {
        let c = c.trim().to_ascii_lowercase();
        c.starts_with("total")
            || c.starts_with("grand total")
            || c.contains("opening balance")
            || c.contains("closing balance")
            || c.contains("balance b/f")
            || c.contains("balance c/f")
            || c.contains("brought forward")
            || c.contains("carried forward")
            || c == "b/f"
            || c == "c/f"
    })
}

/// Whether the row starts the footer: the statement summary, the
/// "computer generated" notice, "end of statement", "generated on".
fn ends_table(row: &Row) -> bool {
    row.cells.iter().any(|c| {
        let c = c.trim().to_ascii_lowercase();
        c.contains("statement summary")
            || c.contains("computer generated")
            || c.contains("end of statement")
            || c.starts_with("generated on")
            || c.contains("does not require")
    })
}

/// `*****`, `-----`, `=====` rows drawn between preamble, table and footer.
fn is_separator(row: &Row) -> bool {
    row.cells.iter().all(|c| {
        c.trim()
            .chars()
            .all(|ch| matches!(ch, '*' | '-' | '=' | '_' | '.' | ' '))
    })
}

/// The account number from preamble lines such as `Account No :
/// 50100123456789`, `A/C No.,XXXXXX1234`, `Account Number : 1234`.
fn account_from_preamble(preamble: &[Row]) -> Option<String> {
    for row in preamble {
        for (i, cell) in row.cells.iter().enumerate() {
            let (label, rest) = match cell.split_once(':') {
                Some((l, r)) => (l, r.trim()),
                None => (cell.as_str(), ""),
            };
            let label = normalize_header(label);
            let is_account = matches!(
                label.as_str(),
                "accountno" | "accountnumber" | "acno" | "accno" | "acnumber" | "accountnum"
            );
            if !is_account {
                continue;
            }
            let value = if rest.is_empty() {
                row.cells[i + 1..]
                    .iter()
                    .map(|c| c.trim().trim_start_matches(':').trim())
                    .find(|c| !c.is_empty())
                    .unwrap_or("")
            } else {
                rest
            };
            if value.chars().any(|c| c.is_ascii_digit()) {
                return Some(value.to_string());
            }
        }
    }
    None
}

/// A row's direction, read from its amount columns.
#[derive(Debug)]
enum Direction {
    Credit(Money),
    Debit,
}

/// Why a row was rejected: the column's header and the reason.
#[derive(Debug)]
struct Bad {
    field: String,
    reason: String,
}

fn blank_amount(cell: &str) -> bool {
    matches!(cell.trim(), "" | "-" | "--")
}

/// A debit or credit cell: `None` when blank or zero.
fn split_cell(cell: &str, currency: Currency) -> Result<Option<Money>, String> {
    if blank_amount(cell) {
        return Ok(None);
    }
    let money = Money::parse(cell, Some(currency)).map_err(|e| e.to_string())?;
    Ok((!money.is_zero()).then_some(money))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Cr,
    Dr,
}

/// `CR`, `C`, `Credit`, `Dep`... or `DR`, `D`, `Debit`, `Wdl`...
fn mark_of(cell: &str) -> Option<Mark> {
    match normalize_header(cell).as_str() {
        "cr" | "c" | "credit" | "dep" | "deposit" => Some(Mark::Cr),
        "dr" | "d" | "debit" | "wdl" | "withdrawal" => Some(Mark::Dr),
        _ => None,
    }
}

/// Splits a trailing `Cr`/`Dr` mark off an amount: `1,000.00 Cr`.
fn trailing_mark(cell: &str) -> (&str, Option<Mark>) {
    let t = cell.trim();
    let lower = t.to_ascii_lowercase();
    for (suffix, mark) in [
        ("cr.", Mark::Cr),
        ("dr.", Mark::Dr),
        ("cr", Mark::Cr),
        ("dr", Mark::Dr),
    ] {
        if let Some(head) = lower.strip_suffix(suffix)
            && head.ends_with(|c: char| c.is_ascii_digit() || c == ' ' || c == ')')
        {
            return (t[..head.len()].trim_end(), Some(mark));
        }
    }
    (t, None)
}

impl Layout {
    fn direction(&self, row: &Row, currency: Currency) -> Result<Direction, Bad> {
        let bad = |index: usize, reason: String| Bad {
            field: self.header(index),
            reason,
        };
        match self.amounts {
            Amounts::Split { debit, credit } => {
                let c = split_cell(row.cell(credit), currency).map_err(|r| bad(credit, r))?;
                let d = match debit {
                    Some(i) => split_cell(row.cell(i), currency).map_err(|r| bad(i, r))?,
                    None => None,
                };
                match (c, d) {
                    (Some(c), Some(d)) => Err(bad(
                        credit,
                        format!("the row has both a debit ({d}) and a credit ({c})"),
                    )),
                    (Some(c), None) if c.is_negative() => {
                        Err(bad(credit, format!("a negative credit ({c})")))
                    }
                    (Some(c), None) => Ok(Direction::Credit(c)),
                    (None, Some(_)) => Ok(Direction::Debit),
                    (None, None) if debit.is_none() => Ok(Direction::Debit),
                    (None, None) => Err(bad(
                        credit,
                        "neither a debit nor a credit amount".to_string(),
                    )),
                }
            }
            Amounts::Single { amount, cr_dr } => {
                let cell = row.cell(amount);
                if blank_amount(cell) {
                    return Err(bad(amount, "no amount given".to_string()));
                }
                let (number, suffix) = trailing_mark(cell);
                let column = match cr_dr {
                    Some(i) if !row.cell(i).is_empty() => {
                        Some(mark_of(row.cell(i)).ok_or_else(|| {
                            bad(i, format!("`{}` is neither CR nor DR", row.cell(i)))
                        })?)
                    }
                    _ => None,
                };
                let mark = match (column, suffix) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(bad(
                            amount,
                            format!("`{cell}` disagrees with the Cr/Dr column"),
                        ));
                    }
                    (a, b) => a.or(b),
                };
                let money =
                    Money::parse(number, Some(currency)).map_err(|e| bad(amount, e.to_string()))?;
                if money.is_zero() {
                    return Err(bad(amount, "the amount is zero".to_string()));
                }
                match mark {
                    Some(_) if money.is_negative() => Err(bad(
                        amount,
                        format!("`{cell}` is negative and also marked Cr or Dr"),
                    )),
                    Some(Mark::Cr) => Ok(Direction::Credit(money)),
                    Some(Mark::Dr) => Ok(Direction::Debit),
                    None if money.is_negative() => Ok(Direction::Debit),
                    None => Ok(Direction::Credit(money)),
                }
            }
        }
    }

    /// Reads a credit row into a credit (its direction is already known).
    fn credit(
        &self,
        row: &Row,
        amount: Money,
        row_currency: Option<Currency>,
        formats: &[String],
    ) -> Result<StatementCredit, Bad> {
        let bad = |index: usize, reason: String| Bad {
            field: self.header(index),
            reason,
        };
        if let Some(expected) = row_currency
            && amount.currency() != expected
            && let Some(i) = self.currency
        {
            return Err(bad(
                i,
                format!(
                    "the amount is in {} but the row says {expected}",
                    amount.currency()
                ),
            ));
        }
        let booked_on = parse_date(row.cell(self.date), formats).map_err(|r| bad(self.date, r))?;
        let value_date = match self.value_date {
            Some(i) if !row.cell(i).is_empty() => {
                Some(parse_date(row.cell(i), formats).map_err(|r| bad(i, r))?)
            }
            _ => None,
        };
        let text = |index: Option<usize>| {
            index
                .map(|i| row.cell(i))
                .filter(|c| !c.is_empty() && *c != "-")
                .map(str::to_string)
        };
        let bank_reference =
            text(self.reference).filter(|r| !r.chars().all(|c| c == '0' || c == ' '));
        Ok(StatementCredit {
            line: row.line,
            booked_on,
            value_date,
            amount,
            narration: text(self.narration).unwrap_or_default(),
            bank_reference,
            counterparty: text(self.counterparty),
        })
    }

    fn row_currency(&self, row: &Row) -> Result<Option<Currency>, Bad> {
        match self.currency {
            Some(i) if !row.cell(i).is_empty() => {
                Currency::from_code(row.cell(i)).map(Some).map_err(|e| Bad {
                    field: self.header(i),
                    reason: e.to_string(),
                })
            }
            _ => Ok(None),
        }
    }
}

const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

pub(super) fn read(
    file: &str,
    text: &str,
    opts: &StatementOptions,
) -> Result<Statement, StatementError> {
    let wanted = configured(&opts.columns);
    let formats = date_formats(file, &opts.columns)?;
    let index = LineIndex::new(text);

    // The delimiter whose header row is found (or nearest to it).
    let mut chosen: Option<(u8, Vec<Row>, HeaderSearch)> = None;
    for delimiter in DELIMITERS {
        let head = rows(text, delimiter, &index, HEADER_SEARCH_ROWS);
        let search = find_header(&head, &wanted);
        let rank = |s: &HeaderSearch| match s {
            HeaderSearch::Found { assignment, .. } => (2, assignment.score()),
            HeaderSearch::NotFound { best: Some((_, a)) } if a.missing.is_empty() => (1, a.score()),
            HeaderSearch::NotFound { .. } => (0, 0),
        };
        if chosen
            .as_ref()
            .is_none_or(|(_, _, s)| rank(&search) > rank(s))
        {
            chosen = Some((delimiter, head, search));
        }
    }
    let Some((delimiter, head, search)) = chosen else {
        return Err(StatementError::Empty {
            file: file.to_string(),
        });
    };
    let (header_index, assignment) = match search {
        HeaderSearch::Found { index, assignment } => (index, assignment),
        HeaderSearch::NotFound { best } => {
            return Err(match best {
                Some((_, a)) if !a.missing.is_empty() => StatementError::ColumnNotFound {
                    file: file.to_string(),
                    missing: a.missing,
                },
                Some((i, a)) if a.score() >= 3 => match layout_from(file, &head[i], &a) {
                    Err(e) => e,
                    Ok(_) => unreachable_header(file, &head),
                },
                _ if !wanted.is_empty() => StatementError::ColumnNotFound {
                    file: file.to_string(),
                    missing: wanted.into_iter().map(|(_, _, w)| w).collect(),
                },
                _ => unreachable_header(file, &head),
            });
        }
    };
    let layout = layout_from(file, &head[header_index], &assignment)?;
    let account = account_from_preamble(&head[..header_index]);

    let mut statement = Statement {
        format: StatementFormat::Csv,
        account,
        credits: Vec::new(),
        debits_skipped: 0,
        pending_skipped: 0,
        rejects: Vec::new(),
    };
    let all = rows(text, delimiter, &index, usize::MAX);
    let body = all.iter().filter(|r| r.line > layout.header_line);
    for row in body {
        if row.is_blank() || is_separator(row) {
            continue;
        }
        let dated = parse_date(row.cell(layout.date), &formats).is_ok();
        if !dated {
            if ends_table(row) {
                break;
            }
            let no_amount = layout
                .amount_columns()
                .iter()
                .all(|&i| blank_amount(row.cell(i)));
            if is_summary(row) || no_amount {
                continue;
            }
        }
        let reject = |bad: Bad| StatementReject {
            line: row.line,
            field: bad.field,
            reason: bad.reason,
            raw: row.raw(delimiter),
        };
        let row_currency = match layout.row_currency(row) {
            Ok(c) => c,
            Err(bad) => {
                statement.rejects.push(reject(bad));
                continue;
            }
        };
        let currency = row_currency.unwrap_or(opts.default_currency);
        match layout.direction(row, currency) {
            Err(bad) => statement.rejects.push(reject(bad)),
            Ok(Direction::Debit) => statement.debits_skipped += 1,
            Ok(Direction::Credit(amount)) => {
                match layout.credit(row, amount, row_currency, &formats) {
                    Ok(credit) => statement.credits.push(credit),
                    Err(bad) => statement.rejects.push(reject(bad)),
                }
            }
        }
    }
    Ok(statement)
}

fn unreachable_header(file: &str, head: &[Row]) -> StatementError {
    StatementError::NoHeader {
        file: file.to_string(),
        searched: HEADER_SEARCH_ROWS,
        first_lines: head
            .iter()
            .filter(|r| !r.is_blank())
            .take(3)
            .map(|r| r.raw(b','))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn read_with(text: &str, columns: CsvColumns) -> Result<Statement, StatementError> {
        let opts = StatementOptions {
            columns,
            ..StatementOptions::default()
        };
        read("t.csv", text, &opts)
    }

    fn read_csv(text: &str) -> Statement {
        read_with(text, CsvColumns::default()).unwrap()
    }

    fn defaults() -> Vec<String> {
        DEFAULT_DATE_FORMATS
            .iter()
            .map(|s| (*s).to_string())
            .collect()
    }

    #[test]
    fn indian_date_forms() {
        let d = date(2026, 12, 5);
        for s in [
            "05/12/26",
            "05/12/2026",
            "5/12/2026",
            "05-12-2026",
            "05.12.2026",
            "05 Dec 2026",
            "5 Dec 2026",
            "5-Dec-26",
            "05-DEC-2026",
            "05 December 2026",
            "2026-12-05",
            "2026/12/05",
            "05/12/2026 10:32:15",
            "2026-12-05T10:30:00",
            " 05/12/26 ",
        ] {
            assert_eq!(parse_date(s, &defaults()), Ok(d), "{s}");
        }
        for s in [
            "",
            "32/12/2026",
            "05/13/26",
            "2026-13-05",
            "05/12",
            "yesterday",
        ] {
            assert!(parse_date(s, &defaults()).is_err(), "{s} should be refused");
        }
        assert_eq!(
            parse_date("05/12/75", &defaults()),
            Err("`05/12/75`: the year 1975 is out of range".to_string())
        );
    }

    #[test]
    fn header_names_are_compared_without_punctuation() {
        assert_eq!(normalize_header("Chq./Ref.No."), "chqrefno");
        assert_eq!(role_of("withdrawalamountinr"), Some(Role::Debit));
        assert_eq!(
            role_of(&normalize_header("Deposit Amount (INR )")),
            Some(Role::Credit)
        );
        assert_eq!(
            role_of(&normalize_header("Value Dt")),
            Some(Role::ValueDate)
        );
        assert_eq!(role_of(&normalize_header("Cr/Dr")), Some(Role::CrDr));
        assert_eq!(role_of(&normalize_header("Account Name")), None);
    }

    #[test]
    fn finds_the_header_below_a_preamble_and_reads_lakh_amounts() {
        let s = read_csv(
            "My Bank Ltd\n\
             Account No :,50100123456789\n\
             Period,01/12/26 to 31/12/26\n\
             \n\
             Date,Narration,Ref No.,Debit,Credit,Balance\n\
             05/12/26,NEFT CR-ACME,UTR1,,\"1,23,456.50\",\"2,00,000.00\"\n\
             06/12/26,ATM WDL,,500.00,,\"1,99,500.00\"\n",
        );
        assert_eq!(s.account.as_deref(), Some("50100123456789"));
        assert_eq!(s.debits_skipped, 1);
        assert_eq!(s.rejects, vec![]);
        assert_eq!(s.credits.len(), 1);
        let c = &s.credits[0];
        assert_eq!(c.line, 6);
        assert_eq!(c.amount, Money::from_minor(12_345_650, Currency::INR));
        assert_eq!(c.bank_reference.as_deref(), Some("UTR1"));
        assert_eq!(c.booked_on, date(2026, 12, 5));
    }

    #[test]
    fn tab_and_semicolon_files() {
        let tab = read_csv("Txn Date\tDescription\tDebit\tCredit\n1 Dec 2026\tX\t\t10.00\n");
        assert_eq!(tab.credits.len(), 1);
        let semi = read_csv("Txn Date;Description;Debit;Credit\n01-12-2026;X;;\"10,50\"\n");
        assert_eq!(
            semi.credits[0].amount,
            Money::from_minor(1_050, Currency::INR)
        );
    }

    #[test]
    fn signed_and_marked_amounts() {
        let s = read_csv(
            "Date,Description,Amount\n\
             01/12/26,IN,\"1,000.00\"\n\
             02/12/26,OUT,-200.00\n\
             03/12/26,IN CR,300.00 Cr\n\
             04/12/26,OUT DR,400.00 Dr\n\
             05/12/26,ZERO,0.00\n",
        );
        let amounts: Vec<i64> = s.credits.iter().map(|c| c.amount.minor()).collect();
        assert_eq!(amounts, vec![100_000, 30_000]);
        assert_eq!(s.debits_skipped, 2);
        assert_eq!(s.rejects.len(), 1);
        assert_eq!(s.rejects[0].line, 6);
        assert_eq!(s.rejects[0].field, "Amount");
    }

    #[test]
    fn cr_dr_column() {
        let s = read_csv(
            "Transaction Date,Description,Amount,Dr / Cr\n\
             01/12/26,A,100.00,CR\n\
             02/12/26,B,100.00,DR\n\
             03/12/26,C,100.00,XX\n\
             04/12/26,D,-100.00,CR\n",
        );
        assert_eq!(s.credits.len(), 1);
        assert_eq!(s.debits_skipped, 1);
        let fields: Vec<(usize, &str)> = s
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(fields, vec![(4, "Dr / Cr"), (5, "Amount")]);
    }

    #[test]
    fn rows_that_are_not_transactions() {
        let s = read_csv(
            "Date,Narration,Withdrawal Amt.,Deposit Amt.,Closing Balance\n\
             ********,********,********,********,********\n\
             ,Opening Balance,,,\"1,000.00\"\n\
             01/12/26,A,,100.00,\"1,100.00\"\n\
             ,continued narration text,,,\n\
             ,Total,0.00,100.00,\n\
             xx/12/26,B,,50.00,\"1,150.00\"\n\
             ,C,,60.00,\n\
             01/12/26,D,10.00,20.00,\n\
             01/12/26,E,,,\n\
             \n\
             STATEMENT SUMMARY :-\n\
             Opening Balance,Dr Count,Cr Count,Debits,Credits\n\
             \"1,000.00\",0,2,0.00,150.00\n",
        );
        assert_eq!(s.credits.len(), 1);
        let rejects: Vec<(usize, &str)> = s
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (7, "Date"),
                (8, "Date"),
                (9, "Deposit Amt."),
                (10, "Deposit Amt.")
            ]
        );
        assert_eq!(s.rejects[1].reason, "no date given");
        assert_eq!(
            s.rejects[0].raw,
            "xx/12/26,B,,50.00,\"1,150.00\"".replace('"', "")
        );
    }

    #[test]
    fn quoted_fields_spanning_lines_keep_line_numbers() {
        let s = read_csv(
            "Date,Narration,Debit,Credit\r\n\
             01/12/26,\"multi\r\nline\",,1.00\r\n\
             02/12/26,next,,2.00\r\n",
        );
        let lines: Vec<usize> = s.credits.iter().map(|c| c.line).collect();
        assert_eq!(lines, vec![2, 4], "{s:#?}");
    }

    #[test]
    fn configured_columns_and_formats() {
        let text = "Posted On|Details|Bank Ref|Amt|Direction|Ccy\n\
                    05.12.2026|X|R1|1,250.00|CR|USD\n\
                    06.12.2026|Y|R2|10.00|C|usd\n\
                    07.12.2026|Z|R3|10.00|C|EUR\n\
                    08.12.2026|W|R4|10.00 USD|C|EUR\n\
                    09.12.2026|V|R5|10.00|IN|USD\n";
        let columns = CsvColumns {
            date: Some("posted on".into()),
            narration: Some("Details".into()),
            reference: Some("Bank Ref".into()),
            amount: Some("Amt".into()),
            cr_dr: Some("Direction".into()),
            currency: Some("Ccy".into()),
            date_formats: vec!["%d.%m.%Y".into()],
            ..CsvColumns::default()
        };
        let s = read_with(text, columns).unwrap();
        assert_eq!(s.credits.len(), 3);
        assert_eq!(
            s.credits[0].amount,
            Money::from_minor(125_000, Currency::USD)
        );
        assert_eq!(s.credits[1].amount, Money::from_minor(1_000, Currency::USD));
        assert_eq!(s.credits[2].amount, Money::from_minor(1_000, Currency::EUR));
        assert_eq!(s.credits[0].booked_on, date(2026, 12, 5));
        let fields: Vec<(usize, &str)> = s
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(fields, vec![(5, "Ccy"), (6, "Direction")]);
    }

    #[test]
    fn whole_file_failures() {
        assert!(matches!(
            read_with("hello\nworld\n", CsvColumns::default()),
            Err(StatementError::NoHeader { .. })
        ));
        assert!(matches!(
            read_with(
                "Date,Narration,Balance\n01/12/26,x,1\n",
                CsvColumns::default()
            ),
            Err(StatementError::MissingColumn {
                missing: "credit or amount",
                line: 1,
                ..
            })
        ));
        let e = read_with(
            "Date,Narration,Credit\n",
            CsvColumns {
                credit: Some("Money In".into()),
                ..CsvColumns::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            StatementError::ColumnNotFound {
                file: "t.csv".into(),
                missing: vec!["Money In".into()]
            }
        );
        assert!(matches!(
            read_with(
                "Date,Credit\n",
                CsvColumns {
                    date_formats: vec!["%d".into()],
                    ..CsvColumns::default()
                }
            ),
            Err(StatementError::BadDateFormat { .. })
        ));
    }
}
