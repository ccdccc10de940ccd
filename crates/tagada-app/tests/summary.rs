//! The summary tables against the facts, on SQLite and (with
//! `TAGADA_TEST_DATABASE_URL`) PostgreSQL: a ledger lives through five
//! weeks (plans, sends, delivery and read receipts, replies, part and full
//! payments, a dispute, a cancellation, a buyer moving to another sales
//! rep, a late import), the summary folded after each day, and every figure
//! the overview shows compared with the facts-based report, for everyone
//! and for one rep.

use std::str::FromStr;
use std::sync::Arc;

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tagada_app::auth::Principal;
use tagada_app::channel::TerminalChannel;
use tagada_app::clock::{Clock, SimClock};
use tagada_app::dispatch::{DispatchConfig, dispatch_step};
use tagada_app::planning::plan_and_apply;
use tagada_app::reports::{build_report, load_facts, parse_period};
use tagada_app::summary::{refresh_summary, summary_report};
use tagada_core::cadence::PlannerConfig;
use tagada_core::ledger::{InvoiceEvent, InvoiceStatus, PaymentMethod};
use tagada_core::metrics::collection_curve;
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};
use tagada_core::{CountryCode, Currency, Money, Phone};
use tagada_store::{
    BuyerPatch, Migrate, NewBuyer, NewInbound, NewInvoice, NewPayment, OutboxFilter, Role,
    StatusUpdate, Store,
};

