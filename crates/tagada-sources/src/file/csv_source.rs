//! Streaming CSV reading: encoding, delimiter sniffing, one record at a time.
//!
//! Memory stays constant whatever the file size: a bounded prefix (at most
//! [`SNIFF_BYTES`]) is kept to sniff the delimiter, then records are read
//! one by one (see [`CsvSource`]). Lines end with `\n` or `\r\n`.
//!
//! Encodings: a UTF-8 byte-order mark is dropped; a UTF-16 mark (Excel's
//! "Unicode Text" export) switches to a streaming UTF-16 → UTF-8 decoder;
//! otherwise each field is taken as UTF-8 and, when it is not valid UTF-8,
//! decoded as Windows-1252 (what Tally and older Excel write on Indian
//! Windows machines). Windows-1252 maps every byte, so no row is ever
//! rejected for its encoding; an odd character is the worst outcome.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cell::Cell;
use super::field::{Field, HEADER_SEARCH_ROWS, detect_header};
use super::{RawRow, SourceError};

/// The most bytes kept in memory to sniff the delimiter.
pub(crate) const SNIFF_BYTES: usize = 64 * 1024;

/// Candidate delimiters, in order of preference on a tie.
pub(crate) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The most bytes one record may span (a quote left open by mistake would
/// otherwise swallow the rest of the file).
pub(crate) const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Reads records one at a time, keeping count of physical lines.
///
/// Record boundaries are found here, not by `csv`, because `csv`'s reported
/// line numbers drift on `\r\n` files and skip blank lines, and a rejected
/// row must name the line a person sees in their editor. A record ends at
/// the end of a line unless a quoted field is still open; its bytes are then
/// split into fields by `csv` itself.
pub(crate) struct CsvSource {
    input: BufReader<Box<dyn Read + Send>>,
    delimiter: u8,
    /// Physical line number of the next line to read (1-based).
    next_line: u64,
    record: Vec<u8>,
    line: Vec<u8>,
    /// One field splitter for the whole file (building one is costly).
    splitter: csv_core::Reader,
    /// Unescaped field bytes and field end offsets, reused across records.
    fields_out: Vec<u8>,
    field_ends: Vec<usize>,
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("delimiter", &char::from(self.delimiter))
            .field("next_line", &self.next_line)
            .finish_non_exhaustive()
    }
}

/// Where a scan through a record stands, for finding its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// At the start of a field: a `"` here opens a quoted field.
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a `"` inside a quoted field: either it closed the field
    /// or a second `"` follows (an escaped quote).
    ClosingQuote,
}

fn scan(bytes: &[u8], mut state: Scan, delimiter: u8) -> Scan {
    for &b in bytes {
        state = match (state, b) {
            (Scan::Quoted, b'"') => Scan::ClosingQuote,
            (Scan::Quoted, _) => Scan::Quoted,
            (Scan::ClosingQuote, b'"') => Scan::Quoted,
            (Scan::FieldStart, b'"') => Scan::Quoted,
            (_, b) if b == delimiter => Scan::FieldStart,
            (Scan::FieldStart | Scan::ClosingQuote, b'\r' | b'\n') => Scan::FieldStart,
            _ => Scan::Unquoted,
        };
    }
    state
}

impl CsvSource {
    /// Prepares `reader` (decoding, delimiter) and counts raw bytes read into
    /// `counter`.
    pub(crate) fn new(
        reader: Box<dyn Read + Send>,
        counter: Arc<AtomicU64>,
        mapping: &BTreeMap<Field, String>,
    ) -> io::Result<CsvSource> {
        let mut raw: Box<dyn Read + Send> = Box::new(Counting {
            inner: reader,
            counter,
        });
        let mut head = Vec::with_capacity(4);
        (&mut raw).take(3).read_to_end(&mut head)?;
        let decoded: Box<dyn Read + Send> = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            Box::new(raw)
        } else if head.starts_with(&[0xFF, 0xFE]) {
            Box::new(Utf16Reader::new(
                Cursor::new(head[2..].to_vec()).chain(raw),
                encoding_rs::UTF_16LE,
            ))
        } else if head.starts_with(&[0xFE, 0xFF]) {
            Box::new(Utf16Reader::new(
                Cursor::new(head[2..].to_vec()).chain(raw),
                encoding_rs::UTF_16BE,
            ))
        } else {
            Box::new(Cursor::new(head).chain(raw))
        };

