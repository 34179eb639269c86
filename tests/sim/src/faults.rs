//! Faults injected while the month runs. On the first day and every tenth day after
//! (Nantong time):
//! - 02:00–03:30 **case-routing fails**: every host is restarted with case-routing's
//!   database address pointing at a database that does not exist, so it answers `5xx`;
//!   intake's durable queue must carry the reports through (`202`, retried later);
//! - 10:00 **`kill -9`**: host 0 is killed in the middle of the people's step and started
//!   again on the same state; clients retry (lost answers, replays, conflicts read back);
//! - 14:00–14:20 **notification stalls**: each step its database is held locked for 6 s
//!   of real time while the step runs, past SQLite's 5 s busy wait; case-routing's
//!   hand-over waits and fails, and the outbox must keep every notice;
//! - 19:00–21:00 **the city's outside services fail**: the SMS gateway, WeChat and the
//!   hotline's callback answer `5xx`; notification's retries must carry the messages,
//!   and what died of the outage the platform team requeues at 21:30.
//!
//! Every day: every three hours the hostile set ([`crate::hostile`]) is sent, each
//! request checked for its status and code; every hour a good report is followed by its
//! idempotency key with another body, and a signed hotline batch by its replayed
//! signature. Two staff signing at once and the sweep racing the people are part of every
//! step ([`crate::actions`], [`crate::driver`]).

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::json;

use crate::arrive::{self, Outcome};
use crate::driver::Driver;
use crate::hostile::{self, Hostile};
use crate::system::System;
use crate::traffic::Arrival;

/// Faults strike on the first day and every this many days after.
pub const FAULT_EVERY_DAYS: i64 = 10;

/// Real seconds notification's database is held locked in each step of a stall.
const STALL_SECONDS: u64 = 6;

/// The faults' state and what they met.
#[derive(Debug, Default)]
pub struct Faults {
    enabled: bool,
    case_routing_down: bool,
    stalling: bool,
    kill_now: bool,
    hostile_rounds: u64,
    /// When each fault began and ended, for the report.
    pub log: Vec<String>,
    /// Hostile requests sent, and those answered as they must be.
    pub hostile_sent: usize,
    pub hostile_as_expected: usize,
    /// Replays (a used signature, a used idempotency key with another body) and those refused.
    pub replays_sent: usize,
    pub replays_refused: usize,
    pub failures: Vec<String>,
    pub kills: usize,
}

impl Faults {
    pub fn new(enabled: bool) -> Faults {
        Faults { enabled, ..Faults::default() }
    }

    /// Starts or ends the stretches due in `(from, at]`.
    pub fn step(&mut self, driver: &mut Driver, at: DateTime<Utc>) {
        if !self.enabled {
            return;
        }
        let local = at.with_timezone(&crate::oracle::calendar::shanghai());
        let day = (at - Duration::minutes(1) - driver.config.start).num_days();
        let (h, m) = (local.hour(), local.minute());
        let fault_day = day % FAULT_EVERY_DAYS == 0;
        let system = &driver.system;
        if fault_day && (h, m) == (2, 0) {
            let host =
                system.options.variables.get("database_host").cloned().unwrap_or_else(|| "127.0.0.1:5432".into());
            let broken = format!("postgres://wangge_down@{host}/wangge_down");
            system.restart_with(&[("case_routing_database_url", broken)], at);
            self.case_routing_down = true;
            self.log.push(format!("{}: case-routing down (its database address broken)", crate::render(at)));
        }
        if self.case_routing_down && (h, m) == (3, 30) {
            system.restart_with(&[], at);
            self.case_routing_down = false;
            self.log.push(format!("{}: case-routing back", crate::render(at)));
        }
        self.kill_now = fault_day && (h, m) == (10, 0);
        if fault_day && (h, m) == (14, 0) {
            self.stalling = true;
            self.log.push(format!("{}: notification stalls ({STALL_SECONDS} s locked each step)", crate::render(at)));
        }
        if self.stalling && (h, m) == (14, 20) {
            self.stalling = false;
            self.log.push(format!("{}: notification answers again", crate::render(at)));
        }
        if fault_day && (h, m) == (19, 0) {
            let r = &system.receivers;
            r.fail("/sms", usize::MAX, 500);
            r.fail("/cgi-bin/message", usize::MAX, 503);
            r.fail("/api/work-orders", usize::MAX, 502);
            self.log.push(format!("{}: SMS, WeChat and the hotline callback fail", crate::render(at)));
        }
        if fault_day && (h, m) == (21, 0) {
            system.receivers.heal();
            self.log.push(format!("{}: outside services answer again", crate::render(at)));
        }
        if fault_day && (h, m) == (21, 30) {
            let n = driver.requeue_dead();
            self.log.push(format!("{}: the platform team requeued {n} dead letters of the outage", crate::render(at)));
        }
    }

