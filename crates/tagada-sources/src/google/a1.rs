//! A1 notation: column letters, quoted tab names, cell and row ranges, and
//! reading back the ranges Sheets reports (`Ledger!A5:H7`).

/// The letters of a 1-based column number: 1 is `A`, 26 `Z`, 27 `AA`,
/// 28 `AB`, 702 `ZZ`, 703 `AAA`. Column 0 has no letters (empty string).
pub fn column_letters(column: u32) -> String {
    let mut n = column;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + u8::try_from(rem).unwrap_or(0));
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 1-based column number of letters (`A` is 1, `AA` 27); case is
/// ignored. `None` for an empty string, anything but letters, or a column
/// past `u32`.
pub fn column_number(letters: &str) -> Option<u32> {
    if letters.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for b in letters.bytes() {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        let digit = u32::from(b.to_ascii_uppercase() - b'A') + 1;
        n = n.checked_mul(26)?.checked_add(digit)?;
    }
    Some(n)
}

/// A tab name as it goes before `!`: always quoted, an apostrophe in the
/// name doubled (`Sales Ledger` is `'Sales Ledger'`, `Ram's` is `'Ram''s'`).
pub fn quote_tab(tab: &str) -> String {
    format!("'{}'", tab.replace('\'', "''"))
}

/// The cells of one row from column `first` to `last` (1-based, inclusive):
/// `'Ledger'!K12:M12`, or `'Ledger'!K12` for one cell.
pub fn row_range(tab: &str, first: u32, last: u32, row: u64) -> String {
    let from = column_letters(first);
    if last <= first {
        format!("{}!{from}{row}", quote_tab(tab))
    } else {
        format!(
            "{}!{from}{row}:{}{row}",
            quote_tab(tab),
            column_letters(last)
        )
    }
}

/// Whole rows `first..=last` of a tab: `'Ledger'!1:15`.
pub fn rows_range(tab: &str, first: u64, last: u64) -> String {
    format!("{}!{first}:{last}", quote_tab(tab))
}

/// A cell reference split into its column (1-based, `None` for a row-only
/// reference like `5`) and row (`None` for a column-only one like `C`).
pub fn parse_cell(cell: &str) -> Option<(Option<u32>, Option<u64>)> {
    let cell = cell.trim();
    if cell.is_empty() {
        return None;
    }
    let split = cell
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(cell.len());
    let (letters, digits) = cell.split_at(split);
    let column = if letters.is_empty() {
        None
    } else {
        Some(column_number(letters)?)
    };
    let row = if digits.is_empty() {
        None
    } else {
        let r: u64 = digits.parse().ok()?;
        if r == 0 {
            return None;
        }
        Some(r)
    };
    if column.is_none() && row.is_none() {
        return None;
    }
    Some((column, row))
}

/// Splits `Tab!A1:B2` (or `'Tab Name'!A1:B2`) at the `!` that ends the tab
/// name, unquoting it. A string without `!` is all tab name.
pub fn split_range(range: &str) -> (String, Option<&str>) {
    let range = range.trim();
    if let Some(rest) = range.strip_prefix('\'') {
        // Quoted: the name ends at a single `'` (a doubled one is a quote).
        let mut name = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    name.push('\'');
                    chars.next();
                    continue;
                }
                let after = &rest[i + 1..];
                let cells = after.strip_prefix('!');
                return (name, cells);
            }
            name.push(c);
        }
        return (name, None);
    }
    match range.rfind('!') {
        Some(i) => (range[..i].to_owned(), Some(&range[i + 1..])),
        None => (range.to_owned(), None),
    }
}

/// The first and last row of a reported range (`Ledger!A5:H7` is 5 and 7,
/// `'Sales Ledger'!A5:H5` 5 and 5).
pub fn range_rows(range: &str) -> Option<(u64, u64)> {
    let (_, cells) = split_range(range);
    let cells = cells?;
    let (start, end) = match cells.split_once(':') {
        Some((a, b)) => (a, b),
        None => (cells, cells),
    };
    let (_, first) = parse_cell(start)?;
    let (_, last) = parse_cell(end)?;
    Some((first?, last?))
}

/// The top-left cell of a reported range as (column, row), 1-based; a
/// range without cells (a whole tab) starts at `A1`.
pub fn range_start(range: &str) -> Option<(u32, u64)> {
    let (_, cells) = split_range(range);
    let Some(cells) = cells else {
        return Some((1, 1));
    };
    let start = cells.split_once(':').map_or(cells, |(a, _)| a);
    let (col, row) = parse_cell(start)?;
    Some((col.unwrap_or(1), row.unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip_past_z() {
        for (n, l) in [
            (1, "A"),
            (26, "Z"),
            (27, "AA"),
            (28, "AB"),
            (52, "AZ"),
            (53, "BA"),
            (702, "ZZ"),
            (703, "AAA"),
            (16_384, "XFD"),
        ] {
            assert_eq!(column_letters(n), l);
            assert_eq!(column_number(l), Some(n));
        }
        assert_eq!(column_letters(0), "");
        assert_eq!(column_number(""), None);
        assert_eq!(column_number("A1"), None);
        assert_eq!(column_number("ab"), Some(28));
    }

    #[test]
    fn tab_names_are_quoted_and_unquoted() {
        assert_eq!(quote_tab("Sales Ledger"), "'Sales Ledger'");
        assert_eq!(quote_tab("Ram's"), "'Ram''s'");
        assert_eq!(
            split_range("'Ram''s'!A1:B2"),
            ("Ram's".to_owned(), Some("A1:B2"))
        );
        assert_eq!(
            split_range("Ledger!H3:H4"),
            ("Ledger".to_owned(), Some("H3:H4"))
        );
        assert_eq!(
            split_range("'Sales Ledger'"),
            ("Sales Ledger".to_owned(), None)
        );
        assert_eq!(split_range("Ledger"), ("Ledger".to_owned(), None));
    }

    #[test]
    fn row_ranges() {
        assert_eq!(row_range("Ledger", 11, 13, 12), "'Ledger'!K12:M12");
        assert_eq!(row_range("Ledger", 8, 8, 2), "'Ledger'!H2");
        assert_eq!(
            row_range("Sales Ledger", 26, 28, 3),
            "'Sales Ledger'!Z3:AB3"
        );
        assert_eq!(rows_range("Leads", 1, 15), "'Leads'!1:15");
    }

    #[test]
    fn reported_ranges_are_read() {
        assert_eq!(range_rows("Ledger!A5:H5"), Some((5, 5)));
        assert_eq!(range_rows("'Sales Ledger'!A5:H7"), Some((5, 7)));
        assert_eq!(range_rows("Ledger!H2"), Some((2, 2)));
        assert_eq!(range_rows("Ledger"), None);
        assert_eq!(range_start("Ledger!C4:H9"), Some((3, 4)));
        assert_eq!(range_start("Ledger"), Some((1, 1)));
        assert_eq!(parse_cell("AB12"), Some((Some(28), Some(12))));
        assert_eq!(parse_cell("C"), Some((Some(3), None)));
        assert_eq!(parse_cell("15"), Some((None, Some(15))));
        assert_eq!(parse_cell("A0"), None);
    }
}
