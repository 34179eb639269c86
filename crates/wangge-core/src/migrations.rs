//! Storage behind a small trait, and numbered, idempotent migrations.
//!
//! The functions implement [`Sql`] on Spin's SQLite; native tests implement it on
//! rusqlite. Spin executes one statement per call, so migration files are split here.

use thiserror::Error;

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
    #[error("database `{0}` is not available to this component")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Io(String),
}

/// One SQLite connection: one statement per call, like Spin's host interface.
pub trait Sql {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, StorageError>;

    /// Takes the write lock: `BEGIN IMMEDIATE`.
    fn begin(&self) -> Result<(), StorageError> {
        self.execute("BEGIN IMMEDIATE", &[]).map(|_| ())
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction: committed if it returns
    /// `Ok`, rolled back otherwise.
    fn transaction<T, E: From<StorageError>>(&self, work: impl FnOnce(&Self) -> Result<T, E>) -> Result<T, E>
    where
        Self: Sized,
    {
        self.begin()?;
        match work(self) {
            Ok(value) => match self.execute("COMMIT", &[]) {
                Ok(_) => Ok(value),
                Err(e) => {
                    let _ = self.execute("ROLLBACK", &[]);
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = self.execute("ROLLBACK", &[]);
                Err(e)
            }
        }
    }
}

/// A numbered migration: applied once, in order, recorded in `schema_migrations`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

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

/// The schema version this database is at: `PRAGMA user_version`, kept equal to
/// the highest row of `schema_migrations`. One cheap read on every request.
pub fn current_version(db: &impl Sql) -> Result<i64, StorageError> {
    Ok(db.execute("PRAGMA user_version", &[])?.scalar().and_then(SqlValue::as_i64).unwrap_or(0))
}

/// Brings a database up to date: WAL journal (set once, it persists in the file),
/// then each pending migration in its own transaction. Safe to run from many
/// fresh instances at once: the version is re-read under the write lock.
/// Returns the versions applied.
pub fn migrate(db: &impl Sql, migrations: &[Migration]) -> Result<Vec<i64>, StorageError> {
    let latest = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    if current_version(db)? >= latest {
        return Ok(Vec::new());
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
            for statement in split_statements(migration.sql) {
                db.execute(&statement, &[])?;
            }
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                &[migration.version.into(), migration.name.into(), crate::time::store(crate::time::now_utc()).into()],
            )?;
            db.execute(&format!("PRAGMA user_version = {}", migration.version), &[])?;
            Ok(true)
        })?;
        if done {
            applied.push(migration.version);
        }
    }
    Ok(applied)
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
