//! Stripe Checkout Sessions: the API client ([`StripeClient`]: create,
//! retrieve, expire), the `Stripe-Signature` check ([`verify_webhook`]) and
//! the event parser ([`parse_webhook`]).
//!
//! Facts come from Stripe's public docs and stripe-python (see
//! `contracts/stripe/README.md`):
//!
//! * v1 takes `application/x-www-form-urlencoded` bodies with bracket
//!   notation (`line_items[0][price_data][currency]=eur`), not JSON;
//!   currency codes go in lower case.
//! * Amounts are integers in Stripe's unit for the currency: the minor unit
//!   for most; whole units for the zero-decimal currencies (JPY, KRW, CLP,
//!   VND, UGX, XOF...); thousandths with a last digit of 0 for the
//!   three-decimal ones (BHD, JOD, KWD, OMR, TND); and for ISK, a
//!   zero-decimal currency, hundredths that must be a multiple of 100 (kept
//!   that way for backwards compatibility). See [`stripe_amount`].
//! * A session's `expires_at` must be 30 minutes to 24 hours after its
//!   creation (24 hours is the default).
//! * A completed session may still be unpaid (`payment_status: unpaid`) when
//!   the method is a delayed one (bank debits); the money arrives with
//!   `checkout.session.async_payment_succeeded`, or not
//!   (`checkout.session.async_payment_failed`).
//! * The signature header is `t=<unix>,v1=<hex>[,v1=...][,v0=...]`; `v1` is
//!   HMAC-SHA256 keyed with the whole endpoint secret (`whsec_` included)
//!   over `"<t>." + raw body`. Several `v1` appear while a secret is being
//!   rolled; `v0` is ignored.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tagada_core::{Currency, Money};

use crate::gateway::wire::{self, ErrorBody};
use crate::gateway::{
    Gateway, GatewayError, GatewayEvent, GatewayEventKind, GatewayPayment, LinkRef, LinkStatus,
    ParseError, RemoteLink, SignatureError,
};

pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// How old a signed timestamp may be: stripe-python's default.
pub const DEFAULT_TOLERANCE: SignedDuration = SignedDuration::from_secs(300);

/// Stripe's zero-decimal currencies: amounts in whole units.
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Stripe's three-decimal currencies: thousandths, last digit 0.
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// The number of decimals Stripe's integer amounts carry for `c`, when
/// known: 0 and 3 for the lists above, 2 for ISK (see the module docs) and
/// for every two-decimal ISO currency. `None` for the rest (currencies with
/// another ISO exponent that Stripe does not list in either group).
pub fn stripe_exponent(c: Currency) -> Option<u32> {
    let code = c.code();
    if ZERO_DECIMAL.contains(&code) {
        Some(0)
    } else if THREE_DECIMAL.contains(&code) {
        Some(3)
    } else if code == "ISK" || c.exponent() == 2 {
        Some(2)
    } else {
        None
    }
}

fn pow10(n: u32) -> i64 {
    10i64.pow(n)
}

/// `m` as the integer Stripe expects for its currency, or why it has none:
/// a currency Stripe's unit rules do not cover, a fraction Stripe cannot
/// take (MGA cents), or a three-decimal amount not ending in 0. Nothing is
/// rounded: the caller decides what to charge.
pub fn stripe_amount(m: Money) -> Result<i64, String> {
    let c = m.currency();
    let se = stripe_exponent(c)
        .ok_or_else(|| format!("tagada does not know how Stripe writes {c} amounts"))?;
    let ie = c.exponent();
    let amount = if se >= ie {
        m.minor()
            .checked_mul(pow10(se - ie))
            .ok_or_else(|| format!("{m} is too large"))?
    } else {
        let d = pow10(ie - se);
        if m.minor() % d != 0 {
            return Err(format!("Stripe takes whole {c} amounts only, not {m}"));
        }
        m.minor() / d
    };
    if se == 3 && amount % 10 != 0 {
        return Err(format!(
            "Stripe needs {c} amounts whose last decimal is 0 (a multiple of 0.010), not {m}"
        ));
    }
    Ok(amount)
}

/// The inverse of [`stripe_amount`]: Stripe's integer for `currency` (any
/// case) as money.
pub fn money_from_stripe(amount: i64, currency: &str) -> Result<Money, String> {
    let c = Currency::from_code(currency).map_err(|e| e.to_string())?;
    let ie = c.exponent();
    let se = stripe_exponent(c).unwrap_or(ie);
    let minor = if se >= ie {
        let d = pow10(se - ie);
        if amount % d != 0 {
            return Err(format!("{amount} is not a whole number of {c} minor units"));
        }
        amount / d
    } else {
        amount
            .checked_mul(pow10(ie - se))
            .ok_or_else(|| format!("{amount} {c} is too large"))?
    };
    Ok(Money::from_minor(minor, c))
}

