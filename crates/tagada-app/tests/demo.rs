//! The demo end to end on an in-memory SQLite store: it runs, reminders go
//! out inside business hours, and the scripted buyers' payments, dispute,
//! promise and opt-out stop their reminders.

use tagada_app::config::{Config, Overrides};
use tagada_app::demo::{DemoOptions, run_demo};
use tagada_core::CountryCode;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::outbox::OutboxStatus;
use tagada_store::{LedgerStore, Migrate, OutboxFilter, OutboxStore};
use tagada_store_sqlite::SqliteStore;

#[tokio::test]
async fn thirty_days_of_the_demo() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let cfg = Config::load_with_env(None, &Overrides::default(), false).unwrap();
    let mut out = Vec::new();
    let summary = run_demo(&store, &cfg.planner, &DemoOptions::default(), &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    println!("{text}");
    assert!(summary.messages_sent > 10, "{summary:?}");
    assert!(summary.payments > 5, "{summary:?}");
    let sent = store
        .list_messages(&OutboxFilter {
            statuses: vec![OutboxStatus::Sent],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.len() as u32, summary.messages_sent);

    let mut per_buyer_day = std::collections::HashSet::new();
    for m in &sent {
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
        // At most one message per buyer per local day.
        let day = zone.to_datetime(at).date();
        assert!(
            per_buyer_day.insert((m.buyer_id, day)),
            "two messages to {} on {day}",
            buyer.name
        );
        // Never to an opted-out buyer, never for an invoice already settled or disputed.
        if let Some(out) = buyer.opted_out_at {
            assert!(at <= out, "{} messaged after opting out", buyer.name);
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
    // The dispute stopped reminders for its invoice.
    let disputed = store.find_invoice("INV-1005").await.unwrap().unwrap();
    assert_eq!(disputed.status, InvoiceStatus::Disputed);
    let after_dispute = sent
        .iter()
        .filter(|m| m.invoice_ids.contains(&disputed.id))
        .count();
    assert_eq!(
        after_dispute, 1,
        "only the reminder the buyer answered with the dispute"
    );
    assert!(text.contains("Collection summary after 30 days"));
}
