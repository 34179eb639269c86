//! intake's records: the durable queue of events, idempotency, signatures seen, and
//! writes per key per minute. An event is stored, in the same transaction as its
//! idempotency, replay and rate checks, before anything is asked of another function.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};
use wangge_core::time::render;

use crate::event::{Event, Reporter};

/// How long a claimed event is left to its claimer before another may retry it.
pub const LEASE_SECONDS: i64 = 30;
/// Retries back off from this, doubling, up to [`MAX_BACKOFF_SECONDS`].
pub const FIRST_BACKOFF_SECONDS: i64 = 5;
pub const MAX_BACKOFF_SECONDS: i64 = 600;

/// One event offered for admission.
pub struct Admission<'a> {
    pub event: &'a Event,
    pub reporter: &'a Reporter,
    pub key_id: &'a str,
    pub key_region_prefix: &'a str,
    /// `Idempotency-Key`, scoped to the key that sent it.
    pub idempotency_key: Option<String>,
    /// `<source>:<external id>` (a hotline's order number).
    pub external_key: Option<String>,
    pub request_hash: &'a str,
}

/// What the request as a whole must pass, in the same transaction.
#[derive(Default)]
pub struct Guard {
    /// A signature to accept once, with the unix time after which it can no longer verify.
    pub signature: Option<(String, i64)>,
    /// `(key id, limit per minute)`.
    pub rate: Option<(String, u32)>,
}

/// Why a whole request is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    SignatureReplayed,
    RateLimited { retry_after_seconds: u32 },
}

/// The fate of one admission.
#[derive(Debug, Clone, PartialEq)]
pub enum Admitted {
    /// Stored as pending: the caller now makes it a case.
    New,
    /// The same request again: its first answer (or that it is still pending).
    Again(Box<Stored>),
    /// The same key with a different body.
    Conflict(Box<Stored>),
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub event: Event,
    pub status: String,
    pub key_region_prefix: String,
    pub request_hash: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub case_id: Option<String>,
    pub merged_into: Option<String>,
    pub community: Option<String>,
    pub answer: Option<Value>,
    pub received_at: String,
    pub updated_at: String,
}

/// How processing an event ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It is a case (or was merged into one): `answer` is what every retry gets.
    Accepted { case_id: String, merged_into: Option<String>, community: String, answer: Value },
    /// Final: the event is unacceptable (outside the jurisdiction, unknown category).
    /// It is removed: bad input changes nothing.
    Rejected,
    /// Final, found on a retry after the client was told 202: kept as `rejected` with
    /// its problem, so the client can read why.
    Refused { problem: Value },
    /// Not now: grid-lookup or case-routing is down. Kept, and retried later.
    Retry { error: String },
}

enum AdmitError {
    Storage(StorageError),
    Refused(Refused),
}

impl From<StorageError> for AdmitError {
    fn from(e: StorageError) -> Self {
        AdmitError::Storage(e)
    }
}

