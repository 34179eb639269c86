//! The host's simulation clock reaches the real functions: they read the time through
//! WASI only, so the time the driver sets is the time they record.

use std::time::{Duration, UNIX_EPOCH};

use wangge_e2e::*;
use wangge_host::SimClock;

/// 2026-11-01T00:00:00Z, 08:00 in Nantong.
const NOV_1: u64 = 1_793_491_200;

/// The `at` of every hop of a chained call: what each function's clock read.
fn chain_times(suite: &Suite) -> Vec<String> {
    let reply = call("POST", &suite.url("/v1/system/intake/chain"), OPERATOR_KEY, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let hops = reply.json()["hops"].as_array().unwrap().clone();
    assert_eq!(hops.len(), 4, "{}", reply.body);
    hops.iter().map(|h| h["at"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_functions_record_the_simulated_time() {
    let mut options = options("clock", &[]);
    options.clock = Some(SimClock::starting_at(UNIX_EPOCH + Duration::from_secs(NOV_1)));
    let suite = start_with(options);
    // Seconds pass in real time while the chain runs: a few at most.
    for at in chain_times(&suite) {
        assert!(at.starts_with("2026-11-01T08:00:0"), "each function reads the simulated time: {at}");
    }
    suite.app.app.clock().unwrap().advance(Duration::from_secs(30 * 86_400));
    for at in chain_times(&suite) {
        assert!(at.starts_with("2026-12-01T08:00:0"), "advanced thirty days: {at}");
    }
    // And over HTTP, as a driver in another process sets it.
    let reply = request(
        "PUT",
        &suite.url("/_wangge/clock"),
        &[("content-type", "application/json")],
        Some(br#"{"now":"2026-11-15T17:30:00+08:00"}"#),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    for at in chain_times(&suite) {
        assert!(at.starts_with("2026-11-15T17:30:0"), "set back explicitly: {at}");
    }
    let stored = suite.sql_i64("intake", "SELECT count(*) FROM system_chain WHERE at LIKE '2026-11-01T08:00:0%'", &[]);
    assert_eq!(stored, 1, "the row keeps the simulated time");
}
