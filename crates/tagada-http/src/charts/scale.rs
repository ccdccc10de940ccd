//! Axes shared by the line and bar charts: "nice" integer ticks on the
//! value axis, and x-axis labels that thin out or turn when crowded.

use std::fmt::Write;

use super::svg::{Anchor, MAX_LABEL_WIDTH, N, SMALL, Text, shown, text_width};

/// Evenly spaced round values covering a range: `start`, `start + step`,
/// ... `count` of them. The step is 1, 2 or 5 times a power of ten, in the
/// caller's integer unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticks {
    pub start: i128,
    pub step: i128,
    pub count: usize,
}

impl Ticks {
    /// Ticks covering `lo..=hi` and zero, about `target` steps apart (never
    /// more than `target` steps plus the two partial ones at the ends). Zero
    /// is always on the axis so a bar's or a line's height reads as its
    /// size. An empty range (all zeros) becomes `0..=1`.
    pub(crate) fn covering(lo: i128, hi: i128, target: u32) -> Ticks {
        let lo = lo.min(0);
        let mut hi = hi.max(0);
        if hi == lo {
            hi = lo + 1;
        }
        let target = i128::from(target.max(1));
        let span = hi - lo;
        // Rounded up, so `target` steps of `raw` reach across the span.
        let raw = (span + target - 1) / target;
        let mut magnitude: i128 = 1;
        let step = loop {
            if let Some(step) = [1, 2, 5].iter().map(|m| m * magnitude).find(|s| *s >= raw) {
                break step;
            }
            magnitude *= 10;
        };
        // Floor and ceiling to a multiple of the step (`div_euclid` floors
        // for a positive divisor).
        let start = lo.div_euclid(step) * step;
        let end = -(-hi).div_euclid(step) * step;
        let count = usize::try_from((end - start) / step + 1).unwrap_or(2);
        Ticks { start, step, count }
    }

    pub(crate) fn min(&self) -> i128 {
        self.start
    }

    pub(crate) fn max(&self) -> i128 {
        self.start + self.step * (self.count as i128 - 1)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = i128> + '_ {
        (0..self.count).map(|k| self.start + self.step * k as i128)
    }
}

/// A value axis mapped onto `top..top + height` (the largest value on top).
#[derive(Debug, Clone, Copy)]
pub(crate) struct YScale {
    pub ticks: Ticks,
    pub top: f64,
    pub height: f64,
}

impl YScale {
    pub(crate) fn y(&self, v: i128) -> f64 {
        let (min, max) = (self.ticks.min(), self.ticks.max());
        let frac = (max - v) as f64 / (max - min) as f64;
        self.top + frac * self.height
    }

    /// The width the tick labels need, right-aligned left of the plot.
    pub(crate) fn label_width(&self, fmt: &impl Fn(i64) -> String) -> f64 {
        self.ticks
            .values()
            .map(|v| text_width(&shown(fmt, saturate(v)), SMALL))
            .fold(0.0, f64::max)
            .min(MAX_LABEL_WIDTH)
    }

    /// Horizontal gridlines at every tick from `left` to `right`, the zero
    /// line stronger, and the tick labels left of `left`.
    pub(crate) fn draw(
        &self,
        out: &mut String,
        left: f64,
        right: f64,
        fmt: &impl Fn(i64) -> String,
    ) {
        out.push_str("<g class=\"tg-axis tg-axis-y\">");
        for v in self.ticks.values() {
            let y = self.y(v);
            let (class, opacity) = if v == 0 {
                ("tg-grid tg-zero", "0.55")
            } else {
                ("tg-grid", "0.15")
            };
            let _ = write!(
                out,
                "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" \
                 stroke=\"currentColor\" stroke-opacity=\"{opacity}\"/>",
                N(left),
                N(y),
                N(right),
                N(y)
            );
            Text::new(
                left - 6.0,
                y + SMALL * 0.35,
                Anchor::End,
                "tg-label tg-tick",
            )
            .font(SMALL)
            .max_width(MAX_LABEL_WIDTH)
            .write(out, &fmt(saturate(v)));
        }
        out.push_str("</g>");
    }
}

/// A tick value for the caller's `i64` label function (ticks can round past
/// the data, and so past `i64`, only for data at the very ends of `i64`).
pub(crate) fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// How the category labels under a plot are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct XLabels {
    /// Turned 45°.
    pub rotate: bool,
    /// Only every `every`-th label is drawn (from the first).
    pub every: usize,
    /// Labels are cut to this width.
    pub max_width: f64,
    /// The room they take below the plot.
    pub height: f64,
}

/// Rotated labels are cut shorter than level ones, to keep the plot tall.
const ROTATED_MAX_WIDTH: f64 = 80.0;
/// Space between two level labels.
const GAP: f64 = 6.0;

