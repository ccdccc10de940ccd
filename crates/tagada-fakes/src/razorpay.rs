//! A loopback fake of Razorpay's Payment Links API and its webhooks.
//!
//! [`RazorpayFake::start`] serves, behind HTTP basic auth with the
//! configured key id and secret (anything else: 401 with Razorpay's
//! "The api key provided is invalid" envelope):
//!
//! * `POST /v1/payment_links`: checks the body as Razorpay documents it
//!   (`api/payments/payment-links/create-standard.md`): fields it knows,
//!   a positive integer `amount` in a listed currency (ending in 0 for
//!   three-decimal ones), `first_min_partial_amount` only with
//!   `accept_partial` and not above the amount, `upi_link` only in live
//!   mode, in INR and without partial payments, `expire_by` at least 15
//!   minutes ahead and at most six months, `reference_id` of at most 40
//!   characters and never used before by any link (cancelled and expired
//!   ones included: the documented 400), notes (15 pairs, values up to 255
//!   characters), `callback_method: get` with a `callback_url`. Answers the
//!   link entity, `status: created`, `payments: null`, no `order_id` yet
//!   (Razorpay makes the order when the buyer first tries to pay);
//! * `GET /v1/payment_links` (`reference_id` / `payment_id` filters; the
//!   list is `{"payment_links": [...]}` as in razorpay-python's mock) and
//!   `GET /v1/payment_links/{id}` (`payments` lists captured payments);
//! * `POST /v1/payment_links/{id}/cancel`: only a `created` link (the two
//!   documented refusals otherwise); sends `payment_link.cancelled`.
//!
//! The buyer is simulated with [`RazorpayFake::pay`] (whole or partial,
//! sends `payment.captured` then `payment_link.partially_paid` or
//! `payment_link.paid`), [`RazorpayFake::fail_payment`] (`payment.failed`)
//! and [`RazorpayFake::expire`] (`payment_link.expired`; a link also
//! expires when the fake's clock passes its `expire_by`). Events are shaped
//! like the samples of `webhooks/payment-links.md`, down to the order
//! entity's `id` without its `order_` prefix, and POSTed to
//! [`RazorpayFakeConfig::webhook_url`] with `X-Razorpay-Signature` (hex
//! HMAC-SHA256 of the exact body with the webhook secret) and
//! `X-Razorpay-Event-Id`; see [`crate::gateway_hooks`] for duplicates,
//! holding, reordering, retries and replay.
//!
//! Error descriptions quoted from Razorpay's docs: the invalid key, the
//! duplicate reference, the UPI link rules, the 15-minute rule, the cancel
//! refusals, "The id provided does not exist", the notes length. The
//! others ("The amount is invalid" aside, which razorpay-python's mock
//! shows) are worded here.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use jiff::{Timestamp, ToSpan};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::gateway_hooks::{
    ApiFault, HookBehaviour, HookDelivery, Hooks, Outgoing, RecordedRequest, base64, escape_html,
    hmac_hex, random_id, recorded_headers, url_form,
};
use crate::marketplace::{FakeClock, Server};

/// Razorpay's currencies and the exponent it uses for each
/// (`payments/international-payments.md`, "Supported Currencies").
pub const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("GBP", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HRK", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SCR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SLL", 2),
    ("SOS", 2),
    ("SVC", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
];

/// The documented 400 for a re-used `reference_id`.
pub const DUPLICATE_REFERENCE: &str = "payment link creation with reference ID already attempted";
/// The documented answer to a wrong key.
pub const INVALID_KEY: &str = "The api key provided is invalid";
const NOT_FOUND: &str = "The id provided does not exist";
const FIFTEEN_MINUTES: i64 = 15 * 60;

/// Configuration of a [`RazorpayFake`]. [`Default`] gives test values: a
/// test-mode key, a frozen clock, no webhooks.
#[derive(Clone)]
pub struct RazorpayFakeConfig {
    /// `None` = `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
    /// `rzp_test_...` (test mode: no UPI links) or `rzp_live_...`.
    pub key_id: String,
    pub key_secret: String,
    /// Signs the webhooks (the secret set on the webhook in the Dashboard).
    pub webhook_secret: String,
    /// Where webhooks are POSTed; `None`: none sent.
    pub webhook_url: Option<String>,
    pub webhooks: HookBehaviour,
    pub clock: FakeClock,
    /// `account_id` of the events.
    pub account_id: String,
    /// Seed of the ids the fake makes.
    pub seed: u64,
}

impl Default for RazorpayFakeConfig {
    fn default() -> Self {
        RazorpayFakeConfig {
            bind: None,
            key_id: "rzp_test_FakeKeyId000001".to_owned(),
            key_secret: "fake_razorpay_key_secret".to_owned(),
            webhook_secret: "fake_razorpay_webhook_secret".to_owned(),
            webhook_url: None,
            webhooks: HookBehaviour::default(),
            clock: FakeClock::Frozen("2025-12-01T06:30:00Z".parse().expect("valid instant")),
            account_id: "acc_FakeAccount00001".to_owned(),
            seed: 11,
        }
    }
}

