//! `allowed_outbound_hosts`, parsed and matched the way Spin does it.

use anyhow::{Result, bail};

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`: subdomains only.
    Subdomains(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    One(u16),
    /// `a..b`, `b` excluded, like a Rust range.
    Range(u16, u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
    raw: String,
}

pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        _ => None,
    }
}

impl AllowedHost {
    /// `scheme://host[:port][/]`.
    pub fn parse(raw: &str) -> Result<AllowedHost> {
        let Some((scheme, rest)) = raw.split_once("://") else {
            bail!("allowed_outbound_hosts entry `{raw}` needs a scheme, e.g. `https://{raw}`");
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            bail!("allowed_outbound_hosts entry `{raw}` must not have a path");
        }
        let scheme = match scheme {
            "*" => None,
            s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => Some(s.to_ascii_lowercase()),
            _ => bail!("allowed_outbound_hosts entry `{raw}` has an invalid scheme"),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
            _ => (rest, None),
        };
        let host = match host {
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomains(h[1..].to_ascii_lowercase()),
            h if h.contains('*') => {
                bail!("allowed_outbound_hosts entry `{raw}`: `*` may only be a whole leading label")
            }
            "" => bail!("allowed_outbound_hosts entry `{raw}` has no host"),
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            None => match scheme.as_deref().and_then(well_known_port) {
                Some(p) => PortPattern::One(p),
                None => bail!("allowed_outbound_hosts entry `{raw}` needs a port: its scheme has no well-known one"),
            },
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => PortPattern::Range(a.parse()?, b.parse()?),
                None => PortPattern::One(p.parse()?),
            },
        };
        Ok(AllowedHost { scheme, host, port, raw: raw.to_owned() })
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(scheme));
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomains(suffix) => host.ends_with(suffix.as_str()) && host.len() > suffix.len(),
            HostPattern::Exact(h) => *h == host,
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::One(p) => p == port,
            PortPattern::Range(a, b) => (a..b).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }

    /// The component this entry chains to, for `http://<id>.spin.internal`;
    /// `Some("*")` for `http://*.spin.internal`.
    pub fn chaining_target(&self) -> Option<&str> {
        match &self.host {
            HostPattern::Exact(h) => h.strip_suffix(".spin.internal"),
            HostPattern::Subdomains(s) if s == ".spin.internal" => Some("*"),
            _ => None,
        }
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches_like_spin() {
        let h = AllowedHost::parse("https://api.weixin.qq.com").unwrap();
        assert!(h.allows("https", "api.weixin.qq.com", 443));
        assert!(!h.allows("https", "api.weixin.qq.com", 8443));
        assert!(!h.allows("http", "api.weixin.qq.com", 443));
        let w = AllowedHost::parse("http://*.example.com:*").unwrap();
        assert!(w.allows("http", "a.example.com", 1234));
        assert!(!w.allows("http", "example.com", 80));
        let r = AllowedHost::parse("http://127.0.0.1:8000..8002").unwrap();
        assert!(r.allows("http", "127.0.0.1", 8001) && !r.allows("http", "127.0.0.1", 8002));
        let c = AllowedHost::parse("http://grid-lookup.spin.internal").unwrap();
        assert_eq!(c.chaining_target(), Some("grid-lookup"));
        assert!(AllowedHost::parse("example.com").is_err());
        assert!(AllowedHost::parse("https://example.com/path").is_err());
        assert!(AllowedHost::parse("foo://example.com").is_err());
    }
}
