//! Business calendars: which local days are working days for a buyer, which
//! hours of those days messages may go out, and the first instant at or after
//! `now` that falls inside them.
//!
//! Everything here is civil-time logic over a [`TimeZone`]; the caller
//! resolves zone names once and passes the zone in.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

/// How far ahead [`BusinessCalendar::next_open`] looks before giving up (a
/// calendar whose every day is a weekend or holiday never opens).
const SEARCH_DAYS: u32 = 800;

/// Daily sending hours in local wall-clock time: `start` inclusive, `end`
/// exclusive. Written `"HH:MM"` in config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[serde(with = "hhmm")]
    pub start: Time,
    #[serde(with = "hhmm")]
    pub end: Time,
}

impl Default for BusinessHours {
    /// 10:00–18:00.
    fn default() -> Self {
        BusinessHours {
            start: Time::constant(10, 0, 0, 0),
            end: Time::constant(18, 0, 0, 0),
        }
    }
}

impl BusinessHours {
    /// Whether a local wall-clock time is inside the hours.
    pub fn contains(&self, t: Time) -> bool {
        self.start <= t && t < self.end
    }

    /// A window that never opens (`start >= end`) is a configuration error.
    pub fn is_valid(&self) -> bool {
        self.start < self.end
    }
}

/// A set of weekdays (a weekend), written as names in config:
/// `["fri", "sat"]` or `["Friday", "Saturday"]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WeekdaySet(u8);

impl WeekdaySet {
    pub const EMPTY: WeekdaySet = WeekdaySet(0);

    pub fn from_days(days: &[Weekday]) -> WeekdaySet {
        let mut s = WeekdaySet::EMPTY;
        for d in days {
            s.insert(*d);
        }
        s
    }

    pub fn insert(&mut self, day: Weekday) {
        self.0 |= 1 << day.to_monday_zero_offset();
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.to_monday_zero_offset()) != 0
    }

    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The days in Monday-first order.
    pub fn days(self) -> impl Iterator<Item = Weekday> {
        (0..7i8)
            .filter_map(|i| Weekday::from_monday_zero_offset(i).ok())
            .filter(move |d| self.contains(*d))
    }
}

impl fmt::Debug for WeekdaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.days().map(weekday_name))
            .finish()
    }
}

/// The short lowercase name used in config (`mon` … `sun`).
pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "mon",
        Weekday::Tuesday => "tue",
        Weekday::Wednesday => "wed",
        Weekday::Thursday => "thu",
        Weekday::Friday => "fri",
        Weekday::Saturday => "sat",
        Weekday::Sunday => "sun",
    }
}

/// Parses `mon`, `Monday`, `MONDAY`... (three-letter prefix or full name).
pub fn parse_weekday(input: &str) -> Option<Weekday> {
    let lower = input.trim().to_ascii_lowercase();
    let all = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    all.into_iter()
        .find(|(name, _)| lower == *name || (lower.len() == 3 && name.starts_with(&lower)))
        .map(|(_, d)| d)
}

impl Serialize for WeekdaySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len() as usize))?;
        for d in self.days() {
            seq.serialize_element(weekday_name(d))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for WeekdaySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut set = WeekdaySet::EMPTY;
        for n in &names {
            let day = parse_weekday(n).ok_or_else(|| {
                de::Error::custom(format!(
                    "`{n}` is not a weekday (use mon, tue, wed, thu, fri, sat, sun)"
                ))
            })?;
            set.insert(day);
        }
        Ok(set)
    }
}

/// One country's (or the fallback) working calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    pub weekend: WeekdaySet,
    pub holidays: BTreeSet<Date>,
    pub hours: BusinessHours,
}

impl BusinessCalendar {
    /// A working day: not a weekend day and not a holiday.
    pub fn is_business_day(&self, date: Date) -> bool {
        !self.weekend.contains(date.weekday()) && !self.holidays.contains(&date)
    }

    /// Whether `at` is inside business hours on a business day in `tz`.
    pub fn is_open(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let local = tz.to_datetime(at);
        self.is_business_day(local.date()) && self.hours.contains(local.time())
    }

