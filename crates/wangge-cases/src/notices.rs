//! Notices case-routing owes (a transactional outbox): recorded with the change that
//! causes them, delivered to the notification function afterwards, each exactly once
//! by its key.

use serde_json::Value;
use wangge_core::migrations::{Sql, SqlValue, StorageError};
use wangge_notify::api::Message;

/// Who a notice is for: the outbox's own recipient type.
pub use wangge_notify::api::Recipient;

/// One notice a change owes, as recorded with it. It reaches notification as a
/// [`Message`] of its outbox ([`pending`]), with the case's region.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub idempotency_key: String,
    pub case_id: String,
    /// `case_accepted`, `case_rejected`, `case_closed`, `hotline_result`, `assignment`,
    /// `reminder`, `supervision`, `escalation`.
    pub kind: String,
    pub recipient: Recipient,
    /// `normal` or `urgent`.
    pub urgency: String,
    pub payload: Value,
}

/// Records a notice; a key seen before changes nothing. Returns whether it was new.
pub fn record(db: &impl Sql, notice: &Notice, now: &str) -> Result<bool, StorageError> {
    Ok(!record_many(db, std::slice::from_ref(notice), now)?.is_empty())
}

/// Records many notices in few statements (rows of 100); keys seen before change
/// nothing. Returns the kinds of the notices that were new.
pub fn record_many(db: &impl Sql, notices: &[Notice], now: &str) -> Result<Vec<String>, StorageError> {
    let mut new_kinds = Vec::new();
    for chunk in notices.chunks(100) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut params: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 10);
        for n in chunk {
            params.extend([
                n.idempotency_key.as_str().into(),
                n.case_id.as_str().into(),
                n.kind.as_str().into(),
                n.recipient.kind.as_str().into(),
                n.recipient.id.as_str().into(),
                n.recipient.phone.clone().into(),
                n.recipient.wechat_openid.clone().into(),
                n.urgency.as_str().into(),
                n.payload.to_string().into(),
                now.into(),
            ]);
        }
        let inserted = db.execute(
            &format!(
                "INSERT INTO case_notices (idempotency_key, case_id, kind, recipient_kind, recipient_id, recipient_phone, \
                 recipient_openid, urgency, payload, created_at) VALUES {rows} \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING kind"
            ),
            &params,
        )?;
        new_kinds.extend(inserted.rows.iter().filter_map(|r| r[0].as_str().map(str::to_owned)));
    }
    Ok(new_kinds)
}

/// Up to `limit` notices not yet delivered, oldest first, as messages for
/// notification's outbox, each with its case's community as its region.
pub fn pending(db: &impl Sql, limit: usize) -> Result<Vec<Message>, StorageError> {
    let rows = db.execute(
        "SELECT n.idempotency_key, n.case_id, n.kind, n.recipient_kind, n.recipient_id, n.urgency, n.payload, \
         n.recipient_phone, n.recipient_openid, c.community FROM case_notices n JOIN cases c ON c.id = n.case_id \
         WHERE n.delivered_at IS NULL ORDER BY n.created_at, n.idempotency_key LIMIT ?",
        &[(limit as i64).into()],
    )?;
    let text = |v: &SqlValue| v.as_str().unwrap_or_default().to_owned();
    Ok(rows
        .rows
        .iter()
        .map(|r| Message {
            idempotency_key: text(&r[0]),
            case_id: Some(text(&r[1])),
            kind: text(&r[2]),
            region: text(&r[9]),
            recipient: Recipient {
                kind: text(&r[3]),
                id: text(&r[4]),
                phone: r[7].as_str().map(str::to_owned),
                wechat_openid: r[8].as_str().map(str::to_owned),
            },
            urgency: text(&r[5]),
            payload: serde_json::from_str(r[6].as_str().unwrap_or("null")).unwrap_or(Value::Null),
        })
        .collect())
}

/// Marks notices delivered once notification has taken them.
pub fn mark_delivered(db: &impl Sql, keys: &[String], now: &str) -> Result<(), StorageError> {
    db.transaction(|db| {
        for key in keys {
            db.execute(
                "UPDATE case_notices SET delivered_at = ? WHERE idempotency_key = ? AND delivered_at IS NULL",
                &[now.into(), key.as_str().into()],
            )?;
        }
        Ok(())
    })
}
