//! SWIFT MT940 customer statements.
//!
//! The text is read line by line (`\n` or `\r\n`). `{1:...}{2:...}{4:`
//! block headers are dropped, as are `-}` / `-` message ends, so several
//! messages can follow each other in one file. A line starting with `:tag:`
//! opens a field; other lines continue the field above.
//!
//! - `:25:` is the account (the first one is kept);
//! - `:60F:` / `:60M:` (opening balance) gives the currency of the lines
//!   that follow; when it cannot be read, those lines are rejected rather
//!   than given a guessed currency;
//! - `:61:` is one statement line: value date `YYMMDD`, optional entry
//!   date `MMDD`, mark (`C` credit, `D` debit, `RC` reversal of a credit,
//!   `RD` reversal of a debit), optional funds code letter, amount with a
//!   decimal comma, transaction type (`NTRF`, `NMSC`, `S103`...), the
//!   account owner's reference, `//` and the bank's reference, and on a
//!   second line supplementary details. `C` and `RD` are money in; `D` and
//!   `RC` are counted as debits;
//! - `:86:` (information to the account owner, several lines) belongs to
//!   the `:61:` just above it. Its lines are joined with spaces; in the
//!   structured `?20`–`?29` style (`166?00...?20INV-0042?32ACME`) the
//!   remittance subfields make the narration and `?32`/`?33` the remitter.
//!
//! A credit's narration is the `:86:` text, followed by the owner's
//! reference (unless `NONREF`) and the supplementary details when the text
//! does not already contain them. Its line is the `:61:` line; its booking
//! date the entry date when given (in the value date's year, or the one
//! next to it across a new year), else the value date.

use jiff::civil::Date;
use tagada_core::Currency;

use super::{
    Statement, StatementCredit, StatementError, StatementFormat, StatementReject,
    parse_machine_amount,
};

/// One `:tag:` field with its continuation lines.
#[derive(Debug)]
struct Field {
    tag: String,
    line: usize,
    lines: Vec<String>,
}

impl Field {
    fn raw(&self) -> String {
        let mut s = format!(":{}:", self.tag);
        s.push_str(&self.lines.join("\n"));
        s
    }
}

/// Splits the text into fields, dropping block headers and message ends.
fn fields(text: &str) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let mut line = raw_line.trim_end_matches('\r');
        if line.starts_with('{') {
            // `{1:F01...}{2:O940...}{4:` with possibly a field after it.
            match line.find("{4:") {
                Some(at) => line = &line[at + 3..],
                None => continue,
            }
        }
        let trimmed = line.trim();
        if trimmed == "-}" || trimmed == "-" || trimmed == "}" || trimmed.starts_with("-}") {
            out.push(Field {
                tag: "-".to_string(),
                line: i + 1,
                lines: Vec::new(),
            });
            continue;
        }
        if let Some((tag, rest)) = split_tag(line) {
            out.push(Field {
                tag: tag.to_string(),
                line: i + 1,
                lines: vec![rest.to_string()],
            });
        } else if let Some(last) = out.last_mut()
            && last.tag != "-"
        {
            last.lines.push(line.to_string());
        }
    }
    out
}

