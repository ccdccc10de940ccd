//! The Google Sheets client against the Google fake over real HTTP, and the
//! contract samples (copied into `tests/fixtures/google-sheets/`) read into
//! the client's types.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tagada_fakes::google::{date_cell, formatted};
use tagada_fakes::{GoogleFake, GoogleFakeConfig};
use tagada_sources::google::auth::{JWT_BEARER_GRANT, OAuthError, sign_assertion};
use tagada_sources::google::client::{BatchGetResponse, ErrorEnvelope};
use tagada_sources::google::{
    AppendResponse, BatchUpdateResponse, Clock, HeaderRow, JwtClaims, KeyError, Pacing,
    ServiceAccountKey, SheetsClient, SheetsTable, TokenSource, ValueRange, ValueRender,
};
use tagada_sources::table::{LedgerTable, RowWrite, TableCell, TableError};

const ID: &str = "1TestSpreadsheetId_FAKE_0000000000000000000";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/google-sheets/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pacing() -> Pacing {
    Pacing {
        min_interval: Duration::from_millis(2),
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(40),
        max_retries: 5,
    }
}

fn key_of(fake: &GoogleFake) -> ServiceAccountKey {
    ServiceAccountKey::from_json(&fake.service_account_key_json(), "fake key").unwrap()
}

fn client_with(fake: &GoogleFake, key: ServiceAccountKey, pacing: Pacing) -> Arc<SheetsClient> {
    let clock: Clock = Arc::new(fake.clock_fn());
    let tokens = Arc::new(TokenSource::new(key, clock).unwrap());
    Arc::new(SheetsClient::new(Some(&fake.base_url()), tokens, ID, pacing).unwrap())
}

async fn started(cfg: GoogleFakeConfig) -> (GoogleFake, Arc<SheetsClient>) {
    let fake = GoogleFake::start(cfg).await.unwrap();
    fake.add_spreadsheet(ID);
    let client = client_with(&fake, key_of(&fake), pacing());
    (fake, client)
}

fn token_requests(fake: &GoogleFake) -> usize {
    fake.requests().iter().filter(|r| r.is_token()).count()
}

fn header() -> Vec<Value> {
    [
        "invoice_no",
        "buyer_name",
        "buyer_phone",
        "amount_due",
        "due_date",
        "status",
        "reminded_on",
        "paid_on",
    ]
    .iter()
    .map(|s| json!(s))
    .collect()
}

fn text(s: &str) -> TableCell {
    TableCell::Text(s.to_owned())
}

