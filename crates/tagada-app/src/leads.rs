//! Lead sync: pull the marketplaces' lead APIs window by window into the
//! ledger, within each API's call budget, without missing or repeating a
//! lead across restarts.
//!
//! The discipline, the same for every source ([`LeadApi`]):
//! - A **cursor** per source, in the store: every lead received before it is
//!   in. A window runs from a little before the cursor (late leads; the
//!   overlap is harmless, leads are unique per source) to at most the API's
//!   longest window later, never past now.
//! - A **budget** per source, in the store: a call is booked
//!   ([`LeadStore::reserve_call`]) before it is made, so processes started
//!   over and over, or side by side, never call more often than the API
//!   allows. After a "too many requests" the source is blocked for the
//!   API's back-off.
//! - **Verdicts**: leads are stored (each once) and the cursor moves past
//!   the window; "no leads" moves it too; refused credentials or a request
//!   the API calls wrong stop the source with an alert until a person acts
//!   (`tagada sync --resume`); anything else (a server error, a malformed
//!   answer, a dropped connection) is recorded and the same window is tried
//!   again at the next call.
//! - Every call is recorded as a sync run (window, outcome, counts).

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tagada_core::CountryCode;
use tagada_core::clock::Clock;
use tagada_sources::indiamart::{self, PullClient, PullConfig, PullError, Verdict, Window};
use tagada_sources::tradeindia::{self, InquiryClient, InquiryConfig};
use tagada_store::{
    CallReservation, INDIAMART, LeadOutcome, LeadSourcePatch, NewLead, NewSyncRun, Store,
    StoreError, TRADEINDIA,
};

use crate::whatsapp::Secret;

/// What one call to a lead API gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Leads (possibly none); `unreadable` are the reasons for leads that
    /// could not be taken (no id).
    Leads {
        leads: Vec<NewLead>,
        unreadable: Vec<String>,
    },
    /// The API says the window has no leads.
    Empty,
    /// The API says the request is wrong: retrying it as is will not help.
    BadRequest(String),
    /// The credentials were refused: a person must fix them.
    Unauthorized(String),
    /// Too many requests: wait the API's back-off.
    RateLimited(String),
    /// A server error, a malformed answer or a dropped connection: try the
    /// same window again later.
    Failed(String),
}

/// A lead API as the sync sees it.
#[async_trait]
pub trait LeadApi: Send + Sync {
    /// `indiamart`, `tradeindia`.
    fn source(&self) -> &'static str;
    /// The least time between two calls.
    fn min_interval(&self) -> SignedDuration;
    /// The longest window one call may ask for.
    fn max_window(&self) -> SignedDuration;
    /// How far back the API answers.
    fn max_lookback(&self) -> SignedDuration;
    /// How long to wait after "too many requests".
    fn backoff(&self) -> SignedDuration;
    async fn fetch(&self, start: Timestamp, end: Timestamp) -> Fetched;
}

/// `[indiamart]` in the config.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndiaMartConfig {
    pub enabled: bool,
    /// The Lead Manager's CRM key (`TAGADA_INDIAMART__KEY`).
    pub key: Secret,
    pub base_url: String,
    /// How far back the first sync looks, in hours (`tagada sync
    /// --backfill DAYS` goes further).
    pub first_sync_hours: u32,
    /// The secret in the push URL (`/webhooks/indiamart/<token>`, given to
    /// IndiaMART as the Push API's address); push is off when unset.
    /// IndiaMART signs nothing, so this token is the only proof.
    pub push_token: Secret,
}

impl Default for IndiaMartConfig {
    fn default() -> Self {
        IndiaMartConfig {
            enabled: false,
            key: Secret::default(),
            base_url: indiamart::DEFAULT_BASE_URL.to_string(),
            first_sync_hours: 24,
            push_token: Secret::default(),
        }
    }
}

impl std::fmt::Debug for IndiaMartConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndiaMartConfig")
            .field("enabled", &self.enabled)
            .field("key", &self.key)
            .field("base_url", &self.base_url)
            .field("first_sync_hours", &self.first_sync_hours)
            .field("push_token", &self.push_token)
            .finish()
    }
}

