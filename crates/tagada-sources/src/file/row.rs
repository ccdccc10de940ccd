//! Turning one source row into an [`ImportRow`] or a [`RowError`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::sync::Arc;

use jiff::ToSpan;
use jiff::civil::Date;
use sha2::{Digest, Sha256};
use tagada_core::ledger::InvoiceStatus;
use tagada_core::{CountryCode, Currency, Money, MoneyError, Phone};

use super::cell::Cell;
use super::date::{DateOrder, excel_serial_date, parse_date};
use super::field::{Field, normalize_header};
use super::{BuyerRecord, ImportOptions, ImportRow, InvoiceRecord, RawRow, RowError};

/// The header of a file and what to do with its rows.
#[derive(Debug)]
pub(crate) struct Layout {
    headers: Vec<String>,
    columns: BTreeMap<Field, usize>,
    header_line: u64,
    delimiter: char,
    opts: ImportOptions,
    /// The columns of [`BUYER_FIELDS`] this file has, in that order.
    buyer_columns: Vec<usize>,
    buyers: RefCell<BuyerMemo>,
    /// Date cells already read, by their text: a file has a few hundred
    /// distinct dates over many rows. Emptied when it grows large.
    dates: RefCell<HashMap<Box<str>, Date, foldhash::fast::RandomState>>,
}

/// Distinct date texts remembered per file before that memo starts afresh.
const DATE_MEMO_LIMIT: usize = 4096;

/// The fields a [`BuyerRecord`] is read from, and nothing else: two rows
/// whose cells in these columns read alike describe the same buyer alike.
const BUYER_FIELDS: [Field; 11] = [
    Field::BuyerKey,
    Field::BuyerName,
    Field::Company,
    Field::Phone,
    Field::Email,
    Field::Country,
    Field::City,
    Field::TimeZone,
    Field::Language,
    Field::SalesRep,
    Field::Consent,
];

/// A buyer as a file's rows describe it, read once for every row that
/// describes it in the same words: a buyer's cells repeat on each of their
/// invoices, and reading them (the key, the phone number, the hash of the
/// buyer's half of the row) is most of the work of a row. Parsing a phone
/// number alone costs more than everything else in a row.
#[derive(Clone)]
struct BuyerRead {
    record: Arc<BuyerRecord>,
    /// See [`ImportRow::buyer_seq`].
    seq: usize,
    /// What the buyer's cells were read with (a phone number that is not
    /// valid...), for every row naming them so.
    warnings: Vec<String>,
    /// The row hash with the buyer's fields already in: a row adds its
    /// invoice's.
    hashed: Sha256,
}

struct BuyerMemo {
    /// The current row's buyer cells, length-prefixed, reused row to row.
    cells: Vec<u8>,
    /// Buyer cells already read → what came of them, in `reads`. Both are
    /// emptied when they grow large, so memory stays bounded. Hashed with
    /// foldhash (seeded per process), a fraction of the standard SipHash's
    /// cost on these short keys.
    index: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    reads: Vec<BuyerRead>,
    /// Every buyer key of the file so far → its [`ImportRow::buyer_seq`].
    seqs: HashMap<String, usize, foldhash::fast::RandomState>,
    /// [`BUYER_MEMO_LIMIT`], but for tests.
    limit: usize,
}

impl Default for BuyerMemo {
    fn default() -> Self {
        BuyerMemo {
            cells: Vec::new(),
            index: HashMap::default(),
            reads: Vec::new(),
            seqs: HashMap::default(),
            limit: BUYER_MEMO_LIMIT,
        }
    }
}

impl std::fmt::Debug for BuyerMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuyerMemo")
            .field("reads", &self.reads.len())
            .field("keys", &self.seqs.len())
            .finish()
    }
}

/// Descriptions of buyers remembered per file before the memo starts
/// afresh (a file naming more distinct buyers reads some of them again).
const BUYER_MEMO_LIMIT: usize = 65_536;

impl Layout {
    pub(crate) fn new(
        headers: Vec<String>,
        columns: BTreeMap<Field, usize>,
        header_line: u64,
        delimiter: char,
        opts: ImportOptions,
    ) -> Layout {
        let buyer_columns = BUYER_FIELDS
            .iter()
            .filter_map(|f| columns.get(f).copied())
            .collect();
        Layout {
            headers,
            columns,
            header_line,
            delimiter,
            opts,
            buyer_columns,
            buyers: RefCell::new(BuyerMemo::default()),
            dates: RefCell::new(HashMap::default()),
        }
    }

    pub(crate) fn headers(&self) -> &[String] {
        &self.headers
    }

    pub(crate) fn header_line(&self) -> u64 {
        self.header_line
    }

    pub(crate) fn delimiter(&self) -> char {
        self.delimiter
    }

    pub(crate) fn mapping(&self) -> BTreeMap<Field, String> {
        self.columns
            .iter()
            .map(|(f, &i)| (*f, self.headers[i].clone()))
            .collect()
    }

    fn has(&self, field: Field) -> bool {
        self.columns.contains_key(&field)
    }

