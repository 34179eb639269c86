//! A component's own database behind the [`Sql`] trait, on either engine:
//! - SQLite (`spin:sqlite/sqlite@3.0.0`), the embedded default: the database `label`
//!   the runtime config maps to a file;
//! - PostgreSQL (`spin:postgres/postgres@4.0.0`), the cluster profile: when the
//!   component's variable `database_url` holds a `postgres://` address.
//!
//! Which one is decided here, once per request, and nowhere else: the stores see
//! [`Sql`] and its [`Dialect`].

use std::cell::Cell;

use spin_sdk::pg4;
use spin_sdk::sqlite3;
use wangge_core::Problem;
use wangge_core::dialect::{self, Dialect};
use wangge_core::migrations::{Rows, Schema, Sql, SqlValue, StorageError, migrate};

/// The variable that holds a component's PostgreSQL address; empty for SQLite.
pub const DATABASE_URL: &str = "database_url";

pub struct Db {
    engine: Engine,
    label: &'static str,
    /// Read paths skip the schema check until a statement fails: then the schema is
    /// brought up to date and the statement retried once.
    unchecked: Option<(&'static Schema, Cell<bool>)>,
}

enum Engine {
    Sqlite(sqlite3::Connection),
    Postgres {
        conn: pg4::Connection,
        /// A statement failed with a serialization failure since last asked.
        conflict: Cell<bool>,
        /// A `BEGIN` was sent and no `COMMIT` or `ROLLBACK` yet: dropping the
        /// connection rolls it back, so that the host's pool never hands an open
        /// transaction to the next request.
        in_transaction: Cell<bool>,
    },
}

impl Db {
    /// Opens the component's own database and brings its schema up to date (one
    /// version read when it already is).
    pub fn open(label: &'static str, schema: &'static Schema) -> Result<Db, Problem> {
        let db = Db::connect(label, None)?;
        migrate(&db, schema)?;
        Ok(db)
    }

    /// For hot read paths: opens without the schema check, saving a round trip. A
    /// statement that fails while the check is pending runs the migrations and, if
    /// any applied, is retried once. Writes use [`Db::open`].
    pub fn open_for_reads(label: &'static str, schema: &'static Schema) -> Result<Db, Problem> {
        Db::connect(label, Some((schema, Cell::new(true))))
    }

    fn connect(label: &'static str, unchecked: Option<(&'static Schema, Cell<bool>)>) -> Result<Db, Problem> {
        let engine = match database_url()? {
            None => Engine::Sqlite(open_sqlite(label)?),
            Some(url) => Engine::Postgres {
                conn: pg4::Connection::open(&url).map_err(|e| Problem::from(connection_error(&url, &e)))?,
                conflict: Cell::new(false),
                in_transaction: Cell::new(false),
            },
        };
        Ok(Db { engine, label, unchecked })
    }

    fn run(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        match &self.engine {
            Engine::Sqlite(conn) => sqlite_waiting(conn, self.label, sql, params),
            Engine::Postgres { conn, conflict, in_transaction } => {
                let result = postgres(conn, sql, params);
                if matches!(result, Err(StorageError::Conflict(_))) {
                    conflict.set(true);
                }
                let verb = sql.trim_start().get(..8).unwrap_or(sql).to_ascii_uppercase();
                if verb.starts_with("BEGIN") && result.is_ok() {
                    in_transaction.set(true);
                } else if verb.starts_with("COMMIT") || verb.starts_with("ROLLBACK") {
                    in_transaction.set(false);
                }
                result
            }
        }
    }

    pub fn label(&self) -> &'static str {
        self.label
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Engine::Postgres { conn, in_transaction, .. } = &self.engine
            && in_transaction.get()
        {
            let _ = conn.query("ROLLBACK", &[]);
        }
    }
}

impl Sql for Db {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
        match (self.run(sql, params), &self.unchecked) {
            // A statement that waited for a busy database, or lost a race, has its answer:
            // the schema was not the cause.
            (Err(StorageError::Io(message)), Some((schema, pending))) if pending.get() && !is_busy(&message) => {
                pending.set(false);
                // A failed statement changed nothing: bring the schema up to date and try
                // once more (it fails again if the schema was not the cause).
                migrate(self, schema)?;
                self.run(sql, params)
            }
            (result, _) => result,
        }
    }

    fn dialect(&self) -> Dialect {
        match self.engine {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres { .. } => Dialect::Postgres,
        }
    }

    fn take_conflict(&self) -> bool {
        match &self.engine {
            Engine::Sqlite(_) => false,
            Engine::Postgres { conflict, .. } => conflict.replace(false),
        }
    }
}