impl IndiaMartConfig {
    /// The client, when a key is set.
    pub fn api(&self) -> Result<IndiaMartApi, String> {
        let key = self
            .key
            .to_secret_string()
            .ok_or("indiamart.key is not set (TAGADA_INDIAMART__KEY)")?;
        let client = PullClient::new(PullConfig::with_base_url(self.base_url.clone(), key))
            .map_err(|e| e.to_string())?;
        Ok(IndiaMartApi { client })
    }
}

/// IndiaMART's Lead Manager pull API (CRM v2).
#[derive(Debug, Clone)]
pub struct IndiaMartApi {
    client: PullClient,
}

impl IndiaMartApi {
    pub fn new(client: PullClient) -> IndiaMartApi {
        IndiaMartApi { client }
    }

    /// The client for `base_url` with `key` (a fake's, in tests and the demo).
    pub fn with_key(base_url: &str, key: &str) -> Result<IndiaMartApi, String> {
        let client = PullClient::new(PullConfig::with_base_url(
            base_url.to_string(),
            secrecy::SecretString::from(key.to_string()),
        ))
        .map_err(|e| e.to_string())?;
        Ok(IndiaMartApi { client })
    }
}

fn signed(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

#[async_trait]
impl LeadApi for IndiaMartApi {
    fn source(&self) -> &'static str {
        INDIAMART
    }
    fn min_interval(&self) -> SignedDuration {
        signed(indiamart::MIN_INTERVAL)
    }
    fn max_window(&self) -> SignedDuration {
        indiamart::MAX_WINDOW
    }
    fn max_lookback(&self) -> SignedDuration {
        indiamart::MAX_LOOKBACK
    }
    fn backoff(&self) -> SignedDuration {
        signed(indiamart::RATE_LIMIT_BACKOFF)
    }

    async fn fetch(&self, start: Timestamp, end: Timestamp) -> Fetched {
        match self.client.pull(Window { start, end }).await {
            Ok(Verdict::Leads { leads, .. }) => {
                let mut out = Vec::with_capacity(leads.len());
                let mut unreadable = Vec::new();
                for l in &leads {
                    match indiamart_lead(l) {
                        Ok(n) => out.push(n),
                        Err(reason) => unreadable.push(reason.to_string()),
                    }
                }
                Fetched::Leads {
                    leads: out,
                    unreadable,
                }
            }
            Ok(Verdict::NoLeads { .. }) => Fetched::Empty,
            Ok(Verdict::BadRequest { message }) => Fetched::BadRequest(format!("400: {message}")),
            Ok(Verdict::InvalidKey { message }) => Fetched::Unauthorized(format!("401: {message}")),
            Ok(Verdict::RateLimited { message }) => Fetched::RateLimited(format!("429: {message}")),
            Ok(Verdict::ServerError {
                message,
                http_status,
            }) => Fetched::Failed(format!("server error (HTTP {http_status}): {message}")),
            Ok(Verdict::Unexpected {
                code,
                http_status,
                message,
            }) => Fetched::Failed(format!(
                "unexpected CODE {code} (HTTP {http_status}): {message}"
            )),
            Err(e @ (PullError::Connect(_) | PullError::Transport(_))) => {
                Fetched::Failed(e.to_string())
            }
            Err(e) => Fetched::Failed(e.to_string()),
        }
    }
}

/// A message as a note: each line with its runs of spaces shrunk to one,
/// blank lines kept.
fn tidy(text: &str) -> String {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One IndiaMART lead as the ledger takes it: the person, company, number
/// (E.164, read in the buyer's country), e-mail, city and country, and its
/// notes: what was asked for, the message, quantity, order value and
/// requirement type, and a call's duration. `Err` when it has no id.
pub fn indiamart_lead(l: &indiamart::Lead) -> Result<NewLead, &'static str> {
    let id = l
        .unique_query_id
        .clone()
        .ok_or("an IndiaMART lead without UNIQUE_QUERY_ID")?;
    let mut notes = Vec::new();
    if let Some(p) = l.product_name.as_deref().or(l.subject.as_deref()) {
        let kind = match l
            .query_type
            .as_ref()
            .map(|q| q.code().to_string())
            .as_deref()
        {
            Some("P") => "called about",
            Some("B") => "buy-lead for",
            _ => "asked about",
        };
        notes.push(format!("{kind} {p}"));
    }
    if let Some(m) = &l.message {
        notes.push(tidy(m));
    }
    if let Some(q) = &l.quantity {
        notes.push(match &q.unit {
            Some(u) => format!("quantity: {} {u}", q.amount),
            None => format!("quantity: {}", q.amount),
        });
    }
    if let Some(v) = &l.order_value {
        notes.push(format!("probable order value: {}", v.text));
    }
    if let Some(r) = &l.requirement_type {
        notes.push(format!("requirement: {r}"));
    }
    if let Some(secs) = l.call_duration_secs {
        notes.push(format!("phone call of {secs} s"));
    }
    Ok(NewLead {
        source: INDIAMART.into(),
        external_id: id,
        received_at: l.query_time,
        name: l.sender_name.clone(),
        company: l.sender_company.clone(),
        phone: l.mobile().or_else(|| l.mobile_alt()),
        email: l
            .sender_email
            .clone()
            .or_else(|| l.sender_email_alt.clone()),
        city: l.sender_city.clone(),
        country: l.country(),
        notes,
        raw: l.raw.to_string(),
    })
}

