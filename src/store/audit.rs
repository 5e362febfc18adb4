//! SQL of the audit: the population to draw from, audits, their items, progress and waivers.
//! The rule itself (sizes, strata, statistics) lives in `crate::audit`.

use super::{Result, Store};
use crate::model::now;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// A stored audit of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub dataset_id: i64,
    pub seed: u64,
    pub target: u64,
    pub population: u64,
    pub drawn: u64,
    pub covered_max_id: i64,
    /// The acceptance threshold on the upper bound of the defect rate.
    pub max_defect_rate: f64,
    pub created_at: String,
}

/// A waiver: someone chose to export or train without a complete audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waiver {
    pub id: i64,
    pub reason: String,
    pub who: String,
    pub missing: String,
    pub created_at: String,
}

/// Progress of an audit's items, from the samples' current review status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditCounts {
    pub drawn: u64,
    /// Decided for good: accepted or rejected.
    pub reviewed: u64,
    /// Rejected.
    pub defects: u64,
    /// Flagged for a second look, or in conflict between reviewers: neither reviewed nor a
    /// defect until resolved.
    pub pending: u64,
}

/// The SQL expression naming a sample's stratum: its source file or generator, and aspect.
const STRATUM: &str = "coalesce(json_extract(s.source, '$.path'),
        json_extract(s.source, '$.generator'), '') || ' / ' || coalesce(s.aspect, '')";

/// Over `samples s`: a person (not a rule) accepted or rejected the head revision and has not
/// taken it back.
const PERSON_DECIDED: &str = "EXISTS (SELECT 1 FROM reviews v
     WHERE v.revision_id = s.head_revision_id AND v.rule IS NULL
       AND v.decision IN ('accept', 'reject')
       AND NOT EXISTS (SELECT 1 FROM reviews w WHERE w.revision_id = v.revision_id
                       AND w.reviewer = v.reviewer AND w.id > v.id AND w.decision = 'retract'))";

