//! Signed requests for server-to-server integrators (docs/intake.md, "Authentication"):
//!
//! ```text
//! X-Wangge-Timestamp: <unix seconds>
//! X-Wangge-Signature: hex(HMAC-SHA-256(secret, timestamp "\n" METHOD "\n" path?query "\n" body))
//! ```
//!
//! The timestamp must be within [`MAX_SKEW_SECONDS`] of the server's clock, and each
//! signature is accepted once (the store remembers it until it would have expired).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signed timestamp may be from now, either way.
pub const MAX_SKEW_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The key must sign, and the request is not signed (or only half).
    Missing,
    /// The timestamp is not a number of seconds, or too far from now.
    Expired { skew_seconds: i64 },
    /// The signature is not hex, or does not match.
    Invalid,
}

/// What is signed.
pub fn string_to_sign(timestamp: &str, method: &str, path_and_query: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + method.len() + path_and_query.len() + body.len() + 3);
    for part in [timestamp.as_bytes(), method.to_ascii_uppercase().as_bytes(), path_and_query.as_bytes()] {
        message.extend_from_slice(part);
        message.push(b'\n');
    }
    message.extend_from_slice(body);
    message
}

/// The signature an integrator sends, as lowercase hex.
pub fn sign(secret: &str, timestamp: &str, method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(&string_to_sign(timestamp, method, path_and_query, body));
    hex::encode(mac.finalize().into_bytes())
}

/// The parts of a signed request.
pub struct Signed<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub body: &'a [u8],
}

/// The hex digits of a presented signature: trimmed, an optional `sha256=` dropped.
fn presented_hex(signature: &str) -> &str {
    let signature = signature.trim();
    signature.strip_prefix("sha256=").unwrap_or(signature)
}

/// A verified signature as the replay check keeps it: the hex [`verify`] checked, in
/// lower case, so that one MAC written two ways is one signature.
pub fn replay_key(signature: &str) -> String {
    presented_hex(signature).to_ascii_lowercase()
}

/// Checks a request's signature against `secret` at `now` (unix seconds). The
/// replay check is the store's: see [`crate::store::Admission::signature`].
pub fn verify(secret: &str, request: &Signed<'_>, now: i64) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (request.timestamp, request.signature) else {
        return Err(SignatureError::Missing);
    };
    let Ok(at) = timestamp.trim().parse::<i64>() else {
        return Err(SignatureError::Expired { skew_seconds: i64::MAX });
    };
    let skew = now.saturating_sub(at);
    if skew.abs() > MAX_SKEW_SECONDS {
        return Err(SignatureError::Expired { skew_seconds: skew });
    }
    let Ok(presented) = hex::decode(presented_hex(signature)) else { return Err(SignatureError::Invalid) };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Invalid)?;
    mac.update(&string_to_sign(timestamp.trim(), request.method, request.path_and_query, request.body));
    // `verify_slice` compares in constant time.
    mac.verify_slice(&presented).map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(timestamp: &'a str, signature: &'a str, body: &'a [u8]) -> Signed<'a> {
        Signed {
            timestamp: Some(timestamp),
            signature: Some(signature),
            method: "POST",
            path_and_query: "/v1/events",
            body,
        }
    }

    #[test]
    fn a_fresh_signature_verifies() {
        let sig = sign("secret", "1700000000", "post", "/v1/events", b"{}");
        assert_eq!(verify("secret", &request("1700000000", &sig, b"{}"), 1_700_000_100), Ok(()));
        let prefixed = format!("sha256={sig}");
        assert_eq!(verify("secret", &request("1700000000", &prefixed, b"{}"), 1_700_000_000), Ok(()));
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA-256("key", "1\nPOST\n/p\nbody"), computed independently with Python's hmac module.
        assert_eq!(
            sign("key", "1", "POST", "/p", b"body"),
            "f18b94a7213e23c22ebb1cb99a780861f60f9e3e5806003d179713babfeff31d"
        );
    }

    #[test]
    fn every_part_is_signed() {
        let sig = sign("secret", "1700000000", "POST", "/v1/events", b"{}");
        let now = 1_700_000_000;
        assert_eq!(verify("other", &request("1700000000", &sig, b"{}"), now), Err(SignatureError::Invalid));
        assert_eq!(verify("secret", &request("1700000000", &sig, b"{ }"), now), Err(SignatureError::Invalid));
        let mut moved = request("1700000000", &sig, b"{}");
        moved.path_and_query = "/v1/events?x=1";
        assert_eq!(verify("secret", &moved, now), Err(SignatureError::Invalid));
        assert_eq!(verify("secret", &request("1700000000", "zz", b"{}"), now), Err(SignatureError::Invalid));
    }

    #[test]
    fn five_minutes_either_way() {
        let at = 1_700_000_000;
        let sig = sign("s", "1700000000", "POST", "/v1/events", b"");
        assert_eq!(verify("s", &request("1700000000", &sig, b""), at + 300), Ok(()));
        assert_eq!(verify("s", &request("1700000000", &sig, b""), at - 300), Ok(()));
        assert_eq!(
            verify("s", &request("1700000000", &sig, b""), at + 301),
            Err(SignatureError::Expired { skew_seconds: 301 })
        );
        assert!(matches!(verify("s", &request("soon", &sig, b""), at), Err(SignatureError::Expired { .. })));
        let unsigned = Signed { timestamp: None, signature: None, method: "POST", path_and_query: "/", body: b"" };
        assert_eq!(verify("s", &unsigned, at), Err(SignatureError::Missing));
    }

    #[test]
    fn one_mac_written_two_ways_has_one_replay_key() {
        assert_eq!(replay_key(" sha256=ABCdef01 "), "abcdef01");
        assert_eq!(replay_key("abcdef01"), replay_key("sha256=ABCDEF01"));
    }
}
