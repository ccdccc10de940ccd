//! The Airtable client against the loopback fake, over real HTTP, and the
//! contract samples (copied under `fixtures/airtable/`) read by the
//! client's types.

use std::collections::HashSet;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tagada_fakes::airtable::{AirtableFake, AirtableFakeConfig, FieldKind};
use tagada_sources::airtable::{
    AirtableClient, AirtableTable, ListOptions, ListPage, Pacing, ServiceError, WriteAnswer,
    WriteRecord, write_body,
};
use tagada_sources::table::{LedgerTable, RowWrite, TableCell, TableError};

const BASE: &str = "appFAKEBASE000001";
const TABLE: &str = "Ledger";
const TOKEN: &str = "patFakeAirtable.0000000000000000";

fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap()
}

fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/airtable/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    fixture_text(name).into_bytes()
}

/// Airtable's limits with the 30-second penalty shortened.
fn pacing() -> Pacing {
    Pacing {
        penalty: Duration::from_millis(300),
        server_error_backoff: Duration::from_millis(20),
        ..Pacing::default()
    }
}

fn fake_config() -> AirtableFakeConfig {
    AirtableFakeConfig {
        penalty: Duration::from_millis(300),
        ..AirtableFakeConfig::default()
    }
}

fn client(fake: &AirtableFake, token: &str) -> AirtableClient {
    AirtableClient::new(
        Some(&fake.base_url()),
        SecretString::from(token.to_owned()),
        BASE,
        pacing(),
    )
    .unwrap()
}

