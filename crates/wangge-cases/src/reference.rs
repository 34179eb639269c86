//! Reference data: the calendar, the catalogue of matters and the departments —
//! validated whole, then replaced in one transaction — and the routing rule that
//! picks a department.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use wangge_core::FieldError;
use wangge_core::migrations::{Migration, Schema, Sql, SqlValue, StorageError};

use crate::calendar::{Calendar, CalendarFile, Within, Year};

/// case-routing's database, in order.
pub const SCHEMA: Schema = Schema {
    sqlite: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "reference", sql: include_str!("../migrations/0002_reference.sql") },
        Migration { version: 3, name: "cases", sql: include_str!("../migrations/0003_cases.sql") },
        Migration { version: 4, name: "notices", sql: include_str!("../migrations/0004_notices.sql") },
        Migration { version: 5, name: "duplicates", sql: include_str!("../migrations/0005_duplicates.sql") },
        Migration { version: 6, name: "duty_phone", sql: include_str!("../migrations/0006_duty_phone.sql") },
        Migration { version: 7, name: "first_report", sql: include_str!("../migrations/0007_first_report.sql") },
        Migration { version: 8, name: "triage", sql: include_str!("../migrations/0008_triage.sql") },
    ],
    // The whole schema as SQLite's first seven migrations leave it, in PostgreSQL's types;
    // then each later SQLite migration's counterpart.
    postgres: &[
        Migration { version: 1, name: "schema", sql: include_str!("../migrations/postgres/0001_schema.sql") },
        Migration { version: 2, name: "triage", sql: include_str!("../migrations/postgres/0002_triage.sql") },
    ],
};

#[derive(Debug)]
pub enum ReferenceError {
    /// Not the expected document at all (400), said in both languages.
    Malformed(wangge_core::problem::Text),
    /// Fields that break the rules (422).
    Invalid(Vec<FieldError>),
    /// The database failed (503).
    Storage(StorageError),
}

impl From<StorageError> for ReferenceError {
    fn from(e: StorageError) -> Self {
        ReferenceError::Storage(e)
    }
}

/// 400: the body is not `what` (`what_zh`), with the parser's reason.
pub fn malformed(what: &str, what_zh: &str, cause: &dyn std::fmt::Display) -> ReferenceError {
    ReferenceError::Malformed(wangge_core::problem::Text::new(
        format!("not {what}: {cause}"),
        format!("不是有效的{what_zh}：{cause}"),
    ))
}

fn sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn now() -> String {
    wangge_core::time::render(wangge_core::time::now_utc())
}

// ------------------------------------------------------------------ calendar

/// Stores the calendar of `year` (`PUT /v1/calendar/{year}`).
pub fn put_calendar(db: &impl Sql, year: i32, body: &[u8]) -> Result<Year, ReferenceError> {
    let file: CalendarFile =
        serde_json::from_slice(body).map_err(|e| malformed("a calendar document", "工作日历文件", &e))?;
    if file.year != year {
        return Err(ReferenceError::Invalid(vec![FieldError::new(
            "/year",
            "year_mismatch",
            format!("the document is for {}, the path for {year}", file.year),
        )]));
    }
    let parsed = Year::from_file(&file).map_err(|e| {
        let pointer = match e {
            crate::calendar::CalendarError::WorkHours(_) => "/work_hours",
            crate::calendar::CalendarError::Date(..) | crate::calendar::CalendarError::Both(_) => "/holidays",
            crate::calendar::CalendarError::Duration(_) => "",
        };
        ReferenceError::Invalid(vec![FieldError::new(pointer, "calendar", e.to_string())])
    })?;
    db.execute(
        "INSERT INTO calendars (year, body, sha256, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (year) DO UPDATE SET body = excluded.body, sha256 = excluded.sha256, updated_at = excluded.updated_at",
        &[(year as i64).into(), String::from_utf8_lossy(body).into_owned().into(), sha256(body).into(), now().into()],
    )?;
    Ok(parsed)
}

