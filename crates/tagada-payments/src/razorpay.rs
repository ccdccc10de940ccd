//! Razorpay Payment Links: the API client ([`RazorpayClient`]: create,
//! fetch, cancel), the webhook signature check ([`verify_webhook`]) and the
//! webhook parser ([`parse_webhook`]).
//!
//! Facts come from Razorpay's public API docs (their Markdown export,
//! `razorpay/markdown-docs`: `api/payments/payment-links/*.md`,
//! `webhooks/payment-links.md`, `payments/international-payments.md`); the
//! samples the tests use are in `contracts/razorpay/` with their sources.
//! What the payloads are known to do, and what this module does about it:
//!
//! * `notes` comes as an object, `null`, `{}` or `[]` (an empty PHP array);
//!   `payments` as an array, `null` (no capture yet) or `{}`. All are read.
//! * A link's `status` is `created`, `partially_paid`, `paid`, `expired` or
//!   `cancelled`; anything else (the Go SDK's fixture says `active`) is read
//!   as open.
//! * In `payment_link.paid` the order entity's `id` lacks its `order_`
//!   prefix while `payment.order_id` and `payment_link.order_id` have it:
//!   nothing here reads the order entity.
//! * A webhook body has no event id; it comes in the `X-Razorpay-Event-Id`
//!   header (the same on every retry), which the caller passes to
//!   [`parse_webhook`].
//! * Amounts are integers in the currency's smallest unit with the exponent
//!   Razorpay lists per currency (INR 2, JPY 0, KWD 3); three-decimal
//!   amounts must end in 0.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tagada_core::{Currency, Money};

use crate::gateway::wire::{self, ErrorBody};
use crate::gateway::{
    Gateway, GatewayError, GatewayEvent, GatewayEventKind, GatewayPayment, LinkRef, LinkStatus,
    ParseError, RemoteLink, SignatureError,
};

pub const DEFAULT_BASE_URL: &str = "https://api.razorpay.com";

/// The `description` of the 400 Razorpay answers a second link with a
/// `reference_id` already used (listed among the create call's errors).
pub const DUPLICATE_REFERENCE_MESSAGE: &str =
    "payment link creation with reference ID already attempted";

/// Razorpay's list of currencies for international payments with the
/// exponent it uses for each (`payments/international-payments.md`,
/// "Supported Currencies", markdown-docs commit `0869718`, read for this
/// module). The docs say Payment Links take international payments and that
/// amounts are in the currency's subunit; JPY (0) and KWD (3) are listed.
/// Whether a given account has international payments switched on is not
/// something the API can be asked: a refused currency comes back as a 400.
const CURRENCIES: &[(&str, u32)] = &[
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

/// Whether a Payment Link can be created in `c`: Razorpay lists it, with
/// the same minor-unit exponent as tagada's money (so amounts go over as
/// they are; a currency whose exponents disagreed would be refused rather
/// than rescaled, and none in the list does).
pub fn accepts_currency(c: Currency) -> bool {
    CURRENCIES
        .iter()
        .any(|&(code, exponent)| code == c.code() && exponent == c.exponent())
}

/// A Payment Link to create. Razorpay's own SMS, e-mail and reminders are
/// always switched off: tagada sends the reminders, on WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRazorpayLink {
    pub amount: Money,
    /// Unique per link, forever (a cancelled link's reference cannot be
    /// reused); at most 40 characters. tagada uses the invoice number, with
    /// a suffix for a replacement link.
    pub reference_id: String,
    pub description: String,
    pub customer_name: Option<String>,
    /// E.164 (`+919000090000`).
    pub customer_contact: Option<String>,
    pub customer_email: Option<String>,
    pub accept_partial: bool,
    /// The least the first payment may be (only with `accept_partial`).
    pub first_min_partial_amount: Option<Money>,
    /// At least 15 minutes and at most six months ahead; `None`: Razorpay's
    /// default (six months).
    pub expire_by: Option<Timestamp>,
    /// At most 15 pairs; the app puts `invoice_number` here.
    pub notes: BTreeMap<String, String>,
    /// Where the buyer lands after paying (`callback_method` is `get`).
    pub callback_url: Option<String>,
}

