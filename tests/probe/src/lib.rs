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
    if req.path_with_query().unwrap_or_default().ends_with("/pg/script") {
        return pg_script(req).await;
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
        "kv" => kv_op(
            &param("label").unwrap_or_else(|| "default".into()),
            &param("op").unwrap_or_default(),
            &param("key").unwrap_or_default(),
            &param("value").unwrap_or_default(),
        ),
        "kv-atomic" => {
            kv_atomic(&param("label").unwrap_or_else(|| "default".into()), &param("key").unwrap_or_default())
        }
        "sqlite3-open" => json!({ "result": sqlite3_open(&param("label").unwrap_or_default()) }),
        "sqlite2-open" => json!({ "result": sqlite2_open(&param("label").unwrap_or_default()) }),
        "sqlite3-roundtrip" => sqlite3_roundtrip(&param("label").unwrap_or_else(|| "default".into())),
        "sqlite2-roundtrip" => sqlite2_roundtrip(),
        "sqlite-select" => sqlite_select(&param("label").unwrap_or_default(), &param("table").unwrap_or_default()),
        "variable" => json!({ "result": variable(&param("name").unwrap_or_default()) }),
        "outbound" => json!({ "result": outbound(&param("url").unwrap_or_default()).await }),
        "now" => now(),
        "trap" => panic!("the probe was asked to trap"),
        _ => json!({ "component": std::env::var("COMPONENT").unwrap_or_default(), "seen": seen }),
    };
    Response::builder().status(200).header("content-type", "application/json").body(body.to_string()).build()
}

