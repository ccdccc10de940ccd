//! Invoices: the filtered list with bulk actions, and one invoice's page
//! (amounts, buyer, pay page, full timeline, and a form per action).
//!
//! Every action goes through `tagada_app::actions` as the JSON API's do;
//! marking paid then runs `PayContext::after_payment` (open gateway links
//! cancelled, thank-you queued). Each answers 303 back to the page.

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use jiff::civil::Date;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tagada_app::actions;
use tagada_app::payments::PayContext;
use tagada_core::ledger::{Invoice, InvoiceStatus, NoteKind, PaymentMethod};
use tagada_core::{BuyerId, Money};
use tagada_store::REPLY_KEY_PREFIX;
use tagada_store::{InvoiceFilter, OutboxFilter, PaymentLinkFilter, TimelineSubject};

use super::{
    DashError, DashUser, SignedForm, buyer_label, ledger, local_time, path_segment, render,
    see_other, today, visible_buyers,
};
use crate::HttpState;
use crate::api::{parse_statuses, visible_invoice, visible_invoices};

/// The list shows at most this many invoices (filters narrow it).
const LIST_LIMIT: usize = 500;

/// Payment methods offered by the mark-paid form: (value, label).
const METHODS: [(&str, &str); 5] = [
    ("bank_transfer", "Bank transfer (NEFT/RTGS/IMPS/wire)"),
    ("upi", "UPI"),
    ("cheque", "Cheque"),
    ("cash", "Cash"),
    ("other", "Other"),
];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    overdue: Option<String>,
    search: Option<String>,
    buyer: Option<String>,
    done: Option<String>,
    n: Option<u32>,
    skipped: Option<u32>,
}

#[derive(Debug, Serialize)]
struct InvoiceRow {
    number: String,
    buyer_id: i64,
    buyer: String,
    amount: String,
    outstanding: String,
    invoice_date: String,
    due_date: String,
    /// Days past due, for open invoices past their due date.
    overdue_days: Option<i32>,
    status: &'static str,
    paused: bool,
    snoozed_until: Option<String>,
}

#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct ListView {
    rows: Vec<InvoiceRow>,
    total: usize,
    truncated: bool,
    statuses: Vec<Choice>,
    buyers: Vec<Choice>,
    overdue: bool,
    search: String,
    notice: Option<String>,
    today: String,
}

fn row(inv: &Invoice, buyer: String, today: Date) -> InvoiceRow {
    let days = inv.days_overdue(today);
    InvoiceRow {
        number: inv.number.clone(),
        buyer_id: inv.buyer_id.get(),
        buyer,
        amount: inv.amount.to_string(),
        outstanding: inv.outstanding().to_string(),
        invoice_date: inv.invoice_date.to_string(),
        due_date: inv.due_date.to_string(),
        overdue_days: (inv.status.is_open() && days > 0).then_some(days),
        status: inv.status.as_str(),
        paused: inv.paused,
        snoozed_until: inv
            .snoozed_until
            .filter(|d| *d >= today)
            .map(|d| d.to_string()),
    }
}

fn bulk_notice(done: Option<&str>, n: u32, skipped: u32) -> Option<String> {
    let what = match done? {
        "paused" => "paused",
        "resumed" => "resumed",
        "snoozed" => "snoozed",
        _ => return None,
    };
    let mut s = format!("{n} invoice(s) {what}.");
    if skipped > 0 {
        s.push_str(&format!(" {skipped} could not be (see their pages)."));
    }
    Some(s)
}

/// `GET /invoices?status=&overdue=1&search=&buyer=`.
pub(crate) async fn list(
    State(state): State<HttpState>,
    user: DashUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, DashError> {
    let ledger = ledger(&state)?;
    let today = today(&state, ledger);
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let buyer = match q.buyer.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(b) => Some(BuyerId::new(
            b.trim_start_matches(['B', 'b'])
                .parse()
                .map_err(|_| DashError::BadRequest(format!("buyer: `{b}` is not a buyer id")))?,
        )),
        None => None,
    };
    let overdue = q
        .overdue
        .as_deref()
        .is_some_and(|o| !o.is_empty() && o != "0");
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let filter = InvoiceFilter {
        buyer,
        statuses: parse_statuses(status)?,
        overdue_on: overdue.then_some(today),
        search: search.map(str::to_string),
        limit: None,
    };
    let invoices = visible_invoices(&state, &user.who, &filter).await?;
    let buyers = visible_buyers(&state, &user.who).await?;
    let total = invoices.len();
    let rows = invoices
        .iter()
        .take(LIST_LIMIT)
        .map(|inv| {
            let name = buyers
                .get(&inv.buyer_id)
                .map(buyer_label)
                .unwrap_or_else(|| format!("B{}", inv.buyer_id.get()));
            row(inv, name, today)
        })
        .collect();
    let mut buyer_choices: Vec<Choice> = buyers
        .values()
        .map(|b| Choice {
            value: b.id.get().to_string(),
            label: buyer_label(b),
            selected: Some(b.id) == buyer,
        })
        .collect();
    buyer_choices.sort_by_key(|a| a.label.to_lowercase());
    let view = ListView {
        rows,
        total,
        truncated: total > LIST_LIMIT,
        statuses: InvoiceStatus::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_string(),
                label: s.as_str().replace('_', " "),
                selected: status == Some(s.as_str()),
            })
            .collect(),
        buyers: buyer_choices,
        overdue,
        search: search.unwrap_or_default().to_string(),
        notice: bulk_notice(q.done.as_deref(), q.n.unwrap_or(0), q.skipped.unwrap_or(0)),
        today: today.to_string(),
    };
    render(
        "invoices.html",
        minijinja::context! { nav => user.nav("invoices"), page => Serde(view) },
    )
}

