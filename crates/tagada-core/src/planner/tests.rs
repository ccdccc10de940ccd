//! Planner unit tests, all at fixed instants.

use jiff::Timestamp;
use jiff::civil::{Date, date};

use super::*;
use crate::cadence::{CountryCalendarConfig, PlannerConfig};
use crate::ledger::{Consent, InvoiceStatus};
use crate::{CountryCode, Currency};

/// Wednesday 2 Dec 2026, 12:00 in India (06:30 UTC).
pub(super) fn wednesday_noon_ist() -> Timestamp {
    ts("2026-12-02T06:30:00Z")
}

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(super) fn buyer(id: i64, country: &str, phone: &str) -> Buyer {
    let mut b = Buyer::new(BuyerId::new(id), format!("Buyer {id}"));
    b.country = Some(CountryCode::parse(country).unwrap());
    b.whatsapp = Some(Phone::try_from(phone.to_string()).unwrap());
    b.company = Some(format!("Company {id}"));
    b
}

pub(super) fn invoice(id: i64, buyer: i64, due: Date, rupees: i64) -> Invoice {
    Invoice {
        id: InvoiceId::new(id),
        number: format!("INV-{id}"),
        buyer_id: BuyerId::new(buyer),
        order_date: None,
        invoice_date: due.saturating_sub(jiff::Span::new().days(30)),
        due_date: due,
        credit_days: Some(30),
        amount: Money::from_minor(rupees * 100, Currency::INR),
        amount_paid: Money::zero(Currency::INR),
        status: InvoiceStatus::Pending,
        snoozed_until: None,
        paused: false,
        cadence_override: None,
        paid_at: None,
        reminder_cycle: 0,
        pay_token: None,
    }
}

fn days_before(d: Date, n: i32) -> Date {
    d.saturating_sub(jiff::Span::new().days(n))
}

const TODAY: Date = date(2026, 12, 2);

fn snapshot(buyers: Vec<Buyer>, invoices: Vec<Invoice>) -> Snapshot {
    Snapshot {
        buyers,
        invoices,
        ..Snapshot::default()
    }
}

fn only_message(p: &Plan) -> &PlannedMessage {
    assert_eq!(p.messages.len(), 1, "{:#?}", p);
    &p.messages[0]
}

fn reason_of(p: &Plan, invoice: i64) -> &SkipReason {
    &p.skipped
        .iter()
        .find(|s| s.invoice_id == InvoiceId::new(invoice))
        .unwrap_or_else(|| panic!("invoice {invoice} not skipped: {p:#?}"))
        .reason
}

#[test]
fn catch_up_sends_only_the_latest_step() {
    let cfg = PlannerConfig::default();
    // imported 24 days overdue: steps -3, 0, +7, +14 and +21 have all come;
    // only +21 goes out.
    let s = snapshot(
        vec![buyer(1, "IN", "+919812345678")],
        vec![invoice(1, 1, days_before(TODAY, 24), 50_000)],
    );
    let p = plan(&s, &cfg, wednesday_noon_ist());
    let m = only_message(&p);
    assert_eq!(m.items.len(), 1);
    assert_eq!(m.items[0].step, 4);
    assert_eq!(m.items[0].step_name, "overdue+21");
    assert_eq!(m.items[0].days_overdue, 24);
    assert_eq!(m.message.template_key, "overdue_firm");
    assert_eq!(m.send_at, wednesday_noon_ist());

    // 30 days overdue, the standard cadence's first repeat (+28) is the latest.
    let s = snapshot(
        vec![buyer(1, "IN", "+919812345678")],
        vec![invoice(1, 1, days_before(TODAY, 30), 50_000)],
    );
    let p = plan(&s, &cfg, wednesday_noon_ist());
    let m = only_message(&p);
    assert_eq!(
        (m.items[0].step, m.items[0].step_name.as_str()),
        (5, "repeat+28")
    );
}

