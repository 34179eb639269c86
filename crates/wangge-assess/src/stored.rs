//! Writing what assessment keeps: versions of the rules, and a period's results (every
//! deduction, score, grid statistic and department KPI) hashed as they are written, so
//! that a rerun over the same facts and rules is known to be byte-identical. Reading
//! them back is [`crate::results`].
//!
//! A period's results are replaced inside the caller's transaction: [`Results::clear`]
//! first, then the rows, then [`record`]; the caller commits, or rolls back and nothing
//! of the run is kept.

use serde_json::Value;
use sha2::{Digest, Sha256};
use wangge_core::migrations::{Sql, SqlValue, StorageError};

use crate::compute::Finished;
use crate::rules::Rules;
use crate::score::Deduction;

/// The latest stored rules: version, document and the hash stored with them.
pub fn latest_rules(db: &impl Sql) -> Result<Option<(i64, Rules, String)>, StorageError> {
    let rows = db.execute("SELECT version, body, sha256 FROM rules ORDER BY version DESC LIMIT 1", &[])?;
    let Some(r) = rows.rows.first() else { return Ok(None) };
    let rules = r[1]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .ok_or_else(|| StorageError::Io(format!("stored rules version {:?} are unreadable", r[0].as_i64())))?;
    Ok(Some((r[0].as_i64().unwrap_or(0), rules, r[2].as_str().unwrap_or_default().to_owned())))
}

/// Stores `rules` as the next version; returns it.
pub fn add_rules(db: &impl Sql, rules: &Rules, sha256: &str, now: &str) -> Result<i64, StorageError> {
    db.transaction(|db| {
        let next =
            db.execute("SELECT coalesce(max(version), 0) + 1 FROM rules", &[])?.scalar().and_then(SqlValue::as_i64);
        let next = next.unwrap_or(1);
        db.execute(
            "INSERT INTO rules (version, body, sha256, created_at) VALUES (?, ?, ?, ?)",
            &[next.into(), serde_json::to_string(rules).unwrap_or_default().into(), sha256.into(), now.into()],
        )?;
        Ok(next)
    })
}

/// Rows inserted 100 to a statement: on Spin every statement is a host call, and a
/// year's results are hundreds of thousands of rows.
struct Batch {
    table: &'static str,
    columns: usize,
    values: Vec<SqlValue>,
}

impl Batch {
    const ROWS: usize = 100;

    fn new(table: &'static str, columns: usize) -> Batch {
        Batch { table, columns, values: Vec::with_capacity(columns * Self::ROWS) }
    }

    fn push<const N: usize>(&mut self, db: &impl Sql, row: [SqlValue; N]) -> Result<(), StorageError> {
        self.values.extend(row);
        if self.values.len() >= self.columns * Self::ROWS { self.flush(db) } else { Ok(()) }
    }

    fn flush(&mut self, db: &impl Sql) -> Result<(), StorageError> {
        if self.values.is_empty() {
            return Ok(());
        }
        let rows = self.values.len() / self.columns;
        let one = format!("({})", vec!["?"; self.columns].join(", "));
        let sql = format!("INSERT INTO {} VALUES {}", self.table, vec![one; rows].join(", "));
        db.execute(&sql, &self.values)?;
        self.values.clear();
        Ok(())
    }
}

/// A period's results on their way into storage, hashed in the order they are written.
pub struct Results {
    label: String,
    hash: Sha256,
    deductions: Batch,
}

impl Results {
    /// Empties the period's stored results (inside the caller's transaction).
    pub fn clear(db: &impl Sql, label: &str) -> Result<Results, StorageError> {
        for table in ["deductions", "scores", "statistics", "departments"] {
            db.execute(&format!("DELETE FROM {table} WHERE period = ?"), &[label.into()])?;
        }
        Ok(Results {
            label: label.to_owned(),
            hash: Sha256::new(),
            deductions: Batch::new("deductions (period, grid, month, case_id, rule, domain, points)", 7),
        })
    }

    /// One deduction, as the computation finds it.
    pub fn deduction(&mut self, db: &impl Sql, d: &Deduction) -> Result<(), StorageError> {
        self.hash.update(format!("{}|{}|{}|{}|{}|{}\n", d.grid, d.month, d.case_id, d.rule, d.domain, d.points));
        let row = [
            self.label.as_str().into(),
            d.grid.as_str().into(),
            d.month.as_str().into(),
            d.case_id.as_str().into(),
            d.rule.as_str().into(),
            d.domain.as_str().into(),
            d.points.into(),
        ];
        self.deductions.push(db, row)
    }

    /// Everything else the finished computation holds; returns the results' hash.
    pub fn finish(mut self, db: &impl Sql, finished: &Finished) -> Result<String, StorageError> {
        self.deductions.flush(db)?;
        self.scores(db, finished)?;
        self.statistics_and_departments(db, finished)?;
        Ok(hex::encode(self.hash.finalize()))
    }

