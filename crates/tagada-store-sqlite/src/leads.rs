//! Leads: each one stored once and applied to the ledger in one `BEGIN
//! IMMEDIATE` transaction (the matching and merging rules are tagada-store's
//! [`merge_lead`] and friends); each source's budget and state in
//! `lead_sources`, booked with one conditional `UPDATE`.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tagada_core::ledger::NoteKind;
use tagada_core::{BuyerId, CountryCode};
use tagada_store::{
    BuyerContact, CallReservation, LeadFilter, LeadOutcome, LeadSourcePatch, LeadSourceState,
    LeadStore, MatchedBy, NewLead, NewNote, NewSyncRun, Result, StoredLead, SyncRun,
    lead_buyer_name, lead_notes, merge_lead, normalise,
};

use crate::SqliteStore;
use crate::conv::{corrupt, db, micros, normalize_name, opt_micros, opt_ts, phone, ts};
use crate::ledger::insert_note;

const SKIPPED: &str = "no name, number, e-mail or company";

type ContactRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

macro_rules! contact_cols {
    () => {
        "SELECT id, name, company, whatsapp, email, country FROM buyers WHERE "
    };
}

/// The buyer a lead belongs to, and how it was found.
async fn find_buyer(
    conn: &mut SqliteConnection,
    lead: &NewLead,
    company_norm: Option<&str>,
    city_norm: Option<&str>,
) -> Result<Option<(ContactRow, MatchedBy)>> {
    if let Some(p) = &lead.phone {
        let row: Option<ContactRow> =
            sqlx::query_as(concat!(contact_cols!(), "whatsapp = ? ORDER BY id LIMIT 1"))
                .bind(p.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        if let Some(r) = row {
            return Ok(Some((r, MatchedBy::Phone)));
        }
    }
    if let Some(e) = lead
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let row: Option<ContactRow> = sqlx::query_as(concat!(
            contact_cols!(),
            "email IS NOT NULL AND lower(email) = lower(?) ORDER BY id LIMIT 1"
        ))
        .bind(e)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(r) = row {
            return Ok(Some((r, MatchedBy::Email)));
        }
    }
    if let (Some(company), Some(city)) = (company_norm, city_norm) {
        let row: Option<ContactRow> = sqlx::query_as(concat!(
            contact_cols!(),
            "id = (SELECT min(buyer_id) FROM leads WHERE buyer_id IS NOT NULL \
             AND company_norm = ? AND city_norm = ?)"
        ))
        .bind(company)
        .bind(city)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(r) = row {
            return Ok(Some((r, MatchedBy::CompanyAndCity)));
        }
    }
    Ok(None)
}

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

fn non_blank(s: Option<&str>) -> Option<String> {
    s.map(normalise).filter(|s| !s.is_empty())
}

/// Stores one lead and applies it, in the caller's transaction.
async fn record_one(
    conn: &mut SqliteConnection,
    lead: &NewLead,
    now: Timestamp,
) -> Result<LeadOutcome> {
    if serde_json::from_str::<serde_json::Value>(&lead.raw).is_err() {
        return Err(tagada_store::StoreError::Invalid(format!(
            "{} lead {}: the raw payload is not JSON",
            lead.source, lead.external_id
        )));
    }
    let company_norm = non_blank(lead.company.as_deref());
    let city_norm = non_blank(lead.city.as_deref());
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO leads (source, external_id, received_at, outcome, company_norm, city_norm, \
         payload, created_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?) \
         ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
    )
    .bind(&lead.source)
    .bind(&lead.external_id)
    .bind(opt_micros(lead.received_at))
    .bind(&company_norm)
    .bind(&city_norm)
    .bind(&lead.raw)
    .bind(micros(now))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(lead_id) = id else {
        return Ok(LeadOutcome::Duplicate);
    };
    let at = lead.received_at.unwrap_or(now);
    let note = |buyer: BuyerId, kind: NoteKind, text: String| NewNote {
        buyer_id: buyer,
        invoice_id: None,
        at,
        kind,
        author: Some(lead.source.clone()),
        text,
    };
    let found = find_buyer(conn, lead, company_norm.as_deref(), city_norm.as_deref()).await?;
    let (outcome, buyer, label) = match found {
        Some((row, by)) => {
            let buyer = BuyerId::new(row.0);
            let merge = merge_lead(&contact(&row)?, lead);
            if merge.changes_anything() {
                sqlx::query(
                    "UPDATE buyers SET company = coalesce(company, ?), \
                     whatsapp = coalesce(whatsapp, ?), email = coalesce(email, ?), \
                     country = coalesce(country, ?), updated_at = ? WHERE id = ?",
                )
                .bind(&merge.company)
                .bind(merge.whatsapp.as_ref().map(|p| p.as_str().to_string()))
                .bind(&merge.email)
                .bind(merge.country.as_ref().map(|c| c.as_str().to_string()))
                .bind(micros(now))
                .bind(row.0)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            }
            for text in &merge.conflicts {
                insert_note(conn, &note(buyer, NoteKind::System, text.clone())).await?;
            }
            (
                LeadOutcome::Matched {
                    buyer,
                    by,
                    conflicts: merge.conflicts.len() as u32,
                },
                Some(buyer),
                format!("matched:{}", by.as_str()),
            )
        }
        None => match lead_buyer_name(lead) {
            None => (
                LeadOutcome::Skipped {
                    reason: SKIPPED.into(),
                },
                None,
                format!("skipped: {SKIPPED}"),
            ),
            Some(name) => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO buyers (name, name_norm, company, whatsapp, email, country, \
                     updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(&name)
                .bind(normalize_name(&name))
                .bind(&lead.company)
                .bind(lead.phone.as_ref().map(|p| p.as_str().to_string()))
                .bind(&lead.email)
                .bind(lead.country.as_ref().map(|c| c.as_str().to_string()))
                .bind(micros(now))
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
                let buyer = BuyerId::new(id);
                (
                    LeadOutcome::NewBuyer { buyer },
                    Some(buyer),
                    "new_buyer".to_string(),
                )
            }
        },
    };
    if let Some(buyer) = buyer {
        for text in lead_notes(lead) {
            insert_note(conn, &note(buyer, NoteKind::Note, text)).await?;
        }
    }
    sqlx::query("UPDATE leads SET buyer_id = ?, outcome = ? WHERE id = ?")
        .bind(buyer.map(BuyerId::get))
        .bind(label)
        .bind(lead_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(outcome)
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
            for lead in chunk {
                out.push(record_one(&mut tx, lead, now).await?);
            }
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
