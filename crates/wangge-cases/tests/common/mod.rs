//! What the store tests share: a fresh database of the engine the run asks for
//! ([`TestDb`], `WANGGE_TEST_ENGINE`) with the shared reference data, a report, and
//! acting at a given time.

// Each test file uses some of these; the rest would be dead code there.
#![allow(dead_code)]

use std::io::Read;

use chrono::{DateTime, Utc};
use wangge_cases::calendar::Calendar;
use wangge_cases::lifecycle::Action;
use wangge_cases::reference::{self, Department, SCHEMA};
use wangge_cases::store::*;
use wangge_core::native::TestDb;

pub fn root(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// A fresh database with the shared reference data loaded: the catalogue, the 2026
/// calendar and Nantong's departments.
pub fn setup() -> (TestDb, Calendar) {
    let db = TestDb::migrated(&SCHEMA);
    reference::put_catalogue(&db, &std::fs::read(root("data/categories.json")).unwrap()).unwrap();
    reference::put_calendar(&db, 2026, &std::fs::read(root("data/calendar-2026.json")).unwrap()).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(root("data/nantong/departments.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let departments: Vec<Department> =
        csv::Reader::from_reader(text.as_bytes()).deserialize().map(|r| r.unwrap()).collect();
    reference::put_departments(&db, &departments).unwrap();
    let calendar = reference::calendar(&db).unwrap();
    (db, calendar)
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn new_case(id: &str, source: &str, category: &str, reporter_staff: Option<&str>) -> NewCase {
    NewCase {
        id: id.into(),
        source: source.into(),
        reporter_staff_id: reporter_staff.map(str::to_owned),
        reporter: Reporter { name: Some("张三".into()), phone: Some("13900000000".into()), wechat_openid: None },
        category: category.into(),
        // Each case its own spot (about 94 m apart per step), so none is another's duplicate.
        lng: Some(120.86 + 0.001 * f64::from(id.bytes().map(u32::from).sum::<u32>() % 500)),
        lat: Some(32.01),
        responsible_grid: Some("320613001001001".into()),
        comprehensive_grid: Some("320613001001001".into()),
        community: "320613001001".into(),
        discovered_at: Some("2026-11-27T15:00:00+08:00".into()),
        reported_at: "2026-11-27T16:00:00+08:00".into(),
        description: "楼道堆放杂物".into(),
        attachments: vec![],
        external_ref: None,
        staff: vec![
            CaseStaff { staff_id: "S000002".into(), role: "grid_worker".into(), grid_code: "320613001001001".into() },
            CaseStaff { staff_id: "S000001".into(), role: "grid_head".into(), grid_code: String::new() },
        ],
        triage: None,
    }
}

pub fn create_at(db: &TestDb, calendar: &Calendar, new: &NewCase, now: &str) -> Case {
    let category = reference::category(db, &new.category).unwrap().unwrap();
    create(db, new, &category, &Context { calendar, now: at(now) }).unwrap()
}

pub fn act_at(
    db: &TestDb,
    calendar: &Calendar,
    id: &str,
    action: Action,
    actor: Actor,
    target: Option<Target>,
    now: &str,
) -> Result<Case, CaseError> {
    let request = ActionRequest {
        action,
        actor,
        note: None,
        attachments: vec![],
        target,
        category: None,
        expected_version: None,
    };
    act(db, id, &request, &Context { calendar, now: at(now) })
}
