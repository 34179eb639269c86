//! How a case is read: one by id, a filtered keyset page, the states Open311 shows,
//! its staff and reporter, and the traffic light of its most pressing deadline.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};
use wangge_core::time::parse;

use crate::api::TriageNote;
use crate::calendar::{Calendar, Within};
use crate::lifecycle::{AssigneeKind, EscalationLevel, State};
use crate::reference::{Category, Priority};
use crate::store::{CaseStaff, Reporter};
use crate::supervision::{Light, light, used};

/// A case as stored (reporter's personal data apart).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: String,
    pub version: i64,
    pub state: State,
    pub category: String,
    pub domain: String,
    pub priority: Priority,
    pub source: String,
    pub reporter_staff_id: Option<String>,
    pub responsible_grid: Option<String>,
    pub comprehensive_grid: Option<String>,
    pub community: String,
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub description: String,
    pub handling_level: Option<AssigneeKind>,
    pub assignee_kind: Option<AssigneeKind>,
    pub assignee: Option<String>,
    pub assigned_at: Option<String>,
    pub respond_due: Option<String>,
    pub resolve_due: Option<String>,
    pub deadline_fallback: bool,
    pub first_resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub reopen_count: i64,
    pub reopened_by_rating: bool,
    pub external_ref: Option<String>,
    pub escalation_level: Option<EscalationLevel>,
    /// For a duplicate: the open case it joined.
    pub merged_into: Option<String>,
    /// How intake's classifier placed the case (智能派单); `null` when the category was
    /// given or hinted.
    pub triage: Option<TriageNote>,
    #[serde(skip)]
    pub log_seq: i64,
    #[serde(skip)]
    pub log_hash: String,
}

pub(crate) const COLUMNS: &str = "id, version, state, category, domain, priority, source, reporter_staff_id, responsible_grid, \
    comprehensive_grid, community, discovered_at, reported_at, description, handling_level, assignee_kind, assignee, \
    assigned_at, respond_due, resolve_due, deadline_fallback, first_resolved_at, closed_at, reopen_count, reopened_by_rating, \
    external_ref, escalation_level, log_seq, log_hash, merged_into, triage";

/// A stored state: text that names no state of the lifecycle is an error, never read as
/// `reported` (a case counted in a state it is not in).
pub(crate) fn state_of(s: &str) -> Result<State, StorageError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StorageError::Io(format!("a case's stored state `{s}` is no state of the lifecycle")))
}

/// A stored triage note: JSON this build cannot read is an error, never dropped.
pub(crate) fn triage_of(v: &SqlValue) -> Result<Option<TriageNote>, StorageError> {
    v.as_str()
        .map(|s| {
            serde_json::from_str(s)
                .map_err(|e| StorageError::Io(format!("a case's stored triage note is unreadable: {e}")))
        })
        .transpose()
}

/// An optional column of one of the small enums; text it does not know reads as none.
pub(crate) fn parsed<T: std::str::FromStr>(v: &SqlValue) -> Option<T> {
    v.as_str().and_then(|s| s.parse().ok())
}

pub(crate) fn cases_from(rows: Rows) -> Result<Vec<Case>, StorageError> {
    let t = |v: &SqlValue| v.as_str().map(str::to_owned);
    let s = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    rows.rows
        .iter()
        .map(|r| {
            Ok(Case {
                id: s(&r[0]),
                version: r[1].as_i64().unwrap_or(0),
                state: state_of(r[2].as_str().unwrap_or_default())?,
                category: s(&r[3]),
                domain: s(&r[4]),
                priority: s(&r[5]).parse().unwrap_or_default(),
                source: s(&r[6]),
                reporter_staff_id: t(&r[7]),
                responsible_grid: t(&r[8]),
                comprehensive_grid: t(&r[9]),
                community: s(&r[10]),
                discovered_at: t(&r[11]),
                reported_at: s(&r[12]),
                description: s(&r[13]),
                handling_level: parsed(&r[14]),
                assignee_kind: parsed(&r[15]),
                assignee: t(&r[16]),
                assigned_at: t(&r[17]),
                respond_due: t(&r[18]),
                resolve_due: t(&r[19]),
                deadline_fallback: r[20].as_i64() == Some(1),
                first_resolved_at: t(&r[21]),
                closed_at: t(&r[22]),
                reopen_count: r[23].as_i64().unwrap_or(0),
                reopened_by_rating: r[24].as_i64() == Some(1),
                external_ref: t(&r[25]),
                escalation_level: parsed(&r[26]),
                log_seq: r[27].as_i64().unwrap_or(0),
                log_hash: s(&r[28]),
                merged_into: t(&r[29]),
                triage: triage_of(&r[30])?,
            })
        })
        .collect()
}