fn ledger(fake: &AirtableFake) -> AirtableTable {
    AirtableTable::new(client(fake, TOKEN), TABLE, "invoice_no")
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn invoices(n: usize) -> Vec<Map<String, Value>> {
    (1..=n)
        .map(|i| {
            fields(json!({
                "invoice_no": format!("INV-{i:04}"),
                "buyer_name": format!("Test Buyer {i}"),
                "buyer_phone": format!("+9190000{i:05}"),
                "amount_due": 1000 + i,
                "status": if i % 3 == 0 { "paid" } else { "unpaid" },
            }))
        })
        .collect()
}

/// A ledger table with a schema: typed fields and one (`notes`) that no
/// record fills.
fn typed_table(fake: &AirtableFake, records: Vec<Map<String, Value>>) -> Vec<String> {
    let ids = fake.add_table(BASE, TABLE, records);
    fake.set_fields(
        BASE,
        TABLE,
        &[
            "invoice_no",
            "buyer_name",
            "buyer_phone",
            "account_no",
            "amount_due",
            "due_date",
            "status",
            "notes",
        ],
    );
    fake.set_field_kind(BASE, TABLE, "amount_due", FieldKind::Number);
    fake.set_field_kind(BASE, TABLE, "due_date", FieldKind::Date);
    fake.set_field_kind(
        BASE,
        TABLE,
        "status",
        FieldKind::SingleSelect(vec!["unpaid".into(), "paid".into()]),
    );
    ids
}

fn row(key: &str, cells: &[(&str, &str)]) -> RowWrite {
    RowWrite {
        locator: None,
        key: key.to_owned(),
        cells: cells
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn find<'a>(
    recs: &'a [tagada_fakes::airtable::FakeRecord],
    invoice: &str,
) -> Vec<&'a tagada_fakes::airtable::FakeRecord> {
    recs.iter()
        .filter(|r| r.fields.get("invoice_no") == Some(&json!(invoice)))
        .collect()
}

#[test]
fn contract_samples_read_into_the_client_types() {
    // From the text, so that the field order is the sample's.
    let p1: ListPage = serde_json::from_str(&fixture_text("list_records_page1.json")).unwrap();
    assert_eq!(p1.records.len(), 2);
    assert_eq!(
        p1.offset.as_deref(),
        Some("itrFAKEITERATOR01/recFAKE00000002b")
    );
    assert_eq!(p1.records[0].fields["amount_due"], json!(12500));
    assert!(!p1.records[1].fields.contains_key("invoice_no"));
    assert_eq!(p1.records[0].field_order[0], "lead_id");
    let p2: ListPage = serde_json::from_value(fixture("list_records_page2.json")).unwrap();
    assert!(p2.offset.is_none());

    let created: WriteAnswer =
        serde_json::from_value(fixture("create_records_response.json")).unwrap();
    assert_eq!(created.records[0].id, "recFAKE00000004d");
    let upserted: WriteAnswer = serde_json::from_value(fixture("upsert_response.json")).unwrap();
    assert_eq!(upserted.created_records, ["recFAKE00000005e"]);
    assert_eq!(upserted.updated_records, ["recFAKE00000001a"]);

    // Our upsert body has the sample's shape (with typecast on).
    let sample = fixture("upsert_request.json");
    let ours = write_body(
        &[WriteRecord {
            id: None,
            fields: fields(sample["body"]["records"][0]["fields"].clone()),
        }],
        Some(&["lead_id".to_owned()]),
    );
    assert_eq!(
        ours["performUpsert"], sample["body"]["performUpsert"],
        "{ours}"
    );
    assert_eq!(ours["records"][0], sample["body"]["records"][0]);
    let update = fixture("update_records_request.json");
    let ours = write_body(
        &[WriteRecord {
            id: Some("recFAKE00000002b".into()),
            fields: fields(json!({"status": "paid"})),
        }],
        None,
    );
    assert_eq!(ours["records"], update["body"]["records"]);

    let err = |name: &str, status: u16| {
        ServiceError::parse(status, &fixture_bytes(name)).to_table_error()
    };
    assert!(matches!(
        err("error_401_authentication_required.json", 401),
        TableError::Auth(_)
    ));
    assert!(matches!(
        err("error_403_invalid_permissions.json", 403),
        TableError::Permission(_)
    ));
    assert!(matches!(
        err("error_404_not_found.json", 404),
        TableError::NotFound(_)
    ));
    assert!(
        matches!(err("error_422_unknown_field.json", 422), TableError::BadRequest(m) if m.contains("UNKNOWN_FIELD_NAME"))
    );
    let expired = ServiceError::parse(422, &fixture_bytes("error_422_iterator_expired.json"));
    assert_eq!(expired.error_type, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE");
    assert!(matches!(
        err("error_429_rate_limited.json", 429),
        TableError::Quota(_)
    ));
}

#[tokio::test]
async fn lists_250_records_across_pages() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    let ids = fake.add_table(BASE, TABLE, invoices(250));
    let table = ledger(&fake);
    let snap = table.read().await.unwrap();
    assert_eq!(snap.rows.len(), 250);
    assert_eq!(snap.header_line, 1);
    let got: Vec<&str> = snap.rows.iter().map(|r| r.locator.as_str()).collect();
    assert_eq!(got, ids);
    assert_eq!(snap.rows[0].line, 2);
    assert_eq!(snap.rows[249].line, 251);
    let amount = snap.headers.iter().position(|h| h == "amount_due").unwrap();
    assert_eq!(snap.rows[0].cells[amount], TableCell::Number("1001".into()));
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.status == 200 && c.method == "GET"));
    assert!(calls[0].query.as_deref().unwrap().contains("pageSize=100"));
    assert!(calls[1].query.as_deref().unwrap().contains("offset=itr"));
    assert_eq!(table.requests(), 3);

    // A filtered, narrowed listing.
    let opts = ListOptions {
        page_size: Some(40),
        filter_by_formula: Some("AND({status}='paid', NOT({invoice_no}=''))".into()),
        fields: vec!["invoice_no".into()],
        view: None,
    };
    let paid = table.client().list(TABLE, &opts).await.unwrap();
    assert_eq!(paid.len(), 83);
    assert!(paid.iter().all(|r| r.fields.len() == 1));
}

#[tokio::test]
async fn an_expired_offset_restarts_the_listing() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    let ids = fake.add_table(BASE, TABLE, invoices(250));
    let c = client(&fake, TOKEN);
    let opts = ListOptions {
        page_size: Some(50),
        ..ListOptions::default()
    };
    // Expire the offsets once the first page is served: the client paces
    // its next request 220 ms later.
    let listing = c.list(TABLE, &opts);
    let expire = async {
        while fake.call_count() < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        fake.expire_offsets();
    };
    let (records, ()) = tokio::join!(listing, expire);
    let records = records.unwrap();
    let got: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, ids, "every record once, in order");
    let calls = fake.calls();
    let expired: Vec<_> = calls
        .iter()
        .filter(|c| c.error_type.as_deref() == Some("LIST_RECORDS_ITERATOR_NOT_AVAILABLE"))
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(calls.len(), 7, "1 page, the refusal, then 5 pages");
}

