//! Notification: WeChat subscription messages, SMS, hotline result callbacks and webhooks.
//!
//! Its routes are the table [`ROUTES`] (dispatch, 404 and 405 come from it). The other
//! functions put messages in its outbox through `POST /internal/enqueue`.
//!
//! Calls grid-lookup (`/internal/staff/contacts`) to reach staff, and the channels'
//! endpoints, which come from Spin variables.

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

mod channels;
mod dispatch;
mod outbox;

use wangge_core::internal::Route;
use wangge_spin::reply::serve;
use wangge_spin::{Component, route_table, router};

pub(crate) const COMPONENT: Component = Component {
    name: "notification",
    database: "notification",
    // notification's schema belongs to the notify crate, beside the code that uses it.
    migrations: &wangge_notify::SCHEMA,
    chain_next: None,
};

route_table! {
    static ROUTES: system(COMPONENT, "notification");
    |req, p| {
        POST "/v1/notifications/dispatch" => dispatch::dispatch(req).await,
        GET  "/v1/notifications" => dispatch::trace(req),
        GET  "/v1/notifications/dead" => dispatch::dead(req),
        POST "/v1/notifications/dead/{id}/requeue" => dispatch::requeue(req, p.get("id")),
        POST <wangge_notify::api::Enqueue as Route>::PATH => outbox::enqueue(req).await,
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, |req| router::dispatch(&ROUTES, req)).await
}
