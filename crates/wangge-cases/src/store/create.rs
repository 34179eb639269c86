//! Making a case from intake's report: the same report again is the same case, a
//! duplicate (重复上报) joins the open case it repeats, and the rules route the rest.

use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_core::time::{parse, render};

use crate::lifecycle::{Action, State};
use crate::log::{self, Draft, GENESIS};
use crate::reference::{self, Category, Priority};
use crate::refusal::Invalid;
use crate::store::transition::transition;
use crate::store::{Actor, Case, CaseError, Context, NewCase, SOURCES, Target, get};

/// The key that case creations of one category take in turn ([`Sql::exclusive_transaction`]).
const CREATION: &str = "wangge_cases::create";

/// Makes a case from intake's report, and routes it where the rules decide: a grid
/// staff report in a matter the grid may resolve is accepted and assigned to the grid;
/// an urgent matter skips the queue and goes to the grid or to its department.
pub fn create(db: &impl Sql, new: &NewCase, category: &Category, ctx: &Context) -> Result<Case, CaseError> {
    if !SOURCES.contains(&new.source.as_str()) {
        return Err(CaseError::Invalid(Invalid::UnknownSource(new.source.clone())));
    }
    let times = Times::of(new, ctx)?;
    // The catalogue's priority, parsed once: the catalogue was checked when it was imported.
    let priority: Priority = category
        .priority
        .parse()
        .map_err(|_| CaseError::Invalid(Invalid::UnknownPriority(category.priority.clone())))?;
    // One creation of a category at a time (on SQLite, one write at a time): each looks
    // for the open case it repeats, of its category, among the cases the others just made
    // (`Sql::exclusive_transaction`). The same report twice has one category; the same
    // external reference under two is kept apart by its unique index.
    let key = format!("{CREATION}:{}", new.category);
    let existing = db.exclusive_transaction(&key, |db| {
        // The same report sent twice (intake retrying after a lost answer) is the same case.
        if let Some(id) = same_case(db, new)? {
            return Ok::<_, CaseError>(Some(id));
        }
        let duplicate = duplicate_of(db, new, &times.reported_at)?;
        insert(db, new, category, &times)?;
        log_report(db, new, &times.now)?;
        // 重复上报: the same matter within 50 m and 24 h of an open case joins it. The
        // report stays a case of its own, merged and linked, never dropped.
        if let Some(into) = duplicate {
            transition(db, &new.id, Action::Merge, &Actor::System, Some(&Target::Case(into)), ctx)?;
            return Ok(None);
        }
        route(db, new, category, priority, ctx)?;
        Ok(None)
    })?;
    get(db, existing.as_deref().unwrap_or(&new.id))?.ok_or(CaseError::NotFound)
}

/// A report's times, rendered in +08:00 as stored, so that they compare as text.
struct Times {
    reported_at: String,
    discovered_at: Option<String>,
    now: String,
}

impl Times {
    fn of(new: &NewCase, ctx: &Context) -> Result<Times, CaseError> {
        let reported_at = parse(&new.reported_at)
            .map(render)
            .ok_or_else(|| CaseError::Invalid(Invalid::NotATime("reported_at", new.reported_at.clone())))?;
        let discovered_at = match &new.discovered_at {
            Some(t) => Some(
                parse(t)
                    .map(render)
                    .ok_or_else(|| CaseError::Invalid(Invalid::NotATime("discovered_at", t.clone())))?,
            ),
            None => None,
        };
        Ok(Times { reported_at, discovered_at, now: render(ctx.now) })
    }
}

/// The case this report already made: the same id, or the same source's external reference.
fn same_case(db: &impl Sql, new: &NewCase) -> Result<Option<String>, StorageError> {
    let same = match &new.external_ref {
        Some(reference) => db.execute(
            "SELECT id FROM cases WHERE id = ? UNION ALL SELECT id FROM cases WHERE source = ? AND external_ref = ? LIMIT 1",
            &[new.id.as_str().into(), new.source.as_str().into(), reference.as_str().into()],
        )?,
        None => db.execute("SELECT id FROM cases WHERE id = ?", &[new.id.as_str().into()])?,
    };
    Ok(same.scalar().and_then(SqlValue::as_str).map(str::to_owned))
}

