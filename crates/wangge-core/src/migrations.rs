//! Storage behind a small trait, and numbered, idempotent migrations.
//!
//! The functions implement [`Sql`] on Spin's SQLite and on Spin's outbound PostgreSQL;
//! native tests implement it on rusqlite and on a PostgreSQL client. Spin executes one
//! statement per call, so migration files are split here. Each schema keeps one list
//! of migrations per engine ([`Schema`]); statements the stores send are written once
//! and rewritten for PostgreSQL in [`crate::dialect`].

use thiserror::Error;

pub use crate::dialect::Dialect;

/// A value bound to or read from a statement, as SQLite types it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_owned())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}
impl From<i64> for SqlValue {
    fn from(i: i64) -> Self {
        SqlValue::Integer(i)
    }
}
impl From<f64> for SqlValue {
    fn from(f: f64) -> Self {
        SqlValue::Real(f)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

impl SqlValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SqlValue::Real(f) => Some(*f),
            SqlValue::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

/// The rows a statement returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

impl Rows {
    /// The first column of the first row.
    pub fn scalar(&self) -> Option<&SqlValue> {
        self.rows.first().and_then(|r| r.first())
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum StorageError {
    /// The database cannot be reached or opened: not configured for this component, or
    /// its server is down. Retrying later may succeed.
    #[error("database `{0}` is not available to this component")]
    Unavailable(String),
    /// A concurrent transaction won (PostgreSQL's `serialization_failure` or
    /// `deadlock_detected`): nothing was written, and running the transaction again may
    /// succeed. [`Sql::transaction`] does so.
    #[error("a concurrent transaction won: {0}")]
    Conflict(String),
    /// Anything else the engine reported.
    #[error("storage error: {0}")]
    Io(String),
}

/// How often [`Sql::transaction`] runs a transaction that lost to a concurrent one.
pub const TRANSACTION_ATTEMPTS: u32 = 12;

/// One connection: one statement per call, like Spin's host interfaces.
pub trait Sql {
    /// Runs one statement, written in SQLite's dialect ([`crate::dialect`]).
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError>;

    /// The engine behind this connection.
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// Starts a transaction that sees and writes as if it ran alone: SQLite's
    /// `BEGIN IMMEDIATE` (the write lock, taken up front), PostgreSQL's `SERIALIZABLE`
    /// (a conflict found at any statement or at `COMMIT` is [`StorageError::Conflict`]).
    fn begin(&self) -> Result<(), StorageError> {
        let begin = match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        };
        self.execute(begin, &[]).map(|_| ())
    }

    /// Whether a statement failed with [`StorageError::Conflict`] since this was last
    /// asked; asking clears it. Engines without concurrent transactions never conflict.
    fn take_conflict(&self) -> bool {
        false
    }

    /// Runs `work` in one transaction ([`Sql::begin`]): committed if it returns `Ok`,
    /// rolled back otherwise. A transaction that lost to a concurrent one is run again,
    /// up to [`TRANSACTION_ATTEMPTS`] times, however `work` reported the loss; so `work`
    /// may run more than once, and must not act outside the database.
    fn transaction<T, E: From<StorageError>>(&self, work: impl FnMut(&Self) -> Result<T, E>) -> Result<T, E>
    where
        Self: Sized,
    {
        run_transaction(self, None, work)
    }

    /// [`Sql::transaction`] for work that every replica does on the same few rows, such
    /// as looking for the open case a new report repeats: such transactions run one at a
    /// time with every other of the same `key`, and see what the one before committed.
    /// On SQLite every write transaction already does. On PostgreSQL the transaction is
    /// `READ COMMITTED` and first takes the advisory lock of `key`
    /// (`pg_advisory_xact_lock`): under `SERIALIZABLE` such transactions would keep
    /// failing each other (they all read the range they all write) and be run again.
    fn exclusive_transaction<T, E: From<StorageError>>(
        &self,
        key: &str,
        work: impl FnMut(&Self) -> Result<T, E>,
    ) -> Result<T, E>
    where
        Self: Sized,
    {
        run_transaction(self, Some(key), work)
    }
}

/// [`Sql::transaction`] and [`Sql::exclusive_transaction`]: begin (taking `key`'s lock),
/// work, commit; roll back on every failure; run again after a lost race.
fn run_transaction<S: Sql, T, E: From<StorageError>>(
    db: &S,
    key: Option<&str>,
    mut work: impl FnMut(&S) -> Result<T, E>,
) -> Result<T, E> {
    let begin = || -> Result<(), StorageError> {
        match (db.dialect(), key) {
            (Dialect::Postgres, Some(key)) => {
                db.execute("BEGIN ISOLATION LEVEL READ COMMITTED", &[])?;
                db.execute(
                    "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(hashtextextended(?, 0))) l",
                    &[key.into()],
                )?;
                Ok(())
            }
            _ => db.begin(),
        }
    };
    let mut attempt = 1;
    loop {
        db.take_conflict();
        let outcome = begin().map_err(E::from).and_then(|()| match work(db) {
            Ok(value) => db.execute("COMMIT", &[]).map(|_| value).map_err(E::from),
            Err(e) => Err(e),
        });
        match outcome {
            Ok(value) => return Ok(value),
            Err(e) => {
                // Ends the transaction on every path: a connection pooled by the host
                // would otherwise carry it into the next request.
                let _ = db.execute("ROLLBACK", &[]);
                if !db.take_conflict() || attempt >= TRANSACTION_ATTEMPTS {
                    return Err(e);
                }
                attempt += 1;
                backoff(attempt);
            }
        }
    }
}

/// Waits a little before a transaction runs again, more each time and never in step
/// with the transaction it lost to.
fn backoff(attempt: u32) {
    let mut jitter = [0u8; 2];
    let _ = getrandom::fill(&mut jitter);
    let micros = (100u64 << attempt.min(6)) + u64::from(u16::from_le_bytes(jitter)) % 1000;
    std::thread::sleep(std::time::Duration::from_micros(micros));
}

/// A numbered migration: applied once, in order, recorded in `schema_migrations`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// A store's schema, as migrations for each engine. The two lists are numbered apart:
/// PostgreSQL's began as one migration of the whole schema as SQLite's stood at its
/// version 7 or so; a later change adds a migration to each.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    pub sqlite: &'static [Migration],
    pub postgres: &'static [Migration],
}

impl Schema {
    /// The migrations for `dialect`.
    pub fn migrations(&self, dialect: Dialect) -> &'static [Migration] {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

/// The key that replicas migrating at once take in turn on PostgreSQL
/// ([`Sql::exclusive_transaction`]).
pub const MIGRATION_LOCK: &str = "wangge_core::migrate";

/// Splits a SQL script into statements. Statements end with `;` at the end of a
/// line; a `CREATE TRIGGER` body runs until its `END;`. Comment lines are dropped.
pub fn split_statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut in_trigger = false;
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        if current.is_empty() {
            let upper = trimmed.to_ascii_uppercase();
            in_trigger = upper.starts_with("CREATE TRIGGER") || upper.starts_with("CREATE TEMP TRIGGER");
        }
        current.push_str(line);
        current.push('\n');
        let ends = if in_trigger { trimmed.eq_ignore_ascii_case("END;") } else { trimmed.ends_with(';') };
        if ends {
            statements.push(current.trim().trim_end_matches(';').trim().to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_owned());
    }
    statements
}

/// The schema version this database is at. One cheap read on every write request:
/// SQLite's `PRAGMA user_version`, kept equal to the highest row of
/// `schema_migrations`; on PostgreSQL that highest row (0 before the table exists).
pub fn current_version(db: &impl Sql) -> Result<i64, StorageError> {
    match db.dialect() {
        Dialect::Sqlite => Ok(db.execute("PRAGMA user_version", &[])?.scalar().and_then(SqlValue::as_i64).unwrap_or(0)),
        // One round trip: a database that has no `schema_migrations` yet (SQLSTATE 42P01,
        // undefined_table) is at version 0.
        Dialect::Postgres => match db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]) {
            Ok(version) => Ok(version.scalar().and_then(SqlValue::as_i64).unwrap_or(0)),
            Err(StorageError::Io(message)) if message.starts_with("42P01:") => Ok(0),
            Err(e) => Err(e),
        },
    }
}

