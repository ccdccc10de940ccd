//! Ledger-table sync state (see `tagada_store::ledger_sync`). Rows are
//! saved and facts read a chunk at a time through `json_each`, so a
//! 50,000-row table is a few dozen statements, not 50,000.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::FromRow;
use tagada_core::{BuyerId, InvoiceId};
use tagada_store::{
    LedgerRowState, LedgerRun, LedgerSyncStore, Result, StoredLedgerRun, SyncFacts,
};

use crate::SqliteStore;
use crate::conv::{corrupt, db, micros, opt_micros, opt_ts, ts};

/// Rows per statement when saving and invoices per fact query.
const CHUNK: usize = 2000;

#[derive(Debug, FromRow)]
struct RowStateRow {
    row_key: String,
    invoice_id: Option<i64>,
    number: String,
    locator: String,
    sheet_hash: String,
    owned: String,
    deleted_at: Option<i64>,
}

impl TryFrom<RowStateRow> for LedgerRowState {
    type Error = tagada_store::StoreError;
    fn try_from(r: RowStateRow) -> Result<LedgerRowState> {
        const T: &str = "ledger_rows";
        Ok(LedgerRowState {
            row_key: r.row_key,
            invoice_id: r.invoice_id.map(InvoiceId::new),
            number: r.number,
            locator: r.locator,
            sheet_hash: r.sheet_hash,
            owned: serde_json::from_str(&r.owned).map_err(|e| corrupt(T, e))?,
            deleted_at: opt_ts(T, r.deleted_at)?,
        })
    }
}

