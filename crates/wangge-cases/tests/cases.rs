//! Cases in storage, on SQLite or on PostgreSQL as the test run asks
//! (`WANGGE_TEST_ENGINE`, [`TestDb`]): routing at creation, every action's rules,
//! races, and a log that shows any edit.

use chrono::Duration;
use wangge_cases::calendar::Calendar;
use wangge_cases::lifecycle::{Action, AssigneeKind, EscalationLevel, State};
use wangge_cases::store::*;
use wangge_core::Dialect;
use wangge_core::migrations::Sql;
use wangge_core::native::TestDb;

mod common;

use common::*;

#[test]
fn a_grid_workers_report_the_grid_may_resolve_is_accepted_and_assigned_on_deadline() {
    let (db, calendar) = setup();
    let case =
        create_at(&db, &calendar, &new_case("c1", "grid_staff", "A01", Some("S000002")), "2026-11-27T16:00:00+08:00");
    assert_eq!(case.state, State::Assigned);
    assert_eq!(
        (case.assignee_kind.map(AssigneeKind::as_str), case.assignee.as_deref()),
        (Some("grid"), Some("320613001001001"))
    );
    // A01: respond within 1wd, resolve within 5wd, from Friday 16:00.
    assert_eq!(case.respond_due.as_deref(), Some("2026-11-30T17:30:00+08:00"));
    assert_eq!(case.resolve_due.as_deref(), Some("2026-12-04T17:30:00+08:00"));
    let (log, verification) = history(&db, "c1").unwrap();
    let actions: Vec<&str> = log.iter().map(|(e, _)| e.action.as_str()).collect();
    assert_eq!(actions, ["report", "accept", "assign"]);
    assert!(verification.valid);
}

/// A hotline order or Open311 request handed over again under a new id is the case
/// its external reference already made.
#[test]
fn the_same_external_reference_again_is_the_same_case() {
    let (db, calendar) = setup();
    let mut first = new_case("h1", "hotline", "A01", None);
    first.external_ref = Some("GD-2026-0001".into());
    let made = create_at(&db, &calendar, &first, "2026-11-27T10:00:00+08:00");
    let mut again = new_case("h2", "hotline", "A01", None);
    again.external_ref = Some("GD-2026-0001".into());
    let found = create_at(&db, &calendar, &again, "2026-11-27T10:05:00+08:00");
    assert_eq!(found.id, made.id);
    let count = db.execute("SELECT count(*) FROM cases", &[]).unwrap().scalar().and_then(|v| v.as_i64());
    assert_eq!(count, Some(1));
}

#[test]
fn a_residents_report_waits_for_the_centre_and_urgent_matters_skip_the_queue() {
    let (db, calendar) = setup();
    let case = create_at(&db, &calendar, &new_case("r1", "resident", "A01", None), "2026-11-27T10:00:00+08:00");
    assert_eq!(case.state, State::Reported, "the centre decides");
    // A07 (群体性事件苗头) is urgent and goes to public security at the town.
    let urgent = create_at(&db, &calendar, &new_case("u1", "resident", "A07", None), "2026-11-27T10:00:00+08:00");
    assert_eq!(urgent.state, State::Assigned);
    assert_eq!(urgent.assignee.as_deref(), Some("320613001000-public_security"));
    assert_eq!(urgent.handling_level.map(AssigneeKind::as_str), Some("department"));
    assert_eq!(urgent.resolve_due.as_deref(), Some("2026-11-28T10:00:00+08:00"), "24h is wall-clock");
}

