//! Spin's outbound PostgreSQL, `spin:postgres/postgres@4.0.0` (what `spin_sdk::pg4`
//! imports), on `tokio-postgres` and `deadpool-postgres` as in Spin:
//! - one pool per address string, up to [`DEFAULT_POOL_SIZE`] connections each
//!   (`AppOptions::pg_pool_size`), idle connections never trimmed;
//! - each `open` takes a connection from the pool, and dropping the resource (or the
//!   instance ending) gives it back. Recycling is deadpool's `Clean`, as in Spin: it
//!   resets session state but does not end a transaction. A transaction a request
//!   left open therefore carries over to the next request on that connection; a
//!   connection whose transaction is aborted (a statement failed in it) fails the
//!   recycle and is dropped;
//! - `allowed_outbound_hosts` checked on `open` for `postgres://host[:port]`, hosts
//!   compared literally, no port meaning 5432;
//! - values converted as Spin converts them (`timestamptz` columns included: Spin
//!   reads every timestamp as a naive one, so reading a `timestamptz` fails).
//!
//! Differences from Spin, on purpose or for lack of need: errors carry short text
//! (`as-text` is `SEVERITY: message`, not a debug dump); no TLS (`sslmode=require`
//! fails to connect); range types are returned as `unsupported` bytes and refused
//! as parameters; pools are kept for every address (Spin keeps 16 addresses).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Mutex;

use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use wasmtime::component::Resource;

use crate::interfaces::spin::postgres4_0_0::postgres as pg;
use crate::state::InstanceState;

/// Connections per address, as in Spin.
pub const DEFAULT_POOL_SIZE: usize = 64;

/// The pools of one application, by address string.
pub struct PgPools {
    size: usize,
    pools: Mutex<HashMap<String, deadpool_postgres::Pool>>,
}

impl PgPools {
    pub fn new(size: usize) -> Self {
        PgPools { size: size.max(1), pools: Mutex::new(HashMap::new()) }
    }

    fn pool(&self, address: &str) -> Result<deadpool_postgres::Pool, String> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let config: tokio_postgres::Config = address.parse().map_err(|e| format!("invalid address: {e}"))?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Clean },
        );
        let pool = deadpool_postgres::Pool::builder(manager).max_size(self.size).build().map_err(|e| e.to_string())?;
        pools.insert(address.to_owned(), pool.clone());
        Ok(pool)
    }

    /// Connections open (idle or in use) to `address`, for tests.
    pub fn open_connections(&self, address: &str) -> usize {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.get(address).map_or(0, |p| p.status().size)
    }
}

/// A connection a guest opened: one pooled connection, back to the pool on drop.
pub struct PgConnection {
    client: deadpool_postgres::Object,
}

impl InstanceState {
    /// Spin's check: every host of the address must be allowed for `postgres`.
    fn postgres_address_allowed(&self, address: &str) -> Result<(), String> {
        let config: tokio_postgres::Config = address.parse().map_err(|e| format!("invalid address: {e}"))?;
        let ports = config.get_ports();
        if config.get_hosts().is_empty() {
            return Err("the address names no host".into());
        }
        for (i, host) in config.get_hosts().iter().enumerate() {
            let host = match host {
                tokio_postgres::config::Host::Tcp(host) => host,
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(_) => {
                    return Err("Unix sockets are not supported on WebAssembly".into());
                }
            };
            let port = ports.get(i).or(if ports.len() == 1 { ports.first() } else { None }).copied();
            let allowed =
                self.component.allowed_outbound_hosts.iter().any(|h| h.allows("postgres", host, port.unwrap_or(5432)));
            if !allowed {
                let shown = port.map(|p| format!("{host}:{p}")).unwrap_or_else(|| host.clone());
                return Err(format!("address postgres://{shown} is not permitted"));
            }
        }
        Ok(())
    }
}

impl pg::Host for InstanceState {}

