//! The held-out split of a training run, recorded so `assay eval --split-of OUT` scores exactly
//! the samples the trainer kept out of training.
//!
//! The trainer shuffles its examples with a seeded RNG and holds out the first
//! `round(n · eval_fraction)`. A slice shuffle depends only on the length and the RNG, so
//! shuffling the positions `0..n` with the same seed gives the same permutation; `assay train`
//! writes the sample ids it picks to `assay-split.json` beside the adapter.

use super::error::{EvalError, Result, io_err};
use crate::model::ReviewStatus;
use crate::store::{Filter, Store};
use crate::train::TrainConfig;
use crate::train::data::{TextTokenizer, encode_chatml};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "assay-split.json";

/// A training run's split, as written beside its adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitManifest {
    pub dataset: String,
    pub base: String,
    pub seed: u64,
    pub eval_fraction: f64,
    pub max_seq_len: usize,
    pub train_samples: usize,
    /// Held-out sample ids, in the trainer's order.
    pub eval_sample_ids: Vec<i64>,
}

/// Positions (into the example list) that the trainer holds out, as `Trainer::new` picks them.
pub fn held_out_positions(n: usize, seed: u64, eval_fraction: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut crate::train::lora::seeded(seed));
    let n_eval = if eval_fraction > 0.0 && n >= 2 {
        ((n as f64 * eval_fraction).round() as usize).max(1)
    } else {
        0
    };
    order.truncate(n_eval);
    order
}

/// The ids of the samples `assay train` turns into examples, in its order: accepted samples of
/// the dataset, by id, that still have an assistant token to learn after truncation.
pub fn training_sample_ids(
    store: &Store,
    dataset_id: i64,
    tok: &dyn TextTokenizer,
    max_seq_len: usize,
) -> anyhow::Result<Vec<i64>> {
    let filter = Filter {
        statuses: vec![ReviewStatus::Accepted],
        ..Filter::dataset(dataset_id)
    };
    let mut ids = Vec::new();
    store.for_each_sample(&filter, |s| {
        if let Some(e) = encode_chatml(tok, &s.head.content, max_seq_len)?
            && e.ids.len() >= 2
        {
            ids.push(s.id);
        }
        Ok(())
    })?;
    Ok(ids)
}

/// Writes `out/assay-split.json` for a run about to train on `dataset`.
pub fn record(
    store: &Store,
    dataset: &str,
    base: &Path,
    tok: &dyn TextTokenizer,
    config: &TrainConfig,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let dataset_id = store.require_dataset(dataset)?;
    let ids = training_sample_ids(store, dataset_id, tok, config.max_seq_len)?;
    record_ids(dataset, base, config, out, &ids)
}

/// As [`record`], given the ids of the samples the trainer's examples came from, in order.
pub fn record_ids(
    dataset: &str,
    base: &Path,
    config: &TrainConfig,
    out: &Path,
    ids: &[i64],
) -> anyhow::Result<PathBuf> {
    let held = held_out_positions(ids.len(), config.seed, config.eval_fraction);
    let manifest = SplitManifest {
        dataset: dataset.into(),
        base: base.display().to_string(),
        seed: config.seed,
        eval_fraction: config.eval_fraction,
        max_seq_len: config.max_seq_len,
        train_samples: ids.len() - held.len(),
        eval_sample_ids: held.iter().map(|&i| ids[i]).collect(),
    };
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let path = out.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(&path, text).map_err(io_err(&path))?;
    Ok(path)
}

/// Reads the split a training run recorded in `dir`.
pub fn read(dir: &Path) -> Result<SplitManifest> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            EvalError::Invalid(format!(
                "{}: not found; runs trained before `assay eval` existed did not record their \
                 split: evaluate with --dataset (and filters) instead",
                path.display()
            ))
        } else {
            io_err(&path)(e)
        }
    })?;
    serde_json::from_str(&text).map_err(|source| EvalError::Json { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_follow_the_trainer() {
        assert!(held_out_positions(10, 42, 0.0).is_empty());
        assert!(held_out_positions(1, 42, 0.5).is_empty());
        assert_eq!(held_out_positions(10, 42, 0.1).len(), 1);
        assert_eq!(held_out_positions(3, 42, 0.01).len(), 1);
        let a = held_out_positions(50, 7, 0.2);
        assert_eq!(a.len(), 10);
        assert_eq!(a, held_out_positions(50, 7, 0.2), "seeded");
        assert_ne!(a, held_out_positions(50, 8, 0.2));
    }
}