/// Brings a database up to date and returns the versions applied.
///
/// On SQLite: WAL journal (set once, it persists in the file), then each pending
/// migration in its own transaction, the version re-read under the write lock, so that
/// fresh instances racing on a new file migrate once.
///
/// On PostgreSQL: every pending migration in one transaction that first takes the
/// advisory lock of [`MIGRATION_LOCK`], so that replicas starting at the same moment
/// migrate once: the others wait, then find nothing left to do.
pub fn migrate(db: &impl Sql, schema: &Schema) -> Result<Vec<i64>, StorageError> {
    let migrations = schema.migrations(db.dialect());
    let latest = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    if current_version(db)? >= latest {
        return Ok(Vec::new());
    }
    if db.dialect() == Dialect::Postgres {
        return migrate_postgres(db, migrations);
    }
    // WAL cannot be switched on inside a transaction. Switching takes the database for a
    // moment, so fresh instances racing on a new file may find it busy: the connection
    // waits that out as it does for any statement (`wangge_spin::db`, rusqlite's busy
    // timeout natively).
    db.execute("PRAGMA journal_mode=WAL", &[])?;
    let mut applied = Vec::new();
    for migration in migrations {
        let done = db.transaction(|db| {
            if current_version(db)? >= migration.version {
                return Ok::<_, StorageError>(false);
            }
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                &[],
            )?;
            apply(db, migration)?;
            db.execute(&format!("PRAGMA user_version = {}", migration.version), &[])?;
            Ok(true)
        })?;
        if done {
            applied.push(migration.version);
        }
    }
    Ok(applied)
}

fn migrate_postgres(db: &impl Sql, migrations: &[Migration]) -> Result<Vec<i64>, StorageError> {
    // `READ COMMITTED` under the lock, not `Sql::begin`'s `SERIALIZABLE`: a serializable
    // transaction reads from the snapshot of its first statement, taken before the lock
    // was granted, and would not see the migrations the replica ahead of it committed.
    db.exclusive_transaction(MIGRATION_LOCK, |db| {
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            &[],
        )?;
        let at = current_version(db)?;
        migrations.iter().filter(|m| m.version > at).map(|m| apply(db, m).map(|()| m.version)).collect()
    })
}

/// Runs `migration`'s statements and records it in `schema_migrations`, inside the
/// caller's transaction.
fn apply(db: &impl Sql, migration: &Migration) -> Result<(), StorageError> {
    for statement in split_statements(migration.sql) {
        db.execute(&statement, &[])?;
    }
    db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        &[migration.version.into(), migration.name.into(), crate::time::store(crate::time::now_utc()).into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_and_trigger_bodies() {
        let script = "-- comment\nCREATE TABLE a (x INTEGER);\nCREATE TRIGGER t BEFORE UPDATE ON a\nBEGIN\n  SELECT RAISE(ABORT, 'no');\nEND;\nINSERT INTO a VALUES (1);\n";
        let s = split_statements(script);
        assert_eq!(s.len(), 3);
        assert!(s[1].contains("RAISE") && s[1].ends_with("END"));
        assert_eq!(s[2], "INSERT INTO a VALUES (1)");
    }
}
