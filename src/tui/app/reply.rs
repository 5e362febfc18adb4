//! The reducer's half that takes results from the database worker.

use super::{App, Screen, UNDO_DEPTH};
use crate::model::Decision;
use crate::tui::worker::{Reply, Request};

impl App {
    pub(super) fn on_reply(&mut self, r: Reply) {
        match r {
            Reply::Datasets(ds) => {
                let keep = self.dataset_info().map(|d| d.id);
                self.datasets = ds;
                let idx = keep
                    .and_then(|id| self.datasets.iter().position(|d| d.id == id))
                    .or(if self.datasets.is_empty() {
                        None
                    } else {
                        Some(0)
                    });
                match idx {
                    Some(i) if self.dataset != Some(i) || !self.list.loaded => {
                        self.select_dataset(i)
                    }
                    Some(_) => {}
                    None => self.say("no datasets yet: import one with `assay import FILE`"),
                }
            }
            Reply::Summary { dataset_id, stats } => {
                if self.dataset_info().map(|d| d.id) == Some(dataset_id) {
                    self.summary = stats;
                }
            }
            Reply::Page { seq, at, rows } => {
                if self.list.pending.is_none() || seq != self.page_seq {
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
                    self.detail = Some(*detail);
                    if self.pending_edit.take() == Some(id) {
                        self.open_editor();
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
                if let Some(id) = self.dataset_info().map(|d| d.id) {
                    self.db(Request::Summary { dataset_id: id });
                }
                if undo {
                    self.say(format!(
                        "undone: #{} is {} again (committed)",
                        review.sample_id,
                        status.as_str()
                    ));
                    self.jump_to(review.sample_id);
                } else if self.review_from == Screen::Audit && self.screen == Screen::Review {
                    self.undo.push_back(review.sample_id);
                    self.say(format!(
                        "{} #{} (committed)",
                        verb(review.decision),
                        review.sample_id
                    ));
                    self.audit_walk_on(review.sample_id, status);
                } else {
                    self.undo.push_back(review.sample_id);
                    while self.undo.len() > UNDO_DEPTH {
                        self.undo.pop_front();
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
                    .detail
                    .as_ref()
                    .is_some_and(|d| d.record.id == review.sample_id)
                {
                    self.detail = None;
                }
                if self.screen == Screen::Review {
                    self.load_detail();
                }
                if self.audit.is_some()
                    && let Some(id) = self.dataset_info().map(|d| d.id)
                {
                    self.db(Request::Audit { dataset_id: id });
                }
            }
            Reply::Saved { revision } => {
                let saved = format!(
                    "saved revision {} of #{} (committed)",
                    revision.number, revision.sample_id
                );
                match self.save_note.take() {
                    Some(note) => self.fail(format!("{saved}; {note}")),
                    None => self.say(saved),
                }
                self.detail = None;
                let seq = self.next_seq();
                self.db(Request::Detail {
                    seq,
                    sample_id: revision.sample_id,
                });
            }
            Reply::Found { row, .. } => match row {
                Some(row) => self.jump_to(row.id),
                None => self.say("no such sample left"),
            },
            Reply::Audit { status, rows } => {
                self.audit_cursor = self.audit_cursor.min(rows.len().saturating_sub(1));
                self.audit = Some((*status, rows));
            }
            Reply::Drew {
                outcome,
                status,
                rows,
            } => self.audit_drawn(outcome, *status, rows),
            Reply::Stats(panel) => self.stats = Some(*panel),
            Reply::Train(r) => self.on_train_reply(r),
            Reply::DraftWritten => {}
            Reply::DraftRead { sample_id, draft } => self.editor_ready(sample_id, draft),
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