#[derive(Debug, FromRow)]
struct RunRow {
    id: i64,
    source: String,
    started_at: i64,
    finished_at: i64,
    dry_run: bool,
    outcome: String,
    rows_read: i64,
    rows_rejected: i64,
    invoices_created: i64,
    invoices_updated: i64,
    rows_deleted: i64,
    rows_written: i64,
    rows_appended: i64,
    conflicts: i64,
    requests: i64,
    error: Option<String>,
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl TryFrom<RunRow> for StoredLedgerRun {
    type Error = tagada_store::StoreError;
    fn try_from(r: RunRow) -> Result<StoredLedgerRun> {
        const T: &str = "ledger_runs";
        Ok(StoredLedgerRun {
            id: r.id,
            run: LedgerRun {
                source: r.source,
                started_at: ts(T, r.started_at)?,
                finished_at: ts(T, r.finished_at)?,
                dry_run: r.dry_run,
                outcome: r.outcome,
                rows_read: count(r.rows_read),
                rows_rejected: count(r.rows_rejected),
                invoices_created: count(r.invoices_created),
                invoices_updated: count(r.invoices_updated),
                rows_deleted: count(r.rows_deleted),
                rows_written: count(r.rows_written),
                rows_appended: count(r.rows_appended),
                conflicts: count(r.conflicts),
                requests: count(r.requests),
                error: r.error,
            },
        })
    }
}

macro_rules! run_cols {
    () => {
        "id, source, started_at, finished_at, dry_run, outcome, rows_read, rows_rejected, \
         invoices_created, invoices_updated, rows_deleted, rows_written, rows_appended, \
         conflicts, requests, error"
    };
}

#[derive(Debug, FromRow)]
struct SentRow {
    invoice_id: i64,
    at: i64,
    step_name: Option<String>,
    delivery: Option<String>,
}

#[derive(Debug, FromRow)]
struct NextRow {
    invoice_id: i64,
    at: i64,
}

#[derive(Debug, FromRow)]
struct ReplyRow {
    buyer_id: i64,
    at: i64,
    text: Option<String>,
    payload: Option<String>,
}

#[async_trait]
impl LedgerSyncStore for SqliteStore {
    async fn ledger_rows(&self, source: &str) -> Result<Vec<LedgerRowState>> {
        let rows: Vec<RowStateRow> = sqlx::query_as(
            "SELECT row_key, invoice_id, number, locator, sheet_hash, owned, deleted_at \
             FROM ledger_rows WHERE source = ? ORDER BY row_key",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(LedgerRowState::try_from).collect()
    }

    async fn save_ledger_rows(
        &self,
        source: &str,
        rows: &[LedgerRowState],
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for chunk in rows.chunks(CHUNK) {
            let items: Vec<serde_json::Value> = chunk
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "k": r.row_key,
                        "i": r.invoice_id.map(InvoiceId::get),
                        "n": r.number,
                        "l": r.locator,
                        "h": r.sheet_hash,
                        "o": serde_json::to_string(&r.owned).unwrap_or_else(|_| "{}".into()),
                        "d": opt_micros(r.deleted_at),
                    })
                })
                .collect();
            sqlx::query(
                "INSERT INTO ledger_rows \
                 (source, row_key, invoice_id, number, locator, sheet_hash, owned, deleted_at, updated_at) \
                 SELECT ?1, value ->> '$.k', value ->> '$.i', value ->> '$.n', value ->> '$.l', \
                        value ->> '$.h', value ->> '$.o', value ->> '$.d', ?3 \
                 FROM json_each(?2) WHERE true \
                 ON CONFLICT (source, row_key) DO UPDATE SET \
                   invoice_id = excluded.invoice_id, number = excluded.number, \
                   locator = excluded.locator, sheet_hash = excluded.sheet_hash, \
                   owned = excluded.owned, deleted_at = excluded.deleted_at, \
                   updated_at = excluded.updated_at",
            )
            .bind(source)
            .bind(serde_json::Value::Array(items).to_string())
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn record_ledger_run(&self, run: &LedgerRun) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ledger_runs (source, started_at, finished_at, dry_run, outcome, \
             rows_read, rows_rejected, invoices_created, invoices_updated, rows_deleted, \
             rows_written, rows_appended, conflicts, requests, error) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&run.source)
        .bind(micros(run.started_at))
        .bind(micros(run.finished_at))
        .bind(run.dry_run)
        .bind(&run.outcome)
        .bind(i64::from(run.rows_read))
        .bind(i64::from(run.rows_rejected))
        .bind(i64::from(run.invoices_created))
        .bind(i64::from(run.invoices_updated))
        .bind(i64::from(run.rows_deleted))
        .bind(i64::from(run.rows_written))
        .bind(i64::from(run.rows_appended))
        .bind(i64::from(run.conflicts))
        .bind(i64::from(run.requests))
        .bind(&run.error)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(id)
    }

    async fn list_ledger_runs(
        &self,
        source: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredLedgerRun>> {
        let rows: Vec<RunRow> = sqlx::query_as(concat!(
            "SELECT ",
            run_cols!(),
            " FROM ledger_runs WHERE (?1 IS NULL OR source = ?1) ORDER BY id DESC LIMIT ?2"
        ))
        .bind(source)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(StoredLedgerRun::try_from).collect()
    }

    async fn sync_facts(&self, invoices: &[(InvoiceId, BuyerId)]) -> Result<Vec<SyncFacts>> {
        let mut facts: HashMap<i64, SyncFacts> = invoices
            .iter()
            .map(|(i, _)| (i.get(), SyncFacts::new(*i)))
            .collect();
        let mut replies: HashMap<i64, (Timestamp, Option<String>)> = HashMap::new();
        const T: &str = "outbox";
        for chunk in invoices.chunks(CHUNK) {
            let ids =
                serde_json::Value::from(chunk.iter().map(|(i, _)| i.get()).collect::<Vec<_>>())
                    .to_string();
            let sent: Vec<SentRow> = sqlx::query_as(
                "SELECT oi.invoice_id, o.sent_at AS at, r.step_name, o.delivery \
                 FROM outbox_invoices oi JOIN outbox o ON o.id = oi.outbox_id \
                 JOIN reminders r ON r.outbox_id = o.id AND r.invoice_id = oi.invoice_id \
                 WHERE oi.invoice_id IN (SELECT value FROM json_each(?)) \
                   AND o.status = 'sent' AND o.sent_at IS NOT NULL",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
            for s in sent {
                let at = ts(T, s.at)?;
                if let Some(f) = facts.get_mut(&s.invoice_id)
                    && f.last_sent_at.is_none_or(|prev| at >= prev)
                {
                    f.last_sent_at = Some(at);
                    f.last_step = s.step_name;
                    f.last_delivery = s.delivery.or_else(|| Some("sent".into()));
                }
            }
            let next: Vec<NextRow> = sqlx::query_as(
                "SELECT oi.invoice_id, min(o.not_before) AS at \
                 FROM outbox_invoices oi JOIN outbox o ON o.id = oi.outbox_id \
                 JOIN reminders r ON r.outbox_id = o.id AND r.invoice_id = oi.invoice_id \
                 WHERE oi.invoice_id IN (SELECT value FROM json_each(?)) \
                   AND o.status IN ('pending', 'in_flight') \
                 GROUP BY oi.invoice_id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
            for n in next {
                if let Some(f) = facts.get_mut(&n.invoice_id) {
                    f.next_at = Some(ts(T, n.at)?);
                }
            }
            let buyers = serde_json::Value::from(
                chunk
                    .iter()
                    .map(|(_, b)| b.get())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>(),
            )
            .to_string();
            let last: Vec<ReplyRow> = sqlx::query_as(
                "SELECT i.buyer_id, i.sent_at AS at, i.text, i.payload FROM inbox i \
                 JOIN (SELECT buyer_id, max(id) AS id FROM inbox \
                       WHERE buyer_id IN (SELECT value FROM json_each(?)) GROUP BY buyer_id) m \
                   ON m.id = i.id",
            )
            .bind(&buyers)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
            for r in last {
                replies.insert(r.buyer_id, (ts("inbox", r.at)?, r.text.or(r.payload)));
            }
        }
        Ok(invoices
            .iter()
            .filter_map(|(i, b)| {
                let mut f = facts.remove(&i.get())?;
                if let Some((at, text)) = replies.get(&b.get()) {
                    f.last_reply_at = Some(*at);
                    f.last_reply.clone_from(text);
                }
                Some(f)
            })
            .collect())
    }
}
