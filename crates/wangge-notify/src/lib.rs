//! Notification behind the `notification` function, host-independent:
//!
//! - [`route`]: which channels reach a recipient, quiet hours, retry backoff with jitter;
//! - [`wechat`]: subscription-message data cut to WeChat's field limits, and its error codes;
//! - [`api`]: the internal route other functions enqueue messages through, typed once;
//! - [`outbox`]: taking those messages in, each key once;
//! - [`store`]: deliveries claimed before they are sent, attempts, dead letters, traces.

use wangge_core::{Migration, Schema};

pub mod api;
pub mod outbox;
pub mod route;
pub mod store;
pub mod wechat;

/// notification's schema, in order.
pub const SCHEMA: Schema = Schema {
    sqlite: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "outbox", sql: include_str!("../migrations/0002_outbox.sql") },
        Migration { version: 3, name: "delivery", sql: include_str!("../migrations/0003_delivery.sql") },
        Migration { version: 4, name: "region", sql: include_str!("../migrations/0004_region.sql") },
    ],
    // The whole schema as SQLite's migrations leave it, in PostgreSQL's types.
    postgres: &[Migration { version: 1, name: "schema", sql: include_str!("../migrations/postgres/0001_schema.sql") }],
};
