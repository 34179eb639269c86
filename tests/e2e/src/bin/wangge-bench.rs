//! `scripts/bench.sh`: figures measured side by side in one process, each printed
//! beside the trivial-component baseline of the same run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wangge_e2e::load::{self, Figure, fire};
use wangge_e2e::*;
use wangge_host::{AppOptions, GuestLogs, RunningApp};

struct Args {
    seconds: u64,
    clients: usize,
    city_grids: usize,
    sweep_cases: usize,
    facts_cases: usize,
    dispatch_messages: usize,
    year_cases: usize,
    /// `--only actions|intake|locate|replicas|notification|assessment|triage`: the baselines and
    /// that, nothing else.
    only: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        seconds: 5,
        clients: 16,
        city_grids: 1_000_000,
        sweep_cases: 100_000,
        facts_cases: 1_000_000,
        dispatch_messages: 10_000,
        year_cases: 1_200_000,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{a} takes a number"));
        match a.as_str() {
            "--seconds" => args.seconds = value() as u64,
            "--clients" => args.clients = value(),
            "--city-grids" => args.city_grids = value(),
            "--sweep-cases" => args.sweep_cases = value(),
            "--facts-cases" => args.facts_cases = value(),
            "--dispatch-messages" => args.dispatch_messages = value(),
            "--year-cases" => args.year_cases = value(),
            "--only" => match it.next().as_deref() {
                Some(
                    group @ ("actions" | "intake" | "notification" | "assessment" | "locate" | "replicas" | "triage"),
                ) => args.only = Some(group.to_owned()),
                other => panic!(
                    "--only takes `actions`, `intake`, `locate`, `replicas`, `notification`, `assessment` or `triage`, not {other:?}"
                ),
            },
            other => panic!(
                "unknown argument {other}: use --seconds N --clients N --city-grids N --sweep-cases N --facts-cases N --dispatch-messages N --year-cases N [--only actions|intake|notification|assessment]"
            ),
        }
    }
    args
}

/// Paced rates, requests per second over 16 clients: case actions and intake.
const ACTION_RATES: [f64; 3] = [50.0, 100.0, 200.0];
const INTAKE_RATES: [f64; 3] = [50.0, 100.0, 200.0];

/// The trivial component, measured each way a figure of the run is: a closed loop at
/// full concurrency and at one client, and paced at each rate a figure is paced at.
struct Baselines {
    closed: Figure,
    single: Figure,
    paced: Vec<Figure>,
}

impl Baselines {
    fn measure(trivial: &Arc<load::Shot>, clients: usize, duration: Duration, rates: &[f64]) -> Baselines {
        let closed = load::run("trivial component (baseline)", clients, duration, trivial.clone());
        let single = load::run("trivial component, 1 client", 1, duration, trivial.clone());
        let paced = rates
            .iter()
            .map(|&rate| {
                load::run_paced(
                    &format!("trivial, {clients} clients at {rate}/s"),
                    clients,
                    rate,
                    duration,
                    trivial.clone(),
                )
            })
            .collect();
        Baselines { closed, single, paced }
    }

    /// The baseline measured the way `figure` was.
    fn of(&self, figure: &Figure) -> &Figure {
        match figure.rate {
            Some(rate) => self.paced.iter().find(|b| b.rate == Some(rate)).unwrap_or(&self.closed),
            None if figure.clients == 1 => &self.single,
            None => &self.closed,
        }
    }

    /// The table: the baselines, then each figure beside its own.
    fn table<'a>(&self, figures: impl IntoIterator<Item = &'a Figure>) -> String {
        let mut lines = vec![load::header()];
        for b in std::iter::once(&self.closed).chain([&self.single]).chain(&self.paced) {
            lines.push(load::row(b, b));
        }
        lines.extend(figures.into_iter().map(|f| load::row(f, self.of(f))));
        lines.join("\n")
    }
}

/// A cheap deterministic mix of `i`, for spreading points.
fn mix(i: usize, salt: u64) -> f64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn locate_shot(url: String, points: Arc<Vec<(f64, f64)>>) -> Arc<load::Shot> {
    let auth = bearer(OPERATOR_KEY);
    Arc::new(move |agent: &ureq::Agent, i: usize| {
        let (lng, lat) = points[i % points.len()];
        fire(agent.get(format!("{url}?lng={lng:.6}&lat={lat:.6}")).header("authorization", &auth).call(), &[200])
    })
}