/// Admits `items` in one transaction, after the request's guard: each new event is
/// stored as pending, each repeat answered from the record.
pub fn admit(
    db: &impl Sql,
    guard: &Guard,
    items: &[Admission<'_>],
    now: DateTime<Utc>,
) -> Result<Result<Vec<Admitted>, Refused>, StorageError> {
    let outcome = db.transaction(|db| {
        if let Some((signature, expires_at)) = &guard.signature {
            let fresh = db.execute(
                "INSERT INTO seen_signatures (signature, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                &[signature.as_str().into(), (*expires_at).into()],
            )?;
            if fresh.rows.is_empty() {
                return Err(AdmitError::Refused(Refused::SignatureReplayed));
            }
            // Signatures that can no longer verify are forgotten a minute at a time: every
            // request of a minute deletes the same (already deleted) range, so that
            // concurrent requests on PostgreSQL do not keep racing to delete the rows
            // expiring second by second. A row kept up to a minute past its expiry
            // changes nothing: its signature is refused as expired before it gets here.
            let minute_start = now.timestamp().div_euclid(60) * 60;
            db.execute("DELETE FROM seen_signatures WHERE expires_at < ?", &[minute_start.into()])?;
        }
        if let Some((key_id, limit)) = &guard.rate {
            let minute = now.timestamp().div_euclid(60);
            let count = db
                .execute(
                    // Counted in one statement: the row is locked from the increment to
                    // the commit, so concurrent requests count one after another. The
                    // table's name qualifies `count`, which PostgreSQL would otherwise also
                    // find in `excluded`.
                    "INSERT INTO rate_windows (key_id, minute, count) VALUES (?, ?, 1) \
                     ON CONFLICT (key_id, minute) DO UPDATE SET count = rate_windows.count + 1 RETURNING count",
                    &[key_id.as_str().into(), minute.into()],
                )?
                .scalar()
                .and_then(SqlValue::as_i64)
                .unwrap_or(1);
            if count > i64::from(*limit) {
                let retry_after_seconds = (60 - now.timestamp().rem_euclid(60)) as u32;
                return Err(AdmitError::Refused(Refused::RateLimited { retry_after_seconds }));
            }
            if count == 1 {
                db.execute("DELETE FROM rate_windows WHERE minute < ?", &[(minute - 1).into()])?;
            }
        }
        let mut admitted = Vec::with_capacity(items.len());
        for item in items {
            admitted.push(admit_one(db, item, now)?);
        }
        Ok(admitted)
    });
    match outcome {
        Ok(admitted) => Ok(Ok(admitted)),
        Err(AdmitError::Refused(refused)) => Ok(Err(refused)),
        Err(AdmitError::Storage(e)) => Err(e),
    }
}

fn admit_one(db: &impl Sql, item: &Admission<'_>, now: DateTime<Utc>) -> Result<Admitted, StorageError> {
    if item.idempotency_key.is_some() || item.external_key.is_some() {
        let found = select(
            db,
            "WHERE e.idempotency_key = ?1 UNION ALL SELECT * FROM stored e WHERE e.external_key = ?2 LIMIT 1",
            &[item.idempotency_key.clone().into(), item.external_key.clone().into()],
        )?;
        if let Some(stored) = found.into_iter().next() {
            return Ok(if stored.request_hash == item.request_hash {
                Admitted::Again(Box::new(stored))
            } else {
                Admitted::Conflict(Box::new(stored))
            });
        }
    }
    let event = item.event;
    let at = render(now);
    db.execute(
        "INSERT INTO events (id, channel, source, key_id, key_region_prefix, idempotency_key, external_key, request_hash, \
         category, status, body, received_at, next_attempt_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
        &[
            event.id.as_str().into(),
            event.channel.as_str().into(),
            event.source.as_str().into(),
            item.key_id.into(),
            item.key_region_prefix.into(),
            item.idempotency_key.clone().into(),
            item.external_key.clone().into(),
            item.request_hash.into(),
            event.category.as_str().into(),
            serde_json::to_string(event).unwrap_or_default().into(),
            event.reported_at.as_str().into(),
            // Its own request is making it a case: nobody else retries it for a while.
            render(now + Duration::seconds(LEASE_SECONDS)).into(),
            at.into(),
        ],
    )?;
    let r = item.reporter;
    if r.name.is_some() || r.phone.is_some() || r.wechat_openid.is_some() {
        db.execute(
            "INSERT INTO event_reporters (event_id, name, phone, wechat_openid) VALUES (?, ?, ?, ?)",
            &[event.id.as_str().into(), r.name.clone().into(), r.phone.clone().into(), r.wechat_openid.clone().into()],
        )?;
    }
    Ok(Admitted::New)
}

/// Records how processing ended, for many events in one transaction.
pub fn finish(db: &impl Sql, outcomes: &[(String, Outcome)], now: DateTime<Utc>) -> Result<(), StorageError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let at = render(now);
    db.transaction(|db| {
        for (id, outcome) in outcomes {
            match outcome {
                Outcome::Accepted { case_id, merged_into, community, answer } => {
                    let status = if merged_into.is_some() { "merged" } else { "accepted" };
                    db.execute(
                        "UPDATE events SET status = ?, case_id = ?, merged_into = ?, community = ?, answer = ?, \
                         next_attempt_at = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND status = 'pending'",
                        &[
                            status.into(),
                            case_id.as_str().into(),
                            merged_into.clone().into(),
                            community.as_str().into(),
                            answer.to_string().into(),
                            at.as_str().into(),
                            id.as_str().into(),
                        ],
                    )?;
                }
                Outcome::Rejected => {
                    db.execute("DELETE FROM event_reporters WHERE event_id = ?", &[id.as_str().into()])?;
                    db.execute("DELETE FROM events WHERE id = ? AND status = 'pending'", &[id.as_str().into()])?;
                }
                Outcome::Refused { problem } => {
                    db.execute(
                        "UPDATE events SET status = 'rejected', answer = ?, next_attempt_at = NULL, updated_at = ? \
                         WHERE id = ? AND status = 'pending'",
                        &[problem.to_string().into(), at.as_str().into(), id.as_str().into()],
                    )?;
                }
                Outcome::Retry { error } => {
                    let attempts = db
                        .execute(
                            "UPDATE events SET attempts = attempts + 1, last_error = ?, updated_at = ? \
                             WHERE id = ? AND status = 'pending' RETURNING attempts",
                            &[error.as_str().into(), at.as_str().into(), id.as_str().into()],
                        )?
                        .scalar()
                        .and_then(SqlValue::as_i64)
                        .unwrap_or(1);
                    db.execute(
                        "UPDATE events SET next_attempt_at = ? WHERE id = ?",
                        &[render(now + backoff(attempts)).into(), id.as_str().into()],
                    )?;
                }
            }
        }
        Ok(())
    })
}