/// `[tradeindia]` in the config.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TradeIndiaConfig {
    pub enabled: bool,
    pub user_id: String,
    pub profile_id: String,
    /// The API key (`TAGADA_TRADEINDIA__KEY`).
    pub key: Secret,
    pub base_url: String,
    /// Least minutes between two syncs (TradeIndia publishes no limit).
    pub min_interval_minutes: u32,
    /// How far back the first sync looks, in hours.
    pub first_sync_hours: u32,
}

impl Default for TradeIndiaConfig {
    fn default() -> Self {
        TradeIndiaConfig {
            enabled: false,
            user_id: String::new(),
            profile_id: String::new(),
            key: Secret::default(),
            base_url: tradeindia::DEFAULT_BASE_URL.to_string(),
            min_interval_minutes: 5,
            first_sync_hours: 24,
        }
    }
}

impl std::fmt::Debug for TradeIndiaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradeIndiaConfig")
            .field("enabled", &self.enabled)
            .field("user_id", &self.user_id)
            .field("profile_id", &self.profile_id)
            .field("key", &self.key)
            .field("base_url", &self.base_url)
            .field("min_interval_minutes", &self.min_interval_minutes)
            .field("first_sync_hours", &self.first_sync_hours)
            .finish()
    }
}

impl TradeIndiaConfig {
    /// The client, when the credentials are set.
    pub fn api(&self) -> Result<TradeIndiaApi, String> {
        let key = self
            .key
            .to_secret_string()
            .ok_or("tradeindia.key is not set (TAGADA_TRADEINDIA__KEY)")?;
        if self.user_id.is_empty() || self.profile_id.is_empty() {
            return Err("tradeindia.user_id and tradeindia.profile_id are needed".into());
        }
        let client = InquiryClient::new(InquiryConfig::new(
            self.base_url.clone(),
            self.user_id.clone(),
            self.profile_id.clone(),
            key,
        ))
        .map_err(|e| e.to_string())?;
        Ok(TradeIndiaApi {
            client,
            min_interval: SignedDuration::from_mins(i64::from(self.min_interval_minutes.max(1))),
        })
    }
}

/// TradeIndia's `my_inquiry` API: windows are whole days in IST, paged.
#[derive(Debug, Clone)]
pub struct TradeIndiaApi {
    client: InquiryClient,
    min_interval: SignedDuration,
}

impl TradeIndiaApi {
    pub fn new(client: InquiryClient, min_interval: SignedDuration) -> TradeIndiaApi {
        TradeIndiaApi {
            client,
            min_interval,
        }
    }
}

fn ist_date(t: Timestamp) -> jiff::civil::Date {
    t.to_zoned_datetime(tagada_sources::lead_text::ist()).date()
}

