//! grid-lookup's internal routes, typed once here and used by their callers (intake,
//! notification, assessment) and by grid-lookup alike: [`Place`], [`StaffContacts`] and
//! [`Grids`].
//!
//! Every `api` module has the same shape on purpose (a route declared with
//! `wangge_core::internal_route!`, its limits, its strict message types), so that the
//! functions' seams read alike.

use serde::{Deserialize, Serialize};

pub use crate::address::Resolution;
use crate::locate::{Hit, Placement};
use crate::model::Region;
pub use crate::read::{GridPlace, StaffContact};

wangge_core::internal_route! {
    /// `POST /internal/staff/contacts` (notification): how to reach staff members.
    StaffContacts: POST "grid-lookup" "/internal/staff/contacts", ContactsWanted => Contacts
}

/// At most this many ids, and this many grids, per call.
pub const MAX_CONTACTS_ASKED: usize = 1000;

/// Staff by id, and every staff member of some grids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsWanted {
    pub ids: Vec<String>,
    pub grids: Vec<String>,
}

/// Their contacts (unknown ids and grids are left out), from this staff version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contacts {
    pub staff: Vec<StaffContact>,
    pub staff_version: i64,
}

wangge_core::internal_route! {
    /// `GET /internal/grids` (assessment): every grid of the current version.
    Grids: GET "grid-lookup" "/internal/grids", () => GridList
}

/// Every grid, with its kind and community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridList {
    pub grids_version: i64,
    pub grids: Vec<GridPlace>,
}

wangge_core::internal_route! {
    /// `POST /internal/place` (intake): a point or an address → who answers for it, in one
    /// call.
    Place: POST "grid-lookup" "/internal/place", PlaceRequest => PlaceAnswer
}

/// A WGS-84 point (`lng`, `lat`, `accuracy` in metres), or else an address to resolve.
/// Every field is sent; the ones not used are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceRequest {
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub lng: Option<f64>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub lat: Option<f64>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub accuracy: Option<f64>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub address: Option<String>,
}

/// Where an event is, as grid-lookup places it: `found` is `grid`, `district` or `none`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "found", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlaceAnswer {
    /// A grid holds the point: who answers for it.
    Grid {
        /// The WGS-84 point placed.
        point: Point,
        /// The community (社区) the point belongs to.
        community_code: String,
        /// The grid that answers for the point (责任网格).
        responsible: Box<GridHit>,
        /// The comprehensive grid (综合网格) holding the point, if any.
        #[serde(deserialize_with = "wangge_core::internal::present")]
        comprehensive: Option<Box<GridHit>>,
        /// The regions above the point (boxed, as are the grids, to keep the variants
        /// close in size).
        chain: Box<Chain>,
        /// The staff on duty there.
        staff: Vec<OnDuty>,
        /// How the address resolved, when an address was sent.
        #[serde(deserialize_with = "wangge_core::internal::present")]
        address: Option<Resolution>,
    },
    /// A blind spot (盲区): no grid holds the point, but this district's outline does.
    District {
        /// The district whose centre answers for the point.
        district_code: String,
        /// The WGS-84 point placed.
        point: Point,
        /// How the address resolved, when an address was sent.
        #[serde(deserialize_with = "wangge_core::internal::present")]
        address: Option<Resolution>,
    },
    /// Outside the registry's coverage, or an address that resolved to no point.
    None {
        /// The point, if there was one.
        #[serde(deserialize_with = "wangge_core::internal::present")]
        point: Option<Point>,
        /// How the address resolved, when an address was sent.
        #[serde(deserialize_with = "wangge_core::internal::present")]
        address: Option<Resolution>,
    },
}

/// A WGS-84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub lng: f64,
    pub lat: f64,
}

/// A grid found at a point, as grid-lookup shows it (`GET /v1/grids/locate` too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridHit {
    pub code: String,
    pub name: String,
    /// `comprehensive` or `dedicated` ([`crate::model::GridKind`]).
    pub kind: String,
    pub region_code: String,
    /// Rounded to 0.1 m².
    pub area_m2: f64,
    /// Metres from the point, rounded to 0.1 m (0 when the grid holds it).
    pub distance_m: f64,
}

impl From<&Hit> for GridHit {
    fn from(hit: &Hit) -> Self {
        GridHit {
            code: hit.code.clone(),
            name: hit.name.clone(),
            kind: hit.kind.as_str().to_owned(),
            region_code: hit.region_code.clone(),
            area_m2: (hit.area_m2 * 10.0).round() / 10.0,
            distance_m: (hit.distance_m * 10.0).round() / 10.0,
        }
    }
}

