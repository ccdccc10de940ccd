//! IndiaMART Lead Manager CRM API, version 2: the pull client and the push
//! body parser.
//!
//! # Pull
//!
//! `GET {base_url}/wservce/crm/crmListing/v2/?glusr_crm_key=KEY&start_time=S&end_time=E`
//! returns the leads (direct enquiries `W`, buy-leads `B`, phone calls `P`)
//! received between two instants written in IST as `DD-Mon-YYYYHH:MM:SS`
//! ([`format_request_time`]). The answer's verdict is the body's `CODE`, not
//! the HTTP status ([`Verdict`]): 200 leads, 204 none in the window, 400 bad
//! parameters (window over 7 days or older than 365 days), 401 wrong or
//! expired key, 429 called again within 5 minutes, 500 a fault on their
//! side. A window spans at most 7 days ([`split_windows`]).
//!
//! # Push
//!
//! IndiaMART POSTs one lead at a time to a listener as
//! `{"CODE":200,"STATUS":"SUCCESS","RESPONSE":{...lead...}}`
//! ([`parse_push`]); the listener answers HTTP 200 with [`PUSH_ACK`].
//!
//! Every lead field is optional ([`Lead`]): blanks (`""`) read as `None`,
//! and each lead keeps its raw JSON. The key is a [`SecretString`]: it never
//! shows in `Debug` output or in errors.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tagada_core::{CountryCode, Phone};

use crate::lead_text::{
    OrderValue, Quantity, clean_message, detail_lines, ist, non_blank, parse_ist,
};

/// IndiaMART's API host.
pub const DEFAULT_BASE_URL: &str = "https://mapi.indiamart.com";
/// Path of the v2 pull endpoint.
pub const PULL_PATH: &str = "/wservce/crm/crmListing/v2/";
/// The longest window one pull may ask for.
pub const MAX_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
/// How far back a pull may reach.
pub const MAX_LOOKBACK: SignedDuration = SignedDuration::from_hours(365 * 24);
/// The least time between two pulls with one key (the "5-minute rule").
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// How long to wait after a 429 before calling again: the key may be
/// blocked for 15 minutes after a burst, and waiting out the block costs
/// less than extending it.
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// strftime format of `start_time` / `end_time`, in IST: `03-Jan-202414:08:55`.
pub const REQUEST_TIME_FORMAT: &str = "%d-%b-%Y%H:%M:%S";
/// Format of a lead's `QUERY_TIME`, in IST: `2024-01-03 14:08:55`.
pub const QUERY_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// What our push listener answers (with HTTP 200).
pub const PUSH_ACK: &str = r#"{"CODE":200,"STATUS":"SUCCESS"}"#;

/// A pull window: leads received from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Formats an instant as a pull request time: the civil time in IST,
/// `DD-Mon-YYYYHH:MM:SS` with an English month abbreviation and no space
/// between date and time (`2024-01-03T08:38:55Z` is `03-Jan-202414:08:55`).
pub fn format_request_time(at: Timestamp) -> String {
    ist()
        .to_datetime(at)
        .strftime(REQUEST_TIME_FORMAT)
        .to_string()
}

/// Reads a request time written by [`format_request_time`] (used by the
/// fake and by tests).
pub fn parse_request_time(s: &str) -> Option<Timestamp> {
    parse_ist(s, REQUEST_TIME_FORMAT)
}

impl Window {
    /// The `start_time` and `end_time` query values of this window.
    pub fn request_times(&self) -> (String, String) {
        (
            format_request_time(self.start),
            format_request_time(self.end),
        )
    }
}

/// Splits `start..end` into consecutive windows of at most [`MAX_WINDOW`],
/// each starting where the previous ended (an empty list when `end` is not
/// after `start`). Whether IndiaMART counts the bounds as inclusive is not
/// documented; a lead received exactly on a boundary may come twice, which
/// de-duplication by `UNIQUE_QUERY_ID` absorbs.
pub fn split_windows(start: Timestamp, end: Timestamp) -> Vec<Window> {
    split_windows_by(start, end, MAX_WINDOW)
}

