//! Bearer-token authentication, the same in every function.
//!
//! The operator key is the secret Spin variable `operator_key`. Integrator keys live in
//! the shared key-value store `default` under `apikey:<sha256 hex>`, written by the
//! key owner (grid-lookup, `/v1/keys`); every function only reads them.

use spin_sdk::{key_value::Store, variables};
use wangge_core::auth::{ApiKey, Principal, constant_time_eq, hash_token};
use wangge_core::{ErrorCode, Problem};

/// The shared key-value store every component declares.
pub const KV_STORE: &str = "default";

/// The key-value key under which an integrator key's record is stored.
pub fn kv_key(token_hash: &str) -> String {
    format!("apikey:{token_hash}")
}

pub fn authenticate(authorization: Option<&str>) -> Result<Principal, Problem> {
    let Some(header) = authorization else {
        return Err(Problem::new(ErrorCode::Unauthenticated)
            .with_detail("send `Authorization: Bearer <key>`", "请在请求头中提供 `Authorization: Bearer <密钥>`"));
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Problem::new(ErrorCode::Unauthenticated).with_detail(
                "the Authorization header must be `Bearer <key>`",
                "Authorization 请求头应为 `Bearer <密钥>`",
            )
        })?;
    let presented = hash_token(token);

    if let Ok(operator_key) = variables::get("operator_key")
        && !operator_key.is_empty()
        && constant_time_eq(hash_token(&operator_key).as_bytes(), presented.as_bytes())
    {
        return Ok(Principal::operator());
    }

    let store = Store::open(KV_STORE).map_err(|_| kv_unavailable())?;
    let record: Option<ApiKey> = store.get_json(kv_key(&presented)).map_err(|_| kv_unavailable())?;
    record.map(Principal::from_key).ok_or_else(|| {
        Problem::new(ErrorCode::InvalidApiKey).with_detail("unknown or revoked API key", "API 密钥不存在或已被吊销")
    })
}

fn kv_unavailable() -> Problem {
    Problem::new(ErrorCode::StorageUnavailable)
        .with_detail("the key store is unavailable; retry shortly", "密钥存储暂不可用，请稍后重试")
        .with_retry_after(1)
}
