//! Several replicas of intake, each with its own connection to one PostgreSQL
//! database, admitting and retrying at the same moment. Each test returns at once on
//! SQLite: its writers take the database in turn (`BEGIN IMMEDIATE`), and a database in
//! memory has one connection.

use std::sync::{Arc, Barrier};

use wangge_core::dialect::Dialect;
use wangge_core::native::TestDb;

use super::tests::{event, now, offer};
use super::*;

/// Replicas started together.
const REPLICAS: usize = 4;

/// Runs `work(replica, connection)` on [`REPLICAS`] threads, each with its own
/// connection to `db`'s database, released together; returns their answers in order.
fn at_once<T: Send + 'static>(db: &TestDb, work: impl Fn(usize, &TestDb) -> T + Send + Sync + 'static) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(REPLICAS));
    let threads: Vec<_> = (0..REPLICAS)
        .map(|replica| {
            let (db, work, start) = (db.connect_again(), work.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(replica, &db)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("a replica panicked")).collect()
}

fn on_postgres() -> Option<TestDb> {
    (TestDb::engine() == Dialect::Postgres).then(|| TestDb::migrated(&crate::SCHEMA))
}

#[test]
fn the_same_idempotency_key_from_several_replicas_is_one_event() {
    let Some(db) = on_postgres() else { return };
    for round in 0..5 {
        let key = format!("k1:same-{round}");
        let answers = at_once(&db, move |replica, db| {
            let (e, r) = (event(&format!("e{round}-{replica}")), Reporter::default());
            admit(db, &Guard::default(), &[offer(&e, &r, Some(&key), "h")], now())
        });
        let mut new = 0;
        for answer in answers {
            match answer.expect("no storage error").expect("not refused").remove(0) {
                Admitted::New => new += 1,
                Admitted::Again(stored) => assert_eq!(stored.request_hash, "h"),
                Admitted::Conflict(stored) => panic!("same body, yet a conflict with {}", stored.event.id),
            }
        }
        assert_eq!(new, 1, "round {round}: one replica stores it, the others answer from its record");
        let stored = db
            .execute("SELECT count(*) FROM events WHERE idempotency_key = ?", &[format!("k1:same-{round}").into()])
            .unwrap();
        assert_eq!(stored.scalar().and_then(SqlValue::as_i64), Some(1));
    }
}

#[test]
fn the_rate_limit_counts_every_replicas_writes() {
    let Some(db) = on_postgres() else { return };
    let answers = at_once(&db, |replica, db| {
        let (e, r) = (event(&format!("e{replica}")), Reporter::default());
        let guard = Guard { signature: None, rate: Some(("k1".into(), 2)) };
        admit(db, &guard, &[offer(&e, &r, None, "h")], now()).expect("no storage error")
    });
    let admitted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(admitted, 2, "a limit of 2 a minute, whichever replicas the requests reach: {answers:?}");
    assert_eq!(pending(&db).unwrap().0, 2);
}

#[test]
fn replicas_retrying_at_once_never_claim_the_same_event() {
    let Some(db) = on_postgres() else { return };
    let r = Reporter::default();
    let events: Vec<Event> = (0..20).map(|i| event(&format!("e{i:02}"))).collect();
    let offers: Vec<Admission<'_>> = events.iter().map(|e| offer(e, &r, None, "h")).collect();
    admit(&db, &Guard::default(), &offers, now()).unwrap().unwrap();
    let due = now() + Duration::seconds(LEASE_SECONDS);
    let claimed = at_once(&db, move |_, db| {
        let mine = claim_due(db, due, 3).expect("no storage error");
        mine.into_iter().map(|(stored, _)| stored.event.id).collect::<Vec<_>>()
    });
    let mut all: Vec<&String> = claimed.iter().flatten().collect();
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "an event claimed twice: {claimed:?}");
    assert_eq!(count, 3 * REPLICAS, "each replica claims its own three");
}

#[test]
fn signed_requests_reaching_replicas_at_once_are_each_admitted_once() {
    let Some(db) = on_postgres() else { return };
    // Two seconds apart, each signature expiring before the next round: every round
    // has expired signatures to forget.
    for round in 0..10 {
        let at = now() + Duration::seconds(2 * round);
        let answers = at_once(&db, move |replica, db| {
            let (e, r) = (event(&format!("e{round}-{replica}")), Reporter::default());
            let guard = Guard {
                signature: Some((format!("sig-{round}-{replica}"), at.timestamp() + 1)),
                rate: Some((format!("k{replica}"), 100)),
            };
            admit(db, &guard, &[offer(&e, &r, None, "h")], at)
        });
        for answer in answers {
            assert_eq!(answer.expect("no storage error").expect("not refused"), [Admitted::New]);
        }
    }
    assert_eq!(pending(&db).unwrap().0, 10 * REPLICAS as i64);
}
