//! What the payment gateway fakes ([`crate::razorpay`], [`crate::stripe`])
//! share: signed webhook delivery with scripted misbehaviour
//! ([`HookBehaviour`]: duplicates, holding and out-of-order release, delays,
//! retries), the log of every delivery ([`HookDelivery`]) for replay, the
//! record of every API request ([`RecordedRequest`]) and scripted API
//! faults ([`ApiFault`]).
//!
//! A delivery is one event POSTed to the configured URL, retried on a
//! non-2xx answer or a connection error up to
//! [`HookBehaviour::max_attempts`] times with a doubling backoff, and
//! logged once with its final status. The signature headers are computed
//! at each attempt (Stripe signs with the time of sending); the event id
//! and body never change. A duplicate is a second delivery of the same
//! event, logged as its own.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde_json::Value;
use tokio::task::JoinHandle;

/// How the fake sends webhooks. [`Default`]: at once, once each, four
/// attempts 20 ms apart (doubling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookBehaviour {
    /// Deliver every event twice (same id, same body).
    pub duplicate: bool,
    /// Queue events instead of sending them, until
    /// `release_held` sends them (shuffled if asked).
    pub hold: bool,
    /// Wait this long before each delivery.
    pub delay: Duration,
    /// Attempts per delivery (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time, capped at 2 s.
    pub retry_backoff: Duration,
}

impl Default for HookBehaviour {
    fn default() -> Self {
        HookBehaviour {
            duplicate: false,
            hold: false,
            delay: Duration::ZERO,
            max_attempts: 4,
            retry_backoff: Duration::from_millis(20),
        }
    }
}

/// One webhook delivery: what was POSTed where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookDelivery {
    pub url: String,
    /// The gateway's event id (Razorpay's `X-Razorpay-Event-Id`, Stripe's
    /// `evt_...`).
    pub event_id: String,
    /// `payment_link.paid`, `checkout.session.completed`...
    pub event_type: String,
    /// The headers of the last attempt, as sent.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// The receiver's last answer; `None` when it never answered.
    pub status: Option<u16>,
    pub attempts: u32,
    /// The last transport error, if any.
    pub error: Option<String>,
}

impl HookDelivery {
    /// Whether the receiver answered 2xx.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The body as JSON (`Null` if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One API request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// As received, except `authorization`, whose credentials are masked
    /// (`Basic ***`, `Bearer ***`).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The HTTP status the fake answered.
    pub status: u16,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The request's headers for [`RecordedRequest::headers`].
pub(crate) fn recorded_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            let value = if k == http::header::AUTHORIZATION {
                match value.split_once(' ') {
                    Some((scheme, _)) => format!("{scheme} ***"),
                    None => "***".to_owned(),
                }
            } else {
                value
            };
            (k.as_str().to_owned(), value)
        })
        .collect()
}

/// A scripted answer to one coming API request (any endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFault {
    /// This HTTP status with the gateway's error envelope, nothing done
    /// (429 and 5xx are what a client should retry).
    Status(u16),
    /// HTTP 200 with a truncated JSON body, nothing done.
    MalformedJson,
    /// Wait this long, then handle the request normally.
    Slow(Duration),
}

/// Computes an event's headers at the time of an attempt.
pub(crate) type Signer = Arc<dyn Fn(&[u8]) -> Vec<(String, String)> + Send + Sync>;

/// An event on its way out.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub event_id: String,
    pub event_type: String,
    pub body: Vec<u8>,
    pub sign: Signer,
}

struct HooksState {
    behaviour: HookBehaviour,
    held: Vec<Outgoing>,
    log: Vec<HookDelivery>,
}

