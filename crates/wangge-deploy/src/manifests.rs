//! The Kubernetes documents of each part: the city part (case-routing, notification and the
//! command-centre console in one SpinApp, assessment as one small replica, the shared
//! ConfigMap, the grid-lookup Service, the city-wide CronJobs, the city API's Ingress) and a
//! district part (its intake and grid-lookup in one SpinApp with an HPA, its retry-pending
//! CronJob, its host's Ingress).
//!
//! The console's page calls the API on its own origin, `api.<domain>`: so the city Ingress
//! also routes grid-lookup's public routes (the outlines, grids, addresses, the key's `echo`)
//! to the grid-lookup Service over every district's pods.
//!
//! No document holds a secret value: SpinApp variables and CronJob keys name a key of a Secret
//! the operator creates ([`SECRETS`]), and the runtime config is loaded from one.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::city::District;
use crate::scaling::{CPU_TARGET_PERCENT, district_replicas};
use crate::spin_manifest::SpinManifest;

/// SpinKube's API version of `SpinApp`.
pub const SPINAPP_API_VERSION: &str = "core.spinkube.dev/v1alpha1";
/// The executor every SpinApp names (SpinKube's shim for Spin on containerd).
pub const EXECUTOR: &str = "containerd-shim-spin";
/// The ConfigMap that holds every non-secret variable's value (spin.toml's defaults at first).
pub const CONFIG_MAP: &str = "wangge-config";
/// The Secret holding the runtime config (`runtime-config.toml`: the key-value store on Redis).
pub const RUNTIME_CONFIG_SECRET: &str = "wangge-runtime-config";
/// The city app: case-routing, notification and the console.
pub const CITY_APP: &str = "wangge-city";
/// The assessment app: one small replica.
pub const ASSESSMENT_APP: &str = "wangge-assessment";
/// The Service in front of every district's grid-lookup (they share one registry database).
pub const GRID_LOOKUP_SERVICE: &str = "wangge-grid-lookup";
/// The pod label that puts a district's pods behind [`GRID_LOOKUP_SERVICE`].
pub const GRID_LOOKUP_LABEL: (&str, &str) = ("wangge.dev/grid-lookup", "serve");
/// The chained-target variables: where a component reaches another app, and the key it sends.
pub const CHAIN_VARIABLES: [&str; 4] = ["grid_lookup_url", "case_routing_url", "notification_url", "internal_key"];
/// The annotations a CronJob carries: the API method and path it calls (checked against the
/// OpenAPI document).
pub const API_METHOD_ANNOTATION: &str = "wangge.dev/api-method";
/// See [`API_METHOD_ANNOTATION`].
pub const API_PATH_ANNOTATION: &str = "wangge.dev/api-path";

/// The Secrets the operator creates (name, keys, what each holds); the manifests only name them.
pub const SECRETS: [(&str, &[&str], &str); 7] = [
    ("wangge-operator-key", &["operator_key"], "the operator key"),
    ("wangge-internal-key", &["internal_key"], "the key a caller sends when it calls another app by URL"),
    (
        "wangge-databases",
        &[
            "intake_database_url",
            "grid_lookup_database_url",
            "case_routing_database_url",
            "assessment_database_url",
            "notification_database_url",
        ],
        "each function's PostgreSQL URL, with user and password",
    ),
    ("wangge-channels", &["wechat_secret", "sms_api_key", "webhook_secret"], "notification's channel credentials"),
    (RUNTIME_CONFIG_SECRET, &["runtime-config.toml"], "runtime-config/cluster.toml with the Redis URL in it"),
    ("wangge-scheduler-key", &["key"], "an integrator key with scope `scheduler`, every region"),
    ("wangge-assessment-key", &["key"], "an integrator key with scope `assessments:run`, every region"),
];

/// The Secret a secret variable is read from.
pub fn secret_of(variable: &str) -> &'static str {
    SECRETS.iter().find(|(_, keys, _)| keys.contains(&variable)).map_or("wangge-channels", |(name, _, _)| name)
}

