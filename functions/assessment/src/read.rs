//! Reading results: a grid with every lost point, a region, rankings, statistics,
//! departments, and the CSV export. The queries are `wangge_assess::results`; this glue
//! decides what a key may see.

use serde_json::json;
use spin_sdk::http::Response;
use wangge_assess::results::{self, Level, RunRecord, ScoreRow};
use wangge_core::auth::{Principal, Scope};
use wangge_core::{ErrorCode, Problem};
use wangge_spin::db::Db;
use wangge_spin::{Reply, Req, json};

use crate::COMPONENT;
use crate::run::period;

fn reader(req: &Req) -> Result<Principal, Problem> {
    req.require_any(&[Scope::AssessmentsRead, Scope::AssessmentsRun])
}

/// The period's label and its stored run, or 404 when it has not been run.
fn run_of(db: &Db, raw: &str) -> Result<(String, RunRecord), Problem> {
    let label = period(raw)?.label;
    let run = results::run(db, &label)?.ok_or_else(|| {
        Problem::new(ErrorCode::NotFound).with_detail(
            format!("{label} has not been run (POST /v1/assessments/{label}/run)"),
            format!("{label} 尚未考核"),
        )
    })?;
    Ok((label, run))
}

fn missing(what: (&str, &str), code: &str, label: &str) -> Problem {
    Problem::new(ErrorCode::NotFound)
        .with_detail(format!("no {} `{code}` in {label}", what.0), format!("{label} 中没有{} `{code}`", what.1))
}

/// Rows a key may name: its region's, and the parents above it.
fn visible(rows: Vec<ScoreRow>, principal: &Principal) -> Vec<ScoreRow> {
    rows.into_iter().filter(|r| r.code.as_deref().is_some_and(|c| principal.sees_region(c))).collect()
}

/// `GET /v1/assessments/{period}/grids/{code}`: score, domain sub-scores, grade, rank
/// within its town, and every deduction (case, rule, domain, points).
pub fn grid(req: Req, raw: &str, code: &str) -> Reply {
    reader(&req)?.require_region(code)?;
    let db = COMPONENT.db_for_reads()?;
    let (label, run) = run_of(&db, raw)?;
    let grid = results::score(&db, &label, code, true)?.ok_or_else(|| missing(("grid", "网格"), code, &label))?;
    let deductions = results::deductions(&db, &label, code)?;
    let lost: f64 = deductions.iter().filter_map(|d| d.points).sum();
    Ok(json(200, &json!({ "period": label, "run": run, "grid": grid, "points_lost": lost, "deductions": deductions })))
}

/// `GET /v1/assessments/{period}/regions/{code}`: a community, town, district or the
/// city, with the ranked members one level down.
pub fn region(req: Req, raw: &str, code: &str) -> Reply {
    reader(&req)?.require_region(wangge_core::region::significant(code))?;
    let db = COMPONENT.db_for_reads()?;
    let (label, run) = run_of(&db, raw)?;
    let region = results::score(&db, &label, code, false)?.ok_or_else(|| missing(("region", "区域"), code, &label))?;
    let members = results::members(&db, &label, &region)?;
    Ok(json(200, &json!({ "period": label, "run": run, "region": region, "members": members })))
}

/// A ranking across every parent lists at most this many rows; the export lists all.
const MAX_RANKED: usize = 10_000;

fn level_param(req: &Req) -> Result<Level, Problem> {
    req.query_param("level").as_deref().unwrap_or("grid").parse().map_err(|()| {
        Problem::new(ErrorCode::InvalidParameter)
            .with_detail(
                "level is grid, dedicated, community, town, district or city",
                "level 应为 grid、dedicated、community、town、district 或 city",
            )
            .with_extension("parameter", "level")
    })
}

/// `GET /v1/assessments/{period}/rankings?level=&parent=`: competition ranks within
/// each parent (grids and communities within their town, towns within their district,
/// districts within the city), equal scores by code.
///
/// A key bound to a region sees only the rows it may name: its region's members and
/// the parents above it ([`Principal::sees_region`]); a `parent` it may not see is 403.
pub fn rankings(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let level = level_param(&req)?;
    let parent = req.query_param("parent");
    if let Some(p) = parent.as_deref().filter(|p| !principal.sees_region(p)) {
        principal.require_region(p)?;
    }
    let db = COMPONENT.db_for_reads()?;
    let (label, _) = run_of(&db, raw)?;
    let items = visible(results::ranking(&db, &label, level, parent.as_deref(), MAX_RANKED)?, &principal);
    Ok(json(200, &json!({ "period": label, "level": level, "parent": parent, "items": items })))
}

/// `GET /v1/assessments/{period}/statistics?region=`: the counts of every grid under a
/// region prefix, summed (月度汇总统计).
pub fn statistics(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let region = req.query_param("region").unwrap_or_else(|| principal.region_prefix.clone());
    principal.require_region(&region)?;
    let db = COMPONENT.db_for_reads()?;
    let (label, _) = run_of(&db, raw)?;
    let (grids, total) = results::statistics(&db, &label, &region)?;
    let rate = total.on_time_rate();
    Ok(json(200, &json!({ "period": label, "region": region, "grids": grids, "counts": total, "on_time_rate": rate })))
}

/// `GET /v1/assessments/{period}/departments`: due, on time, closed, reworked, score;
/// a key bound to a region sees its region's departments only.
pub fn departments(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let db = COMPONENT.db_for_reads()?;
    let (label, _) = run_of(&db, raw)?;
    let mut items = results::departments(&db, &label)?;
    items.retain(|d| d.department.as_deref().is_some_and(|d| principal.covers_region(d)));
    Ok(json(200, &json!({ "period": label, "items": items })))
}

/// `GET /v1/assessments/{period}/export.csv?level=`: UTF-8 with a BOM and Chinese
/// headers, so that Excel opens it cleanly. A key bound to a region gets the rows it may
/// name, as in rankings.
pub fn export(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let level = level_param(&req)?;
    let db = COMPONENT.db_for_reads()?;
    let (label, _) = run_of(&db, raw)?;
    let rows = visible(results::ranking(&db, &label, level, None, u32::MAX as usize)?, &principal);
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", format!("attachment; filename=\"assessment-{label}-{}.csv\"", level.as_str()))
        .body(results::csv(&label, level, &rows).into_bytes())
        .build())
}
