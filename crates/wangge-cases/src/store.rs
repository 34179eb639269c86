//! Cases in storage, over [`Sql`]: creation with automatic routing, and actions, each
//! in one transaction that appends to the hash-chained log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};
use wangge_core::time::{parse, render};

use crate::calendar::{Calendar, Within};
use crate::lifecycle::{self, Action, Facts, State, TransitionError};
use crate::log::{self, Entry, GENESIS, Verification};
use crate::notices::{Notice, Recipient};
use crate::reference::{self, Category};

pub const SOURCES: &[&str] = &["grid_staff", "resident", "hotline", "open311", "department", "inspection"];

/// Who answers for a case as grid staff, as grid-lookup said when the case was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStaff {
    pub staff_id: String,
    pub role: String,
    pub grid_code: String,
}

/// A reporter's personal data: kept in its own table, masked when shown.
pub use wangge_core::privacy::Reporter;

/// What intake hands over to make a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    pub id: String,
    pub source: String,
    #[serde(default)]
    pub reporter_staff_id: Option<String>,
    #[serde(default)]
    pub reporter: Reporter,
    pub category: String,
    #[serde(default)]
    pub lng: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub responsible_grid: Option<String>,
    #[serde(default)]
    pub comprehensive_grid: Option<String>,
    pub community: String,
    #[serde(default)]
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub description: String,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub external_ref: Option<String>,
    #[serde(default)]
    pub staff: Vec<CaseStaff>,
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
    fn id(&self) -> String {
        match self {
            Actor::Staff(id) | Actor::Department(id) | Actor::Centre(id) => id.clone(),
            Actor::Reporter => "reporter".into(),
            Actor::System => "system".into(),
        }
    }

    fn role(&self) -> &'static str {
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
    Grid(String),
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

#[derive(Debug)]
pub enum CaseError {
    NotFound,
    /// The action does not fit the case now: names the current state and version.
    Conflict {
        state: State,
        version: i64,
        message: String,
    },
    /// The actor may not do this to this case.
    Forbidden(String),
    /// The request itself is unacceptable (unknown target, missing field).
    Invalid(String),
    Storage(StorageError),
}

impl From<StorageError> for CaseError {
    fn from(e: StorageError) -> Self {
        CaseError::Storage(e)
    }
}

/// A case as stored (reporter's personal data apart).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: String,
    pub version: i64,
    pub state: State,
    pub category: String,
    pub domain: String,
    pub priority: String,
    pub source: String,
    pub reporter_staff_id: Option<String>,
    pub responsible_grid: Option<String>,
    pub comprehensive_grid: Option<String>,
    pub community: String,
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub description: String,
    pub handling_level: Option<String>,
    pub assignee_kind: Option<String>,
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
    pub escalation_level: Option<String>,
    /// For a duplicate: the open case it joined.
    pub merged_into: Option<String>,
    #[serde(skip)]
    pub log_seq: i64,
    #[serde(skip)]
    pub log_hash: String,
}

const COLUMNS: &str = "id, version, state, category, domain, priority, source, reporter_staff_id, responsible_grid, \
    comprehensive_grid, community, discovered_at, reported_at, description, handling_level, assignee_kind, assignee, \
    assigned_at, respond_due, resolve_due, deadline_fallback, first_resolved_at, closed_at, reopen_count, reopened_by_rating, \
    external_ref, escalation_level, log_seq, log_hash, merged_into";

fn state_of(s: &str) -> State {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(State::Reported)
}

fn cases_from(rows: Rows) -> Vec<Case> {
    let t = |v: &SqlValue| v.as_str().map(str::to_owned);
    let s = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    rows.rows
        .iter()
        .map(|r| Case {
            id: s(&r[0]),
            version: r[1].as_i64().unwrap_or(0),
            state: state_of(r[2].as_str().unwrap_or_default()),
            category: s(&r[3]),
            domain: s(&r[4]),
            priority: s(&r[5]),
            source: s(&r[6]),
            reporter_staff_id: t(&r[7]),
            responsible_grid: t(&r[8]),
            comprehensive_grid: t(&r[9]),
            community: s(&r[10]),
            discovered_at: t(&r[11]),
            reported_at: s(&r[12]),
            description: s(&r[13]),
            handling_level: t(&r[14]),
            assignee_kind: t(&r[15]),
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
            escalation_level: t(&r[26]),
            log_seq: r[27].as_i64().unwrap_or(0),
            log_hash: s(&r[28]),
            merged_into: t(&r[29]),
        })
        .collect()
}

