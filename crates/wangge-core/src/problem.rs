//! Errors as `application/problem+json` (RFC 9457), the one error shape of every function.
//!
//! Each [`ErrorCode`] is stable: its string never changes meaning, and its HTTP status and
//! titles live here, in one table, so the README, the tests and the five functions agree.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Lang;

macro_rules! error_codes {
    ($( $variant:ident = $code:literal, $status:literal, $en:literal, $zh:literal; )*) => {
        /// A stable, snake_case error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The code of a stable string, as another function's problem carries it.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
            }

            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            pub fn title(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $( (ErrorCode::$variant, Lang::En) => $en,
                       (ErrorCode::$variant, Lang::Zh) => $zh, )*
                }
            }
        }
    };
}

error_codes! {
    // 400
    MalformedJson = "malformed_json", 400, "The body is not valid JSON", "请求体不是合法的 JSON";
    MalformedRequest = "malformed_request", 400, "The request is malformed", "请求格式错误";
    InvalidParameter = "invalid_parameter", 400, "A query parameter is not valid", "查询参数无效";
    MalformedDataset = "malformed_dataset", 400, "The dataset is not in the expected format", "数据集格式不正确";
    // 401 / 403
    Unauthenticated = "unauthenticated", 401, "An API key is required", "缺少 API 密钥";
    InvalidApiKey = "invalid_api_key", 401, "The API key is not valid", "API 密钥无效";
    ScopeMissing = "scope_missing", 403, "The API key lacks the scope this needs", "API 密钥缺少所需权限";
    RegionForbidden = "region_forbidden", 403, "The API key may not touch this region", "API 密钥无权访问该区域";
    SignatureRequired = "signature_required", 401, "This key must sign its requests", "该密钥的请求必须签名";
    SignatureInvalid = "signature_invalid", 401, "The request signature does not match", "请求签名不匹配";
    TimestampExpired = "timestamp_expired", 401, "The signed timestamp is more than 5 minutes away", "签名时间戳与当前时间相差超过 5 分钟";
    SignatureReplayed = "signature_replayed", 401, "This signature was already used", "该签名已被使用过";
    ActorForbidden = "actor_forbidden", 403, "This actor may not do this to this case", "该操作人无权对此案件执行此操作";
    // 404 / 405
    RouteNotFound = "route_not_found", 404, "No such endpoint", "接口不存在";
    NotFound = "not_found", 404, "No such resource", "资源不存在";
    OutsideCoverage = "outside_coverage", 404, "The point lies in no grid", "该位置不在任何网格内";
    AddressUnresolved = "address_unresolved", 404, "The address matches no standard address", "无法匹配标准地址";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed on this endpoint", "该接口不支持此方法";
    // 409 / 412
    Conflict = "conflict", 409, "The request conflicts with the current state", "请求与当前状态冲突";
    IdempotencyKeyReused = "idempotency_key_reused", 409, "The idempotency key was used with a different body", "该幂等键已用于不同的请求体";
    DatasetMissing = "dataset_missing", 409, "A dataset this needs has not been imported", "所依赖的数据集尚未导入";
    ImportInProgress = "import_in_progress", 409, "Another import is running; retry after the stated time", "另一项导入正在进行，请稍后重试";
    // 413 / 415
    BodyTooLarge = "body_too_large", 413, "The body is larger than this endpoint accepts", "请求体超过该接口的大小上限";
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported content type", "不支持的内容类型";
    // 422
    ValidationFailed = "validation_failed", 422, "The request is well-formed but some fields are not acceptable", "部分字段不符合要求";
    UnknownCategory = "unknown_category", 422, "No such category in the catalogue of matters", "事项目录中没有该类别";
    CoordinatesOutOfRange = "coordinates_out_of_range", 422, "The coordinates are out of range", "坐标超出取值范围";
    OutsideChina = "outside_china", 422, "The point lies outside China", "该位置不在中国境内";
    OutsideJurisdiction = "outside_jurisdiction", 422, "The point lies outside this deployment's jurisdiction", "该位置不在本部署的辖区内";
    // 429
    RateLimited = "rate_limited", 429, "Too many requests for this key; retry after the stated time", "该密钥请求过于频繁，请稍后重试";
    // 5xx
    Internal = "internal_error", 500, "Internal error", "内部错误";
    StorageUnavailable = "storage_unavailable", 503, "Storage is unavailable", "存储暂不可用";
    DependencyUnavailable = "dependency_unavailable", 503, "A service this depends on is unavailable", "依赖的服务暂不可用";
}

/// One bad field of a request body: where (a JSON pointer), what rule, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub pointer: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), code: code.into(), message: message.into() }
    }
}

