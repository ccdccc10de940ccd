//! The headline figures of a period in one value.

use serde::{Deserialize, Serialize};

use super::{
    Ageing, Cei, DayTenths, DaysToPay, Funnel, InvoiceFacts, MessageFacts, MetricsError,
    Outstanding, Period, Totals, ageing, cei, collected, credit_sales, days_to_pay, dso_countback,
    dso_simple, funnel, outstanding,
};
use crate::Currency;
use crate::cadence::FxConfig;

/// Collection figures for a period, amounts in each currency and in the
/// home currency. Each field is the function of the same name; see there
/// for its definition and rounding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionReport {
    pub period: Period,
    pub home_currency: Currency,
    /// At the end of the period.
    pub outstanding: Outstanding,
    /// At the end of the period.
    pub ageing: Ageing,
    pub credit_sales: Totals,
    pub collected: Totals,
    pub dso_simple: Option<DayTenths>,
    /// At the end of the period.
    pub dso_countback: Option<DayTenths>,
    pub cei: Cei,
    pub days_to_pay: DaysToPay,
    /// Reminders only (messages with a cadence step) planned within the
    /// period.
    pub funnel: Funnel,
    /// Currencies left out of the home-currency figures for want of a rate.
    pub not_converted: Vec<Currency>,
}

impl CollectionReport {
    pub fn build(
        invoices: &[InvoiceFacts],
        messages: &[MessageFacts],
        period: Period,
        fx: &FxConfig,
    ) -> Result<CollectionReport, MetricsError> {
        let reminders: Vec<MessageFacts> = messages
            .iter()
            .filter(|m| m.is_reminder())
            .cloned()
            .collect();
        let credit_sales = credit_sales(invoices, period, fx)?;
        let outstanding = outstanding(invoices, period.to, fx)?;
        let cei = cei(invoices, period, fx)?;
        let collected = collected(invoices, period, fx)?;
        let not_converted = not_converted_in(&[
            &credit_sales,
            &collected,
            &outstanding.total,
            &cei.beginning_ar,
            &cei.ending_ar,
        ]);
        Ok(CollectionReport {
            period,
            home_currency: fx.home_currency,
            ageing: ageing(invoices, period.to, fx)?,
            dso_simple: dso_simple(invoices, period, fx)?,
            dso_countback: dso_countback(invoices, period.to, fx)?,
            days_to_pay: days_to_pay(invoices, period),
            funnel: funnel(&reminders, invoices, period),
            credit_sales,
            collected,
            outstanding,
            cei,
            not_converted,
        })
    }
}

/// The currencies some of these totals left out for want of a rate, by
/// code, once each.
pub(super) fn not_converted_in(totals: &[&Totals]) -> Vec<Currency> {
    let mut out: Vec<Currency> = totals
        .iter()
        .flat_map(|t| t.not_converted.iter().map(|m| m.currency()))
        .collect();
    out.sort_by_key(|c| c.code());
    out.dedup();
    out
}
