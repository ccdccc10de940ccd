//! Ledger actions a person takes: find, pause, snooze, mark paid, dispute,
//! cancel, note, opt out, assign a rep. The CLI and the HTTP API call these.

use jiff::Timestamp;
use jiff::civil::Date;
use tagada_core::ledger::{Buyer, Invoice, InvoiceEvent, NoteKind, PaymentMethod};
use tagada_core::{InvoiceId, Money};
use tagada_store::{
    BuyerPatch, InvoicePatch, InvoiceUpsert, LeadFilter, NewInvoice, NewNote, NewPayment,
    PaymentOutcome, Store, StoreError, StoredLead,
};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no invoice `{0}` (give its number or its id such as I12)")]
    NoInvoice(String),
    #[error("no buyer `{0}` (give a name, a phone number, a key or an id such as B7)")]
    NoBuyer(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finds an invoice by number, or by id written `I12`.
pub async fn find_invoice(store: &dyn Store, key: &str) -> Result<Invoice, ActionError> {
    if let Some(inv) = store.find_invoice(key).await? {
        return Ok(inv);
    }
    if let Some(id) = key
        .strip_prefix(['I', 'i'])
        .and_then(|n| n.parse::<i64>().ok())
    {
        match store.get_invoice(InvoiceId::new(id)).await {
            Ok(inv) => return Ok(inv),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ActionError::NoInvoice(key.to_string()))
}

/// Finds a buyer by id (`B7`), key, E.164 number or name.
pub async fn find_buyer(store: &dyn Store, key: &str) -> Result<Buyer, ActionError> {
    store
        .find_buyer(key)
        .await?
        .ok_or_else(|| ActionError::NoBuyer(key.to_string()))
}

fn system_note(inv: &Invoice, at: Timestamp, author: Option<&str>, text: String) -> NewNote {
    NewNote {
        buyer_id: inv.buyer_id,
        invoice_id: Some(inv.id),
        at,
        kind: NoteKind::System,
        author: author.map(str::to_string),
        text,
    }
}

async fn apply_event(
    store: &dyn Store,
    inv: &Invoice,
    event: InvoiceEvent,
    note: String,
    author: Option<&str>,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let note = system_note(inv, now, author, note);
    match store
        .apply_invoice_event(inv.id, &event, Some(&note), now)
        .await
    {
        Ok(i) => Ok(i),
        Err(StoreError::Invalid(msg)) | Err(StoreError::Conflict(msg)) => {
            Err(ActionError::Refused(msg))
        }
        Err(e) => Err(e.into()),
    }
}

/// Records a payment for an invoice: `amount` defaults to what is outstanding.
/// Cancels the invoice's pending reminders in the same transaction when paid.
pub async fn mark_paid(
    store: &dyn Store,
    invoice_key: &str,
    amount: Option<Money>,
    method: PaymentMethod,
    reference: Option<String>,
    now: Timestamp,
) -> Result<PaymentOutcome, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    let amount = amount.unwrap_or_else(|| inv.outstanding());
    if !amount.is_positive() {
        return Err(ActionError::Refused(format!(
            "invoice {} has nothing outstanding",
            inv.number
        )));
    }
    let payment = NewPayment {
        invoice_number: Some(inv.number.clone()),
        invoice_id: Some(inv.id),
        buyer_id: Some(inv.buyer_id),
        amount,
        received_at: now,
        method,
        reference,
    };
    Ok(store.record_payment(&payment, now).await?)
}

pub async fn snooze(
    store: &dyn Store,
    invoice_key: &str,
    until: Date,
    why: Option<&str>,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    let text = match why {
        Some(w) => format!("snoozed until {until}: {w}"),
        None => format!("snoozed until {until}"),
    };
    apply_event(
        store,
        &inv,
        InvoiceEvent::Snoozed { until },
        text,
        None,
        now,
    )
    .await
}

pub async fn dispute(
    store: &dyn Store,
    invoice_key: &str,
    reason: &str,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    apply_event(
        store,
        &inv,
        InvoiceEvent::Disputed,
        format!("disputed: {reason}"),
        None,
        now,
    )
    .await
}

pub async fn resolve_dispute(
    store: &dyn Store,
    invoice_key: &str,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    apply_event(
        store,
        &inv,
        InvoiceEvent::DisputeResolved,
        "dispute resolved".into(),
        None,
        now,
    )
    .await
}

pub async fn cancel(
    store: &dyn Store,
    invoice_key: &str,
    reason: &str,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    apply_event(
        store,
        &inv,
        InvoiceEvent::Cancelled,
        format!("cancelled: {reason}"),
        None,
        now,
    )
    .await
}

pub async fn set_invoice_paused(
    store: &dyn Store,
    invoice_key: &str,
    paused: bool,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    let patch = InvoicePatch {
        paused: Some(paused),
        ..Default::default()
    };
    Ok(store.update_invoice_flags(inv.id, &patch, now).await?)
}

pub async fn set_invoice_cadence(
    store: &dyn Store,
    invoice_key: &str,
    cadence: Option<String>,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    let patch = InvoicePatch {
        cadence_override: Some(cadence),
        ..Default::default()
    };
    Ok(store.update_invoice_flags(inv.id, &patch, now).await?)
}

pub async fn invoice_note(
    store: &dyn Store,
    invoice_key: &str,
    kind: NoteKind,
    text: &str,
    author: Option<&str>,
    now: Timestamp,
) -> Result<tagada_core::ledger::Note, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    let note = NewNote {
        buyer_id: inv.buyer_id,
        invoice_id: Some(inv.id),
        at: now,
        kind,
        author: author.map(str::to_string),
        text: text.to_string(),
    };
    Ok(store.add_note(&note).await?)
}

