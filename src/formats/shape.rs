//! Whether a conversation can be one training example, the rule LLaMA-Factory's converter and
//! TRL's chat trainers apply: it starts with the user, user / tool turns alternate with
//! assistant turns, and it ends with an assistant's answer. A conversation that breaks it is
//! skipped with the reason instead of written broken (LLaMA-Factory drops such rows silently
//! and stops with "Cannot find valid samples" when none is left).

use super::Skip;
use crate::model::{Role, Turn};

fn name(t: &Turn) -> &'static str {
    match t.role {
        Role::Assistant if !t.tool_calls.is_empty() => "tool-call",
        r => r.as_str(),
    }
}

/// Checks the turns of a conversation (the golden answer already appended where it serves as
/// the answer).
pub fn check(turns: &[&Turn]) -> Result<(), Skip> {
    let Some(last) = turns.last() else {
        return Err("has no turns".into());
    };
    if let [only] = turns
        && only.role == Role::User
    {
        return Err("has a question but no answer".into());
    }
    for (i, t) in turns.iter().enumerate() {
        let ok = match (i % 2, t.role) {
            (0, Role::User) => true,
            (0, Role::Tool) => i > 0,
            (1, Role::Assistant) => true,
            _ => false,
        };
        if !ok {
            let want = match i {
                0 => "user",
                _ if i % 2 == 0 => "user or tool",
                _ => "assistant",
            };
            return Err(format!(
                "bad role order: turn {} is {} where {want} is expected",
                i + 1,
                name(t)
            ));
        }
        if t.role == Role::Tool && turns[i - 1].tool_calls.is_empty() {
            return Err(format!(
                "bad role order: turn {} is a tool result that answers no tool call",
                i + 1
            ));
        }
    }
    if last.role != Role::Assistant {
        return Err(format!(
            "odd message count: ends with a {} turn, not an answer",
            name(last)
        ));
    }
    if !last.tool_calls.is_empty() {
        return Err("ends with a tool call that no tool result follows".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolCall;

    fn call() -> Turn {
        Turn {
            tool_calls: vec![ToolCall {
                id: None,
                name: "f".into(),
                arguments: serde_json::json!({}),
            }],
            ..Turn::assistant("")
        }
    }

    fn check_of(turns: &[Turn]) -> Result<(), Skip> {
        check(&turns.iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_well_formed_conversation_passes() {
        let t = [
            Turn::user("q"),
            call(),
            Turn::new(Role::Tool, "r"),
            Turn::assistant("a"),
        ];
        assert_eq!(check_of(&t), Ok(()));
    }

    #[test]
    fn each_broken_shape_has_its_reason() {
        let q = Turn::user("q");
        let a = Turn::assistant("a");
        let cases: Vec<(Vec<Turn>, &str)> = vec![
            (vec![], "has no turns"),
            (vec![q.clone()], "question but no answer"),
            (vec![a.clone(), q.clone()], "turn 1 is assistant"),
            (vec![q.clone(), q.clone(), a.clone()], "turn 2 is user"),
            (vec![q.clone(), a.clone(), q.clone()], "odd message count"),
            (vec![q.clone(), call()], "tool call that no tool result"),
            (
                vec![q.clone(), a.clone(), Turn::new(Role::Tool, "r"), a.clone()],
                "answers no tool call",
            ),
        ];
        for (turns, want) in cases {
            let err = check_of(&turns).unwrap_err();
            assert!(err.contains(want), "{turns:?}: {err}");
        }
    }
}