fn parse_date(field: &str, v: Option<&str>) -> Result<Date, DashError> {
    let v = v.ok_or_else(|| DashError::BadRequest(format!("{field}: a date is needed")))?;
    v.parse()
        .map_err(|_| DashError::BadRequest(format!("{field}: `{v}` is not a date (YYYY-MM-DD)")))
}

/// `POST /invoices/bulk`: `action` = pause | resume | snooze-until (with
/// `until`), `ids` = the selected invoice numbers. An invoice the person may
/// not see fails the whole form (404) before anything changes; one an
/// action refuses (snoozing a paid invoice) is skipped and counted.
pub(crate) async fn bulk(
    State(state): State<HttpState>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let who = &form.user.who;
    let f = &form.fields;
    let action = f.get("action").unwrap_or_default();
    let until = match action {
        "pause" | "resume" => None,
        "snooze-until" | "snooze" => Some(parse_date("until", f.get("until"))?),
        other => {
            return Err(DashError::BadRequest(format!(
                "action: `{other}` is not pause, resume or snooze-until"
            )));
        }
    };
    let ids = f.all("ids");
    if ids.is_empty() {
        return Err(DashError::BadRequest(
            "select at least one invoice first".into(),
        ));
    }
    let mut invoices = Vec::with_capacity(ids.len());
    for key in &ids {
        invoices.push(visible_invoice(&state, who, key).await?.0);
    }
    let now = state.clock.now();
    let store = state.store.as_ref();
    let (mut done, mut skipped) = (0u32, 0u32);
    for inv in &invoices {
        let result = match (action, until) {
            ("pause", _) => actions::set_invoice_paused(store, &inv.number, true, now).await,
            ("resume", _) => actions::set_invoice_paused(store, &inv.number, false, now).await,
            (_, Some(until)) => {
                actions::snooze(store, &inv.number, until, Some(&who.name), now).await
            }
            _ => unreachable!("the action was checked above"),
        };
        match result {
            Ok(_) => done += 1,
            Err(actions::ActionError::Refused(m)) => {
                tracing::info!(invoice = %inv.number, reason = %m, "bulk action skipped an invoice");
                skipped += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let word = match action {
        "pause" => "paused",
        "resume" => "resumed",
        _ => "snoozed",
    };
    Ok(see_other(&format!(
        "/invoices?done={word}&n={done}&skipped={skipped}"
    )))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    done: Option<String>,
}

#[derive(Debug, Serialize)]
struct TimelineItem {
    at: String,
    kind: String,
    text: String,
    /// Outbox messages: status, delivery, the text as sent.
    status: Option<&'static str>,
    delivery: Option<&'static str>,
    body: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct PaymentRow {
    at: String,
    amount: String,
    method: &'static str,
    reference: Option<String>,
    flag: Option<String>,
}

#[derive(Debug, Serialize)]
struct LinkRow {
    gateway: String,
    url: String,
    amount: String,
    status: String,
}

#[derive(Debug, Serialize)]
struct InvoiceView {
    number: String,
    path: String,
    status: &'static str,
    open: bool,
    amount: String,
    paid: String,
    outstanding: String,
    invoice_date: String,
    due_date: String,
    overdue_days: Option<i32>,
    credit_days: Option<i32>,
    snoozed_until: Option<String>,
    paused: bool,
    cadence_override: Option<String>,
    cycle: u32,
    buyer_id: i64,
    buyer: String,
    buyer_whatsapp: Option<String>,
    sales_rep: Option<String>,
    pay_page: Option<String>,
    payments: Vec<PaymentRow>,
    links: Vec<LinkRow>,
    timeline: Vec<TimelineItem>,
    methods: Vec<Choice>,
    notice: Option<&'static str>,
    tomorrow: String,
}

fn action_notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "paid" => "Payment recorded.",
        "snoozed" => "Snoozed: no reminder until that date.",
        "paused" => "Reminders paused for this invoice.",
        "resumed" => "Reminders resumed.",
        "disputed" => "Marked disputed: reminders stop.",
        "noted" => "Note added.",
        "sent-now" => "A reminder is queued and goes out at once.",
        "sent-already" => "Today's reminder for this invoice is already queued or sent.",
        _ => return None,
    })
}

/// `GET /invoices/{number}`.
pub(crate) async fn page(
    State(state): State<HttpState>,
    user: DashUser,
    Path(number): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, DashError> {
    let ledger = ledger(&state)?;
    let zone = ledger.planner.home_zone();
    let today = today(&state, ledger);
    let (mut inv, buyer) = visible_invoice(&state, &user.who, &number).await?;
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
    let entries = state
        .store
        .timeline(TimelineSubject::Invoice(inv.id))
        .await?;
    let messages = state
        .store
        .list_messages(&OutboxFilter {
            invoice: Some(inv.id),
            ..Default::default()
        })
        .await?;
    let mut timeline: Vec<(jiff::Timestamp, TimelineItem)> = entries
        .into_iter()
        .map(|e| {
            (
                e.at,
                TimelineItem {
                    at: local_time(e.at, &zone),
                    kind: e.kind,
                    text: e.text,
                    status: None,
                    delivery: None,
                    body: None,
                    error: None,
                },
            )
        })
        .collect();
    for m in messages {
        let what = if m.dedupe_key.starts_with(REPLY_KEY_PREFIX) {
            "Reply".to_string()
        } else {
            format!("Reminder `{}`", m.message.template_key)
        };
        let when = match m.sent_at {
            Some(t) => format!("sent {}", local_time(t, &zone)),
            None => format!("to send {}", local_time(m.send_at, &zone)),
        };
        timeline.push((
            m.created_at,
            TimelineItem {
                at: local_time(m.created_at, &zone),
                kind: "message".into(),
                text: format!("{what} (message {}), {when}", m.id.get()),
                status: Some(m.status.as_str()),
                delivery: m.delivery.map(|d| d.as_str()),
                body: Some(m.message.body),
                error: m.last_error,
            },
        ));
    }
    timeline.sort_by_key(|(at, _)| *at);
    let days = inv.days_overdue(today);
    let view = InvoiceView {
        number: inv.number.clone(),
        path: path_segment(&inv.number),
        status: inv.status.as_str(),
        open: inv.status.is_open(),
        amount: inv.amount.to_string(),
        paid: inv.amount_paid.to_string(),
        outstanding: inv.outstanding().to_string(),
        invoice_date: inv.invoice_date.to_string(),
        due_date: inv.due_date.to_string(),
        overdue_days: (inv.status.is_open() && days > 0).then_some(days),
        credit_days: inv.credit_days,
        snoozed_until: inv.snoozed_until.map(|d| d.to_string()),
        paused: inv.paused,
        cadence_override: inv.cadence_override.clone(),
        cycle: inv.reminder_cycle,
        buyer_id: buyer.id.get(),
        buyer: buyer_label(&buyer),
        buyer_whatsapp: buyer.whatsapp.as_ref().map(|p| p.as_str().to_string()),
        sales_rep: buyer.sales_rep.clone(),
        pay_page: inv
            .pay_token
            .as_deref()
            .map(|t| ledger.planner.seller.pay_page(t)),
        payments: payments
            .iter()
            .map(|p| PaymentRow {
                at: local_time(p.received_at, &zone),
                amount: p.amount.to_string(),
                method: p.method.as_str(),
                reference: p.reference.clone(),
                flag: p.flag.clone(),
            })
            .collect(),
        links: links
            .iter()
            .map(|l| LinkRow {
                gateway: l.gateway.clone(),
                url: l.url.clone(),
                amount: l.amount.to_string(),
                status: l.status.clone(),
            })
            .collect(),
        timeline: timeline.into_iter().map(|(_, t)| t).collect(),
        methods: METHODS
            .iter()
            .enumerate()
            .map(|(i, (v, l))| Choice {
                value: v.to_string(),
                label: l.to_string(),
                selected: i == 0,
            })
            .collect(),
        notice: action_notice(q.done.as_deref()),
        tomorrow: today.tomorrow().unwrap_or(today).to_string(),
    };
    render(
        "invoice.html",
        minijinja::context! { nav => user.nav("invoices"), page => Serde(view) },
    )
}

fn back(inv: &Invoice, done: &str) -> Response {
    see_other(&format!(
        "/invoices/{}?done={done}",
        path_segment(&inv.number)
    ))
}

/// `POST /invoices/{number}/mark-paid`: `amount` (default: all that is
/// outstanding), `method`, `reference`.
pub(crate) async fn mark_paid(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let ledger = ledger(&state)?;
    let (inv, _) = visible_invoice(&state, &form.user.who, &number).await?;
    let f = &form.fields;
    let amount = f
        .get("amount")
        .map(|a| {
            Money::parse(a, Some(inv.currency()))
                .map_err(|e| DashError::BadRequest(format!("amount: {e}")))
        })
        .transpose()?;
    let method_text = f.get("method").unwrap_or("bank_transfer");
    let method = PaymentMethod::parse(method_text)
        .ok_or_else(|| DashError::BadRequest(format!("method: unknown method `{method_text}`")))?;
    let out = actions::mark_paid(
        state.store.as_ref(),
        &inv.number,
        amount,
        method,
        f.get("reference").map(str::to_string),
        state.clock.now(),
    )
    .await?;
    PayContext {
        store: state.store.as_ref(),
        gateways: &ledger.gateways,
        cfg: &ledger.cfg,
        planner: &ledger.planner,
        clock: state.clock.as_ref(),
        home_country: &ledger.home_country,
    }
    .after_payment(&out)
    .await?;
    tracing::info!(invoice = %inv.number, user = %form.user.who.name, cancelled = out.cancelled_messages, "payment recorded from the dashboard");
    Ok(back(&inv, "paid"))
}

/// `POST /invoices/{number}/snooze`: `until` (a date), `reason`.
pub(crate) async fn snooze(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let who = &form.user.who;
    let (inv, _) = visible_invoice(&state, who, &number).await?;
    let until = parse_date("until", form.fields.get("until"))?;
    let reason = match form.fields.get("reason") {
        Some(r) => format!("{r} ({})", who.name),
        None => who.name.clone(),
    };
    actions::snooze(
        state.store.as_ref(),
        &inv.number,
        until,
        Some(&reason),
        state.clock.now(),
    )
    .await?;
    Ok(back(&inv, "snoozed"))
}

async fn set_paused(
    state: &HttpState,
    number: &str,
    form: &SignedForm,
    paused: bool,
) -> Result<Response, DashError> {
    let (inv, _) = visible_invoice(state, &form.user.who, number).await?;
    actions::set_invoice_paused(state.store.as_ref(), &inv.number, paused, state.clock.now())
        .await?;
    Ok(back(&inv, if paused { "paused" } else { "resumed" }))
}

/// `POST /invoices/{number}/send-now`: a reminder now, outside the
/// cadence (at most one a day).
pub(crate) async fn send_now(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let ledger = ledger(&state)?;
    let (inv, _) = visible_invoice(&state, &form.user.who, &number).await?;
    let queued = actions::send_now(
        state.store.as_ref(),
        &ledger.planner,
        &inv.number,
        state.clock.now(),
    )
    .await?;
    Ok(back(
        &inv,
        if queued.is_some() {
            "sent-now"
        } else {
            "sent-already"
        },
    ))
}

/// `POST /invoices/{number}/pause`.
pub(crate) async fn pause(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    set_paused(&state, &number, &form, true).await
}

/// `POST /invoices/{number}/resume`.
pub(crate) async fn resume(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    set_paused(&state, &number, &form, false).await
}

/// `POST /invoices/{number}/dispute`: `reason`.
pub(crate) async fn dispute(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let who = &form.user.who;
    let (inv, _) = visible_invoice(&state, who, &number).await?;
    let reason = format!(
        "{} ({})",
        form.fields.get("reason").unwrap_or("disputed by buyer"),
        who.name
    );
    actions::dispute(
        state.store.as_ref(),
        &inv.number,
        &reason,
        state.clock.now(),
    )
    .await?;
    Ok(back(&inv, "disputed"))
}

/// `POST /invoices/{number}/note`: `text`.
pub(crate) async fn note(
    State(state): State<HttpState>,
    Path(number): Path<String>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let who = &form.user.who;
    let (inv, _) = visible_invoice(&state, who, &number).await?;
    let text = form
        .fields
        .get("text")
        .ok_or_else(|| DashError::BadRequest("text: a note needs text".into()))?;
    actions::invoice_note(
        state.store.as_ref(),
        &inv.number,
        NoteKind::Note,
        text,
        Some(&who.name),
        state.clock.now(),
    )
    .await?;
    Ok(back(&inv, "noted"))
}
