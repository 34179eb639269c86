//! The embedded front end: the table `build.rs` generates from `console/dist`, and how a
//! file is answered (content type, caching, ETag and `If-None-Match`, the CSP on the page).

use spin_sdk::http::Response;
use wangge_spin::{Reply, Req};

/// One embedded file.
pub struct Asset {
    /// Its path under `/console/`: `index.html`, `assets/app-<hash>.js`, …
    pub path: &'static str,
    /// Its `content-type`, from its extension (`build.rs`).
    pub content_type: &'static str,
    /// A strong ETag, quoted: the first 16 bytes of the file's SHA-256.
    pub etag: &'static str,
    /// The file's bytes, embedded with `include_bytes!`.
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path`, if embedded.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// Answers the file at `path`: 200 with it, 304 when `If-None-Match` names its ETag, 404
/// problem+json when there is none. `index.html` is never cached without revalidation and
/// carries the Content-Security-Policy (`tile_url` adds the tile server to `img-src`);
/// the content-hashed assets are immutable.
pub fn serve_file(req: &Req, path: &str, tile_url: Option<&str>) -> Reply {
    let asset = find(path).ok_or_else(|| crate::no_such_file(req))?;
    let hashed = path.starts_with("assets/");
    let cache = if hashed { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut builder = Response::builder();
    builder.header("etag", asset.etag).header("cache-control", cache).header("x-content-type-options", "nosniff");
    if path == "index.html" {
        builder
            .header("content-security-policy", content_security_policy(tile_url))
            .header("referrer-policy", "no-referrer")
            .header("x-frame-options", "DENY");
    }
    if req.if_none_match(asset.etag) {
        return Ok(builder.status(304).body(Vec::<u8>::new()).build());
    }
    Ok(builder.status(200).header("content-type", asset.content_type).body(asset.body.to_vec()).build())
}

/// The page's policy: everything from this origin; inline styles (Leaflet and ECharts set
/// `style` attributes); images also as `data:`/`blob:` URLs and from the tile server.
pub fn content_security_policy(tile_url: Option<&str>) -> String {
    let tiles = tile_url.and_then(tile_origin).map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data: blob:{tiles}; style-src 'self' 'unsafe-inline'; \
         script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The origin of a tile URL template, for the CSP: `https://{s}.tiles.example/{z}/{x}/{y}.png`
/// → `https://*.tiles.example`. `None` for anything not http(s) or with odd characters.
fn tile_origin(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split('/').next()?.replace("{s}", "*");
    let clean = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:*[]".contains(c));
    clean.then(|| format!("{scheme}://{host}"))
}
