//! The engine with Spin's pooling settings, components compiled once (and cached on
//! disk by content), and `spin up --sqlite`'s statements run before serving.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::runtime_config::RuntimeConfig;

/// `wasmtime::Error` is not `anyhow::Error` since wasmtime 48.
pub(crate) fn wasmtime_error(e: wasmtime::Error) -> anyhow::Error {
    anyhow!("{e:?}")
}

pub(crate) fn engine(max_instances: u32) -> Result<Engine> {
    // Spin's pooling settings (crates/core): keep-resident memory is what makes
    // fresh-instance-per-request cheap.
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(max_instances)
        .total_memories(max_instances)
        .total_stacks(max_instances)
        .total_tables(2 * max_instances)
        .total_core_instances(4 * max_instances)
        .table_elements(100_000)
        .max_component_instance_size(10 << 20)
        .max_core_instance_size(10 << 20)
        .max_core_instances_per_component(200)
        .max_tables_per_component(64)
        .max_memories_per_component(32)
        .max_tables_per_module(2)
        .max_memories_per_module(2)
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(512 << 10);
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(wasmtime_error)
}

/// Compiles a component, or loads it from the host's cache of compiled
/// components (keyed by the wasm's hash and the engine's settings).
pub(crate) fn compile(engine: &Engine, source: &Path) -> Result<Component> {
    use std::hash::{Hash, Hasher};
    let wasm = std::fs::read(source).with_context(|| format!("reading {}", source.display()))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    wasm.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    let cache_dir = std::env::var_os("WANGGE_HOST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("wangge-host-cache"));
    let cached = cache_dir.join(format!("{:016x}.cwasm", hasher.finish()));
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of this same
        // engine configuration (its compatibility hash is part of the name).
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(component);
        }
    }
    let component = Component::new(engine, &wasm).map_err(wasmtime_error)?;
    if let Ok(bytes) = component.serialize() {
        let _ = std::fs::create_dir_all(&cache_dir);
        let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &cached);
        }
    }
    Ok(component)
}

/// `spin up --sqlite`: SQL against `default`, or `@file` / `@file:label` as a batch.
pub(crate) fn run_sqlite_statements(statements: &[String], runtime: &RuntimeConfig) -> Result<()> {
    for statement in statements {
        let (sql, label) = match statement.strip_prefix('@') {
            Some(spec) => {
                let (file, label) = spec.split_once(':').unwrap_or((spec, "default"));
                if file.trim().is_empty() || label.trim().is_empty() {
                    bail!("--sqlite @{spec}: expected @file or @file:label");
                }
                (std::fs::read_to_string(file).with_context(|| format!("--sqlite: reading {file}"))?, label)
            }
            None => (statement.clone(), "default"),
        };
        let Some(Some(path)) = runtime.sqlite.get(label) else {
            bail!("--sqlite: database `{label}` is not defined in the runtime config (or is in memory)");
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(&sql).with_context(|| format!("--sqlite against `{label}`"))?;
    }
    Ok(())
}