#[test]
fn contract_samples_deserialize() {
    let get: ValueRange = serde_json::from_value(fixture("values_get_response.json")).unwrap();
    assert_eq!(get.range, "Ledger!A1:H4");
    assert_eq!(
        get.values.iter().map(Vec::len).collect::<Vec<_>>(),
        [8, 8, 7, 4]
    );
    let empty: ValueRange =
        serde_json::from_value(fixture("values_get_empty_response.json")).unwrap();
    assert!(empty.values.is_empty());
    let batch: BatchGetResponse =
        serde_json::from_value(fixture("values_batchGet_response.json")).unwrap();
    assert_eq!(batch.value_ranges.len(), 2);
    assert_eq!(
        batch.value_ranges[1].values[1],
        [json!("reminder_days"), json!("3")]
    );
    let appended: AppendResponse =
        serde_json::from_value(fixture("values_append_response.json")).unwrap();
    assert_eq!(appended.updates.updated_range, "Ledger!A5:H5");
    assert_eq!(appended.table_range.as_deref(), Some("Ledger!A1:H4"));
    let updated: BatchUpdateResponse =
        serde_json::from_value(fixture("values_batchUpdate_response.json")).unwrap();
    assert_eq!(updated.total_updated_cells, 3);
    assert_eq!(updated.responses[1].updated_range, "Ledger!H3:H4");
    let req = fixture("values_batchUpdate_request.json");
    let data: Vec<ValueRange> = serde_json::from_value(req["body"]["data"].clone()).unwrap();
    assert_eq!(data[1].range, "Ledger!H3:H4");
    let req = fixture("values_append_request.json");
    let body: ValueRange = serde_json::from_value(req["body"].clone()).unwrap();
    assert_eq!(body.values[0][3], json!("+919000000003"));
    for (file, code, status) in [
        ("error_400_bad_range.json", 400, "INVALID_ARGUMENT"),
        ("error_403_permission.json", 403, "PERMISSION_DENIED"),
        ("error_429_quota.json", 429, "RESOURCE_EXHAUSTED"),
    ] {
        let e: ErrorEnvelope = serde_json::from_value(fixture(file)).unwrap();
        assert_eq!((e.error.code, e.error.status.as_str()), (code, status));
    }
    let e: OAuthError = serde_json::from_value(fixture("token_error_invalid_grant.json")).unwrap();
    assert_eq!(e.error, "invalid_grant");
    let t = fixture("token_response.json");
    assert_eq!(t["token_type"], "Bearer");
    let claims: JwtClaims =
        serde_json::from_value(fixture("jwt_assertion_claims.json")["claims"].clone()).unwrap();
    assert_eq!(claims.exp - claims.iat, 3600);
    // The sample key's private key is a placeholder: refused, by field.
    let sample = fixture("service_account_key_FAKE.json").to_string();
    let err = ServiceAccountKey::from_json(&sample, "service_account_key_FAKE.json").unwrap_err();
    assert!(matches!(err, KeyError::BadPrivateKey { .. }), "{err}");
    assert!(err.to_string().contains("service_account_key_FAKE.json"));
    assert!(err.to_string().contains("private_key"));
}

#[tokio::test]
async fn key_file_round_trips_without_showing_the_key() {
    let fake = GoogleFake::start(GoogleFakeConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = fake.write_key_file(dir.path()).unwrap();
    let key = ServiceAccountKey::from_file(&path).unwrap();
    assert_eq!(key.client_email, fake.client_email());
    assert_eq!(key.token_uri, fake.token_uri());
    assert!(!format!("{key:?}").contains("PRIVATE KEY"));
    let missing = ServiceAccountKey::from_file(dir.path().join("nope.json")).unwrap_err();
    assert!(missing.to_string().contains("nope.json"));
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Ledger", vec![header()]);
    for _ in 0..5 {
        client
            .batch_get(&["Ledger!A1:H1".to_owned()], ValueRender::Formatted)
            .await
            .unwrap();
    }
    assert_eq!(token_requests(&fake), 1);
    assert_eq!(client.requests(), 6);
    assert_eq!(fake.requests().len(), 6);
    assert!(!format!("{client:?}").contains("ya29"));
}

#[tokio::test]
async fn token_is_renewed_before_it_expires() {
    let cfg = GoogleFakeConfig {
        token_expires_in: 400,
        ..GoogleFakeConfig::default()
    };
    let (fake, client) = started(cfg).await;
    let ranges = ["Sheet1".to_owned()];
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    assert_eq!(token_requests(&fake), 1);
    // 200 s left: under the 5-minute margin, so the next call renews.
    fake.advance_clock(Duration::from_secs(200));
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    assert_eq!(token_requests(&fake), 2);
    assert_eq!(fake.issued_tokens(), 2);
}

#[tokio::test]
async fn concurrent_calls_share_one_token_fetch() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    let calls = (0..8).map(|_| {
        let c = client.clone();
        tokio::spawn(async move {
            c.batch_get(&["Sheet1".to_owned()], ValueRender::Formatted)
                .await
        })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(token_requests(&fake), 1);
}

#[tokio::test]
async fn revoked_token_is_replaced_once() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    let ranges = ["Sheet1".to_owned()];
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    fake.revoke_tokens();
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    assert_eq!(token_requests(&fake), 2);
    let statuses: Vec<u16> = fake.sheets_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 200]);
}

