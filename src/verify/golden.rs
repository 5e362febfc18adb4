//! The golden-match verifier: a sample's answer against its golden answer, compared as
//! [`crate::prompting::answer_match`] compares them, as a verdict. An answer that states two
//! different final answers fails, and its rationale says it is ambiguous.

use crate::model::{Content, NewVerdict};
use crate::prompting::answer_match::judge_answer;

/// The verdict on a sample with a golden answer; None when it has none (or no answer).
pub fn verdict(content: &Content) -> Option<NewVerdict> {
    let golden = content.golden.as_deref().filter(|g| !g.trim().is_empty())?;
    let turn = content.answer_turn()?;
    let text = if turn.content.trim().is_empty() {
        turn.reasoning.clone().unwrap_or_default()
    } else {
        turn.content.clone()
    };
    let j = judge_answer(&text, golden);
    let passed = j.passed();
    Some(NewVerdict {
        verifier: "golden_match".into(),
        model: None,
        passed,
        score: Some(if passed { 1.0 } else { 0.0 }),
        rationale: j.rationale(golden),
        first_wrong_step: None,
    })
}
