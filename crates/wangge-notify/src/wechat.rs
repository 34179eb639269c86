//! WeChat subscription messages (订阅消息, `message/subscribe/send`): template data cut
//! to each field type's limit, and what each error code means for a retry.

use serde_json::{Value, json};

/// The most characters a template field of `kind` may hold (WeChat's documented
/// limits; `time` and `date` are formatted, not cut).
pub fn limit(kind: &str) -> Option<usize> {
    Some(match kind {
        "thing" => 20,
        "phrase" => 5,
        "name" => 10,
        "symbol" => 5,
        "car_number" => 8,
        "phone_number" => 17,
        "character_string" | "number" | "letter" => 32,
        "amount" => 10,
        _ => return None,
    })
}

/// `value` cut to its field's limit, counted in characters (not bytes): a 20-character
/// `thing` of Chinese text is 60 bytes and still fits.
pub fn cut(field: &str, value: &str) -> String {
    let kind = field.trim_end_matches(|c: char| c.is_ascii_digit());
    match limit(kind) {
        Some(max) if value.chars().count() > max => value.chars().take(max).collect(),
        _ => value.to_owned(),
    }
}

/// Short Chinese words for a case's state, fit for a `phrase` (≤ 5 characters).
pub fn state_phrase(state: &str) -> &'static str {
    match state {
        "reported" => "已上报",
        "accepted" => "已受理",
        "rejected" => "不予受理",
        "merged" => "已合并",
        "assigned" => "已交办",
        "in_progress" => "处置中",
        "returned" => "已退回",
        "escalated" => "已上报上级",
        "resolved" => "已处置",
        "closed" => "已办结",
        _ => "有更新",
    }
}

/// What a notice is about, for a `thing` (≤ 20 characters).
pub fn subject(kind: &str) -> &'static str {
    match kind {
        "case_accepted" => "您反映的问题已受理",
        "case_rejected" => "您反映的问题不予受理",
        "case_merged" => "您反映的问题已并入同一案件办理",
        "case_closed" => "您反映的问题已办结",
        "assignment" => "您有新的案件待处置",
        "reminder" => "案件即将超时，请及时处置",
        "supervision" => "案件已超时，督办提醒",
        "escalation" => "案件已上报，请协调处置",
        _ => "案件状态更新",
    }
}

/// The `data` of a subscription message for one notice: `thing1` what, `character_string2`
/// the case, `phrase3` its state, `time4` when. Every value cut to its limit.
pub fn template_data(kind: &str, payload: &Value, at: &str) -> Value {
    let case = payload["merged_into"].as_str().or(payload["case_id"].as_str()).unwrap_or_default();
    let time = at.get(..16).map(|t| t.replace('T', " ")).unwrap_or_default();
    let fields = [
        ("thing1", subject(kind).to_owned()),
        ("character_string2", case.to_owned()),
        ("phrase3", state_phrase(payload["state"].as_str().unwrap_or_default()).to_owned()),
        ("time4", time),
    ];
    let mut data = serde_json::Map::new();
    for (field, value) in fields {
        data.insert(field.to_owned(), json!({ "value": cut(field, &value) }));
    }
    Value::Object(data)
}

/// What a WeChat answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Sent,
    /// The access token is invalid or expired (40001, 42001, 40014): refresh it and retry.
    TokenExpired,
    /// Final, never retried: 43101 (the user has not subscribed, or used up the
    /// subscription), 40003 (not a valid openid), 47003 (template data invalid),
    /// 40037 (no such template).
    Final(i64, String),
    /// Anything else (-1 system busy, 45009 quota): retry later.
    Retry(i64, String),
}

pub fn verdict(answer: &Value) -> Verdict {
    let code = answer["errcode"].as_i64().unwrap_or(0);
    let message = answer["errmsg"].as_str().unwrap_or_default().to_owned();
    match code {
        0 => Verdict::Sent,
        40001 | 42001 | 40014 => Verdict::TokenExpired,
        43101 | 40003 | 47003 | 40037 => Verdict::Final(code, message),
        _ => Verdict::Retry(code, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_cut_to_their_limits_in_characters() {
        let long = "小区门口垃圾堆积三天无人清理请尽快处理谢谢配合";
        assert_eq!(cut("thing1", long).chars().count(), 20);
        assert_eq!(cut("phrase3", "已上报上级处理"), "已上报上级");
        assert_eq!(cut("character_string2", "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000").len(), 32);
        assert_eq!(cut("time4", "2026-11-26 09:00"), "2026-11-26 09:00");
        assert_eq!(cut("thing1", "短"), "短");
        for s in [
            "reported",
            "accepted",
            "rejected",
            "merged",
            "assigned",
            "in_progress",
            "returned",
            "escalated",
            "resolved",
            "closed",
        ] {
            assert!(state_phrase(s).chars().count() <= 5, "{s}");
        }
    }

    #[test]
    fn template_data_fits_every_field() {
        let payload = json!({ "case_id": "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000", "state": "escalated" });
        let data = template_data("supervision", &payload, "2026-11-26T21:30:00+08:00");
        assert_eq!(data["character_string2"]["value"].as_str().unwrap().len(), 32);
        assert_eq!(data["phrase3"]["value"], "已上报上级");
        assert_eq!(data["time4"]["value"], "2026-11-26 21:30");
        assert!(data["thing1"]["value"].as_str().unwrap().chars().count() <= 20);
    }

    #[test]
    fn error_codes_decide_retries() {
        assert_eq!(verdict(&json!({ "errcode": 0, "errmsg": "ok" })), Verdict::Sent);
        assert_eq!(verdict(&json!({ "errcode": 42001 })), Verdict::TokenExpired);
        assert_eq!(verdict(&json!({ "errcode": 40001 })), Verdict::TokenExpired);
        assert!(matches!(
            verdict(&json!({ "errcode": 43101, "errmsg": "user refuse to accept the msg" })),
            Verdict::Final(43101, _)
        ));
        assert!(matches!(verdict(&json!({ "errcode": -1, "errmsg": "system busy" })), Verdict::Retry(-1, _)));
    }
}
