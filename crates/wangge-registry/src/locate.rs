//! Point → grid, touching only the grids whose boxes are near the point.
//!
//! The rule on shared edges: a point strictly inside a comprehensive grid belongs to
//! it; a point exactly on an edge or vertex shared by several belongs to the one with
//! the smallest code. Dedicated grids list every one whose closure holds the point.

use wangge_core::migrations::{Sql, SqlValue, StorageError};
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
    /// The grid that answers for the point (责任网格): the smallest dedicated grid
    /// holding it, else the comprehensive one.
    pub fn responsible(&self) -> Option<&Hit> {
        self.dedicated
            .iter()
            .min_by(|a, b| a.area_m2.total_cmp(&b.area_m2).then_with(|| a.code.cmp(&b.code)))
            .or(self.comprehensive.as_ref())
    }

    /// Who answers for the point, when a grid holds it.
    ///
    /// - The responsible grid is [`Located::responsible`].
    /// - The community is the comprehensive grid's. A dedicated grid may reach past the
    ///   comprehensive grids (a park on the coast): then it alone answers for the point,
    ///   and its own community is the point's.
    /// - On duty: the staff of the responsible grid, then of the comprehensive grid, then
    ///   the community's grid heads (网格长).
    pub fn placement(&self) -> Option<Placement> {
        let responsible = self.responsible()?.clone();
        let comprehensive = self.comprehensive.clone();
        let community = comprehensive.as_ref().unwrap_or(&responsible).region_code.clone();
        let mut grids = vec![responsible.code.as_str()];
        if let Some(c) = comprehensive.as_ref().filter(|c| c.code != responsible.code) {
            grids.push(c.code.as_str());
        }
        let staff = self.roster.on_duty(&grids, &community);
        Some(Placement {
            on_boundary: comprehensive.as_ref().is_some_and(|c| c.position == Position::OnBoundary),
            chain: self.roster.chain(&community),
            staff,
            community,
            responsible,
            comprehensive,
        })
    }
}

/// Who answers for a point that a grid holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The grid that answers for the point (责任网格).
    pub responsible: Hit,
    /// The comprehensive grid (综合网格) holding the point, if any.
    pub comprehensive: Option<Hit>,
    /// The community (社区) the point belongs to.
    pub community: String,
    /// The point lies on an edge or vertex the comprehensive grid shares.
    pub on_boundary: bool,
    /// The regions above the community, nearest first (community, town, district, city).
    pub chain: Vec<Region>,
    /// The staff on duty, phones masked.
    pub staff: Vec<StaffView>,
}

/// What a point comes to, as intake asks for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A grid holds the point: who answers for it, and what was located around it.
    Grid {
        /// Who answers for the point.
        placement: Box<Placement>,
        /// The grids located around the point.
        located: Box<Located>,
    },
    /// A blind spot (盲区): no grid holds the point, but this district's outline does,
    /// so the district's centre answers for it.
    District(String),
    /// No grid and no district outline holds the point: outside the registry's coverage.
    Nowhere,
}

