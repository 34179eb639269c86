//! The docs tell the truth: every error code and scope the code has is in the README, the
//! pages in docs/ name code and tests that exist, and data/ is the demo city its checksums
//! and counts say. (The OpenAPI document is checked against the route tables in contracts.rs.)

use wangge_core::ErrorCode;
use wangge_core::auth::Scope;
use wangge_e2e::workspace_root;

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).unwrap()
}

#[test]
fn every_error_code_is_in_the_readme_with_its_status() {
    let readme = readme();
    for code in ErrorCode::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.status());
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
}

#[test]
fn every_scope_is_in_the_readme_and_the_key_schema() {
    let readme = readme();
    let schema = std::fs::read_to_string(workspace_root().join("schemas/key.create.json")).unwrap();
    for scope in Scope::ALL {
        assert!(readme.contains(&format!("`{}`", scope.as_str())), "README lacks {}", scope.as_str());
        let in_schema = schema.contains(&format!("\"{}\"", scope.as_str()));
        assert_eq!(in_schema, *scope != Scope::KeysAdmin, "schema and scope {} disagree", scope.as_str());
    }
}

/// `data/`'s files by their path under `data/`, as the checksums see them: the demo city's
/// `nantong/*.gz` decompressed (so the gzip build does not matter), the two JSON files as they are.
fn demo_data_files() -> std::collections::BTreeMap<String, Vec<u8>> {
    let data = workspace_root().join("data");
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_file() && name != "README.md" {
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
    for entry in std::fs::read_dir(data.join("nantong")).unwrap() {
        let name = entry.unwrap().file_name().to_str().unwrap().to_owned();
        let plain = name.strip_suffix(".gz").unwrap_or_else(|| panic!("data/nantong/{name} is not gzip"));
        files.insert(format!("nantong/{plain}"), wangge_e2e::demo(plain));
    }
    files
}

#[test]
fn the_demo_city_is_the_one_whose_checksums_are_committed() {
    let fixture = workspace_root().join("tests/e2e/fixtures/demo-data.sha256");
    let committed: std::collections::BTreeMap<String, String> = std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (sum, name) = line.split_once("  ").expect("`<sha256>  <path>` lines");
            (name.to_owned(), sum.to_owned())
        })
        .collect();
    // The catalogue, the calendar and the six files of the city: regions, grids, staff,
    // addresses, departments and district outlines.
    assert_eq!(committed.len(), 2 + 6, "{committed:?}");
    let files = demo_data_files();
    let names: Vec<&String> = files.keys().collect();
    assert_eq!(names, committed.keys().collect::<Vec<_>>(), "data/ holds other files than the fixture lists");
    for (name, bytes) in &files {
        // `hash_token` is plain hex SHA-256 of its input; every file here is UTF-8 text.
        let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("data/{name} is not UTF-8"));
        assert_eq!(
            wangge_core::auth::hash_token(text),
            committed[name],
            "data/{name} changed without tests/e2e/fixtures/demo-data.sha256: refresh both with \
             scripts/refresh-demo-data.sh SOURCE_DIR, then check the counts of the shape test"
        );
    }
}

