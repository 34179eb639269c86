//! Renders a Kustomize directory without `kustomize`: the subset our layout uses, refusing any
//! other field so that nothing is silently skipped.
//!
//! - `resources`: YAML files (one or more documents) and directories holding a
//!   `kustomization.yaml`, rendered recursively;
//! - `namespace`: set on every document that has no namespace;
//! - `patches`: `path` entries only, each a patch naming its target by `apiVersion`, `kind` and
//!   `metadata.name`, merged as a JSON merge patch (RFC 7386). For custom resources such as
//!   SpinApp that is what `kustomize` does too; for built-in kinds it differs from a strategic
//!   merge only on lists, and our patches hold none.
//!
//! Two documents with the same kind and name (and namespace) are an error, as in `kustomize`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

const KNOWN_FIELDS: [&str; 5] = ["apiVersion", "kind", "resources", "namespace", "patches"];

/// Every document of a YAML file (empty documents left out).
pub fn read_documents(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut documents = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let value: Value =
            serde::Deserialize::deserialize(doc).with_context(|| format!("parsing {}", path.display()))?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let target = target.as_object_mut().expect("an object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn identity(doc: &Value) -> (String, String, String, String) {
    let field = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        field(&doc["apiVersion"]),
        field(&doc["kind"]),
        field(&doc["metadata"]["namespace"]),
        field(&doc["metadata"]["name"]),
    )
}

/// Renders the Kustomize directory `dir` into its documents.
pub fn render(dir: &Path) -> Result<Vec<Value>> {
    let file = dir.join("kustomization.yaml");
    let kustomization = read_documents(&file)?.into_iter().next().context("an empty kustomization.yaml")?;
    for key in kustomization.as_object().context("kustomization.yaml is not a mapping")?.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            bail!("{}: `{key}` is outside the subset this renderer implements", file.display());
        }
    }
    let mut documents = Vec::new();
    for resource in kustomization["resources"].as_array().into_iter().flatten() {
        let path = dir.join(resource.as_str().context("a resource is not a string")?);
        if path.is_dir() { documents.extend(render(&path)?) } else { documents.extend(read_documents(&path)?) }
    }
    if let Some(namespace) = kustomization["namespace"].as_str() {
        for doc in &mut documents {
            if doc["metadata"]["namespace"].is_null() {
                doc["metadata"]["namespace"] = Value::from(namespace);
            }
        }
    }
    for patch in kustomization["patches"].as_array().into_iter().flatten() {
        if patch.as_object().is_none_or(|p| p.keys().any(|k| k != "path")) {
            bail!("{}: only `patches: - path: FILE` is implemented", file.display());
        }
        let path = dir.join(patch["path"].as_str().context("a patch path is not a string")?);
        for patch in read_documents(&path)? {
            let (api, kind, _, name) = identity(&patch);
            let target = documents
                .iter_mut()
                .find(|d| {
                    let (a, k, _, n) = identity(d);
                    (a, k, n) == (api.clone(), kind.clone(), name.clone())
                })
                .with_context(|| format!("{}: no {kind} {name} to patch", path.display()))?;
            let mut patch = patch.clone();
            patch["metadata"].as_object_mut().map(|m| m.remove("namespace"));
            merge_patch(target, &patch);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for doc in &documents {
        if !seen.insert(identity(doc)) {
            bail!("{}: {:?} appears twice", dir.display(), identity(doc));
        }
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({ "a": { "b": 1, "c": [1, 2] }, "d": 1 });
        merge_patch(&mut doc, &json!({ "a": { "b": 2, "c": [3] }, "d": null, "e": "x" }));
        assert_eq!(doc, json!({ "a": { "b": 2, "c": [3] }, "e": "x" }));
    }
}
