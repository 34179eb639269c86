//! Point → grid, touching only the grids whose boxes are near the point.
//!
//! The rule on shared edges: a point strictly inside a comprehensive grid belongs to
//! it; a point exactly on an edge or vertex shared by several belongs to the one with
//! the smallest code. Dedicated grids list every one whose closure holds the point.

use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_geo::shape::metres_per_degree;
use wangge_geo::{Position, Shape};

use crate::model::GridKind;

/// A grid found near a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub code: String,
    pub name: String,
    pub kind: GridKind,
    pub region_code: String,
    pub area_m2: f64,
    pub grid_head: Option<String>,
    pub members: Vec<String>,
    pub position: Position,
    /// Metres from the point (0 when the grid holds it).
    pub distance_m: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Located {
    pub comprehensive: Option<Hit>,
    pub dedicated: Vec<Hit>,
    /// Comprehensive grids within `accuracy` metres that do not hold the point.
    pub alternatives: Vec<Hit>,
    /// When no comprehensive grid holds the point: the nearest within 500 m.
    pub nearest: Option<Hit>,
}

impl Located {
    /// The grid that answers for the point: the smallest dedicated grid holding it,
    /// else the comprehensive one.
    pub fn responsible(&self) -> Option<&Hit> {
        self.dedicated
            .iter()
            .min_by(|a, b| a.area_m2.total_cmp(&b.area_m2).then_with(|| a.code.cmp(&b.code)))
            .or(self.comprehensive.as_ref())
    }
}

/// How far to look for a nearest grid when none holds the point.
pub const NEAREST_WITHIN_M: f64 = 500.0;

/// Grids of `version` (`None`: the current one) whose boxes come within `margin_m`
/// metres of the point. One statement: the current version is read inside it.
fn candidates(
    db: &impl Sql,
    version: Option<i64>,
    lng: f64,
    lat: f64,
    margin_m: f64,
) -> Result<Vec<Hit>, StorageError> {
    let (kx, ky) = metres_per_degree(lat);
    let (dx, dy) = (margin_m / kx, margin_m / ky);
    let rows = db.execute(
        "SELECT g.code, g.name, g.kind, g.region_code, g.area_m2, g.grid_head, g.members, g.geometry \
         FROM grids_rtree r CROSS JOIN grids g ON g.id = r.id \
         WHERE r.min_lng <= ? AND r.max_lng >= ? AND r.min_lat <= ? AND r.max_lat >= ? \
         AND g.version = coalesce(?, (SELECT version FROM current_datasets WHERE kind = 'grids'))",
        &[
            (lng + dx).into(),
            (lng - dx).into(),
            (lat + dy).into(),
            (lat - dy).into(),
            version.into(),
        ],
    )?;
    let mut hits = Vec::with_capacity(rows.rows.len());
    for r in rows.rows {
        let SqlValue::Blob(bytes) = &r[7] else { continue };
        let Some(shape) = Shape::decode(bytes) else { continue };
        let position = shape.position(lng, lat);
        let distance_m = if position == Position::Outside {
            shape.distance_m(lng, lat)
        } else {
            0.0
        };
        let text = |i: usize| r[i].as_str().unwrap_or_default().to_owned();
        hits.push(Hit {
            code: text(0),
            name: text(1),
            kind: GridKind::parse(r[2].as_str().unwrap_or_default()).unwrap_or(GridKind::Comprehensive),
            region_code: text(3),
            area_m2: match r[4] {
                SqlValue::Real(f) => f,
                _ => 0.0,
            },
            grid_head: r[5].as_str().map(str::to_owned),
            members: serde_json::from_str(r[6].as_str().unwrap_or("[]")).unwrap_or_default(),
            position,
            distance_m,
        });
    }
    hits.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(hits)
}

/// Locates a WGS-84 point in grids version `version` (`None`: the current one);
/// `accuracy_m` widens the search for alternatives.
pub fn locate(
    db: &impl Sql,
    version: Option<i64>,
    lng: f64,
    lat: f64,
    accuracy_m: f64,
) -> Result<Located, StorageError> {
    let accuracy_m = accuracy_m.max(0.0);
    let hits = candidates(db, version, lng, lat, accuracy_m)?;
    let mut located = Located::default();
    let holds = |h: &Hit| h.position != Position::Outside;
    let comprehensive: Vec<&Hit> = hits.iter().filter(|h| h.kind == GridKind::Comprehensive).collect();
    // Strictly inside first; on a shared edge, the smallest code (hits are sorted by code).
    located.comprehensive = comprehensive
        .iter()
        .find(|h| h.position == Position::Inside)
        .or_else(|| comprehensive.iter().find(|h| holds(h)))
        .map(|h| (*h).clone());
    located.dedicated = hits
        .iter()
        .filter(|h| h.kind == GridKind::Dedicated && holds(h))
        .cloned()
        .collect();
    let chosen = located.comprehensive.as_ref().map(|h| h.code.clone());
    located.alternatives = comprehensive
        .iter()
        .filter(|h| Some(&h.code) != chosen.as_ref() && h.distance_m <= accuracy_m)
        .map(|h| (*h).clone())
        .collect();
    located
        .alternatives
        .sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.code.cmp(&b.code)));
    if located.comprehensive.is_none() {
        let wider = candidates(db, version, lng, lat, NEAREST_WITHIN_M)?;
        located.nearest = wider
            .into_iter()
            .filter(|h| h.kind == GridKind::Comprehensive && h.distance_m <= NEAREST_WITHIN_M)
            .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.code.cmp(&b.code)));
    }
    Ok(located)
}