/// The wait before retry `attempts + 1`: 5 s, 10 s, 20 s … up to 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = (attempts - 1).clamp(0, 16) as u32;
    Duration::seconds((FIRST_BACKOFF_SECONDS << exponent).min(MAX_BACKOFF_SECONDS))
}

/// Whether any pending event is due: one indexed read, cheap enough for every request.
pub fn any_due(db: &impl Sql, now: DateTime<Utc>) -> Result<bool, StorageError> {
    Ok(!db
        .execute(
            "SELECT 1 FROM events WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1",
            &[render(now).into()],
        )?
        .rows
        .is_empty())
}

/// Claims up to `limit` due pending events for one retrier: each is leased, so a
/// concurrent retrier takes others. Returns them with their reporters.
pub fn claim_due(db: &impl Sql, now: DateTime<Utc>, limit: usize) -> Result<Vec<(Stored, Reporter)>, StorageError> {
    db.transaction(|db| {
        let claimed = select(
            db,
            "WHERE e.status = 'pending' AND e.next_attempt_at <= ?1 ORDER BY e.next_attempt_at, e.id LIMIT ?2",
            &[render(now).into(), (limit as i64).into()],
        )?;
        let lease = render(now + Duration::seconds(LEASE_SECONDS));
        let mut out = Vec::with_capacity(claimed.len());
        for stored in claimed {
            db.execute(
                "UPDATE events SET next_attempt_at = ? WHERE id = ?",
                &[lease.as_str().into(), stored.event.id.as_str().into()],
            )?;
            let reporter = reporter(db, &stored.event.id)?;
            out.push((stored, reporter));
        }
        Ok(out)
    })
}

/// How many events wait, and the oldest one's received time.
pub fn pending(db: &impl Sql) -> Result<(i64, Option<String>), StorageError> {
    let rows = db.execute("SELECT count(*), min(received_at) FROM events WHERE status = 'pending'", &[])?;
    let row = rows.rows.first();
    Ok((row.and_then(|r| r[0].as_i64()).unwrap_or(0), row.and_then(|r| r[1].as_str().map(str::to_owned))))
}

pub fn get(db: &impl Sql, id: &str) -> Result<Option<Stored>, StorageError> {
    Ok(select(db, "WHERE e.id = ?1", &[id.into()])?.into_iter().next())
}

/// A reporter's personal data (callers decide whether to mask it).
pub fn reporter(db: &impl Sql, event_id: &str) -> Result<Reporter, StorageError> {
    let rows =
        db.execute("SELECT name, phone, wechat_openid FROM event_reporters WHERE event_id = ?", &[event_id.into()])?;
    let text = |v: &SqlValue| v.as_str().map(str::to_owned);
    Ok(rows
        .rows
        .first()
        .map(|r| Reporter { name: text(&r[0]), phone: text(&r[1]), wechat_openid: text(&r[2]) })
        .unwrap_or_default())
}

