//! Pieces shared by the marketplace lead fakes ([`crate::indiamart`],
//! [`crate::tradeindia`]): the settable clock, the HTTP server plumbing and
//! the seeded buyer generator.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::Router;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// India Standard Time (UTC+05:30, no daylight saving): both marketplaces
/// write times in it.
pub fn ist() -> TimeZone {
    TimeZone::fixed(Offset::from_seconds(19_800).expect("+05:30 is a valid offset"))
}

/// Where a fake takes its "now" from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeClock {
    /// Always this instant until moved ([`FakeClock::advance`]): tests.
    Frozen(Timestamp),
    /// The wall clock shifted by this much: the demo.
    Wall(SignedDuration),
}

impl FakeClock {
    pub fn now(&self) -> Timestamp {
        match *self {
            FakeClock::Frozen(t) => t,
            FakeClock::Wall(offset) => wall_clock().checked_add(offset).unwrap_or(wall_clock()),
        }
    }

    pub fn advance(&mut self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        match self {
            FakeClock::Frozen(t) => *t = t.checked_add(by).unwrap_or(*t),
            FakeClock::Wall(offset) => *offset = offset.saturating_add(by),
        }
    }
}

/// The one place these fakes read the wall clock (only in
/// [`FakeClock::Wall`] mode): they stand in for services whose clocks are
/// real time, and may not depend on tagada's `Clock`.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Timestamp {
    Timestamp::try_from(SystemTime::now()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A running axum server on loopback with a shutdown switch.
#[derive(Debug)]
pub(crate) struct Server {
    pub addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    pub async fn start(bind: Option<SocketAddr>, router: Router) -> std::io::Result<Server> {
        let bind = bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, mut rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(error = %e, "marketplace fake: server ended with an error");
            }
        });
        Ok(Server {
            addr,
            shutdown_tx,
            task: Some(task),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

/// A buyer drawn by [`BuyerGen`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeBuyer {
    pub name: String,
    pub company: String,
    /// As the marketplace writes it: `+91-9xxxxxxxxx`, `+971-50xxxxxxx`.
    pub mobile: String,
    pub email: String,
    pub city: String,
    pub state: String,
    pub pincode: String,
    /// ISO 3166 alpha-2.
    pub country_iso: &'static str,
    pub country_name: &'static str,
}

/// A product drawn by [`BuyerGen`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeProduct {
    pub name: &'static str,
    pub category: &'static str,
    pub unit: &'static str,
}

