//! Leads from the marketplaces, each source's sync state, and sync runs.
//!
//! Each lead is one transaction: the lead row is inserted first under its
//! `(source, external_id)` key (`ON CONFLICT DO NOTHING`: a known key is a
//! `Duplicate` and nothing else happens; two recorders of the same lead at
//! once: the second waits for the first, then finds the key taken). The
//! transaction then takes the buyers' advisory lock, which every buyer
//! insert takes (ids may be drawn from the sequence in bulk under it), so
//! matching and creating buyers never race an upsert or another lead. The
//! merge itself is [`merge_lead`], shared with the SQLite backend.
//!
//! A call reservation reads the source's row `FOR UPDATE` and books the
//! call in the same transaction: of several processes asking at once, the
//! first books it and the others, once it commits, see its call.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use tagada_core::BuyerId;
use tagada_core::ledger::NoteKind;
use tagada_store::{
    BuyerContact, CallReservation, LeadFilter, LeadOutcome, LeadSourcePatch, LeadSourceState,
    LeadStore, MatchedBy, NewLead, NewNote, NewSyncRun, Result, StoreError, StoredLead, SyncRun,
    lead_buyer_name, lead_notes, merge_lead, normalise,
};

use crate::conv::{corrupt, db, micros, normalize_name, opt_micros, opt_ts, ts};
use crate::ledger::{fetch_buyer_locked, insert_note};
use crate::{PostgresStore, lock, locks};

/// Why a lead gets no buyer.
const NOTHING_TO_KNOW_THEM_BY: &str = "no name, number, e-mail or company";

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

/// A normalised value, `None` when blank.
fn norm(v: Option<&str>) -> Option<String> {
    v.map(normalise).filter(|s| !s.is_empty())
}

/// The lowest-id buyer this lead belongs to, and how it was found.
async fn find_buyer(
    conn: &mut PgConnection,
    lead: &NewLead,
    company_norm: Option<&str>,
    city_norm: Option<&str>,
) -> Result<Option<(i64, MatchedBy)>> {
    if let Some(p) = &lead.phone {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM buyers WHERE whatsapp = $1 ORDER BY id LIMIT 1")
                .bind(p.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        if let Some(id) = id {
            return Ok(Some((id, MatchedBy::Phone)));
        }
    }
    if let Some(email) = &lead.email {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM buyers WHERE email IS NOT NULL AND lower(email) = lower($1) \
             ORDER BY id LIMIT 1",
        )
        .bind(email)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(id) = id {
            return Ok(Some((id, MatchedBy::Email)));
        }
    }
    if let (Some(company), Some(city)) = (company_norm, city_norm) {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT min(buyer_id) FROM leads \
             WHERE company_norm = $1 AND city_norm = $2 AND buyer_id IS NOT NULL",
        )
        .bind(company)
        .bind(city)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(id) = id {
            return Ok(Some((id, MatchedBy::CompanyAndCity)));
        }
    }
    Ok(None)
}

/// Leaves the lead's notes on its buyer: one system note per conflict, then
/// one note per thing the lead says.
async fn write_notes(
    conn: &mut PgConnection,
    buyer: BuyerId,
    lead: &NewLead,
    conflicts: &[String],
    now: Timestamp,
) -> Result<()> {
    let at = lead.received_at.unwrap_or(now);
    let system = conflicts.iter().map(|c| (NoteKind::System, c.clone()));
    let said = lead_notes(lead).into_iter().map(|n| (NoteKind::Note, n));
    for (kind, text) in system.chain(said) {
        insert_note(
            &mut *conn,
            &NewNote {
                buyer_id: buyer,
                invoice_id: None,
                at,
                kind,
                author: Some(lead.source.clone()),
                text,
            },
        )
        .await?;
    }
    Ok(())
}

