//! Reads of the current (or previous) dataset versions.

use serde::Serialize;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};
use wangge_geo::Shape;

use crate::model::{Region, mask_phone};

fn text(v: &SqlValue) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn regions_from(rows: Rows) -> Vec<Region> {
    rows.rows
        .into_iter()
        .map(|r| Region {
            code: text(&r[0]),
            name: text(&r[1]),
            level: text(&r[2]),
            parent: r[3].as_str().map(str::to_owned),
        })
        .collect()
}

pub fn region(db: &impl Sql, version: i64, code: &str) -> Result<Option<Region>, StorageError> {
    Ok(regions_from(db.execute(
        "SELECT code, name, level, parent FROM regions WHERE version = ? AND code = ?",
        &[version.into(), code.into()],
    )?)
    .into_iter()
    .next())
}

/// A region and every region above it, nearest first.
pub fn region_chain(db: &impl Sql, version: i64, code: &str) -> Result<Vec<Region>, StorageError> {
    Ok(regions_from(db.execute(
        "WITH RECURSIVE chain (code, name, level, parent, depth) AS ( \
           SELECT code, name, level, parent, 0 FROM regions WHERE version = ?1 AND code = ?2 \
           UNION ALL \
           SELECT r.code, r.name, r.level, r.parent, c.depth + 1 FROM regions r JOIN chain c ON r.code = c.parent \
           WHERE r.version = ?1 AND c.depth < 8) \
         SELECT code, name, level, parent FROM chain ORDER BY depth",
        &[version.into(), code.into()],
    )?))
}

/// Children of a region, by code, one keyset page (`limit + 1` fetched to know if more remain).
pub fn children(
    db: &impl Sql,
    version: i64,
    code: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<Region>, StorageError> {
    Ok(regions_from(db.execute(
        "SELECT code, name, level, parent FROM regions WHERE version = ? AND parent = ? AND code > ? ORDER BY code LIMIT ?",
        &[version.into(), code.into(), after.into(), (limit as i64 + 1).into()],
    )?))
}

/// Regions whose code starts with `prefix`, one keyset page.
pub fn regions_by_prefix(
    db: &impl Sql,
    version: i64,
    prefix: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<Region>, StorageError> {
    Ok(regions_from(db.execute(
        "SELECT code, name, level, parent FROM regions WHERE version = ? AND code >= ? AND code < ? AND code > ? ORDER BY code LIMIT ?",
        &[version.into(), prefix.into(), format!("{prefix}\u{10FFFF}").into(), after.into(), (limit as i64 + 1).into()],
    )?))
}

pub fn city_names(db: &impl Sql, version: i64) -> Result<Vec<String>, StorageError> {
    Ok(db
        .execute("SELECT name FROM regions WHERE version = ? AND level = 'city'", &[version.into()])?
        .rows
        .iter()
        .map(|r| text(&r[0]))
        .collect())
}

/// A grid as `GET /v1/grids/{code}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GridRecord {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub dedicated_type: Option<String>,
    pub region_code: String,
    pub area_m2: f64,
    pub grid_head: Option<String>,
    pub members: Vec<String>,
    #[serde(skip)]
    pub shape: Option<Shape>,
}

fn grids_from(rows: Rows, with_geometry: bool) -> Vec<GridRecord> {
    rows.rows
        .into_iter()
        .map(|r| GridRecord {
            code: text(&r[0]),
            name: text(&r[1]),
            kind: text(&r[2]),
            dedicated_type: r[3].as_str().map(str::to_owned),
            region_code: text(&r[4]),
            area_m2: match r[5] {
                SqlValue::Real(f) => f,
                _ => 0.0,
            },
            grid_head: r[6].as_str().map(str::to_owned),
            members: serde_json::from_str(r[7].as_str().unwrap_or("[]")).unwrap_or_default(),
            shape: match (with_geometry, r.get(8)) {
                (true, Some(SqlValue::Blob(b))) => Shape::decode(b),
                _ => None,
            },
        })
        .collect()
}

pub fn grid(db: &impl Sql, version: i64, code: &str) -> Result<Option<GridRecord>, StorageError> {
    Ok(grids_from(
        db.execute(
            "SELECT code, name, kind, dedicated_type, region_code, area_m2, grid_head, members, geometry FROM grids WHERE version = ? AND code = ?",
            &[version.into(), code.into()],
        )?,
        true,
    )
    .into_iter()
    .next())
}

/// Grids whose code starts with `prefix` (optionally of one kind), one keyset page, no geometry.
pub fn grids_by_prefix(
    db: &impl Sql,
    version: i64,
    prefix: &str,
    kind: Option<&str>,
    after: &str,
    limit: usize,
) -> Result<Vec<GridRecord>, StorageError> {
    Ok(grids_from(
        db.execute(
            "SELECT code, name, kind, dedicated_type, region_code, area_m2, grid_head, members FROM grids \
             WHERE version = ? AND code >= ? AND code < ? AND code > ? AND kind = coalesce(?, kind) ORDER BY code LIMIT ?",
            &[
                version.into(),
                prefix.into(),
                format!("{prefix}\u{10FFFF}").into(),
                after.into(),
                kind.map(str::to_owned).into(),
                (limit as i64 + 1).into(),
            ],
        )?,
        false,
    ))
}

/// Where a grid sits, for scoring: its code, kind and community.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridPlace {
    pub code: String,
    pub kind: String,
    pub region_code: String,
}