#[test]
fn the_closed_loop_with_rework_and_one_dissatisfied_reopening() {
    let (db, calendar) = setup();
    let id = "loop1";
    create_at(&db, &calendar, &new_case(id, "grid_staff", "A01", Some("S000002")), "2026-11-27T16:00:00+08:00");
    let worker = || Actor::Staff("S000002".into());
    let centre = || Actor::Centre("320613".into());
    let step = |action, actor, now| act_at(&db, &calendar, id, action, actor, None, now).unwrap().state;
    assert_eq!(step(Action::Sign, worker(), "2026-11-30T09:00:00+08:00"), State::InProgress);
    assert_eq!(step(Action::Resolve, worker(), "2026-11-30T15:00:00+08:00"), State::Resolved);
    assert_eq!(step(Action::VerifyFail, centre(), "2026-12-01T09:00:00+08:00"), State::InProgress);
    assert_eq!(step(Action::Resolve, worker(), "2026-12-01T15:00:00+08:00"), State::Resolved);
    assert_eq!(step(Action::VerifyPass, centre(), "2026-12-02T09:00:00+08:00"), State::Closed);
    let case = get(&db, id).unwrap().unwrap();
    assert_eq!(case.first_resolved_at.as_deref(), Some("2026-11-30T15:00:00+08:00"), "the first resolution is kept");
    assert_eq!(case.reopen_count, 1);
    assert_eq!(step(Action::RateDissatisfied, Actor::Reporter, "2026-12-05T09:00:00+08:00"), State::InProgress);
    step(Action::Resolve, worker(), "2026-12-07T09:00:00+08:00");
    step(Action::VerifyPass, centre(), "2026-12-07T10:00:00+08:00");
    let again =
        act_at(&db, &calendar, id, Action::RateDissatisfied, Actor::Reporter, None, "2026-12-08T10:00:00+08:00");
    assert!(matches!(again, Err(CaseError::Conflict { state: State::Closed, .. })), "only once: {again:?}");
    let case = get(&db, id).unwrap().unwrap();
    assert_eq!((case.reopen_count, case.reopened_by_rating), (2, true));
    let (log, verification) = history(&db, id).unwrap();
    assert_eq!(log.len(), 11);
    assert!(verification.valid);
}

#[test]
fn who_may_act_is_checked_and_refusals_change_nothing() {
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("w1", "resident", "A01", None), "2026-11-27T10:00:00+08:00");
    let forbidden = |action, actor| {
        matches!(
            act_at(&db, &calendar, "w1", action, actor, None, "2026-11-27T11:00:00+08:00"),
            Err(CaseError::Forbidden { .. })
        )
    };
    assert!(forbidden(Action::Accept, Actor::Centre("320612".into())), "another district's centre");
    assert!(forbidden(Action::Accept, Actor::Staff("S000002".into())), "grid staff do not accept");
    assert!(forbidden(Action::Accept, Actor::Reporter));
    let accepted = act_at(
        &db,
        &calendar,
        "w1",
        Action::Accept,
        Actor::Centre("320613001".into()),
        None,
        "2026-11-27T11:00:00+08:00",
    )
    .unwrap();
    assert_eq!(accepted.state, State::Accepted);
    // The centre sends it to the town's justice office.
    let dept = Target::Department("320613001000-justice".into());
    let assigned = act_at(
        &db,
        &calendar,
        "w1",
        Action::Assign,
        Actor::Centre("3206".into()),
        Some(dept),
        "2026-11-27T11:00:00+08:00",
    )
    .unwrap();
    assert_eq!(assigned.assignee_kind.map(AssigneeKind::as_str), Some("department"));
    assert!(forbidden(Action::Sign, Actor::Staff("S000002".into())), "the grid no longer handles it");
    assert!(forbidden(Action::Sign, Actor::Department("320613001000-public_security".into())), "another department");
    assert!(forbidden(Action::Sign, Actor::Staff("S999999".into())));
    let signed = act_at(
        &db,
        &calendar,
        "w1",
        Action::Sign,
        Actor::Department("320613001000-justice".into()),
        None,
        "2026-11-27T12:00:00+08:00",
    )
    .unwrap();
    assert_eq!(signed.state, State::InProgress);
    let unknown =
        act_at(&db, &calendar, "w1", Action::Escalate, Actor::Centre("3206".into()), None, "2026-11-27T12:00:00+08:00")
            .unwrap();
    assert_eq!(unknown.state, State::Escalated);
    let bad_target = act_at(
        &db,
        &calendar,
        "w1",
        Action::Assign,
        Actor::Centre("3206".into()),
        Some(Target::Department("nope".into())),
        "2026-11-27T12:00:00+08:00",
    );
    assert!(matches!(bad_target, Err(CaseError::Invalid(_))));
    let (log, _) = history(&db, "w1").unwrap();
    assert_eq!(log.len(), 5, "refusals left no trace");
}

