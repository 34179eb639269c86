//! The registry behind the `grid-lookup` function: every place and who answers for it.
//!
//! Host-independent: everything runs over [`wangge_core::Sql`], which the function
//! implements on Spin's SQLite and PostgreSQL, and the tests on rusqlite and a native
//! PostgreSQL client. Statements are written once, except where SQLite's R*Tree and FTS5
//! answer ([`index`]). The database schema is [`SCHEMA`]; grid-lookup applies it, and
//! the benchmark's city generator too.

pub mod address;
pub mod api;
pub mod audit;
pub mod import;
pub mod index;
pub mod keys;
pub mod locate;
pub mod model;
pub mod outline;
pub mod read;

use wangge_core::{Migration, Schema};

/// grid-lookup's database, in order.
pub const SCHEMA: Schema = Schema {
    sqlite: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "api_keys", sql: include_str!("../migrations/0002_api_keys.sql") },
        Migration { version: 3, name: "registry", sql: include_str!("../migrations/0003_registry.sql") },
        Migration { version: 4, name: "imports", sql: include_str!("../migrations/0004_imports.sql") },
        Migration { version: 5, name: "outlines", sql: include_str!("../migrations/0005_outlines.sql") },
    ],
    // The whole schema as SQLite's migrations leave it, in PostgreSQL's types.
    postgres: &[
        Migration { version: 1, name: "schema", sql: include_str!("../migrations/postgres/0001_schema.sql") },
        Migration { version: 2, name: "outlines", sql: include_str!("../migrations/postgres/0002_outlines.sql") },
    ],
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use wangge_core::Dialect;
    use wangge_core::migrations::Sql;
    use wangge_core::native::{NativeDb, TestDb};

    /// Every column of every table: (table, column) → (type, NOT NULL), types in SQLite's
    /// names.
    type Columns = BTreeMap<(String, String), (String, bool)>;

    fn text(v: &wangge_core::SqlValue) -> String {
        v.as_str().unwrap_or_default().to_owned()
    }

    fn sqlite_columns(db: &NativeDb) -> Columns {
        // SQLite's virtual tables' shadow tables are left out, and so is FTS5's table: the
        // trigram index is an index on PostgreSQL.
        let rows = db
            .execute(
                "SELECT m.name, c.name, c.type, c.\"notnull\", c.pk FROM sqlite_master m, pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE 'addresses_fts%' \
                 AND m.name NOT LIKE 'grids_rtree_%' AND m.name <> 'schema_migrations'",
                &[],
            )
            .unwrap();
        rows.rows
            .iter()
            .map(|r| {
                let (table, column) = (text(&r[0]), text(&r[1]));
                // An R*Tree's id is an INT and its coordinates REAL; none of them is ever NULL.
                let rtree = table == "grids_rtree";
                let kind = match text(&r[2]).as_str() {
                    "INT" => "INTEGER".to_owned(),
                    kind => kind.to_owned(),
                };
                // A primary key is never NULL on PostgreSQL; SQLite, for old times' sake,
                // lets a TEXT one be, though no store writes one.
                let not_null = r[3].as_i64() == Some(1) || r[4].as_i64() != Some(0) || rtree;
                ((table, column), (kind, not_null))
            })
            .collect()
    }

    fn postgres_columns(db: &TestDb) -> Columns {
        let rows = db
            .execute(
                "SELECT table_name, column_name, data_type, is_nullable, coalesce(collation_name, '') \
                 FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'",
                &[],
            )
            .unwrap();
        let sqlite_type = |t: &str| match t {
            "bigint" => "INTEGER",
            "double precision" => "REAL",
            "text" => "TEXT",
            "bytea" => "BLOB",
            other => panic!("a column of type {other}"),
        };
        rows.rows
            .iter()
            .map(|r| {
                let kind = sqlite_type(&text(&r[2]));
                // Text compares byte by byte, as SQLite's BINARY does, whatever the locale.
                assert!(kind != "TEXT" || text(&r[4]) == "C", "{}.{} collates {:?}", text(&r[0]), text(&r[1]), r[4]);
                ((text(&r[0]), text(&r[1])), (kind.to_owned(), text(&r[3]) == "NO"))
            })
            .collect()
    }

    #[test]
    fn the_postgres_schema_has_sqlites_tables_columns_and_text_order() {
        let db = TestDb::migrated(&crate::SCHEMA);
        if db.dialect() != Dialect::Postgres {
            return; // run with WANGGE_TEST_ENGINE=postgres
        }
        let sqlite = sqlite_columns(&NativeDb::migrated(&crate::SCHEMA));
        assert!(sqlite.len() > 50, "{sqlite:?}");
        assert_eq!(postgres_columns(&db), sqlite);
    }
}
