-- assessment: the diagnostic chain's record (see /v1/system/assessment/chain).
CREATE TABLE system_chain (
    id INTEGER PRIMARY KEY,
    chain_id TEXT NOT NULL,
    component TEXT NOT NULL,
    at TEXT NOT NULL
);
