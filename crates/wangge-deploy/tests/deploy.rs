//! The deployment as scripts/deploy.sh writes it: `all` for the demo city's seven districts,
//! rendered with no cluster and checked: SpinKube's fields, every component and variable of
//! spin.toml bound, no secret in plain text, every CronJob path in the OpenAPI document, and
//! every built-in document against Kubernetes' OpenAPI schemas (PyPI `kubernetes-validate`,
//! installed by scripts/test.sh into target/py-kubernetes-validate).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use wangge_deploy::city::load_districts;
use wangge_deploy::layout::to_yaml;
use wangge_deploy::render::render;
use wangge_deploy::scaling::district_replicas;
use wangge_deploy::spin_manifest::SpinManifest;
use wangge_deploy::{checks, manifests};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn manifest() -> SpinManifest {
    SpinManifest::load(&workspace().join("spin.toml")).unwrap()
}

fn openapi() -> Value {
    serde_json::from_str(&std::fs::read_to_string(workspace().join("schemas/openapi.json")).unwrap()).unwrap()
}

/// Runs `wangge-deploy ARGS` from the workspace root into a fresh `out`.
fn deploy(out: &str, args: &[&str]) -> (PathBuf, std::process::Output) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    let _ = std::fs::remove_dir_all(&dir);
    let output = Command::new(env!("CARGO_BIN_EXE_wangge-deploy"))
        .args(args)
        .args(["--registry", "registry.example/wangge-team", "--tag", "2026.11.1", "--out"])
        .arg(&dir)
        .current_dir(workspace())
        .output()
        .unwrap();
    (dir, output)
}