    /// The field's cell in `raw`, unless the column is absent or the cell
    /// blank.
    fn cell<'a>(&self, raw: &'a RawRow, field: Field) -> Option<&'a Cell> {
        let i = *self.columns.get(&field)?;
        raw.cells.get(i).filter(|c| !c.is_empty())
    }

    fn text(&self, raw: &RawRow, field: Field) -> Option<String> {
        self.cell(raw, field).map(|c| c.as_text().into_owned())
    }

    /// [`Self::text`] borrowed from the row, for a value that is only read.
    fn str<'a>(&self, raw: &'a RawRow, field: Field) -> Option<Cow<'a, str>> {
        self.cell(raw, field).map(Cell::as_text)
    }

    /// A summary row: its first non-blank cell says `Total`, `Grand Total`,
    /// `Closing Balance`... and it has no invoice number of its own.
    pub(crate) fn is_summary(&self, raw: &RawRow) -> bool {
        let Some(first) = raw.cells.iter().find(|c| !c.is_empty()) else {
            return false;
        };
        let first_text = first.as_text();
        // Every form below starts with one of these letters once normalised
        // (a leading `#` or `&` becomes `no`/`and`): most rows stop here,
        // without normalising anything.
        let lead = first_text
            .chars()
            .find(|c| c.is_alphanumeric() || *c == '#' || *c == '&');
        if !lead.is_some_and(|c| {
            c.to_lowercase()
                .next()
                .is_some_and(|l| matches!(l, 't' | 'g' | 's' | 'n' | 'c' | 'o' | 'b'))
        }) {
            return false;
        }
        let norm = normalize_header(&first_text);
        let summary = matches!(
            norm.as_str(),
            "total"
                | "totals"
                | "grand total"
                | "sub total"
                | "subtotal"
                | "net total"
                | "closing balance"
                | "opening balance"
                | "carried forward"
                | "brought forward"
                | "carried over"
        ) || norm.starts_with("total ")
            || norm.starts_with("grand total ");
        if !summary {
            return false;
        }
        match self.text(raw, Field::InvoiceNumber) {
            None => true,
            Some(number) => number == first_text,
        }
    }

    /// The row's cells joined with the delimiter, quoted where needed.
    fn join(&self, raw: &RawRow) -> String {
        let mut out = String::with_capacity(
            raw.cells
                .iter()
                .map(|c| match c {
                    Cell::Text(s) | Cell::Number(s) => s.len() + 1,
                    _ => 11,
                })
                .sum(),
        );
        for (i, cell) in raw.cells.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            let text = cell.as_text();
            let quoted = match u8::try_from(self.delimiter) {
                // the usual case (`,` `;` tab `|`): one pass over the bytes
                Ok(d) if d.is_ascii() => text
                    .bytes()
                    .any(|b| b == d || matches!(b, b'"' | b'\n' | b'\r')),
                _ => text.contains([self.delimiter, '"', '\n', '\r']),
            };
            if quoted {
                out.push('"');
                out.push_str(&text.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&text);
            }
        }
        out
    }

    /// Reads one row. See [`super::FileRows`] for the rules.
    pub(crate) fn convert(&self, raw: &RawRow) -> Result<ImportRow, RowError> {
        let reject = |field: Field, reason: String| RowError {
            line: raw.line,
            column: self.columns.get(&field).map(|&i| self.headers[i].clone()),
            value: self.text(raw, field),
            reason,
            raw: self.join(raw),
        };
        let opts = &self.opts;

        let number = self
            .text(raw, Field::InvoiceNumber)
            .ok_or_else(|| reject(Field::InvoiceNumber, "the invoice number is missing".into()))?;
        if self.cell(raw, Field::BuyerName).is_none() {
            return Err(reject(Field::BuyerName, "the buyer name is missing".into()));
        }

        // Currency column, then the amounts.
        let column_currency = match self.str(raw, Field::Currency) {
            None => None,
            Some(code) => Some(
                currency_from_cell(&code)
                    .ok_or_else(|| reject(Field::Currency, format!("unknown currency `{code}`")))?,
            ),
        };
        let row_currency = column_currency.unwrap_or(opts.default_currency);
        let read_money = |field: Field, what: &str| -> Result<Option<Money>, RowError> {
            let Some(text) = self.str(raw, field) else {
                return Ok(None);
            };
            let money = Money::parse(&text, Some(row_currency))
                .map_err(|e| reject(field, money_reason(what, &e)))?;
            if let Some(expected) = column_currency
                && money.currency() != expected
            {
                return Err(reject(
                    field,
                    format!(
                        "the {what} is in {} but the currency column says {expected}",
                        money.currency()
                    ),
                ));
            }
            Ok(Some(money))
        };

        let amount_field = if self.has(Field::Amount) {
            Field::Amount
        } else {
            Field::Outstanding
        };
        let amount_what = if amount_field == Field::Amount {
            "amount"
        } else {
            "outstanding amount"
        };
        let amount = read_money(amount_field, amount_what)?
            .ok_or_else(|| reject(amount_field, format!("the {amount_what} is missing")))?;
        if !amount.is_positive() {
            return Err(reject(
                amount_field,
                format!("the {amount_what} must be greater than zero"),
            ));
        }
        let currency = amount.currency();
        let same_currency = |field: Field, what: &str, m: Money| -> Result<Money, RowError> {
            if m.currency() == currency {
                Ok(m)
            } else {
                Err(reject(
                    field,
                    format!(
                        "the {what} is in {} but the amount is in {currency}",
                        m.currency()
                    ),
                ))
            }
        };

        let paid_column = match read_money(Field::AmountPaid, "amount paid")? {
            None => None,
            Some(paid) => {
                let paid = same_currency(Field::AmountPaid, "amount paid", paid)?;
                if paid.is_negative() {
                    return Err(reject(
                        Field::AmountPaid,
                        "the amount paid cannot be negative".into(),
                    ));
                }
                if paid.minor() > amount.minor() {
                    return Err(reject(
                        Field::AmountPaid,
                        format!("the amount paid ({paid}) is more than the amount ({amount})"),
                    ));
                }
                Some(paid)
            }
        };
        let paid_from_outstanding = if amount_field == Field::Amount {
            match read_money(Field::Outstanding, "outstanding amount")? {
                None => None,
                Some(outstanding) => {
                    let outstanding =
                        same_currency(Field::Outstanding, "outstanding amount", outstanding)?;
                    if outstanding.is_negative() {
                        return Err(reject(
                            Field::Outstanding,
                            "the outstanding amount cannot be negative".into(),
                        ));
                    }
                    if outstanding.minor() > amount.minor() {
                        return Err(reject(
                            Field::Outstanding,
                            format!(
                                "the outstanding amount ({outstanding}) is more than the amount ({amount})"
                            ),
                        ));
                    }
                    // Cannot overflow: 0 <= outstanding <= amount.
                    Some(Money::from_minor(
                        amount.minor() - outstanding.minor(),
                        currency,
                    ))
                }
            }
        } else {
            None
        };
        let amount_paid = match (paid_column, paid_from_outstanding) {
            (Some(paid), Some(derived)) if paid != derived => {
                return Err(reject(
                    Field::Outstanding,
                    format!(
                        "amount paid ({paid}) and outstanding do not add up to the amount ({amount})"
                    ),
                ));
            }
            (Some(paid), _) => paid,
            (None, Some(derived)) => derived,
            (None, None) => Money::zero(currency),
        };

        // Dates.
        let read_date = |field: Field| -> Result<Option<Date>, RowError> {
            match self.cell(raw, field) {
                None => Ok(None),
                Some(cell) => self
                    .date(cell)
                    .map(Some)
                    .map_err(|reason| reject(field, reason)),
            }
        };
        let invoice_date = read_date(Field::InvoiceDate)?;
        let order_date = read_date(Field::OrderDate)?;
        let credit_days = match self.str(raw, Field::CreditDays) {
            None => None,
            Some(text) => {
                Some(parse_credit_days(&text).map_err(|reason| reject(Field::CreditDays, reason))?)
            }
        };
        let due_cell = read_date(Field::DueDate)?;
        let (due_date, credit_days) = match (due_cell, invoice_date) {
            (Some(due), _) => (due, credit_days),
            (None, Some(invoiced)) => {
                let days = credit_days.unwrap_or(opts.default_credit_days);
                let due = invoiced.checked_add(days.days()).map_err(|_| {
                    reject(
                        Field::CreditDays,
                        format!("{days} credit days after {invoiced} is out of range"),
                    )
                })?;
                (due, Some(days))
            }
            (None, None) => {
                let field = if self.has(Field::DueDate) {
                    Field::DueDate
                } else {
                    Field::InvoiceDate
                };
                return Err(reject(
                    field,
                    "neither a due date nor an invoice date to count credit days from".into(),
                ));
            }
        };
        if let Some(invoiced) = invoice_date
            && due_date < invoiced
        {
            return Err(reject(
                Field::DueDate,
                format!(
                    "the due date {due_date} is before the invoice date {invoiced} (day and month swapped?)"
                ),
            ));
        }

        let status = match self.str(raw, Field::Status) {
            None => None,
            Some(text) => {
                Some(parse_status(&text).map_err(|reason| reject(Field::Status, reason))?)
            }
        };

        let buyer = self.buyer(raw);
        let invoice = InvoiceRecord {
            number,
            order_date,
            invoice_date,
            due_date,
            credit_days,
            amount,
            amount_paid,
            status,
            notes: self.text(raw, Field::Notes),
            lead: self.text(raw, Field::Lead),
        };
        let source_hash = finish_hash(buyer.hashed, &invoice);
        Ok(ImportRow {
            line: raw.line,
            buyer: buyer.record,
            buyer_seq: buyer.seq,
            invoice,
            source_hash,
            warnings: buyer.warnings,
            raw: self.join(raw),
        })
    }

    /// [`cell_date`], remembered for text cells that read as a date.
    fn date(&self, cell: &Cell) -> Result<Date, String> {
        let Cell::Text(text) = cell else {
            return cell_date(cell, self.opts.date_order);
        };
        let mut memo = self.dates.borrow_mut();
        if let Some(&date) = memo.get(text.as_str()) {
            return Ok(date);
        }
        let date = cell_date(cell, self.opts.date_order)?;
        if memo.len() >= DATE_MEMO_LIMIT {
            memo.clear();
        }
        memo.insert(text.as_str().into(), date);
        Ok(date)
    }

    /// The row's buyer: remembered when an earlier row had the same buyer
    /// cells, else read from them (a row's name cell is known not blank).
    fn buyer(&self, raw: &RawRow) -> BuyerRead {
        let mut memo = self.buyers.borrow_mut();
        let memo = &mut *memo;
        memo.cells.clear();
        for &i in &self.buyer_columns {
            // blank and absent alike read as nothing; a cell's text is
            // trimmed, so only a blank one has length 0
            let text = raw.cells.get(i).map(Cell::as_text).unwrap_or_default();
            memo.cells
                .extend_from_slice(&(text.len() as u64).to_le_bytes());
            memo.cells.extend_from_slice(text.as_bytes());
        }
        if let Some(&i) = memo.index.get(memo.cells.as_slice()) {
            return memo.reads[i as usize].clone();
        }
        let (record, warnings) = self.read_buyer(raw);
        let seq = match memo.seqs.get(&record.key) {
            Some(&seq) => seq,
            None => {
                let seq = memo.seqs.len();
                memo.seqs.insert(record.key.clone(), seq);
                seq
            }
        };
        let read = BuyerRead {
            hashed: hash_buyer(&record),
            record: Arc::new(record),
            seq,
            warnings,
        };
        if memo.reads.len() >= memo.limit {
            memo.index.clear();
            memo.reads.clear();
        }
        let i = u32::try_from(memo.reads.len()).expect("the limit is far below u32::MAX");
        memo.index.insert(memo.cells.as_slice().into(), i);
        memo.reads.push(read.clone());
        read
    }

    /// Reads the buyer cells of a row whose name cell is not blank. Bad
    /// values are dropped with a warning.
    fn read_buyer(&self, raw: &RawRow) -> (BuyerRecord, Vec<String>) {
        let opts = &self.opts;
        let mut warnings = Vec::new();
        let name = self.text(raw, Field::BuyerName).unwrap_or_default();
        let column_label = |field: Field| {
            self.columns
                .get(&field)
                .map_or_else(|| field.label().to_string(), |&i| self.headers[i].clone())
        };
        let country = match self.str(raw, Field::Country) {
            None => None,
            Some(text) => match CountryCode::parse(&text) {
                Ok(c) => Some(c),
                Err(e) => {
                    warnings.push(format!(
                        "{}: {e}; country left blank",
                        column_label(Field::Country)
                    ));
                    None
                }
            },
        };
        let phone_raw = self.text(raw, Field::Phone);
        let whatsapp = match &phone_raw {
            None => None,
            Some(text) => {
                let region = country.as_ref().unwrap_or(&opts.default_region);
                match Phone::parse(text, region) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        warnings.push(format!(
                            "{}: {e}; the buyer is imported without a WhatsApp number",
                            column_label(Field::Phone)
                        ));
                        None
                    }
                }
            }
        };
        let email = match self.text(raw, Field::Email) {
            None => None,
            Some(text) if looks_like_email(&text) => Some(text),
            Some(text) => {
                warnings.push(format!(
                    "{}: `{text}` is not an email address; email left blank",
                    column_label(Field::Email)
                ));
                None
            }
        };
        let time_zone = match self.text(raw, Field::TimeZone) {
            None => None,
            Some(text) if jiff::tz::TimeZone::get(&text).is_ok() => Some(text),
            Some(text) => {
                warnings.push(format!(
                    "{}: `{text}` is not a known time zone; the country's zone applies",
                    column_label(Field::TimeZone)
                ));
                None
            }
        };
        let consent = match self.str(raw, Field::Consent) {
            None => false,
            Some(text) => parse_consent(&text).unwrap_or_else(|| {
                warnings.push(format!(
                    "{}: `{text}` is neither yes nor no; taken as no consent",
                    column_label(Field::Consent)
                ));
                false
            }),
        };

        let key = self
            .text(raw, Field::BuyerKey)
            .unwrap_or_else(|| buyer_key(&name));
        let buyer = BuyerRecord {
            key,
            name,
            company: self.text(raw, Field::Company),
            whatsapp,
            phone_raw,
            email,
            country,
            city: self.text(raw, Field::City),
            time_zone,
            language: self.text(raw, Field::Language).map(|l| l.to_lowercase()),
            sales_rep: self.text(raw, Field::SalesRep),
            consent,
            notes: None,
        };
        (buyer, warnings)
    }
}