#[tokio::test]
async fn assertion_signed_by_another_key_is_refused() {
    let fake = GoogleFake::start(GoogleFakeConfig::default())
        .await
        .unwrap();
    fake.add_spreadsheet(ID);
    let other = GoogleFake::start(GoogleFakeConfig::default())
        .await
        .unwrap();
    // Same account and key id, another private key, aimed at `fake`.
    let mut key = key_of(&other);
    key.token_uri = fake.token_uri();
    let client = client_with(&fake, key.clone(), pacing());
    let err = client
        .batch_get(&["Sheet1".to_owned()], ValueRender::Formatted)
        .await
        .unwrap_err();
    let TableError::Auth(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("invalid_grant"), "{msg}");
    assert!(msg.contains("Signature"), "{msg}");
    let assertion = sign_assertion(&key, fake.now()).unwrap();
    assert!(!msg.contains(&assertion.expose_secret()[..20]));
    assert_eq!(fake.issued_tokens(), 0);
}

#[tokio::test]
async fn tampered_assertion_is_refused() {
    let fake = GoogleFake::start(GoogleFakeConfig::default())
        .await
        .unwrap();
    let key = key_of(&fake);
    let good = sign_assertion(&key, fake.now()).unwrap();
    let parts: Vec<&str> = good.expose_secret().split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    let http = reqwest::Client::new();
    let post = |assertion: String| {
        http.post(fake.token_uri())
            .form(&[
                ("grant_type", JWT_BEARER_GRANT.to_owned()),
                ("assertion", assertion),
            ])
            .send()
    };
    let resp = post(forged).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let e: OAuthError = resp.json().await.unwrap();
    assert_eq!(e.error, "invalid_grant");
    // The untouched assertion is accepted.
    let resp = post(good.expose_secret().to_owned()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // One minted an hour and a half from now is not.
    let late = sign_assertion(&key, fake.now() + jiff::SignedDuration::from_mins(90)).unwrap();
    let resp = post(late.expose_secret().to_owned()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

fn ragged_ledger() -> Vec<Vec<Value>> {
    let d = |y, m, day| date_cell(jiff::civil::date(y, m, day), "dd/mm/yyyy");
    vec![
        vec![json!("Sharma Traders: outstanding")],
        vec![],
        header(),
        vec![
            formatted(json!(123), "00000"),
            json!("Test Buyer One"),
            formatted(json!(919_000_000_001_u64), "\"+\"0"),
            formatted(json!(12_500), "₹#,##0.00"),
            d(2026, 12, 5),
            json!("unpaid"),
        ],
        vec![
            json!("INV-0002"),
            json!("Test Buyer Two"),
            json!("+919000000002"),
            json!(8000.5),
            date_cell(jiff::civil::date(2026, 1, 31), "d-mmm-yyyy"),
        ],
        vec![],
        vec![
            json!("00456"),
            json!("Test Buyer Three"),
            json!(""),
            json!(0.1),
            json!(""),
            json!(true),
        ],
    ]
}

#[tokio::test]
async fn reads_a_ragged_sheet_keeping_zeros_dates_and_amounts() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Ledger", ragged_ledger());
    let table = SheetsTable::new(client, "Ledger", HeaderRow::Detect);
    let snap = table.read().await.unwrap();
    assert_eq!(snap.header_line, 3);
    assert_eq!(snap.headers[0], "invoice_no");
    assert_eq!(snap.headers.len(), 8);
    let lines: Vec<u64> = snap.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 5, 6, 7]);
    assert_eq!(snap.rows[0].locator, "4");
    assert_eq!(
        snap.rows[0].cells,
        [
            text("00123"),
            text("Test Buyer One"),
            text("+919000000001"),
            TableCell::Number("12500".into()),
            TableCell::Date(jiff::civil::date(2026, 12, 5)),
            text("unpaid"),
        ]
    );
    assert_eq!(
        snap.rows[1].cells,
        [
            text("INV-0002"),
            text("Test Buyer Two"),
            text("+919000000002"),
            TableCell::Number("8000.5".into()),
            TableCell::Date(jiff::civil::date(2026, 1, 31)),
        ]
    );
    assert!(snap.rows[2].cells.is_empty());
    assert_eq!(
        snap.rows[3].cells,
        [
            text("00456"),
            text("Test Buyer Three"),
            TableCell::Empty,
            TableCell::Number("0.1".into()),
            TableCell::Empty,
            TableCell::Bool(true),
        ]
    );
    // One token, then one batchGet per rendering.
    assert_eq!(table.requests(), 3);
    let queries: Vec<String> = fake
        .sheets_requests()
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert!(queries[0].contains("valueRenderOption=UNFORMATTED_VALUE"));
    assert!(queries[0].contains("dateTimeRenderOption=SERIAL_NUMBER"));
    assert!(queries[1].contains("valueRenderOption=FORMATTED_VALUE"));
    assert_eq!(table.describe(), "Google Sheet 1TestS…, tab Ledger");
}

