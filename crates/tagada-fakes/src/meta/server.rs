//! The HTTP side: our own accept loop (so a handler can close its
//! connection without answering) and the Graph API handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rand::RngExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::errors::ApiError;
use super::templates::check_template_send;
use super::{
    AcceptedMessage, Fault, Shared, UploadedMedia, multipart, stopped, wa_id_of, webhooks,
};

const MAX_MESSAGE_BODY: usize = 4 * 1024 * 1024;
const MAX_MEDIA_BODY: usize = 100 * 1024 * 1024;
const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Lets a handler ask its connection task to close the socket unanswered.
#[derive(Debug, Clone)]
struct ConnHandle(Arc<Notify>);

pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shutdown: watch::Receiver<bool>,
) {
    let stop = stopped(shutdown.clone());
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "meta fake: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut stop => return,
        };
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let drop_signal = Arc::new(Notify::new());
            let handle = ConnHandle(drop_signal.clone());
            let service =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(handle.clone());
                    let svc = TowerToHyperService::new(router.clone());
                    async move { svc.call(req).await }
                });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = conn => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "meta fake: connection ended with an error");
                    }
                }
                // Dropping the connection future closes the socket.
                () = drop_signal.notified() => {}
                () = stopped(shutdown) => {}
            }
        });
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{version}/{object}/messages", post(send_message))
        .route("/{version}/{object}/media", post(upload_media))
        .route("/{version}/{object}/message_templates", get(list_templates))
        .fallback(fallback)
        .with_state(shared)
}

fn error(shared: &Shared, e: ApiError) -> Response {
    let trace = shared.lock().fbtrace_id();
    e.into_response(&trace)
}

fn version_ok(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        })
}

fn check_bearer(
    shared: &Shared,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), ApiError> {
    let token = match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().unwrap_or("");
            let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(ApiError::invalid_token(true));
            }
            Some(token.trim())
        }
        None => query_token,
    };
    match token {
        Some(t) if t == shared.cfg.access_token => Ok(()),
        Some(_) => Err(ApiError::invalid_token(true)),
        None => Err(ApiError::invalid_token(false)),
    }
}

/// Close the connection without a response; never resolves when it works.
async fn drop_connection(conn: Option<ConnHandle>) -> Response {
    match conn {
        Some(ConnHandle(signal)) => {
            signal.notify_one();
            std::future::pending().await
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn send_message(
    State(shared): State<Arc<Shared>>,
    Path((version, object)): Path<(String, String)>,
    req: Request,
) -> Response {
    let conn = req.extensions().get::<ConnHandle>().cloned();
    let (parts, body) = req.into_parts();
    // Read the whole request before anything else.
    let body = axum::body::to_bytes(body, MAX_MESSAGE_BODY).await;
    let fault = {
        let mut st = shared.lock();
        st.requests += 1;
        st.faults.pop_front()
    };
    let Ok(body) = body else {
        return error(
            &shared,
            ApiError::invalid_parameter("The request body could not be read or is too large."),
        );
    };
    let mut drop_after = false;
    match fault {
        None => {}
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::DropAfterRead) => drop_after = true,
        Some(Fault::DropBeforeAccept) => return drop_connection(conn).await,
        Some(Fault::RateLimited) => return error(&shared, ApiError::rate_limited()),
        Some(Fault::PairRateLimited) => return error(&shared, ApiError::pair_rate_limited()),
        Some(Fault::ServerError) => return error(&shared, ApiError::server_error()),
        Some(Fault::ServiceUnavailable) => return error(&shared, ApiError::service_unavailable()),
        Some(Fault::MalformedJson) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":",
            )
                .into_response();
        }
        Some(Fault::Error {
            http,
            code,
            subcode,
            message,
        }) => {
            let e = ApiError {
                http,
                code,
                subcode,
                error_type: "OAuthException",
                message: format!("(#{code}) {message}"),
                details: Some(message),
            };
            return error(&shared, e);
        }
    }
    let result = handle_send(&shared, &version, &object, &parts.headers, &body);
    if drop_after {
        return drop_connection(conn).await;
    }
    match result {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => error(&shared, e),
    }
}

