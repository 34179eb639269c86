//! Notification — WeChat subscription messages, SMS, hotline result callbacks
//! and signed webhooks, at least once and never twice, against loopback stand-ins.

use serde_json::{Value, json};
use wangge_e2e::fake::Fake;
use wangge_e2e::*;

/// 崇川区 (grid 320613001001001), and a step of about 280 m so that reports are not duplicates.
const ORIGIN: (f64, f64) = (120.802356, 32.138927);
const WEBHOOK: &str = "/wangge/notifications";

fn start(test: &str, fake: &Fake, extra: &[(&str, &str)]) -> Suite {
    let mut vars = vec![
        ("wechat_origin", fake.url.as_str()),
        ("wechat_appid", "wx-demo"),
        ("wechat_secret", "wx-secret"),
        ("wechat_template_id", "TPL-1"),
        ("sms_origin", fake.url.as_str()),
        ("hotline_origin", fake.url.as_str()),
        ("webhook_origin", fake.url.as_str()),
        ("webhook_secret", "hook-secret"),
        ("notification_first_backoff_seconds", "1"),
    ];
    vars.extend_from_slice(extra);
    start_city(test, &vars)
}

/// An urgent report (A07, an early sign of a collective incident): accepted and sent to
/// the district's public security bureau at once, so it owes notices straight away.
fn urgent(suite: &Suite, i: u32, openid: &str) -> String {
    let body = json!({
        "source": "resident",
        "reporter": { "name": "王小明", "phone": "13812345678", "wechat_openid": openid },
        "category": "A07",
        "description": "小区门口有人聚集",
        "location": { "lng": ORIGIN.0 + 0.003 * f64::from(i % 10), "lat": ORIGIN.1 + 0.003 * f64::from(i / 10) }
    });
    let made = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&body));
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["case_id"].as_str().unwrap().to_owned()
}

