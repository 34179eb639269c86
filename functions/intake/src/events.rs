//! `/v1/events`: native events, the queue, and reading an event back.

use serde::Deserialize;
use serde_json::{Value, json};
use spin_sdk::http::Response;
use wangge_core::auth::{Principal, Scope};
use wangge_core::privacy::{mask_name, mask_phone};
use wangge_core::{ErrorCode, Problem};
use wangge_intake::event::{Event, EventIn, Reporter, check_coordinates, request_hash};
use wangge_intake::jurisdiction;
use wangge_intake::schema;
use wangge_intake::store::{self, Admission, Admitted, Guard, Stored};
use wangge_spin::db::Db;
use wangge_spin::{KIB, Reply, Req, Timing, json};

use crate::COMPONENT;
use crate::guard::{self, Settings};
use crate::process::{Context, Processed, process, queued};

/// The largest event body.
pub const EVENT_BODY_LIMIT: usize = 64 * KIB;
/// Due events retried at the end of an ordinary request.
const RETRIES_PER_REQUEST: usize = 2;

/// 400 `malformed_json`, or the body as JSON.
pub fn parse(body: &[u8]) -> Result<Value, Problem> {
    wangge_core::json::parse_body::<Value>(body)
}

/// 422 `validation_failed` with each bad field's pointer.
pub fn invalid(errors: Vec<wangge_core::FieldError>) -> Problem {
    Problem::new(ErrorCode::ValidationFailed)
        .with_detail(
            format!("{} field(s) do not match the schema", errors.len()),
            format!("{} 个字段不符合 Schema", errors.len()),
        )
        .with_errors(errors)
}

/// The first answer again, for a retry: the stored answer, or that it still waits.
pub fn repeat(stored: &Stored) -> Response {
    let (status, body) = match &stored.answer {
        Some(problem) if stored.status == "rejected" => {
            (problem["status"].as_u64().unwrap_or(422) as u16, problem.clone())
        }
        Some(answer) => (201, answer.clone()),
        None => (202, queued(&stored.event.id, stored.last_error.as_deref().unwrap_or("in progress"))),
    };
    let mut response = json(status, &body);
    if stored.status == "rejected" {
        response.set_header("content-type", wangge_core::problem::PROBLEM_CONTENT_TYPE);
    }
    response.set_header("idempotent-replayed", "true");
    response.set_header("location", format!("/v1/events/{}", stored.event.id));
    response
}

pub fn reused(stored: &Stored) -> Problem {
    Problem::new(ErrorCode::IdempotencyKeyReused)
        .with_detail(
            "this idempotency key (or source and external id) came with a different body",
            "该幂等键（或来源与外部编号）已用于不同的请求体",
        )
        .with_extension("event_id", stored.event.id.clone())
}

