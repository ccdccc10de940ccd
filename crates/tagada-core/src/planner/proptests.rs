//! Planner properties over random ledgers, reminder histories, calendars and
//! instants.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday, date};
use jiff::tz::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::cadence::{CountryCalendarConfig, PlannerConfig};
use crate::calendar::{BusinessHours, WeekdaySet};
use crate::ledger::{Consent, InvoiceStatus};
use crate::{CountryCode, Currency};

const BASE: Date = date(2026, 11, 1);

/// (country, a valid mobile number prefix, digits to append)
const COUNTRIES: &[(&str, &str, usize)] = &[
    ("IN", "+9198", 8),
    ("AE", "+97150", 7),
    ("SA", "+96650", 7),
    ("US", "+1415555", 4),
    ("GB", "+447700", 6),
    ("DE", "+49151", 8),
];

const ZONES: &[&str] = &[
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Dubai",
];

const OVERRIDES: &[&str] = &["standard", "tight", "large", "friendly", "nope"];

const LANGUAGES: &[&str] = &["en", "hi", "es", "fr", "hi-IN"];

fn add_days(d: Date, n: i32) -> Date {
    d.saturating_add(jiff::Span::new().days(n))
}

fn at_minutes(minutes: i64) -> Timestamp {
    // BASE at 00:00 UTC plus minutes
    let start: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    start
        .checked_add(jiff::SignedDuration::from_mins(minutes))
        .unwrap()
}

#[derive(Debug, Clone)]
struct BuyerGen {
    country: usize,
    country_known: bool,
    zone: Option<usize>,
    has_phone: bool,
    opted_out: bool,
    paused: bool,
    paused_until: Option<i32>,
    consent: bool,
    language: Option<usize>,
    cadence_override: Option<usize>,
}

fn buyer_gen() -> impl Strategy<Value = BuyerGen> {
    (
        (
            0..COUNTRIES.len(),
            prop::bool::weighted(0.8),
            prop::option::weighted(0.2, 0..ZONES.len()),
        ),
        (
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
        ),
        prop::option::weighted(0.15, -10i32..40),
        any::<bool>(),
        prop::option::weighted(0.5, 0..LANGUAGES.len()),
        prop::option::weighted(0.2, 0..OVERRIDES.len()),
    )
        .prop_map(
            |(
                (country, country_known, zone),
                (has_phone, opted_out, paused),
                paused_until,
                consent,
                language,
                cadence_override,
            )| BuyerGen {
                country,
                country_known,
                zone,
                has_phone,
                opted_out,
                paused,
                paused_until,
                consent,
                language,
                cadence_override,
            },
        )
}

#[derive(Debug, Clone)]
struct InvoiceGen {
    buyer: usize,
    due: i32,
    status: usize,
    rupees: i64,
    paid_pct: i64,
    currency: usize,
    snoozed: Option<i32>,
    paused: bool,
    cadence_override: Option<usize>,
    cycle: u32,
    paid_late: Option<i32>,
}

fn invoice_gen() -> impl Strategy<Value = InvoiceGen> {
    (
        (0usize..64, -400i32..60, 0..InvoiceStatus::ALL.len()),
        (1i64..5_000_000, 0i64..100, 0usize..3),
        (
            prop::option::weighted(0.15, -10i32..40),
            prop::bool::weighted(0.1),
        ),
        (
            prop::option::weighted(0.1, 0..OVERRIDES.len()),
            0u32..2,
            prop::option::of(-5i32..40),
        ),
    )
        .prop_map(
            |(
                (buyer, due, status),
                (rupees, paid_pct, currency),
                (snoozed, paused),
                (cadence_override, cycle, paid_late),
            )| InvoiceGen {
                buyer,
                due,
                status,
                rupees,
                paid_pct,
                currency,
                snoozed,
                paused,
                cadence_override,
                cycle,
                paid_late,
            },
        )
}

