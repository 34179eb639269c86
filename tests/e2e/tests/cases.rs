//! Cases through case-routing — made by the internal route, acted on
//! with authorization and optimistic concurrency, read masked, with a verifiable log.

use serde_json::{Value, json};
use wangge_e2e::*;

fn start_cases(test: &str) -> Suite {
    let mut options = options(test, &[]);
    options.manifest = workspace_root().join("tests/e2e/fixtures/cases.toml");
    let suite = start_with(options);
    suite.load_reference();
    suite
}

/// Makes a case the way intake will: through service chaining to `/internal/cases`.
fn make(suite: &Suite, id: &str, source: &str, category: &str, reporter_staff: Option<&str>) -> Reply {
    let body = json!({
        "id": id,
        "source": source,
        "reporter_staff_id": reporter_staff,
        "reporter": {"name": "张三丰", "phone": "13900000009"},
        "category": category,
        // Each case its own spot, so that none is merged as another's duplicate.
        "lng": 120.86 + 0.001 * f64::from(id.bytes().map(u32::from).sum::<u32>() % 500), "lat": 32.01,
        "responsible_grid": "320613001001001",
        "comprehensive_grid": "320613001001001",
        "community": "320613001001",
        "discovered_at": "2026-11-27T07:00:00Z",
        "reported_at": "2026-11-27T08:00:00Z",
        "description": "楼道堆放杂物",
        // Every field of wangge_cases::api::NewCase is sent, as null or empty when it does not apply.
        "attachments": [],
        "external_ref": null,
        "staff": [
            {"staff_id": "S000002", "role": "grid_worker", "grid_code": "320613001001001"},
            {"staff_id": "S000001", "role": "grid_head", "grid_code": ""}
        ],
        "triage": null
    });
    request(
        "POST",
        &suite.url("/driver/outbound-post?url=http://case-routing.spin.internal/internal/cases"),
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

fn act(suite: &Suite, id: &str, body: Value, if_match: Option<i64>) -> Reply {
    let auth = bearer(OPERATOR_KEY);
    let tag = if_match.map(|v| format!("\"{v}\""));
    let mut headers = vec![("authorization", auth.as_str()), ("content-type", "application/json")];
    if let Some(tag) = &tag {
        headers.push(("if-match", tag.as_str()));
    }
    request("POST", &suite.url(&format!("/v1/cases/{id}/actions")), &headers, Some(body.to_string().as_bytes()))
}

#[test]
fn intake_makes_cases_internally_and_grid_staff_reports_are_routed_to_the_grid() {
    let suite = start_cases("cases-create");
    let made = make(&suite, "01900000-0000-7000-8000-000000000001", "grid_staff", "A01", Some("S000002"));
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["state"], "assigned");
    // The internal answer carries what intake reads (wangge_cases::api::Created); the case
    // as stored is read back.
    let case = call("GET", &suite.url("/v1/cases/01900000-0000-7000-8000-000000000001"), OPERATOR_KEY, None).json();
    assert_eq!(case["state"], "assigned");
    assert_eq!(case["reported_at"], "2026-11-27T16:00:00+08:00", "stored in +08:00");
    // A01 is resolved within 5 working days of assignment.
    let assigned_at = case["assigned_at"].as_str().unwrap().replace('+', "%2B");
    let due =
        call("GET", &suite.url(&format!("/v1/calendar/deadline?start={assigned_at}&within=5wd")), OPERATOR_KEY, None);
    assert_eq!(case["resolve_due"], due.json()["deadline"]);
    // The internal route is not reachable from outside.
    assert_eq!(request("POST", &suite.url("/internal/cases"), &[], Some(b"{}")).status, 404);
    let unknown = make(&suite, "01900000-0000-7000-8000-000000000002", "resident", "ZZ9", None);
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json()["errors"][0]["code"], "unknown_category");
}

