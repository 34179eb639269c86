//! The rules, and running a period.

use std::collections::HashMap;

use futures::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use spin_sdk::http::{IncomingResponse, Method, Request};
use wangge_assess::compute::{Finished, Run};
use wangge_assess::period::Period;
use wangge_assess::rules::Rules;
use wangge_assess::score::{CategoryRule, Fact, GENERAL, GridInfo};
use wangge_cases::api::{FactsError, FactsReader};
use wangge_cases::calendar::Within;
use wangge_core::auth::Scope;
use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_core::region::{district_of, town_of};
use wangge_core::{ErrorCode, FieldError, Problem};
use wangge_spin::chain::internal_url;
use wangge_spin::db::Db;
use wangge_spin::{KIB, Reply, Req, json};

use crate::COMPONENT;

pub fn period(raw: &str) -> Result<Period, Problem> {
    Period::parse(raw).ok_or_else(|| {
        Problem::new(ErrorCode::InvalidParameter)
            .with_detail(
                format!("`{raw}` is not a period: a month 2026-10, a quarter 2026-Q4 or a year 2026"),
                format!("`{raw}` 不是考核周期：应为月 2026-10、季度 2026-Q4 或年 2026"),
            )
            .with_extension("parameter", "period")
    })
}

fn unavailable(what: &str) -> Problem {
    Problem::new(ErrorCode::DependencyUnavailable)
        .with_detail(format!("{what} is unavailable; nothing was run"), format!("{what} 暂不可用，未执行考核"))
        .with_retry_after(5)
}

/// The catalogue, from case-routing: the assessed domains with their default weights,
/// and what each category means for assessment.
struct Catalogue {
    domains: Vec<String>,
    default_weights: std::collections::BTreeMap<String, f64>,
    categories: HashMap<String, CategoryRule>,
}

/// `report_within` in seconds: `m` and `h` exactly; `wh` and `wd` as 1 h and 24 h of
/// elapsed time (the demo catalogue uses only `m` and `h`).
fn seconds(within: &str) -> i64 {
    match Within::parse(within) {
        Ok(Within::Minutes(n)) => n * 60,
        Ok(Within::Hours(n) | Within::WorkHours(n)) => n * 3600,
        Ok(Within::WorkDays(n)) => n * 86_400,
        Err(_) => 0,
    }
}

async fn catalogue(req: &Req) -> Result<Catalogue, Problem> {
    let answer = wangge_spin::chain::ask::<wangge_cases::api::Categories>(&(), &req.request_id, req.lang)
        .await
        .map_err(|_| unavailable("the catalogue of matters (case-routing)"))?;
    let mut domains = Vec::new();
    let mut default_weights = std::collections::BTreeMap::new();
    for (name, d) in &answer.domains {
        if d.class.as_deref() == Some("none") || name == GENERAL {
            continue;
        }
        domains.push(name.clone());
        default_weights.insert(name.clone(), d.default_weight.unwrap_or(0.0));
    }
    let categories = answer
        .categories
        .into_iter()
        .map(|c| {
            let rule = CategoryRule {
                domain: c.domain,
                discoverable: c.discoverable,
                report_within_seconds: seconds(&c.report_within),
            };
            (c.code, rule)
        })
        .collect();
    if domains.is_empty() {
        return Err(Problem::new(ErrorCode::DatasetMissing)
            .with_detail("no catalogue of matters yet (PUT /v1/categories)", "尚未导入事项清单（PUT /v1/categories）")
            .with_extension("dataset", "categories"));
    }
    Ok(Catalogue { domains, default_weights, categories })
}

/// The latest stored rules: version, body, and the hash stored with them.
fn stored_rules(db: &Db) -> Result<Option<(i64, Rules, String)>, Problem> {
    let rows = db.execute("SELECT version, body, sha256 FROM rules ORDER BY version DESC LIMIT 1", &[])?;
    let Some(r) = rows.rows.first() else { return Ok(None) };
    let rules =
        r[1].as_str().and_then(|b| serde_json::from_str(b).ok()).ok_or_else(|| Problem::new(ErrorCode::Internal))?;
    Ok(Some((r[0].as_i64().unwrap_or(0), rules, r[2].as_str().unwrap_or_default().to_owned())))
}

/// The rules in force and their version: the latest stored, or (version 0, never
/// stored) the defaults with the catalogue's weights.
fn current_rules(db: &Db, catalogue: &Catalogue) -> Result<(i64, Rules), Problem> {
    Ok(match stored_rules(db)? {
        Some((version, rules, _)) => (version, rules),
        None => (0, Rules::defaults(catalogue.default_weights.clone())),
    })
}

