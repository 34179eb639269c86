//! Event intake — native events, signatures, idempotency, duplicate merge,
//! the durable queue, jurisdiction and limits, each promise against the running suite.

use serde_json::{Value, json};
use wangge_e2e::*;

/// A point in grid 320613001001001 (崇川区新江街道), from the demo address dictionary.
const CHONGCHUAN: (f64, f64) = (120.802356, 32.138927);
const CHONGCHUAN_ADDRESS: &str = "江苏省南通市崇川区新江街道建设街24号";
/// A point in grid 320623005216003 (如东县).
const RUDONG: (f64, f64) = (120.748971, 32.377629);

fn key(suite: &Suite, scopes: &[&str], region_prefix: &str, signed: bool) -> (String, Option<String>) {
    let body = json!({ "name": "integrator", "scopes": scopes, "region_prefix": region_prefix, "signed": signed });
    let made = call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&body));
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    (made["token"].as_str().unwrap().to_owned(), made["signing_secret"].as_str().map(str::to_owned))
}

fn resident_event(point: (f64, f64), category: &str) -> Value {
    json!({
        "source": "resident",
        "reporter": { "name": "王小明", "phone": "13812345678", "wechat_openid": "oWX-openid-1" },
        "category": category,
        "description": "小区门口垃圾堆积",
        "location": { "lng": point.0, "lat": point.1, "crs": "wgs84", "accuracy": 8 },
        "attachments": ["https://img.example.cn/1.jpg"]
    })
}

fn post(suite: &Suite, key: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let auth = bearer(key);
    let mut all = vec![("authorization", auth.as_str()), ("content-type", "application/json")];
    all.extend_from_slice(headers);
    request("POST", &suite.url("/v1/events"), &all, Some(body.to_string().as_bytes()))
}

