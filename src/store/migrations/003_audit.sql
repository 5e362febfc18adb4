-- The 100-sample audit: a seeded stratified draw per dataset, its items, and waivers.
CREATE TABLE audits (
    id             INTEGER PRIMARY KEY,
    dataset_id     INTEGER NOT NULL REFERENCES datasets(id),
    seed           INTEGER NOT NULL,
    target         INTEGER NOT NULL,
    -- Samples in the dataset when the audit was first drawn, and how many were drawn: their
    -- ratio is the rate that top-up draws keep.
    population     INTEGER NOT NULL,
    drawn          INTEGER NOT NULL,
    -- Samples with an id up to this one are covered by the draw or a top-up.
    covered_max_id INTEGER NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX audits_dataset ON audits(dataset_id, id);

CREATE TABLE audit_items (
    audit_id  INTEGER NOT NULL REFERENCES audits(id),
    sample_id INTEGER NOT NULL REFERENCES samples(id),
    stratum   TEXT NOT NULL,
    -- 0 for the first draw, then 1, 2... per top-up.
    round     INTEGER NOT NULL,
    PRIMARY KEY (audit_id, sample_id)
) WITHOUT ROWID;

CREATE TABLE audit_waivers (
    id         INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    reason     TEXT NOT NULL,
    who        TEXT NOT NULL,
    -- What the gate said was missing when the waiver was given.
    missing    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
