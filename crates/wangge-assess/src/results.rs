//! Reading stored results: a run, scores at each level, a grid's deductions, summed
//! statistics, department KPIs, and the CSV export. Who may read which rows is the
//! caller's to decide; this module answers what is stored.
//!
//! Rankings list a score without a rank first (`NULLS FIRST`): SQLite's order for
//! `NULL`, which PostgreSQL would otherwise reverse.

use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};

use crate::compute::Statistics;

/// A level scores are kept at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A comprehensive grid (综合网格).
    Grid,
    /// A dedicated grid (专属网格): a school, a hospital, an industrial park.
    Dedicated,
    /// A community (社区/村).
    Community,
    /// A town or street (镇街).
    Town,
    /// A district or county (区县).
    District,
    /// The city (市).
    City,
}

impl Level {
    pub const ALL: [Level; 6] =
        [Level::Grid, Level::Dedicated, Level::Community, Level::Town, Level::District, Level::City];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Grid => "grid",
            Level::Dedicated => "dedicated",
            Level::Community => "community",
            Level::Town => "town",
            Level::District => "district",
            Level::City => "city",
        }
    }

    /// Its name in the export's header row.
    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Grid => "综合网格",
            Level::Dedicated => "专属网格",
            Level::Community => "社区",
            Level::Town => "镇街",
            Level::District => "区县",
            Level::City => "市",
        }
    }

    /// Whether scores at this level are a grid's (kept by grid code) or a region's.
    pub fn is_grid(self) -> bool {
        matches!(self, Level::Grid | Level::Dedicated)
    }
}

impl FromStr for Level {
    type Err = ();

    fn from_str(s: &str) -> Result<Level, ()> {
        Level::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

/// A stored run: when, under which rules, over how many facts, and its result's hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub run_at: Option<String>,
    pub rules_version: Option<i64>,
    pub rules_sha256: Option<String>,
    pub result_sha256: Option<String>,
    pub facts: Option<i64>,
}

/// One score: a grid's, or a region's roll-up, with its rank within its parent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRow {
    pub level: Option<String>,
    pub code: Option<String>,
    pub parent: Option<String>,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub rank: Option<i64>,
    pub sub_scores: Option<Value>,
}

/// One lost point (or several), with the case and the rule that cost it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeductionRow {
    pub month: Option<String>,
    pub case_id: Option<String>,
    pub rule: Option<String>,
    pub domain: Option<String>,
    pub points: Option<f64>,
}

/// A department's KPIs for the period: rates over the cases due in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartmentRow {
    pub department: Option<String>,
    pub due: Option<i64>,
    pub on_time_rate: Option<f64>,
    pub closure_rate: Option<f64>,
    pub rework_rate: Option<f64>,
    pub score: Option<f64>,
}

fn text(v: &SqlValue) -> Option<String> {
    v.as_str().map(str::to_owned)
}

const SCORE_COLUMNS: &str = "level, code, parent, rounded, grade, rank, subs";

fn score_rows(rows: Rows) -> Vec<ScoreRow> {
    rows.rows
        .iter()
        .map(|r| ScoreRow {
            level: text(&r[0]),
            code: text(&r[1]),
            parent: text(&r[2]),
            score: r[3].as_f64(),
            grade: text(&r[4]),
            rank: r[5].as_i64(),
            sub_scores: r[6].as_str().and_then(|s| serde_json::from_str(s).ok()),
        })
        .collect()
}

/// The run of `period`, if it has been run.
pub fn run(db: &impl Sql, period: &str) -> Result<Option<RunRecord>, StorageError> {
    let rows = db.execute(
        "SELECT run_at, rules_version, rules_sha256, result_sha256, facts FROM runs WHERE period = ?",
        &[period.into()],
    )?;
    Ok(rows.rows.first().map(|r| RunRecord {
        run_at: text(&r[0]),
        rules_version: r[1].as_i64(),
        rules_sha256: text(&r[2]),
        result_sha256: text(&r[3]),
        facts: r[4].as_i64(),
    }))
}

/// The score of `code`: a grid's (either kind) when `grid`, else a region's.
pub fn score(db: &impl Sql, period: &str, code: &str, grid: bool) -> Result<Option<ScoreRow>, StorageError> {
    let levels: Vec<String> =
        Level::ALL.iter().filter(|l| l.is_grid() == grid).map(|l| format!("'{}'", l.as_str())).collect();
    let levels = levels.join(", ");
    let rows = db.execute(
        &format!("SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level IN ({levels}) AND code = ?"),
        &[period.into(), code.into()],
    )?;
    Ok(score_rows(rows).into_iter().next())
}