/// A Checkout Session to create: one line item for the invoice amount,
/// paid once (`mode=payment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckoutSession {
    pub amount: Money,
    /// The line item's name as the buyer sees it ("Invoice INV-2025-0045").
    pub product_name: String,
    /// tagada's reference for the link (the invoice number); comes back as
    /// the session's `client_reference_id`.
    pub client_reference_id: String,
    /// Copied onto the session and onto its PaymentIntent; the app puts
    /// `invoice_number` here. Stripe allows 50 keys, keys up to 40
    /// characters, values up to 500.
    pub metadata: BTreeMap<String, String>,
    pub customer_email: Option<String>,
    /// May contain `{CHECKOUT_SESSION_ID}`, which Stripe fills in.
    pub success_url: String,
    pub cancel_url: Option<String>,
    /// 30 minutes to 24 hours after creation; `None`: 24 hours.
    pub expires_at: Option<Timestamp>,
    /// Sent as `Idempotency-Key`: a retried create with the same key and
    /// body returns the first session instead of a second one.
    pub idempotency_key: Option<String>,
}

impl NewCheckoutSession {
    /// The form fields, in the order they are sent.
    pub fn form_fields(&self) -> Result<Vec<(String, String)>, GatewayError> {
        let refused = |msg: String| {
            wire::refused(
                Gateway::Stripe,
                "amount_not_supported",
                msg,
                Some("line_items[0][price_data][unit_amount]"),
            )
        };
        if !self.amount.is_positive() {
            return Err(refused(format!(
                "the amount must be positive, not {}",
                self.amount
            )));
        }
        let unit_amount = stripe_amount(self.amount).map_err(refused)?;
        let mut f: Vec<(String, String)> = vec![
            ("mode".into(), "payment".into()),
            (
                "line_items[0][price_data][currency]".into(),
                self.amount.currency().code().to_ascii_lowercase(),
            ),
            (
                "line_items[0][price_data][product_data][name]".into(),
                self.product_name.clone(),
            ),
            (
                "line_items[0][price_data][unit_amount]".into(),
                unit_amount.to_string(),
            ),
            ("line_items[0][quantity]".into(), "1".into()),
            (
                "client_reference_id".into(),
                self.client_reference_id.clone(),
            ),
        ];
        for (k, v) in &self.metadata {
            f.push((format!("metadata[{k}]"), v.clone()));
        }
        for (k, v) in &self.metadata {
            f.push((format!("payment_intent_data[metadata][{k}]"), v.clone()));
        }
        if let Some(email) = self.customer_email.as_deref().map(str::trim)
            && !email.is_empty()
        {
            f.push(("customer_email".into(), email.to_owned()));
        }
        f.push(("success_url".into(), self.success_url.clone()));
        if let Some(url) = &self.cancel_url {
            f.push(("cancel_url".into(), url.clone()));
        }
        if let Some(at) = self.expires_at {
            f.push(("expires_at".into(), at.as_second().to_string()));
        }
        Ok(f)
    }

    /// The `application/x-www-form-urlencoded` body (brackets left as
    /// they are, everything else percent-encoded).
    pub fn form_body(&self) -> Result<String, GatewayError> {
        Ok(encode_form(&self.form_fields()?))
    }
}

fn encode_form(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                wire::percent_encode(k, true),
                wire::percent_encode(v, false)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A Stripe API client for one secret key. Cheap to clone; its `Debug`
/// never shows the key.
#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base_url: String,
    secret_key: SecretString,
    api_version: Option<String>,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base_url", &self.base_url)
            .field("secret_key", &"[redacted]")
            .field("api_version", &self.api_version)
            .finish()
    }
}

impl StripeClient {
    /// `base_url` is [`DEFAULT_BASE_URL`] or a fake's / proxy's address.
    /// Requests use the account's default API version unless
    /// [`StripeClient::with_api_version`] pins one.
    pub fn new(base_url: &str, secret_key: SecretString) -> Self {
        StripeClient {
            http: wire::http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key,
            api_version: None,
        }
    }

