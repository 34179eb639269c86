//! `/v1/cases`: reading cases and acting on them; `/internal/cases`: intake makes them;
//! `/internal/triage/corrections`: intake's retrain reads the centre's corrections (改类).

use serde_json::{Value, json};
use wangge_cases::api::Created;
use wangge_cases::api::{CorrectionsRequest, MAX_CORRECTIONS, MAX_STATES_ASKED, States, StatesWanted};
use wangge_cases::calendar::Calendar;
use wangge_cases::lifecycle::State;
use wangge_cases::store::{self, ActionRequest, Case, CaseError, Context, Filter, NewCase, Reporter};
use wangge_cases::supervision::Light;
use wangge_cases::{notices, reference};
use wangge_core::auth::{Principal, Scope};
use wangge_core::page::{PageRequest, encode_cursor, next_cursor};
use wangge_core::privacy::{mask_name, mask_phone};
use wangge_core::{ErrorCode, Problem};
use wangge_spin::db::Db;
use wangge_spin::{KIB, Reply, Req, Timing, json};

use crate::COMPONENT;

/// A case as answered: its reporter shown in full only to a key that acts for the
/// case's region (the handling centre), masked for everyone else.
fn view(case: &Case, reporter: Reporter, principal: &Principal) -> Value {
    let centre = principal.has_scope(Scope::CasesAct) && principal.covers_region(&case.community);
    let phone = reporter.phone.map(|p| if centre { p } else { mask_phone(&p) });
    let name = reporter.name.map(|n| if centre { n } else { mask_name(&n) });
    let mut value = serde_json::to_value(case).unwrap_or_default();
    value["reporter"] = json!({ "name": name, "phone": phone });
    value
}

/// One case as answered, with its reporter read.
fn view_one(db: &Db, case: &Case, principal: &Principal) -> Result<Value, Problem> {
    Ok(view(case, store::reporter(db, &case.id)?, principal))
}

/// `POST /internal/cases` ([`wangge_cases::api::CreateCase`]): intake hands over a report
/// and gets the case, with the deadlines that apply.
pub async fn create(mut req: Req) -> Reply {
    let new: NewCase = req.json(256 * KIB).await?;
    let db = COMPONENT.db()?;
    let category = reference::category(&db, &new.category)?.ok_or_else(|| {
        Problem::new(ErrorCode::UnknownCategory)
            .with_detail(
                format!("no category `{}` in the catalogue of matters", new.category),
                format!("事项目录中没有类别 `{}`", new.category),
            )
            .with_errors(vec![wangge_core::FieldError::new(
                "/category",
                "unknown_category",
                format!("no category `{}` in the catalogue", new.category),
            )])
    })?;
    let calendar = reference::calendar(&db)?;
    let case =
        store::create(&db, &new, &category, &Context { calendar: &calendar, now: wangge_core::time::now_utc() })?;
    deliver(&db, &req.request_id).await;
    Ok(json(201, &Created::of(&case, &category)))
}

/// `GET /internal/categories`: the catalogue of matters, for intake (Open311 services,
/// hotline categories).
pub fn categories() -> Reply {
    let db = COMPONENT.db_for_reads()?;
    let catalogue: wangge_cases::api::Catalogue = match reference::catalogue_document(&db)? {
        // Checked as it was imported; a stored one this build cannot read is a fault here.
        Some(document) => serde_json::from_value(document).map_err(|e| {
            Problem::new(ErrorCode::Internal).with_detail(
                format!("the stored catalogue is unreadable: {e}"),
                format!("已存储的事项目录无法读取：{e}"),
            )
        })?,
        None => wangge_cases::api::empty_catalogue(),
    };
    Ok(json(200, &catalogue))
}

/// `POST /internal/cases/states` with `{"ids": [...]}` (at most 1000): where each case
/// stands, for intake's Open311 answers.
pub async fn states(mut req: Req) -> Reply {
    let body: StatesWanted = req.json(128 * KIB).await?;
    if body.ids.len() > MAX_STATES_ASKED {
        return Err(Problem::new(ErrorCode::ValidationFailed).with_detail("at most 1000 ids", "最多 1000 个 id"));
    }
    let db = COMPONENT.db_for_reads()?;
    Ok(json(200, &States { cases: store::states(&db, &body.ids)? }))
}