impl pg::HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> wasmtime::Result<Result<Resource<PgConnection>, pg::Error>> {
        if let Err(e) = self.postgres_address_allowed(&address) {
            return Ok(Err(pg::Error::ConnectionFailed(e)));
        }
        let pool = match self.shared.postgres.pool(&address) {
            Ok(pool) => pool,
            Err(e) => return Ok(Err(pg::Error::ConnectionFailed(e))),
        };
        match pool.get().await {
            Ok(client) => Ok(Ok(self.table.push(PgConnection { client })?)),
            Err(e) => Ok(Err(pg::Error::ConnectionFailed(error_chain(&e)))),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<pg::ParameterValue>,
    ) -> wasmtime::Result<Result<pg::RowSet, pg::Error>> {
        let client = &self.table.get(&connection)?.client;
        let params = match to_sql_parameters(&params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(pg::Error::BadParameter(e))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let rows = match client.query(statement.as_str(), &refs).await {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(query_failed(&e))),
        };
        // As in Spin: the columns are read off the first row, so no rows, no columns.
        let columns = rows.first().map(columns_of).unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            match convert_row(row) {
                Ok(values) => out.push(values),
                Err(e) => return Ok(Err(pg::Error::QueryFailed(pg::QueryError::Text(e)))),
            }
        }
        Ok(Ok(pg::RowSet { columns, rows: out }))
    }

    async fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<pg::ParameterValue>,
    ) -> wasmtime::Result<Result<u64, pg::Error>> {
        let client = &self.table.get(&connection)?.client;
        let params = match to_sql_parameters(&params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(pg::Error::ValueConversionFailed(e))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        Ok(client.execute(statement.as_str(), &refs).await.map_err(|e| query_failed(&e)))
    }

    async fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

// ------------------------------------------------------------------ errors

/// `e` and its causes on one line: what a connection failure says.
fn error_chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A server error as its SQLSTATE, severity and message; anything else as short text.
fn query_failed(e: &tokio_postgres::Error) -> pg::Error {
    let Some(db) = e.as_db_error() else {
        return pg::Error::QueryFailed(pg::QueryError::Text(error_chain(e)));
    };
    let mut extras = Vec::new();
    let mut extra = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            extras.push((name.to_owned(), value));
        }
    };
    extra("column", db.column().map(str::to_owned));
    extra("constraint", db.constraint().map(str::to_owned));
    extra("routine", db.routine().map(str::to_owned));
    extra("hint", db.hint().map(str::to_owned));
    extra("table", db.table().map(str::to_owned));
    extra("datatype", db.datatype().map(str::to_owned));
    extra("schema", db.schema().map(str::to_owned));
    extra("where_", db.where_().map(str::to_owned));
    pg::Error::QueryFailed(pg::QueryError::DbError(pg::DbError {
        as_text: format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code()),
        severity: db.severity().to_owned(),
        code: db.code().code().to_owned(),
        message: db.message().to_owned(),
        detail: db.detail().map(str::to_owned),
        extras,
    }))
}

// ------------------------------------------------------------------ values

fn columns_of(row: &tokio_postgres::Row) -> Vec<pg::Column> {
    row.columns().iter().map(|c| pg::Column { name: c.name().to_owned(), data_type: data_type(c.type_()) }).collect()
}

fn data_type(ty: &Type) -> pg::DbDataType {
    use pg::DbDataType as D;
    match *ty {
        Type::BOOL => D::Boolean,
        Type::BYTEA => D::Binary,
        Type::FLOAT4 => D::Floating32,
        Type::FLOAT8 => D::Floating64,
        Type::INT2 => D::Int16,
        Type::INT4 => D::Int32,
        Type::INT8 => D::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => D::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => D::Datetime,
        Type::DATE => D::Date,
        Type::TIME => D::Time,
        Type::UUID => D::Uuid,
        Type::JSONB => D::Jsonb,
        Type::NUMERIC => D::Decimal,
        Type::INT4_RANGE => D::RangeInt32,
        Type::INT8_RANGE => D::RangeInt64,
        Type::NUM_RANGE => D::RangeDecimal,
        Type::INT4_ARRAY => D::ArrayInt32,
        Type::INT8_ARRAY => D::ArrayInt64,
        Type::NUMERIC_ARRAY => D::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => D::ArrayStr,
        Type::INTERVAL => D::Interval,
        _ => D::Other(ty.name().to_owned()),
    }
}

