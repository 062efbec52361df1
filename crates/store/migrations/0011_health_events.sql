-- Health history (issue 10): one row each time a server's health verdict (or the reason
-- of an unhealthy one) changes, newest kept per server (the registry prunes). `at` is Unix
-- milliseconds.
CREATE TABLE health_events (
    path   TEXT NOT NULL,
    at     BIGINT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX health_events_path_at ON health_events (path, at);
