//! The rules document (`PUT /v1/assessments/rules`): points per rule, the urgent
//! multiplier, grade bands, default domain weights and per-community weight sets.
//! Validated whole; every result records the version and the SHA-256 of the rules used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wangge_core::FieldError;

/// Weights must sum to 1 within this.
pub const WEIGHT_TOLERANCE: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    /// 应发现未发现
    pub missed_discovery: f64,
    /// 应上报未上报
    pub late_report: f64,
    /// 应解决未解决
    pub unresolved: f64,
    /// 返工
    pub rework: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub grade: String,
    /// The lowest rounded score of the grade.
    pub min: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub points: Points,
    pub urgent_multiplier: f64,
    /// Highest first; the last band's `min` should be 0 or below.
    pub grades: Vec<Band>,
    /// Domain → weight, over the assessed domains.
    pub default_weights: BTreeMap<String, f64>,
    /// Community code → its own weight set.
    #[serde(default)]
    pub community_weights: BTreeMap<String, BTreeMap<String, f64>>,
}

impl Rules {
    /// Version 1 of docs/assessment.md, with the catalogue's default weights.
    pub fn defaults(default_weights: BTreeMap<String, f64>) -> Rules {
        let band = |g: &str, min: f64| Band { grade: g.into(), min };
        Rules {
            points: Points { missed_discovery: 2.0, late_report: 1.0, unresolved: 2.0, rework: 1.0 },
            urgent_multiplier: 2.0,
            grades: vec![band("A", 90.0), band("B", 75.0), band("C", 60.0), band("D", 40.0), band("E", f64::MIN)],
            default_weights,
            community_weights: BTreeMap::new(),
        }
    }

    /// Every problem, with its JSON pointer: weights that do not sum to 1, negative
    /// points or weights, unknown domains, grade bands out of order.
    pub fn validate(&self, domains: &[String]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let p = &self.points;
        for (name, v) in [
            ("missed_discovery", p.missed_discovery),
            ("late_report", p.late_report),
            ("unresolved", p.unresolved),
            ("rework", p.rework),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                errors.push(FieldError::new(format!("/points/{name}"), "minimum", "points must be non-negative"));
            }
        }
        if !(self.urgent_multiplier.is_finite() && self.urgent_multiplier >= 1.0) {
            errors.push(FieldError::new("/urgent_multiplier", "minimum", "the urgent multiplier is at least 1"));
        }
        if self.grades.is_empty() || self.grades.windows(2).any(|w| w[0].min <= w[1].min) {
            errors.push(FieldError::new("/grades", "order", "grade bands go from the highest minimum down"));
        }
        let mut check = |pointer: String, weights: &BTreeMap<String, f64>| {
            for (domain, w) in weights {
                if !domains.contains(domain) {
                    errors.push(FieldError::new(
                        format!("{pointer}/{domain}"),
                        "unknown_domain",
                        format!("`{domain}` is not an assessed domain"),
                    ));
                }
                if !(w.is_finite() && *w >= 0.0) {
                    errors.push(FieldError::new(format!("{pointer}/{domain}"), "minimum", "weights are non-negative"));
                }
            }
            let sum: f64 = weights.values().sum();
            if (sum - 1.0).abs() > WEIGHT_TOLERANCE {
                errors.push(FieldError::new(pointer, "weights_sum", format!("weights must sum to 1, not {sum}")));
            }
        };
        check("/default_weights".into(), &self.default_weights);
        for (community, weights) in &self.community_weights {
            check(format!("/community_weights/{community}"), weights);
        }
        errors
    }

    /// The weights of a community: its own set, or the defaults.
    pub fn weights(&self, community: &str) -> &BTreeMap<String, f64> {
        self.community_weights.get(community).unwrap_or(&self.default_weights)
    }

    /// SHA-256 of the rules' canonical JSON (keys sorted): what results record.
    pub fn sha256(&self) -> String {
        wangge_core::json::canonical_sha256(&serde_json::to_value(self).unwrap_or_default())
    }

    /// The grade of a published (rounded) score.
    pub fn grade(&self, rounded: f64) -> &str {
        self.grades.iter().find(|b| rounded >= b.min).or(self.grades.last()).map_or("", |b| b.grade.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn domains() -> Vec<String> {
        [
            "public_safety",
            "eco_environment",
            "urban_rural_construction",
            "production_safety",
            "floating_population",
            "special_groups",
            "empty_nest_elderly",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub fn default_weights() -> BTreeMap<String, f64> {
        domains().into_iter().zip([0.2, 0.15, 0.15, 0.15, 0.1, 0.15, 0.1]).collect()
    }

    #[test]
    fn the_defaults_are_valid_and_hash_the_same_every_time() {
        let rules = Rules::defaults(default_weights());
        assert_eq!(rules.validate(&domains()), vec![]);
        assert_eq!(rules.sha256(), Rules::defaults(default_weights()).sha256());
        assert_eq!(
            (rules.grade(90.0), rules.grade(89.99), rules.grade(40.0), rules.grade(39.99)),
            ("A", "B", "D", "E")
        );
    }

    #[test]
    fn weights_must_sum_to_one_and_points_be_non_negative() {
        let mut rules = Rules::defaults(default_weights());
        rules.points.rework = -1.0;
        let mut custom = default_weights();
        custom.insert("public_safety".into(), 0.3);
        rules.community_weights.insert("320613001001".into(), custom);
        let pointers: Vec<String> = rules.validate(&domains()).into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/points/rework", "/community_weights/320613001001"]);
        // Within 1e-9 is a sum of 1.
        let mut close = default_weights();
        *close.get_mut("public_safety").unwrap() += 5e-10;
        assert!(Rules { default_weights: close, ..Rules::defaults(default_weights()) }.validate(&domains()).is_empty());
    }
}