#[tokio::test]
async fn offsets_that_always_expire_end_in_an_error() {
    let fake = AirtableFake::start(AirtableFakeConfig {
        offset_ttl: Duration::ZERO,
        ..fake_config()
    })
    .await
    .unwrap();
    fake.add_table(BASE, TABLE, invoices(30));
    let c = client(&fake, TOKEN);
    let opts = ListOptions {
        page_size: Some(10),
        ..ListOptions::default()
    };
    let err = c.list(TABLE, &opts).await.unwrap_err();
    assert!(
        matches!(&err, TableError::BadRequest(m) if m.contains("LIST_RECORDS_ITERATOR_NOT_AVAILABLE")),
        "{err:?}"
    );
    // 1 + 3 restarts, each a first page and a refused second page.
    assert_eq!(fake.call_count(), 8);
}

#[tokio::test]
async fn the_client_never_passes_five_requests_a_second() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    let ids = typed_table(&fake, invoices(120));
    let table = ledger(&fake);
    table.read().await.unwrap();
    let mut rows: Vec<RowWrite> = (0..30)
        .map(|i| row(&format!("INV-9{i:03}"), &[("status", "unpaid")]))
        .collect();
    rows.extend(ids.iter().take(15).map(|id| RowWrite {
        locator: Some(id.clone()),
        key: String::new(),
        cells: vec![("status".into(), "paid".into())],
    }));
    let out = table.write(&rows).await.unwrap();
    assert_eq!(out.written, 45);
    assert!(out.failed.is_empty());
    let calls = fake.calls();
    assert_eq!(calls.len(), 2 + 3 + 2);
    assert!(calls.iter().all(|c| c.status == 200), "{calls:?}");
    assert!(fake.peak_requests(BASE, Duration::from_secs(1)) <= 5);
}

#[tokio::test]
async fn the_fake_enforces_the_rate_limit_and_its_penalty() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    fake.add_table(BASE, TABLE, invoices(3));
    let http = reqwest::Client::new();
    let url = format!("{}/v0/{BASE}/{TABLE}", fake.base_url());
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let body: Value = http
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["errors"][0]["error"], "RATE_LIMIT_REACHED");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200, "served again after the penalty");
}

#[tokio::test]
async fn a_scripted_429_waits_and_retries_without_losing_a_write() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    typed_table(&fake, invoices(2));
    let table = ledger(&fake);
    fake.fail_next(1, 429);
    let rows = vec![
        row("INV-0500", &[("amount_due", "2500"), ("status", "unpaid")]),
        row(
            "INV-0501",
            &[("amount_due", "2600.75"), ("status", "unpaid")],
        ),
    ];
    let out = table.write(&rows).await.unwrap();
    assert_eq!(out.written, 2);
    assert_eq!(out.appended.len(), 2);
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 429);
    assert_eq!(calls[1].status, 200);
    assert!(calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(300));
    let recs = fake.records(BASE, TABLE);
    assert_eq!(
        find(&recs, "INV-0501")[0].fields["amount_due"],
        json!(2600.75)
    );
    assert_eq!(table.requests(), 2);
}

