//! Receivables by age: one stacked bar, a segment per bucket, and a legend
//! with each bucket's amount and share.

use std::fmt::Write;

use super::svg::{Anchor, Doc, FONT, N, Size, Text, WIDTH, empty, shown, text_width, tooltip};
use super::{AGEING_COLOURS, percent_of};

/// One bucket of outstanding money, e.g. "31–60 days".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeingBucket {
    pub label: String,
    /// In the currency's minor units (paise). A negative amount (a credit)
    /// is listed in the legend but draws no segment.
    pub amount: i64,
}

/// Outstanding receivables split by age, oldest last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ageing {
    /// The chart's accessible name, e.g. "Receivables by age".
    pub title: String,
    pub buckets: Vec<AgeingBucket>,
}

impl Ageing {
    /// The usual five buckets, by days past the due date.
    pub const STANDARD_LABELS: [&'static str; 5] = [
        "Not due",
        "1–30 days",
        "31–60 days",
        "61–90 days",
        "90+ days",
    ];

    /// The five standard buckets with these amounts, in
    /// [`STANDARD_LABELS`](Self::STANDARD_LABELS) order.
    pub fn standard(title: impl Into<String>, amounts: [i64; 5]) -> Ageing {
        Ageing {
            title: title.into(),
            buckets: Self::STANDARD_LABELS
                .iter()
                .zip(amounts)
                .map(|(label, amount)| AgeingBucket {
                    label: (*label).to_string(),
                    amount,
                })
                .collect(),
        }
    }
}

const BAR_Y: f64 = 26.0;
const BAR_HEIGHT: f64 = 28.0;
const LEGEND_Y: f64 = 76.0;
const ROW: f64 = 22.0;
const SWATCH: f64 = 12.0;
/// The share column (right-aligned at the edge) and the amount column left
/// of it.
const SHARE_WIDTH: f64 = 56.0;