#[test]
fn of_two_racing_actors_exactly_one_wins_and_the_other_learns_the_state() {
    let (db, calendar) = setup();
    let case =
        create_at(&db, &calendar, &new_case("x1", "grid_staff", "A01", Some("S000002")), "2026-11-27T10:00:00+08:00");
    let ctx = Context { calendar: &calendar, now: at("2026-11-27T11:00:00+08:00") };
    let sign = ActionRequest {
        action: Action::Sign,
        actor: Actor::Staff("S000002".into()),
        note: None,
        attachments: vec![],
        target: None,
        category: None,
        expected_version: Some(case.version),
    };
    let ret = ActionRequest {
        action: Action::Return,
        actor: Actor::Staff("S000001".into()),
        note: Some("不属于本网格".into()),
        attachments: vec![],
        target: None,
        category: None,
        expected_version: Some(case.version),
    };
    assert_eq!(act(&db, "x1", &sign, &ctx).unwrap().state, State::InProgress);
    match act(&db, "x1", &ret, &ctx) {
        Err(CaseError::Conflict { state, version, .. }) => {
            assert_eq!((state, version), (State::InProgress, case.version + 1))
        }
        other => panic!("{other:?}"),
    }
    // Without a version, the state itself decides: a return after signing is not allowed.
    let no_version = ActionRequest { expected_version: None, ..ret };
    assert!(matches!(act(&db, "x1", &no_version, &ctx), Err(CaseError::Conflict { state: State::InProgress, .. })));
}

#[test]
fn the_log_is_append_only_and_an_edit_shows_at_its_entry() {
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("t1", "grid_staff", "A01", Some("S000002")), "2026-11-27T10:00:00+08:00");
    act_at(&db, &calendar, "t1", Action::Sign, Actor::Staff("S000002".into()), None, "2026-11-27T11:00:00+08:00")
        .unwrap();
    let refused = db.execute("UPDATE case_log SET entry = '{}' WHERE case_id = 't1' AND seq = 2", &[]);
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    assert!(db.execute("DELETE FROM case_log WHERE case_id = 't1'", &[]).is_err());
    // Someone with the database file drops the guard and rewrites the accepting entry.
    let drop_guard = match db.dialect() {
        Dialect::Sqlite => "DROP TRIGGER case_log_is_append_only_update",
        Dialect::Postgres => "DROP TRIGGER case_log_is_append_only_update ON case_log",
    };
    db.execute(drop_guard, &[]).unwrap();
    let row = db.execute("SELECT entry FROM case_log WHERE case_id = 't1' AND seq = 2", &[]).unwrap();
    let edited = row.scalar().unwrap().as_str().unwrap().replace("\"system\"", "\"S000001\"");
    db.execute("UPDATE case_log SET entry = ? WHERE case_id = 't1' AND seq = 2", &[edited.into()]).unwrap();
    let (_, verification) = history(&db, "t1").unwrap();
    assert_eq!((verification.valid, verification.broken_at_seq), (false, Some(2)));
}

#[test]
fn the_rating_window_closes_after_seven_days() {
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("k1", "grid_staff", "A01", Some("S000002")), "2026-11-02T10:00:00+08:00");
    let worker = Actor::Staff("S000002".into());
    act_at(&db, &calendar, "k1", Action::Sign, worker.clone(), None, "2026-11-02T11:00:00+08:00").unwrap();
    act_at(&db, &calendar, "k1", Action::Resolve, worker, None, "2026-11-02T12:00:00+08:00").unwrap();
    let closed = act_at(
        &db,
        &calendar,
        "k1",
        Action::VerifyPass,
        Actor::Centre("3206".into()),
        None,
        "2026-11-02T13:00:00+08:00",
    )
    .unwrap();
    let closed_at = wangge_core::time::parse(closed.closed_at.as_deref().unwrap()).unwrap();
    let late = wangge_core::time::render(closed_at + Duration::days(7) + Duration::seconds(1));
    let r = act_at(&db, &calendar, "k1", Action::RateDissatisfied, Actor::Reporter, None, &late);
    assert!(matches!(r, Err(CaseError::Conflict { state: State::Closed, .. })), "{r:?}");
}

