//! A region-bound key sees its region and nothing else: every GET route of the
//! OpenAPI document, walked with a key bound to 通州区 (320612) over a city with cases,
//! notifications and scores in all seven districts. No region or grid code outside
//! the key's prefix may appear in any answer, whether body, CSV or header, except a
//! code the request itself named (an error may echo what was asked).
//!
//! A GET route added to the OpenAPI document later is walked too, so a route that
//! forgets to narrow fails here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use wangge_e2e::*;

/// The key's district: 通州区.
const OWN: &str = "320612";

/// One address per district (the first the dictionary lists): its text, point and grid.
fn an_address_per_district() -> BTreeMap<String, (String, f64, f64, String)> {
    let csv = String::from_utf8(demo("addresses.csv")).unwrap();
    let mut chosen = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let grid = f[3].to_owned();
        chosen
            .entry(grid[..6].to_owned())
            .or_insert_with(|| (f[0].to_owned(), f[1].parse().unwrap(), f[2].parse().unwrap(), grid));
    }
    chosen
}

/// Digit runs that look like a region code (6, 9 or 12 digits) or a grid code (15), in
/// Nantong (3206…), standing alone: UUIDs are removed first, and a run glued to a letter
/// or `_` (a hash, an identifier) or after a `.` (a coordinate's fraction) is no code.
fn codes_in(text: &str) -> BTreeSet<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut plain: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if i + 36 <= chars.len() && wangge_core::ids::is_uuid(&chars[i..i + 36].iter().collect::<String>()) {
            plain.push('U');
            i += 36;
        } else {
            plain.push(chars[i]);
            i += 1;
        }
    }
    let glued = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < plain.len() {
        if !plain[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < plain.len() && plain[i].is_ascii_digit() {
            i += 1;
        }
        let before = start.checked_sub(1).and_then(|b| plain.get(b));
        let run: String = plain[start..i].iter().collect();
        if !glued(before)
            && before != Some(&'.')
            && !glued(plain.get(i))
            && matches!(run.len(), 6 | 9 | 12 | 15)
            && run.starts_with("3206")
        {
            out.insert(run);
        }
    }
    out
}

/// A code the key may see: under its prefix, or an ancestor of it (the city, the
/// province), which every answer may name as a parent.
fn visible(code: &str) -> bool {
    code.starts_with(OWN) || OWN.starts_with(code.trim_end_matches('0'))
}

#[test]
fn the_code_scan_finds_codes_and_skips_ids_hashes_and_coordinates() {
    let text = r#"{"grid":"320613001001001","id":"01932061-3000-7abc-8def-320613001001","lat":32.320613,
        "sha":"3206130010010013206130010010013206130010010010000000000000000000","dept":"320614000000-police",
        "x":"a320615000000","csv":"320616001000,12"}"#;
    let found: Vec<String> = codes_in(text).into_iter().collect();
    assert_eq!(found, ["320613001001001", "320614000000", "320616001000"]);
    assert!(visible("320612001001") && visible("320600000000") && !visible("320613000000"));
}

struct City {
    /// Per district: a case id, its event id, its Open311 request id and a staff id.
    cases: BTreeMap<String, String>,
    events: BTreeMap<String, String>,
    staff: BTreeMap<String, String>,
    addresses: BTreeMap<String, (String, f64, f64, String)>,
}

