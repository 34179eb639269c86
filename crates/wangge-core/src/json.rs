//! Reading JSON request bodies into typed values, with every problem pointed at.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ErrorCode, FieldError, Problem};

/// SHA-256 of `value`'s canonical JSON, in hex: the same document with its keys in
/// another order has the same hash.
pub fn canonical_sha256(value: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(canonical(value).as_bytes()))
}

/// Canonical JSON (docs/conventions.md), for hashes and signatures: keys sorted, no
/// insignificant whitespace, UTF-8, numbers as written. Keys are sorted here rather
/// than trusting the map's order, which a feature flag anywhere in the dependency
/// graph (`preserve_order`) could change.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k]))).collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Parses a body: not JSON at all is 400 `malformed_json`; JSON of the wrong shape is
/// 422 `validation_failed` with the JSON pointer of the offending field.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => Ok(value),
            Err(trailing) => Err(malformed(&trailing)),
        },
        Err(err) => {
            let pointer = to_pointer(err.path());
            let inner = err.into_inner();
            if inner.is_data() {
                let message = inner.to_string();
                let code = if message.starts_with("unknown field") {
                    "unknown_field"
                } else if message.starts_with("missing field") {
                    "required"
                } else {
                    "type"
                };
                // A missing field is reported at the field's own pointer.
                let pointer = match (code, message.split('`').nth(1)) {
                    ("required", Some(field)) => format!("{pointer}/{}", escape(field)),
                    _ => pointer,
                };
                Err(Problem::new(ErrorCode::ValidationFailed)
                    .with_detail("the body does not match the schema", "请求体不符合结构定义")
                    .with_errors(vec![FieldError::new(pointer, code, strip_position(&message))]))
            } else {
                Err(malformed(&inner))
            }
        }
    }
}

fn malformed(e: &serde_json::Error) -> Problem {
    Problem::new(ErrorCode::MalformedJson)
        .with_detail(format!("not valid JSON: {e}"), format!("不是合法的 JSON：第 {} 行第 {} 列", e.line(), e.column()))
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// `scopes[1].name` as the JSON pointer `/scopes/1/name`.
fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } => pointer.push_str(&escape(key)),
            Segment::Enum { variant } => pointer.push_str(&escape(variant)),
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        n: u32,
    }

    #[test]
    fn syntax_errors_are_malformed() {
        let p = parse_body::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(p.code, ErrorCode::MalformedJson);
        let p = parse_body::<Body>(b"{\"name\":\"a\",\"items\":[]} trailing").unwrap_err();
        assert_eq!(p.code, ErrorCode::MalformedJson);
    }

    #[test]
    fn shape_errors_point_at_the_field() {
        let p = parse_body::<Body>(br#"{"name":"a","items":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        assert_eq!(p.code, ErrorCode::ValidationFailed);
        assert_eq!(p.errors[0].pointer, "/items/1/n");
        assert_eq!(p.errors[0].code, "type");
        let p = parse_body::<Body>(br#"{"items":[]}"#).unwrap_err();
        assert_eq!((p.errors[0].pointer.as_str(), p.errors[0].code.as_str()), ("/name", "required"));
        let p = parse_body::<Body>(br#"{"name":"a","items":[],"extra":1}"#).unwrap_err();
        assert_eq!(p.errors[0].code, "unknown_field");
    }
}
