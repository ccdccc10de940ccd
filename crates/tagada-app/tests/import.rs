//! Importing files end to end into a real SQLite store: good rows land,
//! bad rows are kept with file, line, column and reason, re-import is a no-op
//! and an edited file updates only what changed.

use std::path::PathBuf;

use tagada_app::config::ImportConfig;
use tagada_app::import::import_file;
use tagada_core::ledger::InvoiceStatus;
use tagada_store::{ImportStore, LedgerStore, Migrate};
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
