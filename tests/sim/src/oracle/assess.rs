//! The month's assessment (月度考核), recomputed from the driver's record: every lost
//! point of every grid, every grid's and community's score, and every department's
//! KPIs, by docs/assessment.md (rules version 1, the defaults) and never from
//! assessment's results or case-routing's facts.
//!
//! What a case's record says, as case-routing would store it (`store/transition.rs`):
//! - its *latest assignment* sets its handling level (grid or department), its
//!   department (when the latest assignee is one) and both deadlines, counted from the
//!   assignment; an `escalate` naming a department is such an assignment;
//! - *escalated to a department* sticks once any assignment went to a department, so a
//!   case sent back to a grid afterwards is no longer the grid's (nor, with no
//!   department as its assignee, any department's);
//! - its *first resolution* is the first `Resolved` step and never resets, not even when
//!   the case is reopened and assigned again with a later deadline;
//! - it is *closed* after a `Closed` step until a later `Reopened` one;
//! - every `Reopened` step is one reopening (返工).
//!
//! Only steps up to the run's time count: the run reads the cases as they stand then.
//! Times are compared as case-routing stores them, to the whole second ([`stored`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};

use super::calendar::{WorkCalendar, from_local};
use super::catalogue::{Catalogue, Matter};
use crate::record::{Assignee, CaseRecord, Step};

/// Points of rules version 1 (the defaults).
const MISSED_DISCOVERY_POINTS: f64 = 2.0;
const LATE_REPORT_POINTS: f64 = 1.0;
const UNRESOLVED_POINTS: f64 = 2.0;
const REWORK_POINTS: f64 = 1.0;
const URGENT_MULTIPLIER: f64 = 2.0;

/// A deduction rule (扣分规则).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// 应发现未发现: a discoverable matter first reported by someone not grid staff of the case.
    MissedDiscovery,
    /// 应上报未上报: first reported by grid staff, later after finding it than the matter allows.
    LateReport,
    /// 应解决未解决: handled by the grid, due in the month, passed at the run, not resolved by then.
    Unresolved,
    /// 返工: handled by the grid, reopened in the month (one per reopening).
    Rework,
}

impl Rule {
    /// The name assessment stores and sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissedDiscovery => "missed_discovery",
            Rule::LateReport => "late_report",
            Rule::Unresolved => "unresolved",
            Rule::Rework => "rework",
        }
    }
}

/// One lost point (or two, or four), explained.
#[derive(Debug, Clone, PartialEq)]
pub struct Deduction {
    pub case_id: String,
    pub rule: Rule,
    pub domain: String,
    pub points: f64,
}

/// A grid with at least one deduction in the month.
#[derive(Debug, Clone, PartialEq)]
pub struct GridMonth {
    /// `Σ_d w_d · s_d`, full precision.
    pub score: f64,
    /// Every assessed domain's `max(0, 100 − Σ points)`.
    pub subs: BTreeMap<String, f64>,
    /// Its deductions, by case id, then rule (a case's reworks in their order).
    pub deductions: Vec<Deduction>,
}

/// A department's month (部门考核), over its cases due in the month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepartmentMonth {
    pub due: usize,
    /// Due cases first resolved by their deadline.
    pub on_time: usize,
    /// Due cases closed at the run (a reopened case is not closed).
    pub closed: usize,
    /// Due cases reopened at least once.
    pub reworked: usize,
    /// `30·closure + 40·on_time + 30·(1 − rework)`, the rates as fractions: 0 to 100.
    pub score: f64,
}

/// What assessment must answer for the month.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// Grids with at least one deduction (every other grid scores 100).
    pub grids: BTreeMap<String, GridMonth>,
    /// Every community given: the mean of its comprehensive grids' scores.
    pub communities: BTreeMap<String, f64>,
    /// Departments with cases due in the month.
    pub departments: BTreeMap<String, DepartmentMonth>,
}

impl Expected {
    /// A grid's score: 100 without deductions.
    pub fn grid_score(&self, grid: &str) -> f64 {
        self.grids.get(grid).map_or(100.0, |g| g.score)
    }
}

/// A calendar month, `[00:00 on the 1st, 00:00 on the next 1st)` in Asia/Shanghai.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Month {
    /// `2026-10`.
    pub fn parse(label: &str) -> Option<Month> {
        let first = NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d").ok()?;
        let next = first.checked_add_months(chrono::Months::new(1))?;
        let midnight = |d: NaiveDate| from_local(d.and_hms_opt(0, 0, 0).expect("midnight"));
        Some(Month { start: midnight(first), end: midnight(next) })
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
}

