//! `tagada-bench`: benchmarks that print figures (never timed assertions).
//!
//! ```sh
//! cargo run --release -p tagada-bench -- import --rows 1000000
//! cargo run --release -p tagada-bench -- plan --open 1000000 --due 10000
//! cargo run --release -p tagada-bench -- plan --open 1000000 --due 10000 --database-url postgres://postgres@127.0.0.1/test
//! cargo run --release -p tagada-bench -- dispatch --messages 20000
//! cargo run --release -p tagada-bench -- ingest --messages 10000 --batch 100
//! cargo run --release -p tagada-bench -- overview --invoices 1000000 --messages 5000000
//! ```

mod overview;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use jiff::civil::{Date, date};
use jiff::{Timestamp, ToSpan};
use tagada_app::config::{Config, ImportConfig, Overrides};
use tagada_app::import::import_file;
use tagada_app::planning::{Scope, build_plan, snapshot_scope};
use tagada_app::webhooks::{IngestReport, ingest_whatsapp};
use tagada_app::whatsapp::{Secret, SendLimits, WhatsAppChannel, WhatsAppConfig};
use tagada_core::ledger::InvoiceStatus;
use tagada_core::{Currency, Money, Phone};
use tagada_fakes::meta::{
    FakeTemplate, MetaFake, MetaFakeConfig, signature_header, status_webhook_body,
};
use tagada_store::{NewBuyer, NewInvoice, Store};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Import N invoice rows from a generated CSV and compare with sqlite3's `.import`.
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Working folder (default: ./bench-data).
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// Import into this database instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Rows per store transaction (`import.batch_size`).
        #[arg(long)]
        batch_size: Option<usize>,
        /// `import.bulk_min_rows` (0: no bulk load, indexes kept up to date row by row).
        #[arg(long)]
        bulk_min_rows: Option<u64>,
    },
    /// Read the import benchmark's CSV of N rows without storing it: what
    /// the import's reading thread costs on its own (parsing, checking,
    /// hashing), in rows/s and CPU.
    Read {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Working folder (default: ./bench-data).
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
    },
    /// Plan over OPEN open invoices of which DUE are due.
    Plan {
        #[arg(long, default_value_t = 1_000_000)]
        open: u64,
        #[arg(long, default_value_t = 10_000)]
        due: u64,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// A PostgreSQL URL to run against instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Repetitions of the timed part.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        /// Open invoices per buyer (a due buyer's other invoices are summed as history).
        #[arg(long, default_value_t = 10)]
        per_buyer: u64,
        /// Paid invoices of the last 12 months per due buyer (their payments
        /// count in the lateness figures).
        #[arg(long, default_value_t = 0)]
        paid_per_buyer: u64,
    },
    /// Dispatch N due reminders through the real WhatsApp client to the fake
    /// Meta server (loopback HTTP) and report messages per second.
    Dispatch {
        #[arg(long, default_value_t = 2_000)]
        messages: u64,
        /// The channel's per-number limit (messages/s); unlimited when unset.
        #[arg(long)]
        per_second: Option<u32>,
        /// The fake's own throughput limit (answers 130429 above it).
        #[arg(long)]
        fake_limit: Option<u32>,
        /// `dispatch.batch_size` (default: the shipped config's).
        #[arg(long)]
        batch_size: Option<u32>,
        /// `dispatch.concurrency` (default: the shipped config's).
        #[arg(long)]
        concurrency: Option<u32>,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// A PostgreSQL URL (an empty database) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Sync LEADS IndiaMART leads received over the last DAYS days from the
    /// fake (its rate limit off) into a fresh store, window by window.
    Leads {
        #[arg(long, default_value_t = 50_000)]
        leads: usize,
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// A PostgreSQL URL (an empty database) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// A full two-way sync of a ROWS-row Google Sheet held by the fake (its
    /// quota off), twice: the first sync imports every row and writes
    /// tagada's columns back; the second finds nothing to change. Prints the
    /// requests made and the time taken.
    Ledger {
        #[arg(long, default_value_t = 50_000)]
        rows: usize,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// A PostgreSQL URL (an empty database) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The collection report (`tagada report`, the dashboard's overview) over
    /// OPEN invoices with DUE of them reminded: how long its figures take,
    /// reading the ledger's facts alone, and the overview page itself (`GET
    /// /` over loopback HTTP, signed in).
    Report {
        #[arg(long, default_value_t = 100_000)]
        open: u64,
        #[arg(long, default_value_t = 10_000)]
        due: u64,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// A PostgreSQL URL (an empty database) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 3)]
        repeat: u32,
    },
    /// The dashboard's overview over INVOICES invoices and MESSAGES messages
    /// of a two-year history (seeded in SQL on SQLite): the summary tables
    /// built from scratch, then `GET /` cold, warm and after payments.
    Overview {
        #[arg(long, default_value_t = 1_000_000)]
        invoices: u64,
        #[arg(long, default_value_t = 5_000_000)]
        messages: u64,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        /// Reuse the database a previous run seeded (same sizes), if any.
        #[arg(long)]
        keep: bool,
    },
    /// Send N reminders to the fake, then ingest their sent, delivered and
    /// read statuses as signed webhook POSTs, and replay them.
    Ingest {
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
        /// Statuses per POST (Meta batches several; 1 = one per POST).
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value = "bench-data")]
        dir: PathBuf,
        /// A PostgreSQL URL (an empty database) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
}

fn now() -> Timestamp {
    "2026-12-04T06:00:00Z".parse().expect("fixed instant")
}

/// CPU time this process has used so far (all threads, user and system).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name, which is in parentheses
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // clock ticks of 1/100 s (USER_HZ on Linux)
    Some((utime + stime) / 100.0)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A Tally-like CSV: `Invoice No,Party Name,Mobile,Invoice Date,Due Date,Amount,Currency`.
fn generate_csv(path: &Path, rows: u64) -> anyhow::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        w,
        "Invoice No,Party Name,Mobile,Invoice Date,Due Date,Amount,Currency"
    )?;
    let buyers = (rows / 20).max(1);
    let start = date(2026, 1, 1);
    for i in 0..rows {
        let b = i % buyers;
        let d = start.checked_add(((i % 330) as i64).days())?;
        let due = d.checked_add(30.days())?;
        let paise = 1_000_00 + (i * 7919) % 9_000_000_00;
        writeln!(
            w,
            "INV-{i:08},Buyer {b:06} Traders,+9198{:08},{},{},\"{}.{:02}\",INR",
            10_000_000 + b,
            d.strftime("%d-%m-%Y"),
            due.strftime("%d-%m-%Y"),
            paise / 100,
            paise % 100
        )?;
    }
    w.flush()?;
    Ok(())
}

