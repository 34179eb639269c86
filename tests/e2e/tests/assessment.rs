//! Assessment — the README's worked example, from reports through the running
//! suite to scores, deductions, rankings and the export; reruns are byte-identical.

use serde_json::{Value, json};
use wangge_e2e::*;

/// In grid 320613001001001, community 320613001001 (six comprehensive grids and one dedicated).
const P: (f64, f64) = (120.802356, 32.138927);
const GRID: &str = "320613001001001";
const COMMUNITY: &str = "320613001001";

fn event(suite: &Suite, body: Value) -> String {
    let r = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["case_id"].as_str().unwrap().to_owned()
}

fn this_month() -> String {
    chrono::Utc::now().with_timezone(&wangge_core::time::shanghai()).format("%Y-%m").to_string()
}

#[test]
fn the_worked_example_one_community_one_month() {
    let suite = start_city("assessment-example", &[]);
    let located =
        call("GET", &suite.url(&format!("/v1/grids/locate?lng={}&lat={}", P.0, P.1)), OPERATOR_KEY, None).json();
    assert_eq!(located["responsible"]["code"], GRID);
    let worker = located["staff"].as_array().unwrap().iter().find(|s| s["role"] == "grid_worker").unwrap()["staff_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now();
    let location = json!({ "lng": P.0, "lat": P.1 });
    // 1. A resident reports exposed rubbish (B05, eco-environment): 应发现未发现, 2 points.
    event(
        &suite,
        json!({ "source": "resident", "reporter": { "phone": "13800000001" }, "category": "B05", "description": "垃圾", "location": location }),
    );
    // 2. A resident reports an early sign of a collective incident (A07, public safety,
    //    urgent): 应发现未发现, 2 points doubled.
    event(
        &suite,
        json!({ "source": "resident", "reporter": { "phone": "13800000002" }, "category": "A07", "description": "聚集", "location": location }),
    );
    // 3. The grid worker reports clutter (C05, urban and rural construction) 30 hours after
    //    finding it, past its 24 h: 应上报未上报, 1 point.
    let found = wangge_core::time::render(now - chrono::Duration::hours(30));
    event(
        &suite,
        json!({ "source": "grid_staff", "reporter": { "staff_id": worker }, "category": "C05", "description": "乱堆", "location": location, "discovered_at": found }),
    );
    // 4. The grid worker reports flyers (C07) at once; the grid resolves them, the centre
    //    finds it not done: 返工, 1 point.
    let found = wangge_core::time::render(now - chrono::Duration::minutes(10));
    let flyers = event(
        &suite,
        json!({ "source": "grid_staff", "reporter": { "staff_id": worker }, "category": "C07", "description": "小广告", "location": location, "discovered_at": found }),
    );
    for (action, actor) in [
        ("sign", json!({ "kind": "staff", "id": worker })),
        ("resolve", json!({ "kind": "staff", "id": worker })),
        ("verify_fail", json!({ "kind": "centre", "id": "3206" })),
    ] {
        let r = call(
            "POST",
            &suite.url(&format!("/v1/cases/{flyers}/actions")),
            OPERATOR_KEY,
            Some(&json!({ "action": action, "actor": actor })),
        );
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }

    let month = this_month();
    let run = call("POST", &suite.url(&format!("/v1/assessments/{month}/run")), OPERATOR_KEY, None);
    assert_eq!(run.status, 200, "{}", run.body);
    let first = run.json();
    assert_eq!(first["rules_version"], 0, "the defaults of docs/assessment.md");
    assert!(first["progress"].as_array().unwrap().len() >= 3);

    let grid = call("GET", &suite.url(&format!("/v1/assessments/{month}/grids/{GRID}")), OPERATOR_KEY, None).json();
    // public safety 100 − 4 = 96, eco-environment 100 − 2 = 98, urban and rural construction
    // 100 − 1 − 1 = 98, the other four 100: 0.2·96 + 0.15·98 + 0.15·98 + 0.15·100 + 0.1·100
    // + 0.15·100 + 0.1·100 = 98.60.
    assert_eq!(grid["grid"]["score"], 98.6, "{grid}");
    assert_eq!(grid["grid"]["grade"], "A");
    let subs = &grid["grid"]["sub_scores"];
    assert_eq!(
        (subs["public_safety"].as_f64(), subs["eco_environment"].as_f64(), subs["urban_rural_construction"].as_f64()),
        (Some(96.0), Some(98.0), Some(98.0))
    );
    let mut lost: Vec<(String, f64)> = grid["deductions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                format!("{}:{}", d["rule"].as_str().unwrap(), d["domain"].as_str().unwrap()),
                d["points"].as_f64().unwrap(),
            )
        })
        .collect();
    lost.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        lost,
        [
            ("late_report:urban_rural_construction".to_owned(), 1.0),
            ("missed_discovery:eco_environment".to_owned(), 2.0),
            ("missed_discovery:public_safety".to_owned(), 4.0),
            ("rework:urban_rural_construction".to_owned(), 1.0),
        ]
    );
    // 1 + 2 + 4 + 1 = 8, the four deductions above.
    assert_eq!(grid["points_lost"], 8.0, "the deductions add up to what the score lost, domain by domain");

    // The community: the mean of its six comprehensive grids, the dedicated one left out:
    // (98.6 + 5 × 100) / 6 = 99.7667 → 99.77.
    let community =
        call("GET", &suite.url(&format!("/v1/assessments/{month}/regions/{COMMUNITY}")), OPERATOR_KEY, None).json();
    assert_eq!(community["region"]["score"], 99.77, "{community}");
    let members = community["members"].as_array().unwrap();
    assert_eq!(members.len(), 6, "its six comprehensive grids, …001 to …006");
    assert_eq!(members.last().unwrap()["code"], GRID, "ranked last of its community's grids");
    // Among the communities of its town, tied ones share a rank (competition ranking).
    let town = "320613001000";
    let ranking = call(
        "GET",
        &suite.url(&format!("/v1/assessments/{month}/rankings?level=community&parent={town}")),
        OPERATOR_KEY,
        None,
    )
    .json();
    let items = ranking["items"].as_array().unwrap();
    let ours = items.iter().find(|i| i["code"] == COMMUNITY).unwrap();
    assert_eq!(ours["rank"].as_u64(), Some(items.len() as u64), "{ranking}");
    assert!(items.iter().filter(|i| i["code"] != COMMUNITY).all(|i| i["rank"] == 1));

    let stats =
        call("GET", &suite.url(&format!("/v1/assessments/{month}/statistics?region={COMMUNITY}")), OPERATOR_KEY, None)
            .json();
    // Reports 1 and 2 came from residents, 3 and 4 from the grid worker.
    assert_eq!(stats["counts"]["reported"]["resident"], 2);
    assert_eq!(stats["counts"]["reported"]["grid_staff"], 2);
    assert_eq!(
        (stats["counts"]["missed_discovery"].as_u64(), stats["counts"]["late_report"].as_u64()),
        (Some(2), Some(1)),
        "reports 1 and 2 missed, report 3 late"
    );
    assert_eq!(
        call("GET", &suite.url(&format!("/v1/assessments/{month}/departments")), OPERATOR_KEY, None).status,
        200
    );

    // Excel opens the export cleanly: UTF-8 with a BOM, Chinese headers.
    let csv =
        call("GET", &suite.url(&format!("/v1/assessments/{month}/export.csv?level=community")), OPERATOR_KEY, None);
    assert!(csv.body.starts_with("\u{feff}周期,层级,代码"), "{}", &csv.body[..40]);
    assert!(csv.body.contains(&format!("{COMMUNITY},{town},99.77,A,")));

    // The same facts and rules again: byte-identical results, and it says so.
    let again = call("POST", &suite.url(&format!("/v1/assessments/{month}/run")), OPERATOR_KEY, None).json();
    assert_eq!((again["identical"].as_bool(), &again["result_sha256"]), (Some(true), &first["result_sha256"]));
}