#[test]
fn actions_follow_the_lifecycle_with_etags_conflicts_and_refusals() {
    let suite = start_cases("cases-actions");
    let id = "01900000-0000-7000-8000-000000000010";
    assert_eq!(make(&suite, id, "grid_staff", "A01", Some("S000002")).status, 201);
    let got = call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None);
    let version: i64 = got.header("etag").unwrap().trim_matches('"').parse().unwrap();

    // An If-Match that is not a version is a malformed request, and changes nothing.
    let auth = bearer(OPERATOR_KEY);
    let garbled = request(
        "POST",
        &suite.url(&format!("/v1/cases/{id}/actions")),
        &[("authorization", auth.as_str()), ("content-type", "application/json"), ("if-match", "\"yesterday\"")],
        Some(json!({"action": "sign", "actor": {"kind": "staff", "id": "S000002"}}).to_string().as_bytes()),
    );
    assert_eq!((garbled.status, garbled.json()["code"].as_str()), (400, Some("malformed_request")));

    let signed = act(&suite, id, json!({"action": "sign", "actor": {"kind": "staff", "id": "S000002"}}), Some(version));
    assert_eq!((signed.status, signed.json()["state"].as_str()), (200, Some("in_progress")), "{}", signed.body);
    // A second actor who saw the same version loses, and learns the state.
    let late = act(&suite, id, json!({"action": "return", "actor": {"kind": "staff", "id": "S000001"}}), Some(version));
    assert_eq!((late.status, late.json()["code"].as_str()), (409, Some("conflict")));
    assert_eq!(late.json()["current_state"], "in_progress");
    // Not in the table: a conflict naming the state.
    let wrong = act(&suite, id, json!({"action": "accept", "actor": {"kind": "centre", "id": "320613"}}), None);
    assert_eq!((wrong.status, wrong.json()["current_state"].as_str()), (409, Some("in_progress")));
    // Someone the case does not know.
    let stranger = act(&suite, id, json!({"action": "resolve", "actor": {"kind": "staff", "id": "S999999"}}), None);
    assert_eq!((stranger.status, stranger.json()["code"].as_str()), (403, Some("actor_forbidden")));
    let bad = act(&suite, id, json!({"action": "teleport", "actor": {"kind": "staff", "id": "S000002"}}), None);
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["errors"][0]["pointer"], "/action");

    let resolved = act(
        &suite,
        id,
        json!({"action": "resolve", "actor": {"kind": "staff", "id": "S000002"}, "note": "已清理", "attachments": ["https://example.com/after.jpg"]}),
        None,
    );
    assert_eq!(resolved.json()["state"], "resolved");
    let closed = act(&suite, id, json!({"action": "verify_pass", "actor": {"kind": "centre", "id": "3206"}}), None);
    assert_eq!(closed.json()["state"], "closed");

    let log = call("GET", &suite.url(&format!("/v1/cases/{id}/log")), OPERATOR_KEY, None).json();
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["report", "accept", "assign", "sign", "resolve", "verify_pass"]);
    assert_eq!(log["verification"]["valid"], true);
    assert_eq!(log["entries"][4]["note"], "已清理");
}

/// An assignment made by an action takes its deadlines from the working calendar, as
/// `GET /v1/calendar/deadline` computes them (not from the fallback week); so does an
/// escalation straight to a department, which assigns the case to it.
#[test]
fn assignments_by_action_set_deadlines_from_the_calendar() {
    let suite = start_cases("cases-assign-deadlines");
    let id = "01900000-0000-7000-8000-000000000020";
    // A06 is handled by public security within 4 working hours and 3 working days.
    assert_eq!(make(&suite, id, "resident", "A06", None).status, 201);
    let category = call("GET", &suite.url("/v1/categories/A06"), OPERATOR_KEY, None).json();
    let department = "320613001000-public_security";
    let check = |case: &Value| {
        for (due, within) in [("respond_due", "respond_within"), ("resolve_due", "resolve_within")] {
            let start = case["assigned_at"].as_str().unwrap().replace('+', "%2B");
            let within = category[within].as_str().unwrap();
            let expected = call(
                "GET",
                &suite.url(&format!("/v1/calendar/deadline?start={start}&within={within}")),
                OPERATOR_KEY,
                None,
            )
            .json();
            assert_eq!(case[due], expected["deadline"], "{due}: {case}");
            assert_eq!(case["deadline_fallback"], expected["calendar_fallback"], "{case}");
        }
    };
    let accepted = act(&suite, id, json!({"action": "accept", "actor": {"kind": "centre", "id": "3206"}}), None);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let assigned = act(
        &suite,
        id,
        json!({"action": "assign", "actor": {"kind": "centre", "id": "3206"}, "target": {"kind": "department", "code": department}}),
        None,
    );
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    check(&assigned.json());
    let escalated = act(
        &suite,
        id,
        json!({"action": "escalate", "actor": {"kind": "department", "id": department}, "target": {"kind": "department", "code": department}}),
        None,
    );
    assert_eq!(escalated.status, 200, "{}", escalated.body);
    check(&escalated.json());
}

