//! The five functions on the host — health, auth, keys, errors, the chained call.

use serde_json::{Value, json};
use wangge_e2e::*;

#[test]
fn every_function_reports_health_and_version_without_a_key() {
    let suite = start("health");
    for (id, label) in COMPONENTS {
        let health = get(&suite.url(&format!("/v1/system/{id}/health")));
        assert_eq!(health.status, 200, "{id}: {}", health.body);
        assert_eq!(health.json()["database"]["label"], *label);
        assert_eq!(health.json()["key_value"]["ok"], true);
        let version = get(&suite.url(&format!("/v1/system/{id}/version"))).json();
        assert_eq!(version["component"], *id);
        // Every migration file is registered and applied. Each schema lives with the
        // domain crate that uses it.
        let dir = match *id {
            "grid-lookup" => workspace_root().join("crates/wangge-registry/migrations"),
            "case-routing" => workspace_root().join("crates/wangge-cases/migrations"),
            "intake" => workspace_root().join("crates/wangge-intake/migrations"),
            "notification" => workspace_root().join("crates/wangge-notify/migrations"),
            "assessment" => workspace_root().join("crates/wangge-assess/migrations"),
            other => panic!("no domain crate known for {other}"),
        };
        // SQLite's migrations beside PostgreSQL's, which are in their own directory.
        let dir = match profile() {
            Profile::Embedded => dir,
            Profile::Cluster => dir.join("postgres"),
        };
        let files = std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().path().is_file()).count();
        assert_eq!(version["schema_version"].as_i64().unwrap(), files as i64, "{id}");
    }
}

#[test]
fn the_chained_call_writes_every_functions_database_and_the_shared_store() {
    let suite = start("chain");
    let reply = call("POST", &suite.url("/v1/system/intake/chain"), OPERATOR_KEY, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    let hops: Vec<&str> = answer["hops"].as_array().unwrap().iter().map(|h| h["component"].as_str().unwrap()).collect();
    assert_eq!(hops, ["intake", "grid-lookup", "case-routing", "notification"]);
    let chain_id = answer["chain_id"].as_str().unwrap();
    for (id, label) in COMPONENTS.iter().filter(|(id, _)| *id != "assessment") {
        let n = suite.sql_i64(label, "SELECT count(*) FROM system_chain WHERE chain_id = ?", &[chain_id.into()]);
        assert_eq!(n, 1, "{id} wrote its own database");
        let kv = suite.kv_get(&format!("chain:{id}:last"));
        assert_eq!(kv.as_deref(), Some(chain_id.as_bytes()), "{id} wrote the shared store");
    }
    // Every SQLite database we own is in WAL mode.
    if profile() == Profile::Embedded {
        for (_, label) in COMPONENTS.iter().filter(|(id, _)| *id != "assessment") {
            let mode: String = suite.database(label).query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
            assert_eq!(mode, "wal", "{label}");
        }
    }

    let reply = call("POST", &suite.url("/v1/system/assessment/chain"), OPERATOR_KEY, None);
    let hops: Vec<String> =
        reply.json()["hops"].as_array().unwrap().iter().map(|h| h["component"].as_str().unwrap().to_owned()).collect();
    assert_eq!(hops, ["assessment", "case-routing", "notification"]);
}

#[test]
fn a_failing_dependency_is_a_503_with_retry_after_and_writes_nothing_upstream() {
    let mut options = options("chain-down", &[]);
    // notification's storage is down.
    break_storage(&mut options, "notification");
    let suite = start_with(options);
    let reply = call("POST", &suite.url("/v1/system/intake/chain"), OPERATOR_KEY, None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["code"], "dependency_unavailable");
    assert_eq!(reply.json()["dependency"], "grid-lookup");
    assert!(reply.header("retry-after").is_some());
    // The table may not exist yet: nothing was ever written.
    let written = wangge_core::Sql::execute(&suite.store("intake"), "SELECT count(*) FROM system_chain", &[]).ok();
    let written = written.and_then(|r| r.scalar().and_then(wangge_core::SqlValue::as_i64)).unwrap_or(0);
    assert_eq!(written, 0, "nothing half-done");
}

#[test]
fn authentication_errors_are_distinct_and_localised() {
    let suite = start("auth");
    let url = suite.url("/v1/system/case-routing/echo");
    let none = request("POST", &url, &[("content-type", "application/json")], Some(b"{}"));
    assert_eq!((none.status, none.json()["code"].as_str()), (401, Some("unauthenticated")));
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert_eq!(none.header("content-type"), Some("application/problem+json"));
    let bad = call("POST", &url, "wrong", Some(&json!({})));
    assert_eq!((bad.status, bad.json()["code"].as_str()), (401, Some("invalid_api_key")));
    let basic = request("POST", &url, &[("authorization", "Basic abc")], Some(b"{}"));
    assert_eq!(basic.json()["code"], "unauthenticated");
    let zh = request(
        "POST",
        &url,
        &[
            ("authorization", "Bearer wrong"),
            ("accept-language", "zh-CN,zh;q=0.9"),
            ("content-type", "application/json"),
        ],
        Some(b"{}"),
    );
    assert_eq!(zh.json()["title"], "API 密钥无效");
    assert_eq!(zh.header("content-language"), Some("zh-CN"));
    assert_eq!(bad.json()["title"], "The API key is not valid");
}

#[test]
fn the_operator_key_creates_keys_that_every_function_verifies_until_revoked() {
    let suite = start("keys");
    let created = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "崇川区小程序", "scopes": ["events:write"], "region_prefix": "320613"})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_owned();
    let id = body["key"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(format!("/v1/keys/{id}").as_str()));

    for (component, _) in COMPONENTS {
        let echo = call("POST", &suite.url(&format!("/v1/system/{component}/echo")), &token, Some(&json!({"n": 1})));
        assert_eq!(echo.status, 200, "{component}: {}", echo.body);
        assert_eq!(echo.json()["key"]["id"], id.as_str());
        assert_eq!(echo.json()["key"]["region_prefix"], "320613");
        assert_eq!(echo.json()["key"]["scopes"], json!(["events:write"]));
        assert_eq!(echo.json()["echo"], json!({"n": 1}));
    }

    // Only the operator manages keys.
    let forbidden = call("GET", &suite.url("/v1/keys"), &token, None);
    assert_eq!((forbidden.status, forbidden.json()["code"].as_str()), (403, Some("scope_missing")));
    assert_eq!(forbidden.json()["required_scope"], "keys:admin");

    // Stored only as SHA-256 hashes: the token appears nowhere in storage.
    let stored = stored_bytes(&suite);
    assert!(stored.len() > 1000, "storage was read: {} bytes", stored.len());
    assert!(!stored.windows(token.len()).any(|w| w == token.as_bytes()), "token stored");

    let revoked = call("DELETE", &suite.url(&format!("/v1/keys/{id}")), OPERATOR_KEY, None);
    assert_eq!(revoked.status, 200);
    assert!(revoked.json()["key"]["revoked_at"].is_string());
    for (component, _) in COMPONENTS {
        let echo = call("POST", &suite.url(&format!("/v1/system/{component}/echo")), &token, Some(&json!({})));
        assert_eq!(echo.json()["code"], "invalid_api_key", "{component} still accepts a revoked key");
    }
    assert_eq!(call("DELETE", &suite.url(&format!("/v1/keys/{id}")), OPERATOR_KEY, None).status, 200, "idempotent");
    let missing = call("DELETE", &suite.url("/v1/keys/01900000-0000-7000-8000-000000000000"), OPERATOR_KEY, None);
    assert_eq!((missing.status, missing.json()["code"].as_str()), (404, Some("not_found")));
}

