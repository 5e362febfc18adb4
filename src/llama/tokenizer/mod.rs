//! The one tokenizer abstraction of the llama runtime: what training encodes examples with and
//! evaluation decodes answers with, provided by a GGUF's own tokenizer (`gguf`), a Hugging
//! Face `tokenizer.json`, and the byte-level tokenizer of tests and tiny models (`bytes`).

pub mod bytes;
pub mod gguf;

pub use bytes::ByteTokenizer;
pub use gguf::{GgufTokenizer, StreamDecoder, TokenizerError};

use super::error::{LlamaError, Result};

/// Text to ids and back, with the special tokens of the chat template.
pub trait TextTokenizer: Send + Sync {
    /// Ids of plain text (special-token strings inside it are not treated as special).
    fn encode(&self, text: &str) -> Result<Vec<u32>>;
    /// The id of a special token such as `<|im_start|>`.
    fn special(&self, token: &str) -> Option<u32>;
    /// The text of `ids`, special tokens left out.
    fn decode(&self, ids: &[u32]) -> Result<String>;
}

/// A Hugging Face `tokenizer.json` (as shipped in a model folder) serves as is; special tokens
/// come from its added-token table.
impl TextTokenizer for tokenizers::Tokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = (**self)
            .encode(text, false)
            .map_err(|e| LlamaError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }
    fn special(&self, token: &str) -> Option<u32> {
        self.token_to_id(token)
    }
    fn decode(&self, ids: &[u32]) -> Result<String> {
        (**self)
            .decode(ids, true)
            .map_err(|e| LlamaError::Tokenizer(e.to_string()))
    }
}

/// The tokenizer read from a GGUF file (the offline model's), so that training and evaluation
/// use exactly the ids inference uses.
impl TextTokenizer for GgufTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        GgufTokenizer::encode(self, text).map_err(|e| LlamaError::Tokenizer(e.to_string()))
    }
    fn special(&self, token: &str) -> Option<u32> {
        self.token_id(token)
    }
    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(GgufTokenizer::decode(self, ids))
    }
}