/// Every loaded year.
pub fn calendar(db: &impl Sql) -> Result<Calendar, StorageError> {
    let mut calendar = Calendar::default();
    for row in db.execute("SELECT year, body FROM calendars ORDER BY year", &[])?.rows {
        let (Some(year), Some(body)) = (row[0].as_i64(), row[1].as_str()) else { continue };
        if let Some(data) = serde_json::from_str::<CalendarFile>(body).ok().and_then(|f| Year::from_file(&f).ok()) {
            calendar = calendar.with_year(year as i32, data);
        }
    }
    Ok(calendar)
}

pub fn calendar_document(db: &impl Sql, year: i32) -> Result<Option<Value>, StorageError> {
    Ok(db
        .execute("SELECT body FROM calendars WHERE year = ?", &[(year as i64).into()])?
        .scalar()
        .and_then(SqlValue::as_str)
        .and_then(|b| serde_json::from_str(b).ok()))
}

// ----------------------------------------------------------------- catalogue

/// One domain of the catalogue: its name, its class (`none` is never assessed) and its
/// default weight in a grid's score. Unknown fields are refused, here and below: the
/// catalogue is also case-routing's answer to `GET /internal/categories` ([`crate::api`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainDecl {
    pub name: String,
    pub class: Option<String>,
    pub default_weight: Option<f64>,
}

/// One matter of the catalogue (`data/categories.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub domain: String,
    pub grid_may_resolve: bool,
    pub department_kind: Option<String>,
    pub priority: String,
    pub discoverable: bool,
    pub report_within: String,
    pub respond_within: String,
    pub resolve_within: String,
}

/// The catalogue of matters (`data/categories.json`), as imported and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    pub version: u32,
    pub domains: BTreeMap<String, DomainDecl>,
    pub categories: Vec<Category>,
}

/// How pressing a matter is (紧急程度), as the catalogue says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// 一般: the usual deadlines.
    #[default]
    Normal,
    /// 较急: pressing, still in the centre's queue.
    High,
    /// 紧急: skips the queue, notices go out at once, deductions count double.
    Urgent,
}

crate::lifecycle::strings!(Priority { Normal => "normal", High => "high", Urgent => "urgent" });

impl Priority {
    /// The urgency of the notices a case of this priority causes.
    pub fn urgency(self) -> &'static str {
        if self == Priority::Urgent { "urgent" } else { "normal" }
    }
}

/// Checks a catalogue: unique codes, known domains and priorities, durations that
/// parse, a department kind where the grid may not resolve, and default weights of
/// the assessed domains summing to 1.
pub fn validate_catalogue(file: &CatalogueFile) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, c) in file.categories.iter().enumerate() {
        let at = |field: &str| format!("/categories/{i}/{field}");
        if c.code.trim().is_empty() {
            errors.push(FieldError::new(at("code"), "required", "a category needs a code"));
        } else if !seen.insert(c.code.as_str()) {
            errors.push(FieldError::new(at("code"), "duplicate_code", format!("category {} appears twice", c.code)));
        }
        if !file.domains.contains_key(&c.domain) {
            errors.push(FieldError::new(
                at("domain"),
                "unknown_domain",
                format!("category {}: no domain `{}`", c.code, c.domain),
            ));
        }
        if c.priority.parse::<Priority>().is_err() {
            errors.push(FieldError::new(
                at("priority"),
                "unknown_priority",
                format!("category {}: priority is normal, high or urgent", c.code),
            ));
        }
        for (field, value) in [
            ("report_within", &c.report_within),
            ("respond_within", &c.respond_within),
            ("resolve_within", &c.resolve_within),
        ] {
            if let Err(e) = Within::parse(value) {
                errors.push(FieldError::new(at(field), "duration", format!("category {}: {e}", c.code)));
            }
        }
        if !c.grid_may_resolve && c.department_kind.as_deref().is_none_or(str::is_empty) {
            errors.push(FieldError::new(
                at("department_kind"),
                "required",
                format!("category {}: a matter the grid may not resolve needs a department kind", c.code),
            ));
        }
    }
    let weights: f64 = file.domains.values().filter_map(|d| d.default_weight).sum();
    if file.domains.values().any(|d| d.default_weight.is_some()) && (weights - 1.0).abs() > 1e-9 {
        errors.push(FieldError::new("/domains", "weights_sum", format!("default weights sum to {weights}, not 1")));
    }
    errors
}

