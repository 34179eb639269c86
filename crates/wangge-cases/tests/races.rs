//! Replicas racing on one PostgreSQL database (the cluster profile): each thread its
//! own connection ([`TestDb::connect_again`]), all let go at once. Transactions are
//! SERIALIZABLE and run again when they lose, so of two actions on one case exactly one
//! wins, the same report twice is one case, and two sweeps owe each notice once.
//!
//! On SQLite these tests do nothing: `BEGIN IMMEDIATE` takes the one write lock up
//! front, so writers never overlap (and a database in memory has one connection).

mod common;

use std::sync::Barrier;

use common::*;
use wangge_cases::calendar::Calendar;
use wangge_cases::lifecycle::{Action, State};
use wangge_cases::refusal::Clash;
use wangge_cases::store::*;
use wangge_core::Dialect;
use wangge_core::migrations::Sql;
use wangge_core::native::TestDb;

/// Whether this run is on PostgreSQL, the only engine where writers overlap.
fn concurrent_engine() -> bool {
    TestDb::engine() == Dialect::Postgres
}

/// `work` run at the same moment on `n` connections of `db`'s database.
fn at_once<T: Send>(db: &TestDb, n: usize, work: impl Fn(usize, &TestDb) -> T + Sync) -> Vec<T> {
    let connections: Vec<TestDb> = (0..n).map(|_| db.connect_again()).collect();
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = connections
            .into_iter()
            .enumerate()
            .map(|(i, connection)| {
                let (barrier, work) = (&barrier, &work);
                scope.spawn(move || {
                    barrier.wait();
                    work(i, &connection)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a racing thread")).collect()
    })
}

fn count(db: &TestDb, sql: &str, id: &str) -> i64 {
    db.execute(sql, &[id.into()]).unwrap().scalar().and_then(|v| v.as_i64()).unwrap()
}

#[test]
fn of_two_replicas_acting_on_one_case_at_once_exactly_one_wins() {
    if !concurrent_engine() {
        return;
    }
    let (db, calendar) = setup();
    for round in 0..5 {
        let id = format!("x{round}");
        let case = create_at(
            &db,
            &calendar,
            &new_case(&id, "grid_staff", "A01", Some("S000002")),
            "2026-11-27T10:00:00+08:00",
        );
        assert_eq!(case.state, State::Assigned);
        let ctx = Context { calendar: &calendar, now: at("2026-11-27T11:00:00+08:00") };
        // The worker signs while the grid head returns it, both at the version they read.
        let requests =
            [(Action::Sign, Actor::Staff("S000002".into())), (Action::Return, Actor::Staff("S000001".into()))];
        let outcomes = at_once(&db, 2, |i, connection| {
            let (action, actor) = requests[i].clone();
            let request = ActionRequest {
                action,
                actor,
                note: None,
                attachments: vec![],
                target: None,
                category: None,
                expected_version: Some(case.version),
            };
            act(connection, &id, &request, &ctx)
        });
        let won: Vec<&Case> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {outcomes:?}");
        let winner = won[0];
        assert!(matches!(winner.state, State::InProgress | State::Returned), "{winner:?}");
        assert_eq!(winner.version, case.version + 1);
        // The loser ran again, found the case moved on, and learns where it stands.
        match outcomes.iter().find_map(|o| o.as_ref().err()) {
            Some(CaseError::Conflict { state, version, clash: Clash::Version { expected } }) => {
                assert_eq!((*state, *version, *expected), (winner.state, winner.version, case.version));
            }
            other => panic!("round {round}: {other:?}"),
        }
        let stored = get(&db, &id).unwrap().unwrap();
        assert_eq!((stored.state, stored.version), (winner.state, winner.version));
        let (log, verification) = history(&db, &id).unwrap();
        assert_eq!(log.len(), 4, "report, accept, assign and the one action that won");
        assert!(verification.valid);
    }
}

#[test]
fn the_same_report_made_by_two_replicas_at_once_is_one_case() {
    if !concurrent_engine() {
        return;
    }
    let (db, calendar) = setup();
    for round in 0..5 {
        let id = format!("d{round}");
        let new = new_case(&id, "grid_staff", "A01", Some("S000002"));
        let made = at_once(&db, 2, |_, connection| {
            let category = wangge_cases::reference::category(connection, "A01").unwrap().unwrap();
            let ctx = Context { calendar: &calendar, now: at("2026-11-27T16:00:00+08:00") };
            create(connection, &new, &category, &ctx).map(|case| (case.id, case.state))
        });
        for outcome in &made {
            assert_eq!(outcome.as_ref().ok(), Some(&(id.clone(), State::Assigned)), "round {round}: {made:?}");
        }
        assert_eq!(count(&db, "SELECT count(*) FROM cases WHERE id = ?", &id), 1);
        assert_eq!(count(&db, "SELECT count(*) FROM case_log WHERE case_id = ?", &id), 3, "report, accept, assign");
        assert_eq!(count(&db, "SELECT count(*) FROM case_notices WHERE case_id = ?", &id), 2, "accepted, assigned");
    }
}

#[test]
fn two_sweeps_at_once_remind_once_and_escalate_once() {
    if !concurrent_engine() {
        return;
    }
    let (db, calendar) = setup();
    create_at(&db, &calendar, &new_case("s1", "grid_staff", "A01", Some("S000002")), "2026-11-27T16:00:00+08:00");
    let sweeps = |calendar: &Calendar, now: &str| {
        at_once(&db, 2, |_, connection| sweep(connection, &Context { calendar, now: at(now) }, "", 500).unwrap())
    };
    let yellow = sweeps(&calendar, "2026-11-30T16:30:00+08:00");
    assert_eq!(yellow.iter().map(|r| r.reminders).sum::<usize>(), 1, "{yellow:?}");
    act_at(&db, &calendar, "s1", Action::Sign, Actor::Staff("S000002".into()), None, "2026-12-01T09:30:00+08:00")
        .unwrap();
    let late = sweeps(&calendar, "2026-12-14T09:00:00+08:00");
    assert_eq!(late.iter().map(|r| r.escalated).sum::<usize>(), 1, "{late:?}");
    assert_eq!(late.iter().map(|r| r.supervision_notices).sum::<usize>(), 2, "{late:?}");
    assert_eq!(get(&db, "s1").unwrap().unwrap().state, State::Escalated);
    let (log, verification) = history(&db, "s1").unwrap();
    assert_eq!(log.iter().filter(|(e, _)| e.action == "escalate").count(), 1);
    assert!(verification.valid);
}
