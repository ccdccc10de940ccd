//! Buyers, invoices, payments and notes.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tagada_core::ledger::{
    Buyer, Invoice, InvoiceEvent, InvoiceStatus, Note, Payment, TransitionError,
};
use tagada_core::{BuyerId, InvoiceId, Money};
use tagada_store::{
    BuyerFilter, BuyerPatch, InvoiceFilter, InvoicePatch, LedgerStore, NewBuyer, NewNote,
    NewPayment, PaymentOutcome, Result, StoreError, UpsertOutcome,
};

use crate::SqliteStore;
use crate::conv::{
    IN_CHUNK, OPEN_STATUSES, WRITE_ROWS, cache_write, date_text, db, micros, normalize_name,
    opt_date_text, opt_micros, parse_buyer_ref, push_in_list, to_json,
};
use crate::identity::{Batch, Lookup};
use crate::rows::{
    BuyerNormRow, BuyerRow, InvoiceRow, NoteRow, PaymentRow, buyer_cols, convert, invoice_cols,
    note_cols, payment_cols,
};

// ---------------------------------------------------------------------------
// Shared helpers (used by the other traits too).

pub(crate) async fn fetch_buyer(conn: &mut SqliteConnection, id: i64) -> Result<Option<Buyer>> {
    let row: Option<BuyerRow> = sqlx::query_as(concat!(
        "SELECT ",
        buyer_cols!(),
        " FROM buyers WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Buyer::try_from).transpose()
}

pub(crate) async fn fetch_invoice(conn: &mut SqliteConnection, id: i64) -> Result<Option<Invoice>> {
    let row: Option<InvoiceRow> = sqlx::query_as(concat!(
        "SELECT ",
        invoice_cols!(),
        " FROM invoices WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Invoice::try_from).transpose()
}

async fn fetch_invoice_by_number(
    conn: &mut SqliteConnection,
    number: &str,
) -> Result<Option<Invoice>> {
    let row: Option<InvoiceRow> = sqlx::query_as(concat!(
        "SELECT ",
        invoice_cols!(),
        " FROM invoices WHERE number = ?"
    ))
    .bind(number)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(Invoice::try_from).transpose()
}

/// Loads rows `<head> <column> IN (values) <tail>`, [`IN_CHUNK`] values per
/// statement (lists padded as [`push_in_list`] says).
pub(crate) async fn fetch_in<R>(
    conn: &mut SqliteConnection,
    head: &str,
    column: &str,
    values: &[impl Copy + for<'t> sqlx::Encode<'t, Sqlite> + sqlx::Type<Sqlite>],
    tail: &str,
) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let mut out = Vec::new();
    for chunk in values.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(head);
        qb.push(" ").push(column).push(" IN ");
        push_in_list(&mut qb, chunk);
        qb.push(" ").push(tail);
        out.extend(
            qb.build_query_as::<R>()
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?,
        );
    }
    Ok(out)
}

/// Saves what the state machine and the flags may change on an invoice.
pub(crate) async fn write_invoice_state(
    conn: &mut SqliteConnection,
    inv: &Invoice,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE invoices SET amount_paid_minor = ?, status = ?, snoozed_until = ?, paused = ?, \
         cadence_override = ?, paid_at = ?, reminder_cycle = ?, updated_at = ? WHERE id = ?",
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
    conn: &mut SqliteConnection,
    outbox_ids: &[i64],
    now: Timestamp,
) -> Result<()> {
    for chunk in outbox_ids.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("UPDATE reminders SET status = 'cancelled', cancelled_at = ");
        qb.push_bind(micros(now));
        qb.push(" WHERE status <> 'cancelled' AND outbox_id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Cancels every pending message carrying one of these invoices, and their
/// reminders. In-flight messages are left to the dispatcher's send-time check.
pub(crate) async fn cancel_for_invoices(
    conn: &mut SqliteConnection,
    invoice_ids: &[i64],
    reason: &str,
    now: Timestamp,
) -> Result<u32> {
    let mut cancelled = Vec::new();
    for chunk in invoice_ids.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE outbox SET status = 'cancelled', lease_token = NULL, lease_until = NULL, \
             last_error = ",
        );
        qb.push_bind(reason.to_string());
        qb.push(", updated_at = ").push_bind(micros(now));
        qb.push(
            " WHERE status IN ('pending', 'failed') AND dedupe_key NOT LIKE 'reply:%' AND id IN \
             (SELECT outbox_id FROM outbox_invoices WHERE invoice_id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")) RETURNING id");
        let ids: Vec<i64> = qb
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
        cancelled.extend(ids);
    }
    cancel_reminders(conn, &cancelled, now).await?;
    Ok(cancelled.len() as u32)
}

/// Cancels every pending message to a buyer, and their reminders.
async fn cancel_for_buyer(
    conn: &mut SqliteConnection,
    buyer: i64,
    reason: &str,
    now: Timestamp,
) -> Result<u32> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE outbox SET status = 'cancelled', lease_token = NULL, lease_until = NULL, \
         last_error = ?, updated_at = ? WHERE status IN ('pending', 'failed') AND buyer_id = ? \
         AND dedupe_key NOT LIKE 'reply:%' \
         RETURNING id",
    )
    .bind(reason)
    .bind(micros(now))
    .bind(buyer)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    cancel_reminders(conn, &ids, now).await?;
    Ok(ids.len() as u32)
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

