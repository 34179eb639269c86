//! The traffic light of an open deadline (督办): green while the time used is at most
//! 80 % of the time allowed, yellow up to 100 %, red beyond. Working-time deadlines
//! count working time on both sides of the ratio.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use wangge_core::migrations::{Sql, StorageError};
use wangge_core::time::{parse, render};

use crate::calendar::{Calendar, Within};
use crate::lifecycle::{Action, AssigneeKind, State};
use crate::notices::{Notice, Recipient};
use crate::reference::{self, Category};
use crate::store::reads::{COLUMNS, cases_from};
use crate::store::transition::{Step, transition_with};
use crate::store::{Actor, Case, CaseError, Context, town_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// At most 80 % of the allowed time used.
    Green,
    /// Over 80 %, up to 100 %: a reminder.
    Yellow,
    /// Past the deadline: supervision.
    Red,
}

impl std::str::FromStr for Light {
    type Err = ();

    /// `green`, `yellow` or `red`.
    fn from_str(s: &str) -> Result<Light, ()> {
        match s {
            "green" => Ok(Light::Green),
            "yellow" => Ok(Light::Yellow),
            "red" => Ok(Light::Red),
            _ => Err(()),
        }
    }
}

/// The fraction of the allowed time used at `now` (may exceed 1).
pub fn used(
    calendar: &Calendar,
    start: DateTime<Utc>,
    deadline: DateTime<Utc>,
    within: Within,
    now: DateTime<Utc>,
) -> f64 {
    let (spent, allowed) = if within.is_working_time() {
        (calendar.working_time_between(start, now), calendar.working_time_between(start, deadline))
    } else {
        (now - start, deadline - start)
    };
    let allowed = allowed.num_milliseconds().max(1) as f64;
    spent.num_milliseconds().max(0) as f64 / allowed
}

pub fn light(used: f64) -> Light {
    if used <= 0.8 {
        Light::Green
    } else if used <= 1.0 {
        Light::Yellow
    } else {
        Light::Red
    }
}

/// What one sweep batch did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepReport {
    pub handled: usize,
    pub reminders: usize,
    pub supervision_notices: usize,
    pub escalated: usize,
    /// Where the next batch starts, when more open cases remain.
    pub next_cursor: Option<String>,
}

/// One bounded batch of the supervision sweep (督办), in one transaction: the traffic
/// light of each open deadline, a reminder to the assignee on yellow, a supervision
/// notice to the assignee and their superior on red, and one escalation when a case
/// stays red for another full `resolve_within`. Every notice has a key derived from its
/// cause, so running the sweep twice (or concurrently) sends nothing twice.
pub fn sweep(db: &impl Sql, ctx: &Context, after: &str, limit: usize) -> Result<SweepReport, CaseError> {
    db.transaction(|db| {
        let cases = cases_from(db.execute(
            &format!(
                "SELECT {COLUMNS} FROM cases WHERE id > ? AND state IN ('assigned', 'in_progress', 'returned', 'escalated') \
                 AND assigned_at IS NOT NULL ORDER BY id LIMIT ?"
            ),
            &[after.into(), (limit as i64 + 1).into()],
        )?)?;
        let mut report = SweepReport::default();
        let more = cases.len() > limit;
        let cases: Vec<Case> = cases.into_iter().take(limit).collect();
        let heads = grid_heads(db, &cases)?;
        let mut categories: HashMap<String, Option<Category>> = HashMap::new();
        let mut owed: Vec<Notice> = Vec::new();
        let mut to_escalate: Vec<&Case> = Vec::new();
        for case in &cases {
            report.handled += 1;
            report.next_cursor = more.then(|| case.id.clone());
            if !categories.contains_key(&case.category) {
                categories.insert(case.category.clone(), reference::category(db, &case.category)?);
            }
            let Some(Some(category)) = categories.get(&case.category) else { continue };
            if supervise(case, category, heads.get(&case.id), ctx, &mut owed) {
                to_escalate.push(case);
            }
        }
        for kind in crate::notices::record_many(db, &owed, &render(ctx.now))? {
            match kind.as_str() {
                "reminder" => report.reminders += 1,
                _ => report.supervision_notices += 1,
            }
        }
        for case in to_escalate {
            let remarks = (Some("督办：超期未办结".into()), Vec::new());
            let step = Step { action: Action::Escalate, actor: &Actor::System, target: None, category: None };
            transition_with(db, case, step, remarks, ctx)?;
            report.escalated += 1;
        }
        Ok(report)
    })
}

