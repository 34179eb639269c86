//! Time in Asia/Shanghai (+08:00), which is what users read. Rows keep [`render`]'s form
//! (+08:00, seconds), which sorts as text because the offset never changes; log lines and
//! the migration record keep [`store`]'s (UTC, milliseconds).
//!
//! `chrono::Local` is UTC inside wasm, so the offset is fixed here.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// Asia/Shanghai has had no daylight saving since 1991.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

pub fn now_utc() -> DateTime<Utc> {
    Utc::now()
}

/// RFC 3339 in +08:00, seconds precision: `2026-11-26T14:06:33+08:00`.
pub fn render(t: DateTime<Utc>) -> String {
    t.with_timezone(&shanghai()).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// RFC 3339 in UTC with milliseconds: log lines, the migration record, and query
/// bounds passed between functions; sorts as text.
pub fn store(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses RFC 3339 with any offset.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_shanghai_and_stores_utc() {
        let t = parse("2026-10-01T00:30:00+08:00").unwrap();
        assert_eq!(store(t), "2026-09-30T16:30:00.000Z");
        assert_eq!(render(t), "2026-10-01T00:30:00+08:00");
    }
}
