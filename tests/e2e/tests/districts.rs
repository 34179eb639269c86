//! Service chaining across apps, as on SpinKube: a district's app (intake and grid-lookup)
//! and the city's app (case-routing and notification) run as two host processes, wired by
//! URLs in the chained-target variables (`case_routing_url`, `notification_url`,
//! `grid_lookup_url`) and trusting each other through the shared `internal_key`. The
//! default (one app, `*.spin.internal`) is what every other test file runs.
//!
//! Runs on both profiles: each app has its own databases (SQLite files in its own
//! directory, or PostgreSQL databases of its own) and its own key-value store.

use serde_json::{Value, json};
use wangge_e2e::replica::Replica;
use wangge_e2e::*;
use wangge_host::{AppOptions, RunningApp};

/// The key both apps share: a district's calls to the city carry it, the city's
/// internal routes require it over the network (and the district's, for the city's
/// notification reaching grid-lookup).
const INTERNAL_KEY: &str = "district-city-internal-key-0123456789";
/// A point in grid 320613001001001 (崇川区新江街道).
const CHONGCHUAN: (f64, f64) = (120.802356, 32.138927);
/// A point in grid 320623005216003 (如东县): another district's.
const RUDONG: (f64, f64) = (120.748971, 32.377629);

/// The two apps: the city's (`-c case-routing -c notification`, its own process) and
/// 崇川区's (`-c intake -c grid-lookup`, in this process), each on a copy of the demo
/// city, each knowing the other only by URL.
struct Districts {
    city: Replica,
    city_options: AppOptions,
    district: RunningApp,
    district_options: AppOptions,
}

fn start_districts(test: &str, city_variables: &[(&str, &str)]) -> Districts {
    start_districts_with(test, city_variables, &[])
}

/// [`start_districts`], with variables of the district's app set too.
fn start_districts_with(test: &str, city_variables: &[(&str, &str)], district_variables: &[(&str, &str)]) -> Districts {
    // The district's address is decided first: the city's notification reaches its
    // grid-lookup by URL, and the district reaches the city's case-routing by URL.
    let district_listen = format!("127.0.0.1:{}", free_port());
    let district_url = format!("http://{district_listen}");
    let mut variables = vec![("grid_lookup_url", district_url.as_str()), ("internal_key", INTERNAL_KEY)];
    variables.extend_from_slice(city_variables);
    let mut city_options = city_options(&format!("{test}-city"), &variables);
    city_options.components = vec!["case-routing".into(), "notification".into()];
    let city = Replica::spawn(&city_options, "city");
    let mut district_options = city_options_for_district(test, &city.base);
    for (name, value) in district_variables {
        district_options.variables.insert((*name).to_owned(), (*value).to_owned());
    }
    district_options.components = vec!["intake".into(), "grid-lookup".into()];
    let district = RunningApp::start(&district_options, &district_listen).expect("start the district's app");
    Districts { city, city_options, district, district_options }
}

fn city_options_for_district(test: &str, city_url: &str) -> AppOptions {
    city_options(
        &format!("{test}-district"),
        &[
            ("case_routing_url", city_url),
            ("notification_url", city_url),
            ("internal_key", INTERNAL_KEY),
            ("jurisdiction", "320613"),
        ],
    )
}

fn post_event(url: &str, body: &Value) -> Reply {
    call("POST", url, OPERATOR_KEY, Some(body))
}