#[test]
fn an_event_becomes_a_routed_case_with_its_grid_chain_and_deadlines() {
    let suite = start_city("intake-events", &[]);
    let made = post(&suite, OPERATOR_KEY, &resident_event(CHONGCHUAN, "B05"), &[]);
    assert_eq!(made.status, 201, "{}", made.body);
    let answer = made.json();
    let id = answer["event_id"].as_str().unwrap();
    assert_eq!(answer["case_id"], id, "a case made from an event carries its id");
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["merged_into"], Value::Null);
    assert_eq!(answer["grid"]["responsible"]["code"], "320613001001001");
    assert_eq!(answer["grid"]["chain"]["district"]["code"].as_str().map(|c| &c[..6]), Some("320613"));
    // B05 (exposed rubbish): respond within 4 working hours, resolve within 1 working day.
    assert_eq!(answer["deadlines"]["respond_within"], "4wh");
    assert_eq!(answer["deadlines"]["resolve_within"], "1wd");
    assert_eq!(made.header("location"), Some(format!("/v1/events/{id}").as_str()));
    // The case is case-routing's, in its region, waiting for the centre (a resident's report).
    let case = call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None).json();
    assert_eq!(case["state"], "reported");
    assert_eq!(case["source"], "resident");
    assert_eq!(case["community"], answer["grid"]["community_code"]);

    // GCJ-02 from a Chinese map SDK lands in the same grid once normalised.
    let (lng, lat) = wangge_geo::crs::wgs84_to_gcj02(CHONGCHUAN.0 + 0.00001, CHONGCHUAN.1);
    let mut shifted = resident_event((lng, lat), "C03");
    shifted["location"]["crs"] = "gcj02".into();
    let made = post(&suite, OPERATOR_KEY, &shifted, &[]);
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["grid"]["responsible"]["code"], "320613001001001");

    // An address instead of a point: resolved through the dictionary.
    let mut by_address = resident_event(CHONGCHUAN, "C07");
    by_address["location"] = json!({ "address": CHONGCHUAN_ADDRESS });
    let made = post(&suite, OPERATOR_KEY, &by_address, &[]);
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["grid"]["responsible"]["code"], "320613001001001");
    assert_eq!(made.json()["address"]["match"], "exact");

    // Grid staff who find a matter their grid may resolve: routed to the grid at once.
    let located = call(
        "GET",
        &suite.url(&format!("/v1/grids/locate?lng={}&lat={}", CHONGCHUAN.0, CHONGCHUAN.1)),
        OPERATOR_KEY,
        None,
    )
    .json();
    let worker = located["staff"].as_array().unwrap().iter().find(|s| s["role"] == "grid_worker").unwrap();
    let staff_report = json!({
        "source": "grid_staff",
        "reporter": { "staff_id": worker["staff_id"] },
        "category": "B05",
        "description": "巡查发现暴露垃圾",
        "location": { "lng": CHONGCHUAN.0 + 0.002, "lat": CHONGCHUAN.1 },
        "discovered_at": "2026-11-26T08:30:00+08:00"
    });
    let made = post(&suite, OPERATOR_KEY, &staff_report, &[]);
    assert_eq!(made.status, 201, "{}", made.body);
    let answer = made.json();
    assert_eq!(answer["case_state"], "assigned");
    assert!(answer["deadlines"]["resolve_due"].is_string(), "{answer}");

    // Read back: the reporter masked for a reader, whole for the handling centre.
    let (reader, _) = key(&suite, &["events:read"], "3206", false);
    let id = answer["event_id"].as_str().unwrap();
    let first = post(&suite, OPERATOR_KEY, &resident_event((CHONGCHUAN.0, CHONGCHUAN.1 + 0.003), "C04"), &[]).json();
    let first_id = first["event_id"].as_str().unwrap();
    let masked = call("GET", &suite.url(&format!("/v1/events/{first_id}")), &reader, None).json();
    assert_eq!(masked["event"]["reporter"]["phone"], "138****5678");
    assert_eq!(masked["status"], "accepted");
    let whole = call("GET", &suite.url(&format!("/v1/events/{first_id}")), OPERATOR_KEY, None).json();
    assert_eq!(whole["event"]["reporter"]["phone"], "13812345678");
    assert_eq!(call("GET", &suite.url(&format!("/v1/events/{id}")), &reader, None).status, 200);
    assert_eq!(call("GET", &suite.url("/v1/events/nope"), &reader, None).json()["code"], "not_found");
    // Personal data never reaches a log.
    assert!(!suite.guest_logs().contains("13812345678"));
}