pub async fn buyer_note(
    store: &dyn Store,
    buyer_key: &str,
    kind: NoteKind,
    text: &str,
    author: Option<&str>,
    now: Timestamp,
) -> Result<tagada_core::ledger::Note, ActionError> {
    let b = find_buyer(store, buyer_key).await?;
    let note = NewNote {
        buyer_id: b.id,
        invoice_id: None,
        at: now,
        kind,
        author: author.map(str::to_string),
        text: text.to_string(),
    };
    Ok(store.add_note(&note).await?)
}

/// Applies a patch to a buyer and leaves a note saying what changed.
pub async fn update_buyer(
    store: &dyn Store,
    buyer_key: &str,
    patch: &BuyerPatch,
    what: &str,
    now: Timestamp,
) -> Result<Buyer, ActionError> {
    let b = find_buyer(store, buyer_key).await?;
    let updated = store.update_buyer(b.id, patch, now).await?;
    let note = NewNote {
        buyer_id: b.id,
        invoice_id: None,
        at: now,
        kind: NoteKind::System,
        author: None,
        text: what.to_string(),
    };
    store.add_note(&note).await?;
    Ok(updated)
}

/// Finds a stored lead: `indiamart:2900000001` (source and the source's
/// id, as its notes show it), or the bare id when only one source has it.
pub async fn find_lead(store: &dyn Store, key: &str) -> Result<StoredLead, ActionError> {
    let key = key.trim();
    let (source, id) = match key.split_once(':') {
        Some((s, id)) => (Some(s.trim().to_ascii_lowercase()), id.trim()),
        None => (None, key),
    };
    let found = store
        .list_leads(&LeadFilter {
            source,
            external_id: Some(id.to_string()),
            limit: Some(3),
            ..Default::default()
        })
        .await?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ActionError::Refused(format!(
            "no lead `{key}` (give it as indiamart:<id> or tradeindia:<id>)"
        ))),
        _ => Err(ActionError::Refused(format!(
            "`{key}` is a lead of several sources: give it as <source>:{id}"
        ))),
    }
}

/// An invoice typed in by a person (or turned from a lead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddInvoice {
    pub number: String,
    pub amount: Money,
    pub invoice_date: Date,
    pub due_date: Date,
    pub order_date: Option<Date>,
    pub notes: Option<String>,
}

/// Adds an invoice for `buyer`; `source` says where it came from (`cli`,
/// `lead:indiamart:123`). Refused when the number is taken.
pub async fn add_invoice(
    store: &dyn Store,
    buyer: &Buyer,
    add: &AddInvoice,
    source: &str,
    now: Timestamp,
) -> Result<Invoice, ActionError> {
    if add.number.trim().is_empty() {
        return Err(ActionError::Refused("the invoice number is empty".into()));
    }
    if store.find_invoice(add.number.trim()).await?.is_some() {
        return Err(ActionError::Refused(format!(
            "invoice {} exists already",
            add.number.trim()
        )));
    }
    if add.due_date < add.invoice_date {
        return Err(ActionError::Refused(format!(
            "the due date {} is before the invoice date {}",
            add.due_date, add.invoice_date
        )));
    }
    if !add.amount.is_positive() {
        return Err(ActionError::Refused("the amount must be positive".into()));
    }
    let row = NewInvoice {
        number: add.number.trim().to_string(),
        buyer_id: buyer.id,
        order_date: add.order_date,
        invoice_date: add.invoice_date,
        due_date: add.due_date,
        credit_days: Some((add.due_date - add.invoice_date).get_days()),
        amount: add.amount,
        amount_paid: Money::zero(add.amount.currency()),
        status: tagada_core::ledger::InvoiceStatus::Pending,
        source: source.to_string(),
        source_hash: format!("{source}:{}", add.number.trim()),
        notes: add.notes.clone(),
    };
    match store.upsert_invoices(&[row], now).await?.pop() {
        Some(InvoiceUpsert::Created { id }) => Ok(store.get_invoice(id).await?),
        Some(InvoiceUpsert::Rejected { reason }) => Err(ActionError::Refused(reason)),
        other => Err(ActionError::Refused(format!(
            "invoice {} was not created ({other:?})",
            add.number.trim()
        ))),
    }
}

