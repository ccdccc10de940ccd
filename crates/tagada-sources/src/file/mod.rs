//! File imports: a CSV or spreadsheet export of buyers and invoices, read
//! row by row into [`ImportRow`]s, or [`RowError`]s that say which line and
//! column were wrong and why.
//!
//! ```no_run
//! use tagada_sources::file::{self, ImportOptions};
//!
//! let mut rows = file::open("tally-outstanding.csv".as_ref(), &ImportOptions::default())?;
//! println!("columns: {:?}", rows.detected_mapping());
//! for row in &mut rows {
//!     match row {
//!         Ok(row) => println!("{} owes {}", row.buyer.name, row.invoice.amount),
//!         Err(e) => println!("line {}: {}", e.line, e.reason),
//!     }
//! }
//! # Ok::<(), tagada_sources::file::FileError>(())
//! ```
//!
//! What happens, in order:
//!
//! 1. **Reading.** CSV is streamed (see the encoding and delimiter rules in
//!    `csv_source`); spreadsheets are loaded one sheet at a time by calamine.
//! 2. **Header.** The header is the first of the top 15 rows that names at
//!    least two known [`Field`]s, one of them the invoice number or the
//!    amount; rows above it (company name, report period) are ignored. An
//!    explicit [`ImportOptions::mapping`] overrides the aliases. Without an
//!    invoice number, a buyer name, an amount (or outstanding) and a date
//!    (invoice or due) column the file is refused as a whole
//!    ([`FileError::MissingColumns`]).
//! 3. **Rows.** Blank rows and summary rows (`Total`, `Grand Total`,
//!    `Closing Balance`...) are skipped and counted. Every other row becomes
//!    an [`ImportRow`] or a [`RowError`]; see [`FileRows`] for the rules.
//!
//! Duplicate invoice numbers are passed through: deciding which one wins is
//! the application's business, as it sees the whole import and the ledger.

mod cell;
mod csv_source;
mod date;
mod field;
mod row;
mod sheet_source;
mod table_source;

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tagada_core::ledger::InvoiceStatus;
use tagada_core::{CountryCode, Currency, Money, Phone};

pub use date::{DateOrder, excel_serial_date, parse_date};
pub use field::{Field, HEADER_SEARCH_ROWS, UnknownField, normalize_header};

use cell::Cell;
use csv_source::CsvSource;
use field::detect_header;
use sheet_source::SheetSource;
use table_source::TableSource;

/// The kind of file, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Comma, semicolon, tab or pipe separated text (`.csv`, `.tsv`, `.txt`).
    Csv,
    /// Excel 2007+ (`.xlsx`, `.xlsm`).
    Xlsx,
    /// Excel 97-2003 (`.xls`).
    Xls,
    /// Excel binary (`.xlsb`).
    Xlsb,
    /// OpenDocument spreadsheet (`.ods`).
    Ods,
}

impl FileKind {
    /// The kind a file name's extension announces.
    pub fn from_path(path: &Path) -> Option<FileKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "tsv" | "txt" => FileKind::Csv,
            "xlsx" | "xlsm" => FileKind::Xlsx,
            "xls" => FileKind::Xls,
            "xlsb" => FileKind::Xlsb,
            "ods" => FileKind::Ods,
            _ => return None,
        })
    }

    fn is_spreadsheet(self) -> bool {
        self != FileKind::Csv
    }
}

/// How to read a file. The defaults suit an Indian seller: rupees, Indian
/// phone numbers, day-first dates, 30 days of credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportOptions {
    /// Field → header text, overriding the aliases for those fields.
    pub mapping: BTreeMap<Field, String>,
    /// For amounts that name no currency, in files without a currency column.
    pub default_currency: Currency,
    /// For phone numbers written without a country prefix, in rows without
    /// a country.
    pub default_region: CountryCode,
    pub date_order: DateOrder,
    /// Credit days when a row has neither a due date nor credit terms.
    pub default_credit_days: i32,
    /// The spreadsheet sheet to read (case-insensitive); the first if `None`.
    pub sheet: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            mapping: BTreeMap::new(),
            default_currency: Currency::INR,
            default_region: CountryCode::india(),
            date_order: DateOrder::DayFirst,
            default_credit_days: 30,
            sheet: None,
        }
    }
}

