//! Replicas that agree: two or three `wangge-host` processes serving the same suite on one
//! PostgreSQL server and one Redis, as a platform team scales functions out (the cluster
//! profile). Nothing here may rest on one process: outcomes are decided in SQL, under
//! `SERIALIZABLE` transactions, row claims and unique keys.
//!
//! These run on the cluster profile only: on the embedded profile every replica would need
//! the same SQLite files, which is one machine, not a cluster.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use serde_json::{Value, json};
use wangge_e2e::replica::Replica;
use wangge_e2e::*;

const WHY: &str = "replicas share PostgreSQL and Redis; SQLite files are one machine's";
const CHONGCHUAN: (f64, f64) = (120.802356, 32.138927);

fn resident_event(point: (f64, f64), category: &str, n: u32) -> Value {
    resident_report(point, category, &format!("oWX-replica-{n}"))
}

/// `base` + `path` for replica `i` of `bases`, round robin.
fn spread(bases: &[String], i: usize, path: &str) -> String {
    format!("{}{path}", bases[i % bases.len()])
}

fn post_event(url: &str, body: &Value, idempotency_key: Option<&str>) -> Result<Reply, String> {
    let auth = bearer(OPERATOR_KEY);
    let mut headers = vec![("authorization", auth.as_str()), ("content-type", "application/json")];
    if let Some(key) = idempotency_key {
        headers.push(("idempotency-key", key));
    }
    try_request("POST", url, &headers, Some(body.to_string().as_bytes()))
}

/// Connections of the suite's database `label` left inside a transaction between requests.
fn idle_in_transaction(suite: &Suite, label: &str) -> i64 {
    let database = suite.databases[label].rsplit('/').next().unwrap_or_default().to_owned();
    shared_postgres()
        .sql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND state LIKE 'idle in transaction%'"
            ),
        )
        .parse()
        .expect("a count")
}

