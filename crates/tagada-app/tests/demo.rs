//! The demo end to end on an in-memory SQLite store, every message sent
//! through the real WhatsApp client to the fake Cloud API, whose signed
//! webhooks (receipts, the buyers' replies) are ingested as tagada's
//! endpoint does: reminders go out inside business hours and reach the fake
//! once each, receipts are merged, and the buyers' "Paid already", promise,
//! complaint and STOP are acted on.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::{Timestamp, ToSpan};
use serde_json::Value;
use tagada_app::channel::Channel;
use tagada_app::clock::{Clock, SimClock};
use tagada_app::config::{Config, Overrides};
use tagada_app::demo::{DemoLedger, DemoOptions, DemoWhatsApp, run_demo};
use tagada_app::ledger_sync::SyncOptions;
use tagada_app::webhooks::ingest_whatsapp;
use tagada_app::whatsapp::{Secret, WhatsAppChannel, WhatsAppConfig, outbox_from_callback};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::{CountryCode, Phone};
use tagada_fakes::google::{GoogleFake, GoogleFakeConfig};
use tagada_fakes::meta::{MetaFake, MetaFakeConfig, WebhookBehaviour};
use tagada_sources::file::ImportOptions;
use tagada_sources::google::{
    HeaderRow, ServiceAccountKey, SheetsClient, SheetsTable, TokenSource,
};
use tagada_sources::table::LedgerTable;
use tagada_store::{
    InboxEntry, InboxFilter, InboxStore, LedgerStore, LedgerSyncStore, Migrate, OutboxFilter,
    OutboxStore, ReportStore, TimelineSubject,
};
use tagada_store_sqlite::SqliteStore;

/// The fake Cloud API with the real client in front of it.
struct FakeWhatsApp {
    fake: MetaFake,
    channel: WhatsAppChannel,
}

