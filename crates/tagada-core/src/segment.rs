//! Buyer segments: payment-history figures per buyer ([`BuyerStats`]) and the
//! ordered rules that turn them into a cadence and a tone ([`SegmentRule`]).
//! The first rule that matches wins; a rule without conditions matches
//! everyone and belongs last.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::cadence::FxConfig;
use crate::ledger::{Invoice, InvoiceStatus, days_between};
use crate::{BuyerId, Currency, Money};

/// Figures about one buyer, from their invoices, in the home currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuyerStats {
    /// Invoices paid in the last 12 months (with a known payment date).
    pub paid_invoices_12m: u32,
    /// Of those, paid after their due date.
    pub paid_late_12m: u32,
    /// Mean of `max(0, paid date − due date)` in days over those invoices,
    /// rounded half-up to whole days; 0 when none.
    pub avg_days_late: u32,
    /// `paid_late_12m` as a percentage of `paid_invoices_12m`, rounded
    /// half-up; 0 when none.
    pub share_paid_late_pct: u32,
    /// Still owed on invoices neither paid nor cancelled (disputed included).
    pub outstanding: Money,
    /// Invoiced (by invoice date) over the last 12 months, cancelled excluded.
    pub revenue_12m: Money,
    /// Invoices or orders (by order date, else invoice date) over the last 12
    /// months, cancelled excluded.
    pub orders_12m: u32,
    /// Amounts left out of `outstanding` / `revenue_12m` because no FX rate
    /// converts their currency.
    pub unconverted: u32,
}

/// Days after the due date within which a payment is not counted as late
/// for `share_paid_late_pct`: a transfer sent on the due date can take a
/// weekend and a bank holiday to land.
pub const PAID_LATE_GRACE_DAYS: i32 = 3;

impl BuyerStats {
    /// Computes the figures on `today` (the buyer's local date) from every
    /// invoice of theirs that counts. A payment is counted as "paid late"
    /// (for the share) only beyond [`PAID_LATE_GRACE_DAYS`]; every day late
    /// still counts in the average. `zone` turns payment instants into local
    /// dates; `fx` converts to the home currency. "The last 12 months" is
    /// the dates after [`year_ago`]`(today)`, up to `today`.
    pub fn compute<'a>(
        invoices: impl IntoIterator<Item = &'a Invoice>,
        today: Date,
        zone: &TimeZone,
        fx: &FxConfig,
    ) -> BuyerStats {
        let mut b = StatsBuilder::new(today, zone);
        for inv in invoices {
            b.invoice(inv);
        }
        b.finish(fx)
    }
}

/// `today` one year back (the 29th of February goes to the 28th): the
/// 12-month window is the dates after this, up to `today`.
pub fn year_ago(today: Date) -> Date {
    today.saturating_sub(jiff::Span::new().years(1))
}

/// The local dates it can be at one instant somewhere: the UTC date and
/// the days either side of it (zones run from UTC−12 to UTC+14).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayRange {
    pub from: Date,
    pub to: Date,
}

impl TodayRange {
    /// The local dates it can be anywhere at `now`.
    pub fn at(now: jiff::Timestamp) -> TodayRange {
        let utc = TimeZone::UTC.to_datetime(now).date();
        TodayRange {
            from: utc.yesterday().unwrap_or(utc),
            to: utc.tomorrow().unwrap_or(utc),
        }
    }

    pub fn contains(&self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }

    /// Dates in the 12-month window whatever today is in this range: after
    /// `.0`, up to `.1`.
    pub fn always_in(&self) -> (Date, Date) {
        (year_ago(self.to), self.from)
    }

    /// Dates outside the window whatever today is in this range: up to `.0`,
    /// or after `.1`.
    pub fn always_out(&self) -> (Date, Date) {
        (year_ago(self.from), self.to)
    }

    /// Where `d` stands against the window of every today in this range.
    pub fn classify(&self, d: Date) -> WindowClass {
        let (in_after, in_through) = self.always_in();
        let (out_through, out_after) = self.always_out();
        if d > in_after && d <= in_through {
            WindowClass::In
        } else if d <= out_through || d > out_after {
            WindowClass::Out
        } else {
            WindowClass::On(d)
        }
    }
}