fn dispatch(suite: &Suite) -> Value {
    let r = call("POST", &suite.url("/v1/notifications/dispatch?limit=100"), OPERATOR_KEY, None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn trace(suite: &Suite, key: &str, case_id: &str) -> Value {
    call("GET", &suite.url(&format!("/v1/notifications?case_id={case_id}")), key, None).json()
}

#[test]
fn urgent_reports_reach_the_reporter_by_wechat_and_sms_and_the_department_by_signed_webhook() {
    let fake = Fake::start();
    let suite = start("notify-channels", &fake, &[]);
    // The town's police station (新江街道派出所) has a duty phone (an optional departments.csv column).
    let mut csv = String::from_utf8(demo("departments.csv")).unwrap();
    csv = csv
        .lines()
        .enumerate()
        .map(|(i, line)| match (i, line.starts_with("320613001000-public_security,")) {
            (0, _) => format!("{line},duty_phone"),
            (_, true) => format!("{line},051285550110"),
            _ => format!("{line},"),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let auth = bearer(OPERATOR_KEY);
    let put = request(
        "PUT",
        &suite.url("/v1/departments"),
        &[("authorization", auth.as_str()), ("content-type", "text/csv")],
        Some(csv.as_bytes()),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let case_id = urgent(&suite, 0, "oREPORTER1");
    let pass = dispatch(&suite);
    // The reporter by WeChat and, the matter being urgent, by SMS (2); the department by its
    // webhook and by SMS to its duty phone (2): 4.
    assert_eq!((pass["claimed"].as_u64(), pass["delivered"].as_u64()), (Some(4), Some(4)), "{pass}");

    let sent = fake.requests("/cgi-bin/message/subscribe/send");
    assert_eq!(sent.len(), 1, "WeChat reaches the reporter only");
    let message = sent[0].json();
    assert_eq!((message["touser"].as_str(), message["template_id"].as_str()), (Some("oREPORTER1"), Some("TPL-1")));
    assert!(message["data"]["thing1"]["value"].as_str().unwrap().chars().count() <= 20);
    assert_eq!(message["data"]["character_string2"]["value"].as_str().unwrap().len(), 32, "the case id, cut to 32");
    assert_eq!(fake.token_fetches(), 1, "one token for the first send");
    let phones: std::collections::BTreeSet<String> =
        fake.requests("/sms/send").iter().map(|r| r.json()["phone"].as_str().unwrap().to_owned()).collect();
    let expected: std::collections::BTreeSet<String> =
        ["051285550110", "13812345678"].iter().map(|s| s.to_string()).collect();
    assert_eq!(phones, expected, "urgent: SMS as well, to the reporter and to the department's duty phone");
    let hooks = fake.requests(WEBHOOK);
    assert_eq!(hooks.len(), 1, "the department's one webhook");
    let hook = &hooks[0];
    assert!(hook.json()["recipient"]["id"].as_str().unwrap().ends_with("-public_security"), "{}", hook.body);
    let expected = wangge_notify::route::webhook_signature(
        "hook-secret",
        hook.header("x-wangge-id").unwrap(),
        hook.header("x-wangge-timestamp").unwrap().parse().unwrap(),
        hook.body.as_bytes(),
    );
    assert_eq!(hook.header("x-wangge-signature"), Some(expected.as_str()));

    // Tracing: every message, delivery and try; addresses masked for a reader.
    let reader = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "ops", "scopes": ["notifications:read"] })),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let traced = trace(&suite, &reader, &case_id);
    let deliveries: Vec<&Value> =
        traced["messages"].as_array().unwrap().iter().flat_map(|m| m["deliveries"].as_array().unwrap()).collect();
    assert_eq!(deliveries.len(), 4, "the four deliveries of the pass above");
    assert!(deliveries.iter().all(|d| d["state"] == "delivered" && d["tries"][0]["outcome"] == "delivered"));
    let sms =
        deliveries.iter().find(|d| d["channel"] == "sms" && d["address"].as_str().unwrap().starts_with("138")).unwrap();
    assert_eq!(sms["address"], "138****5678");
    assert!(!traced.to_string().contains("13812345678"));
    assert!(trace(&suite, OPERATOR_KEY, &case_id).to_string().contains("13812345678"), "whole for notifications:admin");

    // WeChat renews its token: the send is refused with 42001, the token refetched, the message sent.
    fake.rotate_token();
    urgent(&suite, 1, "oREPORTER1");
    let pass = dispatch(&suite);
    assert_eq!(pass["delivered"], 4, "the same four as the first case: {pass}");
    assert_eq!(fake.token_fetches(), 2, "the first token, and the one fetched after 42001");
    assert_eq!(fake.requests("/cgi-bin/message/subscribe/send").len(), 3, "the refused send, then the resend");

    // 43101 (not subscribed) is final: dead after one try, never retried. SMS still goes.
    fake.unsubscribe("oNOSUB");
    let refused = urgent(&suite, 2, "oNOSUB");
    let pass = dispatch(&suite);
    // Of the four: the reporter's SMS, the webhook and the duty phone's SMS go (3); WeChat dies (1).
    assert_eq!((pass["delivered"].as_u64(), pass["dead"].as_u64()), (Some(3), Some(1)), "{pass}");
    let dead = call("GET", &suite.url("/v1/notifications/dead"), OPERATOR_KEY, None).json();
    let item = &dead["items"][0];
    assert_eq!((item["channel"].as_str(), item["case_id"].as_str()), (Some("wechat"), Some(refused.as_str())));
    assert!(item["last_error"].as_str().unwrap().contains("43101"));
    assert_eq!(dispatch(&suite)["claimed"], 0, "nothing left to send");

    // A renewed token is fetched once for the pass, however many WeChat messages it sends.
    fake.rotate_token();
    urgent(&suite, 3, "oREPORTER3");
    urgent(&suite, 4, "oREPORTER4");
    let pass = dispatch(&suite);
    assert_eq!(pass["delivered"], 8, "two cases × the four deliveries of each: {pass}");
    assert_eq!(fake.token_fetches(), 3, "the two before, and one fetch for the pass, not one per message");
}

/// A refusal that will not change (400/401/403/404/410/422) is dead after one try.
/// Dead letters are listed page by page, a person's address masked for a reading key;
/// only `notifications:admin` requeues; a dispatch takes at most 1000.
#[test]
fn a_refusal_that_will_not_change_is_dead_at_once_and_only_an_admin_requeues_it() {
    let fake = Fake::start();
    let suite = start("notify-final", &fake, &[]);
    fake.fail(WEBHOOK, 1, 410);
    fake.fail("/sms/send", 1, 400);
    urgent(&suite, 0, "oR1");
    let pass = dispatch(&suite);
    assert_eq!(
        (pass["delivered"].as_u64(), pass["dead"].as_u64()),
        (Some(1), Some(2)),
        "WeChat goes, SMS and webhook die: {pass}"
    );
    assert_eq!((fake.requests(WEBHOOK).len(), fake.requests("/sms/send").len()), (1, 1), "one try each");
    assert_eq!(dispatch(&suite)["claimed"], 0, "never retried");

    let reader = call(
        "POST",
        &suite.url("/v1/keys"),
        OPERATOR_KEY,
        Some(&json!({ "name": "ops", "scopes": ["notifications:read"] })),
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = call("GET", &suite.url("/v1/notifications/dead?limit=1"), &reader, None).json();
    let second_url = format!("/v1/notifications/dead?limit=1&cursor={}", first["next_cursor"].as_str().unwrap());
    let second = call("GET", &suite.url(&second_url), &reader, None).json();
    assert!(second["next_cursor"].is_null(), "{second}");
    let items: Vec<&Value> =
        first["items"].as_array().unwrap().iter().chain(second["items"].as_array().unwrap()).collect();
    assert_eq!(items.len(), 2, "the dead SMS and the dead webhook");
    let sms = items.iter().find(|d| d["channel"] == "sms").unwrap();
    assert_eq!(sms["address"], "138****5678", "masked for notifications:read");
    let whole = call("GET", &suite.url("/v1/notifications/dead"), OPERATOR_KEY, None).body;
    assert!(whole.contains("13812345678"), "whole for notifications:admin");

    let href = sms["requeue"]["href"].as_str().unwrap().to_owned();
    let refused = call("POST", &suite.url(&href), &reader, None);
    assert_eq!((refused.status, refused.json()["code"].as_str()), (403, Some("scope_missing")));
    assert_eq!(call("POST", &suite.url(&href), OPERATOR_KEY, None).status, 200);
    assert_eq!(dispatch(&suite)["delivered"], 1, "the one requeued SMS, and the gateway takes it now");

    let too_many = call("POST", &suite.url("/v1/notifications/dispatch?limit=1001"), OPERATOR_KEY, None);
    assert_eq!((too_many.status, too_many.json()["code"].as_str()), (400, Some("invalid_parameter")));
}

#[test]
fn failed_deliveries_back_off_die_after_the_last_try_and_can_be_requeued() {
    let fake = Fake::start();
    let suite = start(
        "notify-retry",
        &fake,
        &[("notification_max_attempts", "2"), ("notification_first_backoff_seconds", "3")],
    );
    fake.fail(WEBHOOK, 100, 503);
    let case_id = urgent(&suite, 0, "oR1");
    let first = dispatch(&suite);
    // The reporter's WeChat and SMS go (2); the failing webhook is retried (1).
    assert_eq!((first["delivered"].as_u64(), first["retried"].as_u64()), (Some(2), Some(1)), "{first}");
    // Not due again before its backoff (3 s here, with jitter: 1.5 to 3 s).
    assert_eq!(dispatch(&suite)["claimed"], 0);
    // Due again once the backoff has passed: polled, with 3 s of slack beyond the longest backoff.
    let second = wait_until(std::time::Duration::from_secs(6), "the webhook's retry to fall due", || {
        let answer = dispatch(&suite);
        (answer["claimed"] != 0).then_some(answer)
    });
    // The webhook alone is due (1); its second try is its last, so it is dead (1).
    assert_eq!((second["claimed"].as_u64(), second["dead"].as_u64()), (Some(1), Some(1)), "{second}");
    assert_eq!(fake.requests(WEBHOOK).len(), 2, "notification_max_attempts = 2 tries, then dead");

    let dead = call("GET", &suite.url("/v1/notifications/dead"), OPERATOR_KEY, None).json();
    let id = dead["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(dead["items"][0]["attempts"], 2, "notification_max_attempts");
    let href = dead["items"][0]["requeue"]["href"].as_str().unwrap().to_owned();
    fake.fail(WEBHOOK, 0, 503);
    let requeued = call("POST", &suite.url(&href), OPERATOR_KEY, None);
    assert_eq!(requeued.status, 200, "{}", requeued.body);
    assert_eq!(call("POST", &suite.url(&href), OPERATOR_KEY, None).json()["code"], "not_found");
    assert_eq!(dispatch(&suite)["delivered"], 1, "the one requeued webhook");
    let traced = trace(&suite, OPERATOR_KEY, &case_id);
    let hook = traced["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["deliveries"].as_array().unwrap().clone())
        .find(|d| d["id"] == id.as_str())
        .unwrap();
    let outcomes: Vec<&str> =
        hook["tries"].as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["retry", "dead", "delivered"]);
    assert_eq!(hook["tries"][0]["status"], 503);
}

#[test]
fn concurrent_dispatchers_never_send_anything_twice() {
    let fake = Fake::start();
    let suite = start("notify-concurrent", &fake, &[]);
    let cases: Vec<String> = (0..40).map(|i| urgent(&suite, i, &format!("oR{i}"))).collect();
    assert_eq!(cases.len(), 40, "one case per report made above");
    let url = suite.url("/v1/notifications/dispatch?limit=10");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..100 {
                    let r = call("POST", &url, OPERATOR_KEY, None);
                    assert_eq!(r.status, 200, "{}", r.body);
                    let pass = r.json();
                    if pass["claimed"] == 0 && pass["more"] == false {
                        break;
                    }
                }
            });
        }
    });
    let states: Vec<(String, i64)> = suite
        .sql("notification", "SELECT state, count(*) FROM deliveries GROUP BY state", &[])
        .rows
        .iter()
        .map(|r| (r[0].as_str().unwrap_or_default().to_owned(), r[1].as_i64().unwrap_or_default()))
        .collect();
    assert_eq!(states, vec![("delivered".to_owned(), 120)], "40 × (WeChat, SMS, webhook)");
    let tries = suite.sql_i64("notification", "SELECT count(*) FROM attempts", &[]);
    assert_eq!(tries, 120, "one try each");
    let wechat = fake.requests("/cgi-bin/message/subscribe/send");
    let distinct: std::collections::HashSet<String> = wechat.iter().map(|r| r.json()["page"].to_string()).collect();
    // One of each channel per case, 40 cases: 40 sends, each a different message.
    assert_eq!((wechat.len(), distinct.len()), (40, 40));
    let sms: std::collections::HashSet<String> =
        fake.requests("/sms/send").iter().map(|r| r.json()["idempotency_key"].to_string()).collect();
    assert_eq!((fake.requests("/sms/send").len(), sms.len()), (40, 40));
    let hooks: std::collections::HashSet<String> =
        fake.requests(WEBHOOK).iter().map(|r| r.header("x-wangge-id").unwrap().to_owned()).collect();
    assert_eq!((fake.requests(WEBHOOK).len(), hooks.len()), (40, 40));
}

