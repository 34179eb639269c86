//! The districts of the loaded city and their size, read from the demo data (`data/<city>/*.gz`).
//!
//! A district (区) here is every region at level `district`: urban districts, counties (县) and
//! county-level cities (县级市) alike. Its size is the grids whose code starts with its prefix and
//! the staff (网格员 and others) whose grid or region code does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// One district: its code prefix and how big it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct District {
    /// The six-digit region-code prefix (`320612` for 通州区), the `jurisdiction` of its app.
    pub code: String,
    /// Its name (通州区).
    pub name: String,
    /// Grids (网格) in it.
    pub grids: u32,
    /// Staff in it (grid heads, grid workers, community staff).
    pub staff: u32,
}

/// The six-digit prefix of a district's code: `320612000000` and `320612` both give `320612`.
pub fn district_prefix(code: &str) -> Result<String> {
    let code = code.trim();
    if code.len() < 6 || !code.bytes().all(|b| b.is_ascii_digit()) || code[6..].bytes().any(|b| b != b'0') {
        bail!("`{code}` is not a district code (six digits, or twelve ending in zeros)");
    }
    Ok(code[..6].to_string())
}

fn gunzip(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(text)
}

/// Every district in `data_dir/regions.csv.gz`, with its grids and staff counted from
/// `grids.geojson.gz` and `staff.csv.gz`, in code order.
pub fn load_districts(data_dir: &Path) -> Result<Vec<District>> {
    let mut districts: BTreeMap<String, District> = BTreeMap::new();
    for line in gunzip(&data_dir.join("regions.csv.gz"))?.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(4, ',').collect();
        if cols.len() == 4 && cols[2] == "district" {
            let code = district_prefix(cols[0])?;
            districts.insert(code.clone(), District { code, name: cols[1].to_string(), grids: 0, staff: 0 });
        }
    }
    if districts.is_empty() {
        bail!("no region at level `district` in {}", data_dir.join("regions.csv.gz").display());
    }
    let grids: serde_json::Value = serde_json::from_str(&gunzip(&data_dir.join("grids.geojson.gz"))?)?;
    for feature in grids["features"].as_array().context("grids.geojson has no features")? {
        let code = feature["properties"]["code"].as_str().unwrap_or("");
        if let Some(d) = code.get(..6).and_then(|p| districts.get_mut(p)) {
            d.grids += 1;
        }
    }
    // staff_id,name,role,grid_code,region_code,...: the first five columns hold no commas.
    for line in gunzip(&data_dir.join("staff.csv.gz"))?.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(6, ',').collect();
        let code =
            if cols.get(3).is_some_and(|c| !c.is_empty()) { cols[3] } else { cols.get(4).copied().unwrap_or("") };
        if let Some(d) = code.get(..6).and_then(|p| districts.get_mut(p)) {
            d.staff += 1;
        }
    }
    Ok(districts.into_values().collect())
}