async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(tagada_store_sqlite::SqliteStore::open(url).await?)
    } else {
        Arc::new(tagada_store_postgres::PostgresStore::connect(url).await?)
    };
    store.migrate().await?;
    Ok(store)
}

fn fresh_sqlite(dir: &Path, name: &str) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.join(format!("{name}{suffix}"));
        if p.exists() {
            std::fs::remove_file(p)?;
        }
    }
    Ok(format!("sqlite://{}", dir.join(name).display()))
}

fn bench_read(rows: u64, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let csv = dir.join(format!("invoices-{rows}.csv"));
    if !csv.exists() {
        generate_csv(&csv, rows)?;
    }
    let opts = tagada_app::import::options(&ImportConfig::default())?;
    let cpu_before = cpu_seconds().unwrap_or(0.0);
    let t = Instant::now();
    let (mut good, mut bad) = (0u64, 0u64);
    for row in tagada_sources::file::open(&csv, &opts)? {
        match row {
            Ok(_) => good += 1,
            Err(_) => bad += 1,
        }
    }
    let took = t.elapsed();
    println!(
        "read: {good} rows ({bad} rejected) in {took:.2?} = {:.0} rows/s; CPU {:.2} s",
        (good + bad) as f64 / took.as_secs_f64(),
        cpu_seconds().unwrap_or(0.0) - cpu_before
    );
    Ok(())
}

