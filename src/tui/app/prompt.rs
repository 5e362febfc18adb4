//! The prompt line's reducer: the one-line question at the bottom of the screen (a reason for
//! a rejection, whether to discard an edit, a waiver's reason, whether to stop a run), answered
//! with confirm or cancel. A yes/no question takes its keys from `[confirm]` (y and enter), a
//! typed answer from `[prompt]`.

use super::{App, Prompt, Screen};
use crate::model::Decision;
use crate::tui::action::Action;
use crate::tui::train_worker::TrainRequest;
use crate::tui::worker::Request;
use crossterm::event::KeyEvent;

impl App {
    pub(super) fn prompt_action(&mut self, a: Action) {
        let Some(prompt) = self.prompt.take() else {
            return;
        };
        match (prompt, a) {
            (Prompt::RejectReason { sample_id, input }, Action::Confirm) => {
                if self.list.current().map(|r| r.id) == Some(sample_id) {
                    let cmds = self.review.decide(
                        Decision::Reject,
                        input.trim().to_string(),
                        &self.list,
                        &self.ctx,
                    );
                    self.apply(cmds);
                }
            }
            (Prompt::Discard, Action::Confirm) => {
                if let Some(e) = self.editor.take() {
                    self.db(Request::RemoveDraft { path: e.draft_path });
                }
                self.screen = Screen::Review;
                self.say("edit discarded");
            }
            (Prompt::Rule(plan), Action::Confirm) => self.apply_rule(plan),
            (Prompt::Waiver { input }, Action::Confirm) => {
                let reason = input.trim().to_string();
                if reason.is_empty() {
                    // No reason, no waiver: the refusal stands until one is typed.
                    self.prompt = Some(Prompt::Waiver { input });
                    self.fail("a waiver needs a reason: type why (esc keeps the refusal)");
                } else {
                    let cmds = self.train.start(&self.ctx, Some(reason));
                    self.apply(cmds);
                }
            }
            (Prompt::StopRun { run_id, .. }, Action::Confirm) => {
                self.db(Request::Train(TrainRequest::Stop { run_id }));
            }
            (_, Action::Cancel) => {}
            (p, _) => self.prompt = Some(p),
        }
    }
}

/// Edits a one-line input with a key: characters, backspace.
pub(crate) fn edit_line(input: &mut String, ev: KeyEvent) {
    use crossterm::event::KeyCode;
    match ev.code {
        KeyCode::Char(c) => input.push(c),
        KeyCode::Backspace => {
            input.pop();
        }
        _ => {}
    }
}
