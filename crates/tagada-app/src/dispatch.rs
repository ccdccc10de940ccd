//! The dispatcher step: claim a batch under a lease, re-check each message,
//! send it outside any transaction, record the attempt, complete under the
//! lease, and schedule retries with backoff. `run` loops over steps.

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tagada_core::clock::Clock;
use tagada_core::ledger::{Buyer, Invoice};
use tagada_store::{AttemptOutcome, ClaimedMessage, Store, StoreError};

use crate::channel::{Channel, ChannelError, OutgoingMessage};

/// How the dispatcher behaves; `[dispatch]` in the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    /// Messages claimed per step.
    pub batch_size: u32,
    /// Messages of a step in flight at once (each under its own lease,
    /// re-checked, marked and recorded on its own; the first of a step goes
    /// alone so refused credentials stop the step before anything else).
    pub concurrency: u32,
    /// How long a claim is held before another worker may take the row over.
    #[serde(with = "secs")]
    pub lease: SignedDuration,
    /// Attempts before a message is given up (`dead`).
    pub max_attempts: u32,
    /// Wait before retry n (the last entry repeats), plus up to 20% jitter.
    #[serde(with = "secs_vec")]
    pub backoff: Vec<SignedDuration>,
    /// Pause between steps when the outbox is empty (`run`, `serve`).
    #[serde(with = "secs")]
    pub idle_poll: SignedDuration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            batch_size: 50,
            concurrency: 16,
            lease: SignedDuration::from_secs(120),
            max_attempts: 6,
            backoff: [30, 120, 600, 3600, 4 * 3600]
                .map(SignedDuration::from_secs)
                .to_vec(),
            idle_poll: SignedDuration::from_secs(5),
        }
    }
}

mod secs {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(d: &SignedDuration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.as_secs())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
        Ok(SignedDuration::from_secs(i64::deserialize(d)?))
    }
}

