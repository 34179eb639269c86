//! `POST /v1/hotline/work-orders`: 1 to 100 work orders (工单) from a 12345 hotline.
//! Each order gets its own result, so one bad order does not sink the batch; the
//! order number makes a retried batch safe.

use serde::Deserialize;
use serde_json::{Value, json};
use wangge_core::auth::Scope;
use wangge_core::{FieldError, Problem};
use wangge_intake::event::request_hash;
use wangge_intake::hotline::WorkOrder;
use wangge_intake::schema;
use wangge_intake::store::{self, Admission, Admitted};
use wangge_spin::{KIB, Reply, Req, Timing, json};

use crate::COMPONENT;
use crate::events::{invalid, parse};
use crate::guard::{self, Settings};
use crate::process::{Context, Processed, process};

/// The largest batch body, and the most orders in one batch.
pub const BATCH_BODY_LIMIT: usize = 1024 * KIB;
pub const MAX_ORDERS: usize = 100;

/// An order that passed its schema: where it stands in the batch, and its event.
struct Checked {
    index: usize,
    order_no: Value,
    event: wangge_intake::event::Event,
    caller: wangge_core::privacy::Reporter,
    hash: String,
}

/// `POST /v1/hotline/work-orders` (`events:write`) → 200 with one result per order.
pub async fn create(mut req: Req) -> Reply {
    let principal = req.require(Scope::EventsWrite)?;
    req.require_json()?;
    let body = req.body(BATCH_BODY_LIMIT).await?;
    let settings = Settings::load();
    let guard = guard::guard(&req, &principal, &body, &settings)?;
    let value = parse(&body)?;
    let orders = envelope(&value)?;
    let db = COMPONENT.db()?;
    let mut timing = Timing::start();
    let (mut results, checked) = check(orders, &db, &req, &mut timing)?;
    let admissions: Vec<Admission<'_>> = checked
        .iter()
        .map(|c| Admission {
            event: &c.event,
            reporter: &c.caller,
            key_id: &principal.key_id,
            key_region_prefix: &principal.region_prefix,
            idempotency_key: None,
            external_key: c.event.external_id.as_ref().map(|no| format!("hotline:{no}")),
            request_hash: &c.hash,
        })
        .collect();
    let admitted = if admissions.is_empty() {
        Vec::new()
    } else {
        store::admit(&db, &guard, &admissions, wangge_core::time::now_utc())?
            .map_err(|r| guard::refused(r, &settings))?
    };
    let ctx = Context { settings: &settings, request_id: &req.request_id, lang: req.lang };
    let mut outcomes = Vec::new();
    for (c, admitted) in checked.iter().zip(admitted) {
        results[c.index] = answer(c, admitted, &principal.region_prefix, &ctx, &mut outcomes).await;
    }
    store::finish(&db, &outcomes, wangge_core::time::now_utc())?;
    let count = |status: &str| results.iter().filter(|r| r["status"] == status).count();
    let summary = json!({
        "orders": results.len(),
        "accepted": count("accepted"),
        "merged": count("merged"),
        "queued": count("queued"),
        "rejected": count("rejected"),
    });
    let mut response = json(200, &json!({ "summary": summary, "results": results }));
    if !timing.header().is_empty() {
        response.set_header("server-timing", timing.header());
    }
    Ok(response)
}

/// The envelope must hold: an object with 1 to 100 orders, and nothing else.
fn envelope(value: &Value) -> Result<&Vec<Value>, Problem> {
    match value.get("orders").and_then(Value::as_array) {
        Some(orders) if (1..=MAX_ORDERS).contains(&orders.len()) && value.as_object().is_some_and(|o| o.len() == 1) => {
            Ok(orders)
        }
        _ => Err(invalid(vec![FieldError::new(
            "/orders",
            "batch",
            format!("the body is {{\"orders\": [...]}} with 1 to {MAX_ORDERS} work orders"),
        )])),
    }
}