pub fn get(db: &impl Sql, id: &str) -> Result<Option<Case>, StorageError> {
    Ok(cases_from(db.execute(&format!("SELECT {COLUMNS} FROM cases WHERE id = ?"), &[id.into()])?)?.into_iter().next())
}

pub fn staff(db: &impl Sql, id: &str) -> Result<Vec<CaseStaff>, StorageError> {
    Ok(db
        .execute("SELECT staff_id, role, grid_code FROM case_staff WHERE case_id = ? ORDER BY staff_id", &[id.into()])?
        .rows
        .iter()
        .map(|r| CaseStaff {
            staff_id: r[0].as_str().unwrap_or_default().to_owned(),
            role: r[1].as_str().unwrap_or_default().to_owned(),
            grid_code: r[2].as_str().unwrap_or_default().to_owned(),
        })
        .collect())
}

/// The reporter of a case (personal data: callers decide whether to mask it).
pub fn reporter(db: &impl Sql, id: &str) -> Result<Reporter, StorageError> {
    Ok(reporters(db, &[id])?.remove(id).unwrap_or_default())
}

/// The reporters of several cases, in one read.
pub fn reporters(db: &impl Sql, ids: &[&str]) -> Result<HashMap<String, Reporter>, StorageError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let params: Vec<SqlValue> = ids.iter().map(|id| (*id).into()).collect();
    let rows = db.execute(
        &format!("SELECT case_id, name, phone, wechat_openid FROM case_reporters WHERE case_id IN ({marks})"),
        &params,
    )?;
    Ok(rows
        .rows
        .iter()
        .filter_map(|r| {
            let reporter = Reporter {
                name: r[1].as_str().map(str::to_owned),
                phone: r[2].as_str().map(str::to_owned),
                wechat_openid: r[3].as_str().map(str::to_owned),
            };
            Some((r[0].as_str()?.to_owned(), reporter))
        })
        .collect())
}

/// Filters of `GET /v1/cases`; every one optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub region_prefix: String,
    pub grid: Option<String>,
    pub assignee: Option<String>,
    pub state: Option<String>,
    pub category: Option<String>,
    /// Reported at or after / before (RFC 3339 as stored).
    pub reported_from: Option<String>,
    pub reported_to: Option<String>,
}

/// One keyset page of cases, newest id last (`limit + 1` fetched to know if more remain).
/// A filter left out is bound as `NULL`, cast to text: PostgreSQL gives a parameter
/// that stands alone in `? IS NULL` no type.
pub fn list(db: &impl Sql, filter: &Filter, after: &str, limit: usize) -> Result<Vec<Case>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cases WHERE community >= ? AND community < ? AND id > ? \
         AND (CAST(? AS TEXT) IS NULL OR responsible_grid = ?) AND (CAST(? AS TEXT) IS NULL OR assignee = ?) \
         AND (CAST(? AS TEXT) IS NULL OR state = ?) AND (CAST(? AS TEXT) IS NULL OR category = ?) \
         AND (CAST(? AS TEXT) IS NULL OR reported_at >= ?) AND (CAST(? AS TEXT) IS NULL OR reported_at < ?) \
         ORDER BY id LIMIT ?"
    );
    let pair = |v: &Option<String>| -> [SqlValue; 2] { [v.clone().into(), v.clone().into()] };
    let mut params: Vec<SqlValue> =
        vec![filter.region_prefix.as_str().into(), format!("{}\u{10FFFF}", filter.region_prefix).into(), after.into()];
    for v in
        [&filter.grid, &filter.assignee, &filter.state, &filter.category, &filter.reported_from, &filter.reported_to]
    {
        params.extend(pair(v));
    }
    params.push((limit as i64 + 1).into());
    cases_from(db.execute(&sql, &params)?)
}

