//! Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): service codes are our
//! category codes, a service request is an event (its id is the event id), and a
//! request's status is its case's: `closed` once the case is closed, rejected or
//! merged, `open` before.

use serde_json::{Value, json};
use wangge_cases::store::CaseState;

use crate::event::{Event, Reporter, point};

/// The spec's limits on `GET requests.json`.
pub const MAX_RANGE_DAYS: i64 = 90;
pub const MAX_RECORDS: usize = 1000;

/// An error in the spec's shape: `[{"code": <status>, "description": "..."}]`.
pub fn error(status: u16, description: &str) -> Value {
    json!([{ "code": status, "description": description }])
}

/// The spec's XML error list, for resources asked for as `.xml`.
pub fn error_xml(status: u16, description: &str, error_code: Option<&str>) -> String {
    let code = error_code.map(|c| format!("<error_code>{}</error_code>", escape_xml(c))).unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>{status}</code><description>{}</description>{code}</error></errors>",
        escape_xml(description)
    )
}

fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes a form body (`a=1&b=x+y`) into a JSON object of strings: the last value of
/// a repeated field wins. Malformed percent escapes are kept as written.
pub fn form(body: &str) -> Value {
    Value::Object(wangge_core::query::pairs(body).map(|(k, v)| (k, Value::String(v))).collect())
}

/// A service (GET services.json) from a catalogue category.
pub fn service(category: &Value, domains: &Value) -> Value {
    let domain = category["domain"].as_str().unwrap_or_default();
    json!({
        "service_code": category["code"],
        "service_name": category["name"],
        "description": category["name_en"],
        "metadata": false,
        "type": if category["priority"] == "urgent" { "realtime" } else { "batch" },
        "keywords": domains[domain]["name"].as_str().unwrap_or_default(),
        "group": domains[domain]["name"].as_str().unwrap_or(domain),
    })
}

/// A service definition (GET services/{code}.json): no extra attributes.
pub fn definition(code: &str) -> Value {
    json!({ "service_code": code, "attributes": [] })
}

/// The event of a POSTed request, once its form has passed `schemas/open311.request.json`.
pub fn into_event(fields: &Value, id: String, reported_at: String) -> Result<(Event, Reporter), wangge_core::Problem> {
    let text = |k: &str| fields[k].as_str().map(str::to_owned).filter(|s| !s.trim().is_empty());
    let number = |k: &str| text(k).and_then(|s| s.trim().parse::<f64>().ok());
    let location = match (number("long"), number("lat")) {
        (Some(lng), Some(lat)) => Some(point(lng, lat, "wgs84", 0.0)?),
        _ => None,
    };
    let name = match (text("last_name"), text("first_name")) {
        (Some(last), Some(first)) => Some(format!("{last}{first}")),
        (a, b) => a.or(b),
    };
    let event = Event {
        id,
        channel: "open311".into(),
        source: "open311".into(),
        reporter_staff_id: None,
        category: text("service_code").unwrap_or_default(),
        category_from: crate::triage::CategoryFrom::Given,
        description: text("description").unwrap_or_default(),
        address: if location.is_none() { text("address_string") } else { None },
        point: location,
        discovered_at: None,
        reported_at,
        attachments: text("media_url").into_iter().collect(),
        external_id: None,
        hotline: None,
        triage: None,
    };
    Ok((event, Reporter { name, phone: text("phone"), wechat_openid: None }))
}

/// A service request as GET requests.json answers it. `case` is what case-routing
/// said of the event's case, if it answered.
pub fn request(event: &Event, status: &str, updated_at: &str, case: Option<&CaseState>, service_name: &str) -> Value {
    let open = match case {
        Some(c) => c.open,
        None => status == "pending" || status == "accepted",
    };
    let notes = match (status, case) {
        ("pending", _) => "已受理，正在分派 (queued for routing)".to_owned(),
        (_, Some(c)) => c.state.as_str().to_owned(),
        _ => String::new(),
    };
    json!({
        "service_request_id": event.id,
        "status": if open { "open" } else { "closed" },
        "status_notes": notes,
        "service_name": service_name,
        "service_code": event.category,
        "description": event.description,
        "agency_responsible": case.and_then(|c| c.assignee.as_deref()).unwrap_or_default(),
        "service_notice": "",
        "requested_datetime": event.reported_at,
        "updated_datetime": case.map(|c| c.updated_at.as_str()).unwrap_or(updated_at),
        "expected_datetime": case.and_then(|c| c.resolve_due.as_deref()),
        "address": event.address.clone().unwrap_or_default(),
        "address_id": "",
        "zipcode": "",
        "lat": event.point.as_ref().map(|p| p.wgs84_lat),
        "long": event.point.as_ref().map(|p| p.wgs84_lng),
        "media_url": event.attachments.first().cloned().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_errors_escape_their_text() {
        assert_eq!(
            error_xml(400, "a < b & \"c\"", Some("validation_failed")),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>400</code><description>a &lt; b &amp; &quot;c&quot;</description><error_code>validation_failed</error_code></error></errors>"
        );
    }

    #[test]
    fn forms_decode_plus_and_percent() {
        let f = form("api_key=k&service_code=B05&description=%E5%9E%83%E5%9C%BE+pile&lat=32.0&long=120.9");
        assert_eq!(f["description"], "垃圾 pile");
        assert_eq!(f["service_code"], "B05");
    }

    #[test]
    fn a_posted_request_becomes_an_open311_event() {
        let f = form(
            "service_code=B05&lat=32.0&long=120.9&first_name=%E4%B8%89&last_name=%E5%BC%A0&phone=13800000001&media_url=https://x/1.jpg&description=d",
        );
        let (event, reporter) = into_event(&f, "e1".into(), "2026-11-26T09:00:00+08:00".into()).unwrap();
        assert_eq!((event.source.as_str(), event.category.as_str()), ("open311", "B05"));
        assert_eq!(reporter.name.as_deref(), Some("张三"));
        assert_eq!(event.attachments, vec!["https://x/1.jpg"]);
        let closed = CaseState {
            id: event.id.clone(),
            state: wangge_cases::lifecycle::State::Closed,
            open: false,
            updated_at: "t".into(),
            resolve_due: None,
            merged_into: None,
            assignee: None,
        };
        let answer = request(&event, "accepted", "t", Some(&closed), "暴露垃圾");
        assert_eq!(answer["status"], "closed");
        assert_eq!(answer["service_request_id"], "e1");
        assert_eq!(error(403, "bad key"), json!([{ "code": 403, "description": "bad key" }]));
    }
}
