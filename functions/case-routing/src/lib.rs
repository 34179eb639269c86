//! Case routing: the case lifecycle, deadlines on the working calendar, supervision
//! (督办) and escalation (吹哨), and the reference data they run on.
//!
//! Its routes are the table [`ROUTES`] (dispatch, 404 and 405 come from it). Internal
//! routes (`/internal/...`) are reached through `http://case-routing.spin.internal`, or by
//! URL with the internal key from another app (`wangge_spin::chain::admit`);
//! the facts stream `GET /internal/facts?from=&to=` (NDJSON, for assessment) writes its
//! own response, so it is picked out before the table.

use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

mod cases;
mod facts;
mod reference;

use wangge_cases::api;
use wangge_core::internal::Route;
use wangge_spin::reply::{send, serve};
use wangge_spin::router::dispatch;
use wangge_spin::{Component, route_table};

const COMPONENT: Component = Component {
    name: "case-routing",
    database: "case_routing",
    // case-routing's schema belongs to the cases crate, beside the code that uses it.
    migrations: &wangge_cases::reference::SCHEMA,
    chain_next: Some("notification"),
};

route_table! {
    static ROUTES: system(COMPONENT, "case-routing");
    |req, p| {
        GET  "/v1/cases" => cases::list(req),
        POST "/v1/cases/sweep" => cases::sweep(req).await,
        GET  "/v1/cases/{id}" => cases::get(req, p.get("id")),
        GET  "/v1/cases/{id}/log" => cases::log(req, p.get("id")),
        POST "/v1/cases/{id}/actions" => cases::act(req, p.get("id")).await,
        GET  "/v1/calendar/deadline" => reference::deadline(req),
        PUT  "/v1/calendar/{year}" => reference::put_calendar(req, p.get("year")).await,
        GET  "/v1/calendar/{year}" => reference::get_calendar(req, p.get("year")),
        PUT  "/v1/categories" => reference::put_categories(req).await,
        GET  "/v1/categories" => reference::get_categories(req),
        GET  "/v1/categories/{code}" => reference::get_category(req, p.get("code")),
        PUT  "/v1/departments" => reference::put_departments(req).await,
        GET  "/v1/departments" => reference::list_departments(req),
        POST <api::CreateCase as Route>::PATH => cases::create(req).await,
        POST <api::CaseStates as Route>::PATH => cases::states(req).await,
        GET  <api::Categories as Route>::PATH => cases::categories(),
        POST <api::Corrections as Route>::PATH => cases::corrections(req).await,
    }
}

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    // The facts stream writes its own response; everything else is answered whole.
    if req.path_with_query().is_some_and(|p| p.split('?').next() == Some(api::FACTS_PATH)) {
        return facts::stream(req, out).await;
    }
    send(out, serve(req, &COMPONENT, |req| dispatch(&ROUTES, req)).await).await;
}
