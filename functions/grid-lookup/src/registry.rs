//! The registry's HTTP surface: imports, reads, point location and address resolution.

use serde_json::{Value, json};
use wangge_core::auth::{Principal, Scope};
use wangge_core::migrations::StorageError;
use wangge_core::page::{PageRequest, next_cursor};
use wangge_core::{ErrorCode, Problem};
use wangge_geo::Crs;
use wangge_registry::api::{
    Chain, Contacts, ContactsWanted, GridHit, GridList, MAX_CONTACTS_ASKED, PlaceAnswer, PlaceRequest, Point,
};
use wangge_registry::import::{Dataset, Format, ImportError, claim, import, readable_version};
use wangge_registry::locate::{Found, Hit, Located, Placement, locate, place_point};
use wangge_registry::{address, audit, read};
use wangge_spin::db::Db;
use wangge_spin::{KIB, Reply, Req, Timing, json};

use crate::COMPONENT;

const MIB: usize = 1024 * KIB;

/// The caller, who must hold `grids:read` or `grids:admin`.
pub(crate) fn reader(req: &Req) -> Result<Principal, Problem> {
    let principal = req.require_any(&[Scope::GridsRead, Scope::GridsAdmin])?;
    Ok(principal)
}

/// The dataset version a read uses: `?version=` (current or previous), else the current.
fn version(db: &Db, req: &Req, dataset: Dataset) -> Result<i64, Problem> {
    let requested = match req.query_param("version") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            Problem::new(ErrorCode::InvalidParameter)
                .with_detail("version must be a whole number", "version 应为整数")
                .with_extension("parameter", "version")
        })?),
    };
    readable_version(db, dataset, requested)?.ok_or_else(|| match requested {
        Some(v) => Problem::new(ErrorCode::NotFound).with_detail(
            format!("{} version {v} is neither the current nor the previous one", dataset.as_str()),
            format!("{} 版本 {v} 既不是当前版本也不是上一版本", dataset.as_str()),
        ),
        None => dataset_missing(dataset),
    })
}

/// 409 `dataset_missing`: `dataset` has never been imported.
pub(crate) fn dataset_missing(dataset: Dataset) -> Problem {
    Problem::new(ErrorCode::DatasetMissing)
        .with_detail(
            format!("no {} have been imported yet (PUT /v1/{})", dataset.as_str(), dataset.as_str()),
            format!("尚未导入 {}（PUT /v1/{}）", dataset.as_str(), dataset.as_str()),
        )
        .with_extension("dataset", dataset.as_str())
}

/// `PUT /v1/{regions,grids,staff,addresses}`: CSV (`text/csv`) or JSON; grids as GeoJSON.
pub async fn put_dataset(mut req: Req, dataset: Dataset) -> Reply {
    admin(&req)?;
    let limit = match dataset {
        Dataset::Regions => 8 * MIB,
        Dataset::Grids => 64 * MIB,
        Dataset::Staff => 16 * MIB,
        Dataset::Addresses => 32 * MIB,
    };
    // The body is read before its type is judged, so a client uploading a large file
    // sees the answer instead of a connection closed under it.
    let body = req.body(limit).await?;
    let media = req.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let format = match media.as_str() {
        "text/csv" if dataset != Dataset::Grids => Format::Csv,
        "application/json" | "application/geo+json" => Format::Json,
        _ => {
            return Err(Problem::new(ErrorCode::UnsupportedMediaType).with_detail(
                format!("send {} as {}, not `{media}`", dataset.as_str(), accepted(dataset)),
                format!("{} 应以 {} 发送，而不是 `{media}`", dataset.as_str(), accepted(dataset)),
            ));
        }
    };
    let db = COMPONENT.db()?;
    let report = import(&db, dataset, format, &body).map_err(|e| import_problem(e, dataset.as_str()))?;
    Ok(json(if report.unchanged { 200 } else { 201 }, &report))
}