/// Replaces the catalogue (`PUT /v1/categories`); the same bytes again change nothing.
pub fn put_catalogue(db: &impl Sql, body: &[u8]) -> Result<(usize, bool), ReferenceError> {
    let file: CatalogueFile =
        serde_json::from_slice(body).map_err(|e| malformed("a catalogue of matters", "事项目录", &e))?;
    let errors = validate_catalogue(&file);
    if !errors.is_empty() {
        return Err(ReferenceError::Invalid(errors));
    }
    let digest = sha256(body);
    // The digest is compared in the transaction that replaces the rows: two replicas
    // importing at once (PostgreSQL) agree on which import changed the catalogue.
    let unchanged = db.transaction(|db| {
        let current = db.execute("SELECT sha256 FROM catalogue WHERE id = 1", &[])?;
        if current.scalar().and_then(SqlValue::as_str) == Some(digest.as_str()) {
            return Ok(true);
        }
        db.execute("DELETE FROM categories", &[])?;
        for c in &file.categories {
            db.execute(
                "INSERT INTO categories (code, name, domain, grid_may_resolve, department_kind, priority, discoverable, report_within, respond_within, resolve_within, body) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    c.code.as_str().into(),
                    c.name.as_str().into(),
                    c.domain.as_str().into(),
                    (c.grid_may_resolve as i64).into(),
                    c.department_kind.clone().into(),
                    c.priority.as_str().into(),
                    (c.discoverable as i64).into(),
                    c.report_within.as_str().into(),
                    c.respond_within.as_str().into(),
                    c.resolve_within.as_str().into(),
                    serde_json::to_string(c).unwrap_or_default().into(),
                ],
            )?;
        }
        db.execute(
            "INSERT INTO catalogue (id, body, sha256, updated_at) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, sha256 = excluded.sha256, updated_at = excluded.updated_at",
            &[String::from_utf8_lossy(body).into_owned().into(), digest.as_str().into(), now().into()],
        )?;
        Ok::<_, StorageError>(false)
    })?;
    Ok((file.categories.len(), unchanged))
}

pub fn category(db: &impl Sql, code: &str) -> Result<Option<Category>, StorageError> {
    Ok(db
        .execute("SELECT body FROM categories WHERE code = ?", &[code.into()])?
        .scalar()
        .and_then(SqlValue::as_str)
        .and_then(|b| serde_json::from_str(b).ok()))
}

pub fn catalogue_document(db: &impl Sql) -> Result<Option<Value>, StorageError> {
    Ok(db
        .execute("SELECT body FROM catalogue WHERE id = 1", &[])?
        .scalar()
        .and_then(SqlValue::as_str)
        .and_then(|b| serde_json::from_str(b).ok()))
}

// --------------------------------------------------------------- departments

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    pub dept_code: String,
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub level: String,
    /// The duty contact's phone (值班电话), if known: urgent notices go there by SMS too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_phone: Option<String>,
}

