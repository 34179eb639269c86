//! The import slot (导入占位): one import at a time for the whole registry, since each
//! dataset is checked against the others.
//!
//! Whether an import is running is a row in the `imports` table, not a lock in some
//! process: any instance of grid-lookup sees it.
//! - [`claim`] first reads the row without a transaction. A write lock held by a running
//!   import's write stage does not block that read in WAL mode, so a second import is
//!   refused at once instead of waiting for the lock.
//! - Only when the slot looks free does it take the write lock, in a short transaction
//!   that reads the row again before claiming it. Two imports racing for a free slot
//!   cannot both win.
//! - The running import refreshes its heartbeat between stages and gives the slot up in
//!   the transaction that writes its dataset, or at once when it fails.
//! - An import that died (a trapped instance, a killed host) leaves its claim behind.
//!   Once the heartbeat is [`STALE_AFTER_MS`] old, the next import takes it over.

use wangge_core::migrations::{Sql, StorageError};

use super::ImportError;

/// A claim whose heartbeat is this old belongs to an import that died (2 minutes: the
/// longest stage of the largest import the body limits allow takes well under that).
pub const STALE_AFTER_MS: i64 = 120_000;

/// What a refused import is told to wait before trying again, in seconds: about the
/// time Nantong's grids take to import.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// The running import's hold on the slot, named by a token only it knows.
#[derive(Debug)]
pub struct Claim {
    token: String,
}

/// The slot's row: (dataset, heartbeat in unix ms), if any import holds it.
fn holder(db: &impl Sql) -> Result<Option<(String, i64)>, StorageError> {
    let rows = db.execute("SELECT dataset, heartbeat_ms FROM imports WHERE slot = 1", &[])?;
    Ok(rows.rows.first().map(|r| (r[0].as_str().unwrap_or_default().to_owned(), r[1].as_i64().unwrap_or(0))))
}

/// 409 `import_in_progress` when a live import holds the slot.
fn check_free(held: Option<(String, i64)>, now_ms: i64) -> Result<(), ImportError> {
    match held {
        Some((dataset, heartbeat_ms)) if now_ms - heartbeat_ms < STALE_AFTER_MS => {
            Err(ImportError::InProgress { dataset, retry_after_seconds: RETRY_AFTER_SECONDS })
        }
        _ => Ok(()),
    }
}

/// Claims the slot for an import of `dataset` (a dataset's or `outlines`) at `now_ms`
/// (unix milliseconds), or refuses at once with [`ImportError::InProgress`].
pub fn claim(db: &impl Sql, dataset: &str, now_ms: i64) -> Result<Claim, ImportError> {
    check_free(holder(db)?, now_ms)?;
    let token = wangge_core::ids::new_id();
    db.transaction(|db| {
        check_free(holder(db)?, now_ms)?;
        db.execute(
            "INSERT INTO imports (slot, token, dataset, claimed_at, heartbeat_ms) VALUES (1, ?, ?, ?, ?) \
             ON CONFLICT (slot) DO UPDATE SET token = excluded.token, dataset = excluded.dataset, \
             claimed_at = excluded.claimed_at, heartbeat_ms = excluded.heartbeat_ms",
            &[
                token.as_str().into(),
                dataset.into(),
                wangge_core::time::store(wangge_core::time::now_utc()).into(),
                now_ms.into(),
            ],
        )?;
        Ok::<_, ImportError>(())
    })?;
    Ok(Claim { token })
}

impl Claim {
    /// Tells other imports this one is still alive, at `now_ms`.
    pub fn refresh(&self, db: &impl Sql, now_ms: i64) -> Result<(), StorageError> {
        db.execute(
            "UPDATE imports SET heartbeat_ms = ? WHERE slot = 1 AND token = ?",
            &[now_ms.into(), self.token.as_str().into()],
        )
        .map(|_| ())
    }

    /// Gives the slot up inside the transaction that writes the import, so that the new
    /// version and the free slot commit together. An import whose claim was taken over
    /// (it stalled past the stale timeout) writes nothing: another import runs now.
    pub fn give_up_in(&self, db: &impl Sql) -> Result<(), ImportError> {
        let gone = db.execute(
            "DELETE FROM imports WHERE slot = 1 AND token = ? RETURNING dataset",
            &[self.token.as_str().into()],
        )?;
        if gone.rows.is_empty() {
            let dataset = holder(db)?.map(|(d, _)| d).unwrap_or_default();
            return Err(ImportError::InProgress { dataset, retry_after_seconds: RETRY_AFTER_SECONDS });
        }
        Ok(())
    }

