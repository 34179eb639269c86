//! Hostile requests (恶意与畸形请求) mixed into the month's stream, each with the status and
//! stable code intake must answer it with, and none of which may leave anything stored.
//!
//! - [`hostile_requests`]: malformed, oversized and wrongly typed bodies, wrong content
//!   types, bad keys, and signed requests that are unsigned, badly signed or stale, on
//!   `POST /v1/events`, `POST /v1/hotline/work-orders` and Open311's `POST requests.json`.
//!   Each is refused before a row is written ([`RefusedBy::Intake`]), except the few that
//!   only grid-lookup or case-routing can refuse ([`RefusedBy::Downstream`]): an unknown
//!   category, a point in no grid and no district, an unknown Open311 service. Those are
//!   refused, and their pending event deleted, only while both functions answer; while
//!   one is down intake queues them (202) and keeps them as `rejected` later, so the
//!   driver sends them only while both are up.
//! - [`idempotency_replays`] and [`signature_replay`]: a good request, then replays of
//!   it that must be refused (`idempotency_key_reused`, `signature_replayed`). The good
//!   request makes one event; its replays make nothing.
//! - [`signed_headers`] signs as a signed key's integrator does; [`problem_code`] reads
//!   the code out of any refusal's body.
//!
//! Left out: `outside_jurisdiction` (with only the Nantong demo loaded and jurisdiction
//! `3206`, no grid or district outline lies outside it), `rate_limited` (it would hold
//! back the driver's own good traffic on that key for the rest of the minute),
//! `region_forbidden` and `scope_missing` (they need keys the driver does not make).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// `POST /v1/events`.
const EVENTS: &str = "/v1/events";
/// `POST /v1/hotline/work-orders`.
const HOTLINE: &str = "/v1/hotline/work-orders";
/// Open311's `POST requests.json`.
const OPEN311: &str = "/open311/v2/requests.json";
/// intake's body limits (README, "Errors and limits").
const EVENT_LIMIT: usize = 64 * 1024;
const BATCH_LIMIT: usize = 1024 * 1024;
const OPEN311_LIMIT: usize = 16 * 1024;
/// A point in grid 320613001001001 (崇川区), the e2e tests' own.
const CHONGCHUAN: (f64, f64) = (120.802356, 32.138927);
/// A standard address in that grid.
const CHONGCHUAN_ADDRESS: &str = "江苏省南通市崇川区新江街道建设街24号";

/// Who refuses a hostile request, which says when the driver may send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// Intake itself, before anything is stored: at any time, whatever is down.
    Intake,
    /// Only grid-lookup or case-routing can refuse it: send it only while both answer,
    /// else it is queued (202) and later kept as a `rejected` event.
    Downstream,
}

/// One hostile request and what it must get.
#[derive(Debug, Clone)]
pub struct Hostile {
    /// What is wrong with it, for a failure message.
    pub what: &'static str,
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect_status: u16,
    /// The problem's stable `code`, or Open311's `error_code`; `None` for an Open311
    /// error that has none (a missing key, an unknown service, a wrong content type or
    /// format) and for a good request. Compare with [`problem_code`] of the reply.
    pub expect_code: Option<&'static str>,
    pub refused_by: RefusedBy,
}

impl Hostile {
    /// Whether intake answers before it reads the body (413 from the announced
    /// `Content-Length`): it may close the connection while a large body is still being
    /// written, so the client must read the answer even when writing the body fails.
    pub fn answered_before_its_body(&self) -> bool {
        self.expect_code == Some("body_too_large")
    }
}

/// The keys the driver made. The resident key must be able to report in 崇川区 (its
/// region prefix empty, `3206` or `320613`): the downstream refusals are placed there.
pub struct Keys {
    /// Scope `events:write`, unsigned.
    pub resident: String,
    /// Scope `events:write`, made with `"signed": true`.
    pub hotline: String,
    /// The hotline key's `signing_secret`.
    pub hotline_secret: String,
}

