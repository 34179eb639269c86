//! The outbox and its deliveries. A message is resolved into one delivery per channel;
//! a delivery is claimed before it is sent, so concurrent dispatchers
//! never send one twice; every try is recorded; past the last try it is dead, listed,
//! and can be requeued.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use wangge_core::dialect::Dialect;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};
use wangge_core::time::render;

use crate::route::{Channel, backoff, is_person, quiet_until};

/// A message waiting for its recipient to be resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub kind: String,
    pub case_id: Option<String>,
    pub recipient_kind: String,
    pub recipient_id: String,
    pub phone: Option<String>,
    pub wechat_openid: Option<String>,
    pub urgent: bool,
}

/// How a message will be delivered: its channels, and not before when.
pub struct Plan {
    pub message_id: String,
    pub case_id: Option<String>,
    pub urgent: bool,
    pub deliveries: Vec<(Channel, String)>,
    pub not_before: DateTime<Utc>,
}

fn text(v: &SqlValue) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Up to `limit` messages not yet resolved, oldest first.
pub fn unresolved(db: &impl Sql, limit: usize) -> Result<Vec<Message>, StorageError> {
    let rows = db.execute(
        "SELECT id, kind, case_id, recipient_kind, recipient_id, recipient_phone, recipient_openid, urgency \
         FROM outbox WHERE state = 'pending' ORDER BY created_at, id LIMIT ?",
        &[(limit as i64).into()],
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|r| Message {
            id: text(&r[0]).unwrap_or_default(),
            kind: text(&r[1]).unwrap_or_default(),
            case_id: text(&r[2]),
            recipient_kind: text(&r[3]).unwrap_or_default(),
            recipient_id: text(&r[4]).unwrap_or_default(),
            phone: text(&r[5]),
            wechat_openid: text(&r[6]),
            urgent: r[7].as_str() == Some("urgent"),
        })
        .collect())
}

/// When a message to `recipient_kind` may first go: at once, or after quiet hours.
pub fn not_before(recipient_kind: &str, urgent: bool, now: DateTime<Utc>) -> DateTime<Utc> {
    match (urgent, is_person(recipient_kind)) {
        (false, true) => quiet_until(now).unwrap_or(now),
        _ => now,
    }
}

/// Records the plans in one transaction: deliveries made, messages marked resolved, or
/// dead when nobody can be reached. Returns (deliveries made, messages dead).
pub fn expand(db: &impl Sql, plans: &[Plan], now: DateTime<Utc>) -> Result<(usize, usize), StorageError> {
    if plans.is_empty() {
        return Ok((0, 0));
    }
    let at = render(now);
    db.transaction(|db| {
        let (mut made, mut dead) = (0, 0);
        for plan in plans {
            if plan.deliveries.is_empty() {
                db.execute(
                    "UPDATE outbox SET state = 'dead', dead_reason = 'no_contact' WHERE id = ? AND state = 'pending'",
                    &[plan.message_id.as_str().into()],
                )?;
                dead += 1;
                continue;
            }
            for (channel, address) in &plan.deliveries {
                let inserted = db.execute(
                    "INSERT INTO deliveries (id, message_id, case_id, channel, address, urgent, state, next_attempt_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (message_id, channel, address) DO NOTHING RETURNING 1",
                    &[
                        wangge_core::ids::new_id().into(),
                        plan.message_id.as_str().into(),
                        plan.case_id.clone().into(),
                        channel.as_str().into(),
                        address.as_str().into(),
                        i64::from(plan.urgent).into(),
                        render(plan.not_before).into(),
                        at.as_str().into(),
                    ],
                )?;
                made += inserted.rows.len();
            }
            db.execute("UPDATE outbox SET state = 'expanded' WHERE id = ?", &[plan.message_id.as_str().into()])?;
        }
        Ok((made, dead))
    })
}

/// A delivery claimed for sending, with what its message says.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub message_id: String,
    pub case_id: Option<String>,
    pub channel: Channel,
    pub address: String,
    pub urgent: bool,
    /// This try's number, from 1.
    pub attempt: i64,
    pub kind: String,
    pub recipient_kind: String,
    pub payload: Value,
}

