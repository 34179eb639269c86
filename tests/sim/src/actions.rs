//! Doing what a case's people planned: one job per case per step, its requests in order.
//! Two staff signing at once race on purpose; a conflict is read back and reconciled
//! (the sweep may have escalated the case meanwhile, or a lost answer hidden a success).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::client::Client;
use crate::people::{Case, Plan, State};
use crate::record::{Assignee, Step};
use crate::system::Keys;

/// What one job met, beside the case it returns.
#[derive(Debug, Default, Clone)]
pub struct Met {
    /// Actions answered 200.
    pub done: usize,
    /// Two actors at once: how many races were decided, and how many had exactly one
    /// winner; races met by an outage (both answered `5xx`) are run again, and counted apart.
    pub races: usize,
    pub races_one_winner: usize,
    pub races_undecided: usize,
    /// Conflicts read back and reconciled (a sweep's escalation, a lost answer).
    pub reconciled: usize,
    /// Answers `5xx` (a function down): the step is tried again next time.
    pub unavailable: usize,
    /// Actions done whose answer was lost (the host killed after the commit).
    pub lost_answers: usize,
    /// What the driver did not expect.
    pub anomalies: Vec<String>,
}

/// Carries out `case`'s plan at `now`.
pub fn run(client: &Client, keys: &Keys, now: DateTime<Utc>, mut case: Case, met: &mut Met) -> Case {
    let Some((_, plan)) = case.plan.take() else { return case };
    let (state_before, unavailable_before) = (case.state, met.unavailable);
    let grid_actor = json!({ "kind": "staff", "id": case.staff.0 });
    let handler = match case.assigned().map(|(_, to)| to.clone()) {
        Some(Assignee::Department(code)) => json!({ "kind": "department", "id": code }),
        _ => grid_actor.clone(),
    };
    let centre = json!({ "kind": "centre", "id": case.centre });
    let department_target = case.department.clone().map(|code| json!({ "kind": "department", "code": code }));
    let result = match plan {
        Plan::Triage if case.will_reject && case.state == State::Reported => act(
            client,
            keys,
            &mut case,
            now,
            json!({ "action": "reject", "actor": centre, "note": "不属于受理范围" }),
            met,
        ),
        Plan::Triage => {
            let accepted = case.state == State::Accepted
                || act(client, keys, &mut case, now, json!({ "action": "accept", "actor": centre }), met);
            accepted && {
                let target = triage_target(&case);
                act(client, keys, &mut case, now, json!({ "action": "assign", "actor": centre, "target": target }), met)
            }
        }
        Plan::Assign => match department_target {
            Some(target) => {
                act(client, keys, &mut case, now, json!({ "action": "assign", "actor": centre, "target": target }), met)
            }
            None => {
                let target = json!({ "kind": "grid", "code": case.record.responsible_grid });
                act(client, keys, &mut case, now, json!({ "action": "assign", "actor": centre, "target": target }), met)
            }
        },
        Plan::Sign { twice: true } => race(client, keys, &mut case, now, &handler, met),
        Plan::Sign { twice: false } => {
            act(client, keys, &mut case, now, json!({ "action": "sign", "actor": handler }), met)
        }
        Plan::Return => act(
            client,
            keys,
            &mut case,
            now,
            json!({ "action": "return", "actor": handler, "note": "不属于本网格" }),
            met,
        ),
        Plan::Escalate => {
            let body = json!({ "action": "escalate", "actor": handler, "note": "网格吹哨，部门报到", "target": department_target });
            act(client, keys, &mut case, now, body, met)
        }
        Plan::Resolve => {
            act(client, keys, &mut case, now, json!({ "action": "resolve", "actor": handler, "note": "已处置" }), met)
        }
        Plan::Verify { pass } => {
            let action = if pass { "verify_pass" } else { "verify_fail" };
            act(client, keys, &mut case, now, json!({ "action": action, "actor": centre, "note": "核查" }), met)
        }
        Plan::Rate => act(
            client,
            keys,
            &mut case,
            now,
            json!({ "action": "rate_dissatisfied", "actor": { "kind": "reporter" } }),
            met,
        ),
    };
    let down = met.unavailable > unavailable_before;
    if !result && down && case.state == state_before && case.plan.is_none() {
        // Not done (a function was down): the same step again at the next chance. A case
        // whose state changed meanwhile (the sweep escalated it) is planned afresh; one
        // refused for good (an anomaly) is left alone, and the ledger says so.
        case.plan = Some((now, plan));
    }
    case
}

/// Where the centre sends a case it accepts: its grid when the grid may resolve the
/// matter, else its department.
fn triage_target(case: &Case) -> Value {
    match (&case.department, case.grid_may_resolve) {
        (Some(code), false) => json!({ "kind": "department", "code": code }),
        _ => json!({ "kind": "grid", "code": case.record.responsible_grid }),
    }
}

/// One action; on success the case follows the answer. Returns whether it was done.
fn act(client: &Client, keys: &Keys, case: &mut Case, now: DateTime<Utc>, body: Value, met: &mut Met) -> bool {
    let path = format!("/v1/cases/{}/actions", case.record.id);
    let reply = client.json("POST", &path, &keys.centre, Some(&body));
    match reply.status {
        200 => {
            met.done += 1;
            follow(case, now, &body, &reply.json());
            true
        }
        409 => reconcile(client, keys, case, now, &body, met),
        500..=599 => {
            met.unavailable += 1;
            false
        }
        _ => {
            met.anomalies.push(format!("case {} {}: {} {}", case.record.id, body["action"], reply.status, reply.body));
            false
        }
    }
}

