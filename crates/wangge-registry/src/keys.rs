//! The record of integrator API keys (`api_keys`), which grid-lookup keeps: who each
//! key is, what it may do, where, and whether it is revoked. The live copy every
//! function verifies against is the shared key-value store, which the glue writes;
//! tokens are never stored, only their SHA-256.

use serde::Serialize;
use wangge_core::auth::ApiKey;
use wangge_core::migrations::{Rows, Sql, SqlValue, StorageError};

/// A key as listed: never its token or signing secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<wangge_core::auth::Scope>,
    pub region_prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl KeyRecord {
    pub fn of(key: &ApiKey) -> KeyRecord {
        KeyRecord {
            id: key.id.clone(),
            name: key.name.clone(),
            scopes: key.scopes.clone(),
            region_prefix: key.region_prefix.clone(),
            created_at: key.created_at.clone(),
            revoked_at: None,
        }
    }
}

const COLUMNS: &str = "id, name, scopes, region_prefix, created_at, revoked_at";

fn records(rows: Rows) -> Vec<KeyRecord> {
    rows.rows
        .iter()
        .map(|r| {
            let text = |i: usize| r[i].as_str().unwrap_or_default().to_owned();
            KeyRecord {
                id: text(0),
                name: text(1),
                scopes: serde_json::from_str(&text(2)).unwrap_or_default(),
                region_prefix: text(3),
                created_at: text(4),
                revoked_at: r[5].as_str().map(str::to_owned),
            }
        })
        .collect()
}

/// Records a new key by its token's hash.
pub fn insert(db: &impl Sql, key: &ApiKey, token_hash: &str) -> Result<(), StorageError> {
    let scopes = serde_json::to_string(&key.scopes).unwrap_or_else(|_| "[]".into());
    db.execute(
        "INSERT INTO api_keys (id, name, scopes, region_prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            key.id.as_str().into(),
            key.name.as_str().into(),
            scopes.into(),
            key.region_prefix.as_str().into(),
            token_hash.into(),
            key.created_at.as_str().into(),
        ],
    )?;
    Ok(())
}

/// Forgets a key whose live copy could not be written (the key-value store has no
/// transactions, so the record is undone instead).
pub fn forget(db: &impl Sql, id: &str) -> Result<(), StorageError> {
    db.execute("DELETE FROM api_keys WHERE id = ?", &[id.into()]).map(|_| ())
}

/// Up to `limit` keys after `after` (an id), oldest first, revoked ones included.
pub fn page(db: &impl Sql, after: &str, limit: usize) -> Result<Vec<KeyRecord>, StorageError> {
    let rows = db.execute(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE id > ? ORDER BY id LIMIT ?"),
        &[after.into(), (limit as i64).into()],
    )?;
    Ok(records(rows))
}

/// A key's token hash, and whether it is already revoked.
pub fn token_hash(db: &impl Sql, id: &str) -> Result<Option<(String, bool)>, StorageError> {
    let found = db.execute("SELECT token_hash, revoked_at FROM api_keys WHERE id = ?", &[id.into()])?;
    Ok(found.rows.first().map(|r| (r[0].as_str().unwrap_or_default().to_owned(), r[1] != SqlValue::Null)))
}

/// Marks a key revoked at `now` (once: a second revocation keeps the first time), and
/// returns its record.
pub fn revoke(db: &impl Sql, id: &str, now: &str) -> Result<Option<KeyRecord>, StorageError> {
    db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &[now.into(), id.into()])?;
    let rows = db.execute(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?"), &[id.into()])?;
    Ok(records(rows).into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::auth::Scope;
    use wangge_core::native::TestDb;

    #[test]
    fn keys_are_recorded_paged_and_revoked_once() {
        let db = TestDb::migrated(&crate::SCHEMA);
        for id in ["k1", "k2", "k3"] {
            let key = ApiKey {
                id: id.into(),
                name: "小程序".into(),
                scopes: vec![Scope::EventsWrite],
                region_prefix: "320613".into(),
                created_at: "2026-11-01T08:00:00+08:00".into(),
                signing_secret: None,
            };
            insert(&db, &key, &format!("hash-{id}")).unwrap();
        }
        let ids: Vec<String> = page(&db, "k1", 10).unwrap().into_iter().map(|k| k.id).collect();
        assert_eq!(ids, ["k2", "k3"]);
        assert_eq!(token_hash(&db, "k2").unwrap(), Some(("hash-k2".into(), false)));
        let first = revoke(&db, "k2", "2026-11-02T08:00:00+08:00").unwrap().unwrap();
        let again = revoke(&db, "k2", "2026-11-03T08:00:00+08:00").unwrap().unwrap();
        assert_eq!(first.revoked_at, again.revoked_at, "the first revocation's time stays");
        assert_eq!(token_hash(&db, "k2").unwrap(), Some(("hash-k2".into(), true)));
        forget(&db, "k3").unwrap();
        assert_eq!(token_hash(&db, "k3").unwrap(), None);
    }
}
