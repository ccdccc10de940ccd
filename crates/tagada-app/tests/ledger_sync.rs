//! The two-way ledger sync against the Airtable and Google Sheets fakes,
//! over real HTTP: a table of orders is read, reminded and written back; a
//! person's edits (an amount, a status typed as Paid, a new row, a deleted
//! row) are picked up at the next sync; a person's edit of a column tagada
//! owns, made while tagada recorded a payment, is resolved by the rules and
//! noted; quota errors are absorbed without losing a write; leading zeros in
//! invoice and phone numbers survive.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tagada_app::channel::{SharedBuffer, TerminalChannel};
use tagada_app::clock::SimClock;
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_app::ledger_sync::{self, SyncOptions, SyncReport};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::{Currency, Money};
use tagada_fakes::airtable::{AirtableFake, AirtableFakeConfig};
use tagada_fakes::google::{GoogleFake, GoogleFakeConfig};
use tagada_sources::airtable::{AirtableClient, AirtableTable, Pacing};
use tagada_sources::file::ImportOptions;
use tagada_sources::google::{
    HeaderRow, ServiceAccountKey, SheetsClient, SheetsTable, TokenSource,
};
use tagada_sources::table::LedgerTable;
use tagada_store::{LedgerStore, LedgerSyncStore, Migrate, NewPayment};
use tagada_store_sqlite::SqliteStore;

const BASE: &str = "appLedger0000001";
const TABLE: &str = "Orders";
const TOKEN: &str = "patFakeAirtable.0000000000000000";

/// Monday 7 December 2026, 10:30 in Kolkata.
fn t0() -> Timestamp {
    "2026-12-07T05:00:00Z".parse().unwrap()
}

/// A person working in the table.
trait Person {
    /// The cell of the row with this invoice number, as text.
    fn get(&self, number: &str, column: &str) -> String;
    fn set(&self, number: &str, column: &str, value: &str);
    fn delete(&self, number: &str);
    fn add(&self, fields: &[(&str, &str)]);
    fn count(&self) -> usize;
}

fn order(n: usize) -> Vec<(String, String)> {
    vec![
        ("Invoice No".into(), format!("{n:06}")),
        ("Party Name".into(), format!("Buyer {n} Traders")),
        ("WhatsApp".into(), format!("098765{n:05}")),
        ("Invoice Date".into(), "2026-10-16".into()),
        ("Due Date".into(), "2026-11-15".into()),
        ("Amount".into(), format!("{}", 1000 + n)),
        ("Currency".into(), "INR".into()),
        ("Consent".into(), "yes".into()),
    ]
}

const OWNED: [&str; 9] = [
    "Payment Status",
    "Amount Paid",
    "Last Reminder",
    "Reminder Step",
    "Delivery",
    "Next Reminder",
    "Last Reply",
    "Timeline",
    "tagada_id",
];

// --- Airtable --------------------------------------------------------------

struct AirtablePerson(Arc<AirtableFake>);

impl AirtablePerson {
    fn id_of(&self, number: &str) -> String {
        self.0
            .records(BASE, TABLE)
            .into_iter()
            .find(|r| r.fields.get("Invoice No").and_then(Value::as_str) == Some(number))
            .unwrap_or_else(|| panic!("no record {number}"))
            .id
    }
}

impl Person for AirtablePerson {
    fn get(&self, number: &str, column: &str) -> String {
        let id = self.id_of(number);
        let rec = self.0.record(BASE, TABLE, &id).unwrap();
        match rec.fields.get(column) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }
    fn set(&self, number: &str, column: &str, value: &str) {
        let id = self.id_of(number);
        let mut m = Map::new();
        m.insert(column.into(), Value::String(value.into()));
        self.0.edit_record(BASE, TABLE, &id, m);
    }
    fn delete(&self, number: &str) {
        let id = self.id_of(number);
        assert!(self.0.delete_record(BASE, TABLE, &id));
    }
    fn add(&self, fields: &[(&str, &str)]) {
        let m: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
            .collect();
        self.0.add_record(BASE, TABLE, m);
    }
    fn count(&self) -> usize {
        self.0.records(BASE, TABLE).len()
    }
}

