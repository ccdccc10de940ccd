//! Airtable Web API: a records client ([`AirtableClient`]) and the ledger
//! table on top of it ([`AirtableTable`], a [`LedgerTable`]).
//!
//! # Requests
//!
//! * list: `GET /v0/{base}/{table}?pageSize=..&offset=..&filterByFormula=..&fields[]=..&view=..`
//!   (at most 100 records a page; `offset` is present while more pages
//!   exist). When the URL would pass Airtable's 16,000-character limit the
//!   same options go as JSON to `POST /v0/{base}/{table}/listRecords`. An
//!   offset the service no longer knows answers 422
//!   `LIST_RECORDS_ITERATOR_NOT_AVAILABLE`: the listing starts again from
//!   the first page (a bounded number of times), records already met are
//!   kept once (by id, the later copy winning);
//! * create: `POST /v0/{base}/{table}` with at most 10 `records`;
//! * update: `PATCH /v0/{base}/{table}` with at most 10 `records` by `id`;
//! * upsert: the same `PATCH` with `performUpsert.fieldsToMergeOn`: no match
//!   creates, one match updates, several matches fail the request. The
//!   answer adds `createdRecords` and `updatedRecords` (record ids).
//!
//! Every write sends `typecast: true`, so text lands in number, date and
//! single-select fields. A batch refused with 422 is sent again one record
//! at a time, so one bad record (a merge value held by two records, a value
//! a field refuses) does not keep the other nine from being written; the
//! refused ones are reported with the service's message.
//!
//! # Pacing
//!
//! Airtable allows 5 requests per second per base; a 429 then refuses every
//! request to the base for 30 seconds. Requests are spaced by
//! [`Pacing::min_interval`] (shared by every call through one client), a
//! 429 makes every request wait [`Pacing::penalty`] before the retry, and a
//! 5xx is retried with a doubling backoff. A 429 whose error type is
//! `PUBLIC_API_BILLING_LIMIT_EXCEEDED` is the monthly call cap of the
//! workspace's plan: waiting does not lift it, so it is not retried
//! ([`TableError::Cap`]).
//!
//! # Secrets
//!
//! The personal access token is a [`SecretString`] sent only in the
//! `Authorization: Bearer` header; it never shows in `Debug` output, logs
//! or errors (errors carry the service's type and message only).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::table::{
    LedgerTable, RowWrite, TableCell, TableError, TableRow, TableSnapshot, WriteOutcome,
};

/// Airtable's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.airtable.com";
/// The most records one list page holds.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The most records one create, update or upsert request may carry.
pub const MAX_WRITE_BATCH: usize = 10;
/// Airtable refuses URLs longer than this many characters.
pub const URL_LENGTH_LIMIT: usize = 16_000;
/// Above this URL length a listing goes through `POST .../listRecords`
/// (a margin under [`URL_LENGTH_LIMIT`] for the `offset` added later).
pub const POST_LIST_THRESHOLD: usize = 15_000;

/// The error type of the monthly API call cap (a 429 not worth retrying).
pub const BILLING_LIMIT: &str = "PUBLIC_API_BILLING_LIMIT_EXCEEDED";
/// The error type of an expired list offset (a 422).
pub const ITERATOR_NOT_AVAILABLE: &str = "LIST_RECORDS_ITERATOR_NOT_AVAILABLE";
/// The error type of a field name the table does not have (a 422).
pub const UNKNOWN_FIELD_NAME: &str = "UNKNOWN_FIELD_NAME";

/// How the client spaces and retries its requests. [`Default`] follows
/// Airtable's published limits; tests shorten the waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacing {
    /// The least time between two requests through one client. 200 ms is
    /// exactly 5 a second; the default keeps a 10% margin so that network
    /// jitter cannot put six arrivals inside one second.
    pub min_interval: Duration,
    /// The wait after a 429 before any request to the base (30 s).
    pub penalty: Duration,
    /// Retries of one request after a 429, a 5xx or a lost connection.
    pub max_retries: u32,
    /// The first wait before retrying a 5xx; doubles each time.
    pub server_error_backoff: Duration,
    /// How many times a listing starts again after its offset expired.
    pub max_list_restarts: u32,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            min_interval: Duration::from_millis(220),
            penalty: Duration::from_secs(30),
            max_retries: 3,
            server_error_backoff: Duration::from_secs(1),
            max_list_restarts: 3,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// One record as the service returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(
        rename = "createdTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub created_time: Option<String>,
    /// Field name → value; empty fields are absent.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// The field names in the order the answer wrote them (filled by
    /// [`ListPage`]'s reader; empty otherwise).
    #[serde(skip)]
    pub field_order: Vec<String>,
}

