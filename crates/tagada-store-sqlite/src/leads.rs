//! Leads: stored in batches, each one `BEGIN IMMEDIATE` transaction with
//! what it does to the ledger, planned in memory by tagada-store's
//! [`plan_lead_batch`] (shared with the PostgreSQL backend); each source's
//! budget and state in `lead_sources`, booked with one conditional
//! `UPDATE`.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tagada_core::{BuyerId, CountryCode};
use tagada_store::{
    BuyerContact, BuyerRef, CallReservation, CandidateKeys, LeadCandidates, LeadFilter,
    LeadOutcome, LeadSourcePatch, LeadSourceState, LeadStore, NewLead, NewSyncRun, Result,
    StoredLead, SyncRun, norm_opt, plan_lead_batch,
};

use crate::SqliteStore;
use crate::conv::{corrupt, db, micros, normalize_name, opt_micros, opt_ts, phone, ts};
use crate::ledger::fetch_in;

type ContactRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const CONTACT_COLS: &str = "SELECT id, name, company, whatsapp, email, country FROM buyers WHERE";

fn contact(row: &ContactRow) -> Result<BuyerContact> {
    Ok(BuyerContact {
        name: row.1.clone(),
        company: row.2.clone(),
        whatsapp: row.3.clone().map(|p| phone("buyers", p)).transpose()?,
        email: row.4.clone(),
        country: row
            .5
            .as_deref()
            .map(|c| CountryCode::parse(c).map_err(|e| corrupt("buyers", e)))
            .transpose()?,
    })
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Rows per multi-row statement (at most 8 values each).
const ROWS: usize = 400;

/// Stores a batch of leads and applies the new ones, in the caller's
/// transaction: the leads inserted in a few statements (a known one is a
/// duplicate), the buyers they may match read in three, the batch planned
/// in memory ([`plan_lead_batch`]), then its new buyers, fills, notes and
/// the leads' outcomes written.
async fn record_batch(
    conn: &mut SqliteConnection,
    leads: &[NewLead],
    now: Timestamp,
) -> Result<Vec<LeadOutcome>> {
    for lead in leads {
        if serde_json::from_str::<serde_json::Value>(&lead.raw).is_err() {
            return Err(tagada_store::StoreError::Invalid(format!(
                "{} lead {}: the raw payload is not JSON",
                lead.source, lead.external_id
            )));
        }
    }
    let mut inserted: HashMap<(String, String), i64> = HashMap::new();
    for chunk in leads.chunks(ROWS) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO leads (source, external_id, received_at, outcome, company_norm, \
             city_norm, payload, created_at) ",
        );
        qb.push_values(chunk, |mut row, lead| {
            row.push_bind(lead.source.clone())
                .push_bind(lead.external_id.clone())
                .push_bind(opt_micros(lead.received_at))
                .push_bind("pending")
                .push_bind(norm_opt(lead.company.as_deref()))
                .push_bind(norm_opt(lead.city.as_deref()))
                .push_bind(lead.raw.clone())
                .push_bind(micros(now));
        });
        qb.push(" ON CONFLICT (source, external_id) DO NOTHING RETURNING source, external_id, id");
        let rows: Vec<(String, String, i64)> = qb
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
        inserted.extend(rows.into_iter().map(|(s, e, id)| ((s, e), id)));
    }
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

    // The stored buyers the new leads may match.
    let keys = CandidateKeys::of(leads, &fresh);
    let by_phone: Vec<ContactRow> = fetch_in(
        &mut *conn,
        CONTACT_COLS,
        "whatsapp",
        &refs(&keys.phones),
        "",
    )
    .await?;
    let by_email: Vec<ContactRow> = fetch_in(
        &mut *conn,
        "SELECT id, name, company, whatsapp, email, country FROM buyers \
         WHERE email IS NOT NULL AND",
        "lower(email)",
        &refs(&keys.emails),
        "",
    )
    .await?;
    let by_company: Vec<(String, String, i64)> = fetch_in(
        &mut *conn,
        "SELECT company_norm, city_norm, min(buyer_id) FROM leads \
         WHERE buyer_id IS NOT NULL AND city_norm IS NOT NULL AND",
        "company_norm",
        &refs(&keys.companies),
        "GROUP BY company_norm, city_norm",
    )
    .await?;
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
    let rows: Vec<ContactRow> = fetch_in(&mut *conn, CONTACT_COLS, "id", &missing, "").await?;
    for row in &rows {
        candidates.add_contact(BuyerId::new(row.0), contact(row)?);
    }

    let plan = plan_lead_batch(leads, &fresh, &candidates, now);

    // New buyers, with the next ids (the write transaction holds the only
    // writer).
    let mut new_ids = Vec::with_capacity(plan.new_buyers.len());
    if !plan.new_buyers.is_empty() {
        let max: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM buyers")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        new_ids.extend((1..=plan.new_buyers.len() as i64).map(|k| BuyerId::new(max + k)));
        let numbered: Vec<_> = new_ids.iter().zip(&plan.new_buyers).collect();
        for chunk in numbered.chunks(ROWS) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO buyers (id, name, name_norm, company, whatsapp, phone_raw, email, \
                 country, updated_at) ",
            );
            qb.push_values(chunk, |mut row, (id, b)| {
                row.push_bind(id.get())
                    .push_bind(b.name.trim().to_string())
                    .push_bind(normalize_name(&b.name))
                    .push_bind(b.company.clone())
                    .push_bind(b.whatsapp.as_ref().map(|p| p.as_str().to_string()))
                    .push_bind(b.whatsapp.as_ref().map(|p| p.as_str().to_string()))
                    .push_bind(b.email.clone())
                    .push_bind(b.country.as_ref().map(|c| c.as_str().to_string()))
                    .push_bind(micros(now));
            });
            qb.build().execute(&mut *conn).await.map_err(db)?;
        }
    }
    let id_of = |b: BuyerRef| match b {
        BuyerRef::Stored(id) => id,
        BuyerRef::New(k) => new_ids[k],
    };
    for (id, f) in &plan.fills {
        sqlx::query(
            "UPDATE buyers SET company = coalesce(company, ?1), whatsapp = coalesce(whatsapp, ?2), \
             phone_raw = coalesce(phone_raw, ?2), email = coalesce(email, ?3), \
             country = coalesce(country, ?4), updated_at = ?5 WHERE id = ?6",
        )
        .bind(&f.company)
        .bind(f.whatsapp.as_ref().map(|p| p.as_str().to_string()))
        .bind(&f.email)
        .bind(f.country.as_ref().map(|c| c.as_str().to_string()))
        .bind(micros(now))
        .bind(id.get())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    for chunk in plan.notes.chunks(ROWS) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO notes (buyer_id, at, kind, author, text) ");
        qb.push_values(chunk, |mut row, n| {
            row.push_bind(id_of(n.buyer).get())
                .push_bind(micros(n.at))
                .push_bind(n.kind.as_str())
                .push_bind(n.author.clone())
                .push_bind(n.text.clone());
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    let outcomes: Vec<_> = plan
        .leads
        .iter()
        .zip(&lead_ids)
        .map(|(l, lead_id)| (*lead_id, l.buyer.map(|b| id_of(b).get()), l.label.clone()))
        .collect();
    for chunk in outcomes.chunks(ROWS) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("WITH v (id, buyer_id, outcome) AS (");
        qb.push_values(chunk, |mut row, (id, buyer, label)| {
            row.push_bind(*id)
                .push_bind(*buyer)
                .push_bind(label.clone());
        });
        qb.push(
            ") UPDATE leads SET buyer_id = v.buyer_id, outcome = v.outcome FROM v \
             WHERE leads.id = v.id",
        );
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(plan.outcomes(leads.len(), &new_ids))
}

type SourceRow = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

fn source_state(row: SourceRow) -> Result<LeadSourceState> {
    let t = "lead_sources";
    Ok(LeadSourceState {
        source: row.0,
        cursor: opt_ts(t, row.1)?,
        last_call_at: opt_ts(t, row.2)?,
        blocked_until: opt_ts(t, row.3)?,
        stopped_at: opt_ts(t, row.4)?,
        stopped_reason: row.5,
    })
}

async fn read_source(conn: &mut SqliteConnection, source: &str) -> Result<LeadSourceState> {
    let row: Option<SourceRow> = sqlx::query_as(
        "SELECT source, cursor, last_call_at, blocked_until, stopped_at, stopped_reason \
         FROM lead_sources WHERE source = ?",
    )
    .bind(source)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    match row {
        Some(r) => source_state(r),
        None => Ok(LeadSourceState {
            source: source.to_string(),
            ..Default::default()
        }),
    }
}

type RunRow = (
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
);

#[async_trait]
impl LeadStore for SqliteStore {
    async fn record_leads(&self, leads: &[NewLead], now: Timestamp) -> Result<Vec<LeadOutcome>> {
        let mut out = Vec::with_capacity(leads.len());
        for chunk in leads.chunks(tagada_store::LEADS_PER_TRANSACTION) {
            let mut tx = self.write().await?;
            out.extend(record_batch(&mut tx, chunk, now).await?);
            tx.commit().await.map_err(db)?;
        }
        Ok(out)
    }

    async fn list_leads(&self, filter: &LeadFilter) -> Result<Vec<StoredLead>> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, source, external_id, received_at, buyer_id, outcome, created_at, payload \
             FROM leads WHERE 1 = 1",
        );
        if let Some(s) = &filter.source {
            qb.push(" AND source = ").push_bind(s.clone());
        }
        if let Some(id) = &filter.external_id {
            qb.push(" AND external_id = ").push_bind(id.clone());
        }
        if let Some(b) = filter.buyer {
            qb.push(" AND buyer_id = ").push_bind(b.get());
        }
        qb.push(" ORDER BY id DESC");
        if let Some(l) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(l));
        }
        let rows: Vec<(
            i64,
            String,
            String,
            Option<i64>,
            Option<i64>,
            String,
            i64,
            String,
        )> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(
                |(id, source, external_id, received_at, buyer_id, outcome, created_at, raw)| {
                    Ok(StoredLead {
                        id,
                        source,
                        external_id,
                        received_at: opt_ts("leads", received_at)?,
                        buyer_id: buyer_id.map(BuyerId::new),
                        outcome,
                        created_at: ts("leads", created_at)?,
                        raw,
                    })
                },
            )
            .collect()
    }

    async fn lead_source(&self, source: &str) -> Result<LeadSourceState> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        read_source(&mut conn, source).await
    }

    async fn reserve_call(
        &self,
        source: &str,
        now: Timestamp,
        min_interval: SignedDuration,
    ) -> Result<CallReservation> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO lead_sources (source) VALUES (?) ON CONFLICT DO NOTHING")
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let interval = min_interval.as_micros() as i64;
        let booked = sqlx::query(
            "UPDATE lead_sources SET last_call_at = ?1, updated_at = ?1 WHERE source = ?2 \
             AND stopped_at IS NULL AND (blocked_until IS NULL OR blocked_until <= ?1) \
             AND (last_call_at IS NULL OR last_call_at <= ?1 - ?3)",
        )
        .bind(micros(now))
        .bind(source)
        .bind(interval)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        let answer = if booked == 1 {
            CallReservation::Granted
        } else {
            let s = read_source(&mut tx, source).await?;
            match s.stopped_reason {
                Some(reason) if s.stopped_at.is_some() => CallReservation::Stopped { reason },
                _ if s.stopped_at.is_some() => CallReservation::Stopped {
                    reason: "stopped".into(),
                },
                _ => {
                    let next_call = s
                        .last_call_at
                        .and_then(|t| t.checked_add(min_interval).ok());
                    let until = [next_call, s.blocked_until]
                        .into_iter()
                        .flatten()
                        .max()
                        .unwrap_or(now);
                    CallReservation::WaitUntil { until }
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
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO lead_sources (source) VALUES (?) ON CONFLICT DO NOTHING")
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (stop_set, stopped_at, reason) = match &patch.stopped {
            None => (false, None, None),
            Some(Some(r)) => (true, Some(micros(now)), Some(r.clone())),
            Some(None) => (true, None, None),
        };
        sqlx::query(
            "UPDATE lead_sources SET cursor = coalesce(?, cursor), \
             blocked_until = CASE WHEN ? THEN ? ELSE blocked_until END, \
             stopped_at = CASE WHEN ? THEN ? ELSE stopped_at END, \
             stopped_reason = CASE WHEN ? THEN ? ELSE stopped_reason END, \
             updated_at = ? WHERE source = ?",
        )
        .bind(opt_micros(patch.cursor))
        .bind(patch.blocked_until.is_some())
        .bind(patch.blocked_until.flatten().map(micros))
        .bind(stop_set)
        .bind(stopped_at)
        .bind(stop_set)
        .bind(reason)
        .bind(micros(now))
        .bind(source)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let state = read_source(&mut tx, source).await?;
        tx.commit().await.map_err(db)?;
        Ok(state)
    }

    async fn record_sync_run(&self, run: &NewSyncRun) -> Result<i64> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_runs (source, started_at, finished_at, window_start, window_end, \
             outcome, calls, leads_new, leads_duplicate, buyers_new, buyers_matched, skipped, \
             error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }

    async fn list_sync_runs(&self, source: Option<&str>, limit: u32) -> Result<Vec<SyncRun>> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT id, source, started_at, finished_at, window_start, window_end, outcome, \
             calls, leads_new, leads_duplicate, buyers_new, buyers_matched, skipped, error \
             FROM sync_runs",
        );
        if let Some(s) = source {
            qb.push(" WHERE source = ").push_bind(s.to_string());
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<RunRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let n = |v: i64| u32::try_from(v).map_err(|_| corrupt("sync_runs", format!("count {v}")));
        rows.into_iter()
            .map(|r| {
                Ok(SyncRun {
                    id: r.0,
                    run: NewSyncRun {
                        source: r.1,
                        started_at: ts("sync_runs", r.2)?,
                        finished_at: ts("sync_runs", r.3)?,
                        window_start: opt_ts("sync_runs", r.4)?,
                        window_end: opt_ts("sync_runs", r.5)?,
                        outcome: r.6,
                        calls: n(r.7)?,
                        leads_new: n(r.8)?,
                        leads_duplicate: n(r.9)?,
                        buyers_new: n(r.10)?,
                        buyers_matched: n(r.11)?,
                        skipped: n(r.12)?,
                        error: r.13,
                    },
                })
            })
            .collect()
    }
}
