//! The held-out split of a training run: performed here for the trainer, and recorded so that
//! `assay eval --split-of OUT` scores exactly the samples the trainer kept out of training.
//!
//! The examples are put in a seeded shuffled order and the first `round(n · eval_fraction)`
//! (at least one when the fraction is above 0 and there are two) are held out. The order
//! depends only on `n` and the seed, so the trainer and the recorded manifest cannot disagree;
//! the built-in trainer writes the held-out sample ids to `assay-split.json` beside the adapter.

use super::TrainConfig;
use super::error::{Result, TrainError, io_err};
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

/// How `n` examples are split: every position in the trainer's shuffled order, of which the
/// first `held_out` are held out for the eval loss and the rest are trained on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub order: Vec<usize>,
    pub held_out: usize,
}

/// The split of `n` examples under `seed` and `eval_fraction`.
pub fn split(n: usize, seed: u64, eval_fraction: f64) -> Split {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut super::lora::seeded(seed));
    let held_out = if eval_fraction > 0.0 && n >= 2 {
        ((n as f64 * eval_fraction).round() as usize).max(1)
    } else {
        0
    };
    Split { order, held_out }
}

/// Positions (into the example list) that the trainer holds out, in its order.
pub fn held_out_positions(n: usize, seed: u64, eval_fraction: f64) -> Vec<usize> {
    let mut s = split(n, seed, eval_fraction);
    s.order.truncate(s.held_out);
    s.order
}

/// Writes `out/assay-split.json` for a run about to train on `dataset`, given the ids of the
/// samples the trainer's examples came from, in order.
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
            TrainError::NoSplit { path: path.clone() }
        } else {
            io_err(&path)(e)
        }
    })?;
    serde_json::from_str(&text).map_err(|source| TrainError::Json { path, source })
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

    #[test]
    fn the_split_is_the_shuffle_of_the_examples() {
        // The trainer's examples end up in `order`: the same as shuffling them in place.
        let mut shuffled: Vec<usize> = (100..150).collect();
        shuffled.shuffle(&mut crate::train::lora::seeded(7));
        let s = split(50, 7, 0.2);
        let by_order: Vec<usize> = s.order.iter().map(|&i| 100 + i).collect();
        assert_eq!(by_order, shuffled);
        assert_eq!(s.held_out, 10);
    }
}
