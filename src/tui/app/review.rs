//! The list and review screens' actions: moving, decisions (accept, reject, flag), undo, the
//! reject-reason prompt, and jumps to the next unreviewed or failing sample.

use super::{App, Prompt, Screen};
use crate::model::{Decision, ReviewStatus};
use crate::store::Filter;
use crate::tui::action::Action;
use crate::tui::worker::{PageAt, Request};

impl App {
    pub(super) fn review_action(&mut self, a: Action) {
        let h = self.list_height();
        let in_review = self.screen == Screen::Review;
        match a {
            Action::Next | Action::Skip => self.list.move_by(1, h),
            Action::Prev => self.list.move_by(-1, h),
            Action::PageDown => self.list.move_by(h as isize, h),
            Action::PageUp => self.list.move_by(-(h as isize), h),
            Action::First => self.request_page(PageAt::Start),
            Action::Last => self.request_page(PageAt::End),
            Action::Open => {
                self.screen = Screen::Review;
                self.review_from = Screen::List;
            }
            Action::Back => self.screen = self.review_from,
            Action::ScrollDown => self.scroll = self.scroll.saturating_add(1),
            Action::ScrollUp => self.scroll = self.scroll.saturating_sub(1),
            Action::ToggleHistory => self.show_history = !self.show_history,
            Action::Accept => self.decide(Decision::Accept, String::new()),
            Action::Reject => self.decide(Decision::Reject, String::new()),
            Action::Flag => self.decide(Decision::Flag, String::new()),
            Action::RejectWithReason => {
                if let Some(id) = self.list.current().map(|r| r.id) {
                    self.prompt = Some(Prompt::RejectReason {
                        sample_id: id,
                        input: String::new(),
                    });
                }
            }
            Action::Undo => self.undo_last(),
            Action::NextUnreviewed => {
                self.find_next(|f| f.statuses = vec![ReviewStatus::Unreviewed])
            }
            Action::NextFailing => self.find_next(|f| {
                f.verdicts = vec![
                    crate::model::VerdictSummary::Fail,
                    crate::model::VerdictSummary::Mixed,
                ]
            }),
            Action::Edit => self.open_editor(),
            Action::Regenerate => self.regenerate(),
            _ => {}
        }
        if in_review || self.screen == Screen::Review {
            self.load_detail();
        }
    }

    fn find_next(&mut self, narrow: impl FnOnce(&mut Filter)) {
        let after = self.list.current().map_or(0, |r| r.id);
        let mut filter = self.filter.clone();
        narrow(&mut filter);
        let seq = self.next_seq();
        self.db(Request::Find { seq, filter, after });
    }

    /// Sends a decision; the screen shows it only when the worker says it is committed.
    pub(super) fn decide(&mut self, decision: Decision, reason: String) {
        let Some(id) = self.list.current().map(|r| r.id) else {
            return self.fail("no sample selected");
        };
        self.deciding = true;
        self.db(Request::Decide {
            sample_id: id,
            decision,
            reason,
            reviewer: self.reviewer.clone(),
            undo: false,
        });
    }

    fn undo_last(&mut self) {
        let Some(id) = self.undo.pop_back() else {
            return self.say("nothing to undo");
        };
        self.deciding = true;
        self.db(Request::Decide {
            sample_id: id,
            decision: Decision::Retract,
            reason: "undo".into(),
            reviewer: self.reviewer.clone(),
            undo: true,
        });
    }

    pub(super) fn prompt_action(&mut self, a: Action) {
        let Some(prompt) = self.prompt.take() else {
            return;
        };
        match (prompt, a) {
            (Prompt::RejectReason { sample_id, input }, Action::Confirm) => {
                if self.list.current().map(|r| r.id) == Some(sample_id) {
                    self.decide(Decision::Reject, input.trim().to_string());
                }
            }
            (Prompt::Discard, Action::Confirm) => {
                if let Some(e) = self.editor.take() {
                    self.db(Request::RemoveDraft { path: e.draft_path });
                }
                self.screen = Screen::Review;
                self.say("edit discarded");
            }
            (_, Action::Cancel) => {}
            (p, _) => self.prompt = Some(p),
        }
    }
}