    /// Sends this step's hostile requests and replays; returns the arrivals left to send
    /// as usual.
    pub fn attack(&mut self, driver: &mut Driver, mut arrivals: Vec<Arrival>) -> Vec<Arrival> {
        if !self.enabled || self.case_routing_down {
            return arrivals;
        }
        let local = driver.now.with_timezone(&crate::oracle::calendar::shanghai());
        if local.minute() == 0 && local.hour() % 3 == 1 {
            self.hostile_round(driver);
        }
        if local.minute() == 30 {
            if let Some(i) = arrivals
                .iter()
                .position(|a| matches!(a, Arrival::Event { sent, .. } if sent.duplicate_of.is_none() && !sent.retried))
            {
                let Arrival::Event { body, sent } = arrivals.remove(i) else { unreachable!() };
                self.idempotency_replay(driver, body, sent);
            }
            if let Some(i) = arrivals
                .iter()
                .position(|a| matches!(a, Arrival::Hotline { orders } if orders.iter().all(|(_, s)| !s.retried)))
            {
                let Arrival::Hotline { orders } = arrivals.remove(i) else { unreachable!() };
                self.signature_replay(driver, orders);
            }
        }
        arrivals
    }

    fn hostile_round(&mut self, driver: &mut Driver) {
        self.hostile_rounds += 1;
        let keys = hostile_keys(driver, true);
        let all = hostile::hostile_requests(driver.now, &keys, self.hostile_rounds);
        let base = driver.system.hosts[0].base.clone();
        let results = crate::parallel::each(&mut driver.clients, all, |client, h| (h.what, wrong(client, &base, &h)));
        driver.tally.requests += results.len();
        for (_, wrong) in results {
            self.hostile_sent += 1;
            match wrong {
                None => self.hostile_as_expected += 1,
                Some(w) => self.failures.push(w),
            }
        }
    }

    /// A good report, then its idempotency key (and its external id) with another body.
    fn idempotency_replay(&mut self, driver: &mut Driver, body: serde_json::Value, mut sent: crate::traffic::Sent) {
        self.hostile_rounds += 1;
        let keys = hostile_keys(driver, false);
        let replayed = hostile::idempotency_replays(&keys, self.hostile_rounds, &body);
        sent.external_id = replayed
            .first
            .headers
            .iter()
            .find(|(k, _)| k == "idempotency-key")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let base = driver.system.hosts[0].base.clone();
        let client = &driver.clients[0];
        let first = send(client, &base, &replayed.first);
        match first.status {
            201 | 202 => {
                let answer = first.json();
                let outcome = arrive::outcome_of(client, &driver.system.keys, sent, &answer, first.status);
                driver.register(outcome, None);
            }
            _ => self.failures.push(format!("the good report before a replay: {} {}", first.status, first.body)),
        }
        self.replays(driver, replayed.replays);
    }

    /// A signed hotline batch, then the same signed request again.
    fn signature_replay(&mut self, driver: &mut Driver, orders: Vec<(serde_json::Value, crate::traffic::Sent)>) {
        let keys = hostile_keys(driver, false);
        let batch = json!({ "orders": orders.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>() });
        let replayed = hostile::signature_replay(driver.now, &keys, &batch);
        let base = driver.system.hosts[0].base.clone();
        let client = &driver.clients[0];
        let first = send(client, &base, &replayed.first);
        if first.status != 200 {
            self.failures.push(format!("the signed batch before a replay: {} {}", first.status, first.body));
        } else {
            let results = first.json()["results"].as_array().cloned().unwrap_or_default();
            let outcomes: Vec<Outcome> = orders
                .into_iter()
                .zip(results)
                .map(|((_, sent), result)| arrive::outcome_of(client, &driver.system.keys, sent, &result, 201))
                .collect();
            for outcome in outcomes {
                driver.register(outcome, None);
            }
        }
        self.replays(driver, replayed.replays);
    }

