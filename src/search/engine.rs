//! The search engine: a thread that answers search queries (the TUI's search screen) against
//! SQLite, so that a million samples are never held in memory. Words of three characters or
//! more go through the trigram index (`store::search_index`) as a prefilter; nucleo then
//! scores only those candidates. Shorter queries (common in Chinese) scan in id order. Either way the first
//! screenful is published as soon as it is found, and the rest of the pass continues, publishing
//! progress, until done or made stale by a newer query (latest wins).
//!
//! Only the best [`KEEP`] matches are kept (a bounded heap), which is what bounds memory; the
//! count of all matches is still exact.

use crate::store::{Filter, Store};
use crate::text::sanitize::sanitize_line;
use nucleo::pattern::{CaseMatching, Normalization, Pattern};
use nucleo::{Config, Matcher, Utf32String};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The best matches kept and shown (the count of all matches is exact).
pub const KEEP: usize = 1000;
/// Samples indexed per write transaction while the index catches up.
const INDEX_BATCH: usize = 5000;
/// How often progress is published after the first screenful.
const PUBLISH_EVERY: Duration = Duration::from_millis(60);

/// One query: the filter, the fuzzy text, and how many matches make a screenful.
#[derive(Debug, Clone)]
pub struct Query {
    pub generation: u64,
    pub filter: Filter,
    pub text: String,
    pub screen: usize,
}

/// A match: the sample, its (sanitised) text and nucleo's score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: i64,
    pub text: String,
    pub score: u32,
}

impl Ord for Hit {
    /// Better first: higher score, then lower id (nucleo's order for ties: earlier items).
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.cmp(&self.score).then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What the engine has found so far for one query.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub generation: u64,
    /// The best matches so far, best first.
    pub hits: Vec<Hit>,
    pub matched: u64,
    pub scanned: u64,
    /// Whether the trigram index answered (else a scan).
    pub indexed: bool,
    pub done: bool,
    pub error: Option<String>,
}

struct Shared {
    latest: AtomicU64,
    results: Mutex<Results>,
    indexing: AtomicBool,
    notify: Arc<dyn Fn() + Send + Sync>,
}

/// The app's handle on the engine thread (started on the first query).
pub struct Engine {
    db: PathBuf,
    shared: Arc<Shared>,
    tx: Option<mpsc::Sender<Query>>,
}

impl Engine {
    pub fn new(db: PathBuf, notify: Arc<dyn Fn() + Send + Sync>) -> Engine {
        Engine {
            db,
            shared: Arc::new(Shared {
                latest: AtomicU64::new(0),
                results: Mutex::new(Results::default()),
                indexing: AtomicBool::new(false),
                notify,
            }),
            tx: None,
        }
    }

    /// Hands a query to the engine; older ones still running stop at their next check.
    pub fn submit(&mut self, q: Query) {
        self.shared
            .latest
            .store(q.generation, AtomicOrdering::SeqCst);
        if self.tx.is_none() {
            self.tx = self.spawn();
        }
        if let Some(tx) = &self.tx
            && tx.send(q).is_err()
        {
            self.tx = None;
            self.publish_error("the search thread has stopped");
        }
    }

    fn publish_error(&self, e: &str) {
        if let Ok(mut r) = self.shared.results.lock() {
            r.generation = self.shared.latest.load(AtomicOrdering::SeqCst);
            r.error = Some(e.to_string());
            r.done = true;
        }
    }

    fn spawn(&self) -> Option<mpsc::Sender<Query>> {
        let (tx, rx) = mpsc::channel::<Query>();
        let shared = self.shared.clone();
        let db = self.db.clone();
        match std::thread::Builder::new()
            .name("assay-search".into())
            .spawn(move || serve(db, rx, shared))
        {
            Ok(_) => Some(tx),
            Err(e) => {
                self.publish_error(&format!("cannot start the search thread: {e}"));
                None
            }
        }
    }

    /// The latest results, if they belong to `generation`.
    pub fn results(&self, generation: u64) -> Option<Results> {
        let r = self.shared.results.lock().ok()?;
        (r.generation == generation).then(|| r.clone())
    }

    /// Whether the trigram index is being brought up to date in the background.
    pub fn indexing(&self) -> bool {
        self.shared.indexing.load(AtomicOrdering::Relaxed)
    }
}

fn serve(db: PathBuf, rx: mpsc::Receiver<Query>, shared: Arc<Shared>) {
    let store = match Store::open(&db) {
        Ok(s) => s,
        Err(e) => {
            if let Ok(mut r) = shared.results.lock() {
                r.generation = shared.latest.load(AtomicOrdering::SeqCst);
                r.error = Some(format!("search cannot open {}: {e}", db.display()));
                r.done = true;
            }
            (shared.notify)();
            return;
        }
    };
    while let Ok(mut q) = rx.recv() {
        // Latest wins: skip to the newest query waiting.
        while let Ok(newer) = rx.try_recv() {
            q = newer;
        }
        if q.generation != shared.latest.load(AtomicOrdering::SeqCst) {
            continue;
        }
        let behind = store.search_index_behind().unwrap_or(true);
        if behind && !shared.indexing.swap(true, AtomicOrdering::SeqCst) {
            start_indexer(db.clone(), shared.clone());
        }
        let result = run(&store, &q, !behind, &shared);
        if let Err(e) = result {
            tracing::warn!("search failed: {e:#}");
            if let Ok(mut r) = shared.results.lock() {
                r.generation = q.generation;
                r.error = Some(format!("search failed: {e}"));
                r.done = true;
            }
        }
        (shared.notify)();
    }
}

