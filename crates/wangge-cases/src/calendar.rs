//! Working time in Asia/Shanghai, from the calendar the operator loads each year
//! (`data/calendar-2026.json`), and deadlines measured in it.
//!
//! - `30m`, `4h`: wall-clock minutes and hours.
//! - `4wh`: that many hours of working time; a start outside working time counts from
//!   the next window's opening.
//! - `5wd`: the end of the last work window of the 5th working day after the start
//!   date (the start date never counts). Received Friday 16:00, `1wd` is Monday 17:30.
//!
//! A working day is Monday–Friday, minus the year's holidays, plus its make-up working
//! days (调休上班). A date in a year with no calendar falls back to Monday–Friday with the
//! last loaded year's hours, and the deadline says so (`fallback`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use serde::Deserialize;
use thiserror::Error;

use wangge_core::time::shanghai;

#[derive(Debug, Error, PartialEq)]
pub enum CalendarError {
    #[error("`{0}` is not a duration: use 30m, 4h, 4wh or 5wd")]
    Duration(String),
    #[error("work hours `{0}` are not HH:MM-HH:MM windows in order")]
    WorkHours(String),
    #[error("`{0}` is not a date of {1}")]
    Date(String, i32),
    #[error("{0} is both a holiday and a make-up working day")]
    Both(String),
}

/// How long something may take, as the catalogue of matters writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    Minutes(i64),
    Hours(i64),
    WorkHours(i64),
    WorkDays(i64),
}

impl Within {
    pub fn parse(s: &str) -> Result<Within, CalendarError> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: i64 = n.parse().map_err(|_| CalendarError::Duration(s.to_owned()))?;
        if n <= 0 {
            return Err(CalendarError::Duration(s.to_owned()));
        }
        match unit {
            "m" => Ok(Within::Minutes(n)),
            "h" => Ok(Within::Hours(n)),
            "wh" => Ok(Within::WorkHours(n)),
            "wd" => Ok(Within::WorkDays(n)),
            _ => Err(CalendarError::Duration(s.to_owned())),
        }
    }

    /// Whether the allowed time runs only in working time.
    pub fn is_working_time(self) -> bool {
        matches!(self, Within::WorkHours(_) | Within::WorkDays(_))
    }
}

/// The JSON the operator loads (`PUT /v1/calendar/{year}`).
#[derive(Debug, Clone, Deserialize)]
pub struct CalendarFile {
    pub year: i32,
    pub work_hours: Vec<[String; 2]>,
    #[serde(default)]
    pub holidays: Vec<String>,
    #[serde(default)]
    pub extra_workdays: Vec<String>,
}

/// One year's working days and hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Year {
    pub windows: Vec<(NaiveTime, NaiveTime)>,
    pub holidays: BTreeSet<NaiveDate>,
    pub extra_workdays: BTreeSet<NaiveDate>,
}

impl Year {
    pub fn from_file(file: &CalendarFile) -> Result<Year, CalendarError> {
        let mut windows = Vec::new();
        for [open, close] in &file.work_hours {
            let parse = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").ok();
            let (Some(a), Some(b)) = (parse(open), parse(close)) else {
                return Err(CalendarError::WorkHours(format!("{open}-{close}")));
            };
            if a >= b || windows.last().is_some_and(|(_, prev): &(NaiveTime, NaiveTime)| *prev > a) {
                return Err(CalendarError::WorkHours(format!("{open}-{close}")));
            }
            windows.push((a, b));
        }
        if windows.is_empty() {
            return Err(CalendarError::WorkHours(String::new()));
        }
        let dates = |list: &[String]| -> Result<BTreeSet<NaiveDate>, CalendarError> {
            list.iter()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .ok()
                        .filter(|date| date.year() == file.year)
                        .ok_or_else(|| CalendarError::Date(d.clone(), file.year))
                })
                .collect()
        };
        let holidays = dates(&file.holidays)?;
        let extra_workdays = dates(&file.extra_workdays)?;
        if let Some(both) = holidays.intersection(&extra_workdays).next() {
            return Err(CalendarError::Both(both.to_string()));
        }
        Ok(Year { windows, holidays, extra_workdays })
    }
}

/// The loaded years.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calendar {
    pub years: BTreeMap<i32, Year>,
}

/// A deadline, and whether a year without a calendar was assumed Monday–Friday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    pub fallback: bool,
}

/// Work windows when no year is loaded at all.
const DEFAULT_WINDOWS: [(u32, u32, u32, u32); 2] = [(8, 30, 12, 0), (13, 30, 17, 30)];

impl Calendar {
    pub fn with_year(mut self, year: i32, data: Year) -> Self {
        self.years.insert(year, data);
        self
    }

    /// Whether `date` is a working day, and whether that was a Monday–Friday guess.
    pub fn is_workday(&self, date: NaiveDate) -> (bool, bool) {
        let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        match self.years.get(&date.year()) {
            Some(y) => ((weekday && !y.holidays.contains(&date)) || y.extra_workdays.contains(&date), false),
            None => (weekday, true),
        }
    }

