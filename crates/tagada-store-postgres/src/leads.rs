//! Leads from the marketplaces, each source's sync state, and sync runs.
//!
//! Leads are stored in batches, one transaction each: the lead rows are
//! inserted first under their `(source, external_id)` key (`ON CONFLICT DO
//! NOTHING`: a known key is a `Duplicate` and nothing else happens; two
//! recorders of the same lead at once: the second waits for the first,
//! then finds the key taken). The transaction then takes the buyers'
//! advisory lock, which every buyer insert takes (ids are drawn from the
//! sequence in bulk under it), so matching and creating buyers never race
//! an upsert or another batch. What the batch does to the ledger is planned
//! in memory by [`plan_lead_batch`], shared with the SQLite backend.
//!
//! A call reservation reads the source's row `FOR UPDATE` and books the
//! call in the same transaction: of several processes asking at once, the
//! first books it and the others, once it commits, see its call.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use std::collections::HashMap;

use tagada_core::{BuyerId, CountryCode, Phone};
use tagada_store::{
    BuyerContact, BuyerRef, CallReservation, CandidateKeys, LeadCandidates, LeadFilter,
    LeadOutcome, LeadSourcePatch, LeadSourceState, LeadStore, NewLead, NewSyncRun, Result,
    StoreError, StoredLead, SyncRun, norm_opt, plan_lead_batch,
};

use crate::conv::{corrupt, db, micros, normalize_name, opt_micros, opt_ts, ts};
use crate::{PostgresStore, lock, locks, reserve_ids};

#[derive(Debug, FromRow)]
struct LeadRow {
    id: i64,
    source: String,
    external_id: String,
    received_at: Option<i64>,
    buyer_id: Option<i64>,
    outcome: String,
    created_at: i64,
    raw: String,
}

impl TryFrom<LeadRow> for StoredLead {
    type Error = StoreError;
    fn try_from(r: LeadRow) -> Result<StoredLead> {
        const T: &str = "leads";
        Ok(StoredLead {
            id: r.id,
            source: r.source,
            external_id: r.external_id,
            received_at: opt_ts(T, r.received_at)?,
            buyer_id: r.buyer_id.map(BuyerId::new),
            outcome: r.outcome,
            created_at: ts(T, r.created_at)?,
            raw: r.raw,
        })
    }
}

#[derive(Debug, FromRow)]
struct SourceRow {
    source: String,
    cursor: Option<i64>,
    last_call_at: Option<i64>,
    blocked_until: Option<i64>,
    stopped_at: Option<i64>,
    stopped_reason: Option<String>,
}

impl TryFrom<SourceRow> for LeadSourceState {
    type Error = StoreError;
    fn try_from(r: SourceRow) -> Result<LeadSourceState> {
        const T: &str = "lead_sources";
        Ok(LeadSourceState {
            source: r.source,
            cursor: opt_ts(T, r.cursor)?,
            last_call_at: opt_ts(T, r.last_call_at)?,
            blocked_until: opt_ts(T, r.blocked_until)?,
            stopped_at: opt_ts(T, r.stopped_at)?,
            stopped_reason: r.stopped_reason,
        })
    }
}

#[derive(Debug, FromRow)]
struct SyncRunRow {
    id: i64,
    source: String,
    started_at: i64,
    finished_at: i64,
    window_start: Option<i64>,
    window_end: Option<i64>,
    outcome: String,
    calls: i64,
    leads_new: i64,
    leads_duplicate: i64,
    buyers_new: i64,
    buyers_matched: i64,
    skipped: i64,
    error: Option<String>,
}

impl TryFrom<SyncRunRow> for SyncRun {
    type Error = StoreError;
    fn try_from(r: SyncRunRow) -> Result<SyncRun> {
        const T: &str = "sync_runs";
        let count =
            |what: &str, v: i64| u32::try_from(v).map_err(|_| corrupt(T, format!("{what} `{v}`")));
        Ok(SyncRun {
            id: r.id,
            run: NewSyncRun {
                source: r.source,
                started_at: ts(T, r.started_at)?,
                finished_at: ts(T, r.finished_at)?,
                window_start: opt_ts(T, r.window_start)?,
                window_end: opt_ts(T, r.window_end)?,
                outcome: r.outcome,
                calls: count("calls", r.calls)?,
                leads_new: count("leads_new", r.leads_new)?,
                leads_duplicate: count("leads_duplicate", r.leads_duplicate)?,
                buyers_new: count("buyers_new", r.buyers_new)?,
                buyers_matched: count("buyers_matched", r.buyers_matched)?,
                skipped: count("skipped", r.skipped)?,
                error: r.error,
            },
        })
    }
}

macro_rules! lead_cols {
    () => {
        "id, source, external_id, received_at, buyer_id, outcome, created_at, payload::text AS raw"
    };
}

