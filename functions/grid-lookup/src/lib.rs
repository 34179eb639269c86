//! Grid lookup: regions, grids, staff, addresses, point → grid; API keys.
//!
//! Its routes are the table [`ROUTES`] (dispatch, 404 and 405 come from it). Internal
//! routes (`/internal/...`) are reached through `http://grid-lookup.spin.internal`, or by
//! URL with the internal key from another app (`wangge_spin::chain::admit`): intake places
//! events, notification reaches staff, assessment lists grids.
//!
//! Key management (`/v1/keys`) lives here: one function owns it, every function verifies.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod keys;
mod outlines;
mod registry;

use wangge_core::internal::Route;
use wangge_registry::api;
use wangge_registry::import::Dataset;
use wangge_spin::reply::serve;
use wangge_spin::router::dispatch;
use wangge_spin::{Component, route_table};

pub(crate) const COMPONENT: Component = Component {
    name: "grid-lookup",
    database: "grid_lookup",
    // grid-lookup's schema belongs to the registry crate, which the benchmark's city generator shares.
    migrations: &wangge_registry::SCHEMA,
    chain_next: Some("case-routing"),
};

route_table! {
    static ROUTES: system(COMPONENT, "grid-lookup");
    |req, p| {
        PUT  "/v1/regions" => registry::put_dataset(req, Dataset::Regions).await,
        PUT  "/v1/grids" => registry::put_dataset(req, Dataset::Grids).await,
        PUT  "/v1/staff" => registry::put_dataset(req, Dataset::Staff).await,
        PUT  "/v1/addresses" => registry::put_dataset(req, Dataset::Addresses).await,
        GET  "/v1/grids" => registry::list_grids(req),
        GET  "/v1/grids/locate" => registry::locate_point(req),
        GET  "/v1/grids/audit" => registry::audit(req),
        GET  "/v1/grids/outlines" => outlines::outlines(req),
        GET  "/v1/grids/{code}" => registry::get_grid(req, p.get("code")),
        GET  "/v1/regions" => registry::list_regions(req),
        GET  "/v1/regions/{code}" => registry::get_region(req, p.get("code")),
        PUT  "/v1/regions/outlines" => registry::put_outlines(req).await,
        PUT  "/v1/regions/{code}/outline" => registry::put_outline(req, p.get("code")).await,
        GET  "/v1/staff/{id}" => registry::get_staff(req, p.get("id")),
        GET  "/v1/addresses/resolve" => registry::resolve_address(req),
        POST "/v1/keys" => keys::create(req).await,
        GET  "/v1/keys" => keys::list(req),
        DELETE "/v1/keys/{id}" => keys::revoke(req, p.get("id")),
        POST <api::Place as Route>::PATH => registry::place(req).await,
        POST <api::StaffContacts as Route>::PATH => registry::staff_contacts(req).await,
        GET  <api::Grids as Route>::PATH => registry::all_grids(req),
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, |req| dispatch(&ROUTES, req)).await
}
