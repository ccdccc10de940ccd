//! A faithful loopback fake of Meta's WhatsApp Cloud API (Graph API v23.0).
//!
//! [`MetaFake::start`] binds `127.0.0.1:0` and serves, under any `vX.Y`
//! version segment:
//!
//! * `POST /{version}/{phone-number-id}/messages`: bearer check (401, code
//!   190), phone number id check (400, code 100 subcode 33), body checks
//!   (`messaging_product`, `to`, `type`), template checks against the
//!   registry (name + language 132001, status, BODY parameter count 132000,
//!   parameter shapes 132012, DOCUMENT header by link or uploaded media id,
//!   buttons by `sub_type` and `index` counted among all buttons), the 24 h
//!   customer-service window for free-form messages (131047), throughput
//!   (130429) and pair rate (131056) limits. Accepted messages are recorded
//!   ([`MetaFake::accepted`]) and answered like Meta does.
//! * `POST /{version}/{phone-number-id}/media`: multipart upload, returns
//!   `{"id": "<media id>"}`.
//! * `GET /{version}/{waba-id}/message_templates`: the registry, with `limit`
//!   / `after` / `before` cursor paging and `name` / `status` / `language` /
//!   `category` filters. The bearer may also come as `access_token` query
//!   parameter, as Graph allows; the `next` links do not repeat it.
//!
//! After accepting a message it POSTs status webhooks (`sent`, `delivered`,
//! `read`, or `failed`) to [`MetaFakeConfig::webhook_url`], signed with
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`,
//! retrying on non-2xx answers; [`WebhookBehaviour`] adds delays,
//! duplicates, reordering, asynchronous failures, unread messages and
//! batching. [`MetaFake::reply_button`] and [`MetaFake::reply_text`] simulate
//! the buyer.
//!
//! Faults are scripted with [`MetaFake::script`] (one [`Fault`] per coming
//! send request) or drawn at random with
//! [`MetaFake::set_transient_error_rate`].
//!
//! # Default templates
//!
//! [`default_templates`] holds, each in `en`, `hi` and `es`, `UTILITY`,
//! `APPROVED`:
//!
//! | name | header | body `{{1}}..{{4}}` | buttons |
//! | --- | --- | --- | --- |
//! | `payment_reminder_due` | DOCUMENT | name, invoice no., amount (currency), due date (date_time) | see below |
//! | `payment_reminder_overdue` | DOCUMENT | same | see below |
//! | `payment_reminder_final` | DOCUMENT | same | see below |
//! | `payment_receipt` | DOCUMENT | name, invoice no., amount paid (currency), payment date (date_time) | none |
//!
//! Reminder buttons, by index: `0` URL "Pay now" `https://pay.example/{{1}}`
//! (the send supplies the suffix), `1` QUICK_REPLY "Paid already", `2`
//! QUICK_REPLY "Send invoice copy", `3` QUICK_REPLY "Talk to someone", `4`
//! QUICK_REPLY "Stop reminders" (texts translated in `hi` and `es`).
//!
//! Two more, `en` only, for tests of the template check:
//! `early_payment_offer` (`MARKETING`, `APPROVED`, TEXT header without
//! parameter, four body parameters, one quick reply) and
//! `payment_reminder_gentle` (`UTILITY`, `PENDING`, shaped like
//! `payment_reminder_due`; sending it gives 132001).

mod errors;
mod multipart;
mod server;
mod templates;
mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use templates::{
    FakeTemplate, REMINDER_TEMPLATES, account_from_listing, body_only_account, default_templates,
};
pub use webhooks::{
    DeliveryOutcome, WebhookBehaviour, WebhookDelivery, WebhookKind, signature_header,
    status_webhook_body,
};

/// Configuration of a [`MetaFake`]. [`Default`] gives test-friendly values.
#[derive(Clone)]
pub struct MetaFakeConfig {
    /// Address to bind; `None` = `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
    /// The bearer token the fake expects.
    pub access_token: String,
    /// Signs outgoing webhooks.
    pub app_secret: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    pub templates: Vec<FakeTemplate>,
    /// Where status and inbound webhooks are POSTed; `None` = none sent.
    pub webhook_url: Option<String>,
    pub webhooks: WebhookBehaviour,
    /// Accepted messages per second per phone number; above it, 130429.
    pub messages_per_second: Option<u32>,
    /// Minimum interval between two messages to one recipient (Meta: about
    /// 6 s); a faster one gets 131056. `None` = off.
    pub pair_rate_limit: Option<Duration>,
    /// Seed of every random choice the fake makes.
    pub seed: u64,
}

