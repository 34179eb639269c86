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
        assert!(
            readme.contains(&format!("`{}`", scope.as_str())),
            "README lacks {}",
            scope.as_str()
        );
        let in_schema = schema.contains(&format!("\"{}\"", scope.as_str()));
        assert_eq!(
            in_schema,
            *scope != Scope::KeysAdmin,
            "schema and scope {} disagree",
            scope.as_str()
        );
    }
}
