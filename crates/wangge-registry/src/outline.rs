//! Simplified grid outlines (网格轮廓) for the command-centre map, `GET /v1/grids/outlines`.
//!
//! Each grid's outline is simplified once, when its grids are imported ([`outline_geojson`],
//! stored in `grids.outline` beside the full geometry), so the whole city's 9,207 grids are
//! answered by reading and joining stored text: nothing is parsed or simplified per
//! request. Grids imported before the column existed are filled in lazily: the first read
//! that meets one computes its outline from the stored geometry and writes it back
//! ([`read`]), once.
//!
//! Simplification is Douglas–Peucker at [`TOLERANCE_DEG`] (about 3 m), ring by ring; a ring
//! that would fall under four positions, or a polygon that would stop being valid, keeps
//! its original positions. Coordinates are rounded to 6 decimals (about 0.1 m).

use geo::{Coord, LineString, Polygon, Simplify, Validation};
use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_geo::Shape;

use crate::import::Dataset;

/// Douglas–Peucker's tolerance, in degrees: about 3 m at Nantong's latitude.
pub const TOLERANCE_DEG: f64 = 0.00003;

/// The stored outlines' form; part of every ETag, so a change of algorithm changes it.
pub const FORMAT: u32 = 1;

/// One grid as the outlines route answers it: its properties and simplified geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    /// The grid's code (15 digits).
    pub code: String,
    /// The grid's name as imported.
    pub name: String,
    /// `comprehensive` or `dedicated`.
    pub kind: String,
    /// The community the grid lies in.
    pub region_code: String,
    /// The simplified geometry as compact GeoJSON text (a Polygon or MultiPolygon).
    pub geometry: String,
}

/// The current grids dataset as an ETag names it: its version and content hash.
#[derive(Debug, Clone, PartialEq)]
pub struct GridsTag {
    /// The current grids version.
    pub version: i64,
    /// The SHA-256 of the body that version was imported from.
    pub sha256: String,
}

impl GridsTag {
    /// The strong ETag of the outlines of `region` (empty: the whole registry) in this
    /// version. Digits follow letters, so no part of the hash reads as a region code.
    pub fn etag(&self, region: &str) -> String {
        let region = if region.is_empty() { "all" } else { region };
        let hash = self.sha256.get(..16).unwrap_or(&self.sha256);
        format!("\"outlines-{region}-f{FORMAT}v{}h{hash}\"", self.version)
    }
}

/// The current grids version and its hash, or `None` before grids are imported.
pub fn current_tag(db: &impl Sql) -> Result<Option<GridsTag>, StorageError> {
    let rows = db.execute(
        "SELECT c.version, d.sha256 FROM current_datasets c JOIN dataset_versions d ON d.kind = c.kind AND d.version = c.version WHERE c.kind = ?",
        &[Dataset::Grids.as_str().into()],
    )?;
    Ok(rows
        .rows
        .first()
        .and_then(|r| Some(GridsTag { version: r[0].as_i64()?, sha256: r[1].as_str().unwrap_or_default().to_owned() })))
}

/// A polygon simplified ring by ring, each ring kept as it was if simplifying would leave it
/// under four positions; the original polygon if the simplified one is not valid.
pub fn simplify_polygon(polygon: &Polygon<f64>) -> Polygon<f64> {
    let ring = |original: &LineString<f64>| {
        let simplified = round_ring(&original.simplify(TOLERANCE_DEG));
        if simplified.0.len() >= 4 { simplified } else { round_ring(original) }
    };
    let simplified = Polygon::new(ring(polygon.exterior()), polygon.interiors().iter().map(ring).collect());
    if simplified.is_valid() {
        simplified
    } else {
        Polygon::new(round_ring(polygon.exterior()), polygon.interiors().iter().map(round_ring).collect())
    }
}

/// A ring's positions rounded to 6 decimals, repeats that rounding makes dropped.
fn round_ring(ring: &LineString<f64>) -> LineString<f64> {
    let round = |v: f64| (v * 1e6).round() / 1e6;
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let c = Coord { x: round(c.x), y: round(c.y) };
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    LineString(out)
}

/// A shape's simplified outline as compact GeoJSON: a Polygon, or a MultiPolygon of several.
pub fn outline_geojson(shape: &Shape) -> String {
    let polygons: Vec<Polygon<f64>> = shape.polygons.0.iter().map(simplify_polygon).collect();
    let mut out = String::with_capacity(64 + 24 * polygons.iter().map(|p| p.exterior().0.len()).sum::<usize>());
    if polygons.len() == 1 {
        out.push_str("{\"type\":\"Polygon\",\"coordinates\":");
        write_polygon(&mut out, &polygons[0]);
    } else {
        out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
        for (i, p) in polygons.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_polygon(&mut out, p);
        }
        out.push(']');
    }
    out.push('}');
    out
}

