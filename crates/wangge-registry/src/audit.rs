//! Coverage audit (全覆盖、无盲区): comprehensive grids must tile a region with no
//! gap and no overlap, inside its outline; dedicated grids must not overlap each other.
//!
//! Findings below a tolerance (default 1 m²) are slivers of rounding, not defects.

use std::time::Instant;

use serde::Serialize;
use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_geo::Shape;
use wangge_geo::geo::{
    BooleanOps, ChamberlainDuquetteArea, Distance, Euclidean, InteriorPoint, MultiPolygon, Polygon, unary_union,
};

pub const DEFAULT_TOLERANCE_M2: f64 = 1.0;

/// What is wrong, where, how large, and which grids are involved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `blind_spot` (a hole inside the grids), `uncovered` (outline no grid covers),
    /// `overlap` (two comprehensive grids), `outside_outline` (a grid past the outline),
    /// `dedicated_overlap` (two dedicated grids).
    pub kind: &'static str,
    pub grids: Vec<String>,
    pub area_m2: f64,
    /// A point inside the defect.
    pub location: [f64; 2],
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub stage: &'static str,
    pub items: usize,
    pub ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub region: String,
    pub tolerance_m2: f64,
    pub outline: bool,
    pub comprehensive_grids: usize,
    pub dedicated_grids: usize,
    pub clean: bool,
    pub findings: Vec<Finding>,
    pub progress: Vec<Progress>,
}

struct Loaded {
    code: String,
    shape: Shape,
    bbox: [f64; 4],
}

fn load(db: &impl Sql, version: i64, prefix: &str, kind: &str) -> Result<Vec<Loaded>, StorageError> {
    let rows = db.execute(
        "SELECT code, geometry FROM grids WHERE version = ? AND code >= ? AND code < ? AND kind = ? ORDER BY code",
        &[version.into(), prefix.into(), format!("{prefix}\u{10FFFF}").into(), kind.into()],
    )?;
    Ok(rows
        .rows
        .into_iter()
        .filter_map(|r| {
            let SqlValue::Blob(bytes) = &r[1] else { return None };
            let shape = Shape::decode(bytes)?;
            Some(Loaded { code: r[0].as_str().unwrap_or_default().to_owned(), bbox: shape.bbox(), shape })
        })
        .collect())
}