    /// Sends `Stripe-Version: <version>` with every request.
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Creates a Checkout Session (`POST /v1/checkout/sessions`). An amount
    /// Stripe cannot take ([`stripe_amount`]) is refused before sending
    /// ([`GatewayError::refused_before_sending`]). With an
    /// `idempotency_key`, a retry after a transient failure returns the
    /// session the first attempt made, if it made one.
    pub async fn create_checkout_session(
        &self,
        req: &NewCheckoutSession,
    ) -> Result<RemoteLink, GatewayError> {
        let body = req.form_body()?;
        let mut r = self
            .http
            .post(format!("{}/v1/checkout/sessions", self.base_url))
            .body(body);
        if let Some(key) = &req.idempotency_key {
            r = r.header("Idempotency-Key", key);
        }
        self.call(r).await
    }

    /// Retrieves a session (`GET /v1/checkout/sessions/{id}`).
    pub async fn retrieve_checkout_session(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        let url = format!(
            "{}/v1/checkout/sessions/{}",
            self.base_url,
            wire::percent_encode(id, false)
        );
        self.call(self.http.get(url)).await
    }

    /// Expires an open session now (`POST /v1/checkout/sessions/{id}/expire`);
    /// Stripe refuses it for a session that is not open.
    pub async fn expire_checkout_session(&self, id: &str) -> Result<RemoteLink, GatewayError> {
        let url = format!(
            "{}/v1/checkout/sessions/{}/expire",
            self.base_url,
            wire::percent_encode(id, false)
        );
        self.call(self.http.post(url).body("")).await
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<RemoteLink, GatewayError> {
        let secret = self.secret_key.expose_secret();
        let mut req = req
            .bearer_auth(secret)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(v) = &self.api_version {
            req = req.header("Stripe-Version", v);
        }
        let bytes = match wire::send(Gateway::Stripe, req, secret, read_error).await {
            Ok(b) => b,
            // Stripe's 401 text quotes the key's last characters: say it
            // in our own words instead.
            Err(GatewayError::Unauthorized { gateway, .. }) => {
                return Err(GatewayError::Unauthorized {
                    gateway,
                    message: "the secret key was refused (HTTP 401)".into(),
                });
            }
            Err(e) => return Err(e),
        };
        session_from_json(&bytes).map_err(|e| wire::malformed(Gateway::Stripe, e))
    }
}

/// Stripe's error envelope: `{"error": {"type", "code", "message", "param"}}`.
fn read_error(bytes: &[u8]) -> Option<ErrorBody> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let e = v.get("error")?.as_object()?;
    let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(ErrorBody {
        code: text("code").or_else(|| text("type")),
        message: text("message"),
        field: text("param"),
    })
}

#[derive(Debug, Deserialize)]
struct SessionDto {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    payment_intent: Value,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    payment_method_types: Option<Vec<String>>,
}

impl SessionDto {
    fn paid(&self) -> bool {
        matches!(
            self.payment_status.as_deref(),
            Some("paid" | "no_payment_required")
        )
    }

    fn amount(&self) -> Result<Money, String> {
        let (Some(amount), Some(currency)) = (self.amount_total, self.currency.as_deref()) else {
            return Err(format!(
                "session {} has no amount_total or currency",
                self.id
            ));
        };
        money_from_stripe(amount, currency)
    }

    /// The PaymentIntent id (the field is an id, or the object when
    /// expanded), else the session id.
    fn payment_id(&self) -> String {
        match &self.payment_intent {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Object(o) => o
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| self.id.clone(), str::to_owned),
            _ => self.id.clone(),
        }
    }

    fn link_ref(&self) -> LinkRef {
        LinkRef {
            link_id: Some(self.id.clone()),
            order_id: None,
            reference_id: self
                .client_reference_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            invoice_number: self
                .metadata
                .get("invoice_number")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        }
    }

    /// The method, when the session allowed only one.
    fn method(&self) -> Option<String> {
        match self.payment_method_types.as_deref() {
            Some([only]) => Some(only.clone()),
            _ => None,
        }
    }

    fn payment(&self, amount: Money, paid_at: Timestamp) -> GatewayPayment {
        GatewayPayment {
            payment_id: self.payment_id(),
            amount,
            link: self.link_ref(),
            method: self.method(),
            paid_at,
            link_amount_paid: Some(amount),
        }
    }
}