#[test]
fn bad_input_gets_its_own_code_and_changes_nothing() {
    let suite = start_city("intake-bad-input", &[]);
    let auth = bearer(OPERATOR_KEY);
    let raw = |content_type: &str, body: &[u8]| {
        request(
            "POST",
            &suite.url("/v1/events"),
            &[("authorization", auth.as_str()), ("content-type", content_type)],
            Some(body),
        )
    };
    let code = |r: &Reply| (r.status, r.json()["code"].as_str().unwrap_or_default().to_owned());
    assert_eq!(code(&raw("application/json", b"{\"source\": ")), (400, "malformed_json".into()));
    assert_eq!(code(&raw("text/plain", b"{}")), (415, "unsupported_media_type".into()));
    assert_eq!(code(&raw("application/json", &vec![b' '; 65 * 1024])), (413, "body_too_large".into()));

    let mut schema = resident_event(CHONGCHUAN, "B05");
    schema["source"] = "alien".into();
    schema["attachments"] = json!(["ftp://x"]);
    let r = post(&suite, OPERATOR_KEY, &schema, &[]);
    assert_eq!(code(&r), (422, "validation_failed".into()));
    let pointers: Vec<String> =
        r.json()["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap().to_owned()).collect();
    assert!(
        pointers.contains(&"/source".to_owned()) && pointers.contains(&"/attachments/0".to_owned()),
        "{pointers:?}"
    );

    let mut attachments = resident_event(CHONGCHUAN, "B05");
    attachments["attachments"] = json!(vec!["https://img.example.cn/x.jpg"; 10]);
    let r = post(&suite, OPERATOR_KEY, &attachments, &[]);
    assert_eq!(code(&r), (422, "validation_failed".into()));
    assert_eq!(
        (r.json()["errors"][0]["pointer"].as_str(), r.json()["errors"][0]["code"].as_str()),
        (Some("/attachments"), Some("maxItems"))
    );

    let mut staff = resident_event(CHONGCHUAN, "B05");
    staff["source"] = "grid_staff".into();
    let r = post(&suite, OPERATOR_KEY, &staff, &[]);
    assert_eq!(code(&r), (422, "validation_failed".into()), "grid staff must say when and who");

    let r = post(&suite, OPERATOR_KEY, &resident_event(CHONGCHUAN, "Q99"), &[]);
    assert_eq!(code(&r), (422, "unknown_category".into()), "{}", r.body);

    let r = post(&suite, OPERATOR_KEY, &resident_event((190.0, 32.0), "B05"), &[]);
    assert_eq!(code(&r), (422, "coordinates_out_of_range".into()));
    assert_eq!(r.json()["errors"][0]["pointer"], "/location/lng");

    let r = post(&suite, OPERATOR_KEY, &resident_event((2.35, 48.85), "B05"), &[]);
    assert_eq!(code(&r), (422, "outside_china".into()));

    // In China but in no grid or district we know (Beijing).
    let r = post(&suite, OPERATOR_KEY, &resident_event((116.39, 39.9), "B05"), &[]);
    assert_eq!(code(&r), (404, "outside_coverage".into()), "{}", r.body);

    let (writer, _) = key(&suite, &["events:read"], "", false);
    assert_eq!(code(&post(&suite, &writer, &resident_event(CHONGCHUAN, "B05"), &[])), (403, "scope_missing".into()));
    let (other_district, _) = key(&suite, &["events:write"], "320623", false);
    let r = post(&suite, &other_district, &resident_event(CHONGCHUAN, "B05"), &[]);
    assert_eq!(code(&r), (403, "region_forbidden".into()));
    assert_eq!(code(&request("POST", &suite.url("/v1/events"), &[], Some(b"{}"))), (401, "unauthenticated".into()));

    // Nothing was kept, nothing was made.
    assert_eq!(suite.count("intake", "events"), 0);
    assert_eq!(suite.count("intake", "event_reporters"), 0);
    assert_eq!(suite.count("case_routing", "cases"), 0);
}

#[test]
fn a_point_outside_the_jurisdiction_names_the_district_that_owns_it() {
    let suite = start_city("intake-jurisdiction", &[("jurisdiction", "320613")]);
    let r = post(&suite, OPERATOR_KEY, &resident_event(RUDONG, "B05"), &[]);
    assert_eq!(r.status, 422, "{}", r.body);
    let problem = r.json();
    assert_eq!(problem["code"], "outside_jurisdiction");
    assert!(problem["owner_district"].as_str().unwrap().starts_with("320623"), "{problem}");
    assert_eq!(problem["jurisdiction"], "320613");
    assert_eq!(post(&suite, OPERATOR_KEY, &resident_event(CHONGCHUAN, "B05"), &[]).status, 201);
    assert_eq!(suite.count("intake", "events"), 1, "崇川's report; the refused 如东 one left nothing");
}

#[test]
fn retries_return_the_first_answer_and_create_nothing_new() {
    let suite = start_city("intake-idempotency", &[]);
    let body = resident_event(CHONGCHUAN, "B05");
    let first = post(&suite, OPERATOR_KEY, &body, &[("idempotency-key", "order-1")]);
    assert_eq!(first.status, 201);
    // Same key, same body (keys in another order): the first answer, marked as a replay.
    let reordered: Value = serde_json::from_str(&serde_json::to_string_pretty(&body).unwrap()).unwrap();
    let again = post(&suite, OPERATOR_KEY, &reordered, &[("idempotency-key", "order-1")]);
    assert_eq!((again.status, again.json()), (201, first.json()));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // Same key, another body: a conflict naming the first event.
    let mut changed = body.clone();
    changed["description"] = "另一件事".into();
    let conflict = post(&suite, OPERATOR_KEY, &changed, &[("idempotency-key", "order-1")]);
    assert_eq!((conflict.status, conflict.json()["code"].as_str()), (409, Some("idempotency_key_reused")));
    assert_eq!(conflict.json()["event_id"], first.json()["event_id"]);

    // An Idempotency-Key is 1 to 200 printable characters.
    let long = "k".repeat(201);
    let malformed = post(&suite, OPERATOR_KEY, &body, &[("idempotency-key", long.as_str())]);
    assert_eq!((malformed.status, malformed.json()["code"].as_str()), (400, Some("malformed_request")));

    // Source and external id do the same without a header.
    let mut external = resident_event((CHONGCHUAN.0 + 0.01, CHONGCHUAN.1), "C03");
    external["external_id"] = "mini-program-77".into();
    let a = post(&suite, OPERATOR_KEY, &external, &[]);
    let b = post(&suite, OPERATOR_KEY, &external, &[]);
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.json()["event_id"], b.json()["event_id"]);

    // Concurrent identical retries: exactly one event and one case.
    let concurrent = resident_event((CHONGCHUAN.0 - 0.01, CHONGCHUAN.1), "C04");
    let url = suite.url("/v1/events");
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (url, body) = (url.clone(), concurrent.to_string());
                s.spawn(move || {
                    let auth = bearer(OPERATOR_KEY);
                    let r = request(
                        "POST",
                        &url,
                        &[("authorization", &auth), ("content-type", "application/json"), ("idempotency-key", "burst")],
                        Some(body.as_bytes()),
                    );
                    (r.status, r.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: std::collections::HashSet<String> =
        answers.iter().map(|(_, a)| a["event_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "eight identical requests, one event: {answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 202), "{answers:?}");
    // The `order-1` event, the `mini-program-77` event and the burst's one event: 3.
    assert_eq!(suite.count("intake", "events"), 3);
    assert_eq!(suite.count("case_routing", "cases"), 3);
}

#[test]
fn a_duplicate_within_50_m_and_24_h_is_merged_kept_and_its_reporter_told() {
    let suite = start_city("intake-duplicates", &[]);
    let first = post(&suite, OPERATOR_KEY, &resident_event(CHONGCHUAN, "B05"), &[]).json();
    // About 30 m east: the same rubbish pile.
    let near = (CHONGCHUAN.0 + 0.00032, CHONGCHUAN.1);
    let second = post(&suite, OPERATOR_KEY, &resident_event(near, "B05"), &[]);
    assert_eq!(second.status, 201, "{}", second.body);
    let second = second.json();
    assert_eq!(second["status"], "merged");
    assert_eq!(second["merged_into"], first["case_id"]);
    // Kept as a report of its own, merged and linked.
    let merged =
        call("GET", &suite.url(&format!("/v1/cases/{}", second["case_id"].as_str().unwrap())), OPERATOR_KEY, None);
    assert_eq!(merged.json()["state"], "merged");
    assert_eq!(merged.json()["merged_into"], first["case_id"]);
    // The reporter is told which case it joined (the notification outbox holds it).
    let told = suite.sql_i64("notification", "SELECT count(*) FROM outbox WHERE kind = 'case_merged'", &[]);
    assert_eq!(told, 1, "the one merged report's reporter");
    // Another category at the same spot, or the same one 200 m away, is a case of its own.
    assert_eq!(post(&suite, OPERATOR_KEY, &resident_event(near, "C05"), &[]).json()["status"], "accepted");
    let far = (CHONGCHUAN.0 + 0.0021, CHONGCHUAN.1);
    assert_eq!(post(&suite, OPERATOR_KEY, &resident_event(far, "B05"), &[]).json()["status"], "accepted");
    // The first, its merged duplicate (a case of its own), the other category, the one 200 m away.
    assert_eq!(suite.count("case_routing", "cases"), 4);
}

fn signed(suite: &Suite, token: &str, secret: &str, timestamp: i64, body: &[u8]) -> (Reply, String) {
    let signature = wangge_intake::signature::sign(secret, &timestamp.to_string(), "POST", "/v1/events", body);
    (post_signature(suite, token, timestamp, &signature, body), signature)
}

/// `POST /v1/events` with the given timestamp and signature headers, as sent.
fn post_signature(suite: &Suite, token: &str, timestamp: i64, signature: &str, body: &[u8]) -> Reply {
    let (auth, ts) = (bearer(token), timestamp.to_string());
    request(
        "POST",
        &suite.url("/v1/events"),
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("x-wangge-timestamp", ts.as_str()),
            ("x-wangge-signature", signature),
        ],
        Some(body),
    )
}

#[test]
fn signed_requests_reject_stale_bad_and_replayed_signatures_each_with_its_code() {
    let suite = start_city("intake-signatures", &[]);
    let (token, secret) = key(&suite, &["events:write"], "3206", true);
    let secret = secret.expect("a signed key has a signing secret");
    let body = resident_event(CHONGCHUAN, "B05").to_string();
    let now = chrono::Utc::now().timestamp();
    let code = |r: &Reply| (r.status, r.json()["code"].as_str().unwrap_or_default().to_owned());

    assert_eq!(
        code(&post(&suite, &token, &resident_event(CHONGCHUAN, "B05"), &[])),
        (401, "signature_required".into())
    );
    let (stale, _) = signed(&suite, &token, &secret, now - 301, body.as_bytes());
    assert_eq!(code(&stale), (401, "timestamp_expired".into()));
    let (wrong, _) = signed(&suite, &token, "not-the-secret", now, body.as_bytes());
    assert_eq!(code(&wrong), (401, "signature_invalid".into()));
    let (good, signature) = signed(&suite, &token, &secret, now, body.as_bytes());
    assert_eq!(good.status, 201, "{}", good.body);
    // The very same request again: a replay, refused even though the body is fine.
    let replay = post_signature(&suite, &token, now, &signature, body.as_bytes());
    assert_eq!(code(&replay), (401, "signature_replayed".into()));
    // A key without a secret may not pretend to sign.
    let (plain, _) = key(&suite, &["events:write"], "3206", false);
    let (pretend, _) = signed(&suite, &plain, &secret, now, body.as_bytes());
    assert_eq!(code(&pretend), (401, "signature_invalid".into()));
    assert_eq!(suite.count("intake", "events"), 1, "the one good signed request");
}

#[test]
fn the_rate_limit_is_per_key_with_retry_after() {
    let suite = start_city("intake-rate-limit", &[("rate_limit_per_minute", "3")]);
    let (token, _) = key(&suite, &["events:write"], "", false);
    let statuses: Vec<u16> = (0..4)
        .map(|i| {
            post(&suite, &token, &resident_event((CHONGCHUAN.0 + 0.001 * f64::from(i), CHONGCHUAN.1), "C03"), &[])
                .status
        })
        .collect();
    // A minute boundary may fall inside the loop; then the fourth is allowed too.
    let limited = post(&suite, &token, &resident_event((CHONGCHUAN.0 + 0.005, CHONGCHUAN.1), "C03"), &[]);
    let refused = if statuses[3] == 429 { statuses[3] } else { limited.status };
    assert_eq!(refused, 429, "{statuses:?} {}", limited.body);
    if limited.status == 429 {
        assert_eq!(limited.json()["code"], "rate_limited");
        let retry: u32 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
    }
    // Other keys, and the operator, are not held back.
    assert_eq!(
        post(&suite, OPERATOR_KEY, &resident_event((CHONGCHUAN.0, CHONGCHUAN.1 + 0.004), "C03"), &[]).status,
        201
    );
}

#[test]
fn events_wait_in_the_queue_while_a_downstream_is_down_and_none_is_lost_or_doubled() {
    let suite = start_city("intake-queue", &[]);
    suite.app.app.set_reachable("case-routing", false);
    let queued = post(&suite, OPERATOR_KEY, &resident_event(CHONGCHUAN, "B05"), &[]);
    assert_eq!(queued.status, 202, "{}", queued.body);
    let id = queued.json()["event_id"].as_str().unwrap().to_owned();
    assert_eq!(queued.json()["status"], "queued");
    let stored = call("GET", &suite.url(&format!("/v1/events/{id}")), OPERATOR_KEY, None).json();
    assert_eq!(stored["status"], "pending");
    assert!(stored["last_error"].as_str().unwrap().contains("case-routing"));
    // grid-lookup down too: still kept.
    suite.app.app.set_reachable("grid-lookup", false);
    assert_eq!(
        post(&suite, OPERATOR_KEY, &resident_event((CHONGCHUAN.0 + 0.01, CHONGCHUAN.1), "C03"), &[]).status,
        202
    );
    suite.app.app.set_reachable("grid-lookup", true);
    suite.app.app.set_reachable("case-routing", true);
    // The scheduler's retry (the leases of the first attempts have to run out first).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = call("POST", &suite.url("/v1/events/retry-pending?limit=10"), OPERATOR_KEY, None).json();
        if r["pending"] == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still pending: {r}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let stored = call("GET", &suite.url(&format!("/v1/events/{id}")), OPERATOR_KEY, None).json();
    assert_eq!(stored["status"], "accepted");
    assert_eq!(stored["case_id"], id.as_str());
    assert_eq!(suite.count("case_routing", "cases"), 2, "the two queued events, one case each");
    assert_eq!(call("GET", &suite.url("/v1/events/retry-pending"), OPERATOR_KEY, None).status, 405);
    let bad = call("POST", &suite.url("/v1/events/retry-pending?limit=501"), OPERATOR_KEY, None);
    assert_eq!((bad.status, bad.json()["code"].as_str()), (400, Some("invalid_parameter")));
}

/// A queued event does not wait for the scheduler alone: the next intake request that
/// finds it due takes it along.
#[test]
fn the_next_intake_request_takes_a_due_queued_event_along() {
    let suite = start_city("intake-piggyback", &[]);
    suite.app.app.set_reachable("case-routing", false);
    let queued = post(&suite, OPERATOR_KEY, &resident_event(CHONGCHUAN, "B05"), &[]);
    assert_eq!(queued.status, 202, "{}", queued.body);
    let id = queued.json()["event_id"].as_str().unwrap().to_owned();
    suite.app.app.set_reachable("case-routing", true);
    // Its first retry is due 5 s after the failed attempt: wait until intake's own record says
    // it is due (stored times are +08:00 text, compared as intake compares them).
    wait_until(std::time::Duration::from_secs(15), "the queued event to fall due", || {
        let next = suite.sql("intake", "SELECT next_attempt_at FROM events WHERE id = ?", &[id.as_str().into()]);
        let next = next.scalar().and_then(wangge_core::SqlValue::as_str).expect("the queued event's next attempt");
        (next <= wangge_core::time::render(chrono::Utc::now()).as_str()).then_some(())
    });
    let next = post(&suite, OPERATOR_KEY, &resident_event((CHONGCHUAN.0 + 0.01, CHONGCHUAN.1), "C03"), &[]);
    assert_eq!(next.status, 201, "{}", next.body);
    let stored = call("GET", &suite.url(&format!("/v1/events/{id}")), OPERATOR_KEY, None).json();
    assert_eq!(stored["status"], "accepted", "taken along by the next request: {stored}");
    assert_eq!(suite.count("case_routing", "cases"), 2, "the queued event's and the next request's");
}

/// An event that waited in the queue and then turns out unacceptable is not dropped:
/// it is kept as `rejected`, its problem the answer every retry of it gets.
#[test]
fn an_event_found_unacceptable_on_a_retry_is_kept_as_rejected_with_its_problem() {
    let suite = start_city("intake-rejected-on-retry", &[("jurisdiction", "320613")]);
    // Where it is cannot be known while grid-lookup is down: it waits.
    suite.app.app.set_reachable("grid-lookup", false);
    let idempotency = [("idempotency-key", "rudong-1")];
    let queued = post(&suite, OPERATOR_KEY, &resident_event(RUDONG, "B05"), &idempotency);
    assert_eq!(queued.status, 202, "{}", queued.body);
    let id = queued.json()["event_id"].as_str().unwrap().to_owned();
    suite.app.app.set_reachable("grid-lookup", true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = call("POST", &suite.url("/v1/events/retry-pending?limit=10"), OPERATOR_KEY, None).json();
        if r["pending"] == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still pending: {r}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let stored = call("GET", &suite.url(&format!("/v1/events/{id}")), OPERATOR_KEY, None).json();
    assert_eq!(stored["status"], "rejected", "{stored}");
    assert_eq!(stored["answer"]["code"], "outside_jurisdiction", "{stored}");
    assert_eq!(suite.count("case_routing", "cases"), 0);
    // The same request again gets that problem, and nothing new is made.
    let again = post(&suite, OPERATOR_KEY, &resident_event(RUDONG, "B05"), &idempotency);
    assert_eq!((again.status, again.json()["code"].as_str()), (422, Some("outside_jurisdiction")), "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(suite.count("intake", "events"), 1, "the one event, kept as rejected");
}

#[test]
fn stopping_case_routing_mid_run_loses_and_doubles_nothing() {
    let suite = start_city("intake-mid-run", &[]);
    let url = suite.url("/v1/events");
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let accepted_ids = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for client in 0..4 {
            let (url, sent, ids) = (&url, &sent, &accepted_ids);
            s.spawn(move || {
                for i in 0..15 {
                    // Spread over distinct points and categories: no duplicates to merge.
                    let point = (CHONGCHUAN.0 + 0.003 * f64::from(client), CHONGCHUAN.1 + 0.003 * f64::from(i));
                    let body = resident_event(point, "C03").to_string();
                    let auth = bearer(OPERATOR_KEY);
                    let r = request(
                        "POST",
                        url,
                        &[("authorization", &auth), ("content-type", "application/json")],
                        Some(body.as_bytes()),
                    );
                    assert!(matches!(r.status, 201 | 202), "{} {}", r.status, r.body);
                    sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    ids.lock().unwrap().push(r.json()["event_id"].as_str().unwrap().to_owned());
                }
            });
        }
        // Stop case-routing for a while in the middle of the run.
        s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(150));
            suite.app.app.set_reachable("case-routing", false);
            std::thread::sleep(std::time::Duration::from_millis(400));
            suite.app.app.set_reachable("case-routing", true);
        });
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while call("POST", &suite.url("/v1/events/retry-pending?limit=100"), OPERATOR_KEY, None).json()["pending"] != 0 {
        assert!(std::time::Instant::now() < deadline, "the queue did not drain");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let sent = sent.into_inner();
    let ids = accepted_ids.into_inner().unwrap();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    // 4 clients × 15 events each = 60, every one answered with its own id.
    assert_eq!((sent, distinct.len()), (60, 60));
    assert_eq!(suite.count("intake", "events"), 60, "none lost");
    assert_eq!(suite.count("case_routing", "cases"), 60, "none doubled, none missing");
    let ids_of = |label: &str, sql: &str| -> std::collections::BTreeSet<String> {
        suite.sql(label, sql, &[]).rows.iter().filter_map(|r| r[0].as_str().map(str::to_owned)).collect()
    };
    let cases = ids_of("case_routing", "SELECT id FROM cases");
    let events_cases = ids_of("intake", "SELECT case_id FROM events WHERE case_id IS NOT NULL");
    assert_eq!(cases.difference(&events_cases).count(), 0, "every case is an event's");
}
