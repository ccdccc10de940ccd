//! The inbox: buyers' replies waiting for a person (every reply with
//! `?all=1`), with a form to mark one resolved and, for admins and
//! accountants, one to hand its buyer to a sales rep.

use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use tagada_app::actions;
use tagada_app::auth::Principal;
use tagada_core::BuyerId;
use tagada_store::{BuyerPatch, InboxEntry, InboxFilter};

use super::{DashError, DashUser, SignedForm, ledger, local_time, render, see_other};
use crate::HttpState;
use crate::api::visible_buyer;

/// The inbox lists at most this many replies.
const LIMIT: u32 = 300;

#[derive(Debug, Deserialize)]
pub(crate) struct InboxQuery {
    all: Option<String>,
}

#[derive(Debug, Serialize)]
struct EntryRow {
    id: i64,
    received: String,
    buyer_id: Option<i64>,
    buyer: String,
    sales_rep: Option<String>,
    kind: String,
    text: Option<String>,
    action: Option<String>,
    intent: Option<String>,
    open: bool,
    resolved: Option<String>,
}

/// `GET /inbox` (`?all=1`: handled and resolved replies too).
pub(crate) async fn list(
    State(state): State<HttpState>,
    user: DashUser,
    Query(q): Query<InboxQuery>,
) -> Result<Html<String>, DashError> {
    let zone = ledger(&state)?.planner.home_zone();
    let all = q.all.as_deref().is_some_and(|a| !a.is_empty() && a != "0");
    let entries = state
        .store
        .list_inbox(&InboxFilter {
            sales_rep: user.who.role.rep().map(str::to_string),
            open_only: !all,
            limit: Some(LIMIT),
            ..Default::default()
        })
        .await?;
    let rows: Vec<EntryRow> = entries
        .iter()
        // a rep never sees replies from numbers of no buyer of theirs
        .filter(|e| user.who.sees_everything() || e.buyer_id.is_some())
        .map(|e| EntryRow {
            id: e.id,
            received: local_time(e.received_at, &zone),
            buyer_id: e.buyer_id.map(BuyerId::get),
            buyer: e
                .buyer_name
                .clone()
                .or_else(|| e.profile_name.clone())
                .unwrap_or_else(|| format!("+{}", e.from.trim_start_matches('+'))),
            sales_rep: e.sales_rep.clone(),
            kind: e.kind.clone(),
            text: e.text.clone().or_else(|| e.payload.clone()),
            action: e.handling.as_ref().map(|h| h.action.clone()),
            intent: e.handling.as_ref().map(|h| h.intent.replace('_', " ")),
            open: e.is_open(),
            resolved: e.resolved_at.map(|t| match &e.resolved_by {
                Some(by) => format!("{} by {by}", local_time(t, &zone)),
                None => local_time(t, &zone),
            }),
        })
        .collect();
    render(
        "inbox.html",
        minijinja::context! {
            nav => user.nav("inbox"),
            page => minijinja::context! { rows => Serde(rows), all },
        },
    )
}

/// The entry, if the person may see it (a rep: only their buyers').
async fn visible_entry(
    state: &HttpState,
    who: &Principal,
    id: i64,
) -> Result<InboxEntry, DashError> {
    let missing = || DashError::NotFound(format!("no reply {id}"));
    let entry = state
        .store
        .get_inbox_entry(id)
        .await
        .map_err(|_| missing())?;
    if who.sees_everything() {
        return Ok(entry);
    }
    match entry.buyer_id {
        Some(b) if visible_buyer(state, who, b).await.is_ok() => Ok(entry),
        _ => Err(missing()),
    }
}

fn back(form: &SignedForm) -> Response {
    // keep the "all" view when the form came from it
    see_other(if form.fields.get("all").is_some() {
        "/inbox?all=1"
    } else {
        "/inbox"
    })
}

/// `POST /inbox/{id}/resolve`.
pub(crate) async fn resolve(
    State(state): State<HttpState>,
    Path(id): Path<i64>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let who = &form.user.who;
    visible_entry(&state, who, id).await?;
    state
        .store
        .resolve_inbox_entry(id, &who.name, state.clock.now())
        .await?;
    Ok(back(&form))
}

/// `POST /inbox/{id}/assign`: `rep` (empty clears it); admins and
/// accountants only.
pub(crate) async fn assign(
    State(state): State<HttpState>,
    Path(id): Path<i64>,
    form: SignedForm,
) -> Result<Response, DashError> {
    let who = &form.user.who;
    let entry = visible_entry(&state, who, id).await?;
    if !who.sees_everything() {
        return Err(DashError::Forbidden(
            "only an admin or an accountant assigns buyers to reps".into(),
        ));
    }
    let buyer = entry.buyer_id.ok_or_else(|| {
        DashError::Conflict("this reply came from a number of no buyer: nothing to assign".into())
    })?;
    let rep = form.fields.get("rep").map(str::to_string);
    let what = match &rep {
        Some(r) => format!("assigned to {r} by {}", who.name),
        None => format!("sales rep cleared by {}", who.name),
    };
    actions::update_buyer(
        state.store.as_ref(),
        &format!("B{}", buyer.get()),
        &BuyerPatch {
            sales_rep: Some(rep),
            ..Default::default()
        },
        &what,
        state.clock.now(),
    )
    .await?;
    Ok(back(&form))
}
