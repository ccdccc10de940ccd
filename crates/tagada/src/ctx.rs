//! What every command gets: the loaded configuration, the clock, and the
//! store chosen by the database URL.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tagada_app::clock::SystemClock;
use tagada_app::config::{Config, DatabaseConfig, LogFormat, Overrides};
use tagada_core::clock::Clock;
use tagada_store::Store;

#[derive(Debug)]
pub struct Ctx {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
}

impl Ctx {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Ctx> {
        let config = Config::load(file, overrides)?;
        init_logging(&config);
        Ok(Ctx {
            config,
            clock: Arc::new(SystemClock),
        })
    }

    /// Opens (and migrates) the configured store.
    pub async fn store(&self) -> anyhow::Result<Arc<dyn Store>> {
        open_store(&self.config.app.database).await
    }

    /// The channel reminders leave by: the WhatsApp Cloud API when
    /// `whatsapp.enabled`, else the terminal. Refuses the Cloud API while a
    /// template the config sends is missing, unapproved or takes other
    /// parameters (as `tagada templates check` shows).
    pub async fn channel(
        &self,
        store: &dyn Store,
    ) -> anyhow::Result<Box<dyn tagada_app::channel::Channel>> {
        let wa = &self.config.app.whatsapp;
        if wa.enabled {
            let client = wa.client().context("setting up the WhatsApp channel")?;
            let check = tagada_app::templates::check_and_record(
                store,
                &self.config.planner,
                &client,
                self.clock.now(),
            )
            .await
            .context("checking the WhatsApp templates before sending")?;
            for w in check.warnings() {
                tracing::warn!("template {w}");
            }
            if !check.is_ok() {
                anyhow::bail!(
                    "not sending: the WhatsApp account would refuse these templates (see `tagada templates check`):\n  {}",
                    check.problems().join("\n  ")
                );
            }
            // The number's throughput, per-recipient spacing and messaging limit as configured
            // (`WhatsAppChannel::new` would use Meta's defaults whatever the file says).
            Ok(Box::new(
                tagada_app::whatsapp::WhatsAppChannel::with_limits(
                    client,
                    tagada_app::whatsapp::SendLimits::from_config(wa),
                )
                .with_recipient_limit(wa.messaging_limit),
            ))
        } else {
            Ok(Box::new(tagada_app::channel::TerminalChannel::stdout()))
        }
    }
}

impl Ctx {
    /// What the pay pages and gateway webhooks of `tagada serve` need.
    pub fn ledger_http(&self) -> tagada_http::LedgerHttp {
        let app = &self.config.app;
        tagada_http::LedgerHttp {
            cfg: Arc::new(app.payments.clone()),
            planner: Arc::new(self.config.planner.clone()),
            gateways: tagada_app::payments::Gateways::from_config(&app.payments),
            home_country: app.import.default_country.clone(),
            messaging_limit: app.whatsapp.messaging_limit,
            template_check_minutes: app.whatsapp.template_check_minutes,
            preview: Default::default(),
        }
    }

    /// The payment use cases over `store` and `gateways`.
    pub fn pay_context<'a>(
        &'a self,
        store: &'a dyn Store,
        gateways: &'a tagada_app::payments::Gateways,
    ) -> tagada_app::payments::PayContext<'a> {
        tagada_app::payments::PayContext {
            store,
            gateways,
            cfg: &self.config.app.payments,
            planner: &self.config.planner,
            clock: self.clock.as_ref(),
            home_country: &self.config.app.import.default_country,
        }
    }
}

/// Opens the backend the URL names and brings its schema up to date.
pub async fn open_store(db: &DatabaseConfig) -> anyhow::Result<Arc<dyn Store>> {
    let url = db.url.as_str();
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(
            tagada_store_sqlite::SqliteStore::open(url)
                .await
                .with_context(|| format!("opening {}", db.masked_url()))?,
        )
    } else {
        Arc::new(
            tagada_store_postgres::PostgresStore::connect_pooled(url, db.max_connections)
                .await
                .with_context(|| format!("connecting to {}", db.masked_url()))?,
        )
    };
    store
        .migrate()
        .await
        .context("applying database migrations")?;
    Ok(store)
}

/// Logs go to stderr: pretty for people, JSON for collectors.
pub fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TAGADA_LOG")
        .unwrap_or_else(|_| EnvFilter::new(&config.app.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.app.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}
