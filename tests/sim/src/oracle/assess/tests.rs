//! The oracle's assessment on hand-built records: the README's worked example and one
//! test per rule of docs/assessment.md.

use super::*;
use crate::oracle::calendar::tests::calendar_2026;
use crate::oracle::catalogue::tests::catalogue;
use crate::record::{Report, Source};

const GRID: &str = "320613001001001";
const COMMUNITY: &str = "320613001001";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{s}+08:00")).expect("rfc3339").with_timezone(&Utc)
}

fn report(id: &str, source: Source, category: &str, reported: &str, discovered: Option<&str>) -> Report {
    Report {
        event_id: id.into(),
        source,
        category: category.into(),
        reported_at: at(reported),
        discovered_at: discovered.map(at),
        reporter_is_grid_staff: source == Source::GridStaff,
    }
}

/// A case in the worked example's grid, made from `report`, with `steps`.
fn case(report: Report, steps: Vec<Step>) -> CaseRecord {
    CaseRecord {
        id: report.event_id.clone(),
        category: report.category.clone(),
        responsible_grid: GRID.into(),
        comprehensive_grid: GRID.into(),
        community: COMMUNITY.into(),
        report,
        duplicates: Vec::new(),
        merged_into: None,
        steps,
    }
}

fn to_grid(when: &str) -> Step {
    Step::Assigned { at: at(when), to: Assignee::Grid(GRID.into()) }
}

fn to_department(when: &str, code: &str) -> Step {
    Step::Assigned { at: at(when), to: Assignee::Department(code.into()) }
}

fn resolved(when: &str) -> Step {
    Step::Resolved { at: at(when) }
}

fn closed(when: &str) -> Step {
    Step::Closed { at: at(when) }
}

fn reopened(when: &str) -> Step {
    Step::Reopened { at: at(when) }
}

/// Community 320613001001's six comprehensive grids.
fn six_grids() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(COMMUNITY.to_owned(), (1..=6).map(|i| format!("{COMMUNITY}00{i}")).collect())])
}

fn run(month: &str, run_at: &str, cases: &[CaseRecord]) -> Expected {
    assess(month, at(run_at), cases, &catalogue(), &calendar_2026(), &six_grids())
}

fn october(cases: &[CaseRecord]) -> Expected {
    run("2026-10", "2026-11-05T00:00:00", cases)
}

/// The grid's deductions as (case, rule, points).
fn lost(e: &Expected) -> Vec<(&str, &str, f64)> {
    e.grids
        .get(GRID)
        .map_or(Vec::new(), |g| g.deductions.iter().map(|d| (d.case_id.as_str(), d.rule.as_str(), d.points)).collect())
}

#[test]
fn the_readme_worked_example_scores_98_60_and_its_community_99_77() {
    let cases = [
        // 1. A resident reports exposed rubbish (B05).
        case(report("c1", Source::Resident, "B05", "2026-10-12T09:00:00", None), vec![]),
        // 2. A resident reports an early sign of a collective incident (A07, urgent): its department's.
        case(
            report("c2", Source::Resident, "A07", "2026-10-13T10:00:00", None),
            vec![
                Step::Accepted { at: at("2026-10-13T10:00:00") },
                to_department("2026-10-13T10:00:00", "D-PS"),
                Step::Signed { at: at("2026-10-13T10:30:00") },
                resolved("2026-10-13T20:00:00"),
                closed("2026-10-14T09:00:00"),
            ],
        ),
        // 3. The grid worker reports clutter (C05) 30 h after finding it.
        case(
            report("c3", Source::GridStaff, "C05", "2026-10-15T14:00:00", Some("2026-10-14T08:00:00")),
            vec![to_grid("2026-10-15T14:00:00"), resolved("2026-10-16T10:00:00"), closed("2026-10-16T15:00:00")],
        ),
        // 4. The grid worker reports flyers (C07) at once; the check fails once.
        case(
            report("c4", Source::GridStaff, "C07", "2026-10-19T10:00:00", Some("2026-10-19T09:50:00")),
            vec![
                to_grid("2026-10-19T10:00:00"),
                Step::Signed { at: at("2026-10-19T10:10:00") },
                resolved("2026-10-19T15:00:00"),
                reopened("2026-10-20T09:00:00"),
                resolved("2026-10-20T16:00:00"),
                closed("2026-10-21T10:00:00"),
            ],
        ),
    ];
    let e = october(&cases);
    assert_eq!(
        lost(&e),
        [
            ("c1", "missed_discovery", 2.0),
            ("c2", "missed_discovery", 4.0),
            ("c3", "late_report", 1.0),
            ("c4", "rework", 1.0)
        ]
    );
    let grid = &e.grids[GRID];
    let subs = |d: &str| grid.subs[d];
    assert_eq!((subs("public_safety"), subs("eco_environment"), subs("urban_rural_construction")), (96.0, 98.0, 98.0));
    assert_eq!(grid.subs.values().filter(|s| **s == 100.0).count(), 4);
    assert_eq!(round2(grid.score), 98.6);
    assert!((grid.score - 98.6).abs() < 1e-9, "{}", grid.score);
    assert_eq!(e.grids.len(), 1, "no other grid lost a point");
    assert!((e.communities[COMMUNITY] - (98.6 + 500.0) / 6.0).abs() < 1e-9);
    assert_eq!(round2(e.communities[COMMUNITY]), 99.77);
    // The urgent case's department: due 14 October 10:00, resolved and closed in time.
    let d = &e.departments["D-PS"];
    assert_eq!((d.due, d.on_time, d.closed, d.reworked, d.score), (1, 1, 1, 0, 100.0));
}