/// A buyer as one import row describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerRecord {
    /// The `BuyerKey` column, or else the buyer name normalised (lower case,
    /// punctuation and a leading `M/s` dropped, spaces collapsed), so
    /// `M/s. Sharma Traders` and `SHARMA  TRADERS` are the same buyer.
    pub key: String,
    pub name: String,
    pub company: Option<String>,
    /// The number in E.164, when the phone column held a valid one.
    pub whatsapp: Option<Phone>,
    /// The phone cell as written, whether or not it parsed.
    pub phone_raw: Option<String>,
    pub email: Option<String>,
    pub country: Option<CountryCode>,
    pub city: Option<String>,
    /// An IANA zone name that exists (checked against the bundled tzdb).
    pub time_zone: Option<String>,
    pub language: Option<String>,
    pub sales_rep: Option<String>,
    /// The consent column said yes.
    pub consent: bool,
    /// File imports have one notes column, which goes to the invoice; this
    /// stays `None` for them.
    pub notes: Option<String>,
}

/// An invoice as one import row describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRecord {
    pub number: String,
    pub order_date: Option<Date>,
    /// `None` when the file only has due dates.
    pub invoice_date: Option<Date>,
    pub due_date: Date,
    /// The credit terms the row gave, or the default when the due date was
    /// counted from it; `None` when the due date came from a due-date cell.
    pub credit_days: Option<i32>,
    pub amount: Money,
    pub amount_paid: Money,
    /// `None` when the file has no status column or the cell is blank: the
    /// application derives it from the amounts.
    pub status: Option<InvoiceStatus>,
    pub notes: Option<String>,
    /// The marketplace lead the order came from, as written
    /// (`indiamart:2900000001`): the invoice goes to that lead's buyer.
    pub lead: Option<String>,
}

/// One good row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    /// 1-based physical line (CSV, header counted) or sheet row.
    pub line: u64,
    /// Shared by the rows that describe their buyer in the same words.
    pub buyer: Arc<BuyerRecord>,
    /// The buyer's place among the buyer keys of the file: rows with equal
    /// [`BuyerRecord::key`]s have equal numbers, counted from 0 in the
    /// order the file's rows first name each key (a row rejected before
    /// its buyer is read names none). A reader tells a new buyer from one
    /// met before with it, without looking up the key.
    pub buyer_seq: usize,
    pub invoice: InvoiceRecord,
    /// Hex SHA-256 of the row's values in canonical form (not their
    /// spelling: `₹1,000` and `1000.00` hash alike), so an unchanged row
    /// hashes equal on every re-import.
    pub source_hash: String,
    /// What was dropped from the row without rejecting it (a phone number
    /// or email that does not parse, an unknown time zone...).
    pub warnings: Vec<String>,
    /// The row's cells joined as in [`RowError::raw`], so a row the store
    /// refuses later (a number owned by another buyer) is kept as written.
    pub raw: String,
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}{}: {reason}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
pub struct RowError {
    /// 1-based physical line (CSV, header counted) or sheet row.
    pub line: u64,
    /// The header text of the offending column.
    pub column: Option<String>,
    /// The offending cell as written.
    pub value: Option<String>,
    pub reason: String,
    /// The row's cells joined with the file's delimiter (`,` for
    /// spreadsheets), quoted where needed: ready for a rejects file.
    pub raw: String,
}

/// Why a whole file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{file}: unsupported file type (expected .csv, .tsv, .txt, .xlsx, .xlsm, .xls, .xlsb or .ods)"
    )]
    UnsupportedKind { file: String },
    #[error("{file}: cannot read the spreadsheet: {message}")]
    Spreadsheet { file: String, message: String },
    #[error("{file}: no sheet named `{sheet}` (sheets: {})", available.join(", "))]
    SheetNotFound {
        file: String,
        sheet: String,
        available: Vec<String>,
    },
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error(
        "{file}: no header row in the first {HEADER_SEARCH_ROWS} rows (looked for columns such as Invoice No, Party Name, Amount, Date); first row: {}",
        first_row.join(" | ")
    )]
    NoHeader {
        file: String,
        first_row: Vec<String>,
    },
    #[error(
        "{file}: missing required column(s): {}; headers found on line {header_line}: {}",
        describe_missing(missing),
        headers.join(" | ")
    )]
    MissingColumns {
        file: String,
        missing: Vec<Field>,
        header_line: u64,
        headers: Vec<String>,
    },
    #[error(
        "{file}: the mapping names column `{header}` for {field} but the header has no such column; headers found: {}",
        headers.join(" | ")
    )]
    MappedColumnNotFound {
        file: String,
        field: Field,
        header: String,
        headers: Vec<String>,
    },
}

