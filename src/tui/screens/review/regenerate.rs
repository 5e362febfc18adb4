//! Regenerate, from the review screen: asks the model for a new answer to the open sample,
//! runs the verifiers that apply on it (off the loop, `verify::regenerate`), and stores it with
//! its verdicts in one commit as a **candidate** beside the head: the reviewer then takes it
//! (`c`), keeps the original (`o`) or asks for another (`r` again). Nothing the reviewer did not
//! choose becomes the head.

use super::ReviewScreen;
use crate::llm::{ChatMessage, ChatRequest};
use crate::tui::app::{Cmd, Context};
use crate::tui::worker::Request;
use crate::verify::regenerate::{Job, Regenerated};

impl ReviewScreen {
    pub(super) fn regenerate(&mut self, ctx: &Context) -> Vec<Cmd> {
        let Some(llm) = ctx.llm.clone() else {
            return vec![Cmd::Fail(
                "regenerate needs a model: none is configured (see `assay model` or set an \
                 OpenAI-compatible endpoint)"
                    .into(),
            )];
        };
        let Some(d) = &self.detail else {
            return vec![Cmd::Say("open a sample first".into())];
        };
        let c = &d.record.head.content;
        let mut messages = Vec::new();
        if let Some(s) = &c.system {
            messages.push(ChatMessage::system(s.clone()));
        }
        messages.push(ChatMessage::user(c.question().unwrap_or("").to_string()));
        let sample_id = d.record.id;
        let base = d.record.head.id;
        let job = Job {
            llm: llm.clone(),
            request: ChatRequest {
                messages,
                ..ChatRequest::default()
            },
            base: c.clone(),
            kind: d.record.kind,
            judge: ctx.judge.clone(),
        };
        self.regenerating = Some((sample_id, base));
        vec![
            Cmd::Say(format!(
                "regenerating #{sample_id} with {}…",
                llm.describe()
            )),
            Cmd::Regenerate {
                sample_id,
                job: Box::new(job),
            },
        ]
    }

    /// The model's answer (or why there is none): saved as a candidate with its verdicts.
    pub fn on_regenerated(
        &mut self,
        sample_id: i64,
        result: Result<Regenerated, String>,
    ) -> Vec<Cmd> {
        let asked = self.regenerating.take();
        match result {
            Err(e) => vec![Cmd::Fail(format!("regenerate #{sample_id} failed: {e}"))],
            Ok(r) => {
                let Some((_, base)) = asked.filter(|(id, _)| *id == sample_id) else {
                    return vec![Cmd::Fail(format!(
                        "#{sample_id}: a newer regeneration was asked for; answer dropped"
                    ))];
                };
                self.save_note = r
                    .judge_error
                    .as_ref()
                    .map(|e| format!("the judge failed on #{sample_id}: {e}"));
                vec![Cmd::Commit(Request::SaveCandidate {
                    sample_id,
                    base,
                    content: Box::new(r.content),
                    author: format!("gen:regenerate {}", r.model),
                    verdicts: r.verdicts,
                })]
            }
        }
    }
}
