//! The registry on the demo city (data/nantong): imports, point location against an
//! independent point-in-polygon, edges, versions and addresses.

use std::io::Read;
use std::sync::OnceLock;
use std::time::Instant;

use geo::InteriorPoint;
use serde_json::Value;
use wangge_core::migrations::Sql;
use wangge_core::native::TestDb;
use wangge_registry::address::{MatchKind, resolve};
use wangge_registry::import::{Dataset, Format, ImportError, current_version, import, readable_version};
use wangge_registry::locate::locate;
use wangge_registry::{SCHEMA, read};

fn demo(file: &str) -> Vec<u8> {
    let path = format!("{}/../../data/nantong/{file}.gz", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_end(&mut out).unwrap();
    out
}

fn grids_json() -> &'static Value {
    static GRIDS: OnceLock<Value> = OnceLock::new();
    GRIDS.get_or_init(|| serde_json::from_slice(&demo("grids.geojson")).unwrap())
}

/// A fresh database of the engine the run asks for (`WANGGE_TEST_ENGINE`): SQLite in
/// memory, or a new PostgreSQL database. No test here needs a file.
fn fresh() -> TestDb {
    TestDb::migrated(&SCHEMA)
}

/// A database with the whole demo city imported.
fn city() -> TestDb {
    let db = fresh();
    import(&db, Dataset::Regions, Format::Csv, &demo("regions.csv")).unwrap();
    import(&db, Dataset::Grids, Format::Json, &demo("grids.geojson")).unwrap();
    import(&db, Dataset::Staff, Format::Csv, &demo("staff.csv")).unwrap();
    import(&db, Dataset::Addresses, Format::Csv, &demo("addresses.csv")).unwrap();
    db
}

/// The demo city, imported once for the tests that only read it (and the audit's outlines).
fn shared_city() -> &'static std::sync::Mutex<TestDb> {
    static CITY: OnceLock<std::sync::Mutex<TestDb>> = OnceLock::new();
    CITY.get_or_init(|| std::sync::Mutex::new(city()))
}

/// Ray casting on the raw GeoJSON, independent of the geo crate: even-odd over all rings.
fn contains_raw(geometry: &Value, lng: f64, lat: f64) -> bool {
    let polygons: Vec<&Value> = match geometry["type"].as_str() {
        Some("Polygon") => vec![&geometry["coordinates"]],
        _ => geometry["coordinates"].as_array().unwrap().iter().collect(),
    };
    polygons.iter().any(|polygon| {
        let mut inside = false;
        for ring in polygon.as_array().unwrap() {
            let pts: Vec<(f64, f64)> =
                ring.as_array().unwrap().iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
            for w in pts.windows(2) {
                let ((x1, y1), (x2, y2)) = (w[0], w[1]);
                if (y1 > lat) != (y2 > lat) && lng < (x2 - x1) * (lat - y1) / (y2 - y1) + x1 {
                    inside = !inside;
                }
            }
        }
        inside
    })
}

#[test]
fn imports_the_demo_city_quickly_and_idempotently() {
    let db = fresh();
    let (files, whole) = (["regions.csv", "grids.geojson", "staff.csv", "addresses.csv"].map(demo), Instant::now());
    let regions = import(&db, Dataset::Regions, Format::Csv, &files[0]).unwrap();
    assert_eq!((regions.rows, regions.version, regions.unchanged), (1677, 1, false));
    let t = Instant::now();
    let grids = import(&db, Dataset::Grids, Format::Json, &files[1]).unwrap();
    assert_eq!(grids.rows, 9207);
    eprintln!("{:?}: Nantong's grids imported in {:.2} s", db.dialect(), t.elapsed().as_secs_f64());
    let stages: Vec<&str> = grids.stages.iter().map(|s| s.stage).collect();
    assert_eq!(stages, ["parse", "validate", "write"]);
    let staff = import(&db, Dataset::Staff, Format::Csv, &files[2]).unwrap();
    assert_eq!(staff.rows, 15283);
    let addresses = import(&db, Dataset::Addresses, Format::Csv, &files[3]).unwrap();
    assert_eq!(addresses.rows, 40336);
    let whole = whole.elapsed().as_secs_f64();
    let took = [&regions, &grids, &staff, &addresses].map(|r| format!("{} {:.0} ms", r.dataset, r.total_ms));
    // Reported, not checked: speed is measured by scripts/bench.sh and the timings example.
    eprintln!("{:?}: the demo city imported in {whole:.2} s ({})", db.dialect(), took.join(", "));

    let again = import(&db, Dataset::Grids, Format::Json, &demo("grids.geojson")).unwrap();
    assert!(again.unchanged, "re-importing the same file is a no-op");
    assert_eq!(again.version, 1);
    let count = db.execute("SELECT count(*) FROM grids", &[]).unwrap();
    assert_eq!(count.scalar().and_then(|v| v.as_i64()), Some(9207));
}

