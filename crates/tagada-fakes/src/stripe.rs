//! A loopback fake of Stripe's Checkout Sessions API and its events.
//!
//! [`StripeFake::start`] serves, behind the secret key (as
//! `Authorization: Bearer <key>` or basic auth with the key as user name;
//! otherwise 401 with Stripe's envelope), form-encoded requests with
//! bracket notation (a JSON body is refused, as Stripe's v1 reads forms):
//!
//! * `POST /v1/checkout/sessions`: `mode=payment` sessions with
//!   `line_items[n][price_data]` (a lower-case currency the fake knows,
//!   `unit_amount` an integer in Stripe's unit, last digit 0 for
//!   three-decimal currencies, a multiple of 100 for ISK,
//!   `product_data[name]`) and `line_items[n][quantity]`;
//!   `client_reference_id` (200 characters), `metadata` and
//!   `payment_intent_data[metadata]` (50 keys, 40-character keys,
//!   500-character values), `customer_email`, `success_url` (required),
//!   `cancel_url`, `expires_at` (30 minutes to 24 hours ahead). Unknown
//!   parameters are `parameter_unknown`, missing ones `parameter_missing`,
//!   with `param` naming them in bracket notation. An `Idempotency-Key`
//!   replays the first answer for the same body (`Idempotent-Replayed:
//!   true`) and refuses a different body (`idempotency_error`);
//! * `GET /v1/checkout/sessions/{id}` and `GET /v1/checkout/sessions`;
//! * `POST /v1/checkout/sessions/{id}/expire`: only an open session; sends
//!   `checkout.session.expired`.
//!
//! Price ids, products, setup and subscription modes are outside what the
//! fake serves (it says so in its error). The buyer is simulated with
//! [`StripeFake::pay`] (`checkout.session.completed`, paid),
//! [`StripeFake::pay_delayed`] (completed but `unpaid`, as with a bank
//! debit) then [`StripeFake::settle`]
//! (`checkout.session.async_payment_succeeded` or `..._failed`), and
//! [`StripeFake::expire`] (also when the clock passes `expires_at`).
//! Events are `{"object": "event", "data": {"object": <session>}}` like the
//! samples in `contracts/stripe/reconstructed/`, signed
//! `Stripe-Signature: t=<fake clock>,v1=<hex HMAC-SHA256(secret, "t." + body)>`
//! at each attempt; see [`crate::gateway_hooks`] for misbehaviour and
//! replay.
//!
//! Error messages for missing, unknown and invalid-integer parameters,
//! unknown ids, bad keys and idempotency follow Stripe's wording as seen in
//! its error envelopes; the others are worded here.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use jiff::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::gateway_hooks::{
    ApiFault, HookBehaviour, HookDelivery, Hooks, Outgoing, RecordedRequest, base64, hmac_hex,
    random_id, recorded_headers,
};
use crate::marketplace::{FakeClock, Server};

/// Stripe's zero-decimal currencies (amounts in whole units).
pub const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];
/// Stripe's three-decimal currencies (thousandths, last digit 0).
pub const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
/// The presentment currencies the fake takes: a subset of Stripe's list,
/// covering what tagada's buyers pay in and every special case.
pub const CURRENCIES: &[&str] = &[
    "usd", "eur", "gbp", "inr", "aed", "sar", "qar", "aud", "cad", "chf", "cny", "hkd", "sgd",
    "myr", "thb", "idr", "php", "nzd", "sek", "nok", "dkk", "pln", "czk", "huf", "ron", "try",
    "zar", "kes", "ngn", "egp", "brl", "mxn", "ils", "twd", "lkr", "npr", "bdt", "pkr", "isk",
    "jpy", "krw", "vnd", "clp", "ugx", "xof", "xaf", "mga", "bhd", "jod", "kwd", "omr", "tnd",
];

const MIN_EXPIRY: i64 = 30 * 60;
const MAX_EXPIRY: i64 = 24 * 3600;

/// Configuration of a [`StripeFake`]. [`Default`] gives test values.
#[derive(Clone)]
pub struct StripeFakeConfig {
    /// `None` = `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
    /// The secret key the fake accepts (`sk_test_...`).
    pub secret_key: String,
    /// The endpoint secret events are signed with (`whsec_...`).
    pub webhook_secret: String,
    /// Where events are POSTed; `None`: none sent.
    pub webhook_url: Option<String>,
    pub webhooks: HookBehaviour,
    pub clock: FakeClock,
    /// `api_version` of the events.
    pub api_version: String,
    /// Seed of the ids the fake makes.
    pub seed: u64,
}

