-- Text processing (chunking, duplicate clusters, diversity).
-- `assay dedup` clears and sets clusters per dataset; the TUI filters on them.
CREATE INDEX samples_dup_cluster ON samples(dataset_id, dup_cluster) WHERE dup_cluster IS NOT NULL;