/// Claims up to `limit` due deliveries for dispatcher `claim`: pending ones whose time
/// has come, and sending ones whose claim has lapsed (a dispatcher that died mid-send).
/// Nobody else sends them while the lease holds.
///
/// The claim is one statement ([`claim_statement`]), so its own transaction on either
/// engine; what the claimed deliveries say is read after it, from rows the lease now
/// keeps to this dispatcher.
pub fn claim(
    db: &impl Sql,
    claim: &str,
    now: DateTime<Utc>,
    limit: usize,
    lease: Duration,
) -> Result<Vec<Delivery>, StorageError> {
    let at = render(now);
    let rows = db.execute(
        &claim_statement(db.dialect()),
        &[claim.into(), render(now + lease).into(), at.as_str().into(), (limit as i64).into()],
    )?;
    if rows.rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.rows.iter().filter_map(|r| text(&r[0])).collect();
    let details = db.execute(
        "SELECT d.id, d.message_id, d.case_id, d.channel, d.address, d.urgent, d.attempts, o.kind, o.recipient_kind, o.payload \
         FROM deliveries d JOIN outbox o ON o.id = d.message_id \
         WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.next_attempt_at, d.id",
        &[serde_json::to_string(&ids).unwrap_or_default().into()],
    )?;
    Ok(deliveries_from(&details))
}

/// The claim (`?1` the dispatcher, `?2` its lease's end, `?3` now, `?4` how many): the
/// earliest due of the pending deliveries and of the lapsed claims, each kind read from
/// its own partial index, taken in one `UPDATE … RETURNING`.
///
/// Which engine decides how two dispatchers on two replicas are kept apart, here and
/// nowhere else. SQLite runs one writer at a time, so the statement alone is enough.
/// On PostgreSQL each candidate row is locked as it is picked, and rows another
/// dispatcher's claim has locked are passed over (`FOR UPDATE SKIP LOCKED`): a row is
/// taken by one claim only, and at `READ COMMITTED` (a statement's own transaction)
/// a row another claim took while this one ran is checked again and left out, so
/// concurrent claims take different rows without waiting for or failing each other.
fn claim_statement(dialect: Dialect) -> String {
    let lock = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    format!(
        "UPDATE deliveries SET state = 'sending', claim = ?1, lease_until = ?2, attempts = attempts + 1 \
         WHERE id IN ( \
           SELECT id FROM ( \
             SELECT id, t FROM (SELECT id, next_attempt_at AS t FROM deliveries \
                                WHERE state = 'pending' AND next_attempt_at <= ?3 ORDER BY next_attempt_at LIMIT ?4{lock}) AS pending \
             UNION ALL \
             SELECT id, t FROM (SELECT id, lease_until AS t FROM deliveries \
                                WHERE state = 'sending' AND lease_until < ?3 ORDER BY lease_until LIMIT ?4{lock}) AS lapsed \
           ) AS due ORDER BY t LIMIT ?4) \
         RETURNING id"
    )
}

fn deliveries_from(rows: &Rows) -> Vec<Delivery> {
    rows.rows
        .iter()
        .filter_map(|r| {
            Some(Delivery {
                id: text(&r[0])?,
                message_id: text(&r[1])?,
                case_id: text(&r[2]),
                channel: Channel::parse(r[3].as_str()?)?,
                address: text(&r[4]).unwrap_or_default(),
                urgent: r[5].as_i64() == Some(1),
                attempt: r[6].as_i64().unwrap_or(1),
                kind: text(&r[7]).unwrap_or_default(),
                recipient_kind: text(&r[8]).unwrap_or_default(),
                payload: r[9].as_str().and_then(|p| serde_json::from_str(p).ok()).unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// How one try ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered {
        status: Option<u16>,
    },
    /// Try again later (a 5xx, a timeout, "system busy").
    Retry {
        status: Option<u16>,
        detail: String,
    },
    /// Never again (the user has not subscribed; the channel refused for good).
    Final {
        status: Option<u16>,
        detail: String,
    },
}

/// How many tries, and how long the first wait.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub max_attempts: i64,
    pub first_backoff_seconds: i64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: crate::route::DEFAULT_MAX_ATTEMPTS,
            first_backoff_seconds: crate::route::FIRST_BACKOFF_SECONDS,
        }
    }
}

/// What a dispatch pass did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Tally {
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