/// Why an import of `what` wrote nothing, as the client is told it.
fn import_problem(e: ImportError, what: &str) -> Problem {
    match e {
        ImportError::Malformed(why) => Problem::new(ErrorCode::MalformedDataset).with_detail(why.en, why.zh),
        ImportError::Invalid { errors, total } => Problem::new(ErrorCode::ValidationFailed)
            .with_detail(
                format!("{total} problems; nothing was imported"),
                format!("发现 {total} 个问题，未导入任何数据"),
            )
            .with_errors(errors)
            .with_extension("total_errors", total),
        ImportError::MissingDependency(before) => Problem::new(ErrorCode::DatasetMissing)
            .with_detail(format!("import {before} before {what}"), format!("请先导入 {before}，再导入 {what}"))
            .with_extension("dataset", before),
        ImportError::InProgress { dataset, retry_after_seconds } => Problem::new(ErrorCode::ImportInProgress)
            .with_detail(
                format!("an import of {dataset} is running; nothing was imported, try again shortly"),
                format!("{dataset} 的导入正在进行，本次未导入任何数据，请稍后重试"),
            )
            .with_extension("dataset", dataset)
            .with_retry_after(retry_after_seconds),
        ImportError::Storage(e) => e.into(),
    }
}

/// Runs `work` holding the import slot, as `outlines`: one import at a time, whichever
/// route it came by (see [`wangge_registry::import::claim`]).
fn holding_slot<T>(db: &Db, work: impl FnOnce() -> Result<T, Problem>) -> Result<T, Problem> {
    let claim = claim::claim(db, "outlines", claim::now_ms()).map_err(|e| import_problem(e, "outlines"))?;
    let result = work();
    claim.release(db);
    result
}

fn accepted(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::Grids => "application/geo+json (a FeatureCollection)",
        _ => "text/csv or application/json",
    }
}

/// `GET /v1/grids/{code}`: geometry, region chain and staff (phones masked).
pub fn get_grid(req: Req, code: &str) -> Reply {
    let principal = reader(&req)?;
    principal.require_region(code)?;
    let db = COMPONENT.db_for_reads()?;
    let grids = version(&db, &req, Dataset::Grids)?;
    let grid = read::grid(&db, grids, code)?.ok_or_else(|| not_found("grid", code))?;
    let regions = version(&db, &req, Dataset::Regions)?;
    let chain = read::region_chain(&db, regions, &grid.region_code)?;
    let staff = match wangge_registry::import::current_version(&db, Dataset::Staff)? {
        Some(v) => read::staff_on_duty(&db, v, &[code], &[grid.region_code.as_str()])?,
        None => Vec::new(),
    };
    let geometry = grid.shape.as_ref().map(|s| s.to_geojson());
    Ok(json(
        200,
        &json!({ "grid": grid, "grids_version": grids, "geometry": geometry, "regions": chain, "staff": staff }),
    ))
}

/// `GET /v1/grids?region=<prefix>&kind=&limit=&cursor=`.
pub fn list_grids(req: Req) -> Reply {
    let principal = reader(&req)?;
    let prefix = req.query_param("region").unwrap_or_default();
    check_prefix(&principal, &prefix)?;
    let kind = req.query_param("kind");
    if let Some(k) = &kind
        && wangge_registry::model::GridKind::parse(k).is_none()
    {
        return Err(Problem::invalid_parameter(
            "kind",
            "kind is comprehensive or dedicated",
            "kind 应为 comprehensive 或 dedicated",
        ));
    }
    let page = PageRequest::from_query(&req.query)?;
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Grids)?;
    let prefix = if prefix.is_empty() { principal.region_prefix.clone() } else { prefix };
    let mut items =
        read::grids_by_prefix(&db, v, &prefix, kind.as_deref(), page.after.as_deref().unwrap_or(""), page.limit)?;
    let next = next_cursor(&mut items, page.limit, |g| Some(&g.code));
    Ok(json(200, &json!({ "grids_version": v, "items": items, "next_cursor": next })))
}