/// Case actions: comments on 5,000 open cases, each one transaction that reads the
/// case, bumps its version and appends to the log. At one client (the action's own
/// cost), at `clients` in a closed loop (the most it does), and at `clients` paced at
/// each of [`ACTION_RATES`] (the latency an actor sees at a load it sustains). The app
/// is returned to outlive the figures' use of it.
fn action_figures(clients: usize, duration: Duration) -> (Suite, Vec<Figure>) {
    let actions_app = cases_app("bench-actions");
    let now = wangge_core::time::now_utc();
    wangge_e2e::synthetic::generate_cases(&actions_app.store("case_routing"), 5000, now, 0, true);
    let action_url = actions_app.url("/v1/cases");
    let auth = bearer(OPERATOR_KEY);
    let action: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent, i: usize| {
        let id = format!("01900000-0000-7000-8000-{:012}", i % 5000);
        let body = r#"{"action":"comment","actor":{"kind":"centre","id":"3206"},"note":"bench"}"#;
        fire(
            agent
                .post(format!("{action_url}/{id}/actions"))
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body),
            &[200],
        )
    });
    let labels = ["case_routing", "notification"];
    settle(&actions_app, &labels);
    let mut figures = vec![load::run("case action (comment), 1 client", 1, duration, action.clone())];
    settle(&actions_app, &labels);
    figures.push(load::run(&format!("case action (comment), {clients} clients"), clients, duration, action.clone()));
    for rate in ACTION_RATES {
        settle(&actions_app, &labels);
        let name = format!("case action, {clients} clients at {rate}/s");
        figures.push(load::run_paced(&name, clients, rate, duration, action.clone()));
    }
    (actions_app, figures)
}

/// Between figures: the WAL an earlier run left behind is folded into the database
/// file (SQLite), or written out to the tables (PostgreSQL's `CHECKPOINT`), so that no
/// figure pays for the checkpoint of the one before it.
fn settle(suite: &Suite, labels: &[&str]) {
    match profile() {
        Profile::Embedded => {
            for label in labels {
                suite.database(label).query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
            }
        }
        Profile::Cluster => {
            suite.sql(labels[0], "CHECKPOINT", &[]);
        }
    }
}

/// case-routing (with grid-lookup and notification) and its reference data, for the
/// case benchmarks; its internal routes are public here (`fixtures/cases-bench.toml`).
fn cases_app(name: &str) -> Suite {
    let mut options = options(name, &[]);
    options.manifest = workspace_root().join("tests/e2e/fixtures/cases-bench.toml");
    let app = start_with(options);
    app.load_reference();
    app
}

/// A resident's report at a point of `points`, posted to `urls` in turn: for the replica
/// figure, where every answer with an event id counts.
fn intake_shot(urls: Vec<String>, points: Arc<Vec<(f64, f64)>>) -> Arc<load::Shot> {
    let auth = bearer(OPERATOR_KEY);
    Arc::new(move |agent: &ureq::Agent, i: usize| {
        let (lng, lat) = points[(i * 7919) % points.len()];
        let body = format!(
            r#"{{"source":"resident","reporter":{{"name":"测试","phone":"13800000000"}},"category":"B05","description":"bench","location":{{"lng":{lng},"lat":{lat}}}}}"#
        );
        let url = &urls[i % urls.len()];
        fire(
            agent
                .post(url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body.as_str()),
            &[201, 202],
        )
    })
}

