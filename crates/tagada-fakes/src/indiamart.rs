//! A loopback fake of IndiaMART's Lead Manager CRM API v2 (pull).
//!
//! [`IndiaMartFake::start`] serves
//! `GET /wservce/crm/crmListing/v2/?glusr_crm_key=K&start_time=S&end_time=E`
//! with the v2 envelope `{"CODE","STATUS","MESSAGE","TOTAL_RECORDS","RESPONSE"}`:
//!
//! * a wrong or missing key: `CODE` 401;
//! * times not `DD-Mon-YYYYHH:MM:SS` (IST), end before start, a window over
//!   7 days or a start over 365 days before the fake's now: `CODE` 400;
//! * a second call with one key within 5 minutes of the last served one:
//!   `CODE` 429 with IndiaMART's message; [`IndiaMartFakeConfig::burst_limit`]
//!   such refusals within 5 minutes block the key for 15 minutes (every call
//!   then gets 429). [`IndiaMartFake::set_rate_limit`] switches the rule off;
//! * otherwise the generated leads received in the window, both bounds
//!   included: `CODE` 200, or 204 when there are none.
//!
//! The HTTP status is 200 for every `CODE` unless
//! [`IndiaMartFakeConfig::http_status_mirrors_code`] is set (what IndiaMART
//! does is not documented; clients must read `CODE`). Scripted
//! [`ImFault`]s answer the next calls instead (500s, malformed JSON, slow
//! answers, forced 204/401/429).
//!
//! The fake's "now" is a [`FakeClock`], frozen by default
//! ([`IndiaMartFake::set_clock`], [`IndiaMartFake::advance_clock`]).
//! Leads come from a seeded generator ([`generate_leads`]): W, B and P
//! queries, Indian and foreign buyers, blank fields, odd spacing, HTML in
//! messages, and some leads sent again later with the same
//! `UNIQUE_QUERY_ID`. [`IndiaMartFake::leads`] and [`IndiaMartFake::calls`]
//! let tests see what exists and what was asked.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::marketplace::{BuyerGen, FakeClock, Server, ist};

/// Path of the pull endpoint.
pub const PULL_PATH: &str = "/wservce/crm/crmListing/v2/";
/// IndiaMART's 429 message (the 5-minute rule).
pub const RATE_LIMIT_MESSAGE: &str = "It is advised to hit this API once in every 5 minutes,but it seems that you have crossed this limit. Please try again after 5 minutes.";
/// The message of a key blocked after a burst (wording not verified).
pub const BLOCKED_MESSAGE: &str = "It is advised to hit this API once in every 5 minutes,but it seems that you have crossed this limit. Please try again after 15 minutes.";
/// The 204 message.
pub const NO_LEADS_MESSAGE: &str =
    "There are no leads in the given time duration. please try for a different duration.";
/// The 401 message (placeholder: only the code is corroborated).
pub const INVALID_KEY_MESSAGE: &str = "Key is incorrect or expired. Please generate a new key.";
const FIVE_MINUTES: SignedDuration = SignedDuration::from_mins(5);
const FIFTEEN_MINUTES: SignedDuration = SignedDuration::from_mins(15);

/// Configuration of an [`IndiaMartFake`]. [`Default`] gives test values.
#[derive(Clone)]
pub struct IndiaMartFakeConfig {
    /// `None` = `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
    /// The CRM key the fake accepts.
    pub key: String,
    /// Seed of the lead generator.
    pub seed: u64,
    /// How many distinct leads to generate.
    pub leads: usize,
    /// Leads are received between these instants.
    pub leads_from: Timestamp,
    pub leads_to: Timestamp,
    /// The fake's clock at start.
    pub clock: FakeClock,
    /// Enforce the 5-minute rule (off for benchmarks).
    pub rate_limit: bool,
    /// 429s within 5 minutes that block the key for 15 minutes.
    pub burst_limit: u32,
    /// Answer with the HTTP status equal to `CODE` (instead of always 200).
    pub http_status_mirrors_code: bool,
}

impl Default for IndiaMartFakeConfig {
    fn default() -> Self {
        let to: Timestamp = "2024-02-01T00:00:00Z".parse().expect("valid instant");
        IndiaMartFakeConfig {
            bind: None,
            key: "fake-indiamart-crm-key".to_owned(),
            seed: 7,
            leads: 60,
            leads_from: to - SignedDuration::from_hours(30 * 24),
            leads_to: to,
            clock: FakeClock::Frozen(to),
            rate_limit: true,
            burst_limit: 3,
            http_status_mirrors_code: false,
        }
    }
}