/// Every grid of `version`, by code: what assessment scores.
pub fn grid_places(db: &impl Sql, version: i64) -> Result<Vec<GridPlace>, StorageError> {
    let rows =
        db.execute("SELECT code, kind, region_code FROM grids WHERE version = ? ORDER BY code", &[version.into()])?;
    let text = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    Ok(rows.rows.iter().map(|r| GridPlace { code: text(&r[0]), kind: text(&r[1]), region_code: text(&r[2]) }).collect())
}

/// A staff member as shown to integrators: phone masked, no openid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffView {
    pub staff_id: String,
    pub name: String,
    pub role: String,
    pub grid_code: String,
    pub region_code: String,
    pub phone: String,
}

/// The staff of these grids, and the grid heads of these communities.
pub fn staff_on_duty(
    db: &impl Sql,
    version: i64,
    grids: &[&str],
    communities: &[&str],
) -> Result<Vec<StaffView>, StorageError> {
    // Each query is answered from its index (staff_grid, staff_region); the order is
    // made here, so the planner never trades the index for the primary key's order.
    let mut out = Vec::new();
    for grid in grids {
        let mut rows = staff_rows(db.execute(
            "SELECT staff_id, name, role, grid_code, region_code, phone FROM staff INDEXED BY staff_grid WHERE version = ? AND grid_code = ?",
            &[version.into(), (*grid).into()],
        )?);
        rows.sort_by(|a, b| (&a.role, &a.staff_id).cmp(&(&b.role, &b.staff_id)));
        out.extend(rows);
    }
    for community in communities {
        let mut rows = staff_rows(db.execute(
            "SELECT staff_id, name, role, grid_code, region_code, phone FROM staff INDEXED BY staff_region WHERE version = ? AND region_code = ? AND role = 'grid_head' AND grid_code = ''",
            &[version.into(), (*community).into()],
        )?);
        rows.sort_by(|a, b| a.staff_id.cmp(&b.staff_id));
        out.extend(rows);
    }
    out.dedup_by(|a, b| a.staff_id == b.staff_id);
    Ok(out)
}

pub fn staff_member(db: &impl Sql, version: i64, staff_id: &str) -> Result<Option<StaffView>, StorageError> {
    Ok(staff_rows(db.execute(
        "SELECT staff_id, name, role, grid_code, region_code, phone FROM staff WHERE version = ? AND staff_id = ?",
        &[version.into(), staff_id.into()],
    )?)
    .into_iter()
    .next())
}

/// How to reach staff members (personal data, unmasked: for notification only).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffContact {
    pub staff_id: String,
    pub grid_code: String,
    pub phone: String,
    pub wechat_openid: String,
}

/// The contacts of staff members by id, and of every staff member of `grids`, in one
/// statement (unknown ids and grids are left out).
pub fn staff_contacts(
    db: &impl Sql,
    version: i64,
    ids: &[String],
    grids: &[String],
) -> Result<Vec<StaffContact>, StorageError> {
    let list = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let rows = db.execute(
        "SELECT staff_id, grid_code, phone, wechat_openid FROM staff WHERE version = ?1 \
         AND staff_id IN (SELECT value FROM json_each(?2)) \
         UNION SELECT staff_id, grid_code, phone, wechat_openid FROM staff WHERE version = ?1 \
         AND grid_code IN (SELECT value FROM json_each(?3))",
        &[version.into(), list(ids).into(), list(grids).into()],
    )?;
    Ok(rows
        .rows
        .into_iter()
        .map(|r| StaffContact {
            staff_id: text(&r[0]),
            grid_code: text(&r[1]),
            phone: text(&r[2]),
            wechat_openid: text(&r[3]),
        })
        .collect())
}

