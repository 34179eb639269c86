//! The registry through the running suite: imports, reads, locate, addresses.

use std::sync::OnceLock;

use serde_json::{Value, json};
use wangge_e2e::*;

/// One suite with the demo city, shared by the read-only tests of this file.
fn city() -> &'static Suite {
    static CITY: OnceLock<Suite> = OnceLock::new();
    CITY.get_or_init(|| {
        let suite = start("registry-city");
        suite.load_demo();
        suite
    })
}

fn get_json(path: &str) -> Reply {
    call("GET", &city().url(path), OPERATOR_KEY, None)
}

fn grid_feature(code: &str) -> Value {
    let all: Value = serde_json::from_slice(&demo("grids.geojson")).unwrap();
    all["features"].as_array().unwrap().iter().find(|f| f["properties"]["code"] == code).unwrap().clone()
}

#[test]
fn imports_report_versions_progress_and_timing_and_repeat_as_no_ops() {
    let suite = start("registry-import");
    let auth = bearer(OPERATOR_KEY);
    let put = |path: &str, file: &str, content_type: &str| {
        request(
            "PUT",
            &suite.url(path),
            &[("authorization", auth.as_str()), ("content-type", content_type)],
            Some(&demo(file)),
        )
    };
    let early = put("/v1/grids", "grids.geojson", "application/geo+json");
    assert_eq!((early.status, early.json()["code"].as_str()), (409, Some("dataset_missing")), "regions first");
    assert_eq!(early.json()["dataset"], "regions");
    assert_eq!(put("/v1/regions", "regions.csv", "text/csv").status, 201);
    let grids = put("/v1/grids", "grids.geojson", "application/geo+json");
    assert_eq!(grids.status, 201, "{}", grids.body);
    let report = grids.json();
    // Nantong's 6,940 comprehensive + 2,267 dedicated grids = 9,207, as the first version.
    assert_eq!(
        (report["rows"].as_i64(), report["version"].as_i64(), report["unchanged"].as_bool()),
        (Some(9207), Some(1), Some(false))
    );
    assert!(report["total_ms"].as_f64().unwrap() < 10_000.0, "Nantong imports in under 10 s: {}", report["total_ms"]);
    assert_eq!(report["stages"].as_array().unwrap().len(), 3, "parse, validate, write");
    let again = put("/v1/grids", "grids.geojson", "application/geo+json");
    assert_eq!((again.status, again.json()["unchanged"].as_bool()), (200, Some(true)));
    let wrong_type = put("/v1/grids", "grids.geojson", "text/csv");
    assert_eq!(wrong_type.json()["code"], "unsupported_media_type");
    let not_geojson = request(
        "PUT",
        &suite.url("/v1/grids"),
        &[("authorization", auth.as_str()), ("content-type", "application/json")],
        Some(b"[1,2]"),
    );
    assert_eq!((not_geojson.status, not_geojson.json()["code"].as_str()), (400, Some("malformed_dataset")));

    // A defective file: validation lists each problem with its pointer and changes nothing.
    let mut bad: Value = serde_json::from_slice(&demo("grids.geojson")).unwrap();
    bad["features"][5]["properties"]["kind"] = "special".into();
    bad["features"][6]["geometry"]["coordinates"][0][1] = json!([200.0, 32.0]);
    let reply = request(
        "PUT",
        &suite.url("/v1/grids"),
        &[("authorization", auth.as_str()), ("content-type", "application/geo+json")],
        Some(&serde_json::to_vec(&bad).unwrap()),
    );
    assert_eq!(reply.status, 422);
    let errors = reply.json()["errors"].clone();
    assert_eq!(errors[0]["pointer"], "/features/5/properties/kind");
    assert_eq!(errors[0]["code"], "unknown_kind");
    assert_eq!(reply.json()["total_errors"], 2, "the two features broken above, 5 and 6");
    let versions = call("GET", &suite.url("/v1/grids?limit=1"), OPERATOR_KEY, None).json();
    assert_eq!(versions["grids_version"], 1, "the failed import changed nothing");

    // Integrators without grids:admin, or bound to a region, cannot import.
    let key = call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&json!({"name": "r", "scopes": ["grids:read"]})))
        .json();
    let token = key["token"].as_str().unwrap();
    let denied = call("PUT", &suite.url("/v1/regions"), token, Some(&json!([])));
    assert_eq!(denied.json()["code"], "scope_missing");
}

