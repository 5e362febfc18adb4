//! Marking a dataset's duplicate clusters: its head revisions streamed from SQLite into
//! [`crate::text::dedup::find_clusters`], the clusters written to `samples.dup_cluster`.

use crate::store::{Filter, Store, StoreError};
use crate::text::dedup::{Clusters, DedupConfig, DedupError, Input, find_clusters};

/// Why marking a dataset's duplicates failed: reading or writing the store, or the search.
#[derive(Debug, thiserror::Error)]
pub enum DedupDatasetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Dedup(#[from] DedupError),
}

/// Finds the duplicate clusters of a dataset and marks them in `samples.dup_cluster` (replacing
/// earlier marks). Nothing is deleted.
pub fn dedup_dataset(
    store: &mut Store,
    dataset_id: i64,
    config: &DedupConfig,
) -> Result<Clusters, DedupDatasetError> {
    let expected = store.count(&Filter::dataset(dataset_id))? as usize;
    let clusters = find_clusters(config, Input::ContentJson, expected, |sink| {
        store.for_each_head_content(dataset_id, sink)?;
        Ok::<(), DedupDatasetError>(())
    })?;
    store.set_dup_clusters(dataset_id, &clusters.members)?;
    Ok(clusters)
}