pub(crate) async fn insert_note(conn: &mut SqliteConnection, note: &NewNote) -> Result<Note> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO notes (buyer_id, invoice_id, at, kind, author, text) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
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
async fn write_buyer(conn: &mut SqliteConnection, b: &Buyer, now: Option<Timestamp>) -> Result<()> {
    sqlx::query(
        "UPDATE buyers SET external_key = ?, name = ?, name_norm = ?, company = ?, whatsapp = ?, \
         phone_raw = ?, wa_id = ?, email = ?, country = ?, time_zone = ?, language = ?, \
         sales_rep = ?, consent_at = ?, consent_source = ?, opted_out_at = ?, paused = ?, \
         paused_until = ?, cadence_override = ?, notes = ?, updated_at = coalesce(?, updated_at) \
         WHERE id = ?",
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

// ---------------------------------------------------------------------------
// Buyer upserts, set-based (identity rules in `identity`).

/// Columns written when a batch creates or merges buyers, after `id`.
const UPSERT_COLS: &str = "external_key, name, name_norm, company, whatsapp, phone_raw, email, \
     country, time_zone, language, sales_rep, consent_at, consent_source, notes";

/// Binds `id` and the [`UPSERT_COLS`] of one buyer.
fn push_upsert_row(mut row: sqlx::query_builder::Separated<'_, Sqlite, &'static str>, b: &Buyer) {
    row.push_bind(b.id.get())
        .push_bind(b.external_key.clone())
        .push_bind(b.name.clone())
        .push_bind(normalize_name(&b.name))
        .push_bind(b.company.clone())
        .push_bind(b.whatsapp.as_ref().map(|p| p.as_str().to_string()))
        .push_bind(b.phone_raw.clone())
        .push_bind(b.email.clone())
        .push_bind(b.country.as_ref().map(|c| c.as_str().to_string()))
        .push_bind(b.time_zone.clone())
        .push_bind(b.language.clone())
        .push_bind(b.sales_rep.clone())
        .push_bind(b.consent.as_ref().map(|c| micros(c.at)))
        .push_bind(b.consent.as_ref().map(|c| c.source.clone()))
        .push_bind(b.notes.clone());
}

/// The stored buyers with one of these values in `column`.
async fn load_candidates(
    conn: &mut SqliteConnection,
    column: &str,
    values: &[&str],
) -> Result<Vec<(Buyer, String)>> {
    let rows: Vec<BuyerNormRow> = fetch_in(
        conn,
        concat!("SELECT ", buyer_cols!(), ", name_norm FROM buyers WHERE"),
        column,
        values,
        "",
    )
    .await?;
    rows.into_iter()
        .map(|r| Ok((Buyer::try_from(r.buyer)?, r.name_norm)))
        .collect()
}

/// Creates or updates buyers inside the caller's transaction (which holds
/// the write lock): candidates loaded in a few `IN (...)` queries, identity
/// resolved in memory, new buyers inserted under ids taken from `max(id)`
/// (what SQLite would give them one by one), changed ones updated in bulk.
async fn upsert_many(
    conn: &mut SqliteConnection,
    buyers: &[NewBuyer],
) -> Result<Vec<(BuyerId, UpsertOutcome)>> {
    let lookup = Lookup::new(buyers)?;
    let mut stored = load_candidates(&mut *conn, "external_key", &lookup.keys()).await?;
    let stored_keys: Vec<String> = stored
        .iter()
        .filter_map(|(b, _)| b.external_key.clone())
        .collect();
    let (phones, names) =
        lookup.phones_and_names(&stored_keys.iter().map(String::as_str).collect());
    stored.extend(load_candidates(&mut *conn, "whatsapp", &phones).await?);
    stored.extend(load_candidates(&mut *conn, "name_norm", &names).await?);

    let mut batch = Batch::new(stored);
    let stored_form = |b: &Buyer| Buyer::try_from(BuyerRow::from(b));
    let slots = buyers
        .iter()
        .map(|nb| batch.upsert(nb, stored_form))
        .collect::<Result<Vec<_>>>()?;

    if batch.created() > 0 {
        let first: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM buyers")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        batch.assign_ids(first..)?;
        for chunk in batch.to_insert().chunks(WRITE_ROWS) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO buyers (id, ");
            qb.push(UPSERT_COLS).push(") ");
            qb.push_values(chunk, |row, b| push_upsert_row(row, b));
            qb.build()
                .persistent(cache_write(chunk.len()))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
    }
    for chunk in batch.to_update().chunks(WRITE_ROWS) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("WITH v (id, ");
        qb.push(UPSERT_COLS).push(") AS (");
        qb.push_values(chunk, |row, b| push_upsert_row(row, b));
        qb.push(
            ") UPDATE buyers SET external_key = v.external_key, name = v.name, \
             name_norm = v.name_norm, company = v.company, whatsapp = v.whatsapp, \
             phone_raw = v.phone_raw, email = v.email, country = v.country, \
             time_zone = v.time_zone, language = v.language, sales_rep = v.sales_rep, \
             consent_at = v.consent_at, consent_source = v.consent_source, notes = v.notes \
             FROM v WHERE buyers.id = v.id",
        );
        qb.build()
            .persistent(cache_write(chunk.len()))
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
impl LedgerStore for SqliteStore {
    async fn upsert_buyer(&self, nb: &NewBuyer) -> Result<(BuyerId, UpsertOutcome)> {
        let mut out = self.upsert_buyers(std::slice::from_ref(nb)).await?;
        out.pop()
            .ok_or_else(|| StoreError::Backend("upsert returned no outcome".into()))
    }

    async fn upsert_buyers(&self, buyers: &[NewBuyer]) -> Result<Vec<(BuyerId, UpsertOutcome)>> {
        if buyers.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
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
            " FROM buyers WHERE external_key = ?"
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
                " FROM buyers WHERE whatsapp = ? OR wa_id = ? ORDER BY id LIMIT 1"
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
            " FROM buyers WHERE name_norm = ? ORDER BY id LIMIT 1"
        ))
        .bind(normalize_name(key))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        row.map(Buyer::try_from).transpose()
    }

    async fn list_buyers(&self, filter: &BuyerFilter) -> Result<Vec<Buyer>> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT ",
            buyer_cols!(),
            " FROM buyers WHERE 1 = 1"
        ));
        if let Some(s) = &filter.search {
            let s = normalize_name(s);
            qb.push(" AND (instr(name_norm, ")
                .push_bind(s.clone())
                .push(") > 0 OR instr(lower(coalesce(company, '')), ")
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
        let mut tx = self.write().await?;
        let mut b = fetch_buyer(&mut tx, id.get())
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
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
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
            qb.push(" AND due_date < ").push_bind(date_text(d));
            qb.push(" AND status IN (");
            let mut sep = qb.separated(", ");
            for s in OPEN_STATUSES {
                sep.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(s) = &filter.search {
            qb.push(" AND instr(lower(number), ")
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
        let mut tx = self.write().await?;
        let current = fetch_invoice(&mut tx, id.get())
            .await?
            .ok_or_else(|| StoreError::not_found("invoice", id))?;
        let next = current.apply(event).map_err(transition_error)?;
        write_invoice_state(&mut tx, &next, now).await?;
        sqlx::query(
            "INSERT INTO invoice_events (invoice_id, at, from_status, to_status, event) \
             VALUES (?, ?, ?, ?, ?)",
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
        let mut tx = self.write().await?;
        let mut inv = fetch_invoice(&mut tx, id.get())
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
        let mut tx = self.write().await?;
        let mut allocate: Option<i64> = None;
        if let Some(reference) = &p.reference {
            let existing: Option<PaymentRow> = sqlx::query_as(concat!(
                "SELECT ",
                payment_cols!(),
                " FROM payments WHERE method = ? AND reference = ?"
            ))
            .bind(p.method.as_str())
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            if let Some(row) = existing {
                let payment = Payment::try_from(row)?;
                if payment.invoice_id.is_some() || !names_invoice(p) {
                    let invoice = match payment.invoice_id {
                        Some(i) => fetch_invoice(&mut tx, i.get()).await?,
                        None => None,
                    };
                    tx.commit().await.map_err(db)?;
                    return Ok(PaymentOutcome {
                        payment,
                        invoice,
                        cancelled_messages: 0,
                        duplicate: true,
                    });
                }
                // Kept before without an invoice; this report names one: allocate it.
                allocate = Some(payment.id.get());
            }
        }

        let named = match (p.invoice_id, &p.invoice_number) {
            (Some(id), _) => Some((fetch_invoice(&mut tx, id.get()).await?, id.to_string())),
            (None, Some(n)) => Some((fetch_invoice_by_number(&mut tx, n.trim()).await?, n.clone())),
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

        let id: i64 = match allocate {
            Some(existing) => {
                sqlx::query("UPDATE payments SET invoice_id = ?, buyer_id = ?, flag = ? WHERE id = ?")
                    .bind(invoice.as_ref().map(|i| i.id.get()))
                    .bind(buyer_id.map(BuyerId::get))
                    .bind(&flag)
                    .bind(existing)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                existing
            }
            None => sqlx::query_scalar(
                "INSERT INTO payments (invoice_id, buyer_id, amount_minor, currency, received_at, \
                 method, reference, flag, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?,
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
                " FROM payments WHERE invoice_id = ? ORDER BY id"
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
        let mut tx = self.write().await?;
        let n = insert_note(&mut tx, note).await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    async fn list_notes(&self, buyer: BuyerId) -> Result<Vec<Note>> {
        let rows: Vec<NoteRow> = sqlx::query_as(concat!(
            "SELECT ",
            note_cols!(),
            " FROM notes WHERE buyer_id = ? ORDER BY at, id"
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