/// Intake at 1, 16 and 64 clients on the demo city, and at `clients` paced at each of
/// [`INTAKE_RATES`]: resident reports at interior points of random grids, in varied
/// categories. Afterwards the queue is drained and
/// every answered event is counted against intake's and case-routing's records.
fn intake_figures(
    suite: &Suite,
    points: Arc<Vec<(f64, f64)>>,
    clients: usize,
    duration: Duration,
) -> (Vec<Figure>, String) {
    const CATEGORIES: [&str; 8] = ["B05", "C03", "C04", "C05", "C07", "D01", "A01", "B04"];
    let answered = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let url = suite.url("/v1/events");
    let auth = bearer(OPERATOR_KEY);
    let shot: Arc<load::Shot> = {
        let answered = answered.clone();
        Arc::new(move |agent: &ureq::Agent, i: usize| {
            let (lng, lat) = points[(i * 7919) % points.len()];
            let body = format!(
                r#"{{"source":"resident","reporter":{{"name":"测试","phone":"13800000000"}},"category":"{}","description":"bench","location":{{"lng":{lng},"lat":{lat}}}}}"#,
                CATEGORIES[i % CATEGORIES.len()]
            );
            let response = agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body.as_str());
            match response {
                Ok(mut r) if matches!(r.status().as_u16(), 201 | 202) => {
                    let timing = r.headers().get("server-timing").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let answer: serde_json::Value = r
                        .body_mut()
                        .read_to_vec()
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or_default();
                    let ok =
                        answer["event_id"].as_str().map(|id| answered.lock().unwrap().push(id.to_owned())).is_some();
                    load::Outcome::new(ok, timing.as_deref())
                }
                _ => load::Outcome::new(false, None),
            }
        })
    };
    let labels = ["intake", "grid_lookup", "case_routing", "notification"];
    let mut figures: Vec<Figure> = [1, 16, 64]
        .into_iter()
        .map(|clients| {
            settle(suite, &labels);
            load::run(
                &format!("intake POST /v1/events, {clients} client{}", if clients == 1 { "" } else { "s" }),
                clients,
                duration,
                shot.clone(),
            )
        })
        .collect();
    for rate in INTAKE_RATES {
        settle(suite, &labels);
        let name = format!("intake, {clients} clients at {rate}/s");
        figures.push(load::run_paced(&name, clients, rate, duration, shot.clone()));
    }
    // Drain what waits (nothing should), then count.
    for _ in 0..100 {
        let r = call("POST", &suite.url("/v1/events/retry-pending?limit=500"), OPERATOR_KEY, None).json();
        if r["pending"] == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let answered = answered.lock().unwrap();
    let distinct: std::collections::HashSet<&String> = answered.iter().collect();
    let events = suite.count("intake", "events");
    let accepted = suite.sql_i64("intake", "SELECT count(*) FROM events WHERE status IN ('accepted', 'merged')", &[]);
    let cases = suite.count("case_routing", "cases");
    let merged = suite.sql_i64("case_routing", "SELECT count(*) FROM cases WHERE state = 'merged'", &[]);
    let lost = distinct.len() as i64 - accepted;
    let doubled = answered.len() - distinct.len() + (cases - events).max(0) as usize;
    let summary = format!(
        "  events answered {} (distinct {}), stored {events}, cases {cases} ({merged} merged duplicates): {lost} lost, {doubled} doubled",
        answered.len(),
        distinct.len()
    );
    (figures, summary)
}

