//! Text helpers shared by the marketplace lead clients (IndiaMART,
//! TradeIndia): blank fields, message clean-up, the "Key : value" detail
//! lines marketplaces append to an enquiry, quantities, order values, IST
//! timestamps and phone numbers written inside free text.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use tagada_core::{CountryCode, Currency, Money, Phone};

/// India Standard Time, UTC+05:30 all year (no daylight saving), the zone
/// both marketplaces write their times in.
pub fn ist() -> TimeZone {
    TimeZone::fixed(Offset::from_seconds(5 * 3600 + 30 * 60).expect("+05:30 is a valid offset"))
}

/// A field as an option: `None` for absent, empty or blank-only text;
/// otherwise the text trimmed.
pub fn non_blank(s: Option<&str>) -> Option<String> {
    let t = s?.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Reads a civil time written in IST (`2024-01-03 14:08:55`) with `format`
/// (strptime syntax) into an instant.
pub fn parse_ist(s: &str, format: &str) -> Option<Timestamp> {
    let dt = DateTime::strptime(format, s.trim()).ok()?;
    ist().to_timestamp(dt).ok()
}

/// Cleans an enquiry message for people and for parsing:
///
/// * `<br>`, `<br/>`, `<br />` (any case) and `\r\n` become one newline;
/// * a lone `\r` also becomes a newline (`"Pump.\r\rKindly send"` is two
///   lines on the marketplace's page; dropping the `\r` would glue the
///   sentences together);
/// * `<p>`/`</p>` become newlines and the inline tags `b`, `i`, `u`,
///   `strong`, `em`, `span` are dropped (other `<...>` text is kept: a
///   buyer may write `<5 mm`);
/// * HTML entities (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&apos;`,
///   `&nbsp;`, `&#NNN;`, `&#xHH;`) are decoded;
/// * each line is trimmed, runs of blank lines shrink to one,
///   and the whole text is trimmed.
///
/// Returns `None` when nothing is left.
pub fn clean_message(raw: &str) -> Option<String> {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    let without_tags = replace_tags(&unified);
    let decoded = decode_entities(&without_tags);
    let mut lines: Vec<&str> = Vec::new();
    for line in decoded.split('\n').map(str::trim) {
        let blank_before = lines.last().is_none_or(|l| l.is_empty());
        if line.is_empty() && blank_before {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let out = lines.join("\n");
    (!out.is_empty()).then_some(out)
}

/// Replaces line-break tags with `\n` and drops inline formatting tags.
fn replace_tags(s: &str) -> String {
    const BREAKS: &[&str] = &["br", "p", "/p", "div", "/div"];
    const DROPPED: &[&str] = &[
        "b", "/b", "i", "/i", "u", "/u", "strong", "/strong", "em", "/em", "span", "/span",
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = after[..close].trim();
        // The tag name: up to the first space or `/` that ends it (`br/`).
        let name = inner
            .trim_end_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if BREAKS.contains(&name.as_str()) {
            out.push('\n');
            rest = &after[close + 1..];
        } else if DROPPED.contains(&name.as_str()) {
            rest = &after[close + 1..];
        } else {
            out.push('<');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the common named entities and numeric character references;
/// anything else is left as written.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &after[..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse::<u32>().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            ch.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `Key : value` lines of a cleaned message (`Quantity :   2`), keys
/// and values trimmed, in order. Lines without a colon, with an empty side
/// or with a key longer than 40 characters (a sentence, not a label) are not
/// detail lines.
pub fn detail_lines(cleaned: &str) -> Vec<(String, String)> {
    cleaned
        .lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            let key = k.split_whitespace().collect::<Vec<_>>().join(" ");
            let value = v.trim();
            (!key.is_empty() && key.chars().count() <= 40 && !value.is_empty())
                .then(|| (key, value.to_string()))
        })
        .collect()
}

/// A quantity as the buyer wrote it: the number (kept as text, never a
/// float) and its unit when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// `2`, `500`, `2.5`.
    pub amount: String,
    /// `piece`, `Kg`, `Tonne`.
    pub unit: Option<String>,
}

impl Quantity {
    /// Reads `500 Kg`, `2`, `2.5 Tonne`, `1,000 pieces`; `None` when the text
    /// does not start with a number.
    pub fn parse(text: &str, unit: Option<&str>) -> Option<Quantity> {
        let t = text.trim();
        let end = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(t.len());
        let amount = t[..end].replace(',', "");
        if amount.is_empty()
            || !amount.starts_with(|c: char| c.is_ascii_digit())
            || amount.matches('.').count() > 1
        {
            return None;
        }
        let written_unit = non_blank(Some(&t[end..]));
        Some(Quantity {
            amount: amount.trim_end_matches('.').to_string(),
            unit: non_blank(unit).or(written_unit),
        })
    }
}

/// The order value range a marketplace states for an enquiry, e.g.
/// `Rs. 10,000 to 20,000`, `Upto Rs. 5,000`, `Rs. 1 to 2 Lakh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderValue {
    /// Lower bound, when stated.
    pub min: Option<Money>,
    /// Upper bound, when stated.
    pub max: Option<Money>,
    /// The text as written.
    pub text: String,
}

impl OrderValue {
    /// Parses the range; `None` when no bound can be read. Amounts are exact
    /// (`1.5 Lakh` is ₹1,50,000.00): a multiplier word scales the minor units
    /// by an integer, so nothing is rounded. A multiplier written only after
    /// the upper bound applies to both (`Rs. 1 to 2 Lakh`). Without a
    /// currency mark the amount is in rupees.
    pub fn parse(text: &str) -> Option<OrderValue> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        let (kind, body) = [
            ("upto", Bound::Max),
            ("up to", Bound::Max),
            ("less than", Bound::Max),
            ("below", Bound::Max),
            ("more than", Bound::Min),
            ("above", Bound::Min),
            ("over", Bound::Min),
        ]
        .iter()
        .find_map(|(prefix, kind)| {
            lower
                .starts_with(prefix)
                .then(|| (*kind, &t[prefix.len()..]))
        })
        .unwrap_or((Bound::Range, t));

        let (min, max) = match kind {
            Bound::Range => match split_range(body) {
                Some((a, b)) => {
                    // `Rs. 1 to 2 Lakh`: the upper bound's multiplier applies
                    // to a bare lower bound written smaller than it; in
                    // `Rs. 50,000 - 1.5 Lakh` the lower bound stands alone.
                    let upper = amount(b, None);
                    let lower_alone = amount(a, None);
                    let inherit = multiplier(a.trim_end()).is_none()
                        && matches!(
                            (amount(a, None), amount(strip_multiplier(b), None)),
                            (Some(x), Some(y)) if x.minor() <= y.minor()
                        );
                    let lower = if inherit {
                        amount(a, multiplier(b).map(|(factor, _)| factor))
                    } else {
                        lower_alone
                    };
                    (lower, upper)
                }
                None => {
                    let v = amount(body, None);
                    (v, v)
                }
            },
            Bound::Max => (None, amount(body, None)),
            Bound::Min => (amount(body, None), None),
        };
        (min.is_some() || max.is_some()).then(|| OrderValue {
            min,
            max,
            text: t.to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Bound {
    Range,
    Min,
    Max,
}

fn split_range(s: &str) -> Option<(&str, &str)> {
    let lower = s.to_ascii_lowercase();
    for sep in [" to ", " - ", "-", "–"] {
        if let Some(at) = lower.find(sep) {
            return Some((&s[..at], &s[at + sep.len()..]));
        }
    }
    None
}

/// A trailing multiplier word and the byte length of the text before it.
fn multiplier(s: &str) -> Option<(i64, usize)> {
    let t = s.trim_end().trim_end_matches('.');
    let lower = t.to_ascii_lowercase();
    for (word, factor) in [
        ("lakhs", 100_000),
        ("lakh", 100_000),
        ("lacs", 100_000),
        ("lac", 100_000),
        ("crores", 10_000_000),
        ("crore", 10_000_000),
        ("cr", 10_000_000),
        ("thousand", 1_000),
        ("k", 1_000),
    ] {
        if let Some(head) = lower.strip_suffix(word)
            && head.ends_with(|c: char| c.is_ascii_digit() || c.is_whitespace())
        {
            return Some((factor, head.len()));
        }
    }
    None
}

/// The text before a trailing multiplier word (or all of it).
fn strip_multiplier(s: &str) -> &str {
    let t = s.trim_end().trim_end_matches('.');
    match multiplier(t) {
        Some((_, len)) => &t[..len],
        None => t,
    }
}

/// One bound: the number (with its currency marks) before any multiplier
/// word, parsed exactly by [`Money::parse`] in rupees unless a currency is
/// written, then scaled by its own multiplier word or else by `inherited`.
fn amount(s: &str, inherited: Option<i64>) -> Option<Money> {
    let t = s.trim_end().trim_end_matches('.');
    let (number, factor) = match multiplier(t) {
        Some((factor, len)) => (&t[..len], factor),
        None => (t, inherited.unwrap_or(1)),
    };
    let inr = Currency::from_code("INR").ok();
    let m = Money::parse(number.trim(), inr).ok()?;
    let minor = m.minor().checked_mul(factor)?;
    Some(Money::from_minor(minor, m.currency()))
}

/// The first valid phone number written inside free text (`Buyer mobile:
/// +919100000002`), read with `default_region` for numbers without `+`.
/// Candidates are runs of digits with the separators people use inside
/// numbers (`+`, `-`, space, brackets) holding 10 to 15 digits.
pub fn phone_in_text(text: &str, default_region: &CountryCode) -> Option<Phone> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !(c.is_ascii_digit() || c == '+' || c == '(') {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut end = start;
        let mut digits = 0;
        while j < chars.len() {
            let (at, c) = chars[j];
            if c.is_ascii_digit() {
                digits += 1;
                end = at + 1;
            } else if !(matches!(c, '+' | '-' | ' ' | '(' | ')') && (j == i || digits > 0)) {
                break;
            }
            j += 1;
        }
        if (10..=15).contains(&digits)
            && let Ok(phone) = Phone::parse(&text[start..end], default_region)
        {
            return Some(phone);
        }
        i = j.max(i + 1);
    }
    None
}

/// Whether an e-mail address is a marketplace's masked placeholder
/// (`noreply@noreply.tradeindia.com`) or a "not available" marker (`NA`),
/// i.e. no address of the buyer.
pub fn is_masked_email(email: &str) -> bool {
    let e = email.trim().to_ascii_lowercase();
    let Some((local, domain)) = e.split_once('@') else {
        return true;
    };
    matches!(
        local,
        "noreply" | "no-reply" | "donotreply" | "do-not-reply"
    ) || domain.split('.').any(|part| part == "noreply")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("INR").unwrap())
    }

    #[test]
    fn cleans_breaks_returns_and_entities() {
        let raw = "I want to buy 1 hp Pump.\r\rKindly send price.<br> Quantity :   2<BR/>Tom &amp; Sons &lt;b&gt; &#8377;5<br />";
        assert_eq!(
            clean_message(raw).unwrap(),
            "I want to buy 1 hp Pump.\n\nKindly send price.\nQuantity :   2\nTom & Sons <b> ₹5"
        );
        assert_eq!(clean_message(" <br><br> \r\n"), None);
        assert_eq!(
            clean_message("size <5 mm & <b>bold</b>").unwrap(),
            "size <5 mm & bold"
        );
        assert_eq!(
            clean_message("a &unknown; b &#xZZ;").unwrap(),
            "a &unknown; b &#xZZ;"
        );
    }

    #[test]
    fn detail_lines_are_key_value_pairs() {
        let m = clean_message(
            "Hi.<br> Quantity :   2<br> Quantity Unit :   piece<br>Preferred Location: Local",
        )
        .unwrap();
        assert_eq!(
            detail_lines(&m),
            vec![
                ("Quantity".into(), "2".into()),
                ("Quantity Unit".into(), "piece".into()),
                ("Preferred Location".into(), "Local".into()),
            ]
        );
    }

    #[test]
    fn quantities() {
        assert_eq!(
            Quantity::parse("500 Kg", None),
            Some(Quantity {
                amount: "500".into(),
                unit: Some("Kg".into())
            })
        );
        assert_eq!(
            Quantity::parse("2", Some("piece")),
            Some(Quantity {
                amount: "2".into(),
                unit: Some("piece".into())
            })
        );
        assert_eq!(
            Quantity::parse("1,000 pieces", None).unwrap().amount,
            "1000"
        );
        assert_eq!(Quantity::parse("some", None), None);
    }

    #[test]
    fn order_values() {
        let v = OrderValue::parse("Rs. 10,000 to 20,000").unwrap();
        assert_eq!((v.min, v.max), (Some(inr(10_000_00)), Some(inr(20_000_00))));
        let v = OrderValue::parse("Rs. 1 to 2 Lakh").unwrap();
        assert_eq!(
            (v.min, v.max),
            (Some(inr(1_00_000_00)), Some(inr(2_00_000_00)))
        );
        let v = OrderValue::parse("Rs. 50,000 - 1.5 Lakh").unwrap();
        assert_eq!(
            (v.min, v.max),
            (Some(inr(50_000_00)), Some(inr(1_50_000_00)))
        );
        let v = OrderValue::parse("Upto Rs. 5,000").unwrap();
        assert_eq!((v.min, v.max), (None, Some(inr(5_000_00))));
        let v = OrderValue::parse("More than Rs. 2 Crore").unwrap();
        assert_eq!((v.min, v.max), (Some(inr(2_00_00_000_00)), None));
        let v = OrderValue::parse("USD 1,250").unwrap();
        assert_eq!(v.min.unwrap().currency().code(), "USD");
        assert_eq!(OrderValue::parse("ask me"), None);
    }

    #[test]
    fn phones_inside_text() {
        let india = CountryCode::india();
        assert_eq!(
            phone_in_text("Buyer called you. Buyer mobile: +919100000002", &india)
                .unwrap()
                .as_str(),
            "+919100000002"
        );
        assert_eq!(
            phone_in_text("call 98765 43210 after 5", &india)
                .unwrap()
                .as_str(),
            "+919876543210"
        );
        assert_eq!(phone_in_text("order 20 units by 2024-01-05", &india), None);
    }

    #[test]
    fn masked_emails() {
        assert!(is_masked_email("noreply@noreply.tradeindia.com"));
        assert!(is_masked_email("NA"));
        assert!(!is_masked_email("ti.buyer@example.com"));
    }

    #[test]
    fn ist_times() {
        let t = parse_ist("2024-01-03 14:08:55", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(t.to_string(), "2024-01-03T08:38:55Z");
    }
}