    /// The scores of every grid and region.
    fn scores(&mut self, db: &impl Sql, finished: &Finished) -> Result<(), StorageError> {
        let mut scores = Batch::new("scores (period, level, code, parent, score, rounded, grade, rank, subs)", 9);
        for s in &finished.scores {
            let subs = serde_json::to_string(&s.subs).unwrap_or_default();
            self.hash.update(format!(
                "{}|{}|{}|{:?}|{}|{}|{:?}|{}\n",
                s.level, s.code, s.parent, s.score, s.rounded, s.grade, s.rank, subs
            ));
            let row = [
                self.label.as_str().into(),
                s.level.into(),
                s.code.as_str().into(),
                s.parent.as_str().into(),
                s.score.into(),
                s.rounded.into(),
                s.grade.as_str().into(),
                s.rank.map(|r| r as i64).into(),
                subs.into(),
            ];
            scores.push(db, row)?;
        }
        scores.flush(db)
    }

    /// The statistics of every grid (in code order) and the KPIs of every department.
    fn statistics_and_departments(&mut self, db: &impl Sql, finished: &Finished) -> Result<(), StorageError> {
        let mut grids: Vec<&String> = finished.statistics.keys().collect();
        grids.sort();
        let mut statistics = Batch::new("statistics (period, grid, counts)", 3);
        for grid in grids {
            let counts = serde_json::to_string(&finished.statistics[grid]).unwrap_or_default();
            self.hash.update(format!("{grid}|{counts}\n"));
            statistics.push(db, [self.label.as_str().into(), grid.as_str().into(), counts.into()])?;
        }
        statistics.flush(db)?;
        for (department, d) in &finished.departments {
            self.hash.update(format!(
                "{department}|{}|{}|{}|{}|{:?}\n",
                d.due,
                d.on_time,
                d.closed,
                d.reworked,
                d.score()
            ));
            db.execute(
                "INSERT INTO departments (period, department, due, on_time, closed, reworked, score) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                &[
                    self.label.as_str().into(),
                    department.as_str().into(),
                    (d.due as i64).into(),
                    (d.on_time as i64).into(),
                    (d.closed as i64).into(),
                    (d.reworked as i64).into(),
                    d.score().into(),
                ],
            )?;
        }
        Ok(())
    }
}

/// What is recorded of a run beside its results.
pub struct NewRun {
    pub label: String,
    pub run_at: String,
    pub rules_version: i64,
    pub rules_sha: String,
    pub result_sha: String,
    pub facts: u64,
    /// The run's stages, as its answer reports them.
    pub stages: Value,
}

