//! Notification: WeChat subscription messages, SMS, hotline result callbacks and webhooks.
//!
//! Public routes (see `spin.toml`):
//! - `POST /v1/notifications/dispatch` — send what is due, in bounded batches (scheduler)
//! - `GET /v1/notifications?case_id=` — every message of a case, its deliveries and tries
//! - `GET /v1/notifications/dead` — dead deliveries, each with its requeue action
//! - `POST /v1/notifications/dead/{id}/requeue`
//! - `/v1/system/notification/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://notification.spin.internal`:
//! - `POST /internal/enqueue` (the outbox: messages from the other functions)
//! - `POST /internal/chain`
//!
//! Calls grid-lookup (`/internal/staff/contacts`) to reach staff, and the channels'
//! endpoints, which come from Spin variables.

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

mod channels;
mod dispatch;
mod outbox;

use wangge_spin::reply::{method_not_allowed, route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

pub(crate) const COMPONENT: Component = Component {
    name: "notification",
    database: "notification",
    // notification's schema belongs to the notify crate, beside the code that uses it.
    migrations: wangge_notify::MIGRATIONS,
    chain_next: None,
};

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, route).await
}

async fn route(req: Req) -> Reply {
    let path = req.path.clone();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&req.method, segments.as_slice()) {
        (Method::Post, ["v1", "notifications", "dispatch"]) => dispatch::dispatch(req).await,
        (Method::Get, ["v1", "notifications"]) => dispatch::trace(req),
        (Method::Get, ["v1", "notifications", "dead"]) => dispatch::dead(req),
        (Method::Post, ["v1", "notifications", "dead", id, "requeue"]) => dispatch::requeue(req, id),
        (_, ["v1", "notifications", "dispatch"] | ["v1", "notifications", "dead", _, "requeue"]) => {
            Err(method_not_allowed(&req, "POST"))
        }
        (_, ["v1", "notifications"] | ["v1", "notifications", "dead"]) => Err(method_not_allowed(&req, "GET")),
        (_, ["v1", "system", "notification", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "enqueue"]) => outbox::enqueue(req).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
