//! Ledger records: buyers, invoices, payments and interaction notes, with the
//! invoice state machine.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    BuyerId, CountryCode, Currency, InvoiceId, Money, MoneyError, NoteId, PaymentId, Phone,
};

/// How a buyer agreed to receive WhatsApp messages from the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub at: Timestamp,
    /// Where it came from: `import:consent-column`, `order-placed`, `manual`...
    pub source: String,
}

/// A customer who owes, or may owe, money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub id: BuyerId,
    /// The stable key from the source (Tally ledger name, sheet id...), used to
    /// find the buyer again on re-import.
    pub external_key: Option<String>,
    pub name: String,
    pub company: Option<String>,
    pub whatsapp: Option<Phone>,
    /// What the user typed, kept when it could not be parsed (or differs).
    pub phone_raw: Option<String>,
    /// The `wa_id` WhatsApp returned for this buyer (may differ from `whatsapp`).
    pub wa_id: Option<String>,
    pub email: Option<String>,
    pub country: Option<CountryCode>,
    /// IANA zone; when `None`, the country's default zone applies.
    pub time_zone: Option<String>,
    /// BCP 47-ish language tag for templates (`en`, `hi`, `es`).
    pub language: Option<String>,
    pub sales_rep: Option<String>,
    pub consent: Option<Consent>,
    pub opted_out_at: Option<Timestamp>,
    /// No reminders until this date (inclusive) — a per-buyer pause.
    pub paused_until: Option<Date>,
    /// Paused indefinitely.
    pub paused: bool,
    /// Name of a cadence to use instead of the segment's.
    pub cadence_override: Option<String>,
    pub notes: Option<String>,
}

impl Buyer {
    /// A buyer with only a name; handy for tests and imports.
    pub fn new(id: BuyerId, name: impl Into<String>) -> Buyer {
        Buyer {
            id,
            external_key: None,
            name: name.into(),
            company: None,
            whatsapp: None,
            phone_raw: None,
            wa_id: None,
            email: None,
            country: None,
            time_zone: None,
            language: None,
            sales_rep: None,
            consent: None,
            opted_out_at: None,
            paused_until: None,
            paused: false,
            cadence_override: None,
            notes: None,
        }
    }

    /// The buyer's zone: their own, else their country's, else `fallback`.
    pub fn zone_name<'a>(&'a self, fallback: &'a str) -> &'a str {
        if let Some(tz) = &self.time_zone {
            return tz;
        }
        if let Some(c) = &self.country {
            let z = c.default_time_zone();
            if z != "UTC" {
                return z;
            }
        }
        fallback
    }
}

/// Payment status of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Pending,
    /// The buyer says it is paid, or a payment is on its way; not yet confirmed.
    InProcess,
    PartiallyPaid,
    Paid,
    Disputed,
    Cancelled,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Pending,
        InvoiceStatus::InProcess,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Disputed,
        InvoiceStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "pending",
            InvoiceStatus::InProcess => "in_process",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Disputed => "disputed",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored form and the forms people type in sheets
    /// (`Partially Paid`, `in-process`, `unpaid`, `overdue`, `void`...).
    pub fn parse(input: &str) -> Option<InvoiceStatus> {
        let norm: String = input
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == '-' || c == ' ' { '_' } else { c })
            .collect();
        Some(match norm.as_str() {
            "pending" | "unpaid" | "open" | "due" | "overdue" | "outstanding" | "" => {
                InvoiceStatus::Pending
            }
            "in_process" | "processing" | "in_progress" | "payment_in_process" => {
                InvoiceStatus::InProcess
            }
            "partially_paid" | "partial" | "part_paid" | "partly_paid" => {
                InvoiceStatus::PartiallyPaid
            }
            "paid" | "settled" | "closed" | "received" => InvoiceStatus::Paid,
            "disputed" | "dispute" | "on_hold" => InvoiceStatus::Disputed,
            "cancelled" | "canceled" | "void" | "voided" => InvoiceStatus::Cancelled,
            _ => return None,
        })
    }

    /// Still owed and not blocked: reminders may go out.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            InvoiceStatus::Pending | InvoiceStatus::InProcess | InvoiceStatus::PartiallyPaid
        )
    }

    /// No further change expected (paid or cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(self, InvoiceStatus::Paid | InvoiceStatus::Cancelled)
    }
}

