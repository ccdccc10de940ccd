//! A loopback fake of TradeIndia's `my_inquiry` endpoint.
//!
//! [`TradeIndiaFake::start`] serves `GET /utils/my_inquiry.html` with
//! `userid`, `profile_id`, `key`, `from_date`, `to_date` (`YYYY-MM-DD`,
//! IST days, both included), optional `limit` and `page_no` (from 1):
//!
//! * a missing parameter or an unreadable date: HTTP 429
//!   `{"status":"error","message":"Sorry! Please provide all the required parameters."}`;
//! * wrong credentials: HTTP 403
//!   `{"success":false,"message":"Sorry! Our service is currently undergoing maintenance..."}`;
//! * otherwise a bare JSON array of the inquiries generated in the range,
//!   oldest first, one page of `limit` (all when no `limit`), `[]` when none.
//!
//! Which parameters TradeIndia really requires, and how it pages, are
//! observed in public integrations, not documented; the fake follows those
//! observations. [`TiFault`]s script 5xx, malformed JSON, empty bodies, slow
//! answers and refusals. [`TradeIndiaFakeConfig::ignore_paging`] makes the
//! fake answer the whole range on every page (a server ignoring `page_no`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::marketplace::{BuyerGen, FakeClock, Server, ist};

/// Path of the inquiry endpoint.
pub const INQUIRY_PATH: &str = "/utils/my_inquiry.html";
/// The body of the missing-parameters answer (HTTP 429).
pub const MISSING_PARAMS_MESSAGE: &str = "Sorry! Please provide all the required parameters.";
/// The body message of the rejected-credentials answer (HTTP 403).
pub const REJECTED_MESSAGE: &str = "Sorry! Our service is currently undergoing maintenance...";

/// Configuration of a [`TradeIndiaFake`].
#[derive(Clone)]
pub struct TradeIndiaFakeConfig {
    pub bind: Option<SocketAddr>,
    pub user_id: String,
    pub profile_id: String,
    pub key: String,
    pub seed: u64,
    /// How many inquiries to generate.
    pub inquiries: usize,
    pub inquiries_from: Timestamp,
    pub inquiries_to: Timestamp,
    pub clock: FakeClock,
    /// Answer every page with the whole range.
    pub ignore_paging: bool,
}

impl Default for TradeIndiaFakeConfig {
    fn default() -> Self {
        let to: Timestamp = "2024-10-01T00:00:00Z".parse().expect("valid instant");
        TradeIndiaFakeConfig {
            bind: None,
            user_id: "70000999".into(),
            profile_id: "80000999".into(),
            key: "fake-tradeindia-key".into(),
            seed: 11,
            inquiries: 40,
            inquiries_from: to - SignedDuration::from_hours(10 * 24),
            inquiries_to: to,
            clock: FakeClock::Frozen(to),
            ignore_paging: false,
        }
    }
}

impl std::fmt::Debug for TradeIndiaFakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradeIndiaFakeConfig")
            .field("bind", &self.bind)
            .field("user_id", &self.user_id)
            .field("profile_id", &self.profile_id)
            .field("key", &"***")
            .field("seed", &self.seed)
            .field("inquiries", &self.inquiries)
            .field("clock", &self.clock)
            .field("ignore_paging", &self.ignore_paging)
            .finish_non_exhaustive()
    }
}

/// A scripted answer to one coming request.
#[derive(Debug, Clone, PartialEq)]
pub enum TiFault {
    /// HTTP 500 with an HTML page.
    ServerError,
    /// HTTP 200 with a truncated JSON array.
    MalformedJson,
    /// HTTP 200 with an empty body.
    EmptyBody,
    /// HTTP 403 rejected credentials whatever was sent.
    Rejected,
    /// HTTP 429 with a plain-text body (a rate limit, not missing params).
    RateLimited,
    /// Wait, then answer normally.
    Slow(Duration),
}

/// An inquiry the fake holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeInquiry {
    pub rfi_id: String,
    pub generated_at: Timestamp,
    /// Whether the buyer's e-mail is masked and the mobile only in `message`.
    pub phone_inquiry: bool,
    pub json: Value,
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq)]
pub struct InquiryCall {
    pub at: Timestamp,
    pub credentials_ok: bool,
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub limit: Option<u32>,
    pub page_no: Option<u32>,
    pub http_status: u16,
    /// Inquiries in the answer.
    pub returned: usize,
}

struct TiState {
    inquiries: Vec<FakeInquiry>,
    calls: Vec<InquiryCall>,
    faults: VecDeque<TiFault>,
    clock: FakeClock,
}