impl Default for MetaFakeConfig {
    fn default() -> Self {
        MetaFakeConfig {
            bind: None,
            access_token: "fake-meta-access-token".to_owned(),
            app_secret: "fake-meta-app-secret".to_owned(),
            phone_number_id: "106540352242922".to_owned(),
            display_phone_number: "15550783881".to_owned(),
            waba_id: "102290129340398".to_owned(),
            templates: default_templates(),
            webhook_url: None,
            webhooks: WebhookBehaviour::default(),
            messages_per_second: None,
            pair_rate_limit: None,
            seed: 42,
        }
    }
}

impl std::fmt::Debug for MetaFakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaFakeConfig")
            .field("bind", &self.bind)
            .field("access_token", &"***")
            .field("app_secret", &"***")
            .field("phone_number_id", &self.phone_number_id)
            .field("display_phone_number", &self.display_phone_number)
            .field("waba_id", &self.waba_id)
            .field("templates", &self.templates.len())
            .field("webhook_url", &self.webhook_url)
            .field("webhooks", &self.webhooks)
            .field("messages_per_second", &self.messages_per_second)
            .field("pair_rate_limit", &self.pair_rate_limit)
            .field("seed", &self.seed)
            .finish()
    }
}

/// A scripted answer to one coming send request (`POST .../messages`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 130429 "Rate limit hit" (HTTP 400), not accepted.
    RateLimited,
    /// 131056 pair rate limit hit (HTTP 400), not accepted.
    PairRateLimited,
    /// HTTP 500 with code 131000 "Something went wrong", not accepted.
    ServerError,
    /// HTTP 503 with code 2 "Service temporarily unavailable", not accepted.
    ServiceUnavailable,
    /// Wait this long, then handle the request normally.
    Slow(Duration),
    /// Read the whole request, handle it normally (accept, record, emit
    /// webhooks), then close the connection without answering: the
    /// ambiguous case.
    DropAfterRead,
    /// Read the request, do not accept it, close the connection.
    DropBeforeAccept,
    /// Answer HTTP 200 with a body that is not JSON, without accepting.
    MalformedJson,
    /// Any error envelope, not accepted.
    Error {
        http: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
    },
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedMessage {
    pub wamid: String,
    /// Digits of the recipient (`wa_id`).
    pub to: String,
    /// `template`, `text`, `document`, ...
    pub kind: String,
    pub template: Option<String>,
    pub language: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
    /// The request body as sent.
    pub body: Value,
    pub at: SystemTime,
}

/// A file uploaded through the media endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedMedia {
    pub id: String,
    pub mime_type: String,
    pub filename: Option<String>,
    pub size: usize,
}

/// Upper bound on the webhook delivery log, so a long demo stays small.
const MAX_DELIVERY_LOG: usize = 10_000;

pub(crate) struct State {
    pub templates: Vec<FakeTemplate>,
    pub accepted: Vec<AcceptedMessage>,
    pub requests: usize,
    pub faults: VecDeque<Fault>,
    pub transient_error_rate: f64,
    pub rng: StdRng,
    pub media: HashMap<String, UploadedMedia>,
    /// Last inbound message per `wa_id` (opens the 24 h window).
    pub last_inbound: HashMap<String, SystemTime>,
    /// Last accepted message per recipient (pair rate limit).
    pub last_outbound: HashMap<String, Instant>,
    /// Accepted sends in the last second (throughput limit).
    pub recent_sends: VecDeque<Instant>,
    /// Conversation ids per (recipient, category).
    pub conversations: HashMap<(String, String), String>,
    pub next_seq: u64,
    /// Added to the wall clock ([`MetaFake::advance_clock`], [`MetaFake::set_clock`]).
    pub clock_offset: Duration,
    /// Taken from the wall clock ([`MetaFake::set_clock`] to a time in the past).
    pub clock_behind: Duration,
    pub deliveries: VecDeque<WebhookDelivery>,
}

impl State {
    /// Wall clock plus the test offset: webhook timestamps, the 24 h window,
    /// `AcceptedMessage::at`. (Rate limits use `Instant` and are not shifted.)
    pub fn now(&self) -> SystemTime {
        let ahead = wall_clock() + self.clock_offset;
        ahead.checked_sub(self.clock_behind).unwrap_or(ahead)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        if p.is_nan() || p <= 0.0 {
            return false;
        }
        self.rng.random_bool(p.min(1.0))
    }

