//! Calls to other functions: only over HTTP. By default through Spin service chaining to
//! `http://<component>.spin.internal`; when the target runs in another app (a district's
//! intake calling the city's case-routing on SpinKube), through the URL in the target's
//! variable (`grid_lookup_url`, `case_routing_url`, `notification_url`), with the
//! deployment's `internal_key` as a bearer token. Each target must be listed in the
//! caller's `allowed_outbound_hosts` (as `{{ <target>_url }}`), so any subset of
//! components can be deployed alone.
//!
//! The serving side is [`admit`]: a request that arrived by service chaining is trusted;
//! one that came over the network must carry the internal key, and without a key set
//! the internal routes are not served over the network at all.

use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::variables;
use wangge_core::auth::{constant_time_eq, hash_token};
use wangge_core::{ErrorCode, Problem};

use crate::Req;

/// The variable naming where `component` is reached: `case-routing` → `case_routing_url`.
pub fn target_variable(component: &str) -> String {
    format!("{}_url", component.replace('-', "_"))
}

/// Where `component` is reached, without a trailing `/`: its variable (read on every
/// call), or `http://<component>.spin.internal` when the variable is unset or empty.
pub fn base_url(component: &str) -> String {
    match variables::get(&target_variable(component)) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => format!("http://{component}.spin.internal"),
    }
}

/// Whether `url` is reached by Spin service chaining (`http://<component>.spin.internal…`).
pub fn by_service_chaining(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host.to_ascii_lowercase().ends_with(".spin.internal")
}

/// Where an internal route of `component` is reached.
pub fn internal_url(component: &str, path: &str) -> String {
    format!("{}{path}", base_url(component))
}

/// The `Authorization` value a call to `url` carries: none by service chaining; the
/// deployment's `internal_key` when the target is reached by URL (none if no key is set,
/// and then the target answers 404).
pub fn authorization(url: &str) -> Option<String> {
    if by_service_chaining(url) {
        return None;
    }
    variables::get("internal_key").ok().filter(|k| !k.is_empty()).map(|key| format!("Bearer {key}"))
}

/// Whether an internal route may be served to `req`. By service chaining: yes, as
/// always (Spin marks a chained request with the client address `0.0.0.0:0`, which no
/// network peer has). Over the network: only with `Authorization: Bearer <internal_key>`,
/// compared in constant time; 401 `unauthenticated` without it, 401 `invalid_api_key` with
/// another. With `internal_key` empty (the default) the route does not exist over the
/// network: 404 `route_not_found`, as when no trigger route mapped it.
pub fn admit(req: &Req) -> Result<(), Problem> {
    if req.by_service_chaining() {
        return Ok(());
    }
    let key = variables::get("internal_key").unwrap_or_default();
    if key.is_empty() {
        return Err(crate::reply::route_not_found(req));
    }
    let presented = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match presented {
        None => Err(Problem::new(ErrorCode::Unauthenticated).with_detail(
            "an internal route called by URL needs `Authorization: Bearer <internal_key>`",
            "通过网址调用内部接口需提供 `Authorization: Bearer <internal_key>`",
        )),
        Some(token) if constant_time_eq(hash_token(token).as_bytes(), hash_token(&key).as_bytes()) => Ok(()),
        Some(_) => Err(Problem::new(ErrorCode::InvalidApiKey)
            .with_detail("this is not the deployment's internal key", "不是本部署的内部密钥")),
    }
}

/// POSTs JSON to another component and reads a JSON answer. A component that is
/// not deployed, refuses or fails becomes 503 `dependency_unavailable`; its own
/// problem, if it sent one, comes along as `dependency_problem`.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    component: &str,
    path: &str,
    request_id: &str,
    body: &B,
) -> Result<T, Problem> {
    let body = serde_json::to_vec(body).map_err(|_| Problem::new(ErrorCode::Internal))?;
    let request = request(component, Method::Post, path, request_id, wangge_core::Lang::En, Some(body));
    let response: Response = spin_sdk::http::send(request).await.map_err(|e| unavailable(component, &e.to_string()))?;
    let status = *response.status();
    if !(200..300).contains(&status) {
        let detail: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
        return Err(unavailable(component, &format!("answered {status}")).with_extension("dependency_problem", detail));
    }
    serde_json::from_slice(response.body())
        .map_err(|e| unavailable(component, &format!("sent an unreadable answer: {e}")))
}