#[test]
fn a_missed_step_is_sent_at_the_next_window_not_dropped() {
    let cfg = PlannerConfig::default();
    // +7 came two days ago (Monday) and nothing was sent (downtime).
    let inv = invoice(1, 1, days_before(TODAY, 9), 10_000);
    // after hours: Wednesday 20:00 IST → Thursday 10:00 IST
    let evening = ts("2026-12-02T14:30:00Z");
    let s = snapshot(vec![buyer(1, "IN", "+919812345678")], vec![inv.clone()]);
    let p = plan(&s, &cfg, evening);
    let m = only_message(&p);
    assert_eq!(m.items[0].step_name, "overdue+7");
    assert_eq!(m.send_at, ts("2026-12-03T04:30:00Z"));
    assert_eq!(m.items[0].days_overdue, 10, "counted on the sending day");

    // Once recorded, it is not planned again...
    let mut s2 = s.clone();
    s2.reminders.push(ReminderRecord {
        invoice_id: InvoiceId::new(1),
        step: 2,
        cycle: 0,
        status: OutboxStatus::Sent,
        scheduled_at: ts("2026-12-03T04:30:00Z"),
    });
    let p = plan(&s2, &cfg, evening);
    assert!(p.messages.is_empty());
    assert_eq!(
        reason_of(&p, 1),
        &SkipReason::AlreadyReminded {
            step: 2,
            status: OutboxStatus::Sent
        }
    );
    // ...unless that reminder was cancelled.
    s2.reminders[0].status = OutboxStatus::Cancelled;
    assert_eq!(plan(&s2, &cfg, evening).messages.len(), 1);

    // A new cycle (dispute resolved) starts again.
    let mut s3 = s2.clone();
    s3.reminders[0].status = OutboxStatus::Sent;
    s3.invoices[0].reminder_cycle = 1;
    let p = plan(&s3, &cfg, evening);
    assert_eq!(only_message(&p).items[0].cycle, 1);
    assert_eq!(only_message(&p).dedupe_key, "b1:i1.2.1");
}

#[test]
fn a_reminder_sent_on_or_after_a_step_date_covers_it() {
    let cfg = PlannerConfig::default();
    // due today; the -3 reminder was held back by a weekend and went out today.
    let s = Snapshot {
        reminders: vec![ReminderRecord {
            invoice_id: InvoiceId::new(1),
            step: 0,
            cycle: 0,
            status: OutboxStatus::Sent,
            scheduled_at: ts("2026-12-02T04:30:00Z"),
        }],
        ..snapshot(
            vec![buyer(1, "IN", "+919812345678")],
            vec![invoice(1, 1, TODAY, 10_000)],
        )
    };
    let p = plan(&s, &cfg, wednesday_noon_ist());
    assert_eq!(
        reason_of(&p, 1),
        &SkipReason::AlreadyReminded {
            step: 0,
            status: OutboxStatus::Sent
        }
    );
}

#[test]
fn one_message_per_buyer_lists_all_due_invoices() {
    let cfg = PlannerConfig::default();
    let s = snapshot(
        vec![
            buyer(7, "IN", "+919812345678"),
            buyer(8, "IN", "+919812345679"),
        ],
        vec![
            invoice(30, 7, days_before(TODAY, 8), 20_000),  // +7
            invoice(10, 7, days_before(TODAY, -3), 5_000),  // -3 (upcoming)
            invoice(20, 7, days_before(TODAY, 15), 12_500), // +14
            invoice(40, 7, days_before(TODAY, -20), 9_999), // not yet
            invoice(50, 8, days_before(TODAY, 1), 1_000),   // due (0)
        ],
    );
    let p = plan(&s, &cfg, wednesday_noon_ist());
    assert_eq!(p.messages.len(), 2);
    let m = p.messages.iter().find(|m| m.buyer_id.get() == 7).unwrap();
    let ids: Vec<i64> = m.items.iter().map(|i| i.invoice_id.get()).collect();
    assert_eq!(ids, [20, 30, 10], "most overdue first");
    // four orders in 12 months: a repeat buyer, so the friendly statement
    assert_eq!(m.segment, "repeat_buyer");
    assert_eq!(m.message.template_key, "statement_friendly");
    assert_eq!(m.message.whatsapp_name, "account_statement_friendly");
    assert_eq!(m.dedupe_key, "b7:i10.0.0,i20.3.0,i30.2.0");
    assert!(
        m.message.body.contains("INV-20, INV-30, INV-10") || m.message.body.contains("INV-20:")
    );
    assert!(m.message.body.contains("₹37,500.00"), "{}", m.message.body);
    assert_eq!(
        reason_of(&p, 40),
        &SkipReason::NotYetDue {
            next_step_on: date(2026, 12, 19)
        }
    );
    let single = p.messages.iter().find(|m| m.buyer_id.get() == 8).unwrap();
    assert_eq!(single.message.template_key, "due_today");
    assert_eq!(single.items[0].step_name, "due");
}