/// [`split_windows`] with another maximum length (positive).
pub fn split_windows_by(start: Timestamp, end: Timestamp, max: SignedDuration) -> Vec<Window> {
    let mut out = Vec::new();
    if max <= SignedDuration::ZERO {
        return out;
    }
    let mut from = start;
    while from < end {
        let to = from.checked_add(max).map_or(end, |t| t.min(end));
        out.push(Window {
            start: from,
            end: to,
        });
        from = to;
    }
    out
}

/// The three kinds of IndiaMART lead, from `QUERY_TYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryType {
    /// `W`: a direct enquiry to the seller.
    Direct,
    /// `B`: a buy-lead the seller purchased.
    BuyLead,
    /// `P`: a phone call through IndiaMART's number (PNS).
    Call,
    /// Any other letter, kept as written.
    Other(String),
}

impl QueryType {
    pub fn parse(s: &str) -> QueryType {
        match s.trim() {
            "W" => QueryType::Direct,
            "B" => QueryType::BuyLead,
            "P" => QueryType::Call,
            other => QueryType::Other(other.to_string()),
        }
    }

    /// The letter IndiaMART uses.
    pub fn code(&self) -> &str {
        match self {
            QueryType::Direct => "W",
            QueryType::BuyLead => "B",
            QueryType::Call => "P",
            QueryType::Other(s) => s,
        }
    }
}

/// One lead as IndiaMART sends it, every field optional, plus what is read
/// out of the message. The unique id is [`Lead::unique_query_id`].
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub unique_query_id: Option<String>,
    pub query_type: Option<QueryType>,
    /// `QUERY_TIME` as written (IST civil time).
    pub query_time_text: Option<String>,
    /// `QUERY_TIME` as an instant (read in IST).
    pub query_time: Option<Timestamp>,
    pub sender_name: Option<String>,
    /// `SENDER_MOBILE` as written (`+91-9000000001`); see [`Lead::mobile`].
    pub sender_mobile: Option<String>,
    pub sender_email: Option<String>,
    pub subject: Option<String>,
    pub sender_company: Option<String>,
    /// `SENDER_ADDRESS` with runs of spaces shrunk to one.
    pub sender_address: Option<String>,
    pub sender_city: Option<String>,
    pub sender_state: Option<String>,
    pub sender_pincode: Option<String>,
    pub sender_country_iso: Option<String>,
    pub sender_mobile_alt: Option<String>,
    pub sender_phone: Option<String>,
    pub sender_phone_alt: Option<String>,
    pub sender_email_alt: Option<String>,
    pub product_name: Option<String>,
    /// `QUERY_MESSAGE` cleaned by [`clean_message`].
    pub message: Option<String>,
    pub mcat_name: Option<String>,
    /// `CALL_DURATION` of a call lead, in seconds.
    pub call_duration_secs: Option<u32>,
    pub receiver_mobile: Option<String>,
    /// The `Key : value` lines of the message, in order.
    pub details: Vec<(String, String)>,
    /// `Quantity` (and `Quantity Unit`) from the message.
    pub quantity: Option<Quantity>,
    /// `Probable Order Value` from the message.
    pub order_value: Option<OrderValue>,
    /// `Probable Requirement Type` from the message (`Business Use`).
    pub requirement_type: Option<String>,
    /// The lead object exactly as received.
    pub raw: Value,
}

fn field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) => non_blank(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn detail<'a>(details: &'a [(String, String)], key: &str) -> Option<&'a str> {
    details
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

