//! Importing files end to end into a real SQLite store: good rows land,
//! bad rows are kept with file, line, column and reason, re-import is a no-op
//! and an edited file updates only what changed.

use std::path::PathBuf;

use tagada_app::config::ImportConfig;
use tagada_app::import::import_file;
use tagada_core::ledger::InvoiceStatus;
use tagada_store::{ImportStore, LedgerStore, Migrate, PaymentLinkStore};
use tagada_store_sqlite::SqliteStore;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tagada-sources/tests/fixtures")
        .join(name)
}

fn now() -> jiff::Timestamp {
    "2026-12-20T06:00:00Z".parse().unwrap()
}

async fn store() -> SqliteStore {
    let s = SqliteStore::open_in_memory().await.unwrap();
    s.migrate().await.unwrap();
    s
}

#[tokio::test]
async fn messy_ledger_imports_every_good_row_and_keeps_every_bad_one() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("messy.csv");
    std::fs::copy(fixture("messy.csv"), &input).unwrap();
    let cfg = ImportConfig::default();
    let report = import_file(&s, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap();

    assert_eq!(report.invoices_created, 6, "{report:?}");
    assert_eq!(report.rejected, 12, "{report:?}");
    assert_eq!(report.skipped_summary_rows, 1);
    for number in ["B-001", "B-002", "B-006", "B-013", "B-014", "B-015"] {
        assert!(
            s.find_invoice(number).await.unwrap().is_some(),
            "{number} imported"
        );
    }
    // B-001 appears twice: the first row wins, the second is rejected.
    let b1 = s.find_invoice("B-001").await.unwrap().unwrap();
    assert_eq!(b1.amount.minor(), 1_234_50);
    // A bad phone keeps the row and the number as typed, with a warning.
    let verma = s.find_buyer("Verma & Co").await.unwrap().unwrap();
    assert_eq!(verma.whatsapp, None);
    assert_eq!(verma.phone_raw.as_deref(), Some("12345"));
    assert!(
        report.warnings.iter().any(|w| w.contains(":4:")),
        "{:?}",
        report.warnings
    );
    // Status typed in the sheet wins; otherwise it follows the amounts.
    let b13 = s.find_invoice("B-013").await.unwrap().unwrap();
    assert_eq!(b13.status, InvoiceStatus::Paid);
    let b6 = s.find_invoice("B-006").await.unwrap().unwrap();
    assert_eq!(b6.status, InvoiceStatus::PartiallyPaid);

    // Every rejected row is in the store and in the rejects CSV, with its reason.
    let stored = s.list_rejects(None).await.unwrap();
    assert_eq!(stored.len(), 12);
    let mut lines: Vec<u64> = stored.iter().map(|r| r.line).collect();
    lines.sort();
    assert_eq!(lines, vec![5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 23]);
    let dup = stored.iter().find(|r| r.line == 8).unwrap();
    assert!(
        dup.reason
            .contains("duplicate invoice number `B-001` (first on line 3)"),
        "{}",
        dup.reason
    );
    assert_eq!(dup.column.as_deref(), Some("Bill No"));
    let csv_path = report.rejects_csv.clone().unwrap();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 12);
    let currency = rows.iter().find(|r| &r[1] == "7").unwrap();
    assert_eq!(&currency[2], "Currency");
    assert!(
        currency[3].contains("unknown currency `XYZ`"),
        "{:?}",
        currency
    );
    assert_eq!(
        &currency[4],
        "B-005;Reddy Agencies;;;07-12-2026;30;750,00;;XYZ;;;"
    );
}