impl std::fmt::Debug for RazorpayFakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RazorpayFakeConfig")
            .field("bind", &self.bind)
            .field("key_id", &self.key_id)
            .field("key_secret", &"***")
            .field("webhook_secret", &"***")
            .field("webhook_url", &self.webhook_url)
            .field("webhooks", &self.webhooks)
            .field("clock", &self.clock)
            .field("account_id", &self.account_id)
            .field("seed", &self.seed)
            .finish()
    }
}

/// A payment made (or tried) through a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLinkPayment {
    /// `pay_...`.
    pub payment_id: String,
    pub amount: i64,
    /// `upi`, `card`, `netbanking`...
    pub method: String,
    pub created_at: i64,
    /// `captured` or `failed`.
    pub status: String,
    pub error_description: Option<String>,
}

/// A Payment Link the fake holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FakePaymentLink {
    /// `plink_...`.
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub amount_paid: i64,
    pub accept_partial: bool,
    pub first_min_partial_amount: i64,
    pub reference_id: String,
    pub description: String,
    /// As sent (`{}` when absent).
    pub customer: Value,
    /// As sent; `null` when absent, `[]` when sent empty (Razorpay's PHP
    /// shows through).
    pub notes: Value,
    pub notify: Value,
    pub reminder_enable: bool,
    pub callback_url: Option<String>,
    pub callback_method: Option<String>,
    pub upi_link: bool,
    /// Unix seconds; 0 = not set (and so for the two below).
    pub expire_by: i64,
    pub expired_at: i64,
    pub cancelled_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// `created`, `partially_paid`, `paid`, `expired`, `cancelled`.
    pub status: String,
    /// Made at the first payment attempt.
    pub order_id: Option<String>,
    pub order_created_at: i64,
    pub short_url: String,
    /// Every attempt, failed ones included (the API lists captured ones).
    pub payments: Vec<FakeLinkPayment>,
}

impl FakePaymentLink {
    fn open(&self) -> bool {
        matches!(self.status.as_str(), "created" | "partially_paid")
    }

    fn captured(&self) -> impl Iterator<Item = &FakeLinkPayment> {
        self.payments.iter().filter(|p| p.status == "captured")
    }

    /// The entity as the API answers it (`with_payments`) or as webhooks
    /// carry it (no `payments` key).
    pub fn entity_json(&self, with_payments: bool) -> Value {
        let mut e = json!({
            "accept_partial": self.accept_partial,
            "amount": self.amount,
            "amount_paid": self.amount_paid,
            "cancelled_at": self.cancelled_at,
            "created_at": self.created_at,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "expire_by": self.expire_by,
            "expired_at": self.expired_at,
            "first_min_partial_amount": self.first_min_partial_amount,
            "id": self.id,
            "notes": self.notes,
            "notify": self.notify,
            "reference_id": self.reference_id,
            "reminder_enable": self.reminder_enable,
            "reminders": [],
            "short_url": self.short_url,
            "status": self.status,
            "updated_at": self.updated_at,
            "upi_link": self.upi_link,
            "user_id": "",
            "whatsapp_link": false,
        });
        if let Some(url) = &self.callback_url {
            e["callback_url"] = json!(url);
            e["callback_method"] = json!(self.callback_method.as_deref().unwrap_or("get"));
        }
        if let Some(order) = &self.order_id {
            e["order_id"] = json!(order);
        }
        if with_payments {
            let captured: Vec<Value> = self
                .captured()
                .map(|p| {
                    json!({
                        "amount": p.amount,
                        "created_at": p.created_at,
                        "method": p.method,
                        "payment_id": p.payment_id,
                        "plink_id": self.id,
                        "status": "captured",
                        "updated_at": p.created_at,
                    })
                })
                .collect();
            e["payments"] = if captured.is_empty() {
                Value::Null
            } else {
                Value::Array(captured)
            };
        }
        e
    }

    /// `notes` as payments and orders inherit them: the object, or `[]`.
    fn inherited_notes(&self) -> Value {
        match &self.notes {
            Value::Object(m) if !m.is_empty() => self.notes.clone(),
            _ => json!([]),
        }
    }

    fn order_json(&self, now: i64) -> Value {
        let order_id = self.order_id.clone().unwrap_or_default();
        json!({
            "amount": self.amount,
            "amount_due": self.amount - self.amount_paid,
            "amount_paid": self.amount_paid,
            "attempts": self.payments.len(),
            "created_at": self.order_created_at,
            "currency": self.currency,
            // As in Razorpay's samples: the order entity's id has no
            // `order_` prefix, unlike every `order_id` field.
            "id": order_id.trim_start_matches("order_"),
            "notes": self.inherited_notes(),
            "partial_payment": self.accept_partial,
            "payment_capture": true,
            "product_id": self.id.trim_start_matches("plink_"),
            "product_type": "payment_link_v2",
            "receipt": self.reference_id,
            "status": if self.status == "paid" { "paid" } else { "attempted" },
            "updated_at": now,
        })
    }

