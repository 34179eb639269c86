//! `POST /internal/enqueue` ([`wangge_notify::api::Enqueue`]): other functions hand over
//! messages; each idempotency key is taken once, so a sweep or a retry that sends the
//! same message again changes nothing.

use wangge_notify::api::{Batch, MAX_BATCH};
use wangge_spin::{KIB, Reply, Req, json};

use crate::COMPONENT;

pub async fn enqueue(mut req: Req) -> Reply {
    let batch: Batch = req.json(1024 * KIB).await?;
    if batch.messages.len() > MAX_BATCH {
        return Err(wangge_core::Problem::new(wangge_core::ErrorCode::ValidationFailed)
            .with_detail(format!("at most {MAX_BATCH} messages per call"), format!("每次最多 {MAX_BATCH} 条消息")));
    }
    let db = COMPONENT.db()?;
    let now = wangge_core::time::render(wangge_core::time::now_utc());
    Ok(json(200, &wangge_notify::outbox::enqueue(&db, &batch, &now)?))
}
