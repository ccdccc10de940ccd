//! `tagada`: the command-line interface. Parses arguments, loads the
//! configuration, picks the storage backend, and calls the use cases in
//! `tagada-app`. Exit codes: 0 success, 1 failure, 2 bad usage, 3 invalid
//! configuration, 4 finished with problems a person must look at (rejected
//! import rows with `--strict`, sending halted by refused credentials).

mod cmd;
mod ctx;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Collect payments faster: reminders to buyers on WhatsApp, on a cadence,
/// from one ledger.
#[derive(Debug, Parser)]
#[command(name = "tagada", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./tagada.toml when present).
    #[arg(long, global = true, env = "TAGADA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: sqlite://tagada.db or postgres://user@host/db (overrides the config).
    #[arg(long, global = true, env = "TAGADA_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Run as if it were this instant (RFC 3339); for rehearsals and tests.
    #[arg(
        long,
        global = true,
        env = "TAGADA_NOW",
        value_name = "INSTANT",
        hide = true
    )]
    now: Option<jiff::Timestamp>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented tagada.toml to start from.
    Init(cmd::init::Args),
    /// Run a 30-day simulation on a sample exporter's ledger.
    Demo(cmd::demo::Args),
    /// Import buyers and invoices from CSV or XLSX files.
    Import(cmd::import::Args),
    /// Show what would be sent, when, and why not for the rest (nothing is queued).
    Plan(cmd::plan::Args),
    /// Plan, enqueue and send what is due now.
    Send(cmd::send::Args),
    /// Plan and send on a loop until stopped (Ctrl-C).
    Run(cmd::run::Args),
    /// Serve the WhatsApp webhook and health endpoints, act on replies, and
    /// plan and send like `run`, until stopped (Ctrl-C).
    Serve(cmd::serve::Args),
    /// Collection figures: outstanding, ageing, DSO, CEI, days to pay and the
    /// reminder funnel, for a period, by template, step, segment, rep, country or month.
    Report(cmd::report::Args),
    /// The timeline of an invoice or a buyer.
    Show(cmd::show::Args),
    /// List and act on invoices.
    #[command(subcommand)]
    Invoices(cmd::invoices::Command),
    /// Payments: record money received, import bank statements, poll gateway links.
    #[command(subcommand)]
    Payments(cmd::payments::Command),
    /// API tokens for the JSON API (hashed at rest).
    #[command(subcommand)]
    Tokens(cmd::access::TokensCommand),
    /// Dashboard users (argon2 passwords).
    #[command(subcommand)]
    Users(cmd::access::UsersCommand),
    /// Buyers' replies, and those waiting for a person.
    #[command(subcommand)]
    Inbox(cmd::inbox::Command),
    /// List and act on buyers.
    #[command(subcommand)]
    Buyers(cmd::buyers::Command),
    /// Print or check the configuration.
    #[command(subcommand)]
    Config(cmd::config::Command),
    /// Check the WhatsApp templates the configuration sends against the account.
    #[command(subcommand)]
    Templates(cmd::templates::Command),
    /// Pull leads from IndiaMART and TradeIndia into the ledger (one call
    /// per source within its budget; --backfill and --wait keep going).
    Sync(cmd::sync::Args),
    /// The Google Sheet or Airtable table the team keeps: connect, sync both
    /// ways (--dry-run shows the changes first), status.
    #[command(subcommand)]
    Ledger(cmd::ledger::Command),
    /// Apply pending database migrations.
    Migrate,
    /// Run a loopback fake of an external API, for trying tagada without accounts.
    #[command(subcommand)]
    Fake(cmd::fake::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<tagada_app::config::ConfigError>()
                .is_some()
            {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = tagada_app::config::Overrides {
        database_url: cli.database_url.clone(),
    };
    if let Command::Init(args) = &cli.command {
        return cmd::init::run(args);
    }
    if let Command::Demo(args) = &cli.command {
        return cmd::demo::run(args, cli.config.as_deref(), &overrides).await;
    }
    let mut ctx = ctx::Ctx::load(cli.config.as_deref(), &overrides)?;
    if let Some(now) = cli.now {
        ctx.clock = std::sync::Arc::new(tagada_core::clock::FixedClock(now));
    }
    match cli.command {
        Command::Init(_) | Command::Demo(_) => unreachable!("handled above"),
        Command::Import(args) => cmd::import::run(args, &ctx).await,
        Command::Plan(args) => cmd::plan::run(args, &ctx).await,
        Command::Send(args) => cmd::send::run(args, &ctx).await,
        Command::Run(args) => cmd::run::run(args, &ctx).await,
        Command::Serve(args) => cmd::serve::run(args, &ctx).await,
        Command::Show(args) => cmd::show::run(args, &ctx).await,
        Command::Report(args) => cmd::report::run(args, &ctx).await,
        Command::Invoices(c) => cmd::invoices::run(c, &ctx).await,
        Command::Payments(c) => cmd::payments::run(c, &ctx).await,
        Command::Tokens(c) => cmd::access::tokens(c, &ctx).await,
        Command::Users(c) => cmd::access::users(c, &ctx).await,
        Command::Buyers(c) => cmd::buyers::run(c, &ctx).await,
        Command::Inbox(c) => cmd::inbox::run(c, &ctx).await,
        Command::Config(c) => cmd::config::run(c, &ctx),
        Command::Templates(c) => cmd::templates::run(c, &ctx).await,
        Command::Sync(args) => cmd::sync::run(args, &ctx).await,
        Command::Ledger(c) => cmd::ledger::run(c, &ctx).await,
        Command::Migrate => cmd::migrate(&ctx).await,
        Command::Fake(c) => cmd::fake::run(c, &ctx).await,
    }
}
