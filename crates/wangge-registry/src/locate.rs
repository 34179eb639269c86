//! Point → grid, touching only the grids whose boxes are near the point.
//!
//! The rule on shared edges: a point strictly inside a comprehensive grid belongs to
//! it; a point exactly on an edge or vertex shared by several belongs to the one with
//! the smallest code. Dedicated grids list every one whose closure holds the point.

use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};
use wangge_geo::shape::metres_per_degree;
use wangge_geo::{Position, Shape};

use crate::model::{GridKind, Region, mask_phone};
use crate::read::StaffView;

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
    /// Regions and staff near the point, read with it.
    pub roster: Roster,
    pub comprehensive: Option<Hit>,
    pub dedicated: Vec<Hit>,
    /// Comprehensive grids within `accuracy` metres that do not hold the point.
    pub alternatives: Vec<Hit>,
    /// When no comprehensive grid holds the point: the nearest within 500 m.
    pub nearest: Option<Hit>,
}

/// Region chains (by community) and staff read together with the candidates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    chains: Vec<(String, i64, Region)>,
    staff: Vec<StaffView>,
}

impl Roster {
    /// The chain above `community`, nearest first.
    pub fn chain(&self, community: &str) -> Vec<Region> {
        let mut chain: Vec<&(String, i64, Region)> = self.chains.iter().filter(|(c, _, _)| c == community).collect();
        chain.sort_by_key(|(_, depth, _)| *depth);
        chain.into_iter().map(|(_, _, r)| r.clone()).collect()
    }