impl Default for StripeFakeConfig {
    fn default() -> Self {
        StripeFakeConfig {
            bind: None,
            secret_key: "sk_test_FakeStripeSecretKey000001".to_owned(),
            webhook_secret: "whsec_fake_stripe_endpoint_secret".to_owned(),
            webhook_url: None,
            webhooks: HookBehaviour::default(),
            clock: FakeClock::Frozen("2025-12-01T06:30:00Z".parse().expect("valid instant")),
            api_version: "2026-06-24.dahlia".to_owned(),
            seed: 13,
        }
    }
}

impl std::fmt::Debug for StripeFakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeFakeConfig")
            .field("bind", &self.bind)
            .field("secret_key", &"***")
            .field("webhook_secret", &"***")
            .field("webhook_url", &self.webhook_url)
            .field("webhooks", &self.webhooks)
            .field("clock", &self.clock)
            .field("api_version", &self.api_version)
            .field("seed", &self.seed)
            .finish()
    }
}

struct Remembered {
    method: String,
    path: String,
    body: Vec<u8>,
    status: StatusCode,
    answer: String,
}

struct StState {
    rng: StdRng,
    /// Session objects, in creation order.
    sessions: Vec<Value>,
    /// Per session id: its line items (`name`, `unit_amount`, `quantity`)
    /// and the metadata its PaymentIntent gets.
    line_items: HashMap<String, Vec<Value>>,
    payment_intent_metadata: HashMap<String, Value>,
    requests: Vec<RecordedRequest>,
    faults: VecDeque<ApiFault>,
    idempotency: HashMap<String, Remembered>,
}

impl StState {
    fn session_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.sessions
            .iter_mut()
            .find(|s| s["id"].as_str() == Some(id))
    }
}

struct Shared {
    cfg: StripeFakeConfig,
    base_url: OnceLock<String>,
    /// Shared with the signers, which stamp each attempt with the time.
    clock: Arc<Mutex<FakeClock>>,
    state: Mutex<StState>,
    hooks: Arc<Hooks>,
}

