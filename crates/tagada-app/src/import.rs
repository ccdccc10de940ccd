//! Importing ledger files: every good row lands in the store, every bad row
//! is kept with its file, line, column and reason (in the store's rejects
//! table and in a `<file>.rejects.csv` beside it), and re-importing the same
//! file changes nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use tagada_core::BuyerId;
use tagada_core::ledger::{Consent, InvoiceStatus};
use tagada_sources::file::{self, DateOrder, ImportOptions, ImportRow, RowError};
use tagada_store::{InvoiceUpsert, NewBuyer, NewInvoice, RejectedRow, Store, StoreError};

use crate::config::{DateOrderSetting, ImportConfig};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] file::FileError),
    #[error("writing {path}: {source}")]
    Rejects {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("import.mapping: {0}")]
    Mapping(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the file reader stopped unexpectedly: {0}")]
    Parser(String),
}

/// The invoice numbers met so far in a file, by a 128-bit fingerprint rather
/// than the text, so a million-row file costs ~50 MB here (24 bytes a slot,
/// in a table sized once from the estimated row count) instead of ~75 MB.
/// Two independently seeded 64-bit hashes make a false "duplicate" as likely
/// as a collision of random 128-bit values (about 10⁻²⁷ for a million rows).
#[derive(Default)]
struct SeenNumbers {
    keys: (
        std::collections::hash_map::RandomState,
        std::collections::hash_map::RandomState,
    ),
    lines: HashMap<Print, u64, std::hash::BuildHasherDefault<PrintHasher>>,
}

/// A number's fingerprint: two 64-bit halves (8-byte aligned, where a
/// `u128` would pad each slot to 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Print(u64, u64);

impl std::hash::Hash for Print {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // already the output of a randomly seeded hash: no need to hash again
        state.write_u64(self.0);
    }
}

/// Passes a [`Print`]'s first half through as its hash.
#[derive(Default)]
struct PrintHasher(u64);

impl std::hash::Hasher for PrintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // only `write_u64` is used; fold anything else in all the same
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The most numbers [`SeenNumbers`] makes room for up front: 2²¹ slots
/// (~50 MB) hold 1,835,008; a larger file grows the table as it goes.
const SEEN_RESERVE_MAX: u64 = 1_835_008;

impl SeenNumbers {
    fn reserve(&mut self, numbers: u64) {
        let wanted = usize::try_from(numbers).unwrap_or(usize::MAX);
        self.lines.reserve(wanted.saturating_sub(self.lines.len()));
    }

    /// The line where `number` first appeared, or `None` after remembering
    /// `line` as its first appearance.
    fn first_line(&mut self, number: &str, line: u64) -> Option<u64> {
        use std::hash::BuildHasher;
        let print = Print(self.keys.0.hash_one(number), self.keys.1.hash_one(number));
        match self.lines.entry(print) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(line);
                None
            }
        }
    }
}

/// Rows parsed on the reader thread, with progress at the end of them.
struct ParsedChunk {
    items: Vec<Result<ImportRow, RowError>>,
    done: u64,
    total: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub rows: u64,
    pub invoices_created: u64,
    pub invoices_updated: u64,
    pub invoices_unchanged: u64,
    pub buyers_created: u64,
    pub buyers_updated: u64,
    pub rejected: u64,
    /// Summary rows (totals) skipped on purpose.
    pub skipped_summary_rows: u64,
    /// Rows imported with a warning (e.g. a phone number that is not valid).
    pub warnings: Vec<String>,
    pub rejects_csv: Option<PathBuf>,
    pub detected_mapping: Vec<(String, String)>,
    /// Whether the store loaded this file in bulk mode (secondary invoice
    /// indexes built once at the end).
    pub bulk_load: bool,
}