fn describe_missing(missing: &[Field]) -> String {
    missing
        .iter()
        .map(|f| match f {
            Field::Amount => "amount (or outstanding)".to_string(),
            Field::InvoiceDate => "invoice date (or due date)".to_string(),
            f => f.label().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the progress numbers count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressUnit {
    Bytes,
    Rows,
}

/// A row as the source gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRow {
    pub(crate) line: u64,
    pub(crate) cells: Vec<Cell>,
}

impl RawRow {
    fn texts(&self) -> Vec<String> {
        self.cells
            .iter()
            .map(|c| c.as_text().into_owned())
            .collect()
    }
}

/// A read failure in the middle of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceError {
    pub(crate) line: u64,
    pub(crate) message: String,
}

#[derive(Debug)]
enum Source {
    Csv(Box<CsvSource>),
    Sheet(SheetSource),
    Table(TableSource),
}

impl Source {
    fn next_row(&mut self) -> Option<Result<RawRow, SourceError>> {
        match self {
            Source::Csv(s) => s.next_row(),
            Source::Sheet(s) => s.next_row().map(Ok),
            Source::Table(s) => s.next_row().map(Ok),
        }
    }

    /// The next row into `row`: a CSV row reuses the buffers of the one
    /// before; spreadsheet and table rows come whole.
    fn next_row_into(&mut self, row: &mut RawRow) -> Option<Result<(), SourceError>> {
        match self {
            Source::Csv(s) => s.next_row_into(row),
            other => other.next_row().map(|read| read.map(|next| *row = next)),
        }
    }
}

/// The rows of an opened file: an iterator of `Result<ImportRow, RowError>`.
///
/// Row rules, checked in this order; the first failure rejects the row and
/// names its column:
///
/// - invoice number and buyer name are required;
/// - a currency column that names an unknown currency rejects the row; the
///   row's currency is that column's, else the amount's own symbol, else
///   [`ImportOptions::default_currency`];
/// - the amount (or, without an amount column, the outstanding) is
///   required, parsed exactly with `Money::parse`, must agree with the
///   currency column, and must be greater than zero;
/// - the amount paid comes from the amount-paid column, or is the amount
///   minus the outstanding column (which may be neither negative nor more
///   than the amount); when both columns are filled they must add up; a
///   blank one means nothing paid;
/// - dates are read with [`parse_date`] (spreadsheet date cells and Excel
///   serial numbers too); the due date is the due-date cell, else the
///   invoice date plus the credit days (`30`, `Net 30`, `30 days`, `Due on
///   receipt`), else the invoice date plus the default credit days; a due
///   date before the invoice date is refused (usually swapped day and
///   month);
/// - a status must be one `InvoiceStatus::parse` knows;
/// - a phone, email, country or time zone that does not parse does **not**
///   reject the row: the value is dropped (the phone's text stays in
///   `phone_raw`) and a warning is attached, so the buyer still shows up,
///   as "no valid number" for the planner.
#[derive(Debug)]
pub struct FileRows {
    name: String,
    kind: FileKind,
    source: Source,
    pending: VecDeque<RawRow>,
    /// The row being read, its cells' buffers kept for the next one.
    current: RawRow,
    layout: row::Layout,
    bytes: Arc<AtomicU64>,
    total_bytes: Option<u64>,
    skipped_summary: u64,
    skipped_blank: u64,
    finished: bool,
}

/// Opens a file, choosing the reader from its extension.
pub fn open(path: &Path, opts: &ImportOptions) -> Result<FileRows, FileError> {
    let name = path.display().to_string();
    let kind = FileKind::from_path(path)
        .ok_or_else(|| FileError::UnsupportedKind { file: name.clone() })?;
    let io_err = |source| FileError::Io {
        file: name.clone(),
        source,
    };
    if kind.is_spreadsheet() {
        let workbook = calamine::open_workbook_auto(path).map_err(|e| FileError::Spreadsheet {
            file: name.clone(),
            message: e.to_string(),
        })?;
        let source = SheetSource::new(workbook, opts.sheet.as_deref(), &name)?;
        return FileRows::start(
            name,
            kind,
            Source::Sheet(source),
            None,
            Arc::default(),
            opts,
        );
    }
    let file = File::open(path).map_err(io_err)?;
    let total = file.metadata().map_err(io_err)?.len();
    let counter = Arc::new(AtomicU64::new(0));
    let source = CsvSource::new(
        Box::new(BufReader::new(file)),
        Arc::clone(&counter),
        &opts.mapping,
    )
    .map_err(io_err)?;
    FileRows::start(
        name,
        kind,
        Source::Csv(Box::new(source)),
        Some(total),
        counter,
        opts,
    )
}

/// Reads from memory or any other reader; `name` is used in messages.
/// Spreadsheets are read fully into memory first (their format needs
/// random access); CSV streams.
pub fn open_reader<R: Read + Send + 'static>(
    mut reader: R,
    name: &str,
    kind: FileKind,
    opts: &ImportOptions,
) -> Result<FileRows, FileError> {
    let io_err = |source| FileError::Io {
        file: name.to_string(),
        source,
    };
    if kind.is_spreadsheet() {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(io_err)?;
        let workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
            FileError::Spreadsheet {
                file: name.to_string(),
                message: e.to_string(),
            }
        })?;
        let source = SheetSource::new(workbook, opts.sheet.as_deref(), name)?;
        return FileRows::start(
            name.to_string(),
            kind,
            Source::Sheet(source),
            None,
            Arc::default(),
            opts,
        );
    }
    let counter = Arc::new(AtomicU64::new(0));
    let source =
        CsvSource::new(Box::new(reader), Arc::clone(&counter), &opts.mapping).map_err(io_err)?;
    FileRows::start(
        name.to_string(),
        kind,
        Source::Csv(Box::new(source)),
        None,
        counter,
        opts,
    )
}

