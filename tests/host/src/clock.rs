//! The simulation clock (模拟时钟), test-only: a WASI wall clock that the driver sets.
//!
//! Spin has no such thing, and the functions carry no test code for it: they read the
//! time through WASI (`wasi:clocks/wall-clock`), and with [`AppOptions::clock`](crate::AppOptions)
//! set every instance's wall clock reads this one instead of the machine's.
//!
//! The clock runs: from the instant last set it moves at real speed, so a simulation
//! sets a day's start and [`SimClock::advance`]s past the quiet hours. It never goes
//! backwards unless [`SimClock::set`] puts it back explicitly. A driver that wants every
//! request of a step to read one instant stops it ([`SimClock::set_running`]`(false)`):
//! it then reads the same time until it is set, advanced or started again. The monotonic clock
//! (`wasi:clocks/monotonic-clock`) stays real: timeouts and durations are real time.
//!
//! A driver in another process controls it over HTTP on the app's own listener, at
//! [`CONTROL_PATH`], answered by the host and never by a component. Without the clock
//! that path is routed like any other (a `404` when no route matches it).
//! - `GET  /_wangge/clock` → `{"now": "2026-11-01T00:00:00.000Z", "unix_millis": …}`
//! - `PUT  /_wangge/clock` with `{"now": "2026-11-01T08:00:00+08:00"}` (RFC 3339) sets it;
//!   with `{"advance_seconds": 3600}` (not negative) moves it forward; either may carry
//!   `"running": false` (stopped) or `true`, which may also come alone. Answers as `GET`,
//!   with `"running"`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::json;
use wasmtime_wasi::HostWallClock;

/// Where the host answers the clock's control requests.
pub const CONTROL_PATH: &str = "/_wangge/clock";

/// The largest control request body read, in bytes.
const CONTROL_BODY_LIMIT: usize = 4096;

/// A wall clock the driver sets, shared by every instance of an app (clones share it).
#[derive(Clone)]
pub struct SimClock {
    anchor: Arc<Mutex<Anchor>>,
}

/// The simulated time at a real instant; the clock runs at real speed from there.
struct Anchor {
    /// Simulated time since the Unix epoch at `real`.
    simulated: Duration,
    real: Instant,
    /// Whether the clock moves with real time from `real`; stopped, it reads `simulated`.
    running: bool,
}

impl SimClock {
    /// A clock that reads the real time until it is set or advanced.
    pub fn new() -> Self {
        SimClock::starting_at(SystemTime::now())
    }

    /// A clock that reads `t` now and runs from there.
    pub fn starting_at(t: SystemTime) -> Self {
        SimClock {
            anchor: Arc::new(Mutex::new(Anchor { simulated: since_epoch(t), real: Instant::now(), running: true })),
        }
    }

    /// The simulated time now.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + self.now_since_epoch()
    }

    /// Sets the simulated time to `t` (even backwards: the one way to go back), running on from it.
    pub fn set(&self, t: SystemTime) {
        let mut anchor = self.lock();
        let running = anchor.running;
        *anchor = Anchor { simulated: since_epoch(t), real: Instant::now(), running };
    }

    /// Stops the clock at the time it reads now (`false`), or starts it running again from there.
    pub fn set_running(&self, running: bool) {
        let mut anchor = self.lock();
        let now = anchor.read();
        *anchor = Anchor { simulated: now, real: Instant::now(), running };
    }

    /// Whether the clock moves with real time.
    pub fn is_running(&self) -> bool {
        self.lock().running
    }

    /// Moves the simulated time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut anchor = self.lock();
        anchor.simulated += d;
    }

    fn now_since_epoch(&self) -> Duration {
        self.lock().read()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Anchor> {
        self.anchor.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Anchor {
    fn read(&self) -> Duration {
        if self.running { self.simulated + self.real.elapsed() } else { self.simulated }
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::new()
    }
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClock").field("now", &render(self.now())).finish()
    }
}

/// What each instance's `wasi:clocks/wall-clock` reads.
impl HostWallClock for SimClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.now_since_epoch()
    }
}

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// RFC 3339 in UTC with milliseconds.
fn render(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A `PUT` body: exactly one of the two.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    /// Set the clock to this RFC 3339 time.
    now: Option<String>,
    /// Move the clock forward by this many seconds.
    advance_seconds: Option<f64>,
    /// Stop the clock (`false`) or let it run with real time (`true`).
    running: Option<bool>,
}

