//! The demo with its ledger in a table the team keeps (`tagada demo
//! --ledger sheets|airtable`): the open orders are not loaded into the
//! store but written into the table as the team had them (with one row a
//! person left unfinished), tagada syncs the table once a simulated day
//! through the real client, and the accountant works in it: corrects an
//! amount, adds an order, deletes a cancelled one and enters the bank
//! transfers that arrive in Amount Paid. At the end the table shows what
//! tagada wrote back.

use std::io::Write;

use jiff::Timestamp;
use jiff::civil::Date;
use tagada_sources::table::{LedgerTable, TableCell};
use tagada_store::Store;

use crate::ledger_sync::{self, LeadsTab, SyncOptions, SyncReport};

/// The table the demo's ledger lives in, with the client tagada syncs it
/// through and a way for the demo's people to work in it directly (as a
/// person does in the browser, not through tagada).
pub trait DemoLedger: Send + Sync {
    /// One line saying where the table is.
    fn describe(&self) -> String;
    /// The real client in front of the table.
    fn table(&self) -> &dyn LedgerTable;
    /// How the syncs run (`[ledger]` as the demo configures it).
    fn options(&self) -> &SyncOptions;
    /// The sheet's leads tab, when new marketplace leads are appended to one.
    fn leads_tab(&self) -> Option<&LeadsTab> {
        None
    }
    /// Fills the table as the team kept it before tagada: these columns,
    /// these rows of text.
    fn fill(&self, header: &[&str], rows: &[Vec<String>]);
    /// A person sets `column` of the row whose invoice number is `number`.
    fn edit(&self, number: &str, column: &str, value: &str);
    /// A person adds a row (cells by column name; other columns empty).
    fn add_row(&self, cells: &[(&str, String)]);
    /// A person deletes the row whose invoice number is `number`.
    fn delete_row(&self, number: &str);
    /// The simulated clock was set to `now`.
    fn clock_set(&self, _now: Timestamp) {}
}

/// The columns of the team's order sheet before tagada: Tally-like names,
/// which the importer's header detection maps without configuration.
pub(super) const HEADER: [&str; 12] = [
    "Invoice No",
    "Party Code",
    "Party Name",
    "Company",
    "WhatsApp",
    "Country",
    "Language",
    "Sales Rep",
    "Invoice Date",
    "Due Date",
    "Amount",
    "Currency",
];

/// One order as the team types it: dates day first, amounts with their
/// symbol and grouping, phone numbers as the buyer gave them.
pub(super) fn order_row(
    number: &str,
    buyer: &super::SampleBuyer,
    invoice_date: Date,
    due_date: Date,
    amount: &tagada_core::Money,
) -> Vec<String> {
    vec![
        number.to_string(),
        buyer.key.to_string(),
        buyer.name.to_string(),
        buyer.company.to_string(),
        buyer.phone.to_string(),
        buyer.country.to_string(),
        buyer.language.to_string(),
        buyer.rep.to_string(),
        invoice_date.strftime("%d-%m-%Y").to_string(),
        due_date.strftime("%d-%m-%Y").to_string(),
        amount.to_string(),
        amount.currency().code().to_string(),
    ]
}

/// What the accountant does in the table during the demo, by day (from 0)
/// and seller-local hour.
#[derive(Debug, Clone)]
pub(super) enum PersonEdit {
    /// Corrects a cell.
    Set {
        number: &'static str,
        column: &'static str,
        value: &'static str,
        why: &'static str,
    },
    /// Adds an order for a sample buyer, invoiced that day.
    Add {
        number: &'static str,
        buyer: &'static str,
        currency: &'static str,
        major: i64,
        credit_days: i64,
    },
    /// Deletes a row.
    Delete {
        number: &'static str,
        why: &'static str,
    },
}

/// The accountant's script: (day, hour, edit).
pub(super) const EDITS: &[(u32, i64, PersonEdit)] = &[
    (
        2,
        15,
        PersonEdit::Set {
            number: "INV-1009",
            column: "Amount",
            value: "₹1,27,500.00",
            why: "a credit note for a short shipment",
        },
    ),
    (
        8,
        12,
        PersonEdit::Add {
            number: "INV-1021",
            buyer: "nair-spices",
            currency: "INR",
            major: 54_300,
            credit_days: 15,
        },
    ),
    (
        15,
        16,
        PersonEdit::Delete {
            number: "INV-4002",
            why: "the order was cancelled and the goods came back",
        },
    ),
];

/// The row a person left unfinished: its amount is still a note to self.
pub(super) fn unfinished_row(start: Date) -> Vec<String> {
    let b = super::SAMPLE
        .iter()
        .find(|b| b.key == "sharma-textiles")
        .expect("sample buyer");
    let mut row = order_row(
        "INV-1018",
        b,
        start,
        start.saturating_add(jiff::Span::new().days(30)),
        &tagada_core::Money::zero(tagada_core::Currency::INR),
    );
    row[10] = "rate to be confirmed".into();
    row
}

/// The seller-local hour the nightly sync runs at.
pub(super) const SYNC_HOUR: i64 = 0;

