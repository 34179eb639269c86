//! Cases in storage, over [`Sql`](wangge_core::migrations::Sql): what callers send
//! ([`requests`]), how a case is read ([`reads`]), made and routed ([`create`]), acted on
//! in one transaction that appends to the hash-chained log ([`transition`]), the
//! facts assessment reads ([`facts`]), and the category corrections (改类) intake's
//! classifier retrains on ([`corrections`]).
//!
//! Who may act lives with the lifecycle ([`crate::lifecycle::authorize`]), the log's
//! entries in [`crate::log`], and the supervision sweep (督办) in [`crate::supervision`];
//! they are re-exported here so that callers keep one path.

use chrono::{DateTime, Utc};
use wangge_core::migrations::StorageError;

use crate::calendar::Calendar;
use crate::lifecycle::State;

pub mod corrections;
pub mod create;
pub mod facts;
pub mod reads;
pub mod requests;
pub mod transition;

pub use crate::log::history;
pub use crate::supervision::{SweepReport, sweep};
pub use corrections::corrections;
pub use create::{DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_HOURS, create};
pub use facts::{CaseFacts, facts_page_of};
pub use reads::{Case, CaseState, Filter, get, light_of, list, reporter, reporters, staff, states, with_light};
pub use requests::{ActionRequest, Actor, CaseStaff, NewCase, SOURCES, Target};
pub use transition::act;
/// A reporter's personal data: kept in its own table, masked when shown.
pub use wangge_core::privacy::Reporter;
/// The town (street) code above a community: its command centre's region.
pub use wangge_core::region::town_of;

/// Clock and calendar for one request.
pub struct Context<'a> {
    pub calendar: &'a Calendar,
    pub now: DateTime<Utc>,
}

/// Why a case could not be made or acted on.
#[derive(Debug)]
pub enum CaseError {
    /// No case with that id.
    NotFound,
    /// The action does not fit the case now: names the current state and version.
    Conflict { state: State, version: i64, clash: crate::refusal::Clash },
    /// The actor (by role and id) may not take this action on this case.
    Forbidden { role: &'static str, actor: String, action: crate::lifecycle::Action },
    /// The request itself is unacceptable (unknown target, missing field).
    Invalid(crate::refusal::Invalid),
    /// The database failed.
    Storage(StorageError),
}

impl From<StorageError> for CaseError {
    fn from(e: StorageError) -> Self {
        CaseError::Storage(e)
    }
}
