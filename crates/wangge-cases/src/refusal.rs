//! Why case-routing refuses a request, as enums with stable codes and text in both of
//! the client's languages (zh-CN and en): the function answers in the one the client's
//! `Accept-Language` asks for, through `From<CaseError> for Problem`.

use wangge_core::problem::Text;
use wangge_core::{ErrorCode, Problem};

use crate::lifecycle::{Action, RATING_WINDOW_DAYS, State, TransitionError};
use crate::store::CaseError;

/// Why a request about a case is unacceptable (422 `validation_failed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The report's source is not one case-routing knows.
    UnknownSource(String),
    /// The catalogue names a priority that is not one of ours.
    UnknownPriority(String),
    /// A time that is not RFC 3339: which field, and what came.
    NotATime(&'static str, String),
    /// A merge that names no case to merge into.
    MergeWithoutTarget,
    /// A merge into something that is not another open case.
    NotAnotherOpenCase(String),
    /// An assignment that names neither a grid nor a department.
    AssignWithoutTarget,
    /// An assignment to a case rather than to a grid or a department.
    AssignToCase,
    /// The case's category has left the catalogue.
    CategoryGone(String),
    /// The category's deadlines cannot be read.
    UnreadableDeadlines(String),
    /// A grid that is not the case's own.
    NotThisCasesGrid(String),
    /// No department has that code.
    NoDepartment(String),
    /// A recategorization (改类) that names no category.
    RecategorizeWithoutCategory,
    /// A category that is not in the catalogue of matters.
    UnknownCategory(String),
    /// A recategorization to the category the case already has.
    CategoryUnchanged(String),
}

impl Invalid {
    /// Its stable code (the problem's `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::UnknownSource(_) => "unknown_source",
            Invalid::UnknownPriority(_) => "unknown_priority",
            Invalid::NotATime(..) => "not_a_time",
            Invalid::MergeWithoutTarget => "merge_without_target",
            Invalid::NotAnotherOpenCase(_) => "not_another_open_case",
            Invalid::AssignWithoutTarget => "assign_without_target",
            Invalid::AssignToCase => "assign_to_case",
            Invalid::CategoryGone(_) => "category_gone",
            Invalid::UnreadableDeadlines(_) => "unreadable_deadlines",
            Invalid::NotThisCasesGrid(_) => "not_this_cases_grid",
            Invalid::NoDepartment(_) => "no_department",
            Invalid::RecategorizeWithoutCategory => "category_missing",
            Invalid::UnknownCategory(_) => "unknown_category",
            Invalid::CategoryUnchanged(_) => "category_unchanged",
        }
    }

    pub fn text(&self) -> Text {
        match self {
            Invalid::UnknownSource(s) => Text::new(format!("unknown source `{s}`"), format!("未知的来源 `{s}`")),
            Invalid::UnknownPriority(p) => {
                Text::new(format!("unknown priority `{p}`"), format!("未知的紧急程度 `{p}`"))
            }
            Invalid::NotATime(field, value) => Text::new(
                format!("{field} `{value}` is not an RFC 3339 time"),
                format!("{field} `{value}` 不是 RFC 3339 时间"),
            ),
            Invalid::MergeWithoutTarget => Text::new(
                "merge needs a target: the open case this one duplicates",
                "合并需要目标：本案所重复的在办案件",
            ),
            Invalid::NotAnotherOpenCase(id) => {
                Text::new(format!("`{id}` is not another open case"), format!("`{id}` 不是另一件在办案件"))
            }
            Invalid::AssignWithoutTarget => {
                Text::new("assign needs a target: a grid or a department", "交办需要目标：网格或部门")
            }
            Invalid::AssignToCase => {
                Text::new("assign a grid or a department, not a case", "只能交办给网格或部门，不能交办给案件")
            }
            Invalid::CategoryGone(c) => {
                Text::new(format!("category {c} is no longer in the catalogue"), format!("事项 {c} 已不在事项目录中"))
            }
            Invalid::UnreadableDeadlines(c) => {
                Text::new(format!("category {c} has unreadable deadlines"), format!("事项 {c} 的时限无法识别"))
            }
            Invalid::NotThisCasesGrid(g) => {
                Text::new(format!("grid {g} is not this case's grid"), format!("网格 {g} 不是本案所属网格"))
            }
            Invalid::NoDepartment(d) => Text::new(format!("no department `{d}`"), format!("没有部门 `{d}`")),
            Invalid::RecategorizeWithoutCategory => {
                Text::new("recategorize needs a category: the case's new one", "改类需要类别：案件的新事项类别")
            }
            Invalid::UnknownCategory(c) => {
                Text::new(format!("no category `{c}` in the catalogue of matters"), format!("事项目录中没有类别 `{c}`"))
            }
            Invalid::CategoryUnchanged(c) => {
                Text::new(format!("the case is already of category {c}"), format!("案件已属于事项 {c}"))
            }
        }
    }
}