#[derive(Debug, Clone)]
struct World {
    snapshot: Snapshot,
    config: PlannerConfig,
    now: Timestamp,
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(buyer_gen(), 1..12),
        prop::collection::vec(invoice_gen(), 1..30),
        prop::collection::vec(
            (
                0usize..64,
                0u32..16,
                0u32..2,
                0..OutboxStatus::ALL.len(),
                0i64..(90 * 1440),
            ),
            0..25,
        ),
        prop::collection::vec((0usize..64, 0i64..(90 * 1440)), 0..6),
        0i64..(75 * 1440),
        (
            prop::collection::vec(0i32..90, 0..4),
            prop::option::of((
                0..COUNTRIES.len(),
                prop::collection::vec(0i8..7, 0..3),
                6i8..12,
                13i8..21,
            )),
            1u32..3,
        ),
    )
        .prop_map(
            |(bs, is, rs, lms, now_min, (holidays, country_over, per_day))| {
                let buyers: Vec<Buyer> = bs
                    .iter()
                    .enumerate()
                    .map(|(k, g)| {
                        let id = k as i64 + 1;
                        let mut b = Buyer::new(BuyerId::new(id), format!("Buyer {id}"));
                        let (code, prefix, digits) = COUNTRIES[g.country];
                        if g.country_known {
                            b.country = Some(CountryCode::parse(code).unwrap());
                        }
                        if g.has_phone {
                            let n = format!("{prefix}{:0width$}", 1000 + id, width = digits);
                            b.whatsapp = Some(Phone::try_from(n).unwrap());
                        }
                        b.time_zone = g.zone.map(|z| ZONES[z].to_string());
                        if g.opted_out {
                            b.opted_out_at = Some(at_minutes(0));
                        }
                        b.paused = g.paused;
                        b.paused_until = g.paused_until.map(|o| add_days(BASE, o));
                        if g.consent {
                            b.consent = Some(Consent {
                                at: at_minutes(0),
                                source: "test".into(),
                            });
                        }
                        b.language = g.language.map(|l| LANGUAGES[l].to_string());
                        b.cadence_override = g.cadence_override.map(|o| OVERRIDES[o].to_string());
                        b
                    })
                    .collect();
                let currencies = [Currency::INR, Currency::USD, Currency::AED];
                let invoices: Vec<Invoice> = is
                    .iter()
                    .enumerate()
                    .map(|(k, g)| {
                        let id = k as i64 + 1;
                        let due = add_days(BASE, g.due);
                        let cur = currencies[g.currency];
                        let amount = g.rupees * 100;
                        let status = InvoiceStatus::ALL[g.status];
                        let paid = match status {
                            InvoiceStatus::Paid => amount,
                            InvoiceStatus::PartiallyPaid => amount * g.paid_pct / 100,
                            _ => 0,
                        };
                        Invoice {
                            id: InvoiceId::new(id),
                            number: format!("INV/{id}"),
                            buyer_id: BuyerId::new((g.buyer % buyers.len()) as i64 + 1),
                            order_date: None,
                            invoice_date: add_days(due, -30),
                            due_date: due,
                            credit_days: Some(30),
                            amount: Money::from_minor(amount, cur),
                            amount_paid: Money::from_minor(paid, cur),
                            status,
                            snoozed_until: g.snoozed.map(|o| add_days(BASE, o)),
                            paused: g.paused,
                            cadence_override: g.cadence_override.map(|o| OVERRIDES[o].to_string()),
                            paid_at: match (status, g.paid_late) {
                                (InvoiceStatus::Paid, Some(l)) => Some(
                                    add_days(due, l)
                                        .at(12, 0, 0, 0)
                                        .in_tz("UTC")
                                        .unwrap()
                                        .timestamp(),
                                ),
                                _ => None,
                            },
                            reminder_cycle: g.cycle,
                            pay_token: None,
                        }
                    })
                    .collect();
                let reminders = rs
                    .iter()
                    .map(|(inv, step, cycle, status, at)| ReminderRecord {
                        invoice_id: InvoiceId::new((inv % invoices.len()) as i64 + 1),
                        step: *step,
                        cycle: *cycle,
                        status: OutboxStatus::ALL[*status],
                        scheduled_at: at_minutes(*at),
                    })
                    .collect();
                let last_message = lms
                    .iter()
                    .map(|(b, at)| (BuyerId::new((b % buyers.len()) as i64 + 1), at_minutes(*at)))
                    .collect();
                let mut config = PlannerConfig {
                    holidays: holidays.iter().map(|o| add_days(BASE, *o)).collect(),
                    max_messages_per_buyer_per_day: per_day,
                    ..PlannerConfig::default()
                };
                if let Some((c, weekend, start, end)) = country_over {
                    let days: Vec<Weekday> = weekend
                        .iter()
                        .map(|d| Weekday::from_monday_zero_offset(*d).unwrap())
                        .collect();
                    config.countries.insert(
                        COUNTRIES[c].0.to_string(),
                        CountryCalendarConfig {
                            weekend: Some(WeekdaySet::from_days(&days)),
                            holidays: vec![add_days(BASE, 20)],
                            business_hours: Some(BusinessHours {
                                start: Time::constant(start, 30, 0, 0),
                                end: Time::constant(end, 0, 0, 0),
                            }),
                        },
                    );
                }
                World {
                    snapshot: Snapshot {
                        buyers,
                        invoices,
                        reminders,
                        last_message,
                        history: Default::default(),
                        not_loaded_not_yet_due: 0,
                    },
                    config,
                    now: at_minutes(now_min),
                }
            },
        )
}

