use super::super::{LineChart, Series, line_chart};
use super::{El, HOSTILE, assert_empty, assert_no_raw_markup, chart, days, percent};

fn months(n: usize) -> Vec<String> {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    (0..n).map(|i| NAMES[i % 12].to_string()).collect()
}

fn one(values: Vec<Option<i64>>) -> LineChart {
    LineChart {
        title: "DSO by month".into(),
        x_labels: months(values.len()),
        series: vec![Series {
            name: "DSO".into(),
            values,
        }],
        y_extent: None,
    }
}

/// The y of each gridline's tick label, by label.
fn ticks(root: &El) -> Vec<(String, f64)> {
    root.find("line", "tg-grid")
        .iter()
        .zip(root.texts("tg-tick"))
        .map(|(l, t)| (t, l.num("y1")))
        .collect()
}

fn points(root: &El) -> Vec<(f64, f64)> {
    root.find("circle", "tg-point")
        .iter()
        .map(|c| (c.num("cx"), c.num("cy")))
        .collect()
}

fn zero_y(root: &El) -> f64 {
    root.find("line", "tg-zero")[0].num("y1")
}

#[test]
fn two_series_with_a_gap_a_legend_and_round_ticks() {
    let chart_data = LineChart {
        title: "Days to pay".into(),
        x_labels: months(6),
        series: vec![
            Series {
                name: "Retail".into(),
                values: vec![Some(40), Some(38), None, Some(35), Some(31), Some(30)],
            },
            Series {
                name: "Wholesale".into(),
                values: vec![Some(55), Some(61), Some(58), Some(52), Some(50), Some(47)],
            },
        ],
        y_extent: None,
    };
    let root = chart(&line_chart(&chart_data, days, days), "line");
    let series = root.find("g", "tg-series");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].find("circle", "tg-point").len(), 5);
    assert_eq!(series[1].find("circle", "tg-point").len(), 6);
    // The gap splits the first line in two.
    let d = series[0].find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert_eq!(d.matches('M').count(), 2, "{d}");
    assert_eq!(d.matches('L').count(), 3, "{d}");
    let d = series[1].find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert_eq!(d.matches('M').count(), 1, "{d}");
    // Lines differ by dash as well as colour.
    assert!(
        series[0].find("path", "tg-line")[0]
            .attr("stroke-dasharray")
            .is_none()
    );
    assert!(
        series[1].find("path", "tg-line")[0]
            .attr("stroke-dasharray")
            .is_some()
    );
    let legend = root.find("g", "tg-legend-item");
    assert_eq!(legend.len(), 2);
    assert_eq!(
        root.texts("tg-label")
            .iter()
            .filter(|t| *t == "Wholesale")
            .count(),
        1
    );
    let ticks = ticks(&root);
    let labels: Vec<&str> = ticks.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        labels,
        ["0 days", "20 days", "40 days", "60 days", "80 days"]
    );
    // Values sit where the ticks say: 40 days on the 40 days gridline.
    assert!((points(&root)[0].1 - ticks[2].1).abs() < 0.02);
    let tip = series[1].find("circle", "tg-point")[1].title();
    assert_eq!(tip.as_deref(), Some("Wholesale · Feb: 61 days"));
    let desc = root.desc().unwrap_or_default();
    assert!(desc.starts_with("6 points from Jan to Jun."), "{desc}");
    assert!(desc.contains("Retail: first 40 days (Jan), last 30 days (Jun), lowest 30 days (Jun), highest 40 days (Jan) and 1 missing."), "{desc}");
}

#[test]
fn a_single_point_is_a_dot_in_the_middle() {
    let root = chart(&line_chart(&one(vec![Some(42)]), days, days), "line");
    let pts = points(&root);
    assert_eq!(pts.len(), 1);
    assert!(root.find("path", "tg-line").is_empty());
    let left = root.find("line", "tg-grid")[0].num("x1");
    let right = root.find("line", "tg-grid")[0].num("x2");
    assert!((pts[0].0 - (left + right) / 2.0).abs() < 0.02);
    assert!(root.find("circle", "tg-point")[0].num("r") >= 3.0);
    assert!(
        root.find("g", "tg-legend").is_empty(),
        "no legend for one series"
    );
    assert_eq!(
        root.find("circle", "tg-point")[0].title().as_deref(),
        Some("Jan: 42 days")
    );
}

#[test]
fn a_lone_value_between_gaps_still_shows() {
    let root = chart(
        &line_chart(
            &one(vec![Some(1), None, Some(5), None, Some(3), Some(4)]),
            days,
            days,
        ),
        "line",
    );
    assert_eq!(points(&root).len(), 4);
    let d = root.find("path", "tg-line")[0]
        .attr("d")
        .unwrap_or_default()
        .to_string();
    assert_eq!(d.matches('M').count(), 1, "only the last two join: {d}");
}