/// A date against the 12-month window, as a store sums it: inside or
/// outside it for every buyer, or near its edge, where the buyer's own
/// local date decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowClass {
    In,
    Out,
    On(Date),
}

/// A buyer's invoices that the snapshot does not hold one by one, summed
/// by the store for the segment figures: one row per buyer, currency and
/// window class of the invoice and order dates. Cancelled invoices are left
/// out; payments come separately, as [`HistoryPayment`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySum {
    pub buyer_id: BuyerId,
    pub currency: Currency,
    pub invoice_date: WindowClass,
    /// The order date, else the invoice date.
    pub order_date: WindowClass,
    pub invoices: u32,
    /// The invoices' amounts, in minor units of `currency`.
    pub amount_minor: i64,
    /// Those of the invoices not paid (disputed included).
    pub open_invoices: u32,
    /// What is still owed on them, in minor units of `currency`.
    pub outstanding_minor: i64,
}

/// A payment on one of those invoices: when it was paid, against when it
/// was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPayment {
    pub buyer_id: BuyerId,
    pub due_date: Date,
    pub paid_at: jiff::Timestamp,
}

/// The buyers' invoices beyond those a snapshot loads one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The local dates the window classes of `sums` were made for.
    pub today: TodayRange,
    pub sums: Vec<HistorySum>,
    pub payments: Vec<HistoryPayment>,
}

impl History {
    /// Sums `invoices` as a store does (one row per buyer, currency and
    /// window classes; cancelled ones left out; every payment listed): the
    /// reference the stores' SQL is checked against.
    pub fn summing<'a>(
        invoices: impl IntoIterator<Item = &'a Invoice>,
        today: TodayRange,
    ) -> History {
        let mut out = History {
            today,
            ..History::default()
        };
        for inv in invoices {
            if inv.status == InvoiceStatus::Cancelled {
                continue;
            }
            if let Some(paid_at) = inv.paid_at {
                out.payments.push(HistoryPayment {
                    buyer_id: inv.buyer_id,
                    due_date: inv.due_date,
                    paid_at,
                });
            }
            let invoice_date = today.classify(inv.invoice_date);
            let order_date = today.classify(inv.order_date.unwrap_or(inv.invoice_date));
            let currency = inv.amount.currency();
            let at = match out.sums.iter().position(|s| {
                (s.buyer_id, s.currency, s.invoice_date, s.order_date)
                    == (inv.buyer_id, currency, invoice_date, order_date)
            }) {
                Some(at) => at,
                None => {
                    out.sums.push(HistorySum {
                        buyer_id: inv.buyer_id,
                        currency,
                        invoice_date,
                        order_date,
                        invoices: 0,
                        amount_minor: 0,
                        open_invoices: 0,
                        outstanding_minor: 0,
                    });
                    out.sums.len() - 1
                }
            };
            let sum = &mut out.sums[at];
            sum.invoices += 1;
            sum.amount_minor += inv.amount.minor();
            if inv.status != InvoiceStatus::Paid {
                sum.open_invoices += 1;
                sum.outstanding_minor += inv.outstanding().minor();
            }
        }
        out
    }
}

#[derive(Debug, Default)]
struct CurrencySums {
    outstanding: i128,
    outstanding_n: u32,
    revenue: i128,
    revenue_n: u32,
}

/// Adds up a buyer's figures from invoices, history sums and payments, in
/// any mix, then converts them to the home currency. Amounts are summed per
/// currency first and converted once.
#[derive(Debug)]
pub struct StatsBuilder<'z> {
    today: Date,
    year_ago: Date,
    zone: &'z TimeZone,
    paid: u32,
    paid_late: u32,
    days_late_sum: i64,
    orders: u32,
    currencies: Vec<(Currency, CurrencySums)>,
}