/// The non-empty lines of a CSV file of the demo city, split on commas (no field is quoted),
/// header first.
fn demo_csv(file: &str) -> Vec<Vec<String>> {
    String::from_utf8(wangge_e2e::demo(file))
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

/// How many rows of `rows` (header skipped) have `value` in `column`.
fn count_where(rows: &[Vec<String>], column: &str, value: &str) -> usize {
    let index = rows[0].iter().position(|c| c == column).unwrap_or_else(|| panic!("no column {column}"));
    rows[1..].iter().filter(|row| row[index] == value).count()
}

#[test]
fn the_demo_city_has_the_shape_the_readme_states() {
    // Regions: 1 city (南通市) + 7 districts/counties (崇川, 通州, 海门, 如东, 启东, 如皋, 海安)
    // + 93 towns/streets + 1576 communities/villages = 1677.
    let regions = demo_csv("regions.csv");
    let levels: Vec<usize> =
        ["city", "district", "town", "community"].iter().map(|l| count_where(&regions, "level", l)).collect();
    assert_eq!(levels, [1, 7, 93, 1576]);
    assert_eq!(regions.len() - 1, 1 + 7 + 93 + 1576);
    // Of the 1576, codes 001-199 are 社区 (497) and 200-399 are 村 (1079): 497 + 1079 = 1576.
    let villages = regions[1..].iter().filter(|r| r[2] == "community" && r[0][9..12] >= *"200").count();
    assert_eq!((1576 - villages, villages), (497, 1079));

    // Grids: 6940 comprehensive (407 communities with 3, 418 with 4, 459 with 5, 292 with 6:
    // 1221 + 1672 + 2295 + 1752 = 6940) + 2267 dedicated = 9207.
    let grids: serde_json::Value = serde_json::from_slice(&wangge_e2e::demo("grids.geojson")).unwrap();
    let features = grids["features"].as_array().unwrap();
    let kind = |k: &str| features.iter().filter(|f| f["properties"]["kind"] == k).count();
    assert_eq!((kind("comprehensive"), kind("dedicated"), features.len()), (6940, 2267, 9207));
    let mut per_community = std::collections::BTreeMap::<&str, usize>::new();
    for f in features.iter().filter(|f| f["properties"]["kind"] == "comprehensive") {
        *per_community.entry(f["properties"]["region_code"].as_str().unwrap()).or_default() += 1;
    }
    let mut histogram = std::collections::BTreeMap::<usize, usize>::new();
    for n in per_community.values() {
        *histogram.entry(*n).or_default() += 1;
    }
    assert_eq!(histogram.into_iter().collect::<Vec<_>>(), [(3, 407), (4, 418), (5, 459), (6, 292)]);

    // Staff: one grid worker per comprehensive grid (6940), one grid head per community (1576),
    // one grid head per dedicated grid (2267), and 1 to 3 informants per dedicated grid
    // (788·1 + 725·2 + 754·3 = 4500): 6940 + 1576 + 2267 + 4500 = 15283.
    let staff = demo_csv("staff.csv");
    let roles: Vec<usize> = ["grid_worker", "grid_head", "dedicated_grid_head", "informant"]
        .iter()
        .map(|r| count_where(&staff, "role", r))
        .collect();
    assert_eq!(roles, [6940, 1576, 2267, 4500]);
    assert_eq!(staff.len() - 1, 6940 + 1576 + 2267 + 4500);

    // Addresses: 40336 standard addresses, each in a grid of the file above.
    let addresses = demo_csv("addresses.csv");
    assert_eq!(addresses.len() - 1, 40336);
    let codes: std::collections::BTreeSet<&str> =
        features.iter().map(|f| f["properties"]["code"].as_str().unwrap()).collect();
    assert!(addresses[1..].iter().all(|a| codes.contains(a[3].as_str())), "an address outside every grid");

    // Departments: the 16 kinds at each of the 7 districts (112), and the 6 kinds with town
    // stations (公安派出所, 城管中队, 司法所, 市场监管所, 应急, 民政) at each of the 93 towns (558):
    // 112 + 558 = 670.
    let departments = demo_csv("departments.csv");
    assert_eq!(
        (count_where(&departments, "level", "district"), count_where(&departments, "level", "town")),
        (16 * 7, 6 * 93)
    );
    assert_eq!(departments.len() - 1, 670);

    // District outlines: one per district or county, 7.
    let outlines: serde_json::Value = serde_json::from_slice(&wangge_e2e::demo("districts.geojson")).unwrap();
    assert_eq!(outlines["features"].as_array().unwrap().len(), 7);

    // The catalogue: 42 matters in 8 domains (the seven assessed ones and `general`:
    // 9 + 6 + 7 + 8 + 2 + 4 + 3 + 3 = 42).
    let catalogue: serde_json::Value =
        serde_json::from_slice(&std::fs::read(workspace_root().join("data/categories.json")).unwrap()).unwrap();
    assert_eq!(catalogue["domains"].as_object().unwrap().len(), 8);
    assert_eq!(catalogue["categories"].as_array().unwrap().len(), 9 + 6 + 7 + 8 + 2 + 4 + 3 + 3);

    // The 2026 calendar: 33 holidays (元旦 3, 春节 9, 清明 3, 劳动节 5, 端午 3, 中秋 3,
    // 国庆 7) and 6 make-up working days (调休上班).
    let calendar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(workspace_root().join("data/calendar-2026.json")).unwrap()).unwrap();
    assert_eq!(calendar["holidays"].as_array().unwrap().len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
    assert_eq!(calendar["extra_workdays"].as_array().unwrap().len(), 6);
}

/// The text of every `.rs` file under `crates/`, `functions/` and `tests/` (not `target/`).
fn rust_sources() -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() && name != "target" && name != "node_modules" {
                walk(&path, out);
            } else if name.ends_with(".rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    for dir in ["crates", "functions", "tests"] {
        walk(&workspace_root().join(dir), &mut out);
    }
    out
}

