//! Making an event a case: where it is (grid-lookup), whether this deployment and this
//! key may take it, then the case (case-routing). Every step is safe to repeat: the
//! case's id is the event's, so a retry after a lost answer finds the same case.

use serde_json::{Value, json};
use spin_sdk::http::Method;
use wangge_core::{ErrorCode, Lang, Problem};
use wangge_intake::event::{Event, Reporter};
use wangge_intake::jurisdiction::{self, Placed, Refusal};
use wangge_intake::store::Outcome;
use wangge_spin::chain::{Answer, call};

use crate::guard::Settings;

/// How processing ended, with what the caller is told.
pub enum Processed {
    /// A case, or merged into one: the answer every retry gets.
    Accepted { outcome: Outcome, answer: Value },
    /// Final: the event is unacceptable. Nothing is kept.
    Rejected(Problem),
    /// grid-lookup or case-routing is down: the event waits in the queue.
    Unavailable(String),
}

impl Processed {
    /// What the store records.
    pub fn outcome(&self) -> Outcome {
        match self {
            Processed::Accepted { outcome, .. } => outcome.clone(),
            Processed::Rejected(_) => Outcome::Rejected,
            Processed::Unavailable(why) => Outcome::Retry { error: why.clone() },
        }
    }
}

pub struct Context<'a> {
    pub settings: &'a Settings,
    pub request_id: &'a str,
    pub lang: Lang,
}

/// Makes `event` a case, or finds why it cannot be one now (or ever).
pub async fn process(event: &Event, reporter: &Reporter, key_region_prefix: &str, ctx: &Context<'_>) -> Processed {
    let steps = async {
        let place = place(event, ctx).await?;
        let community = whose(event, &place, key_region_prefix, ctx.settings)?;
        let case = open_case(&new_case(event, reporter, &place, &community), ctx).await?;
        Ok(accepted(event, &place, community, &case))
    };
    steps.await.unwrap_or_else(|stopped| stopped)
}

/// Step 1, where: a point, or an address through the dictionary, in one call to grid-lookup.
async fn place(event: &Event, ctx: &Context<'_>) -> Result<Value, Processed> {
    let place_request = match &event.point {
        Some(p) => json!({ "lng": p.wgs84_lng, "lat": p.wgs84_lat, "accuracy": p.accuracy_m }),
        None => json!({ "address": event.address }),
    };
    match call("grid-lookup", Method::Post, "/internal/place", ctx.request_id, ctx.lang, Some(&place_request)).await {
        Answer::Ok(place) => Ok(place),
        Answer::Refused { status, .. } => {
            Err(Processed::Unavailable(format!("grid-lookup refused the place ({status})")))
        }
        Answer::Unavailable(why) => Err(Processed::Unavailable(why)),
    }
}

/// Step 2, whose: a grid's community, a blind spot's district or a centre's queue; within
/// this deployment's jurisdiction and the key's region ([`jurisdiction::owner`]).
fn whose(event: &Event, place: &Value, key_region_prefix: &str, settings: &Settings) -> Result<String, Processed> {
    let owner = jurisdiction::owner(placed(place), event.point.is_some(), key_region_prefix, &settings.jurisdiction);
    owner.map_err(|refusal| {
        Processed::Rejected(match refusal {
            Refusal::OutsideCoverage => Problem::from(refusal).with_extension("point", place["point"].clone()),
            refusal => refusal.into(),
        })
    })
}

/// Step 3, the case case-routing is asked for: its id is the event's, so asking twice is the
/// same case.
fn new_case(event: &Event, reporter: &Reporter, place: &Value, community: &str) -> Value {
    let staff: Vec<Value> = place["staff"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|m| json!({ "staff_id": m["staff_id"], "role": m["role"], "grid_code": m["grid_code"] }))
                .collect()
        })
        .unwrap_or_default();
    let point = &place["point"];
    json!({
        "id": event.id,
        "source": event.source,
        "reporter_staff_id": event.reporter_staff_id,
        "reporter": { "name": reporter.name, "phone": reporter.phone, "wechat_openid": reporter.wechat_openid },
        "category": event.category,
        "lng": point["lng"],
        "lat": point["lat"],
        "responsible_grid": place["responsible"]["code"],
        "comprehensive_grid": place["comprehensive"]["code"],
        "community": community,
        "discovered_at": event.discovered_at,
        "reported_at": event.reported_at,
        "description": event.description,
        "attachments": event.attachments,
        "external_ref": event.external_id,
        "staff": staff,
    })
}

/// Step 4, the case from case-routing: a refusal is final, an outage leaves the event queued.
async fn open_case(new_case: &Value, ctx: &Context<'_>) -> Result<Value, Processed> {
    match call("case-routing", Method::Post, "/internal/cases", ctx.request_id, ctx.lang, Some(new_case)).await {
        Answer::Ok(case) => Ok(case),
        Answer::Refused { status, problem } => {
            Err(Processed::Rejected(Problem::from_json(&problem).unwrap_or_else(|| {
                Problem::new(ErrorCode::ValidationFailed).with_detail(
                    format!("case-routing refused the case ({status})"),
                    format!("案件服务拒绝建案（{status}）"),
                )
            })))
        }
        Answer::Unavailable(why) => Err(Processed::Unavailable(why)),
    }
}

/// Step 5, the answer the client gets, now and on every retry.
fn accepted(event: &Event, place: &Value, community: String, case: &Value) -> Processed {
    let case_id = case["id"].as_str().unwrap_or(&event.id).to_owned();
    let merged_into = case["merged_into"].as_str().map(str::to_owned);
    let answer = json!({
        "event_id": event.id,
        "status": if merged_into.is_some() { "merged" } else { "accepted" },
        "case_id": case_id,
        "merged_into": merged_into,
        "case_state": case["state"],
        "category": event.category,
        "category_from": event.category_from,
        "received_at": event.reported_at,
        "grid": {
            "responsible": place.get("responsible").cloned().unwrap_or(Value::Null),
            "comprehensive": place.get("comprehensive").cloned().unwrap_or(Value::Null),
            "community_code": community,
            "chain": place.get("chain").cloned().unwrap_or(Value::Null),
        },
        "address": place.get("address").cloned().unwrap_or(Value::Null),
        "deadlines": case["deadlines"],
    });
    Processed::Accepted {
        outcome: Outcome::Accepted { case_id, merged_into, community, answer: answer.clone() },
        answer,
    }
}

/// What grid-lookup's `/internal/place` answer says of where the event is.
fn placed(place: &Value) -> Placed {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    match place["found"].as_str() {
        Some("grid") => Placed::Grid {
            community: text(&place["community_code"]),
            district: place["chain"]["district"]["code"].as_str().map(str::to_owned),
        },
        Some("district") => Placed::BlindSpot { district: text(&place["district_code"]) },
        _ => Placed::Nowhere,
    }
}

/// The answer while an event waits in the queue.
pub fn queued(event_id: &str, why: &str) -> Value {
    json!({
        "event_id": event_id,
        "status": "queued",
        "detail": "the event is stored and will become a case as soon as the services it needs answer",
        "reason": why,
        "href": format!("/v1/events/{event_id}"),
    })
}