#[tokio::test]
async fn a_tab_with_spaces_and_an_empty_tab_read() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Sales Ledger", vec![header(), vec![json!("INV-1")]]);
    fake.set_values(ID, "Empty", vec![]);
    let t = SheetsTable::new(client.clone(), "Sales Ledger", HeaderRow::Row(1));
    let snap = t.read().await.unwrap();
    assert_eq!(snap.rows.len(), 1);
    assert_eq!(snap.rows[0].cells, [text("INV-1")]);
    let e = SheetsTable::new(client, "Empty", HeaderRow::Detect);
    let snap = e.read().await.unwrap();
    assert!(snap.headers.is_empty() && snap.rows.is_empty());
}

fn ledger_rows(n: usize) -> Vec<Vec<Value>> {
    let mut rows = vec![header()];
    for i in 0..n {
        rows.push(vec![
            json!(format!("INV-{i:05}")),
            json!(format!("Buyer {i}")),
            json!(format!("+9190000{i:05}")),
            json!(1000 + i),
        ]);
    }
    rows
}

#[tokio::test]
async fn five_thousand_rows_are_written_back_in_few_requests() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Ledger", ledger_rows(5000));
    let table = SheetsTable::new(client, "Ledger", HeaderRow::Row(1));
    let snap = table.read().await.unwrap();
    let before = fake.sheets_requests().len();
    // Four owned columns: status, reminded_on, paid_on (adjacent) and the
    // phone (apart): two ranges a row.
    let writes: Vec<RowWrite> = snap
        .rows
        .iter()
        .map(|r| RowWrite {
            locator: Some(r.locator.clone()),
            key: String::new(),
            cells: vec![
                ("status".into(), "reminded".into()),
                ("reminded_on".into(), "2026-01-05".into()),
                ("paid_on".into(), String::new()),
                ("buyer_phone".into(), format!("0{}", r.line)),
            ],
        })
        .collect();
    let out = table.write(&writes).await.unwrap();
    assert_eq!(out.written, 5000);
    assert!(out.failed.is_empty());
    let posts: Vec<_> = fake.sheets_requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .cloned()
        .collect();
    assert!(posts.len() <= 3, "{} requests", posts.len());
    assert!(posts.iter().all(|r| r.path.ends_with("values:batchUpdate")));
    let values = fake.values(ID, "Ledger").unwrap();
    assert_eq!(values[4999][2], json!("05000"));
    assert_eq!(values[4999][5], json!("reminded"));
    assert_eq!(values[4999][6], json!("2026-01-05"));
    assert_eq!(values[4999].len(), 7);
}

