-- Embeddings of searchable texts (tools, servers) by model and SHA-256 of the text, so a
-- restart or an unchanged re-registration embeds nothing again. The vector is its
-- little-endian f32 bytes, base64-encoded (one portable column type on both databases).
CREATE TABLE embeddings (
    model      TEXT NOT NULL,
    text_hash  TEXT NOT NULL,
    dimensions BIGINT NOT NULL,
    vector     TEXT NOT NULL,
    PRIMARY KEY (model, text_hash)
);