/// The language a buyer's messages are in: their own (`hi-IN` → `hi`), else
/// the configured default.
pub fn language_of(planner: &tagada_core::cadence::PlannerConfig, buyer: &Buyer) -> String {
    buyer
        .language
        .as_deref()
        .and_then(|l| l.split(['-', '_']).next())
        .filter(|l| !l.is_empty())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| planner.default_language.clone())
}

/// What a message about `invoices` can say to `buyer` on `today` (in the
/// buyer's zone), as the planner fills it.
pub fn message_context(
    planner: &tagada_core::cadence::PlannerConfig,
    buyer: &Buyer,
    invoices: &[Invoice],
    today: jiff::civil::Date,
) -> tagada_core::template::MessageContext {
    let seller = &planner.seller;
    let buyer_name = buyer.name.clone();
    let lines: Vec<tagada_core::template::InvoiceLine> = invoices
        .iter()
        .map(|i| tagada_core::template::InvoiceLine {
            number: i.number.clone(),
            amount: i.amount,
            outstanding: i.outstanding(),
            due_date: i.due_date,
            days_overdue: i.days_overdue(today),
            payment_link: i
                .pay_token
                .as_deref()
                .map(|t| seller.pay_page(t))
                .unwrap_or_else(|| seller.payment_link(&i.number)),
        })
        .collect();
    tagada_core::template::MessageContext {
        company: buyer
            .company
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or(buyer_name.clone()),
        buyer_name,
        seller_company: seller.company.clone(),
        sales_rep: buyer
            .sales_rep
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(seller.company.clone()),
        payment_link: lines
            .first()
            .map(|l| l.payment_link.clone())
            .unwrap_or_default(),
        invoices: lines,
    }
}

/// A reminder a person asked for: queued now, outside the cadence (which
/// goes on as planned), with the template of where the invoice stands
/// (`upcoming`, `due_today` or `overdue`, in the buyer's language). At most
/// one a day per invoice; `None` when today's is already queued or sent.
/// The dispatcher checks it like any reminder before sending (paid,
/// disputed, snoozed, opted out), but business hours are the person's call.
pub async fn send_now(
    store: &dyn Store,
    planner: &tagada_core::cadence::PlannerConfig,
    invoice_key: &str,
    now: Timestamp,
) -> Result<Option<tagada_core::OutboxId>, ActionError> {
    let inv = find_invoice(store, invoice_key).await?;
    if !inv.status.is_open() || !inv.outstanding().is_positive() {
        return Err(ActionError::Refused(format!(
            "invoice {} is {}: nothing to remind",
            inv.number, inv.status
        )));
    }
    let buyer = store.get_buyer(inv.buyer_id).await?;
    if buyer.opted_out_at.is_some() {
        return Err(ActionError::Refused(format!(
            "{} opted out of reminders",
            buyer.name
        )));
    }
    let Some(to) = buyer.whatsapp.clone() else {
        return Err(ActionError::Refused(format!(
            "{} has no valid WhatsApp number",
            buyer.name
        )));
    };
    let zone = jiff::tz::TimeZone::get(buyer.zone_name(planner.home_zone_name()))
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let today = now.to_zoned_datetime(zone).date();
    // what the sender would refuse, refused now, with the reason
    if let Some(why) = crate::dispatch::recheck(&buyer, std::slice::from_ref(&inv), today) {
        return Err(ActionError::Refused(format!("not sent: {why}")));
    }
    let key = match inv.days_overdue(today) {
        d if d < 0 => "upcoming",
        0 => "due_today",
        _ => "overdue",
    };
    let mut inv = inv;
    crate::payments::issue_pay_tokens(store, std::iter::once(&mut inv)).await?;
    let ctx = message_context(planner, &buyer, std::slice::from_ref(&inv), today);
    let message = tagada_core::template::TemplateSet::new(&planner.templates)
        .render(key, "", &language_of(planner, &buyer), &ctx)
        .map_err(|e| ActionError::Refused(format!("template {key}: {e}")))?;
    Ok(store
        .enqueue_reply(
            &tagada_store::NewReply {
                buyer_id: buyer.id,
                to,
                message,
                dedupe_key: format!("{}{}:{today}", tagada_store::MANUAL_KEY_PREFIX, inv.id),
                invoice_ids: vec![inv.id],
                not_before: None,
            },
            now,
        )
        .await?)
}