pub fn get(db: &impl Sql, id: &str) -> Result<Option<Case>, StorageError> {
    Ok(cases_from(db.execute(&format!("SELECT {COLUMNS} FROM cases WHERE id = ?"), &[id.into()])?).into_iter().next())
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

/// The log of a case with its stored hashes, and whether the chain holds.
pub fn history(db: &impl Sql, id: &str) -> Result<(Vec<(Entry, String)>, Verification), StorageError> {
    let rows = db.execute("SELECT entry, hash FROM case_log WHERE case_id = ? ORDER BY seq", &[id.into()])?;
    let chain: Vec<(Entry, String)> = rows
        .rows
        .iter()
        .filter_map(|r| Some((serde_json::from_str(r[0].as_str()?).ok()?, r[1].as_str()?.to_owned())))
        .collect();
    let mut verification = log::verify(&chain);
    if chain.len() != rows.rows.len() {
        // An entry that no longer parses is an edit too.
        verification.valid = false;
    }
    Ok((chain, verification))
}

/// One log entry to append: the transition, and the actor's note and attachments.
struct Draft<'a> {
    from: Option<State>,
    to: State,
    action: &'a str,
    actor: &'a Actor,
    at: &'a str,
    note: Option<String>,
    attachments: Vec<String>,
}

/// The next log entry of a case whose log ends at `(seq, hash)`, and its hash.
fn next_entry(case_id: &str, (seq, previous): (i64, &str), draft: Draft) -> (Entry, String) {
    let Draft { from, to, action, actor, at, note, attachments } = draft;
    let previous = if previous.is_empty() { GENESIS } else { previous };
    let entry = Entry {
        case_id: case_id.to_owned(),
        seq: seq + 1,
        from: from.map(|s| s.as_str().to_owned()),
        to: to.as_str().to_owned(),
        action: action.to_owned(),
        actor: actor.id(),
        role: actor.role().to_owned(),
        at: at.to_owned(),
        note,
        attachments,
    };
    let hash = log::hash(previous, &entry);
    (entry, hash)
}

fn insert_entry(db: &impl Sql, entry: &Entry, hash: &str) -> Result<(), StorageError> {
    db.execute(
        "INSERT INTO case_log (case_id, seq, entry, hash) VALUES (?, ?, ?, ?)",
        &[
            entry.case_id.as_str().into(),
            entry.seq.into(),
            serde_json::to_string(entry).unwrap_or_default().into(),
            hash.into(),
        ],
    )?;
    Ok(())
}

/// Clock and calendar for one request.
pub struct Context<'a> {
    pub calendar: &'a Calendar,
    pub now: DateTime<Utc>,
}

