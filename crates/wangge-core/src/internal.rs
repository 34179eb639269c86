//! Internal routes: the messages functions send each other over service chaining.
//!
//! Each internal route is one type implementing [`Route`], defined once in the crate of
//! the function that serves it, with one request type and one response type. Caller and
//! server both use them, so a renamed field breaks both at compile time, and a message
//! from a mismatched build is refused at run time: every message type denies unknown
//! fields and defaults none of its own.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One internal route.
pub trait Route {
    /// The component that serves it (its `<component>.spin.internal` host).
    const COMPONENT: &'static str;
    /// `GET` or `POST`.
    const METHOD: &'static str;
    /// The path, under `/internal/`.
    const PATH: &'static str;
    /// What the caller sends (`()` for a `GET`).
    type Request: Serialize + DeserializeOwned;
    /// What the server answers with 2xx.
    type Response: Serialize + DeserializeOwned;
}

/// Declares an internal route: a unit type implementing [`Route`], with its doc.
///
/// ```text
/// wangge_core::internal_route! {
///     /// `POST /internal/enqueue`: the outbox.
///     Enqueue: POST "notification" "/internal/enqueue", Batch => Enqueued
/// }
/// ```
#[macro_export]
macro_rules! internal_route {
    ($(#[$meta:meta])* $name:ident: $method:ident $component:literal $path:expr, $request:ty => $response:ty) => {
        $(#[$meta])*
        pub struct $name;

        impl $crate::internal::Route for $name {
            const COMPONENT: &'static str = $component;
            const METHOD: &'static str = stringify!($method);
            const PATH: &'static str = $path;
            type Request = $request;
            type Response = $response;
        }
    };
}

/// For an `Option` field that must be sent, as `null` when empty
/// (`#[serde(deserialize_with = "wangge_core::internal::present")]`): with it, a missing
/// field is an error instead of `None`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer)
}

/// Reads a message strictly: unknown and missing fields are errors, named in the text.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Ping {
        id: String,
        n: u32,
        #[serde(deserialize_with = "present")]
        note: Option<String>,
    }

    #[test]
    fn unknown_and_missing_fields_are_errors() {
        assert_eq!(parse::<Ping>(br#"{"id":"a","n":1,"note":null}"#), Ok(Ping { id: "a".into(), n: 1, note: None }));
        let unknown = parse::<Ping>(br#"{"id":"a","n":1,"note":null,"m":2}"#).unwrap_err();
        assert!(unknown.contains("unknown field `m`"), "{unknown}");
        let missing = parse::<Ping>(br#"{"id":"a","note":"x"}"#).unwrap_err();
        assert!(missing.contains("missing field `n`"), "{missing}");
        let no_null = parse::<Ping>(br#"{"id":"a","n":1}"#).unwrap_err();
        assert!(no_null.contains("missing field `note`"), "an optional field is sent as null: {no_null}");
    }
}