fn clock_now(clock: &Mutex<FakeClock>) -> Timestamp {
    clock
        .lock()
        .expect("stripe fake clock mutex poisoned")
        .now()
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, StState> {
        self.state.lock().expect("stripe fake mutex poisoned")
    }

    fn now(&self) -> i64 {
        clock_now(&self.clock).as_second()
    }

    fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// An event about `session`, ready to send.
    fn event(
        &self,
        st: &mut StState,
        kind: &str,
        session: &Value,
        request: Option<(String, Option<String>)>,
    ) -> Outgoing {
        let event_id = format!("evt_1{}", random_id(&mut st.rng, 24));
        let (req_id, idem) = request.map_or((Value::Null, Value::Null), |(id, key)| {
            (json!(id), key.map_or(Value::Null, |k| json!(k)))
        });
        let body = json!({
            "id": event_id,
            "object": "event",
            "api_version": self.cfg.api_version,
            "created": self.now(),
            "data": { "object": session },
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": req_id, "idempotency_key": idem },
            "type": kind,
        });
        let secret = self.cfg.webhook_secret.clone();
        let clock = self.clock.clone();
        Outgoing {
            event_id,
            event_type: kind.to_owned(),
            body: serde_json::to_vec(&body).unwrap_or_default(),
            sign: Arc::new(move |body: &[u8]| {
                let t = clock_now(&clock).as_second().to_string();
                let v1 = hmac_hex(secret.as_bytes(), &[t.as_bytes(), b".", body]);
                vec![
                    (
                        "content-type".to_owned(),
                        "application/json; charset=utf-8".to_owned(),
                    ),
                    ("stripe-signature".to_owned(), format!("t={t},v1={v1}")),
                    (
                        "user-agent".to_owned(),
                        "Stripe/1.0 (+https://stripe.com/docs/webhooks)".to_owned(),
                    ),
                ]
            }),
        }
    }

    /// Expires every open session whose `expires_at` has passed.
    fn sweep(&self, st: &mut StState) -> Vec<Outgoing> {
        let now = self.now();
        let due: Vec<String> = st
            .sessions
            .iter()
            .filter(|s| s["status"] == "open" && s["expires_at"].as_i64().is_some_and(|e| e <= now))
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect();
        due.iter()
            .filter_map(|id| self.expire_locked(st, id, None).ok())
            .map(|(_, event)| event)
            .collect()
    }

    fn expire_locked(
        &self,
        st: &mut StState,
        id: &str,
        request: Option<(String, Option<String>)>,
    ) -> Result<(Value, Outgoing), String> {
        let s = st
            .session_mut(id)
            .ok_or_else(|| format!("no session {id}"))?;
        if s["status"] != "open" {
            return Err(format!("{id} is {}, not open", s["status"]));
        }
        s["status"] = json!("expired");
        s["url"] = Value::Null;
        let snapshot = s.clone();
        let event = self.event(st, "checkout.session.expired", &snapshot, request);
        Ok((snapshot, event))
    }

    /// Changes an open / completed session as the buyer's action does and
    /// returns the events it causes.
    fn buyer_acts(&self, id: &str, action: Action) -> Result<(String, Vec<Outgoing>), String> {
        let mut st = self.lock();
        let sweep = self.sweep(&mut st);
        self.hooks.emit_in_background(sweep);
        let pi = format!("pi_3{}", random_id(&mut st.rng, 24));
        let s = st
            .session_mut(id)
            .ok_or_else(|| format!("no session {id}"))?;
        let status = s["status"].as_str().unwrap_or_default().to_owned();
        let payment_status = s["payment_status"].as_str().unwrap_or_default().to_owned();
        let kind = match action {
            Action::Pay | Action::PayDelayed => {
                if status != "open" {
                    return Err(format!("{id} is {status}, it cannot be paid"));
                }
                s["status"] = json!("complete");
                s["url"] = Value::Null;
                s["payment_intent"] = json!(pi);
                let email = s["customer_email"]
                    .as_str()
                    .unwrap_or("buyer@example.com")
                    .to_owned();
                s["customer_details"] = json!({
                    "address": {"city": null, "country": "DE", "line1": null, "line2": null, "postal_code": null, "state": null},
                    "email": email,
                    "name": "Test Buyer",
                    "phone": null,
                    "tax_exempt": "none",
                    "tax_ids": null,
                    "business_name": null,
                    "individual_name": null,
                });
                if matches!(action, Action::Pay) {
                    s["payment_status"] = json!("paid");
                } else {
                    s["payment_method_types"] = json!(["us_bank_account"]);
                }
                "checkout.session.completed"
            }
            Action::Settle(succeeded) => {
                if status != "complete" || payment_status != "unpaid" {
                    return Err(format!(
                        "{id} is {status} / {payment_status}, not awaiting a delayed payment"
                    ));
                }
                if succeeded {
                    s["payment_status"] = json!("paid");
                    "checkout.session.async_payment_succeeded"
                } else {
                    "checkout.session.async_payment_failed"
                }
            }
        };
        let pi = s["payment_intent"].as_str().unwrap_or_default().to_owned();
        let snapshot = s.clone();
        let event = self.event(&mut st, kind, &snapshot, None);
        Ok((pi, vec![event]))
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Pay,
    PayDelayed,
    Settle(bool),
}

/// A running Stripe fake. Dropping it (or [`StripeFake::shutdown`]) stops
/// the server.
pub struct StripeFake {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for StripeFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeFake")
            .field("addr", &self.server.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

impl StripeFake {
    /// Bind and serve.
    pub async fn start(cfg: StripeFakeConfig) -> std::io::Result<StripeFake> {
        let hooks = Arc::new(Hooks::new(cfg.webhook_url.clone(), cfg.webhooks.clone())?);
        let shared = Arc::new(Shared {
            base_url: OnceLock::new(),
            clock: Arc::new(Mutex::new(cfg.clock)),
            state: Mutex::new(StState {
                rng: StdRng::seed_from_u64(cfg.seed),
                sessions: Vec::new(),
                line_items: HashMap::new(),
                payment_intent_metadata: HashMap::new(),
                requests: Vec::new(),
                faults: VecDeque::new(),
                idempotency: HashMap::new(),
            }),
            cfg,
            hooks,
        });
        let router = Router::new()
            .route(
                "/c/pay/{id}",
                axum::routing::get(hosted_page).post(hosted_pay),
            )
            .fallback(handle)
            .with_state(shared.clone());
        let server = Server::start(shared.cfg.bind, router).await?;
        let _ = shared.base_url.set(server.base_url());
        Ok(StripeFake { shared, server })
    }

    /// `http://127.0.0.1:PORT`; clients append `/v1/...`.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    pub fn config(&self) -> &StripeFakeConfig {
        &self.shared.cfg
    }

    /// Every session object, in creation order.
    pub fn sessions(&self) -> Vec<Value> {
        self.shared.lock().sessions.clone()
    }

    pub fn session(&self, id: &str) -> Option<Value> {
        self.shared
            .lock()
            .sessions
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .cloned()
    }

    /// A session's line items as the fake read them (`name`,
    /// `unit_amount`, `quantity`).
    pub fn line_items(&self, session_id: &str) -> Vec<Value> {
        self.shared
            .lock()
            .line_items
            .get(session_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The metadata a session's PaymentIntent gets
    /// (`payment_intent_data[metadata]`).
    pub fn payment_intent_metadata(&self, session_id: &str) -> Option<Value> {
        self.shared
            .lock()
            .payment_intent_metadata
            .get(session_id)
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
        clock_now(&self.shared.clock)
    }

    /// Freeze the clock at `at` (open sessions past `expires_at` expire).
    pub fn set_clock(&self, at: Timestamp) {
        *self.shared.clock.lock().expect("clock mutex poisoned") = FakeClock::Frozen(at);
        self.after_clock_change();
    }

    /// Move the clock forward (open sessions past `expires_at` expire).
    pub fn advance_clock(&self, by: Duration) {
        self.shared
            .clock
            .lock()
            .expect("clock mutex poisoned")
            .advance(by);
        self.after_clock_change();
    }

    fn after_clock_change(&self) {
        let events = {
            let mut st = self.shared.lock();
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

    /// Every event delivery made, in order (duplicates and replays each
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

    /// Wait for the events API calls caused (expire, expiry by clock).
    pub async fn flush_webhooks(&self) {
        self.shared.hooks.flush().await;
    }

    /// The buyer pays an open session by card: `checkout.session.completed`
    /// with `payment_status: paid`. Returns the PaymentIntent id once the
    /// event is delivered (or given up).
    pub async fn pay(&self, session_id: &str) -> Result<String, String> {
        self.act(session_id, Action::Pay).await
    }

    /// The buyer completes an open session with a delayed method (a US
    /// bank debit): `checkout.session.completed` with `payment_status:
    /// unpaid`; [`StripeFake::settle`] decides the outcome later.
    pub async fn pay_delayed(&self, session_id: &str) -> Result<String, String> {
        self.act(session_id, Action::PayDelayed).await
    }

    /// The delayed payment of a completed, unpaid session succeeds
    /// (`checkout.session.async_payment_succeeded`, now `paid`) or fails
    /// (`checkout.session.async_payment_failed`).
    pub async fn settle(&self, session_id: &str, succeeded: bool) -> Result<(), String> {
        self.act(session_id, Action::Settle(succeeded))
            .await
            .map(|_| ())
    }

    /// An open session expires now: `checkout.session.expired`.
    pub async fn expire(&self, session_id: &str) -> Result<(), String> {
        let event = {
            let mut st = self.shared.lock();
            self.shared.expire_locked(&mut st, session_id, None)?.1
        };
        self.shared.hooks.emit(event).await;
        Ok(())
    }

    async fn act(&self, id: &str, action: Action) -> Result<String, String> {
        let (pi, events) = self.shared.buyer_acts(id, action)?;
        for e in events {
            self.shared.hooks.emit(e).await;
        }
        Ok(pi)
    }

    /// Stop serving.
    pub async fn shutdown(mut self) {
        self.shared.hooks.flush().await;
        self.server.shutdown().await;
    }
}

/// Run a fake until the process ends (for `tagada fake stripe`): logs the
/// base URL, then never returns unless binding fails.
pub async fn serve_forever(cfg: StripeFakeConfig) -> std::io::Result<()> {
    let fake = StripeFake::start(cfg).await?;
    tracing::info!(base_url = %fake.base_url(), "stripe fake serving");
    std::future::pending::<()>().await;
    drop(fake);
    Ok(())
}

/// An error answer: status and Stripe's envelope.
type Refusal = (StatusCode, Value);

fn stripe_error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Refusal {
    let mut e = json!({ "message": message, "type": kind });
    if let Some(c) = code {
        e["code"] = json!(c);
        e["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            c.replace('_', "-")
        ));
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, json!({ "error": e }))
}

fn invalid(message: &str, param: Option<&str>) -> Refusal {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        None,
        message,
        param,
    )
}

fn missing(param: &str) -> Refusal {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
        Some(param),
    )
}

fn unknown(param: &str) -> Refusal {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_unknown"),
        &format!(
            "Received unknown parameter: {param}. (This fake serves a subset of Stripe's parameters.)"
        ),
        Some(param),
    )
}

fn bad_integer(param: &str, value: &str) -> Refusal {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_invalid_integer"),
        &format!("Invalid integer: {value}"),
        Some(param),
    )
}

/// Decodes an `application/x-www-form-urlencoded` body into pairs.
pub fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape in `{s}`"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` does not decode to UTF-8"))
}

