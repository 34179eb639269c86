//! The facts assessment reads: one line per case, selected for a period.

use serde::Serialize;
use wangge_core::migrations::{Sql, SqlValue, StorageError};

use crate::lifecycle::AssigneeKind;
use crate::reference::Priority;
use crate::store::reads::parsed;

/// One case as assessment needs it (assessment.md): grids, category, the first report,
/// how it was handled, every deadline, and when it was resolved, closed and reopened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFacts {
    pub case_id: String,
    pub responsible_grid: Option<String>,
    pub comprehensive_grid: Option<String>,
    pub community: String,
    pub category: String,
    pub domain: String,
    pub priority: Priority,
    pub state: String,
    pub source: String,
    /// The reporter, when grid staff, and whether they are grid staff of this case.
    pub reporter_staff_id: Option<String>,
    pub reporter_is_grid_staff_of_case: bool,
    pub discovered_at: Option<String>,
    pub reported_at: String,
    pub handling_level: Option<AssigneeKind>,
    pub department: Option<String>,
    pub escalated_to_department: bool,
    pub assigned_at: Option<String>,
    pub respond_due: Option<String>,
    pub resolve_due: Option<String>,
    pub first_resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub reopened_at: Vec<String>,
    pub merged_into: Option<String>,
}

/// One keyset page of facts for the period `[from, to)`. A case is in the period when
/// an assessment rule places something of it there:
///
/// - its first report: the earliest `reported_at` over the case and the duplicates
///   merged into it (应发现未发现, 应上报未上报), so a case made from a report of
///   1 November joined by an order of 31 October is October's;
/// - its own report (the month's statistics by source and state);
/// - its resolve deadline (应解决未解决, the month's due cases, department KPIs);
/// - a reopening (返工), on a case however long ago it was first reported.
///
/// Cases first reported before `to` that are still open, or were closed in or after
/// `from`, come too, as they always have; assessment places each fact by its own time.
/// Times compare as text (all stored in +08:00, so a month starts at 00:00 Shanghai
/// time). With `merged_only`, only the merged duplicates: what assessment needs to find
/// each case's first report before it reads every case.
pub fn facts_page_of(
    db: &impl Sql,
    from: &str,
    to: &str,
    after: &str,
    limit: usize,
    merged_only: bool,
) -> Result<Vec<CaseFacts>, StorageError> {
    let rows = db.execute(
        "SELECT c.id, c.responsible_grid, c.comprehensive_grid, c.community, c.category, c.domain, c.priority, c.state, \
         c.source, c.reporter_staff_id, EXISTS (SELECT 1 FROM case_staff s WHERE s.case_id = c.id AND s.staff_id = c.reporter_staff_id), \
         c.discovered_at, c.reported_at, c.handling_level, CASE c.assignee_kind WHEN 'department' THEN c.assignee END, \
         c.escalated_to_department, c.assigned_at, c.respond_due, c.resolve_due, c.first_resolved_at, c.closed_at, \
         c.reopened_at, c.merged_into, \
         min(c.reported_at, coalesce((SELECT min(d.reported_at) FROM cases d WHERE d.merged_into = c.id), c.reported_at)) \
           AS first_reported_at \
         FROM cases c WHERE c.id > ?1 AND first_reported_at < ?3 \
         AND (first_reported_at >= ?2 OR c.reported_at >= ?2 OR c.resolve_due >= ?2 OR c.closed_at >= ?2 OR c.closed_at IS NULL \
              OR EXISTS (SELECT 1 FROM json_each(c.reopened_at) r WHERE r.value >= ?2 AND r.value < ?3)) \
         AND (?4 = 0 OR c.merged_into IS NOT NULL) \
         ORDER BY c.id LIMIT ?5",
        &[after.into(), from.into(), to.into(), i64::from(merged_only).into(), (limit as i64).into()],
    )?;
    let t = |v: &SqlValue| v.as_str().map(str::to_owned);
    let s = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    Ok(rows
        .rows
        .iter()
        .map(|r| CaseFacts {
            case_id: s(&r[0]),
            responsible_grid: t(&r[1]),
            comprehensive_grid: t(&r[2]),
            community: s(&r[3]),
            category: s(&r[4]),
            domain: s(&r[5]),
            priority: s(&r[6]).parse().unwrap_or_default(),
            state: s(&r[7]),
            source: s(&r[8]),
            reporter_staff_id: t(&r[9]),
            reporter_is_grid_staff_of_case: r[10].as_i64() == Some(1),
            discovered_at: t(&r[11]),
            reported_at: s(&r[12]),
            handling_level: parsed(&r[13]),
            department: t(&r[14]),
            escalated_to_department: r[15].as_i64() == Some(1),
            assigned_at: t(&r[16]),
            respond_due: t(&r[17]),
            resolve_due: t(&r[18]),
            first_resolved_at: t(&r[19]),
            closed_at: t(&r[20]),
            reopened_at: r[21].as_str().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default(),
            merged_into: t(&r[22]),
        })
        .collect())
}