#[tokio::test]
async fn new_rows_are_appended_and_located() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Ledger", ledger_rows(3));
    let table = SheetsTable::new(client, "Ledger", HeaderRow::Row(1));
    table.read().await.unwrap();
    let row = |loc: Option<&str>, inv: &str| RowWrite {
        locator: loc.map(str::to_owned),
        key: inv.to_owned(),
        cells: vec![
            ("invoice_no".into(), inv.into()),
            ("status".into(), "new".into()),
        ],
    };
    let out = table
        .write(&[
            row(None, "00901"),
            row(Some("2"), "INV-00000"),
            row(None, "INV-902"),
        ])
        .await
        .unwrap();
    assert_eq!(out.written, 3);
    assert_eq!(out.appended, [(0, "5".to_owned()), (2, "6".to_owned())]);
    let values = fake.values(ID, "Ledger").unwrap();
    assert_eq!(values.len(), 6);
    assert_eq!(values[4][0], json!("00901"));
    assert_eq!(values[4][5], json!("new"));
    assert_eq!(values[1][5], json!("new"));
    let append = fake
        .sheets_requests()
        .into_iter()
        .find(|r| r.path.contains(":append"))
        .unwrap();
    assert!(
        append
            .query
            .unwrap()
            .contains("insertDataOption=INSERT_ROWS")
    );
    // A column the sheet lacks fails that row only.
    let bad = RowWrite {
        locator: Some("3".into()),
        key: String::new(),
        cells: vec![("no_such".into(), "x".into())],
    };
    let out = table
        .write(&[bad, row(Some("3"), "INV-00001")])
        .await
        .unwrap();
    assert_eq!(out.failed.len(), 1);
    assert_eq!(out.failed[0].0, 0);
    assert_eq!(out.written, 1);
}

#[tokio::test]
async fn missing_columns_are_added_to_the_header() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    let mut wide: Vec<Value> = (1..=26).map(|i| json!(format!("c{i}"))).collect();
    wide[0] = json!("Status");
    fake.set_values(ID, "Ledger", vec![wide.clone()]);
    let table = SheetsTable::new(client, "Ledger", HeaderRow::Row(1));
    let snap = table.read().await.unwrap();
    let wanted = vec![
        "status".to_owned(),
        "reminded_on".to_owned(),
        "paid_on".to_owned(),
    ];
    let headers = table.ensure_columns(&snap.headers, &wanted).await.unwrap();
    assert_eq!(headers.len(), 28);
    assert_eq!(headers[26..], ["reminded_on", "paid_on"]);
    let update = fake.sheets_requests().pop().unwrap();
    assert!(update.path.ends_with("values:batchUpdate"));
    let row1 = &fake.values(ID, "Ledger").unwrap()[0];
    assert_eq!(row1[26], json!("reminded_on"));
    assert_eq!(row1[27], json!("paid_on"));
    // Nothing missing: no request.
    let n = table.requests();
    table.ensure_columns(&headers, &wanted).await.unwrap();
    assert_eq!(table.requests(), n);
}

#[tokio::test]
async fn leads_tab_gets_its_header_once() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Leads", vec![]);
    let header: Vec<String> = ["lead_id", "source", "phone"].map(String::from).to_vec();
    let r1 = client
        .append_rows(
            "Leads",
            &header,
            vec![vec![
                "im-1".into(),
                "indiamart".into(),
                "09000000001".into(),
            ]],
        )
        .await
        .unwrap();
    assert_eq!(r1, "Leads!A1:C2");
    let r2 = client
        .append_rows(
            "Leads",
            &header,
            vec![vec!["ti-2".into(), "tradeindia".into()]],
        )
        .await
        .unwrap();
    assert_eq!(r2, "Leads!A3:B3");
    let values = fake.values(ID, "Leads").unwrap();
    assert_eq!(
        values[0],
        [json!("lead_id"), json!("source"), json!("phone")]
    );
    assert_eq!(values[1][2], json!("09000000001"));
    assert_eq!(values[2], [json!("ti-2"), json!("tradeindia")]);
}