/// A case's handling, as its steps up to a time leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Handling<'a> {
    /// The latest assignment: when, and to whom.
    pub assigned: Option<(DateTime<Utc>, &'a Assignee)>,
    /// Whether any assignment went to a department.
    pub escalated_to_department: bool,
    pub first_resolved: Option<DateTime<Utc>>,
    pub closed: bool,
    pub reopenings: Vec<DateTime<Utc>>,
}

impl<'a> Handling<'a> {
    /// Reads `case`'s steps up to `until` (inclusive).
    pub fn of(case: &'a CaseRecord, until: DateTime<Utc>) -> Handling<'a> {
        let mut h = Handling::default();
        for step in &case.steps {
            match step {
                Step::Assigned { at, to } if *at <= until => {
                    h.escalated_to_department |= matches!(to, Assignee::Department(_));
                    h.assigned = Some((*at, to));
                }
                Step::Resolved { at } if *at <= until => {
                    h.first_resolved = h.first_resolved.or(Some(stored(*at)));
                }
                Step::Closed { at } if *at <= until => h.closed = true,
                Step::Reopened { at } if *at <= until => {
                    h.closed = false;
                    h.reopenings.push(stored(*at));
                }
                _ => {}
            }
        }
        h
    }

    /// Handled by a grid: assigned to one last, and never to a department.
    pub fn grid_level(&self) -> bool {
        matches!(self.assigned, Some((_, Assignee::Grid(_)))) && !self.escalated_to_department
    }

    /// The department it is assigned to now, if any.
    pub fn department(&self) -> Option<&'a str> {
        match self.assigned {
            Some((_, Assignee::Department(code))) => Some(code),
            _ => None,
        }
    }
}

/// A time as case-routing stores it: to the whole second, the fraction dropped (its
/// deadlines are counted from the exact instant, then stored so).
pub fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(0)
}

/// The (respond_due, resolve_due) `case` should carry now: from its latest assignment,
/// on the calendar. None before any assignment, or for a matter not in the catalogue.
pub fn deadlines(
    case: &CaseRecord,
    catalogue: &Catalogue,
    calendar: &WorkCalendar,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let matter = catalogue.matters.get(&case.category)?;
    let at = case.steps.iter().rev().find_map(|s| match s {
        Step::Assigned { at, .. } => Some(*at),
        _ => None,
    })?;
    Some((stored(calendar.deadline(at, matter.respond_within)), stored(calendar.deadline(at, matter.resolve_within))))
}

/// The resolve deadline of a case's latest assignment up to `until`.
fn resolve_due(h: &Handling, matter: &Matter, calendar: &WorkCalendar) -> Option<DateTime<Utc>> {
    h.assigned.map(|(at, _)| stored(calendar.deadline(at, matter.resolve_within)))
}

/// The deductions `case` costs its responsible grid in `month`, as of `run_at`.
fn deductions(
    case: &CaseRecord,
    matter: &Matter,
    h: &Handling,
    due: Option<DateTime<Utc>>,
    month: &Month,
    run_at: DateTime<Utc>,
) -> Vec<Deduction> {
    let times = if matter.urgent { URGENT_MULTIPLIER } else { 1.0 };
    let mut out = Vec::new();
    let mut lose = |rule, points: f64| {
        out.push(Deduction { case_id: case.id.clone(), rule, domain: matter.domain.clone(), points: points * times })
    };
    let first = case.first_report();
    let reported_at = stored(first.reported_at);
    if month.contains(reported_at) {
        if matter.discoverable && !first.reporter_is_grid_staff {
            lose(Rule::MissedDiscovery, MISSED_DISCOVERY_POINTS);
        }
        // Whole seconds, as assessment counts them (a fraction of a second over is not late).
        let late = |found: DateTime<Utc>| {
            (reported_at - stored(found)).num_seconds() > matter.report_within.elapsed().num_seconds()
        };
        if first.reporter_is_grid_staff && first.discovered_at.is_some_and(late) {
            lose(Rule::LateReport, LATE_REPORT_POINTS);
        }
    }
    if h.grid_level() {
        if let Some(due) = due
            && month.contains(due)
            && due < run_at
            && h.first_resolved.is_none_or(|r| r > due)
        {
            lose(Rule::Unresolved, UNRESOLVED_POINTS);
        }
        for _ in h.reopenings.iter().filter(|t| month.contains(**t)) {
            lose(Rule::Rework, REWORK_POINTS);
        }
    }
    out
}