    pub fn random_hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let d: u32 = self.rng.random_range(0..16);
                char::from_digit(d, 16).map_or('0', |c| c.to_ascii_uppercase())
            })
            .collect()
    }

    /// A fresh message id shaped like Meta's (`wamid.` + opaque text).
    pub fn new_wamid(&mut self) -> String {
        self.next_seq += 1;
        format!("wamid.HBgM{}{:06}", self.random_hex(24), self.next_seq)
    }

    pub fn fbtrace_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        (0..23)
            .map(|_| char::from(ALPHABET[self.rng.random_range(0..ALPHABET.len())]))
            .collect()
    }

    pub fn record_delivery(&mut self, d: WebhookDelivery) {
        if self.deliveries.len() >= MAX_DELIVERY_LOG {
            self.deliveries.pop_front();
        }
        self.deliveries.push_back(d);
    }
}

pub(crate) struct Shared {
    pub cfg: MetaFakeConfig,
    pub base_url: String,
    pub state: Mutex<State>,
    pub http: reqwest::Client,
    pub shutdown: watch::Receiver<bool>,
    pub status_events: mpsc::UnboundedSender<webhooks::StatusEvent>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("meta fake state mutex poisoned")
    }

    /// The fake's notion of now (see [`State::now`]).
    pub fn now(&self) -> SystemTime {
        self.lock().now()
    }
}

/// The one place the fake reads the wall clock. It stands in for an
/// external service whose timestamps are real time, so it does not go
/// through tagada's `Clock` (and may not depend on tagada-core anyway).
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> SystemTime {
    SystemTime::now()
}

/// Resolves when the fake is shut down (or its handle dropped).
pub(crate) async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// A running fake Cloud API. Dropping it (or [`MetaFake::shutdown`]) stops
/// the server and its webhook tasks.
pub struct MetaFake {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    accept_task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetaFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaFake")
            .field("addr", &self.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

impl MetaFake {
    /// Bind and start serving.
    pub async fn start(cfg: MetaFakeConfig) -> std::io::Result<MetaFake> {
        let bind = cfg
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .user_agent("facebookexternalua")
            .build()
            .map_err(std::io::Error::other)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let state = State {
            templates: cfg.templates.clone(),
            accepted: Vec::new(),
            requests: 0,
            faults: VecDeque::new(),
            transient_error_rate: 0.0,
            rng: StdRng::seed_from_u64(cfg.seed),
            media: HashMap::new(),
            last_inbound: HashMap::new(),
            last_outbound: HashMap::new(),
            recent_sends: VecDeque::new(),
            conversations: HashMap::new(),
            next_seq: 0,
            clock_offset: Duration::ZERO,
            clock_behind: Duration::ZERO,
            deliveries: VecDeque::new(),
        };
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            cfg,
            state: Mutex::new(state),
            http,
            shutdown: shutdown_rx.clone(),
            status_events: events_tx,
        });
        tokio::spawn(webhooks::dispatcher(shared.clone(), events_rx));
        let router = server::router(shared.clone());
        let accept_task = tokio::spawn(server::accept_loop(listener, router, shutdown_rx));
        tracing::debug!(%addr, "meta fake listening");
        Ok(MetaFake {
            shared,
            addr,
            shutdown_tx,
            accept_task: Some(accept_task),
        })
    }

    /// `http://127.0.0.1:PORT`; clients append `/v23.0/...`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the fake runs with.
    pub fn config(&self) -> &MetaFakeConfig {
        &self.shared.cfg
    }

    /// Every message the fake accepted, in order.
    pub fn accepted(&self) -> Vec<AcceptedMessage> {
        self.shared.lock().accepted.clone()
    }

    /// Number of send requests seen, accepted or not.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// Files uploaded through the media endpoint.
    pub fn uploaded_media(&self) -> Vec<UploadedMedia> {
        let mut media: Vec<_> = self.shared.lock().media.values().cloned().collect();
        media.sort_by(|a, b| a.id.cmp(&b.id));
        media
    }

