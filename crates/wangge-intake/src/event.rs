//! A native event (`POST /v1/events`): checked beyond its schema, normalised to WGS-84,
//! and kept as the [`Event`] that the queue stores and retries.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wangge_core::{ErrorCode, FieldError, Problem};
use wangge_geo::Crs;

use crate::triage::{CategoryFrom, Classifier, categorize};
pub use wangge_cases::api::TriageNote;

/// The body of `POST /v1/events`, once it has passed `schemas/event.create.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventIn {
    pub source: String,
    #[serde(default)]
    pub reporter: ReporterIn,
    /// Left out, the classifier places the description (智能派单).
    #[serde(default)]
    pub category: Option<String>,
    pub description: String,
    pub location: LocationIn,
    #[serde(default)]
    pub discovered_at: Option<String>,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReporterIn {
    #[serde(default)]
    pub staff_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub wechat_openid: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LocationIn {
    #[serde(default)]
    pub lng: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub crs: Option<String>,
    #[serde(default)]
    pub accuracy: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
}

/// A reporter's personal data: kept in its own table, masked when shown.
pub use wangge_core::privacy::Reporter;

/// Where an event happened, as sent and as stored (WGS-84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lng: f64,
    pub lat: f64,
    pub crs: String,
    pub wgs84_lng: f64,
    pub wgs84_lat: f64,
    pub accuracy_m: f64,
}

/// An accepted event, as the queue keeps it until it is a case. No personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    /// `events`, `hotline` or `open311`.
    pub channel: String,
    /// The case source: `grid_staff`, `resident`, `department`, `inspection`, `hotline`, `open311`.
    pub source: String,
    pub reporter_staff_id: Option<String>,
    pub category: String,
    /// How the category was chosen.
    pub category_from: CategoryFrom,
    pub description: String,
    pub point: Option<Point>,
    pub address: Option<String>,
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub attachments: Vec<String>,
    pub external_id: Option<String>,
    /// Hotline work orders: the request type and the hotline's own deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotline: Option<HotlineOrder>,
    /// How the classifier placed it (智能派单), when it had no category of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<TriageNote>,
}

