//! Coordinate systems Chinese clients use, and conversion to WGS-84.
//!
//! GCJ-02 ("Mars coordinates", 火星坐标) is WGS-84 shifted by a published series on the
//! Krasovsky ellipsoid; BD-09 is Baidu's further shift of GCJ-02. Points outside China's
//! box are not shifted. The inverses have no closed form: they iterate the forward
//! transform until the round trip is within 1e-9° (about 0.1 mm).

use std::f64::consts::PI;

/// The coordinate system a client's point is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    pub fn parse(s: &str) -> Option<Crs> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" => Some(Crs::Wgs84),
            "gcj02" | "gcj-02" => Some(Crs::Gcj02),
            "bd09" | "bd-09" => Some(Crs::Bd09),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// `(lng, lat)` in this system, as WGS-84.
    pub fn to_wgs84(self, lng: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lng, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lng, lat),
            Crs::Bd09 => {
                let (g_lng, g_lat) = bd09_to_gcj02(lng, lat);
                gcj02_to_wgs84(g_lng, g_lat)
            }
        }
    }

    /// WGS-84 `(lng, lat)` in this system.
    pub fn from_wgs84(self, lng: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lng, lat),
            Crs::Gcj02 => wgs84_to_gcj02(lng, lat),
            Crs::Bd09 => {
                let (g_lng, g_lat) = wgs84_to_gcj02(lng, lat);
                gcj02_to_bd09(g_lng, g_lat)
            }
        }
    }
}

/// Krasovsky 1940 semi-major axis, as the GCJ-02 series uses it.
const A: f64 = 6378245.0;
/// Krasovsky 1940 first eccentricity squared, as published (0.00669342162296594323).
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// China's box, outside which GCJ-02 applies no shift.
pub fn out_of_china(lng: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lng(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

pub fn wgs84_to_gcj02(lng: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lng, lat) {
        return (lng, lat);
    }
    let d_lat = transform_lat(lng - 105.0, lat - 35.0);
    let d_lng = transform_lng(lng - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lng = (d_lng * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (lng + d_lng, lat + d_lat)
}

/// Inverts [`wgs84_to_gcj02`] by fixed-point iteration.
pub fn gcj02_to_wgs84(lng: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lng, lat) {
        return (lng, lat);
    }
    let (mut w_lng, mut w_lat) = (lng, lat);
    for _ in 0..30 {
        let (g_lng, g_lat) = wgs84_to_gcj02(w_lng, w_lat);
        let (e_lng, e_lat) = (g_lng - lng, g_lat - lat);
        w_lng -= e_lng;
        w_lat -= e_lat;
        if e_lng.abs() < 1e-10 && e_lat.abs() < 1e-10 {
            break;
        }
    }
    (w_lng, w_lat)
}

pub fn gcj02_to_bd09(lng: f64, lat: f64) -> (f64, f64) {
    let z = (lng * lng + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lng) + 0.000003 * (lng * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// Inverts [`gcj02_to_bd09`]: the closed form, then refined by iteration.
pub fn bd09_to_gcj02(lng: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lng - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    let (mut g_lng, mut g_lat) = (z * theta.cos(), z * theta.sin());
    for _ in 0..10 {
        let (b_lng, b_lat) = gcj02_to_bd09(g_lng, g_lat);
        let (e_lng, e_lat) = (b_lng - lng, b_lat - lat);
        g_lng -= e_lng;
        g_lat -= e_lat;
        if e_lng.abs() < 1e-10 && e_lat.abs() < 1e-10 {
            break;
        }
    }
    (g_lng, g_lat)
}

/// Great-circle distance in metres (haversine on a 6,371,008.8 m sphere).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let d_lat = lat2 - lat1;
    let d_lng = (b.0 - a.0).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lng / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_gcj02_offset_in_nantong() {
        // The GCJ-02 shift around Nantong is a few hundred metres.
        let (lng, lat) = (120.86, 32.01);
        let (g_lng, g_lat) = wgs84_to_gcj02(lng, lat);
        let shift = distance_m((lng, lat), (g_lng, g_lat));
        assert!((300.0..700.0).contains(&shift), "shift {shift} m");
    }

    #[test]
    fn inverses_round_trip_to_better_than_a_decimetre() {
        let mut worst: f64 = 0.0;
        for i in 0..200 {
            let lng = 120.3 + (i as f64) * 0.0071;
            let lat = 31.7 + (i as f64 * 0.37).sin().abs() * 0.8;
            for crs in [Crs::Gcj02, Crs::Bd09] {
                let (x, y) = crs.from_wgs84(lng, lat);
                let back = crs.to_wgs84(x, y);
                worst = worst.max(distance_m((lng, lat), back));
            }
        }
        assert!(worst < 0.1, "worst round trip error {worst} m");
    }

    #[test]
    fn outside_china_is_not_shifted() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!(Crs::Gcj02.to_wgs84(-74.0, 40.7), (-74.0, 40.7));
    }

    #[test]
    fn parses_crs_names() {
        assert_eq!(Crs::parse("GCJ02"), Some(Crs::Gcj02));
        assert_eq!(Crs::parse("bd09"), Some(Crs::Bd09));
        assert_eq!(Crs::parse("utm"), None);
    }
}
