//! Assessment: monthly scores, quarterly rankings, yearly grades — every lost point explained.
//!
//! Public routes (see `spin.toml`):
//! - `PUT|GET /v1/assessments/rules` — the rules, versioned
//! - `POST /v1/assessments/{period}/run` — run a month (`2026-10`), quarter (`2026-Q4`) or year (`2026`)
//! - `GET /v1/assessments/{period}/grids/{code}` — score, sub-scores, grade, rank, every deduction
//! - `GET /v1/assessments/{period}/regions/{code}` — a community, town, district or the city
//! - `GET /v1/assessments/{period}/rankings?level=&parent=`
//! - `GET /v1/assessments/{period}/statistics?region=`
//! - `GET /v1/assessments/{period}/departments`
//! - `GET /v1/assessments/{period}/export.csv?level=`
//! - `/v1/system/assessment/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://assessment.spin.internal`:
//! - `POST /internal/chain`
//!
//! Reads case facts and the catalogue from case-routing, and grids from grid-lookup.

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;
use wangge_spin::reply::{method_not_allowed, route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

mod read;
mod run;

const COMPONENT: Component = Component {
    name: "assessment",
    database: "assessment",
    // assessment's schema belongs to the assess crate, beside the code that uses it.
    migrations: wangge_assess::MIGRATIONS,
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
        (Method::Put, ["v1", "assessments", "rules"]) => run::put_rules(req).await,
        (Method::Get, ["v1", "assessments", "rules"]) => run::get_rules(req).await,
        (_, ["v1", "assessments", "rules"]) => Err(method_not_allowed(&req, "GET, PUT")),
        (Method::Post, ["v1", "assessments", period, "run"]) => run::run(req, period).await,
        (Method::Get, ["v1", "assessments", period, "grids", code]) => read::grid(req, period, code),
        (Method::Get, ["v1", "assessments", period, "regions", code]) => read::region(req, period, code),
        (Method::Get, ["v1", "assessments", period, "rankings"]) => read::rankings(req, period),
        (Method::Get, ["v1", "assessments", period, "statistics"]) => read::statistics(req, period),
        (Method::Get, ["v1", "assessments", period, "departments"]) => read::departments(req, period),
        (Method::Get, ["v1", "assessments", period, "export.csv"]) => read::export(req, period),
        (_, ["v1", "assessments", _, "run"]) => Err(method_not_allowed(&req, "POST")),
        (_, ["v1", "assessments", _, "grids" | "regions", _])
        | (_, ["v1", "assessments", _, "rankings" | "statistics" | "departments" | "export.csv"]) => {
            Err(method_not_allowed(&req, "GET"))
        }
        (_, ["v1", "system", "assessment", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
