//! `wangge-sim`: a month in Nantong against the suite (`scripts/simulate.sh` runs it).
//!
//! ```text
//! wangge-sim [--days 30] [--scale 1] [--start 2026-09-01] [--seed 1] [--workers 8]
//!            [--cluster] [--no-faults] [--out target/sim/month.json]
//! ```
//! Prints the ledger and writes the figures and the ledger as JSON; exits 1 if any line
//! of the ledger does not match.

use chrono::NaiveDate;
use wangge_sim::driver::Config;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut config = Config {
        start: start_of("2026-09-01"),
        days: 30,
        scale: 1.0,
        seed: 1,
        replicas: 1,
        faults: true,
        workers: 8,
        name: "sim-month".into(),
    };
    let mut out = wangge_e2e::workspace_root().join("target/sim/month.json");
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--days" => config.days = value().parse().unwrap_or_else(|_| usage("--days takes a whole number")),
            "--scale" => config.scale = value().parse().unwrap_or_else(|_| usage("--scale takes a number")),
            "--start" => config.start = start_of(&value()),
            "--seed" => config.seed = value().parse().unwrap_or_else(|_| usage("--seed takes a whole number")),
            "--workers" => config.workers = value().parse().unwrap_or_else(|_| usage("--workers takes a whole number")),
            "--out" => out = value().into(),
            "--no-faults" => config.faults = false,
            "--cluster" => {
                // SAFETY: set before any thread starts; the harness reads it to choose PostgreSQL and Redis.
                unsafe { std::env::set_var("WANGGE_PROFILE", "cluster") };
                config.replicas = 2;
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if !config.scale.is_finite() || config.scale <= 0.0 || config.days == 0 {
        usage("--days and --scale must be positive");
    }
    let report = wangge_sim::run::simulate(config);
    println!("{}", report.ledger.render());
    println!("{}", serde_json::to_string_pretty(&report.figures).unwrap());
    std::fs::create_dir_all(out.parent().expect("a directory")).expect("the output directory");
    let whole = serde_json::json!({ "figures": report.figures, "ledger": report.ledger });
    std::fs::write(&out, serde_json::to_string_pretty(&whole).unwrap()).expect("write the report");
    eprintln!("wrote {}", out.display());
    std::process::exit(if report.ledger.ok() { 0 } else { 1 });
}

fn start_of(date: &str) -> chrono::DateTime<chrono::Utc> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap_or_else(|_| usage("--start takes YYYY-MM-DD"));
    wangge_sim::oracle::calendar::from_local(day.and_hms_opt(0, 0, 0).expect("midnight"))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("wangge-sim: {problem}");
    }
    eprintln!(
        "usage: wangge-sim [--days 30] [--scale 1] [--start 2026-09-01] [--seed 1] [--workers 8] [--cluster] [--no-faults] [--out FILE]"
    );
    std::process::exit(2);
}
