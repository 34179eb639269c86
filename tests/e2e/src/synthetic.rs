//! A synthetic city for the benchmarks: a lattice of square grids whose edges are
//! subdivided so each has 49 vertices, shared exactly with its neighbours, under a
//! full region hierarchy, written straight into a grid-lookup database.

use std::path::Path;

use wangge_core::migrations::{Sql, migrate};
use wangge_core::native::{NativeDb, TestDb};
use wangge_geo::Shape;
use wangge_geo::geo::{Coord, LineString, MultiPolygon, Polygon};
use wangge_registry::model::{Grid, GridKind};

/// Cell side in micro-degrees, and subdivisions per edge: 4 × 12 + 1 = 49 vertices.
const CELL: i64 = 600;
const STEPS: i64 = 12;
/// South-west corner of the synthetic city, in micro-degrees.
const ORIGIN: (i64, i64) = (100_000_000, 30_000_000);

/// Writes `grids` grids to a new database at `out`; returns a one-line summary.
pub fn generate(grids: usize, out: &Path) -> String {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("output directory");
    }
    let _ = std::fs::remove_file(out);
    let started = std::time::Instant::now();
    let db = NativeDb::open(out).expect("open output");
    migrate(&db, &wangge_registry::SCHEMA).expect("schema");
    db.conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;").expect("pragmas");
    db.execute("BEGIN", &[]).expect("begin");

    let side = (grids as f64).sqrt().ceil() as usize;
    let per_community = 499;
    let communities = grids.div_ceil(per_community);
    let mut regions = vec![("990100000000".to_owned(), "合成市".to_owned(), "city", None)];
    for c in 0..communities {
        let (district, town, community) = (c / 200 + 1, (c % 200) / 2 + 1, c % 2 + 1);
        let d = format!("9901{district:02}000000");
        let t = format!("9901{district:02}{town:03}000");
        if c % 200 == 0 {
            regions.push((d.clone(), format!("合成{district}区"), "district", Some("990100000000".to_owned())));
        }
        if c % 2 == 0 {
            regions.push((t.clone(), format!("合成{district}区{town}街道"), "town", Some(d.clone())));
        }
        regions.push((format!("9901{district:02}{town:03}{community:03}"), format!("社区{c}"), "community", Some(t)));
    }
    for (code, name, level, parent) in &regions {
        db.execute(
            "INSERT INTO regions (version, code, name, level, parent) VALUES (1, ?, ?, ?, ?)",
            &[code.as_str().into(), name.as_str().into(), (*level).into(), parent.clone().into()],
        )
        .expect("region");
    }

    for g in 0..grids {
        let (col, row) = ((g % side) as i64, (g / side) as i64);
        let (x0, y0) = (ORIGIN.0 + col * CELL, ORIGIN.1 + row * CELL);
        let mut ring = Vec::with_capacity((4 * STEPS + 1) as usize);
        let step = CELL / STEPS;
        for i in 0..STEPS {
            ring.push((x0 + i * step, y0));
        }
        for i in 0..STEPS {
            ring.push((x0 + CELL, y0 + i * step));
        }
        for i in 0..STEPS {
            ring.push((x0 + CELL - i * step, y0 + CELL));
        }
        for i in 0..STEPS {
            ring.push((x0, y0 + CELL - i * step));
        }
        ring.push((x0, y0));
        let coords = ring.into_iter().map(|(x, y)| Coord { x: x as f64 / 1e6, y: y as f64 / 1e6 }).collect();
        let c = g / per_community;
        let (district, town, community) = (c / 200 + 1, (c % 200) / 2 + 1, c % 2 + 1);
        let region_code = format!("9901{district:02}{town:03}{community:03}");
        let grid = Grid {
            code: format!("{region_code}{:03}", g % per_community + 1),
            name: format!("合成网格{g}"),
            kind: GridKind::Comprehensive,
            dedicated_type: None,
            region_code,
            grid_head: None,
            members: Vec::new(),
            shape: Shape { polygons: MultiPolygon(vec![Polygon::new(LineString(coords), Vec::new())]) },
        };
        wangge_registry::import::insert_grid(&db, 1, &grid).expect("grid");
        if (g + 1) % 100_000 == 0 {
            eprintln!("  {} grids written ({:.0} s)", g + 1, started.elapsed().as_secs_f64());
        }
    }
    let now = wangge_core::time::render(wangge_core::time::now_utc());
    for (kind, rows) in [("regions", regions.len()), ("grids", grids)] {
        db.execute(
            "INSERT INTO dataset_versions (kind, version, sha256, rows, imported_at) VALUES (?, 1, 'synthetic', ?, ?)",
            &[kind.into(), (rows as i64).into(), now.as_str().into()],
        )
        .expect("version");
        db.execute("INSERT INTO current_datasets (kind, version) VALUES (?, 1)", &[kind.into()]).expect("current");
    }
    db.execute("COMMIT", &[]).expect("commit");
    db.conn.execute_batch("PRAGMA journal_mode = WAL;").expect("finish");
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    format!(
        "{} grids of 49 vertices, {} regions, {:.0} MB, in {:.1} s: {}",
        grids,
        regions.len(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        out.display()
    )
}

