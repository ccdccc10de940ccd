//! A loopback fake of Google's OAuth token endpoint (service-account
//! jwt-bearer grant) and the Sheets API v4 `spreadsheets.values` methods.
//!
//! [`GoogleFake::start`] generates a throwaway RSA 2048 key
//! ([`GoogleFake::service_account_key_json`], [`GoogleFake::write_key_file`]:
//! the layout of a downloaded key, `token_uri` pointing at the fake) and
//! serves:
//!
//! * `POST /token`: the form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`.
//!   The assertion must be RS256-signed by the generated key, with `iss` the
//!   key's `client_email`, `aud` the `token_uri`, a `scope` holding the
//!   spreadsheets scope, `iat` not in the future (beyond
//!   [`GoogleFakeConfig::max_clock_skew`]), `exp` after now and at most an
//!   hour after `iat`. Otherwise 400 with `{"error","error_description"}`
//!   (`invalid_grant`, `invalid_scope`, `unsupported_grant_type`; the
//!   descriptions are close to Google's but not verified). A good grant
//!   answers `{"access_token","expires_in","token_type":"Bearer"}`.
//! * `GET /v4/spreadsheets/{id}/values:batchGet?ranges=…&ranges=…&valueRenderOption=…&dateTimeRenderOption=…&majorDimension=ROWS`
//!   and `GET /v4/spreadsheets/{id}/values/{range}`;
//! * `POST /v4/spreadsheets/{id}/values:batchUpdate` (all ranges or none);
//! * `POST /v4/spreadsheets/{id}/values/{range}:append?valueInputOption=…&insertDataOption=…`.
//!
//! Sheets calls need `Authorization: Bearer` with an unexpired token the
//! fake issued (else 401 `UNAUTHENTICATED`); then come scripted faults
//! ([`GoogleFake::fail_next`]), the per-minute quota (429
//! `RESOURCE_EXHAUSTED`), the spreadsheet's existence (404 `NOT_FOUND`) and
//! sharing (403 `PERMISSION_DENIED`), and the range (400
//! `INVALID_ARGUMENT`, `Unable to parse range: …`).
//!
//! Quota: Google counts requests per minute per project (300 read, 300
//! write) and per user per project (60 read, 60 write). The fake has one
//! user (the generated service account), so it enforces the per-user
//! figures, [`GoogleFakeConfig::read_requests_per_minute`] and
//! [`GoogleFakeConfig::write_requests_per_minute`] (GETs read, POSTs
//! write), over a sliding minute of the fake's clock, counting the requests
//! it served. [`GoogleFakeConfig::quota_off`] lifts it for benchmarks.
//!
//! Cells hold text, numbers or booleans with an optional number format
//! (a cell written as `{"value": 46361, "format": "dd/mm/yyyy"}`), which
//! `FORMATTED_VALUE` applies: date patterns (`dd/mm/yyyy`, `yyyy-mm-dd`,
//! `d-mmm-yyyy`), zero-padded digits (`00000`), a `+` prefix (`+0`) and
//! grouped amounts (`₹#,##0.00`). Answers are ragged like Google's:
//! trailing empty cells and rows are left out, and `values` is absent for
//! an empty range. A write keeps the cells' formats. The grid is 26
//! columns by 1,000 rows or the data's extent if larger; writes past it
//! grow it (Google refuses writes past the grid's columns: not modelled).
//!
//! Every request is recorded ([`GoogleFake::requests`]), tokens masked.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::marketplace::{FakeClock, Server};

/// The spreadsheets scope the token endpoint requires.
pub const SHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// The grant type of the service-account flow.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/token";
const SHEETS_PREFIX: &str = "/v4/spreadsheets/";

/// Configuration of a [`GoogleFake`]. [`Default`] gives test values.
#[derive(Debug, Clone)]
pub struct GoogleFakeConfig {
    /// `None` = `127.0.0.1:0`.
    pub bind: Option<SocketAddr>,
    pub project_id: String,
    pub client_email: String,
    pub private_key_id: String,
    /// `expires_in` of issued tokens, in seconds (Google: 3599).
    pub token_expires_in: u64,
    /// How far in the future an assertion's `iat` may be.
    pub max_clock_skew: SignedDuration,
    /// Read (GET) requests a minute.
    pub read_requests_per_minute: u32,
    /// Write (POST) requests a minute.
    pub write_requests_per_minute: u32,
    /// No per-minute quota at all (benchmarks).
    pub quota_off: bool,
    /// The fake's clock: the wall clock by default (assertions carry real
    /// times); [`GoogleFake::advance_clock`] moves it.
    pub clock: FakeClock,
}

impl Default for GoogleFakeConfig {
    fn default() -> Self {
        GoogleFakeConfig {
            bind: None,
            project_id: "fake-project-000000".to_owned(),
            client_email: "ledger-sync@fake-project-000000.iam.gserviceaccount.com".to_owned(),
            private_key_id: "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f".to_owned(),
            token_expires_in: 3599,
            max_clock_skew: SignedDuration::from_secs(60),
            read_requests_per_minute: 60,
            write_requests_per_minute: 60,
            quota_off: false,
            clock: FakeClock::Wall(SignedDuration::ZERO),
        }
    }
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleRequest {
    pub method: String,
    /// As sent (percent-encoded).
    pub path: String,
    pub query: Option<String>,
    /// The fake's clock when it came.
    pub at: Timestamp,
    pub status: u16,
}

impl GoogleRequest {
    pub fn is_token(&self) -> bool {
        self.path == TOKEN_PATH
    }
}

/// A stored cell value.
#[derive(Debug, Clone, PartialEq)]
enum CellValue {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
struct Cell {
    value: CellValue,
    format: Option<String>,
}

impl Cell {
    const EMPTY: Cell = Cell {
        value: CellValue::Empty,
        format: None,
    };

