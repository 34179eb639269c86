//! The catalogue of matters (事项目录, `data/categories.json`) as the oracles need it:
//! each matter's domain, priority, time limits and who may handle it, and the default
//! weight of every assessed domain.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Unreadable;
use super::calendar::Within;

/// The domain never assessed (hotline enquiries and suggestions, 其他).
pub const GENERAL: &str = "general";

/// A matter's priority, as the catalogue names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// 一般.
    Normal,
    /// 较急: no different from normal in assessment.
    High,
    /// 紧急: assessment's points count double.
    Urgent,
}

/// One matter (事项) of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Matter {
    /// `A01`, `B05`, …
    pub code: String,
    /// The assessment domain (`eco_environment`, …, or `general`).
    pub domain: String,
    /// Whether grid staff may handle it themselves (else it goes to a department).
    pub grid_may_resolve: bool,
    /// The kind of department that handles it (`urban_management`, …).
    pub department_kind: Option<String>,
    /// Whether its priority is `urgent` (points ×2).
    pub urgent: bool,
    /// Whether grid staff are expected to find it themselves (应发现).
    pub discoverable: bool,
    /// How soon after finding it grid staff must report it.
    pub report_within: Within,
    /// How soon after assignment the assignee must sign for it.
    pub respond_within: Within,
    /// How soon after assignment it must be resolved.
    pub resolve_within: Within,
}

/// The catalogue: matters by code, and the default weight of each assessed domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub matters: BTreeMap<String, Matter>,
    /// Domain → `default_weight`, for the assessed domains only (not `general`, nor any
    /// of class `none`).
    pub weights: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct CatalogueJson {
    domains: BTreeMap<String, DomainJson>,
    categories: Vec<MatterJson>,
}

#[derive(Deserialize)]
struct DomainJson {
    class: Option<String>,
    default_weight: Option<f64>,
}

#[derive(Deserialize)]
struct MatterJson {
    code: String,
    domain: String,
    grid_may_resolve: bool,
    department_kind: Option<String>,
    priority: Priority,
    discoverable: bool,
    report_within: Within,
    respond_within: Within,
    resolve_within: Within,
}

impl Catalogue {
    /// Reads the JSON text of `data/categories.json`.
    pub fn from_json(text: &str) -> Result<Catalogue, Unreadable> {
        let file: CatalogueJson = serde_json::from_str(text).map_err(|e| Unreadable(format!("catalogue: {e}")))?;
        let weights: BTreeMap<String, f64> = file
            .domains
            .iter()
            .filter(|(name, d)| name.as_str() != GENERAL && d.class.as_deref() != Some("none"))
            .map(|(name, d)| (name.clone(), d.default_weight.unwrap_or(0.0)))
            .collect();
        let mut matters = BTreeMap::new();
        for m in file.categories {
            if !file.domains.contains_key(&m.domain) {
                return Err(Unreadable(format!("catalogue: {} is in an unknown domain {}", m.code, m.domain)));
            }
            let matter = Matter {
                code: m.code.clone(),
                domain: m.domain,
                grid_may_resolve: m.grid_may_resolve,
                department_kind: m.department_kind,
                urgent: m.priority == Priority::Urgent,
                discoverable: m.discoverable,
                report_within: m.report_within,
                respond_within: m.respond_within,
                resolve_within: m.resolve_within,
            };
            if matters.insert(m.code.clone(), matter).is_some() {
                return Err(Unreadable(format!("catalogue: {} twice", m.code)));
            }
        }
        Ok(Catalogue { matters, weights })
    }

    /// Whether the matter's domain is assessed at all.
    pub fn assessed(&self, matter: &Matter) -> bool {
        self.weights.contains_key(&matter.domain)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn catalogue() -> Catalogue {
        Catalogue::from_json(include_str!("../../../../data/categories.json")).expect("the catalogue")
    }

    #[test]
    fn the_catalogue_reads_with_seven_weighted_domains() {
        let c = catalogue();
        assert_eq!(c.matters.len(), 42);
        let weights: Vec<(&str, f64)> = c.weights.iter().map(|(d, w)| (d.as_str(), *w)).collect();
        assert_eq!(
            weights,
            [
                ("eco_environment", 0.15),
                ("empty_nest_elderly", 0.1),
                ("floating_population", 0.1),
                ("production_safety", 0.15),
                ("public_safety", 0.2),
                ("special_groups", 0.15),
                ("urban_rural_construction", 0.15),
            ]
        );
        assert!((c.weights.values().sum::<f64>() - 1.0).abs() < 1e-9);
        let b05 = &c.matters["B05"];
        assert_eq!(
            (b05.domain.as_str(), b05.urgent, b05.discoverable, b05.grid_may_resolve),
            ("eco_environment", false, true, true)
        );
        assert_eq!(
            (b05.report_within, b05.respond_within, b05.resolve_within),
            (Within::Hours(24), Within::WorkHours(4), Within::WorkDays(1))
        );
        assert!(c.matters["A07"].urgent, "A07 is urgent");
        assert!(!c.matters["A03"].urgent, "A03 is only high");
        assert!(!c.assessed(&c.matters["Z01"]));
        let urgent: Vec<&str> = c.matters.values().filter(|m| m.urgent).map(|m| m.code.as_str()).collect();
        assert_eq!(urgent, ["A07", "A08", "B01", "D04", "D06", "F03", "G02"]);
    }

    #[test]
    fn an_unknown_priority_or_duration_is_refused() {
        let matter = |priority: &str, within: &str| {
            format!(
                r#"{{"domains":{{"general":{{"class":"none"}}}},"categories":[{{"code":"Z01","domain":"general",
                "grid_may_resolve":false,"department_kind":null,"priority":"{priority}","discoverable":false,
                "report_within":"{within}","respond_within":"1wd","resolve_within":"2wd"}}]}}"#
            )
        };
        assert!(Catalogue::from_json(&matter("normal", "72h")).is_ok());
        assert!(Catalogue::from_json(&matter("critical", "72h")).is_err());
        assert!(Catalogue::from_json(&matter("normal", "3d")).is_err());
    }
}
