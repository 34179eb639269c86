-- Notices case-routing owes to people (feedback, assignments, reminders, supervision):
-- written in the same transaction as the change that causes them, then handed to the
-- notification function and marked delivered. A key derived from the cause makes every
-- notice exist once, however often a sweep or a retry runs.
-- Its columns mirror notification's outbox (wangge-notify's 0002_outbox.sql) on purpose:
-- the same message, owned by each function in its own database, as the outbox pattern has it.
CREATE TABLE case_notices (
    idempotency_key TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient_kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    -- A reporter's contact (personal data), only for notices to a reporter.
    recipient_phone TEXT,
    recipient_openid TEXT,
    urgency TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX case_notices_pending ON case_notices (delivered_at, created_at);
CREATE INDEX case_notices_by_case ON case_notices (case_id);
