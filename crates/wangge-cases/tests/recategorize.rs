//! The centre's category correction (改类, issue 16), on SQLite or on PostgreSQL as the
//! test run asks (`WANGGE_TEST_ENGINE`): the case's category changes in the state it is
//! in, the log records it and still verifies, a correction row is kept for intake's
//! retrain, and a refusal changes nothing.

use wangge_cases::api::{Suggestion, TriageNote};
use wangge_cases::calendar::Calendar;
use wangge_cases::lifecycle::{Action, State};
use wangge_cases::refusal::Invalid;
use wangge_cases::store::*;
use wangge_core::native::TestDb;

mod common;

use common::*;

const NOW: &str = "2026-11-30T10:00:00+08:00";

fn centre() -> Actor {
    Actor::Centre("320613".into())
}

fn recategorize(
    db: &TestDb,
    calendar: &Calendar,
    id: &str,
    actor: Actor,
    category: Option<&str>,
) -> Result<Case, CaseError> {
    let request = ActionRequest {
        action: Action::Recategorize,
        actor,
        note: Some("市民描述为楼道堆物".into()),
        attachments: vec![],
        target: None,
        category: category.map(str::to_owned),
        expected_version: None,
    };
    act(db, id, &request, &Context { calendar, now: at(NOW) })
}

/// A hotline order the classifier was unsure of: in the centre's triage category Z99.
fn unsure(id: &str) -> NewCase {
    let mut new = new_case(id, "hotline", "Z99", None);
    new.triage = Some(TriageNote {
        model: "triage-nb-2026-11".into(),
        confidence: 0.41,
        suggestions: vec![
            Suggestion { category: "C05".into(), score: 0.41 },
            Suggestion { category: "B05".into(), score: 0.32 },
            Suggestion { category: "A04".into(), score: 0.12 },
        ],
    });
    new
}

#[test]
fn the_centre_recategorizes_a_reported_case_and_the_correction_is_kept() {
    let (db, calendar) = setup();
    let made = create_at(&db, &calendar, &unsure("t1"), "2026-11-30T09:00:00+08:00");
    assert_eq!((made.state, made.category.as_str()), (State::Reported, "Z99"));
    assert_eq!(made.triage.as_ref().map(|t| t.suggestions.len()), Some(3), "the note is kept on the case");

    let case = recategorize(&db, &calendar, "t1", centre(), Some("C05")).unwrap();
    assert_eq!((case.state, case.category.as_str()), (State::Reported, "C05"), "the state stays");
    assert_eq!((case.domain.as_str(), case.version), ("urban_rural_construction", made.version + 1));
    assert_eq!((case.respond_due.as_deref(), case.assignee.as_deref()), (None, None), "no deadline until assigned");
    let (log, verification) = history(&db, "t1").unwrap();
    assert!(verification.valid, "{verification:?}");
    let (last, _) = log.last().unwrap();
    assert_eq!((last.action.as_str(), last.role.as_str(), last.to.as_str()), ("recategorize", "centre", "reported"));
    assert_eq!(last.note.as_deref(), Some("category Z99 → C05: 市民描述为楼道堆物"));

    let page = corrections(&db, 0, 10).unwrap();
    assert_eq!(page.items.len(), 1);
    let c = &page.items[0];
    assert_eq!((c.case_id.as_str(), c.text.as_str()), ("t1", "楼道堆放杂物"));
    assert_eq!((c.from_category.as_str(), c.to_category.as_str()), ("Z99", "C05"));
    assert_eq!((c.model.as_deref(), c.at.as_str(), page.next), (Some("triage-nb-2026-11"), NOW, None));

    // Assigned afterwards, the deadlines are the new category's: C05 resolves within 3wd (Z99: 5wd).
    let assigned = act_at(&db, &calendar, "t1", Action::Accept, centre(), None, NOW)
        .and_then(|_| {
            act_at(&db, &calendar, "t1", Action::Assign, centre(), Some(Target::Grid("320613001001001".into())), NOW)
        })
        .unwrap();
    assert_eq!(assigned.resolve_due.as_deref(), Some("2026-12-03T17:30:00+08:00"));
}