impl std::fmt::Debug for IndiaMartFakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndiaMartFakeConfig")
            .field("bind", &self.bind)
            .field("key", &"***")
            .field("seed", &self.seed)
            .field("leads", &self.leads)
            .field("leads_from", &self.leads_from)
            .field("leads_to", &self.leads_to)
            .field("clock", &self.clock)
            .field("rate_limit", &self.rate_limit)
            .field("burst_limit", &self.burst_limit)
            .field("http_status_mirrors_code", &self.http_status_mirrors_code)
            .finish()
    }
}

/// A scripted answer to one coming pull (any key).
#[derive(Debug, Clone, PartialEq)]
pub enum ImFault {
    /// `CODE` 204 whatever the window holds.
    NoLeads,
    /// `CODE` 401.
    InvalidKey,
    /// `CODE` 429 with the 5-minute message.
    RateLimited,
    /// `CODE` 400.
    BadRequest,
    /// HTTP 500 with `CODE` 500 in the body.
    ServerError,
    /// This HTTP status with an HTML body (a proxy's error page).
    HttpError(u16),
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
    /// Wait this long, then answer normally.
    Slow(Duration),
}

/// A lead the fake holds: the JSON it serves and when it was received.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeLead {
    pub unique_query_id: String,
    /// `W`, `B` or `P`.
    pub query_type: String,
    pub received_at: Timestamp,
    /// Whether this is a re-send of an earlier lead (same id, later time).
    pub duplicate: bool,
    pub json: Value,
}

/// One pull the fake answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PullCall {
    /// The fake's clock when the call came.
    pub at: Timestamp,
    /// Whether the key matched.
    pub key_ok: bool,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// The `CODE` answered (`None` for malformed and HTML answers).
    pub code: Option<i64>,
    /// Leads in the answer.
    pub leads: usize,
}

struct ImState {
    leads: Vec<FakeLead>,
    calls: Vec<PullCall>,
    faults: std::collections::VecDeque<ImFault>,
    clock: FakeClock,
    rate_limit: bool,
    last_served: Option<Timestamp>,
    refusals: Vec<Timestamp>,
    blocked_until: Option<Timestamp>,
}

struct Shared {
    cfg: IndiaMartFakeConfig,
    state: Mutex<ImState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ImState> {
        self.state.lock().expect("indiamart fake mutex poisoned")
    }
}

/// A running IndiaMART fake. Dropping it (or [`IndiaMartFake::shutdown`])
/// stops the server.
pub struct IndiaMartFake {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for IndiaMartFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndiaMartFake")
            .field("addr", &self.server.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

impl IndiaMartFake {
    /// Generate the leads, bind and serve.
    pub async fn start(cfg: IndiaMartFakeConfig) -> std::io::Result<IndiaMartFake> {
        let leads = generate_leads(cfg.seed, cfg.leads, cfg.leads_from, cfg.leads_to);
        let state = ImState {
            leads,
            calls: Vec::new(),
            faults: Default::default(),
            clock: cfg.clock,
            rate_limit: cfg.rate_limit,
            last_served: None,
            refusals: Vec::new(),
            blocked_until: None,
        };
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            state: Mutex::new(state),
        });
        let router = Router::new()
            .route(PULL_PATH, get(pull))
            .route(PULL_PATH.trim_end_matches('/'), get(pull))
            .with_state(shared.clone());
        let server = Server::start(cfg.bind, router).await?;
        Ok(IndiaMartFake { shared, server })
    }

    /// `http://127.0.0.1:PORT`; the client appends [`PULL_PATH`].
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &IndiaMartFakeConfig {
        &self.shared.cfg
    }

    /// Every lead the fake holds (re-sends included), by receive time.
    pub fn leads(&self) -> Vec<FakeLead> {
        self.shared.lock().leads.clone()
    }

    /// Adds a lead (its receive time decides which windows return it).
    pub fn add_lead(&self, lead: FakeLead) {
        let mut st = self.shared.lock();
        st.leads.push(lead);
        st.leads.sort_by_key(|l| l.received_at);
    }

    /// Every pull answered, in order.
    pub fn calls(&self) -> Vec<PullCall> {
        self.shared.lock().calls.clone()
    }