/// Makes a case from intake's report, and routes it where the rules decide: a grid
/// staff report in a matter the grid may resolve is accepted and assigned to the grid;
/// an urgent matter skips the queue and goes to the grid or to its department.
pub fn create(db: &impl Sql, new: &NewCase, category: &Category, ctx: &Context) -> Result<Case, CaseError> {
    if !SOURCES.contains(&new.source.as_str()) {
        return Err(CaseError::Invalid(format!("unknown source `{}`", new.source)));
    }
    // Times are stored as rendered in +08:00, so they compare as text.
    let reported_at = parse(&new.reported_at)
        .map(render)
        .ok_or_else(|| CaseError::Invalid(format!("reported_at `{}` is not RFC 3339", new.reported_at)))?;
    let discovered_at = match &new.discovered_at {
        Some(t) => Some(
            parse(t).map(render).ok_or_else(|| CaseError::Invalid(format!("discovered_at `{t}` is not RFC 3339")))?,
        ),
        None => None,
    };
    let now = render(ctx.now);
    let existing = db.transaction(|db| {
        // The same report sent twice (intake retrying after a lost answer) is the same case.
        let same = match &new.external_ref {
            Some(reference) => db.execute(
                "SELECT id FROM cases WHERE id = ? UNION ALL SELECT id FROM cases WHERE source = ? AND external_ref = ? LIMIT 1",
                &[new.id.as_str().into(), new.source.as_str().into(), reference.as_str().into()],
            )?,
            None => db.execute("SELECT id FROM cases WHERE id = ?", &[new.id.as_str().into()])?,
        };
        if let Some(id) = same.scalar().and_then(SqlValue::as_str) {
            return Ok::<_, CaseError>(Some(id.to_owned()));
        }
        let duplicate = duplicate_of(db, new, &reported_at)?;
        db.execute(
            "INSERT INTO cases (id, version, state, category, domain, priority, source, reporter_staff_id, lng, lat, responsible_grid, \
             comprehensive_grid, community, discovered_at, reported_at, description, attachments, external_ref, created_at, updated_at) \
             VALUES (?, 1, 'reported', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                new.id.as_str().into(),
                category.code.as_str().into(),
                category.domain.as_str().into(),
                category.priority.as_str().into(),
                new.source.as_str().into(),
                new.reporter_staff_id.clone().into(),
                new.lng.into(),
                new.lat.into(),
                new.responsible_grid.clone().into(),
                new.comprehensive_grid.clone().into(),
                new.community.as_str().into(),
                discovered_at.into(),
                reported_at.as_str().into(),
                new.description.as_str().into(),
                serde_json::to_string(&new.attachments).unwrap_or_default().into(),
                new.external_ref.clone().into(),
                now.as_str().into(),
                now.as_str().into(),
            ],
        )?;
        db.execute(
            "INSERT INTO case_reporters (case_id, name, phone, wechat_openid) VALUES (?, ?, ?, ?)",
            &[new.id.as_str().into(), new.reporter.name.clone().into(), new.reporter.phone.clone().into(), new.reporter.wechat_openid.clone().into()],
        )?;
        for s in &new.staff {
            db.execute(
                "INSERT OR IGNORE INTO case_staff (case_id, staff_id, role, grid_code) VALUES (?, ?, ?, ?)",
                &[new.id.as_str().into(), s.staff_id.as_str().into(), s.role.as_str().into(), s.grid_code.as_str().into()],
            )?;
        }
        let reporter = match &new.reporter_staff_id {
            Some(id) => Actor::Staff(id.clone()),
            None => Actor::Reporter,
        };
        let draft = Draft {
            from: None,
            to: State::Reported,
            action: "report",
            actor: &reporter,
            at: &now,
            note: None,
            attachments: new.attachments.clone(),
        };
        let (entry, hash) = next_entry(&new.id, (0, GENESIS), draft);
        insert_entry(db, &entry, &hash)?;
        db.execute(
            "UPDATE cases SET log_seq = ?, log_hash = ? WHERE id = ?",
            &[entry.seq.into(), hash.as_str().into(), new.id.as_str().into()],
        )?;

        // 重复上报: the same matter within 50 m and 24 h of an open case joins it. The
        // report stays a case of its own, merged and linked, never dropped.
        if let Some(into) = duplicate {
            transition(db, &new.id, Action::Merge, &Actor::System, Some(&Target::Case(into)), ctx)?;
            return Ok(None);
        }
        let by_grid_staff = new.source == "grid_staff"
            && new.reporter_staff_id.as_ref().is_some_and(|id| new.staff.iter().any(|s| &s.staff_id == id));
        let urgent = category.priority == "urgent";
        if (by_grid_staff && category.grid_may_resolve) || urgent {
            transition(db, &new.id, Action::Accept, &Actor::System, None, ctx)?;
            let target = match (&new.responsible_grid, category.grid_may_resolve, &category.department_kind) {
                (Some(grid), true, _) => Some(Target::Grid(grid.clone())),
                (_, _, Some(kind)) => reference::department_for(db, kind, &new.community)?.map(|d| Target::Department(d.dept_code)),
                _ => None,
            };
            if let Some(target) = target {
                transition(db, &new.id, Action::Assign, &Actor::System, Some(&target), ctx)?;
            }
        }
        Ok(None)
    })?;
    get(db, existing.as_deref().unwrap_or(&new.id))?.ok_or(CaseError::NotFound)
}

