//! Making an event a case: where it is (grid-lookup), whether this deployment and this
//! key may take it, then the case (case-routing). Every step is safe to repeat: the
//! case's id is the event's, so a retry after a lost answer finds the same case.

use serde_json::{Value, json};
use wangge_cases::api::{CreateCase, Created, NewCase};
use wangge_cases::store::CaseStaff;
use wangge_core::{ErrorCode, Lang, Problem};
use wangge_intake::event::{Event, Reporter};
use wangge_intake::jurisdiction::{self, Placed, Refusal};
use wangge_intake::store::Outcome;
use wangge_registry::api::{Place, PlaceAnswer, PlaceRequest, Point};
use wangge_spin::chain::{Failure, ask};

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

/// Step 1, where: a point, or an address through the dictionary, in one call to grid-lookup
/// ([`Place`]). A refusal is grid-lookup's fault, not the event's: the event waits.
async fn place(event: &Event, ctx: &Context<'_>) -> Result<PlaceAnswer, Processed> {
    let request = match &event.point {
        Some(p) => {
            PlaceRequest { lng: Some(p.wgs84_lng), lat: Some(p.wgs84_lat), accuracy: Some(p.accuracy_m), address: None }
        }
        None => PlaceRequest { lng: None, lat: None, accuracy: None, address: event.address.clone() },
    };
    ask::<Place>(&request, ctx.request_id, ctx.lang).await.map_err(|answer| match answer {
        Failure::Refused { status, .. } => Processed::Unavailable(format!("grid-lookup refused the place ({status})")),
        Failure::Unavailable(why) => Processed::Unavailable(why),
    })
}

/// Step 2, whose: a grid's community, a blind spot's district or a centre's queue; within
/// this deployment's jurisdiction and the key's region ([`jurisdiction::owner`]).
fn whose(
    event: &Event,
    place: &PlaceAnswer,
    key_region_prefix: &str,
    settings: &Settings,
) -> Result<String, Processed> {
    let owner = jurisdiction::owner(placed(place), event.point.is_some(), key_region_prefix, &settings.jurisdiction);
    owner.map_err(|refusal| {
        Processed::Rejected(match refusal {
            Refusal::OutsideCoverage => Problem::from(refusal).with_extension("point", to_value(point_of(place))),
            refusal => refusal.into(),
        })
    })
}

/// Step 3, the case case-routing is asked for: its id is the event's, so asking twice is the
/// same case.
fn new_case(event: &Event, reporter: &Reporter, place: &PlaceAnswer, community: &str) -> NewCase {
    let (responsible, comprehensive, staff) = match place {
        PlaceAnswer::Grid { responsible, comprehensive, staff, .. } => {
            (Some(responsible), comprehensive.as_ref(), &staff[..])
        }
        _ => (None, None, &[][..]),
    };
    let point = point_of(place);
    NewCase {
        id: event.id.clone(),
        source: event.source.clone(),
        reporter_staff_id: event.reporter_staff_id.clone(),
        reporter: reporter.clone(),
        category: event.category.clone(),
        lng: point.map(|p| p.lng),
        lat: point.map(|p| p.lat),
        responsible_grid: responsible.map(|g| g.code.clone()),
        comprehensive_grid: comprehensive.map(|g| g.code.clone()),
        community: community.to_owned(),
        discovered_at: event.discovered_at.clone(),
        reported_at: event.reported_at.clone(),
        description: event.description.clone(),
        attachments: event.attachments.clone(),
        external_ref: event.external_id.clone(),
        triage: event.triage.clone(),
        staff: staff
            .iter()
            .map(|m| CaseStaff { staff_id: m.staff_id.clone(), role: m.role.clone(), grid_code: m.grid_code.clone() })
            .collect(),
    }
}

/// Step 4, the case from case-routing ([`CreateCase`]): a refusal is final, an outage
/// leaves the event queued.
async fn open_case(new_case: &NewCase, ctx: &Context<'_>) -> Result<Created, Processed> {
    ask::<CreateCase>(new_case, ctx.request_id, ctx.lang).await.map_err(|answer| match answer {
        Failure::Refused { status, problem } => {
            Processed::Rejected(Problem::from_json(&problem).unwrap_or_else(|| {
                Problem::new(ErrorCode::ValidationFailed).with_detail(
                    format!("case-routing refused the case ({status})"),
                    format!("案件服务拒绝建案（{status}）"),
                )
            }))
        }
        Failure::Unavailable(why) => Processed::Unavailable(why),
    })
}

/// Step 5, the answer the client gets, now and on every retry.
fn accepted(event: &Event, place: &PlaceAnswer, community: String, case: &Created) -> Processed {
    let case_id = case.id.clone();
    let merged_into = case.merged_into.clone();
    let (responsible, comprehensive, chain, address) = match place {
        PlaceAnswer::Grid { responsible, comprehensive, chain, address, .. } => {
            (to_value(responsible), to_value(comprehensive), to_value(chain), address)
        }
        PlaceAnswer::District { address, .. } | PlaceAnswer::None { address, .. } => {
            (Value::Null, Value::Null, Value::Null, address)
        }
    };
    let answer = json!({
        "event_id": event.id,
        "status": if merged_into.is_some() { "merged" } else { "accepted" },
        "case_id": case_id,
        "merged_into": merged_into,
        "case_state": case.state,
        "category": event.category,
        "category_from": event.category_from,
        "triage": event.triage,
        "received_at": event.reported_at,
        "grid": {
            "responsible": responsible,
            "comprehensive": comprehensive,
            "community_code": community,
            "chain": chain,
        },
        "address": address,
        "deadlines": case.deadlines,
    });
    Processed::Accepted {
        outcome: Outcome::Accepted { case_id, merged_into, community, answer: answer.clone() },
        answer,
    }
}

/// What grid-lookup's [`Place`] answer says of where the event is.
fn placed(place: &PlaceAnswer) -> Placed {
    match place {
        PlaceAnswer::Grid { community_code, chain, .. } => Placed::Grid {
            community: community_code.clone(),
            district: chain.district.as_ref().map(|d| d.code.clone()),
        },
        PlaceAnswer::District { district_code, .. } => Placed::BlindSpot { district: district_code.clone() },
        PlaceAnswer::None { .. } => Placed::Nowhere,
    }
}

/// The point grid-lookup placed, if there was one (an unresolved address has none).
fn point_of(place: &PlaceAnswer) -> Option<Point> {
    match place {
        PlaceAnswer::Grid { point, .. } | PlaceAnswer::District { point, .. } => Some(*point),
        PlaceAnswer::None { point, .. } => *point,
    }
}

fn to_value<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
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