impl Lead {
    /// Reads one lead object. Anything that is not a JSON object gives a lead
    /// with every field `None` (and the value kept in `raw`).
    pub fn from_json(raw: Value) -> Lead {
        let empty = Map::new();
        let obj = raw.as_object().unwrap_or(&empty);
        let f = |name: &str| field(obj, name);
        let query_time_text = f("QUERY_TIME");
        let message = f("QUERY_MESSAGE").and_then(|m| clean_message(&m));
        let details = message.as_deref().map(detail_lines).unwrap_or_default();
        let quantity = detail(&details, "Quantity")
            .and_then(|q| Quantity::parse(q, detail(&details, "Quantity Unit")));
        let order_value = detail(&details, "Probable Order Value").and_then(OrderValue::parse);
        let requirement_type = detail(&details, "Probable Requirement Type").map(str::to_string);
        Lead {
            unique_query_id: f("UNIQUE_QUERY_ID"),
            query_type: f("QUERY_TYPE").map(|t| QueryType::parse(&t)),
            query_time: query_time_text
                .as_deref()
                .and_then(|t| parse_ist(t, QUERY_TIME_FORMAT)),
            query_time_text,
            sender_name: f("SENDER_NAME"),
            sender_mobile: f("SENDER_MOBILE"),
            sender_email: f("SENDER_EMAIL"),
            subject: f("SUBJECT"),
            sender_company: f("SENDER_COMPANY"),
            sender_address: f("SENDER_ADDRESS")
                .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")),
            sender_city: f("SENDER_CITY"),
            sender_state: f("SENDER_STATE"),
            sender_pincode: f("SENDER_PINCODE"),
            sender_country_iso: f("SENDER_COUNTRY_ISO"),
            sender_mobile_alt: f("SENDER_MOBILE_ALT"),
            sender_phone: f("SENDER_PHONE"),
            sender_phone_alt: f("SENDER_PHONE_ALT"),
            sender_email_alt: f("SENDER_EMAIL_ALT"),
            product_name: f("QUERY_PRODUCT_NAME"),
            message,
            mcat_name: f("QUERY_MCAT_NAME"),
            call_duration_secs: f("CALL_DURATION").and_then(|d| d.parse().ok()),
            receiver_mobile: f("RECEIVER_MOBILE"),
            details,
            quantity,
            order_value,
            requirement_type,
            raw,
        }
    }

    /// The buyer's country, from `SENDER_COUNTRY_ISO`, when valid.
    pub fn country(&self) -> Option<CountryCode> {
        CountryCode::parse(self.sender_country_iso.as_deref()?).ok()
    }

    /// `SENDER_MOBILE` in E.164, read in the buyer's country (India when
    /// unknown); `None` when absent or not a valid number.
    pub fn mobile(&self) -> Option<Phone> {
        let region = self.country().unwrap_or_else(CountryCode::india);
        Phone::parse(self.sender_mobile.as_deref()?, &region).ok()
    }

    /// `SENDER_MOBILE_ALT` in E.164, like [`Lead::mobile`].
    pub fn mobile_alt(&self) -> Option<Phone> {
        let region = self.country().unwrap_or_else(CountryCode::india);
        Phone::parse(self.sender_mobile_alt.as_deref()?, &region).ok()
    }
}

/// What a pull answer means, read from the body's `CODE`.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// `CODE` 200: ingest the leads, then move past the window.
    Leads {
        leads: Vec<Lead>,
        /// `TOTAL_RECORDS` as stated (may differ from `leads.len()`).
        total_records: Option<u64>,
    },
    /// `CODE` 204: no leads in the window; move past it.
    NoLeads { message: String },
    /// `CODE` 400: the request was wrong (window over 7 days, older than
    /// 365 days, unreadable times). Retrying the same window will not help.
    BadRequest { message: String },
    /// `CODE` 401: the key is wrong, expired by disuse or replaced by a newer
    /// one. Stop pulling: a person must generate a new key.
    InvalidKey { message: String },
    /// `CODE` 429: called within 5 minutes of the previous pull (or the key
    /// is blocked after a burst). Wait [`RATE_LIMIT_BACKOFF`].
    RateLimited { message: String },
    /// `CODE` 500 (or an HTTP 5xx without a readable body): retry later.
    ServerError { message: String, http_status: u16 },
    /// Any other `CODE`: treated as retry later, and worth a look.
    Unexpected {
        code: i64,
        http_status: u16,
        message: String,
    },
}