impl<'z> StatsBuilder<'z> {
    pub fn new(today: Date, zone: &'z TimeZone) -> StatsBuilder<'z> {
        StatsBuilder {
            today,
            year_ago: year_ago(today),
            zone,
            paid: 0,
            paid_late: 0,
            days_late_sum: 0,
            orders: 0,
            currencies: Vec::new(),
        }
    }

    fn in_window(&self, d: Date) -> bool {
        d > self.year_ago && d <= self.today
    }

    fn class_in_window(&self, c: WindowClass) -> bool {
        match c {
            WindowClass::In => true,
            WindowClass::Out => false,
            WindowClass::On(d) => self.in_window(d),
        }
    }

    /// One invoice, whole.
    pub fn invoice(&mut self, inv: &Invoice) {
        if inv.status == InvoiceStatus::Cancelled {
            return;
        }
        if let Some(paid_at) = inv.paid_at {
            self.payment(inv.due_date, paid_at);
        }
        let revenue = self.in_window(inv.invoice_date);
        if self.in_window(inv.order_date.unwrap_or(inv.invoice_date)) {
            self.orders += 1;
        }
        let sums = self.currency(inv.amount.currency());
        if inv.status != InvoiceStatus::Paid {
            sums.outstanding += i128::from(inv.outstanding().minor());
            sums.outstanding_n += 1;
        }
        if revenue {
            sums.revenue += i128::from(inv.amount.minor());
            sums.revenue_n += 1;
        }
    }

    fn currency(&mut self, currency: Currency) -> &mut CurrencySums {
        let at = match self.currencies.iter().position(|(c, _)| *c == currency) {
            Some(at) => at,
            None => {
                self.currencies.push((currency, CurrencySums::default()));
                self.currencies.len() - 1
            }
        };
        &mut self.currencies[at].1
    }

    /// A payment of a (not cancelled) invoice.
    pub fn payment(&mut self, due_date: Date, paid_at: jiff::Timestamp) {
        let paid_on = self.zone.to_datetime(paid_at).date();
        if self.in_window(paid_on) {
            self.paid += 1;
            let late = days_between(due_date, paid_on).max(0);
            if late > PAID_LATE_GRACE_DAYS {
                self.paid_late += 1;
            }
            self.days_late_sum += i64::from(late);
        }
    }

    /// A store's sum of invoices; its window classes must have been made
    /// for a range of dates that holds this buyer's today.
    pub fn sum(&mut self, s: &HistorySum, made_for: &TodayRange) -> Result<(), String> {
        if !made_for.contains(self.today) {
            return Err(format!(
                "the payment history was summed for {} to {}, not for {}",
                made_for.from, made_for.to, self.today
            ));
        }
        let revenue = self.class_in_window(s.invoice_date);
        if self.class_in_window(s.order_date) {
            self.orders = self.orders.saturating_add(s.invoices);
        }
        let sums = self.currency(s.currency);
        sums.outstanding += i128::from(s.outstanding_minor);
        sums.outstanding_n = sums.outstanding_n.saturating_add(s.open_invoices);
        if revenue {
            sums.revenue += i128::from(s.amount_minor);
            sums.revenue_n = sums.revenue_n.saturating_add(s.invoices);
        }
        Ok(())
    }

    pub fn finish(self, fx: &FxConfig) -> BuyerStats {
        let home = fx.home_currency;
        let mut outstanding: i64 = 0;
        let mut revenue: i64 = 0;
        let mut unconverted = 0u32;
        let mut convert = |total: &mut i64, sum: i128, n: u32, currency: Currency| {
            if n == 0 {
                return;
            }
            let minor = i64::try_from(sum).ok();
            match minor.and_then(|m| fx.to_home(Money::from_minor(m, currency))) {
                Some(m) => *total = total.saturating_add(m.minor()),
                None => unconverted = unconverted.saturating_add(n),
            }
        };
        for (currency, s) in &self.currencies {
            convert(&mut outstanding, s.outstanding, s.outstanding_n, *currency);
            convert(&mut revenue, s.revenue, s.revenue_n, *currency);
        }
        BuyerStats {
            paid_invoices_12m: self.paid,
            paid_late_12m: self.paid_late,
            avg_days_late: ratio_half_up(self.days_late_sum, i64::from(self.paid)),
            share_paid_late_pct: ratio_half_up(
                i64::from(self.paid_late) * 100,
                i64::from(self.paid),
            ),
            outstanding: Money::from_minor(outstanding, home),
            revenue_12m: Money::from_minor(revenue, home),
            orders_12m: self.orders,
            unconverted,
        }
    }
}

/// `num / den` for non-negative operands, rounded half-up; 0 when `den` is 0.
fn ratio_half_up(num: i64, den: i64) -> u32 {
    if den <= 0 || num <= 0 {
        return 0;
    }
    // (2·num + den) / (2·den) = floor(num/den + 1/2)
    let q = (2 * i128::from(num) + i128::from(den)) / (2 * i128::from(den));
    u32::try_from(q).unwrap_or(u32::MAX)
}

/// How a rule combines its trigger conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    /// Any one trigger is enough.
    #[default]
    Any,
    /// Every trigger must hold.
    All,
}

