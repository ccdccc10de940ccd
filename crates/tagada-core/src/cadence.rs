//! Cadences (reminder steps as data) and the planner's configuration.
//!
//! A cadence is an ordered list of steps, each an offset in days from the
//! invoice's due date (negative = before it), then an optional repeat every N
//! days, all under a cap on the total number of steps. Step index `k` below
//! `steps.len()` is step `k`; from `steps.len()` on, index `k` is repeat
//! number `n = k - steps.len() + 1`, falling `n * repeat_every_days` days
//! after the last step.
//!
//! [`PlannerConfig`] maps one-to-one onto the planner part of `tagada.toml`
//! (`config/default.toml` documents every key). Its `Default` is the
//! shipped configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::{BusinessCalendar, BusinessHours, WeekdaySet};
use crate::segment::SegmentRule;
use crate::template::{TemplateSet, TemplateSpec};
use crate::{CountryCode, Currency, Money};

/// Everything the planner reads from `tagada.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// The seller's IANA zone; buyers with no zone and no known country use it.
    pub home_time_zone: String,
    /// Country assumed for buyers whose country cannot be told.
    pub default_country: CountryCode,
    /// Template language for buyers without one (`en`, `hi`, `es`).
    pub default_language: String,
    /// Sending hours in the buyer's local time, unless their country overrides.
    pub business_hours: BusinessHours,
    /// Days on which no buyer gets a message (the seller's own holidays).
    #[serde(with = "crate::calendar::dates")]
    pub holidays: Vec<Date>,
    /// Per-country calendars, keyed by ISO code (`IN`, `AE`, `US`...).
    pub countries: BTreeMap<String, CountryCalendarConfig>,
    /// At most this many messages to one buyer per local day. With 1 (the
    /// default) the planner avoids the local day of the buyer's last message;
    /// larger values lift that check (the planner only knows the last one).
    pub max_messages_per_buyer_per_day: u32,
    /// Template key for a message covering several invoices.
    pub consolidated_template: String,
    pub consent: ConsentPolicy,
    pub seller: SellerConfig,
    pub fx: FxConfig,
    /// Cadences by name.
    pub cadences: BTreeMap<String, Cadence>,
    /// Segment rules, in order: the first that matches a buyer wins.
    pub segments: Vec<SegmentRule>,
    /// Message templates; in config, a table per key and language
    /// (`[templates.overdue.hi]`).
    #[serde(with = "crate::template::table")]
    pub templates: Vec<TemplateSpec>,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            home_time_zone: "Asia/Kolkata".to_string(),
            default_country: CountryCode::india(),
            default_language: "en".to_string(),
            business_hours: BusinessHours::default(),
            holidays: Vec::new(),
            countries: BTreeMap::new(),
            max_messages_per_buyer_per_day: 1,
            consolidated_template: "statement".to_string(),
            consent: ConsentPolicy::default(),
            seller: SellerConfig::default(),
            fx: FxConfig::default(),
            cadences: default_cadences(),
            segments: crate::segment::default_segments(),
            templates: crate::template::default_templates(),
        }
    }
}

/// A country's calendar overrides; unset fields fall back to the country's
/// usual weekend ([`CountryCode::default_weekend`]) and the global hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CountryCalendarConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekend: Option<WeekdaySet>,
    /// Added to the global holidays for buyers in this country.
    #[serde(with = "crate::calendar::dates")]
    pub holidays: Vec<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
}

/// When a buyer may be messaged at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsentPolicy {
    /// Only message buyers who agreed to it.
    pub require_consent: bool,
    /// An invoice or order for the buyer counts as agreement: every buyer the
    /// planner sees has one, so only buyers with neither a recorded consent
    /// nor an order (leads) are left out — and leads have no invoices.
    pub order_implies_consent: bool,
}

impl Default for ConsentPolicy {
    fn default() -> Self {
        ConsentPolicy {
            require_consent: true,
            order_implies_consent: true,
        }
    }
}

