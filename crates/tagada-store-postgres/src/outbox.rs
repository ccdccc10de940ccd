//! The outbox: claims under a lease, attempts, completion.
//!
//! A claim is one short transaction: settle lapsed leases, then lock the
//! oldest due `pending` rows with `FOR UPDATE SKIP LOCKED` (concurrent
//! workers pass over each other's rows instead of waiting) and move them to
//! `in_flight`, each with a fresh lease token from `outbox_lease_seq`.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tagada_core::ledger::{Buyer, Invoice};
use tagada_core::outbox::OutboxStatus;
use tagada_core::{InvoiceId, OutboxId};
use tagada_store::{
    Attempt, AttemptOutcome, ClaimedMessage, Completion, LeaseToken, OutboxFilter, OutboxMessage,
    OutboxStore, Result, StoreError,
};

use crate::PostgresStore;
use crate::conv::{db, from_json, micros, outbox_status, phone, to_json, ts};
use crate::ledger::{cancel_reminders, fetch_in};
use crate::rows::{
    AttemptRow, BuyerRow, InvoiceRow, OutboxRow, buyer_cols, convert, invoice_cols, outbox_cols,
};

/// The invoices each message carries.
async fn invoice_ids_of(
    conn: &mut PgConnection,
    outbox_ids: &[i64],
) -> Result<HashMap<i64, Vec<InvoiceId>>> {
    let rows: Vec<(i64, i64)> = fetch_in(
        conn,
        "SELECT outbox_id, invoice_id FROM outbox_invoices WHERE",
        "outbox_id",
        outbox_ids,
        "ORDER BY outbox_id, invoice_id",
    )
    .await?;
    let mut map: HashMap<i64, Vec<InvoiceId>> = HashMap::new();
    for (o, i) in rows {
        map.entry(o).or_default().push(InvoiceId::new(i));
    }
    Ok(map)
}

async fn messages_with_invoices(
    conn: &mut PgConnection,
    rows: Vec<OutboxRow>,
) -> Result<Vec<OutboxMessage>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut links = invoice_ids_of(conn, &ids).await?;
    rows.into_iter()
        .map(|r| {
            let inv = links.remove(&r.id).unwrap_or_default();
            r.into_message(inv)
        })
        .collect()
}