/// Events received in `[from, to)`, newest first, at most `limit`; optionally only
/// some ids or categories. For Open311's `GET requests.json`.
pub fn received_between(
    db: &impl Sql,
    from: &str,
    to: &str,
    categories: &[String],
    limit: usize,
) -> Result<Vec<Stored>, StorageError> {
    let categories = serde_json::to_string(categories).unwrap_or_else(|_| "[]".into());
    select(
        db,
        "WHERE e.received_at >= ?1 AND e.received_at < ?2 \
         AND (json_array_length(?3) = 0 OR e.category IN (SELECT value FROM json_each(?3))) \
         ORDER BY e.received_at DESC, e.id DESC LIMIT ?4",
        &[from.into(), to.into(), categories.into(), (limit as i64).into()],
    )
}

/// Events by id, in the order given (unknown ids are left out).
pub fn by_ids(db: &impl Sql, ids: &[String]) -> Result<Vec<Stored>, StorageError> {
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let found = select(db, "WHERE e.id IN (SELECT value FROM json_each(?1))", &[list.into()])?;
    Ok(ids.iter().filter_map(|id| found.iter().find(|s| &s.event.id == id).cloned()).collect())
}

/// `NOT MATERIALIZED`: a query that names `stored` twice (the duplicate lookup) would
/// otherwise copy the whole table first instead of searching its indexes.
const STORED: &str = "WITH stored AS NOT MATERIALIZED (SELECT id, body, status, key_region_prefix, request_hash, attempts, next_attempt_at, \
    last_error, case_id, merged_into, community, answer, received_at, updated_at, idempotency_key, external_key, category \
    FROM events) SELECT * FROM stored e ";

fn select(db: &impl Sql, tail: &str, params: &[SqlValue]) -> Result<Vec<Stored>, StorageError> {
    let rows: Rows = db.execute(&format!("{STORED}{tail}"), params)?;
    let text = |v: &SqlValue| v.as_str().map(str::to_owned);
    Ok(rows
        .rows
        .iter()
        .filter_map(|r| {
            Some(Stored {
                event: serde_json::from_str(r[1].as_str()?).ok()?,
                status: text(&r[2])?,
                key_region_prefix: text(&r[3]).unwrap_or_default(),
                request_hash: text(&r[4]).unwrap_or_default(),
                attempts: r[5].as_i64().unwrap_or(0),
                next_attempt_at: text(&r[6]),
                last_error: text(&r[7]),
                case_id: text(&r[8]),
                merged_into: text(&r[9]),
                community: text(&r[10]),
                answer: r[11].as_str().and_then(|a| serde_json::from_str(a).ok()),
                received_at: text(&r[12]).unwrap_or_default(),
                updated_at: text(&r[13]).unwrap_or_default(),
            })
        })
        .collect())
}

