-- The registry: regions, grids, staff and addresses, each imported as a whole
-- dataset version. A version is written beside the current one and switched to in
-- one step; the previous version stays readable until the next import.

CREATE TABLE dataset_versions (
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);

CREATE TABLE current_datasets (
    kind TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    previous_version INTEGER
);

CREATE TABLE regions (
    version INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent TEXT,
    PRIMARY KEY (version, code)
);
CREATE INDEX regions_parent ON regions (version, parent, code);

CREATE TABLE grids (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedicated_type TEXT,
    region_code TEXT NOT NULL,
    area_m2 REAL NOT NULL,
    grid_head TEXT,
    members TEXT NOT NULL,
    geometry BLOB NOT NULL
);
CREATE UNIQUE INDEX grids_code ON grids (version, code);

-- Bounding boxes of every stored grid, for point location (SQLite's R*Tree). Queries put it
-- first with CROSS JOIN, so only the grids near a point are read.
CREATE VIRTUAL TABLE grids_rtree USING rtree(id, min_lng, max_lng, min_lat, max_lat);

CREATE TABLE staff (
    version INTEGER NOT NULL,
    staff_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    grid_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    phone TEXT NOT NULL,
    wechat_openid TEXT NOT NULL,
    former_roles TEXT NOT NULL,
    PRIMARY KEY (version, staff_id)
);
CREATE INDEX staff_grid ON staff (version, grid_code);
CREATE INDEX staff_region ON staff (version, region_code, role);

CREATE TABLE addresses (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    address TEXT NOT NULL,
    normalized TEXT NOT NULL,
    lng REAL NOT NULL,
    lat REAL NOT NULL,
    grid_code TEXT NOT NULL
);
CREATE INDEX addresses_exact ON addresses (version, address);
CREATE INDEX addresses_normalized ON addresses (version, normalized);

-- Trigram index of normalised addresses for fuzzy matching; rowid = addresses.id.
CREATE VIRTUAL TABLE addresses_fts USING fts5(normalized, tokenize = 'trigram');

-- District (or any region's) outlines for the coverage audit; replaced, not versioned.
CREATE TABLE region_outlines (
    region_code TEXT PRIMARY KEY,
    geometry BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
