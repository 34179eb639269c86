//! The application: components compiled once, routes, and a fresh instance per
//! request — for inbound HTTP and for service chaining alike.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Empty, Full};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks, WasiHttpView};

use crate::engine::{compile, engine, run_sqlite_statements, wasmtime_error};
use crate::interfaces::KvBackend;
use crate::manifest::{Manifest, RouteConfig};
use crate::outbound::{AllowedHost, well_known_port};
use crate::runtime_config::{KvStoreConfig, RuntimeConfig};
use crate::state::{Grants, InstanceState, Shared};
use crate::variables::{ComponentVariables, Variables};

/// How to run an application: the flags of `spin up` this host understands.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// `spin.toml`.
    pub manifest: PathBuf,
    /// `--runtime-config-file`.
    pub runtime_config: Option<PathBuf>,
    /// `--state-dir` (default: `.spin` beside the manifest).
    pub state_dir: Option<PathBuf>,
    /// `-c`: run only these components (all when empty).
    pub components: Vec<String>,
    /// `--sqlite`: SQL, `@file` (database `default`) or `@file:label`, run before serving.
    pub sqlite_statements: Vec<String>,
    /// `--variable name=value`: before the environment and the manifest defaults.
    pub variables: BTreeMap<String, String>,
    /// Instances alive at once (Spin's `SPIN_MAX_INSTANCE_COUNT`, default 1000).
    pub max_instances: u32,
    /// Where guests' stdout and stderr go.
    pub guest_logs: GuestLogs,
    /// Connections per PostgreSQL address (Spin: 64, never trimmed).
    pub pg_pool_size: usize,
    /// Test-only (`--clock`): the WASI wall clock every instance reads, set by the driver
    /// ([`SimClock`](crate::clock::SimClock)). `None`: the real wall clock, as Spin.
    pub clock: Option<crate::clock::SimClock>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GuestLogs {
    /// The host's own stdout/stderr, as `spin up` shows them.
    Inherit,
    /// `<state_dir>/logs/<component>_stdout.txt` and `_stderr.txt`, as Spin writes them.
    Files,
}

impl AppOptions {
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        AppOptions {
            manifest: manifest.into(),
            runtime_config: None,
            state_dir: None,
            components: Vec::new(),
            sqlite_statements: Vec::new(),
            variables: BTreeMap::new(),
            max_instances: 1000,
            guest_logs: GuestLogs::Inherit,
            pg_pool_size: crate::postgres::DEFAULT_POOL_SIZE,
            clock: None,
        }
    }
}

struct Route {
    component: String,
    /// As written in the manifest: `/v1/events/...`.
    raw: String,
    /// The prefix a wildcard route matches under (`/v1/events`), or the exact path.
    base: String,
    wildcard: bool,
}

struct Loaded {
    pre: ProxyPre<InstanceState>,
    grants: Arc<Grants>,
}

pub struct AppInner {
    engine: Engine,
    routes: routefinder::Router<usize>,
    route_table: Vec<Route>,
    components: HashMap<String, Loaded>,
    shared: Arc<Shared>,
    log_dir: Option<PathBuf>,
    /// Components whose chained calls fail as if their instances could not be
    /// reached: how tests stop a downstream component mid-run.
    unreachable: std::sync::RwLock<std::collections::HashSet<String>>,
    clock: Option<crate::clock::SimClock>,
    this: Weak<AppInner>,
}

/// A loaded application, ready to serve.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

pub type HostResponse = hyper::Response<WasiBody>;