    fn is_empty(&self) -> bool {
        self.value == CellValue::Empty
    }
}

#[derive(Debug, Clone)]
struct Tab {
    name: String,
    rows: Vec<Vec<Cell>>,
}

impl Tab {
    fn width(&self) -> usize {
        self.rows.iter().map(Vec::len).max().unwrap_or(0)
    }
    fn grid_cols(&self) -> u32 {
        u32::try_from(self.width()).unwrap_or(u32::MAX).max(26)
    }
    fn grid_rows(&self) -> u64 {
        (self.rows.len() as u64).max(1000)
    }
    fn cell(&self, row: u64, col: u32) -> &Cell {
        usize::try_from(row - 1)
            .ok()
            .and_then(|r| self.rows.get(r))
            .and_then(|r| r.get(usize::try_from(col - 1).ok()?))
            .unwrap_or(&Cell::EMPTY)
    }
    fn cell_mut(&mut self, row: u64, col: u32) -> &mut Cell {
        let r = usize::try_from(row - 1).unwrap_or(usize::MAX);
        let c = usize::try_from(col - 1).unwrap_or(usize::MAX);
        if self.rows.len() <= r {
            self.rows.resize(r + 1, Vec::new());
        }
        let line = &mut self.rows[r];
        if line.len() <= c {
            line.resize(c + 1, Cell::EMPTY);
        }
        &mut line[c]
    }
    /// The last row (1-based) with a non-empty cell, at or below `from`.
    fn last_row_from(&self, from: u64) -> Option<u64> {
        self.rows
            .iter()
            .enumerate()
            .rev()
            .find(|(i, r)| (*i as u64) + 1 >= from && r.iter().any(|c| !c.is_empty()))
            .map(|(i, _)| i as u64 + 1)
    }
}

#[derive(Debug, Clone)]
struct Spreadsheet {
    shared: bool,
    tabs: Vec<Tab>,
}

impl Spreadsheet {
    fn tab_index(&self, name: &str) -> Option<usize> {
        self.tabs.iter().position(|t| t.name == name)
    }
}

struct GState {
    clock: FakeClock,
    tokens: HashMap<String, Timestamp>,
    issued: u64,
    sheets: HashMap<String, Spreadsheet>,
    faults: VecDeque<u16>,
    requests: Vec<GoogleRequest>,
    reads: VecDeque<Timestamp>,
    writes: VecDeque<Timestamp>,
    quota_off: bool,
}

struct Shared {
    cfg: GoogleFakeConfig,
    key_pem: String,
    public_key: Vec<u8>,
    token_uri: Mutex<String>,
    state: Mutex<GState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, GState> {
        self.state.lock().expect("google fake mutex poisoned")
    }
    fn token_uri(&self) -> String {
        self.token_uri
            .lock()
            .expect("google fake mutex poisoned")
            .clone()
    }
}

/// A running Google fake. Dropping it (or [`GoogleFake::shutdown`]) stops
/// the server.
pub struct GoogleFake {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for GoogleFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleFake")
            .field("addr", &self.server.addr)
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

/// A cell value with a number format, for [`GoogleFake::set_values`]:
/// `{"value": v, "format": f}`.
pub fn formatted(value: Value, format: &str) -> Value {
    json!({ "value": value, "format": format })
}

/// A date cell (its serial number) shown with `format` (`dd/mm/yyyy`).
pub fn date_cell(date: Date, format: &str) -> Value {
    let serial = (date - sheets_epoch()).get_days();
    formatted(json!(serial), format)
}

fn sheets_epoch() -> Date {
    jiff::civil::date(1899, 12, 30)
}

impl GoogleFake {
    /// Generates the key, binds and serves.
    pub async fn start(cfg: GoogleFakeConfig) -> std::io::Result<GoogleFake> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| std::io::Error::other("RSA key generation failed"))?;
        let der: Pkcs8V1Der<'static> = pair
            .as_der()
            .map_err(|_| std::io::Error::other("PKCS#8 encoding failed"))?;
        let b64 = STANDARD.encode(der.as_ref());
        let mut key_pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            key_pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            key_pem.push('\n');
        }
        key_pem.push_str("-----END PRIVATE KEY-----\n");
        let shared = Arc::new(Shared {
            key_pem,
            public_key: pair.public_key().as_ref().to_vec(),
            token_uri: Mutex::new(String::new()),
            state: Mutex::new(GState {
                clock: cfg.clock,
                tokens: HashMap::new(),
                issued: 0,
                sheets: HashMap::new(),
                faults: VecDeque::new(),
                requests: Vec::new(),
                reads: VecDeque::new(),
                writes: VecDeque::new(),
                quota_off: cfg.quota_off,
            }),
            cfg: cfg.clone(),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let server = Server::start(cfg.bind, router).await?;
        *shared.token_uri.lock().expect("google fake mutex poisoned") =
            format!("{}{TOKEN_PATH}", server.base_url());
        Ok(GoogleFake { shared, server })
    }

    /// `http://127.0.0.1:PORT`: the Sheets base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// `http://127.0.0.1:PORT/token`.
    pub fn token_uri(&self) -> String {
        self.shared.token_uri()
    }

    pub fn config(&self) -> &GoogleFakeConfig {
        &self.shared.cfg
    }

    pub fn client_email(&self) -> &str {
        &self.shared.cfg.client_email
    }

    /// A key file's JSON for the generated key (the layout Google's console
    /// downloads), `token_uri` = [`GoogleFake::token_uri`].
    pub fn service_account_key_json(&self) -> String {
        let cfg = &self.shared.cfg;
        let v = json!({
            "type": "service_account",
            "project_id": cfg.project_id,
            "private_key_id": cfg.private_key_id,
            "private_key": self.shared.key_pem,
            "client_email": cfg.client_email,
            "client_id": "000000000000000000000",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                cfg.client_email.replace('@', "%40")
            ),
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// Writes [`GoogleFake::service_account_key_json`] to
    /// `dir/service-account.json`.
    pub fn write_key_file(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join("service-account.json");
        std::fs::write(&path, self.service_account_key_json())?;
        Ok(path)
    }

    /// The fake's now.
    pub fn now(&self) -> Timestamp {
        self.shared.lock().clock.now()
    }

    /// A clock closure reading the fake's clock (give it to the client so
    /// both move together).
    pub fn clock_fn(&self) -> impl Fn() -> Timestamp + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.lock().clock.now()
    }

    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().clock.advance(by);
    }

    /// Freezes the fake's clock at `at` (a simulated clock drives it).
    pub fn set_clock(&self, at: Timestamp) {
        self.shared.lock().clock = FakeClock::Frozen(at);
    }

    /// Creates an empty spreadsheet shared with the service account, with
    /// one tab `Sheet1`.
    pub fn add_spreadsheet(&self, id: &str) {
        self.shared.lock().sheets.insert(
            id.to_owned(),
            Spreadsheet {
                shared: true,
                tabs: vec![Tab {
                    name: "Sheet1".to_owned(),
                    rows: Vec::new(),
                }],
            },
        );
    }

    /// Whether the spreadsheet is shared with the service account (else
    /// every call on it is 403).
    pub fn set_shared(&self, id: &str, shared: bool) {
        if let Some(s) = self.shared.lock().sheets.get_mut(id) {
            s.shared = shared;
        }
    }

    /// Replaces a tab's cells (creating the tab). Each cell is a string,
    /// number, bool, null (empty) or `{"value": v, "format": f}`
    /// ([`formatted`], [`date_cell`]).
    pub fn set_values(&self, id: &str, tab: &str, rows: Vec<Vec<Value>>) {
        let rows = rows
            .into_iter()
            .map(|r| r.iter().map(cell_from_json).collect())
            .collect();
        let mut st = self.shared.lock();
        let sheet = st
            .sheets
            .get_mut(id)
            .unwrap_or_else(|| panic!("no spreadsheet {id}: call add_spreadsheet"));
        match sheet.tab_index(tab) {
            Some(i) => sheet.tabs[i].rows = rows,
            None => sheet.tabs.push(Tab {
                name: tab.to_owned(),
                rows,
            }),
        }
    }

    /// A tab's stored values (unformatted), ragged like an answer; `None`
    /// for an unknown spreadsheet or tab.
    pub fn values(&self, id: &str, tab: &str) -> Option<Vec<Vec<Value>>> {
        let st = self.shared.lock();
        let sheet = st.sheets.get(id)?;
        let t = &sheet.tabs[sheet.tab_index(tab)?];
        let area = Area {
            tab: 0,
            c1: 1,
            r1: 1,
            c2: None,
            r2: None,
        };
        Some(render(t, &area, Render::Unformatted))
    }

    /// A tab's displayed values (`FORMATTED_VALUE`).
    pub fn formatted_values(&self, id: &str, tab: &str) -> Option<Vec<Vec<Value>>> {
        let st = self.shared.lock();
        let sheet = st.sheets.get(id)?;
        let t = &sheet.tabs[sheet.tab_index(tab)?];
        let area = Area {
            tab: 0,
            c1: 1,
            r1: 1,
            c2: None,
            r2: None,
        };
        Some(render(t, &area, Render::Formatted))
    }

    /// A person edits one cell (`C5`), keeping its format.
    pub fn edit_cell(&self, id: &str, tab: &str, cell: &str, value: &Value) {
        let (Some(c), Some(r)) = parse_cell(cell).unwrap_or((None, None)) else {
            panic!("not a cell: {cell}");
        };
        let mut st = self.shared.lock();
        let sheet = st.sheets.get_mut(id).expect("spreadsheet exists");
        let i = sheet.tab_index(tab).expect("tab exists");
        let new = cell_from_json(value);
        let target = sheet.tabs[i].cell_mut(r, c);
        target.value = new.value;
        if new.format.is_some() {
            target.format = new.format;
        }
    }

    /// A person deletes a sheet row (1-based): the rows below move up.
    pub fn delete_row(&self, id: &str, tab: &str, row: u64) {
        let mut st = self.shared.lock();
        let sheet = st.sheets.get_mut(id).expect("spreadsheet exists");
        let i = sheet.tab_index(tab).expect("tab exists");
        let rows = &mut sheet.tabs[i].rows;
        if let Ok(r) = usize::try_from(row - 1)
            && r < rows.len()
        {
            rows.remove(r);
        }
    }

    /// The next `n` Sheets calls answer `status` with Google's envelope
    /// (429 `RESOURCE_EXHAUSTED`, 500 `INTERNAL`, 503 `UNAVAILABLE`, …).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut st = self.shared.lock();
        st.faults.extend(std::iter::repeat_n(status, n));
    }

