//! ISO 20022 camt.053 (`BankToCustomerStatement`), versions `.001.02`
//! onwards, read with quick-xml as a stream of elements.
//!
//! Each `Stmt/Ntry` is one entry; its number in the file (1-based, across
//! statements) is the credit's `line`. Only booked entries (`Sts` `BOOK`,
//! or `Sts/Cd` `BOOK` from `.001.08`) are read; an entry without a status is
//! taken as booked, as camt.053 reports booked entries. `CdtDbtInd` `DBIT`
//! entries are debits (a reversal carries the direction of the reversing
//! entry itself, so `CRDT` with `RvslInd` is money in).
//!
//! An entry with several `NtryDtls/TxDtls` that each give their own amount
//! (`AmtDtls/TxAmt/Amt`, or `TxDtls/Amt`) becomes one credit per
//! transaction, provided the amounts add up to the entry's; otherwise the
//! entry is one credit whose narration joins the transactions'.
//!
//! Per credit:
//! - `bank_reference`: `TxDtls/Refs/AcctSvcrRef`, else the entry's
//!   `AcctSvcrRef` (suffixed `/2`, `/3`... for the second and later
//!   transactions of a split entry, so each stays unique);
//! - `narration`: the `RmtInf/Ustrd` lines, then the structured references
//!   (`Strd/CdtrRefInf/Ref`, `Strd/RfrdDocInf/Nb`), the `Refs/EndToEndId`
//!   (unless `NOTPROVIDED`), `AddtlTxInf` and the entry's `AddtlNtryInf`,
//!   each left out when the text so far already contains it;
//! - `counterparty`: `RltdPties/Dbtr/Nm` (`Dbtr/Pty/Nm` from `.001.08`),
//!   else the ultimate debtor's name.

use jiff::civil::Date;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use tagada_core::{Currency, Money};

use super::{
    Statement, StatementCredit, StatementError, StatementFormat, StatementReject,
    parse_machine_amount,
};

#[derive(Debug, Default)]
struct Tx {
    amount: Option<(String, Option<String>)>,
    instructed: Option<(String, Option<String>)>,
    reference: Option<String>,
    end_to_end: Option<String>,
    unstructured: Vec<String>,
    structured: Vec<String>,
    debtor: Option<String>,
    ultimate_debtor: Option<String>,
    additional: Option<String>,
}

#[derive(Debug, Default)]
struct Entry {
    ordinal: usize,
    start: usize,
    amount: Option<(String, Option<String>)>,
    direction: Option<String>,
    status: Option<String>,
    booked: Option<String>,
    value: Option<String>,
    reference: Option<String>,
    additional: Option<String>,
    txs: Vec<Tx>,
}

/// Where the reader is, as the local names of the open elements.
#[derive(Debug, Default)]
struct Path(Vec<String>);

impl Path {
    fn ends_with(&self, tail: &[&str]) -> bool {
        self.0.len() >= tail.len()
            && self.0[self.0.len() - tail.len()..]
                .iter()
                .zip(tail)
                .all(|(a, b)| a == b)
    }

    /// The names below the innermost `Ntry`, when inside one.
    fn below_entry(&self) -> Option<&[String]> {
        let at = self.0.iter().rposition(|n| n == "Ntry")?;
        Some(&self.0[at + 1..])
    }
}

fn local_name(e: &BytesStart<'_>) -> String {
    let name = e.local_name();
    let s: &str = name.as_ref();
    s.to_string()
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// Reads a camt `ISODate`, or the date part of an `ISODateTime` as the bank
/// wrote it (the bank's civil date, whatever the offset).
fn iso_date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    let day = t.split_once('T').map_or(t, |(d, _)| d);
    day.parse::<Date>()
        .map_err(|_| format!("`{t}` is not an ISO date"))
}

fn push_text(buf: &mut String, piece: &str) {
    buf.push_str(piece);
}

