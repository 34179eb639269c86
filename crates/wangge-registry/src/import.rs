//! Imports: a whole dataset at a time, validated before anything is written, then
//! written as a new version and switched to in one transaction.
//!
//! - A failed import changes nothing.
//! - The previous version stays readable (`?version=`) until the next import.
//! - Re-importing the same bytes is a no-op.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};
use wangge_core::FieldError;
use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_geo::Shape;

use crate::address::normalize;
use crate::model::{Address, DEDICATED_TYPES, Grid, GridKind, Level, Region, STAFF_ROLES, Staff};

/// The four registries, imported in this order: each checks against the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Regions,
    Grids,
    Staff,
    Addresses,
}

impl Dataset {
    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Regions => "regions",
            Dataset::Grids => "grids",
            Dataset::Staff => "staff",
            Dataset::Addresses => "addresses",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// How long one stage of an import took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stage {
    pub stage: &'static str,
    pub rows: usize,
    pub ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub dataset: &'static str,
    pub version: i64,
    pub previous_version: Option<i64>,
    pub rows: usize,
    pub sha256: String,
    /// The same bytes as the current version: nothing was written.
    pub unchanged: bool,
    pub stages: Vec<Stage>,
    pub total_ms: f64,
}

/// At most this many problems are listed; `total` counts them all.
pub const MAX_REPORTED_ERRORS: usize = 100;

#[derive(Debug)]
pub enum ImportError {
    /// Not CSV or JSON of the expected shape at all (400).
    Malformed(String),
    /// Records that break the rules (422), each with its pointer.
    Invalid {
        errors: Vec<FieldError>,
        total: usize,
    },
    /// A dataset this one depends on has not been imported (409).
    MissingDependency(&'static str),
    Storage(StorageError),
}

impl From<StorageError> for ImportError {
    fn from(e: StorageError) -> Self {
        ImportError::Storage(e)
    }
}

/// The version of `dataset` readers see now, if any.
pub fn current_version(db: &impl Sql, dataset: Dataset) -> Result<Option<i64>, StorageError> {
    Ok(db
        .execute("SELECT version FROM current_datasets WHERE kind = ?", &[dataset.as_str().into()])?
        .scalar()
        .and_then(SqlValue::as_i64))
}

/// The version to read: `requested` if it is the current or the previous one.
pub fn readable_version(db: &impl Sql, dataset: Dataset, requested: Option<i64>) -> Result<Option<i64>, StorageError> {
    let rows = db
        .execute("SELECT version, previous_version FROM current_datasets WHERE kind = ?", &[dataset.as_str().into()])?;
    let Some(row) = rows.rows.first() else { return Ok(None) };
    let (current, previous) = (row[0].as_i64(), row[1].as_i64());
    Ok(match requested {
        None => current,
        Some(v) if Some(v) == current || Some(v) == previous => Some(v),
        Some(_) => None,
    })
}

/// Imports `body` as the next version of `dataset`.
pub fn import(db: &impl Sql, dataset: Dataset, format: Format, body: &[u8]) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let sha256 = hex::encode(Sha256::digest(body));
    let mut stages = Vec::new();

    let current = db.execute(
        "SELECT d.version, d.sha256, d.rows, c.previous_version FROM current_datasets c JOIN dataset_versions d ON d.kind = c.kind AND d.version = c.version WHERE c.kind = ?",
        &[dataset.as_str().into()],
    )?;
    if let Some(row) = current.rows.first()
        && row[1].as_str() == Some(sha256.as_str())
    {
        return Ok(ImportReport {
            dataset: dataset.as_str(),
            version: row[0].as_i64().unwrap_or(0),
            previous_version: row[3].as_i64(),
            rows: row[2].as_i64().unwrap_or(0) as usize,
            sha256,
            unchanged: true,
            stages,
            total_ms: ms(started),
        });
    }