/// `POST /v1/events` (`events:write`).
pub async fn create(mut req: Req) -> Reply {
    let mut timing = Timing::start();
    let principal = req.principal()?;
    timing.lap("auth");
    principal.require(Scope::EventsWrite)?;
    req.require_json()?;
    let body = req.body(EVENT_BODY_LIMIT).await?;
    let settings = Settings::load();
    let guard = guard::guard(&req, &principal, &body, &settings)?;
    let value = parse(&body)?;
    check_coordinates(&value, "/location")?;
    schema::validate("event.create", &value).map_err(invalid)?;
    let input = EventIn::deserialize(&value)
        .map_err(|e| invalid(vec![wangge_core::FieldError::new("", "type", e.to_string())]))?;
    let now = wangge_core::time::now_utc();
    let db = COMPONENT.db()?;
    // An event with no category is placed by the classifier (智能派单), loaded only then.
    let stored = if input.needs_classifier() { Some(crate::triage::stored(&db)?) } else { None };
    let classifier = stored.as_ref().map(|stored| crate::triage::classifier(stored, &req.request_id));
    let (event, reporter) =
        input.into_event(wangge_core::ids::new_id(), wangge_core::time::render(now), classifier.as_ref())?;
    let hash = request_hash(&value);
    timing.lap("validate");
    let idempotency_key = guard::idempotency_key(&req, &principal)?;
    let external_key = event.external_id.as_ref().map(|x| format!("{}:{x}", event.source));
    let one = One { event: &event, reporter: &reporter, hash: &hash, idempotency_key, external_key };
    let ctx = Context { settings: &settings, request_id: &req.request_id, lang: req.lang };
    let (db, processed) = match take(db, &principal, &guard, &ctx, one, &mut timing).await? {
        Taken::Again(stored) => return Ok(repeat(&stored)),
        Taken::Done { db, processed } => (db, processed),
    };
    let response = match processed {
        Processed::Accepted { answer, .. } => {
            let mut response = json(201, &answer);
            response.set_header("location", format!("/v1/events/{}", event.id));
            response
        }
        Processed::Rejected(problem) => return Err(problem),
        Processed::Unavailable(why) => {
            let mut response = json(202, &queued(&event.id, &why));
            response.set_header("location", format!("/v1/events/{}", event.id));
            return Ok(response);
        }
    };
    retry_due(&db, &ctx, RETRIES_PER_REQUEST).await;
    timing.lap("retry");
    let mut response = response;
    response.set_header("server-timing", timing.header());
    Ok(response)
}

/// One event offered at the door, with what makes a retry of it recognisable.
pub struct One<'a> {
    pub event: &'a Event,
    pub reporter: &'a Reporter,
    pub hash: &'a str,
    pub idempotency_key: Option<String>,
    pub external_key: Option<String>,
}

/// What became of an event offered once.
pub enum Taken {
    /// The same request again: answer as the first time.
    Again(Box<Stored>),
    /// New: stored, then made a case (or queued, or refused), and the outcome recorded.
    Done { db: Db, processed: Processed },
}

/// Takes one event on `db`: its guard, its idempotency and the pending record in one
/// transaction; then, if it is new, the case; then the outcome, recorded. The same key
/// with another body is 409 `idempotency_key_reused`.
pub async fn take(
    db: Db,
    principal: &Principal,
    guard: &Guard,
    ctx: &Context<'_>,
    one: One<'_>,
    timing: &mut Timing,
) -> Result<Taken, Problem> {
    let admission = Admission {
        event: one.event,
        reporter: one.reporter,
        key_id: &principal.key_id,
        key_region_prefix: &principal.region_prefix,
        idempotency_key: one.idempotency_key,
        external_key: one.external_key,
        request_hash: one.hash,
    };
    let admitted = store::admit(&db, guard, &[admission], wangge_core::time::now_utc())?
        .map_err(|r| guard::refused(r, ctx.settings))?;
    match admitted.into_iter().next() {
        Some(Admitted::Again(stored)) => return Ok(Taken::Again(stored)),
        Some(Admitted::Conflict(stored)) => return Err(reused(&stored)),
        _ => {}
    }
    timing.lap("admit");
    let processed = process(one.event, one.reporter, &principal.region_prefix, ctx).await;
    timing.lap("process");
    store::finish(&db, &[(one.event.id.clone(), processed.outcome())], wangge_core::time::now_utc())?;
    timing.lap("finish");
    Ok(Taken::Done { db, processed })
}

/// What a retry pass did.
#[derive(Default, serde::Serialize)]
pub struct RetryReport {
    pub claimed: usize,
    pub accepted: usize,
    pub merged: usize,
    pub rejected: usize,
    pub still_pending: usize,
}

