//! The Spin glue shared by the five Wangge functions.
//!
//! Everything that touches `spin-sdk` and is the same in every function lives here:
//! reading a request ([`Req`]), answering ([`reply`]), authentication ([`auth`]),
//! SQLite or PostgreSQL behind the [`wangge_core::Sql`] trait ([`db`]), service chaining
//! ([`chain`]), structured logs ([`log`]) and the `/v1/system/<component>/…`
//! endpoints every function serves ([`system`]).

pub mod auth;
pub mod chain;
pub mod db;
pub mod log;
pub mod reply;
pub mod req;
pub mod router;
pub mod system;
pub mod timing;

pub use reply::{Reply, json, problem};
pub use req::Req;
pub use timing::Timing;
pub use wangge_core::{ErrorCode, Problem};

/// What a function tells the glue about itself.
pub struct Component {
    /// The Spin component id, also its `<id>.spin.internal` host name.
    pub name: &'static str,
    /// The SQLite database label this component owns (its variable `database_url`
    /// may put it on PostgreSQL instead: [`db`]).
    pub database: &'static str,
    pub migrations: &'static wangge_core::Schema,
    /// The next component of the diagnostic chain, if any.
    pub chain_next: Option<&'static str>,
}

impl Component {
    /// Its database, the schema brought up to date first: for writes.
    pub fn db(&self) -> Result<db::Db, Problem> {
        db::Db::open(self.database, self.migrations)
    }

    /// Its database for reads: no schema check unless a statement fails (one host
    /// call fewer).
    pub fn db_for_reads(&self) -> Result<db::Db, Problem> {
        db::Db::open_for_reads(self.database, self.migrations)
    }
}

pub const KIB: usize = 1024;
