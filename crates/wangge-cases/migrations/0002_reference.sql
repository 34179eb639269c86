-- Reference data case-routing decides with: the working calendar per year, the
-- catalogue of matters (事项清单) and the departments. Each is replaced whole by its
-- import; the document as sent is kept beside the rows it was read into.

CREATE TABLE calendars (
    year INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE catalogue (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    grid_may_resolve INTEGER NOT NULL,
    department_kind TEXT,
    priority TEXT NOT NULL,
    discoverable INTEGER NOT NULL,
    report_within TEXT NOT NULL,
    respond_within TEXT NOT NULL,
    resolve_within TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE departments (
    dept_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region_code TEXT NOT NULL,
    level TEXT NOT NULL
);
CREATE INDEX departments_by_place ON departments (kind, region_code);