/// Records one lead in its own transaction.
async fn record_one(tx: &mut PgConnection, lead: &NewLead, now: Timestamp) -> Result<LeadOutcome> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&lead.raw) {
        return Err(StoreError::Invalid(format!(
            "{}: the raw lead is not JSON: {e}",
            tagada_store::lead_label(lead)
        )));
    }
    let lead_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO leads (source, external_id, received_at, outcome, payload, created_at) \
         VALUES ($1, $2, $3, 'received', $4::jsonb, $5) \
         ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
    )
    .bind(&lead.source)
    .bind(&lead.external_id)
    .bind(opt_micros(lead.received_at))
    .bind(&lead.raw)
    .bind(micros(now))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(lead_id) = lead_id else {
        return Ok(LeadOutcome::Duplicate);
    };

    // Every buyer insert takes this lock (see `reserve_ids`), and holding it
    // keeps the match and the creation below one step.
    lock(&mut *tx, locks::BUYERS).await?;
    let company_norm = norm(lead.company.as_deref());
    let city_norm = norm(lead.city.as_deref());
    let found = find_buyer(
        &mut *tx,
        lead,
        company_norm.as_deref(),
        city_norm.as_deref(),
    )
    .await?;

    let (outcome, buyer_id, label) = match found {
        Some((id, by)) => {
            let buyer = fetch_buyer_locked(&mut *tx, id)
                .await?
                .ok_or_else(|| corrupt("leads", format!("buyer {id} vanished")))?;
            let contact = BuyerContact {
                name: buyer.name,
                company: buyer.company,
                whatsapp: buyer.whatsapp,
                email: buyer.email,
                country: buyer.country,
            };
            let merge = merge_lead(&contact, lead);
            if merge.changes_anything() {
                let whatsapp = merge.whatsapp.as_ref().map(|p| p.as_str());
                sqlx::query(
                    "UPDATE buyers SET company = coalesce(company, $1), \
                     whatsapp = coalesce(whatsapp, $2), phone_raw = coalesce(phone_raw, $2), \
                     email = coalesce(email, $3), country = coalesce(country, $4), \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(&merge.company)
                .bind(whatsapp)
                .bind(&merge.email)
                .bind(merge.country.as_ref().map(|c| c.as_str()))
                .bind(micros(now))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            let buyer = BuyerId::new(id);
            write_notes(&mut *tx, buyer, lead, &merge.conflicts, now).await?;
            let conflicts = u32::try_from(merge.conflicts.len()).unwrap_or(u32::MAX);
            (
                LeadOutcome::Matched {
                    buyer,
                    by,
                    conflicts,
                },
                Some(id),
                format!("matched:{}", by.as_str()),
            )
        }
        None => match lead_buyer_name(lead)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
        {
            None => (
                LeadOutcome::Skipped {
                    reason: NOTHING_TO_KNOW_THEM_BY.into(),
                },
                None,
                format!("skipped: {NOTHING_TO_KNOW_THEM_BY}"),
            ),
            Some(name) => {
                // No time zone: the country's applies, as for imported
                // buyers without one. No consent: a lead is not consent.
                let whatsapp = lead.phone.as_ref().map(|p| p.as_str());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO buyers (name, name_norm, company, whatsapp, phone_raw, email, \
                     country, updated_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&name)
                .bind(normalize_name(&name))
                .bind(&lead.company)
                .bind(whatsapp)
                .bind(&lead.email)
                .bind(lead.country.as_ref().map(|c| c.as_str()))
                .bind(micros(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                let buyer = BuyerId::new(id);
                write_notes(&mut *tx, buyer, lead, &[], now).await?;
                (
                    LeadOutcome::NewBuyer { buyer },
                    Some(id),
                    "new_buyer".to_string(),
                )
            }
        },
    };

    sqlx::query(
        "UPDATE leads SET buyer_id = $1, outcome = $2, company_norm = $3, city_norm = $4 \
         WHERE id = $5",
    )
    .bind(buyer_id)
    .bind(&label)
    .bind(&company_norm)
    .bind(&city_norm)
    .bind(lead_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    Ok(outcome)
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
            for lead in chunk {
                out.push(record_one(&mut tx, lead, now).await?);
            }
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
