//! The other front doors — 12345 hotline work orders in batches, Open311
//! GeoReport v2 (driven by an off-the-shelf client too), and the served contract.

use serde_json::{Value, json};
use wangge_e2e::*;

const CHONGCHUAN_ADDRESS: &str = "江苏省南通市崇川区新江街道建设街24号";
const RUDONG_ADDRESS: &str = "江苏省南通市如东县北东镇观音山街120号";

fn order(no: &str, address: &str, content: &str, hint: Option<&str>) -> Value {
    let mut o = json!({
        "order_no": no,
        "request_type": "投诉",
        "caller": { "name": "赵六", "phone": "13700001111" },
        "address": address,
        "content": content,
        "received_at": "2026-11-26T09:10:00+08:00",
        "deadline": "2026-11-28T18:00:00+08:00"
    });
    if let Some(h) = hint {
        o["category_hint"] = h.into();
    }
    o
}

fn batch(suite: &Suite, orders: &[Value]) -> Reply {
    call("POST", &suite.url("/v1/hotline/work-orders"), OPERATOR_KEY, Some(&json!({ "orders": orders })))
}

#[test]
fn hotline_orders_each_get_a_result_and_a_retried_batch_creates_nothing() {
    let suite = start_city("intake-hotline", &[]);
    let mut missing_content = order("GD-3", CHONGCHUAN_ADDRESS, "x", None);
    missing_content.as_object_mut().unwrap().remove("content");
    let orders = vec![
        order("GD-1", CHONGCHUAN_ADDRESS, "小区门口垃圾堆积三天无人清理", None),
        order("GD-2", "火星基地七号楼", "夜间噪音扰民", None),
        missing_content,
        order("GD-4", RUDONG_ADDRESS, "楼下乱堆杂物", Some("C05")),
    ];
    let reply = batch(&suite, &orders);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    let results = answer["results"].as_array().unwrap();
    // GD-1 and GD-4 placed, GD-2 accepted into the centre's queue (3); GD-3 lacks its content (1).
    assert_eq!(answer["summary"], json!({ "orders": 4, "accepted": 3, "merged": 0, "queued": 0, "rejected": 1 }));
    // No hint: the classifier places it (智能派单) in B05, resolved through the dictionary to its grid.
    assert_eq!((results[0]["category"].as_str(), results[0]["category_from"].as_str()), (Some("B05"), Some("model")));
    assert_eq!(results[0]["grid"]["responsible"]["code"], "320613001001001");
    assert_eq!(results[0]["address"]["match"], "exact");
    // An address nobody can place goes to the centre's queue: never dropped.
    assert_eq!(results[1]["status"], "accepted");
    assert_eq!(results[1]["grid"]["responsible"], Value::Null);
    assert_eq!(results[1]["grid"]["community_code"], "3206");
    // One bad order does not sink the batch: its own problem, with its pointer.
    assert_eq!(results[2]["status"], "rejected");
    assert_eq!(results[2]["problem"]["errors"][0]["pointer"], "/orders/2");
    assert_eq!(results[2]["problem"]["errors"][0]["code"], "required");
    assert_eq!((results[3]["category"].as_str(), results[3]["category_from"].as_str()), (Some("C05"), Some("hint")));
    // The case knows its hotline order (for the result callback, 办结反馈).
    let case_id = results[0]["case_id"].as_str().unwrap();
    let case = call("GET", &suite.url(&format!("/v1/cases/{case_id}")), OPERATOR_KEY, None).json();
    assert_eq!((case["source"].as_str(), case["external_ref"].as_str()), (Some("hotline"), Some("GD-1")));
    assert_eq!(suite.count("case_routing", "cases"), 3, "one case per accepted order");

    // The hotline retries the whole batch after a timeout: the same answers, nothing new.
    let again = batch(&suite, &orders).json();
    let again = again["results"].as_array().unwrap();
    for i in [0, 1, 3] {
        assert_eq!(again[i]["event_id"], results[i]["event_id"], "order {i}");
        assert_eq!(again[i]["replayed"], true);
    }
    assert_eq!(suite.count("case_routing", "cases"), 3, "still the three accepted orders' cases");
    assert_eq!(suite.count("intake", "events"), 3, "the three accepted orders; the refused one left no event");
    // The same order number with other content is a conflict, for that order only.
    let changed = batch(
        &suite,
        &[order("GD-1", CHONGCHUAN_ADDRESS, "内容变了", None), order("GD-5", CHONGCHUAN_ADDRESS, "路灯不亮", None)],
    );
    let changed = changed.json();
    assert_eq!(changed["results"][0]["problem"]["code"], "idempotency_key_reused");
    assert_eq!(changed["results"][1]["status"], "accepted");

    // A district's hotline key: what nobody can place goes to that district's centre.
    let district_key = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "崇川 12345", "scopes": ["events:write"], "region_prefix": "320613" })),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let lost = call(
        "POST",
        &suite.url("/v1/hotline/work-orders"),
        &district_key,
        Some(&json!({ "orders": [order("GD-9", "月球背面", "噪音扰民", None)] })),
    )
    .json();
    assert_eq!(lost["results"][0]["status"], "accepted", "{lost}");
    assert_eq!(lost["results"][0]["grid"]["community_code"], "320613");

    // The envelope: 1 to 100 orders.
    let too_many: Vec<Value> = (0..101).map(|i| order(&format!("N{i}"), CHONGCHUAN_ADDRESS, "垃圾", None)).collect();
    let refused = batch(&suite, &too_many);
    assert_eq!((refused.status, refused.json()["code"].as_str()), (422, Some("validation_failed")));
    assert_eq!(batch(&suite, &[]).status, 422);
    // Past 1 MiB: refused on the announced length, before the body is read.
    let auth = bearer(OPERATOR_KEY);
    let (status, body) = raw(
        suite.app.addr,
        &format!(
            "POST /v1/hotline/work-orders HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            1024 * 1024 + 1
        ),
        b"",
    );
    assert!(status.contains("413"), "a batch is at most 1 MiB: {status}");
    assert!(body.contains("body_too_large") && body.contains("\"limit_bytes\":1048576"), "{body}");
}

