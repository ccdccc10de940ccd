//! The SVG writing every chart shares: the root element with its accessible
//! name, escaping, coordinates, text that fits its room, the empty state.

use std::fmt::{self, Write};

/// The width of every chart's `viewBox` but the sparkline's. Narrow enough
/// that 12-unit text is still about 11 px on a 360 px phone.
pub(crate) const WIDTH: f64 = 400.0;
/// Body text: legends, value labels.
pub(crate) const FONT: f64 = 12.0;
/// Axis tick labels.
pub(crate) const SMALL: f64 = 11.0;
/// The longest label we draw in full on an axis or in a legend, in units.
pub(crate) const MAX_LABEL_WIDTH: f64 = 120.0;

/// A coordinate or length, printed with at most two decimals and no `-0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct N(pub f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.is_finite() {
            return f.write_str("0");
        }
        let rounded = (self.0 * 100.0).round() / 100.0;
        if rounded == 0.0 {
            return f.write_str("0");
        }
        // `Display` of f64 prints the shortest text that reads back as the
        // same number, so 12.34 prints as `12.34`, 20.0 as `20`.
        write!(f, "{rounded}")
    }
}

/// Caller text made fit for one line of SVG: control characters (which XML
/// 1.0 cannot carry) are dropped, line breaks and tabs become spaces, runs
/// of spaces collapse, and the ends are trimmed.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') {
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// Escapes text for XML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The width of one character of `font`-sized system UI text, estimated:
/// 0.6 em for Latin text, digits and symbols (a little wide, so estimates
/// err towards room to spare), 1 em for CJK and other wide scripts.
fn char_width(c: char, font: f64) -> f64 {
    if u32::from(c) >= 0x2E80 && c != '…' {
        font
    } else {
        font * 0.6
    }
}

/// The estimated width of `s` in `font`-sized text.
pub(crate) fn text_width(s: &str, font: f64) -> f64 {
    s.chars().map(|c| char_width(c, font)).sum()
}

/// `s` (already cleaned) cut to `max_width`, ending in `…` when cut. The
/// second value tells whether it was cut.
pub(crate) fn fit(s: &str, max_width: f64, font: f64) -> (String, bool) {
    if text_width(s, font) <= max_width {
        return (s.to_string(), false);
    }
    let room = max_width - char_width('…', font);
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let w = char_width(c, font);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    (out, true)
}

/// Horizontal alignment of a text's anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// One line of text and where it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    pub x: f64,
    pub y: f64,
    pub anchor: Anchor,
    pub class: &'a str,
    pub font: f64,
    /// Cut to this width with `…`; the full text then goes in a `<title>`.
    pub max_width: f64,
    /// Turned 45° counter-clockwise about its anchor (crowded x axes).
    pub rotate: bool,
    pub bold: bool,
}

impl<'a> Text<'a> {
    pub(crate) fn new(x: f64, y: f64, anchor: Anchor, class: &'a str) -> Text<'a> {
        Text {
            x,
            y,
            anchor,
            class,
            font: FONT,
            max_width: WIDTH,
            rotate: false,
            bold: false,
        }
    }

    pub(crate) fn font(self, font: f64) -> Text<'a> {
        Text { font, ..self }
    }

