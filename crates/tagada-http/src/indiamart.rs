//! IndiaMART's Push API: `POST /webhooks/indiamart/<token>`.
//!
//! IndiaMART signs nothing, so the secret token in the path (compared in
//! constant time) is what authenticates the call; a wrong token gets 404,
//! like a path that does not exist. The lead is stored before the answer
//! (a lead pushed and pulled is stored once), then IndiaMART gets the 200
//! and acknowledgement it expects. An unreadable body gets 400 and is
//! recorded; a store failure gets 500 (the pull fetches the lead anyway).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use subtle::ConstantTimeEq;
use tagada_app::leads::{PushError, ingest_indiamart_push};
use tagada_sources::indiamart::PUSH_ACK;

use crate::HttpState;

pub(crate) fn routes() -> Router<HttpState> {
    Router::new().route("/webhooks/indiamart/{token}", post(push))
}

async fn push(State(state): State<HttpState>, Path(token): Path<String>, body: Bytes) -> Response {
    let Some(expected) = state.indiamart_push.as_ref().and_then(|s| s.expose()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bool::from(token.as_bytes().ct_eq(expected.as_bytes())) {
        tracing::warn!("IndiaMART push refused: wrong token in the path");
        return StatusCode::NOT_FOUND.into_response();
    }
    match ingest_indiamart_push(state.store.as_ref(), &body, state.clock.now()).await {
        Ok(report) => {
            tracing::info!(
                new = report.leads_new,
                duplicate = report.leads_duplicate,
                "IndiaMART push stored"
            );
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                PUSH_ACK,
            )
                .into_response()
        }
        Err(PushError::Unreadable(e)) => {
            tracing::warn!(error = %e, "IndiaMART push unreadable (recorded)");
            StatusCode::BAD_REQUEST.into_response()
        }
        Err(PushError::Store(e)) => {
            tracing::error!(error = %e, "IndiaMART push not stored");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
