//! TradeIndia `my_inquiry` API: the inquiries a seller received.
//!
//! `GET {base_url}/utils/my_inquiry.html?userid=U&profile_id=P&key=K&from_date=YYYY-MM-DD&to_date=YYYY-MM-DD&limit=N&page_no=M`
//! answers a bare JSON array of inquiries (`[]`, or an empty body, when
//! there are none). TradeIndia's documentation is behind the seller login;
//! what this module relies on is observed in public integrations, and it
//! reads the uncertain parts defensively:
//!
//! * paging by `limit` and `page_no` (from 1): pages are fetched until one
//!   is shorter than `limit`, or brings no inquiry not already seen (a server
//!   that ignores paging cannot loop us), or [`MAX_PAGES`] is reached;
//! * HTTP 403 with `{"success":false,...}` (or the bare JSON string
//!   `"Sorry! You are not authorized to view this."`) is rejected
//!   credentials; HTTP 429 with `{"status":"error","message":"Sorry! Please
//!   provide all the required parameters."}` is a request missing
//!   parameters (not a rate limit), other 429s are read as rate limits;
//! * `noreply@noreply.tradeindia.com` is a masked address: no e-mail;
//! * a phone inquiry may carry the buyer's number only inside `message`.
//!
//! The unique id of an inquiry is `rfi_id`. The key is a [`SecretString`].

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tagada_core::{CountryCode, Phone};

use crate::indiamart::{error_chain, redact};
use crate::lead_text::{
    Quantity, clean_message, is_masked_email, non_blank, parse_ist, phone_in_text,
};

/// TradeIndia's host.
pub const DEFAULT_BASE_URL: &str = "https://www.tradeindia.com";
/// Path of the inquiry endpoint.
pub const INQUIRY_PATH: &str = "/utils/my_inquiry.html";
/// Default page size asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Most pages fetched for one date range.
pub const MAX_PAGES: u32 = 1_000;

/// One inquiry, every field optional (blank reads as `None`), with its raw
/// JSON. The unique id is [`Inquiry::rfi_id`].
#[derive(Debug, Clone, PartialEq)]
pub struct Inquiry {
    pub rfi_id: Option<String>,
    pub sender_uid: Option<String>,
    pub sender_name: Option<String>,
    pub sender_co: Option<String>,
    /// `sender_mobile` as written.
    pub sender_mobile: Option<String>,
    pub sender_other_mobiles: Option<String>,
    /// `sender_email`, `None` when masked (`noreply@noreply.tradeindia.com`).
    pub sender_email: Option<String>,
    pub sender_other_emails: Option<String>,
    pub landline_number: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub sender_city: Option<String>,
    pub sender_state: Option<String>,
    /// A country name as written (`India`).
    pub sender_country: Option<String>,
    pub receiver_uid: Option<String>,
    pub receiver_mobile: Option<String>,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub subject: Option<String>,
    /// `message` cleaned (line breaks unified, HTML entities decoded).
    pub message: Option<String>,
    /// `quantity` as written (`500 Kg`) and read.
    pub quantity_text: Option<String>,
    pub quantity: Option<Quantity>,
    pub order_value_min: Option<String>,
    pub inquiry_type: Option<String>,
    /// `PHONE_INQUIRY` for a call.
    pub source: Option<String>,
    /// When the inquiry was made: `generated` (epoch seconds), else
    /// `generated_date` + `generated_time` read in IST.
    pub generated_at: Option<Timestamp>,
    /// The buyer's mobile in E.164: `sender_mobile`, else
    /// `sender_other_mobiles`, else the first number inside `message`.
    pub mobile: Option<Phone>,
    /// The inquiry object exactly as received.
    pub raw: Value,
}

