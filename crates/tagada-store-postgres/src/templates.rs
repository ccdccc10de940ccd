//! Template statuses (see `tagada_store::templates`).

use async_trait::async_trait;
use sqlx::FromRow;
use tagada_store::{Result, TemplateStatus, TemplateStatusStore};

use crate::PostgresStore;
use crate::conv::{db, micros, ts};

#[derive(Debug, FromRow)]
struct Row {
    name: String,
    language: String,
    status: String,
    category: Option<String>,
    detail: Option<String>,
    source: String,
    updated_at: i64,
}

#[async_trait]
impl TemplateStatusStore for PostgresStore {
    async fn save_template_statuses(&self, rows: &[TemplateStatus]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for r in rows {
            sqlx::query(
                "INSERT INTO template_status \
                 (name, language, status, category, detail, source, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (name, language) DO UPDATE SET \
                   status = excluded.status, category = excluded.category, \
                   detail = excluded.detail, source = excluded.source, \
                   updated_at = excluded.updated_at \
                 WHERE excluded.updated_at >= template_status.updated_at",
            )
            .bind(&r.name)
            .bind(&r.language)
            .bind(&r.status)
            .bind(&r.category)
            .bind(&r.detail)
            .bind(&r.source)
            .bind(micros(r.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn template_statuses(&self) -> Result<Vec<TemplateStatus>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT name, language, status, category, detail, source, updated_at \
             FROM template_status ORDER BY name, language",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                Ok(TemplateStatus {
                    updated_at: ts("template_status", r.updated_at)?,
                    name: r.name,
                    language: r.language,
                    status: r.status,
                    category: r.category,
                    detail: r.detail,
                    source: r.source,
                })
            })
            .collect()
    }
}
