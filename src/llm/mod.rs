//! The one interface every model backend implements: an OpenAI-compatible HTTP endpoint or the
//! offline local model. Pipelines, verifiers and the TUI's regenerate hold a `dyn Llm` and do not
//! care which.

pub mod local;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// A chat message sent to a model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: "system".into(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: "user".into(),
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

/// What to ask and how to sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Ask for a JSON object where the backend can enforce it.
    #[serde(default)]
    pub json_mode: bool,
    /// The JSON schema that object follows. The local model enforces it while sampling (only
    /// tokens that keep the reply valid can be drawn); an endpoint gets `json_mode` only, since
    /// not every OpenAI-compatible server accepts a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// Tokens counted for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    /// The model that answered, as the backend names it.
    pub model: String,
    pub usage: Usage,
    /// `stop`, `length`, ... as reported. `length` means the answer was cut off by the token
    /// limit: [`crate::prompting::ask`] retries it once with a larger limit, then fails.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Reasoning the provider returned beside the answer (`reasoning_content`, `reasoning`).
    /// Inline `<think>` blocks in `text` are moved here by [`crate::prompting::ask`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

impl ChatResponse {
    /// Whether the token limit cut the answer off.
    pub fn truncated(&self) -> bool {
        self.finish_reason.as_deref() == Some("length")
    }
}

/// Why a request failed. `retryable` tells the caller's retry policy what it may do.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("model request failed: {message}")]
    Request { message: String, retryable: bool },
    #[error("the model's answer is unusable: {0}")]
    BadResponse(String),
    #[error("{0}")]
    Config(String),
    #[error("cancelled")]
    Cancelled,
    /// The answer was cut off by the token limit, also after a retry with a larger one.
    #[error(
        "the model's answer was cut off by the token limit (finish_reason \"length\") at {max_tokens} tokens, also after a retry with a larger limit"
    )]
    Truncated { max_tokens: u32 },
}

/// Receives text as it is generated, piece by piece.
pub type TokenSink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A chat model.
pub trait Llm: Send + Sync {
    /// Which backend and model, for the status bar and for provenance (never a key).
    fn describe(&self) -> String;

    /// Answers one chat request; `on_token`, where given, sees the text as it streams.
    fn chat<'a>(
        &'a self,
        req: ChatRequest,
        on_token: Option<TokenSink<'a>>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>>;
}

pub mod config;
pub mod openai;
pub mod retry;
pub mod select;
pub mod sse;
