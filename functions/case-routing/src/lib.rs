//! Case routing: the closed loop from report to close, on deadline.
//!
//! Public routes (see `spin.toml`):
//! - `/v1/cases/...`
//! - `/v1/calendar/...`
//! - `/v1/categories/...`
//! - `/v1/departments/...`
//! - `/v1/system/case-routing/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://case-routing.spin.internal`:
//! - `POST /internal/chain`

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;
use wangge_core::Migration;
use wangge_spin::reply::{route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

const COMPONENT: Component = Component {
    name: "case-routing",
    database: "case_routing",
    migrations: &[Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") }],
    chain_next: Some("notification"),
};

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, route).await
}

async fn route(req: Req) -> Reply {
    let path = req.path.clone();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, segments.as_slice()) {
        (_, ["v1", "system", "case-routing", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
