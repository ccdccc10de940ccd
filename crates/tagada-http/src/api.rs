//! The JSON API under `/api`, described by the OpenAPI document at
//! `/api/openapi.json` (generated from these handlers and types; a test
//! keeps `docs/openapi.json` in step).
//!
//! Every route needs `Authorization: Bearer <token>` (`tagada tokens
//! create`): 401 without a live token. Admins and accountants see the whole
//! ledger; a sales rep sees only their own buyers, their invoices, payments,
//! reminders and replies (another buyer's is a 404, as if it did not
//! exist). Only admins and accountants may reassign a buyer's rep.
//! Handlers are thin: they call `tagada-app` and map its errors here, in
//! one place ([`ApiError`]).

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tagada_app::actions::{self, ActionError};
use tagada_app::auth::{Principal, authenticate_token};
use tagada_app::payments::{PayContext, PayError};
use tagada_core::ledger::{Buyer, Invoice, InvoiceStatus, NoteKind, Payment, PaymentMethod};
use tagada_core::{BuyerId, InvoiceId, Money};
use tagada_store::{
    BuyerFilter, BuyerPatch, InboxFilter, InvoiceFilter, OutboxFilter, PaymentLinkFilter,
    StoreError, TimelineSubject,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::{HttpState, LedgerHttp};

pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/summary", get(summary))
        .route("/api/buyers", get(list_buyers))
        .route("/api/buyers/{id}", get(get_buyer))
        .route("/api/buyers/{id}/rep", post(assign_rep))
        .route("/api/invoices", get(list_invoices))
        .route("/api/invoices/{key}", get(get_invoice))
        .route("/api/invoices/{key}/mark-paid", post(mark_paid))
        .route("/api/invoices/{key}/snooze", post(snooze))
        .route("/api/invoices/{key}/pause", post(pause))
        .route("/api/invoices/{key}/resume", post(resume))
        .route("/api/invoices/{key}/dispute", post(dispute))
        .route("/api/invoices/{key}/note", post(note))
        .route("/api/invoices/{key}/send-now", post(send_now))
        .route("/api/inbox/{id}/resolve", post(resolve_inbox))
        .route("/api/payments", get(list_payments))
        .route("/api/reminders", get(list_reminders))
        .route("/api/inbox", get(list_inbox))
        .route("/api/plan", get(plan_preview))
        .route("/api/metrics", get(metrics))
}

/// The OpenAPI document of this API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tagada",
        description = "Buyers, invoices, reminders, payments and replies of one tagada ledger."
    ),
    paths(
        openapi, summary, list_buyers, get_buyer, assign_rep, list_invoices, get_invoice,
        mark_paid, snooze, pause, resume, dispute, note, send_now, list_payments, list_reminders,
        list_inbox, resolve_inbox, plan_preview, metrics
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "ledger", description = "Buyers and invoices"),
        (name = "actions", description = "What a person does to an invoice or a buyer"),
        (name = "messages", description = "Reminders, replies and the plan"),
        (name = "payments", description = "Money received"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tgd_…")
                    .build(),
            ),
        );
    }
}

/// The document as served (pretty JSON).
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

// --------------------------------------------------------------------------
// Errors: the one place API failures become status codes.

/// Every failure as the API answers it: `{"error": "..."}`.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    Unavailable(String),
    Internal(String),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "a live API token is needed: Authorization: Bearer <token> (tagada tokens create)"
                    .to_string(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
            ApiError::Internal(m) => {
                tracing::error!(error = %m, "API request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (logged)".to_string(),
                )
            }
        };
        let mut resp = (status, Json(ErrorBody { error: message })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NoInvoice(_) | ActionError::NoBuyer(_) => {
                ApiError::NotFound(e.to_string())
            }
            ActionError::Refused(m) => ApiError::Conflict(m),
            ActionError::Store(s) => s.into(),
        }
    }
}

impl From<PayError> for ApiError {
    fn from(e: PayError) -> Self {
        match e {
            PayError::Store(s) => s.into(),
            PayError::Gateway(g) => ApiError::Unavailable(g.to_string()),
            other => ApiError::Conflict(other.to_string()),
        }
    }
}

// --------------------------------------------------------------------------
// Authentication.

/// The caller, from a live bearer token.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or(ApiError::Unauthorized)?;
        match authenticate_token(state.store.as_ref(), token, state.clock.now()).await {
            Ok(Some(p)) => Ok(Caller(p)),
            Ok(None) => Err(ApiError::Unauthorized),
            Err(e) => Err(ApiError::Internal(e.to_string())),
        }
    }
}

fn ledger(state: &HttpState) -> Result<&LedgerHttp, ApiError> {
    state
        .ledger
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("the ledger is not configured".into()))
}

