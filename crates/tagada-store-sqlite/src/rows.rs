//! Row shapes read with `query_as`, their column lists, and their mapping to
//! domain types.

use sqlx::FromRow;
use tagada_core::ledger::{Buyer, Consent, Invoice, Note, NoteKind, Payment, PaymentMethod};
use tagada_core::{BuyerId, CountryCode, InvoiceId, Money, NoteId, OutboxId, PaymentId};
use tagada_store::{Attempt, OutboxMessage, StoreError};

use crate::conv::{
    corrupt, currency, date, from_json, invoice_status, micros, opt_date, opt_date_text,
    opt_micros, opt_ts, outbox_status, phone, ts,
};

/// Columns of [`BuyerRow`], in `SELECT` order.
macro_rules! buyer_cols {
    () => {
        "id, external_key, name, company, whatsapp, phone_raw, wa_id, email, country, \
         time_zone, language, sales_rep, consent_at, consent_source, opted_out_at, paused, \
         paused_until, cadence_override, notes"
    };
}
pub(crate) use buyer_cols;

/// Columns of [`InvoiceRow`], in `SELECT` order.
/// The condition of an invoice still owed (or owed but disputed), word for
/// word the condition of the partial index `invoices_unsettled_due`
/// (migration 0013): a query must repeat it exactly for SQLite to use that
/// index. Bare: put it in parentheses beside other terms.
macro_rules! unsettled {
    () => {
        "status = 'pending' OR status = 'in_process' OR status = 'partially_paid' OR status = 'disputed'"
    };
}
pub(crate) use unsettled;

macro_rules! invoice_cols {
    () => {
        "id, number, buyer_id, order_date, invoice_date, due_date, credit_days, amount_minor, \
         amount_paid_minor, currency, status, snoozed_until, paused, cadence_override, paid_at, \
         reminder_cycle, pay_token"
    };
}
pub(crate) use invoice_cols;

macro_rules! payment_cols {
    () => {
        "id, invoice_id, buyer_id, amount_minor, currency, received_at, method, reference, flag"
    };
}
pub(crate) use payment_cols;

macro_rules! note_cols {
    () => {
        "id, buyer_id, invoice_id, at, kind, author, text"
    };
}
pub(crate) use note_cols;

macro_rules! outbox_cols {
    () => {
        "id, buyer_id, to_phone, status, delivery, send_at, not_before, attempts, last_error, \
         provider_id, message, escalate, dedupe_key, created_at, sent_at"
    };
}
pub(crate) use outbox_cols;

#[derive(Debug, FromRow)]
pub(crate) struct BuyerRow {
    pub id: i64,
    pub external_key: Option<String>,
    pub name: String,
    pub company: Option<String>,
    pub whatsapp: Option<String>,
    pub phone_raw: Option<String>,
    pub wa_id: Option<String>,
    pub email: Option<String>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
    pub language: Option<String>,
    pub sales_rep: Option<String>,
    pub consent_at: Option<i64>,
    pub consent_source: Option<String>,
    pub opted_out_at: Option<i64>,
    pub paused: bool,
    pub paused_until: Option<String>,
    pub cadence_override: Option<String>,
    pub notes: Option<String>,
}

/// A stored buyer with its `name_norm` column (identity lookups).
#[derive(Debug, FromRow)]
pub(crate) struct BuyerNormRow {
    #[sqlx(flatten)]
    pub buyer: BuyerRow,
    pub name_norm: String,
}

impl From<&Buyer> for BuyerRow {
    /// The columns as the backend writes them.
    fn from(b: &Buyer) -> BuyerRow {
        BuyerRow {
            id: b.id.get(),
            external_key: b.external_key.clone(),
            name: b.name.clone(),
            company: b.company.clone(),
            whatsapp: b.whatsapp.as_ref().map(|p| p.as_str().to_string()),
            phone_raw: b.phone_raw.clone(),
            wa_id: b.wa_id.clone(),
            email: b.email.clone(),
            country: b.country.as_ref().map(|c| c.as_str().to_string()),
            time_zone: b.time_zone.clone(),
            language: b.language.clone(),
            sales_rep: b.sales_rep.clone(),
            consent_at: b.consent.as_ref().map(|c| micros(c.at)),
            consent_source: b.consent.as_ref().map(|c| c.source.clone()),
            opted_out_at: opt_micros(b.opted_out_at),
            paused: b.paused,
            paused_until: opt_date_text(b.paused_until),
            cadence_override: b.cadence_override.clone(),
            notes: b.notes.clone(),
        }
    }
}

