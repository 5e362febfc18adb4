//! Which verifiers apply to a sample: the one policy that `assay verify`, its judge job and
//! regenerate-and-verify all follow, and the verdicts of the verifiers that need no model.

use super::{golden, trajectory};
use crate::model::NewVerdict;
use crate::model::{Content, SampleKind};
use serde::Serialize;

/// A verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    Golden,
    Judge,
    Trajectory,
}

/// The verifiers that apply to a sample of `kind` with `content`, in the order they run:
/// golden match when it has a golden answer and an answer, trajectory checks for agent
/// trajectories, the LLM judge when there is an answer to judge (pre-training text has none).
pub fn applicable(kind: SampleKind, content: &Content) -> Vec<Which> {
    let answered = content.answer_turn().is_some();
    let golden = content
        .golden
        .as_deref()
        .is_some_and(|g| !g.trim().is_empty());
    let mut out = Vec::new();
    if golden && answered {
        out.push(Which::Golden);
    }
    if kind == SampleKind::AgentTrajectory {
        out.push(Which::Trajectory);
    }
    if kind != SampleKind::Pretrain && answered {
        out.push(Which::Judge);
    }
    out
}

/// The verdict of `which` on `content` when it needs no model and applies; `None` for the
/// judge (it asks a model) and for a verifier that does not apply.
pub fn direct_verdict(which: Which, kind: SampleKind, content: &Content) -> Option<NewVerdict> {
    if !applicable(kind, content).contains(&which) {
        return None;
    }
    match which {
        Which::Golden => golden::verdict(content),
        Which::Trajectory => Some(trajectory::verdict(content)),
        Which::Judge => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Turn;

    fn content(golden: Option<&str>, answer: bool) -> Content {
        let mut turns = vec![Turn::user("1+1?")];
        if answer {
            turns.push(Turn::assistant("2"));
        }
        Content {
            turns,
            golden: golden.map(String::from),
            ..Content::default()
        }
    }

    #[test]
    fn the_policy_follows_kind_golden_and_answer() {
        use Which::*;
        let qa = SampleKind::Qa;
        assert_eq!(
            applicable(qa, &content(Some("2"), true)),
            vec![Golden, Judge]
        );
        assert_eq!(applicable(qa, &content(Some(" "), true)), vec![Judge]);
        assert_eq!(
            applicable(qa, &content(Some("2"), false)),
            Vec::<Which>::new()
        );
        let agent = SampleKind::AgentTrajectory;
        assert_eq!(
            applicable(agent, &content(None, true)),
            vec![Trajectory, Judge]
        );
        assert_eq!(
            applicable(SampleKind::Pretrain, &content(None, true)),
            vec![]
        );
        assert!(direct_verdict(Golden, qa, &content(Some("2"), true)).is_some_and(|v| v.passed));
        assert!(direct_verdict(Trajectory, qa, &content(None, true)).is_none());
        assert!(direct_verdict(Judge, qa, &content(Some("2"), true)).is_none());
    }
}