/// The members one level below a region, ranked: districts of the city, towns of a
/// district, communities of a town, and a community's comprehensive grids.
pub fn members(db: &impl Sql, period: &str, region: &ScoreRow) -> Result<Vec<ScoreRow>, StorageError> {
    let code = region.code.as_deref().unwrap_or_default();
    let child = match region.level.as_deref().and_then(|l| l.parse().ok()) {
        Some(Level::City) => Level::District,
        Some(Level::District) => Level::Town,
        Some(Level::Town) => Level::Community,
        _ => Level::Grid,
    };
    if child != Level::Grid {
        return ranking(db, period, child, Some(code), usize::MAX);
    }
    // A community's grids are ranked within their town: they are found by code prefix.
    let rows = db.execute(
        &format!(
            "SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level = 'grid' AND code >= ? AND code < ? || 'z' \
             ORDER BY rank NULLS FIRST, code"
        ),
        &[period.into(), code.into(), code.into()],
    )?;
    Ok(score_rows(rows))
}

/// Scores at `level`, ranked within each parent; under one `parent`, or all of them (at
/// most `max`).
pub fn ranking(
    db: &impl Sql,
    period: &str,
    level: Level,
    parent: Option<&str>,
    max: usize,
) -> Result<Vec<ScoreRow>, StorageError> {
    let rows = match parent {
        Some(p) => db.execute(
            &format!(
                "SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level = ? AND parent = ? ORDER BY rank NULLS FIRST, code"
            ),
            &[period.into(), level.as_str().into(), p.into()],
        )?,
        None => db.execute(
            &format!(
                "SELECT {SCORE_COLUMNS} FROM scores WHERE period = ? AND level = ? ORDER BY parent, rank NULLS FIRST, code LIMIT ?"
            ),
            &[period.into(), level.as_str().into(), (max as i64).into()],
        )?,
    };
    Ok(score_rows(rows))
}

/// A grid's deductions, by month, case and rule.
pub fn deductions(db: &impl Sql, period: &str, grid: &str) -> Result<Vec<DeductionRow>, StorageError> {
    let rows = db.execute(
        "SELECT month, case_id, rule, domain, points FROM deductions WHERE period = ? AND grid = ? \
         ORDER BY month, case_id, rule",
        &[period.into(), grid.into()],
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|r| DeductionRow {
            month: text(&r[0]),
            case_id: text(&r[1]),
            rule: text(&r[2]),
            domain: text(&r[3]),
            points: r[4].as_f64(),
        })
        .collect())
}

/// The counts of every grid under `prefix`, summed, and how many grids they came from
/// (月度汇总统计).
pub fn statistics(db: &impl Sql, period: &str, prefix: &str) -> Result<(u64, Statistics), StorageError> {
    let rows = db.execute(
        "SELECT counts FROM statistics WHERE period = ? AND grid >= ? AND grid < ? || 'z'",
        &[period.into(), prefix.into(), prefix.into()],
    )?;
    let mut total = Statistics::default();
    let mut grids = 0;
    for counts in rows.rows.iter().filter_map(|r| r[0].as_str().and_then(|c| serde_json::from_str(c).ok())) {
        total.add(&counts);
        grids += 1;
    }
    Ok((grids, total))
}

/// Every department's KPIs for the period, by department code.
pub fn departments(db: &impl Sql, period: &str) -> Result<Vec<DepartmentRow>, StorageError> {
    let rows = db.execute(
        "SELECT department, due, on_time, closed, reworked, score FROM departments WHERE period = ? ORDER BY department",
        &[period.into()],
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|r| {
            let due = r[1].as_i64().unwrap_or(0) as f64;
            let rate = |v: &SqlValue| (due > 0.0).then(|| v.as_i64().unwrap_or(0) as f64 / due);
            DepartmentRow {
                department: text(&r[0]),
                due: r[1].as_i64(),
                on_time_rate: rate(&r[2]),
                closure_rate: rate(&r[3]),
                rework_rate: rate(&r[4]),
                score: r[5].as_f64().map(crate::score::round2),
            }
        })
        .collect())
}

/// The export: UTF-8 with a BOM and Chinese headers, so that Excel opens it cleanly.
pub fn csv(period: &str, level: Level, rows: &[ScoreRow]) -> String {
    let mut csv = String::from("\u{feff}周期,层级,代码,上级,得分,等级,排名\r\n");
    for r in rows {
        csv.push_str(&format!(
            "{period},{},{},{},{:.2},{},{}\r\n",
            level.name_zh(),
            r.code.as_deref().unwrap_or(""),
            r.parent.as_deref().unwrap_or(""),
            r.score.unwrap_or(0.0),
            r.grade.as_deref().unwrap_or(""),
            r.rank.map(|n| n.to_string()).unwrap_or_default()
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_from_their_names_and_nothing_else() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(level));
        }
        assert!("County".parse::<Level>().is_err());
        assert!(Level::Dedicated.is_grid() && !Level::Community.is_grid());
    }

    #[test]
    fn the_export_has_a_bom_chinese_headers_and_two_decimals() {
        let row = ScoreRow {
            level: Some("grid".into()),
            code: Some("320613001001001".into()),
            parent: Some("320613001000".into()),
            score: Some(97.5),
            grade: Some("优秀".into()),
            rank: Some(1),
            sub_scores: None,
        };
        assert_eq!(
            csv("2026-11", Level::Grid, &[row]),
            "\u{feff}周期,层级,代码,上级,得分,等级,排名\r\n2026-11,综合网格,320613001001001,320613001000,97.50,优秀,1\r\n"
        );
    }
}
