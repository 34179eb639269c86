//! Event intake: WeChat mini-programs, 12345 hotline work orders and Open311.
//!
//! Public routes (see `spin.toml`):
//! - `/v1/events/...`
//! - `/v1/hotline/...`
//! - `/open311/v2/...`
//! - `/v1/system/intake/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://intake.spin.internal`:
//! - `POST /internal/chain`

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;
use wangge_core::Migration;
use wangge_spin::reply::{route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

const COMPONENT: Component = Component {
    name: "intake",
    database: "intake",
    migrations: &[Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") }],
    chain_next: Some("grid-lookup"),
};

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, route).await
}

async fn route(req: Req) -> Reply {
    let path = req.path.clone();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, segments.as_slice()) {
        (_, ["v1", "system", "intake", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
