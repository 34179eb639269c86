-- Integrator API keys. Only the SHA-256 of a token is ever stored; the key-value
-- store `default` mirrors each live key under `apikey:<hash>` for every function to read.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    region_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