#[test]
fn every_grids_interior_point_locates_to_that_grid() {
    let db = shared_city().lock().unwrap_or_else(|e| e.into_inner());
    let v = current_version(&*db, Dataset::Grids).unwrap().unwrap();
    let mut checked = 0;
    for feature in grids_json()["features"].as_array().unwrap() {
        let code = feature["properties"]["code"].as_str().unwrap();
        let shape = wangge_geo::Shape::from_geojson(&feature["geometry"]).unwrap();
        let p = shape.polygons.interior_point().unwrap();
        let found = locate(&*db, Some(v), p.x(), p.y(), 0.0).unwrap();
        if feature["properties"]["kind"] == "comprehensive" {
            assert_eq!(found.comprehensive.as_ref().map(|h| h.code.as_str()), Some(code), "interior point of {code}");
        } else {
            assert!(found.dedicated.iter().any(|h| h.code == code), "interior point of dedicated {code}");
        }
        checked += 1;
    }
    assert_eq!(checked, 9207);
}

#[test]
fn random_points_agree_with_an_independent_point_in_polygon() {
    let db = shared_city().lock().unwrap_or_else(|e| e.into_inner());
    let v = current_version(&*db, Dataset::Grids).unwrap().unwrap();
    let features = grids_json()["features"].as_array().unwrap();
    // Boxes from the raw coordinates, to keep the brute force affordable.
    let boxes: Vec<[f64; 4]> = features
        .iter()
        .map(|f| {
            let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            let mut visit = |p: &Value| {
                let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            };
            match f["geometry"]["type"].as_str() {
                Some("Polygon") => f["geometry"]["coordinates"][0].as_array().unwrap().iter().for_each(&mut visit),
                _ => f["geometry"]["coordinates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .for_each(|poly| poly[0].as_array().unwrap().iter().for_each(&mut visit)),
            }
            b
        })
        .collect();
    let holding = |kind: &str, lng: f64, lat: f64| -> Vec<&str> {
        features
            .iter()
            .zip(&boxes)
            .filter(|(f, b)| {
                f["properties"]["kind"] == kind && b[0] <= lng && lng <= b[2] && b[1] <= lat && lat <= b[3]
            })
            .filter(|(f, _)| contains_raw(&f["geometry"], lng, lat))
            .map(|(f, _)| f["properties"]["code"].as_str().unwrap())
            .collect()
    };
    // A deterministic generator over Nantong's box, including points outside the city.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut inside, mut outside) = (0, 0);
    for _ in 0..2000 {
        let lng = 120.2 + next() * 1.8;
        let lat = 31.6 + next() * 1.1;
        let expected = holding("comprehensive", lng, lat);
        let found = locate(&*db, Some(v), lng, lat, 0.0).unwrap();
        assert!(expected.len() <= 1, "comprehensive grids overlap at ({lng}, {lat}): {expected:?}");
        assert_eq!(found.comprehensive.as_ref().map(|h| h.code.as_str()), expected.first().copied(), "({lng}, {lat})");
        let expected_dedicated = holding("dedicated", lng, lat);
        let mut found_dedicated: Vec<&str> = found.dedicated.iter().map(|h| h.code.as_str()).collect();
        found_dedicated.sort();
        assert_eq!(found_dedicated, expected_dedicated, "dedicated at ({lng}, {lat})");
        if expected.is_empty() { outside += 1 } else { inside += 1 }
    }
    assert!(inside > 500 && outside > 100, "the sample covers both: {inside} in, {outside} out");
}

#[test]
fn points_on_shared_edges_and_vertices_go_to_the_smallest_code() {
    let db = shared_city().lock().unwrap_or_else(|e| e.into_inner());
    let v = current_version(&*db, Dataset::Grids).unwrap().unwrap();
    let features = grids_json()["features"].as_array().unwrap();
    let comprehensive: Vec<&Value> = features.iter().filter(|f| f["properties"]["kind"] == "comprehensive").collect();
    // Two neighbours: the first grid's edge that also appears, reversed, in another grid.
    let ring = |f: &Value| -> Vec<(i64, i64)> {
        let coords = match f["geometry"]["type"].as_str() {
            Some("Polygon") => &f["geometry"]["coordinates"][0],
            _ => &f["geometry"]["coordinates"][0][0],
        };
        coords
            .as_array()
            .unwrap()
            .iter()
            .map(|p| ((p[0].as_f64().unwrap() * 1e6).round() as i64, (p[1].as_f64().unwrap() * 1e6).round() as i64))
            .collect()
    };
    let mut tested = 0;
    'outer: for a in comprehensive.iter().take(40) {
        let ra = ring(a);
        for b in &comprehensive {
            if a["properties"]["code"] == b["properties"]["code"] {
                continue;
            }
            let rb = ring(b);
            for w in ra.windows(2) {
                if rb.windows(2).any(|x| x[0] == w[1] && x[1] == w[0]) {
                    let codes = [a["properties"]["code"].as_str().unwrap(), b["properties"]["code"].as_str().unwrap()];
                    let smallest = *codes.iter().min().unwrap();
                    // The shared vertex: every grid touching it is a candidate; the smallest code wins.
                    let (vx, vy) = (w[0].0 as f64 / 1e6, w[0].1 as f64 / 1e6);
                    let at_vertex = locate(&*db, Some(v), vx, vy, 0.0).unwrap();
                    let vertex_code = at_vertex.comprehensive.as_ref().unwrap().code.clone();
                    assert!(vertex_code.as_str() <= smallest, "vertex ({vx}, {vy}) → {vertex_code}");
                    // The midpoint of the shared edge: exactly on it, for this edge's own grids.
                    let (mx, my) = ((w[0].0 + w[1].0) as f64 / 2e6, (w[0].1 + w[1].1) as f64 / 2e6);
                    let at_edge = locate(&*db, Some(v), mx, my, 0.0).unwrap();
                    let hit = at_edge.comprehensive.unwrap();
                    if hit.position == wangge_geo::Position::OnBoundary {
                        assert_eq!(hit.code, smallest, "edge midpoint ({mx}, {my})");
                        tested += 1;
                    }
                    if tested >= 10 {
                        break 'outer;
                    }
                    continue 'outer;
                }
            }
        }
    }
    assert!(tested >= 5, "found {tested} shared edges to test");
}