/// What the caller should do after a pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Store the leads and move to the next window.
    Ingest,
    /// Nothing to store; move to the next window.
    Advance,
    /// Do not retry this request as is (a bug or a bad window).
    Skip,
    /// Stop every pull with this key until a person acts.
    Stop,
    /// Retry the same window after this long.
    RetryAfter(Duration),
}

impl Verdict {
    /// The action the verdict calls for.
    pub fn next_step(&self) -> NextStep {
        match self {
            Verdict::Leads { .. } => NextStep::Ingest,
            Verdict::NoLeads { .. } => NextStep::Advance,
            Verdict::BadRequest { .. } => NextStep::Skip,
            Verdict::InvalidKey { .. } => NextStep::Stop,
            Verdict::RateLimited { .. } => NextStep::RetryAfter(RATE_LIMIT_BACKOFF),
            Verdict::ServerError { .. } | Verdict::Unexpected { .. } => {
                NextStep::RetryAfter(MIN_INTERVAL)
            }
        }
    }
}

/// A pull that produced no verdict.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The request could not be built or the connection failed: IndiaMART
    /// never saw the request (it does not count against the 5-minute rule).
    #[error("IndiaMART pull could not be sent: {0}")]
    Connect(String),
    /// The request was sent but the answer did not arrive whole (timeout,
    /// reset): it may count against the 5-minute rule.
    #[error("IndiaMART pull got no complete answer: {0}")]
    Transport(String),
    /// The answer is not the JSON envelope IndiaMART sends.
    #[error(
        "IndiaMART answered HTTP {http_status} with a body that is not its JSON envelope: {reason}"
    )]
    Malformed {
        http_status: u16,
        reason: String,
        /// The body as received (lossy UTF-8).
        body: String,
    },
}

/// Reads a pull answer: the HTTP status and the raw body. The verdict comes
/// from `CODE` (a number or a numeric string); the HTTP status only decides
/// when the body is unreadable (a 5xx then is a [`Verdict::ServerError`],
/// anything else a [`PullError::Malformed`]).
pub fn parse_pull_response(http_status: u16, body: &[u8]) -> Result<Verdict, PullError> {
    let malformed = |reason: String| PullError::Malformed {
        http_status,
        reason,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if http_status >= 500 => {
            return Ok(Verdict::ServerError {
                message: format!("HTTP {http_status}: {e}: {}", snippet(body)),
                http_status,
            });
        }
        Err(e) => return Err(malformed(e.to_string())),
    };
    let Some(obj) = value.as_object() else {
        return Err(malformed("the body is not a JSON object".into()));
    };
    let Some(code) = obj.get("CODE").and_then(as_int) else {
        if http_status >= 500 {
            return Ok(Verdict::ServerError {
                message: format!("HTTP {http_status} without CODE: {}", snippet(body)),
                http_status,
            });
        }
        return Err(malformed("no numeric CODE".into()));
    };
    let message = obj
        .get("MESSAGE")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    Ok(match code {
        200 => {
            let leads = match obj.get("RESPONSE") {
                Some(Value::Array(items)) => items.iter().cloned().map(Lead::from_json).collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![Lead::from_json(other.clone())],
            };
            Verdict::Leads {
                leads,
                total_records: obj
                    .get("TOTAL_RECORDS")
                    .and_then(as_int)
                    .and_then(|n| u64::try_from(n).ok()),
            }
        }
        204 => Verdict::NoLeads { message },
        400 => Verdict::BadRequest { message },
        401 => Verdict::InvalidKey { message },
        429 => Verdict::RateLimited { message },
        500..=599 => Verdict::ServerError {
            message,
            http_status,
        },
        code => Verdict::Unexpected {
            code,
            http_status,
            message,
        },
    })
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.into_owned()
}

/// A pushed body that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the pushed body is not JSON: {0}")]
    NotJson(String),
    #[error("the pushed body holds no lead (no RESPONSE object)")]
    NoLead,
}

