//! Server-side SVG charts for the dashboard: data in, an inline `<svg>`
//! string out, ready to embed in a server-rendered page.
//!
//! | function         | input          | draws                                          |
//! |------------------|----------------|------------------------------------------------|
//! | [`ageing_bar`]   | [`Ageing`]     | one stacked bar of receivables by age + legend |
//! | [`line_chart`]   | [`LineChart`]  | one or more trends over ordered x labels      |
//! | [`bar_chart`]    | [`BarChart`]   | vertical bars, one per category               |
//! | [`funnel_chart`] | [`Funnel`]     | decreasing stages with stage-to-stage rates   |
//! | [`sparkline`]    | [`Sparkline`]  | a tiny trend line for a table cell            |
//!
//! What every chart shares:
//!
//! - **Scales with its container.** The root has a `viewBox` and
//!   `width="100%"` (the sparkline is sized in `em` so it follows the
//!   table's text); no pixel size is imposed on the page. Coordinates are
//!   laid out for a 400-unit-wide box, so text stays legible on a phone.
//! - **Pure SVG.** No JavaScript, no `<style>`, no fonts or other requests:
//!   text uses the system UI font.
//! - **Accessible.** `role="img"`, a `<title>` (the caller's title) and a
//!   `<desc>` summarising the data, linked with `aria-labelledby` and
//!   `aria-describedby` (ids derived from the content, so stable); every bar,
//!   segment and point carries its own `<title>`, which desktop browsers show
//!   on hover. Colour is never the only carrier: legends and tooltips spell
//!   out the values, and several line series differ by dash pattern too.
//! - **Restylable.** Text, axes and gridlines are `currentColor`, so a page
//!   in dark mode just sets `color`. Data marks get a fill from
//!   [`SERIES_COLOURS`] or [`AGEING_COLOURS`] as presentation attributes and
//!   CSS classes (`tg-chart`, `tg-chart-<kind>`, `tg-bar`, `tg-seg-<i>`,
//!   `tg-series-<i>`, `tg-point`, `tg-grid`, `tg-label`, `tg-legend`, ...):
//!   any page stylesheet rule wins over a presentation attribute.
//! - **Never formats numbers itself.** Values are integers the caller scales
//!   (paise, days, basis points); every number shown goes through the
//!   caller's label function (for money: `Money`'s `Display`, with lakh
//!   grouping). Layout uses `f64`, but only for pixel coordinates.
//! - **Escapes everything.** Caller text is XML-escaped, control characters
//!   are dropped, and labels too long for their room end in `…` with the
//!   full text in a `<title>`.
//! - **Has an empty state.** No data draws a framed "No data yet".
//!
//! Integer percentages (ageing shares, funnel conversion) are computed in
//! per mille with integer arithmetic and rounded half up to one decimal:
//! see [`percent_half_up`].

mod ageing;
mod bars;
mod funnel;
mod line;
mod scale;
mod sparkline;
mod svg;

#[cfg(test)]
mod tests;

pub use ageing::{Ageing, AgeingBucket, ageing_bar};
pub use bars::{Bar, BarChart, bar_chart};
pub use funnel::{Funnel, FunnelStage, funnel_chart};
pub use line::{LineChart, Series, line_chart};
pub use sparkline::{Sparkline, sparkline};

/// Colours of line series and bars, in order of use. Each has at least 3:1
/// contrast against white and against a dark (`#1e1e1e`) background, the
/// WCAG minimum for graphical objects.
pub const SERIES_COLOURS: [&str; 6] = [
    "#1c7ed6", // blue
    "#e8590c", // orange
    "#2b8a3e", // green
    "#ae3ec9", // purple
    "#0c8599", // teal
    "#d6336c", // pink
];

/// Colours of the ageing buckets, from "not due" (green) to the most overdue
/// (purple), with the same contrast guarantee as [`SERIES_COLOURS`].
pub const AGEING_COLOURS: [&str; 5] = [
    "#2f9e44", // not due
    "#d97706", // 1–30
    "#e8590c", // 31–60
    "#e03131", // 61–90
    "#ae3ec9", // 90+
];

/// `part / whole` as a percentage with one decimal, computed in integers:
/// per mille = ⌊(2 · 1000 · part + whole) / (2 · whole)⌋, which rounds half
/// up (`1/8` = 12.5%, `1/3` = 33.3%, `2/3` = 66.7%, `1/16` = 6.25% → 6.3%).
/// `None` when `whole` is zero.
pub fn percent_half_up(part: u64, whole: u64) -> Option<String> {
    percent_of(u128::from(part), u128::from(whole))
}

/// [`percent_half_up`] for sums of many `u64`s (below 2^100, so the
/// numerator cannot overflow).
fn percent_of(part: u128, whole: u128) -> Option<String> {
    if whole == 0 {
        return None;
    }
    let per_mille = (2 * 1000 * part + whole) / (2 * whole);
    Some(format!("{}.{}%", per_mille / 10, per_mille % 10))
}