    /// Number of pulls answered.
    pub fn call_count(&self) -> usize {
        self.shared.lock().calls.len()
    }

    /// Queue faults for the next pulls, one per pull.
    pub fn script(&self, faults: impl IntoIterator<Item = ImFault>) {
        self.shared.lock().faults.extend(faults);
    }

    /// Turn the 5-minute rule and the 15-minute block on or off.
    pub fn set_rate_limit(&self, on: bool) {
        let mut st = self.shared.lock();
        st.rate_limit = on;
        if !on {
            st.blocked_until = None;
            st.refusals.clear();
        }
    }

    /// The fake's now.
    pub fn now(&self) -> Timestamp {
        self.shared.lock().clock.now()
    }

    /// Freeze the fake's clock at `at`.
    pub fn set_clock(&self, at: Timestamp) {
        self.shared.lock().clock = FakeClock::Frozen(at);
    }

    /// Move the fake's clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().clock.advance(by);
    }

    /// Stop serving.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

fn envelope(code: i64, message: &str, leads: &[Value]) -> Value {
    json!({
        "CODE": code,
        "STATUS": if code == 200 { "SUCCESS" } else { "FAILURE" },
        "MESSAGE": message,
        "TOTAL_RECORDS": leads.len(),
        "RESPONSE": leads,
    })
}

async fn pull(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let fault = shared.lock().faults.pop_front();
    if let Some(ImFault::Slow(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    let mut st = shared.lock();
    let now = st.clock.now();
    let key_ok = q.get("glusr_crm_key").is_some_and(|k| *k == shared.cfg.key);
    let mut call = PullCall {
        at: now,
        key_ok,
        start_time: q.get("start_time").cloned(),
        end_time: q.get("end_time").cloned(),
        code: None,
        leads: 0,
    };
    let (code, message, leads): (i64, String, Vec<Value>) = match fault {
        Some(ImFault::MalformedJson) => {
            st.calls.push(call);
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"CODE\":200,\"STATUS\":\"SUCCESS\",\"MESSAGE\":\"\",\"RESPONSE\":[{\"UNIQUE_QUERY_ID\":",
            )
                .into_response();
        }
        Some(ImFault::HttpError(status)) => {
            st.calls.push(call);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>Service unavailable</h1></body></html>",
            )
                .into_response();
        }
        Some(ImFault::ServerError) => {
            call.code = Some(500);
            st.calls.push(call);
            let body = envelope(500, "Internal server error. Please try again later.", &[]);
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
        }
        Some(ImFault::NoLeads) => (204, NO_LEADS_MESSAGE.into(), vec![]),
        Some(ImFault::InvalidKey) => (401, INVALID_KEY_MESSAGE.into(), vec![]),
        Some(ImFault::RateLimited) => (429, RATE_LIMIT_MESSAGE.into(), vec![]),
        Some(ImFault::BadRequest) => (400, "Invalid parameters.".into(), vec![]),
        Some(ImFault::Slow(_)) | None => serve(&shared.cfg, &mut st, now, key_ok, &q),
    };
    call.code = Some(code);
    call.leads = leads.len();
    st.calls.push(call);
    let status = if shared.cfg.http_status_mirrors_code {
        u16::try_from(code)
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::OK)
    } else {
        StatusCode::OK
    };
    (status, axum::Json(envelope(code, &message, &leads))).into_response()
}