#[test]
fn accuracy_lists_neighbours_and_outside_points_find_the_nearest() {
    let db = shared_city().lock().unwrap_or_else(|e| e.into_inner());
    let v = current_version(&*db, Dataset::Grids).unwrap().unwrap();
    let feature = &grids_json()["features"][0];
    let shape = wangge_geo::Shape::from_geojson(&feature["geometry"]).unwrap();
    let c = shape.polygons.0[0].exterior().0[0];
    // On a vertex: with 50 m accuracy, the neighbours around it are alternatives.
    let found = locate(&*db, Some(v), c.x, c.y, 50.0).unwrap();
    assert!(!found.alternatives.is_empty());
    assert!(found.alternatives.iter().all(|h| h.distance_m <= 50.0));
    // Deep inside, with no accuracy given: no alternatives.
    let p = shape.polygons.interior_point().unwrap();
    let none = locate(&*db, Some(v), p.x(), p.y(), 0.0).unwrap();
    assert!(none.alternatives.iter().all(|h| h.distance_m == 0.0), "only grids touching the point itself");
    // Far out at sea: nothing, and nothing within 500 m.
    let sea = locate(&*db, Some(v), 122.5, 32.0, 0.0).unwrap();
    assert!(sea.comprehensive.is_none() && sea.nearest.is_none());
}

