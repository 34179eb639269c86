//! Case states and the transitions between them, and who may act on a case (`docs/lifecycle.md`).
//! Anything not in the table is a conflict that names the current state.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use wangge_core::migrations::Sql;

use crate::store::{Actor, Case, CaseError, staff};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 已上报
    Reported,
    /// 已受理/立案
    Accepted,
    /// 不予受理 (terminal)
    Rejected,
    /// 重复合并 (terminal)
    Merged,
    /// 已交办
    Assigned,
    /// 处置中
    InProgress,
    /// 已退回
    Returned,
    /// 已上报上级 (吹哨)
    Escalated,
    /// 已处置
    Resolved,
    /// 已结案
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Reported => "reported",
            State::Accepted => "accepted",
            State::Rejected => "rejected",
            State::Merged => "merged",
            State::Assigned => "assigned",
            State::InProgress => "in_progress",
            State::Returned => "returned",
            State::Escalated => "escalated",
            State::Resolved => "resolved",
            State::Closed => "closed",
        }
    }

    /// Whether the case is still open (not rejected, merged or closed).
    pub fn is_open(self) -> bool {
        !matches!(self, State::Rejected | State::Merged | State::Closed)
    }
}

/// What an actor does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The centre accepts the report (受理/立案).
    Accept,
    /// The centre rejects it (不予受理).
    Reject,
    /// The report duplicates an open case and joins it (合并).
    Merge,
    /// The centre assigns the case to a grid or a department (交办); deadlines start.
    Assign,
    /// The centre assigns an assigned case elsewhere (改派).
    Reassign,
    /// The assignee signs for it (签收).
    Sign,
    /// The assignee returns it to the centre (退回).
    Return,
    /// Up one level (吹哨上报).
    Escalate,
    /// The handler reports it resolved (处置完毕).
    Resolve,
    /// The centre's check passes (核查通过): closed.
    VerifyPass,
    /// The centre's check fails (核查不通过): back to work.
    VerifyFail,
    /// The reporter rates the result "dissatisfied" (不满意).
    RateDissatisfied,
    /// A remark on an open case (备注); the state stays.
    Comment,
    /// The centre corrects the case's category (改类) before it is assigned: the state and
    /// the deadlines stay (deadlines are set at assignment, from the category then).
    Recategorize,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Merge => "merge",
            Action::Assign => "assign",
            Action::Reassign => "reassign",
            Action::Sign => "sign",
            Action::Return => "return",
            Action::Escalate => "escalate",
            Action::Resolve => "resolve",
            Action::VerifyPass => "verify_pass",
            Action::VerifyFail => "verify_fail",
            Action::RateDissatisfied => "rate_dissatisfied",
            Action::Comment => "comment",
            Action::Recategorize => "recategorize",
        }
    }
}

/// Who a case is assigned to (交办对象), and so the level that handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeKind {
    /// A grid and its staff (网格).
    Grid,
    /// A functional department (职能部门).
    Department,
}

/// How far up a case has been escalated (上报上级), one level at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// The community (社区), first above the grid.
    Community,
    /// The town's command centre (街道/镇).
    Town,
    /// The district's command centre (区).
    District,
    /// The city's command centre (市), the top.
    City,
}

impl EscalationLevel {
    /// One level up from `current` (the grid, when never escalated); the city stays the city.
    pub fn above(current: Option<EscalationLevel>) -> EscalationLevel {
        match current {
            None => EscalationLevel::Community,
            Some(EscalationLevel::Community) => EscalationLevel::Town,
            Some(EscalationLevel::Town) => EscalationLevel::District,
            Some(EscalationLevel::District | EscalationLevel::City) => EscalationLevel::City,
        }
    }
}

/// The wire and database strings of the small enums above, parsed in one place.
macro_rules! strings {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The string stored and sent.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} `{other}`", stringify!($name))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use strings;

strings!(AssigneeKind { Grid => "grid", Department => "department" });
strings!(EscalationLevel { Community => "community", Town => "town", District => "district", City => "city" });

/// What the transition table needs to know besides the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// Seconds since the case was closed, when it is.
    pub seconds_since_closed: Option<i64>,
    /// Whether a "dissatisfied" rating has reopened it before.
    pub reopened_by_rating: bool,
}

/// A rating reopens a closed case only within this many days.
pub const RATING_WINDOW_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    #[error("a case that is {} cannot be {}", .state.as_str(), .action.as_str())]
    NotAllowed { state: State, action: Action },
    #[error("the rating window of {RATING_WINDOW_DAYS} days has passed")]
    RatingWindowPassed,
    #[error("a dissatisfied rating reopens a case only once")]
    AlreadyReopened,
}