#[test]
fn a_closed_hotline_case_posts_its_result_back_to_the_hotline() {
    let fake = Fake::start();
    let suite = start("notify-hotline", &fake, &[]);
    let orders = json!({ "orders": [{
        "order_no": "12345-2026-000001",
        "request_type": "投诉",
        "caller": { "name": "赵六", "phone": "13700001111" },
        "address": "江苏省南通市崇川区新江街道建设街24号",
        "content": "门口聚集",
        "received_at": "2026-11-26T09:10:00+08:00",
        "category_hint": "A07"
    }]});
    let answer = call("POST", &suite.url("/v1/hotline/work-orders"), OPERATOR_KEY, Some(&orders)).json();
    let case_id = answer["results"][0]["case_id"].as_str().unwrap().to_owned();
    let case = call("GET", &suite.url(&format!("/v1/cases/{case_id}")), OPERATOR_KEY, None).json();
    let department = case["assignee"].as_str().unwrap().to_owned();
    let act = |action: &str, kind: &str, id: &str| {
        let body = json!({ "action": action, "actor": { "kind": kind, "id": id } });
        let r = call("POST", &suite.url(&format!("/v1/cases/{case_id}/actions")), OPERATOR_KEY, Some(&body));
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    };
    act("sign", "department", &department);
    act("resolve", "department", &department);
    act("verify_pass", "centre", "3206");
    for _ in 0..3 {
        dispatch(&suite);
    }
    let callbacks = fake.requests("/api/work-orders/result");
    assert_eq!(callbacks.len(), 1, "办结反馈, once");
    let body = callbacks[0].json();
    assert_eq!(
        (body["order_no"].as_str(), body["case_id"].as_str()),
        (Some("12345-2026-000001"), Some(case_id.as_str()))
    );
    assert!(body["closed_at"].is_string());
    assert_eq!(body["result"], "已办结");
}

