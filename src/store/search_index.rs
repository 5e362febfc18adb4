//! The search prefilter: a trigram FTS5 index (migration 006) over each sample's question and
//! the start of its answer, and the two ways the search screen reads candidates — through the
//! index for words of three characters or more, or a plain scan in id order otherwise.
//!
//! The index is filled lazily by [`Store::search_index_step`] up to a watermark (the highest
//! revision id indexed), so imports and edits never pay for it; a search while the index is
//! behind falls back to the scan, which gives the same matches.

use super::{Filter, Result, Store};
use rusqlite::types::Value;

/// Characters of the answer indexed and matched after the question.
pub const ANSWER_CHARS: i64 = 60;

/// The text a sample is searched by: its preview (question) and the start of its answer.
const TEXT_COLUMNS: &str = "s.id, s.preview,
    substr(coalesce(json_extract(r.content, '$.turns[#-1].content'), ''), 1, ?1)";

fn joined(preview: String, answer: String) -> String {
    if answer.is_empty() || answer == preview {
        preview
    } else {
        format!("{preview}  → {}", answer.replace('\n', " "))
    }
}

/// Parameters after `?1` (the answer length) are the filter's, renumbered by one.
fn filter_clause(filter: &Filter) -> (String, Vec<Value>) {
    // The id-order walk: through a dataset index SQLite would sort every row in memory.
    let (clause, params) = filter.sql_scan();
    // The filter numbers its parameters from ?1; shift them past the answer length. Replace
    // from the highest number down so that ?1 never rewrites part of ?12.
    let mut clause = clause;
    for i in (1..=params.len()).rev() {
        clause = clause.replace(&format!("?{i}"), &format!("?{}", i + 1));
    }
    let mut all = vec![Value::Integer(ANSWER_CHARS)];
    all.extend(params);
    (clause, all)
}

impl Store {
    /// Whether revisions were added since the index was last brought up to date.
    pub fn search_index_behind(&self) -> Result<bool> {
        let wm = self.search_watermark()?;
        let max: Option<i64> = self
            .conn
            .query_row("SELECT max(id) FROM revisions", [], |r| r.get(0))?;
        Ok(max.unwrap_or(0) > wm)
    }

