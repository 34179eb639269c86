//! Parsing: the body of an import as records, each with the JSON pointer that names it.
//!
//! Regions, staff and addresses are tables: CSV with the shared headers, or a JSON array
//! of objects with the same fields. Grids are a GeoJSON FeatureCollection. A body that is
//! not of the expected shape at all is [`ImportError::Malformed`]; records that cannot be
//! read are [`ImportError::Invalid`] with their pointers.

use serde_json::Value;
use wangge_core::FieldError;
use wangge_geo::Shape;

use super::{Dataset, Format, ImportError, MAX_REPORTED_ERRORS};
use crate::model::{Address, Grid, GridKind, Region, Staff};

/// A parsed feature, or what is wrong with it.
pub(super) type ParsedGrid = Result<Grid, Vec<FieldError>>;

/// Parsed records, each with the JSON pointer that names it in the body.
pub(super) enum Records {
    /// Rows of `PUT /v1/regions`.
    Regions(Vec<(String, Region)>),
    /// Features of `PUT /v1/grids`, each parsed or with its problems.
    Grids(Vec<(String, ParsedGrid)>),
    /// Rows of `PUT /v1/staff`.
    Staff(Vec<(String, Staff)>),
    /// Rows of `PUT /v1/addresses`.
    Addresses(Vec<(String, Address)>),
}

impl Records {
    pub(super) fn len(&self) -> usize {
        match self {
            Records::Regions(r) => r.len(),
            Records::Grids(r) => r.len(),
            Records::Staff(r) => r.len(),
            Records::Addresses(r) => r.len(),
        }
    }
}

/// The body as records of `dataset`.
pub(super) fn parse(dataset: Dataset, format: Format, body: &[u8]) -> Result<Records, ImportError> {
    Ok(match (dataset, format) {
        (Dataset::Regions, _) => Records::Regions(parse_table(format, body)?),
        (Dataset::Staff, _) => Records::Staff(parse_table(format, body)?),
        (Dataset::Addresses, _) => Records::Addresses(parse_table(format, body)?),
        (Dataset::Grids, Format::Json) => Records::Grids(parse_grids(body)?),
        (Dataset::Grids, Format::Csv) => {
            return Err(malformed(
                "grids are imported as a GeoJSON FeatureCollection, not CSV".into(),
                "网格应以 GeoJSON FeatureCollection 导入，而不是 CSV".into(),
            ));
        }
    })
}

/// A CSV with the shared headers, or a JSON array of objects with the same fields.
/// A row is pointed at as `/<index>` (0-based, header excluded).
fn parse_table<T: serde::de::DeserializeOwned>(format: Format, body: &[u8]) -> Result<Vec<(String, T)>, ImportError> {
    let (out, errors) = match format {
        Format::Json => json_rows(body)?,
        Format::Csv => csv_rows(body)?,
    };
    if errors.is_empty() { Ok(out) } else { Err(invalid(errors)) }
}

/// Rows read, and rows that could not be.
type Table<T> = (Vec<(String, T)>, Vec<FieldError>);

fn json_rows<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Table<T>, ImportError> {
    let values: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        malformed(format!("expected a JSON array of records: {e}"), format!("应为记录的 JSON 数组：{e}"))
    })?;
    let mut out = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        match serde_json::from_value(v) {
            Ok(record) => out.push((format!("/{i}"), record)),
            Err(e) => errors.push(FieldError::new(format!("/{i}"), "record", e.to_string())),
        }
    }
    Ok((out, errors))
}

fn csv_rows<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Table<T>, ImportError> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(body);
    reader.headers().map_err(|e| malformed(format!("CSV header: {e}"), format!("CSV 表头：{e}")))?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.deserialize::<T>().enumerate() {
        match record {
            Ok(record) => out.push((format!("/{i}"), record)),
            Err(e) => errors.push(FieldError::new(format!("/{i}"), "record", e.to_string())),
        }
    }
    Ok((out, errors))
}

/// 422 with the first [`MAX_REPORTED_ERRORS`] problems and the count of all.
pub(super) fn invalid(errors: Vec<FieldError>) -> ImportError {
    let total = errors.len();
    ImportError::Invalid { errors: errors.into_iter().take(MAX_REPORTED_ERRORS).collect(), total }
}

fn parse_grids(body: &[u8]) -> Result<Vec<(String, ParsedGrid)>, ImportError> {
    let collection: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON: {e}"), format!("不是 JSON：{e}")))?;
    if collection.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(malformed("expected a GeoJSON FeatureCollection".into(), "应为 GeoJSON FeatureCollection".into()));
    }
    let Some(features) = collection.get("features").and_then(Value::as_array) else {
        return Err(malformed(
            "a FeatureCollection needs a `features` array".into(),
            "FeatureCollection 需要 `features` 数组".into(),
        ));
    };
    Ok(features.iter().enumerate().map(|(i, f)| (format!("/features/{i}"), parse_feature(f, i))).collect())
}

/// One feature as a grid: its kind, geometry and name must be readable.
fn parse_feature(feature: &Value, i: usize) -> ParsedGrid {
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
    let shape = feature_shape(feature, i, &code, &mut errors);
    let name = text("name").unwrap_or_default();
    if name.trim().is_empty() {
        errors.push(FieldError::new(at("name"), "required", format!("grid {code}: a name is required")));
    }
    let (Some(kind), Some(shape)) = (kind, shape) else {
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

/// The feature's geometry as a shape, or its problems added to `errors`.
fn feature_shape(feature: &Value, i: usize, code: &str, errors: &mut Vec<FieldError>) -> Option<Shape> {
    let Some(geometry) = feature.get("geometry") else {
        errors.push(FieldError::new(
            format!("/features/{i}/geometry"),
            "required",
            format!("grid {code}: no geometry"),
        ));
        return None;
    };
    match Shape::from_geojson(geometry) {
        Ok(shape) => Some(shape),
        Err(problems) => {
            for p in problems {
                errors.push(FieldError::new(
                    format!("/features/{i}/geometry{}", p.pointer),
                    p.code,
                    format!("grid {code}: {}", p.message),
                ));
            }
            None
        }
    }
}

/// 400: not the document an import expects, in both languages.
fn malformed(en: String, zh: String) -> ImportError {
    ImportError::Malformed(wangge_core::problem::Text::new(en, zh))
}