    /// Turns the per-minute quota off or on.
    pub fn set_quota_off(&self, off: bool) {
        self.shared.lock().quota_off = off;
    }

    /// Forgets every issued token (the next Sheets call gets 401).
    pub fn revoke_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Tokens issued so far.
    pub fn issued_tokens(&self) -> u64 {
        self.shared.lock().issued
    }

    /// Every request answered, in order.
    pub fn requests(&self) -> Vec<GoogleRequest> {
        self.shared.lock().requests.clone()
    }

    /// Sheets requests (token requests left out).
    pub fn sheets_requests(&self) -> Vec<GoogleRequest> {
        self.requests()
            .into_iter()
            .filter(|r| !r.is_token())
            .collect()
    }

    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

fn cell_from_json(v: &Value) -> Cell {
    match v {
        Value::Object(o) => {
            let inner = cell_from_json(o.get("value").unwrap_or(&Value::Null));
            Cell {
                value: inner.value,
                format: o.get("format").and_then(Value::as_str).map(str::to_owned),
            }
        }
        Value::String(s) if s.is_empty() => Cell::EMPTY,
        Value::String(s) => Cell {
            value: CellValue::Text(s.clone()),
            format: None,
        },
        Value::Number(n) => Cell {
            value: CellValue::Number(n.as_f64().unwrap_or(0.0)),
            format: None,
        },
        Value::Bool(b) => Cell {
            value: CellValue::Bool(*b),
            format: None,
        },
        Value::Null | Value::Array(_) => Cell::EMPTY,
    }
}

// ---------------------------------------------------------------- A1

/// A rectangle of a tab, 1-based, `None` ends open (to the grid's edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Area {
    tab: usize,
    c1: u32,
    r1: u64,
    c2: Option<u32>,
    r2: Option<u64>,
}

fn column_number(letters: &str) -> Option<u32> {
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    letters.bytes().try_fold(0u32, |n, b| {
        n.checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)
    })
}