/// Lapsed leases: a send that started has an unknown outcome and goes to
/// review (recorded as an attempt); a claim that never sent goes back to
/// pending, as if never claimed. Rows another worker is settling are skipped.
async fn settle_lapsed(conn: &mut PgConnection, now: Timestamp) -> Result<()> {
    let error = "lease expired after the send started: outcome unknown".to_string();
    sqlx::query(
        "WITH lapsed AS ( \
           SELECT id FROM outbox WHERE status = 'in_flight' AND lease_until <= $1 \
             AND sending_started_at IS NOT NULL FOR UPDATE SKIP LOCKED), \
         moved AS ( \
           UPDATE outbox o SET status = 'needs_review', attempts = o.attempts + 1, \
                  last_error = $2, lease_token = NULL, lease_until = NULL, updated_at = $1 \
           FROM lapsed WHERE o.id = lapsed.id \
           RETURNING o.id, o.attempts, o.worker, o.sending_started_at) \
         INSERT INTO attempts (outbox_id, attempt, at, worker, outcome) \
         SELECT id, attempts, sending_started_at, coalesce(worker, ''), $3::jsonb FROM moved",
    )
    .bind(micros(now))
    .bind(&error)
    .bind(to_json(&AttemptOutcome::NeedsReview {
        error: error.clone(),
    })?)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "UPDATE outbox SET status = 'pending', lease_token = NULL, lease_until = NULL, \
         worker = NULL, updated_at = $1 \
         WHERE id IN (SELECT id FROM outbox WHERE status = 'in_flight' AND lease_until <= $1 \
                      AND sending_started_at IS NULL FOR UPDATE SKIP LOCKED)",
    )
    .bind(micros(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    lease_token: i64,
    attempts: i64,
    buyer_id: i64,
    to_phone: String,
    message: String,
    escalate: bool,
    send_at: i64,
    priority: i64,
}

/// The rows whose recipient counts against the 24-hour messaging limit
/// (binds: `since` twice): template messages sent, or possibly sent.
macro_rules! recipients_since {
    () => {
        "dedupe_key NOT LIKE 'reply:%' AND ((status = 'sent' AND sent_at >= $1) \
         OR (status = 'needs_review' AND updated_at >= $2) \
         OR (status = 'in_flight' AND sending_started_at IS NOT NULL))"
    };
}

/// Messages marked per statement by `mark_sending_many`.
const MARK_CHUNK: usize = 200;

/// The columns of a batch completion, one array each (bound as PostgreSQL
/// arrays and joined with `UNNEST`).
#[derive(Default)]
struct Rows {
    id: Vec<i64>,
    status: Vec<&'static str>,
    attempt: Vec<i64>,
    clear_worker: Vec<bool>,
    error: Vec<Option<String>>,
    provider_id: Vec<Option<String>>,
    sent: Vec<bool>,
    not_before: Vec<Option<i64>>,
    worker: Vec<String>,
    outcome: Vec<String>,
}

/// `id, status, lease_token, attempts, worker` of a row being completed.
type LeaseRow = (i64, String, Option<i64>, i64, Option<String>);

/// Records one attempt per item and moves each message on, inside the
/// caller's transaction, for the items whose lease is still held; one
/// result per item (`NotFound`, `LeaseLost`, or done). Three statements
/// whatever the number of items: the rows read (and locked), updated, and
/// their attempts appended; plus the reminders of cancelled ones.
async fn complete_batch(
    conn: &mut PgConnection,
    items: &[(OutboxId, LeaseToken, AttemptOutcome)],
    now: Timestamp,
) -> Result<Vec<Result<()>>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = items.iter().map(|(id, _, _)| id.get()).collect();
    let rows: Vec<LeaseRow> = sqlx::query_as(
        "SELECT id, status, lease_token, attempts, worker FROM outbox \
         WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut current: HashMap<i64, (String, Option<i64>, i64, Option<String>)> = rows
        .into_iter()
        .map(|(id, status, token, attempts, worker)| (id, (status, token, attempts, worker)))
        .collect();
    let mut results = Vec::with_capacity(items.len());
    let mut done = Vec::with_capacity(items.len());
    for (id, lease, outcome) in items {
        match current.remove(&id.get()) {
            None => results.push(Err(StoreError::not_found("outbox message", id))),
            Some((status, token, attempts, worker))
                if status == OutboxStatus::InFlight.as_str() && token == Some(lease.0) =>
            {
                results.push(Ok(()));
                done.push((
                    id.get(),
                    attempts + 1,
                    worker,
                    Completion::of(outcome),
                    outcome,
                ));
            }
            // (an id given twice finds its row taken the second time)
            Some(_) => results.push(Err(StoreError::LeaseLost(*id))),
        }
    }
    if done.is_empty() {
        return Ok(results);
    }
    let mut v = Rows::default();
    for (id, attempt, worker, c, outcome) in &done {
        v.id.push(*id);
        v.status.push(c.status.as_str());
        v.attempt.push(*attempt);
        v.clear_worker.push(c.clear_worker);
        v.error.push(c.error.clone());
        v.provider_id.push(c.provider_id.clone());
        v.sent.push(c.sent);
        v.not_before.push(c.not_before.map(micros));
        v.worker.push(worker.clone().unwrap_or_default());
        v.outcome.push(to_json(*outcome)?);
    }
    sqlx::query(
        "UPDATE outbox AS o SET status = v.status, attempts = v.attempt, lease_token = NULL, \
         lease_until = NULL, sending_started_at = NULL, \
         worker = CASE WHEN v.clear_worker THEN NULL ELSE o.worker END, \
         last_error = CASE WHEN v.sent THEN o.last_error ELSE v.error END, \
         provider_id = coalesce(v.provider_id, o.provider_id), \
         delivery = CASE WHEN v.sent THEN coalesce(o.delivery, 'accepted') ELSE o.delivery END, \
         sent_at = CASE WHEN v.sent THEN $9 ELSE o.sent_at END, \
         not_before = coalesce(v.not_before, o.not_before), updated_at = $9 \
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bool[], $5::text[], $6::text[], \
         $7::bool[], $8::bigint[]) AS v(id, status, attempt, clear_worker, error, provider_id, sent, not_before) \
         WHERE o.id = v.id",
    )
    .bind(&v.id)
    .bind(&v.status)
    .bind(&v.attempt)
    .bind(&v.clear_worker)
    .bind(&v.error)
    .bind(&v.provider_id)
    .bind(&v.sent)
    .bind(&v.not_before)
    .bind(micros(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO attempts (outbox_id, attempt, at, worker, outcome) \
         SELECT id, attempt, $3, worker, outcome::jsonb \
         FROM UNNEST($1::bigint[], $2::bigint[], $4::text[], $5::text[]) AS v(id, attempt, worker, outcome)",
    )
    .bind(&v.id)
    .bind(&v.attempt)
    .bind(micros(now))
    .bind(&v.worker)
    .bind(&v.outcome)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let cancelled: Vec<i64> = done
        .iter()
        .filter(|d| d.3.status == OutboxStatus::Cancelled)
        .map(|d| d.0)
        .collect();
    cancel_reminders(&mut *conn, &cancelled, now).await?;
    Ok(results)
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn claim(
        &self,
        now: Timestamp,
        limit: u32,
        lease: SignedDuration,
        worker: &str,
    ) -> Result<Vec<ClaimedMessage>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease_until = now
            .checked_add(lease)
            .map_err(|e| StoreError::Invalid(format!("lease: {e}")))?;
        let mut tx = self.begin().await?;
        settle_lapsed(&mut tx, now).await?;
        let mut rows: Vec<ClaimRow> = sqlx::query_as(
            "WITH due AS ( \
               SELECT id FROM outbox WHERE status = 'pending' AND not_before <= $1 \
               ORDER BY send_at, priority DESC, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET status = 'in_flight', lease_token = nextval('outbox_lease_seq'), \
                    lease_until = $3, worker = $4, sending_started_at = NULL, updated_at = $1 \
             FROM due WHERE o.id = due.id \
             RETURNING o.id, o.lease_token, o.attempts, o.buyer_id, o.to_phone, \
                       o.message::text AS message, o.escalate, o.send_at, o.priority",
        )
        .bind(micros(now))
        .bind(i64::from(limit))
        .bind(micros(lease_until))
        .bind(worker)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        rows.sort_by_key(|r| (r.send_at, std::cmp::Reverse(r.priority), r.id));

        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let links = invoice_ids_of(&mut tx, &ids).await?;
        let mut invoice_ids: Vec<i64> = links.values().flatten().map(|i| i.get()).collect();
        invoice_ids.sort_unstable();
        invoice_ids.dedup();
        let invoices: Vec<Invoice> = convert(
            fetch_in::<InvoiceRow>(
                &mut tx,
                concat!("SELECT ", invoice_cols!(), " FROM invoices WHERE"),
                "id",
                &invoice_ids,
                "",
            )
            .await?,
        )?;
        let invoices: HashMap<InvoiceId, Invoice> =
            invoices.into_iter().map(|i| (i.id, i)).collect();
        let mut buyer_ids: Vec<i64> = rows.iter().map(|r| r.buyer_id).collect();
        buyer_ids.sort_unstable();
        buyer_ids.dedup();
        let buyers: Vec<Buyer> = convert(
            fetch_in::<BuyerRow>(
                &mut tx,
                concat!("SELECT ", buyer_cols!(), " FROM buyers WHERE"),
                "id",
                &buyer_ids,
                "",
            )
            .await?,
        )?;
        let buyers: HashMap<i64, Buyer> = buyers.into_iter().map(|b| (b.id.get(), b)).collect();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let buyer = buyers
                .get(&r.buyer_id)
                .cloned()
                .ok_or_else(|| StoreError::not_found("buyer", r.buyer_id))?;
            let carried = links
                .get(&r.id)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|i| invoices.get(i).cloned())
                        .collect()
                })
                .unwrap_or_default();
            out.push(ClaimedMessage {
                id: OutboxId::new(r.id),
                lease: LeaseToken(r.lease_token),
                attempt: u32::try_from(r.attempts + 1).unwrap_or(u32::MAX),
                buyer,
                invoices: carried,
                to: phone("outbox", r.to_phone)?,
                message: from_json("outbox", &r.message)?,
                escalate: r.escalate,
                send_at: ts("outbox", r.send_at)?,
            });
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }

    async fn mark_sending(&self, id: OutboxId, lease: LeaseToken, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET sending_started_at = $1, updated_at = $2 \
             WHERE id = $3 AND status = 'in_flight' AND lease_token = $4 AND lease_until > $5",
        )
        .bind(micros(now))
        .bind(micros(now))
        .bind(id.get())
        .bind(lease.0)
        .bind(micros(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if done == 1 {
            return Ok(());
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1")
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match exists {
            None => Err(StoreError::not_found("outbox message", id)),
            Some(_) => Err(StoreError::LeaseLost(id)),
        }
    }

    async fn complete(
        &self,
        id: OutboxId,
        lease: LeaseToken,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let item = [(id, lease, outcome.clone())];
        let result = complete_batch(&mut tx, &item, now)
            .await?
            .pop()
            .unwrap_or(Err(StoreError::LeaseLost(id)));
        tx.commit().await.map_err(db)?;
        result
    }

    async fn complete_many(
        &self,
        items: &[(OutboxId, LeaseToken, AttemptOutcome)],
        now: Timestamp,
    ) -> Result<Vec<bool>> {
        let mut tx = self.begin().await?;
        let results = complete_batch(&mut tx, items, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(results.iter().map(Result::is_ok).collect())
    }

    async fn mark_sending_many(
        &self,
        items: &[(OutboxId, LeaseToken)],
        now: Timestamp,
    ) -> Result<Vec<OutboxId>> {
        let mut marked = Vec::with_capacity(items.len());
        for chunk in items.chunks(MARK_CHUNK) {
            let mut qb: QueryBuilder<Postgres> =
                QueryBuilder::new("UPDATE outbox SET sending_started_at = ");
            qb.push_bind(micros(now))
                .push(", updated_at = ")
                .push_bind(micros(now))
                .push(" WHERE status = 'in_flight' AND lease_until > ")
                .push_bind(micros(now))
                .push(" AND (");
            let mut or = qb.separated(" OR ");
            for (id, lease) in chunk {
                or.push("(id = ")
                    .push_bind_unseparated(id.get())
                    .push_unseparated(" AND lease_token = ")
                    .push_bind_unseparated(lease.0)
                    .push_unseparated(")");
            }
            qb.push(") RETURNING id");
            let ids: Vec<i64> = qb
                .build_query_scalar()
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            marked.extend(ids.into_iter().map(OutboxId::new));
        }
        Ok(marked)
    }

    async fn release(
        &self,
        id: OutboxId,
        lease: LeaseToken,
        not_before: Timestamp,
        reason: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE outbox SET status = 'pending', lease_token = NULL, lease_until = NULL, \
             worker = NULL, not_before = $1, last_error = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'in_flight' AND lease_token = $5 \
             AND sending_started_at IS NULL",
        )
        .bind(micros(not_before))
        .bind(reason)
        .bind(micros(now))
        .bind(id.get())
        .bind(lease.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::LeaseLost(id));
        }
        tx.commit().await.map_err(db)
    }

    async fn count_recipients_since(&self, since: Timestamp) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(concat!(
            "SELECT count(DISTINCT to_phone) FROM outbox WHERE ",
            recipients_since!()
        ))
        .bind(micros(since))
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(n.max(0) as u64)
    }

    async fn messaged_since(&self, to: &tagada_core::Phone, since: Timestamp) -> Result<bool> {
        let hit: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT 1::bigint FROM outbox WHERE to_phone = $3 AND (",
            recipients_since!(),
            ") LIMIT 1"
        ))
        .bind(micros(since))
        .bind(micros(since))
        .bind(to.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(hit.is_some())
    }

    async fn get_message(&self, id: OutboxId) -> Result<OutboxMessage> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let row: Option<OutboxRow> = sqlx::query_as(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        let row = row.ok_or_else(|| StoreError::not_found("outbox message", id))?;
        messages_with_invoices(&mut conn, vec![row])
            .await
            .map(|mut v| v.remove(0))
    }

    async fn list_messages(&self, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox WHERE 1 = 1"
        ));
        if !filter.statuses.is_empty() {
            qb.push(" AND status IN (");
            let mut sep = qb.separated(", ");
            for s in &filter.statuses {
                sep.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(b) = filter.buyer {
            qb.push(" AND buyer_id = ").push_bind(b.get());
        }
        if let Some(i) = filter.invoice {
            qb.push(" AND id IN (SELECT outbox_id FROM outbox_invoices WHERE invoice_id = ")
                .push_bind(i.get())
                .push(")");
        }
        if let Some(since) = filter.since {
            qb.push(" AND created_at >= ").push_bind(micros(since));
        }
        qb.push(" ORDER BY id");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let rows: Vec<OutboxRow> = qb
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
        messages_with_invoices(&mut conn, rows).await
    }

    async fn list_attempts(&self, id: OutboxId) -> Result<Vec<Attempt>> {
        let rows: Vec<AttemptRow> = sqlx::query_as(
            "SELECT outbox_id, attempt, at, worker, outcome::text AS outcome FROM attempts \
             WHERE outbox_id = $1 \
             ORDER BY attempt",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        convert(rows)
    }

    async fn outbox_counts(&self) -> Result<Vec<(OutboxStatus, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.into_iter()
            .map(|(s, n)| Ok((outbox_status(&s)?, u64::try_from(n).unwrap_or(0))))
            .collect()
    }
}
