//! What `spin.toml` declares that the manifests must account for: its components, its
//! application variables, and which variables each component uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};

/// One application variable of `[variables]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Marked `secret = true`: its value comes from a Kubernetes Secret, never a literal.
    pub secret: bool,
    /// Its default, if it has one (`required = true` ones have none).
    pub default: Option<String>,
}

/// The parts of `spin.toml` the manifests are built from.
#[derive(Debug, Clone, Default)]
pub struct SpinManifest {
    /// Application variables by name.
    pub variables: BTreeMap<String, Variable>,
    /// Components by id, with the application variables each one's `variables` and
    /// `allowed_outbound_hosts` templates name.
    pub components: BTreeMap<String, BTreeSet<String>>,
    /// Each component's HTTP trigger routes (`/v1/events/...`), in manifest order.
    pub routes: BTreeMap<String, Vec<String>>,
}

/// The names inside `{{ name }}` in a template.
fn template_names(text: &str, into: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else { break };
        into.insert(rest[start + 2..start + end].trim().to_string());
        rest = &rest[start + end + 2..];
    }
}

impl SpinManifest {
    /// Reads `spin.toml`.
    pub fn load(path: &Path) -> Result<SpinManifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        SpinManifest::parse(&text)
    }

    /// Parses the text of a `spin.toml`.
    pub fn parse(text: &str) -> Result<SpinManifest> {
        let doc: toml::Table = toml::from_str(text).context("spin.toml is not TOML")?;
        let mut manifest = SpinManifest::default();
        for (name, spec) in doc.get("variables").and_then(|v| v.as_table()).into_iter().flatten() {
            let secret = spec.get("secret").and_then(|s| s.as_bool()).unwrap_or(false);
            let default = spec.get("default").and_then(|d| d.as_str()).map(str::to_string);
            manifest.variables.insert(name.clone(), Variable { secret, default });
        }
        for (id, component) in doc.get("component").and_then(|c| c.as_table()).into_iter().flatten() {
            let mut used = BTreeSet::new();
            for value in component.get("variables").and_then(|v| v.as_table()).into_iter().flatten().map(|(_, v)| v) {
                template_names(value.as_str().unwrap_or(""), &mut used);
            }
            for host in component.get("allowed_outbound_hosts").and_then(|h| h.as_array()).into_iter().flatten() {
                template_names(host.as_str().unwrap_or(""), &mut used);
            }
            manifest.components.insert(id.clone(), used);
        }
        let triggers = doc.get("trigger").and_then(|t| t.get("http")).and_then(|h| h.as_array());
        for trigger in triggers.into_iter().flatten() {
            let (Some(route), Some(component)) = (trigger.get("route"), trigger.get("component")) else { continue };
            let (Some(route), Some(component)) = (route.as_str(), component.as_str()) else { continue };
            manifest.routes.entry(component.to_string()).or_default().push(route.to_string());
        }
        Ok(manifest)
    }

    /// The application variables the given components use.
    pub fn variables_of<'a>(&self, components: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        components.into_iter().filter_map(|c| self.components.get(c)).flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_variables_and_what_each_component_names() {
        let m = SpinManifest::parse(
            r#"
            spin_manifest_version = 2
            [application]
            name = "x"
            [variables]
            key = { required = true, secret = true }
            host = { default = "127.0.0.1:5432" }
            [component.a]
            source = "a.wasm"
            allowed_outbound_hosts = ["postgres://{{ host }}", "http://b.spin.internal"]
            [component.a.variables]
            key = "{{key}}"
            "#,
        )
        .unwrap();
        assert_eq!(m.variables["key"], Variable { secret: true, default: None });
        assert_eq!(m.variables["host"].default.as_deref(), Some("127.0.0.1:5432"));
        assert_eq!(m.variables_of(["a"]), BTreeSet::from(["host".to_string(), "key".to_string()]));
    }
}
