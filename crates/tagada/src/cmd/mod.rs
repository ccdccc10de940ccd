//! One module per command; each has `Args` (or `Command`) and `run`.

pub mod access;
pub mod buyers;
pub mod config;
pub mod demo;
pub mod fake;
pub mod import;
pub mod inbox;
pub mod init;
pub mod invoices;
pub mod ledger;
pub mod payments;
pub mod plan;
pub mod report;
pub mod run;
pub mod send;
pub mod serve;
pub mod show;
pub mod sync;
pub mod templates;

use std::process::ExitCode;

use crate::ctx::Ctx;

pub async fn migrate(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    // Opening the store applies pending migrations; say how many ran.
    let store = ctx.store().await?;
    let ran = store.migrate().await?;
    println!(
        "database {} is up to date ({ran} migration(s) applied now)",
        ctx.config.app.database.masked_url()
    );
    Ok(ExitCode::SUCCESS)
}

/// Parses a date given on the command line (`2026-12-15`).
pub fn parse_date(s: &str) -> Result<jiff::civil::Date, String> {
    s.parse::<jiff::civil::Date>()
        .map_err(|_| format!("`{s}` is not a date; use YYYY-MM-DD"))
}
