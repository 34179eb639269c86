//! How cases are read, on SQLite or on PostgreSQL as the test run asks
//! (`WANGGE_TEST_ENGINE`): the filtered keyset pages of `GET /v1/cases` (every filter
//! alone, none, and region prefixes), the states Open311 shows, staff and reporters,
//! and the light filter. Each engine must answer alike: text compares byte by byte,
//! a filter left out matches everything.

mod common;

use common::*;
use wangge_cases::lifecycle::State;
use wangge_cases::store::*;
use wangge_cases::supervision::Light;
use wangge_core::native::TestDb;

/// Four cases: `c1` assigned to its grid, `r1` waiting (reported the day before),
/// `u1` urgent and with public security, `z1` waiting in another town.
fn four_cases() -> (TestDb, wangge_cases::calendar::Calendar) {
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("c1", "grid_staff", "A01", Some("S000002")), "2026-11-27T16:00:00+08:00");
    let mut r1 = new_case("r1", "resident", "A01", None);
    r1.reported_at = "2026-11-26T09:00:00+08:00".into();
    create_at(&db, &calendar, &r1, "2026-11-26T09:00:00+08:00");
    create_at(&db, &calendar, &new_case("u1", "resident", "A07", None), "2026-11-27T16:00:00+08:00");
    let mut z1 = new_case("z1", "resident", "A01", None);
    z1.community = "320613002001".into();
    z1.responsible_grid = Some("320613002001001".into());
    z1.comprehensive_grid = Some("320613002001001".into());
    create_at(&db, &calendar, &z1, "2026-11-27T16:00:00+08:00");
    (db, calendar)
}

fn ids(cases: &[Case]) -> Vec<&str> {
    cases.iter().map(|c| c.id.as_str()).collect()
}

fn listed(db: &TestDb, filter: Filter) -> Vec<String> {
    list(db, &filter, "", 10).unwrap().into_iter().map(|c| c.id).collect()
}

#[test]
fn a_page_of_cases_is_filtered_by_each_filter_and_by_none() {
    let (db, _) = four_cases();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(listed(&db, Filter::default()), ["c1", "r1", "u1", "z1"], "no filter: every case, by id");
    let town = |prefix: &str| Filter { region_prefix: prefix.into(), ..Filter::default() };
    assert_eq!(listed(&db, town("320613001")), ["c1", "r1", "u1"]);
    assert_eq!(listed(&db, town("320613002")), ["z1"]);
    assert_eq!(listed(&db, town("3206130019")), Vec::<String>::new());
    let grid = Filter { grid: some("320613002001001"), ..Filter::default() };
    assert_eq!(listed(&db, grid), ["z1"]);
    let assignee = Filter { assignee: some("320613001000-public_security"), ..Filter::default() };
    assert_eq!(listed(&db, assignee), ["u1"]);
    let waiting = Filter { state: some("reported"), ..Filter::default() };
    assert_eq!(listed(&db, waiting), ["r1", "z1"]);
    let urgent = Filter { category: some("A07"), ..Filter::default() };
    assert_eq!(listed(&db, urgent), ["u1"]);
    let from = Filter { reported_from: some("2026-11-27T00:00:00+08:00"), ..Filter::default() };
    assert_eq!(listed(&db, from), ["c1", "u1", "z1"]);
    let to = Filter { reported_to: some("2026-11-27T00:00:00+08:00"), ..Filter::default() };
    assert_eq!(listed(&db, to), ["r1"]);
    let both = Filter { state: some("reported"), region_prefix: "320613001".into(), ..Filter::default() };
    assert_eq!(listed(&db, both), ["r1"]);
}

#[test]
fn pages_follow_the_id_after_the_last_one_seen() {
    let (db, _) = four_cases();
    let first = list(&db, &Filter::default(), "", 2).unwrap();
    assert_eq!(ids(&first), ["c1", "r1", "u1"], "one more than asked, to tell that more remain");
    let second = list(&db, &Filter::default(), "r1", 2).unwrap();
    assert_eq!(ids(&second), ["u1", "z1"]);
    assert!(list(&db, &Filter::default(), "z1", 2).unwrap().is_empty());
}

#[test]
fn states_staff_and_reporters_read_back() {
    let (db, _) = four_cases();
    let asked: Vec<String> = ["u1", "nope", "c1"].map(str::to_owned).to_vec();
    let found = states(&db, &asked).unwrap();
    let shown: Vec<(&str, State, bool, Option<&str>)> =
        found.iter().map(|s| (s.id.as_str(), s.state, s.open, s.assignee.as_deref())).collect();
    assert_eq!(
        shown,
        [
            ("c1", State::Assigned, true, Some("320613001001001")),
            ("u1", State::Assigned, true, Some("320613001000-public_security")),
        ],
        "by id, unknown ids left out"
    );
    assert!(states(&db, &[]).unwrap().is_empty());
    let staff_ids: Vec<String> = staff(&db, "c1").unwrap().into_iter().map(|s| s.staff_id).collect();
    assert_eq!(staff_ids, ["S000001", "S000002"]);
    let found = reporters(&db, &["c1", "r1", "nope"]).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found["r1"].phone.as_deref(), Some("13900000000"));
    assert_eq!(reporter(&db, "nope").unwrap(), Reporter::default());
}

#[test]
fn the_light_filter_keeps_the_cases_of_that_light() {
    let (db, _) = four_cases();
    let cases = list(&db, &Filter::default(), "", 10).unwrap();
    let green = with_light(&db, cases.clone(), Light::Green, at("2026-11-27T16:30:00+08:00")).unwrap();
    assert_eq!(ids(&green), ["c1", "u1"], "only assigned cases have a running deadline");
    // A07's 24 wall-clock hours are over by the next evening; A01's 5 working days are not.
    let red = with_light(&db, cases, Light::Red, at("2026-11-28T17:00:00+08:00")).unwrap();
    assert_eq!(ids(&red), ["u1"]);
}
