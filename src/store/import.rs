//! Fast bulk insertion of new samples, used by import, chunking and generation.
//!
//! A batch holds one IMMEDIATE transaction and assigns sample and revision ids itself (it holds
//! the write lock, so nobody else can take them), which saves a statement per record. Samples
//! whose content is already in the dataset are skipped: that is what makes re-importing a file,
//! or resuming a killed import, a no-op.

use super::reviews::insert_verdict;
use super::samples::insert_revision;
use super::{NewVerdict, Result, Store, StoreError, now};
use crate::model::{Content, NewSample, Source};
use rusqlite::{Transaction, TransactionBehavior, params};

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted(i64),
    Duplicate,
}

/// A record ready to insert, with its content already serialised (callers may do that on
/// another thread).
pub struct ImportRecord {
    pub sample: NewSample,
    pub content_json: String,
    pub hash: u128,
}

impl ImportRecord {
    pub fn new(sample: NewSample) -> std::result::Result<Self, serde_json::Error> {
        let content_json = serde_json::to_string(&sample.content)?;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(sample.kind.as_str().as_bytes());
        h.update(&[0]);
        h.update(content_json.as_bytes());
        Ok(ImportRecord {
            hash: h.digest128(),
            content_json,
            sample,
        })
    }
}

/// An open bulk insert into one dataset. Nothing is visible to others until `commit`.
pub struct ImportBatch<'a> {
    tx: Transaction<'a>,
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next_sample: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM samples", [], |r| {
                r.get(0)
            })?;
        let next_revision: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM revisions", [], |r| {
                r.get(0)
            })?;
        Ok(ImportBatch {
            tx,
            dataset_id,
            next_sample,
            next_revision,
            author: author.to_string(),
            created_at: now(),
        })
    }
}

impl ImportBatch<'_> {
    pub fn insert(&mut self, rec: &ImportRecord) -> Result<InsertOutcome> {
        let s = &rec.sample;
        let source = serde_json::to_string(&s.source).map_err(|e| StoreError::Corrupt {
            table: "samples",
            column: "source",
            id: self.next_sample,
            source: e,
        })?;
        let mut extra = serde_json::Map::new();
        if !s.meta.tags.is_empty() {
            extra.insert("tags".into(), s.meta.tags.clone().into());
        }
        if !s.meta.extra.is_empty() {
            extra.insert("extra".into(), s.meta.extra.clone().into());
        }
        let meta = serde_json::Value::Object(extra).to_string();
        let sample_id = self.next_sample;
        let revision_id = self.next_revision;
        let changed = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO samples (id, dataset_id, kind, content_hash,
                     head_revision_id, source, aspect, topic, label, meta, preview, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                sample_id,
                self.dataset_id,
                s.kind.as_str(),
                &rec.hash.to_le_bytes()[..],
                revision_id,
                source,
                s.meta.aspect,
                s.meta.topic,
                s.meta.label.map(|l| l.as_str()),
                meta,
                s.content.preview(),
                self.created_at,
            ])?;
        if changed == 0 {
            return Ok(InsertOutcome::Duplicate);
        }
        self.tx
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
            let mut stmt = self.tx.prepare_cached(
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

    /// The head revision of the sample inserted last (its first revision).
    pub fn last_revision_id(&self) -> i64 {
        self.next_revision - 1
    }

    /// Records a verdict in this batch's transaction, so that a sample and its verdicts are
    /// committed together or not at all.
    pub fn add_verdict(&mut self, revision_id: i64, v: &NewVerdict) -> Result<i64> {
        insert_verdict(&self.tx, revision_id, v, &self.created_at)
    }

    /// Adds a revision (e.g. a repaired CoT) in this batch's transaction; returns its id.
    pub fn add_revision(&mut self, sample_id: i64, content: &Content, author: &str) -> Result<i64> {
        let json = serde_json::to_string(content).map_err(|e| StoreError::Corrupt {
            table: "revisions",
            column: "content",
            id: sample_id,
            source: e,
        })?;
        let (id, _) = insert_revision(
            &self.tx,
            sample_id,
            &json,
            &content.preview(),
            author,
            &self.created_at,
        )?;
        // The batch assigns revision ids itself: continue after this one.
        self.next_revision = self.next_revision.max(id + 1);
        Ok(id)
    }

    /// Records a finished import of `path` (shown by `assay stats`).
    pub fn record_import(&self, path: &str, format: &str, counts: (u64, u64, u64)) -> Result<()> {
        self.tx.execute(
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

    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

/// The source of a sample as stored (JSON), read back.
pub(crate) fn parse_source(text: &str, id: i64) -> Result<Source> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: "samples",
        column: "source",
        id,
        source: e,
    })
}