async fn airtable(n: usize) -> (Arc<AirtableFake>, AirtableTable) {
    let fake = AirtableFake::start(AirtableFakeConfig {
        penalty: Duration::from_millis(50),
        quota_off: true,
        ..AirtableFakeConfig::default()
    })
    .await
    .unwrap();
    let records: Vec<Map<String, Value>> = (1..=n)
        .map(|i| {
            order(i)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        })
        .collect();
    fake.add_table(BASE, TABLE, records);
    let names: Vec<String> = order(1).into_iter().map(|(k, _)| k).collect();
    let mut fields: Vec<&str> = names.iter().map(String::as_str).collect();
    fields.extend(OWNED);
    fields.push("tagada_error");
    fake.set_fields(BASE, TABLE, &fields);
    let client = AirtableClient::new(
        Some(&fake.base_url()),
        SecretString::from(TOKEN.to_string()),
        BASE,
        Pacing {
            min_interval: Duration::from_millis(1),
            penalty: Duration::from_millis(50),
            server_error_backoff: Duration::from_millis(10),
            ..Pacing::default()
        },
    )
    .unwrap();
    let table = AirtableTable::new(client, TABLE, "Invoice No");
    (Arc::new(fake), table)
}

// --- Google Sheets ---------------------------------------------------------

const SHEET: &str = "1LedgerSheet000000000000000000000000000000";
const TAB: &str = "Orders 2026";

struct SheetPerson(Arc<GoogleFake>);

impl SheetPerson {
    fn grid(&self) -> Vec<Vec<Value>> {
        self.0.values(SHEET, TAB).unwrap()
    }
    fn col(&self, column: &str) -> usize {
        self.grid()[0]
            .iter()
            .position(|h| h.as_str() == Some(column))
            .unwrap_or_else(|| panic!("no column {column}"))
    }
    fn row(&self, number: &str) -> usize {
        self.grid()
            .iter()
            .position(|r| r.first().and_then(Value::as_str) == Some(number))
            .unwrap_or_else(|| panic!("no row {number}"))
    }
}

impl Person for SheetPerson {
    fn get(&self, number: &str, column: &str) -> String {
        let row = self.row(number);
        let col = self.col(column);
        match self.grid()[row].get(col) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }
    fn set(&self, number: &str, column: &str, value: &str) {
        let cell = format!(
            "{}{}",
            tagada_sources::google::a1::column_letters(
                u32::try_from(self.col(column)).unwrap() + 1
            ),
            self.row(number) + 1
        );
        self.0
            .edit_cell(SHEET, TAB, &cell, &Value::String(value.into()));
    }
    fn delete(&self, number: &str) {
        self.0
            .delete_row(SHEET, TAB, u64::try_from(self.row(number)).unwrap() + 1);
    }
    fn add(&self, fields: &[(&str, &str)]) {
        let mut grid = self.grid();
        let header: Vec<String> = grid[0]
            .iter()
            .map(|h| h.as_str().unwrap_or_default().to_string())
            .collect();
        let row: Vec<Value> = header
            .iter()
            .map(|h| {
                fields
                    .iter()
                    .find(|(k, _)| k == h)
                    .map_or(Value::String(String::new()), |(_, v)| {
                        Value::String((*v).to_string())
                    })
            })
            .collect();
        grid.push(row);
        self.0.set_values(SHEET, TAB, grid);
    }
    fn count(&self) -> usize {
        self.grid().len() - 1
    }
}

