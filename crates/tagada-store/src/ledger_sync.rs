//! What the two-way sync with a ledger table (a Google Sheet tab, an
//! Airtable table) remembers between runs: per table row, what the row said
//! and what tagada wrote into it at the last sync, so the next sync can tell
//! who changed what since; each run, for the sync status; and the facts the
//! columns tagada owns are written from.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tagada_core::{BuyerId, InvoiceId};

/// One table row as the last sync left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRowState {
    /// The row's stable key (its `tagada_id` cell).
    pub row_key: String,
    pub invoice_id: Option<InvoiceId>,
    /// The invoice number the row carried.
    pub number: String,
    /// Where the row was (sheet row number or Airtable record id).
    pub locator: String,
    /// A hash of the columns people edit, as last read.
    pub sheet_hash: String,
    /// Each column tagada owns → the value it last wrote there (or read
    /// back, when the cell already agreed).
    pub owned: BTreeMap<String, String>,
    /// When the row was found gone from the table; `None` while it is there.
    pub deleted_at: Option<Timestamp>,
}

/// One sync run of one ledger table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRun {
    /// `sheets:<spreadsheet>/<tab>` or `airtable:<base>/<table>`.
    pub source: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub dry_run: bool,
    /// `synced`, `dry_run` or `failed`.
    pub outcome: String,
    pub rows_read: u32,
    pub rows_rejected: u32,
    pub invoices_created: u32,
    pub invoices_updated: u32,
    pub rows_deleted: u32,
    pub rows_written: u32,
    pub rows_appended: u32,
    pub conflicts: u32,
    /// HTTP requests made to the service.
    pub requests: u32,
    pub error: Option<String>,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLedgerRun {
    pub id: i64,
    #[serde(flatten)]
    pub run: LedgerRun,
}

/// What the columns tagada owns are written from, for one invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFacts {
    pub invoice_id: InvoiceId,
    /// The last reminder sent that carried the invoice.
    pub last_sent_at: Option<Timestamp>,
    /// Its cadence step's name.
    pub last_step: Option<String>,
    /// Its delivery state (`sent`, `delivered`, `read`, `failed`).
    pub last_delivery: Option<String>,
    /// The earliest reminder still waiting to go.
    pub next_at: Option<Timestamp>,
    /// The buyer's latest message.
    pub last_reply_at: Option<Timestamp>,
    pub last_reply: Option<String>,
}

impl SyncFacts {
    /// An invoice nothing has happened to yet.
    pub fn new(invoice_id: InvoiceId) -> SyncFacts {
        SyncFacts {
            invoice_id,
            last_sent_at: None,
            last_step: None,
            last_delivery: None,
            next_at: None,
            last_reply_at: None,
            last_reply: None,
        }
    }
}

/// Ledger-table sync state.
#[async_trait::async_trait]
pub trait LedgerSyncStore: Send + Sync {
    /// Every row the table's syncs have met, deleted ones included.
    async fn ledger_rows(&self, source: &str) -> crate::Result<Vec<LedgerRowState>>;
    /// Inserts or replaces these rows' states (by `row_key`).
    async fn save_ledger_rows(
        &self,
        source: &str,
        rows: &[LedgerRowState],
        now: Timestamp,
    ) -> crate::Result<()>;
    async fn record_ledger_run(&self, run: &LedgerRun) -> crate::Result<i64>;
    /// Newest first; every table when `source` is `None`.
    async fn list_ledger_runs(
        &self,
        source: Option<&str>,
        limit: u32,
    ) -> crate::Result<Vec<StoredLedgerRun>>;
    /// The facts for these invoices of these buyers, one per invoice, in
    /// no particular order.
    async fn sync_facts(&self, invoices: &[(InvoiceId, BuyerId)]) -> crate::Result<Vec<SyncFacts>>;
}
