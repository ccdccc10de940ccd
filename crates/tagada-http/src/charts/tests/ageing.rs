use super::super::{Ageing, AgeingBucket, ageing_bar};
use super::{HOSTILE, assert_empty, assert_no_raw_markup, chart, inr};

fn segments(root: &super::El) -> Vec<(f64, f64)> {
    root.find("rect", "tg-seg")
        .iter()
        .map(|r| (r.num("x"), r.num("width")))
        .collect()
}

#[test]
fn five_segments_in_proportion_with_a_legend() {
    let amounts = [4_00_000_00, 2_50_000_00, 1_25_000_00, 75_000_00, 50_000_00];
    let svg = ageing_bar(&Ageing::standard("Receivables by age", amounts), inr);
    let root = chart(&svg, "ageing");
    let segs = segments(&root);
    assert_eq!(segs.len(), 5);
    let total: i64 = amounts.iter().sum();
    let mut x = 0.0;
    for ((sx, w), amount) in segs.iter().zip(amounts) {
        let expected = amount as f64 / total as f64 * 400.0;
        assert!((w - expected).abs() < 1.0, "{w} vs {expected}");
        assert!((sx - x).abs() < 0.02, "segments abut");
        x += w;
    }
    assert!((x - 400.0).abs() < 0.05, "the bar is full: {x}");
    assert_eq!(root.find("g", "tg-legend-item").len(), 5);
    assert_eq!(
        root.texts("tg-amount"),
        [
            "₹4,00,000.00",
            "₹2,50,000.00",
            "₹1,25,000.00",
            "₹75,000.00",
            "₹50,000.00"
        ]
    );
    assert_eq!(
        root.texts("tg-share"),
        ["44.4%", "27.8%", "13.9%", "8.3%", "5.6%"]
    );
    assert_eq!(root.texts("tg-total"), ["Total ₹9,00,000.00"]);
    let tips: Vec<String> = root
        .find("rect", "tg-seg")
        .iter()
        .filter_map(|r| r.title())
        .collect();
    assert_eq!(tips[2], "31–60 days: ₹1,25,000.00 (13.9%)");
    let desc = root.desc().unwrap_or_default();
    assert!(
        desc.starts_with("Total ₹9,00,000.00: Not due ₹4,00,000.00 (44.4%);"),
        "{desc}"
    );
}

#[test]
fn an_empty_bucket_has_no_segment_but_keeps_its_legend_row() {
    let svg = ageing_bar(&Ageing::standard("Ageing", [100, 0, 300, 0, 0]), inr);
    let root = chart(&svg, "ageing");
    assert_eq!(root.find("rect", "tg-seg").len(), 2);
    assert!(root.find("rect", "tg-seg-1").is_empty());
    assert_eq!(root.find("g", "tg-legend-item").len(), 5);
    assert_eq!(root.texts("tg-share")[1], "0.0%");
}

#[test]
fn all_zero_draws_the_track_and_legend_only() {
    let svg = ageing_bar(&Ageing::standard("Ageing", [0; 5]), inr);
    let root = chart(&svg, "ageing");
    assert!(root.find("rect", "tg-seg").is_empty());
    assert_eq!(root.find("rect", "tg-track").len(), 1);
    assert_eq!(root.texts("tg-amount"), vec!["₹0.00"; 5]);
    assert_eq!(root.texts("tg-share"), vec!["–"; 5]);
}

#[test]
fn no_buckets_is_the_empty_state() {
    let chart = Ageing {
        title: "Ageing".into(),
        buckets: vec![],
    };
    assert_empty(&ageing_bar(&chart, inr), "ageing");
}

#[test]
fn a_huge_bucket_leaves_a_tiny_one_visible() {
    let svg = ageing_bar(
        &Ageing::standard("Ageing", [1_00_00_00_000_00, 1, 0, 0, 0]),
        inr,
    );
    let root = chart(&svg, "ageing");
    let segs = segments(&root);
    assert_eq!(segs.len(), 2);
    assert!(segs[1].1 >= 1.0, "tiny bucket visible: {segs:?}");
    assert!(
        (segs[0].1 - 400.0).abs() <= 1.0,
        "the huge bucket lends at most a unit: {segs:?}"
    );
    assert_eq!(
        root.texts("tg-share"),
        ["100.0%", "0.0%", "0.0%", "0.0%", "0.0%"]
    );
}

#[test]
fn a_credit_is_listed_but_not_drawn() {
    let svg = ageing_bar(
        &Ageing::standard("Ageing", [-5_000_00, 10_000_00, 0, 0, 0]),
        inr,
    );
    let root = chart(&svg, "ageing");
    assert_eq!(root.find("rect", "tg-seg").len(), 1);
    assert_eq!(root.texts("tg-amount")[0], "-₹5,000.00");
    assert_eq!(root.texts("tg-share")[..2], ["0.0%", "100.0%"]);
}

#[test]
fn labels_are_escaped_and_long_ones_cut() {
    let long = "Overdue beyond the end of the financial year, under legal follow-up";
    let chart_data = Ageing {
        title: HOSTILE.into(),
        buckets: vec![
            AgeingBucket {
                label: HOSTILE.into(),
                amount: 100,
            },
            AgeingBucket {
                label: long.into(),
                amount: 200,
            },
        ],
    };
    let svg = ageing_bar(&chart_data, inr);
    assert_no_raw_markup(&svg);
    let root = chart(&svg, "ageing");
    assert_eq!(root.title().as_deref(), Some(HOSTILE));
    let legend = root.find("g", "tg-legend-item");
    let label = legend[1]
        .elements()
        .find(|e| e.name == "text" && !e.has_class("tg-amount") && !e.has_class("tg-share"))
        .expect("a label");
    assert!(label.text().ends_with('…'), "{}", label.text());
    assert_eq!(label.title().as_deref(), Some(long));
    assert!(
        root.find("rect", "tg-seg")[0]
            .title()
            .is_some_and(|t| t.starts_with(HOSTILE))
    );
}