fn history(buyer_id: i64, id0: i64, n: i64, days_late: i32) -> Vec<Invoice> {
    (0..n)
        .map(|k| {
            let due = days_before(TODAY, 60 + 20 * k as i32);
            let mut i = invoice(id0 + k, buyer_id, due, 10_000);
            i.status = InvoiceStatus::Paid;
            i.amount_paid = i.amount;
            let paid_on = due.saturating_add(jiff::Span::new().days(days_late));
            i.paid_at = Some(ts(&format!("{paid_on}T06:30:00Z")));
            i
        })
        .collect()
}

#[test]
fn segments_pick_cadence_and_tone_and_overrides_win() {
    let cfg = PlannerConfig::default();
    // Buyer 1 paid 3 invoices ~20 days late: late payer → tight, firm.
    // Buyer 2 has 5 orders on time: repeat buyer → friendly.
    // Buyer 3 is new: default → standard.
    let mut invoices = history(1, 100, 3, 20);
    invoices.extend(history(2, 200, 4, 0));
    invoices.push(invoice(1, 1, days_before(TODAY, 3), 10_000));
    invoices.push(invoice(2, 2, days_before(TODAY, 7), 10_000));
    invoices.push(invoice(3, 3, days_before(TODAY, 7), 10_000));
    let s = snapshot(
        vec![
            buyer(1, "IN", "+919812345671"),
            buyer(2, "IN", "+919812345672"),
            buyer(3, "IN", "+919812345673"),
        ],
        invoices,
    );
    let p = plan(&s, &cfg, wednesday_noon_ist());
    let by = |b: i64| p.messages.iter().find(|m| m.buyer_id.get() == b).unwrap();
    let m1 = by(1);
    assert_eq!(
        (m1.segment.as_str(), m1.cadence.as_str()),
        ("late_payer", "tight")
    );
    assert_eq!(m1.items[0].step_name, "overdue+3");
    assert_eq!(m1.message.template_key, "overdue_firm", "firm tone");
    let m2 = by(2);
    assert_eq!(
        (m2.segment.as_str(), m2.cadence.as_str()),
        ("repeat_buyer", "friendly")
    );
    assert_eq!(m2.message.template_key, "overdue_friendly");
    let m3 = by(3);
    assert_eq!(
        (m3.segment.as_str(), m3.cadence.as_str()),
        ("default", "standard")
    );
    assert_eq!(m3.message.template_key, "overdue");
    // history invoices are skipped as paid
    assert_eq!(reason_of(&p, 100), &SkipReason::Paid);

    // Buyer override beats the segment; invoice override beats the buyer's.
    let mut s2 = s.clone();
    s2.buyers[2].cadence_override = Some("large".into());
    let p = plan(&s2, &cfg, wednesday_noon_ist());
    let m3 = p.messages.iter().find(|m| m.buyer_id.get() == 3).unwrap();
    assert_eq!(
        (m3.segment.as_str(), m3.cadence.as_str()),
        ("default", "large")
    );
    assert_eq!(m3.message.template_key, "statement");
    assert!(m3.escalate, "large escalates from +7");
    s2.invoices.last_mut().unwrap().cadence_override = Some("friendly".into());
    let p = plan(&s2, &cfg, wednesday_noon_ist());
    let m3 = p.messages.iter().find(|m| m.buyer_id.get() == 3).unwrap();
    assert_eq!(m3.cadence, "friendly");
    assert_eq!(
        m3.message.template_key, "overdue_friendly",
        "the cadence's own tone"
    );
    s2.invoices.last_mut().unwrap().cadence_override = Some("nope".into());
    let p = plan(&s2, &cfg, wednesday_noon_ist());
    assert!(matches!(
        reason_of(&p, 3),
        SkipReason::ConfigError { message } if message.contains("`nope`")
    ));
}

#[test]
fn escalation_follows_the_steps() {
    let cfg = PlannerConfig::default();
    let mut b = buyer(1, "IN", "+919812345671");
    b.cadence_override = Some("tight".into());
    b.sales_rep = Some("Priya".into());
    let s = snapshot(vec![b], vec![invoice(1, 1, days_before(TODAY, 10), 10_000)]);
    let p = plan(&s, &cfg, wednesday_noon_ist());
    let m = only_message(&p);
    assert_eq!(m.items[0].step_name, "overdue+10");
    assert!(m.escalate);
    assert_eq!(m.sales_rep.as_deref(), Some("Priya"));
    assert!(m.message.body.contains("Priya"));
}

