//! API keys: bearer tokens stored only as SHA-256 hashes, each with scopes and a
//! region-code prefix it may touch.
//!
//! The operator key (Spin variable `operator_key`) holds every scope and the whole
//! country; integrator keys are created and revoked with it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ErrorCode, FieldError, Problem};

/// What a key may do. The string forms are part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "events:write")]
    EventsWrite,
    #[serde(rename = "events:read")]
    EventsRead,
    #[serde(rename = "cases:read")]
    CasesRead,
    #[serde(rename = "cases:act")]
    CasesAct,
    #[serde(rename = "grids:read")]
    GridsRead,
    #[serde(rename = "grids:admin")]
    GridsAdmin,
    #[serde(rename = "assessments:read")]
    AssessmentsRead,
    #[serde(rename = "assessments:run")]
    AssessmentsRun,
    #[serde(rename = "notifications:read")]
    NotificationsRead,
    #[serde(rename = "notifications:admin")]
    NotificationsAdmin,
    /// The periodic jobs: sweeps, retries, dispatch.
    #[serde(rename = "scheduler")]
    Scheduler,
    /// Create and revoke integrator keys. Only the operator key has it.
    #[serde(rename = "keys:admin")]
    KeysAdmin,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::EventsWrite,
        Scope::EventsRead,
        Scope::CasesRead,
        Scope::CasesAct,
        Scope::GridsRead,
        Scope::GridsAdmin,
        Scope::AssessmentsRead,
        Scope::AssessmentsRun,
        Scope::NotificationsRead,
        Scope::NotificationsAdmin,
        Scope::Scheduler,
        Scope::KeysAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::EventsRead => "events:read",
            Scope::CasesRead => "cases:read",
            Scope::CasesAct => "cases:act",
            Scope::GridsRead => "grids:read",
            Scope::GridsAdmin => "grids:admin",
            Scope::AssessmentsRead => "assessments:read",
            Scope::AssessmentsRun => "assessments:run",
            Scope::NotificationsRead => "notifications:read",
            Scope::NotificationsAdmin => "notifications:admin",
            Scope::Scheduler => "scheduler",
            Scope::KeysAdmin => "keys:admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|scope| scope.as_str() == s)
    }
}

/// Hex SHA-256 of a bearer token: the only form in which keys are stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh bearer token: `wg_` and 32 random bytes in hex.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("wg_{}", hex::encode(bytes)))
}

/// A stored integrator key, as the key-value store and the owner's database hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Region codes this key may touch start with this; empty means everywhere.
    pub region_prefix: String,
    pub created_at: String,
    /// The HMAC secret of a key that must sign its requests (`X-Wangge-Signature`).
    /// Unlike the token it must be kept to verify signatures; it lives only in the
    /// key-value record and is shown once, at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// Who is calling, once the bearer token has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// `operator`, or the integrator key's id.
    pub key_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub region_prefix: String,
    /// Set for keys that must sign every write.
    pub signing_secret: Option<String>,
}

impl Principal {
    pub fn operator() -> Self {
        Principal {
            key_id: "operator".into(),
            name: "operator".into(),
            scopes: Scope::ALL.to_vec(),
            region_prefix: String::new(),
            signing_secret: None,
        }
    }

    pub fn from_key(key: ApiKey) -> Self {
        Principal {
            key_id: key.id,
            name: key.name,
            scopes: key.scopes,
            region_prefix: key.region_prefix,
            signing_secret: key.signing_secret,
        }
    }