/// Why an action does not fit the case now (409 `conflict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// `If-Match` named a version the case has moved on from.
    Version { expected: i64 },
    /// The lifecycle does not allow the action in the case's state.
    Transition(TransitionError),
    /// The case changed between reading and writing it.
    Changed,
}

impl Clash {
    /// Its stable code (the problem's `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Clash::Version { .. } => "version_mismatch",
            Clash::Changed => "changed",
            Clash::Transition(TransitionError::NotAllowed { .. }) => "not_allowed_in_state",
            Clash::Transition(TransitionError::RatingWindowPassed) => "rating_window_passed",
            Clash::Transition(TransitionError::AlreadyReopened) => "already_reopened",
        }
    }

    pub fn text(&self, version: i64) -> Text {
        match self {
            Clash::Version { expected } => Text::new(
                format!("the case is at version {version}, not {expected}"),
                format!("案件当前版本为 {version}，不是 {expected}"),
            ),
            Clash::Changed => Text::new("the case changed; read it again", "案件已被更改，请重新读取"),
            Clash::Transition(TransitionError::NotAllowed { state, action }) => Text::new(
                format!("a case that is {} cannot be {}", state.as_str(), action.as_str()),
                format!("{}的案件不能{}", state_zh(*state), action_zh(*action)),
            ),
            Clash::Transition(TransitionError::RatingWindowPassed) => Text::new(
                format!("the rating window of {RATING_WINDOW_DAYS} days has passed"),
                format!("已超过 {RATING_WINDOW_DAYS} 天的评价期限"),
            ),
            Clash::Transition(TransitionError::AlreadyReopened) => {
                Text::new("a dissatisfied rating reopens a case only once", "不满意评价只能重启案件一次")
            }
        }
    }
}

/// A state as centre staff say it.
pub fn state_zh(state: State) -> &'static str {
    match state {
        State::Reported => "已上报",
        State::Accepted => "已受理",
        State::Rejected => "不予受理",
        State::Merged => "已合并",
        State::Assigned => "已交办",
        State::InProgress => "处置中",
        State::Returned => "已退回",
        State::Escalated => "已吹哨上报",
        State::Resolved => "已处置",
        State::Closed => "已结案",
    }
}

/// An action as centre staff say it.
pub fn action_zh(action: Action) -> &'static str {
    match action {
        Action::Accept => "受理",
        Action::Reject => "不予受理",
        Action::Merge => "合并",
        Action::Assign => "交办",
        Action::Reassign => "改派",
        Action::Sign => "签收",
        Action::Return => "退回",
        Action::Escalate => "吹哨上报",
        Action::Resolve => "处置完毕",
        Action::VerifyPass => "核查通过",
        Action::VerifyFail => "核查不通过",
        Action::RateDissatisfied => "评价不满意",
        Action::Comment => "备注",
        Action::Recategorize => "改类",
    }
}

