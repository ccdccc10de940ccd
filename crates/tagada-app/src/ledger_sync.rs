//! Two-way sync between the store and a ledger table the team keeps (a
//! Google Sheet tab or an Airtable table, through
//! [`LedgerTable`](tagada_sources::table::LedgerTable)).
//!
//! One run:
//!
//! 1. **Read** the whole table and read each row with the file importer's
//!    header detection, mapping and row rules ([`file::from_table`]).
//! 2. **Match** each row to what the last sync left: by its `tagada_id`
//!    cell when that still names the same invoice number, else by the
//!    invoice number. A row with neither is new.
//! 3. **Inbound** (the table wins for what people edit): new rows and rows
//!    whose people-edited columns changed (buyer details, amounts, dates,
//!    notes) are upserted; a status a person typed is applied (paid,
//!    disputed, cancelled, a dispute lifted); an amount paid a person raised
//!    is recorded as a payment. Rows gone from the table pause their
//!    invoice (pending reminders cancelled, history kept), and rows that
//!    come back resume it.
//! 4. **Outbound** (tagada wins for what it records): the columns tagada
//!    owns (status, amount paid, last reminder with its step and delivery,
//!    next reminder, last reply, timeline link, `tagada_id`, and
//!    `tagada_error` when enabled) are computed from the store and only the
//!    cells that differ are written, batched by the client.
//!
//! A conflict (a person and tagada both changed the same thing since the
//! last sync) is resolved by those rules and written as a note on the
//! invoice, never silently. A run that would delete more than
//! `max_delete_percent` of the table's known rows stops before changing
//! anything (a cleared tab or the wrong tab is more likely than a mass
//! deletion).

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tagada_core::ledger::{Invoice, InvoiceEvent, InvoiceStatus, NoteKind, PaymentMethod};
use tagada_core::{BuyerId, InvoiceId, Money};
use tagada_sources::file::{self, Field, ImportOptions, ImportRow, RowError};
use tagada_sources::table::{LedgerTable, RowWrite, TableCell, TableError};
use tagada_store::{
    InvoicePatch, InvoiceUpsert, LedgerRowState, LedgerRun, NewInvoice, NewNote, NewPayment, Store,
    StoreError,
};

use crate::import::ImportReport;

/// The stable key column.
pub const COL_ID: &str = "tagada_id";
/// Where a row's problem is shown, when enabled.
pub const COL_ERROR: &str = "tagada_error";
pub const COL_LAST_REMINDER: &str = "Last Reminder";
pub const COL_STEP: &str = "Reminder Step";
pub const COL_DELIVERY: &str = "Delivery";
pub const COL_NEXT: &str = "Next Reminder";
pub const COL_REPLY: &str = "Last Reply";
pub const COL_TIMELINE: &str = "Timeline";
/// Added when the table has no status column.
pub const COL_STATUS: &str = "Payment Status";
/// Added when the table has neither an amount-paid nor an outstanding column.
pub const COL_PAID: &str = "Amount Paid";

/// The columns tagada adds to a table that has none of its own for the
/// status and what was paid (an Airtable base needs them made by a person).
pub const OWNED_COLUMNS: [&str; 10] = [
    COL_STATUS,
    COL_PAID,
    COL_LAST_REMINDER,
    COL_STEP,
    COL_DELIVERY,
    COL_NEXT,
    COL_REPLY,
    COL_TIMELINE,
    COL_ID,
    COL_ERROR,
];

/// What a run is told.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// `sheets:<spreadsheet>/<tab>` or `airtable:<base>/<table>`: the key of
    /// the table's state and runs, and the invoices' `source`.
    pub source: String,
    /// How cells are read (defaults, mapping), as for file imports.
    pub import: ImportOptions,
    /// Write each unusable row's reason into a `tagada_error` column.
    pub write_errors: bool,
    /// Base of the timeline links (`https://tagada.example.com`).
    pub timeline_base: String,
    /// Dates in the table are shown in this zone.
    pub time_zone: jiff::tz::TimeZone,
    /// Refuse a run that would delete more than this share of the known rows.
    pub max_delete_percent: u8,
    /// Show the changes in both directions without making them.
    pub dry_run: bool,
}

/// One row that cannot be used, where a person can find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

/// One cell tagada writes (or would write, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellChange {
    pub line: Option<u64>,
    pub number: String,
    pub column: String,
    pub from: String,
    pub to: String,
}

/// What a run did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub source: String,
    pub table: String,
    pub dry_run: bool,
    pub rows_read: u32,
    pub invoices_created: u32,
    pub invoices_updated: u32,
    pub buyers_created: u32,
    /// Inbound changes, one line each (`row 12 (INV-7): status → paid`).
    pub inbound: Vec<String>,
    pub deleted: Vec<String>,
    pub restored: Vec<String>,
    pub conflicts: Vec<String>,
    pub rejected: Vec<RowIssue>,
    /// Columns added to the table's header.
    pub columns_added: Vec<String>,
    pub cell_changes: u32,
    /// The first changes, for showing.
    pub changes: Vec<CellChange>,
    pub rows_written: u32,
    pub write_failures: Vec<RowIssue>,
    pub requests: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{table}: {source}")]
    Table {
        table: String,
        #[source]
        source: TableError,
    },
    #[error("{table}: {source}")]
    Layout {
        table: String,
        #[source]
        source: file::FileError,
    },
    #[error(
        "{table}: {missing} of the {known} rows synced before are gone from the table; \
         nothing was changed. If they were deleted on purpose, run again with a higher \
         `ledger.max_delete_percent` (now {percent}%)"
    )]
    MassDeletion {
        table: String,
        missing: usize,
        known: usize,
        percent: u8,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many cell changes a report keeps for showing.
const SHOWN_CHANGES: usize = 200;

/// Which column carries what was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PaidColumn {
    Paid(String),
    Outstanding(String),
}

impl PaidColumn {
    fn name(&self) -> &str {
        match self {
            PaidColumn::Paid(n) | PaidColumn::Outstanding(n) => n,
        }
    }
}