/// Reads a body IndiaMART pushed to our listener: the envelope with the lead
/// under `RESPONSE` as an object. An array under `RESPONSE` (each element a
/// lead) and a bare lead object (with `UNIQUE_QUERY_ID` at the top) are
/// accepted too, since receivers in the wild report both.
pub fn parse_push(body: &[u8]) -> Result<Vec<Lead>, PushError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| PushError::NotJson(e.to_string()))?;
    match value.get("RESPONSE") {
        Some(Value::Object(_)) => Ok(vec![Lead::from_json(value["RESPONSE"].clone())]),
        Some(Value::Array(items)) if !items.is_empty() => {
            Ok(items.iter().cloned().map(Lead::from_json).collect())
        }
        _ if value.get("UNIQUE_QUERY_ID").is_some() => Ok(vec![Lead::from_json(value)]),
        _ => Err(PushError::NoLead),
    }
}

/// Where and with which key the pull client talks to IndiaMART.
#[derive(Clone)]
pub struct PullConfig {
    /// [`DEFAULT_BASE_URL`], or a fake's / proxy's address.
    pub base_url: String,
    /// The CRM key (`glusr_crm_key`).
    pub key: SecretString,
    pub connect_timeout: Duration,
    /// Time allowed for the whole request.
    pub timeout: Duration,
}

