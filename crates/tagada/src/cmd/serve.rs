//! `tagada serve`: the HTTP endpoints (WhatsApp webhook, health) and, in
//! the same process, the worker (plan, send) and the inbox (act on
//! replies), until Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tagada_app::inbound::process_inbox;
use tagada_app::leads::{LeadApi, sync_step};
use tagada_http::{HttpState, WhatsAppHooks};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::ctx::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (default: `http.bind` in the config).
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Seconds between re-plans.
    #[arg(long, default_value_t = 600)]
    replan_every: i64,
    /// Serve the endpoints and handle replies only; planning and sending
    /// are left to `tagada run` processes.
    #[arg(long)]
    no_worker: bool,
    /// Only send; leave planning to another process.
    #[arg(long)]
    no_plan: bool,
    /// Name of this worker in leases and attempt records (default: host-pid).
    #[arg(long)]
    worker_id: Option<String>,
}

/// How often the inbox is swept when no webhook wakes it (a message stored
/// by another process, or left unhandled by a crash).
const INBOX_SWEEP: Duration = Duration::from_secs(5);

/// How often `serve` offers each lead source a sync step.
const LEAD_SYNC_EVERY: Duration = Duration::from_secs(60);

/// The enabled lead sources whose credentials are set (the others are
/// reported and skipped).
fn lead_apis(ctx: &Ctx) -> Vec<Box<dyn LeadApi>> {
    let app = &ctx.config.app;
    let mut out: Vec<Box<dyn LeadApi>> = Vec::new();
    if app.indiamart.enabled {
        match app.indiamart.api() {
            Ok(api) => out.push(Box::new(api)),
            Err(e) => eprintln!("  IndiaMART sync off: {e}"),
        }
    }
    if app.tradeindia.enabled {
        match app.tradeindia.api() {
            Ok(api) => out.push(Box::new(api)),
            Err(e) => eprintln!("  TradeIndia sync off: {e}"),
        }
    }
    out
}

