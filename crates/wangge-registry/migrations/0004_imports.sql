-- The import slot: one import at a time for the whole registry (the four datasets and
-- the region outlines), since each is checked against the others. The running import's
-- claim is this table's one row, taken in a short transaction before the import starts
-- and given up in the transaction that writes it. A claim whose heartbeat is older than
-- the stale timeout belongs to an import that died, and the next import takes it over.

CREATE TABLE imports (
    slot INTEGER PRIMARY KEY CHECK (slot = 1),
    token TEXT NOT NULL,
    dataset TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    heartbeat_ms INTEGER NOT NULL
);