/// A region of the chain, by code and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionRef {
    pub code: String,
    pub name: String,
}

/// The regions above a point: community (社区), town (街道), district (区) and city (市),
/// each `null` when the registry has none at that level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub community: Option<RegionRef>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub town: Option<RegionRef>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub district: Option<RegionRef>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub city: Option<RegionRef>,
}

impl Chain {
    /// The chain of a placement, by level.
    pub fn of(regions: &[Region]) -> Chain {
        let level = |name: &str| {
            regions.iter().find(|r| r.level == name).map(|r| RegionRef { code: r.code.clone(), name: r.name.clone() })
        };
        Chain { community: level("community"), town: level("town"), district: level("district"), city: level("city") }
    }
}

/// A staff member on duty at a point: who, in which role, for which grid (empty for a
/// community's grid head).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnDuty {
    pub staff_id: String,
    pub role: String,
    pub grid_code: String,
}

impl PlaceAnswer {
    /// The answer for a point that a grid holds.
    pub fn grid(point: Point, placement: &Placement, address: Option<Resolution>) -> PlaceAnswer {
        PlaceAnswer::Grid {
            point,
            community_code: placement.community.clone(),
            responsible: Box::new(GridHit::from(&placement.responsible)),
            comprehensive: placement.comprehensive.as_ref().map(|hit| Box::new(GridHit::from(hit))),
            chain: Box::new(Chain::of(&placement.chain)),
            staff: placement
                .staff
                .iter()
                .map(|s| OnDuty { staff_id: s.staff_id.clone(), role: s.role.clone(), grid_code: s.grid_code.clone() })
                .collect(),
            address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::internal::parse;

    const GRID: &str = r#"{"found":"grid","point":{"lng":120.86,"lat":32.01},"community_code":"320613001001",
        "responsible":{"code":"320613001001001","name":"一网格","kind":"comprehensive","region_code":"320613001001","area_m2":1.5,"distance_m":0.0},
        "comprehensive":null,"chain":{"community":{"code":"320613001001","name":"社区"},"town":null,"district":null,"city":null},
        "staff":[{"staff_id":"S1","role":"grid_worker","grid_code":"320613001001001"}],"address":null}"#;

    #[test]
    fn a_place_answer_reads_whole_and_round_trips() {
        let answer: PlaceAnswer = parse(GRID.as_bytes()).unwrap();
        let PlaceAnswer::Grid { community_code, staff, .. } = &answer else { panic!("{answer:?}") };
        assert_eq!((community_code.as_str(), staff.len()), ("320613001001", 1));
        let again: PlaceAnswer = parse(&serde_json::to_vec(&answer).unwrap()).unwrap();
        assert_eq!(again, answer);
        let none: PlaceAnswer = parse(br#"{"found":"none","point":null,"address":null}"#).unwrap();
        assert_eq!(none, PlaceAnswer::None { point: None, address: None });
    }

    #[test]
    fn a_place_answer_with_an_unknown_or_missing_field_is_refused() {
        let renamed = GRID.replace("\"community_code\"", "\"community\"");
        let e = parse::<PlaceAnswer>(renamed.as_bytes()).unwrap_err();
        assert!(e.contains("unknown field `community`"), "{e}");
        // An Option field must be sent, as null.
        let e = parse::<PlaceAnswer>(br#"{"found":"none","point":null}"#).unwrap_err();
        assert!(e.contains("missing field `address`"), "{e}");
        let e = parse::<PlaceAnswer>(GRID.replace(r#""town":null,"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `town`"), "{e}");
        // An unknown `found` is an error, not `none`.
        let e = parse::<PlaceAnswer>(br#"{"found":"street","point":null,"address":null}"#).unwrap_err();
        assert!(e.contains("unknown variant `street`"), "{e}");
    }

    #[test]
    fn a_place_request_must_send_every_field() {
        let point = br#"{"lng":120.86,"lat":32.01,"accuracy":5.0,"address":null}"#;
        assert_eq!(parse::<PlaceRequest>(point).unwrap().lng, Some(120.86));
        let e = parse::<PlaceRequest>(br#"{"lng":120.86,"lat":32.01,"accuracy":5.0}"#).unwrap_err();
        assert!(e.contains("missing field `address`"), "{e}");
        let e = parse::<PlaceRequest>(br#"{"lng":1.0,"lat":2.0,"accuracy":null,"address":null,"crs":"wgs84"}"#)
            .unwrap_err();
        assert!(e.contains("unknown field `crs`"), "{e}");
    }
}
