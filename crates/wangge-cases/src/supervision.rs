//! The traffic light of an open deadline (督办): green while the time used is at most
//! 80 % of the time allowed, yellow up to 100 %, red beyond. Working-time deadlines
//! count working time on both sides of the ratio.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calendar::{Calendar, Within};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

/// The fraction of the allowed time used at `now` (may exceed 1).
pub fn used(
    calendar: &Calendar,
    start: DateTime<Utc>,
    deadline: DateTime<Utc>,
    within: Within,
    now: DateTime<Utc>,
) -> f64 {
    let (spent, allowed) = if within.is_working_time() {
        (calendar.working_time_between(start, now), calendar.working_time_between(start, deadline))
    } else {
        (now - start, deadline - start)
    };
    let allowed = allowed.num_milliseconds().max(1) as f64;
    spent.num_milliseconds().max(0) as f64 / allowed
}

pub fn light(used: f64) -> Light {
    if used <= 0.8 {
        Light::Green
    } else if used <= 1.0 {
        Light::Yellow
    } else {
        Light::Red
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn boundaries() {
        assert_eq!(light(0.0), Light::Green);
        assert_eq!(light(0.8), Light::Green);
        assert_eq!(light(0.80001), Light::Yellow);
        assert_eq!(light(1.0), Light::Yellow);
        assert_eq!(light(1.00001), Light::Red);
    }

    #[test]
    fn working_time_lights_stop_over_the_weekend() {
        let c = Calendar::default();
        let start = at("2026-11-27T16:00:00+08:00");
        let within = Within::WorkHours(4);
        let deadline = c.deadline(start, within).at;
        // Saturday noon: only Friday's 1.5 h of 4 h are used.
        let u = used(&c, start, deadline, within, at("2026-11-28T12:00:00+08:00"));
        assert!((u - 0.375).abs() < 1e-9, "{u}");
        assert_eq!(light(u), Light::Green);
        // Monday 10:30: 3.5 h of 4 h.
        assert_eq!(light(used(&c, start, deadline, within, at("2026-11-30T10:30:00+08:00"))), Light::Yellow);
        assert_eq!(light(used(&c, start, deadline, within, at("2026-11-30T11:01:00+08:00"))), Light::Red);
        // Wall-clock hours run through the night.
        let h = Within::Hours(10);
        let d = c.deadline(start, h).at;
        assert_eq!(light(used(&c, start, d, h, at("2026-11-28T01:00:00+08:00"))), Light::Yellow);
    }
}
