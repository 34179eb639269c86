//! case-routing's schema on both engines: PostgreSQL's migrations must leave what
//! SQLite's leave (tables, columns, keys, defaults, indexes, the log's guards), and
//! the constraints must refuse the same rows on either.

use wangge_cases::reference::SCHEMA;
use wangge_core::Dialect;
use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_core::native::{NativeDb, TestDb};

fn texts(db: &impl Sql, sql: &str, params: &[SqlValue]) -> Vec<Vec<String>> {
    let text = |v: &SqlValue| match v {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Null => String::new(),
        other => format!("{other:?}"),
    };
    db.execute(sql, params).unwrap().rows.iter().map(|r| r.iter().map(text).collect()).collect()
}

/// A column as both engines can describe it: name, type, nullable, primary key, default.
type Column = (String, &'static str, bool, bool, String);

fn sqlite_columns(db: &NativeDb, table: &str) -> Vec<Column> {
    texts(db, "SELECT name, type, \"notnull\", pk, coalesce(dflt_value, '') FROM pragma_table_info(?)", &[table.into()])
        .into_iter()
        .map(|c| {
            let kind = match c[1].as_str() {
                "INTEGER" => "bigint",
                "REAL" => "double precision",
                "TEXT" => "text",
                other => panic!("{table}.{}: a type PostgreSQL's schema does not map: {other}", c[0]),
            };
            let key = c[3] != "0";
            (c[0].clone(), kind, c[2] == "0" && !key, key, c[4].clone())
        })
        .collect()
}

fn postgres_columns(db: &TestDb, table: &str) -> Vec<Column> {
    let keys: Vec<String> = texts(
        db,
        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
         WHERE i.indrelid = ?::regclass AND i.indisprimary",
        &[table.into()],
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    texts(
        db,
        "SELECT column_name::text, data_type::text, is_nullable::text, coalesce(column_default::text, ''), \
         coalesce(collation_name::text, '') FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position",
        &[table.into()],
    )
    .into_iter()
    .map(|c| {
        let kind = match c[1].as_str() {
            "bigint" => "bigint",
            "double precision" => "double precision",
            "text" => {
                // schema_migrations is wangge-core's, made before this schema's migrations.
                if table != "schema_migrations" {
                    assert_eq!(c[4], "C", "{table}.{} compares text byte by byte, as SQLite does", c[0]);
                }
                "text"
            }
            other => panic!("{table}.{}: {other}", c[0]),
        };
        let key = keys.contains(&c[0]);
        (c[0].clone(), kind, c[2] == "YES", key, c[3].trim_end_matches("::text").to_owned())
    })
    .collect()
}

/// Index name → (unique, columns, partial), from its `CREATE INDEX` text.
fn index_shape(sql: &str) -> (bool, String, bool) {
    let on = sql.find(" ON ").expect("an index is ON a table");
    let open = on + sql[on..].find('(').unwrap();
    let close = open + sql[open..].find(')').unwrap();
    (sql.starts_with("CREATE UNIQUE"), sql[open..=close].to_owned(), sql.contains(" WHERE "))
}

#[test]
fn postgres_leaves_the_tables_columns_indexes_and_guards_sqlite_leaves() {
    // Compares the two engines' catalogues; on a SQLite run there is only one to see.
    if TestDb::engine() != Dialect::Postgres {
        return;
    }
    let sqlite = NativeDb::migrated(&SCHEMA);
    let postgres = TestDb::migrated(&SCHEMA);
    let names = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[0].clone()).collect::<Vec<_>>();
    let sqlite_tables = names(texts(
        &sqlite,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        &[],
    ));
    let postgres_tables = names(texts(
        &postgres,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        &[],
    ));
    assert_eq!(postgres_tables, sqlite_tables);
    for table in &sqlite_tables {
        assert_eq!(postgres_columns(&postgres, table), sqlite_columns(&sqlite, table), "table {table}");
    }
    // SQLite numbers any INTEGER PRIMARY KEY left out; PostgreSQL only where ids are made
    // here (the chain's records, the corrections' cursor): a calendar's year and the
    // catalogue's id 1 are given by their import.
    let identities = names(texts(
        &postgres,
        "SELECT (table_name || '.' || column_name)::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND is_identity = 'YES' ORDER BY 1",
        &[],
    ));
    assert_eq!(identities, ["system_chain.id", "triage_corrections.seq"]);

    let sqlite_indexes: Vec<(String, (bool, String, bool))> = texts(
        &sqlite,
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        &[],
    )
    .into_iter()
    .map(|r| (r[0].clone(), index_shape(&r[1])))
    .collect();
    let postgres_indexes: Vec<(String, (bool, String, bool))> = texts(
        &postgres,
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' ORDER BY 1",
        &[],
    )
    .into_iter()
    .map(|r| (r[0].clone(), index_shape(&r[1])))
    .collect();
    assert_eq!(postgres_indexes, sqlite_indexes);

    let sqlite_triggers =
        names(texts(&sqlite, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name", &[]));
    let postgres_triggers =
        names(texts(&postgres, "SELECT tgname::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1", &[]));
    for trigger in &sqlite_triggers {
        assert!(postgres_triggers.contains(trigger), "{trigger} in {postgres_triggers:?}");
    }
    // SQLite has no TRUNCATE; PostgreSQL's is refused like a DELETE.
    let truncated = postgres.execute("TRUNCATE case_log", &[]).unwrap_err();
    assert!(truncated.to_string().contains("append-only"), "{truncated}");
}

fn case_row(db: &TestDb, id: &str, external_ref: Option<&str>) -> Result<(), StorageError> {
    db.execute(
        "INSERT INTO cases (id, version, state, category, domain, priority, source, community, reported_at, description, \
         attachments, external_ref, created_at, updated_at) \
         VALUES (?, 1, 'reported', 'A01', 'public_safety', 'normal', 'hotline', '320613001001', ?, '', '[]', ?, ?, ?)",
        &[id.into(), "2026-11-27T10:00:00+08:00".into(), external_ref.into(), "t".into(), "t".into()],
    )
    .map(|_| ())
}

#[test]
fn the_constraints_refuse_the_same_rows_on_either_engine() {
    let db = TestDb::migrated(&SCHEMA);
    // The catalogue is one row, id 1.
    let catalogue = "INSERT INTO catalogue (id, body, sha256, updated_at) VALUES (?, '{}', '', '')";
    assert!(db.execute(catalogue, &[2i64.into()]).is_err(), "only row 1");
    db.execute(catalogue, &[1i64.into()]).unwrap();
    assert!(db.execute(catalogue, &[1i64.into()]).is_err(), "once");
    // A calendar's year is its key, given, not generated.
    db.execute("INSERT INTO calendars (year, body, sha256, updated_at) VALUES (2026, '{}', '', '')", &[]).unwrap();
    let year = db.execute("SELECT year FROM calendars", &[]).unwrap();
    assert_eq!(year.scalar(), Some(&SqlValue::Integer(2026)));
    // The chain's records number themselves.
    let chain = "INSERT INTO system_chain (chain_id, component, at) VALUES ('c', 'case-routing', 't') RETURNING id";
    let ids: Vec<Option<i64>> =
        (0..2).map(|_| db.execute(chain, &[]).unwrap().scalar().and_then(SqlValue::as_i64)).collect();
    assert_eq!(ids, [Some(1), Some(2)]);
    // One case per source and external reference; any number without one.
    case_row(&db, "a", Some("GD-1")).unwrap();
    assert!(case_row(&db, "b", Some("GD-1")).is_err(), "the same order twice");
    case_row(&db, "c", None).unwrap();
    case_row(&db, "d", None).unwrap();
    assert!(case_row(&db, "a", Some("GD-2")).is_err(), "the same id twice");
    let defaults = db
        .execute(
            "SELECT escalated_to_department, deadline_fallback, reopen_count, reopened_at, reopened_by_rating, log_seq, log_hash \
             FROM cases WHERE id = 'c'",
            &[],
        )
        .unwrap();
    assert_eq!(
        defaults.rows[0],
        [0i64.into(), 0i64.into(), 0i64.into(), "[]".into(), 0i64.into(), 0i64.into(), SqlValue::Text(String::new())]
    );
}