/// `:61:rest` → (`61`, `rest`); tags are two digits and an optional letter.
fn split_tag(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let tag = &rest[..end];
    let b = tag.as_bytes();
    let ok = (b.len() == 2 || b.len() == 3)
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && (b.len() == 2 || b[2].is_ascii_alphabetic());
    ok.then(|| (tag, &rest[end + 1..]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Credit,
    Debit,
    ReversalOfCredit,
    ReversalOfDebit,
}

impl Mark {
    fn is_money_in(self) -> bool {
        matches!(self, Mark::Credit | Mark::ReversalOfDebit)
    }
}

/// A parsed `:61:` line.
#[derive(Debug)]
struct Line61 {
    value_date: Date,
    entry_date: Date,
    mark: Mark,
    amount: String,
    owner_reference: Option<String>,
    bank_reference: Option<String>,
    supplementary: Option<String>,
}

fn yymmdd(s: &str) -> Result<Date, String> {
    let digits = s.get(..6).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
    let Some(d) = digits else {
        return Err(format!("`{s}` does not start with a YYMMDD date"));
    };
    let num = |r: std::ops::Range<usize>| d[r].parse::<i8>().unwrap_or(0);
    Date::new(2000 + i16::from(num(0..2)), num(2..4), num(4..6))
        .map_err(|_| format!("`{}` is not a calendar date", &s[..6]))
}

/// The entry date `MMDD` in the year that puts it nearest the value date.
fn entry_date(value: Date, mmdd: &str) -> Result<Date, String> {
    let month = mmdd[..2].parse::<i8>().unwrap_or(0);
    let day = mmdd[2..].parse::<i8>().unwrap_or(0);
    let year = value.year();
    let year = match (value.month(), month) {
        (12, 1) => year + 1,
        (1, 12) => year - 1,
        _ => year,
    };
    Date::new(year, month, day).map_err(|_| format!("entry date `{mmdd}` is not a calendar date"))
}

fn parse_61(field: &Field) -> Result<Line61, String> {
    let first = field.lines.first().map_or("", |l| l.trim());
    let value_date = yymmdd(first)?;
    let mut rest = &first[6..];
    let mut entry = value_date;
    if rest.len() >= 4 && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        entry = entry_date(value_date, &rest[..4])?;
        rest = &rest[4..];
    }
    let (mark, after) = if let Some(r) = rest.strip_prefix("RC") {
        (Mark::ReversalOfCredit, r)
    } else if let Some(r) = rest.strip_prefix("RD") {
        (Mark::ReversalOfDebit, r)
    } else if let Some(r) = rest.strip_prefix('C') {
        (Mark::Credit, r)
    } else if let Some(r) = rest.strip_prefix('D') {
        (Mark::Debit, r)
    } else {
        return Err(format!(
            "expected C, D, RC or RD after the dates, found `{}`",
            rest.chars().take(4).collect::<String>()
        ));
    };
    rest = after;
    // The funds code: the third letter of the currency code, when given.
    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        rest = &rest[1..];
    }
    let amount_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(rest.len());
    if amount_len == 0 {
        return Err(format!(
            "no amount where one was expected: `{}`",
            rest.chars().take(16).collect::<String>()
        ));
    }
    let amount = rest[..amount_len].to_string();
    rest = &rest[amount_len..];
    // Transaction type: N, F or S and three characters.
    rest = match rest.get(4..) {
        Some(after) if rest.starts_with(['N', 'F', 'S']) => after,
        _ => {
            return Err(format!(
                "expected a transaction type (NTRF, NMSC, S103...) after the amount, found `{rest}`"
            ));
        }
    };
    let (owner, bank) = match rest.split_once("//") {
        Some((o, b)) => (o, Some(b)),
        None => (rest, None),
    };
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(Line61 {
        value_date,
        entry_date: entry,
        mark,
        amount,
        owner_reference: text(owner).filter(|o| !o.eq_ignore_ascii_case("NONREF")),
        bank_reference: bank.and_then(text),
        supplementary: field.lines.get(1).and_then(|l| text(l)),
    })
}

/// The currency of a balance field `C261205INR1234,56`.
fn balance_currency(field: &Field) -> Result<Currency, String> {
    let v = field.lines.first().map_or("", |l| l.trim());
    let code = v
        .get(7..10)
        .ok_or_else(|| format!("`{v}` is too short for a balance"))?;
    if !matches!(v.get(..1), Some("C" | "D")) {
        return Err(format!("`{v}` does not start with C or D"));
    }
    yymmdd(&v[1..])?;
    Currency::from_code(code).map_err(|e| e.to_string())
}

/// The `:86:` text and the remitter it names.
fn information(field: &Field) -> (String, Option<String>) {
    let joined = field
        .lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>();
    let whole = joined.concat();
    // Structured: a three-digit code followed by `?nn` subfields.
    let structured = whole.len() > 4
        && whole.as_bytes()[..3].iter().all(u8::is_ascii_digit)
        && whole[3..].starts_with('?');
    if !structured {
        return (joined.join(" "), None);
    }
    let mut remittance = String::new();
    let mut name = String::new();
    for part in whole[3..].split('?') {
        let (Some(code), Some(value)) = (part.get(..2), part.get(2..)) else {
            continue;
        };
        match code {
            "20" | "21" | "22" | "23" | "24" | "25" | "26" | "27" | "28" | "29" => {
                remittance.push_str(value);
            }
            "32" | "33" => name.push_str(value),
            _ => {}
        }
    }
    let name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
    (remittance.trim().to_string(), name)
}