fn write_polygon(out: &mut String, polygon: &Polygon<f64>) {
    use std::fmt::Write;
    out.push('[');
    for (r, ring) in std::iter::once(polygon.exterior()).chain(polygon.interiors()).enumerate() {
        out.push_str(if r > 0 { ",[" } else { "[" });
        for (i, c) in ring.0.iter().enumerate() {
            // Rounded already: the shortest form that reads back is at most 6 decimals.
            let _ = write!(out, "{}[{},{}]", if i > 0 { "," } else { "" }, c.x, c.y);
        }
        out.push(']');
    }
    out.push(']');
}

/// At most this many grids' outlines are written back by one statement.
const FILL_CHUNK: usize = 400;

/// The outlines of `version`'s grids whose code starts with `prefix`, by code, and how many
/// had no stored outline yet (imported before outlines were stored): those are computed
/// from their geometry and written back, so only the first read pays for them.
pub fn read(db: &impl Sql, version: i64, prefix: &str) -> Result<(Vec<Outline>, usize), StorageError> {
    let rows = db.execute(
        "SELECT code, name, kind, region_code, outline, CASE WHEN outline IS NULL THEN geometry END FROM grids \
         WHERE version = ? AND code >= ? AND code < ? ORDER BY code",
        &[version.into(), prefix.into(), format!("{prefix}\u{10FFFF}").into()],
    )?;
    // The rows' text is moved, not copied: the whole city's outlines are some 3 MB.
    let take = |v: &mut SqlValue| match std::mem::replace(v, SqlValue::Null) {
        SqlValue::Text(text) => text,
        _ => String::new(),
    };
    let mut missing = Vec::new();
    let outlines: Vec<Outline> = rows
        .rows
        .into_iter()
        .map(|mut r| {
            let geometry = match (&r[4], &r[5]) {
                (SqlValue::Text(_), _) => take(&mut r[4]),
                (_, SqlValue::Blob(b)) => {
                    let computed = Shape::decode(b).map(|s| outline_geojson(&s)).unwrap_or_default();
                    missing.push((r[0].as_str().unwrap_or_default().to_owned(), computed.clone()));
                    computed
                }
                _ => String::new(),
            };
            let [code, name, kind, region_code] = [0, 1, 2, 3].map(|i| take(&mut r[i]));
            Outline { code, name, kind, region_code, geometry }
        })
        .collect();
    for chunk in missing.chunks(FILL_CHUNK) {
        fill(db, version, chunk)?;
    }
    Ok((outlines, missing.len()))
}

/// Stores computed outlines, `(code, outline)`, of `version`'s grids in one statement.
fn fill(db: &impl Sql, version: i64, outlines: &[(String, String)]) -> Result<(), StorageError> {
    let cases = vec!["WHEN ? THEN ?"; outlines.len()].join(" ");
    let codes = vec!["?"; outlines.len()].join(", ");
    let mut values: Vec<SqlValue> = Vec::with_capacity(outlines.len() * 3 + 1);
    for (code, outline) in outlines {
        values.push(code.as_str().into());
        values.push(outline.as_str().into());
    }
    values.push(version.into());
    values.extend(outlines.iter().map(|(code, _)| SqlValue::from(code.as_str())));
    db.execute(
        &format!("UPDATE grids SET outline = CASE code {cases} END WHERE version = ? AND code IN ({codes})"),
        &values,
    )?;
    Ok(())
}

/// The outlines as a GeoJSON FeatureCollection, each feature's properties its code, name,
/// kind and community; `region` (the prefix asked for, or `None` for the whole registry)
/// and `grids_version` ride along as foreign members.
pub fn feature_collection(region: Option<&str>, grids_version: i64, outlines: &[Outline]) -> String {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let size: usize = outlines.iter().map(|o| o.geometry.len() + o.name.len() + 140).sum();
    let mut out = String::with_capacity(size + 128);
    out.push_str("{\"type\":\"FeatureCollection\",\"region\":");
    out.push_str(&region.map(quoted).unwrap_or_else(|| "null".into()));
    out.push_str(&format!(",\"grids_version\":{grids_version},\"features\":["));
    for (i, o) in outlines.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"type\":\"Feature\",\"geometry\":");
        out.push_str(if o.geometry.is_empty() { "null" } else { &o.geometry });
        out.push_str(",\"properties\":{\"code\":");
        out.push_str(&quoted(&o.code));
        out.push_str(",\"name\":");
        out.push_str(&quoted(&o.name));
        out.push_str(",\"kind\":");
        out.push_str(&quoted(&o.kind));
        out.push_str(",\"region_code\":");
        out.push_str(&quoted(&o.region_code));
        out.push_str("}}");
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests;
