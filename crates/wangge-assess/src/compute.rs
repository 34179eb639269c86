//! One run over a period, streaming: every case fact passes once (after a first pass
//! that finds duplicates), its deductions go straight to the caller, and what is kept
//! is per grid and month. Memory follows the number of grids (and of merged
//! duplicates), not of cases.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wangge_cases::lifecycle::State;
use wangge_core::region::{city_of, district_of, town_of};

use crate::period::Period;
use crate::rules::Rules;
use crate::score::{
    CategoryRule, Deduction, DepartmentMonth, Fact, FirstReport, GridInfo, Ranked, Rollup, Rule, deductions,
    grid_level, grid_score, mean, rank, rollup, round2,
};

/// Counts of a grid's month (月度汇总统计). Stored as JSON; a field missing from a
/// stored row reads as 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statistics {
    /// Cases reported in the month, by the source of each case's own report.
    pub reported: BTreeMap<String, u64>,
    pub accepted: u64,
    pub rejected: u64,
    pub merged: u64,
    pub due: u64,
    pub resolved_on_time: u64,
    pub resolved_late: u64,
    pub overdue_unresolved: u64,
    pub reopened: u64,
    pub missed_discovery: u64,
    pub late_report: u64,
}

impl Statistics {
    pub fn add(&mut self, other: &Statistics) {
        for (k, v) in &other.reported {
            *self.reported.entry(k.clone()).or_default() += v;
        }
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.merged += other.merged;
        self.due += other.due;
        self.resolved_on_time += other.resolved_on_time;
        self.resolved_late += other.resolved_late;
        self.overdue_unresolved += other.overdue_unresolved;
        self.reopened += other.reopened;
        self.missed_discovery += other.missed_discovery;
        self.late_report += other.late_report;
    }

    /// Counts one case into its grid's `month`: its own report (by source and state),
    /// its deadline if due in the month, its reopenings in the month, and the month's
    /// deductions `found` for it.
    fn count(&mut self, fact: &Fact, own: &FirstReport, month: &Period, run_at: DateTime<Utc>, found: &[Deduction]) {
        if month.contains(own.reported_at) {
            *self.reported.entry(fact.source.clone()).or_default() += 1;
            match fact.state {
                State::Rejected => self.rejected += 1,
                State::Merged => self.merged += 1,
                State::Reported => {}
                _ => self.accepted += 1,
            }
        }
        if fact.merged_into.is_none()
            && let Some(due) = at(&fact.resolve_due).filter(|d| month.contains(*d))
        {
            self.due += 1;
            match at(&fact.first_resolved_at) {
                Some(r) if r <= due => self.resolved_on_time += 1,
                Some(_) => self.resolved_late += 1,
                None if due < run_at => self.overdue_unresolved += 1,
                None => {}
            }
        }
        self.reopened +=
            fact.reopened_at.iter().filter_map(|t| wangge_core::time::parse(t)).filter(|t| month.contains(*t)).count()
                as u64;
        for d in found {
            match d.rule {
                Rule::MissedDiscovery => self.missed_discovery += 1,
                Rule::LateReport => self.late_report += 1,
                Rule::Unresolved | Rule::Rework => {}
            }
        }
    }

    /// On-time resolution rate: resolved on time ÷ due in the month.
    pub fn on_time_rate(&self) -> Option<f64> {
        (self.due > 0).then(|| self.resolved_on_time as f64 / self.due as f64)
    }
}

pub struct Run {
    pub period: Period,
    pub months: Vec<Period>,
    pub run_at: DateTime<Utc>,
    pub rules: Rules,
    pub categories: HashMap<String, CategoryRule>,
    pub grids: Vec<GridInfo>,
    merged_first: HashMap<String, FirstReport>,
    points: HashMap<(String, usize), BTreeMap<String, f64>>,
    statistics: HashMap<String, Statistics>,
    departments: BTreeMap<String, DepartmentMonth>,
}

/// A scored grid or region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// `grid`, `dedicated`, `community`, `town`, `district` or `city`.
    pub level: &'static str,
    pub code: String,
    /// Where it is ranked: a grid's or community's town, a town's district, a district's city.
    pub parent: String,
    pub score: f64,
    pub rounded: f64,
    pub grade: String,
    pub rank: Option<usize>,
    /// Domain sub-scores (grids only).
    pub subs: BTreeMap<String, f64>,
}