struct Shared {
    cfg: TradeIndiaFakeConfig,
    state: Mutex<TiState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, TiState> {
        self.state.lock().expect("tradeindia fake mutex poisoned")
    }
}

/// A running TradeIndia fake.
pub struct TradeIndiaFake {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for TradeIndiaFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradeIndiaFake")
            .field("addr", &self.server.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

impl TradeIndiaFake {
    pub async fn start(cfg: TradeIndiaFakeConfig) -> std::io::Result<TradeIndiaFake> {
        let inquiries = generate_inquiries(
            cfg.seed,
            cfg.inquiries,
            cfg.inquiries_from,
            cfg.inquiries_to,
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(TiState {
                inquiries,
                calls: Vec::new(),
                faults: VecDeque::new(),
                clock: cfg.clock,
            }),
            cfg: cfg.clone(),
        });
        let router = Router::new()
            .route(INQUIRY_PATH, get(my_inquiry))
            .with_state(shared.clone());
        let server = Server::start(cfg.bind, router).await?;
        Ok(TradeIndiaFake { shared, server })
    }

    /// `http://127.0.0.1:PORT`; the client appends [`INQUIRY_PATH`].
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &TradeIndiaFakeConfig {
        &self.shared.cfg
    }

    /// Every inquiry the fake holds, oldest first.
    pub fn inquiries(&self) -> Vec<FakeInquiry> {
        self.shared.lock().inquiries.clone()
    }

    /// Every request answered, in order.
    pub fn calls(&self) -> Vec<InquiryCall> {
        self.shared.lock().calls.clone()
    }

    pub fn call_count(&self) -> usize {
        self.shared.lock().calls.len()
    }

    /// Queue faults for the next requests, one per request.
    pub fn script(&self, faults: impl IntoIterator<Item = TiFault>) {
        self.shared.lock().faults.extend(faults);
    }

    pub fn set_clock(&self, at: Timestamp) {
        self.shared.lock().clock = FakeClock::Frozen(at);
    }

    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().clock.advance(by);
    }

    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

async fn my_inquiry(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let fault = shared.lock().faults.pop_front();
    if let Some(TiFault::Slow(d)) = &fault {
        tokio::time::sleep(*d).await;
    }
    let cfg = &shared.cfg;
    let mut st = shared.lock();
    let credentials_ok = q.get("userid") == Some(&cfg.user_id)
        && q.get("profile_id") == Some(&cfg.profile_id)
        && q.get("key") == Some(&cfg.key);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<u32>().ok())
        .filter(|l| *l > 0);
    let page_no = q.get("page_no").and_then(|p| p.parse::<u32>().ok());
    let mut call = InquiryCall {
        at: st.clock.now(),
        credentials_ok,
        from_date: q.get("from_date").cloned(),
        to_date: q.get("to_date").cloned(),
        limit,
        page_no,
        http_status: 200,
        returned: 0,
    };
    let (status, content_type, body): (u16, &str, String) = match fault {
        Some(TiFault::ServerError) => (
            500,
            "text/html",
            "<html><body>Internal Server Error</body></html>".into(),
        ),
        Some(TiFault::MalformedJson) => (200, "application/json", "[{\"rfi_id\":\"9100".into()),
        Some(TiFault::EmptyBody) => (200, "text/html", String::new()),
        Some(TiFault::Rejected) => rejected(),
        Some(TiFault::RateLimited) => (429, "text/plain", "Too Many Requests".into()),
        Some(TiFault::Slow(_)) | None => {
            let required = ["userid", "profile_id", "key", "from_date", "to_date"];
            let day = |name: &str| q.get(name).and_then(|d| d.trim().parse::<Date>().ok());
            if required
                .iter()
                .any(|p| q.get(*p).is_none_or(|v| v.trim().is_empty()))
            {
                missing()
            } else if !credentials_ok {
                rejected()
            } else if let (Some(from), Some(to)) = (day("from_date"), day("to_date")) {
                let selected: Vec<&FakeInquiry> = st
                    .inquiries
                    .iter()
                    .filter(|i| {
                        let d = ist().to_datetime(i.generated_at).date();
                        d >= from && d <= to
                    })
                    .collect();
                let page: Vec<Value> = match limit {
                    Some(limit) if !cfg.ignore_paging => {
                        let page = page_no.unwrap_or(1).max(1) as usize;
                        selected
                            .iter()
                            .skip((page - 1) * limit as usize)
                            .take(limit as usize)
                            .map(|i| i.json.clone())
                            .collect()
                    }
                    _ => selected.iter().map(|i| i.json.clone()).collect(),
                };
                call.returned = page.len();
                (200, "text/html", Value::Array(page).to_string())
            } else {
                missing()
            }
        }
    };
    call.http_status = status;
    st.calls.push(call);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn missing() -> (u16, &'static str, String) {
    (
        429,
        "application/json",
        json!({"status": "error", "message": MISSING_PARAMS_MESSAGE}).to_string(),
    )
}

fn rejected() -> (u16, &'static str, String) {
    (
        403,
        "application/json",
        json!({"success": false, "message": REJECTED_MESSAGE}).to_string(),
    )
}

/// Generates `count` inquiries made between `from` and `to`, oldest first,
/// the same for the same seed. About one in five is a phone inquiry: masked
/// e-mail, no `sender_mobile`, the number only inside `message`.
pub fn generate_inquiries(
    seed: u64,
    count: usize,
    from: Timestamp,
    to: Timestamp,
) -> Vec<FakeInquiry> {
    use rand::RngExt;
    let mut g = BuyerGen::new(seed);
    let span = to.duration_since(from).as_secs().max(1);
    let mut out: Vec<FakeInquiry> = (0..count)
        .map(|n| {
            let at = from + SignedDuration::from_secs(g.rng.random_range(0..span));
            let buyer = g.buyer(n as u64);
            let product = g.product();
            let phone = g.chance(20);
            let local = ist().to_datetime(at);
            let rfi_id = format!("91{:08}", n + 1);
            let mobile_digits = buyer.mobile.replace('-', "");
            let (subject, message, email, mobile, source) = if phone {
                (
                    "Phone inquiry".to_string(),
                    format!("Buyer called you. Buyer mobile: {mobile_digits}"),
                    "noreply@noreply.tradeindia.com".to_string(),
                    String::new(),
                    "PHONE_INQUIRY",
                )
            } else {
                let qty: i64 = g.rng.random_range(1..1000);
                let mut message = format!(
                    "Hi, I am interested in {} &amp; related items. Please send price.\r\n-----------------------------------------------------------\nSender Details\nName: {}\r\nContact buyer with your best offer.\n",
                    product.name, buyer.name.trim()
                );
                // Some messages also state the quantity in the text.
                if qty % 3 == 0 {
                    message.push_str(&format!("Required quantity: {qty} {}\n", product.unit));
                }
                (
                    format!("Inquiry for {}", product.name),
                    message,
                    buyer.email.clone(),
                    buyer.mobile.clone(),
                    "INQUIRY",
                )
            };
            let json = json!({
                "rfi_id": rfi_id,
                "sender_uid": format!("70{:06}", n + 1),
                "sender_name": buyer.name,
                "sender_co": buyer.company,
                "sender_mobile": mobile,
                "sender_other_mobiles": "",
                "sender_email": email,
                "sender_other_emails": "",
                "landline_number": "",
                "fax_number": "",
                "website": "",
                "address": if buyer.pincode.is_empty() { String::new() } else { format!("Plot {}, Example Industrial Area", n + 1) },
                "sender_city": buyer.city,
                "sender_state": buyer.state,
                "sender_country": buyer.country_name,
                "member_since": "2019",
                "receiver_uid": "80000001",
                "receiver_name": "Seller Contact",
                "receiver_co": "Seller Company (Test)",
                "receiver_mobile": "9100009999",
                "product_id": if phone { String::new() } else { format!("50{:08}", n + 1) },
                "product_name": if phone { "" } else { product.name },
                "product_source": "",
                "subject": subject,
                "message": message,
                "quantity": if phone { String::new() } else { format!("{} {}", 1 + n % 500, product.unit) },
                "order_value_min": "",
                "pref_supp_location": "",
                "inquiry_type": "",
                "source": source,
                "generated": at.as_second().to_string(),
                "generated_date": local.strftime("%-d %B %Y").to_string(),
                "generated_time": local.strftime("%H:%M:%S").to_string(),
                "ago_time": "",
                "month_slot": "",
                "view_status": "",
                "responded": "",
                "unread_res_cnt": "0",
                "attachment_cnt": "0",
                "att_data": "",
                "sender": "",
            });
            FakeInquiry {
                rfi_id,
                generated_at: at,
                phone_inquiry: phone,
                json,
            }
        })
        .collect();
    out.sort_by_key(|i| i.generated_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_has_phone_inquiries() {
        let c = TradeIndiaFakeConfig::default();
        let a = generate_inquiries(c.seed, 60, c.inquiries_from, c.inquiries_to);
        assert_eq!(
            a,
            generate_inquiries(c.seed, 60, c.inquiries_from, c.inquiries_to)
        );
        assert!(a.iter().any(|i| i.phone_inquiry));
        assert!(a.iter().any(|i| !i.phone_inquiry));
        assert!(a.windows(2).all(|w| w[0].generated_at <= w[1].generated_at));
    }
}