#[test]
fn urgent_cases_count_double_and_general_ones_not_at_all() {
    // Straw burning (B01, urgent, 4 h to resolve): a resident's, never resolved.
    let burning =
        case(report("u1", Source::Resident, "B01", "2026-10-12T09:00:00", None), vec![to_grid("2026-10-12T09:00:00")]);
    // The grid's own worker, 2 h after finding it (1 h allowed).
    let late = case(
        report("u2", Source::GridStaff, "B01", "2026-10-12T11:00:00", Some("2026-10-12T09:00:00")),
        vec![to_grid("2026-10-12T11:00:00"), resolved("2026-10-12T12:00:00")],
    );
    // A hotline enquiry (Z01, general) the grid never answered.
    let enquiry =
        case(report("g1", Source::Hotline, "Z01", "2026-10-12T09:00:00", None), vec![to_grid("2026-10-12T09:00:00")]);
    let e = october(&[burning, late, enquiry.clone()]);
    assert_eq!(lost(&e), [("u1", "missed_discovery", 4.0), ("u1", "unresolved", 4.0), ("u2", "late_report", 2.0)]);
    assert_eq!(e.grids[GRID].subs["eco_environment"], 90.0);
    assert!((e.grids[GRID].score - 98.5).abs() < 1e-9);
    // Even were an enquiry discoverable, its domain is never assessed.
    let mut c = catalogue();
    c.matters.get_mut("Z01").unwrap().discoverable = true;
    let e = assess("2026-10", at("2026-11-05T00:00:00"), &[enquiry], &c, &calendar_2026(), &six_grids());
    assert!(e.grids.is_empty());
    assert_eq!(e.communities[COMMUNITY], 100.0);
}

#[test]
fn a_case_reopened_twice_costs_two_rework_points_in_their_month() {
    let found = Some("2026-09-01T08:30:00");
    let r1 = case(
        report("r1", Source::GridStaff, "B05", "2026-09-01T09:00:00", found),
        vec![
            to_grid("2026-09-01T09:00:00"),
            resolved("2026-09-01T15:00:00"),
            closed("2026-09-02T10:00:00"),
            reopened("2026-10-03T10:00:00"),
            resolved("2026-10-04T10:00:00"),
            reopened("2026-10-20T10:00:00"),
            resolved("2026-10-21T10:00:00"),
            closed("2026-10-22T10:00:00"),
            reopened("2026-11-02T10:00:00"),
        ],
    );
    let cases = [r1];
    assert_eq!(lost(&october(&cases)), [("r1", "rework", 1.0), ("r1", "rework", 1.0)]);
    assert_eq!(lost(&run("2026-11", "2026-12-01T00:00:00", &cases)), [("r1", "rework", 1.0)]);
    assert!(lost(&run("2026-09", "2026-10-01T00:00:00", &cases)).is_empty(), "reported by staff in time");
}

#[test]
fn a_duplicate_first_reported_by_a_resident_is_a_missed_discovery_even_if_staff_reported_later() {
    let mut by_resident = case(report("c1", Source::Resident, "B05", "2026-10-10T10:00:00", None), vec![]);
    let staff_later = report("d1", Source::GridStaff, "B05", "2026-10-10T11:00:00", Some("2026-10-10T10:55:00"));
    by_resident.duplicates.push(staff_later.clone());
    let mut duplicate = case(staff_later, vec![]);
    duplicate.merged_into = Some("c1".into());
    // Staff made the case, but a resident's report merged into it came first.
    let mut by_staff =
        case(report("c2", Source::GridStaff, "B05", "2026-10-10T11:00:00", Some("2026-10-10T10:55:00")), vec![]);
    by_staff.duplicates.push(report("d2", Source::Resident, "B05", "2026-10-10T10:00:00", None));
    // Staff first, in time: nothing, whoever reports it after.
    let mut staff_first =
        case(report("c3", Source::GridStaff, "B05", "2026-10-10T11:00:00", Some("2026-10-10T10:55:00")), vec![]);
    staff_first.duplicates.push(report("d3", Source::Resident, "B05", "2026-10-10T12:00:00", None));
    let e = october(&[by_resident, duplicate, by_staff, staff_first]);
    assert_eq!(lost(&e), [("c1", "missed_discovery", 2.0), ("c2", "missed_discovery", 2.0)]);
}

