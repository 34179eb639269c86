//! `scripts/bench.sh`: figures measured side by side in one process, each printed
//! beside the trivial-component baseline of the same run.

use std::sync::Arc;
use std::time::Duration;

use wangge_e2e::load::{self, Figure};
use wangge_e2e::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp};

struct Args {
    seconds: u64,
    clients: usize,
}

fn args() -> Args {
    let mut args = Args {
        seconds: 5,
        clients: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            "--clients" => args.clients = it.next().and_then(|v| v.parse().ok()).expect("--clients N"),
            other => panic!("unknown argument {other}: use --seconds N --clients N"),
        }
    }
    args
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
    let trivial: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent| {
        agent
            .get(&trivial_url)
            .call()
            .map(|mut r| r.status() == 200 && r.body_mut().read_to_vec().is_ok())
            .unwrap_or(false)
    });

    let suite = start_with(options("bench-suite", &[]));
    let chain_url = suite.url("/v1/system/intake/chain");
    let auth = bearer(OPERATOR_KEY);
    let chained: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent| {
        agent
            .post(&chain_url)
            .header("authorization", &auth)
            .send_empty()
            .map(|mut r| r.status() == 200 && r.body_mut().read_to_vec().is_ok())
            .unwrap_or(false)
    });

    let baseline = load::run("trivial component (baseline)", args.clients, duration, trivial);
    let figures: Vec<Figure> = vec![load::run(
        "chained call (4 functions, 4 SQLite tx, 4 KV sets)",
        args.clients,
        duration,
        chained,
    )];

    println!();
    println!("{}", load::header());
    println!("{}", load::row(&baseline, &baseline));
    for f in &figures {
        println!("{}", load::row(f, &baseline));
    }
    let failed: usize = figures.iter().map(|f| f.errors).sum::<usize>() + baseline.errors;
    if failed > 0 {
        eprintln!("{failed} requests failed");
        std::process::exit(1);
    }
}
