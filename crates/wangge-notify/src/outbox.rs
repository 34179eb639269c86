//! Taking messages into the outbox ([`crate::api::Enqueue`]): each idempotency key once,
//! the whole batch in one transaction.

use wangge_core::migrations::{Sql, StorageError};

use crate::api::{Batch, Enqueued};

/// Stores a batch's new messages; a key seen before changes nothing.
pub fn enqueue(db: &impl Sql, batch: &Batch, now: &str) -> Result<Enqueued, StorageError> {
    db.transaction(|db| {
        let mut answer = Enqueued { enqueued: 0, duplicates: 0 };
        for m in &batch.messages {
            let inserted = db.execute(
                "INSERT INTO outbox (id, idempotency_key, kind, case_id, region, recipient_kind, recipient_id, \
                 recipient_phone, recipient_openid, urgency, payload, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1",
                &[
                    wangge_core::ids::new_id().into(),
                    m.idempotency_key.as_str().into(),
                    m.kind.as_str().into(),
                    m.case_id.clone().into(),
                    m.region.as_str().into(),
                    m.recipient.kind.as_str().into(),
                    m.recipient.id.as_str().into(),
                    m.recipient.phone.clone().into(),
                    m.recipient.wechat_openid.clone().into(),
                    m.urgency.as_str().into(),
                    m.payload.to_string().into(),
                    now.into(),
                ],
            )?;
            if inserted.rows.is_empty() {
                answer.duplicates += 1;
            } else {
                answer.enqueued += 1;
            }
        }
        Ok(answer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Message, Recipient};
    use wangge_core::native::TestDb;

    fn message(key: &str, region: &str) -> Message {
        Message {
            idempotency_key: key.into(),
            kind: "assignment".into(),
            case_id: Some("c-1".into()),
            region: region.into(),
            recipient: Recipient {
                kind: "grid".into(),
                id: "320613001001001".into(),
                phone: None,
                wechat_openid: None,
            },
            urgency: "normal".into(),
            payload: serde_json::json!({}),
        }
    }

    #[test]
    fn a_key_is_taken_once_and_the_region_is_kept() {
        let db = TestDb::migrated(&crate::SCHEMA);
        let batch = Batch { messages: vec![message("k1", "320613001001"), message("k1", "320613001001")] };
        assert_eq!(enqueue(&db, &batch, "2026-11-01T08:00:00+08:00").unwrap(), Enqueued { enqueued: 1, duplicates: 1 });
        let again = Batch { messages: vec![message("k1", "320613001001"), message("k2", "320612001001")] };
        assert_eq!(enqueue(&db, &again, "2026-11-01T08:00:01+08:00").unwrap(), Enqueued { enqueued: 1, duplicates: 1 });
        let regions = db.execute("SELECT region FROM outbox ORDER BY idempotency_key", &[]).unwrap();
        let regions: Vec<&str> = regions.rows.iter().filter_map(|r| r[0].as_str()).collect();
        assert_eq!(regions, ["320613001001", "320612001001"]);
    }

    #[test]
    fn a_key_enqueued_by_several_replicas_at_once_is_taken_once() {
        // SQLite takes its writers in turn, and a database in memory has one connection.
        if TestDb::engine() == wangge_core::dialect::Dialect::Sqlite {
            return;
        }
        let db = TestDb::migrated(&crate::SCHEMA);
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let replicas: Vec<_> = (0..4)
            .map(|_| {
                let (db, start) = (db.connect_again(), start.clone());
                std::thread::spawn(move || {
                    let batch = Batch { messages: vec![message("k1", "320613001001"), message("k2", "320613001001")] };
                    start.wait();
                    enqueue(&db, &batch, "2026-11-01T08:00:00+08:00").expect("stored")
                })
            })
            .collect();
        let answers: Vec<Enqueued> = replicas.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(answers.iter().map(|a| a.enqueued).sum::<u64>(), 2, "each key once: {answers:?}");
        assert_eq!(answers.iter().map(|a| a.duplicates).sum::<u64>(), 6);
        let stored = db.execute("SELECT count(*) FROM outbox", &[]).unwrap();
        assert_eq!(stored.scalar().and_then(|v| v.as_i64()), Some(2));
    }
}
