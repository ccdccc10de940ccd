//! Graph API error envelopes, as the Cloud API returns them.
//!
//! HTTP statuses follow the "HTTP status code" column of Meta's WhatsApp
//! error-code reference as far as we could establish it:
//!
//! | code | meaning | HTTP |
//! | --- | --- | --- |
//! | 190 | access token invalid or missing | 401 |
//! | 100 (+ subcode 33) | unknown object id / invalid parameter | 400 |
//! | 1 | API unknown | 400 |
//! | 2 | API service temporarily unavailable | 503 |
//! | 130429 | throughput rate limit hit | 400 (see [`ApiError::rate_limited`]) |
//! | 131056 | pair rate limit hit | 400 |
//! | 131000 | something went wrong | 500 |
//! | 131008 | required parameter is missing | 400 |
//! | 131009 | parameter value is not valid | 400 |
//! | 131047 | re-engagement message (outside the 24 h window) | 400 |
//! | 132000 | number of parameters does not match | 400 |
//! | 132001 | template does not exist in the translation | 404 |
//! | 132012 | parameter format does not match the template | 400 |
//! | 132015 / 132016 | template paused / disabled | 400 |
//! | 132018 | issue with the parameters (newlines, tabs, 5+ spaces) | 400 |

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// One error answer from the fake, before it gets its `fbtrace_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub http: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub error_type: &'static str,
    /// The full `message` field, e.g. `(#132000) Number of parameters ...`.
    pub message: String,
    /// `error_data.details`; `None` leaves `error_data` out (Graph-level errors).
    pub details: Option<String>,
}

impl ApiError {
    /// A WhatsApp-level error: message `(#code) title`, `error_data` present.
    pub fn whatsapp(http: u16, code: i64, title: &str, details: impl Into<String>) -> Self {
        ApiError {
            http,
            code,
            subcode: None,
            error_type: "OAuthException",
            message: format!("(#{code}) {title}"),
            details: Some(details.into()),
        }
    }

    pub fn invalid_token(present: bool) -> Self {
        let message = if present {
            "Invalid OAuth access token - Cannot parse access token"
        } else {
            "An access token is required to request this resource."
        };
        ApiError {
            http: 401,
            code: 190,
            subcode: None,
            error_type: "OAuthException",
            message: message.to_owned(),
            details: None,
        }
    }

    /// Graph's answer for an object id that does not exist (or is not ours).
    pub fn unknown_object(method: &str, id: &str) -> Self {
        ApiError {
            http: 400,
            code: 100,
            subcode: Some(33),
            error_type: "GraphMethodException",
            message: format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
            details: None,
        }
    }

    pub fn unknown_path(path: &str) -> Self {
        ApiError {
            http: 400,
            code: 2500,
            subcode: None,
            error_type: "OAuthException",
            message: format!("Unknown path components: {path}"),
            details: None,
        }
    }

    pub fn invalid_parameter(details: impl Into<String>) -> Self {
        Self::whatsapp(400, 100, "Invalid parameter", details)
    }

    /// Code 130429: Meta's table lists HTTP 400 for it (only the Graph-level
    /// code 4 is sometimes shown as 429); we answer 400, and clients must
    /// classify by `code`, never by HTTP status.
    pub fn rate_limited() -> Self {
        Self::whatsapp(
            400,
            130429,
            "Rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number in a short period of time",
        )
    }

    pub fn pair_rate_limited() -> Self {
        Self::whatsapp(
            400,
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time",
        )
    }

    pub fn server_error() -> Self {
        Self::whatsapp(
            500,
            131000,
            "Something went wrong",
            "Message failed to send due to an unknown error. When setting a business public key, it either failed to calculate the signature, call the GraphQL endpoint, or the GraphQL endpoint returned an error.",
        )
    }

    pub fn service_unavailable() -> Self {
        Self::whatsapp(
            503,
            2,
            "Service temporarily unavailable",
            "Temporary due to downtime or due to being overloaded.",
        )
    }

    pub fn re_engagement() -> Self {
        Self::whatsapp(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        )
    }

    pub fn required_missing(details: impl Into<String>) -> Self {
        Self::whatsapp(400, 131008, "Required parameter is missing", details)
    }