#[test]
fn locate_answers_grids_chain_and_staff_with_masked_phones() {
    let feature = grid_feature("320613001001001");
    let shape = wangge_geo::Shape::from_geojson(&feature["geometry"]).unwrap();
    use geo::InteriorPoint;
    let p = shape.polygons.interior_point().unwrap();
    let reply = get_json(&format!("/v1/grids/locate?lng={}&lat={}", p.x(), p.y()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["comprehensive"]["code"], "320613001001001");
    assert_eq!(body["responsible"]["code"], "320613001001001");
    assert_eq!(body["chain"]["community"]["code"], "320613001001");
    assert_eq!(body["chain"]["town"]["code"], "320613001000");
    assert_eq!(body["chain"]["district"]["name"], "崇川区");
    assert_eq!(body["chain"]["city"]["name"], "南通市");
    let staff = body["staff"].as_array().unwrap();
    assert!(staff.iter().any(|s| s["role"] == "grid_worker"));
    assert!(staff.iter().any(|s| s["role"] == "grid_head"), "the community's grid head is on duty too");
    assert!(staff.iter().all(|s| s["phone"].as_str().unwrap().contains("****")), "phones masked");
    assert!(!reply.body.contains("wechat_openid") && !reply.body.contains("13800000002"));
    assert!(reply.header("server-timing").unwrap().starts_with("app;dur="));

    // The same point in GCJ-02 and BD-09 lands in the same grid.
    for crs in [wangge_geo::Crs::Gcj02, wangge_geo::Crs::Bd09] {
        let (x, y) = crs.from_wgs84(p.x(), p.y());
        let r = get_json(&format!("/v1/grids/locate?lng={x}&lat={y}&crs={}", crs.as_str())).json();
        assert_eq!(r["comprehensive"]["code"], "320613001001001", "{crs:?}");
        let back = &r["point"]["wgs84"];
        let d =
            wangge_geo::crs::distance_m((p.x(), p.y()), (back["lng"].as_f64().unwrap(), back["lat"].as_f64().unwrap()));
        assert!(d < 0.1, "{crs:?} round trip {d} m");
    }
}

#[test]
fn a_dedicated_grid_answers_for_its_points() {
    let feature = grid_feature("320612001002501");
    let shape = wangge_geo::Shape::from_geojson(&feature["geometry"]).unwrap();
    use geo::InteriorPoint;
    let p = shape.polygons.interior_point().unwrap();
    let body = get_json(&format!("/v1/grids/locate?lng={}&lat={}", p.x(), p.y())).json();
    assert_eq!(body["responsible"]["code"], "320612001002501");
    assert_eq!(body["responsible"]["kind"], "dedicated");
    assert!(body["dedicated"].as_array().unwrap().iter().any(|d| d["code"] == "320612001002501"));
    assert!(body["comprehensive"]["code"].as_str().unwrap().starts_with("32061200100"));
    assert!(body["staff"].as_array().unwrap().iter().any(|s| s["role"] == "informant"));
}

#[test]
fn outside_coverage_is_a_404_naming_the_nearest_grid_within_500_m() {
    let far = get_json("/v1/grids/locate?lng=122.9&lat=32.0");
    assert_eq!((far.status, far.json()["code"].as_str()), (404, Some("outside_coverage")));
    assert_eq!(far.json()["nearest"], Value::Null);
    // Just outside a grid on the city's edge: find the westernmost vertex of the city, step 100 m west.
    let all: Value = serde_json::from_slice(&demo("grids.geojson")).unwrap();
    let mut west = (f64::MAX, 0.0, String::new());
    for f in all["features"].as_array().unwrap() {
        if f["properties"]["kind"] != "comprehensive" || f["geometry"]["type"] != "Polygon" {
            continue;
        }
        for c in f["geometry"]["coordinates"][0].as_array().unwrap() {
            let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            if x < west.0 {
                west = (x, y, f["properties"]["code"].as_str().unwrap().to_owned());
            }
        }
    }
    let near = get_json(&format!("/v1/grids/locate?lng={}&lat={}", west.0 - 0.001, west.1));
    assert_eq!(near.json()["code"], "outside_coverage");
    let nearest = &near.json()["nearest"];
    assert!(nearest["distance_m"].as_f64().unwrap() < 500.0, "{nearest}");
}

#[test]
fn locate_parameters_are_checked() {
    for (query, parameter) in [
        ("lng=200&lat=32", "lng"),
        ("lat=32", "lng"),
        ("lng=120.8&lat=x", "lat"),
        ("lng=120.8&lat=32&crs=utm", "crs"),
        ("lng=120.8&lat=32&accuracy=-1", "accuracy"),
    ] {
        let r = get_json(&format!("/v1/grids/locate?{query}"));
        assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("invalid_parameter")), "{query}");
        assert_eq!(r.json()["parameter"], parameter, "{query}");
    }
}

