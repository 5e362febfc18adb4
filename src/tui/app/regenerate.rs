//! Regenerate: asks the model for a new answer to the open sample and stores it as a new
//! revision when it arrives (the request runs off the loop as an `Effect`).

use super::{App, Effect};
use crate::llm::{ChatMessage, ChatRequest, ChatResponse};
use crate::model::Content;
use crate::tui::worker::Request;

impl App {
    fn regenerate(&mut self) {
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
        self.regenerating = Some(sample_id);
        self.jobs += 1;
        self.say(format!(
            "regenerating #{sample_id} with {}…",
            llm.describe()
        ));
        self.outbox.push(Effect::Regenerate {
            sample_id,
            llm,
            request: ChatRequest {
                messages,
                ..ChatRequest::default()
            },
        });
    }

    fn on_regenerated(&mut self, sample_id: i64, result: Result<ChatResponse, String>) {
        self.jobs = self.jobs.saturating_sub(1);
        self.regenerating = None;
        match result {
            Err(e) => self.fail(format!("regenerate #{sample_id} failed: {e}")),
            Ok(resp) => {
                let Some(d) = self.detail.as_ref().filter(|d| d.record.id == sample_id) else {
                    return self.fail(format!("#{sample_id} is no longer open; answer dropped"));
                };
                let mut content: Content = d.record.head.content.clone();
                match content
                    .turns
                    .iter_mut()
                    .rev()
                    .find(|t| t.role == crate::model::Role::Assistant)
                {
                    Some(t) => {
                        t.content = resp.text;
                        t.reasoning = None;
                    }
                    None => content.turns.push(crate::model::Turn::assistant(resp.text)),
                }
                self.show_history = true;
                self.db(Request::SaveRevision {
                    sample_id,
                    content: Box::new(content),
                    author: format!("gen:regenerate {}", resp.model),
                });
            }
        }
    }
}
