-- Assessment: the rules, versioned; each period's latest run and its results.
CREATE TABLE rules (
    version INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE runs (
    period TEXT PRIMARY KEY,
    run_at TEXT NOT NULL,
    rules_version INTEGER NOT NULL,
    rules_sha256 TEXT NOT NULL,
    -- SHA-256 of the results (scores, deductions, statistics, departments), not of the run time.
    result_sha256 TEXT NOT NULL,
    facts INTEGER NOT NULL,
    stages TEXT NOT NULL
);

-- grid | dedicated | community | town | district | city
CREATE TABLE scores (
    period TEXT NOT NULL,
    level TEXT NOT NULL,
    code TEXT NOT NULL,
    parent TEXT NOT NULL,
    score REAL NOT NULL,
    rounded REAL NOT NULL,
    grade TEXT NOT NULL,
    rank INTEGER,
    subs TEXT NOT NULL,
    PRIMARY KEY (period, level, code)
);
CREATE INDEX scores_by_rank ON scores (period, level, parent, rank, code);

CREATE TABLE deductions (
    period TEXT NOT NULL,
    grid TEXT NOT NULL,
    month TEXT NOT NULL,
    case_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    domain TEXT NOT NULL,
    points REAL NOT NULL
);
CREATE INDEX deductions_by_grid ON deductions (period, grid, month, case_id);

CREATE TABLE statistics (
    period TEXT NOT NULL,
    grid TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (period, grid)
);

CREATE TABLE departments (
    period TEXT NOT NULL,
    department TEXT NOT NULL,
    due INTEGER NOT NULL,
    on_time INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    reworked INTEGER NOT NULL,
    score REAL,
    PRIMARY KEY (period, department)
);