#[async_trait]
impl DemoWhatsApp for FakeWhatsApp {
    fn describe(&self) -> String {
        format!("WhatsApp: the fake Cloud API at {}", self.fake.base_url())
    }
    fn channel(&self) -> &dyn Channel {
        &self.channel
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

/// The webhook endpoint, as `tagada-http` serves it: signature checked,
/// events ingested at the demo's (simulated) time.
#[derive(Clone)]
struct Receiver {
    store: Arc<SqliteStore>,
    secret: Arc<Vec<u8>>,
    clock: SimClock,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match ingest_whatsapp(r.store.as_ref(), &r.secret, sig, &body, r.clock.now()).await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

fn registry(planner: &PlannerConfig) -> Vec<tagada_fakes::meta::FakeTemplate> {
    tagada_fakes::meta::account_from_listing(
        planner
            .templates
            .iter()
            .map(tagada_app::templates::expected_template),
    )
}

fn ist_date(t: Timestamp) -> jiff::civil::Date {
    t.to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap())
        .date()
}

fn wa_id(p: &Phone) -> String {
    p.as_str().trim_start_matches('+').to_string()
}

/// An empty store, the default configuration, a simulated clock and the
/// fake Cloud API posting its webhooks to tagada's endpoint.
async fn world() -> (Arc<SqliteStore>, Config, SimClock, FakeWhatsApp) {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    store.migrate().await.unwrap();
    let cfg = Config::load_with_env(None, &Overrides::default(), false).unwrap();
    let clock = SimClock::new(Timestamp::UNIX_EPOCH);
    let app_secret = MetaFakeConfig::default().app_secret;
    let app = axum::Router::new()
        .route("/webhooks/whatsapp", axum::routing::post(receive))
        .with_state(Receiver {
            store: store.clone(),
            secret: Arc::new(app_secret.into_bytes()),
            clock: clock.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fake = MetaFake::start(MetaFakeConfig {
        templates: registry(&cfg.planner),
        webhook_url: Some(format!("http://{addr}/webhooks/whatsapp")),
        webhooks: WebhookBehaviour {
            sent_after: Duration::from_millis(1),
            delivered_after: Duration::from_millis(1),
            read_after: Duration::from_millis(1),
            ..WebhookBehaviour::default()
        },
        seed: 7,
        ..MetaFakeConfig::default()
    })
    .await
    .unwrap();
    let channel = WhatsAppChannel::from_config(&WhatsAppConfig {
        enabled: true,
        base_url: fake.base_url(),
        phone_number_id: fake.config().phone_number_id.clone(),
        waba_id: fake.config().waba_id.clone(),
        access_token: Secret::new(fake.config().access_token.clone()),
        messages_per_second: 1000,
        per_recipient_interval_secs: 0,
        ..WhatsAppConfig::default()
    })
    .unwrap();
    (store, cfg, clock, FakeWhatsApp { fake, channel })
}

/// Runs the demo's default 30 days; returns its summary and what it printed.
async fn thirty_days(
    store: &SqliteStore,
    cfg: &Config,
    clock: &SimClock,
    wa: &FakeWhatsApp,
    ledger: Option<&dyn DemoLedger>,
) -> (tagada_app::demo::DemoSummary, String) {
    let mut out = Vec::new();
    let summary = run_demo(
        store,
        &cfg.planner,
        &DemoOptions::default(),
        clock,
        tagada_app::demo::DemoWorld {
            whatsapp: wa,
            leads: None,
            payments: None,
            ledger,
        },
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    println!("{text}");
    (summary, text)
}

/// The summary tables the demo folded day by day give the figures the facts
/// give, for each period the dashboard offers, for everyone and for one
/// sales rep; and they equal a summary built from scratch.
async fn summary_matches_the_facts(
    store: &SqliteStore,
    planner: &PlannerConfig,
    today: jiff::civil::Date,
) {
    use tagada_app::auth::Principal;
    use tagada_app::reports::{build_report, load_facts, parse_period};
    use tagada_app::summary::{refresh_summary, summary_report};
    use tagada_core::metrics::{SummaryKind, SummaryQuery, collection_curve};
    use tagada_store::{Role, SummaryStore};

    let neha = Principal {
        name: "neha".into(),
        role: Role::SalesRep {
            rep: " NEHA".into(),
        },
    };
    for who in [None, Some(&neha)] {
        let (facts, _) = load_facts(store, planner, who).await.unwrap();
        for code in [
            "30d",
            "month",
            "last-month",
            "90d",
            "ytd",
            "2026-10-01..2026-12-31",
        ] {
            let period = parse_period(code, today).unwrap();
            let view = summary_report(store, planner, period, today, who, None)
                .await
                .unwrap();
            assert_eq!(view.unfolded, 0);
            let (report, curve) = (view.report, view.curve);
            let want = build_report(store, planner, period, None, who)
                .await
                .unwrap();
            assert_eq!(report.collection, want.collection, "{code}, {who:?}");
            assert_eq!(report.dso_trend, want.dso_trend, "{code}, {who:?}");
            assert_eq!(
                curve,
                collection_curve(&facts, period, today, &planner.fx),
                "{code}"
            );
        }
    }
    let all = || {
        SummaryKind::ALL
            .into_iter()
            .map(|kind| SummaryQuery {
                kind,
                from: i64::MIN,
                to: i64::MAX,
                rep: None,
                by_day: true,
            })
            .collect::<Vec<_>>()
    };
    let non_zero = |rows: Vec<Vec<tagada_core::metrics::SummaryRow>>| {
        rows.into_iter()
            .map(|r| {
                r.into_iter()
                    .filter(|r| r.values.iter().any(|v| *v != 0))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let folded = non_zero(store.summary_sums(&all()).await.unwrap());
    assert!(folded[0].len() > 10, "owed rows: {:?}", folded[0]);
    store
        .summary_reset(planner.home_zone_name(), 1)
        .await
        .unwrap();
    // a view folds at most its limit and says how many are left
    let some = refresh_summary(store, planner, Some(20)).await.unwrap();
    assert_eq!(some.folded, 20);
    assert!(some.left > 10 && !some.rebuilt, "{some:?}");
    let period = parse_period("30d", today).unwrap();
    let partial = summary_report(store, planner, period, today, None, Some(10))
        .await
        .unwrap();
    assert_eq!(partial.unfolded, some.left - 10);
    let outcome = refresh_summary(store, planner, None).await.unwrap();
    assert!(outcome.folded > 0 && !outcome.rebuilt);
    assert_eq!(outcome.left, 0);
    assert_eq!(
        non_zero(store.summary_sums(&all()).await.unwrap()),
        folded,
        "folded day by day = built at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_of_the_demo_through_the_fake_cloud_api() {
    let (store, cfg, clock, wa) = world().await;
    let opts = DemoOptions::default();
    let (summary, text) = thirty_days(&store, &cfg, &clock, &wa, None).await;
    let last_day = clock
        .now()
        .to_zoned_datetime(cfg.planner.home_zone())
        .date();
    summary_matches_the_facts(&store, &cfg.planner, last_day).await;
    assert!(summary.reminders_sent > 10, "{summary:?}");
    assert!(summary.payments > 5, "{summary:?}");
    assert!(text.contains("Collection summary after 30 days"));

    // What the store says was sent is what the fake accepted: every
    // message once, and nothing else.
    let sent = store
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Sent],
            ..Default::default()
        })
        .await
        .unwrap();
    let (answers, reminders): (Vec<_>, Vec<_>) = sent.iter().partition(|m| m.message.is_reply());
    assert_eq!(reminders.len() as u32, summary.reminders_sent);
    assert_eq!(answers.len() as u32, summary.answers_sent);
    let accepted = wa.fake.accepted();
    let mut wamids: BTreeMap<i64, String> = BTreeMap::new();
    for a in &accepted {
        let id = a
            .biz_opaque_callback_data
            .as_deref()
            .and_then(outbox_from_callback)
            .expect("callback data names the outbox row");
        assert!(
            wamids.insert(id, a.wamid.clone()).is_none(),
            "outbox {id} reached the fake twice"
        );
    }
    let templates = accepted.iter().filter(|a| a.kind == "template").count();
    assert_eq!(templates as u32, summary.reminders_sent);
    assert_eq!(accepted.len(), sent.len());
    let sent_ids: BTreeSet<i64> = sent.iter().map(|m| m.id.get()).collect();
    assert_eq!(wamids.keys().copied().collect::<BTreeSet<_>>(), sent_ids);

    // The receipts came back as webhooks and were merged: all read, each
    // row carrying the fake's message id.
    for m in &sent {
        assert_eq!(m.delivery, Some(DeliveryStatus::Read), "{m:?}");
        assert_eq!(m.provider_id.as_ref(), wamids.get(&m.id.get()));
    }
    assert_eq!(summary.read as usize, sent.len());
    assert!(text.contains("✓✓ read"), "{text}");

    let mut per_buyer_day = HashSet::new();
    for m in &reminders {
        let at = m.sent_at.expect("sent messages have a time");
        let buyer = store.get_buyer(m.buyer_id).await.unwrap();
        let country = buyer.country.clone().unwrap_or_else(CountryCode::india);
        let zone = jiff::tz::TimeZone::get(buyer.zone_name(&cfg.planner.home_time_zone)).unwrap();
        // Inside the buyer's business hours, on a business day of their country.
        assert!(
            cfg.planner.calendar_for(&country).is_open(at, &zone),
            "{} at {at} for {}",
            m.id,
            buyer.name
        );
        // At most one reminder per buyer per local day.
        let day = zone.to_datetime(at).date();
        assert!(
            per_buyer_day.insert((m.buyer_id, day)),
            "two reminders to {} on {day}",
            buyer.name
        );
        // Never to an opted-out buyer, never for an invoice already settled or disputed.
        if let Some(out) = buyer.opted_out_at {
            assert!(at <= out, "{} reminded after opting out", buyer.name);
        }
        assert!(buyer.whatsapp.is_some());
        for id in &m.invoice_ids {
            let inv = store.get_invoice(*id).await.unwrap();
            if let Some(paid) = inv.paid_at {
                assert!(at < paid, "{} reminded after it was paid", inv.number);
            }
        }
    }
    // The buyer without a valid number never got anything, and is listed why.
    let jain = store.find_buyer("jain-steel").await.unwrap().unwrap();
    assert!(sent.iter().all(|m| m.buyer_id != jain.id));
    assert_eq!(
        summary.not_reminded.get("no valid WhatsApp number"),
        Some(&1)
    );

    // The buyers' replies arrived as webhooks, on the simulated days, and
    // were each acted on.
    let inbox = store.list_inbox(&InboxFilter::default()).await.unwrap();
    assert_eq!(inbox.len() as u32, summary.buyer_replies);
    let ist = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
    let first_day = opts
        .start
        .to_zoned_datetime(ist.clone())
        .unwrap()
        .timestamp();
    let last_day = opts
        .start
        .checked_add(31.days())
        .unwrap()
        .to_zoned_datetime(ist)
        .unwrap()
        .timestamp();
    for e in &inbox {
        assert!(e.handling.is_some(), "{e:?}");
        assert!(
            e.sent_at >= first_day && e.sent_at <= last_day,
            "a reply stamped off the simulated clock: {e:?}"
        );
    }
    let reply_of = |key: &str| {
        let inbox = inbox.clone();
        let store = store.clone();
        let key = key.to_string();
        async move {
            let buyer = store.find_buyer(&key).await.unwrap().unwrap();
            let entries: Vec<InboxEntry> = inbox
                .into_iter()
                .filter(|e| e.buyer_id == Some(buyer.id))
                .collect();
            assert_eq!(entries.len(), 1, "{key}: {entries:#?}");
            (buyer, entries.into_iter().next().unwrap())
        }
    };
    let answers_to = |buyer: &tagada_core::ledger::Buyer| {
        let to = wa_id(buyer.whatsapp.as_ref().unwrap());
        accepted
            .iter()
            .filter(|a| a.to == to && a.kind != "template")
            .cloned()
            .collect::<Vec<_>>()
    };

    // "Paid already": the invoice went in process (the money came later).
    let (mansoori, paid) = reply_of("al-mansoori").await;
    let handling = paid.handling.as_ref().unwrap();
    assert_eq!(handling.intent, "paid_already");
    assert!(paid.outbox_id.is_some(), "the tap names the reminder");
    assert!(
        handling.action.contains("INV-2001 in process"),
        "{handling:?}"
    );
    assert!(text.contains("tapped “Paid already” → buyer says paid: INV-2001 in process"));
    let inv = store.find_invoice("INV-2001").await.unwrap().unwrap();
    let timeline = store
        .timeline(TimelineSubject::Invoice(inv.id))
        .await
        .unwrap();
    assert!(
        timeline.iter().any(|e| e.text.contains("in process")),
        "{timeline:#?}"
    );
    assert_eq!(answers_to(&mansoori).len(), 1, "acknowledged once");

    // A promise: the invoice snoozed until the promised day, no reminder
    // meanwhile, and the money came that day.
    let (mehta, promise) = reply_of("mehta-engg").await;
    let handling = promise.handling.as_ref().unwrap();
    assert_eq!(handling.intent, "promise_to_pay");
    let promised = handling.promise_date.expect("the date understood");
    assert!(
        handling.action.contains("INV-1004 snoozed until then"),
        "{handling:?}"
    );
    let inv = store.find_invoice("INV-1004").await.unwrap().unwrap();
    let paid_on = ist_date(inv.paid_at.expect("paid as promised"));
    assert_eq!(paid_on, promised);
    assert!(
        reminders
            .iter()
            .filter(|m| m.invoice_ids.contains(&inv.id))
            .all(|m| m.sent_at.unwrap() < promise.sent_at),
        "reminded while snoozed"
    );
    assert_eq!(answers_to(&mehta).len(), 1, "acknowledged once");

    // STOP: opted out, confirmed on WhatsApp, and no reminder since.
    let (lakeside, stop) = reply_of("lakeside").await;
    assert_eq!(stop.handling.as_ref().unwrap().intent, "stop");
    assert!(lakeside.opted_out_at.is_some());
    let confirmation = answers_to(&lakeside);
    assert_eq!(confirmation.len(), 1);
    assert!(
        confirmation[0].body["text"]["body"]
            .as_str()
            .unwrap()
            .contains("not get any more payment reminders"),
        "{}",
        confirmation[0].body
    );
    assert!(
        reminders
            .iter()
            .filter(|m| m.buyer_id == lakeside.id)
            .all(|m| m.sent_at.unwrap() < stop.sent_at)
    );

    // "Send invoice copy": the PDF went out as a document.
    let (miller, copy) = reply_of("miller-home").await;
    assert_eq!(copy.handling.as_ref().unwrap().intent, "send_invoice_copy");
    let docs = answers_to(&miller);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0].kind, "document");
    assert!(
        docs[0].body["document"]["link"]
            .as_str()
            .unwrap()
            .ends_with("/INV-3001.pdf"),
        "{}",
        docs[0].body
    );

    // A complaint: a person reads it and records the dispute, which stops
    // the reminders for that invoice.
    let (_, complaint) = reply_of("deccan-pharma").await;
    let handling = complaint.handling.as_ref().unwrap();
    assert_eq!(handling.intent, "other");
    assert!(handling.needs_attention);
    let disputed = store.find_invoice("INV-1005").await.unwrap().unwrap();
    assert_eq!(disputed.status, InvoiceStatus::Disputed);
    let after_dispute = reminders
        .iter()
        .filter(|m| m.invoice_ids.contains(&disputed.id))
        .count();
    assert_eq!(
        after_dispute, 1,
        "only the reminder the buyer answered with the complaint"
    );
    wa.fake.shutdown().await;
}

// --- The demo with its ledger in the fake Google Sheet ---------------------

const SHEET: &str = "1DemoLedger0000000000000000000000000000000";
const TAB: &str = "Orders";

/// The fake sheet, tagada's real Sheets client in front of it, and the
/// accountant's hands on the sheet itself.
struct FakeSheetLedger {
    fake: GoogleFake,
    table: SheetsTable,
    options: SyncOptions,
}

impl FakeSheetLedger {
    async fn start() -> FakeSheetLedger {
        let fake = GoogleFake::start(GoogleFakeConfig::default())
            .await
            .unwrap();
        fake.add_spreadsheet(SHEET);
        let key =
            ServiceAccountKey::from_json(&fake.service_account_key_json(), "fake key").unwrap();
        let tokens = TokenSource::new(key, Arc::new(fake.clock_fn())).unwrap();
        let client = SheetsClient::new(
            Some(&fake.base_url()),
            Arc::new(tokens),
            SHEET,
            tagada_sources::google::Pacing {
                min_interval: Duration::from_millis(1),
                ..tagada_sources::google::Pacing::default()
            },
        )
        .unwrap();
        let options = SyncOptions {
            source: format!("sheets:{SHEET}/{TAB}"),
            import: ImportOptions::default(),
            write_errors: true,
            timeline_base: "https://tagada.example.com".into(),
            time_zone: jiff::tz::TimeZone::get("Asia/Kolkata").unwrap(),
            max_delete_percent: 20,
            dry_run: false,
        };
        FakeSheetLedger {
            table: SheetsTable::new(Arc::new(client), TAB, HeaderRow::Detect),
            fake,
            options,
        }
    }

    fn grid(&self) -> Vec<Vec<Value>> {
        self.fake.values(SHEET, TAB).unwrap()
    }

    /// The sheet as text: the header, and each row by invoice number.
    fn rows(&self) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let grid = self.grid();
        let header: Vec<String> = grid[0].iter().map(text).collect();
        let rows = grid[1..]
            .iter()
            .map(|r| {
                let mut cells: Vec<String> = r.iter().map(text).collect();
                cells.resize(header.len(), String::new());
                (cells[0].clone(), cells)
            })
            .collect();
        (header, rows)
    }

    fn position(&self, number: &str) -> usize {
        self.grid()
            .iter()
            .position(|r| r.first().and_then(Value::as_str) == Some(number))
            .unwrap_or_else(|| panic!("no row {number}"))
    }
}

impl DemoLedger for FakeSheetLedger {
    fn describe(&self) -> String {
        format!("Ledger: the fake Google Sheet at {}", self.fake.base_url())
    }
    fn table(&self) -> &dyn LedgerTable {
        &self.table
    }
    fn options(&self) -> &SyncOptions {
        &self.options
    }
    fn fill(&self, header: &[&str], rows: &[Vec<String>]) {
        let mut grid = vec![header.iter().map(|h| Value::from(*h)).collect::<Vec<_>>()];
        grid.extend(
            rows.iter()
                .map(|r| r.iter().map(|c| Value::from(c.as_str())).collect()),
        );
        self.fake.set_values(SHEET, TAB, grid);
    }
    fn edit(&self, number: &str, column: &str, value: &str) {
        let grid = self.grid();
        let col = grid[0]
            .iter()
            .position(|h| h.as_str() == Some(column))
            .unwrap_or_else(|| panic!("no column {column}"));
        let cell = format!(
            "{}{}",
            tagada_sources::google::a1::column_letters(u32::try_from(col).unwrap() + 1),
            self.position(number) + 1
        );
        self.fake.edit_cell(SHEET, TAB, &cell, &Value::from(value));
    }
    fn add_row(&self, cells: &[(&str, String)]) {
        let mut grid = self.grid();
        let row = grid[0]
            .iter()
            .map(|h| {
                cells
                    .iter()
                    .find(|(k, _)| Some(*k) == h.as_str())
                    .map_or(Value::from(""), |(_, v)| Value::from(v.as_str()))
            })
            .collect();
        grid.push(row);
        self.fake.set_values(SHEET, TAB, grid);
    }
    fn delete_row(&self, number: &str) {
        let row = u64::try_from(self.position(number)).unwrap() + 1;
        self.fake.delete_row(SHEET, TAB, row);
    }
    fn clock_set(&self, now: Timestamp) {
        self.fake.set_clock(now);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_days_with_the_ledger_in_the_fake_sheet() {
    let (store, cfg, clock, wa) = world().await;
    let sheet = FakeSheetLedger::start().await;
    let (summary, text) = thirty_days(&store, &cfg, &clock, &wa, Some(&sheet)).await;
    let figures = summary.ledger.clone().expect("ledger figures");
    assert_eq!(figures.syncs, 31, "one a day, and one at the end");

    // The open orders came from the sheet: every sample invoice but the
    // past year's (which the store was seeded with) has the sheet as its
    // source; the unfinished row was refused, with its reason in the sheet.
    let invoices = store.list_invoices(&Default::default()).await.unwrap();
    let synced: BTreeSet<_> = store
        .ledger_rows(&sheet.options.source)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.invoice_id)
        .collect();
    let from_sheet: Vec<_> = invoices.iter().filter(|i| synced.contains(&i.id)).collect();
    assert_eq!(
        from_sheet.len(),
        20,
        "19 sample orders and the one added during the demo"
    );
    assert!(invoices.iter().all(|i| i.number != "INV-1018"));
    assert!(text.contains("✗ row "), "{text}");
    let (header, rows) = sheet.rows();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert!(
        rows["INV-1018"][col("tagada_error")].contains("Amount"),
        "{:?}",
        rows["INV-1018"]
    );
    assert!(rows["INV-1018"][col("tagada_id")].is_empty());

    // Phone numbers typed with leading zeros (and `0091`) are as typed.
    assert_eq!(rows["INV-1002"][col("WhatsApp")], "098470 12345");
    assert_eq!(rows["INV-1006"][col("WhatsApp")], "0091 9824012345");

    // The reminders went out, and each reminded row shows its last one.
    assert!(summary.reminders_sent > 10, "{summary:?}");
    let sent = store
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Sent],
            ..Default::default()
        })
        .await
        .unwrap();
    for inv in &from_sheet {
        let Some(row) = rows.get(&inv.number) else {
            assert_eq!(inv.number, "INV-4002", "only the deleted row is gone");
            continue;
        };
        assert_eq!(
            row[col("tagada_id")],
            format!("T{}", inv.id.get()),
            "{row:?}"
        );
        assert_eq!(
            row[col("Payment Status")],
            tagada_app::ledger_sync::status_label(inv.status),
            "{} in the sheet: {row:?}",
            inv.number
        );
        let reminded = sent
            .iter()
            .any(|m| !m.message.is_reply() && m.invoice_ids.contains(&inv.id));
        assert_eq!(
            !row[col("Last Reminder")].is_empty(),
            reminded,
            "{}: {row:?}",
            inv.number
        );
    }

    // The accountant's amount correction was taken in.
    let corrected = store.find_invoice("INV-1009").await.unwrap().unwrap();
    assert_eq!(corrected.amount.minor(), 12_750_000);

    // The order added mid-month was read, reminded and paid, and the sheet says so.
    let added = store.find_invoice("INV-1021").await.unwrap().unwrap();
    assert_eq!(added.status, InvoiceStatus::Paid, "{added:?}");
    assert!(sent.iter().any(|m| m.invoice_ids.contains(&added.id)));
    assert_eq!(rows["INV-1021"][col("Payment Status")], "Paid");

    // The deleted row: its invoice is kept, with no reminder after the
    // sync that saw it gone, and a note saying why.
    assert!(!rows.contains_key("INV-4002"));
    let deleted = store.find_invoice("INV-4002").await.unwrap().unwrap();
    let timeline = store
        .timeline(TimelineSubject::Invoice(deleted.id))
        .await
        .unwrap();
    let gone_at = timeline
        .iter()
        .find(|e| e.text.contains("was deleted"))
        .unwrap_or_else(|| panic!("{timeline:#?}"))
        .at;
    assert!(
        sent.iter()
            .filter(|m| m.invoice_ids.contains(&deleted.id))
            .all(|m| m.sent_at.unwrap() < gone_at)
    );
    assert_eq!(figures.rows_deleted, 1);

    // The bank transfers of the punctual buyers, entered by the accountant
    // in Amount Paid: recorded as payments, the invoices paid, and no
    // reminder after the sync that read them.
    for number in ["INV-1001", "INV-2002", "INV-4001"] {
        let inv = store.find_invoice(number).await.unwrap().unwrap();
        assert_eq!(inv.status, InvoiceStatus::Paid, "{inv:?}");
        assert_eq!(inv.amount_paid, inv.amount, "{inv:?}");
        let paid = inv.paid_at.unwrap();
        assert!(
            sent.iter()
                .filter(|m| !m.message.is_reply() && m.invoice_ids.contains(&inv.id))
                .all(|m| m.sent_at.unwrap() < paid),
            "{number} reminded after the sheet said Paid"
        );
        assert_eq!(rows[number][col("Payment Status")], "Paid");
    }

    // Everything tagada had to write is in the sheet: one more sync finds
    // nothing to write, and the fake never answered 429.
    let again =
        tagada_app::ledger_sync::sync(store.as_ref(), &sheet.table, &sheet.options, clock.now())
            .await
            .unwrap();
    assert_eq!(again.cell_changes, 0, "{again:?}");
    assert_eq!(again.invoices_updated, 0, "{again:?}");
    assert!(
        sheet.fake.sheets_requests().iter().all(|r| r.status == 200),
        "{:?}",
        sheet.fake.sheets_requests()
    );
    assert!(text.contains("The ledger table now"), "{text}");
    sheet.fake.shutdown().await;
    wa.fake.shutdown().await;
}