#[test]
fn rules_are_validated_versioned_and_recorded_with_each_result() {
    let suite = start_city("assessment-rules", &[]);
    let current = call("GET", &suite.url("/v1/assessments/rules"), OPERATOR_KEY, None).json();
    assert_eq!(current["version"], 0, "no rules stored yet: the defaults");
    let mut rules = current["rules"].clone();
    rules["default_weights"]["public_safety"] = json!(0.3);
    let refused = call("PUT", &suite.url("/v1/assessments/rules"), OPERATOR_KEY, Some(&rules));
    assert_eq!((refused.status, refused.json()["errors"][0]["code"].as_str()), (422, Some("weights_sum")));
    rules["default_weights"]["public_safety"] = json!(0.2);
    rules["points"]["rework"] = json!(-1);
    let refused = call("PUT", &suite.url("/v1/assessments/rules"), OPERATOR_KEY, Some(&rules));
    assert_eq!(refused.json()["errors"][0]["pointer"], "/points/rework");
    rules["points"]["rework"] = json!(3);
    let made = call("PUT", &suite.url("/v1/assessments/rules"), OPERATOR_KEY, Some(&rules));
    assert_eq!((made.status, made.json()["version"].as_i64()), (201, Some(1)), "the first stored version");
    let same = call("PUT", &suite.url("/v1/assessments/rules"), OPERATOR_KEY, Some(&rules));
    assert_eq!((same.status, same.json()["changed"].as_bool()), (200, Some(false)));
    let run = call("POST", &suite.url("/v1/assessments/2026-10/run"), OPERATOR_KEY, None).json();
    assert_eq!(
        (run["rules_version"].as_i64(), &run["rules_sha256"]),
        (Some(1), &made.json()["sha256"]),
        "the version just made"
    );
    assert_eq!(
        call("POST", &suite.url("/v1/assessments/2026-13/run"), OPERATOR_KEY, None).json()["code"],
        "invalid_parameter"
    );
    assert_eq!(
        call("GET", &suite.url("/v1/assessments/2026-09/grids/320613001001001"), OPERATOR_KEY, None).json()["code"],
        "not_found"
    );
    // A grid with no cases scores 100.
    let grid = call("GET", &suite.url("/v1/assessments/2026-10/grids/320613001001001"), OPERATOR_KEY, None).json();
    assert_eq!(grid["grid"]["score"], 100.0);
}