/// Figures of the demo's ledger syncs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LedgerFigures {
    /// The table, as a person would recognise it.
    pub table: String,
    pub syncs: u32,
    /// Invoices created from rows, and rows whose edits were taken in.
    pub invoices_created: u32,
    pub invoices_updated: u32,
    /// Rows deleted from the table (their invoices paused).
    pub rows_deleted: u32,
    /// Rows that could not be used (kept in the table with their reason).
    pub rows_refused: u32,
    /// Cells tagada wrote back, and in how many rows.
    pub cells_written: u32,
    pub rows_written: u32,
    /// Leads appended to the leads tab.
    pub leads_appended: u32,
    /// HTTP requests the client made (token requests included).
    pub requests: u64,
    /// The refusals last shown, so that a row refused night after night is
    /// named once.
    #[serde(skip)]
    pub(super) refusals_shown: Vec<String>,
}

/// Runs one sync and describes it in the demo's day lines.
pub(super) async fn sync(
    store: &dyn Store,
    ledger: &dyn DemoLedger,
    figures: &mut LedgerFigures,
    now: Timestamp,
) -> anyhow::Result<Vec<String>> {
    let report = ledger_sync::sync(store, ledger.table(), ledger.options(), now).await?;
    figures.syncs += 1;
    figures.invoices_created += report.invoices_created;
    figures.invoices_updated += report.invoices_updated;
    figures.rows_deleted += u32::try_from(report.deleted.len()).unwrap_or(u32::MAX);
    figures.rows_refused = u32::try_from(report.rejected.len()).unwrap_or(u32::MAX);
    figures.cells_written += report.cell_changes;
    figures.rows_written += report.rows_written;
    figures.requests = report.requests;
    let refusals: Vec<String> = report
        .rejected
        .iter()
        .map(|i| format!("{}:{}", i.line, i.reason))
        .collect();
    let show_refusals = refusals != figures.refusals_shown;
    figures.refusals_shown = refusals;
    Ok(describe(&report, show_refusals))
}

fn describe(r: &SyncReport, show_refusals: bool) -> Vec<String> {
    let mut lines = vec![format!(
        "  ⇄ ledger    synced {} rows: {} invoices created, {} updated; {} cells written back in {} rows",
        r.rows_read, r.invoices_created, r.invoices_updated, r.cell_changes, r.rows_written,
    )];
    if !r.columns_added.is_empty() {
        lines.push(format!(
            "                columns added: {}",
            r.columns_added.join(", ")
        ));
    }
    // The first sync's new rows are counted above; later changes are named.
    let many_new = r.invoices_created > 3;
    for change in &r.inbound {
        if many_new && change.contains(": new invoice of ") {
            continue;
        }
        lines.push(format!("                ← {change}"));
    }
    for d in &r.deleted {
        lines.push(format!(
            "                ← {d}: deleted in the table; its reminders stop, its history stays"
        ));
    }
    for back in &r.restored {
        lines.push(format!(
            "                ← {back}: back in the table; reminders resume"
        ));
    }
    for c in &r.conflicts {
        lines.push(format!("                ! {c}"));
    }
    for issue in r.rejected.iter().filter(|_| show_refusals) {
        lines.push(format!(
            "                ✗ row {}{}: {} (written in its tagada_error cell)",
            issue.line,
            issue
                .column
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            issue.reason
        ));
    }
    lines
}

/// The columns shown when the table is printed at the end.
const SHOWN: [(&str, usize); 8] = [
    ("Invoice No", 10),
    ("Company", 26),
    (ledger_sync::COL_STATUS, 14),
    (ledger_sync::COL_PAID, 13),
    (ledger_sync::COL_LAST_REMINDER, 16),
    (ledger_sync::COL_STEP, 14),
    (ledger_sync::COL_DELIVERY, 9),
    (ledger_sync::COL_NEXT, 16),
];

/// Prints the table as the team now sees it: their columns and the ones
/// tagada keeps, read back through the client.
pub(super) async fn print_table(
    ledger: &dyn DemoLedger,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let snapshot = ledger.table().read().await?;
    let index = |name: &str| snapshot.headers.iter().position(|h| h == name);
    writeln!(
        out,
        "\nThe ledger table now ({}; {} of its {} columns shown)",
        ledger.table().describe(),
        SHOWN.len(),
        snapshot.headers.len()
    )?;
    let mut header = String::from(" ");
    for (name, width) in SHOWN {
        header.push_str(&format!(" {:<width$}", clip(name, width)));
    }
    writeln!(out, "{}", header.trim_end())?;
    for row in &snapshot.rows {
        let mut line = String::from(" ");
        for (name, width) in SHOWN {
            let text = index(name)
                .and_then(|i| row.cells.get(i))
                .map(cell_text)
                .unwrap_or_default();
            line.push_str(&format!(" {:<width$}", clip(&text, width)));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    if let Some(i) = index(ledger_sync::COL_ERROR) {
        for row in &snapshot.rows {
            let text = row.cells.get(i).map(cell_text).unwrap_or_default();
            if !text.is_empty() {
                writeln!(out, "  row {} tagada_error: {text}", row.line)?;
            }
        }
    }
    Ok(())
}

fn cell_text(c: &TableCell) -> String {
    match c {
        TableCell::Empty => String::new(),
        TableCell::Text(s) | TableCell::Number(s) => s.clone(),
        TableCell::Date(d) => d.to_string(),
        TableCell::Bool(b) => b.to_string(),
    }
}

/// `text` cut to `width` characters, with `…` when cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}
