//! A ledger kept in a remote table: a Google Sheet tab or an Airtable
//! table. Both clients implement [`LedgerTable`], so the application's
//! two-way sync sees one shape: a header and rows of cells to read, and
//! rows of text cells to write back.
//!
//! The clients own everything that is particular to their service: the
//! authentication, the pacing under the service's quota, the batching of
//! writes into as few requests as the service allows, and retrying what the
//! service says may be retried. The caller owns the meaning of the cells.

use async_trait::async_trait;
use jiff::civil::Date;

/// One cell as the service gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableCell {
    Empty,
    /// Text exactly as stored (leading zeros and `+` kept).
    Text(String),
    /// A number, written as the exact decimal the service sent (never
    /// through arithmetic on a float: see the file importer's rule).
    Number(String),
    /// A date cell (a Sheets serial number in a date-formatted column, an
    /// Airtable date field).
    Date(Date),
    Bool(bool),
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// Where the row is, for writing back: the 1-based sheet row number
    /// (`"12"`) or the Airtable record id (`"rec..."`).
    pub locator: String,
    /// What a person looks for: the sheet row number, or for Airtable the
    /// row's 1-based position in the listing.
    pub line: u64,
    /// Aligned with [`TableSnapshot::headers`]; shorter when the row is
    /// ragged (missing cells are empty).
    pub cells: Vec<TableCell>,
}

/// A whole table as read in one pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableSnapshot {
    /// The header cells as written. For Airtable, the field names met in
    /// the listing (and any the caller asked for), in a stable order.
    pub headers: Vec<String>,
    /// The sheet row of the header (1 for Airtable, which has no row).
    pub header_line: u64,
    pub rows: Vec<TableRow>,
}

/// One row to write: existing (`locator` set) or new (appended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWrite {
    /// The row's locator from [`TableRow::locator`]; `None` appends a row.
    pub locator: Option<String>,
    /// The row's invoice number: Airtable upserts merge on it.
    pub key: String,
    /// Header name → value, written as text (`RAW` in Sheets, so phone
    /// numbers and ids keep their leading zeros). An empty string clears
    /// the cell.
    pub cells: Vec<(String, String)>,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    /// Rows written.
    pub written: usize,
    /// Rows the service refused, by index into the request, with its
    /// reason; the other rows of their batch were still written.
    pub failed: Vec<(usize, String)>,
    /// Locators of appended rows, by index into the request.
    pub appended: Vec<(usize, String)>,
}

/// Why a table could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The credentials were refused (bad key, revoked token, clock skew).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The credentials are good but may not see or edit this table (sheet
    /// not shared with the service account, token without the scope).
    #[error("permission denied: {0}")]
    Permission(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The service is over its quota and retrying did not help in time.
    #[error("quota exceeded: {0}")]
    Quota(String),
    /// A limit that retrying cannot lift (Airtable's monthly call cap).
    #[error("usage cap reached: {0}")]
    Cap(String),
    /// The request was refused as malformed (a bad range, an unknown field).
    #[error("request refused: {0}")]
    BadRequest(String),
    /// The table lacks columns tagada needs and cannot add them itself.
    #[error("missing columns: {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("transport: {0}")]
    Transport(String),
    #[error("unexpected answer: {0}")]
    Malformed(String),
}

/// A ledger table tagada reads from and writes back to.
#[async_trait]
pub trait LedgerTable: Send + Sync {
    /// What a person would recognise: `Google Sheet 1AbC…, tab Ledger`.
    fn describe(&self) -> String;

    /// Reads the whole table.
    async fn read(&self) -> Result<TableSnapshot, TableError>;

    /// Makes sure the table has these columns after the existing ones,
    /// adding those that are missing when the service allows it (a sheet's
    /// header row) and failing with [`TableError::MissingColumns`] when it
    /// does not (Airtable fields must be created by a person). Returns the
    /// header after the change.
    async fn ensure_columns(
        &self,
        headers: &[String],
        wanted: &[String],
    ) -> Result<Vec<String>, TableError>;

    /// Whether [`LedgerTable::ensure_columns`] creates the missing columns
    /// (a sheet's header) or only finds them (Airtable fields, made by a
    /// person, which a listing omits while no record fills them).
    fn creates_columns(&self) -> bool {
        true
    }

    /// Writes rows, batched and paced by the client.
    async fn write(&self, rows: &[RowWrite]) -> Result<WriteOutcome, TableError>;

    /// HTTP requests made so far by this client (token requests included).
    fn requests(&self) -> u64;
}