#[tokio::test]
async fn the_monthly_cap_is_reported_and_not_retried() {
    let fake = AirtableFake::start(AirtableFakeConfig {
        monthly_cap: Some(1),
        ..fake_config()
    })
    .await
    .unwrap();
    fake.add_table(BASE, TABLE, invoices(3));
    let table = ledger(&fake);
    table.read().await.unwrap();
    let err = table.read().await.unwrap_err();
    assert!(
        matches!(&err, TableError::Cap(m) if m.contains("PUBLIC_API_BILLING_LIMIT_EXCEEDED")),
        "{err:?}"
    );
    assert_eq!(fake.call_count(), 2, "the cap is not retried");
    assert_eq!(table.requests(), 2);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    fake.add_table(BASE, TABLE, invoices(3));
    let table = ledger(&fake);
    fake.fail_next(2, 503);
    assert_eq!(table.read().await.unwrap().rows.len(), 3);
    assert_eq!(fake.call_count(), 3);
    fake.fail_next(4, 502);
    let err = table.read().await.unwrap_err();
    assert!(matches!(err, TableError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn upserts_create_update_and_a_duplicate_fails_alone() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    typed_table(&fake, invoices(5));
    // A person typed INV-0003 twice.
    fake.add_record(
        BASE,
        TABLE,
        fields(json!({"invoice_no": "INV-0003", "buyer_name": "Test Copy"})),
    );
    let table = ledger(&fake);
    let mut rows = vec![
        row(
            "INV-0001",
            &[("status", "reminded"), ("amount_due", "12500.50")],
        ),
        row("INV-0003", &[("status", "paid")]),
    ];
    for i in 0..9 {
        rows.push(row(
            &format!("INV-01{i:02}"),
            &[("buyer_name", "Test New"), ("due_date", "2024-03-01")],
        ));
    }
    // The second batch: one bad amount, one good row.
    rows.push(row("INV-0200", &[("amount_due", "twelve")]));
    rows.push(row("INV-0201", &[("amount_due", "99")]));
    let out = table.write(&rows).await.unwrap();
    assert_eq!(out.written, 11);
    let failed: Vec<usize> = out.failed.iter().map(|(i, _)| *i).collect();
    assert_eq!(failed, [1, 11]);
    assert!(out.failed[0].1.contains("INV") || out.failed[0].1.contains("match"));
    assert!(out.failed[1].1.contains("INVALID_VALUE_FOR_COLUMN"));
    assert_eq!(out.appended.len(), 11);

    let recs = fake.records(BASE, TABLE);
    assert_eq!(recs.len(), 6 + 9 + 1);
    let one = find(&recs, "INV-0001");
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].fields["status"], "reminded",
        "typecast adds the option"
    );
    assert_eq!(one[0].fields["amount_due"], json!(12500.5));
    assert_eq!(out.appended[0].1, one[0].id);
    let dup = find(&recs, "INV-0003");
    assert_eq!(dup.len(), 2);
    assert!(
        dup[1].fields.get("status").is_none(),
        "neither copy written"
    );
    assert_eq!(find(&recs, "INV-0108")[0].fields["due_date"], "2024-03-01");
    assert!(find(&recs, "INV-0200").is_empty());
    assert_eq!(find(&recs, "INV-0201")[0].fields["amount_due"], json!(99));
    // Batch 1 refused, then its 10 records one by one; batch 2 refused,
    // then its 3 one by one.
    let calls = fake.calls();
    assert_eq!(calls.len(), 1 + 10 + 1 + 3);
    assert!(
        calls
            .iter()
            .all(|c| c.json()["records"].as_array().unwrap().len() <= 10)
    );
    assert!(calls.iter().all(|c| c.json()["typecast"] == true));
}

#[tokio::test]
async fn leading_zeros_and_phone_numbers_round_trip() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    let ids = typed_table(&fake, invoices(2));
    let table = ledger(&fake);
    let out = table
        .write(&[
            row(
                "INV-0042",
                &[
                    ("account_no", "0098765"),
                    ("buyer_phone", "+919000000001"),
                    ("buyer_name", "Test Zero"),
                ],
            ),
            RowWrite {
                locator: Some(ids[0].clone()),
                key: "INV-0001".into(),
                cells: vec![
                    ("buyer_phone".into(), "09000000002".into()),
                    ("status".into(), String::new()),
                ],
            },
        ])
        .await
        .unwrap();
    assert_eq!(out.written, 2);
    assert!(out.failed.is_empty());
    let snap = table.read().await.unwrap();
    let col = |name: &str| snap.headers.iter().position(|h| h == name).unwrap();
    let new_row = snap
        .rows
        .iter()
        .find(|r| r.locator == out.appended[0].1)
        .unwrap();
    assert_eq!(
        new_row.cells[col("account_no")],
        TableCell::Text("0098765".into())
    );
    assert_eq!(
        new_row.cells[col("buyer_phone")],
        TableCell::Text("+919000000001".into())
    );
    let first = &snap.rows[0];
    assert_eq!(
        first.cells[col("buyer_phone")],
        TableCell::Text("09000000002".into())
    );
    assert_eq!(
        first
            .cells
            .get(col("status"))
            .cloned()
            .unwrap_or(TableCell::Empty),
        TableCell::Empty,
        "an empty string clears the field"
    );
}

