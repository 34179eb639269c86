//! The Spin host interfaces a spin-sdk 5.2 component imports, besides WASI:
//! `fermyon:spin/key-value@2.0.0`, `fermyon:spin/sqlite@2.0.0`,
//! `spin:sqlite/sqlite@3.0.0`, `spin:postgres/postgres@4.0.0` and
//! `fermyon:spin/variables@2.0.0`.
//!
//! Storage behaves like Spin's defaults, so figures measured here hold on Spin:
//! - key-value: one SQLite file per store label, one connection behind a lock,
//!   table `spin_key_value(store, key, value)`, no journal or timeout pragmas, called with
//!   `block_in_place` (SQLite statements go through `spawn_blocking`, as in Spin);
//! - SQLite: a new connection per `open`, SQLite's default journal, rusqlite's
//!   5 s busy timeout, every error reported as `io(message)`;
//! - a store or database the component did not declare: `access-denied`;
//! - a key-value store of `type = "redis"`: Spin's Redis store (see [`KvBackend::redis`]);
//! - `spin:postgres/postgres@4.0.0`: in [`crate::postgres`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use redis::AsyncCommands;
use rusqlite::types::{Value as SqlValue, ValueRef};
use wasmtime::component::Resource;

use crate::state::InstanceState;

wasmtime::component::bindgen!({
    path: "spin-sdk-wit",
    inline: "
        package wangge:host;
        world spin-host {
            import fermyon:spin/key-value@2.0.0;
            import fermyon:spin/sqlite@2.0.0;
            import fermyon:spin/variables@2.0.0;
            import spin:sqlite/sqlite@3.0.0;
            import spin:postgres/postgres@4.0.0;
            import wasi:keyvalue/store@0.2.0-draft2;
            import wasi:keyvalue/atomics@0.2.0-draft2;
            import wasi:keyvalue/batch@0.2.0-draft2;
        }
    ",
    imports: { default: async | trappable },
    with: {
        "fermyon:spin/key-value@2.0.0.store": KvStore,
        "fermyon:spin/sqlite@2.0.0.connection": SqliteConnection,
        "spin:sqlite/sqlite@3.0.0.connection": SqliteConnection,
        "spin:postgres/postgres@4.0.0.connection": crate::postgres::PgConnection,
        "wasi:keyvalue/store@0.2.0-draft2.bucket": KvStore,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas": crate::wasi_keyvalue::Cas,
    },
});

use fermyon::spin2_0_0::{key_value, sqlite as sqlite_v2, variables};
use spin::sqlite::sqlite as sqlite_v3;

// ---------------------------------------------------------------- key-value

/// One key-value store label: Spin's SQLite store, or Redis (`type = "redis"`).
pub enum KvBackend {
    Sqlite(SqliteKv),
    Redis(RedisKv),
}

impl KvBackend {
    /// Spin's default store: a SQLite file (`None`: in memory).
    pub fn new(label: String, path: Option<PathBuf>) -> Self {
        KvBackend::Sqlite(SqliteKv { label, path, conn: OnceLock::new() })
    }

    /// A Redis store, as Spin's `type = "redis"`: one shared multiplexed connection
    /// (a `ConnectionManager`, reconnecting by itself), opened on first use. Keys
    /// are not prefixed by label: `get-keys` lists the whole Redis database. An
    /// unreachable server makes `open` wait out the `redis` crate's (0.32, as Spin's)
    /// connection retries, minutes long, before it fails with `other`.
    pub fn redis(url: String) -> Self {
        KvBackend::Redis(RedisKv { url, conn: tokio::sync::OnceCell::new() })
    }

    pub(crate) async fn get(&self, key: String) -> Result<Option<Vec<u8>>, key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with(move |c, label| {
                    use rusqlite::OptionalExtension;
                    c.query_row(
                        "SELECT value FROM spin_key_value WHERE store = ? AND key = ?",
                        [label, key.as_str()],
                        |r| r.get(0),
                    )
                    .optional()
                })
                .await
            }
            KvBackend::Redis(r) => r.run(|mut c| async move { c.get(key).await }).await,
        }
    }

    pub(crate) async fn set(&self, key: String, value: Vec<u8>) -> Result<(), key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with(move |c, label| {
                    c.execute(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                        rusqlite::params![label, key, value],
                    )
                    .map(|_| ())
                })
                .await
            }
            KvBackend::Redis(r) => r.run(|mut c| async move { c.set(key, value).await }).await,
        }
    }

    pub(crate) async fn delete(&self, key: String) -> Result<(), key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with(move |c, label| {
                    c.execute("DELETE FROM spin_key_value WHERE store = ? AND key = ?", [label, key.as_str()])
                        .map(|_| ())
                })
                .await
            }
            KvBackend::Redis(r) => r.run(|mut c| async move { c.del(key).await }).await,
        }
    }

    pub(crate) async fn exists(&self, key: String) -> Result<bool, key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with(move |c, label| {
                    c.query_row(
                        "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ? AND key = ?)",
                        [label, key.as_str()],
                        |r| r.get(0),
                    )
                })
                .await
            }
            KvBackend::Redis(r) => r.run(|mut c| async move { c.exists(key).await }).await,
        }
    }

    pub(crate) async fn get_keys(&self) -> Result<Vec<String>, key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with(move |c, label| {
                    let mut stmt = c.prepare("SELECT key FROM spin_key_value WHERE store = ?")?;
                    stmt.query_map([label], |r| r.get(0))?.collect()
                })
                .await
            }
            KvBackend::Redis(r) => r.run(|mut c| async move { c.keys("*").await }).await,
        }
    }
}