/// Reads a ledger table already fetched from a service (a Google Sheet
/// tab, an Airtable table) with the same header detection, mapping and row
/// rules as a file; `name` is used in messages and the kind reported is
/// [`FileKind::Xlsx`], the closest: cells keep their numbers and dates.
pub fn from_table(
    snapshot: &crate::table::TableSnapshot,
    name: &str,
    opts: &ImportOptions,
) -> Result<FileRows, FileError> {
    FileRows::start(
        name.to_string(),
        FileKind::Xlsx,
        Source::Table(TableSource::new(snapshot)),
        None,
        Arc::default(),
        opts,
    )
}

impl FileRows {
    fn start(
        name: String,
        kind: FileKind,
        mut source: Source,
        total_bytes: Option<u64>,
        bytes: Arc<AtomicU64>,
        opts: &ImportOptions,
    ) -> Result<FileRows, FileError> {
        let mut head: Vec<RawRow> = Vec::with_capacity(HEADER_SEARCH_ROWS);
        while head.len() < HEADER_SEARCH_ROWS {
            match source.next_row() {
                Some(Ok(row)) => head.push(row),
                Some(Err(e)) => {
                    return Err(FileError::Io {
                        file: name,
                        source: std::io::Error::other(format!("line {}: {}", e.line, e.message)),
                    });
                }
                None => break,
            }
        }
        if head.is_empty() {
            return Err(FileError::Empty { file: name });
        }
        let texts: Vec<Vec<String>> = head.iter().map(RawRow::texts).collect();
        let Some((index, assignment)) = detect_header(&texts, &opts.mapping) else {
            let first_row = texts
                .into_iter()
                .find(|r| r.iter().any(|c| !c.is_empty()))
                .unwrap_or_default();
            return Err(FileError::NoHeader {
                file: name,
                first_row,
            });
        };
        let headers = texts[index].clone();
        let header_line = head[index].line;
        if let Some((field, header)) = assignment.unmatched.first() {
            return Err(FileError::MappedColumnNotFound {
                file: name,
                field: *field,
                header: header.clone(),
                headers,
            });
        }
        let missing = assignment.missing_required();
        if !missing.is_empty() {
            return Err(FileError::MissingColumns {
                file: name,
                missing,
                header_line,
                headers,
            });
        }
        let delimiter = match &source {
            Source::Csv(csv) => char::from(csv.delimiter()),
            Source::Sheet(_) | Source::Table(_) => ',',
        };
        let layout = row::Layout::new(
            headers,
            assignment.columns,
            header_line,
            delimiter,
            opts.clone(),
        );
        let pending: VecDeque<RawRow> = head.into_iter().skip(index + 1).collect();
        Ok(FileRows {
            name,
            kind,
            source,
            pending,
            current: RawRow {
                line: 0,
                cells: Vec::new(),
            },
            layout,
            bytes,
            total_bytes,
            skipped_summary: 0,
            skipped_blank: 0,
            finished: false,
        })
    }