/// Places a WGS-84 point in the current grids, or failing that in a district outline.
pub fn place_point(db: &impl Sql, lng: f64, lat: f64, accuracy_m: f64) -> Result<Found, StorageError> {
    let located = locate(db, None, lng, lat, accuracy_m)?;
    if let Some(placement) = located.placement() {
        return Ok(Found::Grid { placement: Box::new(placement), located: Box::new(located) });
    }
    Ok(match crate::audit::region_holding(db, lng, lat)? {
        Some(district) => Found::District(district),
        None => Found::Nowhere,
    })
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
    // One column per place holds one type on both engines (PostgreSQL's UNION insists):
    // text in 1-6, a number in 7 (a grid's area, a region's depth), the outline in 8.
    // A parent is found by a range on the primary key, not `=`: PostgreSQL expects a long
    // chain and would hash every region for each step, where a range can only be probed.
    let statement = format!(
        "WITH RECURSIVE \
           cand AS MATERIALIZED ( \
             SELECT g.code, g.name, g.kind, g.region_code, g.area_m2, g.grid_head, g.members, g.geometry \
             FROM {} \
             AND g.version = coalesce(?5, (SELECT version FROM current_datasets WHERE kind = 'grids'))), \
           rv(v) AS (SELECT version FROM current_datasets WHERE kind = 'regions'), \
           sv(v) AS (SELECT version FROM current_datasets WHERE kind = 'staff'), \
           chain (code, name, level, parent, depth, community) AS ( \
             SELECT code, name, level, parent, 0, code FROM regions \
             WHERE version = (SELECT v FROM rv) AND code IN (SELECT region_code FROM cand) \
             UNION ALL \
             SELECT r.code, r.name, r.level, r.parent, c.depth + 1, c.community FROM regions r \
               JOIN chain c ON r.code >= c.parent AND r.code <= c.parent \
             WHERE r.version = (SELECT v FROM rv) AND c.depth < 8) \
         SELECT 'grid', code, name, kind, region_code, grid_head, members, area_m2, geometry FROM cand \
         UNION ALL \
         SELECT 'region', code, name, level, parent, community, NULL, depth, NULL FROM chain \
         UNION ALL \
         SELECT 'staff', staff_id, name, role, grid_code, region_code, phone, NULL, NULL FROM staff INDEXED BY staff_grid \
           WHERE version = (SELECT v FROM sv) AND grid_code IN (SELECT code FROM cand) \
         UNION ALL \
         SELECT 'staff', staff_id, name, role, grid_code, region_code, phone, NULL, NULL FROM staff INDEXED BY staff_region \
           WHERE version = (SELECT v FROM sv) AND region_code IN (SELECT region_code FROM cand) \
           AND role = 'grid_head' AND grid_code = ''",
        crate::index::grids_whose_box_meets(db.dialect())
    );
    let rows = db.execute(
        &statement,
        &[(lng + dx).into(), (lng - dx).into(), (lat + dy).into(), (lat - dy).into(), version.into()],
    )?;
    let mut hits = Vec::new();
    for r in rows.rows {
        match r[0].as_str() {
            Some("grid") => hits.extend(hit(&r[1..], lng, lat)),
            Some("region") => roster.chains.push(chain_link(&r)),
            _ => roster.staff.push(staff_view(&r)),
        }
    }
    hits.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(hits)
}

fn text(v: &SqlValue) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A `grid` row of [`candidates`] (without its tag) as a hit, placed against the point;
/// `None` if its outline cannot be read.
fn hit(r: &[SqlValue], lng: f64, lat: f64) -> Option<Hit> {
    let SqlValue::Blob(bytes) = &r[7] else { return None };
    let shape = Shape::decode(bytes)?;
    let position = shape.position(lng, lat);
    let distance_m = if position == Position::Outside { shape.distance_m(lng, lat) } else { 0.0 };
    Some(Hit {
        code: text(&r[0]),
        name: text(&r[1]),
        kind: GridKind::parse(r[2].as_str().unwrap_or_default()).unwrap_or(GridKind::Comprehensive),
        region_code: text(&r[3]),
        grid_head: r[4].as_str().map(str::to_owned),
        members: serde_json::from_str(r[5].as_str().unwrap_or("[]")).unwrap_or_default(),
        area_m2: r[6].as_f64().unwrap_or(0.0),
        position,
        distance_m,
    })
}

/// A `region` row of [`candidates`]: (community, depth above it, region). The depth is a
/// real on PostgreSQL, where its column also holds the grids' areas.
fn chain_link(r: &[SqlValue]) -> (String, i64, Region) {
    let region =
        Region { code: text(&r[1]), name: text(&r[2]), level: text(&r[3]), parent: r[4].as_str().map(str::to_owned) };
    (text(&r[5]), r[7].as_f64().unwrap_or(0.0) as i64, region)
}

