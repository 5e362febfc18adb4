//! Which step of a sample's head revision to mark as the first wrong one. A verdict names a step
//! of the revision it judged; `gen cot` judges revision 1 (the direct attempt) and stores the
//! repaired solution as revision 2, so the head itself often carries no first wrong step. This
//! carries the newest one any verdict named onto the head, by the one step splitter
//! ([`crate::prompting::steps`], through [`judge::judged_steps`]): the same step text where the
//! head still has it, else the step at that position when the head keeps the steps before it
//! (where the repair began). The review screen calls this instead of reading verdicts itself.

use crate::model::{Content, Revision, Verdict};
use crate::prompting::judge;
use crate::prompting::steps::step_key as dedup_key;

/// The first wrong step to show on a head revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstWrong {
    /// 1-based, in the head's steps.
    pub step: u32,
    /// The verifier that named it.
    pub verifier: String,
    /// The revision the verdict judged (the head's own, or an earlier one).
    pub revision_id: i64,
    pub revision_number: i64,
    /// Whether the head still holds the step the verdict named (false: the head replaced it,
    /// and `step` is where the replacement begins).
    pub same_text: bool,
}

/// The first wrong step to highlight on `head`, given the sample's `revisions` (in number
/// order, candidates included) and a way to read a revision's verdicts. Only `head` and the
/// revisions numbered before it are looked at: a pending candidate is not the head, and after a
/// revert the head is an older revision. None when no verdict named a step or it cannot be
/// placed on the head.
pub fn first_wrong_on_head<E>(
    head: &Revision,
    revisions: &[Revision],
    mut verdicts_of: impl FnMut(i64) -> Result<Vec<Verdict>, E>,
) -> Result<Option<FirstWrong>, E> {
    let head_steps = judge::judged_steps(&head.content);
    let earlier = revisions.iter().filter(|r| r.number < head.number).rev();
    for rev in std::iter::once(head).chain(earlier) {
        let verdicts = verdicts_of(rev.id)?;
        let Some((k, verifier)) = newest_named(&verdicts) else {
            continue;
        };
        if let Some((step, same_text)) = place(&rev.content, k, &head_steps) {
            return Ok(Some(FirstWrong {
                step,
                verifier,
                revision_id: rev.id,
                revision_number: rev.number,
                same_text,
            }));
        }
    }
    Ok(None)
}

/// The newest failing verdict's first wrong step and its verifier.
fn newest_named(verdicts: &[Verdict]) -> Option<(u32, String)> {
    verdicts
        .iter()
        .rev()
        .filter(|v| !v.passed)
        .find_map(|v| v.first_wrong_step.map(|s| (s, v.verifier.clone())))
}

/// Step `k` of `judged` placed on `head`: (index in head, whether the text is the same).
fn place(judged: &Content, k: u32, head: &[String]) -> Option<(u32, bool)> {
    let steps = judge::judged_steps(judged);
    let wrong = steps.get((k as usize).checked_sub(1)?)?;
    let key = dedup_key(wrong);
    if let Some(i) = head.iter().position(|s| dedup_key(s) == key) {
        return Some((i as u32 + 1, true));
    }
    let before = &steps[..k as usize - 1];
    let kept = head.len() >= k as usize
        && before
            .iter()
            .zip(head)
            .all(|(a, b)| dedup_key(a) == dedup_key(b));
    kept.then_some((k, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Turn;

    fn cot(steps: &str) -> Content {
        Content {
            turns: vec![
                Turn::user("q"),
                Turn::assistant("答案是 5").with_reasoning(steps),
            ],
            ..Content::default()
        }
    }

    #[test]
    fn a_step_is_placed_by_text_or_by_the_kept_prefix() {
        let judged = cot("1. a=2\n2. b=4\n3. a+b=7");
        let head = judge::judged_steps(&cot("1. a=2\n2. b=4\n3. a+b=6"));
        // Step 3 was replaced: the head keeps steps 1-2, so its step 3 is where the repair began.
        assert_eq!(place(&judged, 3, &head), Some((3, false)));
        // Step 2 is still in a head that dropped step 1.
        let head = judge::judged_steps(&cot("1. b=4\n2. a+b=6"));
        let judged = cot("1. a=2\n2. b=4\n3. x");
        assert_eq!(place(&judged, 2, &head), Some((1, true)));
        // A head that shares nothing: not placed.
        let head = judge::judged_steps(&cot("1. z\n2. y"));
        assert_eq!(place(&judged, 3, &head), None);
        assert_eq!(place(&judged, 9, &head), None);
    }
}