impl App {
    pub fn load(options: &AppOptions) -> Result<App> {
        let manifest_path =
            options.manifest.canonicalize().with_context(|| format!("{}", options.manifest.display()))?;
        let app_dir = manifest_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let manifest = Manifest::load(&manifest_path)?;
        let runtime = RuntimeConfig::load(options.runtime_config.as_deref(), &app_dir, options.state_dir.as_deref())?;
        let variables = Variables::resolve(&manifest, &options.variables)?;

        let selected: Vec<String> = if options.components.is_empty() {
            manifest.component.keys().cloned().collect()
        } else {
            for id in &options.components {
                if !manifest.component.contains_key(id) {
                    bail!("-c {id}: no such component in {}", manifest_path.display());
                }
            }
            options.components.clone()
        };

        let engine = engine(options.max_instances)?;
        let mut linker: Linker<InstanceState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wasmtime_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(wasmtime_error)?;
        crate::interfaces::add_to_linker(&mut linker).map_err(wasmtime_error)?;

        let mut components = HashMap::new();
        for id in &selected {
            let decl = &manifest.component[id];
            let mut allowed = Vec::new();
            for entry in &decl.allowed_outbound_hosts {
                let entry = variables.expand(entry)?;
                if entry.is_empty() || entry == "http://" || entry == "https://" {
                    continue;
                }
                let host = AllowedHost::parse(&entry).with_context(|| format!("component `{id}`"))?;
                match host.chaining_target() {
                    Some("*") if !options.components.is_empty() => bail!(
                        "component `{id}` allows `{}`, which cannot be checked when running a subset of components",
                        host.raw()
                    ),
                    Some(target) if target != "*" && !selected.iter().any(|s| s == target) => {
                        bail!(
                            "component `{id}` chains to `{target}`, which is not selected: add `-c {target}` or remove it from allowed_outbound_hosts"
                        )
                    }
                    _ => {}
                }
                allowed.push(host);
            }
            for label in &decl.key_value_stores {
                if !runtime.key_value.contains_key(label) {
                    bail!(
                        "unknown key_value_stores label `{label}` for component `{id}`: define it in the runtime config"
                    );
                }
            }
            for label in &decl.sqlite_databases {
                if !runtime.sqlite.contains_key(label) {
                    bail!(
                        "component `{id}` uses SQLite database `{label}`, which is not defined in the runtime config"
                    );
                }
            }
            let mut component_vars = ComponentVariables { component: id.clone(), values: BTreeMap::new() };
            for (name, template) in &decl.variables {
                component_vars.values.insert(name.clone(), variables.expand(template)?);
            }
            let source = app_dir.join(&decl.source);
            let component = compile(&engine, &source).with_context(|| format!("component `{id}`"))?;
            let pre = linker
                .instantiate_pre(&component)
                .and_then(ProxyPre::new)
                .map_err(wasmtime_error)
                .with_context(|| format!("component `{id}` cannot be linked"))?;
            let grants = Grants {
                id: id.clone(),
                key_value_stores: decl.key_value_stores.iter().cloned().collect::<HashSet<_>>(),
                sqlite_databases: decl.sqlite_databases.iter().cloned().collect::<HashSet<_>>(),
                allowed_outbound_hosts: allowed,
                variables: component_vars,
                environment: decl.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            };
            components.insert(id.clone(), Loaded { pre, grants: Arc::new(grants) });
        }

        let mut routes = routefinder::Router::new();
        let mut route_table = Vec::new();
        for trigger in &manifest.trigger.http {
            if !components.contains_key(&trigger.component) {
                continue;
            }
            let RouteConfig::Route(raw) = &trigger.route else {
                continue;
            };
            let sanitized = format!("/{}", raw.trim_start_matches('/'));
            let sanitized = if sanitized.len() > 1 { sanitized.trim_end_matches('/').to_owned() } else { sanitized };
            let (base, wildcard) = match sanitized.strip_suffix("/...") {
                Some(base) => (base.to_owned(), true),
                None if sanitized == "/..." => (String::new(), true),
                None => (sanitized.clone(), false),
            };
            let pattern = if wildcard { format!("{base}/*") } else { sanitized.clone() };
            route_table.push(Route { component: trigger.component.clone(), raw: raw.clone(), base, wildcard });
            routes.add(pattern.as_str(), route_table.len() - 1).map_err(|e| anyhow!("route `{raw}`: {e}"))?;
        }

        let key_value = runtime
            .key_value
            .iter()
            .map(|(label, store)| {
                let backend = match store {
                    KvStoreConfig::Spin(path) => KvBackend::new(label.clone(), path.clone()),
                    KvStoreConfig::Redis(url) => KvBackend::redis(url.clone()),
                };
                (label.clone(), Arc::new(backend))
            })
            .collect();
        let shared = Arc::new(Shared {
            peak_memory: Default::default(),
            key_value,
            sqlite: runtime.sqlite.clone(),
            postgres: crate::postgres::PgPools::new(options.pg_pool_size),
        });
        run_sqlite_statements(&options.sqlite_statements, &runtime)?;

        let log_dir = match options.guest_logs {
            GuestLogs::Inherit => None,
            GuestLogs::Files => {
                let dir = runtime.state_dir.join("logs");
                std::fs::create_dir_all(&dir)?;
                Some(dir)
            }
        };
        let inner = Arc::new_cyclic(|this| AppInner {
            engine,
            routes,
            route_table,
            components,
            shared,
            log_dir,
            unreachable: Default::default(),
            clock: options.clock.clone(),
            this: this.clone(),
        });
        Ok(App { inner })
    }

    /// Makes chained calls to `component` fail with `ConnectionRefused` (or work
    /// again), as when its instances are down or the network to them is. For tests:
    /// inbound requests still reach it.
    pub fn set_reachable(&self, component: &str, reachable: bool) {
        let mut down = self.inner.unreachable.write().unwrap_or_else(|e| e.into_inner());
        if reachable {
            down.remove(component);
        } else {
            down.insert(component.to_owned());
        }
    }

