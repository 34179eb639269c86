//! The contract integrators code against: every body's JSON Schema, and the OpenAPI
//! document of all five functions. Public: no key needed to read a contract.

use serde_json::json;
use spin_sdk::http::Response;
use wangge_core::{ErrorCode, Problem};
use wangge_intake::schema::{OPENAPI, SCHEMAS, text};
use wangge_spin::Reply;

fn document(content_type: &str, body: &str) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header("cache-control", "public, max-age=300")
        .body(body.as_bytes().to_vec())
        .build()
}

/// `GET /v1/schemas`: the names and where each is served.
pub fn schemas() -> Reply {
    let items: Vec<_> =
        SCHEMAS.iter().map(|(name, _)| json!({ "name": name, "href": format!("/v1/schemas/{name}") })).collect();
    Ok(wangge_spin::json(200, &json!({ "items": items, "openapi": "/v1/openapi.json" })))
}

/// `GET /v1/schemas/{name}` (with or without `.json`).
pub fn schema(name: &str) -> Reply {
    let body = text(name).ok_or_else(|| {
        Problem::new(ErrorCode::NotFound).with_detail(
            format!("no schema `{name}`; GET /v1/schemas lists them"),
            format!("没有名为 `{name}` 的 Schema"),
        )
    })?;
    Ok(document("application/schema+json", body))
}

/// `GET /v1/openapi.json`.
pub fn openapi() -> Reply {
    Ok(document("application/vnd.oai.openapi+json;version=3.1", OPENAPI))
}
