//! The ledger (台账), drawn up when the month is over: what the driver sent and did,
//! beside what the system holds. Any line that does not match fails the run.
//!
//! - every acknowledged event is exactly one case, or one merge into a case;
//! - every case's log verifies, and its state is reachable from `reported` by the
//!   transition table, and is the state the driver left it in;
//! - every deadline is the driver's own on the 2026 calendar ([`crate::oracle::assess::deadlines`]);
//! - every notice case-routing owed reached notification; every delivery was made exactly
//!   once to the receivers, or is dead with a reason;
//! - every grid's, community's and department's assessment is the driver's own
//!   ([`crate::oracle::assess::assess`]) to 0.01, and every rule occurred;
//! - counts by source, category, state and light.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use wangge_core::{Sql, SqlValue};

use crate::driver::Driver;
use crate::oracle::assess::{Expected, round2};

/// One line of the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub ok: bool,
}

/// The ledger: its lines, the failures found in them, and counts beside their expectation.
#[derive(Debug, Default, Serialize)]
pub struct Ledger {
    pub lines: Vec<Line>,
    pub failures: Vec<String>,
    /// By source, category, state and light: (expected, actual).
    pub counts: BTreeMap<String, BTreeMap<String, (Option<usize>, usize)>>,
}

impl Ledger {
    fn line(&mut self, what: &str, expected: impl ToString, actual: impl ToString) -> bool {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        let ok = expected == actual;
        if !ok {
            self.failures.push(format!("{what}: expected {expected}, got {actual}"));
        }
        self.lines.push(Line { what: what.to_owned(), expected, actual, ok });
        ok
    }

    fn fail_all(&mut self, what: &str, found: &[String]) {
        self.line(what, 0, found.len());
        for f in found.iter().take(20) {
            self.failures.push(format!("{what}: {f}"));
        }
    }

    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The ledger as a text table.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "ledger                                                              expected      actual   ok\n",
        );
        for l in &self.lines {
            out.push_str(&format!(
                "{:<66} {:>10} {:>11}   {}\n",
                l.what,
                l.expected,
                l.actual,
                if l.ok { "✓" } else { "✗" }
            ));
        }
        for (table, counts) in &self.counts {
            out.push_str(&format!("\ncases by {table}                      expected      actual\n"));
            for (k, (e, a)) in counts {
                let e = e.map(|e| e.to_string()).unwrap_or_else(|| "—".into());
                out.push_str(&format!(
                    "  {k:<32} {e:>10} {a:>11}{}\n",
                    if e != "—" && e != a.to_string() { "   ✗" } else { "" }
                ));
            }
        }
        if !self.failures.is_empty() {
            out.push_str(&format!("\n{} failures:\n", self.failures.len()));
            for f in self.failures.iter().take(60) {
                out.push_str(&format!("  - {f}\n"));
            }
        }
        out
    }
}

/// Draws up the ledger after the month's assessment (`period`, run at `run_at`) and the drain.
pub fn draw_up(driver: &mut Driver, period: &str, run_at: DateTime<Utc>) -> Ledger {
    let mut ledger = Ledger::default();
    events(driver, &mut ledger);
    cases(driver, &mut ledger);
    notices(driver, &mut ledger);
    assessment(driver, period, run_at, &mut ledger);
    counts(driver, &mut ledger);
    let anomalies: Vec<String> = driver.tally.anomalies.iter().chain(&driver.tally.met.anomalies).cloned().collect();
    ledger.fail_all("anomalies met during the run (refusals, wrong routing or merges)", &anomalies);
    let faults = &driver.faults;
    ledger.line(
        "hostile requests answered with their own status and code",
        faults.hostile_sent,
        faults.hostile_as_expected,
    );
    ledger.line("replayed signatures and idempotency keys refused", faults.replays_sent, faults.replays_refused);
    ledger.fail_all("fault checks that did not hold", &faults.failures.clone());
    let met = &driver.tally.met;
    ledger.line("two actors at once: races with exactly one winner", met.races, met.races_one_winner);
    ledger
}