/// Where a case stands, as Open311 shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseState {
    pub id: String,
    pub state: String,
    pub open: bool,
    pub updated_at: String,
    pub resolve_due: Option<String>,
    pub merged_into: Option<String>,
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
    Ok(rows
        .rows
        .iter()
        .map(|r| {
            let state = text(&r[1]).unwrap_or_default();
            let open = state_of(&state).is_open();
            CaseState {
                id: text(&r[0]).unwrap_or_default(),
                state,
                open,
                updated_at: text(&r[2]).unwrap_or_default(),
                resolve_due: text(&r[3]),
                merged_into: text(&r[4]),
                assignee: text(&r[5]),
            }
        })
        .collect())
}

/// How near, and how soon, a report of the same category must be to an open case to
/// be its duplicate (intake.md, "Duplicates merged, not lost").
pub const DUPLICATE_RADIUS_M: f64 = 50.0;
pub const DUPLICATE_WINDOW_HOURS: i64 = 24;

/// The open case `new` duplicates: the same category, within [`DUPLICATE_RADIUS_M`]
/// and [`DUPLICATE_WINDOW_HOURS`] of its report, the earliest reported first.
fn duplicate_of(db: &impl Sql, new: &NewCase, reported_at: &str) -> Result<Option<String>, StorageError> {
    let (Some(lng), Some(lat)) = (new.lng, new.lat) else { return Ok(None) };
    let Some(at) = parse(reported_at) else { return Ok(None) };
    let window = chrono::Duration::hours(DUPLICATE_WINDOW_HOURS);
    let dlat = DUPLICATE_RADIUS_M / 111_320.0 * 1.01;
    let dlng = dlat / lat.to_radians().cos().max(0.01);
    let rows = db.execute(
        "SELECT id, lng, lat FROM cases WHERE category = ? AND reported_at BETWEEN ? AND ? \
         AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ? \
         AND state NOT IN ('rejected', 'merged', 'closed') ORDER BY reported_at, id LIMIT 50",
        &[
            new.category.as_str().into(),
            render(at - window).into(),
            render(at + window).into(),
            (lat - dlat).into(),
            (lat + dlat).into(),
            (lng - dlng).into(),
            (lng + dlng).into(),
        ],
    )?;
    Ok(rows.rows.iter().find_map(|r| {
        let (Some(other_lng), Some(other_lat)) = (r[1].as_f64(), r[2].as_f64()) else { return None };
        (wangge_geo::crs::distance_m((lng, lat), (other_lng, other_lat)) <= DUPLICATE_RADIUS_M)
            .then(|| r[0].as_str().map(str::to_owned))?
    }))
}

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
                message: format!("the case is at version {}, not {expected}", case.version),
            });
        }
        authorize(db, &case, &request.actor, request.action)?;
        let remarks = (request.note.clone(), request.attachments.clone());
        transition_with(db, &case, (request.action, &request.actor, request.target.as_ref()), remarks, ctx)?;
        // "The grid blows the whistle, the department reports for duty": an escalation
        // that names a department goes straight to it, in the same transaction.
        if let (Action::Escalate, Some(department @ Target::Department(_))) = (request.action, &request.target) {
            let escalated = get(db, case_id)?.ok_or(CaseError::NotFound)?;
            transition_with(
                db,
                &escalated,
                (Action::Assign, &request.actor, Some(department)),
                (None, Vec::new()),
                ctx,
            )?;
        }
        Ok(())
    })?;
    get(db, case_id)?.ok_or(CaseError::NotFound)
}

/// Who may do what (lifecycle.md, "Who may act").
fn authorize(db: &impl Sql, case: &Case, actor: &Actor, action: Action) -> Result<(), CaseError> {
    use Action as A;
    let handler = matches!(action, A::Sign | A::Return | A::Resolve | A::Escalate | A::Comment);
    let allowed = match actor {
        Actor::Centre(region) => {
            case.community.starts_with(region.as_str())
                && !matches!(action, A::Sign | A::Resolve | A::Return | A::RateDissatisfied)
        }
        Actor::Department(code) => {
            handler && case.assignee_kind.as_deref() == Some("department") && case.assignee.as_deref() == Some(code)
        }
        Actor::Staff(id) => {
            let grid_level = case.assignee_kind.as_deref() != Some("department");
            let listed = staff(db, &case.id)?.iter().any(|s| &s.staff_id == id);
            listed && grid_level && handler
        }
        Actor::Reporter => matches!(action, A::RateDissatisfied | A::Comment),
        Actor::System => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(CaseError::Forbidden(format!("{} `{}` may not {} this case", actor.role(), actor.id(), action.as_str())))
    }
}

