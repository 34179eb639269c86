//! The people (人): what grid staff, departments, the command centres and reporters do
//! with each case, and when. Each case draws its own choices once, from its own random
//! stream, when it is made; its next step is planned from the deadlines the driver
//! computes itself ([`crate::oracle`]).
//!
//! The choices, per case:
//! - the centre triages a waiting report within 10 to 90 minutes from 08:00 to 22:00
//!   (else from 08:00): accepts and assigns it to its grid when the grid may resolve the
//!   matter, else to its department; rejects 3 % (general enquiries: 20 %);
//! - the assignee signs in the first 60 % of the respond time, or, one in ten, late;
//!   one in fifty is signed by two staff at once (two actors racing);
//! - one grid case in a hundred is returned to the centre (退回), which assigns it again;
//! - one grid case in twenty-five is escalated to its department (吹哨, 部门报到);
//! - the assignee resolves in time (85 %), late (12 %: by a tenth to nine tenths of the
//!   time allowed, before supervision escalates it), or not at all (3 %: the sweep's
//!   supervision then escalates it, and the centre sends it to a department); matters due
//!   within a day are overrun more often: 70 %, 22 %, 8 %;
//! - the centre checks a resolution 30 minutes to 8 hours later; 8 % fail (返工);
//! - a reporter who is not staff rates 3 % of closed cases dissatisfied within 5 days.

use chrono::{DateTime, Duration, Timelike, Utc};

use crate::oracle::calendar::WorkCalendar;
use crate::oracle::catalogue::Matter;
use crate::record::{Assignee, CaseRecord, Source, Step};
use crate::rng::Rng;
use crate::traffic::Sent;

/// A case's state: the lifecycle's own names (the driver checks transitions against its
/// own table in [`crate::ledger`], not this type).
pub use wangge_cases::lifecycle::State;

/// A state as case-routing answers it (`"in_progress"`, …).
pub fn parse_state(s: &str) -> Option<State> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// What someone does next with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The centre accepts and assigns a waiting report, or rejects it (立案 / 不予受理).
    Triage,
    /// The centre assigns a returned or escalated case (to a department).
    Assign,
    /// The assignee signs for it (签收); `twice`: two of them at once.
    Sign { twice: bool },
    /// The grid says it is not theirs (退回).
    Return,
    /// The grid blows the whistle to the department (吹哨, 部门报到).
    Escalate,
    /// The assignee reports it resolved (已处置).
    Resolve,
    /// The centre checks the resolution (核查): passes, or fails it (返工).
    Verify { pass: bool },
    /// The reporter rates it dissatisfied (不满意), reopening it.
    Rate,
}

/// How an assignee paces the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Within the resolve deadline.
    OnTime,
    /// After it.
    Late,
    /// Not at all: left to supervision.
    Never,
}

/// One case as the driver runs it.
#[derive(Debug, Clone)]
pub struct Case {
    pub record: CaseRecord,
    pub sent: Sent,
    pub state: State,
    /// The district's code prefix (the centre that acts on it), e.g. `320613`.
    pub centre: String,
    /// The grid worker and the community's grid head who act for a grid.
    pub staff: (String, String),
    /// The department this matter goes to (its kind, in the case's town or district).
    pub department: Option<String>,
    /// Whether the grid may resolve the matter itself (准入清单).
    pub grid_may_resolve: bool,
    pub plan: Option<(DateTime<Utc>, Plan)>,
    pub rng: Rng,
    pub pace: Pace,
    /// Checks still to fail (返工), escalation and return still to do, rating to give.
    pub fails_left: u8,
    pub will_escalate: bool,
    pub will_return: bool,
    pub will_rate: bool,
    pub will_reject: bool,
}

impl Case {
    /// The choices a new case draws once. `hurried`: a matter due within a day (the
    /// urgent ones, 4 to 24 hours), which are overrun more often.
    pub fn draw(&mut self, general: bool, hurried: bool) {
        let r = &mut self.rng;
        let (on_time, late) = if hurried { (0.70, 0.92) } else { (0.85, 0.97) };
        self.will_reject = r.chance(if general { 0.20 } else { 0.03 });
        self.will_return = r.chance(0.01);
        self.will_escalate = r.chance(0.04);
        self.pace = match r.unit() {
            x if x < on_time => Pace::OnTime,
            x if x < late => Pace::Late,
            _ => Pace::Never,
        };
        self.fails_left = u8::from(r.chance(0.08));
        self.will_rate = self.sent.source != Source::GridStaff && r.chance(0.03);
    }

