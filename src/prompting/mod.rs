//! Talking to a model in prompts and reading what it says back: the prompt templates in two languages,
//! [`ask`], JSON and list repair, the one step splitter, final-answer extraction, answer matching
//! and the LLM judge.
//!
//! Generation pipelines and verifiers both need these, so they live here, below both: `generate`
//! and `verify` use this layer and not each other. Nothing here touches the store.

pub mod answer_match;
pub mod extract;
pub mod judge;
pub mod list;
pub mod parse;
pub mod prompts;
pub mod reasoning;
pub mod schemas;
pub mod steps;
pub mod values;

#[cfg(test)]
mod answer_forms;
#[cfg(test)]
mod list_shapes;

use crate::llm::{ChatMessage, ChatRequest, ChatResponse, Llm, LlmError};

/// The larger token limit a truncated answer is retried with.
pub fn retry_limit(max_tokens: Option<u32>) -> u32 {
    match max_tokens {
        Some(n) => n.saturating_mul(2).max(1024),
        None => 8192,
    }
}

/// One user message, answered. An answer cut off by the token limit (`finish_reason: "length"`)
/// is asked again once with a larger limit, and fails with [`LlmError::Truncated`] if it is cut
/// off again: a truncated answer is never taken as complete. Reasoning the model wrote inline
/// (`<think>…</think>`) is moved from the text into [`ChatResponse::reasoning`]. With a
/// `schema` ([`schemas`]) the answer is asked for as a JSON object following it.
pub async fn ask(
    llm: &dyn Llm,
    prompt: String,
    temperature: f32,
    seed: Option<u64>,
    schema: Option<serde_json::Value>,
) -> Result<ChatResponse, LlmError> {
    let req = ChatRequest {
        messages: vec![ChatMessage::user(prompt)],
        temperature: Some(temperature),
        seed,
        json_mode: schema.is_some(),
        json_schema: schema,
        ..ChatRequest::default()
    };
    complete(llm, req).await
}

/// Sends `req`, retrying once with a larger limit when the answer is cut off (see [`ask`]).
pub async fn complete(llm: &dyn Llm, req: ChatRequest) -> Result<ChatResponse, LlmError> {
    let first = llm.chat(req.clone(), None).await?;
    if !first.truncated() {
        return Ok(reasoning::separate(first));
    }
    let max_tokens = retry_limit(req.max_tokens);
    tracing::warn!(
        max_tokens,
        "the answer was cut off by the token limit; retrying once"
    );
    let again = llm
        .chat(
            ChatRequest {
                max_tokens: Some(max_tokens),
                ..req
            },
            None,
        )
        .await?;
    if again.truncated() {
        return Err(LlmError::Truncated { max_tokens });
    }
    Ok(reasoning::separate(again))
}