/// The lattice's fully populated rows, in degrees: `[min_lng, min_lat, max_lng, max_lat]`.
pub fn extent(grids: usize) -> [f64; 4] {
    let side = (grids as f64).sqrt().ceil() as usize;
    let rows = (grids / side) as i64;
    let side = side as i64;
    [
        ORIGIN.0 as f64 / 1e6,
        ORIGIN.1 as f64 / 1e6,
        (ORIGIN.0 + side * CELL) as f64 / 1e6,
        (ORIGIN.1 + rows * CELL) as f64 / 1e6,
    ]
}

/// A SQLite file written without waiting for the disk: generated data is thrown away
/// when the test ends.
fn unsynchronised(db: &TestDb) {
    if let TestDb::Sqlite(db) = db {
        db.conn.execute_batch("PRAGMA synchronous = OFF;").expect("pragma");
    }
}

/// Writes `count` cases straight into a case-routing database that already has its
/// reference data: grid-level A01 cases in Nantong's first community, assigned over the
/// `spread_days` before `now` (so their lights are a mix), open or closed.
pub fn generate_cases(db: &TestDb, count: usize, now: chrono::DateTime<chrono::Utc>, spread_days: i64, open: bool) {
    use wangge_core::time::render;
    unsynchronised(db);
    db.execute("BEGIN", &[]).expect("begin");
    for i in 0..count {
        let assigned = now - chrono::Duration::minutes((i as i64 * 7919) % (spread_days.max(1) * 24 * 60));
        let (assigned_at, due) = (render(assigned), render(assigned + chrono::Duration::days(7)));
        let id = format!("01900000-0000-7000-8000-{i:012}");
        db.execute(
            "INSERT INTO cases (id, version, state, category, domain, priority, source, reporter_staff_id, responsible_grid, \
             comprehensive_grid, community, reported_at, description, attachments, handling_level, assignee_kind, assignee, \
             assigned_at, respond_due, resolve_due, closed_at, created_at, updated_at) \
             VALUES (?, 1, ?, 'A01', 'public_safety', 'normal', 'grid_staff', 'S000002', '320613001001001', '320613001001001', \
             '320613001001', ?, '合成案件', '[]', 'grid', 'grid', '320613001001001', ?, ?, ?, ?, ?, ?)",
            &[
                id.as_str().into(),
                (if open { "assigned" } else { "closed" }).into(),
                assigned_at.as_str().into(),
                assigned_at.as_str().into(),
                render(assigned + chrono::Duration::days(1)).into(),
                due.as_str().into(),
                (if open { None } else { Some(due.clone()) }).into(),
                assigned_at.as_str().into(),
                assigned_at.as_str().into(),
            ],
        )
        .expect("case");
        db.execute(
            "INSERT INTO case_staff (case_id, staff_id, role, grid_code) VALUES (?, 'S000002', 'grid_worker', '320613001001001')",
            &[id.as_str().into()],
        )
        .expect("staff");
    }
    db.execute("COMMIT", &[]).expect("commit");
}

