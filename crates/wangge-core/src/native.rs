//! [`Sql`] on native connections, for tests, tools and benchmarks: rusqlite
//! ([`NativeDb`]) and PostgreSQL ([`NativePg`]). The functions use Spin's interfaces
//! instead; these behave the same way: one statement per call, errors as the
//! functions see them. [`TestDb`] is either, as the test run asks.

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

    /// A database in memory with `schema` applied. Store tests that should run on both
    /// engines use [`TestDb::migrated`] instead.
    pub fn migrated(schema: &crate::migrations::Schema) -> NativeDb {
        let db = NativeDb::in_memory().expect("an in-memory database");
        crate::migrations::migrate(&db, schema).expect("the migrations apply");
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

/// [`Sql`] on a native PostgreSQL connection (the `postgres` crate, over the same
/// `tokio-postgres` Spin uses): statements rewritten by [`crate::dialect::postgres`],
/// values converted as the functions' Spin glue converts them.
pub struct NativePg {
    /// Boxed: the client is large, and [`TestDb`] holds either connection.
    client: std::cell::RefCell<Box<postgres::Client>>,
    conflict: std::cell::Cell<bool>,
    /// Where it connected: [`TestDb::connect_again`] opens another connection there.
    url: String,
}

impl NativePg {
    pub fn connect(url: &str) -> Result<NativePg, StorageError> {
        let client = postgres::Client::connect(url, postgres::NoTls)
            .map_err(|e| StorageError::Unavailable(format!("{url}: {e}")))?;
        Ok(NativePg {
            client: std::cell::RefCell::new(Box::new(client)),
            conflict: std::cell::Cell::new(false),
            url: url.to_owned(),
        })
    }
}

/// `NULL` for a parameter of any type.
#[derive(Debug)]
struct PgNull;

impl postgres::types::ToSql for PgNull {
    fn to_sql(
        &self,
        _: &postgres::types::Type,
        _: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(postgres::types::IsNull::Yes)
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

impl Sql for NativePg {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        use postgres::types::{ToSql, Type};
        let statement = crate::dialect::postgres(sql, params);
        let bound: Vec<Box<dyn ToSql + Sync>> = params
            .iter()
            .map(|p| -> Box<dyn ToSql + Sync> {
                match p {
                    SqlValue::Integer(i) => Box::new(*i),
                    SqlValue::Real(f) => Box::new(*f),
                    SqlValue::Text(s) => Box::new(s.clone()),
                    SqlValue::Blob(b) => Box::new(b.clone()),
                    SqlValue::Null => Box::new(PgNull),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        let rows = self.client.borrow_mut().query(statement.as_str(), &refs).map_err(|e| {
            let error = pg_error(&e);
            if matches!(error, StorageError::Conflict(_)) {
                self.conflict.set(true);
            }
            error
        })?;
        let columns: Vec<String> =
            rows.first().map(|r| r.columns().iter().map(|c| c.name().to_owned()).collect()).unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let get = |e: postgres::Error| StorageError::Io(format!("column {}: {e}", column.name()));
                let value = match *column.type_() {
                    Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(get)?.map(|v| SqlValue::Integer(v.into())),
                    Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(get)?.map(|v| SqlValue::Integer(v.into())),
                    Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(get)?.map(SqlValue::Integer),
                    Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(get)?.map(|v| SqlValue::Real(v.into())),
                    Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(get)?.map(SqlValue::Real),
                    Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(get)?.map(|v| SqlValue::Integer(v.into())),
                    Type::NUMERIC => row
                        .try_get::<_, Option<rust_decimal::Decimal>>(i)
                        .map_err(get)?
                        .map(|v| crate::dialect::decimal(&v.to_string())),
                    Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(get)?.map(SqlValue::Blob),
                    Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                        row.try_get::<_, Option<String>>(i).map_err(get)?.map(SqlValue::Text)
                    }
                    ref other => {
                        return Err(StorageError::Io(format!(
                            "column {} is of type {other}, which stores do not read",
                            column.name()
                        )));
                    }
                };
                values.push(value.unwrap_or(SqlValue::Null));
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }

    fn dialect(&self) -> crate::dialect::Dialect {
        crate::dialect::Dialect::Postgres
    }

    fn take_conflict(&self) -> bool {
        self.conflict.replace(false)
    }
}

fn pg_error(e: &postgres::Error) -> StorageError {
    match e.as_db_error() {
        Some(db) => crate::dialect::postgres_error(db.code().code(), db.message()),
        None if e.is_closed() => StorageError::Unavailable(e.to_string()),
        None => StorageError::Io(e.to_string()),
    }
}

/// A connection for a store's tests, migrated to `schema`: SQLite in memory, or a fresh
/// PostgreSQL database when `WANGGE_TEST_ENGINE=postgres` (on a private server started
/// for the test process; `scripts/test.sh` runs the stores' tests both ways).
pub enum TestDb {
    Sqlite(NativeDb),
    Postgres(NativePg),
}

impl TestDb {
    /// The engine the tests were asked to run on.
    pub fn engine() -> crate::dialect::Dialect {
        match std::env::var("WANGGE_TEST_ENGINE").as_deref() {
            Ok("postgres") => crate::dialect::Dialect::Postgres,
            _ => crate::dialect::Dialect::Sqlite,
        }
    }

    /// A fresh database of the engine asked for, with `schema` applied.
    pub fn migrated(schema: &crate::migrations::Schema) -> TestDb {
        let db = match TestDb::engine() {
            crate::dialect::Dialect::Sqlite => TestDb::Sqlite(NativeDb::in_memory().expect("an in-memory database")),
            crate::dialect::Dialect::Postgres => {
                let url = wangge_test_servers::fresh_database("store_test");
                TestDb::Postgres(NativePg::connect(&url).expect("the test database"))
            }
        };
        crate::migrations::migrate(&db, schema).expect("the migrations apply");
        db
    }

    /// Another connection to the same database, for tests of concurrent transactions on
    /// PostgreSQL. Panics on SQLite: a database in memory belongs to its one connection
    /// (and SQLite serialises writers anyway), so such tests skip it.
    pub fn connect_again(&self) -> TestDb {
        match self {
            TestDb::Sqlite(_) => panic!("a SQLite database in memory has no second connection"),
            TestDb::Postgres(db) => TestDb::Postgres(NativePg::connect(&db.url).expect("the test database again")),
        }
    }
}

impl Sql for TestDb {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        match self {
            TestDb::Sqlite(db) => db.execute(sql, params),
            TestDb::Postgres(db) => db.execute(sql, params),
        }
    }
    fn dialect(&self) -> crate::dialect::Dialect {
        match self {
            TestDb::Sqlite(db) => db.dialect(),
            TestDb::Postgres(db) => db.dialect(),
        }
    }
    fn take_conflict(&self) -> bool {
        match self {
            TestDb::Sqlite(db) => db.take_conflict(),
            TestDb::Postgres(db) => db.take_conflict(),
        }
    }
}
