//! Payment links, pay tokens and gateway events (see `tagada_store::payments`).

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{FromRow, Postgres, QueryBuilder};
use tagada_core::ledger::Invoice;
use tagada_core::{InvoiceId, Money};
use tagada_store::{
    NewPaymentLink, OPEN_LINK_STATUSES, PaymentLink, PaymentLinkFilter, PaymentLinkLookup,
    PaymentLinkStore, PaymentLinkUpdate, Result, StoreError, WebhookOutcome,
};

use crate::PostgresStore;
use crate::conv::{currency, db, micros, opt_micros, opt_ts, ts};
use crate::rows::{InvoiceRow, invoice_cols};
use crate::webhooks::insert_event_from;

macro_rules! link_cols {
    () => {
        "id, invoice_id, gateway, remote_id, reference_id, url, amount_minor, amount_paid_minor, \
         currency, status, order_id, expires_at, created_at, updated_at"
    };
}

#[derive(Debug, FromRow)]
struct LinkRow {
    id: i64,
    invoice_id: i64,
    gateway: String,
    remote_id: String,
    reference_id: String,
    url: String,
    amount_minor: i64,
    amount_paid_minor: i64,
    currency: String,
    status: String,
    order_id: Option<String>,
    expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<LinkRow> for PaymentLink {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<PaymentLink> {
        const T: &str = "payment_links";
        let cur = currency(T, &r.currency)?;
        Ok(PaymentLink {
            id: r.id,
            invoice_id: InvoiceId::new(r.invoice_id),
            gateway: r.gateway,
            remote_id: r.remote_id,
            reference_id: r.reference_id,
            url: r.url,
            amount: Money::from_minor(r.amount_minor, cur),
            amount_paid: Money::from_minor(r.amount_paid_minor, cur),
            status: r.status,
            order_id: r.order_id,
            expires_at: opt_ts(T, r.expires_at)?,
            created_at: ts(T, r.created_at)?,
            updated_at: ts(T, r.updated_at)?,
        })
    }
}

impl PostgresStore {
    async fn link_by(
        &self,
        sql: &'static str,
        gateway: &str,
        key: &str,
    ) -> Result<Option<PaymentLink>> {
        let row: Option<LinkRow> = sqlx::query_as(sql)
            .bind(gateway)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(PaymentLink::try_from).transpose()
    }
}

#[async_trait]
impl PaymentLinkStore for PostgresStore {
    async fn save_payment_link(
        &self,
        link: &NewPaymentLink,
        now: Timestamp,
    ) -> Result<PaymentLink> {
        let mut tx = self.begin().await?;
        let row: LinkRow = sqlx::query_as(concat!("INSERT INTO payment_links (invoice_id, gateway, remote_id, reference_id, url, \
             amount_minor, currency, status, order_id, expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (gateway, remote_id) DO UPDATE SET url = excluded.url, \
             status = excluded.status, order_id = coalesce(excluded.order_id, payment_links.order_id), \
             expires_at = excluded.expires_at, updated_at = excluded.updated_at \
             RETURNING ", link_cols!()))
        .bind(link.invoice_id.get())
        .bind(&link.gateway)
        .bind(&link.remote_id)
        .bind(&link.reference_id)
        .bind(&link.url)
        .bind(link.amount.minor())
        .bind(link.amount.currency().code())
        .bind(&link.status)
        .bind(&link.order_id)
        .bind(opt_micros(link.expires_at))
        .bind(micros(now))
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        PaymentLink::try_from(row)
    }

