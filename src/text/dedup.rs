//! Exact and near-duplicate clusters: fingerprints on worker threads, then LSH buckets.
//!
//! Samples stream in (one at a time from SQLite); only a compact fingerprint per sample stays in
//! memory (exact hash, a 32-bit hash per LSH band, a 128-byte sketch), about 220 bytes, so a
//! million samples fit in a quarter of a gigabyte. Candidate pairs from a shared band are kept when their
//! estimated Jaccard similarity reaches the threshold; clusters are the connected components.
//!
//! The algorithm only: records come from whatever feeds [`find_clusters`] (running it over a
//! stored dataset and marking the result is [`crate::curate::dedup`]).

use super::minhash::{self, Bands, NUM_PERM};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, mpsc};

/// Default Jaccard threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// Samples per batch handed to a worker.
const BATCH: usize = 512;
/// How many earlier members of an LSH bucket a sample is compared with.
const BUCKET_COMPARISONS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    #[error(
        "sample {id}: stored content is not valid JSON ({source}); the database may be damaged"
    )]
    Content { id: i64, source: serde_json::Error },
    #[error("threshold must be between 0 and 1 (got {0})")]
    Threshold(f64),
    #[error("a fingerprint worker thread failed: {0}")]
    Worker(String),
}

/// Settings of a duplicate search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DedupConfig {
    /// Jaccard similarity of shingle sets at which two samples are near-duplicates.
    pub threshold: f64,
    /// Shingle length in characters.
    pub ngram: usize,
    /// Worker threads that fingerprint (the caller's thread reads).
    pub threads: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            threshold: DEFAULT_THRESHOLD,
            ngram: minhash::DEFAULT_NGRAM,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What the records handed to `find_clusters` hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Plain text.
    Text,
    /// A stored `Content` as JSON: its turns (text and reasoning) are compared.
    ContentJson,
}

/// The result of a search.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Clusters {
    pub samples: u64,
    /// Samples whose normalised text is empty (only punctuation or spaces): not compared.
    pub empty: u64,
    /// Groups of samples with identical normalised text (two or more members).
    pub exact_groups: u64,
    /// Clusters (exact or near, two or more members).
    pub clusters: u64,
    /// Samples in some cluster.
    pub clustered: u64,
    /// `(sample id, cluster id)` for every clustered sample; a cluster's id is its smallest
    /// sample id, which is the one to keep.
    #[serde(skip)]
    pub members: Vec<(i64, i64)>,
}

/// Fingerprints of one batch, in input order.
#[derive(Default)]
struct Prints {
    seq: usize,
    ids: Vec<i64>,
    exact: Vec<u64>,
    bands: Vec<u32>,
    sketches: Vec<u8>,
    empty: u64,
}

#[derive(Deserialize)]
struct LightContent {
    #[serde(default)]
    turns: Vec<LightTurn>,
}

#[derive(Deserialize)]
struct LightTurn {
    #[serde(default)]
    content: String,
    #[serde(default)]
    reasoning: Option<String>,
}

/// The text of a stored content that duplicate search compares: every turn's text and reasoning
/// (not the system prompt, which is often shared boilerplate).
pub fn content_text(json: &str) -> Result<String, serde_json::Error> {
    let c: LightContent = serde_json::from_str(json)?;
    let mut out = String::new();
    for t in c.turns {
        out.push_str(&t.content);
        out.push('\n');
        if let Some(r) = t.reasoning {
            out.push_str(&r);
            out.push('\n');
        }
    }
    Ok(out)
}

fn fingerprint_batch(
    seq: usize,
    batch: Vec<(i64, String)>,
    input: Input,
    ngram: usize,
    bands: Bands,
) -> Result<Prints, DedupError> {
    let n = batch.len();
    let mut p = Prints {
        seq,
        ids: Vec::with_capacity(n),
        exact: Vec::with_capacity(n),
        bands: Vec::with_capacity(n * bands.bands),
        sketches: Vec::with_capacity(n * NUM_PERM),
        empty: 0,
    };
    let mut chars = Vec::new();
    for (id, raw) in batch {
        let text = match input {
            Input::Text => raw,
            Input::ContentJson => {
                content_text(&raw).map_err(|source| DedupError::Content { id, source })?
            }
        };
        chars.clear();
        minhash::normalise(&text, &mut chars);
        let Some(sig) = minhash::signature(&chars, ngram) else {
            p.empty += 1;
            continue;
        };
        p.ids.push(id);
        p.exact.push(minhash::exact_hash(&chars));
        bands.hashes(&sig, &mut p.bands);
        minhash::sketch(&sig, &mut p.sketches);
    }
    Ok(p)
}

/// Fingerprints gathered in input order as batches come back from the workers, so that no batch
/// outlives its turn (memory stays at one flat copy of the fingerprints).
struct Gathered {
    next: usize,
    pending: std::collections::BTreeMap<usize, Prints>,
    all: Prints,
}

impl Gathered {
    fn new(expected: usize, bands: Bands) -> Self {
        Gathered {
            next: 1,
            pending: Default::default(),
            all: Prints {
                ids: Vec::with_capacity(expected),
                exact: Vec::with_capacity(expected),
                bands: Vec::with_capacity(expected * bands.bands),
                sketches: Vec::with_capacity(expected * NUM_PERM),
                ..Prints::default()
            },
        }
    }

