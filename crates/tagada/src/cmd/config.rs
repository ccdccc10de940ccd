//! `tagada config print|check`.

use std::process::ExitCode;

use crate::ctx::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the effective configuration (secrets masked).
    Print {
        #[arg(long)]
        json: bool,
    },
    /// Validate the configuration and say which files were read.
    Check,
}

fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .filter(|v| !v.is_null())
                .map(without_nulls)
                .collect(),
        ),
        other => other,
    }
}

pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Print { json } => {
            let mut app = serde_json::to_value(&ctx.config.app)?;
            app["database"]["url"] =
                serde_json::Value::String(ctx.config.app.database.masked_url());
            let planner = serde_json::to_value(&ctx.config.planner)?;
            let mut merged = serde_json::Map::new();
            if let serde_json::Value::Object(m) = app {
                merged.extend(m);
            }
            if let serde_json::Value::Object(m) = planner {
                merged.extend(m);
            }
            let merged = serde_json::Value::Object(merged);
            if json {
                println!("{}", serde_json::to_string_pretty(&merged)?);
            } else {
                // TOML has no null: unset options are left out.
                println!("{}", toml::to_string_pretty(&without_nulls(merged))?);
            }
        }
        Command::Check => {
            // Loading already validated everything; report what was read.
            if ctx.config.sources.is_empty() {
                println!("configuration OK (built-in defaults; no tagada.toml found)");
            } else {
                let files: Vec<String> = ctx
                    .config
                    .sources
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                println!("configuration OK (defaults + {})", files.join(", "));
            }
            println!("database: {}", ctx.config.app.database.masked_url());
        }
    }
    Ok(ExitCode::SUCCESS)
}