#[test]
fn key_requests_are_validated_field_by_field() {
    let suite = start("keys-validation");
    let reply = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "", "scopes": ["events:write", "nope", "keys:admin"], "region_prefix": "32x"})),
    );
    assert_eq!(reply.status, 422);
    let errors = reply.json()["errors"].clone();
    let pointers: Vec<&str> = errors.as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/name", "/scopes/1", "/scopes/2", "/region_prefix"]);
    let codes: Vec<&str> = errors.as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["length", "unknown_scope", "reserved_scope", "pattern"]);

    let wrong_type =
        call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&json!({"name": "x", "scopes": "events:write"})));
    assert_eq!(wrong_type.status, 422);
    assert_eq!(wrong_type.json()["errors"][0]["pointer"], "/scopes");
    let missing = call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&json!({"name": "x"})));
    assert_eq!(
        missing.json()["errors"][0],
        json!({"pointer": "/scopes", "code": "required", "message": "missing field `scopes`"})
    );
    let unknown = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "x", "scopes": ["events:write"], "admin": true})),
    );
    assert_eq!(unknown.json()["errors"][0]["code"], "unknown_field");
    let listed = call("GET", &suite.url("/v1/keys"), OPERATOR_KEY, None).json();
    assert_eq!(listed["items"], json!([]), "no invalid request created anything");
}