/// `InvoiceStatus::parse`, plus the statuses accounting exports add: Zoho's
/// `Sent`/`Viewed`/`Approved` and similar are still owed (pending); a
/// `Draft` was never sent to the buyer and is refused.
fn parse_status(text: &str) -> Result<InvoiceStatus, String> {
    if let Some(status) = InvoiceStatus::parse(text) {
        return Ok(status);
    }
    match normalize_header(text).as_str() {
        "sent" | "viewed" | "issued" | "approved" | "posted" | "not paid" | "awaiting payment" => {
            Ok(InvoiceStatus::Pending)
        }
        "draft" => Err("a draft invoice was never sent to the buyer; not imported".into()),
        _ => Err(format!("unknown status `{text}`")),
    }
}

fn money_reason(what: &str, e: &MoneyError) -> String {
    match e {
        MoneyError::Empty => format!("the {what} is missing"),
        e => format!("the {what} cannot be read: {e}"),
    }
}

/// An ISO code (`usd`), or a currency sign alone (`₹`, `Rs`, `$`).
fn currency_from_cell(text: &str) -> Option<Currency> {
    if let Ok(c) = Currency::from_code(text) {
        return Some(c);
    }
    if text.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    Money::parse(&format!("{text} 1"), None)
        .ok()
        .map(Money::currency)
}

