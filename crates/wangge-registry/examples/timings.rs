//! Locate and fuzzy address resolution on the demo city, natively, on either engine: a
//! measurement, not a test (the tests never time anything).
//!
//! `cargo run --release -p wangge-registry --example timings` (SQLite in memory), or with
//! `WANGGE_TEST_ENGINE=postgres` (a private PostgreSQL server, started for the run).

use std::io::Read;
use std::time::Instant;

use wangge_core::migrations::Sql;
use wangge_core::native::TestDb;
use wangge_registry::SCHEMA;
use wangge_registry::address::resolve;
use wangge_registry::import::{Dataset, Format, current_version, import};
use wangge_registry::locate::locate;

fn demo(file: &str) -> Vec<u8> {
    let path = format!("{}/../../data/nantong/{file}.gz", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("demo data")).read_to_end(&mut out).expect("gunzip");
    out
}

fn main() {
    let db = TestDb::migrated(&SCHEMA);
    let t = Instant::now();
    import(&db, Dataset::Regions, Format::Csv, &demo("regions.csv")).expect("regions");
    import(&db, Dataset::Grids, Format::Json, &demo("grids.geojson")).expect("grids");
    import(&db, Dataset::Staff, Format::Csv, &demo("staff.csv")).expect("staff");
    import(&db, Dataset::Addresses, Format::Csv, &demo("addresses.csv")).expect("addresses");
    println!("{:?}: the demo city imported in {:.2} s", db.dialect(), t.elapsed().as_secs_f64());
    let v = current_version(&db, Dataset::Grids).expect("version").expect("grids");
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let points: Vec<(f64, f64)> = (0..5000).map(|_| (120.5 + next() * 1.0, 31.8 + next() * 0.6)).collect();
    let t = Instant::now();
    let held =
        points.iter().filter(|(x, y)| locate(&db, Some(v), *x, *y, 0.0).expect("locate").comprehensive.is_some());
    let held = held.count();
    let per = t.elapsed().as_secs_f64() * 1e6 / points.len() as f64;
    println!("{:?}: locate {per:.0} µs a point ({held} of {} in a grid)", db.dialect(), points.len());
    let av = current_version(&db, Dataset::Addresses).expect("version").expect("addresses");
    let cities = vec!["南通市".to_owned()];
    let queries = ["南通市崇川区新江街到建设街24号", "崇川区人民中路88号附近", "海门区长江路", "火星基地一号"];
    let t = Instant::now();
    for _ in 0..25 {
        for q in queries {
            resolve(&db, av, q, &cities).expect("resolve");
        }
    }
    let per = t.elapsed().as_secs_f64() * 1e3 / (25 * queries.len()) as f64;
    println!("{:?}: resolve {per:.2} ms an address (mostly fuzzy)", db.dialect());
}
