//! Stored records: a sample or verdict to insert, its revisions, verdicts and reviews.

use super::{Content, SampleKind, SampleMeta, Source};
use serde::{Deserialize, Serialize};

/// A sample as a reader or generator produces it, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSample {
    pub kind: SampleKind,
    pub content: Content,
    pub source: Source,
    pub meta: SampleMeta,
}

/// One version of a sample's content. Edits add revisions; none is ever overwritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub id: i64,
    pub sample_id: i64,
    /// 1 for the imported or generated content, then 2, 3... per edit or regeneration.
    pub number: i64,
    pub content: Content,
    /// Who made it: `import`, a reviewer's name, or `gen:<pipeline>`.
    pub author: String,
    pub created_at: String,
}

/// A verifier's judgement of one revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub id: i64,
    pub revision_id: i64,
    /// `golden_match`, `llm_judge`, `trajectory`, ...
    pub verifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default)]
    pub rationale: String,
    /// 1-based index of the first wrong CoT step, where the verifier names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_wrong_step: Option<u32>,
    pub created_at: String,
}

/// A verdict to record, as a verifier produces it; the store adds its id and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVerdict {
    pub verifier: String,
    #[serde(default)]
    pub model: Option<String>,
    pub passed: bool,
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub first_wrong_step: Option<u32>,
}

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
    Flag,
    /// Takes back the reviewer's previous decision on the sample (undo); history is kept.
    Retract,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
            Decision::Flag => "flag",
            Decision::Retract => "retract",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accept" => Some(Decision::Accept),
            "reject" => Some(Decision::Reject),
            "flag" => Some(Decision::Flag),
            "retract" => Some(Decision::Retract),
            _ => None,
        }
    }
}

/// A review as stored: who decided what about which revision, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub id: i64,
    pub sample_id: i64,
    pub revision_id: i64,
    pub reviewer: String,
    pub decision: Decision,
    #[serde(default)]
    pub reason: String,
    /// An adjudication: settles every earlier standing decision on the revision.
    #[serde(default)]
    pub adjudicates: bool,
    pub created_at: String,
}

/// The review status of a sample: the effect of its latest decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Unreviewed,
    Accepted,
    Rejected,
    /// Marked for a second look: pending, neither reviewed nor a defect, until someone decides.
    Flagged,
    /// Two reviewers' standing decisions on the head revision disagree (one accepts, another
    /// rejects): pending until an adjudication (`assay audit adjudicate`) settles it.
    Conflict,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 5] = [
        ReviewStatus::Unreviewed,
        ReviewStatus::Accepted,
        ReviewStatus::Rejected,
        ReviewStatus::Flagged,
        ReviewStatus::Conflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Unreviewed => "unreviewed",
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Flagged => "flagged",
            ReviewStatus::Conflict => "conflict",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Decided for good: accepted or rejected (flagged and conflicting samples are pending).
    pub fn is_decided(self) -> bool {
        matches!(self, ReviewStatus::Accepted | ReviewStatus::Rejected)
    }

    pub fn from_decision(d: Decision) -> Option<Self> {
        match d {
            Decision::Accept => Some(ReviewStatus::Accepted),
            Decision::Reject => Some(ReviewStatus::Rejected),
            Decision::Flag => Some(ReviewStatus::Flagged),
            Decision::Retract => None,
        }
    }
}

/// The verdicts on a sample's head revision, summed up for lists and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictSummary {
    /// No verdict yet.
    None,
    Pass,
    Fail,
    /// Verifiers disagree.
    Mixed,
}

impl VerdictSummary {
    pub const ALL: [VerdictSummary; 4] = [
        VerdictSummary::None,
        VerdictSummary::Pass,
        VerdictSummary::Fail,
        VerdictSummary::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerdictSummary::None => "none",
            VerdictSummary::Pass => "pass",
            VerdictSummary::Fail => "fail",
            VerdictSummary::Mixed => "mixed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Sums up pass/fail flags of the verdicts on one revision.
    pub fn of(passes: impl IntoIterator<Item = bool>) -> Self {
        let (mut pass, mut fail) = (false, false);
        for p in passes {
            if p { pass = true } else { fail = true }
        }
        match (pass, fail) {
            (false, false) => VerdictSummary::None,
            (true, false) => VerdictSummary::Pass,
            (false, true) => VerdictSummary::Fail,
            (true, true) => VerdictSummary::Mixed,
        }
    }
}