fn column_letters(mut n: u32) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(b'A' + u8::try_from((n - 1) % 26).unwrap_or(0));
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn parse_cell(s: &str) -> Option<(Option<u32>, Option<u64>)> {
    let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    let (l, d) = s.split_at(split);
    let col = if l.is_empty() {
        None
    } else {
        Some(column_number(l)?)
    };
    let row = if d.is_empty() {
        None
    } else {
        Some(d.parse::<u64>().ok().filter(|r| *r > 0)?)
    };
    (col.is_some() || row.is_some()).then_some((col, row))
}

/// Splits at the `!` after the tab name, unquoting a quoted name.
fn split_sheet(range: &str) -> Option<(String, Option<&str>)> {
    if let Some(rest) = range.strip_prefix('\'') {
        let mut name = String::new();
        let mut it = rest.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c == '\'' {
                if matches!(it.peek(), Some((_, '\''))) {
                    name.push('\'');
                    it.next();
                    continue;
                }
                let after = &rest[i + 1..];
                return match after {
                    "" => Some((name, None)),
                    _ => Some((name, Some(after.strip_prefix('!')?))),
                };
            }
            name.push(c);
        }
        return None;
    }
    Some(match range.rfind('!') {
        Some(i) => (range[..i].to_owned(), Some(&range[i + 1..])),
        None => (range.to_owned(), None),
    })
}

fn parse_cells(cells: &str, tab: usize) -> Option<Area> {
    let (a, b) = cells.split_once(':').unwrap_or((cells, cells));
    let (ac, ar) = parse_cell(a)?;
    let (bc, br) = parse_cell(b)?;
    let single = !cells.contains(':');
    // `A` alone or `A:C` are columns; `1:15` rows; `A5:H` to the last row.
    if single && (ac.is_none() || ar.is_none()) {
        return None;
    }
    let area = Area {
        tab,
        c1: ac.unwrap_or(1),
        r1: ar.unwrap_or(1),
        c2: bc,
        r2: br,
    };
    if (ac.is_none() != bc.is_none() && ar.is_none())
        || area.c2.is_some_and(|c| c < area.c1)
        || area.r2.is_some_and(|r| r < area.r1)
    {
        return None;
    }
    Some(area)
}

/// Parses a range against a spreadsheet: `'Tab Name'!A1:Z`, `Tab!A:C`,
/// `Tab`, `Tab!B7`, `Tab!1:15`, or cells alone on the first tab.
fn parse_range(sheet: &Spreadsheet, range: &str) -> Option<Area> {
    let range = range.trim();
    let (name, cells) = split_sheet(range)?;
    match cells {
        None => {
            if let Some(tab) = sheet.tab_index(&name) {
                return Some(Area {
                    tab,
                    c1: 1,
                    r1: 1,
                    c2: None,
                    r2: None,
                });
            }
            if range.starts_with('\'') || sheet.tabs.is_empty() {
                return None;
            }
            parse_cells(range, 0)
        }
        Some(cells) => parse_cells(cells, sheet.tab_index(&name)?),
    }
}

fn sheet_name_a1(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

fn a1_of(tab: &str, c1: u32, r1: u64, c2: u32, r2: u64) -> String {
    let start = format!("{}{r1}", column_letters(c1));
    if c1 == c2 && r1 == r2 {
        format!("{}!{start}", sheet_name_a1(tab))
    } else {
        format!("{}!{start}:{}{r2}", sheet_name_a1(tab), column_letters(c2))
    }
}

/// The area clipped to the grid, as Google writes it back.
fn area_a1(t: &Tab, a: &Area) -> String {
    let c2 = a.c2.unwrap_or(t.grid_cols()).min(t.grid_cols().max(a.c1));
    let r2 = a.r2.unwrap_or(t.grid_rows()).min(t.grid_rows().max(a.r1));
    a1_of(&t.name, a.c1, a.r1, c2, r2)
}

// ---------------------------------------------------------- rendering

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Render {
    Formatted,
    Unformatted,
    /// Unformatted, dates as formatted text (`dateTimeRenderOption=FORMATTED_STRING`).
    UnformattedDatesAsText,
}

fn number_json(n: f64) -> Value {
    // Whole numbers within 2^53 are integral.
    #[allow(clippy::cast_possible_truncation)]
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn general(n: f64) -> String {
    format!("{}", n + 0.0)
}

fn is_date_format(f: &str) -> bool {
    let l = f.to_ascii_lowercase();
    l.contains("yy") || l.contains("mmm") || (l.contains("dd") && l.contains('m'))
}

/// Applies a date pattern (`dd/mm/yyyy`, `d-mmm-yyyy`, `yyyy-mm-dd`).
fn format_date(serial: f64, pattern: &str) -> String {
    // Serials of ledgers fit an i32 many times over.
    #[allow(clippy::cast_possible_truncation)]
    let days = serial.floor().clamp(-1e6, 3e6) as i32;
    let Ok(d) = sheets_epoch().checked_add(jiff::Span::new().days(days)) else {
        return general(serial);
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].to_ascii_lowercase();
        let mut n = 1;
        while i + n < chars.len() && chars[i + n].to_ascii_lowercase() == c {
            n += 1;
        }
        let piece = match (c, n) {
            ('d', 1) => d.day().to_string(),
            ('d', _) => format!("{:02}", d.day()),
            ('m', 1) => d.month().to_string(),
            ('m', 2) => format!("{:02}", d.month()),
            ('m', 3) => d.strftime("%b").to_string(),
            ('m', _) => d.strftime("%B").to_string(),
            ('y', 2) => format!("{:02}", d.year() % 100),
            ('y', _) => d.year().to_string(),
            _ => chars[i..i + n].iter().collect(),
        };
        out.push_str(&piece);
        i += n;
    }
    out
}

fn group_thousands(int: &str) -> String {
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn format_number(n: f64, pattern: &str) -> String {
    if is_date_format(pattern) {
        return format_date(n, pattern);
    }
    let unquoted = pattern.replace('"', "");
    let digits_start = unquoted.find(['0', '#']).unwrap_or(unquoted.len());
    let (prefix, body) = unquoted.split_at(digits_start);
    if body.is_empty() {
        return general(n);
    }
    let decimals = body
        .split_once('.')
        .map_or(0, |(_, f)| f.chars().filter(|c| *c == '0').count());
    let int_zeros = body
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| *c == '0')
        .count();
    let text = format!("{:.*}", decimals, n.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), ""), |(a, b)| (a, b));
    let mut int = format!("{int:0>int_zeros$}");
    if body.contains(',') {
        int = group_thousands(&int);
    }
    let sign = if n < 0.0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{prefix}{int}")
    } else {
        format!("{sign}{prefix}{int}.{frac}")
    }
}