/// The answer to a refused request, in both languages; the function picks the client's.
impl From<CaseError> for Problem {
    fn from(e: CaseError) -> Problem {
        match e {
            CaseError::NotFound => Problem::new(ErrorCode::NotFound).with_detail("no such case", "案件不存在"),
            CaseError::Conflict { state, version, clash } => {
                let text = clash.text(version);
                Problem::new(ErrorCode::Conflict)
                    .with_detail(text.en, text.zh)
                    .with_extension("reason", clash.code())
                    .with_extension("current_state", state.as_str())
                    .with_extension("current_version", version)
            }
            CaseError::Forbidden { role, actor, action } => Problem::new(ErrorCode::ActorForbidden)
                .with_detail(
                    format!("{role} `{actor}` may not {} this case", action.as_str()),
                    format!("{} `{actor}` 无权对本案{}", role_zh(role), action_zh(action)),
                )
                .with_extension("reason", "actor_forbidden"),
            CaseError::Invalid(why) => {
                let text = why.text();
                Problem::new(ErrorCode::ValidationFailed)
                    .with_detail(text.en, text.zh)
                    .with_extension("reason", why.code())
            }
            CaseError::Storage(e) => e.into(),
        }
    }
}

fn role_zh(role: &str) -> &'static str {
    match role {
        "grid_staff" => "网格员",
        "department" => "部门",
        "centre" => "指挥中心",
        "reporter" => "报告人",
        _ => "系统",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::Lang;

    #[test]
    fn refusals_read_in_the_clients_language() {
        let conflict: Problem = CaseError::Conflict {
            state: State::Closed,
            version: 4,
            clash: Clash::Transition(TransitionError::NotAllowed { state: State::Closed, action: Action::Sign }),
        }
        .into();
        assert_eq!(conflict.to_json(Lang::Zh)["detail"], "已结案的案件不能签收");
        assert_eq!(conflict.to_json(Lang::En)["detail"], "a case that is closed cannot be sign");
        assert_eq!(conflict.to_json(Lang::En)["reason"], "not_allowed_in_state");
        let invalid: Problem = CaseError::Invalid(Invalid::NoDepartment("x".into())).into();
        assert_eq!(invalid.to_json(Lang::Zh)["detail"], "没有部门 `x`");
        assert_eq!(invalid.to_json(Lang::Zh)["reason"], "no_department");
        let forbidden: Problem =
            CaseError::Forbidden { role: "grid_staff", actor: "S1".into(), action: Action::VerifyPass }.into();
        assert_eq!(forbidden.to_json(Lang::Zh)["detail"], "网格员 `S1` 无权对本案核查通过");
        let forbidden: Problem =
            CaseError::Forbidden { role: "grid_staff", actor: "S1".into(), action: Action::Recategorize }.into();
        assert_eq!(forbidden.to_json(Lang::Zh)["detail"], "网格员 `S1` 无权对本案改类");
        for (why, code) in [
            (Invalid::UnknownCategory("ZZ9".into()), "unknown_category"),
            (Invalid::CategoryUnchanged("A01".into()), "category_unchanged"),
            (Invalid::RecategorizeWithoutCategory, "category_missing"),
        ] {
            let problem: Problem = CaseError::Invalid(why).into();
            assert_eq!((problem.status(), problem.to_json(Lang::En)["reason"].as_str()), (422, Some(code)));
        }
    }

    #[test]
    fn every_state_and_action_has_a_chinese_name() {
        // A new variant without a name fails to compile in state_zh/action_zh; the names
        // are distinct, so no two read alike in a refusal.
        let states = [
            State::Reported,
            State::Accepted,
            State::Rejected,
            State::Merged,
            State::Assigned,
            State::InProgress,
            State::Returned,
            State::Escalated,
            State::Resolved,
            State::Closed,
        ];
        let names: std::collections::BTreeSet<&str> = states.iter().map(|s| state_zh(*s)).collect();
        assert_eq!(names.len(), states.len());
    }
}