    fn add(&mut self, p: Prints) {
        self.pending.insert(p.seq, p);
        while let Some(p) = self.pending.remove(&self.next) {
            self.all.ids.extend(p.ids);
            self.all.exact.extend(p.exact);
            self.all.bands.extend(p.bands);
            self.all.sketches.extend(p.sketches);
            self.all.empty += p.empty;
            self.next += 1;
        }
    }
}

/// Finds exact and near-duplicate clusters among the records that `feed` produces. `feed` runs
/// on the calling thread and hands each `(id, raw)` record to the sink it is given, which
/// returns false when the search has failed and feeding should stop. `expected` (the number of
/// records, or 0 if unknown) sizes the fingerprint arrays up front. Errors come back in the
/// feed's error type `E`, which holds the search's own [`DedupError`]s.
pub fn find_clusters<E>(
    config: &DedupConfig,
    input: Input,
    expected: usize,
    feed: impl FnOnce(&mut dyn FnMut(i64, String) -> bool) -> Result<(), E>,
) -> Result<Clusters, E>
where
    E: From<DedupError>,
{
    if !(config.threshold > 0.0 && config.threshold <= 1.0) {
        return Err(DedupError::Threshold(config.threshold).into());
    }
    let bands = Bands::for_threshold(config.threshold);
    let threads = config.threads.max(1);
    let (tx, rx) = mpsc::sync_channel::<(usize, Vec<(i64, String)>)>(threads * 2);
    let (rtx, rrx) = mpsc::channel::<Prints>();
    let rx = Mutex::new(rx);
    let ngram = config.ngram;
    let mut gathered = Gathered::new(expected, bands);
    let (fed, results) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (rx, rtx) = (&rx, rtx.clone());
                scope.spawn(move || -> Result<(), DedupError> {
                    loop {
                        let next = rx
                            .lock()
                            .map_err(|e| DedupError::Worker(e.to_string()))?
                            .recv();
                        let Ok((seq, batch)) = next else { break };
                        let prints = fingerprint_batch(seq, batch, input, ngram, bands)?;
                        if rtx.send(prints).is_err() {
                            break;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        drop(rtx);
        let mut batch = Vec::with_capacity(BATCH);
        let mut seq = 0;
        let fed = feed(&mut |id, raw| {
            batch.push((id, raw));
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                seq += 1;
                // A send fails only when every worker has stopped on an error.
                if tx.send((seq, full)).is_err() {
                    return false;
                }
                while let Ok(p) = rrx.try_recv() {
                    gathered.add(p);
                }
            }
            true
        });
        if !batch.is_empty() {
            let _ = tx.send((seq + 1, batch));
        }
        drop(tx);
        for p in rrx.iter() {
            gathered.add(p);
        }
        let results: Vec<_> = workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(DedupError::Worker("panicked".into())))
            })
            .collect();
        (fed, results)
    });
    for r in results {
        r?;
    }
    fed?;
    Ok(cluster(gathered.all, bands, config.threshold))
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let up = parent[parent[x as usize] as usize];
        parent[x as usize] = up;
        x = up;
    }
    x
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        // The smaller index (earlier sample) becomes the root.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
    }
}

fn cluster(all: Prints, bands: Bands, threshold: f64) -> Clusters {
    let Prints {
        ids,
        exact,
        bands: band_hashes,
        sketches,
        empty,
        ..
    } = all;
    let n = ids.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();

    let mut keyed: Vec<(u64, u32)> = exact
        .iter()
        .enumerate()
        .map(|(i, &h)| (h, i as u32))
        .collect();
    keyed.sort_unstable();
    let mut exact_groups = 0;
    for group in keyed.chunk_by(|a, b| a.0 == b.0) {
        if group.len() > 1 {
            exact_groups += 1;
            for w in group.windows(2) {
                union(&mut parent, w[0].1, w[1].1);
            }
        }
    }

    let sketch = |i: u32| &sketches[i as usize * NUM_PERM..(i as usize + 1) * NUM_PERM];
    drop(keyed);
    let mut keyed: Vec<(u32, u32)> = Vec::with_capacity(n);
    for b in 0..bands.bands {
        keyed.clear();
        keyed.extend((0..n).map(|i| (band_hashes[i * bands.bands + b], i as u32)));
        keyed.sort_unstable();
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            for (k, &(_, i)) in group.iter().enumerate().skip(1) {
                let mut compared = 0;
                for &(_, j) in group[..k].iter().rev() {
                    if compared >= BUCKET_COMPARISONS {
                        break;
                    }
                    if find(&mut parent, i) == find(&mut parent, j) {
                        continue;
                    }
                    compared += 1;
                    if minhash::estimate(sketch(i), sketch(j)) >= threshold {
                        union(&mut parent, i, j);
                    }
                }
            }
        }
    }
    drop(keyed);

    let mut sizes = vec![0u32; n];
    let mut smallest = ids.clone();
    for i in 0..n as u32 {
        let r = find(&mut parent, i) as usize;
        sizes[r] += 1;
        smallest[r] = smallest[r].min(ids[i as usize]);
    }
    let mut members = Vec::new();
    let mut clusters = 0;
    for i in 0..n as u32 {
        let r = find(&mut parent, i);
        if sizes[r as usize] > 1 {
            if r == i {
                clusters += 1;
            }
            members.push((ids[i as usize], smallest[r as usize]));
        }
    }
    Clusters {
        samples: n as u64 + empty,
        empty,
        exact_groups,
        clusters,
        clustered: members.len() as u64,
        members,
    }
}
