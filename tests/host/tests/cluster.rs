//! The cluster profile's storage on the host: PostgreSQL (`spin_sdk::pg4`), Redis
//! key-value and `wasi:keyvalue` atomics, against
//! private servers started for each test (`PostgresServer`, `RedisServer`), through
//! the probe component, the way Spin behaves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use wangge_host::testing::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options(test: &str, pg: Option<&PostgresServer>) -> AppOptions {
    require_wasm("wangge_probe");
    let mut options = AppOptions::new(fixture("probe.toml"));
    options.state_dir = Some(temp_dir(test));
    options.runtime_config = Some(fixture("probe-runtime.toml"));
    options.variables = BTreeMap::from([("secret_token".to_owned(), "s3cret".to_owned())]);
    if let Some(pg) = pg {
        options.variables.insert("pg_port".into(), pg.port.to_string());
    }
    options.max_instances = 64;
    options.guest_logs = GuestLogs::Files;
    options
}

/// A private server with database `probe`, and the probe app allowed to reach it.
fn start(test: &str) -> (PostgresServer, RunningApp, String) {
    let pg = PostgresServer::start(test);
    pg.create_database("probe");
    let app = RunningApp::start(&options(test, Some(&pg)), "127.0.0.1:0").expect("start the probe app");
    let db = pg.url("probe");
    (pg, app, db)
}

