-- Text processing (chunking, duplicate clusters, diversity).
-- samples.head_revision_id is a deferred foreign key into revisions: each revision insert whose
-- sample row came first makes SQLite look up the samples that point at it, which without this
-- index is a scan of the whole samples table per insert (bulk imports became quadratic).
CREATE INDEX samples_head_revision ON samples(head_revision_id);
-- `assay dedup` clears and sets clusters per dataset; the TUI filters on them.
CREATE INDEX samples_dup_cluster ON samples(dataset_id, dup_cluster) WHERE dup_cluster IS NOT NULL;
