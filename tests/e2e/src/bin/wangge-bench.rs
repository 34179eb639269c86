//! `scripts/bench.sh`: figures measured side by side in one process, each printed
//! beside the trivial-component baseline of the same run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wangge_e2e::load::{self, Figure, fire};
use wangge_e2e::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp};

struct Args {
    seconds: u64,
    clients: usize,
    city_grids: usize,
}

fn args() -> Args {
    let mut args = Args { seconds: 5, clients: 16, city_grids: 1_000_000 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{a} takes a number"));
        match a.as_str() {
            "--seconds" => args.seconds = value() as u64,
            "--clients" => args.clients = value(),
            "--city-grids" => args.city_grids = value(),
            other => panic!("unknown argument {other}: use --seconds N --clients N --city-grids N"),
        }
    }
    args
}

/// A cheap deterministic mix of `i`, for spreading points.
fn mix(i: usize, salt: u64) -> f64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn locate_shot(url: String, points: Arc<Vec<(f64, f64)>>) -> Arc<load::Shot> {
    let auth = bearer(OPERATOR_KEY);
    Arc::new(move |agent: &ureq::Agent, i: usize| {
        let (lng, lat) = points[i % points.len()];
        fire(agent.get(format!("{url}?lng={lng:.6}&lat={lat:.6}")).header("authorization", &auth).call(), &[200])
    })
}

fn main() {
    let args = args();
    let duration = Duration::from_secs(args.seconds);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "wangge bench: host tests/host (wasmtime 48.0.8, pooling), {cores} cores, {} clients, {} s per figure",
        args.clients, args.seconds
    );

    // Baseline: the probe component answering a constant, nothing else.
    require_wasm("wangge_probe");
    let mut probe = AppOptions::new(workspace_root().join("tests/host/tests/fixtures/probe.toml"));
    probe.state_dir = Some(temp_dir("bench-probe"));
    probe.runtime_config = Some(workspace_root().join("tests/host/tests/fixtures/probe-runtime.toml"));
    probe.variables.insert("secret_token".into(), "bench".into());
    probe.guest_logs = GuestLogs::Files;
    let probe = RunningApp::start(&probe, "127.0.0.1:0").expect("start the probe app");
    let trivial_url = probe.url("/probe/exact");
    let trivial: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent, _| fire(agent.get(&trivial_url).call(), &[200]));

    // The suite with the demo city.
    eprintln!("loading the demo city ...");
    let suite = start_with(options("bench-suite", &[]));
    let imports = suite.load_demo();
    let audits: Vec<(String, f64, usize, usize)> = ["320613000000", "3206"]
        .iter()
        .map(|region| {
            let reply = call("GET", &suite.url(&format!("/v1/grids/audit?region={region}")), OPERATOR_KEY, None);
            let ms = reply
                .header("server-timing")
                .and_then(|v| v.strip_prefix("app;dur="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            let audit = &reply.json()["audit"];
            let grids =
                audit["comprehensive_grids"].as_u64().unwrap_or(0) + audit["dedicated_grids"].as_u64().unwrap_or(0);
            (region.to_string(), ms, grids as usize, audit["findings"].as_array().map_or(0, Vec::len))
        })
        .collect();
    let chain_url = suite.url("/v1/system/intake/chain");
    let auth = bearer(OPERATOR_KEY);
    let chained: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent, _| {
        fire(agent.post(&chain_url).header("authorization", &auth).send_empty(), &[200])
    });
    // Points inside Nantong: interior points of random grids, so every locate finds one.
    let grids: serde_json::Value = serde_json::from_slice(&demo("grids.geojson")).expect("demo grids");
    let nantong: Vec<(f64, f64)> = grids["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "comprehensive")
        .filter_map(|f| {
            use wangge_geo::geo::InteriorPoint;
            let p = wangge_geo::Shape::from_geojson(&f["geometry"]).ok()?.polygons.interior_point()?;
            Some((p.x(), p.y()))
        })
        .collect();

    // The synthetic city, generated once and kept in target/bench-city.
    let city_db = workspace_root().join(format!("target/bench-city/grid_lookup-{}.db", args.city_grids));
    if !city_db.exists() {
        eprintln!("generating a synthetic city of {} grids (once) ...", args.city_grids);
        let tmp = city_db.with_extension("partial");
        eprintln!("  {}", wangge_e2e::synthetic::generate(args.city_grids, &tmp));
        std::fs::rename(&tmp, &city_db).expect("keep the generated city");
    }
    let mut big = options("bench-city", &["grid-lookup", "case-routing", "notification"]);
    let dir: PathBuf = big.state_dir.clone().expect("state dir");
    big.runtime_config = Some(runtime_config(&dir, &[("grid_lookup", city_db.clone())]));
    let big = start_with(big);
    let [x0, y0, x1, y1] = wangge_e2e::synthetic::extent(args.city_grids);
    let synthetic: Vec<(f64, f64)> =
        (0..100_000).map(|i| (x0 + (x1 - x0) * mix(i, 1), y0 + (y1 - y0) * mix(i, 2))).collect();

    let baseline = load::run("trivial component (baseline)", args.clients, duration, trivial.clone());
    let baseline_single = load::run("trivial component, 1 client", 1, duration, trivial);
    let mut figures: Vec<Figure> = Vec::new();
    figures.push(load::run("chained call (4 functions, 4 SQLite tx, 4 KV sets)", args.clients, duration, chained));
    // Locate at one client (its own cost, no queueing) and at full load.
    let (nantong, synthetic) = (Arc::new(nantong), Arc::new(synthetic));
    let city_name = format!("synthetic {}k grids", args.city_grids / 1000);
    for clients in [1, args.clients] {
        for (name, running, points) in
            [("Nantong 9207 grids", &suite, &nantong), (city_name.as_str(), &big, &synthetic)]
        {
            running.app.app.take_peak_instance_memory();
            let mut f = load::run(
                &format!("locate, {name}, {clients} client{}", if clients == 1 { "" } else { "s" }),
                clients,
                duration,
                locate_shot(running.url("/v1/grids/locate"), points.clone()),
            );
            f.peak_memory_bytes = Some(running.app.app.take_peak_instance_memory());
            figures.push(f);
        }
    }

    println!();
    println!("imports of the demo city, time in the component:");
    for (path, ms) in &imports {
        println!("  PUT {path:<22} {ms:>8.0} ms");
    }
    println!("coverage audits of the demo city, time in the component:");
    for (region, ms, grids, findings) in &audits {
        println!("  region {region:<14} {grids:>5} grids {ms:>8.0} ms, {findings} findings");
    }
    println!();
    println!("{}", load::header());
    println!("{}", load::row(&baseline, &baseline));
    println!("{}", load::row(&baseline_single, &baseline_single));
    for f in &figures {
        // Each figure beside the baseline at the same concurrency.
        let base = if f.name.ends_with(", 1 client") { &baseline_single } else { &baseline };
        println!("{}", load::row(f, base));
    }
    let failed: usize = figures.iter().map(|f| f.errors).sum::<usize>() + baseline.errors;
    if failed > 0 {
        eprintln!("{failed} requests failed");
        std::process::exit(1);
    }
}
