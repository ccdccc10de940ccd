//! Matching statement credits to open invoices. Pure: the same inputs give
//! the same answer, and nothing is ever recorded from here.
//!
//! Credits are taken in file order; each gets one [`CreditMatch`], in the
//! same order as the credits given. For each credit:
//!
//! 1. **Duplicate**: its bank reference (compared without case or spaces)
//!    is in `already_recorded`, or an earlier credit of the file has it;
//!    without a bank reference, an earlier credit has the same booking date,
//!    amount and narration.
//! 2. **Reference**: the narration names exactly one open invoice by number
//!    (see *Invoice numbers* below) in the credit's currency. The amount may
//!    differ (part payments, overpayments are the application's to flag).
//!    Named in another currency → a suggestion saying so. When it names
//!    several open invoices, the credit is [`MatchOutcome::References`] if
//!    its amount equals their combined outstanding (one transfer settling
//!    them all), a suggestion listing them otherwise.
//! 3. **Buyer and amount**: no open invoice's number named, nor one a
//!    character off (see 4), but the remitter is a known buyer (the
//!    credit's counterparty, else a buyer's name written as whole words in
//!    the narration; names compared without case, punctuation, a leading
//!    `M/S` or trailing `Pvt Ltd`, `Private Limited`, `LLP`, `& Co`, even
//!    cut short as banks do: `ACME TRADERS PRIVA`) and exactly one of their
//!    open invoices is outstanding for exactly this amount in this
//!    currency. Several → a suggestion listing them.
//! 4. **Suggestions** (never recorded automatically), each with why:
//!    a number in the narration one character off an open invoice's (one
//!    digit or letter changed, added or dropped: `INV-0043` for `INV-0042`,
//!    `INV-12` for `INV-1`), or equal to it but for leading zeros
//!    (`INV 42` for `INV-0042`); when no buyer is recognised, the open
//!    invoices (at most [`MAX_AMOUNT_SUGGESTIONS`]) whose outstanding equals
//!    the amount; when a buyer is recognised, their invoices whose
//!    outstanding is within 1% of the amount.
//! 5. Otherwise **Unmatched**: nothing is guessed.
//!
//! Each automatic match (Reference, References, BuyerAmount) lowers the
//! outstanding of its invoices by the credit's amount for the credits after
//! it, so two equal transfers cannot both settle one invoice by amount.
//! Paid and cancelled invoices among `open_invoices` are ignored.
//!
//! # Invoice numbers
//!
//! A number is read as runs of ASCII letters and of digits, separators
//! dropped and letters upper-cased: `INV-0042`, `inv 0042`, `INV/0042` and
//! `INV0042` are all `INV`,`0042`. It is named in a narration when the same
//! runs follow each other there (separated by at most three of ` -/._#:\`)
//! as whole tokens: the narration's run before and after must not be glued
//! to it (`XINV0042`, `INV-0042A`), and a digit run never continues across
//! a single `-`, `/`, `.`, `_` or `\` into another digit run (`INV-1-2`,
//! `2026/0042` are longer numbers). Runs compare exactly, so `INV-1` never
//! matches `INV-12` and `INV-042` is not `INV-0042`. When one named number
//! lies inside another named one (`X-INV-0042` and `INV-0042` both open),
//! only the longer counts.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tagada_core::ledger::{Buyer, Invoice};
use tagada_core::{BuyerId, InvoiceId, Money};

use super::StatementCredit;

/// The most invoices suggested because their outstanding equals an amount
/// paid by an unknown remitter; beyond it the amount says nothing.
pub const MAX_AMOUNT_SUGGESTIONS: usize = 5;