impl Store {
    /// (sample id, stratum) of every sample of the dataset with an id above `after`, by id.
    pub fn audit_population(&self, dataset_id: i64, after: i64) -> Result<Vec<(i64, String)>> {
        let sql = format!(
            "SELECT s.id, {STRATUM} FROM samples s WHERE s.dataset_id = ?1 AND s.id > ?2
             ORDER BY s.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![dataset_id, after], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a new audit with its first draw; returns its id.
    pub fn create_audit(&mut self, audit: &AuditRecord, items: &[(i64, String)]) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audits (dataset_id, seed, target, population, drawn, covered_max_id,
                     max_defect_rate, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    audit.dataset_id,
                    audit.seed as i64,
                    audit.target as i64,
                    audit.population as i64,
                    audit.drawn as i64,
                    audit.covered_max_id,
                    audit.max_defect_rate,
                    audit.created_at
                ],
            )?;
            let id = tx.last_insert_rowid();
            insert_items(tx, id, items, 0)?;
            Ok(id)
        })
    }

    /// Adds a top-up draw to an audit and moves its coverage up to `covered_max_id`.
    pub fn top_up_audit(
        &mut self,
        audit_id: i64,
        items: &[(i64, String)],
        covered_max_id: i64,
    ) -> Result<i64> {
        self.write(|tx| {
            let round: i64 = tx.query_row(
                "SELECT coalesce(max(round), 0) + 1 FROM audit_items WHERE audit_id = ?1",
                [audit_id],
                |r| r.get(0),
            )?;
            insert_items(tx, audit_id, items, round)?;
            tx.execute(
                "UPDATE audits SET covered_max_id = ?1 WHERE id = ?2",
                params![covered_max_id, audit_id],
            )?;
            Ok(round)
        })
    }

    /// The latest audit of a dataset, if any.
    pub fn latest_audit(&self, dataset_id: i64) -> Result<Option<AuditRecord>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, seed, target, population, drawn, covered_max_id, created_at,
                     max_defect_rate
                 FROM audits WHERE dataset_id = ?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([dataset_id], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    dataset_id,
                    seed: r.get::<_, i64>(1)? as u64,
                    target: r.get::<_, i64>(2)? as u64,
                    population: r.get::<_, i64>(3)? as u64,
                    drawn: r.get::<_, i64>(4)? as u64,
                    covered_max_id: r.get(5)?,
                    created_at: r.get(6)?,
                    max_defect_rate: r.get(7)?,
                })
            })
            .optional()?)
    }

    /// Drawn, reviewed and defective items of an audit. Reviewed means decided by a person:
    /// a sample accepted or rejected only by a rule (`assay review accept --filter`) is not
    /// reviewed until someone looks at it.
    pub fn audit_counts(&self, audit_id: i64) -> Result<AuditCounts> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*),
                    coalesce(sum(s.status IN ('accepted', 'rejected') AND {PERSON_DECIDED}), 0),
                    coalesce(sum(s.status = 'rejected' AND {PERSON_DECIDED}), 0),
                    coalesce(sum(s.status IN ('flagged', 'conflict')), 0)
             FROM audit_items a JOIN samples s ON s.id = a.sample_id WHERE a.audit_id = ?1"
            ))?
            .query_row([audit_id], |r| {
                Ok(AuditCounts {
                    drawn: r.get::<_, i64>(0)? as u64,
                    reviewed: r.get::<_, i64>(1)? as u64,
                    defects: r.get::<_, i64>(2)? as u64,
                    pending: r.get::<_, i64>(3)? as u64,
                })
            })?)
    }

    /// The sample ids of an audit, in draw order (round, then id).
    /// The audit's items as (round, sample id).
    pub fn audit_items_by_round(&self, audit_id: i64) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT round, sample_id FROM audit_items WHERE audit_id = ?1 ORDER BY round, sample_id",
        )?;
        let rows = stmt.query_map([audit_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Of `ids`, the samples whose head is accepted or rejected by a rule only: still to be
    /// looked at by a person in the audit walk.
    pub fn decided_by_rule_only(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT s.id FROM samples s WHERE s.id = ?1
               AND s.status IN ('accepted', 'rejected') AND NOT {PERSON_DECIDED}"
        ))?;
        let mut out = std::collections::HashSet::new();
        for &id in ids {
            if stmt.exists([id])? {
                out.insert(id);
            }
        }
        Ok(out)
    }

    pub fn audit_sample_ids(&self, audit_id: i64) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sample_id FROM audit_items WHERE audit_id = ?1 ORDER BY round, sample_id",
        )?;
        let rows = stmt.query_map([audit_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many samples of the dataset have an id above `after` (added after an audit).
    pub fn count_samples_after(&self, dataset_id: i64, after: i64) -> Result<u64> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM samples WHERE dataset_id = ?1 AND id > ?2")?
            .query_row(params![dataset_id, after], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Records a waiver and returns it.
    pub fn add_waiver(
        &mut self,
        dataset_id: i64,
        reason: &str,
        who: &str,
        missing: &str,
    ) -> Result<Waiver> {
        let created_at = now();
        let id = self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_waivers (dataset_id, reason, who, missing, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![dataset_id, reason, who, missing, created_at],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(Waiver {
            id,
            reason: reason.into(),
            who: who.into(),
            missing: missing.into(),
            created_at,
        })
    }

    /// Every waiver of a dataset, oldest first.
    pub fn waivers(&self, dataset_id: i64) -> Result<Vec<Waiver>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, reason, who, missing, created_at FROM audit_waivers
             WHERE dataset_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([dataset_id], |r| {
            Ok(Waiver {
                id: r.get(0)?,
                reason: r.get(1)?,
                who: r.get(2)?,
                missing: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn insert_items(
    tx: &rusqlite::Transaction<'_>,
    audit_id: i64,
    items: &[(i64, String)],
    round: i64,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO audit_items (audit_id, sample_id, stratum, round)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (id, stratum) in items {
        stmt.execute(params![audit_id, id, stratum, round])?;
    }
    Ok(())
}