#[test]
fn a_duplicate_from_the_month_before_places_the_missed_discovery_in_it() {
    let mut c = case(report("c1", Source::Hotline, "C05", "2026-11-01T00:10:00", None), vec![]);
    c.duplicates.push(report("d1", Source::Hotline, "C05", "2026-10-31T23:50:00", None));
    assert_eq!(lost(&october(std::slice::from_ref(&c))), [("c1", "missed_discovery", 2.0)]);
    assert!(lost(&run("2026-11", "2026-12-01T00:00:00", &[c])).is_empty());
}

#[test]
fn unresolved_is_the_grids_only_when_due_in_the_month_and_passed_at_the_run() {
    let found = Some("2026-10-29T09:50:00");
    // B05, 1 working day: assigned Thursday 29 October, due Friday 30th 17:30.
    let assigned_thursday = |id: &str, mut steps: Vec<Step>| {
        steps.insert(0, to_grid("2026-10-29T10:00:00"));
        case(report(id, Source::GridStaff, "B05", "2026-10-29T10:00:00", found), steps)
    };
    let cases = [
        assigned_thursday("never", vec![]),
        assigned_thursday("on-the-dot", vec![resolved("2026-10-30T17:30:00")]),
        assigned_thursday("a-minute-late", vec![resolved("2026-10-30T17:31:00")]),
        // Assigned Friday 30th: due Monday 2 November.
        case(
            report("friday", Source::GridStaff, "B05", "2026-10-30T10:00:00", Some("2026-10-30T09:50:00")),
            vec![to_grid("2026-10-30T10:00:00")],
        ),
        // The department's: not the grid's to resolve.
        assigned_thursday("department", vec![to_department("2026-10-29T11:00:00", "D-UM")]),
    ];
    let e = october(&cases);
    assert_eq!(lost(&e), [("a-minute-late", "unresolved", 2.0), ("never", "unresolved", 2.0)]);
    // Run before the deadline passed: not (yet) unresolved.
    assert!(lost(&run("2026-10", "2026-10-30T17:30:00", &cases)).is_empty());
    // November: only Friday's case, due 2 November.
    assert_eq!(lost(&run("2026-11", "2026-12-01T00:00:00", &cases)), [("friday", "unresolved", 2.0)]);
    // A resolution after the run is not seen by it.
    let mut resolved_later = assigned_thursday("later", vec![resolved("2026-11-06T10:00:00")]);
    assert_eq!(lost(&october(std::slice::from_ref(&resolved_later))), [("later", "unresolved", 2.0)]);
    // Sent to a department and back to the grid: no longer the grid's.
    resolved_later.steps.insert(1, to_department("2026-10-29T11:00:00", "D-UM"));
    resolved_later.steps.insert(2, to_grid("2026-10-29T12:00:00"));
    let e = october(&[resolved_later]);
    assert!(lost(&e).is_empty() && e.departments.is_empty(), "{e:?}");
}