/// What one credit matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditMatch {
    /// The credit's [`StatementCredit::line`].
    pub line: usize,
    pub outcome: MatchOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatchOutcome {
    /// The narration names exactly one open invoice (by number).
    Reference {
        invoice: InvoiceId,
        number: String,
    },
    /// The narration names several open invoices and the amount is exactly
    /// their combined outstanding: one transfer paying them all, each in
    /// full.
    References {
        invoices: Vec<NamedInvoice>,
    },
    /// No number found, but the remitter is a known buyer and exactly one of
    /// their open invoices is outstanding for exactly this amount (same
    /// currency).
    BuyerAmount {
        invoice: InvoiceId,
        number: String,
        buyer: BuyerId,
    },
    /// Something close, for a person to confirm: never recorded
    /// automatically.
    Suggestion {
        candidates: Vec<Suggested>,
    },
    Unmatched,
    /// The same credit twice in this file, or its bank reference is already
    /// recorded.
    Duplicate {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedInvoice {
    pub invoice: InvoiceId,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggested {
    pub invoice: InvoiceId,
    pub number: String,
    pub why: String,
}

// ---------------------------------------------------------------------------
// Runs and invoice numbers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alpha,
    Digit,
}

/// A maximal run of ASCII letters or digits, upper-cased, with its byte
/// span in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    kind: Kind,
    text: String,
    start: usize,
    end: usize,
}

fn runs(s: &str) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for (i, ch) in s.char_indices() {
        let kind = if ch.is_ascii_alphabetic() {
            Kind::Alpha
        } else if ch.is_ascii_digit() {
            Kind::Digit
        } else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.kind == kind && last.end == i => {
                last.text.push(ch.to_ascii_uppercase());
                last.end = i + 1;
            }
            _ => out.push(Run {
                kind,
                text: ch.to_ascii_uppercase().to_string(),
                start: i,
                end: i + 1,
            }),
        }
    }
    out
}

/// What may sit between the runs of a written number: nothing (`INV0042`)
/// or up to three spaces and `-/._#:\` (`INV / 0042`, `inv # 0042`).
fn inner_gap(gap: &str) -> bool {
    gap.len() <= 3
        && gap
            .chars()
            .all(|c| c.is_whitespace() || "-/._#:\\".contains(c))
}

/// Whether a run beside a number continues it: glued to it, or a digit run
/// joined to a digit run by a single `-`, `/`, `.`, `_` or `\`.
fn continues(gap: &str, outside: Kind, inside: Kind) -> bool {
    gap.is_empty()
        || (outside == Kind::Digit
            && inside == Kind::Digit
            && gap.len() == 1
            && "-/._\\".contains(gap))
}

/// Whether `runs[at..at + len]` stands as a whole token in `text`.
fn whole(text: &str, runs: &[Run], at: usize, len: usize) -> bool {
    let first = &runs[at];
    let last = &runs[at + len - 1];
    if at > 0 {
        let before = &runs[at - 1];
        if continues(&text[before.end..first.start], before.kind, first.kind) {
            return false;
        }
    }
    if let Some(after) = runs.get(at + len)
        && continues(&text[last.end..after.start], after.kind, last.kind)
    {
        return false;
    }
    runs[at..at + len]
        .windows(2)
        .all(|w| inner_gap(&text[w[0].end..w[1].start]))
}

/// An invoice number as runs (kind, upper-cased text).
fn number_key(number: &str) -> Vec<(Kind, String)> {
    runs(number).into_iter().map(|r| (r.kind, r.text)).collect()
}

/// Whether `key` is written at run `at` of `text` as a whole token.
fn fits_at(text: &str, text_runs: &[Run], at: usize, key: &[(Kind, String)]) -> bool {
    !key.is_empty()
        && at + key.len() <= text_runs.len()
        && text_runs[at..at + key.len()]
            .iter()
            .zip(key)
            .all(|(r, (k, t))| r.kind == *k && r.text == *t)
        && whole(text, text_runs, at, key.len())
}

