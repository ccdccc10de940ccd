//! `tagada ledger ...`: the Google Sheet or Airtable table the team keeps,
//! synced both ways with the store.

use std::process::ExitCode;

use anyhow::Context as _;
use tagada_app::ledger_sync::{self, LedgerConfig, LedgerKind, SyncReport};

use crate::ctx::Ctx;
use crate::output::{local, print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check access to a table and its header mapping, and show what a sync
    /// would read (nothing is written anywhere).
    Connect {
        #[command(subcommand)]
        service: Service,
    },
    /// Sync the configured table both ways.
    Sync {
        /// Show the changes in both directions without making them.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The table's last sync runs.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum Service {
    /// A Google Sheet tab, read as a service account the sheet is shared with.
    Sheets {
        /// The id in the sheet's address (`/spreadsheets/d/<id>/edit`);
        /// default: `ledger.sheets.spreadsheet_id`.
        #[arg(long)]
        spreadsheet: Option<String>,
        /// The tab; default: `ledger.sheets.tab`.
        #[arg(long)]
        tab: Option<String>,
        /// The service account's JSON key; default: `ledger.sheets.key_file`.
        #[arg(long)]
        key_file: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// An Airtable table; the token comes from TAGADA_LEDGER__AIRTABLE__TOKEN.
    Airtable {
        /// `app...`; default: `ledger.airtable.base_id`.
        #[arg(long)]
        base: Option<String>,
        /// Name or `tbl...` id; default: `ledger.airtable.table`.
        #[arg(long)]
        table: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Connect { service } => connect(service, ctx).await,
        Command::Sync { dry_run, json } => sync(ctx, dry_run, json).await,
        Command::Status { json } => status(ctx, json).await,
    }
}

/// The number column's header as configured, for Airtable's merge field.
fn number_field(ctx: &Ctx) -> String {
    ctx.config
        .app
        .import
        .mapping
        .get("invoice_number")
        .cloned()
        .unwrap_or_else(|| "Invoice No".into())
}

async fn connect(service: Service, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let mut cfg: LedgerConfig = ctx.config.app.ledger.clone();
    let json = match service {
        Service::Sheets {
            spreadsheet,
            tab,
            key_file,
            json,
        } => {
            cfg.kind = LedgerKind::Sheets;
            if let Some(s) = spreadsheet {
                cfg.sheets.spreadsheet_id = s;
            }
            if let Some(t) = tab {
                cfg.sheets.tab = t;
            }
            if let Some(k) = key_file {
                cfg.sheets.key_file = k;
            }
            json
        }
        Service::Airtable { base, table, json } => {
            cfg.kind = LedgerKind::Airtable;
            if let Some(b) = base {
                cfg.airtable.base_id = b;
            }
            if let Some(t) = table {
                cfg.airtable.table = t;
            }
            json
        }
    };
    let import = tagada_app::import::options(&ctx.config.app.import)?;
    let opened = cfg
        .open(&number_field(ctx), ctx.clock.clone())
        .map_err(anyhow::Error::msg)?;
    let preview = ledger_sync::preview(opened.table.as_ref(), &import, cfg.write_errors)
        .await
        .context("reading the table")?;
    if json {
        print_json(&preview)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}: readable", preview.table);
    println!("header: {}", preview.headers.join(" | "));
    let mut t = table(&["field", "column"]);
    for (f, h) in &preview.mapping {
        t.add_row(vec![f.clone(), h.clone()]);
    }
    println!("{t}");
    println!(
        "{} rows: {} would be synced, {} cannot be used",
        preview.rows,
        preview.usable,
        preview.rejected.len()
    );
    for r in preview.rejected.iter().take(20) {
        println!(
            "  row {}{}: {}",
            r.line,
            r.column
                .as_ref()
                .map(|c| format!(", column `{c}`"))
                .unwrap_or_default(),
            r.reason
        );
    }
    if !preview.columns_to_add.is_empty() {
        match cfg.kind {
            LedgerKind::Airtable => println!(
                "create these fields in the table (single line text) before the first sync: {}",
                preview.columns_to_add.join(", ")
            ),
            _ => println!(
                "the first sync adds these columns to the header: {}",
                preview.columns_to_add.join(", ")
            ),
        }
    }
    println!("({} requests)", preview.requests);
    println!("\nTo keep it synced, put this in tagada.toml:\n");
    match cfg.kind {
        LedgerKind::Sheets => println!(
            "[ledger]\nkind = \"sheets\"\n\n[ledger.sheets]\nspreadsheet_id = \"{}\"\ntab = \"{}\"\nkey_file = \"{}\"",
            cfg.sheets.spreadsheet_id, cfg.sheets.tab, cfg.sheets.key_file
        ),
        _ => println!(
            "[ledger]\nkind = \"airtable\"\n\n[ledger.airtable]\nbase_id = \"{}\"\ntable = \"{}\"\n# token: TAGADA_LEDGER__AIRTABLE__TOKEN",
            cfg.airtable.base_id, cfg.airtable.table
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// One sync of the configured table, and the leads tab's append.
pub async fn sync_once(
    ctx: &Ctx,
    store: &dyn tagada_store::Store,
    dry_run: bool,
) -> anyhow::Result<(SyncReport, usize)> {
    let cfg = &ctx.config.app.ledger;
    let import = tagada_app::import::options(&ctx.config.app.import)?;
    let opts = cfg.options(&import, &ctx.config.planner, dry_run).context(
        "no ledger table is configured: set [ledger] kind (see `tagada ledger connect`)",
    )?;
    let opened = cfg
        .open(&number_field(ctx), ctx.clock.clone())
        .map_err(anyhow::Error::msg)?;
    let report = ledger_sync::sync(store, opened.table.as_ref(), &opts, ctx.clock.now()).await?;
    let leads = match (&opened.leads, dry_run) {
        (Some(tab), false) => {
            ledger_sync::append_leads(store, tab, &opts.source, &opts.time_zone, ctx.clock.now())
                .await?
        }
        _ => 0,
    };
    Ok((report, leads))
}

async fn sync(ctx: &Ctx, dry_run: bool, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let (report, leads) = sync_once(ctx, store.as_ref(), dry_run).await?;
    if json {
        print_json(&serde_json::json!({ "sync": report, "leads_appended": leads }))?;
    } else {
        print_report(&report);
        if leads > 0 {
            println!("{leads} new leads appended to the leads tab");
        }
    }
    Ok(if report.write_failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_report(r: &SyncReport) {
    let verb = if r.dry_run { "would" } else { "did" };
    println!(
        "{}: {} rows read{}",
        r.table,
        r.rows_read,
        if r.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    println!("\ntable → tagada ({verb}):");
    if r.inbound.is_empty() && r.deleted.is_empty() && r.restored.is_empty() {
        println!("  nothing");
    }
    for line in r.inbound.iter().take(50) {
        println!("  {line}");
    }
    if r.inbound.len() > 50 {
        println!("  ... and {} more", r.inbound.len() - 50);
    }
    for d in &r.deleted {
        println!("  row deleted: {d} (reminders stopped, history kept)");
    }
    for d in &r.restored {
        println!("  row back: {d} (reminders resume)");
    }
    println!("\ntagada → table ({verb}):");
    if !r.columns_added.is_empty() {
        println!("  columns added: {}", r.columns_added.join(", "));
    }
    if r.cell_changes == 0 {
        println!("  nothing");
    }
    for c in r.changes.iter().take(50) {
        println!(
            "  row {} ({}): {}: `{}` → `{}`",
            c.line
                .map(|l| l.to_string())
                .unwrap_or_else(|| "new".into()),
            c.number,
            c.column,
            c.from,
            c.to
        );
    }
    if r.cell_changes as usize > r.changes.len().min(50) {
        println!("  ... {} cell changes in all", r.cell_changes);
    }
    if !r.conflicts.is_empty() {
        println!("\nconflicts (resolved by the rules, noted on the invoices):");
        for c in &r.conflicts {
            println!("  {c}");
        }
    }
    if !r.rejected.is_empty() {
        println!("\nrows that cannot be used:");
        for e in r.rejected.iter().take(50) {
            println!(
                "  row {}{}: {}",
                e.line,
                e.column
                    .as_ref()
                    .map(|c| format!(", column `{c}`"))
                    .unwrap_or_default(),
                e.reason
            );
        }
    }
    for f in &r.write_failures {
        println!("write refused: {}: {}", f.line, f.reason);
    }
    println!(
        "\n{} created, {} updated, {} rows written, {} requests",
        r.invoices_created, r.invoices_updated, r.rows_written, r.requests
    );
}

async fn status(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let source = ctx.config.app.ledger.source();
    let runs = store.list_ledger_runs(source.as_deref(), 20).await?;
    if json {
        print_json(&runs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("no ledger sync has run yet");
        return Ok(ExitCode::SUCCESS);
    }
    let zone = ctx.config.planner.home_zone_name();
    let mut t = table(&[
        "run",
        "table",
        "started",
        "outcome",
        "read",
        "rejected",
        "created",
        "updated",
        "deleted",
        "written",
        "conflicts",
        "requests",
        "error",
    ]);
    for r in &runs {
        let run = &r.run;
        t.add_row(vec![
            r.id.to_string(),
            run.source.clone(),
            local(run.started_at, zone),
            run.outcome.clone(),
            run.rows_read.to_string(),
            run.rows_rejected.to_string(),
            run.invoices_created.to_string(),
            run.invoices_updated.to_string(),
            run.rows_deleted.to_string(),
            run.rows_written.to_string(),
            run.conflicts.to_string(),
            run.requests.to_string(),
            run.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}
