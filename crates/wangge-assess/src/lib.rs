//! Assessment behind the `assessment` function, host-independent (docs/assessment.md):
//!
//! - [`period`]: months, quarters and years, half-open, at 00:00 Asia/Shanghai;
//! - [`rules`]: the rules document (points, urgent multiplier, grade bands, weights),
//!   validated and hashed;
//! - [`results`]: reading stored runs, scores, deductions, statistics and KPIs, and the export;
//! - [`stored`]: writing rules versions and a period's results, hashed as they are written;
//! - [`score`]: deductions per case, domain sub-scores, grid scores and their roll-ups,
//!   grades, rankings; rounding half away from zero only to publish.

use wangge_core::{Migration, Schema};

pub mod compute;
pub mod period;
pub mod results;
pub mod rules;
pub mod score;
pub mod stored;

/// assessment's schema, in order.
pub const SCHEMA: Schema = Schema {
    sqlite: &[
        Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
        Migration { version: 2, name: "assessment", sql: include_str!("../migrations/0002_assessment.sql") },
    ],
    // The whole schema as SQLite's migrations leave it, in PostgreSQL's types.
    postgres: &[Migration { version: 1, name: "schema", sql: include_str!("../migrations/postgres/0001_schema.sql") }],
};
