//! Smart dispatch (智能派单): hotline orders and events with no category are placed by the
//! classifier the build embedded, below the threshold they go to the centre with three
//! suggestions, the centre's corrections (改类) change later placements after a retrain, a
//! retrain that is worse on the held-out split is kept aside, and a corrupted stored model
//! is refused for the embedded one.
//!
//! The texts are chosen at run time by asking the embedded model natively (the same bytes
//! the component embeds), so the tests hold whatever the corpus teaches.

use serde_json::{Value, json};
use wangge_e2e::*;
use wangge_triage::{DEFAULT_THRESHOLD, Model};

const ADDRESS: &str = "江苏省南通市崇川区新江街道建设街24号";
const CENTRE: &str = "3206";

fn order(no: &str, content: &str, received_at: &str) -> Value {
    json!({
        "order_no": no,
        "request_type": "投诉",
        "caller": { "name": "赵六", "phone": "13700001111" },
        "address": ADDRESS,
        "content": content,
        "received_at": received_at,
    })
}

/// Posts `orders` as one batch; each must be accepted. Their results.
fn post(suite: &Suite, orders: &[Value]) -> Vec<Value> {
    let reply = call("POST", &suite.url("/v1/hotline/work-orders"), OPERATOR_KEY, Some(&json!({ "orders": orders })));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.json()["results"].as_array().unwrap().clone();
    for r in &results {
        assert_eq!(r["status"], "accepted", "{r}");
    }
    results
}

/// Received `i` days after 1 September 2026: orders apart in time never merge as repeats.
fn day(i: usize) -> String {
    (chrono::DateTime::parse_from_rfc3339("2026-09-01T09:00:00+08:00").unwrap() + chrono::Duration::days(2 * i as i64))
        .to_rfc3339()
}

/// A held-out text the embedded model places confidently and rightly, and one it is unsure of.
fn sure_and_unsure() -> ((String, String), String) {
    let model = Model::embedded();
    let heldout = wangge_triage::heldout();
    let sure = heldout
        .iter()
        .find(|e| {
            let c = model.classify(&e.text);
            c.category == e.category && c.confidence >= DEFAULT_THRESHOLD + 0.05 && e.category != "Z99"
        })
        .map(|e| (e.text.clone(), e.category.clone()))
        .expect("a held-out text placed confidently");
    let unsure = heldout
        .iter()
        .find(|e| model.classify(&e.text).confidence < DEFAULT_THRESHOLD - 0.05)
        .map(|e| e.text.clone())
        .expect("a held-out text the model is unsure of");
    (sure, unsure)
}

fn case(suite: &Suite, id: &str) -> Value {
    call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).json()
}

fn recategorize(suite: &Suite, id: &str, category: &str) -> Reply {
    let body = json!({ "action": "recategorize", "actor": { "kind": "centre", "id": CENTRE }, "category": category });
    call("POST", &suite.url(&format!("/v1/cases/{id}/actions")), OPERATOR_KEY, Some(&body))
}

