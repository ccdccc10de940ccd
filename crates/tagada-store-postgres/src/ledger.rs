//! Buyers, invoices, payments and notes.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tagada_core::ledger::{
    Buyer, Invoice, InvoiceEvent, InvoiceStatus, Note, Payment, TransitionError,
};
use tagada_core::{BuyerId, InvoiceId, Money};
use tagada_store::{
    BuyerFilter, BuyerPatch, InvoiceFilter, InvoicePatch, LedgerStore, NewBuyer, NewNote,
    NewPayment, PaymentOutcome, Result, StoreError, UpsertOutcome,
};

use crate::conv::{
    BATCH_ROWS, OPEN_STATUSES, date_text, db, micros, normalize_name, opt_date_text, opt_micros,
    parse_buyer_ref, to_json,
};
use crate::identity::{Batch, Lookup};
use crate::rows::{
    BuyerNormRow, BuyerRow, InvoiceRow, NoteRow, PaymentRow, buyer_cols, convert, invoice_cols,
    note_cols, payment_cols,
};
use crate::{PostgresStore, lock, locks, reserve_ids};

// ---------------------------------------------------------------------------
// Shared helpers (used by the other traits too).

pub(crate) async fn fetch_buyer(conn: &mut PgConnection, id: i64) -> Result<Option<Buyer>> {
    let row: Option<BuyerRow> = sqlx::query_as(concat!(
        "SELECT ",
        buyer_cols!(),
        " FROM buyers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Buyer::try_from).transpose()
}

pub(crate) async fn fetch_invoice(conn: &mut PgConnection, id: i64) -> Result<Option<Invoice>> {
    let row: Option<InvoiceRow> = sqlx::query_as(concat!(
        "SELECT ",
        invoice_cols!(),
        " FROM invoices WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Invoice::try_from).transpose()
}

/// Reads an invoice and locks its row until the transaction ends.
pub(crate) async fn fetch_invoice_locked(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<Invoice>> {
    let row: Option<InvoiceRow> = sqlx::query_as(concat!(
        "SELECT ",
        invoice_cols!(),
        " FROM invoices WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Invoice::try_from).transpose()
}

pub(crate) async fn fetch_buyer_locked(conn: &mut PgConnection, id: i64) -> Result<Option<Buyer>> {
    let row: Option<BuyerRow> = sqlx::query_as(concat!(
        "SELECT ",
        buyer_cols!(),
        " FROM buyers WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Buyer::try_from).transpose()
}

async fn fetch_invoice_by_number(conn: &mut PgConnection, number: &str) -> Result<Option<Invoice>> {
    let row: Option<InvoiceRow> = sqlx::query_as(concat!(
        "SELECT ",
        invoice_cols!(),
        " FROM invoices WHERE number = $1"
    ))
    .bind(number)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Invoice::try_from).transpose()
}

/// Loads rows `<head> <column> = ANY(ids) <tail>` with the ids bound as one array.
pub(crate) async fn fetch_in<R>(
    conn: &mut PgConnection,
    head: &str,
    column: &str,
    ids: &[i64],
    tail: &str,
) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(head);
    qb.push(" ").push(column).push(" = ANY(");
    qb.push_bind(ids.to_vec());
    qb.push(") ").push(tail);
    qb.build_query_as::<R>().fetch_all(conn).await.map_err(db)
}

/// Saves what the state machine and the flags may change on an invoice.
pub(crate) async fn write_invoice_state(
    conn: &mut PgConnection,
    inv: &Invoice,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE invoices SET amount_paid_minor = $1, status = $2, snoozed_until = $3::date, paused = $4, \
         cadence_override = $5, paid_at = $6, reminder_cycle = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(inv.amount_paid.minor())
    .bind(inv.status.as_str())
    .bind(opt_date_text(inv.snoozed_until))
    .bind(inv.paused)
    .bind(&inv.cadence_override)
    .bind(opt_micros(inv.paid_at))
    .bind(i64::from(inv.reminder_cycle))
    .bind(micros(now))
    .bind(inv.id.get())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Cancels the reminders carried by these (cancelled) messages, so their
/// keys may be planned again.
pub(crate) async fn cancel_reminders(
    conn: &mut PgConnection,
    outbox_ids: &[i64],
    now: Timestamp,
) -> Result<()> {
    if outbox_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE reminders SET status = 'cancelled', cancelled_at = $1 \
         WHERE status <> 'cancelled' AND outbox_id = ANY($2)",
    )
    .bind(micros(now))
    .bind(outbox_ids)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Cancels every pending message carrying one of these invoices, and their
/// reminders. In-flight messages are left to the dispatcher's send-time check
/// (a claimed row is locked; the update waits, then sees it in flight).
pub(crate) async fn cancel_for_invoices(
    conn: &mut PgConnection,
    invoice_ids: &[i64],
    reason: &str,
    now: Timestamp,
) -> Result<u32> {
    if invoice_ids.is_empty() {
        return Ok(0);
    }
    let n: i64 = sqlx::query_scalar(
        "WITH cancelled AS ( \
           UPDATE outbox SET status = 'cancelled', lease_token = NULL, lease_until = NULL, \
                  last_error = $1, updated_at = $2 \
           WHERE status IN ('pending', 'failed') AND dedupe_key NOT LIKE 'reply:%' AND id IN \
                 (SELECT outbox_id FROM outbox_invoices WHERE invoice_id = ANY($3)) \
           RETURNING id), \
         reminders_cancelled AS ( \
           UPDATE reminders SET status = 'cancelled', cancelled_at = $2 \
           WHERE status <> 'cancelled' AND outbox_id IN (SELECT id FROM cancelled)) \
         SELECT count(*) FROM cancelled",
    )
    .bind(reason)
    .bind(micros(now))
    .bind(invoice_ids)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(n as u32)
}

/// Cancels every pending message to a buyer, and their reminders.
async fn cancel_for_buyer(
    conn: &mut PgConnection,
    buyer: i64,
    reason: &str,
    now: Timestamp,
) -> Result<u32> {
    let n: i64 = sqlx::query_scalar(
        "WITH cancelled AS ( \
           UPDATE outbox SET status = 'cancelled', lease_token = NULL, lease_until = NULL, \
                  last_error = $1, updated_at = $2 \
           WHERE status IN ('pending', 'failed') AND buyer_id = $3 \
                 AND dedupe_key NOT LIKE 'reply:%' \
           RETURNING id), \
         reminders_cancelled AS ( \
           UPDATE reminders SET status = 'cancelled', cancelled_at = $2 \
           WHERE status <> 'cancelled' AND outbox_id IN (SELECT id FROM cancelled)) \
         SELECT count(*) FROM cancelled",
    )
    .bind(reason)
    .bind(micros(now))
    .bind(buyer)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(n as u32)
}

/// Whether an invoice in this state, after this event, must not be reminded.
pub(crate) fn stops_reminders(event: Option<&InvoiceEvent>, inv: &Invoice) -> bool {
    !inv.status.is_open()
        || inv.paused
        || matches!(
            event,
            Some(InvoiceEvent::Snoozed { .. } | InvoiceEvent::PaymentClaimed { .. })
        )
}

/// Whether a payment report says which invoice it pays.
fn names_invoice(p: &NewPayment) -> bool {
    p.invoice_id.is_some() || p.invoice_number.is_some()
}

fn transition_error(e: TransitionError) -> StoreError {
    match e {
        TransitionError::NotAllowed { .. } => StoreError::Conflict(e.to_string()),
        other => StoreError::Invalid(other.to_string()),
    }
}

pub(crate) async fn insert_note(conn: &mut PgConnection, note: &NewNote) -> Result<Note> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notes (buyer_id, invoice_id, at, kind, author, text) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(note.buyer_id.get())
    .bind(note.invoice_id.map(InvoiceId::get))
    .bind(micros(note.at))
    .bind(note.kind.as_str())
    .bind(&note.author)
    .bind(&note.text)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(Note {
        id: tagada_core::NoteId::new(id),
        buyer_id: note.buyer_id,
        invoice_id: note.invoice_id,
        at: note.at,
        kind: note.kind,
        author: note.author.clone(),
        text: note.text.clone(),
    })
}

/// Writes every column a buyer has (identity, contact, flags).
async fn write_buyer(conn: &mut PgConnection, b: &Buyer, now: Option<Timestamp>) -> Result<()> {
    sqlx::query(
        "UPDATE buyers SET external_key = $1, name = $2, name_norm = $3, company = $4, whatsapp = $5, \
         phone_raw = $6, wa_id = $7, email = $8, country = $9, time_zone = $10, language = $11, \
         sales_rep = $12, consent_at = $13, consent_source = $14, opted_out_at = $15, paused = $16, \
         paused_until = $17::date, cadence_override = $18, notes = $19, updated_at = coalesce($20, updated_at) \
         WHERE id = $21",
    )
    .bind(&b.external_key)
    .bind(&b.name)
    .bind(normalize_name(&b.name))
    .bind(&b.company)
    .bind(b.whatsapp.as_ref().map(|p| p.as_str()))
    .bind(&b.phone_raw)
    .bind(&b.wa_id)
    .bind(&b.email)
    .bind(b.country.as_ref().map(|c| c.as_str()))
    .bind(&b.time_zone)
    .bind(&b.language)
    .bind(&b.sales_rep)
    .bind(b.consent.as_ref().map(|c| micros(c.at)))
    .bind(b.consent.as_ref().map(|c| c.source.as_str()))
    .bind(opt_micros(b.opted_out_at))
    .bind(b.paused)
    .bind(opt_date_text(b.paused_until))
    .bind(&b.cadence_override)
    .bind(&b.notes)
    .bind(opt_micros(now))
    .bind(b.id.get())
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

fn payment_flag_overpaid(inv: &Invoice, amount: Money) -> Option<String> {
    let excess = inv.amount_paid.minor() + amount.minor() - inv.amount.minor();
    (excess > 0).then(|| {
        format!(
            "overpaid: {} more than the invoice amount",
            Money::from_minor(excess, amount.currency())
        )
    })
}

/// The payment already recorded under this method and reference, as a
/// duplicate outcome.
async fn duplicate_of(
    conn: &mut PgConnection,
    p: &NewPayment,
    reference: &str,
) -> Result<Option<PaymentOutcome>> {
    let existing: Option<PaymentRow> = sqlx::query_as(concat!(
        "SELECT ",
        payment_cols!(),
        " FROM payments WHERE method = $1 AND reference = $2"
    ))
    .bind(p.method.as_str())
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(row) = existing else {
        return Ok(None);
    };
    let payment = Payment::try_from(row)?;
    let invoice = match payment.invoice_id {
        Some(i) => fetch_invoice(conn, i.get()).await?,
        None => None,
    };
    Ok(Some(PaymentOutcome {
        payment,
        invoice,
        cancelled_messages: 0,
        duplicate: true,
    }))
}

// ---------------------------------------------------------------------------
// Buyer upserts, set-based (identity rules in `identity`).

/// Binds the arrays `$1..$15` of `UNNEST`: `id` and every column a batch
/// writes when it creates or merges buyers.
fn bind_upsert_arrays<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    buyers: &[&Buyer],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    fn col<T>(buyers: &[&Buyer], f: impl Fn(&Buyer) -> T) -> Vec<T> {
        buyers.iter().map(|b| f(b)).collect()
    }
    q.bind(col(buyers, |b| b.id.get()))
        .bind(col(buyers, |b| b.external_key.clone()))
        .bind(col(buyers, |b| b.name.clone()))
        .bind(col(buyers, |b| normalize_name(&b.name)))
        .bind(col(buyers, |b| b.company.clone()))
        .bind(col(buyers, |b| {
            b.whatsapp.as_ref().map(|p| p.as_str().to_string())
        }))
        .bind(col(buyers, |b| b.phone_raw.clone()))
        .bind(col(buyers, |b| b.email.clone()))
        .bind(col(buyers, |b| {
            b.country.as_ref().map(|c| c.as_str().to_string())
        }))
        .bind(col(buyers, |b| b.time_zone.clone()))
        .bind(col(buyers, |b| b.language.clone()))
        .bind(col(buyers, |b| b.sales_rep.clone()))
        .bind(col(buyers, |b| b.consent.as_ref().map(|c| micros(c.at))))
        .bind(col(buyers, |b| {
            b.consent.as_ref().map(|c| c.source.clone())
        }))
        .bind(col(buyers, |b| b.notes.clone()))
}

/// `UNNEST` of the arrays [`bind_upsert_arrays`] binds, as table `u`.
macro_rules! upsert_unnest {
    () => {
        "UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
         $13::bigint[], $14::text[], $15::text[]) \
         AS u(id, external_key, name, name_norm, company, whatsapp, phone_raw, email, country, \
         time_zone, language, sales_rep, consent_at, consent_source, notes)"
    };
}

fn with_norms(rows: Vec<BuyerNormRow>) -> Result<Vec<(Buyer, String)>> {
    rows.into_iter()
        .map(|r| Ok((Buyer::try_from(r.buyer)?, r.name_norm)))
        .collect()
}

/// Creates or updates buyers inside the caller's transaction (which holds
/// the buyers lock): candidates loaded in two queries, identity resolved in
/// memory, new buyers inserted under ids drawn from the identity sequence,
/// changed ones updated in one statement.
async fn upsert_many(
    conn: &mut PgConnection,
    buyers: &[NewBuyer],
) -> Result<Vec<(BuyerId, UpsertOutcome)>> {
    let lookup = Lookup::new(buyers)?;
    let keys = lookup.keys();
    let mut stored = if keys.is_empty() {
        Vec::new()
    } else {
        with_norms(
            sqlx::query_as(concat!(
                "SELECT ",
                buyer_cols!(),
                ", name_norm FROM buyers WHERE external_key IN (SELECT unnest($1::text[]))"
            ))
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?,
        )?
    };
    let stored_keys: Vec<String> = stored
        .iter()
        .filter_map(|(b, _)| b.external_key.clone())
        .collect();
    let (phones, names) =
        lookup.phones_and_names(&stored_keys.iter().map(String::as_str).collect());
    if !phones.is_empty() || !names.is_empty() {
        stored.extend(with_norms(
            // two index lookups (an `OR` of two `= ANY` would scan the table)
            sqlx::query_as(concat!(
                "SELECT ",
                buyer_cols!(),
                ", name_norm FROM buyers WHERE whatsapp IN (SELECT unnest($1::text[])) \
                 UNION ALL SELECT ",
                buyer_cols!(),
                ", name_norm FROM buyers WHERE name_norm IN (SELECT unnest($2::text[]))"
            ))
            .bind(&phones)
            .bind(&names)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?,
        )?);
    }

    let mut batch = Batch::new(stored);
    let stored_form = |b: &Buyer| Buyer::try_from(BuyerRow::from(b));
    let slots = buyers
        .iter()
        .map(|nb| batch.upsert(nb, stored_form))
        .collect::<Result<Vec<_>>>()?;

    if batch.created() > 0 {
        let first = reserve_ids(&mut *conn, "buyers", batch.created()).await?;
        batch.assign_ids(first..)?;
        for chunk in batch.to_insert().chunks(BATCH_ROWS) {
            let sql = concat!(
                "INSERT INTO buyers (id, external_key, name, name_norm, company, whatsapp, \
                 phone_raw, email, country, time_zone, language, sales_rep, consent_at, \
                 consent_source, notes) SELECT * FROM ",
                upsert_unnest!()
            );
            bind_upsert_arrays(sqlx::query(sql), chunk)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
    }
    for chunk in batch.to_update().chunks(BATCH_ROWS) {
        let sql = concat!(
            "UPDATE buyers b SET external_key = u.external_key, name = u.name, \
             name_norm = u.name_norm, company = u.company, whatsapp = u.whatsapp, \
             phone_raw = u.phone_raw, email = u.email, country = u.country, \
             time_zone = u.time_zone, language = u.language, sales_rep = u.sales_rep, \
             consent_at = u.consent_at, consent_source = u.consent_source, notes = u.notes FROM ",
            upsert_unnest!(),
            " WHERE b.id = u.id"
        );
        bind_upsert_arrays(sqlx::query(sql), chunk)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(slots
        .into_iter()
        .map(|(slot, outcome)| (batch.id_of(slot), outcome))
        .collect())
}

// ---------------------------------------------------------------------------

#[async_trait]
impl LedgerStore for PostgresStore {
    async fn upsert_buyer(&self, nb: &NewBuyer) -> Result<(BuyerId, UpsertOutcome)> {
        let mut out = self.upsert_buyers(std::slice::from_ref(nb)).await?;
        out.pop()
            .ok_or_else(|| StoreError::Backend("upsert returned no outcome".into()))
    }

    async fn upsert_buyers(&self, buyers: &[NewBuyer]) -> Result<Vec<(BuyerId, UpsertOutcome)>> {
        if buyers.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        lock(&mut tx, locks::BUYERS).await?;
        let out = upsert_many(&mut tx, buyers).await?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn get_buyer(&self, id: BuyerId) -> Result<Buyer> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_buyer(&mut conn, id.get())
            .await?
            .ok_or_else(|| StoreError::not_found("buyer", id))
    }

    async fn get_buyers(&self, ids: &[BuyerId]) -> Result<Vec<Buyer>> {
        let ids: Vec<i64> = ids.iter().map(|i| i.get()).collect();
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let rows: Vec<BuyerRow> = fetch_in(
            &mut conn,
            concat!("SELECT ", buyer_cols!(), " FROM buyers WHERE"),
            "id",
            &ids,
            "",
        )
        .await?;
        rows.into_iter().map(Buyer::try_from).collect()
    }

    async fn find_buyer(&self, key: &str) -> Result<Option<Buyer>> {
        let key = key.trim();
        if key.is_empty() {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await.map_err(db)?;
        if let Some(id) = parse_buyer_ref(key)
            && let Some(b) = fetch_buyer(&mut conn, id).await?
        {
            return Ok(Some(b));
        }
        let by_key: Option<BuyerRow> = sqlx::query_as(concat!(
            "SELECT ",
            buyer_cols!(),
            " FROM buyers WHERE external_key = $1"
        ))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(row) = by_key {
            return Ok(Some(row.try_into()?));
        }
        let digits = key.strip_prefix('+').unwrap_or(key);
        if digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let row: Option<BuyerRow> = sqlx::query_as(concat!(
                "SELECT ",
                buyer_cols!(),
                " FROM buyers WHERE whatsapp = $1 OR wa_id = $2 ORDER BY id LIMIT 1"
            ))
            .bind(format!("+{digits}"))
            .bind(digits)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            if let Some(row) = row {
                return Ok(Some(row.try_into()?));
            }
        }
        let row: Option<BuyerRow> = sqlx::query_as(concat!(
            "SELECT ",
            buyer_cols!(),
            " FROM buyers WHERE name_norm = $1 ORDER BY id LIMIT 1"
        ))
        .bind(normalize_name(key))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        row.map(Buyer::try_from).transpose()
    }

    async fn list_buyers(&self, filter: &BuyerFilter) -> Result<Vec<Buyer>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
            "SELECT ",
            buyer_cols!(),
            " FROM buyers WHERE 1 = 1"
        ));
        if let Some(s) = &filter.search {
            let s = normalize_name(s);
            qb.push(" AND (strpos(name_norm, ")
                .push_bind(s.clone())
                .push(") > 0 OR strpos(lower(coalesce(company, '')), ")
                .push_bind(s)
                .push(") > 0)");
        }
        if let Some(rep) = &filter.sales_rep {
            qb.push(" AND sales_rep = ").push_bind(rep.clone());
        }
        match filter.opted_out {
            Some(true) => {
                qb.push(" AND opted_out_at IS NOT NULL");
            }
            Some(false) => {
                qb.push(" AND opted_out_at IS NULL");
            }
            None => {}
        }
        qb.push(" ORDER BY id");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows: Vec<BuyerRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        convert(rows)
    }

    async fn update_buyer(&self, id: BuyerId, patch: &BuyerPatch, now: Timestamp) -> Result<Buyer> {
        let mut tx = self.begin().await?;
        let mut b = fetch_buyer_locked(&mut tx, id.get())
            .await?
            .ok_or_else(|| StoreError::not_found("buyer", id))?;
        if let Some(p) = patch.paused {
            b.paused = p;
        }
        if let Some(p) = patch.paused_until {
            b.paused_until = p;
        }
        match patch.opted_out {
            Some(true) => b.opted_out_at = b.opted_out_at.or(Some(now)),
            Some(false) => b.opted_out_at = None,
            None => {}
        }
        if let Some(v) = &patch.sales_rep {
            b.sales_rep.clone_from(v);
        }
        if let Some(v) = &patch.cadence_override {
            b.cadence_override.clone_from(v);
        }
        if let Some(v) = &patch.whatsapp {
            b.whatsapp.clone_from(v);
        }
        if let Some(v) = &patch.wa_id {
            b.wa_id.clone_from(v);
        }
        if let Some(v) = &patch.time_zone {
            b.time_zone.clone_from(v);
        }
        if let Some(v) = &patch.language {
            b.language.clone_from(v);
        }
        if let Some(v) = &patch.consent {
            b.consent.clone_from(v);
        }
        write_buyer(&mut tx, &b, Some(now)).await?;
        let stop = if patch.opted_out == Some(true) {
            Some("buyer opted out")
        } else if patch.paused == Some(true) || matches!(patch.paused_until, Some(Some(_))) {
            Some("buyer paused")
        } else {
            None
        };
        if let Some(reason) = stop {
            cancel_for_buyer(&mut tx, id.get(), reason, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(b)
    }

    async fn get_invoice(&self, id: InvoiceId) -> Result<Invoice> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_invoice(&mut conn, id.get())
            .await?
            .ok_or_else(|| StoreError::not_found("invoice", id))
    }

    async fn get_invoices(&self, ids: &[InvoiceId]) -> Result<Vec<Invoice>> {
        let ids: Vec<i64> = ids.iter().map(|i| i.get()).collect();
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let rows: Vec<InvoiceRow> = fetch_in(
            &mut conn,
            concat!("SELECT ", invoice_cols!(), " FROM invoices WHERE"),
            "id",
            &ids,
            "",
        )
        .await?;
        rows.into_iter().map(Invoice::try_from).collect()
    }

    async fn find_invoice(&self, number: &str) -> Result<Option<Invoice>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        fetch_invoice_by_number(&mut conn, number.trim()).await
    }

    async fn list_invoices(&self, filter: &InvoiceFilter) -> Result<Vec<Invoice>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
            "SELECT ",
            invoice_cols!(),
            " FROM invoices WHERE 1 = 1"
        ));
        if let Some(b) = filter.buyer {
            qb.push(" AND buyer_id = ").push_bind(b.get());
        }
        if !filter.statuses.is_empty() {
            qb.push(" AND status IN (");
            let mut sep = qb.separated(", ");
            for s in &filter.statuses {
                sep.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(d) = filter.overdue_on {
            qb.push(" AND due_date < ")
                .push_bind(date_text(d))
                .push("::date");
            qb.push(" AND status IN (");
            let mut sep = qb.separated(", ");
            for s in OPEN_STATUSES {
                sep.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(s) = &filter.search {
            qb.push(" AND strpos(lower(number), ")
                .push_bind(s.trim().to_lowercase())
                .push(") > 0");
        }
        qb.push(" ORDER BY due_date, id");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows: Vec<InvoiceRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        convert(rows)
    }

    async fn apply_invoice_event(
        &self,
        id: InvoiceId,
        event: &InvoiceEvent,
        note: Option<&NewNote>,
        now: Timestamp,
    ) -> Result<Invoice> {
        let mut tx = self.begin().await?;
        let current = fetch_invoice_locked(&mut tx, id.get())
            .await?
            .ok_or_else(|| StoreError::not_found("invoice", id))?;
        let next = current.apply(event).map_err(transition_error)?;
        write_invoice_state(&mut tx, &next, now).await?;
        sqlx::query(
            "INSERT INTO invoice_events (invoice_id, at, from_status, to_status, event) \
             VALUES ($1, $2, $3, $4, $5::jsonb)",
        )
        .bind(id.get())
        .bind(micros(now))
        .bind(current.status.as_str())
        .bind(next.status.as_str())
        .bind(to_json(event)?)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(note) = note {
            insert_note(&mut tx, note).await?;
        }
        if stops_reminders(Some(event), &next) {
            let reason = format!("invoice {}: {}", next.status, event_label(event));
            cancel_for_invoices(&mut tx, &[id.get()], &reason, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(next)
    }

    async fn update_invoice_flags(
        &self,
        id: InvoiceId,
        patch: &InvoicePatch,
        now: Timestamp,
    ) -> Result<Invoice> {
        let mut tx = self.begin().await?;
        let mut inv = fetch_invoice_locked(&mut tx, id.get())
            .await?
            .ok_or_else(|| StoreError::not_found("invoice", id))?;
        if let Some(p) = patch.paused {
            inv.paused = p;
        }
        if let Some(c) = &patch.cadence_override {
            inv.cadence_override.clone_from(c);
        }
        write_invoice_state(&mut tx, &inv, now).await?;
        if patch.paused == Some(true) {
            cancel_for_invoices(&mut tx, &[id.get()], "invoice paused", now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(inv)
    }

    async fn record_payment(&self, p: &NewPayment, now: Timestamp) -> Result<PaymentOutcome> {
        if !p.amount.is_positive() {
            return Err(StoreError::Invalid(
                "a payment must be a positive amount".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let mut allocate: Option<i64> = None;
        if let Some(reference) = &p.reference
            && let Some(dup) = duplicate_of(&mut tx, p, reference).await?
        {
            if dup.payment.invoice_id.is_some() || !names_invoice(p) {
                tx.commit().await.map_err(db)?;
                return Ok(dup);
            }
            // Kept before without an invoice; this report names one: allocate it.
            allocate = Some(dup.payment.id.get());
        }

        let named = match (p.invoice_id, &p.invoice_number) {
            (Some(id), _) => Some((
                fetch_invoice_locked(&mut tx, id.get()).await?,
                id.to_string(),
            )),
            (None, Some(n)) => {
                let found = match fetch_invoice_by_number(&mut tx, n.trim()).await? {
                    Some(inv) => fetch_invoice_locked(&mut tx, inv.id.get()).await?,
                    None => None,
                };
                Some((found, n.clone()))
            }
            (None, None) => None,
        };
        let mut flag: Option<String>;
        let mut invoice = None;
        let mut moved = None;
        match named {
            None => flag = Some("no invoice named: allocate by hand".to_string()),
            Some((None, key)) => flag = Some(format!("unknown invoice {key}")),
            Some((Some(inv), _)) => {
                if inv.currency() != p.amount.currency() {
                    flag = Some(format!(
                        "paid in {}, invoice {} is in {}",
                        p.amount.currency(),
                        inv.number,
                        inv.currency()
                    ));
                } else if inv.status == InvoiceStatus::Cancelled {
                    flag = Some(format!("invoice {} is cancelled", inv.number));
                } else {
                    flag = payment_flag_overpaid(&inv, p.amount);
                    let next = inv
                        .apply(&InvoiceEvent::PaymentReceived {
                            amount: p.amount,
                            at: p.received_at,
                        })
                        .map_err(transition_error)?;
                    moved = Some(next);
                }
                invoice = Some(inv);
            }
        }
        let mut buyer_id = invoice.as_ref().map(|i| i.buyer_id).or(p.buyer_id);
        if invoice.is_none()
            && let Some(b) = buyer_id
            && fetch_buyer(&mut tx, b.get()).await?.is_none()
        {
            buyer_id = None;
            flag = Some(match flag {
                Some(f) => format!("{f}; unknown buyer {b}"),
                None => format!("unknown buyer {b}"),
            });
        }

        let id: Option<i64> = match allocate {
            // Only while still unallocated: of two reports allocating it at
            // once, the second finds it taken and returns it as a duplicate.
            Some(existing) => sqlx::query_scalar(
                "UPDATE payments SET invoice_id = $1, buyer_id = $2, flag = $3 \
                 WHERE id = $4 AND invoice_id IS NULL RETURNING id",
            )
            .bind(invoice.as_ref().map(|i| i.id.get()))
            .bind(buyer_id.map(BuyerId::get))
            .bind(&flag)
            .bind(existing)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?,
            None => sqlx::query_scalar(
                "INSERT INTO payments (invoice_id, buyer_id, amount_minor, currency, received_at, \
                 method, reference, flag, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (method, reference) WHERE reference IS NOT NULL DO NOTHING RETURNING id",
            )
            .bind(invoice.as_ref().map(|i| i.id.get()))
            .bind(buyer_id.map(BuyerId::get))
            .bind(p.amount.minor())
            .bind(p.amount.currency().code())
            .bind(micros(p.received_at))
            .bind(p.method.as_str())
            .bind(&p.reference)
            .bind(&flag)
            .bind(micros(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?,
        };
        let Some(id) = id else {
            // another transaction recorded this reference since we looked
            tx.rollback().await.map_err(db)?;
            let mut conn = self.pool.acquire().await.map_err(db)?;
            let reference = p.reference.as_deref().unwrap_or_default();
            return duplicate_of(&mut conn, p, reference)
                .await?
                .ok_or_else(|| StoreError::Conflict(format!("payment {reference} vanished")));
        };

        let mut cancelled_messages = 0;
        if let Some(next) = moved {
            write_invoice_state(&mut tx, &next, now).await?;
            // Paid: nothing more to send. Partly paid: what is queued shows
            // the old amount; the next plan queues it again with the new one.
            let reason = if stops_reminders(None, &next) {
                format!("invoice {}: payment received", next.status)
            } else {
                format!(
                    "invoice {}: payment received, {} outstanding (planned again)",
                    next.status,
                    next.outstanding()
                )
            };
            cancelled_messages =
                cancel_for_invoices(&mut tx, &[next.id.get()], &reason, now).await?;
            invoice = Some(next);
        }
        tx.commit().await.map_err(db)?;
        Ok(PaymentOutcome {
            payment: Payment {
                id: tagada_core::PaymentId::new(id),
                invoice_id: invoice.as_ref().map(|i| i.id),
                buyer_id,
                amount: p.amount,
                received_at: p.received_at,
                method: p.method,
                reference: p.reference.clone(),
                flag,
            },
            invoice,
            cancelled_messages,
            duplicate: false,
        })
    }

    async fn list_payments(&self, invoice: Option<InvoiceId>) -> Result<Vec<Payment>> {
        let rows: Vec<PaymentRow> = match invoice {
            Some(i) => sqlx::query_as(concat!(
                "SELECT ",
                payment_cols!(),
                " FROM payments WHERE invoice_id = $1 ORDER BY id"
            ))
            .bind(i.get())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?,
            None => sqlx::query_as(concat!(
                "SELECT ",
                payment_cols!(),
                " FROM payments ORDER BY id"
            ))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?,
        };
        convert(rows)
    }

    async fn add_note(&self, note: &NewNote) -> Result<Note> {
        let mut tx = self.begin().await?;
        let n = insert_note(&mut tx, note).await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    async fn list_notes(&self, buyer: BuyerId) -> Result<Vec<Note>> {
        let rows: Vec<NoteRow> = sqlx::query_as(concat!(
            "SELECT ",
            note_cols!(),
            " FROM notes WHERE buyer_id = $1 ORDER BY at, id"
        ))
        .bind(buyer.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        convert(rows)
    }
}

/// A short label for an event, for cancellation reasons and timelines.
pub(crate) fn event_label(e: &InvoiceEvent) -> &'static str {
    match e {
        InvoiceEvent::PaymentReceived { .. } => "payment received",
        InvoiceEvent::PaymentClaimed { .. } => "buyer says paid",
        InvoiceEvent::Snoozed { .. } => "snoozed",
        InvoiceEvent::Disputed => "disputed",
        InvoiceEvent::DisputeResolved => "dispute resolved",
        InvoiceEvent::Cancelled => "cancelled",
        InvoiceEvent::MarkedPaid { .. } => "marked paid",
    }
}
