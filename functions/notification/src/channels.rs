//! The channels' endpoints and credentials (Spin variables), and one send on each.
//! A channel whose origin is unset (or a `.invalid` placeholder) is not configured,
//! and neither is WeChat without `wechat_appid` and `wechat_secret` (its default origin
//! is real, but no token can be had without them): such deliveries die at once as
//! `channel_not_configured`, and can be requeued once it is.

use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::{key_value::Store, variables};
use wangge_notify::route::{Channel, webhook_signature};
use wangge_notify::store::{Delivery, Outcome, Retry};
use wangge_notify::wechat::{Verdict, template_data, verdict};
use wangge_spin::auth::KV_STORE;

fn var(name: &str) -> String {
    variables::get(name).map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// An origin is configured when it is set and not a `.invalid` placeholder.
fn origin(name: &str) -> Option<String> {
    let origin = var(name);
    let host = origin.split("://").nth(1).unwrap_or("").split([':', '/']).next().unwrap_or("");
    (!origin.is_empty() && !host.is_empty() && !host.ends_with(".invalid"))
        .then(|| origin.trim_end_matches('/').to_owned())
}

/// The channels' settings, read once per dispatch.
pub struct Settings {
    pub wechat: Option<String>,
    pub sms: Option<String>,
    pub hotline: Option<String>,
    pub webhook: Option<String>,
    wechat_template_id: String,
    sms_template_id: String,
    sms_api_key: String,
    webhook_secret: String,
    pub retry: Retry,
}

impl Settings {
    pub fn load() -> Settings {
        Settings {
            // The default origin is WeChat's own: without the app's credentials no token can
            // be had, so the channel is not configured.
            wechat: origin("wechat_origin")
                .filter(|_| !var("wechat_appid").is_empty() && !var("wechat_secret").is_empty()),
            sms: origin("sms_origin").map(|o| format!("{o}{}", var("sms_path"))),
            hotline: origin("hotline_origin").map(|o| format!("{o}{}", var("hotline_path"))),
            webhook: origin("webhook_origin").map(|o| format!("{o}{}", var("webhook_path"))),
            wechat_template_id: var("wechat_template_id"),
            sms_template_id: var("sms_template_id"),
            sms_api_key: var("sms_api_key"),
            webhook_secret: var("webhook_secret"),
            retry: Retry {
                max_attempts: var("notification_max_attempts")
                    .parse()
                    .ok()
                    .filter(|n| (1..=50).contains(n))
                    .unwrap_or(wangge_notify::route::DEFAULT_MAX_ATTEMPTS),
                first_backoff_seconds: var("notification_first_backoff_seconds")
                    .parse()
                    .ok()
                    .filter(|n| (1..=3600).contains(n))
                    .unwrap_or(wangge_notify::route::FIRST_BACKOFF_SECONDS),
            },
        }
    }
}

fn status_outcome(status: u16, body: &[u8]) -> Outcome {
    let detail = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match status {
        200..=299 => Outcome::Delivered { status: Some(status) },
        // Refused for good: the request is wrong and will stay wrong.
        400 | 401 | 403 | 404 | 410 | 422 => Outcome::Final { status: Some(status), detail: detail() },
        _ => Outcome::Retry { status: Some(status), detail: detail() },
    }
}

async fn post(url: &str, headers: &[(&str, String)], body: &Value) -> Result<Response, String> {
    let mut builder = Request::builder();
    builder.method(Method::Post).uri(url).header("content-type", "application/json");
    for (name, value) in headers {
        builder.header(*name, value.as_str());
    }
    let request = builder.body(body.to_string().into_bytes()).build();
    spin_sdk::http::send(request).await.map_err(|e| e.to_string())
}

/// A channel's answer to a post: its status decides, or it was not reached.
fn sent(answer: Result<Response, String>) -> Outcome {
    match answer {
        Ok(r) => status_outcome(*r.status(), r.body()),
        Err(e) => not_reached(e),
    }
}

fn not_reached(e: String) -> Outcome {
    Outcome::Retry { status: None, detail: format!("unreachable: {e}") }
}

fn not_configured(channel: Channel) -> Outcome {
    Outcome::Final { status: None, detail: format!("channel_not_configured: set the {} variables", channel.as_str()) }
}

/// The WeChat access token: cached in the key-value store until shortly before it
/// expires, fetched with the app id and secret otherwise (or when `force`d after a
/// 40001/42001). The only key-value write of notification, once per two hours.
pub async fn wechat_token(origin: &str, force: bool) -> Result<String, String> {
    const KEY: &str = "wechat:access_token";
    let now = wangge_core::time::now_utc().timestamp();
    let store = Store::open(KV_STORE).map_err(|e| e.to_string())?;
    if !force
        && let Ok(Some(cached)) = store.get_json::<Value>(KEY)
        && cached["expires_at"].as_i64().is_some_and(|t| t > now + 60)
        && let Some(token) = cached["token"].as_str()
    {
        return Ok(token.to_owned());
    }
    let url = format!(
        "{origin}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        var("wechat_appid"),
        var("wechat_secret")
    );
    let response: Response =
        spin_sdk::http::send(Request::get(url.as_str())).await.map_err(|e| format!("token endpoint: {e}"))?;
    let answer: Value = serde_json::from_slice(response.body()).unwrap_or_default();
    let token = answer["access_token"].as_str().ok_or_else(|| format!("no access token: {answer}"))?.to_owned();
    let expires_at = now + answer["expires_in"].as_i64().unwrap_or(7200);
    let _ = store.set_json(KEY, &json!({ "token": token, "expires_at": expires_at }));
    Ok(token)
}

/// WeChat refused the pass's access token: the dispatcher fetches a new one, once for
/// the whole pass, and tries the refused deliveries again with it.
pub struct TokenRefused;

/// One try of one delivery. `token` is the pass's WeChat access token, or why there is
/// none.
pub async fn send(
    settings: &Settings,
    delivery: &Delivery,
    token: &Result<String, String>,
    now: &str,
) -> Result<Outcome, TokenRefused> {
    match delivery.channel {
        Channel::Wechat => send_wechat(settings, delivery, token, now).await,
        _ => Ok(send_other(settings, delivery).await),
    }
}

async fn send_wechat(
    settings: &Settings,
    delivery: &Delivery,
    token: &Result<String, String>,
    now: &str,
) -> Result<Outcome, TokenRefused> {
    let Some(origin) = &settings.wechat else { return Ok(not_configured(Channel::Wechat)) };
    let token = match token {
        Ok(token) => token,
        Err(e) => return Ok(not_reached(e.clone())),
    };
    let body = json!({
        "touser": delivery.address,
        "template_id": settings.wechat_template_id,
        "page": format!("pages/case/detail?id={}", delivery.case_id.as_deref().unwrap_or_default()),
        "data": template_data(&delivery.kind, &delivery.payload, now),
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    });
    let url = format!("{origin}/cgi-bin/message/subscribe/send?access_token={token}");
    let response = match post(&url, &[], &body).await {
        Ok(r) => r,
        Err(e) => return Ok(not_reached(e)),
    };
    if !(200..300).contains(response.status()) {
        return Ok(status_outcome(*response.status(), response.body()));
    }
    let answer: Value = serde_json::from_slice(response.body()).unwrap_or_default();
    Ok(match verdict(&answer) {
        Verdict::Sent => Outcome::Delivered { status: Some(200) },
        Verdict::TokenExpired => return Err(TokenRefused),
        Verdict::Final(code, msg) => Outcome::Final { status: Some(200), detail: format!("wechat {code}: {msg}") },
        Verdict::Retry(code, msg) => Outcome::Retry { status: Some(200), detail: format!("wechat {code}: {msg}") },
    })
}

/// A WeChat delivery whose token was refused again after the pass fetched a new one.
pub fn token_refused_after_refresh() -> Outcome {
    Outcome::Retry { status: Some(200), detail: "access token refused after refresh".into() }
}

async fn send_other(settings: &Settings, delivery: &Delivery) -> Outcome {
    match delivery.channel {
        Channel::Wechat => unreachable!("WeChat is sent by send_wechat"),
        Channel::Sms => {
            let Some(url) = &settings.sms else { return not_configured(Channel::Sms) };
            let body = json!({
                "phone": delivery.address,
                "template_id": settings.sms_template_id,
                "params": [
                    wangge_notify::wechat::subject(&delivery.kind),
                    delivery.case_id.as_deref().unwrap_or_default(),
                    wangge_notify::wechat::state_phrase(delivery.payload["state"].as_str().unwrap_or_default()),
                ],
                "idempotency_key": delivery.id,
            });
            sent(post(url, &[("authorization", format!("Bearer {}", settings.sms_api_key))], &body).await)
        }
        Channel::Hotline => {
            let Some(url) = &settings.hotline else { return not_configured(Channel::Hotline) };
            let body = json!({
                "order_no": delivery.address,
                "case_id": delivery.case_id,
                "result": wangge_notify::wechat::state_phrase(delivery.payload["state"].as_str().unwrap_or_default()),
                "closed_at": delivery.payload["closed_at"],
                "idempotency_key": delivery.id,
            });
            sent(post(url, &[], &body).await)
        }
        Channel::Webhook => {
            let Some(url) = &settings.webhook else { return not_configured(Channel::Webhook) };
            let body = json!({
                "id": delivery.id,
                "kind": delivery.kind,
                "recipient": { "kind": delivery.recipient_kind, "id": delivery.address },
                "urgent": delivery.urgent,
                "case": delivery.payload,
            });
            let timestamp = wangge_core::time::now_utc().timestamp();
            let signature =
                webhook_signature(&settings.webhook_secret, &delivery.id, timestamp, body.to_string().as_bytes());
            let headers = [
                ("x-wangge-id", delivery.id.clone()),
                ("x-wangge-timestamp", timestamp.to_string()),
                ("x-wangge-signature", signature),
            ];
            sent(post(url, &headers, &body).await)
        }
    }
}
