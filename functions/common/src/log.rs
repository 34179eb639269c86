//! Logs: one JSON line per event on stderr, with the request id and no personal data.

use serde_json::{Value, json};

fn emit(line: Value) {
    eprintln!("{line}");
}

/// The outcome of one request. Paths never carry personal data in this API.
pub fn request(
    component: &str,
    request_id: &str,
    method: &str,
    path: &str,
    status: u16,
    code: Option<&str>,
    cause: Option<&str>,
    started: std::time::Instant,
) {
    emit(json!({
        "ts": wangge_core::time::store(wangge_core::time::now_utc()),
        "level": if status >= 500 { "error" } else { "info" },
        "component": component,
        "event": "request",
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "code": code,
        "cause": cause,
        "ms": started.elapsed().as_secs_f64() * 1000.0,
    }));
}

/// Anything else worth a line: `fields` must hold no personal data.
pub fn event(component: &str, request_id: &str, level: &str, event: &str, fields: Value) {
    let mut line = json!({
        "ts": wangge_core::time::store(wangge_core::time::now_utc()),
        "level": level,
        "component": component,
        "event": event,
        "request_id": request_id,
    });
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    emit(line);
}