fn render_cell(cell: &Cell, how: Render) -> Value {
    match (&cell.value, how) {
        (CellValue::Empty, _) => json!(""),
        (CellValue::Text(s), _) => json!(s),
        (CellValue::Bool(b), Render::Formatted) => json!(if *b { "TRUE" } else { "FALSE" }),
        (CellValue::Bool(b), _) => json!(b),
        (CellValue::Number(n), Render::Formatted) => {
            json!(
                cell.format
                    .as_deref()
                    .map_or_else(|| general(*n), |f| format_number(*n, f))
            )
        }
        (CellValue::Number(n), Render::UnformattedDatesAsText) => match cell.format.as_deref() {
            Some(f) if is_date_format(f) => json!(format_date(*n, f)),
            _ => number_json(*n),
        },
        (CellValue::Number(n), Render::Unformatted) => number_json(*n),
    }
}

/// The area's values, ragged: trailing empty cells and rows left out.
fn render(t: &Tab, a: &Area, how: Render) -> Vec<Vec<Value>> {
    let last_row = (t.rows.len() as u64).min(a.r2.unwrap_or(u64::MAX));
    let mut out = Vec::new();
    for r in a.r1..=last_row {
        let row = &t.rows[usize::try_from(r - 1).unwrap_or(0)];
        let last_col = u32::try_from(row.len())
            .unwrap_or(u32::MAX)
            .min(a.c2.unwrap_or(u32::MAX));
        let mut cells: Vec<Value> = (a.c1..=last_col)
            .map(|c| render_cell(t.cell(r, c), how))
            .collect();
        while cells.last().is_some_and(|v| v == "") {
            cells.pop();
        }
        out.push(cells);
    }
    while out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    out
}

// ----------------------------------------------------------- answers

fn envelope(code: u16, status: &str, message: &str) -> Response {
    let http = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        http,
        axum::Json(json!({"error": {"code": code, "message": message, "status": status}})),
    )
        .into_response()
}

fn quota_answer(write: bool) -> Response {
    let (metric, limit, id) = if write {
        (
            "Write requests",
            "Write requests per minute per user",
            "write_requests",
        )
    } else {
        (
            "Read requests",
            "Read requests per minute per user",
            "read_requests",
        )
    };
    let body = json!({"error": {
        "code": 429,
        "message": format!("Quota exceeded for quota metric '{metric}' and limit '{limit}' of service 'sheets.googleapis.com'."),
        "status": "RESOURCE_EXHAUSTED",
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "service": "sheets.googleapis.com",
                "quota_metric": format!("sheets.googleapis.com/{id}"),
                "quota_limit": limit.replace(' ', ""),
            }
        }]
    }});
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

fn fault_answer(status: u16) -> Response {
    match status {
        429 => quota_answer(false),
        500 => envelope(500, "INTERNAL", "Internal error encountered."),
        503 => envelope(503, "UNAVAILABLE", "The service is currently unavailable."),
        401 => envelope(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        ),
        403 => envelope(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        ),
        404 => envelope(404, "NOT_FOUND", "Requested entity was not found."),
        s => envelope(s, "UNKNOWN", "Scripted fault."),
    }
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A refusal computed before the answer is built.
type Refusal = Box<Response>;

fn refuse(code: u16, status: &str, message: &str) -> Refusal {
    Box::new(envelope(code, status, message))
}

/// The rows and columns a write touched, per tab.
type Touched = (BTreeSet<(usize, u64)>, BTreeSet<(usize, u32)>);

fn bad_range(range: &str) -> Response {
    envelope(
        400,
        "INVALID_ARGUMENT",
        &format!("Unable to parse range: {range}"),
    )
}

// ---------------------------------------------------------- handlers

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let resp = if path == TOKEN_PATH && method == Method::POST {
        token(&shared, &body)
    } else if let Some(rest) = path.strip_prefix(SHEETS_PREFIX) {
        sheets(
            &shared,
            &method,
            rest,
            uri.query().unwrap_or(""),
            &headers,
            &body,
        )
    } else {
        envelope(404, "NOT_FOUND", "Unknown path.")
    };
    let mut st = shared.lock();
    let at = st.clock.now();
    st.requests.push(GoogleRequest {
        method: method.to_string(),
        path,
        query: uri.query().map(str::to_owned),
        at,
        status: resp.status().as_u16(),
    });
    resp
}

fn b64_json(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .as_object()
        .cloned()
}

