//! Bank statements in: each credit is matched to open invoices
//! (`tagada_payments::statement`) and the sure matches are recorded as
//! payments; suggestions, unmatched credits, duplicates and unreadable rows
//! are reported, never guessed.
//!
//! A credit's payment reference is its bank reference (UTR, cheque number,
//! `AcctSvcrRef`); one credit paying several invoices records one payment
//! per invoice, `"<reference> for <invoice>"`. A credit without a bank
//! reference gets `stmt:` and a hash of its date, amount and narration, so
//! importing the same file again records nothing new.

use std::collections::HashSet;

use serde::Serialize;
use sha2::Digest;
use tagada_core::ledger::{InvoiceStatus, PaymentMethod};
use tagada_core::{InvoiceId, Money};
use tagada_payments::statement::{
    MatchOutcome, StatementCredit, StatementError, StatementOptions, StatementReject,
    match_credits, read_statement,
};
use tagada_store::{BuyerFilter, InvoiceFilter, NewPayment};

use crate::payments::{PayContext, PayError, record_payment};

/// Separates a bank reference from the invoice it pays, when one credit
/// pays several.
const FOR: &str = " for ";

/// What happened to one credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditReport {
    pub line: usize,
    pub booked_on: jiff::civil::Date,
    pub amount: Money,
    pub narration: String,
    pub bank_reference: Option<String>,
    pub outcome: MatchOutcome,
    /// Payments recorded for it (none for a dry run, a suggestion, an
    /// unmatched credit or a duplicate).
    pub recorded: Vec<RecordedPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedPayment {
    pub invoice: InvoiceId,
    pub number: String,
    pub amount: Money,
    pub status_after: InvoiceStatus,
    /// Why a person should look (overpaid, other currency...).
    pub flag: Option<String>,
    /// The reference was recorded before: nothing changed.
    pub duplicate: bool,
}

/// A whole statement's import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementReport {
    pub file: String,
    pub format: String,
    pub account: Option<String>,
    pub credits: Vec<CreditReport>,
    pub debits_skipped: usize,
    pub pending_skipped: usize,
    pub rejects: Vec<StatementReject>,
    pub dry_run: bool,
}

impl StatementReport {
    /// Credits by outcome: (matched, suggested, unmatched, duplicate).
    pub fn tally(&self) -> (usize, usize, usize, usize) {
        let mut t = (0, 0, 0, 0);
        for c in &self.credits {
            match c.outcome {
                MatchOutcome::Reference { .. }
                | MatchOutcome::References { .. }
                | MatchOutcome::BuyerAmount { .. } => t.0 += 1,
                MatchOutcome::Suggestion { .. } => t.1 += 1,
                MatchOutcome::Unmatched => t.2 += 1,
                MatchOutcome::Duplicate { .. } => t.3 += 1,
            }
        }
        t
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error(transparent)]
    Pay(#[from] PayError),
}

impl From<tagada_store::StoreError> for BankError {
    fn from(e: tagada_store::StoreError) -> Self {
        BankError::Pay(PayError::Store(e))
    }
}

/// The reference a credit's payment is recorded under.
pub fn credit_reference(c: &StatementCredit) -> String {
    match c.bank_reference.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() && r.chars().any(|ch| ch != '0') => r.to_string(),
        _ => {
            let h = sha2::Sha256::digest(
                format!("{}|{}|{}", c.booked_on, c.amount, c.narration.trim()).as_bytes(),
            );
            format!("stmt:{}", hex::encode(&h[..8]))
        }
    }
}

/// Reads `bytes` (named `file` in messages), matches every credit against
/// the open invoices, and records the sure matches unless `dry_run`.
pub async fn import_statement(
    ctx: &PayContext<'_>,
    file: &str,
    bytes: &[u8],
    opts: &StatementOptions,
    dry_run: bool,
) -> Result<StatementReport, BankError> {
    let statement = read_statement(file, bytes, opts)?;
    let store = ctx.store;
    let open: Vec<_> = store
        .list_invoices(&InvoiceFilter {
            statuses: vec![
                InvoiceStatus::Pending,
                InvoiceStatus::InProcess,
                InvoiceStatus::PartiallyPaid,
                InvoiceStatus::Disputed,
            ],
            ..Default::default()
        })
        .await?;
    let buyers = store.list_buyers(&BuyerFilter::default()).await?;
    let already: HashSet<String> = store
        .list_payments(None)
        .await?
        .into_iter()
        .filter(|p| p.method == PaymentMethod::BankTransfer)
        .filter_map(|p| p.reference)
        .map(|r| match r.split_once(FOR) {
            Some((base, _)) => base.to_string(),
            None => r,
        })
        .collect();
    let matches = match_credits(&statement.credits, &open, &buyers, &already);
    let now = ctx.clock.now();
    let mut credits = Vec::with_capacity(matches.len());
    for (credit, m) in statement.credits.iter().zip(matches) {
        let reference = credit_reference(credit);
        // the day the money arrived, at noon where the seller is
        let zone = jiff::tz::TimeZone::get(ctx.planner.home_zone_name())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let received_at = credit
            .value_date
            .unwrap_or(credit.booked_on)
            .at(12, 0, 0, 0)
            .to_zoned_datetime(zone)
            .map(|z| z.timestamp())
            .unwrap_or(now);
        // what to record: (invoice, number, amount, reference)
        let to_record: Vec<(InvoiceId, String, Money, String)> = match &m.outcome {
            MatchOutcome::Reference { invoice, number }
            | MatchOutcome::BuyerAmount {
                invoice, number, ..
            } => vec![(*invoice, number.clone(), credit.amount, reference.clone())],
            MatchOutcome::References { invoices } => invoices
                .iter()
                .filter_map(|named| {
                    let inv = open.iter().find(|i| i.id == named.invoice)?;
                    Some((
                        named.invoice,
                        named.number.clone(),
                        inv.outstanding(),
                        format!("{reference}{FOR}{}", named.number),
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut recorded = Vec::new();
        if !dry_run {
            for (invoice, number, amount, reference) in to_record {
                let out = record_payment(
                    ctx,
                    &NewPayment {
                        invoice_number: None,
                        invoice_id: Some(invoice),
                        buyer_id: None,
                        amount,
                        received_at,
                        method: PaymentMethod::BankTransfer,
                        reference: Some(reference),
                    },
                )
                .await?;
                recorded.push(RecordedPayment {
                    invoice,
                    number,
                    amount,
                    status_after: out
                        .invoice
                        .as_ref()
                        .map(|i| i.status)
                        .unwrap_or(InvoiceStatus::Pending),
                    flag: out.payment.flag.clone(),
                    duplicate: out.duplicate,
                });
            }
        }
        credits.push(CreditReport {
            line: credit.line,
            booked_on: credit.booked_on,
            amount: credit.amount,
            narration: credit.narration.clone(),
            bank_reference: credit.bank_reference.clone(),
            outcome: m.outcome,
            recorded,
        });
    }
    Ok(StatementReport {
        file: file.to_string(),
        format: statement.format.to_string(),
        account: statement.account.clone(),
        credits,
        debits_skipped: statement.debits_skipped,
        pending_skipped: statement.pending_skipped,
        rejects: statement.rejects,
        dry_run,
    })
}