#[test]
fn a_grid_is_reached_through_its_staff_and_people_are_spared_quiet_hours() {
    let fake = Fake::start();
    let suite = start("notify-grid", &fake, &[]);
    let (grid, worker) = grid_and_worker(&suite.url(""), ORIGIN);
    // Grid staff find exposed rubbish (B05, normal): accepted and assigned to their grid.
    let body = json!({
        "source": "grid_staff", "reporter": { "staff_id": worker }, "category": "B05", "description": "暴露垃圾",
        "location": { "lng": ORIGIN.0, "lat": ORIGIN.1 }, "discovered_at": "2026-11-26T08:00:00+08:00"
    });
    let made = call("POST", &suite.url("/v1/events"), OPERATOR_KEY, Some(&body));
    assert_eq!(made.status, 201, "{}", made.body);
    let case_id = made.json()["case_id"].as_str().unwrap().to_owned();
    let pass = dispatch(&suite);
    // The grid's staff, from the staff directory: one WeChat message each (not urgent: no SMS).
    let grid_staff = suite.sql_i64(
        "grid_lookup",
        "SELECT count(*) FROM staff WHERE grid_code = ? AND wechat_openid != '' \
         AND version = (SELECT max(version) FROM staff)",
        &[grid.as_str().into()],
    );
    let to_grid = suite.sql_i64(
        "notification",
        "SELECT count(*) FROM deliveries d JOIN outbox o ON o.id = d.message_id \
         WHERE o.recipient_kind = 'grid' AND d.channel = 'wechat'",
        &[],
    );
    assert!(grid_staff > 0);
    assert_eq!(to_grid, grid_staff);
    assert_eq!(fake.requests("/sms/send").len(), 0);
    let quiet = wangge_notify::route::quiet_until(chrono::Utc::now());
    match quiet {
        // 22:00–07:00 in Shanghai: people are not woken for a normal matter.
        Some(until) => {
            assert_eq!(pass["delivered"], 0, "{pass}");
            let next = suite.sql(
                "notification",
                "SELECT min(next_attempt_at) FROM deliveries WHERE case_id = ?",
                &[case_id.as_str().into()],
            );
            assert_eq!(
                next.scalar().and_then(wangge_core::SqlValue::as_str),
                Some(wangge_core::time::render(until).as_str())
            );
        }
        None => {
            assert_eq!(pass["delivered"].as_i64(), Some(to_grid + 1), "{pass}: the grid's staff, and the reporter");
        }
    }
}

