//! A test component for `tests/host`: one endpoint per host interface, each
//! answering JSON that says exactly what the guest saw — values or error variants.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use spin_sdk::http::{IncomingRequest, Method, Request, Response};
use spin_sdk::http_component;

/// Counts requests seen by this instance: always 1 if instances are fresh.
static REQUESTS_SEEN: AtomicU32 = AtomicU32::new(0);

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let seen = REQUESTS_SEEN.fetch_add(1, Ordering::SeqCst) + 1;
    if req.path_with_query().unwrap_or_default().contains("/outbound-post?") {
        return outbound_post(req).await;
    }
    let path_with_query = req.path_with_query().unwrap_or_default();
    let (path, query) = path_with_query.split_once('?').unwrap_or((&path_with_query, ""));
    let param = |name: &str| {
        query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| percent_decode(v)))
    };
    let action = path.rsplit('/').next().unwrap_or_default();
    let body = match action {
        "headers" => {
            let headers: serde_json::Map<String, Value> = req
                .headers()
                .entries()
                .into_iter()
                .filter(|(k, _)| k.starts_with("spin-"))
                .map(|(k, v)| (k, Value::String(String::from_utf8_lossy(&v).into_owned())))
                .collect();
            json!({
                "component": std::env::var("COMPONENT").unwrap_or_default(),
                "path": path,
                "authority": req.authority(),
                "headers": headers,
                "seen": seen,
            })
        }
        "kv-open" => json!({ "result": kv_open(&param("label").unwrap_or_default()) }),
        "kv-roundtrip" => kv_roundtrip(),
        "sqlite3-open" => json!({ "result": sqlite3_open(&param("label").unwrap_or_default()) }),
        "sqlite2-open" => json!({ "result": sqlite2_open(&param("label").unwrap_or_default()) }),
        "sqlite3-roundtrip" => sqlite3_roundtrip(&param("label").unwrap_or_else(|| "default".into())),
        "sqlite2-roundtrip" => sqlite2_roundtrip(),
        "sqlite-select" => sqlite_select(&param("label").unwrap_or_default(), &param("table").unwrap_or_default()),
        "variable" => json!({ "result": variable(&param("name").unwrap_or_default()) }),
        "outbound" => json!({ "result": outbound(&param("url").unwrap_or_default()).await }),
        "trap" => panic!("the probe was asked to trap"),
        _ => json!({ "component": std::env::var("COMPONENT").unwrap_or_default(), "seen": seen }),
    };
    Response::builder().status(200).header("content-type", "application/json").body(body.to_string()).build()
}

