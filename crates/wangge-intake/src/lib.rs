//! Event intake behind the `intake` function, host-independent:
//!
//! - [`schema`]: the JSON Schemas integrators code against, validated at run time;
//! - [`event`]: a native event, checked and normalised to WGS-84;
//! - [`jurisdiction`]: whose event it is: blind spots, unplaced addresses, the
//!   deployment's jurisdiction and the sending key's region;
//! - [`signature`]: HMAC-SHA-256 request signatures with a ±5 minute window;
//! - [`store`]: the durable queue, idempotency, replay and rate-limit records;
//! - [`hotline`]: 12345 work orders, and how each gets its category;
//! - [`triage`]: smart dispatch (智能派单): placing a text with the classifier, and the
//!   retrained models intake keeps;
//! - [`open311`]: GeoReport v2 requests and answers.

use wangge_core::{Migration, Schema};

pub mod event;
pub mod hotline;
pub mod jurisdiction;
pub mod open311;
pub mod schema;
pub mod signature;
pub mod store;
pub mod triage;

/// intake's schema, in order.
pub const SCHEMA: Schema = Schema {
    sqlite: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "events", sql: include_str!("../migrations/0002_events.sql") },
        Migration { version: 3, name: "triage_models", sql: include_str!("../migrations/0003_triage_models.sql") },
    ],
    // The whole schema as SQLite's migrations leave it, in PostgreSQL's types.
    postgres: &[
        Migration { version: 1, name: "schema", sql: include_str!("../migrations/postgres/0001_schema.sql") },
        Migration {
            version: 2,
            name: "triage_models",
            sql: include_str!("../migrations/postgres/0002_triage_models.sql"),
        },
    ],
};
