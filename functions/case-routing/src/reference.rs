//! `/v1/calendar`, `/v1/categories`, `/v1/departments`: the reference data routing
//! decides with. Imports need `grids:admin` on a key for every region; reads any key.

use serde_json::json;
use wangge_cases::calendar::Within;
use wangge_cases::reference::{self, Department, ReferenceError};
use wangge_core::auth::Scope;
use wangge_core::page::{PageRequest, next_cursor};
use wangge_core::{ErrorCode, Problem};
use wangge_spin::{KIB, Reply, Req, json};

use crate::COMPONENT;

/// Registry and reference data change for the whole deployment: `grids:admin` on a
/// key for every region.
fn admin(req: &Req) -> Result<(), Problem> {
    let principal = req.require(Scope::GridsAdmin)?;
    principal.require_every_region()
}

fn problem(e: ReferenceError) -> Problem {
    match e {
        ReferenceError::Malformed(why) => Problem::new(ErrorCode::MalformedDataset).with_detail(why.en, why.zh),
        ReferenceError::Invalid(errors) => Problem::new(ErrorCode::ValidationFailed)
            .with_detail(
                format!("{} problems; nothing was changed", errors.len()),
                format!("发现 {} 个问题，未做任何修改", errors.len()),
            )
            .with_errors(errors),
        ReferenceError::Storage(e) => e.into(),
    }
}

fn not_found(what: &str, id: &str) -> Problem {
    Problem::new(ErrorCode::NotFound).with_detail(format!("no {what} `{id}`"), format!("{what} `{id}` 不存在"))
}

fn year(raw: &str) -> Result<i32, Problem> {
    raw.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y)).ok_or_else(|| {
        Problem::invalid_parameter("year", "the year is a number from 2000 to 2100", "年份应为 2000 到 2100 之间的数字")
    })
}

/// `PUT /v1/calendar/{year}`: the `calendar-2026.json` format.
pub async fn put_calendar(mut req: Req, raw_year: &str) -> Reply {
    admin(&req)?;
    let year = year(raw_year)?;
    let body = req.body(64 * KIB).await?;
    let db = COMPONENT.db()?;
    let parsed = reference::put_calendar(&db, year, &body).map_err(problem)?;
    Ok(json(
        200,
        &json!({ "year": year, "holidays": parsed.holidays.len(), "extra_workdays": parsed.extra_workdays.len(), "work_windows": parsed.windows.len() }),
    ))
}

/// `GET /v1/calendar/{year}`: the document as loaded.
pub fn get_calendar(req: Req, raw_year: &str) -> Reply {
    req.principal()?;
    let year = year(raw_year)?;
    let db = COMPONENT.db_for_reads()?;
    let document = reference::calendar_document(&db, year)?;
    Ok(json(200, &document.ok_or_else(|| not_found("calendar for", raw_year))?))
}

/// `GET /v1/calendar/deadline?start=<RFC 3339>&within=<30m|4h|4wh|5wd>`: when it is due.
pub fn deadline(req: Req) -> Reply {
    req.principal()?;
    let start = req.query_param("start").and_then(|s| wangge_core::time::parse(&s)).ok_or_else(|| {
        Problem::invalid_parameter(
            "start",
            "start is an RFC 3339 time with an offset",
            "start 应为带时区的 RFC 3339 时间",
        )
    })?;
    let within = req.query_param("within").and_then(|w| Within::parse(&w).ok()).ok_or_else(|| {
        Problem::invalid_parameter(
            "within",
            "within is 30m, 4h, 4wh or 5wd",
            "within 应为 30m、4h、4wh 或 5wd 这样的时长",
        )
    })?;
    let db = COMPONENT.db_for_reads()?;
    let calendar = reference::calendar(&db)?;
    let due = calendar.deadline(start, within);
    Ok(json(
        200,
        &json!({
            "start": wangge_core::time::render(start),
            "within": req.query_param("within"),
            "deadline": wangge_core::time::render(due.at),
            "calendar_fallback": due.fallback,
        }),
    ))
}

/// `PUT /v1/categories`: the catalogue of matters (`categories.json` format).
pub async fn put_categories(mut req: Req) -> Reply {
    admin(&req)?;
    let body = req.body(1024 * KIB).await?;
    let db = COMPONENT.db()?;
    let (count, unchanged) = reference::put_catalogue(&db, &body).map_err(problem)?;
    Ok(json(if unchanged { 200 } else { 201 }, &json!({ "categories": count, "unchanged": unchanged })))
}

/// `GET /v1/categories`: the catalogue as loaded.
pub fn get_categories(req: Req) -> Reply {
    req.principal()?;
    let db = COMPONENT.db_for_reads()?;
    let document = reference::catalogue_document(&db)?;
    document.map(|d| json(200, &d)).ok_or_else(|| {
        Problem::new(ErrorCode::DatasetMissing)
            .with_detail("no catalogue of matters yet (PUT /v1/categories)", "尚未导入事项清单（PUT /v1/categories）")
            .with_extension("dataset", "categories")
    })
}

/// `GET /v1/categories/{code}`.
pub fn get_category(req: Req, code: &str) -> Reply {
    req.principal()?;
    let db = COMPONENT.db_for_reads()?;
    let category = reference::category(&db, code)?;
    Ok(json(200, &category.ok_or_else(|| not_found("category", code))?))
}

/// `PUT /v1/departments`: `departments.csv` (`text/csv`) or a JSON array of the same fields.
pub async fn put_departments(mut req: Req) -> Reply {
    admin(&req)?;
    let body = req.body(4 * 1024 * KIB).await?;
    let media = req.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let departments: Vec<Department> = match media.as_str() {
        "text/csv" => {
            let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&body);
            csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(body)
                .deserialize()
                .collect::<Result<_, _>>()
                .map_err(|e| problem(reference::malformed("a departments CSV", "部门 CSV 文件", &e)))?
        }
        "application/json" => wangge_core::json::parse_body(&body)?,
        _ => {
            return Err(Problem::new(ErrorCode::UnsupportedMediaType).with_detail(
                format!("send departments as text/csv or application/json, not `{media}`"),
                format!("部门应以 text/csv 或 application/json 发送，而不是 `{media}`"),
            ));
        }
    };
    let db = COMPONENT.db()?;
    let count = reference::put_departments(&db, &departments).map_err(problem)?;
    Ok(json(200, &json!({ "departments": count })))
}

/// `GET /v1/departments?region=<prefix>&kind=&limit=&cursor=`.
pub fn list_departments(req: Req) -> Reply {
    let principal = req.principal()?;
    let prefix = req.query_param("region").unwrap_or_else(|| principal.region_prefix.clone());
    if !prefix.starts_with(&principal.region_prefix) {
        principal.require_region(&prefix)?;
    }
    let kind = req.query_param("kind");
    let page = PageRequest::from_query(&req.query)?;
    let db = COMPONENT.db_for_reads()?;
    let mut items =
        reference::departments(&db, &prefix, kind.as_deref(), page.after.as_deref().unwrap_or(""), page.limit)?;
    let next = next_cursor(&mut items, page.limit, |d| Some(&d.dept_code));
    Ok(json(200, &json!({ "items": items, "next_cursor": next })))
}
