//! Logs: one JSON line per event on stderr, with the request id and no personal data.

use serde_json::{Value, json};

fn emit(line: Value) {
    eprintln!("{line}");
}

/// The outcome of one request: one line. Paths never carry personal data in this API.
pub struct Request<'a> {
    pub component: &'a str,
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    /// The problem's code, for an error.
    pub code: Option<&'a str>,
    /// What went wrong inside, for an error that says (never shown to the client).
    pub cause: Option<&'a str>,
    pub started: std::time::Instant,
}

/// Writes a request's line.
pub fn request(r: Request<'_>) {
    emit(json!({
        "ts": wangge_core::time::store(wangge_core::time::now_utc()),
        "level": if r.status >= 500 { "error" } else { "info" },
        "component": r.component,
        "event": "request",
        "request_id": r.request_id,
        "method": r.method,
        "path": r.path,
        "status": r.status,
        "code": r.code,
        "cause": r.cause,
        "ms": r.started.elapsed().as_secs_f64() * 1000.0,
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