async fn bench_import(
    rows: u64,
    dir: &Path,
    database_url: Option<String>,
    batch_size: Option<usize>,
    bulk_min_rows: Option<u64>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let csv = dir.join(format!("invoices-{rows}.csv"));
    if !csv.exists() {
        let t = Instant::now();
        generate_csv(&csv, rows)?;
        println!(
            "generated {} ({} rows) in {:.1?}",
            csv.display(),
            rows,
            t.elapsed()
        );
    }
    let size = std::fs::metadata(&csv)?.len();
    let url = match database_url {
        Some(u) => u,
        None => fresh_sqlite(dir, "import.db")?,
    };
    let store = open(&url).await?;
    let cfg = ImportConfig {
        rejects_dir: Some(dir.to_path_buf()),
        ..ImportConfig::default()
    };
    let cfg = ImportConfig {
        batch_size: batch_size.unwrap_or(cfg.batch_size),
        bulk_min_rows: bulk_min_rows.unwrap_or(cfg.bulk_min_rows),
        ..cfg
    };
    let rss_before = peak_rss_mib().unwrap_or(0.0);
    let cpu_before = cpu_seconds().unwrap_or(0.0);
    let t = Instant::now();
    let report = import_file(store.as_ref(), &csv, &cfg, now(), &|_, _| {}).await?;
    let ours = t.elapsed();
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu_before;
    println!(
        "tagada import: {} rows ({:.0} MiB) in {:.2?} = {:.0} rows/s; created {}, rejected {}; bulk load {}; CPU {:.1} s; peak RSS {:.0} MiB (before import {:.0} MiB)",
        report.rows,
        size as f64 / 1048576.0,
        ours,
        report.rows as f64 / ours.as_secs_f64(),
        report.invoices_created,
        report.rejected,
        if report.bulk_load { "yes" } else { "no" },
        cpu,
        peak_rss_mib().unwrap_or(0.0),
        rss_before
    );
    // Second run: everything unchanged.
    let t = Instant::now();
    let again = import_file(store.as_ref(), &csv, &cfg, now(), &|_, _| {}).await?;
    println!(
        "tagada re-import (no changes): {} unchanged in {:.2?}",
        again.invoices_unchanged,
        t.elapsed()
    );

    if url.starts_with("sqlite:") {
        let reference = dir.join("sqlite3-import.db");
        let _ = std::fs::remove_file(&reference);
        let t = Instant::now();
        let status = Process::new("sqlite3")
            .arg(&reference)
            .arg(".mode csv")
            .arg(format!(".import {} invoices", csv.display()))
            .status()
            .context("running sqlite3 (apt-get install sqlite3)")?;
        let theirs = t.elapsed();
        anyhow::ensure!(status.success(), "sqlite3 .import failed");
        println!(
            "sqlite3 .import: {} rows in {:.2?} = {:.0} rows/s",
            rows,
            theirs,
            rows as f64 / theirs.as_secs_f64()
        );
        println!(
            "ratio tagada / sqlite3 .import = {:.2}×",
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
        let floor = sqlite3_into_schema(dir, &csv).await?;
        println!(
            "sqlite3 loading the same file into tagada's schema (SQL conversion, same pragmas, indexes and trigger set aside and built after, one transaction): {:.2?}",
            floor
        );
        println!(
            "ratio tagada / sqlite3 into tagada's schema = {:.2}×",
            ours.as_secs_f64() / floor.as_secs_f64()
        );
    }
    Ok(())
}

/// The floor for any importer into tagada's SQLite schema: the `sqlite3`
/// shell itself reads the CSV (`.import` into a staging table), converts it
/// in SQL (dates to ISO, amounts to paise, buyers by name) and inserts it
/// into a freshly migrated database with the store's pragmas and foreign
/// keys, in one transaction, the way tagada's bulk load does: the same
/// two invoice indexes and summary trigger set aside and created again
/// afterwards, no pay token yet. It validates nothing, so it is a lower
/// bound, not a like-for-like run.
async fn sqlite3_into_schema(dir: &Path, csv: &Path) -> anyhow::Result<std::time::Duration> {
    let url = fresh_sqlite(dir, "sqlite3-schema.db")?;
    // migrated, then closed before the shell opens the file
    let store = tagada_store_sqlite::SqliteStore::open(&url).await?;
    tagada_store::Migrate::migrate(&store).await?;
    let set_aside: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT type, name, sql FROM sqlite_master WHERE name IN \
         ('invoices_unsettled_due', 'invoices_buyer', 'summary_invoice_insert') \
         ORDER BY name",
    )
    .fetch_all(store.pool())
    .await?;
    anyhow::ensure!(
        set_aside.len() == 3,
        "the bulk load's indexes: {set_aside:?}"
    );
    store.close().await;
    let drops: String = set_aside
        .iter()
        .map(|(kind, name, _)| format!("DROP {} {name};\n", kind.to_uppercase()))
        .collect();
    let creates: String = set_aside
        .iter()
        .map(|(_, _, sql)| format!("{sql};\n"))
        .collect();
    let db = dir.join("sqlite3-schema.db");
    let iso = |col: &str| {
        format!(
            "substr(\"{col}\", 7, 4) || '-' || substr(\"{col}\", 4, 2) || '-' || substr(\"{col}\", 1, 2)"
        )
    };
    let script = format!(
        "PRAGMA journal_mode = WAL;\n\
         PRAGMA synchronous = NORMAL;\n\
         PRAGMA foreign_keys = ON;\n\
         PRAGMA cache_size = -16384;\n\
         .mode csv\n\
         .import {csv} staging\n\
         {drops}\
         BEGIN;\n\
         INSERT INTO buyers (name, name_norm, whatsapp, external_key) \
           SELECT \"Party Name\", lower(\"Party Name\"), min(\"Mobile\"), lower(\"Party Name\") \
           FROM staging GROUP BY \"Party Name\";\n\
         INSERT INTO invoices (number, buyer_id, invoice_date, due_date, amount_minor, currency, \
           status, source, source_hash, created_at, updated_at) \
           SELECT s.\"Invoice No\", b.id, {inv}, {due}, \
             CAST(replace(s.\"Amount\", '.', '') AS INTEGER), s.\"Currency\", 'pending', \
             'import:bench', lower(hex(randomblob(16))), 0, 0 \
           FROM staging s JOIN buyers b ON b.name_norm = lower(s.\"Party Name\");\n\
         COMMIT;\n\
         {creates}\
         DROP TABLE staging;\n",
        csv = csv.display(),
        inv = iso("Invoice Date"),
        due = iso("Due Date"),
    );
    let t = Instant::now();
    let mut child = Process::new("sqlite3")
        .arg(&db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("running sqlite3")?;
    child
        .stdin
        .take()
        .context("sqlite3 stdin")?
        .write_all(script.as_bytes())?;
    let status = child.wait()?;
    let took = t.elapsed();
    anyhow::ensure!(status.success(), "sqlite3 load into tagada's schema failed");
    let out = Process::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM invoices")
        .output()?;
    let loaded = String::from_utf8_lossy(&out.stdout).trim().to_string();
    println!("sqlite3 into tagada's schema: {loaded} invoices loaded");
    Ok(took)
}

/// The fake account for a config: every template it sends, approved.
fn fake_registry(cfg: &tagada_core::cadence::PlannerConfig) -> Vec<FakeTemplate> {
    tagada_fakes::meta::account_from_listing(
        cfg.templates
            .iter()
            .map(tagada_app::templates::expected_template),
    )
}

/// A ledger of `messages` due reminders dispatched through the real client
/// to the fake.
struct Dispatched {
    store: Arc<dyn Store>,
    fake: MetaFake,
    sent: u64,
    steps: u64,
    took: Duration,
}

async fn dispatch_all(
    messages: u64,
    per_second: Option<u32>,
    fake_limit: Option<u32>,
    dispatch: &tagada_app::dispatch::DispatchConfig,
    dir: &Path,
    database_url: Option<String>,
    name: &str,
) -> anyhow::Result<Dispatched> {
    let config = Config::load_with_env(None, &Overrides::default(), false)?;
    let url = match database_url {
        Some(u) => u,
        None => fresh_sqlite(dir, &format!("{name}-{messages}.db"))?,
    };
    let store = open_store_fresh(&url).await?;
    let shape = LedgerShape {
        open: messages,
        due: messages,
        per_buyer: 1,
        paid_per_buyer: 0,
    };
    seed_ledger(store.as_ref(), shape).await?;
    let (plan, applied) =
        tagada_app::planning::plan_and_apply(store.as_ref(), &config.planner, now()).await?;
    anyhow::ensure!(
        u64::from(applied.messages_enqueued) == messages,
        "expected {messages} messages, planned {} (skipped {})",
        applied.messages_enqueued,
        plan.skipped.len()
    );
    let last_send = plan
        .messages
        .iter()
        .map(|m| m.send_at)
        .max()
        .unwrap_or_else(now);
    let fake = MetaFake::start(MetaFakeConfig {
        templates: fake_registry(&config.planner),
        messages_per_second: fake_limit,
        ..Default::default()
    })
    .await?;
    let wa = WhatsAppConfig {
        enabled: true,
        base_url: fake.base_url(),
        phone_number_id: fake.config().phone_number_id.clone(),
        waba_id: fake.config().waba_id.clone(),
        access_token: Secret::new(fake.config().access_token.clone()),
        ..Default::default()
    };
    let channel = WhatsAppChannel::with_limits(
        wa.client()?,
        SendLimits {
            messages_per_second: per_second.unwrap_or(0),
            per_recipient: Duration::ZERO,
        },
    );
    let clock = tagada_app::clock::SimClock::new(last_send);
    let zone = config.planner.home_zone();
    let t = Instant::now();
    let mut sent = 0u64;
    let mut steps = 0u64;
    loop {
        let step = tagada_app::dispatch::dispatch_step(
            store.as_ref(),
            &channel,
            &clock,
            dispatch,
            "bench",
            &zone,
        )
        .await?;
        steps += 1;
        sent += u64::from(step.sent);
        if step.claimed == 0 {
            break;
        }
    }
    Ok(Dispatched {
        store,
        fake,
        sent,
        steps,
        took: t.elapsed(),
    })
}

async fn bench_dispatch(
    messages: u64,
    per_second: Option<u32>,
    fake_limit: Option<u32>,
    dispatch: &tagada_app::dispatch::DispatchConfig,
    dir: &Path,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let d = dispatch_all(
        messages,
        per_second,
        fake_limit,
        dispatch,
        dir,
        database_url,
        "dispatch",
    )
    .await?;
    let accepted = d.fake.accepted().len() as u64;
    let refused = d.fake.requests() as u64 - accepted;
    println!(
        "dispatched {} of {messages} reminder(s) in {:.2?} over {} step(s): {:.0} messages/s \
         (channel limit: {}; fake limit: {}; batch {}, concurrency {}); the fake accepted {accepted}, refused {refused}",
        d.sent,
        d.took,
        d.steps,
        d.sent as f64 / d.took.as_secs_f64(),
        per_second.map_or("none".to_string(), |p| format!("{p}/s")),
        fake_limit.map_or("none".to_string(), |p| format!("{p}/s")),
        dispatch.batch_size,
        dispatch.concurrency,
    );
    d.fake.shutdown().await;
    Ok(())
}

/// Sends `messages` reminders to the fake, then feeds their `sent`,
/// `delivered` and `read` statuses to [`ingest_whatsapp`] (signature check,
/// parsing, one store transaction per POST) in signed bodies of `batch`
/// statuses, then replays every body once.
async fn bench_ingest(
    messages: u64,
    batch: usize,
    dir: &Path,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(batch > 0, "--batch must be at least 1");
    let dispatch = tagada_app::dispatch::DispatchConfig::default();
    let d = dispatch_all(messages, None, None, &dispatch, dir, database_url, "ingest").await?;
    let accepted = d.fake.accepted();
    anyhow::ensure!(
        accepted.len() as u64 == messages,
        "the fake accepted {} of {messages}",
        accepted.len()
    );
    let cfg = d.fake.config().clone();
    let mut bodies = Vec::new();
    for status in ["sent", "delivered", "read"] {
        for chunk in accepted.chunks(batch) {
            let pairs: Vec<_> = chunk.iter().map(|m| (m, status)).collect();
            let body = status_webhook_body(&cfg, &pairs, std::time::SystemTime::UNIX_EPOCH);
            let signature = signature_header(&cfg.app_secret, body.as_bytes());
            bodies.push((body, signature));
        }
    }
    let statuses = messages * 3;
    let secret = cfg.app_secret.as_bytes();
    let store = d.store.as_ref();
    let mut total = IngestReport::default();
    let t = Instant::now();
    for (body, signature) in &bodies {
        let r = ingest_whatsapp(store, secret, Some(signature), body.as_bytes(), now()).await?;
        total.applied += r.applied;
        total.duplicate += r.duplicate;
        total.unmatched += r.unmatched;
    }
    let took = t.elapsed();
    println!(
        "ingested {statuses} statuses in {} POST(s) of up to {batch} in {took:.2?}: {:.0} statuses/s \
         ({} applied, {} duplicate, {} unmatched)",
        bodies.len(),
        statuses as f64 / took.as_secs_f64(),
        total.applied,
        total.duplicate,
        total.unmatched
    );
    anyhow::ensure!(
        u64::from(total.applied) == statuses,
        "every status should apply once"
    );
    let t = Instant::now();
    let mut replayed = 0u64;
    for (body, signature) in bodies.iter().rev() {
        let r = ingest_whatsapp(store, secret, Some(signature), body.as_bytes(), now()).await?;
        replayed += u64::from(r.duplicate);
    }
    let took = t.elapsed();
    println!(
        "replayed every POST: {replayed} duplicates in {took:.2?}: {:.0} statuses/s",
        statuses as f64 / took.as_secs_f64()
    );
    anyhow::ensure!(replayed == statuses, "every replayed status is a duplicate");
    let read = store
        .list_messages(&tagada_store::OutboxFilter::default())
        .await?
        .iter()
        .filter(|m| m.delivery == Some(tagada_core::outbox::DeliveryStatus::Read))
        .count();
    println!("{read} of {messages} reminder(s) read");
    anyhow::ensure!(read as u64 == messages, "every reminder should end read");
    d.fake.shutdown().await;
    Ok(())
}

/// Syncs `leads` generated IndiaMART leads of the last `days` days into a
/// fresh store through the real client, one 7-day window per call (tagada's
/// clock moves 5 minutes per call, as the budget wants; no real waiting).
async fn bench_leads(
    leads: usize,
    days: u32,
    dir: &Path,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    use tagada_app::leads::{IndiaMartApi, SyncOptions, SyncState, start_backfill, sync_step};
    use tagada_fakes::indiamart::{IndiaMartFake, IndiaMartFakeConfig};
    let url = match database_url {
        Some(u) => u,
        None => fresh_sqlite(dir, &format!("leads-{leads}.db"))?,
    };
    let store = open_store_fresh(&url).await?;
    let end = now();
    let t = Instant::now();
    let fake = IndiaMartFake::start(IndiaMartFakeConfig {
        leads,
        leads_from: end - jiff::SignedDuration::from_hours(24 * i64::from(days)),
        leads_to: end,
        clock: tagada_fakes::marketplace::FakeClock::Frozen(end),
        rate_limit: false,
        ..Default::default()
    })
    .await?;
    let served = fake.leads().len();
    println!(
        "the fake generated {served} lead records ({leads} distinct, with re-sends) in {:.1?}",
        t.elapsed()
    );
    let rss_before = peak_rss_mib();
    let api = IndiaMartApi::new(tagada_sources::indiamart::PullClient::new(
        tagada_sources::indiamart::PullConfig::with_base_url(
            fake.base_url(),
            secrecy::SecretString::from(fake.config().key.clone()),
        ),
    )?);
    let clock = tagada_app::clock::SimClock::new(end);
    start_backfill(store.as_ref(), &api, days + 1, end).await?;
    let opts = SyncOptions::default();
    let t = Instant::now();
    let mut total = tagada_app::leads::SyncReport::default();
    let mut calls = 0u32;
    loop {
        let (state, report) = sync_step(store.as_ref(), &api, &clock, &opts).await?;
        total.add(&report);
        if state == SyncState::Called {
            calls += 1;
        }
        if let Some(e) = &report.error {
            anyhow::bail!("call failed: {e}");
        }
        if report.behind_secs < 600 && state == SyncState::Called {
            break;
        }
        let next = tagada_core::clock::Clock::now(&clock) + jiff::SignedDuration::from_mins(5);
        clock.set(next);
        fake.set_clock(next);
    }
    let took = t.elapsed();
    println!(
        "synced in {calls} call(s) in {took:.2?}: {} new leads ({:.0} leads/s), {} re-sends, {} new buyers, {} matched, {} skipped",
        total.leads_new,
        f64::from(total.leads_new) / took.as_secs_f64(),
        total.leads_duplicate,
        total.buyers_new,
        total.buyers_matched,
        total.skipped.values().sum::<u32>()
    );
    println!(
        "peak RSS: {:.0} MiB (the in-process fake's generated leads included; {:.0} MiB before syncing)",
        peak_rss_mib().unwrap_or(0.0),
        rss_before.unwrap_or(0.0)
    );
    fake.shutdown().await;
    Ok(())
}

/// Seeds `open` open invoices: `due` of them due on or before today, the
/// rest due 30–300 days from now, `per_buyer` invoices per buyer; and
/// `paid_per_buyer` paid invoices of the last year for each due buyer.
async fn seed_ledger(store: &dyn Store, shape: LedgerShape) -> anyhow::Result<()> {
    let LedgerShape {
        open,
        due,
        per_buyer,
        paid_per_buyer,
    } = shape;
    let today: Date = now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let buyers = open.div_ceil(per_buyer);
    let mut buyer_ids = Vec::with_capacity(buyers as usize);
    let mut chunk = Vec::with_capacity(1000);
    for b in 0..buyers {
        chunk.push(NewBuyer {
            external_key: Some(format!("bench-{b}")),
            name: format!("Bench Buyer {b}"),
            whatsapp: Some(Phone::try_from(format!("+9198{:08}", 10_000_000 + b))?),
            ..Default::default()
        });
        if chunk.len() == 1000 || b + 1 == buyers {
            buyer_ids.extend(
                store
                    .upsert_buyers(&chunk)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id),
            );
            chunk.clear();
        }
    }
    // Due invoices are spread over distinct buyers first, as in real ledgers.
    let mut batch = Vec::with_capacity(5000);
    for i in 0..open {
        let is_due = i < due;
        let buyer = if is_due {
            buyer_ids[(i % buyers) as usize]
        } else {
            buyer_ids[((i * 7) % buyers) as usize]
        };
        let due_date = if is_due {
            today.checked_sub(((i % 40) as i64).days())?
        } else {
            today.checked_add((30 + (i % 270) as i64).days())?
        };
        batch.push(bench_invoice(
            format!("B-{i:08}"),
            buyer,
            due_date,
            50_000_00 + (i as i64 % 1000) * 100,
        )?);
        if batch.len() == 5000 {
            store.upsert_invoices(&batch, now()).await?;
            batch.clear();
        }
    }
    store.upsert_invoices(&batch, now()).await?;
    // Paid history of the due buyers: round k of n was due about 330·k/n
    // days ago (invoiced 30 days before that) and paid 0–19 days after its
    // due date. Stored open, then updated as paid, so that each round's
    // payment time is recorded.
    let due_buyers = due.min(buyers);
    for k in 0..paid_per_buyer {
        let back = (330 * k / paid_per_buyer) as i64;
        let paid_at = now().checked_sub(jiff::SignedDuration::from_hours(24 * back))?;
        let mut rows = Vec::with_capacity(due_buyers as usize);
        for b in 0..due_buyers {
            let due_date = today.checked_sub((back + (b % 20) as i64).days())?;
            rows.push(bench_invoice(
                format!("P-{k:02}-{b:08}"),
                buyer_ids[b as usize],
                due_date,
                20_000_00 + (b as i64 % 500) * 100,
            )?);
        }
        for chunk in rows.chunks_mut(5000) {
            store.upsert_invoices(chunk, now()).await?;
            for r in chunk.iter_mut() {
                r.status = InvoiceStatus::Paid;
                r.amount_paid = r.amount;
                r.source_hash.push_str("-paid");
            }
            store.upsert_invoices(chunk, paid_at).await?;
        }
    }
    Ok(())
}