impl std::fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invoice (or an order with credit terms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: InvoiceId,
    pub number: String,
    pub buyer_id: BuyerId,
    pub order_date: Option<Date>,
    pub invoice_date: Date,
    pub due_date: Date,
    pub credit_days: Option<i32>,
    pub amount: Money,
    pub amount_paid: Money,
    pub status: InvoiceStatus,
    /// A promise to pay or a manual snooze: no reminders until this date (inclusive).
    pub snoozed_until: Option<Date>,
    pub paused: bool,
    pub cadence_override: Option<String>,
    /// When the invoice was first paid in full (for time-to-pay metrics).
    pub paid_at: Option<Timestamp>,
    /// Bumped when the invoice is reopened (dispute resolved, due date moved):
    /// its cadence starts again under new reminder keys.
    pub reminder_cycle: u32,
    /// The unguessable token of the invoice's pay page (`/pay/<token>`),
    /// issued by the store the first time the link is needed (a planned
    /// message, the invoice's page); `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_token: Option<String>,
}

impl Invoice {
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// What is still owed; never negative.
    pub fn outstanding(&self) -> Money {
        let owed = self.amount.minor() - self.amount_paid.minor();
        Money::from_minor(owed.max(0), self.amount.currency())
    }

    /// Days past due on `today` (negative before the due date).
    pub fn days_overdue(&self, today: Date) -> i32 {
        days_between(self.due_date, today)
    }

    /// Applies one event to the invoice, returning its new state.
    pub fn apply(&self, event: &InvoiceEvent) -> Result<Invoice, TransitionError> {
        let next_status = transition(self.status, event, self)?;
        let mut next = self.clone();
        match event {
            InvoiceEvent::PaymentReceived { amount, at } => {
                next.amount_paid = self
                    .amount_paid
                    .checked_add(*amount)
                    .map_err(TransitionError::Money)?;
                if next_status == InvoiceStatus::Paid && next.paid_at.is_none() {
                    next.paid_at = Some(*at);
                }
                next.snoozed_until = None;
            }
            InvoiceEvent::Snoozed { until } => next.snoozed_until = Some(*until),
            InvoiceEvent::PaymentClaimed { hold_until } => next.snoozed_until = Some(*hold_until),
            InvoiceEvent::DisputeResolved => next.reminder_cycle += 1,
            InvoiceEvent::MarkedPaid { at } if next.paid_at.is_none() => next.paid_at = Some(*at),
            _ => {}
        }
        next.status = next_status;
        Ok(next)
    }
}

/// Whole days from `from` to `to` (positive when `to` is later).
pub fn days_between(from: Date, to: Date) -> i32 {
    // `until` in days is exact for civil dates.
    from.until(to).map(|span| span.get_days()).unwrap_or(0)
}

/// Things that happen to an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InvoiceEvent {
    /// A confirmed payment (gateway, bank, cheque cleared).
    PaymentReceived {
        amount: Money,
        at: Timestamp,
    },
    /// The buyer says they paid ("Paid already"); hold reminders until the date.
    PaymentClaimed {
        hold_until: Date,
    },
    /// A promise to pay or a manual snooze.
    Snoozed {
        until: Date,
    },
    Disputed,
    /// A dispute settled in the seller's favour: back to owing.
    DisputeResolved,
    Cancelled,
    /// Marked paid by hand without a payment record (write-off of the rest is not implied).
    MarkedPaid {
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("invoice is {from}; cannot apply {event}")]
    NotAllowed {
        from: InvoiceStatus,
        event: &'static str,
    },
    #[error("payment must be positive")]
    NonPositivePayment,
    #[error(transparent)]
    Money(MoneyError),
}

fn event_name(e: &InvoiceEvent) -> &'static str {
    match e {
        InvoiceEvent::PaymentReceived { .. } => "payment",
        InvoiceEvent::PaymentClaimed { .. } => "payment claim",
        InvoiceEvent::Snoozed { .. } => "snooze",
        InvoiceEvent::Disputed => "dispute",
        InvoiceEvent::DisputeResolved => "dispute resolution",
        InvoiceEvent::Cancelled => "cancellation",
        InvoiceEvent::MarkedPaid { .. } => "mark paid",
    }
}

