//! Summary tables (see `tagada_store::summary`). Owner ids travel as JSON
//! arrays read with `json_each`, one statement per read whatever the batch.

use async_trait::async_trait;
use tagada_core::metrics::{SummaryQuery, SummaryRow};
use tagada_core::{InvoiceId, OutboxId};
use tagada_store::{
    Result, SummaryChange, SummaryInputRows, SummaryInputs, SummaryMark, SummaryMeta, SummaryOwner,
    SummaryStore,
};

use crate::SqliteStore;
use crate::conv::{corrupt, db};

fn ids_json(ids: impl Iterator<Item = i64>) -> String {
    let ids: Vec<i64> = ids.collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl SummaryStore for SqliteStore {
    async fn summary_meta(&self) -> Result<Option<SummaryMeta>> {
        let mut tx = self.read().await?;
        let meta: Option<(String, i32, i64)> =
            sqlx::query_as("SELECT zone, format, version FROM summary_meta WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM summary_dirty")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        Ok(meta.map(|(zone, format, version)| SummaryMeta {
            zone,
            format,
            version,
            pending: u64::try_from(pending).unwrap_or(0),
        }))
    }

    async fn summary_reset(&self, zone: &str, format: i32) -> Result<()> {
        let mut tx = self.write().await?;
        for sql in [
            "DELETE FROM summary_sums",
            "DELETE FROM summary_bases",
            "DELETE FROM summary_dirty",
            "INSERT INTO summary_dirty (kind, id, mark) SELECT 0, id, 0 FROM invoices",
            "INSERT INTO summary_dirty (kind, id, mark) SELECT 1, id, 0 FROM outbox",
        ] {
            sqlx::query(sql).execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO summary_meta (id, zone, format, version) VALUES (1, ?1, ?2, 1) \
             ON CONFLICT (id) DO UPDATE SET zone = excluded.zone, format = excluded.format, \
             version = summary_meta.version + 1",
        )
        .bind(zone)
        .bind(format)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn summary_pending(&self, limit: u32) -> Result<Vec<SummaryMark>> {
        let rows: Vec<(i16, i64, i64)> =
            sqlx::query_as("SELECT kind, id, mark FROM summary_dirty ORDER BY kind, id LIMIT ?1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.into_iter()
            .map(|(kind, id, mark)| {
                SummaryOwner::from_parts(kind, id)
                    .map(|owner| SummaryMark { owner, mark })
                    .ok_or_else(|| corrupt("summary_dirty", format!("kind {kind}")))
            })
            .collect()
    }

    async fn summary_inputs(
        &self,
        invoices: &[InvoiceId],
        messages: &[OutboxId],
    ) -> Result<SummaryInputs> {
        let mut tx = self.read().await?;
        let mut rows = SummaryInputRows::default();
        if !invoices.is_empty() {
            let ids = ids_json(invoices.iter().map(|i| i.get()));
            rows.invoices = sqlx::query_as(
                "SELECT i.id, i.buyer_id, i.number, i.amount_minor, i.currency, i.invoice_date, \
                 i.due_date, i.status, i.paid_at, b.sales_rep \
                 FROM invoices i JOIN buyers b ON b.id = i.buyer_id \
                 WHERE i.id IN (SELECT value FROM json_each(?1)) ORDER BY i.id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows.payments = sqlx::query_as(
                "SELECT invoice_id, received_at, amount_minor, currency FROM payments \
                 WHERE invoice_id IN (SELECT value FROM json_each(?1)) \
                 ORDER BY invoice_id, received_at, id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows.first_reminders = sqlx::query_as(
                "SELECT oi.invoice_id, min(o.sent_at) FROM outbox_invoices oi \
                 JOIN outbox o ON o.id = oi.outbox_id \
                 WHERE oi.invoice_id IN (SELECT value FROM json_each(?1)) \
                   AND o.sent_at IS NOT NULL AND o.status <> 'cancelled' \
                   AND EXISTS (SELECT 1 FROM reminders r \
                               WHERE r.outbox_id = o.id AND r.status <> 'cancelled') \
                 GROUP BY oi.invoice_id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        }
        if !messages.is_empty() {
            let ids = ids_json(messages.iter().map(|m| m.get()));
            rows.messages = sqlx::query_as(
                "SELECT o.id, o.buyer_id, o.status, o.delivery, \
                 json_extract(o.message, '$.template_key'), o.send_at, o.sent_at, b.sales_rep, \
                 EXISTS (SELECT 1 FROM reminders r WHERE r.outbox_id = o.id AND r.status <> 'cancelled'), \
                 EXISTS (SELECT 1 FROM inbox x WHERE x.outbox_id = o.id) \
                 FROM outbox o JOIN buyers b ON b.id = o.buyer_id \
                 WHERE o.id IN (SELECT value FROM json_each(?1)) ORDER BY o.id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows.links = sqlx::query_as(
                "SELECT oi.outbox_id, oi.invoice_id, i.status, i.paid_at FROM outbox_invoices oi \
                 JOIN invoices i ON i.id = oi.invoice_id \
                 WHERE oi.outbox_id IN (SELECT value FROM json_each(?1)) \
                 ORDER BY oi.outbox_id, oi.invoice_id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        }
        rows.decode()
    }

    async fn summary_bases(&self, owners: &[SummaryOwner]) -> Result<Vec<(SummaryOwner, String)>> {
        let mut out = Vec::new();
        let mut tx = self.read().await?;
        for kind in [0i16, 1] {
            let ids = ids_json(
                owners
                    .iter()
                    .map(|o| o.parts())
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, id)| id),
            );
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, basis FROM summary_bases \
                 WHERE kind = ?1 AND id IN (SELECT value FROM json_each(?2)) ORDER BY id",
            )
            .bind(kind)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            for (id, basis) in rows {
                if let Some(owner) = SummaryOwner::from_parts(kind, id) {
                    out.push((owner, basis));
                }
            }
        }
        Ok(out)
    }

    async fn summary_apply(&self, changes: &[SummaryChange], rows: &[SummaryRow]) -> Result<bool> {
        // each part is one statement over a JSON array, whatever the batch
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        let mut deletes = Vec::new();
        let mut absent = Vec::new();
        let mut marks = Vec::new();
        for c in changes {
            let (kind, id) = c.owner.parts();
            marks.push(serde_json::json!([kind, id, c.mark]));
            match (&c.old, &c.new) {
                (None, None) => absent.push(serde_json::json!([kind, id])),
                (None, Some(new)) => inserts.push(serde_json::json!([kind, id, new])),
                (Some(old), Some(new)) => updates.push(serde_json::json!([kind, id, old, new])),
                (Some(old), None) => deletes.push(serde_json::json!([kind, id, old])),
            }
        }
        let json = |v: &Vec<serde_json::Value>| serde_json::Value::Array(v.clone()).to_string();
        let mut tx = self.write().await?;
        let mut moved = false;
        if !absent.is_empty() {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM summary_bases WHERE (kind, id) IN \
                 (SELECT value ->> 0, value ->> 1 FROM json_each(?1))",
            )
            .bind(json(&absent))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            moved |= n != 0;
        }
        if !moved && !inserts.is_empty() {
            let n = sqlx::query(
                "INSERT INTO summary_bases (kind, id, basis) \
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true \
                 ON CONFLICT (kind, id) DO NOTHING",
            )
            .bind(json(&inserts))
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            moved |= n != inserts.len() as u64;
        }
        if !moved && !updates.is_empty() {
            let n = sqlx::query(
                "UPDATE summary_bases SET basis = j.value ->> 3 FROM json_each(?1) AS j \
                 WHERE summary_bases.kind = j.value ->> 0 AND summary_bases.id = j.value ->> 1 \
                   AND summary_bases.basis = j.value ->> 2",
            )
            .bind(json(&updates))
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            moved |= n != updates.len() as u64;
        }
        if !moved && !deletes.is_empty() {
            let n = sqlx::query(
                "DELETE FROM summary_bases WHERE (kind, id, basis) IN \
                 (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))",
            )
            .bind(json(&deletes))
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            moved |= n != deletes.len() as u64;
        }
        if moved {
            tx.rollback().await.map_err(db)?;
            return Ok(false);
        }
        if !marks.is_empty() {
            sqlx::query(
                "DELETE FROM summary_dirty WHERE (kind, id, mark) IN \
                 (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))",
            )
            .bind(json(&marks))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        if !rows.is_empty() {
            let sums: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!([
                        r.kind.code(),
                        r.day,
                        r.rep,
                        r.currency,
                        r.k1,
                        r.k2,
                        r.values
                    ])
                })
                .collect();
            sqlx::query(
                "INSERT INTO summary_sums (kind, day, rep, currency, k1, k2, \
                 v0, v1, v2, v3, v4, v5, v6, v7, v8) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
                   value ->> '$[6][0]', value ->> '$[6][1]', value ->> '$[6][2]', \
                   value ->> '$[6][3]', value ->> '$[6][4]', value ->> '$[6][5]', \
                   value ->> '$[6][6]', value ->> '$[6][7]', value ->> '$[6][8]' \
                 FROM json_each(?1) WHERE true \
                 ON CONFLICT (kind, day, rep, currency, k1, k2) DO UPDATE SET \
                 v0 = v0 + excluded.v0, v1 = v1 + excluded.v1, v2 = v2 + excluded.v2, \
                 v3 = v3 + excluded.v3, v4 = v4 + excluded.v4, v5 = v5 + excluded.v5, \
                 v6 = v6 + excluded.v6, v7 = v7 + excluded.v7, v8 = v8 + excluded.v8",
            )
            .bind(json(&sums))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        if !rows.is_empty() || !changes.is_empty() {
            sqlx::query("UPDATE summary_meta SET version = version + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn summary_sums(&self, queries: &[SummaryQuery]) -> Result<Vec<Vec<SummaryRow>>> {
        let mut tx = self.read().await?;
        let mut out = Vec::with_capacity(queries.len());
        for q in queries {
            // by_day: one row per day; otherwise the day column is 0
            let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)> =
                sqlx::query_as(
                    "SELECT currency, k1, k2, CASE WHEN ?5 THEN day ELSE 0 END AS d, \
                     sum(v0), sum(v1), sum(v2), sum(v3), sum(v4), sum(v5), sum(v6), sum(v7), sum(v8) \
                     FROM summary_sums \
                     WHERE kind = ?1 AND day BETWEEN ?2 AND ?3 AND (?4 IS NULL OR rep = ?4) \
                     GROUP BY currency, k1, k2, d ORDER BY currency, k1, k2, d",
                )
                .bind(q.kind.code())
                .bind(q.from)
                .bind(q.to)
                .bind(q.rep.as_deref())
                .bind(q.by_day)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            out.push(
                rows.into_iter()
                    .map(|(currency, k1, k2, day, a, b, c, d, e, f, g, h, i)| {
                        q.answer(currency, k1, k2, day, [a, b, c, d, e, f, g, h, i])
                    })
                    .collect(),
            );
        }
        Ok(out)
    }
}