/// The columns tagada owns, by their names in this table.
#[derive(Debug, Clone)]
struct Owned {
    status: String,
    paid: PaidColumn,
}

impl Owned {
    /// The table's own status and paid (or outstanding) columns where it
    /// has them, else the ones tagada adds.
    fn from_mapping(mapping: &BTreeMap<Field, String>) -> Owned {
        Owned {
            status: mapping
                .get(&Field::Status)
                .cloned()
                .unwrap_or_else(|| COL_STATUS.into()),
            paid: match (
                mapping.get(&Field::AmountPaid),
                mapping.get(&Field::Outstanding),
            ) {
                (Some(p), _) => PaidColumn::Paid(p.clone()),
                (None, Some(o)) => PaidColumn::Outstanding(o.clone()),
                (None, None) => PaidColumn::Paid(COL_PAID.into()),
            },
        }
    }

    fn names(&self, write_errors: bool) -> Vec<String> {
        let mut v = vec![
            self.status.clone(),
            self.paid.name().to_string(),
            COL_LAST_REMINDER.into(),
            COL_STEP.into(),
            COL_DELIVERY.into(),
            COL_NEXT.into(),
            COL_REPLY.into(),
            COL_TIMELINE.into(),
            COL_ID.into(),
        ];
        if write_errors {
            v.push(COL_ERROR.into());
        }
        v
    }
}

/// The header's columns by name (trimmed, case-insensitive).
struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(headers: &[String]) -> Columns {
        let mut map = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            map.entry(h.trim().to_lowercase()).or_insert(i);
        }
        Columns(map)
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(&name.trim().to_lowercase())
    }

    fn text(&self, cells: &[TableCell], name: &str) -> String {
        self.0
            .get(&name.trim().to_lowercase())
            .and_then(|i| cells.get(*i))
            .map(cell_text)
            .unwrap_or_default()
    }
}

fn cell_text(cell: &TableCell) -> String {
    match cell {
        TableCell::Empty => String::new(),
        TableCell::Text(s) | TableCell::Number(s) => s.trim().to_string(),
        TableCell::Date(d) => d.to_string(),
        TableCell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
    }
}

/// The label tagada writes for a status (and reads back).
pub fn status_label(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Pending => "Pending",
        InvoiceStatus::InProcess => "In process",
        InvoiceStatus::PartiallyPaid => "Partially paid",
        InvoiceStatus::Paid => "Paid",
        InvoiceStatus::Disputed => "Disputed",
        InvoiceStatus::Cancelled => "Cancelled",
    }
}