/// Everything an import leaves behind, in a form two imports can be compared by.
async fn outcome(
    s: &SqliteStore,
    report: &tagada_app::import::ImportReport,
) -> (Vec<u64>, Vec<String>, Vec<String>, Vec<String>) {
    let mut buyers: Vec<String> = s
        .list_buyers(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|b| format!("{} {:?} {:?}", b.name, b.whatsapp, b.phone_raw))
        .collect();
    buyers.sort();
    let mut invoices: Vec<String> = s
        .list_invoices(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|i| format!("{} {} {} {:?}", i.number, i.buyer_id, i.amount, i.status))
        .collect();
    invoices.sort();
    let mut rejects: Vec<String> = s
        .list_rejects(None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {:?} {} {}", r.line, r.column, r.reason, r.raw))
        .collect();
    rejects.sort();
    let figures = vec![
        report.rows,
        report.invoices_created,
        report.invoices_updated,
        report.invoices_unchanged,
        report.buyers_created,
        report.buyers_updated,
        report.rejected,
        report.skipped_summary_rows,
        report.warnings.len() as u64,
    ];
    (figures, buyers, invoices, rejects)
}

/// The reader thread cuts the file into batches while the store writes the
/// previous one: where the cuts fall changes nothing (buyers first met in a
/// later batch, batches of rejects only, a duplicate of a row written long
/// before).
#[tokio::test]
async fn the_batch_size_changes_nothing_an_import_does() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("messy.csv");
    std::fs::copy(fixture("messy.csv"), &input).unwrap();
    let whole = store().await;
    let cfg = ImportConfig::default();
    let report = import_file(&whole, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap();
    let expected = outcome(&whole, &report).await;
    assert_eq!(expected.0[1], 6, "{report:?}");
    assert_eq!(expected.3.len(), 12, "{report:?}");
    for batch_size in [1, 2, 5] {
        let s = store().await;
        let cfg = ImportConfig {
            batch_size,
            ..Default::default()
        };
        let report = import_file(&s, &input, &cfg, now(), &|_, _| {})
            .await
            .unwrap();
        assert_eq!(
            outcome(&s, &report).await,
            expected,
            "batch size {batch_size}"
        );
    }
}

#[tokio::test]
async fn reimporting_changes_nothing_and_an_edited_file_updates_only_changed_rows() {
    let s = store().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("zoho.csv");
    std::fs::copy(fixture("zoho_invoices.csv"), &input).unwrap();
    let cfg = ImportConfig::default();
    let first = import_file(&s, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap();
    assert!(first.invoices_created > 0);
    // The fixture holds one draft invoice, which is never sent to a buyer.
    assert_eq!(first.rejected, 1, "{first:?}");

    let again = import_file(&s, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(again.invoices_created, 0);
    assert_eq!(again.invoices_updated, 0);
    assert_eq!(again.invoices_unchanged, first.invoices_created);
    assert_eq!(again.buyers_created, 0);
    assert_eq!(again.rejected, 1);
    assert_eq!(
        s.list_rejects(None).await.unwrap().len(),
        1,
        "the same rejected row is kept once"
    );

    // Edit one data row's amount (the last number-looking field changes).
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = lines[0].clone();
    let cols: Vec<&str> = header.split(',').collect();
    let total_col = cols
        .iter()
        .position(|c| c.trim() == "Total")
        .expect("Total column");
    let mut fields: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let number_col = cols
        .iter()
        .position(|c| c.trim() == "Invoice Number")
        .expect("number column");
    let edited_number = fields[number_col].clone();
    fields[total_col] = "99999.00".into();
    lines[1] = fields.join(",");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let edited = import_file(&s, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(edited.invoices_updated, 1, "{edited:?}");
    assert_eq!(edited.invoices_unchanged, first.invoices_created - 1);
    let inv = s.find_invoice(&edited_number).await.unwrap().unwrap();
    assert_eq!(inv.amount.to_plain_string(), "99999.00");
}

/// An import issues no pay token; planning issues one to each invoice a
/// message is about (and to no other), and the message carries that
/// invoice's pay page. Planning again issues nothing new and writes the
/// same messages.
#[tokio::test]
async fn planning_issues_the_pay_tokens_its_messages_link_to() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ledger.csv");
    tally_csv(&input, 400, 0);
    let s = store().await;
    import_file(&s, &input, &ImportConfig::default(), now(), &|_, _| {})
        .await
        .unwrap();
    let tokens = |s: &SqliteStore| {
        let s = s.clone();
        async move {
            s.list_invoices(&Default::default())
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.id, i.pay_token))
                .collect::<std::collections::BTreeMap<_, _>>()
        }
    };
    assert!(tokens(&s).await.values().all(Option::is_none));

    let cfg = tagada_core::cadence::PlannerConfig::default();
    let plan = tagada_app::planning::build_plan(&s, &cfg, now(), tagada_app::planning::Scope::All)
        .await
        .unwrap();
    assert!(!plan.messages.is_empty() && !plan.skipped.is_empty());
    let after = tokens(&s).await;
    let mut messaged = std::collections::BTreeSet::new();
    for m in &plan.messages {
        // every item has its token; the links in the text are theirs (a
        // message about several invoices links the most overdue one's page)
        let own: Vec<&String> = m
            .items
            .iter()
            .map(|item| after[&item.invoice_id].as_ref().expect("issued"))
            .collect();
        messaged.extend(m.items.iter().map(|item| item.invoice_id));
        let links: Vec<&str> = m
            .message
            .body
            .split("/pay/")
            .skip(1)
            .map(|rest| &rest[..32])
            .collect();
        assert!(!links.is_empty(), "{}", m.message.body);
        for link in links {
            assert!(
                own.iter().any(|t| t.as_str() == link),
                "{link}: {}",
                m.message.body
            );
        }
    }
    for (id, token) in &after {
        assert_eq!(token.is_some(), messaged.contains(id), "invoice {id}");
    }

    let again = tagada_app::planning::build_plan(&s, &cfg, now(), tagada_app::planning::Scope::All)
        .await
        .unwrap();
    assert_eq!(again, plan);
    assert_eq!(tokens(&s).await, after);
}

/// A Tally-like file of `rows` rows over 40 buyers, due dates around
/// `now()`, every `bad_every`-th row with an amount that cannot be read,
/// and row 7 repeated at the end (a duplicate number).
fn tally_csv(path: &std::path::Path, rows: u32, bad_every: u32) {
    let mut text =
        String::from("Invoice No,Party Name,Mobile,Invoice Date,Due Date,Amount,Currency\n");
    let start = jiff::civil::date(2026, 10, 1);
    let mut row7 = String::new();
    for i in 0..rows {
        let b = i % 40;
        let d = start
            .checked_add(jiff::Span::new().days(i64::from(i % 90)))
            .unwrap();
        let due = d.checked_add(jiff::Span::new().days(30)).unwrap();
        let amount = if bad_every > 0 && i % bad_every == bad_every - 1 {
            "lots".to_string()
        } else {
            format!("\"{}.{:02}\"", 1_000 + i * 7, i % 100)
        };
        let line = format!(
            "INV-{i:06},Buyer {b:03} Exports,+9198{:08},{},{},{amount},INR\n",
            10_000_000 + b,
            d.strftime("%d-%m-%Y"),
            due.strftime("%d-%m-%Y"),
        );
        if i == 7 {
            row7 = line.clone();
        }
        text.push_str(&line);
    }
    text.push_str(&row7);
    std::fs::write(path, text).unwrap();
}

async fn file_store(dir: &std::path::Path, name: &str) -> SqliteStore {
    let s = SqliteStore::open(dir.join(name).to_str().unwrap())
        .await
        .unwrap();
    s.migrate().await.unwrap();
    s
}

async fn index_names(s: &SqliteStore) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'invoices' \
         ORDER BY name",
    )
    .fetch_all(s.pool())
    .await
    .unwrap()
}