/// A record's fields in the order they came.
#[derive(Debug, Default)]
struct OrderedFields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OrderedFields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedFields, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    out.push(entry);
                }
                Ok(OrderedFields(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[derive(Deserialize)]
struct RawRecord {
    id: String,
    #[serde(rename = "createdTime", default)]
    created_time: Option<String>,
    #[serde(default)]
    fields: OrderedFields,
}

#[derive(Deserialize)]
struct RawPage {
    records: Vec<RawRecord>,
    #[serde(default)]
    offset: Option<String>,
}

impl From<RawPage> for ListPage {
    fn from(raw: RawPage) -> ListPage {
        ListPage {
            records: raw
                .records
                .into_iter()
                .map(|r| Record {
                    id: r.id,
                    created_time: r.created_time,
                    field_order: r.fields.0.iter().map(|(k, _)| k.clone()).collect(),
                    fields: r.fields.0.into_iter().collect(),
                })
                .collect(),
            offset: raw.offset,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawPage")]
pub struct ListPage {
    pub records: Vec<Record>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
}

/// The answer to a create, update or upsert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteAnswer {
    pub records: Vec<Record>,
    /// Upserts only: ids of the records made by this request.
    #[serde(rename = "createdRecords", default)]
    pub created_records: Vec<String>,
    /// Upserts only: ids of the existing records this request changed.
    #[serde(rename = "updatedRecords", default)]
    pub updated_records: Vec<String>,
}

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// Records a page (1 to 100; `None` lets the service choose, 100).
    pub page_size: Option<u32>,
    pub filter_by_formula: Option<String>,
    /// Only these fields (`fields[]`); empty = all.
    pub fields: Vec<String>,
    pub view: Option<String>,
}

/// One record to write: `id` for an update; without it, a create (or an
/// upsert matched on the merge fields).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WriteRecord {
    pub id: Option<String>,
    pub fields: Map<String, Value>,
}

/// What became of one record of a write, aligned with the request.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// A new record.
    Created(Record),
    /// An existing record, changed.
    Updated(Record),
    /// Refused by the service (its error type and message).
    Failed(String),
}

impl RecordOutcome {
    /// The record id, unless refused.
    pub fn id(&self) -> Option<&str> {
        match self {
            RecordOutcome::Created(r) | RecordOutcome::Updated(r) => Some(&r.id),
            RecordOutcome::Failed(_) => None,
        }
    }
}

/// An error answer as the service wrote it. Airtable uses three shapes:
/// `{"error":{"type":..,"message":..}}`, `{"error":"NOT_FOUND"}` and, for
/// rate limits, `{"errors":[{"error":..,"message":..}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    /// `UNKNOWN_FIELD_NAME`, `NOT_FOUND`...; empty when the body had none.
    pub error_type: String,
    pub message: String,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.error_type.is_empty(), self.message.is_empty()) {
            (true, true) => write!(f, "HTTP {}", self.status),
            (false, true) => write!(f, "HTTP {} {}", self.status, self.error_type),
            (true, false) => write!(f, "HTTP {}: {}", self.status, self.message),
            (false, false) => write!(
                f,
                "HTTP {} {}: {}",
                self.status, self.error_type, self.message
            ),
        }
    }
}

impl ServiceError {
    /// Reads an error body (any of the three shapes; anything else keeps a
    /// short excerpt as the message).
    pub fn parse(status: u16, body: &[u8]) -> ServiceError {
        let mut error_type = String::new();
        let mut message = String::new();
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => {
                let first = v
                    .get("errors")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first());
                match (v.get("error"), first) {
                    (Some(Value::String(t)), _) => t.clone_into(&mut error_type),
                    (Some(Value::Object(o)), _) => {
                        error_type = text_of(o.get("type"));
                        message = text_of(o.get("message"));
                    }
                    (_, Some(Value::Object(o))) => {
                        error_type = text_of(o.get("error").or(o.get("type")));
                        message = text_of(o.get("message"));
                    }
                    _ => message = excerpt(body),
                }
            }
            Err(_) => message = excerpt(body),
        }
        ServiceError {
            status,
            error_type,
            message,
        }
    }

    /// The monthly call cap of the workspace's plan.
    pub fn is_billing_cap(&self) -> bool {
        self.error_type == BILLING_LIMIT
    }

    /// The [`TableError`] this answer means (after any retries).
    pub fn to_table_error(&self) -> TableError {
        let text = self.to_string();
        match self.status {
            _ if self.is_billing_cap() => TableError::Cap(text),
            401 => TableError::Auth(text),
            403 => TableError::Permission(text),
            404 => TableError::NotFound(text),
            429 => TableError::Quota(text),
            400 | 405..=499 => TableError::BadRequest(text),
            _ => TableError::Transport(text),
        }
    }
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// Why one request failed.
#[derive(Debug)]
enum Failure {
    Service(ServiceError),
    Other(TableError),
}