fn at(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(wangge_core::time::parse)
}

impl Run {
    pub fn new(
        period: Period,
        run_at: DateTime<Utc>,
        rules: Rules,
        categories: HashMap<String, CategoryRule>,
        grids: Vec<GridInfo>,
    ) -> Run {
        Run {
            months: period.months(),
            period,
            run_at,
            rules,
            categories,
            grids,
            merged_first: HashMap::new(),
            points: HashMap::new(),
            statistics: HashMap::new(),
            departments: BTreeMap::new(),
        }
    }

    /// Pass 1: remember the earliest report among each case's merged duplicates.
    pub fn see_duplicate(&mut self, fact: &Fact) {
        let (Some(root), Some(report)) = (&fact.merged_into, FirstReport::of(fact)) else { return };
        let earliest = match self.merged_first.remove(root) {
            Some(seen) => seen.earliest(report),
            None => report,
        };
        self.merged_first.insert(root.clone(), earliest);
    }

    /// Pass 2: one case. Returns its deductions, for the caller to store as they come.
    pub fn add(&mut self, fact: &Fact) -> Vec<Deduction> {
        let grid = fact.responsible_grid.clone().or_else(|| fact.comprehensive_grid.clone()).unwrap_or_default();
        let Some(own) = FirstReport::of(fact) else { return Vec::new() };
        let first = match self.merged_first.get(&fact.case_id) {
            Some(dup) => own.clone().earliest(dup.clone()),
            None => own.clone(),
        };
        let category = self.categories.get(&fact.category).cloned();
        let mut out = Vec::new();
        for (i, month) in self.months.iter().enumerate() {
            let found = match &category {
                Some(c) => deductions(fact, &first, c, &self.rules, month, self.run_at),
                None => Vec::new(),
            };
            if !found.is_empty() {
                let entry = self.points.entry((grid.clone(), i)).or_default();
                for d in &found {
                    *entry.entry(d.domain.clone()).or_default() += d.points;
                }
            }
            // Statistics of the grid's month (a case's own report, merged or not).
            let stats = self.statistics.entry(grid.clone()).or_default();
            stats.count(fact, &own, month, self.run_at, &found);
            if let Some(department) = &fact.department
                && !grid_level(fact)
            {
                self.departments.entry(department.clone()).or_default().add(fact, month);
            }
            out.extend(found);
        }
        out
    }

    /// Scores of every grid and region, with grades and ranks.
    pub fn finish(&self) -> Finished {
        let (mut rows, comprehensive) = self.grid_scores();
        rows.extend(self.region_scores(&comprehensive));
        rank_within_parents(&mut rows);
        Finished { scores: rows, statistics: self.statistics.clone(), departments: self.departments.clone() }
    }

    /// Every grid's score over the period, and the comprehensive grids' scores by code
    /// (what the regions average). A quarter is the mean of its months; a year, of its
    /// quarters.
    fn grid_scores(&self) -> (Vec<Scored>, HashMap<String, f64>) {
        let months = self.months.len();
        let per_quarter = (months / self.period.quarters().len().max(1)).max(1);
        let mut rows = Vec::new();
        let mut comprehensive: HashMap<String, f64> = HashMap::new();
        for g in &self.grids {
            let weights = self.rules.weights(&g.community);
            let monthly: Vec<(f64, BTreeMap<String, f64>)> = (0..months)
                .map(|i| grid_score(self.points.get(&(g.code.clone(), i)).unwrap_or(&BTreeMap::new()), weights))
                .collect();
            let quarter_scores: Vec<f64> = monthly
                .chunks(per_quarter)
                .map(|c| mean(&c.iter().map(|(s, _)| *s).collect::<Vec<_>>()).unwrap_or(100.0))
                .collect();
            let score = mean(&quarter_scores).unwrap_or(100.0);
            let mut subs: BTreeMap<String, f64> = BTreeMap::new();
            for (_, s) in &monthly {
                for (d, v) in s {
                    *subs.entry(d.clone()).or_default() += v / months as f64;
                }
            }
            let dedicated = g.kind == "dedicated";
            if !dedicated {
                comprehensive.insert(g.code.clone(), score);
            }
            let level = if dedicated { "dedicated" } else { "grid" };
            rows.push(Scored { subs, ..self.scored(level, &g.code, g.town.clone(), score) });
        }
        (rows, comprehensive)
    }