    fn payment_json(&self, p: &FakeLinkPayment) -> Value {
        let captured = p.status == "captured";
        // Razorpay's fee: 2 % plus 18 % GST on it, in the payment's minor
        // unit, rounded down (integer division) at each step.
        let base_fee = p.amount * 2 / 100;
        let tax = base_fee * 18 / 100;
        let vpa = (p.method == "upi").then_some("buyer@exampleupi");
        let mut e = json!({
            "id": p.payment_id,
            "entity": "payment",
            "amount": p.amount,
            "currency": self.currency,
            "status": p.status,
            "order_id": self.order_id,
            "invoice_id": null,
            "international": self.currency != "INR",
            "method": p.method,
            "amount_refunded": 0,
            "amount_transferred": 0,
            "refund_status": null,
            "captured": captured,
            "description": format!("#{}", self.id.trim_start_matches("plink_")),
            "card_id": if p.method == "card" { json!(format!("card_{}", &p.payment_id[4..])) } else { Value::Null },
            "bank": if p.method == "netbanking" { json!("HDFC") } else { Value::Null },
            "wallet": null,
            "vpa": vpa,
            "email": self.customer.get("email").cloned().unwrap_or(Value::Null),
            "contact": self.customer.get("contact").cloned().unwrap_or(Value::Null),
            "notes": self.inherited_notes(),
            "fee": if captured { json!(base_fee + tax) } else { Value::Null },
            "tax": if captured { json!(tax) } else { Value::Null },
            "error_code": null,
            "error_description": null,
            "error_source": null,
            "error_step": null,
            "error_reason": null,
            "acquirer_data": if p.method == "card" { json!({"auth_code": "000000"}) } else { json!({"rrn": if captured { json!("000000000000") } else { Value::Null }}) },
            "created_at": p.created_at,
        });
        if self.currency == "INR" {
            e["base_amount"] = json!(p.amount);
        }
        if let Some(vpa) = vpa {
            e["upi"] = json!({"payer_account_type": "bank_account", "vpa": vpa, "flow": "intent"});
        }
        if !captured {
            e["error_code"] = json!("BAD_REQUEST_ERROR");
            e["error_description"] =
                json!(p.error_description.as_deref().unwrap_or("Payment failed"));
            e["error_source"] = json!("issuer");
            e["error_step"] = json!("payment_authorization");
            e["error_reason"] = json!("payment_failed");
        }
        e
    }
}

struct RzState {
    clock: FakeClock,
    rng: StdRng,
    links: Vec<FakePaymentLink>,
    /// Every `reference_id` a link was ever created with.
    references: HashSet<String>,
    requests: Vec<RecordedRequest>,
    faults: VecDeque<ApiFault>,
}

impl RzState {
    fn now(&self) -> i64 {
        self.clock.now().as_second()
    }

    fn id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", random_id(&mut self.rng, 14))
    }

    fn link_mut(&mut self, id: &str) -> Option<&mut FakePaymentLink> {
        self.links.iter_mut().find(|l| l.id == id)
    }
}

struct Shared {
    cfg: RazorpayFakeConfig,
    /// Set once the server is bound.
    base_url: OnceLock<String>,
    state: Mutex<RzState>,
    hooks: Arc<Hooks>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, RzState> {
        self.state.lock().expect("razorpay fake mutex poisoned")
    }

    fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// A webhook event ready to send.
    fn event(&self, st: &mut RzState, event: &str, contains: &[&str], payload: Value) -> Outgoing {
        let body = json!({
            "account_id": self.cfg.account_id,
            "contains": contains,
            "created_at": st.now(),
            "entity": "event",
            "event": event,
            "payload": payload,
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let event_id = random_id(&mut st.rng, 14);
        let secret = self.cfg.webhook_secret.clone();
        let id = event_id.clone();
        Outgoing {
            event_id,
            event_type: event.to_owned(),
            body,
            sign: Arc::new(move |body: &[u8]| {
                vec![
                    ("content-type".to_owned(), "application/json".to_owned()),
                    (
                        "x-razorpay-signature".to_owned(),
                        hmac_hex(secret.as_bytes(), &[body]),
                    ),
                    ("x-razorpay-event-id".to_owned(), id.clone()),
                    ("user-agent".to_owned(), "Razorpay-Webhook/v1".to_owned()),
                ]
            }),
        }
    }

    /// Expires every open link whose `expire_by` the clock has passed.
    fn sweep(&self, st: &mut RzState) -> Vec<Outgoing> {
        let now = st.now();
        let due: Vec<String> = st
            .links
            .iter()
            .filter(|l| l.open() && l.expire_by > 0 && l.expire_by <= now)
            .map(|l| l.id.clone())
            .collect();
        due.iter()
            .filter_map(|id| self.expire_locked(st, id).ok())
            .collect()
    }

    fn expire_locked(&self, st: &mut RzState, id: &str) -> Result<Outgoing, String> {
        let now = st.now();
        let link = st.link_mut(id).ok_or_else(|| format!("no link {id}"))?;
        if !link.open() {
            return Err(format!("{id} is {}, it cannot expire", link.status));
        }
        link.status = "expired".into();
        link.expired_at = now;
        link.updated_at = now;
        let entity = link.entity_json(false);
        Ok(self.event(
            st,
            "payment_link.expired",
            &["payment_link"],
            json!({"payment_link": {"entity": entity}}),
        ))
    }
}

/// A running Razorpay fake. Dropping it (or [`RazorpayFake::shutdown`])
/// stops the server.
pub struct RazorpayFake {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for RazorpayFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RazorpayFake")
            .field("addr", &self.server.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

impl RazorpayFake {
    /// Bind and serve.
    pub async fn start(cfg: RazorpayFakeConfig) -> std::io::Result<RazorpayFake> {
        let hooks = Arc::new(Hooks::new(cfg.webhook_url.clone(), cfg.webhooks.clone())?);
        let shared = Arc::new(Shared {
            base_url: OnceLock::new(),
            state: Mutex::new(RzState {
                clock: cfg.clock,
                rng: StdRng::seed_from_u64(cfg.seed),
                links: Vec::new(),
                references: HashSet::new(),
                requests: Vec::new(),
                faults: VecDeque::new(),
            }),
            cfg,
            hooks,
        });
        let router = Router::new()
            .route("/rzp/{short}", axum::routing::get(hosted_page))
            .route("/rzp/{short}/pay", axum::routing::post(hosted_pay))
            .fallback(handle)
            .with_state(shared.clone());
        let server = Server::start(shared.cfg.bind, router).await?;
        let _ = shared.base_url.set(server.base_url());
        Ok(RazorpayFake { shared, server })
    }

    /// `http://127.0.0.1:PORT`; clients append `/v1/...`.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    pub fn config(&self) -> &RazorpayFakeConfig {
        &self.shared.cfg
    }

    /// Every link, in creation order.
    pub fn links(&self) -> Vec<FakePaymentLink> {
        self.shared.lock().links.clone()
    }

    pub fn link(&self, id: &str) -> Option<FakePaymentLink> {
        self.shared
            .lock()
            .links
            .iter()
            .find(|l| l.id == id)
            .cloned()
    }

    /// Every API request answered, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Queue faults for the next API requests, one per request.
    pub fn script(&self, faults: impl IntoIterator<Item = ApiFault>) {
        self.shared.lock().faults.extend(faults);
    }

    pub fn now(&self) -> Timestamp {
        self.shared.lock().clock.now()
    }

    /// Freeze the clock at `at` (links past their `expire_by` expire).
    pub fn set_clock(&self, at: Timestamp) {
        let events = {
            let mut st = self.shared.lock();
            st.clock = FakeClock::Frozen(at);
            self.shared.sweep(&mut st)
        };
        self.shared.hooks.emit_in_background(events);
    }

    /// Move the clock forward (links past their `expire_by` expire).
    pub fn advance_clock(&self, by: Duration) {
        let events = {
            let mut st = self.shared.lock();
            st.clock.advance(by);
            self.shared.sweep(&mut st)
        };
        self.shared.hooks.emit_in_background(events);
    }

    pub fn webhook_behaviour(&self) -> HookBehaviour {
        self.shared.hooks.behaviour()
    }

    pub fn set_webhook_behaviour(&self, b: HookBehaviour) {
        self.shared.hooks.set_behaviour(b);
    }

    /// Every webhook delivery made, in order (duplicates and replays each
    /// count).
    pub fn deliveries(&self) -> Vec<HookDelivery> {
        self.shared.hooks.deliveries()
    }

    /// Events held back (see [`HookBehaviour::hold`]).
    pub fn held(&self) -> usize {
        self.shared.hooks.held()
    }

    /// Send the held events (shuffled with `shuffle_seed`); returns how many.
    pub async fn release_held(&self, shuffle_seed: Option<u64>) -> usize {
        self.shared.hooks.release_held(shuffle_seed).await
    }

    /// POST every past delivery again, byte for byte; returns how many.
    pub async fn redeliver_all(&self) -> usize {
        self.shared.hooks.redeliver_all().await
    }

    /// Wait for the webhooks API calls caused (cancel, expiry by clock).
    pub async fn flush_webhooks(&self) {
        self.shared.hooks.flush().await;
    }

    /// The buyer pays `amount_minor` (`None`: what is left) into a link
    /// with `method` (`upi`, `card`, `netbanking`, `wallet`, `emi`,
    /// `bank_transfer`; UPI and netbanking in INR only). Partial amounts
    /// need `accept_partial`, and the first one at least
    /// `first_min_partial_amount`. Sends `payment.captured`, then
    /// `payment_link.partially_paid` or `payment_link.paid`, and returns
    /// once they are delivered (or given up). Returns the `pay_` id.
    pub async fn pay(
        &self,
        link_id: &str,
        amount_minor: Option<i64>,
        method: &str,
    ) -> Result<String, String> {
        pay_link(&self.shared, link_id, amount_minor, method).await
    }

    /// A payment attempt on an open link fails with `reason` (its
    /// `error_description`): sends `payment.failed`; the link stays as it
    /// was. Returns the `pay_` id.
    pub async fn fail_payment(&self, link_id: &str, reason: &str) -> Result<String, String> {
        let (payment_id, event) = {
            let mut st = self.shared.lock();
            let now = st.now();
            let payment_id = st.id("pay_");
            let order_id = st.id("order_");
            let link = st
                .link_mut(link_id)
                .ok_or_else(|| format!("no link {link_id}"))?;
            if !link.open() {
                return Err(format!("{link_id} is {}, it cannot be paid", link.status));
            }
            if link.order_id.is_none() {
                link.order_id = Some(order_id);
                link.order_created_at = now;
            }
            let method = if link.currency == "INR" {
                "upi"
            } else {
                "card"
            };
            let p = FakeLinkPayment {
                payment_id: payment_id.clone(),
                amount: link.amount - link.amount_paid,
                method: method.into(),
                created_at: now,
                status: "failed".into(),
                error_description: Some(reason.to_owned()),
            };
            link.payments.push(p.clone());
            let payment = link.payment_json(&p);
            let event = self.shared.event(
                &mut st,
                "payment.failed",
                &["payment"],
                json!({"payment": {"entity": payment}}),
            );
            (payment_id, event)
        };
        self.shared.hooks.emit(event).await;
        Ok(payment_id)
    }

    /// An open (created or partially paid) link expires now: sends
    /// `payment_link.expired`.
    pub async fn expire(&self, link_id: &str) -> Result<(), String> {
        let event = {
            let mut st = self.shared.lock();
            self.shared.expire_locked(&mut st, link_id)?
        };
        self.shared.hooks.emit(event).await;
        Ok(())
    }

    /// Stop serving.
    pub async fn shutdown(mut self) {
        self.shared.hooks.flush().await;
        self.server.shutdown().await;
    }
}

/// Run a fake until the process ends (for `tagada fake razorpay`): logs the
/// base URL, then never returns unless binding fails.
pub async fn serve_forever(cfg: RazorpayFakeConfig) -> std::io::Result<()> {
    let fake = RazorpayFake::start(cfg).await?;
    tracing::info!(base_url = %fake.base_url(), "razorpay fake serving");
    std::future::pending::<()>().await;
    drop(fake);
    Ok(())
}

fn check_method(method: &str, currency: &str) -> Result<(), String> {
    match method {
        "card" | "wallet" | "emi" | "bank_transfer" => Ok(()),
        "upi" | "netbanking" if currency == "INR" => Ok(()),
        "upi" | "netbanking" => Err(format!("{method} takes INR only, not {currency}")),
        other => Err(format!("unknown method `{other}`")),
    }
}

/// Razorpay's error envelope.
fn error(status: StatusCode, description: &str, field: Option<&str>) -> (StatusCode, Value) {
    let mut e = json!({
        "code": if status.is_server_error() { "SERVER_ERROR" } else { "BAD_REQUEST_ERROR" },
        "description": description,
        "source": "NA",
        "step": "NA",
        "reason": "NA",
        "metadata": {},
    });
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    (status, json!({ "error": e }))
}

fn bad(description: &str, field: Option<&str>) -> (StatusCode, Value) {
    error(StatusCode::BAD_REQUEST, description, field)
}

/// `Basic base64(key_id:key_secret)`.
fn expected_auth(cfg: &RazorpayFakeConfig) -> String {
    format!(
        "Basic {}",
        base64(format!("{}:{}", cfg.key_id, cfg.key_secret).as_bytes())
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = shared.lock().faults.pop_front();
    if let Some(ApiFault::Slow(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    let (status, answer, events) = match fault {
        Some(ApiFault::Status(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let description = if s == 429 {
                "Too many requests"
            } else {
                "The server encountered an error. The incident has been reported to admins."
            };
            let (status, v) = error(status, description, None);
            (status, Answer::Json(v), Vec::new())
        }
        Some(ApiFault::MalformedJson) => (
            StatusCode::OK,
            Answer::Raw("{\"id\":\"plink_".to_owned()),
            Vec::new(),
        ),
        Some(ApiFault::Slow(_)) | None => route(&shared, &method, &uri, &headers, &body),
    };
    shared.lock().requests.push(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: recorded_headers(&headers),
        body: body.to_vec(),
        status: status.as_u16(),
    });
    shared.hooks.emit_in_background(events);
    let text = match answer {
        Answer::Json(v) => v.to_string(),
        Answer::Raw(s) => s,
    };
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

enum Answer {
    Json(Value),
    Raw(String),
}

fn route(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, Answer, Vec<Outgoing>) {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let expected = expected_auth(&shared.cfg);
            v.len() == expected.len()
                && v[..6].eq_ignore_ascii_case("basic ")
                && v[6..] == expected[6..]
        });
    if !authorized {
        let (s, v) = error(StatusCode::UNAUTHORIZED, INVALID_KEY, None);
        return (s, Answer::Json(v), Vec::new());
    }
    let mut st = shared.lock();
    let mut events = shared.sweep(&mut st);
    let path = uri.path().trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let (status, v) = match (method.clone(), parts.as_slice()) {
        (Method::POST, ["v1", "payment_links"]) => create(shared, &mut st, body),
        (Method::GET, ["v1", "payment_links"]) => list(&st, uri.query()),
        (Method::GET, ["v1", "payment_links", id]) => match st.links.iter().find(|l| l.id == *id) {
            Some(l) => (StatusCode::OK, l.entity_json(true)),
            None => bad(NOT_FOUND, Some("id")),
        },
        (Method::POST, ["v1", "payment_links", id, "cancel"]) => {
            match cancel(shared, &mut st, id) {
                Ok((entity, event)) => {
                    events.push(event);
                    (StatusCode::OK, entity)
                }
                Err(e) => e,
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "The requested URL was not found on the server.",
            None,
        ),
    };
    (status, Answer::Json(v), events)
}

fn list(st: &RzState, query: Option<&str>) -> (StatusCode, Value) {
    let mut reference = None;
    let mut payment = None;
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("reference_id", v)) => reference = Some(v.to_owned()),
            Some(("payment_id", v)) => payment = Some(v.to_owned()),
            _ => {}
        }
    }
    // Newest first, as Razorpay lists entities.
    let links: Vec<Value> = st
        .links
        .iter()
        .rev()
        .filter(|l| reference.as_ref().is_none_or(|r| &l.reference_id == r))
        .filter(|l| {
            payment
                .as_ref()
                .is_none_or(|p| l.payments.iter().any(|x| &x.payment_id == p))
        })
        .map(|l| l.entity_json(true))
        .collect();
    (StatusCode::OK, json!({ "payment_links": links }))
}

fn cancel(
    shared: &Shared,
    st: &mut RzState,
    id: &str,
) -> Result<(Value, Outgoing), (StatusCode, Value)> {
    let now = st.now();
    let link = st.link_mut(id).ok_or_else(|| bad(NOT_FOUND, Some("id")))?;
    match link.status.as_str() {
        "created" => {}
        "paid" | "partially_paid" => {
            return Err(bad(
                "cannot cancel or expire an already paid/partially paid link",
                None,
            ));
        }
        _ => return Err(bad("cannot cancel or expire an expired link", None)),
    }
    link.status = "cancelled".into();
    link.cancelled_at = now;
    link.updated_at = now;
    let entity = link.entity_json(true);
    let hook_entity = link.entity_json(false);
    let event = shared.event(
        st,
        "payment_link.cancelled",
        &["payment_link"],
        json!({"payment_link": {"entity": hook_entity}}),
    );
    Ok((entity, event))
}

const CREATE_FIELDS: &[&str] = &[
    "amount",
    "currency",
    "accept_partial",
    "first_min_partial_amount",
    "expire_by",
    "reference_id",
    "description",
    "customer",
    "notify",
    "reminder_enable",
    "notes",
    "callback_url",
    "callback_method",
    "upi_link",
    "options",
];

fn create(shared: &Shared, st: &mut RzState, body: &[u8]) -> (StatusCode, Value) {
    match validate_create(shared, st, body) {
        Ok(link) => {
            st.references.insert(link.reference_id.clone());
            let entity = link.entity_json(true);
            st.links.push(link);
            (StatusCode::OK, entity)
        }
        Err(e) => e,
    }
}

fn validate_create(
    shared: &Shared,
    st: &mut RzState,
    body: &[u8],
) -> Result<FakePaymentLink, (StatusCode, Value)> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| bad("The request body is not valid JSON", None))?;
    let req = v
        .as_object()
        .ok_or_else(|| bad("The request body must be a JSON object", None))?;
    if let Some(unknown) = req.keys().find(|k| !CREATE_FIELDS.contains(&k.as_str())) {
        return Err(bad("wrong input fields sent.", Some(unknown)));
    }
    let amount = match req.get("amount") {
        None | Some(Value::Null) => {
            return Err(bad("The amount field is required.", Some("amount")));
        }
        Some(a) => a
            .as_i64()
            .filter(|a| *a > 0)
            .ok_or_else(|| bad("The amount is invalid", Some("amount")))?,
    };
    let currency = match req.get("currency") {
        None | Some(Value::Null) => "INR".to_owned(),
        Some(Value::String(c)) => c.clone(),
        Some(_) => return Err(bad("The currency must be a string.", Some("currency"))),
    };
    let Some(&(_, exponent)) = CURRENCIES.iter().find(|(c, _)| *c == currency) else {
        return Err(bad("Currency is not supported", Some("currency")));
    };
    if exponent == 3 && amount % 10 != 0 {
        return Err(bad("The amount is invalid", Some("amount")));
    }
    let flag = |key: &str| -> Result<bool, (StatusCode, Value)> {
        match req.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(
                &format!("The {key} field must be true or false."),
                Some(key),
            )),
        }
    };
    let accept_partial = flag("accept_partial")?;
    let upi_link = flag("upi_link")?;
    let reminder_enable = flag("reminder_enable")?;
    let first_min_partial_amount = match req.get("first_min_partial_amount") {
        None | Some(Value::Null) => 0,
        Some(m) => {
            if !accept_partial {
                return Err(bad(
                    "first_min_partial_amount can be passed only when accept_partial is true",
                    Some("first_min_partial_amount"),
                ));
            }
            m.as_i64()
                .filter(|m| *m > 0 && *m <= amount)
                .ok_or_else(|| {
                    bad(
                        "first_min_partial_amount must be positive and not more than the amount",
                        Some("first_min_partial_amount"),
                    )
                })?
        }
    };
    if upi_link {
        if shared.cfg.key_id.starts_with("rzp_test_") {
            return Err(bad(
                "UPI Payment Links is not supported in Test Mode. Please experience the product in Live Mode.",
                Some("upi_link"),
            ));
        }
        if currency != "INR" {
            return Err(bad(
                "upi is currently supported only in indian currency",
                Some("currency"),
            ));
        }
        if accept_partial {
            return Err(bad(
                "partial payment not supported in upi link",
                Some("accept_partial"),
            ));
        }
    }
    let text = |key: &str, max: usize| -> Result<String, (StatusCode, Value)> {
        match req.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) if s.chars().count() <= max => Ok(s.clone()),
            Some(Value::String(_)) => Err(bad(
                &format!("The {key} may not be greater than {max} characters."),
                Some(key),
            )),
            Some(_) => Err(bad(&format!("The {key} must be a string."), Some(key))),
        }
    };
    let reference_id = text("reference_id", 40)?;
    let description = text("description", 2048)?;
    if !reference_id.is_empty() && st.references.contains(&reference_id) {
        // The documented answer, body as in
        // contracts/razorpay/reconstructed/error.duplicate_reference_id.json.
        return Err(error(StatusCode::BAD_REQUEST, DUPLICATE_REFERENCE, None));
    }
    let customer = match req.get("customer") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(c)) => {
            for (k, val) in c {
                if !matches!(k.as_str(), "name" | "contact" | "email") {
                    return Err(bad(
                        "wrong input fields sent.",
                        Some(&format!("customer.{k}")),
                    ));
                }
                if !val.is_string() {
                    return Err(bad(
                        &format!("The customer {k} must be a string."),
                        Some(&format!("customer.{k}")),
                    ));
                }
            }
            if let Some(email) = c.get("email").and_then(Value::as_str)
                && (!email.contains('@') || email.starts_with('@') || email.ends_with('@'))
            {
                return Err(bad(
                    "The email must be a valid email address.",
                    Some("customer.email"),
                ));
            }
            Value::Object(c.clone())
        }
        Some(_) => return Err(bad("The customer must be an object.", Some("customer"))),
    };
    let notes = match req.get("notes") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(n)) if n.is_empty() => json!([]),
        Some(Value::Array(a)) if a.is_empty() => json!([]),
        Some(Value::Object(n)) => {
            if n.len() > 15 {
                return Err(bad("Number of notes is more than 15", Some("notes")));
            }
            for val in n.values() {
                let len = match val {
                    Value::String(s) => s.chars().count(),
                    Value::Number(x) => x.to_string().len(),
                    Value::Bool(_) | Value::Null => 0,
                    _ => return Err(bad("The notes values must be strings.", Some("notes"))),
                };
                if len > 255 {
                    return Err(bad(
                        "value: the length must not be greater than 255.",
                        Some("notes"),
                    ));
                }
            }
            Value::Object(n.clone())
        }
        Some(_) => return Err(bad("The notes must be an object.", Some("notes"))),
    };
    let callback_url = match req.get("callback_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if u.starts_with("https://") || u.starts_with("http://") => {
            Some(u.clone())
        }
        Some(_) => {
            return Err(bad(
                "The callback url format is invalid.",
                Some("callback_url"),
            ));
        }
    };
    let callback_method = match (req.get("callback_method"), &callback_url) {
        (Some(Value::String(m)), _) if m == "get" => Some(m.clone()),
        (None | Some(Value::Null), None) => None,
        (None | Some(Value::Null), Some(_)) => {
            return Err(bad(
                "The callback method field is required when callback url is present.",
                Some("callback_method"),
            ));
        }
        (Some(_), _) => {
            return Err(bad(
                "The selected callback method is invalid.",
                Some("callback_method"),
            ));
        }
    };
    let notify = match req.get("notify") {
        None | Some(Value::Null) => json!({"email": false, "sms": false, "whatsapp": false}),
        Some(Value::Object(n)) => {
            let mut out = Map::new();
            for k in ["email", "sms", "whatsapp"] {
                out.insert(
                    k.into(),
                    json!(n.get(k).and_then(Value::as_bool).unwrap_or(false)),
                );
            }
            Value::Object(out)
        }
        Some(_) => return Err(bad("The notify must be an object.", Some("notify"))),
    };
    let now = st.now();
    let expire_by = match req.get("expire_by") {
        None | Some(Value::Null) => 0,
        Some(e) => {
            let e = e
                .as_i64()
                .ok_or_else(|| bad("The expire by must be an integer.", Some("expire_by")))?;
            if e < now + FIFTEEN_MINUTES {
                return Err(bad(
                    "timestamp must be atleast 15 minutes in future",
                    Some("expire_by"),
                ));
            }
            let six_months = st
                .clock
                .now()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .checked_add(6.months())
                .map(|z| z.timestamp().as_second())
                .unwrap_or(i64::MAX);
            if e > six_months {
                return Err(bad(
                    "expire_by cannot be more than six months from the date of creation",
                    Some("expire_by"),
                ));
            }
            e
        }
    };
    let id = st.id("plink_");
    let short = random_id(&mut st.rng, 7);
    Ok(FakePaymentLink {
        id,
        amount,
        currency,
        amount_paid: 0,
        accept_partial,
        first_min_partial_amount,
        reference_id,
        description,
        customer,
        notes,
        notify,
        reminder_enable,
        callback_url,
        callback_method,
        upi_link,
        expire_by,
        expired_at: 0,
        cancelled_at: 0,
        created_at: now,
        updated_at: now,
        status: "created".into(),
        order_id: None,
        order_created_at: 0,
        short_url: format!("{}/rzp/{short}", shared.base_url()),
        payments: Vec::new(),
    })
}