fn field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) => non_blank(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Inquiry {
    /// Reads one inquiry object (anything else gives an empty inquiry with
    /// the value kept in `raw`).
    pub fn from_json(raw: Value) -> Inquiry {
        let empty = Map::new();
        let obj = raw.as_object().unwrap_or(&empty);
        let f = |name: &str| field(obj, name);
        let sender_country = f("sender_country");
        let region = sender_country
            .as_deref()
            .and_then(|c| CountryCode::parse(c).ok())
            .unwrap_or_else(CountryCode::india);
        let message = f("message").and_then(|m| clean_message(&m));
        let sender_mobile = f("sender_mobile");
        let sender_other_mobiles = f("sender_other_mobiles");
        let mobile = sender_mobile
            .as_deref()
            .and_then(|m| Phone::parse(m, &region).ok())
            .or_else(|| {
                sender_other_mobiles
                    .as_deref()
                    .and_then(|m| phone_in_text(m, &region))
            })
            .or_else(|| message.as_deref().and_then(|m| phone_in_text(m, &region)));
        let generated_at = f("generated")
            .and_then(|g| g.parse::<i64>().ok())
            .and_then(|secs| Timestamp::from_second(secs).ok())
            .or_else(|| {
                let date = f("generated_date")?;
                let time = f("generated_time").unwrap_or_else(|| "00:00:00".into());
                parse_ist(&format!("{date} {time}"), "%d %B %Y %H:%M:%S")
            });
        let quantity_text = f("quantity");
        Inquiry {
            rfi_id: f("rfi_id"),
            sender_uid: f("sender_uid"),
            sender_name: f("sender_name"),
            sender_co: f("sender_co"),
            sender_mobile,
            sender_other_mobiles,
            sender_email: f("sender_email").filter(|e| !is_masked_email(e)),
            sender_other_emails: f("sender_other_emails").filter(|e| !is_masked_email(e)),
            landline_number: f("landline_number"),
            website: f("website"),
            address: f("address"),
            sender_city: f("sender_city"),
            sender_state: f("sender_state"),
            sender_country,
            receiver_uid: f("receiver_uid"),
            receiver_mobile: f("receiver_mobile"),
            product_id: f("product_id"),
            product_name: f("product_name"),
            subject: f("subject"),
            message,
            quantity: quantity_text
                .as_deref()
                .and_then(|q| Quantity::parse(q, None)),
            quantity_text,
            order_value_min: f("order_value_min"),
            inquiry_type: f("inquiry_type"),
            source: f("source"),
            generated_at,
            mobile,
            raw,
        }
    }

    /// Whether TradeIndia marks this as a phone inquiry.
    pub fn is_phone_inquiry(&self) -> bool {
        self.source.as_deref() == Some("PHONE_INQUIRY")
    }
}

/// What one `my_inquiry` answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The inquiries of the page (possibly none).
    Inquiries(Vec<Inquiry>),
    /// HTTP 403, `{"success":false}` or "not authorized": the user id,
    /// profile id or key is wrong. Stop; a person must fix the credentials.
    Rejected { http_status: u16, message: String },
    /// HTTP 429 "provide all the required parameters": the request is
    /// missing a parameter. A bug on our side; do not retry as is.
    MissingParameters { message: String },
    /// Another HTTP 429: read as a rate limit; retry later.
    RateLimited { message: String },
    /// HTTP 5xx: retry later.
    ServerError { http_status: u16, message: String },
    /// Any other answer we cannot place; retry later and look.
    Unexpected { http_status: u16, message: String },
}

/// A request that produced no verdict.
#[derive(Debug, thiserror::Error)]
pub enum InquiryError {
    #[error("TradeIndia request could not be sent: {0}")]
    Connect(String),
    #[error("TradeIndia request got no complete answer: {0}")]
    Transport(String),
    /// A success status with a body that is not a JSON array of inquiries.
    #[error("TradeIndia answered HTTP {http_status} with an unreadable body: {reason}")]
    Malformed {
        http_status: u16,
        reason: String,
        /// The body as received (lossy UTF-8).
        body: String,
    },
}

