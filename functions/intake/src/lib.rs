//! Event intake: WeChat mini-programs, 12345 hotline work orders and Open311.
//!
//! Its routes are the table [`ROUTES`] (dispatch, 404 and 405 come from it); Open311's
//! resources are `open311::ROUTES`, whose errors are in GeoReport's shape.
//!
//! Calls out to `grid-lookup` (`/internal/place`) and `case-routing` (`/internal/cases`,
//! `/internal/cases/states`, `/internal/categories`, `/internal/triage/corrections`), by
//! service chaining.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use wangge_spin::reply::serve;
use wangge_spin::router::dispatch;
use wangge_spin::{Component, route_table};

mod contract;
mod events;
mod guard;
mod hotline;
mod open311;
mod process;
mod triage;

const COMPONENT: Component = Component {
    name: "intake",
    database: "intake",
    // intake's schema belongs to the intake crate, beside the code that uses it.
    migrations: &wangge_intake::SCHEMA,
    chain_next: Some("grid-lookup"),
};

route_table! {
    static ROUTES: system(COMPONENT, "intake"), mounted [open311::ROUTES];
    |req, p| {
        POST "/v1/events" => events::create(req).await,
        POST "/v1/events/retry-pending" => events::retry_pending(req).await,
        GET  "/v1/events/{id}" => events::get(req, p.get("id")),
        POST "/v1/hotline/work-orders" => hotline::create(req).await,
        GET  "/v1/triage/model" => triage::get(req),
        POST "/v1/triage/retrain" => triage::retrain(req).await,
        // GeoReport v2 answers its own errors, in its own shape: its table is open311::ROUTES.
        ANY  "/open311/v2/{resource...}" => open311::handle(req).await,
        GET  "/v1/schemas" => contract::schemas(),
        GET  "/v1/schemas/{name}" => contract::schema(p.get("name")),
        GET  "/v1/openapi.json" => contract::openapi(),
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, |req| dispatch(&ROUTES, req)).await
}
