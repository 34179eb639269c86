//! Assessment periods: `2026-10` (a month), `2026-Q4` (a quarter), `2026` (a year), each
//! `[start, next start)` with boundaries at 00:00 Asia/Shanghai.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub kind: Kind,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

fn midnight(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let (year, month) = if month > 12 { (year + 1, month - 12) } else { (year, month) };
    NaiveDate::from_ymd_opt(year, month, 1)?
        .and_hms_opt(0, 0, 0)?
        .and_local_timezone(wangge_core::time::shanghai())
        .single()
        .map(|t| t.with_timezone(&Utc))
}

impl Period {
    pub fn parse(label: &str) -> Option<Period> {
        let month = |year: i32, m: u32| -> Option<Period> {
            (1..=12).contains(&m).then_some(())?;
            Some(Period {
                label: format!("{year:04}-{m:02}"),
                kind: Kind::Month,
                start: midnight(year, m)?,
                end: midnight(year, m + 1)?,
            })
        };
        match label.split_once('-') {
            None if label.len() == 4 => {
                let year: i32 = label.parse().ok()?;
                Some(Period {
                    label: label.into(),
                    kind: Kind::Year,
                    start: midnight(year, 1)?,
                    end: midnight(year + 1, 1)?,
                })
            }
            Some((y, q)) if y.len() == 4 && q.len() == 2 && q.starts_with('Q') => {
                let (year, quarter): (i32, u32) = (y.parse().ok()?, q[1..].parse().ok()?);
                (1..=4).contains(&quarter).then_some(())?;
                let first = 3 * (quarter - 1) + 1;
                Some(Period {
                    label: label.into(),
                    kind: Kind::Quarter,
                    start: midnight(year, first)?,
                    end: midnight(year, first + 3)?,
                })
            }
            Some((y, m)) if y.len() == 4 && m.len() == 2 => month(y.parse().ok()?, m.parse().ok()?),
            _ => None,
        }
    }

    /// The months of the period, in order.
    pub fn months(&self) -> Vec<Period> {
        let local = self.start.with_timezone(&wangge_core::time::shanghai());
        let (year, first) = (chrono::Datelike::year(&local), chrono::Datelike::month(&local));
        let count = match self.kind {
            Kind::Month => 1,
            Kind::Quarter => 3,
            Kind::Year => 12,
        };
        (0..count)
            .filter_map(|i| {
                let m = first + i;
                let (y, m) = if m > 12 { (year + 1, m - 12) } else { (year, m) };
                Period::parse(&format!("{y:04}-{m:02}"))
            })
            .collect()
    }

    /// The quarters of a year, or the period itself.
    pub fn quarters(&self) -> Vec<Period> {
        match self.kind {
            Kind::Year => {
                let year = &self.label;
                (1..=4).filter_map(|q| Period::parse(&format!("{year}-Q{q}"))).collect()
            }
            _ => vec![self.clone()],
        }
    }

    /// Whether an instant falls in `[start, end)`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        wangge_core::time::parse(s).unwrap()
    }

    #[test]
    fn months_quarters_and_years_start_at_midnight_in_shanghai() {
        let october = Period::parse("2026-10").unwrap();
        assert_eq!(october.start, at("2026-10-01T00:00:00+08:00"));
        assert_eq!(october.end, at("2026-11-01T00:00:00+08:00"));
        assert!(october.contains(at("2026-10-31T23:59:59+08:00")), "the month's last second is in it");
        assert!(!october.contains(at("2026-11-01T00:00:00+08:00")), "the next month's first instant is not");
        assert!(october.contains(at("2026-09-30T16:00:00Z")), "16:00 UTC is already October in Shanghai");
        let q4 = Period::parse("2026-Q4").unwrap();
        assert_eq!((q4.start, q4.end), (at("2026-10-01T00:00:00+08:00"), at("2027-01-01T00:00:00+08:00")));
        assert_eq!(q4.months().iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["2026-10", "2026-11", "2026-12"]);
        let year = Period::parse("2026").unwrap();
        assert_eq!(year.months().len(), 12);
        assert_eq!(year.quarters().len(), 4);
        for bad in ["2026-13", "2026-Q5", "26", "2026-1", "x"] {
            assert!(Period::parse(bad).is_none(), "{bad}");
        }
    }
}