/// Two cell texts that say the same thing.
fn same(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// A hash of what people edit in a row: everything but the status and the
/// amount paid, which tagada also writes.
fn person_hash(row: &ImportRow) -> String {
    let inv = &row.invoice;
    let value = serde_json::json!([
        row.buyer,
        inv.number,
        inv.order_date,
        inv.invoice_date,
        inv.due_date,
        inv.credit_days,
        inv.amount,
        inv.notes,
        inv.lead,
    ]);
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

fn source_hash(person: &str, status: InvoiceStatus, paid: Money) -> String {
    hex::encode(Sha256::digest(
        format!("{person}|{}|{}", status.as_str(), paid.minor()).as_bytes(),
    ))
}

/// A row read and matched, before anything is applied.
struct Incoming {
    line: u64,
    locator: String,
    row: ImportRow,
    hash: String,
    /// Index into the states.
    state: Option<usize>,
    /// The person typed a status since the last sync.
    status_edit: Option<InvoiceStatus>,
    /// The person changed what was paid since the last sync.
    paid_edit: Option<Money>,
    cells: Vec<TableCell>,
}

/// Runs one sync of `table` into `store` (or, with `opts.dry_run`, works
/// out and reports what it would do).
pub async fn sync(
    store: &dyn Store,
    table: &dyn LedgerTable,
    opts: &SyncOptions,
    now: Timestamp,
) -> Result<SyncReport, SyncError> {
    let started = now;
    let result = run(store, table, opts, now).await;
    let (outcome, error, report) = match &result {
        Ok(r) => (
            if opts.dry_run { "dry_run" } else { "synced" },
            None,
            Some(r),
        ),
        Err(e) => ("failed", Some(e.to_string()), None),
    };
    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    let run = LedgerRun {
        source: opts.source.clone(),
        started_at: started,
        finished_at: now,
        dry_run: opts.dry_run,
        outcome: outcome.into(),
        rows_read: report.map_or(0, |r| r.rows_read),
        rows_rejected: report.map_or(0, |r| n(r.rejected.len())),
        invoices_created: report.map_or(0, |r| r.invoices_created),
        invoices_updated: report.map_or(0, |r| r.invoices_updated),
        rows_deleted: report.map_or(0, |r| n(r.deleted.len())),
        rows_written: report.map_or(0, |r| r.rows_written),
        rows_appended: 0,
        conflicts: report.map_or(0, |r| n(r.conflicts.len())),
        requests: u32::try_from(table.requests()).unwrap_or(u32::MAX),
        error,
    };
    store.record_ledger_run(&run).await?;
    let mut report = result?;
    report.requests = table.requests();
    Ok(report)
}

#[allow(clippy::too_many_lines)]
async fn run(
    store: &dyn Store,
    table: &dyn LedgerTable,
    opts: &SyncOptions,
    now: Timestamp,
) -> Result<SyncReport, SyncError> {
    let name = table.describe();
    let table_err = |source| SyncError::Table {
        table: name.clone(),
        source,
    };
    let mut report = SyncReport {
        source: opts.source.clone(),
        table: name.clone(),
        dry_run: opts.dry_run,
        ..SyncReport::default()
    };
    let snapshot = table.read().await.map_err(table_err)?;
    let rows =
        file::from_table(&snapshot, &name, &opts.import).map_err(|source| SyncError::Layout {
            table: name.clone(),
            source,
        })?;
    let mapping = rows.detected_mapping();
    let owned = Owned::from_mapping(&mapping);
    let columns = Columns::new(&snapshot.headers);
    let wanted: Vec<String> = owned
        .names(opts.write_errors)
        .into_iter()
        .filter(|c| !columns.has(c))
        .collect();
    if table.creates_columns() {
        report.columns_added.clone_from(&wanted);
    }
    let headers = if wanted.is_empty() || opts.dry_run {
        snapshot.headers.clone()
    } else {
        table
            .ensure_columns(&snapshot.headers, &wanted)
            .await
            .map_err(table_err)?
    };
    let columns = Columns::new(&headers);
    let by_line: HashMap<u64, usize> = snapshot
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.line, i))
        .collect();

    // What the last sync left.
    let mut states = store.ledger_rows(&opts.source).await?;
    let by_key: HashMap<String, usize> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.row_key.clone(), i))
        .collect();
    let by_number: HashMap<String, usize> = states
        .iter()
        .enumerate()
        .filter(|(_, s)| s.invoice_id.is_some())
        .map(|(i, s)| (s.number.clone(), i))
        .collect();

    // Read and match.
    let mut incoming: Vec<Incoming> = Vec::new();
    let mut seen_states: HashSet<usize> = HashSet::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut rejected_rows: Vec<(RowError, Option<String>)> = Vec::new();
    let mut notes: Vec<NewNote> = Vec::new();
    let number_header = mapping
        .get(&Field::InvoiceNumber)
        .cloned()
        .unwrap_or_default();
    for item in rows {
        report.rows_read += 1;
        let row = match item {
            Ok(row) => row,
            Err(e) => {
                // A broken row that was synced before is still there: keep it.
                let cells = by_line
                    .get(&e.line)
                    .map(|i| snapshot.rows[*i].cells.as_slice())
                    .unwrap_or_default();
                let key = columns.text(cells, COL_ID);
                let number = columns.text(cells, &number_header);
                if let Some(i) = by_key.get(&key).or_else(|| by_number.get(&number)) {
                    seen_states.insert(*i);
                }
                let locator = by_line
                    .get(&e.line)
                    .map(|i| snapshot.rows[*i].locator.clone());
                rejected_rows.push((e, locator));
                continue;
            }
        };
        let Some(&index) = by_line.get(&row.line) else {
            continue;
        };
        let source_row = &snapshot.rows[index];
        if let Some(first) = first_line.get(&row.invoice.number) {
            rejected_rows.push((
                RowError {
                    line: row.line,
                    column: Some(number_header.clone()),
                    value: Some(row.invoice.number.clone()),
                    reason: format!(
                        "duplicate invoice number `{}` (first on row {first})",
                        row.invoice.number
                    ),
                    raw: row.raw.clone(),
                },
                Some(source_row.locator.clone()),
            ));
            continue;
        }
        first_line.insert(row.invoice.number.clone(), row.line);
        let key = columns.text(&source_row.cells, COL_ID);
        let state = by_key
            .get(&key)
            .filter(|i| states[**i].number == row.invoice.number)
            .or_else(|| by_number.get(&row.invoice.number))
            .copied();
        if let Some(i) = state {
            seen_states.insert(i);
        }
        let (status_edit, paid_edit) = match state {
            None => (None, None),
            Some(i) => {
                let prev = &states[i].owned;
                let status_cell = columns.text(&source_row.cells, &owned.status);
                let paid_cell = columns.text(&source_row.cells, owned.paid.name());
                let status_edit = (!same(
                    &status_cell,
                    prev.get(&owned.status).map_or("", String::as_str),
                ))
                .then_some(row.invoice.status)
                .flatten();
                let paid_edit = (!same(
                    &paid_cell,
                    prev.get(owned.paid.name()).map_or("", String::as_str),
                ))
                .then_some(row.invoice.amount_paid);
                (status_edit, paid_edit)
            }
        };
        incoming.push(Incoming {
            line: row.line,
            locator: source_row.locator.clone(),
            hash: person_hash(&row),
            row,
            state,
            status_edit,
            paid_edit,
            cells: source_row.cells.clone(),
        });
    }

    // Rows gone since the last sync.
    let live_known = states.iter().filter(|s| s.deleted_at.is_none()).count();
    let gone: Vec<usize> = (0..states.len())
        .filter(|i| states[*i].deleted_at.is_none() && !seen_states.contains(i))
        .collect();
    if gone.len() > 5 && gone.len() * 100 > live_known * usize::from(opts.max_delete_percent) {
        return Err(SyncError::MassDeletion {
            table: name,
            missing: gone.len(),
            known: live_known,
            percent: opts.max_delete_percent,
        });
    }

    // The stored invoices the matched rows point at.
    let known_ids: Vec<InvoiceId> = incoming
        .iter()
        .filter_map(|r| r.state.and_then(|i| states[i].invoice_id))
        .collect();
    let mut invoices: HashMap<InvoiceId, Invoice> = HashMap::new();
    for chunk in known_ids.chunks(2000) {
        for inv in store.get_invoices(chunk).await? {
            invoices.insert(inv.id, inv);
        }
    }

    // Inbound: buyers, then invoices (new rows and edited ones).
    let mut buyers: HashMap<String, BuyerId> = HashMap::new();
    let needs_upsert: Vec<usize> = incoming
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let stored = r.state.and_then(|i| states[i].invoice_id);
            match stored.and_then(|id| invoices.get(&id)) {
                None => true,
                Some(_) => r.state.is_some_and(|i| states[i].sheet_hash != r.hash),
            }
        })
        .map(|(i, _)| i)
        .collect();
    if !opts.dry_run {
        let items: Vec<Result<ImportRow, RowError>> = needs_upsert
            .iter()
            .map(|i| Ok(incoming[*i].row.clone()))
            .collect();
        let mut scratch = ImportReport::default();
        for chunk in items.chunks(2000) {
            crate::import::resolve_buyers(
                store,
                &mut buyers,
                chunk,
                &opts.source,
                now,
                &mut scratch,
            )
            .await?;
        }
        report.buyers_created = u32::try_from(scratch.buyers_created).unwrap_or(u32::MAX);
    }
    let mut lead_buyers: HashMap<String, Result<BuyerId, String>> = HashMap::new();
    let mut batch: Vec<(usize, NewInvoice)> = Vec::new();
    for &i in &needs_upsert {
        let r = &incoming[i];
        let stored = r
            .state
            .and_then(|s| states[s].invoice_id)
            .and_then(|id| invoices.get(&id));
        let inv = &r.row.invoice;
        let label = format!("row {} ({})", r.line, inv.number);
        if stored.is_none() {
            report
                .inbound
                .push(format!("{label}: new invoice of {}", inv.amount));
        } else {
            report.inbound.push(format!("{label}: edited in the table"));
        }
        if opts.dry_run {
            continue;
        }
        let buyer_id = match &inv.lead {
            None => buyers.get(&r.row.buyer.key).copied(),
            Some(lead) => {
                if !lead_buyers.contains_key(lead) {
                    let found = crate::import::lead_buyer(store, lead).await?;
                    lead_buyers.insert(lead.clone(), found);
                }
                match &lead_buyers[lead] {
                    Ok(id) => Some(*id),
                    Err(reason) => {
                        rejected_rows.push((
                            RowError {
                                line: r.line,
                                column: mapping.get(&Field::Lead).cloned(),
                                value: Some(lead.clone()),
                                reason: reason.clone(),
                                raw: r.row.raw.clone(),
                            },
                            Some(r.locator.clone()),
                        ));
                        None
                    }
                }
            }
        };
        let Some(buyer_id) = buyer_id else { continue };
        // A stored invoice keeps tagada's status and payments here; a
        // person's status and amount paid are applied below, by the rules.
        let (status, paid) = match stored {
            Some(s) => (s.status, s.amount_paid),
            None => (
                inv.status
                    .unwrap_or(if inv.amount_paid.minor() >= inv.amount.minor() {
                        InvoiceStatus::Paid
                    } else if inv.amount_paid.is_positive() {
                        InvoiceStatus::PartiallyPaid
                    } else {
                        InvoiceStatus::Pending
                    }),
                inv.amount_paid,
            ),
        };
        batch.push((
            i,
            NewInvoice {
                number: inv.number.clone(),
                buyer_id,
                order_date: inv.order_date,
                invoice_date: inv.invoice_date.or(inv.order_date).unwrap_or(inv.due_date),
                due_date: inv.due_date,
                credit_days: inv.credit_days,
                amount: inv.amount,
                amount_paid: paid,
                status,
                source: opts.source.clone(),
                source_hash: source_hash(&r.hash, status, paid),
                notes: inv.notes.clone(),
            },
        ));
    }
    // Row index → invoice id, for rows now in the store.
    let mut row_invoice: HashMap<usize, InvoiceId> = incoming
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let id = r.state.and_then(|s| states[s].invoice_id)?;
            invoices.contains_key(&id).then_some((i, id))
        })
        .collect();
    for chunk in batch.chunks(2000) {
        let rows: Vec<NewInvoice> = chunk.iter().map(|(_, n)| n.clone()).collect();
        let outcomes = store.upsert_invoices(&rows, now).await?;
        for ((i, _), outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                InvoiceUpsert::Created { id } => {
                    report.invoices_created += 1;
                    row_invoice.insert(*i, id);
                }
                InvoiceUpsert::Updated { id } => {
                    report.invoices_updated += 1;
                    row_invoice.insert(*i, id);
                }
                InvoiceUpsert::Unchanged { id } => {
                    row_invoice.insert(*i, id);
                }
                InvoiceUpsert::Rejected { reason } => {
                    let r = &incoming[*i];
                    rejected_rows.push((
                        RowError {
                            line: r.line,
                            column: None,
                            value: None,
                            reason,
                            raw: r.row.raw.clone(),
                        },
                        Some(r.locator.clone()),
                    ));
                }
            }
        }
    }

    // A person's status and amount paid, against what tagada recorded.
    for (i, r) in incoming.iter().enumerate() {
        let Some(state) = r.state else { continue };
        let Some(inv) = row_invoice.get(&i).and_then(|id| invoices.get(id)) else {
            continue;
        };
        let label = format!("row {} ({})", r.line, inv.number);
        let prev = &states[state].owned;
        if let Some(typed) = r.paid_edit
            && typed.currency() == inv.amount_paid.currency()
        {
            let tagada_moved = !same(
                prev.get(owned.paid.name()).map_or("", String::as_str),
                &paid_text(&owned.paid, inv),
            );
            if typed.minor() > inv.amount_paid.minor() {
                let extra =
                    Money::from_minor(typed.minor() - inv.amount_paid.minor(), typed.currency());
                report
                    .inbound
                    .push(format!("{label}: payment of {extra} entered in the table"));
                if !opts.dry_run {
                    store
                        .record_payment(
                            &NewPayment {
                                invoice_number: Some(inv.number.clone()),
                                invoice_id: Some(inv.id),
                                buyer_id: Some(inv.buyer_id),
                                amount: extra,
                                received_at: now,
                                method: PaymentMethod::Other,
                                reference: Some(format!(
                                    "{}:{}:{}",
                                    opts.source,
                                    inv.number,
                                    typed.minor()
                                )),
                            },
                            now,
                        )
                        .await?;
                }
                if tagada_moved {
                    conflict(
                        &mut report,
                        &mut notes,
                        inv,
                        now,
                        format!(
                            "{label}: the amount paid was changed in the table to {typed} while \
                         tagada recorded {}; the table's larger amount stands",
                            inv.amount_paid
                        ),
                    );
                }
            } else if typed.minor() < inv.amount_paid.minor() {
                conflict(
                    &mut report,
                    &mut notes,
                    inv,
                    now,
                    format!(
                        "{label}: the amount paid was changed in the table to {typed}, below the \
                     {} tagada recorded; tagada's amount was written back",
                        inv.amount_paid
                    ),
                );
            }
        }
        if let Some(typed) = r.status_edit
            && typed != inv.status
        {
            let tagada_moved = !same(
                prev.get(&owned.status).map_or("", String::as_str),
                status_label(inv.status),
            );
            let event = match (typed, inv.status) {
                (InvoiceStatus::Paid, _) => Some(InvoiceEvent::MarkedPaid { at: now }),
                (InvoiceStatus::Disputed, s) if s.is_open() => Some(InvoiceEvent::Disputed),
                (InvoiceStatus::Cancelled, s) if !s.is_terminal() => Some(InvoiceEvent::Cancelled),
                (InvoiceStatus::Pending | InvoiceStatus::InProcess, InvoiceStatus::Disputed) => {
                    Some(InvoiceEvent::DisputeResolved)
                }
                _ => None,
            };
            match event {
                Some(event) => {
                    report.inbound.push(format!(
                        "{label}: status {} → {} (typed in the table)",
                        status_label(inv.status),
                        status_label(typed)
                    ));
                    if tagada_moved {
                        conflict(
                            &mut report,
                            &mut notes,
                            inv,
                            now,
                            format!(
                                "{label}: the status was changed in the table to {} while tagada \
                             moved it from {} to {}; the table's status stands",
                                status_label(typed),
                                prev.get(&owned.status).map_or("(blank)", String::as_str),
                                status_label(inv.status)
                            ),
                        );
                    }
                    if !opts.dry_run {
                        let note = NewNote {
                            buyer_id: inv.buyer_id,
                            invoice_id: Some(inv.id),
                            at: now,
                            kind: NoteKind::System,
                            author: Some("ledger sync".into()),
                            text: format!(
                                "{}: status set to {} in the table ({})",
                                name,
                                status_label(typed),
                                label
                            ),
                        };
                        match store
                            .apply_invoice_event(inv.id, &event, Some(&note), now)
                            .await
                        {
                            Ok(_) | Err(StoreError::Conflict(_) | StoreError::Invalid(_)) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                None => conflict(
                    &mut report,
                    &mut notes,
                    inv,
                    now,
                    format!(
                        "{label}: the status was changed in the table to {}, but tagada has it {} \
                     from what it recorded; tagada's status was written back",
                        status_label(typed),
                        status_label(inv.status)
                    ),
                ),
            }
        }
    }

    // Rows gone, and rows back.
    for &g in &gone {
        let s = &states[g];
        report
            .deleted
            .push(format!("{} (was row {})", s.number, s.locator));
        if opts.dry_run {
            continue;
        }
        if let Some(id) = s.invoice_id {
            pause(store, id, &format!("{name}: the row of {} was deleted; its reminders are stopped and its history kept", s.number), true, now).await?;
        }
    }
    for r in &incoming {
        if let Some(i) = r.state
            && states[i].deleted_at.is_some()
        {
            report
                .restored
                .push(format!("row {} ({})", r.line, r.row.invoice.number));
            if !opts.dry_run
                && let Some(id) = states[i].invoice_id
            {
                pause(
                    store,
                    id,
                    &format!(
                        "{name}: the row of {} is back; reminders resume",
                        states[i].number
                    ),
                    false,
                    now,
                )
                .await?;
            }
        }
    }

    // Outbound: tagada's columns, from the store as it now stands.
    let ids: Vec<InvoiceId> = row_invoice.values().copied().collect();
    let mut current: HashMap<InvoiceId, Invoice> = HashMap::new();
    for chunk in ids.chunks(2000) {
        for inv in store.get_invoices(chunk).await? {
            current.insert(inv.id, inv);
        }
    }
    let pairs: Vec<(InvoiceId, BuyerId)> = current.values().map(|i| (i.id, i.buyer_id)).collect();
    let mut facts = HashMap::new();
    for chunk in pairs.chunks(2000) {
        for f in store.sync_facts(chunk).await? {
            facts.insert(f.invoice_id, f);
        }
    }
    let mut writes: Vec<RowWrite> = Vec::new();
    // Per write: the state it updates once written.
    let mut write_states: Vec<LedgerRowState> = Vec::new();
    let mut untouched_states: Vec<LedgerRowState> = Vec::new();
    let base = opts.timeline_base.trim_end_matches('/');
    for (i, r) in incoming.iter().enumerate() {
        let Some(inv) = row_invoice.get(&i).and_then(|id| current.get(id)) else {
            continue;
        };
        let prev_state = r.state.map(|s| &states[s]);
        let key = prev_state.map_or_else(|| format!("T{}", inv.id.get()), |s| s.row_key.clone());
        let f = facts.get(&inv.id);
        let at = |t: Timestamp| {
            t.to_zoned_datetime(opts.time_zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        };
        let mut desired: BTreeMap<String, String> = BTreeMap::new();
        desired.insert(owned.status.clone(), status_label(inv.status).into());
        desired.insert(owned.paid.name().into(), paid_text(&owned.paid, inv));
        desired.insert(
            COL_LAST_REMINDER.into(),
            f.and_then(|f| f.last_sent_at).map(at).unwrap_or_default(),
        );
        desired.insert(
            COL_STEP.into(),
            f.and_then(|f| f.last_step.clone()).unwrap_or_default(),
        );
        desired.insert(
            COL_DELIVERY.into(),
            f.and_then(|f| f.last_delivery.as_deref())
                .map(delivery_label)
                .unwrap_or_default(),
        );
        desired.insert(
            COL_NEXT.into(),
            f.and_then(|f| f.next_at).map(at).unwrap_or_default(),
        );
        desired.insert(
            COL_REPLY.into(),
            f.and_then(|f| f.last_reply.clone())
                .map(|t| t.chars().take(200).collect())
                .unwrap_or_default(),
        );
        desired.insert(
            COL_TIMELINE.into(),
            format!("{base}/invoices/{}", url_segment(&inv.number)),
        );
        desired.insert(COL_ID.into(), key.clone());
        if opts.write_errors {
            desired.insert(COL_ERROR.into(), String::new());
        }
        let mut cells = Vec::new();
        for (col, want) in &desired {
            let have = columns.text(&r.cells, col);
            if same(&have, want) {
                continue;
            }
            let prev = prev_state.and_then(|s| s.owned.get(col));
            let purely_tagada =
                ![owned.status.as_str(), owned.paid.name(), COL_ERROR].contains(&col.as_str());
            if purely_tagada
                && let Some(prev) = prev
                && !same(&have, prev)
            {
                conflict(
                    &mut report,
                    &mut notes,
                    inv,
                    now,
                    format!(
                        "row {} ({}): `{col}` was changed in the table from `{prev}` to `{have}`; \
                     tagada owns that column and wrote back `{want}`",
                        r.line, inv.number
                    ),
                );
            }
            report.cell_changes += 1;
            if report.changes.len() < SHOWN_CHANGES {
                report.changes.push(CellChange {
                    line: Some(r.line),
                    number: inv.number.clone(),
                    column: col.clone(),
                    from: have,
                    to: want.clone(),
                });
            }
            cells.push((col.clone(), want.clone()));
        }
        let state = LedgerRowState {
            row_key: key,
            invoice_id: Some(inv.id),
            number: inv.number.clone(),
            locator: r.locator.clone(),
            sheet_hash: r.hash.clone(),
            owned: desired,
            deleted_at: None,
        };
        if cells.is_empty() {
            untouched_states.push(state);
        } else {
            writes.push(RowWrite {
                locator: Some(r.locator.clone()),
                key: inv.number.clone(),
                cells,
            });
            write_states.push(state);
        }
    }
    // Rows that cannot be used.
    for (e, locator) in &rejected_rows {
        report.rejected.push(RowIssue {
            line: e.line,
            column: e.column.clone(),
            reason: issue_reason(e),
        });
        if !opts.write_errors {
            continue;
        }
        let Some(locator) = locator else { continue };
        let Some(cells) = by_line.get(&e.line).map(|i| &snapshot.rows[*i].cells) else {
            continue;
        };
        let want = e.to_string();
        let have = columns.text(cells, COL_ERROR);
        if !same(&have, &want) {
            report.cell_changes += 1;
            writes.push(RowWrite {
                locator: Some(locator.clone()),
                key: columns.text(cells, &number_header),
                cells: vec![(COL_ERROR.into(), want)],
            });
        }
    }
    if opts.dry_run {
        return Ok(report);
    }

    // Write, then remember what was written.
    let outcome = if writes.is_empty() {
        tagada_sources::table::WriteOutcome::default()
    } else {
        table.write(&writes).await.map_err(table_err)?
    };
    report.rows_written = u32::try_from(outcome.written).unwrap_or(u32::MAX);
    let failed: HashMap<usize, &String> = outcome.failed.iter().map(|(i, m)| (*i, m)).collect();
    let mut save = untouched_states;
    for (i, mut state) in write_states.into_iter().enumerate() {
        if let Some(reason) = failed.get(&i) {
            report.write_failures.push(RowIssue {
                line: state.locator.parse().unwrap_or(0),
                column: None,
                reason: (*reason).clone(),
            });
            // Written next time: keep what the last sync knew.
            match by_key.get(&state.row_key) {
                Some(prev) => state.owned.clone_from(&states[*prev].owned),
                None => state.owned.clear(),
            }
        }
        save.push(state);
    }
    for &g in &gone {
        states[g].deleted_at = Some(now);
        save.push(states[g].clone());
    }
    store.save_ledger_rows(&opts.source, &save, now).await?;
    for note in &notes {
        store.add_note(note).await?;
    }
    Ok(report)
}

/// A rejected row's reason with the value that caused it.
fn issue_reason(e: &RowError) -> String {
    match &e.value {
        Some(v) => format!("{} (value `{v}`)", e.reason),
        None => e.reason.clone(),
    }
}

/// A delivery state as people read it.
fn delivery_label(state: &str) -> String {
    match state {
        "accepted" | "sent" => "Sent".into(),
        "delivered" => "Delivered".into(),
        "read" => "Read".into(),
        "failed" => "Failed".into(),
        other => other.to_string(),
    }
}

/// What the paid column says for an invoice.
fn paid_text(col: &PaidColumn, inv: &Invoice) -> String {
    match col {
        PaidColumn::Paid(_) => inv.amount_paid.to_plain_string(),
        PaidColumn::Outstanding(_) => Money::from_minor(
            (inv.amount.minor() - inv.amount_paid.minor()).max(0),
            inv.amount.currency(),
        )
        .to_plain_string(),
    }
}

async fn pause(
    store: &dyn Store,
    id: InvoiceId,
    text: &str,
    paused: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let inv = store
        .update_invoice_flags(
            id,
            &InvoicePatch {
                paused: Some(paused),
                cadence_override: None,
            },
            now,
        )
        .await?;
    store
        .add_note(&NewNote {
            buyer_id: inv.buyer_id,
            invoice_id: Some(id),
            at: now,
            kind: NoteKind::System,
            author: Some("ledger sync".into()),
            text: text.to_string(),
        })
        .await?;
    Ok(())
}

/// An invoice number as one URL path segment.
fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reports a conflict and keeps its note for the invoice.
fn conflict(
    report: &mut SyncReport,
    notes: &mut Vec<NewNote>,
    inv: &Invoice,
    now: Timestamp,
    text: String,
) {
    notes.push(NewNote {
        buyer_id: inv.buyer_id,
        invoice_id: Some(inv.id),
        at: now,
        kind: NoteKind::System,
        author: Some("ledger sync".into()),
        text: format!("Sync conflict, {text}"),
    });
    report.conflicts.push(text);
}

/// Which service keeps the ledger table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// No ledger table: files and the API only.
    #[default]
    None,
    Sheets,
    Airtable,
}

/// `[ledger.sheets]`: a Google Sheet tab, read and written as a service
/// account the sheet is shared with.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SheetsLedgerConfig {
    /// The id in the sheet's address (`/spreadsheets/d/<id>/edit`).
    pub spreadsheet_id: String,
    /// The tab holding the orders.
    pub tab: String,
    /// The service account's downloaded JSON key.
    pub key_file: String,
    /// A tab new marketplace leads are appended to; empty: none.
    pub leads_tab: String,
    pub base_url: String,
    /// Least milliseconds between two requests (Google allows 60 per
    /// minute per user: 1000 keeps well inside).
    pub min_interval_ms: u64,
}

impl Default for SheetsLedgerConfig {
    fn default() -> Self {
        SheetsLedgerConfig {
            spreadsheet_id: String::new(),
            tab: "Ledger".into(),
            key_file: String::new(),
            leads_tab: String::new(),
            base_url: "https://sheets.googleapis.com".into(),
            min_interval_ms: 1000,
        }
    }
}

/// `[ledger.airtable]`: an Airtable table, through a personal access token
/// with `data.records:read` and `data.records:write` on the base.
#[derive(Clone, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AirtableLedgerConfig {
    /// `app...`
    pub base_id: String,
    /// The table's name or `tbl...` id.
    pub table: String,
    /// The token (`TAGADA_LEDGER__AIRTABLE__TOKEN`).
    pub token: crate::whatsapp::Secret,
    /// The invoice-number field writes merge on; empty: the detected
    /// invoice-number column.
    pub key_field: String,
    pub base_url: String,
    /// Least milliseconds between two requests (Airtable allows 5 per
    /// second per base).
    pub min_interval_ms: u64,
}

