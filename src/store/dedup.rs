//! SQL for text processing: streaming head contents, marking duplicate clusters, and the group
//! counts behind diversity statistics.

use super::{Result, Store};
use crate::model::now;
use rusqlite::params;
use std::collections::BTreeMap;

/// Duplicate-cluster counts of one dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DupCounts {
    pub samples: u64,
    /// Samples that belong to a cluster.
    pub clustered: u64,
    pub clusters: u64,
}

impl Store {
    /// Calls `f` with the id and head-revision content JSON of every sample of the dataset, in id
    /// order, streaming; `f` returns false to stop early.
    pub fn for_each_head_content(
        &self,
        dataset_id: i64,
        mut f: impl FnMut(i64, String) -> bool,
    ) -> Result<u64> {
        // `+s.dataset_id` keeps SQLite off the dataset indexes: through them it would sort every
        // content in a temporary B-tree (a gigabyte of RAM for a million samples) to honour the
        // ORDER BY, where a scan in rowid order streams.
        let mut stmt = self.conn.prepare(
            "SELECT s.id, r.content FROM samples s JOIN revisions r ON r.id = s.head_revision_id
             WHERE +s.dataset_id = ?1 ORDER BY s.id",
        )?;
        let mut rows = stmt.query([dataset_id])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            n += 1;
            if !f(row.get(0)?, row.get(1)?) {
                break;
            }
        }
        Ok(n)
    }

    /// Replaces the dataset's duplicate clusters: `(sample_id, cluster_id)` pairs; every other
    /// sample of the dataset is cleared. Nothing is deleted.
    /// Keeps one sample per near-duplicate cluster (its first, whose id names the cluster) and
    /// records a reject decision by `reviewer` on every other member not rejected yet, in one
    /// transaction. Decisions, not deletions: each can be undone like any other. Returns how many.
    pub fn reject_cluster_extras(&mut self, dataset_id: i64, reviewer: &str) -> Result<u64> {
        let t = now();
        self.write(|tx| {
            let extras = "dataset_id = ?1 AND dup_cluster IS NOT NULL AND id != dup_cluster
                          AND status != 'rejected'";
            let n = tx.execute(
                &format!(
                    "INSERT INTO reviews (sample_id, revision_id, reviewer, decision, reason, created_at)
                     SELECT id, head_revision_id, ?2, 'reject',
                            'near-duplicate of #' || dup_cluster, ?3
                     FROM samples WHERE {extras}"
                ),
                params![dataset_id, reviewer, t],
            )?;
            tx.execute(
                &format!("UPDATE samples SET status = 'rejected' WHERE {extras}"),
                params![dataset_id],
            )?;
            Ok(n as u64)
        })
    }

    pub fn set_dup_clusters(&mut self, dataset_id: i64, members: &[(i64, i64)]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE samples SET dup_cluster = NULL
                 WHERE dataset_id = ?1 AND dup_cluster IS NOT NULL",
                [dataset_id],
            )?;
            let mut stmt = tx.prepare_cached(
                "UPDATE samples SET dup_cluster = ?2 WHERE id = ?1 AND dataset_id = ?3",
            )?;
            for &(id, cluster) in members {
                stmt.execute(params![id, cluster, dataset_id])?;
            }
            Ok(())
        })
    }

    pub fn dup_counts(&self, dataset_id: i64) -> Result<DupCounts> {
        Ok(self.conn.query_row(
            "SELECT count(*), count(dup_cluster), count(DISTINCT dup_cluster)
             FROM samples WHERE dataset_id = ?1",
            [dataset_id],
            |r| {
                Ok(DupCounts {
                    samples: r.get::<_, i64>(0)? as u64,
                    clustered: r.get::<_, i64>(1)? as u64,
                    clusters: r.get::<_, i64>(2)? as u64,
                })
            },
        )?)
    }

    /// Sample counts by `column` of samples (`aspect`, `kind`, `label`); NULL is counted as
    /// `"(none)"`.
    pub fn counts_by(&self, dataset_id: i64, column: Grouping) -> Result<BTreeMap<String, u64>> {
        let sql = match column {
            Grouping::Aspect => {
                "SELECT coalesce(aspect, '(none)'), count(*) FROM samples
                 WHERE dataset_id = ?1 GROUP BY 1"
            }
            Grouping::Kind => "SELECT kind, count(*) FROM samples WHERE dataset_id = ?1 GROUP BY 1",
            Grouping::Label => {
                "SELECT coalesce(label, '(none)'), count(*) FROM samples
                 WHERE dataset_id = ?1 GROUP BY 1"
            }
            Grouping::Tag => {
                "SELECT t.tag, count(*) FROM sample_tags t JOIN samples s ON s.id = t.sample_id
                 WHERE s.dataset_id = ?1 GROUP BY 1"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([dataset_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// What `counts_by` groups on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Aspect,
    Kind,
    Label,
    Tag,
}