fn deploy_all(out: &str) -> PathBuf {
    let (dir, output) = deploy(out, &["all"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    dir
}

#[test]
fn all_writes_a_city_part_and_the_seven_districts_and_every_check_passes() {
    let dir = deploy_all("deploy-all");
    let districts = load_districts(&workspace().join("data/nantong")).unwrap();
    let codes: Vec<&str> = districts.iter().map(|d| d.code.as_str()).collect();
    // Urban districts, a county (如东县) and county-level cities (启东市, 如皋市, 海安市).
    assert_eq!(codes, ["320612", "320613", "320614", "320623", "320681", "320682", "320685"]);
    for d in &districts {
        assert!(dir.join(format!("district-{}/base/kustomization.yaml", d.code)).is_file());
        assert!(dir.join(format!("district-{}/overlays/production/kustomization.yaml", d.code)).is_file());
    }
    let documents = render(&dir).unwrap();
    let problems = checks::all(&documents, &manifest(), &openapi());
    assert!(problems.is_empty(), "{problems:#?}");

    let apps: Vec<&Value> = documents.iter().filter(|d| d["kind"] == "SpinApp").collect();
    assert_eq!(apps.len(), 2 + 7);
    for app in &apps {
        assert_eq!(app["spec"]["image"], "registry.example/wangge-team/wangge:2026.11.1");
        assert_eq!(app["metadata"]["namespace"], "wangge");
    }
    for d in &districts {
        let name = manifests::district_app(&d.code);
        let app = apps.iter().find(|a| a["metadata"]["name"] == name.as_str()).unwrap();
        assert_eq!(app["spec"]["components"], json!(["intake", "grid-lookup"]));
        let vars = app["spec"]["variables"].as_array().unwrap();
        assert!(vars.contains(&json!({ "name": "jurisdiction", "value": d.code })), "{name}");
        for chained in ["case_routing_url", "notification_url"] {
            let url = "http://wangge-city.wangge.svc.cluster.local";
            assert!(vars.contains(&json!({ "name": chained, "value": url })), "{name} {chained}");
        }
        let hpa =
            documents.iter().find(|x| x["kind"] == "HorizontalPodAutoscaler" && x["metadata"]["name"] == name.as_str());
        let hpa = hpa.unwrap();
        let r = district_replicas(d);
        assert_eq!(
            (hpa["spec"]["minReplicas"].as_u64(), hpa["spec"]["maxReplicas"].as_u64()),
            (Some(r.min.into()), Some(r.max.into()))
        );
        assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], name.as_str());
        assert_eq!(app["spec"]["enableAutoscaling"], true);
    }
    let city = apps.iter().find(|a| a["metadata"]["name"] == manifests::CITY_APP).unwrap();
    assert_eq!(city["spec"]["components"], json!(["case-routing", "notification", "console"]));
    // The console on api.<domain>: its files from the city app, the grid reads its page makes
    // from the grid-lookup Service, on the same host.
    let ingress = documents.iter().find(|d| d["kind"] == "Ingress" && d["metadata"]["name"] == "wangge-city").unwrap();
    let backend = |path: &str| {
        let paths = ingress["spec"]["rules"][0]["http"]["paths"].as_array().unwrap();
        paths.iter().find(|p| p["path"] == path).map(|p| p["backend"]["service"]["name"].clone())
    };
    assert_eq!(backend("/console"), Some(json!(manifests::CITY_APP)));
    assert_eq!(backend("/v1/system/console"), Some(json!(manifests::CITY_APP)));
    assert_eq!(backend("/v1/grids"), Some(json!(manifests::GRID_LOOKUP_SERVICE)));
    assert_eq!(backend("/v1/system/grid-lookup"), Some(json!(manifests::GRID_LOOKUP_SERVICE)));
    let assessment = apps.iter().find(|a| a["metadata"]["name"] == manifests::ASSESSMENT_APP).unwrap();
    assert_eq!(
        (assessment["spec"]["components"].clone(), assessment["spec"]["replicas"].clone()),
        (json!(["assessment"]), json!(1))
    );
    let schedules: Vec<(&str, &str)> = documents
        .iter()
        .filter(|d| d["kind"] == "CronJob")
        .map(|d| {
            (
                d["metadata"]["annotations"][manifests::API_PATH_ANNOTATION].as_str().unwrap(),
                d["spec"]["schedule"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(schedules.contains(&("/v1/cases/sweep", "*/5 * * * *")));
    assert!(schedules.contains(&("/v1/notifications/dispatch", "* * * * *")));
    assert!(schedules.contains(&("/v1/assessments/{period}/run", "0 2 1 * *")));
    assert_eq!(schedules.iter().filter(|s| *s == &("/v1/events/retry-pending", "* * * * *")).count(), 7);
}

#[test]
fn every_overlay_renders_alone_and_passes_the_per_document_checks() {
    let dir = deploy_all("deploy-each");
    let mut overlays = 0;
    for part in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
        let documents = render(&part.join("overlays/production")).unwrap();
        let mut problems = checks::spin_apps(&documents, &manifest());
        problems.extend(checks::no_plain_secrets(&documents, &manifest()));
        problems.extend(checks::cron_paths(&documents, &openapi()));
        assert!(problems.is_empty(), "{}: {problems:#?}", part.display());
        overlays += 1;
    }
    assert_eq!(overlays, 8);
}

/// `python3 -m kubernetes_validate --strict` on a file of documents: (success, output).
fn kubernetes_validate(documents: &[&Value], name: &str) -> (bool, String) {
    let site = workspace().join("target/py-kubernetes-validate");
    assert!(
        site.join("kubernetes_validate").is_dir(),
        "the validator is missing: python3 -m pip install --target target/py-kubernetes-validate 'kubernetes-validate==1.37.0' (scripts/test.sh does)"
    );
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&file, to_yaml(documents).unwrap()).unwrap();
    let output = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .arg(&file)
        .env("PYTHONPATH", &site)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn every_built_in_document_passes_the_kubernetes_openapi_schemas() {
    let documents = render(&deploy_all("deploy-schemas")).unwrap();
    // SpinApp is a custom resource: the validator has no schema for it (checks::spin_apps has).
    let built_in: Vec<&Value> = documents.iter().filter(|d| d["kind"] != "SpinApp").collect();
    let (ok, text) = kubernetes_validate(&built_in, "rendered.yaml");
    assert!(ok, "{text}");
    assert_eq!(text.matches(" passed for resource ").count(), built_in.len(), "{text}");
    for kind in ["cronjob/", "horizontalpodautoscaler/", "ingress/", "service/", "configmap/"] {
        assert!(text.contains(kind), "{kind}: {text}");
    }

    // And the validator does refuse what is wrong.
    let mut broken = built_in.iter().find(|d| d["kind"] == "HorizontalPodAutoscaler").copied().unwrap().clone();
    broken["spec"]["minReplicas"] = json!("two");
    broken["spec"]["maxReplica"] = json!(3);
    let (ok, text) = kubernetes_validate(&[&broken], "broken.yaml");
    assert!(!ok, "a broken HPA passed: {text}");
}

fn city_and_district(out: &str) -> Vec<Value> {
    render(&deploy_all(out)).unwrap()
}

fn spin_app_mut<'a>(documents: &'a mut [Value], name: &str) -> &'a mut Value {
    documents.iter_mut().find(|d| d["kind"] == "SpinApp" && d["metadata"]["name"] == name).unwrap()
}

#[test]
fn the_checks_catch_what_they_promise_to() {
    let clean = city_and_district("deploy-broken");
    let (m, api) = (manifest(), openapi());
    assert!(checks::all(&clean, &m, &api).is_empty());

    let mut docs = clean.clone();
    spin_app_mut(&mut docs, "wangge-city")["spec"]["replica"] = json!(3);
    assert!(checks::spin_apps(&docs, &m).iter().any(|p| p.contains("spec.replica is not a SpinApp field")));

    let mut docs = clean.clone();
    spin_app_mut(&mut docs, "wangge-city")["spec"]["executor"] = json!("wasmtime");
    assert!(!checks::spin_apps(&docs, &m).is_empty());

    let mut docs = clean.clone();
    let vars = spin_app_mut(&mut docs, "wangge-city")["spec"]["variables"].as_array_mut().unwrap();
    let key = vars.iter_mut().find(|v| v["name"] == "operator_key").unwrap();
    *key = json!({ "name": "operator_key", "value": "not-a-secret-anymore" });
    assert!(checks::no_plain_secrets(&docs, &m).iter().any(|p| p.contains("operator_key")));

    let mut docs = clean.clone();
    docs.push(json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "x" }, "stringData": { "a": "b" } }));
    assert!(!checks::no_plain_secrets(&docs, &m).is_empty());

    let mut docs = clean.clone();
    spin_app_mut(&mut docs, "wangge-assessment")["spec"]["components"] = json!(["case-routing"]);
    let problems = checks::coverage(&docs, &m);
    assert!(problems.iter().any(|p| p.contains("component assessment is in no SpinApp")), "{problems:?}");

    let mut docs = clean.clone();
    let vars = spin_app_mut(&mut docs, "wangge-320612")["spec"]["variables"].as_array_mut().unwrap();
    vars.retain(|v| v["name"] != "rate_limit_per_minute");
    assert!(checks::coverage(&docs, &m).iter().any(|p| p.contains("rate_limit_per_minute")));

    let mut docs = clean.clone();
    let ingress = docs.iter_mut().find(|d| d["kind"] == "Ingress").unwrap();
    let paths = ingress["spec"]["rules"][0]["http"]["paths"].as_array_mut().unwrap();
    paths.push(json!({ "path": "/internal/cases", "pathType": "Exact", "backend": paths[0]["backend"].clone() }));
    assert!(checks::no_plain_secrets(&docs, &m).iter().any(|p| p.contains("exposes \"/internal/cases\"")));

    let mut docs = clean.clone();
    let job = docs.iter_mut().find(|d| d["metadata"]["name"] == "wangge-sweep").unwrap();
    job["metadata"]["annotations"][manifests::API_PATH_ANNOTATION] = json!("/v1/cases/sweeps");
    assert!(checks::cron_paths(&docs, &api).iter().any(|p| p.contains("/v1/cases/sweeps is not in the OpenAPI")));
}

