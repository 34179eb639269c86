//! `GET /v1/grids/outlines?region=<code>`: every grid of a region as a GeoJSON
//! FeatureCollection of simplified outlines (网格轮廓), for the command-centre map.
//!
//! The outlines were simplified when the grids were imported
//! ([`wangge_registry::outline`]); a request reads stored text and joins it, so the whole
//! city's 9,207 grids cost one statement and no geometry work. The answer carries a strong
//! `ETag` named after the grids version, its content hash and the region, and
//! `cache-control: private, no-cache`: a browser revalidates with `If-None-Match` and gets
//! 304 with no body until the grids are imported again.

use spin_sdk::http::Response;
use wangge_core::Problem;
use wangge_core::auth::Principal;
use wangge_registry::import::Dataset;
use wangge_registry::outline;
use wangge_spin::{Reply, Req, Timing};

use crate::COMPONENT;
use crate::registry::{dataset_missing, reader};

/// How a browser may keep the answer: for this user only, revalidated before each use.
const CACHE_CONTROL: &str = "private, no-cache";

/// `GET /v1/grids/outlines?region=`: a region-bound key asks within its region (403
/// `region_forbidden` outside) and gets its own region without `region`; an unbound key
/// without `region` gets every grid of the registry. A region with no grids (a code no
/// grid lies under) is an empty collection, not 404: the route names no region's
/// existence.
pub fn outlines(req: Req) -> Reply {
    let mut timing = Timing::start();
    let principal = reader(&req)?;
    let region = region(&req, &principal)?;
    let db = COMPONENT.db_for_reads()?;
    let tag = outline::current_tag(&db)?.ok_or_else(|| dataset_missing(Dataset::Grids))?;
    let etag = tag.etag(&region);
    timing.lap("version");
    let mut response = Response::builder();
    response.header("etag", etag.as_str()).header("cache-control", CACHE_CONTROL);
    if req.if_none_match(&etag) {
        return Ok(response.status(304).header("server-timing", timing.header()).body(Vec::new()).build());
    }
    let (outlines, filled) = outline::read(&db, tag.version, &region)?;
    timing.lap(if filled > 0 { "read-and-fill" } else { "read" });
    let named = (!region.is_empty()).then_some(region.as_str());
    let body = outline::feature_collection(named, tag.version, &outlines);
    timing.lap("answer");
    Ok(response
        .status(200)
        .header("content-type", "application/geo+json")
        .header("server-timing", timing.header())
        .body(body.into_bytes())
        .build())
}

/// The region prefix to answer: `region` if given (2 to 12 digits; a full twelve-digit
/// region code stands for its significant digits, `320613000000` for `320613`), else the
/// key's own region (empty for an unbound key: the whole registry).
fn region(req: &Req, principal: &Principal) -> Result<String, Problem> {
    let Some(asked) = req.query_param("region") else {
        return Ok(principal.region_prefix.clone());
    };
    if !(2..=12).contains(&asked.len()) || !asked.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::invalid_parameter(
            "region",
            "region is a region code or its leading digits: 2 to 12 digits (a city 4, a district 6, a town 9)",
            "region 应为区域代码或其前几位：2 到 12 位数字（市 4 位、区县 6 位、镇街 9 位）",
        ));
    }
    let prefix = if asked.len() == 12 { wangge_core::region::significant(&asked).to_owned() } else { asked };
    principal.require_region(&prefix)?;
    Ok(prefix)
}
