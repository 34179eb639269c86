//! A month in Nantong (南通的一个月): the five functions run as one system on a
//! simulated clock, at a city's volume and mix, with people acting on the cases and
//! faults injected, and a ledger at the end that fails on anything lost, doubled,
//! misdated or misscored.
//!
//! - [`record`]: the driver's own record of what it sent and did;
//! - [`oracle`]: deadlines and the month's assessment, recomputed from that record alone;
//! - [`hostile`]: refused requests mixed into the stream, each with the code it must get.

pub mod actions;
pub mod arrive;
pub mod city;
pub mod client;
pub mod driver;
pub mod faults;
pub mod hostile;
pub mod ledger;
pub mod oracle;
pub mod parallel;
pub mod people;
pub mod record;
pub mod rng;
pub mod run;
pub mod system;
pub mod traffic;

use chrono::{DateTime, SecondsFormat, Utc};

/// A time as the functions render it: RFC 3339 in +08:00, whole seconds.
pub fn render(t: DateTime<Utc>) -> String {
    t.with_timezone(&oracle::calendar::shanghai()).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Metres between two WGS-84 points (haversine on a 6,371,008.8 m sphere).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8_f64;
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let (dla, dlo) = ((b.1 - a.1).to_radians(), (b.0 - a.0).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}
