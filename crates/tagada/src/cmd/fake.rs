//! `tagada fake meta`: runs the fake WhatsApp Cloud API (from `tagada-fakes`)
//! on loopback, holding exactly the templates this configuration sends, so
//! `templates check`, `send` and `run` can be tried end to end with no
//! Meta account. `tagada fake indiamart` and `tagada fake tradeindia` do the
//! same for the lead APIs (`tagada sync`), with generated leads of the last
//! days and the real call limits. `tagada fake razorpay` and `tagada fake
//! stripe` run the payment gateways, with a page to pay at each link.

use std::net::SocketAddr;
use std::process::ExitCode;

use tagada_core::cadence::PlannerConfig;
use tagada_fakes::meta::{FakeTemplate, MetaFake, MetaFakeConfig};

use crate::ctx::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The WhatsApp Cloud API (Graph API): sends, media, templates, signed status webhooks.
    Meta(MetaArgs),
    /// IndiaMART's Lead Manager pull API (CRM v2), with the 5-minute rule.
    Indiamart(LeadArgs),
    /// TradeIndia's `my_inquiry` API, paged.
    Tradeindia(LeadArgs),
    /// Razorpay Payment Links: create, fetch, cancel, a page to pay at each
    /// link's short URL, and signed webhooks.
    Razorpay(GatewayArgs),
    /// Stripe Checkout Sessions: create, retrieve, expire, a page to pay at
    /// each session's URL, and signed webhooks.
    Stripe(GatewayArgs),
}

#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// Address to listen on (default: 127.0.0.1:8023 for Razorpay, :8024 for Stripe).
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Where to POST signed webhooks (`tagada serve`'s
    /// `http://127.0.0.1:8080/webhooks/razorpay` or `.../stripe`).
    #[arg(long)]
    webhook_url: Option<String>,
}

/// The closing lines both payment gateway fakes print, then Ctrl-C.
async fn serve_until_stopped(args: &GatewayArgs) -> anyhow::Result<()> {
    match &args.webhook_url {
        Some(url) => println!("webhooks go to {url}"),
        None => {
            println!("no --webhook-url: no webhooks (`tagada payments poll` still finds payments)")
        }
    }
    println!("(the fake's own test credentials, not secrets; Ctrl-C stops it)");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn run_razorpay(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    use tagada_fakes::marketplace::FakeClock;
    use tagada_fakes::{RazorpayFake, RazorpayFakeConfig};
    let fake = RazorpayFake::start(RazorpayFakeConfig {
        bind: Some(args.bind.unwrap_or(([127, 0, 0, 1], 8023).into())),
        webhook_url: args.webhook_url.clone(),
        clock: FakeClock::Wall(jiff::SignedDuration::ZERO),
        ..Default::default()
    })
    .await?;
    let c = fake.config();
    println!(
        "fake Razorpay API on {}; in another terminal:\n",
        fake.base_url()
    );
    println!("  export TAGADA_PAYMENTS__RAZORPAY__ENABLED=true");
    println!(
        "  export TAGADA_PAYMENTS__RAZORPAY__BASE_URL={}",
        fake.base_url()
    );
    println!("  export TAGADA_PAYMENTS__RAZORPAY__KEY_ID={}", c.key_id);
    println!(
        "  export TAGADA_PAYMENTS__RAZORPAY__KEY_SECRET={}",
        c.key_secret
    );
    println!(
        "  export TAGADA_PAYMENTS__RAZORPAY__WEBHOOK_SECRET={}",
        c.webhook_secret
    );
    println!("  tagada serve\n");
    serve_until_stopped(&args).await?;
    let links = fake.links().len();
    fake.shutdown().await;
    println!("stopped with {links} link(s)");
    Ok(ExitCode::SUCCESS)
}

async fn run_stripe(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    use tagada_fakes::marketplace::FakeClock;
    use tagada_fakes::{StripeFake, StripeFakeConfig};
    let fake = StripeFake::start(StripeFakeConfig {
        bind: Some(args.bind.unwrap_or(([127, 0, 0, 1], 8024).into())),
        webhook_url: args.webhook_url.clone(),
        clock: FakeClock::Wall(jiff::SignedDuration::ZERO),
        ..Default::default()
    })
    .await?;
    let c = fake.config();
    println!(
        "fake Stripe API on {}; in another terminal:\n",
        fake.base_url()
    );
    println!("  export TAGADA_PAYMENTS__STRIPE__ENABLED=true");
    println!(
        "  export TAGADA_PAYMENTS__STRIPE__BASE_URL={}",
        fake.base_url()
    );
    println!(
        "  export TAGADA_PAYMENTS__STRIPE__SECRET_KEY={}",
        c.secret_key
    );
    println!(
        "  export TAGADA_PAYMENTS__STRIPE__WEBHOOK_SECRET={}",
        c.webhook_secret
    );
    println!("  tagada serve\n");
    serve_until_stopped(&args).await?;
    let sessions = fake.sessions().len();
    fake.shutdown().await;
    println!("stopped with {sessions} session(s)");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct LeadArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8021")]
    bind: SocketAddr,
    /// Leads to generate over the last `--days` days.
    #[arg(long, default_value_t = 200)]
    leads: usize,
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Do not enforce the API's call limit.
    #[arg(long)]
    no_rate_limit: bool,
}

#[derive(Debug, clap::Args)]
pub struct MetaArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8019")]
    bind: SocketAddr,
    /// Where to POST signed status webhooks (e.g. `tagada serve`'s
    /// `http://127.0.0.1:8080/webhooks/whatsapp`); none when unset.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Share of send requests refused with a retryable error (0.0-1.0).
    #[arg(long, default_value_t = 0.0)]
    transient_error_rate: f64,
    /// Messages per second accepted before answering 130429.
    #[arg(long)]
    messages_per_second: Option<u32>,
}