/// `GET /v1/regions/{code}`: the region, its chain upward and a page of its children.
pub fn get_region(req: Req, code: &str) -> Reply {
    let principal = reader(&req)?;
    // A key sees its own regions, and the parents above them with only its own branch
    // among their children.
    if !principal.sees_region(code) {
        principal.require_region(code)?;
    }
    let page = PageRequest::from_query(&req.query)?;
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Regions)?;
    let region = read::region(&db, v, code)?.ok_or_else(|| not_found("region", code))?;
    let chain = read::region_chain(&db, v, code)?;
    let mut children = read::children(&db, v, code, page.after.as_deref().unwrap_or(""), page.limit)?;
    let next = next_cursor(&mut children, page.limit, |r| Some(&r.code));
    children.retain(|r| principal.sees_region(&r.code));
    Ok(json(
        200,
        &json!({ "region": region, "regions_version": v, "chain": &chain[1.min(chain.len())..], "children": children, "next_cursor": next }),
    ))
}

/// `GET /v1/regions?prefix=&limit=&cursor=`.
pub fn list_regions(req: Req) -> Reply {
    let principal = reader(&req)?;
    let prefix = req.query_param("prefix").unwrap_or_default();
    check_prefix(&principal, &prefix)?;
    let prefix = if prefix.is_empty() { principal.region_prefix.clone() } else { prefix };
    let page = PageRequest::from_query(&req.query)?;
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Regions)?;
    let mut items = read::regions_by_prefix(&db, v, &prefix, page.after.as_deref().unwrap_or(""), page.limit)?;
    let next = next_cursor(&mut items, page.limit, |r| Some(&r.code));
    Ok(json(200, &json!({ "regions_version": v, "items": items, "next_cursor": next })))
}

/// `GET /v1/staff/{id}`: one staff member, phone masked.
pub fn get_staff(req: Req, id: &str) -> Reply {
    let principal = reader(&req)?;
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Staff)?;
    let staff = read::staff_member(&db, v, id)?.ok_or_else(|| not_found("staff member", id))?;
    principal.require_region_unnamed(&staff.region_code)?;
    Ok(json(200, &json!({ "staff": staff, "staff_version": v })))
}

/// `POST /internal/staff/contacts` `{"ids": [...], "grids": [...]}` (notification, at
/// most 1000 of each): how to reach staff members, and every staff member of some
/// grids, unmasked. Internal only: no public route maps it.
pub async fn staff_contacts(mut req: Req) -> Reply {
    let body: ContactsWanted = req.json(64 * KIB).await?;
    if body.ids.len() > MAX_CONTACTS_ASKED || body.grids.len() > MAX_CONTACTS_ASKED {
        return Err(Problem::invalid_parameter(
            "ids",
            "at most 1000 ids and 1000 grids",
            "最多 1000 个 id 和 1000 个网格",
        ));
    }
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Staff)?;
    let staff = read::staff_contacts(&db, v, &body.ids, &body.grids)?;
    Ok(json(200, &Contacts { staff, staff_version: v }))
}

/// `GET /internal/grids` (assessment): every grid of the current version, with its kind
/// and region ([`GridList`]).
pub fn all_grids(req: Req) -> Reply {
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Grids)?;
    Ok(json(200, &GridList { grids_version: v, grids: read::grid_places(&db, v)? }))
}

fn check_prefix(principal: &Principal, prefix: &str) -> Result<(), Problem> {
    if !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 15 {
        return Err(Problem::invalid_parameter(
            "region",
            "a region prefix is up to 15 digits",
            "区域前缀应为最多 15 位数字",
        ));
    }
    if !prefix.is_empty() && !prefix.starts_with(&principal.region_prefix) {
        return principal.require_region(prefix);
    }
    Ok(())
}

fn not_found(what: &str, id: &str) -> Problem {
    Problem::new(ErrorCode::NotFound).with_detail(format!("no {what} `{id}`"), format!("{what} `{id}` 不存在"))
}

fn number(req: &Req, name: &str, range: std::ops::RangeInclusive<f64>, default: Option<f64>) -> Result<f64, Problem> {
    let bad = || {
        Problem::invalid_parameter(
            name,
            format!("{name} must be a number from {} to {}", range.start(), range.end()),
            format!("{name} 应为 {} 到 {} 之间的数字", range.start(), range.end()),
        )
    };
    match (req.query_param(name), default) {
        (None, Some(d)) => Ok(d),
        (None, None) => Err(bad()),
        (Some(raw), _) => raw.parse::<f64>().ok().filter(|v| v.is_finite() && range.contains(v)).ok_or_else(bad),
    }
}