impl From<Failure> for TableError {
    fn from(f: Failure) -> TableError {
        match f {
            Failure::Service(e) => e.to_table_error(),
            Failure::Other(e) => e,
        }
    }
}

/// A client of one Airtable base.
pub struct AirtableClient {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    base_id: String,
    pacing: Pacing,
    /// When the next request may start (after the spacing or a penalty).
    next_slot: Mutex<Option<Instant>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for AirtableClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AirtableClient")
            .field("base_url", &self.base_url)
            .field("token", &"***")
            .field("base_id", &self.base_id)
            .field("pacing", &self.pacing)
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl AirtableClient {
    /// A client of `base_id` at `base_url` (`None`: [`DEFAULT_BASE_URL`]).
    pub fn new(
        base_url: Option<&str>,
        token: SecretString,
        base_id: impl Into<String>,
        pacing: Pacing,
    ) -> Result<AirtableClient, TableError> {
        let http = reqwest::Client::builder()
            .timeout(pacing.request_timeout)
            .build()
            .map_err(|e| TableError::Transport(e.to_string()))?;
        Ok(AirtableClient {
            http,
            base_url: base_url
                .unwrap_or(DEFAULT_BASE_URL)
                .trim_end_matches('/')
                .to_owned(),
            token,
            base_id: base_id.into(),
            pacing,
            next_slot: Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    pub fn base_id(&self) -> &str {
        &self.base_id
    }

    pub fn pacing(&self) -> &Pacing {
        &self.pacing
    }

    /// HTTP requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `{base_url}/v0/{base}/{table}[/extra]`, each segment escaped.
    fn url(&self, table: &str, extra: Option<&str>) -> Result<Url, TableError> {
        let mut url = Url::parse(&self.base_url)
            .map_err(|e| TableError::BadRequest(format!("base URL: {e}")))?;
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| TableError::BadRequest("base URL cannot take a path".into()))?;
            segs.pop_if_empty().extend(["v0", &self.base_id, table]);
            if let Some(extra) = extra {
                segs.push(extra);
            }
        }
        Ok(url)
    }

    /// Waits for this request's turn: at least `min_interval` after the
    /// previous one, and after any penalty.
    async fn pace(&self) {
        let wait_until = {
            let mut slot = self.next_slot.lock().await;
            let now = Instant::now();
            let start = slot.map_or(now, |s| s.max(now));
            *slot = Some(start + self.pacing.min_interval);
            start
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// After a 429: no request to the base before the penalty is over.
    async fn penalize(&self) {
        let until = Instant::now() + self.pacing.penalty;
        {
            let mut slot = self.next_slot.lock().await;
            *slot = Some(slot.map_or(until, |s| s.max(until)));
        }
    }

    /// Sends one request, retrying 429s (after the penalty), 5xx answers
    /// and lost connections up to `max_retries` times.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, Failure> {
        let listing = url.path().ends_with("/listRecords");
        let mut attempt = 0u32;
        loop {
            self.pace().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose_secret());
            if let Some(body) = body {
                req = req.json(body);
            }
            let retry_left = attempt < self.pacing.max_retries;
            let backoff = self
                .pacing
                .server_error_backoff
                .saturating_mul(1u32 << attempt.min(16));
            attempt += 1;
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let e = e.without_url();
                    // A create that may have reached the service is not
                    // sent again (it would make a second record); lists,
                    // updates and upserts may be repeated.
                    let resend = e.is_connect() || (method != Method::POST || listing);
                    if retry_left && resend && (e.is_connect() || e.is_timeout() || e.is_request())
                    {
                        tracing::debug!(error = %e, "airtable: request failed, retrying");
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                    return Err(Failure::Other(TableError::Transport(e.to_string())));
                }
            };
            let status = resp.status();
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    if retry_left {
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                    return Err(Failure::Other(TableError::Transport(
                        e.without_url().to_string(),
                    )));
                }
            };
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            let err = ServiceError::parse(status.as_u16(), &bytes);
            if status == StatusCode::TOO_MANY_REQUESTS && !err.is_billing_cap() && retry_left {
                tracing::info!(
                    base = %self.base_id,
                    wait_ms = self.pacing.penalty.as_millis() as u64,
                    "airtable: rate limited, waiting out the penalty"
                );
                self.penalize().await;
                continue;
            }
            if status.is_server_error() && retry_left {
                tracing::debug!(%err, "airtable: server error, retrying");
                tokio::time::sleep(backoff).await;
                continue;
            }
            return Err(Failure::Service(err));
        }
    }

