//! Grid lookup: regions, grids, staff, addresses, point → grid; API keys.
//!
//! Public routes (see `spin.toml`):
//! - `/v1/grids/...`
//! - `/v1/addresses/...`
//! - `/v1/regions/...`
//! - `/v1/staff/...`
//! - `/v1/keys/...`
//! - `/v1/system/grid-lookup/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://grid-lookup.spin.internal`:
//! - `POST /internal/chain`
//!
//! Key management (`/v1/keys`) lives here: one function owns it, every function verifies.

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

mod keys;
use wangge_core::Migration;
use wangge_spin::reply::{method_not_allowed, route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

pub(crate) const COMPONENT: Component = Component {
    name: "grid-lookup",
    database: "grid_lookup",
    migrations: &[
        Migration {
            version: 1,
            name: "init",
            sql: include_str!("../migrations/0001_init.sql"),
        },
        Migration {
            version: 2,
            name: "api_keys",
            sql: include_str!("../migrations/0002_api_keys.sql"),
        },
    ],
    chain_next: Some("case-routing"),
};

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, route).await
}

async fn route(req: Req) -> Reply {
    let path = req.path.clone();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, segments.as_slice()) {
        (Method::Post, ["v1", "keys"]) => keys::create(req).await,
        (Method::Get, ["v1", "keys"]) => keys::list(req),
        (Method::Delete, ["v1", "keys", id]) => keys::revoke(req, id),
        (_, ["v1", "keys"]) => Err(method_not_allowed(&req, "GET, POST")),
        (_, ["v1", "keys", _]) => Err(method_not_allowed(&req, "DELETE")),
        (_, ["v1", "system", "grid-lookup", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