fn notice_kinds(db: &TestDb, case: &str) -> Vec<String> {
    db.execute("SELECT kind FROM case_notices WHERE case_id = ? ORDER BY created_at, idempotency_key", &[case.into()])
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}

fn sweep_at(db: &TestDb, calendar: &Calendar, now: &str) -> SweepReport {
    sweep(db, &Context { calendar, now: at(now) }, "", 500).unwrap()
}

#[test]
fn transitions_owe_notices_recorded_with_them_once() {
    let (db, calendar) = setup();
    let mut hotline = new_case("h1", "hotline", "A01", None);
    hotline.external_ref = Some("12345-2026-000777".into());
    create_at(&db, &calendar, &hotline, "2026-11-27T10:00:00+08:00");
    let centre = || Actor::Centre("3206".into());
    act_at(&db, &calendar, "h1", Action::Accept, centre(), None, "2026-11-27T10:10:00+08:00").unwrap();
    act_at(
        &db,
        &calendar,
        "h1",
        Action::Assign,
        centre(),
        Some(Target::Grid("320613001001001".into())),
        "2026-11-27T10:20:00+08:00",
    )
    .unwrap();
    let worker = || Actor::Staff("S000002".into());
    act_at(&db, &calendar, "h1", Action::Sign, worker(), None, "2026-11-27T10:30:00+08:00").unwrap();
    act_at(&db, &calendar, "h1", Action::Resolve, worker(), None, "2026-11-27T11:00:00+08:00").unwrap();
    act_at(&db, &calendar, "h1", Action::VerifyPass, centre(), None, "2026-11-27T11:30:00+08:00").unwrap();
    assert_eq!(notice_kinds(&db, "h1"), ["case_accepted", "assignment", "case_closed", "hotline_result"]);
    let pending = wangge_cases::notices::pending(&db, 10).unwrap();
    let result = pending.iter().find(|n| n.kind == "hotline_result").unwrap();
    assert_eq!(result.recipient.id, "12345-2026-000777");
    let accepted = pending.iter().find(|n| n.kind == "case_accepted").unwrap();
    assert_eq!(
        accepted.recipient.phone.as_deref(),
        Some("13900000000"),
        "the reporter's contact travels with the notice"
    );
    let keys: Vec<String> = pending.iter().map(|n| n.idempotency_key.clone()).collect();
    wangge_cases::notices::mark_delivered(&db, &keys, "2026-11-27T12:00:00+08:00").unwrap();
    assert!(wangge_cases::notices::pending(&db, 10).unwrap().is_empty());
}

#[test]
fn the_sweep_reminds_on_yellow_supervises_on_red_escalates_once_and_never_twice() {
    let (db, calendar) = setup();
    // Assigned Friday 16:00: respond by Monday 17:30 (9 working hours), resolve by 4 December 17:30.
    create_at(&db, &calendar, &new_case("s1", "grid_staff", "A01", Some("S000002")), "2026-11-27T16:00:00+08:00");
    assert_eq!(sweep_at(&db, &calendar, "2026-11-30T10:00:00+08:00").reminders, 0, "green");
    let yellow = sweep_at(&db, &calendar, "2026-11-30T16:30:00+08:00");
    assert_eq!((yellow.handled, yellow.reminders), (1, 1));
    assert_eq!(sweep_at(&db, &calendar, "2026-11-30T16:40:00+08:00").reminders, 0, "idempotent");
    let red = sweep_at(&db, &calendar, "2026-12-01T09:00:00+08:00");
    assert_eq!(red.supervision_notices, 2, "the grid and its grid head");
    let supervised: Vec<String> = db
        .execute(
            "SELECT recipient_kind || ':' || recipient_id FROM case_notices WHERE kind = 'supervision' ORDER BY 1",
            &[],
        )
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(supervised, ["grid:320613001001001", "staff:S000001"]);
    act_at(&db, &calendar, "s1", Action::Sign, Actor::Staff("S000002".into()), None, "2026-12-01T09:30:00+08:00")
        .unwrap();
    // Red on the resolve deadline for another full 5wd: escalated, once.
    let late = sweep_at(&db, &calendar, "2026-12-14T09:00:00+08:00");
    assert_eq!((late.escalated, late.supervision_notices), (1, 2));
    assert_eq!(get(&db, "s1").unwrap().unwrap().state, State::Escalated);
    let again = sweep_at(&db, &calendar, "2026-12-14T10:00:00+08:00");
    assert_eq!((again.escalated, again.supervision_notices, again.reminders), (0, 0, 0));
    let (log, verification) = history(&db, "s1").unwrap();
    assert_eq!(log.last().unwrap().0.actor, "system");
    assert!(verification.valid);
}