impl TryFrom<BuyerRow> for Buyer {
    type Error = StoreError;
    fn try_from(r: BuyerRow) -> Result<Buyer, StoreError> {
        const T: &str = "buyers";
        let consent = match (r.consent_at, r.consent_source) {
            (Some(at), source) => Some(Consent {
                at: ts(T, at)?,
                source: source.unwrap_or_default(),
            }),
            (None, _) => None,
        };
        Ok(Buyer {
            id: BuyerId::new(r.id),
            external_key: r.external_key,
            name: r.name,
            company: r.company,
            whatsapp: r.whatsapp.map(|p| phone(T, p)).transpose()?,
            phone_raw: r.phone_raw,
            wa_id: r.wa_id,
            email: r.email,
            country: r
                .country
                .map(|c| CountryCode::parse(&c).map_err(|e| corrupt(T, e)))
                .transpose()?,
            time_zone: r.time_zone,
            language: r.language,
            sales_rep: r.sales_rep,
            consent,
            opted_out_at: opt_ts(T, r.opted_out_at)?,
            paused_until: opt_date(T, r.paused_until.as_deref())?,
            paused: r.paused,
            cadence_override: r.cadence_override,
            notes: r.notes,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct InvoiceRow {
    pub id: i64,
    pub number: String,
    pub buyer_id: i64,
    pub order_date: Option<String>,
    pub invoice_date: String,
    pub due_date: String,
    pub credit_days: Option<i32>,
    pub amount_minor: i64,
    pub amount_paid_minor: i64,
    pub currency: String,
    pub status: String,
    pub snoozed_until: Option<String>,
    pub paused: bool,
    pub cadence_override: Option<String>,
    pub paid_at: Option<i64>,
    pub reminder_cycle: i64,
    pub pay_token: Option<String>,
}

impl TryFrom<InvoiceRow> for Invoice {
    type Error = StoreError;
    fn try_from(r: InvoiceRow) -> Result<Invoice, StoreError> {
        const T: &str = "invoices";
        let cur = currency(T, &r.currency)?;
        Ok(Invoice {
            id: InvoiceId::new(r.id),
            number: r.number,
            buyer_id: BuyerId::new(r.buyer_id),
            order_date: opt_date(T, r.order_date.as_deref())?,
            invoice_date: date(T, &r.invoice_date)?,
            due_date: date(T, &r.due_date)?,
            credit_days: r.credit_days,
            amount: Money::from_minor(r.amount_minor, cur),
            amount_paid: Money::from_minor(r.amount_paid_minor, cur),
            status: invoice_status(&r.status)?,
            snoozed_until: opt_date(T, r.snoozed_until.as_deref())?,
            paused: r.paused,
            cadence_override: r.cadence_override,
            paid_at: opt_ts(T, r.paid_at)?,
            reminder_cycle: u32::try_from(r.reminder_cycle).map_err(|e| corrupt(T, e))?,
            pay_token: r.pay_token,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct PaymentRow {
    pub id: i64,
    pub invoice_id: Option<i64>,
    pub buyer_id: Option<i64>,
    pub amount_minor: i64,
    pub currency: String,
    pub received_at: i64,
    pub method: String,
    pub reference: Option<String>,
    pub flag: Option<String>,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;
    fn try_from(r: PaymentRow) -> Result<Payment, StoreError> {
        const T: &str = "payments";
        Ok(Payment {
            id: PaymentId::new(r.id),
            invoice_id: r.invoice_id.map(InvoiceId::new),
            buyer_id: r.buyer_id.map(BuyerId::new),
            amount: Money::from_minor(r.amount_minor, currency(T, &r.currency)?),
            received_at: ts(T, r.received_at)?,
            method: PaymentMethod::parse(&r.method)
                .ok_or_else(|| corrupt(T, format!("method `{}`", r.method)))?,
            reference: r.reference,
            flag: r.flag,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct NoteRow {
    pub id: i64,
    pub buyer_id: i64,
    pub invoice_id: Option<i64>,
    pub at: i64,
    pub kind: String,
    pub author: Option<String>,
    pub text: String,
}

impl TryFrom<NoteRow> for Note {
    type Error = StoreError;
    fn try_from(r: NoteRow) -> Result<Note, StoreError> {
        const T: &str = "notes";
        Ok(Note {
            id: NoteId::new(r.id),
            buyer_id: BuyerId::new(r.buyer_id),
            invoice_id: r.invoice_id.map(InvoiceId::new),
            at: ts(T, r.at)?,
            kind: NoteKind::parse(&r.kind)
                .ok_or_else(|| corrupt(T, format!("kind `{}`", r.kind)))?,
            author: r.author,
            text: r.text,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct OutboxRow {
    pub id: i64,
    pub buyer_id: i64,
    pub to_phone: String,
    pub status: String,
    pub delivery: Option<String>,
    pub send_at: i64,
    pub not_before: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub message: String,
    pub escalate: bool,
    pub dedupe_key: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl OutboxRow {
    pub(crate) fn into_message(
        self,
        invoice_ids: Vec<InvoiceId>,
    ) -> Result<OutboxMessage, StoreError> {
        const T: &str = "outbox";
        Ok(OutboxMessage {
            id: OutboxId::new(self.id),
            buyer_id: BuyerId::new(self.buyer_id),
            to: phone(T, self.to_phone)?,
            status: outbox_status(&self.status)?,
            delivery: self
                .delivery
                .map(|d| {
                    tagada_core::outbox::DeliveryStatus::parse(&d)
                        .ok_or_else(|| corrupt(T, format!("delivery `{d}`")))
                })
                .transpose()?,
            send_at: ts(T, self.send_at)?,
            not_before: ts(T, self.not_before)?,
            attempts: u32::try_from(self.attempts).map_err(|e| corrupt(T, e))?,
            last_error: self.last_error,
            provider_id: self.provider_id,
            message: from_json(T, &self.message)?,
            invoice_ids,
            escalate: self.escalate,
            dedupe_key: self.dedupe_key,
            created_at: ts(T, self.created_at)?,
            sent_at: opt_ts(T, self.sent_at)?,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct AttemptRow {
    pub outbox_id: i64,
    pub attempt: i64,
    pub at: i64,
    pub worker: String,
    pub outcome: String,
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Attempt, StoreError> {
        const T: &str = "attempts";
        Ok(Attempt {
            outbox_id: OutboxId::new(r.outbox_id),
            attempt: u32::try_from(r.attempt).map_err(|e| corrupt(T, e))?,
            at: ts(T, r.at)?,
            worker: r.worker,
            outcome: from_json(T, &r.outcome)?,
        })
    }
}

/// Converts a batch of rows, failing on the first corrupt one.
pub(crate) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