    /// The latest assignment: when, and to whom.
    pub fn assigned(&self) -> Option<(DateTime<Utc>, &Assignee)> {
        self.record.steps.iter().rev().find_map(|s| match s {
            Step::Assigned { at, to } => Some((*at, to)),
            _ => None,
        })
    }

    /// Plans the next step from the state the case is in at `now`.
    pub fn plan_next(&mut self, now: DateTime<Utc>, matter: &Matter, calendar: &WorkCalendar) {
        let step = |mins: i64| now + Duration::minutes(mins);
        self.plan = match self.state {
            State::Reported | State::Accepted => Some((centre_time(now, &mut self.rng), Plan::Triage)),
            State::Returned | State::Escalated => Some((centre_time(now, &mut self.rng), Plan::Assign)),
            State::Assigned => {
                let (at, to) =
                    self.assigned().map(|(at, to)| (at, to.clone())).unwrap_or((now, Assignee::Grid(String::new())));
                if self.will_return && matches!(to, Assignee::Grid(_)) {
                    self.will_return = false;
                    Some((step(20 + self.rng.below(100) as i64), Plan::Return))
                } else {
                    let due = calendar.deadline(at, matter.respond_within);
                    let late = self.rng.chance(0.10);
                    let when = if late {
                        due + Duration::minutes(10 + self.rng.below(170) as i64)
                    } else {
                        at + Duration::seconds(((due - at).num_seconds() as f64 * (0.1 + 0.5 * self.rng.unit())) as i64)
                    };
                    let twice = self.rng.chance(0.02);
                    Some((when.max(step(5)), Plan::Sign { twice }))
                }
            }
            State::InProgress => {
                let grid = matches!(self.assigned(), Some((_, Assignee::Grid(_))));
                if grid && self.will_escalate && self.department.is_some() {
                    self.will_escalate = false;
                    Some((step(60 + self.rng.below(420) as i64), Plan::Escalate))
                } else {
                    let at = self.assigned().map(|(at, _)| at).unwrap_or(now);
                    let due = calendar.deadline(at, matter.resolve_within);
                    match self.pace {
                        Pace::Never => None,
                        Pace::OnTime => {
                            let share = 0.3 + 0.6 * self.rng.unit();
                            let when = at + Duration::seconds(((due - at).num_seconds() as f64 * share) as i64);
                            Some((when.max(step(10)), Plan::Resolve))
                        }
                        Pace::Late => {
                            // Late, but before supervision escalates it (a full window past due).
                            let window = (due - at).num_seconds().max(1800) as f64;
                            let over = Duration::seconds((window * (0.1 + 0.8 * self.rng.unit())) as i64);
                            Some(((due + over).max(step(10)), Plan::Resolve))
                        }
                    }
                }
            }
            State::Resolved => {
                let pass = if self.fails_left > 0 {
                    self.fails_left -= 1;
                    false
                } else {
                    true
                };
                Some((step(30 + self.rng.below(450) as i64), Plan::Verify { pass }))
            }
            State::Closed if self.will_rate => {
                self.will_rate = false;
                Some((step(1_440 + self.rng.below(4 * 1_440) as i64), Plan::Rate))
            }
            State::Closed | State::Rejected | State::Merged => None,
        };
        // After a rework, the assignee does not leave the case again.
        if self.state == State::InProgress
            && self.pace == Pace::Never
            && self.record.steps.iter().any(|s| matches!(s, Step::Reopened { .. }))
        {
            self.pace = Pace::OnTime;
            self.plan_next(now, matter, calendar);
        }
    }
}

/// When a centre gets to a case: 10 to 90 minutes later from 08:00 to 22:00, else from 08:00.
fn centre_time(now: DateTime<Utc>, rng: &mut Rng) -> DateTime<Utc> {
    let local = now.with_timezone(&crate::oracle::calendar::shanghai());
    let wait = Duration::minutes(10 + rng.below(80) as i64);
    if (8..22).contains(&local.hour()) {
        return now + wait;
    }
    let days = if local.hour() >= 22 { 1 } else { 0 };
    let morning = (local.date_naive() + Duration::days(days)).and_hms_opt(8, 0, 0).expect("08:00");
    let morning = morning
        .and_local_timezone(crate::oracle::calendar::shanghai())
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc);
    morning + wait
}