#[test]
fn grids_and_regions_read_with_chains_children_and_pages() {
    let grid = get_json("/v1/grids/320613001001001").json();
    assert_eq!(grid["grid"]["kind"], "comprehensive");
    assert_eq!(grid["geometry"]["type"], "Polygon");
    let chain: Vec<&str> = grid["regions"].as_array().unwrap().iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert_eq!(chain, ["community", "town", "district", "city"]);
    assert!(grid["staff"].as_array().unwrap().iter().all(|s| s["phone"].as_str().unwrap().contains("****")));
    assert_eq!(get_json("/v1/grids/320613001001999").json()["code"], "not_found");

    let region = get_json("/v1/regions/320613000000?limit=5").json();
    assert_eq!(region["region"]["name"], "崇川区");
    assert_eq!(region["chain"][0]["level"], "city");
    assert_eq!(region["children"].as_array().unwrap().len(), 5, "a page of limit=5 of its towns");
    assert!(region["next_cursor"].is_string());

    // Every grid of a town, page by page, in code order, exactly once.
    let mut codes = Vec::new();
    let mut url = "/v1/grids?region=320613001&limit=7".to_owned();
    loop {
        let page = get_json(&url).json();
        codes.extend(page["items"].as_array().unwrap().iter().map(|g| g["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/grids?region=320613001&limit=7&cursor={c}"),
            None => break,
        }
    }
    let all: Value = serde_json::from_slice(&demo("grids.geojson")).unwrap();
    let mut expected: Vec<String> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["code"].as_str().filter(|c| c.starts_with("320613001")).map(str::to_owned))
        .collect();
    expected.sort();
    assert_eq!(codes, expected);
    let dedicated = get_json("/v1/grids?region=3206&kind=dedicated&limit=3").json();
    assert!(dedicated["items"].as_array().unwrap().iter().all(|g| g["kind"] == "dedicated"));
    assert_eq!(get_json("/v1/grids?kind=other").json()["code"], "invalid_parameter");
}

#[test]
fn a_region_bound_key_sees_only_its_region() {
    let suite = city();
    let key = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "崇川", "scopes": ["grids:read"], "region_prefix": "320613"})),
    )
    .json();
    let token = key["token"].as_str().unwrap();
    assert_eq!(call("GET", &suite.url("/v1/grids/320613001001001"), token, None).status, 200);
    let other = call("GET", &suite.url("/v1/grids/320612001002501"), token, None);
    assert_eq!((other.status, other.json()["code"].as_str()), (403, Some("region_forbidden")));
    let listing = call("GET", &suite.url("/v1/grids?limit=500"), token, None).json();
    assert!(listing["items"].as_array().unwrap().iter().all(|g| g["code"].as_str().unwrap().starts_with("320613")));
    assert_eq!(call("GET", &suite.url("/v1/grids?region=320612"), token, None).json()["code"], "region_forbidden");
}

#[test]
fn addresses_resolve_with_match_kind_and_confidence() {
    let r = |q: &str| get_json(&format!("/v1/addresses/resolve?q={}", pct(q)));
    let exact = r("江苏省南通市崇川区新江街道建设街24号").json();
    assert_eq!(exact["resolution"]["match"], "exact");
    assert_eq!(exact["resolution"]["matched"]["grid_code"], "320613001001001");
    let normalized = r("南通 崇川区新江街道建设街２４号楼附近").json();
    assert_eq!(normalized["resolution"]["match"], "normalized");
    assert_eq!(normalized["resolution"]["confidence"], 0.95);
    let fuzzy = r("崇川区新江街到建设街24号").json();
    assert_eq!(fuzzy["resolution"]["match"], "fuzzy");
    let none = r("火星基地一号");
    assert_eq!((none.status, none.json()["code"].as_str()), (404, Some("address_unresolved")));
    assert_eq!(get_json("/v1/addresses/resolve?q=").json()["code"], "invalid_parameter");
}

#[test]
fn staff_are_read_with_masked_phones() {
    let s = get_json("/v1/staff/S000002").json();
    assert_eq!(s["staff"]["phone"], "138****0002");
    assert_eq!(get_json("/v1/staff/S999999").json()["code"], "not_found");
}