#[test]
fn department_kpis_count_cases_due_in_the_month() {
    let staff = |id: &str, when: &str| report(id, Source::GridStaff, "B05", when, Some(when));
    let cases = [
        // Due Tuesday 13 October 17:30, resolved and closed in time.
        case(
            staff("k1", "2026-10-12T09:00:00"),
            vec![
                to_department("2026-10-12T09:00:00", "D-UM"),
                resolved("2026-10-13T10:00:00"),
                closed("2026-10-14T10:00:00"),
            ],
        ),
        // Resolved late, closed, then reopened by a dissatisfied rating: not closed.
        case(
            staff("k2", "2026-10-12T09:00:00"),
            vec![
                to_department("2026-10-12T09:00:00", "D-UM"),
                resolved("2026-10-14T10:00:00"),
                closed("2026-10-14T15:00:00"),
                reopened("2026-10-15T10:00:00"),
            ],
        ),
        // Due in November.
        case(staff("k3", "2026-10-30T10:00:00"), vec![to_department("2026-10-30T10:00:00", "D-UM")]),
        // The grid blows the whistle on the 13th: due the 14th 17:30, resolved on the dot,
        // closed only after the run.
        case(
            staff("k4", "2026-10-12T09:00:00"),
            vec![
                to_grid("2026-10-12T09:00:00"),
                to_department("2026-10-13T09:00:00", "D-UM"),
                resolved("2026-10-14T17:30:00"),
                closed("2026-11-06T10:00:00"),
            ],
        ),
    ];
    let e = october(&cases);
    let d = &e.departments["D-UM"];
    assert_eq!((d.due, d.on_time, d.closed, d.reworked), (3, 2, 1, 1));
    // 30·1/3 + 40·2/3 + 30·(1 − 1/3), on a scale of 100.
    assert!((d.score - 170.0 / 3.0).abs() < 1e-9, "{}", d.score);
    assert_eq!(round2(d.score), 56.67);
    assert!(lost(&e).is_empty(), "department cases cost the grid no rework or unresolved");
    assert_eq!(run("2026-11", "2026-12-01T00:00:00", &cases).departments["D-UM"].due, 1);
    assert!(run("2026-09", "2026-10-01T00:00:00", &cases).departments.is_empty());
}

#[test]
fn deadlines_follow_the_latest_assignment() {
    let mut c = case(report("c1", Source::Resident, "B05", "2026-11-27T15:00:00", None), vec![]);
    assert_eq!(deadlines(&c, &catalogue(), &calendar_2026()), None);
    c.steps.push(to_grid("2026-11-27T16:00:00"));
    assert_eq!(
        deadlines(&c, &catalogue(), &calendar_2026()),
        Some((at("2026-11-30T11:00:00"), at("2026-11-30T17:30:00")))
    );
    c.steps.push(Step::Signed { at: at("2026-11-27T16:30:00") });
    c.steps.push(to_department("2026-11-30T09:00:00", "D-UM"));
    c.steps.push(Step::Returned { at: at("2026-11-30T10:00:00") });
    assert_eq!(
        deadlines(&c, &catalogue(), &calendar_2026()),
        Some((at("2026-11-30T14:30:00"), at("2026-12-01T17:30:00")))
    );
}

#[test]
fn months_are_half_open_at_midnight_in_shanghai() {
    let m = Month::parse("2026-10").unwrap();
    assert!(m.contains(at("2026-10-01T00:00:00")) && m.contains(at("2026-10-31T23:59:59")));
    assert!(!m.contains(at("2026-11-01T00:00:00")) && !m.contains(at("2026-09-30T23:59:59")));
    assert_eq!(Month::parse("2026-12").unwrap().end, at("2027-01-01T00:00:00"));
    assert!(Month::parse("2026-13").is_none() && Month::parse("2026").is_none());
}

#[test]
fn rounding_is_half_away_from_zero_on_the_decimal() {
    for (x, r) in [(97.445, 97.45), (2.675, 2.68), (-2.675, -2.68), (89.994999, 89.99), (89.995, 90.0), (98.6, 98.6)] {
        assert_eq!(round2(x), r, "{x}");
    }
    assert_eq!(round2((98.6 + 500.0) / 6.0), 99.77);
}

#[test]
fn times_are_compared_to_the_second_as_stored() {
    let exact = |s: &str| at(s) + chrono::Duration::milliseconds(700);
    // B01: 1 h to report; 60 min 0.7 s is 3600 whole seconds, not late.
    let mut quick = report("q1", Source::GridStaff, "B01", "2026-10-12T10:00:00", Some("2026-10-12T09:00:00"));
    quick.reported_at = exact("2026-10-12T10:00:00");
    // B05, assigned Thursday 29 October 10:00:00.7: due Friday 17:30:00, resolved 17:30:00.7.
    let on_time = case(
        report("q2", Source::GridStaff, "B05", "2026-10-29T10:00:00", Some("2026-10-29T10:00:00")),
        vec![
            Step::Assigned { at: exact("2026-10-29T10:00:00"), to: Assignee::Grid(GRID.into()) },
            Step::Resolved { at: exact("2026-10-30T17:30:00") },
        ],
    );
    let q1 = case(quick, vec![to_grid("2026-10-12T10:00:00"), resolved("2026-10-12T11:00:00")]);
    assert!(lost(&october(&[q1, on_time.clone()])).is_empty());
    // Deadlines counted from the exact instant, stored to the second: 4 wh from 10:00:00.7.
    assert_eq!(
        deadlines(&on_time, &catalogue(), &calendar_2026()),
        Some((at("2026-10-29T15:30:00"), at("2026-10-30T17:30:00")))
    );
}
