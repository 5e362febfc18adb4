//! Fast bulk insertion of new samples, used by import, chunking and generation.
//!
//! A batch holds one IMMEDIATE transaction and assigns sample and revision ids itself (it holds
//! the write lock, so nobody else can take them), which saves a statement per record. Samples
//! whose content is already in the dataset are skipped: that is what makes re-importing a file,
//! or resuming a killed import, a no-op.

use super::codec::content_json;
use super::reviews::insert_verdict;
use super::samples::insert_revision;
use super::{Result, Store, StoreError};
use crate::model::{Content, NewSample, NewVerdict, now};
use rusqlite::{Connection, ToSql, Transaction, TransactionBehavior, params, params_from_iter};
use std::sync::OnceLock;

/// Rows per multi-row statement in [`ImportBatch::insert_many`] (13 parameters each, far below
/// SQLite's limit of 32,766).
const ROWS: usize = 32;

/// `INSERT OR IGNORE ... VALUES (..), (..) ... RETURNING id` for [`ROWS`] samples: RETURNING
/// names exactly the rows inserted, so duplicates are told apart without a statement per row.
fn many_samples_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        format!(
            "INSERT OR IGNORE INTO samples (id, dataset_id, kind, content_hash, head_revision_id,
                 source, aspect, topic, label, meta, preview, chars, created_at)
             VALUES {} RETURNING id",
            vec![row; ROWS].join(", ")
        )
    })
}

fn many_revisions_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "INSERT INTO revisions (id, sample_id, number, content, author, created_at) VALUES {}",
            vec!["(?, ?, 1, ?, ?, ?)"; ROWS].join(", ")
        )
    })
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted(i64),
    Duplicate,
}

/// A record ready to insert, with everything the row needs already serialised: the parser
/// thread builds it, so the thread that holds the write lock only binds values.
pub struct ImportRecord {
    pub sample: NewSample,
    pub content_json: String,
    pub hash: u128,
    source_json: String,
    meta_json: String,
    preview: String,
    chars: i64,
}

impl ImportRecord {
    pub fn new(sample: NewSample) -> std::result::Result<Self, serde_json::Error> {
        let content_json = serde_json::to_string(&sample.content)?;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(sample.kind.as_str().as_bytes());
        h.update(&[0]);
        h.update(content_json.as_bytes());
        let source_json = serde_json::to_string(&sample.source)?;
        let mut extra = serde_json::Map::new();
        if !sample.meta.tags.is_empty() {
            extra.insert("tags".into(), sample.meta.tags.clone().into());
        }
        if !sample.meta.extra.is_empty() {
            extra.insert("extra".into(), sample.meta.extra.clone().into());
        }
        let meta_json = serde_json::Value::Object(extra).to_string();
        Ok(ImportRecord {
            hash: h.digest128(),
            preview: sample.content.preview(),
            chars: sample.content.chars(),
            content_json,
            source_json,
            meta_json,
            sample,
        })
    }
}

/// An open bulk insert into one dataset. Nothing is visible to others until `commit`.
///
/// Foreign-key enforcement is off while a batch is open: the batch assigns every id it links
/// (sample to revision, verdict to revision) itself, so the checks can only pass, and they cost
/// four B-tree lookups per record. It is switched back on when the batch ends, however it ends.
pub struct ImportBatch<'a> {
    conn: &'a Connection,
    /// `None` once committed.
    tx: Option<Transaction<'a>>,
    dataset_id: i64,
    next_sample: i64,
    next_revision: i64,
    author: String,
    created_at: String,
}

impl Store {
    /// Starts a bulk insert into `dataset_id`; revisions are credited to `author`.
    pub fn import_batch(&mut self, dataset_id: i64, author: &str) -> Result<ImportBatch<'_>> {
        // The unique content-hash index takes random keys: once it outgrows the page cache every
        // insert reads pages from disk. 64 MB keeps a few million samples' indexes in memory.
        self.conn.pragma_update(None, "cache_size", -65_536)?;
        // Outside a transaction, or SQLite ignores it.
        self.conn.pragma_update(None, "foreign_keys", false)?;
        let conn = &self.conn;
        let tx = match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                conn.pragma_update(None, "foreign_keys", true)?;
                return Err(e.into());
            }
        };
        let next_sample: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM samples", [], |r| {
                r.get(0)
            })?;
        let next_revision: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM revisions", [], |r| {
                r.get(0)
            })?;
        Ok(ImportBatch {
            conn,
            tx: Some(tx),
            dataset_id,
            next_sample,
            next_revision,
            author: author.to_string(),
            created_at: now(),
        })
    }
}

