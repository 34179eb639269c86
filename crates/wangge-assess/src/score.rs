//! From case facts to scores (docs/assessment.md): deductions per case and month, domain
//! sub-scores floored at 0, weighted grid scores, means up the region tree, grades, and
//! competition rankings on the published (rounded) score.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wangge_cases::lifecycle::AssigneeKind;
use wangge_cases::reference::Priority;

use crate::period::Period;
use crate::rules::Rules;

/// One case as case-routing's facts stream gives it: the line type of that stream,
/// defined once in `wangge_cases` and read strictly (an unknown or a missing field, or
/// an unknown state, is an error, never a default).
pub use wangge_cases::store::CaseFacts as Fact;

/// What the catalogue says of a category, for assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRule {
    pub domain: String,
    pub discoverable: bool,
    /// `report_within`, in seconds.
    pub report_within_seconds: i64,
}

/// The domain never assessed.
pub const GENERAL: &str = "general";

/// The first report of a case: the earliest among the case and every duplicate merged into it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstReport {
    pub reported_at: DateTime<Utc>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub from_grid_staff: bool,
}

impl FirstReport {
    pub fn of(fact: &Fact) -> Option<FirstReport> {
        Some(FirstReport {
            reported_at: wangge_core::time::parse(&fact.reported_at)?,
            discovered_at: fact.discovered_at.as_deref().and_then(wangge_core::time::parse),
            from_grid_staff: fact.reporter_is_grid_staff_of_case,
        })
    }

    /// The earlier of two reports (the first stays on a tie).
    pub fn earliest(self, other: FirstReport) -> FirstReport {
        if other.reported_at < self.reported_at { other } else { self }
    }
}

/// A deduction rule (扣分规则), by the name stored with each deduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 应发现未发现: a discoverable matter first reported by someone other than the grid's staff.
    MissedDiscovery,
    /// 应上报未上报: the grid's staff found it but reported it later than the category allows.
    LateReport,
    /// 应解决未解决: due in the month, passed when the assessment runs, not resolved by then.
    Unresolved,
    /// 返工: reopened after it was resolved, once per reopening.
    Rework,
}

impl Rule {
    /// Every rule, in the order above.
    pub const ALL: [Rule; 4] = [Rule::MissedDiscovery, Rule::LateReport, Rule::Unresolved, Rule::Rework];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissedDiscovery => "missed_discovery",
            Rule::LateReport => "late_report",
            Rule::Unresolved => "unresolved",
            Rule::Rework => "rework",
        }
    }
}

impl std::str::FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown deduction rule `{s}`"))
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lost point, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deduction {
    pub grid: String,
    /// The month it falls in (`2026-11`).
    pub month: String,
    pub case_id: String,
    pub rule: Rule,
    pub domain: String,
    pub points: f64,
}

fn at(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(wangge_core::time::parse)
}

/// Whether a case was handled at grid level: assigned to grid staff, never escalated
/// to a department.
pub fn grid_level(fact: &Fact) -> bool {
    fact.handling_level == Some(AssigneeKind::Grid) && !fact.escalated_to_department
}

