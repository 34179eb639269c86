//! A request as the functions see it: head parsed up front, body read on demand
//! and never past the route's limit.

use futures::StreamExt;
use serde::de::DeserializeOwned;
use spin_sdk::http::{IncomingRequest, Method};
use wangge_core::auth::{Principal, Scope};
use wangge_core::{ErrorCode, Lang, Problem};

pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: String,
    headers: Vec<(String, Vec<u8>)>,
    pub lang: Lang,
    pub request_id: String,
    incoming: Option<IncomingRequest>,
    pub started: std::time::Instant,
}

impl Req {
    pub fn new(incoming: IncomingRequest) -> Self {
        let method = incoming.method();
        let path_with_query = incoming.path_with_query().unwrap_or_else(|| "/".into());
        let (path, query) = match path_with_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (path_with_query, String::new()),
        };
        let headers: Vec<(String, Vec<u8>)> = incoming.headers().entries();
        let find = |name: &str| {
            headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
        };
        let lang = Lang::from_accept_language(find("accept-language"));
        let request_id = find("x-request-id")
            .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .map(str::to_owned)
            .unwrap_or_else(wangge_core::ids::new_id);
        Req {
            method,
            path,
            query,
            headers,
            lang,
            request_id,
            incoming: Some(incoming),
            started: std::time::Instant::now(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// Whether `If-None-Match` names `etag` (a quoted entity tag) or is `*`: the answer is then
    /// 304. Weak tags compare by their opaque part, as RFC 9110 has `If-None-Match` do.
    pub fn if_none_match(&self, etag: &str) -> bool {
        self.header("if-none-match").is_some_and(|header| {
            header.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        })
    }

    /// Whether Spin delivered this request by service chaining: its own `spin-client-addr`
    /// (the last one, after any a client sent) is `0.0.0.0:0`, the address Spin gives a
    /// chained request and no network peer has.
    pub fn by_service_chaining(&self) -> bool {
        let last = self.headers.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case("spin-client-addr"));
        last.is_some_and(|(_, v)| v.as_slice() == b"0.0.0.0:0")
    }

    /// The path split on `/`, without empty segments: `/v1/keys/x` is `["v1","keys","x"]`.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// A query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        wangge_core::query::param(&self.query, name)
    }

    /// Checks the bearer token: see [`crate::auth`].
    pub fn principal(&self) -> Result<Principal, Problem> {
        crate::auth::authenticate(self.header("authorization"))
    }

    /// The caller, who must hold `scope` (401, or 403 `scope_missing`).
    pub fn require(&self, scope: Scope) -> Result<Principal, Problem> {
        let principal = self.principal()?;
        principal.require(scope)?;
        Ok(principal)
    }

    /// The caller, who must hold one of `scopes`.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<Principal, Problem> {
        let principal = self.principal()?;
        principal.require_any(scopes)?;
        Ok(principal)
    }

    /// The raw body, refused with 413 `body_too_large` past `limit` bytes, whether
    /// the client announced its length or not.
    pub async fn body(&mut self, limit: usize) -> Result<Vec<u8>, Problem> {
        let too_large = || {
            Problem::new(ErrorCode::BodyTooLarge)
                .with_detail(
                    format!("this endpoint accepts at most {limit} bytes"),
                    format!("该接口最多接受 {limit} 字节"),
                )
                .with_extension("limit_bytes", limit)
        };
        let announced = self.header("content-length").and_then(|v| v.trim().parse::<usize>().ok());
        if announced.is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let Some(incoming) = self.incoming.take() else {
            return Err(Problem::new(ErrorCode::Internal).with_detail("body read twice", "请求体被重复读取"));
        };
        let mut stream = incoming.into_body_stream();
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| {
                Problem::new(ErrorCode::MalformedRequest).with_detail("the body could not be read", "无法读取请求体")
            })?;
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(too_large());
            }
        }
        Ok(body)
    }

    /// A JSON body of type `T`: 415 unless the content type is JSON, 413 past
    /// `limit`, 400 `malformed_json`, 422 `validation_failed` with pointers.
    pub async fn json<T: DeserializeOwned>(&mut self, limit: usize) -> Result<T, Problem> {
        self.require_json()?;
        let body = self.body(limit).await?;
        wangge_core::json::parse_body(&body)
    }

    /// 415 `unsupported_media_type` unless the content type is JSON (`application/json`
    /// or `…+json`): for handlers that need the raw body (to check a signature over it).
    pub fn require_json(&self) -> Result<(), Problem> {
        let content_type = self.header("content-type").unwrap_or("").to_ascii_lowercase();
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media == "application/json" || media.ends_with("+json") {
            return Ok(());
        }
        Err(Problem::new(ErrorCode::UnsupportedMediaType).with_detail(
            format!("send the body as application/json, not `{media}`"),
            format!("请求体应为 application/json，而不是 `{media}`"),
        ))
    }
}