#[async_trait]
impl LeadApi for TradeIndiaApi {
    fn source(&self) -> &'static str {
        TRADEINDIA
    }
    fn min_interval(&self) -> SignedDuration {
        self.min_interval
    }
    fn max_window(&self) -> SignedDuration {
        SignedDuration::from_hours(7 * 24)
    }
    fn max_lookback(&self) -> SignedDuration {
        SignedDuration::from_hours(365 * 24)
    }
    fn backoff(&self) -> SignedDuration {
        SignedDuration::from_mins(15)
    }

    async fn fetch(&self, start: Timestamp, end: Timestamp) -> Fetched {
        use tradeindia::Verdict as V;
        let range = match self
            .client
            .fetch_range(ist_date(start), ist_date(end))
            .await
        {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(e.to_string()),
        };
        match range.stopped_by {
            None => {}
            Some(V::Inquiries(_)) => {}
            Some(V::Rejected {
                http_status,
                message,
            }) => return Fetched::Unauthorized(format!("HTTP {http_status}: {message}")),
            Some(V::MissingParameters { message }) => return Fetched::BadRequest(message),
            Some(V::RateLimited { message }) => return Fetched::RateLimited(message),
            Some(V::ServerError {
                http_status,
                message,
            })
            | Some(V::Unexpected {
                http_status,
                message,
            }) => return Fetched::Failed(format!("HTTP {http_status}: {message}")),
        }
        if range.inquiries.is_empty() {
            return Fetched::Empty;
        }
        let mut leads = Vec::with_capacity(range.inquiries.len());
        let mut unreadable = Vec::new();
        for i in &range.inquiries {
            match tradeindia_lead(i) {
                Ok(l) => leads.push(l),
                Err(reason) => unreadable.push(reason.to_string()),
            }
        }
        Fetched::Leads { leads, unreadable }
    }
}

/// One TradeIndia inquiry as the ledger takes it (see [`indiamart_lead`]);
/// a masked e-mail is absent, a number found only in the message is used.
pub fn tradeindia_lead(i: &tradeindia::Inquiry) -> Result<NewLead, &'static str> {
    let id = i
        .rfi_id
        .clone()
        .ok_or("a TradeIndia inquiry without rfi_id")?;
    let mut notes = Vec::new();
    if let Some(p) = i.product_name.as_deref().or(i.subject.as_deref()) {
        let kind = if i.is_phone_inquiry() {
            "called about"
        } else {
            "asked about"
        };
        notes.push(format!("{kind} {p}"));
    }
    if let Some(m) = &i.message {
        notes.push(tidy(m));
    }
    if let Some(q) = &i.quantity_text {
        notes.push(format!("quantity: {q}"));
    }
    if let Some(v) = &i.order_value_min {
        notes.push(format!("order value from: {v}"));
    }
    Ok(NewLead {
        source: TRADEINDIA.into(),
        external_id: id,
        received_at: i.generated_at,
        name: i.sender_name.clone(),
        company: i.sender_co.clone(),
        phone: i.mobile.clone(),
        email: i
            .sender_email
            .clone()
            .or_else(|| i.sender_other_emails.clone()),
        city: i.sender_city.clone(),
        country: i
            .sender_country
            .as_deref()
            .and_then(|c| CountryCode::parse(c).ok()),
        notes,
        raw: i.raw.to_string(),
    })
}

/// How a sync behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Where a source never synced starts: this long before now.
    pub first_sync: SignedDuration,
    /// Each window starts this long before the cursor (late leads).
    pub overlap: SignedDuration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            first_sync: SignedDuration::from_hours(24),
            overlap: SignedDuration::from_mins(10),
        }
    }
}

/// Where a source stands after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    /// A call was made (see the report's outcome).
    Called,
    /// The budget allows no call before `until`.
    Waiting { until: Timestamp },
    /// Stopped until a person acts.
    Stopped { reason: String },
}

/// What one step of one source did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub source: String,
    pub calls: u32,
    pub leads_new: u32,
    pub leads_duplicate: u32,
    pub buyers_new: u32,
    pub buyers_matched: u32,
    /// Leads kept without a buyer, or not taken at all, by reason.
    pub skipped: BTreeMap<String, u32>,
    /// The cursor after the step.
    pub cursor: Option<Timestamp>,
    /// How far the cursor is behind now.
    pub behind_secs: i64,
    /// Set when this step stopped the source (refused credentials, a
    /// request the API calls wrong): a person must act.
    pub alert: Option<String>,
    /// A call that failed and will be retried.
    pub error: Option<String>,
}