fn hit_json(hit: &Hit) -> Value {
    serde_json::to_value(GridHit::from(hit)).unwrap_or_default()
}

/// `GET /v1/grids/locate?lng=&lat=&crs=&accuracy=`.
pub fn locate_point(req: Req) -> Reply {
    let mut timing = Timing::start();
    let principal = reader(&req)?;
    let lng = number(&req, "lng", -180.0..=180.0, None)?;
    let lat = number(&req, "lat", -90.0..=90.0, None)?;
    let accuracy = number(&req, "accuracy", 0.0..=5000.0, Some(0.0))?;
    let crs_name = req.query_param("crs").unwrap_or_else(|| "wgs84".into());
    let crs = Crs::parse(&crs_name).ok_or_else(|| {
        Problem::invalid_parameter("crs", "crs is wgs84, gcj02 or bd09", "crs 应为 wgs84、gcj02 或 bd09")
    })?;
    let (w_lng, w_lat) = crs.to_wgs84(lng, lat);
    timing.lap("request");
    let db = COMPONENT.db_for_reads()?;
    timing.lap("open");
    // One statement reads the grids near the point with their regions and staff: on
    // Spin each statement is a host call, so the hot path counts them.
    let requested = match req.query_param("version") {
        Some(_) => Some(version(&db, &req, Dataset::Grids)?),
        None => None,
    };
    let located = locate(&db, requested, w_lng, w_lat, accuracy)?;
    timing.lap("locate");
    let point = json!({ "lng": lng, "lat": lat, "crs": crs.as_str(), "wgs84": { "lng": w_lng, "lat": w_lat }, "accuracy_m": accuracy });
    let Some(placement) = located.placement() else {
        // Nothing here: is it the point, or are there no grids at all?
        let v = version(&db, &req, Dataset::Grids)?;
        return Err(Problem::new(ErrorCode::OutsideCoverage)
            .with_detail(
                format!("({w_lng:.6}, {w_lat:.6}) lies in no grid"),
                format!("（{w_lng:.6}，{w_lat:.6}）不在任何网格内"),
            )
            .with_extension("point", point)
            .with_extension("grids_version", v)
            .with_extension("nearest", located.nearest.as_ref().map(hit_json).unwrap_or(Value::Null)));
    };
    principal.require_region_unnamed(&placement.responsible.code)?;
    let mut view = located_view(&located, &placement);
    view["point"] = point;
    let mut response = json(200, &view);
    timing.lap("answer");
    drop(db);
    timing.lap("close");
    response.set_header("server-timing", timing.header());
    Ok(response)
}

/// Where a point falls, as `locate` answers it: the placement
/// (responsible and comprehensive grids, community, chain, staff on duty) and the other
/// grids located around the point.
fn located_view(located: &Located, placement: &Placement) -> Value {
    json!({
        "community_code": placement.community,
        "comprehensive": placement.comprehensive.as_ref().map(hit_json),
        "dedicated": located.dedicated.iter().map(hit_json).collect::<Vec<_>>(),
        "responsible": hit_json(&placement.responsible),
        "alternatives": located.alternatives.iter().map(hit_json).collect::<Vec<_>>(),
        "on_boundary": placement.on_boundary,
        "chain": Chain::of(&placement.chain),
        "staff": placement.staff,
    })
}

