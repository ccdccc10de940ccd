//! `tagada templates check`: the WhatsApp templates the config sends,
//! compared with the business account's; `tagada templates expected`: what
//! each must look like once approved.

use std::process::ExitCode;

use anyhow::Context;
use tagada_app::templates::check_and_record;

use crate::ctx::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fetch the account's templates and check every one the config sends:
    /// exists in its language, APPROVED, takes the parameters sent.
    /// Exits 1 when a template would be refused.
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Print, as JSON in the shape Meta lists templates, every template the
    /// config sends as it must be approved: name, language, category, a
    /// DOCUMENT header if configured, the body's parameters and the buttons
    /// in order. No network.
    Expected,
}

pub async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let json = match cmd {
        Command::Check { json } => json,
        Command::Expected => {
            let mut seen = std::collections::BTreeSet::new();
            let expected: Vec<serde_json::Value> = ctx
                .config
                .planner
                .templates
                .iter()
                .filter(|t| seen.insert((t.whatsapp_name.clone(), t.whatsapp_language.clone())))
                .map(tagada_app::templates::expected_template)
                .collect();
            crate::output::print_json(&expected)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let wa = &ctx.config.app.whatsapp;
    let client = wa
        .client()
        .context("the [whatsapp] section is needed to read the account's templates")?;
    let store = ctx.store().await?;
    let report = check_and_record(
        store.as_ref(),
        &ctx.config.planner,
        &client,
        ctx.clock.now(),
    )
    .await
    .context("reading the WhatsApp account's templates")?;
    if json {
        crate::output::print_json(&report)?;
    } else {
        let mut table = crate::output::table(&[
            "template", "language", "status", "category", "params", "verdict",
        ]);
        for t in &report.templates {
            let verdict = if t.problems.is_empty() {
                if t.warnings.is_empty() {
                    "ok".to_string()
                } else {
                    format!("ok, but {}", t.warnings.join("; "))
                }
            } else {
                t.problems.join("; ")
            };
            table.add_row(vec![
                t.whatsapp_name.clone(),
                t.language.clone(),
                t.status.clone(),
                t.category.clone().unwrap_or_default(),
                t.params.to_string(),
                verdict,
            ]);
        }
        println!("{table}");
        let bad = report
            .templates
            .iter()
            .filter(|t| !t.problems.is_empty())
            .count();
        if bad == 0 {
            println!(
                "all {} template(s) the configuration sends are ready",
                report.templates.len()
            );
        } else {
            println!(
                "{bad} of {} template(s) would be refused; `send` and `run` will not send until they are fixed",
                report.templates.len()
            );
        }
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
