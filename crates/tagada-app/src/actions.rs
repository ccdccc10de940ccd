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
