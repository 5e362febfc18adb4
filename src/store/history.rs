//! A sample's whole review history, revision by revision: what each revision holds, whether it
//! was a regenerated candidate (and what became of it), the verifiers' verdicts on it and what
//! the decisions made on it add up to. The preference exports (DPO pairs, KTO labels, stepwise
//! labels) are read from this: they are made of what reviewers decided on each revision, not
//! only on the head.

use super::reviews::standing_status;
use super::{Result, Store};
use crate::model::{ReviewStatus, Revision, SampleKind, Verdict};
use rusqlite::params;

/// What became of a regenerated revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateState {
    /// Still waiting beside the head.
    Pending,
    /// A reviewer kept the original instead.
    Declined,
    /// A reviewer took it (it became the head at the time).
    Taken,
}

/// One revision of a sample with everything decided on it.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionHistory {
    pub revision: Revision,
    /// None for an edit, an import or a generation; set for a regenerated candidate.
    pub candidate: Option<CandidateState>,
    pub verdicts: Vec<Verdict>,
    /// What the standing decisions on exactly this revision add up to.
    pub status: ReviewStatus,
}

/// A sample's history: its head and every revision, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleHistory {
    pub sample_id: i64,
    pub kind: SampleKind,
    pub head_revision_id: i64,
    pub revisions: Vec<RevisionHistory>,
}

impl SampleHistory {
    pub fn head(&self) -> Option<&RevisionHistory> {
        self.revisions
            .iter()
            .find(|r| r.revision.id == self.head_revision_id)
    }
}

impl Store {
    /// The history of sample `sample_id`.
    pub fn sample_history(&self, sample_id: i64) -> Result<SampleHistory> {
        let record = self.sample(sample_id)?;
        let revisions = self.revisions(sample_id)?;
        let reviews = self.reviews(sample_id)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, candidate FROM revisions WHERE sample_id = ?1")?;
        let states: Vec<(i64, Option<String>)> = stmt
            .query_map(params![sample_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(revisions.len());
        for revision in revisions {
            let candidate = states
                .iter()
                .find(|(id, _)| *id == revision.id)
                .and_then(|(_, s)| match s.as_deref() {
                    Some("pending") => Some(CandidateState::Pending),
                    Some("declined") => Some(CandidateState::Declined),
                    Some(_) => Some(CandidateState::Taken),
                    None => None,
                });
            let status = standing_status(
                reviews
                    .iter()
                    .filter(|r| r.revision_id == revision.id)
                    .map(|r| (r.reviewer.as_str(), r.decision, r.adjudicates)),
            );
            let verdicts = self.verdicts(revision.id)?;
            out.push(RevisionHistory {
                revision,
                candidate,
                verdicts,
                status,
            });
        }
        Ok(SampleHistory {
            sample_id,
            kind: record.kind,
            head_revision_id: record.head.id,
            revisions: out,
        })
    }
}