#[test]
fn keys_list_with_keyset_pagination() {
    let suite = start("keys-pages");
    for i in 0..5 {
        let r = call(
            "POST",
            &suite.url("/v1/keys"),
            OPERATOR_KEY,
            Some(&json!({"name": format!("k{i}"), "scopes": ["grids:read"]})),
        );
        assert_eq!(r.status, 201);
    }
    let mut names = Vec::new();
    let mut url = suite.url("/v1/keys?limit=2");
    let mut pages = 0;
    loop {
        let page = call("GET", &url, OPERATOR_KEY, None).json();
        pages += 1;
        names.extend(page["items"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = suite.url(&format!("/v1/keys?limit=2&cursor={cursor}")),
            None => break,
        }
    }
    assert_eq!(pages, 3, "five keys, two a page: 2 + 2 + 1");
    assert_eq!(names, ["k0", "k1", "k2", "k3", "k4"]);
    for bad in ["limit=0", "limit=501", "limit=ten", "cursor=not-hex"] {
        let r = call("GET", &suite.url(&format!("/v1/keys?{bad}")), OPERATOR_KEY, None);
        assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("invalid_parameter")), "{bad}");
    }
}

#[test]
fn bad_requests_get_their_own_codes_and_change_nothing() {
    let suite = start("bad-requests");
    let auth = bearer(OPERATOR_KEY);
    let echo = suite.url("/v1/system/intake/echo");
    let json_type = ("content-type", "application/json");

    let malformed = request("POST", &echo, &[("authorization", &auth), json_type], Some(b"{\"a\": "));
    assert_eq!((malformed.status, malformed.json()["code"].as_str()), (400, Some("malformed_json")));
    let form = request("POST", &echo, &[("authorization", &auth), ("content-type", "text/plain")], Some(b"{}"));
    assert_eq!((form.status, form.json()["code"].as_str()), (415, Some("unsupported_media_type")));
    let big = vec![b' '; 64 * 1024 + 1];
    let too_large = request("POST", &echo, &[("authorization", &auth), json_type], Some(&big));
    assert_eq!((too_large.status, too_large.json()["code"].as_str()), (413, Some("body_too_large")));
    assert_eq!(too_large.json()["limit_bytes"], 65536, "the echo limit, 64 KiB = 64 × 1024 bytes");
    let fits = request("POST", &echo, &[("authorization", &auth), json_type], Some(&big[1..]));
    assert_eq!(fits.json()["code"], "malformed_json", "64 KiB exactly is read (and is not JSON)");

    let unknown = get(&suite.url("/v1/events/no/such/thing"));
    assert_eq!((unknown.status, unknown.json()["code"].as_str()), (404, Some("route_not_found")));
    let wrong_method = request("GET", &echo, &[("authorization", &auth)], None);
    assert_eq!((wrong_method.status, wrong_method.json()["code"].as_str()), (405, Some("method_not_allowed")));
    let outside = get(&suite.url("/internal/chain"));
    assert_eq!((outside.status, outside.body.as_str()), (404, ""), "internal routes are unreachable from outside");

    // Every response carries a request id; a sane one from the client is kept.
    let tagged = request("GET", &suite.url("/v1/system/intake/health"), &[("x-request-id", "trace-123")], None);
    assert_eq!(tagged.header("x-request-id"), Some("trace-123"));
    assert!(malformed.header("x-request-id").is_some());
}

#[test]
fn logs_are_json_lines_with_request_ids_and_no_secrets() {
    let suite = start("logs");
    let r = request("GET", &suite.url("/v1/system/notification/health"), &[("x-request-id", "log-probe-1")], None);
    assert_eq!(r.status, 200);
    call("POST", &suite.url("/v1/system/intake/echo"), OPERATOR_KEY, Some(&json!({"phone": "13800000001"})));
    let logs = suite.guest_logs();
    let lines: Vec<Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect();
    let line = lines.iter().find(|l| l["request_id"] == "log-probe-1").expect("a line for the request");
    assert_eq!(line["component"], "notification");
    assert_eq!(line["status"], 200);
    assert!(!logs.contains(OPERATOR_KEY) && !logs.contains("13800000001"), "no secrets or personal data in logs");
}

#[test]
fn a_subset_of_components_runs_alone_when_it_includes_what_it_calls() {
    // notification reads the staff directory (grid-lookup), which chains on to case-routing.
    let suite = start_with(options("subset", &["notification", "grid-lookup", "case-routing"]));
    assert_eq!(get(&suite.url("/v1/system/notification/health")).status, 200);
    assert_eq!(get(&suite.url("/v1/system/intake/health")).status, 404, "intake is not deployed");
    let chain = call("POST", &suite.url("/v1/system/notification/chain"), OPERATOR_KEY, None);
    assert_eq!(chain.json()["hops"].as_array().unwrap().len(), 1, "notification is the chain's last hop: itself only");
    let err = wangge_host::RunningApp::start(&options("subset-alone", &["notification"]), "127.0.0.1:0").err().unwrap();
    assert!(err.to_string().contains("grid-lookup"), "{err}");

    // intake calls grid-lookup: like `spin up -c intake`, refused at start.
    let err = wangge_host::RunningApp::start(&options("subset-refused", &["intake"]), "127.0.0.1:0").err().unwrap();
    assert!(err.to_string().contains("grid-lookup"), "{err}");
    let suite =
        start_with(options("subset-assessment", &["assessment", "case-routing", "notification", "grid-lookup"]));
    assert_eq!(call("POST", &suite.url("/v1/system/assessment/chain"), OPERATOR_KEY, None).status, 200);
}

