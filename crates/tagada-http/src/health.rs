//! `GET /healthz`: 200 when the process runs and the database answers.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::json;

use crate::HttpState;

pub(crate) fn routes() -> Router<HttpState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<HttpState>) -> impl IntoResponse {
    match state.store.outbox_counts().await {
        Ok(counts) => {
            let outbox: serde_json::Map<String, serde_json::Value> = counts
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), json!(n)))
                .collect();
            (
                StatusCode::OK,
                Json(json!({ "status": "ok", "database": "ok", "outbox": outbox })),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "degraded", "database": "unreachable" })),
            )
        }
    }
}
