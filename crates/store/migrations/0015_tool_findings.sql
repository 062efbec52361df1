-- Tool-poisoning scan (issue 13), the same on SQLite and PostgreSQL.
--
-- tool_scans: each server's last scan (replaced by the next): when, a digest of the
-- tool list scanned (so an unchanged list is not scanned again), and, while the scan
-- keeps the server disabled until an admin approves it, why. Times are Unix milliseconds.
CREATE TABLE tool_scans (
    path         TEXT PRIMARY KEY,
    scanned_at   BIGINT NOT NULL,
    tools_digest TEXT NOT NULL,
    blocked      TEXT
);

-- tool_findings: the findings of each server's last scan, in their order (`seq`).
CREATE TABLE tool_findings (
    path     TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    rule     TEXT NOT NULL,
    severity TEXT NOT NULL,
    tool     TEXT,
    field    TEXT,
    excerpt  TEXT,
    message  TEXT NOT NULL,
    PRIMARY KEY (path, seq)
);

-- tool_approvals: an admin's approval of a server's tools as they were: a digest of
-- each part of each tool (JSON: {tool: {part: sha256}}); a later change is a rug pull.
CREATE TABLE tool_approvals (
    path        TEXT PRIMARY KEY,
    approved_by TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    digests     TEXT NOT NULL
);