/// `PUT /v1/assessments/rules` (`assessments:run`, every region): a new version, unless
/// it is the current one again.
pub async fn put_rules(mut req: Req) -> Reply {
    let principal = req.require(Scope::AssessmentsRun)?;
    principal.require_every_region()?;
    // The shape (schemas/assessment.rules.json) is checked as it is read, with pointers.
    let rules: Rules = req.json(256 * KIB).await?;
    let catalogue = catalogue(&req).await?;
    let errors = rules.validate(&catalogue.domains);
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let sha = rules.sha256();
    let db = COMPONENT.db()?;
    if let Some((current, _, current_sha)) = stored_rules(&db)?
        && current_sha == sha
    {
        return Ok(json(200, &json!({ "version": current, "sha256": sha, "changed": false })));
    }
    let now = wangge_core::time::render(wangge_core::time::now_utc());
    let version = db.transaction(|db| {
        let next = db
            .execute("SELECT coalesce(max(version), 0) + 1 FROM rules", &[])?
            .scalar()
            .and_then(SqlValue::as_i64)
            .unwrap_or(1);
        db.execute(
            "INSERT INTO rules (version, body, sha256, created_at) VALUES (?, ?, ?, ?)",
            &[
                next.into(),
                serde_json::to_string(&rules).unwrap_or_default().into(),
                sha.as_str().into(),
                now.as_str().into(),
            ],
        )?;
        Ok::<_, StorageError>(next)
    })?;
    Ok(json(201, &json!({ "version": version, "sha256": sha, "changed": true })))
}

fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(ErrorCode::ValidationFailed)
        .with_detail(
            format!("{} problem(s) in the rules; nothing was changed", errors.len()),
            format!("规则中有 {} 个问题，未做任何修改", errors.len()),
        )
        .with_errors(errors)
}

/// `GET /v1/assessments/rules` (`assessments:read`): the current rules, version and hash.
pub async fn get_rules(req: Req) -> Reply {
    req.require_any(&[Scope::AssessmentsRead, Scope::AssessmentsRun])?;
    // The catalogue is asked for only when no rules are stored: its weights are the defaults'.
    let db = COMPONENT.db()?;
    let (version, rules, sha) = match stored_rules(&db)? {
        Some(stored) => stored,
        None => {
            let rules = Rules::defaults(catalogue(&req).await?.default_weights);
            let sha = rules.sha256();
            (0, rules, sha)
        }
    };
    Ok(json(200, &json!({ "version": version, "sha256": sha, "rules": rules })))
}

/// Streams case-routing's facts for `[from, to)`, one parsed line at a time
/// ([`FactsReader`]: strictly, each line a `wangge_cases::api::CaseFacts`). Returns
/// the facts read, once their count is the one the stream declares. A line this build
/// cannot read (an unknown or a missing field, an unknown state), a count that does not
/// match, an error line or a stream cut before its trailer is 503
/// `dependency_unavailable` naming why: the caller stores nothing.
async fn facts(
    period: &Period,
    merged_only: bool,
    request_id: &str,
    mut each: impl FnMut(Fact),
) -> Result<u64, Problem> {
    let url = internal_url(
        "case-routing",
        &format!(
            "{}?from={}&to={}{}",
            wangge_cases::api::FACTS_PATH,
            wangge_core::time::store(period.start),
            wangge_core::time::store(period.end),
            if merged_only { "&merged_only=true" } else { "" }
        ),
    );
    let request = Request::builder().method(Method::Get).uri(url).header("x-request-id", request_id).build();
    let response: IncomingResponse =
        spin_sdk::http::send(request).await.map_err(|_| unavailable("the case facts (case-routing)"))?;
    if response.status() != 200 {
        return Err(unavailable("the case facts (case-routing)"));
    }
    let mut stream = response.take_body_stream();
    let mut reader = FactsReader::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unavailable("the case facts (case-routing)"))?;
        reader.push(&chunk, &mut each).map_err(refused_facts)?;
    }
    reader.finish().map_err(refused_facts)
}

/// A facts stream this run refuses: why, in both languages, and nothing run.
fn refused_facts(why: FactsError) -> Problem {
    Problem::new(ErrorCode::DependencyUnavailable)
        .with_detail(
            format!("the case facts (case-routing) are unreadable, so nothing was run: {why}"),
            format!("案件事实数据（case-routing）无法读取，未执行考核：{why}"),
        )
        .with_retry_after(5)
        .with_extension("dependency", "case-routing")
}

fn text(v: &str) -> SqlValue {
    v.into()
}

/// Rows inserted 100 to a statement: on Spin every statement is a host call, and a
/// year's results are hundreds of thousands of rows.
struct Batch {
    table: &'static str,
    columns: usize,
    values: Vec<SqlValue>,
}

impl Batch {
    const ROWS: usize = 100;

    fn new(table: &'static str, columns: usize) -> Batch {
        Batch { table, columns, values: Vec::with_capacity(columns * Self::ROWS) }
    }

