-- Local users (passwords as Argon2id PHC strings), browser sessions (only a SHA-256 of
-- the cookie value is kept) and OIDC sign-ins in progress. Times are seconds since the
-- epoch; lists and principals are JSON text.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    groups_json   TEXT NOT NULL,
    admin         BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash        TEXT PRIMARY KEY,
    owner          TEXT NOT NULL,
    principal_json TEXT NOT NULL,
    csrf_token     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX sessions_owner ON sessions (owner);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_flows (
    state_hash   TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    next_path    TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX login_flows_expires ON login_flows (expires_at);
