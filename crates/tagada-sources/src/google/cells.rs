//! Turning the two renderings Sheets gives of a cell (the stored value and
//! the text a person sees) into one [`TableCell`].
//!
//! A sheet is read twice: `UNFORMATTED_VALUE` (numbers as JSON numbers,
//! dates as serial numbers) and `FORMATTED_VALUE` (the displayed text).
//! [`merge_cell`] keeps the displayed text where the number would lose what
//! a person typed (`00123`, `+919000000001`), a date where the display is a
//! date, and otherwise the number as an exact decimal.

use jiff::civil::Date;
use serde_json::{Number, Value};

use crate::table::TableCell;

/// Day 0 of Sheets' serial dates (as in other spreadsheet programs).
pub fn sheets_epoch() -> Date {
    jiff::civil::date(1899, 12, 30)
}

/// The date of a serial number (its whole part: the fraction is the time
/// of day). `None` outside jiff's range or for a non-finite number.
pub fn serial_to_date(serial: f64) -> Option<Date> {
    if !serial.is_finite() || serial.abs() > 3_000_000.0 {
        return None;
    }
    // Checked above: the whole part fits an i32.
    #[allow(clippy::cast_possible_truncation)]
    let days = serial.floor() as i32;
    sheets_epoch()
        .checked_add(jiff::Span::new().days(days))
        .ok()
}

/// The serial number of a date (whole days since [`sheets_epoch`]).
pub fn date_to_serial(date: Date) -> i64 {
    i64::from((date - sheets_epoch()).get_days())
}

/// A JSON number as exact decimal text: integers as written, others in the
/// shortest form that reads back as the same double (`0.1` stays `0.1`),
/// never in exponent form.
pub fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        // `Display` for f64 is the shortest round-trip decimal, without an
        // exponent; adding zero turns -0 into 0.
        Some(f) => format!("{}", f + 0.0),
        None => n.to_string(),
    }
}

/// Whether a displayed text is a date in one of the formats a ledger
/// uses (`05/12/2026`, `2026-12-05`, `5-Dec-2026`, `5 Dec 2026`,
/// `Dec 5, 2026`, `05.12.2026`), alone or followed by a time.
pub fn looks_like_date(text: &str) -> bool {
    const FORMATS: &[&str] = &[
        "%d/%m/%Y",
        "%m/%d/%Y",
        "%Y-%m-%d",
        "%d-%b-%Y",
        "%d %b %Y",
        "%b %d, %Y",
        "%d.%m.%Y",
        "%d-%m-%Y",
        "%Y/%m/%d",
        "%d/%m/%y",
        "%d-%b-%y",
        "%d %B %Y",
        "%B %d, %Y",
    ];
    let text = text.trim();
    if text.is_empty() || !text.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let candidates = [
        Some(text),
        // `05/12/2026 14:30:00`: the date part.
        text.rsplit_once(' ')
            .filter(|(_, t)| t.contains(':'))
            .map(|(d, _)| d.trim()),
    ];
    candidates
        .into_iter()
        .flatten()
        .any(|c| FORMATS.iter().any(|f| Date::strptime(f, c).is_ok()))
}

/// Whether a displayed text keeps something the number drops: a leading
/// zero (`00123`, not `0.5`) or a leading `+`.
fn display_is_text(text: &str) -> bool {
    let t = text.trim();
    if t.starts_with('+') {
        return true;
    }
    let b = t.as_bytes();
    b.len() > 1 && b[0] == b'0' && b[1].is_ascii_digit()
}

/// Whether a displayed text shows `value` (allowing for grouping, a
/// currency sign, a negative in brackets and rounding to the digits shown):
/// `₹12,500.00` shows 12500, `1,234.57` shows 1234.5678, `00123` does not
/// show 123 (see [`display_is_text`]).
fn display_shows_number(text: &str, value: f64) -> bool {
    let mut t = text.trim();
    let mut negative = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        t = inner;
        negative = true;
    }
    let cleaned: String = t
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '₹' | '$' | '€' | '£'))
        .collect();
    let cleaned = cleaned
        .strip_prefix("Rs.")
        .or_else(|| cleaned.strip_prefix("Rs"))
        .unwrap_or(&cleaned);
    let Ok(shown) = cleaned.parse::<f64>() else {
        return false;
    };
    let shown = if negative { -shown } else { shown };
    let decimals = cleaned.split_once('.').map_or(0, |(_, frac)| {
        frac.bytes().take_while(u8::is_ascii_digit).count()
    });
    let tolerance = 0.5 * 10f64.powi(-i32::try_from(decimals).unwrap_or(15)) + 1e-9;
    (shown - value).abs() <= tolerance
}

