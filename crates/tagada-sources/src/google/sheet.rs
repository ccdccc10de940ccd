//! [`SheetsTable`]: one tab of a Google Sheet as a [`LedgerTable`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use super::a1;
use super::cells::{cell_text, merge_row};
use super::client::{InsertData, SheetsClient, ValueInput, ValueRange, ValueRender};
use crate::table::{
    LedgerTable, RowWrite, TableCell, TableError, TableRow, TableSnapshot, WriteOutcome,
};

/// How far down the header is looked for.
pub const HEADER_SEARCH_ROWS: u64 = 15;
/// Ranges in one `batchUpdate` at most.
pub const MAX_RANGES_PER_UPDATE: usize = 10_000;
/// Body size of one `batchUpdate` at most (Google advises about 2 MB).
pub const MAX_UPDATE_BYTES: usize = 2_000_000;

/// Where a tab's header row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRow {
    /// This sheet row (1-based).
    Row(u64),
    /// The first row with at least two non-empty cells within the first
    /// [`HEADER_SEARCH_ROWS`] rows (row 1 when there is none).
    Detect,
}

/// One tab of a spreadsheet.
pub struct SheetsTable {
    client: Arc<SheetsClient>,
    tab: String,
    header_row: HeaderRow,
    /// The header line and cells last read or written.
    header: Mutex<Option<(u64, Vec<String>)>>,
}

impl std::fmt::Debug for SheetsTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetsTable")
            .field("client", &self.client)
            .field("tab", &self.tab)
            .field("header_row", &self.header_row)
            .finish_non_exhaustive()
    }
}

/// Finds the header among the first rows (0-based index into `rows`).
fn find_header(rows: &[Vec<TableCell>], header_row: HeaderRow, first_row: u64) -> u64 {
    match header_row {
        HeaderRow::Row(r) => r,
        HeaderRow::Detect => rows
            .iter()
            .take(usize::try_from(HEADER_SEARCH_ROWS).unwrap_or(15))
            .position(|r| r.iter().filter(|c| **c != TableCell::Empty).count() >= 2)
            .map_or(1, |i| first_row + i as u64),
    }
}

impl SheetsTable {
    pub fn new(
        client: Arc<SheetsClient>,
        tab: impl Into<String>,
        header_row: HeaderRow,
    ) -> SheetsTable {
        SheetsTable {
            client,
            tab: tab.into(),
            header_row,
            header: Mutex::new(None),
        }
    }

    pub fn tab(&self) -> &str {
        &self.tab
    }

    pub fn client(&self) -> &SheetsClient {
        &self.client
    }

    fn cached_header(&self) -> Option<(u64, Vec<String>)> {
        self.header.lock().ok().and_then(|h| h.clone())
    }

    fn set_header(&self, line: u64, headers: Vec<String>) {
        if let Ok(mut h) = self.header.lock() {
            *h = Some((line, headers));
        }
    }

    /// The header, read from the sheet when not known yet (one request).
    async fn header(&self) -> Result<(u64, Vec<String>), TableError> {
        if let Some(h) = self.cached_header() {
            return Ok(h);
        }
        let (first, last) = match self.header_row {
            HeaderRow::Row(r) => (r, r),
            HeaderRow::Detect => (1, HEADER_SEARCH_ROWS),
        };
        let got = self
            .client
            .batch_get(
                &[a1::rows_range(&self.tab, first, last)],
                ValueRender::Formatted,
            )
            .await?;
        let vr = got.into_iter().next().unwrap_or_else(|| ValueRange {
            range: String::new(),
            major_dimension: None,
            values: Vec::new(),
        });
        let rows: Vec<Vec<TableCell>> = vr.values.iter().map(|r| merge_row(r, r)).collect();
        let line = find_header(&rows, self.header_row, first);
        let headers = header_cells(&rows, line, first);
        self.set_header(line, headers.clone());
        Ok((line, headers))
    }
}

fn header_cells(rows: &[Vec<TableCell>], line: u64, first_row: u64) -> Vec<String> {
    line.checked_sub(first_row)
        .and_then(|i| rows.get(usize::try_from(i).ok()?))
        .map(|r| r.iter().map(cell_text).collect())
        .unwrap_or_default()
}

/// The column (0-based) of each header name: exact first, then trimmed
/// and case-insensitive.
fn column_of(headers: &[String], name: &str) -> Option<usize> {
    headers.iter().position(|h| h == name).or_else(|| {
        let want = name.trim().to_lowercase();
        headers.iter().position(|h| h.trim().to_lowercase() == want)
    })
}

/// Groups sorted `(column, value)` cells into runs of adjacent columns.
fn column_runs(mut cells: Vec<(usize, String)>) -> Vec<(usize, Vec<String>)> {
    cells.sort_by_key(|(c, _)| *c);
    cells.dedup_by_key(|(c, _)| *c);
    let mut runs: Vec<(usize, Vec<String>)> = Vec::new();
    for (col, value) in cells {
        match runs.last_mut() {
            Some((start, vals)) if *start + vals.len() == col => vals.push(value),
            _ => runs.push((col, vec![value])),
        }
    }
    runs
}

