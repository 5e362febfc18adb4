-- Decisions made by a rule (`assay review accept --filter QUERY`) rather than by a person
-- looking at the sample: the rule's query, NULL for a person's decision. The audit counts only
-- a person's decisions: a rule cannot audit itself.
ALTER TABLE reviews ADD COLUMN rule TEXT;
