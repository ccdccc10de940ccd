//! Civil dates as Indian (and other) exports write them.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How to read all-numeric dates whose first part is not a four-digit year:
/// `04-12-2026` is 4 December day-first (India, Europe) and 12 April
/// month-first (United States). Dates with a month name or a leading year
/// read the same either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    #[default]
    DayFirst,
    MonthFirst,
}

/// Parses a civil date.
///
/// Accepted forms, with `-`, `/`, `.`, `,` or spaces between parts:
/// - numeric day-month-year (or month-day-year with
///   [`DateOrder::MonthFirst`]): `04-12-2026`, `4/12/26`, `04.12.2026`;
/// - year first, always year-month-day: `2026-12-04`, `2026/12/04`;
/// - with a month name or its first three letters, in the orders English
///   uses: `04-Dec-2026`, `4 Dec 2026`, `04-Dec-26`, `Dec 4, 2026`,
///   `4th December 2026`, `2026-Dec-04`.
///
/// Two-digit years are 2000 + `yy`; four-digit years must lie in 1900–2199.
/// A weekday name (`Fri, 04 Dec 2026`) and a trailing time of day
/// (`2026-12-04 10:30`, `2026-12-04T10:30:00`) are ignored. The error is a
/// sentence meant for the person who wrote the date.
pub fn parse_date(s: &str, order: DateOrder) -> Result<Date, String> {
    let input = s.trim();
    if input.is_empty() {
        return Err("no date given".to_string());
    }
    let not_a_date = || {
        format!(
            "`{input}` is not a date (expected a form like 04-12-2026, 04-Dec-2026 or 2026-12-04)"
        )
    };

    let tokens = tokenize(strip_time(input)).ok_or_else(not_a_date)?;
    let (year, month, day) = match tokens.as_slice() {
        // Year first: always year-month-day.
        [Token::Num(y, 4), Token::Num(m, 1..=2), Token::Num(d, 1..=2)] => ((*y, 4), *m, *d),
        [
            Token::Num(a, 1..=2),
            Token::Num(b, 1..=2),
            Token::Num(y, ylen @ (2 | 4)),
        ] => match order {
            DateOrder::DayFirst => ((*y, *ylen), *b, *a),
            DateOrder::MonthFirst => ((*y, *ylen), *a, *b),
        },
        // 04-Dec-2026, 04-Dec-26
        [
            Token::Num(d, 1..=2),
            Token::Month(m),
            Token::Num(y, ylen @ (2 | 4)),
        ] => ((*y, *ylen), *m, *d),
        // Dec 4, 2026
        [
            Token::Month(m),
            Token::Num(d, 1..=2),
            Token::Num(y, ylen @ (2 | 4)),
        ] => ((*y, *ylen), *m, *d),
        // 2026-Dec-04, 2026 December 4
        [Token::Num(y, 4), Token::Month(m), Token::Num(d, 1..=2)] => ((*y, 4), *m, *d),
        _ => return Err(not_a_date()),
    };
    let year = match year {
        (y, 2) => 2000 + y,
        (y, _) if (1900..=2199).contains(&y) => y,
        (y, _) => return Err(format!("`{input}`: the year {y} is out of range")),
    };
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(year), i8::try_from(month), i8::try_from(day))
    else {
        return Err(not_a_date());
    };
    Date::new(y, m, d).map_err(|_| {
        format!("`{input}` is not a calendar date (day {day}, month {month}, year {year})")
    })
}

/// The civil date of an Excel serial day number (days since 1899-12-30 in
/// the 1900 date system; a fraction is a time of day and is dropped).
/// Excel counts a 29 February 1900 that never was: serial 60 is refused and
/// serials below it are shifted back into the real calendar. Serials outside
/// Excel's range (1 to 2958465, i.e. 9999-12-31) give `None`.
pub fn excel_serial_date(serial: i64) -> Option<Date> {
    if !(1..=2_958_465).contains(&serial) || serial == 60 {
        return None;
    }
    let epoch = if serial < 60 {
        jiff::civil::date(1899, 12, 31)
    } else {
        jiff::civil::date(1899, 12, 30)
    };
    epoch.checked_add(serial.days()).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A number and how many digits it was written with.
    Num(u32, usize),
    Month(u32),
}

/// Drops a time of day after the date: `T10:30`, ` 10:30:00`, ` 10:30 AM`.
fn strip_time(s: &str) -> &str {
    if let Some(colon) = s.find(':') {
        let head = &s[..colon];
        if let Some(cut) = head.rfind(|c: char| c == 'T' || c.is_whitespace()) {
            return s[..cut].trim_end();
        }
    }
    s
}