/// One action on a case, which must be allowed.
fn act(suite: &Suite, case: &str, body: Value) {
    let r = call("POST", &suite.url(&format!("/v1/cases/{case}/actions")), OPERATOR_KEY, Some(&body));
    assert_eq!(r.status, 200, "{body}: {}", r.body);
}

fn run_month(suite: &Suite, month: &str) {
    let run = call("POST", &suite.url(&format!("/v1/assessments/{month}/run")), OPERATOR_KEY, None);
    assert_eq!(run.status, 200, "{}", run.body);
}

/// `(rule, case_id)` of every deduction of GRID in `month` (already run).
fn deductions_of_grid(suite: &Suite, month: &str) -> Vec<(String, String)> {
    let grid = call("GET", &suite.url(&format!("/v1/assessments/{month}/grids/{GRID}")), OPERATOR_KEY, None).json();
    grid["deductions"]
        .as_array()
        .unwrap_or_else(|| panic!("{grid}"))
        .iter()
        .map(|d| (d["rule"].as_str().unwrap().to_owned(), d["case_id"].as_str().unwrap().to_owned()))
        .collect()
}

/// In grid GRID, as the address dictionary resolves it.
const GRID_ADDRESS: &str = "江苏省南通市崇川区新江街道建设街24号";

/// One 12345 hotline order about rubbish (B05, discoverable) at GRID_ADDRESS; its case id
/// (for a merged order, the case it made before it joined another).
fn hotline_order(suite: &Suite, no: &str, received_at: &str) -> Value {
    let order = json!({
        "order_no": no, "request_type": "投诉", "caller": { "name": "赵六", "phone": "13700001111" },
        "address": GRID_ADDRESS, "content": "小区门口垃圾堆积无人清理", "received_at": received_at,
        "category_hint": "B05"
    });
    let r = call("POST", &suite.url("/v1/hotline/work-orders"), OPERATOR_KEY, Some(&json!({ "orders": [order] })));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["results"][0].clone()
}