fn convert_row(row: &tokio_postgres::Row) -> Result<Vec<pg::DbValue>, String> {
    (0..row.len()).map(|i| convert_entry(row, i)).collect()
}

fn get<'a, T: FromSql<'a>, W>(
    row: &'a tokio_postgres::Row,
    index: usize,
    make: impl FnOnce(T) -> Result<W, String>,
    wrap: impl FnOnce(W) -> pg::DbValue,
) -> Result<pg::DbValue, String> {
    match row.try_get::<_, Option<T>>(index).map_err(|e| error_chain(&e))? {
        Some(v) => make(v).map(wrap),
        None => Ok(pg::DbValue::DbNull),
    }
}

fn convert_entry(row: &tokio_postgres::Row, i: usize) -> Result<pg::DbValue, String> {
    use chrono::{Datelike, Timelike};
    use pg::DbValue as V;
    fn ok<T>(v: T) -> Result<T, String> {
        Ok(v)
    }
    fn small(v: u32) -> Result<u8, String> {
        u8::try_from(v).map_err(|e| e.to_string())
    }
    match *row.columns()[i].type_() {
        Type::BOOL => get(row, i, ok, V::Boolean),
        Type::BYTEA => get(row, i, ok, V::Binary),
        Type::FLOAT4 => get(row, i, ok, V::Floating32),
        Type::FLOAT8 => get(row, i, ok, V::Floating64),
        Type::INT2 => get(row, i, ok, V::Int16),
        Type::INT4 => get(row, i, ok, V::Int32),
        Type::INT8 => get(row, i, ok, V::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, i, ok, V::Str),
        // As in Spin: naive for both, so a `timestamptz` column fails to convert.
        Type::TIMESTAMP | Type::TIMESTAMPTZ => get(
            row,
            i,
            |v: chrono::NaiveDateTime| {
                Ok((
                    v.year(),
                    small(v.month())?,
                    small(v.day())?,
                    small(v.hour())?,
                    small(v.minute())?,
                    small(v.second())?,
                    v.nanosecond(),
                ))
            },
            V::Datetime,
        ),
        Type::DATE => get(row, i, |v: chrono::NaiveDate| Ok((v.year(), small(v.month())?, small(v.day())?)), V::Date),
        Type::TIME => get(
            row,
            i,
            |v: chrono::NaiveTime| Ok((small(v.hour())?, small(v.minute())?, small(v.second())?, v.nanosecond())),
            V::Time,
        ),
        Type::UUID => get(row, i, |v: uuid::Uuid| Ok(v.to_string()), V::Uuid),
        Type::JSONB => get(row, i, |v: serde_json::Value| serde_json::to_vec(&v).map_err(|e| e.to_string()), V::Jsonb),
        Type::NUMERIC => get(row, i, |v: rust_decimal::Decimal| Ok(v.to_string()), V::Decimal),
        Type::INT4_ARRAY => get(row, i, ok, V::ArrayInt32),
        Type::INT8_ARRAY => get(row, i, ok, V::ArrayInt64),
        Type::NUMERIC_ARRAY => get(
            row,
            i,
            |v: Vec<Option<rust_decimal::Decimal>>| Ok(v.into_iter().map(|d| d.map(|d| d.to_string())).collect()),
            V::ArrayDecimal,
        ),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => get(row, i, ok, V::ArrayStr),
        Type::INTERVAL => get(row, i, |v: Interval| Ok(v.0), V::Interval),
        _ => get(row, i, |v: Raw| Ok(v.0), V::Unsupported),
    }
}