/// Pairs in bracket notation as nested objects: `a[b][0]=x` becomes
/// `{"a": {"b": {"0": "x"}}}` (list indexes stay object keys; `a[]`
/// appends the next index).
pub fn nest(pairs: &[(String, String)]) -> Result<Map<String, Value>, String> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (key.as_str(), ""),
        };
        let mut path = vec![head.to_owned()];
        while !rest.is_empty() {
            let end = rest
                .find(']')
                .filter(|_| rest.starts_with('['))
                .ok_or_else(|| format!("`{key}` is not valid bracket notation"))?;
            path.push(rest[1..end].to_owned());
            rest = &rest[end + 1..];
        }
        if path[0].is_empty() {
            return Err(format!("`{key}` has no name"));
        }
        let mut node = &mut root;
        for (depth, seg) in path.iter().enumerate() {
            let seg = if seg.is_empty() {
                node.len().to_string()
            } else {
                seg.clone()
            };
            if depth + 1 == path.len() {
                if node.get(&seg).is_some_and(Value::is_object) {
                    return Err(format!("`{key}` is both a value and a hash"));
                }
                node.insert(seg, Value::String(value.clone()));
                break;
            }
            let next = node.entry(seg).or_insert_with(|| Value::Object(Map::new()));
            node = next
                .as_object_mut()
                .ok_or_else(|| format!("`{key}` is both a value and a hash"))?;
        }
    }
    Ok(root)
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
    let request_id = format!("req_{}", random_id(&mut shared.lock().rng, 14));
    let idem_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|_| method == Method::POST)
        .map(str::to_owned);
    let mut replayed = false;
    let (status, text, events) = match fault {
        Some(ApiFault::Status(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (status, v) = if s == 429 {
                stripe_error(
                    status,
                    "invalid_request_error",
                    Some("rate_limit"),
                    "Too many requests hit the API too quickly.",
                    None,
                )
            } else {
                stripe_error(
                    status,
                    "api_error",
                    None,
                    "Something went wrong on Stripe's end.",
                    None,
                )
            };
            (status, v.to_string(), Vec::new())
        }
        Some(ApiFault::MalformedJson) => {
            (StatusCode::OK, "{\"id\": \"cs_test_".to_owned(), Vec::new())
        }
        Some(ApiFault::Slow(_)) | None => {
            let remembered = idem_key.as_ref().and_then(|k| {
                let st = shared.lock();
                st.idempotency.get(k).map(|r| {
                    let same =
                        r.method == method.as_str() && r.path == uri.path() && r.body == body;
                    (same, r.status, r.answer.clone())
                })
            });
            match remembered {
                Some((true, status, answer)) => {
                    replayed = true;
                    (status, answer, Vec::new())
                }
                Some((false, ..)) => {
                    let key = idem_key.as_deref().unwrap_or_default();
                    let (s, v) = stripe_error(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        None,
                        &format!(
                            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                        ),
                        None,
                    );
                    (s, v.to_string(), Vec::new())
                }
                None => {
                    let (s, v, events) = route(
                        &shared,
                        &method,
                        &uri,
                        &headers,
                        &body,
                        (request_id.clone(), idem_key.clone()),
                    );
                    let text = v.to_string();
                    if let Some(k) = &idem_key
                        && !s.is_server_error()
                    {
                        shared.lock().idempotency.insert(
                            k.clone(),
                            Remembered {
                                method: method.to_string(),
                                path: uri.path().to_owned(),
                                body: body.to_vec(),
                                status: s,
                                answer: text.clone(),
                            },
                        );
                    }
                    (s, text, events)
                }
            }
        }
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
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], text).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("request-id", v);
    }
    let version = headers
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(&shared.cfg.api_version)
        .to_owned();
    if let Ok(v) = HeaderValue::from_str(&version) {
        h.insert("stripe-version", v);
    }
    if let Some(k) = idem_key
        .as_deref()
        .and_then(|k| HeaderValue::from_str(k).ok())
    {
        h.insert("idempotency-key", k);
    }
    if replayed {
        h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

fn route(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request: (String, Option<String>),
) -> (StatusCode, Value, Vec<Outgoing>) {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let key = &shared.cfg.secret_key;
    let authorized = auth
        .strip_prefix("Bearer ")
        .is_some_and(|k| k.trim() == key)
        || auth.strip_prefix("Basic ").is_some_and(|b| {
            b.trim() == base64(format!("{key}:").as_bytes()) || b.trim() == base64(key.as_bytes())
        });
    if !authorized {
        let message = if auth.is_empty() {
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".to_owned()
        } else {
            // Stripe quotes the key masked but for its last four characters.
            let given = auth.split_once(' ').map_or(auth, |(_, k)| k.trim());
            let tail: String = given
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("Invalid API Key provided: sk_test_****{tail}")
        };
        let (s, v) = stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            &message,
            None,
        );
        return (s, v, Vec::new());
    }
    let mut st = shared.lock();
    let mut events = shared.sweep(&mut st);
    let path = uri.path().trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let (status, v) = match (method.clone(), parts.as_slice()) {
        (Method::POST, ["v1", "checkout", "sessions"]) => {
            let form = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
            if !form && !body.is_empty() {
                invalid(
                    "Invalid request: Stripe's v1 API takes application/x-www-form-urlencoded bodies.",
                    None,
                )
            } else {
                match create(shared, &mut st, body) {
                    Ok(session) => (StatusCode::OK, session),
                    Err(e) => e,
                }
            }
        }
        (Method::GET, ["v1", "checkout", "sessions"]) => (
            StatusCode::OK,
            json!({
                "object": "list",
                "data": st.sessions.iter().rev().take(10).collect::<Vec<_>>(),
                "has_more": st.sessions.len() > 10,
                "url": "/v1/checkout/sessions",
            }),
        ),
        (Method::GET, ["v1", "checkout", "sessions", id]) => {
            match st.sessions.iter().find(|s| s["id"].as_str() == Some(id)) {
                Some(s) => (StatusCode::OK, s.clone()),
                None => no_such_session(id),
            }
        }
        (Method::POST, ["v1", "checkout", "sessions", id, "expire"]) => {
            if st.session_mut(id).is_none() {
                no_such_session(id)
            } else {
                match shared.expire_locked(&mut st, id, Some(request)) {
                    Ok((session, event)) => {
                        events.push(event);
                        (StatusCode::OK, session)
                    }
                    Err(_) => invalid(
                        "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                        None,
                    ),
                }
            }
        }
        _ => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!(
                "Unrecognized request URL ({method}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                uri.path()
            ),
            None,
        ),
    };
    (status, v, events)
}

