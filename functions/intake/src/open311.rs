//! Open311 GeoReport v2 under `/open311/v2/`: JSON, errors as
//! `[{"code", "description"}]`, 403 for a missing or bad `api_key`. Reading services
//! and requests needs no key, as the spec has it; no personal data is ever shown.

use serde_json::{Value, json};
use spin_sdk::http::Response;
use wangge_cases::api::{CaseStates, Catalogue, StatesWanted};
use wangge_cases::reference::Category;
use wangge_core::auth::Scope;
use wangge_core::{ErrorCode, Problem};
use wangge_intake::event::check_coordinates;
use wangge_intake::open311::{self, MAX_RANGE_DAYS, MAX_RECORDS};
use wangge_intake::schema;
use wangge_intake::store::{self, Stored};
use wangge_spin::chain;
use wangge_spin::router::Found;
use wangge_spin::{KIB, Reply, Req, json, route_table};

use crate::COMPONENT;
use crate::events::{EVENT_BODY_LIMIT, One, Taken, repeat, take};
use crate::guard::{self, Settings};
use crate::process::{Context, Processed};
use wangge_spin::Timing;

/// The representation a resource path asks for (`requests.json`, `requests.xml`).
/// Errors come back in it; resources are served as JSON only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `.json`, which every resource serves.
    Json,
    /// `.xml`, the spec's other format: only its errors are served in it.
    Xml,
}

/// An Open311 error response: `[{"code", "description"}]`, or the spec's
/// `<errors><error>…</error></errors>` for `.xml`.
fn error(format: Format, status: u16, description: impl Into<String>) -> Response {
    error_with(format, status, &description.into(), None)
}

fn error_with(format: Format, status: u16, description: &str, error_code: Option<&str>) -> Response {
    match format {
        Format::Json => {
            let mut body = open311::error(status, description);
            if let Some(code) = error_code {
                body[0]["error_code"] = code.into();
            }
            json(status, &body)
        }
        Format::Xml => Response::builder()
            .status(status)
            .header("content-type", "text/xml; charset=utf-8")
            .body(open311::error_xml(status, description, error_code))
            .build(),
    }
}

/// One of our problems in the spec's shape, with the spec's statuses: a bad key is
/// 403, bad input 400. Our stable code comes along as `error_code`.
fn from_problem(format: Format, p: &Problem, lang: wangge_core::Lang) -> Response {
    from_problem_json(format, &p.to_json(lang), p.headers().into_iter().map(|(n, v)| (n.to_owned(), v)))
}