/// A pending INR invoice of the seeded ledgers, issued 30 days before it
/// is due.
fn bench_invoice(
    number: String,
    buyer_id: tagada_core::BuyerId,
    due_date: Date,
    amount_minor: i64,
) -> anyhow::Result<NewInvoice> {
    Ok(NewInvoice {
        source_hash: format!("h-{number}"),
        number,
        buyer_id,
        order_date: None,
        invoice_date: due_date.checked_sub(30.days())?,
        due_date,
        credit_days: Some(30),
        amount: Money::from_minor(amount_minor, Currency::INR),
        amount_paid: Money::zero(Currency::INR),
        status: InvoiceStatus::Pending,
        source: "bench".into(),
        notes: None,
    })
}

/// The ledger the planning benchmarks seed.
#[derive(Debug, Clone, Copy)]
struct LedgerShape {
    open: u64,
    due: u64,
    per_buyer: u64,
    paid_per_buyer: u64,
}

async fn bench_plan(
    shape: LedgerShape,
    dir: &Path,
    database_url: Option<String>,
    repeat: u32,
) -> anyhow::Result<()> {
    let config = Config::load_with_env(None, &Overrides::default(), false)?;
    let url = match database_url {
        Some(u) => u,
        None => fresh_sqlite(
            dir,
            &format!(
                "plan-{}-{}-{}-{}.db",
                shape.open, shape.due, shape.per_buyer, shape.paid_per_buyer
            ),
        )?,
    };
    let store = open_store_fresh(&url).await?;
    let t = Instant::now();
    seed_ledger(store.as_ref(), shape).await?;
    println!(
        "seeded {} open invoices ({} due) in {:.1?}",
        shape.open,
        shape.due,
        t.elapsed()
    );
    let scope = snapshot_scope(&config.planner, now(), Scope::Due);
    for r in 0..repeat {
        let t = Instant::now();
        let snapshot = store.load_snapshot(&scope).await?;
        let loaded = t.elapsed();
        let t2 = Instant::now();
        let plan = tagada_core::planner::plan(&snapshot, &config.planner, now());
        let planned = t2.elapsed();
        println!(
            "run {}: load_snapshot {} ms ({} invoices loaded, {} history sums, {} history payments, {} counted only) + plan {} ms = {} ms total; {} messages, {} skipped",
            r + 1,
            loaded.as_millis(),
            snapshot.invoices.len(),
            snapshot.history.sums.len(),
            snapshot.history.payments.len(),
            snapshot.not_loaded_not_yet_due,
            planned.as_millis(),
            (loaded + planned).as_millis(),
            plan.messages.len(),
            plan.skipped.len()
        );
    }
    // The end-to-end use case, as `tagada plan --due-only` runs it: the
    // first time it also issues the pay tokens of the invoices it writes
    // about (and plans again with their links), later times only plan.
    for when in ["first, issuing pay tokens", "again"] {
        let t = Instant::now();
        let plan = build_plan(store.as_ref(), &config.planner, now(), Scope::Due).await?;
        println!(
            "build_plan (use case, {when}): {} ms, {} messages",
            t.elapsed().as_millis(),
            plan.messages.len()
        );
    }
    Ok(())
}