impl SyncReport {
    /// Counts what the store did with each lead.
    pub fn tally(&mut self, outcomes: Vec<LeadOutcome>) {
        for outcome in outcomes {
            match outcome {
                LeadOutcome::Duplicate => self.leads_duplicate += 1,
                LeadOutcome::NewBuyer { .. } => {
                    self.leads_new += 1;
                    self.buyers_new += 1;
                }
                LeadOutcome::Matched { .. } => {
                    self.leads_new += 1;
                    self.buyers_matched += 1;
                }
                LeadOutcome::Skipped { reason } => {
                    self.leads_new += 1;
                    *self.skipped.entry(reason).or_default() += 1;
                }
            }
        }
    }

    pub fn add(&mut self, other: &SyncReport) {
        self.calls += other.calls;
        self.leads_new += other.leads_new;
        self.leads_duplicate += other.leads_duplicate;
        self.buyers_new += other.buyers_new;
        self.buyers_matched += other.buyers_matched;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        self.cursor = other.cursor;
        self.behind_secs = other.behind_secs;
        if other.alert.is_some() {
            self.alert.clone_from(&other.alert);
        }
        self.error.clone_from(&other.error);
    }
}

/// Moves a source's cursor back to `days` before now (at most as far as
/// the API answers), so the next steps walk those windows again; leads
/// already in are not stored twice.
pub async fn start_backfill(
    store: &dyn Store,
    api: &dyn LeadApi,
    days: u32,
    now: Timestamp,
) -> Result<Timestamp, StoreError> {
    // An hour's margin so the first window is still inside the API's reach
    // when the call is made.
    let reach = api
        .max_lookback()
        .checked_sub(SignedDuration::from_hours(1))
        .unwrap_or(SignedDuration::ZERO);
    let back = SignedDuration::from_hours(i64::from(days) * 24).min(reach);
    let start = now.checked_sub(back).unwrap_or(now);
    store
        .update_lead_source(
            api.source(),
            &LeadSourcePatch {
                cursor: Some(start),
                ..Default::default()
            },
            now,
        )
        .await?;
    Ok(start)
}

/// Lifts a stop (after a person fixed the credentials) and any block.
pub async fn resume(store: &dyn Store, source: &str, now: Timestamp) -> Result<(), StoreError> {
    store
        .update_lead_source(
            source,
            &LeadSourcePatch {
                stopped: Some(None),
                blocked_until: Some(None),
                ..Default::default()
            },
            now,
        )
        .await
        .map(|_| ())
}

/// One step of one source: at most one call (when the budget allows),
/// applied and recorded.
pub async fn sync_step(
    store: &dyn Store,
    api: &dyn LeadApi,
    clock: &dyn Clock,
    opts: &SyncOptions,
) -> Result<(SyncState, SyncReport), StoreError> {
    let source = api.source();
    let now = clock.now();
    let state = store.lead_source(source).await?;
    let mut report = SyncReport {
        source: source.to_string(),
        cursor: state.cursor,
        ..Default::default()
    };
    let reach = now
        .checked_sub(api.max_lookback())
        .unwrap_or(now)
        .checked_add(SignedDuration::from_mins(1))
        .unwrap_or(now);
    let cursor = state
        .cursor
        .unwrap_or_else(|| now.checked_sub(opts.first_sync).unwrap_or(now));
    let start = cursor
        .checked_sub(opts.overlap)
        .unwrap_or(cursor)
        .max(reach)
        .min(now);
    let end = start.checked_add(api.max_window()).unwrap_or(now).min(now);
    report.behind_secs = now.duration_since(cursor).as_secs().max(0);
    match store.reserve_call(source, now, api.min_interval()).await? {
        CallReservation::Granted => {}
        CallReservation::WaitUntil { until } => return Ok((SyncState::Waiting { until }, report)),
        CallReservation::Stopped { reason } => return Ok((SyncState::Stopped { reason }, report)),
    }
    report.calls = 1;
    let fetched = api.fetch(start, end).await;
    let finished = clock.now();
    let mut patch = LeadSourcePatch::default();
    let outcome = match fetched {
        Fetched::Leads { leads, unreadable } => {
            for reason in unreadable {
                *report.skipped.entry(reason).or_default() += 1;
            }
            report.tally(store.record_leads(&leads, finished).await?);
            patch.cursor = Some(end.max(cursor));
            "ingested"
        }
        Fetched::Empty => {
            patch.cursor = Some(end.max(cursor));
            "empty"
        }
        Fetched::BadRequest(message) => {
            let alert = format!(
                "{source} refused the request ({message}); sync is stopped until the configuration is checked and `tagada sync --resume {source}` is run"
            );
            patch.stopped = Some(Some(alert.clone()));
            report.alert = Some(alert);
            "bad_request"
        }
        Fetched::Unauthorized(message) => {
            let alert = format!(
                "{source} refused the key ({message}): a person must generate a new one, set it, and run `tagada sync --resume {source}`"
            );
            patch.stopped = Some(Some(alert.clone()));
            report.alert = Some(alert);
            "stopped"
        }
        Fetched::RateLimited(message) => {
            patch.blocked_until = Some(finished.checked_add(api.backoff()).ok());
            report.error = Some(message);
            "rate_limited"
        }
        Fetched::Failed(message) => {
            report.error = Some(message);
            "failed"
        }
    };
    if let Some(alert) = &report.alert {
        tracing::error!(source, alert = %alert, "lead sync stopped");
    } else if let Some(error) = &report.error {
        tracing::warn!(source, error = %error, "lead sync call failed; the window is tried again");
    }
    let after = store.update_lead_source(source, &patch, finished).await?;
    report.cursor = after.cursor;
    if let Some(c) = after.cursor {
        report.behind_secs = finished.duration_since(c).as_secs().max(0);
    }
    store
        .record_sync_run(&NewSyncRun {
            source: source.to_string(),
            started_at: now,
            finished_at: finished,
            window_start: Some(start),
            window_end: Some(end),
            outcome: outcome.to_string(),
            calls: 1,
            leads_new: report.leads_new,
            leads_duplicate: report.leads_duplicate,
            buyers_new: report.buyers_new,
            buyers_matched: report.buyers_matched,
            skipped: report.skipped.values().sum(),
            error: report.alert.clone().or_else(|| report.error.clone()),
        })
        .await?;
    let state = match &report.alert {
        Some(reason) => SyncState::Stopped {
            reason: reason.clone(),
        },
        None => SyncState::Called,
    };
    Ok((state, report))
}

