//! End-to-end file imports over the fixtures in `tests/fixtures/` and
//! spreadsheets generated on the fly.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use jiff::civil::date;
use tagada_core::ledger::InvoiceStatus;
use tagada_core::{Currency, Money};
use tagada_sources::file::{
    self, Field, FileError, FileKind, FileRows, ImportOptions, ImportRow, ProgressUnit, RowError,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn inr(minor: i64) -> Money {
    Money::from_minor(minor, Currency::INR)
}

/// Splits a file's rows into the good ones and the rejected ones.
fn drain(rows: &mut FileRows) -> (Vec<ImportRow>, Vec<RowError>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for row in rows {
        match row {
            Ok(r) => ok.push(r),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

fn by_number<'a>(rows: &'a [ImportRow], number: &str) -> &'a ImportRow {
    rows.iter()
        .find(|r| r.invoice.number == number)
        .unwrap_or_else(|| panic!("no row for invoice {number}"))
}

#[test]
fn tally_bills_receivable_with_title_rows_and_lakh_amounts() {
    let path = fixture("tally_bills_receivable.csv");
    let mut rows = file::open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(rows.kind(), FileKind::Csv);
    assert_eq!(rows.header_line(), 5);
    assert_eq!(rows.delimiter(), ',');
    assert_eq!(
        rows.detected_mapping(),
        BTreeMap::from([
            (Field::InvoiceDate, "Date".to_string()),
            (Field::InvoiceNumber, "Ref. No.".to_string()),
            (Field::BuyerName, "Party's Name".to_string()),
            (Field::Amount, "Opening Amount".to_string()),
            (Field::Outstanding, "Pending Amount".to_string()),
            (Field::DueDate, "Due on".to_string()),
        ])
    );

    let (ok, bad) = drain(&mut rows);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(
        ok.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![6, 7, 8, 9, 10]
    );
    assert_eq!(rows.skipped_summary_rows(), 1);
    assert_eq!(rows.skipped_blank_rows(), 1);
    assert_eq!(rows.progress_unit(), ProgressUnit::Bytes);
    assert_eq!(
        rows.bytes_read(),
        std::fs::metadata(&path).unwrap().len(),
        "every byte read by the end"
    );
    assert_eq!(rows.total_bytes(), Some(rows.bytes_read()));

    let gupta = by_number(&ok, "ST/26-27/001");
    assert_eq!(gupta.buyer.name, "Gupta Traders");
    assert_eq!(gupta.buyer.key, "gupta traders");
    assert_eq!(gupta.invoice.invoice_date, Some(date(2026, 4, 1)));
    assert_eq!(gupta.invoice.due_date, date(2026, 5, 1));
    assert_eq!(gupta.invoice.credit_days, None);
    assert_eq!(gupta.invoice.amount, inr(11_800_000));
    assert_eq!(gupta.invoice.amount_paid, inr(0));
    assert_eq!(gupta.invoice.status, None);
    assert!(gupta.warnings.is_empty());

    // Partly paid: 2,36,000 billed, 36,000 pending.
    let patel = by_number(&ok, "ST/26-27/014");
    assert_eq!(patel.buyer.name, "M/s. Patel Fabrics");
    assert_eq!(patel.buyer.key, "patel fabrics");
    assert_eq!(patel.invoice.amount, inr(23_600_000));
    assert_eq!(patel.invoice.amount_paid, inr(20_000_000));

    let ganesh = by_number(&ok, "ST/26-27/077");
    assert_eq!(ganesh.invoice.amount, inr(123_456_750));
    assert_eq!(ganesh.invoice.due_date, date(2026, 7, 20));

    // No `Due on`: the invoice date plus the default 30 days.
    let kumar = by_number(&ok, "ST/26-27/120");
    assert_eq!(kumar.buyer.name, "Kumar & Sons");
    assert_eq!(kumar.invoice.due_date, date(2026, 10, 1));
    assert_eq!(kumar.invoice.credit_days, Some(30));

    // The same buyer on two invoices gets the same key.
    assert_eq!(by_number(&ok, "ST/26-27/031").buyer.key, gupta.buyer.key);
}

#[test]
fn zoho_books_export_with_currencies_and_balances() {
    let mut rows = file::open(&fixture("zoho_invoices.csv"), &ImportOptions::default()).unwrap();
    assert_eq!(rows.header_line(), 1);
    let mapping = rows.detected_mapping();
    assert_eq!(mapping[&Field::InvoiceNumber], "Invoice Number");
    assert_eq!(mapping[&Field::BuyerKey], "Customer ID");
    assert_eq!(mapping[&Field::Amount], "Total");
    assert_eq!(mapping[&Field::Outstanding], "Balance");
    assert_eq!(mapping[&Field::Currency], "Currency Code");
    assert_eq!(mapping[&Field::CreditDays], "Payment Terms");
    assert_eq!(mapping[&Field::Status], "Invoice Status");
    assert_eq!(mapping[&Field::SalesRep], "Sales person");
    assert!(!mapping.values().any(|h| h == "Invoice ID"));

    let (ok, bad) = drain(&mut rows);
    assert_eq!(
        ok.iter()
            .map(|r| r.invoice.number.as_str())
            .collect::<Vec<_>>(),
        vec![
            "INV-000101",
            "INV-000102",
            "INV-000103",
            "INV-000104",
            "INV-000106"
        ]
    );
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 6);
    assert_eq!(bad[0].column.as_deref(), Some("Invoice Status"));
    assert_eq!(bad[0].value.as_deref(), Some("Draft"));
    assert!(bad[0].reason.contains("draft"), "{}", bad[0].reason);

    let acme = by_number(&ok, "INV-000101");
    assert_eq!(acme.buyer.key, "460000000001001");
    assert_eq!(acme.buyer.sales_rep.as_deref(), Some("Priya"));
    assert_eq!(acme.buyer.email.as_deref(), Some("ap@acme.example"));
    assert_eq!(
        acme.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+14155552671"
    );
    assert_eq!(
        acme.invoice.amount,
        Money::from_minor(125_000, Currency::USD)
    );
    assert_eq!(acme.invoice.amount_paid, Money::zero(Currency::USD));
    assert_eq!(acme.invoice.status, Some(InvoiceStatus::Pending));
    assert_eq!(acme.invoice.due_date, date(2026, 12, 1));
    assert_eq!(acme.invoice.credit_days, Some(30));

    let muller = by_number(&ok, "INV-000102");
    assert_eq!(muller.buyer.name, "Müller GmbH");
    assert_eq!(
        muller.invoice.amount,
        Money::from_minor(123_450, Currency::EUR)
    );
    assert_eq!(
        muller.invoice.amount_paid,
        Money::from_minor(100_000, Currency::EUR)
    );
    assert_eq!(muller.invoice.status, Some(InvoiceStatus::PartiallyPaid));
    assert_eq!(
        muller.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+4915123456789"
    );

    let sharma = by_number(&ok, "INV-000103");
    assert_eq!(sharma.invoice.amount, inr(11_800_000));
    assert_eq!(sharma.invoice.amount_paid, inr(11_800_000));
    assert_eq!(sharma.invoice.status, Some(InvoiceStatus::Paid));
    assert_eq!(
        sharma.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+919876543210"
    );

    // `Sent` is still owed.
    let gulf = by_number(&ok, "INV-000104");
    assert_eq!(
        gulf.invoice.amount,
        Money::from_minor(450_000, Currency::AED)
    );
    assert_eq!(gulf.invoice.status, Some(InvoiceStatus::Pending));
    assert_eq!(
        gulf.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+971501234567"
    );

    // No due date, `0` payment terms: due on the invoice date.
    let tokyo = by_number(&ok, "INV-000106");
    assert_eq!(
        tokyo.invoice.amount,
        Money::from_minor(125_000, Currency::JPY)
    );
    assert_eq!(tokyo.invoice.due_date, date(2026, 11, 21));
    assert_eq!(tokyo.invoice.credit_days, Some(0));
    assert_eq!(tokyo.buyer.whatsapp, None);
    assert_eq!(tokyo.buyer.phone_raw, None);
}

/// Expected rejection: line, column, value, a fragment of the reason.
type Rejection = (
    u64,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[test]
fn messy_sheet_rejects_exactly_the_bad_rows() {
    let path = fixture("messy.csv");
    let mut rows = file::open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(rows.delimiter(), ';', "sniffed past a title with a comma");
    assert_eq!(rows.header_line(), 2);
    assert_eq!(rows.headers()[0], "Bill No", "BOM stripped");

    let (ok, bad) = drain(&mut rows);
    let expected: Vec<Rejection> = vec![
        (
            5,
            Some("Bill Date"),
            Some("31-02-2026"),
            "not a calendar date",
        ),
        (6, Some("Amount"), None, "the amount is missing"),
        (7, Some("Currency"), Some("XYZ"), "unknown currency `XYZ`"),
        (
            11,
            Some("Amount"),
            Some("$120"),
            "in USD but the currency column says INR",
        ),
        (12, Some("Amount"), Some("-500"), "greater than zero"),
        (13, Some("Received"), Some("1500"), "more than the amount"),
        (
            14,
            Some("Status"),
            Some("Shipped"),
            "unknown status `Shipped`",
        ),
        (15, Some("Bill No"), None, "the invoice number is missing"),
        (16, Some("Customer"), None, "the buyer name is missing"),
        (
            17,
            Some("Credit Days"),
            Some("abc"),
            "not a number of credit days",
        ),
        (23, Some("Amount"), Some("12.34.5"), "is not an amount"),
    ];
    let got: Vec<(u64, Option<&str>, Option<&str>)> = bad
        .iter()
        .map(|e| (e.line, e.column.as_deref(), e.value.as_deref()))
        .collect();
    let want: Vec<(u64, Option<&str>, Option<&str>)> =
        expected.iter().map(|(l, c, v, _)| (*l, *c, *v)).collect();
    assert_eq!(got, want);
    for (e, (_, _, _, reason)) in bad.iter().zip(&expected) {
        assert!(
            e.reason.contains(reason),
            "line {}: `{}` should mention `{reason}`",
            e.line,
            e.reason
        );
    }
    // The rejected row comes back whole, joined with the file's delimiter.
    assert_eq!(
        bad[2].raw,
        "B-005;Reddy Agencies;;;07-12-2026;30;750,00;;XYZ;;;"
    );

    // Every good row comes through, the duplicate B-001 included: the
    // parser passes both and the application rejects the second, as only
    // it sees the whole import against the ledger.
    assert_eq!(
        ok.iter()
            .map(|r| (r.line, r.invoice.number.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (3, "B-001"),
            (4, "B-002"),
            (8, "B-001"),
            (10, "B-006"),
            (18, "B-013"),
            (20, "B-014"),
            (21, "B-015"),
        ]
    );
    assert_eq!(rows.skipped_blank_rows(), 1);
    assert_eq!(rows.skipped_summary_rows(), 1);

    let sharma = &ok[0];
    assert_eq!(sharma.invoice.amount, inr(123_450));
    assert_eq!(sharma.invoice.due_date, date(2027, 1, 3));
    assert!(sharma.buyer.consent);
    assert_eq!(
        sharma.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+919876543210"
    );
    assert!(sharma.warnings.is_empty());

    // Decimal comma with one digit, `Net 45`, a bad phone and a bad email:
    // imported, with both dropped and a warning each.
    let verma = &ok[1];
    assert_eq!(verma.buyer.name, "Verma & Co");
    assert_eq!(verma.invoice.amount, inr(123_450));
    assert_eq!(verma.invoice.amount_paid, inr(20_000));
    assert_eq!(verma.invoice.credit_days, Some(45));
    assert_eq!(verma.invoice.due_date, date(2027, 1, 19));
    assert_eq!(verma.buyer.whatsapp, None);
    assert_eq!(verma.buyer.phone_raw.as_deref(), Some("12345"));
    assert_eq!(verma.buyer.email, None);
    assert!(!verma.buyer.consent);
    assert_eq!(verma.warnings.len(), 2, "{:?}", verma.warnings);
    assert!(verma.warnings[0].starts_with("Mobile:"));
    assert!(verma.warnings[0].contains("without a WhatsApp number"));
    assert!(verma.warnings[1].starts_with("Email:"));

    assert_eq!(ok[2].invoice.amount, inr(250_000));

    let nair = &ok[3];
    assert_eq!(nair.invoice.amount, Money::from_minor(9_990, Currency::EUR));
    assert_eq!(
        nair.invoice.amount_paid,
        Money::from_minor(5_000, Currency::EUR)
    );
    assert_eq!(nair.invoice.status, Some(InvoiceStatus::PartiallyPaid));
    assert_eq!(
        nair.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+919988776655"
    );
    assert!(nair.buyer.consent);

    let sinha = &ok[4];
    assert_eq!(sinha.invoice.amount, inr(123_450));
    assert_eq!(sinha.invoice.status, Some(InvoiceStatus::Paid));
    assert_eq!(
        sinha.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+919876543211"
    );
    assert!(!sinha.buyer.consent);
    assert_eq!(sinha.warnings.len(), 1);
    assert!(sinha.warnings[0].contains("`maybe`"));

    // A Windows-1252 byte in a UTF-8 file.
    assert_eq!(ok[5].buyer.name, "Café Mocha");

    // A quoted field over two physical lines.
    assert_eq!(
        ok[6].invoice.notes.as_deref(),
        Some("call after 5pm\nask for accounts")
    );
}

#[test]
fn source_hash_ignores_spelling_but_not_values() {
    let opts = ImportOptions::default();
    let read = |text: &str| -> ImportRow {
        let mut rows = file::open_reader(
            Cursor::new(text.as_bytes().to_vec()),
            "mem.csv",
            FileKind::Csv,
            &opts,
        )
        .unwrap();
        rows.next().unwrap().unwrap()
    };
    let a = read("Invoice No,Party,Amount,Date\nA-1,Gupta Traders,\"₹1,000.00\",04-12-2026\n");
    let b = read("Invoice No;Party;Amount;Date\nA-1;Gupta Traders;1000;4 Dec 2026\n");
    let c = read("Invoice No,Party,Amount,Date\nA-1,Gupta Traders,1000.01,04-12-2026\n");
    assert_eq!(a.source_hash, b.source_hash);
    assert_ne!(a.source_hash, c.source_hash);
    assert_eq!(a.source_hash.len(), 64);
    assert!(a.source_hash.bytes().all(|b| b.is_ascii_hexdigit()));
    // Re-reading the same file gives the same hashes.
    let first: Vec<String> = file::open(&fixture("tally_bills_receivable.csv"), &opts)
        .unwrap()
        .map(|r| r.unwrap().source_hash)
        .collect();
    let second: Vec<String> = file::open(&fixture("tally_bills_receivable.csv"), &opts)
        .unwrap()
        .map(|r| r.unwrap().source_hash)
        .collect();
    assert_eq!(first, second);
    assert_eq!(first.len(), 5);
}

#[test]
fn missing_required_columns_fail_the_whole_file() {
    let text = "Sr,Party Name,Invoice No,Mobile\n1,Gupta,A-1,9876543210\n";
    let err = file::open_reader(
        Cursor::new(text.as_bytes().to_vec()),
        "buyers.csv",
        FileKind::Csv,
        &ImportOptions::default(),
    )
    .unwrap_err();
    match &err {
        FileError::MissingColumns {
            file,
            missing,
            header_line,
            headers,
        } => {
            assert_eq!(file, "buyers.csv");
            assert_eq!(missing, &vec![Field::Amount, Field::InvoiceDate]);
            assert_eq!(*header_line, 1);
            assert_eq!(headers, &vec!["Sr", "Party Name", "Invoice No", "Mobile"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "buyers.csv: missing required column(s): amount (or outstanding), invoice date (or due date); \
         headers found on line 1: Sr | Party Name | Invoice No | Mobile"
    );
}

#[test]
fn no_header_and_other_file_errors() {
    let opts = ImportOptions::default();
    let err = file::open_reader(
        Cursor::new(b"just,some,words\n1,2,3\n".to_vec()),
        "x.csv",
        FileKind::Csv,
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(&err, FileError::NoHeader { file, first_row } if file == "x.csv" && first_row[0] == "just")
    );

    let err =
        file::open_reader(Cursor::new(Vec::new()), "e.csv", FileKind::Csv, &opts).unwrap_err();
    assert!(matches!(err, FileError::Empty { .. }));

    let err = file::open(Path::new("ledger.pdf"), &opts).unwrap_err();
    assert!(matches!(err, FileError::UnsupportedKind { .. }));

    let err = file::open(Path::new("/no/such/file.csv"), &opts).unwrap_err();
    assert!(matches!(err, FileError::Io { .. }));
    assert!(err.to_string().starts_with("/no/such/file.csv: "));

    let mut opts = ImportOptions::default();
    opts.mapping.insert(Field::Phone, "WhatsApp".into());
    let err = file::open(&fixture("zoho_invoices.csv"), &opts).unwrap_err();
    assert!(
        matches!(&err, FileError::MappedColumnNotFound { field: Field::Phone, header, .. } if header == "WhatsApp"),
        "{err}"
    );
}

#[test]
fn explicit_mapping_reads_unusual_headers() {
    let text = "Bill,Customer,Net Payable,Dt,Cell\nX/1,Gupta,\"1,500\",04-12-2026,98765 43210\n";
    let opts = ImportOptions {
        mapping: BTreeMap::from([
            (Field::InvoiceNumber, "Bill".to_string()),
            (Field::Amount, "net payable".to_string()),
            (Field::InvoiceDate, "DT".to_string()),
        ]),
        default_credit_days: 15,
        ..ImportOptions::default()
    };
    let mut rows = file::open_reader(
        Cursor::new(text.as_bytes().to_vec()),
        "m.csv",
        FileKind::Csv,
        &opts,
    )
    .unwrap();
    let row = rows.next().unwrap().unwrap();
    assert_eq!(row.invoice.number, "X/1");
    assert_eq!(row.invoice.amount, inr(150_000));
    assert_eq!(row.invoice.due_date, date(2026, 12, 19));
    assert_eq!(
        row.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+919876543210"
    );
    assert!(rows.next().is_none());
}

#[test]
fn options_change_currency_region_and_date_order() {
    let text = "Invoice No\tCustomer\tAmount\tInvoice Date\tPhone\n\
                A-1\tAcme\t1,250.00\t12/04/2026\t(415) 555-2671\n";
    let opts = ImportOptions {
        default_currency: Currency::USD,
        default_region: tagada_core::CountryCode::parse("US").unwrap(),
        date_order: file::DateOrder::MonthFirst,
        ..ImportOptions::default()
    };
    let mut rows = file::open_reader(
        Cursor::new(text.as_bytes().to_vec()),
        "us.tsv",
        FileKind::Csv,
        &opts,
    )
    .unwrap();
    assert_eq!(rows.delimiter(), '\t');
    let row = rows.next().unwrap().unwrap();
    assert_eq!(
        row.invoice.amount,
        Money::from_minor(125_000, Currency::USD)
    );
    assert_eq!(row.invoice.invoice_date, Some(date(2026, 12, 4)));
    assert_eq!(
        row.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+14155552671"
    );
}

#[test]
fn utf16_excel_unicode_text_is_read() {
    let text = "Invoice No\tParty Name\tAmount\tDate\r\nB/7\tनमन एंटरप्राइज़\t₹2,500\t01-12-2026\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let mut rows = file::open_reader(
        Cursor::new(bytes),
        "unicode.txt",
        FileKind::Csv,
        &ImportOptions::default(),
    )
    .unwrap();
    let row = rows.next().unwrap().unwrap();
    assert_eq!(row.line, 2);
    assert_eq!(row.buyer.name, "नमन एंटरप्राइज़");
    assert_eq!(row.invoice.amount, inr(250_000));
}

/// A reader that makes up a long CSV as it is read, so the test shows the
/// importer streams: the file is never in memory, only the current rows.
struct Generated {
    next_row: u64,
    rows: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.next_row == 0 {
                self.buf
                    .extend_from_slice(b"Invoice No,Party Name,Amount,Amount Paid,Date\n");
            } else if self.next_row <= self.rows {
                let n = self.next_row;
                self.buf.extend_from_slice(
                    format!("INV-{n},Buyer {},{}.50,{},01-01-2026\n", n % 97, n, n % 10).as_bytes(),
                );
            } else {
                return Ok(0);
            }
            self.next_row += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_long_csv_streams_row_by_row() {
    let rows = 20_000;
    let reader = Generated {
        next_row: 0,
        rows,
        buf: Vec::new(),
        pos: 0,
    };
    let mut file =
        file::open_reader(reader, "long.csv", FileKind::Csv, &ImportOptions::default()).unwrap();
    let mut count = 0u64;
    let mut total_minor: i64 = 0;
    let mut last_progress = 0;
    while let Some(row) = file.next() {
        let row = row.unwrap();
        count += 1;
        total_minor += row.invoice.amount.minor();
        assert_eq!(row.line, count + 1);
        let progress = file.bytes_read();
        assert!(progress >= last_progress);
        last_progress = progress;
    }
    assert_eq!(count, rows);
    // Σ (n + 0.50) for n in 1..=rows, in paise.
    let expected = (rows * (rows + 1) / 2) as i64 * 100 + rows as i64 * 50;
    assert_eq!(total_minor, expected);
    assert!(file.bytes_read() > 500_000);
    assert_eq!(file.total_bytes(), None);
}

// --- spreadsheets -----------------------------------------------------------

fn write_invoice_sheet(ws: &mut rust_xlsxwriter::Worksheet) {
    use rust_xlsxwriter::{ExcelDateTime, Format};
    let date_fmt = Format::new().set_num_format("dd-mmm-yyyy");
    let d = |y, m, day| ExcelDateTime::from_ymd(y, m, day).unwrap();
    ws.write_string(0, 0, "Kumar Industries - Debtors").unwrap();
    // Row 2 (index 1) left blank, header on sheet row 3.
    for (col, h) in [
        "Invoice No",
        "Party Name",
        "Invoice Date",
        "Due Date",
        "Amount",
        "Paid",
        "Mobile",
        "Currency",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(2, col as u16, *h).unwrap();
    }
    // Sheet row 4: a date cell, a bare serial number as due date, a
    // float amount, a numeric phone number.
    ws.write_string(3, 0, "INV-1").unwrap();
    ws.write_string(3, 1, "Alpha Traders").unwrap();
    ws.write_datetime_with_format(3, 2, d(2026, 12, 4), &date_fmt)
        .unwrap();
    ws.write_number(3, 3, 46390.0).unwrap();
    ws.write_number(3, 4, 1234.5).unwrap();
    ws.write_number(3, 5, 0.0).unwrap();
    ws.write_number(3, 6, 9_876_543_210.0).unwrap();
    ws.write_string(3, 7, "INR").unwrap();
    // Sheet row 5: a written date, amounts with paise, an AED number.
    ws.write_string(4, 0, "INV-2").unwrap();
    ws.write_string(4, 1, "Beta Gulf LLC").unwrap();
    ws.write_datetime_with_format(4, 2, d(2026, 12, 10), &date_fmt)
        .unwrap();
    ws.write_string(4, 3, "15/01/2027").unwrap();
    ws.write_number(4, 4, 118_000.0).unwrap();
    ws.write_number(4, 5, 18_000.25).unwrap();
    ws.write_string(4, 6, "+971 50 123 4567").unwrap();
    ws.write_string(4, 7, "AED").unwrap();
    // Sheet row 6: a numeric invoice number and a formula's float residue.
    ws.write_number(5, 0, 1003.0).unwrap();
    ws.write_string(5, 1, "Gamma Steels").unwrap();
    ws.write_datetime_with_format(5, 2, d(2026, 12, 11), &date_fmt)
        .unwrap();
    ws.write_number(5, 4, 1000.0 * 1.18).unwrap();
    ws.write_string(5, 7, "INR").unwrap();
    // Sheet row 7: yen, no minor units.
    ws.write_string(6, 0, "INV-4").unwrap();
    ws.write_string(6, 1, "Tokyo KK").unwrap();
    ws.write_datetime_with_format(6, 2, d(2026, 12, 12), &date_fmt)
        .unwrap();
    ws.write_number(6, 4, 1250.0).unwrap();
    ws.write_string(6, 7, "JPY").unwrap();
    // Sheet row 8: dinars, three decimals.
    ws.write_string(7, 0, "INV-5").unwrap();
    ws.write_string(7, 1, "Kuwait Co").unwrap();
    ws.write_datetime_with_format(7, 2, d(2026, 12, 13), &date_fmt)
        .unwrap();
    ws.write_number(7, 4, 1.25).unwrap();
    ws.write_string(7, 7, "KWD").unwrap();
    // Sheet row 9: more decimals than rupees have.
    ws.write_string(8, 0, "INV-6").unwrap();
    ws.write_string(8, 1, "Delta").unwrap();
    ws.write_datetime_with_format(8, 2, d(2026, 12, 14), &date_fmt)
        .unwrap();
    ws.write_number(8, 4, 12.345).unwrap();
    ws.write_string(8, 7, "INR").unwrap();
    // Sheet row 10: the total.
    ws.write_string(9, 1, "Total").unwrap();
    ws.write_number(9, 4, 120_000.0).unwrap();
}

fn check_invoice_sheet(rows: &mut FileRows) {
    assert_eq!(rows.header_line(), 3);
    assert_eq!(rows.progress_unit(), ProgressUnit::Rows);
    let (ok, bad) = drain(rows);
    assert_eq!(
        ok.iter()
            .map(|r| (r.line, r.invoice.number.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (4, "INV-1"),
            (5, "INV-2"),
            (6, "1003"),
            (7, "INV-4"),
            (8, "INV-5")
        ]
    );
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 9);
    assert_eq!(bad[0].column.as_deref(), Some("Amount"));
    assert_eq!(bad[0].value.as_deref(), Some("12.345"));
    assert!(bad[0].reason.contains("more decimals"), "{}", bad[0].reason);
    assert_eq!(rows.skipped_summary_rows(), 1);
    assert_eq!(rows.bytes_read(), rows.total_bytes().unwrap());

    let alpha = &ok[0];
    assert_eq!(alpha.invoice.invoice_date, Some(date(2026, 12, 4)));
    assert_eq!(alpha.invoice.due_date, date(2027, 1, 3), "serial 46390");
    assert_eq!(alpha.invoice.amount, inr(123_450));
    assert_eq!(alpha.invoice.amount_paid, inr(0));
    assert_eq!(
        alpha.buyer.whatsapp.as_ref().unwrap().as_str(),
        "+919876543210"
    );
    assert_eq!(alpha.buyer.phone_raw.as_deref(), Some("9876543210"));

    let beta = &ok[1];
    assert_eq!(beta.invoice.invoice_date, Some(date(2026, 12, 10)));
    assert_eq!(beta.invoice.due_date, date(2027, 1, 15));
    assert_eq!(
        beta.invoice.amount,
        Money::from_minor(11_800_000, Currency::AED)
    );
    assert_eq!(
        beta.invoice.amount_paid,
        Money::from_minor(1_800_025, Currency::AED)
    );

    let gamma = &ok[2];
    assert_eq!(
        gamma.invoice.amount,
        inr(118_000),
        "1180.0000000000002 shown as 1180"
    );
    assert_eq!(gamma.invoice.due_date, date(2027, 1, 10));

    assert_eq!(
        ok[3].invoice.amount,
        Money::from_minor(1_250, Currency::JPY)
    );
    assert_eq!(
        ok[4].invoice.amount,
        Money::from_minor(1_250, Currency::KWD)
    );
}

#[test]
fn xlsx_dates_serials_and_numbers_parse_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("debtors.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    write_invoice_sheet(workbook.add_worksheet());
    workbook.save(&path).unwrap();

    let mut rows = file::open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(rows.kind(), FileKind::Xlsx);
    check_invoice_sheet(&mut rows);

    // The same bytes from memory.
    let bytes = std::fs::read(&path).unwrap();
    let mut rows = file::open_reader(
        Cursor::new(bytes),
        "debtors.xlsx",
        FileKind::Xlsx,
        &ImportOptions::default(),
    )
    .unwrap();
    check_invoice_sheet(&mut rows);
}

#[test]
fn xlsx_named_sheet() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let cover = workbook.add_worksheet();
    cover.set_name("Cover").unwrap();
    cover.write_string(0, 0, "Debtors report").unwrap();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Invoices").unwrap();
    write_invoice_sheet(sheet);
    let bytes = workbook.save_to_buffer().unwrap();

    // The first sheet has no header.
    let err = file::open_reader(
        Cursor::new(bytes.clone()),
        "book.xlsx",
        FileKind::Xlsx,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, FileError::NoHeader { .. }), "{err}");

    let opts = ImportOptions {
        sheet: Some("invoices".into()),
        ..ImportOptions::default()
    };
    let mut rows = file::open_reader(
        Cursor::new(bytes.clone()),
        "book.xlsx",
        FileKind::Xlsx,
        &opts,
    )
    .unwrap();
    check_invoice_sheet(&mut rows);

    let opts = ImportOptions {
        sheet: Some("Ledger".into()),
        ..ImportOptions::default()
    };
    let err =
        file::open_reader(Cursor::new(bytes), "book.xlsx", FileKind::Xlsx, &opts).unwrap_err();
    match err {
        FileError::SheetNotFound {
            sheet, available, ..
        } => {
            assert_eq!(sheet, "Ledger");
            assert_eq!(available, vec!["Cover", "Invoices"]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn row_error_display_names_line_and_column() {
    let e = RowError {
        line: 7,
        column: Some("Amount".into()),
        value: Some("abc".into()),
        reason: "the amount cannot be read".into(),
        raw: String::new(),
    };
    assert_eq!(
        e.to_string(),
        "line 7, column `Amount`: the amount cannot be read"
    );
}

#[test]
fn outstanding_only_files_and_amounts_that_do_not_add_up() {
    // Tally's Overdue Receivables has only the pending amount.
    let text = "Date,Ref No.,Party's Name,Pending Amount,Due on\n\
                01-04-2026,A/1,Gupta,\"1,000.00 Dr\",01-05-2026\n\
                01-04-2026,A/2,Gupta,\"500.00 Cr\",01-05-2026\n";
    let (ok, bad) = drain(
        &mut file::open_reader(
            Cursor::new(text.as_bytes().to_vec()),
            "overdue.csv",
            FileKind::Csv,
            &ImportOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].invoice.amount, inr(100_000));
    assert_eq!(ok[0].invoice.amount_paid, inr(0));
    // A credit balance is not a debt.
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 3);
    assert_eq!(bad[0].column.as_deref(), Some("Pending Amount"));
    assert!(bad[0].reason.contains("greater than zero"));

    let text = "Invoice No,Party,Amount,Paid,Balance,Date,Due Date,Currency\n\
                A-1,Gupta,1000,400,600,01-04-2026,01-05-2026,INR\n\
                A-2,Gupta,1000,400,500,01-04-2026,01-05-2026,INR\n\
                A-3,Gupta,1000,,1200,01-04-2026,01-05-2026,INR\n\
                A-4,Gupta,1000,,-5,01-04-2026,01-05-2026,INR\n\
                A-5,Gupta,1000,,,01-05-2026,01-04-2026,INR\n\
                A-6,Gupta,1000,,€5,01-04-2026,01-05-2026,₹\n";
    let (ok, bad) = drain(
        &mut file::open_reader(
            Cursor::new(text.as_bytes().to_vec()),
            "paid.csv",
            FileKind::Csv,
            &ImportOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].invoice.amount_paid, inr(40_000));
    let got: Vec<(u64, Option<&str>)> = bad.iter().map(|e| (e.line, e.column.as_deref())).collect();
    assert_eq!(
        got,
        vec![
            (3, Some("Balance")),
            (4, Some("Balance")),
            (5, Some("Balance")),
            (6, Some("Due Date")),
            (7, Some("Balance")),
        ]
    );
    assert!(bad[0].reason.contains("do not add up"), "{}", bad[0].reason);
    assert!(
        bad[1].reason.contains("more than the amount"),
        "{}",
        bad[1].reason
    );
    assert!(
        bad[2].reason.contains("cannot be negative"),
        "{}",
        bad[2].reason
    );
    assert!(
        bad[3].reason.contains("before the invoice date"),
        "{}",
        bad[3].reason
    );
    assert!(
        bad[4].reason.contains("currency column says INR"),
        "{}",
        bad[4].reason
    );
}

#[test]
fn file_rows_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<FileRows>();
    assert_send::<FileError>();
}