/// A problem+json body (ours, or one stored with an event) in the spec's shape.
fn from_problem_json(format: Format, body: &Value, headers: impl Iterator<Item = (String, String)>) -> Response {
    let mut description = body["detail"].as_str().or(body["title"].as_str()).unwrap_or_default().to_owned();
    if let Some(errors) = body["errors"].as_array() {
        let fields: Vec<String> = errors
            .iter()
            .map(|e| format!("{} {}", e["pointer"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or("")))
            .collect();
        description = format!("{description}: {}", fields.join("; "));
    }
    let status = match body["status"].as_u64().unwrap_or(500) as u16 {
        401 => 403,
        422 => 400,
        s => s,
    };
    let mut response = error_with(format, status, &description, body["code"].as_str());
    for (name, value) in headers {
        if name != "content-type" {
            response.set_header(name, value);
        }
    }
    response
}

route_table! {
    /// GeoReport v2's resources; `{format}` is `json` (or `xml`, refused in XML).
    pub static ROUTES;
    |req, p| {
        GET  "/open311/v2/services.{format}" => services(&req).await,
        GET  "/open311/v2/services/{code}.{format}" => definition(&req, p.get("code")).await,
        POST "/open311/v2/requests.{format}" => create(req).await,
        GET  "/open311/v2/requests.{format}" => list(&req).await,
        GET  "/open311/v2/requests/{id}.{format}" => one(&req, p.get("id")).await,
    }
}

/// Everything under `/open311/v2/`: dispatched through [`ROUTES`], every error in the
/// spec's shape (404 and 405 included), never problem+json.
pub async fn handle(req: Req) -> Reply {
    let lang = req.lang;
    let last = req.path.rsplit('/').next().unwrap_or_default();
    let format = match last.rsplit_once('.') {
        Some((_, "json")) => Format::Json,
        Some((_, "xml")) => Format::Xml,
        Some((_, other)) => return Ok(error(Format::Json, 400, format!("format `{other}` is not served; use .json"))),
        None => return Ok(error(Format::Json, 404, "Open311 resources end in .json")),
    };
    // Only the jurisdiction here: a POST loads the rest of its settings once, in `create`.
    let jurisdiction = spin_sdk::variables::get("jurisdiction").unwrap_or_default();
    if let Some(j) = req.query_param("jurisdiction_id").filter(|j| !j.is_empty())
        && !jurisdiction.starts_with(&j)
        && !j.starts_with(&jurisdiction)
    {
        return Ok(error(
            format,
            404,
            format!("jurisdiction_id `{j}` is not served here; this endpoint serves {jurisdiction}"),
        ));
    }
    match ROUTES.find(&req.method.to_string(), &req.path) {
        Found::NotFound => Ok(error(format, 404, "no such Open311 resource")),
        Found::MethodNotAllowed(allow) => {
            let mut response = error(format, 405, format!("method not allowed; use {allow}"));
            response.set_header("allow", allow);
            Ok(response)
        }
        Found::Route(..) if format == Format::Xml => Ok(error(format, 400, "format `xml` is not served; use .json")),
        Found::Route(row, params) => {
            Ok((row.handler)(req, params).await.unwrap_or_else(|p| from_problem(format, &p, lang)))
        }
    }
}

/// The catalogue of matters, from case-routing (`wangge_cases::api::Categories`), read
/// strictly: an answer with an unknown or a missing field is unavailable, never guessed.
async fn catalogue(req: &Req) -> Result<Catalogue, Problem> {
    wangge_spin::chain::ask::<wangge_cases::api::Categories>(&(), &req.request_id, req.lang).await.map_err(|_| {
        Problem::new(ErrorCode::DependencyUnavailable)
            .with_detail("the catalogue of matters is unavailable", "事项目录暂不可用")
            .with_retry_after(5)
    })
}

fn category<'a>(catalogue: &'a Catalogue, code: &str) -> Option<&'a Category> {
    catalogue.categories.iter().find(|c| c.code == code)
}

/// `GET services.json`.
async fn services(req: &Req) -> Result<Response, Problem> {
    let catalogue = catalogue(req).await?;
    // wangge_intake::open311 builds services from JSON: the typed catalogue, as written.
    let domains = serde_json::to_value(&catalogue.domains).unwrap_or_default();
    let services: Vec<Value> = catalogue
        .categories
        .iter()
        .map(|c| open311::service(&serde_json::to_value(c).unwrap_or_default(), &domains))
        .collect();
    Ok(json(200, &services))
}

/// `GET services/{code}.json`.
async fn definition(req: &Req, code: &str) -> Result<Response, Problem> {
    let catalogue = catalogue(req).await?;
    match category(&catalogue, code) {
        Some(_) => Ok(json(200, &open311::definition(code))),
        None => Ok(error(Format::Json, 404, format!("no service `{code}`"))),
    }
}

