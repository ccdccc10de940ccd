//! The dispatcher step: claim a batch under a lease, then in waves re-check
//! each message, mark it as sending, send it outside any transaction, and
//! record the attempts under their leases, scheduling retries with backoff.
//! `run` loops over steps.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tagada_core::clock::Clock;
use tagada_core::ledger::{Buyer, Invoice};
use tagada_core::{BuyerId, InvoiceId};
use tagada_store::{AttemptOutcome, ClaimedMessage, Store, StoreError};

use crate::channel::{Channel, ChannelError, OutgoingMessage};

/// How the dispatcher behaves; `[dispatch]` in the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    /// Messages claimed per step.
    pub batch_size: u32,
    /// Messages of a step in flight at once: a step goes out in waves of
    /// this many, each re-checked, marked and recorded together (the first
    /// message of a step goes alone, so refused credentials stop the step
    /// before anything else).
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

/// A payment recorded between the claim and now: the message shows an
/// amount that is no longer owed (the next plan queues it again).
fn paid_since_claim(claimed: &[Invoice], now: &[Invoice]) -> Option<String> {
    now.iter().find_map(|inv| {
        let before = claimed.iter().find(|c| c.id == inv.id)?;
        (inv.amount_paid != before.amount_paid).then(|| {
            format!(
                "invoice {}: a payment arrived since it was planned ({} outstanding now)",
                inv.number,
                inv.outstanding()
            )
        })
    })
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
///
/// The claimed batch goes out in waves of `concurrency` messages (the very
/// first message alone, so that refused credentials stop the step before
/// anything else is tried). For each wave, in this order: the buyers and
/// invoices are read again in one query and each message re-checked (a
/// payment or opt-out since the claim cancels it); the messaging limit is
/// applied; the survivors are marked as sending in one statement (from
/// here a lost lease means "outcome unknown"); they are sent concurrently,
/// outside any transaction; and every outcome of the wave is recorded in
/// one transaction under its lease.
pub async fn dispatch_step(
    store: &dyn Store,
    channel: &dyn Channel,
    clock: &dyn Clock,
    cfg: &DispatchConfig,
    worker: &str,
    zone_for_today: &jiff::tz::TimeZone,
) -> Result<StepReport, StoreError> {
    let now = clock.now();
    let claimed = store.claim(now, cfg.batch_size, cfg.lease, worker).await?;
    let mut report = StepReport {
        claimed: claimed.len() as u32,
        ..StepReport::default()
    };
    if claimed.is_empty() {
        return Ok(report);
    }
    let mut step = Step {
        store,
        channel,
        clock,
        cfg,
        zone: zone_for_today,
        now,
        halted: None,
        limit: match channel.recipients_per_day() {
            Some(n) => Some(RecipientLimit::load(store, n, now).await?),
            None => None,
        },
    };
    let mut queue = claimed.into_iter();
    let mut wave_size = 1;
    loop {
        let wave: Vec<ClaimedMessage> = queue.by_ref().take(wave_size).collect();
        if wave.is_empty() {
            break;
        }
        report.add(&step.wave(wave).await?);
        wave_size = cfg.concurrency.max(1) as usize;
    }
    report.halted = step.halted;
    Ok(report)
}

/// What the waves of one step share.
struct Step<'a> {
    store: &'a dyn Store,
    channel: &'a dyn Channel,
    clock: &'a dyn Clock,
    cfg: &'a DispatchConfig,
    zone: &'a jiff::tz::TimeZone,
    now: Timestamp,
    /// Set when the channel refused our credentials: the rest is handed back.
    halted: Option<String>,
    limit: Option<RecipientLimit>,
}