#[test]
fn identical_intake_retries_spread_over_replicas_make_one_case() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    let options = city_options("replicas-idempotent", &[]);
    let suite = start_with(options.clone());
    let others = [Replica::spawn(&options, "a"), Replica::spawn(&options, "b")];
    let bases: Vec<String> = [suite.url("")].into_iter().chain(others.iter().map(|r| r.url(""))).collect();
    let body = resident_event(CHONGCHUAN, "B05", 1);
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let (url, body) = (spread(&bases, i, "/v1/events"), &body);
                s.spawn(move || {
                    let r = post_event(&url, body, Some("replica-burst")).expect("a live replica");
                    (r.status, r.json())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<&str> = answers.iter().filter_map(|(_, a)| a["event_id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "twelve identical requests over three replicas, one event: {answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 202), "{answers:?}");
    assert_eq!(suite.count("intake", "events"), 1);
    assert_eq!(suite.count("case_routing", "cases"), 1);
}

#[test]
fn racing_actions_on_one_case_have_one_winner_and_the_losers_learn_the_state() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    let options = city_options("replicas-race", &[]);
    let suite = start_with(options.clone());
    let other = Replica::spawn(&options, "a");
    let bases = [suite.url(""), other.url("")];
    let made = post_event(&suite.url("/v1/events"), &resident_event(CHONGCHUAN, "B05", 2), None).unwrap();
    assert_eq!(made.status, 201, "{}", made.body);
    let case = made.json()["case_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/cases/{case}");
    let read = call("GET", &suite.url(&path), OPERATOR_KEY, None);
    let (version, state) = (read.header("etag").unwrap().to_owned(), read.json()["state"].clone());

    // Eight actors who all saw the same version act at once, on both replicas.
    let answers: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (url, version) = (spread(&bases, i, &format!("{path}/actions")), version.as_str());
                s.spawn(move || {
                    let body = json!({"action": "comment", "actor": {"kind": "centre", "id": "3206"}, "note": format!("意见{i}")});
                    let auth = bearer(OPERATOR_KEY);
                    request(
                        "POST",
                        &url,
                        &[("authorization", &auth), ("content-type", "application/json"), ("if-match", version)],
                        Some(body.to_string().as_bytes()),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<&Reply> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "one winner: {:?}", answers.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>());
    for lost in answers.iter().filter(|r| r.status != 200) {
        assert_eq!((lost.status, lost.json()["code"].as_str()), (409, Some("conflict")), "{}", lost.body);
        assert_eq!(lost.json()["current_state"], state, "the state it lost to");
    }
    let log = call("GET", &suite.url(&format!("{path}/log")), OPERATOR_KEY, None).json();
    let comments = log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "comment").count();
    assert_eq!(comments, 1, "{log}");
    assert_eq!(log["verification"]["valid"], true, "the log's chain is whole: {log}");
    // Every loser's transaction ended, on every path: no pooled connection carries one on.
    assert_eq!(idle_in_transaction(&suite, "case_routing"), 0);
}

fn notifying_variables(fake: &fake::Fake) -> Vec<(&'static str, String)> {
    vec![
        ("wechat_origin", fake.url.clone()),
        ("wechat_appid", "wx-demo".into()),
        ("wechat_secret", "wx-secret".into()),
        ("wechat_template_id", "TPL-1".into()),
        ("sms_origin", fake.url.clone()),
        ("hotline_origin", fake.url.clone()),
        ("webhook_origin", fake.url.clone()),
        ("webhook_secret", "hook-secret".into()),
        ("notification_first_backoff_seconds", "1".into()),
    ]
}

#[test]
fn dispatchers_on_two_replicas_never_send_one_notification_twice() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    let fake = fake::Fake::start();
    let variables = notifying_variables(&fake);
    let variables: Vec<(&str, &str)> = variables.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let options = city_options("replicas-dispatch", &variables);
    let suite = start_with(options.clone());
    let other = Replica::spawn(&options, "a");
    // Urgent reports (A07): each owes the reporter WeChat and SMS, and the department a webhook.
    for i in 0..30u32 {
        let point = (CHONGCHUAN.0 + 0.003 * f64::from(i % 10), CHONGCHUAN.1 + 0.003 * f64::from(i / 10));
        let made = post_event(&suite.url("/v1/events"), &resident_event(point, "A07", 100 + i), None).unwrap();
        assert_eq!(made.status, 201, "{}", made.body);
    }
    let bases = [suite.url(""), other.url("")];
    std::thread::scope(|s| {
        for t in 0..4 {
            let url = spread(&bases, t, "/v1/notifications/dispatch?limit=5");
            s.spawn(move || {
                for _ in 0..200 {
                    let r = call("POST", &url, OPERATOR_KEY, None);
                    assert_eq!(r.status, 200, "{}", r.body);
                    if r.json()["claimed"] == 0 && r.json()["more"] == false {
                        break;
                    }
                }
            });
        }
    });
    let states = suite.sql("notification", "SELECT state, count(*) FROM deliveries GROUP BY state", &[]);
    let states: BTreeMap<String, i64> = states
        .rows
        .iter()
        .map(|r| (r[0].as_str().unwrap_or_default().to_owned(), r[1].as_i64().unwrap_or_default()))
        .collect();
    assert_eq!(states, BTreeMap::from([("delivered".to_owned(), 90)]), "30 × (WeChat, SMS, webhook)");
    for path in ["/cgi-bin/message/subscribe/send", "/sms/send", "/wangge/notifications"] {
        let sent = fake.requests(path);
        let distinct: HashSet<String> = sent.iter().map(|r| r.body.clone()).collect();
        assert_eq!((sent.len(), distinct.len()), (30, 30), "{path}: each message once");
    }
}

#[test]
fn the_sweep_on_every_replica_at_once_acts_on_each_case_once() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    let options = city_options("replicas-sweep", &[]);
    let suite = start_with(options.clone());
    let others = [Replica::spawn(&options, "a"), Replica::spawn(&options, "b")];
    // Five cases assigned a month ago: each owes a respond and a resolve supervision (督办) to
    // its grid and grid head, and an escalation.
    let db = suite.store("case_routing");
    for i in 0..5 {
        case_reported_days_ago(&db, &format!("01900000-0000-7000-8000-00000000004{i}"), 30);
    }
    let bases: Vec<String> = [suite.url("")].into_iter().chain(others.iter().map(|r| r.url(""))).collect();
    // Six whole sweeps at once, two on each replica, each paging through every case.
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for i in 0..6 {
            let (base, reports) = (&bases[i % bases.len()], &reports);
            s.spawn(move || {
                let mut cursor = String::new();
                loop {
                    let r = call("POST", &format!("{base}/v1/cases/sweep?limit=2&cursor={cursor}"), OPERATOR_KEY, None);
                    assert_eq!(r.status, 200, "{}", r.body);
                    let report = r.json();
                    let next = report["next_cursor"].as_str().map(str::to_owned);
                    reports.lock().unwrap().push(report);
                    match next {
                        Some(next) => cursor = next,
                        None => break,
                    }
                }
            });
        }
    });
    let reports = reports.into_inner().unwrap();
    let sum = |field: &str| reports.iter().map(|r| r[field].as_i64().unwrap_or(0)).sum::<i64>();
    assert_eq!(sum("escalated"), 5, "each case escalated once: {reports:?}");
    assert_eq!(sum("supervision_notices"), 20, "respond and resolve, to the grid and its head, per case");
    let outbox = suite.sql("notification", "SELECT kind, count(*) FROM outbox GROUP BY kind ORDER BY kind", &[]);
    let outbox: BTreeMap<String, i64> = outbox
        .rows
        .iter()
        .map(|r| (r[0].as_str().unwrap_or_default().to_owned(), r[1].as_i64().unwrap_or_default()))
        .collect();
    assert_eq!(outbox.get("supervision"), Some(&20), "{outbox:?}");
    assert_eq!(outbox.get("escalation").copied().unwrap_or(0) % 5, 0, "escalation notices per case alike: {outbox:?}");
    let logs =
        suite.sql("case_routing", "SELECT count(*) FROM case_log WHERE entry LIKE '%\"action\":\"escalate\"%'", &[]);
    assert_eq!(logs.scalar().and_then(wangge_core::SqlValue::as_i64), Some(5), "one escalation entry per case");
}

