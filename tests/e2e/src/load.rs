//! A small closed-loop load generator: N clients, each with a keep-alive
//! connection, for a fixed time; latencies kept whole for exact percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one request gave: success, and the component's own time from `server-timing`.
pub struct Outcome {
    pub ok: bool,
    pub app_ms: Option<f64>,
}

/// One request of a load run; `i` counts the client's requests, for varied inputs.
pub type Shot = dyn Fn(&ureq::Agent, usize) -> Outcome + Send + Sync;

/// The component's own time, `app;dur=` (the first metric of `Server-Timing`), in ms.
pub fn app_ms(server_timing: Option<&str>) -> Option<f64> {
    server_timing?.strip_prefix("app;dur=")?.split(',').next()?.trim().parse().ok()
}

/// Sends `request`, reads the body, and takes `app;dur=` from `server-timing`.
pub fn fire(request: Result<http::Response<ureq::Body>, ureq::Error>, expect: &[u16]) -> Outcome {
    match request {
        Ok(mut response) => {
            let app_ms = app_ms(response.headers().get("server-timing").and_then(|v| v.to_str().ok()));
            let ok = expect.contains(&response.status().as_u16()) && response.body_mut().read_to_vec().is_ok();
            Outcome { ok, app_ms }
        }
        Err(_) => Outcome { ok: false, app_ms: None },
    }
}

/// What one measured run gave.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub app_p50_ms: Option<f64>,
    pub app_p99_ms: Option<f64>,
    /// The largest linear memory of any instance during the run.
    pub peak_memory_bytes: Option<usize>,
}

impl Figure {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Runs `shot` from `clients` threads for `duration` after a short warm-up.
pub fn run(name: &str, clients: usize, duration: Duration, shot: Arc<Shot>) -> Figure {
    let warmup = Duration::from_millis(500);
    let start = Instant::now() + warmup;
    let end = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let shot = shot.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let (mut latencies, mut app, mut errors) = (Vec::new(), Vec::new(), 0);
                let mut i = client * 1_000_003;
                loop {
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    let outcome = shot(&agent, i);
                    i += 1;
                    if t0 >= start {
                        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                        app.extend(outcome.app_ms);
                        if !outcome.ok {
                            errors += 1;
                        }
                    }
                }
                (latencies, app, errors)
            })
        })
        .collect();
    let (mut all, mut app, mut errors) = (Vec::new(), Vec::new(), 0);
    for h in handles {
        let (l, a, e) = h.join().expect("client thread");
        all.extend(l);
        app.extend(a);
        errors += e;
    }
    all.sort_by(f64::total_cmp);
    app.sort_by(f64::total_cmp);
    let has_app = !app.is_empty();
    Figure {
        name: name.to_owned(),
        requests: all.len(),
        errors,
        seconds: duration.as_secs_f64(),
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        app_p50_ms: has_app.then(|| percentile(&app, 0.50)),
        app_p99_ms: has_app.then(|| percentile(&app, 0.99)),
        peak_memory_bytes: None,
    }
}

/// A table row of `figure` beside `baseline`: throughput ratio and added latency.
pub fn row(figure: &Figure, baseline: &Figure) -> String {
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
    format!(
        "{:<46} {:>8.0} {:>8.2} {:>8.2} {:>8.3}x {:>+8.2} {:>+8.2} {:>9} {:>9} {:>8} {:>6}",
        figure.name,
        figure.rps(),
        figure.p50_ms,
        figure.p99_ms,
        figure.rps() / baseline.rps(),
        figure.p50_ms - baseline.p50_ms,
        figure.p99_ms - baseline.p99_ms,
        opt(figure.app_p50_ms),
        opt(figure.app_p99_ms),
        figure.peak_memory_bytes.map(|b| format!("{:.1}", b as f64 / 1048576.0)).unwrap_or_else(|| "-".into()),
        figure.errors,
    )
}

pub fn header() -> String {
    format!(
        "{:<46} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9} {:>9} {:>8} {:>6}",
        "figure", "req/s", "p50 ms", "p99 ms", "vs base", "+p50", "+p99", "app p50", "app p99", "mem MiB", "errors"
    )
}
