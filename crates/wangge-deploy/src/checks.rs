//! What a rendered deployment must hold; each check returns every problem it finds.
//!
//! - [`spin_apps`]: every SpinApp uses only fields SpinKube documents, names the
//!   `containerd-shim-spin` executor, deploys components that exist, and binds each variable
//!   from exactly one of `value` or `valueFrom` (a Secret or ConfigMap key);
//! - [`coverage`]: every component of `spin.toml` is deployed by some SpinApp, every application
//!   variable is bound in some SpinApp, and each SpinApp binds every variable its components use
//!   (a chained target may stay at its `*.spin.internal` default where its target is in the app);
//! - [`no_plain_secrets`]: no Secret document with data, every secret variable and every key a
//!   CronJob sends from a Secret by reference, no Ingress path under `/internal` (those routes
//!   are guarded by `internal_key` alone and are for other apps, not the public);
//! - [`cron_paths`]: every CronJob's method and path is an operation of `schemas/openapi.json`,
//!   and its command calls that path.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::manifests::{API_METHOD_ANNOTATION, API_PATH_ANNOTATION, CHAIN_VARIABLES, EXECUTOR, SPINAPP_API_VERSION};
use crate::spin_manifest::SpinManifest;

/// The fields of `SpinApp.spec` (v1alpha1) that SpinKube documents: the spin-operator's CRD,
/// <https://github.com/spinframework/spin-operator/blob/main/config/crd/bases/core.spinkube.dev_spinapps.yaml>
/// (rendered at <https://www.spinkube.dev/docs/reference/spin-app/>).
pub const SPINAPP_SPEC_FIELDS: [&str; 18] = [
    "checks",
    "components",
    "deploymentAnnotations",
    "enableAutoscaling",
    "executor",
    "image",
    "imagePullSecrets",
    "invocationLimits",
    "podAnnotations",
    "podLabels",
    "replicas",
    "resources",
    "runtimeConfig",
    "serviceAccountName",
    "serviceAnnotations",
    "variables",
    "volumeMounts",
    "volumes",
];
/// `spec.runtimeConfig`'s fields (same source).
pub const SPINAPP_RUNTIME_CONFIG_FIELDS: [&str; 4] =
    ["keyValueStores", "llmCompute", "loadFromSecret", "sqliteDatabases"];
/// A `spec.variables` entry's fields (same source).
pub const SPINAPP_VARIABLE_FIELDS: [&str; 3] = ["name", "value", "valueFrom"];

fn spin_apps_of(documents: &[Value]) -> impl Iterator<Item = &Value> {
    documents.iter().filter(|d| d["kind"] == "SpinApp")
}

fn name_of(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("?")
}

