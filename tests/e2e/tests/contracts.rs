//! Contracts at the edges: each function's route table answers 404 and 405 itself;
//! Open311 answers every error in GeoReport's shape, never problem+json; WeChat without
//! its credentials is not configured.

use serde_json::{Value, json};
use wangge_e2e::fake::Fake;
use wangge_e2e::*;

/// An Open311 JSON error: `[{"code", "description", "error_code"?}]`, the status as the code.
fn open311_error(reply: &Reply) -> (u16, Option<String>) {
    assert!(
        reply.header("content-type").is_some_and(|t| t.starts_with("application/json")),
        "not JSON but {:?}: {}",
        reply.header("content-type"),
        reply.body
    );
    let body = reply.json();
    let error = &body.as_array().expect("an array of errors")[0];
    assert_eq!(error["code"].as_u64(), Some(u64::from(reply.status)), "{body}");
    assert!(error["description"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    (reply.status, error["error_code"].as_str().map(str::to_owned))
}

#[test]
fn open311_answers_every_error_in_its_own_shape() {
    let suite = start_city("contracts-open311", &[]);
    let made = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "open311 app", "scopes": ["events:write"] })),
    );
    let api_key = made.json()["token"].as_str().unwrap().to_owned();
    // Beijing: in China, outside Nantong's coverage.
    let fields = [
        ("api_key", api_key.as_str()),
        ("service_code", "B05"),
        ("lat", "39.9042"),
        ("long", "116.4074"),
        ("description", "垃圾"),
    ];
    let refused = post_form(&suite, "/open311/v2/requests.json", &fields, &[("idempotency-key", "o311-1")]);
    assert_eq!(open311_error(&refused).0 / 100, 4, "{}", refused.body);
    assert!(refused.json()[0]["error_code"].as_str().is_some());
    // Bad input changes nothing: the same request again is the same refusal, same shape.
    let again = post_form(&suite, "/open311/v2/requests.json", &fields, &[("idempotency-key", "o311-1")]);
    assert_eq!(open311_error(&again), open311_error(&refused));

    // Too large a body; a wrong method (with Allow); an unknown resource; a bad key.
    let big = "x".repeat(20 * 1024);
    let mut oversized = fields.to_vec();
    oversized[4] = ("description", &big);
    assert_eq!(open311_error(&post_form(&suite, "/open311/v2/requests.json", &oversized, &[])).0, 413);
    let wrong = request("DELETE", &suite.url("/open311/v2/requests.json"), &[], None);
    assert_eq!(open311_error(&wrong).0, 405);
    assert_eq!(wrong.header("allow"), Some("POST, GET"));
    assert_eq!(open311_error(&get(&suite.url("/open311/v2/nothing.json"))).0, 404);
    assert_eq!(open311_error(&get(&suite.url("/open311/v2/requests/a/b.json"))).0, 404);
    let mut bad_key = fields.to_vec();
    bad_key[0] = ("api_key", "wg_nope");
    assert_eq!(open311_error(&post_form(&suite, "/open311/v2/requests.json", &bad_key, &[])).0, 403);

    // Asked for as XML: the error in the spec's XML shape.
    for (path, status) in [("/open311/v2/services.xml", 400), ("/open311/v2/nothing.xml", 404)] {
        let xml = get(&suite.url(path));
        assert_eq!(xml.status, status, "{path}: {}", xml.body);
        assert!(xml.header("content-type").is_some_and(|t| t.starts_with("text/xml")), "{path}");
        assert!(
            xml.body.contains(&format!("<errors><error><code>{status}</code><description>")),
            "{path}: {}",
            xml.body
        );
    }
    // Outside /open311/ problems stay problem+json.
    let native = call("DELETE", &suite.url("/v1/events"), OPERATOR_KEY, None);
    assert_eq!(native.header("content-type"), Some("application/problem+json"));
}

/// Each function's table derives 405 (with the methods of the path) and 404; a literal
/// segment owns its path against a parameter.
#[test]
fn route_tables_derive_404_and_405() {
    let suite = start("contracts-routes");
    for (method, path, status, allow) in [
        ("GET", "/v1/events/retry-pending", 405, Some("POST")),
        ("PUT", "/v1/events/e-1", 405, Some("GET")),
        ("POST", "/v1/grids", 405, Some("PUT, GET")),
        ("PATCH", "/v1/keys/k-1", 405, Some("DELETE")),
        ("DELETE", "/v1/cases/c-1/actions", 405, Some("POST")),
        ("POST", "/v1/assessments/2026-11/export.csv", 405, Some("GET")),
        ("GET", "/v1/notifications/dead/d-1/requeue", 405, Some("POST")),
        ("POST", "/v1/system/assessment/health", 405, Some("GET")),
        ("GET", "/v1/cases/c-1/nothing", 404, None),
        ("GET", "/v1/grids/a/b/c", 404, None),
        ("GET", "/v1/system/intake/nothing", 404, None),
    ] {
        let reply = call(method, &suite.url(path), OPERATOR_KEY, None);
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        let code = if status == 405 { "method_not_allowed" } else { "route_not_found" };
        assert_eq!(reply.json()["code"], code, "{method} {path}");
        assert_eq!(reply.json()["allow"].as_str(), allow, "{method} {path}");
    }
}

