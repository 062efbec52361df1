-- Users' own accounts at the services servers call (issue 11, egress mode `oauth-user`):
-- one connection per user (Principal::owner) per server, its tokens sealed at rest, and
-- connect flows between the redirect to the provider and its callback. Times are seconds
-- since the epoch. `refresh_lease_until`: one replica refreshes a connection at a time.
-- `server_url` (sealed: it may hold a password) and `issuer` pin the connection to the
-- upstream and authorization server it was made with: tokens never go elsewhere.
CREATE TABLE egress_connections (
    owner               TEXT NOT NULL,
    server_path         TEXT NOT NULL,
    provider            TEXT NOT NULL,
    server_url          TEXT NOT NULL,
    issuer              TEXT,
    resource            TEXT,
    access_token        TEXT NOT NULL,
    refresh_token       TEXT,
    expires_at          BIGINT,
    scope               TEXT,
    created_at          BIGINT NOT NULL,
    refreshed_at        BIGINT NOT NULL,
    refresh_lease_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, server_path)
);
CREATE INDEX egress_connections_expiring ON egress_connections (expires_at);
CREATE INDEX egress_connections_server ON egress_connections (server_path);

CREATE TABLE egress_connect_flows (
    state_hash   TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    server_path  TEXT NOT NULL,
    provider     TEXT NOT NULL,
    server_url   TEXT NOT NULL,
    issuer       TEXT,
    verifier     TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    resource     TEXT,
    next_path    TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX egress_connect_flows_expires ON egress_connect_flows (expires_at);

-- The gateway's own registrations (RFC 7591) at authorization servers of `mcp`
-- providers, so that a client and the refresh tokens issued to it outlive a restart; one
-- per redirect URI (a changed public_url registers again instead of failing).
CREATE TABLE egress_registrations (
    provider      TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT,
    auth_method   TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (provider, issuer, redirect_uri)
);
