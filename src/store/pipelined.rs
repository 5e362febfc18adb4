//! A scan of samples split over two threads: this one steps SQLite and copies out the columns,
//! another parses the stored JSON and hands each sample to the caller's function (an export
//! writer). Each half is about half of the work, so an export runs nearly twice as fast on
//! two cores, with memory still bounded by the channel.

use super::samples::{RawSample, SAMPLE_COLUMNS};
use super::{Filter, Store};
use crate::store::SampleRecord;
use std::sync::mpsc::sync_channel;

/// Rows per message between the threads.
const CHUNK: usize = 256;
/// Messages in flight: bounds memory to a few thousand samples.
const DEPTH: usize = 8;

impl Store {
    /// As [`Store::for_each_sample`], with `f` on a second thread. Stops at the first error,
    /// from SQLite or from `f`, and returns it; otherwise the number of samples.
    pub fn for_each_sample_pipelined<F>(&self, filter: &Filter, f: F) -> anyhow::Result<u64>
    where
        F: FnMut(SampleRecord) -> anyhow::Result<()> + Send,
    {
        let (clause, params) = filter.sql_scan();
        let sql = format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples s
             JOIN revisions r ON r.id = s.head_revision_id WHERE {clause} ORDER BY s.id"
        );
        let (tx, rx) = sync_channel::<Vec<RawSample>>(DEPTH);
        std::thread::scope(|scope| {
            let consumer = scope.spawn(move || -> anyhow::Result<u64> {
                let mut f = f;
                let mut n = 0;
                for chunk in rx {
                    for raw in chunk {
                        f(raw.parse()?)?;
                        n += 1;
                    }
                }
                Ok(n)
            });
            let read = (|| -> anyhow::Result<()> {
                let mut stmt = self.conn.prepare(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                let mut chunk = Vec::with_capacity(CHUNK);
                while let Some(row) = rows.next()? {
                    chunk.push(RawSample::read(row)?);
                    if chunk.len() == CHUNK
                        && tx
                            .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                            .is_err()
                    {
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
