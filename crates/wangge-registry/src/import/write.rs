//! Writing: a validated dataset as a new version beside the current one, switched to in
//! the same transaction; versions older than the previous one are dropped.

use std::collections::HashMap;

use wangge_core::migrations::{Sql, SqlValue, StorageError};

use super::parse::Records;
use super::validate::Context;
use super::{Dataset, current_version};
use crate::address::normalize;
use crate::index;
use crate::model::Grid;
use crate::outline::outline_geojson;

/// Writes the new version, switches to it and drops versions older than the previous
/// one: (version, previous version). Runs inside the caller's transaction.
pub(super) fn write(
    db: &impl Sql,
    dataset: Dataset,
    records: &Records,
    sha256: &str,
    context: &Context,
) -> Result<(i64, Option<i64>), StorageError> {
    let kind = dataset.as_str();
    let version = db
        .execute("SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE kind = ?", &[kind.into()])?
        .scalar()
        .and_then(SqlValue::as_i64)
        .unwrap_or(1);
    insert_records(db, version, records, context)?;
    db.execute(
        "INSERT INTO dataset_versions (kind, version, sha256, rows, imported_at) VALUES (?, ?, ?, ?, ?)",
        &[
            kind.into(),
            version.into(),
            sha256.into(),
            (records.len() as i64).into(),
            wangge_core::time::render(wangge_core::time::now_utc()).into(),
        ],
    )?;
    let previous = switch_to(db, dataset, version)?;
    index::after_writing(db, dataset)?;
    Ok((version, previous))
}

/// Every record as a row of `version`, many rows to a statement ([`insert_all`]).
fn insert_records(db: &impl Sql, version: i64, records: &Records, context: &Context) -> Result<(), StorageError> {
    let v = || SqlValue::Integer(version);
    match records {
        Records::Regions(rows) => {
            let values = rows.iter().flat_map(|(_, r)| {
                let parent = r.parent.clone().filter(|p| !p.is_empty());
                [v(), r.code.as_str().into(), r.name.as_str().into(), r.level.as_str().into(), parent.into()]
            });
            insert_all(db, "regions (version, code, name, level, parent)", 5, values.collect(), "")?;
        }
        Records::Grids(rows) => {
            let grids: Vec<&Grid> = rows.iter().filter_map(|(_, g)| g.as_ref().ok()).collect();
            insert_grids(db, version, &grids)?;
        }
        Records::Staff(rows) => {
            let values = rows.iter().flat_map(|(_, s)| {
                [
                    v(),
                    s.staff_id.as_str().into(),
                    s.name.as_str().into(),
                    s.role.as_str().into(),
                    s.grid_code.as_str().into(),
                    s.region_code.as_str().into(),
                    s.phone.as_str().into(),
                    s.wechat_openid.as_str().into(),
                    s.former_roles.as_str().into(),
                ]
            });
            let into =
                "staff (version, staff_id, name, role, grid_code, region_code, phone, wechat_openid, former_roles)";
            insert_all(db, into, 9, values.collect(), "")?;
        }
        Records::Addresses(rows) => {
            let values = rows.iter().flat_map(|(_, a)| {
                let normalized = normalize(&a.address, &context.city_names);
                [
                    v(),
                    a.address.as_str().into(),
                    normalized.into(),
                    a.lng.into(),
                    a.lat.into(),
                    a.grid_code.as_str().into(),
                ]
            });
            insert_all(db, "addresses (version, address, normalized, lng, lat, grid_code)", 6, values.collect(), "")?;
            index::index_addresses(db, version)?;
        }
    }
    Ok(())
}

/// At most this many values are bound to one statement: SQLite's limit before 3.32, far
/// under PostgreSQL's 65 535.
const MAX_VALUES: usize = 999;