/// What planning makes of a ledger: per message, the buyer, send time and
/// the invoices with their steps (ids and pay links left out).
async fn planned(s: &SqliteStore) -> Vec<(String, String, Vec<(String, u32)>)> {
    let cfg = tagada_core::cadence::PlannerConfig::default();
    let plan = tagada_app::planning::build_plan(s, &cfg, now(), tagada_app::planning::Scope::All)
        .await
        .unwrap();
    let mut out: Vec<_> = plan
        .messages
        .iter()
        .map(|m| {
            (
                m.buyer_name.clone(),
                m.send_at.to_string(),
                m.items
                    .iter()
                    .map(|i| (i.invoice_number.clone(), i.step))
                    .collect(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The same file imported in bulk mode and row by row: the same report,
/// the same rows rejected for the same reasons, the same invoices, the same
/// plan; the indexes are all there afterwards; re-importing is not bulk and
/// changes nothing.
#[tokio::test]
async fn bulk_import_matches_a_row_by_row_import() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tally.csv");
    tally_csv(&input, 6_000, 500);
    let bulk = file_store(dir.path(), "bulk.db").await;
    let rowwise = file_store(dir.path(), "rows.db").await;
    let migrated = index_names(&bulk).await;
    let cfg = |bulk_min_rows| ImportConfig {
        rejects_dir: Some(dir.path().to_path_buf()),
        batch_size: 1_000,
        bulk_min_rows,
        ..ImportConfig::default()
    };

    let a = import_file(&bulk, &input, &cfg(1), now(), &|_, _| {})
        .await
        .unwrap();
    let b = import_file(&rowwise, &input, &cfg(0), now(), &|_, _| {})
        .await
        .unwrap();
    assert!(a.bulk_load, "{a:?}");
    assert!(!b.bulk_load);
    assert_eq!(a.invoices_created, 6_000 - 12, "{a:?}");
    assert_eq!(a.rejected, 13, "{a:?}");
    let strip = |r: &tagada_app::import::ImportReport| {
        let mut r = r.clone();
        r.bulk_load = false;
        r.rejects_csv = None;
        serde_json::to_value(r).unwrap()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(index_names(&bulk).await, migrated, "indexes built again");
    let reasons = |rs: Vec<tagada_store::RejectedRow>| {
        rs.into_iter()
            .map(|r| (r.line, r.column, r.reason, r.raw))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        reasons(bulk.list_rejects(None).await.unwrap()),
        reasons(rowwise.list_rejects(None).await.unwrap())
    );
    let invoices = |s: &SqliteStore| {
        let s = s.clone();
        async move {
            let mut v: Vec<_> = s
                .list_invoices(&Default::default())
                .await
                .unwrap()
                .into_iter()
                .map(|i| {
                    (
                        i.number,
                        i.amount,
                        i.due_date,
                        i.status,
                        i.pay_token.is_some(),
                    )
                })
                .collect();
            v.sort_by(|x, y| x.0.cmp(&y.0));
            v
        }
    };
    let stored = invoices(&bulk).await;
    assert_eq!(stored.len(), 6_000 - 12);
    assert_eq!(stored, invoices(&rowwise).await);
    let plan = planned(&bulk).await;
    assert!(!plan.is_empty());
    assert_eq!(plan, planned(&rowwise).await, "the same plan");

    let again = import_file(&bulk, &input, &cfg(1), now(), &|_, _| {})
        .await
        .unwrap();
    assert!(
        !again.bulk_load,
        "a loaded ledger is not loaded in bulk again"
    );
    assert_eq!(again.invoices_unchanged, 6_000 - 12);
    assert_eq!(again.invoices_created + again.invoices_updated, 0);
}

/// A bulk import that fails half-way (its rejects file cannot be written)
/// still leaves every index in place and every committed row consistent;
/// importing again finishes the job.
#[tokio::test]
async fn failed_bulk_import_leaves_the_schema_and_data_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tally.csv");
    // a quarter of the rows are bad: the first 1,000 rejects are written
    // out (and fail) a little past row 4,000 of 8,000
    tally_csv(&input, 8_000, 4);
    let s = file_store(dir.path(), "failed.db").await;
    let migrated = index_names(&s).await;
    let blocked = dir.path().join("not-a-folder");
    std::fs::write(&blocked, "a file where the rejects folder should be").unwrap();
    let cfg = ImportConfig {
        rejects_dir: Some(blocked),
        batch_size: 1_000,
        bulk_min_rows: 1,
        ..ImportConfig::default()
    };
    let err = import_file(&s, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, tagada_app::import::ImportError::Rejects { .. }),
        "{err}"
    );
    assert_eq!(
        index_names(&s).await,
        migrated,
        "indexes built after the failure"
    );
    let stored = s.list_invoices(&Default::default()).await.unwrap();
    assert!(
        !stored.is_empty() && stored.len() < 6_000,
        "stopped part-way: {}",
        stored.len()
    );
    // no token issued by the import; each can be, and opens its invoice
    assert!(stored.iter().all(|i| i.pay_token.is_none()));
    let ids: Vec<_> = stored.iter().map(|i| i.id).collect();
    let tokens = s.pay_tokens(&ids).await.unwrap();
    assert_eq!(tokens.len(), stored.len());
    for (id, token) in tokens.iter().step_by(97) {
        let found = s.find_invoice_by_pay_token(token).await.unwrap();
        assert_eq!(found.map(|i| i.id), Some(*id));
    }

    let cfg = ImportConfig {
        rejects_dir: Some(dir.path().to_path_buf()),
        ..cfg
    };
    let done = import_file(&s, &input, &cfg, now(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        done.invoices_created + done.invoices_unchanged,
        6_000,
        "{done:?}"
    );
    assert_eq!(done.invoices_unchanged as usize, stored.len());
    assert_eq!(done.rejected, 2_001);
    assert_eq!(index_names(&s).await, migrated);
    assert_eq!(
        s.list_invoices(&Default::default()).await.unwrap().len(),
        6_000
    );
}

/// The store refusing a batch half-way stops the import with the store's
/// own error (the file reader is not left waiting), the batches written
/// before it stay, and the bulk load's indexes are built.
#[tokio::test]
async fn a_store_error_half_way_stops_the_import_with_that_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tally.csv");
    tally_csv(&input, 8_000, 0);
    let s = file_store(dir.path(), "refused.db").await;
    let migrated = index_names(&s).await;
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON invoices WHEN NEW.number = 'INV-005000' \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(s.pool())
    .await
    .unwrap();
    let cfg = ImportConfig {
        rejects_dir: Some(dir.path().to_path_buf()),
        batch_size: 1_000,
        bulk_min_rows: 1,
        ..ImportConfig::default()
    };
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        import_file(&s, &input, &cfg, now(), &|_, _| {}),
    )
    .await
    .expect("the import ends")
    .unwrap_err();
    assert!(
        matches!(err, tagada_app::import::ImportError::Store(_))
            && err.to_string().contains("refused by the test"),
        "{err}"
    );
    assert_eq!(
        s.list_invoices(&Default::default()).await.unwrap().len(),
        5_000,
        "the five batches before the refused one"
    );
    assert_eq!(index_names(&s).await, migrated, "indexes built again");
}