impl Default for AirtableLedgerConfig {
    fn default() -> Self {
        AirtableLedgerConfig {
            base_id: String::new(),
            table: String::new(),
            token: crate::whatsapp::Secret::default(),
            key_field: String::new(),
            base_url: tagada_sources::airtable::DEFAULT_BASE_URL.into(),
            min_interval_ms: 220,
        }
    }
}

impl std::fmt::Debug for AirtableLedgerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AirtableLedgerConfig")
            .field("base_id", &self.base_id)
            .field("table", &self.table)
            .field("token", &self.token)
            .field("key_field", &self.key_field)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// `[ledger]`: the table the team keeps, synced both ways.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    pub kind: LedgerKind,
    /// Minutes between syncs under `tagada serve`; 0: only `tagada ledger sync`.
    pub interval_minutes: u32,
    /// Write each unusable row's reason into a `tagada_error` column.
    pub write_errors: bool,
    /// Stop a sync that finds more than this share of the known rows gone.
    pub max_delete_percent: u8,
    pub sheets: SheetsLedgerConfig,
    pub airtable: AirtableLedgerConfig,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            kind: LedgerKind::None,
            interval_minutes: 10,
            write_errors: true,
            max_delete_percent: 20,
            sheets: SheetsLedgerConfig::default(),
            airtable: AirtableLedgerConfig::default(),
        }
    }
}