/// Records the outcomes of claim `claim` in one transaction. A retry waits its
/// backoff (and quiet hours for a non-urgent message to a person); past
/// `max_attempts` it is dead. An outcome whose claim has since lapsed and been taken
/// by another dispatcher is ignored: the other one owns the delivery now.
pub fn record(
    db: &impl Sql,
    claim: &str,
    outcomes: &[(&Delivery, Outcome)],
    now: DateTime<Utc>,
    retry: &Retry,
    jitter: &mut dyn FnMut() -> f64,
) -> Result<Tally, StorageError> {
    let at = render(now);
    db.transaction(|db| {
        let mut tally = Tally::default();
        for (delivery, outcome) in outcomes {
            let verdict = Verdict::of(delivery, outcome, now, retry, jitter);
            if !verdict.write(db, delivery, claim, &at)? {
                continue;
            }
            match verdict.state {
                "delivered" => tally.delivered += 1,
                "dead" => tally.dead += 1,
                _ => tally.retried += 1,
            }
        }
        Ok(tally)
    })
}

/// `t` rounded up to a whole second: times are stored to the second, and a retry must
/// never fall due before its backoff has passed.
fn up_to_the_second(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    let floor = t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t);
    if floor == t { t } else { floor + TimeDelta::seconds(1) }
}

/// What one try leaves a delivery as: its state, the channel's status, why it failed,
/// and when it is due again.
struct Verdict {
    /// `delivered`, `dead` or `pending`.
    state: &'static str,
    status: Option<u16>,
    detail: Option<String>,
    next: Option<String>,
}

impl Verdict {
    fn of(
        delivery: &Delivery,
        outcome: &Outcome,
        now: DateTime<Utc>,
        retry: &Retry,
        jitter: &mut dyn FnMut() -> f64,
    ) -> Verdict {
        let verdict = |state, status: &Option<u16>, detail: Option<String>, next| Verdict {
            state,
            status: *status,
            detail,
            next,
        };
        match outcome {
            Outcome::Delivered { status } => verdict("delivered", status, None, None),
            Outcome::Final { status, detail } => verdict("dead", status, Some(detail.clone()), None),
            Outcome::Retry { status, detail } if delivery.attempt >= retry.max_attempts => {
                verdict("dead", status, Some(format!("{detail} (after {} tries)", delivery.attempt)), None)
            }
            Outcome::Retry { status, detail } => {
                let next = now + backoff(delivery.attempt, jitter(), retry.first_backoff_seconds);
                // A retry keeps quiet hours as the first try did.
                let next = not_before(&delivery.recipient_kind, delivery.urgent, next);
                verdict("pending", status, Some(detail.clone()), Some(render(up_to_the_second(next))))
            }
        }
    }

    /// Writes the verdict and the attempt, if `claim` still holds the delivery; false
    /// when another dispatcher has taken it since.
    fn write(&self, db: &impl Sql, delivery: &Delivery, claim: &str, at: &str) -> Result<bool, StorageError> {
        let updated = db.execute(
            "UPDATE deliveries SET state = ?, last_error = ?, next_attempt_at = coalesce(?, next_attempt_at), \
             delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, claim = NULL, lease_until = NULL \
             WHERE id = ? AND claim = ? AND state = 'sending' RETURNING 1",
            &[
                self.state.into(),
                self.detail.clone().into(),
                self.next.clone().into(),
                self.state.into(),
                at.into(),
                delivery.id.as_str().into(),
                claim.into(),
            ],
        )?;
        if updated.rows.is_empty() {
            return Ok(false);
        }
        let outcome = if self.state == "pending" { "retry" } else { self.state };
        db.execute(
            "INSERT INTO attempts (delivery_id, n, at, outcome, status, detail) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                delivery.id.as_str().into(),
                delivery.attempt.into(),
                at.into(),
                outcome.into(),
                self.status.map(i64::from).into(),
                self.detail.clone().into(),
            ],
        )?;
        Ok(true)
    }
}

/// How many deliveries are due now, and how many wait for later.
pub fn backlog(db: &impl Sql, now: DateTime<Utc>) -> Result<(i64, i64), StorageError> {
    let rows = db.execute(
        "SELECT coalesce(sum(CASE WHEN next_attempt_at <= ? THEN 1 ELSE 0 END), 0), count(*) FROM deliveries \
         WHERE state = 'pending'",
        &[render(now).into()],
    )?;
    let r = rows.rows.first();
    let due = r.and_then(|r| r[0].as_i64()).unwrap_or(0);
    Ok((due, r.and_then(|r| r[1].as_i64()).unwrap_or(0) - due))
}

