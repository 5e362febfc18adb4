//! Reasoning a model returns beside its answer: in a separate field of the response
//! (`reasoning_content`, `reasoning`, read by the LLM layer) or inline as `<think>…</think>`
//! before the answer. Either way it becomes the sample's reasoning, not part of its answer, for
//! every pipeline and for imports.

use crate::llm::ChatResponse;

/// `text` split into its `<think>` reasoning and the rest: (reasoning, answer). A reply that
/// opens with a closing tag only (the opening one was in the chat template) counts too; without
/// a block, there is no reasoning and the text is unchanged.
pub fn split_think(text: &str) -> (Option<String>, String) {
    let trimmed = text.trim_start();
    let (inside, rest) = if let Some(after) = trimmed.strip_prefix("<think>") {
        match after.find("</think>") {
            Some(p) => (&after[..p], &after[p + "</think>".len()..]),
            // Unclosed: all of it is reasoning, nothing is an answer.
            None => (after, ""),
        }
    } else if let Some(p) = trimmed.find("</think>")
        && !trimmed[..p].contains("<think>")
    {
        (&trimmed[..p], &trimmed[p + "</think>".len()..])
    } else {
        return (None, text.to_string());
    };
    let inside = inside.trim();
    (
        (!inside.is_empty()).then(|| inside.to_string()),
        rest.trim().to_string(),
    )
}

/// A response with inline reasoning moved out of its text (joined after any the provider sent
/// in its own field).
pub fn separate(mut r: ChatResponse) -> ChatResponse {
    let (inline, text) = split_think(&r.text);
    if let Some(inline) = inline {
        r.reasoning = Some(match r.reasoning.take() {
            Some(field) if !field.trim().is_empty() => format!("{}\n{inline}", field.trim()),
            _ => inline,
        });
    }
    r.text = text;
    r
}

/// The text a pipeline reads steps from: the answer, or the provider's reasoning and the
/// answer when the answer alone holds no working (reasoning models put the steps there).
pub fn working(r: &ChatResponse) -> String {
    match &r.reasoning {
        Some(reasoning) if super::steps::split_steps(&r.text).len() <= 1 => {
            format!("{reasoning}\n{}", r.text)
        }
        _ => r.text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_blocks_become_reasoning() {
        assert_eq!(
            split_think("<think>先算 2+2。</think>\n答案是 4"),
            (Some("先算 2+2。".into()), "答案是 4".into())
        );
        assert_eq!(
            split_think("I reason here</think>The answer is 4"),
            (Some("I reason here".into()), "The answer is 4".into())
        );
        assert_eq!(
            split_think("<think>never closed"),
            (Some("never closed".into()), String::new())
        );
        assert_eq!(split_think("plain answer"), (None, "plain answer".into()));
        assert_eq!(split_think("<think></think>x"), (None, "x".into()));
    }

    #[test]
    fn field_and_inline_reasoning_are_joined() {
        let r = ChatResponse {
            text: "<think>inline</think>42".into(),
            model: "m".into(),
            usage: Default::default(),
            finish_reason: Some("stop".into()),
            reasoning: Some("field".into()),
        };
        let r = separate(r);
        assert_eq!(r.text, "42");
        assert_eq!(r.reasoning.as_deref(), Some("field\ninline"));
    }
}
