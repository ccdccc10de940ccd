//! Spreadsheets (XLSX, XLSM, XLS, XLSB, ODS) through calamine.
//!
//! calamine loads the chosen sheet's cells into memory (the workbook format
//! is zipped XML and gives no cheap row-by-row access); the rows are then
//! handed out one at a time like CSV records.

use std::io::{Read, Seek};

use calamine::{Data, Range, Reader, Sheets};

use super::cell::{Cell, decimal_from_f64};
use super::date::{DateOrder, parse_date};
use super::{FileError, RawRow};

#[derive(Debug)]
pub(crate) struct SheetSource {
    range: Range<Data>,
    /// Next row, relative to the range's first row.
    next: usize,
    /// 0-based sheet row of the range's first row.
    first_row: u64,
}

impl SheetSource {
    /// Loads `sheet` (case-insensitively), or the first sheet.
    pub(crate) fn new<RS: Read + Seek>(
        mut workbook: Sheets<RS>,
        sheet: Option<&str>,
        file: &str,
    ) -> Result<SheetSource, FileError> {
        let names = workbook.sheet_names();
        let name = match sheet {
            Some(wanted) => names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(wanted.trim()))
                .cloned()
                .ok_or_else(|| FileError::SheetNotFound {
                    file: file.to_string(),
                    sheet: wanted.to_string(),
                    available: names.clone(),
                })?,
            None => names.first().cloned().ok_or_else(|| FileError::Empty {
                file: file.to_string(),
            })?,
        };
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| FileError::Spreadsheet {
                file: file.to_string(),
                message: e.to_string(),
            })?;
        let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
        Ok(SheetSource {
            range,
            next: 0,
            first_row,
        })
    }

    pub(crate) fn rows_read(&self) -> u64 {
        self.next as u64
    }

    pub(crate) fn total_rows(&self) -> u64 {
        self.range.height() as u64
    }

    pub(crate) fn next_row(&mut self) -> Option<RawRow> {
        let (height, width) = self.range.get_size();
        if self.next >= height {
            return None;
        }
        let row = self.next;
        self.next += 1;
        let cells = (0..width)
            .map(|col| self.range.get((row, col)).map_or(Cell::Empty, convert))
            .collect();
        Some(RawRow {
            line: self.first_row + row as u64 + 1,
            cells,
        })
    }
}

fn convert(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::text(s.clone()),
        Data::Int(i) => Cell::Number(i.to_string()),
        Data::Float(f) => Cell::Number(decimal_from_f64(*f)),
        Data::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.to_string()),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            match (i16::try_from(y), i8::try_from(m), i8::try_from(d)) {
                (Ok(y), Ok(m), Ok(d)) => jiff::civil::Date::new(y, m, d)
                    .map_or(Cell::Number(decimal_from_f64(dt.as_f64())), Cell::Date),
                _ => Cell::Number(decimal_from_f64(dt.as_f64())),
            }
        }
        Data::DateTime(dt) => Cell::Number(decimal_from_f64(dt.as_f64())),
        Data::DateTimeIso(s) => {
            // ODS writes `2026-12-04` or `2026-12-04T00:00:00`.
            parse_date(s, DateOrder::DayFirst).map_or_else(|_| Cell::text(s.clone()), Cell::Date)
        }
        Data::DurationIso(s) => Cell::text(s.clone()),
        Data::Error(e) => Cell::Text(e.to_string()),
    }
}
