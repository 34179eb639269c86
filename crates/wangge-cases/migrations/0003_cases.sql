-- Cases, the staff who answer for each, reporters' personal data (one place to mask
-- and erase), and the append-only, hash-chained log.

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    category TEXT NOT NULL,
    domain TEXT NOT NULL,
    priority TEXT NOT NULL,
    source TEXT NOT NULL,
    reporter_staff_id TEXT,
    lng REAL,
    lat REAL,
    responsible_grid TEXT,
    comprehensive_grid TEXT,
    community TEXT NOT NULL,
    discovered_at TEXT,
    reported_at TEXT NOT NULL,
    description TEXT NOT NULL,
    attachments TEXT NOT NULL,
    external_ref TEXT,
    handling_level TEXT,
    assignee_kind TEXT,
    assignee TEXT,
    escalated_to_department INTEGER NOT NULL DEFAULT 0,
    -- Where an escalation has taken the case: community, town, district or city (吹哨 one level at a time).
    escalation_level TEXT,
    assigned_at TEXT,
    respond_due TEXT,
    resolve_due TEXT,
    deadline_fallback INTEGER NOT NULL DEFAULT 0,
    signed_at TEXT,
    first_resolved_at TEXT,
    closed_at TEXT,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    -- When each rework began (verification failed, or the reporter was dissatisfied): a JSON array.
    reopened_at TEXT NOT NULL DEFAULT '[]',
    reopened_by_rating INTEGER NOT NULL DEFAULT 0,
    merged_into TEXT,
    -- The head of the case's log: its last sequence number and hash, so an action
    -- appends without reading the log.
    log_seq INTEGER NOT NULL DEFAULT 0,
    log_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_by_community ON cases (community, id);
CREATE INDEX cases_by_grid ON cases (responsible_grid, id);
CREATE INDEX cases_by_state ON cases (state, id);
CREATE INDEX cases_by_assignee ON cases (assignee, id);
CREATE INDEX cases_by_reported_at ON cases (reported_at, id);
CREATE UNIQUE INDEX cases_by_external_ref ON cases (source, external_ref) WHERE external_ref IS NOT NULL;

-- The grid staff of a case, as grid-lookup answered when the case was made: who may act
-- on it as grid staff, and whose report counts as found by the grid.
CREATE TABLE case_staff (
    case_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    role TEXT NOT NULL,
    grid_code TEXT NOT NULL,
    PRIMARY KEY (case_id, staff_id)
);

CREATE TABLE case_reporters (
    case_id TEXT PRIMARY KEY,
    name TEXT,
    phone TEXT,
    wechat_openid TEXT
);

CREATE TABLE case_log (
    case_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entry TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TRIGGER case_log_is_append_only_update BEFORE UPDATE ON case_log
BEGIN
    SELECT RAISE(ABORT, 'the case log is append-only');
END;

CREATE TRIGGER case_log_is_append_only_delete BEFORE DELETE ON case_log
BEGIN
    SELECT RAISE(ABORT, 'the case log is append-only');
END;