impl ConsentPolicy {
    /// Whether a buyer with (or without) a recorded consent may get a
    /// reminder about one of their invoices.
    pub fn allows(&self, has_recorded_consent: bool) -> bool {
        !self.require_consent || has_recorded_consent || self.order_implies_consent
    }
}

/// Who the messages come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SellerConfig {
    /// The name buyers know the seller by.
    pub company: String,
    /// Public base URL of `tagada serve`: a reminder's payment link is the
    /// invoice's pay page, `{base}/pay/{token}`.
    pub payment_link_base_url: String,
}

impl Default for SellerConfig {
    fn default() -> Self {
        SellerConfig {
            company: "Your Company".to_string(),
            payment_link_base_url: "http://localhost:8080".to_string(),
        }
    }
}

impl SellerConfig {
    /// The pay page of the invoice whose pay token is `token`.
    pub fn pay_page(&self, token: &str) -> String {
        format!(
            "{}/pay/{token}",
            self.payment_link_base_url.trim_end_matches('/')
        )
    }

    /// The placeholder payment link for an invoice that has no pay token
    /// yet (plans of invoices not stored), the number percent-encoded
    /// (`INV/26-27/001` → `INV%2F26-27%2F001`).
    pub fn payment_link(&self, invoice_number: &str) -> String {
        let base = self.payment_link_base_url.trim_end_matches('/');
        let mut out = String::with_capacity(base.len() + 5 + invoice_number.len());
        out.push_str(base);
        out.push_str("/pay/");
        for b in invoice_number.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

/// Exchange rates into the home currency, for segment thresholds and totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FxConfig {
    pub home_currency: Currency,
    /// Home-currency units per one unit of the keyed currency, as decimal
    /// strings: `USD = "83.25"` means 1 USD = 83.25 INR.
    pub rates: BTreeMap<String, FxRate>,
}

impl Default for FxConfig {
    fn default() -> Self {
        let rates = [
            ("USD", "83.25"),
            ("EUR", "90.10"),
            ("GBP", "105.40"),
            ("AED", "22.67"),
            ("SAR", "22.20"),
        ]
        .into_iter()
        .map(|(c, r)| (c.to_string(), FxRate::parse(r).expect("valid default rate")))
        .collect();
        FxConfig {
            home_currency: Currency::INR,
            rates,
        }
    }
}

impl FxConfig {
    /// Converts into the home currency; `None` when no rate is configured for
    /// the currency or the result does not fit.
    ///
    /// Exact integer arithmetic: with the rate `R / 10^s` (home units per
    /// foreign unit), foreign exponent `ef` and home exponent `eh`,
    /// `home_minor = minor × R × 10^eh / 10^(s + ef)`, computed in `i128` and
    /// rounded half away from zero (half-up for the positive amounts the
    /// planner converts).
    pub fn to_home(&self, amount: Money) -> Option<Money> {
        let home = self.home_currency;
        if amount.currency() == home {
            return Some(amount);
        }
        let rate = self.rates.get(amount.currency().code())?;
        let num = i128::from(amount.minor())
            .checked_mul(rate.mantissa)?
            .checked_mul(10i128.checked_pow(home.exponent())?)?;
        let den = 10i128.checked_pow(rate.scale.checked_add(amount.currency().exponent())?)?;
        let q = div_round_half_away(num, den)?;
        Some(Money::from_minor(i64::try_from(q).ok()?, home))
    }
}

/// `num / den` rounded to the nearest integer, halves away from zero
/// (`den > 0`).
fn div_round_half_away(num: i128, den: i128) -> Option<i128> {
    let q = num.checked_div(den)?;
    let r = num.checked_rem(den)?;
    // |r| * 2 >= den  ⇔ the remainder is at least half
    if r.checked_abs()?.checked_mul(2)? >= den {
        Some(q + num.signum())
    } else {
        Some(q)
    }
}

/// A positive exchange rate kept exactly as written: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FxRate {
    mantissa: i128,
    scale: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a positive decimal rate like \"83.25\"")]
pub struct FxRateError(pub String);