/// The outcome of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: State,
    /// Back to work after verification failed or the reporter was dissatisfied (返工).
    pub rework: bool,
}

/// The transition table of docs/lifecycle.md.
pub fn apply(state: State, action: Action, facts: Facts) -> Result<Transition, TransitionError> {
    use Action as A;
    use State as S;
    let to = |to| Ok(Transition { to, rework: false });
    match (state, action) {
        (s, A::Comment) if s.is_open() => to(s),
        // 改类: only while the centre still decides where the case goes — before an
        // assignment, or back with the centre after a return or an escalation (the states
        // it assigns from). The state does not change.
        (s @ (S::Reported | S::Accepted | S::Returned | S::Escalated), A::Recategorize) => to(s),
        (S::Reported, A::Accept) => to(S::Accepted),
        (S::Reported | S::Accepted | S::Returned, A::Reject) => to(S::Rejected),
        (S::Reported | S::Accepted, A::Merge) => to(S::Merged),
        (S::Accepted | S::Returned | S::Escalated, A::Assign) => to(S::Assigned),
        (S::Assigned, A::Reassign) => to(S::Assigned),
        (S::Assigned, A::Sign) => to(S::InProgress),
        (S::Assigned, A::Return) => to(S::Returned),
        (S::Accepted | S::Assigned | S::Returned | S::InProgress | S::Escalated, A::Escalate) => to(S::Escalated),
        (S::InProgress, A::Resolve) => to(S::Resolved),
        (S::Resolved, A::VerifyPass) => to(S::Closed),
        (S::Resolved, A::VerifyFail) => Ok(Transition { to: S::InProgress, rework: true }),
        (S::Closed, A::RateDissatisfied) => {
            if facts.reopened_by_rating {
                Err(TransitionError::AlreadyReopened)
            } else if facts.seconds_since_closed.is_none_or(|s| s > RATING_WINDOW_DAYS * 86_400) {
                Err(TransitionError::RatingWindowPassed)
            } else {
                Ok(Transition { to: S::InProgress, rework: true })
            }
        }
        (state, action) => Err(TransitionError::NotAllowed { state, action }),
    }
}

