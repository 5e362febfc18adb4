//! A live search over the store: hands each query to the engine (latest wins), takes its
//! results as they come, and marks the matched characters for highlighting.

use super::engine::{Engine, Query, Results};
use crate::store::Filter;
use nucleo::pattern::{CaseMatching, Normalization, Pattern};
use nucleo::{Config, Matcher, Utf32String};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A live search: the latest query handed to the engine and the engine's latest results.
pub struct Session {
    /// The filter of the query the results belong to.
    pub loaded_filter: Option<Filter>,
    pub text: String,
    /// The generation of the latest query submitted.
    pub seq: u64,
    /// The engine is still matching the latest query.
    pub running: bool,
    pub results: Results,
    pattern: Pattern,
    engine: Engine,
}

impl Session {
    /// A search over the database at `db`; `notify` is called when the engine has news (the
    /// caller then ticks it).
    pub fn new(db: PathBuf, notify: Arc<dyn Fn() + Send + Sync>) -> Session {
        Session {
            loaded_filter: None,
            text: String::new(),
            seq: 0,
            running: false,
            results: Results::default(),
            pattern: Pattern::default(),
            engine: Engine::new(db, notify),
        }
    }

    /// Starts matching `filter` and `text`; the results arrive through `tick`.
    pub fn submit(&mut self, generation: u64, filter: Filter, text: &str, screen: usize) {
        self.pattern = Pattern::parse(text, CaseMatching::Smart, Normalization::Smart);
        self.text = text.to_string();
        self.loaded_filter = Some(filter.clone());
        self.seq = generation;
        self.running = true;
        self.engine.submit(Query {
            generation,
            filter,
            text: text.to_string(),
            screen: screen.max(1),
        });
    }

    /// Takes the engine's latest results for the current query, waiting at most `ms` for
    /// news while it is still running.
    pub fn tick(&mut self, ms: u64) {
        let until = Instant::now() + Duration::from_millis(ms);
        loop {
            if let Some(r) = self.engine.results(self.seq)
                && (r.done
                    || r.scanned != self.results.scanned
                    || r.generation != self.results.generation)
            {
                self.running = !r.done;
                self.results = r;
                return;
            }
            if !self.running || Instant::now() >= until {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether the trigram index is catching up in the background (searches scan meanwhile).
    pub fn indexing(&self) -> bool {
        self.engine.indexing()
    }

    /// Matches found so far (exact once the pass is done).
    pub fn matched(&self) -> u32 {
        u32::try_from(self.results.matched).unwrap_or(u32::MAX)
    }

    /// Matches that can be shown and opened: the best [`super::engine::KEEP`].
    pub fn shown(&self) -> usize {
        self.results.hits.len()
    }

    /// The sample id of the n-th match.
    pub fn id_at(&self, n: usize) -> Option<i64> {
        self.results.hits.get(n).map(|h| h.id)
    }

    /// Matches `first..first+len`: (id, text, matched char indices) for highlighting.
    pub fn visible(&self, first: usize, len: usize) -> Vec<(i64, String, Vec<u32>)> {
        let mut m = Matcher::new(Config::DEFAULT);
        let mut out = Vec::new();
        for h in self.results.hits.iter().skip(first).take(len) {
            let hay = Utf32String::from(h.text.as_str());
            let mut idx = Vec::new();
            self.pattern.indices(hay.slice(..), &mut m, &mut idx);
            idx.sort_unstable();
            idx.dedup();
            out.push((h.id, h.text.clone(), idx));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_through_the_engine_with_highlights() {
        use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
        use crate::store::{ImportRecord, Store};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let mut store = Store::open(&db).unwrap();
        let ds = store.ensure_dataset("d").unwrap();
        let mut batch = store.import_batch(ds, "t").unwrap();
        for (i, q) in ["增值税的税率是多少", "企业所得税", "how to file taxes"]
            .into_iter()
            .enumerate()
        {
            let s = NewSample {
                kind: SampleKind::Qa,
                content: Content {
                    turns: vec![Turn::user(q), Turn::assistant("答")],
                    ..Content::default()
                },
                source: Source::File {
                    path: "t.jsonl".into(),
                    line: i as u64 + 1,
                },
                meta: SampleMeta::default(),
            };
            batch.insert(&ImportRecord::new(s).unwrap()).unwrap();
        }
        batch.commit().unwrap();
        let mut s = Session::new(db.clone(), Arc::new(|| {}));
        let run = |s: &mut Session, g: u64, text: &str| {
            s.submit(g, Filter::dataset(ds), text, 10);
            for _ in 0..500 {
                s.tick(10);
                if !s.running {
                    break;
                }
            }
        };
        // Two characters: the scan.
        run(&mut s, 1, "税率");
        assert_eq!(s.matched(), 1);
        let v = s.visible(0, 10);
        assert_eq!(v[0].0, 1);
        assert_eq!(v[0].2, vec![4, 5]);
        // Let the background index catch up, then three characters go through it.
        for _ in 0..500 {
            if !store.search_index_behind().unwrap() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        run(&mut s, 2, "所得税");
        assert!(s.results.indexed);
        assert_eq!((s.matched(), s.id_at(0)), (1, Some(2)));
        // No substring match: the full fuzzy pass still finds gapped matches.
        run(&mut s, 3, "增税率");
        assert!(!s.results.indexed);
        assert_eq!(s.id_at(0), Some(1));
        // Filters only: every sample, in id order.
        run(&mut s, 4, "");
        assert_eq!(s.matched(), 3);
        assert_eq!(s.id_at(2), Some(3));
    }
}