impl LedgerConfig {
    /// The key of the table's state and runs.
    pub fn source(&self) -> Option<String> {
        match self.kind {
            LedgerKind::None => None,
            LedgerKind::Sheets => Some(format!(
                "sheets:{}/{}",
                self.sheets.spreadsheet_id, self.sheets.tab
            )),
            LedgerKind::Airtable => Some(format!(
                "airtable:{}/{}",
                self.airtable.base_id, self.airtable.table
            )),
        }
    }

    /// The client for the configured table (and the sheet's leads tab);
    /// `number_field` is the Airtable merge field unless one is set.
    pub fn open(
        &self,
        number_field: &str,
        clock: std::sync::Arc<dyn tagada_core::clock::Clock>,
    ) -> Result<OpenedTable, String> {
        match self.kind {
            LedgerKind::None => Err("no ledger table is configured ([ledger] kind)".into()),
            LedgerKind::Airtable => {
                let a = &self.airtable;
                if a.base_id.is_empty() || a.table.is_empty() {
                    return Err("[ledger.airtable] needs base_id and table".into());
                }
                let token = a
                    .token
                    .to_secret_string()
                    .ok_or("[ledger.airtable] needs a token (TAGADA_LEDGER__AIRTABLE__TOKEN)")?;
                let client = tagada_sources::airtable::AirtableClient::new(
                    Some(&a.base_url),
                    token,
                    a.base_id.clone(),
                    tagada_sources::airtable::Pacing {
                        min_interval: std::time::Duration::from_millis(a.min_interval_ms),
                        ..tagada_sources::airtable::Pacing::default()
                    },
                )
                .map_err(|e| e.to_string())?;
                let key = if a.key_field.is_empty() {
                    number_field
                } else {
                    a.key_field.as_str()
                };
                Ok(OpenedTable {
                    table: Box::new(tagada_sources::airtable::AirtableTable::new(
                        client,
                        a.table.clone(),
                        key,
                    )),
                    leads: None,
                })
            }
            LedgerKind::Sheets => open_sheets(&self.sheets, clock),
        }
    }

