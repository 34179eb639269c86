//! Event intake: WeChat mini-programs, 12345 hotline work orders and Open311.
//!
//! Public routes (see `spin.toml`):
//! - `POST /v1/events` — a native event → its case, or the case it joined (events:write)
//! - `GET /v1/events/{id}` — the stored event, personal data masked (events:read)
//! - `POST /v1/events/retry-pending` — retry the queue (scheduler)
//! - `POST /v1/hotline/work-orders` — 1 to 100 work orders, one result each (events:write)
//! - `GET /open311/v2/services.json`, `GET /open311/v2/services/{code}.json`,
//!   `POST|GET /open311/v2/requests.json`, `GET /open311/v2/requests/{id}.json`
//! - `GET /v1/schemas`, `GET /v1/schemas/{name}`, `GET /v1/openapi.json` — the contract
//! - `/v1/system/intake/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://intake.spin.internal`:
//! - `POST /internal/chain`
//!
//! Calls out to `grid-lookup` (`/internal/place`) and `case-routing` (`/internal/cases`,
//! `/internal/cases/states`, `/internal/categories`), by service chaining.

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;
use wangge_spin::reply::{method_not_allowed, route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

mod contract;
mod events;
mod guard;
mod hotline;
mod open311;
mod process;

const COMPONENT: Component = Component {
    name: "intake",
    database: "intake",
    // intake's schema belongs to the intake crate, beside the code that uses it.
    migrations: wangge_intake::MIGRATIONS,
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
        (Method::Post, ["v1", "events"]) => events::create(req).await,
        (Method::Post, ["v1", "events", "retry-pending"]) => events::retry_pending(req).await,
        (_, ["v1", "events", "retry-pending"]) => Err(method_not_allowed(&req, "POST")),
        (Method::Get, ["v1", "events", id]) => events::get(req, id),
        (_, ["v1", "events"]) => Err(method_not_allowed(&req, "POST")),
        (_, ["v1", "events", _]) => Err(method_not_allowed(&req, "GET")),
        (Method::Post, ["v1", "hotline", "work-orders"]) => hotline::create(req).await,
        (_, ["v1", "hotline", "work-orders"]) => Err(method_not_allowed(&req, "POST")),
        (_, ["open311", "v2", rest @ ..]) => open311::handle(req, rest).await,
        (Method::Get, ["v1", "schemas"]) => contract::schemas(),
        (Method::Get, ["v1", "schemas", name]) => contract::schema(name),
        (Method::Get, ["v1", "openapi.json"]) => contract::openapi(),
        (_, ["v1", "schemas"] | ["v1", "schemas", _] | ["v1", "openapi.json"]) => Err(method_not_allowed(&req, "GET")),
        (_, ["v1", "system", "intake", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
