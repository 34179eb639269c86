//! Migrations against a real SQLite file, through the same trait the functions use on Spin.

use wangge_core::migrations::{Migration, Schema, Sql, SqlValue, current_version, migrate};
use wangge_core::native::NativeDb;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: "CREATE TABLE a (x INTEGER NOT NULL);\nCREATE INDEX a_x ON a (x);\n" },
    Migration { version: 2, name: "more", sql: "ALTER TABLE a ADD COLUMN y TEXT;\n" },
];
const SCHEMA: Schema = Schema { sqlite: MIGRATIONS, postgres: MIGRATIONS };

#[test]
fn migrates_once_in_order_with_wal() {
    let dir = std::env::temp_dir().join(format!("wangge-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    let _ = std::fs::remove_file(&path);
    let db = NativeDb::open(&path).unwrap();
    assert_eq!(migrate(&db, &SCHEMA).unwrap(), vec![1, 2]);
    assert_eq!(migrate(&db, &SCHEMA).unwrap(), Vec::<i64>::new(), "idempotent");
    assert_eq!(current_version(&db).unwrap(), 2);
    let mode = db.execute("PRAGMA journal_mode", &[]).unwrap();
    assert_eq!(mode.scalar(), Some(&SqlValue::Text("wal".into())));
    let recorded = db.execute("SELECT version, name FROM schema_migrations ORDER BY version", &[]).unwrap();
    assert_eq!(recorded.rows.len(), 2);
    db.execute("INSERT INTO a (x, y) VALUES (?, ?)", &[1i64.into(), "y".into()]).unwrap();
}

#[test]
fn a_failing_migration_changes_nothing() {
    let db = NativeDb::in_memory().unwrap();
    let bad: &[Migration] = &[
        Migration { version: 1, name: "init", sql: "CREATE TABLE a (x INTEGER);\n" },
        Migration { version: 2, name: "broken", sql: "CREATE TABLE b (x INTEGER);\nNOT SQL;\n" },
    ];
    assert!(migrate(&db, &Schema { sqlite: bad, postgres: bad }).is_err());
    assert_eq!(current_version(&db).unwrap(), 1);
    assert!(db.execute("SELECT * FROM b", &[]).is_err(), "table b rolled back");
}