/// A session object as a [`RemoteLink`]: `open` is open, `complete` is
/// paid when `payment_status` says so (a completed session still waiting
/// for a delayed payment stays open: no money yet, and the async events
/// settle it), `expired` is expired.
fn session_from_json(bytes: &[u8]) -> Result<RemoteLink, String> {
    let s: SessionDto =
        serde_json::from_slice(bytes).map_err(|e| format!("checkout session: {e}"))?;
    let amount = s.amount()?;
    let paid = s.paid();
    let status = match s.status.as_deref() {
        Some("complete") if paid => LinkStatus::Paid,
        Some("expired") => LinkStatus::Expired,
        _ => LinkStatus::Open,
    };
    let payments = if paid && amount.is_positive() {
        // The session object has no completion time; its creation time
        // stands in (the webhook's event time is the precise one).
        let at = s
            .created
            .and_then(wire::unix)
            .ok_or("a paid session without `created`")?;
        vec![s.payment(amount, at)]
    } else {
        Vec::new()
    };
    Ok(RemoteLink {
        gateway: Gateway::Stripe,
        url: s.url.clone().unwrap_or_default(),
        amount,
        amount_paid: if paid {
            amount
        } else {
            Money::zero(amount.currency())
        },
        status,
        reference_id: s.link_ref().reference_id,
        order_id: None,
        expires_at: s.expires_at.and_then(wire::unix),
        payments,
        id: s.id,
    })
}

/// Checks a `Stripe-Signature` header against the raw body: one of its
/// `v1` values must be HMAC-SHA256(`secret`, `"<t>." + body`) (compared in
/// constant time), then `t` must be no older than `tolerance` at `now`. As
/// in stripe-python, a timestamp in the future is not refused.
pub fn verify_webhook(
    secret: &str,
    body: &[u8],
    header: Option<&str>,
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let mut t: Option<i64> = None;
    let mut v1: Vec<&str> = Vec::new();
    for item in header.split(',') {
        let Some((k, v)) = item.split_once('=') else {
            continue;
        };
        match k.trim() {
            "t" => {
                t = Some(v.trim().parse().map_err(|_| {
                    SignatureError::Malformed(format!("timestamp `{}` is not a number", v.trim()))
                })?)
            }
            "v1" => v1.push(v.trim()),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| SignatureError::Malformed("no `t=` timestamp".into()))?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed("no `v1=` signature".into()));
    }
    let expected = sign(secret, t, body);
    let matched = v1.iter().any(|sig| {
        hex::decode(sig).is_ok_and(|given| bool::from(expected.as_slice().ct_eq(&given)))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now.as_second().saturating_sub(t);
    let tolerance_secs = tolerance.as_secs();
    if age > tolerance_secs {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs,
        });
    }
    Ok(())
}

fn sign(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// A `Stripe-Signature` value for `body` signed at `t` (for tests).
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(sign(secret, t, body)))
}

#[derive(Debug, Deserialize)]
struct EventDto {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Value,
}

