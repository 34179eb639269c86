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
//! - `POST /internal/place` (intake: a point or an address → grids, chain and staff)
//! - `POST /internal/staff/contacts` (notification: how to reach staff members)
//! - `GET /internal/grids` (assessment: every grid, its kind and region)
//! - `POST /internal/chain`
//!
//! Key management (`/v1/keys`) lives here: one function owns it, every function verifies.
//!
//! Registry routes: `PUT /v1/{regions,grids,staff,addresses}` (imports), `GET /v1/grids`,
//! `GET /v1/grids/locate`, `GET /v1/grids/audit`, `GET /v1/grids/{code}`, `GET /v1/regions`,
//! `GET /v1/regions/{code}`, `PUT /v1/regions/{code}/outline`, `GET /v1/staff/{id}`,
//! `GET /v1/addresses/resolve`.

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

mod keys;
mod registry;

use wangge_registry::import::Dataset;
use wangge_spin::reply::{method_not_allowed, route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

pub(crate) const COMPONENT: Component = Component {
    name: "grid-lookup",
    database: "grid_lookup",
    // grid-lookup's schema belongs to the registry crate, which the benchmark's city generator shares.
    migrations: wangge_registry::MIGRATIONS,
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
        (Method::Put, ["v1", "regions"]) => registry::put_dataset(req, Dataset::Regions).await,
        (Method::Put, ["v1", "grids"]) => registry::put_dataset(req, Dataset::Grids).await,
        (Method::Put, ["v1", "staff"]) => registry::put_dataset(req, Dataset::Staff).await,
        (Method::Put, ["v1", "addresses"]) => registry::put_dataset(req, Dataset::Addresses).await,
        (Method::Get, ["v1", "grids"]) => registry::list_grids(req),
        (Method::Get, ["v1", "grids", "locate"]) => registry::locate_point(req),
        (Method::Get, ["v1", "grids", "audit"]) => registry::audit(req),
        (Method::Get, ["v1", "grids", code]) => registry::get_grid(req, code),
        (Method::Get, ["v1", "regions"]) => registry::list_regions(req),
        (Method::Get, ["v1", "regions", code]) => registry::get_region(req, code),
        (Method::Put, ["v1", "regions", "outlines"]) => registry::put_outlines(req).await,
        (Method::Put, ["v1", "regions", code, "outline"]) => registry::put_outline(req, code).await,
        (Method::Get, ["v1", "staff", id]) => registry::get_staff(req, id),
        (Method::Get, ["v1", "addresses", "resolve"]) => registry::resolve_address(req),
        (_, ["v1", "regions" | "grids"]) => Err(method_not_allowed(&req, "GET, PUT")),
        (_, ["v1", "staff" | "addresses"] | ["v1", "regions", "outlines"] | ["v1", "regions", _, "outline"]) => {
            Err(method_not_allowed(&req, "PUT"))
        }
        (_, ["v1", "grids" | "regions" | "staff", _] | ["v1", "addresses", "resolve"]) => {
            Err(method_not_allowed(&req, "GET"))
        }
        (Method::Post, ["v1", "keys"]) => keys::create(req).await,
        (Method::Get, ["v1", "keys"]) => keys::list(req),
        (Method::Delete, ["v1", "keys", id]) => keys::revoke(req, id),
        (_, ["v1", "keys"]) => Err(method_not_allowed(&req, "GET, POST")),
        (_, ["v1", "keys", _]) => Err(method_not_allowed(&req, "DELETE")),
        (_, ["v1", "system", "grid-lookup", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "place"]) => registry::place(req).await,
        (Method::Post, ["internal", "staff", "contacts"]) => registry::staff_contacts(req).await,
        (Method::Get, ["internal", "grids"]) => registry::all_grids(req),
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
