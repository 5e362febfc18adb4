-- Generation and verification jobs, their items, and the LLM response cache.
-- A job is found again by job_key (a hash of its kind and parameters), so rerunning the same
-- command resumes it. Parameters never hold an API key.
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    job_key           TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL,
    dataset_id        INTEGER REFERENCES datasets(id),
    params            TEXT NOT NULL DEFAULT '{}',
    status            TEXT NOT NULL DEFAULT 'running',
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    requests          INTEGER NOT NULL DEFAULT 0,
    cached            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    summary           TEXT NOT NULL DEFAULT '{}',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- One unit of work: status pending, running, done or failed (with its reason).
CREATE TABLE job_items (
    job_id     INTEGER NOT NULL REFERENCES jobs(id),
    item_key   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    input      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',
    reason     TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    output     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, item_key)
);
CREATE INDEX job_items_status ON job_items(job_id, status, seq);

-- Model answers by request: key is a 128-bit hash of the backend, model and request body.
CREATE TABLE llm_cache (
    key        BLOB PRIMARY KEY,
    model      TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
