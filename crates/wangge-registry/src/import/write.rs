//! Writing: a validated dataset as a new version beside the current one, switched to in
//! the same transaction; versions older than the previous one are dropped.

use wangge_core::migrations::{Sql, SqlValue, StorageError};

use super::parse::Records;
use super::validate::Context;
use super::{Dataset, current_version};
use crate::address::normalize;
use crate::model::Grid;

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
    Ok((version, previous))
}

/// Every record as a row of `version`.
fn insert_records(db: &impl Sql, version: i64, records: &Records, context: &Context) -> Result<(), StorageError> {
    match records {
        Records::Regions(rows) => {
            for (_, r) in rows {
                db.execute(
                    "INSERT INTO regions (version, code, name, level, parent) VALUES (?, ?, ?, ?, ?)",
                    &[
                        version.into(),
                        r.code.as_str().into(),
                        r.name.as_str().into(),
                        r.level.as_str().into(),
                        r.parent.clone().filter(|p| !p.is_empty()).into(),
                    ],
                )?;
            }
        }
        Records::Grids(rows) => {
            for grid in rows.iter().filter_map(|(_, g)| g.as_ref().ok()) {
                insert_grid(db, version, grid)?;
            }
        }
        Records::Staff(rows) => {
            for (_, s) in rows {
                db.execute(
                    "INSERT INTO staff (version, staff_id, name, role, grid_code, region_code, phone, wechat_openid, former_roles) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &[version.into(), s.staff_id.as_str().into(), s.name.as_str().into(), s.role.as_str().into(), s.grid_code.as_str().into(), s.region_code.as_str().into(), s.phone.as_str().into(), s.wechat_openid.as_str().into(), s.former_roles.as_str().into()],
                )?;
            }
        }
        Records::Addresses(rows) => {
            for (_, a) in rows {
                let normalized = normalize(&a.address, &context.city_names);
                let id = db
                    .execute(
                        "INSERT INTO addresses (version, address, normalized, lng, lat, grid_code) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        &[version.into(), a.address.as_str().into(), normalized.as_str().into(), a.lng.into(), a.lat.into(), a.grid_code.as_str().into()],
                    )?
                    .scalar()
                    .and_then(SqlValue::as_i64)
                    .unwrap_or(0);
                db.execute(
                    "INSERT INTO addresses_fts (rowid, normalized) VALUES (?, ?)",
                    &[id.into(), normalized.into()],
                )?;
            }
        }
    }
    Ok(())
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

/// Stores one grid and its bounding box; used by imports and the benchmark's generator.
pub fn insert_grid(db: &impl Sql, version: i64, grid: &Grid) -> Result<(), StorageError> {
    let members = serde_json::to_string(&grid.members).unwrap_or_else(|_| "[]".into());
    let id = db
        .execute(
            "INSERT INTO grids (version, code, name, kind, dedicated_type, region_code, area_m2, grid_head, members, geometry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &[
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
            ],
        )?
        .scalar()
        .and_then(SqlValue::as_i64)
        .unwrap_or(0);
    let [min_lng, min_lat, max_lng, max_lat] = grid.shape.bbox();
    db.execute(
        "INSERT INTO grids_rtree (id, min_lng, max_lng, min_lat, max_lat) VALUES (?, ?, ?, ?, ?)",
        &[id.into(), min_lng.into(), max_lng.into(), min_lat.into(), max_lat.into()],
    )?;
    Ok(())
}

fn drop_version(db: &impl Sql, dataset: Dataset, version: i64) -> Result<(), StorageError> {
    let v: SqlValue = version.into();
    match dataset {
        Dataset::Regions => {
            db.execute("DELETE FROM regions WHERE version = ?", std::slice::from_ref(&v))?;
        }
        Dataset::Grids => {
            db.execute(
                "DELETE FROM grids_rtree WHERE id IN (SELECT id FROM grids WHERE version = ?)",
                std::slice::from_ref(&v),
            )?;
            db.execute("DELETE FROM grids WHERE version = ?", std::slice::from_ref(&v))?;
        }
        Dataset::Staff => {
            db.execute("DELETE FROM staff WHERE version = ?", std::slice::from_ref(&v))?;
        }
        Dataset::Addresses => {
            db.execute(
                "DELETE FROM addresses_fts WHERE rowid IN (SELECT id FROM addresses WHERE version = ?)",
                std::slice::from_ref(&v),
            )?;
            db.execute("DELETE FROM addresses WHERE version = ?", std::slice::from_ref(&v))?;
        }
    }
    db.execute("DELETE FROM dataset_versions WHERE kind = ? AND version = ?", &[dataset.as_str().into(), v])?;
    Ok(())
}
