//! Reading results: a grid with every lost point, a region, rankings, statistics,
//! departments, and the CSV export.

use serde_json::{Value, json};
use spin_sdk::http::Response;
use wangge_assess::compute::Statistics;
use wangge_core::auth::{Principal, Scope};
use wangge_core::migrations::{Rows, Sql, SqlValue};
use wangge_core::{ErrorCode, Problem};
use wangge_spin::{Reply, Req, json};

use crate::COMPONENT;
use crate::run::period;

fn reader(req: &Req) -> Result<Principal, Problem> {
    let principal = req.require_any(&[Scope::AssessmentsRead, Scope::AssessmentsRun])?;
    Ok(principal)
}

fn not_run(label: &str) -> Problem {
    Problem::new(ErrorCode::NotFound).with_detail(
        format!("{label} has not been run (POST /v1/assessments/{label}/run)"),
        format!("{label} 尚未考核"),
    )
}

fn text(v: &SqlValue) -> Value {
    v.as_str().map(Value::from).unwrap_or(Value::Null)
}

fn score_rows(rows: &Rows) -> Vec<Value> {
    rows.rows
        .iter()
        .map(|r| {
            json!({
                "level": text(&r[0]), "code": text(&r[1]), "parent": text(&r[2]), "score": r[3].as_f64(),
                "grade": text(&r[4]), "rank": r[5].as_i64(),
                "sub_scores": r[6].as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()),
            })
        })
        .collect()
}

const SCORE_COLUMNS: &str = "level, code, parent, rounded, grade, rank, subs";

fn run_of(db: &wangge_spin::db::Db, label: &str) -> Result<Value, Problem> {
    let rows = db.execute(
        "SELECT run_at, rules_version, rules_sha256, result_sha256, facts FROM runs WHERE period = ?",
        &[label.into()],
    )?;
    let r = rows.rows.first().ok_or_else(|| not_run(label))?;
    Ok(
        json!({ "run_at": text(&r[0]), "rules_version": r[1].as_i64(), "rules_sha256": text(&r[2]), "result_sha256": text(&r[3]), "facts": r[4].as_i64() }),
    )
}

/// `GET /v1/assessments/{period}/grids/{code}`: score, domain sub-scores, grade, rank
/// within its town, and every deduction (case, rule, domain, points).
pub fn grid(req: Req, raw: &str, code: &str) -> Reply {
    let principal = reader(&req)?;
    principal.require_region(code)?;
    let label = period(raw)?.label;
    let db = COMPONENT.db_for_reads()?;
    let run = run_of(&db, &label)?;
    let rows = db.execute(
        &format!("SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level IN ('grid', 'dedicated') AND code = ?"),
        &[label.as_str().into(), code.into()],
    )?;
    let grid = score_rows(&rows).into_iter().next().ok_or_else(|| {
        Problem::new(ErrorCode::NotFound)
            .with_detail(format!("no grid `{code}` in {label}"), format!("{label} 中没有网格 `{code}`"))
    })?;
    let deductions = db
        .execute(
            "SELECT month, case_id, rule, domain, points FROM deductions WHERE period = ? AND grid = ? ORDER BY month, case_id, rule",
            &[label.as_str().into(), code.into()],
        )?;
    let deductions: Vec<Value> = deductions
        .rows
        .iter()
        .map(|r| json!({ "month": text(&r[0]), "case_id": text(&r[1]), "rule": text(&r[2]), "domain": text(&r[3]), "points": r[4].as_f64() }))
        .collect();
    let lost: f64 = deductions.iter().filter_map(|d| d["points"].as_f64()).sum();
    Ok(json(200, &json!({ "period": label, "run": run, "grid": grid, "points_lost": lost, "deductions": deductions })))
}

/// `GET /v1/assessments/{period}/regions/{code}`: a community, town, district or the
/// city, with the ranked members one level down.
pub fn region(req: Req, raw: &str, code: &str) -> Reply {
    let principal = reader(&req)?;
    principal.require_region(wangge_core::region::significant(code))?;
    let label = period(raw)?.label;
    let db = COMPONENT.db_for_reads()?;
    let run = run_of(&db, &label)?;
    let rows = db
        .execute(
            &format!("SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level IN ('community', 'town', 'district', 'city') AND code = ?"),
            &[label.as_str().into(), code.into()],
        )?;
    let region = score_rows(&rows).into_iter().next().ok_or_else(|| {
        Problem::new(ErrorCode::NotFound)
            .with_detail(format!("no region `{code}` in {label}"), format!("{label} 中没有区域 `{code}`"))
    })?;
    let (child_level, filter) = match region["level"].as_str() {
        Some("city") => ("district", "parent = ?"),
        Some("district") => ("town", "parent = ?"),
        Some("town") => ("community", "parent = ?"),
        _ => ("grid", "code >= ? AND code < ? || 'z'"),
    };
    let members = db.execute(
        &format!("SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level = ? AND {filter} ORDER BY rank, code"),
        &if child_level == "grid" {
            vec![label.as_str().into(), child_level.into(), code.into(), code.into()]
        } else {
            vec![label.as_str().into(), child_level.into(), code.into()]
        },
    )?;
    Ok(json(200, &json!({ "period": label, "run": run, "region": region, "members": score_rows(&members) })))
}

const LEVELS: &[&str] = &["grid", "dedicated", "community", "town", "district", "city"];

