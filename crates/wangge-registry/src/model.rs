//! Places and people, as imported.

use serde::{Deserialize, Serialize};
use wangge_geo::Shape;

/// The four administrative levels above a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    District,
    Town,
    Community,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "city" => Some(Level::City),
            "district" => Some(Level::District),
            "town" => Some(Level::Town),
            "community" => Some(Level::Community),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Town => "town",
            Level::Community => "community",
        }
    }

    /// The level a region of this level hangs under.
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::City => None,
            Level::District => Some(Level::City),
            Level::Town => Some(Level::District),
            Level::Community => Some(Level::Town),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub level: String,
    #[serde(default)]
    pub parent: Option<String>,
}

/// 综合网格 tiles every community; 专属网格 lies on top of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridKind {
    Comprehensive,
    Dedicated,
}

impl GridKind {
    pub fn parse(s: &str) -> Option<GridKind> {
        match s {
            "comprehensive" => Some(GridKind::Comprehensive),
            "dedicated" => Some(GridKind::Dedicated),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GridKind::Comprehensive => "comprehensive",
            GridKind::Dedicated => "dedicated",
        }
    }
}

/// The kinds of unit a dedicated grid covers.
pub const DEDICATED_TYPES: &[&str] =
    &["market", "business_district", "enterprise", "industrial_park", "school", "hospital", "construction_site"];

#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub code: String,
    pub name: String,
    pub kind: GridKind,
    pub dedicated_type: Option<String>,
    pub region_code: String,
    pub grid_head: Option<String>,
    /// Grid workers of a comprehensive grid, informants of a dedicated one.
    pub members: Vec<String>,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staff {
    pub staff_id: String,
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub grid_code: String,
    pub region_code: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub wechat_openid: String,
    #[serde(default)]
    pub former_roles: String,
}

pub const STAFF_ROLES: &[&str] = &["grid_worker", "grid_head", "dedicated_grid_head", "informant"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub address: String,
    pub lng: f64,
    pub lat: f64,
    pub grid_code: String,
}

pub use wangge_core::privacy::mask_phone;

/// The administrative chain above a community code, by the statistical code's structure:
/// `320613001001` → town `320613001000`, district `320613000000`, city `320600000000`.
pub fn ancestors_of_community(community: &str) -> Option<[String; 3]> {
    if community.len() != 12 || !community.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    use wangge_core::region::{city_of, district_of, town_of};
    Some([town_of(community), district_of(community), city_of(community)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_follow_the_code_structure() {
        assert_eq!(
            ancestors_of_community("320613001001").unwrap(),
            ["320613001000".to_owned(), "320613000000".to_owned(), "320600000000".to_owned()]
        );
        assert!(ancestors_of_community("3206").is_none());
    }
}