    async fn list_payment_links(&self, filter: &PaymentLinkFilter) -> Result<Vec<PaymentLink>> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
            "SELECT ",
            link_cols!(),
            " FROM payment_links WHERE 1 = 1"
        ));
        if let Some(invoice) = filter.invoice {
            qb.push(" AND invoice_id = ").push_bind(invoice.get());
        }
        if let Some(gateway) = &filter.gateway {
            qb.push(" AND gateway = ").push_bind(gateway.clone());
        }
        if filter.open_only {
            qb.push(" AND status IN (");
            let mut sep = qb.separated(", ");
            for s in OPEN_LINK_STATUSES {
                sep.push_bind(s);
            }
            qb.push(")");
        }
        qb.push(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows: Vec<LinkRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(PaymentLink::try_from).collect()
    }

    async fn find_payment_link(
        &self,
        gateway: &str,
        lookup: &PaymentLinkLookup,
    ) -> Result<Option<PaymentLink>> {
        for (sql, key) in [
            (
                concat!(
                    "SELECT ",
                    link_cols!(),
                    " FROM payment_links WHERE gateway = $1 AND remote_id = $2 ORDER BY id DESC LIMIT 1"
                ),
                &lookup.remote_id,
            ),
            (
                concat!(
                    "SELECT ",
                    link_cols!(),
                    " FROM payment_links WHERE gateway = $1 AND order_id = $2 ORDER BY id DESC LIMIT 1"
                ),
                &lookup.order_id,
            ),
            (
                concat!(
                    "SELECT ",
                    link_cols!(),
                    " FROM payment_links WHERE gateway = $1 AND reference_id = $2 ORDER BY id DESC LIMIT 1"
                ),
                &lookup.reference_id,
            ),
        ] {
            if let Some(key) = key
                && let Some(link) = self.link_by(sql, gateway, key).await?
            {
                return Ok(Some(link));
            }
        }
        Ok(None)
    }

    async fn update_payment_link(
        &self,
        id: i64,
        update: &PaymentLinkUpdate,
        now: Timestamp,
    ) -> Result<PaymentLink> {
        let mut tx = self.begin().await?;
        let row: Option<LinkRow> = sqlx::query_as(concat!(
            "UPDATE payment_links SET status = coalesce($1::text, status), \
             amount_paid_minor = GREATEST(amount_paid_minor, coalesce($2::bigint, 0)), \
             order_id = coalesce($3::text, order_id), updated_at = $4 WHERE id = $5 \
             RETURNING ",
            link_cols!()
        ))
        .bind(&update.status)
        .bind(update.amount_paid.map(|m| m.minor()))
        .bind(&update.order_id)
        .bind(micros(now))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        row.ok_or_else(|| StoreError::not_found("payment link", id))
            .and_then(PaymentLink::try_from)
    }

    async fn count_payment_links(&self, invoice: InvoiceId, gateway: &str) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payment_links WHERE invoice_id = $1 AND gateway = $2",
        )
        .bind(invoice.get())
        .bind(gateway)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn find_invoice_by_pay_token(&self, token: &str) -> Result<Option<Invoice>> {
        let row: Option<InvoiceRow> = sqlx::query_as(concat!(
            "SELECT ",
            invoice_cols!(),
            " FROM invoices WHERE pay_token = $1"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(Invoice::try_from).transpose()
    }

    async fn pay_tokens(&self, invoices: &[InvoiceId]) -> Result<Vec<(InvoiceId, String)>> {
        let mut ids: Vec<i64> = invoices.iter().map(|i| i.get()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE invoices SET pay_token = replace(gen_random_uuid()::text, '-', '') \
             WHERE pay_token IS NULL AND id = ANY($1)",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let found: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, pay_token FROM invoices WHERE id = ANY($1) ORDER BY id")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(found
            .into_iter()
            .map(|(id, token)| (InvoiceId::new(id), token))
            .collect())
    }

    async fn gateway_event_seen(&self, source: &str, event_key: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_events WHERE source = $1 AND event_key = $2",
        )
        .bind(source)
        .bind(event_key)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(n > 0)
    }

    async fn record_gateway_event(
        &self,
        source: &str,
        event_key: &str,
        raw: &str,
        outcome: WebhookOutcome,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let id = insert_event_from(source, &mut tx, event_key, raw, at, outcome).await?;
        tx.commit().await.map_err(db)?;
        Ok(id.is_some())
    }
}
