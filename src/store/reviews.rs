//! Reviews and verdicts. Each write also updates the sample's denormalised status or verdict
//! summary in the same transaction, so a decision the screen shows as done is committed whole.

use super::{Result, Store, StoreError};
use crate::model::{Decision, NewVerdict, Review, ReviewStatus, Verdict, VerdictSummary, now};
use rusqlite::{Transaction, params};

impl Store {
    /// Records a reviewer's decision on a revision and returns it once committed.
    pub fn add_review(
        &mut self,
        sample_id: i64,
        revision_id: i64,
        reviewer: &str,
        decision: Decision,
        reason: &str,
    ) -> Result<Review> {
        let created_at = now();
        let id = self.write(|tx| {
            tx.execute(
                "INSERT INTO reviews (sample_id, revision_id, reviewer, decision, reason, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![sample_id, revision_id, reviewer, decision.as_str(), reason, created_at],
            )?;
            let id = tx.last_insert_rowid();
            let status = current_status(tx, sample_id)?;
            let changed = tx.execute(
                "UPDATE samples SET status = ?1 WHERE id = ?2",
                params![status.as_str(), sample_id],
            )?;
            if changed == 0 {
                return Err(StoreError::not_found(format!("sample {sample_id}")));
            }
            Ok(id)
        })?;
        Ok(Review {
            id,
            sample_id,
            revision_id,
            reviewer: reviewer.to_string(),
            decision,
            reason: reason.to_string(),
            created_at,
        })
    }

    /// Every review of a sample, oldest first.
    pub fn reviews(&self, sample_id: i64) -> Result<Vec<Review>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, revision_id, reviewer, decision, reason, created_at FROM reviews
             WHERE sample_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([sample_id], |r| {
            let decision: String = r.get(3)?;
            Ok(Review {
                id: r.get(0)?,
                sample_id,
                revision_id: r.get(1)?,
                reviewer: r.get(2)?,
                decision: Decision::parse(&decision).unwrap_or(Decision::Flag),
                reason: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a verdict on a revision and refreshes the sample's verdict summary.
    pub fn add_verdict(&mut self, revision_id: i64, v: &NewVerdict) -> Result<Verdict> {
        let created_at = now();
        let id = self.write(|tx| insert_verdict(tx, revision_id, v, &created_at))?;
        Ok(Verdict {
            id,
            revision_id,
            verifier: v.verifier.clone(),
            model: v.model.clone(),
            passed: v.passed,
            score: v.score,
            rationale: v.rationale.clone(),
            first_wrong_step: v.first_wrong_step,
            created_at,
        })
    }

    /// Every verdict on a revision, oldest first.
    pub fn verdicts(&self, revision_id: i64) -> Result<Vec<Verdict>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, verifier, model, passed, score, rationale, first_wrong_step, created_at
             FROM verdicts WHERE revision_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([revision_id], |r| {
            Ok(Verdict {
                id: r.get(0)?,
                revision_id,
                verifier: r.get(1)?,
                model: r.get(2)?,
                passed: r.get(3)?,
                score: r.get(4)?,
                rationale: r.get(5)?,
                first_wrong_step: r.get(6)?,
                created_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Inserts a verdict and refreshes the summary of the sample whose head it judges.
pub(crate) fn insert_verdict(
    tx: &Transaction<'_>,
    revision_id: i64,
    v: &NewVerdict,
    created_at: &str,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO verdicts (revision_id, verifier, model, passed, score, rationale,
             first_wrong_step, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            revision_id,
            v.verifier,
            v.model,
            v.passed,
            v.score,
            v.rationale,
            v.first_wrong_step,
            created_at
        ],
    )?;
    let id = tx.last_insert_rowid();
    let passes: Vec<bool> = tx
        .prepare_cached("SELECT passed FROM verdicts WHERE revision_id = ?1")?
        .query_map([revision_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute(
        "UPDATE samples SET verdict = ?1 WHERE head_revision_id = ?2",
        params![VerdictSummary::of(passes).as_str(), revision_id],
    )?;
    Ok(id)
}

/// The status that a sample's reviews add up to: each reviewer's latest standing decision (a
/// retract cancels that reviewer's previous one), and across reviewers the most recent.
fn current_status(tx: &Transaction<'_>, sample_id: i64) -> Result<ReviewStatus> {
    let mut stmt = tx.prepare_cached(
        "SELECT reviewer, decision FROM reviews WHERE sample_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([sample_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    // A stack of standing decisions: retract pops the reviewer's latest.
    let mut standing: Vec<(String, ReviewStatus)> = Vec::new();
    for row in rows {
        let (reviewer, decision) = row?;
        match Decision::parse(&decision) {
            Some(Decision::Retract) => {
                if let Some(pos) = standing.iter().rposition(|(r, _)| *r == reviewer) {
                    standing.remove(pos);
                }
            }
            Some(d) => {
                if let Some(status) = ReviewStatus::from_decision(d) {
                    standing.push((reviewer, status));
                }
            }
            None => {}
        }
    }
    Ok(standing
        .last()
        .map(|(_, s)| *s)
        .unwrap_or(ReviewStatus::Unreviewed))
}
