//! Acting on a case: one action, authorized and checked against the lifecycle, applied
//! in one transaction as named steps — [`check`] the transition, [`state_change`] (with
//! [`assignment`]'s deadlines, or a [`recategorization`]'s new category), [`rework`]
//! bookkeeping, [`write`] the row and its log entry (and a recategorization's correction),
//! and [`queue_notices`] for whoever the change owes one.

use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_core::time::{parse, render};

use crate::calendar::Within;
use crate::lifecycle::{self, Action, AssigneeKind, EscalationLevel, Facts, Transition, authorize};
use crate::log::{self, Draft};
use crate::notices::{Notice, Recipient};
use crate::reference::{self, Category};
use crate::refusal::{Clash, Invalid};
use crate::store::{ActionRequest, Actor, Case, CaseError, Context, Target, corrections, get, reporter, town_of};

/// Applies one action, authorized and validated against the current state, in one
/// transaction. Of two actors racing on one case, exactly one wins.
pub fn act(db: &impl Sql, case_id: &str, request: &ActionRequest, ctx: &Context) -> Result<Case, CaseError> {
    db.transaction(|db| {
        let case = get(db, case_id)?.ok_or(CaseError::NotFound)?;
        if let Some(expected) = request.expected_version
            && expected != case.version
        {
            return Err(CaseError::Conflict {
                state: case.state,
                version: case.version,
                clash: Clash::Version { expected },
            });
        }
        authorize(db, &case, &request.actor, request.action)?;
        let remarks = (request.note.clone(), request.attachments.clone());
        let step = Step {
            action: request.action,
            actor: &request.actor,
            target: request.target.as_ref(),
            category: request.category.as_deref(),
        };
        transition_with(db, &case, step, remarks, ctx)?;
        // "The grid blows the whistle, the department reports for duty": an escalation
        // that names a department goes straight to it, in the same transaction.
        if let (Action::Escalate, Some(department @ Target::Department(_))) = (request.action, &request.target) {
            let escalated = get(db, case_id)?.ok_or(CaseError::NotFound)?;
            let assign =
                Step { action: Action::Assign, actor: &request.actor, target: Some(department), category: None };
            transition_with(db, &escalated, assign, (None, Vec::new()), ctx)?;
        }
        Ok(())
    })?;
    get(db, case_id)?.ok_or(CaseError::NotFound)
}

/// An action by automatic routing, on the case as stored now.
pub(crate) fn transition(
    db: &impl Sql,
    case_id: &str,
    action: Action,
    actor: &Actor,
    target: Option<&Target>,
    ctx: &Context,
) -> Result<(), CaseError> {
    let case = get(db, case_id)?.ok_or(CaseError::NotFound)?;
    transition_with(db, &case, Step { action, actor, target, category: None }, (None, Vec::new()), ctx)
}

/// What is done to a case: the action, by whom, towards what target, and for
/// `recategorize` (改类) the category the case is to have.
pub(crate) struct Step<'a> {
    pub action: Action,
    pub actor: &'a Actor,
    pub target: Option<&'a Target>,
    pub category: Option<&'a str>,
}

