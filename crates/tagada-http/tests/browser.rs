//! The dashboard in a real headless Chromium, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`): log in, look at the
//! overview, open an invoice, mark it paid and see its pending reminder
//! cancelled (and a thank-you queued). Screenshots of each page (laptop and phone sizes) are saved
//! in `target/browser-artifacts/`.
//!
//! Without Chromium the test prints a notice and passes, unless
//! `TAGADA_REQUIRE_BROWSER` is set (`.ci/run` sets it and installs them).

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use jiff::Timestamp;
use jiff::civil::date;
use tagada_app::clock::SimClock;
use tagada_app::payments::{Gateways, PaymentsConfig};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::OutboxStatus;
use tagada_core::{CountryCode, Currency, Money, Phone};
use tagada_http::{HttpState, LedgerHttp};
use tagada_store::{
    ImportStore, LedgerStore, Migrate, NewBuyer, NewInvoice, OutboxFilter, OutboxStore, Role,
};
use tagada_store_sqlite::SqliteStore;

/// Friday 4 December 2026, 10:30 in India.
fn t0() -> Timestamp {
    "2026-12-04T05:00:00Z".parse().unwrap()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where screenshots go: `target/browser-artifacts/`.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn ledger() -> Arc<SqliteStore> {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let (buyer_id, _) = store
        .upsert_buyer(&NewBuyer {
            external_key: Some("b1".into()),
            name: "Acme Traders".into(),
            whatsapp: Some(Phone::parse("9810000001", &CountryCode::india()).unwrap()),
            country: Some(CountryCode::india()),
            sales_rep: Some("Meera".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .upsert_invoices(
            &[NewInvoice {
                number: "INV-1".into(),
                buyer_id,
                order_date: None,
                invoice_date: date(2026, 10, 20),
                due_date: date(2026, 11, 27),
                credit_days: None,
                amount: Money::from_minor(1_18_000_00, Currency::INR),
                amount_paid: Money::zero(Currency::INR),
                status: InvoiceStatus::Pending,
                source: "test".into(),
                source_hash: "h1".into(),
                notes: None,
            }],
            t0(),
        )
        .await
        .unwrap();
    Arc::new(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_overview_invoice_and_mark_paid_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("TAGADA_REQUIRE_BROWSER").is_none(),
            "TAGADA_REQUIRE_BROWSER is set but chromium or chromedriver is missing"
        );
        eprintln!(
            "skipping the browser test: chromium and chromedriver are not installed \
             (apt-get install chromium chromium-driver)"
        );
        return;
    };

    // the ledger: one overdue invoice with a reminder queued (not yet sent)
    let store = ledger().await;
    let planner = PlannerConfig::default();
    let (plan, _) = tagada_app::planning::plan_and_apply(store.as_ref(), &planner, t0())
        .await
        .unwrap();
    assert!(!plan.messages.is_empty(), "{plan:?}");
    tagada_app::auth::add_user(
        store.as_ref(),
        "admin",
        "correct horse battery",
        Role::Admin,
        t0(),
    )
    .await
    .unwrap();
    let pay = PaymentsConfig::default();
    let state = HttpState {
        store: store.clone(),
        clock: Arc::new(SimClock::new(t0())),
        whatsapp: None,
        inbox: Arc::new(tokio::sync::Notify::new()),
        max_body_bytes: 1 << 20,
        indiamart_push: None,
        ledger: Some(LedgerHttp {
            gateways: Gateways::from_config(&pay),
            cfg: Arc::new(pay),
            planner: Arc::new(planner),
            home_country: CountryCode::india(),
            messaging_limit: 0,
            template_check_minutes: 60,
            preview: Default::default(),
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, tagada_http::router(state))
            .await
            .unwrap();
    });

    let port = free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"]
        }),
    );
    let c = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .expect("a WebDriver session in headless Chromium");
    let out = artifacts();
    let shot = |name: &'static str| {
        let c = c.clone();
        let out = out.clone();
        async move {
            let png = c.screenshot().await.unwrap();
            assert_eq!(&png[..4], b"\x89PNG");
            std::fs::write(out.join(name), png).unwrap();
        }
    };

    // log in
    c.goto(&format!("{base}/invoices/INV-1")).await.unwrap();
    let form = c.wait().for_element(Locator::Id("login")).await.unwrap();
    shot("login.png").await;
    form.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    form.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("correct horse battery")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // the overview, with its charts
    c.wait()
        .for_element(Locator::Id("outstanding"))
        .await
        .unwrap();
    let h1 = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1.trim(), "Overview");
    let outstanding = c
        .find(Locator::Id("outstanding"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(outstanding.contains("₹1,18,000.00"), "{outstanding}");
    let charts = c.find_all(Locator::Css("svg")).await.unwrap();
    assert!(charts.len() >= 3, "{} charts", charts.len());
    shot("overview.png").await;
    c.set_window_size(390, 844).await.unwrap();
    shot("overview-phone.png").await;
    c.set_window_size(1280, 900).await.unwrap();

    // the invoice page
    c.find(Locator::Id("nav-invoices"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::LinkText("INV-1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = c
        .wait()
        .for_element(Locator::Id("invoice-status"))
        .await
        .unwrap();
    assert!(
        status
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("pending"),
        "before: {}",
        status.text().await.unwrap()
    );
    shot("invoice.png").await;

    // mark it paid through the form
    let form = c.find(Locator::Id("mark-paid")).await.unwrap();
    form.find(Locator::Css("input[name=reference]"))
        .await
        .unwrap()
        .send_keys("UTR-BROWSER-1")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::XPath(
            "//*[@id='invoice-status'][contains(translate(., 'PAID', 'paid'), 'paid')]",
        ))
        .await
        .unwrap();
    let timeline = c
        .find(Locator::Id("timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(timeline.to_lowercase().contains("cancelled"), "{timeline}");
    assert!(
        timeline.contains("UTR-BROWSER-1") || timeline.contains("₹1,18,000.00"),
        "{timeline}"
    );
    shot("invoice-paid.png").await;
    c.set_window_size(390, 844).await.unwrap();
    shot("invoice-paid-phone.png").await;
    c.close().await.unwrap();

    // and the store agrees: paid, and the queued reminder cancelled
    let inv = store.find_invoice("INV-1").await.unwrap().unwrap();
    assert_eq!(inv.status, InvoiceStatus::Paid);
    let messages = store
        .list_messages(&OutboxFilter {
            invoice: Some(inv.id),
            ..Default::default()
        })
        .await
        .unwrap();
    let (thanks, reminders): (Vec<_>, Vec<_>) = messages
        .iter()
        .partition(|m| m.message.template_key == "payment_received");
    assert!(!reminders.is_empty());
    assert!(
        reminders
            .iter()
            .all(|m| m.status == OutboxStatus::Cancelled),
        "{reminders:?}"
    );
    // and the thank-you waits for the sender
    assert_eq!(thanks.len(), 1, "{messages:?}");
    assert_eq!(thanks[0].status, OutboxStatus::Pending);
}
