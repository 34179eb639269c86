-- Delivery. An outbox message (one cause, one recipient) becomes one
-- delivery per channel once its recipient is resolved; each delivery is claimed in a
-- transaction before it is sent, and every try is kept.
--
-- outbox.state: pending (not yet resolved) | expanded (deliveries exist) | dead (no way to reach them)
ALTER TABLE outbox ADD COLUMN dead_reason TEXT;

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    case_id TEXT,
    -- wechat | sms | hotline | webhook
    channel TEXT NOT NULL,
    -- Where: an openid, a phone (personal data), a hotline order number, a region or department code.
    address TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    -- pending | sending | delivered | dead
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    -- The dispatcher that claimed it, and until when the claim holds.
    claim TEXT,
    lease_until TEXT,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (message_id, channel, address)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'sending';
CREATE INDEX deliveries_dead ON deliveries (id) WHERE state = 'dead';
CREATE INDEX deliveries_by_case ON deliveries (case_id);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE state = 'pending';

-- Every try, in order (a requeued delivery counts its tries afresh: `n` starts at 1 again).
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    at TEXT NOT NULL,
    -- delivered | retry | dead
    outcome TEXT NOT NULL,
    status INTEGER,
    detail TEXT
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);
