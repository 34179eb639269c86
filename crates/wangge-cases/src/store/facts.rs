//! The facts assessment reads: one line per case, selected for a period, and the stream
//! that carries them (`GET /internal/facts`), typed once here for case-routing, which
//! writes it, and assessment, which reads it.
//!
//! The stream is newline-delimited JSON:
//!
//! - one [`CaseFacts`] per line, every field present (an absent option is `null`);
//! - then exactly one last line, the trailer [`End`], `{"end": true, "cases": N}`,
//!   declaring how many fact lines came before it;
//! - or, when storage fails after the first line went out, an [`Interrupted`] line
//!   `{"error": "storage_unavailable", "detail": "...", "after": "<last case id>"}`
//!   instead of the trailer.
//!
//! [`FactsReader`] reads it strictly: a line with an unknown or a missing field, or an
//! unknown state, priority or handling level, is an error; so are a trailer whose count
//! differs from the lines read, an error line, and a stream cut before its trailer.

use serde::{Deserialize, Serialize};
use wangge_core::migrations::{Sql, SqlValue, StorageError};

use crate::lifecycle::{AssigneeKind, State};
use crate::reference::Priority;

/// One case as assessment needs it (docs/assessment.md): grids, category, the first report,
/// how it was handled, every deadline, and when it was resolved, closed and reopened.
/// One line of the facts stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFacts {
    pub case_id: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub responsible_grid: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub comprehensive_grid: Option<String>,
    pub community: String,
    pub category: String,
    pub domain: String,
    pub priority: Priority,
    pub state: State,
    pub source: String,
    /// The reporter, when grid staff, and whether they are grid staff of this case.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub reporter_staff_id: Option<String>,
    pub reporter_is_grid_staff_of_case: bool,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub discovered_at: Option<String>,
    pub reported_at: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub handling_level: Option<AssigneeKind>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub department: Option<String>,
    pub escalated_to_department: bool,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub assigned_at: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub respond_due: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub resolve_due: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub first_resolved_at: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub closed_at: Option<String>,
    pub reopened_at: Vec<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
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
    // The first report: the earlier of the case's own and its earliest duplicate's (none
    // is NULL, and `NULL < x` is not true). Written as CASE, not SQLite's two-argument
    // `min`, and computed in a subquery: PostgreSQL's WHERE sees no column alias.
    const FIRST_REPORTED_AT: &str =
        "CASE WHEN c.earliest_duplicate < c.reported_at THEN c.earliest_duplicate ELSE c.reported_at END";
    let rows = db.execute(
        &format!(
            "SELECT c.id, c.responsible_grid, c.comprehensive_grid, c.community, c.category, c.domain, c.priority, c.state, \
             c.source, c.reporter_staff_id, EXISTS (SELECT 1 FROM case_staff s WHERE s.case_id = c.id AND s.staff_id = c.reporter_staff_id), \
             c.discovered_at, c.reported_at, c.handling_level, CASE c.assignee_kind WHEN 'department' THEN c.assignee END, \
             c.escalated_to_department, c.assigned_at, c.respond_due, c.resolve_due, c.first_resolved_at, c.closed_at, \
             c.reopened_at, c.merged_into \
             FROM (SELECT c.*, (SELECT min(d.reported_at) FROM cases d WHERE d.merged_into = c.id) AS earliest_duplicate \
                   FROM cases c WHERE c.id > ?1) c \
             WHERE {FIRST_REPORTED_AT} < ?3 \
             AND ({FIRST_REPORTED_AT} >= ?2 OR c.reported_at >= ?2 OR c.resolve_due >= ?2 OR c.closed_at >= ?2 OR c.closed_at IS NULL \
                  OR EXISTS (SELECT 1 FROM json_each(c.reopened_at) r WHERE r.value >= ?2 AND r.value < ?3)) \
             AND (?4 = 0 OR c.merged_into IS NOT NULL) \
             ORDER BY c.id LIMIT ?5"
        ),
        &[after.into(), from.into(), to.into(), i64::from(merged_only).into(), (limit as i64).into()],
    )?;
    rows.rows.iter().map(|r| facts_of(r)).collect()
}

