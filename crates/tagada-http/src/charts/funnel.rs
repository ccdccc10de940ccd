//! A funnel: stages a set of messages or invoices goes through (sent,
//! delivered, read, replied, paid), with the rate from each stage to the
//! next.

use std::fmt::Write;

use super::svg::{
    Anchor, Doc, FONT, N, SMALL, Size, Text, WIDTH, clean, empty, shown, text_width, tooltip,
};
use super::{SERIES_COLOURS, percent_half_up};

/// One stage and how many reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelStage {
    pub label: String,
    pub count: u64,
}

/// Stages in order, usually decreasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funnel {
    /// The chart's accessible name.
    pub title: String,
    pub stages: Vec<FunnelStage>,
}

const TOP: f64 = 4.0;
const LABEL_LINE: f64 = 13.0;
const BAR_GAP: f64 = 5.0;
const BAR_HEIGHT: f64 = 20.0;
/// The band between two bars where the conversion rate is printed.
const RATE_BAND: f64 = 22.0;
const ROW: f64 = LABEL_LINE + BAR_GAP + BAR_HEIGHT + RATE_BAND;

/// Draws `chart` with `width="100%"`: per stage its label and
/// `count(n)` above a centred bar whose width is in proportion to the
/// largest stage (a non-zero stage is at least two units wide), and between
/// two stages "↓ r%", r = next / previous as [`percent_half_up`] computes it
/// (integer arithmetic, half up, one decimal; "–" after an empty stage).
/// No stages draws the empty state.
pub fn funnel_chart(chart: &Funnel, count: impl Fn(u64) -> String) -> String {
    let title = if chart.title.trim().is_empty() {
        "Funnel"
    } else {
        &chart.title
    };
    let n = chart.stages.len();
    if n == 0 {
        return empty("funnel", title, WIDTH, 120.0, Size::Fluid);
    }
    let labels: Vec<String> = chart.stages.iter().map(|s| clean(&s.label)).collect();
    let counts: Vec<String> = chart
        .stages
        .iter()
        .map(|s| shown(&count, s.count))
        .collect();
    // The rate into stage i from stage i - 1.
    let rates: Vec<Option<String>> = (0..n)
        .map(|i| {
            if i == 0 {
                None
            } else {
                Some(
                    percent_half_up(chart.stages[i].count, chart.stages[i - 1].count)
                        .unwrap_or_else(|| "–".to_string()),
                )
            }
        })
        .collect();

    let desc = {
        let mut parts = Vec::new();
        for i in 0..n {
            match &rates[i] {
                None => parts.push(format!("{} {}", labels[i], counts[i])),
                Some(r) => parts.push(format!(
                    "{} {} ({r} of {})",
                    labels[i],
                    counts[i],
                    labels[i - 1]
                )),
            }
        }
        let mut desc = format!("{}.", parts.join("; "));
        if n > 2
            && let Some(overall) = percent_half_up(chart.stages[n - 1].count, chart.stages[0].count)
        {
            let _ = write!(
                desc,
                " Overall {overall} from {} to {}.",
                labels[0],
                labels[n - 1]
            );
        }
        desc
    };

    let height = TOP + ROW * n as f64 - RATE_BAND + 4.0;
    let mut doc = Doc::open("funnel", WIDTH, height, Size::Fluid, title, &desc);
    let out = &mut doc.out;
    let max = chart.stages.iter().map(|s| s.count).max().unwrap_or(0);
    for (i, stage) in chart.stages.iter().enumerate() {
        let row = TOP + ROW * i as f64;
        let _ = write!(out, "<g class=\"tg-stage tg-stage-{i}\">");
        let count_width = text_width(&counts[i], FONT).min(WIDTH / 2.0);
        Text::new(0.0, row + LABEL_LINE - 2.0, Anchor::Start, "tg-label")
            .max_width(WIDTH - count_width - 12.0)
            .write(out, &labels[i]);
        Text::new(
            WIDTH,
            row + LABEL_LINE - 2.0,
            Anchor::End,
            "tg-label tg-count",
        )
        .bold()
        .max_width(WIDTH / 2.0)
        .write(out, &counts[i]);
        let mut w = if max == 0 {
            0.0
        } else {
            stage.count as f64 / max as f64 * WIDTH
        };
        if stage.count > 0 {
            w = w.max(2.0);
        }
        let _ = write!(
            out,
            "<rect class=\"tg-bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\">",
            N((WIDTH - w) / 2.0),
            N(row + LABEL_LINE + BAR_GAP),
            N(w),
            N(BAR_HEIGHT),
            SERIES_COLOURS[0]
        );
        let tip = match &rates[i] {
            None => format!("{}: {}", labels[i], counts[i]),
            Some(r) => format!("{}: {} ({r} of {})", labels[i], counts[i], labels[i - 1]),
        };
        tooltip(out, &tip);
        out.push_str("</rect></g>");
        if let Some(Some(r)) = rates.get(i + 1) {
            let y = row + LABEL_LINE + BAR_GAP + BAR_HEIGHT + RATE_BAND / 2.0 + SMALL * 0.35;
            out.push_str("<g class=\"tg-rate\">");
            tooltip(
                out,
                &format!("{} of {} reached {}", r, labels[i], labels[i + 1]),
            );
            Text::new(WIDTH / 2.0, y, Anchor::Middle, "tg-label tg-rate-label")
                .font(SMALL)
                .write(out, &format!("↓ {r}"));
            out.push_str("</g>");
        }
    }
    doc.finish()
}