/// Each order on its own, against the order schema compiled once: the results so far
/// (refusals in place), and the orders that passed. Orders that state no category are
/// placed by the classifier, loaded once and only if one needs it; reading the current
/// model's row, checking the model and classifying are timed (`triage-read`, `triage-load`,
/// `triage` in `Server-Timing`).
fn check(
    orders: &[Value],
    db: &wangge_spin::db::Db,
    req: &Req,
    timing: &mut Timing,
) -> Result<(Vec<Value>, Vec<Checked>), Problem> {
    let order_schema = schema::Checker::definition("hotline.work-orders", "order").map_err(invalid)?;
    let mut results: Vec<Value> = vec![Value::Null; orders.len()];
    let mut passed = Vec::new();
    for (index, order) in orders.iter().enumerate() {
        let order_no = order.get("order_no").cloned().unwrap_or(Value::Null);
        let prefix = format!("/orders/{index}");
        if let Err(errors) = order_schema.check(order, &prefix) {
            results[index] = rejected(index, &order_no, &invalid(errors), req.lang);
            continue;
        }
        let Ok(parsed) = WorkOrder::deserialize(order) else {
            let not_one = invalid(vec![FieldError::new(prefix, "type", "not a work order")]);
            results[index] = rejected(index, &order_no, &not_one, req.lang);
            continue;
        };
        passed.push((index, order_no, parsed, request_hash(order)));
    }
    timing.lap("validate");
    let stored = match passed.iter().any(|(_, _, order, _)| order.needs_classifier()) {
        true => Some(crate::triage::stored(db)?),
        false => None,
    };
    if stored.is_some() {
        timing.lap("triage-read");
    }
    let classifier = stored.as_ref().map(|stored| crate::triage::classifier(stored, &req.request_id));
    let mut classifying = std::time::Duration::ZERO;
    if classifier.is_some() {
        timing.lap("triage-load");
    }
    let mut checked = Vec::new();
    for (index, order_no, order, hash) in passed {
        let started = std::time::Instant::now();
        let needs = order.needs_classifier();
        let (event, caller) = order.into_event(wangge_core::ids::new_id(), classifier.as_ref());
        if needs {
            classifying += started.elapsed();
        }
        checked.push(Checked { index, order_no, event, caller, hash });
    }
    if classifier.is_some() {
        timing.record("triage", classifying);
    }
    Ok((results, checked))
}

/// One admitted order's result: its first answer again, a conflict, or a new event
/// processed now (its outcome recorded in `outcomes`).
async fn answer(
    c: &Checked,
    admitted: Admitted,
    key_region: &str,
    ctx: &Context<'_>,
    outcomes: &mut Vec<(String, wangge_intake::store::Outcome)>,
) -> Value {
    match admitted {
        Admitted::Again(stored) => {
            let mut result = match (&stored.answer, stored.status.as_str()) {
                (Some(problem), "rejected") => json!({ "status": "rejected", "problem": problem }),
                (Some(answer), _) => answer.clone(),
                (None, _) => json!({ "status": "queued", "event_id": stored.event.id }),
            };
            result["replayed"] = true.into();
            with_order(result, c.index, &c.order_no)
        }
        Admitted::Conflict(stored) => rejected(c.index, &c.order_no, &crate::events::reused(&stored), ctx.lang),
        Admitted::New => {
            let processed = process(&c.event, &c.caller, key_region, ctx).await;
            outcomes.push((c.event.id.clone(), processed.outcome()));
            match processed {
                Processed::Accepted { answer, .. } => with_order(answer, c.index, &c.order_no),
                Processed::Rejected(problem) => rejected(c.index, &c.order_no, &problem, ctx.lang),
                Processed::Unavailable(why) => {
                    with_order(crate::process::queued(&c.event.id, &why), c.index, &c.order_no)
                }
            }
        }
    }
}

fn with_order(mut result: Value, index: usize, order_no: &Value) -> Value {
    result["index"] = index.into();
    result["order_no"] = order_no.clone();
    result
}

fn rejected(index: usize, order_no: &Value, problem: &Problem, lang: wangge_core::Lang) -> Value {
    json!({ "index": index, "order_no": order_no, "status": "rejected", "problem": problem.to_json(lang) })
}
