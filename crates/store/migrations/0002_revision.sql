-- A counter bumped by every definition change: updates are compare-and-set on it, and a
-- health check only records its result if the definition it probed is still current.
ALTER TABLE servers ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
