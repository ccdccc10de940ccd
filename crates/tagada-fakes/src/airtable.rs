//! A loopback fake of Airtable's Web API (records).
//!
//! [`AirtableFake::start`] serves, for the bases and tables it holds in
//! memory ([`AirtableFake::add_table`]):
//!
//! * `GET /v0/{base}/{table}` and `POST /v0/{base}/{table}/listRecords`
//!   (the same options as JSON): `pageSize` (1 to 100, default 100),
//!   `offset`, `filterByFormula` (a subset: `{Field}='text'`, `!=`,
//!   numbers, `NOT(..)`, `AND(..)`, `OR(..)`, `TRUE()`, `FALSE()`,
//!   `BLANK()`, a bare `{Field}`; anything else answers 422
//!   `INVALID_FILTER_BY_FORMULA`), `fields[]`, `view` (accepted, not
//!   modelled). Records come in creation order with `createdTime`; empty
//!   fields are left out of `fields`. An offset names a snapshot of the
//!   matching records; it expires after [`AirtableFakeConfig::offset_ttl`]
//!   or at [`AirtableFake::expire_offsets`] (422
//!   `LIST_RECORDS_ITERATOR_NOT_AVAILABLE`);
//! * `POST /v0/{base}/{table}`: creates 1 to 10 records;
//! * `PATCH /v0/{base}/{table}`: updates 1 to 10 records by `id`, or with
//!   `performUpsert.fieldsToMergeOn` (1 to 3 fields) creates the records
//!   that match none, updates those that match one and refuses the request
//!   when one matches several (the docs say only that "the request will
//!   fail"; the 422 type used here is reconstructed). The answer adds
//!   `createdRecords` and `updatedRecords`.
//!
//! A write is all or nothing: one bad record refuses the whole request.
//! When a table has a schema ([`AirtableFake::set_fields`],
//! [`AirtableFake::set_field_kind`]), unknown field names answer 422
//! `UNKNOWN_FIELD_NAME`, and values are checked against the field's kind:
//! text into a number, checkbox or date field, or an unknown option of a
//! single select, is refused unless the request says `typecast: true`
//! (which converts, and adds select options). Without a schema any field
//! is accepted.
//!
//! Checks, in order: scripted faults ([`AirtableFake::fail_next`]), the
//! URL length (16,000 characters), the personal access token (401
//! `AUTHENTICATION_REQUIRED`; a token without access to the base, or an
//! unknown base: 403 `INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`), the monthly
//! call cap (429 `PUBLIC_API_BILLING_LIMIT_EXCEEDED`), the rate limit (more
//! than 5 requests to a base within a sliding second: 429, and every
//! request to that base refused for [`AirtableFakeConfig::penalty`]).
//! [`AirtableFake::calls`] records every request with its arrival instant.
//!
//! Error bodies: 401, 403, 404 and the 422 types follow the shapes public
//! clients show (`{"error":{"type","message"}}`, and `{"error":"NOT_FOUND"}`
//! for an unknown path); the 429 rate-limit body
//! (`{"errors":[{"error":"RATE_LIMIT_REACHED",..}]}`) is the one reported
//! in a public issue. Messages are worded here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use jiff::SignedDuration;
use serde_json::{Map, Value, json};

use crate::marketplace::{FakeClock, Server};

/// Airtable's URL length limit.
pub const MAX_URL_LENGTH: usize = 16_000;
/// The most records one page holds.
pub const MAX_PAGE_SIZE: usize = 100;
/// The most records one write may carry.
pub const MAX_RECORDS_PER_WRITE: usize = 10;
/// The error type of the multiple-match upsert refusal. RECONSTRUCTED: the
/// docs say only that the request fails; no public sample shows its type.
pub const UPSERT_AMBIGUOUS_TYPE: &str = "INVALID_RECORDS";

/// What kind of value a field holds (for the typecast checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// Single line or long text, phone, email: any string.
    Text,
    /// A number, currency or percent field.
    Number,
    /// A date field (`YYYY-MM-DD`).
    Date,
    Checkbox,
    /// A single select with these options.
    SingleSelect(Vec<String>),
}

/// Configuration of an [`AirtableFake`]. [`Default`] gives test values with
/// Airtable's limits.
#[derive(Clone)]
pub struct AirtableFakeConfig {
    /// `None` = `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
    /// Personal access tokens with access to every base.
    pub valid_tokens: Vec<String>,
    /// Tokens with access to these bases only.
    pub scoped_tokens: Vec<(String, Vec<String>)>,
    /// Requests a base takes within [`AirtableFakeConfig::rate_window`].
    pub requests_per_window: usize,
    pub rate_window: Duration,
    /// How long a base refuses every request after a rate-limit 429.
    pub penalty: Duration,
    /// No rate limit at all (benchmarks).
    pub quota_off: bool,
    /// Calls the workspace may make this month; then every request gets
    /// 429 `PUBLIC_API_BILLING_LIMIT_EXCEEDED`.
    pub monthly_cap: Option<u64>,
    /// How long a list offset stays usable.
    pub offset_ttl: Duration,
}

impl Default for AirtableFakeConfig {
    fn default() -> Self {
        AirtableFakeConfig {
            bind: None,
            valid_tokens: vec!["patFakeAirtable.0000000000000000".to_owned()],
            scoped_tokens: Vec::new(),
            requests_per_window: 5,
            rate_window: Duration::from_secs(1),
            penalty: Duration::from_secs(30),
            quota_off: false,
            monthly_cap: None,
            offset_ttl: Duration::from_secs(300),
        }
    }
}