/// The WASI wall clock, as the guest reads it: seconds since the Unix epoch.
fn now() -> Value {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    json!({ "unix_seconds": since_epoch.as_secs_f64() })
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

/// One key-value operation on `label`, so that tests can spread a sequence over requests.
fn kv_op(label: &str, op: &str, key: &str, value: &str) -> Value {
    let store = match spin_sdk::key_value::Store::open(label) {
        Ok(s) => s,
        Err(e) => return json!({ "error": format!("{e:?}") }),
    };
    let result = match op {
        "set" => store.set(key, value.as_bytes()).map(|()| json!(true)),
        "get" => store.get(key).map(|v| json!(v.map(|b| String::from_utf8_lossy(&b).into_owned()))),
        "delete" => store.delete(key).map(|()| json!(true)),
        "exists" => store.exists(key).map(|b| json!(b)),
        "keys" => store.get_keys().map(|mut keys| {
            keys.sort();
            json!(keys)
        }),
        _ => return json!({ "error": format!("unknown op `{op}`") }),
    };
    match result {
        Ok(v) => json!({ "result": v }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

/// `wasi:keyvalue/atomics`: `increment` by 1 and 10, then a compare-and-swap that
/// loses (the value changed after `cas.new`) and one that wins on the retry handle.
fn kv_atomic(label: &str, key: &str) -> Value {
    use spin_sdk::wit::wasi::keyvalue::{atomics, store};
    let bucket = match store::open(label) {
        Ok(b) => b,
        Err(e) => return json!({ "error": format!("{e:?}") }),
    };
    let one = atomics::increment(&bucket, key, 1);
    let eleven = atomics::increment(&bucket, key, 10);
    let swap_key = format!("{key}-cas");
    let _ = bucket.set(&swap_key, b"first");
    let lost = atomics::Cas::new(&bucket, &swap_key).map(|cas| {
        let _ = bucket.set(&swap_key, b"changed");
        match atomics::swap(cas, b"mine") {
            Ok(()) => json!("swapped"),
            Err(atomics::CasError::CasFailed(retry)) => {
                let seen = retry.current().ok().flatten().map(|v| String::from_utf8_lossy(&v).into_owned());
                let again = atomics::swap(retry, b"mine").is_ok();
                json!({ "failed_seeing": seen, "retry_swapped": again })
            }
            Err(e) => json!(format!("{e:?}")),
        }
    });
    let final_value = bucket.get(&swap_key).ok().flatten().map(|v| String::from_utf8_lossy(&v).into_owned());
    json!({
        "one": one.map_err(|e| format!("{e:?}")),
        "eleven": eleven.map_err(|e| format!("{e:?}")),
        "cas": lost.map_err(|e| format!("{e:?}")),
        "final": final_value,
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

/// `POST .../pg/script` with `{"db": address, "steps": [{"sql", "params"?, "query"?}]}`:
/// opens one `spin_sdk::pg4` connection and runs the steps in order, stopping at
/// nothing; answers `{"open": "ok" | error, "results": [...]}`. The connection is
/// never told to commit: what the steps leave open stays open.
async fn pg_script(req: IncomingRequest) -> Response {
    let body = req.into_body().await.unwrap_or_default();
    let script: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = run_pg_script(&script);
    Response::builder().status(200).header("content-type", "application/json").body(answer.to_string()).build()
}

fn run_pg_script(script: &Value) -> Value {
    use spin_sdk::pg4::Connection;
    let db = script["db"].as_str().unwrap_or_default();
    let conn = match Connection::open(db) {
        Ok(c) => c,
        Err(e) => return json!({ "open": pg_error(&e) }),
    };
    let mut results = Vec::new();
    for step in script["steps"].as_array().into_iter().flatten() {
        let sql = step["sql"].as_str().unwrap_or_default();
        let params: Result<Vec<_>, String> = step["params"].as_array().into_iter().flatten().map(pg_param).collect();
        let params = match params {
            Ok(p) => p,
            Err(e) => {
                results.push(json!({ "probe_error": e }));
                continue;
            }
        };
        let result = if step["query"].as_bool().unwrap_or(false) {
            conn.query(sql, &params).map(|set| {
                json!({
                    "columns": set.columns.iter().map(|c| json!([c.name, format!("{:?}", c.data_type)])).collect::<Vec<_>>(),
                    "rows": set.rows.iter().map(|r| r.iter().map(pg_value).collect::<Vec<_>>()).collect::<Vec<_>>(),
                })
            })
        } else {
            conn.execute(sql, &params).map(|n| json!({ "changed": n }))
        };
        results.push(result.unwrap_or_else(|e| json!({ "error": pg_error(&e) })));
    }
    json!({ "open": "ok", "results": results })
}

fn pg_error(e: &spin_sdk::pg4::PgError) -> Value {
    use spin_sdk::pg4::{PgError as E, QueryError as Q};
    match e {
        E::ConnectionFailed(s) => json!({ "connection_failed": s }),
        E::BadParameter(s) => json!({ "bad_parameter": s }),
        E::ValueConversionFailed(s) => json!({ "value_conversion_failed": s }),
        E::Other(s) => json!({ "other": s }),
        E::QueryFailed(Q::Text(s)) => json!({ "query_failed": { "text": s } }),
        E::QueryFailed(Q::DbError(d)) => json!({ "query_failed": { "db_error": {
            "as_text": d.as_text,
            "severity": d.severity,
            "code": d.code,
            "message": d.message,
            "detail": d.detail,
            "extras": d.extras,
        } } }),
    }
}

/// `{"int32": 5}`, `{"str": "x"}`, `"null"`...: the WIT variant by name.
fn pg_param(v: &Value) -> Result<spin_sdk::pg4::ParameterValue, String> {
    use spin_sdk::pg4::ParameterValue as P;
    if v == "null" {
        return Ok(P::DbNull);
    }
    let (kind, x) = v.as_object().and_then(|o| o.iter().next()).ok_or_else(|| format!("bad parameter {v}"))?;
    let int = |x: &Value| x.as_i64().ok_or_else(|| format!("{kind}: not an integer: {x}"));
    let tuple = |x: &Value| -> Result<Vec<i64>, String> {
        x.as_array().ok_or_else(|| format!("{kind}: not an array"))?.iter().map(int).collect()
    };
    let small = |n: i64| u8::try_from(n).map_err(|e| e.to_string());
    Ok(match kind.as_str() {
        "boolean" => P::Boolean(x.as_bool().ok_or("boolean")?),
        "int8" => P::Int8(int(x)? as i8),
        "int16" => P::Int16(int(x)? as i16),
        "int32" => P::Int32(int(x)? as i32),
        "int64" => P::Int64(int(x)?),
        "floating32" => P::Floating32(x.as_f64().ok_or("floating32")? as f32),
        "floating64" => P::Floating64(x.as_f64().ok_or("floating64")?),
        "str" => P::Str(x.as_str().ok_or("str")?.to_owned()),
        "binary" => P::Binary(tuple(x)?.into_iter().map(small).collect::<Result<_, _>>()?),
        "date" => {
            let t = tuple(x)?;
            P::Date((t[0] as i32, small(t[1])?, small(t[2])?))
        }
        "time" => {
            let t = tuple(x)?;
            P::Time((small(t[0])?, small(t[1])?, small(t[2])?, t[3] as u32))
        }
        "datetime" => {
            let t = tuple(x)?;
            P::Datetime((
                t[0] as i32,
                small(t[1])?,
                small(t[2])?,
                small(t[3])?,
                small(t[4])?,
                small(t[5])?,
                t[6] as u32,
            ))
        }
        "timestamp" => P::Timestamp(int(x)?),
        "uuid" => P::Uuid(x.as_str().ok_or("uuid")?.to_owned()),
        "jsonb" => P::Jsonb(x.to_string().into_bytes()),
        "jsonb_raw" => P::Jsonb(x.as_str().ok_or("jsonb_raw")?.as_bytes().to_vec()),
        "decimal" => P::Decimal(x.as_str().ok_or("decimal")?.to_owned()),
        "array_int32" => {
            P::ArrayInt32(x.as_array().ok_or("array")?.iter().map(|v| v.as_i64().map(|n| n as i32)).collect())
        }
        "array_int64" => P::ArrayInt64(x.as_array().ok_or("array")?.iter().map(Value::as_i64).collect()),
        "array_str" => {
            P::ArrayStr(x.as_array().ok_or("array")?.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        }
        "interval" => {
            let t = tuple(x)?;
            P::Interval(spin_sdk::pg4::Interval { micros: t[0], days: t[1] as i32, months: t[2] as i32 })
        }
        _ => return Err(format!("unknown parameter kind `{kind}`")),
    })
}

fn pg_value(v: &spin_sdk::pg4::DbValue) -> Value {
    use spin_sdk::pg4::DbValue as V;
    match v {
        V::Boolean(b) => json!({ "boolean": b }),
        V::Int8(n) => json!({ "int8": n }),
        V::Int16(n) => json!({ "int16": n }),
        V::Int32(n) => json!({ "int32": n }),
        V::Int64(n) => json!({ "int64": n }),
        V::Floating32(f) => json!({ "floating32": f }),
        V::Floating64(f) => json!({ "floating64": f }),
        V::Str(s) => json!({ "str": s }),
        V::Binary(b) => json!({ "binary": b }),
        V::Date((y, m, d)) => json!({ "date": [y, m, d] }),
        V::Time((h, m, s, ns)) => json!({ "time": [h, m, s, ns] }),
        V::Datetime((y, mo, d, h, mi, s, ns)) => json!({ "datetime": [y, mo, d, h, mi, s, ns] }),
        V::Timestamp(t) => json!({ "timestamp": t }),
        V::Uuid(u) => json!({ "uuid": u }),
        V::Jsonb(b) => json!({ "jsonb": serde_json::from_slice::<Value>(b).unwrap_or(Value::Null) }),
        V::Decimal(d) => json!({ "decimal": d }),
        V::ArrayInt32(a) => json!({ "array_int32": a }),
        V::ArrayInt64(a) => json!({ "array_int64": a }),
        V::ArrayDecimal(a) => json!({ "array_decimal": a }),
        V::ArrayStr(a) => json!({ "array_str": a }),
        V::Interval(i) => json!({ "interval": [i.micros, i.days, i.months] }),
        V::DbNull => json!("null"),
        V::Unsupported(b) => json!({ "unsupported": b }),
        other => json!({ "other": format!("{other:?}") }),
    }
}
