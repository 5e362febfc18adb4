//! `assay dedup`: mark exact and near-duplicate clusters in `samples.dup_cluster` (never delete),
//! so that the list can show them and a reviewer can keep one per cluster.

use super::GlobalArgs;
use crate::curate::dedup::dedup_dataset;
use crate::store::Store;
use crate::text::dedup::{self, DedupConfig};
use crate::text::minhash;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this dataset (default: each dataset on its own).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Jaccard similarity of character n-gram sets at which samples are near-duplicates.
    #[arg(long, default_value_t = dedup::DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Shingle length in characters.
    #[arg(long, default_value_t = minhash::DEFAULT_NGRAM)]
    pub ngram: usize,
    /// Fingerprinting threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep one sample per cluster: record a reject decision (by --reviewer, reason
    /// "near-duplicate of #N") on every other member. Undo works as for any decision.
    #[arg(long)]
    pub keep_one: bool,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let mut store = Store::open_existing(&global.db)?;
    let datasets = match &args.dataset {
        Some(name) => vec![(store.require_dataset(name)?, name.clone())],
        None => store
            .datasets()?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect(),
    };
    let mut config = DedupConfig {
        threshold: args.threshold,
        ngram: args.ngram.max(1),
        ..DedupConfig::default()
    };
    if let Some(t) = args.threads {
        config.threads = t.max(1);
    }
    for (id, name) in datasets {
        let started = std::time::Instant::now();
        let c = dedup_dataset(&mut store, id, &config)?;
        super::output::line(format!(
            "{name:?}: {} samples, {} exact-duplicate groups, {} clusters holding {} samples \
             ({} redundant), {} without text; {:.1} s",
            c.samples,
            c.exact_groups,
            c.clusters,
            c.clustered,
            c.clustered - c.clusters,
            c.empty,
            started.elapsed().as_secs_f64()
        ))?;
        if args.keep_one {
            let n = store.reject_cluster_extras(id, &global.reviewer)?;
            super::output::line(format!(
                "{name:?}: kept one per cluster, {n} near-duplicates rejected"
            ))?;
        }
    }
    Ok(())
}
