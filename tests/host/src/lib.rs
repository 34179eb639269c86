//! A Spin-compatible host on wasmtime, for our tests and for machines without Spin.
//!
//! It runs a `spin.toml` (manifest version 2) the way `spin up` does: HTTP
//! trigger with Spin's routing and request headers, a fresh instance per request
//! from a pooling allocator, Spin's key-value (SQLite or Redis), SQLite, PostgreSQL
//! and variables interfaces with Spin's storage defaults, outbound HTTP limited to `allowed_outbound_hosts`,
//! and service chaining to `<component>.spin.internal` in-process.
//!
//! Real Spin is the production runtime: this host adds no behaviour Spin lacks, except
//! the test-only simulation clock ([`clock`]), off unless asked for.

pub mod app;
pub mod clock;
pub mod interfaces;
pub mod manifest;
pub mod outbound;
pub mod postgres;
pub mod runtime_config;
pub mod state;
pub mod testing;
pub mod variables;
pub mod wasi_keyvalue;

mod background;
mod engine;

pub use app::{App, AppOptions, GuestLogs};
pub use background::RunningApp;
pub use clock::SimClock;