fn within_window(last: Option<&SystemTime>, now: SystemTime) -> bool {
    last.is_some_and(|t| now.duration_since(*t).map_or(true, |age| age < WINDOW))
}

/// Check a media object (`{"id": ..}` or `{"link": ..}`) of a free-form message.
fn check_media_object(
    kind: &str,
    object: &Value,
    media: &HashMap<String, UploadedMedia>,
) -> Result<(), ApiError> {
    if let Some(id) = object["id"].as_str() {
        return if media.contains_key(id) {
            Ok(())
        } else {
            Err(ApiError::invalid_value(format!(
                "{kind}: invalid media id {id}"
            )))
        };
    }
    match object["link"].as_str() {
        Some(l) if l.starts_with("http://") || l.starts_with("https://") => Ok(()),
        Some(_) => Err(ApiError::invalid_value(format!(
            "{kind}: link must be an http(s) URL"
        ))),
        None => Err(ApiError::required_missing(format!(
            "{kind}: an id or a link is required"
        ))),
    }
}

fn handle_send(
    shared: &Arc<Shared>,
    version: &str,
    object: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, ApiError> {
    if !version_ok(version) {
        return Err(ApiError::unknown_path(&format!(
            "/{version}/{object}/messages"
        )));
    }
    check_bearer(shared, headers, None)?;
    if object != shared.cfg.phone_number_id {
        return Err(ApiError::unknown_object("post", object));
    }
    let mut st = shared.lock();
    let rate = st.transient_error_rate;
    if st.chance(rate) {
        return Err(match st.rng.random_range(0..3u8) {
            0 => ApiError::rate_limited(),
            1 => ApiError::server_error(),
            _ => ApiError::service_unavailable(),
        });
    }
    let json: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid_parameter(format!("The request body is not valid JSON: {e}"))
    })?;
    if !json.is_object() {
        return Err(ApiError::invalid_parameter(
            "The request body must be a JSON object.",
        ));
    }
    match json["messaging_product"].as_str() {
        Some(p) if p.eq_ignore_ascii_case("whatsapp") => {}
        Some(p) => {
            return Err(ApiError::invalid_parameter(format!(
                "Param messaging_product must be one of {{WHATSAPP}} - got \"{p}\"."
            )));
        }
        None => {
            return Err(ApiError::invalid_parameter(
                "The parameter messaging_product is required.",
            ));
        }
    }
    match json["recipient_type"].as_str() {
        None | Some("individual") => {}
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "Param recipient_type must be individual in this fake - got \"{other}\"."
            )));
        }
    }
    let to = json["to"]
        .as_str()
        .ok_or_else(|| ApiError::invalid_parameter("The parameter to is required."))?;
    let wa_id = wa_id_of(to).ok_or_else(|| {
        ApiError::invalid_parameter(format!("Param to must be a phone number - got \"{to}\"."))
    })?;
    let biz = match &json["biz_opaque_callback_data"] {
        Value::Null => None,
        Value::String(s) if s.chars().count() <= 512 => Some(s.clone()),
        Value::String(_) => {
            return Err(ApiError::invalid_value(
                "biz_opaque_callback_data is longer than 512 characters",
            ));
        }
        _ => {
            return Err(ApiError::invalid_parameter(
                "Param biz_opaque_callback_data must be a string.",
            ));
        }
    };
    // Meta defaults `type` to text.
    let kind = json["type"].as_str().unwrap_or("text").to_owned();
    let (template, category) = match kind.as_str() {
        "template" => {
            let t = check_template_send(&json["template"], &st.templates, &st.media)?;
            let category = t.category.to_ascii_lowercase();
            (Some(t), category)
        }
        "text" | "image" | "document" | "audio" | "video" | "sticker" | "interactive"
        | "location" | "contacts" | "reaction" => {
            let payload = &json[kind.as_str()];
            match kind.as_str() {
                "text" => {
                    if payload["body"].as_str().is_none_or(str::is_empty) {
                        return Err(ApiError::invalid_parameter(
                            "The parameter text['body'] is required.",
                        ));
                    }
                }
                "image" | "document" | "audio" | "video" | "sticker" => {
                    check_media_object(&kind, payload, &st.media)?;
                }
                _ => {
                    if payload.is_null() {
                        return Err(ApiError::invalid_parameter(format!(
                            "The parameter {kind} is required."
                        )));
                    }
                }
            }
            if !within_window(st.last_inbound.get(&wa_id), st.now()) {
                return Err(ApiError::re_engagement());
            }
            (None, "service".to_owned())
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got \"{other}\"."
            )));
        }
    };

    let now = Instant::now();
    if let Some(limit) = shared.cfg.messages_per_second {
        while st
            .recent_sends
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            st.recent_sends.pop_front();
        }
        if st.recent_sends.len() >= limit as usize {
            return Err(ApiError::rate_limited());
        }
    }
    if let Some(min) = shared.cfg.pair_rate_limit
        && st
            .last_outbound
            .get(&wa_id)
            .is_some_and(|t| now.duration_since(*t) < min)
    {
        return Err(ApiError::pair_rate_limited());
    }

    let wamid = st.new_wamid();
    let at = st.now();
    st.recent_sends.push_back(now);
    st.last_outbound.insert(wa_id.clone(), now);
    st.accepted.push(AcceptedMessage {
        wamid: wamid.clone(),
        to: wa_id.clone(),
        kind: kind.clone(),
        template: template.as_ref().map(|t| t.name.clone()),
        language: template.as_ref().map(|t| t.language.clone()),
        biz_opaque_callback_data: biz.clone(),
        body: json.clone(),
        at,
    });
    drop(st);
    webhooks::schedule_statuses(shared, wamid.clone(), wa_id.clone(), biz, category);

    let mut message = json!({ "id": wamid });
    if template.is_some() {
        message["message_status"] = json!("accepted");
    }
    Ok(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": wa_id }],
        "messages": [message],
    }))
}