    pub(crate) fn max_width(self, max_width: f64) -> Text<'a> {
        Text { max_width, ..self }
    }

    pub(crate) fn rotate(self, rotate: bool) -> Text<'a> {
        Text { rotate, ..self }
    }

    pub(crate) fn bold(self) -> Text<'a> {
        Text { bold: true, ..self }
    }

    /// Writes `<text>` with `content` (cleaned and escaped here).
    pub(crate) fn write(&self, out: &mut String, content: &str) {
        let content = clean(content);
        let (shown, cut) = fit(&content, self.max_width.max(0.0), self.font);
        let _ = write!(
            out,
            "<text class=\"{}\" x=\"{}\" y=\"{}\"",
            self.class,
            N(self.x),
            N(self.y)
        );
        if self.anchor != Anchor::Start {
            let _ = write!(out, " text-anchor=\"{}\"", self.anchor.attr());
        }
        if self.font != FONT {
            let _ = write!(out, " font-size=\"{}\"", N(self.font));
        }
        if self.bold {
            out.push_str(" font-weight=\"600\"");
        }
        if self.rotate {
            let _ = write!(
                out,
                " transform=\"rotate(-45 {} {})\"",
                N(self.x),
                N(self.y)
            );
        }
        out.push('>');
        out.push_str(&esc(&shown));
        if cut {
            let _ = write!(out, "<title>{}</title>", esc(&content));
        }
        out.push_str("</text>");
    }
}

/// How the root element is sized in the page.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Size {
    /// `width="100%"`; the height follows from the `viewBox`.
    Fluid,
    /// Sized in `em` so it follows the surrounding text (sparklines).
    Em(f64, f64),
}

/// FNV-1a: a stable, dependency-free hash to make element ids that are the
/// same for the same chart (snapshots stay stable) and differ between
/// different charts on one page.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// An SVG document being written.
#[derive(Debug)]
pub(crate) struct Doc {
    pub out: String,
}

impl Doc {
    /// Opens the root `<svg>` of a `kind` chart (`ageing`, `line`, ...) and
    /// writes its `<title>` and `<desc>`.
    pub(crate) fn open(
        kind: &str,
        width: f64,
        height: f64,
        size: Size,
        title: &str,
        desc: &str,
    ) -> Doc {
        let title = clean(title);
        let desc = clean(desc);
        let id = format!("tg-{:016x}", fnv1a(&[kind, &title, &desc]));
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\"",
            N(width),
            N(height)
        );
        match size {
            Size::Fluid => out.push_str(" width=\"100%\""),
            Size::Em(w, h) => {
                let _ = write!(out, " width=\"{}em\" height=\"{}em\"", N(w), N(h));
            }
        }
        let _ = write!(
            out,
            " role=\"img\" aria-labelledby=\"{id}-title\" aria-describedby=\"{id}-desc\" \
             class=\"tg-chart tg-chart-{kind}\" font-family=\"system-ui, sans-serif\" \
             font-size=\"{}\" fill=\"currentColor\">\
             <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
            N(FONT),
            esc(&title),
            esc(&desc)
        );
        Doc { out }
    }

    /// Closes the root and returns the document.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// The empty state: a dashed frame with "No data yet" in the middle.
pub(crate) fn empty(kind: &str, title: &str, width: f64, height: f64, size: Size) -> String {
    let mut doc = Doc::open(kind, width, height, size, title, "No data yet.");
    let font = (height / 2.5).min(FONT);
    let _ = write!(
        doc.out,
        "<g class=\"tg-empty\"><rect x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"{}\" \
         fill=\"none\" stroke=\"currentColor\" stroke-opacity=\"0.35\" stroke-dasharray=\"4 3\"/>",
        N(width - 1.0),
        N(height - 1.0),
        N((height / 10.0).min(8.0))
    );
    Text::new(
        width / 2.0,
        height / 2.0 + font * 0.35,
        Anchor::Middle,
        "tg-label",
    )
    .font(font)
    .max_width(width - 4.0)
    .write(&mut doc.out, "No data yet");
    doc.out.push_str("</g>");
    doc.finish()
}

/// Writes a `<title>` tooltip element.
pub(crate) fn tooltip(out: &mut String, text: &str) {
    let _ = write!(out, "<title>{}</title>", esc(&clean(text)));
}

/// The label function's text for a value, cleaned for one line.
pub(crate) fn shown<T>(fmt: &impl Fn(T) -> String, v: T) -> String {
    clean(&fmt(v))
}

/// `"a, b and c"`.
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
