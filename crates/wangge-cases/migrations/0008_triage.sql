-- Smart dispatch (智能派单, issue 16): how intake's classifier placed a case (its
-- model, confidence and top three, as JSON; NULL when the category was given or
-- hinted), and the centre's category corrections (改类) the classifier retrains on.
ALTER TABLE cases ADD COLUMN triage TEXT;

-- One row per correction, written in the transaction of the `recategorize` action:
-- the case's description, the category it had and the one the centre gave it, and the
-- model that placed it (NULL when none did). `seq` is the retrain's cursor; a case
-- corrected twice has two rows, one per log entry, never the same entry twice.
CREATE TABLE triage_corrections (
    seq INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    log_seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    from_category TEXT NOT NULL,
    to_category TEXT NOT NULL,
    model TEXT,
    at TEXT NOT NULL
);
CREATE UNIQUE INDEX triage_corrections_by_case_log ON triage_corrections (case_id, log_seq);