pub(super) fn read(file: &str, text: &str) -> Result<Statement, StatementError> {
    let xml_error = |position: u64, message: String| StatementError::Xml {
        file: file.to_string(),
        position,
        message,
    };
    let not_camt = |reason: String| StatementError::NotAStatement {
        file: file.to_string(),
        format: StatementFormat::Camt053,
        reason,
    };

    let mut reader = Reader::from_str(text);
    let mut statement = Statement {
        format: StatementFormat::Camt053,
        account: None,
        credits: Vec::new(),
        debits_skipped: 0,
        pending_skipped: 0,
        rejects: Vec::new(),
    };
    let mut path = Path::default();
    let mut buf = String::new();
    let mut amount_ccy: Option<String> = None;
    let mut entry: Option<Entry> = None;
    let mut ordinal = 0usize;
    let mut seen_root = false;
    let mut seen_statement = false;

    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let event = reader
            .read_event()
            .map_err(|e| xml_error(reader.error_position(), e.to_string()))?;
        let (start, end) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => (None, true),
            Event::Text(t) => {
                push_text(&mut buf, &t.xml10_content());
                continue;
            }
            Event::CData(t) => {
                push_text(&mut buf, &t.xml10_content());
                continue;
            }
            Event::GeneralRef(r) => {
                match r.resolve_char_ref() {
                    Ok(Some(ch)) => buf.push(ch),
                    _ => {
                        let name = r.xml10_content();
                        match name.as_ref() {
                            "amp" => buf.push('&'),
                            "lt" => buf.push('<'),
                            "gt" => buf.push('>'),
                            "quot" => buf.push('"'),
                            "apos" => buf.push('\''),
                            other => {
                                return Err(xml_error(
                                    reader.buffer_position(),
                                    format!("unknown entity `&{other};`"),
                                ));
                            }
                        }
                    }
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };

        if let Some(e) = start {
            let name = local_name(e);
            if !seen_root {
                seen_root = true;
                check_root(&name, e).map_err(not_camt)?;
            }
            if name == "Amt" {
                amount_ccy = attribute(e, "Ccy");
            }
            if name == "Stmt" && path.ends_with(&["BkToCstmrStmt"]) {
                seen_statement = true;
            }
            if name == "Ntry" && path.ends_with(&["Stmt"]) {
                ordinal += 1;
                entry = Some(Entry {
                    ordinal,
                    start: before,
                    ..Entry::default()
                });
            }
            if name == "TxDtls"
                && path.ends_with(&["NtryDtls"])
                && let Some(entry) = entry.as_mut()
            {
                entry.txs.push(Tx::default());
            }
            path.0.push(name);
            buf.clear();
        }
        if !end {
            continue;
        }

        let value = std::mem::take(&mut buf);
        let value = value.trim();
        if path.ends_with(&["Stmt", "Acct", "Id", "IBAN"])
            || path.ends_with(&["Stmt", "Acct", "Id", "Othr", "Id"])
        {
            statement.account.get_or_insert_with(|| value.to_string());
        }
        if let Some(e) = entry.as_mut()
            && let Some(below) = path.below_entry()
        {
            if below.is_empty() {
                let after = usize::try_from(reader.buffer_position()).unwrap_or(text.len());
                let raw = text.get(e.start..after).unwrap_or_default().trim();
                finish_entry(e, raw, &mut statement);
                entry = None;
            } else {
                let below: Vec<&str> = below.iter().map(String::as_str).collect();
                take_value(e, &below, value, amount_ccy.as_deref());
            }
        }
        path.0.pop();
    }

    if let Some(open) = path.0.last() {
        return Err(xml_error(
            reader.buffer_position(),
            format!("the document ends inside <{open}>"),
        ));
    }
    if !seen_statement {
        return Err(not_camt(
            "no BkToCstmrStmt/Stmt element was found".to_string(),
        ));
    }
    Ok(statement)
}