/// The account a configuration needs: every (WhatsApp name, language) its
/// templates send, APPROVED, shaped as `tagada_app::templates::expected_template`
/// says (parameters, document header, buttons).
pub fn registry(cfg: &PlannerConfig) -> Vec<FakeTemplate> {
    tagada_fakes::meta::account_from_listing(
        cfg.templates
            .iter()
            .map(tagada_app::templates::expected_template),
    )
}

async fn run_indiamart(args: LeadArgs, now: jiff::Timestamp) -> anyhow::Result<ExitCode> {
    use tagada_fakes::indiamart::{IndiaMartFake, IndiaMartFakeConfig};
    use tagada_fakes::marketplace::FakeClock;
    let cfg = IndiaMartFakeConfig {
        bind: Some(args.bind),
        leads: args.leads,
        leads_from: now - jiff::SignedDuration::from_hours(24 * i64::from(args.days)),
        leads_to: now,
        clock: FakeClock::Wall(jiff::SignedDuration::ZERO),
        rate_limit: !args.no_rate_limit,
        ..Default::default()
    };
    let fake = IndiaMartFake::start(cfg).await?;
    println!(
        "fake IndiaMART pull API on {} with {} lead(s) of the last {} days; in another terminal:\n",
        fake.base_url(),
        fake.leads().len(),
        args.days
    );
    println!("  export TAGADA_INDIAMART__ENABLED=true");
    println!("  export TAGADA_INDIAMART__BASE_URL={}", fake.base_url());
    println!("  export TAGADA_INDIAMART__KEY={}", fake.config().key);
    println!(
        "  tagada sync --source indiamart --backfill {}\n",
        args.days
    );
    println!("(the fake's own test key, not a secret; Ctrl-C stops it)");
    tokio::signal::ctrl_c().await?;
    let calls = fake.call_count();
    fake.shutdown().await;
    println!("stopped after {calls} call(s)");
    Ok(ExitCode::SUCCESS)
}

async fn run_tradeindia(args: LeadArgs, now: jiff::Timestamp) -> anyhow::Result<ExitCode> {
    use tagada_fakes::marketplace::FakeClock;
    use tagada_fakes::tradeindia::{TradeIndiaFake, TradeIndiaFakeConfig};
    let cfg = TradeIndiaFakeConfig {
        bind: Some(args.bind),
        inquiries: args.leads,
        inquiries_from: now - jiff::SignedDuration::from_hours(24 * i64::from(args.days)),
        inquiries_to: now,
        clock: FakeClock::Wall(jiff::SignedDuration::ZERO),
        ..Default::default()
    };
    let fake = TradeIndiaFake::start(cfg).await?;
    let c = fake.config();
    println!(
        "fake TradeIndia my_inquiry API on {} with {} inquiries of the last {} days; in another terminal:\n",
        fake.base_url(),
        fake.inquiries().len(),
        args.days
    );
    println!("  export TAGADA_TRADEINDIA__ENABLED=true");
    println!("  export TAGADA_TRADEINDIA__BASE_URL={}", fake.base_url());
    println!("  export TAGADA_TRADEINDIA__USER_ID={}", c.user_id);
    println!("  export TAGADA_TRADEINDIA__PROFILE_ID={}", c.profile_id);
    println!("  export TAGADA_TRADEINDIA__KEY={}", c.key);
    println!(
        "  tagada sync --source tradeindia --backfill {}\n",
        args.days
    );
    println!("(the fake's own test credentials, not secrets; Ctrl-C stops it)");
    tokio::signal::ctrl_c().await?;
    let calls = fake.call_count();
    fake.shutdown().await;
    println!("stopped after {calls} call(s)");
    Ok(ExitCode::SUCCESS)
}

pub async fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let args = match cmd {
        Command::Meta(args) => args,
        Command::Indiamart(args) => return run_indiamart(args, ctx.clock.now()).await,
        Command::Tradeindia(args) => return run_tradeindia(args, ctx.clock.now()).await,
        Command::Razorpay(args) => return run_razorpay(args).await,
        Command::Stripe(args) => return run_stripe(args).await,
    };
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.transient_error_rate),
        "--transient-error-rate must be between 0 and 1"
    );
    let cfg = MetaFakeConfig {
        bind: Some(args.bind),
        templates: registry(&ctx.config.planner),
        webhook_url: args.webhook_url.clone(),
        messages_per_second: args.messages_per_second,
        ..Default::default()
    };
    let fake = MetaFake::start(cfg).await?;
    fake.set_transient_error_rate(args.transient_error_rate);
    let c = fake.config();
    println!(
        "fake WhatsApp Cloud API on {} with {} template(s); in another terminal:\n",
        fake.base_url(),
        c.templates.len()
    );
    println!("  export TAGADA_WHATSAPP__ENABLED=true");
    println!("  export TAGADA_WHATSAPP__BASE_URL={}", fake.base_url());
    println!(
        "  export TAGADA_WHATSAPP__PHONE_NUMBER_ID={}",
        c.phone_number_id
    );
    println!("  export TAGADA_WHATSAPP__WABA_ID={}", c.waba_id);
    println!("  export TAGADA_WHATSAPP__ACCESS_TOKEN={}", c.access_token);
    println!("  export TAGADA_WHATSAPP__APP_SECRET={}", c.app_secret);
    println!("  tagada templates check && tagada send\n");
    println!("(these are the fake's own test credentials, not secrets; Ctrl-C stops it)");
    tokio::signal::ctrl_c().await?;
    let accepted = fake.accepted().len();
    fake.shutdown().await;
    println!("stopped after accepting {accepted} message(s)");
    Ok(ExitCode::SUCCESS)
}
