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
    let request = Request::builder()
        .method(Method::Post)
        .uri(internal_url(component, path))
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .body(body)
        .build();
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