    /// The simulation clock, when the app runs with one ([`AppOptions::clock`]).
    pub fn clock(&self) -> Option<&crate::clock::SimClock> {
        self.inner.clock.as_ref()
    }

    /// The components this app runs.
    pub fn components(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.inner.components.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Connections (idle or in use) the pool for PostgreSQL `address` holds.
    pub fn postgres_connections(&self, address: &str) -> usize {
        self.inner.shared.postgres.open_connections(address)
    }

    /// The largest linear memory any instance has used since the last call, in bytes;
    /// resets the count. Benchmarks read it to show memory per request.
    pub fn take_peak_instance_memory(&self) -> usize {
        self.inner.shared.peak_memory.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    /// Serves HTTP/1.1 on `listener` until `shutdown` resolves.
    pub async fn serve(self, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        loop {
            let (stream, client) = tokio::select! {
                accepted = listener.accept() => accepted?,
                () = &mut shutdown => return Ok(()),
            };
            let inner = self.inner.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let inner = inner.clone();
                    async move { Ok::<_, Infallible>(inner.handle_inbound(req, client).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, service).await;
            });
        }
    }
}

fn empty_response(status: u16) -> HostResponse {
    let mut response = hyper::Response::new(Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

fn text_response(status: u16, content_type: &str, body: String) -> HostResponse {
    let mut response =
        hyper::Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// What a wildcard route leaves of the path: the rest after the base's segments
/// (`/foo/...`: `/foo` → ``, `/foo/` → `/`, `/foo/bar/` → `/bar/`), whatever
/// `:name` segments matched.
fn trailing(path: &str, base: &str) -> String {
    let mut rest = path;
    for _ in base.split('/').filter(|s| !s.is_empty()) {
        let trimmed = rest.strip_prefix('/').unwrap_or(rest);
        rest = trimmed.find('/').map_or("", |i| &trimmed[i..]);
    }
    rest.to_owned()
}

/// Spin's request headers are appended after the client's, as Spin does.
fn append_spin_headers(headers: &mut http::HeaderMap, values: &[(&'static str, String)]) {
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
}

impl AppInner {
    async fn handle_inbound(&self, req: hyper::Request<hyper::body::Incoming>, client: SocketAddr) -> HostResponse {
        let path = req.uri().path().to_owned();
        if let Some(clock) = self.clock.as_ref().filter(|_| path == crate::clock::CONTROL_PATH) {
            let (status, body) = crate::clock::control(clock, req).await;
            return text_response(status, "application/json", body);
        }
        if let Some(rest) = path.strip_prefix("/.well-known/spin/") {
            return match rest {
                "health" => text_response(200, "text/plain", "OK".into()),
                "info" => text_response(
                    200,
                    "application/json",
                    format!("{{\"host\":\"wangge-host\",\"version\":\"{}\"}}", env!("CARGO_PKG_VERSION")),
                ),
                _ => empty_response(404),
            };
        }
        let Some(matched) = self.routes.best_match(&path) else {
            return empty_response(404);
        };
        let route = &self.route_table[*matched.handler()];
        let path_info = if route.wildcard { trailing(&path, &route.base) } else { String::new() };
        let host =
            req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
        let path_and_query =
            req.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_else(|| path.clone());
        let full_url = format!("http://{host}{path_and_query}");
        let component_route = route.raw.strip_suffix("/...").unwrap_or(&route.raw).to_owned();
        let matched_route = if route.wildcard { format!("{}/...", route.base) } else { route.base.clone() };
        let spin_headers = [
            ("spin-full-url", full_url.clone()),
            ("spin-path-info", path_info),
            ("spin-matched-route", matched_route),
            ("spin-base-path", "/".to_owned()),
            ("spin-raw-component-route", route.raw.clone()),
            ("spin-component-route", component_route),
            ("spin-client-addr", client.to_string()),
        ];
        let (mut parts, body) = req.into_parts();
        append_spin_headers(&mut parts.headers, &spin_headers);
        // `:name` segments of the route, as `spin-path-match-<name>`.
        for capture in matched.captures().params() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(format!("spin-path-match-{}", capture.name().to_ascii_lowercase()).as_bytes()),
                HeaderValue::from_str(capture.value()),
            ) {
                parts.headers.append(name, value);
            }
        }
        parts.uri = match full_url.parse() {
            Ok(uri) => uri,
            Err(_) => return empty_response(400),
        };
        let request = hyper::Request::from_parts(parts, body);
        match self.call(&route.component, request).await {
            Ok(response) => response,
            Err(e) => {
                eprintln!(
                    "{{\"level\":\"error\",\"event\":\"component_failed\",\"component\":\"{}\",\"error\":{:?}}}",
                    route.component,
                    format!("{e:#}")
                );
                empty_response(500)
            }
        }
    }

    /// A chained request to `http://<component>.spin.internal/...`: the path goes
    /// through unchanged, whatever the component's routes, as in Spin.
    async fn handle_chained(
        &self,
        component: &str,
        request: hyper::Request<WasiBody>,
    ) -> Result<HostResponse, ErrorCode> {
        if !self.components.contains_key(component) {
            return Err(ErrorCode::DestinationNotFound);
        }
        if self.unreachable.read().unwrap_or_else(|e| e.into_inner()).contains(component) {
            return Err(ErrorCode::ConnectionRefused);
        }
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let path_and_query =
            parts.uri.path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_else(|| path.clone());
        parts.headers.remove(http::header::HOST);
        append_spin_headers(
            &mut parts.headers,
            &[
                ("spin-full-url", format!("http://localhost{path_and_query}")),
                ("spin-path-info", path),
                ("spin-matched-route", "/...".to_owned()),
                ("spin-base-path", "/".to_owned()),
                ("spin-raw-component-route", "/...".to_owned()),
                ("spin-component-route", String::new()),
                ("spin-client-addr", "0.0.0.0:0".to_owned()),
            ],
        );
        self.call(component, hyper::Request::from_parts(parts, body))
            .await
            .map_err(|e| ErrorCode::InternalError(Some(format!("{e:#}"))))
    }

    /// One fresh instance of `component` handles `request`.
    async fn call<B>(&self, component: &str, request: hyper::Request<B>) -> Result<HostResponse>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let loaded = self.components.get(component).ok_or_else(|| anyhow!("no component `{component}`"))?;
        let wasi = self.wasi_ctx(&loaded.grants)?;
        let state = InstanceState::new(self.this.clone(), loaded.grants.clone(), self.shared.clone(), wasi);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, request).map_err(wasmtime_error)?;
        let outparam = store.data_mut().http().new_response_outparam(sender).map_err(wasmtime_error)?;
        let pre = loaded.pre.clone();
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, outparam).await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(anyhow!("component `{component}` answered with error {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => Err(anyhow!("component `{component}` returned without a response")),
                Ok(Err(e)) => Err(anyhow!("component `{component}` trapped: {e:?}")),
                Err(e) => Err(anyhow!("component `{component}` task failed: {e}")),
            },
        }
    }

    fn wasi_ctx(&self, grants: &Grants) -> Result<WasiCtx> {
        let mut builder = WasiCtx::builder();
        if let Some(clock) = &self.clock {
            builder.wall_clock(clock.clone());
        }
        for (k, v) in &grants.environment {
            builder.env(k, v);
        }
        match &self.log_dir {
            None => {
                builder.inherit_stdout().inherit_stderr();
            }
            Some(dir) => {
                let open = |suffix: &str| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(dir.join(format!("{}_{suffix}.txt", grants.id)))
                };
                builder.stdout(wasmtime_wasi::cli::OutputFile::new(open("stdout")?));
                builder.stderr(wasmtime_wasi::cli::OutputFile::new(open("stderr")?));
            }
        }
        Ok(builder.build())
    }
}

