//! Simplification keeps rings valid and within tolerance, positions are rounded, the
//! import stores outlines and a read fills in the ones it lacks, on either engine.

use std::io::Read;

use geo::{Closest, ClosestPoint, Coord, LineString, MultiPolygon, Point, Polygon, Validation};
use serde_json::Value;
use wangge_core::migrations::{Sql, SqlValue};
use wangge_core::native::TestDb;
use wangge_geo::Shape;

use super::*;
use crate::model::{Grid, GridKind};

fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    LineString(points.iter().map(|&(x, y)| Coord { x, y }).collect())
}

/// A square ring of side `s` whose edges wobble across by a third of the tolerance at 40
/// positions each.
fn wobbly_square(x0: f64, y0: f64, s: f64) -> LineString<f64> {
    let corners = [(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s), (x0, y0)];
    let mut points = Vec::new();
    for w in corners.windows(2) {
        let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
        let len = (dx * dx + dy * dy).sqrt();
        for i in 0..40 {
            let t = i as f64 / 40.0;
            let wobble = if i == 0 {
                0.0
            } else if i % 2 == 0 {
                TOLERANCE_DEG / 3.0
            } else {
                -TOLERANCE_DEG / 3.0
            };
            points.push((w[0].0 + t * dx - dy / len * wobble, w[0].1 + t * dy + dx / len * wobble));
        }
    }
    points.push((x0, y0));
    ring(&points)
}

/// A 0.01° square with a 0.002° hole, both wobbling.
fn wobbly_polygon() -> Polygon<f64> {
    Polygon::new(wobbly_square(120.8, 32.0, 0.01), vec![wobbly_square(120.803, 32.003, 0.002)])
}

/// How far `p` lies from the ring's edges, in degrees.
fn distance(p: Coord<f64>, ring: &LineString<f64>) -> f64 {
    match ring.closest_point(&Point(p)) {
        Closest::Intersection(_) => 0.0,
        Closest::SinglePoint(q) => ((q.x() - p.x).powi(2) + (q.y() - p.y).powi(2)).sqrt(),
        Closest::Indeterminate => f64::INFINITY,
    }
}

#[test]
fn simplification_drops_wobbles_keeps_rings_valid_and_stays_within_tolerance() {
    let original = wobbly_polygon();
    let simplified = simplify_polygon(&original);
    assert!(simplified.is_valid(), "{simplified:?}");
    assert!(simplified.exterior().0.len() < 10, "the wobbles go: {:?}", simplified.exterior());
    assert!(simplified.exterior().0.len() >= 4 && simplified.interiors()[0].0.len() >= 4);
    let rings = |p: &Polygon<f64>| std::iter::once(p.exterior().clone()).chain(p.interiors().to_vec()).collect();
    let (before, after): (Vec<LineString<f64>>, Vec<LineString<f64>>) = (rings(&original), rings(&simplified));
    for (b, a) in before.iter().zip(&after) {
        for c in &b.0 {
            // Within the tolerance, plus half a rounding step.
            assert!(distance(*c, a) <= TOLERANCE_DEG + 1e-6, "{c:?} is {} from the outline", distance(*c, a));
        }
    }
}

#[test]
fn a_ring_that_would_collapse_keeps_its_positions() {
    // A sliver: every position lies within the tolerance of the line between its ends, so
    // Douglas-Peucker alone would leave two or three positions.
    let sliver = ring(&[(120.8, 32.0), (120.801, 32.00001), (120.802, 32.0), (120.801, 31.99999), (120.8, 32.0)]);
    let simplified = simplify_polygon(&Polygon::new(sliver.clone(), vec![]));
    assert_eq!(simplified.exterior(), &sliver, "kept as it was");
    assert!(simplified.is_valid());
}

#[test]
fn positions_are_rounded_to_six_decimals_and_repeats_dropped() {
    let square = ring(&[
        (120.123456789, 32.0000004),
        (120.1334567, 32.0),
        (120.1334567, 32.01),
        (120.13345671, 32.01000001),
        (120.1234568, 32.01),
        (120.123456789, 32.0000004),
    ]);
    let shape = Shape { polygons: MultiPolygon(vec![Polygon::new(square, vec![])]) };
    let text = outline_geojson(&shape);
    assert_eq!(
        text,
        r#"{"type":"Polygon","coordinates":[[[120.123457,32],[120.133457,32],[120.133457,32.01],[120.123457,32.01],[120.123457,32]]]}"#
    );
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert!(Shape::from_geojson(&parsed).is_ok());
}

#[test]
fn several_polygons_make_a_multipolygon() {
    let a = Polygon::new(wobbly_square(120.8, 32.0, 0.001), vec![]);
    let b = Polygon::new(wobbly_square(120.81, 32.0, 0.001), vec![]);
    let text = outline_geojson(&Shape { polygons: MultiPolygon(vec![a, b]) });
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["type"], "MultiPolygon");
    assert_eq!(parsed["coordinates"].as_array().unwrap().len(), 2);
    assert!(Shape::from_geojson(&parsed).is_ok());
}