/// A department resolves an urgent case on time, the centre closes it, and the
/// reporter's dissatisfied rating reopens it: the department's KPI for the month the
/// case was due counts it due, on time and reworked, but not closed.
#[test]
fn a_case_reopened_by_its_rating_is_not_closed_in_its_departments_kpi() {
    let suite = start_city("assessment-reopened", &[]);
    // A07 (群体性事件苗头) is urgent: accepted at once and assigned to the town's public security.
    let case = event(
        &suite,
        json!({ "source": "resident", "reporter": { "phone": "13800000003" }, "category": "A07", "description": "聚集", "location": { "lng": P.0, "lat": P.1 } }),
    );
    let read = call("GET", &suite.url(&format!("/v1/cases/{case}")), OPERATOR_KEY, None).json();
    assert_eq!(read["assignee_kind"], "department", "{read}");
    let department = read["assignee"].as_str().unwrap().to_owned();
    let by_department = json!({ "kind": "department", "id": department });
    act(&suite, &case, json!({ "action": "sign", "actor": by_department }));
    act(&suite, &case, json!({ "action": "resolve", "actor": by_department }));
    act(&suite, &case, json!({ "action": "verify_pass", "actor": { "kind": "centre", "id": "3206" } }));
    act(&suite, &case, json!({ "action": "rate_dissatisfied", "actor": { "kind": "reporter" } }));
    let reopened = call("GET", &suite.url(&format!("/v1/cases/{case}")), OPERATOR_KEY, None).json();
    assert_eq!((reopened["state"].as_str(), &reopened["closed_at"]), (Some("in_progress"), &Value::Null));
    // The KPI belongs to the month the case is due (24 h on, in +08:00).
    let month = reopened["resolve_due"].as_str().unwrap()[..7].to_owned();
    run_month(&suite, &month);
    let kpis = call("GET", &suite.url(&format!("/v1/assessments/{month}/departments")), OPERATOR_KEY, None).json();
    let ours = kpis["items"].as_array().unwrap().iter().find(|d| d["department"] == department.as_str()).cloned();
    let ours = ours.unwrap_or_else(|| panic!("{kpis}"));
    // One case due, resolved on time, reopened: closure 0 of 1, on time 1 of 1, rework 1 of 1.
    assert_eq!(ours["due"], 1, "{ours}");
    assert_eq!(
        (ours["on_time_rate"].as_f64(), ours["closure_rate"].as_f64(), ours["rework_rate"].as_f64()),
        (Some(1.0), Some(0.0), Some(1.0)),
        "{ours}"
    );
}

/// A hotline order received on 31 October 23:50 (+08:00) joins the case an order of
/// 1 November 00:10 made: the case was first reported in October, so October's run
/// has its missed discovery (应发现未发现) and November's does not, although the case's
/// own report is November's (and, in UTC, October's too: 31 Oct 16:10).
#[test]
fn a_case_whose_first_report_merged_in_from_october_is_octobers_missed_discovery() {
    let suite = start_city("assessment-first-report", &[]);
    let later = hotline_order(&suite, "GD-1101", "2026-11-01T00:10:00+08:00");
    let root = later["case_id"].as_str().unwrap_or_else(|| panic!("{later}")).to_owned();
    let earlier = hotline_order(&suite, "GD-1031", "2026-10-31T23:50:00+08:00");
    assert_eq!(
        earlier["merged_into"].as_str(),
        Some(root.as_str()),
        "the earlier order joins the open case: {earlier}"
    );

    run_month(&suite, "2026-10");
    let october = deductions_of_grid(&suite, "2026-10");
    assert_eq!(october, [("missed_discovery".to_owned(), root.clone())], "October: its first report");
    run_month(&suite, "2026-11");
    let november = deductions_of_grid(&suite, "2026-11");
    assert!(!november.iter().any(|(rule, _)| rule == "missed_discovery"), "not twice: {november:?}");
}

