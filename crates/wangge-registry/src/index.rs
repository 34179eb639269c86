//! The registry's two spatial and textual indexes, each in one form per engine: what
//! SQLite answers with its virtual tables, PostgreSQL answers with built-in GiST and GIN
//! indexes (no extension needed). Everything else the stores send is one statement for
//! both engines ([`wangge_core::dialect`]).
//!
//! - Bounding boxes of grids (`grids_rtree`, the same columns on both engines): SQLite's
//!   R*Tree, which queries put first with `CROSS JOIN`; PostgreSQL's table with a GiST
//!   index on each row's `box`, queried with `&&` (overlap).
//! - Character trigrams of normalised addresses, for fuzzy matching: SQLite's FTS5
//!   `addresses_fts` (`tokenize = 'trigram'`, rowid = `addresses.id`), ranked by bm25;
//!   PostgreSQL's GIN index on `address_trigrams(normalized)` (every run of three
//!   characters, as FTS5 indexes them), ranked by trigrams shared. Not `pg_trgm`: its
//!   trigrams are of words, and where a database's `LC_CTYPE` is `C` it takes no Chinese
//!   character for part of a word, so every address would look alike.

use wangge_core::Dialect;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};

use crate::import::Dataset;

/// `FROM … WHERE …` for grids `g` whose bounding boxes `r` meet (or touch) the box from
/// `?2` to `?1` in longitude (west to east) and from `?4` to `?3` in latitude (south to
/// north).
///
/// On PostgreSQL the GiST index finds the boxes by `&&`, which also takes boxes within
/// 1e-6° (about 0.1 m); the comparisons after it leave exactly SQLite's, and give the
/// planner an estimate from the columns' statistics: `&&` alone is estimated at a fixed
/// 0.5% of the boxes (46 of Nantong's 9207, where a point meets 2), and the plan of the
/// rest of a statement made for 46 grids reads every region.
pub(crate) fn grids_whose_box_meets(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "grids_rtree r CROSS JOIN grids g ON g.id = r.id \
             WHERE r.min_lng <= ?1 AND r.max_lng >= ?2 AND r.min_lat <= ?3 AND r.max_lat >= ?4"
        }
        Dialect::Postgres => {
            "grids_rtree r JOIN grids g ON g.id = r.id \
             WHERE box(point(r.min_lng, r.min_lat), point(r.max_lng, r.max_lat)) && box(point(?2, ?4), point(?1, ?3)) \
             AND r.min_lng <= ?1 AND r.max_lng >= ?2 AND r.min_lat <= ?3 AND r.max_lat >= ?4"
        }
    }
}

/// Files the bounding boxes of stored grids, `(id, [min_lng, min_lat, max_lng, max_lat])`.
pub(crate) fn index_grids(db: &impl Sql, boxes: &[(i64, [f64; 4])]) -> Result<(), StorageError> {
    let values = boxes
        .iter()
        .flat_map(|&(id, [min_lng, min_lat, max_lng, max_lat])| {
            [id.into(), min_lng.into(), max_lng.into(), min_lat.into(), max_lat.into()]
        })
        .collect();
    crate::import::insert_all(db, "grids_rtree (id, min_lng, max_lng, min_lat, max_lat)", 5, values, "").map(|_| ())
}

/// Forgets the bounding boxes of grids version `version`, before the grids go.
pub(crate) fn unindex_grids(db: &impl Sql, version: i64) -> Result<(), StorageError> {
    db.execute("DELETE FROM grids_rtree WHERE id IN (SELECT id FROM grids WHERE version = ?)", &[version.into()])
        .map(|_| ())
}

/// Indexes the addresses of version `version`, once they are all stored: SQLite's FTS5
/// table is filled; PostgreSQL's GIN index kept itself up to date as they were stored.
pub(crate) fn index_addresses(db: &impl Sql, version: i64) -> Result<(), StorageError> {
    if db.dialect() == Dialect::Sqlite {
        db.execute(
            "INSERT INTO addresses_fts (rowid, normalized) SELECT id, normalized FROM addresses WHERE version = ?",
            &[version.into()],
        )?;
    }
    Ok(())
}

/// Forgets the addresses of version `version` from the index, before they go.
pub(crate) fn unindex_addresses(db: &impl Sql, version: i64) -> Result<(), StorageError> {
    if db.dialect() == Dialect::Sqlite {
        db.execute(
            "DELETE FROM addresses_fts WHERE rowid IN (SELECT id FROM addresses WHERE version = ?)",
            &[version.into()],
        )?;
    }
    Ok(())
}

/// After a new version of `dataset` is written, in the same transaction: on PostgreSQL,
/// the planner's statistics of its tables are taken again (a fresh version doubles the
/// rows, and a plan from the statistics before it reads a whole version to find one
/// grid), and the addresses' trigrams move from the GIN index's pending list, which every
/// search reads through, into the index proper. SQLite's statements name their indexes.
pub(crate) fn after_writing(db: &impl Sql, dataset: Dataset) -> Result<(), StorageError> {
    if db.dialect() != Dialect::Postgres {
        return Ok(());
    }
    let tables = match dataset {
        Dataset::Regions => "regions",
        Dataset::Grids => "grids, grids_rtree",
        Dataset::Staff => "staff",
        Dataset::Addresses => {
            db.execute("SELECT gin_clean_pending_list('addresses_trigrams'::regclass)", &[])?;
            "addresses"
        }
    };
    db.execute(&format!("ANALYZE {tables}"), &[])?;
    Ok(())
}

/// At most this many addresses are scored for a fuzzy match.
pub const MAX_TRIGRAM_CANDIDATES: i64 = 200;