fn keys(value: &Value) -> Vec<&str> {
    value.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

/// SpinApps against SpinKube's documented fields (module doc).
pub fn spin_apps(documents: &[Value], manifest: &SpinManifest) -> Vec<String> {
    let mut problems = Vec::new();
    for app in spin_apps_of(documents) {
        let name = name_of(app);
        let spec = &app["spec"];
        if app["apiVersion"] != SPINAPP_API_VERSION {
            problems.push(format!("{name}: apiVersion {} is not {SPINAPP_API_VERSION}", app["apiVersion"]));
        }
        for field in keys(spec).into_iter().filter(|f| !SPINAPP_SPEC_FIELDS.contains(f)) {
            problems.push(format!("{name}: spec.{field} is not a SpinApp field"));
        }
        for field in keys(&spec["runtimeConfig"]).into_iter().filter(|f| !SPINAPP_RUNTIME_CONFIG_FIELDS.contains(f)) {
            problems.push(format!("{name}: spec.runtimeConfig.{field} is not a SpinApp field"));
        }
        if spec["executor"] != EXECUTOR {
            problems.push(format!("{name}: executor {} is not {EXECUTOR}", spec["executor"]));
        }
        if !spec["image"].is_string() {
            problems.push(format!("{name}: no image"));
        }
        if spec["enableAutoscaling"] == true && !spec["replicas"].is_null() {
            problems.push(format!("{name}: replicas cannot be set with enableAutoscaling"));
        }
        let components = spec["components"].as_array().map(Vec::as_slice).unwrap_or_default();
        if components.is_empty() {
            problems.push(format!("{name}: no components (selective deployment)"));
        }
        for c in components.iter().filter(|c| !manifest.components.contains_key(c.as_str().unwrap_or(""))) {
            problems.push(format!("{name}: component {c} is not in spin.toml"));
        }
        for variable in spec["variables"].as_array().into_iter().flatten() {
            problems.extend(variable_problems(name, variable));
        }
    }
    problems
}

fn variable_problems(app: &str, variable: &Value) -> Vec<String> {
    let var = variable["name"].as_str().unwrap_or("?");
    let mut problems: Vec<String> = keys(variable)
        .into_iter()
        .filter(|f| !SPINAPP_VARIABLE_FIELDS.contains(f))
        .map(|f| format!("{app}: variable {var}: `{f}` is not a SpinApp variable field"))
        .collect();
    match (variable.get("value"), variable.get("valueFrom")) {
        (Some(v), None) if v.is_string() => {}
        (None, Some(from)) => {
            let refs = keys(from);
            let one_ref = refs.len() == 1 && ["secretKeyRef", "configMapKeyRef"].contains(&refs[0]);
            if !one_ref || !from[refs[0]]["name"].is_string() || !from[refs[0]]["key"].is_string() {
                problems.push(format!("{app}: variable {var}: valueFrom needs one secretKeyRef or configMapKeyRef"));
            }
        }
        _ => problems.push(format!("{app}: variable {var}: needs exactly one of a string value or valueFrom")),
    }
    problems
}

/// The variables a SpinApp binds, by name.
fn bound(app: &Value) -> BTreeSet<&str> {
    app["spec"]["variables"].as_array().into_iter().flatten().filter_map(|v| v["name"].as_str()).collect()
}

/// Every component and variable of `spin.toml` accounted for (module doc).
pub fn coverage(documents: &[Value], manifest: &SpinManifest) -> Vec<String> {
    let mut problems = Vec::new();
    let mut deployed = BTreeSet::new();
    let mut bound_anywhere = BTreeSet::new();
    for app in spin_apps_of(documents) {
        let components: Vec<&str> =
            app["spec"]["components"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
        deployed.extend(components.iter().copied());
        let bound = bound(app);
        bound_anywhere.extend(bound.iter().copied());
        for var in manifest.variables_of(components.iter().copied()) {
            let local_chain = CHAIN_VARIABLES.contains(&var.as_str()) && var.ends_with("_url");
            if !bound.contains(var.as_str()) && !local_chain {
                problems.push(format!("{}: its components use `{var}`, which it does not bind", name_of(app)));
            }
        }
        for var in bound.iter().filter(|v| !manifest.variables.contains_key(**v) && !CHAIN_VARIABLES.contains(v)) {
            problems.push(format!("{}: binds `{var}`, which spin.toml does not declare", name_of(app)));
        }
    }
    for component in manifest.components.keys().filter(|c| !deployed.contains(c.as_str())) {
        problems.push(format!("component {component} is in no SpinApp"));
    }
    for var in manifest.variables.keys().filter(|v| !bound_anywhere.contains(v.as_str())) {
        problems.push(format!("variable {var} is bound in no SpinApp"));
    }
    problems
}

/// No secret in plain text (module doc).
pub fn no_plain_secrets(documents: &[Value], manifest: &SpinManifest) -> Vec<String> {
    let mut problems = Vec::new();
    for doc in documents.iter().filter(|d| d["kind"] == "Secret") {
        if !doc["data"].is_null() || !doc["stringData"].is_null() {
            problems.push(format!("Secret {} holds values; the operator creates Secrets", name_of(doc)));
        }
    }
    for app in spin_apps_of(documents) {
        for variable in app["spec"]["variables"].as_array().into_iter().flatten() {
            let name = variable["name"].as_str().unwrap_or("");
            let secret = manifest.variables.get(name).is_some_and(|v| v.secret) || name == "internal_key";
            if secret && variable["valueFrom"]["secretKeyRef"].is_null() {
                problems.push(format!("{}: secret variable {name} is not from a Secret", name_of(app)));
            }
        }
    }
    for doc in documents.iter().filter(|d| d["kind"] == "ConfigMap") {
        for key in keys(&doc["data"]).into_iter().filter(|k| manifest.variables.get(*k).is_some_and(|v| v.secret)) {
            problems.push(format!("ConfigMap {} holds the secret variable {key}", name_of(doc)));
        }
    }
    for ingress in documents.iter().filter(|d| d["kind"] == "Ingress") {
        let rules = ingress["spec"]["rules"].as_array().into_iter().flatten();
        for path in rules.flat_map(|r| r["http"]["paths"].as_array().into_iter().flatten()) {
            if path["path"].as_str().is_some_and(|p| p.starts_with("/internal")) {
                problems.push(format!("Ingress {} exposes {}", name_of(ingress), path["path"]));
            }
        }
    }
    for job in documents.iter().filter(|d| d["kind"] == "CronJob") {
        let containers = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
        for env in containers.as_array().into_iter().flatten().flat_map(|c| c["env"].as_array().into_iter().flatten()) {
            if env["valueFrom"]["secretKeyRef"].is_null() {
                problems.push(format!("CronJob {}: env {} is not from a Secret", name_of(job), env["name"]));
            }
        }
    }
    problems
}

/// Every CronJob's call is an operation of the OpenAPI document (module doc).
pub fn cron_paths(documents: &[Value], openapi: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for job in documents.iter().filter(|d| d["kind"] == "CronJob") {
        let annotations = &job["metadata"]["annotations"];
        let (Some(method), Some(path)) =
            (annotations[API_METHOD_ANNOTATION].as_str(), annotations[API_PATH_ANNOTATION].as_str())
        else {
            problems.push(format!("CronJob {}: no {API_PATH_ANNOTATION} and {API_METHOD_ANNOTATION}", name_of(job)));
            continue;
        };
        if openapi["paths"][path][method].is_null() {
            problems.push(format!("CronJob {}: {method} {path} is not in the OpenAPI document", name_of(job)));
        }
        let command = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"].to_string();
        let called = path.replace("{period}", "${period}");
        if !command.contains(&called) || !command.contains(&format!("-X {}", method.to_uppercase())) {
            problems.push(format!("CronJob {}: its command does not {method} {called}", name_of(job)));
        }
    }
    problems
}

/// All four checks.
pub fn all(documents: &[Value], manifest: &SpinManifest, openapi: &Value) -> Vec<String> {
    let mut problems = spin_apps(documents, manifest);
    problems.extend(coverage(documents, manifest));
    problems.extend(no_plain_secrets(documents, manifest));
    problems.extend(cron_paths(documents, openapi));
    problems
}