#[test]
fn kill_9_of_a_replica_under_load_loses_no_acknowledged_event() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    let options = city_options("replicas-kill", &[]);
    let suite = start_with(options.clone());
    let mut doomed = Replica::spawn(&options, "doomed");
    let survivor = Replica::spawn(&options, "survivor");
    let bases = [suite.url(""), doomed.url(""), survivor.url("")];
    let acknowledged = Mutex::new(Vec::new());
    let after_kill = Mutex::new(0usize);
    let killed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..6u32 {
            let (bases, acknowledged, after_kill, killed) = (&bases, &acknowledged, &after_kill, &killed);
            s.spawn(move || {
                for n in 0..25u32 {
                    let i = (t * 25 + n) as usize;
                    let point = (CHONGCHUAN.0 + 0.002 * f64::from(n % 12), CHONGCHUAN.1 + 0.002 * f64::from(t));
                    let category = ["B05", "C03", "C04"][i % 3];
                    let was_killed = killed.load(std::sync::atomic::Ordering::SeqCst);
                    let url = spread(bases, i, "/v1/events");
                    let Ok(reply) = post_event(&url, &resident_event(point, category, 1000 + i as u32), None) else {
                        continue; // the doomed replica, gone: nothing was acknowledged
                    };
                    if matches!(reply.status, 201 | 202) {
                        acknowledged.lock().unwrap().push(reply.json()["event_id"].as_str().unwrap().to_owned());
                        if was_killed && !url.starts_with(&bases[1]) {
                            *after_kill.lock().unwrap() += 1;
                        }
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        doomed.kill();
        killed.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(*after_kill.lock().unwrap() > 0, "the survivors kept serving after the kill");
    assert!(acknowledged.len() > 50, "load ran: {} acknowledged", acknowledged.len());
    // Every acknowledged event is stored, and is a case or waits in the queue.
    let stored = suite.sql("intake", "SELECT id, case_id, status FROM events", &[]);
    let stored: BTreeMap<String, (Option<String>, String)> = stored
        .rows
        .iter()
        .map(|r| {
            let text = |v: &wangge_core::SqlValue| v.as_str().map(str::to_owned);
            (text(&r[0]).unwrap(), (text(&r[1]), text(&r[2]).unwrap_or_default()))
        })
        .collect();
    for id in &acknowledged {
        let (case, status) = stored.get(id).unwrap_or_else(|| panic!("acknowledged event {id} was lost"));
        assert!(case.is_some() || status == "pending", "{id}: neither a case nor queued ({status})");
    }
    let cases = suite.sql("case_routing", "SELECT id FROM cases", &[]);
    let cases: HashSet<&str> = cases.rows.iter().filter_map(|r| r[0].as_str()).collect();
    for (id, (case, _)) in &stored {
        if let Some(case) = case {
            assert!(cases.contains(case.as_str()), "event {id} names case {case}, which does not exist");
        }
    }
}

#[test]
fn postgres_restarted_mid_run_is_503_in_between_then_serves_again_without_a_restart() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    // A server of this test's own: stopping the shared one would stop every other test.
    let mut server = PostgresServer::start("restart");
    let mut options = options("replicas-pg-restart", &["intake", "grid-lookup", "case-routing", "notification"]);
    options.variables.insert("database_host".into(), format!("127.0.0.1:{}", server.port));
    for (_, label) in COMPONENTS {
        server.create_database(label);
        options.variables.insert(format!("{label}_database_url"), server.url(label));
    }
    let suite = wangge_host::RunningApp::start(&options, "127.0.0.1:0").expect("start the suite");
    let key = |name: &str| {
        call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&json!({"name": name, "scopes": ["events:write"]})))
    };
    assert_eq!(key("before").status, 201);

    server.stop();
    let down = get(&suite.url("/v1/system/grid-lookup/health"));
    assert_eq!((down.status, down.json()["code"].as_str()), (503, Some("storage_unavailable")), "{}", down.body);
    assert_eq!(down.header("retry-after"), Some("1"));
    let refused = key("during");
    assert_eq!(
        (refused.status, refused.json()["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{}",
        refused.body
    );
    assert!(refused.header("retry-after").is_some());

    server.restart_stopped();
    wait_until(std::time::Duration::from_secs(20), "grid-lookup to serve again", || {
        (get(&suite.url("/v1/system/grid-lookup/health")).status == 200).then_some(())
    });
    assert_eq!(key("after").status, 201, "served again, the app never restarted");
    let names: Vec<String> = call("GET", &suite.url("/v1/keys"), OPERATOR_KEY, None).json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "during").count(), 0, "nothing half-written: {names:?}");
    assert_eq!(names.iter().filter(|n| *n == "before" || *n == "after").count(), 2, "{names:?}");
}

/// A suite on a server of its own, with `max_connections` set as a test wants it and a
/// host pool of `pool` connections per function; the demo city loaded.
fn budgeted_suite(name: &str, max_connections: &str, pool: usize) -> (PostgresServer, Suite) {
    let server = PostgresServer::start_with(name, &[("max_connections", max_connections)]);
    let mut options = options(name, &[]);
    options.variables.insert("database_host".into(), format!("127.0.0.1:{}", server.port));
    for (_, label) in COMPONENTS {
        server.create_database(label);
        options.variables.insert(format!("{label}_database_url"), server.url(label));
    }
    options.pg_pool_size = pool;
    // Its databases go with the server (the suite's drop looks for them on the shared one
    // and finds none).
    let suite = start_with(options);
    suite.load_demo();
    suite.load_reference();
    (server, suite)
}

fn burst(suite: &Suite, n: u32) -> Vec<Reply> {
    let url = suite.url("/v1/events");
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let url = url.clone();
                s.spawn(move || {
                    let point = (CHONGCHUAN.0 + 0.002 * f64::from(i % 16), CHONGCHUAN.1 + 0.002 * f64::from(i / 16));
                    post_event(&url, &resident_event(point, ["B05", "C03", "C04"][i as usize % 3], 5000 + i), None)
                        .expect("the suite answers")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The connection budget (README, "Running a cluster"): Spin keeps up to its pool size of
/// connections per function and never closes idle ones. Sized within PostgreSQL's
/// `max_connections`, a burst waits for connections and every request is served; sized
/// past it, the requests that find none get 503 `storage_unavailable` with `Retry-After`,
/// never a 500, and nothing they were refused is half-written.
#[test]
fn the_connection_budget_holds_within_max_connections_and_refuses_cleanly_past_it() {
    if !runs_on(Profile::Cluster, WHY) {
        return;
    }
    // 5 functions × 4 connections = 20, within 30 (of which 3 are kept for superusers).
    let (_server, suite) = budgeted_suite("budget-within", "30", 4);
    let answers = burst(&suite, 48);
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 202), "every request served: {statuses:?}");
    assert_eq!(suite.count("intake", "events"), 48);

    // 5 × 16 = 80 wanted, 12 there (3 kept for superusers): some must be refused.
    let (_server, suite) = budgeted_suite("budget-past", "15", 16);
    let answers = burst(&suite, 48);
    let refused: Vec<&Reply> = answers.iter().filter(|r| !matches!(r.status, 201 | 202)).collect();
    for r in &refused {
        assert_eq!(r.status, 503, "a refusal, never a 500: {}", r.body);
        assert!(r.header("retry-after").is_some(), "{}", r.body);
    }
    let served: Vec<String> = answers
        .iter()
        .filter(|r| matches!(r.status, 201 | 202))
        .filter_map(|r| r.json()["event_id"].as_str().map(str::to_owned))
        .collect();
    // Every acknowledged event is stored (read as the operator, through the API, since the
    // pools may hold every connection the server has).
    for id in &served {
        let stored = wait_until(std::time::Duration::from_secs(20), "a connection for the read", || {
            let r = call("GET", &suite.url(&format!("/v1/events/{id}")), OPERATOR_KEY, None);
            (r.status != 503).then_some(r)
        });
        assert_eq!(stored.status, 200, "acknowledged event {id}: {}", stored.body);
    }
    eprintln!("past the budget: {} served, {} refused with 503", served.len(), refused.len());
}
