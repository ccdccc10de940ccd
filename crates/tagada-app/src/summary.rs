//! Folding changes into the summary tables, and the report read from them.
//!
//! The database marks every invoice and message whose facts change
//! (triggers; see `tagada_store::summary`). [`refresh_summary`] reads the
//! marked owners' facts and the basis each contributed last, and applies
//! the difference: the sums then equal what the facts give, which the
//! report reads in a few grouped queries ([`summary_report`]) however large
//! the ledger. The dashboard folds pending changes before each overview and
//! `tagada serve`'s worker does so on every pass, so a page seldom has
//! more than a few to fold.

use std::collections::HashMap;

use jiff::civil::Date;
use tagada_core::cadence::PlannerConfig;
use tagada_core::metrics::{
    FetchedSums, InvoiceFacts, SUMMARY_FORMAT, Summary, SummaryBasis, SummaryReport, rep_key,
};
use tagada_core::outbox::OutboxStatus;
use tagada_core::{InvoiceId, OutboxId};
use tagada_store::{Role, Store, SummaryChange, SummaryOwner};

use crate::auth::Principal;
use crate::reports::{Report, ReportError, message_facts};

/// At most this many changes folded for a `tagada report` or an API read:
/// with more waiting (an import, a first build) they read the facts.
const QUICK_FOLD: u64 = 20_000;

/// Owners folded per transaction.
const BATCH: u32 = 5_000;
/// Attempts at a batch another process keeps changing under us.
const RETRIES: u32 = 5;

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// The summary was started over (first use, or another zone or format).
    pub rebuilt: bool,
    /// Owners folded in.
    pub folded: u64,
    /// Summary rows changed.
    pub rows_changed: u64,
    /// Owners still marked when it stopped (its limit reached, or another
    /// process folding the same ones): the figures do not count them yet.
    pub left: u64,
    /// The summary's version when it stopped (bumped by every fold that
    /// changed something): what is kept from the tables can be keyed on it.
    pub version: i64,
}

/// Folds pending changes into the summary tables (starting them over first
/// when they were built for another zone or format, or never), at most
/// `limit` owners when given. Without a limit it folds what was pending at
/// the start and, up to as many again, what is marked meanwhile, so a busy
/// ledger cannot keep it going forever. When another process keeps folding
/// the same owners it stops and leaves them to that process.
pub async fn refresh_summary(
    store: &dyn Store,
    planner: &PlannerConfig,
    limit: Option<u64>,
) -> Result<RefreshOutcome, ReportError> {
    let mut outcome = RefreshOutcome::default();
    let zone_name = planner.home_zone_name();
    let meta = store.summary_meta().await?;
    let pending = match &meta {
        Some(m) if m.zone == zone_name && m.format == SUMMARY_FORMAT => m.pending,
        _ => {
            store.summary_reset(zone_name, SUMMARY_FORMAT).await?;
            outcome.rebuilt = true;
            store.summary_meta().await?.map_or(0, |m| m.pending)
        }
    };
    let mut budget = match limit {
        Some(l) => l,
        None => pending.saturating_mul(2).max(u64::from(BATCH)),
    };
    'batches: while budget > 0 {
        let take = u32::try_from(budget.min(u64::from(BATCH))).unwrap_or(BATCH);
        let marks = store.summary_pending(take).await?;
        if marks.is_empty() {
            break;
        }
        budget = budget.saturating_sub(marks.len() as u64);
        let mut tries = 0;
        loop {
            let (changes, delta) = fold(store, planner, &marks).await?;
            let rows = delta.rows();
            if store.summary_apply(&changes, &rows).await? {
                outcome.folded += changes.len() as u64;
                outcome.rows_changed += rows.len() as u64;
                break;
            }
            tries += 1;
            if tries >= RETRIES {
                break 'batches;
            }
        }
    }
    if let Some(m) = store.summary_meta().await? {
        outcome.left = m.pending;
        outcome.version = m.version;
    }
    Ok(outcome)
}

