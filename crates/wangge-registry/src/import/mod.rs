//! Imports: a whole dataset at a time, validated before anything is written, then
//! written as a new version and switched to in one transaction.
//!
//! - A failed import changes nothing.
//! - The previous version stays readable (`?version=`) until the next import.
//! - Re-importing the same bytes is a no-op.
//!
//! An import runs in three stages, one module each, timed in its [`ImportReport`]:
//! - [`parse`]: the body as records, each with the JSON pointer that names it;
//! - [`validate`]: every record against the rules and the datasets before it;
//! - [`write`]: the new version, switched to in one transaction.
//!
//! One import runs at a time: [`claim`] holds the slot, and a second import meanwhile is
//! refused at once with [`ImportError::InProgress`].

pub mod claim;
mod parse;
mod validate;
mod write;

use std::time::Instant;

use sha2::{Digest, Sha256};
use wangge_core::FieldError;
use wangge_core::migrations::{Sql, SqlValue, StorageError};

pub(crate) use write::insert_all;
pub use write::insert_grid;

use claim::Claim;
use parse::parse;
use validate::{Context, validate};
use write::write;

/// The four registries, imported in this order: each checks against the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// Regions (行政区划): city, district, town, community.
    Regions,
    /// Grids (网格): comprehensive and dedicated, with their outlines.
    Grids,
    /// Staff (网格员、网格长、专属网格信息员) of grids and communities.
    Staff,
    /// The standard address dictionary (标准地址), each address in a grid.
    Addresses,
}

impl Dataset {
    /// The dataset's name, as its route and `current_datasets.kind` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Regions => "regions",
            Dataset::Grids => "grids",
            Dataset::Staff => "staff",
            Dataset::Addresses => "addresses",
        }
    }
}

/// How an import's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON: an array of records, or a GeoJSON FeatureCollection for grids.
    Json,
    /// CSV with a header row (`text/csv`); not for grids.
    Csv,
}

/// How long one stage of an import took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stage {
    pub stage: &'static str,
    pub rows: usize,
    pub ms: f64,
}

/// What an import did, as `PUT /v1/{dataset}` answers it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub dataset: &'static str,
    pub version: i64,
    pub previous_version: Option<i64>,
    pub rows: usize,
    pub sha256: String,
    /// The same bytes as the current version: nothing was written.
    pub unchanged: bool,
    pub stages: Vec<Stage>,
    pub total_ms: f64,
}

/// At most this many problems are listed; `total` counts them all.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// Not CSV or JSON of the expected shape at all (400), said in both languages.
    Malformed(wangge_core::problem::Text),
    /// Records that break the rules (422), each with its pointer.
    Invalid { errors: Vec<FieldError>, total: usize },
    /// A dataset this one depends on has not been imported (409).
    MissingDependency(&'static str),
    /// Another import is running (409 `import_in_progress`): try again after the pause.
    InProgress {
        /// What the running import imports (a dataset's name, or `outlines`).
        dataset: String,
        /// Seconds to wait before trying again (`Retry-After`).
        retry_after_seconds: u32,
    },
    /// The database failed (503).
    Storage(StorageError),
}

impl From<StorageError> for ImportError {
    fn from(e: StorageError) -> Self {
        ImportError::Storage(e)
    }
}

/// The version of `dataset` readers see now, if any.
pub fn current_version(db: &impl Sql, dataset: Dataset) -> Result<Option<i64>, StorageError> {
    Ok(db
        .execute("SELECT version FROM current_datasets WHERE kind = ?", &[dataset.as_str().into()])?
        .scalar()
        .and_then(SqlValue::as_i64))
}

/// The version to read: `requested` if it is the current or the previous one.
pub fn readable_version(db: &impl Sql, dataset: Dataset, requested: Option<i64>) -> Result<Option<i64>, StorageError> {
    let rows = db
        .execute("SELECT version, previous_version FROM current_datasets WHERE kind = ?", &[dataset.as_str().into()])?;
    let Some(row) = rows.rows.first() else { return Ok(None) };
    let (current, previous) = (row[0].as_i64(), row[1].as_i64());
    Ok(match requested {
        None => current,
        Some(v) if Some(v) == current || Some(v) == previous => Some(v),
        Some(_) => None,
    })
}

/// Imports `body` as the next version of `dataset`, holding the import slot while it
/// runs: while another import holds it, refused at once with [`ImportError::InProgress`].
pub fn import(db: &impl Sql, dataset: Dataset, format: Format, body: &[u8]) -> Result<ImportReport, ImportError> {
    claim::holding(db, dataset.as_str(), |claim| run(db, dataset, format, body, claim))
}

/// The import itself, under `claim`: parse, validate, write.
fn run(
    db: &impl Sql,
    dataset: Dataset,
    format: Format,
    body: &[u8],
    claim: &Claim,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let sha256 = hex::encode(Sha256::digest(body));
    if let Some(report) = unchanged(db, dataset, &sha256, started)? {
        return Ok(report);
    }
    let mut stages = Vec::new();
    let context = Context::load(db, dataset)?;
    let t = Instant::now();
    let records = parse(dataset, format, body)?;
    stages.push(Stage { stage: "parse", rows: records.len(), ms: ms(t) });
    claim.refresh(db, claim::now_ms())?;

    let t = Instant::now();
    let errors = validate(&records, &context);
    stages.push(Stage { stage: "validate", rows: records.len(), ms: ms(t) });
    if !errors.is_empty() {
        return Err(parse::invalid(errors));
    }
    claim.refresh(db, claim::now_ms())?;

    let t = Instant::now();
    let rows = records.len();
    let (version, previous_version) = db.transaction(|db| {
        claim.give_up_in(db)?;
        Ok::<_, ImportError>(write(db, dataset, &records, &sha256, &context)?)
    })?;
    stages.push(Stage { stage: "write", rows, ms: ms(t) });
    Ok(ImportReport {
        dataset: dataset.as_str(),
        version,
        previous_version,
        rows,
        sha256,
        unchanged: false,
        stages,
        total_ms: ms(started),
    })
}

/// The report of a re-import of the current version's bytes, which writes nothing.
fn unchanged(
    db: &impl Sql,
    dataset: Dataset,
    sha256: &str,
    started: Instant,
) -> Result<Option<ImportReport>, StorageError> {
    let current = db.execute(
        "SELECT d.version, d.sha256, d.rows, c.previous_version FROM current_datasets c JOIN dataset_versions d ON d.kind = c.kind AND d.version = c.version WHERE c.kind = ?",
        &[dataset.as_str().into()],
    )?;
    let Some(row) = current.rows.first().filter(|row| row[1].as_str() == Some(sha256)) else {
        return Ok(None);
    };
    Ok(Some(ImportReport {
        dataset: dataset.as_str(),
        version: row[0].as_i64().unwrap_or(0),
        previous_version: row[3].as_i64(),
        rows: row[2].as_i64().unwrap_or(0) as usize,
        sha256: sha256.to_owned(),
        unchanged: true,
        stages: Vec::new(),
        total_ms: ms(started),
    }))
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