    async fn list_page(
        &self,
        table: &str,
        opts: &ListOptions,
        offset: Option<&str>,
    ) -> Result<ListPage, Failure> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(n) = opts.page_size {
            pairs.push(("pageSize", n.clamp(1, MAX_PAGE_SIZE).to_string()));
        }
        if let Some(o) = offset {
            pairs.push(("offset", o.to_owned()));
        }
        if let Some(f) = &opts.filter_by_formula {
            pairs.push(("filterByFormula", f.clone()));
        }
        for f in &opts.fields {
            pairs.push(("fields[]", f.clone()));
        }
        if let Some(v) = &opts.view {
            pairs.push(("view", v.clone()));
        }
        let mut url = self.url(table, None).map_err(Failure::Other)?;
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs.iter());
        }
        let value = if url.as_str().len() > POST_LIST_THRESHOLD {
            let mut body = Map::new();
            if let Some(n) = opts.page_size {
                body.insert("pageSize".into(), json!(n.clamp(1, MAX_PAGE_SIZE)));
            }
            if let Some(o) = offset {
                body.insert("offset".into(), json!(o));
            }
            if let Some(f) = &opts.filter_by_formula {
                body.insert("filterByFormula".into(), json!(f));
            }
            if !opts.fields.is_empty() {
                body.insert("fields".into(), json!(opts.fields));
            }
            if let Some(v) = &opts.view {
                body.insert("view".into(), json!(v));
            }
            let url = self
                .url(table, Some("listRecords"))
                .map_err(Failure::Other)?;
            self.call(Method::POST, url, Some(&Value::Object(body)))
                .await?
        } else {
            self.call(Method::GET, url, None).await?
        };
        serde_json::from_slice(&value)
            .map_err(|e| Failure::Other(TableError::Malformed(format!("list page: {e}"))))
    }

    /// Every record of `table` matching `opts`, following the offsets. An
    /// expired offset starts the listing again (at most
    /// [`Pacing::max_list_restarts`] times); each record comes once.
    pub async fn list(&self, table: &str, opts: &ListOptions) -> Result<Vec<Record>, TableError> {
        let mut out: Vec<Record> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut offset: Option<String> = None;
        let mut restarts = 0u32;
        loop {
            let page = match self.list_page(table, opts, offset.as_deref()).await {
                Ok(p) => p,
                Err(Failure::Service(e))
                    if e.error_type == ITERATOR_NOT_AVAILABLE
                        && offset.is_some()
                        && restarts < self.pacing.max_list_restarts =>
                {
                    restarts += 1;
                    tracing::info!(
                        table,
                        restarts,
                        "airtable: list offset expired, starting again"
                    );
                    offset = None;
                    continue;
                }
                Err(f) => return Err(f.into()),
            };
            for rec in page.records {
                match index.get(&rec.id) {
                    Some(&i) => out[i] = rec,
                    None => {
                        index.insert(rec.id.clone(), out.len());
                        out.push(rec);
                    }
                }
            }
            match page.offset {
                Some(o) if !o.is_empty() => offset = Some(o),
                _ => return Ok(out),
            }
        }
    }

    /// Whether `table` has a field named `field`, even one empty in every
    /// record (such fields never appear in listings): lists one record
    /// with `fields[]=field`; an unknown name answers 422
    /// `UNKNOWN_FIELD_NAME`.
    pub async fn field_exists(&self, table: &str, field: &str) -> Result<bool, TableError> {
        let opts = ListOptions {
            page_size: Some(1),
            fields: vec![field.to_owned()],
            ..ListOptions::default()
        };
        match self.list_page(table, &opts, None).await {
            Ok(_) => Ok(true),
            Err(Failure::Service(e)) if e.status == 422 && e.error_type == UNKNOWN_FIELD_NAME => {
                Ok(false)
            }
            Err(f) => Err(f.into()),
        }
    }

    /// Creates records, 10 a request.
    pub async fn create(
        &self,
        table: &str,
        records: &[WriteRecord],
    ) -> Result<Vec<RecordOutcome>, TableError> {
        self.write_batches(table, Method::POST, None, records).await
    }

    /// Updates records by id (only the fields given), 10 a request.
    pub async fn update(
        &self,
        table: &str,
        records: &[WriteRecord],
    ) -> Result<Vec<RecordOutcome>, TableError> {
        if let Some(i) = records.iter().position(|r| r.id.is_none()) {
            return Err(TableError::BadRequest(format!(
                "record {i} of an update has no id"
            )));
        }
        self.write_batches(table, Method::PATCH, None, records)
            .await
    }

    /// Upserts records merging on `merge_on` (1 to 3 fields), 10 a request.
    pub async fn upsert(
        &self,
        table: &str,
        merge_on: &[String],
        records: &[WriteRecord],
    ) -> Result<Vec<RecordOutcome>, TableError> {
        if merge_on.is_empty() || merge_on.len() > 3 {
            return Err(TableError::BadRequest(
                "an upsert merges on 1 to 3 fields".into(),
            ));
        }
        self.write_batches(table, Method::PATCH, Some(merge_on), records)
            .await
    }

    async fn write_batches(
        &self,
        table: &str,
        method: Method,
        merge_on: Option<&[String]>,
        records: &[WriteRecord],
    ) -> Result<Vec<RecordOutcome>, TableError> {
        let mut out = Vec::with_capacity(records.len());
        for batch in records.chunks(MAX_WRITE_BATCH) {
            match self.write_once(table, &method, merge_on, batch).await {
                Ok(outcomes) => out.extend(outcomes),
                Err(Failure::Service(e)) if e.status == 422 => {
                    if batch.len() == 1 {
                        out.push(RecordOutcome::Failed(e.to_string()));
                        continue;
                    }
                    tracing::info!(
                        table,
                        error = %e,
                        "airtable: batch refused, writing its records one by one"
                    );
                    for one in batch {
                        match self
                            .write_once(table, &method, merge_on, std::slice::from_ref(one))
                            .await
                        {
                            Ok(o) => out.extend(o),
                            Err(Failure::Service(e)) if e.status == 422 => {
                                out.push(RecordOutcome::Failed(e.to_string()));
                            }
                            Err(f) => return Err(f.into()),
                        }
                    }
                }
                Err(f) => return Err(f.into()),
            }
        }
        Ok(out)
    }

    async fn write_once(
        &self,
        table: &str,
        method: &Method,
        merge_on: Option<&[String]>,
        batch: &[WriteRecord],
    ) -> Result<Vec<RecordOutcome>, Failure> {
        let body = write_body(batch, merge_on);
        let url = self.url(table, None).map_err(Failure::Other)?;
        let value = self.call(method.clone(), url, Some(&body)).await?;
        let answer: WriteAnswer = serde_json::from_slice(&value)
            .map_err(|e| Failure::Other(TableError::Malformed(format!("write answer: {e}"))))?;
        if answer.records.len() != batch.len() {
            return Err(Failure::Other(TableError::Malformed(format!(
                "wrote {} records, the answer holds {}",
                batch.len(),
                answer.records.len()
            ))));
        }
        Ok(answer
            .records
            .iter()
            .zip(batch)
            .map(|(rec, asked)| {
                let created = if merge_on.is_some() {
                    answer.created_records.contains(&rec.id)
                } else {
                    asked.id.is_none()
                };
                if created {
                    RecordOutcome::Created(rec.clone())
                } else {
                    RecordOutcome::Updated(rec.clone())
                }
            })
            .collect())
    }
}

