-- From 0003_triage_models.sql: the retrained triage models (智能派单).
CREATE TABLE triage_models (
    version TEXT COLLATE "C" PRIMARY KEY,
    created_at TEXT COLLATE "C" NOT NULL,
    training_size BIGINT NOT NULL,
    corrections BIGINT NOT NULL,
    heldout_accuracy DOUBLE PRECISION NOT NULL,
    current BIGINT NOT NULL DEFAULT 0,
    size BIGINT NOT NULL,
    model BYTEA NOT NULL
);
CREATE UNIQUE INDEX triage_models_current ON triage_models (current) WHERE current = 1;
CREATE INDEX triage_models_by_created_at ON triage_models (created_at, version);
