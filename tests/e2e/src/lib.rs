//! Starting the Wangge suite (the repository's `spin.toml`) on the test host, with
//! its databases in a fresh directory per test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod fake;
pub mod load;
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

pub struct Suite {
    pub app: RunningApp,
    pub dir: PathBuf,
}

impl Suite {
    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// A database file of this suite, by label.
    pub fn database(&self, label: &str) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join(format!("{label}.db"))).expect("open database file")
    }

    pub fn key_value(&self) -> rusqlite::Connection {
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

/// Writes a runtime config with every database under `dir`, `overrides` replacing
/// a label's path (e.g. with something that is not a database).
pub fn runtime_config(dir: &std::path::Path, overrides: &[(&str, PathBuf)]) -> PathBuf {
    let mut text =
        format!("[key_value_store.default]\ntype = \"spin\"\npath = {:?}\n", dir.join("sqlite_key_value.db"));
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
    for (id, _) in COMPONENTS {
        require_wasm(&id.replace('-', "_"));
    }
    let dir = temp_dir(test);
    let mut options = AppOptions::new(workspace_root().join("spin.toml"));
    options.runtime_config = Some(runtime_config(&dir, &[]));
    options.state_dir = Some(dir);
    options.components = components.iter().map(|c| c.to_string()).collect();
    options.variables = BTreeMap::from([("operator_key".to_owned(), OPERATOR_KEY.to_owned())]);
    options.max_instances = 128;
    options.guest_logs = GuestLogs::Files;
    options
}

pub fn start_with(options: AppOptions) -> Suite {
    let dir = options.state_dir.clone().expect("state dir");
    let app = RunningApp::start(&options, "127.0.0.1:0").expect("start the suite");
    Suite { app, dir }
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
/// case-routing's reference data (catalogue, calendar, departments), left in a
/// directory whose database files each test copies. Loading Nantong takes seconds;
/// copying it takes milliseconds.
pub fn city_template() -> &'static std::path::Path {
    static TEMPLATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let options = options("city-template", &[]);
        let dir = options.state_dir.clone().expect("state dir");
        {
            let suite = start_with(options);
            suite.load_demo();
            suite.load_reference();
        }
        // The suite is stopped: every connection closed, its WAL checkpointed.
        dir
    })
}

/// The suite on a fresh copy of the demo city, with Spin variables set.
pub fn start_city(test: &str, variables: &[(&str, &str)]) -> Suite {
    let mut options = options(test, &[]);
    copy_city(options.state_dir.as_deref().expect("state dir"));
    for (name, value) in variables {
        options.variables.insert((*name).to_owned(), (*value).to_owned());
    }
    start_with(options)
}

/// Puts a copy of the loaded demo city (grid-lookup's and case-routing's databases,
/// see [`city_template`]) into the state directory `dir`.
pub fn copy_city(dir: &Path) {
    let template = city_template();
    for label in ["grid_lookup", "case_routing"] {
        std::fs::copy(template.join(format!("{label}.db")), dir.join(format!("{label}.db"))).expect("copy the city");
    }
}

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
        self.database(label).query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
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

/// POSTs `fields` form-encoded (as Open311 clients send them) to `path`, with `headers`.
pub fn post_form(suite: &Suite, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    request("POST", &suite.url(path), &all, Some(body.join("&").as_bytes()))
}
