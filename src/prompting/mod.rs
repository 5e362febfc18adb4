//! Talking to a model in prompts and reading what it says back: the prompt templates in two languages,
//! [`ask`], JSON and list repair, the one step splitter, final-answer extraction, answer matching
//! and the LLM judge.
//!
//! Generation pipelines and verifiers both need these, so they live here, below both: `generate`
//! and `verify` use this layer and not each other. Nothing here touches the store.

pub mod answer_match;
pub mod extract;
pub mod judge;
pub mod parse;
pub mod prompts;
pub mod steps;
pub mod values;

#[cfg(test)]
mod answer_forms;

use crate::llm::{ChatMessage, ChatRequest, ChatResponse, Llm, LlmError};

/// One user message, answered.
pub async fn ask(
    llm: &dyn Llm,
    prompt: String,
    temperature: f32,
    seed: Option<u64>,
    json_mode: bool,
) -> Result<ChatResponse, LlmError> {
    let req = ChatRequest {
        messages: vec![ChatMessage::user(prompt)],
        temperature: Some(temperature),
        seed,
        json_mode,
        ..ChatRequest::default()
    };
    llm.chat(req, None).await
}