/// A year of a city's cases for the assessment benchmark, written straight into
/// case-routing's database: `count` cases spread over `year` across `grids` (code,
/// community), in every assessed category of the demo catalogue, from residents, grid
/// staff and the hotline; about one in twenty a merged duplicate, one in ten resolved
/// late or not at all, one in fifty reopened.
pub fn generate_year(db: &TestDb, grids: &[(String, String)], count: usize, year: i32) {
    use wangge_core::time::render;
    const CATEGORIES: [(&str, &str, &str); 8] = [
        ("A01", "public_safety", "normal"),
        ("A07", "public_safety", "urgent"),
        ("B05", "eco_environment", "normal"),
        ("C05", "urban_rural_construction", "normal"),
        ("D01", "production_safety", "high"),
        ("E01", "floating_population", "normal"),
        ("F02", "special_groups", "normal"),
        ("G01", "empty_nest_elderly", "normal"),
    ];
    unsynchronised(db);
    db.execute("BEGIN", &[]).expect("begin");
    let start = chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(wangge_core::time::shanghai()).single())
        .expect("year")
        .with_timezone(&chrono::Utc);
    let year_minutes = 365 * 24 * 60;
    for i in 0..count {
        let (grid, community) = &grids[(i * 7919) % grids.len()];
        let (category, domain, priority) = CATEGORIES[i % CATEGORIES.len()];
        let reported = start + chrono::Duration::minutes(((i as i64) * 104_729) % year_minutes);
        let source = ["resident", "grid_staff", "hotline", "grid_staff"][i % 4];
        let discovered = reported - chrono::Duration::hours(if i % 13 == 0 { 30 } else { 1 });
        let due = reported + chrono::Duration::days(3);
        let resolved = match i % 10 {
            0 => None,
            1 => Some(due + chrono::Duration::hours(5)),
            _ => Some(reported + chrono::Duration::days(1)),
        };
        let merged = (i % 20 == 19).then(|| format!("01900000-0000-7000-8000-{:012}", i - 1));
        let reopened =
            if i % 50 == 7 { format!("[\"{}\"]", render(reported + chrono::Duration::days(2))) } else { "[]".into() };
        let id = format!("01900000-0000-7000-8000-{i:012}");
        let state = if merged.is_some() {
            "merged"
        } else if resolved.is_some() {
            "closed"
        } else {
            "assigned"
        };
        db.execute(
            "INSERT INTO cases (id, version, state, category, domain, priority, source, reporter_staff_id, responsible_grid, \
             comprehensive_grid, community, discovered_at, reported_at, description, attachments, handling_level, assignee_kind, \
             assignee, assigned_at, respond_due, resolve_due, first_resolved_at, closed_at, reopened_at, merged_into, created_at, updated_at) \
             VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '合成案件', '[]', 'grid', 'grid', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                id.as_str().into(),
                state.into(),
                category.into(),
                domain.into(),
                priority.into(),
                source.into(),
                (if source == "grid_staff" { Some("S1") } else { None }).into(),
                grid.as_str().into(),
                grid.as_str().into(),
                community.as_str().into(),
                render(discovered).into(),
                render(reported).into(),
                grid.as_str().into(),
                render(reported).into(),
                render(reported + chrono::Duration::hours(4)).into(),
                render(due).into(),
                resolved.map(render).into(),
                resolved.map(render).into(),
                reopened.into(),
                merged.into(),
                render(reported).into(),
                render(reported).into(),
            ],
        )
        .expect("case");
        if source == "grid_staff" {
            db.execute(
                "INSERT INTO case_staff (case_id, staff_id, role, grid_code) VALUES (?, 'S1', 'grid_worker', ?)",
                &[id.as_str().into(), grid.as_str().into()],
            )
            .expect("staff");
        }
    }
    db.execute("COMMIT", &[]).expect("commit");
}