fn transition(
    db: &impl Sql,
    case_id: &str,
    action: Action,
    actor: &Actor,
    target: Option<&Target>,
    ctx: &Context,
) -> Result<(), CaseError> {
    let case = get(db, case_id)?.ok_or(CaseError::NotFound)?;
    transition_with(db, &case, (action, actor, target), (None, Vec::new()), ctx)
}

/// `(action, actor, target)` applied to `case`; `(note, attachments)` go to the log.
fn transition_with(
    db: &impl Sql,
    case: &Case,
    (action, actor, target): (Action, &Actor, Option<&Target>),
    (note, attachments): (Option<String>, Vec<String>),
    ctx: &Context,
) -> Result<(), CaseError> {
    let facts = Facts {
        seconds_since_closed: case.closed_at.as_deref().and_then(parse).map(|t| (ctx.now - t).num_seconds()),
        reopened_by_rating: case.reopened_by_rating,
    };
    let outcome = lifecycle::apply(case.state, action, facts).map_err(|e| CaseError::Conflict {
        state: case.state,
        version: case.version,
        message: match e {
            TransitionError::NotAllowed { .. } => e.to_string(),
            other => other.to_string(),
        },
    })?;
    let now = render(ctx.now);
    let mut sets: Vec<(&str, SqlValue)> =
        vec![("state", outcome.to.as_str().into()), ("updated_at", now.as_str().into())];
    match action {
        Action::Assign | Action::Reassign => {
            let Some(target) = target else {
                return Err(CaseError::Invalid("assign needs a target: a grid or a department".into()));
            };
            let category = reference::category(db, &case.category)?.ok_or_else(|| {
                CaseError::Invalid(format!("category {} is no longer in the catalogue", case.category))
            })?;
            let (kind, code) = match target {
                Target::Grid(code) => {
                    if Some(code) != case.responsible_grid.as_ref() && Some(code) != case.comprehensive_grid.as_ref() {
                        return Err(CaseError::Invalid(format!("grid {code} is not this case's grid")));
                    }
                    ("grid", code)
                }
                Target::Case(_) => return Err(CaseError::Invalid("assign a grid or a department, not a case".into())),
                Target::Department(code) => {
                    let known = db.execute("SELECT 1 FROM departments WHERE dept_code = ?", &[code.as_str().into()])?;
                    if known.rows.is_empty() {
                        return Err(CaseError::Invalid(format!("no department `{code}`")));
                    }
                    sets.push(("escalated_to_department", 1i64.into()));
                    ("department", code)
                }
            };
            let (respond, resolve) = (Within::parse(&category.respond_within), Within::parse(&category.resolve_within));
            let (Ok(respond), Ok(resolve)) = (respond, resolve) else {
                return Err(CaseError::Invalid(format!("category {} has unreadable deadlines", category.code)));
            };
            // The only read of the calendar in a transition: ActionRequest::sets_deadlines
            // must name every action that reaches it, or the caller leaves it unloaded.
            let (respond_due, resolve_due) =
                (ctx.calendar.deadline(ctx.now, respond), ctx.calendar.deadline(ctx.now, resolve));
            sets.extend([
                ("handling_level", kind.into()),
                ("assignee_kind", kind.into()),
                ("assignee", code.as_str().into()),
                ("assigned_at", now.as_str().into()),
                ("respond_due", render(respond_due.at).into()),
                ("resolve_due", render(resolve_due.at).into()),
                ("deadline_fallback", ((respond_due.fallback || resolve_due.fallback) as i64).into()),
            ]);
        }
        Action::Escalate => {
            // Up one level: grid → community → town centre → district centre → city centre.
            let next = match case.escalation_level.as_deref() {
                None => "community",
                Some("community") => "town",
                Some("town") => "district",
                _ => "city",
            };
            sets.push(("escalation_level", next.into()));
        }
        Action::Merge => {
            let Some(Target::Case(into)) = target else {
                return Err(CaseError::Invalid("merge needs a target: the open case this one duplicates".into()));
            };
            let open = get(db, into)?.is_some_and(|other| other.state.is_open() && other.id != case.id);
            if !open {
                return Err(CaseError::Invalid(format!("`{into}` is not another open case")));
            }
            sets.push(("merged_into", into.as_str().into()));
        }
        Action::Sign => sets.push(("signed_at", now.as_str().into())),
        Action::Resolve if case.first_resolved_at.is_none() => sets.push(("first_resolved_at", now.as_str().into())),
        Action::VerifyPass => sets.push(("closed_at", now.as_str().into())),
        _ => {}
    }
    if outcome.rework {
        sets.push(("reopen_count", (case.reopen_count + 1).into()));
        let mut times: Vec<String> = db
            .execute("SELECT reopened_at FROM cases WHERE id = ?", &[case.id.as_str().into()])?
            .scalar()
            .and_then(SqlValue::as_str)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        times.push(now.clone());
        sets.push(("reopened_at", serde_json::to_string(&times).unwrap_or_else(|_| "[]".into()).into()));
    }
    if action == Action::RateDissatisfied {
        sets.push(("reopened_by_rating", 1i64.into()));
    }
    // The log entry, chained to the head kept on the case row: no read of the log.
    let draft =
        Draft { from: Some(case.state), to: outcome.to, action: action.as_str(), actor, at: &now, note, attachments };
    let (entry, hash) = next_entry(&case.id, (case.log_seq, &case.log_hash), draft);
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
        return Err(CaseError::Conflict {
            state: case.state,
            version: case.version,
            message: "the case changed; read it again".into(),
        });
    }
    insert_entry(db, &entry, &hash)?;
    // Re-read the case only when the transition owes someone a notice.
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
        let updated = get(db, &case.id)?.ok_or(CaseError::NotFound)?;
        for notice in notices_for(db, &updated, action, entry.seq)? {
            crate::notices::record(db, &notice, &now)?;
        }
    }
    Ok(())
}

