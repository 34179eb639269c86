-- Smart dispatch (智能派单): the models retrained from the corpus and the centre's
-- corrections (POST /v1/triage/retrain). At most one is current; with none, intake
-- classifies with the model its build embedded.
CREATE TABLE triage_models (
    version TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    -- Examples trained on: the corpus plus the corrections used.
    training_size INTEGER NOT NULL,
    corrections INTEGER NOT NULL,
    -- Top-1 accuracy on the held-out split, which training never sees.
    heldout_accuracy REAL NOT NULL,
    -- 1 for the model intake places orders with; 0 for one kept but not made current.
    current INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    model BLOB NOT NULL
);
CREATE UNIQUE INDEX triage_models_current ON triage_models (current) WHERE current = 1;
CREATE INDEX triage_models_by_created_at ON triage_models (created_at, version);
