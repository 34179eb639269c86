//! `/v1/system/<component>/…`: what every function serves to prove the plumbing.
//!
//! - `GET  health`  — database reachable and migrated, key-value store reachable (no key needed);
//! - `GET  version` — build and schema versions (no key needed);
//! - `POST echo`    — any valid key: the JSON body back, with who the key is;
//! - `GET  routes`  — this function's public routes, read from its route table (no key needed);
//! - `POST chain`   — any valid key: one call chained through the functions
//!   (intake → grid-lookup → case-routing → notification; assessment → case-routing →
//!   notification). Each hop writes its own database and the shared key-value store.
//!
//! The internal hop is `POST /internal/chain`, a path no public route maps, so only
//! service chaining (`http://<component>.spin.internal`) reaches it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spin_sdk::key_value::Store;
use wangge_core::migrations::{Sql, SqlValue, current_version};
use wangge_core::{ErrorCode, Problem};

use crate::auth::KV_STORE;
use crate::reply::json;
use crate::router::Routes;
use crate::{Component, KIB, Reply, Req};

/// One function's part of a chained call.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hop {
    pub component: String,
    pub database: String,
    /// Rows this function's chain table holds after the write.
    pub rows: i64,
    /// The shared key-value key this hop wrote.
    pub kv_key: String,
    pub at: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChainRequest {
    pub chain_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChainAnswer {
    pub chain_id: String,
    pub hops: Vec<Hop>,
}

/// `POST echo`: any valid key; the JSON body back (at most 64 KiB), with who the key is.
pub async fn echo(mut req: Req, component: &Component) -> Reply {
    let principal = req.principal()?;
    let body: Value = req.json(64 * KIB).await?;
    Ok(json(
        200,
        &json!({
            "component": component.name,
            "request_id": req.request_id,
            "key": {
                "id": principal.key_id,
                "name": principal.name,
                "scopes": principal.scopes,
                "region_prefix": principal.region_prefix,
            },
            "echo": body,
        }),
    ))
}

/// `POST chain`: any valid key; one call chained through the functions.
pub async fn chain(req: Req, component: &Component) -> Reply {
    req.principal()?;
    let chain_id = wangge_core::ids::new_id();
    let answer = chain_hop(component, &chain_id, &req.request_id).await?;
    Ok(json(200, &answer))
}

/// `GET routes` (no key): the public routes of this function's table, as `{method,
/// path}` with named parameters; what the OpenAPI document must list.
pub fn routes(component: &Component, table: &'static Routes) -> Reply {
    let routes: Vec<Value> = table
        .listing()
        .into_iter()
        .filter(|(_, pattern)| !pattern.starts_with("/internal/"))
        .map(|(method, path)| json!({ "method": method, "path": path }))
        .collect();
    Ok(json(200, &json!({ "component": component.name, "routes": routes })))
}

/// `POST /internal/chain`, reached only through service chaining.
pub async fn internal_chain(mut req: Req, component: &Component) -> Reply {
    let body: ChainRequest = req.json(4 * KIB).await?;
    let answer = chain_hop(component, &body.chain_id, &req.request_id).await?;
    Ok(json(200, &answer))
}

/// Calls the next function first, then records this hop: a hop that fails
/// downstream writes nothing here.
async fn chain_hop(component: &Component, chain_id: &str, request_id: &str) -> Result<ChainAnswer, Problem> {
    let mut hops = match component.chain_next {
        Some(next) => {
            let answer: ChainAnswer = crate::chain::post_json(
                next,
                "/internal/chain",
                request_id,
                &ChainRequest { chain_id: chain_id.to_owned() },
            )
            .await?;
            answer.hops
        }
        None => Vec::new(),
    };
    let db = component.db()?;
    let at = wangge_core::time::render(wangge_core::time::now_utc());
    let rows = db.transaction(|db| -> Result<i64, Problem> {
        db.execute(
            "INSERT INTO system_chain (chain_id, component, at) VALUES (?, ?, ?)",
            &[chain_id.into(), component.name.into(), at.as_str().into()],
        )?;
        Ok(db.execute("SELECT count(*) FROM system_chain", &[])?.scalar().and_then(SqlValue::as_i64).unwrap_or(0))
    })?;
    let kv_key = format!("chain:{}:last", component.name);
    Store::open(KV_STORE)
        .and_then(|store| store.set(&kv_key, chain_id.as_bytes()))
        .map_err(|_| Problem::new(ErrorCode::StorageUnavailable).with_retry_after(1))?;
    hops.insert(0, Hop { component: component.name.into(), database: component.database.into(), rows, kv_key, at });
    Ok(ChainAnswer { chain_id: chain_id.to_owned(), hops })
}

/// `GET health` (no key): database reachable and migrated, key-value store reachable.
pub fn health(component: &Component) -> Reply {
    let db = component.db()?;
    db.execute("SELECT 1", &[])?;
    let kv = Store::open(KV_STORE).and_then(|s| s.exists("health")).is_ok();
    let status = if kv { 200 } else { 503 };
    Ok(json(
        status,
        &json!({
            "status": if kv { "ok" } else { "degraded" },
            "component": component.name,
            "database": { "label": component.database, "ok": true },
            "key_value": { "label": KV_STORE, "ok": kv },
        }),
    ))
}

/// `GET version` (no key): component, version and schema version.
pub fn version(component: &Component) -> Reply {
    let db = component.db()?;
    let schema = current_version(&db)?;
    Ok(json(
        200,
        &json!({
            "component": component.name,
            "version": env!("CARGO_PKG_VERSION"),
            "schema_version": schema,
            "api": "v1",
        }),
    ))
}
