use super::super::{Funnel, FunnelStage, funnel_chart};
use super::{El, HOSTILE, assert_empty, assert_no_raw_markup, chart};

fn funnel(stages: &[(&str, u64)]) -> Funnel {
    Funnel {
        title: "Reminders this month".into(),
        stages: stages
            .iter()
            .map(|(label, count)| FunnelStage {
                label: (*label).to_string(),
                count: *count,
            })
            .collect(),
    }
}

fn count(n: u64) -> String {
    n.to_string()
}

fn widths(root: &El) -> Vec<f64> {
    root.find("rect", "tg-bar")
        .iter()
        .map(|r| r.num("width"))
        .collect()
}

#[test]
fn decreasing_bars_with_the_rate_between_stages() {
    let stages = [
        ("Sent", 1200),
        ("Delivered", 1150),
        ("Read", 830),
        ("Replied", 212),
        ("Paid", 97),
    ];
    let root = chart(&funnel_chart(&funnel(&stages), count), "funnel");
    let w = widths(&root);
    assert_eq!(w.len(), 5);
    assert!(w.windows(2).all(|p| p[0] > p[1]), "{w:?}");
    for (width, (_, n)) in w.iter().zip(stages) {
        assert!((width - n as f64 / 1200.0 * 400.0).abs() < 1.0);
    }
    // Centred.
    for r in root.find("rect", "tg-bar") {
        assert!((r.num("x") * 2.0 + r.num("width") - 400.0).abs() < 0.02);
    }
    // 1150/1200 = 95.83 → 95.8; 830/1150 = 72.17 → 72.2; 212/830 = 25.54
    // → 25.5; 97/212 = 45.75 → 45.8 (half up).
    assert_eq!(
        root.texts("tg-rate-label"),
        ["↓ 95.8%", "↓ 72.2%", "↓ 25.5%", "↓ 45.8%"]
    );
    assert_eq!(
        root.find("g", "tg-rate")[3].title().as_deref(),
        Some("45.8% of Replied reached Paid")
    );
    assert_eq!(root.texts("tg-count"), ["1200", "1150", "830", "212", "97"]);
    assert_eq!(
        root.find("rect", "tg-bar")[2].title().as_deref(),
        Some("Read: 830 (72.2% of Delivered)")
    );
    assert_eq!(
        root.desc().as_deref(),
        Some(
            "Sent 1200; Delivered 1150 (95.8% of Sent); Read 830 (72.2% of Delivered); \
             Replied 212 (25.5% of Read); Paid 97 (45.8% of Replied). Overall 8.1% from Sent to Paid."
        )
    );
}

#[test]
fn a_single_stage_has_no_rate() {
    let root = chart(&funnel_chart(&funnel(&[("Sent", 10)]), count), "funnel");
    assert_eq!(widths(&root), [400.0]);
    assert!(root.find("g", "tg-rate").is_empty());
}

#[test]
fn zeros_draw_no_bar_and_no_rate_after_an_empty_stage() {
    let root = chart(
        &funnel_chart(&funnel(&[("Sent", 0), ("Read", 0)]), count),
        "funnel",
    );
    assert_eq!(widths(&root), [0.0, 0.0]);
    assert_eq!(root.texts("tg-rate-label"), ["↓ –"]);
    let root = chart(
        &funnel_chart(&funnel(&[("Sent", 5), ("Read", 0), ("Paid", 0)]), count),
        "funnel",
    );
    assert_eq!(root.texts("tg-rate-label"), ["↓ 0.0%", "↓ –"]);
}

#[test]
fn a_tiny_stage_after_a_huge_one_stays_visible() {
    let root = chart(
        &funnel_chart(&funnel(&[("Sent", u64::MAX), ("Paid", 1)]), count),
        "funnel",
    );
    let w = widths(&root);
    assert_eq!(w[0], 400.0);
    assert_eq!(w[1], 2.0);
    assert_eq!(root.texts("tg-rate-label"), ["↓ 0.0%"]);
}

#[test]
fn no_stages_is_the_empty_state() {
    assert_empty(&funnel_chart(&funnel(&[]), count), "funnel");
}

#[test]
fn labels_are_escaped_and_long_ones_cut() {
    let long = "Replied with a promise to pay by a date within the next fortnight or so";
    let svg = funnel_chart(&funnel(&[(HOSTILE, 9), (long, 3)]), count);
    assert_no_raw_markup(&svg);
    let root = chart(&svg, "funnel");
    let labels = root.find("g", "tg-stage")[1].find("text", "tg-label");
    assert!(labels[0].text().ends_with('…'));
    assert_eq!(labels[0].title().as_deref(), Some(long));
    assert_eq!(
        root.find("g", "tg-stage")[0].find("text", "tg-label")[0].text(),
        HOSTILE
    );
}
