-- Where imported servers came from (issue 9): the registry (or file) and the name and
-- version there, the server.json as imported, and a digest of the definition as the
-- import left it, so that a later sync can tell a local edit from its own work.
-- Times are Unix milliseconds.
CREATE TABLE server_origins (
    path           TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    document       TEXT NOT NULL,
    applied_digest TEXT NOT NULL,
    imported_at    BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX server_origins_source_name ON server_origins (source, name);

-- Peer registries re-synchronised on an interval (federation). `token` is the bearer
-- credential for the peer, if it needs one; `last_result` the JSON report of the last sync.
CREATE TABLE registry_sources (
    name          TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    search        TEXT,
    token         TEXT,
    interval_secs BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_sync_at  BIGINT,
    last_result   TEXT
);