        let mut prefix = Vec::with_capacity(8 * 1024);
        let mut decoded = decoded;
        (&mut decoded)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut prefix)?;
        let complete = prefix.len() < SNIFF_BYTES;
        let delimiter = sniff_delimiter(&prefix, complete, mapping);
        let stream: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(decoded));
        Ok(CsvSource {
            input: BufReader::with_capacity(64 * 1024, stream),
            delimiter,
            next_line: 1,
            record: Vec::new(),
            line: Vec::new(),
            splitter: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            fields_out: Vec::new(),
            field_ends: vec![0; 64],
        })
    }

    pub(crate) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub(crate) fn next_row(&mut self) -> Option<Result<RawRow, SourceError>> {
        let mut row = RawRow {
            line: 0,
            cells: Vec::new(),
        };
        self.next_row_into(&mut row).map(|read| read.map(|()| row))
    }

    /// Reads the next record into `row`, reusing its cells' text buffers:
    /// after the first rows, reading one allocates nothing.
    pub(crate) fn next_row_into(&mut self, row: &mut RawRow) -> Option<Result<(), SourceError>> {
        self.record.clear();
        let first_line = self.next_line;
        let mut state = Scan::FieldStart;
        loop {
            self.line.clear();
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) => {
                    if self.record.is_empty() {
                        return None;
                    }
                    // End of file inside an open quote: take what there is.
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(SourceError {
                        line: self.next_line,
                        message: e.to_string(),
                    }));
                }
            }
            self.next_line += 1;
            state = scan(&self.line, state, self.delimiter);
            self.record.extend_from_slice(&self.line);
            if state != Scan::Quoted {
                break;
            }
            if self.record.len() > MAX_RECORD_BYTES {
                return Some(Err(SourceError {
                    line: first_line,
                    message: format!(
                        "a quoted field opened on line {first_line} is still open after {MAX_RECORD_BYTES} bytes"
                    ),
                }));
            }
        }
        while self
            .record
            .last()
            .is_some_and(|&b| b == b'\n' || b == b'\r')
        {
            self.record.pop();
        }
        row.line = first_line;
        if self.record.is_empty() {
            row.cells.clear();
        } else {
            split_fields(
                &mut self.splitter,
                &self.record,
                &mut self.fields_out,
                &mut self.field_ends,
                &mut row.cells,
            );
        }
        Some(Ok(()))
    }
}

/// Splits one complete record into cells with `splitter` (reset first).
/// Unescaping only shrinks fields, so an output as long as the input always
/// suffices; the ends buffer grows when a record has more fields.
fn split_fields(
    splitter: &mut csv_core::Reader,
    record: &[u8],
    out: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    cells: &mut Vec<Cell>,
) {
    use csv_core::ReadRecordResult as R;
    splitter.reset();
    if out.len() < record.len() + 1 {
        out.resize(record.len() + 1, 0);
    }
    let (mut input, mut out_len, mut ends_len) = (record, 0usize, 0usize);
    loop {
        let (result, n_in, n_out, n_ends) =
            splitter.read_record(input, &mut out[out_len..], &mut ends[ends_len..]);
        input = &input[n_in..];
        out_len += n_out;
        ends_len += n_ends;
        match result {
            // An empty input on the next call tells the splitter the record is complete.
            R::InputEmpty => {}
            R::OutputFull => {
                let grown = out.len() * 2;
                out.resize(grown, 0);
            }
            R::OutputEndsFull => {
                let grown = ends.len() * 2;
                ends.resize(grown, 0);
            }
            R::Record | R::End => break,
        }
    }
    // Each field goes into the text buffer its column had in the previous
    // row (a blank field stays an empty `Text`, which reads as blank).
    cells.truncate(ends_len);
    let mut start = 0;
    for (i, &end) in ends[..ends_len].iter().enumerate() {
        let bytes = &out[start..end];
        start = end;
        match cells.get_mut(i) {
            Some(Cell::Text(text)) => {
                text.clear();
                decode_field_into(bytes, text);
            }
            Some(other) => *other = Cell::Text(decode_field(bytes)),
            None => cells.push(Cell::Text(decode_field(bytes))),
        }
    }
}

/// UTF-8 when valid, Windows-1252 otherwise.
fn decode_field(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    decode_field_into(bytes, &mut text);
    text
}

/// Appends a field's text to `out`: UTF-8 as it is, anything else read as
/// Windows-1252 (what Excel and Tally write on Indian Windows machines).
fn decode_field_into(bytes: &[u8], out: &mut String) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(
            &encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0,
        ),
    }
}

/// Picks the delimiter whose reading of the prefix gives the best header:
/// the most recognised columns, ties broken by [`DELIMITERS`] order. When
/// no delimiter yields a header, `,` (the header check then reports it).
fn sniff_delimiter(prefix: &[u8], complete: bool, mapping: &BTreeMap<Field, String>) -> u8 {
    // Without the end of the file, the last line may be cut short.
    let usable = if complete {
        prefix
    } else {
        match prefix.iter().rposition(|&b| b == b'\n') {
            Some(end) => &prefix[..=end],
            None => prefix,
        }
    };
    let mut best: Option<(usize, u8)> = None;
    for delimiter in DELIMITERS {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(usable);
        let rows: Vec<Vec<String>> = reader
            .byte_records()
            .take(HEADER_SEARCH_ROWS)
            .filter_map(Result::ok)
            .map(|r| r.iter().map(decode_field).collect())
            .collect();
        if let Some((_, assignment)) = detect_header(&rows, mapping) {
            let score = assignment.columns.len();
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, delimiter));
            }
        }
    }
    best.map_or(b',', |(_, d)| d)
}

