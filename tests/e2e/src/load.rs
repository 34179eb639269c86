//! A small closed-loop load generator: N clients, each with a keep-alive
//! connection, for a fixed time; latencies kept whole for exact percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one request gave: success, and the component's own time from `server-timing`.
pub struct Outcome {
    pub ok: bool,
    pub app_ms: Option<f64>,
    /// The stages the handler timed after `app` (`read;dur=0.2, act;dur=0.9`).
    pub stages: Vec<(String, f64)>,
}

impl Outcome {
    pub fn new(ok: bool, server_timing: Option<&str>) -> Outcome {
        Outcome { ok, app_ms: app_ms(server_timing), stages: stages(server_timing) }
    }
}

/// One request of a load run; `i` counts the client's requests, for varied inputs.
pub type Shot = dyn Fn(&ureq::Agent, usize) -> Outcome + Send + Sync;

/// The component's own time, `app;dur=` (the first metric of `Server-Timing`), in ms.
pub fn app_ms(server_timing: Option<&str>) -> Option<f64> {
    server_timing?.strip_prefix("app;dur=")?.split(',').next()?.trim().parse().ok()
}

/// The metrics after the first of `Server-Timing`: `(name, ms)`.
pub fn stages(server_timing: Option<&str>) -> Vec<(String, f64)> {
    let Some(header) = server_timing else { return Vec::new() };
    header
        .split(',')
        .skip(1)
        .filter_map(|m| {
            let (name, dur) = m.trim().split_once(";dur=")?;
            Some((name.to_owned(), dur.trim().parse().ok()?))
        })
        .collect()
}

/// Sends `request`, reads the body, and takes `app;dur=` from `server-timing`.
pub fn fire(request: Result<http::Response<ureq::Body>, ureq::Error>, expect: &[u16]) -> Outcome {
    match request {
        Ok(mut response) => {
            let timing = response.headers().get("server-timing").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let ok = expect.contains(&response.status().as_u16()) && response.body_mut().read_to_vec().is_ok();
            Outcome::new(ok, timing.as_deref())
        }
        Err(_) => Outcome::new(false, None),
    }
}

/// What one measured run gave.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub clients: usize,
    /// The rate a paced run held, requests per second; `None` for a closed loop.
    pub rate: Option<f64>,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub app_p50_ms: Option<f64>,
    pub app_p99_ms: Option<f64>,
    /// The largest linear memory of any instance during the run.
    pub peak_memory_bytes: Option<usize>,
    /// Each stage the handler timed: its median and 99th percentile, in ms.
    pub stages: Vec<(String, f64, f64)>,
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

/// Runs `shot` from `clients` threads for `duration` after a short warm-up, each
/// client sending its next request as soon as the last is answered (closed loop: the
/// figure is the most the component can do, and the latency is mostly queueing).
pub fn run(name: &str, clients: usize, duration: Duration, shot: Arc<Shot>) -> Figure {
    drive(name, clients, None, duration, shot)
}

/// Runs `shot` at `rate` requests per second in all, spread over `clients` threads:
/// each request has its time on a fixed schedule, and its latency counts from that
/// time, so an answer that comes late delays the requests behind it and they show it
/// (no coordinated omission). This is the latency an actor sees at a load the
/// component sustains, rather than at saturation.
pub fn run_paced(name: &str, clients: usize, rate: f64, duration: Duration, shot: Arc<Shot>) -> Figure {
    drive(name, clients, Some(rate), duration, shot)
}

fn drive(name: &str, clients: usize, rate: Option<f64>, duration: Duration, shot: Arc<Shot>) -> Figure {
    let warmup = Duration::from_millis(500);
    let start = Instant::now() + warmup;
    let end = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let shot = shot.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let (mut latencies, mut app, mut stages, mut errors) = (Vec::new(), Vec::new(), Vec::new(), 0);
                let mut i = client * 1_000_003;
                // Paced: this client's k-th request is due at k * clients + client
                // intervals after the warm-up began.
                let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
                let first =
                    start - warmup + interval.map(|d| d.mul_f64(client as f64 / clients as f64)).unwrap_or_default();
                let mut due = first;
                loop {
                    let t0 = match interval {
                        Some(interval) => {
                            let now = Instant::now();
                            if due > now {
                                std::thread::sleep(due - now);
                            }
                            let t0 = due;
                            due += interval;
                            t0
                        }
                        None => Instant::now(),
                    };
                    if t0 >= end {
                        break;
                    }
                    let outcome = shot(&agent, i);
                    i += 1;
                    if t0 >= start {
                        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                        app.extend(outcome.app_ms);
                        stages.extend(outcome.stages);
                        if !outcome.ok {
                            errors += 1;
                        }
                    }
                }
                (latencies, app, errors, stages)
            })
        })
        .collect();
    let (mut all, mut app, mut errors) = (Vec::new(), Vec::new(), 0);
    // Each stage's times, the stages in the order they first appear.
    let mut stages: Vec<(String, Vec<f64>)> = Vec::new();
    for h in handles {
        let (l, a, e, s) = h.join().expect("client thread");
        all.extend(l);
        app.extend(a);
        errors += e;
        for (name, ms) in s {
            match stages.iter_mut().find(|(n, _)| *n == name) {
                Some((_, times)) => times.push(ms),
                None => stages.push((name, vec![ms])),
            }
        }
    }
    all.sort_by(f64::total_cmp);
    app.sort_by(f64::total_cmp);
    let has_app = !app.is_empty();
    Figure {
        name: name.to_owned(),
        clients,
        rate,
        requests: all.len(),
        errors,
        seconds: duration.as_secs_f64(),
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        app_p50_ms: has_app.then(|| percentile(&app, 0.50)),
        app_p99_ms: has_app.then(|| percentile(&app, 0.99)),
        peak_memory_bytes: None,
        stages: stages
            .into_iter()
            .map(|(name, mut ms)| {
                ms.sort_by(f64::total_cmp);
                let (p50, p99) = (percentile(&ms, 0.50), percentile(&ms, 0.99));
                (name, p50, p99)
            })
            .collect(),
    }
}

/// A table row of `figure` beside `baseline`: throughput ratio and added latency;
/// then, if the handler timed its stages, a line of their p50/p99.
pub fn row(figure: &Figure, baseline: &Figure) -> String {
    let mut line = columns(figure, baseline);
    if !figure.stages.is_empty() {
        let stages: Vec<String> = figure.stages.iter().map(|(n, p50, p99)| format!("{n} {p50:.3}/{p99:.3}")).collect();
        line.push_str(&format!("\n    stages p50/p99 ms: {}", stages.join(", ")));
    }
    line
}

fn columns(figure: &Figure, baseline: &Figure) -> String {
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