#[cfg(test)]
impl Event {
    /// A resident's report of rubbish (B05) by address, for the crate's tests.
    pub(crate) fn example(id: &str, address: &str, reported_at: &str) -> Event {
        Event {
            id: id.into(),
            channel: "events".into(),
            source: "resident".into(),
            reporter_staff_id: None,
            category: "B05".into(),
            category_from: CategoryFrom::Given,
            description: "垃圾".into(),
            point: None,
            address: Some(address.into()),
            discovered_at: None,
            reported_at: reported_at.into(),
            attachments: Vec::new(),
            external_id: None,
            hotline: None,
            triage: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotlineOrder {
    pub request_type: String,
    pub deadline: Option<String>,
}

/// `coordinates_out_of_range` for a longitude or latitude that is a number outside
/// its range, checked before the schema so that it has its own code.
pub fn check_coordinates(body: &Value, pointer: &str) -> Result<(), Problem> {
    let mut errors = Vec::new();
    for (field, limit) in [("lng", 180.0), ("lat", 90.0)] {
        let at = format!("{pointer}/{field}");
        if let Some(v) = body.pointer(&at).and_then(Value::as_f64)
            && !(-limit..=limit).contains(&v)
        {
            errors.push(FieldError::new(at, "out_of_range", format!("{field} must be within -{limit}..{limit}")));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(Problem::new(ErrorCode::CoordinatesOutOfRange)
        .with_detail(
            "longitude is within -180..180 and latitude within -90..90",
            "经度应在 -180..180、纬度应在 -90..90 之间",
        )
        .with_errors(errors))
}

/// A point in `crs`, normalised to WGS-84; `outside_china` past China's box.
pub fn point(lng: f64, lat: f64, crs: &str, accuracy: f64) -> Result<Point, Problem> {
    let system = Crs::parse(crs).unwrap_or(Crs::Wgs84);
    if wangge_geo::crs::out_of_china(lng, lat) {
        return Err(Problem::new(ErrorCode::OutsideChina)
            .with_detail(format!("({lng}, {lat}) lies outside China"), format!("（{lng}，{lat}）不在中国境内"))
            .with_extension("point", serde_json::json!({ "lng": lng, "lat": lat, "crs": system.as_str() })));
    }
    let (wgs84_lng, wgs84_lat) = system.to_wgs84(lng, lat);
    Ok(Point { lng, lat, crs: system.as_str().to_owned(), wgs84_lng, wgs84_lat, accuracy_m: accuracy })
}

impl EventIn {
    /// Whether the event comes with no category, and so needs the classifier.
    pub fn needs_classifier(&self) -> bool {
        self.category.is_none()
    }

    /// The event to queue, with its reporter apart. `now` is the reported time. An event
    /// with no category is placed by `classifier`; without one, it goes to the centre.
    pub fn into_event(
        self,
        id: String,
        reported_at: String,
        classifier: Option<&Classifier<'_>>,
    ) -> Result<(Event, Reporter), Problem> {
        let stated = self.category.map(|category| (category, CategoryFrom::Given));
        let (category, category_from, triage) = categorize(stated, &self.description, classifier);
        let point = match (self.location.lng, self.location.lat) {
            (Some(lng), Some(lat)) => Some(point(
                lng,
                lat,
                self.location.crs.as_deref().unwrap_or("wgs84"),
                self.location.accuracy.unwrap_or(0.0),
            )?),
            _ => None,
        };
        let discovered_at =
            self.discovered_at.as_deref().and_then(wangge_core::time::parse).map(wangge_core::time::render);
        let event = Event {
            id,
            channel: "events".into(),
            source: self.source,
            reporter_staff_id: self.reporter.staff_id,
            category,
            category_from,
            description: self.description,
            point,
            address: self.location.address.filter(|_| self.location.lng.is_none()),
            discovered_at,
            reported_at,
            attachments: self.attachments,
            external_id: self.external_id,
            hotline: None,
            triage,
        };
        let reporter = Reporter {
            name: self.reporter.name,
            phone: self.reporter.phone,
            wechat_openid: self.reporter.wechat_openid,
        };
        Ok((event, reporter))
    }
}

/// SHA-256 of a body's canonical JSON (keys sorted, no insignificant whitespace): the
/// same request re-sent with its keys in another order is the same request.
pub fn request_hash(body: &Value) -> String {
    wangge_core::json::canonical_sha256(body)
}

/// Canonical JSON, as docs/conventions.md defines it.
pub use wangge_core::json::canonical;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn out_of_range_coordinates_have_their_own_code() {
        let body = json!({ "location": { "lng": 181.0, "lat": -91 } });
        let p = check_coordinates(&body, "/location").unwrap_err();
        assert_eq!(p.code, ErrorCode::CoordinatesOutOfRange);
        assert_eq!(p.errors.len(), 2);
        assert_eq!(p.errors[0].pointer, "/location/lng");
        assert!(check_coordinates(&json!({ "location": { "lng": 120.0, "lat": 32.0 } }), "/location").is_ok());
    }

    #[test]
    fn outside_china_is_refused_and_gcj02_is_normalised() {
        assert_eq!(point(2.35, 48.85, "wgs84", 0.0).unwrap_err().code, ErrorCode::OutsideChina);
        let p = point(120.8943, 31.9834, "gcj02", 5.0).unwrap();
        let (lng, lat) = wangge_geo::crs::gcj02_to_wgs84(120.8943, 31.9834);
        assert!((p.wgs84_lng - lng).abs() < 1e-9 && (p.wgs84_lat - lat).abs() < 1e-9);
        assert!((p.wgs84_lng - 120.8943).abs() > 1e-4, "GCJ-02 is shifted by hundreds of metres");
    }

    #[test]
    fn the_hash_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "文"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"文","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_eq!(canonical(&b), r#"{"a":{"x":"文","y":[1,2]},"b":1}"#);
        assert_ne!(request_hash(&a), request_hash(&json!({ "b": 2, "a": { "x": "文", "y": [1, 2] } })));
    }
}