/// The deductions one case costs its responsible grid in `month`, as of `run_at`.
pub fn deductions(
    fact: &Fact,
    first: &FirstReport,
    category: &CategoryRule,
    rules: &Rules,
    month: &Period,
    run_at: DateTime<Utc>,
) -> Vec<Deduction> {
    let Some(grid) = fact.responsible_grid.as_ref().or(fact.comprehensive_grid.as_ref()) else { return Vec::new() };
    if category.domain == GENERAL || fact.merged_into.is_some() {
        return Vec::new();
    }
    let multiplier = if fact.priority == Priority::Urgent { rules.urgent_multiplier } else { 1.0 };
    let mut out = Vec::new();
    let mut lose = |rule: Rule, points: f64| {
        out.push(Deduction {
            grid: grid.clone(),
            month: month.label.clone(),
            case_id: fact.case_id.clone(),
            rule,
            domain: category.domain.clone(),
            points: points * multiplier,
        });
    };
    let reported_in_month = month.contains(first.reported_at);
    // 应发现未发现: found by someone other than the grid's own staff.
    if category.discoverable && reported_in_month && !first.from_grid_staff {
        lose(Rule::MissedDiscovery, rules.points.missed_discovery);
    }
    // 应上报未上报: the grid's staff found it, but reported it late.
    if first.from_grid_staff
        && reported_in_month
        && let Some(discovered) = first.discovered_at
        && (first.reported_at - discovered).num_seconds() > category.report_within_seconds
    {
        lose(Rule::LateReport, rules.points.late_report);
    }
    if grid_level(fact) {
        // 应解决未解决: due in the month, passed when the assessment runs, not resolved by then.
        if let Some(due) = at(&fact.resolve_due)
            && month.contains(due)
            && due < run_at
            && at(&fact.first_resolved_at).is_none_or(|resolved| resolved > due)
        {
            lose(Rule::Unresolved, rules.points.unresolved);
        }
        // 返工: one per reopening in the month.
        for reopened in fact.reopened_at.iter().filter_map(|t| wangge_core::time::parse(t)) {
            if month.contains(reopened) {
                lose(Rule::Rework, rules.points.rework);
            }
        }
    }
    out
}

/// A grid's domain sub-scores (`max(0, 100 − Σ points)`) and its weighted score, at
/// full precision.
pub fn grid_score(points: &BTreeMap<String, f64>, weights: &BTreeMap<String, f64>) -> (f64, BTreeMap<String, f64>) {
    let subs: BTreeMap<String, f64> = weights
        .keys()
        .map(|domain| (domain.clone(), (100.0 - points.get(domain).copied().unwrap_or(0.0)).max(0.0)))
        .collect();
    let score = weights.iter().map(|(domain, w)| w * subs[domain]).sum();
    (score, subs)
}

/// Rounds to 2 decimals, half away from zero, on the decimal value the float stands
/// for (97.445 is 97.45 even though its binary form is a hair below).
pub fn round2(x: f64) -> f64 {
    let scaled = x * 100.0;
    let nudged = scaled + scaled.signum() * 1e-7;
    nudged.round() / 100.0
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A place in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub code: String,
    pub score: f64,
    pub rank: usize,
}

/// Competition ranking (1, 2, 2, 4) on the rounded score, highest first; equal scores
/// listed by code ascending.
pub fn rank(items: &[(String, f64)]) -> Vec<Ranked> {
    let mut sorted: Vec<(String, f64)> = items.iter().map(|(c, s)| (c.clone(), round2(*s))).collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<Ranked> = Vec::with_capacity(sorted.len());
    for (i, (code, score)) in sorted.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.score == score => prev.rank,
            _ => i + 1,
        };
        out.push(Ranked { code, score, rank });
    }
    out
}

/// Where a grid sits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct GridInfo {
    pub code: String,
    /// `comprehensive` or `dedicated`.
    pub kind: String,
    pub community: String,
    pub town: String,
    pub district: String,
}

/// Scores up the region tree: a community is the mean of its comprehensive grids
/// (dedicated grids stay out), a town of its communities, a district of its towns, the
/// city of its districts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub communities: BTreeMap<String, f64>,
    pub towns: BTreeMap<String, f64>,
    pub districts: BTreeMap<String, f64>,
    pub city: Option<f64>,
}

pub fn rollup(grids: &[GridInfo], scores: &HashMap<String, f64>) -> Rollup {
    let mut by_community: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut town_of: HashMap<String, String> = HashMap::new();
    let mut district_of: HashMap<String, String> = HashMap::new();
    for g in grids.iter().filter(|g| g.kind == "comprehensive") {
        if let Some(score) = scores.get(&g.code) {
            by_community.entry(g.community.clone()).or_default().push(*score);
            town_of.insert(g.community.clone(), g.town.clone());
            district_of.insert(g.town.clone(), g.district.clone());
        }
    }
    let communities: BTreeMap<String, f64> =
        by_community.iter().filter_map(|(c, v)| Some((c.clone(), mean(v)?))).collect();
    let mut by_town: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (community, score) in &communities {
        by_town.entry(town_of[community].clone()).or_default().push(*score);
    }
    let towns: BTreeMap<String, f64> = by_town.iter().filter_map(|(t, v)| Some((t.clone(), mean(v)?))).collect();
    let mut by_district: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (town, score) in &towns {
        by_district.entry(district_of[town].clone()).or_default().push(*score);
    }
    let districts: BTreeMap<String, f64> =
        by_district.iter().filter_map(|(d, v)| Some((d.clone(), mean(v)?))).collect();
    let city = mean(&districts.values().copied().collect::<Vec<_>>());
    Rollup { communities, towns, districts, city }
}

