//! The store on one connection: expansion, claims and leases, retries, quiet hours, dead letters.

use super::*;
use wangge_core::native::TestDb;

fn db() -> TestDb {
    TestDb::migrated(&crate::SCHEMA)
}

fn at(s: &str) -> DateTime<Utc> {
    wangge_core::time::parse(s).unwrap()
}

fn enqueue(db: &TestDb, id: &str, recipient_kind: &str, urgency: &str) {
    db.execute(
        "INSERT INTO outbox (id, idempotency_key, kind, case_id, recipient_kind, recipient_id, recipient_phone, \
         recipient_openid, urgency, payload, created_at) VALUES (?, ?, 'case_accepted', 'c1', ?, 'r1', '13800000001', 'oX', ?, '{}', ?)",
        &[id.into(), id.into(), recipient_kind.into(), urgency.into(), "2026-11-26T10:00:00+08:00".into()],
    )
    .unwrap();
}

fn plan(message: &Message, now: DateTime<Utc>) -> Plan {
    let contact = crate::route::Contact { phone: message.phone.clone(), wechat_openid: message.wechat_openid.clone() };
    Plan {
        message_id: message.id.clone(),
        case_id: message.case_id.clone(),
        urgent: message.urgent,
        deliveries: crate::route::channels(&message.recipient_kind, &message.recipient_id, message.urgent, &contact),
        not_before: not_before(&message.recipient_kind, message.urgent, now),
    }
}

#[test]
fn a_claimed_delivery_is_not_claimed_again_until_its_lease_lapses() {
    let db = db();
    enqueue(&db, "m1", "reporter", "urgent");
    let now = at("2026-11-26T10:00:00+08:00");
    let plans: Vec<Plan> = unresolved(&db, 10).unwrap().iter().map(|m| plan(m, now)).collect();
    assert_eq!(expand(&db, &plans, now).unwrap(), (2, 0), "urgent: WeChat and SMS");
    assert!(unresolved(&db, 10).unwrap().is_empty());
    let lease = Duration::seconds(60);
    let first = claim(&db, "a", now, 10, lease).unwrap();
    assert_eq!(first.len(), 2);
    assert!(claim(&db, "b", now, 10, lease).unwrap().is_empty(), "a concurrent dispatcher gets nothing");
    // Dispatcher `a` died: after its lease another takes over, and `a`'s late word is ignored.
    let later = now + Duration::seconds(61);
    let second = claim(&db, "b", later, 10, lease).unwrap();
    assert_eq!((second.len(), second[0].attempt), (2, 2));
    let mut jitter = || 0.0;
    let late = record(
        &db,
        "a",
        &[(&first[0], Outcome::Delivered { status: Some(200) })],
        later,
        &Retry::default(),
        &mut jitter,
    )
    .unwrap();
    assert_eq!(late, Tally::default());
    let tally = record(
        &db,
        "b",
        &[
            (&second[0], Outcome::Delivered { status: Some(200) }),
            (&second[1], Outcome::Retry { status: Some(503), detail: "busy".into() }),
        ],
        later,
        &Retry::default(),
        &mut jitter,
    )
    .unwrap();
    assert_eq!((tally.delivered, tally.retried), (1, 1));
    let (due, waiting) = backlog(&db, later).unwrap();
    assert_eq!((due, waiting), (0, 1));
    let trace = trace(&db, "", "c1").unwrap();
    assert_eq!(trace[0]["deliveries"].as_array().unwrap().len(), 2);
}

#[test]
fn retries_back_off_and_go_dead_after_the_last_try_then_can_be_requeued() {
    let db = db();
    enqueue(&db, "m1", "centre", "normal");
    let mut now = at("2026-11-26T10:00:00+08:00");
    let plans: Vec<Plan> = unresolved(&db, 10).unwrap().iter().map(|m| plan(m, now)).collect();
    expand(&db, &plans, now).unwrap();
    let mut jitter = || 0.5;
    for attempt in 1..=3 {
        let claimed = claim(&db, "d", now, 10, Duration::seconds(60)).unwrap();
        assert_eq!((claimed.len(), claimed[0].attempt), (1, attempt));
        let retry = Outcome::Retry { status: Some(500), detail: "down".into() };
        let tally = record(
            &db,
            "d",
            &[(&claimed[0], retry)],
            now,
            &Retry { max_attempts: 3, first_backoff_seconds: 10 },
            &mut jitter,
        )
        .unwrap();
        if attempt < 3 {
            assert_eq!(tally.retried, 1);
            // Not due before its backoff: 10 s doubling, with half of it jittered.
            assert!(claim(&db, "d", now, 10, Duration::seconds(60)).unwrap().is_empty());
            // Due once the backoff has passed, to the second it is stored to (rounded up).
            now = up_to_the_second(now + backoff(attempt, 0.5, 10));
        } else {
            assert_eq!(tally.dead, 1);
        }
    }
    let dead = dead(&db, "", "", 10).unwrap();
    assert_eq!(dead.len(), 1);
    let id = dead[0]["id"].as_str().unwrap().to_owned();
    assert!(!requeue(&db, "320612", &id, now).unwrap(), "not in the key's region");
    assert!(requeue(&db, "", &id, now).unwrap());
    assert!(!requeue(&db, "", &id, now).unwrap(), "only a dead one");
    assert_eq!(claim(&db, "d", now, 10, Duration::seconds(60)).unwrap()[0].attempt, 1);
}

