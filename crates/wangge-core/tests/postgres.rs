//! The storage trait on a real PostgreSQL server (a private one, started for this test
//! process): migrations that replicas race to apply, transactions that lose a race and
//! run again, and values read back as SQLite gives them.

use wangge_core::migrations::{Migration, Schema, Sql, SqlValue, StorageError, current_version, migrate};
use wangge_core::native::NativePg;
use wangge_test_servers::fresh_database;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: "CREATE TABLE a (x BIGINT NOT NULL);\nCREATE INDEX a_x ON a (x);\n" },
    Migration { version: 2, name: "more", sql: "ALTER TABLE a ADD COLUMN y TEXT;\n" },
];
const SCHEMA: Schema = Schema { sqlite: &[], postgres: MIGRATIONS };

#[test]
fn replicas_starting_at_once_migrate_once() {
    let url = fresh_database("replicas_migrate");
    let applied: Vec<Vec<i64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                s.spawn(move || migrate(&NativePg::connect(&url).unwrap(), &SCHEMA).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<i64> = applied.into_iter().flatten().collect();
    assert_eq!(all, vec![1, 2], "each migration applied by exactly one replica");
    let db = NativePg::connect(&url).unwrap();
    assert_eq!(current_version(&db).unwrap(), 2);
    let rows = db.execute("SELECT version, name FROM schema_migrations ORDER BY version", &[]).unwrap();
    assert_eq!(rows.rows.len(), 2);
    assert_eq!(migrate(&db, &SCHEMA).unwrap(), Vec::<i64>::new(), "idempotent");
}

#[test]
fn a_failing_migration_changes_nothing() {
    let url = fresh_database("failing_migration");
    let db = NativePg::connect(&url).unwrap();
    let bad: &'static [Migration] = &[
        Migration { version: 1, name: "init", sql: "CREATE TABLE a (x BIGINT);\n" },
        Migration { version: 2, name: "broken", sql: "CREATE TABLE b (x BIGINT);\nNOT SQL;\n" },
    ];
    let error = migrate(&db, &Schema { sqlite: &[], postgres: bad }).unwrap_err();
    assert!(matches!(&error, StorageError::Io(m) if m.starts_with("42601:")), "SQLSTATE and message: {error:?}");
    assert_eq!(current_version(&db).unwrap(), 0, "all pending migrations are one transaction");
    assert!(db.execute("SELECT * FROM a", &[]).is_err(), "table a rolled back");
}

#[test]
fn a_transaction_that_loses_a_race_runs_again_and_no_update_is_lost() {
    let url = fresh_database("lost_updates");
    let setup = NativePg::connect(&url).unwrap();
    setup.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)", &[]).unwrap();
    setup.execute("INSERT INTO counter VALUES (1, 0)", &[]).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let url = url.clone();
            s.spawn(move || {
                let db = NativePg::connect(&url).unwrap();
                for _ in 0..25 {
                    // Read, then write what was read plus one: a lost update under READ
                    // COMMITTED, a conflict that is retried under SERIALIZABLE.
                    db.transaction(|db| {
                        let n =
                            db.execute("SELECT n FROM counter WHERE id = 1", &[])?.scalar().and_then(SqlValue::as_i64);
                        db.execute("UPDATE counter SET n = ? WHERE id = 1", &[(n.unwrap_or(0) + 1).into()])?;
                        Ok::<_, StorageError>(())
                    })
                    .unwrap();
                }
            });
        }
    });
    let n = setup.execute("SELECT n FROM counter", &[]).unwrap();
    assert_eq!(n.scalar(), Some(&SqlValue::Integer(100)));
}

#[test]
fn values_read_back_as_sqlite_gives_them() {
    let db = NativePg::connect(&fresh_database("values")).unwrap();
    let row = db
        .execute(
            "SELECT ?, ?, ?, ?, 1 = 1, sum(x), avg(x), count(*) FROM (VALUES (1), (2)) v(x)",
            &[7i64.into(), 2.5f64.into(), "文本".into(), SqlValue::Blob(vec![0, 1])],
        )
        .unwrap();
    assert_eq!(
        row.rows[0],
        vec![
            SqlValue::Integer(7),
            SqlValue::Real(2.5),
            SqlValue::Text("文本".into()),
            SqlValue::Blob(vec![0, 1]),
            SqlValue::Integer(1),
            SqlValue::Integer(3),
            SqlValue::Real(1.5),
            SqlValue::Integer(2),
        ]
    );
    let list = db.execute("SELECT value FROM json_each(?) ORDER BY value", &[r#"["b","a"]"#.into()]).unwrap();
    assert_eq!(list.rows, vec![vec![SqlValue::Text("a".into())], vec![SqlValue::Text("b".into())]]);
}
