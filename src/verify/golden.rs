//! The golden-match verifier: a sample's answer against its golden answer, compared as
//! [`crate::prompting::answer_match`] compares them, as a verdict.

use crate::model::{Content, NewVerdict};
use crate::prompting::answer_match::answers_match;
use crate::prompting::extract::final_answer;

/// The verdict on a sample with a golden answer; None when it has none (or no answer).
pub fn verdict(content: &Content) -> Option<NewVerdict> {
    let golden = content.golden.as_deref().filter(|g| !g.trim().is_empty())?;
    let turn = content.answer_turn()?;
    let text = if turn.content.trim().is_empty() {
        turn.reasoning.clone().unwrap_or_default()
    } else {
        turn.content.clone()
    };
    let passed = answers_match(&text, golden);
    let said = final_answer(&text).unwrap_or_else(|| text.trim().chars().take(80).collect());
    Some(NewVerdict {
        verifier: "golden_match".into(),
        model: None,
        passed,
        score: Some(if passed { 1.0 } else { 0.0 }),
        rationale: format!("answer {said:?} vs golden {golden:?}"),
        first_wrong_step: None,
    })
}
