//! Sampling under a JSON schema: before each token, the tokens that would break the schema are
//! masked out of the logits, so the local model's reply to a verifier prompt is JSON that parses.
//!
//! A 135M-parameter model asked for `{"correct": ..., "score": ..., "reason": ...}` mostly
//! restates the steps instead; constrained, it can only fill in the values. The grammar engine
//! is llguidance (Microsoft's; llama.cpp, vLLM and SGLang use it), not hand-written: it compiles
//! JSON Schema to an Earley grammar over bytes and walks a trie of the vocabulary's token bytes to
//! compute each step's mask. Its vocabulary is built here from the GGUF tokenizer's own token
//! bytes, with control tokens marked the way llguidance expects (`0xFF` then the token's text),
//! so no control token but the end of turn can be drawn inside the JSON, and that one only once
//! the object is done.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};

use crate::llama::GgufTokenizer;
use crate::llm::LlmError;

/// The model's vocabulary as llguidance sees it.
struct Vocabulary {
    trie: TokTrie,
    tokenizer: GgufTokenizer,
}

impl TokenizerEnv for Vocabulary {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        self.trie.tokenize_with_greedy_fallback(s, |text| {
            self.tokenizer.encode(text).unwrap_or_default()
        })
    }
}

fn grammar_err(what: impl std::fmt::Display) -> LlmError {
    LlmError::Request {
        message: format!("local model, JSON constraint: {what}"),
        retryable: false,
    }
}

/// Compiles schemas against one model's vocabulary (built once per loaded model).
pub struct Grammars {
    factory: ParserFactory,
    end_of_turn: u32,
}

impl Grammars {
    /// The vocabulary of `tokenizer`; `end_of_turn` is the token that ends a finished reply.
    pub fn new(tokenizer: &GgufTokenizer, end_of_turn: u32) -> Result<Self, LlmError> {
        let n = tokenizer.vocab_size();
        let words: Vec<Vec<u8>> = (0..n)
            .map(|id| {
                let id = u32::try_from(id).unwrap_or(u32::MAX);
                if tokenizer.is_special(id) {
                    let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                    w.extend_from_slice(tokenizer.token_text(id).unwrap_or_default().as_bytes());
                    w
                } else {
                    tokenizer.token_bytes(id).to_vec()
                }
            })
            .collect();
        let vocab_size = u32::try_from(n).map_err(|_| grammar_err("the vocabulary is too big"))?;
        let info = TokRxInfo::new(vocab_size, end_of_turn);
        // The trie builder asserts its invariants; a vocabulary that breaks them is an error
        // here, not a crash of the engine's thread.
        let trie = std::panic::catch_unwind(AssertUnwindSafe(|| TokTrie::from(&info, &words)))
            .map_err(|_| grammar_err("the vocabulary cannot be indexed"))?;
        let env: TokEnv = Arc::new(Vocabulary {
            trie,
            tokenizer: tokenizer.clone(),
        });
        let mut factory = ParserFactory::new_simple(&env).map_err(grammar_err)?;
        // llguidance writes its warnings to stderr by default: never onto a terminal the TUI
        // owns. What goes wrong comes back as an error instead.
        factory.quiet();
        Ok(Self {
            factory,
            end_of_turn,
        })
    }

    /// A fresh constraint for one reply following `schema`.
    pub fn json(&self, schema: &serde_json::Value) -> Result<JsonConstraint, LlmError> {
        let grammar = TopLevelGrammar::from_json_schema(schema.clone());
        let matcher = Matcher::new(self.factory.create_parser(grammar));
        if let Some(e) = matcher.get_error() {
            return Err(grammar_err(format!("the schema does not compile: {e}")));
        }
        Ok(JsonConstraint {
            matcher,
            end_of_turn: self.end_of_turn,
        })
    }
}

/// One reply's progress through its schema.
pub struct JsonConstraint {
    matcher: Matcher,
    end_of_turn: u32,
}

impl JsonConstraint {
    /// Sets every logit the schema does not allow next to minus infinity (ids past the
    /// vocabulary too: a model's output layer may be padded). The end of turn is allowed only
    /// once the object is complete.
    pub fn mask(&mut self, logits: &mut [f32]) -> Result<(), LlmError> {
        let allowed = self
            .matcher
            .compute_mask_or_eos()
            .map_err(|e| grammar_err(format!("no next token: {e}")))?;
        if allowed.is_zero() {
            return Err(grammar_err("the schema allows no next token"));
        }
        for (id, logit) in logits.iter_mut().enumerate() {
            if id >= allowed.len() || !allowed.get(id) {
                *logit = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }

    /// Records the drawn token; true once the reply is complete (nothing may follow).
    pub fn commit(&mut self, token: u32) -> Result<bool, LlmError> {
        if token == self.end_of_turn {
            return Ok(true);
        }
        self.matcher
            .consume_token(token)
            .map_err(|e| grammar_err(format!("token {token} broke the schema: {e}")))?;
        Ok(self.matcher.is_stopped())
    }
}
