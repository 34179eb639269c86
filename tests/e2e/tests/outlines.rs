//! `GET /v1/grids/outlines` on the demo city: the map's grid outlines (网格轮廓) for a
//! region, precomputed at import, with an ETag; region-bound keys stay in their region.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Value, json};
use wangge_e2e::*;

/// One suite on the demo city, shared by this file's read-only tests.
fn city() -> &'static Suite {
    static CITY: OnceLock<Suite> = OnceLock::new();
    CITY.get_or_init(|| start_city("outlines", &[]))
}

fn outlines(query: &str, key: &str, headers: &[(&str, &str)]) -> Reply {
    let auth = bearer(key);
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    request("GET", &city().url(&format!("/v1/grids/outlines{query}")), &all, None)
}

/// The demo file's grid codes whose community starts with `prefix`.
fn demo_codes(prefix: &str) -> Vec<String> {
    let all: Value = serde_json::from_slice(&demo("grids.geojson")).unwrap();
    let mut codes: Vec<String> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["region_code"].as_str().unwrap().starts_with(prefix))
        .map(|f| f["properties"]["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

fn codes(body: &Value) -> Vec<String> {
    body["features"].as_array().unwrap().iter().map(|f| f["properties"]["code"].as_str().unwrap().to_owned()).collect()
}

/// A key bound to 通州区 (320612) that may read grids.
fn tongzhou_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let made = call(
            "POST",
            &city().url("/v1/keys"),
            OPERATOR_KEY,
            Some(&json!({ "name": "通州区指挥中心", "scopes": ["grids:read"], "region_prefix": "320612" })),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        made.json()["token"].as_str().unwrap().to_owned()
    })
}