/// The component's PostgreSQL address, or `None` for its SQLite database. Anything but
/// empty or a `postgres://` (`postgresql://`) URL is refused, naming the variable.
fn database_url() -> Result<Option<String>, Problem> {
    let value = spin_sdk::variables::get(DATABASE_URL).unwrap_or_default();
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        return Ok(Some(value.to_owned()));
    }
    Err(StorageError::Unavailable(format!(
        "variable `{DATABASE_URL}` must be empty (SQLite) or a postgres:// URL, not `{}`",
        value.split('@').next_back().unwrap_or_default()
    ))
    .into())
}

/// A connection that could not be opened, naming the variable and the server it
/// names (never the user or password in it).
fn connection_error(url: &str, e: &pg4::PgError) -> StorageError {
    let server = url.split('@').next_back().unwrap_or_default();
    let server = server.trim_start_matches("postgres://").trim_start_matches("postgresql://");
    let server = server.split(['/', '?']).next().unwrap_or_default();
    let why = match pg_error(e) {
        StorageError::Unavailable(why) | StorageError::Conflict(why) | StorageError::Io(why) => why,
    };
    StorageError::Unavailable(format!("variable `{DATABASE_URL}`: PostgreSQL at {server}: {why}"))
}

// ---- SQLite

/// Opens the connection and turns SQLite's busy handler off: [`sqlite_waiting`] waits
/// for a busy database itself. The handler Spin's connections come with sleeps 1, 2, 5,
/// 10 … 100 ms between tries, so that a request that meets a lock held for a
/// millisecond (a writer committing; the last connection to close checkpointing the
/// WAL into the database) waits tens of milliseconds.
fn open_sqlite(label: &'static str) -> Result<sqlite3::Connection, Problem> {
    let conn = sqlite3::Connection::open(label).map_err(|e| Problem::from(sqlite_error(label, e)))?;
    // Touches no file, so it cannot meet a lock.
    sqlite_once(&conn, label, "PRAGMA busy_timeout = 0", &[])?;
    Ok(conn)
}

/// Runs one statement; while the database is busy, tries again after 0.05 ms, doubling
/// to at most [`BUSY_PAUSE_CAP`], each pause jittered, for up to 5 s (the wait Spin's
/// default handler allows). A statement that met a lock changed nothing, so trying it
/// again is safe, and so is a `COMMIT`.
///
/// A short lock (a commit) is met again within a fraction of a millisecond; a long queue
/// of writers is waited out with few wake-ups. A cap of 0.5 ms had 60 waiting writers
/// wake 120,000 times a second between them, and intake at 64 clients did 0.58× the work
/// it did at 16.
fn sqlite_waiting(
    conn: &sqlite3::Connection,
    label: &str,
    sql: &str,
    params: &[SqlValue],
) -> Result<Rows, StorageError> {
    use std::time::{Duration, Instant};
    let params: Vec<sqlite3::Value> = params.iter().map(to_sqlite).collect();
    let mut give_up = None;
    let mut pause = Duration::from_micros(50);
    loop {
        match sqlite_once(conn, label, sql, &params) {
            Err(StorageError::Io(message)) if is_busy(&message) => {
                let deadline = *give_up.get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
                if Instant::now() >= deadline {
                    return Err(StorageError::Io(message));
                }
                std::thread::sleep(jittered(pause));
                pause = (pause * 2).min(BUSY_PAUSE_CAP);
            }
            other => return other,
        }
    }
}

/// The longest pause between tries on a busy SQLite database.
const BUSY_PAUSE_CAP: std::time::Duration = std::time::Duration::from_millis(4);

/// `pause` scaled by a random factor in [0.5, 1), so waiters do not wake in step.
fn jittered(pause: std::time::Duration) -> std::time::Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    pause.mul_f64(0.5 + f64::from(byte[0]) / 512.0)
}

fn sqlite_once(
    conn: &sqlite3::Connection,
    label: &str,
    sql: &str,
    params: &[sqlite3::Value],
) -> Result<Rows, StorageError> {
    let result = conn.execute(sql, params).map_err(|e| sqlite_error(label, e))?;
    Ok(Rows {
        columns: result.columns,
        rows: result.rows.into_iter().map(|r| r.values.into_iter().map(from_sqlite).collect()).collect(),
    })
}

/// `SQLITE_BUSY` as Spin reports it: `io("database is locked")`.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

fn to_sqlite(v: &SqlValue) -> sqlite3::Value {
    match v {
        SqlValue::Integer(i) => sqlite3::Value::Integer(*i),
        SqlValue::Real(f) => sqlite3::Value::Real(*f),
        SqlValue::Text(s) => sqlite3::Value::Text(s.clone()),
        SqlValue::Blob(b) => sqlite3::Value::Blob(b.clone()),
        SqlValue::Null => sqlite3::Value::Null,
    }
}