/// The value at `key` in a SQLite key-value store, read inside `tx`.
fn stored_value(tx: &rusqlite::Transaction<'_>, label: &str, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    use rusqlite::OptionalExtension;
    tx.query_row("SELECT value FROM spin_key_value WHERE store = ? AND key = ?", [label, key], |r| r.get(0)).optional()
}

impl KvBackend {
    /// Adds `delta` to the number at `key` (absent: 0), atomically, as Spin stores it:
    /// SQLite keeps 8 little-endian bytes, Redis its decimal text (`INCRBY`).
    pub(crate) async fn increment(&self, key: String, delta: i64) -> Result<i64, key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with_mut(move |c, label| {
                    let tx = c.transaction()?;
                    let current = stored_value(&tx, label, &key)?;
                    let current = match current {
                        None => 0,
                        Some(bytes) => i64::from_le_bytes(bytes.try_into().map_err(|_| {
                            rusqlite::Error::InvalidColumnType(0, "not an 8-byte counter".into(), rusqlite::types::Type::Blob)
                        })?),
                    };
                    let next = current + delta;
                    tx.execute(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                        rusqlite::params![label, key, next.to_le_bytes().to_vec()],
                    )?;
                    tx.commit()?;
                    Ok(next)
                })
                .await
            }
            KvBackend::Redis(r) => r.run(|mut c| async move { c.incr(key, delta).await }).await,
        }
    }

    /// Sets `key` to `value` if it still holds `expected` (`None`: absent), atomically.
    pub(crate) async fn swap_if(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, key_value::Error> {
        match self {
            KvBackend::Sqlite(s) => {
                s.with_mut(move |c, label| {
                    let tx = c.transaction()?;
                    let current = stored_value(&tx, label, &key)?;
                    if current != expected {
                        return Ok(false);
                    }
                    tx.execute(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?, ?, ?) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                        rusqlite::params![label, key, value],
                    )?;
                    tx.commit()?;
                    Ok(true)
                })
                .await
            }
            KvBackend::Redis(r) => {
                const SCRIPT: &str = "local v = redis.call('GET', KEYS[1]) \
                    if ARGV[1] == '0' then if v then return 0 end elseif v ~= ARGV[2] then return 0 end \
                    redis.call('SET', KEYS[1], ARGV[3]) return 1";
                let absent = if expected.is_none() { "0" } else { "1" };
                let expected = expected.unwrap_or_default();
                r.run(|mut c| async move {
                    let swapped: i64 = redis::cmd("EVAL")
                        .arg(SCRIPT)
                        .arg(1)
                        .arg(key)
                        .arg(absent)
                        .arg(expected)
                        .arg(value)
                        .query_async(&mut c)
                        .await?;
                    Ok(swapped == 1)
                })
                .await
            }
        }
    }
}

/// Spin's default store: one SQLite file (or memory), one connection, a lock.
pub struct SqliteKv {
    label: String,
    path: Option<PathBuf>,
    conn: OnceLock<Result<Arc<Mutex<rusqlite::Connection>>, String>>,
}

