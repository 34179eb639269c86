//! case-routing's internal routes, typed once here and used by their callers and by
//! case-routing alike:
//!
//! - `POST /internal/cases` ([`CreateCase`]): intake makes a case from an event, sending
//!   [`NewCase`] and reading [`Created`];
//! - `POST /internal/cases/states` ([`CaseStates`]): intake's Open311 answers ask where
//!   cases stand;
//! - `GET /internal/categories` and `GET /internal/facts`, below;
//! - `POST /internal/triage/corrections` ([`Corrections`]): intake's retrain (智能派单)
//!   reads the centre's category corrections (改类).
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

/// How intake's classifier placed the case (智能派单): the model, its confidence, and its top three.
/// Sent in [`NewCase::triage`] (`null` when the category was given or hinted) and kept on the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageNote {
    /// The model that classified the order (its name and version, as intake names it).
    pub model: String,
    /// The model's confidence in the category it chose, 0 to 1.
    pub confidence: f64,
    /// Its top three categories, best first.
    pub suggestions: Vec<Suggestion>,
}

/// One category the classifier suggests, with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suggestion {
    /// A catalogue category code.
    pub category: String,
    /// The model's score for it, 0 to 1.
    pub score: f64,
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

// ------------------------------------------------------- /internal/triage/corrections

wangge_core::internal_route! {
    /// `POST /internal/triage/corrections` (intake's retrain): the centre's category corrections, oldest first, after a cursor.
    Corrections: POST "case-routing" "/internal/triage/corrections", CorrectionsRequest => CorrectionsPage
}

/// At most this many corrections per page.
pub const MAX_CORRECTIONS: u32 = 1000;

/// A page of corrections asked for: those after sequence number `after` (0 for the
/// first page), at most `limit` (1 to [`MAX_CORRECTIONS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionsRequest {
    pub after: i64,
    pub limit: u32,
}

/// One category correction (改类): a case's text, the category it had and the one the
/// centre gave it. A case corrected twice has two rows, both kept: a retrain takes the
/// newest label (the highest `seq`) per text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The correction's sequence number: the cursor.
    pub seq: i64,
    pub case_id: String,
    /// The case's description, as reported.
    pub text: String,
    pub from_category: String,
    pub to_category: String,
    /// The model of the case's triage note, `null` when no model placed it.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub model: Option<String>,
    /// When the centre corrected it (RFC 3339, +08:00).
    pub at: String,
}

/// The answer to [`Corrections`]: oldest first; `next` is the cursor to ask after when
/// more may follow (`null` at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionsPage {
    pub items: Vec<Correction>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub next: Option<i64>,
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
        "external_ref":null,"staff":[{"staff_id":"S1","role":"grid_worker","grid_code":"320613001001001"}],"triage":null}"#;

    const TRIAGE: &str = r#"{"model":"triage-nb-2026-11","confidence":0.42,
        "suggestions":[{"category":"A01","score":0.42},{"category":"B05","score":0.31},{"category":"C02","score":0.1}]}"#;

    const PAGE: &str = r#"{"items":[{"seq":3,"case_id":"e1","text":"楼道堆放杂物","from_category":"Z99",
        "to_category":"A01","model":null,"at":"2026-11-30T10:00:00+08:00"}],"next":3}"#;

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
    fn a_new_case_carries_its_triage_note_which_must_be_sent_and_reads_strictly() {
        let noted = NEW_CASE.replace(r#""triage":null"#, &format!(r#""triage":{TRIAGE}"#));
        let new: NewCase = parse(noted.as_bytes()).unwrap();
        let note = new.triage.as_ref().unwrap();
        assert_eq!((note.model.as_str(), note.confidence, note.suggestions.len()), ("triage-nb-2026-11", 0.42, 3));
        assert_eq!(note.suggestions[1], Suggestion { category: "B05".into(), score: 0.31 });
        assert_eq!(parse::<NewCase>(&serde_json::to_vec(&new).unwrap()).unwrap(), new);
        assert_eq!(parse::<NewCase>(NEW_CASE.as_bytes()).unwrap().triage, None);
        // Sent even when no model placed the case: as null.
        let e = parse::<NewCase>(NEW_CASE.replace(r#","triage":null"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `triage`"), "{e}");
        let e = parse::<NewCase>(noted.replace("\"confidence\"", "\"certainty\"").as_bytes()).unwrap_err();
        assert!(e.contains("unknown field `certainty`"), "{e}");
        let e = parse::<NewCase>(noted.replace(r#","score":0.31"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `score`"), "{e}");
    }

    #[test]
    fn corrections_are_asked_and_answered_strictly() {
        use wangge_core::internal::Route;
        assert_eq!((Corrections::METHOD, Corrections::PATH), ("POST", "/internal/triage/corrections"));
        let asked: CorrectionsRequest = parse(br#"{"after":0,"limit":100}"#).unwrap();
        assert_eq!(asked, CorrectionsRequest { after: 0, limit: 100 });
        assert!(parse::<CorrectionsRequest>(br#"{"after":0}"#).unwrap_err().contains("missing field `limit`"));
        assert!(parse::<CorrectionsRequest>(br#"{"after":0,"limit":1,"x":1}"#).unwrap_err().contains("unknown field"));
        let page: CorrectionsPage = parse(PAGE.as_bytes()).unwrap();
        assert_eq!(
            (page.items[0].to_category.as_str(), page.items[0].model.as_deref(), page.next),
            ("A01", None, Some(3))
        );
        let e = parse::<CorrectionsPage>(PAGE.replace(r#","model":null"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `model`"), "{e}");
        let e = parse::<CorrectionsPage>(PAGE.replace(r#","next":3"#, "").as_bytes()).unwrap_err();
        assert!(e.contains("missing field `next`"), "{e}");
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
