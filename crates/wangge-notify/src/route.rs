//! Which channels reach whom, when, and how often to try.

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A way to reach someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A WeChat subscription message (订阅消息), to an openid.
    Wechat,
    /// A text message through the SMS gateway, to a phone.
    Sms,
    /// The hotline's result callback (办结反馈), for an order number.
    Hotline,
    /// A signed webhook to the command centre's or a department's system.
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Wechat => "wechat",
            Channel::Sms => "sms",
            Channel::Hotline => "hotline",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Wechat, Channel::Sms, Channel::Hotline, Channel::Webhook].into_iter().find(|c| c.as_str() == s)
    }
}

/// How to reach a person, as the staff directory or the report says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub phone: Option<String>,
    pub wechat_openid: Option<String>,
}

/// Reporters and grid staff (one by one, or a grid's) are people: quiet hours apply to them.
pub fn is_person(recipient_kind: &str) -> bool {
    matches!(recipient_kind, "reporter" | "staff" | "grid")
}

/// The channels of one message, each with its address. A person is reached by WeChat
/// when they have an openid, and by SMS when they have no openid or the message is
/// urgent (urgent goes by SMS as well as WeChat). Departments and centres get the
/// webhook; a hotline, its callback. Empty: nobody to reach.
pub fn channels(recipient_kind: &str, recipient_id: &str, urgent: bool, contact: &Contact) -> Vec<(Channel, String)> {
    let present = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    match recipient_kind {
        "reporter" | "staff" => {
            let mut out = Vec::new();
            let openid = present(&contact.wechat_openid);
            if let Some(openid) = &openid {
                out.push((Channel::Wechat, openid.clone()));
            }
            if let Some(phone) = present(&contact.phone)
                && (urgent || openid.is_none())
            {
                out.push((Channel::Sms, phone));
            }
            out
        }
        // A department's system by webhook; its duty phone by SMS too when it is urgent.
        "department" => {
            let mut out = vec![(Channel::Webhook, recipient_id.to_owned())];
            if let Some(phone) = present(&contact.phone).filter(|_| urgent) {
                out.push((Channel::Sms, phone));
            }
            out
        }
        // A grid is reached through its staff: the function resolves them and asks for each.
        "centre" => vec![(Channel::Webhook, recipient_id.to_owned())],
        "hotline" => vec![(Channel::Hotline, recipient_id.to_owned())],
        _ => Vec::new(),
    }
}

/// Quiet hours, 22:00–07:00 in +08:00: a non-urgent message to a person waits for
/// their end. Returns when it may go, if `now` is inside them.
pub fn quiet_until(now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&wangge_core::time::shanghai());
    let (start, end) = (NaiveTime::from_hms_opt(22, 0, 0)?, NaiveTime::from_hms_opt(7, 0, 0)?);
    let time = local.time().with_nanosecond(0)?;
    let day = if time >= start {
        local.date_naive().succ_opt()?
    } else if time < end {
        local.date_naive()
    } else {
        return None;
    };
    let release = day.and_time(end).and_local_timezone(wangge_core::time::shanghai()).single()?;
    Some(release.with_timezone(&Utc))
}

/// Tries before a delivery goes dead, unless the variable says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;
/// The first wait after a failed try, unless the variable says otherwise.
pub const FIRST_BACKOFF_SECONDS: i64 = 10;
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// The wait after failed try `attempt` (1-based): `first` seconds (10 by default)
/// doubling up to an hour, with "equal jitter": half of it fixed, half random (`jitter`
/// in [0, 1)), so that many deliveries failing together do not come back together.
pub fn backoff(attempt: i64, jitter: f64, first: i64) -> Duration {
    let exponent = (attempt - 1).clamp(0, 20) as u32;
    let base = (first.max(1) << exponent).min(MAX_BACKOFF_SECONDS) as f64;
    let seconds = base / 2.0 + base / 2.0 * jitter.clamp(0.0, 1.0);
    Duration::milliseconds((seconds * 1000.0) as i64)
}