#[tokio::test]
async fn quota_refusals_are_absorbed_without_losing_the_write() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Ledger", ledger_rows(2));
    let table = SheetsTable::new(client, "Ledger", HeaderRow::Row(1));
    table.read().await.unwrap();
    fake.fail_next(2, 429);
    fake.fail_next(1, 503);
    let w = RowWrite {
        locator: Some("3".into()),
        key: String::new(),
        cells: vec![("status".into(), "paid".into())],
    };
    let out = table.write(&[w]).await.unwrap();
    assert_eq!(out.written, 1);
    assert_eq!(fake.values(ID, "Ledger").unwrap()[2][5], json!("paid"));
    let statuses: Vec<u16> = fake
        .sheets_requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 503, 200]);
}

#[tokio::test]
async fn quota_still_refused_after_the_retries_is_a_quota_error() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.fail_next(20, 429);
    let err = client
        .batch_get(&["Sheet1".to_owned()], ValueRender::Formatted)
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::Quota(_)), "{err:?}");
    // The first attempt and five retries.
    assert_eq!(fake.sheets_requests().len(), 6);
}

#[tokio::test]
async fn per_minute_quota_is_counted_per_user() {
    let cfg = GoogleFakeConfig {
        read_requests_per_minute: 2,
        ..GoogleFakeConfig::default()
    };
    let fake = GoogleFake::start(cfg).await.unwrap();
    fake.add_spreadsheet(ID);
    let client = client_with(
        &fake,
        key_of(&fake),
        Pacing {
            max_retries: 0,
            ..pacing()
        },
    );
    let ranges = ["Sheet1".to_owned()];
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
    let err = client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap_err();
    let TableError::Quota(msg) = err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("Read requests per minute per user"), "{msg}");
    // Writes have their own budget.
    client
        .batch_update(
            vec![ValueRange::rows("Sheet1!A1", vec![vec!["x".into()]])],
            tagada_sources::google::ValueInput::Raw,
        )
        .await
        .unwrap();
    fake.advance_clock(Duration::from_secs(61));
    client
        .batch_get(&ranges, ValueRender::Formatted)
        .await
        .unwrap();
}

#[tokio::test]
async fn unshared_sheet_says_whom_to_share_it_with() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_shared(ID, false);
    let table = SheetsTable::new(client, "Sheet1", HeaderRow::Row(1));
    let err = table.read().await.unwrap_err();
    let TableError::Permission(msg) = err else {
        panic!("{err:?}");
    };
    assert!(msg.contains(fake.client_email()), "{msg}");
}

#[tokio::test]
async fn bad_ranges_and_unknown_sheets_are_refused() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    let err = client
        .batch_get(&["NoSuchSheet!A1:B2".to_owned()], ValueRender::Formatted)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TableError::BadRequest("Unable to parse range: NoSuchSheet!A1:B2".into())
    );
    let key = key_of(&fake);
    let clock: Clock = Arc::new(fake.clock_fn());
    let other = SheetsClient::new(
        Some(&fake.base_url()),
        Arc::new(TokenSource::new(key, clock).unwrap()),
        "1NoSuchSpreadsheet",
        pacing(),
    )
    .unwrap();
    let err = other
        .batch_get(&["Sheet1".to_owned()], ValueRender::Formatted)
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_persons_edits_show_in_the_next_read() {
    let (fake, client) = started(GoogleFakeConfig::default()).await;
    fake.set_values(ID, "Ledger", ledger_rows(3));
    let table = SheetsTable::new(client, "Ledger", HeaderRow::Row(1));
    table.read().await.unwrap();
    fake.delete_row(ID, "Ledger", 2);
    fake.edit_cell(ID, "Ledger", "F2", &json!("disputed"));
    let snap = table.read().await.unwrap();
    assert_eq!(snap.rows.len(), 2);
    assert_eq!(snap.rows[0].cells[0], text("INV-00001"));
    assert_eq!(snap.rows[0].cells[5], text("disputed"));
}