type SqlParam = Box<dyn ToSql + Send + Sync>;

fn to_sql_parameters(params: &[pg::ParameterValue]) -> Result<Vec<SqlParam>, String> {
    params.iter().map(to_sql_parameter).collect()
}

fn to_sql_parameter(value: &pg::ParameterValue) -> Result<SqlParam, String> {
    use pg::ParameterValue as P;
    let date = |&(y, m, d): &(i32, u8, u8)| {
        chrono::NaiveDate::from_ymd_opt(y, m.into(), d.into()).ok_or_else(|| format!("invalid date {y}-{m}-{d}"))
    };
    let time = |&(h, m, s, ns): &(u8, u8, u8, u32)| {
        chrono::NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
            .ok_or_else(|| format!("invalid time {h}:{m}:{s}.{ns}"))
    };
    let decimal = |s: &str| rust_decimal::Decimal::from_str_exact(s).map_err(|e| format!("invalid decimal {s}: {e}"));
    Ok(match value {
        P::Boolean(v) => Box::new(*v),
        P::Int8(v) => Box::new(*v),
        P::Int16(v) => Box::new(*v),
        P::Int32(v) => Box::new(*v),
        P::Int64(v) => Box::new(*v),
        P::Floating32(v) => Box::new(*v),
        P::Floating64(v) => Box::new(*v),
        P::Str(v) => Box::new(v.clone()),
        P::Binary(v) => Box::new(v.clone()),
        P::Date(v) => Box::new(date(v)?),
        P::Time(v) => Box::new(time(v)?),
        P::Datetime((y, mo, d, h, mi, s, ns)) => {
            Box::new(chrono::NaiveDateTime::new(date(&(*y, *mo, *d))?, time(&(*h, *mi, *s, *ns))?))
        }
        P::Timestamp(v) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(*v, 0)
                .ok_or_else(|| format!("invalid epoch timestamp {v}"))?,
        ),
        P::Uuid(v) => Box::new(uuid::Uuid::parse_str(v).map_err(|e| format!("invalid UUID {v}: {e}"))?),
        P::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v)
                .map_err(|e| format!("invalid JSON {}: {e}", String::from_utf8_lossy(v)))?,
        ),
        P::Decimal(v) => Box::new(decimal(v)?),
        P::RangeInt32(_) | P::RangeInt64(_) | P::RangeDecimal(_) => {
            return Err("range parameters are not supported by this host".into());
        }
        P::ArrayInt32(v) => Box::new(v.clone()),
        P::ArrayInt64(v) => Box::new(v.clone()),
        P::ArrayDecimal(v) => {
            Box::new(v.iter().map(|d| d.as_deref().map(decimal).transpose()).collect::<Result<Vec<Option<_>>, _>>()?)
        }
        P::ArrayStr(v) => Box::new(v.clone()),
        P::Interval(v) => Box::new(Interval(*v)),
        P::DbNull => Box::new(Null),
    })
}

/// SQL `NULL` for a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `interval` in PostgreSQL's binary form: microseconds, days, months.
#[derive(Debug)]
struct Interval(pg::Interval);

impl ToSql for Interval {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(&self.0.micros.to_be_bytes());
        out.extend_from_slice(&self.0.days.to_be_bytes());
        out.extend_from_slice(&self.0.months.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let field = |range: std::ops::Range<usize>| raw.get(range).ok_or("interval: short value");
        let micros = i64::from_be_bytes(field(0..8)?.try_into()?);
        let days = i32::from_be_bytes(field(8..12)?.try_into()?);
        let months = i32::from_be_bytes(field(12..16)?.try_into()?);
        Ok(Interval(pg::Interval { micros, days, months }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

/// Any other type: its binary form, as Spin's `unsupported`.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}
