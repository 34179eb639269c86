//! Reference data, on SQLite or on PostgreSQL as the test run asks (`WANGGE_TEST_ENGINE`,
//! [`TestDb`]): the shared catalogue, departments and calendar.

use std::io::Read;

use wangge_cases::calendar::Within;
use wangge_cases::reference::*;
use wangge_core::native::TestDb;

fn root(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn db() -> TestDb {
    TestDb::migrated(&SCHEMA)
}

fn departments_csv() -> Vec<Department> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(root("data/nantong/departments.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    csv::Reader::from_reader(text.as_bytes()).deserialize().map(|r| r.unwrap()).collect()
}

#[test]
fn the_shared_catalogue_loads_once_and_reads_back() {
    let db = db();
    let body = std::fs::read(root("data/categories.json")).unwrap();
    assert_eq!(put_catalogue(&db, &body).unwrap(), (42, false));
    assert_eq!(put_catalogue(&db, &body).unwrap(), (42, true), "the same document again changes nothing");
    let a01 = category(&db, "A01").unwrap().unwrap();
    assert_eq!((a01.name.as_str(), a01.grid_may_resolve, a01.resolve_within.as_str()), ("邻里纠纷", true, "5wd"));
    assert_eq!(Within::parse(&a01.respond_within), Ok(Within::WorkDays(1)));
    assert!(category(&db, "ZZZ").unwrap().is_none());
}

#[test]
fn every_catalogue_rule_is_checked() {
    let body = std::fs::read(root("data/categories.json")).unwrap();
    let mut file: CatalogueFile = serde_json::from_slice(&body).unwrap();
    file.categories[1].code = file.categories[0].code.clone();
    file.categories[2].domain = "astrology".into();
    file.categories[3].priority = "whenever".into();
    file.categories[4].resolve_within = "5 days".into();
    file.categories[5].grid_may_resolve = false;
    file.categories[5].department_kind = None;
    file.domains.get_mut("public_safety").unwrap().default_weight = Some(0.5);
    let codes: Vec<(String, String)> = validate_catalogue(&file).into_iter().map(|e| (e.pointer, e.code)).collect();
    assert_eq!(
        codes,
        [
            ("/categories/1/code".to_owned(), "duplicate_code".to_owned()),
            ("/categories/2/domain".into(), "unknown_domain".into()),
            ("/categories/3/priority".into(), "unknown_priority".into()),
            ("/categories/4/resolve_within".into(), "duration".into()),
            ("/categories/5/department_kind".into(), "required".into()),
            ("/domains".into(), "weights_sum".into()),
        ]
    );
    let db = db();
    assert!(matches!(put_catalogue(&db, &serde_json::to_vec(&file).unwrap()), Err(ReferenceError::Invalid(_))));
    assert!(matches!(put_catalogue(&db, b"[]"), Err(ReferenceError::Malformed(_))));
}

#[test]
fn a_matter_goes_to_the_towns_department_or_else_the_districts() {
    let db = db();
    let all = departments_csv();
    assert_eq!(put_departments(&db, &all).unwrap(), 670);
    // Public security has a station in every town; water only at district level.
    let police = department_for(&db, "public_security", "320613001001").unwrap().unwrap();
    assert_eq!((police.level.as_str(), police.region_code.as_str()), ("town", "320613001000"));
    let water = department_for(&db, "water", "320613001001").unwrap().unwrap();
    assert_eq!((water.level.as_str(), water.region_code.as_str()), ("district", "320613000000"));
    assert!(department_for(&db, "astronomy", "320613001001").unwrap().is_none());
    let page = departments(&db, "320613", Some("water"), "", 50).unwrap();
    assert_eq!(page.len(), 1);

    let mut bad = all[..3].to_vec();
    bad[1].dept_code = bad[0].dept_code.clone();
    bad[2].level = "province".into();
    match put_departments(&db, &bad) {
        Err(ReferenceError::Invalid(errors)) => {
            let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
            assert_eq!(codes, ["duplicate_code", "unknown_level"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(departments(&db, "", None, "", 1000).unwrap().len(), 670, "a refused import changed nothing");
}

#[test]
fn calendars_load_per_year_and_drive_deadlines() {
    let db = db();
    let body = std::fs::read(root("data/calendar-2026.json")).unwrap();
    put_calendar(&db, 2026, &body).unwrap();
    assert!(matches!(put_calendar(&db, 2027, &body), Err(ReferenceError::Invalid(_))), "year mismatch");
    let calendar = calendar(&db).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-27T16:00:00+08:00").unwrap().with_timezone(&chrono::Utc);
    let due = calendar.deadline(start, Within::WorkDays(1));
    assert_eq!(wangge_core::time::render(due.at), "2026-11-30T17:30:00+08:00");
    assert_eq!(calendar_document(&db, 2026).unwrap().unwrap()["year"], 2026);
}
