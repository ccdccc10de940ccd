//! Channel webhooks: the records that cross [`WebhookStore`](crate::WebhookStore)
//! and the one rule both backends apply to a message status, so that they
//! agree on every outcome.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tagada_core::OutboxId;
use tagada_core::outbox::{DeliveryStatus, OutboxStatus};

/// The `source` of every WhatsApp webhook event.
pub const WHATSAPP: &str = "whatsapp";

/// A message status reported by the channel (one status of one message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The channel's message id (WhatsApp `wamid`).
    pub wamid: String,
    /// The outbox row named by the callback data we sent, when present.
    pub outbox_id: Option<OutboxId>,
    pub status: DeliveryStatus,
    /// When the channel says it happened.
    pub at: Timestamp,
    /// The channel's error code of a `failed` status (WhatsApp: 131026...).
    pub error_code: Option<i64>,
    /// Its title and details.
    pub error: Option<String>,
    /// Unique per source: a replayed webhook carries the same key
    /// (`status:<wamid>:<status>`).
    pub event_key: String,
    /// The event as received (JSON).
    pub raw: String,
}

/// What [`WebhookStore::apply_message_status`](crate::WebhookStore::apply_message_status) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StatusOutcome {
    /// Merged into the row; `delivery` is the row's delivery now.
    Applied {
        outbox_id: OutboxId,
        delivery: DeliveryStatus,
    },
    /// This event key was already recorded: nothing changed.
    Duplicate,
    /// No outbox row has this id or wamid: the event is kept, nothing else.
    Unmatched,
}

/// What became of a stored webhook event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// A status merged into an outbox row.
    Applied,
    /// A status for no message of ours.
    Unmatched,
    /// Kept but not applied (a status this version does not know).
    Ignored,
    /// An inbound message, stored for later handling.
    Received,
}

impl WebhookOutcome {
    pub const ALL: [WebhookOutcome; 4] = [
        WebhookOutcome::Applied,
        WebhookOutcome::Unmatched,
        WebhookOutcome::Ignored,
        WebhookOutcome::Received,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Unmatched => "unmatched",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Received => "received",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookOutcome> {
        WebhookOutcome::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One stored webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: i64,
    pub source: String,
    pub event_key: String,
    pub received_at: Timestamp,
    pub outcome: WebhookOutcome,
    /// The outbox row an applied status went to.
    pub outbox_id: Option<OutboxId>,
    /// The event as received (JSON; PostgreSQL may normalise its spacing).
    pub payload: String,
}

/// One status applied to an outbox row (its delivery history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEvent {
    pub outbox_id: OutboxId,
    pub wamid: String,
    /// The status reported.
    pub status: DeliveryStatus,
    pub at: Timestamp,
    pub error_code: Option<i64>,
    pub error: Option<String>,
    /// The row's delivery after merging this status.
    pub delivery: DeliveryStatus,
}

impl MessageEvent {
    /// `delivered`, `failed (131026): Message undeliverable`.
    pub fn describe(status: DeliveryStatus, code: Option<i64>, error: Option<&str>) -> String {
        let mut s = status.as_str().to_string();
        if let Some(c) = code {
            s.push_str(&format!(" ({c})"));
        }
        if let Some(e) = error {
            s.push_str(&format!(": {e}"));
        }
        s
    }
}

/// The part of an outbox row a status webhook reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub status: OutboxStatus,
    pub delivery: Option<DeliveryStatus>,
    pub provider_id: Option<String>,
    /// The lease of an in-flight row.
    pub lease_until: Option<Timestamp>,
}

/// What to write back to the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryChange {
    pub status: OutboxStatus,
    pub delivery: DeliveryStatus,
    /// The row's provider id afterwards (filled from the webhook when unknown).
    pub provider_id: Option<String>,
    /// The webhook settled an unknown outcome: the row became `sent` and its
    /// lease (if any) is released.
    pub settled: bool,
    /// `Some` replaces `last_error`.
    pub last_error: Option<String>,
}