/// The buyers a sales rep may see; `None` for those who see every buyer.
pub(crate) async fn visible_buyer_ids(
    state: &HttpState,
    who: &Principal,
) -> Result<Option<std::collections::HashSet<BuyerId>>, ApiError> {
    if who.sees_everything() {
        return Ok(None);
    }
    let buyers = state.store.list_buyers(&BuyerFilter::default()).await?;
    Ok(Some(
        buyers
            .iter()
            .filter(|b| who.sees(b))
            .map(|b| b.id)
            .collect(),
    ))
}

/// The buyer, if the caller may see it (else a 404, as if it did not exist).
pub(crate) async fn visible_buyer(
    state: &HttpState,
    who: &Principal,
    id: BuyerId,
) -> Result<Buyer, ApiError> {
    let buyer = state
        .store
        .get_buyer(id)
        .await
        .map_err(|_| ApiError::NotFound(format!("no buyer {id}")))?;
    if who.sees(&buyer) {
        Ok(buyer)
    } else {
        Err(ApiError::NotFound(format!("no buyer {id}")))
    }
}

/// The invoice (by number or `I12`), if the caller may see its buyer.
pub(crate) async fn visible_invoice(
    state: &HttpState,
    who: &Principal,
    key: &str,
) -> Result<(Invoice, Buyer), ApiError> {
    let inv = actions::find_invoice(state.store.as_ref(), key).await?;
    let buyer = visible_buyer(state, who, inv.buyer_id)
        .await
        .map_err(|_| ApiError::NotFound(format!("no invoice `{key}`")))?;
    Ok((inv, buyer))
}

// --------------------------------------------------------------------------
// Shapes.

/// An amount: integer minor units of an ISO 4217 currency, and as people write it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoneyDto {
    /// Minor units (paise, cents): `11800000` is ₹1,18,000.00.
    pub minor: i64,
    pub currency: String,
    /// Formatted: `₹1,18,000.00`, `$2,500.00`.
    pub text: String,
}