pub async fn run(args: Args, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let wa = &ctx.config.app.whatsapp;
    let hooks = if wa.enabled {
        Some(
            WhatsAppHooks::new(wa.app_secret.clone(), wa.verify_token.clone())
                .map_err(|e| anyhow::anyhow!("not serving: {e}"))?,
        )
    } else {
        None
    };
    let store = ctx.store().await?;
    let channel = if args.no_worker {
        None
    } else {
        Some(ctx.channel(store.as_ref()).await?)
    };
    let bind = args.bind.as_deref().unwrap_or(&ctx.config.app.http.bind);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    let addr = listener.local_addr()?;
    let inbox = Arc::new(Notify::new());
    let state = HttpState {
        store: store.clone(),
        clock: ctx.clock.clone(),
        whatsapp: hooks,
        inbox: inbox.clone(),
        max_body_bytes: ctx.config.app.http.max_body_bytes,
        indiamart_push: ctx
            .config
            .app
            .indiamart
            .push_token
            .is_set()
            .then(|| ctx.config.app.indiamart.push_token.clone()),
        ledger: Some(ctx.ledger_http()),
    };
    // the overview's list of today's messages, computed before anyone asks
    tagada_http::warm_overview(&state);
    let pay = &ctx.config.app.payments;
    println!("tagada serving on http://{addr}");
    if wa.enabled {
        println!("  WhatsApp webhook: http://{addr}/webhooks/whatsapp");
    } else {
        println!("  WhatsApp is disabled: no webhook endpoint (set whatsapp.enabled)");
    }
    if ctx.config.app.indiamart.push_token.is_set() {
        println!("  IndiaMART push:   http://{addr}/webhooks/indiamart/<indiamart.push_token>");
    }
    println!(
        "  pay pages:        http://{addr}/pay/<token> (links in reminders use seller.payment_link_base_url)"
    );
    for (enabled, secret_set, name) in [
        (
            pay.razorpay.enabled,
            pay.razorpay.webhook_secret.is_set(),
            "razorpay",
        ),
        (
            pay.stripe.enabled,
            pay.stripe.webhook_secret.is_set(),
            "stripe",
        ),
    ] {
        match (enabled, secret_set) {
            (true, true) => println!(
                "  {name} webhook:{:pad$}http://{addr}/webhooks/{name}",
                "",
                pad = 9 - name.len()
            ),
            (true, false) => println!(
                "  {name}: no webhook secret set, so its webhook refuses every call; payments are found by polling only"
            ),
            _ => {}
        }
    }
    println!("  health:           http://{addr}/healthz");
    if let Some(source) = ctx.config.app.ledger.source() {
        println!(
            "  ledger table:     {source} (every {} min)",
            ctx.config.app.ledger.interval_minutes
        );
    }
    let lead_apis = lead_apis(ctx);
    for api in &lead_apis {
        println!(
            "  lead sync:        {} (within its call budget)",
            api.source()
        );
    }

    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping after the current step…");
        on_signal.cancel();
    });

    let server = {
        let cancel = cancel.clone();
        async move {
            // the peer's address keys the dashboard's login rate limit
            let app = tagada_http::router(state)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(cancel.clone().cancelled_owned())
                .await;
            // whatever ended the server ends the process
            cancel.cancel();
            result
        }
    };

    let inbox_loop = async {
        loop {
            match process_inbox(
                store.as_ref(),
                &ctx.config.app.inbound,
                &ctx.config.planner,
                ctx.clock.now(),
                100,
            )
            .await
            {
                Ok(r) if r.handled > 0 => tracing::info!(
                    handled = r.handled,
                    alerts = r.alerts,
                    replies = r.replies_queued,
                    "inbox handled"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "handling the inbox failed; will retry"),
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = inbox.notified() => {}
                _ = tokio::time::sleep(INBOX_SWEEP) => {}
            }
        }
    };

    let worker_loop = async {
        let Some(channel) = &channel else {
            cancel.cancelled().await;
            return None;
        };
        let worker = super::run::worker(
            ctx,
            store.as_ref(),
            channel.as_ref(),
            args.worker_id.clone(),
            args.replan_every,
            !args.no_plan,
        );
        let report = worker.run(cancel.clone()).await;
        if report.dispatch.halted.is_some() {
            // credentials refused: stop serving so that a supervisor notices
            cancel.cancel();
        }
        Some(report)
    };

    // Each enabled lead source is offered a step every minute; its budget
    // (kept in the store, shared with other processes) decides whether a
    // call is made.
    let sync_loop = async {
        if lead_apis.is_empty() {
            return;
        }
        loop {
            for api in &lead_apis {
                let opts = super::sync::options(ctx, api.source());
                match sync_step(store.as_ref(), api.as_ref(), ctx.clock.as_ref(), &opts).await {
                    Ok((_, r)) if r.calls > 0 => tracing::info!(
                        source = api.source(),
                        new = r.leads_new,
                        buyers = r.buyers_new,
                        matched = r.buyers_matched,
                        "lead sync"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(source = api.source(), error = %e, "lead sync failed; will retry")
                    }
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(LEAD_SYNC_EVERY) => {}
            }
        }
    };

    // Open gateway links are polled now and then: the safety net when a
    // webhook is missed.
    let poll_loop = async {
        let every = pay.poll_interval_secs;
        let gateways = tagada_app::payments::Gateways::from_config(pay);
        if every == 0 || (gateways.razorpay.is_none() && gateways.stripe.is_none()) {
            return;
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(std::time::Duration::from_secs(every)) => {}
            }
            match ctx
                .pay_context(store.as_ref(), &gateways)
                .poll_open_links()
                .await
            {
                Ok(r) if r.payments_recorded > 0 || r.closed > 0 => tracing::info!(
                    links = r.links,
                    payments = r.payments_recorded,
                    closed = r.closed,
                    "payment links polled"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "polling payment links failed; will retry"),
            }
        }
    };

    // The ledger table is synced every `ledger.interval_minutes`; the
    // interval is booked in the store, so several processes share it.
    let ledger_loop = async {
        let minutes = ctx.config.app.ledger.interval_minutes;
        let Some(source) = ctx.config.app.ledger.source() else {
            return;
        };
        if minutes == 0 {
            return;
        }
        let budget = format!("ledger:{source}");
        booked(ctx, store.as_ref(), &cancel, &budget, minutes, || async {
            match super::ledger::sync_once(ctx, store.as_ref(), false).await {
                Ok((r, leads)) => tracing::info!(
                    table = %r.table,
                    created = r.invoices_created,
                    updated = r.invoices_updated,
                    written = r.rows_written,
                    conflicts = r.conflicts.len(),
                    rejected = r.rejected.len(),
                    leads,
                    "ledger synced"
                ),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "ledger sync failed; will retry")
                }
            }
        })
        .await;
    };

    // The account's templates are checked every
    // `whatsapp.template_check_minutes` (booked in the store like the ledger
    // sync), so the health page shows their approval status at Meta.
    let templates_loop = async {
        let minutes = wa.template_check_minutes;
        if !wa.enabled || minutes == 0 {
            return;
        }
        let Ok(client) = wa.client() else {
            return;
        };
        booked(ctx, store.as_ref(), &cancel, "templates:check", minutes, || async {
            match tagada_app::templates::check_and_record(
                store.as_ref(),
                &ctx.config.planner,
                &client,
                ctx.clock.now(),
            )
            .await
            {
                Ok(check) if check.is_ok() => {
                    tracing::info!(templates = check.templates.len(), "templates checked")
                }
                Ok(check) => tracing::warn!(
                    problems = %check.problems().join("; "),
                    "templates checked: some would be refused"
                ),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "template check failed; will retry")
                }
            }
        })
        .await;
    };

    let (served, (), report, (), (), (), ()) = tokio::join!(
        server,
        inbox_loop,
        worker_loop,
        sync_loop,
        poll_loop,
        ledger_loop,
        templates_loop
    );
    served.context("the HTTP server failed")?;
    if let Some(report) = report {
        return Ok(super::run::stopped(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `step` each time the store grants `budget` (at most once every
/// `minutes`, however many processes ask), asking every minute until
/// `cancel` fires.
async fn booked<F, Fut>(
    ctx: &Ctx,
    store: &dyn tagada_store::Store,
    cancel: &CancellationToken,
    budget: &str,
    minutes: u32,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let every = jiff::SignedDuration::from_mins(i64::from(minutes));
    loop {
        match store.reserve_call(budget, ctx.clock.now(), every).await {
            Ok(tagada_store::CallReservation::Granted) => step().await,
            Ok(_) => {}
            Err(e) => tracing::error!(budget, error = %e, "schedule unavailable; will retry"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(LEAD_SYNC_EVERY) => {}
        }
    }
}
