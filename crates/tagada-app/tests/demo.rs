//! The demo end to end on an in-memory SQLite store: it runs, reminders go
//! out inside business hours, and the scripted buyers' payments, dispute,
//! promise and opt-out stop their reminders.

use tagada_app::config::{Config, Overrides};
use tagada_app::demo::{DemoOptions, run_demo};
use tagada_core::outbox::OutboxStatus;
use tagada_store::{Migrate, OutboxFilter, OutboxStore};
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
}