#[test]
fn an_event_posted_to_a_district_becomes_a_case_in_the_city() {
    let apps = start_districts("districts-event", &[]);
    let made = post_event(&apps.district.url("/v1/events"), &resident_report(CHONGCHUAN, "B05", "oWX-district-1"));
    assert_eq!(made.status, 201, "{}", made.body);
    let answer = made.json();
    let id = answer["event_id"].as_str().unwrap().to_owned();
    assert_eq!(answer["case_id"], id.as_str(), "the city's case-routing made the case");
    // Located by the district's own grid-lookup, by service chaining inside its app.
    assert_eq!(answer["grid"]["responsible"]["code"], "320613001001001");
    assert_eq!(answer["deadlines"]["resolve_within"], "1wd", "the city's catalogue, read across apps");

    // The case is the city's: readable there, in the city's database, not in the district's app.
    let case = call("GET", &apps.city.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None);
    assert_eq!(case.status, 200, "{}", case.body);
    let case = case.json();
    assert_eq!(case["state"], "reported");
    assert_eq!(case["community"], answer["grid"]["community_code"]);
    use wangge_core::Sql;
    let stored = store_of(&apps.city_options, "case_routing")
        .execute("SELECT count(*) FROM cases WHERE id = ?", &[id.as_str().into()])
        .unwrap()
        .scalar()
        .and_then(wangge_core::SqlValue::as_i64);
    assert_eq!(stored, Some(1));
    assert_eq!(get(&apps.district.url(&format!("/v1/cases/{id}"))).status, 404, "no case-routing in the district");

    // The district's jurisdiction holds: a point in 如东县 is refused, naming its district.
    let outside = post_event(&apps.district.url("/v1/events"), &resident_report(RUDONG, "B05", "oWX-district-1"));
    assert_eq!(outside.status, 422, "{}", outside.body);
}

#[test]
fn internal_routes_by_url_want_the_internal_key() {
    let apps = start_districts("districts-key", &[]);
    let categories = apps.city.url("/internal/categories");
    let problem = |reply: &Reply| {
        assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{}", reply.body);
        reply.json()["code"].as_str().unwrap_or_default().to_owned()
    };

    // No key: 401 unauthenticated; another key (even the operator key): 401 invalid_api_key.
    let none = get(&categories);
    assert_eq!((none.status, problem(&none).as_str()), (401, "unauthenticated"), "{}", none.body);
    for wrong in ["not-the-internal-key", OPERATOR_KEY, &INTERNAL_KEY[..INTERNAL_KEY.len() - 1]] {
        let refused = request("GET", &categories, &[("authorization", &bearer(wrong))], None);
        assert_eq!((refused.status, problem(&refused).as_str()), (401, "invalid_api_key"), "{wrong}");
    }
    // Looking like a chained request does not make one: Spin's own client address comes last.
    let spoofed = request(
        "POST",
        &apps.city.url("/internal/cases"),
        &[
            ("host", "case-routing.spin.internal"),
            ("spin-client-addr", "0.0.0.0:0"),
            ("spin-full-url", "http://case-routing.spin.internal/internal/cases"),
            ("content-type", "application/json"),
        ],
        Some(b"{}"),
    );
    assert_eq!((spoofed.status, problem(&spoofed).as_str()), (401, "unauthenticated"), "{}", spoofed.body);
    // Every internal route of both apps is behind the same check.
    for url in [
        apps.city.url("/internal/cases"),
        apps.city.url("/internal/cases/states"),
        apps.city.url("/internal/enqueue"),
        apps.district.url("/internal/place"),
        apps.district.url("/internal/staff/contacts"),
    ] {
        let refused = request("POST", &url, &[("content-type", "application/json")], Some(b"{}"));
        assert_eq!((refused.status, problem(&refused).as_str()), (401, "unauthenticated"), "{url}");
    }
    for url in [
        apps.district.url("/internal/grids"),
        apps.city.url("/internal/facts?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"),
    ] {
        assert_eq!(get(&url).status, 401, "{url}");
    }

    // With the key: served.
    let auth = bearer(INTERNAL_KEY);
    let served = request("GET", &categories, &[("authorization", &auth)], None);
    assert_eq!(served.status, 200, "{}", served.body);
    assert!(served.json()["categories"].as_array().is_some_and(|c| !c.is_empty()), "{}", served.body);
    let grids = request("GET", &apps.district.url("/internal/grids"), &[("authorization", &auth)], None);
    assert_eq!(grids.status, 200, "{}", grids.body);
}