/// WeChat's origin defaults to the real API, but without an app id and secret no token
/// can be had: the delivery is dead at once as `channel_not_configured`, not retried.
#[test]
fn wechat_without_credentials_is_not_configured_and_dies_at_once() {
    let fake = Fake::start();
    let suite =
        start_city("contracts-wechat", &[("wechat_origin", fake.url.as_str()), ("sms_origin", fake.url.as_str())]);
    let body = json!({
        "source": "resident",
        "reporter": { "phone": "13812345678", "wechat_openid": "o-contract" },
        "category": "A07",
        "description": "小区门口有人聚集",
        "location": { "lng": 120.802356, "lat": 32.138927 }
    });
    let made = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&body));
    assert_eq!(made.status, 201, "{}", made.body);
    let pass = call("POST", &suite.url("/v1/notifications/dispatch"), OPERATOR_KEY, None).json();
    let dead = call("GET", &suite.url("/v1/notifications/dead"), OPERATOR_KEY, None).json();
    let wechat: Vec<&Value> = dead["items"].as_array().unwrap().iter().filter(|d| d["channel"] == "wechat").collect();
    assert!(!wechat.is_empty(), "the WeChat delivery is dead: {pass} {dead}");
    for d in wechat {
        assert!(d["last_error"].as_str().unwrap().starts_with("channel_not_configured"), "{d}");
        assert_eq!(d["attempts"].as_u64(), Some(1), "dead at the first try: {d}");
    }
    assert!(fake.requests("/cgi-bin/token").is_empty(), "no token was asked for");
}

/// The OpenAPI document lists exactly the routes the five functions serve, read from
/// their route tables (`GET /v1/system/<component>/routes`), parameter names included;
/// Open311's `{format}` is documented as `.json`.
#[test]
fn the_openapi_document_lists_exactly_the_routes_the_tables_serve() {
    let suite = start("contracts-openapi");
    let mut served = std::collections::BTreeSet::new();
    for (component, _) in COMPONENTS {
        let listing = get(&suite.url(&format!("/v1/system/{component}/routes")));
        assert_eq!(listing.status, 200, "{component}: {}", listing.body);
        let listing = listing.json();
        assert_eq!(listing["component"], *component);
        for route in listing["routes"].as_array().unwrap() {
            let path = route["path"].as_str().unwrap().replace(".{format}", ".json");
            assert!(!path.starts_with("/internal/"), "{component} lists an internal route: {path}");
            served.insert((route["method"].as_str().unwrap().to_owned(), path));
        }
    }
    let openapi: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace_root().join("schemas/openapi.json")).unwrap()).unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, operations) in openapi["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
        // Every request body points at a schema that exists in schemas/.
        for operation in operations.as_object().unwrap().values() {
            for media in operation["requestBody"]["content"].as_object().into_iter().flat_map(|c| c.values()) {
                if let Some(reference) = media["schema"]["$ref"].as_str() {
                    let file = reference.rsplit('/').next().unwrap();
                    assert!(workspace_root().join("schemas").join(file).exists(), "{path}: {reference}");
                }
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in schemas/openapi.json: {undocumented:?}");
    assert!(unserved.is_empty(), "in schemas/openapi.json but not served: {unserved:?}");
}

/// case-routing's refusals read in the client's language (Accept-Language), each with
/// its stable `reason` beside the problem's code.
#[test]
fn case_refusals_follow_accept_language() {
    let suite = start_city("contracts-language", &[]);
    let body = json!({
        "source": "resident",
        "reporter": { "phone": "13812345678" },
        "category": "B05",
        "description": "垃圾",
        "location": { "lng": 120.802356, "lat": 32.138927 }
    });
    let made = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&body));
    assert_eq!(made.status, 201, "{}", made.body);
    let case = made.json()["case_id"].as_str().unwrap().to_owned();
    let act = |lang: &str, action: Value| {
        let auth = bearer(OPERATOR_KEY);
        request(
            "POST",
            &suite.url(&format!("/v1/cases/{case}/actions")),
            &[("authorization", auth.as_str()), ("content-type", "application/json"), ("accept-language", lang)],
            Some(action.to_string().as_bytes()),
        )
    };
    // A centre may verify, but not a case that nobody has resolved: a conflict.
    let sign = json!({ "action": "verify_pass", "actor": { "kind": "centre", "id": "3206" } });
    let zh = act("zh-CN,zh;q=0.9", sign.clone());
    assert_eq!((zh.status, zh.header("content-language")), (409, Some("zh-CN")), "{}", zh.body);
    assert_eq!(zh.json()["reason"], "not_allowed_in_state");
    let detail = zh.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("的案件不能核查通过"), "{detail}");
    let en = act("en", sign);
    assert_eq!(
        en.json()["detail"].as_str().unwrap(),
        format!("a case that is {} cannot be verify_pass", zh.json()["current_state"].as_str().unwrap())
    );
    let accept = json!({ "action": "accept", "actor": { "kind": "centre", "id": "3206" } });
    assert_eq!(act("zh-CN", accept).status, 200);
    let nowhere = json!({ "action": "assign", "actor": { "kind": "centre", "id": "3206" },
        "target": { "kind": "department", "code": "320613000000-nothing" } });
    let refused = act("zh-CN", nowhere);
    assert_eq!((refused.status, refused.json()["reason"].as_str()), (422, Some("no_department")), "{}", refused.body);
    assert_eq!(refused.json()["detail"], "没有部门 `320613000000-nothing`");
}
