//! Terminal output helpers: tables, JSON, and dates in the right zone.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    t
}

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `2026-12-04 10:00 IST`-style local rendering of an instant in `zone`.
pub fn local(ts: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    ts.to_zoned_datetime(tz)
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}
