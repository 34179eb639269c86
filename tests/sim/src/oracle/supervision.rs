//! The supervision light (督办红黄绿) a case should show, recomputed: the share of the
//! allowed time used, counted from the latest assignment, in working time for `wh` and
//! `wd` deadlines (both sides), wall-clock otherwise. Green up to 80 %, yellow up to
//! 100 %, red beyond. The respond deadline is watched while the case waits to be signed
//! for; the resolve deadline while it is open and not yet resolved once. The most
//! pressing of the two is the case's light.

use chrono::{DateTime, Utc};

use super::assess::{Handling, deadlines};
use super::calendar::{Within, WorkCalendar};
use super::catalogue::Catalogue;
use crate::record::CaseRecord;

/// A traffic light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Light {
    /// 绿: at most 80 % of the allowed time used.
    Green,
    /// 黄: over 80 %, up to 100 %.
    Yellow,
    /// 红: past the deadline.
    Red,
}

impl Light {
    pub fn as_str(self) -> &'static str {
        match self {
            Light::Green => "green",
            Light::Yellow => "yellow",
            Light::Red => "red",
        }
    }
}

/// The light of `case` at `now`: `waiting_to_sign` while it is assigned and not signed
/// for, `open` while it is neither rejected, merged nor closed.
pub fn light(
    case: &CaseRecord,
    waiting_to_sign: bool,
    open: bool,
    catalogue: &Catalogue,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> Option<Light> {
    let matter = catalogue.matters.get(&case.category)?;
    let (respond_due, resolve_due) = deadlines(case, catalogue, calendar)?;
    let handling = Handling::of(case, now);
    let (assigned, _) = handling.assigned?;
    let mut worst = None;
    if waiting_to_sign {
        worst = worst.max(Some(of(used(calendar, assigned, respond_due, matter.respond_within, now))));
    }
    if open && handling.first_resolved.is_none() {
        worst = worst.max(Some(of(used(calendar, assigned, resolve_due, matter.resolve_within, now))));
    }
    worst
}

/// The share of the allowed time used at `now`.
fn used(calendar: &WorkCalendar, start: DateTime<Utc>, due: DateTime<Utc>, within: Within, now: DateTime<Utc>) -> f64 {
    let working = matches!(within, Within::WorkHours(_) | Within::WorkDays(_));
    let (spent, allowed) = if working {
        (calendar.working_time_between(start, now), calendar.working_time_between(start, due))
    } else {
        (now - start, due - start)
    };
    spent.num_milliseconds().max(0) as f64 / allowed.num_milliseconds().max(1) as f64
}

fn of(used: f64) -> Light {
    if used <= 0.8 {
        Light::Green
    } else if used <= 1.0 {
        Light::Yellow
    } else {
        Light::Red
    }
}