    pub fn is_operator(&self) -> bool {
        self.key_id == "operator"
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// 403 `scope_missing` unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Problem> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Problem::new(ErrorCode::ScopeMissing)
                .with_detail(
                    format!("this needs the scope `{}`", scope.as_str()),
                    format!("需要权限 `{}`", scope.as_str()),
                )
                .with_extension("required_scope", scope.as_str()))
        }
    }

    /// 403 `scope_missing` unless the key holds one of `scopes`.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), Problem> {
        match scopes.iter().find(|s| self.has_scope(**s)) {
            Some(_) => Ok(()),
            None => self.require(scopes[0]),
        }
    }

    /// 403 `region_forbidden` unless the key covers every region: what replacing
    /// deployment-wide data (a registry, a catalogue) needs.
    pub fn require_every_region(&self) -> Result<(), Problem> {
        if self.region_prefix.is_empty() {
            Ok(())
        } else {
            Err(Problem::new(ErrorCode::RegionForbidden)
                .with_detail(
                    format!("this changes data for every region; the key covers `{}` only", self.region_prefix),
                    format!("此操作涉及所有区域的数据；该密钥只覆盖 `{}`", self.region_prefix),
                )
                .with_extension("region_prefix", self.region_prefix.clone()))
        }
    }

    /// Whether a region (or grid) code falls inside this key's prefix.
    pub fn covers_region(&self, code: &str) -> bool {
        code.starts_with(&self.region_prefix)
    }

    /// Whether an answer may name `code` to this key: a region or grid inside its prefix,
    /// or one that contains the prefix (its district, the city), which answers name as
    /// parents.
    pub fn sees_region(&self, code: &str) -> bool {
        self.covers_region(code) || crate::region::is_ancestor_of(code, &self.region_prefix)
    }

    /// 403 `region_forbidden` unless `code` falls inside this key's prefix, without
    /// naming `code`: for a code the server found (the grid a point lies in), which a key
    /// outside it may not learn.
    pub fn require_region_unnamed(&self, code: &str) -> Result<(), Problem> {
        if self.covers_region(code) {
            return Ok(());
        }
        Err(Problem::new(ErrorCode::RegionForbidden)
            .with_detail(
                format!(
                    "this key may touch regions under `{}` only; what you asked for lies outside",
                    self.region_prefix
                ),
                format!("该密钥只能访问 `{}` 下的区域；所请求的内容不在其中", self.region_prefix),
            )
            .with_extension("region_prefix", self.region_prefix.clone()))
    }

    /// 403 `region_forbidden` unless `code` falls inside this key's prefix.
    pub fn require_region(&self, code: &str) -> Result<(), Problem> {
        if self.covers_region(code) {
            Ok(())
        } else {
            Err(Problem::new(ErrorCode::RegionForbidden)
                .with_detail(
                    format!("this key may touch regions under `{}` only, not `{code}`", self.region_prefix),
                    format!("该密钥只能访问 `{}` 下的区域，不能访问 `{code}`", self.region_prefix),
                )
                .with_extension("region_prefix", self.region_prefix.clone()))
        }
    }
}

/// The body of `POST /v1/keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub region_prefix: String,
    /// A server-to-server integrator's key: it gets a signing secret and must sign
    /// every write with it.
    #[serde(default)]
    pub signed: bool,
}

impl NewKeyRequest {
    /// Checks every field, reporting each problem with its JSON pointer.
    pub fn validate(&self) -> Result<(Vec<Scope>, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("/name", "length", "name must have 1 to 100 characters"));
        }
        if self.scopes.is_empty() {
            errors.push(FieldError::new("/scopes", "min_items", "at least one scope is required"));
        }
        let mut scopes = Vec::new();
        for (i, s) in self.scopes.iter().enumerate() {
            match Scope::parse(s) {
                Some(Scope::KeysAdmin) => errors.push(FieldError::new(
                    format!("/scopes/{i}"),
                    "reserved_scope",
                    "keys:admin belongs to the operator key only",
                )),
                Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    format!("/scopes/{i}"),
                    "unknown_scope",
                    format!("unknown scope `{s}`"),
                )),
            }
        }
        let prefix = self.region_prefix.trim();
        if prefix.len() > 15 || !prefix.chars().all(|c| c.is_ascii_digit()) {
            errors.push(FieldError::new(
                "/region_prefix",
                "pattern",
                "region_prefix is a region code prefix: up to 15 digits",
            ));
        }
        if errors.is_empty() { Ok((scopes, prefix.to_owned())) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn scope_strings_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn region_prefix_bounds_a_key() {
        let p = Principal {
            key_id: "k".into(),
            name: "崇川".into(),
            scopes: vec![Scope::EventsWrite],
            region_prefix: "320613".into(),
            signing_secret: None,
        };
        assert!(p.require_region("320613001001001").is_ok());
        assert_eq!(p.require_region("320612001001").unwrap_err().code, ErrorCode::RegionForbidden);
        assert_eq!(p.require(Scope::GridsAdmin).unwrap_err().code, ErrorCode::ScopeMissing);
        assert!(Principal::operator().require(Scope::KeysAdmin).is_ok());
    }

    #[test]
    fn new_key_validation_points_at_each_field() {
        let req = NewKeyRequest {
            name: "".into(),
            scopes: vec!["events:write".into(), "nope".into(), "keys:admin".into()],
            region_prefix: "32a".into(),
            signed: false,
        };
        let errs = req.validate().unwrap_err();
        let pointers: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/name", "/scopes/1", "/scopes/2", "/region_prefix"]);
    }

    #[test]
    fn tokens_are_random() {
        let a = generate_token().unwrap();
        assert!(a.starts_with("wg_") && a.len() == 67);
        assert_ne!(a, generate_token().unwrap());
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
