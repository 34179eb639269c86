-- Events: every accepted report, durable before the answer goes out. A pending event
-- waits here for grid-lookup or case-routing and is retried until it is a case.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    -- events | hotline | open311
    channel TEXT NOT NULL,
    -- The case source: grid_staff, resident, department, inspection, hotline, open311.
    source TEXT NOT NULL,
    -- The integrator key that sent it, and the region prefix it may touch.
    key_id TEXT NOT NULL,
    key_region_prefix TEXT NOT NULL,
    -- Idempotency: the key's own Idempotency-Key, and (source, external id).
    idempotency_key TEXT,
    external_key TEXT,
    request_hash TEXT NOT NULL,
    category TEXT,
    -- pending | accepted | merged | rejected (found unacceptable on a retry)
    status TEXT NOT NULL,
    -- The normalised event (no personal data).
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    case_id TEXT,
    merged_into TEXT,
    community TEXT,
    -- The first answer, returned to every retry.
    answer TEXT,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX events_by_idempotency_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX events_by_external_key ON events (external_key) WHERE external_key IS NOT NULL;
CREATE INDEX events_pending ON events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_by_received_at ON events (received_at, id);

-- Reporters' personal data, one place to mask and erase.
CREATE TABLE event_reporters (
    event_id TEXT PRIMARY KEY,
    name TEXT,
    phone TEXT,
    wechat_openid TEXT
);

-- Signatures seen in the last window: each is accepted once.
CREATE TABLE seen_signatures (
    signature TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX seen_signatures_by_expiry ON seen_signatures (expires_at);

-- Writes per key per minute.
CREATE TABLE rate_windows (
    key_id TEXT NOT NULL,
    minute INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key_id, minute)
);