    /// The work windows of `date`'s year (the nearest earlier loaded year's, else the default).
    fn windows(&self, date: NaiveDate) -> Vec<(NaiveTime, NaiveTime)> {
        self.years
            .range(..=date.year())
            .next_back()
            .or_else(|| self.years.iter().next())
            .map(|(_, y)| y.windows.clone())
            .unwrap_or_else(|| {
                DEFAULT_WINDOWS
                    .iter()
                    .filter_map(|&(h1, m1, h2, m2)| {
                        Some((NaiveTime::from_hms_opt(h1, m1, 0)?, NaiveTime::from_hms_opt(h2, m2, 0)?))
                    })
                    .collect()
            })
    }

    /// When something started at `start` and allowed `within` is due.
    pub fn deadline(&self, start: DateTime<Utc>, within: Within) -> Deadline {
        match within {
            Within::Minutes(n) => Deadline { at: start + Duration::minutes(n), fallback: false },
            Within::Hours(n) => Deadline { at: start + Duration::hours(n), fallback: false },
            Within::WorkHours(n) => self.add_working_time(start, Duration::hours(n)),
            Within::WorkDays(n) => {
                let local = start.with_timezone(&shanghai()).date_naive();
                let (mut date, mut counted, mut fallback) = (local, 0, false);
                while counted < n {
                    date = date.succ_opt().unwrap_or(date);
                    let (work, guessed) = self.is_workday(date);
                    fallback |= guessed;
                    if work {
                        counted += 1;
                    }
                }
                let close = self.windows(date).last().map(|(_, b)| *b).unwrap_or(NaiveTime::MIN);
                Deadline { at: to_utc(date.and_time(close)), fallback }
            }
        }
    }

