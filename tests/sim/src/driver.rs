//! The month, step by step. Each step of simulated time (10 minutes):
//! 1. every host's clock is stopped at the step's instant;
//! 2. the faults due start or end ([`crate::faults`]);
//! 3. the cron's `retry-pending` runs, and queued events are looked up;
//! 4. at once: the step's arrivals are sent, the people do what they planned for now,
//!    and every sixth step (hourly) the supervision sweep runs, racing them;
//! 5. the cron's dispatch delivers notifications.
//!
//! At the end the month's assessment runs, the queues drain for up to 8 simulated hours
//! (quiet hours end at 07:00), and the ledger is drawn up ([`crate::ledger`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::actions::{self, Met};
use crate::arrive::{self, Counts, Made, Outcome};
use crate::city::City;
use crate::client::Client;
use crate::faults::Faults;
use crate::oracle::calendar::WorkCalendar;
use crate::oracle::catalogue::Catalogue;
use crate::people::{Case, Pace, State};
use crate::record::{Assignee, CaseRecord, Report, Step};
use crate::rng::Rng;
use crate::system::System;
use crate::traffic::{Sent, Traffic};

/// One step of simulated time.
pub const STEP_MINUTES: i64 = 10;
/// The sweep runs every this many steps (hourly).
const SWEEP_EVERY: u64 = 6;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The first instant (00:00 +08:00 of the first day).
    pub start: DateTime<Utc>,
    pub days: u32,
    /// Multiplies every rate of [`crate::traffic`].
    pub scale: f64,
    pub seed: u64,
    /// Hosts serving the suite: 1 (embedded), 2 replicas (cluster).
    pub replicas: usize,
    /// Whether faults are injected.
    pub faults: bool,
    /// Concurrent clients.
    pub workers: usize,
    /// Names the state directory.
    pub name: String,
}

/// What the run did, for the ledger and the report.
#[derive(Debug, Default)]
pub struct Tally {
    pub steps: u64,
    /// Jobs and scheduler calls the driver made (each may be several requests).
    pub requests: usize,
    /// HTTP requests sent during the steps.
    pub http_requests: usize,
    pub arrivals: Counts,
    pub met: Met,
    pub sweeps: usize,
    pub swept_escalations: usize,
    pub dispatched: usize,
    pub retried_events: usize,
    /// Repeats of a case open before and after their step, and how many of them merged.
    pub expected_merges: usize,
    pub intended_merged: usize,
    pub merges: usize,
    pub hostile_sent: usize,
    pub hostile_as_expected: usize,
    pub replays_refused: usize,
    /// Patrol reports whose point the registry placed in a neighbouring grid (an edge).
    pub patrols_placed_next_door: usize,
    /// Dead letters the platform team requeued after an outage.
    pub requeued: usize,
    pub anomalies: Vec<String>,
    pub wall: std::time::Duration,
    /// What the assessment's published results held (grids, communities, departments).
    pub assessment: Option<Value>,
}

/// The driver: the system, the city, and every case as the driver knows it.
pub struct Driver<'a> {
    pub config: Config,
    pub system: System,
    pub city: &'a City,
    pub catalogue: &'a Catalogue,
    pub calendar: &'a WorkCalendar,
    pub cases: Vec<Case>,
    pub by_id: HashMap<String, usize>,
    /// Events answered `202`, not yet a case: (sent, event id).
    pub queued: Vec<(Sent, String)>,
    /// Every acknowledged event's id (made, merged or queued).
    pub acknowledged: Vec<String>,
    pub tally: Tally,
    pub clients: Vec<Client>,
    pub faults: Faults,
    pub now: DateTime<Utc>,
    /// The states of the cases acted on in the current step, before it.
    before: HashMap<usize, State>,
}