mod secs_vec {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(d: &[SignedDuration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(d.iter().map(|x| x.as_secs()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SignedDuration>, D::Error> {
        Ok(Vec::<i64>::deserialize(d)?
            .into_iter()
            .map(SignedDuration::from_secs)
            .collect())
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    pub claimed: u32,
    pub sent: u32,
    pub retried: u32,
    pub dead: u32,
    pub cancelled: u32,
    pub needs_review: u32,
    pub lease_lost: u32,
    /// Handed back unsent because the messaging limit (distinct recipients
    /// per 24 hours) is full; they go first when it frees.
    pub deferred: u32,
    /// Set when the channel's credentials were refused: sending stops until a person acts.
    pub halted: Option<String>,
}

impl StepReport {
    pub fn add(&mut self, other: &StepReport) {
        self.claimed += other.claimed;
        self.sent += other.sent;
        self.retried += other.retried;
        self.dead += other.dead;
        self.cancelled += other.cancelled;
        self.needs_review += other.needs_review;
        self.lease_lost += other.lease_lost;
        self.deferred += other.deferred;
        if other.halted.is_some() {
            self.halted.clone_from(&other.halted);
        }
    }
}

/// Why a claimed message must not go out any more, if it must not.
pub fn recheck(buyer: &Buyer, invoices: &[Invoice], today: jiff::civil::Date) -> Option<String> {
    if buyer.opted_out_at.is_some() {
        return Some(format!("buyer {} opted out", buyer.id));
    }
    if buyer.paused || buyer.paused_until.is_some_and(|d| d >= today) {
        return Some(format!("buyer {} paused", buyer.id));
    }
    if buyer.whatsapp.is_none() {
        return Some(format!("buyer {} has no valid WhatsApp number", buyer.id));
    }
    for inv in invoices {
        if !inv.status.is_open() {
            return Some(format!("invoice {} is {}", inv.number, inv.status));
        }
        if let Some(until) = inv.snoozed_until.filter(|d| *d >= today) {
            return Some(format!("invoice {} is snoozed until {until}", inv.number));
        }
        if inv.paused {
            return Some(format!("invoice {} is paused", inv.number));
        }
    }
    None
}

/// How soon a message held back by the messaging limit is looked at again.
const LIMIT_RECHECK: SignedDuration = SignedDuration::from_mins(15);

/// The messaging limit within one step: the recipients of the last 24
/// hours are counted once, then each admitted new recipient adds one.
struct RecipientLimit {
    max: u32,
    used: u64,
    since: Timestamp,
    admitted: std::collections::HashSet<String>,
}

impl RecipientLimit {
    async fn load(
        store: &dyn Store,
        max: u32,
        now: Timestamp,
    ) -> Result<RecipientLimit, StoreError> {
        let since = now
            .checked_sub(tagada_store::CONVERSATION_WINDOW)
            .unwrap_or(now);
        Ok(RecipientLimit {
            max,
            used: store.count_recipients_since(since).await?,
            since,
            admitted: Default::default(),
        })
    }

    /// A recipient already messaged in the window costs nothing; a new one
    /// takes a slot if one is free.
    async fn admits(
        &mut self,
        store: &dyn Store,
        to: &tagada_core::Phone,
    ) -> Result<bool, StoreError> {
        if self.admitted.contains(to.as_str()) || store.messaged_since(to, self.since).await? {
            self.admitted.insert(to.as_str().to_string());
            return Ok(true);
        }
        if self.used < u64::from(self.max) {
            self.used += 1;
            self.admitted.insert(to.as_str().to_string());
            return Ok(true);
        }
        Ok(false)
    }
}

/// Why a free-form reply may not go out: the buyer's 24-hour window (opened
/// by their last message) has closed.
pub fn window_closed(last_inbound: Option<Timestamp>, now: Timestamp) -> Option<String> {
    match last_inbound {
        None => Some(
            "the buyer has not written to us: free-form messages need their 24-hour window".into(),
        ),
        Some(at) if now.duration_since(at) >= tagada_store::CONVERSATION_WINDOW => Some(format!(
            "the buyer's 24-hour window closed (they last wrote at {at})"
        )),
        Some(_) => None,
    }
}

/// The wait before retry number `attempt` (1-based), with deterministic
/// jitter of up to 20% derived from the message id so that a burst of
/// failures does not retry in lockstep.
pub fn backoff_for(cfg: &DispatchConfig, attempt: u32, salt: i64) -> SignedDuration {
    let idx = (attempt.saturating_sub(1) as usize).min(cfg.backoff.len().saturating_sub(1));
    let base = cfg
        .backoff
        .get(idx)
        .copied()
        .unwrap_or(SignedDuration::from_secs(60));
    let base_ms = base.as_millis().max(0) as u64;
    // Knuth multiplicative hash of the salt, reduced to [0, base/5].
    let spread = base_ms / 5;
    let jitter = if spread == 0 {
        0
    } else {
        (salt as u64).wrapping_mul(2_654_435_761) % (spread + 1)
    };
    SignedDuration::from_millis((base_ms + jitter) as i64)
}

/// One dispatcher step. Public so tests and `send` can drive it directly.
pub async fn dispatch_step(
    store: &dyn Store,
    channel: &dyn Channel,
    clock: &dyn Clock,
    cfg: &DispatchConfig,
    worker: &str,
    zone_for_today: &jiff::tz::TimeZone,
) -> Result<StepReport, StoreError> {
    let now = clock.now();
    let mut claimed = store
        .claim(now, cfg.batch_size, cfg.lease, worker)
        .await?
        .into_iter();
    let step = Step {
        store,
        channel,
        clock,
        cfg,
        zone: zone_for_today,
        now,
        halted: std::sync::Mutex::new(None),
        limit: match channel.recipients_per_day() {
            Some(n) => Some(tokio::sync::Mutex::new(
                RecipientLimit::load(store, n, now).await?,
            )),
            None => None,
        },
    };
    let mut report = StepReport {
        claimed: claimed.len() as u32,
        ..StepReport::default()
    };
    // The first message alone: refused credentials (the usual failure after
    // a pause) then stop the step before anything else is tried.
    if let Some(first) = claimed.next() {
        report.add(&step.one(first).await?);
    }
    let mut rest = futures::stream::iter(claimed.map(|msg| step.one(msg)))
        .buffer_unordered(cfg.concurrency.max(1) as usize);
    while let Some(delta) = rest.next().await {
        report.add(&delta?);
    }
    drop(rest);
    report.halted = step.halted.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(report)
}

/// What the messages of one step share.
struct Step<'a> {
    store: &'a dyn Store,
    channel: &'a dyn Channel,
    clock: &'a dyn Clock,
    cfg: &'a DispatchConfig,
    zone: &'a jiff::tz::TimeZone,
    now: Timestamp,
    /// Set when the channel refused our credentials: the rest is handed back.
    halted: std::sync::Mutex<Option<String>>,
    limit: Option<tokio::sync::Mutex<RecipientLimit>>,
}

impl Step<'_> {
    fn halted(&self) -> Option<String> {
        self.halted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Everything for one claimed message; its share of the report.
    async fn one(&self, msg: ClaimedMessage) -> Result<StepReport, StoreError> {
        let (store, clock) = (self.store, self.clock);
        let mut report = StepReport::default();
        if let Some(reason) = self.halted() {
            // Credentials failed earlier in this step: hand it back untouched.
            let outcome = AttemptOutcome::Retry {
                error: format!("not attempted: {reason}"),
                retry_at: clock.now(),
            };
            finish(store, &msg, &outcome, clock.now(), &mut report).await?;
            return Ok(report);
        }
        if let Some(limit) = &self.limit
            && !msg.message.is_reply()
        {
            let mut limit = limit.lock().await;
            if !limit.admits(store, &msg.to).await? {
                let retry_at = self.now.saturating_add(LIMIT_RECHECK).unwrap_or(self.now);
                let reason = format!(
                    "waiting: the messaging limit of {} recipients per 24 hours is reached",
                    limit.max
                );
                drop(limit);
                match store
                    .release(msg.id, msg.lease, retry_at, &reason, clock.now())
                    .await
                {
                    Ok(()) => report.deferred += 1,
                    Err(StoreError::LeaseLost(_)) => report.lease_lost += 1,
                    Err(e) => return Err(e),
                }
                return Ok(report);
            }
        }
        let Some((outcome, halt)) =
            send_one(store, self.channel, clock, self.cfg, &msg, self.zone).await?
        else {
            report.lease_lost += 1;
            return Ok(report);
        };
        if halt && let AttemptOutcome::Retry { error, .. } = &outcome {
            tracing::error!(error = %error, "channel refused our credentials; sending stops until they are fixed");
            *self.halted.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.clone());
        }
        finish(store, &msg, &outcome, clock.now(), &mut report).await?;
        Ok(report)
    }
}

async fn finish(
    store: &dyn Store,
    msg: &ClaimedMessage,
    outcome: &AttemptOutcome,
    now: Timestamp,
    report: &mut StepReport,
) -> Result<(), StoreError> {
    match store.complete(msg.id, msg.lease, outcome, now).await {
        Ok(()) => {
            match outcome {
                AttemptOutcome::Sent { .. } => report.sent += 1,
                AttemptOutcome::Retry { .. } => report.retried += 1,
                AttemptOutcome::Dead { .. } => report.dead += 1,
                AttemptOutcome::NeedsReview { .. } => report.needs_review += 1,
                AttemptOutcome::Cancelled { .. } => report.cancelled += 1,
            }
            Ok(())
        }
        Err(StoreError::LeaseLost(id)) => {
            tracing::warn!(outbox_id = %id, "lease lost before completion; another worker owns the message");
            report.lease_lost += 1;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Re-checks, sends and classifies one message; the flag says "stop sending"
/// (credentials refused). `None` when the lease was lost before sending
/// (nothing was sent).
async fn send_one(
    store: &dyn Store,
    channel: &dyn Channel,
    clock: &dyn Clock,
    cfg: &DispatchConfig,
    msg: &ClaimedMessage,
    zone: &jiff::tz::TimeZone,
) -> Result<Option<(AttemptOutcome, bool)>, StoreError> {
    let today = clock.now().to_zoned_datetime(zone.clone()).date();
    // Re-read the buyer and invoices now: a payment may have landed since the claim.
    let buyer = store.get_buyer(msg.buyer.id).await?;
    let mut invoices = Vec::with_capacity(msg.invoices.len());
    for inv in &msg.invoices {
        invoices.push(store.get_invoice(inv.id).await?);
    }
    let stop = if msg.message.is_reply() {
        // A reply answers the buyer (even a STOP): only the window matters.
        let last = store.last_inbound_at(buyer.id).await?;
        window_closed(last, clock.now())
    } else {
        recheck(&buyer, &invoices, today)
    };
    if let Some(reason) = stop {
        return Ok(Some((AttemptOutcome::Cancelled { reason }, false)));
    }
    match store.mark_sending(msg.id, msg.lease, clock.now()).await {
        Ok(()) => {}
        Err(StoreError::LeaseLost(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    let out = OutgoingMessage {
        outbox_id: msg.id,
        to: &msg.to,
        buyer_name: &buyer.name,
        message: &msg.message,
        attempt: msg.attempt,
    };
    let result = channel.send(&out).await;
    let now = clock.now();
    Ok(Some(match result {
        Ok(receipt) => (
            AttemptOutcome::Sent {
                provider_id: receipt.provider_id,
            },
            false,
        ),
        Err(e) => {
            let halt = matches!(e, ChannelError::Unauthorized { .. });
            (classify(cfg, msg, e, now), halt)
        }
    }))
}

fn classify(
    cfg: &DispatchConfig,
    msg: &ClaimedMessage,
    e: ChannelError,
    now: Timestamp,
) -> AttemptOutcome {
    let error = e.to_string();
    let retry = |hint: Option<SignedDuration>| {
        if msg.attempt >= cfg.max_attempts {
            return AttemptOutcome::Dead {
                error: format!("{error} (gave up after {} attempts)", msg.attempt),
            };
        }
        let wait = hint.unwrap_or_else(|| backoff_for(cfg, msg.attempt, msg.id.get()));
        AttemptOutcome::Retry {
            error: error.clone(),
            retry_at: now.saturating_add(wait).unwrap_or(now),
        }
    };
    match e {
        ChannelError::RateLimited { retry_after, .. } => retry(retry_after),
        ChannelError::Transient { .. } => retry(None),
        ChannelError::Rejected { .. } | ChannelError::Template { .. } => {
            AttemptOutcome::Dead { error }
        }
        // Not counted against the message: it is handed back for after a person fixes the credentials.
        ChannelError::Unauthorized { .. } => AttemptOutcome::Retry {
            error,
            retry_at: now
                .saturating_add(SignedDuration::from_secs(3600))
                .unwrap_or(now),
        },
        ChannelError::Ambiguous { .. } => AttemptOutcome::NeedsReview { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_within_jitter() {
        let cfg = DispatchConfig::default();
        for attempt in 1..=8u32 {
            for salt in [1i64, 7, 99, 123_456] {
                let d = backoff_for(&cfg, attempt, salt);
                let idx = ((attempt - 1) as usize).min(cfg.backoff.len() - 1);
                let base = cfg.backoff[idx];
                assert!(d >= base, "attempt {attempt}: {d:?} < {base:?}");
                assert!(
                    d.as_millis() <= base.as_millis() * 6 / 5,
                    "attempt {attempt}: {d:?} too long"
                );
            }
        }
        assert!(backoff_for(&cfg, 2, 1) > backoff_for(&cfg, 1, 1));
    }

    #[test]
    fn a_reply_goes_only_inside_the_window() {
        let at: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let hours = |h: i64| at.checked_add(SignedDuration::from_hours(h)).unwrap();
        assert!(window_closed(None, at).is_some());
        assert_eq!(window_closed(Some(at), hours(23)), None);
        assert!(window_closed(Some(at), hours(24)).is_some());
    }
}
