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

-- mcp_sessions: the MCP sessions (Mcp-Session-Id) the gateway opened or saw opened, so
-- that a client's next request may land on any replica: who owns each (a session id is
-- usable only by its owner), and for the gateway's own sessions (`/mcp`) the client's
-- `initialize` parameters, from which another replica restores the session. The id itself
-- is a bearer secret and is stored only as a digest, with its scope (`/mcp`, `mcpgw` or
-- the server's path). Kept until `expires_at` (seconds since the epoch), which use pushes
-- forward.
CREATE TABLE mcp_sessions (
    id_hash    TEXT PRIMARY KEY,
    scope      TEXT NOT NULL,
    owner      TEXT NOT NULL,
    state      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mcp_sessions_expires ON mcp_sessions (expires_at);