#[test]
fn the_sweep_works_in_bounded_batches() {
    let (db, calendar) = setup();
    for i in 0..5 {
        create_at(
            &db,
            &calendar,
            &new_case(&format!("b{i}"), "grid_staff", "A01", Some("S000002")),
            "2026-11-27T16:00:00+08:00",
        );
    }
    let ctx = Context { calendar: &calendar, now: at("2026-11-30T16:30:00+08:00") };
    let (mut cursor, mut batches, mut handled) = (String::new(), 0, 0);
    loop {
        let report = sweep(&db, &ctx, &cursor, 2).unwrap();
        batches += 1;
        handled += report.handled;
        match report.next_cursor {
            Some(c) => cursor = c,
            None => break,
        }
    }
    assert_eq!((batches, handled), (3, 5));
}

#[test]
fn a_report_within_50_m_and_24_h_of_an_open_case_of_its_category_is_merged_on_arrival() {
    let (db, calendar) = setup();
    let at = |id: &str, category: &str, dlng_m: f64, when: &str| {
        let mut new = new_case(id, "resident", category, None);
        new.lng = Some(120.86 + dlng_m / (111_320.0 * 32.01f64.to_radians().cos()));
        new.lat = Some(32.01);
        new.reported_at = when.into();
        create_at(&db, &calendar, &new, when)
    };
    let first = at("d1", "B05", 0.0, "2026-11-27T10:00:00+08:00");
    assert_eq!(first.state, State::Reported);
    let near = at("d2", "B05", 45.0, "2026-11-28T09:59:00+08:00");
    assert_eq!((near.state, near.merged_into.as_deref()), (State::Merged, Some("d1")));
    // The reporter is owed a notice naming the case the report joined.
    let owed = wangge_cases::notices::pending(&db, 100).unwrap();
    assert!(
        owed.iter()
            .any(|n| n.kind == "case_merged" && n.case_id.as_deref() == Some("d2") && n.payload["merged_into"] == "d1")
    );
    assert_eq!(at("d3", "B05", 55.0, "2026-11-27T11:00:00+08:00").state, State::Reported, "55 m is another spot");
    assert_eq!(at("d4", "C05", 0.0, "2026-11-27T11:00:00+08:00").state, State::Reported, "another matter");
    assert_eq!(at("d5", "B05", 0.0, "2026-11-28T10:01:00+08:00").state, State::Reported, "d1 is more than 24 h before");
    assert_eq!(at("d6", "B05", 52.0, "2026-11-28T10:02:00+08:00").merged_into.as_deref(), Some("d3"));
    // Sent again (intake retrying), the same report is the same case.
    let again = create_at(&db, &calendar, &new_case("d1", "resident", "B05", None), "2026-11-27T12:00:00+08:00");
    assert_eq!((again.id.as_str(), again.state), ("d1", State::Reported));
}