/// Plans the labels of `count` categories `slot` units apart whose widest
/// label is `widest`: level when they fit; else turned 45° if
/// `allow_rotate` (a bar per category deserves its label); else, and when
/// even turned labels collide, only every n-th label, n a round number
/// (2, 3, 5, 10, 12, ...) so the labels shown are regular.
pub(crate) fn plan_x_labels(widest: f64, slot: f64, allow_rotate: bool) -> XLabels {
    let widest = widest.min(MAX_LABEL_WIDTH);
    // A line of text, descenders included, under the plot.
    let level_height = SMALL + 10.0;
    if widest + GAP <= slot {
        return XLabels {
            rotate: false,
            every: 1,
            max_width: MAX_LABEL_WIDTH,
            height: level_height,
        };
    }
    if allow_rotate {
        // Turned 45°, neighbours are slot·sin 45° apart across their lines:
        // that must hold a line of text.
        let needed = SMALL * 1.15 / std::f64::consts::FRAC_1_SQRT_2;
        let longest = widest.min(ROTATED_MAX_WIDTH);
        return XLabels {
            rotate: true,
            every: round_every(needed / slot),
            max_width: ROTATED_MAX_WIDTH,
            height: longest * std::f64::consts::FRAC_1_SQRT_2 + SMALL + 10.0,
        };
    }
    XLabels {
        rotate: false,
        every: round_every((widest + GAP) / slot),
        max_width: MAX_LABEL_WIDTH,
        height: level_height,
    }
}

/// The smallest round stride at least `needed`.
fn round_every(needed: f64) -> usize {
    const ROUND: [usize; 12] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 25, 30];
    if !needed.is_finite() {
        return 1;
    }
    let needed = needed.ceil().max(1.0) as usize;
    if let Some(e) = ROUND.iter().find(|e| **e >= needed) {
        return *e;
    }
    let mut magnitude = 10;
    loop {
        for m in [5, 10] {
            if m * magnitude >= needed {
                return m * magnitude;
            }
        }
        magnitude *= 10;
    }
}

/// Writes the category labels centred on `x(i)`, kept inside `0..=width`.
pub(crate) fn draw_x_labels(
    out: &mut String,
    labels: &[String],
    plan: XLabels,
    x: impl Fn(usize) -> f64,
    y: f64,
    width: f64,
) {
    out.push_str("<g class=\"tg-axis tg-axis-x\">");
    for (i, label) in labels.iter().enumerate() {
        if i % plan.every != 0 {
            continue;
        }
        if plan.rotate {
            Text::new(x(i) + SMALL * 0.3, y, Anchor::End, "tg-label tg-tick")
                .font(SMALL)
                .max_width(plan.max_width)
                .rotate(true)
                .write(out, label);
        } else {
            let half = text_width(label, SMALL).min(plan.max_width) / 2.0;
            let cx = x(i).clamp(half.min(width / 2.0), (width - half).max(width / 2.0));
            Text::new(cx, y, Anchor::Middle, "tg-label tg-tick")
                .font(SMALL)
                .max_width(plan.max_width)
                .write(out, label);
        }
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Ticks) -> Vec<i128> {
        t.values().collect()
    }

    #[test]
    fn ticks_are_round_and_cover_the_data_and_zero() {
        assert_eq!(values(Ticks::covering(0, 100, 5)), [0, 20, 40, 60, 80, 100]);
        assert_eq!(values(Ticks::covering(3, 97, 5)), [0, 20, 40, 60, 80, 100]);
        assert_eq!(values(Ticks::covering(0, 7, 5)), [0, 2, 4, 6, 8]);
        assert_eq!(values(Ticks::covering(40, 60, 5)), [0, 20, 40, 60]);
        assert_eq!(
            values(Ticks::covering(-12, 30, 5)),
            [-20, -10, 0, 10, 20, 30]
        );
        assert_eq!(values(Ticks::covering(-7, -3, 5)), [-8, -6, -4, -2, 0]);
        // ₹1,23,456.00 in paise: steps of ₹50,000.
        assert_eq!(
            values(Ticks::covering(0, 12_345_600, 5)),
            [0, 5_000_000, 10_000_000, 15_000_000]
        );
    }

    #[test]
    fn all_zero_gets_a_unit_range() {
        assert_eq!(values(Ticks::covering(0, 0, 5)), [0, 1]);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let t = Ticks::covering(i128::from(i64::MIN), i128::from(i64::MAX), 5);
        assert!(t.min() <= i128::from(i64::MIN) && t.max() >= i128::from(i64::MAX));
        assert!(t.count <= 8);
        assert_eq!(saturate(t.max()), i64::MAX);
    }

    #[test]
    fn crowded_labels_turn_or_thin_to_a_round_stride() {
        let level = plan_x_labels(30.0, 50.0, true);
        assert!(!level.rotate && level.every == 1);
        let turned = plan_x_labels(60.0, 30.0, true);
        assert!(turned.rotate && turned.every == 1);
        let thinned = plan_x_labels(60.0, 30.0, false);
        assert!(!thinned.rotate);
        assert_eq!(thinned.every, 3);
        assert_eq!(plan_x_labels(20.0, 4.0, false).every, 10);
        assert!(plan_x_labels(60.0, 5.0, true).every >= 4);
        assert_eq!(round_every(31.0), 50);
        assert_eq!(round_every(101.0), 500);
    }
}
