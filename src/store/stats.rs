//! Counts for `assay stats`: by dataset, kind, review status and verdict.

use super::{Result, Store};
use crate::model::DatasetStats;
use std::collections::BTreeMap;

impl Store {
    /// Counts for every dataset, or only for the one given.
    pub fn stats(&self, dataset_id: Option<i64>) -> Result<Vec<DatasetStats>> {
        let mut out = Vec::new();
        for d in self.datasets()? {
            if dataset_id.is_some_and(|id| id != d.id) {
                continue;
            }
            let group = |column: &str| -> Result<BTreeMap<String, u64>> {
                let sql = format!(
                    "SELECT {column}, count(*) FROM samples WHERE dataset_id = ?1 GROUP BY {column}"
                );
                let mut stmt = self.conn.prepare_cached(&sql)?;
                let rows = stmt.query_map([d.id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
            let count = |sql: &str| -> Result<u64> {
                Ok(self.conn.query_row(sql, [d.id], |r| r.get::<_, i64>(0))? as u64)
            };
            out.push(DatasetStats {
                by_kind: group("kind")?,
                by_status: group("status")?,
                by_verdict: group("verdict")?,
                revisions: count(
                    "SELECT count(*) FROM revisions r JOIN samples s ON s.id = r.sample_id
                     WHERE s.dataset_id = ?1",
                )?,
                reviews: count(
                    "SELECT count(*) FROM reviews v JOIN samples s ON s.id = v.sample_id
                     WHERE s.dataset_id = ?1",
                )?,
                failing_verdicts: self.conn.query_row(
                    "SELECT coalesce(sum(status IN ('accepted', 'rejected')), 0),
                            coalesce(sum(status = 'rejected'), 0)
                     FROM samples WHERE dataset_id = ?1 AND verdict IN ('fail', 'mixed')",
                    [d.id],
                    |r| {
                        Ok(crate::model::VerdictConfirmation {
                            decided: r.get::<_, i64>(0)? as u64,
                            confirmed: r.get::<_, i64>(1)? as u64,
                        })
                    },
                )?,
                samples: d.samples,
                dataset: d.name,
            });
        }
        Ok(out)
    }
}