/// Answers one control request: status and JSON body.
pub(crate) async fn control(clock: &SimClock, request: hyper::Request<hyper::body::Incoming>) -> (u16, String) {
    let method = request.method().clone();
    if method == http::Method::PUT {
        let body = match http_body_util::Limited::new(request.into_body(), CONTROL_BODY_LIMIT).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return problem(413, "the body is too large or could not be read"),
        };
        if let Err(message) = change(clock, &body) {
            return problem(400, &message);
        }
    } else if method != http::Method::GET {
        return problem(405, "GET or PUT");
    }
    let now = clock.now();
    let millis = since_epoch(now).as_millis();
    (200, json!({ "now": render(now), "unix_millis": millis, "running": clock.is_running() }).to_string())
}

fn change(clock: &SimClock, body: &[u8]) -> Result<(), String> {
    let change: ClockChange =
        serde_json::from_slice(body).map_err(|e| format!("expected {{\"now\"}} or {{\"advance_seconds\"}}: {e}"))?;
    if let Some(running) = change.running {
        clock.set_running(running);
    }
    match (change.now, change.advance_seconds) {
        (Some(now), None) => {
            let t = DateTime::parse_from_rfc3339(&now).map_err(|e| format!("`now` is not RFC 3339: {e}"))?;
            let t = SystemTime::from(t.with_timezone(&Utc));
            if t < UNIX_EPOCH {
                return Err("`now` is before 1970".into());
            }
            clock.set(t);
            Ok(())
        }
        (None, Some(seconds)) => {
            let d = Duration::try_from_secs_f64(seconds)
                .map_err(|_| "`advance_seconds` must be a finite number, not negative (time never goes backwards: set `now` to go back)".to_owned())?;
            clock.advance(d);
            Ok(())
        }
        (None, None) if change.running.is_some() => Ok(()),
        _ => Err("give exactly one of `now` and `advance_seconds` (or `running` alone)".into()),
    }
}

fn problem(status: u16, message: &str) -> (u16, String) {
    (status, json!({ "error": message }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_from_the_set_instant_and_advances_forward_only() {
        let t = UNIX_EPOCH + Duration::from_secs(1_793_491_200); // 2026-11-01T00:00:00Z
        let clock = SimClock::starting_at(t);
        let read = clock.now();
        assert!(read >= t && read < t + Duration::from_secs(5));
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= t + Duration::from_secs(3600));
        assert!(change(&clock, br#"{"advance_seconds": -1}"#).is_err());
        assert!(change(&clock, br#"{"now": "2026-11-01T08:00:00+08:00", "advance_seconds": 1}"#).is_err());
        assert!(change(&clock, br#"{}"#).is_err());
        change(&clock, br#"{"now": "2026-11-01T08:00:00+08:00"}"#).unwrap();
        let back = clock.now();
        assert!(back >= t && back < t + Duration::from_secs(5), "an explicit set goes back: {}", render(back));
        assert_eq!(render(t), "2026-11-01T00:00:00.000Z");
    }

    #[test]
    fn a_stopped_clock_reads_one_instant_until_moved() {
        let t = UNIX_EPOCH + Duration::from_secs(1_793_491_200);
        let clock = SimClock::starting_at(t);
        change(&clock, br#"{"now": "2026-11-01T00:00:00Z", "running": false}"#).unwrap();
        assert_eq!(clock.now(), t);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock.now(), t, "stopped: no real time passes");
        change(&clock, br#"{"advance_seconds": 300}"#).unwrap();
        assert_eq!(clock.now(), t + Duration::from_secs(300), "advanced exactly, still stopped");
        change(&clock, br#"{"running": true}"#).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() > t + Duration::from_secs(300), "running again");
        assert!(change(&clock, br#"{"running": "no"}"#).is_err());
    }
}