const FIRST: &[&str] = &[
    "Test Ramesh",
    "Test Priya",
    "Test Arjun",
    "Test Kavita",
    "Test Suresh",
    "Test Meena",
    "Test Imran",
    "Test Harpreet",
    "Test Lakshmi",
    "Test Vikram",
    "Test Anjali",
    "Test Rohit",
];
const LAST: &[&str] = &[
    "Sharma", "Patel", "Iyer", "Reddy", "Khan", "Singh", "Nair", "Gupta", "Mehta", "Das",
];
const FOREIGN: &[(&str, &str, &str, &str, &str, &str, usize)] = &[
    // name, city, state, iso, country, mobile prefix, digits after it
    (
        "Test Ahmed Al Mansouri",
        "Dubai",
        "Dubai",
        "AE",
        "United Arab Emirates",
        "+971-50",
        7,
    ),
    (
        "Test John Carter",
        "Houston",
        "Texas",
        "US",
        "United States",
        "+1-713",
        7,
    ),
    (
        "Test Emma Clarke",
        "Leeds",
        "England",
        "GB",
        "United Kingdom",
        "+44-7700",
        6,
    ),
    (
        "Test Jonas Becker",
        "Hamburg",
        "Hamburg",
        "DE",
        "Germany",
        "+49-151",
        8,
    ),
    (
        "Test Faisal Al Harbi",
        "Riyadh",
        "Riyadh",
        "SA",
        "Saudi Arabia",
        "+966-50",
        7,
    ),
    (
        "Test Wanjiru Kamau",
        "Nairobi",
        "Nairobi",
        "KE",
        "Kenya",
        "+254-712",
        6,
    ),
];
const INDIAN_PLACES: &[(&str, &str, &str)] = &[
    ("Pune", "Maharashtra", "411001"),
    ("Ahmedabad", "Gujarat", "380001"),
    ("Surat", "Gujarat", "395003"),
    ("Ludhiana", "Punjab", "141001"),
    ("Coimbatore", "Tamil Nadu", "641001"),
    ("New Delhi", "Delhi", "110001"),
    ("Kolkata", "West Bengal", "700001"),
    ("Jaipur", "Rajasthan", "302001"),
];
const COMPANY_WORDS: &[&str] = &[
    "Example Traders",
    "Sample Enterprises Pvt Limited",
    "Demo Exports",
    "Test Industries",
    "Example Polymers Pvt Ltd",
    "Demo Automation",
    "Sample Agro LLP",
];
const PRODUCTS: &[FakeProduct] = &[
    FakeProduct {
        name: "1 hp Test Submersible Pump",
        category: "Submersible Pump",
        unit: "piece",
    },
    FakeProduct {
        name: "Test Solar Module",
        category: "Monocrystalline Solar Panel",
        unit: "piece",
    },
    FakeProduct {
        name: "Test HDPE Granules",
        category: "HDPE Granules",
        unit: "Kg",
    },
    FakeProduct {
        name: "Test Basmati Rice",
        category: "Basmati Rice",
        unit: "Tonne",
    },
    FakeProduct {
        name: "Test Cotton Yarn",
        category: "Cotton Yarn",
        unit: "Kg",
    },
    FakeProduct {
        name: "Test Proximity Sensor",
        category: "Proximity Sensors",
        unit: "piece",
    },
    FakeProduct {
        name: "Test Brass Fittings",
        category: "Brass Fittings",
        unit: "piece",
    },
];

/// A seeded generator of buyers and products: the same seed gives the same
/// sequence.
#[derive(Debug)]
pub struct BuyerGen {
    pub rng: StdRng,
}

impl BuyerGen {
    pub fn new(seed: u64) -> BuyerGen {
        BuyerGen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    pub fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
            .collect()
    }

    pub fn product(&mut self) -> FakeProduct {
        self.pick(PRODUCTS).clone()
    }

    /// One buyer: about one in four from abroad; odd spacing, blank
    /// e-mails and companies now and then, as real exports have.
    pub fn buyer(&mut self, n: u64) -> FakeBuyer {
        if self.chance(25) {
            let &(name, city, state, iso, country, prefix, more) = self.pick(FOREIGN);
            return FakeBuyer {
                name: name.to_string(),
                company: if self.chance(70) {
                    format!("{} Trading Co", city)
                } else {
                    String::new()
                },
                mobile: format!("{prefix}{}", self.digits(more)),
                email: format!("buyer{n}@example.com"),
                city: city.to_string(),
                state: state.to_string(),
                pincode: String::new(),
                country_iso: iso,
                country_name: country,
            };
        }
        let first = *self.pick(FIRST);
        let last = *self.pick(LAST);
        let name = if self.chance(10) {
            format!("{first}  {last} ")
        } else {
            format!("{first} {last}")
        };
        let &(city, state, pincode) = self.pick(INDIAN_PLACES);
        FakeBuyer {
            name,
            company: if self.chance(75) {
                (*self.pick(COMPANY_WORDS)).to_string()
            } else {
                String::new()
            },
            mobile: format!("+91-9{}", self.digits(9)),
            email: if self.chance(80) {
                format!("buyer{n}@example.com")
            } else {
                String::new()
            },
            city: city.to_string(),
            state: state.to_string(),
            pincode: pincode.to_string(),
            country_iso: "IN",
            country_name: "India",
        }
    }
}