    /// The run's options from the config.
    pub fn options(
        &self,
        import: &ImportOptions,
        planner: &tagada_core::cadence::PlannerConfig,
        dry_run: bool,
    ) -> Option<SyncOptions> {
        Some(SyncOptions {
            source: self.source()?,
            import: import.clone(),
            write_errors: self.write_errors,
            timeline_base: planner.seller.payment_link_base_url.clone(),
            time_zone: jiff::tz::TimeZone::get(&planner.home_time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            max_delete_percent: self.max_delete_percent,
            dry_run,
        })
    }
}

/// What `tagada ledger connect` shows before anything is synced.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub table: String,
    pub headers: Vec<String>,
    /// Field → the column it is read from.
    pub mapping: Vec<(String, String)>,
    pub rows: u32,
    pub usable: u32,
    pub rejected: Vec<RowIssue>,
    /// Columns tagada owns that the table lacks (added at the first sync
    /// in a sheet; to be created by a person in Airtable).
    pub columns_to_add: Vec<String>,
    pub requests: u64,
}

/// Reads the table once and says what a sync would read from it, without
/// touching the store or the table.
pub async fn preview(
    table: &dyn LedgerTable,
    import: &ImportOptions,
    write_errors: bool,
) -> Result<Preview, SyncError> {
    let name = table.describe();
    let snapshot = table.read().await.map_err(|source| SyncError::Table {
        table: name.clone(),
        source,
    })?;
    let rows = file::from_table(&snapshot, &name, import).map_err(|source| SyncError::Layout {
        table: name.clone(),
        source,
    })?;
    let mapping = rows.detected_mapping();
    let owned = Owned::from_mapping(&mapping);
    let columns = Columns::new(&snapshot.headers);
    let mut out = Preview {
        table: name,
        headers: snapshot.headers.clone(),
        mapping: mapping
            .iter()
            .map(|(f, h)| (f.to_string(), h.clone()))
            .collect(),
        rows: 0,
        usable: 0,
        rejected: Vec::new(),
        columns_to_add: owned
            .names(write_errors)
            .into_iter()
            .filter(|c| !columns.has(c))
            .collect(),
        requests: 0,
    };
    for item in rows {
        out.rows += 1;
        match item {
            Ok(_) => out.usable += 1,
            Err(e) => out.rejected.push(RowIssue {
                line: e.line,
                column: e.column.clone(),
                reason: issue_reason(&e),
            }),
        }
    }
    out.requests = table.requests();
    Ok(out)
}