/// Pays into a link as a buyer would (see [`RazorpayFake::pay`]).
async fn pay_link(
    shared: &Shared,
    link_id: &str,
    amount_minor: Option<i64>,
    method: &str,
) -> Result<String, String> {
    let (payment_id, events) = {
        let mut st = shared.lock();
        let sweep = shared.sweep(&mut st);
        shared.hooks.emit_in_background(sweep);
        let now = st.now();
        let payment_id = st.id("pay_");
        let order_id = st.id("order_");
        let link = st
            .link_mut(link_id)
            .ok_or_else(|| format!("no link {link_id}"))?;
        if !link.open() {
            return Err(format!("{link_id} is {}, it cannot be paid", link.status));
        }
        check_method(method, &link.currency)?;
        let left = link.amount - link.amount_paid;
        let amount = amount_minor.unwrap_or(left);
        if amount <= 0 || amount > left {
            return Err(format!("{amount} is not between 1 and the {left} left"));
        }
        if amount < left {
            if !link.accept_partial {
                return Err(format!("{link_id} does not accept partial payments"));
            }
            if link.amount_paid == 0 && amount < link.first_min_partial_amount {
                return Err(format!(
                    "the first payment must be at least {}",
                    link.first_min_partial_amount
                ));
            }
        }
        if link.order_id.is_none() {
            link.order_id = Some(order_id);
            link.order_created_at = now;
        }
        let p = FakeLinkPayment {
            payment_id: payment_id.clone(),
            amount,
            method: method.to_owned(),
            created_at: now,
            status: "captured".into(),
            error_description: None,
        };
        link.payments.push(p.clone());
        link.amount_paid += amount;
        link.status = if link.amount_paid == link.amount {
            "paid".into()
        } else {
            "partially_paid".into()
        };
        link.updated_at = now;
        let link = link.clone();
        let payment = link.payment_json(&p);
        let captured = shared.event(
            &mut st,
            "payment.captured",
            &["payment"],
            json!({"payment": {"entity": payment}}),
        );
        let kind = if link.status == "paid" {
            "payment_link.paid"
        } else {
            "payment_link.partially_paid"
        };
        let link_event = shared.event(
            &mut st,
            kind,
            &["payment_link", "order", "payment"],
            json!({
                "order": {"entity": link.order_json(now)},
                "payment": {"entity": payment},
                "payment_link": {"entity": link.entity_json(false)},
            }),
        );
        (payment_id, vec![captured, link_event])
    };
    for e in events {
        shared.hooks.emit(e).await;
    }
    Ok(payment_id)
}

