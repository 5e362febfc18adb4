//! The synchronous generation loop: prompt in, sampled tokens out, text streamed piece by piece.
//!
//! It runs on a blocking thread (the model is CPU-bound); `LocalModel` wraps it for async callers.
//! Sampling is candle's `LogitsProcessor`; the repeat penalty is applied to the logits first, then
//! a JSON schema's mask where the request has one (see `constrain`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_llama, quantized_qwen2, quantized_qwen3};

use super::constrain::{Grammars, JsonConstraint};
use crate::llama::tokenizer::{GgufTokenizer, StreamDecoder};
use crate::llm::LlmError;

/// Positions the model's rotary tables cover (candle's `quantized_llama::MAX_SEQ_LEN`).
pub const MAX_SEQ_LEN: usize = candle_transformers::models::quantized_llama::MAX_SEQ_LEN;

/// How to sample one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    pub max_tokens: usize,
    /// 0 means greedy.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    /// 1.0 disables it.
    pub repeat_penalty: f32,
    /// How many recent tokens the repeat penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
    /// Extra stop strings (the end-of-turn token always stops).
    pub stop: Vec<String>,
    /// Keep generating past the end of turn (benchmarks need a fixed token count).
    pub ignore_end_of_turn: bool,
    /// Sample only replies that follow this JSON schema.
    pub json_schema: Option<serde_json::Value>,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            temperature: 0.2,
            top_p: Some(0.9),
            top_k: Some(40),
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            seed: 299_792_458,
            stop: Vec::new(),
            ignore_end_of_turn: false,
            json_schema: None,
        }
    }
}

impl GenOptions {
    fn sampling(&self) -> Sampling {
        if self.temperature < 1e-7 {
            return Sampling::ArgMax;
        }
        let temperature = self.temperature;
        match (self.top_k, self.top_p.filter(|p| *p > 0.0 && *p < 1.0)) {
            (None, None) => Sampling::All { temperature },
            (Some(k), None) => Sampling::TopK { k, temperature },
            (None, Some(p)) => Sampling::TopP { p, temperature },
            (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature },
        }
    }
}

/// One finished generation with its counts and timings.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub text: String,
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    /// `stop` (end of turn or a stop string), `length` or `cancelled`.
    pub finish_reason: &'static str,
    pub prompt_secs: f64,
    pub gen_secs: f64,
}

/// The network: candle's quantised llama, qwen2 (which has attention biases llama lacks) or
/// qwen3 (per-head q/k norms).
pub enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
    /// assay's own CPU forward for the llama family (see `fast_llama`).
    Fast(Box<super::fast_llama::FastLlama>),
}

impl Weights {
    fn forward(&mut self, input: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Self::Llama(w) => w.forward(input, pos),
            Self::Qwen2(w) => w.forward(input, pos),
            Self::Qwen3(w) => {
                if pos == 0 {
                    w.clear_kv_cache();
                }
                w.forward(input, pos)
            }
            Self::Fast(w) => {
                let ids = input.flatten_all()?.to_vec1::<u32>()?;
                let logits = w.forward(&ids, pos)?;
                Tensor::from_slice(logits, (1, logits.len()), &Device::Cpu)
            }
        }
    }
}

/// A loaded model and its tokenizer.
pub struct Engine {
    pub(super) weights: Weights,
    pub(super) tokenizer: GgufTokenizer,
    pub(super) device: Device,
    pub(super) stop_ids: Vec<u32>,
    /// The vocabulary compiled for JSON constraints, made on the first request with a schema.
    pub(super) grammars: Option<Grammars>,
}

fn candle_err(e: candle_core::Error) -> LlmError {
    LlmError::Request {
        message: format!("local model: {e}"),
        retryable: false,
    }
}

impl Engine {
    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// Threads of assay's own forward; None where candle runs the model (its own pool).
    pub fn threads(&self) -> Option<usize> {
        match &self.weights {
            Weights::Fast(w) => Some(w.threads()),
            _ => None,
        }
    }

    /// Sets the threads of assay's own forward (no effect on candle's); outputs do not change.
    pub fn set_threads(&mut self, threads: usize) -> Result<(), LlmError> {
        if let Weights::Fast(w) = &mut self.weights {
            w.set_threads(threads).map_err(candle_err)?;
        }
        Ok(())
    }