/// The invoice state machine: one function, every edge explicit.
///
/// A payment is accepted in any state but `Cancelled` (money that arrives is
/// never refused; an overpayment of a paid invoice stays `Paid` and is flagged
/// by the caller). The status after a payment follows the amounts.
pub fn transition(
    from: InvoiceStatus,
    event: &InvoiceEvent,
    invoice: &Invoice,
) -> Result<InvoiceStatus, TransitionError> {
    use InvoiceStatus as S;
    let denied = || TransitionError::NotAllowed {
        from,
        event: event_name(event),
    };
    match (from, event) {
        (S::Cancelled, _) => Err(denied()),
        (_, InvoiceEvent::PaymentReceived { amount, .. }) => {
            if !amount.is_positive() {
                return Err(TransitionError::NonPositivePayment);
            }
            let paid = invoice
                .amount_paid
                .checked_add(*amount)
                .map_err(TransitionError::Money)?;
            // Once paid, money that arrives later is an overpayment: still paid.
            if from == S::Paid || paid.minor() >= invoice.amount.minor() {
                Ok(S::Paid)
            } else if from == S::Disputed {
                Ok(S::Disputed)
            } else {
                Ok(S::PartiallyPaid)
            }
        }
        (S::Paid, _) => Err(denied()),
        (_, InvoiceEvent::MarkedPaid { .. }) => Ok(S::Paid),
        (S::Pending | S::PartiallyPaid | S::InProcess, InvoiceEvent::PaymentClaimed { .. }) => {
            Ok(S::InProcess)
        }
        (S::Disputed, InvoiceEvent::PaymentClaimed { .. }) => Err(denied()),
        (s, InvoiceEvent::Snoozed { .. }) => Ok(s),
        (S::Disputed, InvoiceEvent::Disputed) => Err(denied()),
        (_, InvoiceEvent::Disputed) => Ok(S::Disputed),
        (S::Disputed, InvoiceEvent::DisputeResolved) => {
            if invoice.amount_paid.is_positive() {
                Ok(S::PartiallyPaid)
            } else {
                Ok(S::Pending)
            }
        }
        (_, InvoiceEvent::DisputeResolved) => Err(denied()),
        (_, InvoiceEvent::Cancelled) => Ok(S::Cancelled),
    }
}

/// How a payment arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Upi,
    Razorpay,
    Stripe,
    BankTransfer,
    Cheque,
    Cash,
    Other,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Upi => "upi",
            PaymentMethod::Razorpay => "razorpay",
            PaymentMethod::Stripe => "stripe",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Cheque => "cheque",
            PaymentMethod::Cash => "cash",
            PaymentMethod::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "upi" => PaymentMethod::Upi,
            "razorpay" => PaymentMethod::Razorpay,
            "stripe" => PaymentMethod::Stripe,
            "bank_transfer" | "bank" | "neft" | "rtgs" | "imps" | "wire" | "swift" => {
                PaymentMethod::BankTransfer
            }
            "cheque" | "check" => PaymentMethod::Cheque,
            "cash" => PaymentMethod::Cash,
            "other" => PaymentMethod::Other,
            _ => return None,
        })
    }
}

/// Money received against an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub invoice_id: Option<InvoiceId>,
    pub buyer_id: Option<BuyerId>,
    pub amount: Money,
    pub received_at: Timestamp,
    pub method: PaymentMethod,
    /// Gateway payment id, UTR, cheque number...
    pub reference: Option<String>,
    /// Why this payment needs a person's look (overpaid, other currency, unknown invoice).
    pub flag: Option<String>,
}

/// Kind of interaction note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Note,
    Call,
    Reply,
    Promise,
    System,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::Call => "call",
            NoteKind::Reply => "reply",
            NoteKind::Promise => "promise",
            NoteKind::System => "system",
        }
    }
    pub fn parse(s: &str) -> Option<NoteKind> {
        Some(match s {
            "note" => NoteKind::Note,
            "call" => NoteKind::Call,
            "reply" => NoteKind::Reply,
            "promise" => NoteKind::Promise,
            "system" => NoteKind::System,
            _ => return None,
        })
    }
}