fn staff_rows(rows: Rows) -> Vec<StaffView> {
    rows.rows
        .into_iter()
        .map(|r| StaffView {
            staff_id: text(&r[0]),
            name: text(&r[1]),
            role: text(&r[2]),
            grid_code: text(&r[3]),
            region_code: text(&r[4]),
            phone: mask_phone(&text(&r[5])),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use wangge_core::native::TestDb;

    use super::*;
    use crate::import::{Dataset, Format, import};

    /// A city, a district, a town and two communities; a comprehensive and a dedicated
    /// grid; a grid worker, an informant and a grid head.
    fn registry() -> TestDb {
        let db = TestDb::migrated(&crate::SCHEMA);
        let regions = "code,name,level,parent\n320600000000,南通市,city,\n320613000000,崇川区,district,320600000000\n\
                       320613001000,街道,town,320613000000\n320613001001,甲社区,community,320613001000\n\
                       320613001002,乙社区,community,320613001000\n";
        import(&db, Dataset::Regions, Format::Csv, regions.as_bytes()).unwrap();
        let rect = |x0: f64| serde_json::json!({"type": "Polygon", "coordinates": [[[x0, 32.0], [x0 + 0.001, 32.0], [x0 + 0.001, 32.001], [x0, 32.001], [x0, 32.0]]]});
        let feature = |code: &str, kind: &str, x0: f64| {
            serde_json::json!({"type": "Feature", "properties": {"code": code,
            "name": code, "kind": kind, "region_code": &code[..12], "dedicated_type": "school", "grid_workers": ["S1"]}, "geometry": rect(x0)})
        };
        let grids = serde_json::json!({"type": "FeatureCollection", "features": [
            feature("320613001001001", "comprehensive", 120.8), feature("320613001001501", "dedicated", 120.8)]});
        import(&db, Dataset::Grids, Format::Json, grids.to_string().as_bytes()).unwrap();
        let staff = "staff_id,name,role,grid_code,region_code,phone,wechat_openid,former_roles\n\
                     S1,甲,grid_worker,320613001001001,320613001001,13800000001,o1,\n\
                     S2,乙,informant,320613001001501,320613001001,13800000002,o2,\n\
                     S3,丙,grid_head,,320613001001,13800000003,o3,\n";
        import(&db, Dataset::Staff, Format::Csv, staff.as_bytes()).unwrap();
        db
    }

    fn codes<T>(items: &[T], code: impl Fn(&T) -> &str) -> Vec<&str> {
        items.iter().map(code).collect()
    }

    #[test]
    fn regions_read_by_code_chain_children_and_prefix() {
        let db = registry();
        assert_eq!(region(&db, 1, "320613001001").unwrap().unwrap().name, "甲社区");
        assert_eq!(region(&db, 1, "320613001009").unwrap(), None);
        let chain = region_chain(&db, 1, "320613001001").unwrap();
        assert_eq!(codes(&chain, |r| &r.code), ["320613001001", "320613001000", "320613000000", "320600000000"]);
        let kids = children(&db, 1, "320613001000", "", 1).unwrap();
        assert_eq!(codes(&kids, |r| &r.code), ["320613001001", "320613001002"], "one page and one more");
        let after = children(&db, 1, "320613001000", "320613001001", 10).unwrap();
        assert_eq!(codes(&after, |r| &r.code), ["320613001002"]);
        let prefixed = regions_by_prefix(&db, 1, "320613001", "", 10).unwrap();
        assert_eq!(codes(&prefixed, |r| &r.code), ["320613001000", "320613001001", "320613001002"]);
        assert_eq!(city_names(&db, 1).unwrap(), ["南通市"]);
    }

    #[test]
    fn grids_read_by_code_prefix_and_kind() {
        let db = registry();
        let grid = grid(&db, 1, "320613001001001").unwrap().unwrap();
        assert_eq!((grid.kind.as_str(), grid.members.as_slice()), ("comprehensive", ["S1".to_owned()].as_slice()));
        assert!(grid.shape.is_some() && grid.area_m2 > 9_000.0);
        let all = grids_by_prefix(&db, 1, "320613001001", None, "", 10).unwrap();
        assert_eq!(codes(&all, |g| &g.code), ["320613001001001", "320613001001501"]);
        let dedicated = grids_by_prefix(&db, 1, "320613", Some("dedicated"), "", 10).unwrap();
        assert_eq!(codes(&dedicated, |g| &g.code), ["320613001001501"]);
        assert_eq!(dedicated[0].dedicated_type.as_deref(), Some("school"));
        let places = grid_places(&db, 1).unwrap();
        assert_eq!(codes(&places, |g| &g.kind), ["comprehensive", "dedicated"]);
    }

    #[test]
    fn staff_read_on_duty_by_id_and_as_contacts() {
        let db = registry();
        let on_duty = staff_on_duty(&db, 1, &["320613001001501", "320613001001001"], &["320613001001"]).unwrap();
        assert_eq!(codes(&on_duty, |s| &s.staff_id), ["S2", "S1", "S3"]);
        assert_ne!(on_duty[0].phone, "13800000002", "phones are masked");
        assert_eq!(staff_member(&db, 1, "S3").unwrap().unwrap().role, "grid_head");
        let mut contacts = staff_contacts(&db, 1, &["S3".into(), "S9".into()], &["320613001001001".into()]).unwrap();
        contacts.sort_by(|a, b| a.staff_id.cmp(&b.staff_id));
        assert_eq!(codes(&contacts, |c| &c.staff_id), ["S1", "S3"]);
        assert_eq!(contacts[1].phone, "13800000003", "contacts are not masked");
        assert!(staff_contacts(&db, 1, &[], &[]).unwrap().is_empty());
    }
}