/// `POST /internal/triage/corrections` ([`wangge_cases::api::Corrections`]) with
/// `{"after": <seq>, "limit": 1..=1000}`: the centre's category corrections, oldest first,
/// for intake's retrain (智能派单).
pub async fn corrections(mut req: Req) -> Reply {
    let asked: CorrectionsRequest = req.json(4 * KIB).await?;
    if !(1..=MAX_CORRECTIONS).contains(&asked.limit) {
        let en = format!("limit is 1 to {MAX_CORRECTIONS}");
        return Err(Problem::new(ErrorCode::ValidationFailed)
            .with_detail(en.as_str(), format!("limit 应为 1 到 {MAX_CORRECTIONS}"))
            .with_errors(vec![wangge_core::FieldError::new("/limit", "out_of_range", en)]));
    }
    let db = COMPONENT.db_for_reads()?;
    Ok(json(200, &store::corrections(&db, asked.after, asked.limit)?))
}

/// `POST /v1/cases/{id}/actions` (`cases:act`); `If-Match: "<version>"` for optimistic concurrency.
pub async fn act(mut req: Req, id: &str) -> Reply {
    let mut timing = Timing::start();
    let principal = req.require(Scope::CasesAct)?;
    let mut request: ActionRequest = req.json(64 * KIB).await?;
    if let Some(tag) = req.header("if-match") {
        let version = tag.trim().trim_start_matches("W/").trim_matches('"').parse::<i64>().map_err(|_| {
            Problem::new(ErrorCode::MalformedRequest)
                .with_detail("If-Match carries the case's version", "If-Match 应为案件版本号")
        })?;
        request.expected_version = Some(version);
    }
    timing.lap("request");
    let db = COMPONENT.db()?;
    timing.lap("open");
    let case = store::get(&db, id)?.ok_or_else(|| Problem::from(CaseError::NotFound))?;
    principal.require_region_unnamed(&case.community)?;
    // Only an action that sets deadlines needs the working calendar parsed.
    let calendar = if request.sets_deadlines() { reference::calendar(&db)? } else { Calendar::default() };
    timing.lap("read");
    let case = store::act(&db, id, &request, &Context { calendar: &calendar, now: wangge_core::time::now_utc() })?;
    timing.lap("act");
    deliver(&db, &req.request_id).await;
    timing.lap("deliver");
    let mut response = json(200, &view_one(&db, &case, &principal)?);
    response.set_header("etag", format!("\"{}\"", case.version));
    timing.lap("answer");
    // Closed here rather than on return, to time it: the last connection to close
    // checkpoints the WAL into the database.
    drop(db);
    timing.lap("close");
    response.set_header("server-timing", timing.header());
    Ok(response)
}

/// A case the key may read (`cases:read` or `cases:act`, over its community), with
/// the database it was read from.
fn readable(req: &Req, id: &str) -> Result<(Principal, Db, Case), Problem> {
    let principal = req.require_any(&[Scope::CasesRead, Scope::CasesAct])?;
    let db = COMPONENT.db_for_reads()?;
    let case = store::get(&db, id)?.ok_or_else(|| Problem::from(CaseError::NotFound))?;
    principal.require_region_unnamed(&case.community)?;
    Ok((principal, db, case))
}

/// `GET /v1/cases/{id}` (`cases:read` or `cases:act`).
pub fn get(req: Req, id: &str) -> Reply {
    let (principal, db, case) = readable(&req, id)?;
    let mut response = json(200, &view_one(&db, &case, &principal)?);
    response.set_header("etag", format!("\"{}\"", case.version));
    Ok(response)
}

/// `GET /v1/cases/{id}/log`: every entry and whether the hash chain holds.
pub fn log(req: Req, id: &str) -> Reply {
    let (_, db, _) = readable(&req, id)?;
    let (entries, verification) = store::history(&db, id)?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|(entry, hash)| {
            let mut v = serde_json::to_value(entry).unwrap_or_default();
            v["hash"] = hash.into();
            v
        })
        .collect();
    Ok(json(200, &json!({ "case_id": id, "entries": entries, "verification": verification })))
}

/// `GET /v1/cases?region=&grid=&assignee=&status=&category=&light=&from=&to=&limit=&cursor=`.
pub fn list(req: Req) -> Reply {
    let principal = req.require_any(&[Scope::CasesRead, Scope::CasesAct])?;
    let filter = filter(&req, &principal)?;
    let wanted_light = match req.query_param("light") {
        None => None,
        Some(l) => Some(l.parse::<Light>().map_err(|()| {
            Problem::invalid_parameter("light", "light is green, yellow or red", "light 应为 green、yellow 或 red")
        })?),
    };
    let page = PageRequest::from_query(&req.query)?;
    let db = COMPONENT.db_for_reads()?;
    let mut items = store::list(&db, &filter, page.after.as_deref().unwrap_or(""), page.limit)?;
    let next = next_cursor(&mut items, page.limit, |c| Some(&c.id));
    // A page filtered by the light may hold fewer than `limit` cases; `next_cursor`
    // still continues after the last case read.
    if let Some(wanted) = wanted_light {
        items = store::with_light(&db, items, wanted, wangge_core::time::now_utc())?;
    }
    let ids: Vec<&str> = items.iter().map(|c| c.id.as_str()).collect();
    let mut reporters = store::reporters(&db, &ids)?;
    let items: Vec<Value> =
        items.iter().map(|c| view(c, reporters.remove(&c.id).unwrap_or_default(), &principal)).collect();
    Ok(json(200, &json!({ "items": items, "next_cursor": next })))
}

