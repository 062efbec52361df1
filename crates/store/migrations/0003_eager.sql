-- stdio servers (and legacy SSE servers bridged for Streamable HTTP clients) marked eager
-- are started when the gateway starts instead of on first use.
ALTER TABLE servers ADD COLUMN eager BIGINT NOT NULL DEFAULT 0;
