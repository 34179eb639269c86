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
use wangge_spin::{KIB, Reply, Req, json};

use crate::COMPONENT;
use crate::events::{invalid, parse};
use crate::guard::{self, Settings};
use crate::process::{Context, Processed, process};

/// The largest batch body, and the most orders in one batch.
pub const BATCH_BODY_LIMIT: usize = 1024 * KIB;
pub const MAX_ORDERS: usize = 100;

/// `POST /v1/hotline/work-orders` (`events:write`) → 200 with one result per order.
pub async fn create(mut req: Req) -> Reply {
    let principal = req.require(Scope::EventsWrite)?;
    req.require_json()?;
    let body = req.body(BATCH_BODY_LIMIT).await?;
    let settings = Settings::load();
    let guard = guard::guard(&req, &principal, &body, &settings)?;
    let value = parse(&body)?;
    // The envelope must hold: an object with 1 to 100 orders.
    let orders = match value.get("orders").and_then(Value::as_array) {
        Some(orders) if (1..=MAX_ORDERS).contains(&orders.len()) && value.as_object().is_some_and(|o| o.len() == 1) => {
            orders
        }
        _ => {
            return Err(invalid(vec![FieldError::new(
                "/orders",
                "batch",
                format!("the body is {{\"orders\": [...]}} with 1 to {MAX_ORDERS} work orders"),
            )]));
        }
    };
    // Then each order on its own, against the order schema compiled once.
    let order_schema = schema::Checker::definition("hotline.work-orders", "order").map_err(invalid)?;
    let now = wangge_core::time::now_utc();
    let mut results: Vec<Value> = vec![Value::Null; orders.len()];
    let mut accepted_orders = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let order_no = order.get("order_no").cloned().unwrap_or(Value::Null);
        let prefix = format!("/orders/{i}");
        if let Err(errors) = order_schema.check(order, &prefix) {
            results[i] = rejected(i, &order_no, &invalid(errors), req.lang);
            continue;
        }
        let Ok(parsed) = WorkOrder::deserialize(order) else {
            results[i] =
                rejected(i, &order_no, &invalid(vec![FieldError::new(prefix, "type", "not a work order")]), req.lang);
            continue;
        };
        let (event, caller) = parsed.into_event(wangge_core::ids::new_id());
        accepted_orders.push((i, order_no, event, caller, request_hash(order)));
    }
    let admissions: Vec<Admission<'_>> = accepted_orders
        .iter()
        .map(|(_, _, event, caller, hash)| Admission {
            event,
            reporter: caller,
            key_id: &principal.key_id,
            key_region_prefix: &principal.region_prefix,
            idempotency_key: None,
            external_key: event.external_id.as_ref().map(|no| format!("hotline:{no}")),
            request_hash: hash,
        })
        .collect();
    let db = COMPONENT.db()?;
    let admitted = if admissions.is_empty() {
        Vec::new()
    } else {
        store::admit(&db, &guard, &admissions, now)?.map_err(|r| guard::refused(r, &settings))?
    };
    let ctx = Context { settings: &settings, request_id: &req.request_id, lang: req.lang };
    let mut outcomes = Vec::new();
    for ((i, order_no, event, caller, _), admitted) in accepted_orders.iter().zip(admitted) {
        results[*i] = match admitted {
            Admitted::Again(stored) => {
                let mut result = match (&stored.answer, stored.status.as_str()) {
                    (Some(problem), "rejected") => json!({ "status": "rejected", "problem": problem }),
                    (Some(answer), _) => answer.clone(),
                    (None, _) => json!({ "status": "queued", "event_id": stored.event.id }),
                };
                result["replayed"] = true.into();
                with_order(result, *i, order_no)
            }
            Admitted::Conflict(stored) => rejected(*i, order_no, &crate::events::reused(&stored), req.lang),
            Admitted::New => {
                let processed = process(event, caller, &principal.region_prefix, &ctx).await;
                outcomes.push((event.id.clone(), processed.outcome()));
                match processed {
                    Processed::Accepted { answer, .. } => with_order(answer, *i, order_no),
                    Processed::Rejected(problem) => rejected(*i, order_no, &problem, req.lang),
                    Processed::Unavailable(why) => with_order(crate::process::queued(&event.id, &why), *i, order_no),
                }
            }
        };
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
    Ok(json(200, &json!({ "summary": summary, "results": results })))
}

fn with_order(mut result: Value, index: usize, order_no: &Value) -> Value {
    result["index"] = index.into();
    result["order_no"] = order_no.clone();
    result
}

fn rejected(index: usize, order_no: &Value, problem: &Problem, lang: wangge_core::Lang) -> Value {
    json!({ "index": index, "order_no": order_no, "status": "rejected", "problem": problem.to_json(lang) })
}