#[test]
fn a_failed_import_changes_nothing_and_the_previous_version_stays_readable() {
    let db = city();
    let mut grids: Value = grids_json().clone();
    // A bad file: one grid loses a vertex, another gets a duplicate code.
    grids["features"][3]["geometry"]["coordinates"][0].as_array_mut().unwrap().truncate(2);
    let dup = grids["features"][0]["properties"]["code"].clone();
    grids["features"][1]["properties"]["code"] = dup;
    match import(&db, Dataset::Grids, Format::Json, &serde_json::to_vec(&grids).unwrap()) {
        Err(ImportError::Invalid { errors, total }) => {
            assert_eq!(total, 2, "{errors:?}");
            assert_eq!(errors[0].code, "duplicate_code");
            assert_eq!(errors[0].pointer, "/features/1/properties/code");
            assert_eq!(errors[1].code, "ring_too_short");
            assert_eq!(errors[1].pointer, "/features/3/geometry/coordinates/0");
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    assert_eq!(current_version(&db, Dataset::Grids).unwrap(), Some(1));

    // A good new version: one grid renamed.
    let mut renamed = grids_json().clone();
    renamed["features"][0]["properties"]["name"] = "改名网格".into();
    let report = import(&db, Dataset::Grids, Format::Json, &serde_json::to_vec(&renamed).unwrap()).unwrap();
    assert_eq!((report.version, report.previous_version), (2, Some(1)));
    let code = renamed["features"][0]["properties"]["code"].as_str().unwrap();
    assert_eq!(read::grid(&db, 2, code).unwrap().unwrap().name, "改名网格");
    assert_ne!(read::grid(&db, 1, code).unwrap().unwrap().name, "改名网格", "the previous version stays readable");
    assert_eq!(readable_version(&db, Dataset::Grids, Some(1)).unwrap(), Some(1));
    // The next import drops version 1.
    import(&db, Dataset::Grids, Format::Json, &demo("grids.geojson")).unwrap();
    assert_eq!(readable_version(&db, Dataset::Grids, Some(1)).unwrap(), None);
    let left = db.execute("SELECT count(DISTINCT version) FROM grids", &[]).unwrap();
    assert_eq!(left.scalar().and_then(|v| v.as_i64()), Some(2));
    let rtree = db.execute("SELECT count(*) FROM grids_rtree", &[]).unwrap();
    assert_eq!(rtree.scalar().and_then(|v| v.as_i64()), Some(2 * 9207));
}

fn expect_invalid(db: &TestDb, dataset: Dataset, format: Format, body: &[u8]) -> Vec<(String, String)> {
    match import(db, dataset, format, body) {
        Err(ImportError::Invalid { errors, .. }) => errors.into_iter().map(|e| (e.pointer, e.code)).collect(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn every_validation_error_is_reported_with_its_pointer() {
    let db = fresh();
    assert!(matches!(import(&db, Dataset::Grids, Format::Json, b"{}"), Err(ImportError::MissingDependency("regions"))));
    let regions = "code,name,level,parent\n320600000000,南通市,city,\n320613000000,崇川区,district,320600000000\n320613001000,新城桥街道,town,320613000000\n320613001001,宁河社区,community,320613001000\n\
                   32061300100X,坏,community,320613001000\n320613001001,重复,community,320613001000\n320613001002,无级,village,320613001000\n320613001003,孤儿,community,320613009000\n320613001004,错级,community,320613000000\n";
    let errors = expect_invalid(&db, Dataset::Regions, Format::Csv, regions.as_bytes());
    let codes: Vec<&str> = errors.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(codes, ["code_format", "duplicate_code", "unknown_level", "unknown_parent", "parent_level"]);
    assert_eq!(errors[0].0, "/4/code");

    let good_regions = regions.lines().take(5).collect::<Vec<_>>().join("\n");
    import(&db, Dataset::Regions, Format::Csv, good_regions.as_bytes()).unwrap();
    let square = |x: f64| serde_json::json!({"type": "Polygon", "coordinates": [[[x, 32.0], [x + 0.01, 32.0], [x + 0.01, 32.01], [x, 32.01], [x, 32.0]]]});
    let feature = |code: &str, kind: &str, geometry: Value| serde_json::json!({"type": "Feature", "properties": {"code": code, "name": "网格", "kind": kind, "region_code": &code[..12.min(code.len())], "dedicated_type": "market"}, "geometry": geometry});
    let bow_tie = serde_json::json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]});
    let collection = serde_json::json!({"type": "FeatureCollection", "features": [
        feature("320613001001001", "comprehensive", square(120.0)),
        feature("320613001001001", "comprehensive", square(120.1)),
        feature("32061300100100", "comprehensive", square(120.2)),
        feature("320613001001600", "comprehensive", square(120.3)),
        feature("320613001001002", "dedicated", square(120.4)),
        feature("320613001009001", "comprehensive", square(120.5)),
        feature("320613001001003", "special", square(120.6)),
        feature("320613001001004", "comprehensive", bow_tie),
        feature("320613001001005", "comprehensive", serde_json::json!({"type": "Polygon", "coordinates": [[[120.0, 32.0], [190.0, 32.0], [120.0, 33.0], [120.0, 32.0]]]})),
        feature("320613001001006", "comprehensive", serde_json::json!({"type": "Polygon", "coordinates": [[[120.0, 32.0], [120.1, 32.0], [120.0, 33.0], [120.1, 33.0]]]})),
    ]});
    let errors = expect_invalid(&db, Dataset::Grids, Format::Json, &serde_json::to_vec(&collection).unwrap());
    let got: Vec<(&str, &str)> = errors.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    assert_eq!(
        got,
        [
            ("/features/1/properties/code", "duplicate_code"),
            ("/features/2/properties/code", "code_format"),
            ("/features/3/properties/code", "code_sequence"),
            ("/features/4/properties/code", "code_sequence"),
            ("/features/5/properties/code", "unknown_community"),
            ("/features/6/properties/kind", "unknown_kind"),
            ("/features/7/geometry/coordinates", "geometry_invalid"),
            ("/features/8/geometry/coordinates/0/1", "coordinate_out_of_range"),
            ("/features/9/geometry/coordinates/0", "ring_not_closed"),
        ]
    );
    assert_eq!(current_version(&db, Dataset::Grids).unwrap(), None, "nothing written");

    let ok = serde_json::json!({"type": "FeatureCollection", "features": [feature("320613001001001", "comprehensive", square(120.0))]});
    import(&db, Dataset::Grids, Format::Json, &serde_json::to_vec(&ok).unwrap()).unwrap();
    let staff = "staff_id,name,role,grid_code,region_code,phone,wechat_openid,former_roles\nS1,甲,grid_worker,320613001001001,320613001001,13800000001,o1,\nS1,乙,grid_worker,320613001001001,320613001001,13800000002,o2,\nS3,丙,grid_worker,320613001001999,320613001001,13800000003,o3,\nS4,丁,janitor,320613001001001,320613001001,13800000004,o4,\n";
    let errors = expect_invalid(&db, Dataset::Staff, Format::Csv, staff.as_bytes());
    assert_eq!(
        errors,
        [
            ("/1/staff_id".to_owned(), "duplicate_code".to_owned()),
            ("/2/grid_code".into(), "unknown_grid".into()),
            ("/3/role".into(), "unknown_role".into())
        ]
    );
    assert!(matches!(import(&db, Dataset::Grids, Format::Csv, b"a,b\n"), Err(ImportError::Malformed(_))));
    assert!(matches!(import(&db, Dataset::Regions, Format::Json, b"[{]"), Err(ImportError::Malformed(_))));
}

#[test]
fn addresses_resolve_exactly_normalised_fuzzily_or_not_at_all() {
    let db = shared_city().lock().unwrap_or_else(|e| e.into_inner());
    let v = current_version(&*db, Dataset::Addresses).unwrap().unwrap();
    let cities = vec!["南通市".to_owned()];
    let r = |q: &str| resolve(&*db, v, q, &cities).unwrap();
    let exact = r("江苏省南通市崇川区新江街道建设街24号");
    assert_eq!((exact.kind, exact.confidence), (MatchKind::Exact, 1.0));
    assert_eq!(exact.matched.unwrap().grid_code, "320613001001001");
    for variant in
        ["南通市崇川区新江街道建设街24号", "崇川区新江街道建设街２４号楼", "江苏省 南通市 崇川区新江街道建设街24号附近"]
    {
        let n = r(variant);
        assert_eq!(n.kind, MatchKind::Normalized, "{variant}");
        assert_eq!(n.matched.unwrap().grid_code, "320613001001001", "{variant}");
    }
    let suffix = r("新江街道建设街24号");
    assert_eq!(suffix.kind, MatchKind::Normalized, "district left out");
    let typo = r("南通市崇川区新江街到建设街24号");
    assert_eq!(typo.kind, MatchKind::Fuzzy, "{typo:?}");
    assert_eq!(typo.matched.as_ref().unwrap().grid_code, "320613001001001");
    assert!(typo.confidence < 0.95 && typo.confidence >= 0.54);
    for nonsense in ["火星基地一号", "北京市朝阳区建国门外大街1号", "建设街"] {
        let n = r(nonsense);
        assert!(matches!(n.kind, MatchKind::None | MatchKind::Ambiguous), "{nonsense}: {n:?}");
        assert!(n.matched.is_none(), "never guesses silently: {nonsense}");
    }
}

#[test]
fn the_demo_city_audits_clean_district_by_district() {
    use wangge_registry::audit::{DEFAULT_TOLERANCE_M2, audit, outline_for, put_outline, significant_prefix};
    let db = shared_city().lock().unwrap_or_else(|e| e.into_inner());
    let v = current_version(&*db, Dataset::Grids).unwrap().unwrap();
    let districts: Value = serde_json::from_slice(&demo("districts.geojson")).unwrap();
    for f in districts["features"].as_array().unwrap() {
        let code = f["properties"]["code"].as_str().unwrap();
        put_outline(&*db, code, &wangge_geo::Shape::from_geojson(&f["geometry"]).unwrap()).unwrap();
    }
    for f in districts["features"].as_array().unwrap() {
        let prefix = significant_prefix(f["properties"]["code"].as_str().unwrap());
        let outline = outline_for(&*db, prefix).unwrap();
        assert!(outline.is_some(), "{prefix}");
        let report = audit(&*db, v, prefix, outline.as_ref(), DEFAULT_TOLERANCE_M2).unwrap();
        assert!(report.comprehensive_grids > 100);
        assert!(report.clean, "{prefix}: {:?}", &report.findings[..report.findings.len().min(5)]);
    }
}

#[test]
fn the_audit_reports_each_planted_defect() {
    use wangge_registry::audit::{audit, put_outline};
    let db = fresh();
    let regions = "code,name,level,parent\n320600000000,南通市,city,\n320613000000,崇川区,district,320600000000\n320613001000,街道,town,320613000000\n320613001001,社区,community,320613001000\n";
    import(&db, Dataset::Regions, Format::Csv, regions.as_bytes()).unwrap();
    // Cells of 0.001° (about 100 m) near (120.8, 32.0).
    let rect = |x0: f64, y0: f64, x1: f64, y1: f64| {
        let (x0, y0, x1, y1) = (120.8 + x0 * 0.001, 32.0 + y0 * 0.001, 120.8 + x1 * 0.001, 32.0 + y1 * 0.001);
        serde_json::json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
    };
    let feature = |seq: &str, kind: &str, geometry: Value| serde_json::json!({"type": "Feature", "properties": {"code": format!("320613001001{seq}"), "name": "格", "kind": kind, "region_code": "320613001001", "dedicated_type": "market"}, "geometry": geometry});
    let collection = serde_json::json!({"type": "FeatureCollection", "features": [
        // A frame of four grids around a hole at (1..2, 1..2): a blind spot.
        feature("001", "comprehensive", rect(0.0, 0.0, 1.0, 3.0)),
        feature("002", "comprehensive", rect(2.0, 0.0, 3.0, 3.0)),
        feature("003", "comprehensive", rect(1.0, 0.0, 2.0, 1.0)),
        feature("004", "comprehensive", rect(1.0, 2.0, 2.0, 3.0)),
        // Overlaps 002 by half a cell, and reaches past the outline's east edge.
        feature("005", "comprehensive", rect(2.5, 0.0, 3.5, 1.0)),
        // A sliver under 1 m²: 0.1 m by 1 m over 003's edge. Ignored.
        feature("006", "comprehensive", rect(1.0, -0.000001, 1.01, 0.0000001)),
        // Two dedicated grids over each other.
        feature("501", "dedicated", rect(0.0, 0.0, 1.0, 1.0)),
        feature("502", "dedicated", rect(0.5, 0.5, 1.5, 1.5)),
    ]});
    import(&db, Dataset::Grids, Format::Json, &serde_json::to_vec(&collection).unwrap()).unwrap();
    // The outline runs one cell further north than the grids: an uncovered strip.
    let outline = wangge_geo::Shape::from_geojson(&rect(0.0, 0.0, 3.0, 4.0)).unwrap();
    put_outline(&db, "320613000000", &outline).unwrap();

    let report = audit(&db, 1, "320613", Some(&outline), 1.0).unwrap();
    let kinds: Vec<(&str, Vec<&str>)> =
        report.findings.iter().map(|f| (f.kind, f.grids.iter().map(|g| &g[12..]).collect())).collect();
    assert!(!report.clean);
    let find =
        |kind: &str| report.findings.iter().find(|f| f.kind == kind).unwrap_or_else(|| panic!("no {kind}: {kinds:?}"));
    let cell = 1e-6 * 111_000.0 * 94_400.0; // one 0.001° cell in m², roughly
    let hole = find("blind_spot");
    assert!((hole.area_m2 / cell - 1.0).abs() < 0.05, "{hole:?}");
    assert!(hole.grids.len() >= 4);
    assert!(hole.location[0] > 120.801 && hole.location[0] < 120.802);
    let strip = find("uncovered");
    assert!((strip.area_m2 / (3.0 * cell) - 1.0).abs() < 0.05, "{strip:?}");
    let overlap = find("overlap");
    assert_eq!(overlap.grids.iter().map(|g| &g[12..]).collect::<Vec<_>>(), ["002", "005"]);
    assert!((overlap.area_m2 / (0.5 * cell) - 1.0).abs() < 0.05);
    let outside = find("outside_outline");
    assert!(outside.grids.iter().any(|g| g.ends_with("005")));
    assert!((outside.area_m2 / (0.5 * cell) - 1.0).abs() < 0.05);
    let dedicated = find("dedicated_overlap");
    assert_eq!(dedicated.grids.iter().map(|g| &g[12..]).collect::<Vec<_>>(), ["501", "502"]);
    assert!((dedicated.area_m2 / (0.25 * cell) - 1.0).abs() < 0.05);
    assert_eq!(
        report.findings.iter().filter(|f| f.kind == "overlap").count(),
        1,
        "the sliver is under tolerance: {kinds:?}"
    );
    // With a larger tolerance even the real overlap is a sliver.
    let lenient = audit(&db, 1, "320613", None, 1e9).unwrap();
    assert!(lenient.clean);
}
