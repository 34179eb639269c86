//! SQLite on Spin (`spin:sqlite/sqlite@3.0.0`) behind the [`Sql`] trait.

use std::cell::Cell;

use spin_sdk::sqlite3::{Connection, Error, Value};
use wangge_core::Problem;
use wangge_core::migrations::{Migration, Rows, Sql, SqlValue, StorageError, migrate};

pub struct Db {
    conn: Connection,
    label: &'static str,
    /// Read paths skip the schema check until a statement fails: then the schema is
    /// brought up to date and the statement retried once.
    unchecked: Option<(&'static [Migration], Cell<bool>)>,
}

impl Db {
    /// Opens the component's own database and brings its schema up to date
    /// (one `PRAGMA user_version` read when it already is).
    pub fn open(label: &'static str, migrations: &'static [Migration]) -> Result<Db, Problem> {
        let db = Db::connect(label, None)?;
        migrate(&db, migrations)?;
        Ok(db)
    }

    /// For hot read paths: opens without the schema check, saving a host call. A
    /// statement that fails while the check is pending runs the migrations and, if
    /// any applied, is retried once. Writes use [`Db::open`].
    pub fn open_for_reads(label: &'static str, migrations: &'static [Migration]) -> Result<Db, Problem> {
        Db::connect(label, Some((migrations, Cell::new(true))))
    }

    /// Opens the connection and turns SQLite's busy handler off: [`Db::run`] waits for
    /// a busy database itself. The handler Spin's connections come with sleeps 1, 2, 5,
    /// 10 … 100 ms between tries, so that a request that meets a lock held for a
    /// millisecond (a writer committing; the last connection to close checkpointing the
    /// WAL into the database) waits tens of milliseconds.
    fn connect(label: &'static str, unchecked: Option<(&'static [Migration], Cell<bool>)>) -> Result<Db, Problem> {
        let conn = Connection::open(label).map_err(|e| Problem::from(to_storage_error(label, e)))?;
        let db = Db { conn, label, unchecked };
        // Touches no file, so it cannot meet a lock.
        db.run_once("PRAGMA busy_timeout = 0", &[])?;
        Ok(db)
    }

    /// Runs one statement; while the database is busy, tries again after 0.05 ms,
    /// doubling to 0.5 ms, for up to 5 s (the wait Spin's default handler allows).
    /// A statement that met a lock changed nothing, so trying it again is safe, and so
    /// is a `COMMIT`.
    fn run(&self, sql: &str, params: &[Value]) -> Result<Rows, StorageError> {
        use std::time::{Duration, Instant};
        let mut give_up = None;
        let mut pause = Duration::from_micros(50);
        loop {
            match self.run_once(sql, params) {
                Err(StorageError::Io(message)) if is_busy(&message) => {
                    let deadline = *give_up.get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
                    if Instant::now() >= deadline {
                        return Err(StorageError::Io(message));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_micros(500));
                }
                other => return other,
            }
        }
    }

    fn run_once(&self, sql: &str, params: &[Value]) -> Result<Rows, StorageError> {
        let result = self.conn.execute(sql, params).map_err(|e| to_storage_error(self.label, e))?;
        Ok(Rows {
            columns: result.columns,
            rows: result.rows.into_iter().map(|r| r.values.into_iter().map(from_spin).collect()).collect(),
        })
    }

    pub fn label(&self) -> &'static str {
        self.label
    }
}

impl Sql for Db {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        let params: Vec<Value> = params.iter().map(to_spin).collect();
        match (self.run(sql, &params), &self.unchecked) {
            // A statement that waited 5 s for a busy database has its answer: the schema
            // was not the cause.
            (Err(StorageError::Io(message)), Some((migrations, pending))) if pending.get() && !is_busy(&message) => {
                pending.set(false);
                // A failed statement changed nothing: bring the schema up to date and
                // try once more (it fails again if the schema was not the cause).
                migrate(self, migrations)?;
                self.run(sql, &params)
            }
            (result, _) => result,
        }
    }
}

/// `SQLITE_BUSY` as Spin reports it: `io("database is locked")`.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

fn to_spin(v: &SqlValue) -> Value {
    match v {
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Real(f) => Value::Real(*f),
        SqlValue::Text(s) => Value::Text(s.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn from_spin(v: Value) -> SqlValue {
    match v {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(f) => SqlValue::Real(f),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

fn to_storage_error(label: &str, e: Error) -> StorageError {
    match e {
        Error::NoSuchDatabase | Error::AccessDenied | Error::InvalidConnection => {
            StorageError::Unavailable(label.to_owned())
        }
        Error::DatabaseFull => StorageError::Io("database full".into()),
        Error::Io(message) => StorageError::Io(message),
    }
}