    /// Queue faults for the next send requests, one per request, in order.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().faults.extend(faults);
    }

    /// Share (0.0..=1.0) of send requests answered, before acceptance, with a
    /// retryable error (130429, 131000/500 or 2/503, drawn at random).
    pub fn set_transient_error_rate(&self, rate: f64) {
        self.shared.lock().transient_error_rate = rate;
    }

    /// Change a template's status (e.g. to `PAUSED`); returns whether it exists.
    pub fn set_template_status(&self, name: &str, language: &str, status: &str) -> bool {
        let mut st = self.shared.lock();
        match st
            .templates
            .iter_mut()
            .find(|t| t.name == name && t.language == language)
        {
            Some(t) => {
                t.status = status.to_owned();
                true
            }
            None => false,
        }
    }

    /// Move the fake's clock forward (e.g. 25 h to close every 24 h window).
    pub fn advance_clock(&self, by: Duration) {
        let mut st = self.shared.lock();
        let back = st.clock_behind.min(by);
        st.clock_behind -= back;
        st.clock_offset = st.clock_offset.saturating_add(by - back);
    }

    /// Set the fake's clock to `to`, from where it runs on at wall-clock
    /// speed: for a caller on a simulated clock (`tagada demo`), so that
    /// webhook timestamps and the 24 h window follow its time, earlier or
    /// later than the wall clock.
    pub fn set_clock(&self, to: SystemTime) {
        let wall = wall_clock();
        let mut st = self.shared.lock();
        match to.duration_since(wall) {
            Ok(ahead) => {
                st.clock_offset = ahead;
                st.clock_behind = Duration::ZERO;
            }
            Err(e) => {
                st.clock_offset = Duration::ZERO;
                st.clock_behind = e.duration();
            }
        }
    }

    /// Every webhook POST body the fake delivered or gave up on, in order
    /// (a duplicate counts as its own delivery).
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.lock().deliveries.iter().cloned().collect()
    }

    /// Simulate the recipient of accepted message `wamid` tapping its
    /// button `index`, as Meta reports it: the webhook's `button.text` is
    /// the approved template's label and `button.payload` the payload the
    /// send gave that button (the label when it gave none), with the
    /// message as context. Errors when the message, its template or a
    /// quick reply at that index is unknown.
    pub async fn tap_quick_reply(&self, wamid: &str, index: usize) -> Result<(), String> {
        let (from, payload, text) = {
            let st = self.shared.lock();
            let m = st
                .accepted
                .iter()
                .find(|m| m.wamid == wamid)
                .ok_or_else(|| format!("no accepted message {wamid}"))?;
            let template = st
                .templates
                .iter()
                .find(|t| {
                    Some(&t.name) == m.template.as_ref() && Some(&t.language) == m.language.as_ref()
                })
                .ok_or_else(|| format!("{wamid} is not a template message"))?;
            let button = template
                .buttons()
                .get(index)
                .filter(|b| {
                    b["type"]
                        .as_str()
                        .is_some_and(|k| k.eq_ignore_ascii_case("QUICK_REPLY"))
                })
                .cloned()
                .ok_or_else(|| format!("{} has no quick reply at index {index}", template.name))?;
            let text = button["text"].as_str().unwrap_or_default().to_owned();
            let sent = m.body["template"]["components"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| {
                    c["type"].as_str() == Some("button")
                        && templates::parse_index(&c["index"]) == Some(index)
                })
                .and_then(|c| c["parameters"][0]["payload"].as_str())
                .map(str::to_owned);
            (m.to.clone(), sent.unwrap_or_else(|| text.clone()), text)
        };
        self.reply_button(&from, Some(wamid), &payload, &text).await;
        Ok(())
    }

    /// Simulate the buyer tapping a quick-reply button of a template: posts
    /// a signed `type: "button"` webhook (and opens the 24 h window).
    pub async fn reply_button(
        &self,
        from: &str,
        context_wamid: Option<&str>,
        payload: &str,
        text: &str,
    ) {
        webhooks::inbound_button(&self.shared, from, context_wamid, payload, text).await;
    }

    /// Simulate a free-text reply: posts a signed `type: "text"` webhook and
    /// opens that number's 24 h window.
    pub async fn reply_text(&self, from: &str, text: &str) {
        webhooks::inbound_text(&self.shared, from, text).await;
    }

    /// Stop serving and wait for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MetaFake {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

/// Run a fake until the process ends (for `tagada fake meta`): logs the
/// base URL, then never returns unless binding fails.
pub async fn serve_forever(cfg: MetaFakeConfig) -> std::io::Result<()> {
    let fake = MetaFake::start(cfg).await?;
    tracing::info!(base_url = %fake.base_url(), "meta fake serving");
    std::future::pending::<()>().await;
    drop(fake);
    Ok(())
}

/// Digits of a phone number as the recipient's `wa_id` (`+91 98765-43210`
/// -> `919876543210`); `None` when it does not look like one.
pub(crate) fn wa_id_of(to: &str) -> Option<String> {
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    let allowed = to
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
    (allowed && (7..=15).contains(&digits.len())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wa_ids() {
        assert_eq!(wa_id_of("+91 98765-43210").as_deref(), Some("919876543210"));
        assert_eq!(wa_id_of("12"), None);
        assert_eq!(wa_id_of("abc1234567"), None);
    }

    #[test]
    fn config_debug_masks_secrets() {
        let s = format!("{:?}", MetaFakeConfig::default());
        assert!(!s.contains("fake-meta-app-secret"));
        assert!(!s.contains("fake-meta-access-token"));
    }
}