    /// The name used in messages (the path for [`open`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// The header row's cells as written.
    pub fn headers(&self) -> &[String] {
        self.layout.headers()
    }

    /// The line (CSV) or sheet row of the header.
    pub fn header_line(&self) -> u64 {
        self.layout.header_line()
    }

    /// Field → header text of the column it was read from.
    pub fn detected_mapping(&self) -> BTreeMap<Field, String> {
        self.layout.mapping()
    }

    /// The delimiter in use: sniffed for CSV, `,` for spreadsheets (used to
    /// join [`RowError::raw`]).
    pub fn delimiter(&self) -> char {
        self.layout.delimiter()
    }

    /// Progress so far: bytes of the file read for CSV, rows handed out for
    /// spreadsheets (see [`FileRows::progress_unit`]).
    pub fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Csv(_) => self.bytes.load(Ordering::Relaxed),
            Source::Sheet(s) => s.rows_read() - self.pending.len() as u64,
            Source::Table(s) => s.rows_read() - self.pending.len() as u64,
        }
    }

    /// The end of the progress scale: the file's size for CSV opened from a
    /// path (unknown for a reader), the sheet's row count for spreadsheets.
    pub fn total_bytes(&self) -> Option<u64> {
        match &self.source {
            Source::Csv(_) => self.total_bytes,
            Source::Sheet(s) => Some(s.total_rows()),
            Source::Table(s) => Some(s.total_rows()),
        }
    }

    pub fn progress_unit(&self) -> ProgressUnit {
        match self.source {
            Source::Csv(_) => ProgressUnit::Bytes,
            Source::Sheet(_) | Source::Table(_) => ProgressUnit::Rows,
        }
    }

    /// `Total`, `Grand Total`, `Closing Balance`... rows skipped so far.
    pub fn skipped_summary_rows(&self) -> u64 {
        self.skipped_summary
    }

    /// Entirely blank rows after the header skipped so far.
    pub fn skipped_blank_rows(&self) -> u64 {
        self.skipped_blank
    }
}

impl Iterator for FileRows {
    type Item = Result<ImportRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.finished {
                return None;
            }
            match self.pending.pop_front() {
                Some(raw) => self.current = raw,
                None => match self.source.next_row_into(&mut self.current) {
                    Some(Ok(())) => {}
                    Some(Err(e)) => {
                        // A broken stream: report it once, then stop.
                        self.finished = true;
                        return Some(Err(RowError {
                            line: e.line,
                            column: None,
                            value: None,
                            reason: format!("the file could not be read further: {}", e.message),
                            raw: String::new(),
                        }));
                    }
                    None => {
                        self.finished = true;
                        return None;
                    }
                },
            }
            let raw = &self.current;
            if raw.cells.iter().all(Cell::is_empty) {
                self.skipped_blank += 1;
                continue;
            }
            if self.layout.is_summary(raw) {
                self.skipped_summary += 1;
                continue;
            }
            return Some(self.layout.convert(raw));
        }
    }
}