/// Inserts `values`, `columns` to a row, into `into` (`table (column, …)`), as many rows to
/// a statement as [`MAX_VALUES`] allows: on Spin every statement is a host call, and a
/// city's addresses are tens of thousands of rows. `returning` (empty, or ` RETURNING …`)
/// ends each statement; the rows it returns, in no particular order.
pub(crate) fn insert_all(
    db: &impl Sql,
    into: &str,
    columns: usize,
    values: Vec<SqlValue>,
    returning: &str,
) -> Result<Vec<Vec<SqlValue>>, StorageError> {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let mut returned = Vec::new();
    for chunk in values.chunks((MAX_VALUES / columns).max(1) * columns) {
        let rows = vec![row.as_str(); chunk.len() / columns].join(", ");
        returned.extend(db.execute(&format!("INSERT INTO {into} VALUES {rows}{returning}"), chunk)?.rows);
    }
    Ok(returned)
}

/// Makes `version` the current one, keeps the one it replaces as the previous, and drops
/// any older: the previous version.
fn switch_to(db: &impl Sql, dataset: Dataset, version: i64) -> Result<Option<i64>, StorageError> {
    let kind = dataset.as_str();
    let previous = current_version(db, dataset)?;
    db.execute(
        "INSERT INTO current_datasets (kind, version, previous_version) VALUES (?, ?, ?) ON CONFLICT (kind) DO UPDATE SET version = excluded.version, previous_version = excluded.previous_version",
        &[kind.into(), version.into(), previous.into()],
    )?;
    let stale = db.execute(
        "SELECT version FROM dataset_versions WHERE kind = ? AND version < ?",
        &[kind.into(), previous.unwrap_or(version).into()],
    )?;
    for row in stale.rows {
        if let Some(old) = row[0].as_i64() {
            drop_version(db, dataset, old)?;
        }
    }
    Ok(previous)
}

/// Stores one grid and its bounding box; used by the benchmark's generator.
pub fn insert_grid(db: &impl Sql, version: i64, grid: &Grid) -> Result<(), StorageError> {
    insert_grids(db, version, &[grid])
}

/// Stores grids, their simplified outlines for maps ([`outline_geojson`]) and their
/// bounding boxes ([`index::index_grids`]).
fn insert_grids(db: &impl Sql, version: i64, grids: &[&Grid]) -> Result<(), StorageError> {
    let values = grids.iter().flat_map(|grid| {
        let members = serde_json::to_string(&grid.members).unwrap_or_else(|_| "[]".into());
        [
            version.into(),
            grid.code.as_str().into(),
            grid.name.as_str().into(),
            grid.kind.as_str().into(),
            grid.dedicated_type.clone().into(),
            grid.region_code.as_str().into(),
            grid.shape.area_m2().into(),
            grid.grid_head.clone().into(),
            members.into(),
            SqlValue::Blob(grid.shape.encode()),
            outline_geojson(&grid.shape).into(),
        ]
    });
    let into = "grids (version, code, name, kind, dedicated_type, region_code, area_m2, grid_head, members, geometry, outline)";
    let ids = insert_all(db, into, 11, values.collect(), " RETURNING id, code")?;
    let boxes: HashMap<&str, [f64; 4]> = grids.iter().map(|g| (g.code.as_str(), g.shape.bbox())).collect();
    let filed: Vec<(i64, [f64; 4])> =
        ids.iter().filter_map(|r| Some((r[0].as_i64()?, *boxes.get(r[1].as_str()?)?))).collect();
    index::index_grids(db, &filed)
}

fn drop_version(db: &impl Sql, dataset: Dataset, version: i64) -> Result<(), StorageError> {
    let v: SqlValue = version.into();
    match dataset {
        Dataset::Regions => {
            db.execute("DELETE FROM regions WHERE version = ?", std::slice::from_ref(&v))?;
        }
        Dataset::Grids => {
            index::unindex_grids(db, version)?;
            db.execute("DELETE FROM grids WHERE version = ?", std::slice::from_ref(&v))?;
        }
        Dataset::Staff => {
            db.execute("DELETE FROM staff WHERE version = ?", std::slice::from_ref(&v))?;
        }
        Dataset::Addresses => {
            index::unindex_addresses(db, version)?;
            db.execute("DELETE FROM addresses WHERE version = ?", std::slice::from_ref(&v))?;
        }
    }
    db.execute("DELETE FROM dataset_versions WHERE kind = ? AND version = ?", &[dataset.as_str().into(), v])?;
    Ok(())
}
