//! Migrations against a real SQLite file, through the same trait the functions use on Spin.

use wangge_core::migrations::{Migration, Rows, Sql, SqlValue, StorageError, current_version, migrate};

struct Native(rusqlite::Connection);

fn io(e: rusqlite::Error) -> StorageError {
    StorageError::Io(e.to_string())
}

impl Sql for Native {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        use rusqlite::types::{Value, ValueRef};
        let mut stmt = self.0.prepare(sql).map_err(io)?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let params = rusqlite::params_from_iter(params.iter().map(|p| match p {
            SqlValue::Integer(i) => Value::Integer(*i),
            SqlValue::Real(f) => Value::Real(*f),
            SqlValue::Text(s) => Value::Text(s.clone()),
            SqlValue::Blob(b) => Value::Blob(b.clone()),
            SqlValue::Null => Value::Null,
        }));
        let n = columns.len();
        let mut rows = stmt.query(params).map_err(io)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(io)? {
            let values = (0..n)
                .map(|i| match row.get_ref(i).map_err(io)? {
                    ValueRef::Integer(i) => Ok(SqlValue::Integer(i)),
                    ValueRef::Real(f) => Ok(SqlValue::Real(f)),
                    ValueRef::Text(t) => Ok(SqlValue::Text(String::from_utf8_lossy(t).into())),
                    ValueRef::Blob(b) => Ok(SqlValue::Blob(b.to_vec())),
                    ValueRef::Null => Ok(SqlValue::Null),
                })
                .collect::<Result<_, StorageError>>()?;
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: "CREATE TABLE a (x INTEGER NOT NULL);\nCREATE INDEX a_x ON a (x);\n",
    },
    Migration {
        version: 2,
        name: "more",
        sql: "ALTER TABLE a ADD COLUMN y TEXT;\n",
    },
];

#[test]
fn migrates_once_in_order_with_wal() {
    let dir = std::env::temp_dir().join(format!("wangge-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    let _ = std::fs::remove_file(&path);
    let db = Native(rusqlite::Connection::open(&path).unwrap());
    assert_eq!(migrate(&db, MIGRATIONS).unwrap(), vec![1, 2]);
    assert_eq!(migrate(&db, MIGRATIONS).unwrap(), Vec::<i64>::new(), "idempotent");
    assert_eq!(current_version(&db).unwrap(), 2);
    let mode = db.execute("PRAGMA journal_mode", &[]).unwrap();
    assert_eq!(mode.scalar(), Some(&SqlValue::Text("wal".into())));
    let recorded = db
        .execute("SELECT version, name FROM schema_migrations ORDER BY version", &[])
        .unwrap();
    assert_eq!(recorded.rows.len(), 2);
    db.execute("INSERT INTO a (x, y) VALUES (?, ?)", &[1i64.into(), "y".into()])
        .unwrap();
}

#[test]
fn a_failing_migration_changes_nothing() {
    let db = Native(rusqlite::Connection::open_in_memory().unwrap());
    let bad: &[Migration] = &[
        Migration {
            version: 1,
            name: "init",
            sql: "CREATE TABLE a (x INTEGER);\n",
        },
        Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE b (x INTEGER);\nNOT SQL;\n",
        },
    ];
    assert!(migrate(&db, bad).is_err());
    assert_eq!(current_version(&db).unwrap(), 1);
    assert!(db.execute("SELECT * FROM b", &[]).is_err(), "table b rolled back");
}