#[test]
fn quiet_hours_hold_non_urgent_messages_to_people_and_unreachable_ones_die() {
    let db = db();
    enqueue(&db, "m1", "reporter", "normal");
    enqueue(&db, "m2", "reporter", "urgent");
    enqueue(&db, "m3", "centre", "normal");
    db.execute(
        "INSERT INTO outbox (id, idempotency_key, kind, recipient_kind, recipient_id, urgency, payload, created_at) \
                VALUES ('m4', 'm4', 'case_closed', 'reporter', 'c2', 'normal', '{}', '2026-11-26T10:00:00+08:00')",
        &[],
    )
    .unwrap();
    let night = at("2026-11-26T23:00:00+08:00");
    let plans: Vec<Plan> = unresolved(&db, 10).unwrap().iter().map(|m| plan(m, night)).collect();
    assert_eq!(expand(&db, &plans, night).unwrap(), (4, 1), "m4 has neither phone nor openid");
    let claimed = claim(&db, "d", night, 10, Duration::seconds(60)).unwrap();
    let now_due: Vec<String> = claimed.iter().map(|d| d.message_id.clone()).collect();
    assert!(now_due.contains(&"m2".to_owned()) && now_due.contains(&"m3".to_owned()));
    let sent: Vec<(&Delivery, Outcome)> =
        claimed.iter().map(|d| (d, Outcome::Delivered { status: Some(200) })).collect();
    record(&db, "d", &sent, night, &Retry::default(), &mut || 0.0).unwrap();
    assert!(!now_due.contains(&"m1".to_owned()), "a non-urgent message to a person waits for 07:00");
    let morning = claim(&db, "d", at("2026-11-27T07:00:00+08:00"), 10, Duration::seconds(60)).unwrap();
    assert_eq!(morning.iter().map(|d| d.message_id.as_str()).collect::<Vec<_>>(), vec!["m1"]);
    let dead_reason: Option<String> = db
        .execute("SELECT dead_reason FROM outbox WHERE id = 'm4'", &[])
        .unwrap()
        .scalar()
        .and_then(|v| v.as_str().map(str::to_owned));
    assert_eq!(dead_reason.as_deref(), Some("no_contact"));
}

#[test]
fn a_retry_of_a_message_to_a_person_keeps_quiet_hours() {
    let db = db();
    enqueue(&db, "m1", "reporter", "normal");
    let evening = at("2026-11-26T21:59:55+08:00");
    let plans: Vec<Plan> = unresolved(&db, 10).unwrap().iter().map(|m| plan(m, evening)).collect();
    expand(&db, &plans, evening).unwrap();
    let claimed = claim(&db, "d", evening, 10, Duration::seconds(60)).unwrap();
    assert!(!claimed.is_empty(), "before 22:00 it goes");
    let failed: Vec<(&Delivery, Outcome)> =
        claimed.iter().map(|d| (d, Outcome::Retry { status: Some(503), detail: "busy".into() })).collect();
    record(&db, "d", &failed, evening, &Retry::default(), &mut || 0.5).unwrap();
    // The backoff (10 s, 7.5 s with this jitter) would make it due at 22:00:02, inside
    // quiet hours: at 07:00 instead.
    assert!(claim(&db, "d", at("2026-11-27T06:59:59+08:00"), 10, Duration::seconds(60)).unwrap().is_empty());
    assert_eq!(
        claim(&db, "d", at("2026-11-27T07:00:00+08:00"), 10, Duration::seconds(60)).unwrap().len(),
        claimed.len()
    );
}

#[test]
fn a_stored_retry_time_is_never_before_its_backoff() {
    let t = at("2026-11-26T10:00:01+08:00") + Duration::milliseconds(600);
    assert_eq!(render(up_to_the_second(t)), "2026-11-26T10:00:02+08:00", "rounded up, not down");
    let whole = at("2026-11-26T10:00:01+08:00");
    assert_eq!(up_to_the_second(whole), whole, "a whole second stays");
}