/// One row of [`facts_page_of`] as [`CaseFacts`]. Text stored in an enum's column that
/// names no value of it (a state, a priority, a handling level) is an error, never a
/// default: a case read as `reported` that is not would be counted wrongly.
fn facts_of(r: &[SqlValue]) -> Result<CaseFacts, StorageError> {
    let t = |v: &SqlValue| v.as_str().map(str::to_owned);
    let s = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    let case_id = s(&r[0]);
    let unreadable = |what: &str, e: String| StorageError::Io(format!("case {case_id}: its {what} is unreadable: {e}"));
    let state: State = super::reads::state_of(&s(&r[7])).map_err(|e| unreadable("state", e.to_string()))?;
    let handling_level = match r[13].as_str() {
        Some(level) => Some(level.parse::<AssigneeKind>().map_err(|e| unreadable("handling level", e))?),
        None => None,
    };
    let reopened_at = match r[21].as_str() {
        Some(list) => serde_json::from_str(list).map_err(|e| unreadable("reopenings", e.to_string()))?,
        None => Vec::new(),
    };
    Ok(CaseFacts {
        responsible_grid: t(&r[1]),
        comprehensive_grid: t(&r[2]),
        community: s(&r[3]),
        category: s(&r[4]),
        domain: s(&r[5]),
        priority: s(&r[6]).parse().map_err(|e| unreadable("priority", e))?,
        state,
        source: s(&r[8]),
        reporter_staff_id: t(&r[9]),
        reporter_is_grid_staff_of_case: r[10].as_i64() == Some(1),
        discovered_at: t(&r[11]),
        reported_at: s(&r[12]),
        handling_level,
        department: t(&r[14]),
        escalated_to_department: r[15].as_i64() == Some(1),
        assigned_at: t(&r[16]),
        respond_due: t(&r[17]),
        resolve_due: t(&r[18]),
        first_resolved_at: t(&r[19]),
        closed_at: t(&r[20]),
        reopened_at,
        merged_into: t(&r[22]),
        case_id,
    })
}

/// The stream's last line: how many fact lines came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    /// Always `true`: this line is the end.
    pub end: bool,
    /// The fact lines before it.
    pub cases: u64,
}

/// The line that replaces [`End`] when storage fails mid-stream, after the status went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interrupted {
    /// An [`ErrorCode`](wangge_core::ErrorCode) string: `storage_unavailable`.
    pub error: String,
    pub detail: String,
    /// The last case id sent.
    pub after: String,
}

/// Why a facts stream is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// A line that is not a fact, the trailer or an error line, as this build reads them.
    #[error("line {line} of the facts is unreadable: {why}")]
    Unreadable { line: u64, why: String },
    /// The server said it failed part way.
    #[error("the facts stream was interrupted after case {after}: {detail}")]
    Interrupted { after: String, detail: String },
    /// The trailer declares a count other than the fact lines read.
    #[error("the facts stream declares {declared} cases but carried {read}")]
    Count { declared: u64, read: u64 },
    /// The stream ended without its trailer, or went on after it.
    #[error("the facts stream was cut: {0}")]
    Cut(&'static str),
}

/// Reads the facts stream chunk by chunk, handing each fact on as it is parsed, and
/// checks the count it declares at the end.
#[derive(Debug, Default)]
pub struct FactsReader {
    buffer: Vec<u8>,
    lines: u64,
    read: u64,
    declared: Option<u64>,
}

impl FactsReader {
    pub fn new() -> FactsReader {
        FactsReader::default()
    }

    /// Takes the next chunk of the body: every complete line in it is read.
    pub fn push(&mut self, chunk: &[u8], each: &mut impl FnMut(CaseFacts)) -> Result<(), FactsError> {
        self.buffer.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(newline) = self.buffer[start..].iter().position(|b| *b == b'\n') {
            let line = self.buffer[start..start + newline].to_vec();
            start += newline + 1;
            self.line(&line, each)?;
        }
        self.buffer.drain(..start);
        Ok(())
    }

    fn line(&mut self, line: &[u8], each: &mut impl FnMut(CaseFacts)) -> Result<(), FactsError> {
        self.lines += 1;
        if self.declared.is_some() {
            return Err(FactsError::Cut("a line after the trailer"));
        }
        let unreadable = |e: serde_json::Error| FactsError::Unreadable { line: self.lines, why: e.to_string() };
        // Facts start with their case id as written; anything else is tried as the trailer,
        // then as an error line, and else read as a fact for the error naming the field.
        if !line.starts_with(br#"{"case_id""#) {
            if let Ok(end) = serde_json::from_slice::<End>(line) {
                if !end.end {
                    return Err(FactsError::Unreadable {
                        line: self.lines,
                        why: "a trailer whose `end` is false".into(),
                    });
                }
                self.declared = Some(end.cases);
                return Ok(());
            }
            if let Ok(e) = serde_json::from_slice::<Interrupted>(line) {
                return Err(FactsError::Interrupted { after: e.after, detail: e.detail });
            }
        }
        each(serde_json::from_slice(line).map_err(unreadable)?);
        self.read += 1;
        Ok(())
    }

    /// The body has ended: the count of facts read, when it is the count declared.
    pub fn finish(self) -> Result<u64, FactsError> {
        if !self.buffer.is_empty() {
            return Err(FactsError::Cut("a last line without its newline"));
        }
        match self.declared {
            None => Err(FactsError::Cut("no trailer")),
            Some(declared) if declared != self.read => Err(FactsError::Count { declared, read: self.read }),
            Some(_) => Ok(self.read),
        }
    }

