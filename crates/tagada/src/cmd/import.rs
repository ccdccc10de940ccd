//! `tagada import FILE...`: CSV and XLSX ledgers into the store.

use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use tagada_app::import::import_file;

use crate::ctx::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV or XLSX files exported from Tally, Busy, Zoho Books or a sheet.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Exit with code 4 when any row was rejected.
    #[arg(long)]
    strict: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let mut any_rejected = false;
    let mut reports = Vec::new();
    for path in &args.files {
        let bar = if args.quiet || args.json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {percent}% ({elapsed}, ~{eta} left)")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(path.display().to_string());
        let progress = |done: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(done);
        };
        let report = import_file(
            store.as_ref(),
            path,
            &ctx.config.app.import,
            ctx.clock.now(),
            &progress,
        )
        .await;
        bar.finish_and_clear();
        let report = report?;
        any_rejected |= report.rejected > 0;
        if !args.json {
            println!(
                "{}: {} row(s): {} new, {} updated, {} unchanged invoice(s); {} new buyer(s); {} rejected",
                report.file,
                report.rows,
                report.invoices_created,
                report.invoices_updated,
                report.invoices_unchanged,
                report.buyers_created,
                report.rejected
            );
            if report.skipped_summary_rows > 0 {
                println!(
                    "  skipped {} total/summary row(s)",
                    report.skipped_summary_rows
                );
            }
            for w in report.warnings.iter().take(20) {
                println!("  warning: {w}");
            }
            if report.warnings.len() > 20 {
                println!("  … {} more warning(s)", report.warnings.len() - 20);
            }
            if let Some(p) = &report.rejects_csv {
                println!(
                    "  rejected rows, with line, column and reason: {}",
                    p.display()
                );
            }
        }
        reports.push(report);
    }
    if args.json {
        crate::output::print_json(&reports)?;
    }
    if args.strict && any_rejected {
        return Ok(ExitCode::from(4));
    }
    Ok(ExitCode::SUCCESS)
}
