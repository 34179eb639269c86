//! Assessment: monthly scores, quarterly rankings, yearly grades — every lost point explained.
//!
//! Its routes are the table [`ROUTES`] (dispatch, 404 and 405 come from it), besides
//! `/v1/system/assessment/...` and the internal `POST /internal/chain`.
//!
//! Reads case facts and the catalogue from case-routing, and grids from grid-lookup.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use wangge_spin::reply::serve;
use wangge_spin::router::dispatch;
use wangge_spin::{Component, route_table};

mod read;
mod run;

const COMPONENT: Component = Component {
    name: "assessment",
    database: "assessment",
    // assessment's schema belongs to the assess crate, beside the code that uses it.
    migrations: &wangge_assess::SCHEMA,
    chain_next: Some("case-routing"),
};

route_table! {
    static ROUTES: system(COMPONENT, "assessment");
    |req, p| {
        PUT  "/v1/assessments/rules" => run::put_rules(req).await,
        GET  "/v1/assessments/rules" => run::get_rules(req).await,
        POST "/v1/assessments/{period}/run" => run::run(req, p.get("period")).await,
        GET  "/v1/assessments/{period}/grids/{code}" => read::grid(req, p.get("period"), p.get("code")),
        GET  "/v1/assessments/{period}/regions/{code}" => read::region(req, p.get("period"), p.get("code")),
        GET  "/v1/assessments/{period}/rankings" => read::rankings(req, p.get("period")),
        GET  "/v1/assessments/{period}/statistics" => read::statistics(req, p.get("period")),
        GET  "/v1/assessments/{period}/departments" => read::departments(req, p.get("period")),
        GET  "/v1/assessments/{period}/export.csv" => read::export(req, p.get("period")),
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, |req| dispatch(&ROUTES, req)).await
}