/// `POST /internal/place` (intake, [`wangge_registry::api::Place`]): a point or an address
/// → grids, chain and staff in one call. `found` is `grid`; or `district` when no grid
/// holds the point but a district outline does (a blind spot: the district centre
/// answers); or `none`.
pub async fn place(mut req: Req) -> Reply {
    let body: PlaceRequest = req.json(4 * KIB).await?;
    let db = COMPONENT.db_for_reads()?;
    let mut resolution = None;
    let (lng, lat, accuracy) = match (body.lng, body.lat, body.address.as_deref()) {
        (Some(lng), Some(lat), _) => (lng, lat, body.accuracy.unwrap_or(0.0).clamp(0.0, 5000.0)),
        (_, _, Some(q)) if !q.trim().is_empty() => {
            let (_, found) = resolve(&db, &req, q)?;
            let at = found.matched.as_ref().filter(|_| found.kind != address::MatchKind::None);
            let Some(at) = at.map(|m| (m.lng, m.lat, 0.0)) else {
                return Ok(json(200, &PlaceAnswer::None { point: None, address: Some(found) }));
            };
            resolution = Some(found);
            at
        }
        _ => {
            return Err(Problem::invalid_parameter(
                "lng",
                "send lng and lat, or address",
                "请提供 lng 和 lat，或 address",
            ));
        }
    };
    let point = Point { lng, lat };
    let answer = match place_point(&db, lng, lat, accuracy)? {
        Found::Grid { placement, .. } => PlaceAnswer::grid(point, &placement, resolution),
        Found::District(district_code) => PlaceAnswer::District { district_code, point, address: resolution },
        Found::Nowhere => PlaceAnswer::None { point: Some(point), address: resolution },
    };
    Ok(json(200, &answer))
}

/// `q` against the address list of the version the request asks for (the current one by
/// default), the region names of the current regions dropped: (version, resolution).
fn resolve(db: &Db, req: &Req, q: &str) -> Result<(i64, address::Resolution), Problem> {
    let v = version(db, req, Dataset::Addresses)?;
    let regions = version(db, req, Dataset::Regions)?;
    let cities = read::city_names(db, regions)?;
    Ok((v, address::resolve(db, v, q, &cities)?))
}

/// `GET /v1/addresses/resolve?q=`.
///
/// A key bound to a region resolves within it: standard addresses in other regions are
/// neither matched nor offered as candidates.
pub fn resolve_address(req: Req) -> Reply {
    let principal = reader(&req)?;
    let q = req.query_param("q").unwrap_or_default();
    if q.trim().is_empty() || q.chars().count() > 200 {
        return Err(Problem::invalid_parameter(
            "q",
            "q is an address of 1 to 200 characters",
            "q 应为 1 到 200 个字符的地址",
        ));
    }
    let db = COMPONENT.db_for_reads()?;
    let (v, resolution) = resolve(&db, &req, &q)?;
    let resolution = resolution.within(&principal.region_prefix);
    if resolution.kind == address::MatchKind::None {
        return Err(Problem::new(ErrorCode::AddressUnresolved)
            .with_detail(
                "no standard address is close enough; the case goes to the district centre's queue",
                "没有足够接近的标准地址；案件将进入区级指挥中心队列",
            )
            .with_extension("query", q)
            .with_extension("normalized", resolution.normalized)
            .with_extension("candidates", serde_json::to_value(&resolution.candidates).unwrap_or_default()));
    }
    Ok(json(200, &json!({ "addresses_version": v, "resolution": resolution })))
}

/// `GET /v1/grids/audit?region=<code or prefix>&tolerance_m2=`: the coverage audit of one
/// region, against its outline when one was imported. The response lists each stage's
/// time as progress; a district of about 1,500 grids audits in one request.
pub fn audit(req: Req) -> Reply {
    let principal = reader(&req)?;
    let region = req.query_param("region").unwrap_or_default();
    if region.len() < 4 || region.len() > 15 || !region.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::invalid_parameter(
            "region",
            "region is a region code or a prefix of at least 4 digits (a city)",
            "region 应为区域代码或至少 4 位（市级）的代码前缀",
        ));
    }
    let prefix = audit::significant_prefix(&region).to_owned();
    principal.require_region(&prefix)?;
    let tolerance = number(&req, "tolerance_m2", 0.0..=1e9, Some(audit::DEFAULT_TOLERANCE_M2))?;
    let db = COMPONENT.db_for_reads()?;
    let v = version(&db, &req, Dataset::Grids)?;
    let outline = audit::outline_for(&db, &prefix)?;
    let report = audit::audit(&db, v, &prefix, outline.as_ref(), tolerance)?;
    Ok(json(200, &json!({ "grids_version": v, "audit": report })))
}