/// 10:00 in Kolkata on `d`.
fn morning(d: Date) -> Timestamp {
    d.at(10, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Kolkata").unwrap())
        .unwrap()
        .timestamp()
}

async fn sqlite() -> Arc<dyn Store> {
    let store = tagada_store_sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

/// A store in a fresh schema of the test database, and the schema's name.
async fn postgres() -> Option<(Arc<dyn Store>, String, sqlx::PgPool)> {
    let url = std::env::var("TAGADA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let Some(url) = url else {
        eprintln!("skipping the PostgreSQL run: TAGADA_TEST_DATABASE_URL not set");
        return None;
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("TAGADA_TEST_DATABASE_URL is set but unreachable");
    let name = format!("s_{:016x}", rand_u64());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", name.as_str())]);
    let store = tagada_store_postgres::PostgresStore::connect_with(options, 4)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Some((Arc::new(store), name, admin))
}

/// A schema name's worth of randomness.
fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    u64::from_le_bytes(bytes)
}

/// Buyers of two reps and none, invoices in INR and USD over three months.
async fn ledger(store: &dyn Store, now: Timestamp) {
    let reps = [Some("Meera"), Some("Arjun"), None];
    let mut buyers = Vec::new();
    for i in 0..9u32 {
        let (id, _) = store
            .upsert_buyer(&NewBuyer {
                external_key: Some(format!("sb{i}")),
                name: format!("Buyer {i}"),
                whatsapp: Some(
                    Phone::parse(&format!("98{:08}", 40_000_000 + i), &CountryCode::india())
                        .unwrap(),
                ),
                country: Some(CountryCode::india()),
                sales_rep: reps[i as usize % 3].map(str::to_string),
                ..Default::default()
            })
            .await
            .unwrap();
        buyers.push(id);
    }
    let rows: Vec<NewInvoice> = (0..36)
        .map(|i: i64| {
            let invoice_date = date(2026, 9, 1)
                .checked_add(jiff::Span::new().days(i * 2))
                .unwrap();
            let currency = if i % 5 == 4 {
                Currency::USD
            } else {
                Currency::INR
            };
            NewInvoice {
                number: format!("S-{i:03}"),
                buyer_id: buyers[(i % 9) as usize],
                order_date: None,
                invoice_date,
                due_date: invoice_date
                    .checked_add(jiff::Span::new().days(30))
                    .unwrap(),
                credit_days: Some(30),
                amount: Money::from_minor(10_000_00 + i * 1_234_00, currency),
                amount_paid: Money::zero(currency),
                status: InvoiceStatus::Pending,
                source: "test".into(),
                source_hash: format!("sh{i}"),
                notes: None,
            }
        })
        .collect();
    store.upsert_invoices(&rows, now).await.unwrap();
}

/// Every figure of the overview, from the summary and from the facts.
async fn same_figures(store: &dyn Store, planner: &PlannerConfig, today: Date, when: &str) {
    let meera = Principal {
        name: "meera".into(),
        role: Role::SalesRep {
            rep: "meera".into(),
        },
    };
    for who in [None, Some(&meera)] {
        let (facts, _) = load_facts(store, planner, who).await.unwrap();
        for code in ["30d", "month", "last-month", "90d"] {
            let period = parse_period(code, today).unwrap();
            let view = summary_report(store, planner, period, today, who, None)
                .await
                .unwrap();
            assert_eq!(view.unfolded, 0, "{when}");
            let want = build_report(store, planner, period, None, who)
                .await
                .unwrap();
            assert_eq!(
                view.report.collection, want.collection,
                "{when}, {code}, {who:?}"
            );
            assert_eq!(
                view.report.dso_trend, want.dso_trend,
                "{when}, {code}, {who:?}"
            );
            assert_eq!(
                view.curve,
                collection_curve(&facts, period, today, &planner.fx),
                "{when}, {code}, {who:?}"
            );
        }
    }
}

async fn five_weeks(store: Arc<dyn Store>) {
    let planner = PlannerConfig::default();
    let start = date(2026, 11, 1);
    let clock = SimClock::new(morning(start));
    ledger(store.as_ref(), clock.now()).await;
    let channel = TerminalChannel::to_writer(std::io::sink());
    let dispatch = DispatchConfig::default();
    let zone = planner.home_zone();
    let mut events = 0u32;
    let mut replied_or_paid = 0u32;
    for day in 0..35i64 {
        let today = start.checked_add(jiff::Span::new().days(day)).unwrap();
        let now = morning(today);
        clock.set(now);
        plan_and_apply(store.as_ref(), &planner, now).await.unwrap();
        dispatch_step(store.as_ref(), &channel, &clock, &dispatch, "w", &zone)
            .await
            .unwrap();
        // receipts, replies and payments for what went out today
        let sent = store
            .list_messages(&OutboxFilter {
                statuses: vec![OutboxStatus::Sent],
                since: Some(now.checked_sub(SignedDuration::from_hours(1)).unwrap()),
                ..Default::default()
            })
            .await
            .unwrap();
        for (k, m) in sent.iter().enumerate() {
            let Some(wamid) = m.provider_id.clone() else {
                continue;
            };
            let steps: &[DeliveryStatus] = match (m.id.get() + day) % 4 {
                0 => &[],
                1 => &[DeliveryStatus::Delivered],
                _ => &[DeliveryStatus::Delivered, DeliveryStatus::Read],
            };
            for s in steps {
                events += 1;
                store
                    .apply_message_status(
                        &StatusUpdate {
                            wamid: wamid.clone(),
                            outbox_id: Some(m.id),
                            status: *s,
                            at: now.checked_add(SignedDuration::from_mins(5)).unwrap(),
                            error_code: None,
                            error: None,
                            event_key: format!("status:{wamid}:{}", s.as_str()),
                            raw: "{}".into(),
                        },
                        now,
                    )
                    .await
                    .unwrap();
            }
            if k % 3 == 0 {
                let phone = m.to.clone();
                store
                    .record_inbound(
                        &NewInbound {
                            event_key: format!("message:r{}", m.id.get()),
                            raw: "{}".into(),
                            message_id: format!("r{}", m.id.get()),
                            from: phone.as_str().trim_start_matches('+').to_string(),
                            phone: Some(phone),
                            wa_id: None,
                            profile_name: None,
                            sent_at: now,
                            kind: "text".into(),
                            text: Some("will pay".into()),
                            payload: None,
                            context_provider_id: Some(wamid.clone()),
                            context_outbox: Some(m.id),
                        },
                        now,
                    )
                    .await
                    .unwrap();
                replied_or_paid += 1;
            }
            if k % 2 == 0 {
                // half of what is owed now, the rest a few days later
                let inv = store.get_invoice(m.invoice_ids[0]).await.unwrap();
                if inv.status.is_open() {
                    let left = inv.amount.minor() - inv.amount_paid.minor();
                    let part = if inv.amount_paid.is_zero() {
                        left / 2
                    } else {
                        left
                    };
                    store
                        .record_payment(
                            &NewPayment {
                                invoice_number: None,
                                invoice_id: Some(inv.id),
                                buyer_id: None,
                                amount: Money::from_minor(part, inv.amount.currency()),
                                received_at: now
                                    .checked_add(SignedDuration::from_hours(2))
                                    .unwrap(),
                                method: PaymentMethod::BankTransfer,
                                reference: Some(format!("UTR-{}-{day}", inv.id.get())),
                            },
                            now,
                        )
                        .await
                        .unwrap();
                    replied_or_paid += 1;
                }
            }
        }
        match day {
            // a dispute, a cancellation, and a buyer moving to another rep
            6 => {
                let inv = store.find_invoice("S-010").await.unwrap().unwrap();
                store
                    .apply_invoice_event(inv.id, &InvoiceEvent::Disputed, None, now)
                    .await
                    .unwrap();
            }
            9 => {
                let inv = store.find_invoice("S-011").await.unwrap().unwrap();
                store
                    .apply_invoice_event(inv.id, &InvoiceEvent::Cancelled, None, now)
                    .await
                    .unwrap();
            }
            12 => {
                let inv = store.find_invoice("S-000").await.unwrap().unwrap();
                store
                    .update_buyer(
                        inv.buyer_id,
                        &BuyerPatch {
                            sales_rep: Some(Some(" ARJUN ".into())),
                            ..Default::default()
                        },
                        now,
                    )
                    .await
                    .unwrap();
            }
            20 => {
                // a late import: an old invoice and a correction of an amount
                let buyer = store.find_invoice("S-001").await.unwrap().unwrap().buyer_id;
                let rows = [NewInvoice {
                    number: "S-LATE".into(),
                    buyer_id: buyer,
                    order_date: None,
                    invoice_date: date(2026, 8, 20),
                    due_date: date(2026, 9, 19),
                    credit_days: Some(30),
                    amount: Money::from_minor(77_000_00, Currency::INR),
                    amount_paid: Money::zero(Currency::INR),
                    status: InvoiceStatus::Pending,
                    source: "test".into(),
                    source_hash: "late".into(),
                    notes: None,
                }];
                store.upsert_invoices(&rows, now).await.unwrap();
            }
            _ => {}
        }
        refresh_summary(store.as_ref(), &planner, None)
            .await
            .unwrap();
        if day % 7 == 6 || day == 34 {
            same_figures(store.as_ref(), &planner, today, &format!("day {day}")).await;
        }
    }
    assert!(
        events > 20 && replied_or_paid > 10,
        "{events} receipts, {replied_or_paid} replies and payments"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_follows_five_weeks_on_sqlite() {
    five_weeks(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_follows_five_weeks_on_postgres() {
    let Some((store, schema, admin)) = postgres().await else {
        return;
    };
    five_weeks(store).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

/// `tagada report` and the API read the summary when it is built and
/// folded (a row added behind the formulas' back shows through), and the
/// facts for a breakdown or while many changes wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_read_the_summary_once_it_is_kept() {
    use tagada_core::metrics::{Dimension, SummaryKind, SummaryRow};
    let store = sqlite().await;
    let planner = PlannerConfig::default();
    let now = morning(date(2026, 11, 20));
    ledger(store.as_ref(), now).await;
    let period = parse_period("90d", date(2026, 11, 20)).unwrap();
    let facts = build_report(store.as_ref(), &planner, period, None, None)
        .await
        .unwrap();
    // never built: the facts
    let before = tagada_app::summary::report(store.as_ref(), &planner, period, None, None)
        .await
        .unwrap();
    assert_eq!(before.collection, facts.collection);
    refresh_summary(store.as_ref(), &planner, None)
        .await
        .unwrap();
    let extra = SummaryRow {
        kind: SummaryKind::Sales,
        rep: String::new(),
        currency: "INR".into(),
        k1: tagada_core::metrics::month_number(date(2026, 11, 1)),
        k2: 0,
        day: tagada_core::metrics::day_number(date(2026, 11, 1)),
        values: [1_000_00, 1, 0, 0, 0, 0, 0, 0, 0],
    };
    assert!(store.summary_apply(&[], &[extra]).await.unwrap());
    let kept = tagada_app::summary::report(store.as_ref(), &planner, period, None, None)
        .await
        .unwrap();
    assert_eq!(
        kept.collection.credit_sales.home.minor(),
        facts.collection.credit_sales.home.minor() + 1_000_00,
        "read from the summary"
    );
    let by = tagada_app::summary::report(
        store.as_ref(),
        &planner,
        period,
        Some(Dimension::Template),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        by.collection, facts.collection,
        "a breakdown reads the facts"
    );
}
