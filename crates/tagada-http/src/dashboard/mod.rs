//! The dashboard: server-rendered pages for the people who chase payments.
//!
//! | route                                  | what                                        |
//! |----------------------------------------|---------------------------------------------|
//! | `GET/POST /login`, `POST /logout`      | username + password sessions ([`login`])    |
//! | `GET /`                                | overview: outstanding, DSO, ageing, funnel  |
//! | `GET /invoices`, `POST /invoices/bulk` | filtered list, bulk pause/resume/snooze     |
//! | `GET /invoices/{number}` (+ actions)   | one invoice, its timeline and its forms     |
//! | `GET /buyers`, `GET /buyers/{id}`      | buyers, segment and payment history         |
//! | `GET /inbox`, `POST /inbox/{id}/...`   | replies waiting for a person                |
//! | `GET /templates`                       | templates and cadence steps side by side    |
//! | `GET /health`                          | lead syncs, outbox, webhooks                |
//!
//! Pages are minijinja templates (`templates/*.html`, embedded) with HTML
//! auto-escaping on; the only markup passed through unescaped is the SVG
//! of [`crate::charts`], which escapes its own text. Every page needs a
//! session cookie (a GET without one is sent to `/login`, a POST gets 401);
//! every form carries the session's CSRF token, checked in constant time
//! against the hash the session keeps (403 otherwise). A sales rep sees only
//! their own buyers, as in the JSON API: another rep's invoice or buyer is a
//! 404. Pages are never cached nor framed.

mod buyers;
mod health;
mod inbox;
mod invoices;
mod login;
mod overview;
pub use overview::{PlanPreviewCache, warm_overview};
mod templates;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, middleware};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::Environment;
use serde::Serialize;
use subtle::ConstantTimeEq;
use tagada_app::auth::{Principal, secret_hash};
use tagada_core::BuyerId;
use tagada_core::ledger::Buyer;
use tagada_store::BuyerFilter;

use crate::api::ApiError;
use crate::{HttpState, LedgerHttp};

/// The session cookie (HttpOnly).
pub(crate) const SESSION_COOKIE: &str = "tagada_session";
/// The CSRF token, readable by the pages' forms (not HttpOnly).
pub(crate) const CSRF_COOKIE: &str = "tagada_csrf";

pub(crate) fn routes() -> Router<HttpState> {
    let limiter = Arc::new(login::Limiter::default());
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/invoices", get(invoices::list))
        .route("/invoices/bulk", post(invoices::bulk))
        .route("/invoices/{number}", get(invoices::page))
        .route("/invoices/{number}/mark-paid", post(invoices::mark_paid))
        .route("/invoices/{number}/snooze", post(invoices::snooze))
        .route("/invoices/{number}/pause", post(invoices::pause))
        .route("/invoices/{number}/send-now", post(invoices::send_now))
        .route("/invoices/{number}/resume", post(invoices::resume))
        .route("/invoices/{number}/dispute", post(invoices::dispute))
        .route("/invoices/{number}/note", post(invoices::note))
        .route("/buyers", get(buyers::list))
        .route("/buyers/{id}", get(buyers::page))
        .route("/inbox", get(inbox::list))
        .route("/inbox/{id}/resolve", post(inbox::resolve))
        .route("/inbox/{id}/assign", post(inbox::assign))
        .route("/templates", get(templates::page))
        .route("/health", get(health::page))
        .layer(Extension(limiter))
        .layer(middleware::map_response(protect))
}

/// Headers on every dashboard answer: not cached, not framed, no scripts.
async fn protect(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

// --------------------------------------------------------------------------
// Templates.

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `.html` names: minijinja's default callback escapes them as HTML
        for (name, source) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("error.html", include_str!("../../templates/error.html")),
            (
                "overview.html",
                include_str!("../../templates/overview.html"),
            ),
            (
                "invoices.html",
                include_str!("../../templates/invoices.html"),
            ),
            ("invoice.html", include_str!("../../templates/invoice.html")),
            ("buyers.html", include_str!("../../templates/buyers.html")),
            ("buyer.html", include_str!("../../templates/buyer.html")),
            ("inbox.html", include_str!("../../templates/inbox.html")),
            (
                "templates.html",
                include_str!("../../templates/templates.html"),
            ),
            ("health.html", include_str!("../../templates/health.html")),
        ] {
            env.add_template(name, source)
                .expect("the dashboard's templates parse");
        }
        env.add_filter("pathseg", path_segment);
        env
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so an
/// invoice number such as `INV/26-27/001` stays one path segment.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders a page template.
pub(crate) fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, DashError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| DashError::Internal(format!("rendering {name}: {e:#}")))
}

