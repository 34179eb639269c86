//! The simulation clock (test-only): the probe's WASI wall clock reads the time the
//! driver sets, in-process through `App::clock` and from another process over
//! `/_wangge/clock`; without the switch the probe reads the real time and the control
//! path is an ordinary 404.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use wangge_host::testing::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp, SimClock};

/// 2026-11-01T00:00:00Z.
const NOV_1: u64 = 1_793_491_200;
/// Real time a test may take between setting the clock and reading it.
const SLACK: f64 = 10.0;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options(test: &str, clock: Option<SimClock>) -> AppOptions {
    require_wasm("wangge_probe");
    let mut options = AppOptions::new(fixture("probe.toml"));
    options.state_dir = Some(temp_dir(test));
    options.runtime_config = Some(fixture("probe-runtime.toml"));
    options.variables = BTreeMap::from([("secret_token".to_owned(), "s3cret".to_owned())]);
    options.max_instances = 16;
    options.guest_logs = GuestLogs::Files;
    options.clock = clock;
    options
}

/// What the probe's `SystemTime::now()` (WASI `wall-clock.now`) reads, in seconds since the epoch.
fn probe_now(base: &str) -> f64 {
    let reply = get(&format!("{base}/probe/now"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["unix_seconds"].as_f64().expect("unix_seconds")
}

fn real_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn assert_near(seen: f64, expected: f64, what: &str) {
    assert!(
        seen >= expected && seen < expected + SLACK,
        "{what}: the probe read {seen}, expected {expected} (+{SLACK}s)"
    );
}

fn put_clock(base: &str, body: serde_json::Value) -> Reply {
    request(
        "PUT",
        &format!("{base}/_wangge/clock"),
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn without_the_switch_the_probe_reads_the_real_time_and_the_control_path_is_a_404() {
    let app = RunningApp::start(&options("clock-off", None), "127.0.0.1:0").unwrap();
    assert!(app.app.clock().is_none());
    let before = real_now();
    let seen = probe_now(&app.url(""));
    assert!(seen >= before - 1.0 && seen <= real_now() + 1.0, "real time {before}, the probe read {seen}");
    for method in ["GET", "PUT"] {
        let reply = request(method, &app.url("/_wangge/clock"), &[], Some(br#"{"advance_seconds":3600}"#));
        assert_eq!((reply.status, reply.body.as_str()), (404, ""), "{method}: an unmatched path, as Spin");
    }
    assert!(probe_now(&app.url("")) < real_now() + 1.0, "nothing moved the time");
}

#[test]
fn the_driver_sets_and_advances_the_time_every_instance_reads() {
    let app = RunningApp::start(&options("clock-in-process", Some(SimClock::new())), "127.0.0.1:0").unwrap();
    let clock = app.app.clock().expect("the clock is on");
    // Before it is set, it reads the real time.
    assert!((probe_now(&app.url("")) - real_now()).abs() < SLACK);

    clock.set(UNIX_EPOCH + Duration::from_secs(NOV_1));
    let first = probe_now(&app.url(""));
    assert_near(first, NOV_1 as f64, "set");
    // It runs at real speed from there, never backwards, in every fresh instance.
    std::thread::sleep(Duration::from_millis(50));
    let second = probe_now(&app.url("/probe/exact"));
    assert!(second > first, "a running clock: {first} then {second}");

    clock.advance(Duration::from_secs(3600));
    assert_near(probe_now(&app.url("")), (NOV_1 + 3600) as f64, "advanced an hour");

    // Over HTTP on the same listener: answered by the host, never by a component.
    let reply = put_clock(&app.url(""), json!({ "now": "2026-12-01T08:00:00+08:00" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let dec_1 = NOV_1 + 30 * 86_400;
    assert!(reply.json()["now"].as_str().unwrap().starts_with("2026-12-01T00:00:0"), "{}", reply.body);
    assert_near(probe_now(&app.url("")), dec_1 as f64, "set over HTTP");
    let reply = put_clock(&app.url(""), json!({ "advance_seconds": 86_400 }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let millis = get(&app.url("/_wangge/clock")).json()["unix_millis"].as_u64().unwrap();
    assert_near(millis as f64 / 1000.0, (dec_1 + 86_400) as f64, "GET");
    assert_near(probe_now(&app.url("")), (dec_1 + 86_400) as f64, "advanced a day over HTTP");

    // Refusals change nothing: time never goes backwards unless set explicitly.
    for body in [
        json!({ "advance_seconds": -60 }),
        json!({ "now": "2026-11-01T00:00:00Z", "advance_seconds": 1 }),
        json!({}),
        json!({ "now": "yesterday" }),
        json!({ "then": "2026-11-01T00:00:00Z" }),
    ] {
        let reply = put_clock(&app.url(""), body.clone());
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(reply.json()["error"].is_string());
    }
    assert_eq!(request("POST", &app.url("/_wangge/clock"), &[], None).status, 405);
    assert_near(probe_now(&app.url("")), (dec_1 + 86_400) as f64, "after the refusals");

    let reply = put_clock(&app.url(""), json!({ "now": "2026-11-01T00:00:00Z" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_near(probe_now(&app.url("")), NOV_1 as f64, "an explicit set goes back");
}

/// A `wangge-host up` process, killed when dropped.
struct HostProcess(Child);

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_separate_wangge_host_up_clock_process_is_driven_over_http() {
    require_wasm("wangge_probe");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let state = temp_dir("clock-process");
    let child = Command::new(env!("CARGO_BIN_EXE_wangge-host"))
        .args([
            "up",
            "--clock",
            "--quiet",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--variable",
            "secret_token=s3cret",
        ])
        .arg("--from")
        .arg(fixture("probe.toml"))
        .arg("--runtime-config-file")
        .arg(fixture("probe-runtime.toml"))
        .arg("--state-dir")
        .arg(&state)
        .env("SPIN_MAX_INSTANCE_COUNT", "16")
        .stdout(Stdio::null())
        .spawn()
        .expect("start wangge-host");
    let _host = HostProcess(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while try_request("GET", &format!("{base}/.well-known/spin/health"), &[], None).is_err() {
        assert!(std::time::Instant::now() < deadline, "wangge-host did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    let reply = put_clock(&base, json!({ "now": "2026-11-01T08:00:00+08:00" }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_near(probe_now(&base), NOV_1 as f64, "set");
    assert_eq!(put_clock(&base, json!({ "advance_seconds": 7200 })).status, 200);
    assert_near(probe_now(&base), (NOV_1 + 7200) as f64, "advanced two hours");
}