fn add_part(text: &mut String, piece: Option<&str>) {
    let Some(piece) = piece.map(str::trim).filter(|p| !p.is_empty()) else {
        return;
    };
    if text.contains(piece) {
        return;
    }
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(piece);
}

pub(super) fn read(file: &str, text: &str) -> Result<Statement, StatementError> {
    let fields = fields(text);
    if !fields.iter().any(|f| f.tag == "61" || f.tag == "20") {
        return Err(StatementError::NotAStatement {
            file: file.to_string(),
            format: StatementFormat::Mt940,
            reason: "no :20: or :61: field was found".to_string(),
        });
    }
    let mut statement = Statement {
        format: StatementFormat::Mt940,
        account: None,
        credits: Vec::new(),
        debits_skipped: 0,
        pending_skipped: 0,
        rejects: Vec::new(),
    };
    let mut currency: Result<Currency, String> =
        Err("no opening balance (:60F:) gives the currency".to_string());
    // The credit the next `:86:` belongs to (an index into `credits`), with
    // the owner's reference and supplementary details of its `:61:`.
    let mut open_credit: Option<(usize, Vec<String>)> = None;

    for field in &fields {
        let reject = |tag: &str, reason: String| StatementReject {
            line: field.line,
            field: format!(":{tag}:"),
            reason,
            raw: field.raw(),
        };
        if field.tag != "86" {
            open_credit = None;
        }
        match field.tag.as_str() {
            "-" | "20" => currency = Err("no opening balance (:60F:) gives the currency".into()),
            "25" if statement.account.is_none() => {
                let account = field.lines.concat().trim().to_string();
                statement.account = Some(account).filter(|a| !a.is_empty());
            }
            "60F" | "60M" => {
                currency = balance_currency(field);
                if let Err(reason) = &currency {
                    statement.rejects.push(reject(&field.tag, reason.clone()));
                }
            }
            "61" => {
                let line = match parse_61(field) {
                    Ok(l) => l,
                    Err(reason) => {
                        statement.rejects.push(reject("61", reason));
                        continue;
                    }
                };
                if !line.mark.is_money_in() {
                    statement.debits_skipped += 1;
                    continue;
                }
                let ccy = match &currency {
                    Ok(c) => *c,
                    Err(reason) => {
                        statement.rejects.push(reject("61", reason.clone()));
                        continue;
                    }
                };
                let amount = match parse_machine_amount(&line.amount, ',', ccy) {
                    Ok(m) if m.is_positive() => m,
                    Ok(_) => {
                        statement
                            .rejects
                            .push(reject("61", "the amount is zero".into()));
                        continue;
                    }
                    Err(reason) => {
                        statement.rejects.push(reject("61", reason));
                        continue;
                    }
                };
                let parts: Vec<String> = [line.owner_reference, line.supplementary]
                    .into_iter()
                    .flatten()
                    .collect();
                let mut narration = String::new();
                for part in &parts {
                    add_part(&mut narration, Some(part));
                }
                statement.credits.push(StatementCredit {
                    line: field.line,
                    booked_on: line.entry_date,
                    value_date: Some(line.value_date),
                    amount,
                    narration,
                    bank_reference: line.bank_reference,
                    counterparty: None,
                });
                open_credit = Some((statement.credits.len() - 1, parts));
            }
            "86" => {
                if let Some((i, parts)) = open_credit.take() {
                    let credit = &mut statement.credits[i];
                    let (mut narration, name) = information(field);
                    for part in &parts {
                        add_part(&mut narration, Some(part));
                    }
                    credit.narration = narration;
                    credit.counterparty = name;
                }
            }
            _ => {}
        }
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use tagada_core::Money;

    fn read_sta(text: &str) -> Statement {
        read("s.sta", text).unwrap()
    }

    fn field61(line: &str) -> Result<Line61, String> {
        parse_61(&Field {
            tag: "61".into(),
            line: 1,
            lines: line.split('\n').map(str::to_string).collect(),
        })
    }

    #[test]
    fn statement_line_forms() {
        let l = field61("2612051205C11800,00NTRFINV-0042//HDFCN123\nNEFT CREDIT").unwrap();
        assert_eq!(l.value_date, date(2026, 12, 5));
        assert_eq!(l.entry_date, date(2026, 12, 5));
        assert_eq!(l.mark, Mark::Credit);
        assert_eq!(l.amount, "11800,00");
        assert_eq!(l.owner_reference.as_deref(), Some("INV-0042"));
        assert_eq!(l.bank_reference.as_deref(), Some("HDFCN123"));
        assert_eq!(l.supplementary.as_deref(), Some("NEFT CREDIT"));

        let l = field61("261205RDR500,NMSCNONREF").unwrap();
        assert_eq!(l.mark, Mark::ReversalOfDebit);
        assert_eq!(l.amount, "500,");
        assert_eq!(l.owner_reference, None);
        assert_eq!(l.bank_reference, None);

        let l = field61("2612310102D1,5S103X").unwrap();
        assert_eq!(l.entry_date, date(2027, 1, 2));
        assert_eq!(l.mark, Mark::Debit);
        let l = field61("2601020101RC1,5FCHGX").unwrap();
        assert_eq!(l.entry_date, date(2026, 1, 1));
        assert_eq!(l.mark, Mark::ReversalOfCredit);
        let l = field61("2601021231C1,5NTRFX").unwrap();
        assert_eq!(l.entry_date, date(2025, 12, 31));

        for bad in [
            "26120C1,00NTRF",
            "261305C1,00NTRF",
            "261205X1,00NTRF",
            "261205CNTRF",
            "261205C1,00",
            "2612051232C1,00NTRF",
        ] {
            assert!(field61(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn wrapped_messages_with_crlf() {
        let text = "{1:F01HDFCINBBAXXX0000000000}{2:O9401200261205HDFCINBBAXXX00000000002612051200N}{4:\r\n\
:20:STMT1\r\n\
:25:50100123456789\r\n\
:28C:1/1\r\n\
:60F:C261204INR100000,00\r\n\
:61:2612051205C11800,00NTRFNONREF//UTR1\r\n\
:86:NEFT-ACME TRADERS-\r\n\
INV-0042\r\n\
:61:2612051205D500,00NMSCNONREF//UTR2\r\n\
:86:CHARGES\r\n\
:62F:C261205INR111300,00\r\n\
:86:STATEMENT INFO NOT FOR A LINE\r\n\
-}{5:{CHK:123}}\r\n\
{1:F01HDFCINBBAXXX0000000000}{2:O940}{4:\r\n\
:20:STMT2\r\n\
:25:OTHER\r\n\
:60F:C261205USD10,00\r\n\
:61:261206C5,NTRFX//UTR3\r\n\
-}\r\n";
        let s = read_sta(text);
        assert_eq!(s.account.as_deref(), Some("50100123456789"));
        assert_eq!(s.debits_skipped, 1);
        assert_eq!(s.rejects, vec![]);
        let got: Vec<(usize, &str, Money)> = s
            .credits
            .iter()
            .map(|c| (c.line, c.narration.as_str(), c.amount))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    6,
                    "NEFT-ACME TRADERS- INV-0042",
                    Money::from_minor(1_180_000, Currency::INR)
                ),
                (18, "X", Money::from_minor(500, Currency::USD)),
            ]
        );
    }

    #[test]
    fn structured_information() {
        let text = ":20:X\n:60F:C261204EUR0,\n:61:261205C10,NTRFNONREF//B1\n:86:166?00GUTSCHRIFT?20INV-00\n?2142 DANKE?32ACME TRADERS?33 GMBH\n";
        let s = read_sta(text);
        let c = &s.credits[0];
        assert_eq!(c.narration, "INV-0042 DANKE");
        assert_eq!(c.counterparty.as_deref(), Some("ACME TRADERS GMBH"));
        assert_eq!(c.amount, Money::from_minor(1_000, Currency::EUR));
    }

    #[test]
    fn lines_without_a_currency_are_rejected() {
        let text = ":20:X\n:60F:C26120XINR0,\n:61:261205C10,NTRFNONREF\n:61:261205CX10,NTRFNONREF\n:20:Y\n:61:261205C10,NTRFNONREF\n";
        let s = read_sta(text);
        let rejects: Vec<(usize, &str)> = s
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            rejects,
            vec![(2, ":60F:"), (3, ":61:"), (4, ":61:"), (6, ":61:")]
        );
        assert!(s.credits.is_empty());
        assert!(matches!(
            read("x.sta", "hello\n"),
            Err(StatementError::NotAStatement { .. })
        ));
    }
}
