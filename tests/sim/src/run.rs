//! One simulation from start to ledger: the city and its reference data read, the system
//! started, every step run, the month's assessment, the drain, the ledger, the report.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::city::City;
use crate::driver::{Config, Driver};
use crate::ledger::{self, Ledger};
use crate::oracle::calendar::WorkCalendar;
use crate::oracle::catalogue::Catalogue;

/// Steps of the drain after the last day: 16 × 30 minutes, past 07:00 when quiet hours end.
const DRAIN_STEPS: i64 = 16;

/// What a simulation reports.
pub struct Report {
    pub ledger: Ledger,
    /// Figures for BENCHMARKS.md and the README: wall time, volume, throughput.
    pub figures: Value,
}

/// Runs `config` and draws up the ledger.
pub fn simulate(config: Config) -> Report {
    let started = Instant::now();
    let city = City::load();
    let root = wangge_e2e::workspace_root();
    let catalogue =
        Catalogue::from_json(&std::fs::read_to_string(root.join("data/categories.json")).expect("catalogue"))
            .expect("the catalogue reads");
    let calendar =
        WorkCalendar::from_json(&std::fs::read_to_string(root.join("data/calendar-2026.json")).expect("calendar"))
            .expect("the calendar reads");
    let mut driver = Driver::new(config.clone(), &city, &catalogue, &calendar);
    let setup = started.elapsed();
    let baseline = baseline(&mut driver);
    driver.run();
    let end = driver.now;
    driver.retry_pending();
    driver.find_queued();
    let period = crate::oracle::calendar::to_local(end - Duration::seconds(1)).format("%Y-%m").to_string();
    let assessed = Instant::now();
    let run = driver.clients[0].send(
        "POST",
        &format!("/v1/assessments/{period}/run"),
        &driver.system.keys.assessment,
        &[],
        None,
    );
    let assessment_seconds = assessed.elapsed().as_secs_f64();
    if run.status != 200 && run.status != 201 {
        driver.tally.anomalies.push(format!("the month's assessment: {} {}", run.status, run.body));
    }
    drain(&mut driver, end);
    let checked = Instant::now();
    let ledger = ledger::draw_up(&mut driver, &period, end);
    let mut figures = figures(&driver, &config, &ledger, started, setup, assessment_seconds, checked, &run.body);
    figures["baseline_chained_calls_per_second"] = baseline.into();
    Report { ledger, figures }
}

/// How many chained calls a second the system serves to the driver's clients, before the
/// month starts: each one request through all four functions, each writing its database
/// and the key-value store (`POST /v1/system/intake/chain`). The month's throughput is read
/// beside it: the same machine, the same run.
fn baseline(driver: &mut Driver) -> f64 {
    let seconds = 5.0;
    let started = Instant::now();
    let counts = crate::parallel::each(&mut driver.clients, (0..8).collect::<Vec<_>>(), |client, _| {
        let mut n = 0usize;
        while started.elapsed().as_secs_f64() < seconds {
            let reply = client.send("POST", "/v1/system/intake/chain", wangge_e2e::OPERATOR_KEY, &[], None);
            n += usize::from(reply.status == 200);
        }
        n
    });
    counts.iter().sum::<usize>() as f64 / started.elapsed().as_secs_f64()
}

/// After the last day: the cron goes on (retry-pending, sweep, dispatch) with no new
/// traffic and nobody acting, until nothing is due; the sweep stops halfway, so its last
/// notices are delivered too.
fn drain(driver: &mut Driver, end: DateTime<Utc>) {
    for k in 1..=DRAIN_STEPS {
        driver.set_clock(end + Duration::minutes(30 * k));
        driver.retry_pending();
        driver.find_queued();
        if k <= DRAIN_STEPS / 2 {
            driver.sweep_now();
        }
        let answer = driver.dispatch();
        let idle = answer["due_now"].as_u64() == Some(0) && answer["waiting"].as_u64() == Some(0);
        if idle && driver.queued.is_empty() && k > DRAIN_STEPS / 2 {
            break;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn figures(
    driver: &Driver,
    config: &Config,
    ledger: &Ledger,
    started: Instant,
    setup: std::time::Duration,
    assessment_seconds: f64,
    checked: Instant,
    run: &str,
) -> Value {
    let t = &driver.tally;
    let wall = t.wall.as_secs_f64();
    let by_source = driver.expected_by(|c| c.sent.source.as_str().to_owned());
    json!({
        "start": crate::render(config.start),
        "days": config.days,
        "scale": config.scale,
        "seed": config.seed,
        "profile": format!("{:?}", wangge_e2e::profile()),
        "replicas": config.replicas,
        "faults": config.faults,
        "workers": config.workers,
        "wall_seconds": { "setup": setup.as_secs_f64(), "steps": wall, "assessment": assessment_seconds,
                          "ledger": checked.elapsed().as_secs_f64(), "total": started.elapsed().as_secs_f64() },
        "steps": t.steps,
        "http_requests": crate::client::SENT.load(std::sync::atomic::Ordering::Relaxed),
        "http_requests_per_second_over_the_steps": t.http_requests as f64 / wall.max(1e-9),
        "cases": driver.cases.len(),
        "cases_by_source": by_source,
        "cases_by_pace": driver.expected_by(|c| format!("{:?}", c.pace)),
        "actions": t.met.done,
        "sweeps": t.sweeps,
        "swept_escalations": t.swept_escalations,
        "deliveries": t.dispatched,
        "queued_then_made": t.retried_events,
        "client_retries": t.arrivals.retries,
        "replays": t.arrivals.replays,
        "merges": t.merges,
        "races": t.met.races,
        "races_met_by_an_outage": t.met.races_undecided,
        "patrols_placed_next_door": t.patrols_placed_next_door,
        "reconciled_conflicts": t.met.reconciled,
        "lost_answers": t.met.lost_answers,
        "requeued_dead_letters": t.requeued,
        "unavailable_answers": t.met.unavailable,
        "faults": driver.faults.log,
        "kills": driver.faults.kills,
        "hostile": driver.faults.hostile_sent,
        "assessment_run": serde_json::from_str::<Value>(run).unwrap_or(Value::Null).get("progress").cloned(),
        "ledger_ok": ledger.ok(),
        "ledger_failures": ledger.failures.len(),
    })
}
