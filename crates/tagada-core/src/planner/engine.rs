//! The planner's work: per-invoice decisions, per-buyer grouping, timing and
//! rendering. Everything expensive is done once per plan (template
//! compilation, segment rules) or once per distinct key (time zones,
//! calendars, buyers); the rest is hash lookups and one sort, O(n log n).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{Plan, PlannedItem, PlannedMessage, ReminderRecord, SkipReason, Skipped, Snapshot};
use crate::cadence::{Cadence, PlannerConfig, StepPosition};
use crate::calendar::BusinessCalendar;
use crate::ledger::{Buyer, Invoice, InvoiceStatus};
use crate::outbox::OutboxStatus;
use crate::segment::{HistoryPayment, HistorySum, Segmenter, StatsBuilder, TodayRange};
use crate::template::{InvoiceLine, MessageContext, TemplateSet};
use crate::{BuyerId, CountryCode, InvoiceId};

/// Adds whole days to a civil date (saturating at the ends of the calendar).
fn add_days(d: Date, days: i32) -> Date {
    d.saturating_add(jiff::Span::new().days(days))
}

/// What the planner knows about one buyer, computed once.
struct BuyerInfo<'a> {
    buyer: &'a Buyer,
    zone_name: String,
    /// The zone and the buyer-local date of `now`, or why the zone is unusable.
    zone: Result<(TimeZone, Date), String>,
    country: CountryCode,
    /// Segment name, cadence, tone; computed on first need.
    segment: Option<Result<Segment<'a>, String>>,
}

#[derive(Clone)]
struct Segment<'a> {
    name: &'a str,
    cadence: &'a str,
    tone: &'a str,
}

/// An invoice that gets a reminder, before grouping.
struct Candidate<'a> {
    invoice: &'a Invoice,
    cadence_name: &'a str,
    cadence: &'a Cadence,
    step: u32,
    step_name: String,
    offset_days: i32,
    template: &'a str,
    escalate: bool,
}

/// A buyer's sums and payments from the snapshot's history.
#[derive(Default)]
struct BuyerHistory<'a> {
    sums: Vec<&'a HistorySum>,
    payments: Vec<&'a HistoryPayment>,
}

struct Planner<'a> {
    config: &'a PlannerConfig,
    now: Timestamp,
    templates: TemplateSet,
    segmenter: Segmenter<'a>,
    buyers: HashMap<BuyerId, &'a Buyer>,
    invoices_by_buyer: HashMap<BuyerId, Vec<&'a Invoice>>,
    history_by_buyer: HashMap<BuyerId, BuyerHistory<'a>>,
    history_today: TodayRange,
    reminders: HashMap<InvoiceId, Vec<&'a ReminderRecord>>,
    last_messages: HashMap<BuyerId, Vec<Timestamp>>,
    zones: HashMap<String, Result<TimeZone, String>>,
    calendars: HashMap<CountryCode, BusinessCalendar>,
    cadence_problems: HashMap<&'a str, String>,
    info: HashMap<BuyerId, BuyerInfo<'a>>,
}

pub(super) fn run(snapshot: &Snapshot, config: &PlannerConfig, now: Timestamp) -> Plan {
    let mut p = Planner::new(snapshot, config, now);
    let mut skipped = Vec::new();
    let mut per_buyer: BTreeMap<BuyerId, Vec<Candidate<'_>>> = BTreeMap::new();
    let mut seen: HashSet<InvoiceId> = HashSet::with_capacity(snapshot.invoices.len());
    for invoice in &snapshot.invoices {
        let outcome = if seen.insert(invoice.id) {
            p.decide(invoice)
        } else {
            Err(SkipReason::ConfigError {
                message: "invoice listed twice in the snapshot".to_string(),
            })
        };
        match outcome {
            Ok(c) => per_buyer.entry(invoice.buyer_id).or_default().push(c),
            Err(reason) => skipped.push(skip(invoice, reason)),
        }
    }
    let mut messages = Vec::with_capacity(per_buyer.len());
    for (buyer_id, mut items) in per_buyer {
        items.sort_by(|a, b| {
            (a.invoice.due_date, a.invoice.id).cmp(&(b.invoice.due_date, b.invoice.id))
        });
        match p.message(buyer_id, &items) {
            Ok(m) => messages.push(m),
            Err(message) => {
                for c in &items {
                    skipped.push(skip(
                        c.invoice,
                        SkipReason::ConfigError {
                            message: message.clone(),
                        },
                    ));
                }
            }
        }
    }
    messages.sort_by_key(|m| (m.send_at, m.buyer_id));
    skipped.sort_by_key(|s| (s.buyer_id, s.invoice_id));
    Plan {
        now,
        messages,
        skipped,
        not_loaded_not_yet_due: snapshot.not_loaded_not_yet_due,
    }
}