impl From<Money> for MoneyDto {
    fn from(m: Money) -> Self {
        MoneyDto {
            minor: m.minor(),
            currency: m.currency().code().to_string(),
            text: m.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuyerDto {
    pub id: i64,
    pub name: String,
    pub company: Option<String>,
    /// E.164.
    pub whatsapp: Option<String>,
    pub email: Option<String>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
    pub sales_rep: Option<String>,
    pub opted_out: bool,
    pub paused: bool,
}

impl From<&Buyer> for BuyerDto {
    fn from(b: &Buyer) -> Self {
        BuyerDto {
            id: b.id.get(),
            name: b.name.clone(),
            company: b.company.clone(),
            whatsapp: b.whatsapp.as_ref().map(|p| p.as_str().to_string()),
            email: b.email.clone(),
            country: b.country.as_ref().map(|c| c.as_str().to_string()),
            time_zone: b.time_zone.clone(),
            language: b.language.clone(),
            sales_rep: b.sales_rep.clone(),
            opted_out: b.opted_out_at.is_some(),
            paused: b.paused,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceDto {
    pub id: i64,
    pub number: String,
    pub buyer_id: i64,
    /// `YYYY-MM-DD`.
    pub invoice_date: String,
    pub due_date: String,
    pub amount: MoneyDto,
    pub amount_paid: MoneyDto,
    pub outstanding: MoneyDto,
    /// pending, in_process, partially_paid, paid, disputed, cancelled.
    pub status: String,
    pub snoozed_until: Option<String>,
    pub paused: bool,
}

impl From<&Invoice> for InvoiceDto {
    fn from(i: &Invoice) -> Self {
        InvoiceDto {
            id: i.id.get(),
            number: i.number.clone(),
            buyer_id: i.buyer_id.get(),
            invoice_date: i.invoice_date.to_string(),
            due_date: i.due_date.to_string(),
            amount: i.amount.into(),
            amount_paid: i.amount_paid.into(),
            outstanding: i.outstanding().into(),
            status: i.status.as_str().to_string(),
            snoozed_until: i.snoozed_until.map(|d| d.to_string()),
            paused: i.paused,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentDto {
    pub id: i64,
    pub invoice_id: Option<i64>,
    pub buyer_id: Option<i64>,
    pub amount: MoneyDto,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub method: String,
    pub reference: Option<String>,
    /// Why a person should look (unknown invoice, overpaid, other currency).
    pub flag: Option<String>,
}

impl From<&Payment> for PaymentDto {
    fn from(p: &Payment) -> Self {
        PaymentDto {
            id: p.id.get(),
            invoice_id: p.invoice_id.map(InvoiceId::get),
            buyer_id: p.buyer_id.map(BuyerId::get),
            amount: p.amount.into(),
            received_at: p.received_at.to_string(),
            method: p.method.as_str().to_string(),
            reference: p.reference.clone(),
            flag: p.flag.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntryDto {
    pub at: String,
    /// `imported`, `note`, `reminder_planned`, `attempt`, `delivery`, `payment`...
    pub kind: String,
    pub invoice_id: Option<i64>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentLinkDto {
    pub gateway: String,
    pub url: String,
    pub amount: MoneyDto,
    pub amount_paid: MoneyDto,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceDetail {
    pub invoice: InvoiceDto,
    pub buyer: BuyerDto,
    /// The invoice's pay page: always for an open invoice (its token is
    /// issued on first need), for a settled one only if it ever had one.
    pub pay_page: Option<String>,
    pub payments: Vec<PaymentDto>,
    pub payment_links: Vec<PaymentLinkDto>,
    /// Oldest first: imported, each reminder and its statuses, replies,
    /// payments, notes.
    pub timeline: Vec<TimelineEntryDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuyerDetail {
    pub buyer: BuyerDto,
    pub invoices: Vec<InvoiceDto>,
    pub timeline: Vec<TimelineEntryDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReminderDto {
    pub id: i64,
    pub buyer_id: i64,
    pub invoice_ids: Vec<i64>,
    /// pending, in_flight, sent, failed, dead, cancelled, needs_review.
    pub status: String,
    /// accepted, sent, delivered, read, failed (when known).
    pub delivery: Option<String>,
    pub send_at: String,
    pub sent_at: Option<String>,
    pub template: String,
    pub body: String,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxEntryDto {
    pub id: i64,
    pub buyer_id: Option<i64>,
    pub buyer_name: Option<String>,
    pub sales_rep: Option<String>,
    pub received_at: String,
    /// text, button, interactive, document...
    pub kind: String,
    pub text: Option<String>,
    /// What tagada did, once handled.
    pub action: Option<String>,
    pub needs_attention: bool,
    pub resolved_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlannedDto {
    pub buyer_id: i64,
    pub buyer_name: String,
    pub send_at: String,
    pub zone: String,
    pub segment: String,
    pub template: String,
    pub invoices: Vec<String>,
    pub body: String,
    pub escalate: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedDto {
    pub invoice_id: i64,
    pub invoice_number: String,
    pub buyer_id: i64,
    /// paid, disputed, snoozed_until, opted_out, not_yet_due...
    pub reason: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanDto {
    pub now: String,
    pub messages: Vec<PlannedDto>,
    pub skipped: Vec<SkippedDto>,
    pub not_loaded_not_yet_due: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrencySummaryDto {
    pub currency: String,
    pub invoices_open: u64,
    pub outstanding: MoneyDto,
    pub overdue: MoneyDto,
    pub collected: MoneyDto,
    pub invoices_paid: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryDto {
    pub by_currency: Vec<CurrencySummaryDto>,
    pub messages_sent: u64,
    pub messages_pending: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SendNowResult {
    /// False when today's manual reminder for this invoice is already queued or sent.
    pub queued: bool,
    /// The outbox message, when queued.
    pub reminder_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionResult {
    pub invoice: InvoiceDto,
    /// Queued reminders cancelled by this action.
    pub cancelled_messages: u32,
}

// --------------------------------------------------------------------------
// Requests.

#[derive(Debug, Deserialize, IntoParams)]
pub struct BuyerQuery {
    /// Part of the name or company, any case.
    pub search: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InvoiceQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    pub buyer: Option<i64>,
    /// Only open invoices past their due date.
    pub overdue: Option<bool>,
    /// Number contains this text.
    pub search: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PaymentQuery {
    /// Invoice number or `I12`.
    pub invoice: Option<String>,
    /// Only payments flagged for a person.
    pub flagged: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReminderQuery {
    /// Comma-separated outbox statuses.
    pub status: Option<String>,
    pub buyer: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InboxQuery {
    /// Every reply, not only those waiting for a person.
    pub all: Option<bool>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MetricsQuery {
    /// 30d (default), month, last-month, YYYY-MM, YYYY-MM-DD..YYYY-MM-DD or ytd.
    pub period: Option<String>,
    /// template, step, segment, rep, country or month.
    pub by: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkPaidRequest {
    /// e.g. "₹50,000" or "USD 1,250"; default: all that is outstanding.
    pub amount: Option<String>,
    /// upi, neft, rtgs, imps, wire, cheque, cash, other.
    pub method: String,
    /// UTR, cheque number: the same one twice changes nothing.
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SnoozeRequest {
    /// `YYYY-MM-DD`: no reminder until then (inclusive).
    pub until: String,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteRequest {
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RepRequest {
    /// The sales rep's name; empty or null clears it.
    pub rep: Option<String>,
}

// --------------------------------------------------------------------------
// Handlers.

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ledger",
    responses((status = 200, description = "The OpenAPI 3.1 document"), (status = 401, body = ErrorBody)))]
async fn openapi(_who: Caller) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// Outstanding, overdue and collected per currency, and the outbox's size.
/// A sales rep gets their own buyers' figures.
#[utoipa::path(get, path = "/api/summary", tag = "ledger",
    responses((status = 200, body = SummaryDto), (status = 401, body = ErrorBody)))]
async fn summary(
    State(state): State<HttpState>,
    Caller(who): Caller,
) -> Result<Json<SummaryDto>, ApiError> {
    let ledger = ledger(&state)?;
    let today = state
        .clock
        .now()
        .to_zoned_datetime(ledger.planner.home_zone())
        .date();
    if who.sees_everything() {
        let s = state.store.collection_summary(today).await?;
        return Ok(Json(SummaryDto {
            by_currency: s
                .by_currency
                .iter()
                .map(|(c, t)| CurrencySummaryDto {
                    currency: c.code().to_string(),
                    invoices_open: t.invoices_open,
                    outstanding: Money::from_minor(t.outstanding, *c).into(),
                    overdue: Money::from_minor(t.overdue, *c).into(),
                    collected: Money::from_minor(t.collected, *c).into(),
                    invoices_paid: t.invoices_paid,
                })
                .collect(),
            messages_sent: s.messages_sent,
            messages_pending: s.messages_pending,
        }));
    }
    // a rep's own buyers, added up here
    let invoices = visible_invoices(&state, &who, &InvoiceFilter::default()).await?;
    let mut by: std::collections::BTreeMap<String, CurrencySummaryDto> = Default::default();
    for inv in &invoices {
        let c = inv.currency();
        let e = by
            .entry(c.code().to_string())
            .or_insert_with(|| CurrencySummaryDto {
                currency: c.code().to_string(),
                invoices_open: 0,
                outstanding: Money::zero(c).into(),
                overdue: Money::zero(c).into(),
                collected: Money::zero(c).into(),
                invoices_paid: 0,
            });
        let add = |m: &mut MoneyDto, v: i64| {
            *m = Money::from_minor(m.minor + v, c).into();
        };
        add(&mut e.collected, inv.amount_paid.minor());
        if inv.status == InvoiceStatus::Paid {
            e.invoices_paid += 1;
        }
        if inv.status.is_open() {
            e.invoices_open += 1;
            add(&mut e.outstanding, inv.outstanding().minor());
            if inv.due_date < today {
                add(&mut e.overdue, inv.outstanding().minor());
            }
        }
    }
    Ok(Json(SummaryDto {
        by_currency: by.into_values().collect(),
        messages_sent: 0,
        messages_pending: 0,
    }))
}

/// Buyers the caller may see.
#[utoipa::path(get, path = "/api/buyers", tag = "ledger", params(BuyerQuery),
    responses((status = 200, body = [BuyerDto]), (status = 401, body = ErrorBody)))]
async fn list_buyers(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Query(q): Query<BuyerQuery>,
) -> Result<Json<Vec<BuyerDto>>, ApiError> {
    let mut buyers = state
        .store
        .list_buyers(&BuyerFilter {
            search: q.search.clone(),
            limit: if who.sees_everything() { q.limit } else { None },
            ..Default::default()
        })
        .await?;
    buyers.retain(|b| who.sees(b));
    if let Some(limit) = q.limit {
        buyers.truncate(limit as usize);
    }
    Ok(Json(buyers.iter().map(BuyerDto::from).collect()))
}

/// A buyer, their invoices and their timeline.
#[utoipa::path(get, path = "/api/buyers/{id}", tag = "ledger",
    params(("id" = i64, Path, description = "Buyer id")),
    responses((status = 200, body = BuyerDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_buyer(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Json<BuyerDetail>, ApiError> {
    let buyer = visible_buyer(&state, &who, BuyerId::new(id)).await?;
    let invoices = state
        .store
        .list_invoices(&InvoiceFilter {
            buyer: Some(buyer.id),
            ..Default::default()
        })
        .await?;
    let timeline = state
        .store
        .timeline(TimelineSubject::Buyer(buyer.id))
        .await?;
    Ok(Json(BuyerDetail {
        buyer: (&buyer).into(),
        invoices: invoices.iter().map(InvoiceDto::from).collect(),
        timeline: timeline.iter().map(timeline_dto).collect(),
    }))
}

fn timeline_dto(e: &tagada_store::TimelineEntry) -> TimelineEntryDto {
    TimelineEntryDto {
        at: e.at.to_string(),
        kind: e.kind.clone(),
        invoice_id: e.invoice_id.map(InvoiceId::get),
        text: e.text.clone(),
    }
}

/// Assigns a buyer to a sales rep (admins and accountants).
#[utoipa::path(post, path = "/api/buyers/{id}/rep", tag = "actions",
    params(("id" = i64, Path, description = "Buyer id")), request_body = RepRequest,
    responses((status = 200, body = BuyerDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn assign_rep(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    Json(req): Json<RepRequest>,
) -> Result<Json<BuyerDto>, ApiError> {
    let buyer = visible_buyer(&state, &who, BuyerId::new(id)).await?;
    if !who.sees_everything() {
        return Err(ApiError::Forbidden(
            "only an admin or an accountant assigns buyers to reps".into(),
        ));
    }
    let rep = req
        .rep
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let what = match &rep {
        Some(r) => format!("assigned to {r} by {}", who.name),
        None => format!("sales rep cleared by {}", who.name),
    };
    let updated = actions::update_buyer(
        state.store.as_ref(),
        &format!("B{}", buyer.id.get()),
        &BuyerPatch {
            sales_rep: Some(rep),
            ..Default::default()
        },
        &what,
        state.clock.now(),
    )
    .await?;
    Ok(Json((&updated).into()))
}

pub(crate) async fn visible_invoices(
    state: &HttpState,
    who: &Principal,
    filter: &InvoiceFilter,
) -> Result<Vec<Invoice>, ApiError> {
    let mut invoices = state.store.list_invoices(filter).await?;
    if let Some(mine) = visible_buyer_ids(state, who).await? {
        invoices.retain(|i| mine.contains(&i.buyer_id));
    }
    Ok(invoices)
}

pub(crate) fn parse_statuses(s: Option<&str>) -> Result<Vec<InvoiceStatus>, ApiError> {
    s.map(|s| {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                InvoiceStatus::parse(p)
                    .ok_or_else(|| ApiError::BadRequest(format!("status: unknown status `{p}`")))
            })
            .collect()
    })
    .unwrap_or(Ok(Vec::new()))
}

/// Invoices the caller may see, filtered.
#[utoipa::path(get, path = "/api/invoices", tag = "ledger", params(InvoiceQuery),
    responses((status = 200, body = [InvoiceDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_invoices(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Query(q): Query<InvoiceQuery>,
) -> Result<Json<Vec<InvoiceDto>>, ApiError> {
    let ledger = ledger(&state)?;
    let today = state
        .clock
        .now()
        .to_zoned_datetime(ledger.planner.home_zone())
        .date();
    let filter = InvoiceFilter {
        buyer: q.buyer.map(BuyerId::new),
        statuses: parse_statuses(q.status.as_deref())?,
        overdue_on: q.overdue.filter(|o| *o).map(|_| today),
        search: q.search.clone(),
        limit: if who.sees_everything() { q.limit } else { None },
    };
    let mut invoices = visible_invoices(&state, &who, &filter).await?;
    if let Some(limit) = q.limit {
        invoices.truncate(limit as usize);
    }
    Ok(Json(invoices.iter().map(InvoiceDto::from).collect()))
}

/// An invoice with its buyer, payments, links and full timeline.
#[utoipa::path(get, path = "/api/invoices/{key}", tag = "ledger",
    params(("key" = String, Path, description = "Invoice number, or its id as `I12`")),
    responses((status = 200, body = InvoiceDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_invoice(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
) -> Result<Json<InvoiceDetail>, ApiError> {
    let ledger = ledger(&state)?;
    let (mut inv, buyer) = visible_invoice(&state, &who, &key).await?;
    // an open invoice's pay page link is shown, its token issued on first need
    if inv.status.is_open() {
        tagada_app::payments::issue_pay_tokens(state.store.as_ref(), std::iter::once(&mut inv))
            .await?;
    }
    let payments = state.store.list_payments(Some(inv.id)).await?;
    let links = state
        .store
        .list_payment_links(&PaymentLinkFilter {
            invoice: Some(inv.id),
            ..Default::default()
        })
        .await?;
    let timeline = state
        .store
        .timeline(TimelineSubject::Invoice(inv.id))
        .await?;
    Ok(Json(InvoiceDetail {
        pay_page: inv
            .pay_token
            .as_deref()
            .map(|t| ledger.planner.seller.pay_page(t)),
        invoice: (&inv).into(),
        buyer: (&buyer).into(),
        payments: payments.iter().map(PaymentDto::from).collect(),
        payment_links: links
            .iter()
            .map(|l| PaymentLinkDto {
                gateway: l.gateway.clone(),
                url: l.url.clone(),
                amount: l.amount.into(),
                amount_paid: l.amount_paid.into(),
                status: l.status.clone(),
            })
            .collect(),
        timeline: timeline.iter().map(timeline_dto).collect(),
    }))
}

/// Records a payment received (cheque, NEFT, UPI to the seller...): the
/// invoice moves on and its queued reminders are cancelled.
#[utoipa::path(post, path = "/api/invoices/{key}/mark-paid", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")), request_body = MarkPaidRequest,
    responses((status = 200, body = ActionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn mark_paid(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
    Json(req): Json<MarkPaidRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let ledger = ledger(&state)?;
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    let amount = match &req.amount {
        Some(a) => Some(
            Money::parse(a, Some(inv.currency()))
                .map_err(|e| ApiError::BadRequest(format!("amount: {e}")))?,
        ),
        None => None,
    };
    let method = PaymentMethod::parse(&req.method)
        .ok_or_else(|| ApiError::BadRequest(format!("method: unknown method `{}`", req.method)))?;
    let now = state.clock.now();
    let out = actions::mark_paid(
        state.store.as_ref(),
        &inv.number,
        amount,
        method,
        req.reference.clone(),
        now,
    )
    .await?;
    let pay = PayContext {
        store: state.store.as_ref(),
        gateways: &ledger.gateways,
        cfg: &ledger.cfg,
        planner: &ledger.planner,
        clock: state.clock.as_ref(),
        home_country: &ledger.home_country,
    };
    pay.after_payment(&out).await?;
    let after = out.invoice.clone().unwrap_or(inv);
    Ok(Json(ActionResult {
        invoice: (&after).into(),
        cancelled_messages: out.cancelled_messages,
    }))
}

async fn invoice_result(
    state: &HttpState,
    inv: Invoice,
    before: usize,
) -> Result<Json<ActionResult>, ApiError> {
    let after = pending_count(state, inv.id).await?;
    Ok(Json(ActionResult {
        invoice: (&inv).into(),
        cancelled_messages: before.saturating_sub(after) as u32,
    }))
}

async fn pending_count(state: &HttpState, inv: InvoiceId) -> Result<usize, ApiError> {
    Ok(state
        .store
        .list_messages(&OutboxFilter {
            invoice: Some(inv),
            statuses: vec![tagada_core::outbox::OutboxStatus::Pending],
            ..Default::default()
        })
        .await?
        .len())
}

/// No reminders until a date (a promise to pay).
#[utoipa::path(post, path = "/api/invoices/{key}/snooze", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")), request_body = SnoozeRequest,
    responses((status = 200, body = ActionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn snooze(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
    Json(req): Json<SnoozeRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    let until: jiff::civil::Date =
        req.until.trim().parse().map_err(|_| {
            ApiError::BadRequest(format!("until: `{}` is not YYYY-MM-DD", req.until))
        })?;
    let before = pending_count(&state, inv.id).await?;
    let reason = req.reason.map(|r| format!("{r} ({})", who.name));
    let after = actions::snooze(
        state.store.as_ref(),
        &inv.number,
        until,
        reason.as_deref().or(Some(&who.name)),
        state.clock.now(),
    )
    .await?;
    invoice_result(&state, after, before).await
}

/// Stops reminders for the invoice until resumed.
#[utoipa::path(post, path = "/api/invoices/{key}/pause", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")),
    responses((status = 200, body = ActionResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn pause(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
) -> Result<Json<ActionResult>, ApiError> {
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    let before = pending_count(&state, inv.id).await?;
    let after =
        actions::set_invoice_paused(state.store.as_ref(), &inv.number, true, state.clock.now())
            .await?;
    invoice_result(&state, after, before).await
}

/// Resumes a paused invoice's reminders.
#[utoipa::path(post, path = "/api/invoices/{key}/resume", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")),
    responses((status = 200, body = ActionResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn resume(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
) -> Result<Json<ActionResult>, ApiError> {
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    let after =
        actions::set_invoice_paused(state.store.as_ref(), &inv.number, false, state.clock.now())
            .await?;
    invoice_result(&state, after, 0).await
}

/// Marks the invoice disputed: reminders stop.
#[utoipa::path(post, path = "/api/invoices/{key}/dispute", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")), request_body = ReasonRequest,
    responses((status = 200, body = ActionResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn dispute(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
    Json(req): Json<ReasonRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    let before = pending_count(&state, inv.id).await?;
    let reason = format!(
        "{} ({})",
        req.reason.as_deref().unwrap_or("disputed by buyer"),
        who.name
    );
    let after = actions::dispute(
        state.store.as_ref(),
        &inv.number,
        &reason,
        state.clock.now(),
    )
    .await?;
    invoice_result(&state, after, before).await
}

/// Adds a note to the invoice's timeline.
#[utoipa::path(post, path = "/api/invoices/{key}/note", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")), request_body = NoteRequest,
    responses((status = 200, body = TimelineEntryDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn note(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
    Json(req): Json<NoteRequest>,
) -> Result<Json<TimelineEntryDto>, ApiError> {
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    if req.text.trim().is_empty() {
        return Err(ApiError::BadRequest("text: a note needs text".into()));
    }
    let n = actions::invoice_note(
        state.store.as_ref(),
        &inv.number,
        NoteKind::Note,
        req.text.trim(),
        Some(&who.name),
        state.clock.now(),
    )
    .await?;
    Ok(Json(TimelineEntryDto {
        at: n.at.to_string(),
        kind: "note".into(),
        invoice_id: n.invoice_id.map(InvoiceId::get),
        text: n.text,
    }))
}

/// Queues a reminder for the invoice now, outside the cadence (at most one
/// a day); the sender still checks it (paid, disputed, snoozed, opted out).
#[utoipa::path(post, path = "/api/invoices/{key}/send-now", tag = "actions",
    params(("key" = String, Path, description = "Invoice number, or `I12`")),
    responses((status = 200, body = SendNowResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn send_now(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(key): Path<String>,
) -> Result<Json<SendNowResult>, ApiError> {
    let ledger = ledger(&state)?;
    let (inv, _) = visible_invoice(&state, &who, &key).await?;
    let queued = actions::send_now(
        state.store.as_ref(),
        &ledger.planner,
        &inv.number,
        state.clock.now(),
    )
    .await?;
    Ok(Json(SendNowResult {
        queued: queued.is_some(),
        reminder_id: queued.map(|id| id.get()),
    }))
}

/// Marks a reply dealt with.
#[utoipa::path(post, path = "/api/inbox/{id}/resolve", tag = "messages",
    params(("id" = i64, Path, description = "Inbox entry id")),
    responses((status = 200, body = InboxEntryDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn resolve_inbox(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Json<InboxEntryDto>, ApiError> {
    let entry = state
        .store
        .get_inbox_entry(id)
        .await
        .map_err(|_| ApiError::NotFound(format!("no inbox entry {id}")))?;
    let visible = match entry.buyer_id {
        Some(b) => visible_buyer(&state, &who, b).await.is_ok(),
        None => who.sees_everything(),
    };
    if !visible {
        return Err(ApiError::NotFound(format!("no inbox entry {id}")));
    }
    let e = state
        .store
        .resolve_inbox_entry(id, &who.name, state.clock.now())
        .await?;
    Ok(Json(inbox_dto(&e)))
}

fn inbox_dto(e: &tagada_store::InboxEntry) -> InboxEntryDto {
    InboxEntryDto {
        id: e.id,
        buyer_id: e.buyer_id.map(BuyerId::get),
        buyer_name: e.buyer_name.clone(),
        sales_rep: e.sales_rep.clone(),
        received_at: e.received_at.to_string(),
        kind: e.kind.clone(),
        text: e.text.clone(),
        action: e.handling.as_ref().map(|h| h.action.clone()),
        needs_attention: e.is_open(),
        resolved_at: e.resolved_at.map(|t| t.to_string()),
    }
}

/// Payments the caller may see, oldest first.
#[utoipa::path(get, path = "/api/payments", tag = "payments", params(PaymentQuery),
    responses((status = 200, body = [PaymentDto]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_payments(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Query(q): Query<PaymentQuery>,
) -> Result<Json<Vec<PaymentDto>>, ApiError> {
    let invoice = match &q.invoice {
        Some(key) => Some(visible_invoice(&state, &who, key).await?.0.id),
        None => None,
    };
    let mut payments = state.store.list_payments(invoice).await?;
    if q.flagged == Some(true) {
        payments.retain(|p| p.flag.is_some());
    }
    if let Some(mine) = visible_buyer_ids(&state, &who).await? {
        payments.retain(|p| p.buyer_id.is_some_and(|b| mine.contains(&b)));
    }
    Ok(Json(payments.iter().map(PaymentDto::from).collect()))
}

/// Reminders and replies in the outbox, oldest first.
#[utoipa::path(get, path = "/api/reminders", tag = "messages", params(ReminderQuery),
    responses((status = 200, body = [ReminderDto]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_reminders(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Query(q): Query<ReminderQuery>,
) -> Result<Json<Vec<ReminderDto>>, ApiError> {
    let statuses = q
        .status
        .as_deref()
        .map(|s| {
            s.split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    tagada_core::outbox::OutboxStatus::parse(p.trim()).ok_or_else(|| {
                        ApiError::BadRequest(format!("status: unknown status `{p}`"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    if let Some(b) = q.buyer {
        visible_buyer(&state, &who, BuyerId::new(b)).await?;
    }
    let mut messages = state
        .store
        .list_messages(&OutboxFilter {
            statuses,
            buyer: q.buyer.map(BuyerId::new),
            limit: if who.sees_everything() { q.limit } else { None },
            ..Default::default()
        })
        .await?;
    if let Some(mine) = visible_buyer_ids(&state, &who).await? {
        messages.retain(|m| mine.contains(&m.buyer_id));
    }
    if let Some(limit) = q.limit {
        messages.truncate(limit as usize);
    }
    Ok(Json(
        messages
            .iter()
            .map(|m| ReminderDto {
                id: m.id.get(),
                buyer_id: m.buyer_id.get(),
                invoice_ids: m.invoice_ids.iter().map(|i| i.get()).collect(),
                status: m.status.as_str().to_string(),
                delivery: m.delivery.map(|d| d.as_str().to_string()),
                send_at: m.send_at.to_string(),
                sent_at: m.sent_at.map(|t| t.to_string()),
                template: m.message.template_key.clone(),
                body: m.message.body.clone(),
                last_error: m.last_error.clone(),
            })
            .collect(),
    ))
}

/// Buyers' replies: those waiting for a person, or all.
#[utoipa::path(get, path = "/api/inbox", tag = "messages", params(InboxQuery),
    responses((status = 200, body = [InboxEntryDto]), (status = 401, body = ErrorBody)))]
async fn list_inbox(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Query(q): Query<InboxQuery>,
) -> Result<Json<Vec<InboxEntryDto>>, ApiError> {
    let entries = state
        .store
        .list_inbox(&InboxFilter {
            sales_rep: who.role.rep().map(str::to_string),
            open_only: q.all != Some(true),
            limit: q.limit,
            ..Default::default()
        })
        .await?;
    Ok(Json(
        entries
            .iter()
            // a rep never sees replies from numbers of no buyer of theirs
            .filter(|e| who.sees_everything() || e.buyer_id.is_some())
            .map(inbox_dto)
            .collect(),
    ))
}

/// What would be sent now, and why not for the rest (nothing is queued).
#[utoipa::path(get, path = "/api/plan", tag = "messages",
    responses((status = 200, body = PlanDto), (status = 401, body = ErrorBody)))]
async fn plan_preview(
    State(state): State<HttpState>,
    Caller(who): Caller,
) -> Result<Json<PlanDto>, ApiError> {
    let ledger = ledger(&state)?;
    let plan = tagada_app::planning::build_plan(
        state.store.as_ref(),
        &ledger.planner,
        state.clock.now(),
        tagada_app::planning::Scope::Due,
    )
    .await?;
    let mine = visible_buyer_ids(&state, &who).await?;
    let visible = |b: BuyerId| mine.as_ref().is_none_or(|m| m.contains(&b));
    Ok(Json(PlanDto {
        now: plan.now.to_string(),
        messages: plan
            .messages
            .iter()
            .filter(|m| visible(m.buyer_id))
            .map(|m| PlannedDto {
                buyer_id: m.buyer_id.get(),
                buyer_name: m.buyer_name.clone(),
                send_at: m.send_at.to_string(),
                zone: m.zone.clone(),
                segment: m.segment.clone(),
                template: m.message.template_key.clone(),
                invoices: m.items.iter().map(|i| i.invoice_number.clone()).collect(),
                body: m.message.body.clone(),
                escalate: m.escalate,
            })
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .filter(|s| visible(s.buyer_id))
            .map(|s| {
                let detail = serde_json::to_value(&s.reason).unwrap_or_default();
                SkippedDto {
                    invoice_id: s.invoice_id.get(),
                    invoice_number: s.invoice_number.clone(),
                    buyer_id: s.buyer_id.get(),
                    reason: detail["reason"].as_str().unwrap_or("?").to_string(),
                    detail,
                }
            })
            .collect(),
        not_loaded_not_yet_due: plan.not_loaded_not_yet_due,
    }))
}

/// Collection figures for a period: outstanding and ageing (per currency
/// and in the home currency), DSO (countback and simple) and its trend,
/// CEI, days to pay, and the reminder funnel, broken down `by` a dimension
/// when asked. The same figures as `tagada report --json`; a sales rep gets
/// their own buyers'.
#[utoipa::path(get, path = "/api/metrics", tag = "ledger", params(MetricsQuery),
    responses(
        (status = 200, description = "The report, as `tagada report --json` prints it", content_type = "application/json"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn metrics(
    State(state): State<HttpState>,
    Caller(who): Caller,
    Query(q): Query<MetricsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ledger = ledger(&state)?;
    let today = state
        .clock
        .now()
        .to_zoned_datetime(ledger.planner.home_zone())
        .date();
    let period = tagada_app::reports::parse_period(q.period.as_deref().unwrap_or("30d"), today)
        .map_err(ApiError::BadRequest)?;
    let by =
        q.by.as_deref()
            .map(tagada_app::reports::parse_dimension)
            .transpose()
            .map_err(ApiError::BadRequest)?;
    let scope = (!who.sees_everything()).then_some(&who);
    let report =
        tagada_app::summary::report(state.store.as_ref(), &ledger.planner, period, by, scope)
            .await
            .map_err(|e| match e {
                tagada_app::reports::ReportError::Store(s) => s.into(),
                other => ApiError::BadRequest(other.to_string()),
            })?;
    Ok(Json(
        serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}