fn rows(driver: &Driver, label: &str, sql: &str) -> Vec<Vec<SqlValue>> {
    driver.system.store(label).execute(sql, &[]).unwrap_or_else(|e| panic!("{label}: {sql}: {e}")).rows
}

fn s(v: &SqlValue) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn events(driver: &Driver, ledger: &mut Ledger) {
    let acknowledged: BTreeSet<&String> = driver.acknowledged.iter().collect();
    ledger.line("acknowledged events, each acknowledged once", driver.acknowledged.len(), acknowledged.len());
    let stored = rows(driver, "intake", "SELECT id, status FROM events");
    let by_status = stored.iter().fold(BTreeMap::<String, usize>::new(), |mut m, r| {
        *m.entry(s(&r[1])).or_default() += 1;
        m
    });
    ledger.line("intake's events (hostile ones left nothing)", acknowledged.len(), stored.len());
    ledger.line(
        "intake's events still pending or rejected",
        0,
        stored.len() - by_status.get("accepted").unwrap_or(&0) - by_status.get("merged").unwrap_or(&0),
    );
    ledger.line("queued events the driver never saw become a case", 0, driver.queued.len());
    let cases = rows(driver, "case_routing", "SELECT id FROM cases");
    let made: BTreeSet<String> = cases.iter().map(|r| s(&r[0])).collect();
    ledger.line("cases in case-routing: one per acknowledged event", acknowledged.len(), cases.len());
    let missing: Vec<String> =
        acknowledged.iter().filter(|id| !made.contains(id.as_str())).map(|id| id.to_string()).collect();
    ledger.fail_all("acknowledged events with no case (lost)", &missing);
    let extra: Vec<String> = made.iter().filter(|id| !acknowledged.contains(id)).cloned().collect();
    ledger.fail_all("cases of no acknowledged event (doubled or unasked)", &extra);
    ledger.line(
        "repeats of cases open before and after their step, merged",
        driver.tally.expected_merges,
        driver.tally.intended_merged,
    );
}

