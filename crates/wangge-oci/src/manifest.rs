//! `spin.toml` (应用清单, manifest version 2), read into what the locked app needs, in the order the
//! file declares things (Spin keeps declaration order; `toml` without `preserve_order` sorts keys, so
//! the order is recovered from each table's position in the file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::{Result, error};

/// `spin.toml`, checked and in declaration order.
#[derive(Debug)]
pub struct AppManifest {
    /// The directory holding `spin.toml`: component sources are relative to it.
    pub root: PathBuf,
    /// `[application]`.
    pub application: Application,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, Variable>,
    /// `[[trigger.<type>]]`, grouped by type, types in order of first appearance.
    pub triggers: Vec<(String, Vec<Trigger>)>,
    /// `[component.<id>]`, in declaration order.
    pub components: Vec<(String, Component)>,
}

/// `[application]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The app's name.
    pub name: String,
    /// The app's version.
    #[serde(default)]
    pub version: String,
    /// What the app does.
    #[serde(default)]
    pub description: String,
    /// Who wrote it.
    #[serde(default)]
    pub authors: Vec<String>,
    /// `[application.trigger.<type>]`: app-wide trigger settings.
    #[serde(default, rename = "trigger")]
    pub trigger_global_configs: BTreeMap<String, toml::Table>,
    /// Deployment targets (not carried into the locked app).
    #[serde(default)]
    pub targets: Vec<toml::Value>,
    /// Tool settings (not carried into the locked app).
    #[serde(default)]
    pub tool: BTreeMap<String, toml::Table>,
}