async fn bench_report(
    open: u64,
    due: u64,
    dir: &Path,
    database_url: Option<String>,
    repeat: u32,
) -> anyhow::Result<()> {
    let config = Config::load_with_env(None, &Overrides::default(), false)?;
    let url = match database_url {
        Some(u) => u,
        None => fresh_sqlite(dir, &format!("report-{open}-{due}.db"))?,
    };
    let store = open_store_fresh(&url).await?;
    let t = Instant::now();
    let shape = LedgerShape {
        open,
        due,
        per_buyer: 10,
        paid_per_buyer: 0,
    };
    seed_ledger(store.as_ref(), shape).await?;
    let (plan, _) =
        tagada_app::planning::plan_and_apply(store.as_ref(), &config.planner, now()).await?;
    println!(
        "seeded {open} invoices and {} queued reminders in {:.1?}",
        plan.messages.len(),
        t.elapsed()
    );
    let today = now().to_zoned_datetime(config.planner.home_zone()).date();
    let period = tagada_core::metrics::Period::last_days(today, 30)?;
    for r in 0..repeat {
        let t = Instant::now();
        let report = tagada_app::reports::build_report(
            store.as_ref(),
            &config.planner,
            period,
            Some(tagada_core::metrics::Dimension::Template),
            None,
        )
        .await?;
        println!(
            "run {}: build_report {} ms (outstanding {}, {} reminders planned in the period)",
            r + 1,
            t.elapsed().as_millis(),
            report.collection.outstanding.total.home,
            report
                .collection
                .funnel
                .count(tagada_core::metrics::Stage::Planned)
        );
    }
    for r in 0..repeat {
        let t = Instant::now();
        let (facts, messages) =
            tagada_app::reports::load_facts(store.as_ref(), &config.planner, None).await?;
        println!(
            "run {}: load_facts {} ms ({} invoices, {} messages)",
            r + 1,
            t.elapsed().as_millis(),
            facts.len(),
            messages.len()
        );
    }
    bench_overview_page(store, &config, repeat).await?;
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS {rss:.0} MiB");
    }
    Ok(())
}