#[test]
fn an_overlay_edit_survives_regeneration_and_patches_the_render() {
    let (dir, output) = deploy("deploy-overlay", &["district", "320623000000"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let patch = dir.join("district-320623/overlays/production/patch-horizontalpodautoscaler-wangge-320623.yaml");
    let edited = std::fs::read_to_string(&patch).unwrap().replace("maxReplicas: 8", "maxReplicas: 42");
    assert!(edited.contains("maxReplicas: 42"), "{edited}");
    std::fs::write(&patch, &edited).unwrap();
    // Regenerate in place (not through `deploy`, which starts afresh).
    let output = Command::new(env!("CARGO_BIN_EXE_wangge-deploy"))
        .args(["district", "320623", "--registry", "r.example", "--tag", "t2", "--out"])
        .arg(&dir)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(std::fs::read_to_string(&patch).unwrap(), edited);
    let documents = render(&dir.join("district-320623/overlays/production")).unwrap();
    let hpa = documents.iter().find(|d| d["kind"] == "HorizontalPodAutoscaler").unwrap();
    assert_eq!(hpa["spec"]["maxReplicas"], 42);
    let app = documents.iter().find(|d| d["kind"] == "SpinApp").unwrap();
    assert_eq!(app["spec"]["image"], "r.example/wangge:t2", "the base is rewritten");
}

#[test]
fn an_unknown_district_is_refused() {
    let (_, output) = deploy("deploy-unknown", &["district", "320699"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no district 320699"));
    let (_, output) = deploy("deploy-bad", &["district", "32061"]);
    assert!(!output.status.success());
}

#[test]
fn scripts_deploy_sh_writes_all_from_any_directory_and_checks_it() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = tmp.join("deploy-script");
    let _ = std::fs::remove_dir_all(&out);
    let script = workspace().join("scripts/deploy.sh");
    // The binary this test run built (a build here could replace it under the other tests).
    let bin = env!("CARGO_BIN_EXE_wangge-deploy");
    // Run from elsewhere: the defaults (spin.toml, data/nantong, the OpenAPI document) are the
    // repository's whatever the working directory.
    let output = Command::new(&script)
        .args(["all", "--registry", "r.example", "--tag", "t", "--out", "deploy-script"])
        .env("WANGGE_DEPLOY_BIN", bin)
        .current_dir(tmp)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("320612 通州区: 1555 grids, 2567 staff: 3..9 replicas"), "{stderr}");
    let output = Command::new(&script)
        .args(["check", "deploy-script"])
        .env("WANGGE_DEPLOY_BIN", bin)
        .current_dir(tmp)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.contains("36 documents, no problems"), "{stderr}");

    // And a check that finds a problem fails.
    let cronjobs = out.join("city/base/cronjobs.yaml");
    let text = std::fs::read_to_string(&cronjobs).unwrap().replace("/v1/cases/sweep", "/v1/cases/sweeps");
    std::fs::write(&cronjobs, text).unwrap();
    let output = Command::new(&script)
        .args(["check", "deploy-script"])
        .env("WANGGE_DEPLOY_BIN", bin)
        .current_dir(tmp)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("post /v1/cases/sweeps is not in the OpenAPI document"));
}