/// One `[variables]` entry: required, or with a default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What the variable is for.
    pub description: Option<String>,
    /// Its value when none is given.
    pub default: Option<String>,
    /// Whether a value must be given.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is a secret.
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.<type>]]`: its ID (generated when absent), component and the rest of its settings.
#[derive(Debug)]
pub struct Trigger {
    /// The trigger ID, as Spin's normalization assigns it.
    pub id: String,
    /// The component it runs.
    pub component: String,
    /// Its other settings (`route`, `executor`, ...).
    pub config: toml::Table,
}

/// `[component.<id>.build]`.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// A command, or a list of them.
    pub command: toml::Value,
    /// Where it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// What `spin watch` watches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
}

/// `[component.<id>]`: the fields this packager carries; the ones it cannot carry are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The wasm file, relative to the manifest's directory.
    pub source: toml::Value,
    /// Hosts it may call.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value stores it may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// SQLite databases it may open.
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// AI models it may use.
    #[serde(default)]
    pub ai_models: Vec<String>,
    /// Environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Component variables (templates over the app's variables).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How `spin build` builds it.
    pub build: Option<Build>,
}

impl Component {
    /// The wasm file's path: only a local path is supported.
    pub fn source_path(&self, root: &Path) -> Result<PathBuf> {
        match &self.source {
            toml::Value::String(path) => Ok(root.join(path)),
            other => Err(error(format!("component source {other} is not a local path: not supported"))),
        }
    }
}

/// The raw document: tables keyed by name, each with its position in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: u32,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, Variable>,
    #[serde(default, rename = "trigger")]
    triggers: BTreeMap<String, Vec<Spanned<toml::Table>>>,
    #[serde(default, rename = "component")]
    components: BTreeMap<String, Spanned<Component>>,
}

impl AppManifest {
    /// Reads and checks `spin.toml` at `path`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, root).map_err(|e| error(format!("{}: {e}", path.display())))
    }

    /// Parses `spin.toml` text; `root` is the directory component sources are relative to.
    pub fn parse(text: &str, root: PathBuf) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        if raw.spin_manifest_version != 2 {
            return Err(error(format!(
                "spin_manifest_version {} is not supported (only 2)",
                raw.spin_manifest_version
            )));
        }
        for (name, variable) in &raw.variables {
            if variable.required == variable.default.is_some() {
                return Err(error(format!("variable `{name}` must be `required` OR have a `default`")));
            }
        }
        let mut components: Vec<_> = raw.components.into_iter().collect();
        components.sort_by_key(|(_, c)| c.span().start);
        let components: Vec<(String, Component)> = components.into_iter().map(|(id, c)| (id, c.into_inner())).collect();
        let triggers = normalize_triggers(raw.triggers)?;
        for (_, list) in &triggers {
            for trigger in list {
                if !components.iter().any(|(id, _)| *id == trigger.component) {
                    return Err(error(format!("trigger `{}` names no component `{}`", trigger.id, trigger.component)));
                }
            }
        }
        Ok(AppManifest { root, application: raw.application, variables: raw.variables, triggers, components })
    }
}

/// Orders trigger types by first appearance, takes each trigger's `id` and `component` out of its
/// settings, and gives the ones without an ID the ID Spin's normalization gives them.
fn normalize_triggers(raw: BTreeMap<String, Vec<Spanned<toml::Table>>>) -> Result<Vec<(String, Vec<Trigger>)>> {
    let mut types: Vec<_> = raw.into_iter().collect();
    types.sort_by_key(|(_, list)| list.first().map_or(usize::MAX, |t| t.span().start));
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (trigger_type, list) in types {
        let mut triggers = Vec::new();
        for table in list {
            let mut config = table.into_inner();
            if let Some(key) = ["components", "dependencies"].into_iter().find(|k| config.contains_key(*k)) {
                return Err(error(format!("a `{trigger_type}` trigger with `{key}` is not supported")));
            }
            let id = match config.remove("id") {
                Some(toml::Value::String(id)) => id,
                None => String::new(),
                Some(other) => return Err(error(format!("trigger id {other} is not a string"))),
            };
            let component = match config.remove("component") {
                Some(toml::Value::String(c)) => c,
                _ => {
                    return Err(error(format!(
                        "a `{trigger_type}` trigger needs `component = \"<id>\"` (inline components and `components` are not supported)"
                    )));
                }
            };
            if !id.is_empty() {
                taken.insert(id.clone());
            }
            triggers.push(Trigger { id, component, config });
        }
        out.push((trigger_type, triggers));
    }
    for (trigger_type, triggers) in &mut out {
        let mut counter = 1;
        for trigger in triggers.iter_mut().filter(|t| t.id.is_empty()) {
            let natural = format!("{}-{trigger_type}-trigger", trigger.component);
            trigger.id = if taken.contains(&natural) {
                loop {
                    let candidate = format!("{trigger_type}-trigger{counter}");
                    if !taken.contains(&candidate) {
                        break candidate;
                    }
                    counter += 1;
                }
            } else {
                natural
            };
            taken.insert(trigger.id.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::AppManifest;

    const HEAD: &str = "spin_manifest_version = 2\n[application]\nname = \"t\"\n";

    fn refusal(rest: &str) -> String {
        AppManifest::parse(&format!("{HEAD}{rest}"), ".".into()).unwrap_err().to_string()
    }

    #[test]
    fn what_the_packager_cannot_carry_is_refused_with_a_message() {
        let files = refusal("[component.a]\nsource = \"a.wasm\"\nfiles = [\"static/**\"]\n");
        assert!(files.contains("unknown field `files`"), "{files}");
        let dependencies =
            refusal("[component.a]\nsource = \"a.wasm\"\n[component.a.dependencies]\n\"x:y/z\" = \"1.0\"\n");
        assert!(dependencies.contains("unknown field `dependencies`"), "{dependencies}");
        let url = "[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n[component.a]\nsource = { url = \"https://x/a.wasm\", digest = \"sha256:00\" }\n";
        let manifest = AppManifest::parse(&format!("{HEAD}{url}"), ".".into()).unwrap();
        let err = manifest.components[0].1.source_path(".".as_ref()).unwrap_err().to_string();
        assert!(err.contains("not a local path"), "{err}");
        let components = refusal(
            "[[trigger.http]]\nroute = \"/\"\ncomponents = { main = \"a\" }\n[component.a]\nsource = \"a.wasm\"\n",
        );
        assert!(components.contains("with `components` is not supported"), "{components}");
        let unknown = refusal("[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n");
        assert!(unknown.contains("names no component `nope`"), "{unknown}");
        let both = refusal("[variables]\nv = { required = true, default = \"x\" }\n");
        assert!(both.contains("`required` OR have a `default`"), "{both}");
    }
}