/// Retries up to `limit` due events: each is claimed first, so concurrent retriers
/// never process one twice at once (and a case is made once even if they did).
pub async fn retry_due(db: &Db, ctx: &Context<'_>, limit: usize) -> RetryReport {
    let mut report = RetryReport::default();
    let now = wangge_core::time::now_utc();
    if !store::any_due(db, now).unwrap_or(false) {
        return report;
    }
    let Ok(claimed) = store::claim_due(db, now, limit) else { return report };
    report.claimed = claimed.len();
    let mut outcomes = Vec::with_capacity(claimed.len());
    for (stored, reporter) in &claimed {
        let processed = process(&stored.event, reporter, &stored.key_region_prefix, ctx).await;
        match &processed {
            Processed::Accepted { outcome: store::Outcome::Accepted { merged_into: Some(_), .. }, .. } => {
                report.merged += 1
            }
            Processed::Accepted { .. } => report.accepted += 1,
            Processed::Rejected(problem) => {
                report.rejected += 1;
                wangge_spin::log::event(
                    COMPONENT.name,
                    ctx.request_id,
                    "warn",
                    "event_rejected_on_retry",
                    json!({ "event_id": stored.event.id, "code": problem.code.as_str() }),
                );
            }
            Processed::Unavailable(_) => report.still_pending += 1,
        }
        let outcome = match &processed {
            Processed::Rejected(problem) => store::Outcome::Refused { problem: problem.to_json(ctx.lang) },
            _ => processed.outcome(),
        };
        outcomes.push((stored.event.id.clone(), outcome));
    }
    let _ = store::finish(db, &outcomes, wangge_core::time::now_utc());
    report
}

/// `POST /v1/events/retry-pending?limit=` (`scheduler`): one bounded pass over the queue.
pub async fn retry_pending(req: Req) -> Reply {
    req.require(Scope::Scheduler)?;
    let limit = wangge_core::page::limit(&req.query, 100, 500)?;
    let settings = Settings::load();
    let db = COMPONENT.db()?;
    let ctx = Context { settings: &settings, request_id: &req.request_id, lang: req.lang };
    let report = retry_due(&db, &ctx, limit).await;
    let (waiting, oldest) = store::pending(&db)?;
    let more = store::any_due(&db, wangge_core::time::now_utc()).unwrap_or(false);
    Ok(json(
        200,
        &json!({ "report": report, "pending": waiting, "oldest_pending_received_at": oldest, "more_due": more }),
    ))
}

/// `GET /v1/events/{id}` (`events:read` or `events:write`): the stored event. The
/// reporter is shown in full only to a key that acts on cases in its region (the
/// handling centre), masked for everyone else.
pub fn get(req: Req, id: &str) -> Reply {
    let principal = req.require_any(&[Scope::EventsRead, Scope::EventsWrite])?;
    let db = COMPONENT.db()?;
    let stored = store::get(&db, id)?.ok_or_else(|| {
        Problem::new(ErrorCode::NotFound).with_detail(format!("no event `{id}`"), format!("事件 `{id}` 不存在"))
    })?;
    if !jurisdiction::may_read(&principal, &stored) {
        principal.require_region_unnamed(jurisdiction::event_region(&stored))?;
    }
    let reporter = store::reporter(&db, id)?;
    Ok(json(200, &view(&stored, reporter, &principal)))
}

fn view(stored: &Stored, reporter: wangge_intake::event::Reporter, principal: &Principal) -> Value {
    let centre = jurisdiction::is_handling_centre(principal, stored);
    let mut event = serde_json::to_value(&stored.event).unwrap_or_default();
    event["reporter"] = json!({
        "name": reporter.name.map(|n| if centre { n } else { mask_name(&n) }),
        "phone": reporter.phone.map(|p| if centre { p } else { mask_phone(&p) }),
        "wechat_openid": reporter.wechat_openid.map(|o| if centre { o } else { "****".to_owned() }),
    });
    json!({
        "event": event,
        "status": stored.status,
        "case_id": stored.case_id,
        "merged_into": stored.merged_into,
        "community_code": stored.community,
        "received_at": stored.received_at,
        "updated_at": stored.updated_at,
        "attempts": stored.attempts,
        "next_attempt_at": stored.next_attempt_at,
        "last_error": stored.last_error,
        "answer": stored.answer,
    })
}