#[test]
fn weekends_follow_the_buyers_country() {
    let cfg = PlannerConfig::default();
    let due = days_before(date(2026, 12, 5), 7);
    let invoices = vec![
        invoice(1, 1, due, 10_000),
        invoice(2, 2, due, 10_000),
        invoice(3, 3, due, 10_000),
    ];
    let s = snapshot(
        vec![
            buyer(1, "AE", "+971501234567"),
            buyer(2, "IN", "+919812345678"),
            buyer(3, "US", "+14155552671"),
        ],
        invoices,
    );
    // Saturday 5 Dec 2026, 11:00 in Dubai (07:00 UTC)
    let saturday = ts("2026-12-05T07:00:00Z");
    let p = plan(&s, &cfg, saturday);
    let at = |b: i64| {
        let m = p.messages.iter().find(|m| m.buyer_id.get() == b).unwrap();
        (m.zone.clone(), m.send_at)
    };
    // UAE: Saturday and Sunday off → Monday 10:00 Dubai (06:00 UTC)
    assert_eq!(at(1), ("Asia/Dubai".into(), ts("2026-12-07T06:00:00Z")));
    // India works Saturdays: now (12:30 IST)
    assert_eq!(at(2), ("Asia/Kolkata".into(), saturday));
    // US: Saturday 02:00 in New York → Monday 10:00 EST (15:00 UTC)
    assert_eq!(
        at(3),
        ("America/New_York".into(), ts("2026-12-07T15:00:00Z"))
    );

    // Saudi Arabia: Friday and Saturday off. Friday 4 Dec, 11:00 Riyadh.
    let s = snapshot(
        vec![buyer(4, "SA", "+966501234567")],
        vec![invoice(4, 4, days_before(date(2026, 12, 4), 7), 10_000)],
    );
    let p = plan(&s, &cfg, ts("2026-12-04T08:00:00Z"));
    let m = only_message(&p);
    assert_eq!(m.zone, "Asia/Riyadh");
    // Sunday 6 Dec 10:00 Riyadh = 07:00 UTC
    assert_eq!(m.send_at, ts("2026-12-06T07:00:00Z"));
}

#[test]
fn holidays_from_config_are_skipped() {
    let mut cfg = PlannerConfig {
        holidays: vec![date(2026, 12, 2)],
        ..PlannerConfig::default()
    };
    cfg.countries.insert(
        "IN".into(),
        CountryCalendarConfig {
            holidays: vec![date(2026, 12, 3)],
            ..CountryCalendarConfig::default()
        },
    );
    let s = snapshot(
        vec![
            buyer(1, "IN", "+919812345678"),
            buyer(2, "AE", "+971501234567"),
        ],
        vec![
            invoice(1, 1, days_before(TODAY, 7), 10_000),
            invoice(2, 2, days_before(TODAY, 7), 10_000),
        ],
    );
    let p = plan(&s, &cfg, wednesday_noon_ist());
    let at = |b: i64| {
        p.messages
            .iter()
            .find(|m| m.buyer_id.get() == b)
            .unwrap()
            .send_at
    };
    // India: global holiday Wed, country holiday Thu → Fri 10:00 IST
    assert_eq!(at(1), ts("2026-12-04T04:30:00Z"));
    // UAE: only the global holiday → Thu 10:00 Dubai
    assert_eq!(at(2), ts("2026-12-03T06:00:00Z"));
}

#[test]
fn one_message_a_day_per_buyer() {
    let cfg = PlannerConfig::default();
    let s = Snapshot {
        last_message: vec![(BuyerId::new(1), ts("2026-12-02T05:00:00Z"))],
        ..snapshot(
            vec![buyer(1, "IN", "+919812345678")],
            vec![invoice(1, 1, days_before(TODAY, 7), 10_000)],
        )
    };
    let p = plan(&s, &cfg, wednesday_noon_ist());
    assert_eq!(only_message(&p).send_at, ts("2026-12-03T04:30:00Z"));
    // a message yesterday does not block today
    let mut s2 = s.clone();
    s2.last_message[0].1 = ts("2026-12-01T05:00:00Z");
    assert_eq!(
        only_message(&plan(&s2, &cfg, wednesday_noon_ist())).send_at,
        wednesday_noon_ist()
    );
}