/// Dead deliveries after `after` (an id), oldest first, of messages whose region lies
/// under `region_prefix` (`""`: every region).
pub fn dead(db: &impl Sql, region_prefix: &str, after: &str, limit: usize) -> Result<Vec<Value>, StorageError> {
    let rows = db.execute(
        "SELECT d.id, d.message_id, d.case_id, d.channel, d.address, d.attempts, d.last_error, o.kind, o.recipient_kind, o.recipient_id \
         FROM deliveries d JOIN outbox o ON o.id = d.message_id WHERE d.state = 'dead' AND d.id > ? \
         AND o.region >= ? AND o.region < ? || 'z' ORDER BY d.id LIMIT ?",
        &[after.into(), region_prefix.into(), region_prefix.into(), (limit as i64).into()],
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|r| {
            json!({
                "id": text(&r[0]), "message_id": text(&r[1]), "case_id": text(&r[2]), "channel": text(&r[3]),
                "address": text(&r[4]), "attempts": r[5].as_i64(), "last_error": text(&r[6]), "kind": text(&r[7]),
                "recipient": { "kind": text(&r[8]), "id": text(&r[9]) },
                "requeue": { "method": "POST", "href": format!("/v1/notifications/dead/{}/requeue", text(&r[0]).unwrap_or_default()) },
            })
        })
        .collect())
}

/// Puts a dead delivery back in the queue, due now, with its tries counted afresh.
/// False when there is no such dead delivery of a message under `region_prefix`.
pub fn requeue(db: &impl Sql, region_prefix: &str, id: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
    let rows = db.execute(
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND state = 'dead' \
         AND message_id IN (SELECT id FROM outbox WHERE region >= ? AND region < ? || 'z') RETURNING 1",
        &[render(now).into(), id.into(), region_prefix.into(), region_prefix.into()],
    )?;
    Ok(!rows.rows.is_empty())
}

/// Every message about a case whose region lies under `region_prefix` (`""`: every
/// region), with its deliveries and their tries.
pub fn trace(db: &impl Sql, region_prefix: &str, case_id: &str) -> Result<Vec<Value>, StorageError> {
    let messages = db.execute(
        "SELECT id, kind, recipient_kind, recipient_id, urgency, state, dead_reason, created_at FROM outbox \
         WHERE case_id = ? AND region >= ? AND region < ? || 'z' ORDER BY created_at, id",
        &[case_id.into(), region_prefix.into(), region_prefix.into()],
    )?;
    let deliveries = db.execute(
        "SELECT id, message_id, channel, address, state, attempts, next_attempt_at, last_error, delivered_at FROM deliveries \
         WHERE case_id = ? ORDER BY created_at, id",
        &[case_id.into()],
    )?;
    let attempts = db.execute(
        "SELECT a.delivery_id, a.n, a.at, a.outcome, a.status, a.detail FROM attempts a \
         WHERE a.delivery_id IN (SELECT id FROM deliveries WHERE case_id = ?) ORDER BY a.delivery_id, a.id",
        &[case_id.into()],
    )?;
    Ok(messages
        .rows
        .iter()
        .map(|m| {
            let id = text(&m[0]).unwrap_or_default();
            let mine: Vec<Value> = deliveries
                .rows
                .iter()
                .filter(|d| d[1].as_str() == Some(id.as_str()))
                .map(|d| {
                    let did = text(&d[0]).unwrap_or_default();
                    let tries: Vec<Value> = attempts
                        .rows
                        .iter()
                        .filter(|a| a[0].as_str() == Some(did.as_str()))
                        .map(|a| json!({ "n": a[1].as_i64(), "at": text(&a[2]), "outcome": text(&a[3]), "status": a[4].as_i64(), "detail": text(&a[5]) }))
                        .collect();
                    json!({
                        "id": did, "channel": text(&d[2]), "address": text(&d[3]), "state": text(&d[4]),
                        "attempts": d[5].as_i64(), "next_attempt_at": text(&d[6]), "last_error": text(&d[7]),
                        "delivered_at": text(&d[8]), "tries": tries,
                    })
                })
                .collect();
            json!({
                "id": id, "kind": text(&m[1]), "recipient": { "kind": text(&m[2]), "id": text(&m[3]) },
                "urgency": text(&m[4]), "state": text(&m[5]), "dead_reason": text(&m[6]), "created_at": text(&m[7]),
                "deliveries": mine,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests;

/// Dispatchers on PostgreSQL claiming at the same moment.
#[cfg(test)]
mod replicas;
