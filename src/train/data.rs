//! Turning samples into training examples: the ChatML template used at inference
//! (`<|im_start|>role\n...<|im_end|>\n`), with a mask that marks assistant tokens, the only ones
//! the loss counts.

use super::error::{Result, TrainError};
use crate::model::{Content, Role};

/// What the trainer needs from a tokenizer; the SmolLM2 GGUF tokenizer and the byte-level test
/// tokenizer both provide it.
pub trait TextTokenizer: Send + Sync {
    /// Ids of plain text (special-token strings inside it are not treated as special).
    fn encode(&self, text: &str) -> Result<Vec<u32>>;
    /// The id of a special token such as `<|im_start|>`.
    fn special(&self, token: &str) -> Option<u32>;
}

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

/// A byte-level tokenizer: ids 0-255 are bytes, 256 is `<|im_start|>`, 257 `<|im_end|>`.
/// For tests and tiny models; vocabulary size [`ByteTokenizer::VOCAB`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteTokenizer;

impl ByteTokenizer {
    pub const VOCAB: usize = 258;
}

impl TextTokenizer for ByteTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(text.bytes().map(u32::from).collect())
    }
    fn special(&self, token: &str) -> Option<u32> {
        match token {
            "<|im_start|>" => Some(256),
            "<|im_end|>" => Some(257),
            _ => None,
        }
    }
}

/// A Hugging Face `tokenizer.json` (as shipped in a model folder) serves as is; special tokens
/// come from its added-token table.
impl TextTokenizer for tokenizers::Tokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = (**self)
            .encode(text, false)
            .map_err(|e| TrainError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }
    fn special(&self, token: &str) -> Option<u32> {
        self.token_to_id(token)
    }
}

/// The tokenizer read from a GGUF file (the offline model's), so that training uses exactly the
/// ids inference uses.
impl TextTokenizer for crate::llm::local::tokenizer::GgufTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        crate::llm::local::tokenizer::GgufTokenizer::encode(self, text)
            .map_err(|e| TrainError::Tokenizer(e.to_string()))
    }
    fn special(&self, token: &str) -> Option<u32> {
        self.token_id(token)
    }
}
