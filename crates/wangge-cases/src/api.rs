//! case-routing's internal routes, typed once here and used by their callers and by case-routing alike.

use wangge_core::internal::Route;

// ------------------------------------------------------------- /internal/categories

/// `GET /internal/categories`: the catalogue of matters, for intake (Open311 services)
/// and assessment (assessed domains, default weights, what each matter means).
pub struct Categories;

impl Route for Categories {
    const COMPONENT: &'static str = "case-routing";
    const METHOD: &'static str = "GET";
    const PATH: &'static str = "/internal/categories";
    type Request = ();
    type Response = Catalogue;
}

/// The answer to [`Categories`]: the catalogue as imported (`PUT /v1/categories`), every
/// field present and none unknown; before any import, [`empty_catalogue`].
pub type Catalogue = crate::reference::CatalogueFile;

/// The catalogue before any import: version 0, no domains and no matters.
pub fn empty_catalogue() -> Catalogue {
    Catalogue { version: 0, domains: Default::default(), categories: Vec::new() }
}

// ------------------------------------------------------------------ /internal/facts

/// `GET /internal/facts?from=&to=[&merged_only=true]`: newline-delimited JSON, not one
/// message, so not a [`Route`]. Its lines, typed once, are [`CaseFacts`] then the trailer
/// [`FactsEnd`] declaring their count (or a [`FactsInterrupted`] line); [`FactsReader`]
/// reads it strictly and checks the count. The format is described in
/// [`crate::store::facts`].
pub const FACTS_PATH: &str = "/internal/facts";

pub use crate::store::facts::{CaseFacts, End as FactsEnd, FactsError, FactsReader, Interrupted as FactsInterrupted};