    /// `start` plus `amount` of working time.
    fn add_working_time(&self, start: DateTime<Utc>, amount: Duration) -> Deadline {
        let local = start.with_timezone(&shanghai()).naive_local();
        let (mut date, mut remaining, mut fallback) = (local.date(), amount, false);
        // At most a few years of days: a guard, not a limit anyone reaches.
        for _ in 0..2000 {
            let (work, guessed) = self.is_workday(date);
            fallback |= guessed;
            if work {
                for (open, close) in self.windows(date) {
                    let from = date.and_time(open).max(local);
                    let to = date.and_time(close);
                    if from >= to {
                        continue;
                    }
                    let available = to - from;
                    if remaining <= available {
                        return Deadline { at: to_utc(from + remaining), fallback };
                    }
                    remaining -= available;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        Deadline { at: start + amount, fallback: true }
    }

    /// Working time between two instants (zero if `to` is not after `from`).
    pub fn working_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let (a, b) = (from.with_timezone(&shanghai()).naive_local(), to.with_timezone(&shanghai()).naive_local());
        let mut total = Duration::zero();
        let mut date = a.date();
        while date <= b.date() {
            if self.is_workday(date).0 {
                for (open, close) in self.windows(date) {
                    let start = date.and_time(open).max(a);
                    let end = date.and_time(close).min(b);
                    if end > start {
                        total += end - start;
                    }
                }
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }
}

fn to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    shanghai().from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar_2026() -> Calendar {
        let file: CalendarFile =
            serde_json::from_str(include_str!("../../../data/calendar-2026.json")).expect("the 2026 calendar");
        Calendar::default().with_year(2026, Year::from_file(&file).expect("valid"))
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
    }

    fn local(d: Deadline) -> String {
        d.at.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M %a").to_string()
    }

    #[test]
    fn parses_durations() {
        assert_eq!(Within::parse("30m"), Ok(Within::Minutes(30)));
        assert_eq!(Within::parse("4h"), Ok(Within::Hours(4)));
        assert_eq!(Within::parse("4wh"), Ok(Within::WorkHours(4)));
        assert_eq!(Within::parse("10wd"), Ok(Within::WorkDays(10)));
        for bad in ["", "wd", "0h", "5d", "-1h", "4 wh", "1.5h"] {
            assert!(Within::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wall_clock_units_ignore_the_calendar() {
        let c = calendar_2026();
        assert_eq!(local(c.deadline(at("2026-10-01T10:00:00+08:00"), Within::Hours(24))), "2026-10-02 10:00 Fri");
        assert_eq!(local(c.deadline(at("2026-11-27T23:50:00+08:00"), Within::Minutes(30))), "2026-11-28 00:20 Sat");
    }

    #[test]
    fn friday_afternoon() {
        let c = calendar_2026();
        let friday = at("2026-11-27T16:00:00+08:00");
        assert_eq!(local(c.deadline(friday, Within::WorkDays(1))), "2026-11-30 17:30 Mon");
        // 1.5 h on Friday, 2.5 h on Monday morning.
        assert_eq!(local(c.deadline(friday, Within::WorkHours(4))), "2026-11-30 11:00 Mon");
    }

    #[test]
    fn a_start_on_a_holiday_counts_from_the_next_working_day() {
        let c = calendar_2026();
        // National Day, 1–7 October: the 8th (Thursday) is the next working day.
        let holiday = at("2026-10-01T10:00:00+08:00");
        assert_eq!(local(c.deadline(holiday, Within::WorkHours(4))), "2026-10-08 14:00 Thu");
        assert_eq!(local(c.deadline(holiday, Within::WorkDays(1))), "2026-10-08 17:30 Thu");
        assert_eq!(local(c.deadline(at("2026-02-17T09:00:00+08:00"), Within::WorkDays(1))), "2026-02-24 17:30 Tue");
    }

    #[test]
    fn national_day_week_and_its_make_up_saturday() {
        let c = calendar_2026();
        // Saturday 10 October is a make-up working day.
        assert_eq!(local(c.deadline(at("2026-10-09T10:00:00+08:00"), Within::WorkDays(1))), "2026-10-10 17:30 Sat");
        assert_eq!(local(c.deadline(at("2026-10-09T10:00:00+08:00"), Within::WorkDays(2))), "2026-10-12 17:30 Mon");
        // From Wednesday 30 September: 8, 9 and 10 October.
        assert_eq!(local(c.deadline(at("2026-09-30T11:00:00+08:00"), Within::WorkDays(3))), "2026-10-10 17:30 Sat");
        // Sunday 20 September is a make-up working day too; Saturday 26 is a holiday.
        assert!(c.is_workday(NaiveDate::from_ymd_opt(2026, 9, 20).unwrap()).0);
        assert!(!c.is_workday(NaiveDate::from_ymd_opt(2026, 9, 25).unwrap()).0);
    }

    #[test]
    fn a_start_outside_work_hours_counts_from_the_next_opening() {
        let c = calendar_2026();
        // Thursday evening: Friday 08:30–12:00 is 3.5 h, then 13:30–14:00.
        assert_eq!(local(c.deadline(at("2026-11-26T20:00:00+08:00"), Within::WorkHours(4))), "2026-11-27 14:00 Fri");
        // Lunch break: the clock starts at 13:30.
        assert_eq!(local(c.deadline(at("2026-11-26T12:30:00+08:00"), Within::WorkHours(2))), "2026-11-26 15:30 Thu");
        // Early morning, and a deadline exactly at a window's close.
        assert_eq!(local(c.deadline(at("2026-11-26T06:00:00+08:00"), Within::WorkHours(1))), "2026-11-26 09:30 Thu");
        assert_eq!(local(c.deadline(at("2026-11-26T13:30:00+08:00"), Within::WorkHours(4))), "2026-11-26 17:30 Thu");
    }

    #[test]
    fn a_year_without_a_calendar_falls_back_to_monday_to_friday_and_says_so() {
        let c = calendar_2026();
        // Wednesday 30 December 2026: the 31st, then 2027 (no calendar): 1, 4, 5, 6 January.
        let d = c.deadline(at("2026-12-30T10:00:00+08:00"), Within::WorkDays(5));
        assert_eq!(local(d), "2027-01-06 17:30 Wed");
        assert!(d.fallback);
        let inside = c.deadline(at("2026-12-01T10:00:00+08:00"), Within::WorkDays(5));
        assert!(!inside.fallback);
        // Loading 2027 removes the guess.
        let file = CalendarFile {
            year: 2027,
            work_hours: vec![["08:30".into(), "12:00".into()], ["13:30".into(), "17:30".into()]],
            holidays: vec!["2027-01-01".into()],
            extra_workdays: vec![],
        };
        let c = c.with_year(2027, Year::from_file(&file).unwrap());
        let d = c.deadline(at("2026-12-30T10:00:00+08:00"), Within::WorkDays(5));
        assert_eq!((local(d).as_str(), d.fallback), ("2027-01-07 17:30 Thu", false));
    }

    #[test]
    fn working_time_between_instants() {
        let c = calendar_2026();
        let t = c.working_time_between(at("2026-11-27T16:00:00+08:00"), at("2026-11-30T11:00:00+08:00"));
        assert_eq!(t, Duration::hours(4));
        assert_eq!(
            c.working_time_between(at("2026-10-01T00:00:00+08:00"), at("2026-10-07T23:00:00+08:00")),
            Duration::zero()
        );
    }

    #[test]
    fn bad_calendars_are_refused() {
        let mut file = CalendarFile {
            year: 2026,
            work_hours: vec![["12:00".into(), "08:30".into()]],
            holidays: vec![],
            extra_workdays: vec![],
        };
        assert!(matches!(Year::from_file(&file), Err(CalendarError::WorkHours(_))));
        file.work_hours = vec![["08:30".into(), "12:00".into()]];
        file.holidays = vec!["2025-10-01".into()];
        assert!(matches!(Year::from_file(&file), Err(CalendarError::Date(..))));
        file.holidays = vec!["2026-10-10".into()];
        file.extra_workdays = vec!["2026-10-10".into()];
        assert!(matches!(Year::from_file(&file), Err(CalendarError::Both(_))));
    }
}