/// What every part is built with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The OCI registry the app was pushed to (`ghcr.io/example`).
    pub registry: String,
    /// The image tag.
    pub tag: String,
    /// The namespace everything lives in.
    pub namespace: String,
    /// The DNS domain of the Ingress hosts: `api.<domain>` and `<district code>.<domain>`.
    pub domain: String,
}

impl Settings {
    /// The app's image: `<registry>/wangge:<tag>`.
    pub fn image(&self) -> String {
        format!("{}/wangge:{}", self.registry.trim_end_matches('/'), self.tag)
    }

    /// A Service's cluster URL (`http://<name>.<namespace>.svc.cluster.local`).
    pub fn service_url(&self, name: &str) -> String {
        format!("http://{name}.{}.svc.cluster.local", self.namespace)
    }
}

/// One generated document and the base file it goes in.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file name in the base (`spinapp.yaml`).
    pub file: &'static str,
    /// The document.
    pub value: Value,
}

/// A district app's name: `wangge-<code>`.
pub fn district_app(code: &str) -> String {
    format!("wangge-{code}")
}

/// The SpinApp `variables:` for these components: every application variable they use, a
/// secret one from its Secret, `literal` ones as given, the rest from [`CONFIG_MAP`]; then the
/// chained targets in `literal` they may not name yet, and the internal key.
fn variables(manifest: &SpinManifest, components: &[&str], literal: &BTreeMap<&str, String>) -> Value {
    let mut names = manifest.variables_of(components.iter().copied());
    names.extend(literal.keys().map(|k| k.to_string()));
    names.insert("internal_key".to_string());
    // A chained target not given here stays at its `*.spin.internal` default (it is in this app).
    let bound: Vec<Value> = names
        .iter()
        .filter(|name| {
            literal.contains_key(name.as_str()) || !name.ends_with("_url") || !CHAIN_VARIABLES.contains(&name.as_str())
        })
        .map(|name| {
            let secret = manifest.variables.get(name).is_some_and(|v| v.secret) || name == "internal_key";
            match literal.get(name.as_str()) {
                Some(value) => json!({ "name": name, "value": value }),
                None if secret => {
                    json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret_of(name), "key": name } } })
                }
                None => {
                    json!({ "name": name, "valueFrom": { "configMapKeyRef": { "name": CONFIG_MAP, "key": name } } })
                }
            }
        })
        .collect();
    Value::Array(bound)
}

fn spin_app(settings: &Settings, name: &str, components: &[&str], variables: Value) -> Value {
    json!({
        "apiVersion": SPINAPP_API_VERSION,
        "kind": "SpinApp",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/part-of": "wangge" } },
        "spec": {
            "image": settings.image(),
            "executor": EXECUTOR,
            "components": components,
            "runtimeConfig": { "loadFromSecret": RUNTIME_CONFIG_SECRET },
            "variables": variables,
            // Ready when its database and store answer; alive while it answers at all (a
            // database outage takes it out of the Service, it does not restart it).
            "checks": {
                "readiness": { "httpGet": { "path": format!("/v1/system/{}/health", components[0]) } },
                "liveness": { "httpGet": { "path": format!("/v1/system/{}/version", components[0]) } },
            },
        },
    })
}

fn resources(cpu: (&str, &str), memory: (&str, &str)) -> Value {
    json!({ "requests": { "cpu": cpu.0, "memory": memory.0 }, "limits": { "cpu": cpu.1, "memory": memory.1 } })
}

