//! `tagada demo`: a sample exporter's ledger run for 30 simulated days,
//! every message sent through the real WhatsApp client to a local fake of
//! the Cloud API, whose signed webhooks come back to tagada's own endpoint.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use jiff::Timestamp;
use tagada_app::channel::Channel;
use tagada_app::clock::SimClock;
use tagada_app::config::{Config, Overrides};
use tagada_app::demo::{DEMO_INVOICE_URL, DemoOptions, DemoWhatsApp, run_demo};
use tagada_app::whatsapp::{Secret, WhatsAppChannel, WhatsAppConfig};
use tagada_core::Phone;
use tagada_core::cadence::PlannerConfig;
use tagada_fakes::meta::{MetaFake, MetaFakeConfig, WebhookBehaviour, WebhookKind};
use tagada_http::{HttpState, WhatsAppHooks};
use tagada_store::Store;

use crate::ctx::{init_logging, open_store};

mod ledger;

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
    /// Keep the open orders in a local fake of Google Sheets or Airtable
    /// instead of loading them into tagada: the sheet is synced once a
    /// simulated day, and the accountant works in it.
    #[arg(long, value_enum, default_value_t = ledger::LedgerChoice::None)]
    ledger: ledger::LedgerChoice,
}

/// The demo's own database unless one is given: recreated on every run.
const DEMO_DB: &str = "tagada-demo.db";

