//! The demo city as the driver needs it to act as its people: standard addresses with
//! their grids (points and hotline addresses), grid staff by grid, the grids of each
//! community, and departments by kind and region.

use std::collections::BTreeMap;

use serde_json::Value;

/// One standard address (标准地址) and the comprehensive grid that holds it.
#[derive(Debug, Clone)]
pub struct Address {
    pub text: String,
    pub lng: f64,
    pub lat: f64,
    pub grid: String,
}

/// One member of grid staff (网格员, 网格长, 信息员).
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: String,
    pub role: String,
}

/// The demo city.
#[derive(Debug, Default)]
pub struct City {
    pub addresses: Vec<Address>,
    /// Staff of each grid (its workers, or a dedicated grid's head and informants), by grid code.
    pub staff_by_grid: BTreeMap<String, Vec<Staff>>,
    /// The community of each grid, by grid code.
    pub community_of_grid: BTreeMap<String, String>,
    /// Each community's comprehensive grids (the ones its score averages).
    pub comprehensive_grids: BTreeMap<String, Vec<String>>,
    /// Department codes by (kind, region code): a town's or a district's.
    pub departments: BTreeMap<(String, String), String>,
}

impl City {
    /// Reads the demo city's files (`data/nantong/*.gz`).
    pub fn load() -> City {
        let mut city = City::default();
        for row in csv_rows(&wangge_e2e::demo("addresses.csv")) {
            let (Ok(lng), Ok(lat)) = (row[1].parse(), row[2].parse()) else { continue };
            city.addresses.push(Address { text: row[0].clone(), lng, lat, grid: row[3].clone() });
        }
        for row in csv_rows(&wangge_e2e::demo("staff.csv")) {
            if !row[3].is_empty() {
                let staff = Staff { id: row[0].clone(), role: row[2].clone() };
                city.staff_by_grid.entry(row[3].clone()).or_default().push(staff);
            }
        }
        for row in csv_rows(&wangge_e2e::demo("departments.csv")) {
            city.departments.insert((row[2].clone(), row[3].clone()), row[0].clone());
        }
        let grids: Value = serde_json::from_slice(&wangge_e2e::demo("grids.geojson")).expect("grids.geojson");
        for feature in grids["features"].as_array().expect("features") {
            let p = &feature["properties"];
            let (code, community) = (text(&p["code"]), text(&p["region_code"]));
            if p["kind"] == "comprehensive" {
                city.comprehensive_grids.entry(community.clone()).or_default().push(code.clone());
            }
            city.community_of_grid.insert(code, community);
        }
        city
    }

    /// The department of `kind` that takes a matter in `community`: its town's, else its
    /// district's (部门报到).
    pub fn department_for(&self, kind: &str, community: &str) -> Option<&String> {
        let town = format!("{}000", &community[..9]);
        let district = format!("{}000000", &community[..6]);
        self.departments.get(&(kind.to_owned(), town)).or_else(|| self.departments.get(&(kind.to_owned(), district)))
    }

    /// A grid worker (or, for a grid with none, any staff) of `grid`.
    pub fn worker_of(&self, grid: &str, draw: usize) -> Option<&Staff> {
        let staff = self.staff_by_grid.get(grid)?;
        let workers: Vec<&Staff> = staff.iter().filter(|s| s.role == "grid_worker").collect();
        if workers.is_empty() { staff.get(draw % staff.len()) } else { Some(workers[draw % workers.len()]) }
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The rows of a simple CSV (no quoted commas in the demo files), header skipped.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8_lossy(bytes)
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}