/// Merges a status into a row. Delivery moves only forward
/// ([`DeliveryStatus::advance`]). A status proves the channel accepted the
/// message, so a row whose outcome is unknown — `needs_review`, or
/// `in_flight` with its lease lapsed (the worker is gone) — becomes `sent`.
/// An `in_flight` row whose worker still holds the lease keeps its status:
/// the worker's `complete` records the attempt and moves it on (its
/// `delivery` already set here is kept). A `failed` status that leaves the
/// row failed records its error as `last_error`.
pub fn merge_status(
    row: &DeliveryState,
    update: &StatusUpdate,
    received_at: Timestamp,
) -> DeliveryChange {
    let delivery = DeliveryStatus::advance(row.delivery, update.status);
    let lapsed = row.lease_until.is_none_or(|until| until <= received_at);
    let settle = match row.status {
        OutboxStatus::NeedsReview => true,
        OutboxStatus::InFlight => lapsed,
        _ => false,
    };
    let settled = settle && row.status.can_move_to(OutboxStatus::Sent);
    let status = if settled {
        OutboxStatus::Sent
    } else {
        row.status
    };
    let provider_id = row
        .provider_id
        .clone()
        .or_else(|| Some(update.wamid.clone()));
    let last_error = (update.status == DeliveryStatus::Failed
        && delivery == DeliveryStatus::Failed)
        .then(|| {
            MessageEvent::describe(
                DeliveryStatus::Failed,
                update.error_code,
                update.error.as_deref(),
            )
        });
    DeliveryChange {
        status,
        delivery,
        provider_id,
        settled,
        last_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(status: DeliveryStatus) -> StatusUpdate {
        StatusUpdate {
            wamid: "wamid.X".into(),
            outbox_id: None,
            status,
            at: Timestamp::UNIX_EPOCH,
            error_code: Some(131026),
            error: Some("Message undeliverable".into()),
            event_key: format!("status:wamid.X:{}", status.as_str()),
            raw: "{}".into(),
        }
    }

    fn row(status: OutboxStatus, delivery: Option<DeliveryStatus>) -> DeliveryState {
        DeliveryState {
            status,
            delivery,
            provider_id: None,
            lease_until: None,
        }
    }

    #[test]
    fn review_is_settled_and_the_wamid_filled() {
        let c = merge_status(
            &row(OutboxStatus::NeedsReview, None),
            &update(DeliveryStatus::Delivered),
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(c.status, OutboxStatus::Sent);
        assert!(c.settled);
        assert_eq!(c.provider_id.as_deref(), Some("wamid.X"));
        assert_eq!(c.delivery, DeliveryStatus::Delivered);
    }

    #[test]
    fn a_held_lease_is_left_to_its_worker() {
        let now = Timestamp::from_second(100).unwrap();
        let mut r = row(OutboxStatus::InFlight, None);
        r.lease_until = Some(Timestamp::from_second(160).unwrap());
        let c = merge_status(&r, &update(DeliveryStatus::Sent), now);
        assert_eq!(c.status, OutboxStatus::InFlight);
        assert!(!c.settled);
        r.lease_until = Some(Timestamp::from_second(100).unwrap());
        assert!(merge_status(&r, &update(DeliveryStatus::Sent), now).settled);
    }

    #[test]
    fn failed_after_delivered_keeps_delivered_and_no_error() {
        let c = merge_status(
            &row(OutboxStatus::Sent, Some(DeliveryStatus::Delivered)),
            &update(DeliveryStatus::Failed),
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(c.delivery, DeliveryStatus::Delivered);
        assert_eq!(c.last_error, None);
        let c = merge_status(
            &row(OutboxStatus::Sent, Some(DeliveryStatus::Accepted)),
            &update(DeliveryStatus::Failed),
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(c.delivery, DeliveryStatus::Failed);
        assert_eq!(
            c.last_error.as_deref(),
            Some("failed (131026): Message undeliverable")
        );
    }
}
