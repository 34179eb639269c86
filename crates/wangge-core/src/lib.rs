//! Host-independent building blocks shared by the five Wangge functions.
//!
//! Nothing here imports `spin-sdk`: the functions adapt these types to Spin, and
//! the native tests exercise them directly.

pub mod auth;
pub mod dialect;
pub mod ids;
pub mod internal;
pub mod json;
pub mod lang;
pub mod migrations;
#[cfg(feature = "native")]
pub mod native;
pub mod page;
pub mod privacy;
pub mod problem;
pub mod query;
pub mod region;
pub mod route;
pub mod time;

pub use dialect::Dialect;
pub use lang::Lang;
pub use migrations::{Migration, Rows, Schema, Sql, SqlValue, StorageError};
pub use problem::{ErrorCode, FieldError, Problem};