/// The buyer's country as the planner sees it.
fn country_of(b: &Buyer, cfg: &PlannerConfig) -> CountryCode {
    b.country
        .clone()
        .or_else(|| b.whatsapp.as_ref().and_then(|p| p.country()))
        .unwrap_or_else(|| cfg.default_country.clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn plans_respect_every_rule(w in world()) {
        let World { snapshot: s, config: cfg, now } = w;
        let p = plan(&s, &cfg, now);
        let buyers: HashMap<BuyerId, &Buyer> = s.buyers.iter().map(|b| (b.id, b)).collect();
        let invoices: HashMap<InvoiceId, &Invoice> = s.invoices.iter().map(|i| (i.id, i)).collect();

        // every invoice exactly once, in a message or skipped
        let mut seen: HashMap<InvoiceId, usize> = HashMap::new();
        for m in &p.messages {
            for i in &m.items {
                *seen.entry(i.invoice_id).or_default() += 1;
            }
        }
        for sk in &p.skipped {
            *seen.entry(sk.invoice_id).or_default() += 1;
        }
        prop_assert_eq!(seen.len(), s.invoices.len());
        prop_assert!(seen.values().all(|n| *n == 1));

        let recorded: HashSet<(InvoiceId, u32, u32)> = s
            .reminders
            .iter()
            .filter(|r| r.status != OutboxStatus::Cancelled)
            .map(|r| (r.invoice_id, r.step, r.cycle))
            .collect();
        let mut keys = HashSet::new();
        let mut per_buyer_day = HashSet::new();
        let mut dedupe = HashSet::new();
        for m in &p.messages {
            let b = buyers[&m.buyer_id];
            let tz = TimeZone::get(&m.zone).unwrap();
            let today = tz.to_datetime(now).date();
            let send_day = tz.to_datetime(m.send_at).date();
            prop_assert!(m.send_at >= now);
            let cal = cfg.calendar_for(&country_of(b, &cfg));
            prop_assert!(cal.is_open(m.send_at, &tz), "{} not open in {}", m.send_at, m.zone);
            prop_assert!(per_buyer_day.insert((m.buyer_id, send_day)));
            prop_assert!(dedupe.insert(m.dedupe_key.clone()));
            if cfg.max_messages_per_buyer_per_day == 1 {
                for (lb, at) in &s.last_message {
                    if *lb == m.buyer_id {
                        prop_assert_ne!(tz.to_datetime(*at).date(), send_day);
                    }
                }
            }
            prop_assert!(b.opted_out_at.is_none() && !b.paused && b.whatsapp.is_some());
            prop_assert!(b.paused_until.is_none_or(|u| u < today));
            prop_assert!(!m.items.is_empty());
            prop_assert!(m.message.body.chars().count() <= crate::template::MAX_BODY_CHARS);
            for item in &m.items {
                let inv = invoices[&item.invoice_id];
                prop_assert_eq!(inv.buyer_id, m.buyer_id);
                prop_assert!(inv.status.is_open());
                prop_assert!(!inv.paused);
                prop_assert!(inv.snoozed_until.is_none_or(|u| u < today));
                prop_assert!(!inv.outstanding().is_zero());
                prop_assert_eq!(item.cycle, inv.reminder_cycle);
                let key = (item.invoice_id, item.step, item.cycle);
                prop_assert!(keys.insert(key), "twice: {:?}", key);
                prop_assert!(!recorded.contains(&key), "already recorded: {:?}", key);
                // the step's date has come
                prop_assert!(add_days(inv.due_date, item.offset_days) <= today);
            }
        }
        // deterministic order
        let mut sorted = p.messages.clone();
        sorted.sort_by_key(|m| (m.send_at, m.buyer_id));
        prop_assert_eq!(&sorted, &p.messages);
        // deterministic output
        prop_assert_eq!(&plan(&s, &cfg, now), &p);

        // applying the plan and planning again at the same instant adds nothing
        let mut applied = s.clone();
        for m in &p.messages {
            for i in &m.items {
                applied.reminders.push(ReminderRecord {
                    invoice_id: i.invoice_id,
                    step: i.step,
                    cycle: i.cycle,
                    status: OutboxStatus::Pending,
                    scheduled_at: m.send_at,
                });
            }
            applied.last_message.push((m.buyer_id, m.send_at));
        }
        let again = plan(&applied, &cfg, now);
        prop_assert!(again.messages.is_empty(), "{:#?}", again.messages);
        prop_assert_eq!(again.skipped.len(), s.invoices.len());
    }

    /// The snapshot a store loads for a horizon (the invoices due by it,
    /// their buyers' other invoices summed) plans the same messages as the
    /// whole ledger.
    #[test]
    fn a_summed_history_plans_as_the_whole_ledger(w in world()) {
        let World { snapshot: whole, config: mut cfg, now } = w;
        // thresholds this small ledger crosses, so every figure counts
        use crate::segment::SegmentRule;
        cfg.segments = vec![
            SegmentRule {
                min_avg_days_late: Some(5),
                min_paid_invoices_12m: Some(1),
                ..SegmentRule::catch_all("late_payer", "tight", "firm")
            },
            SegmentRule {
                min_outstanding: Some("₹20,00,000".to_string()),
                min_revenue_12m: Some("₹40,00,000".to_string()),
                ..SegmentRule::catch_all("large_account", "large", "formal")
            },
            SegmentRule {
                min_orders_12m: Some(2),
                ..SegmentRule::catch_all("repeat_buyer", "friendly", "friendly")
            },
            SegmentRule::catch_all("default", "standard", "neutral"),
        ];
        let today_utc = TimeZone::UTC.to_datetime(now).date();
        let horizon = add_days(today_utc, cfg.max_lead_days().max(0) + 1);
        let due = |i: &Invoice| {
            (i.status.is_open() || i.status == InvoiceStatus::Disputed) && i.due_date <= horizon
        };
        let invoices: Vec<Invoice> = whole.invoices.iter().filter(|i| due(i)).cloned().collect();
        let buyer_ids: HashSet<BuyerId> = invoices.iter().map(|i| i.buyer_id).collect();
        let ids: HashSet<InvoiceId> = invoices.iter().map(|i| i.id).collect();
        let today = crate::segment::TodayRange::at(now);
        let split = Snapshot {
            buyers: whole.buyers.iter().filter(|b| buyer_ids.contains(&b.id)).cloned().collect(),
            history: crate::segment::History::summing(
                whole
                    .invoices
                    .iter()
                    .filter(|i| buyer_ids.contains(&i.buyer_id) && !ids.contains(&i.id)),
                today,
            ),
            invoices,
            reminders: whole.reminders.iter().filter(|r| ids.contains(&r.invoice_id)).cloned().collect(),
            last_message: whole.last_message.clone(),
            not_loaded_not_yet_due: 0,
        };
        let a = plan(&whole, &cfg, now);
        let b = plan(&split, &cfg, now);
        prop_assert_eq!(&a.messages, &b.messages);
        let skipped: Vec<&Skipped> = a.skipped.iter().filter(|s| ids.contains(&s.invoice_id)).collect();
        prop_assert_eq!(skipped, b.skipped.iter().collect::<Vec<_>>());
    }
}