#[test]
fn every_skip_reason() {
    let mut cfg = PlannerConfig::default();
    let due = days_before(TODAY, 7);
    let mut invoices = Vec::new();
    let mut buyers = Vec::new();
    let mut add = |id: i64, f: &dyn Fn(&mut Buyer, &mut Invoice)| {
        let mut b = buyer(id, "IN", "+919812345678");
        let mut i = invoice(id, id, due, 1_000);
        f(&mut b, &mut i);
        buyers.push(b);
        invoices.push(i);
    };
    add(1, &|_, i| {
        i.status = InvoiceStatus::Paid;
        i.amount_paid = i.amount;
    });
    add(2, &|_, i| i.status = InvoiceStatus::Cancelled);
    add(3, &|_, i| i.status = InvoiceStatus::Disputed);
    add(4, &|_, i| i.snoozed_until = Some(TODAY));
    add(5, &|_, i| i.paused = true);
    add(6, &|b, _| b.paused = true);
    add(7, &|b, _| b.paused_until = Some(date(2026, 12, 10)));
    add(8, &|b, _| b.opted_out_at = Some(ts("2026-11-01T00:00:00Z")));
    add(9, &|_, _| {});
    add(10, &|b, _| b.whatsapp = None);
    add(11, &|_, i| i.due_date = date(2027, 1, 31));
    add(12, &|_, i| i.due_date = date(2025, 1, 1));
    add(13, &|b, _| {
        b.consent = Some(Consent {
            at: ts("2026-01-01T00:00:00Z"),
            source: "manual".into(),
        })
    });
    add(14, &|_, i| i.snoozed_until = Some(date(2026, 12, 1)));
    add(15, &|b, _| b.time_zone = Some("Mars/Olympus".into()));
    cfg.consent.order_implies_consent = false;
    let mut s = snapshot(buyers, invoices);
    s.reminders.push(ReminderRecord {
        invoice_id: InvoiceId::new(12),
        step: 9,
        cycle: 0,
        status: OutboxStatus::Sent,
        scheduled_at: ts("2025-03-01T05:00:00Z"),
    });
    s.invoices.push(invoice(99, 404, due, 1));
    let p = plan(&s, &cfg, wednesday_noon_ist());
    use SkipReason as R;
    assert_eq!(reason_of(&p, 1), &R::Paid);
    assert_eq!(reason_of(&p, 2), &R::Cancelled);
    assert_eq!(reason_of(&p, 3), &R::Disputed);
    assert_eq!(reason_of(&p, 4), &R::SnoozedUntil { until: TODAY });
    assert_eq!(reason_of(&p, 5), &R::Paused);
    assert_eq!(reason_of(&p, 6), &R::Paused);
    assert_eq!(
        reason_of(&p, 7),
        &R::BuyerPausedUntil {
            until: date(2026, 12, 10)
        }
    );
    assert_eq!(reason_of(&p, 8), &R::OptedOut);
    assert_eq!(reason_of(&p, 9), &R::NoConsent);
    assert!(matches!(reason_of(&p, 15), R::ConfigError { message } if message.contains("Mars")));
    assert!(matches!(reason_of(&p, 99), R::ConfigError { message } if message.contains("B404")));
    // consented buyers still get theirs; a snooze that ended yesterday is over
    let ids: Vec<i64> = p.messages.iter().map(|m| m.buyer_id.get()).collect();
    assert_eq!(ids, [13]);
    cfg.consent.order_implies_consent = true;
    let p = plan(&s, &cfg, wednesday_noon_ist());
    assert_eq!(reason_of(&p, 10), &R::NoValidNumber);
    assert_eq!(
        reason_of(&p, 11),
        &R::NotYetDue {
            next_step_on: date(2027, 1, 28)
        }
    );
    assert_eq!(reason_of(&p, 12), &R::CapReached);
    let ids: Vec<i64> = p.messages.iter().map(|m| m.buyer_id.get()).collect();
    assert_eq!(ids, [9, 13, 14]);
    assert_eq!(p.messages.len() + p.skipped.len(), s.invoices.len());
}