/// The root must be a camt `Document` (or the message element itself); a
/// namespace naming another camt message is refused by name.
fn check_root(name: &str, e: &BytesStart<'_>) -> Result<(), String> {
    if name != "Document" && name != "BkToCstmrStmt" {
        return Err(format!("the root element is <{name}>, not <Document>"));
    }
    for attr in e.attributes().flatten() {
        let key: &str = attr.key.as_ref();
        if key != "xmlns" && !key.starts_with("xmlns:") {
            continue;
        }
        let ns = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_default();
        if let Some(at) = ns.find("xsd:camt.") {
            let message = &ns[at + 4..];
            if !message.starts_with("camt.053.") {
                return Err(format!(
                    "the namespace `{ns}` is a {} message, not camt.053",
                    message.split('.').take(2).collect::<Vec<_>>().join(".")
                ));
            }
        }
    }
    Ok(())
}

/// Files one leaf value of an entry by its path below `Ntry`.
fn take_value(e: &mut Entry, below: &[&str], value: &str, ccy: Option<&str>) {
    let owned = || Some(value.to_string());
    let amount = || Some((value.to_string(), ccy.map(str::to_string)));
    match below {
        ["Amt"] => e.amount = amount(),
        ["CdtDbtInd"] => e.direction = owned(),
        ["Sts"] if !value.is_empty() => e.status = owned(),
        ["Sts", "Cd" | "Prtry"] => e.status = owned(),
        ["BookgDt", "Dt" | "DtTm"] => e.booked = owned(),
        ["ValDt", "Dt" | "DtTm"] => e.value = owned(),
        ["AcctSvcrRef"] => e.reference = owned(),
        ["AddtlNtryInf"] => e.additional = owned(),
        ["NtryDtls", "TxDtls", rest @ ..] => {
            let Some(tx) = e.txs.last_mut() else { return };
            match rest {
                ["Amt"] | ["AmtDtls", "TxAmt", "Amt"] => tx.amount = amount(),
                ["AmtDtls", "InstdAmt", "Amt"] => tx.instructed = amount(),
                ["Refs", "AcctSvcrRef"] => tx.reference = owned(),
                ["Refs", "EndToEndId"] => tx.end_to_end = owned(),
                ["RmtInf", "Ustrd"] => tx.unstructured.push(value.to_string()),
                ["RmtInf", "Strd", "CdtrRefInf", "Ref"]
                | ["RmtInf", "Strd", "RfrdDocInf", "Nb"] => tx.structured.push(value.to_string()),
                ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] => {
                    tx.debtor = owned();
                }
                ["RltdPties", "UltmtDbtr", "Nm"] | ["RltdPties", "UltmtDbtr", "Pty", "Nm"] => {
                    tx.ultimate_debtor = owned();
                }
                ["AddtlTxInf"] => tx.additional = owned(),
                _ => {}
            }
        }
        _ => {}
    }
}

/// Appends `piece` unless the text already holds it.
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

fn narration(tx: Option<&Tx>, entry_info: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(tx) = tx {
        for line in &tx.unstructured {
            add_part(&mut text, Some(line));
        }
        for r in &tx.structured {
            add_part(&mut text, Some(r));
        }
        let e2e = tx
            .end_to_end
            .as_deref()
            .filter(|id| !id.eq_ignore_ascii_case("NOTPROVIDED"));
        add_part(&mut text, e2e);
        add_part(&mut text, tx.additional.as_deref());
    }
    add_part(&mut text, entry_info);
    text
}