impl std::fmt::Debug for AirtableFakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scoped: Vec<&Vec<String>> = self.scoped_tokens.iter().map(|(_, b)| b).collect();
        f.debug_struct("AirtableFakeConfig")
            .field("bind", &self.bind)
            .field(
                "valid_tokens",
                &format!("{} x ***", self.valid_tokens.len()),
            )
            .field("scoped_tokens", &scoped)
            .field("requests_per_window", &self.requests_per_window)
            .field("rate_window", &self.rate_window)
            .field("penalty", &self.penalty)
            .field("quota_off", &self.quota_off)
            .field("monthly_cap", &self.monthly_cap)
            .field("offset_ttl", &self.offset_ttl)
            .finish()
    }
}

/// A record the fake holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRecord {
    pub id: String,
    pub created_time: String,
    /// Non-empty fields only.
    pub fields: Map<String, Value>,
}

impl FakeRecord {
    fn to_json(&self, only: &[String]) -> Value {
        let fields: Map<String, Value> = if only.is_empty() {
            self.fields.clone()
        } else {
            self.fields
                .iter()
                .filter(|(k, _)| only.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        json!({ "id": self.id, "createdTime": self.created_time, "fields": fields })
    }
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq)]
pub struct AirtableCall {
    /// When it arrived.
    pub at: Instant,
    /// The base in the path, if any.
    pub base: Option<String>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub body: Vec<u8>,
    pub status: u16,
    /// The error type answered, if any.
    pub error_type: Option<String>,
}

impl AirtableCall {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
struct FakeTable {
    name: String,
    id: String,
    schema: Option<Vec<(String, FieldKind)>>,
    records: Vec<FakeRecord>,
}

impl FakeTable {
    fn kind(&self, field: &str) -> Option<Option<&FieldKind>> {
        match &self.schema {
            None => Some(None),
            Some(s) => s.iter().find(|(n, _)| n == field).map(|(_, k)| Some(k)),
        }
    }
}

#[derive(Debug)]
struct Iter {
    base: String,
    table_id: String,
    ids: Arc<Vec<String>>,
    pos: usize,
    fields: Vec<String>,
    made: Instant,
}

struct AtState {
    bases: BTreeMap<String, Vec<FakeTable>>,
    iters: HashMap<String, Iter>,
    hits: HashMap<String, VecDeque<Instant>>,
    penalty_until: HashMap<String, Instant>,
    month_calls: u64,
    monthly_cap: Option<u64>,
    quota_off: bool,
    faults: VecDeque<(u16, Option<Value>)>,
    calls: Vec<AirtableCall>,
    next_id: u64,
}

struct Shared {
    cfg: AirtableFakeConfig,
    state: Mutex<AtState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, AtState> {
        self.state.lock().expect("airtable fake mutex poisoned")
    }
}

/// A running Airtable fake. Dropping it (or [`AirtableFake::shutdown`])
/// stops the server.
pub struct AirtableFake {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for AirtableFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AirtableFake")
            .field("addr", &self.server.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

type ApiResult = Result<Value, (StatusCode, Value)>;

fn error_body(kind: &str, message: &str) -> Value {
    json!({ "error": { "type": kind, "message": message } })
}

fn fail(status: StatusCode, kind: &str, message: impl Into<String>) -> (StatusCode, Value) {
    (status, error_body(kind, &message.into()))
}

fn unprocessable(kind: &str, message: impl Into<String>) -> (StatusCode, Value) {
    fail(StatusCode::UNPROCESSABLE_ENTITY, kind, message)
}

/// The 401 body (observed in a public client's issue).
pub fn authentication_required() -> Value {
    error_body("AUTHENTICATION_REQUIRED", "Authentication required")
}

/// The rate-limit 429 body.
pub fn rate_limited() -> Value {
    json!({ "errors": [{ "error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later" }] })
}

/// The monthly-cap 429 body (message worded here).
pub fn billing_limit_exceeded() -> Value {
    error_body(
        "PUBLIC_API_BILLING_LIMIT_EXCEEDED",
        "The API call limit of this workspace's plan is reached for this month.",
    )
}

fn no_access() -> (StatusCode, Value) {
    fail(
        StatusCode::FORBIDDEN,
        "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
        "Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.",
    )
}

fn now_text() -> String {
    FakeClock::Wall(SignedDuration::ZERO)
        .now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

impl AirtableFake {
    /// Bind and serve (no bases yet).
    pub async fn start(cfg: AirtableFakeConfig) -> std::io::Result<AirtableFake> {
        let state = AtState {
            bases: BTreeMap::new(),
            iters: HashMap::new(),
            hits: HashMap::new(),
            penalty_until: HashMap::new(),
            month_calls: 0,
            monthly_cap: cfg.monthly_cap,
            quota_off: cfg.quota_off,
            faults: VecDeque::new(),
            calls: Vec::new(),
            next_id: 1,
        };
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            state: Mutex::new(state),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let server = Server::start(cfg.bind, router).await?;
        Ok(AirtableFake { shared, server })
    }

    /// `http://127.0.0.1:PORT` (the client adds `/v0/...`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &AirtableFakeConfig {
        &self.shared.cfg
    }

    /// Adds (or replaces) a table holding these records (fields by name,
    /// empty ones dropped), in this order. Returns the record ids.
    pub fn add_table(
        &self,
        base: &str,
        table: &str,
        records: Vec<Map<String, Value>>,
    ) -> Vec<String> {
        let mut st = self.shared.lock();
        let n = st.bases.get(base).map_or(0, Vec::len);
        let tid = format!("tblFAKE{:010}", n + 1);
        let created = now_text();
        let recs: Vec<FakeRecord> = records
            .into_iter()
            .map(|fields| FakeRecord {
                id: st.new_record_id(),
                created_time: created.clone(),
                fields: non_empty(fields),
            })
            .collect();
        let ids = recs.iter().map(|r| r.id.clone()).collect();
        let tables = st.bases.entry(base.to_owned()).or_default();
        tables.retain(|t| t.name != table);
        tables.push(FakeTable {
            name: table.to_owned(),
            id: tid,
            schema: None,
            records: recs,
        });
        ids
    }

    /// The table's id (`tbl...`), usable in paths instead of its name.
    pub fn table_id(&self, base: &str, table: &str) -> Option<String> {
        let st = self.shared.lock();
        st.table(base, table).map(|t| t.id.clone())
    }

    /// Defines the table's fields (all text); unknown names are then
    /// refused. Fields already set by [`AirtableFake::set_field_kind`] keep
    /// their kind.
    pub fn set_fields(&self, base: &str, table: &str, names: &[&str]) {
        self.with_table(base, table, |t| {
            let old = t.schema.take().unwrap_or_default();
            t.schema = Some(
                names
                    .iter()
                    .map(|n| {
                        let kind = old
                            .iter()
                            .find(|(o, _)| o == n)
                            .map_or(FieldKind::Text, |(_, k)| k.clone());
                        ((*n).to_owned(), kind)
                    })
                    .collect(),
            );
        });
    }

    /// Sets one field's kind (adding the field to the schema).
    pub fn set_field_kind(&self, base: &str, table: &str, name: &str, kind: FieldKind) {
        self.with_table(base, table, |t| {
            let schema = t.schema.get_or_insert_with(Vec::new);
            match schema.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = kind,
                None => schema.push((name.to_owned(), kind)),
            }
        });
    }

    /// The records of a table, in creation order.
    pub fn records(&self, base: &str, table: &str) -> Vec<FakeRecord> {
        let st = self.shared.lock();
        st.table(base, table)
            .map(|t| t.records.clone())
            .unwrap_or_default()
    }

    /// One record by id.
    pub fn record(&self, base: &str, table: &str, id: &str) -> Option<FakeRecord> {
        self.records(base, table).into_iter().find(|r| r.id == id)
    }

    /// Adds a record as a person would (no checks, no rate limit), e.g. a
    /// duplicate invoice number. Returns its id.
    pub fn add_record(&self, base: &str, table: &str, fields: Map<String, Value>) -> String {
        let mut st = self.shared.lock();
        let id = st.new_record_id();
        let rec = FakeRecord {
            id: id.clone(),
            created_time: now_text(),
            fields: non_empty(fields),
        };
        if let Some(t) = st.table_mut(base, table) {
            t.records.push(rec);
        }
        id
    }

    /// Edits a record as a person would: these fields set (`null` or `""`
    /// clears). Returns whether it exists.
    pub fn edit_record(
        &self,
        base: &str,
        table: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> bool {
        let mut found = false;
        self.with_table(base, table, |t| {
            if let Some(r) = t.records.iter_mut().find(|r| r.id == id) {
                found = true;
                for (k, v) in fields {
                    set_field(&mut r.fields, k, v);
                }
            }
        });
        found
    }

    /// Deletes a record. Returns whether it existed.
    pub fn delete_record(&self, base: &str, table: &str, id: &str) -> bool {
        let mut found = false;
        self.with_table(base, table, |t| {
            let before = t.records.len();
            t.records.retain(|r| r.id != id);
            found = t.records.len() != before;
        });
        found
    }

    /// Forgets every list offset: the next page asked with one answers 422
    /// `LIST_RECORDS_ITERATOR_NOT_AVAILABLE`.
    pub fn expire_offsets(&self) {
        self.shared.lock().iters.clear();
    }

    /// The next `n` requests (any base, any endpoint) answer `status` with
    /// the service's body for it, and change nothing.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut st = self.shared.lock();
        st.faults.extend(std::iter::repeat_n((status, None), n));
    }

    /// The next request answers `status` with this body.
    pub fn fail_next_with(&self, status: u16, body: Value) {
        self.shared.lock().faults.push_back((status, Some(body)));
    }

    /// Sets (or lifts) the monthly call cap, counted from now.
    pub fn set_monthly_cap(&self, cap: Option<u64>) {
        let mut st = self.shared.lock();
        st.monthly_cap = cap;
        st.month_calls = 0;
    }

    /// Turns the rate limit off (`true`) or on, clearing any penalty.
    pub fn set_quota_off(&self, off: bool) {
        let mut st = self.shared.lock();
        st.quota_off = off;
        st.penalty_until.clear();
        st.hits.clear();
    }

    /// Every request answered, in order.
    pub fn calls(&self) -> Vec<AirtableCall> {
        self.shared.lock().calls.clone()
    }

    pub fn call_count(&self) -> usize {
        self.shared.lock().calls.len()
    }

    /// Forgets the recorded requests.
    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// The most requests to `base` that arrived within any `window`.
    pub fn peak_requests(&self, base: &str, window: Duration) -> usize {
        let times: Vec<Instant> = self
            .shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.base.as_deref() == Some(base))
            .map(|c| c.at)
            .collect();
        let mut peak = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= window {
                start += 1;
            }
            peak = peak.max(end - start + 1);
        }
        peak
    }

