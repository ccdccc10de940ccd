//! `tagada demo`: a sample exporter's ledger run for 30 simulated days.

use std::path::Path;
use std::process::ExitCode;

use tagada_app::config::{Config, Overrides};
use tagada_app::demo::{DemoOptions, run_demo};

use crate::ctx::{init_logging, open_store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// First simulated day.
    #[arg(long, default_value = "2026-12-01", value_parser = super::parse_date)]
    start: jiff::civil::Date,
    /// Print every message body.
    #[arg(short, long)]
    verbose: bool,
    /// Print the summary as JSON after the run.
    #[arg(long)]
    json: bool,
}

/// The demo's own database unless one is given: recreated on every run.
const DEMO_DB: &str = "tagada-demo.db";

pub async fn run(
    args: &Args,
    config_file: Option<&Path>,
    overrides: &Overrides,
) -> anyhow::Result<ExitCode> {
    let mut overrides = overrides.clone();
    if overrides.database_url.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let p = format!("{DEMO_DB}{suffix}");
            if Path::new(&p).exists() {
                std::fs::remove_file(&p)?;
            }
        }
        overrides.database_url = Some(format!("sqlite://{DEMO_DB}"));
    }
    let config = Config::load(config_file, &overrides)?;
    init_logging(&config);
    let store = open_store(&config.app.database).await?;
    if !store.list_invoices(&Default::default()).await?.is_empty() {
        anyhow::bail!(
            "{} already holds invoices; the demo needs an empty database (omit --database-url to use {DEMO_DB})",
            config.app.database.masked_url()
        );
    }
    let opts = DemoOptions {
        days: args.days,
        start: args.start,
        verbose: args.verbose,
    };
    let mut out = std::io::stdout();
    let summary = run_demo(store.as_ref(), &config.planner, &opts, &mut out).await?;
    if args.json {
        crate::output::print_json(&summary)?;
    }
    println!(
        "\nThe demo ledger is in {}: try `tagada --database-url {} show INV-1003` or `... plan`.",
        config.app.database.masked_url(),
        config.app.database.masked_url()
    );
    Ok(ExitCode::SUCCESS)
}
