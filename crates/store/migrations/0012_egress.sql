-- How the gateway authorises itself upstream (issue 11): `{"mode": "none"}` or
-- `{"mode": "oauth-client", "client_id", "client_secret" (sealed), "scope"}`.
ALTER TABLE servers ADD COLUMN egress_json TEXT NOT NULL DEFAULT '{"mode":"none"}';