/// Counts the bytes pulled from the file, for progress bars.
struct Counting {
    inner: Box<dyn Read + Send>,
    counter: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A streaming UTF-16 → UTF-8 decoder (the byte-order mark already
/// removed). Unpaired surrogates become U+FFFD.
struct Utf16Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    flushed: bool,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; 8 * 1024],
            in_start: 0,
            in_end: 0,
            // Each UTF-16 code unit (2 bytes) gives at most 3 UTF-8 bytes.
            output: vec![0; 16 * 1024],
            out_start: 0,
            out_end: 0,
            eof: false,
            flushed: false,
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.flushed {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.flushed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut r: impl Read) -> String {
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn utf16_is_decoded_in_a_stream() {
        let text = "Invoice No\tParty\tAmount\n₹ नमस्ते\t€\t1\n".repeat(2000);
        let mut le = Vec::new();
        for unit in text.encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
        }
        let decoded = read_all(Utf16Reader::new(Cursor::new(le), encoding_rs::UTF_16LE));
        assert_eq!(decoded, text);

        let mut be = Vec::new();
        for unit in text.encode_utf16() {
            be.extend_from_slice(&unit.to_be_bytes());
        }
        let decoded = read_all(Utf16Reader::new(Cursor::new(be), encoding_rs::UTF_16BE));
        assert_eq!(decoded, text);
    }

    fn rows(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut source = CsvSource::new(
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            Arc::default(),
            &BTreeMap::new(),
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(row) = source.next_row() {
            let row = row.unwrap();
            let cells = row.cells.iter().map(|c| c.as_text().into_owned()).collect();
            out.push((row.line, cells));
        }
        out
    }

    #[test]
    fn physical_lines_are_counted_whatever_the_line_ends() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let text = "Invoice No,Amount\r\nA,1\r\n\r\n\"B\r\nsecond line\",2\r\nC,\"say \"\"hi\"\"\"\r\nD,5\" pipe\nE,6";
        assert_eq!(
            rows(text),
            vec![
                (1, s(&["Invoice No", "Amount"])),
                (2, s(&["A", "1"])),
                (3, vec![]),
                (4, s(&["B\r\nsecond line", "2"])),
                (6, s(&["C", "say \"hi\""])),
                (7, s(&["D", "5\" pipe"])),
                (8, s(&["E", "6"])),
            ]
        );
    }

    /// Reading into one reused row gives what reading fresh rows gives,
    /// whatever the rows' widths: wider, narrower, blank, a Windows-1252
    /// byte, a field longer than the one before it in its column.
    #[test]
    fn a_reused_row_reads_as_fresh_rows_do() {
        let text = b"Invoice No,Party,Amount\nA-1,Acme Traders,1\nB-22\n\n,,\nC,Caf\xe9,3,extra\n  D  ,\"E, F\",4\n";
        let new = || {
            CsvSource::new(
                Box::new(Cursor::new(text.to_vec())),
                Arc::default(),
                &BTreeMap::new(),
            )
            .unwrap()
        };
        let texts = |r: &RawRow| -> Vec<String> {
            r.cells.iter().map(|c| c.as_text().into_owned()).collect()
        };
        let mut fresh = new();
        let mut reused = new();
        let mut row = RawRow {
            line: 0,
            cells: Vec::new(),
        };
        let mut n = 0;
        while let Some(expected) = fresh.next_row() {
            let expected = expected.unwrap();
            reused.next_row_into(&mut row).expect("a row").unwrap();
            assert_eq!(row.line, expected.line);
            assert_eq!(texts(&row), texts(&expected), "line {}", row.line);
            let blank = |r: &RawRow| r.cells.iter().map(Cell::is_empty).collect::<Vec<_>>();
            assert_eq!(blank(&row), blank(&expected), "line {}", row.line);
            n += 1;
        }
        assert_eq!(n, 7);
        assert!(reused.next_row_into(&mut row).is_none());
    }

    #[test]
    fn an_unclosed_quote_ends_at_the_end_of_the_file() {
        let got = rows("Invoice No,Amount\nA,\"1\nB,2\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, 2);
        assert_eq!(got[1].1[1], "1\nB,2");
    }

    #[test]
    fn windows_1252_fields_are_decoded() {
        assert_eq!(decode_field(b"Caf\xe9 \x80 5"), "Café € 5");
        assert_eq!(decode_field("Café".as_bytes()), "Café");
    }

    #[test]
    fn delimiter_is_sniffed_from_the_header_not_the_title() {
        let mapping = BTreeMap::new();
        let text =
            b"Sharma Traders, Pune\nInvoice No;Party Name;Amount;Date\n1;A;5,50;01-01-2026\n";
        assert_eq!(sniff_delimiter(text, true, &mapping), b';');
        let text = b"Invoice No\tParty Name\tAmount\n1\tA, B\t5\n";
        assert_eq!(sniff_delimiter(text, true, &mapping), b'\t');
        let text = b"Invoice No|Party Name|Amount\n";
        assert_eq!(sniff_delimiter(text, true, &mapping), b'|');
        let text = b"no header at all\n";
        assert_eq!(sniff_delimiter(text, true, &mapping), b',');
    }
}
