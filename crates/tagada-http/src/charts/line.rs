//! Trends over ordered categories (months, days after due): one or more
//! lines with gaps where a value is missing.

use std::fmt::Write;

use super::SERIES_COLOURS;
use super::scale::{Ticks, YScale, draw_x_labels, plan_x_labels};
use super::svg::{
    Anchor, Doc, FONT, MAX_LABEL_WIDTH, N, SMALL, Size, Text, WIDTH, and_list, clean, empty, shown,
    text_width, tooltip,
};

/// One line: a value per x label, `None` where there is none (drawn as a
/// gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Shown in the legend and tooltips when there are several series.
    pub name: String,
    /// In the caller's integer unit (days, paise, basis points, ...);
    /// `values[i]` belongs to `x_labels[i]`. Values past the last label are
    /// ignored; missing ones count as `None`.
    pub values: Vec<Option<i64>>,
}

/// A trend chart, e.g. DSO per month, or the share of an invoice cohort
/// collected by day after due (values in basis points).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChart {
    /// The chart's accessible name.
    pub title: String,
    /// The categories along the x axis, in order.
    pub x_labels: Vec<String>,
    pub series: Vec<Series>,
    /// The y axis covers at least this range besides the data and zero,
    /// e.g. `Some((0, 100_00))` so a collection curve in basis points always
    /// reaches 100%.
    pub y_extent: Option<(i64, i64)>,
}

/// Dash patterns by series, so lines differ by more than colour.
const DASHES: [&str; 4] = ["", "7 4", "2 3", "10 3 2 3"];
const PLOT_HEIGHT: f64 = 160.0;
const LEGEND_ROW: f64 = 18.0;

