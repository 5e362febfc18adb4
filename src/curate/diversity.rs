//! The diversity report of a stored dataset: a few GROUP BYs for the distributions, one
//! streaming pass over the head revisions for the lengths, and the duplicate marks left by the
//! last `assay dedup`.

use crate::model::Content;
use crate::store::{Grouping, Store, StoreError};
use crate::text::diversity::{Distribution, Diversity, DuplicateShare};

/// Computes the diversity report of a dataset.
pub fn for_dataset(store: &Store, dataset_id: i64) -> Result<Diversity, StoreError> {
    let mut d = Diversity {
        aspects: Distribution::new(store.counts_by(dataset_id, Grouping::Aspect)?),
        tags: Distribution::new(store.counts_by(dataset_id, Grouping::Tag)?),
        kinds: Distribution::new(store.counts_by(dataset_id, Grouping::Kind)?),
        labels: Distribution::new(store.counts_by(dataset_id, Grouping::Label)?),
        ..Diversity::default()
    };
    let mut failure = None;
    store.for_each_head_content(dataset_id, |id, json| {
        match serde_json::from_str::<Content>(&json) {
            Ok(c) => {
                d.add_lengths(&c);
                true
            }
            Err(source) => {
                failure = Some(StoreError::Corrupt {
                    table: "revisions",
                    column: "content",
                    id,
                    source,
                });
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let dups = store.dup_counts(dataset_id)?;
    d.samples = dups.samples;
    d.near_duplicates = DuplicateShare::new(dups.samples, dups.clusters, dups.clustered);
    Ok(d)
}