fn boxes_meet(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// Pairs whose boxes meet, by a sweep over `min_lng`.
fn candidate_pairs(items: &[Loaded]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| items[a].bbox[0].total_cmp(&items[b].bbox[0]));
    let mut pairs = Vec::new();
    for (i, &a) in order.iter().enumerate() {
        for &b in &order[i + 1..] {
            if items[b].bbox[0] > items[a].bbox[2] {
                break;
            }
            if boxes_meet(&items[a].bbox, &items[b].bbox) {
                pairs.push((a.min(b), a.max(b)));
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

fn piece_location(piece: &Polygon<f64>) -> [f64; 2] {
    piece.interior_point().map(|p| [p.x(), p.y()]).unwrap_or([0.0, 0.0])
}

/// Within this (about 0.1 m) a grid touches a piece: overlay output is snapped, so
/// a piece's edges lie beside, not exactly on, the grids it came from.
const TOUCH_DEGREES: f64 = 1e-6;

/// The grids among `items` that touch `piece`.
fn involved(items: &[Loaded], piece: &Polygon<f64>) -> Vec<String> {
    let shape = Shape { polygons: MultiPolygon(vec![piece.clone()]) };
    let b = shape.bbox();
    let bbox = [b[0] - TOUCH_DEGREES, b[1] - TOUCH_DEGREES, b[2] + TOUCH_DEGREES, b[3] + TOUCH_DEGREES];
    items
        .iter()
        .filter(|g| boxes_meet(&g.bbox, &bbox) && Euclidean.distance(&g.shape.polygons, piece) <= TOUCH_DEGREES)
        .map(|g| g.code.clone())
        .collect()
}

fn pairwise(items: &[Loaded], kind: &'static str, tolerance_m2: f64, findings: &mut Vec<Finding>) -> usize {
    let pairs = candidate_pairs(items);
    for &(a, b) in &pairs {
        let overlap = items[a].shape.polygons.intersection(&items[b].shape.polygons);
        let area = overlap.chamberlain_duquette_unsigned_area();
        if area > tolerance_m2 {
            let location = overlap.0.first().map(piece_location).unwrap_or([0.0, 0.0]);
            findings.push(Finding {
                kind,
                grids: vec![items[a].code.clone(), items[b].code.clone()],
                area_m2: area,
                location,
            });
        }
    }
    pairs.len()
}

/// Audits the grids whose codes start with `prefix`, against `outline` if given.
///
/// A little over 60 lines, kept whole: its stages (load, union, blind spots, outline,
/// overlaps) share the loaded grids and their union, each is a few lines, and each is
/// timed in order for the report's `progress`.
pub fn audit(
    db: &impl Sql,
    version: i64,
    prefix: &str,
    outline: Option<&Shape>,
    tolerance_m2: f64,
) -> Result<AuditReport, StorageError> {
    let mut progress = Vec::new();
    let mut findings = Vec::new();
    let t = Instant::now();
    let comprehensive = load(db, version, prefix, "comprehensive")?;
    let dedicated = load(db, version, prefix, "dedicated")?;
    progress.push(Progress { stage: "load", items: comprehensive.len() + dedicated.len(), ms: ms(t) });

    let t = Instant::now();
    let union = unary_union(comprehensive.iter().map(|g| &g.shape.polygons));
    progress.push(Progress { stage: "union", items: comprehensive.len(), ms: ms(t) });

    // Every area-type finding: a piece of the plane, kept if it is larger than a sliver.
    let report = |kind: &'static str, pieces: Vec<Polygon<f64>>, findings: &mut Vec<Finding>| {
        for piece in pieces {
            let area = piece.chamberlain_duquette_unsigned_area();
            if area > tolerance_m2 {
                let (grids, location) = (involved(&comprehensive, &piece), piece_location(&piece));
                findings.push(Finding { kind, grids, area_m2: area, location });
            }
        }
    };

    let t = Instant::now();
    let holes = union.0.iter().flat_map(|p| p.interiors().iter().map(|hole| Polygon::new(hole.clone(), Vec::new())));
    report("blind_spot", holes.collect(), &mut findings);
    progress.push(Progress { stage: "blind_spots", items: union.0.len(), ms: ms(t) });

    if let Some(outline) = outline {
        let t = Instant::now();
        // Holes were reported as blind spots: what the outline has beyond the filled union is uncovered.
        let filled = MultiPolygon(union.0.iter().map(|p| Polygon::new(p.exterior().clone(), Vec::new())).collect());
        report("uncovered", outline.polygons.difference(&filled).0, &mut findings);
        report("outside_outline", union.difference(&outline.polygons).0, &mut findings);
        progress.push(Progress { stage: "outline", items: 1, ms: ms(t) });
    }

    let t = Instant::now();
    let pairs = pairwise(&comprehensive, "overlap", tolerance_m2, &mut findings);
    progress.push(Progress { stage: "overlaps", items: pairs, ms: ms(t) });
    let t = Instant::now();
    let pairs = pairwise(&dedicated, "dedicated_overlap", tolerance_m2, &mut findings);
    progress.push(Progress { stage: "dedicated_overlaps", items: pairs, ms: ms(t) });

    for f in &mut findings {
        f.area_m2 = (f.area_m2 * 100.0).round() / 100.0;
    }
    Ok(AuditReport {
        region: prefix.to_owned(),
        tolerance_m2,
        outline: outline.is_some(),
        comprehensive_grids: comprehensive.len(),
        dedicated_grids: dedicated.len(),
        clean: findings.is_empty(),
        findings,
        progress,
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The code prefix a region stands for: `320613000000` (a district) → `320613`.
pub fn significant_prefix(code: &str) -> &str {
    let mut end = code.len();
    for cut in [12usize, 9, 6, 4] {
        if code.len() >= cut && code[cut.min(code.len())..].bytes().all(|b| b == b'0') {
            end = cut;
        }
    }
    if code.len() == 12 && code.ends_with("00000000") {
        end = 4;
    }
    &code[..end]
}

/// Stores (or replaces) a region's outline.
pub fn put_outline(db: &impl Sql, region_code: &str, shape: &Shape) -> Result<(), StorageError> {
    db.execute(
        "INSERT INTO region_outlines (region_code, geometry, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (region_code) DO UPDATE SET geometry = excluded.geometry, updated_at = excluded.updated_at",
        &[
            region_code.into(),
            SqlValue::Blob(shape.encode()),
            wangge_core::time::render(wangge_core::time::now_utc()).into(),
        ],
    )?;
    Ok(())
}

/// The outline stored for the region whose significant prefix is `prefix`.
pub fn outline_for(db: &impl Sql, prefix: &str) -> Result<Option<Shape>, StorageError> {
    let rows = db.execute(
        "SELECT region_code, geometry FROM region_outlines WHERE region_code >= ? AND region_code < ?",
        &[prefix.into(), format!("{prefix}\u{10FFFF}").into()],
    )?;
    Ok(rows.rows.iter().find_map(|r| {
        let code = r[0].as_str()?;
        let SqlValue::Blob(bytes) = &r[1] else { return None };
        (significant_prefix(code) == prefix).then(|| Shape::decode(bytes)).flatten()
    }))
}

/// The region whose outline holds a WGS-84 point, if any: where a point in no grid
/// belongs (a blind spot is still some district's).
pub fn region_holding(db: &impl Sql, lng: f64, lat: f64) -> Result<Option<String>, StorageError> {
    let rows = db.execute("SELECT region_code, geometry FROM region_outlines ORDER BY region_code", &[])?;
    Ok(rows.rows.iter().find_map(|r| {
        let SqlValue::Blob(bytes) = &r[1] else { return None };
        let shape = Shape::decode(bytes)?;
        (shape.position(lng, lat) != wangge_geo::Position::Outside).then(|| r[0].as_str().map(str::to_owned)).flatten()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_prefixes() {
        assert_eq!(significant_prefix("320613000000"), "320613");
        assert_eq!(significant_prefix("320613001000"), "320613001");
        assert_eq!(significant_prefix("320613001001"), "320613001001");
        assert_eq!(significant_prefix("320600000000"), "3206");
    }
}
