-- Tokens the gateway minted (the token vending service). Only the id and metadata are
-- kept, never the token. Times are seconds since the epoch; lists are JSON text.
CREATE TABLE gateway_tokens (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    description TEXT NOT NULL,
    scopes_json TEXT NOT NULL,
    groups_json TEXT NOT NULL,
    admin       BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX gateway_tokens_owner ON gateway_tokens (owner);
CREATE INDEX gateway_tokens_revoked ON gateway_tokens (revoked_at, expires_at);