fn tokenize(s: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::with_capacity(3);
    for part in s.split(|c: char| matches!(c, '-' | '/' | '.' | ',') || c.is_whitespace()) {
        if part.is_empty() {
            continue;
        }
        let digits_end = part
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(part.len());
        if digits_end > 0 {
            let (digits, rest) = part.split_at(digits_end);
            // `4th`, `21st`, `2nd`, `3rd`
            if !rest.is_empty()
                && !matches!(
                    rest.to_ascii_lowercase().as_str(),
                    "st" | "nd" | "rd" | "th"
                )
            {
                return None;
            }
            if digits.len() > 4 {
                return None;
            }
            tokens.push(Token::Num(digits.parse().ok()?, digits.len()));
            continue;
        }
        let word = part.to_ascii_lowercase();
        if is_weekday(&word) {
            continue;
        }
        tokens.push(Token::Month(month_number(&word)?));
    }
    Some(tokens)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `dec`, `Dec`, `december`, `sept` → 12, 12, 12, 9.
fn month_number(word: &str) -> Option<u32> {
    if word == "sept" {
        return Some(9);
    }
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(word))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn is_weekday(word: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    word.len() >= 3 && DAYS.iter().any(|d| d.starts_with(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const DF: DateOrder = DateOrder::DayFirst;
    const MF: DateOrder = DateOrder::MonthFirst;

    #[test]
    fn indian_forms() {
        let d = date(2026, 12, 4);
        for s in [
            "04-12-2026",
            "4/12/26",
            "04.12.2026",
            "04-Dec-2026",
            "4 Dec 2026",
            "04-Dec-26",
            "2026-12-04",
            "Dec 4, 2026",
            "December 4, 2026",
            "4th December 2026",
            "04-DEC-2026",
            "2026/12/04",
            "2026-Dec-04",
            "Fri, 04 Dec 2026",
            "2026-12-04T10:30:00",
            "2026-12-04 10:30",
            "04/12/2026 10:30 AM",
            "  04-12-2026  ",
        ] {
            assert_eq!(parse_date(s, DF), Ok(d), "{s}");
        }
    }

    #[test]
    fn month_first_only_changes_numeric_forms() {
        assert_eq!(parse_date("12/04/2026", MF), Ok(date(2026, 12, 4)));
        assert_eq!(parse_date("12/04/2026", DF), Ok(date(2026, 4, 12)));
        assert_eq!(parse_date("2026-12-04", MF), Ok(date(2026, 12, 4)));
        assert_eq!(parse_date("04-Dec-2026", MF), Ok(date(2026, 12, 4)));
        assert_eq!(parse_date("Dec 4, 2026", MF), Ok(date(2026, 12, 4)));
    }

    #[test]
    fn two_digit_years_are_this_century() {
        assert_eq!(parse_date("1/1/00", DF), Ok(date(2000, 1, 1)));
        assert_eq!(parse_date("31/12/99", DF), Ok(date(2099, 12, 31)));
    }

    #[test]
    fn rejects_non_dates() {
        for s in [
            "",
            "tomorrow",
            "31-02-2026",
            "13/13/2026",
            "2026-13-01",
            "04-Dex-2026",
            "04-12",
            "4/12/026",
            "04122026",
            "1/2/3/4",
            "04-12-1850",
            "Ma 4 2026",
        ] {
            assert!(parse_date(s, DF).is_err(), "{s} should be refused");
        }
        assert_eq!(
            parse_date("31-02-2026", DF),
            Err("`31-02-2026` is not a calendar date (day 31, month 2, year 2026)".to_string())
        );
        // Day-first with a month of 13: an error, never a silent swap.
        assert!(parse_date("12/13/2026", DF).is_err());
    }

    #[test]
    fn excel_serials() {
        assert_eq!(excel_serial_date(1), Some(date(1900, 1, 1)));
        assert_eq!(excel_serial_date(59), Some(date(1900, 2, 28)));
        assert_eq!(excel_serial_date(60), None);
        assert_eq!(excel_serial_date(61), Some(date(1900, 3, 1)));
        assert_eq!(excel_serial_date(45658), Some(date(2025, 1, 1)));
        assert_eq!(excel_serial_date(46360), Some(date(2026, 12, 4)));
        assert_eq!(excel_serial_date(2_958_465), Some(date(9999, 12, 31)));
        assert_eq!(excel_serial_date(0), None);
        assert_eq!(excel_serial_date(3_000_000), None);
    }

    fn any_date(years: std::ops::RangeInclusive<i16>) -> impl Strategy<Value = Date> {
        (years, 1i8..=12, 1i8..=31)
            .prop_filter_map("real dates", |(y, m, d)| Date::new(y, m, d).ok())
    }

    proptest! {
        #[test]
        fn every_written_form_reads_back(d in any_date(1900..=2199)) {
            for fmt in ["%d-%m-%Y", "%d.%m.%Y", "%-d/%-m/%Y", "%d-%b-%Y", "%-d %b %Y",
                        "%Y-%m-%d", "%b %-d, %Y", "%B %-d, %Y", "%-d %B %Y", "%a, %d %b %Y"] {
                let s = d.strftime(fmt).to_string();
                prop_assert_eq!(parse_date(&s, DateOrder::DayFirst), Ok(d), "{}", s);
            }
            for fmt in ["%m/%d/%Y", "%-m/%-d/%Y", "%Y-%m-%d", "%b %-d, %Y"] {
                let s = d.strftime(fmt).to_string();
                prop_assert_eq!(parse_date(&s, DateOrder::MonthFirst), Ok(d), "{}", s);
            }
        }

        #[test]
        fn two_digit_year_forms_read_back(d in any_date(2000..=2099)) {
            for fmt in ["%-d/%-m/%y", "%d-%b-%y", "%d.%m.%y"] {
                let s = d.strftime(fmt).to_string();
                prop_assert_eq!(parse_date(&s, DateOrder::DayFirst), Ok(d), "{}", s);
            }
            let s = d.strftime("%m/%d/%y").to_string();
            prop_assert_eq!(parse_date(&s, DateOrder::MonthFirst), Ok(d), "{}", s);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_date(&s, DateOrder::DayFirst);
        }
    }
}
