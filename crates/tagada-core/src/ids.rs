//! Typed identifiers. Every id is an `i64` assigned by the store; the newtypes
//! keep a buyer id from being passed where an invoice id is expected.

use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

typed_id!(
    /// A buyer (a customer who owes money).
    BuyerId, "B"
);
typed_id!(
    /// An invoice or order.
    InvoiceId, "I"
);
typed_id!(
    /// A payment received.
    PaymentId, "P"
);
typed_id!(
    /// A planned reminder.
    ReminderId, "R"
);
typed_id!(
    /// A message waiting in, or gone through, the outbox.
    OutboxId, "O"
);
typed_id!(
    /// An interaction note.
    NoteId, "N"
);