/// Replicas on PostgreSQL writing at the same moment.
#[cfg(test)]
mod replicas;

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::native::TestDb;

    fn db() -> TestDb {
        TestDb::migrated(&crate::SCHEMA)
    }

    pub(super) fn event(id: &str) -> Event {
        Event::example(id, "南通市崇川区", "2026-11-26T09:00:00+08:00")
    }

    pub(super) fn now() -> DateTime<Utc> {
        wangge_core::time::parse("2026-11-26T09:00:00+08:00").unwrap()
    }

    pub(super) fn offer<'a>(e: &'a Event, r: &'a Reporter, key: Option<&str>, hash: &'a str) -> Admission<'a> {
        Admission {
            event: e,
            reporter: r,
            key_id: "k1",
            key_region_prefix: "3206",
            idempotency_key: key.map(str::to_owned),
            external_key: None,
            request_hash: hash,
        }
    }

    #[test]
    fn a_repeat_gets_the_record_and_a_different_body_conflicts() {
        let db = db();
        let (a, b, c) = (event("e1"), event("e2"), event("e3"));
        let r = Reporter { phone: Some("13800000001".into()), ..Default::default() };
        let guard = Guard::default();
        assert_eq!(admit(&db, &guard, &[offer(&a, &r, Some("k1:x"), "h1")], now()).unwrap(), Ok(vec![Admitted::New]));
        let again = admit(&db, &guard, &[offer(&b, &r, Some("k1:x"), "h1")], now()).unwrap().unwrap();
        assert!(matches!(&again[0], Admitted::Again(s) if s.event.id == "e1" && s.status == "pending"));
        let other = admit(&db, &guard, &[offer(&c, &r, Some("k1:x"), "h2")], now()).unwrap().unwrap();
        assert!(matches!(&other[0], Admitted::Conflict(s) if s.event.id == "e1"));
        assert_eq!(reporter(&db, "e1").unwrap().phone.as_deref(), Some("13800000001"));
        assert!(get(&db, "e2").unwrap().is_none());
    }

    #[test]
    fn a_signature_is_accepted_once_and_nothing_is_stored_on_replay() {
        let db = db();
        let (a, b) = (event("e1"), event("e2"));
        let r = Reporter::default();
        let guard = Guard { signature: Some(("sig".into(), now().timestamp() + 300)), rate: None };
        assert!(admit(&db, &guard, &[offer(&a, &r, None, "h1")], now()).unwrap().is_ok());
        assert_eq!(admit(&db, &guard, &[offer(&b, &r, None, "h2")], now()).unwrap(), Err(Refused::SignatureReplayed));
        assert!(get(&db, "e2").unwrap().is_none());
    }

    #[test]
    fn signatures_that_can_no_longer_verify_are_forgotten_by_the_next_minute() {
        let db = db();
        let r = Reporter::default();
        let (a, b, c) = (event("e1"), event("e2"), event("e3"));
        let seen = |db: &TestDb| db.execute("SELECT signature FROM seen_signatures ORDER BY signature", &[]).unwrap();
        let signed = |sig: &str, expires_at: i64| Guard { signature: Some((sig.into(), expires_at)), rate: None };
        let t0 = now();
        assert!(admit(&db, &signed("s1", t0.timestamp() + 1), &[offer(&a, &r, None, "h")], t0).unwrap().is_ok());
        let later = t0 + Duration::seconds(2);
        assert!(
            admit(&db, &signed("s2", later.timestamp() + 300), &[offer(&b, &r, None, "h")], later).unwrap().is_ok()
        );
        assert_eq!(seen(&db).rows.len(), 2, "kept until the minute is over");
        let next_minute = t0 + Duration::seconds(61);
        let guard = signed("s3", next_minute.timestamp() + 300);
        assert!(admit(&db, &guard, &[offer(&c, &r, None, "h")], next_minute).unwrap().is_ok());
        let left: Vec<_> = seen(&db).rows.iter().filter_map(|r| r[0].as_str().map(str::to_owned)).collect();
        assert_eq!(left, ["s2", "s3"]);
    }

    #[test]
    fn the_rate_limit_counts_per_key_per_minute() {
        let db = db();
        let r = Reporter::default();
        let guard = Guard { signature: None, rate: Some(("k1".into(), 2)) };
        let events: Vec<Event> = (0..4).map(|i| event(&format!("e{i}"))).collect();
        assert!(admit(&db, &guard, &[offer(&events[0], &r, None, "h")], now()).unwrap().is_ok());
        assert!(admit(&db, &guard, &[offer(&events[1], &r, None, "h")], now()).unwrap().is_ok());
        let refused = admit(&db, &guard, &[offer(&events[2], &r, None, "h")], now()).unwrap();
        assert!(
            matches!(refused, Err(Refused::RateLimited { retry_after_seconds }) if (1..=60).contains(&retry_after_seconds))
        );
        assert!(get(&db, "e2").unwrap().is_none());
        let next_minute = now() + Duration::seconds(60);
        assert!(admit(&db, &guard, &[offer(&events[3], &r, None, "h")], next_minute).unwrap().is_ok());
    }

    #[test]
    fn pending_events_are_leased_retried_with_backoff_and_finished_once() {
        let db = db();
        let r = Reporter::default();
        let a = event("e1");
        admit(&db, &Guard::default(), &[offer(&a, &r, None, "h")], now()).unwrap().unwrap();
        // Leased to its own request for a while.
        assert!(!any_due(&db, now()).unwrap());
        finish(&db, &[("e1".into(), Outcome::Retry { error: "case-routing down".into() })], now()).unwrap();
        assert!(!any_due(&db, now()).unwrap());
        let later = now() + Duration::seconds(5);
        assert!(any_due(&db, later).unwrap());
        let claimed = claim_due(&db, later, 10).unwrap();
        assert_eq!(claimed.len(), 1);
        // A concurrent retrier gets nothing: the event is leased.
        assert!(claim_due(&db, later, 10).unwrap().is_empty());
        finish(&db, &[("e1".into(), Outcome::Retry { error: "still down".into() })], later).unwrap();
        let stored = get(&db, "e1").unwrap().unwrap();
        assert_eq!(stored.attempts, 2);
        assert_eq!(stored.next_attempt_at, Some(render(later + Duration::seconds(10))));
        let answer = serde_json::json!({ "case_id": "e1" });
        let accepted = Outcome::Accepted {
            case_id: "e1".into(),
            merged_into: None,
            community: "320602001001".into(),
            answer: answer.clone(),
        };
        finish(&db, &[("e1".into(), accepted)], later).unwrap();
        let stored = get(&db, "e1").unwrap().unwrap();
        assert_eq!((stored.status.as_str(), stored.answer), ("accepted", Some(answer)));
        assert_eq!(pending(&db).unwrap().0, 0);
        // A late retry's outcome changes nothing once it is a case.
        finish(&db, &[("e1".into(), Outcome::Rejected)], later).unwrap();
        assert!(get(&db, "e1").unwrap().is_some());
    }

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        let secs: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
    }

    #[test]
    fn reads_by_time_category_and_id_keep_their_order() {
        let db = db();
        let r = Reporter::default();
        let mut events: Vec<Event> = (1..=3).map(|i| event(&format!("e{i}"))).collect();
        events[0].reported_at = "2026-11-26T08:00:00+08:00".into();
        events[1].reported_at = "2026-11-26T09:00:00+08:00".into();
        events[2].reported_at = "2026-11-26T10:00:00+08:00".into();
        events[2].category = "A01".into();
        let offers: Vec<Admission<'_>> = events.iter().map(|e| offer(e, &r, None, "h")).collect();
        admit(&db, &Guard::default(), &offers, now()).unwrap().unwrap();
        let ids = |found: Vec<Stored>| found.into_iter().map(|s| s.event.id).collect::<Vec<_>>();
        let (from, to) = ("2026-11-26T08:00:00+08:00", "2026-11-26T10:00:01+08:00");
        assert_eq!(ids(received_between(&db, from, to, &[], 10).unwrap()), ["e3", "e2", "e1"], "newest first");
        assert_eq!(ids(received_between(&db, from, to, &["B05".into()], 10).unwrap()), ["e2", "e1"]);
        assert_eq!(
            ids(received_between(&db, from, "2026-11-26T10:00:00+08:00", &[], 1).unwrap()),
            ["e2"],
            "[from, to)"
        );
        let asked = ["e3".to_owned(), "nope".to_owned(), "e1".to_owned()];
        assert_eq!(ids(by_ids(&db, &asked).unwrap()), ["e3", "e1"], "in the order asked, unknown ids left out");
        assert_eq!(pending(&db).unwrap(), (3, Some("2026-11-26T08:00:00+08:00".to_owned())));
    }

    #[test]
    fn rejected_events_leave_nothing() {
        let db = db();
        let r = Reporter { name: Some("张三".into()), ..Default::default() };
        let a = event("e1");
        admit(&db, &Guard::default(), &[offer(&a, &r, None, "h")], now()).unwrap().unwrap();
        finish(&db, &[("e1".into(), Outcome::Rejected)], now()).unwrap();
        assert!(get(&db, "e1").unwrap().is_none());
        assert_eq!(reporter(&db, "e1").unwrap(), Reporter::default());
    }
}
