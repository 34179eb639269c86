//! The driver's own working calendar (工作日历): the deadlines of docs/lifecycle.md
//! "Deadlines on the working calendar", recomputed from `data/calendar-2026.json`
//! without case-routing's code.
//!
//! - `30m`, `4h`: wall-clock minutes and hours from the start.
//! - `4wh`: that much working time from the start; a start outside working time counts
//!   from the next window's opening, and a deadline that uses up a window exactly falls
//!   on its close (not on the next opening).
//! - `5wd`: the close of the last work window of the 5th working day after the start's
//!   date in Asia/Shanghai; the start's date never counts.
//!
//! Asia/Shanghai is a fixed +08:00 (no daylight saving). A working day is Monday to
//! Friday, minus the year's holidays, plus its make-up working days (调休上班). A date
//! outside the loaded year counts Monday to Friday with the loaded year's hours.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::Deserialize;

use super::Unreadable;

/// Asia/Shanghai: +08:00 all year.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The UTC instant of a Shanghai wall-clock time.
pub fn from_local(local: NaiveDateTime) -> DateTime<Utc> {
    (local - Duration::hours(8)).and_utc()
}

/// The Shanghai wall-clock time of an instant.
pub fn to_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&shanghai()).naive_local()
}

/// How long something may take (时限), as the catalogue writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    /// `30m`: wall-clock minutes.
    Minutes(i64),
    /// `4h`: wall-clock hours.
    Hours(i64),
    /// `4wh`: hours of working time (工作小时).
    WorkHours(i64),
    /// `5wd`: working days (工作日), ending at the close of the last one.
    WorkDays(i64),
}

impl FromStr for Within {
    type Err = Unreadable;

    fn from_str(s: &str) -> Result<Within, Unreadable> {
        let bad = || Unreadable(format!("`{s}` is not a duration: use 30m, 4h, 4wh or 5wd"));
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (n, unit) = s.split_at(digits);
        let n: i64 = n.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        match unit {
            "m" => Ok(Within::Minutes(n)),
            "h" => Ok(Within::Hours(n)),
            "wh" => Ok(Within::WorkHours(n)),
            "wd" => Ok(Within::WorkDays(n)),
            _ => Err(bad()),
        }
    }
}

impl Within {
    /// Elapsed time as assessment counts `report_within`: `m` and `h` exactly, `wh` as
    /// hours and `wd` as days of 24 h.
    pub fn elapsed(self) -> Duration {
        match self {
            Within::Minutes(n) => Duration::minutes(n),
            Within::Hours(n) | Within::WorkHours(n) => Duration::hours(n),
            Within::WorkDays(n) => Duration::days(n),
        }
    }
}

impl<'de> Deserialize<'de> for Within {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Within, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Within::Minutes(n) => write!(f, "{n}m"),
            Within::Hours(n) => write!(f, "{n}h"),
            Within::WorkHours(n) => write!(f, "{n}wh"),
            Within::WorkDays(n) => write!(f, "{n}wd"),
        }
    }
}

/// `data/calendar-2026.json` as written.
#[derive(Deserialize)]
struct CalendarJson {
    year: i32,
    work_hours: Vec<[String; 2]>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    extra_workdays: Vec<String>,
}

