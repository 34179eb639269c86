//! The host against the probe component: routing, headers, each host interface,
//! and each denial, the way Spin behaves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use wangge_host::testing::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options(test: &str) -> AppOptions {
    require_wasm("wangge_probe");
    let mut options = AppOptions::new(fixture("probe.toml"));
    options.state_dir = Some(temp_dir(test));
    options.runtime_config = Some(fixture("probe-runtime.toml"));
    options.variables = BTreeMap::from([("secret_token".to_owned(), "s3cret".to_owned())]);
    options.max_instances = 64;
    options.guest_logs = GuestLogs::Files;
    options
}

fn start(test: &str) -> RunningApp {
    RunningApp::start(&options(test), "127.0.0.1:0").expect("start the probe app")
}

#[test]
fn routes_like_spin_exact_beats_wildcard_and_longest_prefix_wins() {
    let app = start("routing");
    let component = |path: &str| get(&app.url(path)).json()["component"].clone();
    assert_eq!(component("/probe/anything"), "probe");
    assert_eq!(component("/probe"), "probe", "`/probe/...` matches `/probe` itself");
    assert_eq!(component("/probe/exact"), "probe-exact");
    assert_eq!(component("/probe/exact/more"), "probe", "an exact route does not match below itself");
    assert_eq!(component("/probe/deeper"), "probe-deep");
    assert_eq!(component("/probe/deeper/x/y"), "probe-deep");

    let missing = get(&app.url("/probeX"));
    assert_eq!((missing.status, missing.body.as_str()), (404, ""), "no route: Spin's empty 404");
    assert_eq!(get(&app.url("/")).status, 404);
    let health = get(&app.url("/.well-known/spin/health"));
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));
}

