//! `tagada init`: write a commented `tagada.toml`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write it.
    #[arg(default_value = "tagada.toml")]
    path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// The defaults with every setting commented out, so the file documents
/// itself and changes only what the user uncomments.
pub fn commented_defaults() -> String {
    let mut out = String::from(
        "# tagada.toml — your settings. Every line below shows a default; uncomment\n\
         # and edit what you want to change. `tagada config check` validates it,\n\
         # `tagada config print` shows the result with defaults and environment applied.\n\n",
    );
    for line in tagada_app::config::DEFAULT_TOML.lines() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(line);
        } else {
            out.push_str("# ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.path.exists() && !args.force {
        bail!(
            "{} already exists; use --force to overwrite it",
            args.path.display()
        );
    }
    std::fs::write(&args.path, commented_defaults())?;
    println!(
        "wrote {}; edit it, then run `tagada config check`",
        args.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commented_defaults_parse_to_an_empty_table() {
        let text = commented_defaults();
        let table: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert!(
            table.is_empty(),
            "every setting is commented out: {table:?}"
        );
        assert!(text.contains("# url = \"sqlite://tagada.db\""));
    }
}
