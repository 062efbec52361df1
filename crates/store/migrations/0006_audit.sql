-- The audit trail: one row per access decision on an MCP route or registry action.
-- Times are Unix milliseconds; ids are assigned by the writer (a retried batch is not
-- stored twice). Pages are read newest first by (at, id), filters are by equality.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    source     TEXT NOT NULL,
    principal  TEXT NOT NULL,
    owner      TEXT NOT NULL,
    auth       TEXT NOT NULL,
    client_id  TEXT,
    server     TEXT NOT NULL,
    method     TEXT NOT NULL,
    target     TEXT,
    allowed    BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_principal ON audit_log (principal, at);
CREATE INDEX audit_log_server ON audit_log (server, at);