    fn replays(&mut self, driver: &mut Driver, replays: Vec<Hostile>) {
        let base = driver.system.hosts[0].base.clone();
        for replay in replays {
            self.replays_sent += 1;
            driver.tally.requests += 1;
            match wrong(&driver.clients[0], &base, &replay) {
                None => self.replays_refused += 1,
                Some(w) => self.failures.push(w),
            }
        }
    }

    /// Faults that strike while the people's step runs: a `kill -9`, a stalled database.
    pub fn during_actions<'s>(&mut self, scope: &'s std::thread::Scope<'s, '_>, system: &'s System) {
        if self.kill_now {
            self.kill_now = false;
            self.kills += 1;
            self.log
                .push(format!("{}: host 0 killed (kill -9) mid-step and restarted", crate::render(current(system))));
            scope.spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(40));
                system.kill_and_restart(0, current(system));
            });
        }
        if self.stalling {
            scope.spawn(move || stall(system));
        }
    }
}

/// The clock's reading on host 0 (stopped: the step's instant).
fn current(system: &System) -> DateTime<Utc> {
    let reply =
        wangge_e2e::request("GET", &format!("{}{}", system.hosts[0].base, wangge_host::clock::CONTROL_PATH), &[], None);
    reply.json()["now"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Holds notification's database locked for [`STALL_SECONDS`].
fn stall(system: &System) {
    use wangge_core::Sql;
    let hold = std::time::Duration::from_secs(STALL_SECONDS);
    if wangge_e2e::profile() == wangge_e2e::Profile::Embedded {
        let dir = system.options.state_dir.clone().expect("state dir");
        let db = rusqlite::Connection::open(dir.join("notification.db")).expect("notification.db");
        db.execute_batch("BEGIN EXCLUSIVE").expect("lock notification.db");
        std::thread::sleep(hold);
        db.execute_batch("ROLLBACK").expect("unlock");
    } else {
        let db = system.store("notification");
        db.execute("BEGIN", &[]).expect("begin");
        db.execute("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE", &[]).expect("lock the outbox");
        std::thread::sleep(hold);
        db.execute("ROLLBACK", &[]).expect("unlock");
    }
}

fn hostile_keys(driver: &Driver, hostile: bool) -> hostile::Keys {
    let k = &driver.system.keys;
    hostile::Keys {
        resident: if hostile { k.hostile.clone() } else { k.miniprogram.clone() },
        hotline: k.hotline.clone(),
        hotline_secret: k.hotline_secret.clone(),
    }
}

/// What `h` got, if it is not what it must get.
fn wrong(client: &crate::client::Client, base: &str, h: &Hostile) -> Option<String> {
    let reply = send(client, base, h);
    let got = (reply.status, hostile::problem_code(&reply.body));
    (got != (h.expect_status, h.expect_code.map(str::to_owned))).then(|| {
        let body: String = reply.body.chars().take(200).collect();
        format!("{}: expected {} {:?}, got {} {:?}: {body}", h.what, h.expect_status, h.expect_code, got.0, got.1)
    })
}

/// Sends `h` as is (its own authorization header); one answered before its body is read
/// goes over raw HTTP, which reads the answer even when the server closes mid-body.
fn send(client: &crate::client::Client, base: &str, h: &Hostile) -> wangge_e2e::Reply {
    if h.answered_before_its_body() {
        let addr = base.trim_start_matches("http://").parse().expect("a host's address");
        let headers: String = h.headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        let head = format!(
            "{} {} HTTP/1.1\r\nhost: x\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
            h.method,
            h.path,
            h.body.len()
        );
        let (status_line, body) = wangge_e2e::raw(addr, &head, &h.body);
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = body.split("\r\n").find(|l| l.starts_with('{') || l.starts_with('[')).unwrap_or(&body).to_owned();
        return wangge_e2e::Reply { status, headers: Vec::new(), body };
    }
    client.send(h.method, &h.path, "", &h.headers, Some(h.body.clone()))
}