fn serve(
    cfg: &IndiaMartFakeConfig,
    st: &mut ImState,
    now: Timestamp,
    key_ok: bool,
    q: &HashMap<String, String>,
) -> (i64, String, Vec<Value>) {
    if !key_ok {
        return (401, INVALID_KEY_MESSAGE.into(), vec![]);
    }
    if st.rate_limit {
        if st.blocked_until.is_some_and(|until| now < until) {
            return (429, BLOCKED_MESSAGE.into(), vec![]);
        }
        if st.last_served.is_some_and(|last| now < last + FIVE_MINUTES) {
            st.refusals.retain(|t| *t + FIVE_MINUTES > now);
            st.refusals.push(now);
            if st.refusals.len() >= cfg.burst_limit.max(1) as usize {
                st.blocked_until = Some(now + FIFTEEN_MINUTES);
                st.refusals.clear();
            }
            return (429, RATE_LIMIT_MESSAGE.into(), vec![]);
        }
    }
    st.last_served = Some(now);
    let parse = |name: &str| {
        q.get(name)
            .and_then(|s| DateTime::strptime("%d-%b-%Y%H:%M:%S", s.trim()).ok())
            .and_then(|dt| ist().to_timestamp(dt).ok())
    };
    let (Some(start), Some(end)) = (parse("start_time"), parse("end_time")) else {
        return (
            400,
            "Invalid or missing start_time/end_time. Use DD-Mon-YYYYHH:MM:SS.".into(),
            vec![],
        );
    };
    if end < start {
        return (400, "end_time is before start_time.".into(), vec![]);
    }
    if end.duration_since(start) > SignedDuration::from_hours(7 * 24) {
        return (400, "The time window cannot exceed 7 days.".into(), vec![]);
    }
    if start < now - SignedDuration::from_hours(365 * 24) {
        return (
            400,
            "Data older than 365 days cannot be fetched.".into(),
            vec![],
        );
    }
    let leads: Vec<Value> = st
        .leads
        .iter()
        .filter(|l| l.received_at >= start && l.received_at <= end)
        .map(|l| l.json.clone())
        .collect();
    if leads.is_empty() {
        (204, NO_LEADS_MESSAGE.into(), vec![])
    } else {
        (200, String::new(), leads)
    }
}

/// Generates `count` distinct leads received between `from` and `to` (plus
/// about one in ten sent again later with the same `UNIQUE_QUERY_ID`), the
/// same for the same seed. Sorted by receive time.
pub fn generate_leads(seed: u64, count: usize, from: Timestamp, to: Timestamp) -> Vec<FakeLead> {
    let mut g = BuyerGen::new(seed);
    let span = to.duration_since(from).as_secs().max(1);
    let mut out = Vec::with_capacity(count + count / 8);
    for n in 0..count {
        let offset = g.rng_range(span);
        let at = from + SignedDuration::from_secs(offset);
        let kind = match g.rng_range(100) {
            0..60 => "W",
            60..85 => "B",
            _ => "P",
        };
        let id = if kind == "P" {
            format!("15{:07}", n + 1)
        } else {
            format!("29{:08}", n + 1)
        };
        let json = lead_json(&mut g, &id, kind, at, n as u64);
        out.push(FakeLead {
            unique_query_id: id.clone(),
            query_type: kind.to_string(),
            received_at: at,
            duplicate: false,
            json: json.clone(),
        });
        if g.chance(10) {
            // Sent again 1 to 9 days later: lands in a later window.
            let later = at + SignedDuration::from_hours(24 * (1 + g.rng_range(9)));
            let mut again = json;
            again["QUERY_TIME"] = Value::String(query_time(later));
            out.push(FakeLead {
                unique_query_id: id,
                query_type: kind.to_string(),
                received_at: later,
                duplicate: true,
                json: again,
            });
        }
    }
    out.sort_by_key(|l| l.received_at);
    out
}