impl NewRazorpayLink {
    /// A link for `amount` with nothing optional set.
    pub fn new(
        amount: Money,
        reference_id: impl Into<String>,
        description: impl Into<String>,
    ) -> NewRazorpayLink {
        NewRazorpayLink {
            amount,
            reference_id: reference_id.into(),
            description: description.into(),
            customer_name: None,
            customer_contact: None,
            customer_email: None,
            accept_partial: false,
            first_min_partial_amount: None,
            expire_by: None,
            notes: BTreeMap::new(),
            callback_url: None,
        }
    }

    /// The JSON body of `POST /v1/payment_links`, after the checks Razorpay
    /// would make anyway (so a refusal names the field without a round
    /// trip): a listed currency, a positive amount (ending in 0 for
    /// three-decimal currencies), a partial minimum only with partial
    /// payments, in the same currency and not above the amount.
    pub fn request_body(&self) -> Result<Value, GatewayError> {
        let refused = |code: &str, msg: String, field: &str| {
            wire::refused(Gateway::Razorpay, code, msg, Some(field))
        };
        let currency = self.amount.currency();
        if !accepts_currency(currency) {
            return Err(refused(
                "currency_not_supported",
                format!("Razorpay does not list {currency} for payments"),
                "currency",
            ));
        }
        if !self.amount.is_positive() {
            return Err(refused(
                "invalid_amount",
                format!("the amount must be positive, not {}", self.amount),
                "amount",
            ));
        }
        if currency.exponent() == 3 && self.amount.minor() % 10 != 0 {
            return Err(refused(
                "invalid_amount",
                format!(
                    "{currency} amounts must end in 0 at Razorpay (the last of the three decimals), not {}",
                    self.amount
                ),
                "amount",
            ));
        }
        let mut body = Map::new();
        body.insert("amount".into(), json!(self.amount.minor()));
        body.insert("currency".into(), json!(currency.code()));
        body.insert("accept_partial".into(), json!(self.accept_partial));
        if let Some(min) = self.first_min_partial_amount {
            if !self.accept_partial {
                return Err(refused(
                    "invalid_partial_amount",
                    "a first minimum partial amount needs partial payments allowed".into(),
                    "first_min_partial_amount",
                ));
            }
            if min.currency() != currency || !min.is_positive() || min.minor() > self.amount.minor()
            {
                return Err(refused(
                    "invalid_partial_amount",
                    format!(
                        "the first minimum partial amount {min} must be positive, in {currency} and at most {}",
                        self.amount
                    ),
                    "first_min_partial_amount",
                ));
            }
            body.insert("first_min_partial_amount".into(), json!(min.minor()));
        }
        body.insert("reference_id".into(), json!(self.reference_id));
        body.insert("description".into(), json!(self.description));
        let mut customer = Map::new();
        for (key, value) in [
            ("name", &self.customer_name),
            ("contact", &self.customer_contact),
            ("email", &self.customer_email),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                customer.insert(key.into(), json!(v.trim()));
            }
        }
        if !customer.is_empty() {
            body.insert("customer".into(), Value::Object(customer));
        }
        body.insert("notify".into(), json!({"sms": false, "email": false}));
        body.insert("reminder_enable".into(), json!(false));
        body.insert("notes".into(), json!(self.notes));
        if let Some(url) = &self.callback_url {
            body.insert("callback_url".into(), json!(url));
            body.insert("callback_method".into(), json!("get"));
        }
        if let Some(at) = self.expire_by {
            body.insert("expire_by".into(), json!(at.as_second()));
        }
        Ok(Value::Object(body))
    }
}

