//! Validation: every record against the rules and against the current versions of the
//! datasets before it, every problem listed with its pointer and its own code.

use std::collections::{HashMap, HashSet};

use wangge_core::FieldError;
use wangge_core::migrations::Sql;

use super::parse::{ParsedGrid, Records};
use super::{Dataset, ImportError, current_version};
use crate::model::{Address, DEDICATED_TYPES, Grid, GridKind, Level, Region, STAFF_ROLES, Staff};

/// What a dataset is checked against: the current versions of those before it.
pub(super) struct Context {
    regions: HashSet<String>,
    communities: HashSet<String>,
    grids: HashSet<String>,
    /// The current cities' names, which address normalisation drops.
    pub(super) city_names: Vec<String>,
}

impl Context {
    /// Reads what `dataset` is checked against; 409 when a dataset it needs is missing.
    pub(super) fn load(db: &impl Sql, dataset: Dataset) -> Result<Context, ImportError> {
        let mut context = Context {
            regions: HashSet::new(),
            communities: HashSet::new(),
            grids: HashSet::new(),
            city_names: Vec::new(),
        };
        let needs_regions = dataset != Dataset::Regions;
        let needs_grids = matches!(dataset, Dataset::Staff | Dataset::Addresses);
        if needs_regions {
            let Some(v) = current_version(db, Dataset::Regions)? else {
                return Err(ImportError::MissingDependency("regions"));
            };
            for row in db.execute("SELECT code, level, name FROM regions WHERE version = ?", &[v.into()])?.rows {
                let code = row[0].as_str().unwrap_or_default().to_owned();
                match row[1].as_str() {
                    Some("community") => {
                        context.communities.insert(code.clone());
                    }
                    Some("city") => context.city_names.push(row[2].as_str().unwrap_or_default().to_owned()),
                    _ => {}
                }
                context.regions.insert(code);
            }
        }
        if needs_grids {
            let Some(v) = current_version(db, Dataset::Grids)? else {
                return Err(ImportError::MissingDependency("grids"));
            };
            for row in db.execute("SELECT code FROM grids WHERE version = ?", &[v.into()])?.rows {
                context.grids.insert(row[0].as_str().unwrap_or_default().to_owned());
            }
        }
        Ok(context)
    }
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Every problem of `records`, in record order.
pub(super) fn validate(records: &Records, context: &Context) -> Vec<FieldError> {
    match records {
        Records::Regions(rows) => regions(rows),
        Records::Grids(rows) => grids(rows, context),
        Records::Staff(rows) => staff(rows, context),
        Records::Addresses(rows) => addresses(rows, context),
    }
}

/// 12-digit codes, each once, named, at a known level, under a parent of the level above
/// that is in the same file.
fn regions(rows: &[(String, Region)]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let levels: HashMap<&str, &str> = rows.iter().map(|(_, r)| (r.code.as_str(), r.level.as_str())).collect();
    for (at, r) in rows {
        if !all_digits(&r.code, 12) {
            errors.push(FieldError::new(
                format!("{at}/code"),
                "code_format",
                format!("region {}: a region code has 12 digits", r.code),
            ));
        }
        if !seen.insert(r.code.as_str()) {
            errors.push(FieldError::new(
                format!("{at}/code"),
                "duplicate_code",
                format!("region {} appears twice", r.code),
            ));
        }
        if r.name.trim().is_empty() {
            errors.push(FieldError::new(
                format!("{at}/name"),
                "required",
                format!("region {}: a name is required", r.code),
            ));
        }
        let Some(level) = Level::parse(&r.level) else {
            errors.push(FieldError::new(
                format!("{at}/level"),
                "unknown_level",
                format!("region {}: level must be city, district, town or community", r.code),
            ));
            continue;
        };
        errors.extend(region_parent(at, r, level, &levels));
    }
    errors
}

/// A city has no parent; any other level hangs under a region of the level above.
fn region_parent(at: &str, r: &Region, level: Level, levels: &HashMap<&str, &str>) -> Option<FieldError> {
    let parent = r.parent.as_deref().filter(|p| !p.is_empty());
    let (code, message) = match (level.parent(), parent) {
        (None, None) => return None,
        (None, Some(_)) => ("unexpected_parent", format!("region {}: a city has no parent", r.code)),
        (Some(_), None) => ("required", format!("region {}: a {} needs a parent", r.code, level.as_str())),
        (Some(expected), Some(p)) => match levels.get(p) {
            None => ("unknown_parent", format!("region {}: parent {p} is not in the file", r.code)),
            Some(l) if *l != expected.as_str() => (
                "parent_level",
                format!("region {}: a {}'s parent must be a {}, not a {l}", r.code, level.as_str(), expected.as_str()),
            ),
            Some(_) => return None,
        },
    };
    Some(FieldError::new(format!("{at}/parent"), code, message))
}

/// Each feature readable, then its code: 15 digits, once, in its kind's sequence range,
/// under a current community; a dedicated grid's type from the list.
fn grids(rows: &[(String, ParsedGrid)], context: &Context) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (at, grid) in rows {
        let grid = match grid {
            Ok(g) => g,
            Err(problems) => {
                errors.extend(problems.iter().cloned());
                continue;
            }
        };
        let code_at = format!("{at}/properties/code");
        if !all_digits(&grid.code, 15) {
            errors.push(FieldError::new(
                code_at,
                "code_format",
                format!("grid {}: a grid code has 15 digits", grid.code),
            ));
            continue;
        }
        if !seen.insert(grid.code.as_str()) {
            errors.push(FieldError::new(
                code_at.clone(),
                "duplicate_code",
                format!("grid {} appears twice", grid.code),
            ));
        }
        errors.extend(grid_code(at, grid, context));
        if grid.kind == GridKind::Dedicated
            && !grid.dedicated_type.as_deref().is_some_and(|t| DEDICATED_TYPES.contains(&t))
        {
            errors.push(FieldError::new(
                format!("{at}/properties/dedicated_type"),
                "dedicated_type",
                format!("grid {}: dedicated_type must be one of {}", grid.code, DEDICATED_TYPES.join(", ")),
            ));
        }
    }
    errors
}

