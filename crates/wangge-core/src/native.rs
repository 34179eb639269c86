//! [`Sql`] on a native rusqlite connection, for tests, tools and benchmarks.
//! The functions use Spin's SQLite instead; this behaves the same way: one
//! statement per call, every error as [`StorageError::Io`].

use std::path::Path;

use crate::migrations::{Rows, Sql, SqlValue, StorageError};

pub struct NativeDb {
    pub conn: rusqlite::Connection,
}

impl NativeDb {
    pub fn open(path: impl AsRef<Path>) -> Result<NativeDb, StorageError> {
        rusqlite::Connection::open(path).map(|conn| NativeDb { conn }).map_err(io)
    }

    pub fn in_memory() -> Result<NativeDb, StorageError> {
        rusqlite::Connection::open_in_memory().map(|conn| NativeDb { conn }).map_err(io)
    }

    /// A database in memory with `migrations` applied: what a store's tests start from.
    pub fn migrated(migrations: &[crate::migrations::Migration]) -> NativeDb {
        let db = NativeDb::in_memory().expect("an in-memory database");
        crate::migrations::migrate(&db, migrations).expect("the migrations apply");
        db
    }
}

fn io(e: rusqlite::Error) -> StorageError {
    StorageError::Io(e.to_string())
}

impl Sql for NativeDb {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        use rusqlite::types::{Value, ValueRef};
        let mut stmt = self.conn.prepare_cached(sql).map_err(io)?;
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
