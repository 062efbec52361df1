-- The analytics tables, with the Python gateway's columns (so its SQL keeps working:
-- `SUM(success)`, `AVG(duration_ms)`, `COUNT(DISTINCT client_name)` …) and two of ours:
-- `id` (assigned by the writer; a retried batch is not stored twice) and `at` (Unix
-- milliseconds, for windows and retention). `timestamp` is ISO 8601 UTC as the Python
-- gateway wrote it; `success` is 0 or 1; sizes and embedding times are not measured (NULL).
CREATE TABLE auth_metrics (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    timestamp   TEXT NOT NULL,
    service     TEXT NOT NULL,
    request_id  TEXT,
    duration_ms DOUBLE PRECISION,
    success     BIGINT NOT NULL,
    method      TEXT,
    server      TEXT,
    user_hash   TEXT,
    error_code  TEXT
);
CREATE INDEX auth_metrics_at ON auth_metrics (at);
CREATE TABLE tool_metrics (
    id                TEXT PRIMARY KEY,
    at                BIGINT NOT NULL,
    timestamp         TEXT NOT NULL,
    service           TEXT NOT NULL,
    request_id        TEXT,
    duration_ms       DOUBLE PRECISION,
    tool_name         TEXT,
    server_path       TEXT,
    server_name       TEXT,
    success           BIGINT NOT NULL,
    error_code        TEXT,
    input_size_bytes  BIGINT,
    output_size_bytes BIGINT,
    client_name       TEXT,
    client_version    TEXT,
    method            TEXT,
    user_hash         TEXT
);
CREATE INDEX tool_metrics_at ON tool_metrics (at);
CREATE INDEX tool_metrics_server ON tool_metrics (server_name, at);
CREATE TABLE discovery_metrics (
    id                   TEXT PRIMARY KEY,
    at                   BIGINT NOT NULL,
    timestamp            TEXT NOT NULL,
    service              TEXT NOT NULL,
    request_id           TEXT,
    duration_ms          DOUBLE PRECISION,
    query                TEXT,
    results_count        BIGINT,
    top_k_services       BIGINT,
    top_n_tools          BIGINT,
    embedding_time_ms    DOUBLE PRECISION,
    faiss_search_time_ms DOUBLE PRECISION,
    source               TEXT,
    mode                 TEXT
);
CREATE INDEX discovery_metrics_at ON discovery_metrics (at);
