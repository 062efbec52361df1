-- Several replicas on one database (issue 12).
--
-- leases: background work that must be done by one replica at a time (health checks,
-- federation, pruning). The holder renews its lease well before `expires_at`
-- (milliseconds since the epoch); when it dies, another replica takes it once it expired.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- signing_keys: the keys the gateway signs its own tokens with, shared by every replica
-- (they were a file in each data directory). `seed` is sealed with the secrets key.
-- Times are seconds since the epoch; a retired key is accepted until every token it
-- signed has expired.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    seed       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- ended_sessions: MCP sessions a client ended (DELETE), by digest of their id, so that a
-- replica that never held one does not bring it back from its sealed id. Kept until the
-- id could no longer be used anyway (`expires_at`, seconds since the epoch).
CREATE TABLE ended_sessions (
    digest     TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ended_sessions_expires ON ended_sessions (expires_at);