/// Each case read back: its log verified and replayed through the transition table, its
/// state, assignee and deadlines beside the driver's.
fn cases(driver: &mut Driver, ledger: &mut Ledger) {
    let stored =
        rows(driver, "case_routing", "SELECT id, state, assignee, respond_due, resolve_due, merged_into FROM cases");
    let stored: HashMap<String, Vec<SqlValue>> = stored.into_iter().map(|r| (s(&r[0]), r)).collect();
    let (catalogue, calendar) = (driver.catalogue, driver.calendar);
    let mut wrong_state = Vec::new();
    let mut wrong_deadline = Vec::new();
    let mut wrong_merge = Vec::new();
    let mut checked_deadlines = 0;
    for case in &driver.cases {
        let Some(row) = stored.get(&case.record.id) else { continue };
        if s(&row[1]) != case.state.as_str() {
            wrong_state.push(format!("{}: {} (the driver: {})", case.record.id, s(&row[1]), case.state.as_str()));
        }
        if row[5].as_str().map(str::to_owned) != case.record.merged_into {
            wrong_merge.push(format!(
                "{}: merged into {:?} (the driver: {:?})",
                case.record.id,
                row[5].as_str(),
                case.record.merged_into
            ));
        }
        if let Some((respond, resolve)) = crate::oracle::assess::deadlines(&case.record, catalogue, calendar) {
            checked_deadlines += 1;
            let same = |v: &SqlValue, t: DateTime<Utc>| {
                v.as_str().and_then(|x| DateTime::parse_from_rfc3339(x).ok()).map(|x| x.with_timezone(&Utc)) == Some(t)
            };
            if !same(&row[3], respond) || !same(&row[4], resolve) {
                wrong_deadline.push(format!(
                    "{} ({}): respond {} / {}, resolve {} / {}",
                    case.record.id,
                    case.record.category,
                    s(&row[3]),
                    crate::render(respond),
                    s(&row[4]),
                    crate::render(resolve)
                ));
            }
        }
    }
    ledger.fail_all("cases whose state is not the one the driver left", &wrong_state);
    ledger.fail_all("cases whose merge is not the one intake answered", &wrong_merge);
    ledger.line(
        "deadlines checked against the driver's 2026 calendar",
        checked_deadlines,
        checked_deadlines - wrong_deadline.len(),
    );
    ledger.fail_all("deadlines that differ from the driver's calculation", &wrong_deadline);
    // Every log through the API, as an auditor reads it.
    let ids: Vec<String> = driver.cases.iter().map(|c| c.record.id.clone()).collect();
    let key = driver.system.keys.centre.clone();
    let broken = crate::parallel::each(&mut driver.clients, ids, |client, id| {
        let reply = client.send("GET", &format!("/v1/cases/{id}/log"), &key, &[], None);
        if reply.status != 200 {
            return Some(format!("{id}: log {}", reply.status));
        }
        let log = reply.json();
        if log["verification"]["valid"] != true {
            return Some(format!("{id}: the log does not verify: {}", log["verification"]));
        }
        let stored_state = stored.get(&id).map(|r| s(&r[1])).unwrap_or_default();
        reachable(&log["entries"], &stored_state).err().map(|e| format!("{id}: {e}"))
    });
    let broken: Vec<String> = broken.into_iter().flatten().collect();
    ledger.line(
        "case logs that verify and reach their state by the table",
        driver.cases.len(),
        driver.cases.len() - broken.len(),
    );
    ledger.fail_all("case logs broken or off the transition table", &broken);
}

/// The transition table (docs/lifecycle.md): from, action → to.
const TABLE: &[(&str, &str, &str)] = &[
    ("reported", "accept", "accepted"),
    ("reported", "reject", "rejected"),
    ("reported", "merge", "merged"),
    ("accepted", "assign", "assigned"),
    ("accepted", "escalate", "escalated"),
    ("accepted", "merge", "merged"),
    ("accepted", "reject", "rejected"),
    ("assigned", "sign", "in_progress"),
    ("assigned", "return", "returned"),
    ("assigned", "escalate", "escalated"),
    ("assigned", "reassign", "assigned"),
    ("returned", "assign", "assigned"),
    ("returned", "escalate", "escalated"),
    ("returned", "reject", "rejected"),
    ("in_progress", "resolve", "resolved"),
    ("in_progress", "escalate", "escalated"),
    ("escalated", "assign", "assigned"),
    ("escalated", "escalate", "escalated"),
    ("resolved", "verify_pass", "closed"),
    ("resolved", "verify_fail", "in_progress"),
    ("closed", "rate_dissatisfied", "in_progress"),
];

/// Replays a log from `reported`: every entry a row of the table (a comment changes
/// nothing; an escalation to a department is logged as escalate then assign), ending in `state`.
fn reachable(entries: &Value, state: &str) -> Result<(), String> {
    let entries = entries.as_array().ok_or("no entries")?;
    let mut at = "reported".to_owned();
    for (n, e) in entries.iter().enumerate() {
        let (from, action, to) =
            (e["from"].as_str(), e["action"].as_str().unwrap_or_default(), e["to"].as_str().unwrap_or_default());
        if n == 0 && from.is_none() {
            // The report itself: the case begins `reported`.
            if to != "reported" {
                return Err(format!("begins in {to}"));
            }
            continue;
        }
        if from != Some(at.as_str()) {
            return Err(format!("entry {} leaves {from:?}, the case was {at}", n + 1));
        }
        let allowed = action == "comment" && from == Some(to) || TABLE.contains(&(at.as_str(), action, to));
        if !allowed {
            return Err(format!("entry {}: {at} —{action}→ {to} is not in the table", n + 1));
        }
        at = to.to_owned();
    }
    if at != state {
        return Err(format!("the log ends in {at}, the case is {state}"));
    }
    Ok(())
}

