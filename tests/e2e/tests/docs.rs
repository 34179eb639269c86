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

/// Every public route the five functions serve, read from their routers:
/// `(METHOD, /path/{}/...)`, parameters unnamed.
fn routes_in_code() -> std::collections::BTreeSet<(String, String)> {
    let root = workspace_root();
    let mut routes = std::collections::BTreeSet::new();
    let arm = |source: &str, prefix: &str, suffix: &str, out: &mut std::collections::BTreeSet<(String, String)>| {
        for line in source.lines() {
            let Some(start) = line.find("(Method::") else { continue };
            let rest = &line[start + "(Method::".len()..];
            let Some((method, rest)) = rest.split_once(", [") else { continue };
            let Some((segments, _)) = rest.split_once("])") else { continue };
            let parts: Vec<String> = segments
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| if s.starts_with('"') { s.trim_matches('"').to_owned() } else { "{}".to_owned() })
                .collect();
            if parts.first().is_some_and(|p| p == "internal") {
                continue;
            }
            let mut path = format!("{prefix}/{}", parts.join("/"));
            if !suffix.is_empty() {
                path.push_str(suffix);
            }
            out.insert((method.to_uppercase(), path));
        }
    };
    for component in ["intake", "grid-lookup", "case-routing", "assessment", "notification"] {
        let source = std::fs::read_to_string(root.join(format!("functions/{component}/src/lib.rs"))).unwrap();
        arm(&source, "", "", &mut routes);
        let system = std::fs::read_to_string(root.join("functions/common/src/system.rs")).unwrap();
        arm(&system, &format!("/v1/system/{component}"), "", &mut routes);
    }
    let open311 = std::fs::read_to_string(root.join("functions/intake/src/open311.rs")).unwrap();
    arm(&open311, "/open311/v2", ".json", &mut routes);
    routes
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_the_functions_serve() {
    let root = workspace_root();
    let openapi: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("schemas/openapi.json")).unwrap()).unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, operations) in openapi["paths"].as_object().unwrap() {
        let unnamed: Vec<String> = path
            .split('/')
            .map(|s| match (s.starts_with('{'), s.strip_suffix(".json")) {
                (true, Some(_)) => "{}.json".to_owned(),
                (true, None) => "{}".to_owned(),
                _ => s.to_owned(),
            })
            .collect();
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), unnamed.join("/")));
        }
        // Every request body points at a schema that exists in schemas/.
        for operation in operations.as_object().unwrap().values() {
            for media in operation["requestBody"]["content"].as_object().into_iter().flat_map(|c| c.values()) {
                if let Some(reference) = media["schema"]["$ref"].as_str() {
                    let file = reference.rsplit('/').next().unwrap();
                    assert!(root.join("schemas").join(file).exists(), "{path}: {reference}");
                }
            }
        }
    }
    let served = routes_in_code();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in schemas/openapi.json: {undocumented:?}");
    assert!(unserved.is_empty(), "in schemas/openapi.json but not served: {unserved:?}");
}