#[test]
fn all_zero_sits_on_the_zero_line() {
    let root = chart(&line_chart(&one(vec![Some(0); 4]), days, days), "line");
    let zero = zero_y(&root);
    assert!(points(&root).iter().all(|(_, y)| (y - zero).abs() < 0.02));
    let labels: Vec<String> = ticks(&root).into_iter().map(|(t, _)| t).collect();
    assert_eq!(labels, ["0 days", "1 day"]);
}

#[test]
fn negative_values_extend_the_axis_below_zero() {
    // Days to pay: paid early is negative.
    let root = chart(
        &line_chart(
            &one(vec![Some(-12), Some(-3), Some(8), Some(25)]),
            days,
            days,
        ),
        "line",
    );
    let ticks = ticks(&root);
    let labels: Vec<&str> = ticks.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        labels,
        [
            "-20 days", "-10 days", "0 days", "10 days", "20 days", "30 days"
        ]
    );
    let zero = zero_y(&root);
    let pts = points(&root);
    assert!(pts[0].1 > zero && pts[1].1 > zero, "below the zero line");
    assert!(pts[2].1 < zero && pts[3].1 < zero, "above the zero line");
    let bottom = ticks[0].1;
    assert!(pts.iter().all(|(_, y)| *y <= bottom + 0.01));
}

#[test]
fn one_huge_value_among_tiny_ones_stays_in_the_plot() {
    let root = chart(
        &line_chart(
            &one(vec![Some(1), Some(2), Some(i64::MAX), Some(3)]),
            |v| v.to_string(),
            |v| v.to_string(),
        ),
        "line",
    );
    let ticks = ticks(&root);
    let (top, bottom) = (ticks.last().map_or(0.0, |t| t.1), ticks[0].1);
    for (_, y) in points(&root) {
        assert!(
            y >= top - 0.01 && y <= bottom + 0.01,
            "{y} in {top}..{bottom}"
        );
    }
}

#[test]
fn y_extent_widens_the_axis() {
    let mut c = one(vec![Some(1200), Some(4500), Some(7000)]);
    c.y_extent = Some((0, 100_00));
    let root = chart(&line_chart(&c, percent, percent), "line");
    let labels: Vec<String> = ticks(&root).into_iter().map(|(t, _)| t).collect();
    assert_eq!(labels, ["0%", "20%", "40%", "60%", "80%", "100%"]);
}

#[test]
fn many_categories_thin_their_labels_to_a_round_stride() {
    // A collection curve: day 0 to 90 after due.
    let c = LineChart {
        title: "Collected by day after due".into(),
        x_labels: (0..=90).map(|d| format!("Day {d}")).collect(),
        series: vec![Series {
            name: "March cohort".into(),
            values: (0..=90).map(|d| Some(d * 100)).collect(),
        }],
        y_extent: None,
    };
    let root = chart(&line_chart(&c, percent, percent), "line");
    assert_eq!(points(&root).len(), 91);
    let shown = root.find("g", "tg-axis-x")[0].find("text", "tg-tick").len();
    assert!(shown < 20, "{shown} labels");
    let labels = root.find("g", "tg-axis-x")[0].find("text", "tg-tick");
    assert_eq!(labels[0].text(), "Day 0");
    let stride: usize = labels[1].text()["Day ".len()..].parse().unwrap_or(0);
    assert!([5, 6, 10, 12, 15, 20].contains(&stride), "stride {stride}");
    // Level labels never overlap.
    let xs: Vec<f64> = labels.iter().map(|l| l.num("x")).collect();
    assert!(xs.windows(2).all(|w| w[1] - w[0] >= 6.0 * 6.6), "{xs:?}");
}

#[test]
fn no_data_is_the_empty_state() {
    assert_empty(&line_chart(&one(vec![]), days, days), "line");
    assert_empty(&line_chart(&one(vec![None, None]), days, days), "line");
    let no_series = LineChart {
        title: "DSO".into(),
        x_labels: months(3),
        series: vec![],
        y_extent: None,
    };
    assert_empty(&line_chart(&no_series, days, days), "line");
}

#[test]
fn labels_and_names_are_escaped_and_long_labels_cut() {
    let long = "Quarter ending 31 March 2025 (provisional, pending audit)";
    let c = LineChart {
        title: HOSTILE.into(),
        x_labels: vec![HOSTILE.into(), long.into()],
        series: vec![
            Series {
                name: HOSTILE.into(),
                values: vec![Some(1), Some(2)],
            },
            Series {
                name: "B".into(),
                values: vec![Some(2), None],
            },
        ],
        y_extent: None,
    };
    let svg = line_chart(&c, days, days);
    assert_no_raw_markup(&svg);
    let root = chart(&svg, "line");
    let ticks = root.find("g", "tg-axis-x")[0].find("text", "tg-tick");
    let cut = ticks
        .iter()
        .find(|t| t.title().as_deref() == Some(long))
        .expect("the long label");
    assert!(cut.text().ends_with('…'));
    assert!(
        root.find("circle", "tg-point")[0]
            .title()
            .is_some_and(|t| t.starts_with(HOSTILE))
    );
}