#[test]
fn body_limits_hold_whether_the_length_is_announced_or_streamed() {
    let suite = start("limits");
    let auth = bearer(OPERATOR_KEY);
    // Announced: refused before a byte of the body is read.
    let (status, body) = raw(
        suite.app.addr,
        &format!(
            "POST /v1/system/intake/echo HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\nconnection: close\r\n\r\n"
        ),
        b"",
    );
    assert!(status.contains("413"), "{status}");
    assert!(body.contains("body_too_large"), "{body}");
    // Streamed in chunks with no length: refused once the limit is passed.
    let chunk = vec![b' '; 8 * 1024];
    let mut chunked = Vec::new();
    for _ in 0..9 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw(
        suite.app.addr,
        &format!(
            "POST /v1/system/intake/echo HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        ),
        &chunked,
    );
    assert!(status.contains("413"), "{status}");
    assert!(body.contains("\"limit_bytes\":65536"), "{body}");
    // An import's limit is its own: 8 MiB for regions.
    let (status, body) = raw(
        suite.app.addr,
        &format!(
            "PUT /v1/regions HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: text/csv\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            8 * 1024 * 1024 + 1
        ),
        b"",
    );
    assert!(status.contains("413") && body.contains("\"limit_bytes\":8388608"), "{status} {body}");
}

#[test]
fn a_database_that_is_down_is_a_503_storage_unavailable_with_retry_after() {
    let mut options = options("storage-down", &["notification", "grid-lookup", "case-routing"]);
    break_storage(&mut options, "notification");
    let suite = start_with(options);
    let r = get(&suite.url("/v1/system/notification/health"));
    assert_eq!((r.status, r.json()["code"].as_str()), (503, Some("storage_unavailable")));
    assert_eq!(r.header("retry-after"), Some("1"));
    // The cause is not shown to the client, and is logged once: on the request's own line.
    assert!(r.json().get("cause").is_none(), "{}", r.body);
    let id = r.header("x-request-id").unwrap().to_owned();
    let logs = suite.guest_logs();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(&id)).collect();
    assert_eq!(lines.len(), 1, "one line for the request: {lines:?}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["event"], "request");
    assert!(line["cause"].as_str().is_some_and(|c| !c.is_empty()), "{line}");
}

/// A `database_url` that is no PostgreSQL address, or names a server no one runs, is a
/// 503 `storage_unavailable` with `Retry-After`, never a panic; the log line of the
/// request says why, naming the variable.
#[test]
fn a_bad_database_url_is_a_503_naming_the_variable() {
    let unreachable = format!("postgres://postgres@127.0.0.1:{}/nowhere", free_port());
    for (case, url, says) in [
        ("malformed", "mysql://root@127.0.0.1/intake".to_owned(), "variable `database_url`"),
        ("unreachable", unreachable, "variable `database_url`: PostgreSQL at 127.0.0.1:"),
    ] {
        let mut options = options(&format!("bad-database-url-{case}"), &[]);
        options.variables.insert("intake_database_url".into(), url.clone());
        if case == "unreachable" {
            // Allowed, so that what fails is the connection, not the manifest's permission.
            let port = url.rsplit(':').next().and_then(|p| p.split('/').next()).unwrap_or_default().to_owned();
            options.variables.insert("database_host".into(), format!("127.0.0.1:{port}"));
        }
        let suite = start_with(options);
        let r = get(&suite.url("/v1/system/intake/health"));
        assert_eq!((r.status, r.json()["code"].as_str()), (503, Some("storage_unavailable")), "{case}: {}", r.body);
        assert_eq!(r.header("retry-after"), Some("1"), "{case}");
        let id = r.header("x-request-id").unwrap().to_owned();
        let logs = suite.guest_logs();
        let line = logs.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("{case}: no log line"));
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(line["cause"].as_str().is_some_and(|c| c.contains(says)), "{case}: {line}");
        if case == "malformed" {
            // The other functions are untouched.
            assert_eq!(get(&suite.url("/v1/system/grid-lookup/health")).status, 200, "{case}");
        }
    }
}