fn token(shared: &Shared, body: &[u8]) -> Response {
    const BAD_TIME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER_GRANT) {
        return oauth_error("unsupported_grant_type", "Invalid grant_type: ");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return oauth_error("invalid_grant", "Invalid JWT: malformed assertion.");
    };
    let (Some(header), Some(claims), Ok(sig)) =
        (b64_json(h), b64_json(c), URL_SAFE_NO_PAD.decode(s))
    else {
        return oauth_error("invalid_grant", "Invalid JWT: malformed assertion.");
    };
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return oauth_error("invalid_grant", "Invalid JWT: algorithm must be RS256.");
    }
    let cfg = &shared.cfg;
    if header
        .get("kid")
        .and_then(Value::as_str)
        .is_some_and(|k| k != cfg.private_key_id)
    {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    }
    let signed = format!("{h}.{c}");
    if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &shared.public_key)
        .verify(signed.as_bytes(), &sig)
        .is_err()
    {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    }
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    if text("iss") != cfg.client_email {
        return oauth_error("invalid_grant", "Invalid grant: account not found");
    }
    if text("aud") != shared.token_uri() {
        return oauth_error(
            "invalid_grant",
            &format!(
                "Invalid JWT: Failed audience check. The expected value is {}",
                shared.token_uri()
            ),
        );
    }
    if !text("scope").split(' ').any(|s| s == SHEETS_SCOPE) {
        return oauth_error(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return oauth_error("invalid_grant", BAD_TIME);
    };
    let mut st = shared.lock();
    let now = st.clock.now().as_second();
    if iat > now + cfg.max_clock_skew.as_secs() || exp <= now || exp <= iat || exp - iat > 3600 {
        return oauth_error("invalid_grant", BAD_TIME);
    }
    st.issued += 1;
    let token = format!(
        "ya29.fake-{}-{}",
        st.issued,
        hex::encode(&sig[..8.min(sig.len())])
    );
    let expires_in = cfg.token_expires_in;
    let expires_at = st
        .clock
        .now()
        .checked_add(SignedDuration::from_secs(
            i64::try_from(expires_in).unwrap_or(i64::MAX),
        ))
        .unwrap_or(Timestamp::MAX);
    st.tokens.insert(token.clone(), expires_at);
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(
            json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}),
        ),
    )
        .into_response()
}

/// Checks the token, faults and quota; `None` lets the call through.
fn gate(shared: &Shared, st: &mut GState, headers: &HeaderMap, write: bool) -> Option<Response> {
    let now = st.clock.now();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|t| st.tokens.get(t).is_some_and(|exp| *exp > now));
    if !valid {
        return Some(envelope(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ));
    }
    if let Some(status) = st.faults.pop_front() {
        return Some(fault_answer(status));
    }
    if !st.quota_off {
        let cfg = &shared.cfg;
        let (window, limit) = if write {
            (&mut st.writes, cfg.write_requests_per_minute)
        } else {
            (&mut st.reads, cfg.read_requests_per_minute)
        };
        let minute_ago = now - SignedDuration::from_mins(1);
        while window.front().is_some_and(|t| *t <= minute_ago) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return Some(quota_answer(write));
        }
        window.push_back(now);
    }
    None
}

fn sheets(
    shared: &Shared,
    method: &Method,
    rest: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some((id, op)) = rest.split_once('/') else {
        return envelope(404, "NOT_FOUND", "Unknown path.");
    };
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8_lossy()
        .into_owned();
    let query: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let write = *method == Method::POST;
    let mut st = shared.lock();
    if let Some(refused) = gate(shared, &mut st, headers, write) {
        return refused;
    }
    let Some(sheet) = st.sheets.get_mut(&id) else {
        return envelope(404, "NOT_FOUND", "Requested entity was not found.");
    };
    if !sheet.shared {
        return envelope(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        );
    }
    if param(&query, "majorDimension").is_some_and(|d| d != "ROWS") {
        return envelope(
            400,
            "INVALID_ARGUMENT",
            "This fake serves majorDimension=ROWS only.",
        );
    }
    if *method == Method::GET && op == "values:batchGet" {
        let ranges: Vec<&str> = query
            .iter()
            .filter(|(k, _)| k == "ranges")
            .map(|(_, v)| v.as_str())
            .collect();
        let how = match render_option(
            param(&query, "valueRenderOption"),
            param(&query, "dateTimeRenderOption"),
        ) {
            Ok(h) => h,
            Err(r) => return *r,
        };
        let mut out = Vec::new();
        for r in ranges {
            let Some(area) = parse_range(sheet, r) else {
                return bad_range(r);
            };
            out.push(value_range_json(&sheet.tabs[area.tab], &area, how));
        }
        return axum::Json(json!({"spreadsheetId": id, "valueRanges": out})).into_response();
    }
    if *method == Method::POST && op == "values:batchUpdate" {
        return batch_update(sheet, &id, body);
    }
    let Some(target) = op.strip_prefix("values/") else {
        return envelope(404, "NOT_FOUND", "Unknown method.");
    };
    let decoded = percent_encoding::percent_decode_str(target)
        .decode_utf8_lossy()
        .into_owned();
    if *method == Method::POST {
        return match decoded.rsplit_once(':') {
            Some((range, "append")) => append(sheet, &id, range, &query, body),
            _ => envelope(404, "NOT_FOUND", "Unknown method."),
        };
    }
    if *method != Method::GET {
        return envelope(404, "NOT_FOUND", "Unknown method.");
    }
    let how = match render_option(
        param(&query, "valueRenderOption"),
        param(&query, "dateTimeRenderOption"),
    ) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    let Some(area) = parse_range(sheet, &decoded) else {
        return bad_range(&decoded);
    };
    axum::Json(value_range_json(&sheet.tabs[area.tab], &area, how)).into_response()
}

fn param<'q>(query: &'q [(String, String)], key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(n, _)| n == key)
        .map(|(_, v)| v.as_str())
}