/// A CronJob that POSTs to `path` on `app` with the key from `secret` (curl in a small image).
/// `{period}` in the path is the month before the run's (the month just closed).
fn cron_job(settings: &Settings, name: &str, schedule: &str, app: &str, path: &str, secret: &str) -> Value {
    let url = format!("{}{}", settings.service_url(app), path.replace("{period}", "${period}"));
    let mut script = String::from("set -eu\n");
    if path.contains("{period}") {
        script.push_str(concat!(
            "y=$(date -u +%Y); m=$(date -u +%m); m=${m#0}\n",
            "if [ \"$m\" -eq 1 ]; then y=$((y - 1)); m=12; else m=$((m - 1)); fi\n",
            "period=$(printf '%04d-%02d' \"$y\" \"$m\")\n",
        ));
    }
    script.push_str(&format!("curl -fsS --max-time 300 -X POST -H \"Authorization: Bearer $WANGGE_KEY\" \"{url}\"\n"));
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "labels": { "app.kubernetes.io/part-of": "wangge" },
            "annotations": { API_METHOD_ANNOTATION: "post", API_PATH_ANNOTATION: path },
        },
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": { "spec": { "backoffLimit": 2, "template": { "spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "call",
                    "image": "curlimages/curl:8.11.1",
                    "command": ["/bin/sh", "-c", script],
                    "env": [{ "name": "WANGGE_KEY", "valueFrom": { "secretKeyRef": { "name": secret, "key": "key" } } }],
                    "resources": resources(("10m", "100m"), ("16Mi", "64Mi")),
                }],
            } } } },
        },
    })
}

/// An Ingress for `host`: each component's public routes to the app that serves it. A route
/// ending in `/...` is a prefix; any other is exact. `/internal/...` routes are left out.
fn ingress(name: &str, host: &str, manifest: &SpinManifest, apps: &[(&str, &str)]) -> Value {
    let mut paths = Vec::new();
    for (component, app) in apps {
        // Internal routes are for other apps over cluster Services, never for the Ingress.
        let public = manifest.routes.get(*component).into_iter().flatten().filter(|r| !r.starts_with("/internal"));
        for route in public {
            let (path, kind) = match route.strip_suffix("/...") {
                Some(prefix) => (prefix.to_string(), "Prefix"),
                None => (route.clone(), "Exact"),
            };
            paths.push(json!({
                "path": path,
                "pathType": kind,
                "backend": { "service": { "name": app, "port": { "number": 80 } } },
            }));
        }
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/part-of": "wangge" } },
        "spec": { "rules": [{ "host": host, "http": { "paths": paths } }] },
    })
}

/// The city app's components: the console (static files, no state) rides along with
/// case-routing and notification.
pub const CITY_COMPONENTS: [&str; 3] = ["case-routing", "notification", "console"];

/// The city app (case-routing, notification, console) and the assessment app.
fn city_apps(settings: &Settings, manifest: &SpinManifest) -> [Value; 2] {
    let grid_lookup = settings.service_url(GRID_LOOKUP_SERVICE);
    let city_url = settings.service_url(CITY_APP);
    let mut literal = BTreeMap::from([("grid_lookup_url", grid_lookup)]);
    let components = CITY_COMPONENTS;
    let mut city_app = spin_app(settings, CITY_APP, &components, variables(manifest, &components, &literal));
    city_app["spec"]["replicas"] = json!(2);
    city_app["spec"]["resources"] = resources(("100m", "1"), ("128Mi", "512Mi"));
    literal.insert("case_routing_url", city_url.clone());
    literal.insert("notification_url", city_url);
    let mut assessment =
        spin_app(settings, ASSESSMENT_APP, &["assessment"], variables(manifest, &["assessment"], &literal));
    assessment["spec"]["replicas"] = json!(1);
    assessment["spec"]["resources"] = resources(("50m", "500m"), ("64Mi", "256Mi"));
    [city_app, assessment]
}

/// The ConfigMap of every non-secret variable (spin.toml's defaults; `jurisdiction` and the
/// chained targets are set per app) and the Service over every district's grid-lookup.
fn shared(manifest: &SpinManifest) -> [Value; 2] {
    let mut config = serde_json::Map::new();
    for (name, variable) in &manifest.variables {
        let per_app = name == "jurisdiction" || CHAIN_VARIABLES.contains(&name.as_str());
        if let (false, false, Some(default)) = (variable.secret, per_app, &variable.default) {
            config.insert(name.clone(), json!(default));
        }
    }
    let (label, value) = GRID_LOOKUP_LABEL;
    [
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": CONFIG_MAP }, "data": config }),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": GRID_LOOKUP_SERVICE },
            "spec": { "selector": { label: value }, "ports": [{ "name": "http", "port": 80, "targetPort": 80 }] },
        }),
    ]
}