    /// Gives the slot up after an import that wrote nothing. Should this fail, the claim
    /// lapses after [`STALE_AFTER_MS`].
    pub fn release(self, db: &impl Sql) {
        let _ = db.execute("DELETE FROM imports WHERE slot = 1 AND token = ?", &[self.token.as_str().into()]);
    }
}

/// Runs `work` holding the slot for `dataset`: claimed first, released after. A `work`
/// that writes gives the slot up in its own transaction ([`Claim::give_up_in`]); the
/// release after it then finds nothing to delete.
pub fn holding<T>(
    db: &impl Sql,
    dataset: &str,
    work: impl FnOnce(&Claim) -> Result<T, ImportError>,
) -> Result<T, ImportError> {
    let claim = claim(db, dataset, now_ms())?;
    let result = work(&claim);
    claim.release(db);
    result
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    wangge_core::time::now_utc().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use wangge_core::native::TestDb;

    use super::*;
    use crate::import::{Dataset, Format, current_version, import};

    fn db() -> TestDb {
        TestDb::migrated(&crate::SCHEMA)
    }

    const REGIONS: &str = "code,name,level,parent\n320600000000,南通市,city,\n";

    #[test]
    fn the_slot_is_one_row() {
        let db = db();
        let row = |slot: i64| {
            db.execute(
                "INSERT INTO imports (slot, token, dataset, claimed_at, heartbeat_ms) VALUES (?, 't', 'grids', '', 0)",
                &[slot.into()],
            )
        };
        assert!(row(2).is_err(), "only slot 1 exists");
        row(1).unwrap();
        assert!(row(1).is_err(), "and only once");
    }

    #[test]
    fn a_second_claim_is_refused_while_the_first_is_alive() {
        let db = db();
        let first = claim(&db, "grids", 1_000).unwrap();
        match claim(&db, "regions", 1_000 + STALE_AFTER_MS - 1) {
            Err(ImportError::InProgress { dataset, retry_after_seconds }) => {
                assert_eq!((dataset.as_str(), retry_after_seconds), ("grids", RETRY_AFTER_SECONDS));
            }
            other => panic!("expected in progress, got {other:?}"),
        }
        first.release(&db);
        claim(&db, "regions", 1_000).unwrap();
    }

    #[test]
    fn a_heartbeat_keeps_a_claim_alive_and_a_stale_one_is_taken_over() {
        let db = db();
        let first = claim(&db, "grids", 0).unwrap();
        first.refresh(&db, STALE_AFTER_MS).unwrap();
        assert!(matches!(claim(&db, "staff", STALE_AFTER_MS + 1), Err(ImportError::InProgress { .. })));
        // No heartbeat for the stale timeout: the import died, and the next one takes over.
        let second = claim(&db, "staff", 2 * STALE_AFTER_MS).unwrap();
        // The first import, should it wake, may not write: its claim is gone.
        db.begin().unwrap();
        assert!(matches!(first.give_up_in(&db), Err(ImportError::InProgress { dataset, .. }) if dataset == "staff"));
        db.execute("ROLLBACK", &[]).unwrap();
        first.release(&db);
        assert!(matches!(claim(&db, "grids", 2 * STALE_AFTER_MS), Err(ImportError::InProgress { .. })));
        db.begin().unwrap();
        second.give_up_in(&db).unwrap();
        db.execute("COMMIT", &[]).unwrap();
        claim(&db, "grids", 2 * STALE_AFTER_MS).unwrap();
    }

    #[test]
    fn an_import_while_another_runs_writes_nothing_and_the_slot_is_free_after_each_import() {
        let db = db();
        let running = claim(&db, "grids", now_ms()).unwrap();
        let refused = import(&db, Dataset::Regions, Format::Csv, REGIONS.as_bytes());
        assert!(matches!(refused, Err(ImportError::InProgress { dataset, .. }) if dataset == "grids"));
        assert_eq!(current_version(&db, Dataset::Regions).unwrap(), None, "nothing written");
        running.release(&db);
        // A good import, a no-op re-import and a failed import each leave the slot free.
        assert_eq!(import(&db, Dataset::Regions, Format::Csv, REGIONS.as_bytes()).unwrap().version, 1);
        assert!(import(&db, Dataset::Regions, Format::Csv, REGIONS.as_bytes()).unwrap().unchanged);
        assert!(matches!(import(&db, Dataset::Grids, Format::Csv, b"x"), Err(ImportError::Malformed(_))));
        let slot = db.execute("SELECT count(*) FROM imports", &[]).unwrap();
        assert_eq!(slot.scalar().and_then(|v| v.as_i64()), Some(0));
    }
}
