//! Spin variables: application `[variables]`, component templates over them, and
//! the providers in Spin's order: `--variable`, then `SPIN_VARIABLE_<NAME>`, then
//! the manifest default.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::manifest::Manifest;

/// The application variables' resolved values (secrets included; never logged).
#[derive(Debug, Clone, Default)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl Variables {
    /// Resolves every application variable; a required one no provider has is an error.
    pub fn resolve(manifest: &Manifest, overrides: &BTreeMap<String, String>) -> Result<Variables> {
        let mut values = BTreeMap::new();
        for (name, decl) in &manifest.variables {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            let value =
                overrides.get(name).cloned().or_else(|| std::env::var(&env_name).ok()).or_else(|| decl.default.clone());
            match value {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None => bail!("required variable `{name}` has no value: set {env_name}"),
            }
        }
        Ok(Variables { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands `{{ name }}` references in a template.
    pub fn expand(&self, template: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { bail!("unclosed `{{{{` in `{template}`") };
            let name = after[..end].trim();
            match self.values.get(name) {
                Some(v) => out.push_str(v),
                None => bail!("no variable `{name}`"),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The application variables a template refers to.
pub fn template_references(template: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { bail!("unclosed `{{{{` in `{template}`") };
        names.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// What a guest's `variables.get(name)` answers, as Spin answers it.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Value(String),
    InvalidName(String),
    Undefined(String),
}

/// One component's view: its declared variables, expanded.
#[derive(Debug, Clone, Default)]
pub struct ComponentVariables {
    pub component: String,
    pub values: BTreeMap<String, String>,
}

impl ComponentVariables {
    pub fn lookup(&self, name: &str) -> Lookup {
        if crate::manifest::validate_variable_name(name).is_err() {
            return Lookup::InvalidName(format!("invalid variable name `{name}`"));
        }
        match self.values.get(name) {
            Some(v) => Lookup::Value(v.clone()),
            None => Lookup::Undefined(format!("no variable for {:?}.{:?}", self.component, name)),
        }
    }
}