fn finish_entry(e: &Entry, raw: &str, statement: &mut Statement) {
    let reject = |field: &str, reason: String| StatementReject {
        line: e.ordinal,
        field: field.to_string(),
        reason,
        raw: raw.to_string(),
    };
    let status = e.status.as_deref().unwrap_or("BOOK");
    if !status.eq_ignore_ascii_case("BOOK") {
        statement.pending_skipped += 1;
        return;
    }
    match e.direction.as_deref() {
        Some("DBIT") => {
            statement.debits_skipped += 1;
            return;
        }
        Some("CRDT") => {}
        other => {
            statement.rejects.push(reject(
                "Ntry/CdtDbtInd",
                match other {
                    Some(v) => format!("`{v}` is neither CRDT nor DBIT"),
                    None => "no credit/debit indicator".to_string(),
                },
            ));
            return;
        }
    }
    let amount = match read_amount(e.amount.as_ref(), None) {
        Ok(Some(a)) => a,
        Ok(None) => {
            statement
                .rejects
                .push(reject("Ntry/Amt", "no amount given".to_string()));
            return;
        }
        Err(reason) => {
            statement.rejects.push(reject("Ntry/Amt", reason));
            return;
        }
    };
    let value_date = match e.value.as_deref().map(iso_date).transpose() {
        Ok(d) => d,
        Err(reason) => {
            statement.rejects.push(reject("Ntry/ValDt", reason));
            return;
        }
    };
    let booked_on = match e.booked.as_deref().map(iso_date).transpose() {
        Ok(Some(d)) => d,
        Ok(None) => match value_date {
            Some(d) => d,
            None => {
                statement
                    .rejects
                    .push(reject("Ntry/BookgDt", "no booking date".to_string()));
                return;
            }
        },
        Err(reason) => {
            statement.rejects.push(reject("Ntry/BookgDt", reason));
            return;
        }
    };

    let credit = |tx: Option<&Tx>, amount: Money, reference: Option<String>| StatementCredit {
        line: e.ordinal,
        booked_on,
        value_date,
        amount,
        narration: narration(tx, e.additional.as_deref()),
        bank_reference: reference,
        counterparty: tx.and_then(|t| t.debtor.clone().or_else(|| t.ultimate_debtor.clone())),
    };

    if e.txs.len() >= 2 {
        let split: Option<Vec<Money>> = e
            .txs
            .iter()
            .map(
                |t| match read_amount(t.amount.as_ref(), Some(amount.currency())) {
                    Ok(Some(m)) if m.currency() == amount.currency() && m.is_positive() => Some(m),
                    _ => None,
                },
            )
            .collect();
        if let Some(parts) = split {
            let total = parts
                .iter()
                .try_fold(Money::zero(amount.currency()), |acc, m| acc.checked_add(*m));
            if total != Ok(amount) {
                let sum = total.map_or_else(|_| "too much".to_string(), |t| t.to_string());
                statement.rejects.push(reject(
                    "Ntry/NtryDtls/TxDtls/Amt",
                    format!("the transactions add up to {sum} but the entry is {amount}"),
                ));
                return;
            }
            for (i, (tx, part)) in e.txs.iter().zip(parts).enumerate() {
                let reference = tx.reference.clone().or_else(|| {
                    e.reference.as_ref().map(|r| {
                        if i == 0 {
                            r.clone()
                        } else {
                            format!("{r}/{}", i + 1)
                        }
                    })
                });
                statement.credits.push(credit(Some(tx), part, reference));
            }
            return;
        }
        // Transactions without amounts of their own: one credit for the
        // entry, telling all of them.
        let mut joined = credit(None, amount, e.reference.clone());
        let mut text = String::new();
        for tx in &e.txs {
            add_part(&mut text, Some(&narration(Some(tx), None)));
        }
        add_part(&mut text, e.additional.as_deref());
        joined.narration = text;
        let names: Vec<&String> = e.txs.iter().filter_map(|t| t.debtor.as_ref()).collect();
        if names.len() == e.txs.len() && names.windows(2).all(|w| w[0] == w[1]) {
            joined.counterparty = names.first().map(|n| (*n).clone());
        }
        statement.credits.push(joined);
        return;
    }
    let tx = e.txs.first();
    let reference = tx
        .and_then(|t| t.reference.clone())
        .or_else(|| e.reference.clone());
    statement.credits.push(credit(tx, amount, reference));
}

