-- Runs whose trainer runs elsewhere (issue 18): `assay train --bundle` records them with status
-- 'external'; `assay runs attach` follows their trainer_log.jsonl from a shared folder or over
-- SSH. A follow row says where the log was last read from and how many of its bytes (whole
-- lines only) are already stored as points, updated in the transaction that stores them, so a
-- reconnect or a later attach resumes exactly there: no point twice, none lost.
CREATE TABLE run_follows (
    run_id     INTEGER PRIMARY KEY REFERENCES runs(id),
    source     TEXT NOT NULL,
    consumed   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