/// Runs `steps` on one `pg4` connection to `db` in one request of `path`'s component.
fn script_at(app: &RunningApp, path: &str, db: &str, steps: Value) -> Value {
    let body = json!({ "db": db, "steps": steps }).to_string();
    let reply = request("POST", &app.url(path), &[("content-type", "application/json")], Some(body.as_bytes()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn script(app: &RunningApp, db: &str, steps: Value) -> Vec<Value> {
    let answer = script_at(app, "/probe/pg/script", db, steps);
    assert_eq!(answer["open"], "ok", "{answer}");
    answer["results"].as_array().unwrap().clone()
}

fn backend_pid(app: &RunningApp, db: &str) -> i64 {
    let r = script(app, db, json!([{ "sql": "SELECT pg_backend_pid()", "query": true }]));
    r[0]["rows"][0][0]["int32"].as_i64().unwrap_or_else(|| panic!("{r:?}"))
}

#[test]
fn values_of_each_type_round_trip() {
    let (_pg, app, db) = start("pg-types");
    let create = "CREATE TABLE t (b bool, i2 int2, i4 int4, i8 int8, f4 real, f8 float8, s text, v varchar(10), \
                  bin bytea, d date, tm time, ts timestamp, tz timestamptz, j jsonb, n numeric, u uuid, iv interval, \
                  ai int4[], al int8[], at text[], nul text)";
    let insert = "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                  $18, $19, $20, $21)";
    let params = json!([
        { "boolean": true },
        { "int16": -7 },
        { "int32": 70_000 },
        { "int64": 9_000_000_000_i64 },
        { "floating32": 1.5 },
        { "floating64": -2.25 },
        { "str": "网格 grid" },
        { "str": "short" },
        { "binary": [0, 1, 255] },
        { "date": [2026, 11, 29] },
        { "time": [13, 5, 9, 250_000_000] },
        { "datetime": [2026, 2, 28, 23, 59, 58, 123_000] },
        { "timestamp": 1_700_000_000 },
        { "jsonb": { "grid": "G1", "n": [1, 2] } },
        { "decimal": "12345.678" },
        { "uuid": "0193b7a4-1c2d-7e3f-8a9b-0c1d2e3f4a5b" },
        { "interval": [3_000_000, 2, 1] },
        { "array_int32": [1, null, 3] },
        { "array_int64": [9_000_000_000_i64] },
        { "array_str": ["a", null] },
        "null",
    ]);
    let r = script(
        &app,
        &db,
        json!([
            { "sql": create },
            { "sql": insert, "params": params },
            { "sql": "SELECT b, i2, i4, i8, f4, f8, s, v, bin, d, tm, ts, j, n, u, iv, ai, al, at, nul FROM t", "query": true },
            { "sql": "SELECT extract(epoch FROM tz)::int8 AS epoch FROM t", "query": true },
        ]),
    );
    assert_eq!(r[0], json!({ "changed": 0 }));
    assert_eq!(r[1], json!({ "changed": 1 }));
    assert_eq!(
        r[2]["rows"][0],
        json!([
            { "boolean": true },
            { "int16": -7 },
            { "int32": 70_000 },
            { "int64": 9_000_000_000_i64 },
            { "floating32": 1.5 },
            { "floating64": -2.25 },
            { "str": "网格 grid" },
            { "str": "short" },
            { "binary": [0, 1, 255] },
            { "date": [2026, 11, 29] },
            { "time": [13, 5, 9, 250_000_000] },
            { "datetime": [2026, 2, 28, 23, 59, 58, 123_000] },
            { "jsonb": { "grid": "G1", "n": [1, 2] } },
            { "decimal": "12345.678" },
            { "uuid": "0193b7a4-1c2d-7e3f-8a9b-0c1d2e3f4a5b" },
            { "interval": [3_000_000, 2, 1] },
            { "array_int32": [1, null, 3] },
            { "array_int64": [9_000_000_000_i64] },
            { "array_str": ["a", null] },
            "null",
        ]),
        "{:?}",
        r[2]
    );
    let types: Vec<&str> = r[2]["columns"].as_array().unwrap().iter().map(|c| c[1].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "DbDataType::Boolean",
            "DbDataType::Int16",
            "DbDataType::Int32",
            "DbDataType::Int64",
            "DbDataType::Floating32",
            "DbDataType::Floating64",
            "DbDataType::Str",
            "DbDataType::Str",
            "DbDataType::Binary",
            "DbDataType::Date",
            "DbDataType::Time",
            "DbDataType::Datetime",
            "DbDataType::Jsonb",
            "DbDataType::Decimal",
            "DbDataType::Uuid",
            "DbDataType::Interval",
            "DbDataType::ArrayInt32",
            "DbDataType::ArrayInt64",
            "DbDataType::ArrayStr",
            "DbDataType::Str",
        ]
    );
    // `timestamp` (epoch seconds) binds to `timestamptz`.
    assert_eq!(r[3]["rows"][0][0], json!({ "int64": 1_700_000_000 }));
}

#[test]
fn conversions_spin_refuses_are_refused_here_too() {
    let (_pg, app, db) = start("pg-conversions");
    let r = script(
        &app,
        &db,
        json!([
            { "sql": "CREATE TABLE t (i4 int4, j jsonb)" },
            // Parameters that cannot be converted: `execute` says value-conversion-failed,
            // `query` says bad-parameter, as in Spin.
            { "sql": "INSERT INTO t (j) VALUES ($1)", "params": [{ "jsonb_raw": "{not json" }] },
            { "sql": "SELECT $1::jsonb", "params": [{ "jsonb_raw": "{not json" }], "query": true },
            { "sql": "INSERT INTO t (i4) VALUES ($1)", "params": [{ "date": [2026, 2, 30] }] },
            // The parameter's type must match the column's: no implicit int8 → int4.
            { "sql": "INSERT INTO t (i4) VALUES ($1)", "params": [{ "int64": 1 }] },
            // Spin reads timestamps as naive: a `timestamptz` column does not convert.
            { "sql": "SELECT now() AS at", "query": true },
            // Unknown types come back as their binary form.
            { "sql": "SELECT '127.0.0.1'::inet AS addr", "query": true },
            // No rows: no columns either (Spin reads them off the first row).
            { "sql": "SELECT i4 FROM t", "query": true },
        ]),
    );
    assert_eq!(r[0], json!({ "changed": 0 }));
    assert!(r[1]["error"]["value_conversion_failed"].as_str().unwrap().contains("invalid JSON"), "{}", r[1]);
    assert!(r[2]["error"]["bad_parameter"].as_str().unwrap().contains("invalid JSON"), "{}", r[2]);
    assert!(r[3]["error"]["value_conversion_failed"].as_str().unwrap().contains("invalid date"), "{}", r[3]);
    let wrong = r[4]["error"]["query_failed"]["text"].as_str().unwrap();
    assert!(wrong.contains("i64") && wrong.contains("int4"), "{wrong}");
    let tz = r[5]["error"]["query_failed"]["text"].as_str().unwrap();
    assert!(tz.contains("timestamptz"), "{tz}");
    assert_eq!(r[6]["columns"][0], json!(["addr", "DbDataType::Other(\"inet\")"]));
    assert!(r[6]["rows"][0][0]["unsupported"].is_array(), "{}", r[6]);
    assert_eq!(r[7], json!({ "columns": [], "rows": [] }));
}

#[test]
fn errors_carry_their_sqlstate_and_message() {
    let (_pg, app, db) = start("pg-errors");
    let r = script(
        &app,
        &db,
        json!([
            { "sql": "CREATE TABLE t (id int4 PRIMARY KEY)" },
            { "sql": "INSERT INTO t VALUES (1)" },
            { "sql": "INSERT INTO t VALUES (1)" },
            { "sql": "SELEKT 1" },
            { "sql": "SELECT * FROM missing", "query": true },
        ]),
    );
    let dup = &r[2]["error"]["query_failed"]["db_error"];
    assert_eq!(dup["code"], "23505", "{}", r[2]);
    assert_eq!(dup["severity"], "ERROR");
    assert_eq!(dup["message"], "duplicate key value violates unique constraint \"t_pkey\"");
    assert_eq!(dup["detail"], "Key (id)=(1) already exists.");
    assert!(dup["extras"].as_array().unwrap().contains(&json!(["constraint", "t_pkey"])), "{dup}");
    let as_text = dup["as_text"].as_str().unwrap();
    assert!(as_text.len() < 200 && as_text.contains("23505"), "short, not a debug dump: {as_text}");
    assert_eq!(r[3]["error"]["query_failed"]["db_error"]["code"], "42601");
    assert_eq!(r[4]["error"]["query_failed"]["db_error"]["code"], "42P01");
    assert_eq!(r[4]["error"]["query_failed"]["db_error"]["message"], "relation \"missing\" does not exist");

    // Unreachable: connection-failed, briefly said.
    let port = free_port();
    let closed = format!("postgres://postgres@127.0.0.1:{port}/probe");
    let mut o = options("pg-errors-closed", None);
    o.variables.insert("pg_port".into(), port.to_string());
    let other = RunningApp::start(&o, "127.0.0.1:0").unwrap();
    let answer = script_at(&other, "/probe/pg/script", &closed, json!([]));
    let failed = answer["open"]["connection_failed"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert!(failed.contains("onnect") && failed.len() < 300, "{failed}");
}

#[test]
fn only_allowed_hosts_literally_and_5432_when_no_port() {
    let (pg, app, db) = start("pg-allowed");
    assert_eq!(script(&app, &db, json!([{ "sql": "SELECT 1", "query": true }]))[0]["rows"][0][0]["int32"], 1);
    let denied = |answer: Value| {
        let message = answer["open"]["connection_failed"].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned();
        assert!(message.contains("is not permitted"), "{message}");
        message
    };
    // `localhost` is not `127.0.0.1`: hosts compare literally.
    let localhost = format!("postgres://postgres@localhost:{}/probe", pg.port);
    assert!(denied(script_at(&app, "/probe/pg/script", &localhost, json!([]))).contains("localhost"));
    // Another port, and no port (5432), are not the allowed one.
    denied(script_at(
        &app,
        "/probe/pg/script",
        &format!("postgres://postgres@127.0.0.1:{}/probe", pg.port + 1),
        json!([]),
    ));
    denied(script_at(&app, "/probe/pg/script", "postgres://postgres@127.0.0.1/probe", json!([])));
    // The key=value form is checked the same way.
    denied(script_at(&app, "/probe/pg/script", &format!("host=10.0.0.1 port={} user=postgres", pg.port), json!([])));
    // probe-deep declares no outbound hosts at all.
    denied(script_at(&app, "/probe/deeper/pg/script", &db, json!([])));
    // Nothing was connected for the refused addresses.
    assert_eq!(app.app.postgres_connections(&localhost), 0);

    // With `pg_port` at its default, `postgres://127.0.0.1:{{ pg_port }}` is 5432, which
    // an address without a port means.
    let mut o = options("pg-allowed-default", None);
    o.variables.remove("pg_port");
    let default_port = RunningApp::start(&o, "127.0.0.1:0").unwrap();
    let answer = script_at(&default_port, "/probe/pg/script", "postgres://postgres@127.0.0.1/probe", json!([]));
    let text = answer["open"].to_string();
    assert!(!text.contains("not permitted"), "allowed, whether or not a server listens on 5432: {text}");
}

#[test]
fn connections_are_pooled_per_address_up_to_the_pool_size() {
    let (pg, app, db) = start("pg-pool");
    let pid = backend_pid(&app, &db);
    for _ in 0..5 {
        assert_eq!(backend_pid(&app, &db), pid, "each request reuses the pooled connection");
    }
    assert_eq!(app.app.postgres_connections(&db), 1);
    // A different address string is a different pool, even for the same database.
    let other = format!("{db}?application_name=second");
    let second = script(&app, &other, json!([{ "sql": "SELECT pg_backend_pid()", "query": true }]));
    assert_ne!(second[0]["rows"][0][0]["int32"], pid);
    assert_eq!(app.app.postgres_connections(&other), 1);
    drop(app);

    // With a pool of 2, eight concurrent requests share two connections.
    let mut o = options("pg-pool-2", Some(&pg));
    o.pg_pool_size = 2;
    let app = RunningApp::start(&o, "127.0.0.1:0").unwrap();
    let url = app.url("/probe/pg/script");
    let body = json!({ "db": db, "steps": [{ "sql": "SELECT pg_backend_pid() FROM pg_sleep(0.2)", "query": true }] });
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (url, body) = (url.clone(), body.to_string());
            std::thread::spawn(move || request("POST", &url, &[], Some(body.as_bytes())).json())
        })
        .collect();
    let mut pids: Vec<i64> = handles
        .into_iter()
        .map(|h| {
            let answer = h.join().unwrap();
            answer["results"][0]["rows"][0][0]["int32"].as_i64().unwrap_or_else(|| panic!("{answer}"))
        })
        .collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert_eq!(app.app.postgres_connections(&db), 2, "idle connections stay open");
    let query = format!("SELECT count(*) FROM pg_stat_activity WHERE pid IN ({}, {})", pids[0], pids[1]);
    assert_eq!(pg.sql("postgres", &query), "2");
}

/// Spin's behaviour, reproduced on purpose: a transaction a request leaves open stays
/// open on its pooled connection, and the next request on that connection is inside
/// it. Apps must end every transaction, on every path.
#[test]
fn a_transaction_left_open_carries_over_to_the_next_request() {
    let (pg, app, db) = start("pg-leftover");
    script(&app, &db, json!([{ "sql": "CREATE TABLE t (x int4)" }]));
    let count = || pg.sql("probe", "SELECT count(*) FROM t");
    let pid = backend_pid(&app, &db);

    // Request 1: BEGIN and INSERT, no COMMIT or ROLLBACK.
    let r = script(&app, &db, json!([{ "sql": "BEGIN" }, { "sql": "INSERT INTO t VALUES (1)" }]));
    assert_eq!(r[1], json!({ "changed": 1 }));
    assert_eq!(count(), "0", "not committed");
    // Request 2 gets the same connection, still inside request 1's transaction.
    let r = script(
        &app,
        &db,
        json!([
            { "sql": "SELECT count(*)::int4, pg_backend_pid() FROM t", "query": true },
            // `now()` is when the transaction began: before this statement.
            { "sql": "SELECT now() < statement_timestamp()", "query": true },
        ]),
    );
    assert_eq!(r[0]["rows"][0], json!([{ "int32": 1 }, { "int32": pid }]));
    assert_eq!(r[1]["rows"][0][0], json!({ "boolean": true }));
    let in_tx = pg.sql("postgres", &format!("SELECT state FROM pg_stat_activity WHERE pid = {pid}"));
    assert_eq!(in_tx, "idle in transaction", "the pooled connection waits inside the transaction");
    // Request 3's COMMIT commits request 1's row.
    script(&app, &db, json!([{ "sql": "INSERT INTO t VALUES (3)" }, { "sql": "COMMIT" }]));
    assert_eq!(count(), "2", "request 1's row was committed by request 3");

    // A statement that fails inside a transaction aborts it: the connection fails
    // its recycle and is dropped, so the transaction is rolled back.
    let r = script(&app, &db, json!([{ "sql": "BEGIN" }, { "sql": "INSERT INTO t VALUES (4)" }, { "sql": "SELEKT" }]));
    assert_eq!(r[2]["error"]["query_failed"]["db_error"]["code"], "42601");
    let new_pid = backend_pid(&app, &db);
    assert_ne!(new_pid, pid, "the aborted connection was dropped");
    assert_eq!(count(), "2", "its transaction rolled back");
    // A statement that fails outside a transaction leaves the connection in the pool.
    script(&app, &db, json!([{ "sql": "SELEKT" }]));
    assert_eq!(backend_pid(&app, &db), new_pid);
    assert_eq!(app.app.postgres_connections(&db), 1);
}

/// A restarted server: the pooled connections are closed, recycling notices, and the
/// next request gets a new connection without restarting the app.
#[test]
fn the_pool_reconnects_after_the_server_restarts() {
    let (mut pg, app, db) = start("pg-restart");
    let pid = backend_pid(&app, &db);
    pg.restart();
    let after = backend_pid(&app, &db);
    assert_ne!(after, pid);
    assert_eq!(app.app.postgres_connections(&db), 1);
}

fn redis_options(test: &str, url: &str) -> AppOptions {
    let mut o = options(test, None);
    let dir = o.state_dir.clone().unwrap();
    let config = dir.join("runtime-config.toml");
    std::fs::write(
        &config,
        format!("[key_value_store.default]\ntype = \"redis\"\nurl = {url:?}\n\n[sqlite_database.probe_db]\ntype = \"spin\"\n"),
    )
    .unwrap();
    o.runtime_config = Some(config);
    o
}

#[test]
fn redis_key_value_works_across_requests_and_replicas() {
    let redis = RedisServer::start("kv");
    let app = RunningApp::start(&redis_options("redis-kv", &redis.url()), "127.0.0.1:0").unwrap();
    let kv = |app: &RunningApp, query: &str| get(&app.url(&format!("/probe/kv?{query}"))).json();
    assert_eq!(kv(&app, "op=get&key=a"), json!({ "result": null }));
    assert_eq!(kv(&app, "op=set&key=a&value=1"), json!({ "result": true }));
    assert_eq!(kv(&app, "op=set&key=b&value=%E7%BD%91%E6%A0%BC"), json!({ "result": true }));
    assert_eq!(kv(&app, "op=get&key=a"), json!({ "result": "1" }));
    assert_eq!(kv(&app, "op=exists&key=a"), json!({ "result": true }));
    assert_eq!(kv(&app, "op=keys"), json!({ "result": ["a", "b"] }));
    // A second app on the same Redis (as a replica would be) sees the same store.
    let replica = RunningApp::start(&redis_options("redis-kv-replica", &redis.url()), "127.0.0.1:0").unwrap();
    assert_eq!(kv(&replica, "op=get&key=b"), json!({ "result": "网格" }));
    assert_eq!(kv(&replica, "op=delete&key=a"), json!({ "result": true }));
    assert_eq!(kv(&app, "op=exists&key=a"), json!({ "result": false }));
    assert_eq!(kv(&app, "op=get&key=a"), json!({ "result": null }));
    assert_eq!(kv(&app, "op=keys"), json!({ "result": ["b"] }));
    // The component's own round trip, and undeclared stores are still refused.
    let r = get(&app.url("/probe/kv-roundtrip")).json();
    assert_eq!((r["get"].clone(), r["exists_after_delete"].clone()), (json!("probe-value"), json!(false)));
    assert_eq!(get(&app.url("/probe/kv-open?label=other")).json()["result"], "Error::AccessDenied");
}

#[test]
fn a_redis_store_needs_a_url() {
    let mut o = options("redis-no-url", None);
    let config = o.state_dir.clone().unwrap().join("runtime-config.toml");
    std::fs::write(&config, "[key_value_store.default]\ntype = \"redis\"\n").unwrap();
    o.runtime_config = Some(config);
    let err = format!("{:#}", RunningApp::start(&o, "127.0.0.1:0").err().expect("must refuse"));
    assert!(err.contains("needs a `url`"), "{err}");
}

/// `wasi:keyvalue/atomics` on both backends: `increment` adds atomically, and a
/// compare-and-swap fails if the value changed since `cas.new`, handing back a
/// handle on the new value.
#[test]
fn key_value_atomics_on_sqlite_and_redis() {
    let check = |app: &RunningApp| {
        let r = get(&app.url("/probe/kv-atomic?key=counter")).json();
        assert_eq!(r["one"], json!({ "Ok": 1 }), "{r}");
        assert_eq!(r["eleven"], json!({ "Ok": 11 }));
        assert_eq!(r["cas"], json!({ "Ok": { "failed_seeing": "changed", "retry_swapped": true } }));
        assert_eq!(r["final"], "mine");
        assert_eq!(get(&app.url("/probe/kv-atomic?key=counter")).json()["one"], json!({ "Ok": 12 }));
        let denied = get(&app.url("/probe/kv-atomic?key=x&label=other")).json();
        assert!(denied["error"].as_str().unwrap().contains("AccessDenied"), "{denied}");
    };
    let sqlite = RunningApp::start(&options("atomics-sqlite", None), "127.0.0.1:0").unwrap();
    check(&sqlite);
    let redis = RedisServer::start("atomics");
    let on_redis = RunningApp::start(&redis_options("atomics-redis", &redis.url()), "127.0.0.1:0").unwrap();
    check(&on_redis);
}
