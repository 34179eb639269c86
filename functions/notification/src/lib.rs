//! Notification: WeChat, SMS, hotline callbacks and webhooks.
//!
//! Public routes (see `spin.toml`):
//! - `/v1/notifications/...`
//! - `/v1/system/notification/...` — health, version, echo, chain
//!
//! Internal routes, reached only through `http://notification.spin.internal`:
//! - `POST /internal/enqueue` (the outbox: messages from the other functions)
//! - `POST /internal/chain`

use spin_sdk::http::{IncomingRequest, Method, Response};
use spin_sdk::http_component;

mod outbox;

use wangge_core::Migration;
use wangge_spin::reply::{route_not_found, serve};
use wangge_spin::{Component, Reply, Req, system};

pub(crate) const COMPONENT: Component = Component {
    name: "notification",
    database: "notification",
    migrations: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "outbox", sql: include_str!("../migrations/0002_outbox.sql") },
    ],
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
        (_, ["v1", "system", "notification", rest @ ..]) => system::handle(req, &COMPONENT, rest).await,
        (Method::Post, ["internal", "enqueue"]) => outbox::enqueue(req).await,
        (Method::Post, ["internal", "chain"]) => system::internal_chain(req, &COMPONENT).await,
        _ => Err(route_not_found(&req)),
    }
}
