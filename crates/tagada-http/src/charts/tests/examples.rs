//! One realistic example per chart, kept as an insta snapshot (under
//! `src/snapshots/`) so a reviewer sees the SVG that changed. With
//! `TAGADA_CHART_PREVIEW=<dir>` set, the examples are also written there as
//! `.svg` files and one `index.html` showing each at phone and laptop width,
//! on a light and a dark page.

use super::super::{
    Ageing, Bar, BarChart, Funnel, FunnelStage, LineChart, Series, Sparkline, ageing_bar,
    bar_chart, funnel_chart, line_chart, sparkline,
};
use super::{chart, days, inr, lakh};

fn ageing_example() -> String {
    ageing_bar(
        &Ageing::standard(
            "Receivables by age",
            [
                18_75_000_00,
                9_42_350_50,
                4_10_000_00,
                1_23_456_00,
                2_85_000_00,
            ],
        ),
        inr,
    )
}

fn line_example() -> String {
    // Share of each month's invoices collected, by days after due, in basis
    // points; April's cohort is younger, so its curve stops early.
    let x_labels = (0..=12).map(|i| format!("{}d", i * 5)).collect();
    let march = [
        1200, 2650, 4100, 5300, 6200, 6900, 7450, 7900, 8250, 8500, 8700, 8850, 8950,
    ];
    let april = [1500, 3100, 4700, 5800, 6650, 7300];
    let chart = LineChart {
        title: "Collected by days after due".into(),
        x_labels,
        series: vec![
            Series {
                name: "March invoices".into(),
                values: march.iter().map(|v| Some(*v)).collect(),
            },
            Series {
                name: "April invoices".into(),
                values: april.iter().map(|v| Some(*v)).collect(),
            },
        ],
        y_extent: Some((0, 100_00)),
    };
    line_chart(
        &chart,
        |bp| format!("{}.{:02}%", bp / 100, bp % 100),
        |bp| format!("{}%", bp / 100),
    )
}

fn bar_example() -> String {
    let months = [
        ("Apr", 12_40_000_00),
        ("May", 9_85_500_00),
        ("Jun", 14_10_250_00),
        ("Jul", 11_00_000_00),
        ("Aug", 7_25_000_00),
        ("Sep", 15_60_000_00),
    ];
    let chart = BarChart {
        title: "Collected per month".into(),
        bars: months
            .iter()
            .map(|(label, value)| Bar {
                label: (*label).to_string(),
                value: *value,
            })
            .collect(),
    };
    bar_chart(&chart, inr, lakh)
}

fn funnel_example() -> String {
    let stages = [
        ("Reminders sent", 1_240),
        ("Delivered", 1_198),
        ("Read", 903),
        ("Replied", 241),
        ("Paid within 7 days", 168),
    ];
    let chart = Funnel {
        title: "Reminders in August".into(),
        stages: stages
            .iter()
            .map(|(label, count)| FunnelStage {
                label: (*label).to_string(),
                count: *count,
            })
            .collect(),
    };
    funnel_chart(&chart, |n| n.to_string())
}

fn sparkline_example() -> String {
    sparkline(
        &Sparkline {
            label: "Days to pay, last 8 invoices".into(),
            values: vec![
                Some(34),
                Some(28),
                Some(41),
                None,
                Some(19),
                Some(12),
                Some(-2),
                Some(5),
            ],
        },
        days,
    )
}

fn empty_example() -> String {
    bar_chart(
        &BarChart {
            title: "Collected per month".into(),
            bars: vec![],
        },
        inr,
        lakh,
    )
}