fn skip(invoice: &Invoice, reason: SkipReason) -> Skipped {
    Skipped {
        invoice_id: invoice.id,
        invoice_number: invoice.number.clone(),
        buyer_id: invoice.buyer_id,
        reason,
    }
}

fn config_error(message: impl Into<String>) -> SkipReason {
    SkipReason::ConfigError {
        message: message.into(),
    }
}

/// `hi-IN` → `hi`; empty → `None`.
fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (!primary.is_empty()).then_some(primary)
}

impl<'a> Planner<'a> {
    fn new(snapshot: &'a Snapshot, config: &'a PlannerConfig, now: Timestamp) -> Planner<'a> {
        let buyers = snapshot.buyers.iter().map(|b| (b.id, b)).collect();
        let mut invoices_by_buyer: HashMap<BuyerId, Vec<&Invoice>> = HashMap::new();
        for inv in &snapshot.invoices {
            invoices_by_buyer.entry(inv.buyer_id).or_default().push(inv);
        }
        let mut history_by_buyer: HashMap<BuyerId, BuyerHistory<'a>> = HashMap::new();
        for s in &snapshot.history.sums {
            history_by_buyer.entry(s.buyer_id).or_default().sums.push(s);
        }
        for p in &snapshot.history.payments {
            history_by_buyer
                .entry(p.buyer_id)
                .or_default()
                .payments
                .push(p);
        }
        let mut reminders: HashMap<InvoiceId, Vec<&ReminderRecord>> = HashMap::new();
        for r in &snapshot.reminders {
            reminders.entry(r.invoice_id).or_default().push(r);
        }
        let mut last_messages: HashMap<BuyerId, Vec<Timestamp>> = HashMap::new();
        for (b, at) in &snapshot.last_message {
            last_messages.entry(*b).or_default().push(*at);
        }
        let cadence_problems = config
            .cadences
            .iter()
            .filter_map(|(name, c)| {
                let problems = c.problems();
                (!problems.is_empty()).then(|| {
                    (
                        name.as_str(),
                        format!("cadence `{name}` {}", problems.join("; ")),
                    )
                })
            })
            .collect();
        Planner {
            config,
            now,
            templates: TemplateSet::new(&config.templates),
            segmenter: Segmenter::new(&config.segments, config.fx.home_currency),
            buyers,
            invoices_by_buyer,
            history_by_buyer,
            history_today: snapshot.history.today,
            reminders,
            last_messages,
            zones: HashMap::new(),
            calendars: HashMap::new(),
            cadence_problems,
            info: HashMap::new(),
        }
    }

    fn zone(&mut self, name: &str) -> Result<TimeZone, String> {
        if let Some(z) = self.zones.get(name) {
            return z.clone();
        }
        let z = TimeZone::get(name).map_err(|e| format!("time zone `{name}`: {e}"));
        self.zones.insert(name.to_string(), z.clone());
        z
    }

    fn calendar(&mut self, country: &CountryCode) -> &BusinessCalendar {
        if !self.calendars.contains_key(country) {
            let c = self.config.calendar_for(country);
            self.calendars.insert(country.clone(), c);
        }
        &self.calendars[country]
    }

    /// Computes (once) where and when the buyer is.
    fn ensure_info(&mut self, buyer: &'a Buyer) {
        if self.info.contains_key(&buyer.id) {
            return;
        }
        // Country: the buyer's, else their number's, else the default.
        let known_country = buyer
            .country
            .clone()
            .or_else(|| buyer.whatsapp.as_ref().and_then(|p| p.country()));
        // Zone: the buyer's own, else their country's, else the home zone.
        let zone_name = match (&buyer.time_zone, &known_country) {
            (Some(z), _) => z.clone(),
            (None, Some(c)) if c.default_time_zone() != "UTC" => c.default_time_zone().to_string(),
            _ => self.config.home_time_zone.clone(),
        };
        let country = known_country.unwrap_or_else(|| self.config.default_country.clone());
        let now = self.now;
        let zone = self.zone(&zone_name).map(|tz| {
            let today = tz.to_datetime(now).date();
            (tz, today)
        });
        self.info.insert(
            buyer.id,
            BuyerInfo {
                buyer,
                zone_name,
                zone,
                country,
                segment: None,
            },
        );
    }

    fn segment(&mut self, buyer_id: BuyerId) -> Result<Segment<'a>, String> {
        let info = self.info.get(&buyer_id).expect("buyer info computed first");
        if let Some(s) = &info.segment {
            return s.clone();
        }
        let (tz, today) = info.zone.clone()?;
        let invoices = self
            .invoices_by_buyer
            .get(&buyer_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut stats = StatsBuilder::new(today, &tz);
        for inv in invoices {
            stats.invoice(inv);
        }
        if let Some(h) = self.history_by_buyer.get(&buyer_id) {
            for s in &h.sums {
                stats.sum(s, &self.history_today)?;
            }
            for p in &h.payments {
                stats.payment(p.due_date, p.paid_at);
            }
        }
        let stats = stats.finish(&self.config.fx);
        let picked = match self.segmenter.choose(&stats) {
            Ok(Some(rule)) => Ok(Segment {
                name: &rule.name,
                cadence: &rule.cadence,
                tone: &rule.tone,
            }),
            Ok(None) => Ok(Segment {
                name: "none",
                cadence: "",
                tone: "neutral",
            }),
            Err(e) => Err(e),
        };
        if let Some(info) = self.info.get_mut(&buyer_id) {
            info.segment = Some(picked.clone());
        }
        picked
    }

    /// The reminder an invoice needs now, or why it gets none.
    fn decide(&mut self, invoice: &'a Invoice) -> Result<Candidate<'a>, SkipReason> {
        match invoice.status {
            InvoiceStatus::Paid => return Err(SkipReason::Paid),
            InvoiceStatus::Cancelled => return Err(SkipReason::Cancelled),
            InvoiceStatus::Disputed => return Err(SkipReason::Disputed),
            InvoiceStatus::Pending | InvoiceStatus::InProcess | InvoiceStatus::PartiallyPaid => {}
        }
        if invoice.outstanding().is_zero() {
            // fully paid on the books, whatever the status says
            return Err(SkipReason::Paid);
        }
        let Some(buyer) = self.buyers.get(&invoice.buyer_id).copied() else {
            return Err(config_error(format!(
                "buyer {} is not in the snapshot",
                invoice.buyer_id
            )));
        };
        if buyer.opted_out_at.is_some() {
            return Err(SkipReason::OptedOut);
        }
        if buyer.paused || invoice.paused {
            return Err(SkipReason::Paused);
        }
        self.ensure_info(buyer);
        let info = &self.info[&buyer.id];
        let (_, today) = info.zone.clone().map_err(config_error)?;
        if let Some(until) = buyer.paused_until
            && until >= today
        {
            return Err(SkipReason::BuyerPausedUntil { until });
        }
        if let Some(until) = invoice.snoozed_until
            && until >= today
        {
            return Err(SkipReason::SnoozedUntil { until });
        }
        if !self.config.consent.allows(buyer.consent.is_some()) {
            return Err(SkipReason::NoConsent);
        }
        if buyer.whatsapp.is_none() {
            return Err(SkipReason::NoValidNumber);
        }
        let segment = self.segment(buyer.id).map_err(config_error)?;
        let cadence_name: &'a str = invoice
            .cadence_override
            .as_deref()
            .or(buyer.cadence_override.as_deref())
            .unwrap_or(segment.cadence);
        if cadence_name.is_empty() {
            return Err(config_error(
                "no segment rule matches this buyer and no cadence override is set",
            ));
        }
        let Some((cadence_key, cadence)) = self.config.cadences.get_key_value(cadence_name) else {
            return Err(config_error(format!("unknown cadence `{cadence_name}`")));
        };
        if let Some(problem) = self.cadence_problems.get(cadence_name) {
            return Err(config_error(problem.clone()));
        }
        let days = invoice.days_overdue(today);
        let (index, capped) = match cadence.position(days) {
            StepPosition::NotYet { first_offset } => {
                return Err(SkipReason::NotYetDue {
                    next_step_on: add_days(invoice.due_date, first_offset),
                });
            }
            StepPosition::NoSteps => return Err(SkipReason::CapReached),
            StepPosition::Due { index, capped } => (index, capped),
        };
        let Some(step) = cadence.step(index) else {
            return Err(config_error(format!(
                "cadence `{cadence_name}` has no step {index}"
            )));
        };
        let step_date = add_days(invoice.due_date, step.offset_days);
        if let Some(blocking) = self.recorded(invoice, index, step_date, buyer.id) {
            return Err(if capped {
                SkipReason::CapReached
            } else {
                SkipReason::AlreadyReminded {
                    step: blocking.step,
                    status: blocking.status,
                }
            });
        }
        Ok(Candidate {
            invoice,
            cadence_name: cadence_key,
            cadence,
            step: index,
            step_name: step.name,
            offset_days: step.offset_days,
            template: step.template,
            escalate: step.escalate,
        })
    }

    /// A live (not cancelled) reminder of this invoice's cycle that already
    /// covers the step: the step itself, or any reminder scheduled on or after
    /// the step's date in the buyer's zone (one message covers the steps whose
    /// dates it follows).
    fn recorded(
        &self,
        invoice: &Invoice,
        step: u32,
        step_date: Date,
        buyer: BuyerId,
    ) -> Option<&'a ReminderRecord> {
        let records = self.reminders.get(&invoice.id)?;
        let tz = self
            .info
            .get(&buyer)
            .and_then(|i| i.zone.as_ref().ok())
            .map(|z| &z.0);
        let live = records
            .iter()
            .copied()
            .filter(|r| r.cycle == invoice.reminder_cycle && r.status != OutboxStatus::Cancelled);
        let mut covering = None;
        for r in live {
            if r.step == step {
                return Some(r);
            }
            if covering.is_none()
                && let Some(tz) = tz
                && tz.to_datetime(r.scheduled_at).date() >= step_date
            {
                covering = Some(r);
            }
        }
        covering
    }

    /// Builds the one message for a buyer's invoices (sorted, most overdue
    /// first); an error skips them all with `ConfigError`.
    fn message(
        &mut self,
        buyer_id: BuyerId,
        items: &[Candidate<'a>],
    ) -> Result<PlannedMessage, String> {
        let info = &self.info[&buyer_id];
        let buyer = info.buyer;
        let (tz, _) = info.zone.clone()?;
        let zone_name = info.zone_name.clone();
        let country = info.country.clone();
        let segment = self.segment(buyer_id)?;
        let now = self.now;

        // Days already used for this buyer (one message a day).
        let blocked: BTreeSet<Date> = if self.config.max_messages_per_buyer_per_day <= 1 {
            self.last_messages
                .get(&buyer_id)
                .into_iter()
                .flatten()
                .map(|at| tz.to_datetime(*at).date())
                .collect()
        } else {
            BTreeSet::new()
        };
        let calendar = self.calendar(&country);
        let mut earliest = tz.to_datetime(now).date();
        let send_at = loop {
            let Some(at) = calendar.next_open(now, &tz, earliest) else {
                return Err(format!(
                    "no business hours found in the {country} calendar ({zone_name})"
                ));
            };
            let day = tz.to_datetime(at).date();
            if blocked.contains(&day) {
                earliest = add_days(day, 1);
                continue;
            }
            break at;
        };
        let send_day = tz.to_datetime(send_at).date();

        let lead = &items[0];
        let template_key = if items.len() > 1 {
            self.config.consolidated_template.as_str()
        } else {
            lead.template
        };
        let tone = lead.cadence.tone.as_deref().unwrap_or(segment.tone);
        let language = buyer
            .language
            .as_deref()
            .and_then(primary_language)
            .unwrap_or_else(|| self.config.default_language.clone());
        let seller = &self.config.seller;
        let buyer_name = [Some(&buyer.name), buyer.company.as_ref()]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "Customer".to_string());
        let lines: Vec<InvoiceLine> = items
            .iter()
            .map(|c| InvoiceLine {
                number: c.invoice.number.clone(),
                amount: c.invoice.amount,
                outstanding: c.invoice.outstanding(),
                due_date: c.invoice.due_date,
                days_overdue: c.invoice.days_overdue(send_day),
                payment_link: match &c.invoice.pay_token {
                    Some(token) => seller.pay_page(token),
                    None => seller.payment_link(&c.invoice.number),
                },
            })
            .collect();
        let ctx = MessageContext {
            company: buyer
                .company
                .clone()
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| buyer_name.clone()),
            buyer_name,
            seller_company: seller.company.clone(),
            sales_rep: buyer
                .sales_rep
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| seller.company.clone()),
            payment_link: lines[0].payment_link.clone(),
            invoices: lines,
        };
        let message = self
            .templates
            .render(template_key, tone, &language, &ctx)
            .map_err(|e| e.to_string())?;

        let planned: Vec<PlannedItem> = items
            .iter()
            .zip(&ctx.invoices)
            .map(|(c, line)| PlannedItem {
                invoice_id: c.invoice.id,
                invoice_number: c.invoice.number.clone(),
                step: c.step,
                step_name: c.step_name.clone(),
                offset_days: c.offset_days,
                cycle: c.invoice.reminder_cycle,
                outstanding: line.outstanding,
                due_date: c.invoice.due_date,
                days_overdue: line.days_overdue,
            })
            .collect();
        let mut keyed: Vec<(InvoiceId, u32, u32)> = planned
            .iter()
            .map(|i| (i.invoice_id, i.step, i.cycle))
            .collect();
        keyed.sort();
        let dedupe_key = format!(
            "b{}:{}",
            buyer_id.get(),
            keyed
                .iter()
                .map(|(i, s, c)| format!("i{}.{s}.{c}", i.get()))
                .collect::<Vec<_>>()
                .join(",")
        );
        let priority = planned
            .iter()
            .map(|i| {
                self.config
                    .fx
                    .to_home(i.outstanding)
                    .unwrap_or(i.outstanding)
                    .minor()
            })
            .fold(0i64, i64::saturating_add);
        Ok(PlannedMessage {
            buyer_id,
            buyer_name: buyer.name.clone(),
            to: buyer
                .whatsapp
                .clone()
                .ok_or_else(|| "buyer has no WhatsApp number".to_string())?,
            send_at,
            zone: zone_name,
            segment: segment.name.to_string(),
            cadence: lead.cadence_name.to_string(),
            items: planned,
            message,
            escalate: items.iter().any(|c| c.escalate),
            sales_rep: buyer.sales_rep.clone(),
            dedupe_key,
            priority,
        })
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn languages_reduce_to_primary_subtag() {
        assert_eq!(primary_language("hi-IN").as_deref(), Some("hi"));
        assert_eq!(primary_language(" EN_us ").as_deref(), Some("en"));
        assert_eq!(primary_language(""), None);
    }
}
