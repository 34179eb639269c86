//! Reference data through case-routing — calendar, catalogue, departments.

use serde_json::json;
use wangge_e2e::*;

fn put(suite: &Suite, path: &str, content_type: &str, body: &[u8]) -> Reply {
    let auth = bearer(OPERATOR_KEY);
    request("PUT", &suite.url(path), &[("authorization", auth.as_str()), ("content-type", content_type)], Some(body))
}

fn read_json(suite: &Suite, path: &str) -> Reply {
    call("GET", &suite.url(path), OPERATOR_KEY, None)
}

#[test]
fn the_calendar_loads_per_year_and_answers_deadlines() {
    let suite = start_with(options("reference-calendar", &["case-routing", "notification", "grid-lookup"]));
    let body = std::fs::read(workspace_root().join("data/calendar-2026.json")).unwrap();
    let r = put(&suite, "/v1/calendar/2026", "application/json", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    // 元旦 3 + 春节 9 + 清明 3 + 劳动节 5 + 端午 3 + 中秋 3 + 国庆 7 = 33 days.
    assert_eq!(r.json()["holidays"], 33);
    assert_eq!(read_json(&suite, "/v1/calendar/2026").json()["extra_workdays"][5], "2026-10-10");
    assert_eq!(read_json(&suite, "/v1/calendar/2031").json()["code"], "not_found");

    let due = |start: &str, within: &str| {
        read_json(&suite, &format!("/v1/calendar/deadline?start={}&within={within}", start.replace('+', "%2B"))).json()
    };
    let friday = due("2026-11-27T16:00:00+08:00", "1wd");
    assert_eq!(friday["deadline"], "2026-11-30T17:30:00+08:00");
    assert_eq!(friday["calendar_fallback"], false);
    assert_eq!(due("2026-10-09T10:00:00+08:00", "1wd")["deadline"], "2026-10-10T17:30:00+08:00", "make-up Saturday");
    assert_eq!(due("2026-10-01T10:00:00+08:00", "4wh")["deadline"], "2026-10-08T14:00:00+08:00", "holiday start");
    let next_year = due("2026-12-30T10:00:00+08:00", "5wd");
    assert_eq!(
        (next_year["deadline"].as_str(), next_year["calendar_fallback"].as_bool()),
        (Some("2027-01-06T17:30:00+08:00"), Some(true))
    );

    for (query, parameter) in
        [("start=yesterday&within=1wd", "start"), ("start=2026-11-27T16:00:00Z&within=5days", "within")]
    {
        let r = read_json(&suite, &format!("/v1/calendar/deadline?{query}"));
        assert_eq!((r.status, r.json()["parameter"].as_str()), (400, Some(parameter)));
    }
    let mismatch = put(&suite, "/v1/calendar/2027", "application/json", &body);
    assert_eq!((mismatch.status, mismatch.json()["errors"][0]["code"].as_str()), (422, Some("year_mismatch")));
    let bad = put(
        &suite,
        "/v1/calendar/2026",
        "application/json",
        json!({"year": 2026, "work_hours": [["17:30", "08:30"]]}).to_string().as_bytes(),
    );
    assert_eq!(bad.json()["errors"][0]["pointer"], "/work_hours");
    assert_eq!(
        read_json(&suite, "/v1/calendar/2026").json()["holidays"].as_array().unwrap().len(),
        33,
        "the 33 above, unchanged"
    );
}

#[test]
fn the_catalogue_and_departments_load_and_read_back() {
    let suite = start("reference-catalogue");
    assert_eq!(read_json(&suite, "/v1/categories").json()["code"], "dataset_missing");
    let body = std::fs::read(workspace_root().join("data/categories.json")).unwrap();
    let first = put(&suite, "/v1/categories", "application/json", &body);
    // The demo catalogue's 42 matters: 9 + 6 + 7 + 8 + 2 + 4 + 3 in the seven assessed domains, 3 general.
    assert_eq!((first.status, first.json()["categories"].as_i64()), (201, Some(42)));
    let again = put(&suite, "/v1/categories", "application/json", &body);
    assert_eq!((again.status, again.json()["unchanged"].as_bool()), (200, Some(true)));
    assert_eq!(read_json(&suite, "/v1/categories/A01").json()["name"], "邻里纠纷");
    assert_eq!(read_json(&suite, "/v1/categories").json()["categories"].as_array().unwrap().len(), 42, "all 42");

    let mut broken: serde_json::Value = serde_json::from_slice(&body).unwrap();
    broken["categories"][0]["resolve_within"] = "soon".into();
    let r = put(&suite, "/v1/categories", "application/json", broken.to_string().as_bytes());
    assert_eq!((r.status, r.json()["errors"][0]["pointer"].as_str()), (422, Some("/categories/0/resolve_within")));

    let departments = put(&suite, "/v1/departments", "text/csv", &demo("departments.csv"));
    // 16 kinds in each of the 7 districts (112), and 6 kinds with a station in each of the 93 towns (558).
    assert_eq!((departments.status, departments.json()["departments"].as_i64()), (200, Some(670)));
    let water = read_json(&suite, "/v1/departments?region=320613&kind=water").json();
    assert_eq!(water["items"].as_array().unwrap().len(), 1, "崇川区's water bureau; water has no town stations");
    assert_eq!(water["items"][0]["level"], "district");
    let page = read_json(&suite, "/v1/departments?region=3206&limit=100").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 100, "a full page: limit=100 of the 670");
    assert!(page["next_cursor"].is_string());
    let wrong = put(&suite, "/v1/departments", "text/plain", b"x");
    assert_eq!(wrong.json()["code"], "unsupported_media_type");

    // Only a key for every region may change reference data.
    let key = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "x", "scopes": ["grids:admin"], "region_prefix": "320613"})),
    );
    let token = key.json()["token"].as_str().unwrap().to_owned();
    let denied = request(
        "PUT",
        &suite.url("/v1/departments"),
        &[("authorization", &bearer(&token)), ("content-type", "text/csv")],
        Some(b"dept_code,name,kind,region_code,level\n"),
    );
    assert_eq!((denied.status, denied.json()["code"].as_str()), (403, Some("region_forbidden")));
    assert_eq!(
        read_json(&suite, "/v1/departments?region=3206&limit=500").json()["items"].as_array().unwrap().len(),
        500,
        "unchanged"
    );
}
