//! Calls to other functions: only over HTTP, by Spin service chaining to
//! `http://<component>.spin.internal`. Each target must be listed in the caller's
//! `allowed_outbound_hosts`, so any subset of components can be deployed alone.

use serde::Serialize;
use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Request, Response};
use wangge_core::{ErrorCode, Problem};

/// Where an internal route of `component` is reached.
pub fn internal_url(component: &str, path: &str) -> String {
    format!("http://{component}.spin.internal{path}")
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

/// A request to another component's internal route, with the caller's request id and
/// language, and a JSON body when there is one.
fn request(
    component: &str,
    method: Method,
    path: &str,
    request_id: &str,
    lang: wangge_core::Lang,
    body: Option<Vec<u8>>,
) -> Request {
    let mut builder = Request::builder();
    builder
        .method(method)
        .uri(internal_url(component, path))
        .header("x-request-id", request_id)
        .header("accept-language", if lang == wangge_core::Lang::Zh { "zh-CN" } else { "en" });
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
        400..=499 => match serde_json::from_slice(response.body()) {
            Ok(problem) => Err(Failure::Refused { status, problem }),
            Err(_) => Err(Failure::Unavailable(format!("{component} answered {status}"))),
        },
        _ => Err(Failure::Unavailable(format!("{component} answered {status}"))),
    }
}