/// A `staff` row of [`candidates`], phone masked.
fn staff_view(r: &[SqlValue]) -> StaffView {
    StaffView {
        staff_id: text(&r[1]),
        name: text(&r[2]),
        role: text(&r[3]),
        grid_code: text(&r[4]),
        region_code: text(&r[5]),
        phone: mask_phone(&text(&r[6])),
    }
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

#[cfg(test)]
mod tests {
    use wangge_core::native::TestDb;

    use super::*;
    use crate::import::{Dataset, Format, import};

    fn hit(code: &str, kind: GridKind, area_m2: f64, position: Position) -> Hit {
        Hit {
            code: code.into(),
            name: code.into(),
            kind,
            region_code: code[..12].into(),
            area_m2,
            grid_head: None,
            members: Vec::new(),
            position,
            distance_m: 0.0,
        }
    }

    fn staff(id: &str, role: &str, grid_code: &str, region_code: &str) -> StaffView {
        let (staff_id, name, role) = (id.to_owned(), id.to_owned(), role.to_owned());
        StaffView {
            staff_id,
            name,
            role,
            grid_code: grid_code.into(),
            region_code: region_code.into(),
            phone: "".into(),
        }
    }

    #[test]
    fn the_smallest_dedicated_grid_answers_in_the_comprehensive_grids_community() {
        let comprehensive = hit("320612001002001", GridKind::Comprehensive, 90_000.0, Position::Inside);
        let mut located = Located {
            comprehensive: Some(comprehensive.clone()),
            dedicated: vec![
                hit("320612001002502", GridKind::Dedicated, 8_000.0, Position::Inside),
                hit("320612001002501", GridKind::Dedicated, 5_000.0, Position::OnBoundary),
            ],
            ..Located::default()
        };
        located.roster.staff = vec![
            staff("S3", "grid_head", "", "320612001002"),
            staff("S2", "grid_worker", "320612001002001", "320612001002"),
            staff("S1", "informant", "320612001002501", "320612001002"),
            staff("S4", "informant", "320612001002502", "320612001002"),
        ];
        let placement = located.placement().unwrap();
        assert_eq!(placement.responsible.code, "320612001002501", "the smaller of two dedicated grids");
        assert_eq!(placement.comprehensive, Some(comprehensive));
        assert_eq!(placement.community, "320612001002");
        assert!(!placement.on_boundary, "only the comprehensive grid's edges count");
        let on_duty: Vec<&str> = placement.staff.iter().map(|s| s.staff_id.as_str()).collect();
        assert_eq!(on_duty, ["S1", "S2", "S3"], "the responsible grid's, the comprehensive grid's, the grid head");
    }

    #[test]
    fn a_dedicated_grid_past_the_comprehensive_grids_answers_alone() {
        let located = Located {
            dedicated: vec![hit("320612001002501", GridKind::Dedicated, 5_000.0, Position::Inside)],
            ..Located::default()
        };
        let placement = located.placement().unwrap();
        assert_eq!((placement.responsible.code.as_str(), placement.comprehensive), ("320612001002501", None));
        assert_eq!(placement.community, "320612001002", "the dedicated grid's own community");
    }

    #[test]
    fn a_point_on_a_shared_edge_is_on_the_boundary_and_no_grid_is_no_placement() {
        let located = Located {
            comprehensive: Some(hit("320612001002001", GridKind::Comprehensive, 1.0, Position::OnBoundary)),
            ..Located::default()
        };
        let placement = located.placement().unwrap();
        assert_eq!(placement.responsible.code, "320612001002001");
        assert!(placement.on_boundary);
        assert_eq!(Located::default().placement(), None);
    }

    #[test]
    fn a_point_is_placed_in_a_grid_in_a_districts_blind_spot_or_nowhere() {
        let db = TestDb::migrated(&crate::SCHEMA);
        let regions = "code,name,level,parent\n320600000000,南通市,city,\n320613000000,崇川区,district,320600000000\n\
                       320613001000,街道,town,320613000000\n320613001001,社区,community,320613001000\n";
        import(&db, Dataset::Regions, Format::Csv, regions.as_bytes()).unwrap();
        let rect = |x0: f64, x1: f64| serde_json::json!({"type": "Polygon", "coordinates": [[[x0, 32.0], [x1, 32.0], [x1, 32.001], [x0, 32.001], [x0, 32.0]]]});
        let grids = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
            "properties": {"code": "320613001001001", "name": "甲", "kind": "comprehensive", "region_code": "320613001001"},
            "geometry": rect(120.800, 120.802)}]});
        import(&db, Dataset::Grids, Format::Json, grids.to_string().as_bytes()).unwrap();
        let outline = Shape::from_geojson(&rect(120.800, 120.810)).unwrap();
        crate::audit::put_outline(&db, "320613000000", &outline).unwrap();

        match place_point(&db, 120.801, 32.0005, 0.0).unwrap() {
            Found::Grid { placement, .. } => assert_eq!(placement.responsible.code, "320613001001001"),
            other => panic!("expected a grid, got {other:?}"),
        }
        assert_eq!(place_point(&db, 120.805, 32.0005, 0.0).unwrap(), Found::District("320613000000".into()));
        assert_eq!(place_point(&db, 120.9, 32.0005, 0.0).unwrap(), Found::Nowhere);
    }
}