/// A date cell: a spreadsheet date, an Excel serial number (a numeric cell,
/// or five digits written as text, as a sheet pasted into CSV gives), or a
/// written date.
fn cell_date(cell: &Cell, order: DateOrder) -> Result<Date, String> {
    let serial = |s: &str| -> Result<Date, String> {
        let int_part = s.split('.').next().unwrap_or(s);
        int_part
            .parse::<i64>()
            .ok()
            .and_then(excel_serial_date)
            .ok_or_else(|| format!("`{s}` is not a date"))
    };
    match cell {
        Cell::Date(d) => Ok(*d),
        Cell::Number(s) => serial(s),
        Cell::Text(s) => {
            let t = s.trim();
            if t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()) {
                serial(t)
            } else {
                parse_date(t, order)
            }
        }
        Cell::Empty => Err("no date given".into()),
    }
}

/// Credit terms: `30`, `Net 30`, `30 days`, `NET30`, `2/10 Net 30` (the
/// last whole number counts), `Due on receipt`/`Immediate` (0). Between 0
/// and 3650.
fn parse_credit_days(text: &str) -> Result<i32, String> {
    let lower = text.trim().to_lowercase();
    if [
        "due on receipt",
        "on receipt",
        "immediate",
        "immediately",
        "cash",
        "advance",
    ]
    .contains(&lower.as_str())
    {
        return Ok(0);
    }
    let bad = || format!("`{text}` is not a number of credit days (e.g. 30, Net 30, 30 days)");
    // A spreadsheet number cell may arrive as `30` or `30.0`-like text.
    if let Some((int, frac)) = lower.split_once('.')
        && frac.bytes().all(|b| b == b'0')
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
    {
        return int.parse::<i32>().map_err(|_| bad());
    }
    let mut last: Option<&str> = None;
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i < bytes.len()
                && (bytes[i] == b'.' || bytes[i] == b',')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                return Err(bad());
            }
            last = Some(&lower[start..i]);
        } else {
            i += 1;
        }
    }
    let days: i32 = last.ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if (0..=3650).contains(&days) {
        Ok(days)
    } else {
        Err(format!(
            "`{text}`: {days} credit days is out of range (0 to 3650)"
        ))
    }
}

