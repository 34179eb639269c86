//! The driver's independent oracles (独立核算): deadlines and the month's assessment,
//! recomputed from the driver's own record ([`crate::record`]) and the reference data
//! files alone. Nothing here calls case-routing's calendar, the assessment crate or any
//! crate of the suite: the point is to check them. The semantics are docs/lifecycle.md
//! "Deadlines on the working calendar" and docs/assessment.md, read afresh.
//!
//! - [`calendar`]: durations (`30m`, `4h`, `4wh`, `5wd`) and deadlines on the 2026
//!   working calendar, holidays and make-up working days (调休) included;
//! - [`catalogue`]: the catalogue of matters (`data/categories.json`) and the default
//!   domain weights;
//! - [`assess`]: the deadlines a case should carry, and every grid's, community's and
//!   department's month;
//! - [`supervision`]: the traffic light each case should show.

use std::fmt;

pub mod assess;
pub mod calendar;
pub mod catalogue;
pub mod supervision;

/// A reference file (calendar or catalogue) that does not read as the oracles expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreadable {}