    /// Logits for the next token after feeding `ids` at position `pos`.
    fn forward(&mut self, ids: &[u32], pos: usize) -> Result<Tensor, LlmError> {
        let input = Tensor::new(ids, &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(candle_err)?;
        self.weights
            .forward(&input, pos)
            .and_then(|l| l.squeeze(0))
            .map_err(candle_err)
    }

    /// The next-token logits after feeding `ids` from position `pos` (0 starts afresh).
    pub fn logits(&mut self, ids: &[u32], pos: usize) -> Result<Vec<f32>, LlmError> {
        self.forward(ids, pos)?.to_vec1::<f32>().map_err(candle_err)
    }

    /// A constraint for one reply following `schema`.
    fn constraint(&mut self, schema: &serde_json::Value) -> Result<JsonConstraint, LlmError> {
        if self.grammars.is_none() {
            let end_of_turn = self
                .stop_ids
                .first()
                .copied()
                .ok_or_else(|| LlmError::Config("the model has no end-of-turn token".into()))?;
            self.grammars = Some(Grammars::new(&self.tokenizer, end_of_turn)?);
        }
        match &self.grammars {
            Some(g) => g.json(schema),
            None => Err(LlmError::Config("the JSON constraint is not ready".into())),
        }
    }

    /// Generates an answer to `prompt` (already in the chat template), calling `on_piece` with
    /// each piece of complete text. Stops at end of turn, a stop string, `max_tokens`, or when
    /// `cancel` is set.
    pub fn generate(
        &mut self,
        prompt: &str,
        opts: &GenOptions,
        cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generated, LlmError> {
        let prompt_ids = self
            .tokenizer
            .encode(prompt)
            .map_err(|e| LlmError::Config(e.to_string()))?;
        if prompt_ids.is_empty() {
            return Err(LlmError::Config("the prompt is empty".into()));
        }
        if prompt_ids.len() + 1 >= MAX_SEQ_LEN {
            return Err(LlmError::Config(format!(
                "the prompt has {} tokens; the local model takes at most {} (shorten the messages)",
                prompt_ids.len(),
                MAX_SEQ_LEN - 2
            )));
        }
        let max_tokens = opts.max_tokens.min(MAX_SEQ_LEN - prompt_ids.len() - 1);
        let mut constraint = match &opts.json_schema {
            Some(schema) => Some(self.constraint(schema)?),
            None => None,
        };
        let mut sampler = LogitsProcessor::from_sampling(opts.seed, opts.sampling());
        let mut decoder = StreamDecoder::default();
        let mut text = String::new();
        let mut tokens: Vec<u32> = Vec::new();
        let mut finish_reason = "length";
        let mut cut_at_stop_string = false;

        let t0 = Instant::now();
        let mut logits = self.forward(&prompt_ids, 0)?;
        let prompt_secs = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut emitted = 0usize;
        while tokens.len() < max_tokens {
            if cancel.load(Ordering::Relaxed) {
                finish_reason = "cancelled";
                break;
            }
            if opts.repeat_penalty != 1.0 {
                let start = tokens.len().saturating_sub(opts.repeat_last_n);
                logits = candle_transformers::utils::apply_repeat_penalty(
                    &logits,
                    opts.repeat_penalty,
                    &tokens[start..],
                )
                .map_err(candle_err)?;
            }
            if let Some(c) = constraint.as_mut() {
                let mut masked = logits.to_vec1::<f32>().map_err(candle_err)?;
                c.mask(&mut masked)?;
                logits = Tensor::from_vec(masked, logits.shape(), logits.device())
                    .map_err(candle_err)?;
            }
            let next = sampler.sample(&logits).map_err(candle_err)?;
            if !opts.ignore_end_of_turn && self.stop_ids.contains(&next) {
                finish_reason = "stop";
                break;
            }
            let complete = match constraint.as_mut() {
                Some(c) => c.commit(next)?,
                None => false,
            };
            tokens.push(next);
            if let Some(piece) = decoder.push(&self.tokenizer, next) {
                text.push_str(&piece);
                if let Some(cut) = find_stop(&text, &opts.stop) {
                    text.truncate(cut);
                    cut_at_stop_string = true;
                    finish_reason = "stop";
                    break;
                }
                // Text before a possible stop string's start is safe to show.
                let safe = safe_len(&text, &opts.stop);
                if safe > emitted {
                    on_piece(&text[emitted..safe]);
                    emitted = safe;
                }
            }
            if complete {
                // The schema's object is closed: nothing more may follow.
                finish_reason = "stop";
                break;
            }
            if tokens.len() >= max_tokens {
                break;
            }
            let pos = prompt_ids.len() + tokens.len() - 1;
            logits = self.forward(&[next], pos)?;
        }
        if !cut_at_stop_string && let Some(rest) = decoder.finish() {
            text.push_str(&rest);
        }
        if text.len() > emitted {
            on_piece(&text[emitted..]);
        }
        Ok(Generated {
            text,
            tokens,
            prompt_tokens: prompt_ids.len(),
            finish_reason,
            prompt_secs,
            gen_secs: t1.elapsed().as_secs_f64(),
        })
    }
}

/// Byte offset where the first stop string starts, if any occurs.
fn find_stop(text: &str, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
}

/// How much of `text` can be shown without risking showing the start of a stop string.
fn safe_len(text: &str, stops: &[String]) -> usize {
    let mut safe = text.len();
    for s in stops.iter().filter(|s| !s.is_empty()) {
        // The longest suffix of `text` that is a prefix of `s` might grow into `s`.
        for (i, _) in text.char_indices().rev().take(s.chars().count()) {
            if s.starts_with(&text[i..]) {
                safe = safe.min(i);
            }
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_hold_back_partial_matches() {
        let stops = vec!["\n\nUser:".to_string()];
        assert_eq!(safe_len("Paris.\n", &stops), 6);
        assert_eq!(safe_len("Paris.", &stops), 6);
        assert_eq!(find_stop("Paris.\n\nUser: hi", &stops), Some(6));
        assert_eq!(find_stop("Paris.", &stops), None);
    }

    #[test]
    fn zero_temperature_is_greedy() {
        let opts = GenOptions {
            temperature: 0.0,
            ..GenOptions::default()
        };
        assert_eq!(opts.sampling(), Sampling::ArgMax);
    }
}