/// Reads a verified event body.
///
/// * `checkout.session.completed`: [`Paid`] when `payment_status` is `paid`
///   or `no_payment_required`; [`Ignored`] when `unpaid` (a delayed method:
///   the async events follow);
/// * `checkout.session.async_payment_succeeded`: [`Paid`];
/// * `checkout.session.async_payment_failed`: [`Failed`];
/// * `checkout.session.expired`: [`LinkClosed`] (expired);
/// * anything else: [`Ignored`].
///
/// A payment's id is the session's PaymentIntent (the session id when it
/// has none), its time the event's `created`.
///
/// [`Paid`]: GatewayEventKind::Paid
/// [`Failed`]: GatewayEventKind::Failed
/// [`LinkClosed`]: GatewayEventKind::LinkClosed
/// [`Ignored`]: GatewayEventKind::Ignored
pub fn parse_webhook(body: &[u8]) -> Result<GatewayEvent, ParseError> {
    let err = |message: String| ParseError {
        gateway: Gateway::Stripe,
        message,
    };
    let ev: EventDto = serde_json::from_slice(body).map_err(|e| err(format!("event: {e}")))?;
    let occurred_at =
        wire::unix(ev.created).ok_or_else(|| err(format!("{}: invalid `created`", ev.id)))?;
    let session = || -> Result<SessionDto, ParseError> {
        if ev.data.object.get("object").and_then(Value::as_str) != Some("checkout.session") {
            return Err(err(format!(
                "{}: data.object is not a checkout.session",
                ev.kind
            )));
        }
        serde_json::from_value(ev.data.object.clone())
            .map_err(|e| err(format!("{}: checkout session: {e}", ev.kind)))
    };
    let kind = match ev.kind.as_str() {
        "checkout.session.completed" => {
            let s = session()?;
            if s.paid() {
                let amount = s.amount().map_err(&err)?;
                GatewayEventKind::Paid(s.payment(amount, occurred_at))
            } else {
                GatewayEventKind::Ignored {
                    reason: "awaiting a delayed payment".into(),
                }
            }
        }
        "checkout.session.async_payment_succeeded" => {
            let s = session()?;
            let amount = s.amount().map_err(&err)?;
            GatewayEventKind::Paid(s.payment(amount, occurred_at))
        }
        "checkout.session.async_payment_failed" => {
            let s = session()?;
            GatewayEventKind::Failed {
                payment_id: Some(s.payment_id()),
                link: s.link_ref(),
                amount: s.amount().ok(),
                reason: "the delayed payment failed".into(),
            }
        }
        "checkout.session.expired" => {
            let s = session()?;
            GatewayEventKind::LinkClosed {
                link: s.link_ref(),
                status: LinkStatus::Expired,
            }
        }
        other => GatewayEventKind::Ignored {
            reason: format!("tagada does not act on `{other}`"),
        },
    };
    Ok(GatewayEvent {
        gateway: Gateway::Stripe,
        event_id: ev.id,
        event_type: ev.kind,
        occurred_at,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(minor, Currency::from_code(code).expect("currency"))
    }

    #[test]
    fn stripe_units_per_currency() {
        assert_eq!(stripe_amount(money(120_000, "EUR")), Ok(120_000));
        assert_eq!(stripe_amount(money(5_000, "JPY")), Ok(5_000));
        assert_eq!(stripe_amount(money(5_120, "KWD")), Ok(5_120));
        assert!(stripe_amount(money(5_124, "KWD")).is_err());
        // ISK: zero-decimal, sent with two decimals.
        assert_eq!(stripe_amount(money(5, "ISK")), Ok(500));
        // MGA: two decimals in ISO, whole units at Stripe.
        assert_eq!(stripe_amount(money(12_300, "MGA")), Ok(123));
        assert!(stripe_amount(money(12_345, "MGA")).is_err());
        assert!(stripe_amount(money(1_000, "LYD")).is_err());
        for (m, code) in [
            (120_000, "EUR"),
            (5_000, "JPY"),
            (5_120, "KWD"),
            (5, "ISK"),
            (12_300, "MGA"),
        ] {
            let orig = money(m, code);
            let sent = stripe_amount(orig).expect("representable");
            assert_eq!(
                money_from_stripe(sent, &code.to_ascii_lowercase()),
                Ok(orig)
            );
        }
        assert!(money_from_stripe(550, "isk").is_err());
    }

    #[test]
    fn form_fields_are_ordered_and_bracketed() {
        let mut metadata = BTreeMap::new();
        metadata.insert("invoice_number".to_owned(), "INV 1".to_owned());
        let s = NewCheckoutSession {
            amount: money(5_000, "JPY"),
            product_name: "Invoice INV 1".into(),
            client_reference_id: "INV 1".into(),
            metadata,
            customer_email: None,
            success_url: "https://x.example/ok".into(),
            cancel_url: Some("https://x.example/no".into()),
            expires_at: None,
            idempotency_key: None,
        };
        assert_eq!(
            s.form_body().expect("valid"),
            "mode=payment&line_items[0][price_data][currency]=jpy\
             &line_items[0][price_data][product_data][name]=Invoice%20INV%201\
             &line_items[0][price_data][unit_amount]=5000&line_items[0][quantity]=1\
             &client_reference_id=INV%201&metadata[invoice_number]=INV%201\
             &payment_intent_data[metadata][invoice_number]=INV%201\
             &success_url=https%3A%2F%2Fx.example%2Fok&cancel_url=https%3A%2F%2Fx.example%2Fno"
        );
    }

    #[test]
    fn signature_header_parsing() {
        let body = b"{}";
        let now = Timestamp::from_second(1_000_000).expect("ts");
        let ok = signature_header("whsec_x", 1_000_000, body);
        assert_eq!(
            verify_webhook("whsec_x", body, Some(&ok), now, DEFAULT_TOLERANCE),
            Ok(())
        );
        assert_eq!(
            verify_webhook("whsec_x", body, None, now, DEFAULT_TOLERANCE),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify_webhook("whsec_x", body, Some("v1=00"), now, DEFAULT_TOLERANCE),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_webhook("whsec_x", body, Some("t=1000000"), now, DEFAULT_TOLERANCE),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify_webhook("whsec_x", body, Some("t=abc,v1=00"), now, DEFAULT_TOLERANCE),
            Err(SignatureError::Malformed(_))
        ));
        assert_eq!(
            verify_webhook("whsec_y", body, Some(&ok), now, DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }
}
