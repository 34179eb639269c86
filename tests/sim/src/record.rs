//! The driver's own record of what it did and saw: every report it sent that was
//! acknowledged, and every step of every case, with the simulated time of each.
//!
//! The oracles ([`crate::oracle`]) compute deadlines and the month's assessment from
//! this record alone: never from assessment's results or case-routing's facts. Times are
//! the simulated clock's, which the driver stops for each step, so a time here is the
//! exact instant the functions recorded.

use chrono::{DateTime, Utc};

/// Where a report came from, as intake names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// Grid staff on patrol (网格员巡查), through the mini-program.
    GridStaff,
    /// A resident (居民随手拍), through the mini-program.
    Resident,
    /// A 12345 hotline work order (工单).
    Hotline,
    /// An Open311 GeoReport v2 client.
    Open311,
}

impl Source {
    /// The name intake and case-routing give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::GridStaff => "grid_staff",
            Source::Resident => "resident",
            Source::Hotline => "hotline",
            Source::Open311 => "open311",
        }
    }
}

/// One acknowledged report, as sent.
#[derive(Debug, Clone)]
pub struct Report {
    /// The event's id, which is also the id of the case made from it.
    pub event_id: String,
    pub source: Source,
    /// The category code (`A01`, …) the report was filed under.
    pub category: String,
    /// When intake received it (the simulated instant of the request).
    pub reported_at: DateTime<Utc>,
    /// When the reporter found it (grid staff only).
    pub discovered_at: Option<DateTime<Utc>>,
    /// Whether the reporter is grid staff of the case (the driver chose the reporter).
    pub reporter_is_grid_staff: bool,
}

/// Who a case was assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// One of the case's grids (its code).
    Grid(String),
    /// A department (its code): 部门报到 or a department assignment.
    Department(String),
}

/// One change of a case, as done by the driver or seen by it (automatic routing on
/// arrival and the sweep's escalations are `system`'s).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Assigned (`assign`, `reassign`, automatic routing, or an `escalate` naming a
    /// department): deadlines counted from `at`.
    Assigned { at: DateTime<Utc>, to: Assignee },
    /// Signed for (签收).
    Signed { at: DateTime<Utc> },
    /// Escalated one level (吹哨), by a person or by the sweep.
    Escalated { at: DateTime<Utc> },
    /// Reported resolved (已处置).
    Resolved { at: DateTime<Utc> },
    /// The centre's check passed: closed (结案).
    Closed { at: DateTime<Utc> },
    /// Reopened: a failed check (`verify_fail`, 返工) or a dissatisfied rating.
    Reopened { at: DateTime<Utc> },
    /// Accepted by the centre (立案).
    Accepted { at: DateTime<Utc> },
    /// Rejected by the centre (不予受理).
    Rejected { at: DateTime<Utc> },
    /// Returned by the assignee (退回).
    Returned { at: DateTime<Utc> },
}

/// One case as the driver knows it.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    /// The case's id (its first event's).
    pub id: String,
    pub category: String,
    /// The grid that answers for it (the smallest dedicated grid holding the point, else
    /// the comprehensive one).
    pub responsible_grid: String,
    /// The comprehensive grid holding its point.
    pub comprehensive_grid: String,
    /// The community of its comprehensive grid.
    pub community: String,
    /// Its own report.
    pub report: Report,
    /// The reports merged into it as duplicates (重复上报), in the order they arrived.
    pub duplicates: Vec<Report>,
    /// The case it was merged into on arrival, if it is a duplicate.
    pub merged_into: Option<String>,
    /// Everything that happened to it after it was made, in order.
    pub steps: Vec<Step>,
}

impl CaseRecord {
    /// The earliest report among the case's own and its duplicates' (its first report).
    pub fn first_report(&self) -> &Report {
        self.duplicates.iter().fold(&self.report, |a, b| if b.reported_at < a.reported_at { b } else { a })
    }
}