impl Step<'_> {
    /// Re-checks, marks, sends and records one wave; its share of the report.
    async fn wave(&mut self, wave: Vec<ClaimedMessage>) -> Result<StepReport, StoreError> {
        let (store, clock) = (self.store, self.clock);
        let mut report = StepReport::default();
        let mut outcomes: Vec<(&ClaimedMessage, AttemptOutcome)> = Vec::new();
        let mut ready: Vec<(&ClaimedMessage, Buyer)> = Vec::new();
        if let Some(reason) = &self.halted {
            // Credentials failed earlier in this step: hand it back untouched.
            let outcome = AttemptOutcome::Retry {
                error: format!("not attempted: {reason}"),
                retry_at: clock.now(),
            };
            outcomes.extend(wave.iter().map(|m| (m, outcome.clone())));
            self.finish(outcomes, &mut report).await?;
            return Ok(report);
        }
        let current = Current::load(store, &wave).await?;
        let today = clock.now().to_zoned_datetime(self.zone.clone()).date();
        for msg in &wave {
            let buyer = current.buyer(msg)?;
            let stop = if msg.message.is_reply() {
                // A reply answers the buyer (even a STOP): only the window matters.
                let last = store.last_inbound_at(buyer.id).await?;
                window_closed(last, clock.now())
            } else if msg.message.template_key == crate::payments::RECEIPT_TEMPLATE_KEY {
                // A thank-you is about a paid invoice: only the buyer matters.
                recheck(&buyer, &[], today)
            } else {
                let now_invoices = current.invoices(msg)?;
                recheck(&buyer, &now_invoices, today)
                    .or_else(|| paid_since_claim(&msg.invoices, &now_invoices))
            };
            if let Some(reason) = stop {
                outcomes.push((msg, AttemptOutcome::Cancelled { reason }));
                continue;
            }
            if !msg.message.is_reply()
                && let Some(limit) = &mut self.limit
                && !limit.admits(store, &msg.to).await?
            {
                let retry_at = self.now.saturating_add(LIMIT_RECHECK).unwrap_or(self.now);
                let reason = format!(
                    "waiting: the messaging limit of {} recipients per 24 hours is reached",
                    limit.max
                );
                match store
                    .release(msg.id, msg.lease, retry_at, &reason, clock.now())
                    .await
                {
                    Ok(()) => report.deferred += 1,
                    Err(StoreError::LeaseLost(_)) => report.lease_lost += 1,
                    Err(e) => return Err(e),
                }
                continue;
            }
            ready.push((msg, buyer));
        }
        let leases: Vec<_> = ready.iter().map(|(m, _)| (m.id, m.lease)).collect();
        let marked = store.mark_sending_many(&leases, clock.now()).await?;
        ready.retain(|(m, _)| {
            let kept = marked.contains(&m.id);
            if !kept {
                // Another worker owns it now: nothing was sent.
                report.lease_lost += 1;
            }
            kept
        });
        let channel = self.channel;
        let sends = ready.iter().map(|(msg, buyer)| async move {
            let out = OutgoingMessage {
                outbox_id: msg.id,
                to: &msg.to,
                buyer_name: &buyer.name,
                message: &msg.message,
                attempt: msg.attempt,
            };
            (*msg, channel.send(&out).await)
        });
        for (msg, result) in futures::future::join_all(sends).await {
            let outcome = match result {
                Ok(receipt) => AttemptOutcome::Sent {
                    provider_id: receipt.provider_id,
                },
                Err(e) => {
                    if matches!(e, ChannelError::Unauthorized { .. }) && self.halted.is_none() {
                        tracing::error!(error = %e, "channel refused our credentials; sending stops until they are fixed");
                        self.halted = Some(e.to_string());
                    }
                    classify(self.cfg, msg, e, clock.now())
                }
            };
            outcomes.push((msg, outcome));
        }
        self.finish(outcomes, &mut report).await?;
        Ok(report)
    }

    /// Records the outcomes of a wave in one transaction.
    async fn finish(
        &self,
        outcomes: Vec<(&ClaimedMessage, AttemptOutcome)>,
        report: &mut StepReport,
    ) -> Result<(), StoreError> {
        let items: Vec<_> = outcomes
            .into_iter()
            .map(|(m, o)| (m.id, m.lease, o))
            .collect();
        let done = self.store.complete_many(&items, self.clock.now()).await?;
        for ((id, _, outcome), done) in items.iter().zip(done) {
            if !done {
                tracing::warn!(outbox_id = %id, "lease lost before completion; another worker owns the message");
                report.lease_lost += 1;
                continue;
            }
            match outcome {
                AttemptOutcome::Sent { .. } => report.sent += 1,
                AttemptOutcome::Retry { .. } => report.retried += 1,
                AttemptOutcome::Dead { .. } => report.dead += 1,
                AttemptOutcome::NeedsReview { .. } => report.needs_review += 1,
                AttemptOutcome::Cancelled { .. } => report.cancelled += 1,
            }
        }
        Ok(())
    }
}

/// The buyers and invoices of a wave as they are now (one read for the
/// wave, just before it is sent).
struct Current {
    buyers: std::collections::HashMap<BuyerId, Buyer>,
    invoices: std::collections::HashMap<InvoiceId, Invoice>,
}

impl Current {
    async fn load(store: &dyn Store, wave: &[ClaimedMessage]) -> Result<Current, StoreError> {
        let mut buyer_ids: Vec<BuyerId> = wave.iter().map(|m| m.buyer.id).collect();
        buyer_ids.sort_unstable();
        buyer_ids.dedup();
        let mut invoice_ids: Vec<InvoiceId> = wave
            .iter()
            .flat_map(|m| m.invoices.iter().map(|i| i.id))
            .collect();
        invoice_ids.sort_unstable();
        invoice_ids.dedup();
        Ok(Current {
            buyers: store
                .get_buyers(&buyer_ids)
                .await?
                .into_iter()
                .map(|b| (b.id, b))
                .collect(),
            invoices: store
                .get_invoices(&invoice_ids)
                .await?
                .into_iter()
                .map(|i| (i.id, i))
                .collect(),
        })
    }

    fn buyer(&self, msg: &ClaimedMessage) -> Result<Buyer, StoreError> {
        self.buyers
            .get(&msg.buyer.id)
            .cloned()
            .ok_or_else(|| StoreError::not_found("buyer", msg.buyer.id))
    }

    fn invoices(&self, msg: &ClaimedMessage) -> Result<Vec<Invoice>, StoreError> {
        msg.invoices
            .iter()
            .map(|i| {
                self.invoices
                    .get(&i.id)
                    .cloned()
                    .ok_or_else(|| StoreError::not_found("invoice", i.id))
            })
            .collect()
    }
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
