//! The centre's category corrections (改类) that intake's classifier retrains on
//! (智能派单): one row per `recategorize`, written in its transaction, and read in pages
//! by sequence number ([`crate::api::Corrections`]).

use wangge_core::migrations::{Sql, SqlValue, StorageError};

use crate::api::{Correction, CorrectionsPage};
use crate::store::Case;

/// Records that the centre moved `case` (as it was before) to category `to`, by the log
/// entry `log_seq`, at `at`. The same entry twice is one row.
pub(crate) fn record(db: &impl Sql, case: &Case, to: &str, log_seq: i64, at: &str) -> Result<(), StorageError> {
    db.execute(
        "INSERT INTO triage_corrections (case_id, log_seq, text, from_category, to_category, model, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, log_seq) DO NOTHING",
        &[
            case.id.as_str().into(),
            log_seq.into(),
            case.description.as_str().into(),
            case.category.as_str().into(),
            to.into(),
            case.triage.as_ref().map(|t| t.model.clone()).into(),
            at.into(),
        ],
    )?;
    Ok(())
}

/// The corrections after sequence number `after`, oldest first, at most `limit`; `next`
/// is the last one's number when more may follow (`limit + 1` are fetched to know).
pub fn corrections(db: &impl Sql, after: i64, limit: u32) -> Result<CorrectionsPage, StorageError> {
    let rows = db.execute(
        "SELECT seq, case_id, text, from_category, to_category, model, at FROM triage_corrections \
         WHERE seq > ? ORDER BY seq LIMIT ?",
        &[after.into(), (i64::from(limit) + 1).into()],
    )?;
    let s = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    let mut items: Vec<Correction> = rows
        .rows
        .iter()
        .map(|r| Correction {
            seq: r[0].as_i64().unwrap_or_default(),
            case_id: s(&r[1]),
            text: s(&r[2]),
            from_category: s(&r[3]),
            to_category: s(&r[4]),
            model: r[5].as_str().map(str::to_owned),
            at: s(&r[6]),
        })
        .collect();
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(|c| c.seq) } else { None };
    Ok(CorrectionsPage { items, next })
}