#[test]
fn a_duplicate_merges_into_an_open_case_and_says_which() {
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("m1", "resident", "A01", None), "2026-11-27T10:00:00+08:00");
    create_at(&db, &calendar, &new_case("m2", "resident", "A01", None), "2026-11-27T10:05:00+08:00");
    let centre = || Actor::Centre("3206".into());
    let no_target = act_at(&db, &calendar, "m2", Action::Merge, centre(), None, "2026-11-27T10:10:00+08:00");
    assert!(matches!(no_target, Err(CaseError::Invalid(_))));
    let itself = act_at(
        &db,
        &calendar,
        "m2",
        Action::Merge,
        centre(),
        Some(Target::Case("m2".into())),
        "2026-11-27T10:10:00+08:00",
    );
    assert!(matches!(itself, Err(CaseError::Invalid(_))));
    let merged = act_at(
        &db,
        &calendar,
        "m2",
        Action::Merge,
        centre(),
        Some(Target::Case("m1".into())),
        "2026-11-27T10:10:00+08:00",
    )
    .unwrap();
    assert_eq!(merged.state, State::Merged);
    let facts = facts_page_of(&db, "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00", "", 10, false).unwrap();
    let m2 = facts.iter().find(|f| f.case_id == "m2").unwrap();
    assert_eq!(m2.merged_into.as_deref(), Some("m1"));
    // Assessment's first pass reads only the merged duplicates.
    let merged = facts_page_of(&db, "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00", "", 10, true).unwrap();
    assert_eq!(merged.iter().map(|f| f.case_id.as_str()).collect::<Vec<_>>(), ["m2"]);
}

#[test]
fn escalation_climbs_one_level_at_a_time_or_goes_straight_to_a_department() {
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("e1", "grid_staff", "A01", Some("S000002")), "2026-11-27T10:00:00+08:00");
    let worker = || Actor::Staff("S000002".into());
    let up = |actor| act_at(&db, &calendar, "e1", Action::Escalate, actor, None, "2026-11-27T11:00:00+08:00").unwrap();
    assert_eq!(up(worker()).escalation_level.map(EscalationLevel::as_str), Some("community"));
    let centre = || Actor::Centre("320613001".into());
    assert_eq!(up(centre()).escalation_level.map(EscalationLevel::as_str), Some("town"));
    assert_eq!(up(centre()).escalation_level.map(EscalationLevel::as_str), Some("district"));

    create_at(&db, &calendar, &new_case("e2", "grid_staff", "A01", Some("S000002")), "2026-11-27T10:00:00+08:00");
    let whistle = act_at(
        &db,
        &calendar,
        "e2",
        Action::Escalate,
        worker(),
        Some(Target::Department("320613001000-justice".into())),
        "2026-11-27T11:00:00+08:00",
    )
    .unwrap();
    assert_eq!(whistle.state, State::Assigned);
    assert_eq!(
        (whistle.assignee_kind.map(AssigneeKind::as_str), whistle.assignee.as_deref()),
        (Some("department"), Some("320613001000-justice"))
    );
    let (log, verification) = history(&db, "e2").unwrap();
    let actions: Vec<&str> = log.iter().map(|(e, _)| e.action.as_str()).collect();
    assert_eq!(&actions[3..], ["escalate", "assign"]);
    assert!(verification.valid);
}

/// A reopened case is open again: the rating that reopens a closed case clears its
/// closure on the row (what assessment reads), while the log keeps the closing.
#[test]
fn a_dissatisfied_rating_clears_the_closure_and_the_log_keeps_it() {
    let (db, calendar) = setup();
    let id = "reopen1";
    create_at(&db, &calendar, &new_case(id, "grid_staff", "A01", Some("S000002")), "2026-11-27T16:00:00+08:00");
    let worker = || Actor::Staff("S000002".into());
    let centre = || Actor::Centre("320613".into());
    let step = |action, actor, now| act_at(&db, &calendar, id, action, actor, None, now).unwrap();
    step(Action::Sign, worker(), "2026-11-30T09:00:00+08:00");
    step(Action::Resolve, worker(), "2026-11-30T15:00:00+08:00");
    let closed = step(Action::VerifyPass, centre(), "2026-12-01T09:00:00+08:00");
    assert_eq!(closed.closed_at.as_deref(), Some("2026-12-01T09:00:00+08:00"));
    let reopened = step(Action::RateDissatisfied, Actor::Reporter, "2026-12-02T09:00:00+08:00");
    assert_eq!(reopened.state, State::InProgress);
    assert_eq!(reopened.closed_at, None, "in progress again, so not closed");
    assert_eq!(reopened.first_resolved_at.as_deref(), Some("2026-11-30T15:00:00+08:00"), "the first resolution stays");
    let facts = facts_page_of(&db, "2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00", "", 10, false).unwrap();
    let fact = facts.iter().find(|f| f.case_id == id).unwrap();
    assert_eq!(
        (fact.closed_at.as_deref(), fact.reopened_at.as_slice()),
        (None, &["2026-12-02T09:00:00+08:00".to_owned()][..])
    );
    let (log, verification) = history(&db, id).unwrap();
    let closing = log.iter().find(|(e, _)| e.action == "verify_pass").map(|(e, _)| e.at.as_str());
    assert_eq!(closing, Some("2026-12-01T09:00:00+08:00"), "the log keeps the closing");
    assert!(verification.valid);
    // Closed again later: the new closure is the one on the row.
    step(Action::Resolve, worker(), "2026-12-03T09:00:00+08:00");
    let again = step(Action::VerifyPass, centre(), "2026-12-03T10:00:00+08:00");
    assert_eq!(again.closed_at.as_deref(), Some("2026-12-03T10:00:00+08:00"));
}