/// One segment rule. Triggers (`min_avg_days_late`, `min_share_paid_late_pct`,
/// `min_outstanding`, `min_revenue_12m`, `min_orders_12m`) combine per
/// `match`; the gates `min_paid_invoices_12m` and `max_orders_12m` must always
/// hold. A rule with no trigger matches whoever passes its gates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    pub name: String,
    /// The cadence buyers of this segment follow.
    pub cadence: String,
    /// Template tone: `{key}_{tone}` templates are preferred when they exist.
    #[serde(default = "neutral")]
    pub tone: String,
    #[serde(default, rename = "match")]
    pub match_mode: MatchMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_avg_days_late: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_share_paid_late_pct: Option<u32>,
    /// Home-currency amount as written (`"₹10,00,000"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_outstanding: Option<String>,
    /// Home-currency amount as written (`"₹50,00,000"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_revenue_12m: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_orders_12m: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_orders_12m: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_paid_invoices_12m: Option<u32>,
}

fn neutral() -> String {
    "neutral".to_string()
}

impl SegmentRule {
    /// A rule matching everyone.
    pub fn catch_all(name: &str, cadence: &str, tone: &str) -> SegmentRule {
        SegmentRule {
            name: name.to_string(),
            cadence: cadence.to_string(),
            tone: tone.to_string(),
            match_mode: MatchMode::Any,
            min_avg_days_late: None,
            min_share_paid_late_pct: None,
            min_outstanding: None,
            min_revenue_12m: None,
            min_orders_12m: None,
            max_orders_12m: None,
            min_paid_invoices_12m: None,
        }
    }

    /// Parses the money thresholds (in `home`), ready to match.
    pub fn compile(&self, home: Currency) -> Result<CompiledRule, String> {
        let money = |field: &str, v: &Option<String>| -> Result<Option<i64>, String> {
            let Some(s) = v else { return Ok(None) };
            let m = Money::parse(s, Some(home)).map_err(|e| format!("{field}: {e}"))?;
            if m.currency() != home {
                return Err(format!(
                    "{field}: `{s}` is in {} but amounts are compared in the home currency {home}",
                    m.currency()
                ));
            }
            Ok(Some(m.minor()))
        };
        Ok(CompiledRule {
            match_mode: self.match_mode,
            min_avg_days_late: self.min_avg_days_late,
            min_share_paid_late_pct: self.min_share_paid_late_pct,
            min_outstanding: money("min_outstanding", &self.min_outstanding)?,
            min_revenue_12m: money("min_revenue_12m", &self.min_revenue_12m)?,
            min_orders_12m: self.min_orders_12m,
            max_orders_12m: self.max_orders_12m,
            min_paid_invoices_12m: self.min_paid_invoices_12m,
        })
    }
}

/// A rule with its thresholds parsed (money in home minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    match_mode: MatchMode,
    min_avg_days_late: Option<u32>,
    min_share_paid_late_pct: Option<u32>,
    min_outstanding: Option<i64>,
    min_revenue_12m: Option<i64>,
    min_orders_12m: Option<u32>,
    max_orders_12m: Option<u32>,
    min_paid_invoices_12m: Option<u32>,
}

impl CompiledRule {
    pub fn matches(&self, s: &BuyerStats) -> bool {
        if self
            .min_paid_invoices_12m
            .is_some_and(|n| s.paid_invoices_12m < n)
            || self.max_orders_12m.is_some_and(|n| s.orders_12m > n)
        {
            return false;
        }
        let triggers = [
            self.min_avg_days_late.map(|n| s.avg_days_late >= n),
            self.min_share_paid_late_pct
                .map(|n| s.share_paid_late_pct >= n),
            self.min_outstanding.map(|n| s.outstanding.minor() >= n),
            self.min_revenue_12m.map(|n| s.revenue_12m.minor() >= n),
            self.min_orders_12m.map(|n| s.orders_12m >= n),
        ];
        let mut set = triggers.iter().flatten().peekable();
        if set.peek().is_none() {
            return true;
        }
        match self.match_mode {
            MatchMode::Any => set.any(|b| *b),
            MatchMode::All => set.all(|b| *b),
        }
    }
}