/// The grid heads of a batch of cases (ordered by id), in one read; of two heads of one
/// case, the last by staff id, on either engine.
fn grid_heads(db: &impl Sql, cases: &[Case]) -> Result<HashMap<String, String>, StorageError> {
    let (first, last) = (
        cases.first().map(|c| c.id.clone()).unwrap_or_default(),
        cases.last().map(|c| c.id.clone()).unwrap_or_default(),
    );
    Ok(db
        .execute(
            "SELECT case_id, staff_id FROM case_staff WHERE case_id >= ? AND case_id <= ? AND role = 'grid_head' \
             ORDER BY case_id, staff_id",
            &[first.into(), last.into()],
        )?
        .rows
        .iter()
        .filter_map(|r| Some((r[0].as_str()?.to_owned(), r[1].as_str()?.to_owned())))
        .collect())
}

/// The notices one case's open deadlines owe now (pushed to `owed`), and whether it is
/// to be escalated: red on resolving for another full `resolve_within`, not yet escalated.
fn supervise(case: &Case, category: &Category, head: Option<&String>, ctx: &Context, owed: &mut Vec<Notice>) -> bool {
    let (Some(assigned), Ok(respond), Ok(resolve)) = (
        case.assigned_at.as_deref().and_then(parse),
        Within::parse(&category.respond_within),
        Within::parse(&category.resolve_within),
    ) else {
        return false;
    };
    let mut deadlines = Vec::new();
    if case.state == State::Assigned
        && let Some(due) = case.respond_due.as_deref().and_then(parse)
    {
        deadlines.push(("respond", due, respond));
    }
    if case.first_resolved_at.is_none()
        && let Some(due) = case.resolve_due.as_deref().and_then(parse)
    {
        deadlines.push(("resolve", due, resolve));
    }
    let recipient =
        |kind: &str, id: &str| Recipient { kind: kind.into(), id: id.into(), phone: None, wechat_openid: None };
    let assignee = recipient(
        case.assignee_kind.map(AssigneeKind::as_str).unwrap_or_default(),
        case.assignee.as_deref().unwrap_or_default(),
    );
    let mut escalate = false;
    for (which, due, within) in deadlines {
        let lit = light(used(ctx.calendar, assigned, due, within, ctx.now));
        let due_text = render(due);
        let notice = |kind: &str, recipient: Recipient| Notice {
            idempotency_key: format!("{kind}:{}:{which}:{due_text}:{}:{}", case.id, recipient.kind, recipient.id),
            case_id: case.id.clone(),
            kind: kind.to_owned(),
            recipient,
            urgency: case.priority.urgency().into(),
            payload: serde_json::json!({ "case_id": case.id, "deadline": which, "due": due_text, "light": lit }),
        };
        match lit {
            Light::Green => {}
            Light::Yellow => owed.push(notice("reminder", assignee.clone())),
            Light::Red => {
                // The superior: the community's grid head for a grid, the town centre for a department.
                let superior = match (case.assignee_kind, head) {
                    (Some(AssigneeKind::Department), _) | (_, None) => recipient("centre", &town_of(&case.community)),
                    (_, Some(head)) => recipient("staff", head),
                };
                owed.push(notice("supervision", assignee.clone()));
                owed.push(notice("supervision", superior));
                // Red for another full resolve_within: up one level, once.
                escalate |= which == "resolve"
                    && case.state != State::Escalated
                    && ctx.now > ctx.calendar.deadline(due, within).at;
            }
        }
    }
    escalate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn boundaries() {
        assert_eq!(light(0.0), Light::Green);
        assert_eq!(light(0.8), Light::Green);
        assert_eq!(light(0.80001), Light::Yellow);
        assert_eq!(light(1.0), Light::Yellow);
        assert_eq!(light(1.00001), Light::Red);
    }

    #[test]
    fn working_time_lights_stop_over_the_weekend() {
        let c = Calendar::default();
        let start = at("2026-11-27T16:00:00+08:00");
        let within = Within::WorkHours(4);
        let deadline = c.deadline(start, within).at;
        // Saturday noon: only Friday's 1.5 h of 4 h are used.
        let u = used(&c, start, deadline, within, at("2026-11-28T12:00:00+08:00"));
        assert!((u - 0.375).abs() < 1e-9, "{u}");
        assert_eq!(light(u), Light::Green);
        // Monday 10:30: 3.5 h of 4 h.
        assert_eq!(light(used(&c, start, deadline, within, at("2026-11-30T10:30:00+08:00"))), Light::Yellow);
        assert_eq!(light(used(&c, start, deadline, within, at("2026-11-30T11:01:00+08:00"))), Light::Red);
        // Wall-clock hours run through the night.
        let h = Within::Hours(10);
        let d = c.deadline(start, h).at;
        assert_eq!(light(used(&c, start, d, h, at("2026-11-28T01:00:00+08:00"))), Light::Yellow);
    }
}