/// Reads one `my_inquiry` answer.
pub fn parse_inquiry_response(http_status: u16, body: &[u8]) -> Result<Verdict, InquiryError> {
    let text = String::from_utf8_lossy(body);
    let value: Option<Value> = if text.trim().is_empty() {
        None
    } else {
        serde_json::from_str(&text).ok()
    };
    let message = value
        .as_ref()
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            other => other
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    let not_authorized = matches!(&value, Some(Value::String(s)) if s.to_ascii_lowercase().contains("not authorized"))
        || matches!(&value, Some(v) if v.get("success") == Some(&Value::Bool(false)));
    match http_status {
        403 | 401 => {
            return Ok(Verdict::Rejected {
                http_status,
                message,
            });
        }
        429 => {
            return Ok(
                if message.to_ascii_lowercase().contains("required parameters") {
                    Verdict::MissingParameters { message }
                } else {
                    Verdict::RateLimited { message }
                },
            );
        }
        500..=599 => {
            return Ok(Verdict::ServerError {
                http_status,
                message,
            });
        }
        200..=299 => {}
        _ => {
            return Ok(Verdict::Unexpected {
                http_status,
                message,
            });
        }
    }
    if not_authorized {
        return Ok(Verdict::Rejected {
            http_status,
            message,
        });
    }
    match value {
        None if text.trim().is_empty() => Ok(Verdict::Inquiries(Vec::new())),
        Some(Value::Null) => Ok(Verdict::Inquiries(Vec::new())),
        Some(Value::Array(items)) => Ok(Verdict::Inquiries(
            items.into_iter().map(Inquiry::from_json).collect(),
        )),
        Some(v) if v.get("status").and_then(Value::as_str) == Some("error") => {
            Ok(Verdict::Unexpected {
                http_status,
                message,
            })
        }
        _ => Err(InquiryError::Malformed {
            http_status,
            reason: "not a JSON array of inquiries".into(),
            body: text.into_owned(),
        }),
    }
}

/// Credentials and host of the TradeIndia client.
#[derive(Clone)]
pub struct InquiryConfig {
    /// [`DEFAULT_BASE_URL`], or a fake's / proxy's address.
    pub base_url: String,
    pub user_id: String,
    pub profile_id: String,
    pub key: SecretString,
    /// `limit` per page.
    pub page_size: u32,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for InquiryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InquiryConfig")
            .field("base_url", &self.base_url)
            .field("user_id", &self.user_id)
            .field("profile_id", &self.profile_id)
            .field("key", &"[redacted]")
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl InquiryConfig {
    pub fn new(
        base_url: impl Into<String>,
        user_id: impl Into<String>,
        profile_id: impl Into<String>,
        key: SecretString,
    ) -> InquiryConfig {
        InquiryConfig {
            base_url: base_url.into(),
            user_id: user_id.into(),
            profile_id: profile_id.into(),
            key,
            page_size: DEFAULT_PAGE_SIZE,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}

/// The outcome of fetching a whole date range.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeResult {
    /// Every inquiry, de-duplicated by `rfi_id` (first seen wins; inquiries
    /// without `rfi_id` are all kept).
    pub inquiries: Vec<Inquiry>,
    /// Pages requested.
    pub pages: u32,
    /// The verdict that stopped paging early, if any (inquiries of earlier
    /// pages are still returned).
    pub stopped_by: Option<Verdict>,
}

/// The TradeIndia client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct InquiryClient {
    http: reqwest::Client,
    cfg: InquiryConfig,
}

impl InquiryClient {
    pub fn new(cfg: InquiryConfig) -> Result<InquiryClient, InquiryError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .user_agent(concat!("tagada/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| InquiryError::Connect(format!("building the HTTP client: {e}")))?;
        Ok(InquiryClient { http, cfg })
    }

    pub fn config(&self) -> &InquiryConfig {
        &self.cfg
    }

    /// One page (`page_no` from 1) of the inquiries made from `from` to `to`
    /// (civil dates, both included).
    pub async fn fetch_page(
        &self,
        from: Date,
        to: Date,
        page_no: u32,
    ) -> Result<Verdict, InquiryError> {
        let key = self.cfg.key.expose_secret();
        let url = format!(
            "{}{}",
            self.cfg.base_url.trim_end_matches('/'),
            INQUIRY_PATH
        );
        let resp = self
            .http
            .get(url)
            .query(&[
                ("userid", self.cfg.user_id.as_str()),
                ("profile_id", self.cfg.profile_id.as_str()),
                ("key", key),
                ("from_date", &from.strftime("%Y-%m-%d").to_string()),
                ("to_date", &to.strftime("%Y-%m-%d").to_string()),
                ("limit", &self.cfg.page_size.to_string()),
                ("page_no", &page_no.to_string()),
            ])
            .send()
            .await
            .map_err(|e| {
                let connect = e.is_connect() || e.is_builder();
                let text = redact(&error_chain(&e.without_url()), key);
                if connect {
                    InquiryError::Connect(text)
                } else {
                    InquiryError::Transport(text)
                }
            })?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| InquiryError::Transport(redact(&error_chain(&e.without_url()), key)))?;
        parse_inquiry_response(status, &body).map_err(|e| match e {
            InquiryError::Malformed {
                http_status,
                reason,
                body,
            } => InquiryError::Malformed {
                http_status,
                reason,
                body: redact(&body, key),
            },
            other => other,
        })
    }