#[test]
fn a_channel_left_unconfigured_is_dead_at_once_with_its_reason() {
    let fake = Fake::start();
    // Everything but the SMS gateway: its origin stays the `.invalid` placeholder.
    let suite = start_city(
        "notify-unconfigured",
        &[
            ("wechat_origin", fake.url.as_str()),
            ("wechat_appid", "wx-demo"),
            ("wechat_secret", "wx-secret"),
            ("webhook_origin", fake.url.as_str()),
        ],
    );
    urgent(&suite, 0, "oR1");
    let pass = dispatch(&suite);
    // The reporter's WeChat and the department's webhook go (2); the reporter's SMS dies (1).
    assert_eq!((pass["delivered"].as_u64(), pass["dead"].as_u64()), (Some(2), Some(1)), "{pass}");
    let dead = call("GET", &suite.url("/v1/notifications/dead"), OPERATOR_KEY, None).json();
    assert_eq!(dead["items"][0]["channel"], "sms");
    assert!(dead["items"][0]["last_error"].as_str().unwrap().starts_with("channel_not_configured"), "{dead}");
    let bad = call("POST", &suite.url("/v1/notifications/dispatch?limit=0"), OPERATOR_KEY, None);
    assert_eq!((bad.status, bad.json()["code"].as_str()), (400, Some("invalid_parameter")));
}
