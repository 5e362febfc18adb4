-- Saved views: a named search query (`assay views save NAME QUERY`), recalled as `view:NAME`
-- in the TUI's search and in `assay review --filter`.
CREATE TABLE views (
    name     TEXT PRIMARY KEY,
    query    TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL
) WITHOUT ROWID;
