//! Reviews and verdicts. Each write also updates the sample's denormalised status or verdict
//! summary in the same transaction, so a decision the screen shows as done is committed whole.
//!
//! A decision binds to the revision the reviewer saw: it is refused (`StoreError::Stale`) when
//! that is no longer the head, checked inside the write transaction. A sample's status is what
//! the standing decisions **on its head revision** add up to, so any new head (an edit, a
//! regeneration taken, a revert) makes it follow the content: unreviewed until someone decides
//! on exactly that content, or the status earlier decisions gave that very revision.

use super::{Result, Store, StoreError};
use crate::model::{Decision, NewVerdict, Review, ReviewStatus, Verdict, VerdictSummary, now};
use rusqlite::{OptionalExtension, Transaction, params};

/// A decision as a reviewer makes it: on `revision_id`, the revision they were shown.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionInput<'a> {
    pub sample_id: i64,
    /// For accept, reject and flag: the head the reviewer saw (refused if it is no longer the
    /// head). For a retract: the revision of the decision being taken back.
    pub revision_id: i64,
    pub reviewer: &'a str,
    pub decision: Decision,
    pub reason: &'a str,
    /// An adjudication: settles the standing decisions made before it on this revision.
    pub adjudicates: bool,
}

/// A committed decision and what it did to the sample's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub review: Review,
    /// The status before and after: counts shown elsewhere are moved by one, not recounted.
    pub before: ReviewStatus,
    pub status: ReviewStatus,
}

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
        Ok(self
            .decide(&DecisionInput {
                sample_id,
                revision_id,
                reviewer,
                decision,
                reason,
                adjudicates: false,
            })?
            .review)
    }

    /// Records a decision, checking inside the write transaction that it is made on the head
    /// revision (retracts excepted), and refreshes the sample's status in the same commit.
    pub fn decide(&mut self, d: &DecisionInput<'_>) -> Result<Decided> {
        let created_at = now();
        let (id, before, status) = self.write(|tx| decide_in(tx, d, None, &created_at))?;
        Ok(Decided {
            review: Review {
                id,
                sample_id: d.sample_id,
                revision_id: d.revision_id,
                reviewer: d.reviewer.to_string(),
                decision: d.decision,
                reason: d.reason.to_string(),
                adjudicates: d.adjudicates,
                created_at,
            },
            before,
            status,
        })
    }

    /// Records many decisions made by the rule `rule` (a search query) in one commit (one
    /// fsync, not one per sample), each checked as [`Store::decide`] checks it. A stale one is
    /// skipped, not fatal: the others are committed. Returns how many were committed and how
    /// many were refused as stale. The audit does not count these decisions.
    pub fn decide_by_rule(
        &mut self,
        ds: &[DecisionInput<'_>],
        rule: &str,
    ) -> Result<(usize, usize)> {
        let created_at = now();
        self.write(|tx| {
            let (mut done, mut stale) = (0, 0);
            for d in ds {
                match decide_in(tx, d, Some(rule), &created_at) {
                    Ok(_) => done += 1,
                    Err(StoreError::Stale { .. }) => stale += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok((done, stale))
        })
    }

    /// Every review of a sample, oldest first.
    pub fn reviews(&self, sample_id: i64) -> Result<Vec<Review>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, revision_id, reviewer, decision, reason, adjudicates, created_at
             FROM reviews WHERE sample_id = ?1 ORDER BY id",
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
                adjudicates: r.get(5)?,
                created_at: r.get(6)?,
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
    tx.execute(
        "UPDATE samples SET verdict = ?1,
             score = (SELECT min(ifnull(score, passed)) FROM verdicts WHERE revision_id = ?2)
         WHERE head_revision_id = ?2",
        params![verdict_summary(tx, revision_id)?.as_str(), revision_id],
    )?;
    Ok(id)
}

/// What the verdicts on a revision add up to.
pub(crate) fn verdict_summary(tx: &Transaction<'_>, revision_id: i64) -> Result<VerdictSummary> {
    let passes: Vec<bool> = tx
        .prepare_cached("SELECT passed FROM verdicts WHERE revision_id = ?1")?
        .query_map([revision_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(VerdictSummary::of(passes))
}

fn head_and_status(tx: &Transaction<'_>, sample_id: i64) -> Result<(i64, ReviewStatus)> {
    tx.query_row(
        "SELECT head_revision_id, status FROM samples WHERE id = ?1",
        [sample_id],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )
    .optional()?
    .map(|(head, s)| {
        (
            head,
            ReviewStatus::parse(&s).unwrap_or(ReviewStatus::Unreviewed),
        )
    })
    .ok_or_else(|| StoreError::not_found(format!("sample {sample_id}")))
}

fn revision_number(tx: &Transaction<'_>, revision_id: i64) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT number FROM revisions WHERE id = ?1",
        [revision_id],
        |r| r.get(0),
    )?)
}

/// Recomputes the sample's status from the decisions on its head revision and stores it.
pub(crate) fn refresh_status(tx: &Transaction<'_>, sample_id: i64) -> Result<ReviewStatus> {
    let (head, before) = head_and_status(tx, sample_id)?;
    let mut stmt = tx.prepare_cached(
        "SELECT reviewer, decision, adjudicates FROM reviews WHERE revision_id = ?1 ORDER BY id",
    )?;
    let events = stmt
        .query_map([head], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let status = standing_status(
        events
            .iter()
            .filter_map(|(who, d, adj)| Decision::parse(d).map(|d| (who.as_str(), d, *adj))),
    );
    if status != before {
        tx.execute(
            "UPDATE samples SET status = ?1 WHERE id = ?2",
            params![status.as_str(), sample_id],
        )?;
    }
    Ok(status)
}

/// One decision inside a write transaction: refused when `d` was made on a revision that is no
/// longer the head (retracts excepted); the sample's status is refreshed in the same commit.
fn decide_in(
    tx: &rusqlite::Transaction<'_>,
    d: &DecisionInput<'_>,
    rule: Option<&str>,
    created_at: &str,
) -> Result<(i64, ReviewStatus, ReviewStatus)> {
    let (head, before) = head_and_status(tx, d.sample_id)?;
    if d.decision != Decision::Retract && d.revision_id != head {
        return Err(StoreError::Stale {
            sample_id: d.sample_id,
            seen: revision_number(tx, d.revision_id)?,
            head: revision_number(tx, head)?,
        });
    }
    tx.execute(
        "INSERT INTO reviews (sample_id, revision_id, reviewer, decision, reason,
             adjudicates, created_at, rule) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            d.sample_id,
            d.revision_id,
            d.reviewer,
            d.decision.as_str(),
            d.reason,
            d.adjudicates,
            created_at,
            rule
        ],
    )?;
    let id = tx.last_insert_rowid();
    let status = refresh_status(tx, d.sample_id)?;
    Ok((id, before, status))
}

/// The status that decisions on one revision add up to, oldest first as (reviewer, decision,
/// adjudicates):
/// - a retract takes back that reviewer's latest standing decision;
/// - the latest standing adjudication settles everything before it;
/// - each reviewer counts with their latest standing decision;
/// - an accept and a reject standing from different reviewers are a conflict;
/// - a flag newer than every standing accept or reject keeps the sample flagged (pending); an
///   older one was answered by the decision after it.
pub fn standing_status<'a>(
    decisions: impl IntoIterator<Item = (&'a str, Decision, bool)>,
) -> ReviewStatus {
    // (reviewer, status, adjudicates, still standing)
    let mut events: Vec<(&str, ReviewStatus, bool, bool)> = Vec::new();
    for (who, decision, adjudicates) in decisions {
        match ReviewStatus::from_decision(decision) {
            Some(status) => events.push((who, status, adjudicates, true)),
            None => {
                if let Some(e) = events.iter_mut().rev().find(|e| e.0 == who && e.3) {
                    e.3 = false;
                }
            }
        }
    }
    let start = events.iter().rposition(|e| e.3 && e.2).unwrap_or(0);
    // Each reviewer's latest standing decision, with its position.
    let mut latest: Vec<(&str, ReviewStatus, usize)> = Vec::new();
    for (i, e) in events.iter().enumerate().skip(start).filter(|(_, e)| e.3) {
        match latest.iter_mut().find(|l| l.0 == e.0) {
            Some(l) => *l = (e.0, e.1, i),
            None => latest.push((e.0, e.1, i)),
        }
    }
    let last_of = |s: ReviewStatus| latest.iter().filter(|l| l.1 == s).map(|l| l.2).max();
    let accepted = last_of(ReviewStatus::Accepted);
    let rejected = last_of(ReviewStatus::Rejected);
    let flagged = last_of(ReviewStatus::Flagged);
    let decisive = match (accepted, rejected) {
        (Some(_), Some(_)) => return ReviewStatus::Conflict,
        (Some(i), None) => Some((i, ReviewStatus::Accepted)),
        (None, Some(i)) => Some((i, ReviewStatus::Rejected)),
        (None, None) => None,
    };
    match (flagged, decisive) {
        (Some(f), Some((d, _))) if f > d => ReviewStatus::Flagged,
        (_, Some((_, s))) => s,
        (Some(_), None) => ReviewStatus::Flagged,
        (None, None) => ReviewStatus::Unreviewed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use ReviewStatus as S;

    fn status(ds: &[(&'static str, Decision)]) -> ReviewStatus {
        standing_status(ds.iter().map(|(w, d)| (*w, *d, false)))
    }

    #[test]
    fn standing_decisions() {
        assert_eq!(status(&[]), S::Unreviewed);
        assert_eq!(status(&[("a", Accept)]), S::Accepted);
        assert_eq!(status(&[("a", Accept), ("a", Reject)]), S::Rejected);
        assert_eq!(
            status(&[("a", Accept), ("a", Reject), ("a", Retract)]),
            S::Accepted
        );
        assert_eq!(status(&[("a", Accept), ("a", Retract)]), S::Unreviewed);
        assert_eq!(status(&[("a", Accept), ("b", Reject)]), S::Conflict);
        assert_eq!(status(&[("a", Accept), ("b", Accept)]), S::Accepted);
        assert_eq!(status(&[("a", Flag)]), S::Flagged);
        assert_eq!(status(&[("a", Flag), ("b", Accept)]), S::Accepted);
        assert_eq!(status(&[("a", Accept), ("b", Flag)]), S::Flagged);
        assert_eq!(
            status(&[("a", Accept), ("b", Reject), ("b", Retract)]),
            S::Accepted
        );
        // Another reviewer's retract takes back nothing of a's.
        assert_eq!(status(&[("a", Accept), ("b", Retract)]), S::Accepted);
    }

    #[test]
    fn adjudication_settles_what_came_before() {
        let ds = [
            ("a", Accept, false),
            ("b", Reject, false),
            ("c", Reject, true),
        ];
        assert_eq!(standing_status(ds), S::Rejected);
        let undone = [
            ("a", Accept, false),
            ("b", Reject, false),
            ("c", Reject, true),
            ("c", Retract, false),
        ];
        assert_eq!(standing_status(undone), S::Conflict);
        let after = [
            ("a", Accept, false),
            ("c", Reject, true),
            ("a", Accept, false),
        ];
        assert_eq!(standing_status(after), S::Conflict);
    }
}