    pub fn invalid_value(details: impl Into<String>) -> Self {
        Self::whatsapp(400, 131009, "Parameter value is not valid", details)
    }

    pub fn param_count(details: impl Into<String>) -> Self {
        Self::whatsapp(
            400,
            132000,
            "Number of parameters does not match the expected number of params",
            details,
        )
    }

    pub fn template_missing(name: &str, language: &str) -> Self {
        Self::whatsapp(
            404,
            132001,
            "Template name does not exist in the translation",
            format!("template name ({name}) does not exist in {language}"),
        )
    }

    pub fn param_format(details: impl Into<String>) -> Self {
        Self::whatsapp(
            400,
            132012,
            "Parameter format does not match format in the created template",
            details,
        )
    }

    pub fn template_paused(name: &str) -> Self {
        Self::whatsapp(
            400,
            132015,
            "Template is Paused",
            format!(
                "Template {name} is paused due to low quality so it cannot be sent in a template message."
            ),
        )
    }

    pub fn template_disabled(name: &str) -> Self {
        Self::whatsapp(
            400,
            132016,
            "Template is disabled",
            format!(
                "Template {name} has been paused too many times due to low quality and is now permanently disabled."
            ),
        )
    }

    pub fn param_text_invalid() -> Self {
        Self::whatsapp(
            400,
            132018,
            "There was an issue with the parameters in your template.",
            "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
        )
    }

    /// The JSON body Meta sends.
    pub fn envelope(&self, fbtrace_id: &str) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        });
        if let Some(sub) = self.subcode {
            error["error_subcode"] = json!(sub);
        }
        if let Some(details) = &self.details {
            error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
        }
        error["fbtrace_id"] = json!(fbtrace_id);
        json!({ "error": error })
    }

    pub fn into_response(self, fbtrace_id: &str) -> Response {
        let status = StatusCode::from_u16(self.http).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, axum::Json(self.envelope(fbtrace_id))).into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(fbtrace_id) {
            headers.insert("x-fb-trace-id", v);
        }
        if self.http == 401 {
            let challenge = format!(
                "OAuth \"Facebook Platform\" \"invalid_token\" \"{}\"",
                self.message.replace('"', "'")
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}

/// Title and details of an asynchronous failure (status `failed`) by code.
pub(crate) fn async_failure_text(code: i64) -> (&'static str, &'static str) {
    match code {
        131026 => (
            "Message undeliverable",
            "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted the new Terms of Service; the recipient is using an old WhatsApp version.",
        ),
        131049 => (
            "This message was not delivered to maintain healthy ecosystem engagement.",
            "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        ),
        131050 => (
            "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business",
            "The user has stopped marketing messages from this business.",
        ),
        131053 => (
            "Media upload error",
            "Unable to upload the media used in the message.",
        ),
        130472 => (
            "User's number is part of an experiment",
            "Failed to send message because this user's phone number is part of an experiment",
        ),
        131000 => (
            "Something went wrong",
            "Message failed to send due to an unknown error.",
        ),
        _ => (
            "Message failed to send",
            "The message could not be delivered.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_envelope_has_error_data_and_prefix() {
        let v = ApiError::param_count("body: 3 vs 4").envelope("Atrace");
        assert_eq!(v["error"]["code"], 132000);
        assert_eq!(v["error"]["type"], "OAuthException");
        assert_eq!(v["error"]["error_data"]["messaging_product"], "whatsapp");
        assert_eq!(v["error"]["error_data"]["details"], "body: 3 vs 4");
        assert_eq!(v["error"]["fbtrace_id"], "Atrace");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("(#132000) "))
        );
        assert!(v["error"].get("error_subcode").is_none());
    }

    #[test]
    fn graph_errors_carry_subcode_and_no_error_data() {
        let v = ApiError::unknown_object("post", "42").envelope("t");
        assert_eq!(v["error"]["code"], 100);
        assert_eq!(v["error"]["error_subcode"], 33);
        assert!(v["error"].get("error_data").is_none());
        let v = ApiError::invalid_token(true).envelope("t");
        assert_eq!(v["error"]["code"], 190);
    }
}