fn no_such_session(id: &str) -> Refusal {
    stripe_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such checkout.session: '{id}'"),
        Some("session"),
    )
}

const CREATE_PARAMS: &[&str] = &[
    "mode",
    "line_items",
    "client_reference_id",
    "metadata",
    "payment_intent_data",
    "customer_email",
    "success_url",
    "cancel_url",
    "expires_at",
    "payment_method_types",
    "locale",
    "submit_type",
    "expand",
];

fn create(shared: &Shared, st: &mut StState, body: &[u8]) -> Result<Value, Refusal> {
    let pairs = decode_form(body).map_err(|e| invalid(&format!("Invalid request: {e}"), None))?;
    let p = nest(&pairs).map_err(|e| invalid(&format!("Invalid request: {e}"), None))?;
    if let Some(k) = p.keys().find(|k| !CREATE_PARAMS.contains(&k.as_str())) {
        return Err(unknown(k));
    }
    let text = |k: &str| p.get(k).and_then(Value::as_str);
    match text("mode") {
        None => return Err(missing("mode")),
        Some("payment") => {}
        Some("setup" | "subscription") => {
            return Err(invalid("This fake serves mode=payment only.", Some("mode")));
        }
        Some(other) => {
            return Err(invalid(
                &format!(
                    "Invalid mode: must be one of payment, setup, or subscription (got {other})"
                ),
                Some("mode"),
            ));
        }
    }
    let Some(items) = p.get("line_items") else {
        return Err(missing("line_items"));
    };
    let items = items
        .as_object()
        .ok_or_else(|| invalid("Invalid array", Some("line_items")))?;
    let mut currency: Option<String> = None;
    let mut total: i64 = 0;
    let mut line_items = Vec::new();
    for i in 0..items.len() {
        let at = format!("line_items[{i}]");
        let item = items
            .get(&i.to_string())
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("Invalid array", Some("line_items")))?;
        for k in item.keys() {
            if !matches!(k.as_str(), "price" | "price_data" | "quantity") {
                return Err(unknown(&format!("{at}[{k}]")));
            }
        }
        if let Some(price) = item.get("price").and_then(Value::as_str) {
            return Err(stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("resource_missing"),
                &format!("No such price: '{price}' (this fake takes price_data only)"),
                Some(&format!("{at}[price]")),
            ));
        }
        let pd = item
            .get("price_data")
            .and_then(Value::as_object)
            .ok_or_else(|| missing(&format!("{at}[price_data]")))?;
        for k in pd.keys() {
            if !matches!(
                k.as_str(),
                "currency" | "unit_amount" | "product_data" | "tax_behavior"
            ) {
                return Err(unknown(&format!("{at}[price_data][{k}]")));
            }
        }
        let cur = pd
            .get("currency")
            .and_then(Value::as_str)
            .ok_or_else(|| missing(&format!("{at}[price_data][currency]")))?;
        if !CURRENCIES.contains(&cur) {
            return Err(invalid(
                &format!(
                    "Invalid currency: {cur}. Currencies are three-letter ISO codes in lower case."
                ),
                Some(&format!("{at}[price_data][currency]")),
            ));
        }
        if currency.as_deref().is_some_and(|c| c != cur) {
            return Err(invalid(
                "All line items must be in the same currency.",
                Some(&format!("{at}[price_data][currency]")),
            ));
        }
        currency = Some(cur.to_owned());
        let name = pd
            .get("product_data")
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| missing(&format!("{at}[price_data][product_data][name]")))?;
        if let Some(d) = pd.get("product_data").and_then(Value::as_object)
            && let Some(k) = d
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "description"))
        {
            return Err(unknown(&format!("{at}[price_data][product_data][{k}]")));
        }
        let amount_param = format!("{at}[price_data][unit_amount]");
        let raw = pd
            .get("unit_amount")
            .and_then(Value::as_str)
            .ok_or_else(|| missing(&amount_param))?;
        let unit_amount: i64 = raw.parse().map_err(|_| bad_integer(&amount_param, raw))?;
        if unit_amount < 0 {
            return Err(invalid(
                "This value must be greater than or equal to 0.",
                Some(&amount_param),
            ));
        }
        if THREE_DECIMAL.contains(&cur) && unit_amount % 10 != 0 {
            return Err(invalid(
                &format!(
                    "Amounts in {cur} must end in 0: the last of the three decimals has to be zero."
                ),
                Some(&amount_param),
            ));
        }
        if cur == "isk" && unit_amount % 100 != 0 {
            return Err(invalid(
                "Amounts in isk are sent with two decimals that must be zero (a multiple of 100).",
                Some(&amount_param),
            ));
        }
        let q_param = format!("{at}[quantity]");
        let raw_q = item
            .get("quantity")
            .and_then(Value::as_str)
            .ok_or_else(|| missing(&q_param))?;
        let quantity: i64 = raw_q.parse().map_err(|_| bad_integer(&q_param, raw_q))?;
        if quantity < 1 {
            return Err(invalid(
                "This value must be greater than or equal to 1.",
                Some(&q_param),
            ));
        }
        total = unit_amount
            .checked_mul(quantity)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| invalid("The amount is too large.", Some(&amount_param)))?;
        line_items.push(json!({"name": name, "unit_amount": unit_amount, "quantity": quantity}));
    }
    if line_items.is_empty() {
        return Err(missing("line_items"));
    }
    if total <= 0 {
        return Err(invalid(
            "The Checkout Session's total amount due must be greater than 0.",
            Some("line_items"),
        ));
    }
    let success_url = text("success_url").ok_or_else(|| missing("success_url"))?;
    for (k, url) in [
        ("success_url", Some(success_url)),
        ("cancel_url", text("cancel_url")),
    ] {
        if let Some(u) = url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(invalid("Not a valid URL", Some(k)));
        }
    }
    if let Some(r) = text("client_reference_id")
        && r.chars().count() > 200
    {
        return Err(invalid(
            "client_reference_id must be at most 200 characters.",
            Some("client_reference_id"),
        ));
    }
    if let Some(e) = text("customer_email")
        && !e.contains('@')
    {
        return Err(invalid(
            &format!("Invalid email address: {e}"),
            Some("customer_email"),
        ));
    }
    let metadata = check_metadata(p.get("metadata"), "metadata")?;
    let mut pi_metadata = Value::Object(Map::new());
    if let Some(pid) = p.get("payment_intent_data") {
        let pid = pid
            .as_object()
            .ok_or_else(|| invalid("Invalid hash", Some("payment_intent_data")))?;
        if let Some(k) = pid
            .keys()
            .find(|k| !matches!(k.as_str(), "metadata" | "description"))
        {
            return Err(unknown(&format!("payment_intent_data[{k}]")));
        }
        pi_metadata = check_metadata(pid.get("metadata"), "payment_intent_data[metadata]")?;
    }
    let now = shared.now();
    let expires_at = match text("expires_at") {
        None => now + MAX_EXPIRY,
        Some(raw) => {
            let e: i64 = raw.parse().map_err(|_| bad_integer("expires_at", raw))?;
            if e < now + MIN_EXPIRY || e > now + MAX_EXPIRY {
                return Err(invalid(
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours after the Checkout Session is created.",
                    Some("expires_at"),
                ));
            }
            e
        }
    };
    let methods: Vec<Value> = match p.get("payment_method_types") {
        None => vec![json!("card")],
        Some(Value::Object(m)) => m.values().cloned().collect(),
        Some(_) => return Err(invalid("Invalid array", Some("payment_method_types"))),
    };
    let id = format!("cs_test_a1{}", random_id(&mut st.rng, 48));
    let mut session = json!({
        "id": id,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": false, "liability": null, "status": null, "provider": null},
        "billing_address_collection": null,
        "cancel_url": text("cancel_url"),
        "client_reference_id": text("client_reference_id"),
        "client_secret": null,
        "consent": null,
        "consent_collection": null,
        "created": now,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
        "customer": null,
        "customer_creation": "if_required",
        "customer_details": null,
        "customer_email": text("customer_email"),
        "expires_at": expires_at,
        "invoice": null,
        "invoice_creation": {"enabled": false, "invoice_data": {"account_tax_ids": null, "custom_fields": null, "description": null, "footer": null, "issuer": null, "metadata": {}, "rendering_options": null}},
        "livemode": false,
    });
    let rest = json!({
        "locale": text("locale"),
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": null,
        "payment_link": null,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": null,
        "payment_method_options": {},
        "payment_method_types": methods,
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": false},
        "recovered_from": null,
        "saved_payment_method_options": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_options": [],
        "status": "open",
        "submit_type": text("submit_type"),
        "subscription": null,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": null,
        "url": format!("{}/c/pay/{id}", shared.base_url()),
        "wallet_options": null,
        "adaptive_pricing": {"enabled": false},
        "discounts": [],
        "collected_information": null,
        "permissions": null,
        "origin_context": null,
        "currency_conversion": null,
        "customer_account": null,
        "integration_identifier": null,
        "managed_payments": {"enabled": false},
    });
    if let (Some(s), Value::Object(r)) = (session.as_object_mut(), rest) {
        s.extend(r);
    }
    st.line_items.insert(id.clone(), line_items);
    st.payment_intent_metadata.insert(id, pi_metadata);
    st.sessions.push(session.clone());
    Ok(session)
}