    /// Reads a whole body at once.
    pub fn read_all(body: &[u8], mut each: impl FnMut(CaseFacts)) -> Result<u64, FactsError> {
        let mut reader = FactsReader::new();
        reader.push(body, &mut each)?;
        reader.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fact line as case-routing writes it: every field present.
    fn line() -> serde_json::Value {
        serde_json::json!({
            "case_id": "c1", "responsible_grid": "G1", "comprehensive_grid": "G1", "community": "320613001001",
            "category": "B05", "domain": "eco_environment", "priority": "normal", "state": "closed",
            "source": "resident", "reporter_staff_id": null, "reporter_is_grid_staff_of_case": false,
            "discovered_at": null, "reported_at": "2026-10-10T09:00:00+08:00", "handling_level": "grid",
            "department": null, "escalated_to_department": false, "assigned_at": null, "respond_due": null,
            "resolve_due": "2026-10-15T09:00:00+08:00", "first_resolved_at": null, "closed_at": null,
            "reopened_at": [], "merged_into": null
        })
    }

    fn body(lines: &[serde_json::Value]) -> Vec<u8> {
        lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes()
    }

    fn end(cases: u64) -> serde_json::Value {
        serde_json::to_value(End { end: true, cases }).unwrap()
    }

    fn read(body: &[u8]) -> Result<Vec<CaseFacts>, FactsError> {
        let mut facts = Vec::new();
        FactsReader::read_all(body, |f| facts.push(f)).map(|n| {
            assert_eq!(n as usize, facts.len());
            facts
        })
    }

    #[test]
    fn a_stream_reads_back_line_for_line_and_the_trailer_closes_it() {
        let facts = read(&body(&[line(), line(), end(2)])).unwrap();
        assert_eq!(facts.len(), 2);
        assert_eq!((facts[0].state, facts[0].handling_level), (State::Closed, Some(AssigneeKind::Grid)));
        // What is written reads back as the same line.
        assert_eq!(serde_json::to_value(&facts[0]).unwrap(), line());
        // Read in chunks that split lines anywhere, the same.
        let whole = body(&[line(), end(1)]);
        let mut reader = FactsReader::new();
        let mut n = 0;
        for chunk in whole.chunks(7) {
            reader.push(chunk, &mut |_| n += 1).unwrap();
        }
        assert_eq!((reader.finish(), n), (Ok(1), 1));
    }

    #[test]
    fn an_unknown_field_a_missing_field_or_an_unknown_state_is_unreadable() {
        let mut renamed = line();
        let state = renamed.as_object_mut().unwrap().remove("state").unwrap();
        renamed["status"] = state;
        let unknown = read(&body(&[line(), renamed, end(2)])).unwrap_err();
        assert!(matches!(&unknown, FactsError::Unreadable { line: 2, why } if why.contains("unknown field `status`")));

        let mut missing = line();
        missing.as_object_mut().unwrap().remove("category");
        let missing = read(&body(&[missing, end(1)])).unwrap_err();
        assert!(
            matches!(&missing, FactsError::Unreadable { line: 1, why } if why.contains("missing field `category`"))
        );

        // An optional field is sent as null: left out, it is missing, not none.
        let mut no_null = line();
        no_null.as_object_mut().unwrap().remove("merged_into");
        let no_null = read(&body(&[no_null, end(1)])).unwrap_err();
        assert!(matches!(&no_null, FactsError::Unreadable { why, .. } if why.contains("missing field `merged_into`")));

        let mut bogus = line();
        bogus["state"] = "bogus".into();
        let bogus = read(&body(&[bogus, end(1)])).unwrap_err();
        assert!(
            matches!(&bogus, FactsError::Unreadable { why, .. } if why.contains("unknown variant `bogus`")),
            "{bogus:?}"
        );

        let mut level = line();
        level["handling_level"] = "village".into();
        assert!(matches!(read(&body(&[level, end(1)])), Err(FactsError::Unreadable { .. })));
        assert!(matches!(read(b"not json\n"), Err(FactsError::Unreadable { line: 1, .. })));
    }

    #[test]
    fn a_count_that_does_not_match_or_a_cut_stream_is_refused() {
        assert_eq!(read(&body(&[line(), line(), end(3)])).unwrap_err(), FactsError::Count { declared: 3, read: 2 });
        assert_eq!(read(&body(&[line(), end(0)])).unwrap_err(), FactsError::Count { declared: 0, read: 1 });
        assert_eq!(read(&body(&[line(), line()])).unwrap_err(), FactsError::Cut("no trailer"));
        assert_eq!(read(b"").unwrap_err(), FactsError::Cut("no trailer"));
        let mut cut = body(&[line(), end(1)]);
        cut.truncate(cut.len() - 1);
        assert_eq!(read(&cut).unwrap_err(), FactsError::Cut("a last line without its newline"));
        assert_eq!(read(&body(&[end(1), line()])).unwrap_err(), FactsError::Cut("a line after the trailer"));
        let mut unknown = end(1);
        unknown["facts"] = 1.into();
        assert!(matches!(read(&body(&[line(), unknown])), Err(FactsError::Unreadable { line: 2, .. })));
        let interrupted = serde_json::json!({"error": "storage_unavailable", "detail": "down", "after": "c1"});
        assert_eq!(
            read(&body(&[line(), interrupted])).unwrap_err(),
            FactsError::Interrupted { after: "c1".into(), detail: "down".into() }
        );
    }
}
