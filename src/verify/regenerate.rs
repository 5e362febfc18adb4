//! Regenerate-and-verify: ask the model for a new answer, then run the verifiers that apply to
//! the sample ([`super::applicable()`], as `assay verify` does; the LLM judge only when an
//! endpoint is configured), so the new revision arrives with its verdicts and is stored with
//! them in one commit. The TUI runs it off its event loop.

use super::applicable::{Which, applicable, direct_verdict};
use crate::llm::{ChatRequest, Llm};
use crate::model::{Content, NewVerdict, Role, SampleKind, Turn};
use crate::prompting::judge;
use crate::prompting::prompts::Lang;
use std::sync::Arc;

/// A regenerated answer with its verdicts.
#[derive(Debug, Clone)]
pub struct Regenerated {
    pub content: Content,
    pub model: String,
    pub verdicts: Vec<NewVerdict>,
    /// The judge was asked and failed: the revision is still stored, with the other verdicts.
    pub judge_error: Option<String>,
}

/// What a regeneration needs, taken from the open sample.
pub struct Job {
    pub llm: Arc<dyn Llm>,
    pub request: ChatRequest,
    pub base: Content,
    pub kind: SampleKind,
    /// The judge (a configured endpoint), if any.
    pub judge: Option<Arc<dyn Llm>>,
}

/// `base` with its last assistant answer replaced by `text` (appended if it had none).
pub fn with_answer(base: &Content, text: String) -> Content {
    let mut content = base.clone();
    match content
        .turns
        .iter_mut()
        .rev()
        .find(|t| t.role == Role::Assistant)
    {
        Some(t) => {
            t.content = text;
            t.reasoning = None;
        }
        None => content.turns.push(Turn::assistant(text)),
    }
    content
}

/// The judge's prompt language: Chinese when the question has CJK characters.
fn lang_of(content: &Content) -> Lang {
    let q = content.question().unwrap_or_default();
    if q.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// The verdicts of the verifiers that apply to `content`, in [`applicable()`]'s order.
pub async fn verdicts(
    kind: SampleKind,
    content: &Content,
    judge_llm: Option<&dyn Llm>,
) -> (Vec<NewVerdict>, Option<String>) {
    let mut out = Vec::new();
    let mut error = None;
    for which in applicable(kind, content) {
        match (which, judge_llm) {
            (Which::Judge, Some(j)) => {
                match judge::judge(j, lang_of(content), content, judge::DEFAULT_RUBRIC).await {
                    Ok(v) => out.push(v),
                    Err(e) => error = Some(e),
                }
            }
            (Which::Judge, None) => {}
            (direct, _) => out.extend(direct_verdict(direct, kind, content)),
        }
    }
    (out, error)
}

/// Runs a regeneration: the model's answer, then the verifiers on the new content.
pub async fn run(job: Job) -> Result<Regenerated, String> {
    let resp = job
        .llm
        .chat(job.request, None)
        .await
        .map_err(|e| e.to_string())?;
    let content = with_answer(&job.base, resp.text);
    let (verdicts, judge_error) = verdicts(job.kind, &content, job.judge.as_deref()).await;
    Ok(Regenerated {
        content,
        model: resp.model,
        verdicts,
        judge_error,
    })
}

/// The judge for regenerate: a configured OpenAI-compatible endpoint, else none (the offline
/// model is not asked to judge its own answers).
pub fn configured_judge() -> Option<Arc<dyn Llm>> {
    match crate::llm::select::choose(None, Default::default()) {
        Ok(backend @ crate::llm::select::Backend::Endpoint(_)) => {
            crate::llm::select::build(backend).ok()
        }
        _ => None,
    }
}
