-- Sorting the list by score or length (`sort:score`, `sort:length` in the query language).
-- Both are kept in step with the head revision in the transaction that moves it, as verdict is:
--   score: the weakest verdict on the head revision, min(score, else passed as 0/1); NULL while
--          no verifier has judged it;
--   chars: characters of the system prompt and every turn's content and reasoning
--          (`Content::chars`).
ALTER TABLE samples ADD COLUMN score REAL;
ALTER TABLE samples ADD COLUMN chars INTEGER NOT NULL DEFAULT 0;

UPDATE samples SET
    score = (SELECT min(ifnull(v.score, v.passed)) FROM verdicts v
             WHERE v.revision_id = samples.head_revision_id),
    chars = (SELECT length(ifnull(json_extract(r.content, '$.system'), ''))
                    + ifnull((SELECT sum(length(ifnull(json_extract(t.value, '$.content'), ''))
                                         + length(ifnull(json_extract(t.value, '$.reasoning'), '')))
                              FROM json_each(r.content, '$.turns') t), 0)
             FROM revisions r WHERE r.id = samples.head_revision_id);

-- Keyset paging in either order: unscored samples sort after every scored one.
CREATE INDEX samples_by_score ON samples(dataset_id, ifnull(score, 2.0), id);
CREATE INDEX samples_by_chars ON samples(dataset_id, chars, id);