/// `yes`, `y`, `true`, `1`, `agreed`, `opted in`... → `Some(true)`; `no`,
/// `n`, `false`, `0`, `opted out` → `Some(false)`; anything else `None`.
fn parse_consent(text: &str) -> Option<bool> {
    match normalize_header(text).as_str() {
        "yes" | "y" | "true" | "1" | "agreed" | "agree" | "given" | "opted in" | "opt in"
        | "ok" | "x" => Some(true),
        "no" | "n" | "false" | "0" | "opted out" | "opt out" | "refused" => Some(false),
        _ => None,
    }
}

/// One `@`, something before it, a dot in a domain that neither starts nor
/// ends with one, no spaces. Deliverability is not this crate's question.
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// The buyer's name as a key: lower case, a leading `M/s` dropped,
/// punctuation to spaces, spaces collapsed.
pub(crate) fn buyer_key(name: &str) -> String {
    // Words are runs of letters, digits, `/` and `&`; a first word `m/s`
    // is dropped; then `/` separates words too. One pass, one string out.
    let lower = name.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut words = lower
        .split(|c: char| !c.is_alphanumeric() && c != '/' && c != '&')
        .filter(|w| !w.is_empty())
        .peekable();
    if words.peek() == Some(&"m/s") {
        words.next();
    }
    for piece in words.flat_map(|w| w.split('/')).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece);
    }
    out
}

/// SHA-256 over the row's values in canonical form (E.164 phone, ISO
/// dates, minor units), one `name=value` per line: the buyer's fields,
/// then the invoice's.
#[cfg(test)]
fn row_hash(buyer: &BuyerRecord, invoice: &InvoiceRecord) -> String {
    finish_hash(hash_buyer(buyer), invoice)
}

/// Hashes `name=<length><value>\n`, the value written into `buf` (reused:
/// nothing is allocated per field). Values may contain newlines; the length
/// prefix keeps any two rows from serialising alike.
fn put_field(hasher: &mut Sha256, buf: &mut String, name: &str, value: Option<&dyn Display>) {
    use std::fmt::Write as _;
    buf.clear();
    if let Some(v) = value {
        // writing to a String cannot fail
        let _ = write!(buf, "{v}");
    }
    hasher.update(name.as_bytes());
    hasher.update(b"=");
    hasher.update((buf.len() as u64).to_le_bytes());
    hasher.update(buf.as_bytes());
    hasher.update(b"\n");
}

fn opt<T: Display>(v: &Option<T>) -> Option<&dyn Display> {
    v.as_ref().map(|v| v as &dyn Display)
}