    fn push<const N: usize>(&mut self, db: &Db, row: [SqlValue; N]) -> Result<(), StorageError> {
        self.values.extend(row);
        if self.values.len() >= self.columns * Self::ROWS { self.flush(db) } else { Ok(()) }
    }

    fn flush(&mut self, db: &Db) -> Result<(), StorageError> {
        if self.values.is_empty() {
            return Ok(());
        }
        let rows = self.values.len() / self.columns;
        let one = format!("({})", vec!["?"; self.columns].join(", "));
        let sql = format!("INSERT INTO {} VALUES {}", self.table, vec![one; rows].join(", "));
        db.execute(&sql, &self.values)?;
        self.values.clear();
        Ok(())
    }
}

/// `POST /v1/assessments/{period}/run` (`assessments:run`, every region): computes the
/// period from the facts and stores it, replacing the previous run. A rerun with the
/// same facts and rules stores byte-identical results and says so (`identical`).
pub async fn run(req: Req, raw_period: &str) -> Reply {
    let principal = req.require(Scope::AssessmentsRun)?;
    principal.require_every_region()?;
    let period = period(raw_period)?;
    let mut progress = Progress { started: std::time::Instant::now(), stages: Vec::new() };
    let catalogue = catalogue(&req).await?;
    let db = COMPONENT.db()?;
    let (rules_version, rules) = current_rules(&db, &catalogue)?;
    let grids = grids(&req).await?;
    progress.lap("grids", grids.len() as u64);
    let run_at = wangge_core::time::now_utc();
    let mut computation = Run::new(period.clone(), run_at, rules.clone(), catalogue.categories, grids);
    // Pass 1: duplicates, so that each case knows its first report.
    let seen = facts(&period, true, &req.request_id, |f| computation.see_duplicate(&f)).await?;
    progress.lap("duplicates", seen);
    // Pass 2, in one transaction with the stored results: deductions as they come.
    db.begin()?;
    let (count, result_sha) = match compute_and_store(&db, &period, &mut computation, &req.request_id).await {
        Ok(v) => v,
        Err(p) => {
            let _ = db.execute("ROLLBACK", &[]);
            return Err(p);
        }
    };
    progress.lap("computed", count);
    let record = RunRecord {
        label: period.label.clone(),
        run_at: wangge_core::time::render(run_at),
        rules_version,
        rules_sha: rules.sha256(),
        result_sha,
        facts: count,
        stages: Value::Array(progress.stages.clone()),
    };
    let identical = record_and_commit(&db, &record)?;
    progress.lap("stored", count);
    Ok(json(
        200,
        &json!({
            "period": record.label,
            "run_at": record.run_at,
            "rules_version": rules_version,
            "rules_sha256": record.rules_sha,
            "result_sha256": record.result_sha,
            "identical": identical,
            "facts": count,
            "progress": progress.stages,
        }),
    ))
}

/// The stages of a run as `progress` reports them: each with its count and the time
/// since the run started when it ended.
struct Progress {
    started: std::time::Instant,
    stages: Vec<Value>,
}

impl Progress {
    fn lap(&mut self, name: &str, count: u64) {
        let ms = (self.started.elapsed().as_secs_f64() * 1000.0).round();
        self.stages.push(json!({ "stage": name, "count": count, "ms": ms }));
    }
}

/// Every grid, from grid-lookup, with its community, town and district.
async fn grids(req: &Req) -> Result<Vec<GridInfo>, Problem> {
    let list = wangge_spin::chain::ask::<wangge_registry::api::Grids>(&(), &req.request_id, req.lang)
        .await
        .map_err(|_| unavailable("the grids (grid-lookup)"))?;
    Ok(list
        .grids
        .into_iter()
        .map(|g| GridInfo {
            town: town_of(&g.region_code),
            district: district_of(&g.region_code),
            code: g.code,
            kind: g.kind,
            community: g.region_code,
        })
        .collect())
}

/// Pass 2 and the results, inside the caller's transaction: the period's stored
/// results replaced by this run's. Returns the facts read and the results' hash.
async fn compute_and_store(
    db: &Db,
    period: &Period,
    computation: &mut Run,
    request_id: &str,
) -> Result<(u64, String), Problem> {
    for table in ["deductions", "scores", "statistics", "departments"] {
        db.execute(&format!("DELETE FROM {table} WHERE period = ?"), &[text(&period.label)])?;
    }
    let mut hash = Sha256::new();
    let count = store_deductions(db, period, computation, request_id, &mut hash).await?;
    let finished = computation.finish();
    store_scores(db, &period.label, &finished, &mut hash)?;
    store_statistics_and_departments(db, &period.label, &finished, &mut hash)?;
    Ok((count, hex::encode(hash.finalize())))
}