fn form(suite: &Suite, path: &str, fields: &[(&str, &str)]) -> Reply {
    post_form(suite, path, fields, &[])
}

#[test]
fn open311_georeport_v2_services_requests_and_errors() {
    let suite = start_city("intake-open311", &[]);
    let made = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "open311 app", "scopes": ["events:write"] })),
    );
    let api_key = made.json()["token"].as_str().unwrap().to_owned();

    let services = get(&suite.url("/open311/v2/services.json"));
    assert_eq!(services.status, 200);
    let services = services.json();
    let b05 = services.as_array().unwrap().iter().find(|s| s["service_code"] == "B05").unwrap();
    assert_eq!(b05["service_name"], "暴露垃圾");
    assert_eq!(b05["metadata"], false);
    assert_eq!(get(&suite.url("/open311/v2/services/B05.json")).json()["service_code"], "B05");
    let missing = get(&suite.url("/open311/v2/services/Q99.json"));
    assert_eq!((missing.status, missing.json()[0]["code"].as_i64()), (404, Some(404)));

    let fields = [
        ("api_key", api_key.as_str()),
        ("service_code", "B05"),
        ("lat", "32.138927"),
        ("long", "120.802356"),
        ("description", "垃圾桶满了"),
        ("first_name", "三"),
        ("last_name", "张"),
        ("phone", "13800000001"),
        ("media_url", "https://img.example.cn/2.jpg"),
    ];
    let created = form(&suite, "/open311/v2/requests.json", &fields);
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.json()[0]["service_request_id"].as_str().unwrap().to_owned();
    // Errors in the spec's shape: 403 for a missing or bad key.
    let no_key = form(&suite, "/open311/v2/requests.json", &fields[1..]);
    assert_eq!((no_key.status, no_key.json()[0]["code"].as_i64()), (403, Some(403)));
    let mut bad = fields.to_vec();
    bad[0] = ("api_key", "wg_nope");
    assert_eq!(form(&suite, "/open311/v2/requests.json", &bad).status, 403);
    let mut unknown = fields.to_vec();
    unknown[1] = ("service_code", "Q99");
    assert_eq!(form(&suite, "/open311/v2/requests.json", &unknown).status, 404);
    let mut no_place = fields.to_vec();
    no_place.retain(|(k, _)| *k != "lat" && *k != "long");
    let invalid = form(&suite, "/open311/v2/requests.json", &no_place);
    assert_eq!((invalid.status, invalid.json()[0]["code"].as_i64()), (400, Some(400)));
    assert_eq!(invalid.json()[0]["error_code"], "validation_failed");

    let one = get(&suite.url(&format!("/open311/v2/requests/{id}.json")));
    assert_eq!(one.status, 200);
    let one = one.json();
    assert_eq!((one[0]["status"].as_str(), one[0]["service_code"].as_str()), (Some("open"), Some("B05")));
    assert!(!one.to_string().contains("13800000001"), "no personal data in Open311 answers");
    assert_eq!(get(&suite.url("/open311/v2/requests/nope.json")).status, 404);
    let listed = get(&suite.url("/open311/v2/requests.json?service_code=B05&status=open")).json();
    assert!(listed.as_array().unwrap().iter().any(|r| r["service_request_id"] == id.as_str()), "{listed}");
    assert!(get(&suite.url("/open311/v2/requests.json?status=closed")).json().as_array().unwrap().is_empty());
    let span =
        get(&suite.url("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"));
    assert_eq!(span.status, 400);
    assert_eq!(get(&suite.url("/open311/v2/services.xml")).status, 400);
    assert_eq!(get(&suite.url("/open311/v2/requests.json?jurisdiction_id=110000")).status, 404);

    // An off-the-shelf client, unchanged: Python's georeport (PyPI), which scripts/test.sh installs.
    let tools = workspace_root().join("target/py-open311");
    assert!(tools.join("georeport").exists(), "georeport is missing: scripts/test.sh installs it");
    let script = format!(
        r#"
import json
from georeport import GeoReport
client = GeoReport("{root}")
services = client.get_service_list()
assert any(s["service_code"] == "B05" for s in services), services
definition = client.get_service_definition("B05")
assert definition["service_code"] == "B05", definition
found = client.get_service_requests(service_code="B05", status="open")
assert any(r["service_request_id"] == "{id}" for r in found), found
one = client.get_service_request("{id}")
print(json.dumps({{"services": len(services), "status": one["status"], "code": one["service_code"]}}))
"#,
        root = suite.url("/open311/v2"),
        id = id
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .env("PYTHONPATH", &tools)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "georeport failed: {}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["status"], "open");
    assert_eq!(printed["code"], "B05");
    assert_eq!(printed["services"], services.as_array().unwrap().len());

    // One that creates requests too: `open311` on npm, unchanged (scripts/test.sh installs it).
    let node = workspace_root().join("target/node-open311");
    assert!(node.join("node_modules/open311").exists(), "the Node client is missing: scripts/test.sh installs it");
    let out = std::process::Command::new("node")
        .arg(node.join("client.js"))
        .arg(suite.url("/open311/v2/"))
        .arg(&api_key)
        .arg("32.139")
        .arg("120.8031")
        .output()
        .expect("node runs");
    assert!(out.status.success(), "open311 (npm) failed: {}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((printed["definition"].as_str(), printed["code"].as_str()), (Some("C03"), Some("C03")));
    assert_eq!(printed["status"], "open");
    let id = printed["id"].as_str().unwrap();
    let case = call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).json();
    assert_eq!((case["source"].as_str(), case["category"].as_str()), (Some("open311"), Some("C03")));
}

#[test]
fn the_contract_is_served_schemas_and_openapi() {
    let suite = start_city("intake-contract", &[]);
    let list = get(&suite.url("/v1/schemas")).json();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    for name in [
        "event.create",
        "hotline.work-orders",
        "open311.request",
        "key.create",
        "case.action",
        "categories",
        "calendar",
    ] {
        assert!(names.contains(&name), "{name}");
        let served = get(&suite.url(&format!("/v1/schemas/{name}")));
        assert_eq!(served.header("content-type"), Some("application/schema+json"));
        let file = std::fs::read_to_string(workspace_root().join(format!("schemas/{name}.json"))).unwrap();
        assert_eq!(served.body, file, "{name} is served as the file in schemas/");
    }
    assert_eq!(get(&suite.url("/v1/schemas/nope")).json()["code"], "not_found");
    let openapi = get(&suite.url("/v1/openapi.json"));
    assert_eq!(openapi.status, 200);
    assert_eq!(openapi.json()["openapi"], "3.1.0");
}