/// A varied set of hostile requests at simulated time `now` (the server's clock); `n`
/// varies their details (ids, texts, points, timestamps), so that no two runs send the
/// same bytes. Send each within 5 minutes of `now`: a signed one's timestamp is `now`.
pub fn hostile_requests(now: DateTime<Utc>, keys: &Keys, n: u64) -> Vec<Hostile> {
    let at = now.timestamp();
    let mut all = malformed(keys, n);
    all.extend(wrongly_typed(keys, n));
    all.extend(out_of_bounds(keys, n));
    all.extend(unauthenticated(keys, n));
    all.extend(signatures(at, keys, n));
    all.extend(batches(at, keys, n));
    all.extend(open311(keys, n));
    all.extend(downstream(keys, n));
    // The client's own request id (kept by every function): a refusal's log line names it.
    for (i, h) in all.iter_mut().enumerate() {
        h.headers.push(header("x-request-id", format!("sim-hostile-{n}-{i}")));
    }
    all
}

/// A good request and the hostile replays that must follow it.
pub struct Replayed {
    /// Accepted: 201 for an event (202 while a downstream is down), 200 for a batch.
    pub first: Hostile,
    /// Each refused, with nothing stored; send them after `first` has been answered.
    pub replays: Vec<Hostile>,
}

/// `event` (a valid `POST /v1/events` body from the resident key) sent with an
/// `Idempotency-Key` and an external id, then sent again with another description:
/// with the same key, and with the same source and external id alone, each 409
/// `idempotency_key_reused`.
pub fn idempotency_replays(keys: &Keys, n: u64, event: &Value) -> Replayed {
    let key = format!("sim-replay-{n}");
    let mut first_body = event.clone();
    first_body["external_id"] = key.clone().into();
    let mut changed = first_body.clone();
    changed["description"] = format!("另一件事 {n}").into();
    let with_key = |mut h: Hostile| {
        h.headers.push(("idempotency-key".into(), key.clone()));
        h
    };
    let first = with_key(event_post("the first of a retried event", &keys.resident, &first_body, 201, None));
    let replays = vec![
        with_key(event_post("same Idempotency-Key, another body", &keys.resident, &changed, 409, Some(REUSED))),
        event_post("same source and external id, another body", &keys.resident, &changed, 409, Some(REUSED)),
    ];
    Replayed { first, replays }
}

const REUSED: &str = "idempotency_key_reused";

/// `batch` (a valid hotline batch) signed with the hotline key at `now`, then the very
/// same bytes and headers again (401 `signature_replayed`), and the same headers over
/// another body (401 `signature_invalid`). Send the replays within 5 minutes of `now`,
/// else they are `timestamp_expired`.
pub fn signature_replay(now: DateTime<Utc>, keys: &Keys, batch: &Value) -> Replayed {
    let body = batch.to_string().into_bytes();
    let first = signed(keys, "a signed hotline batch", now.timestamp(), body, 200, None);
    let mut again = expect(first.clone(), 401, Some("signature_replayed"));
    again.what = "the same signed request again";
    let mut other = expect(first.clone(), 401, Some("signature_invalid"));
    other.what = "a used signature over another body";
    other.body = br#"{"orders": []}"#.to_vec();
    Replayed { first, replays: vec![again, other] }
}

/// The signing headers (`X-Wangge-Timestamp`, `X-Wangge-Signature`) of a signed key's
/// request: hex HMAC-SHA-256 with `secret` over `timestamp "\n" METHOD "\n" path?query
/// "\n" body`.
pub fn signed_headers(
    secret: &str,
    timestamp: i64,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let timestamp = timestamp.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    for part in [timestamp.as_bytes(), method.to_ascii_uppercase().as_bytes(), path_and_query.as_bytes()] {
        mac.update(part);
        mac.update(b"\n");
    }
    mac.update(body);
    let signature = hex::encode(mac.finalize().into_bytes());
    vec![("x-wangge-timestamp".into(), timestamp), ("x-wangge-signature".into(), signature)]
}