/// The JSON body of a create, update or upsert.
pub fn write_body(batch: &[WriteRecord], merge_on: Option<&[String]>) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|r| {
            let mut o = Map::new();
            if let Some(id) = &r.id {
                o.insert("id".into(), json!(id));
            }
            o.insert("fields".into(), Value::Object(r.fields.clone()));
            Value::Object(o)
        })
        .collect();
    let mut body = json!({ "records": records, "typecast": true });
    if let Some(fields) = merge_on {
        body["performUpsert"] = json!({ "fieldsToMergeOn": fields });
    }
    body
}

/// The exact decimal of a JSON number, never through float arithmetic:
/// integers as they are, others from their shortest representation with
/// any exponent written out (`1.5e-7` → `0.00000015`, `12500.0` →
/// `12500`).
pub fn decimal_text(n: &serde_json::Number) -> String {
    plain_decimal(&n.to_string())
}

/// Writes a number's text (`-1.25E+3`) as a plain decimal (`-1250`),
/// without trailing fractional zeros.
pub fn plain_decimal(s: &str) -> String {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{int_part}{frac_part}");
    // The decimal point sits after `point` digits.
    let point = int_part.len() as i64 + exp;
    let (mut int_s, mut frac_s) = if point <= 0 {
        (
            "0".to_owned(),
            format!(
                "{}{digits}",
                "0".repeat(usize::try_from(-point).unwrap_or(0))
            ),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        let (a, b) = digits.split_at(point as usize);
        (a.to_owned(), b.to_owned())
    };
    let trimmed = int_s.trim_start_matches('0');
    int_s = if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    };
    while frac_s.ends_with('0') {
        frac_s.pop();
    }
    let zero = int_s == "0" && frac_s.is_empty();
    let mut out = String::new();
    if neg && !zero {
        out.push('-');
    }
    out.push_str(&int_s);
    if !frac_s.is_empty() {
        out.push('.');
        out.push_str(&frac_s);
    }
    out
}