/// The case row, its reporter and its grid staff, as reported.
fn insert(db: &impl Sql, new: &NewCase, category: &Category, times: &Times) -> Result<(), StorageError> {
    db.execute(
        "INSERT INTO cases (id, version, state, category, domain, priority, source, reporter_staff_id, lng, lat, responsible_grid, \
         comprehensive_grid, community, discovered_at, reported_at, description, attachments, external_ref, created_at, updated_at, \
         triage) VALUES (?, 1, 'reported', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            times.discovered_at.clone().into(),
            times.reported_at.as_str().into(),
            new.description.as_str().into(),
            serde_json::to_string(&new.attachments).unwrap_or_default().into(),
            new.external_ref.clone().into(),
            times.now.as_str().into(),
            times.now.as_str().into(),
            new.triage.as_ref().and_then(|t| serde_json::to_string(t).ok()).into(),
        ],
    )?;
    db.execute(
        "INSERT INTO case_reporters (case_id, name, phone, wechat_openid) VALUES (?, ?, ?, ?)",
        &[
            new.id.as_str().into(),
            new.reporter.name.clone().into(),
            new.reporter.phone.clone().into(),
            new.reporter.wechat_openid.clone().into(),
        ],
    )?;
    for s in &new.staff {
        db.execute(
            "INSERT INTO case_staff (case_id, staff_id, role, grid_code) VALUES (?, ?, ?, ?) \
             ON CONFLICT (case_id, staff_id) DO NOTHING",
            &[new.id.as_str().into(), s.staff_id.as_str().into(), s.role.as_str().into(), s.grid_code.as_str().into()],
        )?;
    }
    Ok(())
}

/// The log's first entry, `report`, by the reporting staff or the reporter.
fn log_report(db: &impl Sql, new: &NewCase, now: &str) -> Result<(), StorageError> {
    let reporter = match &new.reporter_staff_id {
        Some(id) => Actor::Staff(id.clone()),
        None => Actor::Reporter,
    };
    let draft = Draft {
        from: None,
        to: State::Reported,
        action: "report",
        actor: &reporter,
        at: now,
        note: None,
        attachments: new.attachments.clone(),
    };
    let (entry, hash) = log::next_entry(&new.id, (0, GENESIS), draft);
    log::insert_entry(db, &entry, &hash)?;
    db.execute(
        "UPDATE cases SET log_seq = ?, log_hash = ? WHERE id = ?",
        &[entry.seq.into(), hash.as_str().into(), new.id.as_str().into()],
    )?;
    Ok(())
}

/// Automatic routing: a grid staff report in a matter the grid may resolve, and any
/// urgent matter, is accepted at once and assigned to the grid or to its department.
/// Everything else waits for the centre.
fn route(
    db: &impl Sql,
    new: &NewCase,
    category: &Category,
    priority: Priority,
    ctx: &Context,
) -> Result<(), CaseError> {
    let by_grid_staff = new.source == "grid_staff"
        && new.reporter_staff_id.as_ref().is_some_and(|id| new.staff.iter().any(|s| &s.staff_id == id));
    let urgent = priority == Priority::Urgent;
    if !((by_grid_staff && category.grid_may_resolve) || urgent) {
        return Ok(());
    }
    transition(db, &new.id, Action::Accept, &Actor::System, None, ctx)?;
    let target = match (&new.responsible_grid, category.grid_may_resolve, &category.department_kind) {
        (Some(grid), true, _) => Some(Target::Grid(grid.clone())),
        (_, _, Some(kind)) => {
            reference::department_for(db, kind, &new.community)?.map(|d| Target::Department(d.dept_code))
        }
        _ => None,
    };
    if let Some(target) = target {
        transition(db, &new.id, Action::Assign, &Actor::System, Some(&target), ctx)?;
    }
    Ok(())
}

/// How near, and how soon, a report of the same category must be to an open case to
/// be its duplicate (docs/intake.md, "Duplicates merged, not lost").
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
