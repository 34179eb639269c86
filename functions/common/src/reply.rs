//! Answers: JSON, problem+json, and the one wrapper every request goes through.

use serde::Serialize;
use spin_sdk::http::{IncomingRequest, Response};
use wangge_core::{ErrorCode, Lang, Problem};

use crate::{Component, Req};

/// What a route handler returns: a response, or a problem to render.
pub type Reply = Result<Response, Problem>;

/// A JSON response.
pub fn json(status: u16, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::builder()
            .status(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .build(),
        Err(_) => problem(&Problem::new(ErrorCode::Internal), Lang::En),
    }
}

/// A problem+json response in `lang`.
pub fn problem(p: &Problem, lang: Lang) -> Response {
    let mut builder = Response::builder();
    builder.status(p.status());
    for (name, value) in p.headers() {
        builder.header(name, value);
    }
    if p.code == ErrorCode::Unauthenticated || p.code == ErrorCode::InvalidApiKey {
        builder.header("www-authenticate", "Bearer");
    }
    builder.header("content-language", lang.tag());
    builder.body(serde_json::to_vec(&p.to_json(lang)).unwrap_or_default()).build()
}

/// 404 `route_not_found` for a path this function does not serve.
pub fn route_not_found(req: &Req) -> Problem {
    Problem::new(ErrorCode::RouteNotFound).with_detail(
        format!("{} {} is not an endpoint", req.method, req.path),
        format!("{} {} 不是有效接口", req.method, req.path),
    )
}

/// 405 for a known path with the wrong method.
pub fn method_not_allowed(req: &Req, allowed: &str) -> Problem {
    Problem::new(ErrorCode::MethodNotAllowed)
        .with_detail(
            format!("{} is not allowed here; use {allowed}", req.method),
            format!("此处不允许 {}，请使用 {allowed}", req.method),
        )
        .with_extension("allow", allowed)
}

/// Runs one request through `route`: problems become problem+json in the
/// client's language, every response carries `x-request-id`, and one JSON log
/// line records the outcome.
pub async fn serve<F, Fut>(incoming: IncomingRequest, component: &Component, route: F) -> Response
where
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let req = Req::new(incoming);
    let (method, path, request_id, lang, started) =
        (req.method.to_string(), req.path.clone(), req.request_id.clone(), req.lang, req.started);
    // Internal routes: by service chaining, or by URL with the internal key (`chain::admit`).
    let admitted = if path.starts_with("/internal/") { crate::chain::admit(&req) } else { Ok(()) };
    let answer = match admitted {
        Ok(()) => route(req).await,
        Err(p) => Err(p),
    };
    let (mut response, code, cause) = match answer {
        Ok(response) => (response, None, None),
        Err(p) => (problem(&p, lang), Some(p.code.as_str()), p.cause),
    };
    response.set_header("x-request-id", request_id.clone());
    // `app` first: the whole time in the component; then any stages the handler timed.
    let stages =
        response.header("server-timing").and_then(|v| v.as_str()).map(|v| format!(", {v}")).unwrap_or_default();
    response.set_header("server-timing", format!("app;dur={:.3}{stages}", started.elapsed().as_secs_f64() * 1000.0));
    crate::log::request(crate::log::Request {
        component: component.name,
        request_id: &request_id,
        method: &method,
        path: &path,
        status: response.status().to_owned(),
        code,
        cause: cause.as_deref(),
        started,
    });
    response
}

/// Sends a buffered response through `out`, for handlers that own the response
/// (those that also stream).
pub async fn send(out: spin_sdk::http::ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    match spin_sdk::http::OutgoingResponse::try_from(response) {
        Ok(outgoing) => {
            if let Err(e) = out.set_with_body(outgoing, body).await {
                eprintln!(
                    "{}",
                    serde_json::json!({"level": "error", "event": "response_failed", "error": e.to_string()})
                );
            }
        }
        Err(e) => {
            eprintln!("{}", serde_json::json!({"level": "error", "event": "response_failed", "error": e.to_string()}))
        }
    }
}

/// Answers a handler that owns its response (one that streams) with a problem, logged as
/// [`serve`] logs one: the request's line, with the problem's code and cause.
pub async fn fail(out: spin_sdk::http::ResponseOutparam, req: &Req, component: &Component, p: Problem) {
    let mut response = problem(&p, req.lang);
    response.set_header("x-request-id", req.request_id.clone());
    crate::log::request(crate::log::Request {
        component: component.name,
        request_id: &req.request_id,
        method: &req.method.to_string(),
        path: &req.path,
        status: p.status(),
        code: Some(p.code.as_str()),
        cause: p.cause.as_deref(),
        started: req.started,
    });
    send(out, response).await;
}