/// Columns of the case row a transition sets, with their values.
type Sets = Vec<(&'static str, SqlValue)>;

/// `step` applied to `case`; `(note, attachments)` go to the log. A recategorization
/// (改类) records its correction in the same transaction, by its log entry.
pub(crate) fn transition_with(
    db: &impl Sql,
    case: &Case,
    step: Step,
    (mut note, attachments): (Option<String>, Vec<String>),
    ctx: &Context,
) -> Result<(), CaseError> {
    let Step { action, actor, target, category } = step;
    let outcome = check(case, action, ctx)?;
    let now = render(ctx.now);
    let mut sets: Sets = vec![("state", outcome.to.as_str().into()), ("updated_at", now.as_str().into())];
    sets.extend(state_change(db, case, action, target, ctx)?);
    if outcome.rework {
        sets.extend(rework(db, case, action, &now)?);
    }
    let recategorized = match action {
        Action::Recategorize => Some(recategorization(db, case, category)?),
        _ => None,
    };
    if let Some(to) = &recategorized {
        sets.extend(recategorized_columns(to));
        note = Some(recategorized_note(&case.category, &to.code, note));
    }
    // The log entry, chained to the head kept on the case row: no read of the log.
    let draft =
        Draft { from: Some(case.state), to: outcome.to, action: action.as_str(), actor, at: &now, note, attachments };
    let seq = write(db, case, sets, draft)?;
    if let Some(to) = &recategorized {
        corrections::record(db, case, &to.code, seq, &now)?;
    }
    queue_notices(db, &case.id, action, seq, &now)
}

/// Step 2, for a recategorization (改类): the category the case is to have, a known one
/// of the catalogue other than its own.
fn recategorization(db: &impl Sql, case: &Case, category: Option<&str>) -> Result<Category, CaseError> {
    let code = category.ok_or(CaseError::Invalid(Invalid::RecategorizeWithoutCategory))?;
    let to = reference::category(db, code)?.ok_or_else(|| CaseError::Invalid(Invalid::UnknownCategory(code.into())))?;
    if to.code == case.category {
        return Err(CaseError::Invalid(Invalid::CategoryUnchanged(to.code)));
    }
    Ok(to)
}

/// The columns a new category sets: the category, and the domain and priority that come
/// with it (assessment counts the case in its new domain). The deadlines stay: they are
/// set at assignment, from the category the case has then.
fn recategorized_columns(to: &Category) -> Sets {
    vec![
        ("category", to.code.as_str().into()),
        ("domain", to.domain.as_str().into()),
        ("priority", to.priority.as_str().into()),
    ]
}

/// The log's note of a recategorization: from and to, then the centre's own note.
fn recategorized_note(from: &str, to: &str, note: Option<String>) -> String {
    match note {
        Some(note) => format!("category {from} → {to}: {note}"),
        None => format!("category {from} → {to}"),
    }
}

/// Step 1: whether the lifecycle allows `action` on `case` now, and what it leads to.
fn check(case: &Case, action: Action, ctx: &Context) -> Result<Transition, CaseError> {
    let facts = Facts {
        seconds_since_closed: case.closed_at.as_deref().and_then(parse).map(|t| (ctx.now - t).num_seconds()),
        reopened_by_rating: case.reopened_by_rating,
    };
    lifecycle::apply(case.state, action, facts).map_err(|e| CaseError::Conflict {
        state: case.state,
        version: case.version,
        clash: Clash::Transition(e),
    })
}

/// Step 2: the columns the action itself changes, beyond the state.
fn state_change(
    db: &impl Sql,
    case: &Case,
    action: Action,
    target: Option<&Target>,
    ctx: &Context,
) -> Result<Sets, CaseError> {
    let now = render(ctx.now);
    Ok(match action {
        Action::Assign | Action::Reassign => assignment(db, case, target, ctx)?,
        Action::Escalate => {
            // Up one level: grid → community → town centre → district centre → city centre.
            vec![("escalation_level", EscalationLevel::above(case.escalation_level).as_str().into())]
        }
        Action::Merge => {
            let Some(Target::Case(into)) = target else {
                return Err(CaseError::Invalid(Invalid::MergeWithoutTarget));
            };
            let open = get(db, into)?.is_some_and(|other| other.state.is_open() && other.id != case.id);
            if !open {
                return Err(CaseError::Invalid(Invalid::NotAnotherOpenCase(into.to_string())));
            }
            vec![("merged_into", into.as_str().into())]
        }
        Action::Sign => vec![("signed_at", now.as_str().into())],
        Action::Resolve if case.first_resolved_at.is_none() => vec![("first_resolved_at", now.as_str().into())],
        Action::VerifyPass => vec![("closed_at", now.as_str().into())],
        _ => Vec::new(),
    })
}

/// Step 2, for an assignment: the assignee (one of the case's grids, or a known
/// department) and the deadlines to respond and to resolve from now, on the calendar.
fn assignment(db: &impl Sql, case: &Case, target: Option<&Target>, ctx: &Context) -> Result<Sets, CaseError> {
    let Some(target) = target else {
        return Err(CaseError::Invalid(Invalid::AssignWithoutTarget));
    };
    let category = reference::category(db, &case.category)?
        .ok_or_else(|| CaseError::Invalid(Invalid::CategoryGone(case.category.clone())))?;
    let mut sets: Sets = Vec::new();
    let (kind, code) = match target {
        Target::Grid(code) => {
            if Some(code) != case.responsible_grid.as_ref() && Some(code) != case.comprehensive_grid.as_ref() {
                return Err(CaseError::Invalid(Invalid::NotThisCasesGrid(code.to_string())));
            }
            (AssigneeKind::Grid, code)
        }
        Target::Case(_) => return Err(CaseError::Invalid(Invalid::AssignToCase)),
        Target::Department(code) => {
            let known = db.execute("SELECT 1 FROM departments WHERE dept_code = ?", &[code.as_str().into()])?;
            if known.rows.is_empty() {
                return Err(CaseError::Invalid(Invalid::NoDepartment(code.to_string())));
            }
            sets.push(("escalated_to_department", 1i64.into()));
            (AssigneeKind::Department, code)
        }
    };
    let (respond, resolve) = (Within::parse(&category.respond_within), Within::parse(&category.resolve_within));
    let (Ok(respond), Ok(resolve)) = (respond, resolve) else {
        return Err(CaseError::Invalid(Invalid::UnreadableDeadlines(category.code.clone())));
    };
    // The only read of the calendar in a transition: ActionRequest::sets_deadlines
    // must name every action that reaches it, or the caller leaves it unloaded.
    let (respond_due, resolve_due) = (ctx.calendar.deadline(ctx.now, respond), ctx.calendar.deadline(ctx.now, resolve));
    let now = render(ctx.now);
    sets.extend([
        ("handling_level", kind.as_str().into()),
        ("assignee_kind", kind.as_str().into()),
        ("assignee", code.as_str().into()),
        ("assigned_at", now.as_str().into()),
        ("respond_due", render(respond_due.at).into()),
        ("resolve_due", render(resolve_due.at).into()),
        ("deadline_fallback", ((respond_due.fallback || resolve_due.fallback) as i64).into()),
    ]);
    Ok(sets)
}

/// Step 3, back to work (返工): one more reopening, and its time, on the row; a case
/// reopened from closed is no longer closed (the log keeps the closing); a dissatisfied
/// rating is remembered, since it reopens a case only once.
fn rework(db: &impl Sql, case: &Case, action: Action, now: &str) -> Result<Sets, StorageError> {
    let mut times: Vec<String> = db
        .execute("SELECT reopened_at FROM cases WHERE id = ?", &[case.id.as_str().into()])?
        .scalar()
        .and_then(SqlValue::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    times.push(now.to_owned());
    let mut sets: Sets = vec![
        ("reopen_count", (case.reopen_count + 1).into()),
        ("reopened_at", serde_json::to_string(&times).unwrap_or_else(|_| "[]".into()).into()),
    ];
    if case.closed_at.is_some() {
        sets.push(("closed_at", SqlValue::Null));
    }
    if action == Action::RateDissatisfied {
        sets.push(("reopened_by_rating", 1i64.into()));
    }
    Ok(sets)
}

/// Step 4: the row updated at the version read, with the log's new head, and the log
/// entry appended. Returns the entry's sequence number.
fn write(db: &impl Sql, case: &Case, mut sets: Sets, draft: Draft) -> Result<i64, CaseError> {
    let (entry, hash) = log::next_entry(&case.id, (case.log_seq, &case.log_hash), draft);
    sets.push(("log_seq", entry.seq.into()));
    sets.push(("log_hash", hash.as_str().into()));
    let assignments: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
    let mut params: Vec<SqlValue> = sets.into_iter().map(|(_, v)| v).collect();
    params.push(case.id.as_str().into());
    params.push(case.version.into());
    let sql = format!(
        "UPDATE cases SET version = version + 1, {} WHERE id = ? AND version = ? RETURNING version",
        assignments.join(", ")
    );
    if db.execute(&sql, &params)?.rows.is_empty() {
        // Someone else changed the case between our read and write: impossible inside
        // one IMMEDIATE transaction, but never assumed.
        return Err(CaseError::Conflict { state: case.state, version: case.version, clash: Clash::Changed });
    }
    log::insert_entry(db, &entry, &hash)?;
    Ok(entry.seq)
}

/// Step 5: the notices the transition owes, recorded in the same transaction. The
/// case is read again only when the action owes someone a notice.
fn queue_notices(db: &impl Sql, case_id: &str, action: Action, seq: i64, now: &str) -> Result<(), CaseError> {
    if matches!(
        action,
        Action::Accept
            | Action::Reject
            | Action::Merge
            | Action::VerifyPass
            | Action::Assign
            | Action::Reassign
            | Action::Escalate
    ) {
        let updated = get(db, case_id)?.ok_or(CaseError::NotFound)?;
        for notice in notices_for(db, &updated, action, seq)? {
            crate::notices::record(db, &notice, now)?;
        }
    }
    Ok(())
}

/// What a transition owes people ("Feedback"): the reporter hears of acceptance,
/// rejection, merging and closing, a hotline gets its result back, an assignee hears of
/// the assignment, and the centre of an escalation.
fn notices_for(db: &impl Sql, case: &Case, action: Action, seq: i64) -> Result<Vec<Notice>, StorageError> {
    let urgency = case.priority.urgency();
    let payload = serde_json::json!({
        "case_id": case.id,
        "category": case.category,
        "state": case.state.as_str(),
        "merged_into": case.merged_into,
        "resolve_due": case.resolve_due,
        "closed_at": case.closed_at,
    });
    let reporter = || reporter_of(db, case);
    let notice = |kind: &str, recipient: Recipient| Notice {
        idempotency_key: format!("{kind}:{}:{seq}", case.id),
        case_id: case.id.clone(),
        kind: kind.to_owned(),
        recipient,
        urgency: urgency.to_owned(),
        payload: payload.clone(),
    };
    let mut out = Vec::new();
    match action {
        Action::Accept => out.push(notice("case_accepted", reporter()?)),
        Action::Reject => out.push(notice("case_rejected", reporter()?)),
        // The reporter is told which case the report joined.
        Action::Merge => out.push(notice("case_merged", reporter()?)),
        Action::VerifyPass => {
            out.push(notice("case_closed", reporter()?));
            if let (true, Some(order)) = (case.source == "hotline", &case.external_ref) {
                out.push(notice(
                    "hotline_result",
                    Recipient { kind: "hotline".into(), id: order.clone(), phone: None, wechat_openid: None },
                ));
            }
        }
        Action::Assign | Action::Reassign => {
            if let (Some(kind), Some(id)) = (case.assignee_kind, &case.assignee) {
                // A department is reached at its system, and at its duty phone when it has one.
                let phone = match kind {
                    AssigneeKind::Department => reference::department(db, id)?.and_then(|d| d.duty_phone),
                    AssigneeKind::Grid => None,
                };
                out.push(notice(
                    "assignment",
                    Recipient { kind: kind.as_str().into(), id: id.clone(), phone, wechat_openid: None },
                ));
            }
        }
        Action::Escalate => out.push(notice(
            "escalation",
            Recipient { kind: "centre".into(), id: town_of(&case.community), phone: None, wechat_openid: None },
        )),
        _ => {}
    }
    Ok(out)
}

/// Who hears of a case as its reporter: the reporting staff, or the reporter with the
/// contact they left.
fn reporter_of(db: &impl Sql, case: &Case) -> Result<Recipient, StorageError> {
    Ok(match &case.reporter_staff_id {
        Some(id) => Recipient { kind: "staff".into(), id: id.clone(), phone: None, wechat_openid: None },
        None => {
            let r = reporter(db, &case.id)?;
            Recipient { kind: "reporter".into(), id: case.id.clone(), phone: r.phone, wechat_openid: r.wechat_openid }
        }
    })
}