#[test]
fn a_case_corrected_twice_keeps_both_rows_paged_oldest_first() {
    let (db, calendar) = setup();
    let mut given = new_case("g1", "resident", "A01", None);
    given.triage = None;
    create_at(&db, &calendar, &given, "2026-11-30T09:00:00+08:00");
    create_at(&db, &calendar, &unsure("t2"), "2026-11-30T09:00:00+08:00");
    recategorize(&db, &calendar, "g1", centre(), Some("A04")).unwrap();
    act_at(&db, &calendar, "t2", Action::Accept, centre(), None, NOW).unwrap();
    recategorize(&db, &calendar, "t2", centre(), Some("B05")).unwrap();
    recategorize(&db, &calendar, "t2", centre(), Some("C05")).unwrap();

    let first = corrections(&db, 0, 2).unwrap();
    let moves: Vec<(&str, &str, &str)> =
        first.items.iter().map(|c| (c.case_id.as_str(), c.from_category.as_str(), c.to_category.as_str())).collect();
    assert_eq!(moves, [("g1", "A01", "A04"), ("t2", "Z99", "B05")]);
    assert_eq!(first.items[0].model, None, "no model placed a case whose category was given");
    assert_eq!(first.next, Some(first.items[1].seq));
    let rest = corrections(&db, first.next.unwrap(), 2).unwrap();
    let moves: Vec<(&str, &str)> =
        rest.items.iter().map(|c| (c.from_category.as_str(), c.to_category.as_str())).collect();
    assert_eq!((moves, rest.next), (vec![("B05", "C05")], None));
    assert!(history(&db, "t2").unwrap().1.valid);
}

#[test]
fn refusals_name_their_reason_and_change_nothing() {
    let (db, calendar) = setup();
    let made = create_at(&db, &calendar, &unsure("r1"), "2026-11-30T09:00:00+08:00");
    let refused =
        |actor: Actor, category: Option<&str>| recategorize(&db, &calendar, "r1", actor, category).unwrap_err();
    assert!(matches!(refused(centre(), Some("ZZ9")), CaseError::Invalid(Invalid::UnknownCategory(c)) if c == "ZZ9"));
    assert!(matches!(refused(centre(), Some("Z99")), CaseError::Invalid(Invalid::CategoryUnchanged(_))));
    assert!(matches!(refused(centre(), None), CaseError::Invalid(Invalid::RecategorizeWithoutCategory)));
    // Only the centre, and only its own region's.
    for actor in [
        Actor::Staff("S000002".into()),
        Actor::Department("320613001000-public_security".into()),
        Actor::Reporter,
        Actor::Centre("320612".into()),
    ] {
        assert!(matches!(refused(actor.clone(), Some("C05")), CaseError::Forbidden { .. }), "{actor:?}");
    }
    let after = get(&db, "r1").unwrap().unwrap();
    assert_eq!((after.version, after.category.as_str()), (made.version, "Z99"));
    assert_eq!(history(&db, "r1").unwrap().0.len(), 1, "only the report");
    assert!(corrections(&db, 0, 10).unwrap().items.is_empty());

    // Once with its handler, the category is the handler's matter: a conflict naming the state.
    act_at(&db, &calendar, "r1", Action::Accept, centre(), None, NOW).unwrap();
    act_at(&db, &calendar, "r1", Action::Assign, centre(), Some(Target::Grid("320613001001001".into())), NOW).unwrap();
    assert!(matches!(refused(centre(), Some("C05")), CaseError::Conflict { state: State::Assigned, .. }));
    assert!(corrections(&db, 0, 10).unwrap().items.is_empty());
}