/// The code of a refusal's body: problem+json's `code`; Open311's `[{"error_code"}]`;
/// or, for a hotline batch's 200 in which every order was refused, the code they all
/// share. `None` for anything else (an accepted answer, an Open311 error without a
/// code, a body that is not JSON).
pub fn problem_code(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(code) = text(&value["code"]) {
        return Some(code);
    }
    if value.is_array() {
        return text(&value[0]["error_code"]);
    }
    let results = value["results"].as_array().filter(|r| !r.is_empty())?;
    let codes: Option<Vec<String>> =
        results.iter().map(|r| (r["status"] == "rejected").then(|| text(&r["problem"]["code"])).flatten()).collect();
    let codes = codes?;
    codes.iter().all(|c| *c == codes[0]).then(|| codes[0].clone())
}

/// The content type of every JSON body.
const JSON: &str = "application/json";
/// Open311's content type.
const FORM: &str = "application/x-www-form-urlencoded";

/// A resident's report (居民随手拍) at `point`, varied by `n`.
fn report(point: (f64, f64), category: &str, n: u64) -> Value {
    json!({
        "source": "resident",
        "reporter": { "name": "王小明", "phone": "13812345678", "wechat_openid": format!("oSIM-hostile-{n}") },
        "category": category,
        "description": format!("小区门口垃圾堆积 (hostile {n})"),
        "location": { "lng": point.0, "lat": point.1, "crs": "wgs84", "accuracy": 8 },
        "external_id": format!("hostile-{n}"),
    })
}

/// A point within a few metres of 崇川's, moved by `n`.
fn near(n: u64) -> (f64, f64) {
    (CHONGCHUAN.0 + (n % 7) as f64 * 1e-6, CHONGCHUAN.1 + (n % 5) as f64 * 1e-6)
}

/// A report near 崇川 with `change` made to it.
fn changed(n: u64, change: impl FnOnce(&mut Value)) -> Value {
    let mut body = report(near(n), "B05", n);
    change(&mut body);
    body
}