    let context = Context::load(db, dataset)?;
    let t = Instant::now();
    let records = parse(dataset, format, body)?;
    stages.push(Stage { stage: "parse", rows: records.len(), ms: ms(t) });

    let t = Instant::now();
    let errors = validate(&records, &context);
    stages.push(Stage { stage: "validate", rows: records.len(), ms: ms(t) });
    if !errors.is_empty() {
        let total = errors.len();
        return Err(ImportError::Invalid { errors: errors.into_iter().take(MAX_REPORTED_ERRORS).collect(), total });
    }

    let t = Instant::now();
    let rows = records.len();
    let (version, previous_version) = db.transaction(|db| write(db, dataset, &records, &sha256, &context))?;
    stages.push(Stage { stage: "write", rows, ms: ms(t) });
    Ok(ImportReport {
        dataset: dataset.as_str(),
        version,
        previous_version,
        rows,
        sha256,
        unchanged: false,
        stages,
        total_ms: ms(started),
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// A parsed feature, or what is wrong with it.
type ParsedGrid = Result<Grid, Vec<FieldError>>;

/// Parsed records, each with the JSON pointer that names it in the body.
enum Records {
    Regions(Vec<(String, Region)>),
    Grids(Vec<(String, ParsedGrid)>),
    Staff(Vec<(String, Staff)>),
    Addresses(Vec<(String, Address)>),
}

impl Records {
    fn len(&self) -> usize {
        match self {
            Records::Regions(r) => r.len(),
            Records::Grids(r) => r.len(),
            Records::Staff(r) => r.len(),
            Records::Addresses(r) => r.len(),
        }
    }
}

fn parse(dataset: Dataset, format: Format, body: &[u8]) -> Result<Records, ImportError> {
    Ok(match (dataset, format) {
        (Dataset::Regions, _) => Records::Regions(parse_table(format, body)?),
        (Dataset::Staff, _) => Records::Staff(parse_table(format, body)?),
        (Dataset::Addresses, _) => Records::Addresses(parse_table(format, body)?),
        (Dataset::Grids, Format::Json) => Records::Grids(parse_grids(body)?),
        (Dataset::Grids, Format::Csv) => {
            return Err(ImportError::Malformed("grids are imported as a GeoJSON FeatureCollection, not CSV".into()));
        }
    })
}

/// A CSV with the shared headers, or a JSON array of objects with the same fields.
/// A row is pointed at as `/<index>` (0-based, header excluded).
fn parse_table<T: serde::de::DeserializeOwned>(format: Format, body: &[u8]) -> Result<Vec<(String, T)>, ImportError> {
    match format {
        Format::Json => {
            let values: Vec<Value> = serde_json::from_slice(body)
                .map_err(|e| ImportError::Malformed(format!("expected a JSON array of records: {e}")))?;
            let mut out = Vec::with_capacity(values.len());
            let mut errors = Vec::new();
            for (i, v) in values.into_iter().enumerate() {
                match serde_json::from_value(v) {
                    Ok(record) => out.push((format!("/{i}"), record)),
                    Err(e) => errors.push(FieldError::new(format!("/{i}"), "record", e.to_string())),
                }
            }
            if errors.is_empty() { Ok(out) } else { Err(invalid(errors)) }
        }
        Format::Csv => {
            let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
            let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
            reader.headers().map_err(|e| ImportError::Malformed(format!("CSV header: {e}")))?;
            let mut out = Vec::new();
            let mut errors = Vec::new();
            for (i, record) in reader.deserialize::<T>().enumerate() {
                match record {
                    Ok(record) => out.push((format!("/{i}"), record)),
                    Err(e) => errors.push(FieldError::new(format!("/{i}"), "record", e.to_string())),
                }
            }
            if errors.is_empty() { Ok(out) } else { Err(invalid(errors)) }
        }
    }
}

fn invalid(errors: Vec<FieldError>) -> ImportError {
    let total = errors.len();
    ImportError::Invalid { errors: errors.into_iter().take(MAX_REPORTED_ERRORS).collect(), total }
}

fn parse_grids(body: &[u8]) -> Result<Vec<(String, ParsedGrid)>, ImportError> {
    let collection: Value =
        serde_json::from_slice(body).map_err(|e| ImportError::Malformed(format!("not JSON: {e}")))?;
    if collection.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(ImportError::Malformed("expected a GeoJSON FeatureCollection".into()));
    }
    let Some(features) = collection.get("features").and_then(Value::as_array) else {
        return Err(ImportError::Malformed("a FeatureCollection needs a `features` array".into()));
    };
    Ok(features.iter().enumerate().map(|(i, f)| (format!("/features/{i}"), parse_feature(f, i))).collect())
}

fn parse_feature(feature: &Value, i: usize) -> Result<Grid, Vec<FieldError>> {
    let at = |field: &str| format!("/features/{i}/properties/{field}");
    let props = feature.get("properties").cloned().unwrap_or(Value::Null);
    let text = |field: &str| props.get(field).and_then(Value::as_str).map(str::to_owned);
    let list = |field: &str| -> Vec<String> {
        props
            .get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let code = text("code").unwrap_or_default();
    let kind = match text("kind").as_deref().and_then(GridKind::parse) {
        Some(k) => Some(k),
        None => {
            errors.push(FieldError::new(
                at("kind"),
                "unknown_kind",
                format!("grid {code}: kind must be `comprehensive` or `dedicated`, not {:?}", props.get("kind")),
            ));
            None
        }
    };
    let shape = match feature.get("geometry") {
        Some(g) => Shape::from_geojson(g).map_err(|problems| {
            for p in problems {
                errors.push(FieldError::new(
                    format!("/features/{i}/geometry{}", p.pointer),
                    p.code,
                    format!("grid {code}: {}", p.message),
                ));
            }
        }),
        None => {
            errors.push(FieldError::new(
                format!("/features/{i}/geometry"),
                "required",
                format!("grid {code}: no geometry"),
            ));
            Err(())
        }
    };
    let name = text("name").unwrap_or_default();
    if name.trim().is_empty() {
        errors.push(FieldError::new(at("name"), "required", format!("grid {code}: a name is required")));
    }
    let (Some(kind), Ok(shape)) = (kind, shape) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let members = if kind == GridKind::Dedicated { list("informants") } else { list("grid_workers") };
    Ok(Grid {
        code,
        name,
        kind,
        dedicated_type: text("dedicated_type"),
        region_code: text("region_code").unwrap_or_default(),
        grid_head: text("grid_head"),
        members,
        shape,
    })
}

/// What a dataset is checked against: the current versions of those before it.
struct Context {
    regions: HashSet<String>,
    communities: HashSet<String>,
    grids: HashSet<String>,
    city_names: Vec<String>,
}

impl Context {
    fn load(db: &impl Sql, dataset: Dataset) -> Result<Context, ImportError> {
        let mut context = Context {
            regions: HashSet::new(),
            communities: HashSet::new(),
            grids: HashSet::new(),
            city_names: Vec::new(),
        };
        let needs_regions = dataset != Dataset::Regions;
        let needs_grids = matches!(dataset, Dataset::Staff | Dataset::Addresses);
        if needs_regions {
            let Some(v) = current_version(db, Dataset::Regions)? else {
                return Err(ImportError::MissingDependency("regions"));
            };
            for row in db.execute("SELECT code, level, name FROM regions WHERE version = ?", &[v.into()])?.rows {
                let code = row[0].as_str().unwrap_or_default().to_owned();
                match row[1].as_str() {
                    Some("community") => {
                        context.communities.insert(code.clone());
                    }
                    Some("city") => context.city_names.push(row[2].as_str().unwrap_or_default().to_owned()),
                    _ => {}
                }
                context.regions.insert(code);
            }
        }
        if needs_grids {
            let Some(v) = current_version(db, Dataset::Grids)? else {
                return Err(ImportError::MissingDependency("grids"));
            };
            for row in db.execute("SELECT code FROM grids WHERE version = ?", &[v.into()])?.rows {
                context.grids.insert(row[0].as_str().unwrap_or_default().to_owned());
            }
        }
        Ok(context)
    }
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn validate(records: &Records, context: &Context) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    match records {
        Records::Regions(rows) => {
            let levels: std::collections::HashMap<&str, &str> =
                rows.iter().map(|(_, r)| (r.code.as_str(), r.level.as_str())).collect();
            for (at, r) in rows {
                if !all_digits(&r.code, 12) {
                    errors.push(FieldError::new(
                        format!("{at}/code"),
                        "code_format",
                        format!("region {}: a region code has 12 digits", r.code),
                    ));
                }
                if !seen.insert(r.code.as_str()) {
                    errors.push(FieldError::new(
                        format!("{at}/code"),
                        "duplicate_code",
                        format!("region {} appears twice", r.code),
                    ));
                }
                if r.name.trim().is_empty() {
                    errors.push(FieldError::new(
                        format!("{at}/name"),
                        "required",
                        format!("region {}: a name is required", r.code),
                    ));
                }
                let Some(level) = Level::parse(&r.level) else {
                    errors.push(FieldError::new(
                        format!("{at}/level"),
                        "unknown_level",
                        format!("region {}: level must be city, district, town or community", r.code),
                    ));
                    continue;
                };
                let parent = r.parent.as_deref().filter(|p| !p.is_empty());
                match (level.parent(), parent) {
                    (None, None) => {}
                    (None, Some(_)) => errors.push(FieldError::new(
                        format!("{at}/parent"),
                        "unexpected_parent",
                        format!("region {}: a city has no parent", r.code),
                    )),
                    (Some(_), None) => errors.push(FieldError::new(
                        format!("{at}/parent"),
                        "required",
                        format!("region {}: a {} needs a parent", r.code, level.as_str()),
                    )),
                    (Some(expected), Some(p)) => match levels.get(p) {
                        None => errors.push(FieldError::new(
                            format!("{at}/parent"),
                            "unknown_parent",
                            format!("region {}: parent {p} is not in the file", r.code),
                        )),
                        Some(l) if *l != expected.as_str() => errors.push(FieldError::new(
                            format!("{at}/parent"),
                            "parent_level",
                            format!(
                                "region {}: a {}'s parent must be a {}, not a {l}",
                                r.code,
                                level.as_str(),
                                expected.as_str()
                            ),
                        )),
                        Some(_) => {}
                    },
                }
            }
        }
        Records::Grids(rows) => {
            for (at, grid) in rows {
                let grid = match grid {
                    Ok(g) => g,
                    Err(problems) => {
                        errors.extend(problems.iter().cloned());
                        continue;
                    }
                };
                let code_at = format!("{at}/properties/code");
                if !all_digits(&grid.code, 15) {
                    errors.push(FieldError::new(
                        code_at.clone(),
                        "code_format",
                        format!("grid {}: a grid code has 15 digits", grid.code),
                    ));
                    continue;
                }
                if !seen.insert(grid.code.as_str()) {
                    errors.push(FieldError::new(
                        code_at.clone(),
                        "duplicate_code",
                        format!("grid {} appears twice", grid.code),
                    ));
                }
                let sequence: u32 = grid.code[12..].parse().unwrap_or(0);
                let range = match grid.kind {
                    GridKind::Comprehensive => 1..=499,
                    GridKind::Dedicated => 501..=999,
                };
                if !range.contains(&sequence) {
                    errors.push(FieldError::new(
                        code_at.clone(),
                        "code_sequence",
                        format!(
                            "grid {}: a {} grid's sequence is {:03}–{:03}, not {:03}",
                            grid.code,
                            grid.kind.as_str(),
                            range.start(),
                            range.end(),
                            sequence
                        ),
                    ));
                }
                if grid.region_code != grid.code[..12] {
                    errors.push(FieldError::new(
                        format!("{at}/properties/region_code"),
                        "code_prefix",
                        format!(
                            "grid {}: region_code {} must be the grid code's first 12 digits",
                            grid.code, grid.region_code
                        ),
                    ));
                } else if !context.communities.contains(&grid.region_code) {
                    errors.push(FieldError::new(
                        code_at.clone(),
                        "unknown_community",
                        format!("grid {}: community {} is not in the current regions", grid.code, grid.region_code),
                    ));
                }
                if grid.kind == GridKind::Dedicated
                    && !grid.dedicated_type.as_deref().is_some_and(|t| DEDICATED_TYPES.contains(&t))
                {
                    errors.push(FieldError::new(
                        format!("{at}/properties/dedicated_type"),
                        "dedicated_type",
                        format!("grid {}: dedicated_type must be one of {}", grid.code, DEDICATED_TYPES.join(", ")),
                    ));
                }
            }
        }
        Records::Staff(rows) => {
            for (at, s) in rows {
                if s.staff_id.trim().is_empty() {
                    errors.push(FieldError::new(format!("{at}/staff_id"), "required", "staff_id is required"));
                } else if !seen.insert(s.staff_id.as_str()) {
                    errors.push(FieldError::new(
                        format!("{at}/staff_id"),
                        "duplicate_code",
                        format!("staff {} appears twice", s.staff_id),
                    ));
                }
                if !STAFF_ROLES.contains(&s.role.as_str()) {
                    errors.push(FieldError::new(
                        format!("{at}/role"),
                        "unknown_role",
                        format!("staff {}: role must be one of {}", s.staff_id, STAFF_ROLES.join(", ")),
                    ));
                }
                if !s.grid_code.is_empty() && !context.grids.contains(&s.grid_code) {
                    errors.push(FieldError::new(
                        format!("{at}/grid_code"),
                        "unknown_grid",
                        format!("staff {}: grid {} is not in the current grids", s.staff_id, s.grid_code),
                    ));
                }
                if s.grid_code.is_empty() && s.role != "grid_head" {
                    errors.push(FieldError::new(
                        format!("{at}/grid_code"),
                        "required",
                        format!("staff {}: a {} belongs to a grid", s.staff_id, s.role),
                    ));
                }
                if !context.regions.contains(&s.region_code) {
                    errors.push(FieldError::new(
                        format!("{at}/region_code"),
                        "unknown_region",
                        format!("staff {}: region {} is not in the current regions", s.staff_id, s.region_code),
                    ));
                }
                if !s.phone.is_empty() && !(7..=20).contains(&s.phone.len()) {
                    errors.push(FieldError::new(
                        format!("{at}/phone"),
                        "phone_format",
                        format!("staff {}: a phone has 7 to 20 digits", s.staff_id),
                    ));
                }
            }
        }
        Records::Addresses(rows) => {
            for (at, a) in rows {
                if a.address.trim().is_empty() {
                    errors.push(FieldError::new(format!("{at}/address"), "required", "address is required"));
                }
                if !(-180.0..=180.0).contains(&a.lng) || !(-90.0..=90.0).contains(&a.lat) {
                    errors.push(FieldError::new(
                        format!("{at}/lng"),
                        "coordinate_out_of_range",
                        format!("address {}: coordinates out of range", a.address),
                    ));
                }
                if !context.grids.contains(&a.grid_code) {
                    errors.push(FieldError::new(
                        format!("{at}/grid_code"),
                        "unknown_grid",
                        format!("address {}: grid {} is not in the current grids", a.address, a.grid_code),
                    ));
                }
            }
        }
    }
    errors
}

/// Writes the new version, switches to it and drops versions older than the previous one.
fn write(
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
    Ok((version, previous))
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
