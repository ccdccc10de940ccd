//! The outbox and delivery state machines.
//!
//! Outbox: `pending → in_flight → sent | failed → (pending again) | dead |
//! cancelled | needs_review`. Delivery (what the channel reports back):
//! `accepted < sent < delivered < read`, or `failed`; it only moves forward.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its send time and a worker.
    Pending,
    /// Claimed by a worker under a lease.
    InFlight,
    /// Accepted by the channel.
    Sent,
    /// A retryable failure; goes back to `Pending` with a later `not_before`.
    Failed,
    /// Gave up: permanent error or retries exhausted.
    Dead,
    /// No longer wanted (invoice paid, buyer opted out...).
    Cancelled,
    /// The outcome is unknown (timeout after the request was written); a person
    /// or a status webhook must settle it. Never resent blindly.
    NeedsReview,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 7] = [
        OutboxStatus::Pending,
        OutboxStatus::InFlight,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Dead,
        OutboxStatus::Cancelled,
        OutboxStatus::NeedsReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::InFlight => "in_flight",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Dead => "dead",
            OutboxStatus::Cancelled => "cancelled",
            OutboxStatus::NeedsReview => "needs_review",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        OutboxStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            OutboxStatus::Sent | OutboxStatus::Dead | OutboxStatus::Cancelled
        )
    }

    /// Whether `self → to` is an edge of the machine.
    pub fn can_move_to(self, to: OutboxStatus) -> bool {
        use OutboxStatus as S;
        matches!(
            (self, to),
            (S::Pending, S::InFlight)
                | (S::Pending, S::Cancelled)
                | (S::InFlight, S::Sent)
                | (S::InFlight, S::Failed)
                | (S::InFlight, S::Dead)
                | (S::InFlight, S::Cancelled)
                | (S::InFlight, S::NeedsReview)
                // lease expired: the claim lapses and the row is pending again
                | (S::InFlight, S::Pending)
                | (S::Failed, S::Pending)
                | (S::Failed, S::Cancelled)
                | (S::Failed, S::InFlight)
                // a status webhook or a person settles the unknown outcome
                | (S::NeedsReview, S::Sent)
                | (S::NeedsReview, S::Dead)
                | (S::NeedsReview, S::Cancelled)
                | (S::NeedsReview, S::Pending)
        )
    }
}

impl std::fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the channel reports about a sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Some(match s {
            "accepted" => DeliveryStatus::Accepted,
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }

    /// Monotonic merge: a late `sent` after `read` changes nothing; `failed`
    /// only applies before delivery (a delivered message stays delivered).
    pub fn advance(current: Option<DeliveryStatus>, incoming: DeliveryStatus) -> DeliveryStatus {
        use DeliveryStatus as D;
        match (current, incoming) {
            (None, x) => x,
            (Some(D::Failed), x) if x >= D::Delivered && x != D::Failed => x,
            (Some(D::Failed), _) => D::Failed,
            (Some(c), D::Failed) if c >= D::Delivered => c,
            (Some(_), D::Failed) => D::Failed,
            (Some(c), x) => c.max(x),
        }
    }

    /// Counts as delivered (a `read` implies delivery).
    pub fn is_delivered(self) -> bool {
        matches!(self, DeliveryStatus::Delivered | DeliveryStatus::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn final_states_have_no_exit_but_review() {
        for from in [
            OutboxStatus::Sent,
            OutboxStatus::Dead,
            OutboxStatus::Cancelled,
        ] {
            for to in OutboxStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to}");
            }
        }
        assert!(OutboxStatus::NeedsReview.can_move_to(OutboxStatus::Sent));
        assert!(!OutboxStatus::NeedsReview.can_move_to(OutboxStatus::InFlight));
    }

    #[test]
    fn late_sent_after_read_changes_nothing() {
        let s = DeliveryStatus::advance(Some(DeliveryStatus::Read), DeliveryStatus::Sent);
        assert_eq!(s, DeliveryStatus::Read);
        let s = DeliveryStatus::advance(Some(DeliveryStatus::Delivered), DeliveryStatus::Failed);
        assert_eq!(s, DeliveryStatus::Delivered);
        let s = DeliveryStatus::advance(Some(DeliveryStatus::Sent), DeliveryStatus::Failed);
        assert_eq!(s, DeliveryStatus::Failed);
    }

    fn any_delivery() -> impl Strategy<Value = DeliveryStatus> {
        prop::sample::select(vec![
            DeliveryStatus::Accepted,
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read,
            DeliveryStatus::Failed,
        ])
    }

    proptest! {
        /// Once delivered, any order of later updates keeps it at least delivered.
        #[test]
        fn delivery_never_goes_back(seq in prop::collection::vec(any_delivery(), 1..10)) {
            let mut cur: Option<DeliveryStatus> = None;
            let mut seen_delivered = false;
            let mut best = None::<DeliveryStatus>;
            for s in seq {
                let next = DeliveryStatus::advance(cur, s);
                if seen_delivered {
                    prop_assert!(next.is_delivered());
                    prop_assert!(Some(next) >= best);
                }
                if next.is_delivered() { seen_delivered = true; best = best.max(Some(next)); }
                cur = Some(next);
            }
        }
    }
}