/// The demo city's grids (data/nantong/grids.geojson.gz).
fn demo_grids() -> Vec<Value> {
    let path = format!("{}/../../data/nantong/grids.geojson.gz", env!("CARGO_MANIFEST_DIR"));
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut body).unwrap();
    let mut all: Value = serde_json::from_slice(&body).unwrap();
    std::mem::take(all["features"].as_array_mut().unwrap())
}

#[test]
fn every_demo_grids_outline_is_a_valid_shape_no_larger_than_its_original() {
    let features = demo_grids();
    assert_eq!(features.len(), 9207);
    let (mut before, mut after) = (0usize, 0usize);
    for f in &features {
        let shape = Shape::from_geojson(&f["geometry"]).unwrap();
        let text = outline_geojson(&shape);
        let outline = Shape::from_geojson(&serde_json::from_str(&text).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e:?}", f["properties"]["code"]));
        let count = |s: &Shape| s.polygons.0.iter().map(|p| p.exterior().0.len()).sum::<usize>();
        assert!(count(&outline) <= count(&shape));
        before += count(&shape);
        after += count(&outline);
    }
    assert!(after <= before, "{after} positions of {before}");
}

fn grid(code: &str, name: &str) -> Grid {
    let square = ring(&[(120.8, 32.0), (120.801, 32.0), (120.801, 32.001), (120.8, 32.001), (120.8, 32.0)]);
    Grid {
        code: code.into(),
        name: name.into(),
        kind: GridKind::Comprehensive,
        dedicated_type: None,
        region_code: code[..12].into(),
        grid_head: None,
        members: vec![],
        shape: Shape { polygons: MultiPolygon(vec![Polygon::new(square, vec![])]) },
    }
}

#[test]
fn stored_outlines_are_read_by_prefix_and_missing_ones_filled_once() {
    let db = TestDb::migrated(&crate::SCHEMA);
    for (code, name) in [("320613001001001", "宁河\"1\""), ("320613001001002", "宁河2"), ("320612001001001", "通州1")]
    {
        crate::import::insert_grid(&db, 7, &grid(code, name)).unwrap();
    }
    let (outlines, filled) = read(&db, 7, "320613").unwrap();
    assert_eq!(filled, 0, "the import stored them");
    let codes: Vec<&str> = outlines.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(codes, ["320613001001001", "320613001001002"]);
    assert!(outlines[0].geometry.starts_with("{\"type\":\"Polygon\""));
    assert_eq!(read(&db, 7, "").unwrap().0.len(), 3, "an empty prefix is every grid");
    assert!(read(&db, 7, "320699").unwrap().0.is_empty());

    // Grids stored before outlines were: the first read computes and stores them.
    db.execute("UPDATE grids SET outline = NULL", &[]).unwrap();
    let (again, filled) = read(&db, 7, "").unwrap();
    assert_eq!(filled, 3);
    assert_eq!(again[1..], outlines[..], "by code, 320612 first");
    let stored = db.execute("SELECT count(*) FROM grids WHERE outline IS NOT NULL", &[]).unwrap();
    assert_eq!(stored.scalar().and_then(SqlValue::as_i64), Some(3));
    assert_eq!(read(&db, 7, "").unwrap().1, 0, "only once");
}

#[test]
fn the_feature_collection_is_geojson_with_the_grids_properties() {
    let outlines = vec![Outline {
        code: "320613001001001".into(),
        name: "宁河\"社区\"第1网格".into(),
        kind: "comprehensive".into(),
        region_code: "320613001001".into(),
        geometry: outline_geojson(&grid("320613001001001", "").shape),
    }];
    let body: Value = serde_json::from_str(&feature_collection(Some("320613"), 4, &outlines)).unwrap();
    assert_eq!(body["type"], "FeatureCollection");
    assert_eq!((body["region"].as_str(), body["grids_version"].as_i64()), (Some("320613"), Some(4)));
    let feature = &body["features"][0];
    assert_eq!(feature["type"], "Feature");
    assert_eq!(feature["geometry"]["type"], "Polygon");
    assert_eq!(
        feature["properties"],
        serde_json::json!({ "code": "320613001001001", "name": "宁河\"社区\"第1网格", "kind": "comprehensive",
            "region_code": "320613001001" })
    );
    let empty: Value = serde_json::from_str(&feature_collection(None, 4, &[])).unwrap();
    assert_eq!((empty["region"].clone(), empty["features"].clone()), (Value::Null, serde_json::json!([])));
}

#[test]
fn the_etag_names_the_region_version_and_hash() {
    let tag = GridsTag { version: 3, sha256: "0123456789abcdef0123".into() };
    assert_eq!(tag.etag("320613"), "\"outlines-320613-f1v3h0123456789abcdef\"");
    assert_eq!(tag.etag(""), "\"outlines-all-f1v3h0123456789abcdef\"");
    assert_ne!(tag.etag("320613"), GridsTag { version: 4, ..tag.clone() }.etag("320613"));
}