impl FxRate {
    /// Parses `"83.25"`, `"0.0112"`, `"1"`: digits with at most one point, at
    /// most 18 significant digits, greater than zero.
    pub fn parse(input: &str) -> Result<FxRate, FxRateError> {
        let err = || FxRateError(input.to_string());
        let s = input.trim();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || int.len() + frac.len() > 18
        {
            return Err(err());
        }
        let digits = format!("{int}{frac}");
        let mantissa: i128 = digits.parse().map_err(|_| err())?;
        if mantissa == 0 {
            return Err(err());
        }
        Ok(FxRate {
            mantissa,
            scale: frac.len() as u32,
        })
    }
}

impl fmt::Display for FxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (i, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{i}.{frac}")
    }
}

impl Serialize for FxRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for FxRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = FxRate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate as a decimal string, like \"83.25\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FxRate, E> {
                FxRate::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FxRate, E> {
                FxRate::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FxRate, E> {
                FxRate::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<FxRate, E> {
                Err(E::custom(format!(
                    "write the rate {v} as a string (\"{v}\") so it is kept exactly"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// One step of a cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceStep {
    /// Shown in plans and reports; derived from the offset when absent
    /// (`due-3`, `due`, `overdue+7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Days from the due date; negative = before it.
    pub offset_days: i32,
    /// Template key (`upcoming`, `overdue`...).
    pub template: String,
    /// Alert the buyer's sales rep with this step.
    #[serde(default)]
    pub escalate: bool,
}

impl CadenceStep {
    pub fn new(offset_days: i32, template: &str, escalate: bool) -> CadenceStep {
        CadenceStep {
            name: None,
            offset_days,
            template: template.to_string(),
            escalate,
        }
    }
}

/// A reminder schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cadence {
    /// In increasing `offset_days` order.
    pub steps: Vec<CadenceStep>,
    /// After the last step, repeat every N days until paid (or the cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_every_days: Option<u32>,
    /// Template of the repeats; the last step's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_template: Option<String>,
    #[serde(default)]
    pub repeat_escalate: bool,
    /// At most this many steps per invoice and cycle, repeats included.
    #[serde(default = "default_max_reminders")]
    pub max_reminders: u32,
    /// Template tone for this cadence, over the segment's (the `friendly`
    /// cadence reads friendly whoever follows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<String>,
}

fn default_max_reminders() -> u32 {
    10
}

/// A step of a cadence at a given index, repeats resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedStep<'a> {
    pub index: u32,
    pub name: String,
    pub offset_days: i32,
    pub template: &'a str,
    pub escalate: bool,
}

/// Where an invoice stands in its cadence on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepPosition {
    /// Before the first step; it falls `first_offset` days from the due date.
    NotYet { first_offset: i32 },
    /// The latest step whose date has come. When the cadence's cap cut it
    /// short, `index` is the last step the cap allows and `capped` is set.
    Due { index: u32, capped: bool },
    /// `max_reminders` is 0.
    NoSteps,
}

/// The name of a step from its offset: `due-3`, `due`, `overdue+7`.
pub fn step_name_for_offset(offset_days: i32) -> String {
    match offset_days {
        0 => "due".to_string(),
        o if o < 0 => format!("due{o}"),
        o => format!("overdue+{o}"),
    }
}

impl Cadence {
    /// The step at `index`, if the cadence has one there (within the cap).
    pub fn step(&self, index: u32) -> Option<ResolvedStep<'_>> {
        if index >= self.max_reminders {
            return None;
        }
        let len = self.steps.len();
        if let Some(s) = self.steps.get(index as usize) {
            return Some(ResolvedStep {
                index,
                name: s
                    .name
                    .clone()
                    .unwrap_or_else(|| step_name_for_offset(s.offset_days)),
                offset_days: s.offset_days,
                template: &s.template,
                escalate: s.escalate,
            });
        }
        let last = self.steps.last()?;
        let every = self.repeat_every_days.filter(|e| *e > 0)?;
        let n = i64::from(index) - len as i64 + 1;
        let offset = i64::from(last.offset_days) + n * i64::from(every);
        let offset = i32::try_from(offset).ok()?;
        Some(ResolvedStep {
            index,
            name: format!("repeat+{offset}"),
            offset_days: offset,
            template: self.repeat_template.as_deref().unwrap_or(&last.template),
            escalate: self.repeat_escalate,
        })
    }

    /// The latest step whose offset is at most `days_since_due` (days from the
    /// due date to today; negative before it). Earlier steps are not reported:
    /// only the latest applies (no catch-up spam).
    pub fn position(&self, days_since_due: i32) -> StepPosition {
        let Some(first) = self.steps.first() else {
            return StepPosition::NoSteps;
        };
        if self.max_reminders == 0 {
            return StepPosition::NoSteps;
        }
        if days_since_due < first.offset_days {
            return StepPosition::NotYet {
                first_offset: first.offset_days,
            };
        }
        let last_i = self.steps.len() - 1;
        let last_off = self.steps[last_i].offset_days;
        let latest: u64 = if days_since_due >= last_off {
            match self.repeat_every_days.filter(|e| *e > 0) {
                Some(every) => {
                    // floor division; both operands are non-negative here
                    let n = (i64::from(days_since_due) - i64::from(last_off)) / i64::from(every);
                    last_i as u64 + n as u64
                }
                None => last_i as u64,
            }
        } else {
            let after = self
                .steps
                .partition_point(|s| s.offset_days <= days_since_due);
            (after - 1) as u64
        };
        let cap = u64::from(self.max_reminders);
        if latest >= cap {
            StepPosition::Due {
                index: self.max_reminders - 1,
                capped: latest > cap - 1,
            }
        } else {
            StepPosition::Due {
                index: latest as u32,
                capped: false,
            }
        }
    }

    /// Every template key the cadence can use.
    pub fn template_keys(&self) -> impl Iterator<Item = &str> {
        self.steps
            .iter()
            .map(|s| s.template.as_str())
            .chain(self.repeat_template.as_deref())
    }

    /// Structural problems: no steps, offsets not increasing, a zero repeat.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.steps.is_empty() {
            out.push("has no steps".to_string());
        }
        for pair in self.steps.windows(2) {
            if pair[1].offset_days <= pair[0].offset_days {
                out.push(format!(
                    "step offsets must increase ({} then {})",
                    pair[0].offset_days, pair[1].offset_days
                ));
            }
        }
        if self.repeat_every_days == Some(0) {
            out.push("repeat_every_days must be at least 1".to_string());
        }
        for s in &self.steps {
            if s.template.trim().is_empty() {
                out.push(format!("step at offset {} has no template", s.offset_days));
            }
        }
        out
    }
}

