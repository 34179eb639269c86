//! Whose event it is (管辖): where grid-lookup placed it, this deployment's jurisdiction
//! (辖区) and the region of the key that sent it.
//!
//! - A point in a grid belongs to the grid's community.
//! - A point in no grid but inside a district outline is a blind spot (盲区): it belongs
//!   to that district, whose centre answers for it.
//! - An address the dictionary cannot place goes to a centre's queue, never dropped: the
//!   sending key's own region when it lies within the jurisdiction (a district's hotline
//!   key: that district's centre), else the jurisdiction's.
//! - A point in no grid and no outline is outside coverage.
//! - The place must lie within the jurisdiction, and within the sending key's region.

use wangge_core::auth::{Principal, Scope};
use wangge_core::{ErrorCode, Problem};

use crate::store::Stored;

/// Where grid-lookup placed an event (the `found` of `POST /internal/place`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// In a grid (网格): its community, and the district above it when known.
    Grid {
        /// The community (社区) code.
        community: String,
        /// The district (区县) code, from the region chain.
        district: Option<String>,
    },
    /// A blind spot (盲区): in no grid, but inside this district's outline.
    BlindSpot {
        /// The district whose outline holds the point.
        district: String,
    },
    /// In no grid and no district outline; or an address the dictionary could not place.
    Nowhere,
}

/// Why an event is not this deployment's, or this key's, to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A point in no grid and no district outline (404 `outside_coverage`).
    OutsideCoverage,
    /// The place belongs to a district this deployment does not serve (422
    /// `outside_jurisdiction`).
    OutsideJurisdiction {
        /// The district the place belongs to.
        owner_district: String,
        /// The region-code prefix this deployment serves.
        jurisdiction: String,
    },
    /// The key may report only in regions under its prefix (403 `region_forbidden`).
    RegionForbidden {
        /// Where the event would go.
        community: String,
        /// The sending key's region prefix.
        key_region_prefix: String,
    },
}

/// The region whose centre takes the event: a community, a blind spot's district, or
/// for an address nothing matched, a centre's region. `has_point` says whether the event
/// came with coordinates (an address alone is never outside coverage).
pub fn owner(placed: Placed, has_point: bool, key_region_prefix: &str, jurisdiction: &str) -> Result<String, Refusal> {
    let (community, owner_district) = match placed {
        Placed::Grid { community, district } => (community, district),
        Placed::BlindSpot { district } => (district.clone(), Some(district)),
        Placed::Nowhere if !has_point => (unplaced_centre(key_region_prefix, jurisdiction).to_owned(), None),
        Placed::Nowhere => return Err(Refusal::OutsideCoverage),
    };
    if !community.starts_with(jurisdiction) {
        let owner_district = owner_district.unwrap_or_else(|| community.clone());
        return Err(Refusal::OutsideJurisdiction { owner_district, jurisdiction: jurisdiction.to_owned() });
    }
    if !community.starts_with(key_region_prefix) {
        return Err(Refusal::RegionForbidden { community, key_region_prefix: key_region_prefix.to_owned() });
    }
    Ok(community)
}

/// The centre whose queue takes an event nothing could place: the key's own region when
/// it lies within the jurisdiction, else the jurisdiction's.
pub fn unplaced_centre<'a>(key_region_prefix: &'a str, jurisdiction: &'a str) -> &'a str {
    if key_region_prefix.starts_with(jurisdiction) { key_region_prefix } else { jurisdiction }
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Problem {
        match refusal {
            Refusal::OutsideCoverage => Problem::new(ErrorCode::OutsideCoverage).with_detail(
                "the point lies in no grid and in no district this deployment knows",
                "该位置不在任何网格内，也不在本部署已知的任何区县内",
            ),
            Refusal::OutsideJurisdiction { owner_district, jurisdiction } => {
                Problem::new(ErrorCode::OutsideJurisdiction)
                    .with_detail(
                        format!(
                            "the point belongs to district {owner_district}; this deployment serves {jurisdiction}"
                        ),
                        format!("该位置属于区县 {owner_district}；本部署服务于 {jurisdiction}"),
                    )
                    .with_extension("owner_district", owner_district)
                    .with_extension("jurisdiction", jurisdiction)
            }
            Refusal::RegionForbidden { community, key_region_prefix } => Problem::new(ErrorCode::RegionForbidden)
                .with_detail(
                    format!("this key may report in regions under `{key_region_prefix}` only, not `{community}`"),
                    format!("该密钥只能上报 `{key_region_prefix}` 下的区域，不能上报 `{community}`"),
                )
                .with_extension("region_prefix", key_region_prefix),
        }
    }
}

/// The region a stored event belongs to: its community once placed, else the region of
/// the key that sent it.
pub fn event_region(stored: &Stored) -> &str {
    stored.community.as_deref().unwrap_or(&stored.key_region_prefix)
}

/// Whether `principal` may read a stored event: its region covers the event's, or the
/// event was sent by a key within the principal's region.
pub fn may_read(principal: &Principal, stored: &Stored) -> bool {
    principal.covers_region(event_region(stored)) || stored.key_region_prefix.starts_with(&principal.region_prefix)
}

