//! Dispatchers on several replicas, each with its own connection to one PostgreSQL
//! database, claiming due deliveries at the same moment. Each test returns at once on
//! SQLite: its writers take the database in turn, and a database in memory has one
//! connection.

use std::sync::{Arc, Barrier};

use wangge_core::native::TestDb;

use super::*;

/// Dispatchers started together.
const DISPATCHERS: usize = 4;

/// Each dispatcher, on its own connection and thread, released together, claims up to
/// `limit` deliveries due at `now`; returns the ids each one claimed.
fn claim_at_once(db: &TestDb, now: DateTime<Utc>, limit: usize) -> Vec<Vec<String>> {
    let start = Arc::new(Barrier::new(DISPATCHERS));
    let threads: Vec<_> = (0..DISPATCHERS)
        .map(|n| {
            let (db, start) = (db.connect_again(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let claimed = claim(&db, &format!("dispatcher-{n}"), now, limit, Duration::seconds(60));
                claimed.expect("a claim never fails for another's").into_iter().map(|d| d.id).collect()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("a dispatcher panicked")).collect()
}

/// Every id once, or the ones claimed twice.
fn claimed_once(claims: &[Vec<String>]) -> Result<usize, Vec<&String>> {
    let mut all: Vec<&String> = claims.iter().flatten().collect();
    all.sort();
    let twice: Vec<&String> = all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    if twice.is_empty() { Ok(all.len()) } else { Err(twice) }
}

#[test]
fn dispatchers_on_two_replicas_never_claim_the_same_delivery() {
    if TestDb::engine() == Dialect::Sqlite {
        return;
    }
    let db = TestDb::migrated(&crate::SCHEMA);
    let now = wangge_core::time::parse("2026-11-26T10:00:00+08:00").unwrap();
    for i in 0..20 {
        db.execute(
            "INSERT INTO outbox (id, idempotency_key, kind, case_id, recipient_kind, recipient_id, urgency, payload, \
             created_at) VALUES (?, ?, 'case_accepted', 'c1', 'department', '320613', 'urgent', '{}', ?)",
            &[format!("m{i:02}").into(), format!("m{i:02}").into(), render(now).into()],
        )
        .unwrap();
    }
    let plans: Vec<Plan> = (0..20)
        .map(|i| Plan {
            message_id: format!("m{i:02}"),
            case_id: Some("c1".into()),
            urgent: true,
            deliveries: vec![(Channel::Webhook, "320613".into())],
            not_before: now,
        })
        .collect();
    assert_eq!(expand(&db, &plans, now).unwrap(), (20, 0));
    for _ in 0..3 {
        let claims = claim_at_once(&db, now, 3);
        let taken = claimed_once(&claims);
        assert!(matches!(taken, Ok(n) if n <= 3 * DISPATCHERS), "none taken twice: {claims:?}");
        // Handed back, due again at once: the next round races for all of them again.
        db.execute("UPDATE deliveries SET state = 'pending', claim = NULL, lease_until = NULL", &[]).unwrap();
    }
    // Leases that lapse together are taken over by one dispatcher each, beside the pending ones.
    claim(&db, "died", now, 12, Duration::seconds(60)).unwrap();
    let later = now + Duration::seconds(61);
    let mut claims = claim_at_once(&db, later, 5);
    // A dispatcher that skipped a row another held may take fewer than it asked for; one
    // more pass takes what is left. Never is one taken twice.
    let rest = claim(&db, "afterwards", later, 20, Duration::seconds(60)).unwrap();
    claims.push(rest.into_iter().map(|d| d.id).collect());
    assert_eq!(claimed_once(&claims), Ok(20), "the 12 lapsed and the 8 pending, each once: {claims:?}");
}