/// SVG from [`crate::charts`] (which escapes all text it is given), passed
/// through the template unescaped.
pub(crate) fn svg(markup: String) -> minijinja::Value {
    minijinja::Value::from_safe_string(markup)
}

// --------------------------------------------------------------------------
// Errors: one place where a failure becomes a page and a status code.

#[derive(Debug)]
pub(crate) enum DashError {
    /// No live session: a GET goes to the login page, anything else is 401.
    NoSession {
        get: bool,
    },
    BadCsrf,
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    Unavailable(String),
    Internal(String),
}

impl From<ApiError> for DashError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized => DashError::NoSession { get: false },
            ApiError::Forbidden(m) => DashError::Forbidden(m),
            ApiError::NotFound(m) => DashError::NotFound(m),
            ApiError::BadRequest(m) => DashError::BadRequest(m),
            ApiError::Conflict(m) => DashError::Conflict(m),
            ApiError::Unavailable(m) => DashError::Unavailable(m),
            ApiError::Internal(m) => DashError::Internal(m),
        }
    }
}

impl From<tagada_store::StoreError> for DashError {
    fn from(e: tagada_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tagada_app::actions::ActionError> for DashError {
    fn from(e: tagada_app::actions::ActionError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tagada_app::payments::PayError> for DashError {
    fn from(e: tagada_app::payments::PayError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tagada_app::reports::ReportError> for DashError {
    fn from(e: tagada_app::reports::ReportError) -> Self {
        match e {
            tagada_app::reports::ReportError::Store(s) => s.into(),
            other => DashError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            DashError::NoSession { get: true } => return Redirect::to("/login").into_response(),
            DashError::NoSession { get: false } => (
                StatusCode::UNAUTHORIZED,
                "Signed out",
                "Your session has ended. Please sign in again.".to_string(),
            ),
            DashError::BadCsrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be checked (it is stale or did not come from this site). \
                 Go back, reload the page and try again."
                    .to_string(),
            ),
            DashError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            DashError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            DashError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Please check the form", m),
            DashError::Conflict(m) => (StatusCode::CONFLICT, "Not done", m),
            DashError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", m),
            DashError::Internal(m) => {
                tracing::error!(error = %m, "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The error has been logged. Please try again.".to_string(),
                )
            }
        };
        let page = env()
            .get_template("error.html")
            .and_then(|t| t.render(minijinja::context! { title, message }))
            .unwrap_or_else(|_| "error".to_string());
        (status, Html(page)).into_response()
    }
}

// --------------------------------------------------------------------------
// Sessions.

/// The value of a cookie in the request, if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The signed-in person behind a dashboard request.
#[derive(Debug, Clone)]
pub(crate) struct DashUser {
    pub who: Principal,
    /// SHA-256 of the session id (to end it).
    pub session_hash: String,
    /// SHA-256 of the session's CSRF token.
    csrf_hash: String,
    /// The CSRF token from its cookie, to render into forms.
    pub csrf: String,
}

impl DashUser {
    /// Whether `token` is this session's CSRF token (constant time).
    fn csrf_ok(&self, token: Option<&str>) -> bool {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return false;
        };
        secret_hash(token)
            .as_bytes()
            .ct_eq(self.csrf_hash.as_bytes())
            .into()
    }

    /// What the layout needs: who, the CSRF token, the active nav entry.
    pub fn nav(&self, active: &'static str) -> minijinja::Value {
        minijinja::Value::from(minijinja::value::Serde(NavView {
            name: self.who.name.clone(),
            role: match &self.who.role {
                tagada_store::Role::SalesRep { rep } => format!("sales rep ({rep})"),
                other => other.name().to_string(),
            },
            csrf: self.csrf.clone(),
            active,
            admin: self.who.sees_everything(),
        }))
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct NavView {
    name: String,
    role: String,
    csrf: String,
    active: &'static str,
    /// Admin or accountant (may assign reps).
    admin: bool,
}

impl FromRequestParts<HttpState> for DashUser {
    type Rejection = DashError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, DashError> {
        let get = parts.method == Method::GET || parts.method == Method::HEAD;
        session_user(state, &parts.headers)
            .await?
            .ok_or(DashError::NoSession { get })
    }
}

/// The person whose live session the request's cookie names, if any.
pub(crate) async fn session_user(
    state: &HttpState,
    headers: &HeaderMap,
) -> Result<Option<DashUser>, DashError> {
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let session_hash = secret_hash(id);
    let Some(session) = state
        .store
        .find_session(&session_hash, state.clock.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(DashUser {
        who: Principal {
            name: session.user.username.clone(),
            role: session.user.role.clone(),
        },
        session_hash,
        csrf_hash: session.csrf_hash,
        csrf: cookie(headers, CSRF_COOKIE).unwrap_or_default().to_string(),
    }))
}

/// A form's fields (`application/x-www-form-urlencoded`), repeated names kept.
#[derive(Debug, Default)]
pub(crate) struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Result<FormFields, DashError> {
        serde_urlencoded::from_bytes(body)
            .map(FormFields)
            .map_err(|e| DashError::BadRequest(format!("the form could not be read: {e}")))
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// A POSTed form from a signed-in person, its CSRF token checked: 401
/// without a session, 403 when the token is missing or not the session's.
#[derive(Debug)]
pub(crate) struct SignedForm {
    pub user: DashUser,
    pub fields: FormFields,
}

impl FromRequest<HttpState> for SignedForm {
    type Rejection = DashError;

    async fn from_request(req: Request, state: &HttpState) -> Result<Self, DashError> {
        let (mut parts, body) = req.into_parts();
        let user = DashUser::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| DashError::BadRequest(e.body_text()))?;
        let fields = FormFields::parse(&body)?;
        if !user.csrf_ok(fields.get("csrf")) {
            tracing::warn!(user = %user.who.name, "dashboard form refused: bad CSRF token");
            return Err(DashError::BadCsrf);
        }
        Ok(SignedForm { user, fields })
    }
}

// --------------------------------------------------------------------------
// Helpers shared by the pages.

pub(crate) fn ledger(state: &HttpState) -> Result<&LedgerHttp, DashError> {
    state
        .ledger
        .as_ref()
        .ok_or_else(|| DashError::Unavailable("the ledger is not configured".into()))
}

/// Today in the seller's zone.
pub(crate) fn today(state: &HttpState, ledger: &LedgerHttp) -> jiff::civil::Date {
    state
        .clock
        .now()
        .to_zoned_datetime(ledger.planner.home_zone())
        .date()
}

/// An instant as the seller reads it: `2026-12-04 10:30`.
pub(crate) fn local_time(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// The buyers the person may see, by id.
pub(crate) async fn visible_buyers(
    state: &HttpState,
    who: &Principal,
) -> Result<std::collections::HashMap<BuyerId, Buyer>, DashError> {
    Ok(state
        .store
        .list_buyers(&BuyerFilter::default())
        .await?
        .into_iter()
        .filter(|b| who.sees(b))
        .map(|b| (b.id, b))
        .collect())
}

/// A buyer's display name: "Company (Name)" or the name.
pub(crate) fn buyer_label(b: &Buyer) -> String {
    match &b.company {
        Some(c) if !c.trim().is_empty() && c.trim() != b.name.trim() => {
            format!("{} ({})", c.trim(), b.name.trim())
        }
        _ => b.name.clone(),
    }
}

/// A 303 to `to` (after a form).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_slashes_inside() {
        assert_eq!(path_segment("INV/26-27/001"), "INV%2F26-27%2F001");
        assert_eq!(path_segment("a b?c#"), "a%20b%3Fc%23");
        assert_eq!(path_segment("INV-1_a.b~"), "INV-1_a.b~");
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tagada_session=abc; tagada_csrf=x"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("x"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn every_template_renders_escaped() {
        let page = render(
            "error.html",
            minijinja::context! { title => "<b>", message => "O'Neil & <script>" },
        )
        .unwrap()
        .0;
        assert!(page.contains("&lt;b&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
    }
}