/// From numbers found at run spans, those not lying inside a longer one
/// found, in the order they appear, each once.
fn outermost(found: &[(usize, (usize, usize))]) -> Vec<usize> {
    let mut kept: Vec<(usize, (usize, usize))> = found
        .iter()
        .filter(|(_, (s, e))| {
            !found
                .iter()
                .any(|(_, (s2, e2))| s2 <= s && e <= e2 && (e2 - s2) > (e - s))
        })
        .copied()
        .collect();
    kept.sort_by_key(|(i, (s, _))| (*s, *i));
    let mut out = Vec::new();
    for (i, _) in kept {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The invoice numbers among `numbers` that `narration` names, in the order
/// they appear, each once; a number lying inside a longer named one is left
/// out. The rules are in the module docs.
pub fn invoice_numbers_in<'a>(narration: &str, numbers: &[&'a str]) -> Vec<&'a str> {
    let text_runs = runs(narration);
    let keys: Vec<Vec<(Kind, String)>> = numbers.iter().map(|n| number_key(n)).collect();
    let mut found = Vec::new();
    for at in 0..text_runs.len() {
        for (i, key) in keys.iter().enumerate() {
            if fits_at(narration, &text_runs, at, key) {
                found.push((i, (at, at + key.len())));
            }
        }
    }
    outermost(&found).into_iter().map(|i| numbers[i]).collect()
}

/// Levenshtein distance, for short strings.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The key with digit runs stripped of leading zeros (`INV 42` and
/// `INV-0042` share it).
fn unpadded(key: &[(Kind, String)]) -> String {
    key.iter()
        .map(|(k, t)| match k {
            Kind::Digit => {
                let s = t.trim_start_matches('0');
                if s.is_empty() { "0" } else { s }
            }
            Kind::Alpha => t.as_str(),
        })
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

// ---------------------------------------------------------------------------
// Buyer names

/// Words dropped from the end of a name: legal forms.
const SUFFIXES: &[&str] = &[
    "PVT",
    "PRIVATE",
    "PRIV",
    "LTD",
    "LIMITED",
    "LLP",
    "CO",
    "COMPANY",
    "INC",
    "CORP",
    "CORPORATION",
    "AND",
];

/// A name's words without case, punctuation, leading `M/S` or trailing
/// legal forms (also cut short: `PRIVA`, `LIMIT`).
fn name_core(name: &str) -> Vec<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if words.first().is_some_and(|w| w == "MESSRS" || w == "MS") {
        words.remove(0);
    } else if words.len() >= 2 && words[0] == "M" && words[1] == "S" {
        words.drain(..2);
    }
    while let Some(last) = words.last() {
        let cut_short = last.len() >= 3
            && ["PRIVATE", "LIMITED", "COMPANY"]
                .iter()
                .any(|s| s.starts_with(last.as_str()));
        if words.len() > 1 && (SUFFIXES.contains(&last.as_str()) || cut_short) {
            words.pop();
        } else {
            break;
        }
    }
    words
}

#[derive(Debug)]
struct KnownName {
    buyer: BuyerId,
    core: Vec<String>,
}

