//! Issue 7: assessment — the README's worked example, from reports through the running
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
    assert_eq!(first["rules_version"], 0, "the defaults of assessment.md");
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
    assert_eq!(grid["points_lost"], 8.0, "the deductions add up to what the score lost, domain by domain");

    // The community: the mean of its six comprehensive grids, the dedicated one left out:
    // (98.6 + 5 × 100) / 6 = 99.7667 → 99.77.
    let community =
        call("GET", &suite.url(&format!("/v1/assessments/{month}/regions/{COMMUNITY}")), OPERATOR_KEY, None).json();
    assert_eq!(community["region"]["score"], 99.77, "{community}");
    let members = community["members"].as_array().unwrap();
    assert_eq!(members.len(), 6);
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
    assert_eq!(stats["counts"]["reported"]["resident"], 2);
    assert_eq!(stats["counts"]["reported"]["grid_staff"], 2);
    assert_eq!(
        (stats["counts"]["missed_discovery"].as_u64(), stats["counts"]["late_report"].as_u64()),
        (Some(2), Some(1))
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
    assert_eq!(current["version"], 0);
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
    assert_eq!((made.status, made.json()["version"].as_i64()), (201, Some(1)));
    let same = call("PUT", &suite.url("/v1/assessments/rules"), OPERATOR_KEY, Some(&rules));
    assert_eq!((same.status, same.json()["changed"].as_bool()), (200, Some(false)));
    let run = call("POST", &suite.url("/v1/assessments/2026-10/run"), OPERATOR_KEY, None).json();
    assert_eq!((run["rules_version"].as_i64(), &run["rules_sha256"]), (Some(1), &made.json()["sha256"]));
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
