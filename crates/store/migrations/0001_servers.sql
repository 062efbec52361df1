-- Registered MCP servers. Portable SQL: the same migration runs on SQLite and PostgreSQL.
-- Times are Unix milliseconds; lists and maps are JSON text.
CREATE TABLE servers (
    path              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    transport         TEXT NOT NULL,
    url               TEXT,
    command           TEXT,
    args_json         TEXT NOT NULL,
    env_json          TEXT NOT NULL,
    headers_json      TEXT NOT NULL,
    tags_json         TEXT NOT NULL,
    license           TEXT,
    version           TEXT,
    enabled           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    health_status     TEXT NOT NULL,
    health_reason     TEXT,
    health_checked_at BIGINT,
    protocol_era      TEXT,
    protocol_version  TEXT,
    server_info_json  TEXT,
    tools_json        TEXT NOT NULL,
    tools_updated_at  BIGINT
);
