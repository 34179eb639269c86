//! The command-centre console's component (`functions/console`): the page, its hashed assets
//! and their cache headers, `config.json` and the tile server in the page's policy, the
//! redirect, 404s as problem+json, and its system routes. (What the page does in a browser is
//! tested in `tests/console/`.)

use wangge_e2e::*;

/// The console alone (it calls nothing), with `variables` set.
fn console(test: &str, variables: &[(&str, &str)]) -> Suite {
    let mut options = options(test, &["console"]);
    for (name, value) in variables {
        options.variables.insert(name.to_string(), value.to_string());
    }
    start_with(options)
}

/// The `/console/assets/...` paths the page names (its script and stylesheet).
fn assets_named_by(page: &str) -> Vec<String> {
    page.split('"').filter(|s| s.starts_with("/console/assets/")).map(str::to_owned).collect()
}

#[test]
fn the_page_is_revalidated_and_its_hashed_assets_are_immutable_with_etags() {
    let suite = console("console-assets", &[]);
    let page = get(&suite.url("/console/"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let csp = page.header("content-security-policy").unwrap();
    for directive in ["default-src 'self'", "img-src 'self' data: blob:;", "style-src 'self' 'unsafe-inline'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(page.body.contains(r#"<html lang="zh-CN">"#), "Chinese first");

    let assets = assets_named_by(&page.body);
    let script = assets.iter().find(|a| a.ends_with(".js")).expect("the page names its script");
    assert!(assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    for asset in &assets {
        // Content-hashed names: `app-<hash>.js`.
        let name = asset.rsplit('/').next().unwrap();
        assert!(name.split_once('-').is_some_and(|(_, hash)| hash.len() > 4), "{name}");
        let reply = get(&suite.url(asset));
        assert_eq!(reply.status, 200, "{asset}");
        assert_eq!(reply.header("cache-control"), Some("public, max-age=31536000, immutable"), "{asset}");
        let etag = reply.header("etag").expect("an etag").to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34, "a strong etag: {etag}");
        let again = request("GET", &suite.url(asset), &[("if-none-match", &etag)], None);
        assert_eq!(again.status, 304, "{asset}");
        assert!(again.body.is_empty());
        let other = request("GET", &suite.url(asset), &[("if-none-match", "\"something-else\"")], None);
        assert_eq!(other.status, 200, "{asset}");
    }
    assert_eq!(get(&suite.url(script)).header("content-type"), Some("text/javascript; charset=utf-8"));
    let css = assets.iter().find(|a| a.ends_with(".css")).unwrap();
    assert_eq!(get(&suite.url(css)).header("content-type"), Some("text/css; charset=utf-8"));
    // The page itself revalidates by its etag too.
    let etag = page.header("etag").unwrap();
    assert_eq!(request("GET", &suite.url("/console/"), &[("if-none-match", etag)], None).status, 304);
}

#[test]
fn console_without_its_slash_redirects_and_unknown_paths_are_problems() {
    let suite = console("console-paths", &[]);
    let head = head_of(&suite, "/console");
    let status = head.lines().next().unwrap_or_default();
    assert!(status.contains("308"), "{status}");
    assert!(head.to_ascii_lowercase().contains("\r\nlocation: /console/\r\n"), "{head}");

    for path in ["/console/nope", "/console/assets/app-NOTTHERE.js", "/console/assets/"] {
        let reply = get(&suite.url(path));
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{path}");
        assert_eq!(reply.json()["code"], "route_not_found", "{path}");
    }
    let reply = request("POST", &suite.url("/console/"), &[], Some(b"{}"));
    assert_eq!(reply.status, 405);
}

/// The response head of `GET path`, read raw (the client library follows redirects).
fn head_of(suite: &Suite, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(suite.app.addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned() + "\r\n"
}

#[test]
fn config_names_no_tile_server_by_default_and_the_policy_allows_one_when_set() {
    let suite = console("console-config", &[]);
    let config = get(&suite.url("/console/config.json"));
    assert_eq!(config.status, 200);
    assert_eq!(config.header("cache-control"), Some("no-cache"));
    assert_eq!(config.json(), serde_json::json!({ "tile_url": null }));
    drop(suite);

    let template = "https://{s}.tiles.example.cn/{z}/{x}/{y}.png";
    let suite = console("console-tiles", &[("console_tile_url", template)]);
    assert_eq!(get(&suite.url("/console/config.json")).json()["tile_url"], template);
    let page = get(&suite.url("/console/"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("img-src 'self' data: blob: https://*.tiles.example.cn;"), "{csp}");
}

#[test]
fn the_console_reports_health_version_and_routes_without_a_key_and_keeps_no_state() {
    let suite = console("console-system", &[]);
    let health = get(&suite.url("/v1/system/console/health"));
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["component"], "console");
    assert!(health.json()["assets"].as_u64().unwrap() >= 3, "{}", health.body);
    let version = get(&suite.url("/v1/system/console/version")).json();
    assert_eq!((version["component"].as_str(), version["schema_version"].is_null()), (Some("console"), true));
    let routes = get(&suite.url("/v1/system/console/routes")).json();
    let paths: Vec<&str> = routes["routes"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/console") && paths.contains(&"/console/assets/{name}"), "{paths:?}");
    // No key store, so no key checks here: the page asks grid-lookup who its key is.
    assert_eq!(request("POST", &suite.url("/v1/system/console/echo"), &[], Some(b"{}")).status, 404);
}
