//! Meta's webhook: the GET handshake and signed POSTs.
//!
//! A POST is checked against `X-Hub-Signature-256` over the exact bytes
//! received before anything is read or stored (401 otherwise), then every
//! event is recorded under its key and applied, and the answer goes back
//! at once: inbound messages are acted on by the inbox task, woken here.
//! A store failure answers 500 so that Meta delivers the batch again
//! (events already recorded are then duplicates and change nothing).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use tagada_app::webhooks::{IngestError, ingest_whatsapp};
use tagada_whatsapp::webhook::{SIGNATURE_HEADER, verify_subscription};

use crate::HttpState;

pub(crate) fn routes() -> Router<HttpState> {
    Router::new().route("/webhooks/whatsapp", get(handshake).post(notification))
}

async fn handshake(
    State(state): State<HttpState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(hooks) = &state.whatsapp else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let expected = hooks.verify_token.expose().unwrap_or_default();
    match verify_subscription(
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token").map(String::as_str),
        q.get("hub.challenge").map(String::as_str),
        expected,
    ) {
        Some(challenge) if !expected.is_empty() => {
            tracing::info!("WhatsApp webhook subscription verified");
            (StatusCode::OK, challenge.to_string()).into_response()
        }
        _ => {
            tracing::warn!("WhatsApp webhook handshake refused: wrong mode or verify token");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

async fn notification(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(hooks) = &state.whatsapp else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(secret) = hooks.app_secret.expose() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let now = state.clock.now();
    match ingest_whatsapp(
        state.store.as_ref(),
        secret.as_bytes(),
        signature,
        &body,
        now,
    )
    .await
    {
        Ok(report) => {
            if report.inbound_new > 0 {
                state.inbox.notify_one();
            }
            tracing::debug!(?report, "WhatsApp webhook applied");
            (StatusCode::OK, Json(json!(report))).into_response()
        }
        Err(IngestError::Signature(e)) => {
            tracing::warn!(error = %e, bytes = body.len(), "WhatsApp webhook refused");
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response()
        }
        Err(IngestError::Payload(e)) => {
            tracing::warn!(error = %e, "signed WhatsApp webhook that cannot be read");
            (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response()
        }
        Err(IngestError::Store(e)) => {
            tracing::error!(error = %e, "WhatsApp webhook not recorded; Meta will retry");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "not recorded; retry" })),
            )
                .into_response()
        }
    }
}