/// `QUERY_TIME` as IndiaMART writes it: IST civil time.
pub fn query_time(at: Timestamp) -> String {
    ist()
        .to_datetime(at)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl BuyerGen {
    fn rng_range(&mut self, below: i64) -> i64 {
        use rand::RngExt;
        self.rng.random_range(0..below.max(1))
    }
}

fn lead_json(g: &mut BuyerGen, id: &str, kind: &str, at: Timestamp, n: u64) -> Value {
    let buyer = g.buyer(n);
    let product = g.product();
    let address = if buyer.pincode.is_empty() {
        format!("{}, {}", buyer.city, buyer.state)
    } else {
        format!(
            "{}, Example Road, {}, {},         {}",
            1 + g.rng_range(99),
            buyer.city,
            buyer.state,
            buyer.pincode
        )
    };
    let (subject, message, product_name, mcat, duration, receiver) = if kind == "P" {
        (
            "Buyer Call".to_string(),
            String::new(),
            String::new(),
            String::new(),
            (5 + g.rng_range(300)).to_string(),
            format!("80{}", g.digits(8)),
        )
    } else {
        let qty = 1 + g.rng_range(500);
        let low = (1 + g.rng_range(50)) * 1_000;
        let mut m = match g.rng_range(4) {
            0 => format!(
                "I want to buy {}.\r\rKindly send me price and other details.<br> Quantity :   {qty}<br> Quantity Unit :   {}<br> Probable Order Value :   Rs. {} to {}<br> Probable Requirement Type :   Business Use<br>",
                product.name,
                product.unit,
                indian_grouping(low),
                indian_grouping(low * 2)
            ),
            1 => format!("I am interested in {}<br>", product.name),
            2 => format!(
                "Need {} for export &amp; re-sale.<br/>Quantity : {qty}<br>Quantity Unit : {}<br>Preferred Location: Suppliers from Local Area will be Preferred<br>",
                product.name, product.unit
            ),
            _ => format!(
                "Please quote for {} &lt;urgent&gt;.\r\nDelivery to {}.<br> Probable Order Value :   Upto Rs. {}<br>",
                product.name,
                buyer.city,
                indian_grouping(low)
            ),
        };
        if g.chance(10) {
            m.push_str("   ");
        }
        (
            format!("Requirement for {}", product.name),
            m,
            product.name.to_string(),
            product.category.to_string(),
            String::new(),
            String::new(),
        )
    };
    let with_alt = kind == "B" && g.chance(40);
    json!({
        "UNIQUE_QUERY_ID": id,
        "QUERY_TYPE": kind,
        "QUERY_TIME": query_time(at),
        "SENDER_NAME": buyer.name,
        "SENDER_MOBILE": buyer.mobile,
        "SENDER_EMAIL": if kind == "P" { String::new() } else { buyer.email.clone() },
        "SUBJECT": subject,
        "SENDER_COMPANY": buyer.company,
        "SENDER_ADDRESS": address,
        "SENDER_CITY": buyer.city,
        "SENDER_STATE": buyer.state,
        "SENDER_PINCODE": buyer.pincode,
        "SENDER_COUNTRY_ISO": buyer.country_iso,
        "SENDER_MOBILE_ALT": if with_alt { format!("+91-9{}", g.digits(9)) } else { String::new() },
        "SENDER_PHONE": "",
        "SENDER_PHONE_ALT": "",
        "SENDER_EMAIL_ALT": if with_alt { format!("alt{n}@example.com") } else { String::new() },
        "QUERY_PRODUCT_NAME": product_name,
        "QUERY_MESSAGE": message,
        "QUERY_MCAT_NAME": mcat,
        "CALL_DURATION": duration,
        "RECEIVER_MOBILE": receiver,
    })
}

/// `150000` -> `1,50,000`.
fn indian_grouping(n: i64) -> String {
    let s = n.to_string();
    if s.len() <= 3 {
        return s;
    }
    let (head, tail) = s.split_at(s.len() - 3);
    let mut groups: Vec<&str> = Vec::new();
    let mut rest = head;
    while rest.len() > 2 {
        let (a, b) = rest.split_at(rest.len() - 2);
        groups.push(b);
        rest = a;
    }
    if !rest.is_empty() {
        groups.push(rest);
    }
    groups.reverse();
    format!("{},{tail}", groups.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_varied() {
        let cfg = IndiaMartFakeConfig::default();
        let a = generate_leads(cfg.seed, 200, cfg.leads_from, cfg.leads_to);
        let b = generate_leads(cfg.seed, 200, cfg.leads_from, cfg.leads_to);
        assert_eq!(a, b);
        for kind in ["W", "B", "P"] {
            assert!(a.iter().any(|l| l.query_type == kind), "{kind}");
        }
        assert!(a.iter().any(|l| l.duplicate));
        assert!(a.iter().any(|l| l.json["SENDER_COUNTRY_ISO"] != "IN"));
        assert!(a.iter().any(|l| l.json["SENDER_EMAIL"] == ""));
        assert!(
            a.iter()
                .any(|l| l.json["QUERY_MESSAGE"].as_str().unwrap().contains("<br>"))
        );
        assert!(a.windows(2).all(|w| w[0].received_at <= w[1].received_at));
    }

    #[test]
    fn grouping() {
        assert_eq!(indian_grouping(999), "999");
        assert_eq!(indian_grouping(10_000), "10,000");
        assert_eq!(indian_grouping(1_50_000), "1,50,000");
        assert_eq!(indian_grouping(1_23_45_678), "1,23,45,678");
    }

    #[test]
    fn config_debug_masks_the_key() {
        assert!(
            !format!("{:?}", IndiaMartFakeConfig::default()).contains("fake-indiamart-crm-key")
        );
    }
}
