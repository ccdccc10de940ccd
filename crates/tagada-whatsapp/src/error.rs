//! Cloud API errors: Meta's error envelope, and what each error code means
//! for a sender. The class comes from the error code, never from the HTTP
//! status alone (Meta answers most errors with a 400, whatever they mean).

use std::time::Duration;

use serde::Deserialize;

/// The `error` object of Meta's error envelope (`{"error": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub code: i64,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub error_user_title: Option<String>,
    #[serde(default)]
    pub error_user_msg: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
    #[serde(default)]
    pub fbtrace_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub messaging_product: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    pub error: GraphError,
}

impl GraphError {
    /// The most specific human text Meta gave.
    pub fn detail(&self) -> String {
        let details = self
            .error_data
            .as_ref()
            .and_then(|d| d.details.as_deref())
            .filter(|d| !d.is_empty());
        match details {
            Some(d) if d != self.message => format!("{} ({}): {d}", self.message, self.code),
            _ => format!("{} ({})", self.message, self.code),
        }
    }
}

/// What an error means for the message and for the sender, from its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Not accepted because of a rate limit (throughput, pair rate, spam
    /// rate, API call budget). Retry later; the message was not sent.
    RateLimited,
    /// Not accepted because of a temporary fault on Meta's side. Retry with
    /// backoff; the message was not sent.
    Transient,
    /// Refused for this recipient (not a WhatsApp user, outside the 24-hour
    /// window for free-form text, chose not to deliver, unsupported type...).
    /// Never retried as is: the reminder fails with the reason.
    Recipient,
    /// The template is missing, not approved, paused or disabled, or does not
    /// take the parameters sent. Every message using it would fail the same
    /// way: hold that template's messages and alert a person.
    Template,
    /// The access token is invalid or expired, or lacks a permission. Stop
    /// all sending and alert a person (a new token is needed).
    Unauthorized,
    /// The business account cannot send (locked, payment method, number not
    /// registered, policy block). Stop sending and alert a person.
    Account,
    /// A request we built wrongly (invalid parameter, missing field). A bug
    /// on our side: the message fails and the error is logged loudly.
    BadRequest,
}

