//! Starting the Wangge suite (the repository's `spin.toml`) on the test host, with
//! its databases in a fresh directory per test, on either storage profile
//! ([`Profile`]): SQLite files and the SQLite key-value store (the embedded default),
//! or, with `WANGGE_PROFILE=cluster`, a fresh PostgreSQL database per function on a
//! private server shared by the test process, and a Redis database of its own for the
//! key-value store.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub mod bench_triage;
pub mod fake;
pub mod load;
pub mod replica;
pub mod synthetic;

pub use wangge_host::testing::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp};

pub const OPERATOR_KEY: &str = "test-operator-key-0123456789";

/// The component ids and the database label each owns.
pub const COMPONENTS: &[(&str, &str)] = &[
    ("intake", "intake"),
    ("grid-lookup", "grid_lookup"),
    ("case-routing", "case_routing"),
    ("assessment", "assessment"),
    ("notification", "notification"),
];

/// The components that own no database and no key-value store: they serve files only (the
/// command-centre console, `functions/console`). Not in [`COMPONENTS`], whose every entry
/// owns a database.
pub const STATELESS_COMPONENTS: &[&str] = &["console"];

/// Where the suite keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// SQLite files under the test's directory, and the SQLite key-value store.
    Embedded,
    /// A PostgreSQL database per function, and Redis for the key-value store.
    Cluster,
}

/// The profile this test run asked for: `WANGGE_PROFILE=cluster`, or the embedded default.
pub fn profile() -> Profile {
    match std::env::var("WANGGE_PROFILE").as_deref() {
        Ok("cluster") => Profile::Cluster,
        _ => Profile::Embedded,
    }
}

/// Whether a test that holds on one profile only runs in this run; when it does not,
/// says why on stderr (the test then passes without running: `scripts/test.sh` runs the
/// suite on both profiles, so it runs in the other pass).
pub fn runs_on(only: Profile, why: &str) -> bool {
    let here = profile();
    if here != only {
        eprintln!("runs on the {only:?} profile only ({why}); this run is {here:?}");
    }
    here == only
}

/// The variable that holds the PostgreSQL address of the function owning `label`.
fn url_variable(label: &str) -> String {
    format!("{label}_database_url")
}

pub struct Suite {
    pub app: RunningApp,
    pub dir: PathBuf,
    /// On the cluster profile, each function's PostgreSQL address, by database label.
    pub databases: BTreeMap<String, String>,
    /// On the cluster profile, the Redis database of the key-value store `default`.
    pub key_value_url: Option<String>,
}

impl Suite {
    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// A database file of this suite, by label: for tests of what only SQLite files do
    /// (locks, the WAL). Other tests use [`Suite::store`].
    pub fn database(&self, label: &str) -> rusqlite::Connection {
        assert_eq!(profile(), Profile::Embedded, "a SQLite file exists on the embedded profile only");
        rusqlite::Connection::open(self.dir.join(format!("{label}.db"))).expect("open database file")
    }

    /// The database `label` on whichever engine the suite runs: statements in the
    /// stores' dialect, rewritten for PostgreSQL as the functions' are.
    pub fn store(&self, label: &str) -> wangge_core::native::TestDb {
        open_store(&self.dir, self.databases.get(label).map(String::as_str), label)
    }

    /// One statement on the database `label`; panics if it fails.
    pub fn sql(&self, label: &str, sql: &str, params: &[wangge_core::SqlValue]) -> wangge_core::Rows {
        use wangge_core::Sql;
        self.store(label).execute(sql, params).unwrap_or_else(|e| panic!("{label}: `{sql}`: {e}"))
    }

    /// The first column of the first row of a query on `label`, as an integer.
    pub fn sql_i64(&self, label: &str, sql: &str, params: &[wangge_core::SqlValue]) -> i64 {
        self.sql(label, sql, params)
            .scalar()
            .and_then(wangge_core::SqlValue::as_i64)
            .unwrap_or_else(|| panic!("{label}: `{sql}` gave no integer"))
    }