async fn sheet(n: usize) -> (Arc<GoogleFake>, SheetsTable) {
    let fake = GoogleFake::start(GoogleFakeConfig {
        read_requests_per_minute: 600,
        write_requests_per_minute: 600,
        ..GoogleFakeConfig::default()
    })
    .await
    .unwrap();
    fake.add_spreadsheet(SHEET);
    let mut grid: Vec<Vec<Value>> = vec![
        order(1)
            .into_iter()
            .map(|(k, _)| Value::String(k))
            .collect(),
    ];
    grid.extend((1..=n).map(|i| {
        order(i)
            .into_iter()
            .map(|(_, v)| Value::String(v))
            .collect()
    }));
    fake.set_values(SHEET, TAB, grid);
    let key = ServiceAccountKey::from_json(&fake.service_account_key_json(), "fake key").unwrap();
    let tokens = TokenSource::new(key, Arc::new(fake.clock_fn())).unwrap();
    let client = SheetsClient::new(
        Some(&fake.base_url()),
        Arc::new(tokens),
        SHEET,
        tagada_sources::google::Pacing {
            min_interval: Duration::from_millis(1),
            backoff_base: Duration::from_millis(5),
            backoff_cap: Duration::from_millis(50),
            ..tagada_sources::google::Pacing::default()
        },
    )
    .unwrap();
    let table = SheetsTable::new(Arc::new(client), TAB, HeaderRow::Detect);
    (Arc::new(fake), table)
}

// --- The scenario, for either service --------------------------------------

fn options(source: &str) -> SyncOptions {
    SyncOptions {
        source: source.into(),
        import: ImportOptions {
            date_order: tagada_sources::file::DateOrder::DayFirst,
            ..ImportOptions::default()
        },
        write_errors: true,
        timeline_base: "https://tagada.example.com".into(),
        time_zone: jiff::tz::TimeZone::get("Asia/Kolkata").unwrap(),
        max_delete_percent: 50,
        dry_run: false,
    }
}

async fn store() -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    s
}

async fn sync_ok(
    store: &SqliteStore,
    table: &dyn LedgerTable,
    opts: &SyncOptions,
    now: Timestamp,
) -> SyncReport {
    ledger_sync::sync(store, table, opts, now)
        .await
        .unwrap_or_else(|e| panic!("sync failed: {e}"))
}

/// Plans and sends every reminder due at `now` through the terminal channel.
async fn remind(store: &SqliteStore, now: Timestamp) -> u32 {
    let cfg = PlannerConfig::default();
    tagada_app::planning::plan_and_apply(store, &cfg, now)
        .await
        .unwrap();
    let clock = SimClock::new(now);
    let channel = TerminalChannel::to_writer(SharedBuffer::default());
    let zone = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
    let mut sent = 0;
    loop {
        let step = dispatch_step(
            store,
            &channel,
            &clock,
            &DispatchConfig::default(),
            "w",
            &zone,
        )
        .await
        .unwrap();
        if step.claimed == 0 {
            break;
        }
        sent += step.sent;
    }
    sent
}

