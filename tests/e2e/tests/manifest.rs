//! spin.toml itself: each function declares exactly what it uses, and `spin build`
//! finds a build command for every component.

use wangge_e2e::{COMPONENTS, STATELESS_COMPONENTS, workspace_root};

fn manifest() -> toml::Table {
    toml::from_str(&std::fs::read_to_string(workspace_root().join("spin.toml")).unwrap()).unwrap()
}

#[test]
fn each_function_owns_one_database_and_names_its_chaining_targets_explicitly() {
    let m = manifest();
    let components = m["component"].as_table().unwrap();
    assert_eq!(components.len(), COMPONENTS.len() + STATELESS_COMPONENTS.len());
    for (id, label) in COMPONENTS {
        let c = &components[*id];
        assert_eq!(c["sqlite_databases"].as_array().unwrap(), &vec![toml::Value::from(*label)], "{id}");
        assert_eq!(c["key_value_stores"].as_array().unwrap(), &vec![toml::Value::from("default")], "{id}");
        // Its database on the cluster profile: its own variable, on the one database host.
        assert_eq!(c["variables"]["database_url"].as_str(), Some(format!("{{{{ {label}_database_url }}}}").as_str()));
        assert_eq!(
            m["variables"][&format!("{label}_database_url")]["default"].as_str(),
            Some(""),
            "{id}: SQLite by default"
        );
        assert_eq!(m["variables"][&format!("{label}_database_url")]["secret"].as_bool(), Some(true), "{id}");
        let hosts: Vec<&str> =
            c["allowed_outbound_hosts"].as_array().unwrap().iter().filter_map(|h| h.as_str()).collect();
        assert!(hosts.contains(&"postgres://{{ database_host }}"), "{id}: {hosts:?}");
        for host in hosts.into_iter().filter(|h| !h.starts_with("postgres://")) {
            assert!(!host.contains('*'), "{id}: no wildcards ({host})");
            let variable = host.strip_prefix("{{ ").and_then(|h| h.strip_suffix(" }}"));
            let variable = variable.unwrap_or_else(|| panic!("{id}: {host} is a variable, set per deployment"));
            // A chained target: `<target>_url`, Spin service chaining by default, a URL
            // (another app's) when set; the component reads it under the same name.
            if let Some((target, _)) =
                COMPONENTS.iter().find(|(c, _)| format!("{}_url", c.replace('-', "_")) == variable)
            {
                assert_ne!(target, id, "{id} does not call itself");
                assert_eq!(
                    m["variables"][variable]["default"].as_str(),
                    Some(format!("http://{target}.spin.internal").as_str()),
                    "{variable}"
                );
                assert_eq!(c["variables"][variable].as_str(), Some(host), "{id} reads {variable}");
                assert_eq!(c["variables"]["internal_key"].as_str(), Some("{{ internal_key }}"), "{id}");
                continue;
            }
            // An outside service's origin is an application variable, set per deployment.
            assert_eq!(*id, "notification", "only notification talks to outside services ({host})");
            assert!(m["variables"][variable]["default"].as_str().is_some_and(|d| d.starts_with("https://")), "{host}");
        }
    }
    // A stateless component (the console) serves its embedded files: no database, no
    // key-value store, no outbound host, no secret; only its own variables.
    for id in STATELESS_COMPONENTS {
        let c = components[*id].as_table().unwrap();
        for owned in ["sqlite_databases", "key_value_stores", "allowed_outbound_hosts"] {
            assert!(!c.contains_key(owned), "{id} declares no {owned}");
        }
        for (name, value) in c.get("variables").and_then(|v| v.as_table()).into_iter().flatten() {
            let variable = value.as_str().and_then(|v| v.strip_prefix("{{ ")).and_then(|v| v.strip_suffix(" }}"));
            let variable = variable.unwrap_or_else(|| panic!("{id}.{name} is an application variable"));
            assert!(variable.starts_with(&format!("{id}_")), "{id} reads only its own variables ({variable})");
            let secret = m["variables"][variable].get("secret").and_then(|s| s.as_bool());
            assert_ne!(secret, Some(true), "{id} holds no secret ({variable})");
        }
    }
    // The key internal routes want by URL: a secret, empty (not served by URL) by default.
    assert_eq!(m["variables"]["internal_key"]["default"].as_str(), Some(""));
    assert_eq!(m["variables"]["internal_key"]["secret"].as_bool(), Some(true));
}