#[test]
fn the_whole_city_is_every_grid_by_code_small_and_fast() {
    let reply = outlines("?region=3206", OPERATOR_KEY, &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/geo+json"));
    assert_eq!(reply.header("cache-control"), Some("private, no-cache"));
    let body = reply.json();
    assert_eq!(body["type"], "FeatureCollection");
    assert_eq!(body["region"], "3206");
    let found = codes(&body);
    assert_eq!(found.len(), 9207, "6,940 comprehensive and 2,267 dedicated grids");
    assert_eq!(found, demo_codes(""), "every grid, sorted by code");
    let kinds: BTreeSet<&str> =
        body["features"].as_array().unwrap().iter().map(|f| f["properties"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["comprehensive", "dedicated"]));
    let first = &body["features"][0];
    assert_eq!(
        first["properties"],
        json!({ "code": "320612001001001", "name": first["properties"]["name"], "kind": "comprehensive",
            "region_code": "320612001001" })
    );
    assert!(first["properties"]["name"].as_str().is_some_and(|n| n.contains("网格")), "{first}");
    // Geometry is GeoJSON at 6 decimals at most.
    for feature in body["features"].as_array().unwrap().iter().step_by(97) {
        assert!(matches!(feature["geometry"]["type"].as_str(), Some("Polygon" | "MultiPolygon")), "{feature}");
        let text = feature["geometry"]["coordinates"].to_string();
        for number in text.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter(|n| n.contains('.')) {
            assert!(number.split('.').nth(1).unwrap().len() <= 6, "{number} in {text}");
        }
    }
    let ms = load::app_ms(reply.header("server-timing")).unwrap();
    let bytes = reply.body.len();
    println!(
        "whole city: {} features, {bytes} bytes, {ms:.1} ms in the component ({:?})",
        found.len(),
        reply.header("server-timing")
    );
    let warm: Vec<f64> = (0..3)
        .map(|_| load::app_ms(outlines("?region=3206", OPERATOR_KEY, &[]).header("server-timing")).unwrap())
        .collect();
    println!("whole city again: {warm:.1?} ms in the component");
    assert!(bytes < 5_000_000, "a few MB at most: {bytes} bytes");
    assert!(ms < 1_000.0, "stored outlines, not simplified per request: {ms} ms");
    // Unbound and without region: the whole registry, the same collection.
    let all = outlines("", OPERATOR_KEY, &[]).json();
    assert_eq!((all["region"].clone(), codes(&all).len()), (Value::Null, 9207));
}

#[test]
fn a_districts_or_towns_outlines_are_exactly_its_grids() {
    for region in ["320613", "320682", "320613001", "320613001001"] {
        let body = outlines(&format!("?region={region}"), OPERATOR_KEY, &[]).json();
        let found = codes(&body);
        assert!(!found.is_empty(), "{region}");
        assert_eq!(found, demo_codes(region), "{region}");
        assert!(
            body["features"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["properties"]["region_code"].as_str().unwrap().starts_with(region))
        );
    }
    // A full twelve-digit district code stands for its significant digits.
    let full = outlines("?region=320613000000", OPERATOR_KEY, &[]).json();
    assert_eq!((full["region"].as_str(), codes(&full)), (Some("320613"), demo_codes("320613")));
    // A prefix no grid lies under: an empty collection.
    let none = outlines("?region=320699", OPERATOR_KEY, &[]);
    assert_eq!(none.status, 200);
    assert_eq!(none.json()["features"], json!([]));
}

#[test]
fn the_etag_answers_304_until_the_grids_change() {
    let suite = start_city("outlines-etag", &[]);
    let auth = bearer(OPERATOR_KEY);
    let get = |headers: &[(&str, &str)]| {
        let mut all = vec![("authorization", auth.as_str())];
        all.extend_from_slice(headers);
        request("GET", &suite.url("/v1/grids/outlines?region=320613"), &all, None)
    };
    let first = get(&[]);
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "strong: {etag}");
    let again = get(&[("if-none-match", etag.as_str())]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.header("cache-control"), Some("private, no-cache"));
    assert_eq!(get(&[("if-none-match", "\"other\"")]).status, 200);
    let listed = format!("\"other\", {etag}");
    assert_eq!(get(&[("if-none-match", listed.as_str())]).status, 304);
    // As RFC 9110 has If-None-Match compare: a weak tag by its value, and `*` for any.
    let weak = format!("W/{etag}");
    assert_eq!(get(&[("if-none-match", weak.as_str())]).status, 304);
    assert_eq!(get(&[("if-none-match", "*")]).status, 304);
    // Another region, another tag.
    let city = request("GET", &suite.url("/v1/grids/outlines?region=3206"), &[("authorization", auth.as_str())], None);
    assert_ne!(city.header("etag"), Some(etag.as_str()));

    // Grids imported before outlines were stored: the first read fills them in, alike.
    suite.sql("grid_lookup", "UPDATE grids SET outline = NULL", &[]);
    let filled = get(&[]);
    assert_eq!((filled.status, filled.body.as_str()), (200, first.body.as_str()));
    let missing = suite.sql_i64("grid_lookup", "SELECT count(*) FROM grids WHERE outline IS NULL", &[]);
    assert_eq!(missing, 9207 - demo_codes("320613").len() as i64, "the district's outlines were stored");

    // The grids imported again (one grid renamed): a new tag, the old one answers 200.
    let mut grids: Value = serde_json::from_slice(&demo("grids.geojson")).unwrap();
    let renamed = grids["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["properties"]["code"] == "320613001001001")
        .unwrap();
    renamed["properties"]["name"] = json!("宁河社区第1网格（新）");
    let put = request(
        "PUT",
        &suite.url("/v1/grids"),
        &[("authorization", auth.as_str()), ("content-type", "application/geo+json")],
        Some(&serde_json::to_vec(&grids).unwrap()),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let changed = get(&[("if-none-match", etag.as_str())]);
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    let body = changed.json();
    let feature = body["features"].as_array().unwrap().iter().find(|f| f["properties"]["code"] == "320613001001001");
    assert_eq!(feature.unwrap()["properties"]["name"], "宁河社区第1网格（新）");
}

#[test]
fn a_region_bound_key_sees_its_region_only() {
    let key = tongzhou_key();
    let own = outlines("", key, &[]);
    assert_eq!(own.status, 200, "{}", own.body);
    let own = own.json();
    assert_eq!(own["region"], "320612", "without region: the key's own");
    assert_eq!(codes(&own), demo_codes("320612"));
    let town = outlines("?region=320612001", key, &[]).json();
    assert_eq!(codes(&town), demo_codes("320612001"));
    for outside in ["320613", "3206", "320600000000", "32"] {
        let refused = outlines(&format!("?region={outside}"), key, &[]);
        assert_eq!((refused.status, refused.json()["code"].as_str()), (403, Some("region_forbidden")), "{outside}");
    }
}

#[test]
fn a_bad_region_or_key_is_refused() {
    for bad in ["3", "32061300100100", "3206a", "", "%20320613", "-3206"] {
        let reply = outlines(&format!("?region={bad}"), OPERATOR_KEY, &[]);
        assert_eq!((reply.status, reply.json()["code"].as_str()), (400, Some("invalid_parameter")), "`{bad}`");
        assert_eq!(reply.json()["parameter"], "region");
    }
    let anonymous = request("GET", &city().url("/v1/grids/outlines?region=3206"), &[], None);
    assert_eq!(anonymous.status, 401);
}

#[test]
fn before_any_grids_are_imported_the_dataset_is_missing() {
    let suite = start("outlines-empty");
    let reply = call("GET", &suite.url("/v1/grids/outlines?region=3206"), OPERATOR_KEY, None);
    assert_eq!((reply.status, reply.json()["code"].as_str()), (409, Some("dataset_missing")), "{}", reply.body);
}
