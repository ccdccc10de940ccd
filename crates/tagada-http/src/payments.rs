//! Buyers' pay pages and the payment gateways' webhooks.
//!
//! * `GET /pay/<token>`: the invoice's amount due, the UPI QR code and app
//!   button, and a button per gateway. The token is the only key: an unknown
//!   one gets the same 404 as a path that does not exist. Pages are not
//!   cached, not indexed, and send no `Referer` (the token stays here).
//! * `GET /pay/<token>/qr.png`: the QR code of the UPI link.
//! * `POST /pay/<token>/razorpay|stripe`: makes (or reuses) the gateway link
//!   and redirects the buyer to it. A POST, so that link previews (WhatsApp
//!   fetches a message's links) never create one.
//! * `POST /webhooks/razorpay`, `POST /webhooks/stripe`: verified on the raw
//!   body before anything is read (401 and nothing recorded otherwise), then
//!   applied; a store failure answers 500 so the gateway sends it again.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tagada_app::payments::{
    EventOutcome, HookError, PayContext, PayError, PayPage, ingest_razorpay, ingest_stripe,
};
use tagada_payments::Gateway;

use crate::{HttpState, LedgerHttp};

pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/pay/{token}", get(page))
        .route("/pay/{token}/qr.png", get(qr))
        .route("/pay/{token}/{gateway}", post(go_to_gateway))
        .route("/webhooks/razorpay", post(razorpay_hook))
        .route("/webhooks/stripe", post(stripe_hook))
}

fn context<'a>(state: &'a HttpState, p: &'a LedgerHttp) -> PayContext<'a> {
    PayContext {
        store: state.store.as_ref(),
        gateways: &p.gateways,
        cfg: &p.cfg,
        planner: &p.planner,
        clock: state.clock.as_ref(),
        home_country: &p.home_country,
    }
}

/// Headers every pay page answer carries.
fn private(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn not_found() -> Response {
    private(
        (
            StatusCode::NOT_FOUND,
            Html(shell(
                "Not found",
                "<p>This payment page does not exist. Please use the link in your latest message.</p>",
            )),
        )
            .into_response(),
    )
}

fn failure(e: &PayError) -> Response {
    match e {
        PayError::NotFound => not_found(),
        PayError::NotPayable { .. } | PayError::NotOffered(_) => private(
            (
                StatusCode::CONFLICT,
                Html(shell(
                    "Nothing to pay",
                    &format!("<p>{}</p>", escape(&e.to_string())),
                )),
            )
                .into_response(),
        ),
        other => {
            tracing::error!(error = %other, "pay page failed");
            private(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Html(shell(
                        "Please try again",
                        "<p>Payments are unavailable for a moment. Please try again in a few minutes.</p>",
                    )),
                )
                    .into_response(),
            )
        }
    }
}

async fn page(State(state): State<HttpState>, Path(token): Path<String>) -> Response {
    let Some(p) = &state.ledger else {
        return not_found();
    };
    match context(&state, p).pay_page(&token).await {
        Ok(page) => private(Html(render_page(&token, &page)).into_response()),
        Err(e) => failure(&e),
    }
}

async fn qr(State(state): State<HttpState>, Path(token): Path<String>) -> Response {
    let Some(p) = &state.ledger else {
        return not_found();
    };
    match context(&state, p).upi_qr(&token).await {
        Ok(png) => private(([(header::CONTENT_TYPE, "image/png")], png).into_response()),
        Err(e) => failure(&e),
    }
}

async fn go_to_gateway(
    State(state): State<HttpState>,
    Path((token, gateway)): Path<(String, String)>,
) -> Response {
    let Some(p) = &state.ledger else {
        return not_found();
    };
    let Some(gateway) = Gateway::parse(&gateway) else {
        return not_found();
    };
    match context(&state, p).gateway_link(&token, gateway).await {
        Ok(link) => private(Redirect::to(&link.url).into_response()),
        Err(e) => failure(&e),
    }
}

