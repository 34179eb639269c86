//! Console: the command-centre web console (指挥中心控制台) for city, district and town
//! command centres — the map, the case board and the scores in a browser.
//!
//! It serves only files: the front end built from `console/` by esbuild and embedded at
//! build time ([`assets`]), and `config.json` (the optional tile server). The browser talks
//! to the other five functions through the public API on the same origin; this component
//! never calls them, and has no database.
//!
//! - `GET /console` → 308 to `/console/`;
//! - `GET /console/` → `index.html` (`cache-control: no-cache`, a Content-Security-Policy);
//! - `GET /console/assets/<name>-<hash>.<ext>` → a content-hashed asset (immutable for a
//!   year, `etag`, `If-None-Match` → 304);
//! - `GET /console/config.json` → `{"tile_url": <console_tile_url or null>}`;
//! - anything else → 404 problem+json, as every function answers;
//! - `GET /v1/system/console/{health,version,routes}`, as the others serve theirs (no `echo`
//!   or `chain`: the console holds no key store, no secret and no database; the page
//!   learns who its key is from grid-lookup's `POST /v1/system/grid-lookup/echo`).

use serde_json::json;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;
use wangge_core::{ErrorCode, Problem, Schema};
use wangge_spin::reply::serve;
use wangge_spin::router::dispatch;
use wangge_spin::{Component, Reply, Req, route_table};

mod assets;

/// No migrations: the console keeps no state.
static NO_SCHEMA: Schema = Schema { sqlite: &[], postgres: &[] };

/// The console has no database: `database` is empty and nothing here opens one (its system
/// routes are its own, not `route_table!`'s `system(...)`, which check a database).
const COMPONENT: Component = Component { name: "console", database: "", migrations: &NO_SCHEMA, chain_next: None };

route_table! {
    static ROUTES;
    |req, p| {
        // The table ignores a trailing slash: `/console` and `/console/` both land here.
        GET  "/console" => root(&req),
        GET  "/console/index.html" => assets::serve_file(&req, "index.html", tile_url().as_deref()),
        GET  "/console/config.json" => Ok(config()),
        GET  "/console/assets/{name}" => assets::serve_file(&req, &format!("assets/{}", p.get("name")), None),
        GET  "/v1/system/console/health" => Ok(health()),
        GET  "/v1/system/console/version" => Ok(version()),
        GET  "/v1/system/console/routes" => wangge_spin::system::routes(&COMPONENT, &ROUTES),
    }
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    serve(req, &COMPONENT, |req| dispatch(&ROUTES, req)).await
}

/// `/console/` → the page; `/console` → 308 to `/console/` (so that relative URLs resolve).
fn root(req: &Req) -> Reply {
    match req.path.ends_with('/') {
        true => assets::serve_file(req, "index.html", tile_url().as_deref()),
        false => Ok(redirect("/console/")),
    }
}

/// The tile server's URL template (Spin variable `console_tile_url`), when one is set.
fn tile_url() -> Option<String> {
    spin_sdk::variables::get("tile_url").ok().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty())
}

/// `config.json`: what the front end needs at run time and cannot know at build time.
fn config() -> Response {
    let body = json!({ "tile_url": tile_url() });
    let mut response = wangge_spin::json(200, &body);
    response.set_header("cache-control", "no-cache");
    response
}

/// 308 to `location` (a path on this origin).
fn redirect(location: &str) -> Response {
    Response::builder().status(308).header("location", location).header("content-length", "0").build()
}

/// `GET /v1/system/console/health` (no key): the embedded files are there.
fn health() -> Response {
    let ok = assets::find("index.html").is_some();
    let status = if ok { 200 } else { 503 };
    wangge_spin::json(
        status,
        &json!({
            "status": if ok { "ok" } else { "degraded" },
            "component": COMPONENT.name,
            "assets": assets::ASSETS.len(),
        }),
    )
}

/// `GET /v1/system/console/version` (no key): component and version; no schema.
fn version() -> Response {
    wangge_spin::json(
        200,
        &json!({ "component": COMPONENT.name, "version": env!("CARGO_PKG_VERSION"), "schema_version": null, "api": "v1" }),
    )
}

/// 404 `route_not_found` for a file the console does not have.
fn no_such_file(req: &Req) -> Problem {
    Problem::new(ErrorCode::RouteNotFound).with_detail(
        format!("{} {} is not a console file", req.method, req.path),
        format!("{} {} 不是控制台文件", req.method, req.path),
    )
}