/// Replaces the departments (`PUT /v1/departments`, `departments.csv` format or JSON).
pub fn put_departments(db: &impl Sql, departments: &[Department]) -> Result<usize, ReferenceError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, d) in departments.iter().enumerate() {
        if d.dept_code.trim().is_empty() || !seen.insert(d.dept_code.as_str()) {
            errors.push(FieldError::new(
                format!("/{i}/dept_code"),
                "duplicate_code",
                format!("department `{}` is empty or appears twice", d.dept_code),
            ));
        }
        if !matches!(d.level.as_str(), "district" | "town") {
            errors.push(FieldError::new(
                format!("/{i}/level"),
                "unknown_level",
                format!("department {}: level is district or town", d.dept_code),
            ));
        }
        if d.region_code.len() != 12 || !d.region_code.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new(
                format!("/{i}/region_code"),
                "code_format",
                format!("department {}: a region code has 12 digits", d.dept_code),
            ));
        }
        if d.kind.trim().is_empty() {
            errors.push(FieldError::new(
                format!("/{i}/kind"),
                "required",
                format!("department {}: a kind is required", d.dept_code),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ReferenceError::Invalid(errors));
    }
    db.transaction(|db| {
        db.execute("DELETE FROM departments", &[])?;
        for d in departments {
            db.execute(
                "INSERT INTO departments (dept_code, name, kind, region_code, level, duty_phone) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    d.dept_code.as_str().into(),
                    d.name.as_str().into(),
                    d.kind.as_str().into(),
                    d.region_code.as_str().into(),
                    d.level.as_str().into(),
                    d.duty_phone.clone().filter(|p| !p.trim().is_empty()).into(),
                ],
            )?;
        }
        Ok::<_, StorageError>(())
    })?;
    Ok(departments.len())
}

fn departments_from(rows: wangge_core::Rows) -> Vec<Department> {
    let text = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    rows.rows
        .iter()
        .map(|r| Department {
            dept_code: text(&r[0]),
            name: text(&r[1]),
            kind: text(&r[2]),
            region_code: text(&r[3]),
            level: text(&r[4]),
            duty_phone: r.get(5).and_then(SqlValue::as_str).map(str::to_owned),
        })
        .collect()
}

/// One department by its code.
pub fn department(db: &impl Sql, code: &str) -> Result<Option<Department>, StorageError> {
    let rows = db.execute(
        "SELECT dept_code, name, kind, region_code, level, duty_phone FROM departments WHERE dept_code = ?",
        &[code.into()],
    )?;
    Ok(departments_from(rows).into_iter().next())
}

/// The department of `kind` that handles a case in `community`: the town's, or the
/// district's when the town has none (部门报到); of two alike, the first by code, on
/// either engine.
pub fn department_for(db: &impl Sql, kind: &str, community: &str) -> Result<Option<Department>, StorageError> {
    if community.len() != 12 {
        return Ok(None);
    }
    let (town, district) = (wangge_core::region::town_of(community), wangge_core::region::district_of(community));
    let rows = db.execute(
        "SELECT dept_code, name, kind, region_code, level, duty_phone FROM departments WHERE kind = ? AND region_code IN (?, ?) \
         ORDER BY CASE level WHEN 'town' THEN 0 ELSE 1 END, dept_code LIMIT 1",
        &[kind.into(), town.into(), district.into()],
    )?;
    Ok(departments_from(rows).into_iter().next())
}

/// Departments whose region code starts with `prefix` (optionally of one kind), one keyset page.
pub fn departments(
    db: &impl Sql,
    prefix: &str,
    kind: Option<&str>,
    after: &str,
    limit: usize,
) -> Result<Vec<Department>, StorageError> {
    Ok(departments_from(db.execute(
        "SELECT dept_code, name, kind, region_code, level, duty_phone FROM departments \
         WHERE region_code >= ? AND region_code < ? AND (CAST(? AS TEXT) IS NULL OR kind = ?) AND dept_code > ? ORDER BY dept_code LIMIT ?",
        &[
            prefix.into(),
            format!("{prefix}\u{10FFFF}").into(),
            kind.map(str::to_owned).into(),
            kind.map(str::to_owned).into(),
            after.into(),
            (limit as i64 + 1).into(),
        ],
    )?))
}
