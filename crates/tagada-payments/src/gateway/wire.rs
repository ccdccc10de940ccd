//! What the Razorpay and Stripe clients share: one way to build the HTTP
//! client, to turn an HTTP answer into bytes or a classified
//! [`GatewayError`], and to read the unix-second timestamps both APIs use.
//!
//! Classification: 401 is [`GatewayError::Unauthorized`]; 408, 429 and 5xx
//! and every transport failure (connect, timeout, reset) are
//! [`GatewayError::Transient`]; any other non-2xx is
//! [`GatewayError::Rejected`] with the gateway's own code, message and
//! parameter; a 2xx whose body we cannot read is
//! [`GatewayError::Malformed`]. Every message that leaves this module has
//! had the caller's secret scrubbed from it, even though neither gateway is
//! known to echo one.

use std::time::Duration;

use jiff::Timestamp;

use super::{Gateway, GatewayError};

/// Whole-request timeout: long enough for a slow gateway answer, short
/// enough that a stuck call does not hold a worker.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(15);
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The `status` of a [`GatewayError::Rejected`] built before sending: the
/// client refused the request itself (an amount the gateway cannot take,
/// a currency it does not list), so no HTTP status exists.
pub(crate) const REFUSED_LOCALLY: u16 = 0;

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TIMEOUT)
        .user_agent(concat!("tagada/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building fails only when the TLS backend cannot start; the
        // default client then fails the same way on first use.
        .unwrap_or_default()
}

/// The gateway's error envelope, reduced to what [`GatewayError`] keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub field: Option<String>,
}

/// How a client reads its gateway's error envelope (`None`: not one).
pub(crate) type ReadError = fn(&[u8]) -> Option<ErrorBody>;

/// Sends `req` and returns the body of a 2xx answer, or the classified
/// error. `secret` is scrubbed from every message.
pub(crate) async fn send(
    gateway: Gateway,
    req: reqwest::RequestBuilder,
    secret: &str,
    read_error: ReadError,
) -> Result<Vec<u8>, GatewayError> {
    let resp = req
        .send()
        .await
        .map_err(|e| transport(gateway, &e, secret))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| transport(gateway, &e, secret))?;
    if (200..300).contains(&status) {
        return Ok(bytes.to_vec());
    }
    let body = read_error(&bytes).unwrap_or_else(|| ErrorBody {
        message: Some(snippet(&bytes)),
        ..ErrorBody::default()
    });
    Err(classify(gateway, status, body, secret))
}

/// The error a non-2xx answer means.
pub(crate) fn classify(
    gateway: Gateway,
    status: u16,
    body: ErrorBody,
    secret: &str,
) -> GatewayError {
    let message = scrub(
        body.message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or("no error description"),
        secret,
    );
    match status {
        401 => GatewayError::Unauthorized { gateway, message },
        408 | 429 | 500..=599 => GatewayError::Transient {
            gateway,
            message: format!("HTTP {status}: {message}"),
        },
        _ => GatewayError::Rejected {
            gateway,
            status,
            code: body
                .code
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| format!("http_{status}")),
            message,
            field: body.field.filter(|f| !f.is_empty()),
        },
    }
}

/// A transport failure: nothing usable came back, so trying again later is
/// the only move. (Both gateways' create calls are safe to repeat: Razorpay
/// refuses a second link with the same `reference_id`, Stripe replays an
/// `Idempotency-Key`.)
pub(crate) fn transport(gateway: Gateway, e: &reqwest::Error, secret: &str) -> GatewayError {
    GatewayError::Transient {
        gateway,
        message: scrub(&error_chain(e), secret),
    }
}

pub(crate) fn malformed(gateway: Gateway, what: impl std::fmt::Display) -> GatewayError {
    GatewayError::Malformed {
        gateway,
        message: what.to_string(),
    }
}

/// A request the client will not send (see [`REFUSED_LOCALLY`]).
pub(crate) fn refused(
    gateway: Gateway,
    code: &str,
    message: impl Into<String>,
    field: Option<&str>,
) -> GatewayError {
    GatewayError::Rejected {
        gateway,
        status: REFUSED_LOCALLY,
        code: code.to_owned(),
        message: message.into(),
        field: field.map(str::to_owned),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The start of an unreadable body, for an error message.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    text.trim().to_owned()
}

/// `text` with every occurrence of `secret` masked.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 4 {
        return text.to_owned();
    }
    text.replace(secret, "[redacted]")
}

/// A unix-seconds field as an instant; `0` and negative values (Razorpay's
/// "not set") are `None`.
pub(crate) fn unix(secs: i64) -> Option<Timestamp> {
    if secs <= 0 {
        return None;
    }
    Timestamp::from_second(secs).ok()
}

/// Percent-encodes `s` for a form body or URL path segment: unreserved
/// characters (RFC 3986) stay, everything else becomes `%XX`; with
/// `keep_brackets`, `[` and `]` stay too (Stripe's bracket keys read
/// better that way and are accepted either way).
pub(crate) fn percent_encode(s: &str, keep_brackets: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_brackets && matches!(b, b'[' | b']'));
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_status() {
        let body = || ErrorBody {
            code: Some("BAD_REQUEST_ERROR".into()),
            message: Some("nope sk_test_123456".into()),
            field: Some("amount".into()),
        };
        let g = Gateway::Razorpay;
        assert!(matches!(
            classify(g, 401, body(), "x"),
            GatewayError::Unauthorized { .. }
        ));
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(
                classify(g, s, body(), "x"),
                GatewayError::Transient { .. }
            ));
        }
        match classify(g, 400, body(), "sk_test_123456") {
            GatewayError::Rejected {
                status,
                code,
                message,
                field,
                ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(code, "BAD_REQUEST_ERROR");
                assert_eq!(message, "nope [redacted]");
                assert_eq!(field.as_deref(), Some("amount"));
            }
            other => panic!("{other:?}"),
        }
        match classify(g, 404, ErrorBody::default(), "x") {
            GatewayError::Rejected { code, .. } => assert_eq!(code, "http_404"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(
            percent_encode("line_items[0][quantity]", true),
            "line_items[0][quantity]"
        );
        assert_eq!(
            percent_encode("a b@c/d?e={F}", false),
            "a%20b%40c%2Fd%3Fe%3D%7BF%7D"
        );
        assert_eq!(percent_encode("₹", false), "%E2%82%B9");
        assert_eq!(percent_encode("[x]", false), "%5Bx%5D");
    }

    #[test]
    fn unix_zero_is_unset() {
        assert_eq!(unix(0), None);
        assert_eq!(
            unix(1_764_547_200).map(|t| t.as_second()),
            Some(1_764_547_200)
        );
    }
}