/// Who may do what ("Who may act"): a centre anything but the handler's own steps
/// within its region (and only a centre recategorizes, 改类); a department or the grid's
/// staff the handler's steps on a case assigned to them; the reporter only a rating or a
/// comment; automatic routing nothing by request.
pub fn authorize(db: &impl Sql, case: &Case, actor: &Actor, action: Action) -> Result<(), CaseError> {
    use Action as A;
    let handler = matches!(action, A::Sign | A::Return | A::Resolve | A::Escalate | A::Comment);
    let allowed = match actor {
        Actor::Centre(region) => {
            case.community.starts_with(region.as_str())
                && !matches!(action, A::Sign | A::Resolve | A::Return | A::RateDissatisfied)
        }
        Actor::Department(code) => {
            handler && case.assignee_kind == Some(AssigneeKind::Department) && case.assignee.as_deref() == Some(code)
        }
        Actor::Staff(id) => {
            let grid_level = case.assignee_kind != Some(AssigneeKind::Department);
            let listed = staff(db, &case.id)?.iter().any(|s| &s.staff_id == id);
            listed && grid_level && handler
        }
        Actor::Reporter => matches!(action, A::RateDissatisfied | A::Comment),
        Actor::System => false,
    };
    if allowed { Ok(()) } else { Err(CaseError::Forbidden { role: actor.role(), actor: actor.id(), action }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use State as S;

    const ALL_STATES: [State; 10] = [
        S::Reported,
        S::Accepted,
        S::Rejected,
        S::Merged,
        S::Assigned,
        S::InProgress,
        S::Returned,
        S::Escalated,
        S::Resolved,
        S::Closed,
    ];
    const ALL_ACTIONS: [Action; 14] = [
        A::Accept,
        A::Reject,
        A::Merge,
        A::Assign,
        A::Reassign,
        A::Sign,
        A::Return,
        A::Escalate,
        A::Resolve,
        A::VerifyPass,
        A::VerifyFail,
        A::RateDissatisfied,
        A::Comment,
        A::Recategorize,
    ];

    /// docs/lifecycle.md's table, written out: (from, action, to).
    const TABLE: &[(State, Action, State)] = &[
        (S::Reported, A::Accept, S::Accepted),
        (S::Reported, A::Reject, S::Rejected),
        (S::Reported, A::Merge, S::Merged),
        (S::Accepted, A::Assign, S::Assigned),
        (S::Accepted, A::Escalate, S::Escalated),
        (S::Accepted, A::Merge, S::Merged),
        (S::Accepted, A::Reject, S::Rejected),
        (S::Assigned, A::Sign, S::InProgress),
        (S::Assigned, A::Return, S::Returned),
        (S::Assigned, A::Escalate, S::Escalated),
        (S::Assigned, A::Reassign, S::Assigned),
        (S::Returned, A::Assign, S::Assigned),
        (S::Returned, A::Escalate, S::Escalated),
        (S::Returned, A::Reject, S::Rejected),
        (S::InProgress, A::Resolve, S::Resolved),
        (S::InProgress, A::Escalate, S::Escalated),
        (S::Escalated, A::Assign, S::Assigned),
        (S::Escalated, A::Escalate, S::Escalated),
        (S::Resolved, A::VerifyPass, S::Closed),
        (S::Resolved, A::VerifyFail, S::InProgress),
        (S::Closed, A::RateDissatisfied, S::InProgress),
        // 改类 while the centre decides where the case goes; the state stays.
        (S::Reported, A::Recategorize, S::Reported),
        (S::Accepted, A::Recategorize, S::Accepted),
        (S::Returned, A::Recategorize, S::Returned),
        (S::Escalated, A::Recategorize, S::Escalated),
    ];

    #[test]
    fn exactly_the_table_is_allowed() {
        let facts = Facts { seconds_since_closed: Some(3600), reopened_by_rating: false };
        for state in ALL_STATES {
            for action in ALL_ACTIONS {
                let expected = if action == A::Comment && state.is_open() {
                    Some(state)
                } else {
                    TABLE.iter().find(|(s, a, _)| *s == state && *a == action).map(|(_, _, to)| *to)
                };
                let got = apply(state, action, facts).ok().map(|t| t.to);
                assert_eq!(got, expected, "{state:?} + {action:?}");
            }
        }
    }

    #[test]
    fn recategorize_is_refused_once_the_case_is_with_its_handler_or_done() {
        for state in [S::Assigned, S::InProgress, S::Resolved, S::Closed, S::Rejected, S::Merged] {
            assert_eq!(
                apply(state, A::Recategorize, Facts::default()),
                Err(TransitionError::NotAllowed { state, action: A::Recategorize }),
                "{state:?}"
            );
        }
        assert_eq!(A::Recategorize.as_str(), "recategorize");
        assert_eq!(serde_json::from_value::<Action>("recategorize".into()).unwrap(), A::Recategorize);
    }

    #[test]
    fn rework_and_the_rating_window() {
        assert!(apply(S::Resolved, A::VerifyFail, Facts::default()).unwrap().rework);
        let within = Facts { seconds_since_closed: Some(7 * 86_400), reopened_by_rating: false };
        assert!(apply(S::Closed, A::RateDissatisfied, within).unwrap().rework);
        let late = Facts { seconds_since_closed: Some(7 * 86_400 + 1), reopened_by_rating: false };
        assert_eq!(apply(S::Closed, A::RateDissatisfied, late), Err(TransitionError::RatingWindowPassed));
        let again = Facts { seconds_since_closed: Some(60), reopened_by_rating: true };
        assert_eq!(apply(S::Closed, A::RateDissatisfied, again), Err(TransitionError::AlreadyReopened));
    }

    #[test]
    fn conflicts_name_the_current_state() {
        let e = apply(S::Closed, A::Sign, Facts::default()).unwrap_err();
        assert_eq!(e.to_string(), "a case that is closed cannot be sign");
    }

    #[test]
    fn the_small_enums_keep_their_wire_and_database_strings() {
        use crate::reference::Priority;
        fn round_trip<T>(value: T, text: &str)
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + std::str::FromStr + std::fmt::Display,
        {
            assert_eq!(value.to_string(), text);
            assert_eq!(text.parse::<T>().ok(), Some(value));
            assert_eq!(serde_json::to_value(value).unwrap(), text);
        }
        round_trip(AssigneeKind::Grid, "grid");
        round_trip(AssigneeKind::Department, "department");
        round_trip(EscalationLevel::Community, "community");
        round_trip(EscalationLevel::Town, "town");
        round_trip(EscalationLevel::District, "district");
        round_trip(EscalationLevel::City, "city");
        round_trip(Priority::Normal, "normal");
        round_trip(Priority::High, "high");
        round_trip(Priority::Urgent, "urgent");
        assert!("Urgent".parse::<Priority>().is_err(), "parsed exactly, never guessed");
        let levels: Vec<EscalationLevel> =
            std::iter::successors(Some(EscalationLevel::above(None)), |l| Some(EscalationLevel::above(Some(*l))))
                .take(5)
                .collect();
        use EscalationLevel as L;
        assert_eq!(levels, [L::Community, L::Town, L::District, L::City, L::City]);
    }
}