/// `PUT /v1/regions/{code}/outline`: a GeoJSON Polygon or MultiPolygon (or a Feature of one).
pub async fn put_outline(mut req: Req, code: &str) -> Reply {
    admin(&req)?;
    let body: Value = req.json(8 * MIB).await?;
    let db = COMPONENT.db()?;
    let shape = holding_slot(&db, || {
        let shape = outline_shape(&db, code, &body, "")?;
        audit::put_outline(&db, code, &shape)?;
        Ok(shape)
    })?;
    Ok(json(200, &json!({ "region_code": code, "area_m2": shape.area_m2().round() })))
}

/// `PUT /v1/regions/outlines`: a FeatureCollection, each feature's `properties.code` its region.
pub async fn put_outlines(mut req: Req) -> Reply {
    admin(&req)?;
    let body: Value = req.json(32 * MIB).await?;
    let Some(features) = body.get("features").and_then(Value::as_array) else {
        return Err(Problem::new(ErrorCode::MalformedDataset)
            .with_detail("expected a GeoJSON FeatureCollection", "应为 GeoJSON FeatureCollection"));
    };
    let db = COMPONENT.db()?;
    let shapes = holding_slot(&db, || {
        let shapes = outline_shapes(&db, features)?;
        use wangge_core::migrations::Sql;
        db.transaction(|db| {
            for (code, shape) in &shapes {
                audit::put_outline(db, code, shape)?;
            }
            Ok::<_, StorageError>(())
        })?;
        Ok(shapes)
    })?;
    Ok(json(200, &json!({ "outlines": shapes.iter().map(|(c, _)| c).collect::<Vec<_>>() })))
}

/// Each feature's outline, its region named by `properties.code`; 422 listing every
/// invalid one.
fn outline_shapes(db: &Db, features: &[Value]) -> Result<Vec<(String, wangge_geo::Shape)>, Problem> {
    let mut shapes = Vec::new();
    let mut errors = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        let code = feature.pointer("/properties/code").and_then(Value::as_str).unwrap_or_default();
        match outline_shape(db, code, feature, &format!("/features/{i}")) {
            Ok(shape) => shapes.push((code.to_owned(), shape)),
            Err(p) => errors.extend(p.errors),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::new(ErrorCode::ValidationFailed)
            .with_detail("some outlines are invalid; none was stored", "部分边界无效，均未保存")
            .with_errors(errors));
    }
    Ok(shapes)
}

/// Registry and reference data change for the whole deployment: `grids:admin` on a
/// key for every region.
fn admin(req: &Req) -> Result<(), Problem> {
    let principal = req.require(Scope::GridsAdmin)?;
    principal.require_every_region()
}

/// A region's outline from a Geometry or a Feature; the region must exist.
fn outline_shape(db: &Db, code: &str, body: &Value, pointer: &str) -> Result<wangge_geo::Shape, Problem> {
    let regions = readable_version(db, Dataset::Regions, None)?.ok_or_else(|| dataset_missing(Dataset::Regions))?;
    if read::region(db, regions, code)?.is_none() {
        return Err(Problem::new(ErrorCode::ValidationFailed).with_errors(vec![wangge_core::FieldError::new(
            format!("{pointer}/properties/code"),
            "unknown_region",
            format!("region `{code}` is not in the current regions"),
        )]));
    }
    let (geometry, geometry_pointer) = match body.get("type").and_then(Value::as_str) {
        Some("Feature") => (body.get("geometry").cloned().unwrap_or(Value::Null), format!("{pointer}/geometry")),
        _ => (body.clone(), pointer.to_owned()),
    };
    wangge_geo::Shape::from_geojson(&geometry).map_err(|problems| {
        Problem::new(ErrorCode::ValidationFailed).with_errors(
            problems
                .into_iter()
                .map(|p| wangge_core::FieldError::new(format!("{geometry_pointer}{}", p.pointer), p.code, p.message))
                .collect(),
        )
    })
}
