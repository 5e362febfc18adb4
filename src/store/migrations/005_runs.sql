-- Training runs (issue 7): what was trained, on exactly which samples, how it went.
-- config is the run's settings as JSON (never an API key); artifacts a JSON array of paths.
-- pid is the process that owns the run (the supervisor, or `assay train` in the foreground);
-- child_pid the external trainer it launched. log_tail holds the last log lines (JSON array),
-- kept current while the run goes and kept on failure to say why.
CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    trainer        TEXT NOT NULL,
    dataset_id     INTEGER REFERENCES datasets(id),
    config         TEXT NOT NULL DEFAULT '{}',
    status         TEXT NOT NULL DEFAULT 'queued',
    stop_requested INTEGER NOT NULL DEFAULT 0,
    exit_code      INTEGER,
    message        TEXT,
    pid            INTEGER,
    child_pid      INTEGER,
    out_dir        TEXT NOT NULL DEFAULT '',
    artifacts      TEXT NOT NULL DEFAULT '[]',
    log_tail       TEXT NOT NULL DEFAULT '[]',
    total_steps    INTEGER,
    samples        INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    ended_at       TEXT
);

-- The dataset snapshot: the exact revision of every sample a run trained on.
CREATE TABLE run_samples (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    sample_id   INTEGER NOT NULL REFERENCES samples(id),
    revision_id INTEGER NOT NULL REFERENCES revisions(id),
    PRIMARY KEY (run_id, sample_id)
) WITHOUT ROWID;

-- Every logged point; seq orders them (a trainer may log eval loss and train loss for one step).
CREATE TABLE run_points (
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    seq          INTEGER NOT NULL,
    step         INTEGER NOT NULL,
    total_steps  INTEGER,
    epoch        REAL,
    loss         REAL,
    eval_loss    REAL,
    lr           REAL,
    tokens_per_s REAL,
    grad_norm    REAL,
    elapsed_s    REAL NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
