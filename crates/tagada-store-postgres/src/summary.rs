//! Summary tables (see `tagada_store::summary`). Owner ids travel as
//! arrays (`= ANY($1)`), one statement per read whatever the batch.

use async_trait::async_trait;
use tagada_core::metrics::{SummaryQuery, SummaryRow};
use tagada_core::{InvoiceId, OutboxId};
use tagada_store::{
    Result, SummaryChange, SummaryInputRows, SummaryInputs, SummaryMark, SummaryMeta, SummaryOwner,
    SummaryStore,
};

use crate::PostgresStore;
use crate::conv::{corrupt, db};

fn id_list(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    ids.collect()
}

#[async_trait]
impl SummaryStore for PostgresStore {
    async fn summary_meta(&self) -> Result<Option<SummaryMeta>> {
        let mut tx = self.snapshot().await?;
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
        let mut tx = self.begin().await?;
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
            "INSERT INTO summary_meta (id, zone, format, version) VALUES (1, $1, $2, 1) \
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
            sqlx::query_as("SELECT kind, id, mark FROM summary_dirty ORDER BY kind, id LIMIT $1")
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
        let mut tx = self.snapshot().await?;
        let mut rows = SummaryInputRows::default();
        if !invoices.is_empty() {
            let ids = id_list(invoices.iter().map(|i| i.get()));
            rows.invoices = sqlx::query_as(
                "SELECT i.id, i.buyer_id, i.number, i.amount_minor, i.currency, i.invoice_date::text, \
                 i.due_date::text, i.status, i.paid_at, b.sales_rep \
                 FROM invoices i JOIN buyers b ON b.id = i.buyer_id \
                 WHERE i.id = ANY($1) ORDER BY i.id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows.payments = sqlx::query_as(
                "SELECT invoice_id, received_at, amount_minor, currency FROM payments \
                 WHERE invoice_id = ANY($1) \
                 ORDER BY invoice_id, received_at, id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows.first_reminders = sqlx::query_as(
                "SELECT oi.invoice_id, min(o.sent_at) FROM outbox_invoices oi \
                 JOIN outbox o ON o.id = oi.outbox_id \
                 WHERE oi.invoice_id = ANY($1) \
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
            let ids = id_list(messages.iter().map(|m| m.get()));
            rows.messages = sqlx::query_as(
                "SELECT o.id, o.buyer_id, o.status, o.delivery, \
                 o.message->>'template_key', o.send_at, o.sent_at, b.sales_rep, \
                 EXISTS (SELECT 1 FROM reminders r WHERE r.outbox_id = o.id AND r.status <> 'cancelled'), \
                 EXISTS (SELECT 1 FROM inbox x WHERE x.outbox_id = o.id) \
                 FROM outbox o JOIN buyers b ON b.id = o.buyer_id \
                 WHERE o.id = ANY($1) ORDER BY o.id",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows.links = sqlx::query_as(
                "SELECT oi.outbox_id, oi.invoice_id, i.status, i.paid_at FROM outbox_invoices oi \
                 JOIN invoices i ON i.id = oi.invoice_id \
                 WHERE oi.outbox_id = ANY($1) \
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
        let mut tx = self.snapshot().await?;
        for kind in [0i16, 1] {
            let ids = id_list(
                owners
                    .iter()
                    .map(|o| o.parts())
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, id)| id),
            );
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, basis FROM summary_bases \
                 WHERE kind = $1 AND id = ANY($2) ORDER BY id",
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
        // each part is one statement over arrays, whatever the batch
        let mut inserts: (Vec<i16>, Vec<i64>, Vec<String>) = Default::default();
        let mut updates: (Vec<i16>, Vec<i64>, Vec<String>, Vec<String>) = Default::default();
        let mut deletes: (Vec<i16>, Vec<i64>, Vec<String>) = Default::default();
        let mut absent: (Vec<i16>, Vec<i64>) = Default::default();
        let mut marks: (Vec<i16>, Vec<i64>, Vec<i64>) = Default::default();
        for c in changes {
            let (kind, id) = c.owner.parts();
            marks.0.push(kind);
            marks.1.push(id);
            marks.2.push(c.mark);
            match (&c.old, &c.new) {
                (None, None) => {
                    absent.0.push(kind);
                    absent.1.push(id);
                }
                (None, Some(new)) => {
                    inserts.0.push(kind);
                    inserts.1.push(id);
                    inserts.2.push(new.clone());
                }
                (Some(old), Some(new)) => {
                    updates.0.push(kind);
                    updates.1.push(id);
                    updates.2.push(old.clone());
                    updates.3.push(new.clone());
                }
                (Some(old), None) => {
                    deletes.0.push(kind);
                    deletes.1.push(id);
                    deletes.2.push(old.clone());
                }
            }
        }
        let mut tx = self.begin().await?;
        crate::lock(&mut tx, crate::locks::SUMMARY).await?;
        let mut moved = false;
        if !absent.0.is_empty() {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM summary_bases b \
                 JOIN UNNEST($1::smallint[], $2::bigint[]) AS u(kind, id) \
                   ON b.kind = u.kind AND b.id = u.id",
            )
            .bind(&absent.0)
            .bind(&absent.1)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            moved |= n != 0;
        }
        if !moved && !inserts.0.is_empty() {
            let n = sqlx::query(
                "INSERT INTO summary_bases (kind, id, basis) \
                 SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::text[]) \
                 ON CONFLICT (kind, id) DO NOTHING",
            )
            .bind(&inserts.0)
            .bind(&inserts.1)
            .bind(&inserts.2)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            moved |= n != inserts.0.len() as u64;
        }
        if !moved && !updates.0.is_empty() {
            let n = sqlx::query(
                "UPDATE summary_bases b SET basis = u.new \
                 FROM UNNEST($1::smallint[], $2::bigint[], $3::text[], $4::text[]) AS u(kind, id, old, new) \
                 WHERE b.kind = u.kind AND b.id = u.id AND b.basis = u.old",
            )
            .bind(&updates.0)
            .bind(&updates.1)
            .bind(&updates.2)
            .bind(&updates.3)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            moved |= n != updates.0.len() as u64;
        }
        if !moved && !deletes.0.is_empty() {
            let n = sqlx::query(
                "DELETE FROM summary_bases b \
                 USING UNNEST($1::smallint[], $2::bigint[], $3::text[]) AS u(kind, id, old) \
                 WHERE b.kind = u.kind AND b.id = u.id AND b.basis = u.old",
            )
            .bind(&deletes.0)
            .bind(&deletes.1)
            .bind(&deletes.2)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            moved |= n != deletes.0.len() as u64;
        }
        if moved {
            tx.rollback().await.map_err(db)?;
            return Ok(false);
        }
        if !marks.0.is_empty() {
            sqlx::query(
                "DELETE FROM summary_dirty d \
                 USING UNNEST($1::smallint[], $2::bigint[], $3::bigint[]) AS u(kind, id, mark) \
                 WHERE d.kind = u.kind AND d.id = u.id AND d.mark = u.mark",
            )
            .bind(&marks.0)
            .bind(&marks.1)
            .bind(&marks.2)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        if !rows.is_empty() {
            let col = |i: usize| rows.iter().map(|r| r.values[i]).collect::<Vec<i64>>();
            sqlx::query(
                "INSERT INTO summary_sums (kind, day, rep, currency, k1, k2, \
                 v0, v1, v2, v3, v4, v5, v6, v7, v8) \
                 SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::text[], $4::text[], \
                   $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], \
                   $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], \
                   $15::bigint[]) \
                 ON CONFLICT (kind, day, rep, currency, k1, k2) DO UPDATE SET \
                 v0 = summary_sums.v0 + excluded.v0, v1 = summary_sums.v1 + excluded.v1, \
                 v2 = summary_sums.v2 + excluded.v2, v3 = summary_sums.v3 + excluded.v3, \
                 v4 = summary_sums.v4 + excluded.v4, v5 = summary_sums.v5 + excluded.v5, \
                 v6 = summary_sums.v6 + excluded.v6, v7 = summary_sums.v7 + excluded.v7, \
                 v8 = summary_sums.v8 + excluded.v8",
            )
            .bind(rows.iter().map(|r| r.kind.code()).collect::<Vec<i16>>())
            .bind(rows.iter().map(|r| r.day).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.rep.clone()).collect::<Vec<String>>())
            .bind(
                rows.iter()
                    .map(|r| r.currency.clone())
                    .collect::<Vec<String>>(),
            )
            .bind(rows.iter().map(|r| r.k1).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.k2).collect::<Vec<i64>>())
            .bind(col(0))
            .bind(col(1))
            .bind(col(2))
            .bind(col(3))
            .bind(col(4))
            .bind(col(5))
            .bind(col(6))
            .bind(col(7))
            .bind(col(8))
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
        let mut tx = self.snapshot().await?;
        let mut out = Vec::with_capacity(queries.len());
        for q in queries {
            // by_day: one row per day; otherwise the day column is 0
            let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)> =
                sqlx::query_as(
                    "SELECT currency, k1, k2, CASE WHEN $5 THEN day ELSE 0 END AS d, \
                     sum(v0)::bigint, sum(v1)::bigint, sum(v2)::bigint, sum(v3)::bigint, sum(v4)::bigint, sum(v5)::bigint, sum(v6)::bigint, sum(v7)::bigint, sum(v8)::bigint \
                     FROM summary_sums \
                     WHERE kind = $1 AND day BETWEEN $2 AND $3 AND ($4 IS NULL OR rep = $4) \
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
