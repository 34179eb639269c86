//! What callers send: a report to make a case ([`NewCase`]), and an action on one
//! ([`ActionRequest`]) by an [`Actor`], perhaps towards a [`Target`].

use serde::{Deserialize, Serialize};

use crate::api::TriageNote;
use crate::lifecycle::Action;
use crate::store::Reporter;

pub const SOURCES: &[&str] = &["grid_staff", "resident", "hotline", "open311", "department", "inspection"];

/// Who answers for a case as grid staff, as grid-lookup said when the case was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseStaff {
    pub staff_id: String,
    pub role: String,
    pub grid_code: String,
}

/// What intake hands over to make a case: the request of
/// [`CreateCase`](crate::api::CreateCase). Every field is sent (`null` or empty when it
/// does not apply); an unknown or a missing one refuses the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub id: String,
    pub source: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub reporter_staff_id: Option<String>,
    pub reporter: Reporter,
    pub category: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub lng: Option<f64>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub lat: Option<f64>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub responsible_grid: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub comprehensive_grid: Option<String>,
    pub community: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub description: String,
    pub attachments: Vec<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub external_ref: Option<String>,
    pub staff: Vec<CaseStaff>,
    /// How intake's classifier placed the case (智能派单); `null` when the category was
    /// given or hinted. Kept on the case as sent.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub triage: Option<TriageNote>,
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// Grid staff, by staff id.
    Staff(String),
    /// A department, by department code.
    Department(String),
    /// A command centre, by the region code it serves.
    Centre(String),
    /// The case's reporter.
    Reporter,
    /// Automatic routing.
    System,
}

impl Actor {
    /// The actor's id as the log records it.
    pub(crate) fn id(&self) -> String {
        match self {
            Actor::Staff(id) | Actor::Department(id) | Actor::Centre(id) => id.clone(),
            Actor::Reporter => "reporter".into(),
            Actor::System => "system".into(),
        }
    }

    /// The actor's role as the log records it.
    pub(crate) fn role(&self) -> &'static str {
        match self {
            Actor::Staff(_) => "grid_staff",
            Actor::Department(_) => "department",
            Actor::Centre(_) => "centre",
            Actor::Reporter => "reporter",
            Actor::System => "system",
        }
    }
}

/// Where an assignment sends a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum Target {
    /// For `assign`: one of the case's grids, by grid code.
    Grid(String),
    /// For `assign` and `escalate`: a department, by department code.
    Department(String),
    /// For `merge`: the open case this one duplicates.
    Case(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub action: Action,
    pub actor: Actor,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub target: Option<Target>,
    /// For `recategorize` (改类): the catalogue category the case is to have.
    #[serde(default)]
    pub category: Option<String>,
    /// Optimistic concurrency: the version the actor saw (`If-Match`).
    #[serde(default)]
    pub expected_version: Option<i64>,
}

impl ActionRequest {
    /// Whether the action sets deadlines, and so needs the working calendar: an
    /// assignment, or an escalation straight to a named department (which assigns).
    /// Every other action leaves the deadlines as they are.
    pub fn sets_deadlines(&self) -> bool {
        match self.action {
            Action::Assign | Action::Reassign => true,
            Action::Escalate => matches!(self.target, Some(Target::Department(_))),
            _ => false,
        }
    }
}