fn pct(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[test]
fn a_district_audits_clean_against_its_outline_with_progress() {
    let reply = get_json("/v1/grids/audit?region=320613000000");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let audit = &reply.json()["audit"];
    assert_eq!(audit["region"], "320613");
    assert_eq!(audit["outline"], true);
    assert_eq!(audit["clean"], true, "{}", audit["findings"]);
    let stages: Vec<&str> =
        audit["progress"].as_array().unwrap().iter().map(|p| p["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["load", "union", "blind_spots", "outline", "overlaps", "dedicated_overlaps"]);
    assert_eq!(get_json("/v1/grids/audit?region=32").json()["code"], "invalid_parameter");
}

#[test]
fn the_audit_over_http_reports_a_planted_overlap() {
    let suite = start("registry-audit");
    let regions = "code,name,level,parent\n320600000000,南通市,city,\n320613000000,崇川区,district,320600000000\n320613001000,街道,town,320613000000\n320613001001,社区,community,320613001000\n";
    let auth = bearer(OPERATOR_KEY);
    let put = |path: &str, content_type: &str, body: &[u8]| {
        request(
            "PUT",
            &suite.url(path),
            &[("authorization", auth.as_str()), ("content-type", content_type)],
            Some(body),
        )
    };
    assert_eq!(put("/v1/regions", "text/csv", regions.as_bytes()).status, 201);
    let rect = |x0: f64, x1: f64| json!({"type": "Polygon", "coordinates": [[[x0, 32.0], [x1, 32.0], [x1, 32.001], [x0, 32.001], [x0, 32.0]]]});
    let grids = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "320613001001001", "name": "甲", "kind": "comprehensive", "region_code": "320613001001"}, "geometry": rect(120.800, 120.802)},
        {"type": "Feature", "properties": {"code": "320613001001002", "name": "乙", "kind": "comprehensive", "region_code": "320613001001"}, "geometry": rect(120.801, 120.803)},
    ]});
    assert_eq!(put("/v1/grids", "application/geo+json", grids.to_string().as_bytes()).status, 201);
    let outline =
        put("/v1/regions/320613000000/outline", "application/geo+json", rect(120.800, 120.803).to_string().as_bytes());
    assert_eq!(outline.status, 200, "{}", outline.body);
    let bad_outline =
        put("/v1/regions/320699000000/outline", "application/json", rect(120.8, 120.9).to_string().as_bytes());
    assert_eq!(bad_outline.json()["errors"][0]["code"], "unknown_region");
    let audit = call("GET", &suite.url("/v1/grids/audit?region=320613"), OPERATOR_KEY, None).json();
    let findings = audit["audit"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "the two grids' overlap, 120.801 to 120.802: {findings:?}");
    assert_eq!(findings[0]["kind"], "overlap");
    assert_eq!(findings[0]["grids"], json!(["320613001001001", "320613001001002"]));
    let area = findings[0]["area_m2"].as_f64().unwrap();
    assert!((10_000.0..11_000.0).contains(&area), "about 94 m × 111 m: {area}");
}

#[test]
fn a_read_on_a_brand_new_database_migrates_it_first() {
    // Reads skip the schema check until a statement fails; the first read of a fresh
    // database must still find the schema (and an empty registry), not a storage error.
    let suite = start("registry-fresh");
    let r = call("GET", &suite.url("/v1/grids/locate?lng=120.86&lat=32.01"), OPERATOR_KEY, None);
    assert_eq!((r.status, r.json()["code"].as_str()), (409, Some("dataset_missing")), "{}", r.body);
    let version = get(&suite.url("/v1/system/grid-lookup/version")).json();
    let migrations = match profile() {
        Profile::Embedded => wangge_registry::SCHEMA.sqlite,
        Profile::Cluster => wangge_registry::SCHEMA.postgres,
    };
    assert_eq!(version["schema_version"], migrations.len());
}

/// The row of grid-lookup's `imports` table, if an import holds the slot: its dataset.
fn import_slot(suite: &Suite) -> Option<String> {
    let rows = suite.sql("grid_lookup", "SELECT dataset FROM imports WHERE slot = 1", &[]);
    rows.scalar().and_then(wangge_core::SqlValue::as_str).map(str::to_owned)
}