async fn upload_media(
    State(shared): State<Arc<Shared>>,
    Path((version, object)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_MEDIA_BODY).await else {
        return error(
            &shared,
            ApiError::invalid_parameter("The upload could not be read or is larger than 100 MB."),
        );
    };
    match handle_upload(&shared, &version, &object, &parts.headers, &body) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => error(&shared, e),
    }
}

fn handle_upload(
    shared: &Shared,
    version: &str,
    object: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, ApiError> {
    if !version_ok(version) {
        return Err(ApiError::unknown_path(&format!(
            "/{version}/{object}/media"
        )));
    }
    check_bearer(shared, headers, None)?;
    if object != shared.cfg.phone_number_id {
        return Err(ApiError::unknown_object("post", object));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multipart::boundary(content_type).ok_or_else(|| {
        ApiError::invalid_parameter("The upload must be a multipart/form-data request.")
    })?;
    let parts = multipart::parse(body, &boundary)
        .ok_or_else(|| ApiError::invalid_parameter("The multipart body is malformed."))?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let text = |name: &str| field(name).and_then(|p| std::str::from_utf8(&p.data).ok());
    match text("messaging_product") {
        Some(p) if p.trim().eq_ignore_ascii_case("whatsapp") => {}
        _ => {
            return Err(ApiError::invalid_parameter(
                "The parameter messaging_product is required and must be whatsapp.",
            ));
        }
    }
    let file = field("file")
        .ok_or_else(|| ApiError::invalid_parameter("The parameter file is required."))?;
    if file.data.is_empty() {
        return Err(ApiError::invalid_parameter("The uploaded file is empty."));
    }
    let mime = text("type")
        .map(|t| t.trim().to_owned())
        .or_else(|| file.content_type.clone())
        .ok_or_else(|| ApiError::invalid_parameter("The parameter type is required."))?;
    let major = mime.split('/').next().unwrap_or("");
    if !matches!(major, "image" | "audio" | "video" | "application" | "text") {
        return Err(ApiError::invalid_parameter(format!(
            "Param file must be a file with one of the supported media types - got \"{mime}\"."
        )));
    }
    let mut st = shared.lock();
    let id = loop {
        let candidate = st
            .rng
            .random_range(1_000_000_000_000_000u64..10_000_000_000_000_000)
            .to_string();
        if !st.media.contains_key(&candidate) {
            break candidate;
        }
    };
    st.media.insert(
        id.clone(),
        UploadedMedia {
            id: id.clone(),
            mime_type: mime,
            filename: file.filename.clone(),
            size: file.data.len(),
        },
    );
    Ok(json!({ "id": id }))
}

async fn list_templates(
    State(shared): State<Arc<Shared>>,
    Path((version, object)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match handle_list(&shared, &version, &object, &headers, &query) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => error(&shared, e),
    }
}

fn encode_cursor(index: usize) -> String {
    hex::encode(format!("tpl:{index}"))
}

fn decode_cursor(cursor: &str) -> Result<usize, ApiError> {
    hex::decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("tpl:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::invalid_parameter(format!("Invalid cursor \"{cursor}\".")))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn handle_list(
    shared: &Shared,
    version: &str,
    object: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    if !version_ok(version) {
        return Err(ApiError::unknown_path(&format!(
            "/{version}/{object}/message_templates"
        )));
    }
    check_bearer(
        shared,
        headers,
        query.get("access_token").map(String::as_str),
    )?;
    if object != shared.cfg.waba_id {
        return Err(ApiError::unknown_object("get", object));
    }
    let limit = match query.get("limit") {
        None => 25,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid_parameter("Param limit must be a positive integer."))?
            .min(1000),
    };
    let filters: Vec<(&str, String)> = ["name", "status", "language", "category"]
        .into_iter()
        .filter_map(|k| query.get(k).map(|v| (k, v.clone())))
        .collect();
    let st = shared.lock();
    let matching: Vec<Value> = st
        .templates
        .iter()
        .filter(|t| {
            filters.iter().all(|(k, v)| match *k {
                "name" => t.name.to_lowercase().contains(&v.to_lowercase()),
                "status" => t.status.eq_ignore_ascii_case(v),
                "language" => t.language == *v,
                _ => t.category.eq_ignore_ascii_case(v),
            })
        })
        .map(super::FakeTemplate::to_json)
        .collect();
    drop(st);
    let total = matching.len();
    let (start, end) = if let Some(after) = query.get("after") {
        let start = (decode_cursor(after)? + 1).min(total);
        (start, (start + limit).min(total))
    } else if let Some(before) = query.get("before") {
        let end = decode_cursor(before)?.min(total);
        (end.saturating_sub(limit), end)
    } else {
        (0, limit.min(total))
    };
    let mut response = json!({ "data": matching[start..end] });
    if start < end {
        let link = |cursor_key: &str, cursor: String| {
            let mut q = format!("limit={limit}&{cursor_key}={cursor}");
            for (k, v) in &filters {
                q.push_str(&format!("&{k}={}", percent_encode(v)));
            }
            format!(
                "{}/{version}/{object}/message_templates?{q}",
                shared.base_url
            )
        };
        let mut paging = json!({
            "cursors": { "before": encode_cursor(start), "after": encode_cursor(end - 1) },
        });
        if end < total {
            paging["next"] = json!(link("after", encode_cursor(end - 1)));
        }
        if start > 0 {
            paging["previous"] = json!(link("before", encode_cursor(start)));
        }
        response["paging"] = paging;
    }
    Ok(response)
}

async fn fallback(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    error(&shared, ApiError::unknown_path(req.uri().path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version_ok("v23.0"));
        assert!(version_ok("v19.10"));
        assert!(!version_ok("23.0"));
        assert!(!version_ok("v23"));
        assert!(!version_ok("vX.0"));
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(17)).ok(), Some(17));
        assert!(decode_cursor("zz").is_err());
    }

    #[test]
    fn windows() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(!within_window(None, now));
        assert!(within_window(Some(&now), now));
        let recent = now - Duration::from_secs(23 * 3600);
        assert!(within_window(Some(&recent), now));
        let old = now - Duration::from_secs(25 * 3600);
        assert!(!within_window(Some(&old), now));
    }
}
