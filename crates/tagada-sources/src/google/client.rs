//! The Sheets API v4 `spreadsheets.values` client: `batchGet`,
//! `batchUpdate` and `append`, paced and retried.
//!
//! Every call waits for its turn ([`Pacing::min_interval`] between two
//! requests), sends the cached access token, and on 429
//! `RESOURCE_EXHAUSTED`, 500 or 503 waits `base * 2^n` (capped, with
//! jitter) and tries again up to [`Pacing::max_retries`] times. A 401 drops
//! the cached token and tries once more with a new one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::a1;
use super::auth::TokenSource;
use crate::table::TableError;

/// The Sheets API host.
pub const DEFAULT_BASE_URL: &str = "https://sheets.googleapis.com";

/// Characters escaped in a path segment (a range in `values/{range}:append`):
/// everything but letters, digits and `-._~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How fast the client may call and how it waits after a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// The least time between two requests (the per-user quota is 60 read
    /// and 60 write requests a minute: one a second stays under both).
    pub min_interval: Duration,
    /// The first wait after a 429/500/503; doubled at each retry.
    pub backoff_base: Duration,
    /// The longest wait.
    pub backoff_cap: Duration,
    /// Retries after the first attempt before giving up.
    pub max_retries: u32,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            min_interval: Duration::from_secs(1),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(64),
            max_retries: 6,
        }
    }
}

impl Pacing {
    /// The wait before retry `n` (0-based): `base * 2^n` capped, of which
    /// the upper half is random.
    pub fn backoff(&self, n: u32) -> Duration {
        let full = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(n.min(20)))
            .min(self.backoff_cap);
        let half = full / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 {
            0
        } else {
            random_u64() % (nanos + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

/// A random number for jitter (no cryptographic use): the standard
/// library's per-instance random hasher keys.
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// `valueRenderOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRender {
    /// `FORMATTED_VALUE`: the text a person sees.
    Formatted,
    /// `UNFORMATTED_VALUE`: numbers as numbers, dates as serial numbers.
    Unformatted,
}

impl ValueRender {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueRender::Formatted => "FORMATTED_VALUE",
            ValueRender::Unformatted => "UNFORMATTED_VALUE",
        }
    }
}

/// `valueInputOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueInput {
    /// `RAW`: stored as sent (text stays text: `00123` keeps its zeros).
    Raw,
    /// `USER_ENTERED`: parsed as if typed (numbers, dates, formulas).
    UserEntered,
}

impl ValueInput {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueInput::Raw => "RAW",
            ValueInput::UserEntered => "USER_ENTERED",
        }
    }
}

/// `insertDataOption` of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertData {
    /// `INSERT_ROWS`: new rows are inserted (nothing below is overwritten).
    InsertRows,
    /// `OVERWRITE`: the cells after the table are written over.
    Overwrite,
}

impl InsertData {
    pub fn as_str(self) -> &'static str {
        match self {
            InsertData::InsertRows => "INSERT_ROWS",
            InsertData::Overwrite => "OVERWRITE",
        }
    }
}

/// A ValueRange: a range and its values, rows of cells (ragged: trailing
/// empty cells and rows are left out by the service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueRange {
    pub range: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major_dimension: Option<String>,
    /// Absent in an answer when the range holds nothing.
    #[serde(default)]
    pub values: Vec<Vec<Value>>,
}

impl ValueRange {
    /// Rows of text cells for a write.
    pub fn rows(range: impl Into<String>, rows: Vec<Vec<String>>) -> ValueRange {
        ValueRange {
            range: range.into(),
            major_dimension: Some("ROWS".to_owned()),
            values: rows
                .into_iter()
                .map(|r| r.into_iter().map(Value::String).collect())
                .collect(),
        }
    }
}

/// `values:batchGet` answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetResponse {
    pub spreadsheet_id: String,
    #[serde(default)]
    pub value_ranges: Vec<ValueRange>,
}

/// UpdateValuesResponse (counts left out when zero).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateValuesResponse {
    pub spreadsheet_id: String,
    pub updated_range: String,
    pub updated_rows: u64,
    pub updated_columns: u64,
    pub updated_cells: u64,
}

/// `values:batchUpdate` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchUpdateResponse {
    pub spreadsheet_id: String,
    pub total_updated_rows: u64,
    pub total_updated_columns: u64,
    pub total_updated_cells: u64,
    pub total_updated_sheets: u64,
    pub responses: Vec<UpdateValuesResponse>,
}

/// `values:append` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppendResponse {
    pub spreadsheet_id: String,
    /// The table found before appending (absent on an empty tab).
    pub table_range: Option<String>,
    pub updates: UpdateValuesResponse,
}

/// Google's error envelope `{"error":{"code","message","status"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    pub code: u16,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
}