fn level_param(req: &Req) -> Result<String, Problem> {
    let level = req.query_param("level").unwrap_or_else(|| "grid".into());
    if LEVELS.contains(&level.as_str()) {
        Ok(level)
    } else {
        Err(Problem::new(ErrorCode::InvalidParameter)
            .with_detail(
                "level is grid, dedicated, community, town, district or city",
                "level 应为 grid、dedicated、community、town、district 或 city",
            )
            .with_extension("parameter", "level"))
    }
}

/// `GET /v1/assessments/{period}/rankings?level=&parent=`: competition ranks within
/// each parent (grids and communities within their town, towns within their district,
/// districts within the city), equal scores by code.
///
/// A key bound to a region sees only the rows it may name: its region's members and
/// the parents above it ([`Principal::sees_region`]); a `parent` it may not see is 403.
pub fn rankings(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let label = period(raw)?.label;
    let level = level_param(&req)?;
    let parent = req.query_param("parent");
    if let Some(p) = &parent
        && !principal.sees_region(p)
    {
        principal.require_region(p)?;
    }
    let db = COMPONENT.db_for_reads()?;
    run_of(&db, &label)?;
    let rows = match &parent {
        Some(p) => db.execute(
            &format!("SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level = ? AND parent = ? ORDER BY rank, code"),
            &[label.as_str().into(), level.as_str().into(), p.as_str().into()],
        ),
        None => db.execute(
            &format!("SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level = ? ORDER BY parent, rank, code LIMIT 10000"),
            &[label.as_str().into(), level.as_str().into()],
        ),
    }?;
    let items: Vec<Value> = score_rows(&rows)
        .into_iter()
        .filter(|r| r["code"].as_str().is_some_and(|c| principal.sees_region(c)))
        .collect();
    Ok(json(200, &json!({ "period": label, "level": level, "parent": parent, "items": items })))
}

/// `GET /v1/assessments/{period}/statistics?region=`: the counts of every grid under a
/// region prefix, summed (月度汇总统计).
pub fn statistics(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let region = req.query_param("region").unwrap_or_else(|| principal.region_prefix.clone());
    principal.require_region(&region)?;
    let label = period(raw)?.label;
    let db = COMPONENT.db_for_reads()?;
    run_of(&db, &label)?;
    let rows = db.execute(
        "SELECT counts FROM statistics WHERE period = ? AND grid >= ? AND grid < ? || 'z'",
        &[label.as_str().into(), region.as_str().into(), region.as_str().into()],
    )?;
    let mut total = Statistics::default();
    let mut grids = 0;
    for r in &rows.rows {
        if let Some(counts) = r[0].as_str().and_then(|c| serde_json::from_str::<Statistics>(c).ok()) {
            total.add(&counts);
            grids += 1;
        }
    }
    let rate = total.on_time_rate();
    Ok(json(200, &json!({ "period": label, "region": region, "grids": grids, "counts": total, "on_time_rate": rate })))
}

/// `GET /v1/assessments/{period}/departments`: due, on time, closed, reworked, score;
/// a key bound to a region sees its region's departments only.
pub fn departments(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let label = period(raw)?.label;
    let db = COMPONENT.db_for_reads()?;
    run_of(&db, &label)?;
    let rows = db
        .execute(
            "SELECT department, due, on_time, closed, reworked, score FROM departments WHERE period = ? ORDER BY department",
            &[label.as_str().into()],
        )?;
    let items: Vec<Value> = rows
        .rows
        .iter()
        .filter(|r| r[0].as_str().is_some_and(|d| principal.covers_region(d)))
        .map(|r| {
            let due = r[1].as_i64().unwrap_or(0) as f64;
            let rate = |v: &SqlValue| (due > 0.0).then(|| v.as_i64().unwrap_or(0) as f64 / due);
            json!({
                "department": text(&r[0]), "due": r[1].as_i64(), "on_time_rate": rate(&r[2]), "closure_rate": rate(&r[3]),
                "rework_rate": rate(&r[4]), "score": r[5].as_f64().map(wangge_assess::score::round2),
            })
        })
        .collect();
    Ok(json(200, &json!({ "period": label, "items": items })))
}

/// `GET /v1/assessments/{period}/export.csv?level=`: UTF-8 with a BOM and Chinese
/// headers, so that Excel opens it cleanly. A key bound to a region gets the rows it may
/// name, as in rankings.
pub fn export(req: Req, raw: &str) -> Reply {
    let principal = reader(&req)?;
    let label = period(raw)?.label;
    let level = level_param(&req)?;
    let db = COMPONENT.db_for_reads()?;
    run_of(&db, &label)?;
    let rows = db
        .execute(
            "SELECT code, parent, rounded, grade, rank FROM scores WHERE period = ? AND level = ? ORDER BY parent, rank, code",
            &[label.as_str().into(), level.as_str().into()],
        )?;
    let mut csv = String::from("\u{feff}周期,层级,代码,上级,得分,等级,排名\r\n");
    let level_name = match level.as_str() {
        "grid" => "综合网格",
        "dedicated" => "专属网格",
        "community" => "社区",
        "town" => "镇街",
        "district" => "区县",
        _ => "市",
    };
    for r in rows.rows.iter().filter(|r| r[0].as_str().is_some_and(|c| principal.sees_region(c))) {
        csv.push_str(&format!(
            "{label},{level_name},{},{},{:.2},{},{}\r\n",
            r[0].as_str().unwrap_or(""),
            r[1].as_str().unwrap_or(""),
            r[2].as_f64().unwrap_or(0.0),
            r[3].as_str().unwrap_or(""),
            r[4].as_i64().map(|n| n.to_string()).unwrap_or_default()
        ));
    }
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", format!("attachment; filename=\"assessment-{label}-{level}.csv\""))
        .body(csv.into_bytes())
        .build())
}