/// The new bases of the marked owners and the net change to the sums.
async fn fold(
    store: &dyn Store,
    planner: &PlannerConfig,
    marks: &[tagada_store::SummaryMark],
) -> Result<(Vec<SummaryChange>, Summary), ReportError> {
    let zone = planner.home_zone();
    let day = |t: jiff::Timestamp| t.to_zoned_datetime(zone.clone()).date();
    let invoice_ids: Vec<InvoiceId> = marks
        .iter()
        .filter_map(|m| match m.owner {
            SummaryOwner::Invoice(id) => Some(id),
            SummaryOwner::Message(_) => None,
        })
        .collect();
    let message_ids: Vec<OutboxId> = marks
        .iter()
        .filter_map(|m| match m.owner {
            SummaryOwner::Message(id) => Some(id),
            SummaryOwner::Invoice(_) => None,
        })
        .collect();
    // bases first: a change after this read renews its mark, which then
    // stays for the next fold
    let owners: Vec<SummaryOwner> = marks.iter().map(|m| m.owner).collect();
    let old: HashMap<SummaryOwner, String> =
        store.summary_bases(&owners).await?.into_iter().collect();
    let inputs = store.summary_inputs(&invoice_ids, &message_ids).await?;

    let mut new: HashMap<SummaryOwner, SummaryBasis> = HashMap::new();
    for i in inputs.invoices {
        let inv = &i.invoice;
        let mut payments: Vec<(Date, tagada_core::Money)> =
            i.payments.iter().map(|(at, m)| (day(*at), *m)).collect();
        payments.sort_by_key(|(d, m)| (*d, m.minor()));
        let facts = InvoiceFacts {
            id: inv.id,
            buyer_id: inv.buyer_id,
            number: String::new(),
            amount: inv.amount,
            invoice_date: inv.invoice_date,
            due_date: inv.due_date,
            status: inv.status,
            payments,
            paid_on: inv.paid_at.map(day),
            first_reminder_on: i.first_reminder_at.map(day),
            country: None,
            sales_rep: i.sales_rep.clone(),
            segment: None,
        };
        new.insert(
            SummaryOwner::Invoice(inv.id),
            SummaryBasis::of_invoice(&facts),
        );
    }
    for m in inputs.messages {
        if m.message.status == OutboxStatus::Cancelled {
            continue;
        }
        let paid: HashMap<InvoiceId, Date> = m
            .invoices_paid_at
            .iter()
            .map(|(id, at)| (*id, day(*at)))
            .collect();
        let step = m.is_reminder.then(String::new);
        let facts = message_facts(&m.message, step, None, None, None, m.replied, &day);
        let rep = rep_key(m.sales_rep.as_deref());
        if let Some(b) = SummaryBasis::of_message(&facts, &rep, |id| paid.get(&id).copied()) {
            new.insert(SummaryOwner::Message(m.message.id), b);
        }
    }

    let mut changes = Vec::with_capacity(marks.len());
    let mut delta = Summary::default();
    let mut sorted: Vec<_> = marks.to_vec();
    sorted.sort_by_key(|m| m.owner);
    for m in sorted {
        let old_text = old.get(&m.owner).cloned();
        let new_basis = new.get(&m.owner);
        let new_text = new_basis.map(SummaryBasis::encode);
        if old_text != new_text {
            if let Some(t) = &old_text {
                delta.add(&SummaryBasis::decode(t)?.rows(), -1);
            }
            if let Some(b) = new_basis {
                delta.add(&b.rows(), 1);
            }
        }
        changes.push(SummaryChange {
            owner: m.owner,
            mark: m.mark,
            old: old_text,
            new: new_text,
        });
    }
    Ok((changes, delta))
}

/// The rep whose buyers a principal sees, as the summary keys it; `None`
/// for those who see everything.
pub fn principal_rep(who: Option<&Principal>) -> Option<String> {
    match who.map(|p| &p.role) {
        Some(Role::SalesRep { rep }) => Some(rep_key(Some(rep))),
        _ => None,
    }
}

/// What [`summary_report`] gives.
#[derive(Debug, Clone)]
pub struct SummaryView {
    pub report: Report,
    /// The collection curve (see [`tagada_core::metrics::collection_curve`]).
    pub curve: Vec<Option<tagada_core::metrics::BasisPoints>>,
    /// Changes not folded in yet (see [`RefreshOutcome::left`]): the
    /// figures are complete when it is 0.
    pub unfolded: u64,
    /// The summary's version the figures were read at.
    pub version: i64,
}

/// The report of `period` (no breakdown) and the collection curve drawn on
/// `today`, read from the summary tables after folding pending changes (at
/// most `fold_limit` of them when given): the same figures as
/// [`crate::reports::build_report`] and
/// [`tagada_core::metrics::collection_curve`] over the facts.
pub async fn summary_report(
    store: &dyn Store,
    planner: &PlannerConfig,
    period: tagada_core::metrics::Period,
    today: Date,
    who: Option<&Principal>,
    fold_limit: Option<u64>,
) -> Result<SummaryView, ReportError> {
    let refreshed = refresh_summary(store, planner, fold_limit).await?;
    let rep = principal_rep(who);
    let report = SummaryReport {
        period,
        today,
        trend_months: 6,
        rep: rep.as_deref(),
    };
    let queries = report.queries()?;
    let answers = store.summary_sums(&queries).await?;
    let fetched = FetchedSums(queries.into_iter().zip(answers).collect());
    let figures = report.compute(&fetched, &planner.fx)?;
    Ok(SummaryView {
        report: Report {
            collection: figures.collection,
            dso_trend: figures.dso_trend,
            by: None,
            breakdown: Vec::new(),
        },
        curve: figures.curve,
        unfolded: refreshed.left,
        version: refreshed.version,
    })
}

/// The report as `tagada report` and the JSON API give it: from the summary
/// tables when no breakdown is asked and the tables are built for this zone
/// and format with at most a few thousand changes to fold (the same
/// figures, read from a few thousand rows), else from the facts
/// ([`crate::reports::build_report`]), which is also what every breakdown
/// (`by`) reads.
pub async fn report(
    store: &dyn Store,
    planner: &PlannerConfig,
    period: tagada_core::metrics::Period,
    by: Option<tagada_core::metrics::Dimension>,
    who: Option<&Principal>,
) -> Result<Report, ReportError> {
    if by.is_none()
        && let Some(m) = store.summary_meta().await?
        && m.zone == planner.home_zone_name()
        && m.format == SUMMARY_FORMAT
        && m.pending <= QUICK_FOLD
    {
        let view = summary_report(store, planner, period, period.to, who, Some(QUICK_FOLD)).await?;
        if view.unfolded == 0 {
            return Ok(view.report);
        }
    }
    crate::reports::build_report(store, planner, period, by, who).await
}