/// The hosted page behind a link's `short_url`: what a buyer sees when
/// opening it (amount left, a button per method, a part-payment form when
/// the link takes one). Paying through it is [`RazorpayFake::pay`].
async fn hosted_page(State(shared): State<Arc<Shared>>, Path(short): Path<String>) -> Response {
    let link = {
        let st = shared.lock();
        st.links
            .iter()
            .find(|l| l.short_url.ends_with(&format!("/rzp/{short}")))
            .cloned()
    };
    let Some(link) = link else {
        return (StatusCode::NOT_FOUND, "no such payment link").into_response();
    };
    let left = link.amount - link.amount_paid;
    let money = |minor: i64| format!("{} {}.{:02}", link.currency, minor / 100, minor % 100);
    let mut html = format!(
        "<!doctype html><meta name=viewport content=\"width=device-width\"><title>Razorpay (fake)</title>\
         <h1>{}</h1><p>Link {} is <b>{}</b>: {} paid of {}.</p>",
        escape_html(&link.description),
        link.id,
        link.status,
        money(link.amount_paid),
        money(link.amount)
    );
    if link.open() {
        for method in ["upi", "card", "netbanking"] {
            if check_method(method, &link.currency).is_ok() {
                html.push_str(&format!(
                    "<form method=post action=\"/rzp/{short}/pay\"><input type=hidden name=method value={method}>\
                     <button>Pay {} by {method}</button></form>",
                    money(left)
                ));
            }
        }
        if link.accept_partial {
            html.push_str(&format!(
                "<form method=post action=\"/rzp/{short}/pay\"><input type=hidden name=method value=card>\
                 Part payment, in minor units: <input name=amount_minor type=number min=1 max={left}>\
                 <button>Pay part</button></form>"
            ));
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// `POST /rzp/<short>/pay` from the hosted page: pays, then sends the
/// buyer to the link's `callback_url` (or back to the page).
async fn hosted_pay(
    State(shared): State<Arc<Shared>>,
    Path(short): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url_form(&body);
    let link = {
        let st = shared.lock();
        st.links
            .iter()
            .find(|l| l.short_url.ends_with(&format!("/rzp/{short}")))
            .cloned()
    };
    let Some(link) = link else {
        return (StatusCode::NOT_FOUND, "no such payment link").into_response();
    };
    let amount = form
        .get("amount_minor")
        .and_then(|a| a.trim().parse::<i64>().ok());
    let method = form.get("method").map(String::as_str).unwrap_or("card");
    match pay_link(&shared, &link.id, amount, method).await {
        Ok(_) => {
            let to = link
                .callback_url
                .clone()
                .unwrap_or_else(|| format!("/rzp/{short}"));
            (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_masks_secrets() {
        let s = format!("{:?}", RazorpayFakeConfig::default());
        assert!(!s.contains("fake_razorpay_key_secret"));
        assert!(!s.contains("fake_razorpay_webhook_secret"));
    }

    #[test]
    fn methods_follow_the_currency() {
        assert!(check_method("upi", "INR").is_ok());
        assert!(check_method("upi", "USD").is_err());
        assert!(check_method("card", "USD").is_ok());
        assert!(check_method("cheque", "INR").is_err());
    }
}