/// One cell from its unformatted and formatted renderings (either may be
/// missing in a ragged row).
pub fn merge_cell(unformatted: Option<&Value>, formatted: Option<&Value>) -> TableCell {
    let shown = match formatted {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    match unformatted {
        Some(Value::Bool(b)) => TableCell::Bool(*b),
        Some(Value::Number(n)) => {
            let value = n.as_f64().unwrap_or(f64::NAN);
            match shown {
                Some(s) if looks_like_date(s) => match serial_to_date(value) {
                    Some(d) => TableCell::Date(d),
                    None => TableCell::Text(s.to_owned()),
                },
                Some(s) if display_is_text(s) => TableCell::Text(s.to_owned()),
                Some(s) if !s.trim().is_empty() && !display_shows_number(s, value) => {
                    TableCell::Text(s.to_owned())
                }
                _ => TableCell::Number(number_text(n)),
            }
        }
        Some(Value::String(s)) if !s.is_empty() => TableCell::Text(s.clone()),
        Some(Value::String(_) | Value::Null) | None => match shown {
            Some(s) if !s.is_empty() => TableCell::Text(s.to_owned()),
            _ => TableCell::Empty,
        },
        Some(other) => TableCell::Text(other.to_string()),
    }
}

/// A whole row: the longer of the two renderings, trailing empty cells
/// dropped.
pub fn merge_row(unformatted: &[Value], formatted: &[Value]) -> Vec<TableCell> {
    let len = unformatted.len().max(formatted.len());
    let mut cells: Vec<TableCell> = (0..len)
        .map(|i| merge_cell(unformatted.get(i), formatted.get(i)))
        .collect();
    while cells.last() == Some(&TableCell::Empty) {
        cells.pop();
    }
    cells
}

/// A cell as header text.
pub fn cell_text(cell: &TableCell) -> String {
    match cell {
        TableCell::Empty => String::new(),
        TableCell::Text(s) | TableCell::Number(s) => s.trim().to_owned(),
        TableCell::Date(d) => d.to_string(),
        TableCell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn merge(u: Value, f: Value) -> TableCell {
        merge_cell(Some(&u), Some(&f))
    }

    #[test]
    fn serial_dates() {
        assert_eq!(serial_to_date(0.0), Some(jiff::civil::date(1899, 12, 30)));
        assert_eq!(serial_to_date(1.0), Some(jiff::civil::date(1899, 12, 31)));
        assert_eq!(serial_to_date(61.0), Some(jiff::civil::date(1900, 3, 1)));
        assert_eq!(
            serial_to_date(45_658.0),
            Some(jiff::civil::date(2025, 1, 1))
        );
        assert_eq!(
            serial_to_date(45_658.75),
            Some(jiff::civil::date(2025, 1, 1))
        );
        assert_eq!(serial_to_date(f64::NAN), None);
        assert_eq!(date_to_serial(jiff::civil::date(2026, 12, 5)), 46_361);
        assert_eq!(
            serial_to_date(46_361.0),
            Some(jiff::civil::date(2026, 12, 5))
        );
    }

    #[test]
    fn numbers_are_exact_text() {
        let n = |v: Value| match v {
            Value::Number(n) => number_text(&n),
            _ => unreachable!(),
        };
        assert_eq!(n(json!(12500)), "12500");
        assert_eq!(n(json!(12500.0)), "12500");
        assert_eq!(n(json!(0.1)), "0.1");
        assert_eq!(n(json!(1234.56)), "1234.56");
        assert_eq!(n(json!(-0.0)), "0");
        assert_eq!(n(json!(1e21)), "1000000000000000000000");
        assert_eq!(n(json!(919_000_000_001_u64)), "919000000001");
    }

    #[test]
    fn leading_zeros_and_plus_keep_the_text() {
        assert_eq!(
            merge(json!(123), json!("00123")),
            TableCell::Text("00123".into())
        );
        assert_eq!(
            merge(json!(919_000_000_001_u64), json!("+919000000001")),
            TableCell::Text("+919000000001".into())
        );
        assert_eq!(
            merge(json!(0.5), json!("0.5")),
            TableCell::Number("0.5".into())
        );
        assert_eq!(merge(json!(0), json!("0")), TableCell::Number("0".into()));
    }

    #[test]
    fn formatted_amounts_stay_numbers() {
        assert_eq!(
            merge(json!(12500), json!("₹12,500.00")),
            TableCell::Number("12500".into())
        );
        assert_eq!(
            merge(json!(1234.5678), json!("1,234.57")),
            TableCell::Number("1234.5678".into())
        );
        assert_eq!(
            merge(json!(-1200), json!("(1,200.00)")),
            TableCell::Number("-1200".into())
        );
        assert_eq!(
            merge(json!(8000), json!("8000")),
            TableCell::Number("8000".into())
        );
        // A display that is another thing entirely keeps the display.
        assert_eq!(
            merge(json!(12), json!("12 pcs")),
            TableCell::Text("12 pcs".into())
        );
    }

    #[test]
    fn date_formatted_serials_are_dates() {
        let d = jiff::civil::date(2026, 12, 5);
        for shown in [
            "05/12/2026",
            "2026-12-05",
            "5-Dec-2026",
            "5 Dec 2026",
            "05/12/2026 10:30:00",
        ] {
            assert_eq!(
                merge(json!(46_361), json!(shown)),
                TableCell::Date(d),
                "{shown}"
            );
        }
        assert!(!looks_like_date("46361"));
        assert!(!looks_like_date("INV-0001"));
    }

    #[test]
    fn strings_bools_and_blanks() {
        assert_eq!(
            merge(json!("INV-0001"), json!("INV-0001")),
            TableCell::Text("INV-0001".into())
        );
        assert_eq!(merge(json!(true), json!("TRUE")), TableCell::Bool(true));
        assert_eq!(merge(json!(""), json!("")), TableCell::Empty);
        assert_eq!(merge_cell(None, None), TableCell::Empty);
        assert_eq!(
            merge_row(&[json!("a"), json!(""), json!(5)], &[json!("a"), json!("")]),
            vec![
                TableCell::Text("a".into()),
                TableCell::Empty,
                TableCell::Number("5".into())
            ]
        );
        assert_eq!(
            merge_row(&[json!("a"), json!("")], &[]),
            vec![TableCell::Text("a".into())]
        );
    }
}
