//! Configuration: the embedded `config/default.toml`, then the user's
//! `tagada.toml`, then `TAGADA_` environment variables (`__` for nesting),
//! then command-line flags. Validated once into typed values; an error names
//! the key.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tagada_core::cadence::PlannerConfig;
use tagada_core::{CountryCode, Currency};

use crate::dispatch::DispatchConfig;

/// `TAGADA_*` variables that are flags or test settings, not config keys.
const ENV_NOT_CONFIG: [&str; 7] = [
    "TEST_DATABASE_URL",
    "DATABASE_URL",
    "CONFIG",
    "NOW",
    "LOG",
    "PASSWORD",
    "REQUIRE_BROWSER",
];

/// The embedded defaults, every key commented.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Where the ledger lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://tagada.db`, `sqlite::memory:` or `postgres://user@host/db`.
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://tagada.db".into(),
            max_connections: 5,
        }
    }
}

impl DatabaseConfig {
    /// The URL with any password replaced by `***`, for printing.
    pub fn masked_url(&self) -> String {
        mask_url_password(&self.url)
    }
}

/// Hides the password part of `scheme://user:password@host/...`.
pub fn mask_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}://{}:***{}",
            &url[..scheme_end],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrderSetting {
    DayFirst,
    MonthFirst,
}

/// File imports (`[import]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    pub default_currency: Currency,
    pub default_country: CountryCode,
    pub date_order: DateOrderSetting,
    pub default_credit_days: i32,
    /// Where rejects CSVs are written (`<file>.rejects.csv`); empty = beside the input.
    pub rejects_dir: Option<PathBuf>,
    /// Rows per store transaction.
    pub batch_size: usize,
    /// Files of at least this many rows (estimated from the first rows and
    /// the file's size) are loaded in bulk mode when the ledger holds at
    /// most a quarter as many invoices as the file: the store sets its
    /// secondary invoice indexes aside while loading and builds them once
    /// at the end. 0 turns bulk mode off.
    pub bulk_min_rows: u64,
    /// Explicit column mapping: field name → header text in the file.
    pub mapping: std::collections::BTreeMap<String, String>,
    /// Which sheet of a workbook to read; the first when unset.
    pub sheet: Option<String>,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            default_currency: Currency::INR,
            default_country: CountryCode::india(),
            date_order: DateOrderSetting::DayFirst,
            default_credit_days: 30,
            rejects_dir: None,
            batch_size: 2000,
            bulk_min_rows: 20_000,
            mapping: Default::default(),
            sheet: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info,tagada_app=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

/// `[http]`: where `tagada serve` listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port (`127.0.0.1:8080`; `0.0.0.0:8080` to accept from
    /// other machines, e.g. behind a TLS proxy).
    pub bind: String,
    /// Largest webhook body accepted, in bytes (Meta batches up to 1,000
    /// updates in one POST).
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The sections tagada's own plumbing reads; the planner's sections
/// (calendar, cadences, segments, templates...) are read into [`PlannerConfig`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSections {
    pub database: DatabaseConfig,
    pub import: ImportConfig,
    pub dispatch: DispatchConfig,
    pub whatsapp: crate::whatsapp::WhatsAppConfig,
    pub inbound: crate::inbound::InboundConfig,
    pub http: HttpConfig,
    pub indiamart: crate::leads::IndiaMartConfig,
    pub tradeindia: crate::leads::TradeIndiaConfig,
    pub payments: crate::payments::PaymentsConfig,
    pub ledger: crate::ledger_sync::LedgerConfig,
    pub log: LogConfig,
}

/// The file's shape: tagada's own sections, and at the top level everything
/// the planner reads (which rejects keys it does not know, so a typo fails).
#[derive(Debug, Deserialize)]
struct Everything {
    #[serde(flatten)]
    app: AppSections,
    #[serde(flatten)]
    planner: PlannerConfig,
}

/// Every top-level key tagada reads. Flattened sections do not reject
/// unknown keys by themselves, so a typo is caught here.
fn known_top_level_keys() -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    for value in [
        serde_json::to_value(AppSections::default()),
        serde_json::to_value(PlannerConfig::default()),
    ]
    .into_iter()
    .flatten()
    {
        if let serde_json::Value::Object(map) = value {
            keys.extend(map.keys().cloned());
        }
    }
    keys
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub app: AppSections,
    pub planner: PlannerConfig,
    /// The files that were read, in order.
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
}