/// A Razorpay API client for one key pair. Cheap to clone; its `Debug`
/// never shows the key secret.
#[derive(Clone)]
pub struct RazorpayClient {
    http: reqwest::Client,
    base_url: String,
    key_id: String,
    key_secret: SecretString,
}

impl std::fmt::Debug for RazorpayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RazorpayClient")
            .field("base_url", &self.base_url)
            .field("key_id", &self.key_id)
            .field("key_secret", &"[redacted]")
            .finish()
    }
}

impl RazorpayClient {
    /// `base_url` is [`DEFAULT_BASE_URL`] or a fake's / proxy's address.
    pub fn new(base_url: &str, key_id: &str, key_secret: SecretString) -> Self {
        RazorpayClient {
            http: wire::http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key_id: key_id.to_owned(),
            key_secret,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Creates a Payment Link (`POST /v1/payment_links`). Safe to retry
    /// after a transient failure: a second create with the same
    /// `reference_id` is refused ([`is_duplicate_reference`]), and the
    /// caller then looks the first one up. What
    /// [`NewRazorpayLink::request_body`] refuses is never sent
    /// ([`GatewayError::refused_before_sending`]).
    pub async fn create_link(&self, req: &NewRazorpayLink) -> Result<RemoteLink, GatewayError> {
        let body = req.request_body()?;
        let url = format!("{}/v1/payment_links", self.base_url);
        self.call(self.http.post(url).json(&body)).await
    }

    /// Fetches a link (`GET /v1/payment_links/{id}`) with its captured
    /// payments.
    pub async fn fetch_link(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        let url = format!(
            "{}/v1/payment_links/{}",
            self.base_url,
            wire::percent_encode(id, false)
        );
        self.call(self.http.get(url)).await
    }

    /// Cancels a link nobody has paid into yet
    /// (`POST /v1/payment_links/{id}/cancel`); Razorpay refuses it once
    /// anything is paid, or when it is already expired or cancelled.
    pub async fn cancel_link(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        let url = format!(
            "{}/v1/payment_links/{}/cancel",
            self.base_url,
            wire::percent_encode(id, false)
        );
        self.call(
            self.http
                .post(url)
                .header("content-type", "application/json"),
        )
        .await
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<RemoteLink, GatewayError> {
        let secret = self.key_secret.expose_secret();
        let req = req.basic_auth(&self.key_id, Some(secret));
        let bytes = wire::send(Gateway::Razorpay, req, secret, read_error).await?;
        link_from_json(&bytes).map_err(|e| wire::malformed(Gateway::Razorpay, e))
    }
}

/// Whether `e` is Razorpay's 400 for a `reference_id` already used by
/// another link (cancelled and expired ones included).
pub fn is_duplicate_reference(e: &GatewayError) -> bool {
    match e {
        GatewayError::Rejected {
            gateway: Gateway::Razorpay,
            status: 400,
            message,
            ..
        } => message
            .to_ascii_lowercase()
            .contains("reference id already attempted"),
        _ => false,
    }
}

/// Razorpay's error envelope:
/// `{"error": {"code", "description", "field", "source", "step", "reason"}}`.
fn read_error(bytes: &[u8]) -> Option<ErrorBody> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let e = v.get("error")?.as_object()?;
    let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut message = text("description")?;
    // `reason` says more than "NA" only sometimes; keep it when it does.
    if let Some(reason) = text("reason").filter(|r| !r.is_empty() && r != "NA") {
        message = format!("{message} ({reason})");
    }
    Some(ErrorBody {
        code: text("code"),
        message: Some(message),
        field: text("field"),
    })
}

#[derive(Debug, Deserialize)]
struct LinkEntity {
    id: String,
    amount: i64,
    #[serde(default)]
    amount_paid: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reference_id: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    short_url: Option<String>,
    #[serde(default)]
    expire_by: Option<i64>,
    #[serde(default)]
    notes: Value,
    #[serde(default)]
    payments: Value,
}

#[derive(Debug, Deserialize)]
struct LinkPayment {
    payment_id: String,
    amount: i64,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// A link entity (create, fetch and cancel answers) as a [`RemoteLink`].
fn link_from_json(bytes: &[u8]) -> Result<RemoteLink, String> {
    let e: LinkEntity =
        serde_json::from_slice(bytes).map_err(|e| format!("payment link entity: {e}"))?;
    let currency = currency_of(e.currency.as_deref())?;
    let status = link_status(e.status.as_deref().unwrap_or_default());
    let link = LinkRef {
        link_id: Some(e.id.clone()),
        order_id: non_empty(e.order_id.as_deref()),
        reference_id: non_empty(e.reference_id.as_deref()),
        invoice_number: invoice_number(&e.notes),
    };
    let mut listed: Vec<LinkPayment> = Vec::new();
    // `null` before any capture, `[]` or `{}` when empty.
    let entries: Vec<Value> = match e.payments {
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    for item in entries {
        listed
            .push(serde_json::from_value(item).map_err(|e| format!("payment link payment: {e}"))?);
    }
    // Only captured payments are listed, per the docs; anything else is
    // skipped rather than recorded as money received.
    listed.retain(|p| p.status.as_deref().is_none_or(|s| s == "captured"));
    listed.sort_by_key(|p| p.created_at.unwrap_or(0));
    let mut so_far = 0i64;
    let mut payments = Vec::with_capacity(listed.len());
    for p in listed {
        so_far = so_far.saturating_add(p.amount);
        payments.push(GatewayPayment {
            payment_id: p.payment_id,
            amount: Money::from_minor(p.amount, currency),
            link: link.clone(),
            method: non_empty(p.method.as_deref()),
            paid_at: p
                .created_at
                .and_then(wire::unix)
                .ok_or("a listed payment has no created_at")?,
            link_amount_paid: Some(Money::from_minor(so_far, currency)),
        });
    }
    Ok(RemoteLink {
        gateway: Gateway::Razorpay,
        id: e.id,
        url: e.short_url.unwrap_or_default(),
        amount: Money::from_minor(e.amount, currency),
        amount_paid: Money::from_minor(e.amount_paid.unwrap_or(0), currency),
        status,
        reference_id: link.reference_id,
        order_id: link.order_id,
        expires_at: e.expire_by.and_then(wire::unix),
        payments,
    })
}

/// A link `status`; unknown ones (`active` in the Go SDK's fixture) are
/// open: the link is not known to be paid or closed.
fn link_status(s: &str) -> LinkStatus {
    match s {
        "partially_paid" => LinkStatus::PartiallyPaid,
        "paid" => LinkStatus::Paid,
        "expired" => LinkStatus::Expired,
        "cancelled" => LinkStatus::Cancelled,
        _ => LinkStatus::Open,
    }
}

/// Razorpay's currency field (INR when absent, as the API defaults it).
fn currency_of(code: Option<&str>) -> Result<Currency, String> {
    let code = code.filter(|c| !c.is_empty()).unwrap_or("INR");
    let c = Currency::from_code(code).map_err(|e| e.to_string())?;
    // Every currency Razorpay lists has tagada's exponent; one it does not
    // list is read with the ISO exponent, which is what it would use.
    Ok(c)
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `notes.invoice_number` when `notes` is an object (it may be `null`, `[]`).
fn invoice_number(notes: &Value) -> Option<String> {
    match notes.as_object()?.get("invoice_number")? {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks `X-Razorpay-Signature`: lowercase or uppercase hex of
/// HMAC-SHA256 over the raw body, keyed with the webhook secret (set per
/// webhook in the Dashboard; not the API key secret). Compared in
/// constant time. Run it on the bytes as received, before any parsing.
pub fn verify_webhook(
    secret: &[u8],
    body: &[u8],
    signature_header: Option<&str>,
) -> Result<(), SignatureError> {
    verify_hex(secret, body, signature_header, "X-Razorpay-Signature")
}

/// Checks that `given` is the hex HMAC-SHA256 of `message` under `secret`,
/// in constant time; `what` names the signature in errors.
fn verify_hex(
    secret: &[u8],
    message: &[u8],
    given: Option<&str>,
    what: &str,
) -> Result<(), SignatureError> {
    let given = given
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let given =
        hex::decode(given).map_err(|_| SignatureError::Malformed(format!("{what} is not hex")))?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed(format!(
            "{what} has {} bytes, not 32",
            given.len()
        )));
    }
    let expected = sign(secret, message);
    if bool::from(expected.as_slice().ct_eq(&given)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks the `razorpay_signature` query parameter Razorpay adds when it
/// redirects the buyer to a link's `callback_url`: hex HMAC-SHA256, keyed
/// with the API key secret, of
/// `razorpay_payment_link_id|razorpay_payment_link_reference_id|razorpay_payment_link_status|razorpay_payment_id`.
/// A redirect is only a hint (the buyer's browser carries it); the webhook
/// or a fetch is what records a payment.
pub fn verify_payment_link_callback(
    key_secret: &[u8],
    link_id: &str,
    reference_id: &str,
    status: &str,
    payment_id: &str,
    signature: &str,
) -> Result<(), SignatureError> {
    let message = format!("{link_id}|{reference_id}|{status}|{payment_id}");
    verify_hex(
        key_secret,
        message.as_bytes(),
        Some(signature),
        "razorpay_signature",
    )
}

/// HMAC-SHA256 of `body` keyed with `secret`.
fn sign(secret: &[u8], body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `X-Razorpay-Signature` value for `body` (for tests and fakes that
/// need to sign what they send).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    hex::encode(sign(secret, body))
}

/// Reads a verified webhook body. `event_id` is the delivery's
/// `X-Razorpay-Event-Id` header.
///
/// * `payment_link.paid`, `payment_link.partially_paid`: [`Paid`] with the
///   payment entity's amount and the link's id, order id, reference id,
///   `notes.invoice_number` and total paid;
/// * `payment.captured`: [`Paid`], pointing back at the link through the
///   payment's `order_id` (and `notes.invoice_number`, which payments of a
///   link inherit);
/// * `payment.failed`: [`Failed`] with the error description as reason;
/// * `payment_link.expired` / `payment_link.cancelled`: [`LinkClosed`];
/// * anything else (`payment.authorized` included): [`Ignored`].
///
/// [`Paid`]: GatewayEventKind::Paid
/// [`Failed`]: GatewayEventKind::Failed
/// [`LinkClosed`]: GatewayEventKind::LinkClosed
/// [`Ignored`]: GatewayEventKind::Ignored
pub fn parse_webhook(body: &[u8], event_id: &str) -> Result<GatewayEvent, ParseError> {
    let err = |message: String| ParseError {
        gateway: Gateway::Razorpay,
        message,
    };
    let v: Value = serde_json::from_slice(body).map_err(|e| err(format!("not JSON: {e}")))?;
    let event_type = v
        .get("event")
        .and_then(Value::as_str)
        .ok_or_else(|| err("no `event` field".into()))?
        .to_owned();
    let occurred_at = v
        .get("created_at")
        .and_then(Value::as_i64)
        .and_then(wire::unix)
        .ok_or_else(|| err(format!("{event_type}: no valid `created_at`")))?;
    let event_id = event_id.trim();
    if event_id.is_empty() {
        return Err(err(format!(
            "{event_type}: no event id (X-Razorpay-Event-Id)"
        )));
    }
    let entity = |name: &str| -> Result<&Map<String, Value>, ParseError> {
        v.pointer(&format!("/payload/{name}/entity"))
            .and_then(Value::as_object)
            .ok_or_else(|| err(format!("{event_type}: no payload.{name}.entity")))
    };
    let kind = match event_type.as_str() {
        "payment_link.paid" | "payment_link.partially_paid" => {
            let payment = entity("payment")?;
            let plink = entity("payment_link")?;
            let (amount, paid_at) = payment_amount(payment, occurred_at).map_err(&err)?;
            let link_currency = currency_of(plink.get("currency").and_then(Value::as_str))
                .map_err(|e| err(format!("payment_link.currency: {e}")))?;
            let mut link = link_ref(plink);
            if link.order_id.is_none() {
                link.order_id = str_field(payment, "order_id");
            }
            if link.invoice_number.is_none() {
                link.invoice_number = invoice_number(payment.get("notes").unwrap_or(&Value::Null));
            }
            GatewayEventKind::Paid(GatewayPayment {
                payment_id: str_field(payment, "id")
                    .ok_or_else(|| err(format!("{event_type}: payment without id")))?,
                amount,
                link,
                method: str_field(payment, "method"),
                paid_at,
                link_amount_paid: plink
                    .get("amount_paid")
                    .and_then(Value::as_i64)
                    .map(|m| Money::from_minor(m, link_currency)),
            })
        }
        "payment.captured" => {
            let payment = entity("payment")?;
            let (amount, paid_at) = payment_amount(payment, occurred_at).map_err(&err)?;
            GatewayEventKind::Paid(GatewayPayment {
                payment_id: str_field(payment, "id")
                    .ok_or_else(|| err(format!("{event_type}: payment without id")))?,
                amount,
                link: payment_link_ref(payment),
                method: str_field(payment, "method"),
                paid_at,
                link_amount_paid: None,
            })
        }
        "payment.failed" => {
            let payment = entity("payment")?;
            let amount = payment_amount(payment, occurred_at).ok().map(|(m, _)| m);
            let reason = ["error_description", "error_reason", "error_code"]
                .iter()
                .find_map(|k| str_field(payment, k))
                .unwrap_or_else(|| "payment failed".to_owned());
            GatewayEventKind::Failed {
                payment_id: str_field(payment, "id"),
                link: payment_link_ref(payment),
                amount,
                reason,
            }
        }
        "payment_link.expired" | "payment_link.cancelled" => {
            let plink = entity("payment_link")?;
            let status = if event_type == "payment_link.expired" {
                LinkStatus::Expired
            } else {
                LinkStatus::Cancelled
            };
            GatewayEventKind::LinkClosed {
                link: link_ref(plink),
                status,
            }
        }
        "payment.authorized" => GatewayEventKind::Ignored {
            reason: "payment authorized, not captured yet (payment.captured follows)".into(),
        },
        other => GatewayEventKind::Ignored {
            reason: format!("tagada does not act on `{other}`"),
        },
    };
    Ok(GatewayEvent {
        gateway: Gateway::Razorpay,
        event_id: event_id.to_owned(),
        event_type,
        occurred_at,
        kind,
    })
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    non_empty(obj.get(key).and_then(Value::as_str))
}

/// A payment entity's amount and time (the event's when it has none).
fn payment_amount(
    payment: &Map<String, Value>,
    fallback_time: Timestamp,
) -> Result<(Money, Timestamp), String> {
    let minor = payment
        .get("amount")
        .and_then(Value::as_i64)
        .ok_or("payment without an integer amount")?;
    let currency = currency_of(payment.get("currency").and_then(Value::as_str))
        .map_err(|e| format!("payment.currency: {e}"))?;
    let at = payment
        .get("created_at")
        .and_then(Value::as_i64)
        .and_then(wire::unix)
        .unwrap_or(fallback_time);
    Ok((Money::from_minor(minor, currency), at))
}

/// What a payment link entity says about itself.
fn link_ref(plink: &Map<String, Value>) -> LinkRef {
    LinkRef {
        link_id: str_field(plink, "id"),
        order_id: str_field(plink, "order_id"),
        reference_id: str_field(plink, "reference_id"),
        invoice_number: invoice_number(plink.get("notes").unwrap_or(&Value::Null)),
    }
}

/// What a bare payment entity says about its link: the order id and the
/// notes it inherited.
fn payment_link_ref(payment: &Map<String, Value>) -> LinkRef {
    LinkRef {
        link_id: None,
        order_id: str_field(payment, "order_id"),
        reference_id: None,
        invoice_number: invoice_number(payment.get("notes").unwrap_or(&Value::Null)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_currencies_agree_with_tagada_exponents() {
        let mut known = 0;
        for &(code, exponent) in CURRENCIES {
            // A few listed codes are withdrawn from ISO 4217 (HRK, SLL).
            if let Ok(c) = Currency::from_code(code) {
                known += 1;
                assert_eq!(c.exponent(), exponent, "{code}");
                assert!(accepts_currency(c), "{code}");
            }
        }
        assert!(known > 100);
        for c in [
            Currency::INR,
            Currency::USD,
            Currency::EUR,
            Currency::GBP,
            Currency::AED,
            Currency::SAR,
            Currency::JPY,
            Currency::KWD,
        ] {
            assert!(accepts_currency(c), "{c}");
        }
        assert!(!accepts_currency(Currency::from_code("LYD").expect("LYD")));
    }

    #[test]
    fn request_body_checks_what_razorpay_checks() {
        let ok = NewRazorpayLink::new(Money::from_minor(1_000_00, Currency::INR), "R1", "d");
        let body = ok.request_body().expect("valid");
        assert_eq!(body["notify"], json!({"sms": false, "email": false}));
        assert_eq!(body["reminder_enable"], json!(false));
        assert!(body.get("customer").is_none());
        assert!(body.get("expire_by").is_none());

        let mut kwd = NewRazorpayLink::new(Money::from_minor(1_251, Currency::KWD), "R2", "d");
        assert!(matches!(
            kwd.request_body(),
            Err(GatewayError::Rejected { status: 0, .. })
        ));
        kwd.amount = Money::from_minor(1_250, Currency::KWD);
        assert!(kwd.request_body().is_ok());

        let mut partial = ok.clone();
        partial.first_min_partial_amount = Some(Money::from_minor(100, Currency::INR));
        assert!(partial.request_body().is_err(), "minimum without partial");
        partial.accept_partial = true;
        assert!(partial.request_body().is_ok());
        partial.first_min_partial_amount = Some(Money::from_minor(100, Currency::USD));
        assert!(
            partial.request_body().is_err(),
            "minimum in another currency"
        );

        let zero = NewRazorpayLink::new(Money::zero(Currency::INR), "R3", "d");
        assert!(zero.request_body().is_err());
        let lyd = NewRazorpayLink::new(
            Money::from_minor(1_000, Currency::from_code("LYD").expect("LYD")),
            "R4",
            "d",
        );
        assert!(lyd.request_body().is_err());
    }

    #[test]
    fn unknown_link_status_is_open() {
        assert_eq!(link_status("active"), LinkStatus::Open);
        assert_eq!(link_status("created"), LinkStatus::Open);
        assert_eq!(link_status("partially_paid"), LinkStatus::PartiallyPaid);
    }

    #[test]
    fn duplicate_reference_is_recognised_by_its_description() {
        let dup = GatewayError::Rejected {
            gateway: Gateway::Razorpay,
            status: 400,
            code: "BAD_REQUEST_ERROR".into(),
            message: DUPLICATE_REFERENCE_MESSAGE.into(),
            field: None,
        };
        assert!(is_duplicate_reference(&dup));
        let other = GatewayError::Rejected {
            gateway: Gateway::Razorpay,
            status: 400,
            code: "BAD_REQUEST_ERROR".into(),
            message: "The amount is invalid".into(),
            field: Some("amount".into()),
        };
        assert!(!is_duplicate_reference(&other));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = RazorpayClient::new(
            DEFAULT_BASE_URL,
            "rzp_test_x",
            SecretString::from("very-secret-value"),
        );
        let s = format!("{c:?}");
        assert!(!s.contains("very-secret-value"));
        assert!(s.contains("rzp_test_x"));
    }
}