#[test]
fn zone_and_calendar_come_from_the_phone_when_the_country_is_unknown() {
    let cfg = PlannerConfig::default();
    let mut b = buyer(1, "IN", "+971501234567");
    b.country = None;
    let s = snapshot(vec![b], vec![invoice(1, 1, days_before(TODAY, 7), 10_000)]);
    // Saturday 11:00 Dubai
    let p = plan(&s, &cfg, ts("2026-12-05T07:00:00Z"));
    let m = only_message(&p);
    assert_eq!(m.zone, "Asia/Dubai");
    assert_eq!(m.send_at, ts("2026-12-07T06:00:00Z"));
}

#[test]
fn buyer_language_picks_the_template_language() {
    let cfg = PlannerConfig::default();
    let mut hi = buyer(1, "IN", "+919812345671");
    hi.language = Some("hi-IN".into());
    let mut es = buyer(2, "ES", "+34612345678");
    es.language = Some("es".into());
    let s = snapshot(
        vec![hi, es],
        vec![
            invoice(1, 1, days_before(TODAY, 7), 10_000),
            invoice(2, 2, days_before(TODAY, 7), 10_000),
        ],
    );
    let p = plan(&s, &cfg, ts("2026-12-02T10:00:00Z"));
    let lang = |b: i64| {
        p.messages
            .iter()
            .find(|m| m.buyer_id.get() == b)
            .unwrap()
            .message
            .language
            .clone()
    };
    assert_eq!(lang(1), "hi");
    assert_eq!(lang(2), "es");
}

#[test]
fn snapshot_of_a_small_plan() {
    let mut cfg = PlannerConfig::default();
    cfg.seller.company = "Shree Ganesh Exports".into();
    cfg.seller.payment_link_base_url = "https://pay.example.in".into();
    let mut hi = buyer(2, "IN", "+919812345672");
    hi.language = Some("hi".into());
    hi.name = "Suresh Patel".into();
    hi.sales_rep = Some("Priya Sharma".into());
    let mut us = buyer(3, "US", "+14155552671");
    us.name = "Jane Miller".into();
    let mut usd = invoice(5, 3, days_before(TODAY, 14), 0);
    usd.amount = Money::from_minor(1_250 * 100, Currency::USD);
    let mut partly = invoice(3, 2, days_before(TODAY, -3), 80_000);
    partly.amount_paid = Money::from_minor(30_000 * 100, Currency::INR);
    partly.status = InvoiceStatus::PartiallyPaid;
    let s = snapshot(
        vec![buyer(1, "AE", "+971501234567"), hi, us],
        vec![
            invoice(1, 1, days_before(TODAY, 0), 250_000),
            invoice(2, 2, days_before(TODAY, 21), 118_000),
            partly,
            invoice(4, 2, days_before(TODAY, -30), 5_000),
            usd,
        ],
    );
    let p = plan(&s, &cfg, wednesday_noon_ist());
    insta::assert_json_snapshot!("small_plan", p);
}

/// Times `plan` over 10,000 due invoices; run with
/// `cargo test -p tagada-core --release -- --ignored --nocapture planner_scale`.
#[test]
#[ignore = "a timing run, not a check"]
fn planner_scale() {
    let cfg = PlannerConfig::default();
    let countries = [
        ("IN", "+9198"),
        ("AE", "+97150"),
        ("US", "+1415"),
        ("GB", "+4477"),
        ("DE", "+49151"),
    ];
    let mut buyers = Vec::new();
    let mut invoices = Vec::new();
    for b in 0..10_000i64 {
        let (c, prefix) = countries[(b % 5) as usize];
        let digits = match c {
            "IN" => 8,
            "AE" => 7,
            "US" => 7,
            "GB" => 8,
            _ => 8,
        };
        let phone = format!("{prefix}{:0width$}", b, width = digits);
        buyers.push(buyer(b, c, &phone));
    }
    for i in 0..10_000i64 {
        invoices.push(invoice(
            i,
            i % 10_000,
            days_before(TODAY, (i % 60) as i32 - 5),
            1_000 + i,
        ));
    }
    let s = snapshot(buyers, invoices);
    let started = std::time::Instant::now();
    let p = plan(&s, &cfg, wednesday_noon_ist());
    let took = started.elapsed();
    eprintln!(
        "planned {} messages, {} skipped, in {took:?}",
        p.messages.len(),
        p.skipped.len()
    );
}