/// Text a client reads, in both languages; the response picks one.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self { en: en.into(), zh: zh.into() }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: ErrorCode,
    /// Boxed, like `cause`: a problem travels in every `Result` of the functions, so it
    /// stays small.
    pub detail: Option<Box<Text>>,
    pub errors: Vec<FieldError>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u32>,
    /// Extra members (RFC 9457 extensions), e.g. `current_state` on a conflict.
    pub extensions: Map<String, Value>,
    /// What went wrong inside, for the log line of the response; never shown to the client.
    pub cause: Option<Box<str>>,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl Problem {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, detail: None, errors: Vec::new(), retry_after: None, extensions: Map::new(), cause: None }
    }

    /// Another function's problem, as it rendered it: passed on to our caller with
    /// its code, detail (in the language it was asked for), pointers and extensions.
    pub fn from_json(body: &Value) -> Option<Problem> {
        let code = ErrorCode::parse(body.get("code")?.as_str()?)?;
        let mut problem = Problem::new(code);
        if let Some(detail) = body.get("detail").and_then(Value::as_str) {
            problem = problem.with_detail(detail, detail);
        }
        if let Some(errors) = body.get("errors").and_then(Value::as_array) {
            let field = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            problem.errors = errors
                .iter()
                .map(|e| FieldError::new(field(e, "pointer"), field(e, "code"), field(e, "message")))
                .collect();
        }
        if let Some(map) = body.as_object() {
            for (k, v) in map {
                if !matches!(k.as_str(), "type" | "title" | "status" | "code" | "detail" | "errors") {
                    problem.extensions.insert(k.clone(), v.clone());
                }
            }
        }
        Some(problem)
    }

    /// 400 `invalid_parameter`, naming the query parameter (`parameter`) and why.
    pub fn invalid_parameter(name: &str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Problem::new(ErrorCode::InvalidParameter).with_detail(en, zh).with_extension("parameter", name)
    }

    pub fn with_detail(mut self, en: impl Into<String>, zh: impl Into<String>) -> Self {
        self.detail = Some(Box::new(Text::new(en, zh)));
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// What went wrong inside: logged, never shown to the client.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into().into_boxed_str());
        self
    }

    pub fn with_extension(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The response body, in the client's language.
    pub fn to_json(&self, lang: Lang) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), format!("https://wangge.dev/problems/{}", self.code.as_str()).into());
        body.insert("title".into(), self.code.title(lang).into());
        body.insert("status".into(), self.status().into());
        body.insert("code".into(), self.code.as_str().into());
        if let Some(detail) = &self.detail {
            body.insert("detail".into(), detail.get(lang).into());
        }
        if !self.errors.is_empty() {
            body.insert("errors".into(), serde_json::to_value(&self.errors).unwrap_or_default());
        }
        for (k, v) in &self.extensions {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }

    /// Response headers besides the content type.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", PROBLEM_CONTENT_TYPE.to_owned())];
        if let Some(seconds) = self.retry_after {
            headers.push(("retry-after", seconds.to_string()));
        }
        headers
    }
}

/// Storage that fails is 503 `storage_unavailable`, to be retried shortly; the cause
/// goes to the response's log line, not to the client.
impl From<crate::migrations::StorageError> for Problem {
    fn from(e: crate::migrations::StorageError) -> Self {
        let mut problem = Problem::new(ErrorCode::StorageUnavailable)
            .with_detail("storage is unavailable; retry shortly", "存储暂不可用，请稍后重试")
            .with_retry_after(1);
        problem.cause = Some(e.to_string().into());
        problem
    }
}

impl From<ErrorCode> for Problem {
    fn from(code: ErrorCode) -> Self {
        Problem::new(code)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code.as_str(), self.status())?;
        if let Some(detail) = &self.detail {
            write!(f, ": {}", detail.en)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_have_error_statuses() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!((400..600).contains(&code.status()), "{s}");
            assert!(!code.title(Lang::Zh).is_ascii(), "{s} needs a Chinese title");
        }
    }

    #[test]
    fn renders_rfc9457_with_pointers_and_language() {
        let p = Problem::new(ErrorCode::ValidationFailed)
            .with_detail("1 field", "1 个字段")
            .with_errors(vec![FieldError::new("/lat", "out_of_range", "lat must be within -90..90")]);
        let en = p.to_json(Lang::En);
        assert_eq!(en["status"], 422);
        assert_eq!(en["code"], "validation_failed");
        assert_eq!(en["detail"], "1 field");
        assert_eq!(en["errors"][0]["pointer"], "/lat");
        assert_eq!(p.to_json(Lang::Zh)["detail"], "1 个字段");
        assert_eq!(p.to_json(Lang::Zh)["title"], "部分字段不符合要求");
    }

    #[test]
    fn retry_after_header() {
        let p = Problem::new(ErrorCode::DependencyUnavailable).with_retry_after(5);
        assert!(p.headers().contains(&("retry-after", "5".to_owned())));
    }
}