/// The list's filter from the query, within the key's region.
fn filter(req: &Req, principal: &Principal) -> Result<Filter, Problem> {
    let region = req.query_param("region").unwrap_or_else(|| principal.region_prefix.clone());
    if !region.starts_with(&principal.region_prefix) {
        principal.require_region(&region)?;
    }
    let status = req.query_param("status");
    if let Some(s) = &status
        && serde_json::from_value::<State>(Value::String(s.clone())).is_err()
    {
        return Err(Problem::invalid_parameter(
            "status",
            format!("no case state `{s}`"),
            format!("没有案件状态 `{s}`"),
        ));
    }
    let time = |name: &str| -> Result<Option<String>, Problem> {
        match req.query_param(name) {
            None => Ok(None),
            Some(t) => wangge_core::time::parse(&t).map(|t| Some(wangge_core::time::render(t))).ok_or_else(|| {
                Problem::invalid_parameter(
                    name,
                    format!("{name} is an RFC 3339 time"),
                    format!("{name} 应为 RFC 3339 时间"),
                )
            }),
        }
    };
    Ok(Filter {
        region_prefix: region,
        grid: req.query_param("grid"),
        assignee: req.query_param("assignee"),
        state: status,
        category: req.query_param("category"),
        reported_from: time("from")?,
        reported_to: time("to")?,
    })
}

/// Hands pending notices to notification's outbox and marks them delivered. Best
/// effort: what notification does not take now stays pending for the next call or
/// sweep. Returns how many were delivered and how many remain pending.
async fn deliver(db: &Db, request_id: &str) -> (usize, usize) {
    const BATCH: usize = 200;
    let Ok(pending) = notices::pending(db, BATCH) else { return (0, 0) };
    if pending.is_empty() {
        return (0, 0);
    }
    let batch = wangge_notify::api::Batch { messages: pending };
    let answer =
        wangge_spin::chain::ask::<wangge_notify::api::Enqueue>(&batch, request_id, wangge_core::Lang::En).await;
    let pending = batch.messages;
    match answer {
        Ok(_) => {
            let keys: Vec<String> = pending.iter().map(|n| n.idempotency_key.clone()).collect();
            let now = wangge_core::time::render(wangge_core::time::now_utc());
            match notices::mark_delivered(db, &keys, &now) {
                Ok(()) => (keys.len(), 0),
                Err(_) => (0, keys.len()),
            }
        }
        Err(_) => (0, pending.len()),
    }
}

/// `POST /v1/cases/sweep?limit=&cursor=` (`scheduler`): one bounded batch of the
/// supervision sweep, then delivery of the notices it owes.
pub async fn sweep(req: Req) -> Reply {
    req.require(Scope::Scheduler)?;
    let limit = wangge_core::page::limit(&req.query, 500, 5000)?;
    let after = match req.query_param("cursor").filter(|c| !c.is_empty()) {
        None => String::new(),
        Some(c) => wangge_core::page::decode_cursor(&c).ok_or_else(|| {
            Problem::new(ErrorCode::InvalidParameter)
                .with_detail("cursor is not one this API gave out", "cursor 无效")
                .with_extension("parameter", "cursor")
        })?,
    };
    let db = COMPONENT.db()?;
    let calendar = reference::calendar(&db)?;
    let report = store::sweep(&db, &Context { calendar: &calendar, now: wangge_core::time::now_utc() }, &after, limit)?;
    let (delivered, pending) = deliver(&db, &req.request_id).await;
    Ok(json(
        200,
        &json!({
            "handled": report.handled,
            "reminders": report.reminders,
            "supervision_notices": report.supervision_notices,
            "escalated": report.escalated,
            "notices_delivered": delivered,
            "notices_pending": pending,
            "more": report.next_cursor.is_some(),
            "next_cursor": report.next_cursor.as_deref().map(encode_cursor),
        }),
    ))
}