impl SqliteKv {
    fn connection(&self) -> Result<Arc<Mutex<rusqlite::Connection>>, String> {
        self.conn
            .get_or_init(|| {
                let conn = match &self.path {
                    Some(path) => {
                        if let Some(dir) = path.parent() {
                            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                        }
                        rusqlite::Connection::open(path)
                    }
                    None => rusqlite::Connection::open_in_memory(),
                }
                .map_err(|e| e.to_string())?;
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
                    [],
                )
                .map_err(|e| e.to_string())?;
                Ok(Arc::new(Mutex::new(conn)))
            })
            .clone()
    }

    /// Runs `f` on the store's one connection, blocking in place as Spin does.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, key_value::Error> {
        tokio::task::block_in_place(|| {
            let conn = self.connection().map_err(key_value::Error::Other)?;
            let conn = conn.lock().map_err(|_| key_value::Error::Other("poisoned".into()))?;
            f(&conn, &self.label).map_err(|e| key_value::Error::Other(format!("{e:?}")))
        })
    }

    /// As [`SqliteKv::with`], for a transaction.
    async fn with_mut<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, key_value::Error> {
        tokio::task::block_in_place(|| {
            let conn = self.connection().map_err(key_value::Error::Other)?;
            let mut conn = conn.lock().map_err(|_| key_value::Error::Other("poisoned".into()))?;
            f(&mut conn, &self.label).map_err(|e| key_value::Error::Other(format!("{e:?}")))
        })
    }
}

/// A Redis store: one `ConnectionManager` shared by every instance, as in Spin.
pub struct RedisKv {
    url: String,
    conn: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
}

impl RedisKv {
    async fn connection(&self) -> Result<redis::aio::ConnectionManager, key_value::Error> {
        let other = |e: redis::RedisError| key_value::Error::Other(e.to_string());
        self.conn
            .get_or_try_init(|| async {
                let client = redis::Client::open(self.url.as_str()).map_err(other)?;
                client.get_connection_manager().await.map_err(other)
            })
            .await
            .cloned()
    }

    async fn run<T, F, Fut>(&self, f: F) -> Result<T, key_value::Error>
    where
        F: FnOnce(redis::aio::ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        f(self.connection().await?).await.map_err(|e| key_value::Error::Other(e.to_string()))
    }
}

/// The `store` resource (and `wasi:keyvalue`'s `bucket`): a handle on a backend.
pub struct KvStore {
    pub(crate) backend: Arc<KvBackend>,
}

impl InstanceState {
    /// A store label this component may open, connected (Redis) as Spin does on open.
    pub(crate) async fn open_key_value(&mut self, label: &str) -> Result<Arc<KvBackend>, key_value::Error> {
        if !self.component.key_value_stores.contains(label) {
            return Err(key_value::Error::AccessDenied);
        }
        let Some(backend) = self.shared.key_value.get(label).cloned() else {
            return Err(key_value::Error::NoSuchStore);
        };
        if let KvBackend::Redis(redis) = backend.as_ref() {
            redis.connection().await?;
        }
        Ok(backend)
    }
}

impl key_value::Host for InstanceState {}