/// Dispatch against loopback stand-ins of WeChat, the SMS gateway, the hotline and a
/// webhook receiver: `messages` outbox messages (a third each: an urgent message to a
/// reporter, WeChat and SMS; a centre's webhook; a hotline callback), written straight
/// into notification's database, then dispatched in batches of 1000 until none is due.
fn dispatch_figure(messages: usize) -> String {
    let fake = wangge_e2e::fake::Fake::start();
    let mut options = options("bench-dispatch", &["notification", "grid-lookup", "case-routing"]);
    for (name, value) in [
        ("wechat_origin", fake.url.as_str()),
        ("wechat_appid", "wx-bench"),
        ("wechat_secret", "s"),
        ("sms_origin", fake.url.as_str()),
        ("hotline_origin", fake.url.as_str()),
        ("webhook_origin", fake.url.as_str()),
        ("webhook_secret", "s"),
    ] {
        options.variables.insert(name.to_owned(), value.to_owned());
    }
    let suite = start_with(options);
    assert_eq!(get(&suite.url("/v1/system/notification/health")).status, 200);
    {
        use wangge_core::Sql;
        let db = suite.store("notification");
        db.execute("BEGIN", &[]).unwrap();
        let now = wangge_core::time::render(wangge_core::time::now_utc());
        for i in 0..messages {
            let (kind, recipient, id, urgency) = match i % 3 {
                0 => ("case_accepted", "reporter", format!("c{i}"), "urgent"),
                1 => ("escalation", "centre", "320613001000".to_owned(), "normal"),
                _ => ("hotline_result", "hotline", format!("12345-{i}"), "normal"),
            };
            db.execute(
                "INSERT INTO outbox (id, idempotency_key, kind, case_id, recipient_kind, recipient_id, recipient_phone, \
                 recipient_openid, urgency, payload, created_at) VALUES (?1, ?1, ?2, ?3, ?4, ?5, '13800000000', 'oBENCH', ?6, \
                 '{\"state\":\"closed\"}', ?7)",
                &[
                    format!("m{i:08}").into(),
                    kind.into(),
                    format!("c{i}").into(),
                    recipient.into(),
                    id.into(),
                    urgency.into(),
                    now.as_str().into(),
                ],
            )
            .unwrap();
        }
        db.execute("COMMIT", &[]).unwrap();
    }
    let started = std::time::Instant::now();
    let mut app_ms = 0.0;
    let mut passes = 0;
    loop {
        let reply = call("POST", &suite.url("/v1/notifications/dispatch?limit=1000"), OPERATOR_KEY, None);
        assert_eq!(reply.status, 200, "dispatch: {}", reply.body);
        app_ms += server_ms(&reply);
        passes += 1;
        let pass = reply.json();
        if pass["claimed"] == 0 && pass["more"] == false {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let delivered = suite.sql_i64("notification", "SELECT count(*) FROM deliveries WHERE state = 'delivered'", &[]);
    let received = fake.requests("/").len() - fake.token_fetches();
    format!(
        "  dispatch: {messages} messages → {delivered} deliveries in {seconds:.2} s over {passes} passes: \
         {:.0} deliveries/s ({:.0} ms in the component); the receiver got {received}",
        delivered as f64 / seconds,
        app_ms
    )
}

/// A month, a quarter and a year of `year_cases` synthetic cases over the demo city's
/// 9207 grids, written straight into case-routing's database; each run timed in the
/// component, with the largest instance memory it reached.
fn assessment_figures(year_cases: usize) -> String {
    let mut options = options("bench-assessment", &[]);
    options.max_instances = 1000;
    copy_city(&mut options);
    let grids: Vec<(String, String)> = {
        use wangge_core::Sql;
        let rows = wangge_e2e::store_of(&options, "grid_lookup")
            .execute(
                "SELECT code, region_code FROM grids WHERE version = (SELECT max(version) FROM grids) AND kind = 'comprehensive'",
                &[],
            )
            .expect("grids");
        let text = |v: &wangge_core::SqlValue| v.as_str().unwrap_or_default().to_owned();
        rows.rows.iter().map(|r| (text(&r[0]), text(&r[1]))).collect()
    };
    eprintln!("generating {year_cases} cases over {} grids ...", grids.len());
    wangge_e2e::synthetic::generate_year(&wangge_e2e::store_of(&options, "case_routing"), &grids, year_cases, 2026);
    let suite = start_with(options);
    let mut lines = Vec::new();
    for period in ["2026-10", "2026-Q4", "2026"] {
        suite.app.app.take_peak_instance_memory();
        let started = std::time::Instant::now();
        let reply = call("POST", &suite.url(&format!("/v1/assessments/{period}/run")), OPERATOR_KEY, None);
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(reply.status, 200, "run {period}: {}", reply.body);
        let memory = suite.app.app.take_peak_instance_memory();
        let answer = reply.json();
        lines.push(format!(
            "  {period:<8} {:>9} facts in {seconds:>6.2} s ({:.0} ms in the component), peak instance memory {:.1} MiB",
            answer["facts"],
            server_ms(&reply),
            memory as f64 / 1048576.0
        ));
        let stages: Vec<String> = answer["progress"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| format!("{} {} at {} ms", s["stage"].as_str().unwrap_or(""), s["count"], s["ms"]))
            .collect();
        lines.push(format!("           stages: {}", stages.join("; ")));
    }
    lines.join("\n")
}

fn server_ms(reply: &Reply) -> f64 {
    load::app_ms(reply.header("server-timing")).unwrap_or(0.0)
}

fn main() {
    let args = args();
    let duration = Duration::from_secs(args.seconds);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "wangge bench: host tests/host (wasmtime 48.0.8, pooling), {cores} cores, {} clients, {} s per figure",
        args.clients, args.seconds
    );
    println!(
        "profile: {}",
        match profile() {
            Profile::Embedded => "embedded (SQLite files, SQLite key-value)".to_owned(),
            Profile::Cluster => format!(
                "cluster (PostgreSQL {}, settings {:?}; Redis key-value)",
                shared_postgres().sql("postgres", "SHOW server_version"),
                std::env::var("WANGGE_PG_SETTINGS").unwrap_or_default()
            ),
        }
    );
    if profile() == Profile::Cluster
        && !matches!(args.only.as_deref(), Some("actions" | "intake" | "locate" | "replicas"))
    {
        eprintln!(
            "on the cluster profile, run --only actions, intake, locate or replicas (the synthetic city is a SQLite file)"
        );
        std::process::exit(2);
    }
    if args.only.as_deref() == Some("replicas") && profile() != Profile::Cluster {
        eprintln!("--only replicas runs on the cluster profile (WANGGE_PROFILE=cluster): replicas share PostgreSQL");
        std::process::exit(2);
    }

    // Baseline: the probe component answering a constant, nothing else.
    require_wasm("wangge_probe");
    let mut probe = AppOptions::new(workspace_root().join("tests/host/tests/fixtures/probe.toml"));
    probe.state_dir = Some(temp_dir("bench-probe"));
    probe.runtime_config = Some(workspace_root().join("tests/host/tests/fixtures/probe-runtime.toml"));
    probe.variables.insert("secret_token".into(), "bench".into());
    probe.guest_logs = GuestLogs::Files;
    let probe = RunningApp::start(&probe, "127.0.0.1:0").expect("start the probe app");
    let trivial_url = probe.url("/probe/exact");
    let trivial: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent, _| fire(agent.get(&trivial_url).call(), &[200]));

    // The groups that need neither the demo city's suite nor its points.
    match args.only.as_deref() {
        Some("actions") => {
            let baselines = Baselines::measure(&trivial, args.clients, duration, &ACTION_RATES);
            let (_app, figures) = action_figures(args.clients, duration);
            println!();
            println!("{}", baselines.table(&figures));
            return;
        }
        Some(group @ ("assessment" | "notification")) => {
            let baseline = load::run("trivial component (baseline)", args.clients, duration, trivial.clone());
            let figure = match group {
                "assessment" => assessment_figures(args.year_cases),
                _ => dispatch_figure(args.dispatch_messages),
            };
            println!();
            println!("{group}:");
            println!("{figure}");
            println!();
            println!("{}", load::header());
            println!("{}", load::row(&baseline, &baseline));
            return;
        }
        _ => {}
    }

    // The suite with the demo city.
    eprintln!("loading the demo city ...");
    // Spin's default instance limit (1000): at 64 clients a request holds two or three instances at once.
    let mut suite_options = options("bench-suite", &[]);
    suite_options.max_instances = 1000;
    let suite = start_with(suite_options.clone());
    let imports = suite.load_demo();
    suite.load_reference();
    let audits: Vec<(String, f64, usize, usize)> = ["320613000000", "3206"]
        .iter()
        .map(|region| {
            let reply = call("GET", &suite.url(&format!("/v1/grids/audit?region={region}")), OPERATOR_KEY, None);
            let ms = server_ms(&reply);
            let audit = &reply.json()["audit"];
            let grids =
                audit["comprehensive_grids"].as_u64().unwrap_or(0) + audit["dedicated_grids"].as_u64().unwrap_or(0);
            (region.to_string(), ms, grids as usize, audit["findings"].as_array().map_or(0, Vec::len))
        })
        .collect();
    let chain_url = suite.url("/v1/system/intake/chain");
    let auth = bearer(OPERATOR_KEY);
    let chained: Arc<load::Shot> = Arc::new(move |agent: &ureq::Agent, _| {
        fire(agent.post(&chain_url).header("authorization", &auth).send_empty(), &[200])
    });
    // Points inside Nantong: interior points of random grids, so every locate finds one.
    let grids: serde_json::Value = serde_json::from_slice(&demo("grids.geojson")).expect("demo grids");
    let nantong: Vec<(f64, f64)> = grids["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "comprehensive")
        .filter_map(|f| {
            use wangge_geo::geo::InteriorPoint;
            let p = wangge_geo::Shape::from_geojson(&f["geometry"]).ok()?.polygons.interior_point()?;
            Some((p.x(), p.y()))
        })
        .collect();

    if args.only.as_deref() == Some("locate") {
        let baselines = Baselines::measure(&trivial, args.clients, duration, &[]);
        let points = Arc::new(nantong);
        let figures: Vec<Figure> = [1, args.clients]
            .into_iter()
            .map(|clients| {
                let name =
                    format!("locate, Nantong 9207 grids, {clients} client{}", if clients == 1 { "" } else { "s" });
                load::run(&name, clients, duration, locate_shot(suite.url("/v1/grids/locate"), points.clone()))
            })
            .collect();
        println!();
        println!("{}", baselines.table(&figures));
        return;
    }

    if args.only.as_deref() == Some("replicas") {
        // Intake, closed loop: all clients on one replica, then spread over two processes
        // on the same PostgreSQL and Redis.
        let replica = wangge_e2e::replica::Replica::spawn(&suite_options, "bench");
        let baselines = Baselines::measure(&trivial, args.clients, duration, &[]);
        let points = Arc::new(nantong);
        let one = load::run(
            &format!("intake, 1 replica, {} clients", args.clients),
            args.clients,
            duration,
            intake_shot(vec![suite.url("/v1/events")], points.clone()),
        );
        let two = load::run(
            &format!("intake, 2 replicas, {} clients", args.clients),
            args.clients,
            duration,
            intake_shot(vec![suite.url("/v1/events"), replica.url("/v1/events")], points),
        );
        println!();
        println!("{}", baselines.table([&one, &two]));
        println!("  two replicas against one: {:.2}x the throughput", two.rps() / one.rps());
        return;
    }

    if args.only.as_deref() == Some("triage") {
        let baselines = Baselines::measure(&trivial, 1, duration, &[wangge_e2e::bench_triage::RATE]);
        let (report, figures) = wangge_e2e::bench_triage::figures(&suite, duration);
        println!();
        println!("{report}");
        println!();
        println!("{}", baselines.table(&figures));
        return;
    }

    if args.only.as_deref() == Some("intake") {
        let baselines = Baselines::measure(&trivial, args.clients, duration, &INTAKE_RATES);
        let chained = load::run("chained call (4 functions, 4 SQLite tx, 4 KV sets)", args.clients, duration, chained);
        let (figures, summary) = intake_figures(&suite, Arc::new(nantong), args.clients, duration);
        println!();
        println!("intake:");
        println!("{summary}");
        println!();
        println!("{}", baselines.table(std::iter::once(&chained).chain(&figures)));
        for f in figures.iter().filter(|f| f.rate.is_none()) {
            println!("  {}: {:.2}x the chained call's throughput", f.name, f.rps() / chained.rps());
        }
        return;
    }

    // The synthetic city, generated once and kept in target/bench-city.
    let city_db = workspace_root().join(format!("target/bench-city/grid_lookup-{}.db", args.city_grids));
    if !city_db.exists() {
        eprintln!("generating a synthetic city of {} grids (once) ...", args.city_grids);
        let tmp = city_db.with_extension("partial");
        eprintln!("  {}", wangge_e2e::synthetic::generate(args.city_grids, &tmp));
        std::fs::rename(&tmp, &city_db).expect("keep the generated city");
    }
    let mut big = options("bench-city", &["grid-lookup", "case-routing", "notification"]);
    let dir: PathBuf = big.state_dir.clone().expect("state dir");
    big.runtime_config = Some(runtime_config(&dir, &[("grid_lookup", city_db.clone())]));
    let big = start_with(big);
    let [x0, y0, x1, y1] = wangge_e2e::synthetic::extent(args.city_grids);
    let synthetic: Vec<(f64, f64)> =
        (0..100_000).map(|i| (x0 + (x1 - x0) * mix(i, 1), y0 + (y1 - y0) * mix(i, 2))).collect();

    let mut rates: Vec<f64> =
        ACTION_RATES.iter().chain(&INTAKE_RATES).chain(&[wangge_e2e::bench_triage::RATE]).copied().collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let baselines = Baselines::measure(&trivial, args.clients, duration, &rates);
    let mut figures: Vec<Figure> = Vec::new();
    figures.push(load::run("chained call (4 functions, 4 SQLite tx, 4 KV sets)", args.clients, duration, chained));
    // Locate at one client (its own cost, no queueing) and at full load.
    let (nantong, synthetic) = (Arc::new(nantong), Arc::new(synthetic));
    let city_name = format!("synthetic {}k grids", args.city_grids / 1000);
    for clients in [1, args.clients] {
        for (name, running, points) in
            [("Nantong 9207 grids", &suite, &nantong), (city_name.as_str(), &big, &synthetic)]
        {
            running.app.app.take_peak_instance_memory();
            let mut f = load::run(
                &format!("locate, {name}, {clients} client{}", if clients == 1 { "" } else { "s" }),
                clients,
                duration,
                locate_shot(running.url("/v1/grids/locate"), points.clone()),
            );
            f.peak_memory_bytes = Some(running.app.app.take_peak_instance_memory());
            figures.push(f);
        }
    }

    let (_actions_app, actions) = action_figures(args.clients, duration);
    figures.extend(actions);

    let now = wangge_core::time::now_utc();
    // The sweep over open cases assigned across the last 10 days: a mix of lights.
    let sweep_app = cases_app("bench-sweep");
    eprintln!("generating {} open cases ...", args.sweep_cases);
    wangge_e2e::synthetic::generate_cases(&sweep_app.store("case_routing"), args.sweep_cases, now, 10, true);
    let (mut cursor, mut handled, mut app_ms, mut notices) = (String::new(), 0u64, 0.0, 0u64);
    let started = std::time::Instant::now();
    loop {
        let reply =
            call("POST", &sweep_app.url(&format!("/v1/cases/sweep?limit=5000&cursor={cursor}")), OPERATOR_KEY, None);
        assert_eq!(reply.status, 200, "sweep: {}", reply.body);
        app_ms += server_ms(&reply);
        let body = reply.json();
        handled += body["handled"].as_u64().unwrap_or(0);
        notices += body["reminders"].as_u64().unwrap_or(0) + body["supervision_notices"].as_u64().unwrap_or(0);
        match body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let sweep_seconds = started.elapsed().as_secs_f64();

    // The facts export of closed cases, streamed and counted as it arrives.
    let facts_app = cases_app("bench-facts");
    eprintln!("generating {} closed cases ...", args.facts_cases);
    wangge_e2e::synthetic::generate_cases(&facts_app.store("case_routing"), args.facts_cases, now, 300, false);
    let started = std::time::Instant::now();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent
        .get(facts_app.url("/internal/facts?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"))
        // By URL, an internal route wants the deployment's internal key (fixtures/cases-bench.toml).
        .header("authorization", "Bearer wangge-bench-internal-key")
        .call()
        .expect("facts");
    let mut lines = 0u64;
    {
        use std::io::BufRead;
        let reader = std::io::BufReader::new(response.body_mut().as_reader());
        for line in reader.lines() {
            if line.is_ok() {
                lines += 1;
            }
        }
    }
    let facts_seconds = started.elapsed().as_secs_f64();
    eprintln!("dispatching {} notifications ...", args.dispatch_messages);
    let dispatch = dispatch_figure(args.dispatch_messages);
    let (intake, intake_summary) = intake_figures(&suite, nantong.clone(), args.clients, duration);
    let (triage_report, triage) = wangge_e2e::bench_triage::figures(&suite, duration);
    eprintln!("assessing {} cases ...", args.year_cases);
    let assessment = assessment_figures(args.year_cases);

    println!();
    println!("case routing:");
    println!(
        "  sweep: {handled} open cases in {:.2} s ({:.0} cases/s; {:.0} ms in the component), {notices} notices recorded",
        sweep_seconds,
        handled as f64 / sweep_seconds,
        app_ms
    );
    println!(
        "  facts export: {} cases streamed in {:.2} s ({:.0} cases/s)",
        lines.saturating_sub(1),
        facts_seconds,
        lines.saturating_sub(1) as f64 / facts_seconds
    );
    println!();
    println!("notification:");
    println!("{dispatch}");
    println!();
    println!("intake:");
    println!("{intake_summary}");
    println!();
    println!("{triage_report}");
    println!();
    println!("assessment:");
    println!("{assessment}");
    println!();
    println!("imports of the demo city, time in the component:");
    for (path, ms) in &imports {
        println!("  PUT {path:<22} {ms:>8.0} ms");
    }
    println!("coverage audits of the demo city, time in the component:");
    for (region, ms, grids, findings) in &audits {
        println!("  region {region:<14} {grids:>5} grids {ms:>8.0} ms, {findings} findings");
    }
    println!();
    println!("{}", baselines.table(figures.iter().chain(&intake).chain(&triage)));
    if let Some(chained) = figures.iter().find(|f| f.name.starts_with("chained call")) {
        for f in intake.iter().filter(|f| f.rate.is_none()) {
            println!("  {}: {:.2}x the chained call's throughput", f.name, f.rps() / chained.rps());
        }
    }
    let failed: usize =
        figures.iter().chain(&intake).chain(&triage).map(|f| f.errors).sum::<usize>() + baselines.closed.errors;
    if failed > 0 {
        eprintln!("{failed} requests failed");
        std::process::exit(1);
    }
}
