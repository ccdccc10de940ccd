//! A word-sized trend for a table cell.

use std::fmt::Write;

use super::SERIES_COLOURS;
use super::svg::{Doc, N, Size, and_list, clean, empty, shown, tooltip};

/// A short run of values, e.g. one buyer's days to pay over their last
/// invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sparkline {
    /// What the values are, e.g. "Days to pay, last 8 invoices": the
    /// accessible name.
    pub label: String,
    /// In the caller's integer unit, oldest first; `None` is a gap.
    pub values: Vec<Option<i64>>,
}

const WIDTH: f64 = 96.0;
const HEIGHT: f64 = 24.0;
const PAD: f64 = 3.0;

/// Draws `chart` as a `6em` × `1.5em` line in `currentColor` (the cell's
/// text colour), scaled between its own lowest and highest value (a flat
/// run sits in the middle), with gaps for `None` and a coloured dot on the
/// last value. Values are labelled by `value` in the `<desc>` and the dots'
/// tooltips. No values draws a tiny "No data yet".
pub fn sparkline(chart: &Sparkline, value: impl Fn(i64) -> String) -> String {
    let title = if chart.label.trim().is_empty() {
        "Trend"
    } else {
        &chart.label
    };
    let size = Size::Em(6.0, 1.5);
    let n = chart.values.len();
    let points: Vec<(usize, i64)> = chart
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let (Some(first), Some(last)) = (points.first().copied(), points.last().copied()) else {
        return empty("sparkline", title, WIDTH, HEIGHT, size);
    };
    let low = points.iter().map(|p| p.1).min().unwrap_or(first.1);
    let high = points.iter().map(|p| p.1).max().unwrap_or(first.1);

    let desc = {
        let mut facts = vec![format!("first {}", shown(&value, first.1))];
        if points.len() > 1 {
            facts.push(format!("last {}", shown(&value, last.1)));
            facts.push(format!("lowest {}", shown(&value, low)));
            facts.push(format!("highest {}", shown(&value, high)));
        }
        let missing = n - points.len();
        if missing > 0 {
            facts.push(format!("{missing} missing"));
        }
        let count = if n == 1 {
            "1 value".to_string()
        } else {
            format!("{n} values")
        };
        format!("{}: {count}, {}.", clean(title), and_list(&facts))
    };

    let x = |i: usize| {
        if n == 1 {
            WIDTH / 2.0
        } else {
            PAD + i as f64 * (WIDTH - 2.0 * PAD) / (n - 1) as f64
        }
    };
    let y = |v: i64| {
        if high == low {
            HEIGHT / 2.0
        } else {
            let frac = (i128::from(high) - i128::from(v)) as f64
                / (i128::from(high) - i128::from(low)) as f64;
            PAD + frac * (HEIGHT - 2.0 * PAD)
        }
    };
    let at = |i: usize| chart.values.get(i).copied().flatten();

    let mut doc = Doc::open("sparkline", WIDTH, HEIGHT, size, title, &desc);
    let out = &mut doc.out;
    let mut d = String::new();
    let mut run = 0;
    for i in 0..n {
        match at(i) {
            Some(v) => {
                if run == 0 && at(i + 1).is_some() {
                    let _ = write!(d, "M{} {}", N(x(i)), N(y(v)));
                } else if run > 0 {
                    let _ = write!(d, "L{} {}", N(x(i)), N(y(v)));
                }
                run += 1;
            }
            None => run = 0,
        }
    }
    if !d.is_empty() {
        let _ = write!(
            out,
            "<path class=\"tg-line\" d=\"{d}\" fill=\"none\" stroke=\"currentColor\" \
             stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\" \
             vector-effect=\"non-scaling-stroke\"/>"
        );
    }
    // Dots: values with no neighbour (else they would not show), and the last.
    for &(i, v) in &points {
        let alone = (i == 0 || at(i - 1).is_none()) && at(i + 1).is_none();
        let is_last = i == last.0;
        if !alone && !is_last {
            continue;
        }
        let (class, fill, r) = if is_last {
            ("tg-point tg-last", SERIES_COLOURS[0], 2.5)
        } else {
            ("tg-point", "currentColor", 1.5)
        };
        let _ = write!(
            out,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{r}\" fill=\"{fill}\">",
            N(x(i)),
            N(y(v))
        );
        let tip = if is_last {
            format!("Last: {}", shown(&value, v))
        } else {
            shown(&value, v)
        };
        tooltip(out, &tip);
        out.push_str("</circle>");
    }
    doc.finish()
}