/// The segment rules, compiled once.
#[derive(Debug)]
pub struct Segmenter<'a> {
    rules: &'a [SegmentRule],
    compiled: Vec<Result<CompiledRule, String>>,
}

impl<'a> Segmenter<'a> {
    pub fn new(rules: &'a [SegmentRule], home: Currency) -> Segmenter<'a> {
        Segmenter {
            rules,
            compiled: rules.iter().map(|r| r.compile(home)).collect(),
        }
    }

    /// The first rule that matches; `Ok(None)` when none does. A broken rule
    /// met before a match is an error (later rules are not guessed at).
    pub fn choose(&self, stats: &BuyerStats) -> Result<Option<&'a SegmentRule>, String> {
        for (rule, compiled) in self.rules.iter().zip(&self.compiled) {
            match compiled {
                Ok(c) if c.matches(stats) => return Ok(Some(rule)),
                Ok(_) => {}
                Err(e) => return Err(format!("segment `{}`: {e}", rule.name)),
            }
        }
        Ok(None)
    }
}

/// The shipped rules: `late_payer`, `large_account`, `repeat_buyer`, `default`.
pub fn default_segments() -> Vec<SegmentRule> {
    vec![
        SegmentRule {
            min_avg_days_late: Some(15),
            min_share_paid_late_pct: Some(50),
            min_paid_invoices_12m: Some(2),
            ..SegmentRule::catch_all("late_payer", "tight", "firm")
        },
        SegmentRule {
            min_outstanding: Some("₹10,00,000".to_string()),
            min_revenue_12m: Some("₹50,00,000".to_string()),
            ..SegmentRule::catch_all("large_account", "large", "formal")
        },
        SegmentRule {
            min_orders_12m: Some(4),
            ..SegmentRule::catch_all("repeat_buyer", "friendly", "friendly")
        },
        SegmentRule::catch_all("default", "standard", "neutral"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuyerId, InvoiceId};
    use jiff::civil::date;

    fn inv(id: i64, invoiced: Date, due: Date, amount: i64, cur: Currency) -> Invoice {
        Invoice {
            id: InvoiceId::new(id),
            number: format!("INV-{id}"),
            buyer_id: BuyerId::new(1),
            order_date: None,
            invoice_date: invoiced,
            due_date: due,
            credit_days: None,
            amount: Money::from_minor(amount, cur),
            amount_paid: Money::zero(cur),
            status: InvoiceStatus::Pending,
            snoozed_until: None,
            paused: false,
            cadence_override: None,
            paid_at: None,
            reminder_cycle: 0,
            pay_token: None,
        }
    }

    fn paid(mut i: Invoice, on: Date) -> Invoice {
        i.status = InvoiceStatus::Paid;
        i.amount_paid = i.amount;
        // noon IST
        i.paid_at = Some(
            on.at(12, 0, 0, 0)
                .to_zoned_datetime(TimeZone::get("Asia/Kolkata").unwrap())
                .unwrap()
                .timestamp(),
        );
        i
    }

    fn stats(invoices: &[Invoice], today: Date) -> BuyerStats {
        BuyerStats::compute(
            invoices,
            today,
            &TimeZone::get("Asia/Kolkata").unwrap(),
            &FxConfig::default(),
        )
    }

    #[test]
    fn lateness_is_averaged_over_paid_invoices_with_rounding() {
        let today = date(2026, 12, 1);
        let a = paid(
            inv(1, date(2026, 5, 1), date(2026, 6, 1), 10_000, Currency::INR),
            date(2026, 6, 11),
        ); // 10 late
        let b = paid(
            inv(2, date(2026, 6, 1), date(2026, 7, 1), 10_000, Currency::INR),
            date(2026, 6, 25),
        ); // early: counts 0
        let c = paid(
            inv(3, date(2026, 7, 1), date(2026, 8, 1), 10_000, Currency::INR),
            date(2026, 8, 6),
        ); // 5 late
        let old = paid(
            inv(4, date(2025, 1, 1), date(2025, 2, 1), 10_000, Currency::INR),
            date(2025, 6, 1),
        ); // outside 12 months
        let s = stats(&[a, b, c, old], today);
        assert_eq!(s.paid_invoices_12m, 3);
        assert_eq!(s.paid_late_12m, 2);
        // 15 / 3 = 5
        assert_eq!(s.avg_days_late, 5);
        // 2/3 = 66.67% → 67
        assert_eq!(s.share_paid_late_pct, 67);
        assert_eq!(s.orders_12m, 3);
    }

    #[test]
    fn money_figures_are_converted_to_home() {
        let today = date(2026, 12, 1);
        let usd = inv(
            1,
            date(2026, 11, 1),
            date(2026, 12, 1),
            100_000,
            Currency::USD,
        );
        let inr = inv(
            2,
            date(2026, 11, 1),
            date(2026, 12, 1),
            5_000_000,
            Currency::INR,
        );
        let jpy = inv(
            3,
            date(2026, 11, 1),
            date(2026, 12, 1),
            5_000,
            Currency::JPY,
        );
        let mut cancelled = inv(4, date(2026, 11, 1), date(2026, 12, 1), 9_99, Currency::INR);
        cancelled.status = InvoiceStatus::Cancelled;
        let s = stats(&[usd, inr, jpy, cancelled], today);
        // 1000 USD × 83.25 = 83,250 INR; + 50,000
        assert_eq!(s.outstanding.minor(), 13_325_000);
        assert_eq!(s.revenue_12m.minor(), 13_325_000);
        assert_eq!(s.unconverted, 2);
        assert_eq!(s.orders_12m, 3);
    }

    /// A date near one edge of the window on `base` (a year back, or
    /// today), or anywhere in the 13 months before it.
    fn pick(base: Date, (edge, near, any): (usize, i32, i32)) -> Date {
        match edge {
            0 => year_ago(base).saturating_add(jiff::Span::new().days(near)),
            1 => base.saturating_add(jiff::Span::new().days(near)),
            _ => base.saturating_sub(jiff::Span::new().days(any)),
        }
    }

    fn any_date() -> (
        std::ops::Range<usize>,
        std::ops::Range<i32>,
        std::ops::Range<i32>,
    ) {
        (0usize..3, -3i32..4, 0i32..400)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// A store's sums give the figures the invoices themselves give, for
        /// every zone's today at the instant the sums were made, with dates
        /// on the window's edges, payments near midnight and the 29th of
        /// February.
        #[test]
        fn sums_give_the_figures_of_the_invoices(
            base in proptest::sample::select(vec![date(2026, 12, 4), date(2028, 2, 29), date(2027, 3, 1)]),
            minutes in 0i64..1440,
            zone in proptest::sample::select(vec![
                "Asia/Kolkata", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Europe/London",
            ]),
            rows in proptest::collection::vec(
                (
                    (any_date(), proptest::option::of(any_date()), -40i32..60),
                    (0..InvoiceStatus::ALL.len(), 0usize..4, 1i64..10_000_000, 0i64..120),
                    proptest::option::of((-10i32..60, 0i64..1440)),
                    proptest::bool::ANY,
                ),
                0..24,
            ),
        ) {
            let now = base.at(0, 0, 0, 0).in_tz("UTC").unwrap().timestamp()
                .checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap();
            let tz = TimeZone::get(zone).unwrap();
            let today = tz.to_datetime(now).date();
            let range = TodayRange::at(now);
            proptest::prop_assert!(range.contains(today));
            let currencies = [Currency::INR, Currency::USD, Currency::AED, Currency::KWD];
            let invoices: Vec<Invoice> = rows
                .iter()
                .enumerate()
                .map(|(k, ((invoiced, ordered, credit), (status, cur, amount, paid_pct), paid, _))| {
                    let invoiced = pick(base, *invoiced);
                    let due = invoiced.saturating_add(jiff::Span::new().days(*credit));
                    let mut i = inv(k as i64 + 1, invoiced, due, *amount, currencies[*cur]);
                    i.order_date = ordered.map(|o| pick(base, o));
                    i.status = InvoiceStatus::ALL[*status];
                    i.amount_paid = Money::from_minor(amount * paid_pct.min(&100) / 100, currencies[*cur]);
                    i.paid_at = paid.map(|(late, minute)| {
                        due.saturating_add(jiff::Span::new().days(late))
                            .at(0, 0, 0, 0).in_tz("UTC").unwrap().timestamp()
                            .checked_add(jiff::SignedDuration::from_mins(minute)).unwrap()
                    });
                    i
                })
                .collect();
            let fx = FxConfig::default();
            let whole = BuyerStats::compute(&invoices, today, &tz, &fx);
            // the ones flagged stay whole; the others are summed
            let (kept, summed): (Vec<_>, Vec<_>) =
                invoices.iter().zip(&rows).partition(|(_, r)| r.3);
            let history = History::summing(summed.into_iter().map(|(i, _)| i), range);
            let mut b = StatsBuilder::new(today, &tz);
            for (i, _) in kept {
                b.invoice(i);
            }
            for s in &history.sums {
                b.sum(s, &history.today).unwrap();
            }
            for p in &history.payments {
                b.payment(p.due_date, p.paid_at);
            }
            proptest::prop_assert_eq!(b.finish(&fx), whole);
        }
    }

    fn base_stats() -> BuyerStats {
        BuyerStats {
            paid_invoices_12m: 0,
            paid_late_12m: 0,
            avg_days_late: 0,
            share_paid_late_pct: 0,
            outstanding: Money::zero(Currency::INR),
            revenue_12m: Money::zero(Currency::INR),
            orders_12m: 0,
            unconverted: 0,
        }
    }

    #[test]
    fn default_rules_pick_in_order() {
        let rules = default_segments();
        let seg = Segmenter::new(&rules, Currency::INR);
        let pick = |s: &BuyerStats| seg.choose(s).unwrap().unwrap().name.clone();

        assert_eq!(pick(&base_stats()), "default");

        let late = BuyerStats {
            paid_invoices_12m: 2,
            paid_late_12m: 1,
            share_paid_late_pct: 50,
            orders_12m: 6,
            ..base_stats()
        };
        assert_eq!(pick(&late), "late_payer");
        // one late invoice is not a pattern
        let once = BuyerStats {
            paid_invoices_12m: 1,
            paid_late_12m: 1,
            avg_days_late: 40,
            share_paid_late_pct: 100,
            ..base_stats()
        };
        assert_eq!(pick(&once), "default");

        let large = BuyerStats {
            outstanding: Money::from_minor(100_000_000, Currency::INR),
            orders_12m: 9,
            ..base_stats()
        };
        assert_eq!(pick(&large), "large_account");
        let almost = BuyerStats {
            outstanding: Money::from_minor(99_999_999, Currency::INR),
            ..base_stats()
        };
        assert_eq!(pick(&almost), "default");

        let repeat = BuyerStats {
            orders_12m: 4,
            ..base_stats()
        };
        assert_eq!(pick(&repeat), "repeat_buyer");
    }

    #[test]
    fn all_mode_and_gates() {
        let rule = SegmentRule {
            match_mode: MatchMode::All,
            min_orders_12m: Some(2),
            min_avg_days_late: Some(3),
            max_orders_12m: Some(5),
            ..SegmentRule::catch_all("x", "standard", "neutral")
        };
        let c = rule.compile(Currency::INR).unwrap();
        let s = |orders, late| BuyerStats {
            orders_12m: orders,
            avg_days_late: late,
            ..base_stats()
        };
        assert!(c.matches(&s(3, 3)));
        assert!(!c.matches(&s(3, 2)));
        assert!(!c.matches(&s(6, 9)));
    }

    #[test]
    fn thresholds_in_another_currency_are_refused() {
        let rule = SegmentRule {
            min_outstanding: Some("USD 1,000".into()),
            ..SegmentRule::catch_all("x", "standard", "neutral")
        };
        assert!(rule.compile(Currency::INR).is_err());
        let seg_rules = vec![rule, SegmentRule::catch_all("d", "standard", "neutral")];
        let seg = Segmenter::new(&seg_rules, Currency::INR);
        assert!(seg.choose(&base_stats()).is_err());
    }

    #[test]
    fn rounding_helper() {
        assert_eq!(ratio_half_up(1, 2), 1);
        assert_eq!(ratio_half_up(1, 3), 0);
        assert_eq!(ratio_half_up(2, 3), 1);
        assert_eq!(ratio_half_up(5, 0), 0);
    }
}