async fn scenario(person: &dyn Person, table: &dyn LedgerTable, source: &str, n: usize) {
    let store = store().await;
    let opts = options(source);
    let now = t0();

    // A row a person got wrong is reported where they work.
    person.add(&[
        ("Invoice No", "BAD-1"),
        ("Party Name", "Nobody"),
        ("Invoice Date", "2026-10-16"),
        ("Amount", "twelve hundred"),
    ]);

    let first = sync_ok(&store, table, &opts, now).await;
    assert_eq!(first.invoices_created as usize, n, "{first:?}");
    assert_eq!(first.rejected.len(), 1, "{:?}", first.rejected);
    assert!(
        first.rejected[0].reason.contains("amount"),
        "{:?}",
        first.rejected
    );
    assert!(person.get("BAD-1", "tagada_error").contains("amount"));
    // Leading zeros untouched, tagada's columns filled.
    assert_eq!(person.get("000007", "Invoice No"), "000007");
    assert_eq!(person.get("000007", "WhatsApp"), "09876500007");
    assert_eq!(person.get("000007", "Payment Status"), "Pending");
    assert_eq!(person.get("000007", "Amount Paid"), "0.00");
    assert!(person.get("000007", "tagada_id").starts_with('T'));
    assert_eq!(
        person.get("000007", "Timeline"),
        "https://tagada.example.com/invoices/000007"
    );
    let inv = store.find_invoice("000007").await.unwrap().unwrap();
    assert_eq!(inv.amount, Money::from_minor(1007 * 100, Currency::INR));
    let buyer = store.get_buyer(inv.buyer_id).await.unwrap();
    assert_eq!(buyer.whatsapp.unwrap().as_str(), "+919876500007");

    // Reminded, then written back.
    let sent = remind(&store, now).await;
    assert_eq!(sent as usize, n, "one reminder per buyer");
    let later = now + jiff::SignedDuration::from_mins(5);
    let second = sync_ok(&store, table, &opts, later).await;
    assert_eq!(second.invoices_created, 0);
    assert_eq!(second.rows_written as usize, n, "{second:?}");
    assert!(second.conflicts.is_empty(), "{:?}", second.conflicts);
    assert_eq!(person.get("000007", "Last Reminder"), "2026-12-07 10:30");
    assert_eq!(person.get("000007", "Delivery"), "Sent");
    assert!(!person.get("000007", "Reminder Step").is_empty());

    // Nothing changed: nothing written, and nothing asked but the read
    // (columns no row fills yet, such as Last Reply, are not probed again).
    let before = table.requests();
    table.read().await.unwrap();
    let read_cost = table.requests() - before;
    let idle = sync_ok(&store, table, &opts, later).await;
    assert_eq!(idle.rows_written, 0, "{:?}", idle.changes);
    assert_eq!(idle.invoices_updated, 0);
    assert!(idle.columns_added.is_empty(), "{:?}", idle.columns_added);
    assert_eq!(
        table.requests() - before - read_cost,
        read_cost,
        "an idle sync costs one read"
    );

    // A person's edits.
    person.set("000002", "Amount", "2500");
    person.set("000003", "Payment Status", "Paid");
    person.delete("000004");
    let mut new_row: Vec<(&str, &str)> = vec![
        ("Invoice No", "009999"),
        ("Party Name", "Fresh Buyer"),
        ("WhatsApp", "+971501234567"),
        ("Invoice Date", "2026-11-20"),
        ("Due Date", "2026-12-20"),
        ("Amount", "4200"),
        ("Currency", "AED"),
    ];
    new_row.push(("Consent", "yes"));
    person.add(&new_row);
    // Meanwhile tagada records a part payment of 000005, and a person
    // scribbles over its last-reminder cell.
    let five = store.find_invoice("000005").await.unwrap().unwrap();
    store
        .record_payment(
            &NewPayment {
                invoice_number: Some("000005".into()),
                invoice_id: Some(five.id),
                buyer_id: Some(five.buyer_id),
                amount: Money::from_minor(500 * 100, Currency::INR),
                received_at: later,
                method: PaymentMethod::Razorpay,
                reference: Some("pay_part_5".into()),
            },
            later,
        )
        .await
        .unwrap();
    person.set("000005", "Last Reminder", "called him instead");
    // And tagada records a full payment of 000006 while a person types
    // "In process" over its status.
    let six = store.find_invoice("000006").await.unwrap().unwrap();
    store
        .record_payment(
            &NewPayment {
                invoice_number: Some("000006".into()),
                invoice_id: Some(six.id),
                buyer_id: Some(six.buyer_id),
                amount: six.amount,
                received_at: later,
                method: PaymentMethod::Razorpay,
                reference: Some("pay_full_6".into()),
            },
            later,
        )
        .await
        .unwrap();
    person.set("000006", "Payment Status", "In process");

    let third = sync_ok(&store, table, &opts, later).await;
    assert_eq!(third.invoices_created, 1, "{third:?}");
    assert_eq!(
        store.find_invoice("000002").await.unwrap().unwrap().amount,
        Money::from_minor(2500 * 100, Currency::INR)
    );
    let three = store.find_invoice("000003").await.unwrap().unwrap();
    assert_eq!(three.status, InvoiceStatus::Paid);
    let fresh = store.find_invoice("009999").await.unwrap().unwrap();
    assert_eq!(fresh.amount.currency(), Currency::AED);
    let four = store.find_invoice("000004").await.unwrap().unwrap();
    assert!(four.paused, "a deleted row pauses its invoice");
    assert_eq!(third.deleted.len(), 1, "{:?}", third.deleted);
    let notes = store.list_notes(four.buyer_id).await.unwrap();
    assert!(
        notes.iter().any(|n| n.text.contains("deleted")),
        "{notes:?}"
    );
    // The tagada-owned cell is restored, the payment shown, and both noted.
    assert_eq!(person.get("000005", "Last Reminder"), "2026-12-07 10:30");
    assert_eq!(person.get("000005", "Amount Paid"), "500.00");
    assert_eq!(person.get("000005", "Payment Status"), "Partially paid");
    assert_eq!(person.get("000006", "Payment Status"), "Paid");
    assert_eq!(third.conflicts.len(), 2, "{:?}", third.conflicts);
    let notes5 = store.list_notes(five.buyer_id).await.unwrap();
    assert!(
        notes5.iter().any(|n| n.text.contains("Last Reminder")),
        "{notes5:?}"
    );
    let notes6 = store.list_notes(six.buyer_id).await.unwrap();
    assert!(
        notes6.iter().any(|n| n.text.contains("conflict")),
        "{notes6:?}"
    );
    assert_eq!(
        store.find_invoice("000006").await.unwrap().unwrap().status,
        InvoiceStatus::Paid
    );
    // The paid and deleted invoices get no further reminder; the others do.
    let cfg = PlannerConfig::default();
    let plan = tagada_app::planning::build_plan(
        &store,
        &cfg,
        now + jiff::SignedDuration::from_hours(24 * 15),
        tagada_app::planning::Scope::Due,
    )
    .await
    .unwrap();
    let planned: std::collections::HashSet<_> = plan
        .messages
        .iter()
        .flat_map(|m| m.items.iter().map(|i| i.invoice_id))
        .collect();
    assert!(!planned.contains(&three.id) && !planned.contains(&four.id));
    assert!(planned.contains(&store.find_invoice("000008").await.unwrap().unwrap().id));

    // A deleted row never deletes history.
    assert!(store.find_invoice("000004").await.unwrap().is_some());
    let runs = store.list_ledger_runs(Some(source), 10).await.unwrap();
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r.run.outcome == "synced"));
    assert_eq!(person.count(), n + 1 + 1 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airtable_orders_are_read_reminded_and_written_back() {
    let (fake, table) = airtable(300).await;
    let person = AirtablePerson(Arc::clone(&fake));
    scenario(&person, &table, "airtable:appLedger0000001/Orders", 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airtable_quota_errors_lose_no_write() {
    let (fake, table) = airtable(40).await;
    let store = store().await;
    let opts = options("airtable:q");
    sync_ok(&store, &table, &opts, t0()).await;
    // Every row changes; the service refuses twice on the way.
    for n in 1..=40 {
        AirtablePerson(Arc::clone(&fake)).set(&format!("{n:06}"), "Payment Status", "Disputed");
    }
    fake.fail_next(2, 429);
    let r = sync_ok(&store, &table, &opts, t0()).await;
    assert_eq!(r.write_failures, vec![]);
    for n in 1..=40 {
        let inv = store
            .find_invoice(&format!("{n:06}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(inv.status, InvoiceStatus::Disputed);
    }
    // A duplicated invoice number is reported, not merged.
    AirtablePerson(Arc::clone(&fake)).add(&[
        ("Invoice No", "000001"),
        ("Party Name", "Someone Else"),
        ("Invoice Date", "2026-10-16"),
        ("Amount", "99"),
    ]);
    let r = sync_ok(&store, &table, &opts, t0()).await;
    assert_eq!(r.rejected.len(), 1, "{:?}", r.rejected);
    assert!(
        r.rejected[0].reason.contains("duplicate"),
        "{:?}",
        r.rejected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_of_5000_orders_is_read_reminded_and_written_back() {
    let (fake, table) = sheet(5000).await;
    let person = SheetPerson(Arc::clone(&fake));
    scenario(&person, &table, "sheets:1LedgerSheet/Orders 2026", 5000).await;
    // Write-back is batched: a sync's changes go out in a few requests.
    let writes = fake
        .sheets_requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert!(writes <= 20, "{writes} write requests for five syncs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_quota_errors_lose_no_write() {
    let (fake, table) = sheet(40).await;
    let person = SheetPerson(Arc::clone(&fake));
    let store = store().await;
    let opts = options("sheets:q");
    sync_ok(&store, &table, &opts, t0()).await;
    for n in 1..=40 {
        person.set(&format!("{n:06}"), "Payment Status", "Disputed");
    }
    fake.fail_next(3, 429);
    let r = sync_ok(&store, &table, &opts, t0()).await;
    assert_eq!(r.write_failures, vec![]);
    for n in 1..=40 {
        let number = format!("{n:06}");
        let inv = store.find_invoice(&number).await.unwrap().unwrap();
        assert_eq!(inv.status, InvoiceStatus::Disputed);
        assert_eq!(person.get(&number, "Payment Status"), "Disputed");
    }
    // A dry run shows what would change and changes nothing.
    person.set("000001", "Amount", "7777");
    let before = fake.sheets_requests().len();
    let dry = ledger_sync::sync(
        &store,
        &table,
        &SyncOptions {
            dry_run: true,
            ..opts.clone()
        },
        t0(),
    )
    .await
    .unwrap();
    assert!(dry.inbound.iter().any(|l| l.contains("000001")), "{dry:?}");
    assert_eq!(
        store.find_invoice("000001").await.unwrap().unwrap().amount,
        Money::from_minor(1001 * 100, Currency::INR)
    );
    let posts = fake.sheets_requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 0, "a dry run writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_leads_are_appended_to_the_leads_tab_once() {
    use tagada_store::{LeadStore, NewLead};
    let (fake, _table) = sheet(3).await;
    let store = store().await;
    let lead = |id: &str, name: &str, phone: &str| NewLead {
        source: "indiamart".into(),
        external_id: id.into(),
        received_at: Some(t0()),
        name: Some(name.into()),
        phone: Some(tagada_core::Phone::parse(phone, &tagada_core::CountryCode::india()).unwrap()),
        raw: "{}".into(),
        ..NewLead::default()
    };
    store
        .record_leads(
            &[
                lead("2900000001", "Asha Exports", "09876512345"),
                lead("2900000002", "Vik Metals", "+919812300000"),
            ],
            t0(),
        )
        .await
        .unwrap();
    let key = ServiceAccountKey::from_json(&fake.service_account_key_json(), "fake key").unwrap();
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
    fake.set_values(SHEET, "Leads", vec![]);
    let tab = ledger_sync::LeadsTab {
        client: Arc::new(client),
        tab: "Leads".into(),
    };
    let zone = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
    let n = ledger_sync::append_leads(&store, &tab, "sheets:l", &zone, t0())
        .await
        .unwrap();
    assert_eq!(n, 2);
    // Nothing new: nothing appended.
    let again = ledger_sync::append_leads(&store, &tab, "sheets:l", &zone, t0())
        .await
        .unwrap();
    assert_eq!(again, 0);
    // A lead stored in the same instant as the last append's (another
    // source synced in the same tick) is appended, once.
    store
        .record_leads(&[lead("2900000003", "Ravi Textiles", "09812345678")], t0())
        .await
        .unwrap();
    for expected in [1, 0] {
        let n = ledger_sync::append_leads(&store, &tab, "sheets:l", &zone, t0())
            .await
            .unwrap();
        assert_eq!(n, expected);
    }
    let rows = fake.values(SHEET, "Leads").unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[3][2], json!("2900000003"));
    assert_eq!(rows[0][0], json!("Received"));
    assert_eq!(rows[1][2], json!("2900000001"));
    assert_eq!(rows[1][3], json!("Asha Exports"));
    assert_eq!(rows[1][5], json!("+919876512345"));
}
