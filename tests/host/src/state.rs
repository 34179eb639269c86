//! What one request's instance holds: WASI, wasi-http, and its component's grants.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::app::AppInner;
use crate::interfaces::KvBackend;
use crate::outbound::AllowedHost;
use crate::variables::ComponentVariables;

/// What every instance of the application shares.
pub struct Shared {
    /// The largest linear memory of any instance so far, in bytes.
    pub peak_memory: Arc<std::sync::atomic::AtomicUsize>,
    pub key_value: BTreeMap<String, Arc<KvBackend>>,
    /// Database label → file (`None`: in memory).
    pub sqlite: BTreeMap<String, Option<PathBuf>>,
    /// PostgreSQL connection pools, by address.
    pub postgres: crate::postgres::PgPools,
}

/// One component's grants, from the manifest.
pub struct Grants {
    pub id: String,
    pub key_value_stores: HashSet<String>,
    pub sqlite_databases: HashSet<String>,
    pub allowed_outbound_hosts: Vec<AllowedHost>,
    pub variables: ComponentVariables,
    pub environment: Vec<(String, String)>,
}

/// Records the largest linear memory any instance asked for: what a request costs.
pub struct MemoryWatch {
    pub peak: Arc<std::sync::atomic::AtomicUsize>,
}

impl wasmtime::ResourceLimiter for MemoryWatch {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.peak.fetch_max(desired, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

pub struct InstanceState {
    pub memory: MemoryWatch,
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub hooks: crate::app::OutboundHooks,
    pub component: Arc<Grants>,
    pub shared: Arc<Shared>,
}

impl InstanceState {
    pub fn new(app: Weak<AppInner>, component: Arc<Grants>, shared: Arc<Shared>, wasi: WasiCtx) -> Self {
        InstanceState {
            memory: MemoryWatch { peak: shared.peak_memory.clone() },
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            hooks: crate::app::OutboundHooks { app, component: component.clone() },
            component,
            shared,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}