/// The shipped cadences: `standard`, `tight`, `large`, `friendly`.
pub fn default_cadences() -> BTreeMap<String, Cadence> {
    let step = CadenceStep::new;
    let mut m = BTreeMap::new();
    m.insert(
        "standard".to_string(),
        Cadence {
            steps: vec![
                step(-3, "upcoming", false),
                step(0, "due_today", false),
                step(7, "overdue", false),
                step(14, "overdue", false),
                step(21, "overdue_firm", false),
            ],
            repeat_every_days: Some(7),
            repeat_template: Some("overdue_firm".to_string()),
            repeat_escalate: false,
            max_reminders: 10,
            tone: None,
        },
    );
    m.insert(
        "tight".to_string(),
        Cadence {
            steps: vec![
                step(-5, "upcoming", false),
                step(-1, "upcoming", false),
                step(0, "due_today", false),
                step(3, "overdue", false),
                step(7, "overdue", false),
                step(10, "overdue_firm", true),
                step(14, "overdue_firm", true),
            ],
            repeat_every_days: Some(4),
            repeat_template: Some("overdue_firm".to_string()),
            repeat_escalate: true,
            max_reminders: 14,
            tone: None,
        },
    );
    m.insert(
        "large".to_string(),
        Cadence {
            steps: vec![
                step(-3, "statement", false),
                step(0, "statement", false),
                step(7, "statement", true),
                step(14, "statement", true),
                step(21, "statement", true),
            ],
            repeat_every_days: Some(7),
            repeat_template: Some("statement".to_string()),
            repeat_escalate: true,
            max_reminders: 10,
            tone: None,
        },
    );
    m.insert(
        "friendly".to_string(),
        Cadence {
            steps: vec![
                step(-3, "upcoming", false),
                step(0, "due_today", false),
                step(7, "overdue", false),
                step(14, "overdue", false),
                step(21, "overdue_firm", false),
            ],
            repeat_every_days: Some(10),
            repeat_template: Some("overdue_firm".to_string()),
            repeat_escalate: false,
            max_reminders: 8,
            tone: Some("friendly".to_string()),
        },
    );
    m
}