/// The row hash's first half: the buyer's fields.
fn hash_buyer(buyer: &BuyerRecord) -> Sha256 {
    let phone: Option<&str> = buyer
        .whatsapp
        .as_ref()
        .map(Phone::as_str)
        .or(buyer.phone_raw.as_deref());
    let mut hasher = Sha256::new();
    let mut buf = String::with_capacity(64);
    let h = &mut hasher;
    let b = &mut buf;
    put_field(h, b, "buyer_key", Some(&buyer.key));
    put_field(h, b, "buyer_name", Some(&buyer.name));
    put_field(h, b, "company", opt(&buyer.company));
    put_field(h, b, "phone", opt(&phone));
    put_field(h, b, "email", opt(&buyer.email));
    put_field(h, b, "country", opt(&buyer.country));
    put_field(h, b, "city", opt(&buyer.city));
    put_field(h, b, "time_zone", opt(&buyer.time_zone));
    put_field(h, b, "language", opt(&buyer.language));
    put_field(h, b, "sales_rep", opt(&buyer.sales_rep));
    put_field(h, b, "consent", Some(&buyer.consent));
    hasher
}

/// The row hash from [`hash_buyer`]'s state: the invoice's fields, then
/// 64 hex digits.
fn finish_hash(mut hasher: Sha256, invoice: &InvoiceRecord) -> String {
    let mut buf = String::with_capacity(64);
    let h = &mut hasher;
    let b = &mut buf;
    put_field(h, b, "invoice_number", Some(&invoice.number));
    put_field(h, b, "order_date", opt(&invoice.order_date));
    put_field(h, b, "invoice_date", opt(&invoice.invoice_date));
    put_field(h, b, "due_date", Some(&invoice.due_date));
    put_field(h, b, "credit_days", opt(&invoice.credit_days));
    put_field(h, b, "currency", Some(&invoice.amount.currency()));
    put_field(h, b, "amount", Some(&invoice.amount.minor()));
    put_field(h, b, "amount_paid", Some(&invoice.amount_paid.minor()));
    put_field(h, b, "status", opt(&invoice.status));
    put_field(h, b, "notes", opt(&invoice.notes));
    // A lead reference counts only where there is one, so rows without it
    // hash as they always did.
    if let Some(lead) = &invoice.lead {
        put_field(h, b, "lead", Some(lead));
    }
    // 64 hex digits straight into a buffer of that size: one allocation,
    // where collecting them as chars grows the string as it goes
    let mut digits = [0u8; 64];
    hex::encode_to_slice(hasher.finalize(), &mut digits).expect("32 bytes make 64 digits");
    std::str::from_utf8(&digits)
        .expect("hex digits are ASCII")
        .to_owned()
}

#[cfg(test)]
mod same_as_before {
    //! The row hash is stored with every imported invoice and compared at
    //! each re-import, and the buyer key identifies buyers across files:
    //! both must come out exactly as the first, plainer versions below
    //! computed them, or a re-import would see every row as changed.
    use proptest::prelude::*;

    use super::*;