/// A rework (返工) on 2 November on a case first reported, resolved and closed in
/// October is November's: the reporter's dissatisfied rating reopened it. The actions
/// run on the server's clock; the case's times are then set to that story on its row.
#[test]
fn a_rework_in_november_on_a_case_reported_in_october_is_novembers() {
    let suite = start_city("assessment-rework-month", &[]);
    let located =
        call("GET", &suite.url(&format!("/v1/grids/locate?lng={}&lat={}", P.0, P.1)), OPERATOR_KEY, None).json();
    let worker = located["staff"].as_array().unwrap().iter().find(|s| s["role"] == "grid_worker").unwrap()["staff_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = hotline_order(&suite, "GD-1005", "2026-10-05T09:00:00+08:00");
    let case = made["case_id"].as_str().unwrap_or_else(|| panic!("{made}")).to_owned();
    let centre = json!({ "kind": "centre", "id": "3206" });
    let staff = json!({ "kind": "staff", "id": worker });
    act(&suite, &case, json!({ "action": "accept", "actor": centre }));
    act(&suite, &case, json!({ "action": "assign", "actor": centre, "target": { "kind": "grid", "code": GRID } }));
    act(&suite, &case, json!({ "action": "sign", "actor": staff }));
    act(&suite, &case, json!({ "action": "resolve", "actor": staff }));
    act(&suite, &case, json!({ "action": "verify_pass", "actor": centre }));
    act(&suite, &case, json!({ "action": "rate_dissatisfied", "actor": { "kind": "reporter" } }));
    // The story: assigned 5 Oct, due 12 Oct, resolved 9 Oct, closed 28 Oct, reopened
    // 2 Nov. A time the row does not hold (a cleared closure) stays cleared.
    let changed = suite.sql(
        "case_routing",
        "UPDATE cases SET assigned_at = '2026-10-05T10:00:00+08:00', respond_due = '2026-10-05T14:00:00+08:00', \
         resolve_due = '2026-10-12T17:30:00+08:00', first_resolved_at = '2026-10-09T15:00:00+08:00', \
         closed_at = CASE WHEN closed_at IS NULL THEN NULL ELSE '2026-10-28T10:00:00+08:00' END, \
         reopened_at = '[\"2026-11-02T10:00:00+08:00\"]' WHERE id = ?1 RETURNING id",
        &[case.as_str().into()],
    );
    assert_eq!(changed.rows.len(), 1, "the one case's row");

    run_month(&suite, "2026-11");
    let november = deductions_of_grid(&suite, "2026-11");
    assert!(november.contains(&("rework".to_owned(), case.clone())), "{november:?}");
    let stats =
        call("GET", &suite.url(&format!("/v1/assessments/2026-11/statistics?region={COMMUNITY}")), OPERATOR_KEY, None)
            .json();
    assert_eq!(stats["counts"]["reopened"], 1, "the one reopening, on 2 November: {stats}");
    // October keeps its own: the missed discovery of a hotline report, and no rework.
    run_month(&suite, "2026-10");
    assert_eq!(deductions_of_grid(&suite, "2026-10"), [("missed_discovery".to_owned(), case)]);
}

/// Every stored run and result of assessment, in order: what a refused run must leave as it was.
fn stored_results(suite: &Suite) -> Vec<String> {
    let mut all = Vec::new();
    for (table, order) in
        [("runs", "period"), ("scores", "period, level, code"), ("deductions", "period, case_id, rule")]
    {
        let rows = suite.sql("assessment", &format!("SELECT * FROM {table} ORDER BY {order}"), &[]);
        all.extend(rows.rows.iter().map(|row| {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
            format!("{table}: {}", cells.join("|"))
        }));
    }
    all
}

/// A fact line this build cannot read (here a case whose state is no state of the
/// lifecycle, set on its row on purpose) fails the run: 503 `dependency_unavailable`,
/// and nothing stored, neither for a month run before nor for one never run.
#[test]
fn an_unreadable_fact_fails_the_run_and_stores_nothing() {
    let suite = start_city("assessment-unreadable-fact", &[]);
    let made = hotline_order(&suite, "GD-1006", "2026-10-06T09:00:00+08:00");
    let case = made["case_id"].as_str().unwrap_or_else(|| panic!("{made}")).to_owned();
    run_month(&suite, "2026-10");
    assert_eq!(deductions_of_grid(&suite, "2026-10"), [("missed_discovery".to_owned(), case.clone())]);
    let before = stored_results(&suite);
    assert!(before.iter().any(|r| r.starts_with("runs: ")), "October's run is stored: {before:?}");

    let changed = suite.sql(
        "case_routing",
        "UPDATE cases SET state = 'bogus' WHERE id = ?1 RETURNING id",
        &[case.as_str().into()],
    );
    assert_eq!(changed.rows.len(), 1, "the one case's row");
    // October again, and November, where the case (still open) is a fact too.
    for month in ["2026-10", "2026-11"] {
        let run = call("POST", &suite.url(&format!("/v1/assessments/{month}/run")), OPERATOR_KEY, None);
        assert_eq!((run.status, run.json()["code"].as_str()), (503, Some("dependency_unavailable")), "{}", run.body);
        assert_eq!(stored_results(&suite), before, "{month}: nothing stored");
    }
    assert_eq!(deductions_of_grid(&suite, "2026-10"), [("missed_discovery".to_owned(), case)]);
    let november = call("GET", &suite.url(&format!("/v1/assessments/2026-11/grids/{GRID}")), OPERATOR_KEY, None);
    assert_eq!(november.status, 404, "never run: {}", november.body);
}