/// A department's month (部门考核), over cases assigned to it and due in the month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DepartmentMonth {
    pub due: usize,
    pub on_time: usize,
    pub closed: usize,
    pub reworked: usize,
}

impl DepartmentMonth {
    pub fn add(&mut self, fact: &Fact, month: &Period) {
        let Some(due) = at(&fact.resolve_due).filter(|d| month.contains(*d)) else { return };
        self.due += 1;
        if at(&fact.first_resolved_at).is_some_and(|r| r <= due) {
            self.on_time += 1;
        }
        if fact.closed_at.is_some() {
            self.closed += 1;
        }
        if !fact.reopened_at.is_empty() {
            self.reworked += 1;
        }
    }

    /// `30·closure + 40·on_time + 30·(1 − rework)`; none without due cases.
    pub fn score(&self) -> Option<f64> {
        (self.due > 0).then(|| {
            let due = self.due as f64;
            30.0 * self.closed as f64 / due
                + 40.0 * self.on_time as f64 / due
                + 30.0 * (1.0 - self.reworked as f64 / due)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rules::Rules;

    fn rules() -> Rules {
        Rules::defaults(crate::rules::tests::default_weights())
    }

    fn october() -> Period {
        Period::parse("2026-10").unwrap()
    }

    fn rubbish() -> CategoryRule {
        CategoryRule { domain: "eco_environment".into(), discoverable: true, report_within_seconds: 4 * 3600 }
    }

    /// A resident's report of rubbish (B05) in grid G1 on 10 October, accepted and
    /// handled by the grid; nothing else happened to it.
    pub(crate) fn fact(id: &str) -> Fact {
        Fact {
            case_id: id.into(),
            responsible_grid: Some("G1".into()),
            comprehensive_grid: Some("G1".into()),
            community: "C1".into(),
            category: "B05".into(),
            domain: "eco_environment".into(),
            priority: Priority::Normal,
            state: wangge_cases::lifecycle::State::Accepted,
            source: "resident".into(),
            reporter_staff_id: None,
            reporter_is_grid_staff_of_case: false,
            discovered_at: None,
            reported_at: "2026-10-10T09:00:00+08:00".into(),
            handling_level: Some(AssigneeKind::Grid),
            department: None,
            escalated_to_department: false,
            assigned_at: None,
            respond_due: None,
            resolve_due: None,
            first_resolved_at: None,
            closed_at: None,
            reopened_at: Vec::new(),
            merged_into: None,
        }
    }

    fn run() -> DateTime<Utc> {
        wangge_core::time::parse("2026-11-05T00:00:00+08:00").unwrap()
    }

    fn rules_of(d: &[Deduction]) -> Vec<(&str, f64)> {
        d.iter().map(|d| (d.rule.as_str(), d.points)).collect()
    }

    #[test]
    fn a_duplicate_first_reported_by_a_resident_is_a_missed_discovery_even_if_staff_reported_later() {
        let root = fact("c1");
        let mut staff_dup = fact("c2");
        staff_dup.reported_at = "2026-10-10T11:00:00+08:00".into();
        staff_dup.reporter_is_grid_staff_of_case = true;
        staff_dup.merged_into = Some("c1".into());
        let first = FirstReport::of(&root).unwrap().earliest(FirstReport::of(&staff_dup).unwrap());
        assert!(!first.from_grid_staff);
        assert_eq!(
            rules_of(&deductions(&root, &first, &rubbish(), &rules(), &october(), run())),
            [("missed_discovery", 2.0)]
        );
        // The duplicate itself costs nothing: it is a report, not a case of its own.
        assert!(deductions(&staff_dup, &first, &rubbish(), &rules(), &october(), run()).is_empty());
        // Staff first (and in time): no deduction.
        let mut by_staff = fact("c3");
        by_staff.reporter_is_grid_staff_of_case = true;
        by_staff.discovered_at = Some("2026-10-10T08:00:00+08:00".into());
        let first = FirstReport::of(&by_staff).unwrap();
        assert!(deductions(&by_staff, &first, &rubbish(), &rules(), &october(), run()).is_empty());
        // Staff first, but more than 4 h after finding it: a late report.
        by_staff.discovered_at = Some("2026-10-10T04:59:59+08:00".into());
        let first = FirstReport::of(&by_staff).unwrap();
        assert_eq!(
            rules_of(&deductions(&by_staff, &first, &rubbish(), &rules(), &october(), run())),
            [("late_report", 1.0)]
        );
    }

    #[test]
    fn urgent_cases_count_double_and_general_ones_not_at_all() {
        let mut urgent = fact("u1");
        urgent.priority = Priority::Urgent;
        let first = FirstReport::of(&urgent).unwrap();
        assert_eq!(
            rules_of(&deductions(&urgent, &first, &rubbish(), &rules(), &october(), run())),
            [("missed_discovery", 4.0)]
        );
        let general = CategoryRule { domain: GENERAL.into(), discoverable: true, report_within_seconds: 0 };
        assert!(deductions(&urgent, &first, &general, &rules(), &october(), run()).is_empty());
    }

    #[test]
    fn a_deadline_on_the_months_last_second_belongs_to_it_and_midnight_to_the_next() {
        let mut last = fact("d1");
        last.reported_at = "2026-09-20T09:00:00+08:00".into();
        last.resolve_due = Some("2026-10-31T23:59:59+08:00".into());
        let first = FirstReport::of(&last).unwrap();
        assert_eq!(
            rules_of(&deductions(&last, &first, &rubbish(), &rules(), &october(), run())),
            [("unresolved", 2.0)]
        );
        last.resolve_due = Some("2026-11-01T00:00:00+08:00".into());
        assert!(deductions(&last, &first, &rubbish(), &rules(), &october(), run()).is_empty());
        let november = Period::parse("2026-11").unwrap();
        let later = wangge_core::time::parse("2026-12-01T00:00:00+08:00").unwrap();
        assert_eq!(rules_of(&deductions(&last, &first, &rubbish(), &rules(), &november, later)), [("unresolved", 2.0)]);
        // Not yet passed when the assessment runs: not (yet) unresolved.
        let early = wangge_core::time::parse("2026-10-31T12:00:00+08:00").unwrap();
        assert!(deductions(&last, &first, &rubbish(), &rules(), &november, early).is_empty());
        // Resolved exactly on the deadline: on time.
        last.first_resolved_at = Some("2026-11-01T00:00:00+08:00".into());
        assert!(deductions(&last, &first, &rubbish(), &rules(), &november, later).is_empty());
        // A department's case is not the grid's to resolve.
        last.first_resolved_at = None;
        last.escalated_to_department = true;
        assert!(deductions(&last, &first, &rubbish(), &rules(), &november, later).is_empty());
    }

    #[test]
    fn a_case_reopened_twice_costs_two_rework_points() {
        let mut reopened = fact("r1");
        reopened.reported_at = "2026-09-01T09:00:00+08:00".into();
        reopened.reopened_at = vec![
            "2026-10-03T10:00:00+08:00".into(),
            "2026-10-20T10:00:00+08:00".into(),
            "2026-11-02T10:00:00+08:00".into(),
        ];
        let first = FirstReport::of(&reopened).unwrap();
        assert_eq!(
            rules_of(&deductions(&reopened, &first, &rubbish(), &rules(), &october(), run())),
            [("rework", 1.0), ("rework", 1.0)]
        );
    }

    #[test]
    fn a_grid_with_no_cases_scores_100_and_a_domain_floors_at_0() {
        let rules = rules();
        assert_eq!(grid_score(&BTreeMap::new(), &rules.default_weights).0, 100.0);
        let points = BTreeMap::from([("eco_environment".to_owned(), 130.0)]);
        let (score, subs) = grid_score(&points, &rules.default_weights);
        assert_eq!(subs["eco_environment"], 0.0);
        assert!((score - 85.0).abs() < 1e-9, "{score}: 100 less the whole 15 % of that domain, no more");
    }

    #[test]
    fn a_community_with_its_own_weight_set_is_scored_with_it() {
        let mut rules = rules();
        let mut custom = rules.default_weights.clone();
        custom.insert("eco_environment".into(), 0.35);
        custom.insert("public_safety".into(), 0.0);
        rules.community_weights.insert("C2".into(), custom);
        let points = BTreeMap::from([("eco_environment".to_owned(), 10.0)]);
        assert!((grid_score(&points, rules.weights("C1")).0 - 98.5).abs() < 1e-9);
        assert!((grid_score(&points, rules.weights("C2")).0 - 96.5).abs() < 1e-9);
    }

    #[test]
    fn rounding_is_half_away_from_zero_and_ties_rank_1_2_2_4() {
        assert_eq!(round2(97.445), 97.45);
        assert_eq!(round2(2.675), 2.68);
        assert_eq!(round2(-2.675), -2.68);
        assert_eq!(round2(89.994999), 89.99);
        assert_eq!(round2(89.995), 90.0);
        let ranked = rank(&[("G4".into(), 91.0), ("G2".into(), 95.0), ("G3".into(), 95.001), ("G1".into(), 99.0)]);
        let view: Vec<(&str, f64, usize)> = ranked.iter().map(|r| (r.code.as_str(), r.score, r.rank)).collect();
        assert_eq!(view, [("G1", 99.0, 1), ("G2", 95.0, 2), ("G3", 95.0, 2), ("G4", 91.0, 4)]);
    }

    #[test]
    fn dedicated_grids_stay_out_of_community_averages() {
        let grid = |code: &str, kind: &str, community: &str| GridInfo {
            code: code.into(),
            kind: kind.into(),
            community: community.into(),
            town: "T1".into(),
            district: "D1".into(),
        };
        let grids = vec![
            grid("G1", "comprehensive", "C1"),
            grid("G2", "comprehensive", "C1"),
            grid("P1", "dedicated", "C1"),
            grid("G3", "comprehensive", "C2"),
        ];
        let scores: HashMap<String, f64> = [("G1", 90.0), ("G2", 100.0), ("P1", 10.0), ("G3", 80.0)]
            .iter()
            .map(|(c, s)| (c.to_string(), *s))
            .collect();
        let r = rollup(&grids, &scores);
        assert_eq!(r.communities["C1"], 95.0);
        assert_eq!(r.towns["T1"], 87.5, "the mean of its communities, not of its grids");
        assert_eq!((r.districts["D1"], r.city), (87.5, Some(87.5)));
    }

    #[test]
    fn department_kpis() {
        let month = october();
        let mut d = DepartmentMonth::default();
        let mut a = fact("a");
        a.resolve_due = Some("2026-10-15T17:30:00+08:00".into());
        a.first_resolved_at = Some("2026-10-14T10:00:00+08:00".into());
        a.closed_at = Some("2026-10-16T10:00:00+08:00".into());
        let mut b = a.clone();
        b.first_resolved_at = Some("2026-10-16T10:00:00+08:00".into());
        b.closed_at = None;
        b.reopened_at = vec!["2026-10-17T10:00:00+08:00".into()];
        let mut outside = a.clone();
        outside.resolve_due = Some("2026-11-01T00:00:00+08:00".into());
        for f in [&a, &b, &outside] {
            d.add(f, &month);
        }
        assert_eq!((d.due, d.on_time, d.closed, d.reworked), (2, 1, 1, 1));
        assert!((d.score().unwrap() - (15.0 + 20.0 + 15.0)).abs() < 1e-9);
        assert_eq!(DepartmentMonth::default().score(), None);
    }

    #[test]
    fn rules_keep_the_names_stored_with_each_deduction() {
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, ["missed_discovery", "late_report", "unresolved", "rework"]);
        for rule in Rule::ALL {
            assert_eq!(rule.as_str().parse::<Rule>(), Ok(rule));
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.as_str());
        }
        assert!("returned".parse::<Rule>().is_err());
    }
}
