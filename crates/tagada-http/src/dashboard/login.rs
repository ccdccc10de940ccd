//! Signing in and out.
//!
//! `POST /login` checks the username and password ([`tagada_app::auth::login`])
//! and sets two cookies: the session id (`HttpOnly`) and the CSRF token the
//! pages put in their forms (readable, so forms can be rendered from it; it
//! is useless without the session, whose hash of it is checked). Both are
//! `SameSite=Strict`, and `Secure` when the request came over https (as a
//! proxy says with `X-Forwarded-Proto`).
//!
//! The login form itself carries no CSRF token (there is no session yet): a
//! cross-site POST gets no cookie back that the browser would send with its
//! next cross-site request (`SameSite=Strict`), and guessing is held back by
//! the rate limit, and a browser's `Sec-Fetch-Site: cross-site` is refused
//! outright (no site can sign a visitor in to an account it chose). After [`MAX_FAILURES`] failed logins within [`WINDOW`]
//! for one username, or from one client address, both answer 429 until the
//! oldest of those failures is older than the window. The counts live in
//! memory (per process) and read time from the state's clock.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use minijinja::value::Serde;
use serde::Serialize;
use tagada_app::auth::{AuthError, login};

use super::{
    CSRF_COOKIE, DashError, FormFields, SESSION_COOKIE, SignedForm, render, see_other, session_user,
};
use crate::HttpState;

/// Failed logins allowed per username or client address within [`WINDOW`].
pub(crate) const MAX_FAILURES: usize = 5;
/// The window failed logins are counted over.
pub(crate) const WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// Above this many tracked keys, expired ones are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

/// Failed logins per key (`user:<name>`, `ip:<address>`), in memory.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl Limiter {
    /// When the first of `keys` that is blocked at `now` opens again.
    fn blocked_until(&self, keys: &[String], now: Timestamp) -> Option<Timestamp> {
        let map = self.failures.lock().expect("login limiter lock");
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter_map(|times| {
                let recent: Vec<Timestamp> = times
                    .iter()
                    .copied()
                    .filter(|t| now.duration_since(*t) < WINDOW)
                    .collect();
                (recent.len() >= MAX_FAILURES)
                    .then(|| recent[recent.len() - MAX_FAILURES])
                    .and_then(|oldest| oldest.checked_add(WINDOW).ok())
            })
            .max()
    }

    fn record_failure(&self, keys: &[String], now: Timestamp) {
        let mut map = self.failures.lock().expect("login limiter lock");
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        for k in keys {
            let times = map.entry(k.clone()).or_default();
            times.retain(|t| now.duration_since(*t) < WINDOW);
            times.push(now);
            // more than the limit tells nothing more
            if times.len() > MAX_FAILURES {
                times.remove(0);
            }
        }
    }

    /// A successful login clears its username's failures (not its
    /// address's: one person's success says nothing of the others').
    fn record_success(&self, user_key: &str) {
        self.failures
            .lock()
            .expect("login limiter lock")
            .remove(user_key);
    }
}

fn user_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

/// The client's address: the peer's, unless the peer is a proxy on this
/// machine (loopback) or unknown, in which case the last address that proxy
/// appended to `X-Forwarded-For`.
fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
    };
    let ip = match peer.map(|p| p.ip()) {
        Some(ip) if !ip.is_loopback() => Some(ip),
        other => forwarded().or(other),
    };
    ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

#[derive(Debug, Serialize)]
struct LoginView {
    error: Option<String>,
    username: String,
}

