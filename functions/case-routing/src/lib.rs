//! Case routing: the closed loop from report to close, on deadline.
//!
//! Public routes (see `spin.toml`):
//! - `/v1/cases/...`
//! - `/v1/calendar/...`
//! - `/v1/categories/...`
//! - `/v1/departments/...`
//! - `/v1/system/case-routing/...` — health, version, echo, chain
//!
//! Reference data: `PUT|GET /v1/calendar/{year}`, `GET /v1/calendar/deadline`,
//! `PUT|GET /v1/categories`, `GET /v1/categories/{code}`, `PUT|GET /v1/departments`.
//!
//! Cases: `GET /v1/cases`, `GET /v1/cases/{id}`, `GET /v1/cases/{id}/log`,
//! `POST /v1/cases/{id}/actions`, `POST /v1/cases/sweep` (the scheduler's supervision sweep).
//!
//! Internal routes, reached only through `http://case-routing.spin.internal`:
//! - `POST /internal/cases` (intake makes a case; the same id or external reference again is the same case)
//! - `POST /internal/cases/states` (intake: where cases stand, for Open311)
//! - `GET /internal/categories` (intake: the catalogue of matters)
//! - `GET /internal/facts?from=&to=` (assessment reads cases as NDJSON, streamed)
//! - `POST /internal/chain`

use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

mod cases;
mod facts;
mod reference;

use wangge_spin::reply::{method_not_allowed, route_not_found, send, serve};
use wangge_spin::{Component, Reply, Req, system};

const COMPONENT: Component = Component {
    name: "case-routing",
    database: "case_routing",
    // case-routing's schema belongs to the cases crate, beside the code that uses it.
    migrations: wangge_cases::reference::MIGRATIONS,
    chain_next: Some("notification"),
};

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    // The facts stream writes its own response; everything else is answered whole.
    if req.path_with_query().is_some_and(|p| p == "/internal/facts" || p.starts_with("/internal/facts?")) {
        return facts::stream(req, out).await;
    }
    send(out, serve(req, &COMPONENT, route).await).await;
}

async fn route(req: Req) -> Reply {
    let path = req.path.clone();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, segments.as_slice()) {
        (Method::Get, ["v1", "cases"]) => cases::list(req),
        (Method::Post, ["v1", "cases", "sweep"]) => cases::sweep(req).await,
        (Method::Get, ["v1", "cases", id]) => cases::get(req, id),
        (Method::Get, ["v1", "cases", id, "log"]) => cases::log(req, id),
        (Method::Post, ["v1", "cases", id, "actions"]) => cases::act(req, id).await,
        (Method::Post, ["internal", "cases"]) => cases::create(req).await,
        (Method::Post, ["internal", "cases", "states"]) => cases::states(req).await,
        (Method::Get, ["internal", "categories"]) => cases::categories(),
        (_, ["v1", "cases", _, "actions"]) => Err(method_not_allowed(&req, "POST")),
        (_, ["v1", "cases"] | ["v1", "cases", _] | ["v1", "cases", _, "log"]) => Err(method_not_allowed(&req, "GET")),
        (Method::Get, ["v1", "calendar", "deadline"]) => reference::deadline(req),
        (Method::Put, ["v1", "calendar", year]) => reference::put_calendar(req, year).await,
        (Method::Get, ["v1", "calendar", year]) => reference::get_calendar(req, year),
        (Method::Put, ["v1", "categories"]) => reference::put_categories(req).await,
        (Method::Get, ["v1", "categories"]) => reference::get_categories(req),
        (Method::Get, ["v1", "categories", code]) => reference::get_category(req, code),
        (Method::Put, ["v1", "departments"]) => reference::put_departments(req).await,
        (Method::Get, ["v1", "departments"]) => reference::list_departments(req),
        (_, ["v1", "calendar", _] | ["v1", "categories" | "departments"]) => Err(method_not_allowed(&req, "GET, PUT")),
        (_, ["v1", "categories", _]) => Err(method_not_allowed(&req, "GET")),
        (_, ["v1", "system", "case-routing", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