impl ErrorClass {
    /// Whether the same request may simply be sent again later.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::RateLimited | ErrorClass::Transient)
    }

    /// Whether sending should stop for every message until a person acts.
    pub fn stops_sending(self) -> bool {
        matches!(self, ErrorClass::Unauthorized | ErrorClass::Account)
    }

    /// What the dispatcher does about it, in one line (for docs and alerts).
    pub fn action(self) -> &'static str {
        match self {
            ErrorClass::RateLimited => "not sent; retried after the back-off",
            ErrorClass::Transient => "not sent; retried with exponential back-off and jitter",
            ErrorClass::Recipient => "not sent to this buyer; the reminder fails with the reason",
            ErrorClass::Template => {
                "not sent; messages using this template are held and a person is alerted"
            }
            ErrorClass::Unauthorized => {
                "sending stops and a person is alerted: the access token must be replaced"
            }
            ErrorClass::Account => {
                "sending stops and a person is alerted: the business account cannot send"
            }
            ErrorClass::BadRequest => "not sent; the reminder fails and the error is logged",
        }
    }

    /// Meta's own retry hint for rate limits, as a floor for the back-off.
    pub fn min_backoff(self, code: i64) -> Option<Duration> {
        match (self, code) {
            // Pair rate limit: one message per recipient every ~6 seconds.
            (ErrorClass::RateLimited, 131056) => Some(Duration::from_secs(6)),
            // Throughput: the per-number limit resets within the second.
            (ErrorClass::RateLimited, 130429) => Some(Duration::from_secs(1)),
            // API call budgets (4, 80007) and spam limits reset far slower.
            (ErrorClass::RateLimited, 4 | 80007) => Some(Duration::from_secs(60)),
            (ErrorClass::RateLimited, 131048) => Some(Duration::from_secs(15 * 60)),
            (ErrorClass::RateLimited, _) => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

/// Classifies a Graph API error by its code (Meta's "Error codes" reference
/// for the Cloud API). Unknown codes fall back on the code's family, then on
/// the HTTP status.
pub fn classify(code: i64, http_status: u16) -> ErrorClass {
    use ErrorClass::*;
    match code {
        // Authorization: expired or invalid token, missing permission.
        0 | 190 | 10 | 200..=299 => Unauthorized,
        // Throttling: API calls (4), WABA rate limit (80007), throughput
        // (130429), pair rate (131056), spam rate (131048).
        4 | 80007 | 130429 | 131048 | 131056 => RateLimited,
        // Meta-side faults: unknown/service errors, "something went wrong",
        // service unavailable, server temporarily unavailable, maintenance.
        1 | 2 | 131000 | 131016 | 131057 | 133004 => Transient,
        // The recipient: undeliverable, re-engagement window, ecosystem
        // engagement, unsupported type, sender = recipient, experiment,
        // stopped marketing messages, media the buyer's phone could not fetch.
        131021 | 131026 | 131047 | 131049 | 131050 | 131051 | 131052 | 130472 => Recipient,
        // Templates: parameter count, missing translation, hydrated text too
        // long, format policy, parameter format, paused, disabled, and the
        // rest of the 132xxx family.
        132000..=132999 => Template,
        // The account: capability (3), policy block (368), account locked,
        // payment, display name, certificate, registration (133xxx except the
        // transient 133004).
        3 | 368 | 131031 | 131037 | 131042 | 131045 | 133000..=133999 => Account,
        // Request building: invalid parameter, object missing, required
        // parameter missing, parameter value invalid, upload errors.
        33 | 100 | 131008 | 131009 | 131053 => BadRequest,
        _ => match http_status {
            401 | 403 => Unauthorized,
            429 => RateLimited,
            500..=599 => Transient,
            _ => BadRequest,
        },
    }
}

/// Why a call to the Cloud API did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Meta answered with its error envelope.
    #[error("WhatsApp Cloud API error {}: {}", .error.code, .error.detail())]
    Api {
        class: ErrorClass,
        http_status: u16,
        error: Box<GraphError>,
    },
    /// Meta answered with a status and a body that is not its envelope (a
    /// proxy's page, an outage). A 500/502/503 means the request was not
    /// processed; anything else is reported as it is.
    #[error("WhatsApp Cloud API answered HTTP {http_status} without an error envelope: {snippet}")]
    Http { http_status: u16, snippet: String },
    /// The connection could not be made: nothing was sent, retry is safe.
    #[error("cannot reach the WhatsApp Cloud API: {0}")]
    Connect(String),
    /// The request may have reached Meta (timeout, connection dropped before
    /// the answer): the outcome is unknown and the message must not be sent
    /// again blindly.
    #[error("no answer from the WhatsApp Cloud API after the request was sent: {0}")]
    Ambiguous(String),
    /// A 2xx answer we could not read.
    #[error("unreadable answer from the WhatsApp Cloud API: {0}")]
    Decode(String),
    /// The request could not be built (bad base URL, unreadable file...).
    #[error("{0}")]
    Request(String),
}

impl ClientError {
    /// The class of an API error, the class implied by an envelope-less
    /// status, `Transient` for a failed connection; `None` when the outcome
    /// is unknown or the answer unreadable.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            ClientError::Api { class, .. } => Some(*class),
            ClientError::Http { http_status, .. } => match http_status {
                500 | 502 | 503 => Some(ErrorClass::Transient),
                429 => Some(ErrorClass::RateLimited),
                401 | 403 => Some(ErrorClass::Unauthorized),
                // 504 and friends: a gateway gave up waiting; Meta may have
                // processed the request.
                500..=599 => None,
                _ => Some(ErrorClass::BadRequest),
            },
            ClientError::Connect(_) => Some(ErrorClass::Transient),
            ClientError::Ambiguous(_) | ClientError::Decode(_) => None,
            ClientError::Request(_) => Some(ErrorClass::BadRequest),
        }
    }

    /// The Graph error code, when Meta gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ClientError::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// Whether the message certainly was not accepted, so that sending it
    /// again cannot duplicate it.
    pub fn not_accepted(&self) -> bool {
        self.class().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_decides_not_the_status() {
        // Meta sends throughput errors with a 400 as often as a 429.
        assert_eq!(classify(130429, 400), ErrorClass::RateLimited);
        assert_eq!(classify(131056, 400), ErrorClass::RateLimited);
        assert_eq!(classify(80007, 400), ErrorClass::RateLimited);
        assert_eq!(classify(4, 403), ErrorClass::RateLimited);
        assert_eq!(classify(190, 400), ErrorClass::Unauthorized);
        assert_eq!(classify(190, 401), ErrorClass::Unauthorized);
        assert_eq!(classify(131000, 500), ErrorClass::Transient);
        assert_eq!(classify(131000, 400), ErrorClass::Transient);
        assert_eq!(classify(133004, 503), ErrorClass::Transient);
    }

    #[test]
    fn recipient_template_account_and_request_families() {
        for code in [131026, 131047, 131049, 131051, 131050, 130472, 131021] {
            assert_eq!(classify(code, 400), ErrorClass::Recipient, "{code}");
        }
        for code in [132000, 132001, 132005, 132007, 132012, 132015, 132016] {
            assert_eq!(classify(code, 400), ErrorClass::Template, "{code}");
        }
        for code in [368, 131031, 131042, 133010] {
            assert_eq!(classify(code, 400), ErrorClass::Account, "{code}");
        }
        for code in [100, 131008, 131009, 33] {
            assert_eq!(classify(code, 400), ErrorClass::BadRequest, "{code}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_on_the_status() {
        assert_eq!(classify(999_999, 500), ErrorClass::Transient);
        assert_eq!(classify(999_999, 429), ErrorClass::RateLimited);
        assert_eq!(classify(999_999, 401), ErrorClass::Unauthorized);
        assert_eq!(classify(999_999, 400), ErrorClass::BadRequest);
    }

    #[test]
    fn only_rate_limits_and_faults_are_retried() {
        use ErrorClass::*;
        for c in [RateLimited, Transient] {
            assert!(c.is_retryable());
            assert!(!c.stops_sending());
        }
        for c in [Recipient, Template, BadRequest] {
            assert!(!c.is_retryable());
            assert!(!c.stops_sending());
        }
        for c in [Unauthorized, Account] {
            assert!(!c.is_retryable());
            assert!(c.stops_sending());
        }
        assert_eq!(
            RateLimited.min_backoff(131056),
            Some(Duration::from_secs(6))
        );
        assert_eq!(Transient.min_backoff(131000), None);
    }

    #[test]
    fn envelope_less_answers() {
        let http = |s| ClientError::Http {
            http_status: s,
            snippet: String::new(),
        };
        assert_eq!(http(503).class(), Some(ErrorClass::Transient));
        assert_eq!(http(504).class(), None, "a gateway timeout is ambiguous");
        assert!(!http(504).not_accepted());
        assert!(!ClientError::Ambiguous("timed out".into()).not_accepted());
        assert!(ClientError::Connect("refused".into()).not_accepted());
    }

    #[test]
    fn reads_metas_envelope() {
        let body = r#"{"error":{"message":"(#132000) Number of parameters does not match the expected number of params","type":"OAuthException","code":132000,"error_data":{"messaging_product":"whatsapp","details":"body: number of localizable_params (3) does not match the expected number of params (4)"},"fbtrace_id":"AbC"}}"#;
        let e: Envelope = serde_json::from_str(body).unwrap();
        assert_eq!(e.error.code, 132000);
        assert!(e.error.detail().contains("localizable_params (3)"));
    }
}