/// Records the run, replacing the period's previous one (inside the caller's
/// transaction). Returns whether the previous run had the same results and rules.
pub fn record(db: &impl Sql, record: &NewRun) -> Result<bool, StorageError> {
    let previous =
        db.execute("SELECT result_sha256, rules_sha256 FROM runs WHERE period = ?", &[record.label.as_str().into()])?;
    let identical = previous.rows.first().is_some_and(|r| {
        r[0].as_str() == Some(record.result_sha.as_str()) && r[1].as_str() == Some(record.rules_sha.as_str())
    });
    db.execute(
        "INSERT INTO runs (period, run_at, rules_version, rules_sha256, result_sha256, facts, stages) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (period) DO UPDATE SET run_at = excluded.run_at, \
         rules_version = excluded.rules_version, rules_sha256 = excluded.rules_sha256, \
         result_sha256 = excluded.result_sha256, facts = excluded.facts, stages = excluded.stages",
        &[
            record.label.as_str().into(),
            record.run_at.as_str().into(),
            record.rules_version.into(),
            record.rules_sha.as_str().into(),
            record.result_sha.as_str().into(),
            (record.facts as i64).into(),
            record.stages.to_string().into(),
        ],
    )?;
    Ok(identical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::{Scored, Statistics};
    use crate::results::{Level, departments, members, ranking, statistics};
    use crate::score::{DepartmentMonth, Rule};
    use wangge_core::native::TestDb;

    fn db() -> TestDb {
        TestDb::migrated(&crate::SCHEMA)
    }

    #[test]
    fn rules_are_versioned_and_read_back() {
        let db = db();
        assert!(latest_rules(&db).unwrap().is_none());
        let rules = Rules::defaults(Default::default());
        assert_eq!(add_rules(&db, &rules, "abc", "2026-11-01T08:00:00+08:00").unwrap(), 1);
        assert_eq!(add_rules(&db, &rules, "def", "2026-11-02T08:00:00+08:00").unwrap(), 2);
        let (version, _, sha) = latest_rules(&db).unwrap().unwrap();
        assert_eq!((version, sha.as_str()), (2, "def"));
    }

    #[test]
    fn a_rerun_with_the_same_results_and_rules_is_identical() {
        let db = db();
        let mut record = NewRun {
            label: "2026-11".into(),
            run_at: "t1".into(),
            rules_version: 0,
            rules_sha: "r".into(),
            result_sha: "x".into(),
            facts: 3,
            stages: Value::Null,
        };
        assert!(!record_run(&db, &record), "the first run has nothing to equal");
        record.run_at = "t2".into();
        assert!(record_run(&db, &record), "same results, same rules");
        record.result_sha = "y".into();
        assert!(!record_run(&db, &record));
    }

    #[test]
    fn rules_stored_by_several_replicas_at_once_get_a_version_each() {
        // SQLite takes its writers in turn, and a database in memory has one connection.
        if TestDb::engine() == wangge_core::dialect::Dialect::Sqlite {
            return;
        }
        let db = db();
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let replicas: Vec<_> = (0..4)
            .map(|n| {
                let (db, start) = (db.connect_again(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let rules = Rules::defaults(Default::default());
                    add_rules(&db, &rules, &format!("sha-{n}"), "2026-11-01T08:00:00+08:00").expect("stored")
                })
            })
            .collect();
        let mut versions: Vec<i64> = replicas.into_iter().map(|t| t.join().unwrap()).collect();
        versions.sort();
        assert_eq!(versions, [1, 2, 3, 4]);
    }

    fn scored(level: &'static str, code: &str, parent: &str, score: f64, rank: Option<usize>) -> Scored {
        let subs = [("eco_environment".to_owned(), score)].into();
        Scored {
            level,
            code: code.into(),
            parent: parent.into(),
            score,
            rounded: score,
            grade: "良好".into(),
            rank,
            subs,
        }
    }

    /// Stores `finished` and `deductions` as `label`'s results, in one transaction as a
    /// run does; returns their hash.
    fn store(db: &TestDb, label: &str, deductions: &[Deduction], finished: &Finished) -> String {
        db.transaction(|db| {
            let mut results = Results::clear(db, label)?;
            for d in deductions {
                results.deduction(db, d)?;
            }
            results.finish(db, finished)
        })
        .unwrap()
    }

    #[test]
    fn results_read_back_as_written_with_a_missing_rank_first() {
        let db = db();
        let town = "320613001000";
        // 150 deductions: more than one batch of 100 rows.
        let deductions: Vec<Deduction> = (0..150)
            .map(|i| Deduction {
                grid: "320613001001001".into(),
                month: "2026-11".into(),
                case_id: format!("c{i:03}"),
                rule: Rule::MissedDiscovery,
                domain: "eco_environment".into(),
                points: if i == 0 { 2.0 } else { 0.5 },
            })
            .collect();
        let finished = Finished {
            scores: vec![
                scored("grid", "320613001001002", town, 95.0, Some(2)),
                scored("grid", "320613001001003", town, 95.0, Some(2)),
                scored("grid", "320613001001001", town, 97.5, Some(1)),
                scored("grid", "320613001001004", town, 0.0, None),
                scored("community", "320613001001", town, 96.0, Some(1)),
            ],
            statistics: [("320613001001001".to_owned(), Statistics { due: 2, accepted: 3, ..Default::default() })]
                .into(),
            departments: [("320613-cg".to_owned(), DepartmentMonth { due: 4, on_time: 3, closed: 4, reworked: 1 })]
                .into(),
        };
        let hash = store(&db, "2026-11", &deductions, &finished);
        assert_eq!(store(&db, "2026-11", &deductions, &finished), hash, "a rerun replaces them, byte for byte");
        let ranked = ranking(&db, "2026-11", Level::Grid, Some(town), usize::MAX).unwrap();
        let order: Vec<(Option<&str>, Option<i64>)> = ranked.iter().map(|r| (r.code.as_deref(), r.rank)).collect();
        assert_eq!(
            order,
            [
                (Some("320613001001004"), None),
                (Some("320613001001001"), Some(1)),
                (Some("320613001001002"), Some(2)),
                (Some("320613001001003"), Some(2)),
            ]
        );
        assert_eq!(ranked[1].score, Some(97.5));
        assert_eq!(ranked[1].sub_scores, Some(serde_json::json!({ "eco_environment": 97.5 })));
        let community = crate::results::score(&db, "2026-11", "320613001001", false).unwrap().unwrap();
        let grids = members(&db, "2026-11", &community).unwrap();
        assert_eq!(grids, ranked, "a community's grids, found by code, in the same order");
        let lost = crate::results::deductions(&db, "2026-11", "320613001001001").unwrap();
        assert_eq!((lost.len(), lost[0].case_id.as_deref(), lost[0].points), (150, Some("c000"), Some(2.0)));
        let (grids, total) = statistics(&db, "2026-11", "320613").unwrap();
        assert_eq!((grids, total.due, total.accepted), (1, 2, 3));
        let kpis = departments(&db, "2026-11").unwrap();
        assert_eq!((kpis[0].due, kpis[0].on_time_rate, kpis[0].rework_rate), (Some(4), Some(0.75), Some(0.25)));
        // Ranks missing from a whole batch of rows are stored as missing too.
        let unranked = Finished {
            scores: vec![scored("grid", "g1", town, 90.0, None), scored("grid", "g2", town, 91.0, None)],
            statistics: Default::default(),
            departments: Default::default(),
        };
        store(&db, "2026-12", &[], &unranked);
        let ranked = ranking(&db, "2026-12", Level::Grid, None, 10).unwrap();
        assert_eq!(ranked.iter().map(|r| r.rank).collect::<Vec<_>>(), [None, None]);
    }

    fn record_run(db: &TestDb, r: &NewRun) -> bool {
        record(db, r).unwrap()
    }
}
