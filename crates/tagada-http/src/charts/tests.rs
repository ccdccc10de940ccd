//! Charts read back as XML: structure, proportions, escaping, edge cases;
//! and one snapshot per chart (`examples`).

mod ageing;
mod bars;
mod examples;
mod funnel;
mod line;
mod sparkline;
mod xml;

use tagada_core::{Currency, Money};

use super::svg::{N, clean, fit};
use super::{AGEING_COLOURS, SERIES_COLOURS, percent_half_up};
use xml::El;

/// Rupees with lakh grouping, as the dashboard will label money.
pub(crate) fn inr(paise: i64) -> String {
    Money::from_minor(paise, Currency::INR).to_string()
}

/// Rupees in lakhs for axis ticks (`₹5L`, `₹2.5L`), as a dashboard would
/// label round values compactly.
pub(crate) fn lakh(paise: i64) -> String {
    let rupees = paise / 100;
    if rupees == 0 {
        "₹0".to_string()
    } else if rupees % 1_00_000 == 0 {
        format!("₹{}L", rupees / 1_00_000)
    } else if rupees % 10_000 == 0 {
        format!(
            "₹{}.{}L",
            rupees / 1_00_000,
            (rupees % 1_00_000).abs() / 10_000
        )
    } else {
        inr(paise)
    }
}

/// Basis points as a whole percentage.
pub(crate) fn percent(bp: i64) -> String {
    format!("{}%", bp / 100)
}

pub(crate) fn days(d: i64) -> String {
    if d == 1 || d == -1 {
        format!("{d} day")
    } else {
        format!("{d} days")
    }
}

/// Parses `svg` and checks what every chart owes its page: a scalable,
/// self-contained, accessible root.
pub(crate) fn chart(svg: &str, kind: &str) -> El {
    let root = xml::parse(svg);
    assert_eq!(root.name, "svg");
    assert_eq!(root.attr("xmlns"), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attr("role"), Some("img"));
    assert!(root.has_class("tg-chart"));
    assert!(root.has_class(&format!("tg-chart-{kind}")), "{kind}");
    let view_box: Vec<f64> = root
        .attr("viewBox")
        .expect("a viewBox")
        .split(' ')
        .map(|v| v.parse().expect("numbers"))
        .collect();
    assert_eq!(view_box.len(), 4);
    assert!(view_box[2] > 0.0 && view_box[3] > 0.0);
    if kind == "sparkline" {
        assert!(root.attr("width").is_some_and(|w| w.ends_with("em")));
    } else {
        assert_eq!(root.attr("width"), Some("100%"));
        assert_eq!(root.attr("height"), None);
    }
    // The title comes first, and the root is labelled by the title and described by the desc.
    let first = root.elements().next().expect("children");
    assert_eq!(first.name, "title");
    assert!(!first.text().trim().is_empty());
    let desc = root.desc().expect("a desc");
    assert!(!desc.trim().is_empty());
    let id_of = |name: &str| {
        root.elements()
            .find(|e| e.name == name)
            .and_then(|e| e.attr("id"))
    };
    assert!(id_of("title").is_some_and(|id| id.starts_with("tg-")));
    assert_eq!(root.attr("aria-labelledby"), id_of("title"));
    assert_eq!(root.attr("aria-describedby"), id_of("desc"));
    // Self-contained: no script, style, links, images or fonts.
    for e in root.descendants() {
        assert!(
            !matches!(
                e.name.as_str(),
                "script" | "style" | "a" | "image" | "use" | "foreignObject" | "font-face"
            ),
            "<{}> in a chart",
            e.name
        );
        for (k, v) in &e.attrs {
            assert!(
                !k.contains("href") && !k.starts_with("on"),
                "{k} in a chart"
            );
            assert!(!v.contains("url("), "{k}={v} in a chart");
        }
    }
    // Every coordinate is a plain finite number.
    for e in root.descendants() {
        for key in [
            "x", "y", "width", "height", "cx", "cy", "r", "x1", "x2", "y1", "y2",
        ] {
            if let Some(v) = e.attr(key)
                && e.name != "svg"
            {
                let v: f64 = v.parse().unwrap_or_else(|_| panic!("{key}={v:?}"));
                assert!(v.is_finite());
            }
        }
    }
    root
}

/// The empty state every chart draws without data.
pub(crate) fn assert_empty(svg: &str, kind: &str) {
    let root = chart(svg, kind);
    assert_eq!(root.desc().as_deref(), Some("No data yet."));
    assert_eq!(root.texts("tg-label"), ["No data yet"]);
    assert_eq!(root.find("g", "tg-empty").len(), 1);
}

/// `<script>` in caller text comes out as text, never as markup.
pub(crate) const HOSTILE: &str = "<script>alert('x')</script> & \"co\"";

pub(crate) fn assert_no_raw_markup(svg: &str) {
    assert!(!svg.contains("<script"), "raw <script> in {svg}");
    assert!(!svg.contains("'x'"), "raw quote in {svg}");
}

#[test]
fn coordinates_print_short() {
    assert_eq!(N(12.345).to_string(), "12.35");
    assert_eq!(N(20.0).to_string(), "20");
    assert_eq!(N(-0.001).to_string(), "0");
    assert_eq!(N(0.1 + 0.2).to_string(), "0.3");
    assert_eq!(N(f64::NAN).to_string(), "0");
    assert_eq!(N(-3.5).to_string(), "-3.5");
}

#[test]
fn text_is_cleaned_to_one_line() {
    assert_eq!(
        clean("  Sharma\n\tTraders \u{0}Pvt\u{7}  Ltd "),
        "Sharma Traders Pvt Ltd"
    );
    assert_eq!(clean(""), "");
}

#[test]
fn long_text_is_cut_with_an_ellipsis() {
    assert_eq!(fit("Jan", 100.0, 10.0), ("Jan".to_string(), false));
    let (cut, was_cut) = fit("Shree Ganesh Textiles and Sons", 60.0, 10.0);
    assert!(was_cut);
    assert!(cut.ends_with('…'));
    assert!(cut.chars().count() <= 10);
    assert!(!cut.contains(" …"), "no space before the ellipsis: {cut}");
}

#[test]
fn percentages_round_half_up_to_one_decimal() {
    assert_eq!(percent_half_up(1, 8).as_deref(), Some("12.5%"));
    assert_eq!(percent_half_up(1, 3).as_deref(), Some("33.3%"));
    assert_eq!(percent_half_up(2, 3).as_deref(), Some("66.7%"));
    // 6.25% is a tie at one decimal: half up.
    assert_eq!(percent_half_up(1, 16).as_deref(), Some("6.3%"));
    assert_eq!(percent_half_up(1, 2000).as_deref(), Some("0.1%"));
    assert_eq!(percent_half_up(1, 2001).as_deref(), Some("0.0%"));
    assert_eq!(percent_half_up(0, 5).as_deref(), Some("0.0%"));
    assert_eq!(percent_half_up(5, 4).as_deref(), Some("125.0%"));
    assert_eq!(
        percent_half_up(u64::MAX, u64::MAX).as_deref(),
        Some("100.0%")
    );
    assert_eq!(percent_half_up(5, 0), None);
}

/// WCAG relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

#[test]
fn palette_colours_stand_out_on_light_and_dark_pages() {
    for colour in SERIES_COLOURS.iter().chain(&AGEING_COLOURS) {
        assert!(contrast(colour, "#ffffff") >= 3.0, "{colour} on white");
        assert!(contrast(colour, "#1e1e1e") >= 3.0, "{colour} on dark");
    }
}