/// spin.toml with the chained targets as variables (README, "Service chaining across apps"):
/// the manifests bind them where the target is in another app, and leave them at their
/// `*.spin.internal` default where it is in the same one.
#[test]
fn chained_target_variables_in_spin_toml_are_bound_where_the_target_is_elsewhere() {
    let text = std::fs::read_to_string(workspace().join("spin.toml")).unwrap();
    let mut m = SpinManifest::parse(&text).unwrap();
    for (var, secret) in
        [("grid_lookup_url", false), ("case_routing_url", false), ("notification_url", false), ("internal_key", true)]
    {
        let default =
            (!secret).then(|| format!("http://{}.spin.internal", var.trim_end_matches("_url").replace('_', "-")));
        m.variables.entry(var.into()).or_insert(wangge_deploy::spin_manifest::Variable { secret, default });
    }
    for (component, targets) in [
        ("intake", &["grid_lookup_url", "case_routing_url"][..]),
        ("grid-lookup", &["case_routing_url"]),
        ("case-routing", &["notification_url"]),
        ("assessment", &["grid_lookup_url", "case_routing_url"]),
        ("notification", &["grid_lookup_url"]),
    ] {
        let used = m.components.get_mut(component).unwrap();
        used.extend(targets.iter().map(|t| t.to_string()));
        used.insert("internal_key".into());
    }
    let settings = manifests::Settings {
        registry: "r".into(),
        tag: "t".into(),
        namespace: "wangge".into(),
        domain: "wangge.example".into(),
    };
    let mut documents: Vec<Value> = manifests::city(&settings, &m).into_iter().map(|d| d.value).collect();
    for d in load_districts(&workspace().join("data/nantong")).unwrap() {
        documents.extend(manifests::district(&settings, &m, &d).into_iter().map(|d| d.value));
    }
    let problems = checks::all(&documents, &m, &openapi());
    assert!(problems.is_empty(), "{problems:#?}");
    let vars = |name: &str| -> Vec<Value> {
        let app = documents.iter().find(|d| d["kind"] == "SpinApp" && d["metadata"]["name"] == name).unwrap();
        app["spec"]["variables"].as_array().unwrap().clone()
    };
    let names =
        |name: &str| -> Vec<String> { vars(name).iter().map(|v| v["name"].as_str().unwrap().to_string()).collect() };
    let grid_lookup =
        json!({ "name": "grid_lookup_url", "value": "http://wangge-grid-lookup.wangge.svc.cluster.local" });
    assert!(vars("wangge-city").contains(&grid_lookup));
    assert!(!names("wangge-city").contains(&"notification_url".to_string()), "notification is in the city app");
    assert!(vars("wangge-assessment").contains(&grid_lookup));
    assert!(!names("wangge-320613").contains(&"grid_lookup_url".to_string()), "grid-lookup is in the district app");
    for app in ["wangge-city", "wangge-assessment", "wangge-320613"] {
        let key = json!({ "name": "internal_key", "valueFrom": { "secretKeyRef": { "name": "wangge-internal-key", "key": "internal_key" } } });
        assert!(vars(app).contains(&key), "{app}");
    }
}

