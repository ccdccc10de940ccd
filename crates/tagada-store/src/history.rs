//! The payment history a snapshot sums in SQL: the window bounds both
//! backends bind, and the decoding of the rows they read.

use jiff::Timestamp;
use jiff::civil::Date;
use tagada_core::segment::{History, HistoryPayment, HistorySum, TodayRange, WindowClass};
use tagada_core::{BuyerId, Currency};

use crate::{Result, StoreError};

/// A history row, one per buyer, currency and window classes: buyer id,
/// currency code, the invoice date's window class, the order date's (`in`,
/// `out` or an ISO date), invoices, their amounts (minor units), those not
/// paid, what they still owe, and the group's payments that can fall in a
/// window, as `due-date paid-at` pairs (ISO date, µs) joined by commas.
///
/// The payments are packed into their group's row rather than read one row
/// each: the rows are then read in one pass, and the driver's cost per row,
/// not the query, is what a year of payments would mostly spend.
pub type HistoryRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
);

/// The dates a backend's window-class `CASE` compares against, as ISO text:
/// a date after `.0` and up to `.1` is `in`; one up to `.2` or after `.3`
/// is `out`; any other is returned as itself.
pub fn window_bounds(today: &TodayRange) -> [String; 4] {
    let (in_after, in_through) = today.always_in();
    let (out_through, out_after) = today.always_out();
    [in_after, in_through, out_through, out_after].map(|d| d.to_string())
}

/// Paid on or after this instant (µs), a payment can fall inside the window
/// of some today in the range: the local date is at most a day before the
/// UTC date, so a day of margin before the earliest window start.
pub fn payments_since_micros(today: &TodayRange) -> i64 {
    let (start, _) = today.always_out();
    let day_before = start.yesterday().unwrap_or(start);
    day_before
        .at(0, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_microsecond())
        .unwrap_or(i64::MIN)
}

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        table: "invoices",
        message,
    }
}

fn class(text: &str) -> Result<WindowClass> {
    match text {
        "in" => Ok(WindowClass::In),
        "out" => Ok(WindowClass::Out),
        d => d
            .parse::<Date>()
            .map(WindowClass::On)
            .map_err(|e| corrupt(format!("date `{d}`: {e}"))),
    }
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Decodes a backend's rows into the snapshot's history.
pub fn decode_history(today: TodayRange, rows: Vec<HistoryRow>) -> Result<History> {
    let mut out = History {
        today,
        sums: Vec::with_capacity(rows.len()),
        payments: Vec::new(),
    };
    for (buyer, currency, invoice_date, order_date, n, amount, open, outstanding, paid) in rows {
        out.sums.push(HistorySum {
            buyer_id: BuyerId::new(buyer),
            currency: Currency::from_code(&currency).map_err(|e| corrupt(e.to_string()))?,
            invoice_date: class(&invoice_date)?,
            order_date: class(&order_date)?,
            invoices: count(n),
            amount_minor: amount,
            open_invoices: count(open),
            outstanding_minor: outstanding,
        });
        for pair in paid.iter().flat_map(|p| p.split(',')) {
            let bad = || corrupt(format!("payment `{pair}` of buyer {buyer}"));
            let (due, paid_at) = pair.split_once(' ').ok_or_else(bad)?;
            let paid_at: i64 = paid_at.parse().map_err(|_| bad())?;
            out.payments.push(HistoryPayment {
                buyer_id: BuyerId::new(buyer),
                due_date: due
                    .parse()
                    .map_err(|e| corrupt(format!("date `{due}`: {e}")))?,
                paid_at: Timestamp::from_microsecond(paid_at)
                    .map_err(|e| corrupt(format!("paid at {paid_at}: {e}")))?,
            });
        }
    }
    out.sums.sort_by(|a, b| {
        (a.buyer_id, a.currency.code(), a.invoice_date, a.order_date).cmp(&(
            b.buyer_id,
            b.currency.code(),
            b.invoice_date,
            b.order_date,
        ))
    });
    out.payments
        .sort_by_key(|p| (p.buyer_id, p.paid_at, p.due_date));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn row(paid: Option<&str>) -> HistoryRow {
        (
            7,
            "INR".into(),
            "in".into(),
            "2025-12-04".into(),
            3,
            300_00,
            1,
            100_00,
            paid.map(str::to_string),
        )
    }

    #[test]
    fn rows_decode_with_their_packed_payments() {
        let today = TodayRange {
            from: date(2026, 12, 3),
            to: date(2026, 12, 5),
        };
        let h = decode_history(
            today,
            vec![
                row(Some(
                    "2026-01-03 1767571200000000,2026-02-01 1769900000000000",
                )),
                row(None),
            ],
        )
        .unwrap();
        assert_eq!(h.today, today);
        assert_eq!(h.sums.len(), 2);
        assert_eq!(h.sums[0].invoice_date, WindowClass::In);
        assert_eq!(h.sums[0].order_date, WindowClass::On(date(2025, 12, 4)));
        assert_eq!(
            (
                h.sums[0].invoices,
                h.sums[0].amount_minor,
                h.sums[0].open_invoices,
                h.sums[0].outstanding_minor
            ),
            (3, 300_00, 1, 100_00)
        );
        let due: Vec<Date> = h.payments.iter().map(|p| p.due_date).collect();
        assert_eq!(due, vec![date(2026, 1, 3), date(2026, 2, 1)]);
        assert_eq!(
            h.payments[0].paid_at.as_microsecond(),
            1_767_571_200_000_000
        );
        assert!(h.payments.iter().all(|p| p.buyer_id == BuyerId::new(7)));
    }

    #[test]
    fn a_bad_row_is_refused_with_what_is_wrong() {
        let today = TodayRange::default();
        for (bad, says) in [
            (row(Some("2026-01-03")), "payment `2026-01-03` of buyer 7"),
            (
                row(Some("2026-01-03 soon")),
                "payment `2026-01-03 soon` of buyer 7",
            ),
            (row(Some("2026-13-03 5")), "date `2026-13-03`"),
            (
                (7, "XXX".into(), "in".into(), "in".into(), 1, 1, 0, 0, None),
                "XXX",
            ),
            (
                (
                    7,
                    "INR".into(),
                    "later".into(),
                    "in".into(),
                    1,
                    1,
                    0,
                    0,
                    None,
                ),
                "date `later`",
            ),
        ] {
            let err = decode_history(today, vec![bad]).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
