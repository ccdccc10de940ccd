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
/// Two independently seeded 64-bit hashes (foldhash's quality variant, a
/// fraction of the standard SipHash's cost on these short texts) make a
/// false "duplicate" among a file's numbers as likely as a collision of
/// random 128-bit values (about 10⁻²⁷ for a million rows).
#[derive(Default)]
struct SeenNumbers {
    keys: (
        foldhash::quality::RandomState,
        foldhash::quality::RandomState,
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

/// Whose invoice a row is: a buyer of this file, by the order in which the
/// reader first met its key (so the writer maps it with a `Vec` index, not
/// a text lookup per row), or the buyer of a lead the row names.
enum BuyerRef {
    File(usize),
    Lead(String),
}

/// Rows the reader thread has parsed and checked, ready to be written: the
/// invoices as the store takes them (buyer ids still to fill in) and beside
/// them, in the same order, whose they are and each row's line and text
/// (for a reject); the buyers first met in these rows; the rows already
/// rejected; and progress at the end of them.
struct Batch {
    /// Buyers met for the first time, in the order of their [`BuyerRef::File`] index.
    buyers: Vec<NewBuyer>,
    invoices: Vec<NewInvoice>,
    owners: Vec<BuyerRef>,
    rows: Vec<(u64, String)>,
    rejects: Vec<RejectedRow>,
    warnings: Vec<String>,
    /// Rows read from the file for this batch, accepted or not.
    read: u64,
    done: u64,
    total: u64,
    /// With the first batch only: the rows the whole file is estimated to hold.
    estimate: Option<u64>,
}

impl Batch {
    fn new(capacity: usize) -> Batch {
        Batch {
            buyers: Vec::new(),
            invoices: Vec::with_capacity(capacity),
            owners: Vec::with_capacity(capacity),
            rows: Vec::with_capacity(capacity),
            rejects: Vec::new(),
            warnings: Vec::new(),
            read: 0,
            done: 0,
            total: 0,
            estimate: None,
        }
    }

    /// Empties a written batch for the reader to fill again: its vectors
    /// keep their room, so a steady import allocates no batch at all, and
    /// the rows the writer stored are dropped here, on the reader's thread.
    fn recycle(&mut self) {
        self.buyers.clear();
        self.invoices.clear();
        self.owners.clear();
        self.rows.clear();
        self.rejects.clear();
        self.warnings.clear();
        self.read = 0;
        self.done = 0;
        self.total = 0;
        self.estimate = None;
    }
}

/// What the reader thread needs to turn rows into batches.
struct Reader {
    file_name: String,
    source: String,
    now: Timestamp,
    number_header: String,
    batch_size: usize,
    /// Invoice number → first line it appeared on, to reject duplicates within the file.
    seen: SeenNumbers,
    /// A row's [`ImportRow::buyer_seq`] → its buyer's [`BuyerRef::File`]
    /// index, once a row not naming a lead has named the buyer.
    buyers: Vec<Option<usize>>,
    /// Buyers given a [`BuyerRef::File`] index so far.
    file_buyers: usize,
    warnings: usize,
    /// Batches the writer is done with, to be filled again.
    spare: std::sync::mpsc::Receiver<Batch>,
}

impl Reader {
    /// Reads every row of `rows`, sending a batch each `batch_size`
    /// invoices, until the end of the file or until the writer stops
    /// listening; hands the rows back for their end-of-file figures.
    fn run(
        mut self,
        mut rows: file::FileRows,
        out: tokio::sync::mpsc::Sender<Batch>,
    ) -> file::FileRows {
        // The first rows (a few thousand at most, whatever the batch size),
        // read before any is checked, tell how large the file is: the
        // duplicate table is sized once from that, and the writer decides
        // on a bulk load before anything is written.
        let first: Vec<_> = rows.by_ref().take(self.batch_size.clamp(1, 4096)).collect();
        let done = rows.bytes_read();
        let total = rows.total_bytes().unwrap_or(0);
        let estimate = estimated_rows(first.len() as u64, done, total);
        // sized once: growing by doubling would briefly hold the old and
        // the new table (~75 MB at a million rows instead of 50)
        self.seen.reserve(estimate.min(SEEN_RESERVE_MAX));
        let mut batch = self.fresh();
        batch.estimate = Some(estimate);
        let mut first = first.into_iter();
        while let Some(item) = first.next().or_else(|| rows.next()) {
            self.take(&mut batch, item);
            if batch.invoices.len() >= self.batch_size || batch.rejects.len() >= 1000 {
                batch.done = rows.bytes_read();
                batch.total = rows.total_bytes().unwrap_or(0);
                let next = self.fresh();
                if out
                    .blocking_send(std::mem::replace(&mut batch, next))
                    .is_err()
                {
                    return rows; // the writer gave up (store error); stop reading
                }
            }
        }
        batch.done = rows.bytes_read();
        batch.total = rows.total_bytes().unwrap_or(0);
        let _ = out.blocking_send(batch);
        rows
    }

    /// A written batch handed back, emptied, or else a new one.
    fn fresh(&self) -> Batch {
        match self.spare.try_recv() {
            Ok(mut batch) => {
                batch.recycle();
                batch
            }
            Err(_) => Batch::new(self.batch_size),
        }
    }

    /// Checks one row into `batch`: its buyer, when first met; the row as
    /// an invoice, or as a reject with its reason.
    fn take(&mut self, batch: &mut Batch, item: Result<ImportRow, RowError>) {
        batch.read += 1;
        let row = match item {
            Ok(row) => row,
            Err(e) => {
                batch
                    .rejects
                    .push(reject_from(&self.file_name, e, self.now));
                return;
            }
        };
        // A row naming a lead goes to that lead's buyer: its name columns
        // make no buyer of their own. Any other row makes or updates its
        // buyer the first time the file names it, even a row rejected below.
        let owner = match &row.invoice.lead {
            Some(lead) => BuyerRef::Lead(lead.clone()),
            None => {
                let seq = row.buyer_seq;
                if seq >= self.buyers.len() {
                    self.buyers.resize(seq + 1, None);
                }
                match self.buyers[seq] {
                    Some(i) => BuyerRef::File(i),
                    None => {
                        let i = self.file_buyers;
                        self.file_buyers += 1;
                        self.buyers[seq] = Some(i);
                        batch
                            .buyers
                            .push(new_buyer(&row.buyer, &self.source, self.now));
                        BuyerRef::File(i)
                    }
                }
            }
        };
        if let Some(first) = self.seen.first_line(&row.invoice.number, row.line) {
            batch.rejects.push(RejectedRow {
                source_file: self.file_name.clone(),
                line: row.line,
                column: Some(self.number_header.clone()),
                reason: format!(
                    "duplicate invoice number `{}` (first on line {first})",
                    row.invoice.number
                ),
                raw: row.raw,
                at: self.now,
            });
            return;
        }
        for w in &row.warnings {
            if self.warnings < 1000 {
                self.warnings += 1;
                batch
                    .warnings
                    .push(format!("{}:{}: {w}", self.file_name, row.line));
            }
        }
        let (line, raw, invoice) = to_invoice(row, BuyerId::new(0), &self.source);
        batch.invoices.push(invoice);
        batch.owners.push(owner);
        batch.rows.push((line, raw));
    }
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

/// The writing side of an import: the store calls, the rejects and the
/// figures, batch after batch.
struct Writer<'a> {
    store: &'a dyn Store,
    file_name: String,
    now: Timestamp,
    lead_header: String,
    /// The ids of the file's buyers, by [`BuyerRef::File`] index.
    buyer_ids: Vec<BuyerId>,
    /// A lead reference → its buyer, or why it has none.
    lead_buyers: HashMap<String, Result<BuyerId, String>>,
    rejects: Vec<RejectedRow>,
    rejects_total: u64,
    rejects_file: PathBuf,
    rejects_writer: Option<csv::Writer<std::fs::File>>,
    /// The invoices of a batch as stored, and their lines and texts: kept
    /// between batches for their room.
    kept: Vec<NewInvoice>,
    kept_rows: Vec<(u64, String)>,
}

impl Writer<'_> {
    /// Stores one batch: its new buyers, then its invoices (each under its
    /// buyer's id), then whatever was rejected. Hands the batch back,
    /// emptied, for the reader to fill again.
    async fn write(
        &mut self,
        mut batch: Batch,
        report: &mut ImportReport,
    ) -> Result<Batch, ImportError> {
        report.rows += batch.read;
        report.warnings.append(&mut batch.warnings);
        self.rejects.append(&mut batch.rejects);
        if !batch.buyers.is_empty() {
            let stored = self.store.upsert_buyers(&batch.buyers).await?;
            if stored.len() != batch.buyers.len() {
                return Err(ImportError::Store(StoreError::Backend(
                    format!(
                        "{} buyers stored for {} sent",
                        stored.len(),
                        batch.buyers.len()
                    )
                    .into(),
                )));
            }
            for (id, outcome) in stored {
                match outcome {
                    tagada_store::UpsertOutcome::Created => report.buyers_created += 1,
                    tagada_store::UpsertOutcome::Updated => report.buyers_updated += 1,
                    tagada_store::UpsertOutcome::Unchanged => {}
                }
                self.buyer_ids.push(id);
            }
        }
        let mut invoices = std::mem::take(&mut self.kept);
        let mut rows = std::mem::take(&mut self.kept_rows);
        let entries = batch
            .invoices
            .drain(..)
            .zip(batch.rows.drain(..))
            .zip(batch.owners.drain(..));
        for ((mut invoice, (line, raw)), owner) in entries {
            let owner = match owner {
                BuyerRef::File(index) => Ok(self.buyer_ids[index]),
                BuyerRef::Lead(lead) => {
                    if !self.lead_buyers.contains_key(&lead) {
                        let found = lead_buyer(self.store, &lead).await?;
                        self.lead_buyers.insert(lead.clone(), found);
                    }
                    self.lead_buyers[&lead].clone()
                }
            };
            match owner {
                Ok(id) => {
                    invoice.buyer_id = id;
                    invoices.push(invoice);
                    rows.push((line, raw));
                }
                Err(reason) => {
                    self.rejects.push(RejectedRow {
                        source_file: self.file_name.clone(),
                        line,
                        column: Some(self.lead_header.clone()),
                        reason,
                        raw,
                        at: self.now,
                    });
                }
            }
        }
        if !invoices.is_empty() {
            let outcomes = self.store.upsert_invoices(&invoices, self.now).await?;
            for ((line, raw), o) in rows.iter().zip(outcomes) {
                match o {
                    InvoiceUpsert::Created { .. } => report.invoices_created += 1,
                    InvoiceUpsert::Updated { .. } => report.invoices_updated += 1,
                    InvoiceUpsert::Unchanged { .. } => report.invoices_unchanged += 1,
                    InvoiceUpsert::Rejected { reason } => self.rejects.push(RejectedRow {
                        source_file: self.file_name.clone(),
                        line: *line,
                        column: None,
                        reason,
                        raw: raw.clone(),
                        at: self.now,
                    }),
                }
            }
        }
        // The stored rows go back with the batch, to be dropped by the
        // reader as it fills the batch again: their texts were allocated on
        // its thread, and freed there they are reused at once (freed here,
        // each would cost the allocator a trip between threads).
        std::mem::swap(&mut batch.invoices, &mut invoices);
        std::mem::swap(&mut batch.rows, &mut rows);
        self.kept = invoices;
        self.kept_rows = rows;
        if self.rejects.len() >= 1000 {
            self.flush_rejects().await?;
        }
        Ok(batch)
    }

    async fn flush_rejects(&mut self) -> Result<(), ImportError> {
        self.rejects_total += write_rejects(
            self.store,
            &mut self.rejects,
            &self.rejects_file,
            &mut self.rejects_writer,
        )
        .await?;
        Ok(())
    }
}

/// Imports one CSV or XLSX file.
///
/// Two stages overlap: a blocking thread reads and checks rows (parsing,
/// duplicates within the file, the buyer each row belongs to) into batches,
/// while this task stores the previous batch. Every store call is made here,
/// in file order, so a buyer is stored before the first invoice that needs it.
pub async fn import_file(
    store: &dyn Store,
    path: &Path,
    cfg: &ImportConfig,
    now: Timestamp,
    progress: Progress<'_>,
) -> Result<ImportReport, ImportError> {
    let opts = options(cfg)?;
    let rows = file::open(path, &opts)?;
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
    let header = |field: file::Field, fallback: &str| {
        rows.detected_mapping()
            .get(&field)
            .cloned()
            .unwrap_or_else(|| fallback.to_string())
    };
    // written batches go back to the reader to be filled again
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Batch>();
    let reader = Reader {
        file_name: file_name.clone(),
        source,
        now,
        number_header: header(file::Field::InvoiceNumber, "invoice number"),
        batch_size: cfg.batch_size.max(1),
        seen: SeenNumbers::default(),
        buyers: Vec::new(),
        file_buyers: 0,
        warnings: 0,
        spare: spare_rx,
    };
    let mut writer = Writer {
        store,
        file_name,
        now,
        lead_header: header(file::Field::Lead, "lead"),
        buyer_ids: Vec::new(),
        lead_buyers: HashMap::new(),
        rejects: Vec::new(),
        rejects_total: 0,
        rejects_file: rejects_path(cfg, path),
        rejects_writer: None,
        kept: Vec::new(),
        kept_rows: Vec::new(),
    };

    // The bounded channel keeps memory flat: the reader runs at most two
    // batches ahead of the store.
    let (batches_tx, mut batches) = tokio::sync::mpsc::channel::<Batch>(2);
    let parser = tokio::task::spawn_blocking(move || reader.run(rows, batches_tx));

    // Everything from the first batch on runs in here, so that a bulk load
    // begun there is ended (its indexes built) however this goes.
    let loaded = async {
        while let Some(batch) = batches.recv().await {
            progress(batch.done, batch.total);
            if let Some(incoming) = batch.estimate
                && cfg.bulk_min_rows > 0
                && incoming >= cfg.bulk_min_rows
            {
                report.bulk_load = store.begin_bulk_import(incoming).await?;
            }
            let spare = writer.write(batch, &mut report).await?;
            // the reader may have finished: then the batch is just dropped
            let _ = spare_tx.send(spare);
        }
        let rows = parser
            .await
            .map_err(|e| ImportError::Parser(e.to_string()))?;
        writer.flush_rejects().await?;
        Ok::<_, ImportError>(rows)
    }
    .await;
    // A reader still running stops at its next batch; what only the rows
    // needed (~50 MB of fingerprints at a million rows) goes with it, before
    // the store builds its indexes.
    drop(batches);
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
    if let Some(mut w) = writer.rejects_writer {
        w.flush().map_err(|source| ImportError::Rejects {
            path: writer.rejects_file.clone(),
            source,
        })?;
        report.rejects_csv = Some(writer.rejects_file);
    }
    report.rejected = writer.rejects_total;
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

/// The buyer a file row describes, as the store takes it.
fn new_buyer(b: &file::BuyerRecord, source: &str, now: Timestamp) -> NewBuyer {
    NewBuyer {
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
        new.push(new_buyer(b, source, now));
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