/// What a transition owes people (lifecycle.md, "Feedback"): the reporter hears of
/// acceptance, rejection and closing, a hotline gets its result back, an assignee
/// hears of the assignment, and the centre of an escalation.
fn notices_for(db: &impl Sql, case: &Case, action: Action, seq: i64) -> Result<Vec<Notice>, StorageError> {
    let urgency = if case.priority == "urgent" { "urgent" } else { "normal" };
    let payload = serde_json::json!({
        "case_id": case.id,
        "category": case.category,
        "state": case.state.as_str(),
        "merged_into": case.merged_into,
        "resolve_due": case.resolve_due,
        "closed_at": case.closed_at,
    });
    let reporter = || -> Result<Recipient, StorageError> {
        Ok(match &case.reporter_staff_id {
            Some(id) => Recipient { kind: "staff".into(), id: id.clone(), phone: None, wechat_openid: None },
            None => {
                let r = reporter(db, &case.id)?;
                Recipient {
                    kind: "reporter".into(),
                    id: case.id.clone(),
                    phone: r.phone,
                    wechat_openid: r.wechat_openid,
                }
            }
        })
    };
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
            if let (Some(kind), Some(id)) = (&case.assignee_kind, &case.assignee) {
                // A department is reached at its system, and at its duty phone when it has one.
                let phone = match kind.as_str() {
                    "department" => reference::department(db, id)?.and_then(|d| d.duty_phone),
                    _ => None,
                };
                out.push(notice(
                    "assignment",
                    Recipient { kind: kind.clone(), id: id.clone(), phone, wechat_openid: None },
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

/// The town (street) code above a community: its command centre's region.
pub use wangge_core::region::town_of;

/// The reporter of a case (personal data: callers decide whether to mask it).
pub fn reporter(db: &impl Sql, id: &str) -> Result<Reporter, StorageError> {
    Ok(reporters(db, &[id])?.remove(id).unwrap_or_default())
}

/// The reporters of several cases, in one read.
pub fn reporters(db: &impl Sql, ids: &[&str]) -> Result<std::collections::HashMap<String, Reporter>, StorageError> {
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
pub fn list(db: &impl Sql, filter: &Filter, after: &str, limit: usize) -> Result<Vec<Case>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cases WHERE community >= ? AND community < ? AND id > ? \
         AND (? IS NULL OR responsible_grid = ?) AND (? IS NULL OR assignee = ?) AND (? IS NULL OR state = ?) \
         AND (? IS NULL OR category = ?) AND (? IS NULL OR reported_at >= ?) AND (? IS NULL OR reported_at < ?) \
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
    Ok(cases_from(db.execute(&sql, &params)?))
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
    use crate::supervision::{Light, light, used};
    db.transaction(|db| {
        let cases = cases_from(db.execute(
            &format!(
                "SELECT {COLUMNS} FROM cases WHERE id > ? AND state IN ('assigned', 'in_progress', 'returned', 'escalated') \
                 AND assigned_at IS NOT NULL ORDER BY id LIMIT ?"
            ),
            &[after.into(), (limit as i64 + 1).into()],
        )?);
        let mut report = SweepReport::default();
        let more = cases.len() > limit;
        let now = render(ctx.now);
        let cases: Vec<Case> = cases.into_iter().take(limit).collect();
        // Grid heads of the whole batch, in one read.
        let (first, last) = (
            cases.first().map(|c| c.id.clone()).unwrap_or_default(),
            cases.last().map(|c| c.id.clone()).unwrap_or_default(),
        );
        let heads: std::collections::HashMap<String, String> = db
            .execute(
                "SELECT case_id, staff_id FROM case_staff WHERE case_id >= ? AND case_id <= ? AND role = 'grid_head'",
                &[first.into(), last.into()],
            )?
            .rows
            .iter()
            .filter_map(|r| Some((r[0].as_str()?.to_owned(), r[1].as_str()?.to_owned())))
            .collect();
        let mut categories: std::collections::HashMap<String, Option<Category>> = std::collections::HashMap::new();
        let mut owed: Vec<Notice> = Vec::new();
        let mut to_escalate: Vec<Case> = Vec::new();
        for case in &cases {
            report.handled += 1;
            report.next_cursor = more.then(|| case.id.clone());
            let category = match categories.get(&case.category) {
                Some(c) => c.clone(),
                None => {
                    let c = reference::category(db, &case.category)?;
                    categories.insert(case.category.clone(), c.clone());
                    c
                }
            };
            let Some(category) = category else { continue };
            let (Some(assigned), Ok(respond), Ok(resolve)) = (
                case.assigned_at.as_deref().and_then(parse),
                Within::parse(&category.respond_within),
                Within::parse(&category.resolve_within),
            ) else {
                continue;
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
            let recipient = |kind: &str, id: &str| Recipient { kind: kind.into(), id: id.into(), phone: None, wechat_openid: None };
            let assignee = recipient(case.assignee_kind.as_deref().unwrap_or_default(), case.assignee.as_deref().unwrap_or_default());
            for (which, due, within) in deadlines {
                let lit = light(used(ctx.calendar, assigned, due, within, ctx.now));
                let due_text = render(due);
                let notice = |kind: &str, recipient: Recipient| Notice {
                    idempotency_key: format!("{kind}:{}:{which}:{due_text}:{}:{}", case.id, recipient.kind, recipient.id),
                    case_id: case.id.clone(),
                    kind: kind.to_owned(),
                    recipient,
                    urgency: if case.priority == "urgent" { "urgent".into() } else { "normal".into() },
                    payload: serde_json::json!({ "case_id": case.id, "deadline": which, "due": due_text, "light": lit }),
                };
                match lit {
                    Light::Green => {}
                    Light::Yellow => owed.push(notice("reminder", assignee.clone())),
                    Light::Red => {
                        // The superior: the community's grid head for a grid, the town centre for a department.
                        let superior = match (case.assignee_kind.as_deref(), heads.get(&case.id)) {
                            (Some("department"), _) | (_, None) => recipient("centre", &town_of(&case.community)),
                            (_, Some(head)) => recipient("staff", head),
                        };
                        owed.push(notice("supervision", assignee.clone()));
                        owed.push(notice("supervision", superior));
                        // Red for another full resolve_within: up one level, once.
                        if which == "resolve" && case.state != State::Escalated && ctx.now > ctx.calendar.deadline(due, within).at {
                            to_escalate.push(case.clone());
                        }
                    }
                }
            }
        }
        for kind in crate::notices::record_many(db, &owed, &now)? {
            match kind.as_str() {
                "reminder" => report.reminders += 1,
                _ => report.supervision_notices += 1,
            }
        }
        for case in &to_escalate {
            transition_with(db, case, (Action::Escalate, &Actor::System, None), (Some("督办：超期未办结".into()), Vec::new()), ctx)?;
            report.escalated += 1;
        }
        Ok(report)
    })
}

/// One case as assessment needs it (assessment.md): grids, category, the first report,
/// how it was handled, every deadline, and when it was resolved, closed and reopened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFacts {
    pub case_id: String,
    pub responsible_grid: Option<String>,
    pub comprehensive_grid: Option<String>,
    pub community: String,
    pub category: String,
    pub domain: String,
    pub priority: String,
    pub state: String,
    pub source: String,
    /// The reporter, when grid staff, and whether they are grid staff of this case.
    pub reporter_staff_id: Option<String>,
    pub reporter_is_grid_staff_of_case: bool,
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub handling_level: Option<String>,
    pub department: Option<String>,
    pub escalated_to_department: bool,
    pub assigned_at: Option<String>,
    pub respond_due: Option<String>,
    pub resolve_due: Option<String>,
    pub first_resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub reopened_at: Vec<String>,
    pub merged_into: Option<String>,
}

/// One keyset page of facts for the period `[from, to)`: cases reported before `to` that
/// were reported, due, closed or still open in or after `from`. Times compare as text
/// (all stored in +08:00). With `merged_only`, only the merged duplicates: what
/// assessment needs to find each case's first report before it reads every case.
pub fn facts_page_of(
    db: &impl Sql,
    from: &str,
    to: &str,
    after: &str,
    limit: usize,
    merged_only: bool,
) -> Result<Vec<CaseFacts>, StorageError> {
    let rows = db.execute(
        "SELECT c.id, c.responsible_grid, c.comprehensive_grid, c.community, c.category, c.domain, c.priority, c.state, \
         c.source, c.reporter_staff_id, EXISTS (SELECT 1 FROM case_staff s WHERE s.case_id = c.id AND s.staff_id = c.reporter_staff_id), \
         c.discovered_at, c.reported_at, c.handling_level, CASE c.assignee_kind WHEN 'department' THEN c.assignee END, \
         c.escalated_to_department, c.assigned_at, c.respond_due, c.resolve_due, c.first_resolved_at, c.closed_at, \
         c.reopened_at, c.merged_into \
         FROM cases c WHERE c.id > ? AND c.reported_at < ? \
         AND (c.reported_at >= ? OR c.resolve_due >= ? OR c.closed_at >= ? OR c.closed_at IS NULL) \
         AND (? = 0 OR c.merged_into IS NOT NULL) \
         ORDER BY c.id LIMIT ?",
        &[after.into(), to.into(), from.into(), from.into(), from.into(), i64::from(merged_only).into(), (limit as i64).into()],
    )?;
    let t = |v: &SqlValue| v.as_str().map(str::to_owned);
    let s = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    Ok(rows
        .rows
        .iter()
        .map(|r| CaseFacts {
            case_id: s(&r[0]),
            responsible_grid: t(&r[1]),
            comprehensive_grid: t(&r[2]),
            community: s(&r[3]),
            category: s(&r[4]),
            domain: s(&r[5]),
            priority: s(&r[6]),
            state: s(&r[7]),
            source: s(&r[8]),
            reporter_staff_id: t(&r[9]),
            reporter_is_grid_staff_of_case: r[10].as_i64() == Some(1),
            discovered_at: t(&r[11]),
            reported_at: s(&r[12]),
            handling_level: t(&r[13]),
            department: t(&r[14]),
            escalated_to_department: r[15].as_i64() == Some(1),
            assigned_at: t(&r[16]),
            respond_due: t(&r[17]),
            resolve_due: t(&r[18]),
            first_resolved_at: t(&r[19]),
            closed_at: t(&r[20]),
            reopened_at: r[21].as_str().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default(),
            merged_into: t(&r[22]),
        })
        .collect())
}

/// The light of a case's most pressing open deadline (responding while assigned, then
/// resolving until resolved); `None` when no deadline runs.
pub fn light_of(
    case: &Case,
    category: &Category,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Option<crate::supervision::Light> {
    use crate::supervision::{light, used};
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