/// Holds `label`'s database as another process would, for `ms`: `reads` locks out
/// readers too (as the last connection does while it checkpoints the WAL on close);
/// otherwise only writers. Returns once the lock is held.
fn hold_lock(suite: &Suite, label: &str, reads: bool, ms: u64) -> std::thread::JoinHandle<()> {
    let db = suite.database(label);
    let (held, wait) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        if reads {
            db.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; SELECT count(*) FROM cases;").unwrap();
        } else {
            db.execute_batch("BEGIN IMMEDIATE").unwrap();
        }
        held.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        db.execute_batch("COMMIT").unwrap();
    });
    wait.recv().unwrap();
    handle
}

/// A database that another connection holds locked is waited for, up to 5 s: a
/// request that meets a lock held for a moment succeeds; one that meets it for longer
/// is a 503 `storage_unavailable` with `Retry-After`, and nothing changes.
#[test]
fn a_locked_database_is_waited_for_up_to_5_s_then_a_503() {
    if !runs_on(
        Profile::Embedded,
        "SQLite's file locks; on PostgreSQL writers lock rows, raced in tests/e2e/tests/replicas.rs",
    ) {
        return;
    }
    let suite = start_cases("cases-locked");
    let id = "01900000-0000-7000-8000-000000000030";
    assert_eq!(make(&suite, id, "grid_staff", "A01", Some("S000002")).status, 201);
    let comment = json!({"action": "comment", "actor": {"kind": "centre", "id": "3206"}, "note": "已知悉"});
    let version = |suite: &Suite| -> i64 {
        suite.sql_i64("case_routing", "SELECT version FROM cases WHERE id = ?", &[id.into()])
    };

    let writer = hold_lock(&suite, "case_routing", false, 300);
    let commented = act(&suite, id, comment.clone(), None);
    assert_eq!(commented.status, 200, "{}", commented.body);
    writer.join().unwrap();

    let everyone = hold_lock(&suite, "case_routing", true, 300);
    let read = call("GET", &suite.url(&format!("/v1/cases/{id}")), OPERATOR_KEY, None);
    assert_eq!(read.status, 200, "{}", read.body);
    everyone.join().unwrap();

    let before = version(&suite);
    let writer = hold_lock(&suite, "case_routing", false, 6_000);
    let refused = act(&suite, id, comment, None);
    assert_eq!(
        (refused.status, refused.json()["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{}",
        refused.body
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    writer.join().unwrap();
    assert_eq!(version(&suite), before, "nothing changed");
}

#[test]
fn an_edited_log_row_fails_verification_at_that_entry() {
    let suite = start_cases("cases-tamper");
    let id = "01900000-0000-7000-8000-000000000020";
    assert_eq!(make(&suite, id, "grid_staff", "A01", Some("S000002")).status, 201);
    // The append-only trigger dropped first, as someone with the database's keys could.
    let drop_trigger = match profile() {
        Profile::Embedded => "DROP TRIGGER case_log_is_append_only_update",
        Profile::Cluster => "DROP TRIGGER case_log_is_append_only_update ON case_log",
    };
    suite.sql("case_routing", drop_trigger, &[]);
    suite.sql(
        "case_routing",
        "UPDATE case_log SET entry = replace(entry, '\"system\"', '\"S000001\"') WHERE case_id = ? AND seq = 2",
        &[id.into()],
    );
    let log = call("GET", &suite.url(&format!("/v1/cases/{id}/log")), OPERATOR_KEY, None).json();
    assert_eq!(log["verification"]["valid"], false);
    assert_eq!(log["verification"]["broken_at_seq"], 2, "the entry edited above: seq 2, routing's accept");
}

#[test]
fn reporters_are_masked_except_for_the_handling_centre_and_lists_filter_and_page() {
    let suite = start_cases("cases-read");
    for i in 0..5 {
        let category = if i % 2 == 0 { "A01" } else { "A07" };
        assert_eq!(
            make(&suite, &format!("01900000-0000-7000-8000-00000000010{i}"), "resident", category, None).status,
            201
        );
    }
    let first = "01900000-0000-7000-8000-000000000100";
    let full = call("GET", &suite.url(&format!("/v1/cases/{first}")), OPERATOR_KEY, None).json();
    assert_eq!(full["reporter"]["phone"], "13900000009", "the operator acts for every region");
    let key = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "观察", "scopes": ["cases:read"], "region_prefix": "320613"})),
    )
    .json();
    let reader = key["token"].as_str().unwrap().to_owned();
    let masked = call("GET", &suite.url(&format!("/v1/cases/{first}")), &reader, None).json();
    assert_eq!(masked["reporter"], json!({"name": "张**", "phone": "139****0009"}));
    let other = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({"name": "别区", "scopes": ["cases:read"], "region_prefix": "320612"})),
    )
    .json();
    let outsider = other["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call("GET", &suite.url(&format!("/v1/cases/{first}")), &outsider, None).json()["code"],
        "region_forbidden"
    );
    let cannot_act = act_with(&suite, first, &reader);
    assert_eq!(cannot_act.json()["code"], "scope_missing");

    // Urgent A07 cases went straight to the police station; the others wait.
    let assigned = call("GET", &suite.url("/v1/cases?status=assigned"), OPERATOR_KEY, None).json();
    assert_eq!(assigned["items"].as_array().unwrap().len(), 2, "i = 1 and 3 of the five: urgent A07");
    let waiting = call("GET", &suite.url("/v1/cases?status=reported&category=A01"), OPERATOR_KEY, None).json();
    assert_eq!(waiting["items"].as_array().unwrap().len(), 3, "i = 0, 2 and 4: A01 from residents");
    let mut seen = Vec::new();
    let mut url = "/v1/cases?region=320613&limit=2".to_owned();
    loop {
        let page = call("GET", &suite.url(&url), OPERATOR_KEY, None).json();
        seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/cases?region=320613&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "all five cases are in 320613, two a page");
    assert_eq!(
        call("GET", &suite.url("/v1/cases?status=lost"), OPERATOR_KEY, None).json()["code"],
        "invalid_parameter"
    );
    let window = call(
        "GET",
        &suite.url("/v1/cases?from=2026-11-27T16:00:00%2B08:00&to=2026-11-27T16:00:01%2B08:00"),
        OPERATOR_KEY,
        None,
    )
    .json();
    assert_eq!(window["items"].as_array().unwrap().len(), 5, "all five were reported at 16:00:00 +08:00");
}

