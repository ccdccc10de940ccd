//! The dashboard's overview over a ledger of a million invoices and five
//! million messages (issue 6's target): a two-year history seeded in SQL,
//! the summary tables built from scratch, then `GET /` timed cold, warm,
//! and after payments arrive.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sqlx::Connection;
use tagada_app::config::{Config, Overrides};
use tagada_core::ledger::PaymentMethod;
use tagada_core::{InvoiceId, Money};
use tagada_store::{InvoiceFilter, NewPayment, Store};

use crate::{fresh_sqlite, now, open_store_fresh, peak_rss_mib};

/// A signed-in admin's browser against the dashboard on loopback.
pub(crate) struct Page {
    base: String,
    cookies: String,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Page {
    /// Serves the dashboard over `store` and signs in a new admin.
    pub(crate) async fn start(store: Arc<dyn Store>, config: &Config) -> anyhow::Result<Page> {
        let password = "bench-password-0001";
        // a new user each run: a kept database already has the last one
        let username = format!("bench-{}", std::process::id());
        tagada_app::auth::add_user(
            store.as_ref(),
            &username,
            password,
            tagada_store::Role::Admin,
            now(),
        )
        .await?;
        let pay = tagada_app::payments::PaymentsConfig::default();
        let state = tagada_http::HttpState {
            store,
            clock: Arc::new(tagada_app::clock::SimClock::new(now())),
            whatsapp: None,
            inbox: Arc::new(tokio::sync::Notify::new()),
            max_body_bytes: 1 << 20,
            indiamart_push: None,
            ledger: Some(tagada_http::LedgerHttp {
                gateways: tagada_app::payments::Gateways::from_config(&pay),
                cfg: Arc::new(pay),
                planner: Arc::new(config.planner.clone()),
                home_country: tagada_core::CountryCode::india(),
                messaging_limit: 0,
                template_check_minutes: 0,
                preview: Default::default(),
            }),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let app = tagada_http::router(state)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let login = http
            .post(format!("{base}/login"))
            .form(&[("username", username.as_str()), ("password", password)])
            .send()
            .await?;
        let cookies: Vec<String> = login
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .map(str::to_string)
            .collect();
        anyhow::ensure!(!cookies.is_empty(), "the bench user could not sign in");
        Ok(Page {
            base,
            cookies: cookies.join("; "),
            http,
            server,
        })
    }

    /// `GET /`: milliseconds and the page's size in KiB.
    pub(crate) async fn overview(&self) -> anyhow::Result<(u128, usize, String)> {
        let t = Instant::now();
        let page = self
            .http
            .get(format!("{}/", self.base))
            .header(reqwest::header::COOKIE, &self.cookies)
            .send()
            .await?;
        let status = page.status();
        let body = page.text().await?;
        anyhow::ensure!(status.is_success(), "GET / answered {status}");
        Ok((t.elapsed().as_millis(), body.len() / 1024, body))
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Seeds `invoices` invoices over the two years to `now()` (a twentieth as
/// many buyers, nine sales reps, INR with some USD and AED), their
/// payments, and up to `messages` reminders (six steps per invoice, only
/// those due by tomorrow, cancelled once the invoice was paid, read or
/// delivered in most cases, 3 % answered), in plain SQL: the store's own
/// writes would take hours at this size. The triggers mark every row, as
/// they would for the same rows written one by one.
async fn seed(url: &str, invoices: u64, messages: u64) -> anyhow::Result<()> {
    let today = i64::from(
        jiff::civil::date(1970, 1, 1)
            .until(now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date())?
            .get_days(),
    );
    let now_us = now().as_microsecond();
    let buyers = invoices.div_ceil(20).max(1);
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    let mut tx = conn.begin().await?;
    let statements = [
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {buyers}) \
             INSERT INTO buyers (id, name, name_norm, whatsapp, country, sales_rep, consent_at, \
               consent_source, updated_at) \
             SELECT i, 'Bench Buyer ' || i, 'bench buyer ' || i, printf('+9198%08d', i), 'IN', \
               CASE WHEN i % 10 = 0 THEN NULL ELSE 'Rep ' || (i % 9) END, {now_us}, 'bench', {now_us} \
             FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {invoices} - 1), \
             x AS (SELECT i, {today} - (i * 7919) % 730 AS inv_day, 30 + 15 * (i % 3) AS terms, \
                     (i * 31) % 100 AS r, (i * 13) % 70 - 10 AS paid_off, \
                     1000000 + (i * 37) % 90000 * 100 AS amount, \
                     CASE WHEN i % 100 < 90 THEN 'INR' WHEN i % 100 < 97 THEN 'USD' ELSE 'AED' END AS cur \
                   FROM n), \
             y AS (SELECT *, inv_day + terms AS due_day, inv_day + terms + paid_off AS paid_day FROM x), \
             z AS (SELECT *, CASE WHEN r < 92 AND paid_day <= {today} THEN 'paid' \
                                  WHEN r < 94 THEN 'disputed' WHEN r < 96 THEN 'cancelled' \
                                  WHEN r < 98 AND paid_day <= {today} THEN 'partially_paid' \
                                  ELSE 'pending' END AS status FROM y) \
             INSERT INTO invoices (id, number, buyer_id, invoice_date, due_date, credit_days, \
               amount_minor, amount_paid_minor, currency, status, paid_at, source, source_hash, \
               created_at, updated_at, pay_token) \
             SELECT i + 1, printf('B-%08d', i), i % {buyers} + 1, date(inv_day * 86400, 'unixepoch'), \
               date(due_day * 86400, 'unixepoch'), terms, amount, \
               CASE status WHEN 'paid' THEN amount WHEN 'partially_paid' THEN amount / 2 ELSE 0 END, \
               cur, status, \
               CASE WHEN status = 'paid' THEN (paid_day * 86400 + 36000) * 1000000 END, \
               'bench', 'h' || i, {now_us}, {now_us}, printf('t%08d', i) \
             FROM z"
        ),
        "INSERT INTO payments (invoice_id, buyer_id, amount_minor, currency, received_at, method, \
           recorded_at) \
         SELECT id, buyer_id, amount_paid_minor, currency, \
           coalesce(paid_at, (CAST(julianday(due_date) - 2440587.5 AS INTEGER) * 86400 + 36000) * 1000000), \
           'bank_transfer', created_at \
         FROM invoices WHERE amount_paid_minor > 0"
            .to_string(),
        // six steps per invoice, those due by tomorrow, at most `messages`
        format!(
            "WITH RECURSIVE s(j, off, tpl) AS (VALUES (0, -3, 'upcoming'), (1, 0, 'due_today'), \
               (2, 7, 'overdue'), (3, 14, 'overdue'), (4, 21, 'overdue_firm'), (5, 28, 'overdue_firm')), \
             m AS (SELECT i.id AS invoice_id, i.buyer_id, i.status AS istatus, s.j, s.tpl, \
                     CAST(julianday(i.due_date) - 2440587.5 AS INTEGER) + s.off AS send_day, i.paid_at \
                   FROM invoices i, s), \
             k AS (SELECT *, (send_day * 86400 + 16200) * 1000000 AS send_at FROM m \
                   WHERE send_day <= {today} + 1) \
             INSERT INTO outbox (id, buyer_id, to_phone, dedupe_key, status, delivery, send_at, \
               not_before, attempts, provider_id, message, escalate, created_at, updated_at, sent_at) \
             SELECT invoice_id * 6 + j, buyer_id, printf('+9198%08d', buyer_id), \
               'bench:' || invoice_id || ':' || j, \
               CASE WHEN istatus = 'cancelled' OR (paid_at IS NOT NULL AND send_at >= paid_at) THEN 'cancelled' \
                    WHEN send_at < {now_us} THEN 'sent' ELSE 'pending' END, \
               CASE WHEN istatus <> 'cancelled' AND (paid_at IS NULL OR send_at < paid_at) AND send_at < {now_us} \
                    THEN CASE WHEN (invoice_id * 17 + j) % 100 < 55 THEN 'read' \
                              WHEN (invoice_id * 17 + j) % 100 < 90 THEN 'delivered' \
                              WHEN (invoice_id * 17 + j) % 100 < 97 THEN 'sent' ELSE 'failed' END END, \
               send_at, send_at, 1, 'wamid.bench.' || invoice_id || '.' || j, \
               json_object('template_key', tpl, 'whatsapp_name', 'payment_reminder_' || tpl, \
                 'language', 'en', 'parameters', json_array(), 'body', 'A reminder'), \
               0, send_at, send_at, \
               CASE WHEN istatus <> 'cancelled' AND (paid_at IS NULL OR send_at < paid_at) AND send_at < {now_us} \
                    THEN send_at + 60000000 END \
             FROM k ORDER BY invoice_id, j LIMIT {messages}"
        ),
        "INSERT INTO outbox_invoices (outbox_id, invoice_id) SELECT id, id / 6 FROM outbox"
            .to_string(),
        "INSERT INTO reminders (invoice_id, step, cycle, outbox_id, status, scheduled_at, created_at, \
           cancelled_at, step_name, segment) \
         SELECT id / 6, id % 6, 0, id, CASE status WHEN 'cancelled' THEN 'cancelled' ELSE 'scheduled' END, \
           send_at, created_at, CASE status WHEN 'cancelled' THEN updated_at END, \
           CASE id % 6 WHEN 0 THEN 'due-3' WHEN 1 THEN 'due' ELSE 'overdue+' || ((id % 6 - 1) * 7) END, \
           CASE WHEN id % 5 = 0 THEN 'late_payer' ELSE 'regular' END \
         FROM outbox"
            .to_string(),
        "INSERT INTO webhook_events (id, source, event_key, received_at, payload, outcome, outbox_id) \
         SELECT id, 'whatsapp', 'message:bench.' || id, sent_at + 3600000000, '{}', 'received', id \
         FROM outbox WHERE status = 'sent' AND (id * 7) % 100 < 3"
            .to_string(),
        "INSERT INTO inbox (webhook_event_id, message_id, buyer_id, from_phone, sent_at, received_at, \
           kind, text, outbox_id, intent, action, handled_at) \
         SELECT w.id, 'bench.' || w.id, o.buyer_id, o.to_phone, w.received_at, w.received_at, 'text', \
           'Will pay this week', o.id, 'promise', 'noted', w.received_at \
         FROM webhook_events w JOIN outbox o ON o.id = w.outbox_id"
            .to_string(),
    ];
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

async fn count(url: &str, sql: &'static str) -> anyhow::Result<i64> {
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(n)
}

/// A payment in full of the `k`-th open invoice, received now.
async fn pay_one(store: &dyn Store, k: usize) -> anyhow::Result<InvoiceId> {
    let open = store
        .list_invoices(&InvoiceFilter {
            statuses: vec![tagada_core::ledger::InvoiceStatus::Pending],
            limit: Some(u32::try_from(k + 1)?),
            ..Default::default()
        })
        .await?;
    let inv = open
        .last()
        .ok_or_else(|| anyhow::anyhow!("no open invoice left"))?;
    store
        .record_payment(
            &NewPayment {
                invoice_number: None,
                invoice_id: Some(inv.id),
                buyer_id: None,
                amount: Money::from_minor(
                    inv.amount.minor() - inv.amount_paid.minor(),
                    inv.amount.currency(),
                ),
                received_at: now(),
                method: PaymentMethod::BankTransfer,
                // unique per run: a kept database has the last run's payments
                reference: Some(format!("BENCH-{}-{k}", std::process::id())),
            },
            now(),
        )
        .await
        .map(|o| {
            anyhow::ensure!(!o.duplicate, "the payment was taken for a replay");
            Ok(())
        })??;
    Ok(inv.id)
}

pub(crate) async fn bench_overview(
    invoices: u64,
    messages: u64,
    dir: &Path,
    repeat: u32,
    keep: bool,
) -> anyhow::Result<()> {
    let config = Config::load_with_env(None, &Overrides::default(), false)?;
    let name = format!("overview-{invoices}-{messages}.db");
    let kept = keep && dir.join(&name).exists();
    let (url, store) = if kept {
        let url = format!("sqlite://{}", dir.join(&name).display());
        let store = crate::open(&url).await?;
        println!("kept {url}: not seeded again");
        (url, store)
    } else {
        let url = fresh_sqlite(dir, &name)?;
        let store = open_store_fresh(&url).await?;
        (url, store)
    };
    let t = Instant::now();
    if !kept {
        seed(&url, invoices, messages).await?;
    }
    println!(
        "seeded {} invoices, {} payments, {} messages ({} sent, {} queued), {} replies in {:.1?}",
        count(&url, "SELECT count(*) FROM invoices").await?,
        count(&url, "SELECT count(*) FROM payments").await?,
        count(&url, "SELECT count(*) FROM outbox").await?,
        count(&url, "SELECT count(*) FROM outbox WHERE status = 'sent'").await?,
        count(&url, "SELECT count(*) FROM outbox WHERE status = 'pending'").await?,
        count(&url, "SELECT count(*) FROM inbox").await?,
        t.elapsed()
    );
    let t = Instant::now();
    let built = tagada_app::summary::refresh_summary(store.as_ref(), &config.planner, None).await?;
    println!(
        "summary folded in {:.1?} (rebuilt: {}): {} invoices and messages folded, {} rows kept",
        t.elapsed(),
        built.rebuilt,
        built.folded,
        count(&url, "SELECT count(*) FROM summary_sums").await?
    );
    let today = now().to_zoned_datetime(config.planner.home_zone()).date();
    for (code, r) in ["30d", "90d", "ytd"]
        .into_iter()
        .flat_map(|c| (0..repeat).map(move |r| (c, r)))
    {
        let period = tagada_app::reports::parse_period(code, today).map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        let report = tagada_app::summary::summary_report(
            store.as_ref(),
            &config.planner,
            period,
            today,
            None,
            None,
        )
        .await?
        .report;
        println!(
            "run {} ({code}): report from the summary {} ms (outstanding {}, DSO {:?}, {} reminders planned in the period)",
            r + 1,
            t.elapsed().as_millis(),
            report.collection.outstanding.total.home,
            report.collection.dso_countback,
            report
                .collection
                .funnel
                .count(tagada_core::metrics::Stage::Planned)
        );
    }
    let page = Page::start(store.clone(), &config).await?;
    let (ms, kib, body) = page.overview().await?;
    println!(
        "first view: {ms} ms, {kib} KiB ({})",
        if body.contains("planned-computing") {
            "the plan preview still being computed"
        } else {
            "with the plan preview"
        }
    );
    // the preview computed in the background meanwhile
    let t = Instant::now();
    while page.overview().await?.2.contains("planned-computing") {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    println!("plan preview ready {:.1?} later", t.elapsed());
    for r in 0..repeat {
        let (ms, kib, _) = page.overview().await?;
        println!("run {}: overview page (GET /) {ms} ms, {kib} KiB", r + 1);
    }
    for r in 0..repeat {
        let id = pay_one(store.as_ref(), r as usize).await?;
        let (ms, kib, body) = page.overview().await?;
        anyhow::ensure!(body.contains("id=\"outstanding\""), "an overview");
        println!(
            "run {}: after a payment in full (invoice {}): overview page {ms} ms, {kib} KiB",
            r + 1,
            id.get()
        );
    }
    // the preview refreshed in the background meanwhile
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (ms, _, _) = page.overview().await?;
    println!("a view a moment later: {ms} ms");
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS {rss:.0} MiB");
    }
    Ok(())
}