/// Runs a CronJob's command with `date` answering `ymd` (UTC) and `curl` printing its arguments.
fn run_cron_command(job: &Value, year: &str, month: &str) -> String {
    let bin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fake-bin-{year}-{month}"));
    std::fs::create_dir_all(&bin).unwrap();
    let date = format!("#!/bin/sh\ncase \"$2\" in +%Y) echo {year};; +%m) echo {month};; esac\n");
    std::fs::write(bin.join("date"), date).unwrap();
    std::fs::write(bin.join("curl"), "#!/bin/sh\necho \"$@\"\n").unwrap();
    for tool in ["date", "curl"] {
        Command::new("chmod").arg("+x").arg(bin.join(tool)).status().unwrap();
    }
    let command: Vec<String> = serde_json::from_value(
        job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"].clone(),
    )
    .unwrap();
    let output = Command::new(&command[0])
        .args(&command[1..])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("WANGGE_KEY", "k")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_monthly_run_assesses_the_month_just_closed_and_every_job_posts_with_its_key() {
    let settings = manifests::Settings {
        registry: "r".into(),
        tag: "t".into(),
        namespace: "wangge".into(),
        domain: "wangge.example".into(),
    };
    let documents: Vec<Value> = manifests::city(&settings, &manifest()).into_iter().map(|d| d.value).collect();
    let job = |name: &str| documents.iter().find(|d| d["metadata"]["name"] == name).unwrap();
    let run = job("wangge-assessment-run");
    let url = "http://wangge-assessment.wangge.svc.cluster.local/v1/assessments";
    assert!(run_cron_command(run, "2026", "12").contains(&format!("{url}/2026-11/run")));
    assert!(run_cron_command(run, "2027", "01").contains(&format!("{url}/2026-12/run")));
    assert!(run_cron_command(run, "2026", "10").contains(&format!("{url}/2026-09/run")));
    let sweep = run_cron_command(job("wangge-sweep"), "2026", "11");
    assert!(
        sweep.contains("-X POST -H Authorization: Bearer k http://wangge-city.wangge.svc.cluster.local/v1/cases/sweep"),
        "{sweep}"
    );
}
