//! The README tells the truth: every error code and scope the code has is documented.

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

#[test]
fn the_demo_city_is_identical_to_the_shared_data_where_that_is_present() {
    let shared = workspace_root().join("../shared/data");
    if !shared.join("nantong").is_dir() {
        // A user's fresh clone has no ../shared: data/ is then the only copy.
        eprintln!("no ../shared/data beside this checkout: nothing to compare");
        return;
    }
    let mut compared = 0;
    for entry in std::fs::read_dir(shared.join("nantong")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            wangge_e2e::demo(&name),
            std::fs::read(&path).unwrap(),
            "data/nantong/{name}.gz differs: run scripts/refresh-demo-data.sh"
        );
        compared += 1;
    }
    for name in ["categories.json", "calendar-2026.json"] {
        let ours = std::fs::read(workspace_root().join("data").join(name)).unwrap();
        assert_eq!(
            ours,
            std::fs::read(shared.join(name)).unwrap(),
            "data/{name} differs: run scripts/refresh-demo-data.sh"
        );
        compared += 1;
    }
    assert_eq!(compared, 8);
}