/// Every case fact through the computation, its deductions stored as they come.
/// Returns the facts read.
async fn store_deductions(
    db: &Db,
    period: &Period,
    computation: &mut Run,
    request_id: &str,
    hash: &mut Sha256,
) -> Result<u64, Problem> {
    let label = &period.label;
    let mut failed = None;
    let mut deductions = Batch::new("deductions (period, grid, month, case_id, rule, domain, points)", 7);
    let count = facts(period, false, request_id, |fact| {
        for d in computation.add(&fact) {
            hash.update(format!("{}|{}|{}|{}|{}|{}\n", d.grid, d.month, d.case_id, d.rule, d.domain, d.points));
            let row = [
                text(label),
                text(&d.grid),
                text(&d.month),
                text(&d.case_id),
                d.rule.as_str().into(),
                text(&d.domain),
                d.points.into(),
            ];
            if failed.is_none()
                && let Err(e) = deductions.push(db, row)
            {
                failed = Some(e);
            }
        }
    })
    .await?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    deductions.flush(db)?;
    Ok(count)
}

/// The scores of every grid and region.
fn store_scores(db: &Db, label: &str, finished: &Finished, hash: &mut Sha256) -> Result<(), StorageError> {
    let mut scores = Batch::new("scores (period, level, code, parent, score, rounded, grade, rank, subs)", 9);
    for s in &finished.scores {
        let subs = serde_json::to_string(&s.subs).unwrap_or_default();
        hash.update(format!(
            "{}|{}|{}|{:?}|{}|{}|{:?}|{}\n",
            s.level, s.code, s.parent, s.score, s.rounded, s.grade, s.rank, subs
        ));
        let row = [
            text(label),
            s.level.into(),
            text(&s.code),
            text(&s.parent),
            s.score.into(),
            s.rounded.into(),
            text(&s.grade),
            s.rank.map(|r| r as i64).into(),
            subs.into(),
        ];
        scores.push(db, row)?;
    }
    scores.flush(db)
}

/// The statistics of every grid (in code order) and the KPIs of every department.
fn store_statistics_and_departments(
    db: &Db,
    label: &str,
    finished: &Finished,
    hash: &mut Sha256,
) -> Result<(), StorageError> {
    let mut grids: Vec<&String> = finished.statistics.keys().collect();
    grids.sort();
    let mut statistics = Batch::new("statistics (period, grid, counts)", 3);
    for grid in grids {
        let counts = serde_json::to_string(&finished.statistics[grid]).unwrap_or_default();
        hash.update(format!("{grid}|{counts}\n"));
        statistics.push(db, [text(label), text(grid), counts.into()])?;
    }
    statistics.flush(db)?;
    for (department, d) in &finished.departments {
        hash.update(format!("{department}|{}|{}|{}|{}|{:?}\n", d.due, d.on_time, d.closed, d.reworked, d.score()));
        db.execute(
            "INSERT INTO departments (period, department, due, on_time, closed, reworked, score) VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                text(label),
                text(department),
                (d.due as i64).into(),
                (d.on_time as i64).into(),
                (d.closed as i64).into(),
                (d.reworked as i64).into(),
                d.score().into(),
            ],
        )?;
    }
    Ok(())
}

/// What is recorded of a run beside its results.
struct RunRecord {
    label: String,
    run_at: String,
    rules_version: i64,
    rules_sha: String,
    result_sha: String,
    facts: u64,
    stages: Value,
}

/// Records the run, replacing the period's previous one, and commits the caller's
/// transaction. Returns whether the previous run had the same results and rules.
fn record_and_commit(db: &Db, record: &RunRecord) -> Result<bool, Problem> {
    let previous = db.execute("SELECT result_sha256, rules_sha256 FROM runs WHERE period = ?", &[text(&record.label)]);
    let identical = previous.map(|previous| {
        previous.rows.first().is_some_and(|r| {
            r[0].as_str() == Some(record.result_sha.as_str()) && r[1].as_str() == Some(record.rules_sha.as_str())
        })
    });
    let stored = identical.and_then(|identical| {
        db.execute(
            "INSERT INTO runs (period, run_at, rules_version, rules_sha256, result_sha256, facts, stages) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (period) DO UPDATE SET run_at = excluded.run_at, rules_version = excluded.rules_version, \
             rules_sha256 = excluded.rules_sha256, result_sha256 = excluded.result_sha256, facts = excluded.facts, stages = excluded.stages",
            &[
                text(&record.label),
                text(&record.run_at),
                record.rules_version.into(),
                text(&record.rules_sha),
                text(&record.result_sha),
                (record.facts as i64).into(),
                record.stages.to_string().into(),
            ],
        )?;
        db.execute("COMMIT", &[])?;
        Ok(identical)
    });
    stored.map_err(|e| {
        let _ = db.execute("ROLLBACK", &[]);
        e.into()
    })
}