/// The city part: the city app, assessment, the shared ConfigMap and grid-lookup Service, the
/// city-wide CronJobs (sweep every 5 minutes, dispatch every minute, the month just closed
/// assessed at 02:00 UTC on the 1st) and the city API's Ingress.
pub fn city(settings: &Settings, manifest: &SpinManifest) -> Vec<Document> {
    let [city_app, assessment] = city_apps(settings, manifest);
    let [config, service] = shared(manifest);
    let scheduler = "wangge-scheduler-key";
    let cron_jobs = [
        cron_job(settings, "wangge-sweep", "*/5 * * * *", CITY_APP, "/v1/cases/sweep", scheduler),
        cron_job(settings, "wangge-dispatch", "* * * * *", CITY_APP, "/v1/notifications/dispatch", scheduler),
        cron_job(
            settings,
            "wangge-assessment-run",
            "0 2 1 * *",
            ASSESSMENT_APP,
            "/v1/assessments/{period}/run",
            "wangge-assessment-key",
        ),
    ];
    let routes = [
        ("case-routing", CITY_APP),
        ("notification", CITY_APP),
        ("console", CITY_APP),
        ("assessment", ASSESSMENT_APP),
        // For the console on this host: grid reads from any district's grid-lookup.
        ("grid-lookup", GRID_LOOKUP_SERVICE),
    ];
    let ingress = ingress("wangge-city", &format!("api.{}", settings.domain), manifest, &routes);
    let mut documents = vec![
        Document { file: "spinapp-city.yaml", value: city_app },
        Document { file: "spinapp-assessment.yaml", value: assessment },
        Document { file: "configmap.yaml", value: config },
        Document { file: "service-grid-lookup.yaml", value: service },
        Document { file: "ingress.yaml", value: ingress },
    ];
    documents.extend(cron_jobs.into_iter().map(|value| Document { file: "cronjobs.yaml", value }));
    documents
}

/// A district part: its intake and grid-lookup (jurisdiction = its code) scaled by an HPA from
/// its size, its retry-pending CronJob, and its host's Ingress.
pub fn district(settings: &Settings, manifest: &SpinManifest, district: &District) -> Vec<Document> {
    let name = district_app(&district.code);
    let city_url = settings.service_url(CITY_APP);
    let literal = BTreeMap::from([
        ("jurisdiction", district.code.clone()),
        ("case_routing_url", city_url.clone()),
        ("notification_url", city_url),
    ]);
    let components = ["intake", "grid-lookup"];
    let mut app = spin_app(settings, &name, &components, variables(manifest, &components, &literal));
    app["metadata"]["labels"]["wangge.dev/district"] = json!(district.code);
    app["spec"]["enableAutoscaling"] = json!(true);
    app["spec"]["resources"] = resources(("100m", "1"), ("128Mi", "512Mi"));
    let (label, value) = GRID_LOOKUP_LABEL;
    app["spec"]["podLabels"] = json!({ label: value, "wangge.dev/district": district.code });
    let replicas = district_replicas(district);
    let hpa = json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "annotations": { "wangge.dev/size": format!("{} grids, {} staff", district.grids, district.staff) },
        },
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": name },
            "minReplicas": replicas.min,
            "maxReplicas": replicas.max,
            "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT,
            } } }],
        },
    });
    vec![
        Document { file: "spinapp.yaml", value: app },
        Document { file: "hpa.yaml", value: hpa },
        Document {
            file: "cronjobs.yaml",
            value: cron_job(
                settings,
                &format!("{name}-retry-pending"),
                "* * * * *",
                &name,
                "/v1/events/retry-pending",
                "wangge-scheduler-key",
            ),
        },
        Document {
            file: "ingress.yaml",
            value: ingress(
                &name,
                &format!("{}.{}", district.code, settings.domain),
                manifest,
                &[("intake", &name), ("grid-lookup", &name)],
            ),
        },
    ]
}
