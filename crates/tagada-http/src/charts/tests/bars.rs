use super::super::{Bar, BarChart, bar_chart};
use super::{El, HOSTILE, assert_empty, assert_no_raw_markup, chart, inr, lakh};

fn bars(values: &[(&str, i64)]) -> BarChart {
    BarChart {
        title: "Collected per month".into(),
        bars: values
            .iter()
            .map(|(label, value)| Bar {
                label: (*label).to_string(),
                value: *value,
            })
            .collect(),
    }
}

fn count(n: i64) -> String {
    n.to_string()
}

/// (x, y, width, height) of each bar.
fn rects(root: &El) -> Vec<(f64, f64, f64, f64)> {
    root.find("rect", "tg-bar")
        .iter()
        .map(|r| (r.num("x"), r.num("y"), r.num("width"), r.num("height")))
        .collect()
}

fn zero_y(root: &El) -> f64 {
    root.find("line", "tg-zero")[0].num("y1")
}

/// Units per value step, from the first two gridlines.
fn grid(root: &El) -> (f64, f64) {
    let lines = root.find("line", "tg-grid");
    (lines[0].num("y1"), lines[lines.len() - 1].num("y1"))
}

#[test]
fn heights_are_in_proportion_with_values_over_the_bars() {
    let data = [
        ("Jan", 12_00_000_00),
        ("Feb", 8_50_000_00),
        ("Mar", 15_25_000_00),
        ("Apr", 3_00_000_00),
    ];
    let root = chart(&bar_chart(&bars(&data), inr, lakh), "bars");
    let r = rects(&root);
    assert_eq!(r.len(), 4);
    let zero = zero_y(&root);
    let (bottom, top) = grid(&root);
    assert!(
        (bottom - zero).abs() < 0.01,
        "all positive: zero at the bottom"
    );
    let ticks = root.find("g", "tg-axis-y")[0].texts("tg-tick");
    assert_eq!(ticks, ["₹0", "₹5L", "₹10L", "₹15L", "₹20L"]);
    let per_unit = (bottom - top) / 20_00_000_00.0;
    for ((_, y, _, h), (_, v)) in r.iter().zip(data) {
        assert!((h - v as f64 * per_unit).abs() < 1.0, "{h} for {v}");
        assert!((y + h - zero).abs() < 0.01, "bars stand on the zero line");
    }
    // Equal widths, in order, not overlapping.
    assert!(
        r.windows(2)
            .all(|w| w[0].2 == w[1].2 && w[0].0 + w[0].2 < w[1].0)
    );
    assert_eq!(
        root.texts("tg-value"),
        [
            "₹12,00,000.00",
            "₹8,50,000.00",
            "₹15,25,000.00",
            "₹3,00,000.00"
        ]
    );
    let tips: Vec<String> = root
        .find("rect", "tg-bar")
        .iter()
        .filter_map(|r| r.title())
        .collect();
    assert_eq!(tips[1], "Feb: ₹8,50,000.00");
    assert_eq!(
        root.desc().as_deref(),
        Some("Jan ₹12,00,000.00; Feb ₹8,50,000.00; Mar ₹15,25,000.00; Apr ₹3,00,000.00.")
    );
}

#[test]
fn labels_that_would_crowd_a_bar_are_left_to_tooltips() {
    let root = chart(
        &bar_chart(
            &bars(&[("Q1", 1), ("Q2", 2)]),
            |v| format!("{v} messages, delivered and read"),
            count,
        ),
        "bars",
    );
    assert!(root.texts("tg-value").is_empty());
    assert_eq!(
        root.find("rect", "tg-bar")[1].title().as_deref(),
        Some("Q2: 2 messages, delivered and read")
    );
}