/// A field's value as a [`TableCell`]. Text stays text (a `YYYY-MM-DD`
/// date field comes as text too: a list answer does not say which fields
/// are dates, so the caller reads dates); numbers keep their exact
/// decimal; lists (multiple selects, linked records, attachments) are
/// joined with `", "`.
pub fn cell_of(v: &Value) -> TableCell {
    match v {
        Value::Null => TableCell::Empty,
        Value::Bool(b) => TableCell::Bool(*b),
        Value::Number(n) => TableCell::Number(decimal_text(n)),
        Value::String(s) if s.is_empty() => TableCell::Empty,
        Value::String(s) => TableCell::Text(s.clone()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(item_text)
                .filter(|s| !s.is_empty())
                .collect();
            if parts.is_empty() {
                TableCell::Empty
            } else {
                TableCell::Text(parts.join(", "))
            }
        }
        Value::Object(_) => match item_text(v) {
            s if s.is_empty() => TableCell::Empty,
            s => TableCell::Text(s),
        },
    }
}

fn item_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => decimal_text(n),
        Value::String(s) => s.clone(),
        Value::Array(_) => match cell_of(v) {
            TableCell::Text(s) => s,
            _ => String::new(),
        },
        // Collaborators, attachments, buttons: the readable part.
        Value::Object(o) => ["name", "label", "filename", "email", "text", "url", "id"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .map_or_else(|| v.to_string(), str::to_owned),
    }
}

/// A ledger kept in one Airtable table.
#[derive(Debug)]
pub struct AirtableTable {
    client: AirtableClient,
    table: String,
    key_field: String,
    expected_fields: Vec<String>,
    /// Fields found to exist by [`LedgerTable::ensure_columns`]: listed in
    /// the header from then on (a listing leaves out fields no record
    /// fills), so they are not probed again.
    known_fields: std::sync::Mutex<Vec<String>>,
}

impl AirtableTable {
    /// `table` (name or `tbl...` id) of the client's base; new rows are
    /// upserted merging on `key_field` (the invoice number field).
    pub fn new(
        client: AirtableClient,
        table: impl Into<String>,
        key_field: impl Into<String>,
    ) -> AirtableTable {
        AirtableTable {
            client,
            table: table.into(),
            key_field: key_field.into(),
            expected_fields: Vec::new(),
            known_fields: std::sync::Mutex::default(),
        }
    }

    /// Field names to put in the header even when no record fills them.
    pub fn with_expected_fields(mut self, fields: Vec<String>) -> AirtableTable {
        self.expected_fields = fields;
        self
    }

    pub fn client(&self) -> &AirtableClient {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn key_field(&self) -> &str {
        &self.key_field
    }
}

/// A row's cells as record fields: an empty string clears the field
/// (`null`), anything else is sent as text (typecast does the rest).
fn fields_of(cells: &[(String, String)]) -> Map<String, Value> {
    cells
        .iter()
        .map(|(k, v)| {
            let value = if v.is_empty() {
                Value::Null
            } else {
                Value::String(v.clone())
            };
            (k.clone(), value)
        })
        .collect()
}

/// Builds a snapshot from listed records: the header is every field name
/// met, in first-seen order, then the expected ones not met.
pub fn snapshot_of(records: &[Record], expected: &[String]) -> TableSnapshot {
    let mut headers: Vec<String> = Vec::new();
    let mut col: HashMap<String, usize> = HashMap::new();
    for rec in records {
        let names: Vec<&String> = if rec.field_order.is_empty() {
            rec.fields.keys().collect()
        } else {
            rec.field_order.iter().collect()
        };
        for name in names {
            if !col.contains_key(name) {
                col.insert(name.clone(), headers.len());
                headers.push(name.clone());
            }
        }
    }
    for name in expected {
        if !col.contains_key(name) {
            col.insert(name.clone(), headers.len());
            headers.push(name.clone());
        }
    }
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, rec)| {
            let mut cells = vec![TableCell::Empty; headers.len()];
            for (name, v) in &rec.fields {
                if let Some(&c) = col.get(name) {
                    cells[c] = cell_of(v);
                }
            }
            while cells.last() == Some(&TableCell::Empty) {
                cells.pop();
            }
            TableRow {
                locator: rec.id.clone(),
                line: i as u64 + 2,
                cells,
            }
        })
        .collect();
    TableSnapshot {
        headers,
        header_line: 1,
        rows,
    }
}

#[async_trait]
impl LedgerTable for AirtableTable {
    fn describe(&self) -> String {
        format!(
            "Airtable base {}, table {}",
            self.client.base_id, self.table
        )
    }

    async fn read(&self) -> Result<TableSnapshot, TableError> {
        let opts = ListOptions {
            page_size: Some(MAX_PAGE_SIZE),
            ..ListOptions::default()
        };
        let records = self.client.list(&self.table, &opts).await?;
        let mut expected = self.expected_fields.clone();
        expected.extend(
            self.known_fields
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .filter(|f| !self.expected_fields.contains(f))
                .cloned(),
        );
        Ok(snapshot_of(&records, &expected))
    }

    fn creates_columns(&self) -> bool {
        false
    }

