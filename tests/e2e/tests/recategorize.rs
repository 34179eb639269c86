//! The centre's category correction (改类, issue 16) through the running functions: an
//! event becomes a case the centre recategorizes, the log records it and still verifies,
//! refusals name their reason, and the corrections intake's retrain reads are served
//! only internally (here by URL with the internal key, refused without it).

use serde_json::{Value, json};
use wangge_e2e::*;

const CHONGCHUAN: (f64, f64) = (120.802356, 32.138927);
const INTERNAL_KEY: &str = "recategorize-internal-key-0123456789";

fn act(suite: &Suite, key: &str, id: &str, body: Value) -> Reply {
    call("POST", &suite.url(&format!("/v1/cases/{id}/actions")), key, Some(&body))
}

fn recategorize(suite: &Suite, id: &str, category: Option<&str>) -> Reply {
    let body = json!({ "action": "recategorize", "actor": { "kind": "centre", "id": "320613" }, "category": category });
    act(suite, OPERATOR_KEY, id, body)
}

/// `status` and the problem's `reason`.
fn refusal(reply: &Reply) -> (u16, String) {
    (reply.status, reply.json()["reason"].as_str().unwrap_or_default().to_owned())
}

fn corrections(suite: &Suite, key: Option<&str>, after: i64) -> Reply {
    corrections_page(suite, key, after, 100)
}

fn corrections_page(suite: &Suite, key: Option<&str>, after: i64, limit: u32) -> Reply {
    let auth = key.map(bearer);
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth.as_str()));
    }
    let body = json!({ "after": after, "limit": limit }).to_string();
    request("POST", &suite.url("/internal/triage/corrections"), &headers, Some(body.as_bytes()))
}

#[test]
fn the_centre_recategorizes_a_case_and_the_correction_is_served_internally() {
    let suite = start_city("recategorize", &[("internal_key", INTERNAL_KEY)]);
    let report = resident_report(CHONGCHUAN, "B05", "oWX-recategorize-1");
    let made = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&report));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["case_id"].as_str().unwrap().to_owned();
    let case = call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).json();
    assert_eq!((case["state"].as_str(), case["category"].as_str()), (Some("reported"), Some("B05")));
    assert_eq!(case["triage"], Value::Null, "the category was given: no model placed it");

    // Refusals first, each with its reason, and none changes the case.
    let (_, worker) = grid_and_worker(&suite.url(""), CHONGCHUAN);
    let grid = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "网格员", "scopes": ["cases:act"], "region_prefix": "320613" })),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_staff = json!({ "action": "recategorize", "actor": { "kind": "staff", "id": worker }, "category": "C05" });
    let forbidden = act(&suite, &grid, &id, by_staff);
    assert_eq!(
        (forbidden.status, forbidden.json()["code"].as_str()),
        (403, Some("actor_forbidden")),
        "{}",
        forbidden.body
    );
    assert_eq!(refusal(&recategorize(&suite, &id, Some("ZZ9"))), (422, "unknown_category".to_owned()));
    assert_eq!(refusal(&recategorize(&suite, &id, Some("B05"))), (422, "category_unchanged".to_owned()));
    assert_eq!(refusal(&recategorize(&suite, &id, None)), (422, "category_missing".to_owned()));
    let unchanged = call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).json();
    assert_eq!((unchanged["version"].clone(), unchanged["category"].as_str()), (case["version"].clone(), Some("B05")));

    // The centre's correction: the category changes, the state stays.
    let moved = recategorize(&suite, &id, Some("C05"));
    assert_eq!(moved.status, 200, "{}", moved.body);
    let moved = moved.json();
    assert_eq!((moved["state"].as_str(), moved["category"].as_str()), (Some("reported"), Some("C05")));
    let log = call("GET", &suite.url(&format!("/v1/cases/{id}/log")), OPERATOR_KEY, None).json();
    assert_eq!(log["verification"]["valid"], true, "{log}");
    let last = log["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["role"].as_str()), (Some("recategorize"), Some("centre")));
    assert_eq!(last["note"], "category B05 → C05");

    // The correction, for intake's retrain: internal, refused by URL without the key.
    let outside = corrections(&suite, None, 0);
    assert_eq!((outside.status, outside.json()["code"].as_str()), (401, Some("unauthenticated")), "{}", outside.body);
    assert_eq!(corrections(&suite, Some(OPERATOR_KEY), 0).status, 401, "the operator key is not the internal key");
    let page = corrections(&suite, Some(INTERNAL_KEY), 0);
    assert_eq!(page.status, 200, "{}", page.body);
    let page = page.json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(
        (items[0]["case_id"].as_str(), items[0]["text"].as_str()),
        (Some(id.as_str()), Some("小区门口垃圾堆积"))
    );
    assert_eq!((items[0]["from_category"].as_str(), items[0]["to_category"].as_str()), (Some("B05"), Some("C05")));
    assert_eq!((items[0]["model"].clone(), page["next"].clone()), (Value::Null, Value::Null));
    let after = items[0]["seq"].as_i64().unwrap();
    assert_eq!(corrections(&suite, Some(INTERNAL_KEY), after).json()["items"], json!([]));
    // A page is 1 to 1000 corrections: outside, 422 naming `/limit`.
    for limit in [0, 1001] {
        let refused = corrections_page(&suite, Some(INTERNAL_KEY), 0, limit);
        let refused_json = refused.json();
        assert_eq!(
            (refused.status, refused_json["code"].as_str(), refused_json["errors"][0]["pointer"].as_str()),
            (422, Some("validation_failed"), Some("/limit")),
            "limit {limit}: {}",
            refused.body
        );
    }
    for limit in [1, 1000] {
        let page = corrections_page(&suite, Some(INTERNAL_KEY), 0, limit);
        assert_eq!((page.status, page.json()["items"].as_array().map(Vec::len)), (200, Some(1)), "limit {limit}");
    }
    assert_eq!(suite.count("case_routing", "triage_corrections"), 1);
}

#[test]
fn without_an_internal_key_the_corrections_are_not_served_by_url() {
    let suite = start_city("recategorize-no-key", &[]);
    let reply = corrections(&suite, Some("anything"), 0);
    assert_eq!((reply.status, reply.json()["code"].as_str()), (404, Some("route_not_found")), "{}", reply.body);
}
