//! A small closed-loop load generator: N clients, each with a keep-alive
//! connection, for a fixed time; latencies kept whole for exact percentiles.

use std::time::{Duration, Instant};

/// What one measured run gave.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Figure {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// One request of a load run: returns whether it succeeded.
pub type Shot = dyn Fn(&ureq::Agent) -> bool + Send + Sync;

/// Runs `shot` from `clients` threads for `duration` after a short warm-up.
pub fn run(name: &str, clients: usize, duration: Duration, shot: std::sync::Arc<Shot>) -> Figure {
    let warmup = Duration::from_millis(500);
    let start = Instant::now() + warmup;
    let end = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let shot = shot.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let mut latencies = Vec::new();
                let mut errors = 0;
                loop {
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    let ok = shot(&agent);
                    if t0 >= start {
                        latencies.push(t0.elapsed());
                        if !ok {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().expect("client thread");
        all.extend(l);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i].as_secs_f64() * 1000.0
    };
    Figure {
        name: name.to_owned(),
        clients,
        requests: all.len(),
        errors,
        seconds: duration.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

/// A table row of `figure` beside `baseline`: throughput ratio and added latency.
pub fn row(figure: &Figure, baseline: &Figure) -> String {
    format!(
        "{:<52} {:>8.0} {:>9.2} {:>9.2} {:>10.3}x {:>+10.2} {:>+10.2} {:>7}",
        figure.name,
        figure.rps(),
        figure.p50_ms,
        figure.p99_ms,
        figure.rps() / baseline.rps(),
        figure.p50_ms - baseline.p50_ms,
        figure.p99_ms - baseline.p99_ms,
        figure.errors,
    )
}

pub fn header() -> String {
    format!(
        "{:<52} {:>8} {:>9} {:>9} {:>11} {:>10} {:>10} {:>7}",
        "figure", "req/s", "p50 ms", "p99 ms", "vs base", "+p50 ms", "+p99 ms", "errors"
    )
}