    /// Every page of `from..=to` (see the module docs for when paging stops).
    pub async fn fetch_range(&self, from: Date, to: Date) -> Result<RangeResult, InquiryError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = RangeResult {
            inquiries: Vec::new(),
            pages: 0,
            stopped_by: None,
        };
        for page_no in 1..=MAX_PAGES {
            out.pages = page_no;
            let page = match self.fetch_page(from, to, page_no).await? {
                Verdict::Inquiries(page) => page,
                other => {
                    out.stopped_by = Some(other);
                    return Ok(out);
                }
            };
            let full = u32::try_from(page.len()).unwrap_or(u32::MAX) >= self.cfg.page_size;
            let mut new = 0usize;
            for inquiry in page {
                let fresh = inquiry
                    .rfi_id
                    .as_ref()
                    .is_none_or(|id| seen.insert(id.clone()));
                if fresh {
                    new += 1;
                    out.inquiries.push(inquiry);
                }
            }
            if !full || new == 0 {
                return Ok(out);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS: &str = include_str!("../../../contracts/tradeindia/my_inquiry_success.json");
    const EMPTY: &str = include_str!("../../../contracts/tradeindia/my_inquiry_empty.json");
    const MISSING: &str =
        include_str!("../../../contracts/tradeindia/error_missing_params_429.json");
    const REJECTED: &str =
        include_str!("../../../contracts/tradeindia/error_rejected_credentials_403.json");

    #[test]
    fn success_sample() {
        let Verdict::Inquiries(list) = parse_inquiry_response(200, SUCCESS.as_bytes()).unwrap()
        else {
            panic!("expected inquiries")
        };
        assert_eq!(list.len(), 2);
        let a = &list[0];
        assert_eq!(a.rfi_id.as_deref(), Some("9100000001"));
        assert_eq!(a.sender_name.as_deref(), Some("Test Ti Buyer"));
        assert_eq!(a.sender_co.as_deref(), Some("Example Polymers Pvt Ltd"));
        assert_eq!(a.mobile.as_ref().unwrap().as_str(), "+919100000001");
        assert_eq!(a.sender_email.as_deref(), Some("ti.buyer@example.com"));
        assert_eq!(a.sender_city.as_deref(), Some("Ahmedabad"));
        assert_eq!(a.sender_country.as_deref(), Some("India"));
        assert_eq!(a.product_name.as_deref(), Some("Test HDPE Granules"));
        assert_eq!(a.quantity_text.as_deref(), Some("500 Kg"));
        assert_eq!(
            a.quantity,
            Some(Quantity {
                amount: "500".into(),
                unit: Some("Kg".into())
            })
        );
        assert_eq!(a.order_value_min, None);
        assert_eq!(
            a.generated_at,
            Some("2024-09-27T15:30:13Z".parse().unwrap())
        );
        assert!(
            a.message.as_deref().unwrap().starts_with(
                "Hi, I am interested in Test HDPE Granules. Please send price.\n-----"
            )
        );
        assert!(!a.message.as_deref().unwrap().contains('\r'));
        assert!(!a.is_phone_inquiry());
        assert_eq!(a.raw["member_since"], "2019");

        let b = &list[1];
        assert_eq!(b.rfi_id.as_deref(), Some("9100000002"));
        assert_eq!(
            b.sender_email, None,
            "the masked noreply address is no e-mail"
        );
        assert_eq!(b.sender_mobile, None);
        assert_eq!(b.mobile.as_ref().unwrap().as_str(), "+919100000002");
        assert!(b.is_phone_inquiry());
        assert_eq!(b.quantity, None);
        assert_eq!(
            b.generated_at,
            Some("2024-09-27T16:30:13Z".parse().unwrap())
        );
    }

    #[test]
    fn generated_date_and_time_when_no_epoch() {
        let i = Inquiry::from_json(serde_json::json!({
            "rfi_id": "1", "generated": "", "generated_date": "27 September 2024", "generated_time": "21:00:13"
        }));
        assert_eq!(
            i.generated_at,
            Some("2024-09-27T15:30:13Z".parse().unwrap())
        );
    }

    #[test]
    fn empty_answers() {
        assert_eq!(
            parse_inquiry_response(200, EMPTY.as_bytes()).unwrap(),
            Verdict::Inquiries(vec![])
        );
        assert_eq!(
            parse_inquiry_response(200, b"").unwrap(),
            Verdict::Inquiries(vec![])
        );
        assert_eq!(
            parse_inquiry_response(200, b"  \n").unwrap(),
            Verdict::Inquiries(vec![])
        );
        assert_eq!(
            parse_inquiry_response(200, b"null").unwrap(),
            Verdict::Inquiries(vec![])
        );
    }

    #[test]
    fn error_samples() {
        assert_eq!(
            parse_inquiry_response(429, MISSING.as_bytes()).unwrap(),
            Verdict::MissingParameters {
                message: "Sorry! Please provide all the required parameters.".into()
            }
        );
        assert!(matches!(
            parse_inquiry_response(403, REJECTED.as_bytes()).unwrap(),
            Verdict::Rejected { http_status: 403, message } if message.contains("maintenance")
        ));
        // The same rejection under a 200, and the bare-string refusal.
        assert!(matches!(
            parse_inquiry_response(200, REJECTED.as_bytes()).unwrap(),
            Verdict::Rejected { .. }
        ));
        assert!(matches!(
            parse_inquiry_response(200, b"\"Sorry! You are not authorized to view this.\"")
                .unwrap(),
            Verdict::Rejected { .. }
        ));
        assert!(matches!(
            parse_inquiry_response(429, b"Too many requests").unwrap(),
            Verdict::RateLimited { .. }
        ));
        assert!(matches!(
            parse_inquiry_response(503, b"<html>").unwrap(),
            Verdict::ServerError {
                http_status: 503,
                ..
            }
        ));
        assert!(matches!(
            parse_inquiry_response(200, b"[{\"rfi_id\":"),
            Err(InquiryError::Malformed { .. })
        ));
    }

    #[test]
    fn config_debug_hides_the_key() {
        let cfg = InquiryConfig::new("http://x", "1", "2", SecretString::from("ti-secret-key"));
        assert!(!format!("{cfg:?}").contains("ti-secret-key"));
    }
}