/// A problem found by [`PlannerConfig::validate`], named by its config key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> ConfigIssue {
        ConfigIssue {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl PlannerConfig {
    /// The working calendar for buyers in `country`: its weekend (config,
    /// else the country's usual one), global plus country holidays, and hours.
    pub fn calendar_for(&self, country: &CountryCode) -> BusinessCalendar {
        let over = self.countries.get(country.as_str());
        let weekend = over
            .and_then(|o| o.weekend)
            .unwrap_or_else(|| WeekdaySet::from_days(country.default_weekend()));
        let mut holidays: BTreeSet<Date> = self.holidays.iter().copied().collect();
        if let Some(o) = over {
            holidays.extend(o.holidays.iter().copied());
        }
        let hours = over
            .and_then(|o| o.business_hours)
            .unwrap_or(self.business_hours);
        BusinessCalendar {
            weekend,
            holidays,
            hours,
        }
    }

    /// Checks everything the planner will rely on; each problem names its key.
    /// The planner itself tolerates a broken config (the affected invoices are
    /// skipped with `ConfigError`), so this is for `tagada config check` and
    /// start-up.
    pub fn validate(&self) -> Result<(), Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        if jiff::tz::TimeZone::get(&self.home_time_zone).is_err() {
            issues.push(ConfigIssue::new(
                "home_time_zone",
                format!("unknown time zone `{}`", self.home_time_zone),
            ));
        }
        if !self.business_hours.is_valid() {
            issues.push(ConfigIssue::new(
                "business_hours",
                "start must be before end",
            ));
        }
        if self.max_messages_per_buyer_per_day == 0 {
            issues.push(ConfigIssue::new(
                "max_messages_per_buyer_per_day",
                "must be at least 1",
            ));
        }
        for (code, c) in &self.countries {
            let key = format!("countries.{code}");
            match CountryCode::parse(code) {
                Ok(parsed) if parsed.as_str() == code => {}
                _ => issues.push(ConfigIssue::new(
                    &key,
                    "not an upper-case two-letter ISO 3166 code",
                )),
            }
            if let Some(h) = c.business_hours
                && !h.is_valid()
            {
                issues.push(ConfigIssue::new(
                    format!("{key}.business_hours"),
                    "start must be before end",
                ));
            }
            if c.weekend.is_some_and(|w| w.len() >= 7) {
                issues.push(ConfigIssue::new(
                    format!("{key}.weekend"),
                    "every day is a weekend day",
                ));
            }
        }
        if !self.seller.payment_link_base_url.starts_with("http://")
            && !self.seller.payment_link_base_url.starts_with("https://")
        {
            issues.push(ConfigIssue::new(
                "seller.payment_link_base_url",
                "must start with http:// or https://",
            ));
        }
        if self.seller.company.trim().is_empty() {
            issues.push(ConfigIssue::new("seller.company", "must not be empty"));
        }
        for code in self.fx.rates.keys() {
            if Currency::from_code(code).is_err() {
                issues.push(ConfigIssue::new(
                    format!("fx.rates.{code}"),
                    "unknown ISO 4217 currency",
                ));
            }
        }
        for (name, c) in &self.cadences {
            for p in c.problems() {
                issues.push(ConfigIssue::new(format!("cadences.{name}"), p));
            }
        }
        for (i, rule) in self.segments.iter().enumerate() {
            let key = format!("segments[{i}] ({})", rule.name);
            if !self.cadences.contains_key(&rule.cadence) {
                issues.push(ConfigIssue::new(
                    format!("{key}.cadence"),
                    format!("no cadence named `{}`", rule.cadence),
                ));
            }
            if let Err(e) = rule.compile(self.fx.home_currency) {
                issues.push(ConfigIssue::new(key, e));
            }
        }
        let set = TemplateSet::new(&self.templates);
        if let Err(mut t) = set.validate(&self.cadences, &self.consolidated_template) {
            issues.append(&mut t);
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> Cadence {
        default_cadences().remove("standard").unwrap()
    }

    #[test]
    fn step_indexes_cover_steps_then_repeats() {
        let c = standard();
        let names: Vec<String> = (0..12)
            .map(|k| c.step(k).map(|s| s.name).unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "due-3",
                "due",
                "overdue+7",
                "overdue+14",
                "overdue+21",
                "repeat+28",
                "repeat+35",
                "repeat+42",
                "repeat+49",
                "repeat+56",
                "",
                ""
            ]
        );
        assert_eq!(c.step(5).unwrap().template, "overdue_firm");
    }

    #[test]
    fn position_picks_the_latest_step_only() {
        let c = standard();
        assert_eq!(c.position(-10), StepPosition::NotYet { first_offset: -3 });
        let idx = |d| match c.position(d) {
            StepPosition::Due { index, .. } => index,
            other => panic!("{other:?}"),
        };
        assert_eq!(idx(-3), 0);
        assert_eq!(idx(-1), 0);
        assert_eq!(idx(0), 1);
        assert_eq!(idx(6), 1);
        assert_eq!(idx(7), 2);
        assert_eq!(idx(24), 4);
        assert_eq!(idx(27), 4);
        assert_eq!(idx(28), 5);
        assert_eq!(idx(30), 5);
        assert_eq!(idx(56), 9);
        assert_eq!(
            c.position(400),
            StepPosition::Due {
                index: 9,
                capped: true
            }
        );
        assert_eq!(
            c.position(62),
            StepPosition::Due {
                index: 9,
                capped: false
            }
        );
    }

    #[test]
    fn cadence_without_repeat_stops_at_last_step() {
        let mut c = standard();
        c.repeat_every_days = None;
        assert_eq!(
            c.position(100),
            StepPosition::Due {
                index: 4,
                capped: false
            }
        );
        assert!(c.step(5).is_none());
    }

    #[test]
    fn fx_converts_exactly_with_half_up_rounding() {
        let fx = FxConfig::default();
        // 1,250.00 USD × 83.25 = 1,04,062.50 INR
        let usd = Money::from_minor(1_250 * 100, Currency::USD);
        assert_eq!(fx.to_home(usd).unwrap().minor(), 104_062 * 100 + 50);
        // 0.01 USD × 83.25 = 0.8325 INR → 0.83
        assert_eq!(
            fx.to_home(Money::from_minor(1, Currency::USD))
                .unwrap()
                .minor(),
            83
        );
        // 0.03 AED × 22.67 = 0.6801 → 0.68 ; 0.05 EUR × 90.10 = 4.505 → 4.51 (half up)
        assert_eq!(
            fx.to_home(Money::from_minor(5, Currency::EUR))
                .unwrap()
                .minor(),
            451
        );
        // JPY has no rate configured
        assert_eq!(fx.to_home(Money::from_minor(100, Currency::JPY)), None);
        let inr = Money::from_minor(42, Currency::INR);
        assert_eq!(fx.to_home(inr), Some(inr));
    }

    #[test]
    fn fx_rate_parse_and_display() {
        for s in ["83.25", "0.0112", "1", "105.40"] {
            assert_eq!(FxRate::parse(s).unwrap().to_string(), s);
        }
        for s in ["", ".", "-1", "0", "0.00", "8,3", "1e3", "1.2.3"] {
            assert!(FxRate::parse(s).is_err(), "{s}");
        }
        assert!(serde_json::from_str::<FxRate>("83.25").is_err());
        assert_eq!(
            serde_json::from_str::<FxRate>("\"83.25\"").unwrap(),
            FxRate::parse("83.25").unwrap()
        );
    }

    #[test]
    fn payment_links_escape_invoice_numbers() {
        let s = SellerConfig {
            company: "X".into(),
            payment_link_base_url: "https://pay.example.in/".into(),
        };
        assert_eq!(
            s.payment_link("INV/26-27/001"),
            "https://pay.example.in/pay/INV%2F26-27%2F001"
        );
    }

    #[test]
    fn problems_are_reported_by_key() {
        let mut cfg = PlannerConfig::default();
        cfg.cadences.get_mut("standard").unwrap().steps[1].offset_days = -5;
        cfg.segments[0].cadence = "nope".into();
        cfg.home_time_zone = "Mars/Olympus".into();
        let issues = cfg.validate().unwrap_err();
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert!(keys.contains(&"cadences.standard"), "{issues:?}");
        assert!(keys.contains(&"home_time_zone"), "{issues:?}");
        assert!(
            keys.iter().any(|k| k.starts_with("segments[0]")),
            "{issues:?}"
        );
    }

    #[test]
    fn calendar_for_merges_country_overrides() {
        let mut cfg = PlannerConfig {
            holidays: vec![jiff::civil::date(2026, 10, 20)],
            ..PlannerConfig::default()
        };
        cfg.countries.insert(
            "AE".into(),
            CountryCalendarConfig {
                weekend: None,
                holidays: vec![jiff::civil::date(2026, 12, 2)],
                business_hours: Some(BusinessHours {
                    start: jiff::civil::time(9, 0, 0, 0),
                    end: jiff::civil::time(17, 0, 0, 0),
                }),
            },
        );
        let ae = cfg.calendar_for(&CountryCode::parse("AE").unwrap());
        assert_eq!(ae.holidays.len(), 2);
        assert_eq!(ae.hours.start, jiff::civil::time(9, 0, 0, 0));
        assert!(ae.weekend.contains(jiff::civil::Weekday::Saturday));
        let india = cfg.calendar_for(&CountryCode::india());
        assert_eq!(india.holidays.len(), 1);
        assert_eq!(india.weekend.len(), 1);
    }

    /// The shipped, commented TOML is exactly the `Default` configuration.
    #[test]
    fn default_toml_matches_default_config() {
        let text = include_str!("../../../config/default.toml");
        let mut table: toml::Table = toml::from_str(text).unwrap();
        // The application's own sections share the file.
        for app_section in [
            "database",
            "import",
            "dispatch",
            "whatsapp",
            "inbound",
            "http",
            "indiamart",
            "tradeindia",
            "payments",
            "ledger",
            "log",
        ] {
            table.remove(app_section);
        }
        let parsed: PlannerConfig = table.try_into().unwrap();
        let default = PlannerConfig::default();
        assert_eq!(parsed.cadences, default.cadences);
        assert_eq!(parsed.segments, default.segments);
        assert_eq!(parsed.templates, default.templates);
        assert_eq!(parsed, default);
    }

    #[test]
    fn toml_overrides_and_native_dates() {
        let cfg: PlannerConfig = toml::from_str(
            r#"
            holidays = [2026-11-08, "2026-11-09"]
            [business_hours]
            start = 09:30:00
            end = "17:00"
            [countries.SA]
            weekend = ["Friday", "sat"]
            [fx.rates]
            USD = "84"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.holidays.len(), 2);
        assert_eq!(cfg.business_hours.start, jiff::civil::time(9, 30, 0, 0));
        assert_eq!(cfg.countries["SA"].weekend.unwrap().len(), 2);
        // untouched parts keep their defaults
        assert_eq!(cfg.cadences, default_cadences());
        assert!(toml::from_str::<PlannerConfig>("oops = 1").is_err());
        assert!(toml::from_str::<PlannerConfig>("[fx.rates]\nUSD = 83.25").is_err());
    }
}