/// `POST requests.json`: form-encoded, `api_key` in the form or the query.
async fn create(mut req: Req) -> Result<Response, Problem> {
    let settings = &Settings::load();
    let content_type = req.header("content-type").unwrap_or("").to_ascii_lowercase();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(error(Format::Json, 400, "send the request as application/x-www-form-urlencoded"));
    }
    let body = req.body(EVENT_BODY_LIMIT.min(16 * KIB)).await?;
    let fields = fields_of(&req, &body);
    let Some(api_key) = fields["api_key"].as_str().map(str::to_owned) else {
        return Ok(error(Format::Json, 403, "api_key is required"));
    };
    let principal = wangge_spin::auth::authenticate(Some(&format!("Bearer {api_key}")))
        .map_err(|_| Problem::new(ErrorCode::InvalidApiKey).with_detail("api_key is not valid", "api_key 无效"))?;
    principal.require(Scope::EventsWrite)?;
    let guard = guard::guard(&req, &principal, &body, settings)?;
    // Open311 sends numbers as text: range-check them as numbers first.
    let numbers = json!({ "location": {
        "lng": fields["long"].as_str().and_then(|s| s.trim().parse::<f64>().ok()),
        "lat": fields["lat"].as_str().and_then(|s| s.trim().parse::<f64>().ok()),
    }});
    check_coordinates(&numbers, "/location")?;
    schema::validate("open311.request", &fields).map_err(crate::events::invalid)?;
    let catalogue = catalogue(&req).await.ok();
    let code = fields["service_code"].as_str().unwrap_or_default().to_owned();
    if let Some(c) = &catalogue
        && category(c, &code).is_none()
    {
        return Ok(error(Format::Json, 404, format!("service_code `{code}` is not a service here")));
    }
    let now = wangge_core::time::now_utc();
    let (event, reporter) = open311::into_event(&fields, wangge_core::ids::new_id(), wangge_core::time::render(now))?;
    let mut hashed = fields.clone();
    hashed["api_key"] = Value::Null;
    let hash = wangge_intake::event::request_hash(&hashed);
    let idempotency_key = guard::idempotency_key(&req, &principal)?;
    let one = One { event: &event, reporter: &reporter, hash: &hash, idempotency_key, external_key: None };
    let ctx = Context { settings, request_id: &req.request_id, lang: req.lang };
    let processed = match take(COMPONENT.db()?, &principal, &guard, &ctx, one, &mut Timing::start()).await? {
        Taken::Again(stored) => return Ok(again(&stored)),
        Taken::Done { processed, .. } => processed,
    };
    match processed {
        Processed::Accepted { answer, .. } => {
            let notice = match answer["merged_into"].as_str() {
                Some(into) => format!("已合并到案件 {into} (merged into an open request nearby)"),
                None => "已受理 (received)".to_owned(),
            };
            Ok(created(&event.id, &notice))
        }
        Processed::Rejected(problem) => Err(problem),
        Processed::Unavailable(_) => Ok(created(&event.id, "已接收，稍后分派 (received; routing shortly)")),
    }
}

/// The same request again: its first answer, a refusal in the spec's shape included.
fn again(stored: &Stored) -> Response {
    if stored.status == "rejected"
        && let Some(problem) = &stored.answer
    {
        let mut again = from_problem_json(Format::Json, problem, std::iter::empty());
        again.set_header("idempotent-replayed", "true");
        return again;
    }
    let first = repeat(stored);
    if first.status() >= &400 {
        return first;
    }
    created(&stored.event.id, "this request was received before")
}

/// The form's fields, with `api_key` from the query when the form has none.
fn fields_of(req: &Req, body: &[u8]) -> Value {
    let mut fields = open311::form(&String::from_utf8_lossy(body));
    if fields.get("api_key").is_none()
        && let Some(key) = req.query_param("api_key")
    {
        fields["api_key"] = key.into();
    }
    fields
}

fn created(id: &str, notice: &str) -> Response {
    json(200, &json!([{ "service_request_id": id, "service_notice": notice, "account_id": Value::Null }]))
}