/// Edge cases worth a look in the preview (their structure is tested
/// elsewhere).
fn edge_examples() -> Vec<(&'static str, String)> {
    let weeks = BarChart {
        title: "Messages per week".into(),
        bars: (1..=40)
            .map(|w| Bar {
                label: format!("Week {w}"),
                value: (w * 37) % 90 + if w == 20 { 900 } else { 0 },
            })
            .collect(),
    };
    let days_to_pay = LineChart {
        title: "Days to pay, by month".into(),
        x_labels: [
            "Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025", "May 2025", "Jun 2025", "Jul 2025",
            "Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025", "Dec 2025",
        ]
        .iter()
        .map(|m| (*m).to_string())
        .collect(),
        series: vec![Series {
            name: "Sharma Traders".into(),
            values: vec![
                Some(12),
                Some(4),
                Some(-3),
                None,
                Some(-8),
                Some(2),
                Some(15),
                None,
                Some(22),
                None,
                Some(9),
                Some(6),
            ],
        }],
        y_extent: None,
    };
    let long = Ageing {
        title: "Receivables by age <script>alert(1)</script>".into(),
        buckets: vec![
            super::super::AgeingBucket {
                label: "Not due yet, including invoices raised this week & last".into(),
                amount: 1_00_00_000_00,
            },
            super::super::AgeingBucket {
                label: "<b>Overdue</b>".into(),
                amount: 1_00,
            },
        ],
    };
    vec![
        (
            "crowded_bars",
            bar_chart(&weeks, |n| n.to_string(), |n| n.to_string()),
        ),
        ("negative_line", line_chart(&days_to_pay, days, days)),
        ("long_labels", ageing_bar(&long, inr)),
    ]
}

fn examples() -> Vec<(&'static str, String)> {
    let mut all = vec![
        ("ageing", ageing_example()),
        ("line", line_example()),
        ("bars", bar_example()),
        ("funnel", funnel_example()),
        ("sparkline", sparkline_example()),
        ("empty", empty_example()),
    ];
    all.extend(edge_examples());
    all
}

/// The SVG with one tag per line, for reading a snapshot diff (the output
/// itself has no newlines).
fn one_tag_per_line(svg: &str) -> String {
    svg.replace("><", ">\n<")
}

fn check(name: &str, kind: &str, svg: &str) {
    chart(svg, kind);
    insta::with_settings!({ snapshot_path => "../../snapshots" }, {
        insta::assert_snapshot!(name, one_tag_per_line(svg));
    });
}

#[test]
fn ageing_snapshot() {
    check("ageing", "ageing", &ageing_example());
}

#[test]
fn line_snapshot() {
    check("line", "line", &line_example());
}

#[test]
fn bars_snapshot() {
    check("bars", "bars", &bar_example());
}

#[test]
fn funnel_snapshot() {
    check("funnel", "funnel", &funnel_example());
}

#[test]
fn sparkline_snapshot() {
    check("sparkline", "sparkline", &sparkline_example());
}

#[test]
fn empty_snapshot() {
    check("empty", "bars", &empty_example());
}

/// Writes the examples for a human to open, when `TAGADA_CHART_PREVIEW`
/// names a directory.
#[test]
fn preview_when_asked() {
    let Some(dir) = std::env::var_os("TAGADA_CHART_PREVIEW") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("the preview directory");
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>tagada charts</title><style>\
         body{font-family:system-ui,sans-serif;margin:1rem;background:#f4f5f7;color:#1d2330}\
         .row{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start;margin-bottom:2rem}\
         .card{background:#fff;border-radius:12px;padding:1rem;box-shadow:0 1px 3px #0002}\
         .dark{background:#1e1e1e;color:#e8e8e8}.phone{width:328px}.laptop{width:640px}\
         td{padding:.25rem .75rem}</style></head><body><h1>tagada charts</h1>",
    );
    for (name, svg) in examples() {
        std::fs::write(dir.join(format!("{name}.svg")), &svg).expect("write the preview");
        page.push_str(&format!("<h2>{name}</h2><div class=\"row\">"));
        for (class, inner) in [
            ("card phone", svg.clone()),
            ("card laptop", svg.clone()),
            ("card phone dark", svg.clone()),
        ] {
            let inner = if name == "sparkline" {
                format!(
                    "<table><tr><td>Sharma Traders</td><td>₹1,23,456.00</td><td>{inner}</td></tr></table>"
                )
            } else {
                inner
            };
            page.push_str(&format!("<div class=\"{class}\">{inner}</div>"));
        }
        page.push_str("</div>");
    }
    page.push_str("</body></html>");
    std::fs::write(dir.join("index.html"), page).expect("write the preview page");
}
