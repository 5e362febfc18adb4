//! Regenerate: asks the model for a new answer to the open sample, runs the verifiers that
//! apply on it (off the loop, `verify::regenerate`), and stores the new revision with its verdicts
//! in one commit; the review screen then shows them beside the previous revision's verdicts.

use super::{App, Effect};
use crate::llm::{ChatMessage, ChatRequest};
use crate::tui::worker::Request;
use crate::verify::regenerate::{Job, Regenerated};

impl App {
    pub(super) fn regenerate(&mut self) {
        let Some(llm) = self.llm.clone() else {
            return self.fail(
                "regenerate needs a model: none is configured (see `assay model` or set an \
                 OpenAI-compatible endpoint)",
            );
        };
        let Some(d) = &self.detail else {
            return self.say("open a sample first");
        };
        let c = &d.record.head.content;
        let mut messages = Vec::new();
        if let Some(s) = &c.system {
            messages.push(ChatMessage::system(s.clone()));
        }
        messages.push(ChatMessage::user(c.question().unwrap_or("").to_string()));
        let sample_id = d.record.id;
        let job = Job {
            llm: llm.clone(),
            request: ChatRequest {
                messages,
                ..ChatRequest::default()
            },
            base: c.clone(),
            kind: d.record.kind,
            judge: self.judge.clone(),
        };
        self.regenerating = Some(sample_id);
        self.jobs += 1;
        self.say(format!(
            "regenerating #{sample_id} with {}…",
            llm.describe()
        ));
        self.outbox.push(Effect::Regenerate {
            sample_id,
            job: Box::new(job),
        });
    }

    pub(super) fn on_regenerated(&mut self, sample_id: i64, result: Result<Regenerated, String>) {
        self.jobs = self.jobs.saturating_sub(1);
        self.regenerating = None;
        match result {
            Err(e) => self.fail(format!("regenerate #{sample_id} failed: {e}")),
            Ok(r) => {
                if self
                    .detail
                    .as_ref()
                    .is_none_or(|d| d.record.id != sample_id)
                {
                    return self.fail(format!("#{sample_id} is no longer open; answer dropped"));
                }
                self.show_history = true;
                self.save_note = r
                    .judge_error
                    .as_ref()
                    .map(|e| format!("the judge failed on #{sample_id}: {e}"));
                self.db(Request::SaveRevision {
                    sample_id,
                    content: Box::new(r.content),
                    author: format!("gen:regenerate {}", r.model),
                    verdicts: r.verdicts,
                });
            }
        }
    }
}
