//! A remote ledger table (a Google Sheet tab, an Airtable table) already
//! read into memory, handed out row by row like a spreadsheet's.

use std::collections::VecDeque;

use super::RawRow;
use super::cell::Cell;
use crate::table::{TableCell, TableSnapshot};

#[derive(Debug)]
pub(crate) struct TableSource {
    rows: VecDeque<RawRow>,
    total: u64,
}

impl TableSource {
    /// The header row first (on its own line), then the data rows.
    pub(crate) fn new(snapshot: &TableSnapshot) -> TableSource {
        let mut rows = VecDeque::with_capacity(snapshot.rows.len() + 1);
        rows.push_back(RawRow {
            line: snapshot.header_line,
            cells: snapshot.headers.iter().cloned().map(Cell::text).collect(),
        });
        for row in &snapshot.rows {
            rows.push_back(RawRow {
                line: row.line,
                cells: row.cells.iter().map(convert).collect(),
            });
        }
        let total = rows.len() as u64;
        TableSource { rows, total }
    }

    pub(crate) fn rows_read(&self) -> u64 {
        self.total - self.rows.len() as u64
    }

    pub(crate) fn total_rows(&self) -> u64 {
        self.total
    }

    pub(crate) fn next_row(&mut self) -> Option<RawRow> {
        self.rows.pop_front()
    }
}

fn convert(cell: &TableCell) -> Cell {
    match cell {
        TableCell::Empty => Cell::Empty,
        TableCell::Text(s) => Cell::text(s.clone()),
        TableCell::Number(n) => Cell::Number(n.clone()),
        TableCell::Date(d) => Cell::Date(*d),
        TableCell::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.to_string()),
    }
}
