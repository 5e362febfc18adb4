//! Turning samples into training examples: the ChatML template used at inference
//! (`<|im_start|>role\n...<|im_end|>\n`), with a mask that marks assistant tokens, the only ones
//! the loss counts. The tokenizers themselves are the llama runtime's (`llama::tokenizer`).

use super::error::{Result, TrainError};
pub use crate::llama::tokenizer::{ByteTokenizer, TextTokenizer};
use crate::model::{Content, Role};

/// One tokenised conversation: `ids` and, for each id, whether the loss should predict it.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub ids: Vec<u32>,
    pub trained: Vec<bool>,
}

impl Example {
    pub fn trained_count(&self) -> usize {
        self.trained.iter().filter(|t| **t).count()
    }
}

/// The assistant text as trained: reasoning in `<think>` tags, then the answer, then tool calls.
fn assistant_text(turn: &crate::model::Turn) -> String {
    let mut s = String::new();
    if let Some(r) = &turn.reasoning {
        s.push_str("<think>");
        s.push_str(r);
        s.push_str("</think>\n");
    }
    s.push_str(&turn.content);
    for call in &turn.tool_calls {
        let json = serde_json::json!({"name": call.name, "arguments": call.arguments});
        s.push_str("\n<tool_call>");
        s.push_str(&json.to_string());
        s.push_str("</tool_call>");
    }
    s
}

/// Encodes a sample in ChatML, truncated to `max_len` ids. Returns `None` when nothing in it
/// would be trained (no assistant turn left after truncation).
pub fn encode_chatml(
    tok: &dyn TextTokenizer,
    content: &Content,
    max_len: usize,
) -> Result<Option<Example>> {
    let start = tok.special("<|im_start|>").ok_or_else(|| {
        TrainError::Tokenizer("no `<|im_start|>` token: not a ChatML tokenizer".into())
    })?;
    let end = tok.special("<|im_end|>").ok_or_else(|| {
        TrainError::Tokenizer("no `<|im_end|>` token: not a ChatML tokenizer".into())
    })?;
    let mut ids = Vec::new();
    let mut trained = Vec::new();
    let mut push = |ids_in: &[u32], train: bool| {
        ids.extend_from_slice(ids_in);
        trained.extend(std::iter::repeat_n(train, ids_in.len()));
    };
    if let Some(system) = &content.system {
        push(&[start], false);
        push(&tok.encode(&format!("system\n{system}"))?, false);
        push(&[end], false);
        push(&tok.encode("\n")?, false);
    }
    for turn in &content.turns {
        let role = turn.role.as_str();
        push(&[start], false);
        push(&tok.encode(&format!("{role}\n"))?, false);
        if turn.role == Role::Assistant {
            // The answer and its closing tag are learned; the newline after it is template.
            push(&tok.encode(&assistant_text(turn))?, true);
            push(&[end], true);
        } else {
            push(&tok.encode(&turn.content)?, false);
            push(&[end], false);
        }
        push(&tok.encode("\n")?, false);
    }
    ids.truncate(max_len);
    trained.truncate(max_len);
    let ex = Example { ids, trained };
    // Position 0 is never a target, so it does not count.
    if ex.trained.iter().skip(1).any(|t| *t) {
        Ok(Some(ex))
    } else {
        Ok(None)
    }
}