/// Flags that override everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Loads defaults, then `file` (or `./tagada.toml` when present), then
    /// the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(file, overrides, true)
    }

    /// As [`Config::load`]; `use_env = false` ignores `TAGADA_*` (tests).
    pub fn load_with_env(
        file: Option<&Path>,
        overrides: &Overrides,
        use_env: bool,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        let mut sources = Vec::new();
        let path = match file {
            Some(p) => {
                if !p.exists() {
                    return Err(ConfigError::File {
                        path: p.to_path_buf(),
                        message: "no such file".into(),
                    });
                }
                Some(p.to_path_buf())
            }
            None => Some(PathBuf::from("tagada.toml")).filter(|p| p.exists()),
        };
        if let Some(p) = &path {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::File {
                path: p.clone(),
                message: e.to_string(),
            })?;
            // Parse once here so a syntax error names the file and line.
            toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::File {
                path: p.clone(),
                message: e.to_string(),
            })?;
            figment = figment.merge(Toml::string(&text));
            sources.push(p.clone());
        }
        if use_env {
            figment = figment.merge(Env::prefixed("TAGADA_").ignore(&ENV_NOT_CONFIG).split("__"));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        let keys: std::collections::BTreeMap<String, serde::de::IgnoredAny> = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(&e)))?;
        let known = known_top_level_keys();
        let unknown: Vec<&String> = keys
            .keys()
            .filter(|k| !known.contains(k.as_str()))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(|k| format!("`{k}`")).collect();
            return Err(ConfigError::Invalid(format!(
                "unknown key(s) {}",
                list.join(", ")
            )));
        }
        let all: Everything = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(&e)))?;
        let cfg = Config {
            app: all.app,
            planner: all.planner,
            sources,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.app.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "database.url: `{}` is neither a sqlite: nor a postgres:// URL",
                self.app.database.masked_url()
            )));
        }
        if self.app.dispatch.batch_size == 0 {
            return Err(ConfigError::Invalid(
                "dispatch.batch_size: must be at least 1".into(),
            ));
        }
        if self.app.dispatch.backoff.is_empty() {
            return Err(ConfigError::Invalid(
                "dispatch.backoff: needs at least one delay".into(),
            ));
        }
        let whatsapp = self.app.whatsapp.problems();
        if !whatsapp.is_empty() {
            return Err(ConfigError::Invalid(whatsapp.join("; ")));
        }
        if self.app.import.batch_size == 0 {
            return Err(ConfigError::Invalid(
                "import.batch_size: must be at least 1".into(),
            ));
        }
        self.planner.validate().map_err(|issues| {
            ConfigError::Invalid(
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        self.app
            .payments
            .validate(&self.planner.seller.company)
            .map_err(ConfigError::Invalid)?;
        Ok(())
    }
}

/// A figment error with the key path in front.
fn describe(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|err| {
            let path = err.path.join(".");
            if path.is_empty() {
                err.kind.to_string()
            } else {
                format!("{path}: {}", err.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() {
        let cfg = Config::load_with_env(None, &Overrides::default(), false).unwrap();
        assert_eq!(cfg.app.database.url, "sqlite://tagada.db");
        assert_eq!(cfg.app.dispatch.batch_size, 50);
        assert_eq!(cfg.planner.home_time_zone, "Asia/Kolkata");
    }

    #[test]
    fn a_file_overrides_defaults_and_typos_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tagada.toml");
        std::fs::write(&p, "[dispatch]\nbatch_size = 7\n").unwrap();
        let cfg = Config::load_with_env(Some(&p), &Overrides::default(), false).unwrap();
        assert_eq!(cfg.app.dispatch.batch_size, 7);

        std::fs::write(&p, "[dispatch]\nbatch_sise = 7\n").unwrap();
        let err = Config::load_with_env(Some(&p), &Overrides::default(), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("batch_sise"), "{err}");

        std::fs::write(&p, "home_time_zon = \"Asia/Dubai\"\n").unwrap();
        let err = Config::load_with_env(Some(&p), &Overrides::default(), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("home_time_zon"), "{err}");

        std::fs::write(&p, "[database]\nurl = \"mysql://x\"\n").unwrap();
        let err = Config::load_with_env(Some(&p), &Overrides::default(), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn flags_override_files() {
        let o = Overrides {
            database_url: Some("postgres://u:pw@h/db".into()),
        };
        let cfg = Config::load_with_env(None, &o, false).unwrap();
        assert_eq!(cfg.app.database.url, "postgres://u:pw@h/db");
        assert_eq!(cfg.app.database.masked_url(), "postgres://u:***@h/db");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url_password("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(mask_url_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            mask_url_password("sqlite://tagada.db"),
            "sqlite://tagada.db"
        );
    }
}