#[tokio::test]
async fn an_unknown_field_is_a_missing_column() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    typed_table(&fake, invoices(4));
    let table = ledger(&fake);
    let snap = table.read().await.unwrap();
    assert!(!snap.headers.contains(&"notes".to_owned()));
    let wanted = vec!["status".to_owned(), "notes".to_owned()];
    let header = table.ensure_columns(&snap.headers, &wanted).await.unwrap();
    assert_eq!(header.last().map(String::as_str), Some("notes"));
    let err = table
        .ensure_columns(&snap.headers, &["stauts".to_owned(), "notes".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(err, TableError::MissingColumns(vec!["stauts".to_owned()]));
    // One cheap probe a field: `stauts` refused, `notes` found empty.
    let calls = fake.calls();
    let probes: Vec<_> = calls[calls.len() - 2..]
        .iter()
        .map(|c| (c.query.clone().unwrap_or_default(), c.error_type.clone()))
        .collect();
    assert!(probes[0].0.contains("stauts") && probes[0].0.contains("pageSize=1"));
    assert_eq!(probes[0].1.as_deref(), Some("UNKNOWN_FIELD_NAME"));
    assert_eq!(probes[1].1, None);
    // Writing an unknown field fails that row with the service's message.
    let out = table
        .write(&[row("INV-0001", &[("stauts", "paid")])])
        .await
        .unwrap();
    assert!(out.failed[0].1.contains("UNKNOWN_FIELD_NAME"));
}

#[tokio::test]
async fn credentials_and_names_map_to_errors_without_the_token() {
    let fake = AirtableFake::start(AirtableFakeConfig {
        scoped_tokens: vec![("patScopedElsewhere.1".into(), vec!["appOTHER".into()])],
        ..fake_config()
    })
    .await
    .unwrap();
    fake.add_table(BASE, TABLE, invoices(1));
    let wrong = AirtableTable::new(client(&fake, "patWRONG.secret"), TABLE, "invoice_no");
    let err = wrong.read().await.unwrap_err();
    assert!(matches!(&err, TableError::Auth(_)), "{err:?}");
    assert!(!format!("{err} {err:?} {wrong:?}").contains("patWRONG"));
    let scoped = AirtableTable::new(client(&fake, "patScopedElsewhere.1"), TABLE, "invoice_no");
    assert!(matches!(
        scoped.read().await.unwrap_err(),
        TableError::Permission(_)
    ));
    let missing = AirtableTable::new(client(&fake, TOKEN), "Nope", "invoice_no");
    assert!(matches!(
        missing.read().await.unwrap_err(),
        TableError::NotFound(_)
    ));
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.status == 401 || c.status == 403 || c.status == 404)
    );
}

#[tokio::test]
async fn a_long_formula_lists_through_post() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    fake.add_table(BASE, TABLE, invoices(20));
    let c = client(&fake, TOKEN);
    let clauses: Vec<String> = (0..700)
        .map(|i| format!("{{invoice_no}}='INV-{:04}'", i * 2))
        .collect();
    let formula = format!("OR({})", clauses.join(","));
    assert!(formula.len() > 16_000);
    let opts = ListOptions {
        page_size: Some(4),
        filter_by_formula: Some(formula),
        ..ListOptions::default()
    };
    let recs = c.list(TABLE, &opts).await.unwrap();
    assert_eq!(recs.len(), 10);
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| c.method == "POST" && c.path.ends_with("/listRecords") && c.status == 200)
    );
    let unique: HashSet<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(unique.len(), 10);
}

#[tokio::test]
async fn an_unsupported_formula_is_refused() {
    let fake = AirtableFake::start(fake_config()).await.unwrap();
    fake.add_table(BASE, TABLE, invoices(2));
    let c = client(&fake, TOKEN);
    let opts = ListOptions {
        filter_by_formula: Some("{amount_due} > 1000".into()),
        ..ListOptions::default()
    };
    let err = c.list(TABLE, &opts).await.unwrap_err();
    assert!(
        matches!(&err, TableError::BadRequest(m) if m.contains("INVALID_FILTER_BY_FORMULA")),
        "{err:?}"
    );
}
