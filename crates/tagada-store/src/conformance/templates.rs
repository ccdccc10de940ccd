//! Checks of [`TemplateStatusStore`](crate::TemplateStatusStore).

use super::t;
use crate::{Store, TemplateStatus};

fn status(name: &str, language: &str, status: &str, at: i64) -> TemplateStatus {
    TemplateStatus {
        name: name.into(),
        language: language.into(),
        status: status.into(),
        category: Some("UTILITY".into()),
        detail: None,
        source: "check".into(),
        updated_at: t(at),
    }
}

/// Statuses are saved per name and language, replaced by newer ones, kept
/// against older ones, and listed by name then language.
pub async fn template_statuses_newest_wins<S: Store + 'static>(store: S) {
    assert!(store.template_statuses().await.unwrap().is_empty());
    store
        .save_template_statuses(&[
            status("payment_reminder_overdue", "hi", "APPROVED", 10),
            status("payment_reminder_overdue", "en", "APPROVED", 10),
            status("payment_received", "en", "PENDING", 10),
        ])
        .await
        .unwrap();
    // Meta pauses one: the webhook's row replaces the check's.
    let paused = TemplateStatus {
        detail: Some("quality: low".into()),
        source: "webhook".into(),
        category: None,
        ..status("payment_reminder_overdue", "en", "PAUSED", 20)
    };
    store
        .save_template_statuses(std::slice::from_ref(&paused))
        .await
        .unwrap();
    // A late delivery of an older event changes nothing.
    store
        .save_template_statuses(&[status("payment_reminder_overdue", "en", "PENDING", 5)])
        .await
        .unwrap();
    let all = store.template_statuses().await.unwrap();
    let keys: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|s| (s.name.as_str(), s.language.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("payment_received", "en", "PENDING"),
            ("payment_reminder_overdue", "en", "PAUSED"),
            ("payment_reminder_overdue", "hi", "APPROVED"),
        ]
    );
    assert_eq!(all[1], paused, "every field read back as saved");
}
