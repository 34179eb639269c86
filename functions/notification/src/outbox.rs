//! `POST /internal/enqueue`: other functions hand over messages; each idempotency key
//! is taken once, so a sweep or a retry that sends the same message again changes nothing.

use serde::Deserialize;
use serde_json::{Value, json};
use wangge_core::migrations::{Sql, StorageError};
use wangge_spin::{KIB, Reply, Req, json};

use crate::COMPONENT;

#[derive(Debug, Deserialize)]
struct Recipient {
    kind: String,
    id: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    wechat_openid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    idempotency_key: String,
    kind: String,
    #[serde(default)]
    case_id: Option<String>,
    recipient: Recipient,
    urgency: String,
    #[serde(default)]
    payload: Value,
}

#[derive(Debug, Deserialize)]
struct Batch {
    messages: Vec<Message>,
}

/// At most this many messages per call.
const MAX_BATCH: usize = 500;

pub async fn enqueue(mut req: Req) -> Reply {
    let batch: Batch = req.json(1024 * KIB).await?;
    if batch.messages.len() > MAX_BATCH {
        return Err(wangge_core::Problem::new(wangge_core::ErrorCode::ValidationFailed)
            .with_detail(format!("at most {MAX_BATCH} messages per call"), format!("每次最多 {MAX_BATCH} 条消息")));
    }
    let db = COMPONENT.db()?;
    let now = wangge_core::time::render(wangge_core::time::now_utc());
    let (enqueued, duplicates) = db
        .transaction(|db| {
            let (mut new, mut seen) = (0, 0);
            for m in &batch.messages {
                let inserted = db.execute(
                    "INSERT INTO outbox (id, idempotency_key, kind, case_id, recipient_kind, recipient_id, recipient_phone, \
                     recipient_openid, urgency, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1",
                    &[
                        wangge_core::ids::new_id().into(),
                        m.idempotency_key.as_str().into(),
                        m.kind.as_str().into(),
                        m.case_id.clone().into(),
                        m.recipient.kind.as_str().into(),
                        m.recipient.id.as_str().into(),
                        m.recipient.phone.clone().into(),
                        m.recipient.wechat_openid.clone().into(),
                        m.urgency.as_str().into(),
                        m.payload.to_string().into(),
                        now.as_str().into(),
                    ],
                )?;
                if inserted.rows.is_empty() { seen += 1 } else { new += 1 }
            }
            Ok::<_, StorageError>((new, seen))
        })?;
    Ok(json(200, &json!({ "enqueued": enqueued, "duplicates": duplicates })))
}
