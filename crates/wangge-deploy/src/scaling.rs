//! How many replicas a district's intake and grid-lookup run: the HPA's bounds from its size.
//!
//! A district's load is its grids plus its staff: events come from residents in grids and from
//! the staff who patrol them, and both grow with the district. Then
//!
//! - `min_replicas = clamp(ceil(load / 2000), 2, 10)`: two at least, so one pod can restart unnoticed;
//! - `max_replicas = min(20, max(min_replicas + 2, ceil(load / 500)))`: room to grow fourfold
//!   over the floor, capped at 20 per district.
//!
//! Nantong's districts (about 2,800 to 4,100) get 2 or 3 at least and 6 to 9 at most. The HPA
//! scales between them on CPU (target utilization [`CPU_TARGET_PERCENT`]). A platform team that
//! knows better patches the bounds in its overlay.

use crate::city::District;

/// The HPA's target average CPU utilization, in percent of the request.
pub const CPU_TARGET_PERCENT: u32 = 70;

/// A district's HPA bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    /// The HPA's `minReplicas`.
    pub min: u32,
    /// The HPA's `maxReplicas`.
    pub max: u32,
}

/// The bounds for a district of this size (the formula in the module doc).
pub fn district_replicas(district: &District) -> Replicas {
    let load = district.grids + district.staff;
    let min = load.div_ceil(2000).clamp(2, 10);
    let max = load.div_ceil(500).max(min + 2).min(20);
    Replicas { min, max }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn district(grids: u32, staff: u32) -> District {
        District { code: "320699".into(), name: "测试区".into(), grids, staff }
    }

    #[test]
    fn bounds_follow_the_documented_formula() {
        assert_eq!(district_replicas(&district(0, 0)), Replicas { min: 2, max: 4 });
        assert_eq!(district_replicas(&district(100, 200)), Replicas { min: 2, max: 4 });
        // 通州区: 1555 grids, 2567 staff: load 4122.
        assert_eq!(district_replicas(&district(1555, 2567)), Replicas { min: 3, max: 9 });
        // 海安市: 1072 grids, 1757 staff: load 2829.
        assert_eq!(district_replicas(&district(1072, 1757)), Replicas { min: 2, max: 6 });
        assert_eq!(district_replicas(&district(5000, 5000)), Replicas { min: 5, max: 20 });
        assert_eq!(district_replicas(&district(50_000, 50_000)), Replicas { min: 10, max: 20 });
    }

    #[test]
    fn a_bigger_district_never_gets_fewer_replicas() {
        let mut last = district_replicas(&district(0, 0));
        for load in (0..30_000).step_by(97) {
            let r = district_replicas(&district(load, load / 2));
            assert!(r.min >= last.min && r.max >= last.max && r.min < r.max, "{load}: {r:?} after {last:?}");
            last = r;
        }
    }
}
