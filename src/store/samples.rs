//! Reading samples with their head revision, and adding revisions (edits never overwrite).

use super::codec::parse_source;
use super::{Result, Store, StoreError};
use crate::model::{
    Content, Label, ReviewStatus, Revision, SampleKind, SampleMeta, Source, VerdictSummary,
};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

/// A sample with its metadata and the content of its head (latest) revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleRecord {
    pub id: i64,
    pub dataset_id: i64,
    pub kind: SampleKind,
    pub source: Source,
    pub meta: SampleMeta,
    pub status: ReviewStatus,
    pub verdict: VerdictSummary,
    pub dup_cluster: Option<i64>,
    pub head: Revision,
}

/// The columns `sample_from_row` reads, in order; `s` is samples and `r` its head revision.
pub(crate) const SAMPLE_COLUMNS: &str = "s.id, s.dataset_id, s.kind, s.source, s.aspect, s.topic,
    s.label, s.meta, s.status, s.verdict, s.dup_cluster,
    r.id, r.number, r.content, r.author, r.created_at";

pub(crate) fn sample_from_row(row: &Row<'_>) -> Result<SampleRecord> {
    RawSample::read(row)?.parse()
}

/// One row of [`SAMPLE_COLUMNS`] as SQLite gave it, before the JSON columns are parsed: reading
/// it and parsing it can then run on different threads.
pub(crate) struct RawSample {
    id: i64,
    dataset_id: i64,
    kind: String,
    source: String,
    aspect: Option<String>,
    topic: Option<String>,
    label: Option<String>,
    meta: String,
    status: String,
    verdict: String,
    dup_cluster: Option<i64>,
    revision_id: i64,
    number: i64,
    content: String,
    author: String,
    created_at: String,
}

impl RawSample {
    pub(crate) fn read(row: &Row<'_>) -> Result<RawSample> {
        Ok(RawSample {
            id: row.get(0)?,
            dataset_id: row.get(1)?,
            kind: row.get(2)?,
            source: row.get(3)?,
            aspect: row.get(4)?,
            topic: row.get(5)?,
            label: row.get(6)?,
            meta: row.get(7)?,
            status: row.get(8)?,
            verdict: row.get(9)?,
            dup_cluster: row.get(10)?,
            revision_id: row.get(11)?,
            number: row.get(12)?,
            content: row.get(13)?,
            author: row.get(14)?,
            created_at: row.get(15)?,
        })
    }

    pub(crate) fn parse(self) -> Result<SampleRecord> {
        let id = self.id;
        let stored: StoredMeta =
            serde_json::from_str(&self.meta).map_err(|e| StoreError::Corrupt {
                table: "samples",
                column: "meta",
                id,
                source: e,
            })?;
        let content: Content =
            serde_json::from_str(&self.content).map_err(|e| StoreError::Corrupt {
                table: "revisions",
                column: "content",
                id,
                source: e,
            })?;
        Ok(SampleRecord {
            id,
            dataset_id: self.dataset_id,
            kind: SampleKind::parse(&self.kind).ok_or_else(|| {
                StoreError::Invalid(format!("sample {id}: unknown kind {:?}", self.kind))
            })?,
            source: parse_source(&self.source, id)?,
            meta: SampleMeta {
                aspect: self.aspect,
                topic: self.topic,
                label: self.label.as_deref().and_then(Label::parse),
                tags: stored.tags,
                extra: stored.extra,
            },
            status: ReviewStatus::parse(&self.status).unwrap_or(ReviewStatus::Unreviewed),
            verdict: VerdictSummary::parse(&self.verdict).unwrap_or(VerdictSummary::None),
            dup_cluster: self.dup_cluster,
            head: Revision {
                id: self.revision_id,
                sample_id: id,
                number: self.number,
                content,
                author: self.author,
                created_at: self.created_at,
            },
        })
    }
}

/// The part of `samples.meta` that has no column of its own.
#[derive(serde::Deserialize, Default)]
pub(crate) struct StoredMeta {
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

impl Store {
    /// The sample `id` with its head revision.
    pub fn sample(&self, id: i64) -> Result<SampleRecord> {
        let sql = format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples s
             JOIN revisions r ON r.id = s.head_revision_id WHERE s.id = ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => sample_from_row(row),
            None => Err(StoreError::not_found(format!("sample {id}"))),
        }
    }

    /// Every revision of a sample, oldest first.
    pub fn revisions(&self, sample_id: i64) -> Result<Vec<Revision>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, number, content, author, created_at FROM revisions
             WHERE sample_id = ?1 ORDER BY number",
        )?;
        let mut rows = stmt.query([sample_id])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let content: String = r.get(2)?;
            out.push(Revision {
                id,
                sample_id,
                number: r.get(1)?,
                content: serde_json::from_str(&content).map_err(|e| StoreError::Corrupt {
                    table: "revisions",
                    column: "content",
                    id,
                    source: e,
                })?,
                author: r.get(3)?,
                created_at: r.get(4)?,
            });
        }
        Ok(out)
    }

    /// Adds a revision (an edit or a regeneration) and makes it the head. The sample's verdict
    /// summary and review status reset: verdicts and decisions belong to the revision they were
    /// made on.
    pub fn add_revision(
        &mut self,
        sample_id: i64,
        content: &Content,
        author: &str,
    ) -> Result<Revision> {
        self.add_revision_with_verdicts(sample_id, content, author, &[])
    }
}

/// Adds a revision inside `tx` and makes it the sample's head (its verdict summary resets:
/// verdicts belong to the revision they judged; its status resets: decisions belong to the
/// revision they were made on). Returns the revision's id and number.
pub(crate) fn insert_revision(
    tx: &rusqlite::Transaction<'_>,
    sample_id: i64,
    content: &Content,
    content_json: &str,
    author: &str,
    created_at: &str,
) -> Result<(i64, i64)> {
    let number: i64 = tx
        .query_row(
            "SELECT max(number) FROM revisions WHERE sample_id = ?1",
            [sample_id],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten()
        .ok_or_else(|| StoreError::not_found(format!("sample {sample_id}")))?
        + 1;
    tx.execute(
        "INSERT INTO revisions (sample_id, number, content, author, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sample_id, number, content_json, author, created_at],
    )?;
    let id = tx.last_insert_rowid();
    // Status follows content: nobody has decided on a revision that did not exist a moment ago.
    tx.execute(
        "UPDATE samples SET head_revision_id = ?1, verdict = 'none', score = NULL, preview = ?2,
             chars = ?3, status = 'unreviewed' WHERE id = ?4",
        params![id, content.preview(), content.chars(), sample_id],
    )?;
    Ok((id, number))
}
