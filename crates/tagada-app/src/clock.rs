//! Clocks: the system clock for production, a simulated one for the demo.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
pub use tagada_core::clock::{Clock, FixedClock};

/// The wall clock. The one place in tagada that reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock the demo and tests move by hand.
#[derive(Debug, Clone)]
pub struct SimClock(Arc<Mutex<Timestamp>>);

impl SimClock {
    pub fn new(start: Timestamp) -> SimClock {
        SimClock(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, to: Timestamp) {
        *self.0.lock().expect("clock lock") = to;
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().expect("clock lock");
        *t = t.checked_add(by).expect("simulated time in range");
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}