/// Brings the trigram index up to date on its own thread and connection, in small
/// transactions so that reviewers' writes interleave.
fn start_indexer(db: PathBuf, shared: Arc<Shared>) {
    let s2 = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("assay-search-index".into())
        .spawn(move || {
            let outcome = Store::open(&db).and_then(|mut store| {
                while store.search_index_step(INDEX_BATCH)? > 0 {}
                Ok(())
            });
            if let Err(e) = outcome {
                tracing::warn!("search index: {e}");
            }
            s2.indexing.store(false, AtomicOrdering::SeqCst);
            (s2.notify)();
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the search indexer: {e}");
        shared.indexing.store(false, AtomicOrdering::SeqCst);
    }
}

/// The words the trigram index can prefilter by: positive words of three characters or more,
/// stripped of nucleo's `^ ' $` markers. Shorter words are left to nucleo.
pub fn index_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| !w.starts_with('!'))
        .map(|w| {
            w.trim_start_matches(['^', '\''])
                .trim_end_matches('$')
                .to_string()
        })
        .filter(|w| w.chars().count() >= 3)
        .collect()
}

/// The matching pass of one query.
struct Pass<'a> {
    q: &'a Query,
    shared: &'a Shared,
    pattern: Pattern,
    matcher: Matcher,
    heap: BinaryHeap<Hit>,
    matched: u64,
    scanned: u64,
    indexed: bool,
    first_out: bool,
    last_out: Instant,
    stale: bool,
}

impl Pass<'_> {
    fn row(&mut self, id: i64, text: String) -> bool {
        self.scanned += 1;
        if self.scanned.is_multiple_of(256)
            && self.shared.latest.load(AtomicOrdering::Relaxed) != self.q.generation
        {
            self.stale = true;
            return false;
        }
        let text = sanitize_line(&text).into_owned();
        let hay = Utf32String::from(text.as_str());
        if let Some(score) = self.pattern.score(hay.slice(..), &mut self.matcher) {
            self.matched += 1;
            let hit = Hit { id, text, score };
            if self.heap.len() < KEEP {
                self.heap.push(hit);
            } else if self.heap.peek().is_some_and(|worst| hit < *worst) {
                self.heap.pop();
                self.heap.push(hit);
            }
        }
        if !self.first_out && self.matched as usize >= self.q.screen {
            self.first_out = true;
            self.publish(false);
        } else if self.first_out
            && self.scanned.is_multiple_of(64)
            && self.last_out.elapsed() >= PUBLISH_EVERY
        {
            self.publish(false);
        }
        true
    }

    fn publish(&mut self, done: bool) {
        let mut hits = self.heap.clone().into_sorted_vec();
        hits.truncate(KEEP);
        if let Ok(mut r) = self.shared.results.lock() {
            *r = Results {
                generation: self.q.generation,
                hits,
                matched: self.matched,
                scanned: self.scanned,
                indexed: self.indexed,
                done,
                error: None,
            };
        }
        self.last_out = Instant::now();
        (self.shared.notify)();
    }
}

fn run(store: &Store, q: &Query, index_ready: bool, shared: &Shared) -> anyhow::Result<()> {
    let words = index_words(&q.text);
    let mut pass = Pass {
        q,
        shared,
        pattern: Pattern::parse(&q.text, CaseMatching::Smart, Normalization::Smart),
        matcher: Matcher::new(Config::DEFAULT),
        heap: BinaryHeap::new(),
        matched: 0,
        scanned: 0,
        indexed: index_ready && !words.is_empty(),
        first_out: false,
        last_out: Instant::now(),
        stale: false,
    };
    if pass.indexed {
        store.for_each_search_candidate(&q.filter, &words, |id, t| pass.row(id, t))?;
        if pass.matched == 0 && !pass.stale {
            // No substring match: fall back to the full fuzzy pass (typos, gaps).
            pass.indexed = false;
            store.for_each_search_scan(&q.filter, |id, t| pass.row(id, t))?;
        }
    } else if q.text.trim().is_empty() {
        // Filters only: the first matches in id order, and an exact count.
        store.for_each_search_scan(&q.filter, |id, t| {
            pass.row(id, t);
            pass.heap.len() < KEEP
        })?;
        pass.matched = store.count(&q.filter)?;
    } else {
        store.for_each_search_scan(&q.filter, |id, t| pass.row(id, t))?;
    }
    if !pass.stale {
        pass.publish(true);
    }
    Ok(())
}
