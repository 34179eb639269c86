//! The locked app (锁定应用): `spin.toml` resolved into the JSON Spin runs from, as `spin registry push`
//! stores it, with each component's source a content reference (the digest of its wasm layer).
//!
//! Field order follows Spin's `LockedApp`, `LockedComponent` and `LockedTrigger` structs; every map is
//! written with its keys sorted, as Spin's `serde_json` (without `preserve_order`) writes them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::manifest::{AppManifest, Component};
use crate::{INLINE_MAX_SIZE, Result, digest, error};

/// The host requirement a component gets when it calls `*.spin.internal` (Spin's
/// `SERVICE_CHAINING_KEY`).
pub const SERVICE_CHAINING_KEY: &str = "local_service_chaining";
/// The domain suffix of local service chaining (服务链).
pub const SERVICE_CHAINING_SUFFIX: &str = ".spin.internal";

/// The locked app, ready to serialize.
#[derive(Debug, Serialize)]
pub struct LockedApp {
    /// 1 when anything must be understood by the host, else 0.
    pub spin_lock_version: u32,
    /// The features a host must support to run the app (`component_host_requirements`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub must_understand: Vec<String>,
    /// The app's name, version, description, trigger settings.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// The app's variables.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, LockedVariable>,
    /// Every trigger, by type in order, then in declaration order.
    pub triggers: Vec<LockedTrigger>,
    /// Every component, in declaration order.
    pub components: Vec<LockedComponent>,
}

/// A locked variable.
#[derive(Debug, Serialize)]
pub struct LockedVariable {
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Whether it is a secret.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// A locked trigger.
#[derive(Debug, Serialize)]
pub struct LockedTrigger {
    /// The trigger's ID.
    pub id: String,
    /// `http`, `redis`, ...
    pub trigger_type: String,
    /// Its settings, with `component`.
    pub trigger_config: Value,
}

/// A component source as a content reference.
#[derive(Debug, Serialize)]
pub struct LockedSource {
    /// Always `application/wasm`.
    pub content_type: String,
    /// The bytes, base64 without padding, when small enough to inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// `sha256:<hex>` of the bytes: the digest of the component's layer.
    pub digest: String,
}

/// A locked component.
#[derive(Debug, Serialize)]
pub struct LockedComponent {
    /// The component ID.
    pub id: String,
    /// Its description, allowed hosts, stores, databases, build.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// Its wasm, by digest.
    pub source: LockedSource,
    /// Environment variables.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Component variables.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// What the host must support for this component.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub host_requirements: BTreeMap<String, Value>,
}

impl LockedApp {
    /// The JSON bytes of the locked app layer (compact, as Spin pushes it).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a locked app always serializes")
    }
}