/// A well-formed grid code's sequence (comprehensive 001–499, dedicated 501–999) and
/// community (its first 12 digits, a current community).
fn grid_code(at: &str, grid: &Grid, context: &Context) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let code_at = format!("{at}/properties/code");
    let sequence: u32 = grid.code[12..].parse().unwrap_or(0);
    let range = match grid.kind {
        GridKind::Comprehensive => 1..=499,
        GridKind::Dedicated => 501..=999,
    };
    if !range.contains(&sequence) {
        errors.push(FieldError::new(
            code_at.clone(),
            "code_sequence",
            format!(
                "grid {}: a {} grid's sequence is {:03}–{:03}, not {:03}",
                grid.code,
                grid.kind.as_str(),
                range.start(),
                range.end(),
                sequence
            ),
        ));
    }
    if grid.region_code != grid.code[..12] {
        errors.push(FieldError::new(
            format!("{at}/properties/region_code"),
            "code_prefix",
            format!("grid {}: region_code {} must be the grid code's first 12 digits", grid.code, grid.region_code),
        ));
    } else if !context.communities.contains(&grid.region_code) {
        errors.push(FieldError::new(
            code_at,
            "unknown_community",
            format!("grid {}: community {} is not in the current regions", grid.code, grid.region_code),
        ));
    }
    errors
}

/// Ids once, known roles, current grids and regions, plausible phones; only a grid head
/// (网格长) belongs to a community rather than a grid.
fn staff(rows: &[(String, Staff)], context: &Context) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (at, s) in rows {
        let mut problem = |field: &str, code: &str, message: String| {
            errors.push(FieldError::new(format!("{at}/{field}"), code, message));
        };
        if s.staff_id.trim().is_empty() {
            problem("staff_id", "required", "staff_id is required".into());
        } else if !seen.insert(s.staff_id.as_str()) {
            problem("staff_id", "duplicate_code", format!("staff {} appears twice", s.staff_id));
        }
        if !STAFF_ROLES.contains(&s.role.as_str()) {
            let roles = STAFF_ROLES.join(", ");
            problem("role", "unknown_role", format!("staff {}: role must be one of {roles}", s.staff_id));
        }
        if !s.grid_code.is_empty() && !context.grids.contains(&s.grid_code) {
            let why = format!("staff {}: grid {} is not in the current grids", s.staff_id, s.grid_code);
            problem("grid_code", "unknown_grid", why);
        }
        if s.grid_code.is_empty() && s.role != "grid_head" {
            problem("grid_code", "required", format!("staff {}: a {} belongs to a grid", s.staff_id, s.role));
        }
        if !context.regions.contains(&s.region_code) {
            let why = format!("staff {}: region {} is not in the current regions", s.staff_id, s.region_code);
            problem("region_code", "unknown_region", why);
        }
        if !s.phone.is_empty() && !(7..=20).contains(&s.phone.len()) {
            problem("phone", "phone_format", format!("staff {}: a phone has 7 to 20 digits", s.staff_id));
        }
    }
    errors
}

/// A text, coordinates in range and a current grid.
fn addresses(rows: &[(String, Address)], context: &Context) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (at, a) in rows {
        if a.address.trim().is_empty() {
            errors.push(FieldError::new(format!("{at}/address"), "required", "address is required"));
        }
        if !(-180.0..=180.0).contains(&a.lng) || !(-90.0..=90.0).contains(&a.lat) {
            errors.push(FieldError::new(
                format!("{at}/lng"),
                "coordinate_out_of_range",
                format!("address {}: coordinates out of range", a.address),
            ));
        }
        if !context.grids.contains(&a.grid_code) {
            errors.push(FieldError::new(
                format!("{at}/grid_code"),
                "unknown_grid",
                format!("address {}: grid {} is not in the current grids", a.address, a.grid_code),
            ));
        }
    }
    errors
}