impl<'a> Driver<'a> {
    pub fn new(config: Config, city: &'a City, catalogue: &'a Catalogue, calendar: &'a WorkCalendar) -> Driver<'a> {
        let system = System::start(&config.name, config.replicas, config.start);
        let clients = (0..config.workers.max(1)).map(|_| Client::new(system.bases())).collect();
        let faults = Faults::new(config.faults);
        let now = config.start;
        Driver {
            config,
            system,
            city,
            catalogue,
            calendar,
            cases: Vec::new(),
            by_id: HashMap::new(),
            queued: Vec::new(),
            acknowledged: Vec::new(),
            tally: Tally::default(),
            clients,
            faults,
            now,
            before: HashMap::new(),
        }
    }

    /// Runs every step of the configured days.
    pub fn run(&mut self) {
        let started = Instant::now();
        let end = self.config.start + Duration::days(i64::from(self.config.days));
        let (catalogue, calendar, city) = (self.catalogue, self.calendar, self.city);
        let mut traffic = Traffic::new(city, catalogue, calendar, self.config.scale, self.config.seed);
        let step = Duration::minutes(STEP_MINUTES);
        let mut at = self.config.start;
        let mut last_report = Instant::now();
        let sent_before = crate::client::SENT.load(std::sync::atomic::Ordering::Relaxed);
        while at < end {
            let from = at;
            at += step;
            self.now = at;
            self.system.set_clock(at);
            self.tally.steps += 1;
            let mut faults = std::mem::take(&mut self.faults);
            faults.step(self, at);
            self.retry_pending();
            let arrivals = traffic.step(from, at);
            self.find_queued();
            self.step_all(arrivals, &mut faults);
            self.dispatch();
            self.faults = faults;
            if last_report.elapsed().as_secs() >= 10 {
                last_report = Instant::now();
                eprintln!(
                    "sim: {} — {} cases, {} requests, {} anomalies, {:.0} s",
                    crate::render(at),
                    self.cases.len(),
                    self.tally.requests,
                    self.tally.anomalies.len() + self.tally.met.anomalies.len(),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        self.tally.wall = started.elapsed();
        self.tally.http_requests = crate::client::SENT.load(std::sync::atomic::Ordering::Relaxed) - sent_before;
    }

    /// Sets the clock of every host to `t`, and remembers it.
    pub fn set_clock(&mut self, t: DateTime<Utc>) {
        self.now = t;
        self.system.set_clock(t);
    }

    /// Takes an outcome into the driver's record. `made_at`: when a queued event became
    /// its case (read back), else now.
    pub fn register(&mut self, outcome: Outcome, made_at: Option<DateTime<Utc>>) {
        match outcome {
            Outcome::Anomaly(a) => self.tally.anomalies.push(a),
            Outcome::Queued { sent, event_id } => {
                self.acknowledged.push(event_id.clone());
                self.queued.push((sent, event_id));
            }
            Outcome::Made { sent, event_id, answer } => {
                self.acknowledged.push(event_id.clone());
                self.make(sent, event_id, answer, made_at.unwrap_or(self.now));
            }
        }
    }

    fn make(&mut self, mut sent: Sent, id: String, made: Made, made_at: DateTime<Utc>) {
        if self.by_id.contains_key(&id) {
            self.tally.anomalies.push(format!("event {id} acknowledged twice as a new case"));
            return;
        }
        // A patrolling worker is staff of the case only if the registry placed the point
        // in their own grid: a point on a shared edge goes to the grid with the smaller
        // code, which may be the neighbour's (the driver knows its worker's grid).
        if sent.source == crate::record::Source::GridStaff
            && sent.grid != made.comprehensive
            && sent.grid != made.responsible
        {
            sent.reporter_is_grid_staff = false;
            self.tally.patrols_placed_next_door += 1;
        }
        let matter = &self.catalogue.matters[&sent.category];
        let report = Report {
            event_id: id.clone(),
            source: sent.source,
            category: sent.category.clone(),
            reported_at: sent.reported_at,
            discovered_at: sent.discovered_at,
            reporter_is_grid_staff: sent.reporter_is_grid_staff,
        };
        let department =
            matter.department_kind.as_deref().and_then(|k| self.city.department_for(k, &made.community)).cloned();
        let draw = self.cases.len();
        let grid_head = self
            .city
            .staff_by_grid
            .get(&made.comprehensive)
            .and_then(|s| s.iter().find(|s| s.role != "grid_worker"))
            .map(|s| s.id.clone());
        let worker = self.city.worker_of(&made.comprehensive, draw).map(|s| s.id.clone()).unwrap_or_default();
        let mut case = Case {
            record: CaseRecord {
                id: id.clone(),
                category: sent.category.clone(),
                responsible_grid: made.responsible.clone(),
                comprehensive_grid: made.comprehensive.clone(),
                community: made.community.clone(),
                report,
                duplicates: Vec::new(),
                merged_into: made.merged_into.clone(),
                steps: Vec::new(),
            },
            state: crate::people::parse_state(&made.state).unwrap_or(State::Reported),
            centre: made.community.get(..6).unwrap_or_default().to_owned(),
            staff: (worker.clone(), grid_head.unwrap_or(worker)),
            department,
            grid_may_resolve: matter.grid_may_resolve,
            plan: None,
            rng: Rng::derive(self.config.seed, 1 + draw as u64),
            pace: Pace::OnTime,
            fails_left: 0,
            will_escalate: false,
            will_return: false,
            will_rate: false,
            will_reject: false,
            sent,
        };
        let hurried = matter.resolve_within.elapsed() <= Duration::hours(24);
        case.draw(matter.domain == crate::oracle::catalogue::GENERAL, hurried);
        self.check_merge(&mut case);
        self.route_on_arrival(&mut case, made_at);
        case.plan_next(made_at.max(self.now), matter, self.calendar);
        self.by_id.insert(id, self.cases.len());
        self.cases.push(case);
    }

    /// A duplicate: into an open case of its category within 50 m and 24 h; an intended
    /// repeat of an open case must merge.
    fn check_merge(&mut self, case: &mut Case) {
        let expected = case
            .sent
            .duplicate_of
            .as_ref()
            .and_then(|ext| self.by_external(ext))
            .filter(|&i| self.open_before_and_after(i).0);
        if expected.is_some() {
            self.tally.expected_merges += 1;
            self.tally.intended_merged += usize::from(case.record.merged_into.is_some());
        }
        let Some(target) = case.record.merged_into.clone() else {
            if let Some(i) = expected {
                let o = &self.cases[i];
                self.tally.anomalies.push(format!(
                    "{} repeats open case {} within 20 m and 8 h but was not merged",
                    case.record.id, o.record.id
                ));
            }
            return;
        };
        self.tally.merges += 1;
        let Some(&t) = self.by_id.get(&target) else {
            self.tally
                .anomalies
                .push(format!("{} merged into {target}, which the driver never saw made", case.record.id));
            return;
        };
        let open = self.open_before_and_after(t).1;
        let into = &mut self.cases[t];
        let metres = crate::distance_m(case.sent.point, into.sent.point);
        let hours = (case.sent.reported_at - into.sent.reported_at).num_seconds().abs() as f64 / 3600.0;
        if into.record.category != case.record.category || metres > 50.5 || hours > 24.0 || !open {
            self.tally.anomalies.push(format!(
                "{} merged into {target}: category {} / {}, {metres:.1} m, {hours:.1} h, target {}",
                case.record.id,
                case.record.category,
                into.record.category,
                into.state.as_str()
            ));
        }
        into.record.duplicates.push(case.record.report.clone());
    }

    fn by_external(&self, external_id: &str) -> Option<usize> {
        // Repeats are few: a scan of the recent cases.
        self.cases.iter().rposition(|c| c.sent.external_id == external_id)
    }

    /// Automatic routing on arrival, as the driver expects it, beside what case-routing did.
    fn route_on_arrival(&mut self, case: &mut Case, at: DateTime<Utc>) {
        let matter = &self.catalogue.matters[&case.record.category];
        let by_staff = case.sent.reporter_is_grid_staff && matter.grid_may_resolve;
        let expected = if case.record.merged_into.is_some() {
            State::Merged
        } else if by_staff || matter.urgent {
            State::Assigned
        } else {
            State::Reported
        };
        if expected != case.state {
            self.tally.anomalies.push(format!(
                "{} ({}, {}) arrived {} where the rules route it to {}",
                case.record.id,
                case.record.category,
                case.sent.source.as_str(),
                case.state.as_str(),
                expected.as_str()
            ));
        }
        if case.state == State::Assigned {
            let to = match (&case.department, matter.grid_may_resolve) {
                (Some(code), false) => Assignee::Department(code.clone()),
                _ => Assignee::Grid(case.record.responsible_grid.clone()),
            };
            case.record.steps.push(Step::Accepted { at });
            case.record.steps.push(Step::Assigned { at, to: to.clone() });
        }
    }

    /// Queued events that became cases since: looked up, and taken into the record.
    pub fn find_queued(&mut self) {
        if self.queued.is_empty() {
            return;
        }
        let queued = std::mem::take(&mut self.queued);
        let keys = self.system.keys.clone();
        self.tally.requests += queued.len();
        let found = crate::parallel::each(&mut self.clients, queued, |client, (sent, id)| {
            let event = client.send("GET", &format!("/v1/events/{id}"), wangge_e2e::OPERATOR_KEY, &[], None);
            let status = if event.status == 200 {
                event.json()["status"].as_str().unwrap_or_default().to_owned()
            } else {
                String::new()
            };
            let made = matches!(status.as_str(), "accepted" | "merged")
                .then(|| arrive::read_case_at(client, &keys, &id))
                .flatten();
            (sent, id, status, made)
        });
        for (sent, id, status, made) in found {
            match (status.as_str(), made) {
                ("pending" | "", _) | (_, None) => self.queued.push((sent, id)),
                (_, Some((made, assigned_at))) => {
                    self.tally.retried_events += 1;
                    self.make(sent, id, made, assigned_at.unwrap_or(self.now));
                }
            }
        }
    }

    /// One step's work, all at once over the clients: the arrivals sent, the people's
    /// planned steps done, and hourly the sweep racing them. Then the results
    /// are taken into the record: the people's first, so that a report that repeats a case
    /// closed in the same step is judged against the case's state before and after.
    fn step_all(&mut self, arrivals: Vec<crate::traffic::Arrival>, faults: &mut Faults) {
        let now = self.now;
        let arrivals = faults.attack(self, arrivals);
        let due = (0..self.cases.len()).filter(|&i| self.cases[i].plan.is_some_and(|(t, _)| t <= now));
        let mut jobs: Vec<Job> = due.map(|i| Job::Act(i, Box::new(self.cases[i].clone()))).collect();
        jobs.extend(arrivals.into_iter().map(|a| Job::Send(Box::new(a))));
        self.tally.requests += jobs.len();
        let keys = self.system.keys.clone();
        let sweep_now = self.tally.steps.is_multiple_of(SWEEP_EVERY);
        let bases = self.system.bases();
        let scheduler = keys.scheduler.clone();
        let (results, swept) = std::thread::scope(|s| {
            let sweep = sweep_now.then(|| s.spawn(|| sweep(&Client::new(bases.clone()), &scheduler)));
            faults.during_actions(s, &self.system);
            let results = crate::parallel::each(&mut self.clients, jobs, |client, job| match job {
                Job::Act(i, case) => {
                    let mut met = Met::default();
                    let case = actions::run(client, &keys, now, *case, &mut met);
                    Done::Acted(i, Box::new(case), met)
                }
                Job::Send(arrival) => {
                    let mut counts = Counts::default();
                    let outcomes = arrive::send(client, &keys, now, *arrival, &mut counts);
                    Done::Sent(outcomes, counts)
                }
            });
            (results, sweep.map(|h| h.join().expect("the sweep")))
        });
        self.before.clear();
        let mut sent = Vec::new();
        for done in results {
            match done {
                Done::Acted(i, case, met) => {
                    let mut case = *case;
                    self.before.insert(i, self.cases[i].state);
                    let matter = &self.catalogue.matters[&case.record.category];
                    if case.plan.is_none() {
                        case.plan_next(now, matter, self.calendar);
                    } else if case.plan.is_some_and(|(t, _)| t <= now) {
                        // Not done: again at the next step.
                        case.plan = case.plan.map(|(_, p)| (now + Duration::minutes(STEP_MINUTES), p));
                    }
                    self.cases[i] = case;
                    self.tally.met.merge(met);
                }
                Done::Sent(outcomes, counts) => {
                    self.tally.arrivals.retries += counts.retries;
                    self.tally.arrivals.replays += counts.replays;
                    sent.extend(outcomes);
                }
            }
        }
        for outcome in sent {
            self.register(outcome, None);
        }
        self.before.clear();
        if let Some((escalated, requests)) = swept {
            self.tally.sweeps += 1;
            self.tally.requests += requests;
            if escalated > 0 {
                self.tally.swept_escalations += escalated;
                self.take_escalations();
            }
        }
    }

    /// Whether case `i` was open before this step and after it (both, for a repeat that
    /// must merge), or at either time (one, for a merge that may have happened).
    fn open_before_and_after(&self, i: usize) -> (bool, bool) {
        let after = self.cases[i].state.is_open();
        let before = self.before.get(&i).map_or(after, |s| s.is_open());
        (before && after, before || after)
    }

    /// Cases the sweep escalated (督办：超期未办结): the centre will assign them on.
    fn take_escalations(&mut self) {
        let mut cursor: Option<String> = None;
        let client = &self.clients[0];
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/cases?status=escalated&limit=500&cursor={c}"),
                None => "/v1/cases?status=escalated&limit=500".to_owned(),
            };
            let page = client.send("GET", &path, &self.system.keys.centre, &[], None).json();
            for item in page["items"].as_array().or(page["cases"].as_array()).cloned().unwrap_or_default() {
                let Some(&i) = item["id"].as_str().and_then(|id| self.by_id.get(id)) else { continue };
                let case = &mut self.cases[i];
                if case.state != State::Escalated {
                    case.record.steps.push(Step::Escalated { at: self.now });
                    case.state = State::Escalated;
                    let matter = &self.catalogue.matters[&case.record.category];
                    case.plan_next(self.now, matter, self.calendar);
                }
            }
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
    }

    /// The cron's `retry-pending`, while events are due.
    pub fn retry_pending(&mut self) {
        for _ in 0..20 {
            let reply = self.clients[0].send(
                "POST",
                "/v1/events/retry-pending?limit=500",
                &self.system.keys.scheduler,
                &[],
                None,
            );
            self.tally.requests += 1;
            if reply.status != 200 || reply.json()["more_due"] != true {
                break;
            }
        }
    }

    /// The cron's dispatch, while messages are due. Returns the last answer.
    pub fn dispatch(&mut self) -> Value {
        let mut last = Value::Null;
        for _ in 0..50 {
            let reply = self.clients[0].send(
                "POST",
                "/v1/notifications/dispatch?limit=1000",
                &self.system.keys.scheduler,
                &[],
                None,
            );
            self.tally.requests += 1;
            if reply.status != 200 {
                break;
            }
            last = reply.json();
            self.tally.dispatched += last["delivered"].as_u64().unwrap_or(0) as usize;
            if last["more"] != true {
                break;
            }
        }
        last
    }

    /// The platform team after an outage: every dead letter that died of the outage (an
    /// answer `5xx` or no answer) is requeued; those refused for good stay dead. Returns
    /// how many were requeued.
    pub fn requeue_dead(&mut self) -> usize {
        let key = self.system.keys.operations.clone();
        let mut requeued = 0;
        let mut cursor: Option<String> = None;
        let mut dead = Vec::new();
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/notifications/dead?limit=500&cursor={c}"),
                None => "/v1/notifications/dead?limit=500".to_owned(),
            };
            let page = self.clients[0].send("GET", &path, &key, &[], None).json();
            dead.extend(page["items"].as_array().cloned().unwrap_or_default());
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        for d in dead {
            let error = d["last_error"].as_str().unwrap_or_default();
            let outage = ["500", "502", "503", "scripted failure"].iter().any(|m| error.contains(m));
            if outage {
                let href = d["requeue"]["href"].as_str().unwrap_or_default();
                let reply = self.clients[0].send("POST", href, &key, &[], None);
                self.tally.requests += 1;
                if reply.status == 200 {
                    requeued += 1;
                } else {
                    self.tally.anomalies.push(format!("requeue {href}: {} {}", reply.status, reply.body));
                }
            }
        }
        self.tally.requeued += requeued;
        requeued
    }

    /// Runs the sweep now (outside the people's step), taking its escalations.
    pub fn sweep_now(&mut self) {
        let (escalated, requests) = sweep(&self.clients[0], &self.system.keys.scheduler);
        self.tally.requests += requests;
        self.tally.sweeps += 1;
        if escalated > 0 {
            self.tally.swept_escalations += escalated;
            self.take_escalations();
        }
    }

    /// Every case's counts by a key, as the driver expects them.
    pub fn expected_by(&self, key: impl Fn(&Case) -> String) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for case in &self.cases {
            *counts.entry(key(case)).or_default() += 1;
        }
        counts
    }
}

/// One piece of a step's work.
enum Job {
    /// A case's planned step (the case as it was before it).
    Act(usize, Box<Case>),
    /// One request's worth of arrivals.
    Send(Box<crate::traffic::Arrival>),
}

/// What a piece of work came back with.
enum Done {
    Acted(usize, Box<Case>, Met),
    Sent(Vec<Outcome>, Counts),
}

/// One sweep, following its cursor: (cases escalated, requests made).
fn sweep(client: &Client, scheduler: &str) -> (usize, usize) {
    let (mut escalated, mut requests) = (0, 0);
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/v1/cases/sweep?limit=2000&cursor={c}"),
            None => "/v1/cases/sweep?limit=2000".to_owned(),
        };
        let reply = client.send("POST", &path, scheduler, &[], None);
        requests += 1;
        if reply.status != 200 {
            break;
        }
        let answer = reply.json();
        escalated += answer["escalated"].as_u64().unwrap_or(0) as usize;
        cursor = answer["next_cursor"].as_str().map(str::to_owned);
        if answer["more"] != true || cursor.is_none() {
            break;
        }
    }
    (escalated, requests)
}

impl Met {
    fn merge(&mut self, other: Met) {
        self.done += other.done;
        self.races += other.races;
        self.races_one_winner += other.races_one_winner;
        self.races_undecided += other.races_undecided;
        self.reconciled += other.reconciled;
        self.unavailable += other.unavailable;
        self.lost_answers += other.lost_answers;
        self.anomalies.extend(other.anomalies);
    }
}
