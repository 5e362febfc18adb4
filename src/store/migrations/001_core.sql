-- The core of the store: datasets, samples, their revisions, verdicts and reviews.
CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- One row per sample; content lives in revisions. status and verdict are kept in step with
-- reviews and verdicts (in the same transaction) so that lists and filters need no join.
CREATE TABLE samples (
    id               INTEGER PRIMARY KEY,
    dataset_id       INTEGER NOT NULL REFERENCES datasets(id),
    kind             TEXT NOT NULL,
    content_hash     BLOB NOT NULL,
    head_revision_id INTEGER NOT NULL REFERENCES revisions(id) DEFERRABLE INITIALLY DEFERRED,
    source           TEXT NOT NULL,
    aspect           TEXT,
    topic            TEXT,
    label            TEXT,
    meta             TEXT NOT NULL DEFAULT '{}',
    preview          TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'unreviewed',
    verdict          TEXT NOT NULL DEFAULT 'none',
    dup_cluster      INTEGER,
    created_at       TEXT NOT NULL,
    UNIQUE (dataset_id, content_hash)
);
CREATE INDEX samples_status ON samples(dataset_id, status, id);
CREATE INDEX samples_verdict ON samples(dataset_id, verdict, id);
CREATE INDEX samples_kind ON samples(dataset_id, kind, id);
CREATE INDEX samples_aspect ON samples(dataset_id, aspect, id);
-- The deferred foreign key from samples to revisions needs this: without it each revision insert
-- looks for the samples pointing at it by scanning them all, and bulk imports turn quadratic.
CREATE INDEX samples_head_revision ON samples(head_revision_id);

CREATE TABLE sample_tags (
    sample_id INTEGER NOT NULL REFERENCES samples(id),
    tag       TEXT NOT NULL,
    PRIMARY KEY (tag, sample_id)
) WITHOUT ROWID;

CREATE TABLE revisions (
    id         INTEGER PRIMARY KEY,
    sample_id  INTEGER NOT NULL REFERENCES samples(id) DEFERRABLE INITIALLY DEFERRED,
    number     INTEGER NOT NULL,
    content    TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (sample_id, number)
);

CREATE TABLE verdicts (
    id               INTEGER PRIMARY KEY,
    revision_id      INTEGER NOT NULL REFERENCES revisions(id),
    verifier         TEXT NOT NULL,
    model            TEXT,
    passed           INTEGER NOT NULL,
    score            REAL,
    rationale        TEXT NOT NULL DEFAULT '',
    first_wrong_step INTEGER,
    created_at       TEXT NOT NULL
);
CREATE INDEX verdicts_revision ON verdicts(revision_id);

CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    sample_id   INTEGER NOT NULL REFERENCES samples(id),
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    reviewer    TEXT NOT NULL,
    decision    TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);
CREATE INDEX reviews_sample ON reviews(sample_id, id);
CREATE INDEX reviews_reviewer ON reviews(reviewer, sample_id);

-- Files imported into a dataset, by content hash: a finished import of the same bytes is a no-op.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id),
    path        TEXT NOT NULL,
    format      TEXT NOT NULL,
    imported    INTEGER NOT NULL,
    duplicates  INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    finished_at TEXT NOT NULL
);