impl std::fmt::Debug for PullConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullConfig")
            .field("base_url", &self.base_url)
            .field("key", &"[redacted]")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl PullConfig {
    /// IndiaMART's own host with default timeouts.
    pub fn new(key: SecretString) -> PullConfig {
        PullConfig::with_base_url(DEFAULT_BASE_URL, key)
    }

    /// Another host (a fake, a proxy) with default timeouts.
    pub fn with_base_url(base_url: impl Into<String>, key: SecretString) -> PullConfig {
        PullConfig {
            base_url: base_url.into(),
            key,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}

/// The pull client. Cheap to clone. It does not pace itself: the caller
/// keeps [`MIN_INTERVAL`] between pulls with one key.
#[derive(Debug, Clone)]
pub struct PullClient {
    http: reqwest::Client,
    cfg: PullConfig,
}

impl PullClient {
    pub fn new(cfg: PullConfig) -> Result<PullClient, PullError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .user_agent(concat!("tagada/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PullError::Connect(format!("building the HTTP client: {e}")))?;
        Ok(PullClient { http, cfg })
    }

    pub fn config(&self) -> &PullConfig {
        &self.cfg
    }

    /// The pull URL without the key (for logs and errors).
    pub fn endpoint(&self) -> String {
        format!("{}{}", self.cfg.base_url.trim_end_matches('/'), PULL_PATH)
    }

    /// Pulls one window (at most [`MAX_WINDOW`] long; longer windows are sent
    /// as asked and IndiaMART answers 400).
    pub async fn pull(&self, window: Window) -> Result<Verdict, PullError> {
        let (start, end) = window.request_times();
        let key = self.cfg.key.expose_secret();
        let resp = self
            .http
            .get(self.endpoint())
            .query(&[
                ("glusr_crm_key", key),
                ("start_time", start.as_str()),
                ("end_time", end.as_str()),
            ])
            .send()
            .await
            .map_err(|e| {
                let connect = e.is_connect() || e.is_builder();
                let text = redact(&error_chain(&e.without_url()), key);
                if connect {
                    PullError::Connect(text)
                } else {
                    PullError::Transport(text)
                }
            })?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| PullError::Transport(redact(&error_chain(&e.without_url()), key)))?;
        parse_pull_response(status, &body)
    }
}

/// Replaces every occurrence of `secret` in `text` with `[redacted]`.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "[redacted]")
}

pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagada_core::{Currency, Money};

    const SUCCESS: &str = include_str!("../../../contracts/indiamart/pull_v2_success.json");
    const NO_LEADS: &str = include_str!("../../../contracts/indiamart/pull_v2_no_leads_204.json");
    const RATE_LIMITED: &str =
        include_str!("../../../contracts/indiamart/pull_v2_rate_limited_429.json");
    const INVALID_KEY: &str =
        include_str!("../../../contracts/indiamart/pull_v2_invalid_key_401.json");
    const BAD_REQUEST: &str =
        include_str!("../../../contracts/indiamart/pull_v2_bad_request_400.json");
    const PUSH: &str = include_str!("../../../contracts/indiamart/push_payload.json");
    const PUSH_ACK_SAMPLE: &str =
        include_str!("../../../contracts/indiamart/push_ack_response.json");
    const V1_SUCCESS: &str =
        include_str!("../../../contracts/indiamart/pull_v1_legacy_success.json");
    const V1_ERROR: &str = include_str!("../../../contracts/indiamart/pull_v1_legacy_error.json");

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn inr(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("INR").unwrap())
    }

    #[test]
    fn request_times_are_ist_without_separator() {
        assert_eq!(
            format_request_time(ts("2024-01-03T08:38:55Z")),
            "03-Jan-202414:08:55"
        );
        // Crossing midnight in IST while still the previous day in UTC.
        assert_eq!(
            format_request_time(ts("2023-12-31T18:30:00Z")),
            "01-Jan-202400:00:00"
        );
        assert_eq!(
            format_request_time(ts("2024-09-09T03:04:05Z")),
            "09-Sep-202408:34:05"
        );
        let w = Window {
            start: ts("2024-01-01T00:00:00Z"),
            end: ts("2024-01-07T23:59:59Z"),
        };
        assert_eq!(
            w.request_times(),
            (
                "01-Jan-202405:30:00".to_string(),
                "08-Jan-202405:29:59".to_string()
            )
        );
        assert_eq!(
            parse_request_time("03-Jan-202414:08:55"),
            Some(ts("2024-01-03T08:38:55Z"))
        );
    }

    #[test]
    fn windows_are_at_most_seven_days() {
        let start = ts("2024-01-01T00:00:00Z");
        let end = ts("2024-01-20T12:00:00Z");
        let windows = split_windows(start, end);
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0].start, start);
        assert_eq!(windows[0].end, ts("2024-01-08T00:00:00Z"));
        assert_eq!(windows[1].start, windows[0].end);
        assert_eq!(windows[2].end, end);
        assert!(
            windows
                .iter()
                .all(|w| w.end.duration_since(w.start) <= MAX_WINDOW)
        );
        assert_eq!(split_windows(start, start), vec![]);
        assert_eq!(split_windows(end, start), vec![]);
        assert_eq!(
            split_windows(start, ts("2024-01-08T00:00:00Z")),
            vec![Window {
                start,
                end: ts("2024-01-08T00:00:00Z")
            }]
        );
    }

    #[test]
    fn success_sample() {
        let Verdict::Leads {
            leads,
            total_records,
        } = parse_pull_response(200, SUCCESS.as_bytes()).unwrap()
        else {
            panic!("expected leads");
        };
        assert_eq!(total_records, Some(3));
        assert_eq!(leads.len(), 3);

        let w = &leads[0];
        assert_eq!(w.unique_query_id.as_deref(), Some("2900000001"));
        assert_eq!(w.query_type, Some(QueryType::Direct));
        assert_eq!(w.query_time, Some(ts("2024-01-03T08:38:55Z")));
        assert_eq!(w.sender_name.as_deref(), Some("Test Buyer One"));
        assert_eq!(w.mobile().unwrap().as_str(), "+919000000001");
        assert_eq!(w.sender_email.as_deref(), Some("buyer.one@example.com"));
        assert_eq!(w.sender_company.as_deref(), Some("Example Traders"));
        assert_eq!(
            w.sender_address.as_deref(),
            Some("12, Example Road, Pune, Maharashtra, 411001")
        );
        assert_eq!(w.sender_pincode.as_deref(), Some("411001"));
        assert_eq!(w.country(), Some(CountryCode::india()));
        assert_eq!(w.sender_mobile_alt, None);
        assert_eq!(w.sender_email_alt, None);
        assert_eq!(
            w.product_name.as_deref(),
            Some("1 hp Test Submersible Pump")
        );
        assert_eq!(w.mcat_name.as_deref(), Some("Submersible Pump"));
        assert_eq!(w.call_duration_secs, None);
        assert_eq!(w.receiver_mobile, None);
        assert_eq!(
            w.message.as_deref(),
            Some(
                "I want to buy 1 hp Test Submersible Pump.\n\nKindly send me price and other details.\n\
                 Quantity :   2\nQuantity Unit :   piece\nProbable Order Value :   Rs. 10,000 to 20,000\n\
                 Probable Requirement Type :   Business Use\nPreferred Location: Suppliers from Local Area will be Preferred"
            )
        );
        assert_eq!(
            w.quantity,
            Some(Quantity {
                amount: "2".into(),
                unit: Some("piece".into())
            })
        );
        let value = w.order_value.as_ref().unwrap();
        assert_eq!(value.min, Some(inr(10_000_00)));
        assert_eq!(value.max, Some(inr(20_000_00)));
        assert_eq!(value.text, "Rs. 10,000 to 20,000");
        assert_eq!(w.requirement_type.as_deref(), Some("Business Use"));
        assert_eq!(w.raw["SENDER_MOBILE"], "+91-9000000001");

        let p = &leads[1];
        assert_eq!(p.unique_query_id.as_deref(), Some("150000002"));
        assert_eq!(p.query_type, Some(QueryType::Call));
        assert_eq!(p.subject.as_deref(), Some("Buyer Call"));
        assert_eq!(p.query_time, Some(ts("2024-01-01T15:06:42Z")));
        assert_eq!(p.sender_email, None);
        assert_eq!(p.message, None);
        assert_eq!(p.product_name, None);
        assert_eq!(p.call_duration_secs, Some(105));
        assert_eq!(p.receiver_mobile.as_deref(), Some("8000000000"));
        assert_eq!(p.quantity, None);
        assert_eq!(p.order_value, None);

        let b = &leads[2];
        assert_eq!(b.query_type, Some(QueryType::BuyLead));
        assert_eq!(b.sender_company, None);
        assert_eq!(b.mobile_alt().unwrap().as_str(), "+919000000033");
        assert_eq!(
            b.sender_email_alt.as_deref(),
            Some("buyer.three.alt@example.com")
        );
        assert_eq!(
            b.message.as_deref(),
            Some("I am interested in Test Solar Module")
        );
        assert!(b.details.is_empty());
    }

    #[test]
    fn error_samples() {
        let v = parse_pull_response(200, NO_LEADS.as_bytes()).unwrap();
        assert!(
            matches!(&v, Verdict::NoLeads { message } if message.starts_with("There are no leads"))
        );
        assert_eq!(v.next_step(), NextStep::Advance);

        let v = parse_pull_response(200, RATE_LIMITED.as_bytes()).unwrap();
        assert!(matches!(&v, Verdict::RateLimited { message } if message.contains("5 minutes")));
        assert_eq!(
            v.next_step(),
            NextStep::RetryAfter(Duration::from_secs(900))
        );

        let v = parse_pull_response(200, INVALID_KEY.as_bytes()).unwrap();
        assert!(matches!(v, Verdict::InvalidKey { .. }));
        assert_eq!(v.next_step(), NextStep::Stop);

        let v = parse_pull_response(200, BAD_REQUEST.as_bytes()).unwrap();
        assert!(matches!(v, Verdict::BadRequest { .. }));
        assert_eq!(v.next_step(), NextStep::Skip);
    }

    #[test]
    fn verdict_comes_from_the_body_code_not_the_http_status() {
        // A 429 body under HTTP 200, and a 200 body under a 4xx status.
        assert!(matches!(
            parse_pull_response(200, RATE_LIMITED.as_bytes()).unwrap(),
            Verdict::RateLimited { .. }
        ));
        assert!(matches!(
            parse_pull_response(429, NO_LEADS.as_bytes()).unwrap(),
            Verdict::NoLeads { .. }
        ));
        // CODE as a string.
        let v = parse_pull_response(200, br#"{"CODE":"401","MESSAGE":"x"}"#).unwrap();
        assert!(matches!(v, Verdict::InvalidKey { .. }));
        let v = parse_pull_response(200, br#"{"CODE":500,"STATUS":"FAILURE","MESSAGE":"oops"}"#)
            .unwrap();
        assert!(matches!(
            v,
            Verdict::ServerError {
                http_status: 200,
                ..
            }
        ));
        let v = parse_pull_response(200, br#"{"CODE":418,"MESSAGE":"teapot"}"#).unwrap();
        assert!(matches!(v, Verdict::Unexpected { code: 418, .. }));
    }

    #[test]
    fn unreadable_bodies() {
        let err = parse_pull_response(200, b"{\"CODE\":200,\"RESPONSE\":[{").unwrap_err();
        match err {
            PullError::Malformed {
                http_status, body, ..
            } => {
                assert_eq!(http_status, 200);
                assert_eq!(body, "{\"CODE\":200,\"RESPONSE\":[{");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_pull_response(502, b"<html>Bad Gateway</html>").unwrap(),
            Verdict::ServerError {
                http_status: 502,
                ..
            }
        ));
        // The legacy v1 answers are bare arrays: not the v2 envelope.
        assert!(matches!(
            parse_pull_response(200, V1_SUCCESS.as_bytes()),
            Err(PullError::Malformed { .. })
        ));
        assert!(matches!(
            parse_pull_response(200, V1_ERROR.as_bytes()),
            Err(PullError::Malformed { .. })
        ));
    }

    #[test]
    fn push_sample_and_ack() {
        let leads = parse_push(PUSH.as_bytes()).unwrap();
        assert_eq!(leads.len(), 1);
        let l = &leads[0];
        assert_eq!(l.unique_query_id.as_deref(), Some("2900000004"));
        assert_eq!(l.query_type, Some(QueryType::Direct));
        assert_eq!(l.query_time, Some(ts("2024-01-04T04:45:30Z")));
        assert_eq!(l.mobile().unwrap().as_str(), "+919000000004");
        assert_eq!(l.sender_city.as_deref(), Some("Hyderabad"));
        assert_eq!(
            l.sender_address.as_deref(),
            Some("Example Colony, Hyderabad, Telangana, 500001")
        );
        assert_eq!(
            l.message.as_deref(),
            Some("I want to buy Test Proximity Sensor.\nQuantity :   6\nQuantity Unit :   piece")
        );
        assert_eq!(
            l.quantity,
            Some(Quantity {
                amount: "6".into(),
                unit: Some("piece".into())
            })
        );
        assert_eq!(l.order_value, None);

        let ack: Value = serde_json::from_str(PUSH_ACK).unwrap();
        let sample: Value = serde_json::from_str(PUSH_ACK_SAMPLE).unwrap();
        assert_eq!(ack, sample);

        assert_eq!(parse_push(b"{\"CODE\":200}"), Err(PushError::NoLead));
        assert!(matches!(parse_push(b"nope"), Err(PushError::NotJson(_))));
        let bare = parse_push(br#"{"UNIQUE_QUERY_ID":"1","QUERY_TYPE":"B"}"#).unwrap();
        assert_eq!(bare[0].query_type, Some(QueryType::BuyLead));
    }

    #[test]
    fn config_debug_hides_the_key() {
        let cfg = PullConfig::new(SecretString::from("mRsecretKEY123"));
        assert!(!format!("{cfg:?}").contains("mRsecretKEY123"));
        let client = PullClient::new(cfg).unwrap();
        assert!(!format!("{client:?}").contains("mRsecretKEY123"));
        assert_eq!(
            redact("x?glusr_crm_key=mRsecretKEY123&y", "mRsecretKEY123"),
            "x?glusr_crm_key=[redacted]&y"
        );
    }
}