/// Notices owed, handed over, delivered exactly once or dead with a reason.
fn notices(driver: &Driver, ledger: &mut Ledger) {
    let owed = rows(driver, "case_routing", "SELECT idempotency_key, delivered_at FROM case_notices");
    let handed = owed.iter().filter(|r| r[1].as_str().is_some()).count();
    ledger.line("notices case-routing owed, handed to notification", owed.len(), handed);
    let outbox = rows(driver, "notification", "SELECT idempotency_key FROM outbox");
    let outbox: BTreeSet<String> = outbox.iter().map(|r| s(&r[0])).collect();
    let lost: Vec<String> = owed.iter().map(|r| s(&r[0])).filter(|k| !outbox.contains(k)).collect();
    ledger.line("notification's messages, one per notice owed", owed.len(), outbox.len());
    ledger.fail_all("notices owed that notification never took", &lost);
    let deliveries = rows(driver, "notification", "SELECT id, channel, address, state, last_error FROM deliveries");
    let mut by_state = BTreeMap::<String, usize>::new();
    let mut delivered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dead_without_reason = Vec::new();
    let mut wechat_delivered = 0;
    for r in &deliveries {
        let (id, channel, state) = (s(&r[0]), s(&r[1]), s(&r[3]));
        *by_state.entry(state.clone()).or_default() += 1;
        match state.as_str() {
            "delivered" if channel == "wechat" => wechat_delivered += 1,
            "delivered" => {
                delivered.entry(channel).or_default().insert(id);
            }
            "dead" if r[4].as_str().is_none_or(str::is_empty) => dead_without_reason.push(id),
            _ => {}
        }
    }
    ledger.line(
        "deliveries neither delivered nor dead (still due)",
        0,
        deliveries.len() - by_state.get("delivered").unwrap_or(&0) - by_state.get("dead").unwrap_or(&0),
    );
    ledger.fail_all("dead deliveries without a reason", &dead_without_reason);
    // What the receivers got, answered with success.
    let receivers = &driver.system.receivers;
    let got = |path: &str, id: &dyn Fn(&wangge_e2e::fake::Recorded) -> String| -> BTreeMap<String, usize> {
        receivers.requests(path).iter().filter(|r| r.status < 300).fold(BTreeMap::new(), |mut m, r| {
            *m.entry(id(r)).or_default() += 1;
            m
        })
    };
    let by_key = |r: &wangge_e2e::fake::Recorded| r.json()["idempotency_key"].as_str().unwrap_or_default().to_owned();
    let by_header = |r: &wangge_e2e::fake::Recorded| r.header("x-wangge-id").unwrap_or_default().to_owned();
    for (channel, path, id) in [
        ("sms", "/sms/send", &by_key as &dyn Fn(&wangge_e2e::fake::Recorded) -> String),
        ("hotline", "/api/work-orders/result", &by_key),
        ("webhook", "/wangge/notifications", &by_header),
    ] {
        let received = got(path, id);
        let expected = delivered.get(channel).cloned().unwrap_or_default();
        let twice: Vec<String> = received.iter().filter(|(_, n)| **n > 1).map(|(k, n)| format!("{k} ×{n}")).collect();
        let unrecorded: Vec<String> = received.keys().filter(|k| !expected.contains(*k)).cloned().collect();
        let missing: Vec<String> = expected.iter().filter(|k| !received.contains_key(*k)).cloned().collect();
        ledger.line(
            &format!("{channel}: deliveries recorded delivered, received once"),
            expected.len(),
            received.len(),
        );
        ledger.fail_all(&format!("{channel}: received more than once"), &twice);
        ledger.fail_all(&format!("{channel}: received but not recorded delivered"), &unrecorded);
        ledger.fail_all(&format!("{channel}: recorded delivered but never received"), &missing);
    }
    let wechat_received: usize = got("/cgi-bin/message/subscribe/send", &|_| String::new()).values().sum();
    ledger.line("wechat: deliveries recorded delivered = messages WeChat accepted", wechat_delivered, wechat_received);
    // The driver's own expectation: each hotline case it closed got its result back (办结反馈).
    let results = got("/api/work-orders/result", &|r| r.json()["order_no"].as_str().unwrap_or_default().to_owned());
    let closed_orders: Vec<&str> = driver
        .cases
        .iter()
        .filter(|c| c.record.steps.iter().any(|s| matches!(s, crate::record::Step::Closed { .. })))
        .filter_map(|c| c.sent.order_no.as_deref())
        .collect();
    let without: Vec<String> =
        closed_orders.iter().filter(|o| !results.contains_key(**o)).map(|o| o.to_string()).collect();
    ledger.line(
        "hotline orders closed by the driver, their result sent back",
        closed_orders.len(),
        closed_orders.len() - without.len(),
    );
    ledger.fail_all("hotline orders closed without a result sent back", &without);
}