/// Each stored event as a service request, with its case's state from case-routing
/// (or, if case-routing does not answer, from the event alone).
async fn requests(req: &Req, stored: &[Stored]) -> Vec<Value> {
    let ids: Vec<String> = stored.iter().filter_map(|s| s.case_id.clone()).collect();
    let mut states = std::collections::HashMap::new();
    if !ids.is_empty()
        && let Ok(answer) = chain::ask::<CaseStates>(&StatesWanted { ids }, &req.request_id, req.lang).await
    {
        states.extend(answer.cases.into_iter().map(|c| (c.id.clone(), c)));
    }
    let catalogue = catalogue(req).await.unwrap_or_else(|_| wangge_cases::api::empty_catalogue());
    // Reading needs no key, as the spec has it; the handling agency's code (a grid or a
    // department) is shown only to a key whose region covers it.
    let reader = req.header("authorization").and_then(|_| req.principal().ok());
    stored
        .iter()
        .filter(|s| s.status != "rejected")
        .map(|s| {
            let case = s.case_id.as_deref().and_then(|id| states.get(id));
            let name = category(&catalogue, &s.event.category).map(|c| c.name.as_str()).unwrap_or_default();
            let mut request = open311::request(&s.event, &s.status, &s.updated_at, case, name);
            let agency = request["agency_responsible"].as_str().unwrap_or_default();
            if !reader.as_ref().is_some_and(|r| r.covers_region(agency)) {
                request["agency_responsible"] = "".into();
            }
            request
        })
        .collect()
}

/// `GET requests.json?service_request_id=&service_code=&start_date=&end_date=&status=`.
async fn list(req: &Req) -> Result<Response, Problem> {
    let db = COMPONENT.db()?;
    let csv = |name: &str| -> Vec<String> {
        req.query_param(name)
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    };
    let ids = csv("service_request_id");
    let stored = if !ids.is_empty() {
        // The spec: service_request_id overrides every other filter.
        if ids.len() > MAX_RECORDS {
            return Ok(error(Format::Json, 400, format!("at most {MAX_RECORDS} service_request_id values")));
        }
        store::by_ids(&db, &ids)?
    } else {
        let (from, to) = match window(req) {
            Ok(window) => window,
            Err(refused) => return Ok(refused),
        };
        store::received_between(&db, &from, &to, &csv("service_code"), MAX_RECORDS)?
    };
    let mut out = requests(req, &stored).await;
    let statuses = csv("status");
    if !statuses.is_empty() {
        if statuses.iter().any(|s| s != "open" && s != "closed") {
            return Ok(error(Format::Json, 400, "status is open or closed"));
        }
        out.retain(|r| statuses.iter().any(|s| r["status"] == s.as_str()));
    }
    Ok(json(200, &out))
}

/// `start_date` to `end_date`, at most [`MAX_RANGE_DAYS`] apart (the last 90 days when
/// neither is given), rendered for the store; or the spec's 400.
fn window(req: &Req) -> Result<(String, String), Response> {
    let time = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, Response> {
        match req.query_param(name) {
            None => Ok(None),
            Some(t) => wangge_core::time::parse(&t).map(Some).ok_or_else(|| {
                error(Format::Json, 400, format!("{name} must be a W3C date-time, such as 2026-11-01T00:00:00+08:00"))
            }),
        }
    };
    let range = chrono::Duration::days(MAX_RANGE_DAYS);
    let (start, end) = match (time("start_date")?, time("end_date")?) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + range),
        (None, Some(e)) => (e - range, e),
        (None, None) => {
            let end = wangge_core::time::now_utc() + chrono::Duration::seconds(1);
            (end - range, end)
        }
    };
    if end < start || end - start > range {
        return Err(error(Format::Json, 400, format!("start_date to end_date may span at most {MAX_RANGE_DAYS} days")));
    }
    Ok((wangge_core::time::render(start), wangge_core::time::render(end)))
}

/// `GET requests/{id}.json`: a one-element array, as the spec has it.
async fn one(req: &Req, id: &str) -> Result<Response, Problem> {
    let db = COMPONENT.db()?;
    let stored = store::get(&db, id)?;
    match stored.filter(|s| s.status != "rejected") {
        Some(s) => Ok(json(200, &requests(req, std::slice::from_ref(&s)).await)),
        None => Ok(error(Format::Json, 404, format!("no service request `{id}`"))),
    }
}
