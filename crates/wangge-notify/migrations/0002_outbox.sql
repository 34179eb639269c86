-- The outbox: every message other functions want delivered, once per idempotency key
-- (derived from its cause), until it is delivered or dead (deliveries: 0003_delivery.sql).
-- case-routing keeps the same columns in its own case_notices table on purpose: the
-- message before it is handed over, in the function that owes it.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    case_id TEXT,
    recipient_kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    -- A reporter's contact (personal data), only for messages to a reporter.
    recipient_phone TEXT,
    recipient_openid TEXT,
    urgency TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX outbox_by_case ON outbox (case_id);
CREATE INDEX outbox_by_state ON outbox (state, created_at);