/// An opened ledger table, and the sheet tab new leads go to.
pub struct OpenedTable {
    pub table: Box<dyn LedgerTable>,
    pub leads: Option<LeadsTab>,
}

impl std::fmt::Debug for OpenedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedTable")
            .field("table", &self.table.describe())
            .field("leads", &self.leads.as_ref().map(|l| &l.tab))
            .finish()
    }
}

/// A sheet tab new marketplace leads are appended to.
#[derive(Debug)]
pub struct LeadsTab {
    pub client: std::sync::Arc<tagada_sources::google::SheetsClient>,
    pub tab: String,
}

fn open_sheets(
    cfg: &SheetsLedgerConfig,
    clock: std::sync::Arc<dyn tagada_core::clock::Clock>,
) -> Result<OpenedTable, String> {
    use tagada_sources::google::{
        HeaderRow, Pacing, ServiceAccountKey, SheetsClient, SheetsTable, TokenSource,
    };
    if cfg.spreadsheet_id.is_empty() || cfg.key_file.is_empty() {
        return Err("[ledger.sheets] needs spreadsheet_id and key_file".into());
    }
    let key = ServiceAccountKey::from_file(&cfg.key_file).map_err(|e| e.to_string())?;
    let tokens = TokenSource::new(key, std::sync::Arc::new(move || clock.now()))
        .map_err(|e| e.to_string())?;
    let client = std::sync::Arc::new(
        SheetsClient::new(
            Some(&cfg.base_url),
            std::sync::Arc::new(tokens),
            cfg.spreadsheet_id.clone(),
            Pacing {
                min_interval: std::time::Duration::from_millis(cfg.min_interval_ms),
                ..Pacing::default()
            },
        )
        .map_err(|e| e.to_string())?,
    );
    Ok(OpenedTable {
        table: Box::new(SheetsTable::new(
            std::sync::Arc::clone(&client),
            cfg.tab.clone(),
            HeaderRow::Detect,
        )),
        leads: (!cfg.leads_tab.is_empty()).then(|| LeadsTab {
            client,
            tab: cfg.leads_tab.clone(),
        }),
    })
}