/// Draws `chart` as one bar of `width="100%"`, its segments in proportion
/// to the amounts (a non-zero segment is at least one unit wide, taken from
/// the widest, so a tiny bucket stays visible), with "Total" above and a
/// legend row per bucket below: colour, label, `amount(value)`, share of the
/// total (see [`percent_half_up`](super::percent_half_up)). No buckets draws the empty state; all
/// zero draws an empty track and the legend.
pub fn ageing_bar(chart: &Ageing, amount: impl Fn(i64) -> String) -> String {
    let title = if chart.title.trim().is_empty() {
        "Receivables by age"
    } else {
        &chart.title
    };
    if chart.buckets.is_empty() {
        return empty("ageing", title, WIDTH, 120.0, Size::Fluid);
    }
    let drawn: Vec<u64> = chart
        .buckets
        .iter()
        .map(|b| u64::try_from(b.amount).unwrap_or(0))
        .collect();
    // At most a few buckets of at most i64::MAX each: u128 cannot overflow.
    let total: u128 = drawn.iter().map(|v| u128::from(*v)).sum();
    let total_shown = amount(i64::try_from(total).unwrap_or(i64::MAX));
    let share = |v: u64| percent_of(u128::from(v), total).unwrap_or_else(|| "–".to_string());

    let desc = {
        let parts: Vec<String> = chart
            .buckets
            .iter()
            .zip(&drawn)
            .map(|(b, v)| format!("{} {} ({})", b.label, shown(&amount, b.amount), share(*v)))
            .collect();
        format!("Total {}: {}.", total_shown, parts.join("; "))
    };
    let height = LEGEND_Y + ROW * chart.buckets.len() as f64 - 6.0;
    let mut doc = Doc::open("ageing", WIDTH, height, Size::Fluid, title, &desc);
    let out = &mut doc.out;

    Text::new(0.0, 16.0, Anchor::Start, "tg-label tg-total")
        .bold()
        .write(out, &format!("Total {total_shown}"));

    let _ = write!(
        out,
        "<rect class=\"tg-track\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" \
         fill=\"currentColor\" fill-opacity=\"0.08\"/>",
        N(BAR_Y),
        N(WIDTH),
        N(BAR_HEIGHT)
    );
    let widths = segment_widths(&drawn, WIDTH);
    out.push_str("<g class=\"tg-segments\">");
    let mut x = 0.0;
    for (i, (bucket, w)) in chart.buckets.iter().zip(&widths).enumerate() {
        if *w <= 0.0 {
            continue;
        }
        let _ = write!(
            out,
            "<rect class=\"tg-seg tg-seg-{i}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">",
            N(x),
            N(BAR_Y),
            N(*w),
            N(BAR_HEIGHT),
            AGEING_COLOURS[i % AGEING_COLOURS.len()]
        );
        tooltip(
            out,
            &format!(
                "{}: {} ({})",
                bucket.label,
                shown(&amount, bucket.amount),
                share(drawn[i])
            ),
        );
        out.push_str("</rect>");
        x += w;
    }
    out.push_str("</g>");

    out.push_str("<g class=\"tg-legend\">");
    let amounts: Vec<String> = chart
        .buckets
        .iter()
        .map(|b| shown(&amount, b.amount))
        .collect();
    let amount_width = amounts
        .iter()
        .map(|a| text_width(a, FONT))
        .fold(0.0, f64::max)
        .min(WIDTH / 2.0);
    let amount_right = WIDTH - SHARE_WIDTH;
    let label_x = SWATCH + 8.0;
    let label_room = amount_right - amount_width - 12.0 - label_x;
    for (i, bucket) in chart.buckets.iter().enumerate() {
        let y = LEGEND_Y + ROW * i as f64;
        let _ = write!(
            out,
            "<g class=\"tg-legend-item tg-seg-{i}\"><rect x=\"0\" y=\"{}\" width=\"{SWATCH}\" \
             height=\"{SWATCH}\" rx=\"2\" fill=\"{}\"/>",
            N(y - SWATCH + 2.0),
            AGEING_COLOURS[i % AGEING_COLOURS.len()]
        );
        Text::new(label_x, y, Anchor::Start, "tg-label")
            .max_width(label_room)
            .write(out, &bucket.label);
        Text::new(amount_right, y, Anchor::End, "tg-label tg-amount")
            .max_width(WIDTH / 2.0)
            .write(out, &amounts[i]);
        Text::new(WIDTH, y, Anchor::End, "tg-label tg-share")
            .max_width(SHARE_WIDTH)
            .write(out, &share(drawn[i]));
        out.push_str("</g>");
    }
    out.push_str("</g>");
    doc.finish()
}

/// Each value's share of `width`, in proportion; a non-zero value gets at
/// least one unit, taken from the widest segment, so it stays visible.
fn segment_widths(values: &[u64], width: f64) -> Vec<f64> {
    let total: f64 = values.iter().map(|v| *v as f64).sum();
    if total <= 0.0 {
        return vec![0.0; values.len()];
    }
    let mut widths: Vec<f64> = values.iter().map(|v| *v as f64 / total * width).collect();
    let mut borrowed = 0.0;
    for (w, v) in widths.iter_mut().zip(values) {
        if *v > 0 && *w < 1.0 {
            borrowed += 1.0 - *w;
            *w = 1.0;
        }
    }
    if let Some(widest) = widths.iter_mut().max_by(|a, b| a.total_cmp(b)) {
        *widest -= borrowed;
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_proportional_and_fill_the_bar() {
        let w = segment_widths(&[100, 300, 0, 600], 400.0);
        assert_eq!(w, [40.0, 120.0, 0.0, 240.0]);
    }

    #[test]
    fn a_tiny_value_stays_visible_at_the_widest_segments_cost() {
        let w = segment_widths(&[1_000_000_000, 1, 0], 400.0);
        assert_eq!(w[1], 1.0);
        assert_eq!(w[2], 0.0);
        assert!((w.iter().sum::<f64>() - 400.0).abs() < 1e-9);
    }
}