/// `GET /` (the dashboard's overview) as an admin, over loopback HTTP.
async fn bench_overview_page(
    store: Arc<dyn Store>,
    config: &Config,
    repeat: u32,
) -> anyhow::Result<()> {
    let page = overview::Page::start(store, config).await?;
    for r in 0..repeat {
        let (ms, kib, _) = page.overview().await?;
        println!("run {}: overview page (GET /) {ms} ms, {kib} KiB", r + 1);
    }
    Ok(())
}

async fn bench_ledger(rows: usize, dir: &Path, database_url: Option<String>) -> anyhow::Result<()> {
    use tagada_app::ledger_sync::{SyncOptions, sync};
    use tagada_fakes::google::{GoogleFake, GoogleFakeConfig};
    use tagada_sources::google::{
        HeaderRow, Pacing, ServiceAccountKey, SheetsClient, SheetsTable, TokenSource,
    };
    use tagada_sources::table::LedgerTable;

    let url = match database_url {
        Some(u) => u,
        None => fresh_sqlite(dir, &format!("ledger-{rows}.db"))?,
    };
    let store = open_store_fresh(&url).await?;
    let fake = GoogleFake::start(GoogleFakeConfig {
        quota_off: true,
        ..GoogleFakeConfig::default()
    })
    .await?;
    let sheet = "1BenchLedger";
    fake.add_spreadsheet(sheet);
    let text = |s: String| serde_json::Value::String(s);
    let mut grid = vec![
        [
            "Invoice No",
            "Party Name",
            "WhatsApp",
            "Invoice Date",
            "Due Date",
            "Amount",
            "Consent",
        ]
        .iter()
        .map(|h| text((*h).to_string()))
        .collect::<Vec<_>>(),
    ];
    for n in 1..=rows {
        grid.push(vec![
            text(format!("INV-{n:07}")),
            text(format!("Buyer {} Traders", n % (rows / 3).max(1))),
            text(format!("09{:09}", 800_000_000 + n)),
            text("16/10/2026".into()),
            text("15/11/2026".into()),
            text(format!("{}", 1_000 + n % 90_000)),
            text("yes".into()),
        ]);
    }
    fake.set_values(sheet, "Ledger", grid);
    let key = ServiceAccountKey::from_json(&fake.service_account_key_json(), "bench key")?;
    let tokens = TokenSource::new(key, std::sync::Arc::new(fake.clock_fn()))?;
    let client = SheetsClient::new(
        Some(&fake.base_url()),
        std::sync::Arc::new(tokens),
        sheet,
        Pacing {
            min_interval: std::time::Duration::ZERO,
            ..Pacing::default()
        },
    )?;
    let table = SheetsTable::new(std::sync::Arc::new(client), "Ledger", HeaderRow::Detect);
    let opts = SyncOptions {
        source: format!("sheets:{sheet}/Ledger"),
        import: tagada_sources::file::ImportOptions::default(),
        write_errors: true,
        timeline_base: "https://tagada.example.com".into(),
        time_zone: jiff::tz::TimeZone::get("Asia/Kolkata")?,
        max_delete_percent: 20,
        dry_run: false,
    };
    let now: jiff::Timestamp = "2026-12-07T05:00:00Z".parse()?;
    println!("ledger sync: {rows} sheet rows, {url}");
    let mut before = 0;
    for pass in [
        "first sync (import + write-back)",
        "second sync (no change)",
    ] {
        let started = std::time::Instant::now();
        let r = sync(store.as_ref(), &table, &opts, now).await?;
        let secs = started.elapsed().as_secs_f64();
        let requests = table.requests() - before;
        before = table.requests();
        println!(
            "  {pass}: {secs:.2} s, {requests} requests ({:.2} per 1,000 rows), \
             {} created, {} rows written, {} rejected",
            requests as f64 * 1000.0 / rows as f64,
            r.invoices_created,
            r.rows_written,
            r.rejected.len()
        );
    }
    Ok(())
}