fn render_option(value: Option<&str>, date: Option<&str>) -> Result<Render, Refusal> {
    let dates_as_text = match date {
        None | Some("SERIAL_NUMBER") => false,
        Some("FORMATTED_STRING") => true,
        Some(other) => {
            return Err(refuse(
                400,
                "INVALID_ARGUMENT",
                &format!("Invalid value at 'date_time_render_option' ({other})"),
            ));
        }
    };
    match value {
        None | Some("FORMATTED_VALUE") => Ok(Render::Formatted),
        Some("UNFORMATTED_VALUE") if dates_as_text => Ok(Render::UnformattedDatesAsText),
        Some("UNFORMATTED_VALUE") => Ok(Render::Unformatted),
        Some(other) => Err(refuse(
            400,
            "INVALID_ARGUMENT",
            &format!("Invalid value at 'value_render_option' ({other})"),
        )),
    }
}

fn value_range_json(t: &Tab, a: &Area, how: Render) -> Value {
    let values = render(t, a, how);
    let mut v = json!({"range": area_a1(t, a), "majorDimension": "ROWS"});
    if !values.is_empty() {
        v["values"] = json!(values);
    }
    v
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Raw,
    UserEntered,
}

fn input_option(v: Option<&str>) -> Result<Input, Refusal> {
    match v {
        Some("RAW") => Ok(Input::Raw),
        Some("USER_ENTERED") => Ok(Input::UserEntered),
        Some(other) => Err(refuse(
            400,
            "INVALID_ARGUMENT",
            &format!("Invalid value at 'value_input_option' ({other})"),
        )),
        None => Err(refuse(
            400,
            "INVALID_ARGUMENT",
            "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED",
        )),
    }
}

fn input_cell(v: &Value, input: Input) -> Option<CellValue> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) if s.is_empty() => CellValue::Empty,
        Value::String(s) if input == Input::Raw => CellValue::Text(s.clone()),
        Value::String(s) => {
            if let Some(t) = s.strip_prefix('\'') {
                CellValue::Text(t.to_owned())
            } else if let Ok(n) = s.trim().replace(',', "").parse::<f64>() {
                CellValue::Number(n)
            } else if s.eq_ignore_ascii_case("TRUE") || s.eq_ignore_ascii_case("FALSE") {
                CellValue::Bool(s.eq_ignore_ascii_case("TRUE"))
            } else {
                CellValue::Text(s.clone())
            }
        }
        Value::Number(n) => CellValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => CellValue::Bool(*b),
        other => CellValue::Text(other.to_string()),
    })
}

/// Writes `values` at the area's top-left; returns the UpdateValuesResponse
/// and the (tab, row) / (tab, column) pairs touched.
fn write_values(
    sheet: &mut Spreadsheet,
    id: &str,
    area: &Area,
    values: &[Vec<Value>],
    input: Input,
    touched: &mut Touched,
) -> Value {
    let t = &mut sheet.tabs[area.tab];
    let mut cells = 0u64;
    let mut width = 0u32;
    for (i, row) in values.iter().enumerate() {
        let r = area.r1 + i as u64;
        for (j, v) in row.iter().enumerate() {
            let c = area.c1 + u32::try_from(j).unwrap_or(u32::MAX);
            if let Some(value) = input_cell(v, input) {
                t.cell_mut(r, c).value = value;
                cells += 1;
                touched.0.insert((area.tab, r));
                touched.1.insert((area.tab, c));
            }
        }
        width = width.max(u32::try_from(row.len()).unwrap_or(u32::MAX));
    }
    let rows = values.len() as u64;
    let mut resp = json!({"spreadsheetId": id});
    if rows > 0 && width > 0 {
        resp["updatedRange"] = json!(a1_of(
            &t.name,
            area.c1,
            area.r1,
            area.c1 + width - 1,
            area.r1 + rows - 1
        ));
        resp["updatedRows"] = json!(rows);
        resp["updatedColumns"] = json!(width);
        resp["updatedCells"] = json!(cells);
    }
    resp
}

/// Whether `values` fit in the area; the 400 answer when not.
fn check_fits(area: &Area, range: &str, values: &[Vec<Value>]) -> Result<(), Refusal> {
    let rows = values.len() as u64;
    if let Some(r2) = area.r2
        && rows > 0
        && area.r1 + rows - 1 > r2
    {
        return Err(refuse(
            400,
            "INVALID_ARGUMENT",
            &format!(
                "Requested writing within range [{range}], but tried writing to row [{}]",
                area.r1 + rows - 1
            ),
        ));
    }
    let width = values.iter().map(Vec::len).max().unwrap_or(0);
    if let Some(c2) = area.c2
        && width > 0
        && area.c1 + u32::try_from(width).unwrap_or(u32::MAX) - 1 > c2
    {
        return Err(refuse(
            400,
            "INVALID_ARGUMENT",
            &format!(
                "Requested writing within range [{range}], but tried writing to column [{}]",
                column_letters(area.c1 + u32::try_from(width).unwrap_or(u32::MAX) - 1)
            ),
        ));
    }
    Ok(())
}

fn values_of(v: &Value) -> Result<Vec<Vec<Value>>, Refusal> {
    match v.get("values") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(vals) => serde_json::from_value(vals.clone()).map_err(|_| {
            refuse(
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload: `values` must be rows of cells.",
            )
        }),
    }
}