/// Whether `name` is defined in `sources`: a function, constant, type, module or enum variant.
fn defined(sources: &str, name: &str) -> bool {
    ["fn ", "const ", "struct ", "enum ", "trait ", "type ", "mod ", "static "]
        .iter()
        .any(|kind| sources.contains(&format!("{kind}{name}")))
        || [format!("    {name},"), format!("    {name}("), format!("    {name} {{")]
            .iter()
            .any(|v| sources.contains(v))
}

/// Checks every backticked span of a docs page that names a path, a `crate::module::item` or
/// a long snake_case name (a test, a field or an error code); returns how many it checked.
fn check_names(page: &str, text: &str, sources: &str) -> usize {
    let root = workspace_root();
    let mut checked = 0;
    for span in text.split('`').skip(1).step_by(2) {
        if span.contains(' ') && !span.contains("::") {
            continue;
        }
        let is_path = ["crates/", "functions/", "tests/", "data/", "schemas/", "scripts/", "docs/"]
            .iter()
            .any(|p| span.starts_with(p));
        if is_path {
            assert!(root.join(span).exists(), "docs/{page} names `{span}`, which does not exist");
            checked += 1;
        } else if let Some((_, last)) = span.rsplit_once("::") {
            // `crate::module::function` or `crate::module::{a, b}`: each last name is defined.
            for name in last.trim_matches(|c| c == '{' || c == '}').split(',').map(str::trim) {
                assert!(defined(sources, name), "docs/{page} names `{span}`: `{name}` is not in the sources");
                checked += 1;
            }
        } else if span.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && span.matches('_').count() >= 3
        {
            let named = [format!("fn {span}("), format!(" {span}: "), format!("\"{span}\"")]
                .iter()
                .any(|form| sources.contains(form.as_str()));
            assert!(named, "docs/{page} names `{span}`, which is in no function, field or code");
            checked += 1;
        }
    }
    checked
}

/// Checks that every name in a "Test:" or "Tests:" list of a docs page (up to the next
/// "Code:", bullet or paragraph) is a test function, even a short one; returns how many.
fn check_test_lists(page: &str, text: &str, sources: &str) -> usize {
    let mut checked = 0;
    for paragraph in text.split("\n\n") {
        for (at, _) in paragraph.match_indices("Test") {
            let rest = &paragraph[at..];
            if !(rest.starts_with("Test:") || rest.starts_with("Tests:")) {
                continue;
            }
            let list = rest.split("Code:").next().unwrap().split("\n-").next().unwrap();
            for span in list.split('`').skip(1).step_by(2) {
                if !span.is_empty() && span.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                    assert!(sources.contains(&format!("fn {span}(")), "docs/{page}: no test `{span}`");
                    checked += 1;
                }
            }
        }
    }
    checked
}

/// The pages in `docs/` name the code and the tests behind each rule. Every file path they
/// give exists, and every function, constant and test they name is in the sources, so a
/// rename or a removal that leaves a page behind fails here.
#[test]
fn the_docs_pages_name_code_and_tests_that_exist() {
    let sources = rust_sources();
    let mut checked = 0;
    for page in ["lifecycle.md", "assessment.md", "intake.md", "conventions.md"] {
        let text = std::fs::read_to_string(workspace_root().join("docs").join(page))
            .unwrap_or_else(|_| panic!("docs/{page} is missing"));
        assert!(!text.contains("../shared"), "docs/{page} points outside the repository");
        checked += check_names(page, &text, &sources) + check_test_lists(page, &text, &sources);
    }
    // Not a count to keep exact: a floor, so that a parser that stopped seeing spans fails.
    assert!(checked >= 100, "only {checked} names checked in docs/");
}