async fn open_store_fresh(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store = open(url).await?;
    anyhow::ensure!(
        store
            .list_invoices(&tagada_store::InvoiceFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await?
            .is_empty(),
        "{url} is not empty; the benchmark needs a fresh database"
    );
    Ok(store)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Dispatch {
            messages,
            per_second,
            fake_limit,
            batch_size,
            concurrency,
            dir,
            database_url,
        } => {
            let mut dispatch = tagada_app::dispatch::DispatchConfig::default();
            dispatch.batch_size = batch_size.unwrap_or(dispatch.batch_size);
            dispatch.concurrency = concurrency.unwrap_or(dispatch.concurrency);
            bench_dispatch(
                messages,
                per_second,
                fake_limit,
                &dispatch,
                &dir,
                database_url,
            )
            .await
        }
        Cmd::Leads {
            leads,
            days,
            dir,
            database_url,
        } => bench_leads(leads, days, &dir, database_url).await,
        Cmd::Ledger {
            rows,
            dir,
            database_url,
        } => bench_ledger(rows, &dir, database_url).await,
        Cmd::Ingest {
            messages,
            batch,
            dir,
            database_url,
        } => bench_ingest(messages, batch, &dir, database_url).await,
        Cmd::Import {
            rows,
            dir,
            database_url,
            batch_size,
            bulk_min_rows,
        } => bench_import(rows, &dir, database_url, batch_size, bulk_min_rows).await,
        Cmd::Read { rows, dir } => bench_read(rows, &dir),
        Cmd::Plan {
            open,
            due,
            dir,
            database_url,
            repeat,
            per_buyer,
            paid_per_buyer,
        } => {
            let shape = LedgerShape {
                open,
                due,
                per_buyer,
                paid_per_buyer,
            };
            bench_plan(shape, &dir, database_url, repeat).await
        }
        Cmd::Report {
            open,
            due,
            dir,
            database_url,
            repeat,
        } => bench_report(open, due, &dir, database_url, repeat).await,
        Cmd::Overview {
            invoices,
            messages,
            dir,
            repeat,
            keep,
        } => overview::bench_overview(invoices, messages, &dir, repeat, keep).await,
    }
}
