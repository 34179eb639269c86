//! The registry behind the `grid-lookup` function: every place and who answers for it.
//!
//! Host-independent: everything runs over [`wangge_core::Sql`], which the function
//! implements on Spin's SQLite and the tests on rusqlite. The database schema is
//! [`SCHEMA`]; grid-lookup applies it, and the benchmark's city generator too.

pub mod address;
pub mod api;
pub mod audit;
pub mod import;
pub mod index;
pub mod keys;
pub mod locate;
pub mod model;
pub mod read;

use wangge_core::{Migration, Schema};

/// grid-lookup's database, in order.
pub const SCHEMA: Schema = Schema {
    sqlite: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "api_keys", sql: include_str!("../migrations/0002_api_keys.sql") },
        Migration { version: 3, name: "registry", sql: include_str!("../migrations/0003_registry.sql") },
        Migration { version: 4, name: "imports", sql: include_str!("../migrations/0004_imports.sql") },
    ],
    // The whole schema as SQLite's migrations leave it, in PostgreSQL's types.
    postgres: &[Migration { version: 1, name: "schema", sql: include_str!("../migrations/postgres/0001_schema.sql") }],
};