fn hook_answer(gateway: Gateway, result: Result<EventOutcome, HookError>) -> Response {
    match result {
        Ok(outcome) => {
            tracing::debug!(%gateway, ?outcome, "gateway webhook applied");
            StatusCode::OK.into_response()
        }
        Err(HookError::Signature(e)) => {
            tracing::warn!(%gateway, error = %e, "gateway webhook refused");
            (StatusCode::UNAUTHORIZED, e.to_string()).into_response()
        }
        Err(HookError::NotConfigured(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(HookError::Apply(e)) => {
            tracing::error!(%gateway, error = %e, "gateway webhook not applied; the gateway will send it again");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn razorpay_hook(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(p) = &state.ledger else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let result = ingest_razorpay(
        &context(&state, p),
        header_str(&headers, "x-razorpay-signature"),
        header_str(&headers, "x-razorpay-event-id"),
        &body,
    )
    .await;
    hook_answer(Gateway::Razorpay, result)
}

async fn stripe_hook(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(p) = &state.ledger else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let result = ingest_stripe(
        &context(&state, p),
        header_str(&headers, "stripe-signature"),
        &body,
    )
    .await;
    hook_answer(Gateway::Stripe, result)
}

/// Escapes text for HTML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
margin:0;background:#f4f5f7;color:#1d2330}main{max-width:28rem;margin:0 auto;padding:1.25rem}\
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.08);\
margin-bottom:1rem}h1{font-size:1.15rem;margin:0 0 .25rem}.muted{color:#5c6475;font-size:.9rem}\
.amount{font-size:2rem;font-weight:700;margin:.5rem 0}.qr{display:block;margin:.75rem auto;\
width:100%;max-width:15rem;image-rendering:pixelated}.btn{display:block;width:100%;\
box-sizing:border-box;text-align:center;padding:.85rem;border-radius:8px;border:0;font-size:1rem;\
font-weight:600;text-decoration:none;margin-top:.6rem;cursor:pointer}.upi{background:#0b7a4b;\
color:#fff}.gw{background:#1d4ed8;color:#fff}.paid{color:#0b7a4b;font-weight:700}";

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        escape(title)
    )
}

fn gateway_label(g: Gateway) -> &'static str {
    match g {
        Gateway::Razorpay => "Pay by card, netbanking or UPI (Razorpay)",
        Gateway::Stripe => "Pay by card (Stripe)",
    }
}

/// The pay page's HTML.
pub fn render_page(token: &str, page: &PayPage) -> String {
    let token = escape(token);
    let mut body = format!(
        "<div class=\"card\"><h1>{}</h1><div class=\"muted\">Invoice {} · {}</div>",
        escape(&page.seller_company),
        escape(&page.invoice_number),
        escape(&page.buyer_name),
    );
    if !page.payable() {
        body.push_str(&format!(
            "<p class=\"paid\">Nothing is due on this invoice ({}). Thank you!</p></div>",
            escape(&page.status.to_string())
        ));
        return shell(&format!("Invoice {}", page.invoice_number), &body);
    }
    body.push_str(&format!(
        "<div class=\"amount\">{}</div><div class=\"muted\">due {} · invoice total {}</div></div>",
        escape(&page.outstanding.to_string()),
        escape(&tagada_core::template::format_date(page.due_date)),
        escape(&page.amount.to_string()),
    ));
    if let Some(upi) = &page.upi_link {
        body.push_str(&format!(
            "<div class=\"card\"><h1>Pay by UPI</h1><div class=\"muted\">Scan with any UPI app, \
             or tap the button on this phone.</div>\
             <img class=\"qr\" src=\"/pay/{token}/qr.png\" alt=\"UPI QR code\" width=\"240\" height=\"240\">\
             <a class=\"btn upi\" href=\"{}\">Open a UPI app</a></div>",
            escape(upi)
        ));
    }
    if !page.gateways.is_empty() {
        body.push_str("<div class=\"card\"><h1>Other ways to pay</h1>");
        for g in &page.gateways {
            body.push_str(&format!(
                "<form method=\"post\" action=\"/pay/{token}/{}\">\
                 <button class=\"btn gw\" type=\"submit\">{}</button></form>",
                g.as_str(),
                gateway_label(*g)
            ));
        }
        body.push_str("</div>");
    }
    if page.upi_link.is_none() && page.gateways.is_empty() {
        body.push_str(
            "<div class=\"card\"><p>Please pay by bank transfer, quoting the invoice number.</p></div>",
        );
    }
    shell(&format!("Pay invoice {}", page.invoice_number), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_would_read() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & Co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; Co&lt;/a&gt;"
        );
    }
}
