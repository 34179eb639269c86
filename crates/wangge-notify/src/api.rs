//! notification's internal route, `POST /internal/enqueue`: the outbox other functions
//! hand messages to. Its request and response types are defined here, once, and used by
//! the callers (case-routing) and by notification alike.
//!
//! Every `api` module has the same shape on purpose (a route declared with
//! `wangge_core::internal_route!`, its limits, its strict message types), so that the
//! functions' seams read alike.

use serde::{Deserialize, Serialize};
use serde_json::Value;

wangge_core::internal_route! {
    /// `POST /internal/enqueue`.
    Enqueue: POST "notification" "/internal/enqueue", Batch => Enqueued
}

/// At most this many messages per call.
pub const MAX_BATCH: usize = 500;

/// Messages for the outbox: each idempotency key is taken once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub messages: Vec<Message>,
}

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// `reporter`, `staff`, `grid`, `department`, `centre`, `hotline`.
    pub kind: String,
    pub id: String,
    /// A reporter's contact (personal data); `null` for everyone else.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub phone: Option<String>,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub wechat_openid: Option<String>,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The same key again changes nothing.
    pub idempotency_key: String,
    /// `case_accepted`, `case_rejected`, `case_merged`, `case_closed`, `hotline_result`,
    /// `assignment`, `reminder`, `supervision`, `escalation`.
    pub kind: String,
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub case_id: Option<String>,
    /// The region the message concerns (the case's community): a key bound to a
    /// region reads only its region's messages.
    pub region: String,
    pub recipient: Recipient,
    /// `normal` or `urgent`.
    pub urgency: String,
    pub payload: Value,
}

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enqueued {
    /// New messages.
    pub enqueued: u64,
    /// Messages whose key was seen before.
    pub duplicates: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::internal::parse;

    const MESSAGE: &str = r#"{"idempotency_key":"k","kind":"reminder","case_id":null,"region":"320613001001",
        "recipient":{"kind":"staff","id":"S1","phone":null,"wechat_openid":null},"urgency":"normal","payload":{}}"#;

    #[test]
    fn a_message_reads_whole_and_a_renamed_or_missing_field_is_refused() {
        let message: Message = parse(MESSAGE.as_bytes()).unwrap();
        assert_eq!((message.region.as_str(), message.case_id), ("320613001001", None));
        let renamed = MESSAGE.replace("\"region\"", "\"regoin\"");
        assert!(parse::<Message>(renamed.as_bytes()).unwrap_err().contains("regoin"));
        let no_phone = MESSAGE.replace("\"phone\":null,", "");
        assert!(parse::<Message>(no_phone.as_bytes()).unwrap_err().contains("missing field `phone`"));
    }
}