/// A Sheets values client for one spreadsheet.
pub struct SheetsClient {
    http: reqwest::Client,
    base_url: String,
    tokens: Arc<TokenSource>,
    spreadsheet_id: String,
    pacing: Pacing,
    next_slot: tokio::sync::Mutex<Option<tokio::time::Instant>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for SheetsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetsClient")
            .field("base_url", &self.base_url)
            .field("spreadsheet_id", &self.spreadsheet_id)
            .field("tokens", &self.tokens)
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

/// A request's method, query and body.
#[derive(Clone, Copy)]
enum Call<'a> {
    Get(&'a [(&'a str, String)]),
    Post(&'a [(&'a str, String)], &'a Value),
}

impl SheetsClient {
    /// A client of `spreadsheet_id` at `base_url` (`None`:
    /// [`DEFAULT_BASE_URL`]).
    pub fn new(
        base_url: Option<&str>,
        tokens: Arc<TokenSource>,
        spreadsheet_id: impl Into<String>,
        pacing: Pacing,
    ) -> Result<SheetsClient, TableError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| TableError::Transport(e.to_string()))?;
        Ok(SheetsClient {
            http,
            base_url: base_url
                .unwrap_or(DEFAULT_BASE_URL)
                .trim_end_matches('/')
                .to_owned(),
            tokens,
            spreadsheet_id: spreadsheet_id.into(),
            pacing,
            next_slot: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
        })
    }

    pub fn spreadsheet_id(&self) -> &str {
        &self.spreadsheet_id
    }

    pub fn client_email(&self) -> &str {
        &self.tokens.key().client_email
    }

    /// HTTP requests made: the Sheets calls (retries included) and the
    /// token source's requests.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed) + self.tokens.requests()
    }

    /// `GET /v4/spreadsheets/{id}/values:batchGet`: the ranges in order,
    /// rows major, dates as serial numbers.
    pub async fn batch_get(
        &self,
        ranges: &[String],
        render: ValueRender,
    ) -> Result<Vec<ValueRange>, TableError> {
        let mut query: Vec<(&str, String)> = ranges.iter().map(|r| ("ranges", r.clone())).collect();
        query.push(("valueRenderOption", render.as_str().to_owned()));
        query.push(("dateTimeRenderOption", "SERIAL_NUMBER".to_owned()));
        query.push(("majorDimension", "ROWS".to_owned()));
        let url = format!(
            "{}/v4/spreadsheets/{}/values:batchGet",
            self.base_url,
            self.id_segment()
        );
        let body = self.send(&url, Call::Get(&query)).await?;
        let resp: BatchGetResponse = parse(&body, "batchGet")?;
        Ok(resp.value_ranges)
    }

    /// `POST /v4/spreadsheets/{id}/values:batchUpdate`: all ranges in one
    /// request (Sheets applies all or none).
    pub async fn batch_update(
        &self,
        data: Vec<ValueRange>,
        input: ValueInput,
    ) -> Result<BatchUpdateResponse, TableError> {
        let url = format!(
            "{}/v4/spreadsheets/{}/values:batchUpdate",
            self.base_url,
            self.id_segment()
        );
        let body = serde_json::json!({
            "valueInputOption": input.as_str(),
            "data": data,
            "includeValuesInResponse": false,
        });
        let answer = self.send(&url, Call::Post(&[], &body)).await?;
        parse(&answer, "batchUpdate")
    }

    /// `POST /v4/spreadsheets/{id}/values/{range}:append`: rows added after
    /// the table found in `range`.
    pub async fn append(
        &self,
        range: &str,
        rows: Vec<Vec<String>>,
        input: ValueInput,
        insert: InsertData,
    ) -> Result<AppendResponse, TableError> {
        let url = format!(
            "{}/v4/spreadsheets/{}/values/{}:append",
            self.base_url,
            self.id_segment(),
            utf8_percent_encode(range, SEGMENT)
        );
        let query = [
            ("valueInputOption", input.as_str().to_owned()),
            ("insertDataOption", insert.as_str().to_owned()),
        ];
        let body = serde_json::to_value(ValueRange::rows(range, rows))
            .map_err(|e| TableError::Malformed(e.to_string()))?;
        let answer = self.send(&url, Call::Post(&query, &body)).await?;
        parse(&answer, "append")
    }

    /// Appends rows to a tab (a leads tab), writing `header` first when the
    /// tab is empty; all cells as text (`RAW`, `INSERT_ROWS`). Returns the
    /// range written (`Leads!A5:H7`).
    pub async fn append_rows(
        &self,
        tab: &str,
        header: &[String],
        rows: Vec<Vec<String>>,
    ) -> Result<String, TableError> {
        let first = self
            .batch_get(&[a1::rows_range(tab, 1, 1)], ValueRender::Formatted)
            .await?;
        let empty = first.first().is_none_or(|v| v.values.is_empty());
        let mut all = Vec::with_capacity(rows.len() + 1);
        if empty && !header.is_empty() {
            all.push(header.to_vec());
        }
        all.extend(rows);
        if all.is_empty() {
            return Ok(String::new());
        }
        let width = all.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let range = a1::row_range(tab, 1, u32::try_from(width).unwrap_or(u32::MAX), 1);
        let resp = self
            .append(&range, all, ValueInput::Raw, InsertData::InsertRows)
            .await?;
        Ok(resp.updates.updated_range)
    }

    fn id_segment(&self) -> String {
        utf8_percent_encode(&self.spreadsheet_id, SEGMENT).to_string()
    }

    /// Waits until the next request may go.
    async fn pace(&self) {
        let mut slot = self.next_slot.lock().await;
        let now = tokio::time::Instant::now();
        if let Some(at) = *slot
            && at > now
        {
            tokio::time::sleep_until(at).await;
        }
        *slot = Some(tokio::time::Instant::now() + self.pacing.min_interval);
    }

    async fn send(&self, url: &str, call: Call<'_>) -> Result<Vec<u8>, TableError> {
        let mut retries = 0;
        let mut reauthorised = false;
        loop {
            let token = self.tokens.access_token().await?;
            self.pace().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let req = match call {
                Call::Get(q) => self.http.get(url).query(q),
                Call::Post(q, body) => self.http.post(url).query(q).json(body),
            };
            let resp = req.bearer_auth(token.expose_secret()).send().await;
            let resp = match resp {
                Ok(r) => r,
                Err(e)
                    if (e.is_timeout() || e.is_connect()) && retries < self.pacing.max_retries =>
                {
                    tokio::time::sleep(self.pacing.backoff(retries)).await;
                    retries += 1;
                    continue;
                }
                Err(e) => return Err(TableError::Transport(e.to_string())),
            };
            let status = resp.status().as_u16();
            let body = resp
                .bytes()
                .await
                .map_err(|e| TableError::Transport(e.to_string()))?;
            if (200..300).contains(&status) {
                return Ok(body.to_vec());
            }
            let env = serde_json::from_slice::<ErrorEnvelope>(&body).ok();
            let (g_status, message) = env.map_or_else(
                || (String::new(), format!("HTTP {status}")),
                |e| (e.error.status, e.error.message),
            );
            let retriable =
                status == 429 || g_status == "RESOURCE_EXHAUSTED" || status == 500 || status == 503;
            if retriable && retries < self.pacing.max_retries {
                let wait = self.pacing.backoff(retries);
                tracing::debug!(
                    status,
                    retry = retries + 1,
                    wait_ms = wait.as_millis(),
                    "sheets: backing off"
                );
                tokio::time::sleep(wait).await;
                retries += 1;
                continue;
            }
            if status == 401 && !reauthorised {
                self.tokens.invalidate(&token).await;
                reauthorised = true;
                continue;
            }
            return Err(self.error(status, &g_status, message, retries));
        }
    }

    fn error(&self, status: u16, g_status: &str, message: String, retries: u32) -> TableError {
        match (status, g_status) {
            (429, _) | (_, "RESOURCE_EXHAUSTED") => {
                TableError::Quota(format!("{message} (gave up after {retries} retries)"))
            }
            (401, _) | (_, "UNAUTHENTICATED") => TableError::Auth(message),
            (403, _) | (_, "PERMISSION_DENIED") => TableError::Permission(format!(
                "{message}: share the sheet {} with {} (editor)",
                self.spreadsheet_id,
                self.client_email()
            )),
            (404, _) | (_, "NOT_FOUND") => {
                TableError::NotFound(format!("spreadsheet {}: {message}", self.spreadsheet_id))
            }
            (400, _) | (_, "INVALID_ARGUMENT" | "FAILED_PRECONDITION") => {
                TableError::BadRequest(message)
            }
            _ => TableError::Transport(format!(
                "HTTP {status} {g_status}: {message} (after {retries} retries)"
            )),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, TableError> {
    serde_json::from_slice(body).map_err(|e| TableError::Malformed(format!("{what} answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = Pacing {
            min_interval: Duration::ZERO,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_millis(1000),
            max_retries: 5,
        };
        for n in 0..8 {
            let full = Duration::from_millis(100 * 2u64.pow(n)).min(Duration::from_millis(1000));
            let w = p.backoff(n);
            assert!(w >= full / 2 && w <= full, "{n}: {w:?}");
        }
    }

    #[test]
    fn ranges_are_escaped_in_the_path() {
        assert_eq!(
            utf8_percent_encode("'Sales Ledger'!A1:H1", SEGMENT).to_string(),
            "%27Sales%20Ledger%27%21A1%3AH1"
        );
    }
}