#[test]
fn negative_values_hang_below_zero() {
    let root = chart(
        &bar_chart(
            &bars(&[("Early", -4), ("On time", 0), ("Late", 9)]),
            count,
            count,
        ),
        "bars",
    );
    let r = rects(&root);
    let zero = zero_y(&root);
    assert!(
        (r[0].1 - zero).abs() < 0.01 && r[0].3 > 0.0,
        "hangs from zero"
    );
    assert_eq!(r[1].3, 0.0);
    assert!((r[2].1 + r[2].3 - zero).abs() < 0.01);
    let ratio = r[2].3 / r[0].3;
    assert!((ratio - 9.0 / 4.0).abs() < 0.01, "{ratio}");
    assert!(root.find("rect", "tg-bar")[0].has_class("tg-negative"));
    let ticks = root.find("g", "tg-axis-y")[0].texts("tg-tick");
    assert_eq!(ticks, ["-5", "0", "5", "10"]);
}

#[test]
fn all_zero_draws_flat_bars_on_a_unit_axis() {
    let root = chart(
        &bar_chart(&bars(&[("Sent", 0), ("Failed", 0)]), count, count),
        "bars",
    );
    assert_eq!(
        rects(&root).iter().map(|r| r.3).collect::<Vec<_>>(),
        [0.0, 0.0]
    );
    assert_eq!(root.find("g", "tg-axis-y")[0].texts("tg-tick"), ["0", "1"]);
}

#[test]
fn a_tiny_bar_next_to_a_huge_one_stays_visible() {
    let root = chart(
        &bar_chart(
            &bars(&[("Big", 1_000_000_000), ("Tiny", 1), ("None", 0)]),
            count,
            count,
        ),
        "bars",
    );
    let r = rects(&root);
    assert!(r[1].3 >= 1.0, "tiny bar visible: {}", r[1].3);
    assert_eq!(r[2].3, 0.0);
    let (bottom, top) = grid(&root);
    assert!((r[0].3 - (bottom - top)).abs() < 1.0);
}

#[test]
fn a_single_bar() {
    let root = chart(&bar_chart(&bars(&[("Only", 7)]), count, count), "bars");
    let r = rects(&root);
    assert_eq!(r.len(), 1);
    assert!(r[0].2 <= 56.0, "a lone bar is not a slab");
}

#[test]
fn many_categories_turn_their_labels_and_then_thin_them() {
    let data: Vec<(String, i64)> = (1..=40).map(|i| (format!("Week {i}"), i * 10)).collect();
    let refs: Vec<(&str, i64)> = data.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    let root = chart(&bar_chart(&bars(&refs), count, count), "bars");
    assert_eq!(rects(&root).len(), 40);
    let labels = root.find("g", "tg-axis-x")[0].find("text", "tg-tick");
    assert!(labels.iter().all(|l| {
        l.attr("transform")
            .is_some_and(|t| t.starts_with("rotate(-45"))
    }));
    assert!(labels.len() < 40 && labels.len() >= 10, "{}", labels.len());
    assert!(
        root.texts("tg-value").is_empty(),
        "too many bars for value labels"
    );
    let desc = root.desc().unwrap_or_default();
    assert_eq!(
        desc,
        "40 bars from Week 1 to Week 40; highest 400 (Week 40), lowest 10 (Week 1)."
    );

    // Twelve months turn but all show.
    let months: Vec<(String, i64)> = (1..=12).map(|m| (format!("2025-{m:02}"), m)).collect();
    let refs: Vec<(&str, i64)> = months.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    let root = chart(&bar_chart(&bars(&refs), count, count), "bars");
    let labels = root.find("g", "tg-axis-x")[0].find("text", "tg-tick");
    assert_eq!(labels.len(), 12);
}

#[test]
fn no_bars_is_the_empty_state() {
    assert_empty(&bar_chart(&bars(&[]), count, count), "bars");
}

#[test]
fn labels_are_escaped_and_long_ones_cut() {
    let long = "Messages that failed because the number is not on WhatsApp";
    let svg = bar_chart(&bars(&[(HOSTILE, 3), (long, 5)]), count, count);
    assert_no_raw_markup(&svg);
    let root = chart(&svg, "bars");
    let labels = root.find("g", "tg-axis-x")[0].find("text", "tg-tick");
    assert_eq!(labels[0].title().as_deref(), Some(HOSTILE));
    assert!(labels[1].text().ends_with('…'));
    assert_eq!(labels[1].title().as_deref(), Some(long));
    assert_eq!(
        root.find("rect", "tg-bar")[1].title(),
        Some(format!("{long}: 5"))
    );
}