fn header(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// A POST of `body` as `content_type` with the bearer `key` (none when empty), refused
/// by intake with 400 and no code until [`expect`] says otherwise.
fn post(what: &'static str, path: &str, key: &str, content_type: &str, body: Vec<u8>) -> Hostile {
    let mut headers = vec![header("content-type", content_type)];
    if !key.is_empty() {
        headers.push(header("authorization", format!("Bearer {key}")));
    }
    let path = path.to_owned();
    Hostile {
        what,
        method: "POST",
        path,
        headers,
        body,
        expect_status: 400,
        expect_code: None,
        refused_by: RefusedBy::Intake,
    }
}

fn expect(mut h: Hostile, status: u16, code: Option<&'static str>) -> Hostile {
    (h.expect_status, h.expect_code) = (status, code);
    h
}

/// Raw bytes to `POST /v1/events` as JSON.
fn raw_event(what: &'static str, key: &str, body: Vec<u8>, status: u16, code: &'static str) -> Hostile {
    expect(post(what, EVENTS, key, JSON, body), status, Some(code))
}

fn event_post(what: &'static str, key: &str, body: &Value, status: u16, code: Option<&'static str>) -> Hostile {
    expect(post(what, EVENTS, key, JSON, body.to_string().into_bytes()), status, code)
}

/// Bodies that are not JSON, or not sent as JSON, or too large.
fn malformed(keys: &Keys, n: u64) -> Vec<Hostile> {
    let key = keys.resident.as_str();
    let good = report(near(n), "B05", n).to_string();
    let truncated = good.as_bytes()[..good.len() - 1].to_vec();
    let not_utf8 = [format!("{{\"description\": \"{n}").as_bytes(), &[0xff, 0xfe], b"\"}"].concat();
    let mut oversized = report(near(n), "B05", n);
    // Three bytes a character in UTF-8: one past the limit, and then some.
    oversized["description"] = "垃".repeat(EVENT_LIMIT / 3 + 1 + (n % 100) as usize).into();
    let form = format!("category=B05&n={n}").into_bytes();
    vec![
        raw_event("truncated JSON", key, truncated, 400, "malformed_json"),
        raw_event("JSON with trailing bytes", key, format!("{good} }}{n}").into_bytes(), 400, "malformed_json"),
        raw_event("a body of only whitespace", key, vec![b' '; 1 + (n % 97) as usize], 400, "malformed_json"),
        raw_event("bytes that are not UTF-8", key, not_utf8, 400, "malformed_json"),
        expect(post("a text/plain body", EVENTS, key, "text/plain", good.into_bytes()), 415, Some(UNSUPPORTED)),
        expect(post("a form body", EVENTS, key, FORM, form), 415, Some(UNSUPPORTED)),
        event_post("a body over 64 KiB", key, &oversized, 413, Some("body_too_large")),
        {
            let mut h = event_post("a 201-character Idempotency-Key", key, &report(near(n), "B05", n), 400, None);
            h.headers
                .push(header("idempotency-key", format!("{n}-").repeat(201).chars().take(201).collect::<String>()));
            expect(h, 400, Some("malformed_request"))
        },
    ]
}

const UNSUPPORTED: &str = "unsupported_media_type";

/// JSON that its schema refuses: 422 `validation_failed`.
fn wrongly_typed(keys: &Keys, n: u64) -> Vec<Hostile> {
    let invalid = |what, body: Value| event_post(what, &keys.resident, &body, 422, Some("validation_failed"));
    let photo = format!("https://img.example.cn/{n}.jpg");
    vec![
        invalid("\"location\": \"here\"", changed(n, |b| b["location"] = format!("here {n}").into())),
        invalid("a number for category", changed(n, |b| b["category"] = (n % 1000).into())),
        invalid("a string for lng", changed(n, |b| b["location"]["lng"] = CHONGCHUAN.0.to_string().into())),
        invalid("lng without lat", changed(n, |b| b["location"] = json!({ "lng": CHONGCHUAN.0 }))),
        invalid("an unknown crs", changed(n, |b| b["location"]["crs"] = "wgs-84".into())),
        invalid("an array for a body", json!([report(near(n), "B05", n)])),
        invalid("an unknown field", changed(n, |b| b["priority"] = "urgent".into())),
        invalid("ten attachments", changed(n, |b| b["attachments"] = json!(vec![photo.clone(); 10]))),
        invalid("an ftp attachment", changed(n, |b| b["attachments"] = json!([photo.replace("https", "ftp")]))),
        invalid("grid staff without who and when", changed(n, |b| b["source"] = "grid_staff".into())),
        invalid("an unknown source", changed(n, |b| b["source"] = "alien".into())),
    ]
}

/// Points out of range, or outside China.
fn out_of_bounds(keys: &Keys, n: u64) -> Vec<Hostile> {
    let key = keys.resident.as_str();
    let step = (n % 10) as f64;
    let range = Some("coordinates_out_of_range");
    vec![
        event_post("lng 190 or more", key, &report((190.0 + step, 32.0), "B05", n), 422, range),
        event_post("lat -91 or less", key, &report((120.8, -91.0 - step), "B05", n), 422, range),
        event_post("a point in Paris", key, &report((2.35 + step * 1e-3, 48.85), "B05", n), 422, Some("outside_china")),
    ]
}

/// Requests whose key is missing, unknown or pretends to sign.
fn unauthenticated(keys: &Keys, n: u64) -> Vec<Hostile> {
    let body = report(near(n), "B05", n);
    let anonymous = event_post("no Authorization header", "", &body, 401, Some("unauthenticated"));
    let unknown = event_post("an unknown key", &format!("wg_unknown_{n}"), &body, 401, Some("invalid_api_key"));
    let mut pretend = event_post("an unsigned key that signs", &keys.resident, &body, 401, Some("signature_invalid"));
    let bytes = pretend.body.clone();
    pretend.headers.extend(signed_headers(&keys.hotline_secret, 1_700_000_000 + n as i64, "POST", EVENTS, &bytes));
    vec![anonymous, unknown, pretend]
}

/// A valid hotline work order (工单), varied by `n` and `i`.
fn order(n: u64, i: usize) -> Value {
    json!({
        "order_no": format!("SIM-HOSTILE-{n}-{i}"),
        "request_type": "投诉",
        "caller": { "name": "李四", "phone": "13900000002" },
        "address": CHONGCHUAN_ADDRESS,
        "content": format!("小区门口垃圾堆积，无人清运 ({n}/{i})"),
        "received_at": "2026-11-26T09:00:00+08:00",
    })
}

/// A batch from the hotline key, signed at `at` (unix seconds) with its secret.
fn signed(keys: &Keys, what: &'static str, at: i64, body: Vec<u8>, status: u16, code: Option<&'static str>) -> Hostile {
    signed_as(keys, what, (&keys.hotline_secret, at, HOTLINE), body, status, code)
}

/// A batch from the hotline key with the signature of `secret` at `at` over `path`.
fn signed_as(
    keys: &Keys,
    what: &'static str,
    (secret, at, path): (&str, i64, &str),
    body: Vec<u8>,
    status: u16,
    code: Option<&'static str>,
) -> Hostile {
    let mut h = expect(post(what, HOTLINE, &keys.hotline, JSON, body), status, code);
    let headers = signed_headers(secret, at, "POST", path, &h.body);
    h.headers.extend(headers);
    h
}

/// `h` with its header `name` set to `value`, or dropped for `None`.
fn with_header(mut h: Hostile, name: &str, value: Option<String>) -> Hostile {
    h.headers.retain(|(k, _)| k != name);
    h.headers.extend(value.map(|v| header(name, v)));
    h
}

/// The hotline key's batches, unsigned or badly signed: each 401 with its code.
fn signatures(at: i64, keys: &Keys, n: u64) -> Vec<Hostile> {
    let body = json!({ "orders": [order(n, 0)] }).to_string().into_bytes();
    let invalid = Some("signature_invalid");
    let expired = Some("timestamp_expired");
    let required = Some("signature_required");
    let batch = |what, signer, code| signed_as(keys, what, signer, body.clone(), 401, code);
    let other_secret = format!("not-the-secret-{n}");
    let spread = (n % 600) as i64;
    let mut altered = batch("a body altered after signing", (&keys.hotline_secret, at, HOTLINE), invalid);
    altered.body = json!({ "orders": [order(n, 1)] }).to_string().into_bytes();
    let unsigned = batch("an unsigned batch from a signed key", (&keys.hotline_secret, at, HOTLINE), required);
    let unsigned = with_header(with_header(unsigned, "x-wangge-timestamp", None), "x-wangge-signature", None);
    let half = batch("a timestamp without a signature", (&keys.hotline_secret, at, HOTLINE), required);
    let not_hex = batch("a signature that is not hex", (&keys.hotline_secret, at, HOTLINE), invalid);
    let not_a_time = batch("a timestamp that is not a number", (&keys.hotline_secret, at, HOTLINE), expired);
    vec![
        unsigned,
        with_header(half, "x-wangge-signature", None),
        batch("signed with another secret", (&other_secret, at, HOTLINE), invalid),
        with_header(not_hex, "x-wangge-signature", Some(format!("zz{n}"))),
        batch("signed for another path", (&keys.hotline_secret, at, EVENTS), invalid),
        altered,
        batch("signed 15 minutes ago or more", (&keys.hotline_secret, at - 900 - spread, HOTLINE), expired),
        batch("signed 15 minutes ahead or more", (&keys.hotline_secret, at + 900 + spread, HOTLINE), expired),
        with_header(not_a_time, "x-wangge-timestamp", Some(format!("soon-{n}"))),
    ]
}

/// Well-signed batches whose bodies are bad: refused whole, or every order refused.
fn batches(at: i64, keys: &Keys, n: u64) -> Vec<Hostile> {
    let sign = |what, body: Value, status, code| signed(keys, what, at, body.to_string().into_bytes(), status, code);
    let invalid = |what, body: Value| sign(what, body, 422, Some("validation_failed"));
    let good = json!({ "orders": [order(n, 0)] }).to_string();
    let truncated = good.as_bytes()[..good.len() - 1].to_vec();
    let mut big = json!({ "orders": [order(n, 0)] });
    big["orders"][0]["content"] = "堆".repeat(BATCH_LIMIT / 3 + 1 + (n % 100) as usize).into();
    let mut bad = vec![order(n, 0), order(n, 1), order(n, 2)];
    if let Some(o) = bad[0].as_object_mut() {
        o.remove("content");
    }
    bad[1]["request_type"] = "催办".into();
    bad[2]["caller"]["phone"] = format!("phone-{n}").into();
    let none = format!("{{\"orders\":{}[]}}", " ".repeat(1 + (n % 97) as usize));
    let many: Vec<Value> = (0..101).map(|i| order(n, i)).collect();
    vec![
        signed(keys, "a signed batch of truncated JSON", at, truncated, 400, Some("malformed_json")),
        signed(keys, "a batch of no orders", at, none.into_bytes(), 422, Some("validation_failed")),
        invalid("orders as a string", json!({ "orders": format!("order {n}") })),
        invalid("a batch of 101 orders", json!({ "orders": many })),
        invalid("a batch with another field", json!({ "orders": [order(n, 0)], "priority": n })),
        sign("a batch over 1 MiB", big, 413, Some("body_too_large")),
        sign("a batch whose every order is bad (200, each refused)", json!({ "orders": bad }), 200, Some(VALIDATION)),
    ]
}

const VALIDATION: &str = "validation_failed";

/// An Open311 form's fields, in order.
type Fields = Vec<(&'static str, String)>;

/// A good Open311 request's fields, from `api_key`, near 崇川.
fn open311_fields(api_key: &str, n: u64) -> Fields {
    let (lng, lat) = near(n);
    vec![
        ("api_key", api_key.to_owned()),
        ("service_code", "B05".to_owned()),
        ("lat", lat.to_string()),
        ("long", lng.to_string()),
        ("description", format!("垃圾桶满了 ({n})")),
        ("phone", "13800000001".to_owned()),
    ]
}

/// `fields` with `name` set to `value` (added if missing), or dropped for `None`.
fn with_field(mut fields: Fields, name: &'static str, value: Option<String>) -> Fields {
    fields.retain(|(k, _)| *k != name);
    fields.extend(value.map(|v| (name, v)));
    fields
}

/// A form `POST requests.json` of `fields`; its key is the form's `api_key`.
fn open311_post(what: &'static str, fields: &Fields, status: u16, code: Option<&'static str>) -> Hostile {
    let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", wangge_e2e::percent_encode(v))).collect();
    expect(post(what, OPEN311, "", FORM, pairs.join("&").into_bytes()), status, code)
}

/// Open311 `POST requests.json`, answered in GeoReport's shape: 403 for keys, 400 for input.
fn open311(keys: &Keys, n: u64) -> Vec<Hostile> {
    let good = open311_fields(&keys.resident, n);
    let set = |name, value: String| with_field(good.clone(), name, Some(value));
    let mut as_json = open311_post("an Open311 request as JSON", &good, 400, None);
    as_json = with_header(as_json, "content-type", Some(JSON.into()));
    let mut xml = open311_post("an Open311 request to requests.xml", &good, 400, None);
    xml.path = "/open311/v2/requests.xml".into();
    let big = set("media_url", format!("https://img.example.cn/{}", "x".repeat(OPEN311_LIMIT + (n % 100) as usize)));
    let paris = with_field(set("lat", "48.85".into()), "long", Some(format!("2.3{}", n % 10)));
    let no_place = with_field(with_field(good.clone(), "lat", None), "long", None);
    let key = |what, fields: &Fields, code| open311_post(what, fields, 403, code);
    let input = |what, fields: &Fields, code| open311_post(what, fields, 400, Some(code));
    vec![
        key("an Open311 request without api_key", &with_field(good.clone(), "api_key", None), None),
        key(
            "an Open311 request with an unknown api_key",
            &set("api_key", format!("wg_nope_{n}")),
            Some("invalid_api_key"),
        ),
        key(
            "an Open311 request from a signed key, unsigned",
            &set("api_key", keys.hotline.clone()),
            Some("signature_required"),
        ),
        as_json,
        xml,
        input("an Open311 request with no place", &no_place, VALIDATION),
        input("an Open311 request with a bad phone", &set("phone", format!("call-{n}")), VALIDATION),
        input(
            "an Open311 request with lat 91 or more",
            &set("lat", format!("9{}.5", 1 + n % 9)),
            "coordinates_out_of_range",
        ),
        input("an Open311 request in Paris", &paris, "outside_china"),
        open311_post("an Open311 request over 16 KiB", &big, 413, Some("body_too_large")),
    ]
}

/// Refusals only grid-lookup or case-routing can make: send them only while both answer.
/// Each has an external id of its own: its pending event is deleted once refused.
fn downstream(keys: &Keys, n: u64) -> Vec<Hostile> {
    let downstream = |mut h: Hostile| {
        h.refused_by = RefusedBy::Downstream;
        h
    };
    // No category of the catalogue starts with Q or X.
    let unknown = format!("{}{:02}", ['Q', 'X'][(n % 2) as usize], n % 100);
    let mut category = report(near(n), &unknown, n);
    category["external_id"] = format!("hostile-{n}-category").into();
    let mut beijing = report((116.39 + (n % 10) as f64 * 1e-3, 39.9), "B05", n);
    beijing["external_id"] = format!("hostile-{n}-coverage").into();
    let service = with_field(open311_fields(&keys.resident, n), "service_code", Some(unknown));
    let key = keys.resident.as_str();
    vec![
        downstream(event_post("an unknown category", key, &category, 422, Some("unknown_category"))),
        downstream(event_post(
            "a point in no grid and no district (Beijing)",
            key,
            &beijing,
            404,
            Some("outside_coverage"),
        )),
        downstream(open311_post("an unknown Open311 service", &service, 404, None)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_headers_match_intakes_known_vector() {
        // wangge_intake::signature's `known_vector`: HMAC-SHA-256("key", "1\nPOST\n/p\nbody").
        let headers = signed_headers("key", 1, "post", "/p", b"body");
        assert_eq!(
            headers,
            vec![
                ("x-wangge-timestamp".to_owned(), "1".to_owned()),
                (
                    "x-wangge-signature".to_owned(),
                    "f18b94a7213e23c22ebb1cb99a780861f60f9e3e5806003d179713babfeff31d".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn problem_codes_are_read_from_every_shape() {
        assert_eq!(problem_code(r#"{"status": 422, "code": "unknown_category"}"#).as_deref(), Some("unknown_category"));
        assert_eq!(
            problem_code(r#"[{"code": 403, "description": "bad", "error_code": "invalid_api_key"}]"#).as_deref(),
            Some("invalid_api_key")
        );
        assert_eq!(problem_code(r#"[{"code": 403, "description": "api_key is required"}]"#), None);
        let refused = r#"{"results": [{"status": "rejected", "problem": {"code": "validation_failed"}},
                                      {"status": "rejected", "problem": {"code": "validation_failed"}}]}"#;
        assert_eq!(problem_code(refused).as_deref(), Some("validation_failed"));
        let mixed = r#"{"results": [{"status": "rejected", "problem": {"code": "validation_failed"}}, {"status": "accepted"}]}"#;
        assert_eq!(problem_code(mixed), None);
        assert_eq!(problem_code(r#"{"event_id": "e1", "status": "accepted"}"#), None);
        assert_eq!(problem_code("<errors/>"), None);
    }

    #[test]
    fn no_two_runs_send_the_same_bytes_and_every_refusal_says_its_code() {
        let keys = Keys { resident: "r".into(), hotline: "h".into(), hotline_secret: "s".into() };
        let now = DateTime::parse_from_rfc3339("2026-11-26T09:00:00+08:00").unwrap().with_timezone(&Utc);
        let (a, b) = (hostile_requests(now, &keys, 1), hostile_requests(now, &keys, 2));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_ne!(x.body, y.body, "{} sends the same body twice", x.what);
            assert!(x.expect_status >= 400 || x.expect_code.is_some(), "{} expects nothing", x.what);
        }
        let whats: std::collections::BTreeSet<_> = a.iter().map(|h| h.what).collect();
        assert_eq!(whats.len(), a.len(), "each kind once");
    }
}
