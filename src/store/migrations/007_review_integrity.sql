-- Review integrity: a decision counts only on the revision it was made on, a regeneration waits
-- beside the head as a candidate until a reviewer takes or declines it, head moves (take,
-- revert) are logged, and the file carries an id of its own (drafts are keyed by it).

-- 'pending' while a regenerated revision waits beside the head, then 'taken' or 'declined';
-- NULL for every other revision.
ALTER TABLE revisions ADD COLUMN candidate TEXT;
CREATE INDEX revisions_candidate ON revisions(sample_id) WHERE candidate = 'pending';

-- An adjudication settles the standing decisions made before it on the same revision.
ALTER TABLE reviews ADD COLUMN adjudicates INTEGER NOT NULL DEFAULT 0;
CREATE INDEX reviews_revision ON reviews(revision_id, id);

CREATE TABLE head_moves (
    id               INTEGER PRIMARY KEY,
    sample_id        INTEGER NOT NULL REFERENCES samples(id),
    from_revision_id INTEGER NOT NULL REFERENCES revisions(id),
    to_revision_id   INTEGER NOT NULL REFERENCES revisions(id),
    who              TEXT NOT NULL,
    -- 'take' (a candidate became the head) or 'revert' (an earlier revision did).
    how              TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX head_moves_sample ON head_moves(sample_id, id);

CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Earlier versions kept a sample's status when a revision replaced the reviewed content: a
-- sample whose head revision nobody decided on is unreviewed.
UPDATE samples SET status = 'unreviewed'
WHERE status <> 'unreviewed'
  AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.revision_id = samples.head_revision_id);

-- The audit's acceptance threshold, fixed when it is drawn: the gate opens only when the upper
-- end of the two-sided 95% Clopper-Pearson interval on the defect rate is at most this.
ALTER TABLE audits ADD COLUMN max_defect_rate REAL NOT NULL DEFAULT 0.1;