/// Seven districts, each with a resident's event (a case, a notice), a grid-staff event
/// and an Open311 request; notices dispatched (dead letters, no channel is set); the
/// month assessed.
fn seed(suite: &Suite) -> City {
    let addresses = an_address_per_district();
    // 南通: 崇川 320613, 通州 320612, 海门 320614, 如东 320623, 启东 320681, 如皋 320682, 海安 320685.
    assert_eq!(addresses.len(), 7, "one address in each of the seven districts");
    let mut city = City { cases: BTreeMap::new(), events: BTreeMap::new(), staff: BTreeMap::new(), addresses };
    for (district, (_, lng, lat, grid)) in &city.addresses {
        let located =
            call("GET", &suite.url(&format!("/v1/grids/locate?lng={lng}&lat={lat}&crs=wgs84")), OPERATOR_KEY, None);
        assert_eq!(located.status, 200, "{}", located.body);
        let located = located.json();
        assert_eq!(located["responsible"]["code"].as_str(), Some(grid.as_str()));
        let worker = located["staff"].as_array().unwrap().iter().find_map(|s| s["staff_id"].as_str()).unwrap();
        city.staff.insert(district.clone(), worker.to_owned());
        let location = json!({ "lng": lng, "lat": lat, "crs": "wgs84" });
        let resident = call(
            "POST",
            &suite.url("/v1/events"),
            OPERATOR_KEY,
            Some(&json!({ "source": "resident", "reporter": { "phone": "13800000001", "wechat_openid": "o-walk" },
                "category": "B05", "description": "垃圾", "location": location, "external_id": format!("walk-{district}") })),
        );
        assert_eq!(resident.status, 201, "{}", resident.body);
        let now = wangge_core::time::render(chrono::Utc::now() - chrono::Duration::minutes(5));
        let staff = call(
            "POST",
            &suite.url("/v1/events"),
            OPERATOR_KEY,
            Some(&json!({ "source": "grid_staff", "reporter": { "staff_id": worker }, "category": "C07",
                "description": "小广告", "location": location, "discovered_at": now })),
        );
        assert_eq!(staff.status, 201, "{}", staff.body);
        let resident = resident.json();
        city.cases.insert(district.clone(), resident["case_id"].as_str().unwrap().to_owned());
        city.events.insert(district.clone(), resident["event_id"].as_str().unwrap().to_owned());
        // Escalated to a department, so that departments' KPIs name every district.
        let case = resident["case_id"].as_str().unwrap();
        let accepted = call(
            "POST",
            &suite.url(&format!("/v1/cases/{case}/actions")),
            OPERATOR_KEY,
            Some(&json!({ "action": "accept", "actor": { "kind": "centre", "id": "3206" } })),
        );
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        let whistle = call(
            "POST",
            &suite.url(&format!("/v1/cases/{case}/actions")),
            OPERATOR_KEY,
            Some(&json!({ "action": "escalate", "actor": { "kind": "centre", "id": "3206" },
                "target": { "kind": "department", "code": format!("{district}000000-urban_management") } })),
        );
        assert_eq!(whistle.status, 200, "{}", whistle.body);
    }
    let dispatched = call("POST", &suite.url("/v1/notifications/dispatch"), OPERATOR_KEY, None);
    assert_eq!(dispatched.status, 200, "{}", dispatched.body);
    let month = chrono::Utc::now().with_timezone(&wangge_core::time::shanghai()).format("%Y-%m").to_string();
    let run = call("POST", &suite.url(&format!("/v1/assessments/{month}/run")), OPERATOR_KEY, None);
    assert_eq!(run.status, 200, "{}", run.body);
    city
}

/// The values to try for a parameter of `path`: what the key owns, what another
/// district owns, and (for query parameters) nothing.
fn values(path: &str, name: &str, city: &City, month: &str) -> Vec<String> {
    let own_foreign = |m: &BTreeMap<String, String>| vec![m[OWN].clone(), m["320613"].clone(), m["320682"].clone()];
    let grids =
        || vec![city.addresses[OWN].3.clone(), city.addresses["320613"].3.clone(), city.addresses["320682"].3.clone()];
    let regions = || {
        let own = &city.addresses[OWN].3;
        let other = &city.addresses["320613"].3;
        vec![
            format!("{OWN}000000"),
            own[..9].to_owned(),
            own[..12].to_owned(),
            "320613000000".to_owned(),
            other[..12].to_owned(),
            "320600000000".to_owned(),
        ]
    };
    match name {
        "period" => vec![month.to_owned(), month[..4].to_owned()],
        "id" if path.starts_with("/v1/events") => own_foreign(&city.events),
        "id" if path.starts_with("/v1/staff") => own_foreign(&city.staff),
        "id" => own_foreign(&city.cases),
        "service_request_id" => own_foreign(&city.cases),
        "case_id" => own_foreign(&city.cases),
        "assignee" => own_foreign(&city.staff),
        "code" if path.contains("/grids/") => grids(),
        "code" if path.contains("/regions/") => regions(),
        "code" => vec!["B05".to_owned()],
        "grid" => grids(),
        "region" | "prefix" | "parent" => {
            let mut v = regions();
            v.extend(["3206".to_owned(), OWN.to_owned(), "320613".to_owned()]);
            v
        }
        "level" => ["grid", "dedicated", "community", "town", "district", "city"].map(String::from).to_vec(),
        "q" => {
            vec![city.addresses[OWN].0.clone(), city.addresses["320613"].0.clone(), city.addresses["320682"].0.clone()]
        }
        "lng" | "lat" => vec![],
        "name" => vec!["event.create".to_owned()],
        "year" => vec!["2026".to_owned()],
        "limit" => vec!["1000".to_owned()],
        _ => vec![],
    }
}