/// The leads tab's header.
pub const LEADS_HEADER: [&str; 9] = [
    "Received", "Source", "Lead", "Name", "Company", "WhatsApp", "Email", "Country", "Outcome",
];

/// Appends the leads stored since the last append to the leads tab, in
/// the order they arrived; returns how many. A lead already in the tab
/// (same source and lead id) is not appended again, so leads stored in the
/// same instant as the last append's newest are not lost, and a retry
/// after an append whose cursor was not saved appends nothing twice.
pub async fn append_leads(
    store: &dyn Store,
    tab: &LeadsTab,
    source: &str,
    zone: &jiff::tz::TimeZone,
    now: Timestamp,
) -> Result<usize, SyncError> {
    let cursor_key = format!("ledger-leads:{source}");
    let cursor = store.lead_source(&cursor_key).await?.cursor;
    let tab_err = |e| SyncError::Table {
        table: format!("leads tab {}", tab.tab),
        source: e,
    };
    let mut leads: Vec<tagada_store::StoredLead> = store
        .list_leads(&tagada_store::LeadFilter {
            limit: Some(10_000),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|l| cursor.is_none_or(|c| l.created_at >= c))
        .collect();
    if leads.is_empty() {
        return Ok(0);
    }
    // Source and lead columns of what the tab already holds.
    let held: HashSet<(String, String)> = tab
        .client
        .batch_get(
            &[format!(
                "{}!B:C",
                tagada_sources::google::a1::quote_tab(&tab.tab)
            )],
            tagada_sources::google::ValueRender::Formatted,
        )
        .await
        .map_err(tab_err)?
        .into_iter()
        .flat_map(|r| r.values)
        .map(|row| {
            let text = |i: usize| {
                row.get(i)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            (text(0), text(1))
        })
        .collect();
    leads.retain(|l| !held.contains(&(l.source.clone(), l.external_id.clone())));
    if leads.is_empty() {
        return Ok(0);
    }
    leads.sort_by_key(|l| l.id);
    let mut rows = Vec::with_capacity(leads.len());
    for l in &leads {
        let buyer = match l.buyer_id {
            Some(id) => Some(store.get_buyer(id).await?),
            None => None,
        };
        let b = buyer.as_ref();
        rows.push(vec![
            l.received_at
                .unwrap_or(l.created_at)
                .to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            l.source.clone(),
            l.external_id.clone(),
            b.map(|b| b.name.clone()).unwrap_or_default(),
            b.and_then(|b| b.company.clone()).unwrap_or_default(),
            b.and_then(|b| b.whatsapp.as_ref().map(|p| p.as_str().to_string()))
                .unwrap_or_default(),
            b.and_then(|b| b.email.clone()).unwrap_or_default(),
            b.and_then(|b| b.country.as_ref().map(ToString::to_string))
                .unwrap_or_default(),
            l.outcome.clone(),
        ]);
    }
    let header: Vec<String> = LEADS_HEADER.iter().map(|h| (*h).to_string()).collect();
    tab.client
        .append_rows(&tab.tab, &header, rows)
        .await
        .map_err(tab_err)?;
    let last = leads.iter().map(|l| l.created_at).max().unwrap_or(now);
    store
        .update_lead_source(
            &cursor_key,
            &tagada_store::LeadSourcePatch {
                cursor: Some(last),
                ..Default::default()
            },
            now,
        )
        .await?;
    Ok(leads.len())
}