fn from_sqlite(v: sqlite3::Value) -> SqlValue {
    match v {
        sqlite3::Value::Integer(i) => SqlValue::Integer(i),
        sqlite3::Value::Real(f) => SqlValue::Real(f),
        sqlite3::Value::Text(s) => SqlValue::Text(s),
        sqlite3::Value::Blob(b) => SqlValue::Blob(b),
        sqlite3::Value::Null => SqlValue::Null,
    }
}

fn sqlite_error(label: &str, e: sqlite3::Error) -> StorageError {
    match e {
        sqlite3::Error::NoSuchDatabase | sqlite3::Error::AccessDenied | sqlite3::Error::InvalidConnection => {
            StorageError::Unavailable(label.to_owned())
        }
        sqlite3::Error::DatabaseFull => StorageError::Io("database full".into()),
        sqlite3::Error::Io(message) => StorageError::Io(message),
    }
}

// ---- PostgreSQL

/// Runs one statement, rewritten for PostgreSQL ([`dialect::postgres`]).
fn postgres(conn: &pg4::Connection, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError> {
    let statement = dialect::postgres(sql, params);
    let params: Vec<pg4::ParameterValue> = params.iter().map(to_postgres).collect();
    let set = conn.query(&statement, &params).map_err(|e| pg_error(&e))?;
    let rows = set
        .rows
        .into_iter()
        .map(|row| row.into_iter().map(from_postgres).collect::<Result<Vec<_>, _>>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rows { columns: set.columns.into_iter().map(|c| c.name).collect(), rows })
}

fn to_postgres(v: &SqlValue) -> pg4::ParameterValue {
    match v {
        SqlValue::Integer(i) => pg4::ParameterValue::Int64(*i),
        SqlValue::Real(f) => pg4::ParameterValue::Floating64(*f),
        SqlValue::Text(s) => pg4::ParameterValue::Str(s.clone()),
        SqlValue::Blob(b) => pg4::ParameterValue::Binary(b.clone()),
        SqlValue::Null => pg4::ParameterValue::DbNull,
    }
}

/// A value as SQLite would have given it: booleans as 0 and 1, `numeric` (what `sum`
/// gives) as an integer when it is whole.
fn from_postgres(v: pg4::DbValue) -> Result<SqlValue, StorageError> {
    use pg4::DbValue as V;
    Ok(match v {
        V::Boolean(b) => SqlValue::Integer(b.into()),
        V::Int8(i) => SqlValue::Integer(i.into()),
        V::Int16(i) => SqlValue::Integer(i.into()),
        V::Int32(i) => SqlValue::Integer(i.into()),
        V::Int64(i) => SqlValue::Integer(i),
        V::Floating32(f) => SqlValue::Real(f.into()),
        V::Floating64(f) => SqlValue::Real(f),
        V::Str(s) => SqlValue::Text(s),
        V::Binary(b) => SqlValue::Blob(b),
        V::Decimal(d) => dialect::decimal(&d),
        V::DbNull => SqlValue::Null,
        other => {
            return Err(StorageError::Io(format!("a column of a type stores do not read: {:?}", type_name(&other))));
        }
    })
}

fn type_name(v: &pg4::DbValue) -> &'static str {
    use pg4::DbValue as V;
    match v {
        V::Date(_) => "date",
        V::Time(_) => "time",
        V::Datetime(_) => "timestamp",
        V::Timestamp(_) => "timestamp",
        V::Uuid(_) => "uuid",
        V::Jsonb(_) => "jsonb",
        _ => "unsupported",
    }
}

/// PostgreSQL's error, by SQLSTATE where it gave one ([`dialect::postgres_error`]),
/// never the driver's whole debug dump.
fn pg_error(e: &pg4::PgError) -> StorageError {
    match e {
        pg4::PgError::ConnectionFailed(message) => StorageError::Unavailable(message.clone()),
        pg4::PgError::QueryFailed(pg4::QueryError::DbError(db)) => dialect::postgres_error(&db.code, &db.message),
        pg4::PgError::QueryFailed(pg4::QueryError::Text(message)) | pg4::PgError::Other(message)
            if message.contains("connection") || message.contains("closed") =>
        {
            StorageError::Unavailable(message.clone())
        }
        pg4::PgError::QueryFailed(pg4::QueryError::Text(message))
        | pg4::PgError::Other(message)
        | pg4::PgError::BadParameter(message)
        | pg4::PgError::ValueConversionFailed(message) => StorageError::Io(message.clone()),
    }
}