fn check_metadata(v: Option<&Value>, param: &str) -> Result<Value, Refusal> {
    let Some(v) = v else {
        return Ok(Value::Object(Map::new()));
    };
    let m = v
        .as_object()
        .ok_or_else(|| invalid("Invalid hash", Some(param)))?;
    if m.len() > 50 {
        return Err(invalid("Metadata can have up to 50 keys.", Some(param)));
    }
    for (k, val) in m {
        let at = format!("{param}[{k}]");
        if k.chars().count() > 40 {
            return Err(invalid(
                "Metadata keys can be up to 40 characters long.",
                Some(&at),
            ));
        }
        let text = val
            .as_str()
            .ok_or_else(|| invalid("Metadata values must be strings.", Some(&at)))?;
        if text.chars().count() > 500 {
            return Err(invalid(
                "Metadata values can be up to 500 characters long.",
                Some(&at),
            ));
        }
    }
    Ok(v.clone())
}

/// The hosted Checkout page behind a session's `url`: the amount and a
/// button to pay by card. Paying through it is [`StripeFake::pay`].
async fn hosted_page(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let Some(session) = shared
        .lock()
        .sessions
        .iter()
        .find(|s| s["id"] == id.as_str())
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, "no such Checkout Session").into_response();
    };
    let mut html = format!(
        "<!doctype html><meta name=viewport content=\"width=device-width\"><title>Stripe Checkout (fake)</title>\
         <h1>Checkout</h1><p>Session {} is <b>{}</b>, payment <b>{}</b>: {} {} (minor units).</p>",
        crate::gateway_hooks::escape_html(&id),
        session["status"].as_str().unwrap_or("?"),
        session["payment_status"].as_str().unwrap_or("?"),
        session["amount_total"],
        session["currency"].as_str().unwrap_or("?"),
    );
    if session["status"] == "open" {
        html.push_str("<form method=post><button>Pay by card</button></form>");
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// `POST /c/pay/<id>` from the hosted page: pays by card, then sends the
/// buyer to the session's `success_url`.
async fn hosted_pay(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match shared.buyer_acts(&id, Action::Pay) {
        Ok((_, events)) => {
            for e in events {
                shared.hooks.emit(e).await;
            }
            let to = shared
                .lock()
                .sessions
                .iter()
                .find(|s| s["id"] == id.as_str())
                .and_then(|s| s["success_url"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("/c/pay/{id}"));
            (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_and_nesting() {
        let pairs = decode_form(
            b"mode=payment&line_items[0][price_data][currency]=eur&line_items%5B0%5D%5Bquantity%5D=1&metadata[a]=x+y%40z&tags[]=p&tags[]=q",
        )
        .expect("valid form");
        let p = nest(&pairs).expect("valid brackets");
        assert_eq!(p["mode"], "payment");
        assert_eq!(p["line_items"]["0"]["price_data"]["currency"], "eur");
        assert_eq!(p["line_items"]["0"]["quantity"], "1");
        assert_eq!(p["metadata"]["a"], "x y@z");
        assert_eq!(p["tags"]["0"], "p");
        assert_eq!(p["tags"]["1"], "q");
        assert!(nest(&[("a".into(), "1".into()), ("a[b]".into(), "2".into())]).is_err());
        assert!(nest(&[("a[b".into(), "1".into())]).is_err());
        assert!(decode_form(b"a=%zz").is_err());
    }

    #[test]
    fn config_debug_masks_secrets() {
        let s = format!("{:?}", StripeFakeConfig::default());
        assert!(!s.contains("sk_test_FakeStripeSecretKey000001"));
        assert!(!s.contains("whsec_fake"));
    }
}