#[test]
fn private_components_are_unreachable_from_outside_but_chainable() {
    let app = start("private");
    // No public route leads to `private`: every path lands elsewhere or nowhere.
    assert_eq!(get(&app.url("/private/headers")).status, 404);
    let chained = get(&app.url("/probe/outbound?url=http://private.spin.internal/some/path/headers")).json();
    let body: serde_json::Value = serde_json::from_str(chained["result"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["component"], "private");
    assert_eq!(body["path"], "/some/path/headers", "the path goes through unchanged");
    assert_eq!(body["headers"]["spin-matched-route"], "/...");
    assert_eq!(body["headers"]["spin-component-route"], "");
    assert_eq!(body["headers"]["spin-client-addr"], "0.0.0.0:0");
    assert_eq!(body["headers"]["spin-full-url"], "http://localhost/some/path/headers");
}

#[test]
fn sets_spin_request_headers() {
    let app = start("headers");
    let reply = request("GET", &app.url("/probe/deeper/a/b/headers?x=1"), &[("host", "wangge.example:3000")], None);
    let h = &reply.json()["headers"];
    assert_eq!(h["spin-full-url"], "http://wangge.example:3000/probe/deeper/a/b/headers?x=1");
    assert_eq!(h["spin-path-info"], "/a/b/headers");
    assert_eq!(h["spin-matched-route"], "/probe/deeper/...");
    assert_eq!(h["spin-raw-component-route"], "/probe/deeper/...");
    assert_eq!(h["spin-component-route"], "/probe/deeper");
    assert_eq!(h["spin-base-path"], "/");
    assert!(h["spin-client-addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    let exact = get(&app.url("/probe/exact")).json();
    assert_eq!(exact["component"], "probe-exact");
    let param = get(&app.url("/items/G42/detail/headers")).json();
    assert_eq!(param["headers"]["spin-path-match-item_id"], "G42");
    assert_eq!(param["headers"]["spin-component-route"], "/items/:item_id/detail");
    assert_eq!(param["headers"]["spin-path-info"], "/headers");
}

#[test]
fn every_request_gets_a_fresh_instance() {
    let app = start("fresh");
    for _ in 0..5 {
        assert_eq!(get(&app.url("/probe/headers")).json()["seen"], 1);
    }
}

#[test]
fn serves_concurrent_requests() {
    let app = start("concurrent");
    let url = app.url("/probe/kv-roundtrip");
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || get(&url).status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
}

#[test]
fn key_value_store_round_trips_into_the_state_dir_file() {
    let app = start("kv");
    let r = get(&app.url("/probe/kv-roundtrip")).json();
    assert_eq!(r["set"], true);
    assert_eq!(r["get"], "probe-value");
    assert_eq!(r["exists"], true);
    assert!(r["keys"].as_array().unwrap().contains(&json!("probe-key")));
    assert_eq!(r["exists_after_delete"], false);
    // Spin's schema, in Spin's default file.
    let state = app_state_dir("kv");
    let conn = rusqlite::Connection::open(state.join("sqlite_key_value.db")).unwrap();
    let value: Vec<u8> = conn
        .query_row("SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'kept-key'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(value, b"kept");
}

fn app_state_dir(test: &str) -> PathBuf {
    workspace_root().join("target/test-state").join(format!("{test}-{}", std::process::id()))
}

#[test]
fn key_value_denies_undeclared_stores() {
    let app = start("kv-deny");
    assert_eq!(get(&app.url("/probe/kv-open?label=default")).json()["result"], "ok");
    assert_eq!(get(&app.url("/probe/kv-open?label=other")).json()["result"], "Error::AccessDenied");
    assert_eq!(get(&app.url("/probe/deeper/kv-open?label=default")).json()["result"], "Error::AccessDenied");
}

#[test]
fn sqlite_v3_round_trips_and_reports_errors_as_io() {
    let app = start("sqlite3");
    let r = get(&app.url("/probe/sqlite3-roundtrip")).json();
    assert_eq!(r["create"], true);
    assert_eq!(r["insert"], true);
    assert_eq!(r["changes"], 1);
    assert_eq!(r["columns"], json!(["id", "name", "score", "data", "absent"]));
    assert_eq!(
        r["row"],
        json!([{"integer": r["rowid"]}, {"text": "网格"}, {"real": 1.5}, {"blob": [0, 1, 2]}, "null"])
    );
    assert!(r["bad_sql"].as_str().unwrap().contains("Io("), "{}", r["bad_sql"]);
    assert!(r["two_statements"].as_str().unwrap().contains("Io("), "one statement per call, as in Spin");
    // The default database is Spin's file in the state dir.
    let conn = rusqlite::Connection::open(app_state_dir("sqlite3").join("sqlite_db.db")).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM probe", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
    // Default journal: the host sets no pragma, as Spin sets none.
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
}

#[test]
fn sqlite_v2_works_and_both_versions_deny_undeclared_databases() {
    let app = start("sqlite2");
    let r = get(&app.url("/probe/sqlite2-roundtrip")).json();
    assert_eq!((r["insert"].clone(), r["count"].clone()), (json!(true), json!(1)));
    assert_eq!(get(&app.url("/probe/sqlite3-open?label=nope")).json()["result"], "Error::AccessDenied");
    assert_eq!(get(&app.url("/probe/sqlite2-open?label=nope")).json()["result"], "Error::AccessDenied");
    assert_eq!(get(&app.url("/probe/deeper/sqlite3-open?label=default")).json()["result"], "Error::AccessDenied");
    // probe_db has no path: in memory, so every open starts empty, as in Spin.
    get(&app.url("/probe/sqlite3-roundtrip?label=probe_db"));
    assert!(
        get(&app.url("/probe/sqlite-select?label=probe_db&table=probe")).json()["error"]
            .as_str()
            .unwrap()
            .contains("no such table")
    );
}

#[test]
fn variables_resolve_from_templates_environment_and_defaults() {
    let app = start("variables");
    let var = |name: &str| get(&app.url(&format!("/probe/variable?name={name}"))).json()["result"].clone();
    assert_eq!(var("greeting"), json!({"value": "你好, grid"}));
    assert_eq!(var("token"), json!({"value": "s3cret"}));
    assert!(
        var("secret_token")["error"].as_str().unwrap().contains("Undefined"),
        "app variables are not visible directly"
    );
    assert!(var("Bad-Name")["error"].as_str().unwrap().contains("InvalidName"));
    assert!(
        get(&app.url("/probe/deeper/variable?name=greeting")).json()["result"]["error"]
            .as_str()
            .unwrap()
            .contains("Undefined")
    );
}

#[test]
fn a_required_variable_without_a_value_refuses_to_start() {
    let mut o = options("required-variable");
    o.variables.clear();
    let err = RunningApp::start(&o, "127.0.0.1:0").err().expect("must refuse").to_string();
    assert!(err.contains("secret_token") && err.contains("SPIN_VARIABLE_SECRET_TOKEN"), "{err}");
}

#[test]
fn outbound_http_only_to_allowed_hosts() {
    let receiver = receiver();
    let mut o = options("outbound");
    o.variables.insert("receiver".into(), receiver.url.clone());
    let app = RunningApp::start(&o, "127.0.0.1:0").unwrap();
    let ok = get(&app.url(&format!("/probe/outbound?url={}/hi", receiver.url))).json();
    assert_eq!(ok["result"]["status"], 200);
    assert_eq!(ok["result"]["body"], "hello from receiver");
    let denied = get(&app.url("/probe/outbound?url=http://127.0.0.1:1/x")).json();
    assert!(denied["result"]["error"].as_str().unwrap().contains("HttpRequestDenied"), "{denied}");
    let chain_denied = get(&app.url("/probe/outbound?url=http://probe-exact.spin.internal/x")).json();
    assert!(chain_denied["result"]["error"].as_str().unwrap().contains("HttpRequestDenied"));
    // probe-deep declares no outbound hosts at all: not even chaining.
    let none = get(&app.url("/probe/deeper/outbound?url=http://private.spin.internal/x")).json();
    assert!(none["result"]["error"].as_str().unwrap().contains("HttpRequestDenied"), "{none}");
    assert_eq!(receiver.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_subset_must_include_every_chaining_target() {
    let mut o = options("subset");
    o.components = vec!["probe".into()];
    let err = RunningApp::start(&o, "127.0.0.1:0").err().expect("must refuse").to_string();
    assert!(err.contains("private") && err.contains("not selected"), "{err}");

    o.components = vec!["probe".into(), "private".into()];
    let app = RunningApp::start(&o, "127.0.0.1:0").unwrap();
    assert_eq!(app.app.components(), vec!["private".to_owned(), "probe".to_owned()]);
    assert_eq!(get(&app.url("/probe/exact")).json()["component"], "probe", "probe-exact is not running");
    assert_eq!(get(&app.url("/probe/deeper/x")).json()["component"], "probe");

    o.components = vec!["nope".into()];
    assert!(RunningApp::start(&o, "127.0.0.1:0").is_err());
}

#[test]
fn sqlite_statements_run_before_serving() {
    let mut o = options("sqlite-flag");
    let dir = o.state_dir.clone().unwrap();
    let file = dir.join("seed.sql");
    std::fs::write(
        &file,
        "CREATE TABLE seeded (x INTEGER); INSERT INTO seeded VALUES (1); INSERT INTO seeded VALUES (2);",
    )
    .unwrap();
    o.sqlite_statements = vec![format!("@{}", file.display()), "CREATE TABLE plain (y TEXT)".into()];
    let app = RunningApp::start(&o, "127.0.0.1:0").unwrap();
    assert_eq!(get(&app.url("/probe/sqlite-select?label=default&table=seeded")).json()["count"], 2);
    assert_eq!(get(&app.url("/probe/sqlite-select?label=default&table=plain")).json()["count"], 0);
    o.sqlite_statements = vec![format!("@{}:unknown_label", file.display())];
    assert!(RunningApp::start(&o, "127.0.0.1:0").is_err(), "an unknown label is refused");
}

#[test]
fn a_trapping_component_is_a_500_and_the_host_keeps_serving() {
    let app = start("trap");
    let r = get(&app.url("/probe/trap"));
    assert_eq!((r.status, r.body.as_str()), (500, ""));
    assert_eq!(get(&app.url("/probe/headers")).status, 200);
}

#[test]
fn undeclared_database_in_manifest_refuses_to_start() {
    let dir = temp_dir("undeclared-db");
    let manifest = dir.join("spin.toml");
    let wasm = require_wasm("wangge_probe");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = {:?}\nsqlite_databases = [\"not_configured\"]\n",
            wasm.display().to_string()
        ),
    )
    .unwrap();
    let mut o = AppOptions::new(&manifest);
    o.state_dir = Some(dir);
    o.max_instances = 8;
    let err = RunningApp::start(&o, "127.0.0.1:0").err().expect("must refuse").to_string();
    assert!(err.contains("not_configured"), "{err}");
}
