//! `tagada-core` owns tagada's domain: money and currencies, E.164 phone
//! numbers, countries and their calendars, the ledger records (buyers,
//! invoices, payments, notes) with their state machines, cadences and
//! segments, message templates and their rendering, the reminder planner, and
//! the collection metrics (ageing, DSO, CEI, days to pay, reminder funnel).
//!
//! The crate is pure: no IO, no async, and it never reads the clock. Callers
//! pass `now` in; everything else is a function of its inputs.

pub mod cadence;
pub mod calendar;
pub mod clock;
mod config_helpers;
pub mod country;
pub mod ids;
pub mod ledger;
pub mod metrics;
pub mod money;
pub mod outbox;
pub mod phone;
pub mod planner;
pub mod reply;
pub mod segment;
pub mod template;

pub use country::CountryCode;
pub use ids::{BuyerId, InvoiceId, NoteId, OutboxId, PaymentId, ReminderId};
pub use money::{Currency, Money, MoneyError};
pub use phone::{Phone, PhoneError};
