//! `spin.toml` (manifest version 2): the parts a Spin HTTP application uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Deserialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub route: RouteConfig,
    pub component: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteConfig {
    Route(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDecl {
    pub source: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub build: Option<BuildDecl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildDecl {
    pub command: Command,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Command {
    One(String),
    Many(Vec<String>),
}

impl Command {
    pub fn commands(&self) -> Vec<&str> {
        match self {
            Command::One(c) => vec![c.as_str()],
            Command::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The checks Spin makes when it loads an application.
    fn validate(&self) -> Result<()> {
        if self.spin_manifest_version != 2 {
            bail!("spin_manifest_version must be 2");
        }
        for (name, decl) in &self.variables {
            validate_variable_name(name)?;
            if decl.required == decl.default.is_some() {
                bail!("variable `{name}` must have exactly one of `required = true` or a `default`");
            }
        }
        for trigger in &self.trigger.http {
            if !self.component.contains_key(&trigger.component) {
                bail!("trigger for route {:?} names unknown component `{}`", trigger.route, trigger.component);
            }
            if let RouteConfig::Private { private: false } = trigger.route {
                bail!("`route = {{ private = false }}` is not allowed; give a route instead");
            }
        }
        for (id, component) in &self.component {
            for (name, template) in &component.variables {
                validate_variable_name(name).with_context(|| format!("component `{id}`"))?;
                for reference in crate::variables::template_references(template)? {
                    if !self.variables.contains_key(&reference) {
                        bail!(
                            "component `{id}` variable `{name}` refers to undeclared application variable `{reference}`"
                        );
                    }
                }
            }
            for label in component.key_value_stores.iter().chain(&component.sqlite_databases) {
                if label.is_empty()
                    || !label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                {
                    bail!("component `{id}`: `{label}` is not a valid store or database label");
                }
            }
        }
        Ok(())
    }

    /// The component's wasm file, relative to the manifest's directory.
    pub fn source_path(&self, app_dir: &Path, id: &str) -> Option<PathBuf> {
        self.component.get(id).map(|c| app_dir.join(&c.source))
    }
}

/// Spin's rule for variable names: `[a-z0-9_]`, starting with a letter, ending
/// with a letter or digit, no `__`.
pub fn validate_variable_name(name: &str) -> Result<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__");
    if ok { Ok(()) } else { bail!("invalid variable name `{name}`") }
}