/// An `Amt` element's value in its `Ccy`. `expected` only serves when the
/// attribute is missing (a transaction amount in the entry's currency).
fn read_amount(
    amount: Option<&(String, Option<String>)>,
    expected: Option<Currency>,
) -> Result<Option<Money>, String> {
    let Some((value, ccy)) = amount else {
        return Ok(None);
    };
    let currency = match (ccy, expected) {
        (Some(code), _) => Currency::from_code(code).map_err(|e| e.to_string())?,
        (None, Some(c)) => c,
        (None, None) => return Err(format!("`{value}` has no Ccy attribute")),
    };
    let money = parse_machine_amount(value, '.', currency)?;
    if money.is_zero() {
        return Err("the amount is zero".to_string());
    }
    Ok(Some(money))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn doc(version: &str, entries: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-06T09:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>S1</Id>
      <Acct><Id><Othr><Id>50100123456789</Id></Othr></Id><Ccy>INR</Ccy></Acct>
      {entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>"#
        )
    }

    fn entry(amount: &str, ind: &str, status: &str, details: &str) -> String {
        format!(
            r#"<Ntry><Amt Ccy="INR">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>{status}
<BookgDt><Dt>2026-12-05</Dt></BookgDt><ValDt><DtTm>2026-12-05T10:00:00+05:30</DtTm></ValDt>
<AcctSvcrRef>REF-{amount}</AcctSvcrRef><BkTxCd/>{details}</Ntry>"#
        )
    }

    fn read_doc(text: &str) -> Result<Statement, StatementError> {
        read("s.xml", text)
    }

    #[test]
    fn status_element_of_both_generations() {
        let text = doc(
            "08",
            &[
                entry("1.00", "CRDT", "<Sts><Cd>BOOK</Cd></Sts>", ""),
                entry("2.00", "CRDT", "<Sts><Cd>PDNG</Cd></Sts>", ""),
                entry("3.00", "CRDT", "<Sts>BOOK</Sts>", ""),
                entry("4.00", "CRDT", "<Sts>INFO</Sts>", ""),
                entry("5.00", "DBIT", "<Sts>BOOK</Sts>", ""),
            ]
            .concat(),
        );
        let s = read_doc(&text).unwrap();
        let lines: Vec<usize> = s.credits.iter().map(|c| c.line).collect();
        assert_eq!(lines, vec![1, 3]);
        assert_eq!(s.pending_skipped, 2);
        assert_eq!(s.debits_skipped, 1);
        assert_eq!(s.account.as_deref(), Some("50100123456789"));
        assert_eq!(s.credits[0].value_date, Some(date(2026, 12, 5)));
        assert_eq!(s.credits[0].bank_reference.as_deref(), Some("REF-1.00"));
    }

    #[test]
    fn remittance_parts_and_entities() {
        let details = r#"<NtryDtls><TxDtls>
<Refs><EndToEndId>E2E-7</EndToEndId></Refs>
<RltdPties><Dbtr><Pty><Nm>Acme &amp; Sons</Nm></Pty></Dbtr></RltdPties>
<RmtInf><Ustrd>PAYMENT FOR</Ustrd><Ustrd>INV-0042 &#x26; INV-0043</Ustrd>
<Strd><CdtrRefInf><Ref>RF18INV0042</Ref></CdtrRefInf></Strd></RmtInf>
</TxDtls></NtryDtls>"#;
        let text = doc(
            "08",
            &entry("10.00", "CRDT", "<Sts><Cd>BOOK</Cd></Sts>", details),
        );
        let s = read_doc(&text).unwrap();
        let c = &s.credits[0];
        assert_eq!(
            c.narration,
            "PAYMENT FOR INV-0042 & INV-0043 RF18INV0042 E2E-7"
        );
        assert_eq!(c.counterparty.as_deref(), Some("Acme & Sons"));
    }

    #[test]
    fn split_entries_need_amounts_that_add_up() {
        let tx = |amount: &str, text: &str| {
            format!(
                r#"<TxDtls><AmtDtls><TxAmt><Amt Ccy="INR">{amount}</Amt></TxAmt></AmtDtls><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"#
            )
        };
        let good = format!(
            "<NtryDtls>{}{}</NtryDtls>",
            tx("4.00", "A"),
            tx("6.00", "B")
        );
        let bad = format!(
            "<NtryDtls>{}{}</NtryDtls>",
            tx("4.00", "A"),
            tx("5.00", "B")
        );
        let none = "<NtryDtls><TxDtls><RmtInf><Ustrd>C</Ustrd></RmtInf></TxDtls><TxDtls><RmtInf><Ustrd>D</Ustrd></RmtInf></TxDtls></NtryDtls>";
        let text = doc(
            "02",
            &[
                entry("10.00", "CRDT", "<Sts>BOOK</Sts>", &good),
                entry("10.00", "CRDT", "<Sts>BOOK</Sts>", &bad),
                entry("7.00", "CRDT", "<Sts>BOOK</Sts>", none),
            ]
            .concat(),
        );
        let s = read_doc(&text).unwrap();
        let got: Vec<(usize, i64, &str, Option<&str>)> = s
            .credits
            .iter()
            .map(|c| {
                (
                    c.line,
                    c.amount.minor(),
                    c.narration.as_str(),
                    c.bank_reference.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 400, "A", Some("REF-10.00")),
                (1, 600, "B", Some("REF-10.00/2")),
                (3, 700, "C D", Some("REF-7.00")),
            ]
        );
        assert_eq!(s.rejects.len(), 1);
        assert_eq!(s.rejects[0].line, 2);
        assert!(
            s.rejects[0].raw.starts_with("<Ntry>"),
            "{}",
            s.rejects[0].raw
        );
        assert!(s.rejects[0].raw.ends_with("</Ntry>"));
    }

    #[test]
    fn bad_entries_are_rejected_alone() {
        let text = doc(
            "02",
            &[
                entry("1,00", "CRDT", "<Sts>BOOK</Sts>", ""),
                entry("2.00", "XXXX", "<Sts>BOOK</Sts>", ""),
                entry("3.00", "CRDT", "<Sts>BOOK</Sts>", "").replace("2026-12-05<", "2026-13-05<"),
                entry("4.00", "CRDT", "<Sts>BOOK</Sts>", "").replace("INR", "ZZZ"),
                entry("5.00", "CRDT", "<Sts>BOOK</Sts>", ""),
            ]
            .concat(),
        );
        let s = read_doc(&text).unwrap();
        let rejects: Vec<(usize, &str)> = s
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (1, "Ntry/Amt"),
                (2, "Ntry/CdtDbtInd"),
                (3, "Ntry/BookgDt"),
                (4, "Ntry/Amt")
            ]
        );
        assert_eq!(s.credits.len(), 1);
        assert_eq!(s.credits[0].line, 5);
    }

    #[test]
    fn whole_file_failures() {
        let broken =
            doc("02", &entry("1.00", "CRDT", "<Sts>BOOK</Sts>", "")).replace("</Acct>", "");
        assert!(matches!(read_doc(&broken), Err(StatementError::Xml { .. })));
        let cut = &doc("02", "")[..200];
        assert!(matches!(read_doc(cut), Err(StatementError::Xml { .. })));
        let camt054 = doc("02", "").replace("camt.053.001.02", "camt.054.001.02");
        assert_eq!(
            read_doc(&camt054).unwrap_err(),
            StatementError::NotAStatement {
                file: "s.xml".into(),
                format: StatementFormat::Camt053,
                reason: "the namespace `urn:iso:std:iso:20022:tech:xsd:camt.054.001.02` is a camt.054 message, not camt.053".into()
            }
        );
        assert!(matches!(
            read_doc("<html><body/></html>"),
            Err(StatementError::NotAStatement { .. })
        ));
        assert!(matches!(
            read_doc("<Document xmlns=\"x\"><Other/></Document>"),
            Err(StatementError::NotAStatement { .. })
        ));
    }
}