/// Buyers recognised as the remitter: by the counterparty when it names
/// one, else by names written in the narration (the longest wins).
fn remitters(credit: &StatementCredit, names: &[KnownName]) -> Vec<BuyerId> {
    let mut out = Vec::new();
    if let Some(cp) = &credit.counterparty {
        let core = name_core(cp);
        for n in names {
            if n.core == core && !out.contains(&n.buyer) {
                out.push(n.buyer);
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    let words: Vec<String> = name_core_words(&credit.narration);
    let mut best = 0;
    for n in names {
        let long_enough = n.core.len() > 1 || n.core[0].len() >= 4;
        if !long_enough || n.core.len() < best {
            continue;
        }
        if words.windows(n.core.len()).any(|w| w == n.core.as_slice()) {
            if n.core.len() > best {
                best = n.core.len();
                out.clear();
            }
            if !out.contains(&n.buyer) {
                out.push(n.buyer);
            }
        }
    }
    out
}

fn name_core_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

// ---------------------------------------------------------------------------
// Matching

/// One invoice as the matcher sees it.
#[derive(Debug)]
struct Open<'a> {
    invoice: &'a Invoice,
    key: Vec<(Kind, String)>,
    /// Outstanding minor units left after earlier credits of this run.
    remaining: i64,
}

impl Open<'_> {
    fn remaining(&self) -> Money {
        Money::from_minor(self.remaining, self.invoice.currency())
    }
}

/// Suggestions gathered for one credit, one per invoice, reasons joined.
#[derive(Debug, Default)]
struct Suggestions(Vec<Suggested>);

impl Suggestions {
    fn add(&mut self, invoice: &Invoice, why: String) {
        match self.0.iter_mut().find(|s| s.invoice == invoice.id) {
            Some(s) => {
                if !s.why.contains(&why) {
                    s.why.push_str("; ");
                    s.why.push_str(&why);
                }
            }
            None => self.0.push(Suggested {
                invoice: invoice.id,
                number: invoice.number.clone(),
                why,
            }),
        }
    }
}

fn normalize_reference(r: &str) -> String {
    r.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// Matches each credit to open invoices; see the module docs for the
/// rules. The result has one entry per credit, in the same order.
pub fn match_credits(
    credits: &[StatementCredit],
    open_invoices: &[Invoice],
    buyers: &[Buyer],
    already_recorded: &HashSet<String>,
) -> Vec<CreditMatch> {
    let mut matcher = Matcher::new(open_invoices, buyers, already_recorded);
    credits
        .iter()
        .map(|credit| CreditMatch {
            line: credit.line,
            outcome: matcher.outcome(credit),
        })
        .collect()
}

/// The ledger indexed for matching, and what the credits so far used up.
#[derive(Debug)]
struct Matcher<'a> {
    open: Vec<Open<'a>>,
    /// Each open invoice's number glued (`INV0042`), by index into `open`.
    flat_keys: Vec<String>,
    /// Open invoices by the first run of their number.
    by_first: HashMap<String, Vec<usize>>,
    /// Open invoices by their glued number and its one-deletion variants.
    fuzzy: HashMap<String, Vec<usize>>,
    /// Open invoices by their number without leading zeros.
    by_unpadded: HashMap<String, Vec<usize>>,
    names: Vec<KnownName>,
    buyer_names: HashMap<BuyerId, &'a str>,
    recorded: HashSet<String>,
    seen_refs: HashMap<String, usize>,
    seen_plain: HashMap<(jiff::civil::Date, Money, String), usize>,
}

impl<'a> Matcher<'a> {
    fn new(
        open_invoices: &'a [Invoice],
        buyers: &'a [Buyer],
        already_recorded: &HashSet<String>,
    ) -> Matcher<'a> {
        let open: Vec<Open<'a>> = open_invoices
            .iter()
            .filter(|i| !i.status.is_terminal())
            .map(|i| Open {
                invoice: i,
                key: number_key(&i.number),
                remaining: i.outstanding().minor(),
            })
            .filter(|o| !o.key.is_empty())
            .collect();
        let flat_keys: Vec<String> = open.iter().map(|o| flat(&o.key)).collect();
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut fuzzy: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_unpadded: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, o) in open.iter().enumerate() {
            by_first.entry(o.key[0].1.clone()).or_default().push(i);
            by_unpadded.entry(unpadded(&o.key)).or_default().push(i);
            let k = &flat_keys[i];
            if k.len() >= 4 {
                for variant in deletions(k).into_iter().chain([k.clone()]) {
                    fuzzy.entry(variant).or_default().push(i);
                }
            }
        }
        let names = buyers
            .iter()
            .flat_map(|b| {
                [Some(b.name.as_str()), b.company.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(|n| KnownName {
                        buyer: b.id,
                        core: name_core(n),
                    })
            })
            .filter(|n| n.core.concat().len() >= 3)
            .collect();
        Matcher {
            open,
            flat_keys,
            by_first,
            fuzzy,
            by_unpadded,
            names,
            buyer_names: buyers.iter().map(|b| (b.id, b.name.as_str())).collect(),
            recorded: already_recorded
                .iter()
                .map(|r| normalize_reference(r))
                .collect(),
            seen_refs: HashMap::new(),
            seen_plain: HashMap::new(),
        }
    }

    fn buyer_name(&self, id: BuyerId) -> &'a str {
        self.buyer_names
            .get(&id)
            .copied()
            .unwrap_or("unknown buyer")
    }

    fn outcome(&mut self, credit: &StatementCredit) -> MatchOutcome {
        if let Some(reason) = self.duplicate(credit) {
            return MatchOutcome::Duplicate { reason };
        }
        let mut suggestions = Suggestions::default();
        if let Some(outcome) = self.by_number(credit, &mut suggestions) {
            return outcome;
        }
        let payers = remitters(credit, &self.names);
        // Numbers one character off come first: when the narration names a
        // number that is not open, an amount that fits is not enough.
        let odd_number = self.number_near_misses(credit, &mut suggestions);
        if let Some(outcome) = self.by_buyer_amount(credit, &payers, odd_number, &mut suggestions) {
            return outcome;
        }
        self.amount_near_misses(credit, &payers, &mut suggestions);
        if suggestions.0.is_empty() {
            MatchOutcome::Unmatched
        } else {
            MatchOutcome::Suggestion {
                candidates: suggestions.0,
            }
        }
    }

    /// Step 1: why the credit is a duplicate, if it is one.
    fn duplicate(&mut self, credit: &StatementCredit) -> Option<String> {
        match credit.bank_reference.as_deref().map(normalize_reference) {
            Some(r) if !r.is_empty() => {
                if self.recorded.contains(&r) {
                    return Some(format!("bank reference {r} is already recorded"));
                }
                if let Some(line) = self.seen_refs.get(&r) {
                    return Some(format!("bank reference {r} is also on line {line}"));
                }
                self.seen_refs.insert(r, credit.line);
            }
            _ => {
                let key = (
                    credit.booked_on,
                    credit.amount,
                    name_core_words(&credit.narration).join(" "),
                );
                if let Some(line) = self.seen_plain.get(&key) {
                    return Some(format!(
                        "same date, amount and narration as line {line}, and no bank reference"
                    ));
                }
                self.seen_plain.insert(key, credit.line);
            }
        }
        None
    }

    /// The open invoices the narration names (see [`invoice_numbers_in`]).
    fn named(&self, text: &str, text_runs: &[Run]) -> Vec<usize> {
        let mut found = Vec::new();
        for (at, run) in text_runs.iter().enumerate() {
            for &i in self.by_first.get(&run.text).into_iter().flatten() {
                let key = &self.open[i].key;
                if fits_at(text, text_runs, at, key) {
                    found.push((i, (at, at + key.len())));
                }
            }
        }
        outermost(&found)
    }

    /// Step 2: invoice numbers in the narration.
    fn by_number(
        &mut self,
        credit: &StatementCredit,
        suggestions: &mut Suggestions,
    ) -> Option<MatchOutcome> {
        let amount = credit.amount;
        let text_runs = runs(&credit.narration);
        let named = self.named(&credit.narration, &text_runs);
        match named.as_slice() {
            [] => None,
            [i] => {
                let o = &mut self.open[*i];
                if o.invoice.currency() != amount.currency() {
                    suggestions.add(
                        o.invoice,
                        format!(
                            "the narration names {}, but the credit is in {} and the invoice in {}",
                            o.invoice.number,
                            amount.currency(),
                            o.invoice.currency()
                        ),
                    );
                    return Some(MatchOutcome::Suggestion {
                        candidates: std::mem::take(&mut suggestions.0),
                    });
                }
                o.remaining = (o.remaining - amount.minor()).max(0);
                Some(MatchOutcome::Reference {
                    invoice: o.invoice.id,
                    number: o.invoice.number.clone(),
                })
            }
            several => {
                let list = several
                    .iter()
                    .map(|&i| self.open[i].invoice.number.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let same_currency = several
                    .iter()
                    .all(|&i| self.open[i].invoice.currency() == amount.currency());
                let total: i64 = several.iter().map(|&i| self.open[i].remaining).sum();
                if same_currency && total == amount.minor() {
                    for &i in several {
                        self.open[i].remaining = 0;
                    }
                    return Some(MatchOutcome::References {
                        invoices: several
                            .iter()
                            .map(|&i| NamedInvoice {
                                invoice: self.open[i].invoice.id,
                                number: self.open[i].invoice.number.clone(),
                            })
                            .collect(),
                    });
                }
                let why = if same_currency {
                    format!(
                        "the narration names {list}; {amount} is not their combined outstanding {}",
                        Money::from_minor(total, amount.currency())
                    )
                } else {
                    format!(
                        "the narration names {list}, not all in {}",
                        amount.currency()
                    )
                };
                for &i in several {
                    suggestions.add(self.open[i].invoice, why.clone());
                }
                Some(MatchOutcome::Suggestion {
                    candidates: std::mem::take(&mut suggestions.0),
                })
            }
        }
    }

    /// Step 3: a known remitter and exactly one invoice of this amount.
    fn by_buyer_amount(
        &mut self,
        credit: &StatementCredit,
        payers: &[BuyerId],
        odd_number: bool,
        suggestions: &mut Suggestions,
    ) -> Option<MatchOutcome> {
        let amount = credit.amount;
        if payers.is_empty() {
            return None;
        }
        let exact: Vec<usize> = (0..self.open.len())
            .filter(|&i| {
                payers.contains(&self.open[i].invoice.buyer_id)
                    && self.open[i].remaining() == amount
            })
            .collect();
        if let [i] = exact.as_slice() {
            if odd_number {
                let inv = self.open[*i].invoice;
                suggestions.add(
                    inv,
                    format!(
                        "the only open invoice of {} for exactly {amount}, but the narration names another number",
                        self.buyer_name(inv.buyer_id)
                    ),
                );
                return None;
            }
            let o = &mut self.open[*i];
            o.remaining = 0;
            return Some(MatchOutcome::BuyerAmount {
                invoice: o.invoice.id,
                number: o.invoice.number.clone(),
                buyer: o.invoice.buyer_id,
            });
        }
        for &i in &exact {
            let inv = self.open[i].invoice;
            suggestions.add(
                inv,
                format!(
                    "{} has {} open invoices of exactly {amount}",
                    self.buyer_name(inv.buyer_id),
                    exact.len()
                ),
            );
        }
        None
    }

    /// Step 4a: numbers in the narration one character off an open
    /// invoice's, or equal but for leading zeros. Whether there were any.
    fn number_near_misses(&self, credit: &StatementCredit, suggestions: &mut Suggestions) -> bool {
        let before = suggestions.0.len();
        let amount = credit.amount;
        let text = credit.narration.as_str();
        let text_runs = runs(text);
        for (at, len) in windows(text, &text_runs) {
            let window = &text_runs[at..at + len];
            let written = &text[window[0].start..window[len - 1].end];
            let wkey: Vec<(Kind, String)> =
                window.iter().map(|r| (r.kind, r.text.clone())).collect();
            let wflat = flat(&wkey);
            let mut candidates: Vec<usize> = Vec::new();
            for variant in deletions(&wflat).into_iter().chain([wflat.clone()]) {
                candidates.extend(self.fuzzy.get(&variant).into_iter().flatten());
            }
            candidates.sort_unstable();
            candidates.dedup();
            for i in candidates {
                if edit_distance(wflat.as_bytes(), self.flat_keys[i].as_bytes()) == 1 {
                    let o = &self.open[i];
                    suggestions.add(
                        o.invoice,
                        format!(
                            "`{written}` in the narration is one character off {}{}",
                            o.invoice.number,
                            amount_note(o, amount)
                        ),
                    );
                }
            }
            for &i in self.by_unpadded.get(&unpadded(&wkey)).into_iter().flatten() {
                let o = &self.open[i];
                if o.key != wkey {
                    suggestions.add(
                        o.invoice,
                        format!(
                            "`{written}` in the narration is {} but for leading zeros{}",
                            o.invoice.number,
                            amount_note(o, amount)
                        ),
                    );
                }
            }
        }
        suggestions.0.len() > before
    }

    /// Step 4b: invoices whose outstanding fits the amount.
    fn amount_near_misses(
        &self,
        credit: &StatementCredit,
        payers: &[BuyerId],
        suggestions: &mut Suggestions,
    ) {
        let amount = credit.amount;
        if payers.is_empty() {
            let same: Vec<&Open<'_>> = self
                .open
                .iter()
                .filter(|o| o.remaining() == amount)
                .collect();
            if same.len() <= MAX_AMOUNT_SUGGESTIONS {
                for o in same {
                    suggestions.add(
                        o.invoice,
                        format!(
                            "{amount} is the outstanding of {} ({}), but the remitter is not a known buyer",
                            o.invoice.number,
                            self.buyer_name(o.invoice.buyer_id)
                        ),
                    );
                }
            }
            return;
        }
        for o in &self.open {
            let owed = o.remaining;
            if !payers.contains(&o.invoice.buyer_id)
                || o.invoice.currency() != amount.currency()
                || owed <= 0
                || owed == amount.minor()
            {
                continue;
            }
            let diff = i128::from(amount.minor()) - i128::from(owed);
            // Within 1%: |diff| / owed <= 1 / 100, kept in integers.
            if diff.abs() * 100 <= i128::from(owed) {
                let gap = Money::from_minor(
                    i64::try_from(diff.abs()).unwrap_or(i64::MAX),
                    amount.currency(),
                );
                suggestions.add(
                    o.invoice,
                    format!(
                        "{amount} is within 1% of the {} outstanding on {} ({}): {} by {gap}",
                        o.remaining(),
                        o.invoice.number,
                        self.buyer_name(o.invoice.buyer_id),
                        if diff < 0 { "short" } else { "over" }
                    ),
                );
            }
        }
    }
}

