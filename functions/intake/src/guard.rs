//! What every write to intake passes before it is stored: the deployment's settings
//! (Spin variables), the signature of a signing key, and the rate limit.

use spin_sdk::variables;
use wangge_core::auth::Principal;
use wangge_core::{ErrorCode, Problem};
use wangge_intake::signature::{self, MAX_SKEW_SECONDS, SignatureError, Signed};
use wangge_intake::store::{Guard, Refused};
use wangge_spin::Req;

/// Writes per key per minute when the variable `rate_limit_per_minute` is not set.
pub const DEFAULT_RATE_LIMIT: u32 = 600;

/// The deployment's settings, from Spin variables.
pub struct Settings {
    /// Region codes this deployment serves start with this (`jurisdiction`).
    pub jurisdiction: String,
    /// Writes per integrator key per minute (`rate_limit_per_minute`).
    pub rate_limit: u32,
}

impl Settings {
    pub fn load() -> Settings {
        let get = |name: &str| variables::get(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Settings {
            jurisdiction: get("jurisdiction").unwrap_or_default(),
            rate_limit: get("rate_limit_per_minute").and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_RATE_LIMIT),
        }
    }
}

/// The request's guard: its signature, checked now and remembered in the same
/// transaction as the write; and its key's rate window (the operator key has none).
pub fn guard(req: &Req, principal: &Principal, body: &[u8], settings: &Settings) -> Result<Guard, Problem> {
    let timestamp = req.header("x-wangge-timestamp");
    let presented = req.header("x-wangge-signature");
    let signature = match &principal.signing_secret {
        None if timestamp.is_some() || presented.is_some() => {
            return Err(Problem::new(ErrorCode::SignatureInvalid).with_detail(
                "this key has no signing secret: create a signed key to sign requests",
                "该密钥没有签名密钥：请创建签名密钥后再签名",
            ));
        }
        None => None,
        Some(secret) => {
            let path = if req.query.is_empty() { req.path.clone() } else { format!("{}?{}", req.path, req.query) };
            let method = req.method.to_string();
            let signed = Signed { timestamp, signature: presented, method: &method, path_and_query: &path, body };
            let now = wangge_core::time::now_utc().timestamp();
            signature::verify(secret, &signed, now).map_err(|e| match e {
                SignatureError::Missing => Problem::new(ErrorCode::SignatureRequired).with_detail(
                    "this key must sign every write: send X-Wangge-Timestamp and X-Wangge-Signature",
                    "该密钥的每次写入都必须签名：请发送 X-Wangge-Timestamp 和 X-Wangge-Signature",
                ),
                SignatureError::Expired { skew_seconds } => Problem::new(ErrorCode::TimestampExpired)
                    .with_detail(
                        format!("X-Wangge-Timestamp must be within {MAX_SKEW_SECONDS} s of now (unix seconds)"),
                        format!("X-Wangge-Timestamp 必须在当前时间前后 {MAX_SKEW_SECONDS} 秒内（Unix 秒）"),
                    )
                    .with_extension("server_time", now)
                    .with_extension(
                        "skew_seconds",
                        if skew_seconds == i64::MAX { serde_json::Value::Null } else { skew_seconds.into() },
                    ),
                SignatureError::Invalid => Problem::new(ErrorCode::SignatureInvalid).with_detail(
                    "X-Wangge-Signature is not HMAC-SHA-256 of timestamp, method, path and body with this key's secret",
                    "X-Wangge-Signature 与用该密钥对时间戳、方法、路径和请求体计算的 HMAC-SHA-256 不符",
                ),
            })?;
            Some((signature::replay_key(presented.unwrap_or_default()), now + 2 * MAX_SKEW_SECONDS))
        }
    };
    let rate = (!principal.is_operator()).then(|| (principal.key_id.clone(), settings.rate_limit));
    Ok(Guard { signature, rate })
}

/// The problem of a refused request.
pub fn refused(refused: Refused, settings: &Settings) -> Problem {
    match refused {
        Refused::SignatureReplayed => Problem::new(ErrorCode::SignatureReplayed).with_detail(
            "each signature is accepted once: sign again with a new timestamp",
            "每个签名只接受一次：请用新的时间戳重新签名",
        ),
        Refused::RateLimited { retry_after_seconds } => Problem::new(ErrorCode::RateLimited)
            .with_detail(
                format!("this key may write {} times a minute", settings.rate_limit),
                format!("该密钥每分钟最多写入 {} 次", settings.rate_limit),
            )
            .with_extension("limit_per_minute", settings.rate_limit)
            .with_retry_after(retry_after_seconds),
    }
}

/// The `Idempotency-Key` header, scoped to the key that sent it: at most 200
/// printable characters.
pub fn idempotency_key(req: &Req, principal: &Principal) -> Result<Option<String>, Problem> {
    match req.header("idempotency-key").map(str::trim) {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(format!("{}:{k}", principal.key_id)))
        }
        Some(_) => Err(Problem::new(ErrorCode::MalformedRequest).with_detail(
            "Idempotency-Key is 1 to 200 printable ASCII characters",
            "Idempotency-Key 应为 1 到 200 个可打印 ASCII 字符",
        )),
    }
}