    fn search_watermark(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT revision_watermark FROM search_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?)
    }

    /// Indexes the samples of up to `batch` revisions past the watermark in one transaction;
    /// returns how many revisions it covered (0: the index is up to date).
    pub fn search_index_step(&mut self, batch: usize) -> Result<usize> {
        self.write(|tx| {
            let wm: i64 = tx.query_row(
                "SELECT revision_watermark FROM search_state WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            // Every revision past the watermark re-indexes its sample with the sample's current
            // head, so an edit (a new head) replaces the old text.
            let mut read = tx.prepare_cached(
                "SELECT v.id, s.id, s.preview,
                        substr(coalesce(json_extract(r.content, '$.turns[#-1].content'), ''), 1, ?3),
                        v.number
                 FROM revisions v JOIN samples s ON s.id = v.sample_id
                 JOIN revisions r ON r.id = s.head_revision_id
                 WHERE v.id > ?1 ORDER BY v.id LIMIT ?2",
            )?;
            let rows = read
                .query_map(
                    rusqlite::params![wm, batch as i64, ANSWER_CHARS],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            joined(r.get(2)?, r.get(3)?),
                            r.get::<_, i64>(4)?,
                        ))
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut delete = tx.prepare_cached("DELETE FROM search_fts WHERE rowid = ?1")?;
            let mut insert =
                tx.prepare_cached("INSERT INTO search_fts (rowid, text) VALUES (?1, ?2)")?;
            for (_, sample, text, number) in &rows {
                // A first revision was never indexed; skipping its delete halves the cost of
                // the first build.
                if *number > 1 {
                    delete.execute([sample])?;
                }
                insert.execute(rusqlite::params![sample, text])?;
            }
            if let Some((last, ..)) = rows.last() {
                tx.execute(
                    "UPDATE search_state SET revision_watermark = ?1 WHERE id = 1",
                    [last],
                )?;
            }
            Ok(rows.len())
        })
    }

    /// Calls `f(id, text)` in id order for the samples the filter selects whose text contains
    /// every one of `words` (each at least three characters) as a substring, case-insensitively,
    /// through the trigram index. `f` returns false to stop.
    pub fn for_each_search_candidate(
        &self,
        filter: &Filter,
        words: &[String],
        f: impl FnMut(i64, String) -> bool,
    ) -> Result<()> {
        let (clause, mut params) = filter_clause(filter);
        // Each word is one FTS5 string ("..." with inner quotes doubled); AND of all.
        let fts = words
            .iter()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ");
        params.push(Value::Text(fts));
        let sql = format!(
            "SELECT {TEXT_COLUMNS}
             FROM search_fts f JOIN samples s ON s.id = f.rowid
             JOIN revisions r ON r.id = s.head_revision_id
             WHERE search_fts MATCH ?{} AND {clause} ORDER BY f.rowid",
            params.len()
        );
        self.stream_texts(&sql, params, f)
    }

    /// Calls `f(id, text)` in id order for every sample the filter selects (no index).
    pub fn for_each_search_scan(
        &self,
        filter: &Filter,
        f: impl FnMut(i64, String) -> bool,
    ) -> Result<()> {
        let (clause, params) = filter_clause(filter);
        let sql = format!(
            "SELECT {TEXT_COLUMNS}
             FROM samples s JOIN revisions r ON r.id = s.head_revision_id
             WHERE {clause} ORDER BY s.id"
        );
        self.stream_texts(&sql, params, f)
    }

    fn stream_texts(
        &self,
        sql: &str,
        params: Vec<Value>,
        mut f: impl FnMut(i64, String) -> bool,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            if !f(r.get(0)?, joined(r.get(1)?, r.get(2)?)) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Content, NewSample, SampleKind, SampleMeta, Source, Turn};
    use crate::store::{Filter, ImportRecord, Store};

    fn sample(q: &str, a: &str) -> NewSample {
        NewSample {
            kind: SampleKind::Qa,
            content: Content {
                turns: vec![Turn::user(q), Turn::assistant(a)],
                ..Content::default()
            },
            source: Source::File {
                path: "t.jsonl".into(),
                line: 1,
            },
            meta: SampleMeta::default(),
        }
    }

    fn ids(store: &Store, words: &[&str]) -> Vec<i64> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let mut out = Vec::new();
        store
            .for_each_search_candidate(&Filter::default(), &words, |id, _| {
                out.push(id);
                true
            })
            .unwrap();
        out
    }

    #[test]
    fn index_catches_up_and_follows_edits() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let ds = store.ensure_dataset("d").unwrap();
        let mut batch = store.import_batch(ds, "t").unwrap();
        for s in [
            sample("增值税的税率是多少", "13%"),
            sample("How to file a REFUND", "online"),
        ] {
            batch.insert(&ImportRecord::new(s).unwrap()).unwrap();
        }
        batch.commit().unwrap();
        let all = store.list_page(&Filter::default(), None, 10).unwrap();
        let (a, b) = (all[0].id, all[1].id);
        assert!(store.search_index_behind().unwrap());
        while store.search_index_step(1).unwrap() > 0 {}
        assert!(!store.search_index_behind().unwrap());
        assert_eq!(ids(&store, &["增值税"]), vec![a]);
        assert_eq!(ids(&store, &["refund"]), vec![b]);
        assert_eq!(ids(&store, &["税率是", "增值税"]), vec![a]);
        assert!(ids(&store, &["\"quoted\""]).is_empty());
        // An edit makes a new head: the old text leaves the index, the new one enters it.
        let mut c = store.sample(a).unwrap().head.content;
        c.turns[0].content = "企业所得税".into();
        store.add_revision(a, &c, "t").unwrap();
        assert!(store.search_index_behind().unwrap());
        while store.search_index_step(100).unwrap() > 0 {}
        assert!(ids(&store, &["增值税"]).is_empty());
        assert_eq!(ids(&store, &["所得税"]), vec![a]);
        // The scan sees the same text.
        let mut scanned = Vec::new();
        store
            .for_each_search_scan(&Filter::dataset(ds), |id, t| {
                scanned.push((id, t));
                true
            })
            .unwrap();
        assert_eq!(scanned.len(), 2);
        assert!(scanned[0].1.starts_with("企业所得税"));
    }
}