fn act_with(suite: &Suite, id: &str, key: &str) -> Reply {
    call(
        "POST",
        &suite.url(&format!("/v1/cases/{id}/actions")),
        key,
        Some(&json!({"action": "comment", "actor": {"kind": "reporter"}})),
    )
}

fn outbox(suite: &Suite) -> Vec<(String, String, String)> {
    let rows = suite.sql(
        "notification",
        "SELECT kind, recipient_kind, recipient_id FROM outbox ORDER BY created_at, idempotency_key",
        &[],
    );
    let text = |v: &wangge_core::SqlValue| v.as_str().unwrap_or_default().to_owned();
    rows.rows.iter().map(|r| (text(&r[0]), text(&r[1]), text(&r[2]))).collect()
}

#[test]
fn feedback_and_assignments_reach_notifications_outbox() {
    let suite = start_cases("cases-feedback");
    let id = "01900000-0000-7000-8000-000000000030";
    assert_eq!(make(&suite, id, "grid_staff", "A01", Some("S000002")).status, 201);
    let mut kinds: Vec<String> = outbox(&suite).into_iter().map(|(k, _, _)| k).collect();
    kinds.sort();
    assert_eq!(kinds, ["assignment", "case_accepted"]);
    let sent = suite.sql_i64("case_routing", "SELECT count(*) FROM case_notices WHERE delivered_at IS NOT NULL", &[]);
    assert_eq!(sent, 2, "both notices above, handed to notification");
}

#[test]
fn the_sweep_supervises_through_the_outbox_once() {
    let suite = start_cases("cases-sweep");
    // A case assigned a month ago, made directly in case-routing's database with the same
    // code, so its deadlines have long passed.
    case_reported_days_ago(&suite.store("case_routing"), "01900000-0000-7000-8000-000000000040", 30);
    let sweep = call("POST", &suite.url("/v1/cases/sweep?limit=100"), OPERATOR_KEY, None);
    assert_eq!(sweep.status, 200, "{}", sweep.body);
    let report = sweep.json();
    assert_eq!((report["handled"].as_i64(), report["escalated"].as_i64()), (Some(1), Some(1)), "the one old case");
    assert_eq!(report["supervision_notices"], 4, "respond and resolve, each to the grid and its grid head");
    assert_eq!(report["notices_pending"], 0);
    let first = outbox(&suite);
    assert!(first.contains(&("supervision".into(), "staff".into(), "S000001".into())));
    assert!(first.iter().any(|(k, _, _)| k == "escalation"));
    // Running it again sends nothing twice.
    let again = call("POST", &suite.url("/v1/cases/sweep"), OPERATOR_KEY, None).json();
    assert_eq!((again["supervision_notices"].as_i64(), again["escalated"].as_i64()), (Some(0), Some(0)));
    assert_eq!(outbox(&suite), first);
    assert_eq!(
        call("POST", &suite.url("/v1/cases/sweep?limit=0"), OPERATOR_KEY, None).json()["code"],
        "invalid_parameter"
    );
}

