//! A function's route table, in Spin's terms: handlers take the [`Req`] and the path's
//! [`Params`] and answer a [`Reply`]. Dispatch, 404 and 405 come from the table
//! ([`wangge_core::route`]), as with the Spin SDK's `http_router!`, and so does the
//! `GET /v1/system/<component>/routes` listing that the OpenAPI check reads.
//!
//! ```text
//! wangge_spin::route_table! {
//!     static ROUTES: system(COMPONENT, "case-routing");
//!     |req, p| {
//!         GET  "/v1/cases/{id}" => cases::get(req, p.get("id")),
//!         POST "/v1/cases/{id}/actions" => cases::act(req, p.get("id")).await,
//!     }
//! }
//! ```

use std::future::Future;
use std::pin::Pin;

pub use wangge_core::route::{Found, Params, Row, Table};

use crate::reply::{method_not_allowed, route_not_found};
use crate::{Reply, Req};

/// A handler's answer, on its way.
pub type Pending = Pin<Box<dyn Future<Output = Reply>>>;
/// One route's handler.
pub type Handler = fn(Req, Params) -> Pending;
/// A function's route table.
pub type Routes = Table<Handler>;

/// Answers `req` from `routes`: its row's handler, or 405 `method_not_allowed` with the
/// path's methods, or 404 `route_not_found`.
pub async fn dispatch(routes: &'static Routes, req: Req) -> Reply {
    match routes.find(&req.method.to_string(), &req.path) {
        Found::Route(row, params) => (row.handler)(req, params).await,
        Found::MethodNotAllowed(allow) => Err(method_not_allowed(&req, &allow)),
        Found::NotFound => Err(route_not_found(&req)),
    }
}

/// One row: `METHOD "pattern", |req, p| body`, the body an expression that may `.await`.
#[macro_export]
macro_rules! route_row {
    ($method:ident $pattern:expr, |$req:ident, $p:ident| $body:expr) => {
        $crate::router::Row {
            method: stringify!($method),
            pattern: $pattern,
            handler: |$req: $crate::Req, $p: $crate::router::Params| -> $crate::router::Pending {
                let _ = &$p;
                Box::pin(async move { $body })
            },
        }
    };
}

/// Declares a function's route table as a `static`. With `system(COMPONENT)`, the table
/// also holds the `/v1/system/<component>/…` routes every function serves
/// ([`crate::system`]) and `POST /internal/chain`; `mounted [T, …]` names tables that an
/// `ANY …/{rest...}` row hands over to, for the listing.
#[macro_export]
macro_rules! route_table {
    (
        $(#[$meta:meta])* $vis:vis static $table:ident $(: system($component:path, $name:literal))?
        $(, mounted [$($mounted:path),* $(,)?])?;
        |$req:ident, $p:ident| { $( $method:ident $pattern:expr => $body:expr ),* $(,)? }
    ) => {
        $(#[$meta])* $vis static $table: $crate::router::Routes = $crate::router::Table {
            rows: &[
                $( $crate::route_row!($method $pattern, |$req, $p| $body), )*
                $(
                    $crate::route_row!(GET concat!("/v1/system/", $name, "/health"),
                        |req, p| $crate::system::health(&$component)),
                    $crate::route_row!(GET concat!("/v1/system/", $name, "/version"),
                        |req, p| $crate::system::version(&$component)),
                    $crate::route_row!(GET concat!("/v1/system/", $name, "/routes"),
                        |req, p| $crate::system::routes(&$component, &$table)),
                    $crate::route_row!(POST concat!("/v1/system/", $name, "/echo"),
                        |req, p| $crate::system::echo(req, &$component).await),
                    $crate::route_row!(POST concat!("/v1/system/", $name, "/chain"),
                        |req, p| $crate::system::chain(req, &$component).await),
                    $crate::route_row!(POST "/internal/chain",
                        |req, p| $crate::system::internal_chain(req, &$component).await),
                )?
            ],
            mounted: &[ $($( &$mounted ),*)? ],
        };
        $( const _: () = assert!($crate::router::same($component.name, $name), "system(COMPONENT, name): the name is the component's"); )?
    };
}

/// Whether two strings are equal, at compile time.
pub const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
