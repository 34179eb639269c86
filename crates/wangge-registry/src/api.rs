//! grid-lookup's internal routes, typed once here and used by their callers (intake,
//! notification, assessment) and by grid-lookup alike.

use serde::{Deserialize, Serialize};
use wangge_core::internal::Route;

pub use crate::read::{GridPlace, StaffContact};

/// `POST /internal/staff/contacts` (notification): how to reach staff members.
pub struct StaffContacts;

impl Route for StaffContacts {
    const COMPONENT: &'static str = "grid-lookup";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/internal/staff/contacts";
    type Request = ContactsWanted;
    type Response = Contacts;
}

/// At most this many ids, and this many grids, per call.
pub const MAX_CONTACTS_ASKED: usize = 1000;

/// Staff by id, and every staff member of some grids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsWanted {
    pub ids: Vec<String>,
    pub grids: Vec<String>,
}

/// Their contacts (unknown ids and grids are left out), from this staff version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contacts {
    pub staff: Vec<StaffContact>,
    pub staff_version: i64,
}

/// `GET /internal/grids` (assessment): every grid of the current version.
pub struct Grids;

impl Route for Grids {
    const COMPONENT: &'static str = "grid-lookup";
    const METHOD: &'static str = "GET";
    const PATH: &'static str = "/internal/grids";
    type Request = ();
    type Response = GridList;
}

/// Every grid, with its kind and community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridList {
    pub grids_version: i64,
    pub grids: Vec<GridPlace>,
}
