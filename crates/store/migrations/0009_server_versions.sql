-- Published versions of servers, for the official MCP registry API (/v0.1): a snapshot of
-- what a server published (metadata JSON and its SHA-256), its lifecycle status, and when.
-- `seq` orders a server's versions by publication (the highest is latest); it and the
-- version string are unique per server, so two replicas cannot publish the same one.
-- Times are Unix milliseconds.
CREATE TABLE server_versions (
    path              TEXT NOT NULL,
    version           TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    metadata          TEXT NOT NULL,
    digest            TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_message    TEXT,
    status_changed_at BIGINT NOT NULL,
    published_at      BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (path, version)
);
CREATE UNIQUE INDEX server_versions_seq ON server_versions (path, seq);
CREATE INDEX server_versions_updated ON server_versions (updated_at);