/// Two actors sign at once: exactly one must win, the other learn the state (409).
fn race(client: &Client, keys: &Keys, case: &mut Case, now: DateTime<Utc>, handler: &Value, met: &mut Met) -> bool {
    let second = match handler["kind"].as_str() {
        Some("staff") => json!({ "kind": "staff", "id": case.staff.1 }),
        _ => handler.clone(),
    };
    let path = format!("/v1/cases/{}/actions", case.record.id);
    let bodies = [json!({ "action": "sign", "actor": handler }), json!({ "action": "sign", "actor": second })];
    let replies: Vec<wangge_e2e::Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|b| {
                let (path, key, bases) = (&path, &keys.centre, client.bases().to_vec());
                s.spawn(move || Client::new(bases).json("POST", path, key, Some(b)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a racing actor")).collect()
    });
    let wins: Vec<&wangge_e2e::Reply> = replies.iter().filter(|r| r.status == 200).collect();
    let lost = replies.iter().filter(|r| r.status == 409).count();
    let down = replies.iter().any(|r| r.status >= 500);
    if wins.is_empty() && down {
        // A function was down: nobody signed, the race is run again at the next step.
        met.races_undecided += 1;
        met.unavailable += 1;
        return false;
    }
    met.races += 1;
    // One winner; the other learned the state (409), or met the outage after the winner.
    if wins.len() == 1 && (lost == 1 || down) {
        met.races_one_winner += 1;
        met.done += 1;
        let body = if replies[0].status == 200 { &bodies[0] } else { &bodies[1] };
        follow(case, now, body, &wins[0].json());
        return true;
    }
    let seen: Vec<String> = replies.iter().map(|r| format!("{} {}", r.status, r.body)).collect();
    met.anomalies.push(format!("case {}: two signing at once: {seen:?}", case.record.id));
    false
}

/// The case after a successful action: its new state, and the step in the driver's record.
fn follow(case: &mut Case, now: DateTime<Utc>, body: &Value, answer: &Value) {
    let Some(state) = answer["state"].as_str().and_then(crate::people::parse_state) else { return };
    let step = match body["action"].as_str().unwrap_or_default() {
        "accept" => Some(Step::Accepted { at: now }),
        "reject" => Some(Step::Rejected { at: now }),
        "assign" | "reassign" => Some(Step::Assigned { at: now, to: assignee(&body["target"]) }),
        "sign" => Some(Step::Signed { at: now }),
        "return" => Some(Step::Returned { at: now }),
        "resolve" => Some(Step::Resolved { at: now }),
        "verify_pass" => Some(Step::Closed { at: now }),
        "verify_fail" | "rate_dissatisfied" => Some(Step::Reopened { at: now }),
        "escalate" => {
            case.record.steps.push(Step::Escalated { at: now });
            body["target"].is_object().then(|| Step::Assigned { at: now, to: assignee(&body["target"]) })
        }
        _ => None,
    };
    case.record.steps.extend(step);
    case.state = state;
}

/// A conflict: reads the case back. A state the action would have made is the action
/// done, its answer lost (a host killed after the commit, the client's retry refused):
/// taken as done, returning true. A sweep's escalation is taken into the record.
fn reconcile(client: &Client, keys: &Keys, case: &mut Case, now: DateTime<Utc>, body: &Value, met: &mut Met) -> bool {
    let reply = client.send("GET", &format!("/v1/cases/{}", case.record.id), &keys.centre, &[], None);
    let actual = reply.json();
    let Some(state) = actual["state"].as_str().and_then(crate::people::parse_state) else {
        met.anomalies.push(format!("case {}: unreadable after a conflict: {}", case.record.id, reply.body));
        return false;
    };
    met.reconciled += 1;
    if Some(state) == made_by(body) && state != case.state && last_logged(client, keys, &case.record.id, body, now) {
        met.lost_answers += 1;
        follow(case, now, body, &actual);
        return true;
    }
    if state == State::Escalated && case.state != State::Escalated {
        case.record.steps.push(Step::Escalated { at: now });
        case.state = state;
        return false;
    }
    met.anomalies.push(format!(
        "case {}: {} refused in state {} (the driver thought {})",
        case.record.id,
        body["action"],
        state.as_str(),
        case.state.as_str()
    ));
    case.state = state;
    false
}

/// Whether the case's log ends with `body`'s action, done at `now`.
fn last_logged(client: &Client, keys: &Keys, id: &str, body: &Value, now: DateTime<Utc>) -> bool {
    let log = client.send("GET", &format!("/v1/cases/{id}/log"), &keys.centre, &[], None).json();
    let entries = log["entries"].as_array().cloned().unwrap_or_default();
    let at =
        |e: &Value| e["at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
    // An escalation to a department logs its assignment after it.
    entries.iter().rev().take(2).any(|e| e["action"] == body["action"] && at(e) == Some(now))
}

/// The state an action leaves a case in.
fn made_by(body: &Value) -> Option<State> {
    Some(match body["action"].as_str()? {
        "accept" => State::Accepted,
        "reject" => State::Rejected,
        "assign" | "reassign" => State::Assigned,
        "sign" | "verify_fail" | "rate_dissatisfied" => State::InProgress,
        "return" => State::Returned,
        "escalate" if body["target"].is_object() => State::Assigned,
        "escalate" => State::Escalated,
        "resolve" => State::Resolved,
        "verify_pass" => State::Closed,
        _ => return None,
    })
}

fn assignee(target: &Value) -> Assignee {
    let code = text(&target["code"]);
    if target["kind"] == "department" { Assignee::Department(code) } else { Assignee::Grid(code) }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
