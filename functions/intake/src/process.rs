//! Making an event a case: where it is (grid-lookup), whether this deployment and this
//! key may take it, then the case (case-routing). Every step is safe to repeat: the
//! case's id is the event's, so a retry after a lost answer finds the same case.

use serde_json::{Value, json};
use spin_sdk::http::Method;
use wangge_core::{ErrorCode, Lang, Problem};
use wangge_intake::event::{Event, Reporter};
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

pub async fn process(event: &Event, reporter: &Reporter, key_region_prefix: &str, ctx: &Context<'_>) -> Processed {
    // 1. Where: a point, or an address through the dictionary, in one call.
    let place_request = match &event.point {
        Some(p) => json!({ "lng": p.wgs84_lng, "lat": p.wgs84_lat, "accuracy": p.accuracy_m }),
        None => json!({ "address": event.address }),
    };
    let place = match call(
        "grid-lookup",
        Method::Post,
        "/internal/place",
        ctx.request_id,
        ctx.lang,
        Some(&place_request),
    )
    .await
    {
        Answer::Ok(place) => place,
        Answer::Refused { status, .. } => {
            return Processed::Unavailable(format!("grid-lookup refused the place ({status})"));
        }
        Answer::Unavailable(why) => return Processed::Unavailable(why),
    };
    let jurisdiction = ctx.settings.jurisdiction.as_str();
    let (community, owner_district) = match place["found"].as_str() {
        Some("grid") => (
            place["community_code"].as_str().unwrap_or_default().to_owned(),
            place["chain"]["district"]["code"].as_str().map(str::to_owned),
        ),
        // A blind spot: no grid, but a district outline holds it. Its centre answers.
        Some("district") => {
            let district = place["district_code"].as_str().unwrap_or_default().to_owned();
            (district.clone(), Some(district))
        }
        // An address the dictionary cannot place goes to the centre's queue, never dropped:
        // the sending key's own region when it lies within the jurisdiction, else the jurisdiction's.
        _ if event.point.is_none() => {
            let centre = if key_region_prefix.starts_with(jurisdiction) { key_region_prefix } else { jurisdiction };
            (centre.to_owned(), None)
        }
        _ => {
            return Processed::Rejected(
                Problem::new(ErrorCode::OutsideCoverage)
                    .with_detail(
                        "the point lies in no grid and in no district this deployment knows",
                        "该位置不在任何网格内，也不在本部署已知的任何区县内",
                    )
                    .with_extension("point", place["point"].clone()),
            );
        }
    };
    // 2. Whose: this deployment's jurisdiction, then the key's region.
    if !community.starts_with(jurisdiction) {
        let owner = owner_district.unwrap_or_else(|| community.clone());
        return Processed::Rejected(
            Problem::new(ErrorCode::OutsideJurisdiction)
                .with_detail(
                    format!("the point belongs to district {owner}; this deployment serves {jurisdiction}"),
                    format!("该位置属于区县 {owner}；本部署服务于 {jurisdiction}"),
                )
                .with_extension("owner_district", owner)
                .with_extension("jurisdiction", jurisdiction),
        );
    }
    if !community.starts_with(key_region_prefix) {
        return Processed::Rejected(
            Problem::new(ErrorCode::RegionForbidden)
                .with_detail(
                    format!("this key may report in regions under `{key_region_prefix}` only, not `{community}`"),
                    format!("该密钥只能上报 `{key_region_prefix}` 下的区域，不能上报 `{community}`"),
                )
                .with_extension("region_prefix", key_region_prefix),
        );
    }
    // 3. The case: its id is the event's, so asking twice is the same case.
    let staff: Vec<Value> = place["staff"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|m| json!({ "staff_id": m["staff_id"], "role": m["role"], "grid_code": m["grid_code"] }))
                .collect()
        })
        .unwrap_or_default();
    let point = place["point"].clone();
    let new_case = json!({
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
    });
    let case =
        match call("case-routing", Method::Post, "/internal/cases", ctx.request_id, ctx.lang, Some(&new_case)).await {
            Answer::Ok(case) => case,
            Answer::Refused { status, problem } => {
                return Processed::Rejected(Problem::from_json(&problem).unwrap_or_else(|| {
                    Problem::new(ErrorCode::ValidationFailed).with_detail(
                        format!("case-routing refused the case ({status})"),
                        format!("案件服务拒绝建案（{status}）"),
                    )
                }));
            }
            Answer::Unavailable(why) => return Processed::Unavailable(why),
        };
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