/// A dated note on a buyer (and maybe one invoice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: NoteId,
    pub buyer_id: BuyerId,
    pub invoice_id: Option<InvoiceId>,
    pub at: Timestamp,
    pub kind: NoteKind,
    pub author: Option<String>,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn inv(amount: i64, paid: i64, status: InvoiceStatus) -> Invoice {
        Invoice {
            id: InvoiceId::new(1),
            number: "INV-1".into(),
            buyer_id: BuyerId::new(1),
            order_date: None,
            invoice_date: date(2026, 11, 1),
            due_date: date(2026, 12, 1),
            credit_days: Some(30),
            amount: Money::from_minor(amount, Currency::INR),
            amount_paid: Money::from_minor(paid, Currency::INR),
            status,
            snoozed_until: None,
            paused: false,
            cadence_override: None,
            paid_at: None,
            reminder_cycle: 0,
            pay_token: None,
        }
    }

    fn pay(minor: i64) -> InvoiceEvent {
        InvoiceEvent::PaymentReceived {
            amount: Money::from_minor(minor, Currency::INR),
            at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn partial_then_full_payment() {
        let i = inv(10000, 0, InvoiceStatus::Pending);
        let i = i.apply(&pay(4000)).unwrap();
        assert_eq!(i.status, InvoiceStatus::PartiallyPaid);
        assert_eq!(i.outstanding().minor(), 6000);
        let i = i.apply(&pay(6000)).unwrap();
        assert_eq!(i.status, InvoiceStatus::Paid);
        assert!(i.paid_at.is_some());
        assert!(i.outstanding().is_zero());
    }

    #[test]
    fn claim_moves_to_in_process_and_holds() {
        let i = inv(10000, 0, InvoiceStatus::Pending);
        let i = i
            .apply(&InvoiceEvent::PaymentClaimed {
                hold_until: date(2026, 12, 10),
            })
            .unwrap();
        assert_eq!(i.status, InvoiceStatus::InProcess);
        assert_eq!(i.snoozed_until, Some(date(2026, 12, 10)));
    }

    #[test]
    fn cancelled_and_paid_refuse_changes() {
        let c = inv(10000, 0, InvoiceStatus::Cancelled);
        assert!(c.apply(&pay(1)).is_err());
        assert!(c.apply(&InvoiceEvent::Disputed).is_err());
        let p = inv(10000, 10000, InvoiceStatus::Paid);
        assert!(p.apply(&InvoiceEvent::Disputed).is_err());
        // money that arrives for a paid invoice is still recorded
        assert_eq!(p.apply(&pay(500)).unwrap().status, InvoiceStatus::Paid);
    }

    #[test]
    fn dispute_and_resolution() {
        let i = inv(10000, 3000, InvoiceStatus::PartiallyPaid);
        let d = i.apply(&InvoiceEvent::Disputed).unwrap();
        assert_eq!(d.status, InvoiceStatus::Disputed);
        assert!(
            d.apply(&InvoiceEvent::PaymentClaimed {
                hold_until: date(2026, 1, 1)
            })
            .is_err()
        );
        let r = d.apply(&InvoiceEvent::DisputeResolved).unwrap();
        assert_eq!(r.status, InvoiceStatus::PartiallyPaid);
    }

    #[test]
    fn status_parse_accepts_sheet_spellings() {
        assert_eq!(
            InvoiceStatus::parse("Partially Paid"),
            Some(InvoiceStatus::PartiallyPaid)
        );
        assert_eq!(
            InvoiceStatus::parse("in-process"),
            Some(InvoiceStatus::InProcess)
        );
        assert_eq!(InvoiceStatus::parse("VOID"), Some(InvoiceStatus::Cancelled));
        assert_eq!(InvoiceStatus::parse("maybe"), None);
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(s.as_str()), Some(s));
        }
    }

    fn any_status() -> impl Strategy<Value = InvoiceStatus> {
        prop::sample::select(InvoiceStatus::ALL.to_vec())
    }

    fn any_event() -> impl Strategy<Value = InvoiceEvent> {
        prop_oneof![
            (1i64..20000).prop_map(pay),
            Just(InvoiceEvent::PaymentClaimed {
                hold_until: date(2026, 12, 20)
            }),
            Just(InvoiceEvent::Snoozed {
                until: date(2026, 12, 20)
            }),
            Just(InvoiceEvent::Disputed),
            Just(InvoiceEvent::DisputeResolved),
            Just(InvoiceEvent::Cancelled),
            Just(InvoiceEvent::MarkedPaid {
                at: Timestamp::UNIX_EPOCH
            }),
        ]
    }

    proptest! {
        /// Whatever happens, paid tracks the money, cancelled is final, and the
        /// amount paid never decreases.
        #[test]
        fn invariants_hold_over_any_event_sequence(
            start in any_status(),
            events in prop::collection::vec(any_event(), 0..12),
        ) {
            let mut i = inv(10000, 0, start);
            for e in &events {
                let before = i.clone();
                match i.apply(e) {
                    Ok(next) => {
                        prop_assert!(next.amount_paid.minor() >= before.amount_paid.minor());
                        prop_assert_ne!(before.status, InvoiceStatus::Cancelled);
                        if matches!(e, InvoiceEvent::PaymentReceived { .. }) {
                            prop_assert_eq!(next.status == InvoiceStatus::Paid,
                                next.amount_paid.minor() >= next.amount.minor() || before.status == InvoiceStatus::Paid);
                        }
                        i = next;
                    }
                    Err(_) => prop_assert_eq!(&i, &before),
                }
            }
        }
    }
}