fn login_page(status: StatusCode, error: Option<String>, username: &str) -> Response {
    match render(
        "login.html",
        minijinja::context! { page => Serde(LoginView { error, username: username.to_string() }) },
    ) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /login`: the form, or the overview for someone signed in already.
pub(crate) async fn form(
    State(state): State<HttpState>,
    headers: HeaderMap,
) -> Result<Response, DashError> {
    if session_user(&state, &headers).await?.is_some() {
        return Ok(see_other("/"));
    }
    Ok(login_page(StatusCode::OK, None, ""))
}

fn cookie_header(name: &str, value: &str, max_age: i64, http_only: bool, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Strict");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// `POST /login`.
pub(crate) async fn submit(
    State(state): State<HttpState>,
    Extension(limiter): Extension<Arc<Limiter>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, DashError> {
    // a browser says when a form was posted from another site: refuse it,
    // so no other site can sign a visitor in to an account of its choosing
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return Err(DashError::Forbidden(
            "sign in from this site's own login page".into(),
        ));
    }
    let fields = FormFields::parse(&body)?;
    let username = fields.get("username").unwrap_or_default().to_string();
    // a password is taken as typed (spaces count)
    let password = fields
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let now = state.clock.now();
    let keys = [
        user_key(&username),
        format!(
            "ip:{}",
            client_ip(peer.map(|Extension(ConnectInfo(p))| p), &headers)
        ),
    ];
    if let Some(until) = limiter.blocked_until(&keys, now) {
        tracing::warn!(username = %username, "login refused: too many failed attempts");
        let wait = until.duration_since(now).as_secs().max(1);
        let mut resp = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!(
                "Too many failed sign-ins. Please wait {} minute(s) and try again.",
                (wait + 59) / 60
            )),
            &username,
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    if username.is_empty() || password.is_empty() {
        limiter.record_failure(&keys, now);
        return Ok(login_page(
            StatusCode::UNAUTHORIZED,
            Some("Please give your username and password.".into()),
            &username,
        ));
    }
    match login(state.store.as_ref(), &username, password, now).await {
        Ok(session) => {
            limiter.record_success(&keys[0]);
            tracing::info!(user = %session.user.username, "signed in to the dashboard");
            let max_age = session.expires_at.duration_since(now).as_secs().max(0);
            let secure = is_https(&headers);
            let mut resp = see_other("/");
            for c in [
                cookie_header(SESSION_COOKIE, &session.session_id, max_age, true, secure),
                cookie_header(CSRF_COOKIE, &session.csrf_token, max_age, false, secure),
            ] {
                let v = HeaderValue::from_str(&c)
                    .map_err(|e| DashError::Internal(format!("cookie: {e}")))?;
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(AuthError::BadCredentials) => {
            limiter.record_failure(&keys, now);
            tracing::info!(username = %username, "failed dashboard sign-in");
            Ok(login_page(
                StatusCode::UNAUTHORIZED,
                Some("Wrong username or password.".into()),
                &username,
            ))
        }
        Err(AuthError::Refused(m)) => Err(DashError::Forbidden(m)),
        Err(AuthError::Store(e)) => Err(e.into()),
    }
}

/// `POST /logout`: ends the session and clears the cookies.
pub(crate) async fn logout(
    State(state): State<HttpState>,
    headers: HeaderMap,
    form: SignedForm,
) -> Result<Response, DashError> {
    state.store.delete_session(&form.user.session_hash).await?;
    let secure = is_https(&headers);
    let mut resp = see_other("/login");
    for c in [
        cookie_header(SESSION_COOKIE, "", 0, true, secure),
        cookie_header(CSRF_COOKIE, "", 0, false, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(mins: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH
            .checked_add(SignedDuration::from_mins(mins))
            .unwrap()
    }

    #[test]
    fn five_failures_block_until_the_first_leaves_the_window() {
        let l = Limiter::default();
        let keys = [user_key("Meera"), "ip:10.0.0.1".to_string()];
        for m in 0..5 {
            assert!(l.blocked_until(&keys, t(m)).is_none());
            l.record_failure(&keys, t(m));
        }
        assert_eq!(l.blocked_until(&keys, t(5)), Some(t(15)));
        // the username is blocked whatever the address, and the other way round
        assert!(l.blocked_until(&[user_key("meera")], t(14)).is_some());
        assert!(
            l.blocked_until(&["ip:10.0.0.1".to_string()], t(14))
                .is_some()
        );
        assert!(l.blocked_until(&[user_key("arjun")], t(14)).is_none());
        assert!(l.blocked_until(&keys, t(15)).is_none());
        l.record_success(&keys[0]);
        assert!(l.blocked_until(&[user_key("meera")], t(5)).is_none());
    }

    #[test]
    fn addresses_come_from_the_peer_or_a_local_proxy() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8"),
        );
        let proxy: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let direct: SocketAddr = "9.9.9.9:9000".parse().unwrap();
        assert_eq!(client_ip(Some(proxy), &h), "5.6.7.8");
        assert_eq!(client_ip(Some(direct), &h), "9.9.9.9");
        assert_eq!(client_ip(None, &HeaderMap::new()), "unknown");
        assert!(is_https(&{
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
            h
        }));
    }
}
