-- The search screen's prefilter: a trigram full-text index over each sample's question and the
-- start of its answer. Contentless (the text lives in samples/revisions) with deletes allowed,
-- so an edited sample is re-indexed in place. Filled lazily in the background up to a
-- watermark (the highest revision id indexed), so that imports do not pay for it.
CREATE VIRTUAL TABLE search_fts USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram'
);
CREATE TABLE search_state (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    revision_watermark INTEGER NOT NULL
);
INSERT INTO search_state (id, revision_watermark) VALUES (1, 0);
