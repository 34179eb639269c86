//! The history of a case: entries appended, never updated or deleted, each carrying
//! `hash = SHA-256(previous hash ‖ canonical JSON of the entry)`, so anyone can check
//! that the history was not edited afterwards.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use wangge_core::migrations::{Sql, StorageError};

use crate::lifecycle::State;
use crate::store::Actor;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One transition (or comment) of a case, as hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub case_id: String,
    pub seq: i64,
    pub from: Option<String>,
    pub to: String,
    pub action: String,
    pub actor: String,
    pub role: String,
    pub at: String,
    pub note: Option<String>,
    pub attachments: Vec<String>,
}

/// Canonical JSON: keys sorted, no insignificant whitespace, UTF-8, numbers as written.
pub fn canonical_json(value: &Value) -> String {
    wangge_core::json::canonical(value)
}

/// The hash of `entry` following `previous`.
pub fn hash(previous: &str, entry: &Entry) -> String {
    let json = canonical_json(&serde_json::to_value(entry).unwrap_or(Value::Null));
    let mut hasher = Sha256::new();
    hasher.update(previous.as_bytes());
    hasher.update(json.as_bytes());
    hex::encode(hasher.finalize())
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub valid: bool,
    /// The first entry whose hash does not follow, if any.
    pub broken_at_seq: Option<i64>,
    pub entries: usize,
}

/// Checks stored `(entry, hash)` pairs in order: sequence numbers from 1 without gaps,
/// each hash following the one before.
pub fn verify(chain: &[(Entry, String)]) -> Verification {
    let mut previous = GENESIS.to_owned();
    for (i, (entry, stored)) in chain.iter().enumerate() {
        if entry.seq != i as i64 + 1 || hash(&previous, entry) != *stored {
            return Verification { valid: false, broken_at_seq: Some(entry.seq), entries: chain.len() };
        }
        previous = stored.clone();
    }
    Verification { valid: true, broken_at_seq: None, entries: chain.len() }
}

/// The log of a case with its stored hashes, and whether the chain holds.
pub fn history(db: &impl Sql, id: &str) -> Result<(Vec<(Entry, String)>, Verification), StorageError> {
    let rows = db.execute("SELECT entry, hash FROM case_log WHERE case_id = ? ORDER BY seq", &[id.into()])?;
    let chain: Vec<(Entry, String)> = rows
        .rows
        .iter()
        .filter_map(|r| Some((serde_json::from_str(r[0].as_str()?).ok()?, r[1].as_str()?.to_owned())))
        .collect();
    let mut verification = verify(&chain);
    if chain.len() != rows.rows.len() {
        // An entry that no longer parses is an edit too.
        verification.valid = false;
    }
    Ok((chain, verification))
}

/// One log entry to append: the transition, and the actor's note and attachments.
pub(crate) struct Draft<'a> {
    pub from: Option<State>,
    pub to: State,
    pub action: &'a str,
    pub actor: &'a Actor,
    pub at: &'a str,
    pub note: Option<String>,
    pub attachments: Vec<String>,
}

/// The next log entry of a case whose log ends at `(seq, hash)`, and its hash.
pub(crate) fn next_entry(case_id: &str, (seq, previous): (i64, &str), draft: Draft) -> (Entry, String) {
    let Draft { from, to, action, actor, at, note, attachments } = draft;
    let previous = if previous.is_empty() { GENESIS } else { previous };
    let entry = Entry {
        case_id: case_id.to_owned(),
        seq: seq + 1,
        from: from.map(|s| s.as_str().to_owned()),
        to: to.as_str().to_owned(),
        action: action.to_owned(),
        actor: actor.id(),
        role: actor.role().to_owned(),
        at: at.to_owned(),
        note,
        attachments,
    };
    let hash = hash(previous, &entry);
    (entry, hash)
}

/// Appends an entry to the log table (the case row keeps the chain's head).
pub(crate) fn insert_entry(db: &impl Sql, entry: &Entry, hash: &str) -> Result<(), StorageError> {
    db.execute(
        "INSERT INTO case_log (case_id, seq, entry, hash) VALUES (?, ?, ?, ?)",
        &[
            entry.case_id.as_str().into(),
            entry.seq.into(),
            serde_json::to_string(entry).unwrap_or_default().into(),
            hash.into(),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, to: &str) -> Entry {
        Entry {
            case_id: "c1".into(),
            seq,
            from: (seq > 1).then(|| "reported".into()),
            to: to.into(),
            action: "accept".into(),
            actor: "S000002".into(),
            role: "grid_worker".into(),
            at: "2026-11-26T14:00:00+08:00".into(),
            note: Some("现场核实".into()),
            attachments: vec!["https://example.com/a.jpg".into()],
        }
    }

    fn chain(n: i64) -> Vec<(Entry, String)> {
        let mut previous = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let e = entry(seq, "accepted");
                let h = hash(&previous, &e);
                previous = h.clone();
                (e, h)
            })
            .collect()
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let v: Value = serde_json::from_str(r#"{ "b": [1, {"z": null, "a": "网格"}], "a": 1.50 }"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":1.5,"b":[1,{"a":"网格","z":null}]}"#);
    }

    #[test]
    fn a_chain_verifies_and_any_edit_breaks_it_at_that_entry() {
        let mut c = chain(5);
        assert_eq!(verify(&c), Verification { valid: true, broken_at_seq: None, entries: 5 });
        c[2].0.note = Some("edited afterwards".into());
        assert_eq!(verify(&c).broken_at_seq, Some(3));
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).broken_at_seq, Some(3), "a deleted entry shows as a gap");
    }
}
