//! case-routing's internal routes, typed once here and used by their callers and by
//! case-routing alike:
//!
//! - `POST /internal/cases` ([`CreateCase`]): intake makes a case from an event, sending
//!   [`NewCase`] and reading [`Created`];
//! - `POST /internal/cases/states` ([`CaseStates`]): intake's Open311 answers ask where
//!   cases stand;
//! - `GET /internal/categories` and `GET /internal/facts`, below.
//!
//! Every `api` module has the same shape on purpose (a route declared with
//! `wangge_core::internal_route!`, its limits, its strict message types), so that the
//! functions' seams read alike.

use serde::{Deserialize, Serialize};

use crate::lifecycle::State;
use crate::reference::Category;
use crate::store::Case;
pub use crate::store::NewCase;

// ------------------------------------------------------------------ /internal/cases

wangge_core::internal_route! {
    /// `POST /internal/cases` (intake): make a case, or find the one this event already made
    /// or joined. Answers `201` with [`Created`].
    CreateCase: POST "case-routing" "/internal/cases", NewCase => Created
}

/// The case made: what intake tells the client about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Created {
    /// The case's id (the event's).
    pub id: String,
    /// Where the case stands; an unknown state is an error, not `reported`.
    pub state: State,
    /// For a duplicate: the open case it joined.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub merged_into: Option<String>,
    /// The deadlines that apply.
    pub deadlines: Deadlines,
}

/// The deadlines of a case: the category's limits, and the due times once assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Within how long the matter must be reported (e.g. `2h`).
    pub report_within: String,
    /// Within how long the assignee must respond.
    pub respond_within: String,
    /// Within how long the case must be resolved (e.g. `5wd`).
    pub resolve_within: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub respond_due: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub resolve_due: Option<String>,
    /// The working calendar was missing, so the due times count calendar time.
    pub fallback_calendar: bool,
}

impl Created {
    /// The answer for `case`, made in `category`.
    pub fn of(case: &Case, category: &Category) -> Created {
        Created {
            id: case.id.clone(),
            state: case.state,
            merged_into: case.merged_into.clone(),
            deadlines: Deadlines {
                report_within: category.report_within.clone(),
                respond_within: category.respond_within.clone(),
                resolve_within: category.resolve_within.clone(),
                respond_due: case.respond_due.clone(),
                resolve_due: case.resolve_due.clone(),
                fallback_calendar: case.deadline_fallback,
            },
        }
    }
}

// ------------------------------------------------------------ /internal/cases/states

wangge_core::internal_route! {
    /// `POST /internal/cases/states` (intake, for Open311): where each case stands.
    CaseStates: POST "case-routing" "/internal/cases/states", StatesWanted => States
}

/// At most this many ids per call.
pub const MAX_STATES_ASKED: usize = 1000;

/// The cases asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatesWanted {
    pub ids: Vec<String>,
}

/// Where each known case stands (unknown ids are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct States {
    pub cases: Vec<crate::store::CaseState>,
}

// ------------------------------------------------------------- /internal/categories

wangge_core::internal_route! {
    /// `GET /internal/categories`: the catalogue of matters, for intake (Open311 services)
    /// and assessment (assessed domains, default weights, what each matter means).
    Categories: GET "case-routing" "/internal/categories", () => Catalogue
}

/// The answer to [`Categories`]: the catalogue as imported (`PUT /v1/categories`), every
/// field present and none unknown; before any import, [`empty_catalogue`].
pub type Catalogue = crate::reference::CatalogueFile;

/// The catalogue before any import: version 0, no domains and no matters.
pub fn empty_catalogue() -> Catalogue {
    Catalogue { version: 0, domains: Default::default(), categories: Vec::new() }
}

// ------------------------------------------------------------------ /internal/facts

/// `GET /internal/facts?from=&to=[&merged_only=true]`: newline-delimited JSON, not one
/// message, so not a [`Route`]. Its lines, typed once, are [`CaseFacts`] then the trailer
/// [`FactsEnd`] declaring their count (or a [`FactsInterrupted`] line); [`FactsReader`]
/// reads it strictly and checks the count. The format is described in
/// [`crate::store::facts`].
pub const FACTS_PATH: &str = "/internal/facts";

pub use crate::store::facts::{CaseFacts, End as FactsEnd, FactsError, FactsReader, Interrupted as FactsInterrupted};

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::internal::parse;

    const NEW_CASE: &str = r#"{"id":"e1","source":"resident","reporter_staff_id":null,
        "reporter":{"name":"张三","phone":null,"wechat_openid":null},"category":"A01","lng":120.86,"lat":32.01,
        "responsible_grid":"320613001001001","comprehensive_grid":null,"community":"320613001001",
        "discovered_at":null,"reported_at":"2026-11-27T08:00:00Z","description":"楼道堆放杂物","attachments":[],
        "external_ref":null,"staff":[{"staff_id":"S1","role":"grid_worker","grid_code":"320613001001001"}]}"#;

    const CREATED: &str = r#"{"id":"e1","state":"assigned","merged_into":null,"deadlines":{"report_within":"2h",
        "respond_within":"1wh","resolve_within":"5wd","respond_due":null,"resolve_due":null,"fallback_calendar":false}}"#;

    #[test]
    fn a_new_case_reads_whole_and_round_trips() {
        let new: NewCase = parse(NEW_CASE.as_bytes()).unwrap();
        assert_eq!((new.lng, new.staff.len()), (Some(120.86), 1));
        assert_eq!(parse::<NewCase>(&serde_json::to_vec(&new).unwrap()).unwrap(), new);
    }

    #[test]
    fn a_new_case_with_an_unknown_or_missing_field_is_refused() {
        let e = parse::<NewCase>(NEW_CASE.replace("\"community\"", "\"community_code\"").as_bytes()).unwrap_err();
        assert!(e.contains("unknown field `community_code`"), "{e}");
        // An Option field must be sent, as null; a list, even empty.
        let e = parse::<NewCase>(NEW_CASE.replace(r#""external_ref":null,"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `external_ref`"), "{e}");
        let e = parse::<NewCase>(NEW_CASE.replace(r#""attachments":[],"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `attachments`"), "{e}");
        let e = parse::<NewCase>(NEW_CASE.replace(r#""role":"grid_worker","#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `role`"), "{e}");
    }

    #[test]
    fn a_created_answer_with_an_unknown_field_or_state_is_refused() {
        let created: Created = parse(CREATED.as_bytes()).unwrap();
        assert_eq!((created.state, created.deadlines.resolve_within.as_str()), (State::Assigned, "5wd"));
        let e = parse::<Created>(CREATED.replace("\"merged_into\"", "\"merged_to\"").as_bytes()).unwrap_err();
        assert!(e.contains("unknown field `merged_to`"), "{e}");
        let e = parse::<Created>(CREATED.replace(r#""respond_due":null,"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `respond_due`"), "{e}");
        // An unknown case state is an error, not `reported`.
        let e = parse::<Created>(CREATED.replace("\"assigned\"", "\"parked\"").as_bytes()).unwrap_err();
        assert!(e.contains("unknown variant `parked`"), "{e}");
    }
}
