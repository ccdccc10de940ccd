//! Vertical bars, one per category: collected per month, messages by
//! status.

use std::fmt::Write;

use super::SERIES_COLOURS;
use super::scale::{Ticks, YScale, draw_x_labels, plan_x_labels};
use super::svg::{
    Anchor, Doc, N, SMALL, Size, Text, WIDTH, clean, empty, shown, text_width, tooltip,
};

/// One category and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    /// In the caller's integer unit (paise, messages, days). Negative
    /// values hang below the zero line.
    pub value: i64,
}

/// A vertical bar chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    /// The chart's accessible name.
    pub title: String,
    pub bars: Vec<Bar>,
}

const TOP: f64 = 20.0;
const PLOT_HEIGHT: f64 = 160.0;
/// Bars are this share of their slot; the rest is space between them.
const BAR_SHARE: f64 = 0.7;
const MAX_BAR_WIDTH: f64 = 56.0;
/// Above this many bars the value labels are left to the tooltips.
const MAX_VALUE_LABELS: usize = 24;
/// The `<desc>` lists every bar up to this many, else sums up.
const MAX_LISTED: usize = 24;

/// Draws `chart` with `width="100%"`: round y ticks labelled by `tick` (a
/// compact form suits, e.g. `₹5L`: the ticks are round numbers), each bar's
/// value labelled in full by `value` in its tooltip, the `<desc>` and, when
/// they fit, over the bars; heights in proportion to the values from the zero line (a
/// non-zero bar is at least one unit tall, so a tiny value stays visible
/// next to a huge one); category labels turn 45° and then thin out when
/// crowded. No bars draws the empty state.
pub fn bar_chart(
    chart: &BarChart,
    value: impl Fn(i64) -> String,
    tick: impl Fn(i64) -> String,
) -> String {
    let title = if chart.title.trim().is_empty() {
        "Bar chart"
    } else {
        &chart.title
    };
    let n = chart.bars.len();
    if n == 0 {
        return empty("bars", title, WIDTH, 160.0, Size::Fluid);
    }
    let labels: Vec<String> = chart.bars.iter().map(|b| clean(&b.label)).collect();
    let values: Vec<String> = chart.bars.iter().map(|b| shown(&value, b.value)).collect();
    let desc = describe(&labels, &values, chart);

    let lo = chart
        .bars
        .iter()
        .map(|b| b.value)
        .min()
        .map_or(0, i128::from);
    let hi = chart
        .bars
        .iter()
        .map(|b| b.value)
        .max()
        .map_or(0, i128::from);
    let scale = YScale {
        ticks: Ticks::covering(lo, hi, 5),
        top: TOP,
        height: PLOT_HEIGHT,
    };
    let left = (scale.label_width(&tick) + 10.0).max(20.0);
    let right = WIDTH - 4.0;
    let slot = (right - left) / n as f64;
    let x = |i: usize| left + (i as f64 + 0.5) * slot;
    let widest = labels
        .iter()
        .map(|l| text_width(l, SMALL))
        .fold(0.0, f64::max);
    let plan = plan_x_labels(widest, slot, true);
    let height = TOP + PLOT_HEIGHT + plan.height;

    let mut doc = Doc::open("bars", WIDTH, height, Size::Fluid, title, &desc);
    let out = &mut doc.out;
    scale.draw(out, left, right, &tick);

    let bar_width = (slot * BAR_SHARE).min(MAX_BAR_WIDTH);
    let zero = scale.y(0);
    let label_values =
        n <= MAX_VALUE_LABELS && values.iter().all(|v| text_width(v, SMALL) <= slot - 2.0);
    out.push_str("<g class=\"tg-bars\">");
    for (i, bar) in chart.bars.iter().enumerate() {
        let mut top = scale.y(bar.value.into());
        // A non-zero value is at least one unit tall.
        if bar.value > 0 {
            top = top.min(zero - 1.0);
        } else if bar.value < 0 {
            top = top.max(zero + 1.0);
        }
        let (y, h) = if top <= zero {
            (top, zero - top)
        } else {
            (zero, top - zero)
        };
        let (class, colour) = if bar.value < 0 {
            ("tg-bar tg-negative", SERIES_COLOURS[1])
        } else {
            ("tg-bar", SERIES_COLOURS[0])
        };
        let _ = write!(
            out,
            "<rect class=\"{class} tg-bar-{i}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" \
             fill=\"{colour}\">",
            N(x(i) - bar_width / 2.0),
            N(y),
            N(bar_width),
            N(h)
        );
        let tip = if labels[i].is_empty() {
            values[i].clone()
        } else {
            format!("{}: {}", labels[i], values[i])
        };
        tooltip(out, &tip);
        out.push_str("</rect>");
        if label_values {
            // Over a positive bar; over the zero line for a negative one.
            let y = if bar.value < 0 { zero - 4.0 } else { y - 4.0 };
            Text::new(x(i), y, Anchor::Middle, "tg-label tg-value")
                .font(SMALL)
                .max_width(slot)
                .write(out, &values[i]);
        }
    }
    out.push_str("</g>");
    let label_y = TOP + PLOT_HEIGHT + SMALL + 6.0;
    draw_x_labels(out, &labels, plan, x, label_y, WIDTH);
    doc.finish()
}

/// The `<desc>`: every bar's label and value, or for many bars their
/// count, range, highest and lowest.
fn describe(labels: &[String], values: &[String], chart: &BarChart) -> String {
    let n = labels.len();
    let name = |i: usize| {
        if labels[i].is_empty() {
            format!("bar {}", i + 1)
        } else {
            labels[i].clone()
        }
    };
    if n <= MAX_LISTED {
        let items: Vec<String> = (0..n)
            .map(|i| format!("{} {}", name(i), values[i]))
            .collect();
        return format!("{}.", items.join("; "));
    }
    let high = (0..n).max_by_key(|i| chart.bars[*i].value).unwrap_or(0);
    let low = (0..n).min_by_key(|i| chart.bars[*i].value).unwrap_or(0);
    format!(
        "{n} bars from {} to {}; highest {} ({}), lowest {} ({}).",
        name(0),
        name(n - 1),
        values[high],
        name(high),
        values[low],
        name(low)
    )
}