/// One year's working days and work windows.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkCalendar {
    pub year: i32,
    /// Work windows (open, close) of a working day, in order, not overlapping.
    pub windows: Vec<(NaiveTime, NaiveTime)>,
    /// Weekdays off (法定节假日 and the days moved next to them).
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days worked (调休上班).
    pub extra_workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// Reads the JSON text of a year's calendar (`data/calendar-2026.json`).
    pub fn from_json(text: &str) -> Result<WorkCalendar, Unreadable> {
        let file: CalendarJson = serde_json::from_str(text).map_err(|e| Unreadable(format!("calendar: {e}")))?;
        let time = |t: &str| {
            NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| Unreadable(format!("calendar: `{t}` is not HH:MM")))
        };
        let mut windows: Vec<(NaiveTime, NaiveTime)> = Vec::new();
        for [open, close] in &file.work_hours {
            let (open, close) = (time(open)?, time(close)?);
            if open >= close || windows.last().is_some_and(|&(_, prev)| prev > open) {
                return Err(Unreadable(format!("calendar: work hours {open}-{close} out of order")));
            }
            windows.push((open, close));
        }
        if windows.is_empty() {
            return Err(Unreadable("calendar: no work hours".into()));
        }
        let dates = |list: &[String]| -> Result<BTreeSet<NaiveDate>, Unreadable> {
            list.iter()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .ok()
                        .filter(|date| date.year() == file.year)
                        .ok_or_else(|| Unreadable(format!("calendar: `{d}` is not a date of {}", file.year)))
                })
                .collect()
        };
        let (holidays, extra_workdays) = (dates(&file.holidays)?, dates(&file.extra_workdays)?);
        if let Some(both) = holidays.intersection(&extra_workdays).next() {
            return Err(Unreadable(format!("calendar: {both} is both a holiday and a working day")));
        }
        Ok(WorkCalendar { year: file.year, windows, holidays, extra_workdays })
    }

    /// Whether people work on `date` (Monday–Friday outside the loaded year).
    pub fn is_workday(&self, date: NaiveDate) -> bool {
        let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if date.year() != self.year {
            return weekday;
        }
        (weekday && !self.holidays.contains(&date)) || self.extra_workdays.contains(&date)
    }

    /// When something started at `start` and allowed `within` is due.
    pub fn deadline(&self, start: DateTime<Utc>, within: Within) -> DateTime<Utc> {
        match within {
            Within::Minutes(n) => start + Duration::minutes(n),
            Within::Hours(n) => start + Duration::hours(n),
            Within::WorkHours(n) => self.after_working_time(start, Duration::hours(n)),
            Within::WorkDays(n) => {
                let mut day = to_local(start).date();
                for _ in 0..n {
                    day = self.next_workday(day);
                }
                let close = self.windows.last().map_or(NaiveTime::MIN, |&(_, close)| close);
                from_local(day.and_time(close))
            }
        }
    }

    /// Working time from `from` to `to` (zero if `to` is not after `from`): the overlap
    /// with the work windows of each working day between them.
    pub fn working_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let (from, to) = (to_local(from), to_local(to));
        let mut total = Duration::zero();
        let mut day = from.date();
        while day <= to.date() {
            if self.is_workday(day) {
                for &(open, close) in &self.windows {
                    let (open, close) = (day.and_time(open).max(from), day.and_time(close).min(to));
                    if close > open {
                        total += close - open;
                    }
                }
            }
            day = day.succ_opt().expect("a date before the end of time");
        }
        total
    }

    /// The first working day after `date`.
    fn next_workday(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        loop {
            day = day.succ_opt().expect("a date before the end of time");
            if self.is_workday(day) {
                return day;
            }
        }
    }

    /// `start` plus `amount` of working time: the windows from `start` on are used up in
    /// order until `amount` fits in one.
    fn after_working_time(&self, start: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let from = to_local(start);
        let mut left = amount;
        let mut day = from.date();
        if !self.is_workday(day) {
            day = self.next_workday(day);
        }
        loop {
            for &(open, close) in &self.windows {
                let (open, close) = (day.and_time(open).max(from), day.and_time(close));
                if open >= close {
                    continue;
                }
                if left <= close - open {
                    return from_local(open + left);
                }
                left -= close - open;
            }
            day = self.next_workday(day);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn calendar_2026() -> WorkCalendar {
        WorkCalendar::from_json(include_str!("../../../../data/calendar-2026.json")).expect("the 2026 calendar")
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
    }

    /// The deadline of `within` from `start`, in Shanghai time with its weekday.
    fn due(start: &str, within: &str) -> String {
        let d = calendar_2026().deadline(at(start), within.parse().expect("a duration"));
        d.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M %a").to_string()
    }

    #[test]
    fn durations_parse_and_print_back() {
        for (s, w) in [
            ("30m", Within::Minutes(30)),
            ("4h", Within::Hours(4)),
            ("4wh", Within::WorkHours(4)),
            ("5wd", Within::WorkDays(5)),
        ] {
            assert_eq!(s.parse::<Within>().unwrap(), w);
            assert_eq!(w.to_string(), s);
        }
        for bad in ["", "wd", "0h", "5d", "-1h", "4 wh", "1.5h", " 4h", "4H"] {
            assert!(bad.parse::<Within>().is_err(), "{bad}");
        }
        assert_eq!(Within::WorkDays(2).elapsed(), Duration::hours(48));
        assert_eq!(Within::WorkHours(4).elapsed(), Duration::hours(4));
    }

    #[test]
    fn the_2026_calendar_loads_with_its_make_up_days() {
        let c = calendar_2026();
        assert_eq!((c.year, c.windows.len(), c.holidays.len(), c.extra_workdays.len()), (2026, 2, 33, 6));
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(c.is_workday(day("2026-09-20")), "Sunday 20 September is worked");
        assert!(c.is_workday(day("2026-10-10")), "Saturday 10 October is worked");
        assert!(!c.is_workday(day("2026-10-05")), "Monday 5 October is National Day");
        assert!(!c.is_workday(day("2026-09-25")), "Friday 25 September is Mid-Autumn");
        assert!(c.is_workday(day("2027-01-01")), "no 2027 calendar: a Friday works");
        assert!(WorkCalendar::from_json(r#"{"year":2026,"work_hours":[["12:00","08:30"]]}"#).is_err());
    }

    #[test]
    fn friday_afternoon_plus_one_working_day_is_monday_evening() {
        assert_eq!(due("2026-11-27T16:00:00+08:00", "1wd"), "2026-11-30 17:30 Mon");
        // 1.5 h on Friday afternoon, 2.5 h on Monday morning.
        assert_eq!(due("2026-11-27T16:00:00+08:00", "4wh"), "2026-11-30 11:00 Mon");
        // After hours on Friday the start's date still does not count.
        assert_eq!(due("2026-11-27T23:30:00+08:00", "1wd"), "2026-11-30 17:30 Mon");
        // Early on Saturday morning UTC is still Friday evening: the date is Shanghai's.
        assert_eq!(due("2026-11-27T23:59:59+08:00", "2wd"), "2026-12-01 17:30 Tue");
    }

    #[test]
    fn a_start_on_a_holiday_counts_from_the_next_working_day() {
        assert_eq!(due("2026-10-01T10:00:00+08:00", "4wh"), "2026-10-08 14:00 Thu");
        assert_eq!(due("2026-10-01T10:00:00+08:00", "1wd"), "2026-10-08 17:30 Thu");
        // Spring Festival: 15–23 February off.
        assert_eq!(due("2026-02-17T09:00:00+08:00", "1wd"), "2026-02-24 17:30 Tue");
        assert_eq!(due("2026-02-17T09:00:00+08:00", "2wh"), "2026-02-24 10:30 Tue");
    }

    #[test]
    fn national_day_week_and_its_make_up_days() {
        // Saturday 10 October is worked: the first working day after Friday 9th.
        assert_eq!(due("2026-10-09T10:00:00+08:00", "1wd"), "2026-10-10 17:30 Sat");
        assert_eq!(due("2026-10-09T10:00:00+08:00", "2wd"), "2026-10-12 17:30 Mon");
        assert_eq!(due("2026-10-09T16:30:00+08:00", "2wh"), "2026-10-10 09:30 Sat");
        // From Wednesday 30 September: 8, 9 and 10 October.
        assert_eq!(due("2026-09-30T11:00:00+08:00", "3wd"), "2026-10-10 17:30 Sat");
        // Saturday 19 September: Sunday 20th is worked, Friday 25th is Mid-Autumn.
        assert_eq!(due("2026-09-19T10:00:00+08:00", "1wd"), "2026-09-20 17:30 Sun");
        assert_eq!(due("2026-09-24T10:00:00+08:00", "1wd"), "2026-09-28 17:30 Mon");
        // Five working days from 29 September: 30 Sep, 8, 9, 10, 12 October.
        assert_eq!(due("2026-09-29T10:00:00+08:00", "5wd"), "2026-10-12 17:30 Mon");
    }

    #[test]
    fn working_hours_start_at_the_next_opening_and_skip_lunch() {
        // Thursday evening: Friday 08:30–12:00 is 3.5 h, then 13:30–14:00.
        assert_eq!(due("2026-11-26T20:00:00+08:00", "4wh"), "2026-11-27 14:00 Fri");
        assert_eq!(due("2026-11-26T06:00:00+08:00", "1wh"), "2026-11-26 09:30 Thu");
        // In the lunch break the clock starts at 13:30.
        assert_eq!(due("2026-11-26T12:30:00+08:00", "2wh"), "2026-11-26 15:30 Thu");
        // Across lunch: 11:00–12:00, then 13:30–14:30.
        assert_eq!(due("2026-11-26T11:00:00+08:00", "2wh"), "2026-11-26 14:30 Thu");
        // Using up a window exactly ends at its close.
        assert_eq!(due("2026-11-26T13:30:00+08:00", "4wh"), "2026-11-26 17:30 Thu");
        assert_eq!(due("2026-11-26T08:30:00+08:00", "7wh"), "2026-11-26 17:00 Thu");
        // A working day holds 7.5 h: 8 h runs into the next morning.
        assert_eq!(due("2026-11-26T08:30:00+08:00", "8wh"), "2026-11-27 09:00 Fri");
        // Saturday 28 November is not worked.
        assert_eq!(due("2026-11-28T10:00:00+08:00", "1wh"), "2026-11-30 09:30 Mon");
    }

    #[test]
    fn working_time_between_counts_the_windows_of_working_days_only() {
        let c = calendar_2026();
        // Thursday 24 September 16:00 to Monday 28 September 09:30: 1.5 h Thursday, the
        // Mid-Autumn holiday and the weekend nothing, 1 h Monday.
        let d = c.working_time_between(at("2026-09-24T16:00:00+08:00"), at("2026-09-28T09:30:00+08:00"));
        assert_eq!(d, Duration::minutes(150));
        // Lunch is not work; a span backwards is none.
        let lunch = c.working_time_between(at("2026-09-28T11:00:00+08:00"), at("2026-09-28T14:00:00+08:00"));
        assert_eq!(lunch, Duration::minutes(90));
        assert_eq!(
            c.working_time_between(at("2026-09-28T14:00:00+08:00"), at("2026-09-28T11:00:00+08:00")),
            Duration::zero()
        );
        // The make-up Saturday 10 October is worked.
        let saturday = c.working_time_between(at("2026-10-10T00:00:00+08:00"), at("2026-10-11T00:00:00+08:00"));
        assert_eq!(saturday, Duration::minutes(450));
    }

    #[test]
    fn minutes_and_hours_are_wall_clock() {
        assert_eq!(due("2026-11-27T23:50:00+08:00", "30m"), "2026-11-28 00:20 Sat");
        assert_eq!(due("2026-10-01T10:00:00+08:00", "4h"), "2026-10-01 14:00 Thu");
        assert_eq!(due("2026-10-01T10:00:00+08:00", "24h"), "2026-10-02 10:00 Fri");
        let start = at("2026-11-27T16:00:00.250+08:00");
        assert_eq!(calendar_2026().deadline(start, Within::Minutes(30)), start + Duration::minutes(30));
    }

    #[test]
    fn a_year_without_a_calendar_counts_monday_to_friday() {
        // 31 December, then 2027 unknown: 1, 4, 5, 6 January.
        assert_eq!(due("2026-12-30T10:00:00+08:00", "5wd"), "2027-01-06 17:30 Wed");
    }
}
