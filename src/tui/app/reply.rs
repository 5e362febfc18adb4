//! The worker's replies, routed to the screens whose requests they answer. A decision's reply
//! touches several screens (the list's row, the review's undo, the audit walk), so it is here.

use super::{App, Screen};
use crate::model::Decision;
use crate::tui::screens::editor::Editor;
use crate::tui::screens::review::UNDO_DEPTH;
use crate::tui::worker::{Reply, Request};

impl App {
    pub(super) fn on_reply(&mut self, r: Reply) {
        match r {
            Reply::Datasets(ds) => {
                let keep = self.ctx.dataset_id();
                self.ctx.datasets = ds;
                let idx = keep
                    .and_then(|id| self.ctx.datasets.iter().position(|d| d.id == id))
                    .or(if self.ctx.datasets.is_empty() {
                        None
                    } else {
                        Some(0)
                    });
                match idx {
                    Some(i) if self.ctx.dataset != Some(i) || !self.list.loaded => {
                        self.select_dataset(i)
                    }
                    Some(_) => {}
                    None => self.say("no datasets yet: import one with `assay import FILE`"),
                }
            }
            Reply::Summary { dataset_id, stats } => {
                if self.ctx.dataset_id() == Some(dataset_id) {
                    self.ctx.summary = stats;
                }
            }
            Reply::Page { seq, at, rows } => {
                if self.list.pending.is_none() || seq != self.list.page_seq {
                    return;
                }
                let h = self.list_height();
                self.list.apply(at, rows, h * 3, h);
                if self.screen == Screen::Review {
                    self.load_detail();
                }
            }
            Reply::Detail { seq, detail } => {
                // Latest wins: only the sample under the cursor is shown.
                let _ = seq;
                if self.list.current().map(|r| r.id) == Some(detail.record.id) {
                    let id = detail.record.id;
                    self.review.detail = Some(*detail);
                    if self.review.pending_edit.take() == Some(id) {
                        let cmds = self.review.open_editor(&self.list, &mut self.ctx);
                        self.apply(cmds);
                    }
                }
            }
            Reply::Decided {
                review,
                status,
                undo,
            } => {
                self.deciding = false;
                self.committed += 1;
                self.list.set_status(review.sample_id, status);
                if let Some(id) = self.ctx.dataset_id() {
                    self.db(Request::Summary { dataset_id: id });
                }
                if undo {
                    self.say(format!(
                        "undone: #{} is {} again (committed)",
                        review.sample_id,
                        status.as_str()
                    ));
                    self.jump_to(review.sample_id);
                } else if self.review.from == Screen::Audit && self.screen == Screen::Review {
                    self.review.undo.push_back(review.sample_id);
                    self.say(format!(
                        "{} #{} (committed)",
                        verb(review.decision),
                        review.sample_id
                    ));
                    let cmds = self.audit.walk_on(review.sample_id, status);
                    self.apply(cmds);
                } else {
                    self.review.undo.push_back(review.sample_id);
                    while self.review.undo.len() > UNDO_DEPTH {
                        self.review.undo.pop_front();
                    }
                    self.say(format!(
                        "{} #{} (committed)",
                        verb(review.decision),
                        review.sample_id
                    ));
                    if self.list.current().map(|r| r.id) == Some(review.sample_id) {
                        let h = self.list_height();
                        self.list.move_by(1, h);
                    }
                }
                if self
                    .review
                    .detail
                    .as_ref()
                    .is_some_and(|d| d.record.id == review.sample_id)
                {
                    self.review.detail = None;
                }
                if self.screen == Screen::Review {
                    self.load_detail();
                }
                if self.audit.loaded.is_some()
                    && let Some(id) = self.ctx.dataset_id()
                {
                    self.db(Request::Audit { dataset_id: id });
                }
            }
            Reply::Saved { revision } => {
                let saved = format!(
                    "saved revision {} of #{} (committed)",
                    revision.number, revision.sample_id
                );
                match self.review.save_note.take() {
                    Some(note) => self.fail(format!("{saved}; {note}")),
                    None => self.say(saved),
                }
                self.review.detail = None;
                let seq = self.ctx.next_seq();
                self.db(Request::Detail {
                    seq,
                    sample_id: revision.sample_id,
                });
            }
            Reply::Found { row, .. } => match row {
                Some(row) => self.jump_to(row.id),
                None => self.say("no such sample left"),
            },
            Reply::Audit { status, rows } => self.audit.on_loaded(*status, rows),
            Reply::Drew {
                outcome,
                status,
                rows,
            } => {
                let cmds = self.audit.on_drawn(outcome, *status, rows);
                self.apply(cmds);
            }
            Reply::Stats(panel) => self.stats.panel = Some(*panel),
            Reply::Train(r) => {
                let cmds = self.train.on_reply(r);
                self.apply(cmds);
            }
            Reply::DraftWritten => {}
            Reply::DraftRead { sample_id, draft } => {
                let detail = self.review.detail.as_ref();
                let detail = detail.filter(|d| d.record.id == sample_id);
                if let Some(e) = detail.map(|d| Editor::on_sample(d, draft, &self.ctx)) {
                    if e.restored {
                        self.say("restored an unsaved draft of this sample");
                    }
                    self.editor = Some(e);
                    self.screen = Screen::Editor;
                }
            }
            Reply::Failed { what, error } => {
                self.deciding = false;
                self.list.pending = None;
                self.fail(format!("{what} failed: {error}"));
            }
        }
    }
}

fn verb(d: Decision) -> &'static str {
    match d {
        Decision::Accept => "accepted",
        Decision::Reject => "rejected",
        Decision::Flag => "flagged",
        Decision::Retract => "retracted",
    }
}