/// Whether `principal` is the handling centre of a stored event (it acts on cases in the
/// event's community), which alone sees the reporter unmasked.
pub fn is_handling_centre(principal: &Principal, stored: &Stored) -> bool {
    principal.has_scope(Scope::CasesAct) && stored.community.as_deref().is_some_and(|c| principal.covers_region(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NANTONG: &str = "3206";

    fn grid(community: &str) -> Placed {
        Placed::Grid { community: community.into(), district: Some(format!("{}000000", &community[..6])) }
    }

    #[test]
    fn a_point_in_a_grid_belongs_to_its_community() {
        assert_eq!(owner(grid("320613001001"), true, "", NANTONG), Ok("320613001001".into()));
        assert_eq!(owner(grid("320613001001"), true, "320613", NANTONG), Ok("320613001001".into()));
    }

    #[test]
    fn a_blind_spot_goes_to_its_districts_centre() {
        let placed = Placed::BlindSpot { district: "320612000000".into() };
        assert_eq!(owner(placed, true, "", NANTONG), Ok("320612000000".into()));
    }

    #[test]
    fn a_point_nowhere_is_outside_coverage_but_an_unplaced_address_goes_to_a_centre() {
        assert_eq!(owner(Placed::Nowhere, true, "", NANTONG), Err(Refusal::OutsideCoverage));
        // The key's own region when it lies within the jurisdiction (a district's hotline key).
        assert_eq!(owner(Placed::Nowhere, false, "320612", NANTONG), Ok("320612".into()));
        // Else the jurisdiction's centre (the operator key covers every region).
        assert_eq!(owner(Placed::Nowhere, false, "", NANTONG), Ok(NANTONG.into()));
    }

    #[test]
    fn a_place_outside_the_jurisdiction_names_its_district() {
        let outside = owner(grid("320583001001"), true, "", NANTONG);
        let expected =
            Refusal::OutsideJurisdiction { owner_district: "320583000000".into(), jurisdiction: NANTONG.into() };
        assert_eq!(outside, Err(expected));
        let blind = owner(Placed::BlindSpot { district: "320583000000".into() }, true, "", NANTONG);
        assert!(
            matches!(blind, Err(Refusal::OutsideJurisdiction { owner_district, .. }) if owner_district == "320583000000")
        );
        let problem = Problem::from(outside.unwrap_err());
        assert_eq!(
            (problem.code, problem.extensions["owner_district"].as_str()),
            (ErrorCode::OutsideJurisdiction, Some("320583000000"))
        );
    }

    #[test]
    fn a_key_reports_only_within_its_region() {
        let refused = owner(grid("320613001001"), true, "320612", NANTONG);
        let expected =
            Refusal::RegionForbidden { community: "320613001001".into(), key_region_prefix: "320612".into() };
        assert_eq!(refused, Err(expected));
        assert_eq!(Problem::from(refused.unwrap_err()).code, ErrorCode::RegionForbidden);
        // A key outside the jurisdiction with an address nothing placed: the jurisdiction's
        // centre, which that key may not report to.
        assert!(matches!(owner(Placed::Nowhere, false, "3205", NANTONG), Err(Refusal::RegionForbidden { .. })));
    }

    fn stored(community: Option<&str>, key_region_prefix: &str) -> Stored {
        let event = crate::event::Event::example("e1", "建设街24号", "2026-11-29T08:00:00+08:00");
        Stored {
            event,
            status: "accepted".into(),
            key_region_prefix: key_region_prefix.into(),
            request_hash: String::new(),
            attempts: 1,
            next_attempt_at: None,
            last_error: None,
            case_id: None,
            merged_into: None,
            community: community.map(str::to_owned),
            answer: None,
            received_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn key(scopes: &[Scope], region_prefix: &str) -> Principal {
        Principal { scopes: scopes.to_vec(), region_prefix: region_prefix.into(), ..Principal::operator() }
    }

    #[test]
    fn an_event_is_read_in_its_region_and_its_reporter_only_by_the_handling_centre() {
        let placed = stored(Some("320613001001"), "");
        assert_eq!(event_region(&placed), "320613001001");
        assert!(may_read(&key(&[Scope::EventsRead], "320613"), &placed));
        assert!(!may_read(&key(&[Scope::EventsRead], "320612"), &placed));
        assert!(is_handling_centre(&key(&[Scope::CasesAct], "320613"), &placed));
        assert!(!is_handling_centre(&key(&[Scope::EventsRead], "320613"), &placed), "needs cases:act");
        assert!(!is_handling_centre(&key(&[Scope::CasesAct], "320612"), &placed), "and the event's community");
        // Not placed yet: the region of the key that sent it; nobody is its centre yet.
        let waiting = stored(None, "320612");
        assert_eq!(event_region(&waiting), "320612");
        assert!(may_read(&key(&[Scope::EventsRead], "320612"), &waiting));
        assert!(!is_handling_centre(&key(&[Scope::CasesAct], "320612"), &waiting));
    }
}