/// The webhook signature: hex HMAC-SHA-256 with the shared secret over
/// `id "\n" timestamp "\n" body`.
pub fn webhook_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b"\n");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(phone: Option<&str>, openid: Option<&str>) -> Contact {
        Contact { phone: phone.map(str::to_owned), wechat_openid: openid.map(str::to_owned) }
    }

    #[test]
    fn people_get_wechat_and_sms_when_urgent_or_without_wechat() {
        let both = contact(Some("13800000001"), Some("oX1"));
        assert_eq!(channels("reporter", "c1", false, &both), vec![(Channel::Wechat, "oX1".into())]);
        assert_eq!(
            channels("staff", "S1", true, &both),
            vec![(Channel::Wechat, "oX1".into()), (Channel::Sms, "13800000001".into())]
        );
        assert_eq!(channels("reporter", "c1", false, &contact(Some("138"), None)), vec![(Channel::Sms, "138".into())]);
        assert!(channels("reporter", "c1", true, &contact(None, Some(" "))).is_empty());
        assert_eq!(channels("centre", "320613001000", false, &Contact::default())[0].0, Channel::Webhook);
        assert_eq!(channels("department", "320613000000-justice", true, &Contact::default())[0].0, Channel::Webhook);
        let duty = contact(Some("051285000000"), None);
        assert_eq!(
            channels("department", "d1", true, &duty),
            vec![(Channel::Webhook, "d1".into()), (Channel::Sms, "051285000000".into())],
            "urgent: the duty phone as well"
        );
        assert_eq!(channels("department", "d1", false, &duty), vec![(Channel::Webhook, "d1".into())]);
        assert_eq!(channels("hotline", "GD-1", false, &Contact::default()), vec![(Channel::Hotline, "GD-1".into())]);
    }

    fn at(s: &str) -> DateTime<Utc> {
        wangge_core::time::parse(s).unwrap()
    }

    #[test]
    fn quiet_hours_run_from_22_to_07_shanghai_time() {
        assert_eq!(quiet_until(at("2026-11-26T21:59:59+08:00")), None);
        assert_eq!(quiet_until(at("2026-11-26T22:00:00+08:00")), Some(at("2026-11-27T07:00:00+08:00")));
        assert_eq!(quiet_until(at("2026-11-26T23:30:00+08:00")), Some(at("2026-11-27T07:00:00+08:00")));
        assert_eq!(quiet_until(at("2026-11-27T06:59:00+08:00")), Some(at("2026-11-27T07:00:00+08:00")));
        assert_eq!(quiet_until(at("2026-11-27T07:00:00+08:00")), None);
        // 15:30 UTC is 23:30 in Shanghai.
        assert_eq!(quiet_until(at("2026-12-31T15:30:00Z")), Some(at("2027-01-01T07:00:00+08:00")));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_an_hour() {
        assert_eq!(backoff(1, 0.0, FIRST_BACKOFF_SECONDS), Duration::seconds(5));
        assert_eq!(backoff(1, 0.999_999, FIRST_BACKOFF_SECONDS).num_seconds(), 9);
        assert_eq!(backoff(2, 0.0, FIRST_BACKOFF_SECONDS), Duration::seconds(10));
        assert_eq!(backoff(3, 1.0, FIRST_BACKOFF_SECONDS), Duration::seconds(40));
        assert_eq!(backoff(12, 1.0, FIRST_BACKOFF_SECONDS), Duration::seconds(3600));
        assert_eq!(backoff(12, 0.0, FIRST_BACKOFF_SECONDS), Duration::seconds(1800));
    }

    #[test]
    fn webhook_signature_known_vector() {
        // HMAC-SHA-256("secret", "m1\n1700000000\n{}"), computed with Python's hmac module.
        assert_eq!(
            webhook_signature("secret", "m1", 1_700_000_000, b"{}"),
            "3d015a81871a8309080d7db87efdebf3aa2992c1985b38319df1367373676c40"
        );
    }
}
