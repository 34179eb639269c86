//! The simulation's hostile requests against the suite on the demo city, on the real
//! clock: each gets the status and code it promises, and none leaves anything stored;
//! a good request's replays are refused and make nothing new.

use chrono::Utc;
use serde_json::{Value, json};
use wangge_e2e::{OPERATOR_KEY, Reply, Suite, call, raw, request, resident_report, start_city};
use wangge_sim::hostile::{
    Hostile, Keys, RefusedBy, hostile_requests, idempotency_replays, problem_code, signature_replay,
};

/// A point in grid 320613001001001 (崇川区).
const CHONGCHUAN: (f64, f64) = (120.802356, 32.138927);

/// The driver's two keys, made through the API with the operator key.
fn keys(suite: &Suite) -> Keys {
    let make = |name: &str, region: &str, signed: bool| {
        let body = json!({ "name": name, "scopes": ["events:write"], "region_prefix": region, "signed": signed });
        let made = call("POST", &suite.url("/v1/keys"), OPERATOR_KEY, Some(&body));
        assert_eq!(made.status, 201, "{}", made.body);
        made.json()
    };
    let resident = make("sim residents' mini-program", "3206", false);
    let hotline = make("sim 12345 hotline", "", true);
    Keys {
        resident: resident["token"].as_str().unwrap().to_owned(),
        hotline: hotline["token"].as_str().unwrap().to_owned(),
        hotline_secret: hotline["signing_secret"].as_str().expect("a signed key's secret").to_owned(),
    }
}

/// Sends `h`; one answered before its body is read goes over raw HTTP, which reads the
/// answer even when the server closes while the body is still being written.
fn send(suite: &Suite, h: &Hostile) -> Reply {
    if h.answered_before_its_body() {
        let headers: String = h.headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        let length = h.body.len();
        let head = format!(
            "{} {} HTTP/1.1\r\nhost: x\r\n{headers}content-length: {length}\r\nconnection: close\r\n\r\n",
            h.method, h.path
        );
        let (status_line, body) = raw(suite.app.addr, &head, &h.body);
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        return Reply { status, headers: Vec::new(), body: dechunk(&body) };
    }
    let headers: Vec<(&str, &str)> = h.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    request(h.method, &suite.url(&h.path), &headers, Some(&h.body))
}

/// A chunked body's data (`raw` answers the body as sent on the wire, up to the blank
/// line after its last chunk's size); any other body as it is.
fn dechunk(wire: &str) -> String {
    let ended = format!("{wire}\r\n");
    let (mut rest, mut data) = (ended.as_str(), String::new());
    while let Some((size, after)) = rest.split_once("\r\n") {
        match usize::from_str_radix(size.trim(), 16) {
            Ok(0) => return data,
            Ok(size) if after.len() >= size => {
                data.push_str(&after[..size]);
                rest = after[size..].trim_start_matches("\r\n");
            }
            _ => break,
        }
    }
    wire.to_owned()
}

/// What `h` got, if it is not what it must get.
fn wrong(suite: &Suite, h: &Hostile) -> Option<String> {
    let reply = send(suite, h);
    let got = (reply.status, problem_code(&reply.body));
    let body: String = reply.body.chars().take(300).collect();
    (got != (h.expect_status, h.expect_code.map(str::to_owned))).then(|| {
        format!("{}: expected {} {:?}, got {} {:?}: {body}", h.what, h.expect_status, h.expect_code, got.0, got.1)
    })
}

/// Rows that a request stores: events and their reporters, cases, used signatures.
/// A retry pass first, as the driver's scheduler runs every minute: it opens intake's
/// database, whose tables a fresh suite makes on first use.
fn stored(suite: &Suite) -> [i64; 4] {
    let pass = call("POST", &suite.url("/v1/events/retry-pending"), OPERATOR_KEY, None);
    assert_eq!(pass.status, 200, "{}", pass.body);
    [
        suite.count("intake", "events"),
        suite.count("intake", "event_reporters"),
        suite.count("case_routing", "cases"),
        suite.count("intake", "seen_signatures"),
    ]
}

#[test]
fn every_hostile_request_gets_its_own_code_and_nothing_is_stored() {
    let suite = start_city("sim-hostile", &[]);
    let keys = keys(&suite);
    let before = stored(&suite);
    let hostile = hostile_requests(Utc::now(), &keys, 7);
    assert!(hostile.iter().any(|h| h.refused_by == RefusedBy::Downstream), "both kinds are sent here");
    let wrong: Vec<String> = hostile.iter().filter_map(|h| wrong(&suite, h)).collect();
    assert!(wrong.is_empty(), "{} of {} got another answer:\n{}", wrong.len(), hostile.len(), wrong.join("\n"));
    assert_eq!(stored(&suite), before, "events, reporters, cases and signatures unchanged");
}

#[test]
fn a_good_requests_replays_are_refused_and_make_nothing_new() {
    let suite = start_city("sim-hostile-replays", &[]);
    let keys = keys(&suite);
    let before = stored(&suite);

    let retried = idempotency_replays(&keys, 11, &resident_report(CHONGCHUAN, "B05", "oSIM-replay"));
    let first = send(&suite, &retried.first);
    assert_eq!(first.status, 201, "{}", first.body);
    let batch = json!({ "orders": [{
        "order_no": "SIM-REPLAY-11",
        "request_type": "投诉",
        "caller": { "name": "李四", "phone": "13900000002" },
        "address": "江苏省南通市崇川区新江街道建设街24号",
        "content": "楼道里电动车充电",
        "received_at": "2026-11-26T09:00:00+08:00",
    }] });
    let signed = signature_replay(Utc::now(), &keys, &batch);
    let made = send(&suite, &signed.first);
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.json()["summary"]["rejected"], Value::from(0), "{}", made.body);

    let replays: Vec<&Hostile> = retried.replays.iter().chain(&signed.replays).collect();
    let wrong: Vec<String> = replays.iter().filter_map(|h| wrong(&suite, h)).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let [events, reporters, cases, signatures] = before;
    assert_eq!(stored(&suite), [events + 2, reporters + 2, cases + 2, signatures + 1], "the two good requests only");
}