fn retrain(suite: &Suite) -> Value {
    let reply = call("POST", &suite.url("/v1/triage/retrain"), OPERATOR_KEY, None);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

fn model_info(suite: &Suite) -> Value {
    let reply = call("GET", &suite.url("/v1/triage/model"), OPERATOR_KEY, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

#[test]
fn orders_without_a_category_are_placed_by_the_model_or_left_to_the_centre_with_suggestions() {
    let suite = start_city("triage-place", &[]);
    let ((sure, sure_category), unsure) = sure_and_unsure();
    let embedded = Model::embedded();
    let mut hinted = order("GD-3", &sure, &day(2));
    hinted["category_hint"] = "C05".into();
    let results = post(&suite, &[order("GD-1", &sure, &day(0)), order("GD-2", &unsure, &day(1)), hinted]);

    // Confident: the model's category, and the version that placed it.
    assert_eq!(
        (results[0]["category"].as_str(), results[0]["category_from"].as_str()),
        (Some(&*sure_category), Some("model"))
    );
    assert_eq!(results[0]["triage"]["model"], embedded.version());
    // Unsure: the centre's queue, with the model's three best, as the native model ranks them.
    assert_eq!((results[1]["category"].as_str(), results[1]["category_from"].as_str()), (Some("Z99"), Some("triage")));
    let expected: Vec<String> = embedded.classify(&unsure).suggestions.iter().map(|s| s.category.clone()).collect();
    let suggested = |t: &Value| -> Vec<String> {
        t["suggestions"].as_array().unwrap().iter().map(|s| s["category"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(suggested(&results[1]["triage"]), expected);
    assert_eq!(expected.len(), 3);
    assert!(results[1]["triage"]["confidence"].as_f64().unwrap() < DEFAULT_THRESHOLD);
    // A hinted order is the hotline's own: no classification.
    assert_eq!((results[2]["category_from"].as_str(), &results[2]["triage"]), (Some("hint"), &Value::Null));

    // The case keeps the note, so that the centre picks rather than types.
    let at_centre = case(&suite, results[1]["case_id"].as_str().unwrap());
    assert_eq!(at_centre["category"], "Z99");
    assert_eq!(suggested(&at_centre["triage"]), expected);
    assert_eq!(at_centre["triage"]["model"], embedded.version());
    assert_eq!(case(&suite, results[2]["case_id"].as_str().unwrap())["triage"], Value::Null);

    // A native event with no category is placed the same way.
    let event = json!({
        "source": "resident",
        "reporter": { "name": "钱七", "phone": "13700002222" },
        "description": sure,
        "location": { "address": ADDRESS },
    });
    let reply = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&event));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        (reply.json()["category"].as_str(), reply.json()["category_from"].as_str()),
        (Some(&*sure_category), Some("model"))
    );
}

#[test]
fn any_text_gets_an_answer_and_the_time_it_took_is_reported() {
    let suite = start_city("triage-bad-input", &[]);
    let texts =
        ["   ", &"噪".repeat(4000), "The streetlight outside building 3 has been broken for a week", "🙂🙂🙂 ??? 123"];
    let orders: Vec<Value> = texts.iter().enumerate().map(|(i, t)| order(&format!("GD-{i}"), t, &day(i))).collect();
    let reply = call("POST", &suite.url("/v1/hotline/work-orders"), OPERATOR_KEY, Some(&json!({ "orders": orders })));
    assert_eq!(reply.status, 200, "{}", reply.body);
    for (text, r) in texts.iter().zip(reply.json()["results"].as_array().unwrap()) {
        assert_eq!(r["status"], "accepted", "{text}: {r}");
        let from = r["category_from"].as_str().unwrap();
        assert!(from == "model" || (from == "triage" && r["category"] == "Z99"), "{text}: {r}");
        assert_eq!(r["triage"]["suggestions"].as_array().unwrap().len(), 3, "{r}");
    }
    // The component times loading the model and classifying (Server-Timing).
    let timing = reply.header("server-timing").unwrap_or_default();
    assert!(timing.contains("triage-load;dur=") && timing.contains("triage;dur="), "{timing}");
    // Over the schema's 4,000 characters is the schema's refusal, not a crash.
    let too_long = order("GD-9", &"噪".repeat(4001), &day(9));
    let reply =
        call("POST", &suite.url("/v1/hotline/work-orders"), OPERATOR_KEY, Some(&json!({ "orders": [too_long] })));
    assert_eq!(reply.json()["results"][0]["status"], "rejected", "{}", reply.body);
}

#[test]
fn the_threshold_variable_decides_what_goes_to_the_centre() {
    let ((sure, _), unsure) = sure_and_unsure();
    let top = Model::embedded().classify(&unsure).category;
    // Everything to the centre.
    let all = start_city("triage-threshold-1", &[("triage_threshold", "1")]);
    let results = post(&all, &[order("GD-1", &sure, &day(0))]);
    assert_eq!((results[0]["category"].as_str(), results[0]["category_from"].as_str()), (Some("Z99"), Some("triage")));
    assert_eq!(model_info(&all)["threshold"], 1.0);
    drop(all);
    // Nothing to the centre but what the model itself calls "other".
    let none = start_city("triage-threshold-0", &[("triage_threshold", "0")]);
    let results = post(&none, &[order("GD-1", &unsure, &day(0))]);
    let expected = if top == "Z99" { "triage" } else { "model" };
    assert_eq!((results[0]["category"].as_str(), results[0]["category_from"].as_str()), (Some(&*top), Some(expected)));
    drop(none);
    // A threshold that is no confidence is logged, and the default serves.
    let wrong = start_city("triage-threshold-wrong", &[("triage_threshold", "high")]);
    assert_eq!(model_info(&wrong)["threshold"], DEFAULT_THRESHOLD);
    assert!(wrong.guest_logs().contains("triage_threshold_invalid"), "{}", wrong.guest_logs());
}

#[test]
fn a_correction_changes_a_later_placement_after_a_retrain_and_a_corrupted_model_falls_back() {
    let suite = start_city("triage-learn", &[]);
    let embedded = Model::embedded();
    // A text of neither split, and a label the embedded model would not give it.
    let text = "我家楼下那条小河最近漂着一层白沫，还有死鱼，闻着一股怪味";
    let before = embedded.classify(text);
    let label = if before.category == "D03" { "A05" } else { "D03" };
    let first = post(&suite, &[order("GD-1", text, &day(0))]);
    let case_id = first[0]["case_id"].as_str().unwrap();
    let reply = recategorize(&suite, case_id, label);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(case(&suite, case_id)["category"], label);

    let info = model_info(&suite);
    assert_eq!((info["source"].as_str(), info["version"].as_str()), (Some("embedded"), Some(embedded.version())));
    let retrained = retrain(&suite);
    assert_eq!(retrained["current"], true, "{retrained}");
    assert_eq!(retrained["corrections"]["used"], 1);
    assert_eq!(retrained["training_size"], wangge_triage::corpus().len() as i64 + 1);
    let version = retrained["version"].as_str().unwrap().to_owned();
    let info = model_info(&suite);
    assert_eq!((info["source"].as_str(), info["version"].as_str()), (Some("retrained"), Some(&*version)));
    assert_eq!(info["history"][0]["version"], version);

    // The same complaint again: placed by the new version, in the centre's category.
    let again = post(&suite, &[order("GD-2", text, &day(3))]);
    assert_eq!(again[0]["triage"]["model"], version, "{}", again[0]);
    assert_eq!(again[0]["triage"]["suggestions"][0]["category"], label, "{}", again[0]);
    assert_eq!((again[0]["category"].as_str(), again[0]["category_from"].as_str()), (Some(label), Some("model")));

    // The stored model's bytes are damaged: refused at load, logged, and the embedded model serves.
    let bytes = match suite.sql("intake", "SELECT model FROM triage_models WHERE current = 1", &[]).scalar() {
        Some(wangge_core::SqlValue::Blob(b)) => b.clone(),
        other => panic!("no stored model: {other:?}"),
    };
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x5a;
    suite.sql(
        "intake",
        "UPDATE triage_models SET model = ? WHERE current = 1",
        &[wangge_core::SqlValue::Blob(damaged)],
    );
    let fallback = post(&suite, &[order("GD-3", text, &day(6))]);
    assert_eq!(fallback[0]["triage"]["model"], embedded.version(), "{}", fallback[0]);
    assert!(suite.guest_logs().contains("triage_model_refused"), "the refusal is logged");
    let info = model_info(&suite);
    assert_eq!((info["source"].as_str(), info["refused"]["version"].as_str()), (Some("embedded"), Some(&*version)));
}

#[test]
fn a_retrain_worse_on_the_held_out_split_is_stored_but_not_made_current() {
    let suite = start_city("triage-worse", &[]);
    // The centre "corrects" every 邻里纠纷 (A01) text of the corpus to 噪声扰民 (B04): wrong
    // labels that cost held-out accuracy.
    let texts: Vec<String> =
        wangge_triage::corpus().into_iter().filter(|e| e.category == "A01").map(|e| e.text).collect();
    let orders: Vec<Value> = texts.iter().enumerate().map(|(i, t)| order(&format!("GD-{i}"), t, &day(i))).collect();
    let results: Vec<Value> = orders.chunks(100).flat_map(|batch| post(&suite, batch)).collect();
    let mut corrected = 0;
    for r in &results {
        let id = r["case_id"].as_str().unwrap();
        if r["category"] != "B04" {
            let reply = recategorize(&suite, id, "B04");
            assert_eq!(reply.status, 200, "{}", reply.body);
            corrected += 1;
        }
    }
    assert!(corrected > 40, "{corrected}");
    let retrained = retrain(&suite);
    assert_eq!(retrained["current"], false, "{retrained}");
    let detail = retrained["detail"].as_str().unwrap();
    assert!(detail.contains("not current") && detail.contains("worse"), "{detail}");
    assert!(
        retrained["heldout"]["accuracy"].as_f64().unwrap()
            < retrained["previous"]["heldout_accuracy"].as_f64().unwrap()
    );
    let info = model_info(&suite);
    assert_eq!(
        (info["source"].as_str(), info["version"].as_str()),
        (Some("embedded"), Some(Model::embedded().version()))
    );
    assert_eq!(info["history"][0]["version"], retrained["version"]);
    assert_eq!(info["history"][0]["current"], false);
    // Only a scheduler key retrains, and reading the model takes events:read.
    let reply = call("POST", &suite.url("/v1/triage/retrain"), "wrong-key", None);
    assert_eq!(reply.status, 401);
    let body = json!({ "name": "热线", "scopes": ["events:write"], "region_prefix": "" });
    let writer =
        call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&body)).json()["token"].as_str().unwrap().to_owned();
    for (method, path) in [("POST", "/v1/triage/retrain"), ("GET", "/v1/triage/model")] {
        let reply = call(method, &suite.url(path), &writer, None);
        assert_eq!((reply.status, reply.json()["code"].as_str()), (403, Some("scope_missing")), "{path}");
    }
}

#[test]
fn a_retrain_without_case_routing_is_a_503_and_stores_nothing() {
    // case-routing, which keeps the centre's corrections, cannot answer.
    let mut options = options("triage-no-corrections", &[]);
    break_storage(&mut options, "case_routing");
    let suite = start_with(options);
    let reply = call("POST", &suite.url("/v1/triage/retrain"), OPERATOR_KEY, None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["code"], "dependency_unavailable");
    assert_eq!(model_info(&suite)["source"], "embedded");
    assert_eq!(suite.count("intake", "triage_models"), 0, "nothing trained, nothing stored");
}