/// Where a case stands, as Open311 shows it (the answer of
/// [`crate::api::CaseStates`]).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseState {
    pub id: String,
    /// An unknown state is an error, not a default.
    pub state: State,
    pub open: bool,
    pub updated_at: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub resolve_due: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub merged_into: Option<String>,
    /// The handling grid's or department's code.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub assignee: Option<String>,
}

/// The states of many cases in one statement (unknown ids are left out).
pub fn states(db: &impl Sql, ids: &[String]) -> Result<Vec<CaseState>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let rows = db.execute(
        "SELECT id, state, updated_at, resolve_due, merged_into, assignee FROM cases \
         WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        &[list.into()],
    )?;
    let text = |v: &SqlValue| v.as_str().map(str::to_owned);
    rows.rows
        .iter()
        .map(|r| {
            let state = state_of(&text(&r[1]).unwrap_or_default())?;
            Ok(CaseState {
                id: text(&r[0]).unwrap_or_default(),
                state,
                open: state.is_open(),
                updated_at: text(&r[2]).unwrap_or_default(),
                resolve_due: text(&r[3]),
                merged_into: text(&r[4]),
                assignee: text(&r[5]),
            })
        })
        .collect()
}

/// The light of a case's most pressing open deadline (responding while assigned, then
/// resolving until resolved); `None` when no deadline runs.
pub fn light_of(case: &Case, category: &Category, calendar: &Calendar, now: DateTime<Utc>) -> Option<Light> {
    let assigned = case.assigned_at.as_deref().and_then(parse)?;
    let mut worst = None;
    if case.state == State::Assigned
        && let (Some(due), Ok(within)) =
            (case.respond_due.as_deref().and_then(parse), Within::parse(&category.respond_within))
    {
        worst = worst.max(Some(light(used(calendar, assigned, due, within, now))));
    }
    if case.state.is_open()
        && case.first_resolved_at.is_none()
        && let (Some(due), Ok(within)) =
            (case.resolve_due.as_deref().and_then(parse), Within::parse(&category.resolve_within))
    {
        worst = worst.max(Some(light(used(calendar, assigned, due, within, now))));
    }
    worst
}

/// Of `cases`, those whose worst deadline light at `now` is `wanted` (the light is
/// computed, not stored): each category's deadlines read once.
pub fn with_light(
    db: &impl Sql,
    cases: Vec<Case>,
    wanted: Light,
    now: DateTime<Utc>,
) -> Result<Vec<Case>, StorageError> {
    let calendar = crate::reference::calendar(db)?;
    let mut categories = HashMap::new();
    let mut kept = Vec::new();
    for case in cases {
        if !categories.contains_key(&case.category) {
            categories.insert(case.category.clone(), crate::reference::category(db, &case.category)?);
        }
        let light = categories[&case.category].as_ref().and_then(|c| light_of(&case, c, &calendar, now));
        if light == Some(wanted) {
            kept.push(case);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn a_stored_state_that_is_no_state_is_an_error_not_reported() {
        assert_eq!(state_of("in_progress").unwrap(), State::InProgress);
        let bogus = state_of("bogus").unwrap_err();
        assert!(bogus.to_string().contains("`bogus`"), "{bogus}");
        assert!(state_of("").is_err());
    }
}