fn batch_update(sheet: &mut Spreadsheet, id: &str, body: &[u8]) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return envelope(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    let input = match input_option(body.get("valueInputOption").and_then(Value::as_str)) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let data = body
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut planned = Vec::with_capacity(data.len());
    for d in &data {
        let range = d.get("range").and_then(Value::as_str).unwrap_or("");
        let Some(area) = parse_range(sheet, range) else {
            return bad_range(range);
        };
        if d.get("majorDimension")
            .and_then(Value::as_str)
            .is_some_and(|m| m != "ROWS")
        {
            return envelope(
                400,
                "INVALID_ARGUMENT",
                "This fake serves majorDimension=ROWS only.",
            );
        }
        let values = match values_of(d) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        if let Err(r) = check_fits(&area, range, &values) {
            return *r;
        }
        planned.push((area, values));
    }
    let mut touched = (BTreeSet::new(), BTreeSet::new());
    let mut responses = Vec::new();
    let mut cells = 0;
    let mut tabs = BTreeSet::new();
    for (area, values) in &planned {
        let r = write_values(sheet, id, area, values, input, &mut touched);
        cells += r.get("updatedCells").and_then(Value::as_u64).unwrap_or(0);
        tabs.insert(area.tab);
        responses.push(r);
    }
    axum::Json(json!({
        "spreadsheetId": id,
        "totalUpdatedRows": touched.0.len(),
        "totalUpdatedColumns": touched.1.len(),
        "totalUpdatedCells": cells,
        "totalUpdatedSheets": tabs.len(),
        "responses": responses,
    }))
    .into_response()
}

fn append(
    sheet: &mut Spreadsheet,
    id: &str,
    range: &str,
    query: &[(String, String)],
    body: &[u8],
) -> Response {
    let input = match input_option(param(query, "valueInputOption")) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let insert_rows = match param(query, "insertDataOption") {
        None | Some("OVERWRITE") => false,
        Some("INSERT_ROWS") => true,
        Some(other) => {
            return envelope(
                400,
                "INVALID_ARGUMENT",
                &format!("Invalid value at 'insert_data_option' ({other})"),
            );
        }
    };
    let Some(area) = parse_range(sheet, range) else {
        return bad_range(range);
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return envelope(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    if let Some(b) = body.get("range").and_then(Value::as_str)
        && parse_range(sheet, b) != Some(area)
    {
        return envelope(
            400,
            "INVALID_ARGUMENT",
            &format!("Requested range [{range}] doesn't match the range in the body [{b}]"),
        );
    }
    let values = match values_of(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let t = &sheet.tabs[area.tab];
    let found = t.last_row_from(area.r1);
    let table_range = found.map(|last| {
        let first = (area.r1..=last)
            .find(|r| {
                t.rows[usize::try_from(r - 1).unwrap_or(0)]
                    .iter()
                    .any(|c| !c.is_empty())
            })
            .unwrap_or(area.r1);
        let width = t.rows
            [usize::try_from(first - 1).unwrap_or(0)..usize::try_from(last).unwrap_or(0)]
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1);
        a1_of(
            &t.name,
            area.c1,
            first,
            u32::try_from(width).unwrap_or(1).max(area.c1),
            last,
        )
    });
    let at = found.map_or(area.r1, |l| l + 1);
    if insert_rows {
        let rows = &mut sheet.tabs[area.tab].rows;
        let idx = usize::try_from(at - 1).unwrap_or(usize::MAX);
        if idx < rows.len() {
            let blank = vec![Vec::new(); values.len()];
            rows.splice(idx..idx, blank);
        }
    }
    let target = Area {
        tab: area.tab,
        c1: area.c1,
        r1: at,
        c2: None,
        r2: None,
    };
    let mut touched = (BTreeSet::new(), BTreeSet::new());
    let updates = write_values(sheet, id, &target, &values, input, &mut touched);
    let mut resp = json!({"spreadsheetId": id, "updates": updates});
    if let Some(tr) = table_range {
        resp["tableRange"] = json!(tr);
    }
    axum::Json(resp).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Spreadsheet {
        Spreadsheet {
            shared: true,
            tabs: vec![
                Tab {
                    name: "Ledger".into(),
                    rows: Vec::new(),
                },
                Tab {
                    name: "Sales Ledger".into(),
                    rows: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn ranges_parse() {
        let s = sheet();
        let a = |tab, c1, r1, c2, r2| {
            Some(Area {
                tab,
                c1,
                r1,
                c2,
                r2,
            })
        };
        assert_eq!(parse_range(&s, "Ledger"), a(0, 1, 1, None, None));
        assert_eq!(
            parse_range(&s, "'Sales Ledger'!A1:Z"),
            a(1, 1, 1, Some(26), None)
        );
        assert_eq!(parse_range(&s, "Ledger!A:C"), a(0, 1, 1, Some(3), None));
        assert_eq!(parse_range(&s, "Ledger!B7"), a(0, 2, 7, Some(2), Some(7)));
        assert_eq!(parse_range(&s, "'Ledger'!1:15"), a(0, 1, 1, None, Some(15)));
        assert_eq!(
            parse_range(&s, "'Ledger'!K12:M12"),
            a(0, 11, 12, Some(13), Some(12))
        );
        assert_eq!(parse_range(&s, "A1:B2"), a(0, 1, 1, Some(2), Some(2)));
        assert_eq!(parse_range(&s, "NoSuchSheet!A1:B2"), None);
        assert_eq!(parse_range(&s, "Ledger!B2:A1"), None);
        assert_eq!(parse_range(&s, "Ledger!A"), None);
        assert_eq!(parse_range(&s, "'Sales Ledger"), None);
    }

    #[test]
    fn number_formats() {
        assert_eq!(format_number(46_361.0, "dd/mm/yyyy"), "05/12/2026");
        assert_eq!(format_number(46_361.0, "yyyy-mm-dd"), "2026-12-05");
        assert_eq!(format_number(46_361.0, "d-mmm-yyyy"), "5-Dec-2026");
        assert_eq!(format_number(123.0, "00000"), "00123");
        assert_eq!(format_number(919_000_000_001.0, "\"+\"0"), "+919000000001");
        assert_eq!(format_number(12_500.0, "₹#,##0.00"), "₹12,500.00");
        assert_eq!(format_number(1_234.567_8, "#,##0.00"), "1,234.57");
        assert_eq!(general(12_500.0), "12500");
        assert_eq!(number_json(12_500.0), json!(12_500));
        assert_eq!(number_json(0.5), json!(0.5));
    }
}
