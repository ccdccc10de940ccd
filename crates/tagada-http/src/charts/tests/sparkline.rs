use super::super::{Sparkline, sparkline};
use super::{HOSTILE, assert_empty, assert_no_raw_markup, chart, days};

fn line(values: Vec<Option<i64>>) -> Sparkline {
    Sparkline {
        label: "Days to pay, last invoices".into(),
        values,
    }
}

#[test]
fn a_line_in_em_with_the_last_value_marked() {
    let svg = sparkline(
        &line(vec![Some(30), Some(12), Some(45), Some(-3), Some(20)]),
        days,
    );
    let root = chart(&svg, "sparkline");
    assert_eq!(root.attr("width"), Some("6em"));
    assert_eq!(root.attr("height"), Some("1.5em"));
    let d = root.find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        (d.matches('M').count(), d.matches('L').count()),
        (1, 4),
        "{d}"
    );
    let dots = root.find("circle", "tg-point");
    assert_eq!(dots.len(), 1);
    assert!(dots[0].has_class("tg-last"));
    assert_eq!(dots[0].title().as_deref(), Some("Last: 20 days"));
    // The highest value on top, the lowest at the bottom, inside the box.
    let ys: Vec<f64> = d
        .split(['M', 'L'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split(' ')
                .nth(1)
                .and_then(|y| y.parse().ok())
                .unwrap_or(f64::NAN)
        })
        .collect();
    assert_eq!(ys[2], 3.0);
    assert_eq!(ys[3], 21.0);
    assert_eq!(
        root.desc().as_deref(),
        Some(
            "Days to pay, last invoices: 5 values, first 30 days, last 20 days, lowest -3 days and highest 45 days."
        )
    );
}

#[test]
fn gaps_split_the_line_and_lone_values_get_a_dot() {
    let svg = sparkline(
        &line(vec![
            Some(1),
            Some(2),
            None,
            Some(7),
            None,
            Some(3),
            Some(4),
        ]),
        days,
    );
    let root = chart(&svg, "sparkline");
    let d = root.find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert_eq!(d.matches('M').count(), 2, "{d}");
    assert_eq!(
        root.find("circle", "tg-point").len(),
        2,
        "the lone 7 and the last 4"
    );
    assert!(root.desc().is_some_and(|d| d.contains("2 missing")));
}

#[test]
fn a_single_value_is_a_centred_dot() {
    let root = chart(&sparkline(&line(vec![Some(5)]), days), "sparkline");
    assert!(root.find("path", "tg-line").is_empty());
    let dot = &root.find("circle", "tg-point")[0];
    assert_eq!((dot.num("cx"), dot.num("cy")), (48.0, 12.0));
}

#[test]
fn a_flat_run_sits_in_the_middle() {
    let root = chart(&sparkline(&line(vec![Some(0); 6]), days), "sparkline");
    let d = root.find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert!(
        d.split(['M', 'L'])
            .filter(|p| !p.is_empty())
            .all(|p| p.ends_with(" 12")),
        "{d}"
    );
}

#[test]
fn extreme_values_stay_in_the_box() {
    let root = chart(
        &sparkline(&line(vec![Some(i64::MIN), Some(0), Some(i64::MAX)]), days),
        "sparkline",
    );
    let d = root.find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert_eq!(d, "M3 21L48 12L93 3");
}

#[test]
fn no_values_is_the_empty_state() {
    assert_empty(&sparkline(&line(vec![]), days), "sparkline");
    assert_empty(&sparkline(&line(vec![None, None]), days), "sparkline");
}

#[test]
fn the_label_is_escaped() {
    let svg = sparkline(
        &Sparkline {
            label: HOSTILE.into(),
            values: vec![Some(1), Some(2)],
        },
        days,
    );
    assert_no_raw_markup(&svg);
    assert_eq!(chart(&svg, "sparkline").title().as_deref(), Some(HOSTILE));
}