impl ImportBatch<'_> {
    fn tx(&self) -> Result<&Transaction<'_>> {
        self.tx.as_ref().ok_or(StoreError::BatchEnded)
    }

    pub fn insert(&mut self, rec: &ImportRecord) -> Result<InsertOutcome> {
        let s = &rec.sample;
        let sample_id = self.next_sample;
        let revision_id = self.next_revision;
        let changed = self
            .tx()?
            .prepare_cached(
                "INSERT OR IGNORE INTO samples (id, dataset_id, kind, content_hash,
                     head_revision_id, source, aspect, topic, label, meta, preview, chars,
                     created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                sample_id,
                self.dataset_id,
                s.kind.as_str(),
                &rec.hash.to_le_bytes()[..],
                revision_id,
                rec.source_json,
                s.meta.aspect,
                s.meta.topic,
                s.meta.label.map(|l| l.as_str()),
                rec.meta_json,
                rec.preview,
                rec.chars,
                self.created_at,
            ])?;
        if changed == 0 {
            return Ok(InsertOutcome::Duplicate);
        }
        self.tx()?
            .prepare_cached(
                "INSERT INTO revisions (id, sample_id, number, content, author, created_at)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5)",
            )?
            .execute(params![
                revision_id,
                sample_id,
                rec.content_json,
                self.author,
                self.created_at
            ])?;
        if !s.meta.tags.is_empty() {
            let mut stmt = self.tx()?.prepare_cached(
                "INSERT OR IGNORE INTO sample_tags (sample_id, tag) VALUES (?1, ?2)",
            )?;
            for tag in &s.meta.tags {
                stmt.execute(params![sample_id, tag])?;
            }
        }
        self.next_sample += 1;
        self.next_revision += 1;
        Ok(InsertOutcome::Inserted(sample_id))
    }

    /// Inserts many records, appending one outcome per record to `out`, in order. Rows go in
    /// [`ROWS`] at a time, one statement each for samples and revisions: per-statement overhead
    /// (opening cursors, binding, halting) is a third of the cost of a one-row insert.
    pub fn insert_many(
        &mut self,
        recs: &[ImportRecord],
        out: &mut Vec<InsertOutcome>,
    ) -> Result<()> {
        let mut chunks = recs.chunks_exact(ROWS);
        for chunk in &mut chunks {
            self.insert_rows(chunk, out)?;
        }
        for rec in chunks.remainder() {
            out.push(self.insert(rec)?);
        }
        Ok(())
    }

    fn insert_rows(&mut self, chunk: &[ImportRecord], out: &mut Vec<InsertOutcome>) -> Result<()> {
        let first_sample = self.next_sample;
        let first_revision = self.next_revision;
        let ids: Vec<i64> = (0..chunk.len() as i64).map(|i| first_sample + i).collect();
        let revs: Vec<i64> = (0..chunk.len() as i64)
            .map(|i| first_revision + i)
            .collect();
        let hashes: Vec<[u8; 16]> = chunk.iter().map(|r| r.hash.to_le_bytes()).collect();
        let hashes: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
        let labels: Vec<Option<&str>> = chunk
            .iter()
            .map(|r| r.sample.meta.label.map(|l| l.as_str()))
            .collect();
        let kinds: Vec<&str> = chunk.iter().map(|r| r.sample.kind.as_str()).collect();
        let mut values: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 13);
        for (i, rec) in chunk.iter().enumerate() {
            values.extend_from_slice(&[
                &ids[i],
                &self.dataset_id,
                &kinds[i],
                &hashes[i],
                &revs[i],
                &rec.source_json,
                &rec.sample.meta.aspect,
                &rec.sample.meta.topic,
                &labels[i],
                &rec.meta_json,
                &rec.preview,
                &rec.chars,
                &self.created_at,
            ]);
        }
        // A duplicate leaves a gap in the ids: harmless, and it keeps the ids of one statement
        // known before it runs.
        self.next_sample += chunk.len() as i64;
        self.next_revision += chunk.len() as i64;
        let tx = self.tx()?;
        let mut inserted = vec![false; chunk.len()];
        {
            let mut stmt = tx.prepare_cached(many_samples_sql())?;
            let mut rows = stmt.query(params_from_iter(values))?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                if let Some(slot) = inserted.get_mut((id - first_sample) as usize) {
                    *slot = true;
                }
            }
        }
        if inserted.iter().all(|&b| b) {
            let mut values: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 5);
            for (i, rec) in chunk.iter().enumerate() {
                values.extend_from_slice(&[
                    &revs[i],
                    &ids[i],
                    &rec.content_json,
                    &self.author,
                    &self.created_at,
                ]);
            }
            tx.prepare_cached(many_revisions_sql())?
                .execute(params_from_iter(values))?;
        } else {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO revisions (id, sample_id, number, content, author, created_at)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5)",
            )?;
            for (i, rec) in chunk.iter().enumerate().filter(|(i, _)| inserted[*i]) {
                stmt.execute(params![
                    revs[i],
                    ids[i],
                    rec.content_json,
                    self.author,
                    self.created_at
                ])?;
            }
        }
        let mut tags = tx
            .prepare_cached("INSERT OR IGNORE INTO sample_tags (sample_id, tag) VALUES (?1, ?2)")?;
        for (i, rec) in chunk.iter().enumerate() {
            out.push(if inserted[i] {
                for tag in &rec.sample.meta.tags {
                    tags.execute(params![ids[i], tag])?;
                }
                InsertOutcome::Inserted(ids[i])
            } else {
                InsertOutcome::Duplicate
            });
        }
        Ok(())
    }

    /// The head revision of the sample inserted last (its first revision).
    pub fn last_revision_id(&self) -> i64 {
        self.next_revision - 1
    }

    /// Records a verdict in this batch's transaction, so that a sample and its verdicts are
    /// committed together or not at all.
    pub fn add_verdict(&mut self, revision_id: i64, v: &NewVerdict) -> Result<i64> {
        insert_verdict(self.tx()?, revision_id, v, &self.created_at)
    }

    /// Adds a revision (e.g. a repaired CoT) in this batch's transaction; returns its id.
    pub fn add_revision(&mut self, sample_id: i64, content: &Content, author: &str) -> Result<i64> {
        let json = content_json(content, sample_id)?;
        let (id, _) = insert_revision(
            self.tx()?,
            sample_id,
            content,
            &json,
            author,
            &self.created_at,
        )?;
        // The batch assigns revision ids itself: continue after this one.
        self.next_revision = self.next_revision.max(id + 1);
        Ok(id)
    }

    /// Records a finished import of `path` (shown by `assay stats`).
    pub fn record_import(&self, path: &str, format: &str, counts: (u64, u64, u64)) -> Result<()> {
        self.tx()?.execute(
            "INSERT INTO imports (dataset_id, path, format, imported, duplicates, rejected, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                self.dataset_id,
                path,
                format,
                counts.0 as i64,
                counts.1 as i64,
                counts.2 as i64,
                now()
            ],
        )?;
        Ok(())
    }

    pub fn commit(mut self) -> Result<()> {
        match self.tx.take() {
            Some(tx) => Ok(tx.commit()?),
            None => Err(StoreError::BatchEnded),
        }
    }
}

impl Drop for ImportBatch<'_> {
    fn drop(&mut self) {
        // Roll back first (if not committed): the pragma is ignored inside a transaction.
        drop(self.tx.take());
        if let Err(e) = self.conn.pragma_update(None, "foreign_keys", true) {
            tracing::error!("re-enabling foreign keys after a bulk insert: {e}");
        }
    }
}