    async fn ensure_columns(
        &self,
        headers: &[String],
        wanted: &[String],
    ) -> Result<Vec<String>, TableError> {
        let mut out = headers.to_vec();
        let mut missing = Vec::new();
        for name in wanted {
            if out.contains(name) {
                continue;
            }
            if self.client.field_exists(&self.table, name).await? {
                out.push(name.clone());
                self.known_fields
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(name.clone());
            } else {
                missing.push(name.clone());
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(TableError::MissingColumns(missing))
        }
    }

    async fn write(&self, rows: &[RowWrite]) -> Result<WriteOutcome, TableError> {
        let mut outcome = WriteOutcome::default();
        let mut updates: Vec<(usize, WriteRecord)> = Vec::new();
        let mut upserts: Vec<(usize, WriteRecord)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let mut fields = fields_of(&row.cells);
            match &row.locator {
                Some(id) => updates.push((
                    i,
                    WriteRecord {
                        id: Some(id.clone()),
                        fields,
                    },
                )),
                None if row.key.trim().is_empty() => outcome
                    .failed
                    .push((i, "no invoice number to merge on".to_owned())),
                None => {
                    fields.insert(self.key_field.clone(), Value::String(row.key.clone()));
                    upserts.push((i, WriteRecord { id: None, fields }));
                }
            }
        }
        if !updates.is_empty() {
            let recs: Vec<WriteRecord> = updates.iter().map(|(_, r)| r.clone()).collect();
            let results = self.client.update(&self.table, &recs).await?;
            for ((i, _), res) in updates.iter().zip(results) {
                match res {
                    RecordOutcome::Failed(reason) => outcome.failed.push((*i, reason)),
                    _ => outcome.written += 1,
                }
            }
        }
        if !upserts.is_empty() {
            let recs: Vec<WriteRecord> = upserts.iter().map(|(_, r)| r.clone()).collect();
            let merge_on = [self.key_field.clone()];
            let results = self.client.upsert(&self.table, &merge_on, &recs).await?;
            for ((i, _), res) in upserts.iter().zip(results) {
                match res {
                    RecordOutcome::Failed(reason) => outcome.failed.push((*i, reason)),
                    // A row merged into an existing record lives there now:
                    // its locator is reported like an appended one.
                    RecordOutcome::Created(r) | RecordOutcome::Updated(r) => {
                        outcome.written += 1;
                        outcome.appended.push((*i, r.id));
                    }
                }
            }
        }
        outcome.failed.sort_by_key(|(i, _)| *i);
        outcome.appended.sort_by_key(|(i, _)| *i);
        Ok(outcome)
    }

