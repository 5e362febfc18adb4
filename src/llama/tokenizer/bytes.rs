//! A byte-level tokenizer for tests and tiny models: no vocabulary file, every text encodes.

use super::TextTokenizer;
use crate::llama::error::Result;

/// Ids 0-255 are bytes, 256 is `<|im_start|>`, 257 `<|im_end|>`; vocabulary size
/// [`ByteTokenizer::VOCAB`].
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
    fn decode(&self, ids: &[u32]) -> Result<String> {
        let bytes: Vec<u8> = ids.iter().filter_map(|&i| u8::try_from(i).ok()).collect();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