#[test]
fn without_an_internal_key_the_internal_routes_are_not_served_by_url() {
    let suite = start_city("districts-no-key", &[]);
    for (method, path) in [("GET", "/internal/categories"), ("POST", "/internal/cases"), ("POST", "/internal/place")] {
        for headers in [vec![], vec![("authorization", "Bearer ")], vec![("authorization", "Bearer anything")]] {
            let mut headers = headers;
            headers.push(("content-type", "application/json"));
            let reply = request(method, &suite.url(path), &headers, Some(b"{}"));
            assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
            assert_eq!(reply.json()["code"], "route_not_found", "{method} {path}");
        }
    }
    // Service chaining inside the app is unchanged: an event still becomes a case.
    let made = post_event(&suite.url("/v1/events"), &resident_report(CHONGCHUAN, "B05", "oWX-district-1"));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["case_id"].as_str().unwrap().to_owned();
    assert_eq!(call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).status, 200);
}

#[test]
fn the_citys_notification_reaches_the_districts_grid_staff_by_url() {
    let fake = wangge_e2e::fake::Fake::start();
    let apps = start_districts(
        "districts-notify",
        &[
            ("wechat_origin", fake.url.as_str()),
            ("wechat_appid", "wx-demo"),
            ("wechat_secret", "wx-secret"),
            ("wechat_template_id", "TPL-1"),
            ("sms_origin", fake.url.as_str()),
            ("webhook_origin", fake.url.as_str()),
        ],
    );
    let (grid, worker) = grid_and_worker(&apps.district.url(""), CHONGCHUAN);
    // Grid staff find exposed rubbish: a case in the city, assigned to the district's grid.
    let body = json!({
        "source": "grid_staff", "reporter": { "staff_id": worker }, "category": "B05", "description": "暴露垃圾",
        "location": { "lng": CHONGCHUAN.0, "lat": CHONGCHUAN.1 }, "discovered_at": "2026-11-26T08:00:00+08:00"
    });
    let made = post_event(&apps.district.url("/v1/events"), &body);
    assert_eq!(made.status, 201, "{}", made.body);
    // The city's dispatch asks the district's grid-lookup for the grid's staff, by URL with
    // the key: one WeChat delivery per staff member with an openid (sent now, or held for
    // quiet hours; either way a delivery row).
    let pass = call("POST", &apps.city.url("/v1/notifications/dispatch?limit=100"), OPERATOR_KEY, None);
    assert_eq!(pass.status, 200, "{}", pass.body);
    use wangge_core::Sql;
    let scalar = |rows: wangge_core::Rows| rows.scalar().and_then(wangge_core::SqlValue::as_i64).unwrap_or(-1);
    let grid_staff = scalar(
        store_of(&apps.district_options, "grid_lookup")
            .execute(
                "SELECT count(*) FROM staff WHERE grid_code = ? AND wechat_openid != '' \
                 AND version = (SELECT max(version) FROM staff)",
                &[grid.as_str().into()],
            )
            .unwrap(),
    );
    let to_grid = scalar(
        store_of(&apps.city_options, "notification")
            .execute(
                "SELECT count(*) FROM deliveries d JOIN outbox o ON o.id = d.message_id \
                 WHERE o.recipient_kind = 'grid' AND d.channel = 'wechat'",
                &[],
            )
            .unwrap(),
    );
    assert!(grid_staff > 0, "the demo grid has staff with WeChat");
    assert_eq!(to_grid, grid_staff, "{}", pass.body);
}

#[test]
fn a_district_with_another_key_queues_its_events_and_rejects_none() {
    let apps = start_districts_with("districts-wrong-key", &[], &[("internal_key", "not-the-citys-key")]);
    // The city refuses the call itself (401): a deployment wired wrong is an outage, so the
    // event waits in the district's queue, never rejected for what the resident sent.
    let made = post_event(&apps.district.url("/v1/events"), &resident_report(CHONGCHUAN, "B05", "oWX-district-1"));
    assert_eq!(made.status, 202, "{}", made.body);
    let answer = made.json();
    assert_eq!(answer["status"], "queued", "{answer}");
    let id = answer["event_id"].as_str().unwrap();
    assert_eq!(call("GET", &apps.city.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).status, 404);
    use wangge_core::Sql;
    let status = store_of(&apps.district_options, "intake")
        .execute("SELECT status FROM events WHERE id = ?", &[id.into()])
        .unwrap()
        .scalar()
        .and_then(wangge_core::SqlValue::as_str)
        .map(str::to_owned);
    assert_eq!(status.as_deref(), Some("pending"), "waiting for a retry, not rejected");
}