/// Adds one case due in the month to its department's counts.
fn count_for_department(d: &mut DepartmentMonth, h: &Handling, due: DateTime<Utc>) {
    d.due += 1;
    d.on_time += usize::from(h.first_resolved.is_some_and(|r| r <= due));
    d.closed += usize::from(h.closed);
    d.reworked += usize::from(!h.reopenings.is_empty());
}

/// The month `month` (`2026-10`) as assessment must score it when run at `run_at`, from
/// the driver's record of `cases` alone. `communities` maps each community's code to its
/// comprehensive grids' codes (dedicated grids stay out of community means).
///
/// Deductions go to each case's responsible grid. A merged duplicate (`merged_into`)
/// costs nothing itself: its report counts as one of its case's. Matters in the
/// `general` domain, or not in the catalogue, cost no points; department KPIs count
/// every case whose latest assignee is a department, whatever its domain.
///
/// # Panics
/// If `month` is not `YYYY-MM`: the driver's own mistake.
pub fn assess(
    month: &str,
    run_at: DateTime<Utc>,
    cases: &[CaseRecord],
    catalogue: &Catalogue,
    calendar: &WorkCalendar,
    communities: &BTreeMap<String, Vec<String>>,
) -> Expected {
    let month = Month::parse(month).unwrap_or_else(|| panic!("`{month}` is not a month (YYYY-MM)"));
    let mut lost: BTreeMap<String, Vec<Deduction>> = BTreeMap::new();
    let mut departments: BTreeMap<String, DepartmentMonth> = BTreeMap::new();
    for case in cases.iter().filter(|c| c.merged_into.is_none()) {
        let Some(matter) = catalogue.matters.get(&case.category) else { continue };
        let h = Handling::of(case, run_at);
        let due = resolve_due(&h, matter, calendar);
        if let (Some(department), Some(due)) = (h.department(), due.filter(|d| month.contains(*d))) {
            count_for_department(departments.entry(department.to_owned()).or_default(), &h, due);
        }
        if !catalogue.assessed(matter) {
            continue;
        }
        let found = deductions(case, matter, &h, due, &month, run_at);
        if !found.is_empty() {
            let grid = if case.responsible_grid.is_empty() { &case.comprehensive_grid } else { &case.responsible_grid };
            lost.entry(grid.clone()).or_default().extend(found);
        }
    }
    let grids: BTreeMap<String, GridMonth> =
        lost.into_iter().map(|(grid, deductions)| (grid, grid_month(deductions, &catalogue.weights))).collect();
    let expected = Expected { grids, communities: BTreeMap::new(), departments: BTreeMap::new() };
    let communities = communities
        .iter()
        .filter(|(_, grids)| !grids.is_empty())
        .map(|(code, grids)| {
            (code.clone(), grids.iter().map(|g| expected.grid_score(g)).sum::<f64>() / grids.len() as f64)
        })
        .collect();
    for d in departments.values_mut() {
        let due = d.due as f64;
        d.score = 30.0 * d.closed as f64 / due + 40.0 * d.on_time as f64 / due + 30.0 * (1.0 - d.reworked as f64 / due);
    }
    Expected { communities, departments, ..expected }
}

/// A grid's sub-scores and weighted score from its deductions.
fn grid_month(mut deductions: Vec<Deduction>, weights: &BTreeMap<String, f64>) -> GridMonth {
    deductions.sort_by(|a, b| (&a.case_id, a.rule).cmp(&(&b.case_id, b.rule)));
    let mut subs: BTreeMap<String, f64> = weights.keys().map(|d| (d.clone(), 100.0)).collect();
    for d in &deductions {
        if let Some(s) = subs.get_mut(&d.domain) {
            *s -= d.points;
        }
    }
    for s in subs.values_mut() {
        *s = s.max(0.0);
    }
    let score = weights.iter().map(|(d, w)| w * subs[d]).sum();
    GridMonth { score, subs, deductions }
}

/// Rounds to 2 decimals, half away from zero, as the decimal the float stands for:
/// 97.445 is 97.45 although its binary form is a hair below. The value in cents is
/// first snapped to a millionth of a cent, which removes that hair.
pub fn round2(x: f64) -> f64 {
    let cents = ((x * 100.0).abs() * 1e6).round() / 1e6;
    (cents + 0.5).floor().copysign(x) / 100.0
}

#[cfg(test)]
mod tests;
