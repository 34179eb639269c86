//! Geometry for grids, host-independent.
//!
//! - [`crs`]: WGS-84, GCJ-02 and BD-09, with inverses iterated to better than 0.1 m;
//! - [`shape`]: grid outlines stored compactly at the data's 1e-6° precision, validated,
//!   and asked where a point lies (inside, on the boundary, outside, how far).

pub mod crs;
pub mod shape;

pub use crs::Crs;
/// The georust `geo` crate these shapes are built on.
pub use geo;
pub use shape::{Position, Shape, ShapeError};