/// Locks `manifest`, given each component's wasm bytes (by component ID).
pub fn lock(manifest: &AppManifest, wasm: &BTreeMap<String, Vec<u8>>) -> Result<LockedApp> {
    let mut components = Vec::new();
    for (id, component) in &manifest.components {
        let bytes = wasm.get(id).ok_or_else(|| error(format!("no wasm for component `{id}`")))?;
        components.push(lock_component(id, component, bytes)?);
    }
    let triggers = manifest
        .triggers
        .iter()
        .flat_map(|(trigger_type, list)| list.iter().map(move |t| (trigger_type, t)))
        .map(|(trigger_type, t)| {
            let mut config = toml_to_json(&toml::Value::Table(t.config.clone()))?;
            if let Value::Object(map) = &mut config {
                map.insert("component".into(), Value::String(t.component.clone()));
            }
            Ok(LockedTrigger {
                id: t.id.clone(),
                trigger_type: trigger_type.clone(),
                trigger_config: canonical(config),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let variables = manifest
        .variables
        .iter()
        .map(|(name, v)| {
            let locked =
                LockedVariable { description: v.description.clone(), default: v.default.clone(), secret: v.secret };
            (name.clone(), locked)
        })
        .collect();
    let must_understand = if components.iter().any(|c| !c.host_requirements.is_empty()) {
        vec!["component_host_requirements".to_string()]
    } else {
        Vec::new()
    };
    Ok(LockedApp {
        spin_lock_version: if must_understand.is_empty() { 0 } else { 1 },
        must_understand,
        metadata: app_metadata(manifest)?,
        variables,
        triggers,
        components,
    })
}

/// The app's metadata as Spin's `locked_metadata` writes it (without `origin`, which a push removes).
fn app_metadata(manifest: &AppManifest) -> Result<BTreeMap<String, Value>> {
    let app = &manifest.application;
    let mut metadata = BTreeMap::new();
    put_string(&mut metadata, "name", &app.name);
    put_string(&mut metadata, "version", &app.version);
    put_string(&mut metadata, "description", &app.description);
    put_array(&mut metadata, "authors", &app.authors);
    let mut globals = toml::Table::new();
    for (trigger_type, table) in &app.trigger_global_configs {
        globals.insert(trigger_type.clone(), toml::Value::Table(table.clone()));
    }
    metadata.insert("triggers".into(), canonical(toml_to_json(&toml::Value::Table(globals))?));
    if let [(trigger_type, _)] = manifest.triggers.as_slice() {
        let mut single = app.trigger_global_configs.get(trigger_type).cloned().unwrap_or_default();
        single.insert("type".into(), toml::Value::String(trigger_type.clone()));
        metadata.insert("trigger".into(), canonical(toml_to_json(&toml::Value::Table(single))?));
    }
    Ok(metadata)
}

/// One component, locked: metadata, source by digest, variables, host requirements.
fn lock_component(id: &str, component: &Component, wasm: &[u8]) -> Result<LockedComponent> {
    let mut metadata = BTreeMap::new();
    put_string(&mut metadata, "description", &component.description);
    put_array(&mut metadata, "allowed_outbound_hosts", &component.allowed_outbound_hosts);
    put_array(&mut metadata, "key_value_stores", &component.key_value_stores);
    put_array(&mut metadata, "databases", &component.sqlite_databases);
    put_array(&mut metadata, "ai_models", &component.ai_models);
    if let Some(build) = &component.build {
        let build = serde_json::to_value(build).map_err(|e| error(format!("component `{id}` build: {e}")))?;
        metadata.insert("build".into(), canonical(build));
    }
    let mut host_requirements = BTreeMap::new();
    if component.allowed_outbound_hosts.iter().any(|h| is_service_chaining(h)) {
        host_requirements.insert(SERVICE_CHAINING_KEY.to_string(), Value::String("required".into()));
    }
    let source = LockedSource {
        content_type: "application/wasm".into(),
        inline: (wasm.len() <= INLINE_MAX_SIZE).then(|| base64_no_pad(wasm)),
        digest: digest(wasm),
    };
    Ok(LockedComponent {
        id: id.to_string(),
        metadata,
        source,
        env: component.environment.clone(),
        config: component.variables.clone(),
        host_requirements,
    })
}

/// Whether an `allowed_outbound_hosts` entry names a `*.spin.internal` host (a template does not).
pub fn is_service_chaining(pattern: &str) -> bool {
    if pattern.contains("{{") {
        return false;
    }
    let after_scheme = pattern.split_once("://").map_or(pattern, |(_, rest)| rest);
    let host = after_scheme.split(['/', ':']).next().unwrap_or_default();
    host.ends_with(SERVICE_CHAINING_SUFFIX) || host == "*.spin.internal"
}

/// Inserts a string unless it is empty (Spin's `ValuesMapBuilder::string`).
fn put_string(map: &mut BTreeMap<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), Value::String(value.into()));
    }
}

/// Inserts an array of strings unless it is empty (Spin's `ValuesMapBuilder::string_array`).
fn put_array(map: &mut BTreeMap<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        map.insert(key.into(), Value::Array(values.iter().cloned().map(Value::String).collect()));
    }
}

/// A TOML value as JSON.
fn toml_to_json(value: &toml::Value) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| error(format!("cannot convert {value} to JSON: {e}")))
}

/// The same value with every object's keys inserted in sorted order, so that the bytes are the same
/// whether or not `serde_json`'s `preserve_order` feature is on in this build.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> = map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Standard base64 without padding (Spin's `spin_serde::base64`).
pub fn base64_no_pad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_without_padding() {
        assert_eq!(base64_no_pad(b""), "");
        assert_eq!(base64_no_pad(b"f"), "Zg");
        assert_eq!(base64_no_pad(b"fo"), "Zm8");
        assert_eq!(base64_no_pad(b"foo"), "Zm9v");
        assert_eq!(base64_no_pad(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_no_pad(&[0, 97, 115, 109, 0xff, 0xfe]), "AGFzbf/+");
    }

    #[test]
    fn only_literal_spin_internal_hosts_are_service_chaining() {
        assert!(is_service_chaining("http://case-routing.spin.internal"));
        assert!(is_service_chaining("http://*.spin.internal"));
        assert!(is_service_chaining("https://grid-lookup.spin.internal:443"));
        assert!(!is_service_chaining("postgres://{{ database_host }}"));
        assert!(!is_service_chaining("{{ case_routing_url }}"));
        assert!(!is_service_chaining("https://api.weixin.qq.com"));
        assert!(!is_service_chaining("http://spin.internal.example.com"));
    }
}
