//! The one way to learn the time. Production code uses the system clock
//! (implemented outside this crate); tests and the demo use a fixed or
//! simulated clock.

use jiff::Timestamp;

/// A source of "now". Only implementations of this trait may read the wall clock.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// A clock that always answers the same instant (tests, `plan --at`).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}