    /// A value of the key-value store `default`, on either profile.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        match &self.key_value_url {
            None => self
                .key_value()
                .query_row("SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?", [key], |r| r.get(0))
                .ok(),
            Some(url) => redis_command(url, &["GET", key]).into_iter().next(),
        }
    }

    /// Every key of the key-value store `default` (on Redis; on SQLite the file is searched whole).
    pub fn kv_keys(&self) -> Vec<String> {
        let Some(url) = &self.key_value_url else { return Vec::new() };
        redis_command(url, &["KEYS", "*"]).into_iter().map(|k| String::from_utf8_lossy(&k).into_owned()).collect()
    }

    pub fn key_value(&self) -> rusqlite::Connection {
        assert_eq!(profile(), Profile::Embedded, "the key-value file exists on the embedded profile only");
        rusqlite::Connection::open(self.dir.join("sqlite_key_value.db")).expect("open key-value file")
    }

    /// Everything the guests wrote to stderr so far.
    pub fn guest_logs(&self) -> String {
        let mut all = String::new();
        for (id, _) in COMPONENTS {
            all.push_str(
                &std::fs::read_to_string(self.dir.join("logs").join(format!("{id}_stderr.txt"))).unwrap_or_default(),
            );
        }
        all
    }
}

impl Drop for Suite {
    /// Drops the suite's PostgreSQL databases (a loaded city is tens of megabytes), ending
    /// the connections the app still holds.
    fn drop(&mut self) {
        if self.databases.is_empty() || std::thread::panicking() {
            return;
        }
        for url in self.databases.values() {
            let name = url.rsplit('/').next().unwrap_or_default();
            shared_postgres().sql("postgres", &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// Writes a runtime config with every database under `dir`, `overrides` replacing
/// a label's path (e.g. with something that is not a database). On the cluster profile
/// the key-value store is a Redis database of the test's own; the SQLite labels stay
/// defined (Spin wants every label a component names), and go unused.
pub fn runtime_config(dir: &std::path::Path, overrides: &[(&str, PathBuf)]) -> PathBuf {
    let mut text = match profile() {
        Profile::Embedded => {
            format!("[key_value_store.default]\ntype = \"spin\"\npath = {:?}\n", dir.join("sqlite_key_value.db"))
        }
        Profile::Cluster => {
            format!("[key_value_store.default]\ntype = \"redis\"\nurl = {:?}\n", fresh_redis_database())
        }
    };
    for (_, label) in COMPONENTS {
        let path = overrides
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| dir.join(format!("{label}.db")));
        text.push_str(&format!("[sqlite_database.{label}]\ntype = \"spin\"\npath = {:?}\n", path));
    }
    let file = dir.join("runtime-config.toml");
    std::fs::write(&file, text).expect("write runtime config");
    file
}

pub fn options(test: &str, components: &[&str]) -> AppOptions {
    for id in COMPONENTS.iter().map(|(id, _)| *id).chain(STATELESS_COMPONENTS.iter().copied()) {
        require_wasm(&id.replace('-', "_"));
    }
    let dir = temp_dir(test);
    let mut options = AppOptions::new(workspace_root().join("spin.toml"));
    options.runtime_config = Some(runtime_config(&dir, &[]));
    options.state_dir = Some(dir);
    options.components = components.iter().map(|c| c.to_string()).collect();
    options.variables = BTreeMap::from([("operator_key".to_owned(), OPERATOR_KEY.to_owned())]);
    if profile() == Profile::Cluster {
        let server = shared_postgres();
        options.variables.insert("database_host".to_owned(), format!("127.0.0.1:{}", server.port));
        for (_, label) in COMPONENTS {
            options.variables.insert(url_variable(label), fresh_database(&format!("{test}_{label}")));
        }
    }
    options.max_instances = 128;
    options.guest_logs = GuestLogs::Files;
    options
}

/// The database `label` of the suite `options` will start (or started).
pub fn store_of(options: &AppOptions, label: &str) -> wangge_core::native::TestDb {
    let url = options.variables.get(&url_variable(label)).map(String::as_str).filter(|u| !u.is_empty());
    open_store(options.state_dir.as_deref().expect("state dir"), url, label)
}

fn open_store(dir: &std::path::Path, url: Option<&str>, label: &str) -> wangge_core::native::TestDb {
    use wangge_core::native::{NativeDb, NativePg, TestDb};
    match url {
        Some(url) => TestDb::Postgres(NativePg::connect(url).expect("connect to the suite's database")),
        None => TestDb::Sqlite(NativeDb::open(dir.join(format!("{label}.db"))).expect("open database file")),
    }
}

/// Takes the storage of the function owning `label` down in the suite `options` will
/// start: its SQLite path is a directory, or its PostgreSQL address names a database
/// the server does not have.
pub fn break_storage(options: &mut AppOptions, label: &str) {
    let dir = options.state_dir.clone().expect("state dir");
    match profile() {
        Profile::Embedded => {
            let broken = dir.join("not-a-database");
            std::fs::create_dir_all(&broken).expect("a directory");
            options.runtime_config = Some(runtime_config(&dir, &[(label, broken)]));
        }
        Profile::Cluster => {
            options.variables.insert(url_variable(label), shared_postgres().url("no_such_database"));
        }
    }
}

/// Everything the suite stored, as bytes to search: its database files and the
/// key-value file, or a dump of its PostgreSQL databases and every Redis value.
pub fn stored_bytes(suite: &Suite) -> Vec<u8> {
    let mut all = Vec::new();
    match profile() {
        Profile::Embedded => {
            for (_, label) in COMPONENTS {
                for file in [format!("{label}.db"), format!("{label}.db-wal")] {
                    all.extend(std::fs::read(suite.dir.join(file)).unwrap_or_default());
                }
            }
            for file in ["sqlite_key_value.db", "sqlite_key_value.db-wal"] {
                all.extend(std::fs::read(suite.dir.join(file)).unwrap_or_default());
            }
        }
        Profile::Cluster => {
            for url in suite.databases.values() {
                all.extend(shared_postgres().dump(url.rsplit('/').next().unwrap_or_default()));
            }
            for key in suite.kv_keys() {
                all.extend(key.as_bytes());
                all.extend(suite.kv_get(&key).unwrap_or_default());
            }
        }
    }
    all
}

/// One command to the Redis database `url` (`redis://host:port/<db>`); the bulk
/// strings of its answer (one for `GET`, many for `KEYS`; none for a missing key).
pub fn redis_command(url: &str, args: &[&str]) -> Vec<Vec<u8>> {
    use std::io::{BufRead, BufReader, Read, Write};
    let rest = url.trim_start_matches("redis://");
    let (address, db) = rest.split_once('/').unwrap_or((rest, "0"));
    let mut stream = std::net::TcpStream::connect(address).expect("connect to redis");
    let mut send = |parts: &[&str]| {
        let mut out = format!("*{}\r\n", parts.len());
        for p in parts {
            out.push_str(&format!("${}\r\n{p}\r\n", p.len()));
        }
        stream.write_all(out.as_bytes()).expect("send to redis");
    };
    send(&["SELECT", db]);
    send(args);
    let mut reader = BufReader::new(stream.try_clone().expect("stream"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("SELECT's answer");
    assert!(line.starts_with("+OK"), "SELECT {db}: {line}");
    let bulk = |reader: &mut BufReader<std::net::TcpStream>, header: &str| -> Option<Vec<u8>> {
        let n: i64 = header.trim_end()[1..].parse().expect("a bulk length");
        if n < 0 {
            return None;
        }
        let mut value = vec![0; n as usize + 2];
        reader.read_exact(&mut value).expect("a bulk string");
        value.truncate(n as usize);
        Some(value)
    };
    line.clear();
    reader.read_line(&mut line).expect("an answer");
    match line.as_bytes().first() {
        Some(b'$') => bulk(&mut reader, &line).into_iter().collect(),
        Some(b'*') => {
            let n: usize = line.trim_end()[1..].parse().unwrap_or(0);
            (0..n)
                .filter_map(|_| {
                    let mut header = String::new();
                    reader.read_line(&mut header).expect("an element");
                    bulk(&mut reader, &header)
                })
                .collect()
        }
        _ => panic!("redis {args:?}: {line}"),
    }
}

/// A Redis database no other test of this process uses, on the shared server.
fn fresh_redis_database() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{}/{}", shared_redis().url(), NEXT.fetch_add(1, Ordering::SeqCst))
}

pub fn start_with(options: AppOptions) -> Suite {
    let dir = options.state_dir.clone().expect("state dir");
    let databases = COMPONENTS
        .iter()
        .filter_map(|(_, label)| Some((label.to_string(), options.variables.get(&url_variable(label))?.clone())))
        .filter(|(_, url)| !url.is_empty())
        .collect();
    let key_value_url = options
        .runtime_config
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| t.get("key_value_store")?.get("default")?.get("url")?.as_str().map(str::to_owned));
    let app = RunningApp::start(&options, "127.0.0.1:0").expect("start the suite");
    Suite { app, dir, databases, key_value_url }
}

/// All five components.
pub fn start(test: &str) -> Suite {
    start_with(options(test, &[]))
}

pub fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// A JSON request with a bearer key.
pub fn call(method: &str, url: &str, key: &str, body: Option<&serde_json::Value>) -> Reply {
    let auth = bearer(key);
    let body = body.map(|b| b.to_string());
    request(
        method,
        url,
        &[("authorization", auth.as_str()), ("content-type", "application/json")],
        body.as_deref().map(str::as_bytes),
    )
}

/// A file of the demo city (`data/nantong/<file>.gz`), decompressed.
pub fn demo(file: &str) -> Vec<u8> {
    use std::io::Read;
    let path = workspace_root().join("data/nantong").join(format!("{file}.gz"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("demo data file"))
        .read_to_end(&mut out)
        .expect("gunzip demo data");
    out
}

impl Suite {
    /// Imports the demo city's regions, grids, staff, addresses and district outlines
    /// through the API; returns each import's time in the component, in ms.
    pub fn load_demo(&self) -> Vec<(&'static str, f64)> {
        let mut timings = Vec::new();
        for (path, file, content_type) in [
            ("/v1/regions", "regions.csv", "text/csv"),
            ("/v1/grids", "grids.geojson", "application/geo+json"),
            ("/v1/staff", "staff.csv", "text/csv"),
            ("/v1/addresses", "addresses.csv", "text/csv"),
            ("/v1/regions/outlines", "districts.geojson", "application/geo+json"),
        ] {
            let reply = self.put(path, content_type, &demo(file));
            let ms = load::app_ms(reply.header("server-timing")).unwrap_or(0.0);
            timings.push((path, ms));
        }
        timings
    }
}

/// The demo city loaded once per test process: grid-lookup's registry and
/// case-routing's reference data (catalogue, calendar, departments), left in
/// databases that each test copies. Loading Nantong takes seconds; copying it takes
/// milliseconds (files, or PostgreSQL's `CREATE DATABASE … TEMPLATE`).
pub struct CityTemplate {
    /// The directory of the template's files (embedded profile).
    pub dir: PathBuf,
    /// The template's PostgreSQL addresses by label (cluster profile).
    pub databases: BTreeMap<String, String>,
}

/// The demo city's template, loaded on first use.
pub fn city_template() -> &'static CityTemplate {
    static TEMPLATE: std::sync::OnceLock<CityTemplate> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let options = options("city-template", &[]);
        let dir = options.state_dir.clone().expect("state dir");
        let mut suite = start_with(options);
        suite.load_demo();
        suite.load_reference();
        // Kept: taken from the suite, whose drop would drop them.
        let databases = std::mem::take(&mut suite.databases);
        // Stopped: every connection closed (a template database may have none), the WAL
        // checkpointed.
        drop(suite);
        CityTemplate { dir, databases }
    })
}

/// The suite on a fresh copy of the demo city, with Spin variables set.
pub fn start_city(test: &str, variables: &[(&str, &str)]) -> Suite {
    start_with(city_options(test, variables))
}

/// What [`start_city`] starts: for tests that start more replicas of the same suite.
pub fn city_options(test: &str, variables: &[(&str, &str)]) -> AppOptions {
    let mut options = options(test, &[]);
    copy_city(&mut options);
    for (name, value) in variables {
        options.variables.insert((*name).to_owned(), (*value).to_owned());
    }
    options
}

/// Gives the suite `options` would start a copy of the loaded demo city
/// (grid-lookup's and case-routing's databases, see [`city_template`]).
pub fn copy_city(options: &mut AppOptions) {
    let template = city_template();
    let dir = options.state_dir.clone().expect("state dir");
    for label in ["grid_lookup", "case_routing"] {
        match template.databases.get(label) {
            None => {
                std::fs::copy(template.dir.join(format!("{label}.db")), dir.join(format!("{label}.db")))
                    .expect("copy the city");
            }
            Some(url) => {
                let source = url.rsplit('/').next().expect("a database name");
                let copy = format!("{source}_copy_{}", COPIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
                // One copy at a time: PostgreSQL refuses a template another copy is reading.
                let _one = TEMPLATE_COPY.lock().unwrap_or_else(|e| e.into_inner());
                shared_postgres().sql("postgres", &format!("CREATE DATABASE \"{copy}\" TEMPLATE \"{source}\""));
                options.variables.insert(url_variable(label), shared_postgres().url(&copy));
            }
        }
    }
}

static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static TEMPLATE_COPY: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Suite {
    /// Imports case-routing's reference data: the catalogue of matters, the 2026
    /// calendar and the departments of the demo city.
    pub fn load_reference(&self) {
        for (path, content_type, body) in [
            (
                "/v1/categories",
                "application/json",
                std::fs::read(workspace_root().join("data/categories.json")).unwrap(),
            ),
            (
                "/v1/calendar/2026",
                "application/json",
                std::fs::read(workspace_root().join("data/calendar-2026.json")).unwrap(),
            ),
            ("/v1/departments", "text/csv", demo("departments.csv")),
        ] {
            self.put(path, content_type, &body);
        }
    }

    /// An import with the operator key, which must succeed.
    fn put(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        let auth = bearer(OPERATOR_KEY);
        let reply = request(
            "PUT",
            &self.url(path),
            &[("authorization", auth.as_str()), ("content-type", content_type)],
            Some(body),
        );
        assert!(matches!(reply.status, 200 | 201), "PUT {path}: {} {}", reply.status, reply.body);
        reply
    }

    /// Rows of `table` in the database `label`.
    pub fn count(&self, label: &str, table: &str) -> i64 {
        self.sql_i64(label, &format!("SELECT count(*) FROM {table}"), &[])
    }
}

/// Sends raw HTTP/1.1 and returns the status line and the body. For requests a
/// client library cannot make, and for refusals that come before the body is read
/// (the server may close while a large body is still being written).
pub fn raw(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

/// Polls `check` until it returns `Some`, and returns that; panics with `what` once
/// `within` has passed. For waits that a backoff or a lease decides: the test waits as
/// long as the system needs and no longer, instead of a fixed sleep matched to it by hand.
pub fn wait_until<T>(within: std::time::Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "still waiting after {within:?}: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `v` percent-encoded for a query string or a form (unreserved characters kept).
pub fn percent_encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// A resident's report of `category` at `point` (WGS-84), as the mini-program sends it,
/// the reporter reachable at WeChat `openid`.
pub fn resident_report(point: (f64, f64), category: &str, openid: &str) -> serde_json::Value {
    serde_json::json!({
        "source": "resident",
        "reporter": { "name": "王小明", "phone": "13812345678", "wechat_openid": openid },
        "category": category,
        "description": "小区门口垃圾堆积",
        "location": { "lng": point.0, "lat": point.1, "crs": "wgs84", "accuracy": 8 }
    })
}

/// The grid responsible for `point`, and its grid worker's staff id, as `GET
/// /v1/grids/locate` at `base` (an app's URL) answers them.
pub fn grid_and_worker(base: &str, point: (f64, f64)) -> (String, String) {
    let located =
        call("GET", &format!("{base}/v1/grids/locate?lng={}&lat={}", point.0, point.1), OPERATOR_KEY, None).json();
    let grid = located["responsible"]["code"].as_str().expect("a responsible grid").to_owned();
    let worker = located["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .find(|s| s["role"] == "grid_worker")
        .and_then(|s| s["staff_id"].as_str())
        .expect("a grid worker")
        .to_owned();
    (grid, worker)
}

/// Makes case `id` straight in case-routing's database `db` with the store's own code, as
/// if grid staff had reported it `days` ago in 崇川区's first grid (A01, assigned to the
/// grid): its deadlines have long passed, so the sweep owes it supervision and escalation.
pub fn case_reported_days_ago(db: &wangge_core::native::TestDb, id: &str, days: i64) {
    use wangge_cases::store;
    let calendar = wangge_cases::reference::calendar(db).expect("the calendar");
    let category = wangge_cases::reference::category(db, "A01").expect("the catalogue").expect("A01");
    let mut new: store::NewCase = serde_json::from_value(serde_json::json!({
        "id": id, "source": "grid_staff", "reporter_staff_id": "S000002",
        "reporter": {"name": null, "phone": null, "wechat_openid": null}, "lng": null, "lat": null,
        "category": "A01", "responsible_grid": "320613001001001", "comprehensive_grid": "320613001001001",
        "community": "320613001001", "discovered_at": null, "reported_at": "2026-11-01T09:00:00+08:00",
        "description": "旧案", "attachments": [], "external_ref": null,
        "staff": [{"staff_id": "S000002", "role": "grid_worker", "grid_code": "320613001001001"},
                  {"staff_id": "S000001", "role": "grid_head", "grid_code": ""}],
        "triage": null
    }))
    .expect("a new case");
    new.reporter = store::Reporter::default();
    let then = wangge_core::time::now_utc() - chrono::Duration::days(days);
    store::create(db, &new, &category, &store::Context { calendar: &calendar, now: then }).expect("the case");
}

/// POSTs `fields` form-encoded (as Open311 clients send them) to `path`, with `headers`.
pub fn post_form(suite: &Suite, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    request("POST", &suite.url(path), &all, Some(body.join("&").as_bytes()))
}