/// Progress of a running import: bytes (or rows) done and total.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Builds the parser options from the `[import]` config.
pub fn options(cfg: &ImportConfig) -> Result<ImportOptions, ImportError> {
    let mut mapping = std::collections::BTreeMap::new();
    for (field, header) in &cfg.mapping {
        let f: file::Field = serde_json::from_value(serde_json::Value::String(field.clone()))
            .map_err(|_| ImportError::Mapping(format!("unknown field `{field}`")))?;
        mapping.insert(f, header.clone());
    }
    Ok(ImportOptions {
        mapping,
        default_currency: cfg.default_currency,
        default_region: cfg.default_country.clone(),
        date_order: match cfg.date_order {
            DateOrderSetting::DayFirst => DateOrder::DayFirst,
            DateOrderSetting::MonthFirst => DateOrder::MonthFirst,
        },
        default_credit_days: cfg.default_credit_days,
        sheet: cfg.sheet.clone(),
    })
}

fn rejects_path(cfg: &ImportConfig, input: &Path) -> PathBuf {
    let name = format!(
        "{}.rejects.csv",
        input
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    match &cfg.rejects_dir {
        Some(dir) => dir.join(name),
        None => input.with_file_name(name),
    }
}

/// Rows waiting to be written: the invoices as the store takes them, and
/// beside them, in the same order, each row's line and text (for a reject).
struct Batch {
    invoices: Vec<NewInvoice>,
    rows: Vec<(u64, String)>,
}

impl Batch {
    fn push(&mut self, line: u64, raw: String, invoice: NewInvoice) {
        self.invoices.push(invoice);
        self.rows.push((line, raw));
    }

    fn len(&self) -> usize {
        self.invoices.len()
    }

    fn is_empty(&self) -> bool {
        self.invoices.is_empty()
    }
}

/// Imports one CSV or XLSX file.
pub async fn import_file(
    store: &dyn Store,
    path: &Path,
    cfg: &ImportConfig,
    now: Timestamp,
    progress: Progress<'_>,
) -> Result<ImportReport, ImportError> {
    let opts = options(cfg)?;
    let mut rows = file::open(path, &opts)?;
    let file_name = path.display().to_string();
    let source = format!(
        "import:{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let mut report = ImportReport {
        file: file_name.clone(),
        detected_mapping: rows
            .detected_mapping()
            .iter()
            .map(|(f, h)| {
                (
                    serde_json::to_value(f)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    h.clone(),
                )
            })
            .collect(),
        ..Default::default()
    };
    let number_header = rows
        .detected_mapping()
        .get(&file::Field::InvoiceNumber)
        .cloned()
        .unwrap_or_else(|| "invoice number".to_string());
    let mut rejects: Vec<RejectedRow> = Vec::new();
    let mut rejects_total = 0u64;
    let rejects_file = rejects_path(cfg, path);
    let mut rejects_writer: Option<csv::Writer<std::fs::File>> = None;
    let mut buyers: HashMap<String, BuyerId> = HashMap::new();
    // A lead reference → its buyer, or why it has none.
    let mut lead_buyers: HashMap<String, Result<BuyerId, String>> = HashMap::new();
    let lead_header = rows
        .detected_mapping()
        .get(&file::Field::Lead)
        .cloned()
        .unwrap_or_else(|| "lead".to_string());
    // Invoice number → first line it appeared on, to reject duplicates within the file.
    let mut seen = SeenNumbers::default();
    let mut batch = Batch {
        invoices: Vec::with_capacity(cfg.batch_size),
        rows: Vec::with_capacity(cfg.batch_size),
    };

    // Parsing runs on a blocking thread while this task writes to the store,
    // so the two overlap; the bounded channel keeps memory flat.
    let (chunks_tx, mut chunks) = tokio::sync::mpsc::channel::<ParsedChunk>(4);
    let chunk_size = cfg.batch_size.clamp(1, 4096);
    let parser = tokio::task::spawn_blocking(move || {
        let mut items = Vec::with_capacity(chunk_size);
        while let Some(item) = rows.next() {
            items.push(item);
            if items.len() == chunk_size {
                let chunk = ParsedChunk {
                    items: std::mem::replace(&mut items, Vec::with_capacity(chunk_size)),
                    done: rows.bytes_read(),
                    total: rows.total_bytes().unwrap_or(0),
                };
                if chunks_tx.blocking_send(chunk).is_err() {
                    return rows; // the writer gave up (store error); stop reading
                }
            }
        }
        let last = ParsedChunk {
            items,
            done: rows.bytes_read(),
            total: rows.total_bytes().unwrap_or(0),
        };
        let _ = chunks_tx.blocking_send(last);
        rows
    });

    // Everything from the first chunk on runs in here, so that a bulk load
    // begun there is ended (its indexes built) however this goes.
    let mut bulk_decided = false;
    let loaded = async {
        while let Some(chunk) = chunks.recv().await {
            progress(chunk.done, chunk.total);
            if !bulk_decided {
                bulk_decided = true;
                let incoming = estimated_rows(chunk.items.len() as u64, chunk.done, chunk.total);
                // sized once: growing by doubling would briefly hold the old
                // and the new table (~75 MB at a million rows instead of 50)
                seen.reserve(incoming.min(SEEN_RESERVE_MAX));
                if cfg.bulk_min_rows > 0 && incoming >= cfg.bulk_min_rows {
                    report.bulk_load = store.begin_bulk_import(incoming).await?;
                }
            }
            resolve_buyers(store, &mut buyers, &chunk.items, &source, now, &mut report).await?;
            for item in chunk.items {
                report.rows += 1;
                match item {
                    Err(e) => rejects.push(reject_from(&file_name, e, now)),
                    Ok(row) => {
                        if let Some(first) = seen.first_line(&row.invoice.number, row.line) {
                            rejects.push(RejectedRow {
                                source_file: file_name.clone(),
                                line: row.line,
                                column: Some(number_header.clone()),
                                reason: format!(
                                    "duplicate invoice number `{}` (first on line {first})",
                                    row.invoice.number
                                ),
                                raw: row.raw.clone(),
                                at: now,
                            });
                        } else {
                            for w in &row.warnings {
                                if report.warnings.len() < 1000 {
                                    report
                                        .warnings
                                        .push(format!("{file_name}:{}: {w}", row.line));
                                }
                            }
                            let buyer_id = match &row.invoice.lead {
                                None => buyers[&row.buyer.key],
                                Some(lead) => {
                                    if !lead_buyers.contains_key(lead) {
                                        let found = lead_buyer(store, lead).await?;
                                        lead_buyers.insert(lead.clone(), found);
                                    }
                                    match &lead_buyers[lead] {
                                        Ok(id) => *id,
                                        Err(reason) => {
                                            rejects.push(RejectedRow {
                                                source_file: file_name.clone(),
                                                line: row.line,
                                                column: Some(lead_header.clone()),
                                                reason: reason.clone(),
                                                raw: row.raw.clone(),
                                                at: now,
                                            });
                                            continue;
                                        }
                                    }
                                }
                            };
                            let (line, raw, invoice) = to_invoice(row, buyer_id, &source);
                            batch.push(line, raw, invoice);
                        }
                    }
                }
                if batch.len() >= cfg.batch_size {
                    flush(
                        store,
                        &mut batch,
                        &file_name,
                        now,
                        &mut report,
                        &mut rejects,
                    )
                    .await?;
                }
                if rejects.len() >= 1000 {
                    rejects_total +=
                        write_rejects(store, &mut rejects, &rejects_file, &mut rejects_writer)
                            .await?;
                }
            }
        }
        let rows = parser
            .await
            .map_err(|e| ImportError::Parser(e.to_string()))?;
        flush(
            store,
            &mut batch,
            &file_name,
            now,
            &mut report,
            &mut rejects,
        )
        .await?;
        rejects_total +=
            write_rejects(store, &mut rejects, &rejects_file, &mut rejects_writer).await?;
        Ok::<_, ImportError>(rows)
    }
    .await;
    drop(chunks); // a parser still running stops at its next chunk
    // what only the rows needed (~50 MB of fingerprints at a million rows)
    // goes before the store builds its indexes
    drop((seen, buyers, lead_buyers, batch));
    if report.bulk_load {
        let ended = store.end_bulk_import().await;
        match (&loaded, ended) {
            (_, Ok(())) => {}
            (Ok(_), Err(e)) => return Err(e.into()),
            // the import's own error says more; this one is only logged (the
            // next start of tagada builds the indexes again)
            (Err(_), Err(e)) => {
                tracing::error!(error = %e, "building the invoice indexes after a failed bulk import")
            }
        }
    }
    let rows = loaded?;
    if let Some(mut w) = rejects_writer {
        w.flush().map_err(|source| ImportError::Rejects {
            path: rejects_file.clone(),
            source,
        })?;
        report.rejects_csv = Some(rejects_file);
    }
    report.rejected = rejects_total;
    report.skipped_summary_rows = rows.skipped_summary_rows();
    progress(rows.bytes_read(), rows.total_bytes().unwrap_or(0));
    Ok(report)
}

/// The rows a file holds, judged from the first `rows` rows spanning
/// `done` of its `total` bytes (`rows` itself when the size is unknown).
fn estimated_rows(rows: u64, done: u64, total: u64) -> u64 {
    if done == 0 || total <= done {
        return rows;
    }
    // rounds down; a file of near-identical rows is estimated within a row
    // or two per chunk
    u64::try_from(u128::from(rows) * u128::from(total) / u128::from(done)).unwrap_or(u64::MAX)
}

fn reject_from(file_name: &str, e: RowError, now: Timestamp) -> RejectedRow {
    let reason = match &e.value {
        Some(v) => format!("{} (value `{v}`)", e.reason),
        None => e.reason.clone(),
    };
    RejectedRow {
        source_file: file_name.to_string(),
        line: e.line,
        column: e.column,
        reason,
        raw: e.raw,
        at: now,
    }
}

/// Creates or updates, in one store call, the buyers first seen in `items`,
/// and remembers their ids by key for the rest of the file.
pub(crate) async fn resolve_buyers(
    store: &dyn Store,
    cache: &mut HashMap<String, BuyerId>,
    items: &[Result<ImportRow, RowError>],
    source: &str,
    now: Timestamp,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    let mut keys = Vec::new();
    let mut new = Vec::new();
    let mut in_chunk = std::collections::HashSet::new();
    // A row naming a lead goes to that lead's buyer: its name columns make
    // no buyer of their own.
    for row in items.iter().flatten().filter(|r| r.invoice.lead.is_none()) {
        let b = &row.buyer;
        if cache.contains_key(&b.key) || !in_chunk.insert(b.key.as_str()) {
            continue;
        }
        keys.push(b.key.clone());
        new.push(NewBuyer {
            external_key: Some(b.key.clone()),
            name: b.name.clone(),
            company: b.company.clone(),
            whatsapp: b.whatsapp.clone(),
            phone_raw: b.phone_raw.clone(),
            email: b.email.clone(),
            country: b.country.clone(),
            time_zone: b.time_zone.clone(),
            language: b.language.clone(),
            sales_rep: b.sales_rep.clone(),
            consent: b.consent.then(|| Consent {
                at: now,
                source: format!("{source}:consent-column"),
            }),
            notes: b.notes.clone(),
        });
    }
    if new.is_empty() {
        return Ok(());
    }
    for (key, (id, outcome)) in keys.into_iter().zip(store.upsert_buyers(&new).await?) {
        match outcome {
            tagada_store::UpsertOutcome::Created => report.buyers_created += 1,
            tagada_store::UpsertOutcome::Updated => report.buyers_updated += 1,
            tagada_store::UpsertOutcome::Unchanged => {}
        }
        cache.insert(key, id);
    }
    Ok(())
}

/// The buyer of the lead a row names (`indiamart:2900000001`, or the bare
/// id when one source has it); `Err` with the reason the row is rejected.
pub(crate) async fn lead_buyer(
    store: &dyn Store,
    key: &str,
) -> Result<Result<BuyerId, String>, StoreError> {
    match crate::actions::find_lead(store, key).await {
        Ok(lead) => Ok(lead.buyer_id.ok_or_else(|| {
            format!(
                "lead `{key}` has no buyer ({}); add the buyer first",
                lead.outcome
            )
        })),
        Err(crate::actions::ActionError::Store(e)) => Err(e),
        Err(e) => Ok(Err(e.to_string())),
    }
}

fn to_invoice(row: ImportRow, buyer_id: BuyerId, source: &str) -> (u64, String, NewInvoice) {
    let inv = row.invoice;
    let status = inv
        .status
        .unwrap_or(if inv.amount_paid.minor() >= inv.amount.minor() {
            InvoiceStatus::Paid
        } else if inv.amount_paid.is_positive() {
            InvoiceStatus::PartiallyPaid
        } else {
            InvoiceStatus::Pending
        });
    (
        row.line,
        row.raw,
        NewInvoice {
            number: inv.number,
            buyer_id,
            order_date: inv.order_date,
            // A file with only due dates: the order date, else the due date, stands in.
            invoice_date: inv.invoice_date.or(inv.order_date).unwrap_or(inv.due_date),
            due_date: inv.due_date,
            credit_days: inv.credit_days,
            amount: inv.amount,
            amount_paid: inv.amount_paid,
            status,
            source: source.to_string(),
            source_hash: row.source_hash,
            notes: inv.notes,
        },
    )
}

async fn flush(
    store: &dyn Store,
    batch: &mut Batch,
    file_name: &str,
    now: Timestamp,
    report: &mut ImportReport,
    rejects: &mut Vec<RejectedRow>,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcomes = store.upsert_invoices(&batch.invoices, now).await?;
    for ((line, raw), o) in batch.rows.drain(..).zip(outcomes) {
        match o {
            InvoiceUpsert::Created { .. } => report.invoices_created += 1,
            InvoiceUpsert::Updated { .. } => report.invoices_updated += 1,
            InvoiceUpsert::Unchanged { .. } => report.invoices_unchanged += 1,
            InvoiceUpsert::Rejected { reason } => rejects.push(RejectedRow {
                source_file: file_name.to_string(),
                line,
                column: None,
                reason,
                raw,
                at: now,
            }),
        }
    }
    batch.invoices.clear();
    batch.rows.clear();
    Ok(())
}

async fn write_rejects(
    store: &dyn Store,
    rejects: &mut Vec<RejectedRow>,
    path: &Path,
    writer: &mut Option<csv::Writer<std::fs::File>>,
) -> Result<u64, ImportError> {
    if rejects.is_empty() {
        return Ok(0);
    }
    store.record_rejects(rejects).await?;
    let io = |e: csv::Error| ImportError::Rejects {
        path: path.to_path_buf(),
        source: e.into(),
    };
    if writer.is_none() {
        let mut w = csv::Writer::from_path(path).map_err(io)?;
        w.write_record(["file", "line", "column", "reason", "row"])
            .map_err(io)?;
        *writer = Some(w);
    }
    let w = writer.as_mut().expect("writer just created");
    for r in rejects.iter() {
        w.write_record([
            r.source_file.as_str(),
            &r.line.to_string(),
            r.column.as_deref().unwrap_or(""),
            r.reason.as_str(),
            r.raw.as_str(),
        ])
        .map_err(io)?;
    }
    let n = rejects.len() as u64;
    rejects.clear();
    Ok(n)
}