impl key_value::HostStore for InstanceState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<KvStore>, key_value::Error>> {
        // As Spin: a Redis store connects when first opened, and an open fails if it cannot.
        match self.open_key_value(&label).await {
            Ok(backend) => Ok(Ok(self.table.push(KvStore { backend })?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, key_value::Error>> {
        let backend = self.table.get(&store)?.backend.clone();
        Ok(backend.get(key).await)
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let backend = self.table.get(&store)?.backend.clone();
        Ok(backend.set(key, value).await)
    }

    async fn delete(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let backend = self.table.get(&store)?.backend.clone();
        Ok(backend.delete(key).await)
    }

    async fn exists(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, key_value::Error>> {
        let backend = self.table.get(&store)?.backend.clone();
        Ok(backend.exists(key).await)
    }

    async fn get_keys(&mut self, store: Resource<KvStore>) -> wasmtime::Result<Result<Vec<String>, key_value::Error>> {
        let backend = self.table.get(&store)?.backend.clone();
        Ok(backend.get_keys().await)
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

// ------------------------------------------------------------------- SQLite

/// A connection a guest opened: its own rusqlite connection, as in Spin.
pub struct SqliteConnection {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

/// What a statement returned, in the shape both interface versions share.
struct Queried {
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

impl InstanceState {
    fn open_database(&mut self, label: &str) -> Result<Result<SqliteConnection, sqlite_v3::Error>, wasmtime::Error> {
        if !self.component.sqlite_databases.contains(label) {
            return Ok(Err(sqlite_v3::Error::AccessDenied));
        }
        let Some(path) = self.shared.sqlite.get(label) else {
            return Ok(Err(sqlite_v3::Error::NoSuchDatabase));
        };
        let conn = match path {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                rusqlite::Connection::open(path)
            }
            None => rusqlite::Connection::open_in_memory(),
        };
        Ok(match conn {
            Ok(conn) => Ok(SqliteConnection { conn: Arc::new(Mutex::new(conn)) }),
            Err(_) => Err(sqlite_v3::Error::InvalidConnection),
        })
    }

    async fn run_statement(
        &mut self,
        connection: &Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<SqlValue>,
    ) -> wasmtime::Result<Result<Queried, String>> {
        let conn = self.table.get(connection)?.conn.clone();
        let result = tokio::task::spawn_blocking(move || {
            let conn = conn.lock().map_err(|_| "poisoned".to_owned())?;
            query(&conn, &statement, parameters).map_err(|e| e.to_string())
        })
        .await?;
        Ok(result)
    }
}

fn query(conn: &rusqlite::Connection, statement: &str, parameters: Vec<SqlValue>) -> rusqlite::Result<Queried> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let width = columns.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(parameters))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(i) => SqlValue::Integer(i),
                ValueRef::Real(f) => SqlValue::Real(f),
                ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
            });
        }
        out.push(values);
    }
    Ok(Queried { columns, rows: out })
}

macro_rules! sqlite_values {
    ($module:ident) => {
        impl From<$module::Value> for SqlValue {
            fn from(v: $module::Value) -> Self {
                match v {
                    $module::Value::Integer(i) => SqlValue::Integer(i),
                    $module::Value::Real(f) => SqlValue::Real(f),
                    $module::Value::Text(s) => SqlValue::Text(s),
                    $module::Value::Blob(b) => SqlValue::Blob(b),
                    $module::Value::Null => SqlValue::Null,
                }
            }
        }

        impl From<Queried> for $module::QueryResult {
            fn from(q: Queried) -> Self {
                $module::QueryResult {
                    columns: q.columns,
                    rows: q
                        .rows
                        .into_iter()
                        .map(|values| $module::RowResult {
                            values: values
                                .into_iter()
                                .map(|v| match v {
                                    SqlValue::Integer(i) => $module::Value::Integer(i),
                                    SqlValue::Real(f) => $module::Value::Real(f),
                                    SqlValue::Text(s) => $module::Value::Text(s),
                                    SqlValue::Blob(b) => $module::Value::Blob(b),
                                    SqlValue::Null => $module::Value::Null,
                                })
                                .collect(),
                        })
                        .collect(),
                }
            }
        }
    };
}
sqlite_values!(sqlite_v2);
sqlite_values!(sqlite_v3);

impl sqlite_v3::Host for InstanceState {}

impl sqlite_v3::HostConnection for InstanceState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, sqlite_v3::Error>> {
        Ok(match self.open_database(&database)? {
            Ok(conn) => Ok(self.table.push(conn)?),
            Err(e) => Err(e),
        })
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<sqlite_v3::Value>,
    ) -> wasmtime::Result<Result<sqlite_v3::QueryResult, sqlite_v3::Error>> {
        let parameters = parameters.into_iter().map(SqlValue::from).collect();
        Ok(self.run_statement(&connection, statement, parameters).await?.map(Into::into).map_err(sqlite_v3::Error::Io))
    }

    async fn last_insert_rowid(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<i64> {
        let conn = self.table.get(&connection)?.conn.clone();
        let rowid = conn.lock().map(|c| c.last_insert_rowid()).unwrap_or(0);
        Ok(rowid)
    }

    async fn changes(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<u64> {
        let conn = self.table.get(&connection)?.conn.clone();
        let changes = conn.lock().map(|c| c.changes()).unwrap_or(0);
        Ok(changes)
    }

    async fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl sqlite_v2::Host for InstanceState {}

impl sqlite_v2::HostConnection for InstanceState {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, sqlite_v2::Error>> {
        Ok(match self.open_database(&database)? {
            Ok(conn) => Ok(self.table.push(conn)?),
            Err(sqlite_v3::Error::AccessDenied) => Err(sqlite_v2::Error::AccessDenied),
            Err(sqlite_v3::Error::NoSuchDatabase) => Err(sqlite_v2::Error::NoSuchDatabase),
            Err(_) => Err(sqlite_v2::Error::InvalidConnection),
        })
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<sqlite_v2::Value>,
    ) -> wasmtime::Result<Result<sqlite_v2::QueryResult, sqlite_v2::Error>> {
        let parameters = parameters.into_iter().map(SqlValue::from).collect();
        Ok(self.run_statement(&connection, statement, parameters).await?.map(Into::into).map_err(sqlite_v2::Error::Io))
    }

    async fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

// ---------------------------------------------------------------- variables

impl variables::Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        use crate::variables::Lookup;
        Ok(match self.component.variables.lookup(&name) {
            Lookup::Value(v) => Ok(v),
            Lookup::InvalidName(m) => Err(variables::Error::InvalidName(m)),
            Lookup::Undefined(m) => Err(variables::Error::Undefined(m)),
        })
    }
}

/// Adds the Spin interfaces to a linker.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<InstanceState>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    SpinHost::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
}