#[test]
fn a_key_bound_to_one_district_sees_no_code_outside_it_on_any_get_route() {
    let suite = start_city("region-walk", &[]);
    let city = seed(&suite);
    let month = chrono::Utc::now().with_timezone(&wangge_core::time::shanghai()).format("%Y-%m").to_string();
    // Every scope an integrator key may hold (keys:admin is the operator's alone).
    let scopes = [
        "events:write",
        "events:read",
        "cases:read",
        "cases:act",
        "grids:read",
        "grids:admin",
        "assessments:read",
        "assessments:run",
        "notifications:read",
        "notifications:admin",
        "scheduler",
    ];
    let made = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "通州区指挥中心", "scopes": scopes, "region_prefix": OWN })),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.json()["token"].as_str().unwrap().to_owned();

    let openapi: Value = get(&suite.url("/v1/openapi.json")).json();
    let mut walked = 0;
    let mut leaks = Vec::new();
    let mut routes = 0;
    for (path, item) in openapi["paths"].as_object().unwrap() {
        let Some(get_op) = item.get("get") else { continue };
        routes += 1;
        let params: Vec<(String, bool)> = get_op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap().to_owned(), p["in"] == "path"))
            .collect();
        // Path parameters: every combination of their values (at most two of them).
        let mut paths = vec![path.clone()];
        for (name, _) in params.iter().filter(|(_, in_path)| *in_path) {
            let vals = values(path, name, &city, &month);
            assert!(!vals.is_empty(), "no value for the path parameter {name} of {path}");
            paths = paths.iter().flat_map(|p| vals.iter().map(move |v| p.replace(&format!("{{{name}}}"), v))).collect();
        }
        for concrete in &paths {
            // Query parameters: none, then each alone with each of its values.
            let mut queries = vec![String::new()];
            for (name, _) in params.iter().filter(|(_, in_path)| !*in_path) {
                for v in values(path, name, &city, &month) {
                    queries.push(format!("?{name}={}", percent_encode(&v)));
                }
            }
            if path == "/v1/grids/locate" {
                for (_, lng, lat, _) in city.addresses.values() {
                    queries.push(format!("?lng={lng}&lat={lat}&crs=wgs84"));
                }
            }
            if path == "/v1/assessments/{period}/rankings" {
                for level in ["grid", "community", "town", "district"] {
                    queries.push(format!("?level={level}&parent=320613001000"));
                    queries.push(format!("?level={level}&parent=320600000000"));
                }
            }
            for query in queries {
                let url = format!("{concrete}{query}");
                let reply = call("GET", &suite.url(&url), &key, None);
                walked += 1;
                assert!(reply.status < 500, "GET {url}: {} {}", reply.status, reply.body);
                let mut text = reply.body.clone();
                for (name, value) in &reply.headers {
                    text.push_str(&format!("\n{name}: {value}"));
                }
                // What the request named, and the significant digits of it, may come back.
                let asked = codes_in(&url);
                let foreign: Vec<String> = codes_in(&text)
                    .into_iter()
                    .filter(|c| !visible(c) && !asked.iter().any(|a| a.starts_with(c.as_str())))
                    .collect();
                if !foreign.is_empty() {
                    leaks.push(format!("GET {url} ({}): {}", reply.status, foreign.join(", ")));
                }
            }
        }
    }
    // The OpenAPI document's GET routes (45 today): a walk over fewer would mean the
    // document lost some.
    assert!(routes >= 40, "only {routes} GET routes in the OpenAPI document");
    eprintln!("walked {walked} requests over {routes} GET routes");
    assert!(leaks.is_empty(), "{} answers name codes outside {OWN}:\n{}", leaks.len(), leaks.join("\n"));
}