#[test]
fn a_second_import_while_one_runs_is_refused_at_once_and_the_first_completes() {
    use std::time::{Duration, Instant};
    let suite = start("registry-concurrent-imports");
    let auth = bearer(OPERATOR_KEY);
    let put = |path: &str, content_type: &str, body: &[u8]| {
        request(
            "PUT",
            &suite.url(path),
            &[("authorization", auth.as_str()), ("content-type", content_type)],
            Some(body),
        )
    };
    let regions = demo("regions.csv");
    assert_eq!(put("/v1/regions", "text/csv", &regions).status, 201);
    let grids = demo("grids.geojson");
    std::thread::scope(|s| {
        let first = s.spawn(|| put("/v1/grids", "application/geo+json", &grids));
        // The grids import holds the slot once its body has arrived; it then takes about a
        // second to parse, validate and write Nantong's 9,207 grids.
        let deadline = Instant::now() + Duration::from_secs(30);
        while import_slot(&suite).is_none() && !first.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = Instant::now();
        let second = put("/v1/regions", "text/csv", &regions);
        let took = started.elapsed();
        let still_running = !first.is_finished();
        let first = first.join().unwrap();
        assert_eq!(first.status, 201, "the first import completes: {}", first.body);
        assert_eq!(first.json()["rows"], 9207, "all of Nantong's grids, 6,940 + 2,267");
        assert!(still_running, "the second import was sent while the first ran");
        assert_eq!(
            (second.status, second.json()["code"].as_str()),
            (409, Some("import_in_progress")),
            "{}",
            second.body
        );
        assert_eq!(second.json()["dataset"], "grids", "names what is running");
        assert!(second.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok_and(|n| n >= 1)));
        assert!(took < Duration::from_secs(1), "refused at once, not after waiting for the lock: {took:?}");
    });
    assert_eq!(import_slot(&suite), None, "the first import gave the slot up");
    let versions = call("GET", &suite.url("/v1/regions?limit=1"), OPERATOR_KEY, None).json();
    assert_eq!(versions["regions_version"], 1, "the refused import wrote nothing");
    let again = put("/v1/regions", "text/csv", &regions);
    assert_eq!((again.status, again.json()["unchanged"].as_bool()), (200, Some(true)), "the slot is free again");
}

#[test]
fn a_claim_left_by_an_import_that_died_lapses_and_a_live_one_refuses_every_import_route() {
    let suite = start("registry-stale-import");
    let auth = bearer(OPERATOR_KEY);
    let put = |path: &str, content_type: &str, body: &[u8]| {
        request(
            "PUT",
            &suite.url(path),
            &[("authorization", auth.as_str()), ("content-type", content_type)],
            Some(body),
        )
    };
    // Migrate the fresh database (any read does), then plant claims as an import would leave them.
    call("GET", &suite.url("/v1/regions"), OPERATOR_KEY, None);
    let plant = |age_ms: i64| {
        let now_ms = chrono::Utc::now().timestamp_millis();
        suite.sql(
            "grid_lookup",
            "INSERT INTO imports (slot, token, dataset, claimed_at, heartbeat_ms) VALUES (1, 'planted', 'grids', '', ?) \
             ON CONFLICT (slot) DO UPDATE SET token = excluded.token, dataset = excluded.dataset, \
             claimed_at = excluded.claimed_at, heartbeat_ms = excluded.heartbeat_ms",
            &[(now_ms - age_ms).into()],
        );
    };
    // A live claim (heartbeat a second ago) refuses the dataset and outline routes alike.
    plant(1_000);
    let regions = "code,name,level,parent\n320600000000,南通市,city,\n320613000000,崇川区,district,320600000000\n";
    for (path, content_type, body) in [
        ("/v1/regions", "text/csv", regions.to_owned()),
        (
            "/v1/regions/outlines",
            "application/geo+json",
            json!({"type": "FeatureCollection", "features": []}).to_string(),
        ),
        ("/v1/regions/320613000000/outline", "application/geo+json", "{}".to_owned()),
    ] {
        let reply = put(path, content_type, body.as_bytes());
        assert_eq!((reply.status, reply.json()["code"].as_str()), (409, Some("import_in_progress")), "{path}");
        assert!(reply.header("retry-after").is_some(), "{path}");
    }
    // A claim whose heartbeat is older than the stale timeout belongs to an import that died.
    plant(wangge_registry::import::claim::STALE_AFTER_MS + 1_000);
    let reply = put("/v1/regions", "text/csv", regions.as_bytes());
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(import_slot(&suite), None);
}
