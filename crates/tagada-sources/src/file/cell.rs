//! One cell of a source row, before it is read as a field.

use std::borrow::Cow;

use jiff::civil::Date;

/// A cell as the file gave it. CSV cells are always `Text`; spreadsheets
/// also give numbers and dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Empty,
    Text(String),
    /// A numeric spreadsheet cell, already written as an exact decimal
    /// string (see [`decimal_from_f64`]).
    Number(String),
    /// A spreadsheet cell formatted as a date.
    Date(Date),
}

impl Cell {
    pub(crate) fn text(s: String) -> Cell {
        if s.trim().is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    /// The cell as text, trimmed; dates in ISO form.
    pub(crate) fn as_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) | Cell::Number(s) => Cow::Borrowed(s.trim()),
            Cell::Date(d) => Cow::Owned(d.to_string()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) | Cell::Number(s) => s.trim().is_empty(),
            Cell::Date(_) => false,
        }
    }
}

/// Significant digits Excel keeps and shows for a number.
const EXCEL_DIGITS: usize = 15;

/// Writes a spreadsheet number as a decimal string without losing or
/// inventing anything the spreadsheet showed.
///
/// This is the one place a float appears in an import: XLSX, XLS and ODS
/// store numbers as IEEE doubles, so calamine hands us an `f64`. It never
/// takes part in arithmetic; it is turned into text here and the text is
/// then parsed exactly like a CSV cell (`Money::parse`). The text is the
/// shortest decimal that reads back as the same double (`1234.5`, not
/// `1234.4999999999999`), which is exactly what was typed for any amount of
/// up to 15 significant digits. When that shortest form needs more than 15
/// significant digits (the residue of a formula such as `=A1*1.18` giving
/// `1180.0000000000002`), it is rounded to 15, the precision Excel itself
/// keeps and displays, so the importer sees the `1180` the user saw.
pub(crate) fn decimal_from_f64(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let shortest = format!("{value}");
    let significant = shortest
        .trim_start_matches('-')
        .trim_start_matches(['0', '.'])
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    if significant <= EXCEL_DIGITS {
        return shortest;
    }
    // `{:.14e}` rounds the exact binary value to 15 significant digits:
    // `1.18000000000000e3`.
    let sci = format!("{:.*e}", EXCEL_DIGITS - 1, value);
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return shortest;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return shortest;
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    // The decimal point goes after `exp + 1` digits.
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-point).unwrap_or(0),
        ));
        out.push_str(digits.trim_end_matches('0'));
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if point >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            let (int, frac) = digits.split_at(point);
            out.push_str(int);
            let frac = frac.trim_end_matches('0');
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_become_the_decimal_that_was_typed() {
        assert_eq!(decimal_from_f64(1234.5), "1234.5");
        assert_eq!(decimal_from_f64(0.1), "0.1");
        assert_eq!(decimal_from_f64(118_000.0), "118000");
        assert_eq!(decimal_from_f64(-2500.75), "-2500.75");
        assert_eq!(decimal_from_f64(12_345_678.91), "12345678.91");
        assert_eq!(decimal_from_f64(999_999_999_999.99), "999999999999.99");
    }

    #[test]
    fn formula_residue_is_rounded_to_excel_precision() {
        assert_eq!(decimal_from_f64(0.1 + 0.2), "0.3");
        assert_eq!(decimal_from_f64(1000.0 * 1.18), "1180");
        assert_eq!(decimal_from_f64(-(0.1 + 0.2)), "-0.3");
        assert_eq!(decimal_from_f64(0.000_1 + 0.000_2), "0.0003");
        assert_eq!(decimal_from_f64(1e20 / 3.0), "33333333333333300000");
    }

    #[test]
    fn cells_as_text() {
        assert_eq!(Cell::text("  ".into()), Cell::Empty);
        assert_eq!(Cell::text(" x ".into()).as_text(), "x");
        assert_eq!(
            Cell::Date(jiff::civil::date(2026, 12, 4)).as_text(),
            "2026-12-04"
        );
        assert!(Cell::Number(String::new()).is_empty());
    }
}
