//! `/v1/keys`: integrator API keys, created and revoked with the operator key.
//!
//! The SQLite table `api_keys` is the record; the shared key-value store holds
//! the live keys every function verifies against. A token is shown once, at
//! creation, and never stored: so creation is not replayable by `Idempotency-Key`.

use serde_json::{Value, json};
use spin_sdk::key_value::Store;
use wangge_core::auth::{ApiKey, NewKeyRequest, Scope, generate_token, hash_token};
use wangge_core::migrations::{Rows, Sql, SqlValue};
use wangge_core::page::{PageRequest, next_cursor};
use wangge_core::{ErrorCode, Problem};
use wangge_spin::auth::{KV_STORE, kv_key};
use wangge_spin::{KIB, Reply, Req, json};

use crate::COMPONENT;

fn kv_problem() -> Problem {
    Problem::new(ErrorCode::StorageUnavailable)
        .with_detail("the key store is unavailable; nothing was changed", "密钥存储暂不可用，未做任何修改")
        .with_retry_after(1)
}

/// `POST /v1/keys` → 201 with the token, once.
pub async fn create(mut req: Req) -> Reply {
    req.require(Scope::KeysAdmin)?;
    let body: NewKeyRequest = req.json(4 * KIB).await?;
    let (scopes, region_prefix) = body.validate().map_err(|errors| {
        Problem::new(ErrorCode::ValidationFailed)
            .with_detail("the key request has invalid fields", "密钥请求中有无效字段")
            .with_errors(errors)
    })?;
    let token = generate_token().map_err(|_| Problem::new(ErrorCode::Internal))?;
    let token_hash = hash_token(&token);
    let signing_secret = match body.signed {
        true => Some(generate_token().map_err(|_| Problem::new(ErrorCode::Internal))?.replacen("wg_", "wgs_", 1)),
        false => None,
    };
    let key = ApiKey {
        id: wangge_core::ids::new_id(),
        name: body.name.trim().to_owned(),
        scopes,
        region_prefix,
        created_at: wangge_core::time::render(wangge_core::time::now_utc()),
        signing_secret,
    };
    let scopes_json = serde_json::to_string(&key.scopes).map_err(|_| Problem::new(ErrorCode::Internal))?;
    let db = COMPONENT.db()?;
    db.execute(
        "INSERT INTO api_keys (id, name, scopes, region_prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            key.id.as_str().into(),
            key.name.as_str().into(),
            scopes_json.into(),
            key.region_prefix.as_str().into(),
            token_hash.as_str().into(),
            key.created_at.as_str().into(),
        ],
    )?;
    // KV has no transactions: if the live copy cannot be written, undo the record.
    let record = serde_json::to_vec(&key).map_err(|_| Problem::new(ErrorCode::Internal))?;
    let published = Store::open(KV_STORE).and_then(|store| store.set(&kv_key(&token_hash), &record));
    if published.is_err() {
        let _ = db.execute("DELETE FROM api_keys WHERE id = ?", &[key.id.as_str().into()]);
        return Err(kv_problem());
    }
    let mut answer = json!({ "key": view(&key, None), "token": token });
    if let Some(secret) = &key.signing_secret {
        answer["signing_secret"] = secret.as_str().into();
    }
    let mut response = json(201, &answer);
    response.set_header("location", format!("/v1/keys/{}", key.id));
    Ok(response)
}

/// `GET /v1/keys?limit=&cursor=`: every key, oldest first, revoked ones included.
pub fn list(req: Req) -> Reply {
    req.require(Scope::KeysAdmin)?;
    let page = PageRequest::from_query(&req.query)?;
    let rows = COMPONENT.db()?.execute(
        "SELECT id, name, scopes, region_prefix, created_at, revoked_at FROM api_keys WHERE id > ? ORDER BY id LIMIT ?",
        &[page.after.unwrap_or_default().into(), (page.limit as i64 + 1).into()],
    )?;
    let mut items: Vec<Value> = records(&rows);
    let next_cursor = next_cursor(&mut items, page.limit, |k| k["id"].as_str());
    Ok(json(200, &json!({ "items": items, "next_cursor": next_cursor })))
}

/// `DELETE /v1/keys/{id}`: the key stops working at once; its record stays.
pub fn revoke(req: Req, id: &str) -> Reply {
    req.require(Scope::KeysAdmin)?;
    let db = COMPONENT.db()?;
    let found = db.execute("SELECT token_hash, revoked_at FROM api_keys WHERE id = ?", &[id.into()])?;
    let Some(row) = found.rows.first() else {
        return Err(Problem::new(ErrorCode::NotFound)
            .with_detail(format!("no API key `{id}`"), format!("API 密钥 `{id}` 不存在")));
    };
    let token_hash = row[0].as_str().unwrap_or_default().to_owned();
    Store::open(KV_STORE).and_then(|store| store.delete(&kv_key(&token_hash))).map_err(|_| kv_problem())?;
    if row[1] == SqlValue::Null {
        let now = wangge_core::time::render(wangge_core::time::now_utc());
        db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", &[now.into(), id.into()])?;
    }
    let rows = db.execute(
        "SELECT id, name, scopes, region_prefix, created_at, revoked_at FROM api_keys WHERE id = ?",
        &[id.into()],
    )?;
    Ok(json(200, &json!({ "key": records(&rows).into_iter().next() })))
}

fn view(key: &ApiKey, revoked_at: Option<&str>) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "scopes": key.scopes,
        "region_prefix": key.region_prefix,
        "created_at": key.created_at,
        "revoked_at": revoked_at,
    })
}

fn records(rows: &Rows) -> Vec<Value> {
    rows.rows
        .iter()
        .map(|r| {
            let text = |i: usize| r[i].as_str().unwrap_or_default().to_owned();
            let key = ApiKey {
                id: text(0),
                name: text(1),
                scopes: serde_json::from_str(&text(2)).unwrap_or_default(),
                region_prefix: text(3),
                created_at: text(4),
                signing_secret: None,
            };
            view(&key, r[5].as_str())
        })
        .collect()
}