    /// The staff of `grids` (in that order, then by role and id), then the grid
    /// heads of `community`.
    pub fn on_duty(&self, grids: &[&str], community: &str) -> Vec<StaffView> {
        let rank = |s: &StaffView| grids.iter().position(|g| *g == s.grid_code).unwrap_or(grids.len());
        let mut staff: Vec<StaffView> = self
            .staff
            .iter()
            .filter(|s| rank(s) < grids.len() || (s.grid_code.is_empty() && s.region_code == community))
            .cloned()
            .collect();
        staff.sort_by(|a, b| (rank(a), &a.role, &a.staff_id).cmp(&(rank(b), &b.role, &b.staff_id)));
        staff.dedup_by(|a, b| a.staff_id == b.staff_id);
        staff
    }
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
/// metres of the point, in one statement that also reads what an answer needs: the
/// region chains of the candidates' communities and the staff of the candidates and
/// of those communities' grid heads (from the current regions and staff).
fn candidates(
    db: &impl Sql,
    version: Option<i64>,
    lng: f64,
    lat: f64,
    margin_m: f64,
    roster: &mut Roster,
) -> Result<Vec<Hit>, StorageError> {
    let (kx, ky) = metres_per_degree(lat);
    let (dx, dy) = (margin_m / kx, margin_m / ky);
    let rows = db.execute(
        "WITH RECURSIVE \
           cand AS MATERIALIZED ( \
             SELECT g.code, g.name, g.kind, g.region_code, g.area_m2, g.grid_head, g.members, g.geometry \
             FROM grids_rtree r CROSS JOIN grids g ON g.id = r.id \
             WHERE r.min_lng <= ?1 AND r.max_lng >= ?2 AND r.min_lat <= ?3 AND r.max_lat >= ?4 \
             AND g.version = coalesce(?5, (SELECT version FROM current_datasets WHERE kind = 'grids'))), \
           rv(v) AS (SELECT version FROM current_datasets WHERE kind = 'regions'), \
           sv(v) AS (SELECT version FROM current_datasets WHERE kind = 'staff'), \
           chain (code, name, level, parent, depth, community) AS ( \
             SELECT code, name, level, parent, 0, code FROM regions \
             WHERE version = (SELECT v FROM rv) AND code IN (SELECT region_code FROM cand) \
             UNION ALL \
             SELECT r.code, r.name, r.level, r.parent, c.depth + 1, c.community FROM regions r JOIN chain c ON r.code = c.parent \
             WHERE r.version = (SELECT v FROM rv) AND c.depth < 8) \
         SELECT 'grid', code, name, kind, region_code, area_m2, grid_head, members, geometry FROM cand \
         UNION ALL \
         SELECT 'region', code, name, level, parent, depth, community, NULL, NULL FROM chain \
         UNION ALL \
         SELECT 'staff', staff_id, name, role, grid_code, region_code, phone, NULL, NULL FROM staff INDEXED BY staff_grid \
           WHERE version = (SELECT v FROM sv) AND grid_code IN (SELECT code FROM cand) \
         UNION ALL \
         SELECT 'staff', staff_id, name, role, grid_code, region_code, phone, NULL, NULL FROM staff INDEXED BY staff_region \
           WHERE version = (SELECT v FROM sv) AND region_code IN (SELECT region_code FROM cand) \
           AND role = 'grid_head' AND grid_code = ''",
        &[(lng + dx).into(), (lng - dx).into(), (lat + dy).into(), (lat - dy).into(), version.into()],
    )?;
    let text = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    let mut grid_rows = Vec::new();
    for r in rows.rows {
        match r[0].as_str() {
            Some("grid") => grid_rows.push(r),
            Some("region") => roster.chains.push((
                text(&r[6]),
                r[5].as_i64().unwrap_or(0),
                Region {
                    code: text(&r[1]),
                    name: text(&r[2]),
                    level: text(&r[3]),
                    parent: r[4].as_str().map(str::to_owned),
                },
            )),
            _ => roster.staff.push(StaffView {
                staff_id: text(&r[1]),
                name: text(&r[2]),
                role: text(&r[3]),
                grid_code: text(&r[4]),
                region_code: text(&r[5]),
                phone: mask_phone(&text(&r[6])),
            }),
        }
    }
    let rows = Rows { columns: Vec::new(), rows: grid_rows.into_iter().map(|mut r| r.split_off(1)).collect() };
    let mut hits = Vec::with_capacity(rows.rows.len());
    for r in rows.rows {
        let SqlValue::Blob(bytes) = &r[7] else { continue };
        let Some(shape) = Shape::decode(bytes) else { continue };
        let position = shape.position(lng, lat);
        let distance_m = if position == Position::Outside { shape.distance_m(lng, lat) } else { 0.0 };
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
    let mut located = Located::default();
    let hits = candidates(db, version, lng, lat, accuracy_m, &mut located.roster)?;
    let holds = |h: &Hit| h.position != Position::Outside;
    let comprehensive: Vec<&Hit> = hits.iter().filter(|h| h.kind == GridKind::Comprehensive).collect();
    // Strictly inside first; on a shared edge, the smallest code (hits are sorted by code).
    located.comprehensive = comprehensive
        .iter()
        .find(|h| h.position == Position::Inside)
        .or_else(|| comprehensive.iter().find(|h| holds(h)))
        .map(|h| (*h).clone());
    located.dedicated = hits.iter().filter(|h| h.kind == GridKind::Dedicated && holds(h)).cloned().collect();
    let chosen = located.comprehensive.as_ref().map(|h| h.code.clone());
    located.alternatives = comprehensive
        .iter()
        .filter(|h| Some(&h.code) != chosen.as_ref() && h.distance_m <= accuracy_m)
        .map(|h| (*h).clone())
        .collect();
    located.alternatives.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.code.cmp(&b.code)));
    if located.comprehensive.is_none() {
        let wider = candidates(db, version, lng, lat, NEAREST_WITHIN_M, &mut Roster::default())?;
        located.nearest = wider
            .into_iter()
            .filter(|h| h.kind == GridKind::Comprehensive && h.distance_m <= NEAREST_WITHIN_M)
            .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.code.cmp(&b.code)));
    }
    Ok(located)
}