    /// The first instant at or after `now`, on a local date at or after
    /// `earliest`, that is inside business hours on a business day in `tz`:
    /// `now` itself when it already is; the day's window start when `now` is
    /// earlier that day; otherwise the start of the next business day's
    /// window. A window start that falls in a DST gap resolves forward (jiff's
    /// compatible disambiguation); a start repeated by a DST fold uses its
    /// first occurrence, or the second when `now` lies between the two.
    ///
    /// `None` when no such instant exists within about two years (every day a
    /// weekend or holiday, or `start >= end`).
    pub fn next_open(&self, now: Timestamp, tz: &TimeZone, earliest: Date) -> Option<Timestamp> {
        if !self.hours.is_valid() || self.weekend.len() >= 7 {
            return None;
        }
        let today = tz.to_datetime(now).date();
        let mut day = today.max(earliest);
        for _ in 0..SEARCH_DAYS {
            if self.is_business_day(day)
                && let Some(at) = self.first_open_on(day, now, tz)
            {
                return Some(at);
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The first open instant `>= now` whose local date is `day` (a business day).
    fn first_open_on(&self, day: Date, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let open_on_day = |at: Timestamp| {
            let local = tz.to_datetime(at);
            at >= now && local.date() == day && self.hours.contains(local.time())
        };
        if open_on_day(now) {
            return Some(now);
        }
        let start = tz.to_ambiguous_timestamp(day.to_datetime(self.hours.start));
        if let Ok(at) = start.compatible()
            && open_on_day(at)
        {
            return Some(at);
        }
        // Rare shapes: `now` between the two occurrences of a folded start, or
        // a DST transition that moves the wall clock into the window (a fold
        // crossing `end`). Transition instants and the later start cover them.
        let mut best: Option<Timestamp> = None;
        let mut consider = |at: Timestamp| {
            if open_on_day(at) && best.is_none_or(|b| at < b) {
                best = Some(at);
            }
        };
        if let Ok(at) = start.later() {
            consider(at);
        }
        let from = tz
            .to_ambiguous_timestamp(day.to_datetime(Time::midnight()))
            .earlier()
            .ok()?;
        let until = from
            .checked_add(jiff::SignedDuration::from_hours(30))
            .ok()?;
        let from = from.checked_sub(jiff::SignedDuration::from_hours(6)).ok()?;
        for transition in tz.following(from) {
            let at = transition.timestamp();
            if at > until {
                break;
            }
            consider(at);
        }
        best
    }
}

/// `"HH:MM"` (or `"HH:MM:SS"`) serde for [`Time`]; also accepts TOML's native
/// local-time values.
pub mod hhmm {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        if t.second() == 0 {
            s.serialize_str(&format!("{:02}:{:02}", t.hour(), t.minute()))
        } else {
            s.serialize_str(&format!(
                "{:02}:{:02}:{:02}",
                t.hour(),
                t.minute(),
                t.second()
            ))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = d.deserialize_any(StrOrTomlDatetime("a time as \"HH:MM\""))?;
        parse_hhmm(&s).ok_or_else(|| {
            de::Error::custom(format!("`{s}` is not a time of day (write \"HH:MM\")"))
        })
    }
}

/// Parses `"10:00"`, `"9:30"` or `"18:00:00"`.
pub fn parse_hhmm(input: &str) -> Option<Time> {
    let mut parts = input.trim().split(':');
    let h: i8 = parts.next()?.parse().ok()?;
    let m: i8 = parts.next()?.parse().ok()?;
    let s: i8 = match parts.next() {
        Some(x) => x.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::new(h, m, s, 0).ok()
}

/// Serde for lists of civil dates written `"2026-01-26"` (TOML's native
/// local dates are accepted too).
pub mod dates {
    use super::*;

    pub fn serialize<S: Serializer>(dates: &[Date], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(dates.len()))?;
        for d in dates {
            seq.serialize_element(&d.to_string())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Date>, D::Error> {
        struct Dates;
        impl<'de> Visitor<'de> for Dates {
            type Value = Vec<Date>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of dates like \"2026-01-26\"")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Date>, A::Error> {
                let mut out = Vec::new();
                while let Some(one) = seq.next_element::<OneDate>()? {
                    out.push(one.0);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Dates)
    }

    struct OneDate(Date);

    impl<'de> Deserialize<'de> for OneDate {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = d.deserialize_any(StrOrTomlDatetime("a date as \"YYYY-MM-DD\""))?;
            s.trim()
                .parse::<Date>()
                .map(OneDate)
                .map_err(|e| de::Error::custom(format!("`{s}` is not a date: {e}")))
        }
    }
}

/// Accepts a string, or TOML's private one-field datetime map, as a string.
struct StrOrTomlDatetime(&'static str);

impl<'de> Visitor<'de> for StrOrTomlDatetime {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let Some((_, value)) = map.next_entry::<String, String>()? else {
            return Err(de::Error::custom(format!("expected {}", self.0)));
        };
        if map.next_entry::<String, String>()?.is_some() {
            return Err(de::Error::custom(format!("expected {}", self.0)));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn cal(
        weekend: &[Weekday],
        holidays: &[Date],
        start: (i8, i8),
        end: (i8, i8),
    ) -> BusinessCalendar {
        BusinessCalendar {
            weekend: WeekdaySet::from_days(weekend),
            holidays: holidays.iter().copied().collect(),
            hours: BusinessHours {
                start: Time::constant(start.0, start.1, 0, 0),
                end: Time::constant(end.0, end.1, 0, 0),
            },
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    #[test]
    fn inside_window_is_now() {
        let c = cal(&[Weekday::Sunday], &[], (10, 0), (18, 0));
        // Wednesday 2026-12-02 12:00 IST
        let now = ts("2026-12-02T06:30:00Z");
        let k = tz("Asia/Kolkata");
        assert_eq!(c.next_open(now, &k, date(2026, 12, 2)), Some(now));
    }

    #[test]
    fn before_window_is_window_start_after_is_next_day() {
        let c = cal(&[Weekday::Sunday], &[], (10, 0), (18, 0));
        let k = tz("Asia/Kolkata");
        // 07:00 IST
        let early = ts("2026-12-02T01:30:00Z");
        assert_eq!(
            c.next_open(early, &k, date(2026, 12, 2)),
            Some(ts("2026-12-02T04:30:00Z"))
        );
        // 19:00 IST Saturday -> Monday 10:00 (Sunday is the weekend)
        let late = ts("2026-12-05T13:30:00Z");
        assert_eq!(
            c.next_open(late, &k, date(2026, 12, 5)),
            Some(ts("2026-12-07T04:30:00Z"))
        );
    }

    #[test]
    fn earliest_date_and_holidays_push_forward() {
        let c = cal(&[Weekday::Sunday], &[date(2026, 12, 3)], (10, 0), (18, 0));
        let k = tz("Asia/Kolkata");
        let now = ts("2026-12-02T06:30:00Z");
        // not today (earliest is tomorrow), tomorrow is a holiday
        assert_eq!(
            c.next_open(now, &k, date(2026, 12, 3)),
            Some(ts("2026-12-04T04:30:00Z"))
        );
    }

    #[test]
    fn end_is_exclusive() {
        let c = cal(&[], &[], (10, 0), (18, 0));
        let k = tz("Asia/Kolkata");
        let at_end = ts("2026-12-02T12:30:00Z"); // 18:00 IST
        assert!(!c.is_open(at_end, &k));
        assert_eq!(
            c.next_open(at_end, &k, date(2026, 12, 1)),
            Some(ts("2026-12-03T04:30:00Z"))
        );
    }

    #[test]
    fn window_start_in_dst_gap_resolves_forward() {
        // New York springs forward at 02:00 on 2026-03-08 (to 03:00).
        let c = cal(&[], &[], (2, 30), (18, 0));
        let ny = tz("America/New_York");
        let now = ts("2026-03-08T05:00:00Z"); // 00:00 EST
        let got = c.next_open(now, &ny, date(2026, 3, 8)).unwrap();
        // compatible: 02:30 does not exist; 03:30 EDT = 07:30Z
        assert_eq!(got, ts("2026-03-08T07:30:00Z"));
        assert!(c.is_open(got, &ny));
    }

    #[test]
    fn fold_uses_second_occurrence_when_now_is_between() {
        // London falls back at 02:00 BST to 01:00 GMT on 2026-10-25.
        let c = cal(&[], &[], (1, 30), (18, 0));
        let lon = tz("Europe/London");
        // first 01:45 BST = 00:45Z is inside; second 01:10 GMT = 01:10Z is not
        let between = ts("2026-10-25T01:10:00Z");
        assert!(!c.is_open(between, &lon));
        let got = c.next_open(between, &lon, date(2026, 10, 25)).unwrap();
        assert_eq!(got, ts("2026-10-25T01:30:00Z"));
    }

    #[test]
    fn berlin_business_hours_follow_summer_time() {
        let c = cal(&[Weekday::Saturday, Weekday::Sunday], &[], (10, 0), (18, 0));
        let ber = tz("Europe/Berlin");
        // Friday 2026-07-03 20:00 CEST -> Monday 10:00 CEST = 08:00Z
        let now = ts("2026-07-03T18:00:00Z");
        assert_eq!(
            c.next_open(now, &ber, date(2026, 7, 3)),
            Some(ts("2026-07-06T08:00:00Z"))
        );
        // winter: Monday 10:00 CET = 09:00Z
        let now = ts("2026-12-04T18:00:00Z");
        assert_eq!(
            c.next_open(now, &ber, date(2026, 12, 4)),
            Some(ts("2026-12-07T09:00:00Z"))
        );
    }

    #[test]
    fn never_open_calendars_give_none() {
        let all = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        let k = tz("Asia/Kolkata");
        let now = ts("2026-12-02T06:30:00Z");
        assert_eq!(
            cal(&all, &[], (10, 0), (18, 0)).next_open(now, &k, date(2026, 12, 2)),
            None
        );
        assert_eq!(
            cal(&[], &[], (18, 0), (10, 0)).next_open(now, &k, date(2026, 12, 2)),
            None
        );
    }

    #[test]
    fn weekday_names_parse_and_round_trip() {
        assert_eq!(parse_weekday("Fri"), Some(Weekday::Friday));
        assert_eq!(parse_weekday("SATURDAY"), Some(Weekday::Saturday));
        assert_eq!(parse_weekday("sa"), None);
        let set = WeekdaySet::from_days(&[Weekday::Sunday, Weekday::Friday]);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["fri","sun"]"#);
        let back: WeekdaySet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<WeekdaySet>(r#"["funday"]"#).is_err());
    }

    #[test]
    fn hours_parse() {
        assert_eq!(parse_hhmm("9:30"), Some(Time::constant(9, 30, 0, 0)));
        assert_eq!(parse_hhmm("18:00:15"), Some(Time::constant(18, 0, 15, 0)));
        assert_eq!(parse_hhmm("25:00"), None);
        assert_eq!(parse_hhmm("10"), None);
        let h: BusinessHours = serde_json::from_str(r#"{"start":"09:00","end":"17:30"}"#).unwrap();
        assert_eq!(h.end, Time::constant(17, 30, 0, 0));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"start":"09:00","end":"17:30"}"#
        );
    }

    const ZONES: &[&str] = &[
        "Asia/Kolkata",
        "Asia/Dubai",
        "Asia/Riyadh",
        "Asia/Kathmandu",
        "America/New_York",
        "America/Sao_Paulo",
        "Europe/London",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/Havana",
        "UTC",
    ];

    fn any_weekday() -> impl Strategy<Value = Weekday> {
        (0i8..7).prop_map(|i| Weekday::from_monday_zero_offset(i).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever the instant, zone and calendar: the answer is open, on a
        /// business day, not before `now` nor before `earliest`, and is `now`
        /// itself when `now` is open.
        #[test]
        fn next_open_is_open_and_not_early(
            secs in 1_700_000_000i64..1_900_000_000,
            zone in prop::sample::select(ZONES),
            weekend in prop::collection::vec(any_weekday(), 0..4),
            holiday_offsets in prop::collection::vec(0i32..40, 0..8),
            start_min in 0i32..(23 * 60),
            len_min in 1i32..(12 * 60),
            earliest_offset in -3i32..5,
        ) {
            let now = Timestamp::from_second(secs).unwrap();
            let zone = tz(zone);
            let today = zone.to_datetime(now).date();
            let holidays: Vec<Date> = holiday_offsets
                .iter()
                .map(|o| today.checked_add(jiff::Span::new().days(*o)).unwrap())
                .collect();
            let end_min = (start_min + len_min).min(24 * 60 - 1);
            let c = BusinessCalendar {
                weekend: WeekdaySet::from_days(&weekend),
                holidays: holidays.into_iter().collect(),
                hours: BusinessHours {
                    start: Time::new((start_min / 60) as i8, (start_min % 60) as i8, 0, 0).unwrap(),
                    end: Time::new((end_min / 60) as i8, (end_min % 60) as i8, 0, 0).unwrap(),
                },
            };
            let earliest = today.checked_add(jiff::Span::new().days(earliest_offset)).unwrap();
            let got = c.next_open(now, &zone, earliest);
            let got = got.expect("a calendar with a working day opens within the search window");
            prop_assert!(got >= now);
            prop_assert!(c.is_open(got, &zone));
            let local = zone.to_datetime(got);
            prop_assert!(local.date() >= earliest);
            prop_assert!(c.is_business_day(local.date()));
            if earliest <= today && c.is_open(now, &zone) {
                prop_assert_eq!(got, now);
            }
        }
    }
}