/// The token of the webhook handshake (Meta's GET); the fake does not make one.
const VERIFY_TOKEN: &str = "tagada-demo";

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
    let mut config = Config::load(config_file, &overrides)?;
    // The demo prints its own account of what happens (the alerts the inbox
    // raises included); TAGADA_LOG still turns logs on.
    config.app.log.level = "error".into();
    init_logging(&config);
    let store = open_store(&config.app.database).await?;
    if !store.list_invoices(&Default::default()).await?.is_empty() {
        anyhow::bail!(
            "{} already holds invoices; the demo needs an empty database (omit --database-url to use {DEMO_DB})",
            config.app.database.masked_url()
        );
    }
    let mut inbound = config.app.inbound.clone();
    if inbound.invoice_document_url.trim().is_empty() {
        inbound.invoice_document_url = DEMO_INVOICE_URL.into();
    }
    let opts = DemoOptions {
        days: args.days,
        start: args.start,
        verbose: args.verbose,
        inbound,
    };
    let clock = SimClock::new(Timestamp::UNIX_EPOCH);
    // tagada's own endpoint: webhooks, and the pay pages reminders link to
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listening on a loopback port for the demo's webhooks")?;
    let base = format!("http://{}", listener.local_addr()?);
    config.planner.seller.payment_link_base_url = base.clone();
    let payments = LocalPayments::start(&base, &config).await?;
    let whatsapp = LocalWhatsApp::start(
        store.clone(),
        clock.clone(),
        &config.planner,
        listener,
        payments.http(&config),
    )
    .await?;
    let leads = LocalLeads::start(&opts, &config.planner).await?;
    let table = ledger::LocalLedger::start(args.ledger, &mut config, &clock).await?;
    let mut out = std::io::stdout();
    let summary = run_demo(
        store.as_ref(),
        &config.planner,
        &opts,
        &clock,
        tagada_app::demo::DemoWorld {
            whatsapp: &whatsapp,
            leads: Some(&leads),
            payments: Some(&payments),
            ledger: table
                .as_ref()
                .map(|t| t as &dyn tagada_app::demo::DemoLedger),
        },
        &mut out,
    )
    .await?;
    let figures = whatsapp.figures();
    whatsapp.stop().await;
    payments.stop().await;
    leads.stop().await;
    if let Some(t) = table {
        t.stop().await;
    }
    if args.json {
        crate::output::print_json(&DemoJson {
            summary: &summary,
            whatsapp: figures,
        })?;
    }
    println!(
        "\nThe demo ledger is in {}: try `tagada --database-url {} show INV-1003`, `... inbox list --all` or `... plan`.",
        config.app.database.masked_url(),
        config.app.database.masked_url()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--json`: the summary, and the wire as the fake saw it.
#[derive(Debug, serde::Serialize)]
struct DemoJson<'a> {
    #[serde(flatten)]
    summary: &'a tagada_app::demo::DemoSummary,
    whatsapp: WireFigures,
}

/// What went over the wire, from the fake's side.
#[derive(Debug, Clone, serde::Serialize)]
struct WireFigures {
    /// The fake Cloud API's address.
    api: String,
    /// tagada's webhook endpoint.
    webhook: String,
    /// Send requests the fake answered, and messages it accepted.
    requests: usize,
    accepted: usize,
    /// Of those, template messages (reminders).
    accepted_templates: usize,
    /// Webhook POSTs tagada answered 2xx, and how many it did not.
    webhooks_delivered: usize,
    webhooks_failed: usize,
    receipt_webhooks: usize,
    reply_webhooks: usize,
}

/// The demo's WhatsApp: tagada's real Cloud API client sending to a local
/// fake of the Cloud API, which posts signed status webhooks and the
/// buyers' replies to tagada's own HTTP router on a loopback port, where
/// they are merged into the outbox and stored in the inbox.
struct LocalWhatsApp {
    fake: MetaFake,
    channel: WhatsAppChannel,
    webhook_url: String,
    server: tokio::task::JoinHandle<()>,
}

impl LocalWhatsApp {
    async fn start(
        store: Arc<dyn Store>,
        clock: SimClock,
        planner: &PlannerConfig,
        listener: tokio::net::TcpListener,
        payments: tagada_http::LedgerHttp,
    ) -> anyhow::Result<LocalWhatsApp> {
        let fake_config = MetaFakeConfig {
            // the account holds exactly the templates the configuration sends
            templates: tagada_fakes::meta::account_from_listing(
                planner
                    .templates
                    .iter()
                    .map(tagada_app::templates::expected_template),
            ),
            // receipts within milliseconds, in order, each once: the output
            // is the same on every run
            webhooks: WebhookBehaviour {
                sent_after: Duration::from_millis(1),
                delivered_after: Duration::from_millis(1),
                read_after: Duration::from_millis(1),
                duplicate_rate: 0.0,
                reorder: false,
                failure_rate: 0.0,
                never_read_rate: 0.0,
                batch_max: 1,
                retry_backoff: Duration::from_millis(20),
                ..WebhookBehaviour::default()
            },
            seed: 2026,
            ..MetaFakeConfig::default()
        };

        let state = HttpState {
            store,
            clock: Arc::new(clock),
            whatsapp: Some(
                WhatsAppHooks::new(
                    Secret::new(fake_config.app_secret.clone()),
                    Secret::new(VERIFY_TOKEN),
                )
                .map_err(|e| anyhow::anyhow!(e))?,
            ),
            inbox: Arc::new(tokio::sync::Notify::new()),
            max_body_bytes: 1 << 20,
            indiamart_push: None,
            ledger: Some(payments),
        };
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, tagada_http::router(state)).await {
                tracing::error!(error = %e, "the demo's webhook endpoint stopped");
            }
        });
        let webhook_url = format!("http://{addr}/webhooks/whatsapp");

        let fake = MetaFake::start(MetaFakeConfig {
            webhook_url: Some(webhook_url.clone()),
            ..fake_config
        })
        .await
        .context("starting the local fake of the WhatsApp Cloud API")?;
        let wa = WhatsAppConfig {
            enabled: true,
            base_url: fake.base_url(),
            phone_number_id: fake.config().phone_number_id.clone(),
            waba_id: fake.config().waba_id.clone(),
            access_token: Secret::new(fake.config().access_token.clone()),
            connect_timeout_secs: 2,
            timeout_secs: 5,
            // the buyers answer within simulated minutes: no real-time spacing
            messages_per_second: 1000,
            per_recipient_interval_secs: 0,
            ..WhatsAppConfig::default()
        };
        let client = wa.client().context("setting up the WhatsApp client")?;
        // as `tagada send` does: the account must hold every template sent
        let check = tagada_app::templates::fetch_and_check(planner, &client)
            .await
            .context("checking the templates on the fake WhatsApp account")?;
        if !check.is_ok() {
            anyhow::bail!(
                "the fake WhatsApp account would refuse these templates:\n  {}",
                check.problems().join("\n  ")
            );
        }
        let channel =
            WhatsAppChannel::from_config(&wa).context("setting up the WhatsApp channel")?;
        Ok(LocalWhatsApp {
            fake,
            channel,
            webhook_url,
            server,
        })
    }

    fn figures(&self) -> WireFigures {
        let accepted = self.fake.accepted();
        let deliveries = self.fake.webhook_deliveries();
        let delivered = |kind: WebhookKind| {
            deliveries
                .iter()
                .filter(|d| d.kind == kind && d.delivered())
                .count()
        };
        WireFigures {
            api: self.fake.base_url(),
            webhook: self.webhook_url.clone(),
            requests: self.fake.requests(),
            accepted: accepted.len(),
            accepted_templates: accepted.iter().filter(|a| a.kind == "template").count(),
            webhooks_delivered: deliveries.iter().filter(|d| d.delivered()).count(),
            webhooks_failed: deliveries.iter().filter(|d| !d.delivered()).count(),
            receipt_webhooks: delivered(WebhookKind::Statuses),
            reply_webhooks: delivered(WebhookKind::Inbound),
        }
    }

    async fn stop(self) {
        self.fake.shutdown().await;
        self.server.abort();
    }
}

#[async_trait]
impl DemoWhatsApp for LocalWhatsApp {
    fn describe(&self) -> String {
        format!(
            "WhatsApp: tagada's real Cloud API client sends every message to a local fake of the WhatsApp Cloud API\n  \
             ({}), which posts the receipts and the buyers' replies as signed webhooks\n  \
             to tagada's endpoint {}",
            self.fake.base_url(),
            self.webhook_url
        )
    }

    fn channel(&self) -> &dyn Channel {
        &self.channel
    }

    fn tally(&self) -> Option<String> {
        let f = self.figures();
        Some(format!(
            "the fake Cloud API accepted {} of {} send requests and posted {} signed webhooks to tagada ({} with receipts, {} with replies{})",
            f.accepted,
            f.requests,
            f.webhooks_delivered,
            f.receipt_webhooks,
            f.reply_webhooks,
            if f.webhooks_failed > 0 {
                format!(", {} not accepted", f.webhooks_failed)
            } else {
                String::new()
            }
        ))
    }

    fn clock_set(&self, now: Timestamp) {
        if let Ok(t) = std::time::SystemTime::try_from(now) {
            self.fake.set_clock(t);
        }
    }

    async fn tap_button(&self, from: &Phone, context: Option<&str>, payload: &str, title: &str) {
        self.fake
            .reply_button(from.as_str(), context, payload, title)
            .await;
    }

    async fn write(&self, from: &Phone, text: &str) {
        self.fake.reply_text(from.as_str(), text).await;
    }
}

/// IndiaMART and TradeIndia for the demo: the real clients and local fakes
/// holding a few leads of the simulated month, their clocks following the
/// simulation and IndiaMART's 5-minute rule on.
struct LocalLeads {
    indiamart: tagada_fakes::indiamart::IndiaMartFake,
    tradeindia: tagada_fakes::tradeindia::TradeIndiaFake,
    apis: (
        tagada_app::leads::IndiaMartApi,
        tagada_app::leads::TradeIndiaApi,
    ),
}

impl LocalLeads {
    async fn start(
        opts: &DemoOptions,
        planner: &tagada_core::cadence::PlannerConfig,
    ) -> anyhow::Result<LocalLeads> {
        use tagada_fakes::indiamart::{IndiaMartFake, IndiaMartFakeConfig};
        use tagada_fakes::marketplace::FakeClock;
        use tagada_fakes::tradeindia::{TradeIndiaFake, TradeIndiaFakeConfig};
        let zone = planner.home_zone();
        let start = opts.start.to_zoned_datetime(zone.clone())?.timestamp();
        let end = opts
            .start
            .checked_add(jiff::Span::new().days(i64::from(opts.days)))?
            .to_zoned_datetime(zone)?
            .timestamp();
        let from = start - jiff::SignedDuration::from_hours(72);
        let indiamart = IndiaMartFake::start(IndiaMartFakeConfig {
            leads: 12,
            leads_from: from,
            leads_to: end,
            clock: FakeClock::Frozen(start),
            ..Default::default()
        })
        .await?;
        let tradeindia = TradeIndiaFake::start(TradeIndiaFakeConfig {
            inquiries: 6,
            inquiries_from: from,
            inquiries_to: end,
            clock: FakeClock::Frozen(start),
            ..Default::default()
        })
        .await?;
        let im = tagada_app::leads::IndiaMartApi::with_key(
            &indiamart.base_url(),
            &indiamart.config().key,
        )
        .map_err(anyhow::Error::msg)?;
        let c = tradeindia.config();
        let ti = tagada_app::leads::TradeIndiaConfig {
            enabled: true,
            user_id: c.user_id.clone(),
            profile_id: c.profile_id.clone(),
            key: tagada_app::whatsapp::Secret::new(c.key.clone()),
            base_url: tradeindia.base_url(),
            ..Default::default()
        }
        .api()
        .map_err(anyhow::Error::msg)?;
        Ok(LocalLeads {
            indiamart,
            tradeindia,
            apis: (im, ti),
        })
    }

    async fn stop(self) {
        self.indiamart.shutdown().await;
        self.tradeindia.shutdown().await;
    }
}

impl tagada_app::demo::DemoLeads for LocalLeads {
    fn apis(&self) -> Vec<&dyn tagada_app::leads::LeadApi> {
        vec![&self.apis.0, &self.apis.1]
    }
    fn clock_set(&self, now: Timestamp) {
        self.indiamart.set_clock(now);
        self.tradeindia.set_clock(now);
    }
}

/// Razorpay and Stripe for the demo: local fakes behind tagada's real
/// clients, paid by the sample buyers through the pay pages' buttons, their
/// signed webhooks going to tagada's endpoint.
struct LocalPayments {
    base: String,
    razorpay: tagada_fakes::RazorpayFake,
    stripe: tagada_fakes::StripeFake,
    cfg: tagada_app::payments::PaymentsConfig,
    http: reqwest::Client,
}

impl LocalPayments {
    async fn start(base: &str, config: &Config) -> anyhow::Result<LocalPayments> {
        use tagada_fakes::marketplace::FakeClock;
        use tagada_fakes::{RazorpayFake, RazorpayFakeConfig, StripeFake, StripeFakeConfig};
        let razorpay = RazorpayFake::start(RazorpayFakeConfig {
            webhook_url: Some(format!("{base}/webhooks/razorpay")),
            clock: FakeClock::Frozen(Timestamp::UNIX_EPOCH),
            ..Default::default()
        })
        .await
        .context("starting the local fake of Razorpay")?;
        let stripe = StripeFake::start(StripeFakeConfig {
            webhook_url: Some(format!("{base}/webhooks/stripe")),
            clock: FakeClock::Frozen(Timestamp::UNIX_EPOCH),
            ..Default::default()
        })
        .await
        .context("starting the local fake of Stripe")?;
        let mut cfg = config.app.payments.clone();
        if cfg.upi.vpa.trim().is_empty() {
            cfg.upi.vpa = "demo.exports@okhdfc".into();
        }
        cfg.razorpay.enabled = true;
        cfg.razorpay.base_url = razorpay.base_url();
        cfg.razorpay.key_id = razorpay.config().key_id.clone();
        cfg.razorpay.key_secret = Secret::new(razorpay.config().key_secret.clone());
        cfg.razorpay.webhook_secret = Secret::new(razorpay.config().webhook_secret.clone());
        cfg.stripe.enabled = true;
        cfg.stripe.base_url = stripe.base_url();
        cfg.stripe.secret_key = Secret::new(stripe.config().secret_key.clone());
        cfg.stripe.webhook_secret = Secret::new(stripe.config().webhook_secret.clone());
        Ok(LocalPayments {
            base: base.to_string(),
            razorpay,
            stripe,
            cfg,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    fn http(&self, config: &Config) -> tagada_http::LedgerHttp {
        tagada_http::LedgerHttp {
            cfg: Arc::new(self.cfg.clone()),
            planner: Arc::new(config.planner.clone()),
            gateways: tagada_app::payments::Gateways::from_config(&self.cfg),
            home_country: config.app.import.default_country.clone(),
            messaging_limit: config.app.whatsapp.messaging_limit,
            template_check_minutes: config.app.whatsapp.template_check_minutes,
            preview: Default::default(),
        }
    }

    async fn stop(self) {
        self.razorpay.shutdown().await;
        self.stripe.shutdown().await;
    }
}

#[async_trait]
impl tagada_app::demo::DemoPayments for LocalPayments {
    async fn pay_through_link(
        &self,
        invoice: &tagada_core::ledger::Invoice,
    ) -> anyhow::Result<Option<String>> {
        let Some(token) = &invoice.pay_token else {
            return Ok(None);
        };
        let gateway = if invoice.currency() == tagada_core::Currency::INR {
            "razorpay"
        } else {
            "stripe"
        };
        // the buyer taps the gateway's button on the pay page
        let resp = self
            .http
            .post(format!("{}/pay/{token}/{gateway}", self.base))
            .send()
            .await?;
        if resp.status() != reqwest::StatusCode::SEE_OTHER {
            return Ok(None);
        }
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if gateway == "razorpay" {
            let Some(link) = self
                .razorpay
                .links()
                .into_iter()
                .find(|l| l.short_url == to)
            else {
                return Ok(None);
            };
            self.razorpay
                .pay(&link.id, None, "upi")
                .await
                .map_err(anyhow::Error::msg)?;
            Ok(Some("UPI through its Razorpay link".into()))
        } else {
            let Some(id) = to.rsplit('/').next().filter(|id| id.starts_with("cs_")) else {
                return Ok(None);
            };
            self.stripe.pay(id).await.map_err(anyhow::Error::msg)?;
            Ok(Some("card through Stripe Checkout".into()))
        }
    }

    fn clock_set(&self, now: Timestamp) {
        self.razorpay.set_clock(now);
        self.stripe.set_clock(now);
    }
}