    fn requests(&self) -> u64 {
        self.client.requests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> TableError {
        ServiceError::parse(status, body.as_bytes()).to_table_error()
    }

    #[test]
    fn error_bodies_of_every_shape() {
        let e = ServiceError::parse(404, br#"{"error":"NOT_FOUND"}"#);
        assert_eq!(e.error_type, "NOT_FOUND");
        let e = ServiceError::parse(
            422,
            br#"{"error":{"type":"UNKNOWN_FIELD_NAME","message":"Unknown field name: \"x\""}}"#,
        );
        assert_eq!(e.error_type, UNKNOWN_FIELD_NAME);
        assert_eq!(e.message, "Unknown field name: \"x\"");
        let e = ServiceError::parse(
            429,
            br#"{"errors":[{"error":"RATE_LIMIT_REACHED","message":"slow down"}]}"#,
        );
        assert_eq!(e.error_type, "RATE_LIMIT_REACHED");
        let e = ServiceError::parse(502, b"<html>bad gateway</html>");
        assert_eq!(e.error_type, "");
        assert!(e.message.contains("bad gateway"));
    }

    #[test]
    fn errors_map_to_table_errors() {
        assert!(matches!(
            err(
                401,
                r#"{"error":{"type":"AUTHENTICATION_REQUIRED","message":"Authentication required"}}"#
            ),
            TableError::Auth(_)
        ));
        assert!(matches!(
            err(
                403,
                r#"{"error":{"type":"INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND","message":"m"}}"#
            ),
            TableError::Permission(_)
        ));
        assert!(matches!(
            err(
                403,
                r#"{"error":{"type":"INVALID_PERMISSIONS","message":"m"}}"#
            ),
            TableError::Permission(_)
        ));
        assert!(matches!(
            err(404, r#"{"error":"NOT_FOUND"}"#),
            TableError::NotFound(_)
        ));
        assert!(matches!(
            err(
                404,
                r#"{"error":{"type":"NOT_FOUND","message":"Could not find"}}"#
            ),
            TableError::NotFound(_)
        ));
        match err(
            422,
            r#"{"error":{"type":"UNKNOWN_FIELD_NAME","message":"Unknown field name: \"stauts\""}}"#,
        ) {
            TableError::BadRequest(m) => {
                assert!(
                    m.contains("UNKNOWN_FIELD_NAME") && m.contains("stauts"),
                    "{m}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            err(
                429,
                r#"{"error":{"type":"PUBLIC_API_BILLING_LIMIT_EXCEEDED","message":"m"}}"#
            ),
            TableError::Cap(_)
        ));
        assert!(matches!(
            err(
                429,
                r#"{"errors":[{"error":"RATE_LIMIT_REACHED","message":"m"}]}"#
            ),
            TableError::Quota(_)
        ));
        assert!(matches!(err(503, "oops"), TableError::Transport(_)));
    }

    #[test]
    fn decimals_are_exact() {
        let n = |s: &str| decimal_text(&serde_json::from_str::<serde_json::Number>(s).unwrap());
        assert_eq!(n("12500"), "12500");
        assert_eq!(n("12500.50"), "12500.5");
        assert_eq!(n("0.1"), "0.1");
        assert_eq!(n("-3"), "-3");
        assert_eq!(n("1999.99"), "1999.99");
        assert_eq!(n("12500.0"), "12500");
        assert_eq!(plain_decimal("1e21"), "1000000000000000000000");
        assert_eq!(plain_decimal("1.5e-7"), "0.00000015");
        assert_eq!(plain_decimal("-1.25E+3"), "-1250");
        assert_eq!(plain_decimal("-0.0"), "0");
        assert_eq!(plain_decimal("007.50"), "7.5");
    }

    #[test]
    fn cells_from_values() {
        assert_eq!(
            cell_of(&json!("0098765")),
            TableCell::Text("0098765".into())
        );
        assert_eq!(
            cell_of(&json!("+919000000001")),
            TableCell::Text("+919000000001".into())
        );
        assert_eq!(cell_of(&json!(12500)), TableCell::Number("12500".into()));
        assert_eq!(cell_of(&json!(true)), TableCell::Bool(true));
        assert_eq!(cell_of(&json!("")), TableCell::Empty);
        assert_eq!(
            cell_of(&json!(["recA", "recB"])),
            TableCell::Text("recA, recB".into())
        );
        assert_eq!(
            cell_of(&json!({"id": "usr1", "email": "a@example.com", "name": "Test A"})),
            TableCell::Text("Test A".into())
        );
    }

    #[test]
    fn snapshot_headers_in_first_seen_order() {
        let page: ListPage = serde_json::from_str(
            r#"{"records": [
                {"id": "rec1", "fields": {"invoice_no": "INV-1", "amount_due": 10}},
                {"id": "rec2", "fields": {"status": "paid", "invoice_no": "INV-2"}}
            ]}"#,
        )
        .unwrap();
        let recs = page.records;
        let snap = snapshot_of(&recs, &["notes".to_owned(), "status".to_owned()]);
        assert_eq!(
            snap.headers,
            ["invoice_no", "amount_due", "status", "notes"]
        );
        assert_eq!(snap.header_line, 1);
        assert_eq!(snap.rows[0].line, 2);
        assert_eq!(snap.rows[1].locator, "rec2");
        assert_eq!(
            snap.rows[1].cells,
            [
                TableCell::Text("INV-2".into()),
                TableCell::Empty,
                TableCell::Text("paid".into())
            ]
        );
    }

    #[test]
    fn write_bodies() {
        let recs: Vec<WriteRecord> = (0..3)
            .map(|i| WriteRecord {
                id: None,
                fields: fields_of(&[
                    ("invoice_no".into(), format!("INV-{i}")),
                    ("notes".into(), String::new()),
                ]),
            })
            .collect();
        let body = write_body(&recs, Some(&["invoice_no".to_owned()]));
        assert_eq!(body["typecast"], true);
        assert_eq!(
            body["performUpsert"]["fieldsToMergeOn"],
            json!(["invoice_no"])
        );
        assert_eq!(body["records"][2]["fields"]["invoice_no"], "INV-2");
        assert_eq!(body["records"][0]["fields"]["notes"], Value::Null);
        assert!(body["records"][0].get("id").is_none());
        let upd = write_body(
            &[WriteRecord {
                id: Some("rec1".into()),
                fields: Map::new(),
            }],
            None,
        );
        assert_eq!(upd["records"][0]["id"], "rec1");
        assert!(upd.get("performUpsert").is_none());
    }

    #[test]
    fn batches_hold_at_most_ten() {
        let recs = vec![WriteRecord::default(); 23];
        let sizes: Vec<usize> = recs.chunks(MAX_WRITE_BATCH).map(<[_]>::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
    }

    #[test]
    fn debug_hides_the_token() {
        let c = AirtableClient::new(
            None,
            SecretString::from("patSECRET.value"),
            "appX",
            Pacing::default(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("patSECRET"));
    }
}
