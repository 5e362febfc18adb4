//! A GGUF model's tokenizer, built from its own vocabulary and merges, and a streaming decoder.
//!
//! candle's `TokenizerFromGguf` does not know SmolLM2's `smollm` pre-tokenizer and falls back to
//! GPT-2's, which adds a prefix space and gives wrong ids; we set llama.cpp's rule (digits split
//! one by one, then byte-level without a prefix space). The streaming decoder is hand-written
//! because the tokenizers crate decodes whole sequences only: it turns each token into its raw
//! bytes and releases only complete UTF-8 characters, so a Chinese character split over two
//! tokens never reaches the screen half-made.

use candle_core::quantized::gguf_file;
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::Tokenizer;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;

/// A GGUF model's tokenizer plus the byte table the streaming decoder needs.
#[derive(Clone)]
pub struct GgufTokenizer {
    inner: Tokenizer,
    /// Raw bytes of each token id; special tokens have none (they are never shown).
    token_bytes: Vec<Vec<u8>>,
    /// Ids of special (control) tokens such as `<|im_end|>`.
    special: Vec<bool>,
}

/// Why the tokenizer could not be built or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("the GGUF tokenizer metadata is unusable: {0}")]
    Metadata(String),
    #[error("tokenizing failed: {0}")]
    Encode(String),
}

impl GgufTokenizer {
    /// Builds the tokenizer from the GGUF metadata (`tokenizer.ggml.*`).
    pub fn from_gguf(content: &gguf_file::Content) -> Result<Self, TokenizerError> {
        let mut inner =
            Tokenizer::from_gguf(content).map_err(|e| TokenizerError::Metadata(e.to_string()))?;
        let pre = content
            .metadata
            .get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
            .unwrap_or("");
        if pre == "smollm" {
            let seq: PreTokenizerWrapper = Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ])
            .into();
            inner.with_pre_tokenizer(Some(seq));
        }
        let tokens = content
            .metadata
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .ok_or_else(|| TokenizerError::Metadata("tokenizer.ggml.tokens is missing".into()))?;
        let types: Vec<u32> = content
            .metadata
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|a| a.iter().map(|v| v.to_u32().unwrap_or(1)).collect())
            .unwrap_or_default();
        let unicode_to_byte = unicode_to_byte_table();
        let mut token_bytes = Vec::with_capacity(tokens.len());
        let mut special = Vec::with_capacity(tokens.len());
        for (id, tok) in tokens.iter().enumerate() {
            let text = tok.to_string().map_err(|e| {
                TokenizerError::Metadata(format!("tokenizer.ggml.tokens[{id}]: {e}"))
            })?;
            // llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused.
            let ty = types.get(id).copied().unwrap_or(1);
            let is_special = ty == 3;
            special.push(is_special);
            if is_special {
                token_bytes.push(Vec::new());
            } else if ty == 4 {
                token_bytes.push(text.as_bytes().to_vec());
            } else {
                let mut bytes = Vec::with_capacity(text.len());
                for c in text.chars() {
                    match unicode_to_byte.get(&c) {
                        Some(b) => bytes.push(*b),
                        // Not a byte-level symbol: keep the character's own UTF-8.
                        None => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    }
                }
                token_bytes.push(bytes);
            }
        }
        Ok(Self {
            inner,
            token_bytes,
            special,
        })
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `dir`, so that a model folder
    /// made from this GGUF (a merged adapter) loads in transformers with the same ids. The end
    /// token is `<|im_end|>` where the vocabulary has it: ChatML turns end there (transformers'
    /// own GGUF conversion takes `<|im_start|>`, and generation then never stops).
    pub fn save_hf(
        &self,
        content: &gguf_file::Content,
        dir: &std::path::Path,
    ) -> Result<Vec<std::path::PathBuf>, TokenizerError> {
        let save_err = |what: &std::path::Path, e: String| {
            TokenizerError::Metadata(format!("cannot write {}: {e}", what.display()))
        };
        let tok_path = dir.join("tokenizer.json");
        self.inner
            .save(&tok_path, false)
            .map_err(|e| save_err(&tok_path, e.to_string()))?;
        let meta = |k: &str| content.metadata.get(k);
        let token = |id: Option<u32>| -> Option<String> { self.inner.id_to_token(id?) };
        let id_of = |k: &str| meta(k).and_then(|v| v.to_u32().ok());
        let eos = if self.inner.token_to_id("<|im_end|>").is_some() {
            Some("<|im_end|>".to_string())
        } else {
            token(id_of("tokenizer.ggml.eos_token_id"))
        };
        let mut cfg = serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "clean_up_tokenization_spaces": false,
            "model_max_length": meta("llama.context_length").and_then(|v| v.to_u32().ok()).unwrap_or(2048),
        });
        if let Some(b) = token(id_of("tokenizer.ggml.bos_token_id")) {
            cfg["bos_token"] = b.into();
        }
        if let Some(e) = eos {
            cfg["eos_token"] = e.clone().into();
            cfg["pad_token"] = e.into();
        }
        if let Some(t) = meta("tokenizer.chat_template").and_then(|v| v.to_string().ok()) {
            cfg["chat_template"] = t.clone().into();
        }
        let cfg_path = dir.join("tokenizer_config.json");
        std::fs::write(&cfg_path, cfg.to_string())
            .map_err(|e| save_err(&cfg_path, e.to_string()))?;
        Ok(vec![tok_path, cfg_path])
    }

    /// Token ids of `text`; special-token markup in the text (`<|im_start|>`) becomes its id.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            if let Some(b) = self.token_bytes.get(id as usize) {
                bytes.extend_from_slice(b);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The id of a token given by its text, e.g. `<|im_end|>`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Whether `id` is a control token (never shown).
    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(false)
    }

    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    /// The raw bytes token `id` stands for (none for a control token).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes_of(id)
    }

    /// The vocabulary's spelling of token `id`, e.g. `<|im_end|>` or `Ġthe`.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    fn bytes_of(&self, id: u32) -> &[u8] {
        self.token_bytes
            .get(id as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Turns a stream of token ids into text pieces made only of whole UTF-8 characters.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// Adds one token; returns the text that became complete, if any.
    pub fn push(&mut self, tok: &GgufTokenizer, id: u32) -> Option<String> {
        self.pending.extend_from_slice(tok.bytes_of(id));
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_some() => {
                // Invalid bytes (not just an unfinished character): the model produced a
                // broken sequence; show it as replacement characters rather than stall.
                let text = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                return Some(text);
            }
            Err(e) => e.valid_up_to(),
        };
        if valid == 0 {
            return None;
        }
        let rest = self.pending.split_off(valid);
        let done = std::mem::replace(&mut self.pending, rest);
        String::from_utf8(done).ok()
    }

    /// Whatever is left at the end (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        Some(text)
    }
}

/// GPT-2's byte-to-unicode table, inverted: printable bytes map to themselves, the others to
/// code points from U+0100 on, in byte order.
fn unicode_to_byte_table() -> std::collections::HashMap<char, u8> {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    let mut map = std::collections::HashMap::with_capacity(256);
    let mut next = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            let c = char::from_u32(256 + next).unwrap_or('\u{FFFD}');
            next += 1;
            c
        };
        map.insert(c, b);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        let t = unicode_to_byte_table();
        assert_eq!(t.len(), 256);
        assert_eq!(t[&'\u{120}'], b' ');
        assert_eq!(t[&'\u{10A}'], b'\n');
        assert_eq!(t[&'A'], b'A');
    }
}