    /// Stop serving.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }

    fn with_table(&self, base: &str, table: &str, f: impl FnOnce(&mut FakeTable)) {
        let mut st = self.shared.lock();
        if let Some(t) = st.table_mut(base, table) {
            f(t);
        }
    }
}

/// Drops the fields Airtable leaves out of records: `null`, `""`, `[]`,
/// `false`.
fn non_empty(fields: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in fields {
        set_field(&mut out, k, v);
    }
    out
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn set_field(fields: &mut Map<String, Value>, k: String, v: Value) {
    if is_empty_value(&v) {
        fields.remove(&k);
    } else {
        fields.insert(k, v);
    }
}

impl AtState {
    fn new_record_id(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("recFAKE{n:010}")
    }

    fn table(&self, base: &str, table: &str) -> Option<&FakeTable> {
        self.bases
            .get(base)?
            .iter()
            .find(|t| t.name == table || t.id == table)
    }

    fn table_mut(&mut self, base: &str, table: &str) -> Option<&mut FakeTable> {
        self.bases
            .get_mut(base)?
            .iter_mut()
            .find(|t| t.name == table || t.id == table)
    }
}

/// Decodes `%XX` escapes of a path segment.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let segs: Vec<String> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let base = (segs.len() >= 2 && segs[0] == "v0").then(|| segs[1].clone());
    let mut st = shared.lock();
    let (status, answer) = match answer(
        &shared.cfg,
        &mut st,
        at,
        &method,
        &uri,
        &segs,
        &headers,
        &body,
    ) {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => e,
    };
    let error_type = answer.get("error").and_then(|e| match e {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    });
    let error_type = error_type.or_else(|| {
        answer
            .pointer("/errors/0/error")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    st.calls.push(AirtableCall {
        at,
        base,
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        body: body.to_vec(),
        status: status.as_u16(),
        error_type,
    });
    drop(st);
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        answer.to_string(),
    )
        .into_response()
}

fn scripted(status: u16) -> (StatusCode, Value) {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match status {
        401 => authentication_required(),
        403 => no_access().1,
        404 => json!({ "error": "NOT_FOUND" }),
        422 => error_body("INVALID_REQUEST_UNKNOWN", "Scripted refusal"),
        429 => rate_limited(),
        s if s >= 500 => error_body(
            "SERVER_ERROR",
            "Try again. If the problem persists, contact support.",
        ),
        _ => error_body("INVALID_REQUEST_UNKNOWN", "Scripted error"),
    };
    (code, body)
}

#[allow(clippy::too_many_arguments)]
fn answer(
    cfg: &AirtableFakeConfig,
    st: &mut AtState,
    now: Instant,
    method: &Method,
    uri: &Uri,
    segs: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult {
    if let Some((status, custom)) = st.faults.pop_front() {
        let (code, default) = scripted(status);
        return Err((code, custom.unwrap_or(default)));
    }
    if uri.to_string().len() > MAX_URL_LENGTH {
        // RECONSTRUCTED: the limit is documented, the answer's type is not.
        return Err(fail(
            StatusCode::URI_TOO_LONG,
            "URL_TOO_LONG",
            "The URL is longer than 16,000 characters; list with POST .../listRecords",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return Err((StatusCode::UNAUTHORIZED, authentication_required()));
    };
    let scope: Option<&Vec<String>> = if cfg.valid_tokens.iter().any(|t| t == token) {
        None
    } else if let Some((_, bases)) = cfg.scoped_tokens.iter().find(|(t, _)| t == token) {
        Some(bases)
    } else {
        return Err((StatusCode::UNAUTHORIZED, authentication_required()));
    };
    let (base, table, extra) = match segs {
        [v0, base, table] if v0 == "v0" => (base, table, None),
        [v0, base, table, extra] if v0 == "v0" => (base, table, Some(extra.as_str())),
        _ => return Err((StatusCode::NOT_FOUND, json!({ "error": "NOT_FOUND" }))),
    };
    if scope.is_some_and(|bases| !bases.contains(base)) || !st.bases.contains_key(base) {
        return Err(no_access());
    }
    if let Some(cap) = st.monthly_cap {
        if st.month_calls >= cap {
            return Err((StatusCode::TOO_MANY_REQUESTS, billing_limit_exceeded()));
        }
        st.month_calls += 1;
    }
    if !st.quota_off {
        if st.penalty_until.get(base).is_some_and(|until| now < *until) {
            return Err((StatusCode::TOO_MANY_REQUESTS, rate_limited()));
        }
        let hits = st.hits.entry(base.clone()).or_default();
        while hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= cfg.rate_window)
        {
            hits.pop_front();
        }
        if hits.len() >= cfg.requests_per_window {
            st.penalty_until.insert(base.clone(), now + cfg.penalty);
            return Err((StatusCode::TOO_MANY_REQUESTS, rate_limited()));
        }
        hits.push_back(now);
    }
    let Some(tbl) = st.table(base, table) else {
        // RECONSTRUCTED wording; the object form with NOT_FOUND.
        return Err(fail(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Could not find table {table} in this base"),
        ));
    };
    let table_id = tbl.id.clone();
    match (method, extra) {
        (&Method::GET, None) => {
            let params = ListParams::from_query(uri.query().unwrap_or(""));
            list(cfg, st, now, base, &table_id, params)
        }
        (&Method::POST, Some("listRecords")) => {
            let params = ListParams::from_json(body)?;
            list(cfg, st, now, base, &table_id, params)
        }
        (&Method::POST, None) => write(st, base, &table_id, body, WriteKind::Create),
        (&Method::PATCH, None) => write(st, base, &table_id, body, WriteKind::Update),
        _ => Err((StatusCode::NOT_FOUND, json!({ "error": "NOT_FOUND" }))),
    }
}

#[derive(Debug, Default)]
struct ListParams {
    page_size: Option<String>,
    offset: Option<String>,
    formula: Option<String>,
    fields: Vec<String>,
}

impl ListParams {
    fn from_query(q: &str) -> ListParams {
        let mut p = ListParams::default();
        for (k, v) in crate::stripe::decode_form(q.as_bytes()).unwrap_or_default() {
            match k.as_str() {
                "pageSize" => p.page_size = Some(v),
                "offset" => p.offset = Some(v),
                "filterByFormula" => p.formula = Some(v),
                "fields[]" | "fields" => p.fields.push(v),
                _ => {}
            }
        }
        p
    }

    fn from_json(body: &[u8]) -> Result<ListParams, (StatusCode, Value)> {
        let v: Value = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| {
                unprocessable("INVALID_REQUEST_UNKNOWN", format!("Invalid request: {e}"))
            })?
        };
        let text = |k: &str| match v.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(ListParams {
            page_size: text("pageSize"),
            offset: text("offset"),
            formula: text("filterByFormula"),
            fields: v
                .get("fields")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

fn list(
    cfg: &AirtableFakeConfig,
    st: &mut AtState,
    now: Instant,
    base: &str,
    table_id: &str,
    p: ListParams,
) -> ApiResult {
    let size = match &p.page_size {
        None => MAX_PAGE_SIZE,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            // RECONSTRUCTED type and wording.
            _ => {
                return Err(unprocessable(
                    "INVALID_REQUEST_UNKNOWN",
                    format!("Invalid pageSize {s}: it must be from 1 to 100"),
                ));
            }
        },
    };
    let tbl = st.table(base, table_id).cloned().ok_or_else(no_access)?;
    for f in &p.fields {
        if tbl.kind(f).is_none() {
            return Err(unprocessable(
                "UNKNOWN_FIELD_NAME",
                format!("Unknown field name: \"{f}\""),
            ));
        }
    }
    let (ids, pos, fields) = match &p.offset {
        Some(token) => {
            let it = st
                .iters
                .remove(token)
                .filter(|it| {
                    it.base == base
                        && it.table_id == table_id
                        && now.duration_since(it.made) < cfg.offset_ttl
                })
                .ok_or_else(|| {
                    unprocessable(
                        "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                        "The offset is no longer available; list again from the first page.",
                    )
                })?;
            (it.ids, it.pos, it.fields)
        }
        None => {
            let filter = match &p.formula {
                Some(f) if !f.trim().is_empty() => {
                    let expr = formula::parse(f).map_err(|e| {
                        unprocessable(
                            "INVALID_FILTER_BY_FORMULA",
                            format!("The formula for filtering records is invalid: {e}"),
                        )
                    })?;
                    for name in expr.fields() {
                        if tbl.kind(&name).is_none() {
                            return Err(unprocessable(
                                "INVALID_FILTER_BY_FORMULA",
                                format!(
                                    "The formula for filtering records is invalid: Unknown field names: {name}"
                                ),
                            ));
                        }
                    }
                    Some(expr)
                }
                _ => None,
            };
            let ids: Vec<String> = tbl
                .records
                .iter()
                .filter(|r| filter.as_ref().is_none_or(|e| e.matches(&r.fields)))
                .map(|r| r.id.clone())
                .collect();
            (Arc::new(ids), 0, p.fields.clone())
        }
    };
    let end = (pos + size).min(ids.len());
    let records: Vec<Value> = ids[pos..end]
        .iter()
        .filter_map(|id| tbl.records.iter().find(|r| &r.id == id))
        .map(|r| r.to_json(&fields))
        .collect();
    let mut out = json!({ "records": records });
    if end < ids.len() {
        let last = ids[end - 1].clone();
        let token = format!("itrFAKE{:010}/{last}", st.next_id);
        st.next_id += 1;
        st.iters.insert(
            token.clone(),
            Iter {
                base: base.to_owned(),
                table_id: table_id.to_owned(),
                ids,
                pos: end,
                fields,
                made: now,
            },
        );
        out["offset"] = json!(token);
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteKind {
    Create,
    Update,
}

/// Converts a written value to what the field stores; `Null` clears.
fn convert(
    field: &str,
    kind: Option<&FieldKind>,
    v: Value,
    typecast: bool,
) -> Result<Value, (StatusCode, Value)> {
    let bad = |what: &str| {
        unprocessable(
            "INVALID_VALUE_FOR_COLUMN",
            format!("Field \"{field}\" cannot accept the provided value: {what}"),
        )
    };
    if v.is_null() {
        return Ok(Value::Null);
    }
    let Some(kind) = kind else {
        return Ok(v);
    };
    match (kind, v) {
        (FieldKind::Text, Value::String(s)) => Ok(Value::String(s)),
        (FieldKind::Text, Value::Number(n)) if typecast => Ok(Value::String(n.to_string())),
        (FieldKind::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (FieldKind::Number, Value::String(s)) if typecast => {
            let t = s.trim().replace(',', "");
            if t.is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str::<serde_json::Number>(&t)
                .map(Value::Number)
                .map_err(|_| bad(&s))
        }
        (FieldKind::Date, Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() && typecast {
                return Ok(Value::Null);
            }
            if t.parse::<jiff::civil::Date>().is_ok() && t.len() == 10 {
                Ok(Value::String(t.to_owned()))
            } else {
                Err(bad(&s))
            }
        }
        (FieldKind::Checkbox, Value::Bool(b)) => Ok(Value::Bool(b)),
        (FieldKind::Checkbox, Value::String(s)) if typecast => {
            match s.trim().to_ascii_lowercase().as_str() {
                "" | "false" | "0" | "no" => Ok(Value::Bool(false)),
                _ => Ok(Value::Bool(true)),
            }
        }
        (FieldKind::SingleSelect(options), Value::String(s)) => {
            if s.is_empty() || options.contains(&s) || typecast {
                Ok(Value::String(s))
            } else {
                // Type as public clients report it; wording ours.
                Err(unprocessable(
                    "INVALID_MULTIPLE_CHOICE_OPTIONS",
                    format!("Insufficient permissions to create new select option \"{s}\""),
                ))
            }
        }
        (_, other) => Err(bad(&other.to_string())),
    }
}

/// Applies one written record's fields to `target`, adding typecast
/// options to the table's selects.
fn apply_fields(
    tbl: &mut FakeTable,
    target: &mut Map<String, Value>,
    fields: &Map<String, Value>,
    typecast: bool,
) -> Result<(), (StatusCode, Value)> {
    for (name, v) in fields {
        let Some(kind) = tbl.kind(name).map(|k| k.cloned()) else {
            return Err(unprocessable(
                "UNKNOWN_FIELD_NAME",
                format!("Unknown field name: \"{name}\""),
            ));
        };
        let value = convert(name, kind.as_ref(), v.clone(), typecast)?;
        if let (Some(FieldKind::SingleSelect(_)), Value::String(s)) = (&kind, &value)
            && let Some(schema) = tbl.schema.as_mut()
            && let Some((_, FieldKind::SingleSelect(options))) =
                schema.iter_mut().find(|(n, _)| n == name)
            && !options.contains(s)
        {
            options.push(s.clone());
        }
        set_field(target, name.clone(), value);
    }
    Ok(())
}

/// How a stored or written value compares for merging.
fn merge_key(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn write(st: &mut AtState, base: &str, table_id: &str, body: &[u8], kind: WriteKind) -> ApiResult {
    let req: Value = serde_json::from_slice(body).map_err(|e| {
        unprocessable(
            "INVALID_REQUEST_UNKNOWN",
            format!("Invalid request: could not parse the body: {e}"),
        )
    })?;
    let typecast = req
        .get("typecast")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(records) = req.get("records").and_then(Value::as_array) else {
        return Err(unprocessable(
            "INVALID_REQUEST_MISSING_FIELDS",
            "Could not find field \"records\" in the request body",
        ));
    };
    if records.is_empty() || records.len() > MAX_RECORDS_PER_WRITE {
        // The limit is documented; the type is RECONSTRUCTED.
        return Err(unprocessable(
            "INVALID_RECORDS",
            format!(
                "A request may carry 1 to {MAX_RECORDS_PER_WRITE} records; this one has {}",
                records.len()
            ),
        ));
    }
    let merge_on: Option<Vec<String>> = match req.get("performUpsert") {
        None | Some(Value::Null) => None,
        Some(p) if kind == WriteKind::Update => {
            let fields: Vec<String> = p
                .get("fieldsToMergeOn")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if fields.is_empty() || fields.len() > 3 {
                return Err(unprocessable(
                    "INVALID_REQUEST_UNKNOWN",
                    "performUpsert.fieldsToMergeOn must hold 1 to 3 field names",
                ));
            }
            Some(fields)
        }
        Some(_) => {
            return Err(unprocessable(
                "INVALID_REQUEST_UNKNOWN",
                "performUpsert is accepted on PATCH and PUT only",
            ));
        }
    };
    let mut next_id = st.next_id;
    let Some(original) = st.table(base, table_id) else {
        return Err(no_access());
    };
    let mut tbl = original.clone();
    if let Some(m) = &merge_on {
        for f in m {
            if tbl.kind(f).is_none() {
                return Err(unprocessable(
                    "UNKNOWN_FIELD_NAME",
                    format!("Unknown field name: \"{f}\""),
                ));
            }
        }
    }
    let created_time = now_text();
    let mut out = Vec::new();
    let mut created_ids = Vec::new();
    let mut updated_ids = Vec::new();
    for (n, rec) in records.iter().enumerate() {
        let fields = rec
            .get("fields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if rec.get("fields").is_some_and(|f| !f.is_object()) {
            return Err(unprocessable(
                "INVALID_RECORDS",
                format!("Record {n}: \"fields\" must be an object"),
            ));
        }
        let id = rec.get("id").and_then(Value::as_str).map(str::to_owned);
        let target: Option<usize> = match (&id, kind, &merge_on) {
            (Some(_), WriteKind::Create, _) => {
                return Err(unprocessable(
                    "INVALID_RECORDS",
                    format!("Record {n}: a new record cannot carry an id"),
                ));
            }
            (Some(id), WriteKind::Update, _) => {
                match tbl.records.iter().position(|r| &r.id == id) {
                    Some(i) => Some(i),
                    // RECONSTRUCTED type and wording.
                    None => {
                        return Err(unprocessable(
                            "ROW_DOES_NOT_EXIST",
                            format!("Record ID {id} does not exist in this table"),
                        ));
                    }
                }
            }
            (None, WriteKind::Update, None) => {
                return Err(unprocessable(
                    "INVALID_RECORDS",
                    format!("Record {n}: an update needs an id"),
                ));
            }
            (None, WriteKind::Update, Some(merge)) => {
                // Compare on the values as the fields would store them.
                let mut probe = Map::new();
                apply_fields(&mut tbl, &mut probe, &fields, typecast)?;
                let wanted: Vec<String> = merge.iter().map(|f| merge_key(probe.get(f))).collect();
                let matches: Vec<usize> = tbl
                    .records
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        merge
                            .iter()
                            .zip(&wanted)
                            .all(|(f, w)| merge_key(r.fields.get(f)) == *w)
                    })
                    .map(|(i, _)| i)
                    .collect();
                match matches.as_slice() {
                    [] => None,
                    [one] => Some(*one),
                    many => {
                        return Err(unprocessable(
                            UPSERT_AMBIGUOUS_TYPE,
                            format!(
                                "Cannot upsert record {n}: {} records match on {}",
                                many.len(),
                                merge.join(", ")
                            ),
                        ));
                    }
                }
            }
            (None, WriteKind::Create, _) => None,
        };
        match target {
            Some(i) => {
                let mut f = tbl.records[i].fields.clone();
                apply_fields(&mut tbl, &mut f, &fields, typecast)?;
                tbl.records[i].fields = f;
                let r = &tbl.records[i];
                updated_ids.push(r.id.clone());
                out.push(r.to_json(&[]));
            }
            None => {
                let mut f = Map::new();
                apply_fields(&mut tbl, &mut f, &fields, typecast)?;
                let id = format!("recFAKE{next_id:010}");
                next_id += 1;
                let r = FakeRecord {
                    id: id.clone(),
                    created_time: created_time.clone(),
                    fields: f,
                };
                out.push(r.to_json(&[]));
                tbl.records.push(r);
                created_ids.push(id);
            }
        }
    }
    st.next_id = next_id;
    if let Some(slot) = st.table_mut(base, table_id) {
        *slot = tbl;
    }
    let mut answer = json!({ "records": out });
    if merge_on.is_some() {
        answer["createdRecords"] = json!(created_ids);
        answer["updatedRecords"] = json!(updated_ids);
    }
    Ok(answer)
}

/// The `filterByFormula` subset the fake understands.
mod formula {
    use serde_json::{Map, Value};

    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Expr {
        Field(String),
        Text(String),
        Num(String),
        Bool(bool),
        Blank,
        Cmp(Box<Expr>, Box<Expr>, bool),
        And(Vec<Expr>),
        Or(Vec<Expr>),
        Not(Box<Expr>),
    }

    pub(super) fn parse(s: &str) -> Result<Expr, String> {
        let mut p = Parser {
            chars: s.chars().collect(),
            pos: 0,
        };
        let e = p.expr()?;
        p.ws();
        if p.pos < p.chars.len() {
            return Err(format!("unexpected text at {}", p.pos));
        }
        Ok(e)
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
    }

    impl Parser {
        fn ws(&mut self) {
            while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
                self.pos += 1;
            }
        }

        fn peek(&mut self) -> Option<char> {
            self.ws();
            self.chars.get(self.pos).copied()
        }

        fn eat(&mut self, c: char) -> bool {
            if self.peek() == Some(c) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn expr(&mut self) -> Result<Expr, String> {
            let left = self.operand()?;
            let negated = match self.peek() {
                Some('=') => {
                    self.pos += 1;
                    false
                }
                Some('!') if self.chars.get(self.pos + 1) == Some(&'=') => {
                    self.pos += 2;
                    true
                }
                Some('<') if self.chars.get(self.pos + 1) == Some(&'>') => {
                    self.pos += 2;
                    true
                }
                Some(c) if "<>&+-*/".contains(c) => {
                    return Err(format!("operator {c} is not supported here"));
                }
                _ => return Ok(left),
            };
            let right = self.operand()?;
            Ok(Expr::Cmp(Box::new(left), Box::new(right), negated))
        }

        fn operand(&mut self) -> Result<Expr, String> {
            match self.peek() {
                Some('{') => {
                    self.pos += 1;
                    let start = self.pos;
                    while self.chars.get(self.pos).is_some_and(|c| *c != '}') {
                        self.pos += 1;
                    }
                    if self.pos >= self.chars.len() {
                        return Err("unclosed {".into());
                    }
                    let name: String = self.chars[start..self.pos].iter().collect();
                    self.pos += 1;
                    Ok(Expr::Field(name))
                }
                Some(q @ ('\'' | '"')) => {
                    self.pos += 1;
                    let mut s = String::new();
                    loop {
                        match self.chars.get(self.pos) {
                            None => return Err("unclosed string".into()),
                            Some('\\') => {
                                if let Some(c) = self.chars.get(self.pos + 1) {
                                    s.push(*c);
                                }
                                self.pos += 2;
                            }
                            Some(c) if *c == q => {
                                self.pos += 1;
                                return Ok(Expr::Text(s));
                            }
                            Some(c) => {
                                s.push(*c);
                                self.pos += 1;
                            }
                        }
                    }
                }
                Some(c) if c.is_ascii_digit() || c == '-' || c == '.' => {
                    let start = self.pos;
                    self.pos += 1;
                    while self
                        .chars
                        .get(self.pos)
                        .is_some_and(|c| c.is_ascii_digit() || *c == '.')
                    {
                        self.pos += 1;
                    }
                    let n: String = self.chars[start..self.pos].iter().collect();
                    norm_num(&n).map(Expr::Num).ok_or(format!("bad number {n}"))
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    let start = self.pos;
                    while self
                        .chars
                        .get(self.pos)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                    {
                        self.pos += 1;
                    }
                    let name: String = self.chars[start..self.pos].iter().collect();
                    if !self.eat('(') {
                        return Err(format!("unsupported name {name}"));
                    }
                    let mut args = Vec::new();
                    if !self.eat(')') {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(')') {
                                break;
                            }
                            if !self.eat(',') {
                                return Err("expected , or )".into());
                            }
                        }
                    }
                    match (name.to_ascii_uppercase().as_str(), args.len()) {
                        ("AND", n) if n > 0 => Ok(Expr::And(args)),
                        ("OR", n) if n > 0 => Ok(Expr::Or(args)),
                        ("NOT", 1) => Ok(Expr::Not(Box::new(args.remove(0)))),
                        ("TRUE", 0) => Ok(Expr::Bool(true)),
                        ("FALSE", 0) => Ok(Expr::Bool(false)),
                        ("BLANK", 0) => Ok(Expr::Blank),
                        _ => Err(format!("unsupported function {name}")),
                    }
                }
                Some(c) => Err(format!("unexpected {c}")),
                None => Err("unexpected end".into()),
            }
        }
    }

    /// A number's text without sign noise or trailing zeros (`007.50` →
    /// `7.5`), or `None` when it is not a plain decimal.
    pub(super) fn norm_num(s: &str) -> Option<String> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (i, f) = body.split_once('.').unwrap_or((body, ""));
        if (i.is_empty() && f.is_empty())
            || !i.chars().all(|c| c.is_ascii_digit())
            || !f.chars().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let i = i.trim_start_matches('0');
        let f = f.trim_end_matches('0');
        let i = if i.is_empty() { "0" } else { i };
        let mut out = String::new();
        if neg && !(i == "0" && f.is_empty()) {
            out.push('-');
        }
        out.push_str(i);
        if !f.is_empty() {
            out.push('.');
            out.push_str(f);
        }
        Some(out)
    }

    enum Val {
        Text(String),
        Num(String),
        Bool(bool),
    }

    impl Val {
        fn truthy(&self) -> bool {
            match self {
                Val::Text(s) => !s.is_empty(),
                Val::Num(n) => n != "0",
                Val::Bool(b) => *b,
            }
        }

        fn text(&self) -> String {
            match self {
                Val::Text(s) | Val::Num(s) => s.clone(),
                Val::Bool(true) => "1".into(),
                Val::Bool(false) => "0".into(),
            }
        }
    }

    fn value_of(v: Option<&Value>) -> Val {
        match v {
            None | Some(Value::Null) => Val::Text(String::new()),
            Some(Value::String(s)) => Val::Text(s.clone()),
            Some(Value::Number(n)) => Val::Num(norm_num(&n.to_string()).unwrap_or(n.to_string())),
            Some(Value::Bool(b)) => Val::Bool(*b),
            Some(Value::Array(a)) => Val::Text(
                a.iter()
                    .map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Some(other) => Val::Text(other.to_string()),
        }
    }

    impl Expr {
        /// Field names the formula reads.
        pub(super) fn fields(&self) -> Vec<String> {
            let mut out = Vec::new();
            self.collect(&mut out);
            out
        }

        fn collect(&self, out: &mut Vec<String>) {
            match self {
                Expr::Field(f) => out.push(f.clone()),
                Expr::Cmp(a, b, _) => {
                    a.collect(out);
                    b.collect(out);
                }
                Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.collect(out)),
                Expr::Not(e) => e.collect(out),
                _ => {}
            }
        }

        fn eval(&self, fields: &Map<String, Value>) -> Val {
            match self {
                Expr::Field(f) => value_of(fields.get(f)),
                Expr::Text(s) => Val::Text(s.clone()),
                Expr::Num(n) => Val::Num(n.clone()),
                Expr::Bool(b) => Val::Bool(*b),
                Expr::Blank => Val::Text(String::new()),
                Expr::Cmp(a, b, negated) => {
                    let (a, b) = (a.eval(fields), b.eval(fields));
                    let equal = match (&a, &b) {
                        (Val::Num(x), Val::Text(y)) | (Val::Text(y), Val::Num(x)) => {
                            norm_num(y.trim()).is_some_and(|y| &y == x)
                        }
                        _ => a.text() == b.text(),
                    };
                    Val::Bool(equal != *negated)
                }
                Expr::And(v) => Val::Bool(v.iter().all(|e| e.eval(fields).truthy())),
                Expr::Or(v) => Val::Bool(v.iter().any(|e| e.eval(fields).truthy())),
                Expr::Not(e) => Val::Bool(!e.eval(fields).truthy()),
            }
        }

        pub(super) fn matches(&self, fields: &Map<String, Value>) -> bool {
            self.eval(fields).truthy()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::formula::{norm_num, parse};
    use super::*;

    fn rec(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn formulas() {
        let r = rec(json!({"status": "unpaid", "amount_due": 12500, "invoice_no": "INV-1"}));
        let yes = |f: &str| parse(f).unwrap().matches(&r);
        assert!(yes("{status}='unpaid'"));
        assert!(!yes("{status}=\"paid\""));
        assert!(yes("{status}!='paid'"));
        assert!(!yes("NOT({notes}='')"));
        assert!(yes("NOT({invoice_no}='')"));
        assert!(yes("AND({status}='unpaid', {amount_due}=12500.00)"));
        assert!(yes("OR({status}='paid', {invoice_no}='INV-1')"));
        assert!(yes("{invoice_no}"));
        assert!(!yes("{notes}"));
        assert!(yes("{notes}=BLANK()"));
        assert!(parse("{amount_due} > 3").is_err());
        assert!(parse("SEARCH('a', {x})").is_err());
        assert!(parse("{status}='unpaid").is_err());
        assert_eq!(parse("AND({a}='1', {b}='2')").unwrap().fields(), ["a", "b"]);
    }

    #[test]
    fn numbers_normalise() {
        assert_eq!(norm_num("007.50").as_deref(), Some("7.5"));
        assert_eq!(norm_num("-0").as_deref(), Some("0"));
        assert_eq!(norm_num("12a"), None);
    }

    #[test]
    fn conversions() {
        assert_eq!(
            convert("n", Some(&FieldKind::Number), json!("12500.50"), true).unwrap(),
            json!(12500.5)
        );
        assert!(convert("n", Some(&FieldKind::Number), json!("12500"), false).is_err());
        assert!(convert("n", Some(&FieldKind::Number), json!("abc"), true).is_err());
        let sel = FieldKind::SingleSelect(vec!["paid".into()]);
        assert!(convert("s", Some(&sel), json!("unpaid"), false).is_err());
        assert!(convert("s", Some(&sel), json!("unpaid"), true).is_ok());
        assert_eq!(
            convert("t", Some(&FieldKind::Text), json!("007"), false).unwrap(),
            json!("007")
        );
        assert!(convert("d", Some(&FieldKind::Date), json!("2024-02-30"), true).is_err());
    }

    #[test]
    fn decoding_and_debug() {
        assert_eq!(percent_decode("Ledger%202024"), "Ledger 2024");
        assert_eq!(percent_decode("a%2"), "a%2");
        let s = format!("{:?}", AirtableFakeConfig::default());
        assert!(!s.contains("patFake"));
    }

    #[test]
    fn created_time_has_milliseconds() {
        let t = now_text();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z'));
    }
}