/// Splits value ranges into batches under the range count and body size
/// limits, keeping with each range the request row it belongs to.
fn chunk(ranges: Vec<(usize, ValueRange)>) -> Vec<Vec<(usize, ValueRange)>> {
    let mut out: Vec<Vec<(usize, ValueRange)>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for (idx, vr) in ranges {
        let size = serde_json::to_vec(&vr).map_or(0, |v| v.len()) + 1;
        if !current.is_empty()
            && (current.len() >= MAX_RANGES_PER_UPDATE || bytes + size > MAX_UPDATE_BYTES)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push((idx, vr));
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn col_u32(col0: usize) -> u32 {
    u32::try_from(col0 + 1).unwrap_or(u32::MAX)
}

#[async_trait]
impl LedgerTable for SheetsTable {
    fn describe(&self) -> String {
        let id = self.client.spreadsheet_id();
        let short: String = id.chars().take(6).collect();
        let ellipsis = if id.chars().count() > 6 { "…" } else { "" };
        format!("Google Sheet {short}{ellipsis}, tab {}", self.tab)
    }

    /// Two `batchGet`s of the whole tab (unformatted with serial dates,
    /// then formatted), merged cell by cell.
    async fn read(&self) -> Result<TableSnapshot, TableError> {
        let range = vec![a1::quote_tab(&self.tab)];
        let raw = self
            .client
            .batch_get(&range, ValueRender::Unformatted)
            .await?;
        let shown = self
            .client
            .batch_get(&range, ValueRender::Formatted)
            .await?;
        let raw = raw.into_iter().next();
        let shown = shown.into_iter().next();
        let (start_col, first_row) = raw
            .as_ref()
            .and_then(|v| a1::range_start(&v.range))
            .unwrap_or((1, 1));
        let pad = usize::try_from(start_col.saturating_sub(1)).unwrap_or(0);
        let raw_rows = raw.map(|v| v.values).unwrap_or_default();
        let shown_rows = shown.map(|v| v.values).unwrap_or_default();
        let empty: Vec<Value> = Vec::new();
        let n = raw_rows.len().max(shown_rows.len());
        let rows: Vec<Vec<TableCell>> = (0..n)
            .map(|i| {
                let mut cells = merge_row(
                    raw_rows.get(i).unwrap_or(&empty),
                    shown_rows.get(i).unwrap_or(&empty),
                );
                if pad > 0 && !cells.is_empty() {
                    let mut padded = vec![TableCell::Empty; pad];
                    padded.append(&mut cells);
                    cells = padded;
                }
                cells
            })
            .collect();
        let header_line = find_header(&rows, self.header_row, first_row);
        let headers = header_cells(&rows, header_line, first_row);
        let data_from =
            usize::try_from(header_line.saturating_sub(first_row) + 1).unwrap_or(usize::MAX);
        let rows = rows
            .into_iter()
            .enumerate()
            .skip(data_from)
            .map(|(i, cells)| {
                let line = first_row + i as u64;
                TableRow {
                    locator: line.to_string(),
                    line,
                    cells,
                }
            })
            .collect();
        self.set_header(header_line, headers.clone());
        Ok(TableSnapshot {
            headers,
            header_line,
            rows,
        })
    }

    async fn ensure_columns(
        &self,
        headers: &[String],
        wanted: &[String],
    ) -> Result<Vec<String>, TableError> {
        let mut out = headers.to_vec();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|w| column_of(headers, w).is_none())
            .cloned()
            .collect::<Vec<_>>();
        let mut seen = Vec::new();
        let missing: Vec<String> = missing
            .into_iter()
            .filter(|m| {
                let k = m.trim().to_lowercase();
                let new = !seen.contains(&k);
                seen.push(k);
                new
            })
            .collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let line = match self.cached_header() {
            Some((line, _)) => line,
            None => match self.header_row {
                HeaderRow::Row(r) => r,
                HeaderRow::Detect => self.header().await?.0,
            },
        };
        let first = col_u32(headers.len());
        let last = first + u32::try_from(missing.len()).unwrap_or(0) - 1;
        let range = a1::row_range(&self.tab, first, last, line);
        self.client
            .batch_update(
                vec![ValueRange::rows(range, vec![missing.clone()])],
                ValueInput::Raw,
            )
            .await?;
        out.extend(missing);
        self.set_header(line, out.clone());
        Ok(out)
    }

    /// Existing rows: `batchUpdate`s of one range per run of adjacent
    /// columns in a row (under 10,000 ranges and ~2 MB each). New rows: one
    /// `append` of whole rows aligned to the header.
    async fn write(&self, rows: &[RowWrite]) -> Result<WriteOutcome, TableError> {
        let (_, headers) = self.header().await?;
        let mut outcome = WriteOutcome::default();
        let mut updates: Vec<(usize, ValueRange)> = Vec::new();
        let mut new_rows: Vec<(usize, Vec<String>)> = Vec::new();
        let mut ranges_of: BTreeMap<usize, usize> = BTreeMap::new();
        for (idx, row) in rows.iter().enumerate() {
            let mut cells = Vec::with_capacity(row.cells.len());
            let mut unknown = None;
            for (name, value) in &row.cells {
                match column_of(&headers, name) {
                    Some(c) => cells.push((c, value.clone())),
                    None => unknown = Some(name.clone()),
                }
            }
            if let Some(name) = unknown {
                outcome
                    .failed
                    .push((idx, format!("the sheet has no column `{name}`")));
                continue;
            }
            match &row.locator {
                Some(loc) => {
                    let Some(line) = loc.trim().parse::<u64>().ok().filter(|l| *l > 0) else {
                        outcome
                            .failed
                            .push((idx, format!("`{loc}` is not a sheet row")));
                        continue;
                    };
                    let runs = column_runs(cells);
                    *ranges_of.entry(idx).or_default() += runs.len();
                    for (start, values) in runs {
                        let last = start + values.len() - 1;
                        let range = a1::row_range(&self.tab, col_u32(start), col_u32(last), line);
                        updates.push((idx, ValueRange::rows(range, vec![values])));
                    }
                }
                None => {
                    let width = cells.iter().map(|(c, _)| c + 1).max().unwrap_or(0);
                    let mut full = vec![String::new(); width.max(headers.len())];
                    for (c, v) in cells {
                        full[c] = v;
                    }
                    new_rows.push((idx, full));
                }
            }
        }
        for batch in chunk(updates) {
            let idxs: Vec<usize> = batch.iter().map(|(i, _)| *i).collect();
            let data = batch.into_iter().map(|(_, vr)| vr).collect();
            match self.client.batch_update(data, ValueInput::Raw).await {
                Ok(_) => {}
                Err(TableError::BadRequest(reason)) => {
                    let mut seen = idxs.clone();
                    seen.dedup();
                    for i in seen {
                        outcome.failed.push((i, reason.clone()));
                    }
                    for i in idxs {
                        ranges_of.remove(&i);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        outcome.written += ranges_of.len();
        if !new_rows.is_empty() {
            let width = new_rows
                .iter()
                .map(|(_, r)| r.len())
                .max()
                .unwrap_or(1)
                .max(1);
            let (line, _) = self.header().await?;
            let range = a1::row_range(&self.tab, 1, col_u32(width - 1), line);
            let idxs: Vec<usize> = new_rows.iter().map(|(i, _)| *i).collect();
            let values = new_rows.into_iter().map(|(_, r)| r).collect();
            match self
                .client
                .append(&range, values, ValueInput::Raw, InsertData::InsertRows)
                .await
            {
                Ok(resp) => {
                    let first = a1::range_rows(&resp.updates.updated_range).map(|(f, _)| f);
                    for (k, idx) in idxs.iter().enumerate() {
                        if let Some(first) = first {
                            outcome
                                .appended
                                .push((*idx, (first + k as u64).to_string()));
                        }
                    }
                    outcome.written += idxs.len();
                }
                Err(TableError::BadRequest(reason)) => {
                    for i in idxs {
                        outcome.failed.push((i, reason.clone()));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        outcome.failed.sort_by_key(|(i, _)| *i);
        Ok(outcome)
    }

    fn requests(&self) -> u64 {
        self.client.requests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_adjacent_columns() {
        let runs = column_runs(vec![
            (10, "k".into()),
            (12, "m".into()),
            (11, "l".into()),
            (14, "o".into()),
        ]);
        assert_eq!(
            runs,
            vec![
                (10, vec!["k".to_owned(), "l".to_owned(), "m".to_owned()]),
                (14, vec!["o".to_owned()])
            ]
        );
    }

    #[test]
    fn header_is_detected_below_a_title() {
        let t = |s: &str| TableCell::Text(s.into());
        let rows = vec![
            vec![t("Sharma Traders ledger")],
            vec![],
            vec![t("Invoice"), t("Buyer"), t("Amount")],
        ];
        assert_eq!(find_header(&rows, HeaderRow::Detect, 1), 3);
        assert_eq!(find_header(&rows, HeaderRow::Row(1), 1), 1);
        assert_eq!(find_header(&[], HeaderRow::Detect, 1), 1);
        assert_eq!(
            header_cells(&rows, 3, 1),
            vec!["Invoice", "Buyer", "Amount"]
        );
    }

    #[test]
    fn batches_stay_under_the_range_limit() {
        let ranges: Vec<(usize, ValueRange)> = (0..25_000)
            .map(|i| {
                (
                    i,
                    ValueRange::rows(format!("'L'!A{i}"), vec![vec!["x".into()]]),
                )
            })
            .collect();
        let batches = chunk(ranges);
        assert_eq!(batches.len(), 3);
        assert!(batches.iter().all(|b| b.len() <= MAX_RANGES_PER_UPDATE));
    }
}