/// The month's assessment beside the driver's own.
fn assessment(driver: &mut Driver, period: &str, run_at: DateTime<Utc>, ledger: &mut Ledger) {
    let expected: Expected = crate::oracle::assess::assess(
        period,
        run_at,
        &driver.cases.iter().map(|c| c.record.clone()).collect::<Vec<_>>(),
        driver.catalogue,
        driver.calendar,
        &driver.city.comprehensive_grids,
    );
    let key = driver.system.keys.assessment.clone();
    let client = &driver.clients[0];
    let csv = |level: &str| -> BTreeMap<String, f64> {
        let reply = client.send("GET", &format!("/v1/assessments/{period}/export.csv?level={level}"), &key, &[], None);
        reply
            .body
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Some((f.get(2)?.to_string(), f.get(4)?.parse().ok()?))
            })
            .collect()
    };
    let grids = csv("grid");
    let dedicated = csv("dedicated");
    let mut off = Vec::new();
    for (code, score) in grids.iter().chain(&dedicated) {
        let mine = round2(expected.grid_score(code));
        if (mine - score).abs() > 0.005 {
            off.push(format!("grid {code}: published {score:.2}, the driver's {mine:.2}"));
        }
    }
    ledger.line(
        "grids scored as the driver recomputes them (to 0.01)",
        grids.len() + dedicated.len(),
        grids.len() + dedicated.len() - off.len(),
    );
    let communities = csv("community");
    let mut off_c = Vec::new();
    for (code, mine) in &expected.communities {
        let mine = round2(*mine);
        match communities.get(code) {
            Some(score) if (mine - score).abs() <= 0.005 => {}
            other => off_c.push(format!("community {code}: published {other:?}, the driver's {mine:.2}")),
        }
    }
    ledger.line(
        "communities scored as the driver recomputes them",
        expected.communities.len(),
        expected.communities.len() - off_c.len(),
    );
    let answer = client.send("GET", &format!("/v1/assessments/{period}/departments"), &key, &[], None).json();
    let published: BTreeMap<String, Value> = answer["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| Some((d["department"].as_str()?.to_owned(), d)))
        .collect();
    let mut off_d = Vec::new();
    for (code, mine) in &expected.departments {
        let theirs = published.get(code);
        let due = theirs.and_then(|d| d["due"].as_u64()).unwrap_or(0) as usize;
        let score = theirs.and_then(|d| d["score"].as_f64());
        if due != mine.due || score.is_none_or(|s| (round2(s) - round2(mine.score)).abs() > 0.005) {
            off_d.push(format!(
                "department {code}: due {due}, score {score:?}; the driver's due {}, score {:.2}",
                mine.due, mine.score
            ));
        }
    }
    let extra = published
        .keys()
        .filter(|k| !expected.departments.contains_key(*k) && published[*k]["due"].as_u64().unwrap_or(0) > 0)
        .count();
    ledger.line(
        "departments with due cases, KPIs as the driver recomputes them",
        expected.departments.len(),
        expected.departments.len() - off_d.len() + extra,
    );
    off.extend(off_c);
    off.extend(off_d);
    ledger.fail_all("assessment results that differ from the driver's", &off);
    let mut by_rule = BTreeMap::<&str, usize>::new();
    for grid in expected.grids.values() {
        for d in &grid.deductions {
            *by_rule.entry(d.rule.as_str()).or_default() += 1;
        }
    }
    for rule in ["missed_discovery", "late_report", "unresolved", "rework"] {
        let n = by_rule.get(rule).copied().unwrap_or(0);
        ledger.lines.push(Line {
            what: format!("deductions for {rule} in the month (must occur)"),
            expected: "> 0".into(),
            actual: n.to_string(),
            ok: n > 0,
        });
        if n == 0 {
            ledger.failures.push(format!("no {rule} deduction occurred in the month"));
        }
    }
    driver.tally.assessment = Some(
        json!({ "grids": grids.len() + dedicated.len(), "communities": communities.len(), "departments": published.len() }),
    );
}