/// Calls left before a source catches up (one window each), and the time
/// they take at the API's pace.
pub fn estimate(api: &dyn LeadApi, behind: SignedDuration) -> (u64, SignedDuration) {
    let window = api.max_window().as_secs().max(1);
    let calls = (behind.as_secs().max(0) as u64).div_ceil(window as u64);
    let time = api
        .min_interval()
        .checked_mul(calls.saturating_sub(1) as i32)
        .unwrap_or(SignedDuration::MAX);
    (calls, time)
}

/// Why a pushed lead was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The body is not an IndiaMART push (answer 400; it is recorded).
    #[error("not an IndiaMART push: {0}")]
    Unreadable(String),
    /// Answer 5xx: IndiaMART may push again, and the pull fetches it anyway.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lead IndiaMART pushed: stored like a pulled one (a lead pushed and
/// pulled is stored once), and recorded as a sync run of its own.
pub async fn ingest_indiamart_push(
    store: &dyn Store,
    body: &[u8],
    now: Timestamp,
) -> Result<SyncReport, PushError> {
    let mut report = SyncReport {
        source: INDIAMART.to_string(),
        ..Default::default()
    };
    let mut run = NewSyncRun {
        source: INDIAMART.to_string(),
        started_at: now,
        finished_at: now,
        outcome: "push".into(),
        ..Default::default()
    };
    let leads = match indiamart::parse_push(body) {
        Ok(leads) => leads,
        Err(e) => {
            let start: String = String::from_utf8_lossy(body).chars().take(200).collect();
            run.outcome = "push_rejected".into();
            run.error = Some(format!("{e}; body starts: {start}"));
            store.record_sync_run(&run).await?;
            return Err(PushError::Unreadable(e.to_string()));
        }
    };
    let mut taken = Vec::with_capacity(leads.len());
    for l in &leads {
        match indiamart_lead(l) {
            Ok(n) => taken.push(n),
            Err(reason) => *report.skipped.entry(reason.to_string()).or_default() += 1,
        }
    }
    report.tally(store.record_leads(&taken, now).await?);
    run.leads_new = report.leads_new;
    run.leads_duplicate = report.leads_duplicate;
    run.buyers_new = report.buyers_new;
    run.buyers_matched = report.buyers_matched;
    run.skipped = report.skipped.values().sum();
    store.record_sync_run(&run).await?;
    Ok(report)
}