/// ` (outstanding ₹X, the amount paid)` or ` (outstanding ₹X)`.
fn amount_note(o: &Open<'_>, amount: Money) -> String {
    if o.remaining() == amount {
        format!(" (outstanding {}, the amount paid)", o.remaining())
    } else {
        format!(" (outstanding {})", o.remaining())
    }
}

/// A key's runs glued together: `INV0042`.
fn flat(key: &[(Kind, String)]) -> String {
    key.iter().map(|(_, t)| t.as_str()).collect()
}

/// `s` with each one character left out in turn.
fn deletions(s: &str) -> Vec<String> {
    (0..s.len())
        .map(|i| {
            let mut v = s.to_string();
            v.remove(i);
            v
        })
        .collect()
}

/// Spans of one to four runs that could be a written number: whole tokens,
/// holding a digit, at least four characters.
fn windows(text: &str, text_runs: &[Run]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for at in 0..text_runs.len() {
        for len in 1..=4.min(text_runs.len() - at) {
            let window = &text_runs[at..at + len];
            let chars: usize = window.iter().map(|r| r.text.len()).sum();
            let has_digit = window.iter().any(|r| r.kind == Kind::Digit);
            if (4..=24).contains(&chars) && has_digit && whole(text, text_runs, at, len) {
                out.push((at, len));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names_number(narration: &str, number: &str) -> bool {
        !invoice_numbers_in(narration, &[number]).is_empty()
    }

    #[test]
    fn spellings_of_one_number() {
        for narration in [
            "INV-0042",
            "inv 0042",
            "INV/0042",
            "INV0042",
            "Inv.0042",
            "NEFT-HDFCN52026120512345-ACME TRADERS-INV-0042",
            "UPI/634512345678/ACME/acme@okhdfc/INV0042",
            "payment against inv # 0042 thanks",
            "(INV-0042)",
        ] {
            assert!(names_number(narration, "INV-0042"), "{narration}");
        }
    }

    #[test]
    fn never_a_part_of_a_longer_number() {
        for (narration, number) in [
            ("INV-12", "INV-1"),
            ("INV-042", "INV-0042"),
            ("INV 42", "INV-0042"),
            ("INV-00420", "INV-0042"),
            ("INV-10042", "INV-0042"),
            ("INV-0042A", "INV-0042"),
            ("XINV-0042", "INV-0042"),
            ("INV-0042-1", "INV-0042"),
            ("INV-1-2", "INV-1"),
            ("2026/0042", "0042"),
            ("INV0042", "0042"),
            ("IMPS/P2A/634512345678/RAJ/INV 42", "INV-0042"),
            ("INV,0042", "INV-0042"),
        ] {
            assert!(!names_number(narration, number), "{narration} ~ {number}");
        }
        // A separator that does not join digits keeps them apart.
        assert!(names_number("INV-1 2", "INV-1"));
        assert!(names_number("INV-0042/ACME", "INV-0042"));
    }

    #[test]
    fn the_longest_named_number_wins() {
        assert_eq!(
            invoice_numbers_in(
                "X-INV-0042 and INV-0043",
                &["INV-0042", "X-INV-0042", "INV-0043"]
            ),
            vec!["X-INV-0042", "INV-0043"]
        );
        assert_eq!(
            invoice_numbers_in("INV-2 INV-1 inv1", &["INV-1", "INV-2"]),
            vec!["INV-2", "INV-1"]
        );
    }

    #[test]
    fn buyer_name_cores() {
        let core = |s: &str| name_core(s).join(" ");
        assert_eq!(core("Acme Traders Pvt. Ltd."), "ACME TRADERS");
        assert_eq!(core("ACME TRADERS PRIVATE LIMITED"), "ACME TRADERS");
        assert_eq!(core("ACME TRADERS PRIVA"), "ACME TRADERS");
        assert_eq!(core("M/s. Shree Ganesh & Co"), "SHREE GANESH");
        assert_eq!(core("Kaveri Exports LLP"), "KAVERI EXPORTS");
        assert_eq!(core("Limited"), "LIMITED");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance(b"INV0042", b"INV0043"), 1);
        assert_eq!(edit_distance(b"INV12", b"INV1"), 1);
        assert_eq!(edit_distance(b"INV0042", b"INV042"), 1);
        assert_eq!(edit_distance(b"AB", b"BA"), 2);
        assert_eq!(edit_distance(b"", b"ABC"), 3);
    }

    fn number() -> impl Strategy<Value = String> {
        ("[A-Za-z]{0,4}", "[-/ ]{0,1}", "[0-9]{1,6}").prop_map(|(p, s, d)| {
            if p.is_empty() {
                d
            } else {
                format!("{p}{s}{d}")
            }
        })
    }

    proptest! {
        /// A number never names a longer one it is the start of, whatever
        /// surrounds the longer one.
        #[test]
        fn never_matches_a_prefix_of_a_longer_number(
            n in number(),
            ext in prop_oneof![
                "[0-9]{1,3}",
                "[A-Za-z][A-Za-z0-9]{0,2}",
                "[-/._][0-9]{1,3}",
            ],
            before in "[A-Za-z0-9 /]{0,12}[ /-]",
            after in "([ /][A-Za-z0-9 ]{0,12})?",
        ) {
            let longer = format!("{n}{ext}");
            let narration = format!("{before}{longer}{after}");
            // Unless the number also stands alone elsewhere in the text.
            prop_assume!(!names_number(&before, &n));
            prop_assume!(!names_number(&after, &n));
            prop_assert!(!names_number(&narration, &n), "{} in {}", n, narration);
        }

        /// Nor a number it is the end of.
        #[test]
        fn never_matches_a_suffix_of_a_longer_number(
            n in "[0-9]{1,6}",
            pre in prop_oneof!["[0-9]{1,3}", "[0-9]{1,3}[-/._]", "[A-Za-z]{1,3}"],
        ) {
            let narration = format!("NEFT {pre}{n} X");
            prop_assert!(!names_number(&narration, &n), "{} in {}", n, narration);
        }

        /// And a number set apart by spaces or slashes is always found,
        /// however it is spelled.
        #[test]
        fn finds_a_number_set_apart(
            n in number(),
            sep in "[-/ ]{0,1}",
            before in "([A-Za-z0-9]{1,8} )?",
            after in "( [A-Za-z0-9]{1,8})?",
        ) {
            let key = number_key(&n);
            let respelled = key.iter().map(|(_, t)| t.to_ascii_lowercase()).collect::<Vec<_>>().join(&sep);
            let narration = format!("{before}{respelled}{after}");
            prop_assert!(names_number(&narration, &n), "{} in {}", n, narration);
        }
    }
}