/// Counts by source, category, state and light: the driver's expectation beside the cases.
fn counts(driver: &mut Driver, ledger: &mut Ledger) {
    for (table, column, key) in [
        (
            "source",
            "source",
            (|c: &crate::people::Case| c.sent.source.as_str().to_owned()) as fn(&crate::people::Case) -> String,
        ),
        ("category", "category", |c| c.record.category.clone()),
        ("state", "state", |c| c.state.as_str().to_owned()),
    ] {
        let expected = driver.expected_by(key);
        let actual: BTreeMap<String, usize> =
            rows(driver, "case_routing", &format!("SELECT {column}, count(*) FROM cases GROUP BY {column}"))
                .iter()
                .map(|r| (s(&r[0]), r[1].as_i64().unwrap_or(0) as usize))
                .collect();
        let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
        let table_counts = keys
            .into_iter()
            .map(|k| (k.clone(), (Some(*expected.get(k).unwrap_or(&0)), *actual.get(k).unwrap_or(&0))))
            .collect::<BTreeMap<_, _>>();
        let differ = table_counts.iter().filter(|(_, (e, a))| *e != Some(*a)).count();
        ledger.line(&format!("counts by {table} beside the driver's"), 0, differ);
        ledger.counts.insert(table.to_owned(), table_counts);
    }
    // Lights at the ledger's instant: the driver's own beside the lists' (`?light=`).
    let now = driver.now;
    let mut expected = BTreeMap::<String, usize>::new();
    for case in &driver.cases {
        let waiting = case.state == crate::people::State::Assigned;
        let light = crate::oracle::supervision::light(
            &case.record,
            waiting,
            case.state.is_open(),
            driver.catalogue,
            driver.calendar,
            now,
        );
        if let Some(light) = light {
            *expected.entry(light.as_str().to_owned()).or_default() += 1;
        }
    }
    let key = driver.system.keys.centre.clone();
    let mut lights = BTreeMap::new();
    let mut differ = 0;
    for light in ["green", "yellow", "red"] {
        let mut n = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/cases?light={light}&limit=500&cursor={c}"),
                None => format!("/v1/cases?light={light}&limit=500"),
            };
            let page = driver.clients[0].send("GET", &path, &key, &[], None).json();
            n += page["items"].as_array().or(page["cases"].as_array()).map_or(0, Vec::len);
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        let e = expected.get(light).copied().unwrap_or(0);
        differ += usize::from(e != n);
        lights.insert(light.to_owned(), (Some(e), n));
    }
    ledger.line("counts by light beside the driver's", 0, differ);
    ledger.counts.insert("light".into(), lights);
}
