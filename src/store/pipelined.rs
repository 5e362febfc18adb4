//! The scan behind exports, split over two threads: this one steps SQLite and copies out only
//! the columns a writer needs, as raw bytes into one buffer per chunk; another parses them and
//! hands each sample to the caller's function (an export writer).
//!
//! Why not `for_each_sample`: an export reads every sample once and needs neither review status
//! nor revision bookkeeping. Copying 16 columns into 16 owned strings per row, checking each for
//! UTF-8 (the JSON parser checks again) and freeing them on the other thread cost more than the
//! SQLite reads themselves. Memory stays bounded by the channel.

use super::codec::parse_source;
use super::samples::StoredMeta;
use super::{Filter, Result, Store, StoreError};
use crate::model::{Content, Label, SampleKind, SampleMeta, Source};
use rusqlite::Row;
use rusqlite::types::ValueRef;
use std::ops::Range;
use std::sync::mpsc::sync_channel;

/// Rows per message between the threads.
const CHUNK: usize = 512;
/// Messages in flight: bounds memory to a few thousand samples.
const DEPTH: usize = 8;

/// What an export writer needs of a sample: its head content and metadata, and its source when
/// asked for (the Hugging Face card's provenance).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSample {
    pub id: i64,
    pub kind: SampleKind,
    pub content: Content,
    pub meta: SampleMeta,
    pub source: Option<Source>,
}

/// The columns read, in order; `s` is samples and `r` its head revision.
const COLUMNS: &str = "s.id, s.kind, r.content, s.meta, s.aspect, s.topic, s.label, s.source";

/// One row as byte ranges into its chunk's buffer (`None`: SQL NULL).
struct Spans {
    id: i64,
    cols: [Option<Range<usize>>; 7],
}

#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    rows: Vec<Spans>,
}

impl Chunk {
    fn push(&mut self, row: &Row<'_>, with_source: bool) -> Result<()> {
        let id: i64 = row.get(0)?;
        let mut cols: [Option<Range<usize>>; 7] = Default::default();
        let n = if with_source { 7 } else { 6 };
        for (i, col) in cols.iter_mut().enumerate().take(n) {
            *col = match row.get_ref(i + 1)? {
                ValueRef::Null => None,
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    let start = self.bytes.len();
                    self.bytes.extend_from_slice(t);
                    Some(start..self.bytes.len())
                }
                other => {
                    return Err(StoreError::Invalid(format!(
                        "sample {id}: column {} holds {:?}, not text",
                        i + 1,
                        other.data_type()
                    )));
                }
            };
        }
        self.rows.push(Spans { id, cols });
        Ok(())
    }

    fn parse(&self, s: &Spans) -> Result<ExportSample> {
        let id = s.id;
        let bytes = |i: usize| s.cols[i].clone().map(|r| &self.bytes[r]);
        let text = |i: usize| -> Result<Option<&str>> {
            bytes(i)
                .map(|b| {
                    std::str::from_utf8(b).map_err(|e| {
                        StoreError::Invalid(format!("sample {id}: stored text is not UTF-8: {e}"))
                    })
                })
                .transpose()
        };
        let kind = text(0)?.unwrap_or_default();
        let content: Content = json(bytes(1), id, "revisions", "content")?;
        let stored: StoredMeta = json(bytes(2), id, "samples", "meta")?;
        Ok(ExportSample {
            id,
            kind: SampleKind::parse(kind).ok_or_else(|| {
                StoreError::Invalid(format!("sample {id}: unknown kind {kind:?}"))
            })?,
            content,
            meta: SampleMeta {
                aspect: text(3)?.map(str::to_string),
                topic: text(4)?.map(str::to_string),
                label: text(5)?.and_then(Label::parse),
                tags: stored.tags,
                extra: stored.extra,
            },
            source: text(6)?.map(|t| parse_source(t, id)).transpose()?,
        })
    }
}

fn json<T: serde::de::DeserializeOwned>(
    bytes: Option<&[u8]>,
    id: i64,
    table: &'static str,
    column: &'static str,
) -> Result<T> {
    serde_json::from_slice(bytes.unwrap_or(b"null")).map_err(|e| StoreError::Corrupt {
        table,
        column,
        id,
        source: e,
    })
}

impl Store {
    /// Calls `f` on a second thread for every sample `filter` selects, in id order, with its
    /// source only when `with_source`. Stops at the first error, from SQLite, a stored value or
    /// `f`, and returns it; otherwise the number of samples.
    pub fn for_each_export_sample<F>(
        &self,
        filter: &Filter,
        with_source: bool,
        f: F,
    ) -> anyhow::Result<u64>
    where
        F: FnMut(ExportSample) -> anyhow::Result<()> + Send,
    {
        let (clause, params) = filter.sql_scan();
        let sql = format!(
            "SELECT {COLUMNS} FROM samples s
             JOIN revisions r ON r.id = s.head_revision_id WHERE {clause} ORDER BY s.id"
        );
        let (tx, rx) = sync_channel::<Chunk>(DEPTH);
        std::thread::scope(|scope| {
            let consumer = scope.spawn(move || -> anyhow::Result<u64> {
                let mut f = f;
                let mut n = 0;
                for chunk in rx {
                    for spans in &chunk.rows {
                        f(chunk.parse(spans)?)?;
                        n += 1;
                    }
                }
                Ok(n)
            });
            let read = (|| -> anyhow::Result<()> {
                let mut stmt = self.conn.prepare(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                let mut chunk = Chunk::default();
                while let Some(row) = rows.next()? {
                    chunk.push(row, with_source)?;
                    if chunk.rows.len() == CHUNK && tx.send(std::mem::take(&mut chunk)).is_err() {
                        // The consumer stopped on an error: it reports it below.
                        return Ok(());
                    }
                }
                // As above: a failed send means the consumer has an error to report.
                let _ = tx.send(chunk);
                Ok(())
            })();
            drop(tx);
            let consumed = consumer
                .join()
                .map_err(|_| anyhow::anyhow!("the export thread panicked"))?;
            // The consumer's error comes first: the reader only stops early because of it.
            let n = consumed?;
            read?;
            Ok(n)
        })
    }
}