/// Addresses of version `version` that share a character trigram with `normalized`, the
/// [`MAX_TRIGRAM_CANDIDATES`] sharing most first: rows of `columns` (a select list over
/// `addresses a`).
pub(crate) fn addresses_sharing_trigrams(
    db: &impl Sql,
    version: i64,
    normalized: &str,
    columns: &str,
) -> Result<Rows, StorageError> {
    let limit = SqlValue::Integer(MAX_TRIGRAM_CANDIDATES);
    match db.dialect() {
        Dialect::Sqlite => {
            let chars: Vec<char> = normalized.chars().collect();
            let mut trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect::<String>()).collect();
            trigrams.sort();
            trigrams.dedup();
            let query =
                trigrams.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" OR ");
            db.execute(
                &format!(
                    "SELECT {columns} FROM addresses_fts f JOIN addresses a ON a.id = f.rowid \
                     WHERE addresses_fts MATCH ? AND a.version = ? ORDER BY f.rank LIMIT ?"
                ),
                &[query.into(), version.into(), limit],
            )
        }
        // One GIN lookup per trigram of the query, counted per address: far cheaper than
        // intersecting each matching address's trigrams with the query's.
        Dialect::Postgres => db.execute(
            &format!(
                "SELECT {columns} FROM ( \
                   SELECT a.id, count(*) AS shared FROM unnest(address_trigrams(?1)) q (trigram) \
                   JOIN addresses a ON address_trigrams(a.normalized) @> ARRAY[q.trigram] \
                   WHERE a.version = ?2 GROUP BY a.id ORDER BY shared DESC, a.id LIMIT ?3) s \
                 JOIN addresses a ON a.id = s.id ORDER BY s.shared DESC, a.id"
            ),
            &[normalized.into(), version.into(), limit],
        ),
    }
}

#[cfg(test)]
mod tests {
    use wangge_core::native::TestDb;

    use super::*;

    fn address(db: &TestDb, id: i64, version: i64, normalized: &str) {
        db.execute(
            "INSERT INTO addresses (id, version, address, normalized, lng, lat, grid_code) VALUES (?, ?, ?, ?, 0, 0, 'g')",
            &[id.into(), version.into(), normalized.into(), normalized.into()],
        )
        .unwrap();
    }

    fn found(db: &TestDb, version: i64, query: &str) -> Vec<String> {
        let rows = addresses_sharing_trigrams(db, version, query, "a.address").unwrap();
        rows.rows.iter().map(|r| r[0].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn addresses_are_found_by_a_shared_trigram_of_chinese_text_in_their_version_only() {
        let db = TestDb::migrated(&crate::SCHEMA);
        address(&db, 1, 1, "崇川区新江街道建设街24");
        address(&db, 2, 1, "海门区人民路24");
        address(&db, 3, 1, "崇川区新江街道人民路9");
        address(&db, 4, 2, "崇川区新江街道建设街24");
        index_addresses(&db, 1).unwrap();
        index_addresses(&db, 2).unwrap();
        // A typo keeps most trigrams; "24" alone is no trigram, so 人民路24 is not found.
        let typo = found(&db, 1, "崇川区新江街到建设街24");
        assert_eq!(typo.first().map(String::as_str), Some("崇川区新江街道建设街24"), "{typo:?}");
        assert!(!typo.iter().any(|a| a == "海门区人民路24"), "{typo:?}");
        assert_eq!(found(&db, 1, "火星基地一"), Vec::<String>::new());
        unindex_addresses(&db, 1).unwrap();
        db.execute("DELETE FROM addresses WHERE version = 1", &[]).unwrap();
        assert_eq!(found(&db, 1, "崇川区新江街到建设街24"), Vec::<String>::new());
        assert_eq!(found(&db, 2, "建设街"), ["崇川区新江街道建设街24"]);
    }

    #[test]
    fn grids_are_found_by_boxes_that_meet_or_touch_the_query_box() {
        let db = TestDb::migrated(&crate::SCHEMA);
        for (id, code) in [(1, "a"), (2, "b")] {
            db.execute(
                "INSERT INTO grids (id, version, code, name, kind, region_code, area_m2, members, geometry) \
                 VALUES (?, 1, ?, '', 'comprehensive', '', 0, '[]', ?)",
                &[SqlValue::Integer(id), code.into(), SqlValue::Blob(Vec::new())],
            )
            .unwrap();
        }
        index_grids(&db, &[(1, [120.0, 32.0, 120.1, 32.1]), (2, [120.2, 32.0, 120.3, 32.1])]).unwrap();
        let near = |west: f64, east: f64, south: f64, north: f64| -> Vec<String> {
            let sql = format!("SELECT g.code FROM {} ORDER BY g.code", grids_whose_box_meets(db.dialect()));
            let rows = db.execute(&sql, &[east.into(), west.into(), north.into(), south.into()]).unwrap();
            rows.rows.iter().map(|r| r[0].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(near(120.05, 120.05, 32.05, 32.05), ["a"], "a point inside");
        assert_eq!(near(120.1, 120.1, 32.05, 32.05), ["a"], "a point on the edge");
        assert_eq!(near(120.05, 120.25, 32.05, 32.05), ["a", "b"], "a box across both");
        assert_eq!(near(120.15, 120.15, 32.05, 32.05), Vec::<String>::new(), "between them");
        assert_eq!(near(120.05, 120.05, 32.2, 32.2), Vec::<String>::new(), "north of both");
        unindex_grids(&db, 1).unwrap();
        assert_eq!(near(120.0, 120.3, 32.0, 32.1), Vec::<String>::new());
    }
}