fn fact_ids(db: &TestDb, from: &str, to: &str) -> Vec<String> {
    facts_page_of(db, from, to, "", 100, false).unwrap().into_iter().map(|f| f.case_id).collect()
}

/// The month of a case is the month of its first report, merged duplicates included: a
/// case made from a report of 1 November 00:10 (+08:00; 31 October 16:10 UTC), joined by
/// one of 31 October 23:50, is in October's facts.
#[test]
fn facts_select_a_case_by_its_first_report_merged_duplicates_included() {
    let (db, calendar) = setup();
    let mut later = new_case("m1", "resident", "B05", None);
    later.reported_at = "2026-11-01T00:10:00+08:00".into();
    let mut earlier = new_case("m2", "resident", "B05", None);
    (earlier.lng, earlier.lat) = (later.lng, later.lat);
    earlier.reported_at = "2026-10-31T23:50:00+08:00".into();
    create_at(&db, &calendar, &later, "2026-11-01T00:11:00+08:00");
    let merged = create_at(&db, &calendar, &earlier, "2026-11-01T00:12:00+08:00");
    assert_eq!(merged.merged_into.as_deref(), Some("m1"));
    let october = fact_ids(&db, "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00");
    assert_eq!(october, ["m1", "m2"], "the case with the duplicate that first reported it");
    let november = fact_ids(&db, "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00");
    assert_eq!(november, ["m1", "m2"], "its own report is November's");
    let september = fact_ids(&db, "2026-09-01T00:00:00+08:00", "2026-10-01T00:00:00+08:00");
    assert!(september.is_empty(), "{september:?}");
}

/// A rework (返工) falls in the month of its reopening, however long ago the case was
/// first reported, resolved and closed.
#[test]
fn facts_select_a_case_by_a_reopening_in_the_period() {
    let (db, calendar) = setup();
    let id = "rw1";
    create_at(&db, &calendar, &new_case(id, "grid_staff", "A01", Some("S000002")), "2026-10-05T09:00:00+08:00");
    let worker = || Actor::Staff("S000002".into());
    let centre = || Actor::Centre("320613".into());
    let step = |action, actor, now| act_at(&db, &calendar, id, action, actor, None, now).unwrap();
    step(Action::Sign, worker(), "2026-10-05T10:00:00+08:00");
    step(Action::Resolve, worker(), "2026-10-09T15:00:00+08:00");
    step(Action::VerifyPass, centre(), "2026-10-28T10:00:00+08:00");
    step(Action::RateDissatisfied, Actor::Reporter, "2026-11-02T10:00:00+08:00");
    step(Action::Resolve, worker(), "2026-11-03T10:00:00+08:00");
    step(Action::VerifyPass, centre(), "2026-11-03T11:00:00+08:00");
    let november = facts_page_of(&db, "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00", "", 10, false).unwrap();
    assert_eq!(november.len(), 1);
    assert_eq!(november[0].reopened_at, ["2026-11-02T10:00:00+08:00"]);
    // Reported, due and closed before December, reopened in November: not December's.
    assert!(fact_ids(&db, "2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00").is_empty());
}