    /// Communities, towns, districts and the city, each the mean of the level below.
    fn region_scores(&self, comprehensive: &HashMap<String, f64>) -> Vec<Scored> {
        let Rollup { communities, towns, districts, city } = rollup(&self.grids, comprehensive);
        let mut rows = Vec::new();
        for (code, s) in &communities {
            rows.push(self.scored("community", code, town_of(code), *s));
        }
        for (code, s) in &towns {
            rows.push(self.scored("town", code, district_of(code), *s));
        }
        let city_code = self.grids.first().map(|g| city_of(&g.district)).unwrap_or_default();
        for (code, s) in &districts {
            rows.push(self.scored("district", code, city_code.clone(), *s));
        }
        if let Some(s) = city {
            rows.push(self.scored("city", &city_code, String::new(), s));
        }
        rows
    }

    /// A score with its rounding and grade, not yet ranked.
    fn scored(&self, level: &'static str, code: &str, parent: String, score: f64) -> Scored {
        Scored {
            level,
            code: code.to_owned(),
            parent,
            score,
            rounded: round2(score),
            grade: self.rules.grade(round2(score)).to_owned(),
            rank: None,
            subs: BTreeMap::new(),
        }
    }
}

/// Rankings: within the parent, per level.
fn rank_within_parents(rows: &mut [Scored]) {
    let mut groups: BTreeMap<(&'static str, String), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry((r.level, r.parent.clone())).or_default().push(i);
    }
    for members in groups.values() {
        let items: Vec<(String, f64)> = members.iter().map(|i| (rows[*i].code.clone(), rows[*i].score)).collect();
        let ranked: HashMap<String, Ranked> = rank(&items).into_iter().map(|r| (r.code.clone(), r)).collect();
        for i in members {
            rows[*i].rank = ranked.get(&rows[*i].code).map(|r| r.rank);
        }
    }
}

pub struct Finished {
    pub scores: Vec<Scored>,
    pub statistics: HashMap<String, Statistics>,
    pub departments: BTreeMap<String, DepartmentMonth>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::GridInfo;

    /// One grid with one missed discovery (2 points of eco_environment, weight 0.15:
    /// 99.70 for its month), scored over `period`.
    fn score_with_one_deduction_in_october(period: &str) -> f64 {
        let rules = Rules::defaults(crate::rules::tests::default_weights());
        let categories = HashMap::from([(
            "B05".to_owned(),
            CategoryRule { domain: "eco_environment".into(), discoverable: true, report_within_seconds: 4 * 3600 },
        )]);
        let grid = GridInfo {
            code: "320613001001001".into(),
            kind: "comprehensive".into(),
            community: "320613001001".into(),
            town: "320613001000".into(),
            district: "320613000000".into(),
        };
        let run_at = wangge_core::time::parse("2027-01-05T00:00:00+08:00").unwrap();
        let mut run = Run::new(Period::parse(period).unwrap(), run_at, rules, categories, vec![grid]);
        let fact = Fact {
            responsible_grid: Some("320613001001001".into()),
            comprehensive_grid: Some("320613001001001".into()),
            ..crate::score::tests::fact("c1")
        };
        assert_eq!(run.add(&fact).len(), 1);
        let finished = run.finish();
        let grid = finished.scores.iter().find(|s| s.level == "grid").unwrap();
        let city = finished.scores.iter().find(|s| s.level == "city").unwrap();
        assert_eq!(city.code, "320600000000");
        grid.score
    }

    #[test]
    fn a_quarter_is_the_mean_of_its_months_and_a_year_of_its_quarters() {
        let october = 100.0 - 2.0 * 0.15;
        assert!((score_with_one_deduction_in_october("2026-10") - october).abs() < 1e-9);
        let quarter = (october + 100.0 + 100.0) / 3.0;
        assert!((score_with_one_deduction_in_october("2026-Q4") - quarter).abs() < 1e-9);
        let year = (100.0 * 3.0 + quarter) / 4.0;
        assert!((score_with_one_deduction_in_october("2026") - year).abs() < 1e-9);
    }
}
