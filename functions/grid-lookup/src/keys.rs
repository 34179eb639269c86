//! `/v1/keys`: integrator API keys, created and revoked with the operator key.
//!
//! The record is `wangge_registry::keys` (grid-lookup's database); the shared
//! key-value store holds the live keys every function verifies against. A token is shown once, at
//! creation, and never stored: so creation is not replayable by `Idempotency-Key`.

use serde_json::json;
use spin_sdk::key_value::Store;
use wangge_core::auth::{ApiKey, NewKeyRequest, Scope, generate_token, hash_token};
use wangge_core::page::{PageRequest, next_cursor};
use wangge_core::{ErrorCode, Problem};
use wangge_registry::keys::{self, KeyRecord};
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
    let db = COMPONENT.db()?;
    keys::insert(&db, &key, &token_hash)?;
    // KV has no transactions: if the live copy cannot be written, undo the record.
    let record = serde_json::to_vec(&key).map_err(|_| Problem::new(ErrorCode::Internal))?;
    let published = Store::open(KV_STORE).and_then(|store| store.set(&kv_key(&token_hash), &record));
    if published.is_err() {
        let _ = keys::forget(&db, &key.id);
        return Err(kv_problem());
    }
    let mut answer = json!({ "key": KeyRecord::of(&key), "token": token });
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
    let mut items = keys::page(&COMPONENT.db()?, page.after.as_deref().unwrap_or(""), page.limit + 1)?;
    let next_cursor = next_cursor(&mut items, page.limit, |k| Some(&k.id));
    Ok(json(200, &json!({ "items": items, "next_cursor": next_cursor })))
}

/// `DELETE /v1/keys/{id}`: the key stops working at once; its record stays.
pub fn revoke(req: Req, id: &str) -> Reply {
    req.require(Scope::KeysAdmin)?;
    let db = COMPONENT.db()?;
    let Some((token_hash, _)) = keys::token_hash(&db, id)? else {
        return Err(Problem::new(ErrorCode::NotFound)
            .with_detail(format!("no API key `{id}`"), format!("API 密钥 `{id}` 不存在")));
    };
    Store::open(KV_STORE).and_then(|store| store.delete(&kv_key(&token_hash))).map_err(|_| kv_problem())?;
    let now = wangge_core::time::render(wangge_core::time::now_utc());
    Ok(json(200, &json!({ "key": keys::revoke(&db, id, &now)? })))
}