fn unavailable(component: &str, why: &str) -> Problem {
    Problem::new(ErrorCode::DependencyUnavailable)
        .with_detail(format!("{component} is unavailable: {why}"), format!("{component} 暂不可用：{why}"))
        .with_retry_after(5)
        .with_extension("dependency", component)
}

/// Calls the internal route `R` with its request, and reads its answer as `R`'s
/// response type: strictly, so an answer with an unknown or a missing field is
/// [`Failure::Unavailable`], naming the field, never a default.
pub async fn ask<R: wangge_core::internal::Route>(
    body: &R::Request,
    request_id: &str,
    lang: wangge_core::Lang,
) -> Result<R::Response, Failure> {
    let method = match R::METHOD {
        "GET" => Method::Get,
        _ => Method::Post,
    };
    let body = match method {
        Method::Get => None,
        _ => Some(serde_json::to_vec(body).map_err(|e| Failure::Unavailable(e.to_string()))?),
    };
    let response = send(R::COMPONENT, method, R::PATH, request_id, lang, body).await?;
    wangge_core::internal::parse(response.body())
        .map_err(|e| Failure::Unavailable(format!("{} sent an unreadable answer to {}: {e}", R::COMPONENT, R::PATH)))
}

/// Why another component gave no answer, sorted for a caller that must tell a refusal
/// (final: the request is unacceptable) from an outage (retry later).
#[derive(Debug)]
pub enum Failure {
    /// 4xx: the component refused, with its problem.
    Refused { status: u16, problem: serde_json::Value },
    /// Not reachable, 5xx, or an unreadable answer: why.
    Unavailable(String),
}

/// A request to another component's internal route (`path` may carry a query), with the
/// caller's request id and language, the internal key when the target is reached by URL,
/// and a JSON body when there is one.
pub fn request(
    component: &str,
    method: Method,
    path: &str,
    request_id: &str,
    lang: wangge_core::Lang,
    body: Option<Vec<u8>>,
) -> Request {
    let url = internal_url(component, path);
    let mut builder = Request::builder();
    builder
        .method(method)
        .uri(url.as_str())
        .header("x-request-id", request_id)
        .header("accept-language", if lang == wangge_core::Lang::Zh { "zh-CN" } else { "en" });
    if let Some(authorization) = authorization(&url) {
        builder.header("authorization", authorization);
    }
    match body {
        Some(b) => builder.header("content-type", "application/json").body(b).build(),
        None => builder.build(),
    }
}

/// Sends one request to another component: its 2xx response, or why not (a refusal
/// with its problem, or an outage).
async fn send(
    component: &str,
    method: Method,
    path: &str,
    request_id: &str,
    lang: wangge_core::Lang,
    body: Option<Vec<u8>>,
) -> Result<Response, Failure> {
    let response: Response = match spin_sdk::http::send(request(component, method, path, request_id, lang, body)).await
    {
        Ok(r) => r,
        Err(e) => return Err(Failure::Unavailable(format!("{component}: {e}"))),
    };
    let status = *response.status();
    match status {
        200..=299 => Ok(response),
        400..=499 => match serde_json::from_slice::<serde_json::Value>(response.body()) {
            Ok(problem) if miswired(status, &problem) => Err(Failure::Unavailable(format!(
                "{component} refused the call itself ({status} {}): check `{}` and `internal_key`",
                problem["code"].as_str().unwrap_or_default(),
                target_variable(component)
            ))),
            Ok(problem) => Err(Failure::Refused { status, problem }),
            Err(_) => Err(Failure::Unavailable(format!("{component} answered {status}"))),
        },
        _ => Err(Failure::Unavailable(format!("{component} answered {status}"))),
    }
}

/// Whether a refusal is about the call, not its content: the target wants another
/// internal key (401) or does not serve its internal routes by URL (404
/// `route_not_found`). That is a deployment wired wrong, an outage until it is fixed,
/// never a final answer about what was sent (an event waits in intake's queue).
fn miswired(status: u16, problem: &serde_json::Value) -> bool {
    status == 401 || (status == 404 && problem["code"] == ErrorCode::RouteNotFound.as_str())
}
