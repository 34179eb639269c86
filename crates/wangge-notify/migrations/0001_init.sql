-- notification: the diagnostic chain's record (see /v1/system/notification/chain).
CREATE TABLE system_chain (
    id INTEGER PRIMARY KEY,
    chain_id TEXT NOT NULL,
    component TEXT NOT NULL,
    at TEXT NOT NULL
);
