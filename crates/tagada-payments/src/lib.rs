//! `tagada-payments` owns how buyers pay and how tagada learns they did:
//! UPI links and their QR codes ([`upi`]), Razorpay Payment Links
//! ([`razorpay`]) and Stripe Checkout Sessions ([`stripe`]) with their
//! webhook signature checks and payload parsing, all reduced to one shape
//! ([`gateway`]), and bank statements (CSV, camt.053, MT940) with the
//! matching of their credits to invoices ([`statement`]).
//!
//! It depends on `tagada-core` for money and ledger types, never on the
//! store: the application layer records what these functions return.

pub mod gateway;
pub mod razorpay;
pub mod statement;
pub mod stripe;
pub mod upi;

pub use gateway::*;