/// Draws `chart` with `width="100%"`: round y ticks (1, 2 or 5 × 10ⁿ in the
/// caller's unit) labelled by `tick` (a compact form suits, e.g. `₹5L`),
/// each value labelled in full by `value` in its point's tooltip and the
/// `<desc>`; the y axis includes zero, negative values and
/// [`LineChart::y_extent`]; x labels thin out to a round stride when
/// crowded; a legend on top when there are several series; a dot per value
/// with its tooltip. No labels or no values draw the empty state.
pub fn line_chart(
    chart: &LineChart,
    value: impl Fn(i64) -> String,
    tick: impl Fn(i64) -> String,
) -> String {
    let title = if chart.title.trim().is_empty() {
        "Trend"
    } else {
        &chart.title
    };
    let n = chart.x_labels.len();
    let labels: Vec<String> = chart.x_labels.iter().map(|l| clean(l)).collect();
    // The value of `s` at `i`; past the last label there is none.
    let at = |s: &Series, i: usize| {
        if i < n {
            s.values.get(i).copied().flatten()
        } else {
            None
        }
    };
    let all: Vec<i64> = chart
        .series
        .iter()
        .flat_map(|s| (0..n).filter_map(move |i| at(s, i)))
        .collect();
    if all.is_empty() {
        return empty("line", title, WIDTH, 160.0, Size::Fluid);
    }
    let several = chart.series.len() > 1;
    let names: Vec<String> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = clean(&s.name);
            if name.is_empty() {
                format!("Series {}", i + 1)
            } else {
                name
            }
        })
        .collect();

    let desc = describe(&labels, chart, &names, &value);

    // The legend: items laid out in rows, wrapping at the edge.
    let mut legend = Vec::new();
    let (mut lx, mut row) = (0.0, 0usize);
    if several {
        for name in &names {
            let w = 24.0 + text_width(name, FONT).min(MAX_LABEL_WIDTH) + 14.0;
            if lx > 0.0 && lx + w > WIDTH {
                lx = 0.0;
                row += 1;
            }
            legend.push((lx, row));
            lx += w;
        }
    }
    let legend_height = if several {
        (row + 1) as f64 * LEGEND_ROW + 4.0
    } else {
        0.0
    };

    let mut lo = all.iter().copied().min().map_or(0, i128::from);
    let mut hi = all.iter().copied().max().map_or(0, i128::from);
    if let Some((a, b)) = chart.y_extent {
        lo = lo.min(i128::from(a.min(b)));
        hi = hi.max(i128::from(a.max(b)));
    }
    let top = legend_height + 8.0;
    let scale = YScale {
        ticks: Ticks::covering(lo, hi, 5),
        top,
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
    let plan = plan_x_labels(widest, slot, false);
    let height = top + PLOT_HEIGHT + plan.height;

    let mut doc = Doc::open("line", WIDTH, height, Size::Fluid, title, &desc);
    let out = &mut doc.out;
    scale.draw(out, left, right, &tick);

    let radius = (slot * 0.18).clamp(1.5, 3.5);
    for (k, s) in chart.series.iter().enumerate() {
        let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
        let dash = DASHES[k % DASHES.len()];
        let _ = write!(out, "<g class=\"tg-series tg-series-{k}\">");
        // Runs of consecutive values; a run of one is a lone dot.
        let mut d = String::new();
        let mut run = 0;
        for i in 0..n {
            match at(s, i) {
                Some(v) => {
                    let next = i + 1 < n && at(s, i + 1).is_some();
                    if run == 0 && next {
                        let _ = write!(d, "M{} {}", N(x(i)), N(scale.y(v.into())));
                    } else if run > 0 {
                        let _ = write!(d, "L{} {}", N(x(i)), N(scale.y(v.into())));
                    }
                    run += 1;
                }
                None => run = 0,
            }
        }
        if !d.is_empty() {
            let _ = write!(
                out,
                "<path class=\"tg-line\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" \
                 stroke-width=\"2.25\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            );
            if !dash.is_empty() {
                let _ = write!(out, " stroke-dasharray=\"{dash}\"");
            }
            out.push_str("/>");
        }
        for (i, label) in labels.iter().enumerate() {
            let Some(v) = at(s, i) else { continue };
            let alone = (i == 0 || at(s, i - 1).is_none()) && at(s, i + 1).is_none();
            let r = if alone { radius.max(3.0) } else { radius };
            let _ = write!(
                out,
                "<circle class=\"tg-point\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{colour}\">",
                N(x(i)),
                N(scale.y(v.into())),
                N(r)
            );
            let what = match (several, label.is_empty()) {
                (true, true) => names[k].clone(),
                (true, false) => format!("{} · {label}", names[k]),
                (false, _) => label.clone(),
            };
            let tip = if what.is_empty() {
                shown(&value, v)
            } else {
                format!("{what}: {}", shown(&value, v))
            };
            tooltip(out, &tip);
            out.push_str("</circle>");
        }
        out.push_str("</g>");
    }

    draw_x_labels(
        out,
        &labels,
        plan,
        x,
        top + PLOT_HEIGHT + SMALL + 6.0,
        WIDTH,
    );

    if several {
        out.push_str("<g class=\"tg-legend\">");
        for (k, (name, (lx, row))) in names.iter().zip(&legend).enumerate() {
            let y = *row as f64 * LEGEND_ROW + 12.0;
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let dash = DASHES[k % DASHES.len()];
            let _ = write!(
                out,
                "<g class=\"tg-legend-item tg-series-{k}\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" \
                 y2=\"{}\" stroke=\"{colour}\" stroke-width=\"2.5\"",
                N(*lx),
                N(y - 4.0),
                N(lx + 18.0),
                N(y - 4.0)
            );
            if !dash.is_empty() {
                let _ = write!(out, " stroke-dasharray=\"{dash}\"");
            }
            out.push_str("/>");
            Text::new(lx + 24.0, y, Anchor::Start, "tg-label")
                .max_width(MAX_LABEL_WIDTH)
                .write(out, name);
            out.push_str("</g>");
        }
        out.push_str("</g>");
    }
    doc.finish()
}

/// The `<desc>`: the x range, then each series' first, last, lowest and
/// highest values and how many are missing.
fn describe(
    labels: &[String],
    chart: &LineChart,
    names: &[String],
    value: &impl Fn(i64) -> String,
) -> String {
    let n = labels.len();
    let name_of = |i: usize| {
        if labels[i].is_empty() {
            format!("point {}", i + 1)
        } else {
            labels[i].clone()
        }
    };
    let mut desc = if n == 1 {
        format!("1 point: {}.", name_of(0))
    } else {
        format!("{n} points from {} to {}.", name_of(0), name_of(n - 1))
    };
    for (s, name) in chart.series.iter().zip(names) {
        let points: Vec<(usize, i64)> = (0..n)
            .filter_map(|i| s.values.get(i).copied().flatten().map(|v| (i, v)))
            .collect();
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            let _ = write!(desc, " {name}: no data.");
            continue;
        };
        let at = |(i, v): (usize, i64)| format!("{} ({})", shown(value, v), name_of(i));
        let mut facts = vec![format!("first {}", at(*first))];
        if points.len() > 1 {
            let low = points.iter().min_by_key(|p| p.1).copied().unwrap_or(*first);
            let high = points.iter().max_by_key(|p| p.1).copied().unwrap_or(*first);
            facts.push(format!("last {}", at(*last)));
            facts.push(format!("lowest {}", at(low)));
            facts.push(format!("highest {}", at(high)));
        }
        let missing = n - points.len();
        if missing > 0 {
            facts.push(format!("{missing} missing"));
        }
        let _ = write!(desc, " {name}: {}.", and_list(&facts));
    }
    desc
}
