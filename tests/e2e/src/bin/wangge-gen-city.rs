//! `scripts/gen-city.sh`: a synthetic city's grid-lookup database for the benchmarks.
//!
//! `wangge-gen-city --grids 1000000 --out target/bench-city/grid_lookup.db`

use std::path::PathBuf;

fn main() {
    let mut grids: usize = 1_000_000;
    let mut out = PathBuf::from("target/bench-city/grid_lookup.db");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--grids" => grids = args.next().and_then(|v| v.parse().ok()).expect("--grids N"),
            "--out" => out = PathBuf::from(args.next().expect("--out FILE")),
            other => panic!("unknown argument {other}: use --grids N --out FILE"),
        }
    }
    println!("{}", wangge_e2e::synthetic::generate(grids, &out));
}