/// The delivery engine of one fake.
pub(crate) struct Hooks {
    url: Option<String>,
    http: reqwest::Client,
    state: Mutex<HooksState>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Hooks {
    pub fn new(url: Option<String>, behaviour: HookBehaviour) -> std::io::Result<Hooks> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Hooks {
            url,
            http,
            state: Mutex::new(HooksState {
                behaviour,
                held: Vec::new(),
                log: Vec::new(),
            }),
            tasks: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HooksState> {
        self.state.lock().expect("webhook state mutex poisoned")
    }

    pub fn behaviour(&self) -> HookBehaviour {
        self.lock().behaviour.clone()
    }

    pub fn set_behaviour(&self, b: HookBehaviour) {
        self.lock().behaviour = b;
    }

    pub fn deliveries(&self) -> Vec<HookDelivery> {
        self.lock().log.clone()
    }

    pub fn held(&self) -> usize {
        self.lock().held.len()
    }

    /// Sends (or holds) one event, duplicated if so configured; returns
    /// when every copy is delivered or given up.
    pub async fn emit(&self, out: Outgoing) {
        let Some(url) = self.url.clone() else {
            return;
        };
        let behaviour = {
            let mut st = self.lock();
            let copies = if st.behaviour.duplicate { 2 } else { 1 };
            if st.behaviour.hold {
                for _ in 0..copies {
                    st.held.push(out.clone());
                }
                return;
            }
            st.behaviour.clone()
        };
        let copies = if behaviour.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            self.deliver(&url, &out, &behaviour).await;
        }
    }

    /// [`Hooks::emit`] without waiting (for events an API call causes: the
    /// gateway answers the call first). [`Hooks::flush`] waits for them.
    pub fn emit_in_background(self: &Arc<Self>, events: Vec<Outgoing>) {
        if events.is_empty() || self.url.is_none() {
            return;
        }
        let hooks = self.clone();
        let task = tokio::spawn(async move {
            for out in events {
                hooks.emit(out).await;
            }
        });
        let mut tasks = self.tasks.lock().expect("webhook task list mutex poisoned");
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Waits until every background delivery has ended.
    pub async fn flush(&self) {
        loop {
            let tasks: Vec<JoinHandle<()>> =
                std::mem::take(&mut *self.tasks.lock().expect("webhook task list mutex poisoned"));
            if tasks.is_empty() {
                return;
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }

    /// Sends every held event, in the order held or shuffled with `seed`;
    /// returns how many.
    pub async fn release_held(&self, shuffle_seed: Option<u64>) -> usize {
        let (mut held, behaviour) = {
            let mut st = self.lock();
            (std::mem::take(&mut st.held), st.behaviour.clone())
        };
        if let Some(seed) = shuffle_seed {
            held.shuffle(&mut StdRng::seed_from_u64(seed));
        }
        let Some(url) = self.url.clone() else {
            return 0;
        };
        for out in &held {
            self.deliver(&url, out, &behaviour).await;
        }
        held.len()
    }

    /// POSTs every past delivery again, byte for byte (headers included:
    /// the old signatures); returns how many.
    pub async fn redeliver_all(&self) -> usize {
        let (past, behaviour) = {
            let st = self.lock();
            (st.log.clone(), st.behaviour.clone())
        };
        for d in &past {
            let headers = d.headers.clone();
            let out = Outgoing {
                event_id: d.event_id.clone(),
                event_type: d.event_type.clone(),
                body: d.body.clone(),
                sign: Arc::new(move |_: &[u8]| headers.clone()),
            };
            self.deliver(&d.url, &out, &behaviour).await;
        }
        past.len()
    }

    async fn deliver(&self, url: &str, out: &Outgoing, b: &HookBehaviour) {
        if !b.delay.is_zero() {
            tokio::time::sleep(b.delay).await;
        }
        let mut attempts = 0;
        let mut backoff = b.retry_backoff;
        let (mut status, mut error, mut headers);
        loop {
            attempts += 1;
            headers = (out.sign)(&out.body);
            let mut req = self.http.post(url).body(out.body.clone());
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            match req.send().await {
                Ok(resp) => {
                    status = Some(resp.status().as_u16());
                    error = None;
                    // Read the answer so the connection can be reused.
                    let _ = resp.bytes().await;
                }
                Err(e) => {
                    status = None;
                    error = Some(e.to_string());
                }
            }
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            if ok || attempts >= b.max_attempts.max(1) {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        if !status.is_some_and(|s| (200..300).contains(&s)) {
            tracing::debug!(url, event = %out.event_type, ?status, ?error, "gateway fake: webhook not accepted");
        }
        self.lock().log.push(HookDelivery {
            url: url.to_owned(),
            event_id: out.event_id.clone(),
            event_type: out.event_type.clone(),
            headers,
            body: out.body.clone(),
            status,
            attempts,
            error,
        });
    }
}

/// `len` random characters from `[0-9A-Za-z]`, the alphabet of both
/// gateways' ids.
pub(crate) fn random_id(rng: &mut impl Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Lowercase hex HMAC-SHA256 of `parts` (concatenated) keyed with `key`.
pub(crate) fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this branch is unreachable.
        return String::new();
    };
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Standard base64 with padding (RFC 4648).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escapes text for the fakes' hosted checkout pages.
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A URL-encoded form body (a hosted page's POST), as a map.
pub(crate) fn url_form(body: &[u8]) -> std::collections::HashMap<String, String> {
    crate::stripe::decode_form(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn hmac_matches_the_razorpay_sdk_vector() {
        // razorpay-python's test_verify_payment_signature vector.
        assert_eq!(
            hmac_hex(b"key_secret", &[b"fake_order_id|fake_payment_id"]),
            "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"
        );
    }

    #[test]
    fn ids_use_the_alphabet() {
        let mut rng = StdRng::seed_from_u64(1);
        let id = random_id(&mut rng, 14);
        assert_eq!(id.len(), 14);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn authorization_is_masked() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer sk_test_123"),
        );
        assert_eq!(
            recorded_headers(&h),
            vec![("authorization".to_owned(), "Bearer ***".to_owned())]
        );
    }
}
