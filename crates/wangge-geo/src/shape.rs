//! Grid outlines: parsed from GeoJSON and validated, stored compactly, and asked
//! where a point lies.
//!
//! The data is rounded to 1e-6° (about 0.1 m), so outlines are stored as 32-bit
//! integers of micro-degrees: neighbours' shared edges stay bit-identical, and a
//! 50-vertex grid takes about 400 bytes.

use geo::algorithm::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{ChamberlainDuquetteArea, Coord, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon, Validation};
use serde_json::Value;

/// Where a point lies relative to a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Inside,
    OnBoundary,
    Outside,
}

/// One problem with a geometry, with the JSON pointer below `/geometry`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct ShapeError {
    pub pointer: String,
    pub code: &'static str,
    pub message: String,
}

fn err(pointer: impl Into<String>, code: &'static str, message: impl Into<String>) -> ShapeError {
    ShapeError { pointer: pointer.into(), code, message: message.into() }
}

/// A grid's outline in WGS-84: one or more polygons, each with optional holes.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub polygons: MultiPolygon<f64>,
}

/// `[min_lng, min_lat, max_lng, max_lat]`.
pub type BBox = [f64; 4];

const SCALE: f64 = 1e6;

impl Shape {
    /// Parses a GeoJSON `Polygon` or `MultiPolygon` and checks it: rings closed and
    /// of at least four positions, coordinates in range, no self-intersection.
    pub fn from_geojson(geometry: &Value) -> Result<Shape, Vec<ShapeError>> {
        let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
        let coordinates = geometry.get("coordinates");
        let polygons: Vec<(&Value, String)> = match (kind, coordinates) {
            ("Polygon", Some(c)) => vec![(c, "/coordinates".to_owned())],
            ("MultiPolygon", Some(Value::Array(ps))) => {
                ps.iter().enumerate().map(|(i, p)| (p, format!("/coordinates/{i}"))).collect()
            }
            ("Polygon" | "MultiPolygon", _) => {
                return Err(vec![err(
                    "/coordinates",
                    "geometry_coordinates",
                    "coordinates are missing or not an array",
                )]);
            }
            (other, _) => {
                return Err(vec![err(
                    "/type",
                    "geometry_type",
                    format!("geometry must be a Polygon or MultiPolygon, not `{other}`"),
                )]);
            }
        };
        if polygons.is_empty() {
            return Err(vec![err("/coordinates", "geometry_empty", "a MultiPolygon needs at least one polygon")]);
        }
        let mut errors = Vec::new();
        let mut parsed = Vec::new();
        for (value, pointer) in polygons {
            match parse_polygon(value, &pointer) {
                Ok(p) => parsed.push((p, pointer)),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for (polygon, pointer) in &parsed {
            if let Err(problems) = polygon.check_validation() {
                errors.push(err(pointer.clone(), "geometry_invalid", problems.to_string()));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let shape = Shape { polygons: MultiPolygon(parsed.into_iter().map(|(p, _)| p).collect()) };
        if shape.polygons.0.len() > 1
            && let Err(problems) = shape.polygons.check_validation()
        {
            return Err(vec![err("/coordinates", "geometry_invalid", problems.to_string())]);
        }
        Ok(shape)
    }

    pub fn to_geojson(&self) -> Value {
        let ring = |ls: &LineString<f64>| Value::Array(ls.0.iter().map(|c| serde_json::json!([c.x, c.y])).collect());
        let polygon =
            |p: &Polygon<f64>| Value::Array(std::iter::once(p.exterior()).chain(p.interiors()).map(ring).collect());
        if self.polygons.0.len() == 1 {
            serde_json::json!({ "type": "Polygon", "coordinates": polygon(&self.polygons.0[0]) })
        } else {
            serde_json::json!({ "type": "MultiPolygon", "coordinates": self.polygons.0.iter().map(polygon).collect::<Vec<_>>() })
        }
    }

    /// The compact stored form: counts as little-endian u32, coordinates as i32 micro-degrees.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let put_u32 = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes());
        put_u32(&mut out, self.polygons.0.len());
        for polygon in &self.polygons.0 {
            put_u32(&mut out, 1 + polygon.interiors().len());
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                put_u32(&mut out, ring.0.len());
                for c in &ring.0 {
                    out.extend_from_slice(&((c.x * SCALE).round() as i32).to_le_bytes());
                    out.extend_from_slice(&((c.y * SCALE).round() as i32).to_le_bytes());
                }
            }
        }
        out
    }

    /// Reads [`Shape::encode`]'s form; `None` if the bytes are not one.
    pub fn decode(bytes: &[u8]) -> Option<Shape> {
        let mut at = 0usize;
        let mut take4 = || {
            let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(b)
        };
        let polygons = u32::from_le_bytes(take4()?) as usize;
        let mut out = Vec::with_capacity(polygons);
        for _ in 0..polygons {
            let rings = u32::from_le_bytes(take4()?) as usize;
            let mut parsed = Vec::with_capacity(rings);
            for _ in 0..rings {
                let points = u32::from_le_bytes(take4()?) as usize;
                let mut coords = Vec::with_capacity(points);
                for _ in 0..points {
                    let x = i32::from_le_bytes(take4()?) as f64 / SCALE;
                    let y = i32::from_le_bytes(take4()?) as f64 / SCALE;
                    coords.push(Coord { x, y });
                }
                parsed.push(LineString(coords));
            }
            let mut rings = parsed.into_iter();
            let exterior = rings.next()?;
            out.push(Polygon::new(exterior, rings.collect()));
        }
        Some(Shape { polygons: MultiPolygon(out) })
    }

    pub fn bbox(&self) -> BBox {
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for p in &self.polygons.0 {
            for c in &p.exterior().0 {
                b[0] = b[0].min(c.x);
                b[1] = b[1].min(c.y);
                b[2] = b[2].max(c.x);
                b[3] = b[3].max(c.y);
            }
        }
        b
    }

    /// Where `(lng, lat)` lies: inside, exactly on an edge or vertex, or outside.
    pub fn position(&self, lng: f64, lat: f64) -> Position {
        match self.polygons.coordinate_position(&Coord { x: lng, y: lat }) {
            CoordPos::Inside => Position::Inside,
            CoordPos::OnBoundary => Position::OnBoundary,
            CoordPos::Outside => Position::Outside,
        }
    }

    /// Distance in metres from `(lng, lat)` to the shape (0 inside), on a local
    /// equirectangular projection around the point: exact enough within kilometres.
    pub fn distance_m(&self, lng: f64, lat: f64) -> f64 {
        let (kx, ky) = metres_per_degree(lat);
        let project = |c: &Coord<f64>| Coord { x: (c.x - lng) * kx, y: (c.y - lat) * ky };
        let projected = MultiPolygon(
            self.polygons
                .0
                .iter()
                .map(|p| {
                    Polygon::new(
                        LineString(p.exterior().0.iter().map(project).collect()),
                        p.interiors().iter().map(|r| LineString(r.0.iter().map(project).collect())).collect(),
                    )
                })
                .collect(),
        );
        Euclidean.distance(&Point::new(0.0, 0.0), &projected)
    }

    /// Area in square metres, on the sphere.
    pub fn area_m2(&self) -> f64 {
        self.polygons.chamberlain_duquette_unsigned_area()
    }
}

/// Metres per degree of longitude and of latitude at `lat`.
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let r = lat.to_radians();
    (111_412.84 * r.cos() - 93.5 * (3.0 * r).cos(), 111_132.92 - 559.82 * (2.0 * r).cos() + 1.175 * (4.0 * r).cos())
}

fn parse_polygon(value: &Value, pointer: &str) -> Result<Polygon<f64>, Vec<ShapeError>> {
    let Some(rings) = value.as_array() else {
        return Err(vec![err(pointer, "geometry_coordinates", "a polygon is an array of rings")]);
    };
    if rings.is_empty() {
        return Err(vec![err(pointer, "geometry_empty", "a polygon needs an exterior ring")]);
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (i, ring) in rings.iter().enumerate() {
        let ring_pointer = format!("{pointer}/{i}");
        match parse_ring(ring, &ring_pointer) {
            Ok(r) => parsed.push(r),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut parsed = parsed.into_iter();
    let exterior = parsed.next().unwrap_or(LineString(Vec::new()));
    Ok(Polygon::new(exterior, parsed.collect()))
}

fn parse_ring(value: &Value, pointer: &str) -> Result<LineString<f64>, ShapeError> {
    let Some(positions) = value.as_array() else {
        return Err(err(pointer, "geometry_coordinates", "a ring is an array of positions"));
    };
    let mut coords = Vec::with_capacity(positions.len());
    for (j, position) in positions.iter().enumerate() {
        let xy = position.as_array().and_then(|p| Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?)));
        let Some((x, y)) = xy else {
            return Err(err(format!("{pointer}/{j}"), "geometry_coordinates", "a position is [lng, lat] in numbers"));
        };
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(err(
                format!("{pointer}/{j}"),
                "coordinate_out_of_range",
                format!("[{x}, {y}] is outside lng -180..180, lat -90..90"),
            ));
        }
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(err(pointer, "ring_too_short", format!("a ring needs at least 4 positions, not {}", coords.len())));
    }
    if coords.first() != coords.last() {
        return Err(err(pointer, "ring_not_closed", "a ring's last position must repeat its first"));
    }
    Ok(LineString(coords))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(x0: f64, y0: f64, d: f64) -> Value {
        json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]})
    }

    #[test]
    fn encodes_and_decodes_losslessly_at_micro_degrees() {
        let shape = Shape::from_geojson(&json!({"type": "MultiPolygon", "coordinates": [
            [[[120.1, 32.1], [120.2, 32.1], [120.2, 32.2], [120.1, 32.2], [120.1, 32.1]],
             [[120.12, 32.12], [120.13, 32.12], [120.13, 32.13], [120.12, 32.12]]],
            [[[121.0, 32.0], [121.000001, 32.0], [121.000001, 32.000001], [121.0, 32.0]]]
        ]}))
        .unwrap();
        let decoded = Shape::decode(&shape.encode()).unwrap();
        assert_eq!(decoded, shape);
        assert_eq!(decoded.polygons.0[0].interiors().len(), 1);
        assert!(Shape::decode(&[1, 0, 0]).is_none());
    }

    #[test]
    fn positions_inside_on_edge_and_outside() {
        let s = Shape::from_geojson(&square(120.0, 32.0, 0.01)).unwrap();
        assert_eq!(s.position(120.005, 32.005), Position::Inside);
        assert_eq!(s.position(120.01, 32.005), Position::OnBoundary);
        assert_eq!(s.position(120.0, 32.0), Position::OnBoundary);
        assert_eq!(s.position(120.02, 32.005), Position::Outside);
        assert_eq!(s.distance_m(120.005, 32.005), 0.0);
        let d = s.distance_m(120.011, 32.005);
        assert!((d - 94.4).abs() < 1.0, "{d}");
    }

    #[test]
    fn area_of_a_square_kilometre_ish() {
        let s = Shape::from_geojson(&square(120.0, 32.0, 0.01)).unwrap();
        let a = s.area_m2();
        assert!((a - 1_047_000.0).abs() < 20_000.0, "{a}");
    }

    #[test]
    fn every_geometry_problem_has_its_code_and_pointer() {
        let cases = [
            (json!({"type": "Point", "coordinates": [1, 2]}), "/type", "geometry_type"),
            (json!({"type": "Polygon"}), "/coordinates", "geometry_coordinates"),
            (json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}), "/coordinates/0", "ring_too_short"),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
                "/coordinates/0",
                "ring_not_closed",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]}),
                "/coordinates/0/1",
                "coordinate_out_of_range",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], ["x", 0], [1, 1], [0, 0]]]}),
                "/coordinates/0/1",
                "geometry_coordinates",
            ),
            // A bow tie crosses itself.
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
                "/coordinates",
                "geometry_invalid",
            ),
            (json!({"type": "MultiPolygon", "coordinates": []}), "/coordinates", "geometry_empty"),
        ];
        for (geometry, pointer, code) in cases {
            let errors = Shape::from_geojson(&geometry).unwrap_err();
            assert_eq!((errors[0].pointer.as_str(), errors[0].code), (pointer, code), "{geometry}");
        }
    }

    #[test]
    fn roundtrips_to_geojson() {
        let g = square(120.0, 32.0, 0.5);
        assert_eq!(Shape::from_geojson(&g).unwrap().to_geojson(), g);
    }
}