fn kv_open(label: &str) -> String {
    match spin_sdk::key_value::Store::open(label) {
        Ok(_) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

fn kv_roundtrip() -> Value {
    let store = match spin_sdk::key_value::Store::open_default() {
        Ok(s) => s,
        Err(e) => return json!({ "error": format!("{e:?}") }),
    };
    let set = store.set("probe-key", b"probe-value");
    let got = store.get("probe-key").map(|v| v.map(|b| String::from_utf8_lossy(&b).into_owned()));
    let exists = store.exists("probe-key");
    let keys = store.get_keys();
    let deleted = store.delete("probe-key");
    let after = store.exists("probe-key");
    let kept = store.set("kept-key", b"kept");
    json!({
        "set": set.is_ok(),
        "get": got.ok().flatten(),
        "exists": exists.ok(),
        "keys": keys.ok(),
        "deleted": deleted.is_ok(),
        "exists_after_delete": after.ok(),
        "kept": kept.is_ok(),
    })
}

fn sqlite3_open(label: &str) -> String {
    match spin_sdk::sqlite3::Connection::open(label) {
        Ok(_) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

fn sqlite2_open(label: &str) -> String {
    match spin_sdk::sqlite::Connection::open(label) {
        Ok(_) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

fn sqlite3_roundtrip(label: &str) -> Value {
    use spin_sdk::sqlite3::{Connection, Value as V};
    let conn = match Connection::open(label) {
        Ok(c) => c,
        Err(e) => return json!({ "error": format!("{e:?}") }),
    };
    let create = conn
        .execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)", &[]);
    let insert = conn.execute(
        "INSERT INTO probe (name, score, data) VALUES (?, ?, ?)",
        &[V::Text("网格".into()), V::Real(1.5), V::Blob(vec![0, 1, 2])],
    );
    let rowid = conn.last_insert_rowid();
    let changes = conn.changes();
    let select =
        conn.execute("SELECT id, name, score, data, NULL AS absent FROM probe WHERE id = ?", &[V::Integer(rowid)]);
    let row = select.as_ref().ok().and_then(|r| r.rows.first()).map(|r| {
        r.values
            .iter()
            .map(|v| match v {
                V::Integer(i) => json!({ "integer": i }),
                V::Real(f) => json!({ "real": f }),
                V::Text(s) => json!({ "text": s }),
                V::Blob(b) => json!({ "blob": b }),
                V::Null => json!("null"),
            })
            .collect::<Vec<_>>()
    });
    let bad = conn.execute("SELEKT nonsense", &[]);
    let two = conn.execute("SELECT 1; SELECT 2", &[]);
    json!({
        "create": create.is_ok(),
        "insert": insert.is_ok(),
        "rowid": rowid,
        "changes": changes,
        "columns": select.as_ref().ok().map(|r| r.columns.clone()),
        "row": row,
        "select_error": select.as_ref().err().map(|e| format!("{e:?}")),
        "bad_sql": bad.err().map(|e| format!("{e:?}")),
        "two_statements": two.err().map(|e| format!("{e:?}")),
    })
}

fn sqlite2_roundtrip() -> Value {
    use spin_sdk::sqlite::{Connection, Value as V};
    let conn = match Connection::open("default") {
        Ok(c) => c,
        Err(e) => return json!({ "error": format!("{e:?}") }),
    };
    let _ = conn.execute("CREATE TABLE IF NOT EXISTS probe_v2 (x INTEGER)", &[]);
    let insert = conn.execute("INSERT INTO probe_v2 (x) VALUES (?)", &[V::Integer(42)]);
    let count = conn
        .execute("SELECT count(*) FROM probe_v2 WHERE x = 42", &[])
        .ok()
        .and_then(|r| r.rows.first().and_then(|row| row.get::<i64>(0)));
    json!({ "insert": insert.is_ok(), "count": count })
}

fn sqlite_select(label: &str, table: &str) -> Value {
    use spin_sdk::sqlite3::Connection;
    let conn = match Connection::open(label) {
        Ok(c) => c,
        Err(e) => return json!({ "error": format!("{e:?}") }),
    };
    match conn.execute(&format!("SELECT count(*) FROM {table}"), &[]) {
        Ok(r) => json!({ "count": r.rows.first().and_then(|row| row.get::<i64>(0)) }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

fn variable(name: &str) -> Value {
    match spin_sdk::variables::get(name) {
        Ok(v) => json!({ "value": v }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

async fn outbound(url: &str) -> Value {
    let request = Request::builder().method(Method::Get).uri(url).header("x-probe", "1").build();
    match spin_sdk::http::send::<_, Response>(request).await {
        Ok(response) => json!({
            "status": response.status(),
            "body": String::from_utf8_lossy(response.body()),
        }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

/// Forwards the request's JSON body as a POST to `?url=`, and answers with the status
/// and body it got: how tests reach internal routes through service chaining.
async fn outbound_post(req: IncomingRequest) -> Response {
    let query = req.path_with_query().unwrap_or_default();
    let url = query.split_once("url=").map(|(_, u)| u.to_owned()).unwrap_or_default();
    let body = req.into_body().await.unwrap_or_default();
    let request =
        Request::builder().method(Method::Post).uri(url).header("content-type", "application/json").body(body).build();
    let (status, body) = match spin_sdk::http::send::<_, Response>(request).await {
        Ok(response) => (*response.status(), response.body().to_vec()),
        Err(e) => (599, format!("{e:?}").into_bytes()),
    };
    Response::builder().status(status).header("content-type", "application/json").body(body).build()
}

/// `%26` as `&`: enough decoding for URLs passed as a query parameter.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%').then(|| bytes.get(i + 1..i + 3)).flatten();
        match hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