/// Outbound HTTP of one instance: `allowed_outbound_hosts` enforced, chaining
/// to `<component>.spin.internal` served in-process, everything else sent.
pub struct OutboundHooks {
    pub app: Weak<AppInner>,
    pub component: Arc<Grants>,
}

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(hyper::Response<WasiBody>, IoFuture), wasmtime_wasi_http::Error>> + Send>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let uri = request.uri().clone();
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let port = uri.port_u16().or_else(|| well_known_port(&scheme)).unwrap_or(0);
        let allowed = self.component.allowed_outbound_hosts.iter().any(|h| h.allows(&scheme, &host, port));
        if !allowed {
            return Box::new(async { Err(ErrorCode::HttpRequestDenied.into()) });
        }
        if let Some(target) = host.strip_suffix(".spin.internal") {
            let app = self.app.clone();
            let target = target.to_owned();
            return Box::new(async move {
                let app = app.upgrade().ok_or(ErrorCode::InternalError(Some("application stopped".into())))?;
                let response = app.handle_chained(&target, request).await?;
                Ok((response, Box::new(async { Ok(()) }) as IoFuture))
            });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::trailing;

    #[test]
    fn path_info_is_what_the_wildcard_matched() {
        assert_eq!(trailing("/foo", "/foo"), "");
        assert_eq!(trailing("/foo/", "/foo"), "/");
        assert_eq!(trailing("/foo/bar", "/foo"), "/bar");
        assert_eq!(trailing("/foo/bar/", "/foo"), "/bar/");
        assert_eq!(trailing("/items/G1/detail/x/y", "/items/:id/detail"), "/x/y");
        assert_eq!(trailing("/anything", ""), "/anything");
    }
}
