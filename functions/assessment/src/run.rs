//! The rules, and running a period.

use std::collections::HashMap;

use futures::StreamExt;
use serde_json::{Value, json};
use spin_sdk::http::{IncomingResponse, Method};
use wangge_assess::compute::Run;
use wangge_assess::period::Period;
use wangge_assess::rules::Rules;
use wangge_assess::score::{CategoryRule, Fact, GENERAL, GridInfo};
use wangge_assess::stored::{self, NewRun, Results};
use wangge_cases::api::{FactsError, FactsReader};
use wangge_cases::calendar::Within;
use wangge_core::auth::Scope;
use wangge_core::migrations::Sql;
use wangge_core::region::{district_of, town_of};
use wangge_core::{ErrorCode, FieldError, Problem};
use wangge_spin::chain;
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

/// The rules in force and their version: the latest stored, or (version 0, never
/// stored) the defaults with the catalogue's weights.
fn current_rules(db: &Db, catalogue: &Catalogue) -> Result<(i64, Rules), Problem> {
    Ok(match stored::latest_rules(db)? {
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
    if let Some((current, _, current_sha)) = stored::latest_rules(&db)?
        && current_sha == sha
    {
        return Ok(json(200, &json!({ "version": current, "sha256": sha, "changed": false })));
    }
    let now = wangge_core::time::render(wangge_core::time::now_utc());
    let version = stored::add_rules(&db, &rules, &sha, &now)?;
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
    let (version, rules, sha) = match stored::latest_rules(&db)? {
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
    let path = format!(
        "{}?from={}&to={}{}",
        wangge_cases::api::FACTS_PATH,
        wangge_core::time::store(period.start),
        wangge_core::time::store(period.end),
        if merged_only { "&merged_only=true" } else { "" }
    );
    let request = chain::request("case-routing", Method::Get, &path, request_id, wangge_core::Lang::En, None);
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
    // Begun here, not by `Sql::transaction`: the facts stream in while it is open, and
    // cannot be read twice. So a run that loses to a concurrent run of the same period
    // on PostgreSQL (SERIALIZABLE; SQLite takes the runs in turn) is not run again
    // here: it rolls back and answers 503 `storage_unavailable`, to be retried shortly.
    db.begin()?;
    let (count, result_sha) = match compute_and_store(&db, &period, &mut computation, &req.request_id).await {
        Ok(v) => v,
        Err(p) => {
            let _ = db.execute("ROLLBACK", &[]);
            return Err(p);
        }
    };
    progress.lap("computed", count);
    let record = NewRun {
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
    let mut results = Results::clear(db, &period.label)?;
    let mut failed = None;
    let count = facts(period, false, request_id, |fact| {
        for d in computation.add(&fact) {
            if failed.is_none()
                && let Err(e) = results.deduction(db, &d)
            {
                failed = Some(e);
            }
        }
    })
    .await?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let finished = computation.finish();
    Ok((count, results.finish(db, &finished)?))
}

/// Records the run, replacing the period's previous one, and commits the caller's
/// transaction. Returns whether the previous run had the same results and rules.
fn record_and_commit(db: &Db, record: &NewRun) -> Result<bool, Problem> {
    let stored = stored::record(db, record).and_then(|identical| db.execute("COMMIT", &[]).map(|_| identical));
    stored.map_err(|e| {
        let _ = db.execute("ROLLBACK", &[]);
        e.into()
    })
}