    fn buyer_key_before(name: &str) -> String {
        let words: Vec<String> = name
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '/' && c != '&')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let mut words = words.as_slice();
        if let Some(first) = words.first()
            && (first == "m/s" || first == "m/s.")
        {
            words = &words[1..];
        }
        words
            .iter()
            .map(|w| w.replace('/', " "))
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn row_hash_before(buyer: &BuyerRecord, invoice: &InvoiceRecord) -> String {
        fn opt<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map(ToString::to_string).unwrap_or_default()
        }
        let phone = buyer
            .whatsapp
            .as_ref()
            .map(|p| p.as_str().to_string())
            .or_else(|| buyer.phone_raw.clone())
            .unwrap_or_default();
        let fields: [(&str, String); 21] = [
            ("buyer_key", buyer.key.clone()),
            ("buyer_name", buyer.name.clone()),
            ("company", opt(&buyer.company)),
            ("phone", phone),
            ("email", opt(&buyer.email)),
            ("country", opt(&buyer.country)),
            ("city", opt(&buyer.city)),
            ("time_zone", opt(&buyer.time_zone)),
            ("language", opt(&buyer.language)),
            ("sales_rep", opt(&buyer.sales_rep)),
            ("consent", buyer.consent.to_string()),
            ("invoice_number", invoice.number.clone()),
            ("order_date", opt(&invoice.order_date)),
            ("invoice_date", opt(&invoice.invoice_date)),
            ("due_date", invoice.due_date.to_string()),
            ("credit_days", opt(&invoice.credit_days)),
            ("currency", invoice.amount.currency().to_string()),
            ("amount", invoice.amount.minor().to_string()),
            ("amount_paid", invoice.amount_paid.minor().to_string()),
            ("status", opt(&invoice.status)),
            ("notes", opt(&invoice.notes)),
        ];
        let mut hasher = Sha256::new();
        let lead = invoice.lead.as_ref().map(|l| ("lead", l.clone()));
        for (name, value) in fields.into_iter().chain(lead) {
            hasher.update(name.as_bytes());
            hasher.update(b"=");
            hasher.update((value.len() as u64).to_le_bytes());
            hasher.update(value.as_bytes());
            hasher.update(b"\n");
        }
        hex::encode(hasher.finalize())
    }

    fn text() -> impl Strategy<Value = String> {
        "[ a-zA-Z0-9/&.,'ÉΣσ\n-]{0,24}"
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    prop_compose! {
        fn records()(
            names in (text(), text(), opt_text(), opt_text(), opt_text()),
            more in (opt_text(), opt_text(), opt_text(), any::<bool>(), opt_text()),
            phone in proptest::option::of(0u32..10_000_000),
            country in proptest::option::of(prop_oneof![Just("IN"), Just("AE"), Just("US")]),
            days in (0i16..3000, 0i16..3000, proptest::option::of(0i16..3000)),
            money in (0i64..10_000_000_000, 0i64..10_000_000, prop_oneof![Just(Currency::INR), Just(Currency::USD), Just(Currency::JPY)]),
            status in proptest::option::of(prop_oneof![Just(InvoiceStatus::Pending), Just(InvoiceStatus::Paid), Just(InvoiceStatus::Disputed)]),
            tail in (proptest::option::of(0i32..400), opt_text(), opt_text()),
        ) -> (BuyerRecord, InvoiceRecord) {
            let day = |n: i16| jiff::civil::date(2024, 1, 1).checked_add(i64::from(n).days()).unwrap();
            let buyer = BuyerRecord {
                key: names.0,
                name: names.1,
                company: names.2,
                whatsapp: phone.and_then(|n| Phone::parse(&format!("+9198{n:08}"), &CountryCode::parse("IN").unwrap()).ok()),
                phone_raw: names.3,
                email: names.4,
                country: country.map(|c| CountryCode::parse(c).unwrap()),
                city: more.0,
                time_zone: more.1,
                language: more.2,
                sales_rep: more.4,
                consent: more.3,
                notes: None,
            };
            let invoice = InvoiceRecord {
                number: format!("INV-{}", money.1),
                order_date: days.2.map(day),
                invoice_date: Some(day(days.0)),
                due_date: day(days.1),
                credit_days: tail.0,
                amount: Money::from_minor(money.0, money.2),
                amount_paid: Money::from_minor(money.1, money.2),
                status,
                notes: tail.1,
                lead: tail.2,
            };
            (buyer, invoice)
        }
    }

    proptest! {
        #[test]
        fn row_hash_is_unchanged((buyer, invoice) in records()) {
            prop_assert_eq!(row_hash(&buyer, &invoice), row_hash_before(&buyer, &invoice));
        }

        #[test]
        fn buyer_key_is_unchanged(name in "[ a-zA-Z0-9/&.,'’ÉΣσ_-]{0,30}") {
            prop_assert_eq!(buyer_key(&name), buyer_key_before(&name));
        }
    }

    #[test]
    fn buyer_keys_of_note() {
        for name in [
            "M/s. Sharma Traders",
            "m/s/x",
            "M/S Foo/Bar",
            "ΣΑΣ",
            "a//b",
            "/ / /",
            "",
        ] {
            assert_eq!(buyer_key(name), buyer_key_before(name), "{name:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SHEET: [(&str, Field); 8] = [
        ("Invoice No", Field::InvoiceNumber),
        ("Party Name", Field::BuyerName),
        ("Mobile", Field::Phone),
        ("Country", Field::Country),
        ("Email", Field::Email),
        ("Consent", Field::Consent),
        ("Due Date", Field::DueDate),
        ("Amount", Field::Amount),
    ];

    fn layout() -> Layout {
        Layout::new(
            SHEET.iter().map(|(h, _)| h.to_string()).collect(),
            SHEET
                .iter()
                .enumerate()
                .map(|(i, (_, f))| (*f, i))
                .collect(),
            1,
            ',',
            ImportOptions::default(),
        )
    }

    fn raw(line: u64, cells: [&str; 8]) -> RawRow {
        RawRow {
            line,
            cells: cells.iter().map(|c| Cell::text(c.to_string())).collect(),
        }
    }

    prop_compose! {
        /// Buyer cells from small pools, so that rows repeat buyers, name
        /// one buyer in different words, and carry cells read with warnings.
        fn buyer_cells()(
            name in prop::sample::select(vec!["Sharma Traders", "M/s. Sharma Traders", " sharma  traders ", "Gupta & Sons", "GUPTA & SONS", "Kumar"]),
            phone in prop::sample::select(vec!["+91 98765 43210", "98765 43210", "12345", "", "+971 50 123 4567"]),
            country in prop::sample::select(vec!["", "IN", "AE", "XX"]),
            email in prop::sample::select(vec!["", "a@b.co", "nope"]),
            consent in prop::sample::select(vec!["", "yes", "maybe"]),
        ) -> [&'static str; 5] {
            [name, phone, country, email, consent]
        }
    }

    proptest! {
        /// Reading rows through one layout (buyers and dates remembered,
        /// the buyer memo emptied every few buyers) gives every row exactly
        /// what a layout reading it alone gives, and numbers buyers by key.
        #[test]
        fn remembered_buyers_read_as_fresh_ones(
            rows in prop::collection::vec((buyer_cells(), prop::sample::select(vec![
                "04-12-2026", "05-12-2026", "12-04-2026", "4/12/26", " 04-Dec-2026 ", "2026-12-04", "46360", "31-02-2026", "soon",
            ])), 1..40),
            limit in 1usize..6,
        ) {
            let memo = layout();
            memo.buyers.borrow_mut().limit = limit;
            let mut keys: Vec<String> = Vec::new();
            for (i, ([name, phone, country, email, consent], due)) in rows.iter().enumerate() {
                let number = format!("INV-{i}");
                let row = raw(i as u64 + 2, [&number, name, phone, country, email, consent, due, "1,000"]);
                let fresh = layout().convert(&row);
                let remembered = memo.convert(&row);
                let (remembered, fresh) = match (remembered, fresh) {
                    (Ok(r), Ok(f)) => (r, f),
                    (r, f) => {
                        prop_assert_eq!(r, f);
                        continue;
                    }
                };
                prop_assert_eq!(fresh.buyer_seq, 0);
                let expected_seq = keys.iter().position(|k| *k == fresh.buyer.key).unwrap_or_else(|| {
                    keys.push(fresh.buyer.key.clone());
                    keys.len() - 1
                });
                prop_assert_eq!(remembered.buyer_seq, expected_seq);
                prop_assert_eq!(ImportRow { buyer_seq: 0, ..remembered }, fresh);
            }
        }
    }

    #[test]
    fn rows_describing_a_buyer_alike_share_one_reading() {
        let layout = layout();
        let row = |n: &str, name: &str| {
            layout
                .convert(&raw(
                    2,
                    [
                        n,
                        name,
                        "98765 43210",
                        "IN",
                        "",
                        "yes",
                        "04-12-2026",
                        "1,000",
                    ],
                ))
                .unwrap()
        };
        let first = row("INV-1", "Sharma Traders");
        let again = row("INV-2", "Sharma Traders");
        let reworded = row("INV-3", "M/s. SHARMA TRADERS");
        let other = row("INV-4", "Gupta Traders");
        assert!(Arc::ptr_eq(&first.buyer, &again.buyer));
        assert!(!Arc::ptr_eq(&first.buyer, &reworded.buyer));
        assert_eq!(reworded.buyer.name, "M/s. SHARMA TRADERS");
        assert_eq!(
            [
                first.buyer_seq,
                again.buyer_seq,
                reworded.buyer_seq,
                other.buyer_seq
            ],
            [0, 0, 0, 1]
        );
        assert_ne!(first.source_hash, again.source_hash);
        assert_eq!(
            first.source_hash,
            row("INV-1", "Sharma Traders").source_hash
        );
    }

    #[test]
    fn credit_days_forms() {
        assert_eq!(parse_credit_days("30"), Ok(30));
        assert_eq!(parse_credit_days("Net 30"), Ok(30));
        assert_eq!(parse_credit_days("NET45"), Ok(45));
        assert_eq!(parse_credit_days("30 days"), Ok(30));
        assert_eq!(parse_credit_days("2/10 Net 30"), Ok(30));
        assert_eq!(parse_credit_days("Due on Receipt"), Ok(0));
        assert_eq!(parse_credit_days("60.0"), Ok(60));
        assert!(parse_credit_days("30.5").is_err());
        assert!(parse_credit_days("soon").is_err());
        assert!(parse_credit_days("99999").is_err());
    }

    #[test]
    fn consent_forms() {
        for yes in ["Yes", "y", "TRUE", "1", "Opted-in", "agreed"] {
            assert_eq!(parse_consent(yes), Some(true), "{yes}");
        }
        for no in ["No", "n", "FALSE", "0", "opted out"] {
            assert_eq!(parse_consent(no), Some(false), "{no}");
        }
        assert_eq!(parse_consent("maybe"), None);
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("accounts@sharma.co.in"));
        assert!(!looks_like_email("accounts.sharma.co.in"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("a b@c.com"));
        assert!(!looks_like_email("@c.com"));
        assert!(!looks_like_email("a@@c.com"));
    }

    #[test]
    fn buyer_keys() {
        assert_eq!(buyer_key("M/s. Sharma Traders"), "sharma traders");
        assert_eq!(buyer_key("SHARMA  TRADERS"), "sharma traders");
        assert_eq!(buyer_key("Gupta & Sons Pvt. Ltd."), "gupta & sons pvt ltd");
        assert_eq!(buyer_key("A/B Exports"), "a b exports");
    }

    #[test]
    fn currency_cells() {
        assert_eq!(currency_from_cell("usd"), Some(Currency::USD));
        assert_eq!(currency_from_cell("₹"), Some(Currency::INR));
        assert_eq!(currency_from_cell("Rs"), Some(Currency::INR));
        assert_eq!(currency_from_cell("XYZ"), None);
        assert_eq!(currency_from_cell("5"), None);
    }

    #[test]
    fn date_cells() {
        let d = jiff::civil::date(2026, 12, 4);
        assert_eq!(
            cell_date(&Cell::Number("46360".into()), DateOrder::DayFirst),
            Ok(d)
        );
        assert_eq!(
            cell_date(&Cell::Number("46360.5".into()), DateOrder::DayFirst),
            Ok(d)
        );
        assert_eq!(
            cell_date(&Cell::Text("46360".into()), DateOrder::DayFirst),
            Ok(d)
        );
        assert_eq!(cell_date(&Cell::Date(d), DateOrder::DayFirst), Ok(d));
        assert!(cell_date(&Cell::Number("-3".into()), DateOrder::DayFirst).is_err());
    }
}