#[test]
fn each_internal_route_has_a_trigger_route_to_the_component_that_serves_it() {
    let m = manifest();
    let triggers = m["trigger"]["http"].as_array().unwrap();
    let internal: Vec<(&str, &str)> = triggers
        .iter()
        .map(|t| (t["route"].as_str().unwrap(), t["component"].as_str().unwrap()))
        .filter(|(route, _)| route.starts_with("/internal"))
        .collect();
    use wangge_core::internal::Route;
    let served = [
        (wangge_cases::api::CreateCase::PATH, wangge_cases::api::CreateCase::COMPONENT),
        (wangge_cases::api::CaseStates::PATH, wangge_cases::api::CaseStates::COMPONENT),
        (wangge_cases::api::Categories::PATH, wangge_cases::api::Categories::COMPONENT),
        (wangge_cases::api::FACTS_PATH, "case-routing"),
        (wangge_cases::api::Corrections::PATH, wangge_cases::api::Corrections::COMPONENT),
        (wangge_registry::api::Place::PATH, wangge_registry::api::Place::COMPONENT),
        (wangge_registry::api::Grids::PATH, wangge_registry::api::Grids::COMPONENT),
        (wangge_registry::api::StaffContacts::PATH, wangge_registry::api::StaffContacts::COMPONENT),
        (wangge_notify::api::Enqueue::PATH, wangge_notify::api::Enqueue::COMPONENT),
    ];
    for (path, component) in served {
        assert!(internal.contains(&(path, component)), "{path} → {component}: {internal:?}");
    }
    // Exact routes only: nothing else under /internal is reachable by URL.
    assert_eq!(internal.len(), served.len(), "{internal:?}");
}

#[test]
fn spin_build_finds_every_build_command_and_output() {
    let m = manifest();
    let members = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    for id in COMPONENTS.iter().map(|(id, _)| id).chain(STATELESS_COMPONENTS) {
        let c = &m["component"][*id];
        let command = c["build"]["command"].as_str().unwrap();
        assert_eq!(command, format!("cargo build --target wasm32-wasip2 --release -p {id}"));
        assert!(members.contains(&format!("\"functions/{id}\"")), "{id} is a workspace member");
        let source = c["source"].as_str().unwrap();
        assert_eq!(source, format!("target/wasm32-wasip2/release/{}.wasm", id.replace('-', "_")));
    }
}

#[test]
fn routes_cover_the_documented_prefixes_and_every_component_has_its_system_route() {
    let m = manifest();
    let triggers = m["trigger"]["http"].as_array().unwrap();
    let route_of = |route: &str| {
        triggers
            .iter()
            .find(|t| t["route"].as_str() == Some(route))
            .map(|t| t["component"].as_str().unwrap().to_owned())
    };
    let expected = [
        ("/v1/events/...", "intake"),
        ("/v1/hotline/...", "intake"),
        ("/v1/triage/...", "intake"),
        ("/open311/v2/...", "intake"),
        ("/v1/grids/...", "grid-lookup"),
        ("/v1/addresses/...", "grid-lookup"),
        ("/v1/regions/...", "grid-lookup"),
        ("/v1/staff/...", "grid-lookup"),
        ("/v1/keys/...", "grid-lookup"),
        ("/v1/cases/...", "case-routing"),
        ("/v1/calendar/...", "case-routing"),
        ("/v1/categories/...", "case-routing"),
        ("/v1/departments/...", "case-routing"),
        ("/v1/assessments/...", "assessment"),
        ("/v1/notifications/...", "notification"),
        ("/console/...", "console"),
        ("/console", "console"),
    ];
    for (route, component) in expected {
        assert_eq!(route_of(route).as_deref(), Some(component), "{route}");
    }
    for id in COMPONENTS.iter().map(|(id, _)| id).chain(STATELESS_COMPONENTS) {
        assert_eq!(route_of(&format!("/v1/system/{id}/...")).as_deref(), Some(*id));
    }
}