#[test]
fn facts_stream_as_ndjson_through_service_chaining() {
    let suite = start_cases("cases-facts");
    assert_eq!(make(&suite, "01900000-0000-7000-8000-000000000050", "grid_staff", "A01", Some("S000002")).status, 201);
    assert_eq!(make(&suite, "01900000-0000-7000-8000-000000000051", "resident", "A07", None).status, 201);
    let facts = |from: &str, to: &str| -> Vec<Value> {
        // `+` and `&` are encoded twice: once for the internal URL, once to pass it to the driver.
        let url = format!(
            "http://case-routing.spin.internal/internal/facts?from={}%26to={}",
            from.replace('+', "%252B"),
            to.replace('+', "%252B")
        );
        let r = get(&suite.url(&format!("/driver/outbound?url={url}")));
        let body = r.json()["result"]["body"].as_str().unwrap_or_default().to_owned();
        body.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let lines = facts("2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00");
    assert_eq!(lines.len(), 3, "the two cases made above, then the trailer: {lines:?}");
    assert_eq!(lines[2], json!({"end": true, "cases": 2}));
    assert_eq!(lines[0]["reporter_is_grid_staff_of_case"], true);
    assert_eq!(lines[0]["handling_level"], "grid");
    assert_eq!(lines[1]["department"], "320613001000-public_security");
    assert_eq!(lines[1]["source"], "resident");
    let none = facts("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00");
    assert_eq!(none.len(), 1 + 2, "open cases stay in later periods: {none:?}");
    let before = facts("2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00");
    assert_eq!(before, [json!({"end": true, "cases": 0})], "reported after the period");
}

#[test]
fn lists_filter_by_traffic_light() {
    let suite = start_cases("cases-light");
    // One case assigned a month ago (red), one just now (green).
    wangge_e2e::synthetic::generate_cases(
        &suite.store("case_routing"),
        1,
        wangge_core::time::now_utc() - chrono::Duration::days(30),
        0,
        true,
    );
    assert_eq!(make(&suite, "01900000-0000-7000-8000-000000000090", "grid_staff", "A01", Some("S000002")).status, 201);
    let ids = |light: &str| -> Vec<String> {
        let page = call("GET", &suite.url(&format!("/v1/cases?light={light}")), OPERATOR_KEY, None).json();
        page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids("red"), ["01900000-0000-7000-8000-000000000000"]);
    assert_eq!(ids("green"), ["01900000-0000-7000-8000-000000000090"]);
    assert!(ids("yellow").is_empty());
    assert_eq!(call("GET", &suite.url("/v1/cases?light=purple"), OPERATOR_KEY, None).json()["parameter"], "light");
}

#[test]
fn the_outbox_takes_each_key_once_and_at_most_500_messages_a_call() {
    let suite = start_cases("cases-outbox");
    let enqueue = |messages: Vec<Value>| {
        request(
            "POST",
            &suite.url("/driver/outbound-post?url=http://notification.spin.internal/internal/enqueue"),
            &[("content-type", "application/json")],
            Some(json!({ "messages": messages }).to_string().as_bytes()),
        )
    };
    // The outbox's message, every field present (wangge_notify::api::Message).
    let message = |key: &str| {
        json!({"idempotency_key": key, "kind": "reminder", "case_id": null, "region": "320613001001",
        "recipient": {"kind": "staff", "id": "S000002", "phone": null, "wechat_openid": null}, "urgency": "normal", "payload": {}})
    };
    let first = enqueue(vec![message("k1"), message("k2")]);
    assert_eq!((first.json()["enqueued"].as_i64(), first.json()["duplicates"].as_i64()), (Some(2), Some(0)), "k1, k2");
    let again = enqueue(vec![message("k2"), message("k3")]);
    assert_eq!(
        (again.json()["enqueued"].as_i64(), again.json()["duplicates"].as_i64()),
        (Some(1), Some(1)),
        "k3 new, k2 again"
    );
    let too_many = enqueue((0..501).map(|i| message(&format!("m{i}"))).collect());
    assert_eq!(too_many.status, 422);
    // A message from a mismatched build, with a field renamed or missing, is refused whole.
    let mut renamed = message("k4");
    renamed["regoin"] = renamed["region"].take();
    renamed.as_object_mut().unwrap().remove("region");
    let refused = enqueue(vec![message("k5"), renamed]);
    assert_eq!((refused.status, refused.json()["code"].as_str()), (422, Some("validation_failed")), "{}", refused.body);
    assert_eq!(outbox(&suite).len(), 3, "k1, k2 and k3; the refused calls added nothing");
}