macro_rules! source_cols {
    () => {
        "source, cursor, last_call_at, blocked_until, stopped_at, stopped_reason"
    };
}

macro_rules! sync_run_cols {
    () => {
        "id, source, started_at, finished_at, window_start, window_end, outcome, calls, \
         leads_new, leads_duplicate, buyers_new, buyers_matched, skipped, error"
    };
}

type ContactRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn contact(row: &ContactRow) -> Result<BuyerContact> {
    Ok(BuyerContact {
        name: row.1.clone(),
        company: row.2.clone(),
        whatsapp: row
            .3
            .clone()
            .map(|p| Phone::try_from(p).map_err(|e| corrupt("buyers", e)))
            .transpose()?,
        email: row.4.clone(),
        country: row
            .5
            .as_deref()
            .map(|c| CountryCode::parse(c).map_err(|e| corrupt("buyers", e)))
            .transpose()?,
    })
}

/// Stores a batch of leads and applies the new ones, in the caller's
/// transaction: the leads inserted in one statement (a known one is a
/// duplicate), then, under the buyers' lock, the buyers they may match read
/// in three, the batch planned in memory ([`plan_lead_batch`]), and its new
/// buyers, fills, notes and the leads' outcomes written, each set in one
/// statement.
async fn record_batch(
    conn: &mut PgConnection,
    leads: &[NewLead],
    now: Timestamp,
) -> Result<Vec<LeadOutcome>> {
    for lead in leads {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&lead.raw) {
            return Err(StoreError::Invalid(format!(
                "{}: the raw lead is not JSON: {e}",
                tagada_store::lead_label(lead)
            )));
        }
    }
    let inserted: Vec<(String, String, i64)> = sqlx::query_as(
        "INSERT INTO leads (source, external_id, received_at, outcome, company_norm, city_norm, \
         payload, created_at) \
         SELECT s, e, r, 'pending', c, t, p::jsonb, $7 \
         FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) \
         AS v(s, e, r, c, t, p) \
         ON CONFLICT (source, external_id) DO NOTHING RETURNING source, external_id, id",
    )
    .bind(leads.iter().map(|l| l.source.clone()).collect::<Vec<_>>())
    .bind(
        leads
            .iter()
            .map(|l| l.external_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        leads
            .iter()
            .map(|l| opt_micros(l.received_at))
            .collect::<Vec<_>>(),
    )
    .bind(
        leads
            .iter()
            .map(|l| norm_opt(l.company.as_deref()))
            .collect::<Vec<_>>(),
    )
    .bind(
        leads
            .iter()
            .map(|l| norm_opt(l.city.as_deref()))
            .collect::<Vec<_>>(),
    )
    .bind(leads.iter().map(|l| l.raw.clone()).collect::<Vec<_>>())
    .bind(micros(now))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut inserted: HashMap<(String, String), i64> = inserted
        .into_iter()
        .map(|(s, e, id)| ((s, e), id))
        .collect();
    let mut fresh = Vec::new();
    let mut lead_ids = Vec::new();
    for (i, lead) in leads.iter().enumerate() {
        if let Some(id) = inserted.remove(&(lead.source.clone(), lead.external_id.clone())) {
            fresh.push(i);
            lead_ids.push(id);
        }
    }
    if fresh.is_empty() {
        return Ok(vec![LeadOutcome::Duplicate; leads.len()]);
    }
    // Every buyer insert takes this lock (see `reserve_ids`), and holding it
    // keeps the matching and the creation below one step.
    lock(&mut *conn, locks::BUYERS).await?;

    let keys = CandidateKeys::of(leads, &fresh);
    let by_phone: Vec<ContactRow> = sqlx::query_as(
        "SELECT id, name, company, whatsapp, email, country FROM buyers WHERE whatsapp = ANY($1)",
    )
    .bind(&keys.phones)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let by_email: Vec<ContactRow> = sqlx::query_as(
        "SELECT id, name, company, whatsapp, email, country FROM buyers \
         WHERE email IS NOT NULL AND lower(email) = ANY($1)",
    )
    .bind(&keys.emails)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let by_company: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT company_norm, city_norm, min(buyer_id) FROM leads \
         WHERE buyer_id IS NOT NULL AND city_norm IS NOT NULL AND company_norm = ANY($1) \
         GROUP BY company_norm, city_norm",
    )
    .bind(&keys.companies)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut candidates = LeadCandidates::default();
    for row in by_phone.iter().chain(&by_email) {
        candidates.add_contact(BuyerId::new(row.0), contact(row)?);
    }
    let missing: Vec<i64> = candidates
        .add_company_city(
            &keys,
            by_company
                .into_iter()
                .map(|(c, t, id)| (c, t, BuyerId::new(id))),
        )
        .iter()
        .map(|id| id.get())
        .collect();
    if !missing.is_empty() {
        let rows: Vec<ContactRow> = sqlx::query_as(
            "SELECT id, name, company, whatsapp, email, country FROM buyers WHERE id = ANY($1)",
        )
        .bind(&missing)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        for row in &rows {
            candidates.add_contact(BuyerId::new(row.0), contact(row)?);
        }
    }

    let plan = plan_lead_batch(leads, &fresh, &candidates, now);

    let mut new_ids = Vec::with_capacity(plan.new_buyers.len());
    if !plan.new_buyers.is_empty() {
        let first = reserve_ids(&mut *conn, "buyers", plan.new_buyers.len()).await?;
        new_ids.extend((0..plan.new_buyers.len() as i64).map(|k| BuyerId::new(first + k)));
        let b = &plan.new_buyers;
        let phones: Vec<Option<String>> = b
            .iter()
            .map(|b| b.whatsapp.as_ref().map(|p| p.as_str().to_string()))
            .collect();
        sqlx::query(
            "INSERT INTO buyers (id, name, name_norm, company, whatsapp, phone_raw, email, \
             country, updated_at) \
             SELECT id, n, nn, c, w, w, e, k, $8 FROM UNNEST($1::bigint[], $2::text[], \
             $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) \
             AS v(id, n, nn, c, w, e, k)",
        )
        .bind(new_ids.iter().map(|i| i.get()).collect::<Vec<_>>())
        .bind(
            b.iter()
                .map(|b| b.name.trim().to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            b.iter()
                .map(|b| normalize_name(&b.name))
                .collect::<Vec<_>>(),
        )
        .bind(b.iter().map(|b| b.company.clone()).collect::<Vec<_>>())
        .bind(&phones)
        .bind(b.iter().map(|b| b.email.clone()).collect::<Vec<_>>())
        .bind(
            b.iter()
                .map(|b| b.country.as_ref().map(|c| c.as_str().to_string()))
                .collect::<Vec<_>>(),
        )
        .bind(micros(now))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let id_of = |b: BuyerRef| match b {
        BuyerRef::Stored(id) => id,
        BuyerRef::New(k) => new_ids[k],
    };
    for (id, f) in &plan.fills {
        let phone = f.whatsapp.as_ref().map(|p| p.as_str().to_string());
        sqlx::query(
            "UPDATE buyers SET company = coalesce(company, $1), whatsapp = coalesce(whatsapp, $2), \
             phone_raw = coalesce(phone_raw, $2), email = coalesce(email, $3), \
             country = coalesce(country, $4), updated_at = $5 WHERE id = $6",
        )
        .bind(&f.company)
        .bind(&phone)
        .bind(&f.email)
        .bind(f.country.as_ref().map(|c| c.as_str().to_string()))
        .bind(micros(now))
        .bind(id.get())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    if !plan.notes.is_empty() {
        let n = &plan.notes;
        sqlx::query(
            "INSERT INTO notes (buyer_id, at, kind, author, text) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])",
        )
        .bind(n.iter().map(|n| id_of(n.buyer).get()).collect::<Vec<_>>())
        .bind(n.iter().map(|n| micros(n.at)).collect::<Vec<_>>())
        .bind(n.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>())
        .bind(n.iter().map(|n| n.author.clone()).collect::<Vec<_>>())
        .bind(n.iter().map(|n| n.text.clone()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    sqlx::query(
        "UPDATE leads AS l SET buyer_id = v.b, outcome = v.o \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[]) AS v(id, b, o) WHERE l.id = v.id",
    )
    .bind(&lead_ids)
    .bind(
        plan.leads
            .iter()
            .map(|l| l.buyer.map(|b| id_of(b).get()))
            .collect::<Vec<_>>(),
    )
    .bind(
        plan.leads
            .iter()
            .map(|l| l.label.clone())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(plan.outcomes(leads.len(), &new_ids))
}

/// Creates the source's row if it has none, then reads it locked.
async fn source_locked(conn: &mut PgConnection, source: &str) -> Result<LeadSourceState> {
    sqlx::query("INSERT INTO lead_sources (source) VALUES ($1) ON CONFLICT (source) DO NOTHING")
        .bind(source)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let row: SourceRow = sqlx::query_as(concat!(
        "SELECT ",
        source_cols!(),
        " FROM lead_sources WHERE source = $1 FOR UPDATE"
    ))
    .bind(source)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    row.try_into()
}

#[async_trait]
impl LeadStore for PostgresStore {
    async fn record_leads(&self, leads: &[NewLead], now: Timestamp) -> Result<Vec<LeadOutcome>> {
        let mut out = Vec::with_capacity(leads.len());
        for chunk in leads.chunks(tagada_store::LEADS_PER_TRANSACTION) {
            let mut tx = self.begin().await?;
            out.extend(record_batch(&mut tx, chunk, now).await?);
            tx.commit().await.map_err(db)?;
        }
        Ok(out)
    }

    async fn list_leads(&self, filter: &LeadFilter) -> Result<Vec<StoredLead>> {
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new(concat!("SELECT ", lead_cols!(), " FROM leads WHERE 1 = 1"));
        if let Some(source) = &filter.source {
            qb.push(" AND source = ").push_bind(source.clone());
        }
        if let Some(id) = &filter.external_id {
            qb.push(" AND external_id = ").push_bind(id.clone());
        }
        if let Some(buyer) = filter.buyer {
            qb.push(" AND buyer_id = ").push_bind(buyer.get());
        }
        qb.push(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows: Vec<LeadRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(StoredLead::try_from).collect()
    }

    async fn lead_source(&self, source: &str) -> Result<LeadSourceState> {
        let row: Option<SourceRow> = sqlx::query_as(concat!(
            "SELECT ",
            source_cols!(),
            " FROM lead_sources WHERE source = $1"
        ))
        .bind(source)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            Some(row) => row.try_into(),
            None => Ok(LeadSourceState {
                source: source.to_string(),
                ..Default::default()
            }),
        }
    }

    async fn reserve_call(
        &self,
        source: &str,
        now: Timestamp,
        min_interval: SignedDuration,
    ) -> Result<CallReservation> {
        let mut tx = self.begin().await?;
        let state = source_locked(&mut tx, source).await?;
        let answer = if state.stopped_at.is_some() {
            CallReservation::Stopped {
                reason: state
                    .stopped_reason
                    .unwrap_or_else(|| "stopped".to_string()),
            }
        } else {
            let next_call = state
                .last_call_at
                .map(|last| last.saturating_add(min_interval.max(SignedDuration::ZERO)))
                .transpose()
                .map_err(|e| StoreError::Invalid(format!("call interval: {e}")))?;
            let until = match (state.blocked_until, next_call) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            match until {
                Some(until) if until > now => CallReservation::WaitUntil { until },
                _ => {
                    sqlx::query(
                        "UPDATE lead_sources SET last_call_at = $1, updated_at = $1 \
                         WHERE source = $2",
                    )
                    .bind(micros(now))
                    .bind(source)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                    CallReservation::Granted
                }
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(answer)
    }

    async fn update_lead_source(
        &self,
        source: &str,
        patch: &LeadSourcePatch,
        now: Timestamp,
    ) -> Result<LeadSourceState> {
        let mut tx = self.begin().await?;
        let mut state = source_locked(&mut tx, source).await?;
        if let Some(cursor) = patch.cursor {
            state.cursor = Some(cursor);
        }
        if let Some(blocked) = patch.blocked_until {
            state.blocked_until = blocked;
        }
        match &patch.stopped {
            Some(Some(reason)) => {
                state.stopped_at = Some(now);
                state.stopped_reason = Some(reason.clone());
            }
            Some(None) => {
                state.stopped_at = None;
                state.stopped_reason = None;
            }
            None => {}
        }
        sqlx::query(
            "UPDATE lead_sources SET cursor = $1, blocked_until = $2, stopped_at = $3, \
             stopped_reason = $4, updated_at = $5 WHERE source = $6",
        )
        .bind(opt_micros(state.cursor))
        .bind(opt_micros(state.blocked_until))
        .bind(opt_micros(state.stopped_at))
        .bind(&state.stopped_reason)
        .bind(micros(now))
        .bind(source)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(state)
    }

    async fn record_sync_run(&self, run: &NewSyncRun) -> Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO sync_runs (source, started_at, finished_at, window_start, window_end, \
             outcome, calls, leads_new, leads_duplicate, buyers_new, buyers_matched, skipped, \
             error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(&run.source)
        .bind(micros(run.started_at))
        .bind(micros(run.finished_at))
        .bind(opt_micros(run.window_start))
        .bind(opt_micros(run.window_end))
        .bind(&run.outcome)
        .bind(i64::from(run.calls))
        .bind(i64::from(run.leads_new))
        .bind(i64::from(run.leads_duplicate))
        .bind(i64::from(run.buyers_new))
        .bind(i64::from(run.buyers_matched))
        .bind(i64::from(run.skipped))
        .bind(&run.error)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn list_sync_runs(&self, source: Option<&str>, limit: u32) -> Result<Vec<SyncRun>> {
        let rows: Vec<SyncRunRow> = match source {
            Some(source) => sqlx::query_as(concat!(
                "SELECT ",
                sync_run_cols!(),
                " FROM sync_runs WHERE source = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(source)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?,
            None => sqlx::query_as(concat!(
                "SELECT ",
                sync_run_cols!(),
                " FROM sync_runs ORDER BY id DESC LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?,
        };
        rows.into_iter().map(SyncRun::try_from).collect()
    }
}
